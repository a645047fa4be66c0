/*
 * iod-bench-notify-burst — a burst of 1,000 alerts through the real
 * iod-notify: does its loop stay live, and is each key told once per
 * contact? A private mosquitto (the test harness), iod-notify with two
 * contacts ("ann" and "bob", each its own aiosmtpd with
 * bench/notify/smtp_stamp.py, which prints each message's CLOCK_MONOTONIC
 * instant and X-Iod-Alert key) and this process as the publisher.
 *
 * The burst: N alerts (default 1000) at QoS 0 over K keys (default 20,
 * fewer than the set's 32, so none is evicted and raised anew), each key
 * raised N/K times, interleaved. Every N/10 alerts a probe (a notify/cmd
 * `test` to an unknown contact, answered `failed` at once) is sent from a
 * second client and its answer awaited: the round trip while the burst is
 * being worked through, beside the same probe with iod-notify idle. Then
 * the emails per key per contact are counted (want exactly one each).
 * Prints figures, asserts nothing (bench/notify/README.md).
 *
 * Environment: IOD_NOTIFY_PYTHON (python3 with aiosmtpd; default
 * /usr/bin/python3); IOD_BIN_DIR (default: this program's directory).
 * Single-threaded (the test clients have their own threads).
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
#include "harness.h"
#include "smtp_stamp.h"

#ifndef IOD_BENCH_SOURCE_DIR
#define IOD_BENCH_SOURCE_DIR "."
#endif

#define KEYS_MAX 32
#define PROBES	 64

struct peer {
	const char *name;
	pid_t pid;
	int port, fd;
	char buf[16384];
	size_t len;
	int told[KEYS_MAX]; /* emails per key */
	int other;	    /* emails for any other key */
	double last_us;	    /* the last stamp */
};

/* Read what the peers printed within timeout_ms and count it by key
 * ("bench/burst/k<i>"). Returns the emails counted in this call. */
static int drain(struct peer *peers, size_t n_peers, int timeout_ms)
{
	struct pollfd p[2];
	int counted = 0;

	for (size_t i = 0; i < n_peers; i++)
		p[i] = (struct pollfd){.fd = peers[i].fd, .events = POLLIN};
	if (poll(p, (nfds_t)n_peers, timeout_ms) <= 0)
		return 0;
	for (size_t i = 0; i < n_peers; i++) {
		struct peer *pe = &peers[i];
		char *nl;

		if (!(p[i].revents & POLLIN))
			continue;
		ssize_t r = read(pe->fd, pe->buf + pe->len, sizeof(pe->buf) - 1 - pe->len);
		if (r <= 0)
			continue;
		pe->len += (size_t)r;
		while ((nl = memchr(pe->buf, '\n', pe->len)) != NULL) {
			long long ns = 0;
			char key[256] = "";
			int k;

			*nl = '\0';
			if (sscanf(pe->buf, "%lld %255s", &ns, key) >= 1) {
				pe->last_us = (double)ns / 1e3;
				if (sscanf(key, "bench/burst/k%d", &k) == 1 && k >= 0 &&
				    k < KEYS_MAX)
					pe->told[k]++;
				else
					pe->other++;
				counted++;
			}
			pe->len -= (size_t)(nl + 1 - pe->buf);
			memmove(pe->buf, nl + 1, pe->len);
		}
	}
	return counted;
}

/* One probe: notify/cmd test to nobody, its answer on notify/event. µs or -1. */
static double probe(struct tclient *c, int i)
{
	char cmd[128], needle[64];
	double t0;

	snprintf(cmd, sizeof(cmd), "{\"id\":\"probe-%d\",\"action\":\"test\",\"to\":\"zed\"}", i);
	snprintf(needle, sizeof(needle), "\"id\":\"probe-%d\"", i);
	t0 = bench_now_us();
	/* QoS 0 here: the test client's wait for a PUBACK ticks in 100 ms steps,
	 * which would hide the answer's own time. */
	if (tclient_publish_str(c, "iod/home/notify/cmd", cmd, 0, false) < 0)
		return -1;
	struct tmsg *m = tclient_expect_with(c, "iod/home/notify/event", needle, 10000);
	if (m == NULL)
		return -1;
	tmsg_free(m);
	return bench_now_us() - t0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int keys = argc > 2 ? atoi(argv[2]) : 20;
	const char *py =
	    getenv("IOD_NOTIFY_PYTHON") ? getenv("IOD_NOTIFY_PYTHON") : "/usr/bin/python3";
	struct harness_broker broker;
	struct peer peers[2] = {{.name = "ann"}, {.name = "bob"}};
	char *tmp, contacts[600], data_dir[600], machine[128];
	char env_url[128], env_dd[700], env_cf[700];
	pid_t notify;
	struct tclient *pub, *cmd;
	double idle[PROBES], busy[PROBES];
	int n_idle = 0, n_busy = 0, lost_probes = 0;

	if (n < 1)
		n = 1000;
	if (keys < 1 || keys > KEYS_MAX)
		keys = 20;
	signal(SIGPIPE, SIG_IGN);
	bench_default_bin_dir();
	bench_machine(machine, sizeof(machine));
	printf("iod-bench-notify-burst: %s, %d alerts over %d keys, 2 contacts\n", machine, n,
	       keys);
	if (harness_broker_start(&broker, "set_tcp_nodelay true\n") < 0) {
		fprintf(stderr, "bench: mosquitto did not start\n");
		return 1;
	}
	tmp = harness_tmpdir("iod-bench-burst");
	for (size_t i = 0; i < 2; i++) {
		peers[i].port = harness_free_port();
		peers[i].pid = smtp_stamp_start(py, peers[i].port, &peers[i].fd);
		if (peers[i].pid < 0 || harness_wait_port(peers[i].port, 10000) < 0) {
			fprintf(stderr, "bench: aiosmtpd did not start (python: %s)\n", py);
			return 1;
		}
	}
	snprintf(contacts, sizeof(contacts), "%s/contacts", tmp);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
	FILE *f = fopen(contacts, "w");

	if (!f) {
		fprintf(stderr, "bench: %s: %s\n", contacts, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < 2; i++)
		fprintf(f, "%s all mailto://127.0.0.1:%d?to=%s@example.org\n", peers[i].name,
			peers[i].port, peers[i].name);
	fclose(f);
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_dd, sizeof(env_dd), "IOD_DATA_DIR=%s", data_dir);
	snprintf(env_cf, sizeof(env_cf), "IOD_NOTIFY_CONTACTS_FILE=%s", contacts);
	{
		const char *env[] = {env_url, "IOD_SITE=home",	     env_dd,
				     env_cf,  "IOD_LOG_LEVEL=error", NULL};

		notify = harness_spawn("iod-notify", NULL, env);
	}
	pub = tclient_new(broker.url, "bench-burst-pub");
	cmd = tclient_new(broker.url, "bench-burst-cmd");
	if (notify < 0 || !pub || !cmd || tclient_subscribe(cmd, "iod/home/alerts", 1) < 0 ||
	    tclient_subscribe(cmd, "iod/home/notify/event", 1) < 0) {
		fprintf(stderr, "bench: iod-notify or the clients did not start\n");
		return 1;
	}
	bench_tcp_nodelay_all(); /* the clients' sockets (benchutil.h) */
	struct tmsg *m = tclient_expect(cmd, "iod/home/alerts", 10000);
	if (!m) {
		fprintf(stderr, "bench: no retained alerts from iod-notify\n");
		return 1;
	}
	tmsg_free(m);

	for (int i = 0; i < 20; i++) { /* idle: the same probe, nothing else going on */
		double us = probe(cmd, 1000 + i);
		if (us >= 0 && n_idle < PROBES)
			idle[n_idle++] = us;
	}

	double cpu0 = bench_cpu_seconds(notify);
	double t0 = bench_now_us(), t_sent;
	int every = n / 10 > 0 ? n / 10 : 1;

	for (int i = 0; i < n; i++) {
		char payload[256];
		int k = i % keys;

		snprintf(payload, sizeof(payload),
			 "{\"source\":\"bench\",\"level\":\"warning\",\"code\":\"burst\","
			 "\"subject\":\"k%d\",\"message\":\"burst alert %d of key %d\",\"ts\":%d}",
			 k, i, k, i + 1);
		tclient_publish_str(pub, "iod/home/alert", payload, 0, false);
		if ((i + 1) % every == 0) {
			double us = probe(cmd, i);
			if (us < 0)
				lost_probes++;
			else if (n_busy < PROBES)
				busy[n_busy++] = us;
		}
	}
	t_sent = bench_now_us();

	/* Every key to both contacts, then a while longer for any second telling. */
	int want = 2 * keys, got = 0;
	double deadline = bench_now_ms() + 30000;

	while (got < want && bench_now_ms() < deadline)
		got += drain(peers, 2, 500);
	double settle = bench_now_ms() + 3000;
	while (bench_now_ms() < settle)
		got += drain(peers, 2, 200);
	double cpu1 = bench_cpu_seconds(notify);

	int once = 0, twice = 0, never = 0, other = 0;
	double last = 0;
	for (size_t i = 0; i < 2; i++) {
		for (int k = 0; k < keys; k++) {
			once += peers[i].told[k] == 1;
			twice += peers[i].told[k] > 1;
			never += peers[i].told[k] == 0;
		}
		other += peers[i].other;
		if (peers[i].last_us > last)
			last = peers[i].last_us;
	}
	printf("%-44s %.1f ms for %d alerts at QoS 0 with %d probes between\n", "burst sent",
	       (t_sent - t0) / 1000.0, n, n_busy + lost_probes);
	bench_print_ms("probe round trip, iod-notify idle", 44, idle, (size_t)n_idle);
	bench_print_ms("probe round trip, during the burst", 44, busy, (size_t)n_busy);
	if (lost_probes)
		printf("  %d probes unanswered within 10 s\n", lost_probes);
	printf("%-44s %d of %d key x contact told exactly once, %d more than once, %d never; "
	       "%d other emails\n",
	       "dedupe", once, want, twice, never, other);
	if (last > t0)
		printf("%-44s %.1f ms after the burst started\n", "last email accepted",
		       (last - t0) / 1000.0);
	printf("%-44s %.0f ms CPU for the burst and its emails, RSS %ld kB\n", "iod-notify",
	       (cpu1 - cpu0) * 1000, bench_status_kib(notify, "VmRSS"));
	printf("%-44s exit %d\n", "iod-notify SIGTERM", harness_stop(notify, SIGTERM, 5000));
	tclient_free(pub);
	tclient_free(cmd);
	for (size_t i = 0; i < 2; i++) {
		kill(peers[i].pid, SIGTERM);
		waitpid(peers[i].pid, NULL, 0);
	}
	harness_broker_destroy(&broker);
	harness_rmtree(tmp);
	free(tmp);
	return 0;
}
