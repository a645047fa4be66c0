/*
 * app — see app.h.
 */
#include "app.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera.h"
#include "cfg.h"
#include "ha.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"
#include "proto.h"
#include "service.h"

struct camera_app {
	uv_loop_t *loop;
	const struct cfg *cfg;
	struct camera_settings settings_copy;
	const struct camera_settings *settings; /* &settings_copy */
	const char *site;
	struct ha_device ha;
	char dashboard_url[512];
	struct mqttc *mqtt;
	int64_t since_ms; /* the skeleton's, for info on HA's birth */
	bool stopping;

	char t_frame[PROTO_TOPIC_MAX], t_motion[PROTO_TOPIC_MAX], t_cmd[PROTO_TOPIC_MAX],
	    t_snapshot[PROTO_TOPIC_MAX];

	/* The source and the pipeline sized for it; both NULL while lost. */
	const struct source_ops *ops;
	const char *source_arg;
	void *source;
	struct source_info info;
	struct camera *cam;

	uv_timer_t frame_timer; /* sim: one frame per period */
	uint64_t next_due_ns;	/* the frame timer's schedule, on uv_hrtime() */
	uv_poll_t *poll;	/* V4L2: the device fd; freed in its close callback */
	uv_timer_t stall_timer; /* V4L2: no frame for too long means lost */
	uv_timer_t retry_timer; /* reopen a lost source */
	struct camera_health health;
	int64_t bad_cmd_alert_ms;
	struct camera_rate snapshot_rate;
	struct camera_rate for_rate; /* "for" snapshots: a bucket of their own */
	/* "for" snapshots waiting for a frame, oldest first; for_timer fires at
	 * the first one's deadline (loop_mono_ms). */
	struct {
		char for_[PROTO_CAMERA_FOR_MAX + 1];
		int64_t deadline_ms;
	} pending[CAMERA_FOR_PENDING_MAX];
	size_t n_pending;
	uv_timer_t for_timer;
	struct camera_pacer pacer; /* streaming sources: hold the configured rate */

	/* Counters, logged at exit. */
	uint64_t published, unsent, late_frames, paced_out, snapshots, snapshots_dropped, bad_cmds;
	uint64_t for_sent, for_missed, for_dropped;
	uint64_t thumbs_sent, thumbs_missed; /* motion thumbnails */
};

static void source_close(struct camera_app *a);
static void on_retry(uv_timer_t *t);
static void answer_pending(struct camera_app *a, const uint8_t *jpeg, size_t len);

/* ---- publishing ---- */

/* QoS 1, also while disconnected: mqttc keeps it for the connection. */
static void publish_alert(struct camera_app *a, enum proto_level level, const char *code,
			  const char *message)
{
	service_alert(a->mqtt, a->site, "camera", level, code, "%s", message);
}

/* Frames go out only while connected: Paho would otherwise buffer stale
 * frames during an outage and replay them later. The retained last frame is
 * sent again on reconnect instead. */
static void publish_frame(struct camera_app *a, const uint8_t *jpeg, size_t len)
{
	if (!mqttc_is_connected(a->mqtt)) {
		a->unsent++;
		return;
	}
	if (mqttc_publish(a->mqtt, a->t_frame, jpeg, len, 0, true) == 0)
		a->published++;
	else
		a->unsent++;
}

static void publish_motion(struct camera_app *a, const struct motion_event *ev)
{
	struct proto_motion m = {
	    .score = ev->score, .active = ev->kind == MOTION_START, .ts_ms = ev->ts_ms};
	char *json = proto_motion_encode(&m);
	if (!json)
		return;
	log_info("motion %s (score %.3f)", ev->kind == MOTION_START ? "started" : "stopped",
		 ev->score);
	/* Retained: Home Assistant (or a dashboard) that starts later still
	 * knows whether motion is going on. */
	mqttc_publish_str(a->mqtt, a->t_motion, json, 1, true);
	free(json);
}

/*
 * The motion start's thumbnail, right after its camera/motion event, on
 * camera/snapshot as a dose's picture goes (QoS 1, not retained, also while
 * disconnected: the records store files it with the event), with "for" =
 * "motion:<the event's ts>". No token bucket, neither the dose snapshots'
 * nor one of its own: nobody asks for these over MQTT, and the detector's
 * hysteresis (a stop needs IOD_CAMERA_MOTION_QUIET below _OFF first) makes
 * at most one per start.
 */
static void publish_thumbnail(struct camera_app *a, const struct camera_output *out)
{
	char for_[PROTO_CAMERA_FOR_MAX + 1];
	snprintf(for_, sizeof(for_), CAMERA_FOR_MOTION "%" PRId64, out->motion.ts_ms);
	struct mqttc_prop prop = {.name = "for", .value = for_};
	if (mqttc_publish_props(a->mqtt, a->t_snapshot, out->thumb, out->thumb_len, 1, false, &prop,
				1) == 0) {
		a->thumbs_sent++;
		if (out->thumb_quality > 0)
			log_info("thumbnail for %s: %zu bytes, %dx%d at quality %d, on "
				 "camera/snapshot",
				 for_, out->thumb_len, out->thumb_width, out->thumb_height,
				 out->thumb_quality);
		else
			log_info("thumbnail for %s: %zu bytes, %dx%d (the frame itself), on "
				 "camera/snapshot",
				 for_, out->thumb_len, out->thumb_width, out->thumb_height);
	} else {
		a->thumbs_missed++;
		log_warn("thumbnail for %s: not published (the outgoing buffer is full)", for_);
	}
}

/* Home Assistant: the frames as a camera entity (it keeps the last picture
 * and writes no state per frame; an image entity at 5 frames a second would
 * be a database row per frame), motion as a binary sensor (ON for a start
 * event, OFF for a stop, read from "active" so it holds whatever
 * IOD_CAMERA_MOTION_ON/_OFF are), and a snapshot button. */
void camera_app_publish_discovery(void *arg)
{
	struct camera_app *a = arg;
	char topic[PROTO_TOPIC_MAX];
	/* The image entity earlier versions announced: an empty retained
	 * config removes it from Home Assistant. */
	if (ha_config_topic(topic, sizeof(topic), "image", a->site, "camera", "frame") == 0)
		mqttc_publish(a->mqtt, topic, "", 0, 1, true);

	cJSON *cam = ha_entity_new(&a->ha, "camera", "frame", "Camera");
	if (cam) {
		cJSON_AddStringToObject(cam, "topic", a->t_frame);
		cJSON_AddStringToObject(cam, "icon", "mdi:dog");
	}
	ha_publish_entity(a->mqtt, &a->ha, "camera", "frame", cam);

	cJSON *mot = ha_entity_new(&a->ha, "binary_sensor", "motion", "Camera motion");
	if (mot) {
		cJSON_AddStringToObject(mot, "state_topic", a->t_motion);
		cJSON_AddStringToObject(mot, "device_class", "motion");
		cJSON_AddStringToObject(mot, "value_template",
					"{{ 'ON' if value_json.active else 'OFF' }}");
		cJSON_AddStringToObject(mot, "payload_on", "ON");
		cJSON_AddStringToObject(mot, "payload_off", "OFF");
	}
	ha_publish_entity(a->mqtt, &a->ha, "binary_sensor", "motion", mot);

	cJSON *btn = ha_entity_new(&a->ha, "button", "snapshot", "Camera snapshot");
	if (btn && ha_entity_set_command(btn, a->t_cmd, "snapshot") < 0) {
		cJSON_Delete(btn);
		btn = NULL;
	}
	ha_publish_entity(a->mqtt, &a->ha, "button", "snapshot", btn);
}

/* After every (re)connect (the skeleton has published info and discovery)
 * and on Home Assistant's birth (it shows the picture again). */
void camera_app_on_connected(void *arg)
{
	struct camera_app *a = arg;
	if (a->stopping)
		return;
	/* The motion state now: it replaces a retained "active" a previous run
	 * left behind (it may have died during motion). */
	const struct motion *mo = a->cam ? camera_motion(a->cam) : NULL;
	struct proto_motion m = {.score = mo ? motion_score(mo) : 0.0,
				 .active = mo && motion_active(mo),
				 .ts_ms = loop_wall_ms()};
	char *json = proto_motion_encode(&m);
	if (json)
		mqttc_publish_str(a->mqtt, a->t_motion, json, 1, true);
	free(json);
	const uint8_t *jpeg;
	size_t len;
	/* The last frame again, unless the camera is lost: then the retained
	 * frame the broker holds is already the last one there is. */
	if (a->cam && a->source && camera_last_jpeg(a->cam, &jpeg, &len))
		publish_frame(a, jpeg, len);
}

/* ---- frames ---- */

static void on_stall(uv_timer_t *t);

static void rearm_stall(struct camera_app *a)
{
	uv_timer_start(&a->stall_timer, on_stall, (uint64_t)camera_stall_ms(a->info.fps), 0);
}

/*
 * The source failed to open, failed, or went silent: close it, end open
 * motion (without a picture there is none to report), alert once per loss,
 * and try again with back-off. `what` is "unavailable" or "lost".
 */
static void source_failed(struct camera_app *a, const char *what, const char *why)
{
	char msg[256];
	int64_t retry_ms;
	unsigned actions = camera_health_lost(&a->health, &retry_ms);
	snprintf(msg, sizeof(msg), "camera %s %s: %s; retrying", a->settings->source, what, why);
	log_warn("%s; next try in %" PRId64 " s", msg, retry_ms / 1000);
	if (actions & CAMERA_HEALTH_ALERT_LOST)
		publish_alert(a, PROTO_LEVEL_WARNING, PROTO_ALERT_CAMERA_LOST, msg);
	if (a->cam) {
		struct motion_event stop = camera_motion_reset(a->cam, loop_wall_ms());
		if (stop.kind != MOTION_NONE)
			publish_motion(a, &stop);
	}
	source_close(a);
	if (!a->stopping)
		uv_timer_start(&a->retry_timer, on_retry, (uint64_t)retry_ms, 0);
}

/* Take up to max_frames frames the source has ready now. */
static void take_frames(struct camera_app *a, int max_frames)
{
	for (int i = 0; i < max_frames && a->source; i++) {
		struct source_frame f;
		int64_t now = loop_wall_ms();
		int rc = a->ops->grab(a->source, now, &f);
		if (rc == 1)
			return;
		if (rc < 0) {
			source_failed(a, "lost", strerror(-rc));
			return;
		}
		if (a->poll && !camera_pacer_take(&a->pacer, (int64_t)(uv_hrtime() / 1000))) {
			/* Faster than configured: hand the buffer straight back. */
			a->ops->release(a->source);
			a->paced_out++;
			rearm_stall(a);
			continue;
		}
		struct camera_output out;
		int ok = camera_frame(a->cam, &f, now, &out);
		a->ops->release(a->source);
		if (ok < 0)
			continue;
		if (a->poll)
			rearm_stall(a);
		if (camera_health_frame(&a->health) & CAMERA_HEALTH_ALERT_RECOVERED) {
			char msg[256];
			snprintf(msg, sizeof(msg), "camera %s is back", a->settings->source);
			/* Close the story the camera_lost alert opened (as sensors do). */
			publish_alert(a, PROTO_LEVEL_INFO, "camera_recovered", msg);
		}
		publish_frame(a, out.jpeg, out.jpeg_len);
		if (a->n_pending > 0)
			answer_pending(a, out.jpeg, out.jpeg_len);
		if (out.motion.kind != MOTION_NONE)
			publish_motion(a, &out.motion);
		if (out.motion.kind == MOTION_START && out.thumb)
			publish_thumbnail(a, &out);
	}
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct camera_app *a = p->data;
	if (status < 0) {
		source_failed(a, "lost", uv_strerror(status));
		return;
	}
	if (events & UV_READABLE)
		take_frames(a, 4);
}

static void on_stall(uv_timer_t *t)
{
	struct camera_app *a = t->data;
	if (!a->source)
		return;
	char why[64];
	snprintf(why, sizeof(why), "no frame for %" PRId64 " ms", camera_stall_ms(a->info.fps));
	source_failed(a, "lost", why);
}

/* The sim's frame clock: deadlines advance by exactly one period, so the
 * rate holds over time; a loop that fell behind skips ahead rather than
 * bursting. */
static void on_frame_timer(uv_timer_t *t)
{
	struct camera_app *a = t->data;
	take_frames(a, 1);
	if (!a->source || a->stopping)
		return;
	uint64_t period = 1000000000ull / (uint64_t)a->info.fps;
	uint64_t now = uv_hrtime();
	a->next_due_ns += period;
	if (a->next_due_ns <= now) {
		a->late_frames++;
		a->next_due_ns = now + period;
	}
	uint64_t wait_ms = (a->next_due_ns - now + 999999) / 1000000;
	uv_timer_start(&a->frame_timer, on_frame_timer, wait_ms, 0);
}

/* ---- opening and losing the source ---- */

static void free_poll(uv_handle_t *h)
{
	free(h);
}

static void source_close(struct camera_app *a)
{
	uv_timer_stop(&a->frame_timer);
	uv_timer_stop(&a->stall_timer);
	/* libuv must stop watching the fd before it is closed. */
	if (a->poll) {
		uv_poll_stop(a->poll);
		uv_close((uv_handle_t *)a->poll, free_poll);
		a->poll = NULL;
	}
	if (a->source) {
		a->ops->close(a->source);
		a->source = NULL;
	}
}

static int source_open(struct camera_app *a)
{
	const struct camera_settings *s = a->settings;
	struct source_info info;
	void *state = NULL;
	int rc = a->ops->open(a->source_arg, s->width, s->height, s->fps, &state, &info);
	if (rc < 0)
		return rc;
	/* The pipeline follows the size the device actually gives. */
	if (!a->cam || info.width != a->info.width || info.height != a->info.height) {
		camera_free(a->cam);
		a->cam = camera_new(s, info.width, info.height);
		if (!a->cam) {
			a->ops->close(state);
			return -ENOMEM;
		}
	}
	a->source = state;
	a->info = info;
	if (a->info.fps < 1)
		a->info.fps = s->fps;
	int fd = a->ops->fd(state);
	if (fd < 0) {
		a->next_due_ns = uv_hrtime();
		uv_timer_start(&a->frame_timer, on_frame_timer, 0, 0);
		return 0;
	}
	a->poll = malloc(sizeof(*a->poll));
	if (!a->poll || uv_poll_init(a->loop, a->poll, fd) < 0) {
		free(a->poll);
		a->poll = NULL;
		source_close(a);
		return -EIO;
	}
	a->poll->data = a;
	camera_pacer_init(&a->pacer, s->fps);
	uv_poll_start(a->poll, UV_READABLE, on_readable);
	rearm_stall(a);
	return 0;
}

static void on_retry(uv_timer_t *t)
{
	struct camera_app *a = t->data;
	if (a->stopping || a->source)
		return;
	int rc = source_open(a);
	if (rc == 0)
		log_info("camera %s opened again", a->settings->source);
	else
		source_failed(a, "unavailable", strerror(-rc));
}

/* ---- commands ---- */

static void snapshot(struct camera_app *a)
{
	if (!camera_rate_take(&a->snapshot_rate, loop_mono_ms(), CAMERA_SNAPSHOT_PER_S,
			      CAMERA_SNAPSHOT_BURST)) {
		if (a->snapshots_dropped++ % 100 == 0)
			log_warn("snapshot: more than %d a second asked for; extra ones dropped "
				 "(%" PRIu64 " so far)",
				 CAMERA_SNAPSHOT_PER_S, a->snapshots_dropped);
		return;
	}
	a->snapshots++;
	/* A timer-driven source can make a fresh frame now; a streaming device's
	 * newest frame is at most one frame period old. */
	if (a->source && !a->poll) {
		take_frames(a, 1);
		return;
	}
	const uint8_t *jpeg;
	size_t len;
	if (a->cam && a->source && camera_last_jpeg(a->cam, &jpeg, &len)) {
		publish_frame(a, jpeg, len);
		return;
	}
	log_warn("snapshot: no frame to send, the camera %s is not delivering",
		 a->settings->source);
}

/* ---- "for" snapshots (a dose's picture) ---- */

static void drop_pending(struct camera_app *a, size_t i, const char *why)
{
	log_warn("snapshot for %s: %s; it has no snapshot", a->pending[i].for_, why);
	a->for_missed++;
	memmove(&a->pending[i], &a->pending[i + 1], (a->n_pending - i - 1) * sizeof(a->pending[0]));
	a->n_pending--;
}

static void on_for_timer(uv_timer_t *t);

/* One timer, at the oldest request's deadline (they wait equally long, so
 * the oldest is the first due). */
static void rearm_for_timer(struct camera_app *a)
{
	if (a->n_pending == 0) {
		uv_timer_stop(&a->for_timer);
		return;
	}
	int64_t wait = a->pending[0].deadline_ms - loop_mono_ms();
	uv_timer_start(&a->for_timer, on_for_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

static void expire_pending(struct camera_app *a)
{
	int64_t now = loop_mono_ms();
	char why[64];
	snprintf(why, sizeof(why), "no frame within %d ms", CAMERA_FOR_WAIT_MS);
	while (a->n_pending > 0 && a->pending[0].deadline_ms <= now)
		drop_pending(a, 0, why);
}

static void on_for_timer(uv_timer_t *t)
{
	struct camera_app *a = t->data;
	expire_pending(a);
	rearm_for_timer(a);
}

/* QoS 1 and not retained (each picture belongs to its dose), also while
 * disconnected: unlike a stream's frame this one is not stale later, so
 * mqttc keeps it for the connection. The records store files it by the
 * user property "for". */
static void answer_pending(struct camera_app *a, const uint8_t *jpeg, size_t len)
{
	expire_pending(a);
	for (size_t i = 0; i < a->n_pending; i++) {
		struct mqttc_prop prop = {.name = "for", .value = a->pending[i].for_};
		if (mqttc_publish_props(a->mqtt, a->t_snapshot, jpeg, len, 1, false, &prop, 1) ==
		    0) {
			a->for_sent++;
			log_info("snapshot for %s: %zu bytes on camera/snapshot", prop.value, len);
		} else {
			a->for_missed++;
			log_warn("snapshot for %s: not published (the outgoing buffer is full); it "
				 "has no snapshot",
				 prop.value);
		}
	}
	a->n_pending = 0;
	rearm_for_timer(a);
}

static void snapshot_for(struct camera_app *a, const char *for_)
{
	if (!camera_rate_take(&a->for_rate, loop_mono_ms(), CAMERA_FOR_SNAPSHOT_PER_S,
			      CAMERA_FOR_SNAPSHOT_BURST)) {
		if (a->for_dropped++ % 100 == 0)
			log_warn("snapshot for %s: more than %d a second asked for; dropped "
				 "(%" PRIu64 " so far)",
				 for_, CAMERA_FOR_SNAPSHOT_PER_S, a->for_dropped);
		return;
	}
	expire_pending(a);
	bool waiting = false;
	for (size_t i = 0; i < a->n_pending && !waiting; i++)
		waiting = strcmp(a->pending[i].for_, for_) == 0;
	if (!waiting) {
		if (a->n_pending == CAMERA_FOR_PENDING_MAX)
			drop_pending(a, 0, "too many snapshots waiting for a frame");
		size_t n = a->n_pending++;
		snprintf(a->pending[n].for_, sizeof(a->pending[n].for_), "%s", for_);
		a->pending[n].deadline_ms = loop_mono_ms() + CAMERA_FOR_WAIT_MS;
	}
	/* As a plain snapshot: a timer-driven source makes a fresh frame now
	 * (take_frames answers what waits), a streaming one has its newest. */
	if (a->source && !a->poll)
		take_frames(a, 1);
	const uint8_t *jpeg;
	size_t len;
	if (a->n_pending > 0 && a->cam && a->source && camera_last_jpeg(a->cam, &jpeg, &len))
		answer_pending(a, jpeg, len);
	if (a->n_pending == 0)
		return;
	log_warn("snapshot for %s: no frame to send, the camera %s is not delivering; waiting up "
		 "to %d ms for the next",
		 for_, a->settings->source, CAMERA_FOR_WAIT_MS);
	rearm_for_timer(a);
}

/* Home Assistant's birth (the skeleton has published discovery): info, the
 * motion state and the picture again. */
void camera_app_on_ha_birth(void *arg)
{
	struct camera_app *a = arg;
	if (a->stopping)
		return;
	service_publish_info(a->mqtt, a->site, "camera", a->settings->source, a->since_ms);
	camera_app_on_connected(a);
}

const char *camera_app_backend(void *arg)
{
	const struct camera_app *a = arg;
	return a->settings->source;
}

/* camera/cmd (Home Assistant's birth is the skeleton's). */
void camera_app_on_message(void *arg, const struct mqttc_message *msg)
{
	struct camera_app *a = arg;
	if (a->stopping || strcmp(msg->topic, a->t_cmd) != 0)
		return;
	const char *reason = NULL;
	struct proto_camera_cmd cmd;
	switch (camera_cmd_check_for(msg->payload, msg->len, msg->retained, &cmd, &reason)) {
	case CAMERA_CMD_SNAPSHOT:
		if (cmd.for_[0] != '\0')
			snapshot_for(a, cmd.for_);
		else
			snapshot(a);
		return;
	case CAMERA_CMD_RETAINED:
		log_warn("camera/cmd: ignored a retained command (it would replay at every "
			 "reconnect); clear it with an empty retained publish");
		return;
	case CAMERA_CMD_REJECTED:
		break;
	}
	a->bad_cmds++;
	log_warn("camera/cmd: rejected (%s); send snapshot or {\"action\":\"snapshot\"}", reason);
	int64_t now = loop_mono_ms();
	if (a->bad_cmd_alert_ms == 0 ||
	    now - a->bad_cmd_alert_ms >= CAMERA_BAD_CMD_ALERT_EVERY_MS) {
		a->bad_cmd_alert_ms = now;
		char text[200];
		snprintf(text, sizeof(text),
			 "camera/cmd rejected: %s (the camera takes snapshot or "
			 "{\"action\":\"snapshot\"})",
			 reason);
		publish_alert(a, PROTO_LEVEL_INFO, "bad_command", text);
	}
}

/* ---- life cycle ---- */

struct camera_app *camera_app_new(uv_loop_t *loop, const struct cfg *cfg,
				  const struct camera_settings *settings, struct mqttc *mqtt)
{
	struct camera_app *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->loop = loop;
	a->cfg = cfg;
	a->settings_copy = *settings;
	a->settings = &a->settings_copy;
	a->mqtt = mqtt;
	a->site = cfg_str(cfg, "IOD_SITE");
	a->ha = (struct ha_device){
	    .site = a->site,
	    .service = "camera",
	    .dashboard_url = ha_dashboard_url(cfg, a->dashboard_url, sizeof(a->dashboard_url)),
	};
	a->ops = source_lookup(a->settings->source, &a->source_arg);
	if (!a->ops || proto_topic(a->t_frame, PROTO_TOPIC_MAX, a->site, "camera", "frame") ||
	    proto_topic(a->t_motion, PROTO_TOPIC_MAX, a->site, "camera", "motion") ||
	    proto_topic(a->t_cmd, PROTO_TOPIC_MAX, a->site, "camera", "cmd") ||
	    proto_topic(a->t_snapshot, PROTO_TOPIC_MAX, a->site, "camera", "snapshot")) {
		log_error("camera: bad source or site");
		free(a);
		return NULL;
	}
	if (mqttc_subscribe(mqtt, a->t_cmd, 1, false) < 0) {
		free(a);
		return NULL;
	}
	uv_timer_init(loop, &a->frame_timer);
	uv_timer_init(loop, &a->stall_timer);
	uv_timer_init(loop, &a->retry_timer);
	uv_timer_init(loop, &a->for_timer);
	a->frame_timer.data = a->stall_timer.data = a->retry_timer.data = a->for_timer.data = a;
	return a;
}

int camera_app_start(struct camera_app *a)
{
	log_info("camera %s, %dx%d at %d fps, quality %d", a->settings->source, a->settings->width,
		 a->settings->height, a->settings->fps, a->settings->quality);
	int rc = source_open(a);
	if (rc < 0)
		source_failed(a, "unavailable", strerror(-rc));
	return 0;
}

/* The skeleton then says `offline` and disconnects. */
void camera_app_stop(struct camera_app *a)
{
	if (a->stopping)
		return;
	a->stopping = true;
	source_close(a);
	uv_timer_stop(&a->retry_timer);
	while (a->n_pending > 0)
		drop_pending(a, 0, "the camera is stopping");
	uv_timer_stop(&a->for_timer);
	uv_close((uv_handle_t *)&a->for_timer, NULL);
	uv_close((uv_handle_t *)&a->frame_timer, NULL);
	uv_close((uv_handle_t *)&a->stall_timer, NULL);
	uv_close((uv_handle_t *)&a->retry_timer, NULL);
	struct camera_stats st = {0};
	if (a->cam)
		camera_get_stats(a->cam, &st);
	log_info("stopping: %" PRIu64 " frames, %" PRIu64 " published, %" PRIu64
		 " not sent (offline), %" PRIu64 " corrupt, %" PRIu64 " late, %" PRIu64
		 " skipped for the rate, %" PRIu64 " motion events, %" PRIu64 " snapshots (%" PRIu64
		 " dropped), %" PRIu64 " \"for\" snapshots (%" PRIu64 " without a frame, %" PRIu64
		 " dropped), %" PRIu64 " motion thumbnails (%" PRIu64
		 " none could be made, %" PRIu64 " not published), %" PRIu64 " bad commands",
		 st.frames, a->published, a->unsent, st.corrupt, a->late_frames, a->paced_out,
		 st.motion_events, a->snapshots, a->snapshots_dropped, a->for_sent, a->for_missed,
		 a->for_dropped, a->thumbs_sent, st.thumbnails_failed, a->thumbs_missed,
		 a->bad_cmds);
}

void camera_app_free(struct camera_app *a)
{
	if (!a)
		return;
	camera_free(a->cam);
	free(a);
}

/* ---- the service ---- */

static void *create(struct service *svc, int *exit_code)
{
	struct camera_settings settings;
	char err[256];
	if (camera_settings_load(service_cfg(svc), &settings, err, sizeof(err)) < 0) {
		fprintf(stderr, "iod-camera: %s\n", err);
		*exit_code = 2;
		return NULL;
	}
	struct camera_app *a =
	    camera_app_new(service_loop(svc), service_cfg(svc), &settings, service_mqtt(svc));
	if (!a) {
		*exit_code = 1;
		return NULL;
	}
	a->since_ms = service_since_ms(svc);
	return a;
}

static int start(void *app)
{
	return camera_app_start(app);
}

static void stop(void *app)
{
	camera_app_stop(app);
}

static void destroy(void *app)
{
	camera_app_free(app);
}

const struct service_def camera_service = {
    .name = "camera",
    .options = camera_options,
    .n_options = CAMERA_OPTIONS_N,
    .session_expiry_s = 0,
    .queue_limit = 64, /* snapshot commands only */
    .max_payload = PROTO_MAX_PAYLOAD,
    .create = create,
    .start = start,
    .stop = stop,
    .destroy = destroy,
    .on_message = camera_app_on_message,
    .on_connected = camera_app_on_connected,
    .publish_discovery = camera_app_publish_discovery,
    .on_ha_birth = camera_app_on_ha_birth,
    .backend = camera_app_backend,
};
