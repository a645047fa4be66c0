/*
 * The care plan against the clock (issue 11): skip, pause and resume with
 * the real iod-feeder and a real mosquitto, the feeder's wall clock driven by
 * libfaketime (shifted by a whole number of seconds; the monotonic clocks
 * stay real, so its timers and Paho's behave) in TZ=Europe/Berlin:
 *   - a slot skipped before local midnight stays skipped over a kill -9 and
 *     into the new day, whose schedule drops yesterday's slots, and whose
 *     state says doses_today 0 at once;
 *   - a pause until after midnight marks the slots in it paused, resume makes
 *     them pending again (a second resume: one event, nothing changed); a
 *     pause that ended while the feeder was down leaves its slots paused, a
 *     slot that passed while it was down beyond the grace is missed, and one
 *     within the grace is dosed late;
 *   - the zone's DST days: a 02:30 slot on 28 March 2027 (02:00 -> 03:00, it
 *     does not exist) is dosed at 03:00 CEST, one on 25 October 2026 (03:00
 *     -> 02:00, it exists twice) at its first occurrence only.
 * Every instant expected is written in UTC and read with timegm(), so neither
 * the test's own TZ nor the real hour plays a part. The feeder's clock is the
 * test's plus offset_s, so the test knows exactly what time the feeder sees.
 * Registered only with the forced-clock variants (IOD_FAKETIME_LIB names
 * libfaketimeMT; never under IOD_SANITIZE). Single-threaded, --jobs 1.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feeder_it.h"
#include "harness.h"
#include "proto.h"

#define T_PLAN	   "iod/home/feeder/plan"
#define T_SCHEDULE "iod/home/feeder/schedule"

static int64_t offset_s; /* the feeder's wall clock minus the real one */
static char env_preload[600], env_faketime[64];

static void setup(void)
{
	const char *lib = getenv("IOD_FAKETIME_LIB");
	cr_assert(lib && lib[0], "IOD_FAKETIME_LIB is not set (run through ctest)");
	snprintf(env_preload, sizeof(env_preload), "LD_PRELOAD=%s", lib);
	it_setup("feeder-plan-clock", NULL);
	size_t n = it_env_used;
	cr_assert_lt(n + 4, (size_t)IT_ENV_MAX);
	env[n++] = env_preload;
	env[n++] = env_faketime;
	env[n++] = "FAKETIME_DONT_FAKE_MONOTONIC=1";
	env[n++] = "TZ=Europe/Berlin";
	env[n] = NULL;
}

TestSuite(feeder_plan_clock_it, .init = setup, .fini = it_teardown, .timeout = 120);

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the feeder's wall clock reads now. */
static int64_t fake_ms(void)
{
	return real_ms() + offset_s * 1000;
}

/* "2026-12-01T23:00Z" or "2026-12-01T22:59:40Z": ms since the epoch. */
static int64_t utc(const char *iso)
{
	struct tm tm = {0};
	int sec = 0, used = 0;
	int n = sscanf(iso, "%d-%d-%dT%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		       &tm.tm_min, &used);
	cr_assert_eq(n, 5, "bad instant %s", iso);
	if (iso[used] == ':') {
		sec = atoi(iso + used + 1);
		used += 3;
	}
	cr_assert(iso[used] == 'Z' && iso[used + 1] == '\0', "bad instant %s", iso);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return ((int64_t)timegm(&tm) + sec) * 1000;
}

/* The feeder started from now on reads iso (UTC) at this moment. */
static void clock_at(const char *iso)
{
	offset_s = utc(iso) / 1000 - real_ms() / 1000;
	snprintf(env_faketime, sizeof(env_faketime), "FAKETIME=%+" PRId64, offset_s);
}

/* The steps before a slot or midnight must be done before it comes. */
static void before(const char *iso)
{
	cr_assert_lt(fake_ms(), utc(iso),
		     "this machine took too long: the steps meant for before %s "
		     "are not done by then",
		     iso);
}

static void kill_feeder(void)
{
	cr_assert_eq(harness_stop(feeder, SIGKILL, 2000), 128 + SIGKILL);
	feeder = -1;
}

static void send(const char *json)
{
	cr_assert_eq(tclient_publish_str(client, T_CMD, json, 1, false), 0);
}

static void plan(const char *id, const char *slots, int rev)
{
	char json[1024], want[32];
	snprintf(json, sizeof(json),
		 "{\"action\":\"plan\",\"id\":\"%s\",\"by\":\"ann\",\"plan\":{\"slots\":[%s],"
		 "\"min_interval_s\":3600,\"max_daily\":4,\"grace_s\":3600}}",
		 id, slots);
	send(json);
	snprintf(want, sizeof(want), "\"rev\":%d", rev);
	const char *ev = expect_event(id, "\"result\":\"ok\"", WAIT);
	cr_assert(strstr(ev, want), "%s lacks %s", ev, want);
}

/* One slot as feeder/schedule must list it; at in UTC, dose NULL for null. */
struct want {
	const char *slot, *at, *status, *dose;
};

/* NULL when s is exactly date and want[0..n), else what differs. */
static const char *schedule_differs(const struct proto_schedule *s, const char *date,
				    const struct want *want, size_t n)
{
	static char why[256];
	if (strcmp(s->date, date) != 0) {
		snprintf(why, sizeof(why), "date %s, not %s", s->date, date);
		return why;
	}
	if (s->n != n) {
		snprintf(why, sizeof(why), "%zu slots, not %zu", s->n, n);
		return why;
	}
	for (size_t i = 0; i < n; i++) {
		const struct proto_schedule_slot *o = &s->slots[i];
		const char *status = proto_slot_status_name(o->status);
		const char *dose = want[i].dose ? want[i].dose : "";
		if (strcmp(o->slot, want[i].slot) != 0 || o->at_ms != utc(want[i].at) ||
		    strcmp(status, want[i].status) != 0 || strcmp(o->dose, dose) != 0) {
			snprintf(why, sizeof(why),
				 "slot %zu is %s at %" PRId64
				 " %s dose '%s', not %s at %s (%" PRId64 ") %s dose '%s'",
				 i, o->slot, o->at_ms, status, o->dose, want[i].slot, want[i].at,
				 utc(want[i].at), want[i].status, dose);
			return why;
		}
	}
	return NULL;
}

static const char *decode_differs(const char *text, const char *date, const struct want *want,
				  size_t n)
{
	static struct proto_schedule s;
	const char *err = NULL;
	if (proto_schedule_decode(text, strlen(text), &s, &err) != 0)
		return err ? err : "undecodable";
	return schedule_differs(&s, date, want, n);
}

/* Waits up to timeout_ms for a feeder/schedule message that is exactly
 * date and want (earlier ones on the way there are passed over), then checks
 * that the broker retains it. */
static void expect_schedule(int timeout_ms, const char *date, const struct want *want, size_t n)
{
	char last[8192] = "(none)";
	const char *why = "no schedule";
	int64_t end = real_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - real_ms();
		struct tmsg *m = left > 0 ? tclient_expect(client, T_SCHEDULE, (int)left) : NULL;
		if (!m)
			cr_assert_fail("no schedule as expected within %d ms: the last was %s: %s",
				       timeout_ms, why, last);
		snprintf(last, sizeof(last), "%s", m->payload);
		why = decode_differs(m->payload, date, want, n);
		tmsg_free(m);
		if (!why)
			break;
	}
	char *text = retained(T_SCHEDULE);
	why = decode_differs(text, date, want, n);
	cr_assert_null(why, "the retained schedule: %s: %s", why, text);
	free(text);
}

/* w is now status, with dose as its dose (NULL: none). */
static void mark(struct want *w, const char *status, const char *dose)
{
	w->status = status;
	w->dose = dose;
}

/* Waits for a feeder/state with doses_today and next_scheduled (UTC, NULL:
 * null), then checks the retained copy says the same. */
static void expect_state(int doses_today, const char *next)
{
	int64_t want_next = next ? utc(next) : 0;
	char last[1024] = "(none)";
	int64_t end = real_ms() + WAIT;
	struct proto_feeder_state st;
	for (;;) {
		int64_t left = end - real_ms();
		struct tmsg *m = left > 0 ? tclient_expect(client, T_STATE, (int)left) : NULL;
		if (!m)
			cr_assert_fail("no state with doses_today %d, next_scheduled %s: the last "
				       "was %s",
				       doses_today, next ? next : "null", last);
		snprintf(last, sizeof(last), "%s", m->payload);
		const char *err = NULL;
		int rc = proto_feeder_state_decode(m->payload, m->len, &st, &err);
		tmsg_free(m);
		if (rc == 0 && st.doses_today == doses_today && st.next_scheduled_ms == want_next)
			break;
	}
	char *text = retained(T_STATE);
	const char *err = NULL;
	cr_assert_eq(proto_feeder_state_decode(text, strlen(text), &st, &err), 0, "%s", text);
	cr_assert(st.doses_today == doses_today && st.next_scheduled_ms == want_next,
		  "the retained state: %s", text);
	free(text);
}

/* No event for a scheduled dose (other than those already taken) comes
 * until the feeder's clock reads iso. */
static void no_dose_until(const char *iso)
{
	int64_t left = utc(iso) - fake_ms();
	struct tmsg *m =
	    tclient_expect_with(client, T_EVENT, "\"id\":\"schedule-", left > 0 ? (int)left : 0);
	cr_assert_null(m, "an unexpected scheduled dose: %s", m ? m->payload : "");
}

/* How many times needle occurs in the journal. */
static int in_journal(const char *needle)
{
	int n = 0;
	for (const char *p = slurp(journal, NULL); (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void pause_until(const char *id, const char *iso)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "{\"action\":\"pause\",\"id\":\"%s\",\"until\":%" PRId64 "}", id,
		 utc(iso));
	send(cmd);
}

#define DAILY(hhmm) "{\"at\":\"" hhmm "\",\"days\":\"daily\"}"

/* 1 December 2026 in Berlin is CET, UTC+1. */
Test(feeder_plan_clock_it, skip_before_midnight_kept_over_kill_9_and_into_the_new_day)
{
	/* Today's 00:00 and 08:00 had passed when they were planned: not owed.
	 * The first four are listed on 1 December, the last six from midnight. */
	struct want s[] = {{"2026-12-01T20:00", "2026-12-01T19:00Z", "pending", NULL},
			   {"2026-12-02T00:00", "2026-12-01T23:00Z", "pending", NULL},
			   {"2026-12-02T08:00", "2026-12-02T07:00Z", "pending", NULL},
			   {"2026-12-02T20:00", "2026-12-02T19:00Z", "pending", NULL},
			   {"2026-12-03T00:00", "2026-12-02T23:00Z", "pending", NULL},
			   {"2026-12-03T08:00", "2026-12-03T07:00Z", "pending", NULL},
			   {"2026-12-03T20:00", "2026-12-03T19:00Z", "pending", NULL}};

	/* Evening: the 20:00 slot is dosed on time. */
	clock_at("2026-12-01T18:59:48Z");
	start_feeder();
	plan("p1", DAILY("00:00") "," DAILY("08:00") "," DAILY("20:00"), 2);
	expect_schedule(WAIT, "2026-12-01", s, 4);
	before("2026-12-01T19:00Z");
	expect_event("schedule-2026-12-01T20:00", "\"result\":\"ok\"", 20000);
	mark(&s[0], "given", "schedule-2026-12-01T20:00");
	expect_schedule(WAIT, "2026-12-01", s, 4);
	expect_state(1, "2026-12-01T23:00Z");
	stop_feeder();

	/* Down until 20 s before midnight, then skip the next slot: 00:00. */
	clock_at("2026-12-01T22:59:40Z");
	start_feeder();
	expect_schedule(WAIT, "2026-12-01", s, 4);
	send("{\"action\":\"skip\",\"id\":\"s1\",\"by\":\"ann\"}");
	expect_event("s1", "\"result\":\"ok\"", WAIT);
	mark(&s[1], "skipped", NULL);
	expect_schedule(WAIT, "2026-12-01", s, 4);
	expect_state(1, "2026-12-02T07:00Z"); /* the next dose is 08:00's */

	/* kill -9 and start again on the same clock: still skipped, and a
	 * second skip of it is told so. */
	kill_feeder();
	start_feeder();
	expect_schedule(WAIT, "2026-12-01", s, 4);
	expect_state(1, "2026-12-02T07:00Z");
	send("{\"action\":\"skip\",\"id\":\"s2\",\"slot\":\"2026-12-02T00:00\"}");
	expect_event("s2", "\"reason\":\"slot_settled\"", WAIT);
	before("2026-12-01T23:00Z");

	/* Midnight: a new date, yesterday's slot gone, tomorrow's listed, the
	 * skipped 00:00 not dosed, and doses_today 0 at once. */
	expect_schedule(30000, "2026-12-02", s + 1, 6);
	expect_state(0, "2026-12-02T07:00Z");
	no_dose_until("2026-12-01T23:00:03Z");
	cr_assert_eq(in_journal("\"op\":\"intent\""), 1, "one dose: %s", slurp(journal, NULL));
	stop_feeder();
}

/* No slot at midnight here: the new day's schedule comes from midnight alone. */
Test(feeder_plan_clock_it, pause_over_midnight_resume_and_slots_passed_while_down)
{
	/* The first three are listed on 1 December, all six from midnight. */
	struct want s[] = {{"2026-12-02T08:00", "2026-12-02T07:00Z", "pending", NULL},
			   {"2026-12-02T12:00", "2026-12-02T11:00Z", "pending", NULL},
			   {"2026-12-02T20:00", "2026-12-02T19:00Z", "pending", NULL},
			   {"2026-12-03T08:00", "2026-12-03T07:00Z", "pending", NULL},
			   {"2026-12-03T12:00", "2026-12-03T11:00Z", "pending", NULL},
			   {"2026-12-03T20:00", "2026-12-03T19:00Z", "pending", NULL}};

	clock_at("2026-12-01T22:59:35Z"); /* 23:59:35 CET */
	start_feeder();
	plan("p1", DAILY("08:00") "," DAILY("12:00") "," DAILY("20:00"), 2);
	expect_schedule(WAIT, "2026-12-01", s, 3);

	/* Paused until 09:00 tomorrow: its slot, 08:00, paused. */
	pause_until("u1", "2026-12-02T08:00Z");
	expect_event("u1", "\"result\":\"ok\"", WAIT);
	mark(&s[0], "paused", NULL);
	expect_schedule(WAIT, "2026-12-01", s, 3);
	expect_state(0, "2026-12-02T11:00Z");
	char until[64];
	snprintf(until, sizeof(until), "\"paused\":true,\"paused_until\":%" PRId64,
		 utc("2026-12-02T08:00Z"));
	expect_msg(T_PLAN, until);

	/* Resumed: pending again. */
	send("{\"action\":\"resume\",\"id\":\"r1\"}");
	expect_event("r1", "\"result\":\"ok\"", WAIT);
	mark(&s[0], "pending", NULL);
	expect_schedule(WAIT, "2026-12-01", s, 3);
	expect_state(0, "2026-12-02T07:00Z");
	expect_msg(T_PLAN, "\"paused\":false,\"paused_until\":null");
	char *plan_text = retained(T_PLAN);

	/* Resumed again: one ok event, and the plan and schedule as they were. */
	send("{\"action\":\"resume\",\"id\":\"r2\"}");
	expect_event("r2", "\"result\":\"ok\"", WAIT);
	struct tmsg *m = tclient_expect_with(client, T_EVENT, "\"id\":\"r2\"", 1000);
	cr_assert_null(m, "a second event for r2: %s", m ? m->payload : "");
	char *now_text = retained(T_PLAN);
	cr_assert_str_eq(now_text, plan_text, "a resume when not paused changed the plan");
	free(now_text);
	free(plan_text);
	now_text = retained(T_SCHEDULE);
	const char *why = decode_differs(now_text, "2026-12-01", s, 3);
	cr_assert_null(why, "%s: %s", why, now_text);
	free(now_text);
	cr_assert_eq(in_journal("\"op\":\"resume\""), 1, "the second resume journals nothing: %s",
		     slurp(journal, NULL));

	/* Paused again until 09:00, and midnight comes: a new date, 08:00
	 * still paused, tomorrow's slots listed. */
	pause_until("u2", "2026-12-02T08:00Z");
	expect_event("u2", "\"result\":\"ok\"", WAIT);
	mark(&s[0], "paused", NULL);
	expect_schedule(WAIT, "2026-12-01", s, 3);
	before("2026-12-01T23:00Z");
	expect_schedule(30000, "2026-12-02", s, 6);
	expect_state(0, "2026-12-02T11:00Z");

	/* kill -9; down until 20:30. The pause ended at 09:00 meanwhile: 08:00
	 * is settled paused (no alert); 12:00 passed beyond the grace (1 h):
	 * missed, with an alert; 20:00 is 30 min ago, within the grace: dosed,
	 * late. */
	kill_feeder();
	clock_at("2026-12-02T19:30:00Z");
	start_feeder();
	m = tclient_expect_with(client, T_ALERT, "2026-12-02T12:00", WAIT);
	cr_assert_not_null(m, "no missed_dose alert for 12:00");
	cr_assert(strstr(m->payload, "\"code\":\"missed_dose\"") &&
		      strstr(m->payload, "\"level\":\"warning\"") &&
		      strstr(m->payload, "while the feeder was down"),
		  "%s", m->payload);
	tmsg_free(m);
	expect_event("schedule-2026-12-02T20:00", "\"result\":\"ok\"", WAIT);
	mark(&s[1], "missed", NULL);
	mark(&s[2], "late", "schedule-2026-12-02T20:00");
	expect_schedule(WAIT, "2026-12-02", s, 6);
	expect_state(1, "2026-12-03T07:00Z");
	char *p = retained(T_PLAN);
	cr_assert(strstr(p, "\"paused\":false,\"paused_until\":null"), "the pause is over: %s", p);
	free(p);
	m = tclient_expect_with(client, T_ALERT, "2026-12-02T08:00", 300);
	cr_assert_null(m, "a slot in the pause raised an alert: %s", m ? m->payload : "");
	cr_assert_eq(in_journal("\"slot\":\"2026-12-02T08:00\",\"result\":\"paused\""), 1, "%s",
		     slurp(journal, NULL));
	cr_assert_eq(in_journal("\"slot\":\"2026-12-02T12:00\",\"result\":\"missed\""), 1, "%s",
		     slurp(journal, NULL));
	cr_assert_eq(in_journal("\"op\":\"intent\""), 1, "one dose: %s", slurp(journal, NULL));
	stop_feeder();
}

/* 28 March 2027: at 02:00 CET (01:00Z) the clocks go to 03:00 CEST, so
 * 02:30 falls on 03:00 CEST, the instant of the 03:00 slot too: one dose,
 * the first slot's, which serves the other (the plan's interval is 1 h). */
Test(feeder_plan_clock_it, spring_forward_a_missing_0230_is_dosed_once_at_0300)
{
	struct want s[] = {{"2027-03-28T02:30", "2027-03-28T01:00Z", "pending", NULL},
			   {"2027-03-28T03:00", "2027-03-28T01:00Z", "pending", NULL},
			   {"2027-03-28T08:00", "2027-03-28T06:00Z", "pending", NULL},
			   {"2027-03-28T20:00", "2027-03-28T18:00Z", "pending", NULL},
			   {"2027-03-29T02:30", "2027-03-29T00:30Z", "pending", NULL},
			   {"2027-03-29T03:00", "2027-03-29T01:00Z", "pending", NULL},
			   {"2027-03-29T08:00", "2027-03-29T06:00Z", "pending", NULL},
			   {"2027-03-29T20:00", "2027-03-29T18:00Z", "pending", NULL}};

	clock_at("2027-03-28T00:59:48Z"); /* 01:59:48 CET */
	start_feeder();
	plan("p1", DAILY("02:30") "," DAILY("03:00") "," DAILY("08:00") "," DAILY("20:00"), 2);
	expect_schedule(WAIT, "2027-03-28", s, 8);
	expect_state(0, "2027-03-28T01:00Z");
	before("2027-03-28T01:00Z");
	expect_event("schedule-2027-03-28T02:30", "\"result\":\"ok\"", 20000);
	mark(&s[0], "given", "schedule-2027-03-28T02:30");
	mark(&s[1], "skipped", "schedule-2027-03-28T02:30");
	expect_schedule(WAIT, "2027-03-28", s, 8);
	expect_state(1, "2027-03-28T06:00Z");
	no_dose_until("2027-03-28T01:00:05Z");
	struct tmsg *m = tclient_expect_with(client, T_ALERT, "missed_dose", 100);
	cr_assert_null(m, "%s", m ? m->payload : "");
	cr_assert_eq(in_journal("\"op\":\"intent\""), 1, "one dose: %s", slurp(journal, NULL));
	stop_feeder();
}

/* 25 October 2026: at 03:00 CEST (01:00Z) the clocks go back to 02:00 CET,
 * so 02:30 comes at 00:30Z and again at 01:30Z. */
Test(feeder_plan_clock_it, fall_back_a_repeated_0230_is_dosed_at_its_first_occurrence_only)
{
	struct want s[] = {{"2026-10-25T02:30", "2026-10-25T00:30Z", "pending", NULL},
			   {"2026-10-25T08:00", "2026-10-25T07:00Z", "pending", NULL},
			   {"2026-10-25T20:00", "2026-10-25T19:00Z", "pending", NULL},
			   {"2026-10-26T02:30", "2026-10-26T01:30Z", "pending", NULL},
			   {"2026-10-26T08:00", "2026-10-26T07:00Z", "pending", NULL},
			   {"2026-10-26T20:00", "2026-10-26T19:00Z", "pending", NULL}};

	clock_at("2026-10-25T00:29:48Z"); /* 02:29:48 CEST */
	start_feeder();
	plan("p1", DAILY("02:30") "," DAILY("08:00") "," DAILY("20:00"), 2);
	expect_schedule(WAIT, "2026-10-25", s, 6);
	before("2026-10-25T00:30Z");
	expect_event("schedule-2026-10-25T02:30", "\"result\":\"ok\"", 20000);
	expect_state(1, "2026-10-25T07:00Z");
	stop_feeder();

	/* Started again at 02:29:50 CET, the second time that night: 02:30
	 * comes round again, and is not a slot again. */
	clock_at("2026-10-25T01:29:50Z");
	start_feeder();
	mark(&s[0], "given", "schedule-2026-10-25T02:30");
	expect_schedule(WAIT, "2026-10-25", s, 6);
	expect_state(1, "2026-10-25T07:00Z");
	no_dose_until("2026-10-25T01:30:05Z");
	cr_assert_eq(in_journal("\"op\":\"intent\""), 1, "one dose: %s", slurp(journal, NULL));
	cr_assert_eq(in_journal("\"op\":\"slot\""), 0, "no slot settled otherwise: %s",
		     slurp(journal, NULL));
	stop_feeder();
}
