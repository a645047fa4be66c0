#include "app.h"

#include "cfg.h"
#include "ha.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"
#include "proto.h"
#include "sensors.h"
#include "service.h"
#include "source.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_IDS_REMEMBERED 16

/* IOD_SENSORS's rule is sensors_spec_parse's: cfg runs it at start and for
 * --check-config. */
static bool backends_check(const char *value, char *why, size_t why_size)
{
	struct sensors_spec specs[SENSORS_MAX_SOURCES];
	size_t n = 0;
	const char *reason = NULL;

	if (sensors_spec_parse(value, specs, SENSORS_MAX_SOURCES, &n, &reason) == 0)
		return true;
	snprintf(why, why_size, "'%s': %s", value, reason ? reason : "not a backend list");
	return false;
}

/* A flag given as --sensors-sysfs-root= (the environment's empty is unset). */
static bool sysfs_root_check(const char *value, char *why, size_t why_size)
{
	if (value[0])
		return true;
	snprintf(why, why_size, "must not be empty");
	return false;
}

const struct cfg_option sensors_app_options[] = {
    {"IOD_SENSORS", CFG_STRING, "sim",
     "comma list of backends: sim, iio:<name|iio:deviceN|path>, w1:<id>, gpio:<chip>:<line>", 0, 0,
     0, backends_check},
    {"IOD_SENSORS_SYSFS_ROOT", CFG_STRING, "/sys", "where sysfs is (tests point it at a fake tree)",
     0, 0, 0, sysfs_root_check},
    {"IOD_SENSORS_INTERVAL", CFG_DURATION, "10s",
     "how often IIO and 1-wire sensors are read (they have no interrupts)", 1000, 3600 * 1000, 0,
     NULL},
    {"IOD_SENSORS_HEARTBEAT", CFG_DURATION, "60s",
     "republish an unchanged reading at least this often", 1000, 24 * 3600 * 1000, 0, NULL},
    {"IOD_SENSORS_SEED", CFG_INT, "1", "seed of the sim (same seed, same signals)", 0, INT64_MAX, 0,
     NULL},
    {"IOD_SENSORS_DEADBAND_TEMPERATURE", CFG_NUMBER, "0.2",
     "publish a temperature change of at least this many °C", 0, 1000, 0, NULL},
    {"IOD_SENSORS_DEADBAND_HUMIDITY", CFG_NUMBER, "1",
     "publish a humidity change of at least this many %", 0, 1000, 0, NULL},
    {"IOD_SENSORS_DEADBAND_SOUND", CFG_NUMBER, "3",
     "publish a sound level change of at least this many dB", 0, 1000, 0, NULL},
    {"IOD_SENSORS_DEADBAND_BOWL", CFG_NUMBER, "5",
     "publish a bowl change of at least this many grams", 0, 1000, 0, NULL},
    {"IOD_SENSORS_BOWL_TARE", CFG_NUMBER, "0",
     "HX711: in_voltage0_raw with the empty bowl on the load cell", -1000000000, 1000000000, 0,
     NULL},
    {"IOD_SENSORS_BOWL_SCALE", CFG_NUMBER, "1",
     "HX711: grams per raw count (weigh something known to calibrate)", -1000000, 1000000, 0, NULL},
    {"IOD_SENSORS_MOTION_HOLD", CFG_DURATION, "2s",
     "GPIO PIR: motion stays 1 until the line has been quiet this long", 0, 600 * 1000, 0, NULL},
    {"IOD_SENSORS_GPIO_ACTIVE_LOW", CFG_BOOL, "0",
     "GPIO PIR: the sensor pulls the line low on motion", 0, 0, 0, NULL},
};
const size_t sensors_app_options_count =
    sizeof(sensors_app_options) / sizeof(sensors_app_options[0]);

struct kind_state {
	struct sensors_app *app;
	enum proto_sensor_kind kind;
	struct sensors_pub pub;
	uv_timer_t heartbeat;
	char topic[PROTO_TOPIC_MAX];
};

/* One IOD_SENSORS entry at run time: its ops and state (source.h), and the
 * handles that drive it in the ways its ops say. */
struct source {
	struct sensors_app *app;
	int index;
	const struct sensors_spec *spec;
	const struct source_ops *ops;
	void *state;
	bool offered[SENSORS_KINDS]; /* what ops->offers() said at start */
	struct sensors_health health;

	uv_timer_t timer; /* to ops->deadline_in() */

	/* ops->read(): on the threadpool every IOD_SENSORS_INTERVAL */
	uv_timer_t poll_timer;
	uv_work_t work;
	bool busy;	   /* a read is in flight: the work thread owns state and result */
	uint64_t overruns; /* polls skipped because the previous read had not finished */
	struct {
		int rc;
		const char *why;
		struct source_readings readings;
	} result;

	/* ops->open(): an event source, its fd watched */
	uv_poll_t *poll;	/* heap: a closed handle cannot be initialised again */
	uv_timer_t retry_timer; /* runs only while it is closed */
};

struct sensors_app {
	uv_loop_t *loop;
	const struct cfg *cfg;
	struct mqttc *mqtt;
	const char *site;
	struct ha_device ha;
	char dashboard_url[512];
	const char *backend;
	int64_t since_ms; /* the skeleton's, for info on HA's birth */
	int64_t interval_ms;
	int64_t heartbeat_ms;
	bool started, stopping;

	/* iod/<site>/feeder/sim/dispensed: the sim feeder's pills falling */
	char sim_dispensed_topic[PROTO_TOPIC_MAX];

	struct kind_state kinds[SENSORS_KINDS];
	struct sensors_spec specs[SENSORS_MAX_SOURCES];
	struct source sources[SENSORS_MAX_SOURCES];
	size_t n_sources;
	struct sensors_claims claims;

	char feed_ids[FEED_IDS_REMEMBERED][PROTO_ID_MAX + 1];
	size_t feed_ids_next;
};

static const char *const kind_titles[SENSORS_KINDS] = {"Temperature", "Humidity", "Motion", "Sound",
						       "Bowl"};

/* ---- publishing ---------------------------------------------------------------- */

static bool can_publish(const struct sensors_app *a)
{
	return a->mqtt && !a->stopping && mqttc_is_connected(a->mqtt);
}

static void alert_about(struct sensors_app *a, const char *subject, enum proto_level level,
			const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* QoS 1 and sent even while disconnected (mqttc keeps it for the
 * connection); while stopping only logged. About one source (its spec,
 * e.g. "w1:28-0000072431b1"): sensor_lost and sensor_recovered of one
 * sensor share a key in iod-notify's set. */
static void alert_about(struct sensors_app *a, const char *subject, enum proto_level level,
			const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	service_valert_about(a->stopping ? NULL : a->mqtt, a->site, "sensors", subject, level, code,
			     fmt, ap);
	va_end(ap);
}

static void heartbeat_cb(uv_timer_t *t);

static void arm_heartbeat(struct sensors_app *a, enum proto_sensor_kind k, bool restart)
{
	struct kind_state *ks = &a->kinds[k];
	if (a->stopping || (!restart && uv_is_active((uv_handle_t *)&ks->heartbeat)))
		return;
	int64_t in = sensors_pub_heartbeat_in(&ks->pub, (int64_t)uv_now(a->loop));
	if (in < 0)
		uv_timer_stop(&ks->heartbeat);
	else
		uv_timer_start(&ks->heartbeat, heartbeat_cb, (uint64_t)in, 0);
}

/* Publish kind k's current sample (QoS 0, retained) and re-arm its
 * heartbeat. While disconnected nothing is queued: Paho would replay stale
 * readings after an outage, and on_connected publishes the current ones. */
static void send_reading(struct sensors_app *a, enum proto_sensor_kind k)
{
	struct kind_state *ks = &a->kinds[k];
	arm_heartbeat(a, k, true);
	if (!can_publish(a))
		return; /* republished on connect; stale retained readings are not queued */
	struct proto_reading r = {.value = ks->pub.sample, .ts_ms = loop_wall_ms()};
	snprintf(r.unit, sizeof(r.unit), "%s", proto_sensor_unit(k));
	char *json = proto_reading_encode(&r);
	if (!json)
		return;
	int rc = mqttc_publish_str(a->mqtt, ks->topic, json, 0, true);
	log_debug("published %s %s (%d)", ks->topic, json, rc);
	free(json);
}

static void heartbeat_cb(uv_timer_t *t)
{
	struct kind_state *ks = t->data;
	struct sensors_app *a = ks->app;
	enum proto_sensor_kind k = ks->kind;
	if (sensors_pub_heartbeat(&ks->pub, (int64_t)uv_now(a->loop)) != SENSORS_SKIP)
		send_reading(a, k);
	else
		arm_heartbeat(a, k, true);
}

/* A sample of kind k from source `src`: publish it if the policy says so. */
static void sample(struct sensors_app *a, int src, enum proto_sensor_kind k, double value)
{
	struct kind_state *ks = &a->kinds[k];
	if (a->claims.owner[k] != src || a->stopping)
		return;
	enum sensors_decision d = sensors_pub_sample(&ks->pub, value, (int64_t)uv_now(a->loop));
	if (d != SENSORS_SKIP) {
		log_debug("%s %g (%s)", proto_sensor_kind_name(k), ks->pub.sample,
			  d == SENSORS_PUBLISH_CHANGE ? "change" : "heartbeat");
		send_reading(a, k);
	} else {
		arm_heartbeat(a, k, false);
	}
}

static void publish_discovery(struct sensors_app *a, enum proto_sensor_kind k)
{
	const char *name = proto_sensor_kind_name(k);
	bool motion = k == PROTO_SENSOR_MOTION;
	const char *component = motion ? "binary_sensor" : "sensor";
	char topic[PROTO_TOPIC_MAX];
	if (!can_publish(a) ||
	    ha_config_topic(topic, sizeof(topic), component, a->site, "sensors", name) < 0)
		return;
	if (a->claims.owner[k] == SENSORS_NOBODY) {
		/* Not provided here: remove an entity an earlier configuration announced. */
		mqttc_publish(a->mqtt, topic, "", 0, 1, true);
		return;
	}
	static const char *const device_class[SENSORS_KINDS] = {"temperature", "humidity", "motion",
								"sound_pressure", "weight"};
	cJSON *e = ha_entity_new(&a->ha, component, name, kind_titles[k]);
	if (!e)
		return;
	cJSON_AddStringToObject(e, "state_topic", a->kinds[k].topic);
	cJSON_AddStringToObject(e, "device_class", device_class[k]);
	if (motion) {
		cJSON_AddStringToObject(e, "value_template", "{{ value_json.value | int }}");
		cJSON_AddStringToObject(e, "payload_on", "1");
		cJSON_AddStringToObject(e, "payload_off", "0");
	} else {
		cJSON_AddStringToObject(e, "value_template", "{{ value_json.value }}");
		cJSON_AddStringToObject(e, "unit_of_measurement", proto_sensor_unit(k));
		cJSON_AddStringToObject(e, "state_class", "measurement");
	}
	/* Three missed heartbeats and Home Assistant shows the entity unavailable. */
	cJSON_AddNumberToObject(e, "expire_after", (double)(a->heartbeat_ms * 3 / 1000));
	ha_publish_entity(a->mqtt, &a->ha, component, name, e);
}

/* Source src offers kind k: it publishes it from now on if nobody does
 * (sensors_claim() decides and says what to log). */
static void claim(struct sensors_app *a, int src, enum proto_sensor_kind k)
{
	char msg[SENSORS_MSG_MAX];
	enum sensors_claim c = sensors_claim(&a->claims, src, k, msg, sizeof(msg));
	if (c == SENSORS_CLAIM_TAKEN) {
		log_warn("%s", msg);
	} else if (c == SENSORS_CLAIM_WON) {
		log_info("%s", msg);
		if (a->started)
			publish_discovery(a, k);
	}
}

/* ---- health --------------------------------------------------------------------- */

static void source_ok(struct source *s)
{
	if (sensors_health_ok(&s->health) == SENSORS_HEALTH_RECOVERED)
		alert_about(s->app, s->spec->text, PROTO_LEVEL_INFO, PROTO_ALERT_SENSOR_RECOVERED,
			    "%s is back", s->spec->text);
}

static void source_failed(struct source *s, const char *why)
{
	struct sensors_app *a = s->app;
	log_debug("%s: %s", s->spec->text, why);
	if (sensors_health_fail(&s->health) != SENSORS_HEALTH_LOST)
		return;
	alert_about(a, s->spec->text, PROTO_LEVEL_WARNING, PROTO_ALERT_SENSOR_LOST,
		    "%s lost: %s (still trying)", s->spec->text, why);
	for (int k = 0; k < SENSORS_KINDS; k++) {
		if (a->claims.owner[k] == s->index) {
			sensors_pub_lost(&a->kinds[k].pub);
			uv_timer_stop(&a->kinds[k].heartbeat);
		}
	}
}

/* Hand what a source produced to the kinds it publishes (the others are
 * dropped). Returns the first failed read among those, NULL when none. */
static const char *deliver(struct sensors_app *a, struct source *s, const struct source_readings *r)
{
	const char *why = NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct source_reading *one = &r->r[i];
		if (a->claims.owner[one->kind] != s->index)
			continue;
		if (!one->why)
			sample(a, s->index, one->kind, one->value);
		else if (!why)
			why = one->why;
	}
	return why;
}

/* ---- the source's own timer ------------------------------------------------------ */

static void timer_cb(uv_timer_t *t);

static void arm_timer(struct source *s)
{
	if (!s->ops->deadline_in || s->app->stopping)
		return;
	int64_t in = s->ops->deadline_in(s->state, (int64_t)uv_now(s->app->loop));
	if (in < 0)
		uv_timer_stop(&s->timer);
	else
		uv_timer_start(&s->timer, timer_cb, (uint64_t)in, 0);
}

static void timer_cb(uv_timer_t *t)
{
	struct source *s = t->data;
	struct source_readings r = {.n = 0};
	s->ops->timer(s->state, (int64_t)uv_now(s->app->loop), loop_wall_ms(), &r);
	deliver(s->app, s, &r);
	arm_timer(s);
}

/* ---- sampled sources: threadpool reads --------------------------------------------- */

/* Threadpool thread: touches only this source's state and result. */
static void poll_work(uv_work_t *w)
{
	struct source *s = w->data;
	s->result.readings.n = 0;
	s->result.why = NULL;
	s->result.rc = s->ops->read(s->state, &s->result.readings, &s->result.why);
}

/* Loop thread, after poll_work: the threadpool is done with the source, so
 * its result is read here; a device seen for the first time claims its
 * kinds. Runs with status UV_ECANCELED or after stop during shutdown: then
 * it only clears `busy`. */
static void poll_done(uv_work_t *w, int status)
{
	struct source *s = w->data;
	struct sensors_app *a = s->app;
	s->busy = false;
	if (status != 0 || a->stopping)
		return;
	if (s->result.rc < 0) {
		source_failed(s, s->result.why ? s->result.why : "not found");
		return;
	}
	const struct source_readings *r = &s->result.readings;
	bool read[SENSORS_KINDS] = {false};
	for (size_t i = 0; i < r->n; i++) {
		claim(a, s->index, r->r[i].kind);
		read[r->r[i].kind] = true;
	}
	if (!sensors_claims_any(&a->claims, s->index)) {
		/* Everything it reads comes from a backend listed before it. */
		log_warn("%s: nothing to publish (its kinds come from backends listed earlier); "
			 "no longer read",
			 s->spec->text);
		uv_timer_stop(&s->poll_timer);
		return;
	}
	const char *why = deliver(a, s, r);
	for (int k = 0; k < SENSORS_KINDS && !why; k++)
		if (a->claims.owner[k] == s->index && !read[k])
			why = "channel missing"; /* the device came back without it */
	if (why)
		source_failed(s, why);
	else
		source_ok(s);
}

/* Loop thread. One read in flight per source: a read that outlasts the
 * interval (a DS18B20 conversion on a slow bus) skips the next poll and
 * counts an overrun instead of queueing reads behind it. */
static void poll_timer_cb(uv_timer_t *t)
{
	struct source *s = t->data;
	if (s->busy) {
		s->overruns++;
		return;
	}
	s->work.data = s;
	if (uv_queue_work(s->app->loop, &s->work, poll_work, poll_done) == 0)
		s->busy = true;
}

/* ---- event sources: a watched fd ---------------------------------------------------- */

static void event_open(struct source *s);

/* libuv must stop watching the fd before the source closes it; the poll
 * handle is freed by its close callback. */
static void event_close(struct source *s)
{
	if (s->poll) {
		uv_poll_stop(s->poll);
		uv_close((uv_handle_t *)s->poll, (uv_close_cb)free);
		s->poll = NULL;
	}
	if (s->ops->close)
		s->ops->close(s->state);
	uv_timer_stop(&s->timer);
}

static void retry_cb(uv_timer_t *t)
{
	event_open(t->data);
}

static void event_lost(struct source *s, const char *why)
{
	event_close(s);
	source_failed(s, why);
	if (!s->app->stopping)
		uv_timer_start(&s->retry_timer, retry_cb, (uint64_t)s->app->interval_ms, 0);
}

static void event_poll_cb(uv_poll_t *p, int status, int events)
{
	struct source *s = p->data;
	if (status < 0 || !(events & UV_READABLE)) {
		event_lost(s, status < 0 ? uv_strerror(status) : "line event error");
		return;
	}
	struct source_readings r = {.n = 0};
	const char *why = NULL;
	if (s->ops->events(s->state, (int64_t)uv_now(s->app->loop), &r, &why) < 0) {
		event_lost(s, why);
		return;
	}
	deliver(s->app, s, &r);
	arm_timer(s);
}

/* Loop thread. Open the source (a GPIO line: request its edge events, read
 * its level once) and watch its fd. Any failure closes what was opened,
 * counts towards sensor_lost and retries after IOD_SENSORS_INTERVAL. */
static void event_open(struct source *s)
{
	struct sensors_app *a = s->app;
	struct source_readings r = {.n = 0};
	const char *why = NULL;
	if (a->stopping)
		return;
	if (s->ops->open(s->state, (int64_t)uv_now(a->loop), &r, &why) < 0) {
		event_lost(s, why);
		return;
	}
	s->poll = malloc(sizeof(*s->poll));
	if (!s->poll || uv_poll_init(a->loop, s->poll, s->ops->fd(s->state)) < 0) {
		free(s->poll);
		s->poll = NULL;
		event_lost(s, "cannot watch the line");
		return;
	}
	s->poll->data = s;
	uv_poll_start(s->poll, UV_READABLE, event_poll_cb);
	source_ok(s);
	deliver(a, s, &r);
	arm_timer(s);
}

/* true when this feed id was seen before (a QoS 1 redelivery). */
static bool feed_seen(struct sensors_app *a, const char *id)
{
	if (!id[0])
		return false;
	for (size_t i = 0; i < FEED_IDS_REMEMBERED; i++)
		if (strcmp(a->feed_ids[i], id) == 0)
			return true;
	snprintf(a->feed_ids[a->feed_ids_next], sizeof(a->feed_ids[0]), "%s", id);
	a->feed_ids_next = (a->feed_ids_next + 1) % FEED_IDS_REMEMBERED;
	return false;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

struct sensors_app *sensors_app_new(uv_loop_t *loop, const struct cfg *cfg)
{
	struct sensors_app *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->loop = loop;
	a->cfg = cfg;
	a->site = cfg_str(cfg, "IOD_SITE");
	a->ha = (struct ha_device){
	    .site = a->site,
	    .service = "sensors",
	    .dashboard_url = ha_dashboard_url(cfg, a->dashboard_url, sizeof(a->dashboard_url)),
	};
	a->backend = cfg_str(cfg, "IOD_SENSORS");
	struct source_settings set = {
	    .sysfs_root = cfg_str(cfg, "IOD_SENSORS_SYSFS_ROOT"),
	    .motion_hold_ms = cfg_duration_ms(cfg, "IOD_SENSORS_MOTION_HOLD"),
	    .active_low = cfg_bool(cfg, "IOD_SENSORS_GPIO_ACTIVE_LOW"),
	    .seed = (uint64_t)cfg_int(cfg, "IOD_SENSORS_SEED"),
	};
	a->interval_ms = cfg_duration_ms(cfg, "IOD_SENSORS_INTERVAL");
	a->heartbeat_ms = cfg_duration_ms(cfg, "IOD_SENSORS_HEARTBEAT");

	const char *why = NULL;
	if (sensors_spec_parse(a->backend, a->specs, SENSORS_MAX_SOURCES, &a->n_sources, &why) <
	    0) {
		fprintf(stderr, "iod-sensors: IOD_SENSORS: '%s': %s\n",
			a->backend ? a->backend : "", why);
		goto fail;
	}

	struct sensors_policy policy[SENSORS_KINDS];
	sensors_policy_defaults(policy, a->heartbeat_ms);
	static const struct {
		enum proto_sensor_kind kind;
		const char *name;
	} deadbands[] = {
	    {PROTO_SENSOR_TEMPERATURE, "IOD_SENSORS_DEADBAND_TEMPERATURE"},
	    {PROTO_SENSOR_HUMIDITY, "IOD_SENSORS_DEADBAND_HUMIDITY"},
	    {PROTO_SENSOR_SOUND, "IOD_SENSORS_DEADBAND_SOUND"},
	    {PROTO_SENSOR_BOWL, "IOD_SENSORS_DEADBAND_BOWL"},
	};
	for (size_t i = 0; i < sizeof(deadbands) / sizeof(deadbands[0]); i++)
		policy[deadbands[i].kind].deadband = cfg_number(cfg, deadbands[i].name);
	set.bowl_tare = cfg_number(cfg, "IOD_SENSORS_BOWL_TARE");
	set.bowl_scale = cfg_number(cfg, "IOD_SENSORS_BOWL_SCALE");

	if (proto_topic(a->sim_dispensed_topic, sizeof(a->sim_dispensed_topic), a->site, "feeder",
			"sim/dispensed") < 0)
		goto fail;

	for (int k = 0; k < SENSORS_KINDS; k++) {
		struct kind_state *ks = &a->kinds[k];
		ks->pub.policy = policy[k];
		proto_topic(ks->topic, sizeof(ks->topic), a->site, "sensors",
			    proto_sensor_kind_name((enum proto_sensor_kind)k));
		ks->app = a;
		ks->kind = (enum proto_sensor_kind)k;
		uv_timer_init(loop, &ks->heartbeat);
		ks->heartbeat.data = ks;
	}

	sensors_claims_init(&a->claims, a->specs, a->n_sources);
	for (size_t i = 0; i < a->n_sources; i++) {
		struct source *s = &a->sources[i];
		s->app = a;
		s->index = (int)i;
		s->spec = &a->specs[i];
		s->ops = s->spec->ops;
		uv_timer_init(loop, &s->timer);
		uv_timer_init(loop, &s->poll_timer);
		uv_timer_init(loop, &s->retry_timer);
		s->timer.data = s->poll_timer.data = s->retry_timer.data = s;
		s->state = s->ops->create(s->spec, &set, loop_wall_ms());
		if (!s->state)
			goto fail;
		s->ops->offers(s->state, s->offered);
	}

	/* Who publishes what: the real backends first, in list order (an IIO
	 * device not there yet claims its kinds when it appears); the sim fills
	 * whatever is left. */
	int order[SENSORS_MAX_SOURCES];
	sensors_claim_order(a->specs, a->n_sources, order);
	for (size_t i = 0; i < a->n_sources; i++)
		for (int k = 0; k < SENSORS_KINDS; k++)
			if (a->sources[order[i]].offered[k])
				claim(a, order[i], (enum proto_sensor_kind)k);
	return a;
fail:
	/* Nothing has started yet: close the timers, let one loop turn finish
	 * the closes (the skeleton's signal watchers and MQTT client stay open:
	 * running the loop dry would wait on them), and free. */
	sensors_app_stop(a);
	uv_run(loop, UV_RUN_NOWAIT);
	sensors_app_free(a);
	return NULL;
}

/* The source that publishes the bowl when it is one the sim feeder fills
 * (the sim), else NULL. */
static struct source *bowl_filler(struct sensors_app *a)
{
	int owner = a->claims.owner[PROTO_SENSOR_BOWL];
	if (owner == SENSORS_NOBODY || !a->sources[owner].ops->fed)
		return NULL;
	return &a->sources[owner];
}

int sensors_app_attach(struct sensors_app *a, struct mqttc *m)
{
	a->mqtt = m;
	if (bowl_filler(a))
		return mqttc_subscribe(m, a->sim_dispensed_topic, 1, true);
	return 0;
}

/* Loop thread: discovery for every kind (empty for kinds nobody provides),
 * after every (re)connect and on Home Assistant's birth. */
void sensors_app_publish_discovery(void *arg)
{
	struct sensors_app *a = arg;
	if (a->stopping)
		return;
	for (int k = 0; k < SENSORS_KINDS; k++)
		publish_discovery(a, (enum proto_sensor_kind)k);
}

/* Loop thread, after every (re)connect (after info and discovery) and on
 * Home Assistant's birth: the current readings again, so a broker that
 * lost its retained store, or a Home Assistant that just started, has
 * them at once. */
void sensors_app_on_connected(void *arg)
{
	struct sensors_app *a = arg;
	if (a->stopping)
		return;
	for (int k = 0; k < SENSORS_KINDS; k++)
		if (a->claims.owner[k] != SENSORS_NOBODY &&
		    sensors_pub_republish(&a->kinds[k].pub, (int64_t)uv_now(a->loop)))
			send_reading(a, (enum proto_sensor_kind)k);
}

/* Home Assistant's birth (the skeleton has published discovery): info and
 * the readings again. */
void sensors_app_on_ha_birth(void *arg)
{
	struct sensors_app *a = arg;
	if (!can_publish(a))
		return;
	service_publish_info(a->mqtt, a->site, "sensors", a->backend, a->since_ms);
	sensors_app_on_connected(a);
}

const char *sensors_app_backend(void *arg)
{
	const struct sensors_app *a = arg;
	return a->backend;
}

/* The sim feeder's {"dispenser":"medication"|"treat","id":"…","ts":ms}:
 * 0 with *treat and id, or -1 (not one). */
static int sim_dispensed_decode(const char *payload, size_t len, bool *treat, char *id,
				size_t id_size)
{
	cJSON *o = cJSON_ParseWithLength(payload, len);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "dispenser");
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, "id");
	int rc = -1;
	if (cJSON_IsString(d) && cJSON_IsString(i) && strlen(i->valuestring) < id_size &&
	    (strcmp(d->valuestring, "medication") == 0 || strcmp(d->valuestring, "treat") == 0)) {
		*treat = strcmp(d->valuestring, "treat") == 0;
		snprintf(id, id_size, "%s", i->valuestring);
		rc = 0;
	}
	cJSON_Delete(o);
	return rc;
}

/* Loop thread (mqttc hands messages over; Home Assistant's birth is the
 * skeleton's). The sim feeder's feeder/sim/dispensed matters only to a
 * bowl it fills (the sim's): a fresh (not retained) one fills it once per
 * id, a dose a portion and a treat a little, and publishes the bowl at
 * once. The feeder's own word (feeder/event) is not believed: a jammed sim
 * servo reports its dose ok, and nothing falls. */
void sensors_app_on_message(void *arg, const struct mqttc_message *msg)
{
	struct sensors_app *a = arg;
	if (a->stopping)
		return;
	struct source *filler = bowl_filler(a);
	if (!filler || strcmp(msg->topic, a->sim_dispensed_topic) != 0)
		return;
	if (msg->retained)
		return; /* an old one replayed, not a pill that just fell */
	bool treat = false;
	char id[PROTO_ID_MAX + 1];
	if (sim_dispensed_decode(msg->payload, msg->len, &treat, id, sizeof(id)) < 0) {
		log_debug("%s: not a dispensed message: ignored", a->sim_dispensed_topic);
		return;
	}
	if (feed_seen(a, id))
		return;
	log_info("%s: the sim feeder dispensed %s %s, filling the bowl", filler->spec->text,
		 treat ? "treat" : "dose", id);
	struct source_readings r = {.n = 0};
	filler->ops->fed(filler->state, loop_wall_ms(), treat, &r);
	deliver(a, filler, &r);
}

/* Drive every source its ops' ways; one whose kinds all come from others
 * is not started. */
int sensors_app_start(struct sensors_app *a)
{
	a->started = true;
	for (size_t i = 0; i < a->n_sources; i++) {
		struct source *s = &a->sources[i];
		char msg[SENSORS_MSG_MAX];
		if (sensors_claims_unused(&a->claims, s->index, s->offered, msg, sizeof(msg))) {
			log_warn("%s", msg);
			continue;
		}
		if (s->ops->read)
			uv_timer_start(&s->poll_timer, poll_timer_cb, 0, (uint64_t)a->interval_ms);
		if (s->ops->open)
			event_open(s);
		arm_timer(s);
	}
	log_info("started: %s, read interval %lld ms, heartbeat %lld ms", a->backend,
		 (long long)a->interval_ms, (long long)a->heartbeat_ms);
	return 0;
}

static void close_handle(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

void sensors_app_stop(struct sensors_app *a)
{
	if (!a || a->stopping)
		return;
	a->stopping = true;
	for (int k = 0; k < SENSORS_KINDS; k++) {
		const struct sensors_pub *p = &a->kinds[k].pub;
		if (a->started && a->claims.owner[k] != SENSORS_NOBODY)
			log_info("%s: %" PRIu64 " samples, %" PRIu64 " changes and %" PRIu64
				 " heartbeats published",
				 proto_sensor_kind_name((enum proto_sensor_kind)k), p->samples,
				 p->changes, p->heartbeats);
	}
	for (size_t i = 0; i < a->n_sources; i++)
		if (a->sources[i].overruns)
			log_info("%s: %" PRIu64 " reads skipped (previous read still running)",
				 a->sources[i].spec->text, a->sources[i].overruns);
	for (int k = 0; k < SENSORS_KINDS; k++)
		close_handle((uv_handle_t *)&a->kinds[k].heartbeat);
	for (size_t i = 0; i < a->n_sources; i++) {
		struct source *s = &a->sources[i];
		if (!s->ops)
			continue; /* a bad setting stopped sensors_app_new before it */
		event_close(s);
		close_handle((uv_handle_t *)&s->timer);
		close_handle((uv_handle_t *)&s->poll_timer);
		close_handle((uv_handle_t *)&s->retry_timer);
		if (s->busy)
			uv_cancel((uv_req_t *)&s->work);
	}
}

void sensors_app_free(struct sensors_app *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_sources; i++)
		if (a->sources[i].ops && a->sources[i].state)
			a->sources[i].ops->destroy(a->sources[i].state);
	free(a);
}

/* ---- the service ------------------------------------------------------------------------ */

static void *create(struct service *svc, int *exit_code)
{
	struct sensors_app *a = sensors_app_new(service_loop(svc), service_cfg(svc));
	if (!a) {
		*exit_code = 2; /* a bad setting (reported) or out of memory */
		return NULL;
	}
	if (sensors_app_attach(a, service_mqtt(svc)) < 0) {
		*exit_code = 1;
		sensors_app_stop(a);
		uv_run(service_loop(svc), UV_RUN_NOWAIT); /* the closes */
		sensors_app_free(a);
		return NULL;
	}
	a->since_ms = service_since_ms(svc);
	return a;
}

static int start(void *app)
{
	return sensors_app_start(app) < 0 ? -1 : 0;
}

static void stop(void *app)
{
	sensors_app_stop(app);
}

static void destroy(void *app)
{
	sensors_app_free(app);
}

const struct service_def sensors_service = {
    .name = "sensors",
    .options = sensors_app_options,
    .n_options = sizeof(sensors_app_options) / sizeof(sensors_app_options[0]),
    .session_expiry_s = 0,
    .queue_limit = 64, /* only the feeder's events come in */
    .max_payload = PROTO_MAX_PAYLOAD,
    .create = create,
    .start = start,
    .stop = stop,
    .destroy = destroy,
    .on_message = sensors_app_on_message,
    .on_connected = sensors_app_on_connected,
    .publish_discovery = sensors_app_publish_discovery,
    .on_ha_birth = sensors_app_on_ha_birth,
    .backend = sensors_app_backend,
};
