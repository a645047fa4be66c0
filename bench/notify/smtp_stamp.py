"""An aiosmtpd handler for iod-bench-notify-email: accepts every message and
prints one line per message on stdout, "<CLOCK_MONOTONIC ns> <X-Iod-Alert>",
the instant the DATA was received (before the 250 is sent). Used as
  PYTHONPATH=bench/notify python3 -m aiosmtpd -n -c smtp_stamp.Stamp -l 127.0.0.1:<port>
"""
import email
import sys
import time


class Stamp:
    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic_ns()  # CLOCK_MONOTONIC on Linux, as the bench's clock
        msg = email.message_from_bytes(envelope.content)
        sys.stdout.write("%d %s\n" % (now, msg.get("X-Iod-Alert", "-")))
        sys.stdout.flush()
        return "250 OK"
