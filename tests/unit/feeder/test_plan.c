/* feeder: the care plan (issue 11, slice 1): plan changes are journaled and
 * survive a restart and a journal cut anywhere; out_of_bounds, bad_plan
 * with detail, plan_changed, an unchanged plan keeps its rev; skip, pause
 * and resume against the schedule across midnight and a DST change; the
 * statuses feeder_schedule() gives. Commands as decoded structs (the JSON
 * is proto's, tested there). Injected clock, journal in a temp dir. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feeder.h"
#include "fixture.h"
#include "journal.h"
#include "plan.h"

static void setup(void)
{
	fixture_setup("plan");
	cfg.boot_id = "3f1c1c2e-0000-4000-8000-00000000000b";
}

TestSuite(plan, .init = setup, .fini = fixture_teardown);

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* The wall clock to t, the boot clock along (no clock step). */
static void at(int64_t t)
{
	now.mono_ms += t - now.wall_ms;
	now.wall_ms = t;
}

static void set_schedule(const char *text)
{
	const char *err;
	cr_assert_eq(schedule_parse(text, &cfg.schedule, &err), 0);
}

static struct proto_feeder_cmd *new_cmd(enum proto_action action, const char *id)
{
	static struct proto_feeder_cmd c;
	memset(&c, 0, sizeof(c));
	c.action = action;
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.by, sizeof(c.by), "ann");
	return &c;
}

static void run(struct feeder *f, struct proto_feeder_cmd *c, struct feeder_result *res)
{
	feeder_handle(f, c, &now, res);
	cr_assert(res->has_event, "one event per command");
	cr_assert_eq(res->action, FEEDER_DO_NOTHING);
}

static struct proto_plan_slot slot_at(int hh, int mm)
{
	return (struct proto_plan_slot){
	    .minute = hh * 60 + mm, .days = PROTO_DAYS_DAILY, .enabled = true};
}

/* A plan command: slots (n of them) and, when > 0, min interval (s) and max daily. */
static void plan_cmd(struct feeder *f, const char *id, const struct proto_plan_slot *slots,
		     size_t n, int64_t min_interval_s, int max_daily, struct feeder_result *res)
{
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_PLAN, id);
	if (slots) {
		c->plan.has_slots = true;
		memcpy(c->plan.slots, slots, n * sizeof(*slots));
		c->plan.n_slots = n;
	}
	if (min_interval_s) {
		c->plan.has_min_interval = true;
		c->plan.min_interval_s = min_interval_s;
	}
	if (max_daily) {
		c->plan.has_max_daily = true;
		c->plan.max_daily = max_daily;
	}
	run(f, c, res);
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static const struct proto_schedule_slot *find_slot(const struct proto_schedule *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->slots[i].slot, id) == 0)
			return &s->slots[i];
	return NULL;
}

static enum proto_slot_status status_of(struct feeder *f, const char *id)
{
	static struct proto_schedule s;
	feeder_schedule(f, &now, &s);
	const struct proto_schedule_slot *e = find_slot(&s, id);
	cr_assert_not_null(e, "slot %s in today's or tomorrow's schedule (%s, %zu slots)", id,
			   s.date, s.n);
	return e->status;
}

/* Tick; complete a dose it starts (ok) a second later. Returns whether one was. */
static bool tick(struct feeder *f)
{
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	if (res.action != FEEDER_DO_DOSE)
		return false;
	advance(1000);
	feeder_dose_done(f, true, NULL, &now, &res);
	return true;
}

/* ---- the plan is journaled ------------------------------------------------- */

Test(plan, first_start_seeds_rev_1_from_the_environment, .timeout = 10)
{
	set_schedule("07:00,19:00");
	struct feeder_result startup;
	struct feeder *f = start(&startup);
	cr_assert(startup.plan_changed && startup.schedule_changed, "published at start");
	const struct proto_plan *p = feeder_plan(f);
	cr_assert_eq(p->rev, 1);
	cr_assert_str_eq(p->changed_by, "env");
	cr_assert_eq(p->n_slots, 2);
	cr_assert_eq(p->slots[1].minute, 19 * 60);
	cr_assert_eq(p->slots[1].days, PROTO_DAYS_DAILY);
	cr_assert_eq(p->min_interval_s, 6 * 3600);
	cr_assert_eq(p->max_daily, 3);
	cr_assert_eq(p->grace_s, 3600);
	cr_assert_eq(p->bound_min_interval_s, 4 * 3600);
	cr_assert_eq(p->bound_max_daily, 4);
	cr_assert_eq(p->treat_max_daily, FEEDER_TREAT_MAX_DAILY_DEFAULT);
	cr_assert_not(p->has_pills);
	feeder_free(f);
	cr_assert_eq(count(slurp(jpath, NULL), "\"op\":\"plan\""), 1, "%s", slurp(jpath, NULL));
}

Test(plan, change_survives_a_restart_and_the_environment_does_not_override_it, .timeout = 10)
{
	set_schedule("07:00");
	struct feeder *f = start(NULL);
	struct feeder_result res;
	struct proto_plan_slot slots[] = {slot_at(8, 0), slot_at(20, 0)};
	plan_cmd(f, "p1", slots, 2, 8 * 3600, 2, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s %s", res.event.reason,
		     res.event.detail);
	cr_assert(res.event.has_rev);
	cr_assert_eq(res.event.rev, 2);
	cr_assert(res.plan_changed && res.schedule_changed);
	feeder_free(f);

	advance(MIN);
	f = start(NULL); /* IOD_FEEDER_SCHEDULE still says 07:00: a warning, ignored */
	const struct proto_plan *p = feeder_plan(f);
	cr_assert_eq(p->rev, 2);
	cr_assert_str_eq(p->changed_by, "ann");
	cr_assert_eq(p->n_slots, 2);
	cr_assert_eq(p->slots[0].minute, 8 * 60);
	cr_assert_eq(p->min_interval_s, 8 * 3600);
	cr_assert_eq(p->max_daily, 2);
	cr_assert_eq(feeder_next_slot_ms(f, &now), NOV26_0700 + 13 * H, "20:00 today");
	struct feeder_result dup;
	plan_cmd(f, "p1", slots, 2, 8 * 3600, 2, &dup);
	cr_assert_eq(dup.event.result, PROTO_RESULT_DUPLICATE, "the id is remembered");
	feeder_free(f);

	/* --reset-plan: the environment again, as a new rev. */
	cfg.reset_plan = true;
	f = start(NULL);
	p = feeder_plan(f);
	cr_assert_eq(p->rev, 3);
	cr_assert_str_eq(p->changed_by, "reset-plan");
	cr_assert_eq(p->n_slots, 1);
	cr_assert_eq(p->slots[0].minute, 7 * 60);
	cr_assert_eq(p->min_interval_s, 6 * 3600);
	feeder_free(f);
	cfg.reset_plan = false;
	f = start(NULL);
	cr_assert_eq(feeder_plan(f)->rev, 3, "re-seeded once, journaled");
	feeder_free(f);
}

/* Lowering the interval in the plan: the bound still holds, and a dose
 * already given counts against the new rules at once. */
Test(plan, bounds_hold_for_every_dose_whatever_the_plan, .timeout = 10)
{
	cfg.min_interval_ms = 8 * H;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose_id(f, "a1", 1000, &res), PROTO_RESULT_OK);
	plan_cmd(f, "p1", NULL, 0, 4 * 3600, 0, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	advance(3 * H);
	send(f, "{\"action\":\"feed\",\"id\":\"a2\"}", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	advance(1 * H);
	cr_assert_eq(dose_id(f, "a3", 1000, &res), PROTO_RESULT_OK, "4 h after a1: %s",
		     res.event.reason);
	feeder_free(f);

	/* The bound tightened in the environment since the plan was journaled:
	 * the bound is held, the plan stays as it was. */
	cfg.bound_min_interval_ms = 6 * H;
	advance(5 * H);
	f = start(NULL);
	cr_assert_eq(feeder_plan(f)->min_interval_s, 4 * 3600);
	send(f, "{\"action\":\"feed\",\"id\":\"a4\"}", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON, "5 h < the 6 h bound");
	feeder_free(f);
}

/* Every byte of the journal after a dose and a plan change cut off: the
 * feeder never allows a second dose early, and never loses the fsync'd
 * plan without saying so (journal_damaged, a dose assumed). */
Test(plan, a_journal_cut_at_every_byte_after_a_plan_record, .timeout = 60)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose_id(f, "a1", 1000, &res), PROTO_RESULT_OK);
	int64_t dosed = now.wall_ms - 1000;
	size_t before;
	slurp(jpath, &before);
	static char before_text[1 << 16];
	memcpy(before_text, slurp(jpath, NULL), before);
	plan_cmd(f, "p1", NULL, 0, 8 * 3600, 2, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	feeder_free(f);
	size_t len, mark_len;
	static char text[1 << 16], mark[512];
	const char *got = slurp(jpath, &len);
	memcpy(text, got, len);
	got = slurp(mpath, &mark_len);
	memcpy(mark, got, mark_len);
	cr_assert_eq(memcmp(text, before_text, before), 0, "appended");
	const char *plan_line = strstr(text + before, "\"op\":\"plan\"");
	cr_assert_not_null(plan_line);
	size_t plan_end = (size_t)(strchr(plan_line, '\n') - text); /* its newline */
	advance(2 * H);
	for (size_t cut = before; cut <= len; cut++) {
		struct feeder_image image = {text, cut, mark, mark_len};
		struct feeder_result startup;
		struct feeder *g = feeder_load_image(&cfg, &now, &image, &startup);
		cr_assert_not_null(g);
		struct proto_feeder_state st;
		feeder_state(g, &now, &st);
		const struct proto_plan *p = feeder_plan(g);
		bool damaged =
		    find_alert(&startup, PROTO_ALERT_JOURNAL_DAMAGED, PROTO_LEVEL_CRITICAL) != NULL;
		if (cut >= plan_end) { /* the plan's line is whole (its newline aside) */
			cr_assert_eq(p->rev, 2, "cut %zu: the plan is there", cut);
			cr_assert_eq(p->min_interval_s, 8 * 3600);
		} else {
			cr_assert(damaged, "cut %zu of %zu: the lost plan record is said", cut,
				  len);
		}
		if (damaged)
			cr_assert_geq(st.next_allowed_ms, now.wall_ms + 6 * H,
				      "cut %zu: a dose is assumed now", cut);
		else
			cr_assert_eq(st.next_allowed_ms, dosed + 8 * H, "cut %zu", cut);
		cr_assert_geq(st.next_allowed_ms, dosed + 6 * H, "cut %zu: never a second dose",
			      cut);
		feeder_free(g);
	}
}

/* ---- refusals ----------------------------------------------------------------- */

static void expect_rejected(const struct feeder_result *res, const char *reason, const char *detail)
{
	cr_assert_eq(res->event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res->event.reason, reason);
	cr_assert(strstr(res->event.detail, detail) != NULL, "detail '%s' names '%s'",
		  res->event.detail, detail);
	cr_assert_not(res->plan_changed);
}

Test(plan, out_of_bounds_with_detail, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	plan_cmd(f, "b1", NULL, 0, 7200, 0, &res);
	expect_rejected(&res, PROTO_REASON_OUT_OF_BOUNDS,
			"min_interval_s 7200 (2 h) is under the vet's bound 14400 (4 h)");
	plan_cmd(f, "b2", NULL, 0, 0, 5, &res);
	expect_rejected(&res, PROTO_REASON_OUT_OF_BOUNDS, "max_daily 5 is over the vet's bound 4");
	/* The slots themselves cannot be followed within the bounds. */
	struct proto_plan_slot five[] = {slot_at(0, 0), slot_at(5, 0), slot_at(10, 0),
					 slot_at(15, 0), slot_at(20, 0)};
	plan_cmd(f, "b3", five, 5, 0, 0, &res);
	expect_rejected(&res, PROTO_REASON_OUT_OF_BOUNDS,
			"slots: 5 enabled on mon, over the vet's bound of 4 a day");
	struct proto_plan_slot close[] = {slot_at(7, 0), slot_at(9, 0)};
	plan_cmd(f, "b4", close, 2, 0, 0, &res);
	expect_rejected(&res, PROTO_REASON_OUT_OF_BOUNDS,
			"slots 07:00 (mon) and 09:00 are 2 h apart, under the vet's bound 4 h");
	/* Across midnight, and across the week's end (Sunday 23:00, Monday 01:00). */
	struct proto_plan_slot night[] = {slot_at(23, 0), slot_at(1, 0)};
	plan_cmd(f, "b5", night, 2, 0, 0, &res);
	expect_rejected(&res, PROTO_REASON_OUT_OF_BOUNDS, "and 01:00 are 2 h apart");
	struct proto_plan_slot week[] = {{23 * 60, 1 << 6, true}, {60, 1 << 0, true}};
	plan_cmd(f, "b6", week, 2, 0, 0, &res);
	expect_rejected(&res, PROTO_REASON_OUT_OF_BOUNDS, "slots 23:00 (sun) and 01:00");
	/* The same slots on other days, or one of them disabled: fine. */
	struct proto_plan_slot apart[] = {{23 * 60, 1 << 6, true}, {60, 1 << 2, true}};
	plan_cmd(f, "b7", apart, 2, 0, 0, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.detail);
	struct proto_plan_slot off[] = {slot_at(7, 0), {9 * 60, PROTO_DAYS_DAILY, false}};
	plan_cmd(f, "b8", off, 2, 0, 0, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.detail);
	cr_assert_eq(feeder_plan(f)->rev, 3);
	feeder_free(f);
}

Test(plan, bad_plan_names_the_member, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	plan_cmd(f, "c1", NULL, 0, 604801, 0, &res);
	expect_rejected(&res, PROTO_REASON_BAD_PLAN, "min_interval_s 604801 is not in 1..604800");
	plan_cmd(f, "c2", NULL, 0, 0, 49, &res);
	expect_rejected(&res, PROTO_REASON_BAD_PLAN, "max_daily 49 is not in 1..48");
	struct proto_plan_slot twice[] = {{7 * 60, 0x01, true}, {7 * 60, 0x03, true}};
	plan_cmd(f, "c3", twice, 2, 0, 0, &res);
	expect_rejected(&res, PROTO_REASON_BAD_PLAN, "slots[1].at: 07:00 twice on a same day");
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_PLAN, "c4");
	c->plan.has_bounds = true;
	c->plan.bound_min_interval_s = 3600;
	c->plan.bound_max_daily = 4;
	run(f, c, &res);
	expect_rejected(&res, PROTO_REASON_BAD_PLAN, "bounds are the vet's");
	/* Read-only members sent back unchanged are fine (the plan as read). */
	const struct proto_plan *p = feeder_plan(f);
	c = new_cmd(PROTO_ACTION_PLAN, "c5");
	c->plan.has_bounds = true;
	c->plan.bound_min_interval_s = p->bound_min_interval_s;
	c->plan.bound_max_daily = p->bound_max_daily;
	c->plan.has_paused = c->plan.has_paused_until = c->plan.has_pills_remaining = true;
	c->plan.pills_remaining = -1;
	c->plan.has_changed_by = c->plan.has_changed_at = true;
	snprintf(c->plan.changed_by, sizeof(c->plan.changed_by), "%s", p->changed_by);
	c->plan.changed_at_ms = p->changed_at_ms;
	c->plan.has_max_daily = true;
	c->plan.max_daily = 2;
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s: %s", res.event.reason,
		     res.event.detail);
	cr_assert_eq(res.event.rev, 2);
	c = new_cmd(PROTO_ACTION_PLAN, "c6");
	c->plan.has_pills_remaining = true;
	c->plan.pills_remaining = 30;
	run(f, c, &res);
	expect_rejected(&res, PROTO_REASON_BAD_PLAN, "pills.remaining: use refill");
	/* A refusal is remembered like any: a resend is a duplicate. */
	plan_cmd(f, "c1", NULL, 0, 30, 0, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(res.event.reason, "rejected:bad_plan");
	cr_assert_eq(feeder_plan(f)->rev, 2);
	feeder_free(f);
}

Test(plan, stale_rev_is_plan_changed_and_unchanged_plan_keeps_its_rev, .timeout = 10)
{
	set_schedule("07:00");
	struct feeder *f = start(NULL);
	struct feeder_result res;
	/* Two carers read rev 1; the first changes it, the second is told. */
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_PLAN, "ann-1");
	c->plan.has_rev = true;
	c->plan.rev = 1;
	c->plan.has_grace = true;
	c->plan.grace_s = 1800;
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert_eq(res.event.rev, 2);
	c = new_cmd(PROTO_ACTION_PLAN, "bob-1");
	c->plan.has_rev = true;
	c->plan.rev = 1;
	c->plan.has_grace = true;
	c->plan.grace_s = 7200;
	run(f, c, &res);
	expect_rejected(&res, PROTO_REASON_PLAN_CHANGED, "rev 1 is not the current rev 2");
	cr_assert_eq(feeder_plan(f)->grace_s, 1800, "not silently overwritten");
	size_t plans = count(slurp(jpath, NULL), "\"op\":\"plan\"");
	/* The same members again, slots in another order included: ok, rev 2. */
	struct proto_plan_slot same[] = {slot_at(7, 0)};
	c = new_cmd(PROTO_ACTION_PLAN, "ann-2");
	c->plan.has_grace = true;
	c->plan.grace_s = 1800;
	c->plan.has_slots = true;
	c->plan.slots[0] = same[0];
	c->plan.n_slots = 1;
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert(res.event.has_rev);
	cr_assert_eq(res.event.rev, 2, "no new rev");
	cr_assert_not(res.plan_changed);
	cr_assert_eq(count(slurp(jpath, NULL), "\"op\":\"plan\""), plans, "no plan record");
	feeder_free(f);
}

/* ---- skip, pause, resume ---------------------------------------------------------- */

Test(plan, skip_and_pause_across_midnight, .timeout = 10)
{
	set_schedule("07:00,23:30");
	at(NOV26_0700 + 15 * H); /* Thu 26 Nov, 22:00 */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_not(tick(f));
	/* skip without a slot: the next pending one, tonight's 23:30 */
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_SKIP, "s1");
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.reason);
	cr_assert(res.schedule_changed);
	cr_assert_eq(status_of(f, "2026-11-26T23:30"), PROTO_SLOT_SKIPPED);
	c = new_cmd(PROTO_ACTION_SKIP, "s2");
	snprintf(c->slot, sizeof(c->slot), "2026-11-26T23:30");
	run(f, c, &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_SLOT_SETTLED);
	c = new_cmd(PROTO_ACTION_SKIP, "s3");
	snprintf(c->slot, sizeof(c->slot), "2026-11-26T21:00");
	run(f, c, &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_UNKNOWN_SLOT);
	c = new_cmd(PROTO_ACTION_SKIP, "s4");
	snprintf(c->slot, sizeof(c->slot), "2026-11-28T07:00"); /* not today or tomorrow */
	run(f, c, &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_UNKNOWN_SLOT);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_scheduled_ms, NOV26_0700 + 24 * H, "the skipped slot is not next");

	/* Pause until tomorrow 08:00: tomorrow's 07:00 is paused. */
	c = new_cmd(PROTO_ACTION_PAUSE, "p1");
	c->until_ms = NOV26_0700 + 25 * H;
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert(res.plan_changed);
	cr_assert(feeder_plan(f)->paused);
	cr_assert_eq(feeder_plan(f)->paused_until_ms, NOV26_0700 + 25 * H);
	cr_assert_eq(status_of(f, "2026-11-27T07:00"), PROTO_SLOT_PAUSED);
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_scheduled_ms, NOV26_0700 + 24 * H + 16 * H + 30 * MIN,
		     "tomorrow 23:30, after the pause");
	cr_assert_eq(feeder_next_event_ms(f, &now), NOV26_0700 + 16 * H + 30 * MIN,
		     "the timer still wakes for the skipped slot");

	/* 23:30: skipped, no dose. Restart at midnight: still skipped. */
	at(NOV26_0700 + 16 * H + 30 * MIN);
	cr_assert_not(tick(f), "skipped by command");
	feeder_free(f);
	at(NOV26_0700 + 17 * H); /* Fri 00:00 */
	f = start(NULL);
	cr_assert_not(tick(f));
	struct proto_schedule sched;
	feeder_schedule(f, &now, &sched);
	cr_assert_str_eq(sched.date, "2026-11-27");
	cr_assert_eq(sched.n, 4, "today's and tomorrow's");
	cr_assert_str_eq(sched.slots[0].slot, "2026-11-27T07:00");
	cr_assert_eq(sched.slots[0].status, PROTO_SLOT_PAUSED, "the pause survived the restart");
	cr_assert_str_eq(sched.slots[3].slot, "2026-11-28T23:30");
	cr_assert(feeder_plan(f)->paused);

	/* 07:00: paused, no dose, no missed_dose alert. */
	at(NOV26_0700 + 24 * H);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(res.n_alerts, 0);
	cr_assert_eq(status_of(f, "2026-11-27T07:00"), PROTO_SLOT_PAUSED);
	/* A manual dose still works while paused. */
	cr_assert_eq(dose_id(f, "by-hand", 1000, &res), PROTO_RESULT_OK);
	/* 08:00: the pause ends by itself. */
	at(NOV26_0700 + 25 * H);
	feeder_schedule_tick(f, &now, &res);
	cr_assert(res.plan_changed, "the plan says it is no longer paused");
	cr_assert_not(feeder_plan(f)->paused);
	c = new_cmd(PROTO_ACTION_RESUME, "r1");
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "resume when not paused: ok");
	cr_assert_not(res.plan_changed, "nothing changes");
	/* Pause until resume, then resume. */
	c = new_cmd(PROTO_ACTION_PAUSE, "p2");
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert(feeder_plan(f)->paused);
	cr_assert_eq(feeder_plan(f)->paused_until_ms, 0);
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_scheduled_ms, 0, "nothing scheduled until resume");
	c = new_cmd(PROTO_ACTION_RESUME, "r2");
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert_not(feeder_plan(f)->paused);
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_scheduled_ms, NOV26_0700 + 40 * H + 30 * MIN);
	/* until in the past, or more than 90 days ahead: bad_until */
	c = new_cmd(PROTO_ACTION_PAUSE, "p3");
	c->until_ms = now.wall_ms - 1;
	run(f, c, &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BAD_UNTIL);
	c = new_cmd(PROTO_ACTION_PAUSE, "p4");
	c->until_ms = now.wall_ms + 91 * 24 * H;
	run(f, c, &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BAD_UNTIL);
	feeder_free(f);
}

/* Europe/London springs forward on Sunday 2027-03-28 at 01:00 GMT: the
 * 01:30 slot falls on 02:00 BST (01:00 UTC). Skipped the evening before, it
 * stays skipped through a restart and the change. */
Test(plan, skip_across_a_dst_change, .timeout = 10)
{
	use_tz("Europe/London");
	set_schedule("01:30,13:30");
	const int64_t mar27_2000 = 1806177600000LL; /* Sat 2027-03-27 20:00 GMT */
	const int64_t mar28_0100utc = mar27_2000 + 5 * H;
	at(mar27_2000);
	struct feeder *f = start(NULL);
	struct feeder_result res;
	struct proto_schedule sched;
	feeder_schedule(f, &now, &sched);
	const struct proto_schedule_slot *e = find_slot(&sched, "2027-03-28T01:30");
	cr_assert_not_null(e);
	cr_assert_eq(e->at_ms, mar28_0100utc, "the first instant after the gap");
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_SKIP, "s1");
	snprintf(c->slot, sizeof(c->slot), "2027-03-28T01:30");
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.reason);
	feeder_free(f);
	at(mar28_0100utc + 30 * MIN); /* 02:30 BST */
	f = start(NULL);
	cr_assert_not(tick(f), "skipped stays skipped after a restart");
	cr_assert_eq(status_of(f, "2027-03-28T01:30"), PROTO_SLOT_SKIPPED);
	at(mar28_0100utc + 11 * H); /* 13:00 BST = 12:00 UTC + 30 min */
	advance(30 * MIN);
	cr_assert(tick(f), "13:30 BST dosed");
	cr_assert_eq(status_of(f, "2027-03-28T13:30"), PROTO_SLOT_GIVEN);
	feeder_free(f);
}

/* Berlin springs forward on 2027-03-28 at 02:00 CET (01:00 UTC): a 02:30
 * slot falls on 03:00 CEST, the instant of the 03:00 slot. Two slots at one
 * instant are one dose: the first is dosed on time, the second is served by
 * it; neither is missed, and no missed_dose alert says the feeder was down. */
Test(plan, two_slots_on_one_instant_in_the_spring_forward_gap, .timeout = 10)
{
	cfg.bound_min_interval_ms = MIN; /* a vet's bound loose enough for 02:30 and 03:00 */
	cfg.min_interval_ms = 20 * MIN;
	set_schedule("02:30,03:00,12:00");
	const int64_t mar28_0100utc = 1806195600000LL; /* 03:00 CEST */
	at(mar28_0100utc - 2 * H);
	struct feeder *f = start(NULL);
	struct feeder_result res;
	at(mar28_0100utc - 1);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	at(mar28_0100utc);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "one dose at 03:00 CEST");
	cr_assert_null(find_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING), "%s",
		       res.n_alerts ? res.alerts[0].message : "");
	advance(1000);
	feeder_dose_done(f, true, NULL, &now, &res);
	cr_assert_str_eq(res.event.id, "schedule-2027-03-28T02:30", "the first slot's dose");
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING, "never a second dose");
	cr_assert_null(find_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING));
	struct proto_schedule sched;
	feeder_schedule(f, &now, &sched);
	const struct proto_schedule_slot *e = find_slot(&sched, "2027-03-28T02:30");
	cr_assert_eq(e->status, PROTO_SLOT_GIVEN);
	cr_assert_eq(e->at_ms, mar28_0100utc);
	e = find_slot(&sched, "2027-03-28T03:00");
	cr_assert_eq(e->status, PROTO_SLOT_SKIPPED, "served by the 02:30 dose");
	cr_assert_eq(e->at_ms, mar28_0100utc);
	cr_assert_str_eq(e->dose, "schedule-2027-03-28T02:30");
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.doses_today, 1);
	cr_assert_eq(st.next_scheduled_ms, mar28_0100utc + 9 * H, "12:00 CEST");
	/* Restarted: both stay settled, nothing is dosed again. */
	feeder_free(f);
	advance(MIN);
	f = start(NULL);
	cr_assert_not(tick(f));
	cr_assert_eq(status_of(f, "2027-03-28T02:30"), PROTO_SLOT_GIVEN);
	cr_assert_eq(status_of(f, "2027-03-28T03:00"), PROTO_SLOT_SKIPPED);
	feeder_free(f);
}

/* What feeder_schedule() says matches what happened: given, late, skipped
 * (served by a manual dose before), missed, failed, uncertain. */
Test(plan, statuses_match_what_happened, .timeout = 10)
{
	set_schedule("07:00,15:00,23:00");
	cfg.max_daily = 4;
	cfg.min_interval_ms = 4 * H;
	cfg.grace_ms = 90 * MIN;
	at(NOV26_0700 - 7 * H); /* Thu 00:00 */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	at(NOV26_0700);
	cr_assert(tick(f));
	cr_assert_eq(status_of(f, "2026-11-26T07:00"), PROTO_SLOT_GIVEN);
	/* A manual dose at 12:00 serves 15:00 (within the 4 h interval). */
	at(NOV26_0700 + 5 * H);
	cr_assert_eq(dose_id(f, "noon", 1000, &res), PROTO_RESULT_OK, "%s", res.event.reason);
	at(NOV26_0700 + 8 * H);
	cr_assert_not(tick(f));
	struct proto_schedule sched;
	feeder_schedule(f, &now, &sched);
	const struct proto_schedule_slot *e = find_slot(&sched, "2026-11-26T15:00");
	cr_assert_eq(e->status, PROTO_SLOT_SKIPPED);
	cr_assert_str_eq(e->dose, "noon");
	cr_assert_eq(status_of(f, "2026-11-26T23:00"), PROTO_SLOT_PENDING);
	/* 23:00: the servo fails. */
	at(NOV26_0700 + 16 * H);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	advance(1000);
	feeder_dose_done(f, false, "servo: EIO", &now, &res);
	cr_assert_eq(status_of(f, "2026-11-26T23:00"), PROTO_SLOT_FAILED);
	/* Down from 06:00 to 07:45 Friday: 07:00 given late (grace 90 min). */
	feeder_free(f);
	at(NOV26_0700 + 24 * H + 45 * MIN);
	f = start(NULL);
	cr_assert(tick(f));
	cr_assert_eq(status_of(f, "2026-11-27T07:00"), PROTO_SLOT_LATE);
	/* 15:00: the feeder dies mid-dose; restarted: uncertain. */
	at(NOV26_0700 + 32 * H);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
	advance(MIN);
	f = start(NULL);
	cr_assert_eq(status_of(f, "2026-11-27T15:00"), PROTO_SLOT_UNCERTAIN);
	/* Down over 23:00 until Saturday 01:00, beyond the grace: missed. */
	feeder_free(f);
	at(NOV26_0700 + 42 * H);
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_not_null(find_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING));
	feeder_schedule(f, &now, &sched);
	cr_assert_str_eq(sched.date, "2026-11-28");
	at(now.wall_ms - 2 * H); /* the schedule as Friday 23:00 saw it */
	cr_assert_eq(status_of(f, "2026-11-27T23:00"), PROTO_SLOT_MISSED);
	feeder_free(f);
}

/* A slot moved to an hour already dosed is not a second dose; a slot moved
 * to an hour already past is not a dose owed. */
Test(plan, moving_a_slot_never_doses_a_period_twice, .timeout = 10)
{
	set_schedule("07:00");
	cfg.grace_ms = 3 * H;
	at(NOV26_0700 - 60 * MIN);
	struct feeder *f = start(NULL);
	at(NOV26_0700);
	cr_assert(tick(f));
	struct feeder_result res;
	struct proto_plan_slot later[] = {slot_at(9, 0)};
	at(NOV26_0700 + 30 * MIN);
	plan_cmd(f, "m1", later, 1, 0, 0, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	at(NOV26_0900);
	cr_assert_not(tick(f), "09:00 is served by the 07:00 dose");
	cr_assert_eq(status_of(f, "2026-11-26T09:00"), PROTO_SLOT_SKIPPED);
	/* Moved back to 08:00 at 10:00 (past), restarted at 10:30 with a
	 * 3 h grace: 08:00 is not owed. */
	struct proto_plan_slot earlier[] = {slot_at(8, 0)};
	at(NOV26_0900 + H);
	plan_cmd(f, "m2", earlier, 1, 0, 0, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	feeder_free(f);
	advance(30 * MIN);
	f = start(NULL);
	cr_assert_not(tick(f));
	struct proto_schedule sched;
	feeder_schedule(f, &now, &sched);
	cr_assert_null(find_slot(&sched, "2026-11-26T08:00"), "not planned when it came");
	cr_assert_str_eq(sched.slots[0].slot, "2026-11-27T08:00");
	feeder_free(f);
}

Test(plan, refill_counts_pills_down_and_says_when_out, .timeout = 10)
{
	set_schedule("07:00,19:00");
	cfg.min_interval_ms = 4 * H;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_REFILL, "f1");
	c->pills = 12;
	run(f, c, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert(res.plan_changed);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert(st.has_pills);
	cr_assert_eq(st.pills_remaining, 12);
	cr_assert_eq(st.runs_out_ms, now.wall_ms + 6 * 24 * H, "2 a day");
	/* 12 -> 9: under 5 days (10 pills) once */
	int lows = 0;
	for (int i = 0; i < 3; i++) {
		send(f, "feed", &res);
		lows += find_alert(&res, PROTO_ALERT_LOW_STOCK, PROTO_LEVEL_WARNING) != NULL;
		advance(1000);
		feeder_dose_done(f, true, NULL, &now, &res);
		advance(5 * H);
	}
	cr_assert_eq(lows, 1);
	cr_assert_eq(feeder_plan(f)->pills_remaining, 9);
	feeder_free(f);
	f = start(NULL);
	cr_assert_eq(feeder_plan(f)->pills_remaining, 9, "counted from the journal");
	c = new_cmd(PROTO_ACTION_REFILL, "f2");
	c->pills = 1;
	run(f, c, &res);
	advance(5 * H);
	send(f, "feed", &res);
	cr_assert_not_null(find_alert(&res, PROTO_ALERT_OUT_OF_STOCK, PROTO_LEVEL_CRITICAL));
	feeder_dose_done(f, true, NULL, &now, &res);
	advance(5 * H);
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "a dose is still attempted at zero");
	cr_assert_null(find_alert(&res, PROTO_ALERT_OUT_OF_STOCK, PROTO_LEVEL_CRITICAL), "once");
	feeder_dose_done(f, true, NULL, &now, &res);
	c = new_cmd(PROTO_ACTION_REFILL, "f3");
	c->pills = 100001;
	run(f, c, &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BAD_PILLS);
	feeder_free(f);
}

/* A compaction keeps the plan, the pause, the skips and the pill count. */
Test(plan, compaction_keeps_the_plan_pause_skips_and_pills, .timeout = 30)
{
	set_schedule("07:00,19:00");
	cfg.compact_bytes = 4096;
	at(NOV26_0900);
	struct feeder *f = start(NULL);
	struct feeder_result res;
	struct proto_plan_slot slots[] = {slot_at(7, 0), slot_at(19, 0)};
	plan_cmd(f, "p1", slots, 2, 5 * 3600, 2, &res);
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_SKIP, "s1");
	run(f, c, &res);
	c = new_cmd(PROTO_ACTION_PAUSE, "z1");
	c->until_ms = NOV26_0900 + 48 * H;
	run(f, c, &res);
	c = new_cmd(PROTO_ACTION_REFILL, "f1");
	c->pills = 40;
	run(f, c, &res);
	cr_assert_eq(dose_id(f, "a1", 1000, &res), PROTO_RESULT_OK);
	char id[32];
	for (int i = 0; i < 80; i++) { /* refusals, to grow the journal */
		snprintf(id, sizeof(id), "too-soon-%d", i);
		dose_id(f, id, 1000, &res);
	}
	feeder_free(f);
	f = start(NULL); /* compacts at start: over the limit */
	struct feeder_stats stats;
	feeder_get_stats(f, &stats);
	cr_assert_eq(stats.compactions, 1);
	cr_assert_eq(count(slurp(jpath, NULL), "\"compacted\":true"), 1);
	feeder_free(f);
	f = start(NULL);
	const struct proto_plan *p = feeder_plan(f);
	cr_assert_eq(p->rev, 2);
	cr_assert_eq(p->min_interval_s, 5 * 3600);
	cr_assert(p->paused);
	cr_assert_eq(p->paused_until_ms, NOV26_0900 + 48 * H);
	cr_assert_eq(p->pills_remaining, 39);
	cr_assert_eq(status_of(f, "2026-11-26T19:00"), PROTO_SLOT_SKIPPED);
	feeder_free(f);
}

Test(plan, config_check_names_the_setting, .timeout = 10)
{
	char why[200];
	cr_assert_eq(feeder_config_check(&cfg, why, sizeof(why)), 0);
	cfg.min_interval_ms = 2 * H;
	cr_assert_eq(feeder_config_check(&cfg, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "IOD_FEEDER_MIN_INTERVAL 7200 s is under the vet's bound "
			      "IOD_FEEDER_BOUND_MIN_INTERVAL 14400 s");
	cfg.min_interval_ms = 6 * H;
	cfg.max_daily = 5;
	cr_assert_eq(feeder_config_check(&cfg, why, sizeof(why)), -1);
	cr_assert(strstr(why, "IOD_FEEDER_MAX_DAILY 5 is over") != NULL, "%s", why);
	cfg.max_daily = 3;
	set_schedule("07:00,09:00");
	cr_assert_eq(feeder_config_check(&cfg, why, sizeof(why)), -1);
	cr_assert(strstr(why, "IOD_FEEDER_SCHEDULE: slots 07:00") != NULL, "%s", why);
}

/* The plan's record damaged: the marker (written after every fsync'd
 * record) still says which rules were held, and a start holds them as a new
 * rev, so a damaged journal never loosens the interval. */
Test(plan, a_damaged_plan_record_never_loosens_the_rules, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	plan_cmd(f, "p1", NULL, 0, 10 * 3600, 0, &res);
	cr_assert_eq(res.event.rev, 2);
	cr_assert(strstr(slurp(mpath, NULL), "\"plan\":2,\"interval\":36000000,\"daily\":3") !=
		      NULL,
		  "the marker: %s", slurp(mpath, NULL));
	feeder_free(f);
	size_t n;
	char *text = slurp(jpath, &n);
	char *p = strstr(text, "\"min_interval_s\":36000");
	cr_assert_not_null(p);
	p[17] = '1'; /* 36000 -> 16000: the crc no longer matches */
	put_bytes(jpath, text, n);
	advance(MIN);
	struct feeder_result startup;
	f = start(&startup);
	cr_assert_not_null(find_alert(&startup, PROTO_ALERT_JOURNAL_DAMAGED, PROTO_LEVEL_CRITICAL));
	const struct proto_plan *plan = feeder_plan(f);
	cr_assert_eq(plan->min_interval_s, 10 * 3600, "held from the marker");
	cr_assert_eq(plan->rev, 3, "a new rev past the marker's");
	cr_assert_str_eq(plan->changed_by, "journal");
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_allowed_ms, now.wall_ms + 10 * H, "the assumed dose holds 10 h");
	feeder_free(f);
	f = start(NULL); /* journaled: the next start keeps it */
	cr_assert_eq(feeder_plan(f)->min_interval_s, 10 * 3600);
	feeder_free(f);
}

/* iod-feeder-journal check says what the journal holds of the plan. */
Test(plan, the_journal_check_describes_the_plan, .timeout = 10)
{
	set_schedule("07:00");
	struct feeder *f = start(NULL);
	struct feeder_result res;
	struct proto_plan_slot slots[] = {slot_at(8, 0), {20 * 60, 0x41, false}};
	plan_cmd(f, "p1", slots, 2, 8 * 3600, 2, &res);
	struct proto_feeder_cmd *c = new_cmd(PROTO_ACTION_SKIP, "s1");
	run(f, c, &res);
	c = new_cmd(PROTO_ACTION_PAUSE, "z1");
	run(f, c, &res);
	c = new_cmd(PROTO_ACTION_REFILL, "f1");
	c->pills = 30;
	run(f, c, &res);
	feeder_free(f);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	cr_assert_eq(feeder_repair_journal(&cfg, &now, false, out), 0, "sound");
	fclose(out);
	cr_assert(strstr(buf,
			 "plan rev 2 by ann at 2026-11-26 09:00:00 CET: slots 08:00 daily, "
			 "20:00 mon,sun (off); interval 28800 s, 2 a day, grace 3600 s "
			 "(bounds 14400 s, 4 a day)\n"
			 "paused until resume\n1 slots skipped by command\npills: 30 left\n") !=
		      NULL,
		  "%s", buf);
	free(buf);
}

/* A journal written before plans (format 2: init, a dose; a marker without
 * the plan's rules) loads as it was: its dose counts, its lines stay, and
 * the plan is seeded as rev 1 after them. */
Test(plan, a_journal_from_before_plans_loads_and_is_seeded, .timeout = 10)
{
	struct journal_rec r[3] = {
	    {.op = JOURNAL_INIT, .seq = 1, .ts_ms = NOV26_0700 - 24 * H},
	    {.op = JOURNAL_INTENT, .seq = 2, .ts_ms = NOV26_0700, .id = "old-1", .by = "ann"},
	    {.op = JOURNAL_DONE,
	     .seq = 3,
	     .ts_ms = NOV26_0700 + 1000,
	     .id = "old-1",
	     .result = "ok"},
	};
	static char text[4096];
	size_t len = 0;
	for (int i = 0; i < 3; i++) {
		char *line = journal_encode(&r[i]);
		cr_assert_not_null(line);
		cr_assert(strstr(line, "\"plan\"") == NULL);
		memcpy(text + len, line, strlen(line));
		len += strlen(line);
		free(line);
	}
	put_bytes(jpath, text, len);
	struct journal_mark m = {.created_ms = NOV26_0700 - 24 * H, .seq = 3};
	char *mark = journal_mark_encode(&m);
	cr_assert(strstr(mark, "plan") == NULL, "an older marker: %s", mark);
	put_file(mpath, mark);
	free(mark);
	set_schedule("07:00,15:00");
	struct feeder_result startup;
	struct feeder *f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0, "no damage: %s",
		     startup.n_alerts ? startup.alerts[0].message : "");
	cr_assert_eq(feeder_plan(f)->rev, 1);
	cr_assert_str_eq(feeder_plan(f)->changed_by, "env");
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.last_dose_ms, NOV26_0700);
	cr_assert_eq(st.next_allowed_ms, NOV26_0700 + 6 * H);
	feeder_free(f);
	size_t n;
	const char *after = slurp(jpath, &n);
	cr_assert_eq(memcmp(after, text, len), 0, "the old lines as they were");
	cr_assert(strncmp(after + len, "{\"seq\":4,\"op\":\"plan\"", 20) == 0, "%s", after + len);
	cr_assert(strstr(slurp(mpath, NULL), "\"plan\":1,\"interval\":21600000,\"daily\":3") !=
		  NULL);
}

/* The README's shell lines, as the feeder gets them (proto's decoder). */
Test(plan, the_readme_commands_through_the_decoder, .timeout = 10)
{
	set_schedule("07:00");
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f,
	     "{\"action\":\"plan\",\"id\":\"ann-7\",\"by\":\"ann\",\"plan\":{\"rev\":1,\"slots\":[{"
	     "\"at\":"
	     "\"08:00\",\"days\":\"daily\"},{\"at\":\"20:00\",\"days\":[\"mon\",\"fri\"]}],"
	     "\"min_interval_s\":28800}}",
	     &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s %s", res.event.reason,
		     res.event.detail);
	cr_assert_eq(res.event.rev, 2);
	const struct proto_plan *p = feeder_plan(f);
	cr_assert_eq(p->n_slots, 2);
	cr_assert_eq(p->slots[1].days, 0x11, "mon and fri");
	send(f, "{\"action\":\"skip\",\"id\":\"ann-8\",\"by\":\"ann\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.reason);
	char cmd[160];
	snprintf(cmd, sizeof(cmd),
		 "{\"action\":\"pause\",\"id\":\"ann-9\",\"by\":\"ann\",\"until\":%lld}",
		 (long long)(now.wall_ms + 24 * H));
	send(f, cmd, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.reason);
	cr_assert(feeder_plan(f)->paused);
	send(f, "{\"action\":\"resume\",\"id\":\"ann-10\",\"by\":\"ann\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.reason);
	send(f, "{\"action\":\"refill\",\"id\":\"ann-11\",\"by\":\"ann\",\"pills\":60}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK, "%s", res.event.reason);
	cr_assert_eq(feeder_plan(f)->pills_remaining, 60);
	/* A member the decoder refuses: bad_plan with its detail, echoed. */
	send(f,
	     "{\"action\":\"plan\",\"id\":\"ann-12\",\"plan\":{\"slots\":[{\"at\":\"25:00\","
	     "\"days\":"
	     "\"daily\"}]}}",
	     &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BAD_PLAN);
	cr_assert(strstr(res.event.detail, "slots[0].at") != NULL, "detail: %s", res.event.detail);
	feeder_free(f);
}
