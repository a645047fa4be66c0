/*
 * plan — the care plan as the feeder's rules (docs/design.md "The care
 * plan", proto/README.md): what a plan is, how a `plan` command changes it,
 * what the vet's bounds allow, and its slots as a schedule in local time.
 * Pure: no I/O, no clock, no globals; feeder.c decides when, the journal
 * keeps it.
 *
 * The rules a plan gives are never looser than the bounds: the interval the
 * feeder holds is the larger of the plan's and the bound's, the daily
 * maximum the smaller (plan_min_interval_ms, plan_max_daily), so even a
 * plan that got outside them (bounds tightened in the environment since it
 * was journaled) cannot allow a dose they forbid.
 */
#ifndef IOD_FEEDER_PLAN_H
#define IOD_FEEDER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "schedule.h"

/* The value ranges of a plan's members are proto.h's PROTO_PLAN_* (one rule
 * for the wire and the rules; plan_merge checks them again for a patch that
 * did not come through proto's decoder). The longest pause: */
#define PLAN_PAUSE_MAX_MS (90LL * 24 * 3600 * 1000)

/* What a plan is seeded from (the environment's values, feeder_config). */
struct plan_seed {
	const struct schedule *schedule; /* every slot daily and enabled */
	int64_t min_interval_ms;
	int max_daily;
	int64_t grace_ms;
	int treat_max_daily;
	int64_t treat_min_interval_s;
	int low_days;
	int64_t bound_min_interval_ms;
	int bound_max_daily;
};

/* A plan from the seed (rev, by and at as given; not paused, no pills). */
void plan_seed(const struct plan_seed *seed, int64_t rev, const char *by, int64_t at_ms,
	       struct proto_plan *out);

/*
 * The plan cur with a command's members applied, into out (rev, changed_by
 * and changed_at left as cur's: the caller stamps a change). NULL when it
 * may be applied (*changed: whether any rule differs from cur), or the
 * reason it is refused: plan_changed (a rev given that is not cur's),
 * bad_plan (a read-only member that differs, a value out of range, two
 * slots at the same time on a same day), out_of_bounds (plan_bounds_check).
 * detail gets human text naming the member (at most PROTO_DETAIL_MAX).
 */
const char *plan_apply(const struct proto_plan *cur, const struct proto_plan_patch *patch,
		       struct proto_plan *out, bool *changed, char *detail, size_t size);

/*
 * Can the plan be followed within its bounds? NULL, or out_of_bounds with
 * detail: min_interval_s under the bound's, max_daily over it, more enabled
 * slots on one weekday than the bound's daily maximum, or two enabled slots
 * (around the week, midnight included) closer than the bound's interval.
 */
const char *plan_bounds_check(const struct proto_plan *p, char *detail, size_t size);

/* Do two plans give the same rules (slots, interval, daily maximum, grace,
 * treat limits, low_days)? Rev, pause, pills and who changed it aside. */
bool plan_same_rules(const struct proto_plan *a, const struct proto_plan *b);
bool plan_same_slots(const struct proto_plan *a, const struct proto_plan *b);

/* The rules the feeder holds: never looser than the bounds. */
int64_t plan_min_interval_ms(const struct proto_plan *p);
int plan_max_daily(const struct proto_plan *p);
int64_t plan_grace_ms(const struct proto_plan *p);

/* The enabled slots as a schedule (sorted by time of day, with weekdays). */
void plan_schedule(const struct proto_plan *p, struct schedule *out);

/* "07:00 daily, 19:00 mon,sat (off)" into buf, for logs and the journal tool. */
void plan_slots_text(const struct proto_plan *p, char *buf, size_t size);

#endif
