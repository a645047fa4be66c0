/*
 * app — see app.h. The decisions are in feeder.c; this file publishes them,
 * moves the hardware and keeps the timers. Everything runs on the loop
 * thread (mqttc hands Paho's messages over).
 */
#include "app.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cfg.h"
#include "flap.h"
#include "ha.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"
#include "proto.h"
#include "schedule.h"
#include "servo.h"
#include "speaker.h"
#include "sysclock.h"

/* The schedule timer never sleeps longer than this, so a wall clock that
 * is set (NTP on a Pi without a battery clock) is noticed within it. */
#define SCHEDULE_RECHECK_MS (60LL * 60 * 1000)

/* The most publishes one incoming message leads to: apply() publishes up to
 * FEEDER_MAX_ALERTS alerts, the event, the state, the log, the plan and the
 * schedule, and as much again for the hardware's report; Home Assistant's
 * birth message HA_ENTITIES discovery configs and the state. A command is
 * taken only when its answers fit (see feeder_app_on_message). */
#define ANSWER_MAX (2 * (FEEDER_MAX_ALERTS + 5))

/* The entities feeder_app_publish_discovery announces (its unit test
 * counts them): five buttons, the schedule switch, seven sensors, the
 * clock's binary sensor and the events. */
#define HA_ENTITIES 15
_Static_assert(HA_ENTITIES + 1 <= ANSWER_MAX, "a birth's publishes must fit ANSWER_MAX");

/* A default the rules also apply (feeder.h), as the option table's text. */
#define DEFAULT_TEXT(x)	 DEFAULT_TEXT_(x)
#define DEFAULT_TEXT_(x) #x

/* IOD_FEEDER_SCHEDULE's rule is schedule_parse's: cfg runs it at start and
 * for --check-config. */
static bool schedule_check(const char *value, char *why, size_t why_size)
{
	struct schedule s;
	const char *reason = NULL;

	if (schedule_parse(value, &s, &reason) == 0)
		return true;
	snprintf(why, why_size, "'%s': %s", value, reason ? reason : "not a schedule");
	return false;
}

/* IOD_FEEDER_SENSE's rule is flap_spec_parse's. */
static bool sense_check(const char *value, char *why, size_t why_size)
{
	struct flap_spec spec;
	char reason[128];
	if (flap_spec_parse(value, &spec, reason, sizeof(reason)) == 0)
		return true;
	snprintf(why, why_size, "'%s': %s", value, reason);
	return false;
}

static bool sim_fault_check(const char *value, char *why, size_t why_size)
{
	if (strcmp(value, "none") == 0 || strcmp(value, "jam") == 0)
		return true;
	snprintf(why, why_size, "'%s': expected none or jam", value);
	return false;
}

/* IOD_FEEDER_CLOCK names one of sysclock's backends. */
static bool clock_check(const char *value, char *why, size_t why_size)
{
	struct sysclock *c = sysclock_open(value, why, why_size);
	sysclock_close(c);
	return c != NULL;
}

const struct cfg_option feeder_app_options[] = {
    {"IOD_FEEDER_MIN_INTERVAL", CFG_DURATION, "6h", "minimum time between two doses", 1000,
     7LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_FEEDER_MAX_DAILY", CFG_INT, "3", "most doses per local calendar day", 1, 48, 0, NULL},
    {"IOD_FEEDER_SCHEDULE", CFG_STRING, "07:00,15:00,23:00",
     "scheduled doses, local HH:MM comma list, or 'none'", 0, 0, 0, schedule_check},
    {"IOD_FEEDER_GRACE", CFG_DURATION, "60m",
     "a slot missed while down is still dosed on start within this", 0, 24LL * 3600 * 1000, 0,
     NULL},
    {"IOD_FEEDER_CMD_TTL", CFG_DURATION, "60s",
     "commands whose ts is older (or further ahead) are rejected", 1000, 3600 * 1000, 0, NULL},
    {"IOD_FEEDER_SERVO", CFG_STRING, "sim", "servo: sim or pwm:<chip>:<channel>", 0, 0, 0, NULL},
    /* Unset: sim beside a sim medication servo (so a sim feeder gives
     * treats), none beside real hardware (a treat servo must be named). */
    {"IOD_FEEDER_TREAT_SERVO", CFG_STRING, NULL,
     "treat dispenser: sim, none or pwm:<chip>:<channel> (default sim when IOD_FEEDER_SERVO is "
     "sim, else none)",
     0, 0, 0, NULL},
    {"IOD_FEEDER_SPEAKER", CFG_STRING, "sim", "speaker: sim or alsa:<device>", 0, 0, 0, NULL},
    {"IOD_FEEDER_HOLD", CFG_DURATION, "1s", "how long the feeder stays open for a dose", 1000,
     60 * 1000, 0, NULL},
    /* Clock health (state's clock_synced, the clock_unsynced alert): the
     * kernel's word, or a fake for tests. */
    {"IOD_FEEDER_CLOCK", CFG_STRING, "adjtimex",
     "clock health: adjtimex (the kernel's word), sim:synced or sim:unsynced", 0, 0, 0,
     clock_check},
    {"IOD_FEEDER_PWM_ROOT", CFG_STRING, "/sys/class/pwm", "PWM sysfs root (pwm servo)", 0, 0, 0,
     NULL},
    {"IOD_FEEDER_PWM_PERIOD", CFG_INT, "20000000", "PWM period in ns (pwm servo)", 1000, 1000000000,
     0, NULL},
    {"IOD_FEEDER_PWM_REST", CFG_INT, "1000", "pulse width at rest/home in us (pwm servo)", 1,
     1000000, 0, NULL},
    {"IOD_FEEDER_PWM_OPEN", CFG_INT, "2000", "pulse width open in us (pwm servo)", 1, 1000000, 0,
     NULL},
    /* The vet's limits (docs/design.md "Feeder safety"): set only here, in
     * the service's environment, never over MQTT; every dose and every plan
     * is held to them. The seed settings above must lie within them. */
    {"IOD_FEEDER_BOUND_MIN_INTERVAL", CFG_DURATION, "4h",
     "the vet's bound: no two doses closer than this, whatever the plan says", 1000,
     7LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_FEEDER_BOUND_MAX_DAILY", CFG_INT, DEFAULT_TEXT(FEEDER_BOUND_MAX_DAILY_DEFAULT),
     "the vet's bound: most doses per local calendar day, whatever the plan says", 1, 48, 0, NULL},
    {"IOD_FEEDER_RESET_PLAN", CFG_BOOL, "0",
     "--reset-plan (or this set to 1): the plan is seeded again from IOD_FEEDER_SCHEDULE, "
     "_MIN_INTERVAL, _MAX_DAILY and _GRACE (a new rev) instead of the journaled one",
     0, 0, 0, NULL},
    {"IOD_FEEDER_IDS", CFG_INT, DEFAULT_TEXT(FEEDER_ID_MEMORY_DEFAULT),
     "command ids remembered for duplicates (besides doses)", 1000, 1000000, 0, NULL},
    {"IOD_FEEDER_JOURNAL_MAX", CFG_INT, DEFAULT_TEXT(FEEDER_COMPACT_BYTES_DEFAULT),
     "compact the journal above this many bytes", 65536, 1LL << 30, 0, NULL},
    /* Verified dispense: the bowl's scale (iod/<site>/sensors/bowl) must
     * rise this much within the window after a dose. */
    {"IOD_FEEDER_VERIFY_WINDOW", CFG_DURATION, "60s",
     "after a dose, how long the bowl has to show the pill", 1000, 3600 * 1000, 0, NULL},
    {"IOD_FEEDER_VERIFY_MIN_G", CFG_NUMBER, "1",
     "grams the bowl must rise by to verify a dose (0: no verification)", 0, 1000, 0, NULL},
    /* The flap sensor: after the servo opens the flap must be seen to
     * open within the timeout, else the dose is failed, jammed. */
    {"IOD_FEEDER_SENSE", CFG_STRING, "none", "flap sensor: none, sim or gpio:<chip>:<line>", 0, 0,
     0, sense_check},
    {"IOD_FEEDER_SENSE_TIMEOUT", CFG_DURATION, "2s",
     "how long the flap has to open after the servo did (else the dose is jammed)", 100, 60 * 1000,
     0, NULL},
    /* Tests: the sim servo moves but nothing comes out. */
    {"IOD_FEEDER_SIM_FAULT", CFG_STRING, "none",
     "sim servo fault: none or jam (it moves, no pill falls; sim servo only)", 0, 0, 0,
     sim_fault_check},
};
const size_t feeder_app_options_count = sizeof(feeder_app_options) / sizeof(feeder_app_options[0]);

struct feeder_app {
	struct feeder *feeder;
	struct servo *servo;
	struct servo *treat_servo; /* NULL: none (treat is no_treat_dispenser) */
	struct speaker *speaker;
	struct mqttc *mqtt;
	struct feeder_app_clock clock;
	uv_timer_t hold_timer;
	uv_timer_t treat_timer; /* the treat servo's own hold: never waits on a dose */
	bool treating;		/* the treat servo is open */
	uv_timer_t schedule_timer;
	uv_timer_t midnight_timer; /* republishes state when the local day changes */
	int64_t midnight_ms;	   /* the local midnight it waits for */
	bool timers_open;
	bool stopping;
	bool verify;		/* IOD_FEEDER_VERIFY_MIN_G > 0: the bowl is watched */
	bool held;		/* back-pressure: no commands taken until on_drained */
	int64_t held_since_ms;	/* when it engaged (for the log line) */
	uint64_t held_dropped;	/* commands dropped during the episode */
	uint64_t drop_oversize; /* dropped commands not yet in an alert */
	uint64_t drop_queue_full;
	int64_t hold_ms;
	struct feeder_result startup; /* feeder_new's, published by feeder_app_start */
	const char *site;
	struct ha_device ha;
	char dashboard_url[512];
	char backend[160];
	char t_cmd[PROTO_TOPIC_MAX], t_event[PROTO_TOPIC_MAX], t_state[PROTO_TOPIC_MAX];
	char t_log[PROTO_TOPIC_MAX], t_plan[PROTO_TOPIC_MAX], t_schedule[PROTO_TOPIC_MAX];
	char t_bowl[PROTO_TOPIC_MAX];	    /* iod/<site>/sensors/bowl: verified dispense */
	char t_camera_cmd[PROTO_TOPIC_MAX]; /* iod/<site>/camera/cmd: a snapshot per dose */
	/* Clock health: IOD_FEEDER_CLOCK, the clock-set watcher, and the file
	 * that keeps the boot whose clock_unsynced alert was raised. */
	struct sysclock *sysclock;
	struct sysclock_steps *steps;
	char boot_id[40];
	char clock_alert_path[PATH_MAX];
	/* The sim's physics (sim servos only): a pill fell. Not the contract. */
	char t_sim_dispensed[PROTO_TOPIC_MAX];
	/* The flap sensor (NULL: none) and the dose's wait for it. */
	struct flap *flap;
	uv_poll_t *flap_poll; /* gpio: its event fd (heap: closed asynchronously) */
	uv_timer_t flap_timer;
	struct flap_watch flap_watch;
	int64_t sense_timeout_ms;
	bool hold_over; /* the hold ended; the dose waits for the flap's verdict */
};

/* arg: the struct feeder_app, whose sysclock says whether the wall clock is
 * synchronised (read with every now: one system call). */
static struct feeder_now real_clocks(void *arg)
{
	struct feeder_app *a = arg;
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (struct feeder_now){
	    .wall_ms = loop_wall_ms(),
	    .mono_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
	    .clock_unsynced = a->sysclock && !sysclock_synced(a->sysclock),
	};
}

static struct feeder_now now_clocks(const struct feeder_app *a)
{
	return a->clock.now(a->clock.arg);
}

static int64_t wall_ms(const struct feeder_app *a)
{
	return now_clocks(a).wall_ms;
}

static void publish_owned(struct feeder_app *a, const char *topic, char *json, bool retain)
{
	if (!json) {
		log_error("out of memory encoding %s", topic);
		return;
	}
	mqttc_publish_str(a->mqtt, topic, json, 1, retain);
	free(json);
}

static void publish_state(struct feeder_app *a)
{
	struct feeder_now now = now_clocks(a);
	struct proto_feeder_state st;
	feeder_state(a->feeder, &now, &st);
	publish_owned(a, a->t_state, proto_feeder_state_encode(&st), true);
}

static void publish_log(struct feeder_app *a)
{
	struct proto_dose doses[PROTO_LOG_MAX];
	size_t n = feeder_log(a->feeder, doses, PROTO_LOG_MAX);
	publish_owned(a, a->t_log, proto_feeder_log_encode(doses, n), true);
}

/* The care plan as the rules hold it (retained): every change, every
 * (re)connect. */
static void publish_plan(struct feeder_app *a)
{
	publish_owned(a, a->t_plan, proto_plan_encode(feeder_plan(a->feeder)), true);
}

/* Today's and tomorrow's slots with their status (retained): every change,
 * every (re)connect and local midnight. */
static void publish_schedule(struct feeder_app *a)
{
	struct feeder_now now = now_clocks(a);
	struct proto_schedule sched;
	feeder_schedule(a->feeder, &now, &sched);
	publish_owned(a, a->t_schedule, proto_schedule_encode(&sched), true);
}

static void arm_schedule(struct feeder_app *a);
static void on_hold_done(uv_timer_t *t);
static void on_treat_done(uv_timer_t *t);
static void apply(struct feeder_app *a, const struct feeder_result *res);

/* The sim's physical link: a sim servo opened and was not jammed, so a pill
 * (or a treat) fell into the bowl; the sensors' simulated bowl fills on
 * this. Sim servos only (servo_sim_dispenses): a real feeder never says
 * it, its bowl is weighed or not at all. */
static void publish_sim_dispensed(struct feeder_app *a, const char *dispenser, const char *id)
{
	cJSON *o = cJSON_CreateObject();
	char *json = NULL;
	if (o && cJSON_AddStringToObject(o, "dispenser", dispenser) &&
	    cJSON_AddStringToObject(o, "id", id ? id : "") &&
	    cJSON_AddNumberToObject(o, "ts", (double)wall_ms(a)))
		json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	publish_owned(a, a->t_sim_dispensed, json, false);
}

/* The dose is over: the servo is home and, with a flap sensor, its
 * verdict is in. */
static void finish_dose(struct feeder_app *a, bool ok, const char *why)
{
	uv_timer_stop(&a->flap_timer);
	flap_watch_disarm(&a->flap_watch);
	a->hold_over = false;
	struct feeder_now now = now_clocks(a);
	struct feeder_result res;
	feeder_dose_done(a->feeder, ok, why, &now, &res);
	apply(a, &res);
}

/* After the hold: done once the flap's verdict is in (at once without a
 * sensor, or when it was seen already); else the flap or its deadline
 * decides. */
static void settle_dose(struct feeder_app *a)
{
	if (!a->hold_over)
		return;
	switch (flap_watch_verdict(&a->flap_watch, now_clocks(a).mono_ms)) {
	case FLAP_WAIT:
		return;
	case FLAP_JAMMED:
		log_error("flap sensor %s: the flap was not seen to open within %lld ms: jammed",
			  flap_backend(a->flap), (long long)a->sense_timeout_ms);
		finish_dose(a, false, PROTO_REASON_JAMMED);
		return;
	case FLAP_SEEN:
	case FLAP_IDLE:
		finish_dose(a, true, "");
		return;
	}
}

static void on_flap_timer(uv_timer_t *t)
{
	struct feeder_app *a = t->data;
	int64_t mono = now_clocks(a).mono_ms;
	if (flap_watch_verdict(&a->flap_watch, mono) == FLAP_WAIT) {
		/* libuv's clock ran a little ahead of ours: the rest of it. */
		int64_t wait = flap_watch_wait_ms(&a->flap_watch, mono);
		uv_timer_start(&a->flap_timer, on_flap_timer, (uint64_t)wait + 1, 0);
		return;
	}
	settle_dose(a);
}

static void flap_opened(struct feeder_app *a)
{
	if (!a->flap_watch.armed) {
		log_debug("flap sensor %s: opened outside a dose", flap_backend(a->flap));
		return;
	}
	flap_watch_opened(&a->flap_watch, now_clocks(a).mono_ms);
	settle_dose(a);
}

static void on_flap_readable(uv_poll_t *p, int status, int events)
{
	(void)events;
	struct feeder_app *a = p->data;
	int n = status < 0 ? -1 : flap_read(a->flap);
	if (n < 0) {
		/* Fail visible: every dose from now on is failed jammed, with
		 * its critical alert, until the feeder is restarted. */
		log_error("flap sensor %s: its events cannot be read any more (the chip went "
			  "away?): doses will fail as jammed",
			  flap_backend(a->flap));
		uv_poll_stop(p);
		return;
	}
	if (n > 0)
		flap_opened(a);
}

/* The medication servo has opened: what falls, and the flap's wait. */
static void dose_opened(struct feeder_app *a)
{
	bool falls = servo_sim_dispenses(a->servo);
	if (falls)
		publish_sim_dispensed(a, "medication", feeder_dose_id(a->feeder));
	a->hold_over = false;
	if (!a->flap)
		return;
	flap_watch_arm(&a->flap_watch, now_clocks(a).mono_ms, a->sense_timeout_ms);
	uv_timer_start(&a->flap_timer, on_flap_timer, (uint64_t)a->sense_timeout_ms, 0);
	if (flap_servo_opened(a->flap, falls) > 0)
		flap_watch_opened(&a->flap_watch, now_clocks(a).mono_ms);
}

/* The camera takes a picture for the dose whose servo just opened:
 * {"action":"snapshot","for":"dose:<id>"} on camera/cmd, QoS 1, not
 * retained. Fire and forget: nothing waits for the picture, and a feeder
 * without a camera doses exactly as before (the broker drops the request).
 * One publish at a dose's start, which has no event: within ANSWER_MAX. */
static void request_snapshot(struct feeder_app *a)
{
	const char *id = feeder_dose_id(a->feeder);
	if (!id)
		return;
	char what[PROTO_ID_MAX + 8];
	snprintf(what, sizeof(what), "dose:%s", id);
	cJSON *o = cJSON_CreateObject();
	char *json = NULL;
	if (o && cJSON_AddStringToObject(o, "action", "snapshot") &&
	    cJSON_AddStringToObject(o, "for", what))
		json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	publish_owned(a, a->t_camera_cmd, json, false);
}

/* clock_unsynced was raised: keep this boot's id in the data dir, so a
 * restart in the same boot does not raise it again. Replaced whole
 * (atomicfile.h); a failure only costs a repeat of the warning. */
static void keep_clock_alerted(struct feeder_app *a)
{
	if (!a->boot_id[0] || !a->clock_alert_path[0])
		return;
	char line[sizeof(a->boot_id) + 1];
	int len = snprintf(line, sizeof(line), "%s\n", a->boot_id);
	int rc = atomicfile_replace(a->clock_alert_path, line, (size_t)len, 0600);
	if (rc < 0)
		log_warn("%s: %s: clock_unsynced may be raised again after a restart",
			 a->clock_alert_path, strerror(-rc));
}

/* Publish what a feeder call decided and perform the hardware action it
 * asks for; reporting back to the feeder yields another result, handled
 * the same way (at most one level deeper). */
static void apply(struct feeder_app *a, const struct feeder_result *res)
{
	for (size_t i = 0; i < res->n_alerts; i++)
		service_alert_publish(a->mqtt, a->site, &res->alerts[i]);
	if (res->clock_alerted)
		keep_clock_alerted(a);
	if (res->has_event)
		publish_owned(a, a->t_event, proto_feeder_event_encode(&res->event), false);
	if (res->state_changed)
		publish_state(a);
	if (res->log_changed)
		publish_log(a);
	if (res->plan_changed)
		publish_plan(a);
	if (res->schedule_changed)
		publish_schedule(a);
	/* A plan command may move the next slot or end a pause, and a dose
	 * done opens its verify window: the timer follows (arm_schedule is a
	 * no-op once stopping). */
	if (res->plan_changed || res->schedule_changed || res->log_changed)
		arm_schedule(a);

	struct feeder_result next;
	struct feeder_now now;
	char why[128];
	int rc;
	switch (res->action) {
	case FEEDER_DO_NOTHING:
		return;
	case FEEDER_DO_DOSE:
		rc = servo_move(a->servo, SERVO_OPEN);
		if (rc == 0) {
			dose_opened(a);
			uv_timer_start(&a->hold_timer, on_hold_done, (uint64_t)a->hold_ms, 0);
			request_snapshot(a);
			return;
		}
		snprintf(why, sizeof(why), "servo: %s", strerror(-rc));
		servo_move(a->servo, SERVO_REST);
		now = now_clocks(a);
		feeder_dose_done(a->feeder, false, why, &now, &next);
		apply(a, &next);
		return;
	case FEEDER_DO_HOME:
		rc = servo_move(a->servo, SERVO_REST);
		snprintf(why, sizeof(why), "servo: %s", rc < 0 ? strerror(-rc) : "");
		now = now_clocks(a);
		feeder_cmd_done(a->feeder, rc == 0, why, &now, &next);
		apply(a, &next);
		return;
	case FEEDER_DO_TREAT:
		/* The second dispenser, with its own hold timer: a dose moving
		 * neither delays nor blocks it. The core asks only when
		 * treat_dispenser is set (a treat servo is open). */
		rc = a->treat_servo ? servo_move(a->treat_servo, SERVO_OPEN) : -ENODEV;
		if (rc == 0) {
			if (servo_sim_dispenses(a->treat_servo))
				publish_sim_dispensed(a, "treat", feeder_treat_id(a->feeder));
			a->treating = true;
			uv_timer_start(&a->treat_timer, on_treat_done, (uint64_t)a->hold_ms, 0);
			return;
		}
		snprintf(why, sizeof(why), "treat servo: %s", strerror(-rc));
		if (a->treat_servo)
			servo_move(a->treat_servo, SERVO_REST);
		now = now_clocks(a);
		feeder_treat_done(a->feeder, false, why, &now, &next);
		apply(a, &next);
		return;
	case FEEDER_DO_CALL:
		rc = speaker_play(a->speaker);
		snprintf(why, sizeof(why), "%s",
			 rc == -EBUSY ? "busy"
			 : rc < 0     ? strerror(-rc)
				      : "");
		now = now_clocks(a);
		feeder_cmd_done(a->feeder, rc == 0, why, &now, &next);
		apply(a, &next);
		return;
	}
}

static void on_hold_done(uv_timer_t *t)
{
	struct feeder_app *a = t->data;
	int rc = servo_move(a->servo, SERVO_REST);
	if (rc < 0) {
		char why[128];
		snprintf(why, sizeof(why), "servo did not return home: %s", strerror(-rc));
		finish_dose(a, false, why);
		return;
	}
	a->hold_over = true;
	settle_dose(a); /* no flap sensor: done ok now */
}

/* The treat's hold is over (or the stop path cut it short: reason). */
static void finish_treat(struct feeder_app *a, const char *cut_short)
{
	a->treating = false;
	int rc = servo_move(a->treat_servo, SERVO_REST);
	char why[128];
	if (cut_short)
		snprintf(why, sizeof(why), "%s", cut_short);
	else
		snprintf(why, sizeof(why), "treat servo did not return home: %s",
			 rc < 0 ? strerror(-rc) : "");
	struct feeder_now now = now_clocks(a);
	struct feeder_result res;
	feeder_treat_done(a->feeder, rc == 0 && !cut_short, why, &now, &res);
	apply(a, &res);
}

static void on_treat_done(uv_timer_t *t)
{
	finish_treat(t->data, NULL);
}

static void on_schedule(uv_timer_t *t)
{
	struct feeder_app *a = t->data;
	struct feeder_now now = now_clocks(a);
	struct feeder_result res;
	feeder_schedule_tick(a->feeder, &now, &res);
	apply(a, &res);
	arm_schedule(a);
}

static void arm_schedule(struct feeder_app *a)
{
	if (a->stopping)
		return;
	struct feeder_now now = now_clocks(a);
	int64_t next = feeder_next_event_ms(a->feeder, &now);
	if (next == 0)
		return; /* no slot and no pause's end to come: no timer at all */
	int64_t delay = next - now.wall_ms;
	if (delay < 0)
		delay = 0;
	if (delay > SCHEDULE_RECHECK_MS)
		delay = SCHEDULE_RECHECK_MS;
	uv_timer_start(&a->schedule_timer, on_schedule, (uint64_t)delay, 0);
}

static void arm_midnight(struct feeder_app *a);

/* The wall clock was set (sysclock's watcher): the timers slept on libuv's
 * monotonic clock toward times of the old wall clock, so a slot the new one
 * has reached would wait up to SCHEDULE_RECHECK_MS (an hour late, or
 * missed). Tick now, republish the state (clock_synced, next_allowed) and
 * the schedule (the date may be another), and arm both timers afresh. */
void feeder_app_clock_set(void *app)
{
	struct feeder_app *a = app;
	if (a->stopping)
		return;
	struct feeder_now now = now_clocks(a);
	char when[64];
	time_t t = (time_t)(now.wall_ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(when, sizeof(when), "%lld ms", (long long)now.wall_ms);
	log_warn("the wall clock was set: it is now %s (%s); the schedule looks again", when,
		 now.clock_unsynced ? "not synchronised" : "synchronised");
	struct feeder_result res;
	feeder_schedule_tick(a->feeder, &now, &res);
	res.state_changed = true;
	res.schedule_changed = true;
	apply(a, &res);
	arm_schedule(a);
	a->midnight_ms = 0;
	arm_midnight(a);
}

/* doses_today in the retained state counts the local calendar day: at local
 * midnight it must read 0 without waiting for the next dose. The timer
 * sleeps at most SCHEDULE_RECHECK_MS, so a wall clock that is set (or a
 * libuv timer that drifts from it) is caught up within that; it fires
 * again for the remainder when it woke before midnight. */
static void on_midnight(uv_timer_t *t)
{
	struct feeder_app *a = t->data;
	if (wall_ms(a) >= a->midnight_ms) {
		log_info("local midnight: publishing the new day's state and schedule");
		/* The schedule's new day too: the tick settles what is due and
		 * says the schedule changed. */
		struct feeder_now now = now_clocks(a);
		struct feeder_result res;
		feeder_schedule_tick(a->feeder, &now, &res);
		res.state_changed = true;
		res.schedule_changed = true;
		apply(a, &res);
		a->midnight_ms = 0;
	}
	arm_midnight(a);
}

/* Arm for the next local midnight, computed from the local calendar
 * (schedule_next_local_midnight: day + 1 at 00:00, DST-safe), not by adding
 * 24 h. */
static void arm_midnight(struct feeder_app *a)
{
	if (a->stopping)
		return;
	int64_t now = wall_ms(a);
	if (a->midnight_ms == 0 || a->midnight_ms - now > 25LL * 3600 * 1000)
		a->midnight_ms = schedule_next_local_midnight(now);
	int64_t delay = a->midnight_ms - now;
	if (delay < 0)
		delay = 0;
	if (delay > SCHEDULE_RECHECK_MS)
		delay = SCHEDULE_RECHECK_MS;
	uv_timer_start(&a->midnight_timer, on_midnight, (uint64_t)delay, 0);
}

/*
 * Back-pressure. Every answer is published at QoS 1 and waits in mqttc until
 * the broker acknowledges it; a broker that takes few in flight (mosquitto's
 * max_inflight_messages) drains them more slowly than a flood of commands
 * makes them. Rather than let an event or an alert be lost, the feeder takes
 * no more commands while their answers would not fit: they wait in mqttc's
 * incoming queue (MQTTC_QUEUE_DEFAULT), and what that cannot hold is dropped
 * unread and counted in a commands_dropped alert. Logged once per episode.
 */
static void hold_if_full(struct feeder_app *a)
{
	if (a->held || mqttc_has_room(a->mqtt, ANSWER_MAX))
		return;
	struct mqttc_stats st;
	mqttc_get_stats(a->mqtt, &st);
	a->held = true;
	a->held_since_ms = wall_ms(a);
	a->held_dropped = 0;
	mqttc_pause(a->mqtt, true);
	log_warn("back-pressure: %zu answers wait for the broker; taking no commands until they "
		 "drain",
		 st.out_waiting);
}

/* The alert for commands dropped unread, once there is room for it; until
 * then their counts add up, so a flood gives one alert per episode. */
static void publish_dropped(struct feeder_app *a)
{
	if (a->drop_oversize + a->drop_queue_full == 0)
		return;
	if (a->held || !mqttc_has_room(a->mqtt, 1)) {
		hold_if_full(a);
		return;
	}
	struct proto_alert alert;
	service_alert_fill(
	    &alert, "feeder", PROTO_LEVEL_WARNING, PROTO_ALERT_COMMANDS_DROPPED, wall_ms(a),
	    "%llu command(s) were dropped unread (%llu over %d MiB, %llu in a flood over the "
	    "queue of %d); nothing was dispensed for them and their senders got no event",
	    (unsigned long long)(a->drop_oversize + a->drop_queue_full),
	    (unsigned long long)a->drop_oversize, PROTO_CMD_READ_MAX / (1024 * 1024),
	    (unsigned long long)a->drop_queue_full, MQTTC_QUEUE_DEFAULT);
	a->drop_oversize = a->drop_queue_full = 0;
	log_warn("%s", alert.message);
	service_alert_publish(a->mqtt, a->site, &alert);
}

/* mqttc: the waiting answers fell to its low-water mark. */
void feeder_app_on_drained(void *app)
{
	struct feeder_app *a = app;
	if (!a->held)
		return;
	struct mqttc_stats st;
	mqttc_get_stats(a->mqtt, &st);
	a->held = false;
	log_info("back-pressure released after %lld ms: %zu answers wait, %llu command(s) dropped "
		 "meanwhile; taking commands again",
		 (long long)(wall_ms(a) - a->held_since_ms), st.out_waiting,
		 (unsigned long long)a->held_dropped);
	publish_dropped(a);
	mqttc_pause(a->mqtt, a->held);
}

void feeder_app_on_message(void *app, const struct mqttc_message *msg)
{
	struct feeder_app *a = app;
	if (a->stopping)
		return;
	if (strcmp(msg->topic, a->t_cmd) == 0) {
		struct feeder_now now = now_clocks(a);
		struct feeder_result res;
		if (feeder_handle_message(a->feeder, msg->payload, msg->len, msg->retained, &now,
					  &res) == 0)
			apply(a, &res);
	} else if (a->verify && strcmp(msg->topic, a->t_bowl) == 0) {
		/* A reading the contract refuses (or an empty retained delete) is
		 * no evidence either way: ignored, at debug. */
		struct proto_reading r;
		const char *why = NULL;
		if (proto_reading_decode(msg->payload, msg->len, &r, &why) < 0) {
			log_debug("%s: not a reading (%s): ignored", a->t_bowl, why ? why : "?");
		} else {
			struct feeder_now now = now_clocks(a);
			struct feeder_result res;
			feeder_bowl_reading(a->feeder, r.value, r.ts_ms, &now, &res);
			apply(a, &res);
		}
	}
	hold_if_full(a); /* before the next message is handed over */
}

/*
 * Commands mqttc dropped before we could read them (over 1 MiB, or pushed out
 * of a full queue by a flood) dispensed nothing, but their senders get no
 * event: say so in a warning alert, so a person can look and resend. The
 * alert waits for room like any answer (publish_dropped).
 */
void feeder_app_on_dropped(void *app, uint64_t oversize, uint64_t queue_full,
			   const char *last_topic)
{
	struct feeder_app *a = app;
	if (strcmp(last_topic, a->t_cmd) != 0)
		return;
	a->drop_oversize += oversize;
	a->drop_queue_full += queue_full;
	a->held_dropped += oversize + queue_full;
	publish_dropped(a);
}

/* The schedule on/paused as a Home Assistant switch: its state is the
 * retained plan's "paused", and turning it off or on sends pause (until
 * resumed) or resume as a full command, the buttons' template with
 * `value` = payload_off / payload_on (HA's MQTT switch renders
 * command_template so). No optimistic state: it shows what the feeder
 * says once the new plan is retained. */
static cJSON *schedule_switch(struct feeder_app *a)
{
	cJSON *e = ha_entity_new(&a->ha, "switch", "schedule", "Schedule");
	if (e &&
	    (!cJSON_AddStringToObject(e, "state_topic", a->t_plan) ||
	     !cJSON_AddStringToObject(e, "value_template",
				      "{{ 'OFF' if value_json.paused else 'ON' }}") ||
	     !cJSON_AddStringToObject(e, "state_on", "ON") ||
	     !cJSON_AddStringToObject(e, "state_off", "OFF") ||
	     !cJSON_AddStringToObject(e, "command_topic", a->t_cmd) ||
	     !cJSON_AddStringToObject(e, "payload_on", proto_action_name(PROTO_ACTION_RESUME)) ||
	     !cJSON_AddStringToObject(e, "payload_off", proto_action_name(PROTO_ACTION_PAUSE)) ||
	     !cJSON_AddStringToObject(e, "command_template", ha_command_template()) ||
	     !cJSON_AddNumberToObject(e, "qos", 1) || !cJSON_AddFalseToObject(e, "retain") ||
	     !cJSON_AddStringToObject(e, "icon", "mdi:calendar-clock"))) {
		cJSON_Delete(e);
		e = NULL;
	}
	return e;
}

/* feeder/event as a Home Assistant event entity, "Feeder events": HA wants
 * a JSON object with an event_type it knows, so the template renders one,
 * "<action>_<result>" ("feed_ok", "verify_failed", "unknown_rejected" for a
 * command nobody could read), with the event's members as attributes. Every
 * action (and verify, unknown) times every result is listed. */
static cJSON *events_entity(struct feeder_app *a)
{
	cJSON *e = ha_entity_new(&a->ha, "event", "events", "Feeder events");
	cJSON *types = e ? cJSON_AddArrayToObject(e, "event_types") : NULL;
	bool ok = types != NULL;

	for (unsigned i = 0; ok; i++) {
		const char *action = proto_action_name((enum proto_action)i);
		if (action == NULL) {
			static const char *const also[] = {"verify", "unknown"};
			unsigned k = i - (unsigned)PROTO_ACTION_REFILL - 1;
			if (k >= sizeof(also) / sizeof(also[0]))
				break;
			action = also[k];
		}
		for (unsigned r = 0; ok && proto_result_name((enum proto_result)r); r++) {
			char type[48];
			snprintf(type, sizeof(type), "%s_%s", action,
				 proto_result_name((enum proto_result)r));
			ok = cJSON_AddItemToArray(types, cJSON_CreateString(type));
		}
	}
	if (e && (!ok || !cJSON_AddStringToObject(e, "state_topic", a->t_event) ||
		  !cJSON_AddStringToObject(
		      e, "value_template",
		      "{{ {\"event_type\": (value_json.action or 'unknown') ~ '_' ~ "
		      "value_json.result, \"id\": value_json.id, \"action\": value_json.action, "
		      "\"result\": value_json.result, \"reason\": value_json.get('reason') or '', "
		      "\"detail\": value_json.get('detail') or '', \"ts\": value_json.ts} "
		      "| to_json }}") ||
		  !cJSON_AddStringToObject(e, "icon", "mdi:pill"))) {
		cJSON_Delete(e);
		e = NULL;
	}
	return e;
}

/* Home Assistant: Feed/Home/Call/Skip next/Treat buttons that send a full
 * command (fresh id and ts, QoS 1), the schedule switch, and sensors read
 * from the retained state; all with the feeder's availability. */
void feeder_app_publish_discovery(void *app)
{
	struct feeder_app *a = app;
	static const struct {
		const char *id, *name, *icon;
	} buttons[] = {
	    {"feed", "Feed", "mdi:pill"},
	    {"home", "Home", "mdi:home"},
	    {"call", "Call", "mdi:bullhorn"},
	    /* skip without a slot: the next pending one (proto/README.md) */
	    {"skip", "Skip next dose", "mdi:debug-step-over"},
	    {"treat", "Treat", "mdi:bone"},
	};
	for (size_t i = 0; i < sizeof(buttons) / sizeof(buttons[0]); i++) {
		cJSON *e = ha_entity_new(&a->ha, "button", buttons[i].id, buttons[i].name);
		if (e && (ha_entity_set_command(e, a->t_cmd, buttons[i].id) < 0 ||
			  !cJSON_AddStringToObject(e, "icon", buttons[i].icon))) {
			cJSON_Delete(e);
			e = NULL;
		}
		ha_publish_entity(a->mqtt, &a->ha, "button", buttons[i].id, e);
	}
	ha_publish_entity(a->mqtt, &a->ha, "switch", "schedule", schedule_switch(a));
	static const struct {
		const char *id, *name, *field;
	} times[] = {
	    {"last_dose", "Last dose", "last_dose"},
	    {"next_allowed", "Next dose allowed", "next_allowed"},
	    {"next_scheduled", "Next scheduled dose", "next_scheduled"},
	    {"runs_out", "Pills run out", "runs_out"},
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char tpl[256];
		snprintf(
		    tpl, sizeof(tpl),
		    "{{ (value_json.%s / 1000) | timestamp_custom('%%Y-%%m-%%dT%%H:%%M:%%S%%z', "
		    "false) if value_json.%s else None }}",
		    times[i].field, times[i].field);
		cJSON *e = ha_entity_new(&a->ha, "sensor", times[i].id, times[i].name);
		if (e) {
			cJSON_AddStringToObject(e, "state_topic", a->t_state);
			cJSON_AddStringToObject(e, "device_class", "timestamp");
			cJSON_AddStringToObject(e, "value_template", tpl);
		}
		ha_publish_entity(a->mqtt, &a->ha, "sensor", times[i].id, e);
	}
	/* A count that only grows within a day and starts again at 0: HA's
	 * total_increasing treats the drop at midnight as a new cycle. */
	cJSON *e = ha_entity_new(&a->ha, "sensor", "doses_today", "Doses today");
	if (e) {
		cJSON_AddStringToObject(e, "state_topic", a->t_state);
		cJSON_AddStringToObject(e, "value_template", "{{ value_json.doses_today }}");
		cJSON_AddStringToObject(e, "state_class", "total_increasing");
		cJSON_AddStringToObject(e, "icon", "mdi:pill");
	}
	ha_publish_entity(a->mqtt, &a->ha, "sensor", "doses_today", e);
	/* A count (a unit and a state class: HA reads "None" as unknown, for
	 * the null before the first refill, and 0 as 0). */
	e = ha_entity_new(&a->ha, "sensor", "pills_remaining", "Pills remaining");
	if (e) {
		cJSON_AddStringToObject(e, "state_topic", a->t_state);
		cJSON_AddStringToObject(
		    e, "value_template",
		    "{{ value_json.pills_remaining if value_json.pills_remaining "
		    "is not none else None }}");
		cJSON_AddStringToObject(e, "unit_of_measurement", "pills");
		cJSON_AddStringToObject(e, "state_class", "measurement");
		cJSON_AddStringToObject(e, "icon", "mdi:pill-multiple");
	}
	ha_publish_entity(a->mqtt, &a->ha, "sensor", "pills_remaining", e);
	e = ha_entity_new(&a->ha, "sensor", "position", "Position");
	if (e) {
		cJSON_AddStringToObject(e, "state_topic", a->t_state);
		cJSON_AddStringToObject(e, "value_template", "{{ value_json.position }}");
		cJSON_AddStringToObject(e, "entity_category", "diagnostic");
	}
	ha_publish_entity(a->mqtt, &a->ha, "sensor", "position", e);
	/* State's clock_synced: off while the feeder doses by a clock nobody
	 * confirmed (clock_unsynced says so once per boot). */
	e = ha_entity_new(&a->ha, "binary_sensor", "clock_synced", "Clock synchronised");
	if (e) {
		cJSON_AddStringToObject(e, "state_topic", a->t_state);
		cJSON_AddStringToObject(e, "value_template",
					"{{ 'ON' if value_json.clock_synced else 'OFF' }}");
		cJSON_AddStringToObject(e, "payload_on", "ON");
		cJSON_AddStringToObject(e, "payload_off", "OFF");
		cJSON_AddStringToObject(e, "entity_category", "diagnostic");
		cJSON_AddStringToObject(e, "icon", "mdi:clock-check-outline");
	}
	ha_publish_entity(a->mqtt, &a->ha, "binary_sensor", "clock_synced", e);
	ha_publish_entity(a->mqtt, &a->ha, "event", "events", events_entity(a));
}

/* Home Assistant (re)started: after the entities (the skeleton), show it the
 * current state; its HA_ENTITIES + 1 publishes count against the back-pressure like a
 * command's answers. */
void feeder_app_on_ha_birth(void *app)
{
	struct feeder_app *a = app;
	publish_state(a);
	hold_if_full(a);
}

/* After every (re)connect, after info and discovery (the skeleton): the
 * retained topics, so the broker's copies are current even after it lost
 * them (no persistence, or a restart). */
void feeder_app_on_connected(void *app)
{
	struct feeder_app *a = app;
	publish_state(a);
	publish_log(a);
	publish_plan(a);
	publish_schedule(a);
}

const char *feeder_app_backend(void *app)
{
	const struct feeder_app *a = app;
	return a->backend;
}

void feeder_app_argv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--reset-plan") == 0)
			argv[i] = (char *)"--feeder-reset-plan=1";
}

int feeder_app_session_expiry(const struct cfg *cfg)
{
	/* Commands sent during a short outage are delivered when we are back;
	 * after a longer one the broker forgets them (they would be expired
	 * anyway). */
	return (int)((cfg_duration_ms(cfg, "IOD_FEEDER_CMD_TTL") + 999) / 1000);
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

void feeder_app_stop(void *app)
{
	struct feeder_app *a = app;
	if (a->stopping)
		return;
	a->stopping = true;
	if (feeder_dose_in_progress(a->feeder)) {
		uv_timer_stop(&a->hold_timer);
		uv_timer_stop(&a->flap_timer);
		flap_watch_disarm(&a->flap_watch);
		a->hold_over = false;
		int rc = servo_move(a->servo, SERVO_REST);
		struct feeder_now now = now_clocks(a);
		struct feeder_result res;
		feeder_dose_done(a->feeder, false,
				 rc == 0 ? "interrupted by shutdown (hold cut short)"
					 : "interrupted by shutdown; servo did not return home",
				 &now, &res);
		apply(a, &res);
	}
	if (a->treating) {
		uv_timer_stop(&a->treat_timer);
		finish_treat(a, "interrupted by shutdown (hold cut short)");
	}
	sysclock_steps_stop(a->steps);
	a->steps = NULL;
	if (a->timers_open) {
		uv_close((uv_handle_t *)&a->treat_timer, NULL);
		uv_close((uv_handle_t *)&a->hold_timer, NULL);
		uv_close((uv_handle_t *)&a->schedule_timer, NULL);
		uv_close((uv_handle_t *)&a->midnight_timer, NULL);
		uv_close((uv_handle_t *)&a->flap_timer, NULL);
		a->timers_open = false;
	}
	if (a->flap_poll) {
		uv_close((uv_handle_t *)a->flap_poll, free_handle);
		a->flap_poll = NULL;
	}
}

int feeder_app_start(void *app)
{
	struct feeder_app *a = app;
	/* Startup alerts go out once connected (mqttc keeps them). Then the
	 * schedule catches up (grace window) and the timer takes over. */
	apply(a, &a->startup);
	struct feeder_now now = now_clocks(a);
	struct feeder_result tick;
	feeder_schedule_tick(a->feeder, &now, &tick);
	apply(a, &tick);
	arm_schedule(a);
	arm_midnight(a);
	return 0;
}

void feeder_app_free(void *app)
{
	struct feeder_app *a = app;
	if (!a)
		return;
	feeder_free(a->feeder);
	sysclock_close(a->sysclock);
	flap_close(a->flap);
	speaker_close(a->speaker);
	if (a->treat_servo)
		servo_close(a->treat_servo);
	servo_close(a->servo);
	free(a);
}

static int setup_topics(struct feeder_app *a)
{
	int rc = proto_topic(a->t_cmd, sizeof(a->t_cmd), a->site, "feeder", "cmd");
	rc |= proto_topic(a->t_event, sizeof(a->t_event), a->site, "feeder", "event");
	rc |= proto_topic(a->t_state, sizeof(a->t_state), a->site, "feeder", "state");
	rc |= proto_topic(a->t_log, sizeof(a->t_log), a->site, "feeder", "log");
	rc |= proto_topic(a->t_plan, sizeof(a->t_plan), a->site, "feeder", "plan");
	rc |= proto_topic(a->t_schedule, sizeof(a->t_schedule), a->site, "feeder", "schedule");
	rc |= proto_topic(a->t_bowl, sizeof(a->t_bowl), a->site, "sensors", "bowl");
	rc |= proto_topic(a->t_camera_cmd, sizeof(a->t_camera_cmd), a->site, "camera", "cmd");
	rc |= proto_topic(a->t_sim_dispensed, sizeof(a->t_sim_dispensed), a->site, "feeder",
			  "sim/dispensed");
	return rc ? -1 : 0;
}

/* The simulator's settings against the servo: a fault, and the flap that
 * follows the servo, belong to the sim servo. 0, or -1 with why. */
static int sim_rules(const struct cfg *cfg, char *why, size_t size)
{
	const char *servo = cfg_str(cfg, "IOD_FEEDER_SERVO");
	if (strcmp(servo, "sim") == 0)
		return 0;
	if (strcmp(cfg_str(cfg, "IOD_FEEDER_SIM_FAULT"), "none") != 0) {
		snprintf(why, size,
			 "IOD_FEEDER_SIM_FAULT=%s: only the sim servo can be told to jam "
			 "(IOD_FEEDER_SERVO is %s)",
			 cfg_str(cfg, "IOD_FEEDER_SIM_FAULT"), servo);
		return -1;
	}
	if (strcmp(cfg_str(cfg, "IOD_FEEDER_SENSE"), "sim") == 0) {
		snprintf(why, size,
			 "IOD_FEEDER_SENSE=sim is the sim servo's flap (IOD_FEEDER_SERVO is %s): "
			 "use none or gpio:<chip>:<line>",
			 servo);
		return -1;
	}
	return 0;
}

/* The flap sensor IOD_FEEDER_SENSE names (none: no sensor); 0, or 2 with
 * the setting named on stderr. */
static int open_flap(struct feeder_app *a, const struct cfg *cfg)
{
	const char *sense = cfg_str(cfg, "IOD_FEEDER_SENSE");
	struct flap_spec spec;
	char err[256];
	if (flap_spec_parse(sense, &spec, err, sizeof(err)) < 0) {
		fprintf(stderr, "iod-feeder: IOD_FEEDER_SENSE: '%s': %s\n", sense, err);
		return 2;
	}
	a->sense_timeout_ms = cfg_duration_ms(cfg, "IOD_FEEDER_SENSE_TIMEOUT");
	if (spec.kind == FLAP_NONE)
		return 0;
	a->flap = flap_open(&spec, err, sizeof(err));
	if (!a->flap) {
		fprintf(stderr, "iod-feeder: IOD_FEEDER_SENSE: '%s': %s\n", sense, err);
		return 2;
	}
	log_info("flap sensor %s: the flap must open within %lld ms of the servo",
		 flap_backend(a->flap), (long long)a->sense_timeout_ms);
	return 0;
}

/* The drivers the settings name; 0, or 2 with the setting named on stderr. */
static int open_hardware(struct feeder_app *a, const struct cfg *cfg, const char *data_dir)
{
	char err[256];
	struct servo_settings ss = {
	    .pwm_root = cfg_str(cfg, "IOD_FEEDER_PWM_ROOT"),
	    .period_ns = cfg_int(cfg, "IOD_FEEDER_PWM_PERIOD"),
	    .rest_us = cfg_int(cfg, "IOD_FEEDER_PWM_REST"),
	    .open_us = cfg_int(cfg, "IOD_FEEDER_PWM_OPEN"),
	};
	/* service_main ran feeder_app_check; a caller without the skeleton
	 * is held to the same rule. */
	if (sim_rules(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "iod-feeder: %s\n", err);
		return 2;
	}
	/* The fault is the medication dispenser's (the one the flap watches);
	 * treats still fall. */
	struct servo_settings med = ss;
	med.sim_jam = strcmp(cfg_str(cfg, "IOD_FEEDER_SIM_FAULT"), "jam") == 0;
	a->servo = servo_open(cfg_str(cfg, "IOD_FEEDER_SERVO"), &med, err, sizeof(err));
	if (!a->servo) {
		fprintf(stderr, "iod-feeder: IOD_FEEDER_SERVO: %s\n", err);
		return 2;
	}
	if (open_flap(a, cfg) != 0)
		return 2;
	const char *treat = cfg_str(cfg, "IOD_FEEDER_TREAT_SERVO");
	if (!treat)
		treat = strcmp(servo_backend(a->servo), "sim") == 0 ? "sim" : "none";
	if (strcmp(treat, "none") != 0) {
		a->treat_servo = servo_open(treat, &ss, err, sizeof(err));
		if (!a->treat_servo) {
			fprintf(stderr, "iod-feeder: IOD_FEEDER_TREAT_SERVO: %s\n", err);
			return 2;
		}
	}
	a->speaker = speaker_open(cfg_str(cfg, "IOD_FEEDER_SPEAKER"), data_dir, err, sizeof(err));
	if (!a->speaker) {
		fprintf(stderr, "iod-feeder: IOD_FEEDER_SPEAKER: %s\n", err);
		return 2;
	}
	if (strcmp(speaker_backend(a->speaker), "sim") == 0)
		snprintf(a->backend, sizeof(a->backend), "%s", servo_backend(a->servo));
	else
		snprintf(a->backend, sizeof(a->backend), "%s+%s", servo_backend(a->servo),
			 speaker_backend(a->speaker));
	return 0;
}

/* The plan's seed and the vet's bounds from the settings (IOD_FEEDER_SCHEDULE
 * has passed schedule_check in cfg). 0, or -1 with why. */
static int seed_config(const struct cfg *cfg, struct feeder_config *fc, char *why, size_t size)
{
	const char *reason = NULL;
	if (schedule_parse(cfg_str(cfg, "IOD_FEEDER_SCHEDULE"), &fc->schedule, &reason) < 0) {
		snprintf(why, size, "IOD_FEEDER_SCHEDULE: '%s': %s",
			 cfg_str(cfg, "IOD_FEEDER_SCHEDULE"), reason ? reason : "not a schedule");
		return -1;
	}
	fc->min_interval_ms = cfg_duration_ms(cfg, "IOD_FEEDER_MIN_INTERVAL");
	fc->max_daily = (int)cfg_int(cfg, "IOD_FEEDER_MAX_DAILY");
	fc->grace_ms = cfg_duration_ms(cfg, "IOD_FEEDER_GRACE");
	fc->bound_min_interval_ms = cfg_duration_ms(cfg, "IOD_FEEDER_BOUND_MIN_INTERVAL");
	fc->bound_max_daily = (int)cfg_int(cfg, "IOD_FEEDER_BOUND_MAX_DAILY");
	return 0;
}

int feeder_app_check(const struct cfg *cfg, char *why, size_t size)
{
	struct feeder_config fc = {0};
	if (seed_config(cfg, &fc, why, size) < 0 || feeder_config_check(&fc, why, size) < 0 ||
	    sim_rules(cfg, why, size) < 0)
		return 1;
	return 0;
}

/* The rules' settings and the journal; 0, or the exit code. */
static int open_feeder(struct feeder_app *a, const struct cfg *cfg, const char *data_dir)
{
	struct feeder_config fc = {0};
	char journal_path[PATH_MAX];
	char why[256];

	/* service_main ran feeder_app_check already; a caller without the
	 * skeleton (the unit tests) is held to the same rule. */
	if (seed_config(cfg, &fc, why, sizeof(why)) < 0 ||
	    feeder_config_check(&fc, why, sizeof(why)) < 0) {
		fprintf(stderr, "iod-feeder: %s\n", why);
		return 2;
	}
	if (snprintf(journal_path, sizeof(journal_path), "%s/journal", data_dir) >=
	    (int)sizeof(journal_path)) {
		fprintf(stderr, "iod-feeder: IOD_DATA_DIR: path too long\n");
		return 2;
	}
	fc.journal_path = journal_path;
	fc.cmd_ttl_ms = cfg_duration_ms(cfg, "IOD_FEEDER_CMD_TTL");
	fc.reset_plan = cfg_bool(cfg, "IOD_FEEDER_RESET_PLAN");
	fc.treat_dispenser = a->treat_servo != NULL;
	fc.id_memory = (size_t)cfg_int(cfg, "IOD_FEEDER_IDS");
	fc.compact_bytes = cfg_int(cfg, "IOD_FEEDER_JOURNAL_MAX");
	fc.verify_min_g = cfg_number(cfg, "IOD_FEEDER_VERIFY_MIN_G");
	fc.verify_window_ms =
	    fc.verify_min_g > 0 ? cfg_duration_ms(cfg, "IOD_FEEDER_VERIFY_WINDOW") : 0;
	a->verify = fc.verify_window_ms > 0;
	/* The boot id lets a restarted feeder keep the boot-clock guard of the
	 * minimum interval for doses given earlier in the same boot. */
	char boot_id[40];
	feeder_read_boot_id(boot_id, sizeof(boot_id));
	if (!boot_id[0])
		log_warn(
		    "no boot id: the boot-clock guard of the minimum interval ends at a restart");
	fc.boot_id = boot_id;
	/* clock_unsynced once per boot: the boot it was raised in last. */
	snprintf(a->boot_id, sizeof(a->boot_id), "%s", boot_id);
	char alerted[40] = "";
	if (snprintf(a->clock_alert_path, sizeof(a->clock_alert_path), "%s/clock_unsynced",
		     data_dir) < (int)sizeof(a->clock_alert_path)) {
		FILE *fp = fopen(a->clock_alert_path, "re");
		if (fp) {
			if (!fgets(alerted, sizeof(alerted), fp))
				alerted[0] = '\0';
			alerted[strcspn(alerted, "\n")] = '\0';
			fclose(fp);
		}
	} else {
		a->clock_alert_path[0] = '\0';
	}
	fc.clock_alerted_boot = alerted;
	struct feeder_now now = now_clocks(a);
	a->feeder = feeder_new(&fc, &now, &a->startup);
	if (!a->feeder) {
		log_error("out of memory");
		return 1;
	}
	char sched_text[SCHEDULE_MAX_SLOTS * 6 + 8];
	schedule_format(&fc.schedule, sched_text, sizeof(sched_text));
	log_info("iod-feeder %s: site %s, servo %s, speaker %s, schedule %s, data %s", IOD_VERSION,
		 a->site, servo_backend(a->servo), speaker_backend(a->speaker), sched_text,
		 data_dir);
	return 0;
}

struct feeder_app *feeder_app_new(uv_loop_t *loop, const struct cfg *cfg, struct mqttc *mqtt,
				  const struct feeder_app_clock *clock, int *exit_code)
{
	struct feeder_app *a = calloc(1, sizeof(*a));
	if (!a) {
		log_error("out of memory");
		*exit_code = 1;
		return NULL;
	}
	a->mqtt = mqtt;
	a->clock = clock && clock->now ? *clock : (struct feeder_app_clock){real_clocks, a};
	a->site = cfg_str(cfg, "IOD_SITE");
	a->ha = (struct ha_device){
	    .site = a->site,
	    .service = "feeder",
	    .dashboard_url = ha_dashboard_url(cfg, a->dashboard_url, sizeof(a->dashboard_url)),
	};
	a->hold_ms = cfg_duration_ms(cfg, "IOD_FEEDER_HOLD");
	const char *data_dir = cfg_str(cfg, "IOD_DATA_DIR");
	int rc = 0;
	if (setup_topics(a) < 0) {
		fprintf(stderr, "iod-feeder: IOD_SITE: '%s' makes topics too long\n", a->site);
		rc = 2;
	}
	if (rc == 0)
		rc = open_hardware(a, cfg, data_dir);
	if (rc == 0) {
		char err[160];
		a->sysclock = sysclock_open(cfg_str(cfg, "IOD_FEEDER_CLOCK"), err, sizeof(err));
		if (!a->sysclock) {
			fprintf(stderr, "iod-feeder: IOD_FEEDER_CLOCK: %s\n", err);
			rc = 2;
		}
	}
	if (rc == 0)
		rc = open_feeder(a, cfg, data_dir);
	if (rc == 0 && mqttc_subscribe(a->mqtt, a->t_cmd, 1, false) < 0)
		rc = 1;
	/* The bowl's retained reading arrives at once: the first baseline. */
	if (rc == 0 && a->verify && mqttc_subscribe(a->mqtt, a->t_bowl, 0, false) < 0)
		rc = 1;
	if (rc != 0) {
		feeder_app_free(a);
		*exit_code = rc;
		return NULL;
	}
	uv_timer_init(loop, &a->treat_timer);
	a->treat_timer.data = a;
	uv_timer_init(loop, &a->hold_timer);
	uv_timer_init(loop, &a->schedule_timer);
	uv_timer_init(loop, &a->midnight_timer);
	a->hold_timer.data = a;
	a->schedule_timer.data = a;
	a->midnight_timer.data = a;
	uv_timer_init(loop, &a->flap_timer);
	a->flap_timer.data = a;
	a->timers_open = true;
	/* A set wall clock re-runs the schedule at once (on_clock_step). */
	a->steps = sysclock_steps_start(loop, feeder_app_clock_set, a);
	if (a->flap && flap_fd(a->flap) >= 0) {
		a->flap_poll = calloc(1, sizeof(*a->flap_poll));
		if (!a->flap_poll || uv_poll_init(loop, a->flap_poll, flap_fd(a->flap)) < 0) {
			/* Nothing is started yet: the caller frees; the handles
			 * are closed by feeder_app_stop. */
			free(a->flap_poll);
			a->flap_poll = NULL;
			log_error("flap sensor %s: cannot watch its events", flap_backend(a->flap));
			*exit_code = 1;
			feeder_app_stop(a);
			uv_run(loop, UV_RUN_NOWAIT);
			feeder_app_free(a);
			return NULL;
		}
		a->flap_poll->data = a;
		uv_poll_start(a->flap_poll, UV_READABLE, on_flap_readable);
	}
	return a;
}

static void *create(struct service *svc, int *exit_code)
{
	return feeder_app_new(service_loop(svc), service_cfg(svc), service_mqtt(svc), NULL,
			      exit_code);
}

const struct service_def feeder_service = {
    .name = "feeder",
    .options = feeder_app_options,
    .n_options = sizeof(feeder_app_options) / sizeof(feeder_app_options[0]),
    /* A data dir that cannot be made is logged; the journal then cannot be
     * opened and every dose is refused (fail safe), while state, alerts and
     * the refusals still reach the carers. */
    .data_dir_optional = true,
    .session_expiry = feeder_app_session_expiry,
    .queue_limit = MQTTC_QUEUE_DEFAULT,
    .max_payload = PROTO_CMD_READ_MAX, /* bigger: dropped and counted */
    .check = feeder_app_check,	       /* the seed within the bounds: exit 2 */
    .create = create,
    .start = feeder_app_start,
    .stop = feeder_app_stop,
    .destroy = feeder_app_free,
    .on_message = feeder_app_on_message,
    .on_connected = feeder_app_on_connected,
    .publish_discovery = feeder_app_publish_discovery,
    .on_ha_birth = feeder_app_on_ha_birth,
    .backend = feeder_app_backend,
    .on_dropped = feeder_app_on_dropped,
    .on_drained = feeder_app_on_drained,
};
