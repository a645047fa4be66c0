/*
 * feeder_history — what the feeder knows of the past, and how it is kept:
 * the dose window, every older dose id, the command ring, settled slots and
 * clock acknowledgements in memory; their journal (services/feeder/journal.h)
 * appended, replayed at start, compacted, migrated, checked and repaired
 * (services/feeder/README.md "Journal"). feeder.c holds the rules and asks
 * this module what happened and to write down what it decided.
 *
 * Internal to the feeder: struct feeder is shared by feeder.c and
 * feeder_history.c and by nothing else (feeder.h keeps it opaque). The
 * loop thread owns it, as it owns the journal.
 */
#ifndef IOD_FEEDER_FEEDER_HISTORY_H
#define IOD_FEEDER_FEEDER_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeder.h"
#include "journal.h"
#include "plan.h"
#include "proto.h"

#define STARTUP_LOOKBACK_MS (24LL * 3600 * 1000)
#define OUTCOME_MAX	    80
/* A slot that comes while the feeder runs is dosed although the timer fires
 * a little late, whatever IOD_FEEDER_GRACE (which is about slots missed
 * while the feeder was down) says, even 0. */
#define ON_TIME_MS  (60 * 1000LL)
#define BOOT_ID_MAX 40
/* A dose dated further than this after the wall clock's now was journaled
 * under a clock that was ahead (or this one went back): its interval then
 * lasts until the clock reaches it, which needs the operator (clock-ack).
 * Less is a clock's ordinary correction, and costs at most that much. */
#define CLOCK_AHEAD_TOLERANCE_MS (5 * 60 * 1000LL)
#define ALERT_CLOCK_AHEAD_DOSE	 "clock_ahead_dose"

enum dose_status { DOSE_PENDING, DOSE_OK, DOSE_FAILED, DOSE_UNCERTAIN };

struct dose {
	char id[PROTO_ID_MAX + 1];
	char by[PROTO_BY_MAX + 1];
	int64_t ts_ms; /* from the intent: when dispensing began */
	bool scheduled;
	char slot[SCHEDULE_SLOT_ID_MAX];
	enum dose_status status;
	enum proto_verified verified; /* by the bowl's weight (verify record) */
	bool has_delta;		      /* verified true/false: delta_mg measured */
	int64_t delta_mg;
	char reason[64];	/* failed: why */
	char boot[BOOT_ID_MAX]; /* the boot it was given in ("" = unknown) */
	int64_t mono_ms;	/* CLOCK_BOOTTIME at its intent, in that boot */
};

/* A remembered non-dose outcome (home, call, refused feed). */
struct cmd_entry {
	char id[PROTO_ID_MAX + 1];
	char action[8];
	enum proto_result result; /* ok, rejected or failed */
	char reason[OUTCOME_MAX]; /* why, when not ok ("" = none) */
	int64_t ts_ms;
};

/* A treat given (ok or failed), from its cmd record: the treat limits. */
#define FEEDER_TREATS_KEPT 128 /* over PROTO_PLAN_TREAT_MAX_DAILY_MAX: a day's worth */
struct treat_entry {
	char id[PROTO_ID_MAX + 1];
	int64_t ts_ms;
};

struct slot_entry {
	char slot[SCHEDULE_SLOT_ID_MAX];
	char result[16]; /* "missed", "skipped" (served) or "paused" */
	int64_t ts_ms;
	bool by_cmd; /* skipped by a skip command (a skip record): by, id */
	char by[PROTO_BY_MAX + 1];
	char id[PROTO_ID_MAX + 1];
};

/* An operator's clock acknowledgement (a clock_ack record), kept for
 * compaction: the audit of a dose's re-dating. */
struct ack_entry {
	char id[PROTO_ID_MAX + 1];
	char by[PROTO_BY_MAX + 1];
	int64_t ts_ms, from_ms, to_ms;
	char how[16]; /* "boot_clock" or "ack_time" */
	char boot[BOOT_ID_MAX];
	int64_t mono_ms;
};

struct pending {
	bool active;
	enum proto_action action;
	char id[PROTO_ID_MAX + 1];
};

struct feeder {
	struct feeder_config cfg;
	char *journal_path;
	struct journal *journal;
	bool history_unknown; /* the journal could not be read: never dose */
	bool journal_failed;  /* the last append failed (alert on the transition) */
	int lock_fd;	      /* holds the data directory's lock, -1 none */
	uint64_t next_seq;    /* for a journal opened later (journal_usable) */
	int64_t created_ms;   /* the journal's identity in the marker */
	bool needs_migration; /* a format-1 journal not rewritten yet */

	/* Damage: found by this load and not yet accounted for by a damage
	 * record (new), or accounted for but not repaired (damaged). */
	bool damaged;
	char damage_text[256]; /* the last damage record's text */
	int64_t damage_ts_ms;
	size_t n_new_damage;
	struct journal_damage first_new_damage;
	FILE *report;			  /* repair: where every problem is described */
	const struct feeder_image *image; /* feeder_load_image(): no file is touched */
	bool read_only;			  /* made from an image: never writes */
	const char *repair_text;	  /* repair: the repair record written by compaction */

	struct dose doses[FEEDER_DOSES_KEPT]; /* oldest first */
	size_t n_doses;
	/* Every older dose id, by hash, sorted once loaded: idempotency for
	 * every dose ever journaled (~1,100 a year, 16 bytes each). */
	struct journal_id *dose_ids;
	size_t n_dose_ids, cap_dose_ids;
	bool ids_sorted;
	struct cmd_entry *ring; /* ring of cfg.id_memory entries */
	size_t ring_head, ring_count;
	struct slot_entry slots[FEEDER_SLOTS_KEPT]; /* oldest first */
	size_t n_slots;
	struct treat_entry treats[FEEDER_TREATS_KEPT]; /* oldest first */
	size_t n_treats;
	struct ack_entry acks[FEEDER_ACKS_KEPT]; /* oldest first */
	size_t n_acks;
	bool ack_unannounced;	     /* the journal's last records are acknowledgements */
	bool clock_ahead_alerted;    /* this episode's clock_ahead_dose alert is raised */
	bool clock_unsynced_alerted; /* clock_unsynced raised in this boot (feeder_clock_health) */

	int64_t init_ms;	   /* when the journal was created */
	int64_t started_ms;	   /* wall clock when this process started */
	char boot_id[BOOT_ID_MAX]; /* this boot's id, "" = unknown */
	bool have_mono;		   /* a dose happened in this boot */
	int64_t last_dose_mono_ms;
	int64_t sched_checked_ms; /* slots up to here are settled */

	/* The care plan (plan.h): its journaled rules, pause and pill count,
	 * the bounds from the configuration. */
	struct proto_plan plan;
	struct schedule sched;	       /* the plan's enabled slots */
	bool plan_journaled;	       /* a plan record was read */
	int64_t slots_at_ms;	       /* when the slots last changed: no slot before is settled */
	int64_t pause_from_ms;	       /* plan.paused: since when */
	int64_t pause_end_ms;	       /* the last pause's end, once over (resume or until) */
	int schedule_day;	       /* the local date (key) the last tick saw */
	struct journal_mark mark_plan; /* the plan's rules the marker held (plan_rev 0: none) */
	enum proto_position position;
	struct pending dose, cmd, treat;
	/* The bowl (feeder_bowl_reading): its latest reading, and the
	 * verification window of the last dose while it is open. */
	bool bowl_have;
	double bowl_g;
	struct {
		bool active;
		char id[PROTO_ID_MAX + 1];
		bool have_base; /* a reading before the dose (else the window's first) */
		double base_g;
		bool readings; /* a reading came in the window */
		double delta_g;
		int64_t end_ms;
	} verify;
	double verify_base_g; /* the reading before the dose in progress */
	bool verify_have_base;
	uint64_t auto_counter;

	uint64_t journal_errors, compactions, commands;
	int64_t compacted_bytes; /* size right after the last compaction */
};

/* ---- helpers both halves use ---------------------------------------------- */

void feeder_copy_str(char *dst, size_t cap, const char *src);
/* ms as local time ("2026-11-26 09:00:00 CET"). */
void feeder_local_time_text(int64_t ms, char *buf, size_t size);
/* An alert into res (dropped when res is full), logged at its level. */
void feeder_add_alert(struct feeder_result *res, const struct feeder_now *now,
		      enum proto_level level, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same about one slot or dose (its id: the alert's subject), so that
 * iod-notify keeps one entry per slot and a later fact clears that one. */
void feeder_add_alert_about(struct feeder_result *res, const struct feeder_now *now,
			    const char *subject, enum proto_level level, const char *code,
			    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- rules (feeder.c) that the history needs ------------------------------ */

/* When the next dose is allowed, and why not now (NULL: allowed now). */
const char *feeder_dose_rules(const struct feeder *f, const struct feeder_now *now,
			      int64_t *next_allowed);
/* Doses dated beyond the clock-ahead tolerance after now; *newest the latest. */
size_t feeder_doses_ahead(const struct feeder *f, const struct feeder_now *now,
			  const struct dose **newest);
/* The clock_ahead_dose alert, once per episode. */
void feeder_check_clock_ahead(struct feeder *f, const struct feeder_now *now,
			      struct feeder_result *res);
/* The clock_unsynced alert, once per boot, when now says unsynced. */
void feeder_clock_health(struct feeder *f, const struct feeder_now *now, struct feeder_result *res);

/* ---- history (feeder_history.c) ------------------------------------------- */

/* The dose with this id in the window, or NULL. */
struct dose *history_find_dose(struct feeder *f, const char *id);
/* A dose into the window (sorted by time; the oldest leaves it for the ids). */
struct dose *history_dose_put(struct feeder *f, const char *id, const char *by, int64_t ts_ms,
			      bool scheduled, const char *slot, enum dose_status status);
/* The first outcome of id, if it was handled before, as a duplicate's reason. */
bool history_find_outcome(struct feeder *f, const char *id, char *outcome, size_t size);
/* A slot settled without a dose ("reopened" forgets it), and forgetting one. */
void history_slot_put(struct feeder *f, const char *slot, const char *result, int64_t ts_ms);
void history_slot_forget(struct feeder *f, const char *slot);
/* The settled slot record of slot, or NULL. */
const struct slot_entry *history_slot_find(const struct feeder *f, const char *slot);
/* A slot skipped by command (a skip record's effect). */
void history_skip_put(struct feeder *f, const char *slot, const char *id, const char *by,
		      int64_t ts_ms);
/* Apply a plan, pause, resume or refill record to f (replay and commands
 * share it, so both end the same). */
void history_apply_plan_rec(struct feeder *f, const struct journal_rec *rec);
/* The plan of the configuration's seed (rev, by, at as given). */
void history_seed_plan(const struct feeder *f, int64_t rev, const char *by, int64_t at_ms,
		       struct proto_plan *out);
/* A plan record journaled (fsync'd, its rules in the marker written after
 * it) and applied; 0, or -errno and nothing applied. */
int history_put_plan(struct feeder *f, const struct journal_rec *rec, const struct feeder_now *now,
		     struct feeder_result *res);
/* The plan's rules into the journal's marker (when a journal is open). */
void history_plan_to_journal(struct feeder *f);
/* A pause whose until has come is over (plan_changed when it ends now). */
void history_pause_expire(struct feeder *f, const struct feeder_now *now,
			  struct feeder_result *res);
/* Append a record; a failure is logged and alerted (always, or on the first
 * failure after a success). 0 or -errno. */
int history_put(struct feeder *f, const struct journal_rec *rec, bool sync, bool alert_always,
		const struct feeder_now *now, struct feeder_result *res);
/* A non-dose outcome into the command ring and the journal (not fsync'd). */
void history_remember(struct feeder *f, const char *id, const char *action,
		      enum proto_result result, const char *reason, const struct feeder_now *now,
		      struct feeder_result *res);
/* Compact the journal when it is over the limit (never a damaged one). */
void history_maybe_compact(struct feeder *f);

#endif
