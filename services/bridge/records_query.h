/*
 * records_query — the pure half of the bridge's records over HTTP
 * (proto/README.md "Records over HTTP (the bridge)"): which endpoint a path
 * names, its query parameters checked into a struct rq (defaults, bounds,
 * the reasons of a 400), the JSON bodies of history, doses and events from
 * records.h's results, the strong ETag of a body and If-None-Match.
 *
 * No SQLite, lws or libuv: records_http.c runs the queries and the I/O.
 * The clock is an argument.
 */
#ifndef IOD_BRIDGE_RECORDS_QUERY_H
#define IOD_BRIDGE_RECORDS_QUERY_H

#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RQ_DAY_MS	   (24LL * 3600 * 1000)
#define RQ_RANGE_MAX_MS	   (400 * RQ_DAY_MS)
#define RQ_POINTS_DEFAULT  600
#define RQ_POINTS_MAX	   50000
#define RQ_LIMIT_DEFAULT   1000
#define RQ_LIMIT_MAX	   10000
#define RQ_DAYS_DEFAULT	   30
#define RQ_DAYS_MAX	   366
#define RQ_HISTORY_SPAN_MS (3600LL * 1000)
#define RQ_LIST_SPAN_MS	   RQ_DAY_MS
#define RQ_ARGS_MAX	   16 /* query parameters read; more is unknown_parameter */
#define RQ_SNAPSHOT_ID_MAX 64

enum rq_endpoint {
	RQ_NONE, /* not a records path */
	RQ_HISTORY,
	RQ_DOSES,
	RQ_DOSES_CSV,
	RQ_REPORT,
	RQ_SNAPSHOT, /* /api/snapshots/<dose id>.jpg */
	RQ_EVENTS,
	RQ_EVENT_THUMB, /* /api/events/<id>.jpg */
};

/* The endpoint uri (the path, without the query) names. For the two JPEG
 * paths, id gets the dose id / event id text; a path of that shape with an
 * id that cannot be one (bad characters, empty, too long, not a number)
 * sets *not_found. */
enum rq_endpoint rq_endpoint_of(const char *uri, char id[RQ_SNAPSHOT_ID_MAX + 1], bool *not_found);

struct rq {
	enum rq_endpoint ep;
	char kind[65];			 /* history: the sensor kind; events: "motion" */
	int64_t from_ms;		 /* inclusive */
	int64_t to_ms;			 /* exclusive */
	size_t points;			 /* history */
	size_t limit;			 /* doses, events */
	int days;			 /* report */
	char id[RQ_SNAPSHOT_ID_MAX + 1]; /* snapshot: the dose id */
	int64_t event_id;		 /* event thumbnail */
};

/* What a request gets instead of a query. */
enum rq_status {
	RQ_OK = 0,
	RQ_BAD = 400,	    /* reason and detail say why */
	RQ_NOT_FOUND = 404, /* another site's topic (until issue 14) */
};

/*
 * The n query parameters args ("name=value", URL-decoded, as lws hands
 * them) of endpoint ep, checked against the contract: unknown names and a
 * name given twice are unknown_parameter; from/to integers >= 0 (bad_from,
 * bad_to); from < to and to - from <= 400 days (bad_range); points 1..50000
 * (bad_points); limit 1..10000 (bad_limit); days 1..366 (bad_days); kind
 * "motion" (bad_kind); topic iod/<site>/sensors/<kind> with a known kind
 * (bad_topic; another site: RQ_NOT_FOUND). Defaults: to = now_ms, from = to
 * - 24 h (history: to - 1 h), points 600, limit 1000, days 30, kind motion.
 * reason is a static word, detail one line (detail_size bytes).
 */
enum rq_status rq_parse(enum rq_endpoint ep, const char *const *args, size_t n, const char *site,
			int64_t now_ms, struct rq *out, const char **reason, char *detail,
			size_t detail_size);

/* {"error":"<reason>","detail":"<detail>"} (detail NULL: no detail), malloc'd. */
char *rq_error_json(const char *reason, const char *detail);

/* The bodies (malloc'd, NUL-terminated, *len their length; NULL on
 * out-of-memory). topic is the asked one, from/to as asked. */
char *rq_history_json(const char *topic, int64_t from_ms, int64_t to_ms,
		      const struct records_history *h, size_t *len);
char *rq_doses_json(const struct records_doses *d, size_t *len);
char *rq_events_json(const struct records_events *e, size_t *len);

/* A strong ETag of body: "\"<16 hex FNV-1a 64>-<length hex>\"" (quotes
 * included), into out (at least RQ_ETAG_MAX bytes). */
#define RQ_ETAG_MAX 48
void rq_etag(const void *body, size_t len, char out[RQ_ETAG_MAX]);
/* If-None-Match (a comma list of entity tags, W/ ones compared weakly, or
 * "*") matches etag. */
bool rq_etag_matches(const char *if_none_match, const char *etag);

/* "YYYY-MM-DD" of ms in the process's local zone (the CSV's file name);
 * out at least 11 bytes. */
void rq_local_date(int64_t ms, char out[11]);

/* A plan change's one-line summary from the plan's JSON as published
 * (feeder/plan): the enabled slots' times, "paused" when it is; into out. */
void rq_plan_summary(const char *plan_json, char *out, size_t size);

#endif
