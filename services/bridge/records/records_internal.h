/*
 * records_internal.h — what records.c, query.c, maintain.c and backup.c
 * share: the connection and its prepared statements. Not for callers.
 */
#ifndef IOD_BRIDGE_RECORDS_INTERNAL_H
#define IOD_BRIDGE_RECORDS_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "records.h"

#define RECORDS_MINUTE_MS (60LL * 1000)
#define RECORDS_HOUR_MS	  (3600LL * 1000)
/* Year 9999: times beyond are refused, so sums of times cannot overflow. */
#define RECORDS_TS_MAX 253402300799999LL
/* Tier sums kept in memory until the commit (or until the table fills). */
#define RECORDS_AGGS 64
/* (site, kind) -> series id, cached by the writer. */
#define RECORDS_SERIES_CACHE 256

enum records_stmt {
	RST_SERIES_GET,
	RST_SERIES_ADD,
	RST_RAW_ADD,
	RST_MINUTE_GET,
	RST_MINUTE_PUT,
	RST_MINUTE_DEL,
	RST_HOUR_UPSERT,
	RST_DOSE_UPSERT,
	RST_SNAPSHOT_PUT,
	RST_SLOT_UPSERT,
	RST_PLAN_ADD,
	RST_COMMAND_ADD,
	RST_ALERT_UPSERT,
	RST_EVENT_UPSERT,
	RST_THUMB_PUT,
	RST_EVENT_END,
	RST_SESSION_PUT,
	RST_SESSION_TOUCH,
	RST_SESSION_DEL,
	RST_COUNT,
};

/* One minute's or hour's readings of one series, not yet in its table. */
struct records_agg {
	int64_t series, ts, n;
	double sum, min, max;
};

struct records {
	sqlite3 *db;
	enum records_mode mode;
	int in_batch;
	int64_t session_idle_ms; /* records_options' */
	sqlite3_stmt *stmts[RST_COUNT];
	struct records_agg minute[RECORDS_AGGS], hour[RECORDS_AGGS];
	size_t n_minute, n_hour;
	struct {
		char *site, *kind;
		int64_t id;
	} series[RECORDS_SERIES_CACHE];
	size_t n_series;
};

/* minute.c: the minute tier, 60 minutes to a row (see there). */
#define RECORDS_BLOCK_MINUTES 60
/* Adds the n sums (a is reordered) to their minutes. */
int records_minute_flush(struct records *r, struct records_agg *a, size_t n,
			 struct records_err *err);
/* Calls fn for each minute in use of series whose start is in [from, to),
 * ascending; fn returning < 0 stops with -ENOMEM. */
typedef int (*records_minute_fn)(void *arg, int64_t ts, int64_t n, double sum, double min,
				 double max);
int records_minute_scan(struct records *r, int64_t series, int64_t from_ms, int64_t to_ms,
			records_minute_fn fn, void *arg, struct records_err *err);
/* Drops the minutes that start before cutoff_ms, adding their number to
 * *deleted. */
int records_minute_drop_before(struct records *r, int64_t cutoff_ms, int64_t *deleted,
			       struct records_err *err);
/* The start of the oldest minute in use; *any 0 if there is none. */
int records_minute_oldest(struct records *r, int64_t *ts, int *any, struct records_err *err);

/* Fills err (if not NULL) and returns code. */
int records_fail(struct records_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* -EIO with "records: <what>: <sqlite's message>". */
int records_sqlfail(struct records *r, struct records_err *err, const char *what);
/* The prepared statement id, reset and unbound; NULL (err filled) if it
 * cannot be prepared. */
sqlite3_stmt *records_stmt(struct records *r, enum records_stmt id, struct records_err *err);
int records_exec(struct records *r, const char *sql, struct records_err *err);
/* The first column of the first row of sql (0 if no row). */
int records_pragma_int(struct records *r, const char *sql, int64_t *v, struct records_err *err);
/* The series id of (site, kind); -ENOENT if there is none. */
int records_series_find(struct records *r, const char *site, const char *kind, int64_t *id,
			struct records_err *err);

/* Creates path 0600 when it does not exist (records.c). 0, or -errno. */
int records_create_private(const char *path);

#endif
