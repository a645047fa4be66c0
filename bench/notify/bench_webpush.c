/*
 * iod-bench-notify-webpush — what a Web Push costs iod-notify, and how soon
 * the push service has it: webpush_prepare() alone (the VAPID JWT, a fresh
 * P-256 key, ECDH, HKDF, AES-GCM, the alert's JSON) on the loop's thread,
 * then prepare + sender_post() to tests/support/push_peer.mjs (Node's
 * crypto: it checks the JWT and decrypts every push) one at a time, and 200
 * prepared and posted at once. Prints figures, asserts nothing.
 *
 *   build/bin/iod-bench-notify-webpush [rounds]        (default 500)
 *
 * Needs node on PATH (or IOD_NODE). One thread: the bench's own libuv loop.
 */
#include "benchutil.h"
#include "sender.h"
#include "webpush.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef IOD_BENCH_SOURCE_DIR
#define IOD_BENCH_SOURCE_DIR "."
#endif

static const struct webpush_alert alert = {
    .key = "feeder/dose_overdue/2026-12-01T15:00",
    .source = "notify",
    .code = "dose_overdue",
    .level = "critical",
    .message = "The 15:00 dose is still pending after its grace",
    .site = "home",
    .since_ms = 1796137200000LL,
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void report(const char *what, double *v, size_t n)
{
	bench_sort(v, n);
	printf("  %-34s p50 %8.3f  p99 %8.3f  max %8.3f ms  (n=%zu)\n", what,
	       bench_percentile(v, n, 50), bench_percentile(v, n, 99), v[n - 1], n);
}

/* Start the peer; fill sub from its first line. */
static pid_t start_peer(const char *server_key, const char *out, struct webpush_subscription *sub)
{
	const char *node = getenv("IOD_NODE");
	char script[1024];
	snprintf(script, sizeof(script), "%s/tests/support/push_peer.mjs", IOD_BENCH_SOURCE_DIR);
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		const char *argv[] = {
		    node ? node : "node", script, "--server-key", server_key, "--out", out, NULL};
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	char line[4096];
	size_t n = 0;
	while (n < sizeof(line) - 1 && (n == 0 || line[n - 1] != '\n')) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		ssize_t r =
		    poll(&p, 1, 15000) == 1 ? read(fds[0], line + n, sizeof(line) - 1 - n) : -1;
		if (r <= 0) {
			close(fds[0]);
			return -1;
		}
		n += (size_t)r;
	}
	line[n] = '\0';
	close(fds[0]);
	cJSON *o = cJSON_Parse(line);
	cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "subscriptions"), 0);
	char *one = first ? cJSON_PrintUnformatted(first) : NULL;
	char why[256] = "";
	int rc = one ? webpush_subscription_parse(one, sub, why, sizeof(why)) : -1;
	free(one);
	cJSON_Delete(o);
	if (rc < 0) {
		fprintf(stderr, "peer's subscription: %s\n", why);
		return -1;
	}
	return pid;
}

struct flight {
	double start_us, done_us;
	enum send_outcome outcome;
	bool done;
	int *pending;
};

static void on_done(void *arg, enum send_outcome outcome, const char *error)
{
	struct flight *f = arg;
	f->done_us = bench_now_us();
	f->outcome = outcome;
	f->done = true;
	(*f->pending)--;
	if (outcome != SEND_OK)
		fprintf(stderr, "push failed: %s\n", error ? error : "?");
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 500;
	if (rounds < 10)
		rounds = 10;
	char machine[128];
	bench_machine(machine, sizeof(machine));
	printf("iod-bench-notify-webpush on %s, %d rounds\n", machine, rounds);

	char dir[] = "/tmp/iod-bench-webpush.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char why[256] = "", out[256];
	struct webpush *w = webpush_open(dir, NULL, NULL, why, sizeof(why));
	if (!w) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	snprintf(out, sizeof(out), "%s/pushes.jsonl", dir);
	struct webpush_subscription sub;
	pid_t peer = start_peer(webpush_public_key_b64url(w), out, &sub);
	if (peer < 0) {
		fprintf(stderr, "the push peer did not start (node on PATH, or IOD_NODE?)\n");
		return 1;
	}

	size_t n = (size_t)rounds;
	double *v = calloc(n > 200 ? n : 200, sizeof(double));
	/* 1. webpush_prepare alone. */
	for (size_t i = 0; i < n; i++) {
		struct webpush_request req;
		double t0 = bench_now_us();
		if (webpush_prepare(w, &sub, &alert, wall_ms(), NULL, &req, why, sizeof(why)) < 0) {
			fprintf(stderr, "prepare: %s\n", why);
			return 1;
		}
		v[i] = (bench_now_us() - t0) / 1000.0;
		webpush_request_free(&req);
	}
	printf("on the loop's thread:\n");
	report("webpush_prepare", v, n);

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct sender_options o = {.timeout_ms = 10000};
	struct sender *s = sender_new(&loop, &o);
	if (!s)
		return 1;

	/* 2. One at a time: prepare + post until the peer answered 201. */
	int pending = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		struct flight f = {.pending = &pending};
		struct webpush_request req;
		f.start_us = bench_now_us();
		webpush_prepare(w, &sub, &alert, wall_ms(), NULL, &req, NULL, 0);
		pending++;
		if (sender_post(s, req.url, req.headers, req.body, req.body_len, on_done, &f) < 0)
			return 1;
		webpush_request_free(&req);
		while (!f.done)
			uv_run(&loop, UV_RUN_ONCE);
		failed += f.outcome != SEND_OK;
		v[i] = (f.done_us - f.start_us) / 1000.0;
	}
	printf("through sender_post to the peer (it verifies and decrypts each):\n");
	report("one at a time, prepare -> 201", v, n);

	/* 3. 200 at once. */
	enum { BURST = 200 };
	struct flight *fl = calloc(BURST, sizeof(*fl));
	double t0 = bench_now_us();
	for (size_t i = 0; i < BURST; i++) {
		struct webpush_request req;
		fl[i].pending = &pending;
		fl[i].start_us = bench_now_us();
		webpush_prepare(w, &sub, &alert, wall_ms(), NULL, &req, NULL, 0);
		pending++;
		if (sender_post(s, req.url, req.headers, req.body, req.body_len, on_done, &fl[i]) <
		    0)
			return 1;
		webpush_request_free(&req);
	}
	double queued_ms = (bench_now_us() - t0) / 1000.0;
	while (pending > 0)
		uv_run(&loop, UV_RUN_ONCE);
	double all_ms = (bench_now_us() - t0) / 1000.0;
	for (size_t i = 0; i < BURST; i++) {
		failed += fl[i].outcome != SEND_OK;
		v[i] = (fl[i].done_us - fl[i].start_us) / 1000.0;
	}
	report("200 at once, each prepare -> 201", v, BURST);
	printf("  200 at once: prepared and queued in %.1f ms, all answered in %.1f ms\n",
	       queued_ms, all_ms);
	printf("  failed: %d\n", failed);
	printf("  push_peer CPU: %.2f s\n", bench_cpu_seconds(peer));

	sender_close(s, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	kill(peer, SIGTERM);
	waitpid(peer, NULL, 0);
	webpush_free(w);
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, WEBPUSH_KEY_FILE);
	unlink(path);
	unlink(out);
	rmdir(dir);
	free(fl);
	free(v);
	return failed ? 1 : 0;
}
