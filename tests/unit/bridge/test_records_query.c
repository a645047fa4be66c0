/*
 * The pure half of records over HTTP (services/bridge/records_query.c):
 * which endpoint a path is, every parameter rule and default of the
 * contract (proto/README.md "Records over HTTP (the bridge)") with an
 * injected clock, the JSON bodies, the ETag and If-None-Match.
 */
#include "records_query.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW INT64_C(1796212800000) /* 2026-12-02T12:00:00Z */

static enum rq_status parse(enum rq_endpoint ep, const char *query, struct rq *q,
			    const char **reason)
{
	static char copy[1024];
	static char detail[200];
	const char *args[32];
	size_t n = 0;
	snprintf(copy, sizeof(copy), "%s", query);
	for (char *save = NULL, *p = strtok_r(copy, "&", &save); p && n < 32;
	     p = strtok_r(NULL, "&", &save))
		args[n++] = p;
	enum rq_status st = rq_parse(ep, args, n, "home", NOW, q, reason, detail, sizeof(detail));
	if (st == RQ_BAD)
		cr_assert(detail[0], "a 400 has a detail (%s)", query);
	return st;
}

static void bad(enum rq_endpoint ep, const char *query, const char *want)
{
	struct rq q;
	const char *reason;
	cr_assert_eq(parse(ep, query, &q, &reason), RQ_BAD, "%s", query);
	cr_assert_str_eq(reason, want, "%s", query);
}

Test(records_query, endpoints)
{
	char id[RQ_SNAPSHOT_ID_MAX + 1];
	bool nf;
	cr_assert_eq(rq_endpoint_of("/api/history", id, &nf), RQ_HISTORY);
	cr_assert_eq(rq_endpoint_of("/api/doses", id, &nf), RQ_DOSES);
	cr_assert_eq(rq_endpoint_of("/api/doses.csv", id, &nf), RQ_DOSES_CSV);
	cr_assert_eq(rq_endpoint_of("/api/report", id, &nf), RQ_REPORT);
	cr_assert_eq(rq_endpoint_of("/api/events", id, &nf), RQ_EVENTS);
	cr_assert_eq(rq_endpoint_of("/api/session", id, &nf), RQ_NONE);
	cr_assert_eq(rq_endpoint_of("/api/history/", id, &nf), RQ_NONE);
	cr_assert_eq(rq_endpoint_of("/api/snapshots/schedule-2026-12-01T07:00.jpg", id, &nf),
		     RQ_SNAPSHOT);
	cr_assert_not(nf);
	cr_assert_str_eq(id, "schedule-2026-12-01T07:00");
	cr_assert_eq(rq_endpoint_of("/api/snapshots/a b.jpg", id, &nf), RQ_SNAPSHOT);
	cr_assert(nf);
	cr_assert_eq(rq_endpoint_of("/api/snapshots/.jpg", id, &nf), RQ_SNAPSHOT);
	cr_assert(nf);
	cr_assert_eq(rq_endpoint_of("/api/snapshots/x.png", id, &nf), RQ_SNAPSHOT);
	cr_assert(nf);
	cr_assert_eq(rq_endpoint_of("/api/snapshots/../x.jpg", id, &nf), RQ_SNAPSHOT);
	cr_assert(nf, "'/' is no id character");
	cr_assert_eq(rq_endpoint_of("/api/events/42.jpg", id, &nf), RQ_EVENT_THUMB);
	cr_assert_not(nf);
	cr_assert_str_eq(id, "42");
	cr_assert_eq(rq_endpoint_of("/api/events/4x.jpg", id, &nf), RQ_EVENT_THUMB);
	cr_assert(nf);
	cr_assert_eq(rq_endpoint_of("/api/events/-1.jpg", id, &nf), RQ_EVENT_THUMB);
	cr_assert(nf);
	cr_assert_eq(rq_endpoint_of("/api/events/1234567890123456789.jpg", id, &nf),
		     RQ_EVENT_THUMB);
	cr_assert(nf, "19 digits may overflow: not an id");
}

Test(records_query, history_defaults)
{
	struct rq q;
	const char *reason;
	cr_assert_eq(parse(RQ_HISTORY, "topic=iod/home/sensors/temperature", &q, &reason), RQ_OK);
	cr_assert_str_eq(q.kind, "temperature");
	cr_assert_eq(q.to_ms, NOW);
	cr_assert_eq(q.from_ms, NOW - 3600 * 1000, "history: one hour");
	cr_assert_eq(q.points, 600);
	cr_assert_eq(
	    parse(RQ_HISTORY, "topic=iod/home/sensors/bowl&to=5000000&points=50000", &q, &reason),
	    RQ_OK);
	cr_assert_eq(q.to_ms, 5000000);
	cr_assert_eq(q.from_ms, 5000000 - 3600000);
	cr_assert_eq(q.points, 50000);
	/* from alone: to stays now */
	cr_assert_eq(
	    parse(RQ_HISTORY, "topic=iod/home/sensors/bowl&from=1796212000000", &q, &reason),
	    RQ_OK);
	cr_assert_eq(q.from_ms, INT64_C(1796212000000));
	cr_assert_eq(q.to_ms, NOW);
	/* a default from before the epoch is clamped to 0 */
	cr_assert_eq(parse(RQ_HISTORY, "topic=iod/home/sensors/bowl&to=1000", &q, &reason), RQ_OK);
	cr_assert_eq(q.from_ms, 0);
}

Test(records_query, list_defaults)
{
	struct rq q;
	const char *reason;
	cr_assert_eq(parse(RQ_DOSES, "", &q, &reason), RQ_OK);
	cr_assert_eq(q.from_ms, NOW - 24 * 3600 * 1000, "lists: a day");
	cr_assert_eq(q.to_ms, NOW);
	cr_assert_eq(q.limit, 1000);
	cr_assert_eq(parse(RQ_EVENTS, "limit=10000", &q, &reason), RQ_OK);
	cr_assert_str_eq(q.kind, "motion");
	cr_assert_eq(q.limit, 10000);
	cr_assert_eq(parse(RQ_EVENTS, "kind=motion&from=0&to=1", &q, &reason), RQ_OK);
	cr_assert_eq(parse(RQ_DOSES_CSV, "from=1&to=2", &q, &reason), RQ_OK);
	cr_assert_eq(q.from_ms, 1);
	cr_assert_eq(q.to_ms, 2);
	cr_assert_eq(parse(RQ_REPORT, "", &q, &reason), RQ_OK);
	cr_assert_eq(q.days, 30);
	cr_assert_eq(parse(RQ_REPORT, "days=366", &q, &reason), RQ_OK);
	cr_assert_eq(q.days, 366);
	cr_assert_eq(parse(RQ_REPORT, "days=1", &q, &reason), RQ_OK);
	cr_assert_eq(q.days, 1);
	/* exactly 400 days is allowed */
	cr_assert_eq(parse(RQ_DOSES, "from=0&to=34560000000", &q, &reason), RQ_OK);
}

Test(records_query, the_400_reasons)
{
	bad(RQ_HISTORY, "", "bad_topic");
	bad(RQ_HISTORY, "topic=", "bad_topic");
	bad(RQ_HISTORY, "topic=iod/home/sensors", "bad_topic");
	bad(RQ_HISTORY, "topic=iod/home/feeder/log", "bad_topic");
	bad(RQ_HISTORY, "topic=iod/home/sensors/pressure", "bad_topic");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature/x", "bad_topic");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&from=x", "bad_from");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&from=", "bad_from");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&from=-5", "bad_from");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&from=1e3", "bad_from");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&to=99999999999999999999", "bad_to");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&to=1.0", "bad_to");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&from=10&to=10", "bad_range");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&from=11&to=10", "bad_range");
	bad(RQ_DOSES, "from=0&to=34560000001", "bad_range");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&points=0", "bad_points");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&points=50001", "bad_points");
	bad(RQ_HISTORY, "topic=iod/home/sensors/temperature&points=+5", "bad_points");
	bad(RQ_DOSES, "limit=0", "bad_limit");
	bad(RQ_DOSES, "limit=10001", "bad_limit");
	bad(RQ_EVENTS, "limit=", "bad_limit");
	bad(RQ_REPORT, "days=0", "bad_days");
	bad(RQ_REPORT, "days=367", "bad_days");
	bad(RQ_REPORT, "days=3d", "bad_days");
	bad(RQ_EVENTS, "kind=bark", "bad_kind");
	bad(RQ_EVENTS, "kind=", "bad_kind");
	bad(RQ_DOSES, "points=5", "unknown_parameter");
	bad(RQ_DOSES_CSV, "limit=5", "unknown_parameter");
	bad(RQ_REPORT, "from=5", "unknown_parameter");
	bad(RQ_HISTORY, "topic=iod/home/sensors/bowl&limit=5", "unknown_parameter");
	bad(RQ_SNAPSHOT, "x=1", "unknown_parameter");
	bad(RQ_DOSES, "from=1&from=1", "unknown_parameter");
	bad(RQ_DOSES, "fromage=1", "unknown_parameter");
	bad(RQ_DOSES, "a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p&q", "unknown_parameter");
	/* an unknown name is the answer whatever else is wrong */
	bad(RQ_DOSES, "limit=0&x=1", "unknown_parameter");
}

Test(records_query, another_site_is_not_found)
{
	struct rq q;
	const char *reason;
	cr_assert_eq(parse(RQ_HISTORY, "topic=iod/barn/sensors/temperature", &q, &reason),
		     RQ_NOT_FOUND);
}

Test(records_query, history_json)
{
	struct records_point pts[2] = {{1000, 21.5, 21.0, 22.0, 2}, {2000, -1.25, -2, 0, 3}};
	struct records_history h = {.points = pts, .n = 2, .bucket_ms = 1000};
	size_t len;
	char *body = rq_history_json("iod/home/sensors/temperature", 1000, 3000, &h, &len);
	cr_assert_not_null(body);
	cr_assert_eq(len, strlen(body));
	cr_assert_str_eq(body,
			 "{\"topic\":\"iod/home/sensors/temperature\",\"from\":1000,\"to\":3000,"
			 "\"bucket_ms\":1000,\"points\":[[1000,21.5,21,22],[2000,-1.25,-2,0]]}");
	free(body);
	h.n = 0;
	body = rq_history_json("t", 0, 1, &h, &len);
	cr_assert_str_eq(body,
			 "{\"topic\":\"t\",\"from\":0,\"to\":1,\"bucket_ms\":1000,\"points\":[]}");
	free(body);
}

Test(records_query, doses_json)
{
	struct records_dose_row rows[2] = {
	    {.id = "d2",
	     .by = "ann \"the vet\"",
	     .source = "manual",
	     .outcome = "ok",
	     .ts_ms = 2000,
	     .verified = 1,
	     .has_delta_g = 1,
	     .delta_g = 1.5,
	     .has_snapshot = 1},
	    {.id = "schedule-2026-12-01T07:00",
	     .source = "schedule",
	     .slot = "2026-12-01T07:00",
	     .outcome = "failed",
	     .reason = "no_bowl_reading",
	     .ts_ms = 1000,
	     .verified = -1},
	};
	struct records_doses d = {.rows = rows, .n = 2, .truncated = 1};
	size_t len;
	char *body = rq_doses_json(&d, &len);
	cJSON *j = cJSON_Parse(body);
	cr_assert_not_null(j, "%s", body);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
	cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "doses"), 0);
	cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "doses"), 1);
	cr_assert_str_eq(cJSON_GetObjectItem(a, "by")->valuestring, "ann \"the vet\"");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "verified")));
	cr_assert_float_eq(cJSON_GetObjectItem(a, "delta_g")->valuedouble, 1.5, 1e-12);
	cr_assert_str_eq(cJSON_GetObjectItem(a, "snapshot")->valuestring, "/api/snapshots/d2.jpg");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(a, "slot")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(a, "reason")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(b, "by")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(b, "verified")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(b, "delta_g")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(b, "snapshot")));
	cr_assert_str_eq(cJSON_GetObjectItem(b, "slot")->valuestring, "2026-12-01T07:00");
	cr_assert_str_eq(cJSON_GetObjectItem(b, "reason")->valuestring, "no_bowl_reading");
	cr_assert_eq((long long)cJSON_GetObjectItem(b, "ts")->valuedouble, 1000);
	cJSON_Delete(j);
	free(body);
	d.n = 0;
	d.truncated = 0;
	body = rq_doses_json(&d, &len);
	cr_assert_str_eq(body, "{\"doses\":[],\"truncated\":false}");
	free(body);
}

Test(records_query, events_json)
{
	struct records_event_row rows[2] = {
	    {.id = 7,
	     .kind = "motion",
	     .start_ms = 5000,
	     .end_ms = 0,
	     .score = 0.25,
	     .has_thumb = 1},
	    {.id = 6, .kind = "motion", .start_ms = 1000, .end_ms = 3000, .score = -1},
	};
	struct records_events e = {.rows = rows, .n = 2};
	size_t len;
	char *body = rq_events_json(&e, &len);
	cr_assert_str_eq(body,
			 "{\"events\":[{\"id\":7,\"kind\":\"motion\",\"ts\":5000,\"end\":null,"
			 "\"score\":0.25,\"thumbnail\":\"/api/events/7.jpg\"},{\"id\":6,\"kind\":"
			 "\"motion\",\"ts\":1000,\"end\":3000,\"score\":null,\"thumbnail\":null}],"
			 "\"truncated\":false}");
	free(body);
}

Test(records_query, error_json)
{
	char *s = rq_error_json("bad_from", "from must be \"ms\"");
	cr_assert_str_eq(s, "{\"error\":\"bad_from\",\"detail\":\"from must be \\\"ms\\\"\"}");
	free(s);
	s = rq_error_json("not_found", NULL);
	cr_assert_str_eq(s, "{\"error\":\"not_found\"}");
	free(s);
}

Test(records_query, etag_and_if_none_match)
{
	char a[RQ_ETAG_MAX], b[RQ_ETAG_MAX], c[RQ_ETAG_MAX];
	rq_etag("hello", 5, a);
	rq_etag("hello", 5, b);
	rq_etag("hellp", 5, c);
	cr_assert_str_eq(a, b);
	cr_assert_str_neq(a, c);
	cr_assert_eq(a[0], '"');
	cr_assert_eq(a[strlen(a) - 1], '"');
	cr_assert_str_eq(a, "\"a430d84680aabd0b-5\"", "FNV-1a 64 of \"hello\": %s", a);
	cr_assert(rq_etag_matches(a, a));
	char list[128];
	snprintf(list, sizeof(list), "\"x\", W/%s", a);
	cr_assert(rq_etag_matches(list, a), "weak comparison for If-None-Match");
	snprintf(list, sizeof(list), "\"x\",%s,\"y\"", a);
	cr_assert(rq_etag_matches(list, a));
	cr_assert(rq_etag_matches("*", a));
	cr_assert_not(rq_etag_matches("\"x\"", a));
	cr_assert_not(rq_etag_matches("", a));
	cr_assert_not(rq_etag_matches(NULL, a));
	cr_assert_not(rq_etag_matches("\"unterminated", a));
	/* a prefix of the tag is not the tag */
	char prefix[RQ_ETAG_MAX];
	snprintf(prefix, sizeof(prefix), "%.*s\"", (int)strlen(a) - 3, a);
	cr_assert_not(rq_etag_matches(prefix, a));
}

Test(records_query, plan_summary)
{
	char s[128];
	rq_plan_summary(
	    "{\"rev\":3,\"slots\":[{\"at\":\"07:00\",\"enabled\":true},{\"at\":\"12:00\","
	    "\"enabled\":false},{\"at\":\"19:00\",\"enabled\":true}],\"paused\":false}",
	    s, sizeof(s));
	cr_assert_str_eq(s, "07:00, 19:00");
	rq_plan_summary("{\"slots\":[],\"paused\":true}", s, sizeof(s));
	cr_assert_str_eq(s, "no slots (paused)");
	rq_plan_summary("not json", s, sizeof(s));
	cr_assert_str_eq(s, "no slots");
	rq_plan_summary(NULL, s, sizeof(s));
	cr_assert_str_eq(s, "no slots");
}

Test(records_query, local_date)
{
	setenv("TZ", "Pacific/Auckland", 1);
	tzset();
	char d[11];
	rq_local_date(NOW, d); /* 12:00Z is 01:00 the next day in NZDT */
	cr_assert_str_eq(d, "2026-12-03");
	setenv("TZ", "UTC", 1);
	tzset();
	rq_local_date(NOW, d);
	cr_assert_str_eq(d, "2026-12-02");
}
