/* The feeder's glue (app.c) on a real libuv loop, with mqttc stubbed
 * (tests/support/mqttc_stub.c), an injected clock and a journal in a temp
 * dir: what a command publishes and in which order, a servo that fails,
 * back-pressure, Home Assistant's birth, the plan, local midnight, and a
 * stop in the middle of a dose. */
#include "app.h"
#include "cfg.h"
#include "mqttc.h"
#include "mqttc_stub.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define T	    "iod/home/feeder/"
#define ALERT	    "iod/home/alert"
#define DEC01_1000  1796119200000LL /* 2026-12-01 10:00 UTC */
#define BOOT_MS	    (5000 * 1000LL)
#define INTERRUPTED "interrupted by shutdown (hold cut short)"

static char dir[64];
static uv_loop_t loop;
static struct cfg *cfg;
static struct feeder_app *app;
static struct feeder_now clk;
/* Never dereferenced: the stubs take any pointer. */
static struct mqttc *const fake_client = (struct mqttc *)&loop;

static struct feeder_now test_clock(void *arg)
{
	(void)arg;
	return clk;
}

static void setup(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(dir, sizeof(dir), "/tmp/iod-feeder-app-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	clk = (struct feeder_now){.wall_ms = DEC01_1000, .mono_ms = BOOT_MS};
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(feeder_app, .init = setup, .fini = teardown, .timeout = 30);

/* Make the app as the skeleton would (no schedule: no catch-up dose) with
 * the IOD_FEEDER_SERVO flag servo and the flags in extra (NULL-ended, may
 * be NULL). 0, or feeder_app_new's exit code (the loop and cfg are then
 * closed). */
static int make(const char *servo, const char *const *extra)
{
	char data_flag[128], servo_flag[128], pwm_flag[128];
	snprintf(data_flag, sizeof(data_flag), "--data-dir=%s", dir);
	snprintf(servo_flag, sizeof(servo_flag), "--feeder-servo=%s", servo);
	snprintf(pwm_flag, sizeof(pwm_flag), "--feeder-pwm-root=%s/pwm", dir);
	char *argv[16] = {"iod-feeder",
			  "--site=home",
			  "--feeder-schedule=none",
			  "--dashboard-url=none",
			  data_flag,
			  servo_flag,
			  pwm_flag};
	int argc = 7;
	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(argc, 15);
		argv[argc++] = (char *)extra[i];
	}
	feeder_app_argv(argc, argv); /* as main.c does */
	int rc = 0;
	cfg = cfg_load("feeder", "iod-feeder", feeder_app_options, feeder_app_options_count, argc,
		       argv, &rc);
	cr_assert_not_null(cfg, "cfg_load: %d", rc);
	cr_assert_eq(uv_loop_init(&loop), 0);
	stub_reset();
	struct feeder_app_clock clock = {test_clock, NULL};
	app = feeder_app_new(&loop, cfg, fake_client, &clock, &rc);
	if (!app) {
		cr_assert_neq(rc, 0);
		cr_assert_eq(uv_loop_close(&loop), 0);
		cfg_free(cfg);
		cfg = NULL;
		return rc;
	}
	/* Commands, and the bowl's scale for verified dispense (on by
	 * default: IOD_FEEDER_VERIFY_MIN_G 1). */
	cr_assert_eq(stub_n_subscribed, 2);
	cr_assert_str_eq(stub_subscribed[0], T "cmd");
	cr_assert_str_eq(stub_subscribed[1], "iod/home/sensors/bowl");
	return 0;
}

/* make(), then start as the skeleton would and forget what the start
 * published. */
static void up_with(const char *servo, const char *const *extra)
{
	int rc = make(servo, extra);
	cr_assert_eq(rc, 0, "feeder_app_new: exit code %d", rc);
	cr_assert_eq(feeder_service.start(app), 0);
	stub_reset();
}

static void up(const char *servo)
{
	up_with(servo, NULL);
}

/* The skeleton's stop path and destroy: stop, the loop runs dry, free. */
static void down(void)
{
	feeder_service.stop(app);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	feeder_service.destroy(app);
	app = NULL;
	cr_assert_eq(uv_loop_close(&loop), 0);
	cfg_free(cfg);
	cfg = NULL;
}

static void deliver(const char *topic, const char *payload)
{
	struct mqttc_message m = {.topic = topic, .payload = payload, .len = strlen(payload)};
	feeder_service.on_message(app, &m);
}

static void feed(const char *id)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "{\"action\":\"feed\",\"id\":\"%s\",\"by\":\"ann\",\"ts\":%lld}",
		 id, (long long)clk.wall_ms);
	deliver(T "cmd", cmd);
}

/* Turn the loop until topic has been published count times. */
static void run_until(const char *topic, size_t count)
{
	for (int i = 0; i < 100 && stub_count(topic) < count; i++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_eq(stub_count(topic), count, "%s published %zu times", topic, stub_count(topic));
}

static const struct stub_publish *nth(size_t i, const char *topic, bool retain)
{
	cr_assert_lt(i, stub_n_published, "publish %zu of %zu", i, stub_n_published);
	const struct stub_publish *p = &stub_published[i];
	cr_assert_str_eq(p->topic, topic, "publish %zu", i);
	cr_assert_eq(p->qos, 1, "publish %zu (%s): QoS", i, topic);
	cr_assert_eq(p->retain, retain, "publish %zu (%s): retain", i, topic);
	return p;
}

static struct proto_feeder_event event_at(size_t i)
{
	const struct stub_publish *p = nth(i, T "event", false);
	struct proto_feeder_event ev;
	const char *why = NULL;
	cr_assert_eq(proto_feeder_event_decode(p->payload, strlen(p->payload), &ev, &why), 0,
		     "%s: %s", p->payload, why);
	return ev;
}

static struct proto_feeder_state state_at(size_t i)
{
	const struct stub_publish *p = nth(i, T "state", true);
	struct proto_feeder_state st;
	const char *why = NULL;
	cr_assert_eq(proto_feeder_state_decode(p->payload, strlen(p->payload), &st, &why), 0,
		     "%s: %s", p->payload, why);
	return st;
}

/* The log at publish i holds exactly one dose, id. */
static void log_at(size_t i, const char *id)
{
	const struct stub_publish *p = nth(i, T "log", true);
	struct proto_dose doses[4];
	size_t n = 0;
	const char *why = NULL;
	cr_assert_eq(proto_feeder_log_decode(p->payload, strlen(p->payload), doses, 4, &n, &why), 0,
		     "%s: %s", p->payload, why);
	cr_assert_eq(n, 1, "%s", p->payload);
	cr_assert_str_eq(doses[0].id, id);
}

/* The schedule at publish i: its local date. */
static void schedule_at(size_t i, const char *date)
{
	const struct stub_publish *p = nth(i, T "schedule", true);
	static struct proto_schedule sched;
	const char *why = NULL;
	cr_assert_eq(proto_schedule_decode(p->payload, strlen(p->payload), &sched, &why), 0,
		     "%s: %s", p->payload, why);
	cr_assert_str_eq(sched.date, date, "%s", p->payload);
}

static struct proto_plan plan_at(size_t i)
{
	const struct stub_publish *p = nth(i, T "plan", true);
	struct proto_plan plan;
	const char *why = NULL;
	cr_assert_eq(proto_plan_decode(p->payload, strlen(p->payload), &plan, &why), 0, "%s: %s",
		     p->payload, why);
	return plan;
}

static struct proto_alert alert_at(size_t i)
{
	const struct stub_publish *p = nth(i, ALERT, false);
	struct proto_alert a;
	const char *why = NULL;
	cr_assert_eq(proto_alert_decode(p->payload, strlen(p->payload), &a, &why), 0, "%s: %s",
		     p->payload, why);
	return a;
}

Test(feeder_app, feed_publishes_state_log_then_event_state_log)
{
	up("sim");
	feed("t1");
	/* The intent is journaled and the servo is open: state, log and the
	 * schedule (a manual dose may serve a slot) now; the sim servo's pill
	 * falls (the sim's physics, for the sensors' bowl); the camera is asked
	 * for the dose's picture (fire and forget). */
	cr_assert_eq(stub_n_published, 5);
	cr_assert_eq(state_at(0).position, PROTO_POSITION_OPEN);
	log_at(1, "t1");
	schedule_at(2, "2026-12-01");
	cr_assert_str_eq(nth(3, T "sim/dispensed", false)->payload,
			 "{\"dispenser\":\"medication\",\"id\":\"t1\",\"ts\":1796119200000}");
	cr_assert_str_eq(nth(4, "iod/home/camera/cmd", false)->payload,
			 "{\"action\":\"snapshot\",\"for\":\"dose:t1\"}");

	clk.wall_ms += 1000; /* the hold: the glue reads the injected clock */
	clk.mono_ms += 1000;
	run_until(T "event", 1);
	cr_assert_eq(stub_n_published, 9);
	struct proto_feeder_event ev = event_at(5);
	cr_assert_str_eq(ev.id, "t1");
	cr_assert_str_eq(ev.action, "feed");
	cr_assert_eq(ev.result, PROTO_RESULT_OK);
	cr_assert_str_eq(ev.reason, "");
	cr_assert_eq(ev.ts_ms, DEC01_1000 + 1000);
	struct proto_feeder_state st = state_at(6);
	cr_assert_eq(st.position, PROTO_POSITION_HOME);
	cr_assert_eq(st.doses_today, 1);
	cr_assert_eq(st.last_dose_ms, DEC01_1000);
	cr_assert_eq(st.next_allowed_ms, DEC01_1000 + 6 * 3600 * 1000LL);
	cr_assert(st.clock_synced, "the injected clock's now is synchronised");
	log_at(7, "t1");
	schedule_at(8, "2026-12-01");
	cr_assert_eq(stub_count(ALERT), 0);
	cr_assert_eq(stub_count("iod/home/camera/cmd"), 1, "one picture per dose");
	down();
	cr_assert_eq(stub_n_published, 9, "the stop has no dose to finish");
}

/* NTP steps the wall clock 6 h on (a Pi that booted with its saved time):
 * the watcher's call ticks the schedule at once, so the 16:00 slot the new
 * clock has reached is dosed now, not when a timer armed by the old clock
 * wakes (up to an hour later, past the 60 s a running feeder allows). */
Test(feeder_app, a_clock_set_onto_a_slot_doses_it_at_once)
{
	static const char *const at_1600[] = {"--feeder-schedule=16:00", NULL};
	up_with("sim", at_1600);
	clk.wall_ms = DEC01_1000 + 6 * 3600 * 1000LL + 20 * 1000; /* 16:00:20 */
	clk.mono_ms += 30 * 1000;
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(stub_count("iod/home/camera/cmd"), 0, "no timer has fired yet");
	feeder_app_clock_set(app);
	cr_assert_eq(stub_count("iod/home/camera/cmd"), 1, "dosing now");
	cr_assert_str_eq(stub_published[stub_n_published - 1].payload,
			 "{\"action\":\"snapshot\",\"for\":\"dose:schedule-2026-12-01T16:00\"}");
	cr_assert_eq(state_at(0).position, PROTO_POSITION_OPEN);
	clk.wall_ms += 1000;
	clk.mono_ms += 1000;
	run_until(T "event", 1);
	down();
}

/* A fake PWM chip (servo.c's pwm backend) whose duty_cycle the test can
 * break after the servo opened. */
static void fake_pwm(void)
{
	const char *dirs[] = {"pwm", "pwm/pwmchip0", "pwm/pwmchip0/pwm0"};
	const char *files[] = {"pwm/pwmchip0/export", "pwm/pwmchip0/pwm0/period",
			       "pwm/pwmchip0/pwm0/duty_cycle", "pwm/pwmchip0/pwm0/enable"};
	char path[256];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, dirs[i]);
		cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s", path);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f, "%s", path);
		fclose(f);
	}
}

Test(feeder_app, servo_failure_gives_failed_event_and_critical_alert)
{
	fake_pwm();
	up("pwm:0:0");
	/* duty_cycle a directory: every move fails with EISDIR. */
	char path[256];
	snprintf(path, sizeof(path), "%s/pwm/pwmchip0/pwm0/duty_cycle", dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0755), 0);

	feed("t2");
	cr_assert_eq(stub_n_published, 8);
	cr_assert_eq(state_at(0).position, PROTO_POSITION_OPEN);
	log_at(1, "t2");
	schedule_at(2, "2026-12-01");
	char reason[128];
	snprintf(reason, sizeof(reason), "servo: %s", strerror(EISDIR));
	struct proto_alert a = alert_at(3);
	cr_assert_str_eq(a.code, "dose_failed");
	cr_assert_eq(a.level, PROTO_LEVEL_CRITICAL);
	cr_assert_str_eq(a.source, "feeder");
	char message[256];
	snprintf(message, sizeof(message),
		 "dose t2 failed: %s; counted as given, please check the feeder", reason);
	cr_assert_str_eq(a.message, message);
	struct proto_feeder_event ev = event_at(4);
	cr_assert_str_eq(ev.id, "t2");
	cr_assert_eq(ev.result, PROTO_RESULT_FAILED);
	cr_assert_str_eq(ev.reason, reason);
	struct proto_feeder_state st = state_at(5);
	cr_assert_eq(st.position, PROTO_POSITION_HOME);
	cr_assert_eq(st.doses_today, 1, "a failed dose counts as given");
	log_at(6, "t2");
	schedule_at(7, "2026-12-01");

	/* No hold timer was started: nothing more comes. */
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(stub_n_published, 8);
	down();
	cr_assert_eq(stub_n_published, 8);
}

Test(feeder_app, back_pressure_holds_commands_and_sends_one_dropped_alert_on_drain)
{
	up("sim");
	stub_room = false; /* the broker is slow: answers do not fit */
	deliver(T "cmd", "{\"action\":\"call\",\"id\":\"c1\"}");
	cr_assert_eq(stub_n_published, 1, "the command taken is answered");
	cr_assert_eq(event_at(0).result, PROTO_RESULT_OK);
	cr_assert_eq(stub_pauses, 1, "held before the next message is handed over");
	cr_assert(stub_paused);

	/* A flood: mqttc drops what its queue cannot hold; no alert while held. */
	feeder_service.on_dropped(app, 1, 2, T "cmd");
	feeder_service.on_dropped(app, 0, 4, T "cmd");
	feeder_service.on_dropped(app, 0, 9, "iod/home/sensors/temperature"); /* not ours */
	cr_assert_eq(stub_n_published, 1);
	cr_assert_eq(stub_pauses, 1, "still one hold");

	stub_room = true;
	feeder_service.on_drained(app);
	cr_assert_eq(stub_n_published, 2);
	struct proto_alert a = alert_at(1);
	cr_assert_str_eq(a.code, PROTO_ALERT_COMMANDS_DROPPED);
	cr_assert_eq(a.level, PROTO_LEVEL_WARNING);
	cr_assert_str_eq(a.message,
			 "7 command(s) were dropped unread (1 over 1 MiB, 6 in a flood over the "
			 "queue of 1024); nothing was dispensed for them and their senders got no "
			 "event");
	cr_assert_eq(a.ts_ms, DEC01_1000);
	cr_assert_eq(stub_pauses, 2);
	cr_assert_not(stub_paused, "taking commands again");

	/* Once per episode: a second drain says nothing, commands are taken. */
	feeder_service.on_drained(app);
	cr_assert_eq(stub_n_published, 2);
	deliver(T "cmd", "{\"action\":\"call\",\"id\":\"c2\"}");
	cr_assert_eq(stub_n_published, 3);
	cr_assert_str_eq(event_at(2).id, "c2");
	cr_assert_eq(stub_pauses, 2);

	/* The next drop with room is alerted at once, counting only itself. */
	feeder_service.on_dropped(app, 0, 1, T "cmd");
	cr_assert_eq(stub_n_published, 4);
	cr_assert_str_eq(alert_at(3).message,
			 "1 command(s) were dropped unread (0 over 1 MiB, 1 in a flood over the "
			 "queue of 1024); nothing was dispensed for them and their senders got no "
			 "event");
	down();
}

Test(feeder_app, dropped_commands_alert_waits_for_room)
{
	up("sim");
	stub_room = false;
	feeder_service.on_dropped(app, 0, 3, T "cmd");
	cr_assert_eq(stub_n_published, 0, "no room: the alert waits");
	cr_assert_eq(stub_pauses, 1);
	cr_assert(stub_paused);
	stub_room = true;
	feeder_service.on_drained(app);
	cr_assert_eq(stub_n_published, 1);
	cr_assert_str_eq(alert_at(0).code, PROTO_ALERT_COMMANDS_DROPPED);
	cr_assert_not(stub_paused);
	down();
}

Test(feeder_app, ha_birth_publishes_discovery_again_then_state)
{
	up("sim");
	/* What the skeleton does on every (re)connect after info. */
	feeder_service.publish_discovery(app);
	feeder_service.on_connected(app);
	size_t first = stub_n_published;
	cr_assert_eq(first, 19, "15 entities, state, log, plan, schedule");
	static struct stub_publish connect_copy[15];
	memcpy(connect_copy, stub_published, sizeof(connect_copy));

	/* Home Assistant's birth (the skeleton: discovery, then on_ha_birth). */
	stub_reset();
	cr_assert_not_null(feeder_service.publish_discovery, "no discovery: no birth subscription");
	feeder_service.publish_discovery(app);
	feeder_service.on_ha_birth(app);
	cr_assert_eq(stub_n_published, 16);
	static const char *const configs[] = {
	    "homeassistant/button/iod_home_feeder/feed/config",
	    "homeassistant/button/iod_home_feeder/home/config",
	    "homeassistant/button/iod_home_feeder/call/config",
	    "homeassistant/button/iod_home_feeder/skip/config",
	    "homeassistant/button/iod_home_feeder/treat/config",
	    "homeassistant/switch/iod_home_feeder/schedule/config",
	    "homeassistant/sensor/iod_home_feeder/last_dose/config",
	    "homeassistant/sensor/iod_home_feeder/next_allowed/config",
	    "homeassistant/sensor/iod_home_feeder/next_scheduled/config",
	    "homeassistant/sensor/iod_home_feeder/runs_out/config",
	    "homeassistant/sensor/iod_home_feeder/doses_today/config",
	    "homeassistant/sensor/iod_home_feeder/pills_remaining/config",
	    "homeassistant/sensor/iod_home_feeder/position/config",
	    "homeassistant/binary_sensor/iod_home_feeder/clock_synced/config",
	    "homeassistant/event/iod_home_feeder/events/config",
	};
	for (size_t i = 0; i < 15; i++) {
		const struct stub_publish *p = &stub_published[i];
		cr_assert_str_eq(p->topic, configs[i]);
		cr_assert(p->retain);
		cr_assert_eq(p->qos, 1);
		cr_assert_str_eq(p->payload, connect_copy[i].payload, "%s as on connect", p->topic);
	}
	cr_assert(strstr(stub_published[0].payload, "\"command_topic\":\"" T "cmd\""), "%s",
		  stub_published[0].payload);
	struct proto_feeder_state st = state_at(15);
	cr_assert_eq(st.position, PROTO_POSITION_HOME);
	cr_assert_eq(st.doses_today, 0);
	down();
}

/* The device and origin blocks every feeder entity carries (no dashboard). */
#define HA_TAIL                                                                                    \
	"\"availability_topic\":\"iod/home/feeder/availability\",\"payload_available\":"           \
	"\"online\",\"payload_not_available\":\"offline\",\"device\":{\"identifiers\":"            \
	"[\"iod_home_feeder\"],\"name\":\"iod feeder (home)\",\"manufacturer\":\"iod\","           \
	"\"model\":\"iod-feeder\",\"sw_version\":\"" IOD_VERSION "\"},\"origin\":{\"name\":"       \
	"\"iod\",\"sw_version\":\"" IOD_VERSION "\"}"
#define HA_CMD_TEMPLATE                                                                            \
	"{\\\"action\\\":\\\"{{ value }}\\\",\\\"id\\\":\\\"ha-{{ value }}-{{ "                    \
	"(now().timestamp() * 1000000) | int }}\\\",\\\"ts\\\":{{ (now().timestamp() * 1000) | "   \
	"int }},\\\"by\\\":\\\"homeassistant\\\"}"

static const char *config_of(const char *topic)
{
	for (size_t i = 0; i < stub_n_published; i++)
		if (strcmp(stub_published[i].topic, topic) == 0) {
			cr_assert(stub_published[i].retain, "%s retained", topic);
			cr_assert_eq(stub_published[i].qos, 1, "%s QoS", topic);
			return stub_published[i].payload;
		}
	cr_assert_fail("%s not published", topic);
	return NULL;
}

/* Issue 11's Home Assistant entities, byte for byte: the schedule switch
 * (state from the retained plan, pause/resume as full commands), skip
 * next and treat buttons, pills remaining and when they run out. */
Test(feeder_app, ha_care_plan_entities_byte_for_byte)
{
	up("sim");
	feeder_service.publish_discovery(app);
	cr_assert_eq(stub_n_published, 15);
	cr_assert_str_eq(
	    config_of("homeassistant/binary_sensor/iod_home_feeder/clock_synced/config"),
	    "{\"name\":\"Clock synchronised\",\"unique_id\":\"iod_home_feeder_clock_synced\","
	    "\"default_entity_id\":\"binary_sensor.iod_home_feeder_clock_synced\"," HA_TAIL
	    ",\"state_topic\":\"iod/home/feeder/state\",\"value_template\":\"{{ 'ON' if "
	    "value_json.clock_synced else 'OFF' }}\",\"payload_on\":\"ON\",\"payload_off\":\"OFF\","
	    "\"entity_category\":\"diagnostic\",\"icon\":\"mdi:clock-check-outline\"}");
	/* feeder/event as HA's event entity: every <action>_<result>. */
	const char *events = config_of("homeassistant/event/iod_home_feeder/events/config");
	cr_assert(strstr(events, "\"state_topic\":\"iod/home/feeder/event\""), "%s", events);
	cr_assert(strstr(events,
			 "\"event_types\":[\"feed_ok\",\"feed_rejected\",\"feed_duplicate\","
			 "\"feed_failed\",\"home_ok\""),
		  "%s", events);
	cr_assert(
	    strstr(events,
		   "\"verify_ok\",\"verify_rejected\",\"verify_duplicate\","
		   "\"verify_failed\",\"unknown_ok\",\"unknown_rejected\",\"unknown_duplicate\","
		   "\"unknown_failed\"]"),
	    "%s", events);
	cr_assert(strstr(events, "\"refill_failed\""), "%s", events);
	cr_assert(strstr(events,
			 "\"value_template\":\"{{ {\\\"event_type\\\": (value_json.action or "
			 "'unknown') ~ '_' ~ value_json.result"),
		  "%s", events);
	cr_assert_str_eq(
	    config_of("homeassistant/switch/iod_home_feeder/schedule/config"),
	    "{\"name\":\"Schedule\",\"unique_id\":\"iod_home_feeder_schedule\","
	    "\"default_entity_id\":\"switch.iod_home_feeder_schedule\"," HA_TAIL
	    ",\"state_topic\":\"iod/home/feeder/plan\",\"value_template\":\"{{ 'OFF' if "
	    "value_json.paused else 'ON' }}\",\"state_on\":\"ON\",\"state_off\":\"OFF\","
	    "\"command_topic\":\"iod/home/feeder/cmd\",\"payload_on\":\"resume\","
	    "\"payload_off\":\"pause\",\"command_template\":\"" HA_CMD_TEMPLATE "\","
	    "\"qos\":1,\"retain\":false,\"icon\":\"mdi:calendar-clock\"}");
	cr_assert_str_eq(config_of("homeassistant/button/iod_home_feeder/skip/config"),
			 "{\"name\":\"Skip next dose\",\"unique_id\":\"iod_home_feeder_skip\","
			 "\"default_entity_id\":\"button.iod_home_feeder_skip\"," HA_TAIL
			 ",\"command_topic\":\"iod/home/feeder/cmd\",\"payload_press\":\"skip\","
			 "\"command_template\":\"" HA_CMD_TEMPLATE "\",\"qos\":1,\"retain\":false,"
			 "\"icon\":\"mdi:debug-step-over\"}");
	cr_assert_str_eq(config_of("homeassistant/button/iod_home_feeder/treat/config"),
			 "{\"name\":\"Treat\",\"unique_id\":\"iod_home_feeder_treat\","
			 "\"default_entity_id\":\"button.iod_home_feeder_treat\"," HA_TAIL
			 ",\"command_topic\":\"iod/home/feeder/cmd\",\"payload_press\":\"treat\","
			 "\"command_template\":\"" HA_CMD_TEMPLATE "\",\"qos\":1,\"retain\":false,"
			 "\"icon\":\"mdi:bone\"}");
	cr_assert_str_eq(
	    config_of("homeassistant/sensor/iod_home_feeder/pills_remaining/config"),
	    "{\"name\":\"Pills remaining\",\"unique_id\":\"iod_home_feeder_pills_remaining\","
	    "\"default_entity_id\":\"sensor.iod_home_feeder_pills_remaining\"," HA_TAIL
	    ",\"state_topic\":\"iod/home/feeder/state\",\"value_template\":\"{{ "
	    "value_json.pills_remaining if value_json.pills_remaining is not none else None }}\","
	    "\"unit_of_measurement\":\"pills\",\"state_class\":\"measurement\","
	    "\"icon\":\"mdi:pill-multiple\"}");
	cr_assert_str_eq(
	    config_of("homeassistant/sensor/iod_home_feeder/runs_out/config"),
	    "{\"name\":\"Pills run out\",\"unique_id\":\"iod_home_feeder_runs_out\","
	    "\"default_entity_id\":\"sensor.iod_home_feeder_runs_out\"," HA_TAIL
	    ",\"state_topic\":\"iod/home/feeder/state\",\"device_class\":\"timestamp\","
	    "\"value_template\":\"{{ (value_json.runs_out / 1000) | "
	    "timestamp_custom('%Y-%m-%dT%H:%M:%S%z', false) if value_json.runs_out else None "
	    "}}\"}");
	down();
}

Test(feeder_app, stop_during_a_dose_journals_it_interrupted_and_doses_no_more)
{
	up("sim");
	feed("t3");
	cr_assert_eq(stub_n_published, 5,
		     "state, log, schedule, the sim's pill and the camera's snapshot request");
	cr_assert_eq(state_at(0).position, PROTO_POSITION_OPEN);

	/* SIGTERM mid-hold: the skeleton's stop path calls feeder_service.stop. */
	clk.wall_ms += 300;
	clk.mono_ms += 300;
	feeder_service.stop(app);
	cr_assert_eq(stub_n_published, 10);
	struct proto_alert a = alert_at(5);
	cr_assert_str_eq(a.code, "dose_failed");
	cr_assert_eq(a.level, PROTO_LEVEL_CRITICAL);
	struct proto_feeder_event ev = event_at(6);
	cr_assert_str_eq(ev.id, "t3");
	cr_assert_eq(ev.result, PROTO_RESULT_FAILED);
	cr_assert_str_eq(ev.reason, INTERRUPTED);
	cr_assert_eq(ev.ts_ms, DEC01_1000 + 300);
	cr_assert_eq(state_at(7).position, PROTO_POSITION_HOME);
	log_at(8, "t3");
	schedule_at(9, "2026-12-01");
	feeder_service.stop(app); /* idempotent */
	cr_assert_eq(stub_n_published, 10);
	/* The hold timer is closed: the loop runs dry without a second end. */
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(stub_n_published, 10);
	feeder_service.destroy(app);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cfg_free(cfg);

	/* The completion was journaled: a restart finds no uncertain dose, the
	 * same id is a duplicate and a new one is too soon. No second dose. */
	clk.wall_ms += 60 * 1000;
	clk.mono_ms += 60 * 1000;
	cr_assert_eq(make("sim", NULL), 0);
	cr_assert_eq(feeder_service.start(app), 0);
	for (size_t i = 0; i < stub_n_published; i++)
		cr_assert(!strstr(stub_published[i].payload, "uncertain_dose"), "%s: %s",
			  stub_published[i].topic, stub_published[i].payload);
	stub_reset();
	feed("t3");
	cr_assert_eq(stub_n_published, 1);
	ev = event_at(0);
	cr_assert_eq(ev.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(ev.reason, "failed:" INTERRUPTED);
	feed("t4");
	cr_assert_eq(stub_n_published, 2);
	ev = event_at(1);
	cr_assert_str_eq(ev.id, "t4");
	cr_assert_eq(ev.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(ev.reason, "too_soon");
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(stub_n_published, 2, "nothing dispensing");
	down();
}

Test(feeder_app, the_service_table)
{
	cr_assert_str_eq(feeder_service.name, "feeder");
	cr_assert(feeder_service.data_dir_optional, "fail safe: no data dir, doses refused");
	cr_assert_eq(feeder_service.queue_limit, MQTTC_QUEUE_DEFAULT);
	cr_assert_eq(feeder_service.max_payload, PROTO_CMD_READ_MAX);
	cr_assert_eq(feeder_service.n_options, feeder_app_options_count);
	/* The session outlives an outage as long as a command stays valid. */
	char *argv[] = {"iod-feeder", "--feeder-cmd-ttl=91s", NULL};
	int rc = 0;
	struct cfg *c = cfg_load("feeder", "iod-feeder", feeder_app_options,
				 feeder_app_options_count, 2, argv, &rc);
	cr_assert_not_null(c);
	cr_assert_eq(feeder_service.session_expiry(c), 91);
	cfg_free(c);
	char *argv3[] = {"iod-feeder", NULL};
	c = cfg_load("feeder", "iod-feeder", feeder_app_options, feeder_app_options_count, 1, argv3,
		     &rc);
	cr_assert_not_null(c);
	cr_assert_eq(feeder_service.session_expiry(c), 60);
	cr_assert_eq(cfg_int(c, "IOD_FEEDER_IDS"), FEEDER_ID_MEMORY_DEFAULT);
	cr_assert_eq(cfg_int(c, "IOD_FEEDER_JOURNAL_MAX"), FEEDER_COMPACT_BYTES_DEFAULT);
	cfg_free(c);
}

/* The state's next_allowed as on_connected publishes it; *plan its plan. */
static int64_t next_allowed_now(struct proto_plan *plan)
{
	stub_reset();
	feeder_service.on_connected(app);
	cr_assert_eq(stub_n_published, 4, "state, log, plan, schedule");
	schedule_at(3, "2026-12-01");
	*plan = plan_at(2);
	return state_at(0).next_allowed_ms;
}

Test(feeder_app, the_vets_bounds_and_reset_plan_reach_the_rules)
{
	/* A seed under the bound (default 4 h) stops the start, exit 2. */
	static const char *const under[] = {"--feeder-min-interval=1h", NULL};
	cr_assert_eq(make("sim", under), 2);

	/* Within a looser bound, the plan's own 1 h rules. */
	static const char *const one_hour[] = {"--feeder-bound-min-interval=30m",
					       "--feeder-bound-max-daily=6",
					       "--feeder-min-interval=1h", NULL};
	struct proto_plan plan;
	up_with("sim", one_hour);
	feed("b1");
	run_until(T "event", 1);
	cr_assert_eq(event_at(5).result, PROTO_RESULT_OK);
	cr_assert_eq(next_allowed_now(&plan), DEC01_1000 + 3600 * 1000LL);
	cr_assert_eq(plan.rev, 1);
	cr_assert_str_eq(plan.changed_by, "env");
	cr_assert_eq(plan.min_interval_s, 3600);
	cr_assert_eq(plan.bound_min_interval_s, 1800);
	cr_assert_eq(plan.bound_max_daily, 6);
	down();

	/* A later start: the journaled plan rules, a differing setting is not
	 * taken... */
	static const char *const two_hours[] = {"--feeder-bound-min-interval=30m",
						"--feeder-min-interval=2h", NULL};
	up_with("sim", two_hours);
	cr_assert_eq(next_allowed_now(&plan), DEC01_1000 + 3600 * 1000LL);
	cr_assert_eq(plan.rev, 1);
	cr_assert_eq(plan.min_interval_s, 3600);
	down();
	/* ...unless the plan is reset from the settings. */
	static const char *const reset[] = {"--feeder-bound-min-interval=30m",
					    "--feeder-min-interval=2h", "--reset-plan", NULL};
	up_with("sim", reset);
	cr_assert_eq(next_allowed_now(&plan), DEC01_1000 + 2 * 3600 * 1000LL);
	cr_assert_eq(plan.rev, 2);
	cr_assert_str_eq(plan.changed_by, "reset-plan");
	cr_assert_eq(plan.min_interval_s, 7200);
	down();
	/* The bound holds over a plan with a shorter interval: 3 h here. */
	static const char *const bound[] = {"--feeder-bound-min-interval=3h",
					    "--feeder-min-interval=3h", NULL};
	up_with("sim", bound);
	cr_assert_eq(next_allowed_now(&plan), DEC01_1000 + 3 * 3600 * 1000LL);
	cr_assert_eq(plan.min_interval_s, 7200, "the journaled plan, held to the bound");
	cr_assert_eq(plan.bound_min_interval_s, 3 * 3600);
	down();
}

Test(feeder_app, local_midnight_republishes_state_and_the_new_days_schedule)
{
	/* 300 ms before local midnight by the injected clock: the timer waits
	 * that long, then the glue reads the clock past midnight. */
	clk.wall_ms = DEC01_1000 + 14 * 3600 * 1000LL - 300;
	up("sim");
	clk.wall_ms += 400;
	clk.mono_ms += 400;
	run_until(T "schedule", 1);
	cr_assert_eq(stub_n_published, 2);
	struct proto_feeder_state st = state_at(0);
	cr_assert_eq(st.doses_today, 0);
	schedule_at(1, "2026-12-02");
	down();
}

Test(feeder_app, the_bare_reset_plan_flag)
{
	char *argv[] = {"iod-feeder", "--reset-plan", "--site=home", NULL};
	feeder_app_argv(3, argv);
	cr_assert_str_eq(argv[1], "--feeder-reset-plan=1");
	cr_assert_str_eq(argv[2], "--site=home");
	int rc = 0;
	struct cfg *c = cfg_load("feeder", "iod-feeder", feeder_app_options,
				 feeder_app_options_count, 3, argv, &rc);
	cr_assert_not_null(c, "exit code %d", rc);
	cr_assert(cfg_bool(c, "IOD_FEEDER_RESET_PLAN"));
	cfg_free(c);
	char *plain[] = {"iod-feeder", "--site=home", NULL};
	c = cfg_load("feeder", "iod-feeder", feeder_app_options, feeder_app_options_count, 2, plain,
		     &rc);
	cr_assert_not_null(c);
	cr_assert_not(cfg_bool(c, "IOD_FEEDER_RESET_PLAN"));
	cfg_free(c);
}

/* service_def.check: the seed against the bounds, before anything opens. */
Test(feeder_app, the_check_holds_the_seed_to_the_bounds)
{
	cr_assert(feeder_service.check == feeder_app_check);
	char *argv[] = {"iod-feeder", "--feeder-max-daily=5", NULL};
	int rc = 0;
	struct cfg *c = cfg_load("feeder", "iod-feeder", feeder_app_options,
				 feeder_app_options_count, 2, argv, &rc);
	cr_assert_not_null(c);
	char why[256] = "";
	cr_assert_eq(feeder_service.check(c, why, sizeof(why)), 1);
	cr_assert_str_eq(
	    why, "IOD_FEEDER_MAX_DAILY 5 is over the vet's bound IOD_FEEDER_BOUND_MAX_DAILY 4");
	cfg_free(c);
	char *plain[] = {"iod-feeder", NULL};
	c = cfg_load("feeder", "iod-feeder", feeder_app_options, feeder_app_options_count, 1, plain,
		     &rc);
	cr_assert_not_null(c);
	cr_assert_eq(feeder_service.check(c, why, sizeof(why)), 0);
	cfg_free(c);
}

static size_t event_index(const char *id)
{
	for (size_t i = 0; i < stub_n_published; i++)
		if (strcmp(stub_published[i].topic, T "event") == 0 &&
		    strstr(stub_published[i].payload, id))
			return i;
	cr_assert_fail("no event for %s", id);
	return 0;
}

/* The sim treat dispenser (IOD_FEEDER_TREAT_SERVO unset beside a sim
 * servo): a treat during a dose's hold opens its own servo, and both are
 * answered ok; with none it is no_treat_dispenser. */
Test(feeder_app, a_treat_during_a_dose_uses_the_second_servo)
{
	up("sim");
	feed("d1");
	deliver(T "cmd", "{\"action\":\"treat\",\"id\":\"tr1\",\"by\":\"ann\"}");
	cr_assert_eq(stub_count(T "event"), 0, "both servos hold: no answer yet");
	clk.wall_ms += 1000;
	clk.mono_ms += 1000;
	run_until(T "event", 2);
	struct proto_feeder_event ev = event_at(event_index("\"d1\""));
	cr_assert_eq(ev.result, PROTO_RESULT_OK, "%s", ev.reason);
	ev = event_at(event_index("\"tr1\""));
	cr_assert_str_eq(ev.action, "treat");
	cr_assert_eq(ev.result, PROTO_RESULT_OK, "%s", ev.reason);
	down();

	static const char *const none[] = {"--feeder-treat-servo=none", NULL};
	up_with("sim", none);
	deliver(T "cmd", "{\"action\":\"treat\",\"id\":\"tr2\",\"by\":\"ann\"}");
	cr_assert_eq(stub_count(T "event"), 1);
	ev = event_at(event_index("\"tr2\""));
	cr_assert_eq(ev.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(ev.reason, PROTO_REASON_NO_TREAT_DISPENSER);
	down();
}
