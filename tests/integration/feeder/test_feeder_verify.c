/*
 * Verified dispense on the wire (issue 11): the real iod-feeder watches the
 * bowl's scale (iod/<site>/sensors/bowl, here published by the test) after
 * each dose and answers with one more event for the dose's id, action
 * "verify": ok when the bowl rose by IOD_FEEDER_VERIFY_MIN_G within
 * IOD_FEEDER_VERIFY_WINDOW (2 s here), else failed with the reason and a
 * dose_unverified alert; the dose log says verified true/false.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "feeder_it.h"
#include "harness.h"

#define T_BOWL "iod/home/sensors/bowl"

static void setup(void)
{
	static const char *const extra[] = {"IOD_FEEDER_VERIFY_WINDOW=2s", NULL};
	it_setup("feeder-verify", extra);
}

TestSuite(feeder_verify_it, .init = setup, .fini = it_teardown, .timeout = 90);

static void bowl(double grams, bool retain)
{
	char text[96];
	snprintf(text, sizeof(text), "{\"value\":%.1f,\"unit\":\"g\",\"ts\":1764140400000}", grams);
	cr_assert_eq(tclient_publish_str(client, T_BOWL, text, 1, retain), 0);
}

Test(feeder_verify_it, a_rise_in_the_bowl_verifies_the_dose)
{
	bowl(5.0, true); /* the baseline, retained as the sensors publish it */
	start_feeder();
	feed("v1", "\"result\":\"ok\"");
	bowl(6.5, false);
	const char *ev = verify_event("v1");
	cr_assert(strstr(ev, "\"result\":\"ok\""), "%s", ev);
	cr_assert(strstr(ev, "\"delta_g\":1.5"), "%s", ev);
	expect_msg(T_LOG, "\"id\":\"v1\"");
	expect_msg(T_LOG, "\"verified\":true");
	stop_feeder();
	cr_assert_eq(tclient_publish(client, T_BOWL, "", 0, 1, true), 0);
}

Test(feeder_verify_it, no_rise_within_the_window_fails_with_an_alert)
{
	bowl(5.0, true);
	start_feeder();
	feed("v2", "\"result\":\"ok\"");
	bowl(5.2, false); /* under the 1 g minimum */
	const char *ev = verify_event("v2");
	cr_assert(strstr(ev, "\"result\":\"failed\""), "%s", ev);
	cr_assert(strstr(ev, "\"reason\":\"no_weight_change\""), "%s", ev);
	expect_msg(T_ALERT, "\"code\":\"dose_unverified\"");
	expect_msg(T_LOG, "\"verified\":false");
	stop_feeder();
	cr_assert_eq(tclient_publish(client, T_BOWL, "", 0, 1, true), 0);
}

Test(feeder_verify_it, off_with_min_g_zero)
{
	env[it_env_used] = "IOD_FEEDER_VERIFY_MIN_G=0";
	start_feeder();
	feed("v3", "\"result\":\"ok\"");
	/* Past where the 2 s window would end (no bowl reading: it would fail
	 * no_bowl_reading), the next event is the next command's. */
	struct timespec past = {3, 0};
	nanosleep(&past, NULL);
	cr_assert_eq(
	    tclient_publish_str(client, T_CMD, "{\"action\":\"home\",\"id\":\"h3\"}", 1, false), 0);
	struct tmsg *m = tclient_expect(client, T_EVENT, WAIT);
	cr_assert_not_null(m);
	cr_assert(strstr(m->payload, "\"id\":\"h3\""), "%s", m->payload);
	tmsg_free(m);
	stop_feeder();
}
