/* records (services/bridge/records): the schema and its migrations, the
 * checks at open (a newer file refused, a damaged one moved aside), the
 * tiers' exactness, retention and the size bound, the upserts and lists,
 * the online backup, and bad arguments. Each test has its own temp dir. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "records.h"

#define MIN_MS	(60LL * 1000)
#define HOUR_MS (3600LL * 1000)
#define DAY_MS	(24 * HOUR_MS)
/* 2026-11-30T00:00:00Z: a whole hour, so the tests' buckets are easy to see. */
#define T0 1764460800000LL

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/iod-records-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/records.db", dir);
}

static void teardown(void)
{
	char cmd[128];

	/* Only our own mkdtemp directory. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(records, .init = setup, .fini = teardown, .timeout = 120);

static struct records *open_writer(struct records_opened *op)
{
	struct records_err err = {{0}};
	struct records *r = NULL;
	int rc = records_open(path, NULL, &r, op, &err);

	cr_assert_eq(rc, 0, "open: %d %s", rc, err.msg);
	return r;
}

static struct records *open_reader(void)
{
	struct records_options o = {.mode = RECORDS_READER};
	struct records_err err = {{0}};
	struct records *r = NULL;
	int rc = records_open(path, &o, &r, NULL, &err);

	cr_assert_eq(rc, 0, "open reader: %d %s", rc, err.msg);
	return r;
}

/* One integer from the file through a connection of the test's own. */
static int64_t sql_int(const char *file, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	cr_assert_eq(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_exec(const char *file, const char *sql)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void add(struct records *r, const char *kind, int64_t ts, double v)
{
	struct records_err err = {{0}};
	int rc = records_add_reading(r, "home", kind, ts, v, &err);

	cr_assert_eq(rc, 0, "add: %s", err.msg);
}

static int exists(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0;
}

/* --------------------------------------------------------- migrations */

Test(records, fresh_file_is_v3_wal_incremental)
{
	struct records_opened op;
	struct records *r = open_writer(&op);

	cr_assert_eq(RECORDS_SCHEMA_VERSION, 3);
	cr_assert_eq(op.version_found, 0);
	cr_assert_eq(op.version_now, RECORDS_SCHEMA_VERSION);
	cr_assert_eq(op.recovered, 0);
	records_close(r);
	cr_assert_eq(sql_int(path, "PRAGMA user_version"), 3);
	cr_assert_eq(sql_int(path, "PRAGMA auto_vacuum"), 2); /* INCREMENTAL */
	cr_assert_eq(sql_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'dose'"), 1);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'session'"), 1);
	/* Opened again: nothing to migrate. */
	r = open_writer(&op);
	cr_assert_eq(op.version_found, 3);
	cr_assert_eq(op.version_now, 3);
	records_close(r);
}

/* The home's doses, pictures and session hashes are the owner's only:
 * the file, its -wal and -shm, and a backup, whatever the umask. */
Test(records, files_it_creates_are_0600)
{
	mode_t old = umask(022);
	struct records_opened op;
	struct records *r = open_writer(&op);
	struct records_err err;
	char wal[160], dst[160];
	struct stat sb;

	cr_assert_eq(records_add_reading(r, "home", "bowl", 1000, 1.0, &err), 0, "%s", err.msg);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "records.db is %o", sb.st_mode & 0777);
	cr_assert_eq(stat(wal, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "records.db-wal is %o", sb.st_mode & 0777);
	snprintf(dst, sizeof(dst), "%s.backup", path);
	cr_assert_eq(records_backup(path, dst, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(dst, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "the backup is %o", sb.st_mode & 0777);
	records_close(r);
	umask(old);
}

Test(records, empty_v0_file_is_migrated)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	struct records_opened op;
	struct records *r;

	cr_assert_geq(fd, 0);
	close(fd); /* an empty file: SQLite's version 0 */
	r = open_writer(&op);
	cr_assert_eq(op.version_found, 0);
	cr_assert_eq(op.version_now, 3);
	cr_assert_eq(op.recovered, 0);
	add(r, "temp", T0, 21.5);
	records_close(r);
	cr_assert_eq(sql_int(path, "PRAGMA user_version"), 3);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM reading_raw"), 1);
}

Test(records, newer_file_is_refused_untouched)
{
	struct records_err err = {{0}};
	struct records *r = (struct records *)1;
	char wal[160];
	struct stat before, after;
	int rc;

	sql_exec(path, "CREATE TABLE future(x); PRAGMA user_version = 7");
	cr_assert_eq(stat(path, &before), 0);
	rc = records_open(path, NULL, &r, NULL, &err);
	cr_assert_eq(rc, -EPROTO);
	cr_assert_null(r);
	cr_assert_not_null(strstr(err.msg, "version 7"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "up to 3"), "%s", err.msg);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_eq(before.st_size, after.st_size);
	cr_assert_eq(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	cr_assert_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	cr_assert(!exists(wal), "a refused file got a WAL");
	cr_assert_eq(sql_int(path, "PRAGMA user_version"), 7);
	cr_assert_eq(sql_int(path, "SELECT journal_mode = 'delete' FROM pragma_journal_mode"), 1);
}

/* A file written by a v1 build (the list's first step alone) with data in
 * it: this build migrates it to v3, the data kept, sessions then stored. */
Test(records, v1_file_is_migrated_to_v3_with_its_data)
{
	size_t n;
	const struct records_migration *list = records_migrations(&n);
	struct records_options o = {.mode = RECORDS_WRITER, .migrations = list, .n_migrations = 1};
	struct records_opened op;
	struct records_err err = {{0}};
	struct records *r = NULL;
	struct records_doses doses;
	struct records_history h;
	struct records_sessions ss;
	int rc;

	cr_assert_eq(n, 3);
	cr_assert_eq(list[0].version, 1);
	cr_assert_eq(list[1].version, 2);
	cr_assert_eq(list[2].version, 3);
	rc = records_open(path, &o, &r, &op, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(op.version_now, 1);
	struct records_dose d = {
	    .id = "d1", .site = "home", .ts_ms = T0, .outcome = "ok", .verified = 1};
	cr_assert_eq(records_put_dose(r, &d, &err), 0, "%s", err.msg);
	add(r, "temp", T0 + 1000, 20.25);
	records_close(r);
	cr_assert_eq(sql_int(path, "PRAGMA user_version"), 1);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'session'"), 0);

	r = open_writer(&op);
	cr_assert_eq(op.version_found, 1);
	cr_assert_eq(op.version_now, 3);
	cr_assert_eq(op.recovered, 0);
	cr_assert_eq(records_doses(r, "home", 0, T0 + 1, 10, &doses, &err), 0, "%s", err.msg);
	cr_assert_eq(doses.n, 1);
	cr_assert_str_eq(doses.rows[0].id, "d1");
	cr_assert_str_eq(doses.rows[0].outcome, "ok");
	cr_assert_eq(doses.rows[0].verified, 1);
	records_doses_free(&doses);
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + MIN_MS, 60, T0 + MIN_MS, &h, &err),
		     0, "%s", err.msg);
	cr_assert_eq(h.n, 1);
	cr_assert_float_eq(h.points[0].mean, 20.25, 1e-12);
	records_history_free(&h);
	struct records_session s = {.role = "operator", .created_ms = T0, .last_used_ms = T0};
	memset(s.hash, 0xab, sizeof(s.hash));
	cr_assert_eq(records_put_session(r, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(records_sessions(r, T0, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 1);
	records_sessions_free(&ss);
	records_close(r);
	cr_assert_eq(sql_int(path, "PRAGMA user_version"), 3);
}

/* A v2 file's sessions (issue 13: the one operator's, role "operator")
 * become the first-run admin's in v3 (issue 14); new ones keep their user. */
Test(records, v2_sessions_become_admin_s_in_v3)
{
	size_t n;
	const struct records_migration *list = records_migrations(&n);
	struct records_options o = {.mode = RECORDS_WRITER, .migrations = list, .n_migrations = 2};
	struct records_opened op;
	struct records_err err = {{0}};
	struct records *r = NULL;
	struct records_sessions ss;

	cr_assert_eq(records_open(path, &o, &r, &op, &err), 0, "%s", err.msg);
	cr_assert_eq(op.version_now, 2);
	records_close(r);
	/* The row a v2 build wrote (this build's statements name v3's column). */
	char sql[256], hex[65];
	memset(hex, '1', 64); /* 32 bytes of 0x11 */
	hex[64] = '\0';
	snprintf(sql, sizeof(sql),
		 "INSERT INTO session(hash, role, created, last_used) VALUES(x'%s', "
		 "'operator', %lld, %lld)",
		 hex, (long long)T0, (long long)T0);
	sql_exec(path, sql);

	r = open_writer(&op);
	cr_assert_eq(op.version_found, 2);
	cr_assert_eq(op.version_now, 3);
	struct records_session c = {
	    .user = "sam", .role = "carer", .created_ms = T0, .last_used_ms = T0 + 5};
	memset(c.hash, 0x22, sizeof(c.hash));
	cr_assert_eq(records_put_session(r, &c, &err), 0, "%s", err.msg);
	c.user = "a-user-name-that-is-longer-than-32-bytes";
	cr_assert_eq(records_put_session(r, &c, &err), -EINVAL);
	cr_assert_eq(records_sessions(r, T0 + 10, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 2);
	cr_assert_eq(ss.rows[0].hash[0], 0x22); /* most recently used first */
	cr_assert_str_eq(ss.rows[0].user, "sam");
	cr_assert_str_eq(ss.rows[0].role, "carer");
	cr_assert_eq(ss.rows[1].hash[0], 0x11);
	cr_assert_str_eq(ss.rows[1].user, "admin");
	cr_assert_str_eq(ss.rows[1].role, "admin");
	records_sessions_free(&ss);
	records_close(r);
}

Test(records, current_file_opened_by_a_newer_build)
{
	size_t n;
	const struct records_migration *v2 = records_migrations(&n);
	struct records_migration v3[8];
	struct records_options o = {.mode = RECORDS_WRITER};
	struct records_opened op;
	struct records_err err = {{0}};
	struct records *r = open_writer(&op);
	struct records_doses doses;
	struct records_sessions ss;
	int rc;

	cr_assert_eq(n, 3);
	struct records_dose d = {
	    .id = "d1", .site = "home", .ts_ms = T0, .outcome = "ok", .verified = -1};
	cr_assert_eq(records_put_dose(r, &d, &err), 0, "%s", err.msg);
	struct records_session s = {.role = "operator", .created_ms = T0, .last_used_ms = T0};
	memset(s.hash, 7, sizeof(s.hash));
	cr_assert_eq(records_put_session(r, &s, &err), 0, "%s", err.msg);
	records_close(r);

	memcpy(v3, v2, n * sizeof(*v2));
	v3[n].version = 4;
	v3[n].sql = "CREATE TABLE note(id TEXT PRIMARY KEY, who TEXT NOT NULL, ts INTEGER);"
		    "ALTER TABLE dose ADD COLUMN note TEXT";
	o.migrations = v3;
	o.n_migrations = n + 1;
	rc = records_open(path, &o, &r, &op, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(op.version_found, 3);
	cr_assert_eq(op.version_now, 4);
	cr_assert_eq(records_doses(r, "home", 0, T0 + 1, 10, &doses, &err), 0, "%s", err.msg);
	cr_assert_eq(doses.n, 1);
	cr_assert_str_eq(doses.rows[0].outcome, "ok");
	records_doses_free(&doses);
	cr_assert_eq(records_sessions(r, T0 + 1, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 1);
	cr_assert_eq(ss.rows[0].hash[31], 7);
	records_sessions_free(&ss);
	records_close(r);
	cr_assert_eq(sql_int(path, "PRAGMA user_version"), 4);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'note'"), 1);

	/* And this build now refuses the v4 file, naming both. */
	rc = records_open(path, NULL, &r, NULL, &err);
	cr_assert_eq(rc, -EPROTO);
	cr_assert_not_null(strstr(err.msg, "version 4"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "up to 3"), "%s", err.msg);
}

Test(records, a_bad_migration_list_is_refused)
{
	struct records_migration bad[] = {{1, "CREATE TABLE a(x)"}, {3, "CREATE TABLE b(x)"}};
	struct records_options o = {.mode = RECORDS_WRITER, .migrations = bad, .n_migrations = 2};
	struct records_err err = {{0}};
	struct records *r;

	cr_assert_eq(records_open(path, &o, &r, NULL, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "version 3"), "%s", err.msg);
	/* A step that fails leaves the file at the version before it. */
	struct records_migration broken[] = {{1, "CREATE TABLE a(x)"}, {2, "CREATE TABLE a(x)"}};
	o.migrations = broken;
	cr_assert_eq(records_open(path, &o, &r, NULL, &err), -EIO);
	cr_assert_not_null(strstr(err.msg, "migration to version 2"), "%s", err.msg);
	cr_assert_eq(sql_int(path, "PRAGMA user_version"), 1);
}

Test(records, reader_reads_and_cannot_write)
{
	struct records_err err = {{0}};
	struct records *w = open_writer(NULL);
	struct records *rd;
	struct records_history h;

	add(w, "temp", T0, 20.0);
	rd = open_reader();
	cr_assert_eq(records_history(rd, "home", "temp", T0, T0 + MIN_MS, 60, T0, &h, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(h.n, 1);
	cr_assert_float_eq(h.points[0].mean, 20.0, 1e-12);
	records_history_free(&h);
	cr_assert_eq(records_add_reading(rd, "home", "temp", T0 + 1, 1, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "read-only"), "%s", err.msg);
	cr_assert_eq(records_begin(rd, &err), -EINVAL);
	cr_assert_eq(records_maintain(rd, T0, 0, NULL, &err), -EINVAL);
	records_close(rd);
	records_close(w);
	/* A reader on a file that is not there (no writer yet) fails, says so. */
	snprintf(path, sizeof(path), "%s/none.db", dir);
	struct records_options o = {.mode = RECORDS_READER};
	cr_assert_eq(records_open(path, &o, &rd, NULL, &err), -EIO);
	cr_assert_not_null(strstr(err.msg, "read-only"), "%s", err.msg);
}

/* ------------------------------------------------------ downsampling */

/* The test's series: a reading every 10 s over 3 h from T0 + 5 s, with a
 * hole from 20 to 40 minutes, values that vary in all three statistics. */
#define N_SERIES 1080
static int64_t s_ts[N_SERIES];
static double s_v[N_SERIES];
static size_t s_n;

static void fill_series(struct records *r)
{
	struct records_err err = {{0}};

	s_n = 0;
	cr_assert_eq(records_begin(r, &err), 0, "%s", err.msg);
	for (int i = 0; i < N_SERIES; i++) {
		int64_t ts = T0 + 5000 + (int64_t)i * 10000;

		if (ts >= T0 + 20 * MIN_MS && ts < T0 + 40 * MIN_MS)
			continue;
		s_ts[s_n] = ts;
		s_v[s_n] = (double)((i * 37) % 101) / 4.0 - 7.25 + (i % 3) * 0.001;
		add(r, "temp", ts, s_v[s_n]);
		s_n++;
	}
	cr_assert_eq(records_commit(r, &err), 0, "%s", err.msg);
}

/* The expected buckets: readings whose tier unit starts in [b0, to), by
 * brute force over the test's own copy. */
static void expect_history(const struct records_history *h, int64_t to, int64_t unit)
{
	size_t k = 0;

	for (int64_t b = h->from_ms; b < to; b += h->bucket_ms) {
		double sum = 0, mn = INFINITY, mx = -INFINITY;
		int64_t n = 0;

		for (size_t i = 0; i < s_n; i++) {
			int64_t u = s_ts[i] - s_ts[i] % unit;

			if (u >= b && u < b + h->bucket_ms && u < to) {
				n++;
				sum += s_v[i];
				mn = fmin(mn, s_v[i]);
				mx = fmax(mx, s_v[i]);
			}
		}
		if (n == 0)
			continue; /* empty buckets are omitted */
		cr_assert_lt(k, h->n, "bucket at %lld missing", (long long)b);
		cr_assert_eq(h->points[k].ts_ms, b, "bucket %zu at %lld, want %lld", k,
			     (long long)h->points[k].ts_ms, (long long)b);
		cr_assert_eq(h->points[k].count, n, "bucket %lld: count %lld want %lld",
			     (long long)b, (long long)h->points[k].count, (long long)n);
		cr_assert_float_eq(h->points[k].mean, sum / n, 1e-9, "bucket %lld mean",
				   (long long)b);
		cr_assert_eq(h->points[k].min, mn);
		cr_assert_eq(h->points[k].max, mx);
		k++;
	}
	cr_assert_eq(k, h->n, "%zu points, want %zu", h->n, k);
}

Test(records, history_exact_in_every_tier)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_history h;
	int64_t now = T0 + 3 * HOUR_MS;

	fill_series(r);
	/* Raw: 10 minutes in 60 points, w 10 s (each bucket one reading);
	 * and from 3 ms later in 12 points, w ceil(599.997 s / 12). */
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 10 * MIN_MS, 60, now, &h, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(h.tier, RECORDS_TIER_RAW);
	cr_assert_eq(h.bucket_ms, 10000);
	cr_assert_eq(h.n, 60);
	expect_history(&h, T0 + 10 * MIN_MS, 1);
	records_history_free(&h);
	cr_assert_eq(
	    records_history(r, "home", "temp", T0 + 3, T0 + 10 * MIN_MS, 12, now, &h, &err), 0);
	cr_assert_eq(h.tier, RECORDS_TIER_RAW);
	cr_assert_eq(h.bucket_ms, (600000 - 3 + 11) / 12);
	cr_assert_eq(h.from_ms, T0 + 3);
	expect_history(&h, T0 + 10 * MIN_MS, 1);
	records_history_free(&h);

	/* Minute: 3 h in 180 points (w 60 s), a 20-minute hole omitted. */
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 3 * HOUR_MS, 180, now, &h, &err),
		     0);
	cr_assert_eq(h.tier, RECORDS_TIER_MINUTE);
	cr_assert_eq(h.bucket_ms, MIN_MS);
	cr_assert_eq(h.n, 160);
	expect_history(&h, T0 + 3 * HOUR_MS, MIN_MS);
	records_history_free(&h);
	/* Minute, unaligned edges and 7-minute buckets (rounded to whole
	 * minutes): from rounds down, a minute row counts if it starts < to. */
	cr_assert_eq(records_history(r, "home", "temp", T0 + 90 * 1000, T0 + 100 * MIN_MS + 30000,
				     14, now, &h, &err),
		     0);
	cr_assert_eq(h.tier, RECORDS_TIER_MINUTE);
	cr_assert_eq(h.from_ms, T0 + MIN_MS);
	cr_assert_eq(h.bucket_ms, 8 * MIN_MS); /* ceil(99.5 min / 14) = 7.1 -> 8 min */
	cr_assert_leq(h.n, 14);
	expect_history(&h, T0 + 100 * MIN_MS + 30000, MIN_MS);
	records_history_free(&h);

	/* Hour: 3 points over 3 h. */
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 3 * HOUR_MS, 3, now, &h, &err), 0);
	cr_assert_eq(h.tier, RECORDS_TIER_HOUR);
	cr_assert_eq(h.n, 3);
	expect_history(&h, T0 + 3 * HOUR_MS, HOUR_MS);
	records_history_free(&h);

	/* The minute and hour tiers read no raw row: with the raw rows gone
	 * (behind the store's back) the answers are the same. */
	records_close(r);
	sql_exec(path, "DELETE FROM reading_raw");
	r = open_reader();
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 3 * HOUR_MS, 180, now, &h, &err),
		     0);
	cr_assert_eq(h.n, 160);
	expect_history(&h, T0 + 3 * HOUR_MS, MIN_MS);
	records_history_free(&h);
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 3 * HOUR_MS, 2, now, &h, &err), 0);
	cr_assert_eq(h.tier, RECORDS_TIER_HOUR);
	cr_assert_eq(h.bucket_ms, 2 * HOUR_MS);
	expect_history(&h, T0 + 3 * HOUR_MS, HOUR_MS);
	records_history_free(&h);
	records_close(r);
}

Test(records, history_exact_at_random_edges)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_history h;
	int64_t now = T0 + 3 * HOUR_MS;
	unsigned seed = 12345;

	fill_series(r);
	/* 300 queries with edges anywhere in (and around) the 3 h, any
	 * number of points: each against the brute force of its tier. */
	for (int q = 0; q < 300; q++) {
		int64_t from = T0 - 10 * MIN_MS + (int64_t)(rand_r(&seed) % (200 * 60)) * 1000 +
			       rand_r(&seed) % 1000;
		int64_t to = from + 1 + (int64_t)(rand_r(&seed) % (200 * 60)) * 1000;
		size_t points = 1 + (size_t)(rand_r(&seed) % 400);
		int64_t unit;

		/* Edges on whole minutes and hours too, where a tier's rows
		 * start exactly at from or to. */
		if (q % 3 == 0)
			to -= to % MIN_MS;
		if (q % 7 == 0)
			to -= to % HOUR_MS;
		if (q % 2 == 0)
			from -= from % MIN_MS;
		if (to <= from)
			to = from + MIN_MS;

		cr_assert_eq(records_history(r, "home", "temp", from, to, points, now, &h, &err), 0,
			     "%s", err.msg);
		unit = h.tier == RECORDS_TIER_RAW      ? 1
		       : h.tier == RECORDS_TIER_MINUTE ? MIN_MS
						       : HOUR_MS;
		cr_assert_leq(h.n, points);
		cr_assert_eq(h.bucket_ms % unit, 0);
		cr_assert_geq(h.bucket_ms * (int64_t)points, to - h.from_ms);
		expect_history(&h, to, unit);
		records_history_free(&h);
	}
	records_close(r);
}

Test(records, tiers_follow_late_and_repeated_readings)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_history h;
	int64_t now = T0 + HOUR_MS;

	add(r, "temp", T0 + 1000, 10);
	add(r, "temp", T0 + 2000, 20);
	add(r, "temp", T0 + 2000, 99); /* redelivered ts: ignored everywhere */
	add(r, "temp", T0 + MIN_MS + 1, 5);
	/* A late one into the first minute, in its own batch, long after. */
	cr_assert_eq(records_begin(r, &err), 0);
	add(r, "temp", T0 + 59999, -3);
	cr_assert_eq(records_commit(r, &err), 0);
	/* A rolled-back batch adds nothing to any tier. */
	cr_assert_eq(records_begin(r, &err), 0);
	add(r, "temp", T0 + 3000, 1000);
	cr_assert_eq(records_rollback(r, &err), 0);

	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 2 * MIN_MS, 2, now, &h, &err), 0);
	cr_assert_eq(h.tier, RECORDS_TIER_MINUTE);
	cr_assert_eq(h.n, 2);
	cr_assert_eq(h.points[0].count, 3);
	cr_assert_float_eq(h.points[0].mean, 9.0, 1e-12);
	cr_assert_eq(h.points[0].min, -3);
	cr_assert_eq(h.points[0].max, 20);
	cr_assert_eq(h.points[1].count, 1);
	records_history_free(&h);
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + HOUR_MS, 1, now, &h, &err), 0);
	cr_assert_eq(h.tier, RECORDS_TIER_HOUR);
	cr_assert_eq(h.n, 1);
	cr_assert_eq(h.points[0].count, 4);
	cr_assert_float_eq(h.points[0].mean, 8.0, 1e-12);
	records_history_free(&h);
	/* An unknown series has no points, and is no error. */
	cr_assert_eq(records_history(r, "home", "nope", T0, T0 + HOUR_MS, 10, now, &h, &err), 0);
	cr_assert_eq(h.n, 0);
	records_close(r);
}

Test(records, raw_is_not_used_beyond_its_retention)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_history h;

	add(r, "temp", T0 + 1000, 1);
	add(r, "temp", T0 + 31000, 3);
	/* 1-minute range in 60 points: raw while now is within 48 h ... */
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + MIN_MS, 60, T0 + DAY_MS, &h, &err),
		     0);
	cr_assert_eq(h.tier, RECORDS_TIER_RAW);
	cr_assert_eq(h.n, 2);
	records_history_free(&h);
	/* ... the minute tier after (and hours after 90 days). */
	cr_assert_eq(
	    records_history(r, "home", "temp", T0, T0 + MIN_MS, 60, T0 + 3 * DAY_MS, &h, &err), 0);
	cr_assert_eq(h.tier, RECORDS_TIER_MINUTE);
	cr_assert_eq(h.n, 1);
	cr_assert_float_eq(h.points[0].mean, 2.0, 1e-12);
	records_history_free(&h);
	cr_assert_eq(
	    records_history(r, "home", "temp", T0, T0 + MIN_MS, 60, T0 + 91 * DAY_MS, &h, &err), 0);
	cr_assert_eq(h.tier, RECORDS_TIER_HOUR);
	cr_assert_eq(h.n, 1);
	records_history_free(&h);
	records_close(r);
}

/* ------------------------------------------------ upserts and lists */

Test(records, dose_learnt_in_three_messages)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_doses l;
	unsigned char jpeg[3000];
	void *got;
	size_t len;

	for (size_t i = 0; i < sizeof(jpeg); i++)
		jpeg[i] = (unsigned char)(i * 7);
	struct records_dose outcome = {.id = "d-1",
				       .site = "home",
				       .ts_ms = T0,
				       .by = "ann",
				       .source = "manual",
				       .outcome = "ok",
				       .verified = -1};
	struct records_dose verify = {.id = "d-1",
				      .site = "home",
				      .ts_ms = T0 + 5000,
				      .verified = 1,
				      .has_delta_g = 1,
				      .delta_g = 12.5};
	struct records_dose snap = {.id = "d-1",
				    .site = "home",
				    .ts_ms = T0 + 9000,
				    .verified = -1,
				    .snapshot = jpeg,
				    .snapshot_len = sizeof(jpeg)};
	cr_assert_eq(records_put_dose(r, &outcome, &err), 0, "%s", err.msg);
	cr_assert_eq(records_dose_snapshot(r, "d-1", &got, &len, &err), 0);
	cr_assert_null(got);
	cr_assert_eq(len, 0);
	cr_assert_eq(records_put_dose(r, &verify, &err), 0, "%s", err.msg);
	cr_assert_eq(records_put_dose(r, &snap, &err), 0, "%s", err.msg);
	cr_assert_eq(records_doses(r, "home", T0, T0 + 1, 10, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.truncated, 0);
	cr_assert_str_eq(l.rows[0].id, "d-1");
	cr_assert_eq(l.rows[0].ts_ms, T0); /* kept from the first message */
	cr_assert_str_eq(l.rows[0].by, "ann");
	cr_assert_str_eq(l.rows[0].source, "manual");
	cr_assert_str_eq(l.rows[0].outcome, "ok");
	cr_assert_null(l.rows[0].slot);
	cr_assert_eq(l.rows[0].verified, 1);
	cr_assert_eq(l.rows[0].has_delta_g, 1);
	cr_assert_float_eq(l.rows[0].delta_g, 12.5, 1e-12);
	cr_assert_eq(l.rows[0].has_snapshot, 1);
	records_doses_free(&l);
	cr_assert_eq(records_dose_snapshot(r, "d-1", &got, &len, &err), 0);
	cr_assert_eq(len, sizeof(jpeg));
	cr_assert_eq(memcmp(got, jpeg, len), 0);
	free(got);
	cr_assert_eq(records_dose_snapshot(r, "d-2", &got, &len, &err), -ENOENT);
	cr_assert_not_null(strstr(err.msg, "d-2"), "%s", err.msg);
	records_close(r);
}

Test(records, lists_newest_first_with_truncation)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_doses d;
	struct records_slots s;
	struct records_alerts a;
	struct records_plans p;
	struct records_commands c;
	char id[32];

	cr_assert_eq(records_begin(r, &err), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "dose-%d", i);
		struct records_dose dd = {.id = id,
					  .site = "home",
					  .ts_ms = T0 + i * MIN_MS,
					  .outcome = "ok",
					  .verified = -1};
		cr_assert_eq(records_put_dose(r, &dd, &err), 0, "%s", err.msg);
	}
	struct records_dose other = {.id = "x", .site = "cabin", .ts_ms = T0, .verified = -1};
	cr_assert_eq(records_put_dose(r, &other, &err), 0);
	cr_assert_eq(records_commit(r, &err), 0);
	cr_assert_eq(records_doses(r, "home", T0, T0 + HOUR_MS, 3, &d, &err), 0);
	cr_assert_eq(d.n, 3);
	cr_assert_eq(d.truncated, 1);
	cr_assert_str_eq(d.rows[0].id, "dose-4");
	cr_assert_str_eq(d.rows[2].id, "dose-2");
	cr_assert_eq(d.rows[0].verified, -1);
	cr_assert_eq(d.rows[0].has_delta_g, 0);
	records_doses_free(&d);
	cr_assert_eq(records_doses(r, "home", T0, T0 + HOUR_MS, 5, &d, &err), 0);
	cr_assert_eq(d.n, 5);
	cr_assert_eq(d.truncated, 0);
	records_doses_free(&d);

	/* Slots: the final status wins, a later message without a dose id
	 * keeps it; listed in time order. */
	struct records_slot s1 = {"home", "2026-11-30T08:00", T0 + 8 * HOUR_MS, "pending", NULL};
	struct records_slot s2 = {"home", "2026-11-30T07:00", T0 + 7 * HOUR_MS, "given", "dose-1"};
	struct records_slot s3 = {"home", "2026-11-30T08:00", T0 + 8 * HOUR_MS, "given", "dose-2"};
	struct records_slot s4 = {"home", "2026-11-30T08:00", T0 + 8 * HOUR_MS, "late", NULL};
	cr_assert_eq(records_put_slot(r, &s1, &err), 0, "%s", err.msg);
	cr_assert_eq(records_put_slot(r, &s2, &err), 0);
	cr_assert_eq(records_put_slot(r, &s3, &err), 0);
	cr_assert_eq(records_put_slot(r, &s4, &err), 0);
	cr_assert_eq(records_slots(r, "home", T0, T0 + DAY_MS, 10, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.rows[0].slot, "2026-11-30T07:00");
	cr_assert_str_eq(s.rows[1].status, "late");
	cr_assert_str_eq(s.rows[1].dose_id, "dose-2");
	records_slots_free(&s);

	/* Alerts: a raise, then the ack, then the clear. */
	struct records_alert al = {.site = "home",
				   .key = "feeder/jam",
				   .source = "feeder",
				   .code = "jam",
				   .level = "critical",
				   .message = "jammed",
				   .since_ms = T0,
				   .updated_ms = T0};
	cr_assert_eq(records_put_alert(r, &al, &err), 0, "%s", err.msg);
	struct records_alert ack = {.site = "home",
				    .key = "feeder/jam",
				    .since_ms = T0,
				    .acked_by = "ann",
				    .acked_ms = T0 + 60000};
	cr_assert_eq(records_put_alert(r, &ack, &err), 0);
	struct records_alert clr = {.site = "home",
				    .key = "feeder/jam",
				    .since_ms = T0,
				    .updated_ms = T0 + 120000,
				    .cleared_ms = T0 + 120000};
	cr_assert_eq(records_put_alert(r, &clr, &err), 0);
	cr_assert_eq(records_alerts(r, "home", T0, T0 + 1, 10, &a, &err), 0);
	cr_assert_eq(a.n, 1);
	cr_assert_str_eq(a.rows[0].level, "critical");
	cr_assert_str_eq(a.rows[0].message, "jammed");
	cr_assert_str_eq(a.rows[0].acked_by, "ann");
	cr_assert_eq(a.rows[0].acked_ms, T0 + 60000);
	cr_assert_eq(a.rows[0].cleared_ms, T0 + 120000);
	cr_assert_eq(a.rows[0].updated_ms, T0 + 120000);
	records_alerts_free(&a);

	struct records_plan pl = {"home", 3, T0, "ann", "{\"rev\":3}"};
	cr_assert_eq(records_add_plan(r, &pl, &err), 0);
	cr_assert_eq(records_add_plan(r, &pl, &err), 0); /* again: ignored */
	cr_assert_eq(records_plans(r, "home", 0, T0 + 1, 10, &p, &err), 0);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.rows[0].json, "{\"rev\":3}");
	cr_assert_eq(p.rows[0].rev, 3);
	records_plans_free(&p);

	struct records_command cm = {"home", T0,	"feeder",   "c1",
				     "feed", "refused", "too_soon", "bob"};
	cr_assert_eq(records_add_command(r, &cm, &err), 0);
	cr_assert_eq(records_commands(r, "home", 0, T0 + 1, 10, &c, &err), 0);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.rows[0].reason, "too_soon");
	cr_assert_str_eq(c.rows[0].by, "bob");
	records_commands_free(&c);
	records_close(r);
}

Test(records, motion_event_start_stop_and_thumbnail)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_events l;
	unsigned char thumb[RECORDS_THUMB_MAX + 1];
	int64_t id = 0, id2 = 0;
	void *got;
	size_t len;

	memset(thumb, 0xd8, sizeof(thumb));
	struct records_event big = {"home", "motion", T0, 0, 0.5, thumb, sizeof(thumb)};
	cr_assert_eq(records_put_event(r, &big, &id, &err), -EFBIG);
	cr_assert_not_null(strstr(err.msg, "10241 bytes"), "%s", err.msg);
	struct records_event start = {"home", "motion", T0, 0, 0.5, thumb, 7000};
	cr_assert_eq(records_put_event(r, &start, &id, &err), 0, "%s", err.msg);
	cr_assert_gt(id, 0);
	struct records_event rescore = {"home", "motion", T0, 0, 0.8, NULL, 0};
	cr_assert_eq(records_put_event(r, &rescore, &id2, &err), 0, "%s", err.msg);
	cr_assert_eq(id2, id);
	cr_assert_eq(records_end_event(r, "home", "motion", T0 + 9000, &err), 0, "%s", err.msg);
	cr_assert_eq(records_end_event(r, "home", "motion", T0 + 9500, &err), -ENOENT);
	cr_assert_eq(records_events(r, "home", "motion", T0, T0 + 1, 10, &l, &err), 0);
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.rows[0].id, id);
	cr_assert_eq(l.rows[0].end_ms, T0 + 9000);
	cr_assert_float_eq(l.rows[0].score, 0.8, 1e-12);
	cr_assert_eq(l.rows[0].has_thumb, 1);
	records_events_free(&l);
	cr_assert_eq(records_events(r, "home", "sound", T0, T0 + 1, 10, &l, &err), 0);
	cr_assert_eq(l.n, 0);
	records_events_free(&l);
	cr_assert_eq(records_event_thumb(r, id, &got, &len, &err), 0);
	cr_assert_eq(len, 7000);
	free(got);
	cr_assert_eq(records_event_thumb(r, id + 100, &got, &len, &err), -ENOENT);
	records_close(r);
}

/* --------------------------------------------- retention and the bound */

static void put_doses_and_alerts(struct records *r, int n, size_t snap_len)
{
	struct records_err err = {{0}};
	static unsigned char snap[RECORDS_SNAPSHOT_MAX];
	char id[32];

	memset(snap, 0x5a, sizeof(snap));
	cr_assert_eq(records_begin(r, &err), 0);
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "dose-%d", i);
		struct records_dose d = {.id = id,
					 .site = "home",
					 .ts_ms = T0 + i * HOUR_MS,
					 .outcome = "ok",
					 .verified = 1,
					 .snapshot = snap,
					 .snapshot_len = snap_len};
		cr_assert_eq(records_put_dose(r, &d, &err), 0, "%s", err.msg);
		struct records_alert a = {.site = "home",
					  .key = id,
					  .level = "warning",
					  .message = "m",
					  .since_ms = T0 + i * HOUR_MS};
		cr_assert_eq(records_put_alert(r, &a, &err), 0);
		struct records_slot s = {"home", id, T0 + i * HOUR_MS, "given", id};
		cr_assert_eq(records_put_slot(r, &s, &err), 0);
	}
	cr_assert_eq(records_commit(r, &err), 0);
}

/* The minute tier of one series over [from, to), through a reader: the
 * minutes in use, the oldest, the readings they count. */
struct minutes {
	int64_t in_use, oldest, readings;
};

static struct minutes minutes_of(const char *file, const char *kind, int64_t from, int64_t to)
{
	struct records_options o = {.mode = RECORDS_READER};
	struct records_err err = {{0}};
	struct minutes m = {0, -1, 0};
	struct records_history h;
	struct records *r;
	size_t points = (size_t)((to - from) / MIN_MS);

	cr_assert_eq(records_open(file, &o, &r, NULL, &err), 0, "%s", err.msg);
	/* now = from: the raw tier is never chosen at 1-minute width, the
	 * minute tier is while from is within 90 days of it. */
	cr_assert_eq(records_history(r, "home", kind, from, to, points, from, &h, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(h.tier, RECORDS_TIER_MINUTE);
	cr_assert_eq(h.bucket_ms, MIN_MS);
	m.in_use = (int64_t)h.n;
	if (h.n)
		m.oldest = h.points[0].ts_ms;
	for (size_t i = 0; i < h.n; i++)
		m.readings += h.points[i].count;
	records_history_free(&h);
	records_close(r);
	return m;
}

static int64_t count(const char *table)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return sql_int(path, sql);
}

Test(records, retention_drops_old_raw_and_minutes_only)
{
	struct records_err err = {{0}};
	struct records_maintain_stats st;
	struct records *r = open_writer(NULL);
	int64_t now = T0 + 100 * DAY_MS;

	put_doses_and_alerts(r, 3, 1000);
	/* One reading every 10 minutes for 100 days: 14,400. */
	cr_assert_eq(records_begin(r, &err), 0);
	for (int64_t ts = T0; ts < now; ts += 10 * MIN_MS)
		add(r, "temp", ts, (double)(ts / MIN_MS % 50));
	cr_assert_eq(records_commit(r, &err), 0);
	cr_assert_eq(records_maintain(r, now, 0, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.raw_deleted, 14400 - 48 * 6);
	cr_assert_eq(st.minute_deleted, 14400 - 90 * 24 * 6);
	cr_assert_eq(st.hour_deleted, 0);
	records_close(r);
	cr_assert_eq(count("reading_raw"), 48 * 6);
	cr_assert_eq(sql_int(path, "SELECT min(ts) FROM reading_raw"), now - 48 * HOUR_MS);
	struct minutes m = minutes_of(path, "temp", T0, now);
	cr_assert_eq(m.in_use, 90 * 24 * 6);
	cr_assert_eq(m.oldest, now - 90 * DAY_MS);
	cr_assert_eq(m.readings, 90 * 24 * 6);
	cr_assert_eq(count("reading_hour"), 100 * 24);
	cr_assert_eq(count("dose"), 3);
	cr_assert_eq(count("dose_snapshot"), 3);
	cr_assert_eq(count("alert"), 3);
	cr_assert_eq(count("slot"), 3);
}

Test(records, minute_retention_cuts_inside_an_hour)
{
	struct records_err err = {{0}};
	struct records_maintain_stats st;
	struct records *r = open_writer(NULL);

	/* Two readings a minute for 3 h; the cutoff 90 min in (mid-hour). */
	cr_assert_eq(records_begin(r, &err), 0);
	for (int64_t ts = T0; ts < T0 + 3 * HOUR_MS; ts += 30000)
		add(r, "temp", ts, 1.5);
	cr_assert_eq(records_commit(r, &err), 0);
	cr_assert_eq(records_maintain(r, T0 + 90 * MIN_MS + RECORDS_MINUTE_KEEP_MS, 0, &st, &err),
		     0, "%s", err.msg);
	cr_assert_eq(st.minute_deleted, 90);
	cr_assert_eq(st.raw_deleted, 360);
	records_close(r);
	struct minutes m = minutes_of(path, "temp", T0, T0 + 3 * HOUR_MS);
	cr_assert_eq(m.in_use, 90);
	cr_assert_eq(m.oldest, T0 + 90 * MIN_MS);
	cr_assert_eq(m.readings, 180);
	cr_assert_eq(count("reading_hour"), 3);
}

Test(records, size_bound_drops_readings_then_thumbs_never_doses)
{
	struct records_err err = {{0}};
	struct records_maintain_stats st;
	struct records *r = open_writer(NULL);
	unsigned char thumb[8000];
	int64_t used, file_before, file_after, now = T0 + 40 * HOUR_MS;
	int rc;

	memset(thumb, 0x33, sizeof(thumb));
	put_doses_and_alerts(r, 20, 20000); /* ~400 KB of snapshots */
	cr_assert_eq(records_begin(r, &err), 0);
	for (int i = 0; i < 50; i++) {
		struct records_event e = {"home", "motion", T0 + i * HOUR_MS / 2, 0,
					  0.4,	  thumb,    sizeof(thumb)};
		cr_assert_eq(records_put_event(r, &e, NULL, &err), 0, "%s", err.msg);
	}
	/* 5 kinds x one a second x 40 h would be long; 5 x one per 2 s x 40 h:
	 * 360,000 raw rows, all within the raw retention. */
	const char *kinds[] = {"temp", "humidity", "sound", "bowl", "motion"};
	for (int64_t ts = T0; ts < now; ts += 2000) {
		for (int k = 0; k < 5; k++)
			add(r, kinds[k], ts, (double)(ts % 977) / 10.0);
		if (ts % (600 * 1000) == 0) {
			cr_assert_eq(records_commit(r, &err), 0);
			cr_assert_eq(records_begin(r, &err), 0);
		}
	}
	cr_assert_eq(records_commit(r, &err), 0);
	cr_assert_eq(records_maintain(r, now, 0, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.raw_deleted, 0);
	cr_assert_eq(records_size(r, &used, &file_before, &err), 0);
	cr_assert_gt(used, 4 * 1024 * 1024, "only %lld bytes written", (long long)used);

	/* A bound of 2 MB: some raw rows go, oldest first; nothing else. */
	rc = records_maintain(r, now, 2 * 1024 * 1024, &st, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_gt(st.raw_deleted, 0);
	cr_assert_eq(st.minute_deleted, 0);
	cr_assert_eq(st.thumbs_dropped, 0);
	cr_assert_leq(st.bytes_after, 2 * 1024 * 1024);
	cr_assert_eq(records_size(r, &used, &file_after, &err), 0);
	cr_assert_lt(file_after, file_before / 2, "file %lld -> %lld bytes", (long long)file_before,
		     (long long)file_after);
	int64_t oldest_raw = sql_int(path, "SELECT min(ts) FROM reading_raw");
	cr_assert_gt(oldest_raw, T0);
	/* What is left is the newest: every reading after the oldest kept. */
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM reading_raw WHERE series = 1"),
		     (now - oldest_raw) / 2000);
	cr_assert_eq(count("event_thumb"), 50);

	/* 700 KB: below the readings and thumbnails together: all readings
	 * go, then the oldest thumbnails; doses and their snapshots stay. */
	rc = records_maintain(r, now, 700 * 1024, &st, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_leq(st.bytes_after, 700 * 1024);
	cr_assert_eq(count("reading_raw"), 0);
	cr_assert_eq(count("reading_minute"), 0);
	cr_assert_eq(count("reading_hour"), 0);
	int64_t thumbs = count("event_thumb");
	cr_assert_lt(thumbs, 50);
	cr_assert_eq(count("event"), 50); /* the events stay, without thumbnails */
	if (thumbs > 0)
		cr_assert_gt(sql_int(path, "SELECT min(e.t_start) FROM event_thumb t JOIN event e"
					   " ON e.id = t.event_id"),
			     T0);
	cr_assert_eq(count("dose"), 20);
	cr_assert_eq(count("dose_snapshot"), 20);
	cr_assert_eq(count("alert"), 20);
	cr_assert_eq(count("slot"), 20);

	/* 100 KB: the doses alone are more. -ENOSPC, and they are kept. */
	rc = records_maintain(r, now, 100 * 1024, &st, &err);
	cr_assert_eq(rc, -ENOSPC);
	cr_assert_not_null(strstr(err.msg, "doses"), "%s", err.msg);
	cr_assert_eq(count("event_thumb"), 0);
	cr_assert_eq(count("dose"), 20);
	cr_assert_eq(count("dose_snapshot"), 20);
	cr_assert_eq(count("alert"), 20);
	records_close(r);
}

/* ---------------------------------------------------- damaged files */

static void expect_recovered(const char *garbage, size_t len, const char *why)
{
	struct records_opened op;
	struct records *r;
	struct records_history h;
	struct records_err err = {{0}};
	char buf[64];
	int fd;

	r = open_writer(&op);
	cr_assert_eq(op.recovered, 1, "%s: not recovered", why);
	cr_assert_not_null(strstr(op.moved_to, ".corrupt-"), "%s", op.moved_to);
	cr_assert_neq(op.reason[0], '\0');
	cr_assert_eq(op.version_found, 0);
	cr_assert_eq(op.version_now, RECORDS_SCHEMA_VERSION);
	cr_assert(exists(op.moved_to));
	if (garbage) {
		fd = open(op.moved_to, O_RDONLY);
		cr_assert_geq(fd, 0);
		cr_assert_eq(read(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
		close(fd);
		cr_assert_eq(memcmp(buf, garbage, len < sizeof(buf) ? len : sizeof(buf)), 0);
	}
	/* The fresh store works. */
	add(r, "temp", T0, 1.0);
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 1000, 10, T0, &h, &err), 0);
	cr_assert_eq(h.n, 1);
	records_history_free(&h);
	records_close(r);
	/* And opening again is an ordinary open, not another recovery. */
	r = open_writer(&op);
	cr_assert_eq(op.recovered, 0);
	records_close(r);
}

Test(records, garbage_file_is_moved_aside)
{
	char garbage[8192], wal[160];
	int fd;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 131 + 7);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, garbage, sizeof(garbage)), (ssize_t)sizeof(garbage));
	close(fd);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	fd = open(wal, O_CREAT | O_WRONLY, 0600);
	cr_assert_eq(write(fd, garbage, 100), 100);
	close(fd);
	expect_recovered(garbage, sizeof(garbage), "garbage");
	/* The -wal went with it. */
	char cmd[200], line[4200];
	int n_wal = 0;
	FILE *ls;

	snprintf(cmd, sizeof(cmd), "ls '%s'", dir);
	ls = popen(cmd, "r");
	cr_assert_not_null(ls);
	while (fgets(line, sizeof(line), ls))
		if (strstr(line, ".corrupt-") && strstr(line, "-wal"))
			n_wal++;
	pclose(ls);
	cr_assert_eq(n_wal, 1);
}

Test(records, damaged_page_is_moved_aside)
{
	struct records *r = open_writer(NULL);
	struct records_err err = {{0}};
	int64_t page_size, pages;
	char junk[4096];
	int fd;

	cr_assert_eq(records_begin(r, &err), 0);
	for (int i = 0; i < 20000; i++)
		add(r, "temp", T0 + i * 1000LL, i % 17);
	cr_assert_eq(records_commit(r, &err), 0);
	records_close(r); /* checkpointed: everything is in the main file */
	page_size = sql_int(path, "PRAGMA page_size");
	pages = sql_int(path, "PRAGMA page_count");
	cr_assert_gt(pages, 20);
	cr_assert_leq(page_size, (int64_t)sizeof(junk));
	memset(junk, 0xa5, sizeof(junk));
	fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	/* Pages in the middle of the file: b-tree pages of the readings. */
	for (int64_t p = pages / 2; p < pages / 2 + 3; p++)
		cr_assert_eq(pwrite(fd, junk, (size_t)page_size, p * page_size), page_size);
	close(fd);
	expect_recovered(NULL, 0, "damaged page");
}

/* ------------------------------------------------------------- backup */

struct writer_arg {
	struct records *r;
	volatile int stop;
	int batches;
	int rc;
	char msg[256];
};

static void *writer_main(void *p)
{
	struct writer_arg *w = p;
	struct records_err err = {{0}};
	int64_t ts = T0;

	while (!w->stop) {
		if ((w->rc = records_begin(w->r, &err)) < 0)
			break;
		for (int i = 0; i < 200; i++, ts += 1000)
			if ((w->rc = records_add_reading(w->r, "home", "temp", ts, i, &err)) < 0)
				break;
		if (w->rc < 0 || (w->rc = records_commit(w->r, &err)) < 0)
			break;
		w->batches++;
	}
	snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
	return NULL;
}

Test(records, backup_while_writing)
{
	struct writer_arg w = {0};
	struct records_err err = {{0}};
	pthread_t th;
	char dst[160];
	int rc;

	w.r = open_writer(NULL);
	put_doses_and_alerts(w.r, 5, 3000);
	snprintf(dst, sizeof(dst), "%s/copy.db", dir);
	cr_assert_eq(pthread_create(&th, NULL, writer_main, &w), 0);
	while (w.batches < 20)
		usleep(1000);
	for (int i = 0; i < 3; i++) {
		rc = records_backup(path, dst, &err);
		cr_assert_eq(rc, 0, "backup %d: %s", i, err.msg);
	}
	w.stop = 1;
	pthread_join(th, NULL);
	cr_assert_eq(w.rc, 0, "writer: %s", w.msg);
	records_close(w.r);
	cr_assert_eq(sql_int(dst, "SELECT count(*) FROM pragma_integrity_check WHERE"
				  " integrity_check = 'ok'"),
		     1);
	cr_assert_eq(sql_int(dst, "PRAGMA user_version"), RECORDS_SCHEMA_VERSION);
	/* One snapshot: the tiers agree with the raw rows of the copy, and
	 * whole batches of 200 are in it. */
	int64_t raw = sql_int(dst, "SELECT count(*) FROM reading_raw");
	cr_assert_gt(raw, 0);
	cr_assert_eq(raw % 200, 0);
	cr_assert_eq(minutes_of(dst, "temp", T0, T0 + 400 * DAY_MS).readings, raw);
	cr_assert_eq(sql_int(dst, "SELECT sum(n) FROM reading_hour"), raw);
	cr_assert_eq(sql_int(dst, "SELECT count(*) FROM dose_snapshot"), 5);
	snprintf(dst + strlen(dst), sizeof(dst) - strlen(dst), ".tmp");
	cr_assert(!exists(dst), "the .tmp is left behind");
	/* A source that is not there: an error, and no destination. */
	cr_assert_eq(records_backup("/nonexistent/x.db", dst, &err), -EIO);
	cr_assert_eq(records_backup(path, path, &err), -EINVAL);
}

/* ------------------------------------------------------ bad arguments */

Test(records, bad_arguments_are_errors)
{
	struct records_err err = {{0}};
	struct records *r = open_writer(NULL);
	struct records_history h;
	struct records_doses d;
	struct records_events e;
	static unsigned char big[RECORDS_SNAPSHOT_MAX + 1];

	cr_assert_eq(records_history(r, "home", "temp", T0 + 1, T0, 10, T0, &h, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "from < to"), "%s", err.msg);
	cr_assert_eq(records_history(r, "home", "temp", T0, T0, 10, T0, &h, &err), -EINVAL);
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 1, 0, T0, &h, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "0 points"), "%s", err.msg);
	cr_assert_eq(records_history(r, "home", "temp", T0, T0 + 1, (size_t)-1, T0, &h, &err),
		     -EINVAL);
	cr_assert_eq(records_history(r, "home", "temp", -5, T0, 10, T0, &h, &err), -EINVAL);
	cr_assert_eq(records_history(r, "home", "temp", 0, INT64_MAX, 10, T0, &h, &err), -EINVAL);
	cr_assert_eq(records_history(r, NULL, "temp", T0, T0 + 1, 10, T0, &h, &err), -EINVAL);
	cr_assert_eq(records_history(NULL, "home", "temp", T0, T0 + 1, 10, T0, &h, &err), -EINVAL);
	cr_assert_null(h.points);
	/* The most points allowed, over a range shorter than that: fine. */
	add(r, "temp", T0, 1);
	cr_assert_eq(
	    records_history(r, "home", "temp", T0, T0 + 10, RECORDS_POINTS_MAX, T0, &h, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(h.n, 1);
	records_history_free(&h);

	cr_assert_eq(records_doses(r, "home", T0 + 1, T0, 10, &d, &err), -EINVAL);
	cr_assert_eq(records_doses(r, "home", T0, T0 + 1, 0, &d, &err), -EINVAL);
	cr_assert_eq(records_doses(r, "home", T0, T0 + 1, 1u << 30, &d, &err), -EINVAL);
	cr_assert_eq(records_events(r, NULL, NULL, T0, T0 + 1, 10, &e, &err), -EINVAL);

	cr_assert_eq(records_add_reading(r, "home", "temp", T0, NAN, &err), -EINVAL);
	cr_assert_eq(records_add_reading(r, "home", "", T0, 1, &err), -EINVAL);
	cr_assert_eq(records_add_reading(r, "home", "temp", -1, 1, &err), -EINVAL);
	struct records_dose bd = {.id = "b",
				  .site = "home",
				  .ts_ms = T0,
				  .verified = -1,
				  .snapshot = big,
				  .snapshot_len = sizeof(big)};
	cr_assert_eq(records_put_dose(r, &bd, &err), -EFBIG);
	cr_assert_not_null(strstr(err.msg, "262145"), "%s", err.msg);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM dose"), 0);
	struct records_dose nid = {.site = "home", .ts_ms = T0, .verified = -1};
	cr_assert_eq(records_put_dose(r, &nid, &err), -EINVAL);
	struct records_slot bs = {"home", "2026-11-30T08:00", T0, "eaten", NULL};
	cr_assert_eq(records_put_slot(r, &bs, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "eaten"), "%s", err.msg);
	struct records_event be = {"home", "motion", T0, T0 - 1, 0.1, NULL, 0};
	cr_assert_eq(records_put_event(r, &be, NULL, &err), -EINVAL);

	cr_assert_eq(records_commit(r, &err), -EINVAL);
	cr_assert_eq(records_rollback(r, &err), -EINVAL);
	cr_assert_eq(records_begin(r, &err), 0);
	cr_assert_eq(records_begin(r, &err), -EINVAL);
	cr_assert_eq(records_maintain(r, T0, 0, NULL, &err), -EINVAL);
	cr_assert_eq(records_commit(r, &err), 0);
	cr_assert_eq(records_maintain(r, -1, 0, NULL, &err), -EINVAL);
	records_close(r);

	cr_assert_eq(records_open(NULL, NULL, &r, NULL, &err), -EINVAL);
	cr_assert_eq(records_open("/nonexistent/dir/x.db", NULL, &r, NULL, &err), -EIO);
	cr_assert_not_null(strstr(err.msg, "/nonexistent/dir/x.db"), "%s", err.msg);
	cr_assert_null(r);
	records_close(NULL);
	/* err NULL is allowed everywhere. */
	cr_assert_eq(records_commit(NULL, NULL), -EINVAL);
}

/* ------------------------------------------------------------- sessions */

/* One ms past year 9999, the store's bound on times. */
#define RECORDS_TS_MAX_TEST 253402300800000LL

static struct records_session session_of(unsigned char b, int64_t created, int64_t used)
{
	struct records_session s = {
	    .role = "operator", .created_ms = created, .last_used_ms = used};

	memset(s.hash, b, sizeof(s.hash));
	return s;
}

Test(records, sessions_put_touch_delete_list)
{
	struct records_opened op;
	struct records *r = open_writer(&op);
	struct records_err err = {{0}};
	struct records_sessions ss;
	struct records_session a = session_of(1, T0, T0), b = session_of(2, T0, T0 + 5000);

	cr_assert_eq(records_put_session(r, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(records_put_session(r, &b, &err), 0, "%s", err.msg);
	/* Most recently used first. */
	cr_assert_eq(records_sessions(r, T0 + 6000, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 2);
	cr_assert_eq(ss.rows[0].hash[0], 2);
	cr_assert_eq(ss.rows[0].last_used_ms, T0 + 5000);
	cr_assert_eq(ss.rows[1].hash[0], 1);
	cr_assert_str_eq(ss.rows[1].role, "operator");
	cr_assert_eq(ss.rows[1].created_ms, T0);
	records_sessions_free(&ss);
	cr_assert_eq(ss.n, 0);

	/* A touch moves last_used forward, never back; in a batch too. */
	cr_assert_eq(records_begin(r, &err), 0, "%s", err.msg);
	cr_assert_eq(records_touch_session(r, a.hash, T0 + 9000, &err), 0, "%s", err.msg);
	cr_assert_eq(records_touch_session(r, b.hash, T0 + 1, &err), 0, "%s", err.msg);
	unsigned char none[RECORDS_SESSION_HASH];
	memset(none, 9, sizeof(none));
	cr_assert_eq(records_touch_session(r, none, T0 + 9000, &err), -ENOENT);
	cr_assert_eq(records_commit(r, &err), 0, "%s", err.msg); /* the batch went on */
	cr_assert_eq(records_sessions(r, T0 + 10000, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 2);
	cr_assert_eq(ss.rows[0].hash[0], 1);
	cr_assert_eq(ss.rows[0].last_used_ms, T0 + 9000);
	cr_assert_eq(ss.rows[1].last_used_ms, T0 + 5000);
	records_sessions_free(&ss);
	/* A put again keeps the later last_used. */
	struct records_session a2 = session_of(1, T0, T0 + 100);
	cr_assert_eq(records_put_session(r, &a2, &err), 0, "%s", err.msg);
	cr_assert_eq(sql_int(path, "SELECT last_used FROM session WHERE hex(hash) LIKE '0101%'"),
		     T0 + 9000);

	cr_assert_eq(records_delete_session(r, a.hash, &err), 0, "%s", err.msg);
	cr_assert_eq(records_delete_session(r, a.hash, &err), -ENOENT);
	cr_assert_eq(records_sessions(r, T0 + 10000, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 1);
	cr_assert_eq(ss.rows[0].hash[0], 2);
	records_sessions_free(&ss);
	/* What is stored is the 32-byte hash, a BLOB. */
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM session WHERE typeof(hash) = 'blob'"
				   " AND length(hash) = 32"),
		     1);

	/* A reader lists them and cannot write. */
	struct records *rd = open_reader();
	cr_assert_eq(records_sessions(rd, T0 + 10000, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 1);
	records_sessions_free(&ss);
	cr_assert_eq(records_put_session(rd, &b, &err), -EINVAL);
	cr_assert_eq(records_delete_session(rd, b.hash, &err), -EINVAL);
	records_close(rd);
	records_close(r);
}

Test(records, sessions_expire_by_idle_in_list_and_maintain)
{
	struct records_options o = {.mode = RECORDS_WRITER, .session_idle_ms = HOUR_MS};
	struct records_err err = {{0}};
	struct records *r = NULL;
	struct records_sessions ss;
	struct records_maintain_stats ms;

	cr_assert_eq(records_open(path, &o, &r, NULL, &err), 0, "%s", err.msg);
	struct records_session a = session_of(1, T0, T0), b = session_of(2, T0, T0 + 10 * MIN_MS);
	cr_assert_eq(records_put_session(r, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(records_put_session(r, &b, &err), 0, "%s", err.msg);
	/* Live while now - last_used < idle: a's last ms, then not. */
	cr_assert_eq(records_sessions(r, T0 + HOUR_MS - 1, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 2);
	records_sessions_free(&ss);
	cr_assert_eq(records_sessions(r, T0 + HOUR_MS, &ss, &err), 0, "%s", err.msg);
	cr_assert_eq(ss.n, 1);
	cr_assert_eq(ss.rows[0].hash[0], 2);
	records_sessions_free(&ss);
	/* records_maintain deletes what is no longer live, and only that. */
	cr_assert_eq(records_maintain(r, T0 + HOUR_MS - 1, 0, &ms, &err), 0, "%s", err.msg);
	cr_assert_eq(ms.sessions_deleted, 0);
	cr_assert_eq(records_maintain(r, T0 + HOUR_MS, 0, &ms, &err), 0, "%s", err.msg);
	cr_assert_eq(ms.sessions_deleted, 1);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM session"), 1);
	records_close(r);

	/* The default idle is 7 days. */
	r = open_writer(NULL);
	cr_assert_eq(
	    records_maintain(r, T0 + 10 * MIN_MS + RECORDS_SESSION_IDLE_MS - 1, 0, &ms, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(ms.sessions_deleted, 0);
	cr_assert_eq(records_maintain(r, T0 + 10 * MIN_MS + RECORDS_SESSION_IDLE_MS, 0, &ms, &err),
		     0, "%s", err.msg);
	cr_assert_eq(ms.sessions_deleted, 1);
	records_close(r);
}

Test(records, sessions_bad_arguments)
{
	struct records *r = open_writer(NULL);
	struct records_err err = {{0}};
	struct records_sessions ss;
	struct records_session s = session_of(3, T0, T0);

	cr_assert_eq(records_put_session(r, NULL, &err), -EINVAL);
	s.role = NULL;
	cr_assert_eq(records_put_session(r, &s, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "role"), "%s", err.msg);
	s.role = "";
	cr_assert_eq(records_put_session(r, &s, &err), -EINVAL);
	s.role = "a-role-name-that-is-longer-than-32-bytes";
	cr_assert_eq(records_put_session(r, &s, &err), -EINVAL);
	s.role = "operator";
	s.created_ms = T0 + 1; /* after its last use */
	cr_assert_eq(records_put_session(r, &s, &err), -EINVAL);
	s.created_ms = -1;
	cr_assert_eq(records_put_session(r, &s, &err), -EINVAL);
	s.created_ms = T0;
	s.last_used_ms = RECORDS_TS_MAX_TEST;
	cr_assert_eq(records_put_session(r, &s, &err), -EINVAL);
	cr_assert_eq(records_touch_session(r, NULL, T0, &err), -EINVAL);
	cr_assert_eq(records_touch_session(r, s.hash, -5, &err), -EINVAL);
	cr_assert_eq(records_delete_session(r, NULL, &err), -EINVAL);
	cr_assert_eq(records_sessions(r, -1, &ss, &err), -EINVAL);
	cr_assert_eq(ss.n, 0);
	cr_assert_eq(records_sessions(NULL, T0, &ss, &err), -EINVAL);
	cr_assert_eq(sql_int(path, "SELECT count(*) FROM session"), 0);
	/* The table refuses a hash that is not 32 bytes whoever writes it. */
	records_close(r);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_neq(sqlite3_exec(db, "INSERT INTO session VALUES(x'00', 'operator', 1, 1)", NULL,
				   NULL, NULL),
		      SQLITE_OK);
	sqlite3_close(db);
}
