/*
 * bench_sensors — what iod-sensors costs while it runs the sim.
 *
 * Starts a private mosquitto on a free port and $IOD_BIN_DIR/iod-sensors
 * (sim backend), lets it run for --duration seconds (default 60), and
 * prints: CPU share of one core (utime+stime from /proc over wall time),
 * RSS now and peak, the readings published per kind, and the latency from
 * a feeder `feed ok` event to the bowl reading it causes (p50/p99/max over
 * --doses events). Asserts nothing. --env NAME=VALUE (repeatable) passes a
 * setting, e.g. another backend on a fake tree (then use --doses 0).
 *
 *   IOD_BIN_DIR=build/bin build/bin/bench_sensors --duration 60
 */
#include "benchutil.h"
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KINDS 5
static const char *const kinds[KINDS] = {"temperature", "humidity", "motion", "sound", "bowl"};

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_sensors [--duration SECONDS] [--doses N] [--env NAME=VALUE]...\n");
}

int main(int argc, char **argv)
{
	int duration_s = 60, doses = 4;
	const char *extra[8];
	int n_extra = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
			duration_s = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--doses") == 0 && i + 1 < argc) {
			doses = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc && n_extra < 8 &&
			   strchr(argv[i + 1], '=')) {
			extra[n_extra++] = argv[++i];
		} else {
			usage();
			return 2;
		}
	}
	if (duration_s < 1 || doses < 0 || doses > 4) {
		fprintf(stderr,
			"bench_sensors: --duration >= 1, --doses 0-4 (the bowl fills up)\n");
		return 2;
	}

	struct harness_broker broker;
	if (harness_broker_start(&broker, NULL) < 0) {
		fprintf(stderr, "bench_sensors: mosquitto did not start\n");
		return 1;
	}
	char *tmp = harness_tmpdir("iod-bench-sensors");
	char url[128], data[512];
	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(data, sizeof(data), "IOD_DATA_DIR=%s/data", tmp ? tmp : "/tmp");
	const char *env[12] = {url, data, "IOD_LOG_LEVEL=warn"};
	for (int i = 0; i < n_extra; i++)
		env[3 + i] = extra[i];
	env[3 + n_extra] = NULL;
	struct tclient *c = tclient_new(broker.url, "bench-sensors");
	if (!c || tclient_subscribe(c, "iod/home/sensors/#", 0) < 0) {
		fprintf(stderr, "bench_sensors: test client cannot connect\n");
		return 1;
	}
	pid_t pid = harness_spawn("iod-sensors", NULL, env);
	if (pid < 0) {
		fprintf(stderr, "bench_sensors: cannot start iod-sensors (IOD_BIN_DIR?)\n");
		return 1;
	}
	struct tmsg *m = tclient_expect_with(c, "iod/home/sensors/availability", "online", 10000);
	if (!m) {
		fprintf(stderr, "bench_sensors: iod-sensors did not come online\n");
		harness_stop(pid, SIGKILL, 1000);
		return 1;
	}
	tmsg_free(m);

	/* Dose -> bowl latency, first (the bowl holds at most four more portions). */
	double lat_ms[4];
	int n_lat = 0;
	struct tclient *feeder = tclient_new(broker.url, "bench-feeder");
	for (int i = 0; feeder && i < doses; i++) {
		tclient_flush(c);
		char json[160];
		snprintf(json, sizeof(json),
			 "{\"id\":\"bench-%d\",\"action\":\"feed\",\"result\":\"ok\",\"ts\":%lld}",
			 i, (long long)time(NULL) * 1000);
		double t0 = bench_now_us();
		/* QoS 0: a QoS 1 publish would add the sync client's PUBACK wait. */
		tclient_publish_str(feeder, "iod/home/feeder/event", json, 0, false);
		m = tclient_expect(c, "iod/home/sensors/bowl", 5000);
		if (m)
			lat_ms[n_lat++] = (bench_now_us() - t0) / 1000.0;
		tmsg_free(m);
	}
	tclient_free(feeder);
	tclient_flush(c);

	/* The measured window: nothing but the sim running. */
	unsigned long count[KINDS] = {0};
	double cpu0 = bench_cpu_seconds(pid);
	double start = bench_now_ms(), end = start + duration_s * 1000.0;
	while (bench_now_ms() < end) {
		for (int k = 0; k < KINDS; k++) {
			char topic[64];
			snprintf(topic, sizeof(topic), "iod/home/sensors/%s", kinds[k]);
			while ((m = tclient_expect(c, topic, 0)) != NULL) {
				count[k]++;
				tmsg_free(m);
			}
		}
		/* Wait for anything at all (info/availability are not counted). */
		m = tclient_expect(c, "iod/home/sensors/-", 200);
		tmsg_free(m);
	}
	double wall_s = (bench_now_ms() - start) / 1000.0;
	double cpu1 = bench_cpu_seconds(pid);
	long rss = bench_status_kib(pid, "VmRSS"), hwm = bench_status_kib(pid, "VmHWM");
	int rc = harness_stop(pid, SIGTERM, 10000);

	printf("iod-sensors, %.1f s measured, settings:", wall_s);
	for (int i = 0; i < n_extra; i++)
		printf(" %s", extra[i]);
	printf("%s\n", n_extra ? "" : " defaults (sim)");
	printf("cpu: %.3f s = %.3f %% of one core\n", cpu1 - cpu0, 100.0 * (cpu1 - cpu0) / wall_s);
	printf("rss: %ld KiB now, %ld KiB peak\n", rss, hwm);
	unsigned long total = 0;
	for (int k = 0; k < KINDS; k++) {
		printf("published %-11s %5lu  (%.2f/min)\n", kinds[k], count[k],
		       count[k] * 60.0 / wall_s);
		total += count[k];
	}
	printf("published total       %5lu  (%.2f/min; a fixed 1 Hz rate would be %d/min)\n", total,
	       total * 60.0 / wall_s, KINDS * 60);
	if (n_lat > 0) {
		bench_sort(lat_ms, (size_t)n_lat);
		printf("feed event -> bowl reading (%d doses): p50 %.2f ms, p99 %.2f ms, max %.2f "
		       "ms\n",
		       n_lat, bench_percentile(lat_ms, (size_t)n_lat, 50),
		       bench_percentile(lat_ms, (size_t)n_lat, 99), lat_ms[n_lat - 1]);
	}
	printf("exit on SIGTERM: %d\n", rc);
	tclient_free(c);
	harness_broker_destroy(&broker);
	if (tmp) {
		harness_rmtree(tmp);
		free(tmp);
	}
	return 0;
}
