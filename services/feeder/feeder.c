#include "feeder.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "feeder_history.h"
#include "journal.h"
#include "log.h"

/* The rules (docs/design.md "Feeder safety", services/feeder/README.md): what
 * each command, dose completion and schedule tick decides. What happened
 * before, and writing down what is decided, is feeder_history.c's. */

/* ---- rules ------------------------------------------------------------- */

static void set_event(struct feeder_result *res, const char *id, const char *action,
		      enum proto_result result, const char *reason, const struct feeder_now *now)
{
	res->has_event = true;
	memset(&res->event, 0, sizeof(res->event));
	feeder_copy_str(res->event.id, sizeof(res->event.id), id);
	feeder_copy_str(res->event.action, sizeof(res->event.action), action);
	res->event.result = result;
	feeder_copy_str(res->event.reason, sizeof(res->event.reason), reason ? reason : "");
	res->event.ts_ms = now->wall_ms;
}

static int doses_on_date(const struct feeder *f, int date_key)
{
	int n = 0;
	for (size_t i = f->n_doses; i-- > 0;) {
		int key = schedule_date_key(schedule_local_date(f->doses[i].ts_ms));
		if (key == date_key)
			n++;
		else if (key < date_key)
			break;
	}
	return n;
}

/*
 * When the next dose is allowed, and why not now (NULL: allowed now).
 * The interval ends at the later of the wall-clock and boot-clock bounds;
 * then, if that day already had max_daily doses, the next local midnight.
 */
const char *feeder_dose_rules(const struct feeder *f, const struct feeder_now *now,
			      int64_t *next_allowed)
{
	int64_t interval_end = 0;
	if (f->n_doses > 0) {
		int64_t last = f->doses[f->n_doses - 1].ts_ms;
		interval_end = last + f->cfg.min_interval_ms;
		if (last > now->wall_ms) /* wall clock set back below the last dose */
			interval_end = now->wall_ms + f->cfg.min_interval_ms;
	}
	if (f->have_mono) {
		int64_t elapsed = now->mono_ms - f->last_dose_mono_ms;
		if (elapsed < f->cfg.min_interval_ms) {
			int64_t mono_end = now->wall_ms + (f->cfg.min_interval_ms - elapsed);
			if (mono_end > interval_end)
				interval_end = mono_end;
		}
	}
	const char *why = interval_end > now->wall_ms ? PROTO_REASON_TOO_SOON : NULL;
	int64_t candidate = interval_end > now->wall_ms ? interval_end : now->wall_ms;
	if (doses_on_date(f, schedule_date_key(schedule_local_date(candidate))) >=
	    f->cfg.max_daily) {
		candidate = schedule_next_local_midnight(candidate);
		if (!why)
			why = PROTO_REASON_DAILY_LIMIT;
	}
	*next_allowed = candidate;
	return why;
}

/* How many doses are dated beyond the tolerance after now; *newest the
 * latest of them. The window is sorted, so they are its end. */
size_t feeder_doses_ahead(const struct feeder *f, const struct feeder_now *now,
			  const struct dose **newest)
{
	size_t n = 0;
	while (n < f->n_doses &&
	       f->doses[f->n_doses - 1 - n].ts_ms > now->wall_ms + CLOCK_AHEAD_TOLERANCE_MS)
		n++;
	*newest = n ? &f->doses[f->n_doses - 1] : NULL;
	return n;
}

/*
 * A dose dated far in the wall clock's future (journaled while the clock
 * was ahead, or this clock went back): its interval holds every dose until
 * the clock reaches it, which may be a year. Doses stay refused (the safe
 * side), and one critical alert per episode says so and how out: the
 * operator's iod-feeder-journal clock-ack. Looked at every time the feeder
 * sees the clock (start, commands, schedule ticks), so a clock stepping
 * back is noticed at the first of them after the step.
 */
void feeder_check_clock_ahead(struct feeder *f, const struct feeder_now *now,
			      struct feeder_result *res)
{
	const struct dose *d;
	size_t n = feeder_doses_ahead(f, now, &d);
	if (n == 0) {
		if (f->clock_ahead_alerted)
			log_info("no dose is dated in the wall clock's future any more");
		f->clock_ahead_alerted = false;
		return;
	}
	if (f->clock_ahead_alerted || f->history_unknown)
		return;
	f->clock_ahead_alerted = true;
	char dated[64], at[64], until[64];
	feeder_local_time_text(d->ts_ms, dated, sizeof(dated));
	feeder_local_time_text(now->wall_ms, at, sizeof(at));
	feeder_local_time_text(d->ts_ms + f->cfg.min_interval_ms, until, sizeof(until));
	log_error("dose %s is dated %s, %" PRId64 " s after now (%zu doses in the wall clock's "
		  "future); journal %s",
		  d->id, dated, (d->ts_ms - now->wall_ms) / 1000, n, f->journal_path);
	/* The message must fit an alert (256 bytes) with a 64-byte id. */
	feeder_add_alert(
	    res, now, PROTO_LEVEL_CRITICAL, ALERT_CLOCK_AHEAD_DOSE,
	    "dose %s dated %s, after now (%s): doses refused until %s. Clock was wrong? "
	    "Stop the feeder, run iod-feeder-journal clock-ack",
	    d->id, dated, at, until);
}

static int start_dose(struct feeder *f, const char *id, const char *by, bool scheduled,
		      const char *slot, const struct feeder_now *now, struct feeder_result *res)
{
	struct journal_rec rec = {.op = JOURNAL_INTENT, .ts_ms = now->wall_ms};
	feeder_copy_str(rec.id, sizeof(rec.id), id);
	feeder_copy_str(rec.by, sizeof(rec.by), by);
	rec.scheduled = scheduled;
	feeder_copy_str(rec.slot, sizeof(rec.slot), slot ? slot : "");
	feeder_copy_str(rec.boot, sizeof(rec.boot), f->boot_id);
	rec.mono_ms = now->mono_ms;
	if (history_put(f, &rec, true, true, now, res) < 0)
		return -1;
	struct dose *d = history_dose_put(f, id, by, now->wall_ms, scheduled, slot, DOSE_PENDING);
	feeder_copy_str(d->boot, sizeof(d->boot), f->boot_id);
	d->mono_ms = now->mono_ms;
	f->have_mono = true;
	f->last_dose_mono_ms = now->mono_ms;
	f->dose.active = true;
	f->dose.action = PROTO_ACTION_FEED;
	feeder_copy_str(f->dose.id, sizeof(f->dose.id), id);
	f->position = PROTO_POSITION_OPEN;
	res->action = FEEDER_DO_DOSE;
	res->state_changed = true;
	res->log_changed = true;
	log_info("dose %s by '%s' (%s%s): dispensing", id, by, scheduled ? "schedule " : "manual",
		 slot ? slot : "");
	return 0;
}

/* ---- commands ------------------------------------------------------------ */

/* The id and action of an undecodable (or retained) command, for its event:
 * proto's salvage, by the decoders' own rules ("unknown" when no action can
 * be read, "" when no id). */
static void salvage(const void *payload, size_t len, char *id, size_t id_size, char *action,
		    size_t action_size)
{
	struct proto_cmd_salvage got;
	proto_cmd_salvage(payload, len, &got);
	feeder_copy_str(id, id_size, got.id);
	feeder_copy_str(action, action_size,
			got.has_action ? proto_action_name(got.action) : "unknown");
}

int feeder_handle_message(struct feeder *f, const void *payload, size_t len, bool retained,
			  const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (retained && len == 0)
		return 1; /* someone cleared a retained command: not a command */
	char id[PROTO_ID_MAX + 1], action[16];
	if (retained) {
		f->commands++;
		salvage(payload, len, id, sizeof(id), action, sizeof(action));
		log_warn("command %s (%s) refused: it arrived retained", id[0] ? id : "-", action);
		set_event(res, id, action, PROTO_RESULT_REJECTED, PROTO_REASON_RETAINED, now);
		return 0;
	}
	struct proto_feeder_cmd cmd;
	const char *reason = NULL;
	if (proto_feeder_cmd_decode(payload, len, &cmd, &reason) < 0) {
		f->commands++;
		salvage(payload, len, id, sizeof(id), action, sizeof(action));
		log_warn("command %s refused: %s", id[0] ? id : "-", reason ? reason : "bad");
		set_event(res, id, action, PROTO_RESULT_REJECTED,
			  reason ? reason : PROTO_REASON_BAD_JSON, now);
		return 0;
	}
	feeder_handle(f, &cmd, now, res);
	return 0;
}

static void reject(struct feeder *f, const char *id, const char *action, const char *reason,
		   bool keep, const struct feeder_now *now, struct feeder_result *res)
{
	log_info("command %s (%s) rejected: %s", id, action, reason);
	set_event(res, id, action, PROTO_RESULT_REJECTED, reason, now);
	if (keep) {
		history_remember(f, id, action, PROTO_RESULT_REJECTED, reason, now, res);
	}
}

void feeder_handle(struct feeder *f, const struct proto_feeder_cmd *cmd,
		   const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	f->commands++;
	feeder_check_clock_ahead(f, now, res);
	const char *action = proto_action_name(cmd->action);
	char id[PROTO_ID_MAX + 1];
	if (cmd->id[0]) {
		feeder_copy_str(id, sizeof(id), cmd->id);
		char outcome[OUTCOME_MAX];
		if (history_find_outcome(f, id, outcome, sizeof(outcome))) {
			log_info("command %s (%s): duplicate, first outcome %s", id, action,
				 outcome);
			set_event(res, id, action, PROTO_RESULT_DUPLICATE, outcome, now);
			return;
		}
	} else {
		snprintf(id, sizeof(id), "auto-%" PRId64 "-%" PRIu64, now->wall_ms,
			 ++f->auto_counter);
	}
	if (cmd->has_ts && cmd->ts_ms < now->wall_ms - f->cfg.cmd_ttl_ms) {
		reject(f, id, action, PROTO_REASON_EXPIRED, true, now, res);
		return;
	}
	if (cmd->has_ts && cmd->ts_ms > now->wall_ms + f->cfg.cmd_ttl_ms) {
		reject(f, id, action, "clock_skew", true, now, res);
		return;
	}
	const char *by = cmd->by[0] ? cmd->by : "anonymous";
	switch (cmd->action) {
	case PROTO_ACTION_HOME:
	case PROTO_ACTION_CALL:
		if ((cmd->action == PROTO_ACTION_HOME && f->dose.active) || f->cmd.active) {
			reject(f, id, action, PROTO_REASON_BUSY, false, now, res);
			return;
		}
		f->cmd.active = true;
		f->cmd.action = cmd->action;
		feeder_copy_str(f->cmd.id, sizeof(f->cmd.id), id);
		res->action = cmd->action == PROTO_ACTION_HOME ? FEEDER_DO_HOME : FEEDER_DO_CALL;
		return;
	case PROTO_ACTION_FEED: {
		int64_t next_allowed;
		const char *why = feeder_dose_rules(f, now, &next_allowed);
		if (why) {
			char when[64];
			feeder_local_time_text(next_allowed, when, sizeof(when));
			log_info("feed %s: %s, next allowed %s", id, why, when);
			reject(f, id, action, why, true, now, res);
			return;
		}
		if (f->dose.active || f->cmd.active) {
			reject(f, id, action, PROTO_REASON_BUSY, false, now, res);
			return;
		}
		if (start_dose(f, id, by, false, NULL, now, res) < 0) {
			reject(f, id, action, PROTO_REASON_JOURNAL, false, now, res);
			return;
		}
		return;
	}
	case PROTO_ACTION_PLAN:
	case PROTO_ACTION_SKIP:
	case PROTO_ACTION_PAUSE:
	case PROTO_ACTION_RESUME:
	case PROTO_ACTION_TREAT:
	case PROTO_ACTION_REFILL:
		/* The care plan's commands (issue 11) are not handled yet. */
		reject(f, id, action ? action : "unknown", PROTO_REASON_UNKNOWN_ACTION, false, now,
		       res);
		return;
	}
}

void feeder_dose_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		      struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!f->dose.active)
		return;
	f->dose.active = false;
	f->position = PROTO_POSITION_HOME;
	res->state_changed = true;
	res->log_changed = true;
	struct dose *d = history_find_dose(f, f->dose.id);
	if (d) {
		d->status = ok ? DOSE_OK : DOSE_FAILED;
		feeder_copy_str(d->reason, sizeof(d->reason), ok || !reason ? "" : reason);
	}
	struct journal_rec rec = {.op = JOURNAL_DONE, .ts_ms = now->wall_ms};
	feeder_copy_str(rec.id, sizeof(rec.id), f->dose.id);
	feeder_copy_str(rec.result, sizeof(rec.result), ok ? "ok" : "failed");
	feeder_copy_str(rec.reason, sizeof(rec.reason), ok || !reason ? "" : reason);
	/* The dose has happened (or half happened): the event tells so even if
	 * the completion cannot be journaled; a restart then counts it as an
	 * uncertain dose, which is the safe side. */
	history_put(f, &rec, true, true, now, res);
	if (ok) {
		log_info("dose %s: done", f->dose.id);
		set_event(res, f->dose.id, "feed", PROTO_RESULT_OK, NULL, now);
	} else {
		log_error("dose %s: failed: %s (counted as given)", f->dose.id,
			  reason ? reason : "");
		set_event(res, f->dose.id, "feed", PROTO_RESULT_FAILED, reason ? reason : "failed",
			  now);
		feeder_add_alert(res, now, PROTO_LEVEL_CRITICAL, "dose_failed",
				 "dose %s failed: %s; counted as given, please check the feeder",
				 f->dose.id, reason ? reason : "");
	}
	history_maybe_compact(f);
}

void feeder_cmd_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		     struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!f->cmd.active)
		return;
	f->cmd.active = false;
	const char *action = proto_action_name(f->cmd.action);
	if (ok) {
		set_event(res, f->cmd.id, action, PROTO_RESULT_OK, NULL, now);
		if (f->cmd.action == PROTO_ACTION_HOME && f->position != PROTO_POSITION_HOME) {
			f->position = PROTO_POSITION_HOME;
			res->state_changed = true;
		}
	} else {
		set_event(res, f->cmd.id, action, PROTO_RESULT_FAILED, reason ? reason : "failed",
			  now);
		log_warn("%s %s failed: %s", action, f->cmd.id, reason ? reason : "");
	}
	history_remember(f, f->cmd.id, action, ok ? PROTO_RESULT_OK : PROTO_RESULT_FAILED,
			 ok || !reason ? "" : reason, now, res);
	history_maybe_compact(f);
}

/* ---- schedule ------------------------------------------------------------- */

static bool slot_settled(const struct feeder *f, const char *slot)
{
	for (size_t i = 0; i < f->n_slots; i++)
		if (strcmp(f->slots[i].slot, slot) == 0)
			return true;
	for (size_t i = 0; i < f->n_doses; i++)
		if (f->doses[i].slot[0] && strcmp(f->doses[i].slot, slot) == 0)
			return true;
	return false;
}

static bool slot_served(const struct feeder *f, int64_t slot_ms, const struct feeder_now *now)
{
	for (size_t i = f->n_doses; i-- > 0;) {
		const struct dose *d = &f->doses[i];
		if (d->ts_ms <= slot_ms - f->cfg.min_interval_ms)
			break;
		if (d->ts_ms <= now->wall_ms)
			return true;
	}
	return false;
}

static void settle_slot(struct feeder *f, const char *slot, const char *result, const char *reason,
			const struct feeder_now *now, struct feeder_result *res)
{
	history_slot_put(f, slot, result, now->wall_ms);
	struct journal_rec rec = {.op = JOURNAL_SLOT, .ts_ms = now->wall_ms};
	feeder_copy_str(rec.slot, sizeof(rec.slot), slot);
	feeder_copy_str(rec.result, sizeof(rec.result), result);
	feeder_copy_str(rec.reason, sizeof(rec.reason), reason ? reason : "");
	history_put(f, &rec, true, false, now, res);
}

struct due {
	int64_t slot_ms[64];
	char slot_id[64][SCHEDULE_SLOT_ID_MAX];
	size_t n, dropped;
};

static void collect_slot(void *arg, int64_t slot_ms, const char *slot_id)
{
	struct due *due = arg;
	if (due->n == 64) { /* keep the newest 64 */
		memmove(&due->slot_ms[0], &due->slot_ms[1], sizeof(due->slot_ms[0]) * 63);
		memmove(&due->slot_id[0], &due->slot_id[1], sizeof(due->slot_id[0]) * 63);
		due->n--;
		due->dropped++;
	}
	due->slot_ms[due->n] = slot_ms;
	feeder_copy_str(due->slot_id[due->n], sizeof(due->slot_id[0]), slot_id);
	due->n++;
}

void feeder_schedule_tick(struct feeder *f, const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	feeder_check_clock_ahead(f, now, res);
	if (f->cfg.schedule.count == 0)
		return;
	if (now->wall_ms < f->sched_checked_ms) {
		/* The wall clock went back (it was ahead, and was corrected).
		 * Waiting for it to catch up would stop the schedule for as long
		 * as it was ahead. Look at the recent past again, like a start:
		 * slots already settled are known by id, a dose since the slot
		 * serves it, and the interval and daily limit still apply. */
		int64_t back = f->cfg.grace_ms > ON_TIME_MS ? f->cfg.grace_ms : ON_TIME_MS;
		int64_t from = now->wall_ms - back;
		log_warn("schedule: the wall clock went back by %" PRId64
			 " ms; looking at slots since %" PRId64 " ms ago again",
			 f->sched_checked_ms - now->wall_ms, back);
		f->sched_checked_ms = from > f->init_ms ? from : f->init_ms;
		if (f->sched_checked_ms > now->wall_ms)
			f->sched_checked_ms = now->wall_ms;
		/* Slots settled without a dose at a time that is now in the future
		 * were settled by the wrong clock ("missed" before they came):
		 * reopen them. A slot that was dosed stays settled by its dose. */
		for (size_t i = f->n_slots; i-- > 0;) {
			if (f->slots[i].ts_ms <= now->wall_ms)
				continue;
			char slot[SCHEDULE_SLOT_ID_MAX];
			feeder_copy_str(slot, sizeof(slot), f->slots[i].slot);
			struct journal_rec rec = {.op = JOURNAL_SLOT, .ts_ms = now->wall_ms};
			feeder_copy_str(rec.slot, sizeof(rec.slot), slot);
			feeder_copy_str(rec.result, sizeof(rec.result), "reopened");
			feeder_copy_str(rec.reason, sizeof(rec.reason), "clock_set_back");
			history_put(f, &rec, false, false, now, res);
			history_slot_forget(f, slot);
		}
	}
	if (now->wall_ms <= f->sched_checked_ms)
		return;
	struct due due = {0};
	schedule_each_between(&f->cfg.schedule, f->sched_checked_ms, now->wall_ms, collect_slot,
			      &due);
	f->sched_checked_ms = now->wall_ms;
	if (f->history_unknown) {
		for (size_t i = 0; i < due.n; i++)
			feeder_add_alert(
			    res, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_MISSED_DOSE,
			    "scheduled dose %s not given: the dose journal is unavailable",
			    due.slot_id[i]);
		return;
	}
	size_t missed_quiet = due.dropped;
	for (size_t i = 0; i < due.n; i++) {
		const char *slot = due.slot_id[i];
		int64_t slot_ms = due.slot_ms[i];
		if (slot_settled(f, slot))
			continue;
		if (slot_served(f, slot_ms, now)) {
			log_info("schedule %s: already served by a dose since %" PRId64
				 " ms before it",
				 slot, f->cfg.min_interval_ms);
			settle_slot(f, slot, "skipped", "served", now, res);
			continue;
		}
		char when[64];
		feeder_local_time_text(slot_ms, when, sizeof(when));
		bool newest = i + 1 == due.n;
		int64_t late = now->wall_ms - slot_ms;
		bool on_time =
		    late <= f->cfg.grace_ms || (slot_ms > f->started_ms && late <= ON_TIME_MS);
		if (newest && on_time && !f->dose.active) {
			int64_t next_allowed;
			const char *why = feeder_dose_rules(f, now, &next_allowed);
			if (!why) {
				char id[PROTO_ID_MAX + 1];
				snprintf(id, sizeof(id), "schedule-%s", slot);
				if (start_dose(f, id, "schedule", true, slot, now, res) == 0)
					return;
				why = PROTO_REASON_JOURNAL;
			}
			feeder_add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_MISSED_DOSE,
					 "scheduled dose %s (%s) not given: %s", slot, when, why);
			if (strcmp(why, PROTO_REASON_JOURNAL) != 0)
				settle_slot(f, slot, "missed", why, now, res);
			continue;
		}
		if (res->n_alerts + 2 < FEEDER_MAX_ALERTS)
			feeder_add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_MISSED_DOSE,
					 "scheduled dose %s (%s) was missed%s", slot, when,
					 f->dose.active ? " (a dose was in progress)"
							: " while the feeder was down");
		else
			missed_quiet++;
		settle_slot(f, slot, "missed", "late", now, res);
	}
	if (missed_quiet)
		feeder_add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_MISSED_DOSE,
				 "%zu more scheduled doses were missed", missed_quiet);
	if (res->action == FEEDER_DO_NOTHING)
		res->state_changed = true; /* next_scheduled moved on */
}

int64_t feeder_next_slot_ms(const struct feeder *f, const struct feeder_now *now)
{
	/* From now even when slots up to a later time are settled (the wall
	 * clock went back): the timer must wake for the next slot by the clock,
	 * and the tick then sorts out what is already settled. */
	return schedule_next_after(&f->cfg.schedule, now->wall_ms, NULL, 0);
}

bool feeder_dose_in_progress(const struct feeder *f)
{
	return f->dose.active;
}

/* ---- state ----------------------------------------------------------------- */

void feeder_state(const struct feeder *f, const struct feeder_now *now,
		  struct proto_feeder_state *out)
{
	memset(out, 0, sizeof(*out));
	out->position = f->position;
	out->last_dose_ms = f->n_doses ? f->doses[f->n_doses - 1].ts_ms : 0;
	int64_t next_allowed;
	feeder_dose_rules(f, now, &next_allowed);
	/* With no history every dose is refused, and the first after a repair
	 * counts a dose assumed then: never earlier than an interval from now. */
	if (f->history_unknown && next_allowed < now->wall_ms + f->cfg.min_interval_ms)
		next_allowed = now->wall_ms + f->cfg.min_interval_ms;
	out->next_allowed_ms = next_allowed;
	out->next_scheduled_ms = feeder_next_slot_ms(f, now);
	out->doses_today = doses_on_date(f, schedule_date_key(schedule_local_date(now->wall_ms)));
}

size_t feeder_log(const struct feeder *f, struct proto_dose *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = f->n_doses; i-- > 0 && n < cap;) {
		const struct dose *d = &f->doses[i];
		struct proto_dose *o = &out[n++];
		memset(o, 0, sizeof(*o));
		feeder_copy_str(o->id, sizeof(o->id), d->id);
		feeder_copy_str(o->by, sizeof(o->by), d->by);
		o->ts_ms = d->ts_ms;
		o->source = d->scheduled ? PROTO_SOURCE_SCHEDULE : PROTO_SOURCE_MANUAL;
	}
	return n;
}

void feeder_get_stats(const struct feeder *f, struct feeder_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->ids_remembered = f->ring_count;
	out->dose_ids = f->n_dose_ids + f->n_doses;
	out->doses_kept = f->n_doses;
	out->journal_bytes = f->journal ? journal_size(f->journal) : 0;
	out->journal_errors = f->journal_errors;
	out->compactions = f->compactions;
	out->commands = f->commands;
	out->journal_ok = f->journal && !f->history_unknown && !f->journal_failed;
}
