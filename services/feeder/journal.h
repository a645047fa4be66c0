/*
 * journal — the feeder's append-only, write-ahead dose journal.
 *
 * One JSON object per line in <data dir>/journal:
 *   {"op":"init","ts":ms}                       journal created (first install)
 *   {"op":"intent","id":"…","ts":ms,"by":"…","source":"manual"|"schedule","slot":"…",
 *    "boot":"<boot id>","mono":ms}            boot/mono: CLOCK_BOOTTIME at the intent
 *   {"op":"done","id":"…","ts":ms,"result":"ok"|"failed","reason":"…"}
 *   {"op":"cmd","id":"…","ts":ms,"action":"home","result":"ok","reason":"…"}
 *                                               a non-dose outcome, for idempotency
 *   {"op":"slot","slot":"…","ts":ms,"result":"missed"|"skipped"|"reopened","reason":"…"}
 *                                               a schedule slot settled without a dose
 *                                               ("reopened": unsettled, the clock went back)
 * Each line goes out in one write(); dose lines (intent, done, init) are
 * followed by fsync() before the caller acts on them. A failed or short
 * write is cut back off the file so the next line starts clean.
 *
 * Not thread-safe; the feeder's loop thread owns it.
 */
#ifndef IOD_FEEDER_JOURNAL_H
#define IOD_FEEDER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum journal_op { JOURNAL_INIT, JOURNAL_INTENT, JOURNAL_DONE, JOURNAL_CMD, JOURNAL_SLOT };

struct journal_rec {
	enum journal_op op;
	int64_t ts_ms;
	char id[PROTO_ID_MAX + 1];
	char by[PROTO_BY_MAX + 1];
	bool scheduled;	 /* intent: source "schedule" (else "manual") */
	char slot[24];	 /* intent (scheduled) and slot records */
	char action[8];	 /* cmd */
	char result[16]; /* done, cmd, slot */
	char reason[64]; /* optional */
	char boot[40];	 /* intent: the boot id it was given in ("" = unknown) */
	int64_t mono_ms; /* intent: CLOCK_BOOTTIME then (with boot) */
};

struct journal_load_info {
	bool missing;	      /* no journal file (first install) */
	size_t lines;	      /* records accepted */
	size_t bad_lines;     /* unparseable lines before the last one (skipped) */
	bool torn_tail;	      /* last line incomplete (ignored, cut off on open) */
	bool missing_newline; /* last line complete but without '\n' */
	int64_t valid_end;    /* offset just after the last good line */
	int64_t size;
};

typedef void (*journal_rec_cb)(void *arg, const struct journal_rec *rec);

/* Read every record of the journal at path, oldest first. A missing file is
 * not an error (info->missing). Returns 0, or -errno when the file cannot be
 * read, or -EINVAL when it is not a regular file: the caller then knows
 * nothing of the past and must not dose. */
int journal_load(const char *path, journal_rec_cb cb, void *arg, struct journal_load_info *info);

struct journal;

/* Open path for appending (created 0644 when missing, and its directory
 * fsync'd). info, when given, is the result of journal_load(): a torn tail
 * is truncated, a missing final newline added. NULL with *err = -errno. */
struct journal *journal_open(const char *path, const struct journal_load_info *info, int *err);
void journal_close(struct journal *j);

/* Append one record; sync: fsync() before returning. 0 or -errno (the file
 * is left as it was before the call whenever that is possible). */
int journal_append(struct journal *j, const struct journal_rec *rec, bool sync);

/* Replace the journal with exactly these records: written to "<path>.tmp",
 * fsync'd, renamed over path, reopened, directory fsync'd. 0 or -errno. On
 * a failure before the rename the old journal stays in place; after it the
 * new one is the journal either way (a failed reopen is retried by the next
 * append, a failed directory fsync before the next synced append). */
int journal_rewrite(struct journal *j, const struct journal_rec *recs, size_t n);

/* Bytes in the file and lines appended since open/rewrite. */
int64_t journal_size(const struct journal *j);
size_t journal_appended(const struct journal *j);

/* One record as a JSON line (with '\n'); malloc'd, NULL on out-of-memory. */
char *journal_encode(const struct journal_rec *rec);
/* Parse one line (without '\n'). 0 or -1. */
int journal_decode(const char *line, size_t len, struct journal_rec *out);

#endif
