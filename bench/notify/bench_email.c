/*
 * iod-bench-notify-email — alert published → email accepted by the SMTP
 * peer, through the real iod-notify: a private mosquitto (the test
 * harness), iod-notify with one contact ("ann all mailto://..."), and
 * aiosmtpd with bench/notify/smtp_stamp.py, which prints the
 * CLOCK_MONOTONIC instant each message's DATA arrived and its X-Iod-Alert
 * key. Prints figures, asserts nothing (bench/notify/README.md).
 *
 * N critical alerts, one after another, each with its own subject (so its
 * own key and one email): the time from just before the publish to the
 * peer's stamp. Anchor: the same N emails from the sender alone in this
 * process (sender_send on a loop here), to the same peer, the same clock.
 *
 * Environment: IOD_NOTIFY_PYTHON (python3 with aiosmtpd; default
 * /usr/bin/python3); IOD_BIN_DIR (default: this program's directory).
 * Single-threaded.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "channel.h"
#include "harness.h"
#include "sender.h"
#include "smtp_stamp.h"

#ifndef IOD_BENCH_SOURCE_DIR
#define IOD_BENCH_SOURCE_DIR "."
#endif

static int smtp_out = -1; /* read end of aiosmtpd's stdout */
static char line_buf[8192];
static size_t line_len;

/* The next stamp line within timeout_ms: its instant in µs, key copied.
 * -1 on timeout. */
static double next_stamp(char *key, size_t key_size, int timeout_ms)
{
	double deadline = bench_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(line_buf, '\n', line_len);

		if (nl) {
			long long ns = 0;
			char k[256] = "";

			*nl = '\0';
			if (sscanf(line_buf, "%lld %255s", &ns, k) < 1)
				ns = 0;
			snprintf(key, key_size, "%s", k);
			line_len -= (size_t)(nl + 1 - line_buf);
			memmove(line_buf, nl + 1, line_len);
			return (double)ns / 1e3;
		}
		int left = (int)(deadline - bench_now_ms());
		struct pollfd p = {.fd = smtp_out, .events = POLLIN};

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		ssize_t r = read(smtp_out, line_buf + line_len, sizeof(line_buf) - 1 - line_len);

		if (r <= 0)
			return -1;
		line_len += (size_t)r;
	}
}

static void on_anchor_done(void *arg, enum send_outcome outcome, const char *error)
{
	if (outcome != SEND_OK)
		fprintf(stderr, "bench: anchor email failed: %s\n", error ? error : "?");
	*(bool *)arg = true;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	const char *py =
	    getenv("IOD_NOTIFY_PYTHON") ? getenv("IOD_NOTIFY_PYTHON") : "/usr/bin/python3";
	struct harness_broker broker;
	char *tmp, contacts[600], data_dir[600], machine[128];
	char env_url[128], env_dd[700], env_cf[700];
	int smtp_port;
	pid_t smtp, notify;
	struct tclient *c;
	double *v;
	int lost = 0;

	if (n < 1)
		n = 200;
	signal(SIGPIPE, SIG_IGN);
	bench_default_bin_dir();
	bench_machine(machine, sizeof(machine));
	printf("iod-bench-notify-email: %s, %d alerts\n", machine, n);
	if (harness_broker_start(&broker, "set_tcp_nodelay true\n") < 0) {
		fprintf(stderr, "bench: mosquitto did not start\n");
		return 1;
	}
	tmp = harness_tmpdir("iod-bench-notify");
	smtp_port = harness_free_port();
	smtp = smtp_stamp_start(py, smtp_port, &smtp_out);
	if (smtp < 0 || harness_wait_port(smtp_port, 10000) < 0) {
		fprintf(stderr, "bench: aiosmtpd did not start (python: %s)\n", py);
		return 1;
	}
	snprintf(contacts, sizeof(contacts), "%s/contacts", tmp);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
	FILE *f = fopen(contacts, "w");

	if (!f) {
		fprintf(stderr, "bench: %s: %s\n", contacts, strerror(errno));
		return 1;
	}
	fprintf(f, "ann all mailto://127.0.0.1:%d?to=ann@example.org\n", smtp_port);
	fclose(f);
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_dd, sizeof(env_dd), "IOD_DATA_DIR=%s", data_dir);
	snprintf(env_cf, sizeof(env_cf), "IOD_NOTIFY_CONTACTS_FILE=%s", contacts);
	{
		const char *env[] = {env_url, "IOD_SITE=home",	     env_dd,
				     env_cf,  "IOD_LOG_LEVEL=error", NULL};

		notify = harness_spawn("iod-notify", NULL, env);
	}
	c = tclient_new(broker.url, "bench-notify");
	if (notify < 0 || !c || tclient_subscribe(c, "iod/home/alerts", 1) < 0 || false) {
		fprintf(stderr, "bench: iod-notify or the client did not start\n");
		return 1;
	}
	struct tmsg *m = tclient_expect(c, "iod/home/alerts", 10000);

	if (!m) {
		fprintf(stderr, "bench: no retained alerts from iod-notify\n");
		return 1;
	}
	tmsg_free(m);

	v = calloc((size_t)n, sizeof(*v));
	int got = 0;

	for (int i = -10; i < n; i++) { /* 10 warm-ups */
		char payload[256], want[64], key[256];
		double t0, t1;

		snprintf(payload, sizeof(payload),
			 "{\"source\":\"bench\",\"level\":\"critical\",\"code\":\"bench_alert\","
			 "\"subject\":\"b%d\",\"message\":\"bench alert %d\",\"ts\":1}",
			 i + 10, i + 10);
		snprintf(want, sizeof(want), "bench/bench_alert/b%d", i + 10);
		t0 = bench_now_us();
		tclient_publish_str(c, "iod/home/alert", payload, 1, false);
		do
			t1 = next_stamp(key, sizeof(key), 10000);
		while (t1 >= 0 && strcmp(key, want) != 0);
		if (t1 < 0)
			lost += i >= 0;
		else if (i >= 0)
			v[got++] = t1 - t0;
	}

	if (got > 0)
		bench_print_ms("alert -> email accepted (iod-notify)", 40, v, (size_t)got);
	if (lost)
		printf("  %d alerts without an email within 10 s\n", lost);
	printf("%-40s %.0f ms CPU over the run, RSS %ld kB\n", "iod-notify",
	       bench_cpu_seconds(notify) * 1000, bench_status_kib(notify, "VmRSS"));

	/* anchor: the sender alone, in this process, to the same peer and clock */
	{
		uv_loop_t *loop = uv_default_loop();
		struct sender *snd = sender_new(loop, NULL);
		struct channel ch;
		char url[128], why[200], key[64], seen[256];
		int k = 0;

		snprintf(url, sizeof(url), "mailto://127.0.0.1:%d?to=ann@example.org", smtp_port);
		if (!snd || channel_parse(url, &ch, why, sizeof(why)) < 0) {
			fprintf(stderr, "bench: anchor: %s\n", snd ? why : "sender_new failed");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct notify_msg msg = {.site = "home",
						 .key = key,
						 .source = "bench",
						 .code = "anchor",
						 .level = "critical",
						 .message = "anchor",
						 .contact = "ann",
						 .since_ms = 1,
						 .ts_ms = 1};
			bool done = false;
			double t0, t1;

			snprintf(key, sizeof(key), "bench/anchor/a%d", i);
			t0 = bench_now_us();
			if (sender_send(snd, &ch, &msg, on_anchor_done, &done) < 0)
				break;
			while (!done)
				uv_run(loop, UV_RUN_ONCE);
			do
				t1 = next_stamp(seen, sizeof(seen), 10000);
			while (t1 >= 0 && strcmp(seen, key) != 0);
			if (t1 >= 0)
				v[k++] = t1 - t0;
		}
		if (k > 0)
			bench_print_ms("the sender alone, same peer (anchor)", 40, v, (size_t)k);
		sender_close(snd, NULL, NULL);
		uv_run(loop, UV_RUN_DEFAULT);
	}

	printf("%-40s exit %d\n", "iod-notify SIGTERM", harness_stop(notify, SIGTERM, 5000));
	tclient_free(c);
	kill(smtp, SIGTERM);
	waitpid(smtp, NULL, 0);
	harness_broker_destroy(&broker);
	harness_rmtree(tmp);
	free(tmp);
	free(v);
	return 0;
}
