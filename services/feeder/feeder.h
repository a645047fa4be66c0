/*
 * feeder — the medication feeder's decisions, free of MQTT, libuv and
 * hardware: every rule of docs/design.md "Feeder safety" lives here so the unit
 * tests drive it with plain structs and an injected clock.
 *
 * The caller (main.c) owns transport and timing. For each incoming command
 * it calls feeder_handle_message(); the result says what to publish and
 * what to do with the hardware. Hardware actions are two-phase: the result
 * asks for FEEDER_DO_DOSE / _HOME / _CALL, the caller performs it and then
 * reports back with feeder_dose_done() or feeder_cmd_done(), which writes
 * the journal and produces the command's event. Every command yields
 * exactly one event.
 *
 * Rules, precisely (documented for operators in the README notes):
 *  - Order of checks: retained -> decode -> duplicate id -> ts (expired /
 *    clock_skew) -> busy (a dose is moving) -> min interval -> daily max ->
 *    journal. A retained command and a transient refusal (busy,
 *    journal_unavailable) do not consume the id; every other outcome is
 *    remembered and a repeat of the id is answered `duplicate` with
 *    reason = the first outcome ("ok", "rejected:too_soon", ...).
 *  - ts older than CMD_TTL -> `expired`; more than CMD_TTL in the future ->
 *    `clock_skew` (a sender with a wrong clock must not bypass expiry).
 *  - The care plan (plan.h) gives the rules: its slots (days, enabled),
 *    min_interval, max_daily, grace, pause. The vet's bounds
 *    (cfg.bound_*) hold for every dose on top: the interval is the larger
 *    of the plan's and the bound's, the daily maximum the smaller. A plan
 *    command outside the bounds (also slots that cannot be followed
 *    within them) is rejected out_of_bounds, a malformed one bad_plan
 *    (with detail), one naming another rev plan_changed; one that changes
 *    nothing keeps its rev. Precedence: the journal's newest plan record;
 *    none (first start, older journal) or cfg.reset_plan: seeded from
 *    cfg's min_interval/max_daily/grace/schedule as a new rev, journaled;
 *    a differing cfg value is one warning. Damage that may have lost the
 *    plan record: the marker's (stricter) rules are held as a new rev.
 *  - Treats are not doses: `treat` drives the second dispenser
 *    (cfg.treat_dispenser, else rejected no_treat_dispenser) under the
 *    plan's treat rules only: too_soon within treat_min_interval of the
 *    last treat, treat_limit at treat_max_daily treats this local day,
 *    busy only while a treat moves (a dose moving does not make a treat
 *    busy, nor a treat a dose). A treat is counted from its cmd record
 *    (ok or failed: the dispenser moved), written when it is done, so the
 *    limits hold after a restart; one cut off by a crash is not counted.
 *    Treats never count toward, nor wait for, the medication rules.
 *  - Verified dispense (cfg.verify_window_ms > 0): a dose done ok opens a
 *    window; the bowl's latest reading before the dose is the baseline
 *    (none: the window's first reading). A rise >= verify_min_g in it:
 *    verified (event action verify, result ok, delta_g). At its end
 *    (feeder_next_event_ms, settled by a tick): failed, no_weight_change
 *    (readings, or a baseline, but no rise) or no_bowl_reading (none at
 *    all), a dose_unverified warning. Either is an fsync'd verify record
 *    (the log's verified true/false). A restart during the window ends it:
 *    the dose stays verified null, no event, never a second dose. Off:
 *    verified null, no event.
 *  - plan/skip/pause/resume/refill: what they change is journaled
 *    fsync'd before the ok (else journal_unavailable, the id not used).
 *  - Minimum interval: held on the wall clock against the last dose's
 *    time, and within one boot also on the boot-time clock (mono_ms, with
 *    the boot id journaled in each intent, so across a restart of the
 *    feeder too), so a wall clock moved either way never allows an early
 *    dose. A last dose that lies in the wall clock's future counts as
 *    "just now".
 *  - Daily maximum: doses whose local calendar date (TZ) is today's;
 *    daily_limit's next_allowed is the next local midnight (or later).
 *  - Every dose is counted from its intent: a dose whose completion was
 *    never journaled (crash) or whose servo failed still counts.
 *  - Schedule: a slot S is *served* if any dose happened in
 *    (S - min_interval, now]. Each slot is settled once and journaled
 *    (dose with its slot id, or a "slot" record missed/skipped), so no
 *    slot is ever dosed twice, also across restarts. When a slot comes
 *    (timer, or on start): served -> skipped (info log); not served and
 *    now - S <= grace -> scheduled dose now (min interval and daily max
 *    still apply: refused -> `missed_dose` warning alert); otherwise ->
 *    `missed_dose` warning alert. Grace is for slots missed while down: a
 *    slot that comes while running is dosed up to 60 s late even with grace
 *    0. A slot in the pause is settled paused (no dose, no alert), one
 *    skipped by command stays skipped; a slot of a time before its plan
 *    had it (slots_at) is never settled. A wall clock set back reopens
 *    slots settled (without a dose, not by command) at a time now in the
 *    future. Only the newest unsettled slot may be
 *    dosed; older ones are missed. On start, slots of the last 24 h after
 *    the journal's creation are looked at; an empty journal (first
 *    install) is created with an init record at now, so no catch-up.
 *  - Clock health: every feeder_now says whether the kernel holds the
 *    wall clock synchronised (clock_unsynced); state's clock_synced is
 *    what the now given to feeder_state() says. An unsynchronised clock
 *    changes no rule (doses follow it as they would a synced one); the
 *    first time a command, a tick or a dose's end sees it unsynced,
 *    `clock_unsynced` (warning) names the local time the feeder believes,
 *    once per boot: not again in this process, nor after a restart when
 *    cfg.clock_alerted_boot is this boot's id (the glue keeps it in the
 *    data dir; res->clock_alerted says when to write it). A wall clock
 *    that is stepped (NTP's first sync) is the caller's to notice (a tick
 *    right after the step): a slot the step lands on is dosed, one it
 *    jumped over by more than the grace is missed, never dosed late, and
 *    the boot clock still holds the interval.
 */
#ifndef IOD_FEEDER_FEEDER_H
#define IOD_FEEDER_FEEDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"
#include "schedule.h"

#define FEEDER_MAX_ALERTS 8
#define FEEDER_DOSES_KEPT 256 /* doses kept in full (older ones: their ids, for good) */
#define FEEDER_SLOTS_KEPT 192 /* settled-without-dose slot records kept (skips among them) */
#define FEEDER_ACKS_KEPT  64  /* clock acknowledgements kept through compaction */
/* Plain literals: the glue stringifies them as its settings' defaults. */
#define FEEDER_ID_MEMORY_DEFAULT     1024   /* feeder_config.id_memory 0 */
#define FEEDER_COMPACT_BYTES_DEFAULT 262144 /* feeder_config.compact_bytes 0: 256 KiB */
/* The vet's bounds when feeder_config gives none (IOD_FEEDER_BOUND_*). */
#define FEEDER_BOUND_MIN_INTERVAL_DEFAULT 14400000 /* ms: 4 h */
#define FEEDER_BOUND_MAX_DAILY_DEFAULT	  4
/* The plan's seed for what the environment does not say. */
#define FEEDER_TREAT_MAX_DAILY_DEFAULT	    10
#define FEEDER_TREAT_MIN_INTERVAL_DEFAULT_S 300
#define FEEDER_LOW_DAYS_DEFAULT		    5
/* Verified dispense (IOD_FEEDER_VERIFY_WINDOW, IOD_FEEDER_VERIFY_MIN_G). */
#define FEEDER_VERIFY_WINDOW_DEFAULT 60000 /* ms */
#define FEEDER_VERIFY_MIN_G_DEFAULT  1.0

struct feeder_config {
	const char *journal_path; /* "<data dir>/journal" */
	/* The plan's seed (IOD_FEEDER_MIN_INTERVAL, _MAX_DAILY, _GRACE,
	 * _SCHEDULE): the plan on the first start; afterwards the journaled
	 * plan rules and a differing value is a warning (see the rules). */
	int64_t min_interval_ms;
	int max_daily;
	int64_t cmd_ttl_ms;
	int64_t grace_ms;
	struct schedule schedule;
	/* The vet's bounds, held for every dose: 0 = the defaults above. */
	int64_t bound_min_interval_ms;
	int bound_max_daily;
	bool reset_plan;      /* re-seed the plan from the values above (a new rev) */
	bool treat_dispenser; /* a treat dispenser exists (else treat: no_treat_dispenser) */
	/* Verified dispense: after a dose, a rise of verify_min_g (<= 0:
	 * FEEDER_VERIFY_MIN_G_DEFAULT) in the bowl within verify_window_ms
	 * (0: off) verifies it. */
	int64_t verify_window_ms;
	double verify_min_g;
	size_t id_memory;      /* non-dose command ids remembered; 0 = FEEDER_ID_MEMORY_DEFAULT */
	int64_t compact_bytes; /* compact above this size; 0 = FEEDER_COMPACT_BYTES_DEFAULT */
	const char *boot_id;   /* this boot's id (/proc/sys/kernel/random/boot_id); NULL or
				* "" = unknown: the boot-clock guard then ends with the process */
	/* The boot whose clock_unsynced alert was raised already (the glue's
	 * file in the data dir); NULL or "" = none. With boot_id unknown the
	 * alert is once per process. */
	const char *clock_alerted_boot;
};

struct feeder_now {
	int64_t wall_ms; /* CLOCK_REALTIME */
	int64_t mono_ms; /* CLOCK_BOOTTIME: never goes back, counts suspend */
	/* The kernel does not hold the wall clock synchronised (adjtimex:
	 * TIME_ERROR or STA_UNSYNC). false (a zeroed now): synchronised. */
	bool clock_unsynced;
};

enum feeder_do {
	FEEDER_DO_NOTHING,
	FEEDER_DO_DOSE,
	FEEDER_DO_HOME,
	FEEDER_DO_CALL,
	FEEDER_DO_TREAT
};

struct feeder_result {
	bool has_event;
	struct proto_feeder_event event;
	enum feeder_do action; /* the caller must perform it and report back */
	struct proto_alert alerts[FEEDER_MAX_ALERTS];
	size_t n_alerts;
	bool state_changed;    /* republish feeder/state */
	bool log_changed;      /* republish feeder/log */
	bool plan_changed;     /* republish feeder/plan: feeder_plan() */
	bool schedule_changed; /* republish feeder/schedule: feeder_schedule() */
	bool clock_alerted;    /* clock_unsynced raised: keep this boot's id (once per boot) */
};

struct feeder_stats {
	size_t ids_remembered;
	size_t dose_ids; /* every dose id ever journaled (idempotency) */
	size_t doses_kept;
	int64_t journal_bytes;
	uint64_t journal_errors;
	uint64_t compactions;
	uint64_t commands;
	bool journal_ok;
};

struct feeder;

/* This boot's id from /proc/sys/kernel/random/boot_id into buf ("" when the
 * kernel does not say): what feeder_config.boot_id wants. */
void feeder_read_boot_id(char *buf, size_t size);

/*
 * Load the journal (recovering from a torn tail and raising
 * `uncertain_dose` for every intent without completion), open it for
 * appending, compact it when large. Startup alerts go into *startup. Never
 * fails for journal problems: the feeder then runs refusing every dose
 * (`journal_unavailable`, critical alert). NULL only on out-of-memory.
 * Does not run the schedule: call feeder_schedule_tick() next.
 */
struct feeder *feeder_new(const struct feeder_config *cfg, const struct feeder_now *now,
			  struct feeder_result *startup);
void feeder_free(struct feeder *f);

/*
 * What feeder_new() would make of a journal and its marker given as bytes
 * (NULL: the file does not exist), without touching any file: for tests and
 * the journal fuzzer. The feeder it returns has no journal open (every dose
 * refused as journal_unavailable); feeder_state() says what a start would
 * allow. image need not outlive the call.
 */
struct feeder_image {
	const char *journal;
	size_t journal_len;
	const char *mark;
	size_t mark_len;
};
struct feeder *feeder_load_image(const struct feeder_config *cfg, const struct feeder_now *now,
				 const struct feeder_image *image, struct feeder_result *startup);

/*
 * The operator's repair (iod-feeder-journal), run while the feeder is
 * stopped (the data directory's lock says so). Reads the journal like
 * feeder_new() and describes every problem on out. write false: only that
 * (returns 1 when there is something to repair, 0 when sound). write true:
 * keeps the journal as it was beside it ("journal.damaged-<ms>"), assumes a
 * dose given now for damage no earlier start accounted for, and rewrites a
 * clean journal from every readable record with a repair record saying what
 * was lost, which acknowledges the damage. 0, or -errno (-EWOULDBLOCK: the
 * feeder is running).
 */
int feeder_repair_journal(const struct feeder_config *cfg, const struct feeder_now *now, bool write,
			  FILE *out);

/*
 * The operator's acknowledgement of a wall clock that was far ahead
 * (iod-feeder-journal clock-ack), run while the feeder is stopped. Every
 * dose dated more than 5 min after now is re-dated, with an fsync'd
 * clock_ack record each (by: who acknowledged; the old and new time): to
 * the time the boot clock proves (now - boot clock elapsed since it) when
 * it was given in this boot, otherwise to now (its interval runs from the
 * acknowledgement: the safe side). Says on out what it found and did.
 * 0 done, 1 nothing to acknowledge, -EWOULDBLOCK the feeder is running,
 * -EUCLEAN a damaged or old-format journal (repair first), -errno.
 */
int feeder_clock_ack(const struct feeder_config *cfg, const struct feeder_now *now, const char *by,
		     FILE *out);

/* A raw message from feeder/cmd. A zero-length retained message (a
 * deletion marker) is ignored: no event, returns 1. Otherwise 0. */
int feeder_handle_message(struct feeder *f, const void *payload, size_t len, bool retained,
			  const struct feeder_now *now, struct feeder_result *res);
/* A decoded command (retained already excluded). */
void feeder_handle(struct feeder *f, const struct proto_feeder_cmd *cmd,
		   const struct feeder_now *now, struct feeder_result *res);

/* The caller finished (ok) or could not do (failed, reason) the dose that
 * FEEDER_DO_DOSE asked for; the servo is back home either way. */
void feeder_dose_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		      struct feeder_result *res);
/* Same for FEEDER_DO_HOME / FEEDER_DO_CALL (answered at once). */
void feeder_cmd_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		     struct feeder_result *res);

/* The caller finished (ok) or could not do (failed, reason) the treat that
 * FEEDER_DO_TREAT asked for: its event, and the treat journaled. */
void feeder_treat_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		       struct feeder_result *res);
/* The id of the treat in progress (FEEDER_DO_TREAT asked for it), NULL
 * when none. */
const char *feeder_treat_id(const struct feeder *f);

/* A reading of the bowl's scale (grams, taken at ts_ms): the glue feeds
 * every one. The latest before a dose is its baseline; a rise of
 * verify_min_g within the window after the dose verifies it at once (the
 * verify event in res). */
void feeder_bowl_reading(struct feeder *f, double grams, int64_t ts_ms,
			 const struct feeder_now *now, struct feeder_result *res);

/* Settle every schedule slot up to now (see the rules above). May ask for
 * a scheduled dose (FEEDER_DO_DOSE); the event then comes from
 * feeder_dose_done() with id "schedule-<slot>". */
void feeder_schedule_tick(struct feeder *f, const struct feeder_now *now,
			  struct feeder_result *res);
/* Wall time of the next slot that will be dosed (not skipped, not in the
 * pause), 0 when there is none in the next 8 days: state's next_scheduled. */
int64_t feeder_next_slot_ms(const struct feeder *f, const struct feeder_now *now);
/* When feeder_schedule_tick() must run next: the next slot of any kind or
 * the pause's end; 0 when nothing is to come. (Local midnight too, for the
 * schedule's new day: the caller's.) */
int64_t feeder_next_event_ms(const struct feeder *f, const struct feeder_now *now);

/* The care plan as it is now (its rev, rules, pause, pills, bounds);
 * valid until the next call that changes f. */
const struct proto_plan *feeder_plan(const struct feeder *f);
/* Today's and tomorrow's slots in local time with their status. */
void feeder_schedule(const struct feeder *f, const struct feeder_now *now,
		     struct proto_schedule *out);
/* Are the seed values within the bounds? 0, or -1 with why naming the
 * setting and both values (the service's exit 2 at start). */
int feeder_config_check(const struct feeder_config *cfg, char *why, size_t size);
bool feeder_dose_in_progress(const struct feeder *f);
/* The id of the dose in progress (FEEDER_DO_DOSE asked for it), NULL when
 * none: what the glue names the dose's camera snapshot by. */
const char *feeder_dose_id(const struct feeder *f);

void feeder_state(const struct feeder *f, const struct feeder_now *now,
		  struct proto_feeder_state *out);
/* Newest first, at most cap (use PROTO_LOG_MAX). Returns the count. */
size_t feeder_log(const struct feeder *f, struct proto_dose *out, size_t cap);
void feeder_get_stats(const struct feeder *f, struct feeder_stats *out);

#endif
