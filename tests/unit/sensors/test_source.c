/* IOD_SENSORS: each entry's ops picked by name and parsed, the exact refusals,
 * and every source driven through its ops (sysfs ones against fake trees,
 * the sim with an injected clock, GPIO on a chip that is not there). */
#include "fake_tree.h"
#include "sensors.h"
#include "sim.h"
#include "source.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(sensors_spec, .timeout = 10);
TestSuite(sensors_source, .init = ft_setup, .fini = ft_teardown, .timeout = 10);

#define IIO "bus/iio/devices/"
#define W1  "bus/w1/devices/28-0316a27983ff"

/* ---- picking the ops ------------------------------------------------------ */

Test(sensors_spec, lookup_is_by_the_exact_name)
{
	cr_assert_eq(source_lookup("sim", 3), &source_sim_ops);
	cr_assert_eq(source_lookup("iio:bme280", 3), &source_iio_ops);
	cr_assert_eq(source_lookup("w1:28-1", 2), &source_w1_ops);
	cr_assert_eq(source_lookup("gpio:gpiochip0:17", 4), &source_gpio_ops);
	const char *bad[] = {"", "si", "sims", "SIM", "Iio", "w", "w10", "gpi", "gpios", "v4l2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(source_lookup(bad[i], strlen(bad[i])), "'%s'", bad[i]);
}

Test(sensors_spec, default_sim)
{
	struct sensors_spec s[SENSORS_MAX_SOURCES];
	size_t n = 99;
	const char *why = NULL;
	cr_assert_eq(sensors_spec_parse("sim", s, SENSORS_MAX_SOURCES, &n, &why), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(s[0].ops, &source_sim_ops);
	cr_assert_str_eq(s[0].text, "sim");
	cr_assert_str_eq(s[0].arg, "");
}

Test(sensors_spec, every_backend)
{
	struct sensors_spec s[SENSORS_MAX_SOURCES];
	size_t n = 0;
	const char *why = NULL;
	int rc = sensors_spec_parse(" iio:bme280 , w1:28-0316a27983ff,gpio:gpiochip0:17,"
				    "iio:iio:device2,iio:/sys/bus/iio/devices/iio:device3,"
				    "gpio:/dev/gpiochip1:4,sim,gpio:0:4095",
				    s, SENSORS_MAX_SOURCES, &n, &why);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(n, 8);
	const struct {
		const struct source_ops *ops;
		const char *text, *arg, *chip;
		unsigned line;
	} want[] = {
	    {&source_iio_ops, "iio:bme280", "bme280", "", 0},
	    {&source_w1_ops, "w1:28-0316a27983ff", "28-0316a27983ff", "", 0},
	    {&source_gpio_ops, "gpio:gpiochip0:17", "gpiochip0:17", "gpiochip0", 17},
	    {&source_iio_ops, "iio:iio:device2", "iio:device2", "", 0},
	    {&source_iio_ops, "iio:/sys/bus/iio/devices/iio:device3",
	     "/sys/bus/iio/devices/iio:device3", "", 0},
	    {&source_gpio_ops, "gpio:/dev/gpiochip1:4", "/dev/gpiochip1:4", "/dev/gpiochip1", 4},
	    {&source_sim_ops, "sim", "", "", 0},
	    {&source_gpio_ops, "gpio:0:4095", "0:4095", "0", 4095},
	};
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(s[i].ops, want[i].ops, "entry %zu", i);
		cr_assert_str_eq(s[i].text, want[i].text);
		cr_assert_str_eq(s[i].arg, want[i].arg);
		cr_assert_str_eq(s[i].chip, want[i].chip);
		cr_assert_eq(s[i].line, want[i].line);
	}
}

/* How the service drives each: the sim is the fallback and ticks on its own
 * timer, IIO and 1-wire are sampled off the loop, GPIO is an event source
 * with a hold timer. */
Test(sensors_spec, each_backend_is_driven_its_way)
{
	const struct source_ops *sim = &source_sim_ops, *iio = &source_iio_ops,
				*w1 = &source_w1_ops, *gpio = &source_gpio_ops;
	cr_assert(sim->fallback && !iio->fallback && !w1->fallback && !gpio->fallback);
	cr_assert(sim->timer && sim->deadline_in && sim->fed && !sim->read && !sim->open);
	cr_assert(iio->read && !iio->open && !iio->timer && !iio->fed);
	cr_assert(w1->read && !w1->open && !w1->timer && !w1->fed);
	cr_assert(gpio->open && gpio->fd && gpio->events && gpio->close && gpio->timer &&
		  gpio->deadline_in && !gpio->read && !gpio->fed);
	const struct source_ops *all[] = {sim, iio, w1, gpio};
	for (size_t i = 0; i < 4; i++)
		cr_assert(all[i]->parse && all[i]->create && all[i]->destroy && all[i]->offers,
			  "%s", all[i]->name);
}

Test(sensors_spec, refusals_say_why)
{
	char long_arg[140], long_entry[150], long_chip[100];
	snprintf(long_arg, sizeof(long_arg), "iio:%0128d", 0); /* 132: fits an entry, not an arg */
	snprintf(long_entry, sizeof(long_entry), "w1:%0140d", 0); /* over the entry's 135 */
	snprintf(long_chip, sizeof(long_chip), "gpio:%064d:4", 0);
	const char *iio = "iio: needs a device name (bme280), a directory (iio:device0) or an "
			  "absolute path";
	const char *w1 = "w1: needs a slave id (28-0316a27983ff)";
	const char *gpio = "gpio: needs <chip>:<line> (gpio:gpiochip0:17)";
	const char *line = "gpio: line must be a number 0-4095";
	const char *unknown = "unknown backend (sim, iio:, w1:, gpio:)";
	const struct {
		const char *list, *why;
	} bad[] = {
	    {"", "empty entry"},
	    {" ", "empty entry"},
	    {",", "empty entry"},
	    {"sim,", "empty entry"},
	    {"sim,,w1:28-1", "empty entry"},
	    {"sim,sim", "listed twice"},
	    {"w1:28-1, w1:28-1 ", "listed twice"},
	    {"sim,w1:1,w1:2,w1:3,w1:4,w1:5,w1:6,w1:7,w1:8", "too many entries"},
	    {long_entry, "entry too long"},
	    {long_arg, "argument too long"},
	    {"foo", unknown},
	    {"SIM", unknown},
	    {"sims", unknown},
	    {":sim", unknown},
	    {"v4l2:/dev/video0", unknown},
	    {"sim:1", "sim takes no argument"},
	    {"sim:", "sim takes no argument"},
	    {"iio", iio},
	    {"iio:", iio},
	    {"iio:../x", iio},
	    {"iio:..", iio},
	    {"iio:/sys/../etc", iio},
	    {"iio:/sys/./x", iio},
	    {"iio:/sys/..", iio},
	    {"iio:a/b", iio},
	    {"iio:bme 280", iio},
	    {"w1", w1},
	    {"w1:", w1},
	    {"w1:28 1", w1},
	    {"w1:../28-1", w1},
	    {"gpio", gpio},
	    {"gpio:gpiochip0", gpio},
	    {"gpio::4", gpio},
	    {long_chip, "gpio: chip name too long"},
	    {"gpio:chip 0:4", "gpio: bad chip name"},
	    {"gpio:..:4", "gpio: bad chip name"},
	    {"gpio:gpiochip0:x", line},
	    {"gpio:gpiochip0:", line},
	    {"gpio:gpiochip0:-1", line},
	    {"gpio:gpiochip0:+1", line},
	    {"gpio:gpiochip0:4096", line},
	    {"gpio:gpiochip0:99999999999999999999", line},
	    {"gpio:gpiochip0:4x", line},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sensors_spec s[SENSORS_MAX_SOURCES];
		size_t n = 5;
		const char *why = NULL;
		cr_assert_eq(sensors_spec_parse(bad[i].list, s, SENSORS_MAX_SOURCES, &n, &why), -1,
			     "'%s' accepted", bad[i].list);
		cr_assert_not_null(why, "'%s' without a reason", bad[i].list);
		cr_assert_str_eq(why, bad[i].why, "'%s'", bad[i].list);
		cr_assert_eq(n, 0);
	}
	size_t n = 5;
	const char *why = NULL;
	struct sensors_spec s[1];
	cr_assert_eq(sensors_spec_parse(NULL, s, 1, &n, &why), -1);
	cr_assert_str_eq(why, "empty");
	cr_assert_eq(n, 0);
}

/* ---- the sources through their ops ---------------------------------------- */

static struct sensors_spec spec_of(const char *entry)
{
	struct sensors_spec s;
	size_t n = 0;
	const char *why = NULL;
	cr_assert_eq(sensors_spec_parse(entry, &s, 1, &n, &why), 0, "%s: %s", entry, why);
	return s;
}

static struct source_settings settings(void)
{
	return (struct source_settings){
	    .sysfs_root = ft_root, .bowl_scale = 1, .motion_hold_ms = 2000, .seed = 7};
}

static void assert_offers(const struct source_ops *ops, void *state, const char *want)
{
	bool kinds[SENSORS_KINDS];
	memset(kinds, 0x55, sizeof(kinds));
	ops->offers(state, kinds);
	char got[128] = "";
	for (int k = 0; k < SENSORS_KINDS; k++) {
		if (!kinds[k])
			continue;
		if (got[0])
			strcat(got, ",");
		strcat(got, proto_sensor_kind_name((enum proto_sensor_kind)k));
	}
	cr_assert_str_eq(got, want, "%s offers", ops->name);
}

Test(sensors_source, iio_offers_what_the_device_has_once_it_is_there)
{
	struct sensors_spec spec = spec_of("iio:bme280");
	struct source_settings set = settings();
	void *st = spec.ops->create(&spec, &set, 0);
	cr_assert_not_null(st);
	assert_offers(spec.ops, st, ""); /* not plugged in yet: claims at its first good read */
	struct source_readings r = {.n = 0};
	const char *why = NULL;
	cr_assert_eq(spec.ops->read(st, &r, &why), -1);
	cr_assert_str_eq(why, "no IIO device with that name");
	cr_assert_eq(r.n, 0);

	ft_write(ft_root, IIO "iio:device3/name", "bme280\n");
	ft_write(ft_root, IIO "iio:device3/in_temp_input", "23450\n");
	ft_write(ft_root, IIO "iio:device3/in_humidityrelative_input", "45123\n");
	why = NULL;
	cr_assert_eq(spec.ops->read(st, &r, &why), 0, "%s", why);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.r[0].kind, PROTO_SENSOR_TEMPERATURE);
	cr_assert_float_eq(r.r[0].value, 23.45, 1e-9);
	cr_assert_null(r.r[0].why);
	cr_assert_eq(r.r[1].kind, PROTO_SENSOR_HUMIDITY);
	cr_assert_float_eq(r.r[1].value, 45.123, 1e-9);
	cr_assert_null(r.r[1].why);
	assert_offers(spec.ops, st, "temperature,humidity");

	/* One channel going bad is a failed reading of that kind, the other still read. */
	ft_write(ft_root, IIO "iio:device3/in_humidityrelative_input", "wet\n");
	r.n = 0;
	cr_assert_eq(spec.ops->read(st, &r, &why), 0);
	cr_assert_eq(r.n, 2);
	cr_assert_float_eq(r.r[0].value, 23.45, 1e-9);
	cr_assert_eq(r.r[1].kind, PROTO_SENSOR_HUMIDITY);
	cr_assert_not_null(r.r[1].why);
	spec.ops->destroy(st);
}

Test(sensors_source, iio_bowl_uses_the_calibration_settings)
{
	ft_write(ft_root, IIO "iio:device0/name", "hx711\n");
	ft_write(ft_root, IIO "iio:device0/in_voltage0_raw", "150000\n");
	struct sensors_spec spec = spec_of("iio:hx711");
	struct source_settings set = settings();
	set.bowl_tare = 100000;
	set.bowl_scale = 0.002;
	void *st = spec.ops->create(&spec, &set, 0);
	assert_offers(spec.ops, st, "bowl");
	struct source_readings r = {.n = 0};
	const char *why = NULL;
	cr_assert_eq(spec.ops->read(st, &r, &why), 0, "%s", why);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.r[0].kind, PROTO_SENSOR_BOWL);
	cr_assert_float_eq(r.r[0].value, 100.0, 1e-9);
	spec.ops->destroy(st);
}

Test(sensors_source, w1_missing_probe_is_a_failed_temperature)
{
	struct sensors_spec spec = spec_of("w1:28-0316a27983ff");
	struct source_settings set = settings();
	void *st = spec.ops->create(&spec, &set, 0);
	assert_offers(spec.ops, st, "temperature");
	struct source_readings r = {.n = 0};
	const char *why = NULL;
	cr_assert_eq(spec.ops->read(st, &r, &why), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.r[0].kind, PROTO_SENSOR_TEMPERATURE);
	cr_assert_str_eq(r.r[0].why, "not found");

	ft_write(ft_root, W1 "/temperature", "-1250\n");
	r.n = 0;
	cr_assert_eq(spec.ops->read(st, &r, &why), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_null(r.r[0].why);
	cr_assert_float_eq(r.r[0].value, -1.25, 1e-9);
	spec.ops->destroy(st);
}

Test(sensors_source, gpio_chip_that_is_not_there)
{
	struct sensors_spec spec = spec_of("gpio:gpiochip-none:17");
	struct source_settings set = settings();
	void *st = spec.ops->create(&spec, &set, 0);
	cr_assert_not_null(st);
	assert_offers(spec.ops, st, "motion");
	struct source_readings r = {.n = 0};
	const char *why = NULL;
	cr_assert_eq(spec.ops->open(st, 1000, &r, &why), -1);
	cr_assert_str_eq(why, "no such GPIO chip");
	cr_assert_eq(r.n, 0);
	/* Closed: nothing to watch, and no hold timer runs. */
	cr_assert_eq(spec.ops->fd(st), -1);
	cr_assert_eq(spec.ops->deadline_in(st, 1000), -1);
	spec.ops->close(st); /* closing a closed line is harmless */
	spec.ops->destroy(st);
}

/* The sim on its one timer: both ticks at once at start, then activity
 * every second and climate every ten, with the same values as the sim
 * driven by hand. */
Test(sensors_source, sim_ticks_on_one_timer_like_the_sim_itself)
{
	struct sensors_spec spec = spec_of("sim");
	struct source_settings set = settings();
	const int64_t wall = 1764140400000;
	void *st = spec.ops->create(&spec, &set, wall);
	struct sim *twin = sim_new(set.seed, wall);
	assert_offers(spec.ops, st, "temperature,humidity,motion,sound,bowl");

	int64_t t0 = 5000;
	cr_assert_eq(spec.ops->deadline_in(st, t0), 0, "the first tick is due at once");
	struct source_readings r = {.n = 0};
	spec.ops->timer(st, t0, wall, &r);
	sim_tick_climate(twin, wall);
	sim_tick_activity(twin, wall);
	const enum proto_sensor_kind all[] = {PROTO_SENSOR_TEMPERATURE, PROTO_SENSOR_HUMIDITY,
					      PROTO_SENSOR_MOTION, PROTO_SENSOR_SOUND,
					      PROTO_SENSOR_BOWL};
	cr_assert_eq(r.n, 5);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(r.r[i].kind, all[i]);
		cr_assert_eq(r.r[i].value, sim_value(twin, all[i]), "%s",
			     proto_sensor_kind_name(all[i]));
	}
	cr_assert_eq(spec.ops->deadline_in(st, t0), SIM_ACTIVITY_PERIOD_MS);
	cr_assert_eq(spec.ops->deadline_in(st, t0 + 400), SIM_ACTIVITY_PERIOD_MS - 400);

	for (int s = 1; s <= 9; s++) {
		int64_t now = t0 + s * SIM_ACTIVITY_PERIOD_MS;
		r.n = 0;
		spec.ops->timer(st, now, wall + s * 1000, &r);
		sim_tick_activity(twin, wall + s * 1000);
		cr_assert_eq(r.n, 3, "second %d: activity only", s);
		cr_assert_eq(r.r[0].kind, PROTO_SENSOR_MOTION);
		cr_assert_eq(r.r[2].kind, PROTO_SENSOR_BOWL);
		cr_assert_eq(r.r[1].value, sim_value(twin, PROTO_SENSOR_SOUND));
		cr_assert_eq(spec.ops->deadline_in(st, now), SIM_ACTIVITY_PERIOD_MS);
	}
	r.n = 0;
	spec.ops->timer(st, t0 + SIM_CLIMATE_PERIOD_MS, wall + 10000, &r);
	sim_tick_climate(twin, wall + 10000);
	sim_tick_activity(twin, wall + 10000);
	cr_assert_eq(r.n, 5, "the tenth second ticks the climate too");
	cr_assert_eq(r.r[0].value, sim_value(twin, PROTO_SENSOR_TEMPERATURE));

	/* A dose: the bowl is published at once with the portion in it. */
	double before = sim_value(twin, PROTO_SENSOR_BOWL);
	r.n = 0;
	spec.ops->fed(st, wall + 10500, false, &r);
	sim_feed(twin, wall + 10500);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.r[0].kind, PROTO_SENSOR_BOWL);
	cr_assert_eq(r.r[0].value, sim_value(twin, PROTO_SENSOR_BOWL));
	cr_assert_float_eq(r.r[0].value, before + SIM_PORTION_G, 1e-9);
	/* A treat: a little. */
	r.n = 0;
	spec.ops->fed(st, wall + 10600, true, &r);
	sim_treat(twin, wall + 10600);
	cr_assert_eq(r.n, 1);
	cr_assert_float_eq(r.r[0].value, before + SIM_PORTION_G + SIM_TREAT_G, 1e-9);
	cr_assert_eq(r.r[0].value, sim_value(twin, PROTO_SENSOR_BOWL));
	sim_free(twin);
	spec.ops->destroy(st);
}

Test(sensors_source, readings_are_bounded)
{
	struct source_readings r = {.n = 0};
	for (int i = 0; i < SOURCE_READINGS_MAX + 5; i++)
		source_readings_add(&r, PROTO_SENSOR_MOTION, i);
	source_readings_fail(&r, PROTO_SENSOR_MOTION, "late");
	cr_assert_eq(r.n, SOURCE_READINGS_MAX);
	cr_assert_eq(r.r[SOURCE_READINGS_MAX - 1].value, SOURCE_READINGS_MAX - 1);
	cr_assert_null(r.r[SOURCE_READINGS_MAX - 1].why);
}
