/*
 * journal — the feeder's append-only, write-ahead dose journal.
 *
 * Format 2 (services/feeder/README.md "Journal format" is the reference):
 * one JSON object per line in <data dir>/journal, each line
 *
 *   {"seq":N,"op":"…",…fields…,"crc":"xxxxxxxx"}\n
 *
 * where crc is the CRC-32C (lower-case hex) of every byte of the line
 * before `,"crc"`, and seq counts up by one from line to line over the
 * journal's whole life (compaction continues it). The first line is the
 * header {"v":2,"seq":…,"op":"init","ts":<created>[,"compacted":true]};
 * a compacted journal's body ends with a checkpoint record naming how many
 * records precede it, so a cut anywhere in the body is noticed. Records:
 *   intent/done      a dose (fsync'd before acting)
 *   cmd              a non-dose outcome, for idempotency (not fsync'd)
 *   slot             a schedule slot settled without a dose
 *   ids              dose ids older than the in-memory window: 64-bit
 *                    hashes with their outcome, carried by compaction
 *   checkpoint       end of a compacted body
 *   damage           damage found at a start; also the dose assumed then
 *   repair           an operator's repair (acknowledges every damage before)
 *   clock_ack        an operator's acknowledgement that a dose was journaled
 *                    under a wall clock far ahead: the dose's time from/to
 *   plan             the care plan's rules after a change (or its seed)
 *   skip             a slot skipped by command
 *   pause / resume   the schedule paused (until a time, or until resume)
 *   refill           the pills now in the hopper
 *   verify           a dose's verification by the bowl's weight (result, reason,
 *                    delta_mg when a rise was measured)
 *
 * Beside it, <data dir>/journal.mark ({"v":2,"created":ms,"seq":N
 * [,"plan":rev,"interval":ms,"daily":n],"crc"}) says that this directory
 * holds a journal, which one (its creation time), the last fsync'd seq and
 * the care plan's rules then: a missing, emptied, replaced or cut journal
 * is noticed by comparing the two, and a lost plan record's rules are
 * still known.
 *
 * Format 1 (no version, seq or crc: journals written before) is read, never
 * written; the feeder migrates it at start.
 *
 * Not thread-safe; the feeder's loop thread owns it.
 */
#ifndef IOD_FEEDER_JOURNAL_H
#define IOD_FEEDER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define JOURNAL_VERSION	    2
#define JOURNAL_IDS_PER_REC 64
#define JOURNAL_MAX_BYTES   (64LL * 1024 * 1024) /* bigger: refused as not a journal */

enum journal_op {
	JOURNAL_INIT,
	JOURNAL_INTENT,
	JOURNAL_DONE,
	JOURNAL_CMD,
	JOURNAL_SLOT,
	JOURNAL_IDS,
	JOURNAL_CHECKPOINT,
	JOURNAL_DAMAGE,
	JOURNAL_REPAIR,
	JOURNAL_CLOCK_ACK,
	JOURNAL_PLAN,
	JOURNAL_SKIP,
	JOURNAL_PAUSE,
	JOURNAL_RESUME,
	JOURNAL_REFILL,
	JOURNAL_VERIFY,
};

/* A dose id remembered by hash: status 'o' ok, 'f' failed, 'u' uncertain. */
struct journal_id {
	uint64_t hash;
	char status;
};

/* clock_ack uses id (the re-dated dose), by (who acknowledged), reason (how
 * "to" was found: "boot_clock" or "ack_time"), from/to, and boot/mono (the
 * boot the dose now counts in, ack_time only). */
struct journal_rec {
	enum journal_op op;
	uint64_t seq; /* format 2; assigned by journal_append/journal_rewrite */
	int64_t ts_ms;
	char id[PROTO_ID_MAX +
		1]; /* intent, done, cmd; damage: the assumed dose; checkpoint: last dose */
	char by[PROTO_BY_MAX + 1];
	bool scheduled;	  /* intent: source "schedule" (else "manual") */
	char slot[24];	  /* intent (scheduled), slot and skip records */
	char action[8];	  /* cmd */
	char result[16];  /* done, cmd, slot */
	char reason[64];  /* optional */
	char boot[40];	  /* intent, damage: the boot id it was given in ("" = unknown) */
	int64_t mono_ms;  /* intent, damage: CLOCK_BOOTTIME then (with boot) */
	int64_t from_ms;  /* clock_ack: the dose's time as journaled */
	int64_t to_ms;	  /* clock_ack: its time from now on */
	bool compacted;	  /* init: a body ending with a checkpoint follows */
	char text[256];	  /* damage: what was found; repair: what was lost */
	int64_t count;	  /* checkpoint: records between the init and it */
	int64_t dose_ids; /* checkpoint: dose ids known then */
	size_t n_ids;	  /* ids */
	struct journal_id ids[JOURNAL_IDS_PER_REC];
	/* plan: its rules (rev, slots, min_interval_s, max_daily, grace_s,
	 * treat_*, low_days; changed_by is by, changed_at ts); slots_at_ms when
	 * its slots last changed (the schedule looks at no slot before). */
	struct proto_plan plan;
	int64_t slots_at_ms;
	int64_t until_ms; /* pause: until (0 = until resume) */
	int64_t pills;	  /* refill */
	bool has_delta;	  /* verify: delta_mg measured (else null) */
	int64_t delta_mg; /* verify: the bowl's rise, milligrams */
};

enum journal_damage_kind {
	JOURNAL_DMG_CHECKSUM,	    /* a line whose crc does not match (byte lost, bit flipped) */
	JOURNAL_DMG_UNREADABLE,	    /* a line that is no record at all (NULs, garbage) */
	JOURNAL_DMG_NEWER,	    /* a well-formed line of a format newer than this feeder's */
	JOURNAL_DMG_SEQ_GAP,	    /* records missing in the middle */
	JOURNAL_DMG_SEQ_ORDER,	    /* a record repeated or out of order */
	JOURNAL_DMG_TRUNCATED,	    /* the last line is cut mid-record */
	JOURNAL_DMG_NO_HEADER,	    /* format 2 without its init line first */
	JOURNAL_DMG_NO_CHECKPOINT,  /* a compacted body that does not end with its checkpoint */
	JOURNAL_DMG_BAD_CHECKPOINT, /* a checkpoint that does not match its body */
	/* decided by the caller from the marker: */
	JOURNAL_DMG_EMPTY,	    /* empty where a journal existed */
	JOURNAL_DMG_MISSING,	    /* missing where a journal existed */
	JOURNAL_DMG_TAIL_CUT,	    /* ends before the last fsync'd record (cut at a line) */
	JOURNAL_DMG_REPLACED,	    /* another journal than the one this directory had */
	JOURNAL_DMG_MARKER_DAMAGED, /* journal.mark unreadable */
	JOURNAL_DMG_MARKER_MISSING, /* a used journal whose journal.mark is gone */
};

struct journal_damage {
	enum journal_damage_kind kind;
	size_t line;	  /* 1-based; 0 = the whole file */
	int64_t offset;	  /* byte offset of the line (or of the file's end) */
	char detail[128]; /* e.g. "seq 7..9 missing" */
};

/* What journal_parse() reports, in file order. on_record may be NULL. */
struct journal_sink {
	void (*on_record)(void *arg, const struct journal_rec *rec);
	void (*on_damage)(void *arg, const struct journal_damage *dmg);
	void *arg;
};

struct journal_load_info {
	bool missing;	      /* no journal file */
	int format;	      /* 1 or 2; 0 = nothing readable */
	size_t lines;	      /* records accepted */
	size_t damage;	      /* problems reported through on_damage */
	bool torn_tail;	      /* last line incomplete (kept; a newline is added on open) */
	bool missing_newline; /* last line complete but without '\n' */
	uint64_t last_seq;    /* format 2: highest seq read (0: none) */
	bool have_header;     /* format 2: a readable init line came first */
	int64_t created_ms;   /* the init record's ts (0: none) */
	int64_t size;
};

const char *journal_damage_name(enum journal_damage_kind kind);

/* Parse a whole journal image (pure: no I/O; the fuzzer drives it). Every
 * readable record goes to on_record, every problem to on_damage. */
void journal_parse(const char *buf, size_t len, const struct journal_sink *sink,
		   struct journal_load_info *info);

/* Read and parse the journal at path. A missing file is not an error
 * (info->missing). Only a regular file is read: it is opened with
 * O_NONBLOCK|O_NOFOLLOW and checked with fstat, so a FIFO or a device never
 * blocks. Returns 0, -ELOOP for a symbolic link, -EINVAL for anything else
 * that is not a regular file (-EFBIG above JOURNAL_MAX_BYTES), or -errno.
 * On an error the caller knows nothing of the past and must not dose. */
int journal_load(const char *path, const struct journal_sink *sink, struct journal_load_info *info);

/* The marker beside the journal ("<path>.mark"). */
struct journal_mark {
	int64_t created_ms; /* the journal's init ts: which journal this is */
	uint64_t seq;	    /* the last fsync'd record's seq, or more */
	/* The care plan's rules as held then (0: not said, an older marker), so
	 * a start that finds the plan record lost still holds them. */
	int64_t plan_rev;
	int64_t interval_ms; /* the minimum interval held (the bound included) */
	int max_daily;
};
/* 0; -ENOENT when there is none; -EBADMSG when it is damaged; -errno. */
int journal_mark_read(const char *journal_path, struct journal_mark *out);
/* The same from the marker's bytes (pure), and its line (malloc'd). */
int journal_mark_parse(const char *buf, size_t len, struct journal_mark *out);
char *journal_mark_encode(const struct journal_mark *mark);
/* Atomically: "<path>.mark.tmp", fsync, rename, directory fsync. */
int journal_mark_write(const char *journal_path, const struct journal_mark *mark);

struct journal;

/* Open path for appending (created 0644 when missing, and its directory
 * fsync'd); only a regular file (O_NOFOLLOW, fstat). info, when given, is
 * journal_load()'s result: a last line without newline (torn or not) gets
 * one, so the next record starts on a line of its own and a torn line stays
 * visible. Records appended get seq next_seq, next_seq + 1, …; created_ms
 * names the journal in the marker. NULL with *err = -errno. */
struct journal *journal_open(const char *path, const struct journal_load_info *info,
			     uint64_t next_seq, int64_t created_ms, int *err);
void journal_close(struct journal *j);

/* Append one record (its seq is assigned); sync: fsync() before returning,
 * then the marker is brought up to this seq. 0 or -errno (the file is left
 * as it was before the call whenever that is possible). A marker that could
 * not be written is not an error of the append: see journal_mark_error(). */
int journal_append(struct journal *j, struct journal_rec *rec, bool sync);

/* Replace the journal with exactly these records (seqs assigned onward):
 * written to "<path>.tmp", fsync'd, renamed over path, reopened, directory
 * fsync'd, marker updated. 0 or -errno. On a failure before the rename the
 * old journal stays in place; after it the new one is the journal either
 * way (a failed reopen is retried by the next append, a failed directory
 * fsync before the next synced append). */
int journal_rewrite(struct journal *j, struct journal_rec *recs, size_t n);

/* Bytes in the file, lines appended since open/rewrite, the next seq. */
int64_t journal_size(const struct journal *j);
size_t journal_appended(const struct journal *j);
uint64_t journal_next_seq(const struct journal *j);
/* The plan's rules the marker carries from now on (journal_mark). */
void journal_set_plan(struct journal *j, int64_t rev, int64_t interval_ms, int max_daily);
/* The last marker write error (0: none), cleared by the call. */
int journal_mark_error(struct journal *j);

/* One record as a format-2 line (with '\n'); malloc'd, NULL on
 * out-of-memory. */
char *journal_encode(const struct journal_rec *rec);
/* Parse one format-2 line (without '\n'): 0, or -1 with *why set to
 * CHECKSUM, UNREADABLE or NEWER. */
int journal_decode(const char *line, size_t len, struct journal_rec *out,
		   enum journal_damage_kind *why);
/* Parse one format-1 line: 0 or -1. */
int journal_decode_v1(const char *line, size_t len, struct journal_rec *out);

/* Lock the journal's directory (flock, exclusive, non-blocking) so the
 * feeder and the repair tool never work on one journal at once. Returns
 * the fd holding the lock (close it to release), -EWOULDBLOCK when another
 * process holds it, or -errno. */
int journal_lock(const char *journal_path);

uint32_t journal_crc32c(const void *data, size_t len);
/* FNV-1a 64 of a dose id, as kept in ids records. */
uint64_t journal_id_hash(const char *id);

#endif
