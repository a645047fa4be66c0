/* The glue (app.c) on a real libuv loop with mqttc stubbed
 * (tests/support/mqttc_stub.c) and a fake sysfs tree: who publishes a kind,
 * what is subscribed to, and the sim's bowl filled by the feeder's doses. */
#include "app.h"
#include "cfg.h"
#include "fake_tree.h"
#include "mqttc.h"
#include "mqttc_stub.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

TestSuite(sensors_app, .init = ft_setup, .fini = ft_teardown, .timeout = 30);

#define T	     "iod/home/sensors/"
#define FEEDER_EVENT "iod/home/feeder/event"
#define DISPENSED    "iod/home/feeder/sim/dispensed"
#define W1	     "bus/w1/devices/28-0316a27983ff"

static uv_loop_t loop;
static struct cfg *cfg;
static struct sensors_app *app;
/* Never dereferenced: the stubs take any pointer. */
static struct mqttc *const fake_client = (struct mqttc *)&loop;

static void up(const char *sensors)
{
	char list[256], root_flag[512];
	snprintf(list, sizeof(list), "--sensors=%s", sensors);
	snprintf(root_flag, sizeof(root_flag), "--sensors-sysfs-root=%s", ft_root);
	char *argv[] = {"iod-sensors", list, root_flag, "--site=home", NULL};
	int rc = 0;
	cfg = cfg_load("sensors", "iod-sensors", sensors_app_options, sensors_app_options_count, 4,
		       argv, &rc);
	cr_assert_not_null(cfg, "cfg_load: %d", rc);
	cr_assert_eq(uv_loop_init(&loop), 0);
	app = sensors_app_new(&loop, cfg);
	cr_assert_not_null(app);
	stub_reset();
	cr_assert_eq(sensors_app_attach(app, fake_client), 0);
}

static void down(void)
{
	sensors_app_stop(app);
	uv_run(&loop, UV_RUN_DEFAULT); /* the closes, and a read in flight */
	sensors_app_free(app);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cfg_free(cfg);
}

/* Turn the loop until `topic` has been published `count` times. */
static void run_until(const char *topic, size_t count)
{
	for (int i = 0; i < 1000 && stub_count(topic) < count; i++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_geq(stub_count(topic), count, "%s published %zu times", topic, stub_count(topic));
}

static double value_of(const char *topic)
{
	const struct stub_publish *p = stub_last(topic);
	cr_assert_not_null(p, "%s never published", topic);
	struct proto_reading r;
	const char *why = NULL;
	cr_assert_eq(proto_reading_decode(p->payload, strlen(p->payload), &r, &why), 0, "%s: %s",
		     p->payload, why);
	cr_assert_eq(p->qos, 0);
	cr_assert(p->retain);
	return r.value;
}

static bool subscribed(const char *filter)
{
	for (size_t i = 0; i < stub_n_subscribed; i++)
		if (strcmp(stub_subscribed[i], filter) == 0)
			return true;
	return false;
}

static void message(const char *topic, const char *payload, bool retained)
{
	struct mqttc_message m = {.topic = topic,
				  .payload = payload,
				  .len = strlen(payload),
				  .qos = 1,
				  .retained = retained};
	sensors_app_on_message(app, &m);
}

static void feeder_event(const char *payload, bool retained)
{
	message(FEEDER_EVENT, payload, retained);
}

static void dispensed(const char *payload, bool retained)
{
	message(DISPENSED, payload, retained);
}

Test(sensors_app, the_first_listed_backend_publishes_and_nothing_else_is_announced)
{
	ft_write(ft_root, W1 "/temperature", "19000\n");
	ft_write(ft_root, "bus/iio/devices/iio:device0/name", "bme280\n");
	ft_write(ft_root, "bus/iio/devices/iio:device0/in_temp_input", "30000\n");
	up("iio:bme280,w1:28-0316a27983ff");
	/* homeassistant/status is the skeleton's, for a service with entities. */
	cr_assert_eq(stub_n_subscribed, 0, "no sim bowl: no feeder events");
	cr_assert_not_null(sensors_service.publish_discovery);
	cr_assert_eq(sensors_app_start(app), 0);
	run_until(T "temperature", 1);
	cr_assert_float_eq(value_of(T "temperature"), 30.0, 1e-9);

	/* A reconnect, as the skeleton makes it: info (its backend), discovery,
	 * then on_connected. */
	cr_assert_str_eq(sensors_service.backend(app), "iio:bme280,w1:28-0316a27983ff");
	sensors_service.publish_discovery(app);
	sensors_service.on_connected(app);
	const struct stub_publish *t =
	    stub_last("homeassistant/sensor/iod_home_sensors/temperature/config");
	cr_assert_not_null(t);
	cr_assert(strstr(t->payload, "\"state_topic\":\"" T "temperature\""), "%s", t->payload);
	/* Kinds nobody provides: an empty retained config removes the entity. */
	const char *gone[] = {"homeassistant/sensor/iod_home_sensors/humidity/config",
			      "homeassistant/binary_sensor/iod_home_sensors/motion/config",
			      "homeassistant/sensor/iod_home_sensors/sound/config",
			      "homeassistant/sensor/iod_home_sensors/bowl/config"};
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		const struct stub_publish *p = stub_last(gone[i]);
		cr_assert_not_null(p, "%s", gone[i]);
		cr_assert_str_eq(p->payload, "", "%s", gone[i]);
		cr_assert(p->retain);
	}
	/* The reconnect republished the reading, still the IIO one. */
	cr_assert_eq(stub_count(T "temperature"), 2);
	cr_assert_float_eq(value_of(T "temperature"), 30.0, 1e-9);
	cr_assert_null(stub_last(T "info"), "info on a connect is the skeleton's");

	/* Home Assistant's birth, after the skeleton's discovery: info and the
	 * readings again. */
	sensors_service.on_ha_birth(app);
	const struct stub_publish *info = stub_last(T "info");
	cr_assert_not_null(info);
	cr_assert(strstr(info->payload, "\"backend\":\"iio:bme280,w1:28-0316a27983ff\""), "%s",
		  info->payload);
	cr_assert_eq(stub_count(T "temperature"), 3);
	down();
}

Test(sensors_app, a_pill_falling_fills_the_sim_bowl_once_per_id)
{
	up("sim");
	cr_assert(subscribed(DISPENSED));
	cr_assert_not(subscribed(FEEDER_EVENT), "the feeder's word is not the bowl's");
	cr_assert_eq(sensors_app_start(app), 0);
	run_until(T "bowl", 1);
	size_t n = stub_count(T "bowl");
	double before = value_of(T "bowl");

	dispensed("{\"dispenser\":\"medication\",\"id\":\"d-1\",\"ts\":1764140400000}", false);
	cr_assert_eq(stub_count(T "bowl"), n + 1, "the bowl is published at once");
	cr_assert_float_eq(value_of(T "bowl"), before + 80, 1e-9);

	/* Again the same id (a QoS 1 redelivery), a retained old one, not
	 * one at all, an unknown dispenser, and a dose's ok event (a jammed
	 * servo's too): none puts anything in the bowl. */
	dispensed("{\"dispenser\":\"medication\",\"id\":\"d-1\",\"ts\":1764140400000}", false);
	dispensed("{\"dispenser\":\"medication\",\"id\":\"d-2\",\"ts\":1764140400000}", true);
	dispensed("m-feeder-3", false);
	dispensed("{\"dispenser\":\"bone\",\"id\":\"d-5\",\"ts\":1764140400000}", false);
	feeder_event("{\"id\":\"d-4\",\"action\":\"feed\",\"result\":\"ok\",\"ts\":1764140400000}",
		     false);
	cr_assert_eq(stub_count(T "bowl"), n + 1);

	/* A treat: a little. */
	dispensed("{\"dispenser\":\"treat\",\"id\":\"t-1\",\"ts\":1764140400000}", false);
	cr_assert_eq(stub_count(T "bowl"), n + 2);
	cr_assert_float_eq(value_of(T "bowl"), before + 90, 1e-9);
	down();
}

Test(sensors_app, a_real_bowl_is_not_filled_by_doses)
{
	ft_write(ft_root, "bus/iio/devices/iio:device0/name", "hx711\n");
	ft_write(ft_root, "bus/iio/devices/iio:device0/in_voltage0_raw", "120\n");
	up("iio:hx711,sim");
	cr_assert_not(subscribed(DISPENSED), "the sim does not publish the bowl");
	cr_assert_eq(sensors_app_start(app), 0);
	run_until(T "bowl", 1);
	run_until(T "sound", 1); /* the sim fills in the rest */
	cr_assert_float_eq(value_of(T "bowl"), 120.0, 1e-9);
	size_t n = stub_count(T "bowl");
	dispensed("{\"dispenser\":\"medication\",\"id\":\"d-1\",\"ts\":1764140400000}", false);
	cr_assert_eq(stub_count(T "bowl"), n);
	down();
}
