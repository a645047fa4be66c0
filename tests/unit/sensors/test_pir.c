/* PIR line edges -> the motion reading (the libgpiod part cannot run here). */
#include "pir.h"

#include <criterion/criterion.h>

#define HOLD 2000

Test(sensors_pir, rising_edge_is_motion_at_once, .timeout = 5)
{
	struct pir p;
	pir_init(&p, HOLD, false);
	cr_assert_eq(pir_start(&p, false, 0), false);
	cr_assert_eq(pir_deadline_in(&p, 0), -1, "idle: no timer");
	cr_assert(pir_edge(&p, true, 100));
	cr_assert(p.motion);
	cr_assert_eq(pir_deadline_in(&p, 100), -1, "line active: no timer");
}

Test(sensors_pir, falling_edge_holds_then_drops, .timeout = 5)
{
	struct pir p;
	pir_init(&p, HOLD, false);
	pir_start(&p, false, 0);
	pir_edge(&p, true, 1000);
	cr_assert_not(pir_edge(&p, false, 4000), "no change at the falling edge");
	cr_assert(p.motion);
	cr_assert_eq(pir_deadline_in(&p, 4000), HOLD);
	cr_assert_not(pir_timer(&p, 4000 + HOLD - 1));
	cr_assert(p.motion);
	cr_assert(pir_timer(&p, 4000 + HOLD));
	cr_assert_not(p.motion);
	cr_assert_eq(pir_deadline_in(&p, 4000 + HOLD), -1);
	cr_assert_not(pir_timer(&p, 10000), "a stray timer changes nothing");
}

Test(sensors_pir, retrigger_within_hold_is_one_motion_period, .timeout = 5)
{
	struct pir p;
	pir_init(&p, HOLD, false);
	pir_start(&p, false, 0);
	int changes = 0;
	int64_t t = 0;
	/* A PIR re-triggering every 1.5 s: high 1 s, low 0.5 s, ten times. */
	for (int i = 0; i < 10; i++) {
		changes += pir_edge(&p, true, t);
		t += 1000;
		changes += pir_edge(&p, false, t);
		t += 500;
		changes += pir_timer(&p, t); /* a timer armed at the low edge would fire late */
	}
	cr_assert_eq(changes, 1, "only the first rising edge changes the reading");
	cr_assert(p.motion);
	cr_assert_eq(pir_deadline_in(&p, t), HOLD - 500);
	cr_assert(pir_timer(&p, t + HOLD));
	cr_assert_not(p.motion);
}

Test(sensors_pir, bouncing_line_is_bounded, .timeout = 5)
{
	struct pir p;
	pir_init(&p, HOLD, false);
	pir_start(&p, false, 0);
	int changes = 0;
	for (int64_t t = 0; t < 60000; t += 10) {
		changes += pir_edge(&p, (t / 10) % 2 == 0, t);
		int64_t in = pir_deadline_in(&p, t);
		if (in == 0)
			changes += pir_timer(&p, t);
	}
	/* 6000 edges in a minute: one motion period, not thousands of readings. */
	cr_assert_eq(changes, 1);
	cr_assert_eq(p.edges, 6000);
}

Test(sensors_pir, repeated_edge_counts_as_level, .timeout = 5)
{
	struct pir p;
	pir_init(&p, HOLD, false);
	pir_start(&p, false, 0);
	cr_assert(pir_edge(&p, true, 10));
	cr_assert_not(pir_edge(&p, true, 20));
	cr_assert_eq(p.ignored, 1);
	pir_edge(&p, false, 30);
	pir_edge(&p, false, 40); /* a lost rising edge in between: still quiet from here */
	cr_assert_eq(p.ignored, 2);
	cr_assert_eq(pir_deadline_in(&p, 40), HOLD);
}

Test(sensors_pir, active_low_inverts, .timeout = 5)
{
	struct pir p;
	pir_init(&p, HOLD, true);
	cr_assert_eq(pir_start(&p, true, 0), false, "high is idle on an active-low sensor");
	cr_assert(pir_edge(&p, false, 100), "falling edge is motion");
	cr_assert(p.motion);
	cr_assert_not(pir_edge(&p, true, 200));
	cr_assert(pir_timer(&p, 200 + HOLD));
	cr_assert_not(p.motion);
}

Test(sensors_pir, zero_hold_follows_the_line, .timeout = 5)
{
	struct pir p;
	pir_init(&p, 0, false);
	cr_assert_eq(pir_start(&p, true, 0), true, "motion already present at start");
	cr_assert(pir_edge(&p, false, 10));
	cr_assert_not(p.motion);
	cr_assert(pir_edge(&p, true, 20));
	cr_assert(p.motion);
}
