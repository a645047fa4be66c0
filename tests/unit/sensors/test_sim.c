/* The sim: deterministic under a seed, believable ranges and cycles, and a
 * bowl that reacts to a dose. Runs simulated days in milliseconds. */
#include "sim.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>

/* 2026-11-26 00:00:00 UTC */
#define DAY0_MS 1795651200000LL
#define HOUR_MS 3600000LL

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TestSuite(sensors_sim, .init = utc, .timeout = 30);

/* Advance one second of sim time: activity every second, climate every ten. */
static void step(struct sim *s, int64_t t)
{
	sim_tick_activity(s, t);
	if (t % SIM_CLIMATE_PERIOD_MS == 0)
		sim_tick_climate(s, t);
}

Test(sensors_sim, local_hour)
{
	cr_assert_float_eq(sim_local_hour(DAY0_MS), 0.0, 1e-9);
	cr_assert_float_eq(sim_local_hour(DAY0_MS + 15 * HOUR_MS + 30 * 60000), 15.5, 1e-9);
}

Test(sensors_sim, same_seed_same_signals)
{
	struct sim *a = sim_new(42, DAY0_MS), *b = sim_new(42, DAY0_MS), *c = sim_new(43, DAY0_MS);
	int differ = 0;
	for (int64_t t = DAY0_MS; t < DAY0_MS + 6 * HOUR_MS; t += 1000) {
		step(a, t);
		step(b, t);
		step(c, t);
		if (t == DAY0_MS + 2 * HOUR_MS) {
			sim_feed(a, t);
			sim_feed(b, t);
			sim_feed(c, t);
		}
		for (int k = 0; k < PROTO_SENSOR_KIND_COUNT; k++) {
			cr_assert_eq(sim_value(a, k), sim_value(b, k), "kind %d at %lld", k,
				     (long long)t);
			differ += sim_value(a, k) != sim_value(c, k);
		}
	}
	cr_assert_gt(differ, 1000, "another seed gives other signals");
	sim_free(a);
	sim_free(b);
	sim_free(c);
}

Test(sensors_sim, believable_ranges_and_daily_cycle)
{
	struct sim *s = sim_new(7, DAY0_MS);
	double warm = 0, cool = 0, humid_cool = 0, humid_warm = 0;
	int n_warm = 0, n_cool = 0;
	int motion_starts = 0, motion_s = 0, loud_s = 0, loud_moving_s = 0;
	double prev_motion = 0;
	for (int64_t t = DAY0_MS; t < DAY0_MS + 48 * HOUR_MS; t += 1000) {
		step(s, t);
		double temp = sim_value(s, PROTO_SENSOR_TEMPERATURE);
		double hum = sim_value(s, PROTO_SENSOR_HUMIDITY);
		double motion = sim_value(s, PROTO_SENSOR_MOTION);
		double sound = sim_value(s, PROTO_SENSOR_SOUND);
		double bowl = sim_value(s, PROTO_SENSOR_BOWL);
		cr_assert(temp > 17.5 && temp < 24.5, "temperature %g", temp);
		cr_assert(hum >= 5 && hum <= 95, "humidity %g", hum);
		cr_assert(motion == 0 || motion == 1);
		cr_assert(sound > 15 && sound < 95, "sound %g", sound);
		cr_assert(bowl >= 0 && bowl <= SIM_BOWL_MAX_G, "bowl %g", bowl);
		double hour = sim_local_hour(t);
		if (hour >= 14 && hour < 16) {
			warm += temp;
			humid_warm += hum;
			n_warm++;
		} else if (hour >= 2 && hour < 4) {
			cool += temp;
			humid_cool += hum;
			n_cool++;
		}
		motion_starts += prev_motion == 0 && motion == 1;
		prev_motion = motion;
		motion_s += motion == 1;
		if (sound >= 70) {
			loud_s++;
			loud_moving_s += motion == 1;
		}
		/* Three doses a day, as the feeder's default schedule gives. */
		if ((t - DAY0_MS) % (8 * HOUR_MS) == 7 * HOUR_MS)
			sim_feed(s, t);
	}
	cr_assert_gt(warm / n_warm - cool / n_cool, 3.0, "afternoon %.2f vs night %.2f",
		     warm / n_warm, cool / n_cool);
	cr_assert_gt(humid_cool / n_cool - humid_warm / n_warm, 8.0);
	/* Motion in bursts: dozens of them, yet the dog rests most of the time. */
	cr_assert_gt(motion_starts, 40);
	cr_assert_lt(motion_starts, 400);
	cr_assert_lt(motion_s, 48 * 3600 / 2);
	/* Barks happen, and mostly while the dog moves. */
	cr_assert_gt(loud_s, 20);
	cr_assert_gt((double)loud_moving_s / loud_s, 0.8, "%d of %d loud seconds moving",
		     loud_moving_s, loud_s);
	sim_free(s);
}

Test(sensors_sim, bowl_rises_on_a_dose_then_the_dog_eats)
{
	struct sim *s = sim_new(3, DAY0_MS + 12 * HOUR_MS);
	int64_t t = DAY0_MS + 12 * HOUR_MS;
	double before = sim_value(s, PROTO_SENSOR_BOWL);
	cr_assert_float_eq(before, SIM_BOWL_START_G, 1e-9);
	sim_feed(s, t);
	double after = sim_value(s, PROTO_SENSOR_BOWL);
	cr_assert_float_eq(after, before + SIM_PORTION_G, 1e-9);
	/* It comes over and eats within a few minutes. */
	for (int i = 0; i < 600; i++)
		step(s, t += 1000);
	double later = sim_value(s, PROTO_SENSOR_BOWL);
	cr_assert_lt(later, after - 30, "bowl %g after ten minutes", later);
	sim_free(s);
}

Test(sensors_sim, bowl_never_overflows)
{
	struct sim *s = sim_new(1, DAY0_MS);
	for (int i = 0; i < 20; i++)
		sim_feed(s, DAY0_MS);
	cr_assert_float_eq(sim_value(s, PROTO_SENSOR_BOWL), SIM_BOWL_MAX_G, 1e-9);
	sim_free(s);
}
