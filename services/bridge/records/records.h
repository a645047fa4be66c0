/*
 * records — the bridge's SQLite store of what lasts (issue 13): readings in
 * three tiers (raw 48 h, per-minute 90 days, per-hour kept), doses with their
 * snapshots, schedule slots, plan changes, commands, alerts, motion events
 * and (schema v2) the operator sessions' token hashes. Pure C over
 * libsqlite3; no lws, libuv or Paho.
 *
 * Connections. A struct records is one SQLite connection. A process has ONE
 * writer (RECORDS_WRITER: creates, migrates, checks and repairs the file, and
 * is the only one that calls the records_put_* / records_add_* /
 * records_maintain functions) and any number of readers (RECORDS_READER:
 * read-only, for the HTTP handlers). Every query function works on either.
 * A connection is used by one thread at a time (the writer thread, one HTTP
 * handler); different connections may be used on different threads at once.
 * There is no global state. WAL mode: readers never block the writer and see
 * the last committed batch.
 *
 * Errors. Every function that can fail returns 0 or a negative errno and,
 * when err is not NULL, fills err->msg with one line naming what failed and
 * why (never aborts, never exits). Codes used: -EINVAL bad argument, -ENOENT
 * no such row, -EFBIG a BLOB over its bound, -EPROTO schema version refused,
 * -ENOSPC over the size bound after dropping all that may be dropped, -ENOMEM
 * out of memory, -EEXIST no free name to move a damaged file aside to, -EIO
 * any other SQLite or file failure (the SQLite message is in err->msg).
 *
 * Times are ms since the epoch (UTC); nothing here depends on the local time
 * zone. Strings passed in are copied; strings and BLOBs in results belong to
 * the result and live until its records_*_free().
 */
#ifndef IOD_BRIDGE_RECORDS_H
#define IOD_BRIDGE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* The schema this build writes (PRAGMA user_version). */
#define RECORDS_SCHEMA_VERSION 3

/* Retention of the reading tiers (records_maintain). */
#define RECORDS_RAW_KEEP_MS    (48LL * 3600 * 1000)
#define RECORDS_MINUTE_KEEP_MS (90LL * 24 * 3600 * 1000)

/* BLOB bounds: a dose snapshot and a motion event's thumbnail. */
#define RECORDS_SNAPSHOT_MAX (256 * 1024)
#define RECORDS_THUMB_MAX    (10 * 1024)

/* History queries refuse more buckets than this (-EINVAL). */
#define RECORDS_POINTS_MAX 1000000

struct records;

struct records_err {
	char msg[256];
};

enum records_mode {
	RECORDS_WRITER,
	RECORDS_READER,
};

/*
 * One step of the schema: SQL run in one transaction with user_version set
 * to version after it. The list is ordered and versions are 1, 2, 3, ...;
 * the schema of version N is the result of steps 1..N applied to an empty
 * file. Version 2 added the sessions table (records_put_session); each
 * later version is one more entry in records.c's list.
 */
struct records_migration {
	int version;
	const char *sql;
};

/* The built-in list (RECORDS_SCHEMA_VERSION entries); *n is its length. */
const struct records_migration *records_migrations(size_t *n);

struct records_options {
	enum records_mode mode;
	/* How long a statement waits on a lock before -EIO; 0: 5000 ms. */
	int busy_timeout_ms;
	/* NULL: records_migrations(). Tests pass a longer list (a synthetic
	 * v3) to check that an older file is migrated forward. */
	const struct records_migration *migrations;
	size_t n_migrations;
	/* Operator sessions idle this long are not live (records_sessions)
	 * and are deleted by records_maintain; 0: RECORDS_SESSION_IDLE_MS. */
	int64_t session_idle_ms;
};

/* What records_open found and did, for the bridge to log and alert on. */
struct records_opened {
	int version_found; /* user_version before migrating (0: new file) */
	int version_now;   /* after */
	/* 1: the file could not be used (not a database, corrupt, failed
	 * PRAGMA quick_check) and was moved aside to moved_to (with its -wal
	 * and -shm), and a fresh store was started: raise a critical alert. */
	int recovered;
	char moved_to[4096];
	char reason[256];
};

/*
 * Opens path. The writer creates the file if missing (auto_vacuum =
 * INCREMENTAL set at creation), sets WAL, synchronous = NORMAL, busy_timeout
 * and foreign_keys, runs PRAGMA quick_check, and migrates forward. A file
 * whose user_version is newer than the last migration is refused (-EPROTO,
 * the message names both versions) and not touched. A file that is not a
 * database, or is corrupt, is moved aside to "<path>.corrupt-<UTC
 * YYYYMMDDTHHMMSSZ>" (with -wal and -shm; a numeric suffix if that exists),
 * a fresh store is created and opened->recovered says so; the open fails only
 * if the fresh store cannot be created either. A reader opens read-only, runs
 * no check and no migration, and fails (-EPROTO) unless the file is at the
 * version of the list (the writer opens first). opts NULL: a writer with the
 * defaults; opened may be NULL. *out is the new connection on success, NULL
 * on failure.
 */
int records_open(const char *path, const struct records_options *opts, struct records **out,
		 struct records_opened *opened, struct records_err *err);

/* Closes the connection; a batch still open is rolled back. NULL is a no-op. */
void records_close(struct records *r);

/*
 * Batches (writer only). records_begin() opens a transaction
 * (BEGIN IMMEDIATE); the put/add calls until records_commit() go into it and
 * readers see them all at once at the commit. A put/add outside a batch is
 * its own transaction (correct, but a batch of hundreds is what makes
 * thousands of readings per second cheap). records_rollback() drops the
 * batch, the tier sums it would have added included. records_begin() inside
 * a batch, or commit/rollback outside one, is -EINVAL.
 */
int records_begin(struct records *r, struct records_err *err);
int records_commit(struct records *r, struct records_err *err);
int records_rollback(struct records *r, struct records_err *err);

/*
 * One reading (writer only). site and kind: non-empty, at most 64 bytes;
 * value finite. A second reading of the same site, kind and ts_ms is
 * ignored (a redelivered message), in every tier. The minute and hour tiers
 * (count, sum, min, max) are kept up to date by the same transaction, so
 * they always agree with the readings added, late or out-of-order ones too.
 */
int records_add_reading(struct records *r, const char *site, const char *kind, int64_t ts_ms,
			double value, struct records_err *err);

/*
 * A dose, upserted by id (the feeder's dose id): the first message creates
 * it, later ones fill in what they know. NULL strings, verified < 0, and
 * has_delta_g 0 leave the stored value as it is; site and ts_ms are required
 * and kept from the first message. snapshot (a JPEG, at most
 * RECORDS_SNAPSHOT_MAX bytes, else -EFBIG) replaces the stored one when
 * snapshot_len > 0.
 */
struct records_dose {
	const char *id;
	const char *site;
	int64_t ts_ms;
	const char *by;
	const char *source;  /* manual | schedule | ... */
	const char *slot;    /* "YYYY-MM-DDTHH:MM" or NULL */
	const char *outcome; /* ok | failed | uncertain | ... */
	const char *reason;
	int verified; /* -1 not known, 0 no, 1 yes */
	int has_delta_g;
	double delta_g;
	const void *snapshot;
	size_t snapshot_len;
};
int records_put_dose(struct records *r, const struct records_dose *d, struct records_err *err);

/*
 * A schedule slot, upserted by (site, slot): each feeder/schedule message
 * overwrites status and at_ms (the final status wins); dose_id NULL keeps
 * the stored one. status: pending|given|late|skipped|paused|missed|failed|
 * uncertain (others -EINVAL).
 */
struct records_slot {
	const char *site;
	const char *slot; /* "YYYY-MM-DDTHH:MM", local time of the site */
	int64_t at_ms;
	const char *status;
	const char *dose_id;
};
int records_put_slot(struct records *r, const struct records_slot *s, struct records_err *err);

/* A plan change; a second one with the same (site, rev) is ignored. */
struct records_plan {
	const char *site;
	int64_t rev;
	int64_t ts_ms;
	const char *by;
	const char *json; /* the plan as published */
};
int records_add_plan(struct records *r, const struct records_plan *p, struct records_err *err);

/* A command's answer or a service event (feeder/event, notify/event). Only
 * site and service are required; the rest may be NULL. */
struct records_command {
	const char *site;
	int64_t ts_ms;
	const char *service;
	const char *id;
	const char *action;
	const char *result;
	const char *reason;
	const char *by;
};
int records_add_command(struct records *r, const struct records_command *c,
			struct records_err *err);

/*
 * An alert, upserted by (site, key, since_ms): one raise of one alert and
 * its later updates. level, message, updated_ms are overwritten; acked_by /
 * acked_ms and cleared_ms when given (NULL / 0 keep the stored value).
 */
struct records_alert {
	const char *site;
	const char *key;
	const char *source;
	const char *code;
	const char *level;
	const char *message;
	int64_t since_ms;
	int64_t updated_ms;
	const char *acked_by;
	int64_t acked_ms;   /* 0: not acked (as far as this message says) */
	int64_t cleared_ms; /* 0: still active */
};
int records_put_alert(struct records *r, const struct records_alert *a, struct records_err *err);

/*
 * A motion (or other) event, upserted by (site, kind, start_ms): the start
 * message creates it with end_ms 0 (open); a later put with the same key
 * sets end_ms / score / thumbnail when given (end_ms 0, score < 0, thumb_len
 * 0 keep them). thumb: JPEG of at most RECORDS_THUMB_MAX bytes, else -EFBIG
 * and nothing stored. *id_out (may be NULL) is the event's id, for
 * records_event_thumb().
 */
struct records_event {
	const char *site;
	const char *kind; /* "motion" */
	int64_t start_ms;
	int64_t end_ms;
	double score;
	const void *thumb;
	size_t thumb_len;
};
int records_put_event(struct records *r, const struct records_event *e, int64_t *id_out,
		      struct records_err *err);

/* Closes the newest open event of (site, kind) that started at or before
 * end_ms; -ENOENT if none is open. */
int records_end_event(struct records *r, const char *site, const char *kind, int64_t end_ms,
		      struct records_err *err);

/*
 * Retention and the size bound (writer only), e.g. hourly and at start:
 * drops raw readings older than now_ms - RECORDS_RAW_KEEP_MS, minute rows
 * older than now_ms - RECORDS_MINUTE_KEEP_MS and sessions last used at or
 * before now_ms - session_idle_ms (records_options). Then, while the pages in use
 * (page_count - freelist_count, times page_size) exceed max_bytes (0: no
 * bound), drops the oldest raw readings, then the oldest minute rows, then
 * the oldest hour rows, then the thumbnails of the oldest events. Doses,
 * slots, alerts, plan changes and commands are never dropped; if they alone
 * exceed max_bytes the call returns -ENOSPC saying so (after dropping the
 * rest). Freed pages are returned to the file system (incremental vacuum and
 * a WAL checkpoint). Not inside a batch (-EINVAL).
 */
struct records_maintain_stats {
	int64_t raw_deleted, minute_deleted, hour_deleted, thumbs_dropped;
	int64_t bytes_before, bytes_after; /* pages in use x page_size */
	int64_t sessions_deleted;	   /* idle past session_idle_ms */
};
int records_maintain(struct records *r, int64_t now_ms, int64_t max_bytes,
		     struct records_maintain_stats *stats, struct records_err *err);

/* Pages in use x page_size, and the file's size on disk (without -wal). */
int records_size(struct records *r, int64_t *used_bytes, int64_t *file_bytes,
		 struct records_err *err);

/*
 * Reading history over [from_ms, to_ms), in at most max_points buckets
 * (1 .. RECORDS_POINTS_MAX; from_ms < to_ms; otherwise -EINVAL).
 * The width w = ceil((to - from) / max_points) picks the tier: raw rows if
 * w < 60 s and from_ms >= now_ms - RECORDS_RAW_KEEP_MS; else minute rows if
 * w < 1 h and from_ms >= now_ms - RECORDS_MINUTE_KEEP_MS; else hour rows.
 * At the minute and hour tiers from_ms is rounded down to the tier's unit
 * and w up to a whole number of units, so a bucket holds whole minutes
 * (hours); a minute (hour) row is counted if it starts in [from, to).
 * Buckets start at from (rounded), ts_ms is a bucket's start, empty buckets
 * are omitted, points ascend. mean/min/max/count are exact over the readings
 * of the bucket (minute and hour rows combined by their counts).
 * A query at the minute or hour tier reads no raw row.
 */
enum records_tier {
	RECORDS_TIER_RAW,
	RECORDS_TIER_MINUTE,
	RECORDS_TIER_HOUR,
};
struct records_point {
	int64_t ts_ms;
	double mean, min, max;
	int64_t count;
};
struct records_history {
	struct records_point *points;
	size_t n;
	enum records_tier tier;
	int64_t bucket_ms; /* w as used */
	int64_t from_ms;   /* the first bucket's start (from, rounded) */
};
int records_history(struct records *r, const char *site, const char *kind, int64_t from_ms,
		    int64_t to_ms, size_t max_points, int64_t now_ms, struct records_history *out,
		    struct records_err *err);
void records_history_free(struct records_history *h);

/*
 * Lists over [from_ms, to_ms) of one site, newest first, at most limit rows
 * (1 .. 100000, else -EINVAL); truncated is 1 when more rows matched.
 * Doses and events by ts / start_ms, plans and commands by ts_ms, alerts by
 * since_ms. Slots ascend by at_ms (a day's schedule reads in order).
 * Strings absent in the store are NULL; verified -1 when not known,
 * has_delta_g 0 when not known. BLOBs are not in lists: has_snapshot /
 * has_thumb say whether one is kept; fetch it by id.
 */
struct records_dose_row {
	char *id, *site, *by, *source, *slot, *outcome, *reason;
	int64_t ts_ms;
	int verified;
	int has_delta_g;
	double delta_g;
	int has_snapshot;
};
struct records_doses {
	struct records_dose_row *rows;
	size_t n;
	int truncated;
};
int records_doses(struct records *r, const char *site, int64_t from_ms, int64_t to_ms, size_t limit,
		  struct records_doses *out, struct records_err *err);
void records_doses_free(struct records_doses *l);

/* A dose's snapshot: *jpeg (malloc'd, the caller frees) and *len; *jpeg NULL
 * and *len 0 if the dose has none; -ENOENT if there is no such dose. */
int records_dose_snapshot(struct records *r, const char *dose_id, void **jpeg, size_t *len,
			  struct records_err *err);

struct records_slot_row {
	char *site, *slot, *status, *dose_id;
	int64_t at_ms;
};
struct records_slots {
	struct records_slot_row *rows;
	size_t n;
	int truncated;
};
int records_slots(struct records *r, const char *site, int64_t from_ms, int64_t to_ms, size_t limit,
		  struct records_slots *out, struct records_err *err);
void records_slots_free(struct records_slots *l);

struct records_plan_row {
	char *site, *by, *json;
	int64_t rev, ts_ms;
};
struct records_plans {
	struct records_plan_row *rows;
	size_t n;
	int truncated;
};
int records_plans(struct records *r, const char *site, int64_t from_ms, int64_t to_ms, size_t limit,
		  struct records_plans *out, struct records_err *err);
void records_plans_free(struct records_plans *l);

struct records_command_row {
	char *site, *service, *id, *action, *result, *reason, *by;
	int64_t ts_ms;
};
struct records_commands {
	struct records_command_row *rows;
	size_t n;
	int truncated;
};
int records_commands(struct records *r, const char *site, int64_t from_ms, int64_t to_ms,
		     size_t limit, struct records_commands *out, struct records_err *err);
void records_commands_free(struct records_commands *l);

struct records_alert_row {
	char *site, *key, *source, *code, *level, *message, *acked_by;
	int64_t since_ms, updated_ms, acked_ms, cleared_ms; /* 0: none */
};
struct records_alerts {
	struct records_alert_row *rows;
	size_t n;
	int truncated;
};
int records_alerts(struct records *r, const char *site, int64_t from_ms, int64_t to_ms,
		   size_t limit, struct records_alerts *out, struct records_err *err);
void records_alerts_free(struct records_alerts *l);

struct records_event_row {
	int64_t id;
	char *site, *kind;
	int64_t start_ms, end_ms; /* end_ms 0: still open */
	double score;
	int has_thumb;
};
struct records_events {
	struct records_event_row *rows;
	size_t n;
	int truncated;
};
/* kind NULL: every kind. */
int records_events(struct records *r, const char *site, const char *kind, int64_t from_ms,
		   int64_t to_ms, size_t limit, struct records_events *out,
		   struct records_err *err);
void records_events_free(struct records_events *l);

/* An event's thumbnail, as records_dose_snapshot. */
int records_event_thumb(struct records *r, int64_t event_id, void **jpeg, size_t *len,
			struct records_err *err);

/*
 * Operator sessions (schema v2), so that a bridge restart logs nobody out.
 * A row is the SHA-256 of the session's token (AUTH's cookie value), never
 * the token itself: a copy of the file does not open a session. user
 * (schema v3; NULL = "admin") and role are the account's name and its
 * role at login (1..32 bytes each; v2's "operator" rows became user and
 * role "admin"); times are ms since the epoch, created_ms <= last_used_ms.
 *
 * records_put_session upserts by hash (created_ms and role as given,
 * last_used_ms the later of the stored and the given). records_touch_session
 * moves last_used_ms forward (never back); -ENOENT when there is no such
 * row. The bridge need not touch at every request: auth.c reports a
 * session's use at most once per touch interval (a minute), so a restart
 * may end a session up to that much early. records_delete_session: -ENOENT
 * when there was none (a logout of a session never stored, harmless).
 * records_sessions: the live ones (last_used_ms > now_ms - session_idle_ms),
 * most recently used first, at most RECORDS_SESSIONS_MAX (the store never
 * holds more than the bridge's cap, unless IOD_BRIDGE_* changed; the rest are
 * the least recently used).
 */
#define RECORDS_SESSION_HASH	32
#define RECORDS_SESSION_IDLE_MS (7LL * 24 * 3600 * 1000)
#define RECORDS_SESSIONS_MAX	4096
struct records_session {
	unsigned char hash[RECORDS_SESSION_HASH];
	const char *user;
	const char *role;
	int64_t created_ms, last_used_ms;
};
int records_put_session(struct records *r, const struct records_session *s,
			struct records_err *err);
int records_touch_session(struct records *r, const unsigned char hash[RECORDS_SESSION_HASH],
			  int64_t last_used_ms, struct records_err *err);
int records_delete_session(struct records *r, const unsigned char hash[RECORDS_SESSION_HASH],
			   struct records_err *err);
struct records_session_row {
	unsigned char hash[RECORDS_SESSION_HASH];
	char *user;
	char *role;
	int64_t created_ms, last_used_ms;
};
struct records_sessions {
	struct records_session_row *rows;
	size_t n;
};
int records_sessions(struct records *r, int64_t now_ms, struct records_sessions *out,
		     struct records_err *err);
void records_sessions_free(struct records_sessions *l);

/*
 * Online backup of the store at src_path to dst_path, on a connection of
 * its own (any thread; the writer may keep writing: the copy is the
 * database as of the start of the backup, read in steps from one WAL
 * snapshot). The copy is written to "<dst_path>.tmp", checked with PRAGMA
 * integrity_check, and renamed to dst_path only if it is "ok"; on any
 * failure dst_path is untouched and the .tmp removed.
 */
int records_backup(const char *src_path, const char *dst_path, struct records_err *err);

#endif
