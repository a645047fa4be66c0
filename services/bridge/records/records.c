/*
 * records.c — the connection, the schema and its migrations, the checks at
 * open, batches and the writes. Queries are in query.c, retention and the
 * size bound in maintain.c, the backup in backup.c; records_internal.h is
 * what they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "records_internal.h"

/*
 * Schema version 1. Readings are keyed by a series id (one per site and
 * kind) so that the raw rows, the bulk of the file, are three numbers each.
 * The minute and hour tiers keep count, sum, min and max, which combine
 * exactly; the minute tier holds an hour of minutes per row (minute.c).
 * BLOBs live in tables of their own so that listing doses or events never
 * reads them.
 */
static const char schema_v1[] =
    "CREATE TABLE series(id INTEGER PRIMARY KEY, site TEXT NOT NULL, kind TEXT NOT NULL,"
    " UNIQUE(site, kind));"
    "CREATE TABLE reading_raw(series INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " value REAL NOT NULL, PRIMARY KEY(series, ts)) WITHOUT ROWID;"
    "CREATE TABLE reading_minute(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE reading_hour(series INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " n INTEGER NOT NULL, sum REAL NOT NULL, vmin REAL NOT NULL, vmax REAL NOT NULL,"
    " PRIMARY KEY(series, ts)) WITHOUT ROWID;"
    "CREATE TABLE dose(id TEXT PRIMARY KEY, site TEXT NOT NULL, ts INTEGER NOT NULL,"
    " who TEXT, source TEXT, slot TEXT, outcome TEXT, reason TEXT, verified INTEGER,"
    " delta_g REAL);"
    "CREATE INDEX dose_site_ts ON dose(site, ts);"
    "CREATE TABLE dose_snapshot(id TEXT PRIMARY KEY REFERENCES dose(id) ON DELETE CASCADE,"
    " jpeg BLOB NOT NULL);"
    "CREATE TABLE slot(site TEXT NOT NULL, slot TEXT NOT NULL, at INTEGER NOT NULL,"
    " status TEXT NOT NULL, dose_id TEXT, PRIMARY KEY(site, slot)) WITHOUT ROWID;"
    "CREATE INDEX slot_site_at ON slot(site, at);"
    "CREATE TABLE plan(site TEXT NOT NULL, rev INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " who TEXT, json TEXT NOT NULL, PRIMARY KEY(site, rev));"
    "CREATE INDEX plan_site_ts ON plan(site, ts);"
    "CREATE TABLE command(id INTEGER PRIMARY KEY, site TEXT NOT NULL, ts INTEGER NOT NULL,"
    " service TEXT NOT NULL, cmd_id TEXT, action TEXT, result TEXT, reason TEXT, who TEXT);"
    "CREATE INDEX command_site_ts ON command(site, ts);"
    "CREATE TABLE alert(site TEXT NOT NULL, key TEXT NOT NULL, since INTEGER NOT NULL,"
    " source TEXT, code TEXT, level TEXT, message TEXT, updated INTEGER, acked_by TEXT,"
    " acked INTEGER, cleared INTEGER, PRIMARY KEY(site, key, since));"
    "CREATE INDEX alert_site_since ON alert(site, since);"
    "CREATE TABLE event(id INTEGER PRIMARY KEY, site TEXT NOT NULL, kind TEXT NOT NULL,"
    " t_start INTEGER NOT NULL, t_end INTEGER, score REAL, UNIQUE(site, kind, t_start));"
    "CREATE INDEX event_site_start ON event(site, t_start);"
    "CREATE TABLE event_thumb(event_id INTEGER PRIMARY KEY REFERENCES event(id)"
    " ON DELETE CASCADE, jpeg BLOB NOT NULL);";

/*
 * Version 2: operator sessions (issue 13), keyed by the SHA-256 of the
 * token, never the token; the index serves records_sessions and the expiry
 * in records_maintain.
 */
static const char schema_v2[] =
    "CREATE TABLE session(hash BLOB PRIMARY KEY CHECK(length(hash) = 32),"
    " role TEXT NOT NULL, created INTEGER NOT NULL, last_used INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE INDEX session_last_used ON session(last_used);";

/*
 * Version 3: a session belongs to a user (issue 14, the accounts). The
 * sessions from before accounts were the one operator's: they become user
 * and role "admin", which the first-run password now logs in as.
 */
static const char schema_v3[] = "ALTER TABLE session ADD COLUMN user TEXT NOT NULL DEFAULT 'admin';"
				"UPDATE session SET role = 'admin' WHERE role = 'operator';";

static const struct records_migration migrations[] = {
    {1, schema_v1},
    {2, schema_v2},
    {3, schema_v3},
};

const struct records_migration *records_migrations(size_t *n)
{
	*n = sizeof(migrations) / sizeof(migrations[0]);
	return migrations;
}

/* The statements, prepared once per connection on first use. */
static const char *const stmt_sql[RST_COUNT] = {
    [RST_SERIES_GET] = "SELECT id FROM series WHERE site = ?1 AND kind = ?2",
    [RST_SERIES_ADD] = "INSERT INTO series(site, kind) VALUES(?1, ?2)",
    [RST_RAW_ADD] = "INSERT OR IGNORE INTO reading_raw(series, ts, value) VALUES(?1, ?2, ?3)",
    [RST_MINUTE_GET] = "SELECT data FROM reading_minute WHERE id = ?1",
    [RST_MINUTE_PUT] = "INSERT OR REPLACE INTO reading_minute(id, data) VALUES(?1, ?2)",
    [RST_MINUTE_DEL] = "DELETE FROM reading_minute WHERE id = ?1",
    [RST_HOUR_UPSERT] =
	"INSERT INTO reading_hour(series, ts, n, sum, vmin, vmax)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(series, ts) DO UPDATE SET"
	" n = n + excluded.n, sum = sum + excluded.sum, vmin = min(vmin, excluded.vmin),"
	" vmax = max(vmax, excluded.vmax)",
    [RST_DOSE_UPSERT] =
	"INSERT INTO dose(id, site, ts, who, source, slot, outcome, reason, verified,"
	" delta_g) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	" ON CONFLICT(id) DO UPDATE SET who = coalesce(excluded.who, who),"
	" source = coalesce(excluded.source, source), slot = coalesce(excluded.slot, slot),"
	" outcome = coalesce(excluded.outcome, outcome),"
	" reason = coalesce(excluded.reason, reason),"
	" verified = coalesce(excluded.verified, verified),"
	" delta_g = coalesce(excluded.delta_g, delta_g)",
    [RST_SNAPSHOT_PUT] = "INSERT OR REPLACE INTO dose_snapshot(id, jpeg) VALUES(?1, ?2)",
    [RST_SLOT_UPSERT] = "INSERT INTO slot(site, slot, at, status, dose_id)"
			" VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(site, slot) DO UPDATE SET"
			" at = excluded.at, status = excluded.status,"
			" dose_id = coalesce(excluded.dose_id, dose_id)",
    [RST_PLAN_ADD] = "INSERT OR IGNORE INTO plan(site, rev, ts, who, json)"
		     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [RST_COMMAND_ADD] = "INSERT INTO command(site, ts, service, cmd_id, action, result, reason,"
			" who) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [RST_ALERT_UPSERT] =
	"INSERT INTO alert(site, key, since, source, code, level, message, updated,"
	" acked_by, acked, cleared) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
	" ON CONFLICT(site, key, since) DO UPDATE SET"
	" source = coalesce(excluded.source, source), code = coalesce(excluded.code, code),"
	" level = coalesce(excluded.level, level),"
	" message = coalesce(excluded.message, message),"
	" updated = coalesce(excluded.updated, updated),"
	" acked_by = coalesce(excluded.acked_by, acked_by),"
	" acked = coalesce(excluded.acked, acked), cleared = coalesce(excluded.cleared, cleared)",
    [RST_EVENT_UPSERT] =
	"INSERT INTO event(site, kind, t_start, t_end, score)"
	" VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(site, kind, t_start) DO UPDATE SET"
	" t_end = coalesce(excluded.t_end, t_end), score = coalesce(excluded.score,"
	" score) RETURNING id",
    [RST_THUMB_PUT] = "INSERT OR REPLACE INTO event_thumb(event_id, jpeg) VALUES(?1, ?2)",
    [RST_SESSION_PUT] = "INSERT INTO session(hash, role, created, last_used, user)"
			" VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(hash) DO UPDATE SET"
			" role = excluded.role, user = excluded.user, created = excluded.created,"
			" last_used = max(last_used, excluded.last_used)",
    [RST_SESSION_TOUCH] = "UPDATE session SET last_used = max(last_used, ?2) WHERE hash = ?1",
    [RST_SESSION_DEL] = "DELETE FROM session WHERE hash = ?1",
    [RST_EVENT_END] = "UPDATE event SET t_end = ?4 WHERE id = (SELECT id FROM event WHERE"
		      " site = ?1 AND kind = ?2 AND t_end IS NULL AND t_start <= ?3"
		      " ORDER BY t_start DESC LIMIT 1)",
};

int records_fail(struct records_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

int records_sqlfail(struct records *r, struct records_err *err, const char *what)
{
	return records_fail(err, -EIO, "records: %s: %s", what, sqlite3_errmsg(r->db));
}

sqlite3_stmt *records_stmt(struct records *r, enum records_stmt id, struct records_err *err)
{
	sqlite3_stmt *st = r->stmts[id];

	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v3(r->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		records_sqlfail(r, err, "prepare");
		return NULL;
	}
	r->stmts[id] = st;
	return st;
}

int records_exec(struct records *r, const char *sql, struct records_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(r->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		records_fail(err, -EIO, "records: %s: %s", sql, msg ? msg : sqlite3_errmsg(r->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int records_pragma_int(struct records *r, const char *sql, int64_t *v, struct records_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return records_sqlfail(r, err, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	} else if (rc == SQLITE_DONE) {
		*v = 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, sql);
	return 0;
}

static int text_ok(const char *s, size_t max)
{
	return s && s[0] && strlen(s) <= max;
}

/* An optional text: NULL binds NULL. */
static int bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int bind_opt_ms(sqlite3_stmt *st, int i, int64_t ms)
{
	if (ms <= 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_int64(st, i, ms);
}

/* ---------------------------------------------------------------- open */

static void close_db(struct records *r)
{
	for (int i = 0; i < RST_COUNT; i++) {
		sqlite3_finalize(r->stmts[i]);
		r->stmts[i] = NULL;
	}
	sqlite3_close_v2(r->db);
	r->db = NULL;
}

static int is_corrupt(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* What try_open() found: usable, refused (leave the file), or damaged
 * (move it aside). */
enum open_verdict {
	OPEN_OK,
	OPEN_FAILED,
	OPEN_DAMAGED,
};

static enum open_verdict damaged(struct records *r, char *reason, size_t size, const char *what)
{
	snprintf(reason, size, "%s: %s", what, sqlite3_errmsg(r->db));
	return OPEN_DAMAGED;
}

/* After a failed step: OPEN_DAMAGED if SQLite said the file is corrupt or not
 * a database (so a file that passed quick_check and fails later is still
 * moved aside, not refused at every start), else OPEN_FAILED. */
static enum open_verdict failed_or_damaged(struct records *r, char *reason, size_t size,
					   const char *what)
{
	if (is_corrupt(sqlite3_extended_errcode(r->db)))
		return damaged(r, reason, size, what);
	return OPEN_FAILED;
}

/* PRAGMA quick_check: OPEN_OK on "ok", else the first line as the reason. */
static enum open_verdict quick_check(struct records *r, char *reason, size_t size,
				     struct records_err *err)
{
	sqlite3_stmt *st;
	enum open_verdict v = OPEN_OK;
	int rc;

	rc = sqlite3_prepare_v2(r->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		if (is_corrupt(sqlite3_extended_errcode(r->db)))
			return damaged(r, reason, size, "quick_check");
		records_sqlfail(r, err, "quick_check");
		return OPEN_FAILED;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(st, 0);

		if (!res || strcmp(res, "ok") != 0) {
			snprintf(reason, size, "quick_check: %s", res ? res : "(null)");
			v = OPEN_DAMAGED;
		}
	} else if (is_corrupt(rc)) {
		v = damaged(r, reason, size, "quick_check");
	} else {
		records_sqlfail(r, err, "quick_check");
		v = OPEN_FAILED;
	}
	sqlite3_finalize(st);
	return v;
}

static int migrate(struct records *r, const struct records_migration *list, size_t n, int from,
		   struct records_err *err)
{
	char sql[64];

	for (size_t i = 0; i < n; i++) {
		if (list[i].version <= from)
			continue;
		if (records_exec(r, "BEGIN IMMEDIATE", err) < 0)
			return -EIO;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", list[i].version);
		if (records_exec(r, list[i].sql, err) < 0 || records_exec(r, sql, err) < 0) {
			char keep[sizeof(err->msg)];

			snprintf(keep, sizeof(keep), "%s", err ? err->msg : "");
			sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
			return records_fail(err, -EIO, "records: migration to version %d: %s",
					    list[i].version, keep);
		}
		if (records_exec(r, "COMMIT", err) < 0)
			return -EIO;
	}
	return 0;
}

static int check_list(const struct records_migration *list, size_t n, struct records_err *err)
{
	if (!list || n == 0)
		return records_fail(err, -EINVAL, "records: empty migration list");
	for (size_t i = 0; i < n; i++)
		if (list[i].version != (int)i + 1 || !list[i].sql)
			return records_fail(err, -EINVAL,
					    "records: migration %zu has version %d, want %zu", i,
					    list[i].version, i + 1);
	return 0;
}

/*
 * A store holds the home's doses, pictures and session hashes: a file it
 * creates is the owner's only (0600, whatever the umask), and SQLite gives
 * its -wal and -shm the database file's mode. An existing file keeps its
 * mode. 0, or -errno.
 */
int records_create_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0)
		return close(fd) == 0 ? 0 : -errno;
	return errno == EEXIST ? 0 : -errno;
}

/*
 * One attempt at opening the writer. OPEN_DAMAGED leaves the reason and a
 * closed connection; OPEN_FAILED the error in err.
 */
static enum open_verdict try_open_writer(struct records *r, const char *path,
					 const struct records_options *o,
					 struct records_opened *opened, char *reason, size_t size,
					 int *code, struct records_err *err)
{
	int last = o->migrations[o->n_migrations - 1].version;
	int64_t uv, tables, mode_ok;
	enum open_verdict v;
	int rc;

	rc = records_create_private(path);
	if (rc < 0) {
		records_fail(err, -EIO, "records: cannot create %s: %s", path, strerror(-rc));
		return OPEN_FAILED;
	}
	rc = sqlite3_open_v2(
	    path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (r->db && is_corrupt(rc))
			return damaged(r, reason, size, "open");
		records_fail(err, -EIO, "records: cannot open %s: %s", path,
			     r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		return OPEN_FAILED;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, o->busy_timeout_ms);
	if (records_pragma_int(r, "PRAGMA user_version", &uv, err) < 0) {
		if (is_corrupt(sqlite3_extended_errcode(r->db)))
			return damaged(r, reason, size, "reading the schema version");
		return OPEN_FAILED;
	}
	if (uv > last || uv < 0) {
		*code = records_fail(
		    err, -EPROTO,
		    "records: %s has schema version %lld, this build knows versions up to "
		    "%d: refused, the file is left as it is",
		    path, (long long)uv, last);
		return OPEN_FAILED;
	}
	opened->version_found = (int)uv;
	v = quick_check(r, reason, size, err);
	if (v != OPEN_OK)
		return v;
	if (records_pragma_int(r, "SELECT count(*) FROM sqlite_master", &tables, err) < 0)
		return failed_or_damaged(r, reason, size, "reading the schema");
	/* auto_vacuum can only be chosen before the first table exists. */
	if (tables == 0 && records_exec(r, "PRAGMA auto_vacuum = INCREMENTAL", err) < 0)
		return failed_or_damaged(r, reason, size, "auto_vacuum");
	if (records_exec(r, "PRAGMA journal_mode = WAL", err) < 0 ||
	    records_pragma_int(r, "SELECT journal_mode = 'wal' FROM pragma_journal_mode", &mode_ok,
			       err) < 0)
		return failed_or_damaged(r, reason, size, "journal_mode");
	if (!mode_ok) {
		records_fail(err, -EIO, "records: %s: journal_mode WAL not accepted", path);
		return OPEN_FAILED;
	}
	if (records_exec(r, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err) < 0)
		return failed_or_damaged(r, reason, size, "pragmas");
	if (migrate(r, o->migrations, o->n_migrations, (int)uv, err) < 0)
		return failed_or_damaged(r, reason, size, "migrating");
	opened->version_now = last;
	return OPEN_OK;
}

/* Renames from to to if from exists; 0 or -errno. */
static int move_if_there(const char *from, const char *to)
{
	if (rename(from, to) == 0 || errno == ENOENT)
		return 0;
	return -errno;
}

/* Moves path, -wal and -shm aside to "<path>.corrupt-<UTC stamp>[-N]". */
static int move_aside(const char *path, char *moved_to, size_t size, struct records_err *err)
{
	static const char *const side[] = {"-wal", "-shm", "-journal"};
	char stamp[32], from[4200], to[4200];
	struct stat sb;
	struct tm tm;
	time_t now = time(NULL);
	int rc;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 0;; i++) {
		if (i == 0)
			snprintf(moved_to, size, "%s.corrupt-%s", path, stamp);
		else
			snprintf(moved_to, size, "%s.corrupt-%s-%d", path, stamp, i);
		if (stat(moved_to, &sb) != 0)
			break;
		if (i == 1000)
			return records_fail(err, -EEXIST, "records: no free name for %s", moved_to);
	}
	rc = move_if_there(path, moved_to);
	if (rc < 0)
		return records_fail(err, -EIO, "records: cannot move %s aside to %s: %s", path,
				    moved_to, strerror(-rc));
	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, side[i]);
		snprintf(to, sizeof(to), "%s%s", moved_to, side[i]);
		rc = move_if_there(from, to);
		if (rc < 0)
			return records_fail(err, -EIO, "records: cannot move %s aside to %s: %s",
					    from, to, strerror(-rc));
	}
	return 0;
}

static int open_writer(struct records *r, const char *path, const struct records_options *o,
		       struct records_opened *opened, struct records_err *err)
{
	char reason[sizeof(opened->reason)];
	enum open_verdict v;
	int code = -EIO;

	v = try_open_writer(r, path, o, opened, reason, sizeof(reason), &code, err);
	if (v == OPEN_OK)
		return 0;
	if (v == OPEN_FAILED) {
		close_db(r);
		return code;
	}
	/* Moved while still open: closing first would let SQLite delete the
	 * -wal it found, and the evidence with it; closed after, it unlinks
	 * a name that is no longer there. */
	code = move_aside(path, opened->moved_to, sizeof(opened->moved_to), err);
	close_db(r);
	if (code < 0)
		return code;
	opened->recovered = 1;
	snprintf(opened->reason, sizeof(opened->reason), "%s", reason);
	memset(opened, 0, offsetof(struct records_opened, recovered));
	v = try_open_writer(r, path, o, opened, reason, sizeof(reason), &code, err);
	if (v == OPEN_OK)
		return 0;
	close_db(r);
	if (v == OPEN_DAMAGED)
		return records_fail(err, -EIO, "records: %s: a fresh store is damaged too: %s",
				    path, reason);
	return code;
}

static int open_reader(struct records *r, const char *path, const struct records_options *o,
		       struct records_opened *opened, struct records_err *err)
{
	int last = o->migrations[o->n_migrations - 1].version;
	int64_t uv;
	int rc;

	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		records_fail(err, -EIO, "records: cannot open %s read-only: %s", path,
			     r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		close_db(r);
		return -EIO;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, o->busy_timeout_ms);
	if (records_pragma_int(r, "PRAGMA user_version", &uv, err) < 0) {
		close_db(r);
		return -EIO;
	}
	if (uv != last) {
		records_fail(err, -EPROTO,
			     "records: %s has schema version %lld, this build reads version %d "
			     "(the writer opens and migrates it first)",
			     path, (long long)uv, last);
		close_db(r);
		return -EPROTO;
	}
	opened->version_found = opened->version_now = last;
	return 0;
}

int records_open(const char *path, const struct records_options *opts, struct records **out,
		 struct records_opened *opened, struct records_err *err)
{
	struct records_options o = {.mode = RECORDS_WRITER};
	struct records_opened scratch;
	struct records *r;
	int rc;

	if (out)
		*out = NULL;
	if (!opened)
		opened = &scratch;
	memset(opened, 0, sizeof(*opened));
	if (!path || !path[0] || !out)
		return records_fail(err, -EINVAL, "records: open needs a path and an out pointer");
	if (strlen(path) > 4000)
		return records_fail(err, -EINVAL, "records: path too long");
	if (opts)
		o = *opts;
	if (o.mode != RECORDS_WRITER && o.mode != RECORDS_READER)
		return records_fail(err, -EINVAL, "records: unknown mode %d", (int)o.mode);
	if (o.busy_timeout_ms <= 0)
		o.busy_timeout_ms = 5000;
	if (!o.migrations)
		o.migrations = records_migrations(&o.n_migrations);
	rc = check_list(o.migrations, o.n_migrations, err);
	if (rc < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return records_fail(err, -ENOMEM, "records: out of memory");
	r->mode = o.mode;
	r->session_idle_ms = o.session_idle_ms > 0 ? o.session_idle_ms : RECORDS_SESSION_IDLE_MS;
	if (o.mode == RECORDS_WRITER)
		rc = open_writer(r, path, &o, opened, err);
	else
		rc = open_reader(r, path, &o, opened, err);
	if (rc < 0) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static void series_cache_clear(struct records *r)
{
	for (size_t i = 0; i < r->n_series; i++) {
		free(r->series[i].site);
		free(r->series[i].kind);
	}
	r->n_series = 0;
}

void records_close(struct records *r)
{
	if (!r)
		return;
	if (r->in_batch)
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	series_cache_clear(r);
	close_db(r);
	free(r);
}

/* -------------------------------------------------------------- batches */

static int writer_only(struct records *r, struct records_err *err)
{
	if (!r)
		return records_fail(err, -EINVAL, "records: no connection");
	if (r->mode != RECORDS_WRITER)
		return records_fail(err, -EINVAL, "records: a read-only connection cannot write");
	return 0;
}

/* Adds the tier sums kept in memory to the minute and hour tables. */
static int flush_aggs(struct records *r, struct records_err *err)
{
	int rc = records_minute_flush(r, r->minute, r->n_minute, err);

	if (rc < 0)
		return rc;
	r->n_minute = 0;
	for (size_t i = 0; i < r->n_hour; i++) {
		struct records_agg *a = &r->hour[i];
		sqlite3_stmt *st = records_stmt(r, RST_HOUR_UPSERT, err);

		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, a->series);
		sqlite3_bind_int64(st, 2, a->ts);
		sqlite3_bind_int64(st, 3, a->n);
		sqlite3_bind_double(st, 4, a->sum);
		sqlite3_bind_double(st, 5, a->min);
		sqlite3_bind_double(st, 6, a->max);
		if (sqlite3_step(st) != SQLITE_DONE)
			return records_sqlfail(r, err, "adding to the hour tier");
	}
	r->n_hour = 0;
	return 0;
}

int records_begin(struct records *r, struct records_err *err)
{
	int rc = writer_only(r, err);

	if (rc < 0)
		return rc;
	if (r->in_batch)
		return records_fail(err, -EINVAL, "records: a batch is already open");
	if (records_exec(r, "BEGIN IMMEDIATE", err) < 0)
		return -EIO;
	r->in_batch = 1;
	return 0;
}

static void drop_batch(struct records *r)
{
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	r->in_batch = 0;
	r->n_minute = r->n_hour = 0;
	/* Series added in the batch are gone with it. */
	series_cache_clear(r);
}

int records_commit(struct records *r, struct records_err *err)
{
	int rc = writer_only(r, err);

	if (rc < 0)
		return rc;
	if (!r->in_batch)
		return records_fail(err, -EINVAL, "records: commit without a batch");
	rc = flush_aggs(r, err);
	if (rc == 0)
		rc = records_exec(r, "COMMIT", err);
	if (rc < 0) {
		drop_batch(r);
		return rc;
	}
	r->in_batch = 0;
	return 0;
}

int records_rollback(struct records *r, struct records_err *err)
{
	int rc = writer_only(r, err);

	if (rc < 0)
		return rc;
	if (!r->in_batch)
		return records_fail(err, -EINVAL, "records: rollback without a batch");
	drop_batch(r);
	return 0;
}

/* A write outside a batch is a batch of one: open it here, close it in
 * write_end(). */
static int write_start(struct records *r, int *own, struct records_err *err)
{
	int rc = writer_only(r, err);

	*own = 0;
	if (rc < 0)
		return rc;
	if (r->in_batch)
		return 0;
	rc = records_begin(r, err);
	if (rc == 0)
		*own = 1;
	return rc;
}

static int write_end(struct records *r, int own, int rc, struct records_err *err)
{
	if (!own)
		return rc;
	if (rc < 0) {
		drop_batch(r);
		return rc;
	}
	return records_commit(r, err);
}

/* ------------------------------------------------------------- readings */

int records_series_find(struct records *r, const char *site, const char *kind, int64_t *id,
			struct records_err *err)
{
	sqlite3_stmt *st = records_stmt(r, RST_SERIES_GET, err);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, "looking up a series");
	return -ENOENT;
}

static int series_id(struct records *r, const char *site, const char *kind, int64_t *id,
		     struct records_err *err)
{
	sqlite3_stmt *st;
	int rc;

	for (size_t i = 0; i < r->n_series; i++)
		if (strcmp(r->series[i].site, site) == 0 && strcmp(r->series[i].kind, kind) == 0) {
			*id = r->series[i].id;
			return 0;
		}
	rc = records_series_find(r, site, kind, id, err);
	if (rc == -ENOENT) {
		st = records_stmt(r, RST_SERIES_ADD, err);
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return records_sqlfail(r, err, "adding a series");
		*id = sqlite3_last_insert_rowid(r->db);
		rc = 0;
	}
	if (rc < 0)
		return rc;
	if (r->n_series < RECORDS_SERIES_CACHE) {
		char *s = strdup(site), *k = strdup(kind);

		if (s && k) {
			r->series[r->n_series].site = s;
			r->series[r->n_series].kind = k;
			r->series[r->n_series].id = *id;
			r->n_series++;
		} else {
			free(s);
			free(k);
		}
	}
	return 0;
}

static int64_t floor_to(int64_t ts, int64_t unit)
{
	int64_t q = ts / unit;

	if (ts % unit < 0)
		q--;
	return q * unit;
}

/* Adds value to the tier's sum for (series, start of its unit), flushing
 * them all when the table is full. */
static int agg_add(struct records *r, struct records_agg *a, size_t *n, int64_t series, int64_t ts,
		   double value, struct records_err *err)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (a[i].series == series && a[i].ts == ts)
			break;
	if (i == *n) {
		if (*n == RECORDS_AGGS) {
			int rc = flush_aggs(r, err);

			if (rc < 0)
				return rc;
			i = *n;
		}
		a[i].series = series;
		a[i].ts = ts;
		a[i].n = 0;
		a[i].sum = 0;
		a[i].min = value;
		a[i].max = value;
		(*n)++;
	}
	a[i].n++;
	a[i].sum += value;
	if (value < a[i].min)
		a[i].min = value;
	if (value > a[i].max)
		a[i].max = value;
	return 0;
}

int records_add_reading(struct records *r, const char *site, const char *kind, int64_t ts_ms,
			double value, struct records_err *err)
{
	sqlite3_stmt *st;
	int64_t series;
	int own, rc;

	if (!text_ok(site, 64) || !text_ok(kind, 64))
		return records_fail(err, -EINVAL,
				    "records: a reading needs a site and a kind of 1..64 bytes");
	if (!isfinite(value))
		return records_fail(err, -EINVAL, "records: %s/%s: the value is not finite", site,
				    kind);
	if (ts_ms < 0 || ts_ms > RECORDS_TS_MAX)
		return records_fail(err, -EINVAL, "records: %s/%s: ts %lld out of range", site,
				    kind, (long long)ts_ms);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	rc = series_id(r, site, kind, &series, err);
	if (rc == 0) {
		st = records_stmt(r, RST_RAW_ADD, err);
		rc = st ? 0 : -EIO;
	}
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, series);
		sqlite3_bind_int64(st, 2, ts_ms);
		sqlite3_bind_double(st, 3, value);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = records_sqlfail(r, err, "adding a reading");
		else if (sqlite3_changes(r->db) == 1)
			/* New (not a redelivery): into both tiers. */
			rc = agg_add(r, r->minute, &r->n_minute, series,
				     floor_to(ts_ms, RECORDS_MINUTE_MS), value, err);
		else
			series = -1;
	}
	if (rc == 0 && series >= 0)
		rc = agg_add(r, r->hour, &r->n_hour, series, floor_to(ts_ms, RECORDS_HOUR_MS),
			     value, err);
	return write_end(r, own, rc, err);
}

/* ------------------------------------------------------ the other rows */

static int step_done(struct records *r, sqlite3_stmt *st, const char *what, struct records_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return records_sqlfail(r, err, what);
	return 0;
}

static int ts_ok(int64_t ts)
{
	return ts >= 0 && ts <= RECORDS_TS_MAX;
}

int records_put_dose(struct records *r, const struct records_dose *d, struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc;

	if (!d || !text_ok(d->id, 128) || !text_ok(d->site, 64))
		return records_fail(err, -EINVAL,
				    "records: a dose needs an id (1..128 bytes) and a site");
	if (!ts_ok(d->ts_ms))
		return records_fail(err, -EINVAL, "records: dose %s: ts %lld out of range", d->id,
				    (long long)d->ts_ms);
	if (d->verified > 1)
		return records_fail(err, -EINVAL, "records: dose %s: verified %d is not -1, 0 or 1",
				    d->id, d->verified);
	if (d->has_delta_g && !isfinite(d->delta_g))
		return records_fail(err, -EINVAL, "records: dose %s: delta_g is not finite", d->id);
	if (d->snapshot_len > RECORDS_SNAPSHOT_MAX)
		return records_fail(err, -EFBIG,
				    "records: dose %s: snapshot of %zu bytes is over the %d-byte "
				    "bound",
				    d->id, d->snapshot_len, RECORDS_SNAPSHOT_MAX);
	if (d->snapshot_len > 0 && !d->snapshot)
		return records_fail(err, -EINVAL, "records: dose %s: snapshot length without data",
				    d->id);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_DOSE_UPSERT, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, d->site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, d->ts_ms);
		bind_opt(st, 4, d->by);
		bind_opt(st, 5, d->source);
		bind_opt(st, 6, d->slot);
		bind_opt(st, 7, d->outcome);
		bind_opt(st, 8, d->reason);
		if (d->verified >= 0)
			sqlite3_bind_int(st, 9, d->verified);
		if (d->has_delta_g)
			sqlite3_bind_double(st, 10, d->delta_g);
		rc = step_done(r, st, "storing a dose", err);
	}
	if (rc == 0 && d->snapshot_len > 0) {
		st = records_stmt(r, RST_SNAPSHOT_PUT, err);
		if (!st) {
			rc = -EIO;
		} else {
			sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 2, d->snapshot, (int)d->snapshot_len, SQLITE_STATIC);
			rc = step_done(r, st, "storing a dose snapshot", err);
		}
	}
	return write_end(r, own, rc, err);
}

static int slot_status_ok(const char *s)
{
	static const char *const known[] = {"pending", "given",	 "late",   "skipped",
					    "paused",  "missed", "failed", "uncertain"};

	for (size_t i = 0; s && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, known[i]) == 0)
			return 1;
	return 0;
}

int records_put_slot(struct records *r, const struct records_slot *s, struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc;

	if (!s || !text_ok(s->site, 64) || !text_ok(s->slot, 32))
		return records_fail(err, -EINVAL, "records: a slot needs a site and a slot id");
	if (!slot_status_ok(s->status))
		return records_fail(err, -EINVAL, "records: slot %s: unknown status '%s'", s->slot,
				    s->status ? s->status : "(null)");
	if (!ts_ok(s->at_ms))
		return records_fail(err, -EINVAL, "records: slot %s: at %lld out of range", s->slot,
				    (long long)s->at_ms);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_SLOT_UPSERT, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_text(st, 1, s->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->slot, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, s->at_ms);
		sqlite3_bind_text(st, 4, s->status, -1, SQLITE_STATIC);
		bind_opt(st, 5, s->dose_id);
		rc = step_done(r, st, "storing a slot", err);
	}
	return write_end(r, own, rc, err);
}

int records_add_plan(struct records *r, const struct records_plan *p, struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc;

	if (!p || !text_ok(p->site, 64) || !p->json)
		return records_fail(err, -EINVAL,
				    "records: a plan change needs a site and its JSON");
	if (!ts_ok(p->ts_ms))
		return records_fail(err, -EINVAL, "records: plan rev %lld: ts out of range",
				    (long long)p->rev);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_PLAN_ADD, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_text(st, 1, p->site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, p->rev);
		sqlite3_bind_int64(st, 3, p->ts_ms);
		bind_opt(st, 4, p->by);
		sqlite3_bind_text(st, 5, p->json, -1, SQLITE_STATIC);
		rc = step_done(r, st, "storing a plan change", err);
	}
	return write_end(r, own, rc, err);
}

int records_add_command(struct records *r, const struct records_command *c, struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc;

	if (!c || !text_ok(c->site, 64) || !text_ok(c->service, 64))
		return records_fail(err, -EINVAL, "records: a command needs a site and a service");
	if (!ts_ok(c->ts_ms))
		return records_fail(err, -EINVAL, "records: command: ts %lld out of range",
				    (long long)c->ts_ms);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_COMMAND_ADD, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, c->ts_ms);
		sqlite3_bind_text(st, 3, c->service, -1, SQLITE_STATIC);
		bind_opt(st, 4, c->id);
		bind_opt(st, 5, c->action);
		bind_opt(st, 6, c->result);
		bind_opt(st, 7, c->reason);
		bind_opt(st, 8, c->by);
		rc = step_done(r, st, "storing a command", err);
	}
	return write_end(r, own, rc, err);
}

int records_put_alert(struct records *r, const struct records_alert *a, struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc;

	if (!a || !text_ok(a->site, 64) || !text_ok(a->key, 256))
		return records_fail(err, -EINVAL, "records: an alert needs a site and a key");
	if (!ts_ok(a->since_ms) || a->updated_ms < 0 || a->updated_ms > RECORDS_TS_MAX ||
	    a->acked_ms < 0 || a->acked_ms > RECORDS_TS_MAX || a->cleared_ms < 0 ||
	    a->cleared_ms > RECORDS_TS_MAX)
		return records_fail(err, -EINVAL, "records: alert %s: a time out of range", a->key);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_ALERT_UPSERT, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_text(st, 1, a->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, a->since_ms);
		bind_opt(st, 4, a->source);
		bind_opt(st, 5, a->code);
		bind_opt(st, 6, a->level);
		bind_opt(st, 7, a->message);
		bind_opt_ms(st, 8, a->updated_ms);
		bind_opt(st, 9, a->acked_by);
		bind_opt_ms(st, 10, a->acked_ms);
		bind_opt_ms(st, 11, a->cleared_ms);
		rc = step_done(r, st, "storing an alert", err);
	}
	return write_end(r, own, rc, err);
}

int records_put_event(struct records *r, const struct records_event *e, int64_t *id_out,
		      struct records_err *err)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int own, rc;

	if (!e || !text_ok(e->site, 64) || !text_ok(e->kind, 64))
		return records_fail(err, -EINVAL, "records: an event needs a site and a kind");
	if (!ts_ok(e->start_ms) || e->end_ms < 0 || e->end_ms > RECORDS_TS_MAX)
		return records_fail(err, -EINVAL, "records: %s event: a time out of range",
				    e->kind);
	if (e->end_ms > 0 && e->end_ms < e->start_ms)
		return records_fail(err, -EINVAL, "records: %s event ends before it starts",
				    e->kind);
	if (e->thumb_len > RECORDS_THUMB_MAX)
		return records_fail(err, -EFBIG,
				    "records: %s event thumbnail of %zu bytes is over the %d-byte "
				    "bound; not stored",
				    e->kind, e->thumb_len, RECORDS_THUMB_MAX);
	if (e->thumb_len > 0 && !e->thumb)
		return records_fail(err, -EINVAL, "records: thumbnail length without data");
	if (!isfinite(e->score))
		return records_fail(err, -EINVAL, "records: %s event: score is not finite",
				    e->kind);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_EVENT_UPSERT, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_text(st, 1, e->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, e->start_ms);
		bind_opt_ms(st, 4, e->end_ms);
		if (e->score >= 0)
			sqlite3_bind_double(st, 5, e->score);
		if (sqlite3_step(st) == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			rc = step_done(r, st, "storing an event", err);
		} else {
			rc = records_sqlfail(r, err, "storing an event");
			sqlite3_reset(st);
		}
	}
	if (rc == 0 && e->thumb_len > 0) {
		st = records_stmt(r, RST_THUMB_PUT, err);
		if (!st) {
			rc = -EIO;
		} else {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_blob(st, 2, e->thumb, (int)e->thumb_len, SQLITE_STATIC);
			rc = step_done(r, st, "storing a thumbnail", err);
		}
	}
	rc = write_end(r, own, rc, err);
	if (rc == 0 && id_out)
		*id_out = id;
	return rc;
}

int records_end_event(struct records *r, const char *site, const char *kind, int64_t end_ms,
		      struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc;

	if (!text_ok(site, 64) || !text_ok(kind, 64) || !ts_ok(end_ms) || end_ms == 0)
		return records_fail(err, -EINVAL,
				    "records: ending an event needs a site, a kind "
				    "and a time");
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_EVENT_END, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, end_ms);
		sqlite3_bind_int64(st, 4, end_ms);
		rc = step_done(r, st, "ending an event", err);
		if (rc == 0 && sqlite3_changes(r->db) == 0)
			rc = records_fail(err, -ENOENT, "records: no open %s event of %s to end",
					  kind, site);
	}
	return write_end(r, own, rc, err);
}

/* ------------------------------------------------------------- sessions */

static int session_args(const unsigned char *hash, int64_t last_used_ms, const char *what,
			struct records_err *err)
{
	if (!hash)
		return records_fail(err, -EINVAL, "records: %s needs a token hash", what);
	if (!ts_ok(last_used_ms))
		return records_fail(err, -EINVAL, "records: %s: last used %lld out of range", what,
				    (long long)last_used_ms);
	return 0;
}

int records_put_session(struct records *r, const struct records_session *s, struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc;

	if (!s)
		return records_fail(err, -EINVAL, "records: no session");
	rc = session_args(s->hash, s->last_used_ms, "a session", err);
	if (rc < 0)
		return rc;
	if (!text_ok(s->role, 32))
		return records_fail(err, -EINVAL, "records: a session needs a role (1..32 bytes)");
	if (s->user && !text_ok(s->user, 32))
		return records_fail(err, -EINVAL, "records: a session's user is 1..32 bytes");
	if (!ts_ok(s->created_ms) || s->created_ms > s->last_used_ms)
		return records_fail(err, -EINVAL,
				    "records: a session created at %lld, after its last use "
				    "%lld or out of range",
				    (long long)s->created_ms, (long long)s->last_used_ms);
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_SESSION_PUT, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_blob(st, 1, s->hash, RECORDS_SESSION_HASH, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->role, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, s->created_ms);
		sqlite3_bind_int64(st, 4, s->last_used_ms);
		sqlite3_bind_text(st, 5, s->user ? s->user : "admin", -1, SQLITE_STATIC);
		rc = step_done(r, st, "storing a session", err);
	}
	return write_end(r, own, rc, err);
}

int records_touch_session(struct records *r, const unsigned char hash[RECORDS_SESSION_HASH],
			  int64_t last_used_ms, struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc = session_args(hash, last_used_ms, "touching a session", err);

	if (rc < 0)
		return rc;
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_SESSION_TOUCH, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_blob(st, 1, hash, RECORDS_SESSION_HASH, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, last_used_ms);
		rc = step_done(r, st, "touching a session", err);
		if (rc == 0 && sqlite3_changes(r->db) == 0)
			rc = records_fail(err, -ENOENT, "records: no such session to touch");
	}
	/* -ENOENT changed nothing: the batch it may be in goes on. */
	return write_end(r, own, rc == -ENOENT ? 0 : rc, err) < 0 ? -EIO : rc;
}

int records_delete_session(struct records *r, const unsigned char hash[RECORDS_SESSION_HASH],
			   struct records_err *err)
{
	sqlite3_stmt *st;
	int own, rc = session_args(hash, 0, "deleting a session", err);

	if (rc < 0)
		return rc;
	rc = write_start(r, &own, err);
	if (rc < 0)
		return rc;
	st = records_stmt(r, RST_SESSION_DEL, err);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_blob(st, 1, hash, RECORDS_SESSION_HASH, SQLITE_STATIC);
		rc = step_done(r, st, "deleting a session", err);
		if (rc == 0 && sqlite3_changes(r->db) == 0)
			rc = records_fail(err, -ENOENT, "records: no such session to delete");
	}
	return write_end(r, own, rc == -ENOENT ? 0 : rc, err) < 0 ? -EIO : rc;
}

int records_sessions(struct records *r, int64_t now_ms, struct records_sessions *out,
		     struct records_err *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!r || !out)
		return records_fail(err, -EINVAL, "records: sessions needs a connection and out");
	if (!ts_ok(now_ms))
		return records_fail(err, -EINVAL, "records: sessions: now %lld out of range",
				    (long long)now_ms);
	if (sqlite3_prepare_v2(r->db,
			       "SELECT hash, role, created, last_used, user FROM session"
			       " WHERE last_used > ?1 ORDER BY last_used DESC LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return records_sqlfail(r, err, "listing sessions");
	sqlite3_bind_int64(st, 1, now_ms - r->session_idle_ms);
	sqlite3_bind_int64(st, 2, RECORDS_SESSIONS_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *hash = sqlite3_column_blob(st, 0);
		const unsigned char *role = sqlite3_column_text(st, 1);
		const unsigned char *user = sqlite3_column_text(st, 4);
		struct records_session_row *row;

		if (!hash || sqlite3_column_bytes(st, 0) != RECORDS_SESSION_HASH || !role || !user)
			continue; /* the CHECK rules it out; a damaged row is skipped */
		if (out->n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			void *p = realloc(out->rows, ncap * sizeof(*out->rows));

			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			out->rows = p;
			cap = ncap;
		}
		row = &out->rows[out->n];
		memcpy(row->hash, hash, RECORDS_SESSION_HASH);
		row->role = strdup((const char *)role);
		row->user = strdup((const char *)user);
		if (!row->role || !row->user) {
			free(row->role);
			free(row->user);
			rc = SQLITE_NOMEM;
			break;
		}
		row->created_ms = sqlite3_column_int64(st, 2);
		row->last_used_ms = sqlite3_column_int64(st, 3);
		out->n++;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_NOMEM) {
		records_sessions_free(out);
		return records_fail(err, -ENOMEM, "records: out of memory listing sessions");
	}
	if (rc != SQLITE_DONE) {
		rc = records_sqlfail(r, err, "listing sessions");
		records_sessions_free(out);
		return rc;
	}
	return 0;
}

void records_sessions_free(struct records_sessions *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->rows[i].role);
		free(l->rows[i].user);
	}
	free(l->rows);
	l->rows = NULL;
	l->n = 0;
}
