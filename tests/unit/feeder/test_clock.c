/* feeder: clock health (issue 11): state's clock_synced is what the caller's
 * now says; an unsynchronised clock raises clock_unsynced (warning) once per
 * boot, naming the local time the feeder believes (under the TZ the test
 * sets), also across a restart in the same boot; the rules are unchanged
 * while unsynced; a wall clock stepped forward (NTP's first sync) doses a
 * slot it lands on, misses one it jumped over, and never shortens the
 * interval. Injected clock, journal in a temp dir. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feeder.h"
#include "fixture.h"

#define BOOT  "3f1c1c2e-0000-4000-8000-00000000c10c"
#define BOOT2 "3f1c1c2e-0000-4000-8000-00000000c10d"

static void setup(void)
{
	fixture_setup("clock");
	cfg.boot_id = BOOT;
}

TestSuite(clock, .init = setup, .fini = fixture_teardown);

static size_t count_code(const struct feeder_result *res, const char *code)
{
	size_t n = 0;
	for (size_t i = 0; i < res->n_alerts; i++)
		n += strcmp(res->alerts[i].code, code) == 0;
	return n;
}

static bool state_synced(struct feeder *f)
{
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	return st.clock_synced;
}

Test(clock, state_says_what_the_clock_reading_says, .timeout = 10)
{
	struct feeder *f = start(NULL);
	cr_assert(state_synced(f), "a zeroed now is synchronised");
	now.clock_unsynced = true;
	cr_assert_not(state_synced(f));
	now.clock_unsynced = false;
	cr_assert(state_synced(f), "read again at every state");
	feeder_free(f);
}

Test(clock, unsynced_is_one_warning_naming_the_local_time_believed, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.n_alerts, 0, "synchronised: no alert");
	cr_assert_not(res.clock_alerted);

	now.clock_unsynced = true;
	advance(90 * 1000);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(count_code(&res, PROTO_ALERT_CLOCK_UNSYNCED), 1);
	const struct proto_alert *a =
	    find_alert(&res, PROTO_ALERT_CLOCK_UNSYNCED, PROTO_LEVEL_WARNING);
	cr_assert_not_null(a, "a warning");
	cr_assert_str_eq(a->source, "feeder");
	cr_assert_str_eq(a->message, "the system clock is not synchronised; the feeder believes it "
				     "is 2026-11-26 09:01:30 CET and doses by that time");
	cr_assert_eq(a->ts_ms, now.wall_ms);
	cr_assert(res.clock_alerted, "the glue keeps the boot id");

	/* Not again: ticks, a command, a dose, still unsynced. */
	advance(60 * 1000);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.n_alerts, 0);
	cr_assert_not(res.clock_alerted);
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK, "the rules as before");
	cr_assert_eq(res.n_alerts, 0);
	/* Synced, then unsynced again: still the same boot. */
	now.clock_unsynced = false;
	feeder_schedule_tick(f, &now, &res);
	now.clock_unsynced = true;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.n_alerts, 0, "once per boot");
	feeder_free(f);
}

Test(clock, the_time_is_named_in_the_zone_the_feeder_runs_in, .timeout = 10)
{
	setenv("TZ", "America/New_York", 1);
	tzset();
	struct feeder *f = start(NULL);
	struct feeder_result res;
	now.clock_unsynced = true;
	send(f, "{\"action\":\"call\",\"id\":\"c1\"}", &res);
	const struct proto_alert *a =
	    find_alert(&res, PROTO_ALERT_CLOCK_UNSYNCED, PROTO_LEVEL_WARNING);
	cr_assert_not_null(a, "a command sees the clock too");
	cr_assert(strstr(a->message, "believes it is 2026-11-26 03:00:00 EST"), "%s", a->message);
	cr_assert_eq(res.action, FEEDER_DO_CALL, "and is handled as before");
	feeder_free(f);
}

Test(clock, once_per_boot_across_a_restart_and_again_in_a_new_boot, .timeout = 10)
{
	now.clock_unsynced = true;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(count_code(&res, PROTO_ALERT_CLOCK_UNSYNCED), 1);
	feeder_free(f);

	/* Restarted in the same boot: the glue's record names it. */
	cfg.clock_alerted_boot = BOOT;
	advance(5000);
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.n_alerts, 0, "raised already in this boot");
	cr_assert_not(res.clock_alerted);
	feeder_free(f);

	/* The machine rebooted (another boot id): the record is of the old boot. */
	cfg.boot_id = BOOT2;
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(count_code(&res, PROTO_ALERT_CLOCK_UNSYNCED), 1, "a new boot");
	cr_assert(res.clock_alerted);
	feeder_free(f);

	/* No boot id known: once per process (a record cannot name a boot). */
	cfg.boot_id = NULL;
	cfg.clock_alerted_boot = "";
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(count_code(&res, PROTO_ALERT_CLOCK_UNSYNCED), 1);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.n_alerts, 0);
	feeder_free(f);
}

Test(clock, a_scheduled_dose_follows_an_unsynced_clock, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("09:05", &cfg.schedule, &err), 0);
	now.clock_unsynced = true;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(count_code(&res, PROTO_ALERT_CLOCK_UNSYNCED), 1);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	advance(5 * MIN);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "the slot by the clock it has");
	cr_assert_str_eq(feeder_dose_id(f), "schedule-2026-11-26T09:05");
	cr_assert_eq(res.n_alerts, 0);
	feeder_dose_done(f, true, NULL, &now, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert_null(feeder_dose_id(f), "none in progress");
	feeder_free(f);
}

/* A Pi without a battery clock starts at the time it last saved (09:00
 * here) and NTP steps it 6 h on: the glue ticks right after the step. The
 * 15:00 slot it lands next to is dosed on time; the manual dose given at
 * the believed 09:00 still holds the interval on the boot clock. */
Test(clock, a_step_forward_onto_a_slot_doses_it_and_keeps_the_interval, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("15:00", &cfg.schedule, &err), 0);
	cfg.min_interval_ms = 4 * H;
	now.clock_unsynced = true;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(dose_id(f, "early", 1000, &res), PROTO_RESULT_OK);
	cr_assert_eq(feeder_next_event_ms(f, &now), NOV26_0900 + 6 * H, "15:00 by the old clock");

	now.wall_ms = NOV26_0900 + 6 * H + 20 * 1000; /* 15:00:20 */
	now.mono_ms += 30 * 1000;		      /* 31 s of real time since the start */
	now.clock_unsynced = false;
	cr_assert(state_synced(f));
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING,
		     "the manual dose was 30 s ago by the boot clock: not a second one");
	cr_assert_not_null(find_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING));
	cr_assert(strstr(find_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING)->message,
			 "too_soon"));
	cr_assert_str_eq(find_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING)->subject,
			 "2026-11-26T15:00", "the slot: iod-notify keeps one entry per slot");
	feeder_free(f);
}

Test(clock, a_step_forward_onto_a_slot_doses_it_on_time, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("15:00", &cfg.schedule, &err), 0);
	now.clock_unsynced = true;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	now.wall_ms = NOV26_0900 + 6 * H + 20 * 1000;
	now.mono_ms += 30 * 1000;
	now.clock_unsynced = false;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	cr_assert_str_eq(feeder_dose_id(f), "schedule-2026-11-26T15:00");
	feeder_dose_done(f, true, NULL, &now, &res);
	feeder_free(f);
}

/* The step jumps over a slot by more than the grace: that dose is missed
 * (an alert says so), not given hours after its real time. */
Test(clock, a_step_far_past_a_slot_misses_it_rather_than_dose_late, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("11:00", &cfg.schedule, &err), 0);
	cfg.grace_ms = 60 * MIN;
	now.clock_unsynced = true;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	now.wall_ms = NOV26_0900 + 6 * H; /* 15:00: 11:00 was 4 h ago */
	now.mono_ms += 30 * 1000;
	now.clock_unsynced = false;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING, "not dosed 4 h late");
	const struct proto_alert *a =
	    find_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING);
	cr_assert_not_null(a);
	cr_assert(strstr(a->message, "2026-11-26T11:00"), "%s", a->message);
	struct proto_schedule sched;
	feeder_schedule(f, &now, &sched);
	cr_assert_eq(sched.slots[0].status, PROTO_SLOT_MISSED);
	feeder_free(f);
}
