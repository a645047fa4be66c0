/* Deadband/heartbeat with an injected clock, lost/recovered, number settings
 * (IOD_SENSORS itself: test_source.c). */
#include "sensors.h"

#include <criterion/criterion.h>
#include <string.h>

#define HB 60000

static struct sensors_pub pub_for(enum proto_sensor_kind kind)
{
	struct sensors_policy policy[SENSORS_KINDS];
	sensors_policy_defaults(policy, HB);
	struct sensors_pub p;
	memset(&p, 0, sizeof(p));
	p.policy = policy[kind];
	return p;
}

Test(sensors_policy, first_sample_publishes, .timeout = 5)
{
	struct sensors_pub p = pub_for(PROTO_SENSOR_TEMPERATURE);
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 0), -1);
	cr_assert_eq(sensors_pub_sample(&p, 21.234, 1000), SENSORS_PUBLISH_CHANGE);
	cr_assert_float_eq(p.sample, 21.23, 1e-9);
	cr_assert_float_eq(p.published, 21.23, 1e-9);
	cr_assert_eq(p.published_ms, 1000);
}

Test(sensors_policy, deadband_is_measured_from_the_last_publish, .timeout = 5)
{
	struct sensors_pub p = pub_for(PROTO_SENSOR_TEMPERATURE); /* 0.2 °C */
	cr_assert_eq(sensors_pub_sample(&p, 21.0, 0), SENSORS_PUBLISH_CHANGE);
	cr_assert_eq(sensors_pub_sample(&p, 21.1, 10000), SENSORS_SKIP);
	cr_assert_eq(sensors_pub_sample(&p, 20.9, 20000), SENSORS_SKIP);
	/* A slow drift is published once it adds up to the deadband. */
	cr_assert_eq(sensors_pub_sample(&p, 21.2, 30000), SENSORS_PUBLISH_CHANGE);
	cr_assert_float_eq(p.published, 21.2, 1e-9);
	cr_assert_eq(sensors_pub_sample(&p, 21.0, 40000), SENSORS_PUBLISH_CHANGE);
	cr_assert_eq(p.changes, 3);
	cr_assert_eq(p.samples, 5);
}

Test(sensors_policy, bowl_and_sound_deadbands, .timeout = 5)
{
	struct sensors_pub bowl = pub_for(PROTO_SENSOR_BOWL); /* 5 g */
	cr_assert_eq(sensors_pub_sample(&bowl, 100, 0), SENSORS_PUBLISH_CHANGE);
	cr_assert_eq(sensors_pub_sample(&bowl, 96.2, 1000), SENSORS_SKIP); /* rounds to 96 */
	cr_assert_eq(sensors_pub_sample(&bowl, 95.4, 2000), SENSORS_PUBLISH_CHANGE);
	cr_assert_float_eq(bowl.published, 95.0, 1e-9);

	struct sensors_pub sound = pub_for(PROTO_SENSOR_SOUND); /* 3 dB */
	cr_assert_eq(sensors_pub_sample(&sound, 32.0, 0), SENSORS_PUBLISH_CHANGE);
	cr_assert_eq(sensors_pub_sample(&sound, 34.9, 1000), SENSORS_SKIP);
	cr_assert_eq(sensors_pub_sample(&sound, 85.0, 2000), SENSORS_PUBLISH_CHANGE);
}

Test(sensors_policy, motion_publishes_every_change_only, .timeout = 5)
{
	struct sensors_pub p = pub_for(PROTO_SENSOR_MOTION);
	cr_assert_eq(sensors_pub_sample(&p, 0, 0), SENSORS_PUBLISH_CHANGE);
	cr_assert_eq(sensors_pub_sample(&p, 0, 1000), SENSORS_SKIP);
	cr_assert_eq(sensors_pub_sample(&p, 1, 2000), SENSORS_PUBLISH_CHANGE);
	cr_assert_eq(sensors_pub_sample(&p, 1, 3000), SENSORS_SKIP);
	cr_assert_eq(sensors_pub_sample(&p, 0, 4000), SENSORS_PUBLISH_CHANGE);
}

Test(sensors_policy, heartbeat_from_samples, .timeout = 5)
{
	struct sensors_pub p = pub_for(PROTO_SENSOR_HUMIDITY);
	cr_assert_eq(sensors_pub_sample(&p, 50.0, 0), SENSORS_PUBLISH_CHANGE);
	for (int64_t t = 10000; t < HB; t += 10000)
		cr_assert_eq(sensors_pub_sample(&p, 50.3, t), SENSORS_SKIP, "at %lld",
			     (long long)t);
	cr_assert_eq(sensors_pub_sample(&p, 50.3, HB), SENSORS_PUBLISH_HEARTBEAT);
	/* The heartbeat carries the current sample, and restarts the period. */
	cr_assert_float_eq(p.published, 50.3, 1e-9);
	cr_assert_eq(p.published_ms, HB);
	cr_assert_eq(sensors_pub_sample(&p, 50.3, HB + 10000), SENSORS_SKIP);
	cr_assert_eq(p.heartbeats, 1);
}

Test(sensors_policy, heartbeat_timer, .timeout = 5)
{
	struct sensors_pub p = pub_for(PROTO_SENSOR_MOTION);
	cr_assert_eq(sensors_pub_sample(&p, 1, 5000), SENSORS_PUBLISH_CHANGE);
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 5000), HB);
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 25000), HB - 20000);
	/* A timer that fires early does nothing (the caller re-arms). */
	cr_assert_eq(sensors_pub_heartbeat(&p, 5000 + HB - 1), SENSORS_SKIP);
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 5000 + HB - 1), 1);
	cr_assert_eq(sensors_pub_heartbeat(&p, 5000 + HB), SENSORS_PUBLISH_HEARTBEAT);
	cr_assert_eq(p.published_ms, 5000 + HB);
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 5000 + HB), HB);
	/* Late timer: due at once. */
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 5000 + 3 * HB), 0);
}

Test(sensors_policy, lost_sensor_gets_no_heartbeat, .timeout = 5)
{
	struct sensors_pub p = pub_for(PROTO_SENSOR_TEMPERATURE);
	sensors_pub_sample(&p, 20.0, 0);
	sensors_pub_lost(&p);
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 1000), -1);
	cr_assert_eq(sensors_pub_heartbeat(&p, 2 * HB), SENSORS_SKIP);
	cr_assert_eq(sensors_pub_republish(&p, 2 * HB), false);
	/* Back: an unchanged value after the heartbeat period is published. */
	cr_assert_eq(sensors_pub_sample(&p, 20.05, 2 * HB), SENSORS_PUBLISH_HEARTBEAT);
	cr_assert_eq(sensors_pub_heartbeat_in(&p, 2 * HB), HB);
}

Test(sensors_policy, republish_after_reconnect, .timeout = 5)
{
	struct sensors_pub p = pub_for(PROTO_SENSOR_SOUND);
	sensors_pub_sample(&p, 40.0, 0);
	sensors_pub_sample(&p, 41.0, 1000); /* inside the deadband */
	cr_assert(sensors_pub_republish(&p, 2000));
	cr_assert_float_eq(p.published, 41.0, 1e-9);
	cr_assert_eq(p.published_ms, 2000);
}

Test(sensors_policy, rounding, .timeout = 5)
{
	cr_assert_float_eq(sensors_round(21.345678, 0.01), 21.35, 1e-9);
	cr_assert_float_eq(sensors_round(-3.14159, 0.1), -3.1, 1e-9);
	cr_assert_float_eq(sensors_round(99.5, 1), 100, 1e-9);
	cr_assert_float_eq(sensors_round(1.23456, 0), 1.23456, 1e-12);
}

Test(sensors_health, lost_once_then_recovered, .timeout = 5)
{
	struct sensors_health h = {0};
	cr_assert_eq(sensors_health_ok(&h), SENSORS_HEALTH_NONE);
	for (int i = 1; i < SENSORS_LOST_AFTER; i++)
		cr_assert_eq(sensors_health_fail(&h), SENSORS_HEALTH_NONE);
	cr_assert_eq(sensors_health_fail(&h), SENSORS_HEALTH_LOST);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(sensors_health_fail(&h), SENSORS_HEALTH_NONE); /* once */
	cr_assert_eq(sensors_health_ok(&h), SENSORS_HEALTH_RECOVERED);
	cr_assert_eq(sensors_health_ok(&h), SENSORS_HEALTH_NONE);
	/* Isolated failures never add up to lost. */
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(sensors_health_fail(&h), SENSORS_HEALTH_NONE);
		cr_assert_eq(sensors_health_ok(&h), SENSORS_HEALTH_NONE);
	}
}
