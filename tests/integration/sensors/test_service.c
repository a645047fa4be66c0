/*
 * iod-sensors against a real mosquitto: the five kinds retained with their
 * units, Home Assistant discovery, a dose raising the sim's bowl, fake IIO
 * and 1-wire trees read end to end, sensor_lost / recovery alerts, timer
 * heartbeats, bad settings, and `offline` with exit 0 on SIGTERM.
 */
#include "harness.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS	 10000
#define T	 "iod/home/sensors/"
#define AVAIL	 T "availability"
#define ALERT	 "iod/home/alert"
#define W1_DEV	 "bus/w1/devices/28-0316a27983ff"
#define W1_SLAVE "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"

static struct harness_broker broker;
static char *tmp;
static pid_t service = -1; /* killed in down() when a failed test did not stop it */

static void up(void)
{
	cr_assert_eq(harness_broker_start(&broker, NULL), 0, "mosquitto did not start");
	tmp = harness_tmpdir("iod-sensors-it");
	cr_assert_not_null(tmp);
}

static void down(void)
{
	if (service > 0)
		harness_stop(service, SIGKILL, 5000);
	service = -1;
	harness_broker_destroy(&broker);
	harness_rmtree(tmp);
	free(tmp);
}

TestSuite(sensors_service, .init = up, .fini = down, .timeout = 120);

/* ---- helpers ---------------------------------------------------------------- */

static void mkdirs(const char *path)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

/* Write <tmp>/sys/<rel>, creating parents. */
static void fake(const char *rel, const char *content)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/sys/%s", tmp, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdirs(path);
	*slash = '/';
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(content, f);
	fclose(f);
}

static void unfake(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/sys/%s", tmp, rel);
	harness_rmtree(path);
}

/* Start iod-sensors with the broker, a data dir and the extra env. */
static pid_t start(const char *const extra[])
{
	static char url[128], data[512], root[512];
	const char *env[24];
	size_t n = 0;
	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(data, sizeof(data), "IOD_DATA_DIR=%s/data", tmp);
	snprintf(root, sizeof(root), "IOD_SENSORS_SYSFS_ROOT=%s/sys", tmp);
	env[n++] = url;
	env[n++] = data;
	env[n++] = root;
	env[n++] = "IOD_LOG_LEVEL=debug";
	env[n++] = "TZ=UTC";
	for (size_t i = 0; extra && extra[i] && n < 23; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	pid_t pid = harness_spawn("iod-sensors", NULL, env);
	cr_assert_gt(pid, 0, "cannot spawn iod-sensors");
	service = pid;
	return pid;
}

static struct tclient *client(const char *id, const char *filter)
{
	struct tclient *c = tclient_new(broker.url, id);
	cr_assert_not_null(c, "test client cannot connect to %s", broker.url);
	cr_assert_eq(tclient_subscribe(c, filter, 1), 0);
	return c;
}

static void wait_online(void)
{
	struct tclient *c = client("it-avail", AVAIL);
	struct tmsg *m = tclient_expect_with(c, AVAIL, "online", WAIT_MS);
	cr_assert_not_null(m, "iod-sensors never came online");
	tmsg_free(m);
	tclient_free(c);
}

/* SIGTERM: exit 0 and a retained `offline`. */
static void stop_clean(pid_t pid)
{
	service = -1;
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0, "iod-sensors did not exit 0");
	struct tclient *c = client("it-after", AVAIL);
	struct tmsg *m = tclient_expect(c, AVAIL, WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->payload, "offline");
	cr_assert(m->retained);
	tmsg_free(m);
	tclient_free(c);
}

/* Next reading on a kind's topic, decoded; fails the test on timeout. */
static struct proto_reading reading(struct tclient *c, const char *kind, bool *retained)
{
	char topic[128];
	snprintf(topic, sizeof(topic), T "%s", kind);
	struct tmsg *m = tclient_expect(c, topic, WAIT_MS);
	cr_assert_not_null(m, "no %s reading", kind);
	struct proto_reading r;
	const char *why = NULL;
	cr_assert_eq(proto_reading_decode(m->payload, m->len, &r, &why), 0, "%s: %s (%s)", kind,
		     why, m->payload);
	if (retained)
		*retained = m->retained;
	tmsg_free(m);
	return r;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
	int status;
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* The service exited by itself: nothing for down() to kill. */
static int exit_code(pid_t pid, int timeout_ms)
{
	int rc = wait_exit(pid, timeout_ms);
	service = -1;
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tests ------------------------------------------------------------------- */

Test(sensors_service, all_five_kinds_retained_with_units)
{
	int64_t t0 = now_ms();
	struct tclient *live = client("it-live", T "#");
	pid_t pid = start(NULL);
	wait_online();
	for (int k = 0; k < PROTO_SENSOR_KIND_COUNT; k++)
		reading(live, proto_sensor_kind_name(k), NULL);
	tclient_free(live);

	/* A newcomer gets every kind from the broker's retained store. */
	struct tclient *late = client("it-late", T "#");
	for (int k = 0; k < PROTO_SENSOR_KIND_COUNT; k++) {
		bool retained = false;
		struct proto_reading r = reading(late, proto_sensor_kind_name(k), &retained);
		cr_assert(retained, "%s not retained", proto_sensor_kind_name(k));
		cr_assert_str_eq(r.unit, proto_sensor_unit(k));
		cr_assert_geq(r.ts_ms, t0 - 1000);
		cr_assert_leq(r.ts_ms, now_ms() + 1000);
		if (k == PROTO_SENSOR_TEMPERATURE)
			cr_assert(r.value > 17 && r.value < 25, "temperature %g", r.value);
		if (k == PROTO_SENSOR_MOTION)
			cr_assert(r.value == 0 || r.value == 1);
	}
	struct tmsg *info = tclient_expect(late, T "info", WAIT_MS);
	cr_assert_not_null(info);
	cr_assert(info->retained);
	cr_assert(strstr(info->payload, "\"backend\":\"sim\""), "%s", info->payload);
	cr_assert(strstr(info->payload, "\"version\":\"" IOD_VERSION "\""), "%s", info->payload);
	tmsg_free(info);
	tclient_free(late);
	stop_clean(pid);
}

Test(sensors_service, home_assistant_discovery)
{
	pid_t pid = start(NULL);
	wait_online();
	struct tclient *c = client("it-ha", "homeassistant/#");
	static const struct {
		const char *topic, *needles[4];
	} want[] = {
	    {"homeassistant/sensor/iod_home_sensors/temperature/config",
	     {"\"device_class\":\"temperature\"",
	      "\"unit_of_measurement\":\"\xc2\xb0"
	      "C\"",
	      "\"state_topic\":\"iod/home/sensors/temperature\"",
	      "\"value_template\":\"{{ value_json.value }}\""}},
	    {"homeassistant/sensor/iod_home_sensors/humidity/config",
	     {"\"device_class\":\"humidity\"", "\"unit_of_measurement\":\"%\"",
	      "\"availability_topic\":\"iod/home/sensors/availability\"", "\"expire_after\":180"}},
	    {"homeassistant/binary_sensor/iod_home_sensors/motion/config",
	     {"\"device_class\":\"motion\"", "\"payload_on\":\"1\"", "\"payload_off\":\"0\"",
	      "\"state_topic\":\"iod/home/sensors/motion\""}},
	    {"homeassistant/sensor/iod_home_sensors/sound/config",
	     {"\"device_class\":\"sound_pressure\"", "\"unit_of_measurement\":\"dB\"",
	      "\"unique_id\":\"iod_home_sensors_sound\"", "\"payload_not_available\":\"offline\""}},
	    {"homeassistant/sensor/iod_home_sensors/bowl/config",
	     {"\"device_class\":\"weight\"", "\"unit_of_measurement\":\"g\"",
	      "\"state_topic\":\"iod/home/sensors/bowl\"", "\"state_class\":\"measurement\""}},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct tmsg *m = tclient_expect(c, want[i].topic, WAIT_MS);
		cr_assert_not_null(m, "no %s", want[i].topic);
		cr_assert(m->retained);
		for (int j = 0; j < 4; j++)
			cr_assert(strstr(m->payload, want[i].needles[j]), "%s lacks %s: %s",
				  want[i].topic, want[i].needles[j], m->payload);
		tmsg_free(m);
	}
	/* Home Assistant restarts: its birth message brings everything again. */
	tclient_flush(c);
	cr_assert_eq(tclient_publish_str(c, "homeassistant/status", "online", 1, false), 0);
	struct tmsg *again = tclient_expect(c, want[0].topic, WAIT_MS);
	cr_assert_not_null(again, "discovery not republished after homeassistant/status online");
	cr_assert_not(again->retained, "a live republish, not the retained copy");
	tmsg_free(again);
	tclient_free(c);
	stop_clean(pid);
}

static void feeder_event(struct tclient *c, const char *id, const char *action, const char *result)
{
	char json[256];
	snprintf(json, sizeof(json),
		 "{\"id\":\"%s\",\"action\":\"%s\",\"result\":\"%s\",%s\"ts\":%lld}", id, action,
		 result, strcmp(result, "ok") ? "\"reason\":\"too_soon\"," : "",
		 (long long)now_ms());
	cr_assert_eq(tclient_publish_str(c, "iod/home/feeder/event", json, 1, false), 0);
}

/* What the sim feeder says when its servo opened and a pill fell. */
static void dispensed(struct tclient *c, const char *id, const char *dispenser)
{
	char json[256];
	snprintf(json, sizeof(json), "{\"dispenser\":\"%s\",\"id\":\"%s\",\"ts\":%lld}", dispenser,
		 id, (long long)now_ms());
	cr_assert_eq(tclient_publish_str(c, "iod/home/feeder/sim/dispensed", json, 1, false), 0);
}

Test(sensors_service, a_pill_falling_fills_the_sim_bowl)
{
	struct tclient *c = client("it-bowl", T "bowl");
	pid_t pid = start(NULL);
	wait_online();
	double before = reading(c, "bowl", NULL).value;
	cr_assert_float_eq(before, 35, 0.5, "the sim starts at 35 g");

	/* Not pills falling: a rejected feed, a `home` that went fine, and a
	 * dose's ok event (a jammed sim servo says ok too: the bowl follows
	 * what fell, not what the feeder reported). */
	feeder_event(c, "it-rejected", "feed", "rejected");
	feeder_event(c, "it-home", "home", "ok");
	feeder_event(c, "it-reported", "feed", "ok");
	/* A dose, delivered twice (QoS 1 redelivery), then another dose. */
	dispensed(c, "it-dose-1", "medication");
	dispensed(c, "it-dose-1", "medication");
	double first = reading(c, "bowl", NULL).value;
	cr_assert_float_eq(first, before + 80, 10, "bowl %g after one dose (was %g)", first,
			   before);
	dispensed(c, "it-dose-2", "medication");
	/* The next rise is the second dose: the duplicate and the non-doses added nothing. */
	double second = first;
	for (int i = 0; i < 20 && second <= first; i++)
		second = reading(c, "bowl", NULL).value;
	cr_assert_float_eq(second, first + 80, 12, "bowl %g after the second dose (first %g)",
			   second, first);
	tclient_free(c);
	stop_clean(pid);
}

Test(sensors_service, fake_iio_and_w1_trees_end_to_end)
{
	fake(W1_DEV "/w1_slave", W1_SLAVE);
	fake("bus/iio/devices/iio:device0/name", "bme280\n");
	fake("bus/iio/devices/iio:device0/in_temp_input", "30000\n");
	fake("bus/iio/devices/iio:device0/in_humidityrelative_input", "45123\n");
	fake("bus/iio/devices/iio:device1/name", "hx711\n");
	fake("bus/iio/devices/iio:device1/in_voltage0_raw", "150000\n");
	struct tclient *c = client("it-tree", T "#");
	const char *env[] = {"IOD_SENSORS=w1:28-0316a27983ff,iio:bme280,iio:hx711",
			     "IOD_SENSORS_BOWL_TARE=100000", "IOD_SENSORS_BOWL_SCALE=0.002", NULL};
	pid_t pid = start(env);
	wait_online();
	/* The 1-wire sensor is listed first, so it is the temperature. */
	double temperature = reading(c, "temperature", NULL).value;
	double humidity = reading(c, "humidity", NULL).value;
	double bowl = reading(c, "bowl", NULL).value;
	cr_assert_float_eq(temperature, 23.125, 0.006);
	cr_assert_float_eq(humidity, 45.1, 1e-9);
	cr_assert_float_eq(bowl, 100, 1e-9);
	struct tmsg *info = tclient_expect(c, T "info", WAIT_MS);
	cr_assert_not_null(info);
	cr_assert(strstr(info->payload, "\"backend\":\"w1:28-0316a27983ff,iio:bme280,iio:hx711\""),
		  "%s", info->payload);
	tmsg_free(info);
	tclient_free(c);

	/* No sim: motion and sound are not announced to Home Assistant (an
	 * empty retained config removes what an earlier run announced). */
	struct tclient *ha = client("it-tree-ha", "homeassistant/#");
	struct tmsg *m =
	    tclient_expect(ha, "homeassistant/sensor/iod_home_sensors/bowl/config", WAIT_MS);
	cr_assert_not_null(m);
	tmsg_free(m);
	m = tclient_expect(ha, "homeassistant/sensor/iod_home_sensors/sound/config", 500);
	cr_assert(!m || m->len == 0, "sound announced without a sound sensor");
	tmsg_free(m);
	tclient_free(ha);
	stop_clean(pid);
}

Test(sensors_service, backend_listed_later_yields_without_alerts)
{
	fake(W1_DEV "/temperature", "19000\n");
	fake("bus/iio/devices/iio:device0/name", "bme280\n");
	fake("bus/iio/devices/iio:device0/in_temp_input", "30000\n");
	fake("bus/iio/devices/iio:device0/in_humidityrelative_input", "45123\n");
	struct tclient *c = client("it-order", T "temperature");
	cr_assert_eq(tclient_subscribe(c, ALERT, 1), 0);
	const char *env[] = {"IOD_SENSORS=iio:bme280,w1:28-0316a27983ff", "IOD_SENSORS_INTERVAL=1s",
			     NULL};
	pid_t pid = start(env);
	double temperature = reading(c, "temperature", NULL).value;
	cr_assert_float_eq(temperature, 30.0, 1e-9, "the first listed backend wins");
	/* The 1-wire probe has nothing left to publish: it is not read, and
	 * not reported lost (three 1 s reads would have done it). */
	struct tmsg *m = tclient_expect(c, ALERT, 4000);
	cr_assert_null(m, "unexpected alert: %s", m ? m->payload : "");
	m = tclient_expect(c, T "temperature", 500);
	cr_assert(!m || strstr(m->payload, "\"value\":30"), "%s", m ? m->payload : "");
	tmsg_free(m);
	tclient_free(c);
	stop_clean(pid);
}

Test(sensors_service, lost_once_then_recovered)
{
	fake(W1_DEV "/temperature", "21000\n");
	struct tclient *c = client("it-lost", T "temperature");
	cr_assert_eq(tclient_subscribe(c, ALERT, 1), 0);
	const char *env[] = {"IOD_SENSORS=w1:28-0316a27983ff", "IOD_SENSORS_INTERVAL=1s", NULL};
	pid_t pid = start(env);
	wait_online();
	double first = reading(c, "temperature", NULL).value;
	cr_assert_float_eq(first, 21.0, 1e-9);

	unfake(W1_DEV); /* unplugged */
	struct tmsg *m = tclient_expect(c, ALERT, WAIT_MS);
	cr_assert_not_null(m, "no sensor_lost alert");
	struct proto_alert al;
	const char *why = NULL;
	cr_assert_eq(proto_alert_decode(m->payload, m->len, &al, &why), 0, "%s", why);
	cr_assert_str_eq(al.code, PROTO_ALERT_SENSOR_LOST);
	cr_assert_eq(al.level, PROTO_LEVEL_WARNING);
	cr_assert_str_eq(al.source, "sensors");
	cr_assert(strstr(al.message, "w1:28-0316a27983ff"), "%s", al.message);
	tmsg_free(m);
	/* Once: more failed reads raise nothing more. */
	m = tclient_expect(c, ALERT, 2500);
	cr_assert_null(m, "a second alert while still lost: %s", m ? m->payload : "");

	fake(W1_DEV "/temperature", "24500\n"); /* back */
	m = tclient_expect(c, ALERT, WAIT_MS);
	cr_assert_not_null(m, "no recovery alert");
	cr_assert_eq(proto_alert_decode(m->payload, m->len, &al, &why), 0, "%s", why);
	cr_assert_eq(al.level, PROTO_LEVEL_INFO);
	cr_assert_str_eq(al.code, "sensor_recovered");
	tmsg_free(m);
	double back = reading(c, "temperature", NULL).value;
	cr_assert_float_eq(back, 24.5, 1e-9);
	tclient_free(c);
	stop_clean(pid);
}

Test(sensors_service, heartbeat_republishes_an_unchanged_reading)
{
	fake(W1_DEV "/temperature", "20000\n");
	struct tclient *c = client("it-hb", T "temperature");
	/* Read once an hour, heartbeat every second: only the timer publishes. */
	const char *env[] = {"IOD_SENSORS=w1:28-0316a27983ff", "IOD_SENSORS_INTERVAL=1h",
			     "IOD_SENSORS_HEARTBEAT=1s", NULL};
	pid_t pid = start(env);
	int64_t last_ts = 0;
	for (int i = 0; i < 4; i++) {
		struct proto_reading r = reading(c, "temperature", NULL);
		cr_assert_float_eq(r.value, 20.0, 1e-9);
		cr_assert_gt(r.ts_ms, last_ts, "heartbeat %d carries a fresh ts", i);
		last_ts = r.ts_ms;
	}
	tclient_free(c);
	stop_clean(pid);
}

Test(sensors_service, gpio_line_that_is_not_there_is_reported_lost)
{
	struct tclient *c = client("it-gpio", ALERT);
	const char *env[] = {"IOD_SENSORS=gpio:gpiochip-none:17", "IOD_SENSORS_INTERVAL=1s", NULL};
	pid_t pid = start(env);
	struct tmsg *m = tclient_expect(c, ALERT, WAIT_MS);
	cr_assert_not_null(m, "no sensor_lost alert for a missing GPIO chip");
	cr_assert(strstr(m->payload, "\"code\":\"sensor_lost\""), "%s", m->payload);
	cr_assert(strstr(m->payload, "gpio:gpiochip-none:17"), "%s", m->payload);
	tmsg_free(m);
	tclient_free(c);
	stop_clean(pid);
}

Test(sensors_service, bad_settings_stop_at_start_with_2)
{
	const char *cases[][2] = {
	    {"IOD_SENSORS=bogus", NULL},
	    {"IOD_SENSORS=sim,sim", NULL},
	    {"IOD_SENSORS_DEADBAND_SOUND=loud", NULL},
	    {"IOD_SENSORS_HEARTBEAT=0", NULL},
	    {"IOD_SENSORS_SEED=-4", NULL},
	    {"IOD_SENSORS_BOWL_SCALE=1g", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t pid = start(cases[i]);
		cr_assert_eq(exit_code(pid, 5000), 2, "%s", cases[i][0]);
	}
}
