/*
 * iod-mqttc-probe — the smallest service built on iod_common, for the
 * integration tests: cfg -> log -> loop -> mqttc, wired like a real main.c.
 *
 * It subscribes to IOD_PROBE_FILTER (default probe/in/#) and answers every
 * message on probe/out with a JSON description of what it received (topic,
 * retained flag, qos, length, payload and the client's counters). After each
 * (re)connect it publishes {"connects":n} on iod/<site>/probe/connected.
 * The description lists the message's MQTT 5 user properties ("props", in
 * order); a message on probe/in/props is published back on probe/in/echo
 * (which the probe hears again) with the same payload and user properties,
 * as many times as its payload's leading number says (at least once), so a
 * test sees both mqttc's direct and its waiting publishes carry them.
 * With IOD_PROBE_BACKPRESSURE=1 it takes no message while its answer would
 * not fit (mqttc_has_room, mqttc_pause) and resumes on on_drained, as the
 * feeder does.
 */
#include "cfg.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct cfg_option probe_opts[] = {
    {"IOD_PROBE_FILTER", CFG_STRING, "probe/in/#", "subscription filter", 0, 0, 0, NULL},
    {"IOD_PROBE_SESSION_EXPIRY", CFG_INT, "0", "MQTT session expiry in seconds", 0, 86400, 0, NULL},
    {"IOD_PROBE_MAX_PAYLOAD", CFG_INT, "16384", "largest payload taken", 1, 1 << 24, 0, NULL},
    {"IOD_PROBE_NO_LOCAL", CFG_BOOL, "0", "do not receive our own publishes", 0, 0, 0, NULL},
    {"IOD_PROBE_QUEUE_LIMIT", CFG_INT, "0", "incoming queue bound (0: mqttc's default)", 0, 100000,
     0, NULL},
    {"IOD_PROBE_EARLY", CFG_STRING, NULL, "publish this on probe/early before connecting", 0, 0, 0,
     NULL},
    {"IOD_PROBE_STALL_MS", CFG_INT, "0",
     "block the loop this long on probe/in/stall (to fill the queue)", 0, 60000, 0, NULL},
    {"IOD_PROBE_BACKPRESSURE", CFG_BOOL, "0", "pause taking messages while answers wait", 0, 0, 0,
     NULL},
};

struct probe {
	struct mqttc *mqtt;
	bool backpressure;
	int64_t stall_ms;
	char connected_topic[128];
};

static void on_message(void *arg, const struct mqttc_message *msg)
{
	struct probe *p = arg;
	struct mqttc_stats st;
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (p->stall_ms > 0 && strcmp(msg->topic, "probe/in/stall") == 0) {
		struct timespec ts = {(time_t)(p->stall_ms / 1000),
				      (long)(p->stall_ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0)
			;
	}
	/* probe/in/subscribe: subscribe at run time to the filter in the payload. */
	if (strcmp(msg->topic, "probe/in/subscribe") == 0)
		cJSON_AddNumberToObject(o, "subscribed",
					mqttc_subscribe(p->mqtt, msg->payload, 1, false));
	mqttc_get_stats(p->mqtt, &st);
	cJSON_AddStringToObject(o, "topic", msg->topic);
	cJSON_AddBoolToObject(o, "retained", msg->retained);
	cJSON_AddNumberToObject(o, "qos", msg->qos);
	cJSON_AddNumberToObject(o, "len", (double)msg->len);
	cJSON_AddStringToObject(o, "payload", msg->len < 256 ? (const char *)msg->payload : "");
	cJSON *props = cJSON_AddObjectToObject(o, "props");
	for (size_t i = 0; props && i < msg->n_props; i++)
		cJSON_AddStringToObject(props, msg->props[i].name, msg->props[i].value);
	if (strcmp(msg->topic, "probe/in/props") == 0) {
		long times = strtol(msg->payload, NULL, 10);
		for (long i = 0; i < (times > 1 ? times : 1); i++)
			mqttc_publish_props(p->mqtt, "probe/in/echo", msg->payload, msg->len, 1,
					    false, msg->props, msg->n_props);
	}
	cJSON_AddNumberToObject(o, "in", (double)st.messages_in);
	cJSON_AddNumberToObject(o, "oversize", (double)st.messages_oversize);
	cJSON_AddNumberToObject(o, "dropped", (double)st.messages_dropped);
	cJSON_AddNumberToObject(o, "high_water", (double)st.queue_high_water);
	cJSON_AddNumberToObject(o, "out_waiting", (double)st.out_waiting);
	cJSON_AddNumberToObject(o, "out_high_water", (double)st.out_high_water);
	cJSON_AddNumberToObject(o, "engaged", (double)st.backpressure_engaged);
	cJSON_AddNumberToObject(o, "refused", (double)st.publish_refused);
	cJSON_AddNumberToObject(o, "failed", (double)st.publish_failed);
	text = cJSON_PrintUnformatted(o);
	if (text)
		mqttc_publish_str(p->mqtt, "probe/out", text, 1, false);
	free(text);
	cJSON_Delete(o);
	/* Room for the next message's answer, or wait for on_drained. */
	if (p->backpressure && !mqttc_has_room(p->mqtt, 1))
		mqttc_pause(p->mqtt, true);
}

static void on_drained(void *arg)
{
	struct probe *p = arg;

	mqttc_pause(p->mqtt, false);
}

/* Drops are reported on probe/dropped: {"oversize","queue_full","topic"}. */
static void on_dropped(void *arg, uint64_t oversize, uint64_t queue_full, const char *last_topic)
{
	struct probe *p = arg;
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddNumberToObject(o, "oversize", (double)oversize);
	cJSON_AddNumberToObject(o, "queue_full", (double)queue_full);
	cJSON_AddStringToObject(o, "topic", last_topic);
	text = cJSON_PrintUnformatted(o);
	if (text)
		mqttc_publish_str(p->mqtt, "probe/dropped", text, 1, false);
	free(text);
	cJSON_Delete(o);
}

static void on_connected(void *arg)
{
	struct probe *p = arg;
	struct mqttc_stats st;
	char text[64];

	mqttc_get_stats(p->mqtt, &st);
	snprintf(text, sizeof(text), "{\"connects\":%llu}", (unsigned long long)st.connects);
	mqttc_publish_str(p->mqtt, p->connected_topic, text, 1, false);
}

static void on_stop(void *arg)
{
	struct probe *p = arg;

	mqttc_stop(p->mqtt, 3000);
	mqttc_free(p->mqtt);
	p->mqtt = NULL;
	loop_signals_close();
}

int main(int argc, char **argv)
{
	struct probe probe = {0};
	struct mqttc_options mo = {0};
	char client_id[128], avail[128];
	enum log_level level = LOG_LEVEL_INFO;
	uv_loop_t loop;
	struct cfg *cfg;
	int code = 2;

	cfg = cfg_load("probe", "iod-mqttc-probe", probe_opts,
		       sizeof(probe_opts) / sizeof(probe_opts[0]), argc, argv, &code);
	if (!cfg)
		return code;
	log_parse_level(cfg_str(cfg, "IOD_LOG_LEVEL"), &level);
	log_init("probe", level);
	snprintf(client_id, sizeof(client_id), "iod-probe-%s", cfg_str(cfg, "IOD_SITE"));
	snprintf(avail, sizeof(avail), "iod/%s/probe/availability", cfg_str(cfg, "IOD_SITE"));
	snprintf(probe.connected_topic, sizeof(probe.connected_topic), "iod/%s/probe/connected",
		 cfg_str(cfg, "IOD_SITE"));

	if (uv_loop_init(&loop) < 0)
		goto out_cfg;
	if (loop_signals_init(&loop, on_stop, &probe) < 0)
		goto out_loop;
	mo.client_id = client_id;
	mo.availability_topic = avail;
	mo.session_expiry_s = (int)cfg_int(cfg, "IOD_PROBE_SESSION_EXPIRY");
	mo.max_payload = (size_t)cfg_int(cfg, "IOD_PROBE_MAX_PAYLOAD");
	mo.queue_limit = (size_t)cfg_int(cfg, "IOD_PROBE_QUEUE_LIMIT");
	probe.stall_ms = cfg_int(cfg, "IOD_PROBE_STALL_MS");
	probe.backpressure = cfg_bool(cfg, "IOD_PROBE_BACKPRESSURE");
	mo.on_drained = on_drained;
	mo.on_message = on_message;
	mo.on_connected = on_connected;
	mo.on_dropped = on_dropped;
	mo.arg = &probe;
	struct mqttc_settings ms = mqttc_settings_from_cfg(cfg);
	probe.mqtt = mqttc_new(&loop, &ms, &mo);
	if (!probe.mqtt)
		goto out_loop;
	/* Taken before any connection: Paho holds it until the first connect. */
	if (cfg_str(cfg, "IOD_PROBE_EARLY") &&
	    mqttc_publish_str(probe.mqtt, "probe/early", cfg_str(cfg, "IOD_PROBE_EARLY"), 1,
			      false) < 0)
		goto out_mqtt;
	if (mqttc_subscribe(probe.mqtt, cfg_str(cfg, "IOD_PROBE_FILTER"), 1,
			    cfg_bool(cfg, "IOD_PROBE_NO_LOCAL")) < 0 ||
	    mqttc_start(probe.mqtt) < 0)
		goto out_mqtt;
	uv_run(&loop, UV_RUN_DEFAULT);
	code = 0;
out_mqtt:
	if (probe.mqtt) {
		mqttc_stop(probe.mqtt, 1000);
		mqttc_free(probe.mqtt);
	}
out_loop:
	loop_signals_close();
	loop_close_all(&loop);
out_cfg:
	cfg_free(cfg);
	return code;
}
