/* feeder: verified dispense (issue 11): after a dose done ok the bowl's
 * readings verify it (a rise of verify_min_g within verify_window_ms) or
 * the window's end fails it (no_weight_change / no_bowl_reading, a
 * dose_unverified warning); the verify event, the fsync'd verify record
 * (replayed, kept by compaction), the log's verified; a restart in the
 * window leaves it null and never doses again; off: no event. Injected
 * clock, journal in a temp dir. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "feeder.h"
#include "fixture.h"

static void setup(void)
{
	fixture_setup("verify");
	cfg.boot_id = "3f1c1c2e-0000-4000-8000-00000000000d";
	cfg.verify_window_ms = FEEDER_VERIFY_WINDOW_DEFAULT;
	cfg.verify_min_g = FEEDER_VERIFY_MIN_G_DEFAULT;
}

TestSuite(verify, .init = setup, .fini = fixture_teardown);

static void bowl(struct feeder *f, double g, struct feeder_result *res)
{
	feeder_bowl_reading(f, g, now.wall_ms, &now, res);
}

static enum proto_verified verified_of(struct feeder *f, const char *id)
{
	struct proto_dose log[PROTO_LOG_MAX];
	size_t n = feeder_log(f, log, PROTO_LOG_MAX);
	for (size_t i = 0; i < n; i++)
		if (strcmp(log[i].id, id) == 0)
			return log[i].verified;
	cr_assert_fail("dose %s not in the log", id);
	return PROTO_VERIFIED_NULL;
}

Test(verify, a_rise_verifies_at_once_and_survives_a_restart, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	bowl(f, 10.0, &res);
	cr_assert_not(res.has_event);
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK);
	cr_assert_str_eq(res.event.action, "feed");
	cr_assert_eq(feeder_next_event_ms(f, &now), now.wall_ms + 60000, "the window's end");
	advance(2000);
	bowl(f, 10.5, &res);
	cr_assert_not(res.has_event, "0.5 g is under verify_min_g");
	bowl(f, 11.25, &res);
	cr_assert(res.has_event);
	cr_assert_str_eq(res.event.id, "d1");
	cr_assert_str_eq(res.event.action, "verify");
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert(res.event.has_delta);
	cr_assert_not(res.event.delta_null);
	cr_assert_float_eq(res.event.delta_g, 1.25, 1e-9);
	cr_assert(res.log_changed);
	cr_assert_eq(verified_of(f, "d1"), PROTO_VERIFIED_TRUE);
	cr_assert_eq(feeder_next_event_ms(f, &now), 0, "no schedule, no window");
	bowl(f, 20.0, &res);
	cr_assert_not(res.has_event, "one verify event per dose");
	cr_assert(strstr(slurp(jpath, NULL), "\"op\":\"verify\""));
	feeder_free(f);
	f = start(NULL);
	cr_assert_eq(verified_of(f, "d1"), PROTO_VERIFIED_TRUE, "replayed");
	feeder_free(f);
}

Test(verify, no_rise_fails_no_weight_change_at_the_windows_end, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	bowl(f, 10.0, &res);
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK);
	advance(10000);
	bowl(f, 10.4, &res);
	advance(49000);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_not(res.has_event, "the window is still open");
	advance(1000);
	feeder_schedule_tick(f, &now, &res);
	cr_assert(res.has_event);
	cr_assert_str_eq(res.event.action, "verify");
	cr_assert_eq(res.event.result, PROTO_RESULT_FAILED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_NO_WEIGHT_CHANGE);
	cr_assert_not(res.event.delta_null);
	cr_assert_float_eq(res.event.delta_g, 0.4, 1e-9);
	cr_assert_not_null(find_alert(&res, PROTO_ALERT_DOSE_UNVERIFIED, PROTO_LEVEL_WARNING));
	cr_assert_str_eq(
	    find_alert(&res, PROTO_ALERT_DOSE_UNVERIFIED, PROTO_LEVEL_WARNING)->subject, "d1",
	    "about the dose");
	cr_assert_eq(verified_of(f, "d1"), PROTO_VERIFIED_FALSE);
	feeder_free(f);
	f = start(NULL);
	cr_assert_eq(verified_of(f, "d1"), PROTO_VERIFIED_FALSE, "replayed");
	feeder_free(f);
}

Test(verify, no_reading_at_all_fails_no_bowl_reading, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK);
	advance(60000);
	feeder_schedule_tick(f, &now, &res);
	cr_assert(res.has_event);
	cr_assert_eq(res.event.result, PROTO_RESULT_FAILED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_NO_BOWL_READING);
	cr_assert(res.event.has_delta);
	cr_assert(res.event.delta_null);
	feeder_free(f);
}

/* A restart in the window: verified stays null, no event, no second dose. */
Test(verify, a_restart_in_the_window_leaves_it_null, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	bowl(f, 10.0, &res);
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK);
	feeder_free(f);
	advance(5000);
	f = start(NULL);
	bowl(f, 12.0, &res);
	cr_assert_not(res.has_event);
	advance(120000);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_not(res.has_event);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(verified_of(f, "d1"), PROTO_VERIFIED_NULL);
	feeder_free(f);
}

Test(verify, off_gives_null_and_no_event, .timeout = 10)
{
	cfg.verify_window_ms = 0;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	bowl(f, 10.0, &res);
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK);
	cr_assert_eq(feeder_next_event_ms(f, &now), 0);
	bowl(f, 15.0, &res);
	cr_assert_not(res.has_event);
	advance(120000);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_not(res.has_event);
	cr_assert_eq(verified_of(f, "d1"), PROTO_VERIFIED_NULL);
	feeder_free(f);
}

/* Compaction keeps the verify records. */
Test(verify, compaction_keeps_verified, .timeout = 30)
{
	cfg.compact_bytes = 2048;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	bowl(f, 10.0, &res);
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK);
	bowl(f, 12.0, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	for (int i = 0; i < 40; i++) {
		char msg[80];
		snprintf(msg, sizeof(msg), "{\"action\":\"feed\",\"id\":\"x%d\",\"ts\":1}", i);
		send(f, msg, &res);
	}
	advance(6 * H);
	cr_assert_eq(dose_id(f, "d2", 1000, &res), PROTO_RESULT_OK); /* compacts */
	struct feeder_stats st;
	feeder_get_stats(f, &st);
	cr_assert_gt(st.compactions, 0);
	feeder_free(f);
	f = start(NULL);
	cr_assert_eq(verified_of(f, "d1"), PROTO_VERIFIED_TRUE);
	feeder_free(f);
}
