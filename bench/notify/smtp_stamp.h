/*
 * Starting aiosmtpd with bench/notify/smtp_stamp.py's handler, which prints
 * one line per accepted message (its CLOCK_MONOTONIC stamp and X-Iod-Alert
 * key), for the benches that time alerts into email (bench_email.c,
 * bench_burst.c). Call from the main thread before any other threads.
 */
#ifndef IOD_BENCH_SMTP_STAMP_H
#define IOD_BENCH_SMTP_STAMP_H

#include <sys/types.h>

/* python3 (py) -m aiosmtpd on 127.0.0.1:port; *out_fd is the read end of
 * its stdout. Returns its pid, or -1 when no pipe could be made. */
pid_t smtp_stamp_start(const char *py, int port, int *out_fd);

#endif
