/* Which source publishes which kind: first listed wins, the sim fills the
 * rest, a loser is told once per kind, and an entry with nothing left is
 * not used. */
#include "sensors.h"
#include "source.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(sensors_claims, .timeout = 10);

static struct sensors_spec specs[SENSORS_MAX_SOURCES];
static size_t n_specs;

static void parse(struct sensors_claims *c, const char *list)
{
	const char *why = NULL;
	cr_assert_eq(sensors_spec_parse(list, specs, SENSORS_MAX_SOURCES, &n_specs, &why), 0, "%s",
		     why);
	sensors_claims_init(c, specs, n_specs);
}

/* Claim in the service's order, each source offering `offers[i]` (kinds by
 * bit); returns the owners as "temperature=w1:a,humidity=sim,…". */
static const char *claim_all(struct sensors_claims *c, const unsigned *offers)
{
	int order[SENSORS_MAX_SOURCES];
	sensors_claim_order(specs, n_specs, order);
	for (size_t i = 0; i < n_specs; i++)
		for (int k = 0; k < SENSORS_KINDS; k++)
			if (offers[order[i]] & (1u << k))
				sensors_claim(c, order[i], (enum proto_sensor_kind)k, NULL, 0);
	static char out[512];
	out[0] = '\0';
	for (int k = 0; k < SENSORS_KINDS; k++) {
		if (out[0])
			strcat(out, ",");
		strcat(out, proto_sensor_kind_name((enum proto_sensor_kind)k));
		strcat(out, "=");
		strcat(out, c->owner[k] == SENSORS_NOBODY ? "-" : specs[c->owner[k]].text);
	}
	return out;
}

#define T    (1u << PROTO_SENSOR_TEMPERATURE)
#define H    (1u << PROTO_SENSOR_HUMIDITY)
#define M    (1u << PROTO_SENSOR_MOTION)
#define S    (1u << PROTO_SENSOR_SOUND)
#define B    (1u << PROTO_SENSOR_BOWL)
#define ALL5 (T | H | M | S | B)

Test(sensors_claims, nobody_before_a_claim)
{
	struct sensors_claims c;
	parse(&c, "sim");
	for (int k = 0; k < SENSORS_KINDS; k++)
		cr_assert_eq(c.owner[k], SENSORS_NOBODY);
	cr_assert_not(sensors_claims_any(&c, 0));
}

Test(sensors_claims, first_listed_wins_and_the_sim_fills_the_rest)
{
	struct sensors_claims c;
	/* The sim listed first still only fills in: real backends claim first. */
	parse(&c, "sim,w1:28-1,iio:bme280,gpio:gpiochip0:17,iio:hx711");
	unsigned offers[] = {ALL5, T, T | H, M, B};
	cr_assert_str_eq(claim_all(&c, offers), "temperature=w1:28-1,humidity=iio:bme280,"
						"motion=gpio:gpiochip0:17,sound=sim,"
						"bowl=iio:hx711");
}

Test(sensors_claims, listing_order_decides_between_real_backends)
{
	struct sensors_claims c;
	parse(&c, "iio:bme280,w1:28-1");
	unsigned offers[] = {T | H, T};
	cr_assert_str_eq(claim_all(&c, offers), "temperature=iio:bme280,humidity=iio:bme280,"
						"motion=-,sound=-,bowl=-");
	parse(&c, "w1:28-1,iio:bme280");
	unsigned swapped[] = {T, T | H};
	cr_assert_str_eq(claim_all(&c, swapped), "temperature=w1:28-1,humidity=iio:bme280,"
						 "motion=-,sound=-,bowl=-");
}

Test(sensors_claims, order_puts_the_fallback_last)
{
	struct sensors_claims c;
	parse(&c, "sim,iio:a,w1:b,gpio:0:1");
	int order[SENSORS_MAX_SOURCES];
	sensors_claim_order(specs, n_specs, order);
	cr_assert_eq(order[0], 1);
	cr_assert_eq(order[1], 2);
	cr_assert_eq(order[2], 3);
	cr_assert_eq(order[3], 0);
}

Test(sensors_claims, what_each_claim_says)
{
	struct sensors_claims c;
	parse(&c, "w1:28-1,iio:bme280,sim");
	char msg[SENSORS_MSG_MAX];

	cr_assert_eq(sensors_claim(&c, 0, PROTO_SENSOR_TEMPERATURE, msg, sizeof(msg)),
		     SENSORS_CLAIM_WON);
	cr_assert_str_eq(msg, "w1:28-1 publishes temperature");
	cr_assert_eq(c.owner[PROTO_SENSOR_TEMPERATURE], 0);

	/* The same source again (a device read again): nothing to say. */
	cr_assert_eq(sensors_claim(&c, 0, PROTO_SENSOR_TEMPERATURE, msg, sizeof(msg)),
		     SENSORS_CLAIM_KEPT);
	cr_assert_str_eq(msg, "");

	/* A later source offering it: told once, then quiet at every read. */
	cr_assert_eq(sensors_claim(&c, 1, PROTO_SENSOR_TEMPERATURE, msg, sizeof(msg)),
		     SENSORS_CLAIM_TAKEN);
	cr_assert_str_eq(msg, "iio:bme280 also offers temperature; w1:28-1 already publishes it");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(sensors_claim(&c, 1, PROTO_SENSOR_TEMPERATURE, msg, sizeof(msg)),
			     SENSORS_CLAIM_TAKEN_AGAIN);
		cr_assert_str_eq(msg, "");
	}
	cr_assert_eq(c.owner[PROTO_SENSOR_TEMPERATURE], 0, "a lost claim changes nothing");

	/* It still wins what nobody has; the sim is told per kind, too. */
	cr_assert_eq(sensors_claim(&c, 1, PROTO_SENSOR_HUMIDITY, msg, sizeof(msg)),
		     SENSORS_CLAIM_WON);
	cr_assert_str_eq(msg, "iio:bme280 publishes humidity");
	cr_assert_eq(sensors_claim(&c, 2, PROTO_SENSOR_HUMIDITY, msg, sizeof(msg)),
		     SENSORS_CLAIM_TAKEN);
	cr_assert_str_eq(msg, "sim also offers humidity; iio:bme280 already publishes it");
	cr_assert_eq(sensors_claim(&c, 2, PROTO_SENSOR_TEMPERATURE, msg, sizeof(msg)),
		     SENSORS_CLAIM_TAKEN);
	cr_assert_str_eq(msg, "sim also offers temperature; w1:28-1 already publishes it");
	cr_assert_eq(sensors_claim(&c, 2, PROTO_SENSOR_SOUND, NULL, 0), SENSORS_CLAIM_WON);
	cr_assert_eq(c.owner[PROTO_SENSOR_SOUND], 2);

	/* A message that does not fit is cut, never overrun. */
	char small[12];
	memset(small, 'x', sizeof(small));
	cr_assert_eq(sensors_claim(&c, 2, PROTO_SENSOR_BOWL, small, sizeof(small)),
		     SENSORS_CLAIM_WON);
	cr_assert_str_eq(small, "sim publish");
}

/* A device that appears after the sim filled in gets nothing: the sim keeps
 * what it publishes (a retained reading does not change hands). */
Test(sensors_claims, a_late_device_does_not_take_from_the_sim)
{
	struct sensors_claims c;
	parse(&c, "iio:bme280,sim");
	unsigned offers[] = {0, ALL5}; /* bme280 not there at start */
	cr_assert_str_eq(claim_all(&c, offers), "temperature=sim,humidity=sim,motion=sim,"
						"sound=sim,bowl=sim");
	char msg[SENSORS_MSG_MAX];
	cr_assert_eq(sensors_claim(&c, 0, PROTO_SENSOR_TEMPERATURE, msg, sizeof(msg)),
		     SENSORS_CLAIM_TAKEN);
	cr_assert_str_eq(msg, "iio:bme280 also offers temperature; sim already publishes it");
	cr_assert_not(sensors_claims_any(&c, 0));
}

Test(sensors_claims, unused_names_every_kind_and_its_publisher)
{
	struct sensors_claims c;
	parse(&c, "w1:28-1,iio:bme280,iio:dht11,iio:hx711,sim");
	unsigned offers[] = {T, T | H, T | H, 0, ALL5};
	claim_all(&c, offers);
	char msg[SENSORS_MSG_MAX];
	bool offered[SENSORS_KINDS];

	for (int k = 0; k < SENSORS_KINDS; k++)
		offered[k] = offers[2] & (1u << k);
	cr_assert(sensors_claims_unused(&c, 2, offered, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "iio:dht11: not used, temperature comes from w1:28-1, humidity from "
			      "iio:bme280");

	/* It publishes something: used. */
	for (int k = 0; k < SENSORS_KINDS; k++)
		offered[k] = offers[1] & (1u << k);
	cr_assert_not(sensors_claims_unused(&c, 1, offered, msg, sizeof(msg)));
	cr_assert(sensors_claims_any(&c, 1));

	/* Offers nothing yet (not plugged in): read until it shows up. */
	memset(offered, 0, sizeof(offered));
	cr_assert_not(sensors_claims_unused(&c, 3, offered, msg, sizeof(msg)));

	/* The sim with every kind from real hardware. */
	parse(&c, "sim,w1:28-1,iio:bme280,gpio:0:17,iio:hx711,iio:mic");
	unsigned full[] = {ALL5, T, H, M, B, S};
	claim_all(&c, full);
	for (int k = 0; k < SENSORS_KINDS; k++)
		offered[k] = true;
	cr_assert(sensors_claims_unused(&c, 0, offered, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "sim: not used, temperature comes from w1:28-1, humidity from "
			      "iio:bme280, motion from gpio:0:17, sound from iio:mic, bowl from "
			      "iio:hx711");
	char small[20];
	cr_assert(sensors_claims_unused(&c, 0, offered, small, sizeof(small)));
	cr_assert_str_eq(small, "sim: not used, temp");
}
