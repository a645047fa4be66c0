/*
 * ws.c — the bridge <-> browser websocket messages (proto/README.md,
 * "Websocket").
 */
#include "proto.h"

#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct pj_field F_TYPE = PJ_FIELD("type");
static const struct pj_field F_ID = PJ_FIELD("id");

/*
 * Decode order is type, id, action: on failure cmd->id holds the id when
 * it was valid, so the error frame can name it.
 */
int proto_ws_msg_decode(const void *payload, size_t len, enum proto_ws_type *type,
			struct proto_ws_cmd *cmd, const char **reason)
{
	const char *dummy;
	char type_text[16];
	cJSON *root;
	int type_rc;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(cmd, 0, sizeof(*cmd));
	if (pj_decode_begin(payload, len, PROTO_WS_MAX_CMD, NULL, 0, &root, reason) < 0)
		return -1;
	type_rc = pj_string(root, &F_TYPE, true, type_text, sizeof(type_text), NULL, reason);
	/* Only a cmd may be over PROTO_WS_MAX_MSG: a care plan's 48 slots. */
	if (len > PROTO_WS_MAX_MSG && (type_rc < 0 || strcmp(type_text, "cmd") != 0)) {
		*reason = PROTO_REASON_TOO_LARGE;
		goto out;
	}
	if (type_rc < 0)
		goto out;
	if (strcmp(type_text, "ping") == 0) {
		*type = PROTO_WS_PING;
		rc = 0;
		goto out;
	}
	if (strcmp(type_text, "cmd") != 0) {
		*reason = "unknown_type";
		goto out;
	}
	*type = PROTO_WS_CMD;
	if (pj_string(root, &F_ID, true, cmd->id, sizeof(cmd->id), proto_id_valid, reason) < 0 ||
	    proto__action_member(root, &cmd->action, reason) != 0)
		goto out;
	/* The dashboard's buttons only, for now: the care plan's commands carry
	 * members a websocket cmd has no room for (proto/README.md). */
	if (cmd->action > PROTO_ACTION_CALL) {
		*reason = PROTO_REASON_UNKNOWN_ACTION;
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int proto_ws_cmd_decode(const void *payload, size_t len, struct proto_ws_cmd *out,
			const char **reason)
{
	const char *dummy;
	enum proto_ws_type type = PROTO_WS_CMD;

	if (reason == NULL)
		reason = &dummy;
	if (proto_ws_msg_decode(payload, len, &type, out, reason) != 0)
		return -1;
	if (type != PROTO_WS_CMD) {
		*reason = "bad_type";
		return -1;
	}
	return 0;
}

char *proto_ws_error_encode(const char *id, const char *reason)
{
	cJSON *obj;

	if (reason == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "type", "error") ||
	    (id != NULL && id[0] != '\0' && !cJSON_AddStringToObject(obj, "id", id)) ||
	    !cJSON_AddStringToObject(obj, "reason", reason)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

char *proto_ws_hello_encode(const char *site, bool is_operator, const char *version, int64_t ts_ms)
{
	cJSON *obj;

	if (site == NULL || version == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "type", "hello") ||
	    !cJSON_AddStringToObject(obj, "site", site) ||
	    !cJSON_AddBoolToObject(obj, "operator", is_operator) ||
	    !cJSON_AddStringToObject(obj, "version", version) || !pj_add_int(obj, "ts", ts_ms)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

char *proto_ws_ack_encode(const char *id)
{
	cJSON *obj;

	if (id == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "type", "ack") ||
	    !cJSON_AddStringToObject(obj, "id", id)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

char *proto_ws_pong_encode(int64_t ts_ms)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "type", "pong") || !pj_add_int(obj, "ts", ts_ms)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

char *proto_ws_ready_encode(void)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "type", "ready")) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

/*
 * The payload as a NUL-terminated string that is valid UTF-8: NUL bytes and
 * invalid sequences become U+FFFD, since a websocket text frame must be
 * UTF-8 and a browser closes the connection on anything else.
 */
static char *sanitized_string(const unsigned char *s, size_t len)
{
	char *out = malloc(len * 3 + 1);
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	while (i < len) {
		size_t step = proto_utf8_seq(s + i, len - i);

		if (s[i] == '\0' || step == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, step);
		o += step;
		i += step;
	}
	out[o] = '\0';
	return out;
}

/*
 * Why raw: the bridge serialises each MQTT message once and fans the text
 * out, so a JSON payload is embedded as it came (after checking it is one
 * strict JSON value, pj_json_valid), not re-printed through doubles.
 */
char *proto_ws_message_encode(const char *topic, const void *payload, size_t len, int64_t ts_ms)
{
	const char *text = payload;
	size_t n = len;
	cJSON *obj, *value = NULL;
	char *copy;

	if (topic == NULL || (payload == NULL && len > 0))
		return NULL;
	pj_trim(&text, &n);
	copy = malloc(n + 1);
	if (copy == NULL)
		return NULL;
	if (n > 0)
		memcpy(copy, text, n);
	copy[n] = '\0';
	/* Strict: a browser's JSON.parse refuses what cJSON lets through
	 * (\x0b, 00, raw control characters), and would drop the frame. */
	if (n > 0 && pj_json_valid(text, n)) {
		value = cJSON_CreateRaw(copy);
		free(copy);
		copy = NULL;
		if (value == NULL)
			return NULL;
	}
	if (value == NULL) {
		char *clean;

		free(copy);
		clean = payload != NULL ? sanitized_string(payload, len) : strdup("");
		if (clean == NULL)
			return NULL;
		value = cJSON_CreateString(clean);
		free(clean);
		if (value == NULL)
			return NULL;
	}
	obj = cJSON_CreateObject();
	if (obj == NULL) {
		cJSON_Delete(value);
		return NULL;
	}
	if (!cJSON_AddStringToObject(obj, "topic", topic)) {
		cJSON_Delete(value);
		cJSON_Delete(obj);
		return NULL;
	}
	if (!cJSON_AddItemToObject(obj, "payload", value)) {
		cJSON_Delete(value);
		cJSON_Delete(obj);
		return NULL;
	}
	if (!pj_add_int(obj, "ts", ts_ms)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

char *proto_ws_history_encode(const char *topic, const int64_t *ts_ms, const double *values,
			      size_t n)
{
	cJSON *obj, *points;

	if (topic == NULL || (n > 0 && (ts_ms == NULL || values == NULL)) ||
	    (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "type", "history") ||
	    !cJSON_AddStringToObject(obj, "topic", topic) ||
	    (points = cJSON_AddArrayToObject(obj, "points")) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		char num[40];
		cJSON *pt = cJSON_CreateArray();
		cJSON *t, *v;

		if (pt == NULL)
			goto fail;
		if (!cJSON_AddItemToArray(points, pt)) {
			cJSON_Delete(pt);
			goto fail;
		}
		snprintf(num, sizeof(num), "%" PRId64, ts_ms[i]);
		t = cJSON_CreateRaw(num);
		if (t == NULL || !cJSON_AddItemToArray(pt, t)) {
			cJSON_Delete(t);
			goto fail;
		}
		v = pj_format_number(num, sizeof(num), values[i]) == 0 ? cJSON_CreateRaw(num)
								       : cJSON_CreateNull();
		if (v == NULL || !cJSON_AddItemToArray(pt, v)) {
			cJSON_Delete(v);
			goto fail;
		}
	}
	return pj_finish(obj);
fail:
	cJSON_Delete(obj);
	return NULL;
}
