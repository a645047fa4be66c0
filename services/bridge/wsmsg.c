#include "wsmsg.h"

#include "proto.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(struct wsmsg_result *out, const char *id, const char *reason)
{
	out->reason = reason;
	out->reply = proto_ws_error_encode(id, reason);
	return out->reply ? 0 : -1;
}

int wsmsg_handle(const void *text, size_t len, bool is_operator, bool broker_up, const char *by,
		 int64_t now_ms, struct wsmsg_result *out)
{
	memset(out, 0, sizeof(*out));
	enum proto_ws_type type = PROTO_WS_CMD;
	struct proto_ws_cmd cmd;
	const char *reason = NULL;
	int rc = proto_ws_msg_decode(text, len, &type, &cmd, &reason);
	snprintf(out->id, sizeof(out->id), "%s", cmd.id);
	if (rc != 0) {
		out->is_command = true;
		return refuse(out, cmd.id, reason ? reason : PROTO_REASON_BAD_JSON);
	}
	if (type == PROTO_WS_PING) {
		out->reply = proto_ws_pong_encode(now_ms);
		return out->reply ? 0 : -1;
	}
	out->is_command = true;
	if (!is_operator)
		return refuse(out, cmd.id, PROTO_REASON_NOT_AUTHORIZED);
	if (!broker_up)
		return refuse(out, cmd.id, PROTO_REASON_BROKER_UNAVAILABLE);
	struct proto_feeder_cmd fc;
	memset(&fc, 0, sizeof(fc));
	fc.action = cmd.action;
	fc.has_action = true;
	snprintf(fc.id, sizeof(fc.id), "%s", cmd.id);
	snprintf(fc.by, sizeof(fc.by), "%s", by);
	fc.ts_ms = now_ms;
	fc.has_ts = true;
	out->publish = proto_feeder_cmd_encode(&fc);
	out->reply = proto_ws_ack_encode(cmd.id);
	if (!out->publish || !out->reply) {
		wsmsg_result_free(out);
		return -1;
	}
	out->accepted = true;
	return 0;
}

void wsmsg_result_free(struct wsmsg_result *r)
{
	free(r->reply);
	free(r->publish);
	r->reply = r->publish = NULL;
}

/* Milliseconds as a JSON integer: cJSON keeps numbers as doubles, exact up
 * to 2^53, far beyond any wall clock in ms. */
static char *finish(cJSON *obj, bool ok)
{
	char *text = ok ? cJSON_PrintUnformatted(obj) : NULL;
	cJSON_Delete(obj);
	return text;
}

char *wsmsg_hello_encode(const char *site, bool is_operator, bool broker_up, const char *version,
			 int64_t ts_ms)
{
	cJSON *obj = cJSON_CreateObject();
	if (!obj || !site || !version)
		return finish(obj, false);
	bool ok = cJSON_AddStringToObject(obj, "type", "hello") &&
		  cJSON_AddStringToObject(obj, "site", site) &&
		  cJSON_AddBoolToObject(obj, "operator", is_operator) &&
		  cJSON_AddBoolToObject(obj, "broker", broker_up) &&
		  cJSON_AddStringToObject(obj, "version", version) &&
		  cJSON_AddNumberToObject(obj, "ts", (double)ts_ms);
	return finish(obj, ok);
}

char *wsmsg_broker_encode(bool connected, int64_t ts_ms)
{
	cJSON *obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	bool ok = cJSON_AddStringToObject(obj, "type", "broker") &&
		  cJSON_AddBoolToObject(obj, "connected", connected) &&
		  cJSON_AddNumberToObject(obj, "ts", (double)ts_ms);
	return finish(obj, ok);
}
