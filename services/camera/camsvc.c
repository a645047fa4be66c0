#include "camsvc.h"

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

#define STOP_TIMEOUT_MS 2000

struct camsvc {
	uv_loop_t *loop;
	const struct cfg *cfg;
	const struct camera_settings *settings;
	const char *site;
	struct ha_device ha;
	char dashboard_url[512];
	struct mqttc *mqtt;
	int64_t since_ms;
	bool stopping;

	char t_frame[PROTO_TOPIC_MAX], t_motion[PROTO_TOPIC_MAX], t_cmd[PROTO_TOPIC_MAX];
	char t_avail[PROTO_TOPIC_MAX];
	char client_id[96];

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
	struct camera_pacer pacer; /* streaming sources: hold the configured rate */

	/* Counters, logged at exit. */
	uint64_t published, unsent, late_frames, paced_out, snapshots, snapshots_dropped, bad_cmds;
};

static void source_close(struct camsvc *svc);
static void on_retry(uv_timer_t *t);

/* ---- publishing ---- */

/* QoS 1, also while disconnected: mqttc keeps it for the connection. */
static void publish_alert(struct camsvc *svc, enum proto_level level, const char *code,
			  const char *message)
{
	service_alert(svc->mqtt, svc->site, "camera", level, code, "%s", message);
}

/* Frames go out only while connected: Paho would otherwise buffer stale
 * frames during an outage and replay them later. The retained last frame is
 * sent again on reconnect instead. */
static void publish_frame(struct camsvc *svc, const uint8_t *jpeg, size_t len)
{
	if (!mqttc_is_connected(svc->mqtt)) {
		svc->unsent++;
		return;
	}
	if (mqttc_publish(svc->mqtt, svc->t_frame, jpeg, len, 0, true) == 0)
		svc->published++;
	else
		svc->unsent++;
}

static void publish_motion(struct camsvc *svc, const struct motion_event *ev)
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
	mqttc_publish_str(svc->mqtt, svc->t_motion, json, 1, true);
	free(json);
}

/* Home Assistant: the frames as a camera entity (it keeps the last picture
 * and writes no state per frame; an image entity at 5 frames a second would
 * be a database row per frame), motion as a binary sensor (ON for a start
 * event, OFF for a stop, read from "active" so it holds whatever
 * IOD_CAMERA_MOTION_ON/_OFF are), and a snapshot button. */
static void publish_discovery(struct camsvc *svc)
{
	char topic[PROTO_TOPIC_MAX];
	/* The image entity earlier versions announced: an empty retained
	 * config removes it from Home Assistant. */
	if (ha_config_topic(topic, sizeof(topic), "image", svc->site, "camera", "frame") == 0)
		mqttc_publish(svc->mqtt, topic, "", 0, 1, true);

	cJSON *cam = ha_entity_new(&svc->ha, "camera", "frame", "Camera");
	if (cam) {
		cJSON_AddStringToObject(cam, "topic", svc->t_frame);
		cJSON_AddStringToObject(cam, "icon", "mdi:dog");
	}
	ha_publish_entity(svc->mqtt, &svc->ha, "camera", "frame", cam);

	cJSON *mot = ha_entity_new(&svc->ha, "binary_sensor", "motion", "Camera motion");
	if (mot) {
		cJSON_AddStringToObject(mot, "state_topic", svc->t_motion);
		cJSON_AddStringToObject(mot, "device_class", "motion");
		cJSON_AddStringToObject(mot, "value_template",
					"{{ 'ON' if value_json.active else 'OFF' }}");
		cJSON_AddStringToObject(mot, "payload_on", "ON");
		cJSON_AddStringToObject(mot, "payload_off", "OFF");
	}
	ha_publish_entity(svc->mqtt, &svc->ha, "binary_sensor", "motion", mot);

	cJSON *btn = ha_entity_new(&svc->ha, "button", "snapshot", "Camera snapshot");
	if (btn && ha_entity_set_command(btn, svc->t_cmd, "snapshot") < 0) {
		cJSON_Delete(btn);
		btn = NULL;
	}
	ha_publish_entity(svc->mqtt, &svc->ha, "button", "snapshot", btn);
}

static void on_connected(void *arg)
{
	struct camsvc *svc = arg;
	service_publish_info(svc->mqtt, svc->site, "camera", svc->settings->source, svc->since_ms);
	publish_discovery(svc);
	/* The motion state now: it replaces a retained "active" a previous run
	 * left behind (it may have died during motion). */
	const struct motion *mo = svc->cam ? camera_motion(svc->cam) : NULL;
	struct proto_motion m = {.score = mo ? motion_score(mo) : 0.0,
				 .active = mo && motion_active(mo),
				 .ts_ms = loop_wall_ms()};
	char *json = proto_motion_encode(&m);
	if (json)
		mqttc_publish_str(svc->mqtt, svc->t_motion, json, 1, true);
	free(json);
	const uint8_t *jpeg;
	size_t len;
	/* The last frame again, unless the camera is lost: then the retained
	 * frame the broker holds is already the last one there is. */
	if (svc->cam && svc->source && camera_last_jpeg(svc->cam, &jpeg, &len))
		publish_frame(svc, jpeg, len);
}

/* ---- frames ---- */

static void on_stall(uv_timer_t *t);

static void rearm_stall(struct camsvc *svc)
{
	uv_timer_start(&svc->stall_timer, on_stall, (uint64_t)camera_stall_ms(svc->info.fps), 0);
}

/*
 * The source failed to open, failed, or went silent: close it, end open
 * motion (without a picture there is none to report), alert once per loss,
 * and try again with back-off. `what` is "unavailable" or "lost".
 */
static void source_failed(struct camsvc *svc, const char *what, const char *why)
{
	char msg[256];
	int64_t retry_ms;
	unsigned actions = camera_health_lost(&svc->health, &retry_ms);
	snprintf(msg, sizeof(msg), "camera %s %s: %s; retrying", svc->settings->source, what, why);
	log_warn("%s; next try in %" PRId64 " s", msg, retry_ms / 1000);
	if (actions & CAMERA_HEALTH_ALERT_LOST)
		publish_alert(svc, PROTO_LEVEL_WARNING, PROTO_ALERT_CAMERA_LOST, msg);
	if (svc->cam) {
		struct motion_event stop = camera_motion_reset(svc->cam, loop_wall_ms());
		if (stop.kind != MOTION_NONE)
			publish_motion(svc, &stop);
	}
	source_close(svc);
	if (!svc->stopping)
		uv_timer_start(&svc->retry_timer, on_retry, (uint64_t)retry_ms, 0);
}

/* Take up to max_frames frames the source has ready now. */
static void take_frames(struct camsvc *svc, int max_frames)
{
	for (int i = 0; i < max_frames && svc->source; i++) {
		struct source_frame f;
		int64_t now = loop_wall_ms();
		int rc = svc->ops->grab(svc->source, now, &f);
		if (rc == 1)
			return;
		if (rc < 0) {
			source_failed(svc, "lost", strerror(-rc));
			return;
		}
		if (svc->poll && !camera_pacer_take(&svc->pacer, (int64_t)(uv_hrtime() / 1000))) {
			/* Faster than configured: hand the buffer straight back. */
			svc->ops->release(svc->source);
			svc->paced_out++;
			rearm_stall(svc);
			continue;
		}
		struct camera_output out;
		int ok = camera_frame(svc->cam, &f, now, &out);
		svc->ops->release(svc->source);
		if (ok < 0)
			continue;
		if (svc->poll)
			rearm_stall(svc);
		if (camera_health_frame(&svc->health) & CAMERA_HEALTH_ALERT_RECOVERED) {
			char msg[256];
			snprintf(msg, sizeof(msg), "camera %s is back", svc->settings->source);
			/* Close the story the camera_lost alert opened (as sensors do). */
			publish_alert(svc, PROTO_LEVEL_INFO, "camera_recovered", msg);
		}
		publish_frame(svc, out.jpeg, out.jpeg_len);
		if (out.motion.kind != MOTION_NONE)
			publish_motion(svc, &out.motion);
	}
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct camsvc *svc = p->data;
	if (status < 0) {
		source_failed(svc, "lost", uv_strerror(status));
		return;
	}
	if (events & UV_READABLE)
		take_frames(svc, 4);
}

static void on_stall(uv_timer_t *t)
{
	struct camsvc *svc = t->data;
	if (!svc->source)
		return;
	char why[64];
	snprintf(why, sizeof(why), "no frame for %" PRId64 " ms", camera_stall_ms(svc->info.fps));
	source_failed(svc, "lost", why);
}

/* The sim's frame clock: deadlines advance by exactly one period, so the
 * rate holds over time; a loop that fell behind skips ahead rather than
 * bursting. */
static void on_frame_timer(uv_timer_t *t)
{
	struct camsvc *svc = t->data;
	take_frames(svc, 1);
	if (!svc->source || svc->stopping)
		return;
	uint64_t period = 1000000000ull / (uint64_t)svc->info.fps;
	uint64_t now = uv_hrtime();
	svc->next_due_ns += period;
	if (svc->next_due_ns <= now) {
		svc->late_frames++;
		svc->next_due_ns = now + period;
	}
	uint64_t wait_ms = (svc->next_due_ns - now + 999999) / 1000000;
	uv_timer_start(&svc->frame_timer, on_frame_timer, wait_ms, 0);
}

/* ---- opening and losing the source ---- */

static void free_poll(uv_handle_t *h)
{
	free(h);
}

static void source_close(struct camsvc *svc)
{
	uv_timer_stop(&svc->frame_timer);
	uv_timer_stop(&svc->stall_timer);
	/* libuv must stop watching the fd before it is closed. */
	if (svc->poll) {
		uv_poll_stop(svc->poll);
		uv_close((uv_handle_t *)svc->poll, free_poll);
		svc->poll = NULL;
	}
	if (svc->source) {
		svc->ops->close(svc->source);
		svc->source = NULL;
	}
}

static int source_open(struct camsvc *svc)
{
	const struct camera_settings *s = svc->settings;
	struct source_info info;
	void *state = NULL;
	int rc = svc->ops->open(svc->source_arg, s->width, s->height, s->fps, &state, &info);
	if (rc < 0)
		return rc;
	/* The pipeline follows the size the device actually gives. */
	if (!svc->cam || info.width != svc->info.width || info.height != svc->info.height) {
		camera_free(svc->cam);
		svc->cam = camera_new(s, info.width, info.height);
		if (!svc->cam) {
			svc->ops->close(state);
			return -ENOMEM;
		}
	}
	svc->source = state;
	svc->info = info;
	if (svc->info.fps < 1)
		svc->info.fps = s->fps;
	int fd = svc->ops->fd(state);
	if (fd < 0) {
		svc->next_due_ns = uv_hrtime();
		uv_timer_start(&svc->frame_timer, on_frame_timer, 0, 0);
		return 0;
	}
	svc->poll = malloc(sizeof(*svc->poll));
	if (!svc->poll || uv_poll_init(svc->loop, svc->poll, fd) < 0) {
		free(svc->poll);
		svc->poll = NULL;
		source_close(svc);
		return -EIO;
	}
	svc->poll->data = svc;
	camera_pacer_init(&svc->pacer, s->fps);
	uv_poll_start(svc->poll, UV_READABLE, on_readable);
	rearm_stall(svc);
	return 0;
}

static void on_retry(uv_timer_t *t)
{
	struct camsvc *svc = t->data;
	if (svc->stopping || svc->source)
		return;
	int rc = source_open(svc);
	if (rc == 0)
		log_info("camera %s opened again", svc->settings->source);
	else
		source_failed(svc, "unavailable", strerror(-rc));
}

/* ---- commands ---- */

static void snapshot(struct camsvc *svc)
{
	if (!camera_rate_take(&svc->snapshot_rate, loop_mono_ms(), CAMERA_SNAPSHOT_PER_S,
			      CAMERA_SNAPSHOT_BURST)) {
		if (svc->snapshots_dropped++ % 100 == 0)
			log_warn("snapshot: more than %d a second asked for; extra ones dropped "
				 "(%" PRIu64 " so far)",
				 CAMERA_SNAPSHOT_PER_S, svc->snapshots_dropped);
		return;
	}
	svc->snapshots++;
	/* A timer-driven source can make a fresh frame now; a streaming device's
	 * newest frame is at most one frame period old. */
	if (svc->source && !svc->poll) {
		take_frames(svc, 1);
		return;
	}
	const uint8_t *jpeg;
	size_t len;
	if (svc->cam && svc->source && camera_last_jpeg(svc->cam, &jpeg, &len)) {
		publish_frame(svc, jpeg, len);
		return;
	}
	log_warn("snapshot: no frame to send, the camera %s is not delivering",
		 svc->settings->source);
}

static void on_message(void *arg, const struct mqttc_message *msg)
{
	struct camsvc *svc = arg;
	if (strcmp(msg->topic, HA_STATUS_TOPIC) == 0) {
		/* Home Assistant's birth message: it (re)started, so tell it
		 * about our entities and show it the picture again. */
		if (ha_is_birth(msg->topic, msg->payload, msg->len))
			on_connected(svc);
		return;
	}
	if (strcmp(msg->topic, svc->t_cmd) != 0)
		return;
	const char *reason = NULL;
	switch (camera_cmd_check(msg->payload, msg->len, msg->retained, &reason)) {
	case CAMERA_CMD_SNAPSHOT:
		snapshot(svc);
		return;
	case CAMERA_CMD_RETAINED:
		log_warn("camera/cmd: ignored a retained command (it would replay at every "
			 "reconnect); clear it with an empty retained publish");
		return;
	case CAMERA_CMD_REJECTED:
		break;
	}
	svc->bad_cmds++;
	log_warn("camera/cmd: rejected (%s); send snapshot or {\"action\":\"snapshot\"}", reason);
	int64_t now = loop_mono_ms();
	if (svc->bad_cmd_alert_ms == 0 ||
	    now - svc->bad_cmd_alert_ms >= CAMERA_BAD_CMD_ALERT_EVERY_MS) {
		svc->bad_cmd_alert_ms = now;
		char text[200];
		snprintf(text, sizeof(text),
			 "camera/cmd rejected: %s (the camera takes snapshot or "
			 "{\"action\":\"snapshot\"})",
			 reason);
		publish_alert(svc, PROTO_LEVEL_INFO, "bad_command", text);
	}
}

/* ---- life cycle ---- */

struct camsvc *camsvc_new(uv_loop_t *loop, const struct cfg *cfg,
			  const struct camera_settings *settings)
{
	struct camsvc *svc = calloc(1, sizeof(*svc));
	if (!svc)
		return NULL;
	svc->loop = loop;
	svc->cfg = cfg;
	svc->settings = settings;
	svc->site = cfg_str(cfg, "IOD_SITE");
	svc->ha = (struct ha_device){
	    .site = svc->site,
	    .service = "camera",
	    .dashboard_url = ha_dashboard_url(cfg, svc->dashboard_url, sizeof(svc->dashboard_url)),
	};
	svc->since_ms = loop_wall_ms();
	svc->ops = source_lookup(settings->source, &svc->source_arg);
	if (!svc->ops || proto_topic(svc->t_frame, PROTO_TOPIC_MAX, svc->site, "camera", "frame") ||
	    proto_topic(svc->t_motion, PROTO_TOPIC_MAX, svc->site, "camera", "motion") ||
	    proto_topic(svc->t_cmd, PROTO_TOPIC_MAX, svc->site, "camera", "cmd") ||
	    proto_topic_availability(svc->t_avail, PROTO_TOPIC_MAX, svc->site, "camera")) {
		log_error("camera: bad source or site");
		free(svc);
		return NULL;
	}
	snprintf(svc->client_id, sizeof(svc->client_id), "iod-camera-%s", svc->site);
	uv_timer_init(loop, &svc->frame_timer);
	uv_timer_init(loop, &svc->stall_timer);
	uv_timer_init(loop, &svc->retry_timer);
	svc->frame_timer.data = svc->stall_timer.data = svc->retry_timer.data = svc;

	struct mqttc_options mo = {
	    .client_id = svc->client_id,
	    .availability_topic = svc->t_avail,
	    .session_expiry_s = 0,
	    .queue_limit = 64,
	    .max_payload = PROTO_MAX_PAYLOAD,
	    .on_message = on_message,
	    .on_connected = on_connected,
	    .arg = svc,
	};
	struct mqttc_settings ms = mqttc_settings_from_cfg(cfg);
	svc->mqtt = mqttc_new(loop, &ms, &mo);
	if (!svc->mqtt || mqttc_subscribe(svc->mqtt, svc->t_cmd, 1, false) < 0 ||
	    mqttc_subscribe(svc->mqtt, HA_STATUS_TOPIC, 1, false) < 0) {
		mqttc_free(svc->mqtt);
		uv_close((uv_handle_t *)&svc->frame_timer, NULL);
		uv_close((uv_handle_t *)&svc->stall_timer, NULL);
		uv_close((uv_handle_t *)&svc->retry_timer, NULL);
		/* The handles are closed; the loop must run once before svc goes. */
		uv_run(loop, UV_RUN_NOWAIT);
		free(svc);
		return NULL;
	}
	return svc;
}

int camsvc_start(struct camsvc *svc)
{
	int rc = mqttc_start(svc->mqtt);
	if (rc < 0)
		return rc;
	log_info("camera %s, %dx%d at %d fps, quality %d", svc->settings->source,
		 svc->settings->width, svc->settings->height, svc->settings->fps,
		 svc->settings->quality);
	rc = source_open(svc);
	if (rc < 0)
		source_failed(svc, "unavailable", strerror(-rc));
	return 0;
}

void camsvc_stop(struct camsvc *svc)
{
	if (svc->stopping)
		return;
	svc->stopping = true;
	source_close(svc);
	uv_timer_stop(&svc->retry_timer);
	uv_close((uv_handle_t *)&svc->frame_timer, NULL);
	uv_close((uv_handle_t *)&svc->stall_timer, NULL);
	uv_close((uv_handle_t *)&svc->retry_timer, NULL);
	struct camera_stats st = {0};
	if (svc->cam)
		camera_get_stats(svc->cam, &st);
	log_info("stopping: %" PRIu64 " frames, %" PRIu64 " published, %" PRIu64
		 " not sent (offline), %" PRIu64 " corrupt, %" PRIu64 " late, %" PRIu64
		 " skipped for the rate, %" PRIu64 " motion events, %" PRIu64 " snapshots (%" PRIu64
		 " dropped), %" PRIu64 " bad commands",
		 st.frames, svc->published, svc->unsent, st.corrupt, svc->late_frames,
		 svc->paced_out, st.motion_events, svc->snapshots, svc->snapshots_dropped,
		 svc->bad_cmds);
	mqttc_stop(svc->mqtt, STOP_TIMEOUT_MS);
	mqttc_free(svc->mqtt);
	svc->mqtt = NULL;
	loop_signals_close();
}

void camsvc_free(struct camsvc *svc)
{
	if (!svc)
		return;
	camera_free(svc->cam);
	free(svc);
}
