/*
 * benchutil — the small helpers every bench/ program needs: CPU time and
 * memory of a process from /proc, a monotonic clock, sorting and
 * percentiles of samples, where the service binaries are, and what machine
 * the figures come from. Plain functions with no state; any thread.
 */
#ifndef IOD_BENCHUTIL_H
#define IOD_BENCHUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* utime + stime of pid (all its threads) in clock ticks, from
 * /proc/<pid>/stat; -1 if the process is gone or the file is unreadable. */
long long bench_cpu_ticks(pid_t pid);

/* The same in seconds (ticks / sysconf(_SC_CLK_TCK)); -1 on error. */
double bench_cpu_seconds(pid_t pid);

/* A "<field>:" line of /proc/<pid>/status in KiB (VmRSS, VmHWM, RssAnon,
 * RssFile, ...); -1 if the process or the field is missing. */
long bench_status_kib(pid_t pid, const char *field);

/* CLOCK_MONOTONIC in microseconds / milliseconds. */
double bench_now_us(void);
double bench_now_ms(void);

/* qsort comparator for doubles, ascending; and the sort itself. */
int bench_cmp_double(const void *a, const void *b);
void bench_sort(double *v, size_t n);

/* The p-th percentile (p in percent, 0..100) of n samples sorted
 * ascending, by the nearest-rank rule (see benchutil.c); NAN if n is 0. */
double bench_percentile(const double *sorted, size_t n, double p);

/* Sorts the n latencies us (microseconds) and prints one line: what, padded
 * to width, then p50, p99 and max in ms and n; "none answered" when n is 0. */
void bench_print_ms(const char *what, int width, double *us, size_t n);

/* What CPU this runs on, for the figures' header: the "model name" of
 * /proc/cpuinfo (or "Model" on a Raspberry Pi), else "unknown cpu". Always
 * NUL-terminates buf when size > 0. */
void bench_machine(char *buf, size_t size);

/* Paho MQTT C 1.3.12 has no TCP_NODELAY option; without it Nagle's
 * algorithm and delayed ACKs put ~40 ms steps into a request/response over
 * MQTT. Sets TCP_NODELAY on every TCP socket this process has open (the
 * measuring clients'): call it after they have connected. */
void bench_tcp_nodelay_all(void);

/* Unless IOD_BIN_DIR is already set, set it to the directory of this
 * program, where the build puts the service binaries next to it. Returns 0,
 * or -1 if that directory cannot be found (IOD_BIN_DIR stays unset). */
int bench_default_bin_dir(void);

#endif
