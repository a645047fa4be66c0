#include "plan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* "4 h", "90 min", "30 s": durations as a carer reads them. */
static void dur_text(int64_t s, char *buf, size_t size)
{
	if (s >= 3600 && s % 3600 == 0)
		snprintf(buf, size, "%" PRId64 " h", s / 3600);
	else if (s >= 60 && s % 60 == 0)
		snprintf(buf, size, "%" PRId64 " min", s / 60);
	else
		snprintf(buf, size, "%" PRId64 " s", s);
}

static void hhmm(int minute, char *buf, size_t size)
{
	snprintf(buf, size, "%02d:%02d", (minute / 60) % 100, minute % 60);
}

void plan_seed(const struct plan_seed *seed, int64_t rev, const char *by, int64_t at_ms,
	       struct proto_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->rev = rev;
	for (size_t i = 0;
	     seed->schedule && i < seed->schedule->count && out->n_slots < PROTO_PLAN_SLOTS_MAX;
	     i++) {
		struct proto_plan_slot *s = &out->slots[out->n_slots++];
		s->minute = seed->schedule->minutes[i];
		s->days = seed->schedule->days[i] ? seed->schedule->days[i] : PROTO_DAYS_DAILY;
		s->enabled = true;
	}
	/* Seconds on the wire; a seed of less than a second (tests) is one. */
	out->min_interval_s = seed->min_interval_ms > 0 ? (seed->min_interval_ms + 999) / 1000 : 0;
	out->max_daily = seed->max_daily;
	out->grace_s = seed->grace_ms / 1000;
	out->treat_max_daily = seed->treat_max_daily;
	out->treat_min_interval_s = seed->treat_min_interval_s;
	out->low_days = seed->low_days;
	out->bound_min_interval_s = (seed->bound_min_interval_ms + 999) / 1000;
	out->bound_max_daily = seed->bound_max_daily;
	snprintf(out->changed_by, sizeof(out->changed_by), "%s", by);
	out->changed_at_ms = at_ms;
}

bool plan_same_slots(const struct proto_plan *a, const struct proto_plan *b)
{
	if (a->n_slots != b->n_slots)
		return false;
	for (size_t i = 0; i < a->n_slots; i++)
		if (a->slots[i].minute != b->slots[i].minute ||
		    a->slots[i].days != b->slots[i].days ||
		    a->slots[i].enabled != b->slots[i].enabled)
			return false;
	return true;
}

bool plan_same_rules(const struct proto_plan *a, const struct proto_plan *b)
{
	return plan_same_slots(a, b) && a->min_interval_s == b->min_interval_s &&
	       a->max_daily == b->max_daily && a->grace_s == b->grace_s &&
	       a->treat_max_daily == b->treat_max_daily &&
	       a->treat_min_interval_s == b->treat_min_interval_s && a->low_days == b->low_days;
}

int64_t plan_min_interval_ms(const struct proto_plan *p)
{
	int64_t s = p->min_interval_s > p->bound_min_interval_s ? p->min_interval_s
								: p->bound_min_interval_s;
	return s * 1000;
}

int plan_max_daily(const struct proto_plan *p)
{
	if (p->bound_max_daily > 0 && p->bound_max_daily < p->max_daily)
		return p->bound_max_daily;
	return p->max_daily;
}

int64_t plan_grace_ms(const struct proto_plan *p)
{
	return p->grace_s * 1000;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct proto_plan_slot *x = a, *y = b;
	if (x->minute != y->minute)
		return x->minute < y->minute ? -1 : 1;
	return x->days < y->days ? -1 : x->days > y->days;
}

void plan_schedule(const struct proto_plan *p, struct schedule *out)
{
	memset(out, 0, sizeof(*out));
	struct proto_plan_slot sorted[PROTO_PLAN_SLOTS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < p->n_slots && i < PROTO_PLAN_SLOTS_MAX; i++)
		if (p->slots[i].enabled && p->slots[i].days)
			sorted[n++] = p->slots[i];
	qsort(sorted, n, sizeof(sorted[0]), slot_cmp);
	for (size_t i = 0; i < n && i < SCHEDULE_MAX_SLOTS; i++) {
		out->minutes[i] = sorted[i].minute;
		out->days[i] = sorted[i].days == PROTO_DAYS_DAILY ? 0 : sorted[i].days;
	}
	out->count = n < SCHEDULE_MAX_SLOTS ? n : SCHEDULE_MAX_SLOTS;
}

static void days_text(uint8_t days, char *buf, size_t size)
{
	if (days == PROTO_DAYS_DAILY) {
		snprintf(buf, size, "daily");
		return;
	}
	size_t used = 0;
	buf[0] = '\0';
	for (int d = 0; d < 7; d++) {
		if (!(days >> d & 1))
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", day_names[d]);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

void plan_slots_text(const struct proto_plan *p, char *buf, size_t size)
{
	if (size == 0)
		return;
	buf[0] = '\0';
	if (p->n_slots == 0) {
		snprintf(buf, size, "none");
		return;
	}
	size_t used = 0;
	for (size_t i = 0; i < p->n_slots; i++) {
		char at[8], days[32];
		hhmm(p->slots[i].minute, at, sizeof(at));
		days_text(p->slots[i].days, days, sizeof(days));
		int n = snprintf(buf + used, size - used, "%s%s %s%s", i ? ", " : "", at, days,
				 p->slots[i].enabled ? "" : " (off)");
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

static const char *bad(char *detail, size_t size, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static const char *bad(char *detail, size_t size, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (size)
		vsnprintf(detail, size, fmt, ap);
	va_end(ap);
	return reason;
}

struct weekly {
	int at; /* minute of the week, Monday 00:00 = 0 */
	int minute;
};

static int weekly_cmp(const void *a, const void *b)
{
	int x = ((const struct weekly *)a)->at, y = ((const struct weekly *)b)->at;
	return x < y ? -1 : x > y;
}

const char *plan_bounds_check(const struct proto_plan *p, char *detail, size_t size)
{
	char a[24], b[24];
	if (p->bound_min_interval_s > 0 && p->min_interval_s < p->bound_min_interval_s) {
		dur_text(p->min_interval_s, a, sizeof(a));
		dur_text(p->bound_min_interval_s, b, sizeof(b));
		return bad(detail, size, PROTO_REASON_OUT_OF_BOUNDS,
			   "min_interval_s %" PRId64 " (%s) is under the vet's bound %" PRId64
			   " (%s)",
			   p->min_interval_s, a, p->bound_min_interval_s, b);
	}
	if (p->bound_max_daily > 0 && p->max_daily > p->bound_max_daily)
		return bad(detail, size, PROTO_REASON_OUT_OF_BOUNDS,
			   "max_daily %d is over the vet's bound %d", p->max_daily,
			   p->bound_max_daily);
	/* The slots themselves: a plan that cannot be followed without hitting
	 * the bounds is refused up front, not missed every day. */
	struct weekly w[7 * PROTO_PLAN_SLOTS_MAX];
	size_t n = 0;
	int per_day[7] = {0};
	for (size_t i = 0; i < p->n_slots; i++) {
		if (!p->slots[i].enabled)
			continue;
		for (int d = 0; d < 7; d++) {
			if (!(p->slots[i].days >> d & 1))
				continue;
			per_day[d]++;
			w[n++] = (struct weekly){.at = d * 1440 + p->slots[i].minute,
						 .minute = p->slots[i].minute};
		}
	}
	for (int d = 0; p->bound_max_daily > 0 && d < 7; d++)
		if (per_day[d] > p->bound_max_daily)
			return bad(detail, size, PROTO_REASON_OUT_OF_BOUNDS,
				   "slots: %d enabled on %s, over the vet's bound of %d a day",
				   per_day[d], day_names[d], p->bound_max_daily);
	if (n < 2 || p->bound_min_interval_s <= 0)
		return NULL;
	qsort(w, n, sizeof(w[0]), weekly_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct weekly *x = &w[i], *y = &w[(i + 1) % n];
		int gap = y->at - x->at + (i + 1 == n ? 7 * 1440 : 0);
		if ((int64_t)gap * 60 < p->bound_min_interval_s) {
			char at1[8], at2[8], g[24];
			hhmm(x->minute, at1, sizeof(at1));
			hhmm(y->minute, at2, sizeof(at2));
			dur_text((int64_t)gap * 60, g, sizeof(g));
			dur_text(p->bound_min_interval_s, b, sizeof(b));
			return bad(detail, size, PROTO_REASON_OUT_OF_BOUNDS,
				   "slots %s (%s) and %s are %s apart, under the vet's bound %s",
				   at1, day_names[x->at / 1440], at2, g, b);
		}
	}
	return NULL;
}

static const char *range(char *detail, size_t size, const char *name, int64_t v, int64_t lo,
			 int64_t hi)
{
	if (v >= lo && v <= hi)
		return NULL;
	return bad(detail, size, PROTO_REASON_BAD_PLAN,
		   "%s %" PRId64 " is not in %" PRId64 "..%" PRId64, name, v, lo, hi);
}

const char *plan_apply(const struct proto_plan *cur, const struct proto_plan_patch *patch,
		       struct proto_plan *out, bool *changed, char *detail, size_t size)
{
	*changed = false;
	if (size)
		detail[0] = '\0';
	*out = *cur;
	if (patch->has_rev && patch->rev != cur->rev)
		return bad(detail, size, PROTO_REASON_PLAN_CHANGED,
			   "rev %" PRId64 " is not the current rev %" PRId64
			   ": read the plan again",
			   patch->rev, cur->rev);
	/* Read-only members: a client may send back the plan it read. */
	if (patch->has_bounds && (patch->bound_min_interval_s != cur->bound_min_interval_s ||
				  patch->bound_max_daily != cur->bound_max_daily))
		return bad(detail, size, PROTO_REASON_BAD_PLAN,
			   "bounds are the vet's, set only in the feeder's environment");
	if (patch->has_paused && patch->paused != cur->paused)
		return bad(detail, size, PROTO_REASON_BAD_PLAN, "paused: use pause or resume");
	if (patch->has_paused_until &&
	    patch->paused_until_ms != (cur->paused ? cur->paused_until_ms : 0))
		return bad(detail, size, PROTO_REASON_BAD_PLAN,
			   "paused_until: use pause or resume");
	if (patch->has_pills_remaining &&
	    patch->pills_remaining != (cur->has_pills ? cur->pills_remaining : -1))
		return bad(detail, size, PROTO_REASON_BAD_PLAN, "pills.remaining: use refill");
	if (patch->has_changed_by && strcmp(patch->changed_by, cur->changed_by) != 0)
		return bad(detail, size, PROTO_REASON_BAD_PLAN, "changed_by is the feeder's");
	if (patch->has_changed_at && patch->changed_at_ms != cur->changed_at_ms)
		return bad(detail, size, PROTO_REASON_BAD_PLAN, "changed_at is the feeder's");
	const char *why;
	if (patch->has_slots) {
		if (patch->n_slots > PROTO_PLAN_SLOTS_MAX)
			return bad(detail, size, PROTO_REASON_BAD_PLAN, "slots: more than %d",
				   PROTO_PLAN_SLOTS_MAX);
		for (size_t i = 0; i < patch->n_slots; i++) {
			const struct proto_plan_slot *s = &patch->slots[i];
			if (s->minute < 0 || s->minute > 1439)
				return bad(detail, size, PROTO_REASON_BAD_PLAN,
					   "slots[%zu].at: minute %d is not 00:00..23:59", i,
					   s->minute);
			if (s->days == 0 || s->days > PROTO_DAYS_DAILY)
				return bad(detail, size, PROTO_REASON_BAD_PLAN,
					   "slots[%zu].days: no day", i);
			for (size_t k = 0; k < i; k++)
				if (patch->slots[k].minute == s->minute &&
				    (patch->slots[k].days & s->days)) {
					char at[8];
					hhmm(s->minute, at, sizeof(at));
					return bad(
					    detail, size, PROTO_REASON_BAD_PLAN,
					    "slots[%zu].at: %s twice on a same day (slots[%zu])", i,
					    at, k);
				}
		}
		memcpy(out->slots, patch->slots, patch->n_slots * sizeof(out->slots[0]));
		out->n_slots = patch->n_slots;
		/* One order, so the same slots sent in another are no change. */
		qsort(out->slots, out->n_slots, sizeof(out->slots[0]), slot_cmp);
	}
	if (patch->has_min_interval) {
		if ((why = range(detail, size, "min_interval_s", patch->min_interval_s,
				 PROTO_PLAN_MIN_INTERVAL_MIN_S, PROTO_PLAN_MIN_INTERVAL_MAX_S)))
			return why;
		out->min_interval_s = patch->min_interval_s;
	}
	if (patch->has_max_daily) {
		if ((why = range(detail, size, "max_daily", patch->max_daily,
				 PROTO_PLAN_MAX_DAILY_MIN, PROTO_PLAN_MAX_DAILY_MAX)))
			return why;
		out->max_daily = patch->max_daily;
	}
	if (patch->has_grace) {
		if ((why =
			 range(detail, size, "grace_s", patch->grace_s, 0, PROTO_PLAN_GRACE_MAX_S)))
			return why;
		out->grace_s = patch->grace_s;
	}
	if (patch->has_treat_max_daily) {
		if ((why = range(detail, size, "treat.max_daily", patch->treat_max_daily, 0,
				 PROTO_PLAN_TREAT_MAX_DAILY_MAX)))
			return why;
		out->treat_max_daily = patch->treat_max_daily;
	}
	if (patch->has_treat_min_interval) {
		if ((why = range(detail, size, "treat.min_interval_s", patch->treat_min_interval_s,
				 0, PROTO_PLAN_TREAT_INTERVAL_MAX_S)))
			return why;
		out->treat_min_interval_s = patch->treat_min_interval_s;
	}
	if (patch->has_low_days) {
		if ((why = range(detail, size, "pills.low_days", patch->low_days, 0,
				 PROTO_PLAN_LOW_DAYS_MAX)))
			return why;
		out->low_days = patch->low_days;
	}
	*changed = !plan_same_rules(cur, out);
	if (!*changed) {
		*out = *cur;
		return NULL;
	}
	if ((why = plan_bounds_check(out, detail, size))) {
		*changed = false;
		return why;
	}
	return NULL;
}
