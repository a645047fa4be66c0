/*
 * query.c — the history of a reading (bucketed from the raw, minute or hour
 * tier) and the lists, on any connection. Statements here are prepared per
 * call (a query is one statement; its cost is the rows, not the prepare).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "records_internal.h"

#define LIST_LIMIT_MAX 100000

static int64_t floor_to(int64_t ts, int64_t unit)
{
	int64_t q = ts / unit;

	if (ts % unit < 0)
		q--;
	return q * unit;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
	return a / b + (a % b != 0);
}

static int prepare(struct records *r, const char *sql, sqlite3_stmt **st, struct records_err *err)
{
	if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) != SQLITE_OK)
		return records_sqlfail(r, err, "prepare");
	return 0;
}

/* Bucket accumulation over rows that ascend by ts. */
struct bucketer {
	struct records_history *h;
	size_t cap, max;
	int64_t b0, w, cur; /* cur: index of the open bucket, -1 none */
	double sum;
	int64_t n;
	double min, max_v;
};

static int bucket_close(struct bucketer *b)
{
	struct records_point *p;

	if (b->cur < 0 || b->n == 0)
		return 0;
	if (b->h->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;

		if (cap > b->max)
			cap = b->max;
		if (cap <= b->h->n)
			return -ENOMEM; /* more buckets than max: the width rules out */
		p = realloc(b->h->points, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->h->points = p;
		b->cap = cap;
	}
	p = &b->h->points[b->h->n++];
	p->ts_ms = b->b0 + b->cur * b->w;
	p->count = b->n;
	p->mean = b->sum / (double)b->n;
	p->min = b->min;
	p->max = b->max_v;
	return 0;
}

static int bucket_add(struct bucketer *b, int64_t ts, int64_t n, double sum, double mn, double mx)
{
	int64_t idx = (ts - b->b0) / b->w;

	if (idx != b->cur) {
		if (bucket_close(b) < 0)
			return -ENOMEM;
		b->cur = idx;
		b->n = 0;
		b->sum = 0;
		b->min = mn;
		b->max_v = mx;
	}
	b->n += n;
	b->sum += sum;
	if (mn < b->min)
		b->min = mn;
	if (mx > b->max_v)
		b->max_v = mx;
	return 0;
}

static int bucket_row(void *arg, int64_t ts, int64_t n, double sum, double mn, double mx)
{
	return bucket_add(arg, ts, n, sum, mn, mx);
}

int records_history(struct records *r, const char *site, const char *kind, int64_t from_ms,
		    int64_t to_ms, size_t max_points, int64_t now_ms, struct records_history *out,
		    struct records_err *err)
{
	static const char *const sql[] = {
	    [RECORDS_TIER_RAW] = "SELECT ts, 1, value, value, value FROM reading_raw"
				 " WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
	    [RECORDS_TIER_MINUTE] = NULL, /* minute.c */
	    [RECORDS_TIER_HOUR] = "SELECT ts, n, sum, vmin, vmax FROM reading_hour"
				  " WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
	};
	struct bucketer b = {0};
	sqlite3_stmt *st;
	int64_t series, w0, unit;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!r || !out || !site || !kind)
		return records_fail(err, -EINVAL,
				    "records: history needs a connection, a site, a "
				    "kind and a result");
	if (from_ms < 0 || to_ms > RECORDS_TS_MAX || from_ms >= to_ms)
		return records_fail(err, -EINVAL,
				    "records: history of %s/%s: [%lld, %lld) is not a range of "
				    "times (from < to, both within 0..year 9999)",
				    site, kind, (long long)from_ms, (long long)to_ms);
	if (max_points == 0 || max_points > RECORDS_POINTS_MAX)
		return records_fail(err, -EINVAL,
				    "records: history of %s/%s: %zu points asked, 1..%d allowed",
				    site, kind, max_points, RECORDS_POINTS_MAX);
	w0 = ceil_div(to_ms - from_ms, (int64_t)max_points);
	if (w0 < RECORDS_MINUTE_MS && from_ms >= now_ms - RECORDS_RAW_KEEP_MS) {
		out->tier = RECORDS_TIER_RAW;
		unit = 1;
	} else if (w0 < RECORDS_HOUR_MS && from_ms >= now_ms - RECORDS_MINUTE_KEEP_MS) {
		out->tier = RECORDS_TIER_MINUTE;
		unit = RECORDS_MINUTE_MS;
	} else {
		out->tier = RECORDS_TIER_HOUR;
		unit = RECORDS_HOUR_MS;
	}
	b.b0 = floor_to(from_ms, unit);
	/* Whole units per bucket, and still at most max_points buckets from
	 * the rounded start. */
	b.w = ceil_div(ceil_div(to_ms - b.b0, (int64_t)max_points), unit) * unit;
	b.cur = -1;
	b.h = out;
	b.max = max_points;
	out->bucket_ms = b.w;
	out->from_ms = b.b0;

	rc = records_series_find(r, site, kind, &series, err);
	if (rc == -ENOENT)
		return 0; /* nothing ever recorded: no points */
	if (rc < 0)
		return rc;
	if (out->tier == RECORDS_TIER_MINUTE) {
		rc = records_minute_scan(r, series, b.b0, to_ms, bucket_row, &b, err);
		if (rc == 0 && bucket_close(&b) < 0)
			rc = records_fail(err, -ENOMEM, "records: history: out of memory");
		if (rc < 0)
			records_history_free(out);
		return rc;
	}
	rc = prepare(r, sql[out->tier], &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, series);
	sqlite3_bind_int64(st, 2, b.b0);
	sqlite3_bind_int64(st, 3, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (bucket_add(&b, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			       sqlite3_column_double(st, 2), sqlite3_column_double(st, 3),
			       sqlite3_column_double(st, 4)) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if (rc == SQLITE_DONE && bucket_close(&b) < 0)
		rc = SQLITE_NOMEM;
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			records_fail(err, -ENOMEM, "records: history of %s/%s: out of memory", site,
				     kind);
		else
			records_sqlfail(r, err, "history");
		sqlite3_finalize(st);
		records_history_free(out);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	sqlite3_finalize(st);
	return 0;
}

void records_history_free(struct records_history *h)
{
	if (!h)
		return;
	free(h->points);
	h->points = NULL;
	h->n = 0;
}

/* ---------------------------------------------------------------- lists */

/*
 * The shared part of a list: checks the arguments, prepares sql (?1 site,
 * ?2 from, ?3 to, ?4 limit + 1) and hands each row to fill(), which copies it
 * into row i of the list; rows, n, truncated are the list's fields.
 */
typedef int (*fill_fn)(sqlite3_stmt *st, void *rows, size_t i);

static int run_list(struct records *r, const char *what, const char *sql, const char *site,
		    const char *kind, int64_t from_ms, int64_t to_ms, size_t limit, size_t row_size,
		    fill_fn fill, void **rows, size_t *n, int *truncated, struct records_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	*truncated = 0;
	if (!r || !site)
		return records_fail(err, -EINVAL, "records: %s needs a connection and a site",
				    what);
	if (from_ms > to_ms)
		return records_fail(err, -EINVAL, "records: %s: from %lld is after to %lld", what,
				    (long long)from_ms, (long long)to_ms);
	if (limit == 0 || limit > LIST_LIMIT_MAX)
		return records_fail(err, -EINVAL, "records: %s: limit %zu, 1..%d allowed", what,
				    limit, LIST_LIMIT_MAX);
	rc = prepare(r, sql, &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
	if (kind)
		sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == limit) {
			*truncated = 1;
			continue;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p;

			if (ncap > limit)
				ncap = limit;
			p = realloc(*rows, ncap * row_size);
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			*rows = p;
			cap = ncap;
		}
		memset((char *)*rows + *n * row_size, 0, row_size);
		(*n)++;
		if (fill(st, *rows, *n - 1) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			records_fail(err, -ENOMEM, "records: %s: out of memory", what);
		else
			records_sqlfail(r, err, what);
		sqlite3_finalize(st);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	sqlite3_finalize(st);
	return 0;
}

/* A copy of column i, NULL if it is NULL; -1 in *bad when out of memory. */
static char *col_str(sqlite3_stmt *st, int i, int *bad)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	char *s;

	if (!t)
		return NULL;
	s = strdup((const char *)t);
	if (!s)
		*bad = -1;
	return s;
}

static int64_t col_ms(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static int fill_dose(sqlite3_stmt *st, void *rows, size_t i)
{
	struct records_dose_row *d = (struct records_dose_row *)rows + i;
	int bad = 0;

	d->id = col_str(st, 0, &bad);
	d->site = col_str(st, 1, &bad);
	d->ts_ms = sqlite3_column_int64(st, 2);
	d->by = col_str(st, 3, &bad);
	d->source = col_str(st, 4, &bad);
	d->slot = col_str(st, 5, &bad);
	d->outcome = col_str(st, 6, &bad);
	d->reason = col_str(st, 7, &bad);
	d->verified = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
	d->has_delta_g = sqlite3_column_type(st, 9) != SQLITE_NULL;
	d->delta_g = sqlite3_column_double(st, 9);
	d->has_snapshot = sqlite3_column_int(st, 10);
	return bad;
}

int records_doses(struct records *r, const char *site, int64_t from_ms, int64_t to_ms, size_t limit,
		  struct records_doses *out, struct records_err *err)
{
	void *rows;
	int rc;

	if (!out)
		return records_fail(err, -EINVAL, "records: doses needs a result");
	rc = run_list(r, "doses",
		      "SELECT id, site, ts, who, source, slot, outcome, reason, verified, delta_g,"
		      " EXISTS(SELECT 1 FROM dose_snapshot s WHERE s.id = dose.id) FROM dose"
		      " WHERE site = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts DESC, id DESC"
		      " LIMIT ?4",
		      site, NULL, from_ms, to_ms, limit, sizeof(struct records_dose_row), fill_dose,
		      &rows, &out->n, &out->truncated, err);
	out->rows = rows;
	if (rc < 0)
		records_doses_free(out);
	return rc;
}

void records_doses_free(struct records_doses *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct records_dose_row *d = &l->rows[i];

		free(d->id);
		free(d->site);
		free(d->by);
		free(d->source);
		free(d->slot);
		free(d->outcome);
		free(d->reason);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

/* A BLOB by key: 0 with the copy (or NULL, 0 if the parent row has none),
 * -ENOENT if the parent row is missing. */
static int get_blob(struct records *r, const char *sql, const char *text_key, int64_t int_key,
		    const char *what, void **data, size_t *len, struct records_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*data = NULL;
	*len = 0;
	rc = prepare(r, sql, &st, err);
	if (rc < 0)
		return rc;
	if (text_key)
		sqlite3_bind_text(st, 1, text_key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, int_key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		if (text_key)
			return records_fail(err, -ENOENT, "records: no %s '%s'", what, text_key);
		return records_fail(err, -ENOENT, "records: no %s %lld", what, (long long)int_key);
	}
	if (rc != SQLITE_ROW) {
		rc = records_sqlfail(r, err, what);
		sqlite3_finalize(st);
		return rc;
	}
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		int n = sqlite3_column_bytes(st, 0);
		const void *b = sqlite3_column_blob(st, 0);

		*data = malloc(n > 0 ? (size_t)n : 1);
		if (!*data) {
			sqlite3_finalize(st);
			return records_fail(err, -ENOMEM, "records: %s: out of memory", what);
		}
		memcpy(*data, b, (size_t)n);
		*len = (size_t)n;
	}
	sqlite3_finalize(st);
	return 0;
}

int records_dose_snapshot(struct records *r, const char *dose_id, void **jpeg, size_t *len,
			  struct records_err *err)
{
	if (!r || !dose_id || !jpeg || !len)
		return records_fail(err, -EINVAL, "records: dose snapshot needs an id and results");
	return get_blob(r,
			"SELECT s.jpeg FROM dose d LEFT JOIN dose_snapshot s ON s.id = d.id"
			" WHERE d.id = ?1",
			dose_id, 0, "dose", jpeg, len, err);
}

int records_event_thumb(struct records *r, int64_t event_id, void **jpeg, size_t *len,
			struct records_err *err)
{
	if (!r || !jpeg || !len)
		return records_fail(err, -EINVAL, "records: event thumbnail needs results");
	return get_blob(r,
			"SELECT t.jpeg FROM event e LEFT JOIN event_thumb t ON t.event_id = e.id"
			" WHERE e.id = ?1",
			NULL, event_id, "event", jpeg, len, err);
}

static int fill_slot(sqlite3_stmt *st, void *rows, size_t i)
{
	struct records_slot_row *s = (struct records_slot_row *)rows + i;
	int bad = 0;

	s->site = col_str(st, 0, &bad);
	s->slot = col_str(st, 1, &bad);
	s->at_ms = sqlite3_column_int64(st, 2);
	s->status = col_str(st, 3, &bad);
	s->dose_id = col_str(st, 4, &bad);
	return bad;
}

int records_slots(struct records *r, const char *site, int64_t from_ms, int64_t to_ms, size_t limit,
		  struct records_slots *out, struct records_err *err)
{
	void *rows;
	int rc;

	if (!out)
		return records_fail(err, -EINVAL, "records: slots needs a result");
	rc = run_list(r, "slots",
		      "SELECT site, slot, at, status, dose_id FROM slot"
		      " WHERE site = ?1 AND at >= ?2 AND at < ?3 ORDER BY at, slot LIMIT ?4",
		      site, NULL, from_ms, to_ms, limit, sizeof(struct records_slot_row), fill_slot,
		      &rows, &out->n, &out->truncated, err);
	out->rows = rows;
	if (rc < 0)
		records_slots_free(out);
	return rc;
}

void records_slots_free(struct records_slots *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->rows[i].site);
		free(l->rows[i].slot);
		free(l->rows[i].status);
		free(l->rows[i].dose_id);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

static int fill_plan(sqlite3_stmt *st, void *rows, size_t i)
{
	struct records_plan_row *p = (struct records_plan_row *)rows + i;
	int bad = 0;

	p->site = col_str(st, 0, &bad);
	p->rev = sqlite3_column_int64(st, 1);
	p->ts_ms = sqlite3_column_int64(st, 2);
	p->by = col_str(st, 3, &bad);
	p->json = col_str(st, 4, &bad);
	return bad;
}

int records_plans(struct records *r, const char *site, int64_t from_ms, int64_t to_ms, size_t limit,
		  struct records_plans *out, struct records_err *err)
{
	void *rows;
	int rc;

	if (!out)
		return records_fail(err, -EINVAL, "records: plans needs a result");
	rc = run_list(
	    r, "plan changes",
	    "SELECT site, rev, ts, who, json FROM plan"
	    " WHERE site = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts DESC, rev DESC LIMIT ?4",
	    site, NULL, from_ms, to_ms, limit, sizeof(struct records_plan_row), fill_plan, &rows,
	    &out->n, &out->truncated, err);
	out->rows = rows;
	if (rc < 0)
		records_plans_free(out);
	return rc;
}

void records_plans_free(struct records_plans *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->rows[i].site);
		free(l->rows[i].by);
		free(l->rows[i].json);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

static int fill_command(sqlite3_stmt *st, void *rows, size_t i)
{
	struct records_command_row *c = (struct records_command_row *)rows + i;
	int bad = 0;

	c->site = col_str(st, 0, &bad);
	c->ts_ms = sqlite3_column_int64(st, 1);
	c->service = col_str(st, 2, &bad);
	c->id = col_str(st, 3, &bad);
	c->action = col_str(st, 4, &bad);
	c->result = col_str(st, 5, &bad);
	c->reason = col_str(st, 6, &bad);
	c->by = col_str(st, 7, &bad);
	return bad;
}

int records_commands(struct records *r, const char *site, int64_t from_ms, int64_t to_ms,
		     size_t limit, struct records_commands *out, struct records_err *err)
{
	void *rows;
	int rc;

	if (!out)
		return records_fail(err, -EINVAL, "records: commands needs a result");
	rc =
	    run_list(r, "commands",
		     "SELECT site, ts, service, cmd_id, action, result, reason, who FROM command"
		     " WHERE site = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts DESC, id DESC LIMIT ?4",
		     site, NULL, from_ms, to_ms, limit, sizeof(struct records_command_row),
		     fill_command, &rows, &out->n, &out->truncated, err);
	out->rows = rows;
	if (rc < 0)
		records_commands_free(out);
	return rc;
}

void records_commands_free(struct records_commands *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct records_command_row *c = &l->rows[i];

		free(c->site);
		free(c->service);
		free(c->id);
		free(c->action);
		free(c->result);
		free(c->reason);
		free(c->by);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

static int fill_alert(sqlite3_stmt *st, void *rows, size_t i)
{
	struct records_alert_row *a = (struct records_alert_row *)rows + i;
	int bad = 0;

	a->site = col_str(st, 0, &bad);
	a->key = col_str(st, 1, &bad);
	a->since_ms = sqlite3_column_int64(st, 2);
	a->source = col_str(st, 3, &bad);
	a->code = col_str(st, 4, &bad);
	a->level = col_str(st, 5, &bad);
	a->message = col_str(st, 6, &bad);
	a->updated_ms = col_ms(st, 7);
	a->acked_by = col_str(st, 8, &bad);
	a->acked_ms = col_ms(st, 9);
	a->cleared_ms = col_ms(st, 10);
	return bad;
}

int records_alerts(struct records *r, const char *site, int64_t from_ms, int64_t to_ms,
		   size_t limit, struct records_alerts *out, struct records_err *err)
{
	void *rows;
	int rc;

	if (!out)
		return records_fail(err, -EINVAL, "records: alerts needs a result");
	rc = run_list(r, "alerts",
		      "SELECT site, key, since, source, code, level, message, updated, acked_by,"
		      " acked, cleared FROM alert WHERE site = ?1 AND since >= ?2 AND since < ?3"
		      " ORDER BY since DESC, key DESC LIMIT ?4",
		      site, NULL, from_ms, to_ms, limit, sizeof(struct records_alert_row),
		      fill_alert, &rows, &out->n, &out->truncated, err);
	out->rows = rows;
	if (rc < 0)
		records_alerts_free(out);
	return rc;
}

void records_alerts_free(struct records_alerts *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct records_alert_row *a = &l->rows[i];

		free(a->site);
		free(a->key);
		free(a->source);
		free(a->code);
		free(a->level);
		free(a->message);
		free(a->acked_by);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

static int fill_event(sqlite3_stmt *st, void *rows, size_t i)
{
	struct records_event_row *e = (struct records_event_row *)rows + i;
	int bad = 0;

	e->id = sqlite3_column_int64(st, 0);
	e->site = col_str(st, 1, &bad);
	e->kind = col_str(st, 2, &bad);
	e->start_ms = sqlite3_column_int64(st, 3);
	e->end_ms = col_ms(st, 4);
	e->score = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 5);
	e->has_thumb = sqlite3_column_int(st, 6);
	return bad;
}

int records_events(struct records *r, const char *site, const char *kind, int64_t from_ms,
		   int64_t to_ms, size_t limit, struct records_events *out, struct records_err *err)
{
	void *rows;
	int rc;

	if (!out)
		return records_fail(err, -EINVAL, "records: events needs a result");
	rc = run_list(r, "events",
		      kind ? "SELECT id, site, kind, t_start, t_end, score, EXISTS(SELECT 1 FROM"
			     " event_thumb t WHERE t.event_id = event.id) FROM event"
			     " WHERE site = ?1 AND t_start >= ?2 AND t_start < ?3 AND kind = ?5"
			     " ORDER BY t_start DESC, id DESC LIMIT ?4"
			   : "SELECT id, site, kind, t_start, t_end, score, EXISTS(SELECT 1 FROM"
			     " event_thumb t WHERE t.event_id = event.id) FROM event"
			     " WHERE site = ?1 AND t_start >= ?2 AND t_start < ?3"
			     " ORDER BY t_start DESC, id DESC LIMIT ?4",
		      site, kind, from_ms, to_ms, limit, sizeof(struct records_event_row),
		      fill_event, &rows, &out->n, &out->truncated, err);
	out->rows = rows;
	if (rc < 0)
		records_events_free(out);
	return rc;
}

void records_events_free(struct records_events *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->rows[i].site);
		free(l->rows[i].kind);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}
