/*
 * minute.c — the minute tier, stored as one row per series and hour: a
 * BLOB of 60 minute entries (count, sum, min, max; count 0 is an empty
 * minute), keyed by id = series << 32 | hour number. A 30-day history at
 * 1-minute resolution is then 720 rows per sensor instead of 43,200 (the
 * per-row cost of SQLite's cursor, not the bytes, was what made that query
 * slow), while a minute stays exact and mergeable. Entries are little-endian
 * so a file moves between machines. Every function runs in the caller's
 * transaction.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "records_internal.h"

#define ENTRY_BYTES 32
#define BLOCK_BYTES (RECORDS_BLOCK_MINUTES * ENTRY_BYTES)

struct minute_entry {
	int64_t n;
	double sum, min, max;
};

static int64_t block_key(int64_t series, int64_t hour)
{
	return (int64_t)((uint64_t)series << 32 | (uint64_t)hour);
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static void put_u64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static double u2d(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint64_t d2u(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

/* A stored block into 60 entries; a missing or short BLOB reads as empty
 * minutes beyond its end (never past it). */
static void decode(const unsigned char *b, int len, struct minute_entry *e)
{
	memset(e, 0, RECORDS_BLOCK_MINUTES * sizeof(*e));
	for (int i = 0; b && i < RECORDS_BLOCK_MINUTES && (i + 1) * ENTRY_BYTES <= len; i++) {
		const unsigned char *p = b + i * ENTRY_BYTES;

		e[i].n = (int64_t)get_u64(p);
		e[i].sum = u2d(get_u64(p + 8));
		e[i].min = u2d(get_u64(p + 16));
		e[i].max = u2d(get_u64(p + 24));
	}
}

static void encode(const struct minute_entry *e, unsigned char *b)
{
	for (int i = 0; i < RECORDS_BLOCK_MINUTES; i++) {
		unsigned char *p = b + i * ENTRY_BYTES;

		put_u64(p, (uint64_t)e[i].n);
		put_u64(p + 8, d2u(e[i].sum));
		put_u64(p + 16, d2u(e[i].min));
		put_u64(p + 24, d2u(e[i].max));
	}
}

static int load(struct records *r, int64_t key, struct minute_entry *e, int *found,
		struct records_err *err)
{
	sqlite3_stmt *st = records_stmt(r, RST_MINUTE_GET, err);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, key);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW)
		decode(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), e);
	else
		decode(NULL, 0, e);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return records_sqlfail(r, err, "reading the minute tier");
	return 0;
}

/* Writes the block, or deletes it when every minute is empty. */
static int store(struct records *r, int64_t key, const struct minute_entry *e,
		 struct records_err *err)
{
	unsigned char b[BLOCK_BYTES];
	sqlite3_stmt *st;
	int empty = 1, rc;

	for (int i = 0; i < RECORDS_BLOCK_MINUTES; i++)
		if (e[i].n > 0)
			empty = 0;
	st = records_stmt(r, empty ? RST_MINUTE_DEL : RST_MINUTE_PUT, err);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, key);
	if (!empty) {
		encode(e, b);
		sqlite3_bind_blob(st, 2, b, BLOCK_BYTES, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, "writing the minute tier");
	return 0;
}

static int agg_cmp(const void *a, const void *b)
{
	const struct records_agg *x = a, *y = b;

	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

int records_minute_flush(struct records *r, struct records_agg *a, size_t n,
			 struct records_err *err)
{
	struct minute_entry e[RECORDS_BLOCK_MINUTES];
	size_t i = 0;
	int found, rc;

	qsort(a, n, sizeof(*a), agg_cmp);
	while (i < n) {
		int64_t hour = a[i].ts / RECORDS_HOUR_MS;
		int64_t key = block_key(a[i].series, hour);

		rc = load(r, key, e, &found, err);
		if (rc < 0)
			return rc;
		for (; i < n && block_key(a[i].series, a[i].ts / RECORDS_HOUR_MS) == key; i++) {
			struct minute_entry *m =
			    &e[(a[i].ts % RECORDS_HOUR_MS) / RECORDS_MINUTE_MS];

			if (m->n == 0) {
				m->min = a[i].min;
				m->max = a[i].max;
			} else {
				if (a[i].min < m->min)
					m->min = a[i].min;
				if (a[i].max > m->max)
					m->max = a[i].max;
			}
			m->n += a[i].n;
			m->sum += a[i].sum;
		}
		rc = store(r, key, e, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int records_minute_scan(struct records *r, int64_t series, int64_t from_ms, int64_t to_ms,
			records_minute_fn fn, void *arg, struct records_err *err)
{
	struct minute_entry e[RECORDS_BLOCK_MINUTES];
	sqlite3_stmt *st;
	int rc;

	if (from_ms >= to_ms)
		return 0;
	if (sqlite3_prepare_v2(
		r->db,
		"SELECT id, data FROM reading_minute WHERE id >= ?1 AND id <= ?2 ORDER BY id", -1,
		&st, NULL) != SQLITE_OK)
		return records_sqlfail(r, err, "prepare");
	sqlite3_bind_int64(st, 1, block_key(series, from_ms / RECORDS_HOUR_MS));
	sqlite3_bind_int64(st, 2, block_key(series, (to_ms - 1) / RECORDS_HOUR_MS));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t hour_ms = (sqlite3_column_int64(st, 0) & 0xffffffffLL) * RECORDS_HOUR_MS;

		decode(sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), e);
		for (int i = 0; i < RECORDS_BLOCK_MINUTES; i++) {
			int64_t ts = hour_ms + i * RECORDS_MINUTE_MS;

			if (e[i].n == 0 || ts < from_ms || ts >= to_ms)
				continue;
			if (fn(arg, ts, e[i].n, e[i].sum, e[i].min, e[i].max) < 0) {
				sqlite3_finalize(st);
				return records_fail(err, -ENOMEM,
						    "records: minute tier: out of memory");
			}
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, "reading the minute tier");
	return 0;
}

/* The minutes in use of the blocks of series in [lo_key, hi_key). */
static int count_range(struct records *r, int64_t lo_key, int64_t hi_key, int64_t *count,
		       struct records_err *err)
{
	struct minute_entry e[RECORDS_BLOCK_MINUTES];
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(r->db, "SELECT data FROM reading_minute WHERE id >= ?1 AND id < ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return records_sqlfail(r, err, "prepare");
	sqlite3_bind_int64(st, 1, lo_key);
	sqlite3_bind_int64(st, 2, hi_key);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		decode(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), e);
		for (int i = 0; i < RECORDS_BLOCK_MINUTES; i++)
			*count += e[i].n > 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, "reading the minute tier");
	return 0;
}

static int delete_range(struct records *r, int64_t lo_key, int64_t hi_key, struct records_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(r->db, "DELETE FROM reading_minute WHERE id >= ?1 AND id < ?2", -1,
			       &st, NULL) != SQLITE_OK)
		return records_sqlfail(r, err, "prepare");
	sqlite3_bind_int64(st, 1, lo_key);
	sqlite3_bind_int64(st, 2, hi_key);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, "trimming the minute tier");
	return 0;
}

/* The series ids, malloc'd. */
static int series_list(struct records *r, int64_t **ids, size_t *n, struct records_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(r->db, "SELECT id FROM series ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK)
		return records_sqlfail(r, err, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			int64_t *p = realloc(*ids, (cap ? cap * 2 : 16) * sizeof(**ids));

			if (!p) {
				sqlite3_finalize(st);
				free(*ids);
				*ids = NULL;
				return records_fail(err, -ENOMEM, "records: out of memory");
			}
			*ids = p;
			cap = cap ? cap * 2 : 16;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		return records_sqlfail(r, err, "listing series");
	}
	return 0;
}

int records_minute_drop_before(struct records *r, int64_t cutoff_ms, int64_t *deleted,
			       struct records_err *err)
{
	struct minute_entry e[RECORDS_BLOCK_MINUTES];
	int64_t *ids, hour;
	size_t n;
	int rc, found;

	if (cutoff_ms <= 0)
		return 0;
	hour = cutoff_ms / RECORDS_HOUR_MS;
	rc = series_list(r, &ids, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int64_t lo = block_key(ids[i], 0), edge = block_key(ids[i], hour);

		/* Whole hours before the cutoff's hour, then its hour's minutes
		 * before it. */
		rc = count_range(r, lo, edge, deleted, err);
		if (rc == 0)
			rc = delete_range(r, lo, edge, err);
		if (rc == 0)
			rc = load(r, edge, e, &found, err);
		if (rc == 0 && found) {
			int changed = 0;

			for (int m = 0; m < RECORDS_BLOCK_MINUTES; m++)
				if (e[m].n > 0 &&
				    hour * RECORDS_HOUR_MS + m * RECORDS_MINUTE_MS < cutoff_ms) {
					e[m].n = 0;
					(*deleted)++;
					changed = 1;
				}
			if (changed)
				rc = store(r, edge, e, err);
		}
	}
	free(ids);
	return rc;
}

int records_minute_oldest(struct records *r, int64_t *ts, int *any, struct records_err *err)
{
	struct minute_entry e[RECORDS_BLOCK_MINUTES];
	sqlite3_stmt *st;
	int64_t *ids;
	size_t n;
	int rc;

	*any = 0;
	rc = series_list(r, &ids, &n, err);
	if (rc < 0)
		return rc;
	if (sqlite3_prepare_v2(r->db,
			       "SELECT id, data FROM reading_minute WHERE id >= ?1 AND id < ?2"
			       " ORDER BY id LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK) {
		free(ids);
		return records_sqlfail(r, err, "prepare");
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, block_key(ids[i], 0));
		sqlite3_bind_int64(st, 2, block_key(ids[i] + 1, 0));
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_ROW)
			break;
		int64_t hour_ms = (sqlite3_column_int64(st, 0) & 0xffffffffLL) * RECORDS_HOUR_MS;

		decode(sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), e);
		for (int m = 0; m < RECORDS_BLOCK_MINUTES; m++)
			if (e[m].n > 0) {
				int64_t t = hour_ms + m * RECORDS_MINUTE_MS;

				if (!*any || t < *ts)
					*ts = t;
				*any = 1;
				break;
			}
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	free(ids);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, "reading the minute tier");
	return 0;
}
