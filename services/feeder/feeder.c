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
	/* The plan's rules, never looser than the vet's bounds (plan.h). */
	const int64_t interval = plan_min_interval_ms(&f->plan);
	int64_t interval_end = 0;
	if (f->n_doses > 0) {
		int64_t last = f->doses[f->n_doses - 1].ts_ms;
		interval_end = last + interval;
		if (last > now->wall_ms) /* wall clock set back below the last dose */
			interval_end = now->wall_ms + interval;
	}
	if (f->have_mono) {
		int64_t elapsed = now->mono_ms - f->last_dose_mono_ms;
		if (elapsed < interval) {
			int64_t mono_end = now->wall_ms + (interval - elapsed);
			if (mono_end > interval_end)
				interval_end = mono_end;
		}
	}
	const char *why = interval_end > now->wall_ms ? PROTO_REASON_TOO_SOON : NULL;
	int64_t candidate = interval_end > now->wall_ms ? interval_end : now->wall_ms;
	if (doses_on_date(f, schedule_date_key(schedule_local_date(candidate))) >=
	    plan_max_daily(&f->plan)) {
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
	feeder_local_time_text(d->ts_ms + plan_min_interval_ms(&f->plan), until, sizeof(until));
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

/*
 * Clock health: the kernel says whether NTP (or anything) holds the wall
 * clock synchronised. The rules follow the wall clock either way; a carer is
 * told once per boot that the feeder's idea of the time is unconfirmed, and
 * what that idea is, so a dose at a wrong real time can be recognised. A
 * full res keeps the alert for the next call rather than dropping it.
 */
void feeder_clock_health(struct feeder *f, const struct feeder_now *now, struct feeder_result *res)
{
	if (!now->clock_unsynced || f->clock_unsynced_alerted || res->n_alerts == FEEDER_MAX_ALERTS)
		return;
	f->clock_unsynced_alerted = true;
	res->clock_alerted = true;
	char believed[64];
	feeder_local_time_text(now->wall_ms, believed, sizeof(believed));
	feeder_add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_CLOCK_UNSYNCED,
			 "the system clock is not synchronised; the feeder believes it is %s "
			 "and doses by that time",
			 believed);
}

/* Doses a day the plan gives (its enabled slots over a week), for how long
 * the pills last; 0 when it has none. */
static double doses_per_day(const struct feeder *f)
{
	int n = 0;
	for (size_t i = 0; i < f->plan.n_slots; i++)
		for (int d = 0; f->plan.slots[i].enabled && d < 7; d++)
			n += f->plan.slots[i].days >> d & 1;
	double per_day = n / 7.0;
	int max = plan_max_daily(&f->plan);
	return per_day > max ? max : per_day;
}

/* After a refill each medication dose counts one pill down (a dose is
 * still attempted at zero). low_stock when fewer than low_days days are
 * left, out_of_stock at zero: each once, as the count crosses. */
static void count_pill(struct feeder *f, const struct feeder_now *now, struct feeder_result *res)
{
	struct proto_plan *p = &f->plan;
	if (!p->has_pills || p->pills_remaining <= 0)
		return;
	double per_day = doses_per_day(f);
	bool was_low = per_day > 0 && p->pills_remaining < p->low_days * per_day;
	p->pills_remaining--;
	res->plan_changed = true;
	if (p->pills_remaining == 0)
		feeder_add_alert(
		    res, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_OUT_OF_STOCK,
		    "no pills left in the feeder: refill it (doses are still attempted)");
	else if (!was_low && per_day > 0 && p->pills_remaining < p->low_days * per_day)
		feeder_add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_LOW_STOCK,
				 "%" PRId64 " pills left, about %.0f days: refill soon",
				 p->pills_remaining, p->pills_remaining / per_day);
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
	/* The baseline: the bowl before this dose (a window still open for
	 * the previous dose ends unsettled by the new one: see close_verify). */
	f->verify_have_base = f->bowl_have;
	f->verify_base_g = f->bowl_g;
	feeder_copy_str(f->dose.id, sizeof(f->dose.id), id);
	f->position = PROTO_POSITION_OPEN;
	res->action = FEEDER_DO_DOSE;
	res->state_changed = true;
	res->log_changed = true;
	res->schedule_changed = true;
	count_pill(f, now, res);
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
		log_warn("command %s refused: %s%s%s", id[0] ? id : "-", reason ? reason : "bad",
			 cmd.detail[0] ? ": " : "", cmd.detail);
		set_event(res, id, action, PROTO_RESULT_REJECTED,
			  reason ? reason : PROTO_REASON_BAD_JSON, now);
		feeder_copy_str(res->event.detail, sizeof(res->event.detail), cmd.detail);
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

/* ---- the care plan's commands ---------------------------------------------- */

static void accept(struct feeder *f, const char *id, const char *action,
		   const struct feeder_now *now, struct feeder_result *res)
{
	set_event(res, id, action, PROTO_RESULT_OK, NULL, now);
	history_remember(f, id, action, PROTO_RESULT_OK, "", now, res);
}

/* Journal (fsync'd) what a command changes, then apply it: a change that
 * cannot be written is refused (journal_unavailable, the id not used up),
 * never applied in memory only. */
static bool commit(struct feeder *f, struct journal_rec *rec, const char *id, const char *by,
		   const char *action, const struct feeder_now *now, struct feeder_result *res)
{
	rec->ts_ms = now->wall_ms;
	feeder_copy_str(rec->id, sizeof(rec->id), id);
	feeder_copy_str(rec->by, sizeof(rec->by), by);
	int rc = rec->op == JOURNAL_PLAN ? history_put_plan(f, rec, now, res)
					 : history_put(f, rec, true, true, now, res);
	if (rc < 0) {
		reject(f, id, action, PROTO_REASON_JOURNAL, false, now, res);
		return false;
	}
	if (rec->op == JOURNAL_SKIP)
		history_skip_put(f, rec->slot, id, by, now->wall_ms);
	else if (rec->op != JOURNAL_PLAN)
		history_apply_plan_rec(f, rec);
	res->state_changed = true;
	res->schedule_changed = true;
	res->plan_changed = rec->op != JOURNAL_SKIP;
	return true;
}

static void handle_plan(struct feeder *f, const struct proto_feeder_cmd *cmd, const char *id,
			const char *by, const struct feeder_now *now, struct feeder_result *res)
{
	struct proto_plan next;
	bool changed;
	char detail[PROTO_DETAIL_MAX];
	const char *why = plan_apply(&f->plan, &cmd->plan, &next, &changed, detail, sizeof(detail));
	if (why) {
		log_info("plan %s by '%s': %s (%s)", id, by, why, detail);
		reject(f, id, "plan", why, true, now, res);
		feeder_copy_str(res->event.detail, sizeof(res->event.detail), detail);
		return;
	}
	if (!changed) {
		log_info("plan %s by '%s': no change, rev %" PRId64, id, by, f->plan.rev);
		accept(f, id, "plan", now, res);
		res->event.has_rev = true;
		res->event.rev = f->plan.rev;
		return;
	}
	struct journal_rec rec = {.op = JOURNAL_PLAN};
	next.rev = f->plan.rev + 1;
	rec.plan = next;
	/* New slots are not settled for times before the change: a slot moved
	 * (or added) to an hour already past is not a dose owed. */
	rec.slots_at_ms = plan_same_slots(&next, &f->plan) ? f->slots_at_ms : now->wall_ms;
	if (!commit(f, &rec, id, by, "plan", now, res))
		return;
	char slots[512];
	plan_slots_text(&f->plan, slots, sizeof(slots));
	log_info("plan %s by '%s': rev %" PRId64 ": slots %s, interval %" PRId64
		 " s, %d a day, grace %" PRId64 " s",
		 id, by, f->plan.rev, slots, f->plan.min_interval_s, f->plan.max_daily,
		 f->plan.grace_s);
	accept(f, id, "plan", now, res);
	res->event.has_rev = true;
	res->event.rev = f->plan.rev;
}

static void handle_skip(struct feeder *f, const struct proto_feeder_cmd *cmd, const char *id,
			const char *by, const struct feeder_now *now, struct feeder_result *res)
{
	static struct proto_schedule sched; /* the loop thread's, like f */
	feeder_schedule(f, now, &sched);
	const struct proto_schedule_slot *found = NULL;
	for (size_t i = 0; i < sched.n && !found; i++)
		if (cmd->slot[0] ? strcmp(sched.slots[i].slot, cmd->slot) == 0
				 : sched.slots[i].status == PROTO_SLOT_PENDING)
			found = &sched.slots[i];
	if (!found) {
		reject(f, id, "skip", PROTO_REASON_UNKNOWN_SLOT, true, now, res);
		return;
	}
	if (found->status != PROTO_SLOT_PENDING) {
		reject(f, id, "skip", PROTO_REASON_SLOT_SETTLED, true, now, res);
		return;
	}
	struct journal_rec rec = {.op = JOURNAL_SKIP};
	feeder_copy_str(rec.slot, sizeof(rec.slot), found->slot);
	if (!commit(f, &rec, id, by, "skip", now, res))
		return;
	log_info("schedule %s skipped by '%s' (%s)", rec.slot, by, id);
	accept(f, id, "skip", now, res);
}

static void handle_pause(struct feeder *f, const struct proto_feeder_cmd *cmd, const char *id,
			 const char *by, const struct feeder_now *now, struct feeder_result *res)
{
	history_pause_expire(f, now, res);
	if (cmd->action == PROTO_ACTION_RESUME) {
		if (!f->plan.paused) {
			accept(f, id, "resume", now, res); /* idempotent: nothing changes */
			return;
		}
		struct journal_rec rec = {.op = JOURNAL_RESUME};
		if (!commit(f, &rec, id, by, "resume", now, res))
			return;
		log_info("schedule resumed by '%s' (%s)", by, id);
		accept(f, id, "resume", now, res);
		return;
	}
	int64_t until = cmd->until_ms;
	if (until != 0 && (until <= now->wall_ms || until > now->wall_ms + PLAN_PAUSE_MAX_MS)) {
		reject(f, id, "pause", PROTO_REASON_BAD_UNTIL, true, now, res);
		return;
	}
	struct journal_rec rec = {.op = JOURNAL_PAUSE, .until_ms = until};
	if (!commit(f, &rec, id, by, "pause", now, res))
		return;
	char when[64] = "resume";
	if (until)
		feeder_local_time_text(until, when, sizeof(when));
	log_info("schedule paused by '%s' until %s (%s)", by, when, id);
	accept(f, id, "pause", now, res);
}

static void handle_refill(struct feeder *f, const struct proto_feeder_cmd *cmd, const char *id,
			  const char *by, const struct feeder_now *now, struct feeder_result *res)
{
	if (cmd->pills < 0 || cmd->pills > PROTO_PLAN_PILLS_MAX) {
		reject(f, id, "refill", PROTO_REASON_BAD_PILLS, true, now, res);
		return;
	}
	struct journal_rec rec = {.op = JOURNAL_REFILL, .pills = cmd->pills};
	if (!commit(f, &rec, id, by, "refill", now, res))
		return;
	log_info("refill by '%s': %" PRId64 " pills (%s)", by, cmd->pills, id);
	accept(f, id, "refill", now, res);
}

/* ---- treats ---------------------------------------------------------------- */

/* Why a treat is not allowed now (NULL: it is), by the plan's treat rules
 * alone: the medication's doses and rules play no part. */
static const char *treat_rules(const struct feeder *f, const struct feeder_now *now)
{
	if (f->n_treats > 0) {
		int64_t last = f->treats[f->n_treats - 1].ts_ms;
		/* A last treat in the wall clock's future counts as just now. */
		if (last > now->wall_ms ||
		    now->wall_ms - last < f->plan.treat_min_interval_s * 1000)
			return PROTO_REASON_TOO_SOON;
	}
	int today = schedule_date_key(schedule_local_date(now->wall_ms));
	int n = 0;
	for (size_t i = f->n_treats; i-- > 0;) {
		int key = schedule_date_key(schedule_local_date(f->treats[i].ts_ms));
		if (key == today)
			n++;
		else if (key < today)
			break;
	}
	return n >= f->plan.treat_max_daily ? PROTO_REASON_TREAT_LIMIT : NULL;
}

static void handle_treat(struct feeder *f, const char *id, const struct feeder_now *now,
			 struct feeder_result *res)
{
	if (!f->cfg.treat_dispenser) {
		reject(f, id, "treat", PROTO_REASON_NO_TREAT_DISPENSER, true, now, res);
		return;
	}
	const char *why = treat_rules(f, now);
	if (why) {
		reject(f, id, "treat", why, true, now, res);
		return;
	}
	/* Its own dispenser: only a treat moving makes a treat busy. */
	if (f->treat.active) {
		reject(f, id, "treat", PROTO_REASON_BUSY, false, now, res);
		return;
	}
	f->treat.active = true;
	f->treat.action = PROTO_ACTION_TREAT;
	feeder_copy_str(f->treat.id, sizeof(f->treat.id), id);
	log_info("treat %s: dispensing", id);
	res->action = FEEDER_DO_TREAT;
}

void feeder_treat_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		       struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!f->treat.active)
		return;
	f->treat.active = false;
	if (ok) {
		log_info("treat %s: done", f->treat.id);
		set_event(res, f->treat.id, "treat", PROTO_RESULT_OK, NULL, now);
	} else {
		log_warn("treat %s failed: %s", f->treat.id, reason ? reason : "");
		set_event(res, f->treat.id, "treat", PROTO_RESULT_FAILED,
			  reason ? reason : "failed", now);
	}
	/* Its cmd record is the treat's history (the limits after a restart). */
	history_remember(f, f->treat.id, "treat", ok ? PROTO_RESULT_OK : PROTO_RESULT_FAILED,
			 ok || !reason ? "" : reason, now, res);
	history_maybe_compact(f);
}

const char *feeder_treat_id(const struct feeder *f)
{
	return f->treat.active ? f->treat.id : NULL;
}

void feeder_handle(struct feeder *f, const struct proto_feeder_cmd *cmd,
		   const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	f->commands++;
	feeder_check_clock_ahead(f, now, res);
	feeder_clock_health(f, now, res);
	history_pause_expire(f, now, res);
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
		handle_plan(f, cmd, id, by, now, res);
		return;
	case PROTO_ACTION_SKIP:
		handle_skip(f, cmd, id, by, now, res);
		return;
	case PROTO_ACTION_PAUSE:
	case PROTO_ACTION_RESUME:
		handle_pause(f, cmd, id, by, now, res);
		return;
	case PROTO_ACTION_REFILL:
		handle_refill(f, cmd, id, by, now, res);
		return;
	case PROTO_ACTION_TREAT:
		handle_treat(f, id, now, res);
		return;
	}
}

void feeder_dose_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		      struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!f->dose.active)
		return;
	feeder_clock_health(f, now, res);
	f->dose.active = false;
	f->position = PROTO_POSITION_HOME;
	res->state_changed = true;
	res->log_changed = true;
	res->schedule_changed = true;
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
		if (f->cfg.verify_window_ms > 0) {
			f->verify.active = true;
			feeder_copy_str(f->verify.id, sizeof(f->verify.id), f->dose.id);
			f->verify.have_base = f->verify_have_base;
			f->verify.base_g = f->verify_base_g;
			f->verify.readings = false;
			f->verify.delta_g = 0;
			f->verify.end_ms = now->wall_ms + f->cfg.verify_window_ms;
		}
	} else {
		log_error("dose %s: failed: %s (counted as given)", f->dose.id,
			  reason ? reason : "");
		set_event(res, f->dose.id, "feed", PROTO_RESULT_FAILED, reason ? reason : "failed",
			  now);
		if (reason && strcmp(reason, PROTO_REASON_JAMMED) == 0)
			/* The flap sensor did not see the flap open: the servo
			 * moved, the pill most likely did not come out. */
			feeder_add_alert_about(
			    res, now, f->dose.id, PROTO_LEVEL_CRITICAL, PROTO_ALERT_DOSE_FAILED,
			    "dose %s failed: the dispenser looks jammed (its flap was "
			    "not seen to open); counted as given, please clear the "
			    "feeder and check the bowl",
			    f->dose.id);
		else
			feeder_add_alert_about(
			    res, now, f->dose.id, PROTO_LEVEL_CRITICAL, PROTO_ALERT_DOSE_FAILED,
			    "dose %s failed: %s; counted as given, please check the "
			    "feeder",
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

/* ---- verified dispense --------------------------------------------------- */

/* The verification's outcome: its event, the fsync'd verify record, the
 * dose's verified, and dose_unverified on failure. */
static void settle_verify(struct feeder *f, bool ok, const char *reason,
			  const struct feeder_now *now, struct feeder_result *res)
{
	f->verify.active = false;
	bool has_delta = f->verify.have_base && f->verify.readings;
	struct journal_rec rec = {.op = JOURNAL_VERIFY, .ts_ms = now->wall_ms};
	feeder_copy_str(rec.id, sizeof(rec.id), f->verify.id);
	feeder_copy_str(rec.result, sizeof(rec.result), ok ? "ok" : "failed");
	feeder_copy_str(rec.reason, sizeof(rec.reason), reason ? reason : "");
	rec.has_delta = has_delta;
	rec.delta_mg = has_delta ? (int64_t)(f->verify.delta_g * 1000.0) : 0;
	history_put(f, &rec, true, true, now, res);
	struct dose *d = history_find_dose(f, f->verify.id);
	if (d) {
		d->verified = ok ? PROTO_VERIFIED_TRUE : PROTO_VERIFIED_FALSE;
		d->has_delta = rec.has_delta;
		d->delta_mg = rec.delta_mg;
	}
	set_event(res, f->verify.id, "verify", ok ? PROTO_RESULT_OK : PROTO_RESULT_FAILED, reason,
		  now);
	res->event.has_delta = true;
	res->event.delta_null = !has_delta;
	res->event.delta_g = has_delta ? f->verify.delta_g : 0;
	res->log_changed = true;
	if (ok) {
		log_info("dose %s: verified, the bowl rose %.1f g", f->verify.id,
			 f->verify.delta_g);
	} else {
		feeder_add_alert_about(res, now, f->verify.id, PROTO_LEVEL_WARNING,
				       PROTO_ALERT_DOSE_UNVERIFIED,
				       "dose %s: %s within %" PRId64 " s: please check the bowl",
				       f->verify.id, reason, f->cfg.verify_window_ms / 1000);
	}
}

void feeder_bowl_reading(struct feeder *f, double grams, int64_t ts_ms,
			 const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	(void)ts_ms; /* the window is judged on the feeder's clock, when it arrives */
	f->bowl_have = true;
	f->bowl_g = grams;
	if (!f->verify.active || now->wall_ms > f->verify.end_ms)
		return;
	if (!f->verify.have_base) { /* none before the dose: the window's first */
		f->verify.have_base = true;
		f->verify.base_g = grams;
		return;
	}
	f->verify.readings = true;
	f->verify.delta_g = grams - f->verify.base_g;
	double min_g = f->cfg.verify_min_g > 0 ? f->cfg.verify_min_g : FEEDER_VERIFY_MIN_G_DEFAULT;
	if (f->verify.delta_g >= min_g)
		settle_verify(f, true, NULL, now, res);
}

/* At the window's end: failed (a tick's). */
static void verify_expire(struct feeder *f, const struct feeder_now *now, struct feeder_result *res)
{
	if (!f->verify.active || now->wall_ms < f->verify.end_ms)
		return;
	settle_verify(f, false,
		      f->verify.have_base ? PROTO_REASON_NO_WEIGHT_CHANGE
					  : PROTO_REASON_NO_BOWL_READING,
		      now, res);
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

/* The newest dose in (slot - min interval, upto]: the one that serves the
 * slot, or NULL. */
static const struct dose *served_by(const struct feeder *f, int64_t slot_ms, int64_t upto_ms)
{
	int64_t interval = plan_min_interval_ms(&f->plan);
	for (size_t i = f->n_doses; i-- > 0;) {
		const struct dose *d = &f->doses[i];
		if (d->ts_ms <= slot_ms - interval)
			break;
		if (d->ts_ms <= upto_ms)
			return d;
	}
	return NULL;
}

static bool slot_served(const struct feeder *f, int64_t slot_ms, const struct feeder_now *now)
{
	return served_by(f, slot_ms, now->wall_ms) != NULL;
}

/* Does instant t fall in the pause (the current one, or the last one that
 * ended)? */
static bool in_pause(const struct feeder *f, int64_t t)
{
	if (f->plan.paused)
		return t >= f->pause_from_ms &&
		       (f->plan.paused_until_ms == 0 || t < f->plan.paused_until_ms);
	return f->pause_end_ms > 0 && t >= f->pause_from_ms && t < f->pause_end_ms;
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
	feeder_clock_health(f, now, res);
	history_pause_expire(f, now, res);
	verify_expire(f, now, res);
	int day = schedule_date_key(schedule_local_date(now->wall_ms));
	if (day != f->schedule_day) { /* a new local day: today's slots are others */
		f->schedule_day = day;
		res->schedule_changed = true;
		res->state_changed = true;
	}
	if (f->sched.count == 0)
		return;
	if (now->wall_ms < f->sched_checked_ms) {
		/* The wall clock went back (it was ahead, and was corrected).
		 * Waiting for it to catch up would stop the schedule for as long
		 * as it was ahead. Look at the recent past again, like a start:
		 * slots already settled are known by id, a dose since the slot
		 * serves it, and the interval and daily limit still apply. */
		int64_t grace = plan_grace_ms(&f->plan);
		int64_t back = grace > ON_TIME_MS ? grace : ON_TIME_MS;
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
			/* A skip by command was a carer's decision, not the clock's. */
			if (f->slots[i].ts_ms <= now->wall_ms || f->slots[i].by_cmd)
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
	schedule_each_between(&f->sched, f->sched_checked_ms, now->wall_ms, collect_slot, &due);
	f->sched_checked_ms = now->wall_ms;
	if (due.n)
		res->schedule_changed = true;
	if (f->history_unknown) {
		for (size_t i = 0; i < due.n; i++)
			feeder_add_alert_about(
			    res, now, due.slot_id[i], PROTO_LEVEL_CRITICAL, PROTO_ALERT_MISSED_DOSE,
			    "scheduled dose %s not given: the dose journal is unavailable",
			    due.slot_id[i]);
		return;
	}
	size_t missed_quiet = due.dropped;
	for (size_t i = 0; i < due.n; i++) {
		const char *slot = due.slot_id[i];
		int64_t slot_ms = due.slot_ms[i];
		if (slot_settled(f, slot) || slot_ms <= f->slots_at_ms)
			continue; /* settled, or a slot of a time before the plan's slots changed */
		if (in_pause(f, slot_ms)) {
			log_info("schedule %s: paused, no dose", slot);
			settle_slot(f, slot, "paused", "paused", now, res);
			continue;
		}
		if (slot_served(f, slot_ms, now)) {
			log_info("schedule %s: already served by a dose since %" PRId64
				 " ms before it",
				 slot, plan_min_interval_ms(&f->plan));
			settle_slot(f, slot, "skipped", "served", now, res);
			continue;
		}
		char when[64];
		feeder_local_time_text(slot_ms, when, sizeof(when));
		/* Slots on one instant (a spring-forward gap puts 02:30 on 03:00's)
		 * are one dose: the first of the newest instant's is dosed, the
		 * others are then served by it. */
		bool newest = slot_ms == due.slot_ms[due.n - 1];
		int64_t late = now->wall_ms - slot_ms;
		bool on_time = late <= plan_grace_ms(&f->plan) ||
			       (slot_ms > f->started_ms && late <= ON_TIME_MS);
		if (newest && on_time && !f->dose.active) {
			int64_t next_allowed;
			const char *why = feeder_dose_rules(f, now, &next_allowed);
			if (!why) {
				char id[PROTO_ID_MAX + 1];
				snprintf(id, sizeof(id), "schedule-%s", slot);
				if (start_dose(f, id, "schedule", true, slot, now, res) == 0)
					continue;
				why = PROTO_REASON_JOURNAL;
			}
			feeder_add_alert_about(
			    res, now, slot, PROTO_LEVEL_WARNING, PROTO_ALERT_MISSED_DOSE,
			    "scheduled dose %s (%s) not given: %s", slot, when, why);
			if (strcmp(why, PROTO_REASON_JOURNAL) != 0)
				settle_slot(f, slot, "missed", why, now, res);
			continue;
		}
		if (res->n_alerts + 2 < FEEDER_MAX_ALERTS)
			feeder_add_alert_about(res, now, slot, PROTO_LEVEL_WARNING,
					       PROTO_ALERT_MISSED_DOSE,
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
	if (f->plan.paused && f->plan.paused_until_ms == 0)
		return 0; /* paused until resume: nothing is scheduled */
	int64_t t = now->wall_ms;
	if (f->plan.paused && f->plan.paused_until_ms - 1 > t)
		t = f->plan.paused_until_ms - 1;
	const int64_t horizon = now->wall_ms + 8 * 24 * 3600 * 1000LL;
	/* Past slots skipped by command (at most today's and tomorrow's). */
	for (int k = 0; k < 2 * SCHEDULE_MAX_SLOTS + 1; k++) {
		char id[SCHEDULE_SLOT_ID_MAX];
		int64_t at = schedule_next_after(&f->sched, t, id, sizeof(id));
		if (at == 0 || at > horizon)
			return 0;
		if (!history_slot_find(f, id) && !in_pause(f, at))
			return at;
		t = at;
	}
	return 0;
}

int64_t feeder_next_event_ms(const struct feeder *f, const struct feeder_now *now)
{
	/* From now even when slots up to a later time are settled (the wall
	 * clock went back): the timer must wake for the next slot by the clock,
	 * and the tick then sorts out what is already settled. */
	int64_t next = schedule_next_after(&f->sched, now->wall_ms, NULL, 0);
	if (f->plan.paused && f->plan.paused_until_ms > 0 &&
	    (next == 0 || f->plan.paused_until_ms < next))
		next = f->plan.paused_until_ms;
	if (f->verify.active && (next == 0 || f->verify.end_ms < next))
		next = f->verify.end_ms;
	return next;
}

const struct proto_plan *feeder_plan(const struct feeder *f)
{
	return &f->plan;
}

static enum proto_slot_status dose_status(const struct dose *d, int64_t slot_ms)
{
	switch (d->status) {
	case DOSE_FAILED:
		return PROTO_SLOT_FAILED;
	case DOSE_UNCERTAIN:
		return PROTO_SLOT_UNCERTAIN;
	case DOSE_OK:
	case DOSE_PENDING: /* dispensing now */
		break;
	}
	return d->ts_ms - slot_ms <= ON_TIME_MS ? PROTO_SLOT_GIVEN : PROTO_SLOT_LATE;
}

void feeder_schedule(const struct feeder *f, const struct feeder_now *now,
		     struct proto_schedule *out)
{
	memset(out, 0, sizeof(*out));
	out->ts_ms = now->wall_ms;
	struct schedule_date today = schedule_local_date(now->wall_ms);
	snprintf(out->date, sizeof(out->date), "%04u-%02u-%02u", (unsigned)today.year % 10000u,
		 (unsigned)today.month % 100u, (unsigned)today.day % 100u);
	for (int k = 0; k < 2; k++) {
		struct schedule_date d = schedule_date_add(today, k);
		for (size_t i = 0; i < f->sched.count && out->n < PROTO_SCHEDULE_MAX; i++) {
			if (!schedule_slot_on(&f->sched, i, d))
				continue;
			struct proto_schedule_slot *o = &out->slots[out->n];
			char id[SCHEDULE_SLOT_ID_MAX];
			schedule_slot_id(&f->sched, d, i, id, sizeof(id));
			int64_t at = schedule_local_instant(d, f->sched.minutes[i]);
			const struct dose *dose = NULL;
			for (size_t j = f->n_doses; j-- > 0 && !dose;)
				if (strcmp(f->doses[j].slot, id) == 0)
					dose = &f->doses[j];
			const struct slot_entry *e = dose ? NULL : history_slot_find(f, id);
			if (dose) {
				o->status = dose_status(dose, at);
			} else if (e && strcmp(e->result, "missed") == 0) {
				o->status = PROTO_SLOT_MISSED;
			} else if (e && strcmp(e->result, "paused") == 0) {
				o->status = PROTO_SLOT_PAUSED;
			} else if (e) {
				o->status = PROTO_SLOT_SKIPPED;
				/* Served by the newest dose when it was settled: one
				 * before it (a manual one, say), or one at its instant. */
				if (!e->by_cmd)
					dose = served_by(f, at, e->ts_ms);
			} else if (at <= now->wall_ms &&
				   (at <= f->slots_at_ms || at <= f->init_ms)) {
				/* A time already past when the slot was planned, or
				 * before the feeder's history began: never a dose owed. */
				continue;
			} else {
				o->status =
				    in_pause(f, at) ? PROTO_SLOT_PAUSED : PROTO_SLOT_PENDING;
			}
			feeder_copy_str(o->slot, sizeof(o->slot), id);
			o->at_ms = at;
			if (dose)
				feeder_copy_str(o->dose, sizeof(o->dose), dose->id);
			out->n++;
		}
	}
}

int feeder_config_check(const struct feeder_config *cfg, char *why, size_t size)
{
	int64_t bound_ms = cfg->bound_min_interval_ms > 0 ? cfg->bound_min_interval_ms
							  : FEEDER_BOUND_MIN_INTERVAL_DEFAULT;
	int bound_daily =
	    cfg->bound_max_daily > 0 ? cfg->bound_max_daily : FEEDER_BOUND_MAX_DAILY_DEFAULT;
	if (cfg->min_interval_ms < bound_ms) {
		snprintf(why, size,
			 "IOD_FEEDER_MIN_INTERVAL %" PRId64
			 " s is under the vet's bound IOD_FEEDER_BOUND_MIN_INTERVAL %" PRId64 " s",
			 cfg->min_interval_ms / 1000, bound_ms / 1000);
		return -1;
	}
	if (cfg->max_daily > bound_daily) {
		snprintf(
		    why, size,
		    "IOD_FEEDER_MAX_DAILY %d is over the vet's bound IOD_FEEDER_BOUND_MAX_DAILY %d",
		    cfg->max_daily, bound_daily);
		return -1;
	}
	struct plan_seed seed = {.schedule = &cfg->schedule,
				 .min_interval_ms = cfg->min_interval_ms,
				 .max_daily = cfg->max_daily,
				 .grace_ms = cfg->grace_ms,
				 .bound_min_interval_ms = bound_ms,
				 .bound_max_daily = bound_daily};
	struct proto_plan p;
	plan_seed(&seed, 1, "env", 0, &p);
	char detail[PROTO_DETAIL_MAX];
	if (plan_bounds_check(&p, detail, sizeof(detail))) {
		snprintf(why, size, "IOD_FEEDER_SCHEDULE: %s", detail);
		return -1;
	}
	return 0;
}

bool feeder_dose_in_progress(const struct feeder *f)
{
	return f->dose.active;
}

const char *feeder_dose_id(const struct feeder *f)
{
	return f->dose.active ? f->dose.id : NULL;
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
	int64_t interval = plan_min_interval_ms(&f->plan);
	if (f->mark_plan.interval_ms > interval) /* the plan's record may be what was lost */
		interval = f->mark_plan.interval_ms;
	if (f->history_unknown && next_allowed < now->wall_ms + interval)
		next_allowed = now->wall_ms + interval;
	out->next_allowed_ms = next_allowed;
	out->next_scheduled_ms = feeder_next_slot_ms(f, now);
	out->doses_today = doses_on_date(f, schedule_date_key(schedule_local_date(now->wall_ms)));
	out->has_pills = f->plan.has_pills;
	out->pills_remaining = f->plan.pills_remaining;
	double per_day = doses_per_day(f);
	if (f->plan.has_pills && per_day > 0)
		out->runs_out_ms =
		    now->wall_ms + (int64_t)(f->plan.pills_remaining / per_day * 86400000.0);
	out->clock_synced = !now->clock_unsynced; /* as the caller read it with the time */
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
		o->result = d->status == DOSE_FAILED	  ? PROTO_DOSE_FAILED
			    : d->status == DOSE_UNCERTAIN ? PROTO_DOSE_UNCERTAIN
							  : PROTO_DOSE_OK;
		o->verified = d->verified;
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
