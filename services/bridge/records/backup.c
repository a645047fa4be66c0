/*
 * backup.c — online copy of a store with sqlite3_backup_step, in steps,
 * from one read transaction on the source (one WAL snapshot: the writer's
 * commits during the copy neither restart it nor show up in it), checked
 * with integrity_check before it takes the destination's name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "records_internal.h"

/* Pages per sqlite3_backup_step: small enough that each step is short. */
#define BACKUP_STEP_PAGES 256

static int check_copy(sqlite3 *db, struct records_err *err)
{
	sqlite3_stmt *st;
	const char *res;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK)
		return records_fail(err, -EIO, "records: backup: integrity_check: %s",
				    sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (!res || strcmp(res, "ok") != 0) {
		records_fail(err, -EIO, "records: backup: the copy fails integrity_check: %s",
			     res ? res : sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_finalize(st);
	return 0;
}

int records_backup(const char *src_path, const char *dst_path, struct records_err *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk;
	char tmp[4200];
	int rc;

	if (!src_path || !src_path[0] || !dst_path || !dst_path[0])
		return records_fail(err, -EINVAL,
				    "records: backup needs a source and a destination");
	if (strcmp(src_path, dst_path) == 0)
		return records_fail(err, -EINVAL, "records: backup onto its own source %s",
				    src_path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst_path) >= (int)sizeof(tmp))
		return records_fail(err, -EINVAL, "records: backup: destination path too long");
	if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = records_fail(err, -EIO, "records: backup: cannot open %s: %s", src_path,
				  src ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	/* The read transaction that pins one snapshot for all the steps. */
	if (sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = records_fail(err, -EIO, "records: backup: reading %s: %s", src_path,
				  sqlite3_errmsg(src));
		goto out;
	}
	unlink(tmp);
	rc = records_create_private(tmp);
	if (rc < 0) {
		rc = records_fail(err, -EIO, "records: backup: cannot create %s: %s", tmp,
				  strerror(-rc));
		goto out;
	}
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		rc = records_fail(err, -EIO, "records: backup: cannot create %s: %s", tmp,
				  dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	bk = sqlite3_backup_init(dst, "main", src, "main");
	if (!bk) {
		rc = records_fail(err, -EIO, "records: backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	do {
		rc = sqlite3_backup_step(bk, BACKUP_STEP_PAGES);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(5);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		rc = records_fail(err, -EIO, "records: backup of %s: %s", src_path,
				  sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	rc = check_copy(dst, err);
	if (rc < 0)
		goto out;
	if (sqlite3_close(dst) != SQLITE_OK) {
		rc = records_fail(err, -EIO, "records: backup: closing %s: %s", tmp,
				  sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	if (rename(tmp, dst_path) != 0) {
		rc = records_fail(err, -EIO, "records: backup: %s -> %s: %s", tmp, dst_path,
				  strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (dst)
		sqlite3_close_v2(dst);
	if (src)
		sqlite3_close_v2(src);
	if (rc < 0) {
		char side[4300];

		unlink(tmp);
		snprintf(side, sizeof(side), "%s-journal", tmp);
		unlink(side);
		snprintf(side, sizeof(side), "%s-wal", tmp);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", tmp);
		unlink(side);
	}
	return rc;
}
