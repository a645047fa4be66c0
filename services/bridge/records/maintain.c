/*
 * maintain.c — retention of the reading tiers and the size bound, and the
 * file's size. Deletions go oldest first, in steps, each step its own
 * transaction followed by an incremental vacuum, until the pages in use fit.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "records_internal.h"

int records_size(struct records *r, int64_t *used_bytes, int64_t *file_bytes,
		 struct records_err *err)
{
	int64_t pages, free_pages, page_size;
	const char *file;
	struct stat sb;

	if (!r)
		return records_fail(err, -EINVAL, "records: no connection");
	if (records_pragma_int(r, "PRAGMA page_count", &pages, err) < 0 ||
	    records_pragma_int(r, "PRAGMA freelist_count", &free_pages, err) < 0 ||
	    records_pragma_int(r, "PRAGMA page_size", &page_size, err) < 0)
		return -EIO;
	if (used_bytes)
		*used_bytes = (pages - free_pages) * page_size;
	if (file_bytes) {
		file = sqlite3_db_filename(r->db, "main");
		*file_bytes = file && stat(file, &sb) == 0 ? (int64_t)sb.st_size : 0;
	}
	return 0;
}

/* Runs sql (one statement, ?1 bound to v) in a transaction of its own and
 * adds its changes to *count. */
static int delete_step(struct records *r, const char *sql, int64_t v, int64_t *count,
		       struct records_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (records_exec(r, "BEGIN IMMEDIATE", err) < 0)
		return -EIO;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = records_sqlfail(r, err, "prepare");
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	sqlite3_bind_int64(st, 1, v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = records_sqlfail(r, err, "maintain");
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (count)
		*count += sqlite3_changes(r->db);
	if (records_exec(r, "COMMIT", err) < 0)
		return -EIO;
	return 0;
}

/* The minutes before cutoff, in a transaction of their own. */
static int minute_step(struct records *r, int64_t cutoff, int64_t *count, struct records_err *err)
{
	int rc;

	if (records_exec(r, "BEGIN IMMEDIATE", err) < 0)
		return -EIO;
	rc = records_minute_drop_before(r, cutoff, count, err);
	if (rc < 0) {
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (records_exec(r, "COMMIT", err) < 0)
		return -EIO;
	return 0;
}

static int vacuum(struct records *r, struct records_err *err)
{
	/* PRAGMA incremental_vacuum returns a row per page freed: exec steps
	 * through them all. */
	return records_exec(r, "PRAGMA incremental_vacuum", err);
}

/*
 * One step of the size bound over a tier: deletes its rows older than the
 * oldest one plus step_ms (a unit of the tier's time). *any is 0 when the
 * tier is empty.
 */
struct tier_step {
	const char *oldest; /* the oldest time, NULL if empty (NULL: minute.c) */
	const char *drop;   /* ?1: delete what is older than this (NULL: minute.c) */
	int64_t step_ms;
	size_t stat; /* which counter of the stats */
};

static const struct tier_step tiers[] = {
    {"SELECT min((SELECT min(ts) FROM reading_raw WHERE series = s.id)) FROM series s",
     "DELETE FROM reading_raw WHERE series IN (SELECT id FROM series) AND ts < ?1", 3600LL * 1000,
     0},
    {NULL, NULL, 24LL * 3600 * 1000, 1}, /* the minute tier: minute.c */
    {"SELECT min((SELECT min(ts) FROM reading_hour WHERE series = s.id)) FROM series s",
     "DELETE FROM reading_hour WHERE series IN (SELECT id FROM series) AND ts < ?1",
     30LL * 24 * 3600 * 1000, 2},
    {"SELECT min(e.t_start) FROM event_thumb t JOIN event e ON e.id = t.event_id",
     "DELETE FROM event_thumb WHERE event_id IN (SELECT id FROM event WHERE t_start < ?1)",
     24LL * 3600 * 1000, 3},
};

static int oldest(struct records *r, const char *sql, int64_t *ts, int *any,
		  struct records_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*any = 0;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return records_sqlfail(r, err, "prepare");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*ts = sqlite3_column_int64(st, 0);
		*any = 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return records_sqlfail(r, err, "finding the oldest rows");
	return 0;
}

int records_maintain(struct records *r, int64_t now_ms, int64_t max_bytes,
		     struct records_maintain_stats *stats, struct records_err *err)
{
	struct records_maintain_stats s;
	int64_t *counts[4];
	int64_t used;
	int rc;

	memset(&s, 0, sizeof(s));
	if (stats)
		memset(stats, 0, sizeof(*stats));
	counts[0] = &s.raw_deleted;
	counts[1] = &s.minute_deleted;
	counts[2] = &s.hour_deleted;
	counts[3] = &s.thumbs_dropped;
	if (!r || r->mode != RECORDS_WRITER)
		return records_fail(err, -EINVAL, "records: maintain needs the writer connection");
	if (r->in_batch)
		return records_fail(err, -EINVAL, "records: maintain inside a batch");
	if (now_ms < 0 || now_ms > RECORDS_TS_MAX || max_bytes < 0)
		return records_fail(err, -EINVAL,
				    "records: maintain: now %lld or bound %lld out of "
				    "range",
				    (long long)now_ms, (long long)max_bytes);
	rc = records_size(r, &s.bytes_before, NULL, err);
	if (rc < 0)
		return rc;
	rc = delete_step(r, tiers[0].drop, now_ms - RECORDS_RAW_KEEP_MS, &s.raw_deleted, err);
	if (rc == 0)
		rc = minute_step(r, now_ms - RECORDS_MINUTE_KEEP_MS, &s.minute_deleted, err);
	if (rc == 0)
		rc = delete_step(r, "DELETE FROM session WHERE last_used <= ?1",
				 now_ms - r->session_idle_ms, &s.sessions_deleted, err);
	if (rc == 0)
		rc = vacuum(r, err);
	if (rc == 0)
		rc = records_size(r, &used, NULL, err);
	for (size_t t = 0; rc == 0 && max_bytes > 0 && used > max_bytes && t < 4;) {
		int64_t ts;
		int any;

		if (tiers[t].oldest)
			rc = oldest(r, tiers[t].oldest, &ts, &any, err);
		else
			rc = records_minute_oldest(r, &ts, &any, err);
		if (rc < 0)
			break;
		if (!any) {
			t++;
			continue;
		}
		if (tiers[t].drop)
			rc = delete_step(r, tiers[t].drop, ts + tiers[t].step_ms,
					 counts[tiers[t].stat], err);
		else
			rc = minute_step(r, ts + tiers[t].step_ms, counts[tiers[t].stat], err);
		if (rc == 0)
			rc = vacuum(r, err);
		if (rc == 0)
			rc = records_size(r, &used, NULL, err);
	}
	if (rc == 0 && records_exec(r, "PRAGMA wal_checkpoint(TRUNCATE)", err) < 0)
		rc = -EIO;
	if (rc == 0)
		rc = records_size(r, &s.bytes_after, NULL, err);
	if (stats)
		*stats = s;
	if (rc == 0 && max_bytes > 0 && s.bytes_after > max_bytes)
		rc = records_fail(
		    err, -ENOSPC,
		    "records: %lld bytes in use after dropping every reading and "
		    "thumbnail, over the bound of %lld: the doses, slots, alerts, plan "
		    "changes and commands are kept",
		    (long long)s.bytes_after, (long long)max_bytes);
	return rc;
}
