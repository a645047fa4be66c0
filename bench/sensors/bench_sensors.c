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
#include "harness.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KINDS 5
static const char *const kinds[KINDS] = {"temperature", "humidity", "motion", "sound", "bowl"};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* utime + stime of pid in seconds, or -1. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the ")" that closes the command name: state is field 3,
	 * utime field 14, stime field 15. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long utime = 0, stime = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS / VmHWM in KiB, or -1. */
static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kib = -1;
	size_t len = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			kib = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return kib;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

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
		double t0 = mono_us();
		/* QoS 0: a QoS 1 publish would add the sync client's PUBACK wait. */
		tclient_publish_str(feeder, "iod/home/feeder/event", json, 0, false);
		m = tclient_expect(c, "iod/home/sensors/bowl", 5000);
		if (m)
			lat_ms[n_lat++] = (mono_us() - t0) / 1000.0;
		tmsg_free(m);
	}
	tclient_free(feeder);
	tclient_flush(c);

	/* The measured window: nothing but the sim running. */
	unsigned long count[KINDS] = {0};
	double cpu0 = cpu_seconds(pid);
	int64_t start = mono_ms(), end = start + (int64_t)duration_s * 1000;
	while (mono_ms() < end) {
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
	double wall_s = (double)(mono_ms() - start) / 1000.0;
	double cpu1 = cpu_seconds(pid);
	long rss = status_kib(pid, "VmRSS"), hwm = status_kib(pid, "VmHWM");
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
		qsort(lat_ms, (size_t)n_lat, sizeof(lat_ms[0]), cmp_double);
		int p99 = (int)(0.99 * (n_lat - 1) + 0.5);
		printf("feed event -> bowl reading (%d doses): p50 %.2f ms, p99 %.2f ms, max %.2f "
		       "ms\n",
		       n_lat, lat_ms[(n_lat - 1) / 2], lat_ms[p99], lat_ms[n_lat - 1]);
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
