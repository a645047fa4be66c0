#include "feeder_history.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "service.h"

/* ---- small helpers ------------------------------------------------------ */

void feeder_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void feeder_local_time_text(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "%" PRId64 " ms", ms);
}

static void add_alert(struct feeder_result *res, const struct feeder_now *now, const char *subject,
		      enum proto_level level, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

static void add_alert(struct feeder_result *res, const struct feeder_now *now, const char *subject,
		      enum proto_level level, const char *code, const char *fmt, va_list ap)
{
	if (res->n_alerts == FEEDER_MAX_ALERTS)
		return;
	struct proto_alert *a = &res->alerts[res->n_alerts++];
	service_alert_vfill(a, "feeder", level, code, now->wall_ms, fmt, ap);
	service_alert_about(a, subject);
	if (level == PROTO_LEVEL_CRITICAL)
		log_error("alert %s: %s", code, a->message);
	else
		log_warn("alert %s: %s", code, a->message);
}

void feeder_add_alert(struct feeder_result *res, const struct feeder_now *now,
		      enum proto_level level, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_alert(res, now, NULL, level, code, fmt, ap);
	va_end(ap);
}

void feeder_add_alert_about(struct feeder_result *res, const struct feeder_now *now,
			    const char *subject, enum proto_level level, const char *code,
			    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_alert(res, now, subject, level, code, fmt, ap);
	va_end(ap);
}

struct dose *history_find_dose(struct feeder *f, const char *id)
{
	for (size_t i = f->n_doses; i-- > 0;)
		if (strcmp(f->doses[i].id, id) == 0)
			return &f->doses[i];
	return NULL;
}

static char status_letter(enum dose_status s)
{
	return s == DOSE_OK ? 'o' : s == DOSE_FAILED ? 'f' : 'u';
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct journal_id *)a)->hash, y = ((const struct journal_id *)b)->hash;
	return x < y ? -1 : x > y;
}

static const struct journal_id *ids_find(const struct feeder *f, uint64_t hash)
{
	if (!f->ids_sorted) {
		for (size_t i = 0; i < f->n_dose_ids; i++)
			if (f->dose_ids[i].hash == hash)
				return &f->dose_ids[i];
		return NULL;
	}
	if (f->n_dose_ids == 0)
		return NULL; /* bsearch() must not be given a NULL array */
	struct journal_id key = {.hash = hash};
	return bsearch(&key, f->dose_ids, f->n_dose_ids, sizeof(key), id_cmp);
}

/* Sorted (and without repeats) after a load: appends go to the end until
 * then, inserts keep the order afterwards. */
static void ids_sort(struct feeder *f)
{
	if (f->n_dose_ids)
		qsort(f->dose_ids, f->n_dose_ids, sizeof(f->dose_ids[0]), id_cmp);
	size_t out = 0;
	for (size_t i = 0; i < f->n_dose_ids; i++)
		if (out == 0 || f->dose_ids[out - 1].hash != f->dose_ids[i].hash)
			f->dose_ids[out++] = f->dose_ids[i];
	f->n_dose_ids = out;
	f->ids_sorted = true;
}

static void ids_add(struct feeder *f, uint64_t hash, char status)
{
	if (f->ids_sorted && ids_find(f, hash))
		return;
	if (f->n_dose_ids == f->cap_dose_ids) {
		size_t cap = f->cap_dose_ids ? 2 * f->cap_dose_ids : 256;
		struct journal_id *more = realloc(f->dose_ids, cap * sizeof(*more));
		if (!more) {
			/* The dose still counts (it is older than the window);
			 * only a resend of its id would not be known. */
			log_error("out of memory: a dose id is forgotten");
			return;
		}
		f->dose_ids = more;
		f->cap_dose_ids = cap;
	}
	size_t at = f->n_dose_ids;
	if (f->ids_sorted)
		while (at > 0 && f->dose_ids[at - 1].hash > hash)
			at--;
	memmove(&f->dose_ids[at + 1], &f->dose_ids[at],
		sizeof(f->dose_ids[0]) * (f->n_dose_ids - at));
	f->dose_ids[at] = (struct journal_id){.hash = hash, .status = status};
	f->n_dose_ids++;
}

static struct cmd_entry *ring_at(const struct feeder *f, size_t i) /* 0 = oldest */
{
	size_t cap = f->cfg.id_memory;
	return &f->ring[(f->ring_head + cap - f->ring_count + i) % cap];
}

/* "result[:reason]": how a first outcome is spelled in a duplicate's reason
 * (proto/README.md), the one place it is. */
static void outcome_text(enum proto_result result, const char *reason, char *buf, size_t size)
{
	feeder_copy_str(buf, size, proto_result_name(result));
	size_t n = strlen(buf);
	if (reason[0] && n + 1 < size) {
		buf[n] = ':';
		feeder_copy_str(buf + n + 1, size - n - 1, reason); /* cut to fit, like the rest */
	}
}

/* A treat into the treat history (sorted by time; the oldest leaves it). */
static void treat_put(struct feeder *f, const char *id, int64_t ts_ms)
{
	for (size_t i = 0; i < f->n_treats; i++)
		if (strcmp(f->treats[i].id, id) == 0)
			return;
	if (f->n_treats == FEEDER_TREATS_KEPT) {
		if (ts_ms < f->treats[0].ts_ms)
			return;
		memmove(&f->treats[0], &f->treats[1], sizeof(f->treats[0]) * (f->n_treats - 1));
		f->n_treats--;
	}
	size_t at = f->n_treats;
	while (at > 0 && f->treats[at - 1].ts_ms > ts_ms)
		at--;
	memmove(&f->treats[at + 1], &f->treats[at], sizeof(f->treats[0]) * (f->n_treats - at));
	feeder_copy_str(f->treats[at].id, sizeof(f->treats[at].id), id);
	f->treats[at].ts_ms = ts_ms;
	f->n_treats++;
}

static void ring_put(struct feeder *f, const char *id, const char *action, enum proto_result result,
		     const char *reason, int64_t ts_ms)
{
	/* A treat that moved the dispenser (ok or failed) counts for the
	 * treat limits, from its cmd record on replay too. */
	if (strcmp(action, "treat") == 0 && result != PROTO_RESULT_REJECTED)
		treat_put(f, id, ts_ms);
	struct cmd_entry *e = &f->ring[f->ring_head];
	feeder_copy_str(e->id, sizeof(e->id), id);
	feeder_copy_str(e->action, sizeof(e->action), action);
	e->result = result;
	feeder_copy_str(e->reason, sizeof(e->reason), reason);
	e->ts_ms = ts_ms;
	f->ring_head = (f->ring_head + 1) % f->cfg.id_memory;
	if (f->ring_count < f->cfg.id_memory)
		f->ring_count++;
}

void history_slot_forget(struct feeder *f, const char *slot)
{
	for (size_t i = 0; i < f->n_slots;) {
		if (strcmp(f->slots[i].slot, slot) == 0) {
			memmove(&f->slots[i], &f->slots[i + 1],
				sizeof(f->slots[0]) * (f->n_slots - i - 1));
			f->n_slots--;
		} else {
			i++;
		}
	}
}

void history_slot_put(struct feeder *f, const char *slot, const char *result, int64_t ts_ms)
{
	if (strcmp(result, "reopened") == 0) { /* see feeder_schedule_tick() */
		history_slot_forget(f, slot);
		return;
	}
	if (f->n_slots == FEEDER_SLOTS_KEPT) {
		memmove(&f->slots[0], &f->slots[1], sizeof(f->slots[0]) * (FEEDER_SLOTS_KEPT - 1));
		f->n_slots--;
	}
	struct slot_entry *s = &f->slots[f->n_slots++];
	feeder_copy_str(s->slot, sizeof(s->slot), slot);
	feeder_copy_str(s->result, sizeof(s->result), result);
	s->ts_ms = ts_ms;
}

const struct slot_entry *history_slot_find(const struct feeder *f, const char *slot)
{
	for (size_t i = f->n_slots; i-- > 0;)
		if (strcmp(f->slots[i].slot, slot) == 0)
			return &f->slots[i];
	return NULL;
}

void history_skip_put(struct feeder *f, const char *slot, const char *id, const char *by,
		      int64_t ts_ms)
{
	if (history_slot_find(f, slot))
		return;
	history_slot_put(f, slot, "skipped", ts_ms);
	struct slot_entry *s = &f->slots[f->n_slots - 1];
	s->by_cmd = true;
	feeder_copy_str(s->by, sizeof(s->by), by);
	feeder_copy_str(s->id, sizeof(s->id), id);
}

void history_seed_plan(const struct feeder *f, int64_t rev, const char *by, int64_t at_ms,
		       struct proto_plan *out)
{
	struct plan_seed seed = {
	    .schedule = &f->cfg.schedule,
	    .min_interval_ms = f->cfg.min_interval_ms,
	    .max_daily = f->cfg.max_daily,
	    .grace_ms = f->cfg.grace_ms,
	    .treat_max_daily = FEEDER_TREAT_MAX_DAILY_DEFAULT,
	    .treat_min_interval_s = FEEDER_TREAT_MIN_INTERVAL_DEFAULT_S,
	    .low_days = FEEDER_LOW_DAYS_DEFAULT,
	    .bound_min_interval_ms = f->cfg.bound_min_interval_ms,
	    .bound_max_daily = f->cfg.bound_max_daily,
	};
	plan_seed(&seed, rev, by, at_ms, out);
}

void history_apply_plan_rec(struct feeder *f, const struct journal_rec *rec)
{
	struct proto_plan *p = &f->plan;
	switch (rec->op) {
	case JOURNAL_PLAN: {
		/* The rules only: the bounds are the configuration's, the pause
		 * and pills their own records'. */
		const struct proto_plan *r = &rec->plan;
		p->rev = r->rev;
		memcpy(p->slots, r->slots, sizeof(p->slots));
		p->n_slots = r->n_slots;
		p->min_interval_s = r->min_interval_s;
		p->max_daily = r->max_daily;
		p->grace_s = r->grace_s;
		p->treat_max_daily = r->treat_max_daily;
		p->treat_min_interval_s = r->treat_min_interval_s;
		p->low_days = r->low_days;
		feeder_copy_str(p->changed_by, sizeof(p->changed_by), rec->by);
		p->changed_at_ms = rec->ts_ms;
		f->slots_at_ms = rec->slots_at_ms;
		f->plan_journaled = true;
		plan_schedule(p, &f->sched);
		history_plan_to_journal(f);
		break;
	}
	case JOURNAL_PAUSE:
		if (!p->paused)
			f->pause_from_ms = rec->ts_ms;
		p->paused = true;
		p->paused_until_ms = rec->until_ms;
		break;
	case JOURNAL_RESUME:
		if (p->paused)
			f->pause_end_ms = rec->ts_ms;
		p->paused = false;
		p->paused_until_ms = 0;
		break;
	case JOURNAL_REFILL:
		p->has_pills = true;
		p->pills_remaining = rec->pills;
		break;
	default:
		break;
	}
}

int history_put_plan(struct feeder *f, const struct journal_rec *rec, const struct feeder_now *now,
		     struct feeder_result *res)
{
	/* The marker written after this record carries the rules it sets. */
	if (f->journal)
		journal_set_plan(f->journal, rec->plan.rev, plan_min_interval_ms(&rec->plan),
				 plan_max_daily(&rec->plan));
	int rc = history_put(f, rec, true, true, now, res);
	if (rc < 0) {
		history_plan_to_journal(f);
		return rc;
	}
	history_apply_plan_rec(f, rec);
	return 0;
}

void history_plan_to_journal(struct feeder *f)
{
	if (f->journal)
		journal_set_plan(f->journal, f->plan.rev, plan_min_interval_ms(&f->plan),
				 plan_max_daily(&f->plan));
}

void history_pause_expire(struct feeder *f, const struct feeder_now *now, struct feeder_result *res)
{
	if (!f->plan.paused || f->plan.paused_until_ms == 0 ||
	    f->plan.paused_until_ms > now->wall_ms)
		return;
	log_info("schedule: the pause until %" PRId64 " is over", f->plan.paused_until_ms);
	f->pause_end_ms = f->plan.paused_until_ms;
	f->plan.paused = false;
	f->plan.paused_until_ms = 0;
	if (res) {
		res->plan_changed = true;
		res->schedule_changed = true;
		res->state_changed = true;
	}
}

/* Doses are kept sorted by time; the oldest falls off when full. */
struct dose *history_dose_put(struct feeder *f, const char *id, const char *by, int64_t ts_ms,
			      bool scheduled, const char *slot, enum dose_status status)
{
	if (f->n_doses == FEEDER_DOSES_KEPT) {
		/* The oldest leaves the window; its id is kept for good. */
		ids_add(f, journal_id_hash(f->doses[0].id), status_letter(f->doses[0].status));
		memmove(&f->doses[0], &f->doses[1], sizeof(f->doses[0]) * (FEEDER_DOSES_KEPT - 1));
		f->n_doses--;
	}
	size_t at = f->n_doses;
	while (at > 0 && f->doses[at - 1].ts_ms > ts_ms)
		at--;
	memmove(&f->doses[at + 1], &f->doses[at], sizeof(f->doses[0]) * (f->n_doses - at));
	f->n_doses++;
	struct dose *d = &f->doses[at];
	memset(d, 0, sizeof(*d));
	feeder_copy_str(d->id, sizeof(d->id), id);
	feeder_copy_str(d->by, sizeof(d->by), by);
	d->ts_ms = ts_ms;
	d->scheduled = scheduled;
	feeder_copy_str(d->slot, sizeof(d->slot), slot ? slot : "");
	d->status = status;
	return d;
}

/* Give a dose another time (an operator's clock acknowledgement) and keep
 * the window sorted by time. The dose's pointer does not survive. */
static void dose_redate(struct feeder *f, struct dose *d, int64_t ts_ms)
{
	struct dose moved = *d;
	size_t at = (size_t)(d - f->doses);
	memmove(&f->doses[at], &f->doses[at + 1], sizeof(f->doses[0]) * (f->n_doses - at - 1));
	f->n_doses--;
	moved.ts_ms = ts_ms;
	at = f->n_doses;
	while (at > 0 && f->doses[at - 1].ts_ms > ts_ms)
		at--;
	memmove(&f->doses[at + 1], &f->doses[at], sizeof(f->doses[0]) * (f->n_doses - at));
	f->doses[at] = moved;
	f->n_doses++;
}

/* Apply and keep an acknowledgement: the dose (when still in the window)
 * counts from to_ms, and, re-dated to the acknowledgement's own time, on
 * that boot's clock too. The oldest acknowledgement falls off when full. */
static void ack_apply(struct feeder *f, const struct journal_rec *rec)
{
	if (f->n_acks == FEEDER_ACKS_KEPT) {
		memmove(&f->acks[0], &f->acks[1], sizeof(f->acks[0]) * (FEEDER_ACKS_KEPT - 1));
		f->n_acks--;
	}
	struct ack_entry *a = &f->acks[f->n_acks++];
	memset(a, 0, sizeof(*a));
	feeder_copy_str(a->id, sizeof(a->id), rec->id);
	feeder_copy_str(a->by, sizeof(a->by), rec->by);
	a->ts_ms = rec->ts_ms;
	a->from_ms = rec->from_ms;
	a->to_ms = rec->to_ms;
	feeder_copy_str(a->how, sizeof(a->how), rec->reason);
	feeder_copy_str(a->boot, sizeof(a->boot), rec->boot);
	a->mono_ms = rec->mono_ms;
	struct dose *d = history_find_dose(f, rec->id);
	if (!d)
		return; /* older than the window: nothing left to re-date */
	if (rec->boot[0]) {
		feeder_copy_str(d->boot, sizeof(d->boot), rec->boot);
		d->mono_ms = rec->mono_ms;
	}
	dose_redate(f, d, rec->to_ms);
}

static const char *status_result(enum dose_status s)
{
	switch (s) {
	case DOSE_OK:
		return "ok";
	case DOSE_FAILED:
		return "failed";
	case DOSE_UNCERTAIN:
		return "uncertain";
	case DOSE_PENDING:
		break;
	}
	return "pending";
}

/* The first outcome of id, if it was handled before. */
bool history_find_outcome(struct feeder *f, const char *id, char *outcome, size_t size)
{
	const struct dose *d = history_find_dose(f, id);
	if (d) {
		if (d->status == DOSE_FAILED && d->reason[0])
			snprintf(outcome, size, "failed:%s", d->reason);
		else
			feeder_copy_str(outcome, size, status_result(d->status));
		return true;
	}
	const struct journal_id *old = ids_find(f, journal_id_hash(id));
	if (old) {
		feeder_copy_str(outcome, size,
				old->status == 'o'   ? "ok"
				: old->status == 'f' ? "failed"
						     : "uncertain");
		return true;
	}
	for (size_t i = 0; i < f->ring_count; i++) {
		const struct cmd_entry *e = ring_at(f, i);
		if (strcmp(e->id, id) == 0) {
			outcome_text(e->result, e->reason, outcome, size);
			return true;
		}
	}
	return false;
}

/* ---- journal ------------------------------------------------------------- */

static int migrate(struct feeder *f);

static bool journal_usable(struct feeder *f)
{
	if (f->history_unknown || f->read_only)
		return false;
	if (!f->journal) {
		int err = 0;
		f->journal = journal_open(f->journal_path, NULL, f->next_seq, f->created_ms, &err);
		if (!f->journal) {
			log_error("journal %s: cannot open: %s", f->journal_path, strerror(-err));
			return false;
		}
		log_info("journal %s: reopened", f->journal_path);
		history_plan_to_journal(f);
	}
	/* Never a format-2 line appended to a format-1 file. */
	if (f->needs_migration && migrate(f) < 0)
		return false;
	return true;
}

/* Append a record. A failure is logged; an alert is raised when
 * alert_always, or on the first failure after a success. */
int history_put(struct feeder *f, const struct journal_rec *rec, bool sync, bool alert_always,
		const struct feeder_now *now, struct feeder_result *res)
{
	struct journal_rec copy = *rec;
	int rc = journal_usable(f) ? journal_append(f->journal, &copy, sync) : -EIO;
	if (rc == 0) {
		if (f->journal_failed)
			log_info("journal %s: writable again", f->journal_path);
		f->journal_failed = false;
		int mrc = journal_mark_error(f->journal);
		if (mrc < 0)
			log_error("journal %s: its marker cannot be written (%s): a later loss of "
				  "the journal's end may go unnoticed",
				  f->journal_path, strerror(-mrc));
		return 0;
	}
	f->journal_errors++;
	const char *why = f->history_unknown	      ? "its history could not be read"
			  : rc == -EIO && !f->journal ? "it cannot be opened"
						      : strerror(-rc);
	log_error("journal %s: cannot write: %s", f->journal_path, why);
	if (res && (alert_always || !f->journal_failed))
		feeder_add_alert(
		    res, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
		    "dose journal %s cannot be written (%s): doses are refused until it is fixed",
		    f->journal_path, why);
	f->journal_failed = true;
	return rc;
}

void history_remember(struct feeder *f, const char *id, const char *action,
		      enum proto_result result, const char *reason, const struct feeder_now *now,
		      struct feeder_result *res)
{
	ring_put(f, id, action, result, reason, now->wall_ms);
	struct journal_rec rec = {.op = JOURNAL_CMD, .ts_ms = now->wall_ms};
	feeder_copy_str(rec.id, sizeof(rec.id), id);
	feeder_copy_str(rec.action, sizeof(rec.action), action);
	feeder_copy_str(rec.result, sizeof(rec.result), proto_result_name(result));
	feeder_copy_str(rec.reason, sizeof(rec.reason), reason);
	/* Not fsync'd: losing a home/call/refusal record in a power cut can at
	 * worst let a repeat of it run, which is harmless; doses are synced. */
	history_put(f, &rec, false, false, now, res);
}

/* Rewrite the journal with what still matters: the header (compacted), a
 * repair record when repairing, the dose window, settled slots, the
 * command ring, every older dose id, and the checkpoint that closes it. */
static int compact(struct feeder *f)
{
	size_t cap = 8 + 3 * f->n_doses + f->n_acks + f->n_slots + f->ring_count + f->n_treats +
		     f->n_dose_ids / JOURNAL_IDS_PER_REC + 1;
	struct journal_rec *recs = calloc(cap, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	size_t n = 0;
	recs[n++] =
	    (struct journal_rec){.op = JOURNAL_INIT, .ts_ms = f->init_ms, .compacted = true};
	if (f->repair_text) {
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_REPAIR;
		r->ts_ms = f->started_ms;
		feeder_copy_str(r->text, sizeof(r->text), f->repair_text);
	}
	for (size_t i = 0; i < f->n_doses; i++) {
		const struct dose *d = &f->doses[i];
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_INTENT;
		r->ts_ms = d->ts_ms;
		feeder_copy_str(r->id, sizeof(r->id), d->id);
		feeder_copy_str(r->by, sizeof(r->by), d->by);
		r->scheduled = d->scheduled;
		feeder_copy_str(r->slot, sizeof(r->slot), d->slot);
		feeder_copy_str(r->boot, sizeof(r->boot), d->boot);
		r->mono_ms = d->mono_ms;
		if (d->status == DOSE_PENDING)
			continue;
		r = &recs[n++];
		r->op = JOURNAL_DONE;
		r->ts_ms = d->ts_ms;
		feeder_copy_str(r->id, sizeof(r->id), d->id);
		feeder_copy_str(r->result, sizeof(r->result), status_result(d->status));
		feeder_copy_str(r->reason, sizeof(r->reason), d->reason);
		if (d->verified == PROTO_VERIFIED_NULL)
			continue;
		r = &recs[n++];
		r->op = JOURNAL_VERIFY;
		r->ts_ms = d->ts_ms;
		feeder_copy_str(r->id, sizeof(r->id), d->id);
		feeder_copy_str(r->result, sizeof(r->result),
				d->verified == PROTO_VERIFIED_TRUE ? "ok" : "failed");
		r->has_delta = d->has_delta;
		r->delta_mg = d->delta_mg;
	}
	/* The plan, its pause, the pill count (after the doses, so their
	 * intents do not count it down again), the slots skipped by command. */
	struct journal_rec *r = &recs[n++];
	r->op = JOURNAL_PLAN;
	r->ts_ms = f->plan.changed_at_ms;
	feeder_copy_str(r->by, sizeof(r->by), f->plan.changed_by);
	r->plan = f->plan;
	r->slots_at_ms = f->slots_at_ms;
	if (f->plan.paused) {
		r = &recs[n++];
		r->op = JOURNAL_PAUSE;
		r->ts_ms = f->pause_from_ms;
		r->until_ms = f->plan.paused_until_ms;
	}
	if (f->plan.has_pills) {
		r = &recs[n++];
		r->op = JOURNAL_REFILL;
		r->ts_ms = f->started_ms;
		r->pills = f->plan.pills_remaining;
	}
	/* After the doses (whose intents carry their times as re-dated), so a
	 * replay re-dates nothing twice; kept as the audit of each re-dating. */
	for (size_t i = 0; i < f->n_acks; i++) {
		const struct ack_entry *a = &f->acks[i];
		r = &recs[n++];
		r->op = JOURNAL_CLOCK_ACK;
		r->ts_ms = a->ts_ms;
		feeder_copy_str(r->id, sizeof(r->id), a->id);
		feeder_copy_str(r->by, sizeof(r->by), a->by);
		r->from_ms = a->from_ms;
		r->to_ms = a->to_ms;
		feeder_copy_str(r->reason, sizeof(r->reason), a->how);
		feeder_copy_str(r->boot, sizeof(r->boot), a->boot);
		r->mono_ms = a->mono_ms;
	}
	for (size_t i = 0; i < f->n_slots; i++) {
		r = &recs[n++];
		r->op = f->slots[i].by_cmd ? JOURNAL_SKIP : JOURNAL_SLOT;
		r->ts_ms = f->slots[i].ts_ms;
		feeder_copy_str(r->slot, sizeof(r->slot), f->slots[i].slot);
		if (f->slots[i].by_cmd) {
			feeder_copy_str(r->id, sizeof(r->id), f->slots[i].id);
			feeder_copy_str(r->by, sizeof(r->by), f->slots[i].by);
		} else {
			feeder_copy_str(r->result, sizeof(r->result), f->slots[i].result);
		}
	}
	for (size_t i = 0; i < f->ring_count; i++) {
		const struct cmd_entry *e = ring_at(f, i);
		r = &recs[n++];
		r->op = JOURNAL_CMD;
		r->ts_ms = e->ts_ms;
		feeder_copy_str(r->id, sizeof(r->id), e->id);
		feeder_copy_str(r->action, sizeof(r->action), e->action);
		feeder_copy_str(r->result, sizeof(r->result), proto_result_name(e->result));
		feeder_copy_str(r->reason, sizeof(r->reason), e->reason);
	}
	/* Treats the ring no longer holds still count for the treat limits. */
	for (size_t i = 0; i < f->n_treats; i++) {
		bool in_ring = false;
		for (size_t j = 0; j < f->ring_count && !in_ring; j++)
			in_ring = strcmp(ring_at(f, j)->id, f->treats[i].id) == 0;
		if (in_ring)
			continue;
		r = &recs[n++];
		r->op = JOURNAL_CMD;
		r->ts_ms = f->treats[i].ts_ms;
		feeder_copy_str(r->id, sizeof(r->id), f->treats[i].id);
		feeder_copy_str(r->action, sizeof(r->action), "treat");
		feeder_copy_str(r->result, sizeof(r->result), "ok");
	}
	for (size_t i = 0; i < f->n_dose_ids; i += JOURNAL_IDS_PER_REC) {
		r = &recs[n++];
		r->op = JOURNAL_IDS;
		r->ts_ms = f->init_ms;
		r->n_ids = f->n_dose_ids - i < JOURNAL_IDS_PER_REC ? f->n_dose_ids - i
								   : JOURNAL_IDS_PER_REC;
		memcpy(r->ids, &f->dose_ids[i], r->n_ids * sizeof(r->ids[0]));
	}
	struct journal_rec *cp = &recs[n];
	cp->op = JOURNAL_CHECKPOINT;
	cp->count = (int64_t)n - 1;
	cp->dose_ids = (int64_t)(f->n_dose_ids + f->n_doses);
	cp->ts_ms = f->init_ms;
	if (f->n_doses) {
		feeder_copy_str(cp->id, sizeof(cp->id), f->doses[f->n_doses - 1].id);
		cp->ts_ms = f->doses[f->n_doses - 1].ts_ms;
	}
	n++;
	int64_t before = journal_size(f->journal);
	int rc = journal_rewrite(f->journal, recs, n);
	free(recs);
	if (rc < 0) {
		log_error("journal %s: compaction failed: %s", f->journal_path, strerror(-rc));
		f->journal_errors++;
		return rc;
	}
	f->compactions++;
	f->compacted_bytes = journal_size(f->journal);
	log_info("journal %s: compacted %" PRId64 " -> %" PRId64 " bytes (%zu records)",
		 f->journal_path, before, journal_size(f->journal), n);
	return 0;
}

/* A format-1 journal becomes format 2 once: the original stays beside it as
 * "journal.v1" (a hard link), the rewrite replaces it. */
static int migrate(struct feeder *f)
{
	char old[4200];
	snprintf(old, sizeof(old), "%s.v1", f->journal_path);
	unlink(old);
	if (link(f->journal_path, old) < 0)
		log_warn("journal %s: cannot keep the old-format original as %s: %s",
			 f->journal_path, old, strerror(errno));
	int rc = compact(f);
	if (rc < 0) {
		log_error("journal %s: cannot rewrite it in format %d: %s", f->journal_path,
			  JOURNAL_VERSION, strerror(-rc));
		return rc;
	}
	f->needs_migration = false;
	log_info("journal %s: migrated to format %d (the original is %s)", f->journal_path,
		 JOURNAL_VERSION, old);
	return 0;
}

/* Compact when over the limit and at least twice what the last
 * compaction left, so a journal whose live content is itself near the
 * limit is not rewritten after every command. */
void history_maybe_compact(struct feeder *f)
{
	/* A damaged journal stays as it is until the operator's repair: the
	 * damaged lines are the evidence of what was lost. */
	if (!f->journal || f->dose.active || f->history_unknown || f->damaged || f->needs_migration)
		return;
	int64_t size = journal_size(f->journal);
	if (size > f->cfg.compact_bytes && size > 2 * f->compacted_bytes)
		compact(f);
}

/* ---- recovery ------------------------------------------------------------ */

static void note_damage(struct feeder *f, const struct journal_damage *d)
{
	if (f->n_new_damage++ == 0)
		f->first_new_damage = *d;
	if (f->report) {
		if (d->line)
			fprintf(f->report, "  line %zu (byte %lld): %s: %s\n", d->line,
				(long long)d->offset, journal_damage_name(d->kind), d->detail);
		else
			fprintf(f->report, "  %s: %s\n", journal_damage_name(d->kind), d->detail);
	}
}

static void on_damage(void *arg, const struct journal_damage *d)
{
	note_damage(arg, d);
}

static void file_damage(struct feeder *f, enum journal_damage_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void file_damage(struct feeder *f, enum journal_damage_kind kind, const char *fmt, ...)
{
	struct journal_damage d = {.kind = kind};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d.detail, sizeof(d.detail), fmt, ap);
	va_end(ap);
	note_damage(f, &d);
}

/* The new damage in one line: the first problem, and how many more. */
static void describe_damage(const struct feeder *f, char *buf, size_t size)
{
	const struct journal_damage *d = &f->first_new_damage;
	int n;
	if (d->line)
		n = snprintf(buf, size, "line %zu (byte %lld): %s: %s", d->line,
			     (long long)d->offset, journal_damage_name(d->kind), d->detail);
	else
		n = snprintf(buf, size, "%s: %s", journal_damage_name(d->kind), d->detail);
	if (f->n_new_damage > 1 && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " (and %zu more problems)",
			 f->n_new_damage - 1);
}

static void on_record(void *arg, const struct journal_rec *rec)
{
	struct feeder *f = arg;
	if (f->init_ms == 0 || (rec->op == JOURNAL_INIT && rec->ts_ms < f->init_ms))
		f->init_ms = rec->ts_ms;
	/* A plan record is also what a start writes (the seed), and a
	 * compaction writes it before the acknowledgements: neither is
	 * "something else journaled" after them. */
	if (rec->op != JOURNAL_INIT && rec->op != JOURNAL_IDS && rec->op != JOURNAL_CHECKPOINT &&
	    rec->op != JOURNAL_PLAN)
		f->ack_unannounced = rec->op == JOURNAL_CLOCK_ACK;
	switch (rec->op) {
	case JOURNAL_INIT:
		break;
	case JOURNAL_INTENT:
		if (!history_find_dose(f, rec->id)) {
			struct dose *d = history_dose_put(f, rec->id, rec->by, rec->ts_ms,
							  rec->scheduled, rec->slot, DOSE_PENDING);
			feeder_copy_str(d->boot, sizeof(d->boot), rec->boot);
			d->mono_ms = rec->mono_ms;
			if (f->plan.has_pills && f->plan.pills_remaining > 0)
				f->plan.pills_remaining--;
		}
		break;
	case JOURNAL_DONE: {
		struct dose *d = history_find_dose(f, rec->id);
		if (!d)
			break; /* its intent fell out of a compaction */
		d->status = strcmp(rec->result, "ok") == 0	 ? DOSE_OK
			    : strcmp(rec->result, "failed") == 0 ? DOSE_FAILED
								 : DOSE_UNCERTAIN;
		feeder_copy_str(d->reason, sizeof(d->reason), rec->reason);
		break;
	}
	case JOURNAL_CMD: {
		/* Written as ok, rejected or failed; anything else (a hand-edited
		 * line with a good crc) is a refusal, so a resend stays refused. */
		enum proto_result result;
		if (proto_result_parse(rec->result, &result) < 0 ||
		    result == PROTO_RESULT_DUPLICATE)
			result = PROTO_RESULT_REJECTED;
		ring_put(f, rec->id, rec->action, result, rec->reason, rec->ts_ms);
		break;
	}
	case JOURNAL_SLOT:
		history_slot_put(f, rec->slot, rec->result, rec->ts_ms);
		break;
	case JOURNAL_IDS:
		for (size_t i = 0; i < rec->n_ids; i++)
			ids_add(f, rec->ids[i].hash, rec->ids[i].status);
		break;
	case JOURNAL_CHECKPOINT: {
		char outcome[OUTCOME_MAX];
		if (rec->id[0] && !history_find_outcome(f, rec->id, outcome, sizeof(outcome))) {
			struct journal_damage d = {.kind = JOURNAL_DMG_BAD_CHECKPOINT};
			snprintf(d.detail, sizeof(d.detail),
				 "the checkpoint's last dose %s is not in the journal", rec->id);
			note_damage(f, &d);
		}
		break;
	}
	case JOURNAL_DAMAGE:
		/* Damage found at a start, and the dose assumed given then.
		 * Everything found before it is accounted for. */
		f->damaged = true;
		f->n_new_damage = 0;
		f->damage_ts_ms = rec->ts_ms;
		feeder_copy_str(f->damage_text, sizeof(f->damage_text), rec->text);
		if (!history_find_dose(f, rec->id)) {
			struct dose *d = history_dose_put(f, rec->id, "journal", rec->ts_ms, false,
							  NULL, DOSE_UNCERTAIN);
			feeder_copy_str(d->boot, sizeof(d->boot), rec->boot);
			d->mono_ms = rec->mono_ms;
		}
		if (f->report) {
			char when[64];
			feeder_local_time_text(rec->ts_ms, when, sizeof(when));
			fprintf(f->report,
				"  found by the feeder at %s (a dose was assumed given then, "
				"%s): %s\n",
				when, rec->id, rec->text);
		}
		break;
	case JOURNAL_REPAIR:
		f->damaged = false;
		f->n_new_damage = 0;
		break;
	case JOURNAL_CLOCK_ACK:
		ack_apply(f, rec);
		break;
	case JOURNAL_SKIP:
		history_skip_put(f, rec->slot, rec->id, rec->by, rec->ts_ms);
		break;
	case JOURNAL_PLAN:
	case JOURNAL_PAUSE:
	case JOURNAL_RESUME:
	case JOURNAL_REFILL:
		history_apply_plan_rec(f, rec);
		break;
	case JOURNAL_VERIFY: {
		struct dose *d = history_find_dose(f, rec->id);
		if (!d)
			break; /* its intent fell out of a compaction */
		d->verified =
		    strcmp(rec->result, "ok") == 0 ? PROTO_VERIFIED_TRUE : PROTO_VERIFIED_FALSE;
		d->has_delta = rec->has_delta;
		d->delta_mg = rec->delta_mg;
		break;
	}
	}
}

/* Assume a dose was given now: the interval starts now on both clocks and
 * today counts one more. journal_it: write it down as a damage record
 * (which also makes the damage known at the next start). */
static void assume_dose(struct feeder *f, const struct feeder_now *now, const char *text,
			bool journal_it, struct feeder_result *res)
{
	char id[PROTO_ID_MAX + 1];
	snprintf(id, sizeof(id), "journal-damage-%" PRId64, now->wall_ms);
	for (int k = 2; history_find_dose(f, id) && k < 1000; k++)
		snprintf(id, sizeof(id), "journal-damage-%" PRId64 "-%d", now->wall_ms, k);
	struct dose *d =
	    history_dose_put(f, id, "journal", now->wall_ms, false, NULL, DOSE_UNCERTAIN);
	feeder_copy_str(d->boot, sizeof(d->boot), f->boot_id);
	d->mono_ms = now->mono_ms;
	f->have_mono = true;
	f->last_dose_mono_ms = now->mono_ms;
	f->damaged = true;
	f->damage_ts_ms = now->wall_ms;
	feeder_copy_str(f->damage_text, sizeof(f->damage_text), text);
	if (!journal_it)
		return;
	struct journal_rec rec = {.op = JOURNAL_DAMAGE, .ts_ms = now->wall_ms};
	feeder_copy_str(rec.id, sizeof(rec.id), id);
	feeder_copy_str(rec.text, sizeof(rec.text), text);
	feeder_copy_str(rec.boot, sizeof(rec.boot), f->boot_id);
	rec.mono_ms = now->mono_ms;
	history_put(f, &rec, true, true, now, res);
}

/*
 * Read the journal and compare it with its marker. Every problem found that
 * no damage record accounts for is counted in n_new_damage. Sets next_seq,
 * created_ms, init_ms. Returns 0; -EBADMSG when nothing is readable although
 * something is written; -errno when it cannot be read at all (both: alert,
 * history_unknown).
 */
static int read_history(struct feeder *f, const struct feeder_now *now,
			struct feeder_result *startup, struct journal_load_info *info,
			bool *first_install)
{
	const char *path = f->journal_path;
	*first_install = false;
	struct journal_sink sink = {.on_record = on_record, .on_damage = on_damage, .arg = f};
	int rc = 0;
	if (!f->image)
		rc = journal_load(path, &sink, info);
	else if (f->image->journal)
		journal_parse(f->image->journal, f->image->journal_len, &sink, info);
	else
		*info = (struct journal_load_info){.missing = true};
	if (rc < 0) {
		f->history_unknown = true;
		const char *why = rc == -EINVAL ? "it is not a regular file (a FIFO, a device or a "
						  "directory?)"
				  : rc == -ELOOP ? "it is a symbolic link, which is not followed"
				  : rc == -EFBIG ? "it is too large to be a journal"
						 : strerror(-rc);
		feeder_add_alert(
		    startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
		    "dose journal %s cannot be read (%s): every dose is refused until it is "
		    "fixed and the feeder restarted",
		    path, why);
		return rc;
	}
	ids_sort(f);
	struct journal_mark mark = {0};
	int mrc = !f->image	   ? journal_mark_read(path, &mark)
		  : f->image->mark ? journal_mark_parse(f->image->mark, f->image->mark_len, &mark)
				   : -ENOENT;
	bool have_mark = mrc == 0;
	if (have_mark)
		f->mark_plan = mark;
	if (mrc < 0 && mrc != -ENOENT)
		file_damage(f, JOURNAL_DMG_MARKER_DAMAGED, "%s.mark cannot be read (%s)", path,
			    mrc == -EBADMSG ? "damaged" : strerror(-mrc));
	bool empty = info->missing || info->size == 0;
	char when[64] = "?", when2[64] = "?";
	if (have_mark)
		feeder_local_time_text(mark.created_ms, when, sizeof(when));
	if (empty && mrc == -ENOENT) {
		*first_install = true;
	} else if (empty) {
		file_damage(f, info->missing ? JOURNAL_DMG_MISSING : JOURNAL_DMG_EMPTY,
			    "the journal is %s, but this data directory held one (created %s, "
			    "%" PRIu64 " records written)",
			    info->missing ? "missing" : "empty", when, mark.seq);
	} else if (info->lines > 0) {
		if (info->format == 1 && mrc != -ENOENT)
			file_damage(f, JOURNAL_DMG_REPLACED,
				    "an old-format journal where this data directory had a "
				    "format-%d one",
				    JOURNAL_VERSION);
		/* Even a journal of only its header: the marker follows the
		 * header at creation, so only a crash in between leaves none. */
		if (info->format == 2 && mrc == -ENOENT)
			file_damage(f, JOURNAL_DMG_MARKER_MISSING,
				    "%s.mark, written when the journal was created, is gone", path);
		if (info->format == 2 && have_mark && info->have_header &&
		    mark.created_ms != info->created_ms) {
			feeder_local_time_text(info->created_ms, when2, sizeof(when2));
			file_damage(f, JOURNAL_DMG_REPLACED,
				    "this journal was created %s, this data directory's %s", when2,
				    when);
		} else if (info->format == 2 && have_mark && mark.seq > info->last_seq) {
			file_damage(f, JOURNAL_DMG_TAIL_CUT,
				    "the journal ends at seq %" PRIu64 ", but seq %" PRIu64
				    " was written and fsync'd",
				    info->last_seq, mark.seq);
		}
	}
	uint64_t seq = info->last_seq;
	if (have_mark && mark.seq > seq)
		seq = mark.seq;
	f->next_seq = seq + 1;
	if (info->format == 2 && info->have_header)
		f->created_ms = info->created_ms;
	else if (have_mark)
		f->created_ms = mark.created_ms;
	else if (info->format == 1 && f->init_ms)
		f->created_ms = f->init_ms;
	else
		f->created_ms = now->wall_ms;
	if (empty)
		f->init_ms = *first_install ? now->wall_ms : f->created_ms;
	if (info->lines == 0 && !empty) {
		/* Something written, nothing readable: not a first install, and
		 * nothing known of the past (not even the dose ids). */
		char what[200];
		describe_damage(f, what, sizeof(what));
		f->history_unknown = true;
		log_error("journal %s: nothing readable", path);
		feeder_add_alert(startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
				 "dose journal has no readable record: every dose is refused until "
				 "iod-feeder-journal repair (%s)",
				 what);
		return -EBADMSG;
	}
	return 0;
}

/* One warning per seed setting the journaled plan differs from (the
 * plan rules: docs/design.md "The care plan", precedence). */
static void warn_seed(const struct feeder *f)
{
	const struct proto_plan *p = &f->plan;
	struct proto_plan seed;
	history_seed_plan(f, 0, "env", 0, &seed);
	char a[512], b[512];
	if (!plan_same_slots(p, &seed)) {
		plan_slots_text(&seed, a, sizeof(a));
		plan_slots_text(p, b, sizeof(b));
		log_warn("IOD_FEEDER_SCHEDULE is %s, the journaled plan (rev %" PRId64
			 ") has %s: the plan rules (--reset-plan to re-seed it)",
			 a, p->rev, b);
	}
	if (seed.min_interval_s != p->min_interval_s)
		log_warn("IOD_FEEDER_MIN_INTERVAL is %" PRId64
			 " s, the journaled plan (rev %" PRId64 ") has %" PRId64
			 " s: the plan rules (--reset-plan to re-seed it)",
			 seed.min_interval_s, p->rev, p->min_interval_s);
	if (seed.max_daily != p->max_daily)
		log_warn("IOD_FEEDER_MAX_DAILY is %d, the journaled plan (rev %" PRId64
			 ") has %d: the plan rules (--reset-plan to re-seed it)",
			 seed.max_daily, p->rev, p->max_daily);
	if (seed.grace_s != p->grace_s)
		log_warn("IOD_FEEDER_GRACE is %" PRId64 " s, the journaled plan (rev %" PRId64
			 ") has %" PRId64 " s: the plan rules (--reset-plan to re-seed it)",
			 seed.grace_s, p->rev, p->grace_s);
}

/* Damage may have taken the newest plan record with it: the marker (written
 * after every fsync'd record) says which rules were held then. A stricter
 * interval or daily maximum than the plan as read is held, journaled as a
 * new rev by "journal", so a damaged journal never loosens the rules. */
static void hold_marked_rules(struct feeder *f, const struct feeder_now *now,
			      struct feeder_result *startup)
{
	const struct journal_mark *m = &f->mark_plan;
	if (!f->n_new_damage || m->plan_rev <= 0 || f->history_unknown)
		return;
	struct proto_plan held = f->plan;
	if (m->interval_ms > plan_min_interval_ms(&f->plan))
		held.min_interval_s = (m->interval_ms + 999) / 1000;
	if (m->max_daily > 0 && m->max_daily < plan_max_daily(&f->plan))
		held.max_daily = m->max_daily;
	if (plan_same_rules(&held, &f->plan))
		return;
	held.rev = (f->plan.rev > m->plan_rev ? f->plan.rev : m->plan_rev) + 1;
	log_error("journal %s: damaged after plan rev %" PRId64
		  " (its marker): its interval %" PRId64 " s and %d a day are held as rev %" PRId64,
		  f->journal_path, m->plan_rev, held.min_interval_s, held.max_daily, held.rev);
	struct journal_rec rec = {.op = JOURNAL_PLAN, .ts_ms = now->wall_ms};
	feeder_copy_str(rec.by, sizeof(rec.by), "journal");
	rec.plan = held;
	rec.slots_at_ms = f->slots_at_ms;
	if (!f->journal || history_put_plan(f, &rec, now, startup) < 0)
		history_apply_plan_rec(f, &rec); /* held in memory at least */
}

/* The plan at start: the journal's newest plan record rules; with none (a
 * first start, or a journal written before plans) the environment seeds it
 * as rev 1, and --reset-plan re-seeds it as a new rev; both journaled. */
static void plan_start(struct feeder *f, const struct feeder_now *now,
		       struct feeder_result *startup)
{
	startup->plan_changed = true;
	startup->schedule_changed = true;
	history_pause_expire(f, now, NULL);
	bool reset = f->cfg.reset_plan;
	if (f->plan_journaled && !reset) {
		warn_seed(f);
	} else if (!f->history_unknown) {
		struct proto_plan seeded;
		int64_t rev = f->plan_journaled ? f->plan.rev : 0;
		if (f->mark_plan.plan_rev > rev) /* a plan record lost: never its rev again */
			rev = f->mark_plan.plan_rev;
		history_seed_plan(f, rev + 1, reset ? "reset-plan" : "env", now->wall_ms, &seeded);
		struct journal_rec rec = {.op = JOURNAL_PLAN, .ts_ms = now->wall_ms};
		feeder_copy_str(rec.by, sizeof(rec.by), seeded.changed_by);
		rec.plan = seeded;
		/* Slots that really changed: no slot of the old plan is settled. */
		rec.slots_at_ms = f->plan_journaled && !plan_same_slots(&seeded, &f->plan)
				      ? now->wall_ms
				      : f->slots_at_ms;
		if (!f->journal || history_put_plan(f, &rec, now, startup) < 0) {
			if (f->journal)
				log_error("journal %s: the plan's seed cannot be journaled; it "
					  "holds until the next start",
					  f->journal_path);
			history_apply_plan_rec(f, &rec);
		}
		log_info("plan rev %" PRId64 " %s from the environment", f->plan.rev,
			 reset ? "re-seeded (--reset-plan)" : "seeded");
	}
	hold_marked_rules(f, now, startup);
	char why[PROTO_DETAIL_MAX];
	if (plan_bounds_check(&f->plan, why, sizeof(why)))
		log_warn("plan rev %" PRId64 " is outside the vet's bounds (%s): the bounds are "
			 "held for every dose",
			 f->plan.rev, why);
}

static struct feeder *feeder_alloc(const struct feeder_config *cfg, const struct feeder_now *now)
{
	struct feeder *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->lock_fd = -1;
	f->cfg = *cfg;
	if (f->cfg.id_memory == 0)
		f->cfg.id_memory = FEEDER_ID_MEMORY_DEFAULT;
	if (f->cfg.compact_bytes <= 0)
		f->cfg.compact_bytes = FEEDER_COMPACT_BYTES_DEFAULT;
	f->journal_path = strdup(cfg->journal_path);
	f->ring = calloc(f->cfg.id_memory, sizeof(*f->ring));
	if (!f->journal_path || !f->ring) {
		feeder_free(f);
		return NULL;
	}
	f->cfg.journal_path = f->journal_path;
	feeder_copy_str(f->boot_id, sizeof(f->boot_id), cfg->boot_id ? cfg->boot_id : "");
	f->cfg.boot_id = f->boot_id;
	/* Once per boot: raised already when the glue's record names this boot. */
	f->clock_unsynced_alerted = f->boot_id[0] && cfg->clock_alerted_boot &&
				    strcmp(cfg->clock_alerted_boot, f->boot_id) == 0;
	f->cfg.clock_alerted_boot = NULL; /* the caller's buffer */
	f->started_ms = now->wall_ms;
	f->position = PROTO_POSITION_HOME;
	if (f->cfg.bound_min_interval_ms <= 0)
		f->cfg.bound_min_interval_ms = FEEDER_BOUND_MIN_INTERVAL_DEFAULT;
	if (f->cfg.bound_max_daily <= 0)
		f->cfg.bound_max_daily = FEEDER_BOUND_MAX_DAILY_DEFAULT;
	/* The seed, until the journal says otherwise (rev 0: not journaled). */
	history_seed_plan(f, 0, "env", now->wall_ms, &f->plan);
	plan_schedule(&f->plan, &f->sched);
	return f;
}

static struct feeder *start_feeder(const struct feeder_config *cfg, const struct feeder_now *now,
				   const struct feeder_image *image, struct feeder_result *startup)
{
	memset(startup, 0, sizeof(*startup));
	struct feeder *f = feeder_alloc(cfg, now);
	if (!f)
		return NULL;
	f->image = image;
	if (!image)
		f->lock_fd = journal_lock(f->journal_path);
	if (f->lock_fd == -EWOULDBLOCK) {
		f->history_unknown = true;
		feeder_add_alert(
		    startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
		    "the data directory of %s is in use by another process (a second "
		    "iod-feeder, or iod-feeder-journal): every dose is refused until this "
		    "feeder is restarted alone",
		    f->journal_path);
		f->sched_checked_ms = now->wall_ms;
		return f;
	}
	struct journal_load_info info;
	bool first_install;
	if (read_history(f, now, startup, &info, &first_install) < 0) {
		f->sched_checked_ms = now->wall_ms;
		return f;
	}
	bool empty = info.missing || info.size == 0;
	int err = 0;
	if (!image)
		f->journal = journal_open(f->journal_path, info.format == 2 ? &info : NULL,
					  f->next_seq, f->created_ms, &err);
	history_plan_to_journal(f);
	if (!f->journal && !image) {
		log_error("journal %s: cannot open: %s", f->journal_path, strerror(-err));
		f->journal_errors++;
		f->journal_failed = true;
		feeder_add_alert(
		    startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
		    "dose journal %s cannot be opened (%s): doses are refused until it is fixed",
		    f->journal_path, strerror(-err));
	}
	if (empty) {
		/* A first install's history starts now, so the schedule never
		 * gives a catch-up dose for slots before it. The header goes
		 * first, then the marker that remembers there is a journal. */
		struct journal_rec rec = {.op = JOURNAL_INIT, .ts_ms = f->init_ms};
		if (f->journal)
			history_put(f, &rec, true, true, now, startup);
		if (first_install)
			log_info("journal %s: new, history starts now", f->journal_path);
	}
	if (info.format == 1) {
		f->needs_migration = true;
		if (f->journal)
			migrate(f);
	}
	plan_start(f, now, startup);
	if (f->n_new_damage) {
		char what[200], text[256], next[64];
		describe_damage(f, what, sizeof(what));
		snprintf(text, sizeof(text), "%s", what);
		assume_dose(f, now, text, f->journal != NULL, startup);
		int64_t next_allowed;
		feeder_dose_rules(f, now, &next_allowed);
		feeder_local_time_text(next_allowed, next, sizeof(next));
		/* The message must fit an alert (256 bytes): the path goes to the log. */
		log_error("journal %s: damaged", f->journal_path);
		feeder_add_alert(
		    startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL_DAMAGED,
		    "dose journal damaged: %s. A dose is assumed given now, next allowed %s; "
		    "run iod-feeder-journal repair",
		    what, next);
	} else if (f->damaged) {
		char when[64];
		feeder_local_time_text(f->damage_ts_ms, when, sizeof(when));
		feeder_add_alert(
		    startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL_DAMAGED,
		    "dose journal damaged at %s, not repaired: run iod-feeder-journal repair "
		    "(%s)",
		    when, f->damage_text);
	}
	/* An intent without its completion: the feeder died mid-dose. Never
	 * retried: counted as given, said loudly, and settled in the journal
	 * so the alert is raised once. */
	for (size_t i = 0; i < f->n_doses; i++) {
		struct dose *d = &f->doses[i];
		if (d->status != DOSE_PENDING)
			continue;
		d->status = DOSE_UNCERTAIN;
		char when[64];
		feeder_local_time_text(d->ts_ms, when, sizeof(when));
		feeder_add_alert_about(
		    startup, now, d->id, PROTO_LEVEL_WARNING, PROTO_ALERT_UNCERTAIN_DOSE,
		    "dose %s started at %s was never confirmed (the feeder stopped mid-dose); "
		    "it is counted as given",
		    d->id, when);
		struct journal_rec rec = {.op = JOURNAL_DONE, .ts_ms = now->wall_ms};
		feeder_copy_str(rec.id, sizeof(rec.id), d->id);
		feeder_copy_str(rec.result, sizeof(rec.result), "uncertain");
		if (f->journal)
			history_put(f, &rec, true, false, now, startup);
	}
	/* A dose given earlier in this same boot (the feeder restarted, the
	 * machine did not): the boot clock still holds its interval, so a wall
	 * clock that moved ahead meanwhile cannot allow an early dose. */
	for (size_t i = 0; f->boot_id[0] && i < f->n_doses; i++) {
		const struct dose *d = &f->doses[i];
		if (strcmp(d->boot, f->boot_id) != 0)
			continue;
		int64_t mono = d->mono_ms > now->mono_ms ? now->mono_ms : d->mono_ms;
		if (!f->have_mono || mono > f->last_dose_mono_ms)
			f->last_dose_mono_ms = mono;
		f->have_mono = true;
	}
	int64_t from = now->wall_ms - STARTUP_LOOKBACK_MS;
	f->sched_checked_ms = from > f->init_ms ? from : f->init_ms;
	if (f->sched_checked_ms < f->slots_at_ms) /* slots of the plan before: not ours */
		f->sched_checked_ms = f->slots_at_ms;
	if (f->sched_checked_ms > now->wall_ms) /* history "begins" in the future */
		f->sched_checked_ms = now->wall_ms;
	log_info("journal %s: %zu records, %zu doses kept, %zu older dose ids, %zu ids remembered",
		 f->journal_path, info.lines, f->n_doses, f->n_dose_ids, f->ring_count);
	if (f->ack_unannounced && f->n_acks) {
		/* The alert's end: what the operator's acknowledgement did. */
		const struct ack_entry *a = &f->acks[f->n_acks - 1];
		char was[64], is[64], next[64];
		int64_t next_allowed;
		feeder_local_time_text(a->from_ms, was, sizeof(was));
		feeder_local_time_text(a->to_ms, is, sizeof(is));
		feeder_dose_rules(f, now, &next_allowed);
		feeder_local_time_text(next_allowed, next, sizeof(next));
		feeder_add_alert(
		    startup, now, PROTO_LEVEL_INFO, ALERT_CLOCK_AHEAD_DOSE,
		    "clock acknowledged by %s: dose %s re-dated from %s to %s (%s); next "
		    "dose allowed %s",
		    a->by, a->id, was, is, a->how, next);
	}
	feeder_check_clock_ahead(f, now, startup);
	history_maybe_compact(f);
	if (f->image)
		f->read_only = true; /* never a write to a file it did not read */
	f->image = NULL;
	return f;
}

void feeder_read_boot_id(char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *bf = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!bf)
		return;
	if (!fgets(buf, (int)size, bf))
		buf[0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	fclose(bf);
}

struct feeder *feeder_new(const struct feeder_config *cfg, const struct feeder_now *now,
			  struct feeder_result *startup)
{
	return start_feeder(cfg, now, NULL, startup);
}

struct feeder *feeder_load_image(const struct feeder_config *cfg, const struct feeder_now *now,
				 const struct feeder_image *image, struct feeder_result *startup)
{
	return start_feeder(cfg, now, image, startup);
}

/* The opening both offline tools share (repair, clock-ack): a feeder over
 * the journal without its start-up, the data directory locked against a
 * running feeder, the history read (described on out when report). *fp is
 * NULL only when out of memory; else the caller frees it. Returns
 * read_history()'s result, or -EWOULDBLOCK when the feeder runs. */
static int offline_open(const struct feeder_config *cfg, const struct feeder_now *now, FILE *out,
			bool report, struct feeder **fp, struct journal_load_info *info,
			bool *first_install, struct feeder_result *ignored)
{
	struct feeder *f = *fp = feeder_alloc(cfg, now);
	if (!f)
		return -ENOMEM;
	if (report)
		f->report = out;
	f->lock_fd = journal_lock(f->journal_path);
	if (f->lock_fd == -EWOULDBLOCK) {
		fprintf(out,
			"%s: its data directory is in use (is iod-feeder running?): stop the "
			"feeder first\n",
			f->journal_path);
		return -EWOULDBLOCK;
	}
	fprintf(out, "journal %s\n", f->journal_path);
	memset(ignored, 0, sizeof(*ignored));
	return read_history(f, now, ignored, info, first_install);
}

/* The care plan as the journal has it, for the operator's check. */
static void describe_plan(const struct feeder *f, FILE *out)
{
	const struct proto_plan *p = &f->plan;
	char slots[1024], when[64];
	plan_slots_text(p, slots, sizeof(slots));
	if (!f->plan_journaled) {
		fprintf(out,
			"plan: none journaled (the next start seeds it from the environment)\n");
		return;
	}
	feeder_local_time_text(p->changed_at_ms, when, sizeof(when));
	fprintf(out,
		"plan rev %" PRId64 " by %s at %s: slots %s; interval %" PRId64 " s, %d a day, "
		"grace %" PRId64 " s (bounds %" PRId64 " s, %d a day)\n",
		p->rev, p->changed_by, when, slots, p->min_interval_s, p->max_daily, p->grace_s,
		p->bound_min_interval_s, p->bound_max_daily);
	if (p->paused && p->paused_until_ms) {
		feeder_local_time_text(p->paused_until_ms, when, sizeof(when));
		fprintf(out, "paused until %s\n", when);
	} else if (p->paused) {
		fprintf(out, "paused until resume\n");
	}
	size_t skips = 0;
	for (size_t i = 0; i < f->n_slots; i++)
		skips += f->slots[i].by_cmd;
	if (skips)
		fprintf(out, "%zu slots skipped by command\n", skips);
	if (p->has_pills)
		fprintf(out, "pills: %" PRId64 " left\n", p->pills_remaining);
}

int feeder_repair_journal(const struct feeder_config *cfg, const struct feeder_now *now, bool write,
			  FILE *out)
{
	struct feeder *f;
	struct journal_load_info info;
	struct feeder_result ignored;
	bool first_install;
	int rc = offline_open(cfg, now, out, true, &f, &info, &first_install, &ignored);
	if (!f)
		return -ENOMEM;
	const char *path = f->journal_path;
	if (rc == -EWOULDBLOCK)
		goto done;
	if (rc < 0 && rc != -EBADMSG) {
		fprintf(out, "cannot read it: %s\n",
			ignored.n_alerts ? ignored.alerts[0].message : strerror(-rc));
		fprintf(out, "move it away (it is not a journal) and run the repair again\n");
		goto done;
	}
	fprintf(out,
		"format %d, %zu readable records: %zu doses in full, %zu older dose ids, %zu "
		"command ids, %zu settled slots\n",
		info.format, info.lines, f->n_doses, f->n_dose_ids, f->ring_count, f->n_slots);
	if (first_install) {
		fprintf(out, "no journal, and this data directory never had one: nothing to "
			     "repair\n");
		rc = 0;
		goto done;
	}
	describe_plan(f, out);
	if (!f->n_new_damage && !f->damaged && info.format == 2) {
		fprintf(out, "the journal is sound: nothing to repair\n");
		rc = 0;
		goto done;
	}
	char lost[256];
	if (f->n_new_damage)
		describe_damage(f, lost, sizeof(lost));
	else if (f->damaged)
		snprintf(lost, sizeof(lost), "%s", f->damage_text);
	else
		snprintf(lost, sizeof(lost), "nothing (an old-format journal, rewritten)");
	if (!write) {
		fprintf(out,
			"lost: %s\nrun `iod-feeder-journal repair` to write a clean journal "
			"from the readable records\n",
			lost);
		rc = 1;
		goto done;
	}
	char backup[4200], when[64];
	snprintf(backup, sizeof(backup), "%s.damaged-%" PRId64, path, now->wall_ms);
	if (!info.missing && link(path, backup) == 0)
		fprintf(out, "the journal as it was is kept as %s\n", backup);
	if (f->n_new_damage) {
		/* Damage the feeder never saw: a dose may hide in it. */
		assume_dose(f, now, lost, false, NULL);
		int64_t next_allowed;
		feeder_dose_rules(f, now, &next_allowed);
		feeder_local_time_text(next_allowed, when, sizeof(when));
		fprintf(out, "a dose is assumed given now (%s): the next is allowed from %s\n",
			f->doses[f->n_doses - 1].id, when);
	}
	feeder_local_time_text(now->wall_ms, when, sizeof(when));
	char text[512];
	snprintf(text, sizeof(text), "repaired %s: %zu records kept; lost: %s", when, info.lines,
		 lost);
	f->repair_text = text;
	if (f->init_ms == 0)
		f->init_ms = f->created_ms;
	int err = 0;
	f->journal = journal_open(path, NULL, f->next_seq, f->created_ms, &err);
	if (!f->journal) {
		fprintf(out, "cannot open %s: %s\n", path, strerror(-err));
		rc = err;
		goto done;
	}
	rc = compact(f);
	if (rc < 0) {
		fprintf(out, "cannot write the repaired journal: %s\n", strerror(-rc));
		goto done;
	}
	fprintf(out,
		"lost: %s\nwritten: %s (%zu doses in full, %zu older dose ids, %zu command ids, "
		"%zu settled slots); the feeder can be started\n",
		lost, path, f->n_doses, f->n_dose_ids, f->ring_count, f->n_slots);
	rc = 0;
done:
	feeder_free(f);
	return rc;
}

static void duration_text(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;
	if (s >= 2 * 86400)
		snprintf(buf, size, "%" PRId64 " days", s / 86400);
	else if (s >= 2 * 3600)
		snprintf(buf, size, "%" PRId64 " h", s / 3600);
	else if (s >= 120)
		snprintf(buf, size, "%" PRId64 " min", s / 60);
	else
		snprintf(buf, size, "%" PRId64 " s", s);
}

int feeder_clock_ack(const struct feeder_config *cfg, const struct feeder_now *now, const char *by,
		     FILE *out)
{
	struct feeder *f;
	struct journal_load_info info;
	struct feeder_result ignored;
	bool first_install;
	struct journal_rec *recs = NULL;
	int rc = offline_open(cfg, now, out, false, &f, &info, &first_install, &ignored);
	if (!f)
		return -ENOMEM;
	const char *path = f->journal_path;
	if (rc == -EWOULDBLOCK)
		goto done;
	if (rc < 0) {
		fprintf(out, "cannot read it: %s\n",
			ignored.n_alerts ? ignored.alerts[0].message : strerror(-rc));
		goto done;
	}
	if (first_install || f->n_doses == 0) {
		fprintf(out, "no dose is journaled: nothing to acknowledge\n");
		rc = 1;
		goto done;
	}
	/* Re-dating needs a journal whose every record is known: a dose may
	 * hide in damage. The repair keeps every readable record, and the
	 * acknowledgement can follow it. */
	if (f->n_new_damage || f->damaged || info.format != 2) {
		fprintf(out, "%s: run iod-feeder-journal repair first, then clock-ack again\n",
			info.format != 2 ? "an old-format journal" : "the journal is damaged");
		rc = -EUCLEAN;
		goto done;
	}
	const struct dose *newest;
	size_t n = feeder_doses_ahead(f, now, &newest);
	char when[64], when2[64], ago[32];
	feeder_local_time_text(now->wall_ms + CLOCK_AHEAD_TOLERANCE_MS, when, sizeof(when));
	if (n == 0) {
		feeder_local_time_text(f->doses[f->n_doses - 1].ts_ms, when2, sizeof(when2));
		fprintf(out,
			"no dose is dated after %s (the latest, %s, is %s): nothing to "
			"acknowledge\n",
			when, f->doses[f->n_doses - 1].id, when2);
		rc = 1;
		goto done;
	}
	recs = calloc(n, sizeof(*recs));
	if (!recs) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dose *d = &f->doses[f->n_doses - n + i];
		struct journal_rec *r = &recs[i];
		r->op = JOURNAL_CLOCK_ACK;
		r->ts_ms = now->wall_ms;
		feeder_copy_str(r->id, sizeof(r->id), d->id);
		feeder_copy_str(r->by, sizeof(r->by), by && by[0] ? by : "operator");
		r->from_ms = d->ts_ms;
		feeder_local_time_text(d->ts_ms, when, sizeof(when));
		duration_text(d->ts_ms - now->wall_ms, ago, sizeof(ago));
		fprintf(out, "dose %s is dated %s, %s after now\n", d->id, when, ago);
		if (f->boot_id[0] && strcmp(d->boot, f->boot_id) == 0 &&
		    d->mono_ms <= now->mono_ms) {
			/* Given in this boot: the boot clock says how long ago. */
			r->to_ms = now->wall_ms - (now->mono_ms - d->mono_ms);
			feeder_copy_str(r->reason, sizeof(r->reason), "boot_clock");
			duration_text(now->mono_ms - d->mono_ms, ago, sizeof(ago));
			feeder_local_time_text(r->to_ms, when, sizeof(when));
			fprintf(out,
				"  given %s ago by the boot clock (this boot): re-dated to %s\n",
				ago, when);
		} else {
			/* Another boot: nothing says when it really was. From now
			 * on both clocks, so its interval runs from the ack. */
			r->to_ms = now->wall_ms;
			feeder_copy_str(r->reason, sizeof(r->reason), "ack_time");
			feeder_copy_str(r->boot, sizeof(r->boot), f->boot_id);
			r->mono_ms = now->mono_ms;
			feeder_local_time_text(r->to_ms, when, sizeof(when));
			fprintf(out,
				"  given in another boot (when is unknown): re-dated to now, %s, "
				"the safe side\n",
				when);
		}
	}
	int err = 0;
	f->journal = journal_open(path, &info, f->next_seq, f->created_ms, &err);
	if (!f->journal) {
		fprintf(out, "cannot open %s: %s\n", path, strerror(-err));
		rc = err;
		goto done;
	}
	char who[PROTO_BY_MAX + 1];
	feeder_copy_str(who, sizeof(who), recs[0].by);
	for (size_t i = 0; i < n; i++) {
		/* Each fsync'd: a crash between two leaves the rest to a rerun. */
		rc = journal_append(f->journal, &recs[i], true);
		if (rc < 0) {
			fprintf(out, "cannot write the acknowledgement of %s: %s\n", recs[i].id,
				strerror(-rc));
			goto done;
		}
		ack_apply(f, &recs[i]);
	}
	free(recs);
	recs = NULL;
	int64_t next_allowed;
	feeder_dose_rules(f, now, &next_allowed);
	feeder_local_time_text(next_allowed, when, sizeof(when));
	fprintf(out,
		"acknowledged by %s, journaled: %zu doses re-dated; the next dose is allowed from "
		"%s; the feeder can be started\n",
		who, n, when);
	rc = 0;
done:
	free(recs);
	feeder_free(f);
	return rc;
}

void feeder_free(struct feeder *f)
{
	if (!f)
		return;
	journal_close(f->journal);
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	free(f->dose_ids);
	free(f->ring);
	free(f->journal_path);
	free(f);
}
