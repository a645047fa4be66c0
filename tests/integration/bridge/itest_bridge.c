/*
 * iod-bridge against a real mosquitto, with real websocket clients:
 * state on connect, live order, camera frames, login, commands, Origin,
 * a stalled client beside a live one, 1,000 clients, clean SIGTERM.
 */
#include "harness.h"
#include "wsclient.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define PASSWORD "correct horse battery staple"

struct fx {
	struct harness_broker broker;
	pid_t bridge;
	int port;
	char *dir;
	struct tclient *tc;
	char cookie[160];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* extra: one more NAME=value for the bridge, or NULL. */
static void start_with(struct fx *f, const char *password, bool public_view, const char *extra)
{
	memset(f, 0, sizeof(*f));
	cr_assert_eq(harness_broker_start(&f->broker, NULL), 0);
	f->dir = harness_tmpdir("itest-bridge");
	char web[512], data[512];
	snprintf(web, sizeof(web), "%s/web", f->dir);
	snprintf(data, sizeof(data), "%s/data", f->dir);
	mkdir(web, 0755);
	char index[600];
	snprintf(index, sizeof(index), "%s/index.html", web);
	write_file(index, "<!doctype html><title>iod</title>\n");
	f->port = harness_free_port();
	char e_url[128], e_port[64], e_web[600], e_data[600], e_pw[128], e_pub[64];
	snprintf(e_url, sizeof(e_url), "IOD_MQTT_URL=%s", f->broker.url);
	snprintf(e_port, sizeof(e_port), "IOD_BRIDGE_PORT=%d", f->port);
	snprintf(e_web, sizeof(e_web), "IOD_BRIDGE_WEB_DIR=%s", web);
	snprintf(e_data, sizeof(e_data), "IOD_DATA_DIR=%s", data);
	snprintf(e_pw, sizeof(e_pw), "IOD_BRIDGE_PASSWORD=%s", password ? password : "");
	snprintf(e_pub, sizeof(e_pub), "IOD_BRIDGE_PUBLIC_VIEW=%d", public_view ? 1 : 0);
	const char *env[] = {e_url,
			     e_port,
			     e_web,
			     e_data,
			     e_pub,
			     "IOD_BRIDGE_BIND=127.0.0.1",
			     "IOD_LOG_LEVEL=info",
			     password ? e_pw : extra,
			     password ? extra : NULL,
			     NULL};
	f->tc = tclient_new(f->broker.url, "itest-bridge");
	cr_assert_not_null(f->tc);
	cr_assert_eq(tclient_subscribe(f->tc, "iod/home/bridge/#", 1), 0);
	f->bridge = harness_spawn("iod-bridge", NULL, env);
	cr_assert_gt(f->bridge, 0);
	cr_assert_eq(harness_wait_port(f->port, 10000), 0, "bridge listens");
	/* info is published after the subscription is made: from then on the
	 * bridge sees everything we publish. */
	struct tmsg *m = tclient_expect(f->tc, "iod/home/bridge/info", 10000);
	cr_assert_not_null(m, "bridge connected to the broker");
	cr_assert(strstr(m->payload, "\"version\":\"0.1.0\""));
	tmsg_free(m);
	if (password)
		cr_assert_eq(http_login(f->port, password, f->cookie, sizeof(f->cookie)), 200);
}

static void start(struct fx *f, const char *password, bool public_view)
{
	start_with(f, password, public_view, NULL);
}

static void stop(struct fx *f)
{
	if (f->bridge > 0) {
		int rc = harness_stop(f->bridge, SIGTERM, 10000);
		f->bridge = 0;
		cr_expect_eq(rc, 0, "iod-bridge exits 0 on SIGTERM, got %d", rc);
	}
	if (f->tc)
		tclient_free(f->tc);
	f->tc = NULL;
	if (f->broker.pid > 0)
		harness_broker_destroy(&f->broker);
	f->broker.pid = 0;
	if (f->dir) {
		harness_rmtree(f->dir);
		free(f->dir);
	}
	f->dir = NULL;
}

/* Runs after every test, also after a failed assertion: nothing is left
 * running. */
static struct fx F;
static void teardown(void)
{
	if (F.bridge > 0)
		harness_stop(F.bridge, SIGKILL, 5000);
	F.bridge = 0;
	stop(&F);
}

static bool conn_established(void *arg)
{
	struct wsc_conn *c = arg;
	return c->established || c->closed;
}

static bool conn_ready(void *arg)
{
	struct wsc_conn *c = arg;
	return c->ready || c->closed;
}

struct want {
	struct wsc_conn *c;
	const char *needle;
	size_t from;
};

static bool conn_has(void *arg)
{
	struct want *w = arg;
	return wsc_find(w->c, w->from, w->needle) >= 0 || w->c->closed;
}

static struct wsc_conn *open_ready(struct wsc *w, struct fx *f, const char *cookie)
{
	struct wsc_conn *c = wsc_connect(w, f->port, cookie, NULL, "iod.v1", true);
	cr_assert(wsc_run_until(w, conn_ready, c, 10000), "ready arrives");
	cr_assert(c->established && !c->closed);
	return c;
}

static void expect_frame(struct wsc *w, struct wsc_conn *c, const char *needle)
{
	struct want wt = {c, needle, 0};
	cr_assert(wsc_run_until(w, conn_has, &wt, 10000), "frame with %s", needle);
	cr_assert_not(c->closed);
}

Test(bridge, state_on_connect_in_protocol_order, .timeout = 60, .fini = teardown)
{
	start(&F, PASSWORD, false);
	/* The bridge buckets readings by when it receives them (10 s buckets
	 * on the wall clock): publish the three at least 5 s before a bucket
	 * ends, so they share one at any hour and under any load. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long in_bucket_ms = (long)(now.tv_sec % 10) * 1000 + now.tv_nsec / 1000000;
	if (in_bucket_ms > 5000)
		usleep((useconds_t)(10000 - in_bucket_ms) * 1000);
	tclient_publish_str(F.tc, "iod/home/feeder/availability", "online", 1, true);
	tclient_publish_str(F.tc, "iod/home/feeder/state",
			    "{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":0,"
			    "\"next_scheduled\":null,\"doses_today\":0}",
			    1, true);
	for (int i = 0; i < 3; i++) {
		char p[128];
		snprintf(p, sizeof(p), "{\"value\":%d.5,\"unit\":\"°C\",\"ts\":1}", 20 + i);
		tclient_publish_str(F.tc, "iod/home/sensors/temperature", p, 1, true);
	}
	tclient_publish_str(F.tc, "iod/home/alert",
			    "{\"source\":\"feeder\",\"level\":\"warning\",\"code\":\"missed_dose\","
			    "\"message\":\"m\",\"ts\":1}",
			    1, false);
	char jpeg[3000];
	for (size_t i = 0; i < sizeof(jpeg); i++)
		jpeg[i] = (char)(i * 7);
	jpeg[0] = (char)0xff;
	jpeg[1] = (char)0xd8;
	tclient_publish(F.tc, "iod/home/camera/frame", jpeg, sizeof(jpeg), 1, true);
	tclient_publish_str(F.tc, "iod/home/test/marker", "last", 1, false);

	struct wsc *w = wsc_new();
	/* A first client sees the marker live: the bridge has taken everything. */
	struct wsc_conn *a = open_ready(w, &F, F.cookie);
	expect_frame(w, a, "\"payload\":\"last\"");

	struct wsc_conn *c = open_ready(w, &F, F.cookie);
	cr_assert_geq(c->n_frames, 8);
	/* 1. hello */
	cJSON *hello = cJSON_Parse(c->frames[0].data);
	cr_assert_not_null(hello);
	cr_assert_str_eq(cJSON_GetObjectItem(hello, "type")->valuestring, "hello");
	cr_assert_str_eq(cJSON_GetObjectItem(hello, "site")->valuestring, "home");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(hello, "operator")));
	cr_assert_str_eq(cJSON_GetObjectItem(hello, "version")->valuestring, "0.1.0");
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(hello, "ts")));
	cJSON_Delete(hello);
	/* 6. ready last, 5. the camera frame right before it, byte for byte. */
	size_t n = c->n_frames;
	cr_assert_str_eq(c->frames[n - 1].data, "{\"type\":\"ready\"}");
	cr_assert(c->frames[n - 2].binary);
	cr_assert_eq(c->frames[n - 2].len, sizeof(jpeg));
	cr_assert_eq(memcmp(c->frames[n - 2].data, jpeg, sizeof(jpeg)), 0);
	/* 2. cached topics, newest value, JSON payload parsed; 3. history after; 4. alert. */
	long avail =
	    wsc_find(c, 1, "\"topic\":\"iod/home/feeder/availability\",\"payload\":\"online\"");
	long temp = wsc_find(c, 1, "\"topic\":\"iod/home/sensors/temperature\",\"payload\":{");
	long hist = wsc_find(c, 1, "\"type\":\"history\"");
	long alert = wsc_find(c, 1, "\"topic\":\"iod/home/alert\"");
	long marker = wsc_find(c, 1, "\"topic\":\"iod/home/test/marker\"");
	cr_assert(avail > 0 && temp > 0 && hist > 0 && alert > 0 && marker > 0);
	cr_assert_lt(avail, hist);
	cr_assert_lt(temp, hist);
	cr_assert_lt(marker, hist);
	cr_assert_lt(hist, alert);
	cr_assert_lt(alert, (long)n - 2);
	cJSON *t = cJSON_Parse(c->frames[temp].data);
	cr_assert_float_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(t, "payload"), "value")->valuedouble, 22.5,
	    1e-9, "the newest value is cached");
	cJSON_Delete(t);
	cJSON *h = cJSON_Parse(c->frames[hist].data);
	cr_assert_str_eq(cJSON_GetObjectItem(h, "topic")->valuestring,
			 "iod/home/sensors/temperature");
	cJSON *pts = cJSON_GetObjectItem(h, "points");
	cr_assert_eq(cJSON_GetArraySize(pts), 1, "3 readings within one 10 s bucket");
	cr_assert_float_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(pts, 0), 1)->valuedouble, 21.5,
			   1e-9, "bucket average");
	cJSON_Delete(h);
	/* Only one alert frame: alerts are not repeated from the cache. */
	cr_assert_eq(wsc_find(c, (size_t)alert + 1, "\"topic\":\"iod/home/alert\""), -1);
	wsc_free(w);
	stop(&F);
}

Test(bridge, live_updates_arrive_in_order, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	struct wsc_conn *c = open_ready(w, &F, NULL);
	size_t base = c->n_frames;
	for (int i = 0; i < 300; i++) {
		char p[128];
		snprintf(p, sizeof(p),
			 "{\"id\":\"e%d\",\"action\":\"home\",\"result\":\"ok\",\"ts\":%d}", i, i);
		tclient_publish_str(F.tc, "iod/home/feeder/event", p, 1, false);
	}
	expect_frame(w, c, "\"id\":\"e299\"");
	/* Every event, exactly once, in publish order. */
	int next = 0;
	for (size_t i = base; i < c->n_frames; i++) {
		cJSON *j = cJSON_Parse(c->frames[i].data);
		cr_assert_not_null(j);
		cJSON *topic = cJSON_GetObjectItem(j, "topic");
		if (cJSON_IsString(topic) && !strcmp(topic->valuestring, "iod/home/feeder/event")) {
			char id[16];
			snprintf(id, sizeof(id), "e%d", next);
			cr_assert_str_eq(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "payload"), "id")
				->valuestring,
			    id);
			cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "ts")));
			next++;
		}
		cJSON_Delete(j);
	}
	cr_assert_eq(next, 300);
	/* Plain text payloads arrive as strings. */
	tclient_publish_str(F.tc, "iod/home/sensors/availability", "offline", 1, true);
	expect_frame(w, c, "\"topic\":\"iod/home/sensors/availability\",\"payload\":\"offline\"");
	wsc_free(w);
	stop(&F);
}

Test(bridge, camera_frames_are_binary_and_exact, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	struct wsc_conn *c = open_ready(w, &F, NULL);
	uint64_t before = c->n_binary;
	static char frame[30 * 1024];
	for (int k = 0; k < 5; k++) {
		memset(frame, 'A' + k, sizeof(frame));
		frame[0] = (char)0xff;
		frame[1] = (char)0xd8;
		tclient_publish(F.tc, "iod/home/camera/frame", frame, sizeof(frame), 0, true);
		tclient_publish_str(F.tc, "iod/home/test/sync", "s", 1, false);
		struct want wt = {c, "", 0};
		(void)wt;
		/* wait for this frame */
		int64_t end = wsc_now_ns() + 10000000000LL;
		while (c->n_binary < before + (uint64_t)k + 1 && wsc_now_ns() < end)
			wsc_run_for(w, 10);
		cr_assert_eq(c->n_binary, before + (uint64_t)k + 1, "frame %d arrived", k);
		struct wsc_frame *last = NULL;
		for (size_t i = c->n_frames; i-- > 0;)
			if (c->frames[i].binary) {
				last = &c->frames[i];
				break;
			}
		cr_assert_eq(last->len, sizeof(frame));
		cr_assert_eq(memcmp(last->data, frame, sizeof(frame)), 0, "frame %d intact", k);
	}
	/* No base64, no JSON wrapper: no text frame mentions the frame topic. */
	cr_assert_eq(wsc_find(c, 0, "camera/frame"), -1);
	wsc_free(w);
	stop(&F);
}

Test(bridge, login_refused_accepted_rate_limited_logout, .timeout = 60, .fini = teardown)
{
	start(&F, PASSWORD, false);
	struct http_resp r;
	char v[512];
	cr_assert_eq(http_post(F.port, "/api/login", NULL, "{\"password\":\"wrong\"}", &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(r.body, "{\"error\":\"bad_password\"}");
	cr_assert_neq(http_header(&r, "set-cookie", v, sizeof(v)), 0, "no cookie on failure");

	cr_assert_eq(http_post(F.port, "/api/login", NULL, "{\"password\":\"" PASSWORD "\"}", &r),
		     0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"user\":\"admin\",\"role\":\"admin\",\"operator\":true}");
	cr_assert_eq(http_header(&r, "set-cookie", v, sizeof(v)), 0);
	char tok[65];
	cr_assert_eq(sscanf(v, "iod_session=%64[0-9a-f]; Path=/; HttpOnly; SameSite=Strict", tok),
		     1, "%s", v);
	cr_assert_eq(strlen(tok), 64);
	cr_assert(strstr(v, "HttpOnly") && strstr(v, "SameSite=Strict"));
	char cookie[128], hdr[200];
	snprintf(cookie, sizeof(cookie), "iod_session=%s", tok);
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", cookie);

	cr_assert_eq(http_get(F.port, "/api/session", hdr, &r), 0);
	cr_assert_eq(r.status, 200);
	cJSON *j = cJSON_Parse(r.body);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "operator")));
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "public_view")));
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "password_set")));
	cr_assert_str_eq(cJSON_GetObjectItem(j, "site")->valuestring, "home");
	cJSON_Delete(j);
	cr_assert_eq(http_header(&r, "content-security-policy", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
			    "style-src 'self'; script-src 'self'; worker-src 'self'; "
			    "manifest-src 'self'; frame-ancestors 'none'");

	/* Logout ends the session on the server, not just in the browser. */
	cr_assert_eq(http_post(F.port, "/api/logout", hdr, "", &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(http_header(&r, "set-cookie", v, sizeof(v)), 0);
	cr_assert(strstr(v, "iod_session=;") && strstr(v, "Max-Age=0"));
	cr_assert_eq(http_get(F.port, "/api/session", hdr, &r), 0);
	cr_assert(strstr(r.body, "\"operator\":false"));

	/* Five failures a minute from one address (a success resets the
	 * count), then 429 with Retry-After, even for the right password. */
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(http_post(F.port, "/api/login", NULL, "{\"password\":\"x\"}", &r), 0);
		cr_assert_eq(r.status, 401);
	}
	cr_assert_eq(http_post(F.port, "/api/login", NULL, "{\"password\":\"" PASSWORD "\"}", &r),
		     0);
	cr_assert_eq(r.status, 429);
	cr_assert_str_eq(r.body, "{\"error\":\"rate_limited\"}");
	cr_assert_eq(http_header(&r, "retry-after", v, sizeof(v)), 0);
	long retry = strtol(v, NULL, 10);
	cr_assert(retry >= 1 && retry <= 60, "Retry-After %ld", retry);

	cr_assert_eq(http_get(F.port, "/metrics", NULL, &r), 0);
	cr_assert(strstr(r.body, "iod_bridge_logins_total{result=\"ok\"} 2\n"), "%s", r.body);
	cr_assert(strstr(r.body, "iod_bridge_logins_total{result=\"bad_password\"} 6\n"));
	cr_assert(strstr(r.body, "iod_bridge_logins_total{result=\"rate_limited\"} 1\n"));
	stop(&F);
}

Test(bridge, no_password_set_means_no_login, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, false);
	struct http_resp r;
	cr_assert_eq(http_post(F.port, "/api/login", NULL, "{\"password\":\"\"}", &r), 0);
	cr_assert_eq(r.status, 403);
	cr_assert_str_eq(r.body, "{\"error\":\"no_password_set\"}");
	cr_assert_eq(http_get(F.port, "/api/session", NULL, &r), 0);
	cr_assert(strstr(r.body, "\"password_set\":false"));
	stop(&F);
}

Test(bridge, commands_need_an_operator_session, .timeout = 60, .fini = teardown)
{
	start(&F, PASSWORD, true);
	struct tclient *cmds = tclient_new(F.broker.url, "itest-bridge-cmds");
	cr_assert_eq(tclient_subscribe(cmds, "iod/home/feeder/cmd", 1), 0);
	struct wsc *w = wsc_new();
	/* A viewer (public view, no cookie) is refused and nothing is published. */
	struct wsc_conn *viewer = open_ready(w, &F, NULL);
	cr_assert(strstr(viewer->frames[0].data, "\"operator\":false"));
	wsc_send_text(viewer, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"v-1\"}");
	expect_frame(w, viewer, "\"type\":\"error\"");
	long e = wsc_find(viewer, 0, "\"type\":\"error\"");
	cr_assert_str_eq(viewer->frames[e].data,
			 "{\"type\":\"error\",\"id\":\"v-1\",\"reason\":\"not_authorized\"}");
	/* Malformed ones from the operator: refused with the reason. */
	struct wsc_conn *op = open_ready(w, &F, F.cookie);
	cr_assert(strstr(op->frames[0].data, "\"operator\":true"));
	wsc_send_text(op, "{\"type\":\"cmd\",\"action\":\"dance\",\"id\":\"o-0\"}");
	expect_frame(w, op, "\"reason\":\"unknown_action\"");
	wsc_send_text(op, "not json");
	expect_frame(w, op, "\"reason\":\"bad_json\"");
	wsc_send_text(op, "{\"type\":\"ping\"}");
	expect_frame(w, op, "\"type\":\"pong\"");
	struct tmsg *none = tclient_expect(cmds, "iod/home/feeder/cmd", 500);
	cr_assert_null(none, "nothing published for refused commands: %s",
		       none ? none->payload : "");
	/* The operator's command is published with by and ts, and acked. */
	wsc_send_text(op, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"o-1\"}");
	expect_frame(w, op, "{\"type\":\"ack\",\"id\":\"o-1\"}");
	struct tmsg *m = tclient_expect(cmds, "iod/home/feeder/cmd", 5000);
	cr_assert_not_null(m);
	cr_assert_not(m->retained);
	cJSON *j = cJSON_Parse(m->payload);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "action")->valuestring, "feed");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "o-1");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "by")->valuestring, "admin");
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "ts")));
	cr_assert_gt(cJSON_GetObjectItem(j, "ts")->valuedouble, 1.7e12);
	cJSON_Delete(j);
	tmsg_free(m);
	/* The feeder's answer reaches the browser as a normal frame. */
	tclient_publish_str(F.tc, "iod/home/feeder/event",
			    "{\"id\":\"o-1\",\"action\":\"feed\",\"result\":\"ok\",\"ts\":1}", 1,
			    false);
	expect_frame(w, op, "\"payload\":{\"id\":\"o-1\",\"action\":\"feed\",\"result\":\"ok\"");
	/* Over 6 KiB (PROTO_WS_MAX_CMD, a cmd's limit): closed with 1009. */
	char *big = malloc(6146);
	memset(big, 'x', 6145);
	big[6145] = '\0';
	wsc_send_text(op, big);
	free(big);
	cr_assert(wsc_run_until(w, conn_established, op, 1) || true);
	int64_t end = wsc_now_ns() + 10000000000LL;
	while (!op->closed && wsc_now_ns() < end)
		wsc_run_for(w, 10);
	cr_assert(op->closed);
	cr_assert_eq(op->close_code, 1009);
	struct http_resp r;
	cr_assert_eq(http_get(F.port, "/metrics", NULL, &r), 0);
	cr_assert(strstr(r.body, "iod_bridge_commands_total{result=\"accepted\"} 1\n"), "%s",
		  r.body);
	cr_assert(strstr(r.body, "iod_bridge_commands_total{result=\"refused\"} 3\n"));
	wsc_free(w);
	tclient_free(cmds);
	stop(&F);
}

/* iod-notify through the bridge (issue 12): its retained active set reaches a
 * dashboard that connects later; the websocket's notify ack goes to
 * notify/cmd (never feeder/cmd) with the session's by; the service worker's
 * POST /api/notify/ack publishes the same with the cookie and is refused
 * without it (401) or from another origin (403), nothing published then. */
Test(bridge, notify_commands_from_the_dashboard_and_its_worker, .timeout = 60, .fini = teardown)
{
	start(&F, PASSWORD, false);
	struct tclient *cmds = tclient_new(F.broker.url, "itest-bridge-notify");
	cr_assert_eq(tclient_subscribe(cmds, "iod/home/+/cmd", 1), 0);
	const char *set = "{\"active\":[{\"key\":\"feeder/missed_dose/2026-12-01T15:00\","
			  "\"source\":\"feeder\",\"code\":\"missed_dose\",\"subject\":"
			  "\"2026-12-01T15:00\",\"level\":\"critical\",\"message\":\"m\","
			  "\"since\":1,\"updated\":1,\"acked_by\":null,\"acked_at\":null}],"
			  "\"ts\":1}";
	tclient_publish_str(F.tc, "iod/home/alerts", set, 1, true);
	tclient_publish_str(F.tc, "iod/home/notify/info",
			    "{\"version\":\"0.1.0\",\"since\":1,\"vapid_public_key\":\"BKey\"}", 1,
			    true);
	/* Published before this dashboard connects: in its snapshot (or live,
	 * should the bridge hear them after the connect). */
	struct wsc *w = wsc_new();
	struct wsc_conn *op = open_ready(w, &F, F.cookie);
	expect_frame(w, op, "\"topic\":\"iod/home/alerts\"");
	expect_frame(w, op, "\"vapid_public_key\":\"BKey\"");
	wsc_send_text(op, "{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"ack\","
			  "\"id\":\"n-1\",\"key\":\"feeder/missed_dose/2026-12-01T15:00\","
			  "\"by\":\"mallory\"}");
	expect_frame(w, op, "{\"type\":\"ack\",\"id\":\"n-1\"}");
	struct tmsg *m = tclient_expect(cmds, "iod/home/notify/cmd", 5000);
	cr_assert_not_null(m);
	cJSON *j = cJSON_Parse(m->payload);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "action")->valuestring, "ack");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "n-1");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "by")->valuestring, "admin");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "key")->valuestring,
			 "feeder/missed_dose/2026-12-01T15:00");
	cJSON_Delete(j);
	tmsg_free(m);
	/* A bad one: the reason, nothing published anywhere. */
	wsc_send_text(op, "{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"subscribe\","
			  "\"id\":\"n-2\",\"subscription\":{\"endpoint\":\"ftp://x\"}}");
	expect_frame(w, op, "{\"type\":\"error\",\"id\":\"n-2\",\"reason\":\"bad_endpoint\"}");
	m = tclient_expect(cmds, "iod/home/feeder/cmd", 300);
	cr_assert_null(m, "a notify command on feeder/cmd: %s", m ? m->payload : "");
	/* The worker's POST. */
	char hdr[256];
	struct http_resp r;
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\nOrigin: http://127.0.0.1:%d\r\n", F.cookie,
		 F.port);
	cr_assert_eq(http_post(F.port, "/api/notify/ack", hdr,
			       "{\"key\":\"feeder/missed_dose/2026-12-01T15:00\"}", &r),
		     0);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"ok\":true}");
	m = tclient_expect(cmds, "iod/home/notify/cmd", 5000);
	cr_assert_not_null(m);
	cr_assert(strstr(m->payload, "\"by\":\"admin\""), "%s", m->payload);
	cr_assert(strstr(m->payload, "\"action\":\"ack\""), "%s", m->payload);
	tmsg_free(m);
	cr_assert_eq(http_post(F.port, "/api/notify/ack", NULL, "{\"key\":\"a/b\"}", &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(r.body, "{\"error\":\"not_authorized\"}");
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\nOrigin: http://evil.example\r\n", F.cookie);
	cr_assert_eq(http_post(F.port, "/api/notify/ack", hdr, "{\"key\":\"a/b\"}", &r), 0);
	cr_assert_eq(r.status, 403);
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", F.cookie);
	cr_assert_eq(http_post(F.port, "/api/notify/ack", hdr, "{\"key\":\"no spaces\"}", &r), 0);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(r.body, "{\"error\":\"bad_key\"}");
	m = tclient_expect(cmds, "iod/home/notify/cmd", 300);
	cr_assert_null(m, "published after a refusal: %s", m ? m->payload : "");
	wsc_free(w);
	tclient_free(cmds);
	stop(&F);
}

/* The care plan's commands from a browser: the message with "type" removed and
 * the bridge's by/ts reaches feeder/cmd; a viewer's is not_authorized, a bad one
 * answered with the feeder decoder's reason and detail, nothing published for
 * either. The 48-slot plan is over lws' 4 KiB receive buffer, so it arrives in
 * parts and is reassembled. */
Test(bridge, care_plan_commands_from_the_dashboard, .timeout = 60, .fini = teardown)
{
	start(&F, PASSWORD, true);
	struct tclient *cmds = tclient_new(F.broker.url, "itest-bridge-plan");
	cr_assert_eq(tclient_subscribe(cmds, "iod/home/feeder/cmd", 1), 0);
	struct wsc *w = wsc_new();
	struct wsc_conn *viewer = open_ready(w, &F, NULL);
	wsc_send_text(viewer, "{\"type\":\"cmd\",\"action\":\"skip\",\"id\":\"v-2\"}");
	expect_frame(w, viewer, "\"type\":\"error\"");
	cr_assert_str_eq(viewer->frames[wsc_find(viewer, 0, "\"type\":\"error\"")].data,
			 "{\"type\":\"error\",\"id\":\"v-2\",\"reason\":\"not_authorized\"}");
	struct wsc_conn *op = open_ready(w, &F, F.cookie);
	wsc_send_text(op, "{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"o-2\",\"plan\":"
			  "{\"max_daily\":0}}");
	expect_frame(w, op, "\"id\":\"o-2\"");
	cr_assert_str_eq(op->frames[wsc_find(op, 0, "\"id\":\"o-2\"")].data,
			 "{\"type\":\"error\",\"id\":\"o-2\",\"reason\":\"bad_plan\","
			 "\"detail\":\"max_daily: 0 is not an integer 1..48\"}");
	struct tmsg *none = tclient_expect(cmds, "iod/home/feeder/cmd", 500);
	cr_assert_null(none, "nothing published: %s", none ? none->payload : "");
	/* 48 slots with a seven-day list each, spaced as JSON.stringify(v, null, 1)
	 * would not but Python's json.dumps does: 4.4 KB */
	char *plan = malloc(8192);
	size_t n = (size_t)sprintf(plan, "{\"rev\":7,\"slots\":[");
	for (int i = 0; i < 48; i++)
		n += (size_t)sprintf(plan + n,
				     "%s{\"at\": \"%02d:%02d\", \"days\": [\"mon\", \"tue\", "
				     "\"wed\", \"thu\", \"fri\", \"sat\", \"sun\"], "
				     "\"enabled\": false}",
				     i ? "," : "", i / 2, i % 2 * 30);
	sprintf(plan + n, "],\"max_daily\":3}");
	char *text = malloc(8192);
	sprintf(text,
		"{\"type\":\"cmd\",\"by\":\"someone\",\"action\":\"plan\",\"id\":\"o-3\","
		"\"plan\":%s}",
		plan);
	cr_assert_gt(strlen(text), 4096);
	wsc_send_text(op, text);
	expect_frame(w, op, "{\"type\":\"ack\",\"id\":\"o-3\"}");
	struct tmsg *m = tclient_expect(cmds, "iod/home/feeder/cmd", 5000);
	cr_assert_not_null(m);
	cr_assert_not(m->retained);
	cJSON *j = cJSON_Parse(m->payload);
	cJSON *want = cJSON_Parse(plan);
	cr_assert_null(cJSON_GetObjectItem(j, "type"));
	cr_assert_str_eq(cJSON_GetObjectItem(j, "action")->valuestring, "plan");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "o-3");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "by")->valuestring, "admin");
	cr_assert_gt(cJSON_GetObjectItem(j, "ts")->valuedouble, 1.7e12);
	cr_assert(cJSON_Compare(cJSON_GetObjectItem(j, "plan"), want, true), "%s", m->payload);
	cJSON_Delete(want);
	cJSON_Delete(j);
	tmsg_free(m);
	free(text);
	free(plan);
	/* The feeder's answer (rejected, with detail) comes back as its event. */
	tclient_publish_str(F.tc, "iod/home/feeder/event",
			    "{\"id\":\"o-3\",\"action\":\"plan\",\"result\":\"rejected\","
			    "\"reason\":\"out_of_bounds\",\"ts\":1}",
			    1, false);
	expect_frame(w, op,
		     "\"payload\":{\"id\":\"o-3\",\"action\":\"plan\",\"result\":\"rejected\"");
	wsc_free(w);
	tclient_free(cmds);
	stop(&F);
}

static int upgrade_status(int port, const char *extra)
{
	char req[2048];
	snprintf(req, sizeof(req),
		 "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "Sec-WebSocket-Version: 13\r\n%s\r\n",
		 port, extra);
	struct http_resp r;
	cr_assert_eq(http_raw(port, req, &r), 0);
	return r.status;
}

Test(bridge, origin_and_session_checked_before_upgrade, .timeout = 60, .fini = teardown)
{
	start(&F, PASSWORD, false);
	char ck[256], both[512];
	snprintf(ck, sizeof(ck), "Cookie: %s\r\n", F.cookie);
	cr_assert_eq(upgrade_status(F.port, ""), 401, "no session, no public view");
	cr_assert_eq(
	    upgrade_status(
		F.port,
		"Cookie: "
		"iod_session=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n"),
	    401, "unknown session");
	cr_assert_eq(upgrade_status(F.port, ck), 101);
	snprintf(both, sizeof(both), "%sOrigin: http://evil.example:%d\r\n", ck, F.port);
	cr_assert_eq(upgrade_status(F.port, both), 403, "cross-origin refused");
	snprintf(both, sizeof(both), "%sOrigin: http://127.0.0.1:%d\r\n", ck, F.port);
	cr_assert_eq(upgrade_status(F.port, both), 101, "same origin accepted");
	snprintf(both, sizeof(both), "%sSec-WebSocket-Protocol: iod.v1\r\n", ck);
	cr_assert_eq(upgrade_status(F.port, both), 101, "the dashboard's subprotocol");
	/* The lws client too: a cross-origin browser is refused. */
	struct wsc *w = wsc_new();
	char origin[64];
	snprintf(origin, sizeof(origin), "http://evil.example:%d", F.port);
	struct wsc_conn *c = wsc_connect(w, F.port, F.cookie, origin, NULL, true);
	wsc_run_until(w, conn_established, c, 10000);
	cr_assert(c->closed && !c->established);
	wsc_free(w);
	/* A login POST from another origin is refused too. */
	struct http_resp r;
	char oh[128];
	snprintf(oh, sizeof(oh), "Origin: http://evil.example:%d\r\n", F.port);
	cr_assert_eq(http_post(F.port, "/api/login", oh, "{\"password\":\"" PASSWORD "\"}", &r), 0);
	cr_assert_eq(r.status, 403);
	stop(&F);
}

Test(bridge, static_files_health_and_no_escape, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	struct http_resp r;
	char v[512];
	cr_assert_eq(http_get(F.port, "/healthz", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ok");
	cr_assert_eq(http_get(F.port, "/", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "<title>iod</title>"));
	cr_assert_eq(http_header(&r, "content-type", v, sizeof(v)), 0);
	cr_assert(strstr(v, "text/html"));
	cr_assert_eq(http_header(&r, "content-security-policy", v, sizeof(v)), 0);
	cr_assert(strstr(v, "frame-ancestors 'none'"));
	cr_assert_eq(http_get(F.port, "/../data", NULL, &r), 0);
	cr_assert_neq(r.status, 200);
	cr_assert_eq(http_get(F.port, "/%2e%2e/%2e%2e/etc/passwd", NULL, &r), 0);
	cr_assert_neq(r.status, 200);
	cr_assert(!strstr(r.body, "root:"));
	cr_assert_eq(http_get(F.port, "/nope.js", NULL, &r), 0);
	cr_assert_eq(r.status, 404);
	cr_assert_eq(http_get(F.port, "/metrics", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "# TYPE iod_bridge_frames_sent_total counter\n"));
	cr_assert(strstr(r.body, "iod_bridge_mqtt_connected 1\n"));
	/* What waits is a gauge (the bridge's own online/info may still be
	 * on their way); nothing is ever refused here. */
	cr_assert(strstr(r.body, "# TYPE iod_bridge_mqtt_out_waiting gauge\n"
				 "iod_bridge_mqtt_out_waiting "));
	cr_assert(strstr(r.body, "iod_bridge_mqtt_publish_refused_total 0\n"));
	stop(&F);
}

struct tally {
	int events; /* feeder events seen, in order */
	bool order_ok;
	bool last_reading;
	char last_frame;
};

static void tally_frame(struct wsc_conn *c, const struct wsc_frame *fr)
{
	struct tally *t = c->user;
	int id;
	const char *p;
	if (fr->binary) {
		t->last_frame = fr->len ? fr->data[0] : 0;
		return;
	}
	if ((p = strstr(fr->data, "\"id\":\"s")) && sscanf(p, "\"id\":\"s%d\"", &id) == 1) {
		if (id != t->events)
			t->order_ok = false;
		t->events++;
	}
	if (strstr(fr->data, "\"value\":1999,"))
		t->last_reading = true;
}

static bool caught_up(void *arg)
{
	struct wsc_conn *c = arg;
	struct tally *t = c->user;
	return (t->events == 100 && t->last_reading && t->last_frame == 'z') || c->closed;
}

Test(bridge, stalled_client_does_not_slow_a_live_one, .timeout = 120, .fini = teardown)
{
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	struct wsc_conn *stalled = open_ready(w, &F, NULL);
	struct wsc_conn *live = open_ready(w, &F, NULL);
	struct tally ts = {0, true, false, 0}, tl = {0, true, false, 0};
	stalled->keep = live->keep = false;
	stalled->user = &ts;
	stalled->on_frame = tally_frame;
	live->user = &tl;
	live->on_frame = tally_frame;
	wsc_read(stalled, false);
	/* 2,000 readings, 300 frames of 64 KB (19 MB: more than the socket
	 * buffers hold) and 100 feeder events while one client reads nothing. */
	static char frame[64 * 1024];
	int frames = 0, events = 0;
	for (int i = 0; i < 2000; i++) {
		char p[128];
		snprintf(p, sizeof(p), "{\"value\":%d,\"unit\":\"dB\",\"ts\":1}", i);
		tclient_publish_str(F.tc, "iod/home/sensors/sound", p, 0, false);
		if (i % 7 == 0 && frames < 299) {
			memset(frame, 'a' + (frames % 25), sizeof(frame));
			tclient_publish(F.tc, "iod/home/camera/frame", frame, sizeof(frame), 0,
					false);
			frames++;
		}
		if (i % 20 == 0 && events < 100) {
			snprintf(p, sizeof(p),
				 "{\"id\":\"s%d\",\"action\":\"home\",\"result\":\"ok\",\"ts\":1}",
				 events++);
			tclient_publish_str(F.tc, "iod/home/feeder/event", p, 1, false);
		}
		if (i % 50 == 0)
			wsc_run_for(w, 1);
	}
	memset(frame, 'z', sizeof(frame));
	tclient_publish(F.tc, "iod/home/camera/frame", frame, sizeof(frame), 1, false);
	tclient_publish_str(F.tc, "iod/home/sensors/sound",
			    "{\"value\":1999,\"unit\":\"dB\",\"ts\":2}", 1, false);
	frames++;
	/* The live client gets every event in order, the newest reading and the
	 * newest frame while the other one sleeps. */
	cr_assert(wsc_run_until(w, caught_up, live, 30000), "live client kept up: %d events",
		  tl.events);
	cr_assert_not(live->closed);
	cr_assert(tl.order_ok);
	cr_assert_eq(ts.events, 0, "the stalled client really read nothing");
	struct http_resp r;
	cr_assert_eq(http_get(F.port, "/metrics", NULL, &r), 0);
	unsigned long long coalesced = 0, high = 0;
	const char *p = strstr(r.body, "\niod_bridge_frames_coalesced_total ");
	cr_assert_not_null(p);
	sscanf(p, "\niod_bridge_frames_coalesced_total %llu", &coalesced);
	p = strstr(r.body, "\niod_bridge_queue_high_water ");
	sscanf(p, "\niod_bridge_queue_high_water %llu", &high);
	cr_assert_gt(coalesced, 0, "the stalled client's backlog was coalesced");
	/* Bounded: up to 64 frames before it counts as behind (protocol.c's
	 * WS_BEHIND_FRAMES; nothing is coalesced for a client that keeps up),
	 * then the 100 events, one reading, one frame and a few state topics,
	 * not 2,400 messages. */
	cr_assert_lt(high, 64 + 100 + 20, "queue high water %llu", high);
	cr_assert(strstr(r.body, "\niod_bridge_clients 2\n"), "both still connected");
	/* Resumed, the stalled client gets every event, in order, and the newest
	 * reading and frame, having skipped stale readings and frames. */
	wsc_read(stalled, true);
	cr_assert(wsc_run_until(w, caught_up, stalled, 30000),
		  "stalled client caught up: %d events", ts.events);
	cr_assert_not(stalled->closed, "the stalled client was dropped after %d events", ts.events);
	cr_assert(ts.order_ok);
	cr_assert_lt(stalled->n_binary, (uint64_t)frames, "stale frames coalesced: %llu of %d",
		     (unsigned long long)stalled->n_binary, frames);
	cr_assert_lt(stalled->n_text, live->n_text);
	wsc_free(w);
	stop(&F);
}

struct many {
	struct wsc_conn **c;
	int n;
	int want;
};

static bool all_ready(void *arg)
{
	struct many *m = arg;
	for (int i = 0; i < m->n; i++)
		if (!m->c[i]->ready && !m->c[i]->closed)
			return false;
	return true;
}

static void count_burst(struct wsc_conn *c, const struct wsc_frame *fr)
{
	int *seen = c->user;
	int id = -1;
	const char *p;
	if (!fr->binary && (p = strstr(fr->data, "\"id\":\"b")) &&
	    sscanf(p, "\"id\":\"b%d\"", &id) == 1) {
		if (id == seen[1]) /* in order: the next expected id */
			seen[1]++;
		seen[0]++;
	}
}

static bool all_got_burst(void *arg)
{
	struct many *m = arg;
	for (int i = 0; i < m->n; i++) {
		int *seen = m->c[i]->user;
		if (seen[0] < m->want && !m->c[i]->closed)
			return false;
	}
	return true;
}

Test(bridge, thousand_clients_all_receive_a_burst, .timeout = 180, .fini = teardown)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	enum { N = 1000, BURST = 50 };
	struct many m = {calloc(N, sizeof(struct wsc_conn *)), N, BURST};
	static int seen[N][2];
	for (int i = 0; i < N; i++) {
		m.c[i] = wsc_connect(w, F.port, NULL, NULL, i % 2 ? "iod.v1" : NULL, false);
		m.c[i]->user = seen[i];
		m.c[i]->on_frame = count_burst;
		if (i % 50 == 0)
			wsc_run_for(w, 1);
	}
	cr_assert(wsc_run_until(w, all_ready, &m, 60000), "all connected");
	int closed = 0;
	for (int i = 0; i < N; i++)
		closed += m.c[i]->closed;
	cr_assert_eq(closed, 0);
	for (int i = 0; i < BURST; i++) {
		char p[128];
		snprintf(p, sizeof(p),
			 "{\"id\":\"b%d\",\"action\":\"call\",\"result\":\"ok\",\"ts\":1}", i);
		tclient_publish_str(F.tc, "iod/home/feeder/event", p, 1, false);
	}
	cr_assert(wsc_run_until(w, all_got_burst, &m, 60000), "every client got the burst");
	for (int i = 0; i < N; i++) {
		cr_assert_not(m.c[i]->closed, "client %d stayed", i);
		cr_assert_eq(seen[i][0], BURST, "client %d got %d", i, seen[i][0]);
		cr_assert_eq(seen[i][1], BURST, "client %d in order", i);
	}
	struct http_resp r;
	cr_assert_eq(http_get(F.port, "/metrics", NULL, &r), 0);
	cr_assert(strstr(r.body, "\niod_bridge_clients 1000\n"), "%s", r.body);
	wsc_free(w);
	free(m.c);
	stop(&F);
}

Test(bridge, sigterm_exits_zero_and_publishes_offline, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	struct wsc_conn *c = open_ready(w, &F, NULL);
	cr_assert_not(c->closed);
	tclient_flush(F.tc);
	int rc = harness_stop(F.bridge, SIGTERM, 10000);
	F.bridge = 0;
	cr_assert_eq(rc, 0, "exit code %d", rc);
	struct tmsg *m = tclient_expect_with(F.tc, "iod/home/bridge/availability", "offline", 5000);
	cr_assert_not_null(m, "offline published");
	tmsg_free(m);
	/* The retained state says offline for anyone arriving now. */
	struct tclient *late = tclient_new(F.broker.url, "itest-bridge-late");
	tclient_subscribe(late, "iod/home/bridge/availability", 1);
	m = tclient_expect(late, "iod/home/bridge/availability", 5000);
	cr_assert_not_null(m);
	cr_assert(m->retained);
	cr_assert_str_eq(m->payload, "offline");
	tmsg_free(m);
	tclient_free(late);
	wsc_run_for(w, 200);
	cr_assert(c->closed, "the websocket was closed");
	wsc_free(w);
	stop(&F);
}

Test(bridge, port_in_use_stops_with_exit_1, .timeout = 60, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(harness_broker_start(&F.broker, NULL), 0);
	int port = harness_free_port();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	char e_url[128], e_port[64];
	snprintf(e_url, sizeof(e_url), "IOD_MQTT_URL=%s", F.broker.url);
	snprintf(e_port, sizeof(e_port), "IOD_BRIDGE_PORT=%d", port);
	const char *env[] = {e_url, e_port, "IOD_BRIDGE_BIND=127.0.0.1",
			     "IOD_DATA_DIR=/tmp/itest-bridge-port-data", NULL};
	F.bridge = harness_spawn("iod-bridge", NULL, env);
	cr_assert_gt(F.bridge, 0);
	/* harness_alive() reaps without the status: wait here to read it. */
	int status = 0;
	pid_t done = 0;
	for (int i = 0; i < 200 && done == 0; i++) {
		done = waitpid(F.bridge, &status, WNOHANG);
		if (!done)
			usleep(50000);
	}
	cr_assert_eq(done, F.bridge, "the bridge does not run without its port");
	F.bridge = 0;
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 1, "exit code %d", WEXITSTATUS(status));
	close(fd);
	harness_rmtree("/tmp/itest-bridge-port-data");
}

/* The broker's state reaches the page: hello says it, a broker frame follows
 * right after hello and whenever the bridge's MQTT connection changes, and a
 * command while it is down is refused and never sent later. */
Test(bridge, broker_state_reaches_the_page, .timeout = 120, .fini = teardown)
{
	start(&F, PASSWORD, false);
	struct wsc *w = wsc_new();
	struct wsc_conn *c = open_ready(w, &F, F.cookie);
	cJSON *hello = cJSON_Parse(c->frames[0].data);
	cr_assert_not_null(hello);
	cr_assert_str_eq(cJSON_GetObjectItem(hello, "type")->valuestring, "hello");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(hello, "broker")), "%s", c->frames[0].data);
	cJSON_Delete(hello);
	cJSON *b = cJSON_Parse(c->frames[1].data);
	cr_assert_not_null(b);
	cr_assert_str_eq(cJSON_GetObjectItem(b, "type")->valuestring, "broker",
			 "the frame after hello: %s", c->frames[1].data);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(b, "connected")));
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(b, "ts")));
	cJSON_Delete(b);

	/* The broker goes away: every client is told. */
	tclient_free(F.tc);
	F.tc = NULL;
	size_t mark = c->n_frames;
	harness_broker_stop(&F.broker);
	struct want down = {c, "{\"type\":\"broker\",\"connected\":false,\"ts\":", mark};
	cr_assert(wsc_run_until(w, conn_has, &down, 30000), "broker down reaches the page");
	cr_assert_not(c->closed);
	/* A client arriving now hears it in hello and the frame after. */
	struct wsc_conn *late = open_ready(w, &F, F.cookie);
	cr_assert(strstr(late->frames[0].data, "\"broker\":false"), "%s", late->frames[0].data);
	cr_assert(strstr(late->frames[1].data, "{\"type\":\"broker\",\"connected\":false,"), "%s",
		  late->frames[1].data);
	/* A command now is refused, with its id. */
	size_t before_cmd = c->n_frames;
	wsc_send_text(c, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"during-1\"}");
	struct want refused = {c, "\"type\":\"error\"", before_cmd};
	cr_assert(wsc_run_until(w, conn_has, &refused, 10000));
	long e = wsc_find(c, before_cmd, "\"type\":\"error\"");
	cr_assert_str_eq(c->frames[e].data, "{\"type\":\"error\",\"id\":\"during-1\","
					    "\"reason\":\"broker_unavailable\"}");
	cr_assert_eq(wsc_find(c, before_cmd, "\"type\":\"ack\""), -1);

	/* Back: told again, and commands flow. */
	cr_assert_eq(harness_broker_restart(&F.broker), 0);
	struct want up = {c, "{\"type\":\"broker\",\"connected\":true,\"ts\":", (size_t)e};
	cr_assert(wsc_run_until(w, conn_has, &up, 60000), "broker up reaches the page");
	struct want up_late = {late, "{\"type\":\"broker\",\"connected\":true,", 2};
	cr_assert(wsc_run_until(w, conn_has, &up_late, 10000), "to every client");
	long upi = wsc_find(c, (size_t)e, "{\"type\":\"broker\",\"connected\":true,");
	wsc_send_text(c, "{\"type\":\"cmd\",\"action\":\"home\",\"id\":\"after-1\"}");
	expect_frame(w, c, "{\"type\":\"ack\",\"id\":\"after-1\"}");
	/* The bridge hears its own publishes: the command published after the
	 * reconnect is there, the refused one never was (not queued). */
	struct want pub = {c, "\"topic\":\"iod/home/feeder/cmd\"", (size_t)upi};
	cr_assert(wsc_run_until(w, conn_has, &pub, 10000));
	long p = wsc_find(c, (size_t)upi, "\"topic\":\"iod/home/feeder/cmd\"");
	cr_assert(strstr(c->frames[p].data, "\"id\":\"after-1\""), "%s", c->frames[p].data);
	cr_assert_eq(wsc_find(c, 0, "\"id\":\"during-1\",\"by\""), -1);
	struct http_resp r;
	cr_assert_eq(http_get(F.port, "/metrics", NULL, &r), 0);
	cr_assert(strstr(r.body, "iod_bridge_mqtt_connected 1\n"));
	wsc_free(w);
	stop(&F);
}

/* ---- IOD_BRIDGE_BIND and who may read /metrics ---------------------------- */

/* Connect to addr:port (IPv4 or IPv6 literal). 0, or -errno. */
static int tcp_connect(const char *addr, int port, int *fd_out)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
	} else {
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
	if (rc == 0 && fd_out)
		*fd_out = fd;
	else
		close(fd);
	return rc;
}

/* GET path from addr:port with extra headers; the status, or -1. */
static int status_at(const char *addr, int port, const char *path, const char *extra)
{
	int fd = -1;
	if (tcp_connect(addr, port, &fd) < 0)
		return -1;
	char req[1024], resp[512];
	bool v6 = strchr(addr, ':') != NULL;
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nConnection: close\r\n%s\r\n", path,
		 v6 ? "[" : "", addr, v6 ? "]" : "", port, extra ? extra : "");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	ssize_t n = read(fd, resp, sizeof(resp) - 1);
	close(fd);
	int status = -1;
	if (n > 12) {
		resp[n] = '\0';
		sscanf(resp, "HTTP/1.1 %d", &status);
	}
	return status;
}

/* A local address of this machine of the family that is not loopback (a LAN
 * address), or false when there is none. */
static bool lan_address(int family, char *buf, size_t size)
{
	struct ifaddrs *all;
	bool found = false;
	if (getifaddrs(&all) < 0)
		return false;
	for (struct ifaddrs *i = all; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
				  size);
		else if (!IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, buf,
				  size);
		else
			continue;
		found = true;
	}
	freeifaddrs(all);
	return found;
}

static bool is_local_address(const char *addr)
{
	char buf[64];
	struct ifaddrs *all;
	bool found = false;
	if (getifaddrs(&all) < 0)
		return false;
	for (struct ifaddrs *i = all; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
				  sizeof(buf));
			found = !strcmp(buf, addr);
		}
	freeifaddrs(all);
	return found;
}

/* Start the bridge listening on bind (no broker needed) and wait until addr
 * answers, or return its exit code when it stops by itself. */
static pid_t spawn_bound(const char *bind, int port, const char *extra_env)
{
	char e_bind[128], e_port[64];
	snprintf(e_bind, sizeof(e_bind), "IOD_BRIDGE_BIND=%s", bind);
	snprintf(e_port, sizeof(e_port), "IOD_BRIDGE_PORT=%d", port);
	const char *env[] = {"IOD_MQTT_URL=tcp://127.0.0.1:1",		 e_port,    e_bind,
			     "IOD_DATA_DIR=/tmp/itest-bridge-bind-data", extra_env, NULL};
	return harness_spawn("iod-bridge", NULL, env);
}

static bool wait_answer(const char *addr, int port)
{
	for (int i = 0; i < 200; i++) {
		if (tcp_connect(addr, port, NULL) == 0)
			return true;
		usleep(50000);
	}
	return false;
}

static int wait_exit(pid_t pid)
{
	int status = 0;
	pid_t done = 0;
	for (int i = 0; i < 200 && done == 0; i++) {
		done = waitpid(pid, &status, WNOHANG);
		if (!done)
			usleep(50000);
	}
	if (done != pid) {
		harness_stop(pid, SIGKILL, 5000);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(bridge, bind_ipv4_address_is_exactly_that, .timeout = 60, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	int port = harness_free_port();
	F.bridge = spawn_bound("127.0.0.1", port, NULL);
	cr_assert(wait_answer("127.0.0.1", port), "answers on 127.0.0.1");
	cr_assert_eq(status_at("127.0.0.1", port, "/healthz", NULL), 200);
	/* Same machine, another loopback address: not bound, so refused. */
	cr_assert_eq(tcp_connect("127.0.0.2", port, NULL), -ECONNREFUSED,
		     "127.0.0.2 must be refused when bound to 127.0.0.1");
	cr_assert_eq(tcp_connect("::1", port, NULL), -ECONNREFUSED, "no IPv6 listener");
	char lan[64];
	if (lan_address(AF_INET, lan, sizeof(lan)))
		cr_assert_eq(tcp_connect(lan, port, NULL), -ECONNREFUSED,
			     "the LAN address %s must be refused", lan);
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = 0;
	harness_rmtree("/tmp/itest-bridge-bind-data");
}

Test(bridge, bind_ipv6_loopback_is_exactly_that, .timeout = 60, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	int port = harness_free_port();
	if (tcp_connect("::1", 1, NULL) == -EADDRNOTAVAIL ||
	    tcp_connect("::1", 1, NULL) == -EAFNOSUPPORT)
		cr_skip_test("no IPv6 loopback on this machine");
	F.bridge = spawn_bound("::1", port, NULL);
	cr_assert(wait_answer("::1", port), "answers on ::1");
	cr_assert_eq(status_at("::1", port, "/healthz", NULL), 200);
	cr_assert_eq(tcp_connect("127.0.0.1", port, NULL), -ECONNREFUSED,
		     "127.0.0.1 must be refused when bound to ::1");
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = 0;
	/* Brackets too, as in a URL. */
	F.bridge = spawn_bound("[::1]", port, NULL);
	cr_assert(wait_answer("::1", port), "answers on [::1]");
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = 0;
	harness_rmtree("/tmp/itest-bridge-bind-data");
}

Test(bridge, bind_refused_at_start_when_it_cannot_be, .timeout = 60, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	int port = harness_free_port();
	/* Documentation addresses (RFC 5737) this machine does not have. */
	const char *foreign = "192.0.2.1";
	if (is_local_address(foreign))
		foreign = "198.51.100.1";
	if (is_local_address(foreign))
		foreign = "203.0.113.1";
	F.bridge = spawn_bound(foreign, port, NULL);
	int rc = wait_exit(F.bridge);
	F.bridge = 0;
	cr_assert_eq(rc, 1, "an address the machine does not have stops it with 1, got %d", rc);
	/* Not an address at all: a bad setting, 2. */
	F.bridge = spawn_bound("127.1", port, NULL);
	rc = wait_exit(F.bridge);
	F.bridge = 0;
	cr_assert_eq(rc, 2, "a malformed address is a bad setting, got %d", rc);
	F.bridge = spawn_bound("no-such-if0", port, NULL);
	rc = wait_exit(F.bridge);
	F.bridge = 0;
	cr_assert_eq(rc, 1, "an interface that is not there stops it with 1, got %d", rc);
	/* An interface name binds its address. */
	F.bridge = spawn_bound("lo", port, NULL);
	cr_assert(wait_answer("127.0.0.1", port), "lo: answers on 127.0.0.1");
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = 0;
	harness_rmtree("/tmp/itest-bridge-bind-data");
}

Test(bridge, metrics_stay_off_the_lan, .timeout = 60, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	int port = harness_free_port();
	F.bridge = spawn_bound("0.0.0.0", port, "IOD_BRIDGE_PASSWORD=" PASSWORD);
	cr_assert(wait_answer("127.0.0.1", port));
	cr_assert_eq(status_at("127.0.0.1", port, "/metrics", NULL), 200, "this machine reads it");
	/* Through a reverse proxy on this machine: the peer is loopback, but the
	 * request is not from here. */
	cr_assert_eq(status_at("127.0.0.1", port, "/metrics", "X-Forwarded-For: 192.0.2.7\r\n"),
		     403);
	cr_assert_eq(status_at("127.0.0.1", port, "/metrics", "Forwarded: for=192.0.2.7\r\n"), 403);
	cr_assert_eq(status_at("127.0.0.1", port, "/metrics", "X-Real-IP: 192.0.2.7\r\n"), 403);
	char cookie[160], hdr[256];
	cr_assert_eq(http_login(port, PASSWORD, cookie, sizeof(cookie)), 200);
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\nX-Forwarded-For: 192.0.2.7\r\n", cookie);
	cr_assert_eq(status_at("127.0.0.1", port, "/metrics", hdr), 200, "the operator may");
	char lan[64];
	bool have_lan = lan_address(AF_INET, lan, sizeof(lan));
	if (have_lan) {
		/* From the machine's LAN address, as a phone on the LAN would be. */
		cr_assert_eq(status_at(lan, port, "/metrics", NULL), 403, "from %s", lan);
		cr_assert_eq(status_at(lan, port, "/healthz", NULL), 200, "the rest is served");
	}
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = 0;
	F.bridge = spawn_bound("0.0.0.0", port, "IOD_BRIDGE_METRICS_PUBLIC=1");
	cr_assert(wait_answer("127.0.0.1", port));
	cr_assert_eq(status_at("127.0.0.1", port, "/metrics", "X-Forwarded-For: 192.0.2.7\r\n"),
		     200, "opened on purpose");
	if (have_lan)
		cr_assert_eq(status_at(lan, port, "/metrics", NULL), 200);
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = 0;
	harness_rmtree("/tmp/itest-bridge-bind-data");
}

/* ---- HTTP as browsers and proxies expect ---------------------------------- */

static void web_file(const struct fx *f, const char *name, const char *text)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/web/%s", f->dir, name);
	write_file(path, text);
}

static int req(int port, const char *method, const char *path, const char *extra,
	       struct http_resp *r)
{
	char buf[2048];
	snprintf(buf, sizeof(buf),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s\r\n", method,
		 path, port, extra ? extra : "");
	return http_raw(port, buf, r);
}

static char *hv(const struct http_resp *r, const char *name)
{
	static char v[4][512];
	static int k;
	char *out = v[k++ % 4];
	if (http_header(r, name, out, sizeof(v[0])) < 0)
		return NULL;
	return out;
}

static size_t gunzip(const char *in, size_t len, char *out, size_t size)
{
	z_stream zs = {0};
	cr_assert_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (unsigned char *)out;
	zs.avail_out = (uInt)size;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END, "a whole gzip stream");
	size_t n = zs.total_out;
	inflateEnd(&zs);
	return n;
}

Test(bridge, head_answers_like_get_without_a_body, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	struct http_resp r;
	cr_assert_eq(req(F.port, "HEAD", "/", NULL, &r), 0);
	cr_assert_eq(r.status, 200, "HEAD / answers 200, got %d", r.status);
	cr_assert_eq(r.body_len, 0, "no body");
	cr_assert_str_eq(hv(&r, "content-length"), "34", "the length GET would send");
	cr_assert(strstr(hv(&r, "content-type"), "text/html"));
	cr_assert_not_null(hv(&r, "etag"));
	cr_assert_not_null(hv(&r, "last-modified"));
	cr_assert_eq(req(F.port, "HEAD", "/healthz", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(hv(&r, "content-length"), "2");
	cr_assert_eq(req(F.port, "HEAD", "/api/session", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_eq(req(F.port, "HEAD", "/nope.js", NULL, &r), 0);
	cr_assert_eq(r.status, 404);
	/* The connection goes on after a HEAD: a GET behind it on the same
	 * socket is answered (a proxy's health check keeps connections). */
	char two[512];
	snprintf(two, sizeof(two),
		 "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
		 "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
		 F.port, F.port);
	int fd = -1;
	cr_assert_eq(tcp_connect("127.0.0.1", F.port, &fd), 0);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(write(fd, two, strlen(two)), (ssize_t)strlen(two));
	static char all[8192];
	size_t got = 0;
	for (ssize_t k;
	     got < sizeof(all) - 1 && (k = read(fd, all + got, sizeof(all) - 1 - got)) > 0;)
		got += (size_t)k;
	all[got] = '\0';
	close(fd);
	const char *second = strstr(all + 1, "HTTP/1.1 200");
	cr_assert(!strncmp(all, "HTTP/1.1 200", 12) && second, "two answers: %s", all);
	cr_assert(strstr(second, "\r\n\r\nok"), "the GET's body after the HEAD's headers: %s", all);
	cr_assert_null(strstr(all, "\r\n\r\nokHTTP"), "no body after HEAD: %s", all);
	stop(&F);
}

Test(bridge, static_files_validators_gzip_and_favicon, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	static char js[20000];
	for (size_t i = 0; i + 1 < sizeof(js); i++)
		js[i] = "export const dog = 'good';\n"[i % 27];
	js[sizeof(js) - 1] = '\0';
	web_file(&F, "app.js", js);
	web_file(&F, "favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n");
	struct http_resp r;
	static char plain[70000];

	/* gzip when the client takes it, the same bytes once inflated. */
	cr_assert_eq(req(F.port, "GET", "/app.js", "Accept-Encoding: gzip, deflate, br\r\n", &r),
		     0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hv(&r, "content-encoding"), "gzip");
	cr_assert_str_eq(hv(&r, "vary"), "Accept-Encoding");
	cr_assert_lt(r.body_len, strlen(js) / 4, "compressed: %zu bytes", r.body_len);
	cr_assert_eq(strtoul(hv(&r, "content-length"), NULL, 10), r.body_len);
	size_t n = gunzip(r.body, r.body_len, plain, sizeof(plain));
	cr_assert_eq(n, strlen(js));
	cr_assert_eq(memcmp(plain, js, n), 0);
	char etag_gz[128];
	snprintf(etag_gz, sizeof(etag_gz), "%s", hv(&r, "etag"));
	/* Not without Accept-Encoding, nor with gzip refused. */
	cr_assert_eq(req(F.port, "GET", "/app.js", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(hv(&r, "content-encoding"));
	cr_assert_str_eq(hv(&r, "vary"), "Accept-Encoding");
	cr_assert_eq(r.body_len, strlen(js));
	cr_assert_eq(memcmp(r.body, js, r.body_len), 0);
	char etag[128], lm[128];
	snprintf(etag, sizeof(etag), "%s", hv(&r, "etag"));
	snprintf(lm, sizeof(lm), "%s", hv(&r, "last-modified"));
	cr_assert_str_neq(etag, etag_gz, "each representation has its own ETag");
	cr_assert_eq(req(F.port, "GET", "/app.js", "Accept-Encoding: gzip;q=0, identity\r\n", &r),
		     0);
	cr_assert_null(hv(&r, "content-encoding"));

	/* Conditional requests: 304 without a body, with the validators. */
	char h[512];
	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
	cr_assert_eq(req(F.port, "GET", "/app.js", h, &r), 0);
	cr_assert_eq(r.status, 304, "If-None-Match matches: %d", r.status);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(hv(&r, "etag"), etag);
	snprintf(h, sizeof(h), "If-None-Match: \"x\", W/%s\r\nAccept-Encoding: gzip\r\n", etag_gz);
	cr_assert_eq(req(F.port, "GET", "/app.js", h, &r), 0);
	cr_assert_eq(r.status, 304, "a list, weak comparison");
	snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", lm);
	cr_assert_eq(req(F.port, "GET", "/app.js", h, &r), 0);
	cr_assert_eq(r.status, 304, "If-Modified-Since the Last-Modified");
	cr_assert_eq(req(F.port, "GET", "/app.js",
			 "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT\r\n", &r),
		     0);
	cr_assert_eq(r.status, 200, "modified since 1970");
	snprintf(h, sizeof(h), "If-None-Match: \"other\"\r\nIf-Modified-Since: %s\r\n", lm);
	cr_assert_eq(req(F.port, "GET", "/app.js", h, &r), 0);
	cr_assert_eq(r.status, 200, "If-None-Match decides when present");
	/* A changed file: new ETag, new body, the old ETag no longer matches. */
	web_file(&F, "app.js", "export const dog = 'better';\n");
	snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
	cr_assert_eq(req(F.port, "GET", "/app.js", h, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "export const dog = 'better';\n");
	cr_assert_str_neq(hv(&r, "etag"), etag);

	/* /favicon.ico: the SVG favicon, not a 404. */
	cr_assert_eq(req(F.port, "GET", "/favicon.ico", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(hv(&r, "content-type"), "image/svg+xml");
	cr_assert_str_eq(r.body, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n");
	stop(&F);
}

/* ---- the global login limit (issue 9, item 10) ----------------------------- */

/* POST /api/login from source (127.x.y.z) with password: the status. */
/* A login from source: as admin (a bare password) when guess is false; a
 * wrong guess as a user named after source, so that the per-user limit
 * (5 a minute at one name) stays out of a test of the global one. */
static int login_from(const char *source, int port, const char *password, struct http_resp *r)
{
	char req[1024], body[256];
	if (!strcmp(password, "guess"))
		snprintf(body, sizeof(body), "{\"user\":\"g-%s\",\"password\":\"%s\"}", source,
			 password);
	else
		snprintf(body, sizeof(body), "{\"password\":\"%s\"}", password);
	snprintf(req, sizeof(req),
		 "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 port, strlen(body), body);
	if (http_raw_from(source, port, req, r) < 0)
		return -1;
	return r->status;
}

static long metric(int port, const char *line)
{
	struct http_resp r;
	cr_assert_eq(http_get(port, "/metrics", NULL, &r), 0);
	char want[256];
	snprintf(want, sizeof(want), "\n%s", line); /* the sample, not its # HELP */
	const char *p = strstr(r.body, want);
	cr_assert_not_null(p, "%s in %s", line, r.body);
	return strtol(p + strlen(want), NULL, 10);
}

/* The bridge's one size rule for camera frames (state.h STATE_FRAME_MAX,
 * 4 MiB): a frame of exactly 4 MiB reaches the browser whole; one byte more
 * is not read into the bridge at all: mqttc drops it on Paho's thread, so
 * it shows as dropped before the loop, not as refused after being copied,
 * and the dashboards keep the last frame they could be sent. */
Test(bridge, camera_frame_limit_is_one_rule, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	struct wsc_conn *c = open_ready(w, &F, NULL);
	const size_t limit = 4u * 1024 * 1024;
	char *frame = malloc(limit + 1);
	cr_assert_not_null(frame);
	memset(frame, 'F', limit + 1);
	frame[0] = (char)0xff;
	frame[1] = (char)0xd8;
	uint64_t before = c->n_binary;
	tclient_publish(F.tc, "iod/home/camera/frame", frame, limit, 0, false);
	int64_t end = wsc_now_ns() + 20000000000LL;
	while (c->n_binary < before + 1 && !c->closed && wsc_now_ns() < end)
		wsc_run_for(w, 10);
	cr_assert_eq(c->n_binary, before + 1, "the 4 MiB frame arrived");
	struct wsc_frame *last = &c->frames[c->n_frames - 1];
	cr_assert(last->binary);
	cr_assert_eq(last->len, limit);
	cr_assert_eq(memcmp(last->data, frame, limit), 0, "whole");
	frame[2] = 'X';
	tclient_publish(F.tc, "iod/home/camera/frame", frame, limit + 1, 0, false);
	/* Ordered after it on the same connection: once this arrives the big
	 * frame has been dealt with. */
	tclient_publish_str(F.tc, "iod/home/test/sync", "after", 1, false);
	expect_frame(w, c, "\"payload\":\"after\"");
	cr_assert_eq(c->n_binary, before + 1, "nothing over 4 MiB is forwarded");
	cr_assert_eq(metric(F.port, "iod_bridge_mqtt_queue_dropped_total "), 1,
		     "dropped by mqttc, before it was copied for the loop");
	cr_assert_eq(metric(F.port, "iod_bridge_mqtt_refused_total "), 0,
		     "never read whole only to be refused");
	free(frame);
	wsc_free(w);
	stop(&F);
}

/* Home Assistant: the one "Dashboard" entity (its state is the bridge's
 * availability, so it has none of its own), retained at connect and again
 * at Home Assistant's birth message, which is the skeleton's to handle:
 * it reaches no dashboard and is not counted as refused. */
Test(bridge, discovery_at_connect_and_at_ha_birth, .timeout = 60, .fini = teardown)
{
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	struct wsc_conn *c = open_ready(w, &F, NULL);
	const char *config = "homeassistant/binary_sensor/iod_home_bridge/bridge/config";
	struct tclient *ha = tclient_new(F.broker.url, "itest-bridge-ha");
	cr_assert_not_null(ha);
	cr_assert_eq(tclient_subscribe(ha, config, 1), 0);
	struct tmsg *m = tclient_expect(ha, config, 5000);
	cr_assert_not_null(m, "retained since the bridge connected");
	cr_assert(m->retained);
	cJSON *e = cJSON_Parse(m->payload);
	cr_assert_not_null(e, "%s", m->payload);
	cr_assert_str_eq(cJSON_GetObjectItem(e, "state_topic")->valuestring,
			 "iod/home/bridge/availability");
	cr_assert_str_eq(cJSON_GetObjectItem(e, "payload_on")->valuestring, "online");
	cr_assert_str_eq(cJSON_GetObjectItem(e, "payload_off")->valuestring, "offline");
	cr_assert_str_eq(cJSON_GetObjectItem(e, "device_class")->valuestring, "connectivity");
	cr_assert_null(cJSON_GetObjectItem(e, "availability_topic"), "%s", m->payload);
	cr_assert_null(cJSON_GetObjectItem(e, "availability"), "%s", m->payload);
	cJSON_Delete(e);
	char *first = strdup(m->payload);
	tmsg_free(m);
	tclient_publish_str(ha, "homeassistant/status", "online", 1, false);
	m = tclient_expect(ha, config, 5000);
	cr_assert_not_null(m, "announced again at Home Assistant's birth");
	cr_assert_not(m->retained, "a live publish");
	cr_assert_str_eq(m->payload, first);
	tmsg_free(m);
	free(first);
	tclient_publish_str(F.tc, "iod/home/test/sync", "after-birth", 1, false);
	expect_frame(w, c, "\"payload\":\"after-birth\"");
	cr_assert_eq(wsc_find(c, 0, "homeassistant"), -1, "not a dashboard's business");
	cr_assert_eq(metric(F.port, "iod_bridge_mqtt_refused_total "), 0);
	tclient_free(ha);
	wsc_free(w);
	stop(&F);
}

Test(bridge, global_login_limit_over_many_addresses, .timeout = 180, .fini = teardown)
{
	/* start() logs the operator in from 127.0.0.1: a known address. */
	start(&F, PASSWORD, false);
	struct http_resp r;
	char src[32];
	long checked = 0, limited = 0;
	struct timeval t0, t1;
	gettimeofday(&t0, NULL);
	/* 60 addresses of 127.0.0.0/8, 5 wrong guesses each: each stays within
	 * its own limit of 5 a minute, 300 guesses in all. */
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < 60; i++) {
			snprintf(src, sizeof(src), "127.0.%d.%d", 1 + i / 200, 2 + i % 200);
			int st = login_from(src, F.port, "guess", &r);
			if (st == 401) {
				checked++;
			} else {
				cr_assert_eq(st, 429, "from %s: %d", src, st);
				cr_assert_str_eq(r.body, "{\"error\":\"rate_limited\"}");
				char v[32];
				cr_assert_eq(http_header(&r, "retry-after", v, sizeof(v)), 0);
				long ra = strtol(v, NULL, 10);
				cr_assert(ra >= 1 && ra <= 60, "Retry-After %ld", ra);
				limited++;
			}
		}
	gettimeofday(&t1, NULL);
	long elapsed_s = (long)(t1.tv_sec - t0.tv_sec) + 1;
	/* The bucket: 30 at once, then one every 2 s however long this took. */
	cr_assert_geq(checked, 30);
	cr_assert_leq(checked, 30 + elapsed_s / 2 + 1, "%ld guesses checked in %ld s", checked,
		      elapsed_s);
	cr_assert_eq(checked + limited, 300);
	cr_assert_gt(limited, 200);

	/* A fresh address with the right password, while the flood keeps the
	 * bucket empty: refused unchecked (checking it would make every fresh
	 * address one more guess). Drain first: a token may have come back. */
	bool fresh_refused = false;
	for (int k = 0; k < 5 && !fresh_refused; k++) {
		int st;
		int n = 0;
		do {
			snprintf(src, sizeof(src), "127.0.3.%d", 2 + (k * 40 + n) % 250);
			st = login_from(src, F.port, "guess", &r);
			checked += st == 401;
			limited += st == 429;
		} while (st == 401 && ++n < 40);
		snprintf(src, sizeof(src), "127.0.4.%d", 2 + k);
		st = login_from(src, F.port, PASSWORD, &r);
		cr_assert(st == 429 || st == 200, "%d", st);
		if (st == 429)
			limited++;
		fresh_refused = st == 429;
	}
	cr_assert(fresh_refused, "a fresh address is held by the global limit");
	/* The operator's own address (it logged in before) is not: the right
	 * password works at once, and the session it had still works. */
	do {
		int st = login_from("127.0.5.2", F.port, "guess", &r);
		checked += st == 401;
		limited += st == 429;
		if (st == 429)
			break;
	} while (true);
	char cookie[160];
	cr_assert_eq(http_login(F.port, PASSWORD, cookie, sizeof(cookie)), 200,
		     "the known address logs in through the flood");
	char hdr[256];
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", F.cookie);
	cr_assert_eq(http_get(F.port, "/api/session", hdr, &r), 0);
	cr_assert(strstr(r.body, "\"operator\":true"), "%s", r.body);
	/* Counted apart from the per-address refusals. */
	cr_assert_eq(metric(F.port, "iod_bridge_logins_total{result=\"rate_limited_global\"} "),
		     limited);
	cr_assert_eq(metric(F.port, "iod_bridge_logins_total{result=\"rate_limited\"} "), 0);
	cr_assert_eq(metric(F.port, "iod_bridge_logins_total{result=\"bad_password\"} "), checked);
	stop(&F);
}

/* ---- Host names against DNS rebinding (issue 9, item 11) ------------------- */

/* A request with this Host (NULL: none, HTTP/1.0) and Origin http://<host>. */
static int host_status(int port, const char *method_path, const char *host, const char *extra,
		       struct http_resp *r)
{
	char req[2048], hosthdr[300] = "", origin[300] = "";
	if (host) {
		snprintf(hosthdr, sizeof(hosthdr), "Host: %s\r\n", host);
		snprintf(origin, sizeof(origin), "Origin: http://%s\r\n", host);
	}
	snprintf(req, sizeof(req), "%s HTTP/1.%d\r\n%s%s%sConnection: close\r\n\r\n", method_path,
		 host ? 1 : 0, hosthdr, origin, extra ? extra : "");
	cr_assert_eq(http_raw(port, req, r), 0);
	return r->status;
}

#define WS_UPGRADE                                                                                 \
	"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "                         \
	"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

static void ws_host_status(int port, const char *host, const char *cookie, int want)
{
	char req[2048];
	snprintf(req, sizeof(req),
		 "GET /ws HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\n%s%s%s%s\r\n", host, host,
		 WS_UPGRADE, cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "");
	struct http_resp r;
	cr_assert_eq(http_raw(port, req, &r), 0);
	cr_assert_eq(r.status, want, "GET /ws with Host %s: %d, want %d", host, r.status, want);
	if (want == 421)
		cr_assert(strstr(r.body, "IOD_BRIDGE_HOSTS"), "a body that says why: %s", r.body);
}

static void rebinding_refused(bool public_view)
{
	start(&F, PASSWORD, public_view);
	struct http_resp r;
	char host[64], host2[64];
	/* A page on rebind.example, whose name now resolves to this machine. */
	cr_assert_eq(host_status(F.port, "GET /", "rebind.example", NULL, &r), 421);
	cr_assert(strstr(r.body, "IOD_BRIDGE_HOSTS"), "%s", r.body);
	snprintf(host, sizeof(host), "rebind.example:%d", F.port);
	cr_assert_eq(host_status(F.port, "GET /", host, NULL, &r), 421);
	cr_assert_eq(host_status(F.port, "GET /api/session", host, NULL, &r), 421);
	cr_assert_eq(host_status(F.port, "HEAD /", host, NULL, &r), 421);
	cr_assert_eq(host_status(F.port, "GET /metrics", host, NULL, &r), 421);
	ws_host_status(F.port, host, NULL, 421);
	ws_host_status(F.port, host, F.cookie, 421);
	/* A login from the rebound page is refused before the password. */
	char body[128], req[1024];
	snprintf(body, sizeof(body), "{\"password\":\"%s\"}", PASSWORD);
	snprintf(req, sizeof(req),
		 "POST /api/login HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 host, host, strlen(body), body);
	cr_assert_eq(http_raw(F.port, req, &r), 0);
	cr_assert_eq(r.status, 421);
	cr_assert_neq(http_header(&r, "set-cookie", body, sizeof(body)), 0);

	/* Our own names, with the port: answered. */
	snprintf(host, sizeof(host), "localhost:%d", F.port);
	snprintf(host2, sizeof(host2), "127.0.0.1:%d", F.port);
	cr_assert_eq(host_status(F.port, "GET /", host, NULL, &r), 200);
	cr_assert(strstr(r.body, "<title>iod</title>"));
	cr_assert_eq(host_status(F.port, "GET /", host2, NULL, &r), 200);
	ws_host_status(F.port, host, F.cookie, 101);
	ws_host_status(F.port, host2, F.cookie, 101);
	ws_host_status(F.port, host2, NULL, public_view ? 101 : 401);
	char machine[200], mhost[300];
	cr_assert_eq(gethostname(machine, sizeof(machine)), 0);
	snprintf(mhost, sizeof(mhost), "%s:%d", machine, F.port);
	cr_assert_eq(host_status(F.port, "GET /", mhost, NULL, &r), 200, "the machine's name");
	snprintf(mhost, sizeof(mhost), "%.*s.local:%d", (int)strcspn(machine, "."), machine,
		 F.port);
	cr_assert_eq(host_status(F.port, "GET /", mhost, NULL, &r), 200, "<name>.local");
	/* /healthz answers any name; a request with no Host (HTTP/1.0, not a
	 * browser: compose's healthcheck) is answered. */
	cr_assert_eq(host_status(F.port, "GET /healthz", "rebind.example", NULL, &r), 200);
	cr_assert_eq(host_status(F.port, "GET /", NULL, NULL, &r), 200);
	long refused = metric(F.port, "iod_bridge_host_refused_total ");
	cr_assert_eq(refused, 8, "%ld", refused);
	stop(&F);
}

Test(bridge, dns_rebinding_refused_public_view_on, .timeout = 60, .fini = teardown)
{
	rebinding_refused(true);
}

Test(bridge, dns_rebinding_refused_public_view_off, .timeout = 60, .fini = teardown)
{
	rebinding_refused(false);
}

/* GET path with this Host from 127.0.0.1: the status. */
static int host_get(int port, const char *path, const char *host)
{
	struct http_resp r;
	char mp[128];
	snprintf(mp, sizeof(mp), "GET %s", path);
	return host_status(port, mp, host, NULL, &r);
}

Test(bridge, bridge_hosts_setting, .timeout = 60, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	int port = harness_free_port();
	char h[256], machine[200];
	cr_assert_eq(gethostname(machine, sizeof(machine)), 0);
	F.bridge = spawn_bound("127.0.0.1", port, "IOD_BRIDGE_HOSTS=dog.example, cam.example");
	cr_assert(wait_answer("127.0.0.1", port));
	snprintf(h, sizeof(h), "dog.example:%d", port);
	cr_assert_eq(host_get(port, "/api/session", h), 200);
	snprintf(h, sizeof(h), "CAM.example.:%d", port);
	cr_assert_eq(host_get(port, "/api/session", h), 200);
	snprintf(h, sizeof(h), "rebind.example:%d", port);
	cr_assert_eq(host_get(port, "/api/session", h), 421);
	snprintf(h, sizeof(h), "%s:%d", machine, port);
	if (strcasecmp(machine, "localhost"))
		cr_assert_eq(host_get(port, "/api/session", h), 421, "the list replaces the name");
	snprintf(h, sizeof(h), "localhost:%d", port);
	cr_assert_eq(host_get(port, "/api/session", h), 200, "localhost stays");
	snprintf(h, sizeof(h), "127.0.0.1:%d", port);
	cr_assert_eq(host_get(port, "/api/session", h), 200, "IP literals stay");
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = spawn_bound("127.0.0.1", port, "IOD_BRIDGE_HOSTS=*");
	cr_assert(wait_answer("127.0.0.1", port));
	snprintf(h, sizeof(h), "rebind.example:%d", port);
	cr_assert_eq(host_get(port, "/api/session", h), 200, "* turns the check off");
	cr_assert_eq(harness_stop(F.bridge, SIGTERM, 10000), 0);
	F.bridge = spawn_bound("127.0.0.1", port, "IOD_BRIDGE_HOSTS=evil/x");
	int rc = wait_exit(F.bridge);
	F.bridge = 0;
	cr_assert_eq(rc, 2, "a malformed list is a bad setting, got %d", rc);
	harness_rmtree("/tmp/itest-bridge-bind-data");
}

/*
 * Partial writes on the real lws. A client that reads in sips after a stall
 * makes lws 4.1.6 take frames part by part: a short send leaves the rest on
 * lws' buffer, the batch stops there (services/bridge/protocol.c,
 * ws_writeable) and goes on at the next WRITEABLE. Every feeder event, of
 * sizes from 0.5 to 13.5 KB, must arrive once, whole and in order, and every
 * camera frame that arrives (they coalesce to the newest) must be whole,
 * newer than the one before, and end with the last one published.
 */
#define SIP_EVENTS 600
#define SIP_FRAMES 40

static size_t sip_pad_len(int n)
{
	return 500 + (size_t)(n * 2749) % 13000;
}

static size_t sip_frame_len(int k)
{
	return 50000 + (size_t)(k * 37813) % 250000;
}

/* Frame k: its number in the first 4 bytes, then bytes no shift or splice
 * can leave in place. */
static void sip_frame_fill(unsigned char *buf, int k)
{
	size_t len = sip_frame_len(k);
	memcpy(buf, &k, sizeof(k));
	for (size_t i = sizeof(k); i < len; i++)
		buf[i] = (unsigned char)((i * 7 + (size_t)k) % 251);
}

struct sip {
	int next_event; /* the id number of the next feeder event expected */
	int last_frame; /* the newest camera frame seen, -1 none */
	char bad[160];	/* the first thing that was wrong, "" none */
};

static void sip_frame(struct wsc_conn *c, const struct wsc_frame *fr)
{
	struct sip *s = c->user;
	if (s->bad[0])
		return;
	if (fr->binary) {
		int k = -1;
		if (fr->len >= sizeof(k))
			memcpy(&k, fr->data, sizeof(k));
		if (k <= s->last_frame || k >= SIP_FRAMES || fr->len != sip_frame_len(k)) {
			snprintf(s->bad, sizeof(s->bad), "camera frame %d of %zu bytes after %d", k,
				 fr->len, s->last_frame);
			return;
		}
		for (size_t i = sizeof(k); i < fr->len; i++)
			if ((unsigned char)fr->data[i] !=
			    (unsigned char)((i * 7 + (size_t)k) % 251)) {
				snprintf(s->bad, sizeof(s->bad), "camera frame %d: byte %zu wrong",
					 k, i);
				return;
			}
		s->last_frame = k;
		return;
	}
	if (!strstr(fr->data, "\"topic\":\"iod/home/feeder/event\""))
		return;
	cJSON *j = cJSON_ParseWithLength(fr->data, fr->len);
	cJSON *payload = cJSON_GetObjectItem(j, "payload");
	cJSON *id = cJSON_GetObjectItem(payload, "id");
	cJSON *pad = cJSON_GetObjectItem(payload, "pad");
	int n = -1;
	if (!cJSON_IsString(id) || sscanf(id->valuestring, "p%d", &n) != 1 || n != s->next_event ||
	    !cJSON_IsString(pad) || strlen(pad->valuestring) != sip_pad_len(n) ||
	    strspn(pad->valuestring, (char[]){(char)('a' + n % 26), 0}) != sip_pad_len(n))
		snprintf(s->bad, sizeof(s->bad), "event %d (%zu bytes) where p%d was due", n,
			 fr->len, s->next_event);
	else
		s->next_event++;
	cJSON_Delete(j);
}

Test(bridge, slow_reader_gets_every_frame_whole_and_in_order, .timeout = 120, .fini = teardown)
{
	start(&F, NULL, true);
	struct wsc *w = wsc_new();
	struct wsc_conn *c = open_ready(w, &F, NULL);
	struct sip s = {.next_event = 0, .last_frame = -1};
	c->keep = false;
	c->user = &s;
	c->on_frame = sip_frame;
	wsc_read(c, false);
	static unsigned char frame[300 * 1024];
	static char event[14 * 1024];
	for (int n = 0, k = 0; n < SIP_EVENTS; n++) {
		size_t len = sip_pad_len(n);
		int at = snprintf(event, sizeof(event),
				  "{\"id\":\"p%d\",\"action\":\"home\",\"result\":\"ok\",\"ts\":1,"
				  "\"pad\":\"",
				  n);
		memset(event + at, 'a' + n % 26, len);
		snprintf(event + at + len, sizeof(event) - (size_t)at - len, "\"}");
		/* QoS 0 (a QoS 1 publish waits for its ack), the last at 1. */
		tclient_publish_str(F.tc, "iod/home/feeder/event", event, n == SIP_EVENTS - 1,
				    false);
		if (n % (SIP_EVENTS / SIP_FRAMES) == 0 && k < SIP_FRAMES) {
			sip_frame_fill(frame, k);
			tclient_publish(F.tc, "iod/home/camera/frame", frame, sip_frame_len(k),
					k == SIP_FRAMES - 1 ? 1 : 0, false);
			k++;
		}
		if (n % 50 == 0)
			wsc_run_for(w, 1);
	}
	/* Stalled while all of it was sent: lws holds a part of a frame and the
	 * rest waits in the queue. Now read a little at a time. */
	wsc_run_for(w, 500);
	int64_t end = wsc_now_ns() + 60 * 1000000000LL;
	while (!c->closed && !s.bad[0] &&
	       (s.next_event < SIP_EVENTS || s.last_frame < SIP_FRAMES - 1) && wsc_now_ns() < end) {
		wsc_read(c, true);
		wsc_run_for(w, 1);
		wsc_read(c, false);
		wsc_run_for(w, 2);
	}
	wsc_read(c, true); /* so the close at wsc_free() is read */
	cr_assert_str_eq(s.bad, "");
	cr_assert_not(c->closed, "closed (code %d) after %d events, camera frame %d", c->close_code,
		      s.next_event, s.last_frame);
	cr_assert_eq(s.next_event, SIP_EVENTS, "events arrived: %d", s.next_event);
	cr_assert_eq(s.last_frame, SIP_FRAMES - 1);
	cr_assert_eq(metric(F.port, "iod_bridge_clients_dropped_slow_total "), 0);
	cr_assert_eq(metric(F.port, "iod_bridge_frames_dropped_total "), 0);
	wsc_free(w);
	stop(&F);
}

/* ---- accounts (issue 14): three users of three roles ---------------------- */

/* iod-user NAME's add (role) or remove on the bridge's data dir, the
 * password on its stdin. */
/* iod-user verb name [--role role --sites sites (NULL: not given)]. */
static void iod_user_sites(const char *verb, const char *name, const char *role, const char *sites,
			   const char *pw)
{
	const char *bindir = getenv("IOD_BIN_DIR");
	cr_assert_not_null(bindir, "IOD_BIN_DIR is not set (ctest sets it)");
	char cmd[2048], with[128] = "";
	if (sites)
		snprintf(with, sizeof(with), " --sites %s", sites);
	if (role)
		snprintf(cmd, sizeof(cmd),
			 "'%s/iod-user' %s %s --role %s%s --password-stdin --data-dir '%s/data' "
			 ">/dev/null",
			 bindir, verb, name, role, with, F.dir);
	else
		snprintf(cmd, sizeof(cmd), "'%s/iod-user' %s %s --data-dir '%s/data' >/dev/null",
			 bindir, verb, name, F.dir);
	FILE *p = popen(cmd, "w");
	cr_assert_not_null(p);
	if (pw)
		fprintf(p, "%s\n", pw);
	cr_assert_eq(pclose(p), 0, "%s", cmd);
}

static void iod_user(const char *verb, const char *name, const char *role, const char *pw)
{
	iod_user_sites(verb, name, role, NULL, pw);
}

static int login_as(const char *user, const char *pw, char *cookie, size_t size)
{
	struct http_resp r;
	char body[256], sc[256];
	snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, pw);
	if (http_post(F.port, "/api/login", NULL, body, &r) < 0)
		return -1;
	if (r.status == 200 && http_header(&r, "set-cookie", sc, sizeof(sc)) == 0)
		snprintf(cookie, size, "%.*s", (int)strcspn(sc, ";"), sc);
	return r.status;
}

/* /api/session with cookie: its body. */
static void session_of(const char *cookie, struct http_resp *r)
{
	char hdr[256];
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", cookie);
	cr_assert_eq(http_get(F.port, "/api/session", hdr, r), 0);
	cr_assert_eq(r->status, 200);
}

static cJSON *expect_cmd(struct tclient *cmds, const char *id)
{
	struct tmsg *m = tclient_expect(cmds, "iod/home/feeder/cmd", 5000);
	cr_assert_not_null(m, "%s published", id);
	cJSON *j = cJSON_Parse(m->payload);
	tmsg_free(m);
	cr_assert_not_null(j);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, id);
	return j;
}

Test(bridge, three_users_of_three_roles, .timeout = 120, .fini = teardown)
{
	/* start() logs in with a bare {"password"}: the first-run admin. */
	start(&F, PASSWORD, false);
	struct http_resp r;
	session_of(F.cookie, &r);
	cr_assert(strstr(r.body, "\"user\":\"admin\",\"role\":\"admin\",\"operator\":true"), "%s",
		  r.body);
	iod_user("add", "vic", "viewer", "vic's pw");
	iod_user("add", "sam", "carer", "sam's pw");
	iod_user("add", "ada", "admin", "ada's pw");
	/* Picked up without a restart (the data dir is watched). */
	char vic[160] = "", sam[160] = "", ada[160] = "";
	int64_t end = wsc_now_ns() + 10000000000LL;
	while (login_as("ada", "ada's pw", ada, sizeof(ada)) != 200 && wsc_now_ns() < end)
		usleep(100 * 1000);
	cr_assert(ada[0], "ada can log in once iod-user has added her");
	cr_assert_eq(login_as("vic", "vic's pw", vic, sizeof(vic)), 200);
	cr_assert_eq(login_as("sam", "sam's pw", sam, sizeof(sam)), 200);
	char none[160] = "";
	cr_assert_eq(login_as("sam", "vic's pw", none, sizeof(none)), 401);
	cr_assert_eq(login_as("nobody", "sam's pw", none, sizeof(none)), 401);
	session_of(vic, &r);
	cr_assert(strstr(r.body, "\"user\":\"vic\",\"role\":\"viewer\",\"operator\":false"), "%s",
		  r.body);

	struct tclient *cmds = tclient_new(F.broker.url, "itest-bridge-accounts");
	cr_assert_eq(tclient_subscribe(cmds, "iod/home/feeder/cmd", 1), 0);
	struct wsc *w = wsc_new();
	struct wsc_conn *cv = open_ready(w, &F, vic), *cs = open_ready(w, &F, sam),
			*ca = open_ready(w, &F, ada);
	cr_assert(strstr(cv->frames[0].data, "\"operator\":false"), "%s", cv->frames[0].data);
	cr_assert(strstr(cs->frames[0].data, "\"operator\":true"), "%s", cs->frames[0].data);
	/* The viewer's feed: refused, nothing published. */
	wsc_send_text(cv, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"v-1\"}");
	expect_frame(w, cv, "{\"type\":\"error\",\"id\":\"v-1\",\"reason\":\"not_authorized\"}");
	struct tmsg *nothing = tclient_expect(cmds, "iod/home/feeder/cmd", 500);
	cr_assert_null(nothing, "a viewer's feed was published: %s",
		       nothing ? nothing->payload : "");
	/* The carer's feed: published by sam. */
	wsc_send_text(cs, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"s-1\"}");
	expect_frame(w, cs, "{\"type\":\"ack\",\"id\":\"s-1\"}");
	cJSON *j = expect_cmd(cmds, "s-1");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "by")->valuestring, "sam");
	cJSON_Delete(j);
	/* The carer's plan: refused; the admin's: published by ada. */
	static const char plan[] = "{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"%s\",\"plan\":{"
				   "\"rev\":1,\"max_daily\":2,\"slots\":[{\"at\":\"07:00\","
				   "\"days\":[\"mon\"]}]}}";
	char msg[256];
	snprintf(msg, sizeof(msg), plan, "s-2");
	wsc_send_text(cs, msg);
	expect_frame(w, cs, "{\"type\":\"error\",\"id\":\"s-2\",\"reason\":\"not_authorized\"}");
	snprintf(msg, sizeof(msg), plan, "a-1");
	wsc_send_text(ca, msg);
	expect_frame(w, ca, "{\"type\":\"ack\",\"id\":\"a-1\"}");
	j = expect_cmd(cmds, "a-1");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "by")->valuestring, "ada");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "action")->valuestring, "plan");
	cJSON_Delete(j);
	/* An admin in the file now: IOD_BRIDGE_PASSWORD no longer logs in. */
	iod_user("add", "admin", "admin", "the file's admin pw");
	end = wsc_now_ns() + 10000000000LL;
	while (http_login(F.port, PASSWORD, none, sizeof(none)) != 401 && wsc_now_ns() < end)
		usleep(100 * 1000);
	cr_assert_eq(login_as("admin", "the file's admin pw", none, sizeof(none)), 200);
	/* sam removed: the open websocket's next feed is refused. */
	iod_user("remove", "sam", NULL, NULL);
	end = wsc_now_ns() + 10000000000LL;
	do {
		usleep(100 * 1000);
		session_of(sam, &r);
	} while (strstr(r.body, "\"user\":\"sam\"") && wsc_now_ns() < end);
	cr_assert_null(strstr(r.body, "\"user\""), "%s", r.body);
	wsc_send_text(cs, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"s-3\"}");
	expect_frame(w, cs, "{\"type\":\"error\",\"id\":\"s-3\",\"reason\":\"not_authorized\"}");
	nothing = tclient_expect(cmds, "iod/home/feeder/cmd", 500);
	cr_assert_null(nothing, "a removed user's feed was published: %s",
		       nothing ? nothing->payload : "");
	wsc_free(w);
	tclient_free(cmds);
	stop(&F);
}

/* The sites as a user sees them: a and b on one bridge, ann may see a
 * only. Over 1,000 readings on each, ann's page of a and her overview get
 * a's and never one of b's; the admin's overview gets both. ann's page of b
 * is refused before the 101; her overview's feed for a goes to a's feeder
 * by her, for b is refused; the camera thumbnail of a is hers, of b not. */
static bool conn_binary(void *arg)
{
	struct wsc_conn *c = arg;
	return c->n_binary > 0 || c->closed;
}

static bool got_text(void *arg)
{
	struct want *w = arg;
	return w->c->n_text >= w->from || w->c->closed;
}

Test(bridge, a_user_of_one_home_never_sees_another, .timeout = 180, .fini = teardown)
{
	start_with(&F, PASSWORD, false, "IOD_BRIDGE_SITES=a,b");
	tclient_publish_str(F.tc, "iod/a/feeder/info",
			    "{\"version\":\"0.1.0\",\"since\":1,\"backend\":\"sim\","
			    "\"tz\":\"Pacific/Auckland\",\"site_name\":\"Home A\","
			    "\"dog_name\":\"Rex\"}",
			    1, true);
	tclient_publish_str(F.tc, "iod/b/feeder/availability", "online", 1, true);
	iod_user_sites("add", "ann", "carer", "a", "ann's pw");
	char ann[160] = "";
	int64_t end = wsc_now_ns() + 10000000000LL;
	while (login_as("ann", "ann's pw", ann, sizeof(ann)) != 200 && wsc_now_ns() < end)
		usleep(100 * 1000);
	cr_assert(ann[0], "ann can log in");
	struct http_resp r;
	session_of(ann, &r);
	cr_assert(strstr(r.body, "\"site\":\"a\",\"sites\":[{\"site\":\"a\",\"name\":\"Home A\","
				 "\"dog\":\"Rex\",\"tz\":\"Pacific/Auckland\"}]"),
		  "%s", r.body);
	session_of(F.cookie, &r);
	cr_assert(strstr(r.body, "\"sites\":[{\"site\":\"a\",\"name\":\"Home A\",\"dog\":\"Rex\","
				 "\"tz\":\"Pacific/Auckland\"},{\"site\":\"b\"}]"),
		  "the admin sees both: %s", r.body);

	struct wsc *w = wsc_new();
	struct wsc_conn *refused =
	    wsc_connect_path(w, F.port, "/ws?site=b", ann, NULL, "iod.v1", true);
	cr_assert(wsc_run_until(w, conn_established, refused, 10000));
	cr_assert_not(refused->established, "ann's page of b is refused");
	struct wsc_conn *pa = wsc_connect_path(w, F.port, "/ws?site=a", ann, NULL, "iod.v1", true);
	struct wsc_conn *oa = wsc_connect_path(w, F.port, "/ws?site=*", ann, NULL, "iod.v1", true);
	struct wsc_conn *oadm =
	    wsc_connect_path(w, F.port, "/ws?site=*", F.cookie, NULL, "iod.v1", true);
	cr_assert(wsc_run_until(w, conn_ready, pa, 10000) && pa->established);
	cr_assert(wsc_run_until(w, conn_ready, oa, 10000) && oa->established);
	cr_assert(wsc_run_until(w, conn_ready, oadm, 10000) && oadm->established);
	cr_assert(strstr(oa->frames[0].data, "\"site\":\"*\",\"sites\":[{\"site\":\"a\""), "%s",
		  oa->frames[0].data);
	cr_assert(wsc_find(oadm, 0, "\"topic\":\"iod/b/feeder/availability\"") >= 0,
		  "the admin's overview snapshot has b");
	uint64_t pa0 = pa->n_text, oa0 = oa->n_text, adm0 = oadm->n_text;
	size_t pa_from = pa->n_frames, oa_from = oa->n_frames;
	for (int i = 0; i < 1000; i++) {
		char p[96];
		snprintf(p, sizeof(p), "{\"value\":%d,\"unit\":\"C\",\"ts\":%d}", i, i);
		tclient_publish_str(F.tc, "iod/a/sensors/temperature", p, 0, false);
		tclient_publish_str(F.tc, "iod/b/sensors/temperature", p, 0, false);
	}
	struct want all = {oadm, NULL, (size_t)(adm0 + 2000)};
	cr_assert(wsc_run_until(w, got_text, &all, 60000), "the admin's overview got %llu of 2000",
		  (unsigned long long)(oadm->n_text - adm0));
	wsc_run_for(w, 300); /* anything late for ann would be here by now */
	cr_assert_eq(pa->n_text - pa0, 1000, "ann's page of a: %llu",
		     (unsigned long long)(pa->n_text - pa0));
	cr_assert_eq(oa->n_text - oa0, 1000, "ann's overview: %llu",
		     (unsigned long long)(oa->n_text - oa0));
	cr_assert_eq(wsc_find(pa, pa_from, "iod/b/"), -1);
	cr_assert_eq(wsc_find(oa, oa_from, "iod/b/"), -1);

	/* Commands from the overview name their home. */
	struct tclient *cmds = tclient_new(F.broker.url, "itest-bridge-sites");
	cr_assert_eq(tclient_subscribe(cmds, "iod/+/feeder/cmd", 1), 0);
	wsc_send_text(oa, "{\"type\":\"cmd\",\"site\":\"a\",\"action\":\"feed\",\"id\":\"o-1\"}");
	expect_frame(w, oa, "{\"type\":\"ack\",\"id\":\"o-1\"}");
	struct tmsg *m = tclient_expect(cmds, "iod/a/feeder/cmd", 5000);
	cr_assert_not_null(m, "a's feeder got the command");
	cr_assert(strstr(m->payload, "\"by\":\"ann\""), "%s", m->payload);
	cr_assert_null(strstr(m->payload, "\"site\""), "%s", m->payload);
	tmsg_free(m);
	wsc_send_text(oa, "{\"type\":\"cmd\",\"site\":\"b\",\"action\":\"feed\",\"id\":\"o-2\"}");
	expect_frame(w, oa, "{\"type\":\"error\",\"id\":\"o-2\",\"reason\":\"not_authorized\"}");
	struct tmsg *nothing = tclient_expect(cmds, "iod/b/feeder/cmd", 500);
	cr_assert_null(nothing, "b's feeder got %s", nothing ? nothing->payload : "");

	/* The camera thumbnails. */
	static const unsigned char jpeg[] = {0xff, 0xd8, 'i', 'o', 'd', 0, 1, 2, 0xff, 0xd9};
	tclient_publish(F.tc, "iod/a/camera/frame", jpeg, sizeof(jpeg), 0, false);
	tclient_publish(F.tc, "iod/b/camera/frame", jpeg, sizeof(jpeg), 0, false);
	cr_assert(wsc_run_until(w, conn_binary, pa, 10000), "a's page gets the frame");
	cr_assert_eq(oa->n_binary, 0, "no camera frame on the overview");
	char hdr[256];
	snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", ann);
	cr_assert_eq(http_get(F.port, "/api/camera/latest?site=a", hdr, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, sizeof(jpeg));
	cr_assert_eq(memcmp(r.body, jpeg, sizeof(jpeg)), 0);
	cr_assert_eq(http_get(F.port, "/api/camera/latest?site=b", hdr, &r), 0);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_eq(http_get(F.port, "/api/camera/latest?site=zz", hdr, &r), 0);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_eq(http_get(F.port, "/api/camera/latest?site=a", NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	tclient_free(cmds);
	wsc_free(w);
	stop(&F);
}
