#!/usr/bin/env python3
"""iod-notify's channels against real peers on loopback: Debian's aiosmtpd
(python3 -m aiosmtpd, and in-process for chosen reply codes) receives the
email, tests/support/http_peer.py the ntfy, json and gotify POSTs. The
sender is driven by notify_send (tests/integration/notify/notify_send.c),
which prints one JSON line per completion in completion order.

Environment (ctest sets it): NOTIFY_SEND, the driver; IOD_SOURCE_DIR.
"""
import base64
import email
import email.policy
import json
import mailbox
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get("IOD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DRIVER = os.environ.get("NOTIFY_SEND", "notify_send")
PEER = os.path.join(SRC, "tests", "support", "http_peer.py")
PY = sys.executable
MESSAGE = "The 15:00 dose was not given \u2014 bowl still full \u2713"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on %d" % port)


class Peers(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="iod-notify-channels-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.stdout:
                p.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def http_peer(self, name, mode="ok"):
        """Start http_peer.py; returns (port, path of its JSON lines)."""
        out = os.path.join(self.tmp, name + ".jsonl")
        p = subprocess.Popen([PY, PEER, "--mode", mode, "--out", out], stdout=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        self.assertTrue(line.startswith("port "), line)
        return int(line.split()[1]), out

    def smtp_peer(self, *extra):
        """python3 -m aiosmtpd storing into a Maildir; returns (port, maildir)."""
        port = free_port()
        mdir = os.path.join(self.tmp, "Maildir-%d" % port)
        p = subprocess.Popen([PY, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:%d" % port, *extra,
                              "-c", "aiosmtpd.handlers.Mailbox", mdir])
        self.procs.append(p)
        wait_port(port)
        return port, mdir

    def send(self, *args, timeout=60):
        env = dict(os.environ, TZ="UTC")
        r = subprocess.run([DRIVER, *args], capture_output=True, text=True, timeout=timeout,
                           env=env)
        self.assertEqual(r.returncode, 0, "driver failed: %s\n%s" % (r.stdout, r.stderr))
        return [json.loads(line) for line in r.stdout.splitlines()]

    @staticmethod
    def requests(path):
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


class Mail(Peers):
    def test_mail_is_delivered_with_headers_and_body(self):
        port, mdir = self.smtp_peer()
        url = "mailto://127.0.0.1:%d?to=carer@example.org,vet@example.org&from=iod@example.org" % port
        done = self.send("--message", MESSAGE, url)
        self.assertEqual(done, [{"i": 0, "label": url.replace("mailto://", "mailto://"),
                                 "outcome": "ok", "error": None, "calls": 1}])
        msgs = list(mailbox.Maildir(mdir, factory=None))
        self.assertEqual(len(msgs), 1)
        m = email.message_from_bytes(msgs[0].as_bytes(), policy=email.policy.default)
        self.assertEqual(m["Subject"], "[iod home] CRITICAL: dose_overdue")
        (sender,) = m["From"].addresses
        self.assertEqual((sender.display_name, sender.addr_spec), ("iod home", "iod@example.org"))
        self.assertEqual(m["To"], "carer@example.org, vet@example.org")
        self.assertEqual(m["Date"], "Tue, 01 Dec 2026 15:05:00 +0000")
        self.assertRegex(m["Message-ID"], r"^<1796137500000\.\d+\.\d+@iod-notify\.home>$")
        self.assertEqual(m["X-Iod-Alert"], "feeder/dose_overdue/2026-12-01T15:00")
        self.assertEqual(m.get_content_type(), "text/plain")
        self.assertEqual(m.get_content_charset(), "utf-8")
        # aiosmtpd's Mailbox handler adds the envelope it saw
        self.assertEqual(m["X-RcptTo"], "carer@example.org, vet@example.org")
        self.assertEqual(m["X-MailFrom"], "iod@example.org")
        body = m.get_content()
        self.assertIn("CRITICAL: dose_overdue at home\n", body)
        self.assertIn("\n" + MESSAGE + "\n", body)
        self.assertIn("\nLevel:   critical\n", body)
        self.assertIn("\nSite:    home\n", body)
        self.assertIn("\nAlert:   feeder/dose_overdue/2026-12-01T15:00\n", body)
        self.assertIn("\nSince:   2026-12-01 15:00:00 UTC (2026-12-01T15:00:00Z)\n", body)

    def test_lone_dots_and_long_lines_survive(self):
        # a line with only "." would end DATA early if it were not escaped; the body arrives whole
        port, mdir = self.smtp_peer()
        text = "first\n.\n..two\n" + "x" * 2000 + "\nlast line"
        done = self.send("--message", text, "mailto://127.0.0.1:%d?to=a@example.org" % port)
        self.assertEqual(done[0]["outcome"], "ok")
        (msg,) = list(mailbox.Maildir(mdir, factory=None))
        body = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default).get_content()
        self.assertIn("\nfirst\n.\n..two\n", body)
        self.assertIn("x" * 900 + "\n" + "x" * 900 + "\n" + "x" * 200 + "\nlast line\n", body)
        self.assertIn("\nLevel:   critical\n", body)

    def test_test_message_says_so(self):
        port, mdir = self.smtp_peer()
        done = self.send("--test", "--message", "Test notification",
                         "mailto://127.0.0.1:%d?to=ann@example.org" % port)
        self.assertEqual(done[0]["outcome"], "ok")
        (msg,) = list(mailbox.Maildir(mdir, factory=None))
        m = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
        self.assertEqual(m["Subject"], "[iod home] TEST: dose_overdue")
        self.assertIn("This is a test notification from iod-notify at home.", m.get_content())

    def test_reply_codes_map_to_outcomes(self):
        from aiosmtpd.controller import Controller

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.startswith("nobody@"):
                    return "550 5.1.1 no such user"
                if address.startswith("later@"):
                    return "451 4.3.0 try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                return "250 OK"

        port = free_port()
        c = Controller(Handler(), hostname="127.0.0.1", port=port)
        c.start()
        try:
            done = self.send("mailto://127.0.0.1:%d?to=nobody@example.org" % port,
                             "mailto://127.0.0.1:%d?to=later@example.org" % port,
                             "mailto://127.0.0.1:%d?to=ok@example.org" % port)
        finally:
            c.stop()
        by = {d["i"]: d for d in done}
        self.assertEqual((by[0]["outcome"], by[0]["error"]), ("permanent", "SMTP 550"))
        self.assertEqual((by[1]["outcome"], by[1]["error"]), ("retry", "SMTP 451"))
        self.assertEqual((by[2]["outcome"], by[2]["error"]), ("ok", None))

    def test_server_down_is_retry(self):
        port = free_port()  # nothing listens
        done = self.send("--timeout-ms", "3000", "mailto://127.0.0.1:%d?to=a@example.org" % port)
        self.assertEqual((done[0]["outcome"], done[0]["error"]), ("retry", "could not connect"))

    def tls_files(self):
        if not shutil.which("openssl"):
            self.skipTest("no openssl command")
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        return cert, key

    def test_mailtos_starttls_and_implicit_tls(self):
        cert, key = self.tls_files()
        # STARTTLS required by the server (aiosmtpd refuses MAIL before it)
        port, mdir = self.smtp_peer("--tlscert", cert, "--tlskey", key)
        done = self.send("--ca-file", cert, "mailtos://localhost:%d?to=a@example.org" % port)
        self.assertEqual((done[0]["outcome"], done[0]["error"]), ("ok", None))
        self.assertEqual(len(list(mailbox.Maildir(mdir, factory=None))), 1)
        # implicit TLS (smtps://) with mode=ssl
        port2, mdir2 = self.smtp_peer("--smtpscert", cert, "--smtpskey", key)
        done = self.send("--ca-file", cert,
                         "mailtos://localhost:%d?to=a@example.org&mode=ssl" % port2)
        self.assertEqual((done[0]["outcome"], done[0]["error"]), ("ok", None))
        self.assertEqual(len(list(mailbox.Maildir(mdir2, factory=None))), 1)
        # an untrusted certificate is not accepted
        done = self.send("mailtos://localhost:%d?to=a@example.org&mode=ssl" % port2)
        self.assertEqual(done[0]["outcome"], "retry")
        self.assertEqual(len(list(mailbox.Maildir(mdir2, factory=None))), 1)


class Http(Peers):
    def test_ntfy_json_gotify_bodies(self):
        port, out = self.http_peer("peer")
        base = "127.0.0.1:%d" % port
        done = self.send("--message", MESSAGE,
                         "ntfy://%s/dog_alerts?token=tk_1" % base,
                         "json://bot:pa55@%s/hook" % base,
                         "gotify://%s/gotify/AppTok3n" % base)
        self.assertEqual(sorted((d["i"], d["outcome"], d["error"]) for d in done),
                         [(0, "ok", None), (1, "ok", None), (2, "ok", None)])
        labels = {d["i"]: d["label"] for d in done}
        self.assertEqual(labels[0], "ntfy://%s/dog_alerts?token=***" % base)
        self.assertEqual(labels[1], "json://bot:***@%s/hook" % base)
        self.assertEqual(labels[2], "gotify://%s/gotify/***" % base)
        reqs = {r["path"]: r for r in self.requests(out)}
        self.assertEqual(sorted(reqs), ["/dog_alerts", "/gotify/message", "/hook"])

        n = reqs["/dog_alerts"]
        self.assertEqual(n["method"], "POST")
        self.assertEqual(n["body"], MESSAGE)
        self.assertEqual(n["headers"]["Title"], "[iod home] CRITICAL: dose_overdue")
        self.assertEqual(n["headers"]["Priority"], "5")
        self.assertEqual(n["headers"]["Tags"], "rotating_light,dose_overdue")
        self.assertEqual(n["headers"]["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(n["headers"]["Authorization"], "Bearer tk_1")

        j = reqs["/hook"]
        self.assertEqual(j["headers"]["Content-Type"], "application/json")
        self.assertEqual(j["headers"]["Authorization"],
                         "Basic " + base64.b64encode(b"bot:pa55").decode())
        body = json.loads(j["body"])
        self.assertEqual({k: body[k] for k in ("version", "title", "message", "type")},
                         {"version": "1.0", "title": "[iod home] CRITICAL: dose_overdue",
                          "message": MESSAGE, "type": "failure"})
        self.assertEqual(body["alert"], {
            "site": "home", "key": "feeder/dose_overdue/2026-12-01T15:00", "source": "feeder",
            "code": "dose_overdue", "level": "critical", "message": MESSAGE,
            "since": 1796137200000, "ts": 1796137500000, "contact": "ann", "test": False})

        g = reqs["/gotify/message"]
        self.assertEqual(g["headers"]["X-Gotify-Key"], "AppTok3n")
        self.assertEqual(json.loads(g["body"]), {"title": "[iod home] CRITICAL: dose_overdue",
                                                 "message": MESSAGE, "priority": 10})

    def test_warning_level_on_ntfy(self):
        port, out = self.http_peer("peer")
        done = self.send("--level", "warning", "--code", "service_offline",
                         "ntfy://127.0.0.1:%d/t" % port)
        self.assertEqual(done[0]["outcome"], "ok")
        (r,) = self.requests(out)
        self.assertEqual(r["headers"]["Priority"], "4")
        self.assertEqual(r["headers"]["Tags"], "warning,service_offline")
        self.assertEqual(r["headers"]["Title"], "[iod home] WARNING: service_offline")

    def test_status_codes_map_to_outcomes(self):
        port, _ = self.http_peer("peer")
        base = "json://127.0.0.1:%d/status" % port
        done = self.send(base + "/500/x", base + "/503/x", base + "/429/x", base + "/408/x",
                         base + "/404/x", base + "/401/x", base + "/204/x")
        got = {d["i"]: (d["outcome"], d["error"]) for d in done}
        self.assertEqual(got, {0: ("retry", "HTTP 500"), 1: ("retry", "HTTP 503"),
                               2: ("retry", "HTTP 429"), 3: ("retry", "HTTP 408"),
                               4: ("permanent", "HTTP 404"), 5: ("permanent", "HTTP 401"),
                               6: ("ok", None)})

    def test_peer_answering_500_is_retry(self):
        port, out = self.http_peer("failing", mode="500")
        done = self.send("ntfy://127.0.0.1:%d/t" % port)
        self.assertEqual((done[0]["outcome"], done[0]["error"]), ("retry", "HTTP 500"))
        self.assertEqual(len(self.requests(out)), 1)

    def test_never_answering_peer_times_out_and_delays_nobody(self):
        hang_port, hang_out = self.http_peer("hang", mode="hang")
        good_port, good_out = self.http_peer("good")
        # the hanging one is started first
        done = self.send("--timeout-ms", "4000",
                         "json://127.0.0.1:%d/x" % hang_port,
                         "ntfy://127.0.0.1:%d/t" % good_port)
        self.assertEqual([(d["i"], d["outcome"], d["error"]) for d in done],
                         [(1, "ok", None), (0, "retry", "timeout")])
        self.assertEqual(len(self.requests(hang_out)), 1, "the request reached the peer")
        self.assertEqual(len(self.requests(good_out)), 1)

    def test_unknown_host_is_retry(self):
        done = self.send("--timeout-ms", "4000", "json://no-such-host.invalid/x")
        self.assertEqual(done[0]["outcome"], "retry")
        self.assertIn(done[0]["error"], ("could not resolve host", "timeout"))

    def test_close_cancels_in_flight(self):
        port, _ = self.http_peer("hang", mode="hang")
        good, _ = self.http_peer("good")
        done = self.send("--close-after-ms", "2000", "json://127.0.0.1:%d/x" % port,
                         "json://127.0.0.1:%d/y" % good)
        self.assertEqual([(d["i"], d["outcome"], d["error"]) for d in done],
                         [(1, "ok", None), (0, "retry", "cancelled")])

    def test_raw_post(self):
        port, out = self.http_peer("push")
        done = self.send("--body", "ciphertext", "post:http://127.0.0.1:%d/push/abc" % port)
        self.assertEqual((done[0]["outcome"], done[0]["error"]), ("ok", None))
        (r,) = self.requests(out)
        self.assertEqual((r["method"], r["path"], r["body"]), ("POST", "/push/abc", "ciphertext"))
        self.assertEqual(r["headers"]["Content-Encoding"], "aes128gcm")
        self.assertEqual(r["headers"]["TTL"], "60")
        self.assertNotIn("Expect", r["headers"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
