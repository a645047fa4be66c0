/* Last-value cache, history downsampling, alerts, camera frame, and the
 * {"topic","payload","ts"} serialisation. */
#include "bmsg.h"
#include "hist.h"
#include "jbuf.h"
#include "proto.h"
#include "state.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795600000000LL /* an arbitrary wall-clock time, ms */

struct collected {
	int n;
	char *text[256];
	bool binary[256];
	size_t len[256];
};

static int collect(void *arg, struct bmsg *m)
{
	struct collected *c = arg;
	cr_assert_lt(c->n, 256);
	c->text[c->n] = strndup((char *)bmsg_data(m), m->len);
	c->binary[c->n] = m->binary;
	c->len[c->n] = m->len;
	c->n++;
	return 0;
}

static void collected_free(struct collected *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->text[i]);
	c->n = 0;
}

static struct state *mk(size_t max_topics)
{
	struct state_config cfg = {.site = "home", .headroom = 16, .max_topics = max_topics};
	struct state *s = state_new(&cfg);
	cr_assert_not_null(s);
	return s;
}

static void put(struct state *s, const char *topic, const char *payload, int64_t ts)
{
	const char *why = NULL;
	struct bmsg *m = state_ingest(s, topic, payload, strlen(payload), ts, &why);
	bmsg_unref(m);
}

Test(state, encode_json_payload_verbatim_and_text_as_string, .timeout = 5)
{
	const char *reading = "{\"value\":21.5,\"unit\":\"°C\",\"ts\":1}";
	struct bmsg *m = state_encode_message(0, "iod/home/sensors/temperature", reading,
					      strlen(reading), 42, 0);
	cr_assert_not_null(m);
	cr_assert_str_eq((char *)bmsg_data(m),
			 "{\"topic\":\"iod/home/sensors/temperature\",\"payload\":{\"value\":21.5,"
			 "\"unit\":\"°C\",\"ts\":1},\"ts\":42}");
	bmsg_unref(m);
	m = state_encode_message(0, "iod/home/feeder/availability", "online", 6, 7, 0);
	cr_assert_str_eq(
	    (char *)bmsg_data(m),
	    "{\"topic\":\"iod/home/feeder/availability\",\"payload\":\"online\",\"ts\":7}");
	bmsg_unref(m);
	/* Not one JSON value: a string. Invalid UTF-8 becomes U+FFFD, quotes escaped. */
	m = state_encode_message(0, "iod/home/x", "{\"a\":1} junk\xff\"", 14, 1, 0);
	cr_assert_str_eq(
	    (char *)bmsg_data(m),
	    "{\"topic\":\"iod/home/x\",\"payload\":\"{\\\"a\\\":1} junk\\ufffd\\\"\",\"ts\":1}");
	cr_assert(proto_utf8_valid(bmsg_data(m), m->len));
	bmsg_unref(m);
	/* What is not strict JSON (a raw tab inside a string, a leading zero,
	 * a vertical tab around it) is a string too, as every proto decoder
	 * calls it bad_json; the frame stays strict JSON for the browser. */
	const char *not_json[] = {"{\"a\":\"x\ty\"}", "{\"ts\":00}", "\v{\"a\":1}\v",
				  "\xef\xbb\xbf{\"a\":1}"};
	for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
		m = state_encode_message(0, "t", not_json[i], strlen(not_json[i]), 1, 0);
		cJSON *j = cJSON_Parse((char *)bmsg_data(m));
		cr_assert_not_null(j, "frame must be JSON: %s", (char *)bmsg_data(m));
		cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "payload")),
			  "not strict JSON, so a string: %s", (char *)bmsg_data(m));
		cr_assert_str_eq(cJSON_GetObjectItem(j, "payload")->valuestring, not_json[i]);
		cJSON_Delete(j);
		bmsg_unref(m);
	}
}

Test(state, last_value_cache_keeps_newest_in_first_seen_order, .timeout = 5)
{
	struct state *s = mk(0);
	put(s, "iod/home/feeder/availability", "online", T0);
	put(s, "iod/home/feeder/state", "{\"position\":\"home\"}", T0 + 1);
	put(s, "iod/home/feeder/availability", "offline", T0 + 2);
	put(s, "iod/other/feeder/availability", "online", T0 + 3); /* another site: ignored */
	struct collected c = {0};
	state_snapshot(s, T0 + 10, collect, &c);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.text[0], "{\"topic\":\"iod/home/feeder/availability\",\"payload\":"
				    "\"offline\",\"ts\":1795600000002}");
	cr_assert(strstr(c.text[1], "\"payload\":{\"position\":\"home\"}"));
	collected_free(&c);
	/* An empty retained message clears the topic, and is not forwarded. */
	const char *why = NULL;
	cr_assert_null(state_ingest(s, "iod/home/feeder/state", "", 0, T0 + 20, &why));
	cr_assert_str_eq(why, "cleared");
	state_snapshot(s, T0 + 30, collect, &c);
	cr_assert_eq(c.n, 1);
	collected_free(&c);
	struct state_stats st;
	state_get_stats(s, &st);
	cr_assert_eq(st.topics, 1);
	cr_assert_eq(st.refused_other, 1);
	state_free(s);
}

Test(state, topics_come_from_proto_for_any_valid_site, .timeout = 5)
{
	char site[PROTO_SITE_MAX + 1], topic[PROTO_TOPIC_MAX];
	const char *why = NULL;

	/* No topic can be built for an empty site: refused, not "iod//". */
	cr_assert_null(state_new(&(struct state_config){.site = ""}));
	/* The longest site: its frame, alerts and events are still told apart. */
	memset(site, 'z', PROTO_SITE_MAX);
	site[PROTO_SITE_MAX] = '\0';
	struct state *s = state_new(&(struct state_config){.site = site});
	cr_assert_not_null(s);
	cr_assert_eq(proto_topic(topic, sizeof(topic), site, "camera", "frame"), 0);
	struct bmsg *m = state_ingest(s, topic, "\xff\xd8", 2, T0, &why);
	cr_assert_not_null(m);
	cr_assert(m->binary);
	bmsg_unref(m);
	cr_assert_eq(proto_topic(topic, sizeof(topic), site, "feeder", "event"), 0);
	m = state_ingest(s, topic, "{\"id\":\"a\"}", 10, T0, &why);
	cr_assert_not_null(m);
	cr_assert_eq(m->key, 0, "feeder events are never coalesced");
	bmsg_unref(m);
	cr_assert_eq(proto_topic(topic, sizeof(topic), site, "feeder", "state"), 0);
	m = state_ingest(s, topic, "{}", 2, T0, &why);
	cr_assert_not_null(m);
	cr_assert_neq(m->key, 0, "state is coalesced");
	bmsg_unref(m);
	state_free(s);
}

Test(state, cache_is_size_limited_but_still_forwards, .timeout = 5)
{
	struct state *s = mk(16);
	for (int i = 0; i < 40; i++) {
		char t[64];
		snprintf(t, sizeof(t), "iod/home/many/t%d", i);
		const char *why = NULL;
		struct bmsg *m = state_ingest(s, t, "1", 1, T0, &why);
		cr_assert_not_null(m, "every message is forwarded");
		bmsg_unref(m);
	}
	struct state_stats st;
	state_get_stats(s, &st);
	cr_assert_eq(st.topics, 16);
	cr_assert_eq(st.cache_full, 24);
	state_free(s);
}

Test(state, oversize_json_refused_frames_binary, .timeout = 5)
{
	struct state *s = mk(0);
	char *big = malloc(17 * 1024);
	memset(big, 'a', 17 * 1024);
	const char *why = NULL;
	cr_assert_null(state_ingest(s, "iod/home/x/y", big, 17 * 1024, T0, &why));
	cr_assert_str_eq(why, "too_large");
	/* The camera frame may be bigger, goes binary, and is the newest only. */
	struct bmsg *m = state_ingest(s, "iod/home/camera/frame", big, 17 * 1024, T0, &why);
	cr_assert_not_null(m);
	cr_assert(m->binary);
	cr_assert_eq(m->len, 17 * 1024);
	uint32_t key = m->key;
	bmsg_unref(m);
	big[0] = 'b';
	m = state_ingest(s, "iod/home/camera/frame", big, 100, T0 + 1, &why);
	cr_assert_eq(m->key, key, "frames share one coalescing key");
	bmsg_unref(m);
	struct collected c = {0};
	state_snapshot(s, T0 + 2, collect, &c);
	cr_assert_eq(c.n, 1);
	cr_assert(c.binary[0]);
	cr_assert_eq(c.len[0], 100);
	cr_assert_eq(c.text[0][0], 'b');
	collected_free(&c);
	free(big);
	state_free(s);
}

Test(state, snapshot_order_cached_history_alerts_frame, .timeout = 5)
{
	struct state *s = mk(0);
	put(s, "iod/home/camera/frame", "JPEG", T0);
	put(s, "iod/home/alert", "{\"code\":\"old\"}", T0 - 25LL * 3600 * 1000);
	put(s, "iod/home/sensors/temperature", "{\"value\":20,\"unit\":\"°C\",\"ts\":1}", T0);
	put(s, "iod/home/alert", "{\"code\":\"a1\"}", T0 + 1);
	put(s, "iod/home/alert", "{\"code\":\"a2\"}", T0 + 2);
	put(s, "iod/home/feeder/availability", "online", T0 + 3);
	struct collected c = {0};
	state_snapshot(s, T0 + 5, collect, &c);
	cr_assert_eq(c.n, 6, "2 cached + 1 history + 2 alerts (24 h) + frame, got %d", c.n);
	cr_assert(strstr(c.text[0], "sensors/temperature"));
	cr_assert(strstr(c.text[1], "feeder/availability"));
	cr_assert(strstr(c.text[2], "\"type\":\"history\""));
	cr_assert(strstr(c.text[3], "a1"));
	cr_assert(strstr(c.text[4], "a2"));
	cr_assert(c.binary[5]);
	collected_free(&c);
	state_free(s);
}

/* What state_snapshot_values() visits, joined as one batch would hold it. */
static char *values_as_batch_body(struct state *s, int64_t now)
{
	struct collected c = {0};
	state_snapshot_values(s, now, collect, &c);
	struct jbuf b;
	jbuf_init(&b);
	for (int i = 0; i < c.n; i++) {
		jbuf_puts(&b, i ? "," : "");
		jbuf_put(&b, c.text[i], c.len[i]);
	}
	jbuf_put(&b, "", 1);
	collected_free(&c);
	return b.data;
}

static uint64_t built(const struct state *s)
{
	struct state_stats st;
	state_get_stats(s, &st);
	return st.batches_built;
}

Test(state, batches_hold_the_values_snapshot_and_are_kept_until_it_changes, .timeout = 5)
{
	struct state *s = mk(0);
	struct collected c = {0};
	cr_assert_eq(state_snapshot_batches(s, T0, collect, &c), 0);
	cr_assert_eq(c.n, 0, "nothing cached: no batch");
	cr_assert_eq(built(s), 1);
	put(s, "iod/home/camera/frame", "JPEG", T0);
	put(s, "iod/home/alert", "{\"code\":\"old\"}", T0 - 25LL * 3600 * 1000);
	put(s, "iod/home/sensors/temperature", "{\"value\":20,\"unit\":\"°C\",\"ts\":1}", T0);
	put(s, "iod/home/alert", "{\"code\":\"a1\"}", T0 + 1);
	put(s, "iod/home/feeder/availability", "online", T0 + 3);
	cr_assert_eq(state_snapshot_batches(s, T0 + 5, collect, &c), 0);
	cr_assert_eq(c.n, 1);
	cr_assert_not(c.binary[0]);
	char *want = values_as_batch_body(s, T0 + 5);
	char expect[4096];
	snprintf(expect, sizeof(expect), "{\"type\":\"batch\",\"frames\":[%s]}", want);
	cr_assert_str_eq(c.text[0], expect);
	cr_assert_null(strstr(c.text[0], "old"), "the 24 h rule, as for a page");
	cr_assert_null(strstr(c.text[0], "JPEG"), "no camera frame");
	cr_assert_eq(built(s), 2);
	collected_free(&c);

	/* Kept: the next overview gets the same, and a camera frame (not in
	 * it) changes nothing. */
	put(s, "iod/home/camera/frame", "JPEG2", T0 + 6);
	cr_assert_eq(state_snapshot_batches(s, T0 + 7, collect, &c), 0);
	cr_assert_str_eq(c.text[0], expect);
	cr_assert_eq(built(s), 2, "shared, not built again");
	collected_free(&c);

	/* A new value, a cleared topic, an alert: built anew. */
	put(s, "iod/home/sensors/temperature", "{\"value\":21,\"unit\":\"°C\",\"ts\":2}", T0 + 8);
	cr_assert_eq(state_snapshot_batches(s, T0 + 9, collect, &c), 0);
	cr_assert_eq(built(s), 3);
	cr_assert(strstr(c.text[0], "\"value\":21"), "%s", c.text[0]);
	collected_free(&c);
	put(s, "iod/home/feeder/availability", "", T0 + 10);
	cr_assert_eq(state_snapshot_batches(s, T0 + 11, collect, &c), 0);
	cr_assert_eq(built(s), 4);
	cr_assert_null(strstr(c.text[0], "availability"), "%s", c.text[0]);
	collected_free(&c);
	put(s, "iod/home/alert", "{\"code\":\"a2\"}", T0 + 12);
	cr_assert_eq(state_snapshot_batches(s, T0 + 13, collect, &c), 0);
	cr_assert_eq(built(s), 5);
	cr_assert(strstr(c.text[0], "a2"));
	collected_free(&c);

	/* a1 ages out 24 h after it came (T0 + 1), a2 a millisecond later:
	 * the kept batches follow the clock. */
	int64_t day = STATE_ALERT_AGE_MS;
	cr_assert_eq(state_snapshot_batches(s, T0 + 1 + day, collect, &c), 0);
	cr_assert_eq(built(s), 5, "a1 is still in at exactly 24 h");
	cr_assert(strstr(c.text[0], "a1"));
	collected_free(&c);
	cr_assert_eq(state_snapshot_batches(s, T0 + 2 + day, collect, &c), 0);
	cr_assert_eq(built(s), 6);
	cr_assert_null(strstr(c.text[0], "a1"), "%s", c.text[0]);
	cr_assert(strstr(c.text[0], "a2"));
	free(want);
	want = values_as_batch_body(s, T0 + 2 + day);
	snprintf(expect, sizeof(expect), "{\"type\":\"batch\",\"frames\":[%s]}", want);
	cr_assert_str_eq(c.text[0], expect);
	collected_free(&c);
	/* A clock stepped back past when they were built: built anew. */
	cr_assert_eq(state_snapshot_batches(s, T0, collect, &c), 0);
	cr_assert_eq(built(s), 7);
	cr_assert(strstr(c.text[0], "a1"), "back in its 24 h");
	collected_free(&c);
	free(want);
	state_free(s);
}

/* A state cutting batches at batch_bytes (0: the default) holding 100
 * topics of ~140 bytes, x/t00 to x/t99. */
static struct state *hundred_topics(size_t batch_bytes)
{
	struct state_config cfg = {.site = "home", .headroom = 16, .batch_bytes = batch_bytes};
	struct state *s = state_new(&cfg);
	cr_assert_not_null(s);
	for (int i = 0; i < 100; i++) {
		char topic[64], p[160];
		snprintf(topic, sizeof(topic), "iod/home/x/t%02d", i);
		snprintf(p, sizeof(p), "{\"value\":%d,\"pad\":\"%0100d\"}", i, i);
		put(s, topic, p, T0);
	}
	return s;
}

Test(state, batches_are_cut_once_past_the_size_and_hold_whole_frames, .timeout = 5)
{
	struct state *s = hundred_topics(4096);
	struct collected c = {0};
	cr_assert_eq(state_snapshot_batches(s, T0, collect, &c), 0);
	cr_assert_gt(c.n, 1);
	int next = 0;
	for (int i = 0; i < c.n; i++) {
		cJSON *j = cJSON_Parse(c.text[i]);
		cr_assert_not_null(j, "batch %d is JSON", i);
		cJSON *f;
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(j, "frames"))
		{
			char topic[64];
			snprintf(topic, sizeof(topic), "iod/home/x/t%02d", next++);
			cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(f, "topic")),
					 topic);
		}
		cJSON_Delete(j);
		if (i < c.n - 1)
			cr_assert_geq(c.len[i], 4096, "batch %d: %zu", i, c.len[i]);
		cr_assert_lt(c.len[i], 4096 + 200, "batch %d: %zu", i, c.len[i]);
	}
	cr_assert_eq(next, 100, "each frame once, in order");
	collected_free(&c);
	state_free(s);
	/* The default (64 KiB): all of them in one. */
	s = hundred_topics(0);
	cr_assert_eq(state_snapshot_batches(s, T0, collect, &c), 0);
	cr_assert_eq(c.n, 1, "%d batches", c.n);
	cr_assert_gt(c.len[0], 14000);
	collected_free(&c);
	state_free(s);
}

Test(state, alerts_keep_last_twenty, .timeout = 5)
{
	struct state *s = mk(0);
	for (int i = 0; i < 30; i++) {
		char p[64];
		snprintf(p, sizeof(p), "{\"code\":\"c%d\"}", i);
		put(s, "iod/home/alert", p, T0 + i);
	}
	struct collected c = {0};
	state_snapshot(s, T0 + 100, collect, &c);
	cr_assert_eq(c.n, 20);
	cr_assert(strstr(c.text[0], "\"c10\""), "%s", c.text[0]);
	cr_assert(strstr(c.text[19], "\"c29\""));
	collected_free(&c);
	state_free(s);
}

Test(state, history_frame_downsampled_to_ten_second_buckets, .timeout = 5)
{
	struct state *s = mk(0);
	/* Two hours of readings every second: 7200 readings. */
	int64_t start = T0 - T0 % 10000;
	for (int i = 0; i < 7200; i++) {
		char p[80];
		snprintf(p, sizeof(p), "{\"value\":%d,\"unit\":\"g\",\"ts\":1}", i % 10);
		put(s, "iod/home/sensors/bowl", p, start + i * 1000LL);
	}
	int64_t now = start + 7199 * 1000LL;
	struct collected c = {0};
	state_snapshot(s, now, collect, &c);
	cr_assert_eq(c.n, 2);
	cJSON *j = cJSON_Parse(c.text[1]);
	cr_assert_not_null(j);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "topic")->valuestring, "iod/home/sensors/bowl");
	cJSON *pts = cJSON_GetObjectItem(j, "points");
	cr_assert_eq(cJSON_GetArraySize(pts), 360, "one hour at 10 s = 360 points");
	cJSON *first = cJSON_GetArrayItem(pts, 0), *last = cJSON_GetArrayItem(pts, 359);
	int64_t first_ts = (int64_t)cJSON_GetArrayItem(first, 0)->valuedouble;
	int64_t last_ts = (int64_t)cJSON_GetArrayItem(last, 0)->valuedouble;
	cr_assert_eq(last_ts, now - now % 10000);
	cr_assert_eq(last_ts - first_ts, 359 * 10000LL, "covers the last hour");
	/* Each bucket holds 0..9 once: the average is 4.5. */
	cr_assert_float_eq(cJSON_GetArrayItem(first, 1)->valuedouble, 4.5, 1e-9);
	cJSON_Delete(j);
	collected_free(&c);
	state_free(s);
}

/* What goes into a sensor's history is what proto_reading_decode() takes (a
 * finite value, a unit, a ts, none twice); the rest on a sensor topic is
 * still cached and forwarded as it came, only not charted. */
Test(state, history_takes_readings_as_the_contract_has_them, .timeout = 5)
{
	struct state *s = mk(0);
	const char *topics[] = {"iod/home/sensors/good",  "iod/home/sensors/no_unit",
				"iod/home/sensors/no_ts", "iod/home/sensors/huge",
				"iod/home/sensors/twice", "iod/home/sensors/text"};
	const char *payloads[] = {"{\"value\":20.5,\"unit\":\"°C\",\"ts\":1,\"extra\":true}",
				  "{\"value\":21,\"ts\":1}",
				  "{\"value\":22,\"unit\":\"%\"}",
				  "{\"value\":1e400,\"unit\":\"g\",\"ts\":1}",
				  "{\"value\":1,\"value\":2,\"unit\":\"\",\"ts\":1}",
				  "{\"value\":\"23\",\"unit\":\"dB\",\"ts\":1}"};
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		put(s, topics[i], payloads[i], T0);
	struct collected c = {0};
	state_snapshot(s, T0 + 1, collect, &c);
	cr_assert_eq(c.n, 7, "6 cached + 1 history, got %d", c.n);
	for (size_t i = 0; i < 6; i++) {
		char want[160];
		snprintf(want, sizeof(want), "{\"topic\":\"%s\",\"payload\":%s,", topics[i],
			 payloads[i]);
		cr_assert(!strncmp(c.text[i], want, strlen(want)), "forwarded as it came: %s",
			  c.text[i]);
	}
	char history[160];
	snprintf(
	    history, sizeof(history),
	    "{\"type\":\"history\",\"topic\":\"iod/home/sensors/good\",\"points\":[[%lld,20.5]]}",
	    (long long)(T0 - T0 % 10000));
	cr_assert_str_eq(c.text[6], history);
	struct state_stats st;
	state_get_stats(s, &st);
	cr_assert_eq(st.history_topics, 1);
	collected_free(&c);
	state_free(s);
}

Test(hist, motion_uses_bucket_max_and_gaps_stay_empty, .timeout = 5)
{
	struct hist h;
	hist_init(&h, HIST_MAX);
	hist_add(&h, 100000, 0);
	hist_add(&h, 101000, 1);
	hist_add(&h, 102000, 0);
	hist_add(&h, 150000, 0);
	struct hist_point pts[HIST_BUCKETS];
	size_t n = hist_points(&h, 155000, pts);
	cr_assert_eq(n, 2);
	cr_assert_eq(pts[0].ts_ms, 100000);
	cr_assert_float_eq(pts[0].value, 1.0, 1e-12,
			   "a burst inside a bucket is not averaged away");
	cr_assert_eq(pts[1].ts_ms, 150000);
	cr_assert_float_eq(pts[1].value, 0.0, 1e-12);

	struct hist a;
	hist_init(&a, HIST_AVG);
	hist_add(&a, 100000, 1);
	hist_add(&a, 105000, 2);
	cr_assert_eq(hist_add(&a, 106000, 0.0 / 0.0), -1, "NaN refused");
	n = hist_points(&a, 109999, pts);
	cr_assert_eq(n, 1);
	cr_assert_float_eq(pts[0].value, 1.5, 1e-12);
	/* An hour later the old bucket is outside the window. */
	n = hist_points(&a, 100000 + 3600 * 1000LL, pts);
	cr_assert_eq(n, 0);
	/* A slot reused by a newer bucket refuses a late older reading. */
	hist_add(&a, 100000 + 3600 * 1000LL, 5);
	cr_assert_eq(hist_add(&a, 100500, 9), -1);
}

Test(hist, history_memory_is_fixed_whatever_the_rate, .timeout = 5)
{
	struct hist h;
	hist_init(&h, HIST_AVG);
	for (int i = 0; i < 100000; i++)
		hist_add(&h, T0 + i, (double)i);
	struct hist_point pts[HIST_BUCKETS];
	size_t n = hist_points(&h, T0 + 100000, pts);
	cr_assert_eq(n, 10, "100 s of readings at 1 kHz = 10 buckets of 10 s");
	cr_assert_leq(sizeof(h), 360 * 40 + 64);
}

/* jbuf_string(): the JSON string escaper of every websocket frame. What it
 * keeps and what it replaces is decided by proto's one UTF-8 check. */
static void expect_string(const char *text, size_t len, const char *want)
{
	struct jbuf b;

	jbuf_init(&b);
	jbuf_string(&b, text, len);
	cr_assert(!b.failed);
	cr_assert_str_eq(b.data, want, "escaping %zu bytes", len);
	cr_assert(proto_utf8_valid(b.data, b.len));
	jbuf_free(&b);
}

Test(jbuf, string_keeps_valid_utf8_and_escapes_what_json_needs, .timeout = 5)
{
	expect_string("", 0, "\"\"");
	expect_string("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	expect_string("\x01\x1f\n", 3, "\"\\u0001\\u001f\\u000a\"");
	expect_string("\0", 1, "\"\\u0000\"");
	expect_string("\xc2\xb0"
		      "C \xe2\x82\xac \xf0\x9f\x90\x95",
		      12,
		      "\"\xc2\xb0"
		      "C \xe2\x82\xac \xf0\x9f\x90\x95\"");
}

Test(jbuf, string_replaces_each_byte_that_starts_no_sequence, .timeout = 5)
{
	expect_string("\xff", 1, "\"\\ufffd\"");
	expect_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");	       /* overlong '/' */
	expect_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
	expect_string("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	expect_string("\xe2\x82", 2, "\"\\ufffd\\ufffd\""); /* cut short */
	/* the rest of the text is kept as it was */
	expect_string("ok\xe2\x28\xa1!", 6, "\"ok\\ufffd(\\ufffd!\"");
	expect_string("\xf0\x9f\x90\x95\x80", 5, "\"\xf0\x9f\x90\x95\\ufffd\"");
}

Test(jbuf, string_agrees_with_proto_for_every_two_byte_string, .timeout = 30)
{
	for (unsigned v = 0x8000; v < 0x10000; v++) {
		unsigned char s[2] = {(unsigned char)(v >> 8), (unsigned char)v};
		struct jbuf b;

		jbuf_init(&b);
		jbuf_string(&b, s, 2);
		if (proto_utf8_seq(s, 2) == 2) {
			cr_assert_eq(b.len, 4, "%02x %02x", s[0], s[1]);
			cr_assert_eq(memcmp(b.data + 1, s, 2), 0);
		} else {
			/* the lead byte is replaced; the second, ASCII or not, on its own */
			cr_assert_eq(strncmp(b.data, "\"\\ufffd", 7), 0, "%02x %02x: %s", s[0],
				     s[1], b.data);
		}
		jbuf_free(&b);
	}
}
