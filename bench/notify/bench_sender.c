/*
 * iod-bench-notify-sender — how long the notify sender takes to hand an
 * alert to a peer on loopback, beside the curl command line doing the same.
 * Prints figures, asserts nothing (bench/notify/README.md).
 *
 * Starts Debian's aiosmtpd (python3 -m aiosmtpd, Sink handler) and
 * tests/support/http_peer.py on free loopback ports, then, on one libuv
 * loop:
 *   - N emails one after another (sender_send on a mailto:// channel, the
 *     next started from the previous one's callback): send -> accepted
 *     (250 after DATA) p50/p99/max;
 *   - the same N at once (a burst): time until the last is accepted;
 *   - N json:// webhook POSTs one after another: p50/p99/max;
 * and the anchors: `curl smtp://` and `curl --data` run N times each as
 * processes (fork + exec + connect + send: what a script calling curl per
 * alert would pay), p50/p99.
 *
 * Environment: IOD_NOTIFY_PYTHON (a python3 with aiosmtpd; default
 * /usr/bin/python3), IOD_SOURCE_DIR (default: the source tree this was
 * built from). Single-threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "channel.h"
#include "sender.h"

#ifndef IOD_BENCH_SOURCE_DIR
#define IOD_BENCH_SOURCE_DIR "."
#endif

static uv_loop_t *loop;
static struct sender *sender;
static struct channel channel;
static struct notify_msg msg;
static double *samples;
static int n_total, n_started, n_done, n_failed;
static double t_start;

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int wait_port(int port, int timeout_ms)
{
	double deadline = bench_now_ms() + timeout_ms;

	while (bench_now_ms() < deadline) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

		close(fd);
		if (ok)
			return 0;
		usleep(50000);
	}
	return -1;
}

static pid_t spawn(const char *const argv[], bool quiet)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();

	if (pid == 0) {
		if (quiet) {
			freopen("/dev/null", "w", stdout);
			freopen("/dev/null", "w", stderr);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void start_one(void);

static void on_done(void *arg, enum send_outcome outcome, const char *error)
{
	double t0 = *(double *)arg;

	free(arg);
	if (outcome != SEND_OK) {
		if (n_failed++ < 3)
			fprintf(stderr, "bench: delivery failed: %s\n", error ? error : "?");
	}
	samples[n_done++] = bench_now_us() - t0;
	if (n_started < n_total)
		start_one();
}

static void start_one(void)
{
	double *t0 = malloc(sizeof(*t0));

	*t0 = bench_now_us();
	n_started++;
	if (sender_send(sender, &channel, &msg, on_done, t0) < 0) {
		fprintf(stderr, "bench: sender_send refused\n");
		exit(1);
	}
}

/* n deliveries over url: one after another (concurrency 1) or all at once. */
static double run(const char *url, int n, bool burst)
{
	char why[200];

	if (channel_parse(url, &channel, why, sizeof(why)) < 0) {
		fprintf(stderr, "bench: %s: %s\n", url, why);
		exit(1);
	}
	n_total = n;
	n_started = n_done = n_failed = 0;
	t_start = bench_now_us();
	if (burst)
		while (n_started < n_total)
			start_one();
	else
		start_one();
	while (n_done < n_total)
		uv_run(loop, UV_RUN_ONCE);
	if (n_failed)
		printf("  (%d of %d failed)\n", n_failed, n);
	return bench_now_us() - t_start;
}

static void anchor(const char *what, const char *const argv[], int n)
{
	double *v = calloc((size_t)n, sizeof(*v));
	int failed = 0;

	for (int i = 0; i < n; i++) {
		double t0 = bench_now_us();
		int status;
		pid_t pid = spawn(argv, true);

		waitpid(pid, &status, 0);
		v[i] = bench_now_us() - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	bench_print_ms(what, 44, v, (size_t)n);
	if (failed)
		printf("  (%d of %d failed)\n", failed, n);
	free(v);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	const char *py =
	    getenv("IOD_NOTIFY_PYTHON") ? getenv("IOD_NOTIFY_PYTHON") : "/usr/bin/python3";
	const char *src =
	    getenv("IOD_SOURCE_DIR") ? getenv("IOD_SOURCE_DIR") : IOD_BENCH_SOURCE_DIR;
	int smtp_port = free_port(), http_port = free_port();
	char smtp_listen[64], http_port_s[16], peer[512], url[256], machine[128];
	char smtp_url[64], http_url[128], mailfile[] = "/tmp/iod-bench-mail-XXXXXX";
	pid_t smtp_pid, http_pid;

	if (n < 1)
		n = 200;
	signal(SIGPIPE, SIG_IGN);
	bench_machine(machine, sizeof(machine));
	printf("iod-bench-notify-sender: %s, %d deliveries per run\n", machine, n);
	snprintf(smtp_listen, sizeof(smtp_listen), "127.0.0.1:%d", smtp_port);
	snprintf(http_port_s, sizeof(http_port_s), "%d", http_port);
	snprintf(peer, sizeof(peer), "%s/tests/support/http_peer.py", src);
	{
		const char *a[] = {py,	 "-m",	      "aiosmtpd", "-n",
				   "-l", smtp_listen, "-c",	  "aiosmtpd.handlers.Sink",
				   NULL};
		const char *h[] = {py, peer, "--port", http_port_s, "--out", "/dev/null", NULL};

		smtp_pid = spawn(a, true);
		http_pid = spawn(h, true);
	}
	if (wait_port(smtp_port, 10000) < 0 || wait_port(http_port, 10000) < 0) {
		fprintf(stderr, "bench: aiosmtpd or http_peer.py did not start (python: %s)\n", py);
		kill(smtp_pid, SIGTERM);
		kill(http_pid, SIGTERM);
		return 1;
	}

	loop = uv_default_loop();
	sender = sender_new(loop, &(struct sender_options){.timeout_ms = 10000});
	samples = calloc((size_t)n, sizeof(*samples));
	msg = (struct notify_msg){.site = "home",
				  .key = "feeder/dose_overdue/2026-12-01T15:00",
				  .source = "feeder",
				  .code = "dose_overdue",
				  .level = "critical",
				  .message = "The 15:00 dose was not given",
				  .contact = "ann",
				  .since_ms = 1796137200000LL,
				  .ts_ms = 1796137500000LL};

	snprintf(url, sizeof(url),
		 "mailto://127.0.0.1:%d?to=carer@example.org&from=iod@example.org", smtp_port);
	run(url, 20, false); /* warm-up */
	run(url, n, false);
	bench_print_ms("email, one after another (sender)", 44, samples, (size_t)n);
	double cpu0 = bench_cpu_seconds(getpid()), smtp_cpu0 = bench_cpu_seconds(smtp_pid);
	double burst = run(url, n, true);
	double cpu = bench_cpu_seconds(getpid()) - cpu0;
	double smtp_cpu = bench_cpu_seconds(smtp_pid) - smtp_cpu0;

	printf("%-44s %7.1f ms for %d (%.0f/s); CPU: sender %.0f ms, aiosmtpd %.0f ms\n",
	       "email, all at once (sender)", burst / 1000.0, n, n / (burst / 1e6), cpu * 1000,
	       smtp_cpu * 1000);
	bench_print_ms("  each of those, start -> accepted", 44, samples, (size_t)n);

	snprintf(url, sizeof(url), "json://127.0.0.1:%d/hook", http_port);
	run(url, 20, false);
	run(url, n, false);
	bench_print_ms("json:// POST, one after another (sender)", 44, samples, (size_t)n);

	/* anchors: the curl command line, one process per delivery */
	int fd = mkstemp(mailfile);
	char *text = sender_format_email(&channel, &msg, "bench@iod");

	if (fd < 0 || !text || write(fd, text, strlen(text)) < 0) {
		fprintf(stderr, "bench: %s: %s\n", mailfile, strerror(errno));
		return 1;
	}
	close(fd);
	snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%d", smtp_port);
	snprintf(http_url, sizeof(http_url), "http://127.0.0.1:%d/hook", http_port);
	{
		const char *a[] = {"curl",	  "-sS",
				   "--mail-from", "iod@example.org",
				   "--mail-rcpt", "carer@example.org",
				   "-T",	  mailfile,
				   smtp_url,	  NULL};
		const char *h[] = {
		    "curl",   "-sS",
		    "-o",     "/dev/null",
		    "-H",     "Content-Type: application/json",
		    "--data", "{\"version\":\"1.0\",\"title\":\"t\",\"message\":\"m\"}",
		    http_url, NULL};

		anchor("email, curl smtp:// per process (anchor)", a, n);
		anchor("json POST, curl --data per process (anchor)", h, n);
	}
	unlink(mailfile);
	free(text);

	sender_close(sender, NULL, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	kill(smtp_pid, SIGTERM);
	kill(http_pid, SIGTERM);
	waitpid(smtp_pid, NULL, 0);
	waitpid(http_pid, NULL, 0);
	free(samples);
	return 0;
}
