/*
 * Pills on the wire (issue 11): the real iod-feeder and mosquitto. After a
 * refill of 5, five doses count the hopper down to 0 in the retained state,
 * out_of_stock (critical) is raised once, and a sixth dose is still
 * attempted (the count may be wrong) without a second alert.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "feeder_it.h"
#include "harness.h"

static void setup(void)
{
	/* Doses 1 s apart (the fixture's bounds are at their loosest), no
	 * bowl scale here. */
	static const char *const extra[] = {"IOD_FEEDER_MIN_INTERVAL=1s", "IOD_FEEDER_MAX_DAILY=48",
					    "IOD_FEEDER_VERIFY_MIN_G=0", NULL};
	it_setup("feeder-pills", extra);
}

TestSuite(feeder_pills_it, .init = setup, .fini = it_teardown, .timeout = 90);

Test(feeder_pills_it, refill_five_dose_five_out_of_stock_once)
{
	start_feeder();
	cr_assert_eq(tclient_publish_str(client, T_CMD,
					 "{\"action\":\"refill\",\"id\":\"r1\",\"by\":\"ann\","
					 "\"pills\":5}",
					 1, false),
		     0);
	expect_msg(T_EVENT, "\"id\":\"r1\",\"action\":\"refill\",\"result\":\"ok\"");
	expect_msg(T_STATE, "\"pills_remaining\":5");
	char id[16], want[32];
	for (int i = 1; i <= 6; i++) {
		/* The minimum interval (1 s) runs from the last dose's start; its
		 * event comes after the 1 s hold, so one more second is plenty. */
		struct timespec gap = {1, 100 * 1000 * 1000};
		nanosleep(&gap, NULL);
		snprintf(id, sizeof(id), "p%d", i);
		feed(id, "\"result\":\"ok\"");
		snprintf(want, sizeof(want), "\"pills_remaining\":%d", i <= 5 ? 5 - i : 0);
		expect_msg(T_STATE, want);
	}
	/* Every alert so far: out_of_stock exactly once, critical. */
	int out = 0;
	struct tmsg *m;
	while ((m = tclient_expect(client, T_ALERT, 2000))) {
		if (strstr(m->payload, "\"code\":\"out_of_stock\"")) {
			out++;
			cr_assert(strstr(m->payload, "\"level\":\"critical\""), "%s", m->payload);
		}
		tmsg_free(m);
	}
	cr_assert_eq(out, 1, "out_of_stock raised %d times", out);
	stop_feeder();
}
