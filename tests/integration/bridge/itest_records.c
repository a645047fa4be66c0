/*
 * The records store in the real iod-bridge against a real mosquitto
 * (issue 13): readings kept across a restart and read back by /api/history
 * (a 1.3 MB answer in chunks too), doses given by the real iod-feeder (sim)
 * with their verification in /api/doses and /api/doses.csv, a dose's
 * snapshot published with the user property for=dose:<id> served back
 * byte-identical (mosquitto_pub -V 5 -D: the harness's MQTT 5 client
 * publishes no user properties), motion events and their thumbnail, the
 * report from schedule, log and plan, --backup while writing, a damaged
 * store moved aside with its alert, a newer schema and IOD_RECORDS=0 (503,
 * the bridge serving on), the 400 reasons, 401 without a session, ETag /
 * 304, and
 * (suite records_kill9, a ctest entry of its own) kill -9 during a flood of
 * readings, 50 times: the file passes PRAGMA integrity_check and every
 * reading the bridge had counted as committed is there.
 */
#include "harness.h"
#include "records.h"
#include "wsclient.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD "correct horse battery staple"
#define T_TEMP	 "iod/home/sensors/temperature"
#define WAIT	 10000

static struct {
	struct harness_broker broker;
	pid_t bridge, feeder;
	int port;
	char *dir;
	char data[512], db[600];
	struct tclient *tc;
	char cookie[160];
	bool password;
	const char *extra; /* one more NAME=value for the bridge, or NULL */
} F;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* ---- HTTP, any size of body ---- */

struct resp {
	int status;
	char headers[4096];
	char *body;
	size_t len;
};

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

static int hreq(const char *method, const char *path, const char *extra, struct resp *out)
{
	memset(out, 0, sizeof(*out));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)F.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	char req[2048], cookie[200] = "";
	if (F.cookie[0])
		snprintf(cookie, sizeof(cookie), "Cookie: %s\r\n", F.cookie);
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s\r\n",
			 method, path, extra ? extra : "", cookie);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	char *end = strstr(buf, "\r\n\r\n");
	if (!end || sscanf(buf, "HTTP/1.1 %d", &out->status) != 1) {
		free(buf);
		return -1;
	}
	size_t hl = (size_t)(end - buf);
	snprintf(out->headers, sizeof(out->headers), "%.*s", (int)hl, buf);
	out->len = len - hl - 4;
	out->body = malloc(out->len + 1);
	memcpy(out->body, end + 4, out->len);
	out->body[out->len] = '\0';
	free(buf);
	return 0;
}

static int hget(const char *path, struct resp *out)
{
	return hreq("GET", path, NULL, out);
}

static bool header_value(const struct resp *r, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	for (const char *p = r->headers; p && *p;
	     p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL)
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t l = strcspn(v, "\r\n");
			snprintf(out, size, "%.*s", (int)l, v);
			return true;
		}
	return false;
}

static cJSON *get_json(const char *path, int want_status)
{
	struct resp r;
	cr_assert_eq(hget(path, &r), 0, "GET %s", path);
	cr_assert_eq(r.status, want_status, "GET %s: %d %s", path, r.status, r.body);
	cJSON *j = cJSON_Parse(r.body);
	cr_assert_not_null(j, "GET %s: not JSON: %.200s", path, r.body);
	resp_free(&r);
	return j;
}

/* The value of a /metrics counter, or -1. */
static long long metric(const char *name)
{
	struct resp r;
	if (hget("/metrics", &r) < 0)
		return -1;
	long long v = -1;
	char needle[128];
	snprintf(needle, sizeof(needle), "\n%s ", name);
	const char *p = strstr(r.body, needle);
	if (p)
		v = strtoll(p + strlen(needle), NULL, 10);
	resp_free(&r);
	return v;
}

/* Until the writer has committed at least n messages (this process). */
static long long wait_written(long long n)
{
	long long w = -1;
	for (int i = 0; i < 1500; i++) { /* 30 s */
		w = metric("iod_bridge_records_written_total");
		if (w >= n)
			return w;
		sleep_ms(20);
	}
	cr_assert_fail("the records writer committed %lld of %lld", w, n);
	return w;
}

/* ---- the bridge ---- */

static void start_bridge(void)
{
	char e_url[128], e_port[64], e_data[600], e_pw[128];
	snprintf(e_url, sizeof(e_url), "IOD_MQTT_URL=%s", F.broker.url);
	snprintf(e_port, sizeof(e_port), "IOD_BRIDGE_PORT=%d", F.port);
	snprintf(e_data, sizeof(e_data), "IOD_DATA_DIR=%s", F.data);
	snprintf(e_pw, sizeof(e_pw), "IOD_BRIDGE_PASSWORD=%s", PASSWORD);
	const char *env[12] = {e_url,
			       e_port,
			       e_data,
			       F.password ? "IOD_BRIDGE_PUBLIC_VIEW=0" : "IOD_BRIDGE_PUBLIC_VIEW=1",
			       "IOD_BRIDGE_BIND=127.0.0.1",
			       "IOD_BRIDGE_WEB_DIR=/nonexistent",
			       "IOD_LOG_LEVEL=warn"};
	size_t n = 7;
	if (F.password)
		env[n++] = e_pw;
	if (F.extra)
		env[n++] = F.extra;
	env[n] = NULL;
	tclient_flush(F.tc);
	F.bridge = harness_spawn("iod-bridge", NULL, env);
	cr_assert_gt(F.bridge, 0);
	cr_assert_eq(harness_wait_port(F.port, WAIT), 0, "bridge listens");
	struct tmsg *m = tclient_expect(F.tc, "iod/home/bridge/info", WAIT);
	cr_assert_not_null(m, "bridge connected (its subscription made)");
	tmsg_free(m);
	F.cookie[0] = '\0';
	if (F.password)
		cr_assert_eq(http_login(F.port, PASSWORD, F.cookie, sizeof(F.cookie)), 200);
}

static void stop_bridge(void)
{
	int rc = harness_stop(F.bridge, SIGTERM, WAIT);
	F.bridge = 0;
	cr_expect_eq(rc, 0, "iod-bridge exits 0 on SIGTERM, got %d", rc);
}

static void setup_with(bool password)
{
	memset(&F, 0, sizeof(F));
	F.password = password;
	cr_assert_eq(harness_broker_start(&F.broker, NULL), 0);
	F.dir = harness_tmpdir("itest-records");
	snprintf(F.data, sizeof(F.data), "%s/data", F.dir);
	snprintf(F.db, sizeof(F.db), "%s/records.db", F.data);
	F.port = harness_free_port();
	F.tc = tclient_new(F.broker.url, "itest-records");
	cr_assert_not_null(F.tc);
	cr_assert_eq(tclient_subscribe(F.tc, "iod/home/#", 1), 0);
	start_bridge();
}

static void setup(void)
{
	setup_with(false);
}

static void setup_password(void)
{
	setup_with(true);
}

static void teardown(void)
{
	if (F.feeder > 0)
		harness_stop(F.feeder, SIGKILL, 5000);
	if (F.bridge > 0)
		stop_bridge();
	if (F.tc)
		tclient_free(F.tc);
	if (F.broker.pid > 0)
		harness_broker_destroy(&F.broker);
	if (F.dir) {
		harness_rmtree(F.dir);
		free(F.dir);
	}
	memset(&F, 0, sizeof(F));
}

static void reading(const char *topic, double v, int64_t ts, int qos)
{
	char text[128];
	snprintf(text, sizeof(text), "{\"value\":%.3f,\"unit\":\"°C\",\"ts\":%lld}", v,
		 (long long)ts);
	cr_assert_eq(tclient_publish_str(F.tc, topic, text, qos, false), 0);
}

TestSuite(records, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(records_auth, .init = setup_password, .fini = teardown, .timeout = 60);

Test(records, readings_survive_a_restart_and_come_back_by_history)
{
	int64_t base = (now_ms() / 1000 - 120) * 1000;
	for (int i = 0; i < 10; i++)
		reading(T_TEMP, 20.0 + i * 0.5, base + i * 1000, 1);
	wait_written(10);
	stop_bridge();
	start_bridge();
	char path[256];
	snprintf(path, sizeof(path), "/api/history?topic=" T_TEMP "&from=%lld&to=%lld&points=10",
		 (long long)base, (long long)base + 10000);
	cJSON *j = get_json(path, 200);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "topic")->valuestring, T_TEMP);
	cr_assert_eq((long long)cJSON_GetObjectItem(j, "bucket_ms")->valuedouble, 1000);
	cr_assert_eq((long long)cJSON_GetObjectItem(j, "from")->valuedouble, base);
	cJSON *pts = cJSON_GetObjectItem(j, "points");
	cr_assert_eq(cJSON_GetArraySize(pts), 10);
	for (int i = 0; i < 10; i++) {
		cJSON *p = cJSON_GetArrayItem(pts, i);
		cr_assert_eq((long long)cJSON_GetArrayItem(p, 0)->valuedouble, base + i * 1000);
		for (int k = 1; k <= 3; k++)
			cr_assert_float_eq(cJSON_GetArrayItem(p, k)->valuedouble, 20.0 + i * 0.5,
					   1e-9, "point %d member %d", i, k);
	}
	cJSON_Delete(j);
	/* Two readings a bucket: the mean, min and max of the pair. */
	snprintf(path, sizeof(path), "/api/history?topic=" T_TEMP "&from=%lld&to=%lld&points=5",
		 (long long)base, (long long)base + 10000);
	j = get_json(path, 200);
	pts = cJSON_GetObjectItem(j, "points");
	cr_assert_eq(cJSON_GetArraySize(pts), 5);
	cJSON *p = cJSON_GetArrayItem(pts, 1);
	cr_assert_float_eq(cJSON_GetArrayItem(p, 1)->valuedouble, 21.25, 1e-9);
	cr_assert_float_eq(cJSON_GetArrayItem(p, 2)->valuedouble, 21.0, 1e-9);
	cr_assert_float_eq(cJSON_GetArrayItem(p, 3)->valuedouble, 21.5, 1e-9);
	cJSON_Delete(j);
}

Test(records, thirty_days_written_through_the_store_answer_at_one_minute)
{
	/* 30 days of one temperature a minute, written with the store's own
	 * API while the bridge is stopped (as a long-running home would have
	 * them), then asked for at 1-minute resolution over HTTP: 43,200 points,
	 * each its minute's exact value. */
	enum { DAYS = 30, N = DAYS * 1440 };
	stop_bridge();
	int64_t to = (now_ms() / 60000 - 1) * 60000, from = to - (int64_t)N * 60000;
	struct records *r = NULL;
	struct records_err err;
	cr_assert_eq(records_open(F.db, NULL, &r, NULL, &err), 0, "%s", err.msg);
	for (int i = 0; i < N; i++) {
		if (i % 5000 == 0)
			cr_assert_eq(records_begin(r, &err), 0, "%s", err.msg);
		cr_assert_eq(records_add_reading(r, "home", "temperature",
						 from + (int64_t)i * 60000 + 1234,
						 15.0 + (i % 600) / 100.0, &err),
			     0, "%s", err.msg);
		if (i % 5000 == 4999 || i == N - 1)
			cr_assert_eq(records_commit(r, &err), 0, "%s", err.msg);
	}
	records_close(r);
	start_bridge();
	char path[256];
	snprintf(path, sizeof(path), "/api/history?topic=" T_TEMP "&from=%lld&to=%lld&points=%d",
		 (long long)from, (long long)to, N);
	cJSON *j = get_json(path, 200);
	cr_assert_eq((long long)cJSON_GetObjectItem(j, "bucket_ms")->valuedouble, 60000);
	cJSON *pts = cJSON_GetObjectItem(j, "points");
	cr_assert_eq(cJSON_GetArraySize(pts), N);
	int i = 0;
	cJSON *p;
	cJSON_ArrayForEach(p, pts)
	{
		double want = 15.0 + (i % 600) / 100.0;
		cr_assert_eq((long long)cJSON_GetArrayItem(p, 0)->valuedouble,
			     from + (int64_t)i * 60000, "point %d", i);
		for (int k = 1; k <= 3; k++)
			cr_assert_float_eq(cJSON_GetArrayItem(p, k)->valuedouble, want, 1e-9,
					   "point %d member %d", i, k);
		i++;
	}
	cJSON_Delete(j);
}

Test(records, a_large_history_goes_out_whole)
{
	/* 45,000 readings a second apart (12.5 h, the raw tier), one point
	 * each: a body over 1 MB, sent in HTTP_CHUNK pieces. */
	enum { N = 45000 };
	int64_t base = (now_ms() / 1000 - N - 60) * 1000;
	for (int i = 0; i < N; i++) {
		char text[96];
		snprintf(text, sizeof(text), "{\"value\":%d,\"unit\":\"dB\",\"ts\":%lld}", i % 100,
			 (long long)(base + (int64_t)i * 1000));
		cr_assert_eq(tclient_publish_str(F.tc, "iod/home/sensors/sound", text, 0, false),
			     0);
		/* Paced by what the bridge has committed: never more than
		 * 3,000 behind (its MQTT queue holds 4,096), under ASan or a
		 * loaded machine too. */
		if (i % 1000 == 999 && i >= 3000)
			wait_written(i + 1 - 3000);
	}
	wait_written(N);
	cr_assert_eq(metric("iod_bridge_records_dropped_total"), 0);
	char path[256];
	snprintf(path, sizeof(path),
		 "/api/history?topic=iod/home/sensors/sound&from=%lld&to=%lld&points=%d",
		 (long long)base, (long long)(base + (int64_t)N * 1000), N);
	struct resp r;
	cr_assert_eq(hget(path, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_gt(r.len, 1000000, "%zu bytes", r.len);
	char clen[32];
	cr_assert(header_value(&r, "content-length", clen, sizeof(clen)));
	cr_assert_eq((size_t)strtoull(clen, NULL, 10), r.len);
	cJSON *j = cJSON_Parse(r.body);
	cr_assert_not_null(j);
	cJSON *pts = cJSON_GetObjectItem(j, "points");
	cr_assert_eq(cJSON_GetArraySize(pts), N);
	int i = 0;
	cJSON *p;
	cJSON_ArrayForEach(p, pts)
	{
		cr_assert_eq((long long)cJSON_GetArrayItem(p, 0)->valuedouble,
			     base + (int64_t)i * 1000);
		cr_assert_float_eq(cJSON_GetArrayItem(p, 1)->valuedouble, i % 100, 1e-9);
		i++;
	}
	cJSON_Delete(j);
	resp_free(&r);
}

static void expect_400(const char *path, const char *reason)
{
	cJSON *j = get_json(path, 400);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, reason, "%s", path);
	cJSON *d = cJSON_GetObjectItem(j, "detail");
	cr_assert(cJSON_IsString(d) && d->valuestring[0], "%s: a detail", path);
	cJSON_Delete(j);
}

Test(records, bad_parameters_get_400_with_the_reason)
{
	expect_400("/api/history", "bad_topic");
	expect_400("/api/history?topic=iod/home/feeder/log", "bad_topic");
	expect_400("/api/history?topic=iod/home/sensors/pressure", "bad_topic");
	expect_400("/api/history?topic=" T_TEMP "&from=abc", "bad_from");
	expect_400("/api/history?topic=" T_TEMP "&to=1.5", "bad_to");
	expect_400("/api/history?topic=" T_TEMP "&from=2000&to=1000", "bad_range");
	expect_400("/api/history?topic=" T_TEMP "&from=0&to=34560000001", "bad_range");
	expect_400("/api/history?topic=" T_TEMP "&points=0", "bad_points");
	expect_400("/api/history?topic=" T_TEMP "&points=50001", "bad_points");
	expect_400("/api/doses?limit=10001", "bad_limit");
	expect_400("/api/doses?limit=x", "bad_limit");
	expect_400("/api/report?days=0", "bad_days");
	expect_400("/api/report?days=367", "bad_days");
	expect_400("/api/events?kind=bark", "bad_kind");
	expect_400("/api/doses?points=3", "unknown_parameter");
	expect_400("/api/doses.csv?limit=3", "unknown_parameter");
	expect_400("/api/doses?from=1&from=2", "unknown_parameter");
	/* Another site: not found (until issue 14); a malformed or unknown id too. */
	cJSON *j = get_json("/api/history?topic=iod/barn/sensors/temperature", 404);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, "not_found");
	cJSON_Delete(j);
	j = get_json("/api/snapshots/no%20such.jpg", 404);
	cJSON_Delete(j);
	j = get_json("/api/snapshots/nothing-here.jpg", 404);
	cJSON_Delete(j);
	j = get_json("/api/events/12x.jpg", 404);
	cJSON_Delete(j);
	j = get_json("/api/events/999.jpg", 404);
	cJSON_Delete(j);
	/* The good defaults answer. */
	j = get_json("/api/report", 200);
	cr_assert_eq(cJSON_GetObjectItem(j, "n_days")->valueint, 30);
	cJSON_Delete(j);
	j = get_json("/api/events", 200);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "events")));
	cJSON_Delete(j);
}

Test(records, etag_answers_304_and_head_has_no_body)
{
	/* Explicit from/to: with the default to (now) every answer names a
	 * new "to", so its body and tag change each millisecond. */
	int64_t t0 = now_ms() - 10000;
	reading(T_TEMP, 1.0, t0, 1);
	wait_written(1);
	char path[256];
	snprintf(path, sizeof(path), "/api/history?topic=" T_TEMP "&from=%lld&to=%lld",
		 (long long)t0 - 1000, (long long)t0 + 5000);
	struct resp r;
	cr_assert_eq(hget(path, &r), 0);
	cr_assert_eq(r.status, 200);
	char etag[64], cc[64], extra[128];
	cr_assert(header_value(&r, "etag", etag, sizeof(etag)));
	cr_assert(header_value(&r, "cache-control", cc, sizeof(cc)));
	cr_assert_str_eq(cc, "no-cache");
	cr_assert_eq(etag[0], '"', "a strong ETag: %s", etag);
	resp_free(&r);
	snprintf(extra, sizeof(extra), "If-None-Match: %s\r\n", etag);
	cr_assert_eq(hreq("GET", path, extra, &r), 0);
	cr_assert_eq(r.status, 304);
	cr_assert_eq(r.len, 0);
	resp_free(&r);
	cr_assert_eq(hreq("GET", path, "If-None-Match: \"other\"\r\n", &r), 0);
	cr_assert_eq(r.status, 200);
	resp_free(&r);
	cr_assert_eq(hreq("HEAD", path, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, 0);
	resp_free(&r);
	/* A new reading changes the body and so the tag. */
	reading(T_TEMP, 2.0, t0 + 1000, 1);
	wait_written(2);
	cr_assert_eq(hreq("GET", path, extra, &r), 0);
	cr_assert_eq(r.status, 200);
	resp_free(&r);
}

Test(records, a_dose_snapshot_comes_back_byte_identical)
{
	/* A JPEG-shaped blob with every byte value, NULs included. */
	enum { LEN = 20000 };
	unsigned char *jpeg = malloc(LEN);
	jpeg[0] = 0xff;
	jpeg[1] = 0xd8;
	for (int i = 2; i < LEN - 2; i++)
		jpeg[i] = (unsigned char)(i * 7 + (i >> 8));
	jpeg[LEN - 2] = 0xff;
	jpeg[LEN - 1] = 0xd9;
	char file[700], cmd[1600];
	snprintf(file, sizeof(file), "%s/snap.jpg", F.dir);
	FILE *fp = fopen(file, "wb");
	cr_assert_not_null(fp);
	fwrite(jpeg, 1, LEN, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub -V 5 -p %d -h 127.0.0.1 -q 1 -t iod/home/camera/snapshot "
		 "-D publish user-property for dose:snap-1 -f %s",
		 F.broker.port, file);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	int64_t ts = now_ms();
	char log[256];
	snprintf(log, sizeof(log),
		 "{\"doses\":[{\"id\":\"snap-1\",\"ts\":%lld,\"by\":\"ann\",\"source\":\"manual\","
		 "\"result\":\"ok\",\"verified\":null}]}",
		 (long long)ts);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/feeder/log", log, 1, true), 0);
	wait_written(2);
	struct resp r;
	cr_assert_eq(hget("/api/snapshots/snap-1.jpg", &r), 0);
	cr_assert_eq(r.status, 200);
	char ct[64], cc[64];
	cr_assert(header_value(&r, "content-type", ct, sizeof(ct)));
	cr_assert_str_eq(ct, "image/jpeg");
	cr_assert(header_value(&r, "cache-control", cc, sizeof(cc)));
	cr_assert(strstr(cc, "private") && strstr(cc, "max-age=86400"), "%s", cc);
	cr_assert_eq(r.len, LEN);
	cr_assert_eq(memcmp(r.body, jpeg, LEN), 0, "byte-identical");
	resp_free(&r);
	cJSON *j = get_json("/api/doses", 200);
	cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "doses"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(d, "id")->valuestring, "snap-1");
	cr_assert_str_eq(cJSON_GetObjectItem(d, "snapshot")->valuestring,
			 "/api/snapshots/snap-1.jpg");
	cr_assert_str_eq(cJSON_GetObjectItem(d, "by")->valuestring, "ann");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(d, "verified")));
	cJSON_Delete(j);
	cr_assert_eq(tclient_publish(F.tc, "iod/home/feeder/log", "", 0, 1, true), 0);
	free(jpeg);
}

static void bowl(double grams, bool retain)
{
	char text[96];
	snprintf(text, sizeof(text), "{\"value\":%.1f,\"unit\":\"g\",\"ts\":%lld}", grams,
		 (long long)now_ms());
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/sensors/bowl", text, 1, retain), 0);
}

/* The dose `id` in /api/doses once it has `verified` set (or NULL). */
static cJSON *wait_dose(const char *id, cJSON **all)
{
	for (int i = 0; i < 300; i++) {
		cJSON *j = get_json("/api/doses", 200);
		cJSON *d;
		cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "doses"))
		{
			if (!strcmp(cJSON_GetObjectItem(d, "id")->valuestring, id) &&
			    !cJSON_IsNull(cJSON_GetObjectItem(d, "verified"))) {
				*all = j;
				return d;
			}
		}
		cJSON_Delete(j);
		sleep_ms(50);
	}
	return NULL;
}

Test(records, doses_of_the_real_feeder_with_their_verification)
{
	char e_url[128], e_data[700];
	snprintf(e_url, sizeof(e_url), "IOD_MQTT_URL=%s", F.broker.url);
	snprintf(e_data, sizeof(e_data), "IOD_DATA_DIR=%s/feeder", F.dir);
	const char *env[] = {e_url,
			     e_data,
			     "IOD_FEEDER_SCHEDULE=none",
			     "IOD_FEEDER_BOUND_MIN_INTERVAL=1s",
			     "IOD_FEEDER_BOUND_MAX_DAILY=48",
			     "IOD_FEEDER_MIN_INTERVAL=1s",
			     "IOD_FEEDER_VERIFY_WINDOW=2s",
			     "IOD_LOG_LEVEL=warn",
			     NULL};
	bowl(5.0, true);
	F.feeder = harness_spawn("iod-feeder", NULL, env);
	cr_assert_gt(F.feeder, 0);
	struct tmsg *m = tclient_expect_with(F.tc, "iod/home/feeder/availability", "online", WAIT);
	cr_assert_not_null(m, "the feeder is up");
	tmsg_free(m);
	sleep_ms(300); /* its subscriptions are made after online */
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/feeder/cmd",
					 "{\"action\":\"feed\",\"id\":\"rec-1\",\"by\":\"ann\"}", 1,
					 false),
		     0);
	m = tclient_expect_with(F.tc, "iod/home/feeder/event", "\"id\":\"rec-1\"", WAIT);
	cr_assert_not_null(m);
	cr_assert(strstr(m->payload, "\"result\":\"ok\""), "%s", m->payload);
	tmsg_free(m);
	bowl(6.5, false);
	m = tclient_expect_with(F.tc, "iod/home/feeder/event", "\"action\":\"verify\"", WAIT);
	cr_assert_not_null(m, "the verify event");
	tmsg_free(m);
	/* The second dose: no rise, verification fails with its reason. */
	sleep_ms(1100);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/feeder/cmd",
					 "{\"action\":\"feed\",\"id\":\"rec-2\",\"by\":\"bob\"}", 1,
					 false),
		     0);
	m = tclient_expect_with(F.tc, "iod/home/feeder/event", "\"action\":\"verify\"", WAIT);
	cr_assert_not_null(m, "the second verify event");
	cr_assert(strstr(m->payload, "\"id\":\"rec-2\""), "%s", m->payload);
	tmsg_free(m);

	cJSON *all = NULL;
	cJSON *d = wait_dose("rec-1", &all);
	cr_assert_not_null(d, "rec-1 in /api/doses with its verification");
	cr_assert_str_eq(cJSON_GetObjectItem(d, "outcome")->valuestring, "ok");
	cr_assert_str_eq(cJSON_GetObjectItem(d, "by")->valuestring, "ann");
	cr_assert_str_eq(cJSON_GetObjectItem(d, "source")->valuestring, "manual");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(d, "verified")));
	cr_assert_float_eq(cJSON_GetObjectItem(d, "delta_g")->valuedouble, 1.5, 1e-6);
	cJSON_Delete(all);
	d = wait_dose("rec-2", &all);
	cr_assert_not_null(d, "rec-2 in /api/doses with its verification");
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(d, "verified")));
	cr_assert_str_eq(cJSON_GetObjectItem(d, "reason")->valuestring, "no_weight_change");
	/* newest first */
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(all, "doses"), 0), "id")
		->valuestring,
	    "rec-2");
	cJSON_Delete(all);

	struct resp r;
	cr_assert_eq(hget("/api/doses.csv", &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char ct[64], cd[160];
	cr_assert(header_value(&r, "content-type", ct, sizeof(ct)));
	cr_assert(!strncmp(ct, "text/csv", 8), "%s", ct);
	cr_assert(header_value(&r, "content-disposition", cd, sizeof(cd)));
	cr_assert(strstr(cd, "attachment; filename=\"iod-home-doses-"), "%s", cd);
	cr_assert(
	    !strncmp(r.body, "id,time_local,time_utc,by,source,slot,outcome,verified\r\n", 56),
	    "%s", r.body);
	const char *one = strstr(r.body, "\r\nrec-1,");
	const char *two = strstr(r.body, "\r\nrec-2,");
	cr_assert(one && two && one < two, "oldest first: %s", r.body);
	const char *one_end = strstr(one, ",ann,manual,,ok,true\r\n");
	cr_assert(one_end && one_end < two, "%s", r.body);
	cr_assert(strstr(two, ",bob,manual,,ok,false\r\n"), "%s", r.body);
	resp_free(&r);
	cr_assert_eq(tclient_publish(F.tc, "iod/home/sensors/bowl", "", 0, 1, true), 0);
}

/* mosquitto_pub -V 5 of a file with the user property for=<what>. */
static void publish_for(const char *topic, const char *what, const void *data, size_t len)
{
	char file[700], cmd[1600];
	snprintf(file, sizeof(file), "%s/pub.bin", F.dir);
	FILE *fp = fopen(file, "wb");
	cr_assert_not_null(fp);
	fwrite(data, 1, len, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub -V 5 -p %d -h 127.0.0.1 -q 1 -t %s -D publish user-property for "
		 "%s -f %s",
		 F.broker.port, topic, what, file);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(records, motion_events_with_their_thumbnail)
{
	int64_t t1 = now_ms() - 60000, t2 = now_ms() - 30000;
	char text[128], what[64];
	snprintf(text, sizeof(text), "{\"score\":0.25,\"active\":true,\"ts\":%lld}", (long long)t1);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/camera/motion", text, 1, false), 0);
	unsigned char thumb[4000];
	thumb[0] = 0xff;
	thumb[1] = 0xd8;
	for (size_t i = 2; i < sizeof(thumb) - 2; i++)
		thumb[i] = (unsigned char)(i * 13);
	thumb[sizeof(thumb) - 2] = 0xff;
	thumb[sizeof(thumb) - 1] = 0xd9;
	snprintf(what, sizeof(what), "motion:%lld", (long long)t1);
	publish_for("iod/home/camera/snapshot", what, thumb, sizeof(thumb));
	snprintf(text, sizeof(text), "{\"score\":0.01,\"active\":false,\"ts\":%lld}",
		 (long long)t1 + 5000);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/camera/motion", text, 1, false), 0);
	snprintf(text, sizeof(text), "{\"score\":0.5,\"active\":true,\"ts\":%lld}", (long long)t2);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/camera/motion", text, 1, false), 0);
	wait_written(4);
	cJSON *j = get_json("/api/events?kind=motion", 200);
	cJSON *evs = cJSON_GetObjectItem(j, "events");
	cr_assert_eq(cJSON_GetArraySize(evs), 2);
	cJSON *newest = cJSON_GetArrayItem(evs, 0), *first = cJSON_GetArrayItem(evs, 1);
	cr_assert_eq((long long)cJSON_GetObjectItem(newest, "ts")->valuedouble, t2);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(newest, "end")), "still going on");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(newest, "thumbnail")));
	cr_assert_float_eq(cJSON_GetObjectItem(newest, "score")->valuedouble, 0.5, 1e-9);
	cr_assert_str_eq(cJSON_GetObjectItem(first, "kind")->valuestring, "motion");
	cr_assert_eq((long long)cJSON_GetObjectItem(first, "ts")->valuedouble, t1);
	cr_assert_eq((long long)cJSON_GetObjectItem(first, "end")->valuedouble, t1 + 5000);
	const char *url = cJSON_GetObjectItem(first, "thumbnail")->valuestring;
	char want[64];
	snprintf(want, sizeof(want), "/api/events/%lld.jpg",
		 (long long)cJSON_GetObjectItem(first, "id")->valuedouble);
	cr_assert_str_eq(url, want);
	struct resp r;
	cr_assert_eq(hget(url, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, sizeof(thumb));
	cr_assert_eq(memcmp(r.body, thumb, sizeof(thumb)), 0, "byte-identical");
	resp_free(&r);
	cJSON_Delete(j);
	j = get_json("/api/events?limit=1", 200);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "events")), 1);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
	cJSON_Delete(j);
}

Test(records, the_report_from_schedule_doses_and_plan)
{
	int64_t now = now_ms();
	/* A slot given an hour ago (its local name as the feeder writes it),
	 * its dose verified, and a plan change. */
	int64_t at = now - 3600 * 1000;
	time_t t = (time_t)(at / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	char slot[32], msg[1024];
	strftime(slot, sizeof(slot), "%Y-%m-%dT%H:%M", &tm);
	char date[16];
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(msg, sizeof(msg),
		 "{\"date\":\"%s\",\"slots\":[{\"slot\":\"%s\",\"at\":%lld,\"status\":\"given\","
		 "\"dose\":\"schedule-%s\"}],\"ts\":%lld}",
		 date, slot, (long long)at, slot, (long long)at + 1000);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/feeder/schedule", msg, 1, false), 0);
	snprintf(msg, sizeof(msg),
		 "{\"doses\":[{\"id\":\"schedule-%s\",\"ts\":%lld,\"by\":\"schedule\",\"source\":"
		 "\"schedule\",\"result\":\"ok\",\"verified\":true}]}",
		 slot, (long long)at + 500);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/feeder/log", msg, 1, false), 0);
	snprintf(msg, sizeof(msg),
		 "{\"rev\":3,\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":true},"
		 "{\"at\":\"19:00\",\"days\":[\"mon\",\"tue\"],\"enabled\":true}],"
		 "\"min_interval_s\":21600,\"max_daily\":3,\"grace_s\":3600,\"paused\":false,"
		 "\"paused_until\":null,\"treat\":{\"max_daily\":10,\"min_interval_s\":300},"
		 "\"pills\":{\"remaining\":42,\"low_days\":5},\"bounds\":{\"min_interval_s\":14400,"
		 "\"max_daily\":4},\"changed_by\":\"vet\",\"changed_at\":%lld}",
		 (long long)now - 7200 * 1000);
	cr_assert_eq(tclient_publish_str(F.tc, "iod/home/feeder/plan", msg, 1, false), 0);
	wait_written(3);
	cr_assert_eq(metric("iod_bridge_records_errors_total"), 0);
	cJSON *j = get_json("/api/report?days=7", 200);
	cr_assert_eq(cJSON_GetObjectItem(j, "n_days")->valueint, 7);
	cJSON *tot = cJSON_GetObjectItem(j, "totals");
	cr_assert_eq(cJSON_GetObjectItem(tot, "planned")->valueint, 1);
	cr_assert_eq(cJSON_GetObjectItem(tot, "given")->valueint, 1);
	cr_assert_eq(cJSON_GetObjectItem(tot, "verified")->valueint, 1);
	cr_assert_eq(cJSON_GetObjectItem(tot, "manual")->valueint, 0);
	cJSON *a30 = cJSON_GetObjectItem(j, "adherence_30");
	cr_assert_eq(cJSON_GetObjectItem(a30, "taken")->valueint, 1);
	cr_assert_float_eq(cJSON_GetObjectItem(a30, "fraction")->valuedouble, 1.0, 1e-12);
	cJSON *pc = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "plan_changes"), 0);
	cr_assert_not_null(pc, "the plan change");
	cr_assert_eq(cJSON_GetObjectItem(pc, "rev")->valueint, 3);
	cr_assert_str_eq(cJSON_GetObjectItem(pc, "by")->valuestring, "vet");
	cr_assert_str_eq(cJSON_GetObjectItem(pc, "summary")->valuestring, "07:00, 19:00");
	cJSON_Delete(j);
	/* the scheduled dose knows its slot */
	j = get_json("/api/doses", 200);
	cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "doses"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(d, "slot")->valuestring, slot);
	cr_assert_str_eq(cJSON_GetObjectItem(d, "source")->valuestring, "schedule");
	cJSON_Delete(j);
}

/* The iod-bridge of the build, with the test's settings, run to its end:
 * its stdout and stderr in out, the exit code returned. */
static int run_bridge(const char *args, char *out, size_t size)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "IOD_DATA_DIR='%s' '%s/iod-bridge' %s 2>&1", F.data,
		 getenv("IOD_BIN_DIR"), args);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(records, backup_while_writing_and_a_bad_path)
{
	int64_t base = (now_ms() / 1000 - 600) * 1000;
	for (int i = 0; i < 200; i++)
		reading(T_TEMP, i, base + i * 1000, 0);
	wait_written(200);
	char args[1024], out[2048], dst[800];
	snprintf(dst, sizeof(dst), "%s/backup.db", F.dir);
	snprintf(args, sizeof(args), "--backup '%s'", dst);
	/* the bridge keeps writing during the copy */
	for (int i = 200; i < 400; i++)
		reading(T_TEMP, i, base + i * 1000, 0);
	int rc = run_bridge(args, out, sizeof(out));
	cr_assert_eq(rc, 0, "%s", out);
	char want[1600];
	snprintf(want, sizeof(want), "iod-bridge: backup of %s written to %s (", F.db, dst);
	cr_assert(strstr(out, want) && strstr(out, " bytes)\n"), "%s", out);
	struct stat st;
	cr_assert_eq(stat(dst, &st), 0);
	char size[64];
	snprintf(size, sizeof(size), "(%lld bytes)", (long long)st.st_size);
	cr_assert(strstr(out, size), "the size said is the file's: %s", out);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA integrity_check' | grep -qx ok", dst);
	cr_assert_eq(system(cmd), 0, "the backup passes integrity_check");

	rc = run_bridge("--backup /nonexistent-dir/x.db", out, sizeof(out));
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "iod-bridge: --backup /nonexistent-dir/x.db: "), "%s", out);
	rc = run_bridge("--backup", out, sizeof(out));
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "--backup needs the file"), "%s", out);
}

Test(records, a_damaged_store_is_moved_aside_with_a_critical_alert)
{
	stop_bridge();
	FILE *fp = fopen(F.db, "wb");
	cr_assert_not_null(fp);
	fputs("this is not an SQLite database, it is a note about the dog\n", fp);
	fclose(fp);
	start_bridge();
	struct tmsg *m = tclient_expect_with(F.tc, "iod/home/alert", "records_recovered", WAIT);
	cr_assert_not_null(m, "the records_recovered alert");
	cr_assert(strstr(m->payload, "\"level\":\"critical\""), "%s", m->payload);
	cr_assert(strstr(m->payload, "records.db.corrupt-"), "names the file: %s", m->payload);
	tmsg_free(m);
	/* the fresh store works */
	reading(T_TEMP, 3.5, now_ms() - 1000, 1);
	wait_written(1);
	cJSON *j = get_json("/api/history?topic=" T_TEMP, 200);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "points")), 1);
	cJSON_Delete(j);
}

Test(records, a_newer_schema_turns_the_store_off_not_the_bridge)
{
	stop_bridge();
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version = 99'", F.db);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	start_bridge();
	cJSON *j = get_json("/api/doses", 503);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, "records_unavailable");
	cJSON_Delete(j);
	struct resp r;
	cr_assert_eq(hget("/healthz", &r), 0);
	cr_assert_eq(r.status, 200);
	resp_free(&r);
	cr_assert_eq(hget("/api/session", &r), 0);
	cr_assert_eq(r.status, 200);
	resp_free(&r);
	cr_assert_eq(metric("iod_bridge_records_up"), 0);
	/* untouched */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version' | grep -qx 99", F.db);
	cr_assert_eq(system(cmd), 0);
}

Test(records, off_answers_503)
{
	stop_bridge();
	F.extra = "IOD_RECORDS=0";
	start_bridge();
	cJSON *j = get_json("/api/history?topic=" T_TEMP, 503);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, "records_unavailable");
	cJSON_Delete(j);
	/* parameters are still judged first */
	j = get_json("/api/history", 400);
	cJSON_Delete(j);
	reading(T_TEMP, 1, now_ms(), 1);
	cr_assert_eq(metric("iod_bridge_records_written_total"), 0);
}

Test(records_auth, no_session_is_401_and_a_session_reads)
{
	char saved[160];
	snprintf(saved, sizeof(saved), "%s", F.cookie);
	F.cookie[0] = '\0';
	const char *paths[] = {"/api/history?topic=" T_TEMP,
			       "/api/doses",
			       "/api/doses.csv",
			       "/api/report",
			       "/api/events",
			       "/api/snapshots/x.jpg",
			       "/api/events/1.jpg"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cJSON *j = get_json(paths[i], 401);
		cr_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, "not_authorized",
				 "%s", paths[i]);
		cJSON_Delete(j);
	}
	snprintf(F.cookie, sizeof(F.cookie), "%s", saved);
	cJSON *j = get_json("/api/doses", 200);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "doses")));
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "truncated")));
	cJSON_Delete(j);
}

/* ---- kill -9 during a flood, 50 times ---- */

TestSuite(records_kill9, .init = setup, .fini = teardown, .timeout = 300);

Test(records_kill9, kill9_during_a_flood_keeps_every_committed_batch)
{
	enum { ROUNDS = 50, FIRST = 300, MORE = 1500 };
	int64_t base0 = (now_ms() / 1000 - 3600) * 1000;
	long long committed[ROUNDS];
	stop_bridge();
	for (int r = 0; r < ROUNDS; r++) {
		start_bridge();
		int64_t base = base0 + (int64_t)r * 60000;
		for (int i = 0; i < FIRST; i++) {
			char text[96];
			snprintf(text, sizeof(text), "{\"value\":%d,\"unit\":\"g\",\"ts\":%lld}", i,
				 (long long)(base + i));
			cr_assert_eq(
			    tclient_publish_str(F.tc, "iod/home/sensors/bowl", text, 0, false), 0);
		}
		/* What the bridge says it committed: readings 0..W-1 of this
		 * round (one publisher, in order). The flood goes on as the
		 * bridge is killed mid-batch. */
		committed[r] = wait_written(FIRST);
		for (int i = FIRST; i < FIRST + MORE; i++) {
			char text[96];
			snprintf(text, sizeof(text), "{\"value\":%d,\"unit\":\"g\",\"ts\":%lld}", i,
				 (long long)(base + i));
			tclient_publish_str(F.tc, "iod/home/sensors/bowl", text, 0, false);
			if (i == FIRST + MORE / 2)
				kill(F.bridge, SIGKILL);
		}
		harness_stop(F.bridge, SIGKILL, WAIT);
		F.bridge = 0;
	}
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA integrity_check' 2>&1", F.db);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char out[256] = "";
	char *got = fgets(out, sizeof(out), p);
	int rc = pclose(p);
	cr_assert(got && rc == 0, "%s: %s", cmd, out);
	cr_assert_str_eq(out, "ok\n", "integrity_check: %s", out);

	start_bridge();
	for (int r = 0; r < ROUNDS; r++) {
		int64_t base = base0 + (int64_t)r * 60000;
		char path[256];
		snprintf(path, sizeof(path),
			 "/api/history?topic=iod/home/sensors/bowl&from=%lld&to=%lld&points=%lld",
			 (long long)base, (long long)(base + committed[r]), committed[r]);
		cJSON *j = get_json(path, 200);
		cr_assert_eq((long long)cJSON_GetObjectItem(j, "bucket_ms")->valuedouble, 1);
		cJSON *pts = cJSON_GetObjectItem(j, "points");
		cr_assert_eq(cJSON_GetArraySize(pts), committed[r],
			     "round %d: %d of the %lld committed readings", r,
			     cJSON_GetArraySize(pts), committed[r]);
		int i = 0;
		cJSON *pt;
		cJSON_ArrayForEach(pt, pts)
		{
			cr_assert_eq((long long)cJSON_GetArrayItem(pt, 0)->valuedouble, base + i);
			cr_assert_float_eq(cJSON_GetArrayItem(pt, 1)->valuedouble, i, 1e-9);
			i++;
		}
		cJSON_Delete(j);
	}
}
