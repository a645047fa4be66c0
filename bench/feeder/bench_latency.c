/*
 * iod-bench-feeder-latency — command -> event latency of iod-feeder through
 * a real broker, its idle CPU and its memory. Prints figures, asserts
 * nothing.
 *
 * It starts its own mosquitto on a free loopback port and iod-feeder from
 * $IOD_BIN_DIR (default: this build's bin/) through the test harness, sends
 * N `home` commands one after another (QoS 1, unique ids, each waiting for
 * its event), then leaves the feeder alone for 10 s and reads its CPU time
 * and memory from /proc. The measuring client is Paho MQTTAsync (callbacks,
 * no polling), so its own overhead stays out of the figures; the harness's
 * synchronous client polls in 100 ms steps and would dominate them.
 *
 *   iod-bench-feeder-latency [N]     (N defaults to 10000)
 */
#define _GNU_SOURCE /* memmem */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <pthread.h>

#include "benchutil.h"
#include "harness.h"

#define T_CMD	"iod/home/feeder/cmd"
#define T_EVENT "iod/home/feeder/event"
#define T_AVAIL "iod/home/feeder/availability"

/* The event the main thread waits for; set on Paho's thread. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char want_id[48];
static bool got;
static int connected; /* 1 ok, -1 failed */

static int on_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	(void)ctx;
	(void)topic_len;
	pthread_mutex_lock(&mu);
	if (strcmp(topic, T_EVENT) == 0 && want_id[0] &&
	    memmem(m->payload, (size_t)m->payloadlen, want_id, strlen(want_id))) {
		got = true;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void on_sub(void *ctx, MQTTAsync_successData *r)
{
	(void)ctx;
	(void)r;
	pthread_mutex_lock(&mu);
	connected = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)ctx;
	(void)r;
	pthread_mutex_lock(&mu);
	connected = -1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_conn(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	MQTTAsync client = ctx;
	MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
	o.onSuccess = on_sub;
	o.onFailure = on_fail;
	o.context = client;
	MQTTAsync_subscribe(client, T_EVENT, 1, &o);
}

static bool wait_for(bool *flag_or_null, int timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	bool ok = true;
	pthread_mutex_lock(&mu);
	while (flag_or_null ? !*flag_or_null : connected == 0)
		if (pthread_cond_timedwait(&cv, &mu, &dl) != 0) {
			ok = false;
			break;
		}
	if (!flag_or_null && connected < 0)
		ok = false;
	pthread_mutex_unlock(&mu);
	return ok;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	if (n < 1 || n > 1000000) {
		fprintf(stderr, "usage: %s [N commands, 1..1000000]\n", argv[0]);
		return 2;
	}
	setenv("IOD_BIN_DIR", IOD_BENCH_BIN_DIR, 0);
	struct harness_broker broker;
	/* The broker's side of the same Nagle problem (mosquitto >= 1.6). */
	if (harness_broker_start(&broker, "set_tcp_nodelay true\n") < 0) {
		fprintf(stderr, "cannot start mosquitto\n");
		return 1;
	}
	char *tmp = harness_tmpdir("iod-bench-feeder");
	char env_url[128], env_data[512];
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_data, sizeof(env_data), "IOD_DATA_DIR=%s/data", tmp);
	const char *env[] = {env_url, env_data, "IOD_FEEDER_SCHEDULE=none", "IOD_LOG_LEVEL=warn",
			     NULL};
	struct tclient *c = tclient_new(broker.url, "bench");
	if (!c || tclient_subscribe(c, "iod/home/feeder/#", 1) < 0) {
		fprintf(stderr, "bench client cannot connect\n");
		return 1;
	}
	pid_t pid = harness_spawn("iod-feeder", NULL, env);
	struct tmsg *m = tclient_expect_with(c, T_AVAIL, "online", 10000);
	if (pid < 0 || !m) {
		fprintf(stderr, "iod-feeder did not come online\n");
		return 1;
	}
	tmsg_free(m);
	tclient_flush(c);

	MQTTAsync ac;
	if (MQTTAsync_create(&ac, broker.url, "bench-async", MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS) {
		fprintf(stderr, "cannot create the measuring client\n");
		return 1;
	}
	MQTTAsync_setCallbacks(ac, ac, NULL, on_arrived, NULL);
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	co.cleansession = 1;
	co.onSuccess = on_conn;
	co.onFailure = on_fail;
	co.context = ac;
	if (MQTTAsync_connect(ac, &co) != MQTTASYNC_SUCCESS || !wait_for(NULL, 5000)) {
		fprintf(stderr, "measuring client cannot connect\n");
		return 1;
	}

	bench_tcp_nodelay_all();
	double *lat = calloc((size_t)n, sizeof(*lat));
	char payload[96];
	int warmup = 200, lost = 0;
	double t_start = 0;
	for (long i = -warmup; i < n; i++) {
		if (i == 0)
			t_start = bench_now_us();
		int len = snprintf(payload, sizeof(payload),
				   "{\"action\":\"home\",\"id\":\"b%ld\"}", i + warmup);
		pthread_mutex_lock(&mu);
		snprintf(want_id, sizeof(want_id), "\"id\":\"b%ld\"", i + warmup);
		got = false;
		pthread_mutex_unlock(&mu);
		double t0 = bench_now_us();
		MQTTAsync_message msg = MQTTAsync_message_initializer;
		msg.payload = payload;
		msg.payloadlen = len;
		msg.qos = 1;
		if (MQTTAsync_sendMessage(ac, T_CMD, &msg, NULL) != MQTTASYNC_SUCCESS ||
		    !wait_for(&got, 5000)) {
			lost++;
			continue;
		}
		double t1 = bench_now_us();
		if (i >= 0)
			lat[i] = (t1 - t0) / 1000.0;
	}
	double total_s = (bench_now_us() - t_start) / 1e6;
	if (getenv("IOD_BENCH_VERBOSE"))
		for (long i = 0; i < n; i++)
			if (lat[i] > 5.0)
				fprintf(stderr, "slow: command %ld took %.3f ms\n", i, lat[i]);
	bench_sort(lat, (size_t)n);
	long rss_busy = bench_status_kib(pid, "VmRSS"), hwm = bench_status_kib(pid, "VmHWM");

	/* Idle: let it settle, then 10 s of nothing. */
	sleep(1);
	long long c0 = bench_cpu_ticks(pid);
	sleep(10);
	long long c1 = bench_cpu_ticks(pid);
	long rss_idle = bench_status_kib(pid, "VmRSS");
	long rss_anon = bench_status_kib(pid, "RssAnon"),
	     rss_file = bench_status_kib(pid, "RssFile");
	long hz = sysconf(_SC_CLK_TCK);

	char jpath[600];
	snprintf(jpath, sizeof(jpath), "%s/data/journal", tmp);
	struct stat st;
	long long journal = stat(jpath, &st) == 0 ? (long long)st.st_size : -1;

	tclient_flush(c);
	int code = harness_stop(pid, SIGTERM, 10000);

	char cpu[160];
	bench_machine(cpu, sizeof(cpu));
	printf("machine: %s, %ld cores\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("commands: %ld home (QoS 1) after %d warm-up, %d lost, %.2f s, %.0f cmd/s\n", n,
	       warmup, lost, total_s, (double)n / total_s);
	printf("latency ms (publish -> event received): p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
	       bench_percentile(lat, (size_t)n, 50), bench_percentile(lat, (size_t)n, 90),
	       bench_percentile(lat, (size_t)n, 99), lat[n - 1]);
	printf("idle cpu over 10 s: %lld ticks (%.2f%%)\n", c1 - c0,
	       100.0 * (double)(c1 - c0) / (double)hz / 10.0);
	printf("rss: %ld kB idle (%ld kB anonymous, %ld kB shared-library/file pages), "
	       "%ld kB after the run, %ld kB peak\n",
	       rss_idle, rss_anon, rss_file, rss_busy, hwm);
	printf("journal after the run: %lld bytes\n", journal);
	printf("SIGTERM exit code: %d\n", code);

	free(lat);
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnect(ac, &dopt);
	MQTTAsync_destroy(&ac);
	tclient_free(c);
	harness_broker_destroy(&broker);
	harness_rmtree(tmp);
	free(tmp);
	return lost || code != 0 ? 1 : 0;
}
