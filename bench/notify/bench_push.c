/*
 * iod-bench-notify-push — alert published on MQTT → Web Push accepted by
 * the push peer, through the real iod-notify: a private mosquitto (the test
 * harness), tests/support/push_peer.mjs (Node: it verifies each push's
 * VAPID JWT and decrypts it, and writes its line to stdout before it
 * answers 201), and iod-notify with one contact ("ann all webpush:ann")
 * whose browser subscription is the peer's, handed over as a notify/cmd
 * "subscribe" as the dashboard does. Prints figures, asserts nothing
 * (bench/notify/README.md).
 *
 * N critical alerts, one after another, each with its own subject (so its
 * own key and one push): the time from just before the publish to this
 * process reading the peer's line for that alert. Anchors, in the same
 * run, to the same clock and the same way of reading a pipe:
 *   - after each alert, a bare MQTT round trip: this process's client
 *     publishes on iod/bench/echo and a mosquitto_sub child prints it;
 *   - afterwards, the push leg alone: webpush_prepare() and sender_post()
 *     on a loop in this process to the same peer (its own VAPID key).
 * Both publishes are QoS 0 (the test client's QoS 1 publish waits for its
 * PUBACK in 100 ms steps, which would hold up the reading of the pipe).
 *
 *   build/bin/iod-bench-notify-push [alerts]       (default 200)
 *
 * Environment: IOD_NODE (default node on PATH); IOD_BIN_DIR (default: this
 * program's directory); TMPDIR for iod-notify's data dir. Single-threaded.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "benchutil.h"
#include "harness.h"
#include "sender.h"
#include "webpush.h"

#ifndef IOD_BENCH_SOURCE_DIR
#define IOD_BENCH_SOURCE_DIR "."
#endif

#define WAIT_MS 10000

/* A child's stdout, read line by line; at_us is when the last read returned. */
struct lines {
	int fd;
	double at_us;
	size_t len;
	char buf[65536];
};

/* One read (the fd is readable). -1 at EOF or on an error. */
static int lines_fill(struct lines *in)
{
	ssize_t r;

	if (in->len == sizeof(in->buf))
		in->len = 0; /* a line longer than the buffer: not one of ours */
	r = read(in->fd, in->buf + in->len, sizeof(in->buf) - in->len);
	in->at_us = bench_now_us();
	if (r <= 0)
		return -1;
	in->len += (size_t)r;
	return 0;
}

/* A whole line already read into out (cut to size): 1, else 0. */
static int lines_take(struct lines *in, char *out, size_t size)
{
	char *nl = memchr(in->buf, '\n', in->len);

	if (nl == NULL)
		return 0;
	snprintf(out, size, "%.*s", (int)(nl - in->buf), in->buf);
	in->len -= (size_t)(nl + 1 - in->buf);
	memmove(in->buf, nl + 1, in->len);
	return 1;
}

/* The next line within timeout_ms; its instant (the read's) in *at_us.
 * 0, or -1 on timeout or EOF. */
static int lines_next(struct lines *in, char *out, size_t size, int timeout_ms, double *at_us)
{
	double deadline = bench_now_ms() + timeout_ms;

	for (;;) {
		if (lines_take(in, out, size)) {
			*at_us = in->at_us;
			return 0;
		}
		int left = (int)(deadline - bench_now_ms());
		struct pollfd p = {.fd = in->fd, .events = POLLIN};

		if (left <= 0 || poll(&p, 1, left) <= 0 || lines_fill(in) < 0)
			return -1;
	}
}

/* Fork argv with its stdout into a pipe (in->fd). */
static pid_t spawn_piped(const char *const *argv, struct lines *in)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "bench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	in->fd = fds[0];
	in->len = 0;
	return pid;
}

static void stop_child(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* The peer's first line: its first subscription as the browser's toJSON()
 * (malloc'd, without the peer's "id"), and parsed into sub. */
static char *peer_subscription(const char *line, struct webpush_subscription *sub)
{
	cJSON *o = cJSON_Parse(line);
	cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "subscriptions"), 0);
	char why[256] = "", *json = NULL;

	if (first) {
		cJSON_DeleteItemFromObject(first, "id");
		json = cJSON_PrintUnformatted(first);
	}
	cJSON_Delete(o);
	if (json && webpush_subscription_parse(json, sub, why, sizeof(why)) < 0) {
		fprintf(stderr, "bench: the peer's subscription: %s\n", why);
		free(json);
		json = NULL;
	}
	return json;
}

/* Lines until one containing needle (an "ok":true one for the peer):
 * its instant in µs, or -1 when none came within WAIT_MS. */
static double wait_line(struct lines *in, const char *needle, bool want_ok)
{
	char line[65536];
	double at;

	while (lines_next(in, line, sizeof(line), WAIT_MS, &at) == 0) {
		if (!strstr(line, needle))
			continue;
		if (want_ok && !strstr(line, "\"ok\":true")) {
			fprintf(stderr, "bench: the peer refused a push: %s\n", line);
			return -1;
		}
		return at;
	}
	return -1;
}

/* ---- the push leg alone: sender_post() on a loop here, the pipe watched there too ---- */

struct anchor {
	struct lines *peer;
	bool done;
	enum send_outcome outcome;
};

static void on_peer_readable(uv_poll_t *h, int status, int events)
{
	struct anchor *a = h->data;

	(void)events;
	if (status < 0 || lines_fill(a->peer) < 0)
		uv_poll_stop(h);
}

static void on_posted(void *arg, enum send_outcome outcome, const char *error)
{
	struct anchor *a = arg;

	a->done = true;
	a->outcome = outcome;
	if (outcome != SEND_OK)
		fprintf(stderr, "bench: anchor push failed: %s\n", error ? error : "?");
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t sender_alone(struct lines *peer, const struct webpush_subscription *sub,
			   const char *dir, int n, double *v)
{
	uv_loop_t *loop = uv_default_loop();
	struct sender *snd = sender_new(loop, NULL);
	struct webpush *w;
	struct anchor a = {.peer = peer};
	uv_poll_t poll_h;
	char why[256], key[64], message[64], line[65536];
	size_t k = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench: anchor: %s: %s\n", dir, strerror(errno));
		return 0;
	}
	w = webpush_open(dir, NULL, NULL, why, sizeof(why));
	if (snd == NULL || w == NULL) {
		fprintf(stderr, "bench: anchor: %s\n", w ? "sender_new failed" : why);
		return 0;
	}
	uv_poll_init(loop, &poll_h, peer->fd);
	poll_h.data = &a;
	uv_poll_start(&poll_h, UV_READABLE, on_peer_readable);
	for (int i = -10; i < n; i++) {
		struct webpush_alert alert = {.key = key,
					      .source = "bench",
					      .code = "bench_anchor",
					      .level = "critical",
					      .message = message,
					      .site = "home",
					      .since_ms = wall_ms()};
		struct webpush_request req;
		double t0, t1 = -1;
		char needle[80];

		snprintf(key, sizeof(key), "bench/bench_anchor/a%d", i + 10);
		snprintf(message, sizeof(message), "anchor %d", i + 10);
		snprintf(needle, sizeof(needle), "bench_anchor/a%d\\\"", i + 10);
		a.done = false;
		t0 = bench_now_us();
		if (webpush_prepare(w, sub, &alert, wall_ms(), NULL, &req, why, sizeof(why)) < 0) {
			fprintf(stderr, "bench: webpush_prepare: %s\n", why);
			break;
		}
		int rc = sender_post(snd, req.url, (const char *const *)req.headers, req.body,
				     req.body_len, on_posted, &a);
		webpush_request_free(&req);
		if (rc < 0)
			break;
		while (!a.done || t1 < 0) {
			while (t1 < 0 && lines_take(peer, line, sizeof(line)))
				if (strstr(line, needle))
					t1 = peer->at_us;
			if (!a.done || t1 < 0)
				uv_run(loop, UV_RUN_ONCE);
		}
		if (i >= 0 && a.outcome == SEND_OK)
			v[k++] = t1 - t0;
	}
	uv_poll_stop(&poll_h);
	uv_close((uv_handle_t *)&poll_h, NULL);
	sender_close(snd, NULL, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	webpush_free(w);
	return k;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	const char *node = getenv("IOD_NODE") ? getenv("IOD_NODE") : "node";
	struct harness_broker broker;
	struct lines *peer = calloc(1, sizeof(*peer)), *echo = calloc(1, sizeof(*echo));
	struct webpush_subscription sub;
	char *tmp, *sub_json, script[600], contacts[600], data_dir[600], anchor_dir[600];
	char machine[128], port[16], line[8192], env_url[128], env_dd[700], env_cf[700];
	pid_t peer_pid, echo_pid, notify;
	struct tclient *c;
	double *push_v, *echo_v, *alone_v, at;
	size_t pushes = 0, echoes = 0;
	int lost = 0;

	if (n < 1)
		n = 200;
	if (!peer || !echo)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	bench_default_bin_dir();
	bench_machine(machine, sizeof(machine));
	printf("iod-bench-notify-push: %s, %d alerts\n", machine, n);
	if (harness_broker_start(&broker, "set_tcp_nodelay true\n") < 0) {
		fprintf(stderr, "bench: mosquitto did not start\n");
		return 1;
	}
	tmp = harness_tmpdir("iod-bench-notify-push");
	if (tmp == NULL)
		return 1;

	/* The push peer, its subscription. */
	snprintf(script, sizeof(script), "%s/tests/support/push_peer.mjs", IOD_BENCH_SOURCE_DIR);
	{
		const char *pargv[] = {node, script, NULL};

		peer_pid = spawn_piped(pargv, peer);
	}
	if (peer_pid < 0 || lines_next(peer, line, sizeof(line), 15000, &at) < 0 ||
	    (sub_json = peer_subscription(line, &sub)) == NULL) {
		fprintf(stderr, "bench: the push peer did not start (node: %s)\n", node);
		return 1;
	}

	/* The anchor's subscriber. */
	snprintf(port, sizeof(port), "%d", broker.port);
	{
		const char *eargv[] = {"mosquitto_sub",	 "-h", "127.0.0.1", "-p", port, "-t",
				       "iod/bench/echo", NULL};

		echo_pid = spawn_piped(eargv, echo);
	}

	/* iod-notify, ann's browser being the peer's subscription. */
	snprintf(contacts, sizeof(contacts), "%s/contacts", tmp);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
	snprintf(anchor_dir, sizeof(anchor_dir), "%s/anchor", tmp);
	FILE *f = fopen(contacts, "w");

	if (!f) {
		fprintf(stderr, "bench: %s: %s\n", contacts, strerror(errno));
		return 1;
	}
	fputs("ann all webpush:ann\n", f);
	fclose(f);
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_dd, sizeof(env_dd), "IOD_DATA_DIR=%s", data_dir);
	snprintf(env_cf, sizeof(env_cf), "IOD_NOTIFY_CONTACTS_FILE=%s", contacts);
	c = tclient_new(broker.url, "bench-notify-push");
	if (!c || tclient_subscribe(c, "iod/home/notify/event", 1) < 0 ||
	    tclient_subscribe(c, "iod/home/notify/availability", 1) < 0) {
		fprintf(stderr, "bench: the MQTT client did not start\n");
		return 1;
	}
	{
		const char *env[] = {env_url, "IOD_SITE=home",	     env_dd,
				     env_cf,  "IOD_LOG_LEVEL=error", NULL};

		notify = harness_spawn("iod-notify", NULL, env);
	}
	struct tmsg *m =
	    notify > 0 ? tclient_expect_with(c, "iod/home/notify/availability", "online", WAIT_MS)
		       : NULL;

	if (!m) {
		fprintf(stderr, "bench: iod-notify did not come online\n");
		return 1;
	}
	tmsg_free(m);
	{
		char *cmd = malloc(strlen(sub_json) + 128);

		sprintf(cmd,
			"{\"id\":\"bench-sub\",\"action\":\"subscribe\",\"by\":\"ann\","
			"\"subscription\":%s}",
			sub_json);
		tclient_publish_str(c, "iod/home/notify/cmd", cmd, 1, false);
		free(cmd);
	}
	m = tclient_expect_with(c, "iod/home/notify/event", "\"id\":\"bench-sub\"", WAIT_MS);
	if (!m || !strstr(m->payload, "\"result\":\"ok\"")) {
		fprintf(stderr, "bench: iod-notify did not take the subscription: %s\n",
			m ? m->payload : "no answer");
		return 1;
	}
	tmsg_free(m);
	bench_tcp_nodelay_all();

	/* mosquitto_sub listening: its first probe seen. */
	for (int i = 0;; i++) {
		tclient_publish_str(c, "iod/bench/echo", "probe", 0, false);
		if (wait_line(echo, "probe", false) >= 0)
			break;
		if (i == 5) {
			fprintf(stderr, "bench: mosquitto_sub printed nothing\n");
			return 1;
		}
	}

	push_v = calloc((size_t)n, sizeof(*push_v));
	echo_v = calloc((size_t)n, sizeof(*echo_v));
	alone_v = calloc((size_t)n, sizeof(*alone_v));
	if (!push_v || !echo_v || !alone_v)
		return 1;
	for (int i = -10; i < n; i++) { /* 10 warm-ups */
		char payload[256], needle[64], word[32];
		double t0, t1;

		snprintf(payload, sizeof(payload),
			 "{\"source\":\"bench\",\"level\":\"critical\",\"code\":\"bench_push\","
			 "\"subject\":\"p%d\",\"message\":\"bench push %d\",\"ts\":1}",
			 i + 10, i + 10);
		snprintf(needle, sizeof(needle), "bench_push/p%d\\\"", i + 10);
		t0 = bench_now_us();
		tclient_publish_str(c, "iod/home/alert", payload, 0, false);
		t1 = wait_line(peer, needle, true);
		if (t1 < 0)
			lost += i >= 0;
		else if (i >= 0)
			push_v[pushes++] = t1 - t0;

		snprintf(word, sizeof(word), "e%d", i + 10);
		t0 = bench_now_us();
		tclient_publish_str(c, "iod/bench/echo", word, 0, false);
		t1 = wait_line(echo, word, false);
		if (t1 >= 0 && i >= 0)
			echo_v[echoes++] = t1 - t0;
	}
	double notify_cpu = bench_cpu_seconds(notify);
	long notify_rss = bench_status_kib(notify, "VmRSS");
	size_t alone = sender_alone(peer, &sub, anchor_dir, n, alone_v);

	bench_print_ms("alert -> push accepted (iod-notify)", 40, push_v, pushes);
	if (lost)
		printf("  %d alerts without a push within %d s\n", lost, WAIT_MS / 1000);
	bench_print_ms("MQTT round trip, mosquitto_sub (anchor)", 40, echo_v, echoes);
	bench_print_ms("prepare + post alone, same peer (anchor)", 40, alone_v, alone);
	printf("%-40s %.0f ms CPU over the alerts, RSS %ld kB\n", "iod-notify", notify_cpu * 1000,
	       notify_rss);
	printf("%-40s exit %d\n", "iod-notify SIGTERM", harness_stop(notify, SIGTERM, 5000));
	tclient_free(c);
	stop_child(echo_pid);
	stop_child(peer_pid);
	harness_broker_destroy(&broker);
	harness_rmtree(tmp);
	free(tmp);
	free(sub_json);
	free(push_v);
	free(echo_v);
	free(alone_v);
	free(peer);
	free(echo);
	return 0;
}
