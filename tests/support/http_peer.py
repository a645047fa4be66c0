#!/usr/bin/env python3
"""A small HTTP receiver for iod's tests: every request is written to --out
(or stdout) as one JSON line {"method","path","headers","body"} before it is
answered, and the process prints "port <n>" on stdout once it listens.

  --mode ok      answer 200 with an empty JSON object (the default)
  --mode 500     answer 500
  --mode hang    never answer (the connection stays open until the client
                 gives up): for timeout tests
  --status N     answer N instead of 200 in mode ok

A path that starts with /status/<code>/ is answered <code> and one that starts
with /hang/ is never answered, whatever the mode, so one peer can serve
several cases. Requests are served on threads: a hanging one does not hold up
the others. Python standard library only.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()


def record(out, handler, body):
    line = json.dumps({
        "method": handler.command,
        "path": handler.path,
        "headers": {k: v for k, v in handler.headers.items()},
        "body": body.decode("utf-8", errors="replace"),
    })
    with lock:
        out.write(line + "\n")
        out.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that hangs up first (curl after a 4xx/5xx or a timeout) is normal here
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_handler(args, out):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body are two writes: without this, Nagle and the client's delayed ACK
        # put ~40 ms into every answer
        disable_nagle_algorithm = True

        def log_message(self, fmt, *a):  # quiet: the JSON lines are the log
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            record(out, self, body)
            mode, status = args.mode, args.status
            parts = self.path.split("/")
            if len(parts) > 2 and parts[1] == "status" and parts[2].isdigit():
                mode, status = "ok", int(parts[2])
            elif len(parts) > 1 and parts[1] == "hang":
                mode = "hang"
            if mode == "hang":
                while True:
                    time.sleep(3600)
            if mode == "500":
                status = 500
            reply = b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_POST = do_PUT = do_GET = handle_any

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", help="JSON lines file (default: stdout)")
    p.add_argument("--mode", choices=["ok", "500", "hang"], default="ok")
    p.add_argument("--status", type=int, default=200)
    args = p.parse_args()
    out = open(args.out, "a", encoding="utf-8") if args.out else sys.stdout
    server = Server((args.host, args.port), make_handler(args, out))
    print("port %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
