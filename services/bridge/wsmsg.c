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

/* The error frame with the decoder's "detail" (the member and value it
 * refused) beside the reason, when it gave one. */
static int refuse_detail(struct wsmsg_result *out, const char *id, const char *reason,
			 const char *detail)
{
	if (refuse(out, id, reason) < 0 || !detail[0])
		return out->reply ? 0 : -1;
	cJSON *frame = cJSON_Parse(out->reply);
	free(out->reply);
	out->reply = NULL;
	if (frame && cJSON_AddStringToObject(frame, "detail", detail))
		out->reply = cJSON_PrintUnformatted(frame);
	cJSON_Delete(frame);
	return out->reply ? 0 : -1;
}

/* Sets member name of obj to item (taken), removing every earlier one. */
static bool set_member(cJSON *obj, const char *name, cJSON *item)
{
	if (!item)
		return false;
	while (cJSON_GetObjectItemCaseSensitive(obj, name))
		cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	cJSON_AddItemToObject(obj, name, item);
	return true;
}

/*
 * The care plan's commands (plan, skip, pause, resume, treat, refill) carry
 * members a proto_ws_cmd has no room for, and their rules are the feeder's:
 * the message itself, "type" taken out and "by"/"ts" the bridge's as for a
 * feed, is what is published, and the feeder's own decoder checks exactly
 * that text first. proto_ws_msg_decode() has checked the envelope (size,
 * strict JSON, type "cmd", the id) before it found the action unknown.
 * Returns 0 with out filled, 1 when the feeder does not know the action
 * either (the caller's unknown_action stands), -1 out of memory.
 */
/* NULL when a user of *role may: no role (no live session) or one below
 * the action's least role is not_authorized (roles.c's matrix). */
static const char *may(const enum roles_role *role, const char *service, const char *action)
{
	if (!role)
		return PROTO_REASON_NOT_AUTHORIZED;
	return roles_may(*role, service, action);
}

static int care_plan_cmd(const void *text, size_t len, const enum roles_role *role, bool broker_up,
			 const char *by, int64_t now_ms, struct wsmsg_result *out)
{
	cJSON *msg = cJSON_ParseWithLength(text, len);
	if (!msg)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "type");
	char *publish = set_member(msg, "by", cJSON_CreateString(by)) &&
				set_member(msg, "ts", cJSON_CreateNumber((double)now_ms))
			    ? cJSON_PrintUnformatted(msg)
			    : NULL;
	cJSON_Delete(msg);
	if (!publish)
		return -1;
	/* proto_feeder_cmd is ~10 KiB (a plan patch's 48 slots): not the stack. */
	struct proto_feeder_cmd *fc = malloc(sizeof(*fc));
	if (!fc) {
		free(publish);
		return -1;
	}
	const char *reason = NULL;
	int rc = proto_feeder_cmd_decode(publish, strlen(publish), fc, &reason);
	int ret = 0;
	const char *no = fc->has_action ? may(role, "feeder", proto_action_name(fc->action)) : NULL;
	if (!fc->has_action)
		ret = 1;
	else if (no)
		ret = refuse(out, out->id, no);
	else if (!broker_up)
		ret = refuse(out, out->id, PROTO_REASON_BROKER_UNAVAILABLE);
	else if (rc != 0)
		ret = refuse_detail(out, out->id, reason ? reason : PROTO_REASON_BAD_JSON,
				    fc->detail);
	else if (!(out->reply = proto_ws_ack_encode(out->id)))
		ret = -1;
	else {
		out->publish = publish;
		publish = NULL;
		out->accepted = true;
	}
	free(fc);
	free(publish);
	return ret;
}

/*
 * iod-notify's commands (ack, subscribe, unsubscribe, test): msg (taken)
 * without "type" and "service", with the bridge's "by" and "ts" (whatever
 * the browser wrote there), checked by proto_notify_cmd_decode() and then
 * published as that decoder's result encoded again, so only members the
 * contract knows reach notify/cmd. Returns 0 with out filled, -1 out of
 * memory.
 */
static int notify_cmd(cJSON *msg, const enum roles_role *role, bool broker_up, const char *by,
		      int64_t now_ms, struct wsmsg_result *out)
{
	out->is_command = true;
	out->target = WSMSG_NOTIFY;
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "type");
	cJSON_DeleteItemFromObjectCaseSensitive(msg, "service");
	char *text = set_member(msg, "by", cJSON_CreateString(by)) &&
			     set_member(msg, "ts", cJSON_CreateNumber((double)now_ms))
			 ? cJSON_PrintUnformatted(msg)
			 : NULL;
	cJSON_Delete(msg);
	if (!text)
		return -1;
	/* ~2 KiB with a subscription: not the stack's business either. */
	struct proto_notify_cmd *nc = malloc(sizeof(*nc));
	if (!nc) {
		free(text);
		return -1;
	}
	const char *reason = NULL;
	int rc = proto_notify_cmd_decode(text, strlen(text), nc, &reason);
	free(text);
	int ret = 0;
	const char *no =
	    nc->has_action ? may(role, "notify", proto_notify_action_name(nc->action)) : NULL;
	if (!nc->has_action)
		ret = refuse(out, out->id, reason ? reason : PROTO_REASON_UNKNOWN_ACTION);
	else if (no)
		ret = refuse(out, out->id, no);
	else if (!broker_up)
		ret = refuse(out, out->id, PROTO_REASON_BROKER_UNAVAILABLE);
	else if (rc != 0)
		ret = refuse(out, out->id, reason ? reason : PROTO_REASON_BAD_JSON);
	else if (!(out->publish = proto_notify_cmd_encode(nc)) ||
		 !(out->reply = proto_ws_ack_encode(out->id)))
		ret = -1;
	else
		out->accepted = true;
	free(nc);
	if (ret < 0)
		wsmsg_result_free(out);
	return ret;
}

/* The value of a top-level "service" member, "" when there is none, NULL
 * when the text is no JSON object the decoders would look at. */
static const char *service_of(const cJSON *msg)
{
	const cJSON *svc = cJSON_GetObjectItemCaseSensitive(msg, "service");
	if (!svc)
		return "";
	return cJSON_IsString(svc) ? svc->valuestring : NULL;
}

int wsmsg_handle(const void *text, size_t len, bool is_operator, bool broker_up, const char *by,
		 int64_t now_ms, struct wsmsg_result *out)
{
	enum roles_role admin = ROLES_ADMIN;
	return wsmsg_handle_as(text, len, is_operator ? &admin : NULL, broker_up, by, now_ms, out);
}

int wsmsg_handle_as(const void *text, size_t len, const enum roles_role *role, bool broker_up,
		    const char *by, int64_t now_ms, struct wsmsg_result *out)
{
	memset(out, 0, sizeof(*out));
	enum proto_ws_type type = PROTO_WS_CMD;
	struct proto_ws_cmd cmd;
	const char *reason = NULL;
	int rc = proto_ws_msg_decode(text, len, &type, &cmd, &reason);
	snprintf(out->id, sizeof(out->id), "%s", cmd.id);
	/* A cmd for another service ("service", the feeder's when absent): its
	 * envelope (type, id) is checked as for the feeder's, which is as far
	 * as the feeder's decoder gets with another service's action. */
	if (type == PROTO_WS_CMD &&
	    (rc == 0 ||
	     (reason && (!strcmp(reason, PROTO_REASON_UNKNOWN_ACTION) ||
			 !strcmp(reason, "missing_action") || !strcmp(reason, "bad_action"))))) {
		cJSON *msg = cJSON_ParseWithLength(text, len);
		const char *svc = cJSON_IsObject(msg) ? service_of(msg) : "";
		if (svc && !strcmp(svc, "notify"))
			return notify_cmd(msg, role, broker_up, by, now_ms, out);
		bool other = !svc || (svc[0] && strcmp(svc, "feeder"));
		cJSON_Delete(msg);
		if (other) {
			out->is_command = true;
			return refuse(out, cmd.id, WSMSG_REASON_UNKNOWN_SERVICE);
		}
	}
	if (rc != 0) {
		out->is_command = true;
		if (reason && !strcmp(reason, PROTO_REASON_UNKNOWN_ACTION)) {
			int plan = care_plan_cmd(text, len, role, broker_up, by, now_ms, out);
			if (plan <= 0)
				return plan;
		}
		return refuse(out, cmd.id, reason ? reason : PROTO_REASON_BAD_JSON);
	}
	if (type == PROTO_WS_PING) {
		out->reply = proto_ws_pong_encode(now_ms);
		return out->reply ? 0 : -1;
	}
	out->is_command = true;
	const char *no = may(role, "feeder", proto_action_name(cmd.action));
	if (no)
		return refuse(out, cmd.id, no);
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

int wsmsg_notify_ack(const void *body, size_t len, bool is_operator, bool broker_up, const char *by,
		     int64_t now_ms, struct wsmsg_result *out)
{
	enum roles_role admin = ROLES_ADMIN;
	return wsmsg_notify_ack_as(body, len, is_operator ? &admin : NULL, broker_up, by, now_ms,
				   out);
}

int wsmsg_notify_ack_as(const void *body, size_t len, const enum roles_role *role, bool broker_up,
			const char *by, int64_t now_ms, struct wsmsg_result *out)
{
	memset(out, 0, sizeof(*out));
	out->is_command = true;
	out->target = WSMSG_NOTIFY;
	const char *reason = NULL;
	cJSON *msg = NULL;
	if (len == 0)
		reason = PROTO_REASON_EMPTY;
	else if (len > PROTO_WS_MAX_MSG)
		reason = PROTO_REASON_TOO_LARGE;
	else if (!(msg = cJSON_ParseWithLength(body, len)))
		reason = PROTO_REASON_BAD_JSON;
	else if (!cJSON_IsObject(msg))
		reason = PROTO_REASON_NOT_OBJECT;
	if (reason) {
		cJSON_Delete(msg);
		return refuse(out, NULL, reason);
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	if (cJSON_IsString(id) && proto_id_valid(id->valuestring))
		snprintf(out->id, sizeof(out->id), "%s", id->valuestring);
	if (!set_member(msg, "action", cJSON_CreateString("ack"))) {
		cJSON_Delete(msg);
		return -1;
	}
	return notify_cmd(msg, role, broker_up, by, now_ms, out);
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

char *wsmsg_hello_encode_sites(const char *site, struct cJSON *sites, bool is_operator,
			       bool broker_up, const char *version, int64_t ts_ms)
{
	cJSON *obj = cJSON_CreateObject();
	if (!obj || !site || !version || !sites) {
		cJSON_Delete(sites);
		return finish(obj, false);
	}
	bool ok = cJSON_AddStringToObject(obj, "type", "hello") &&
		  cJSON_AddStringToObject(obj, "site", site);
	if (ok)
		ok = cJSON_AddItemToObject(obj, "sites", sites);
	else
		cJSON_Delete(sites);
	ok = ok && cJSON_AddBoolToObject(obj, "operator", is_operator) &&
	     cJSON_AddBoolToObject(obj, "broker", broker_up) &&
	     cJSON_AddStringToObject(obj, "version", version) &&
	     cJSON_AddNumberToObject(obj, "ts", (double)ts_ms);
	return finish(obj, ok);
}

int wsmsg_take_site(const void *text, size_t len, char site[PROTO_SITE_MAX + 1],
		    char id[PROTO_ID_MAX + 1], char **rest)
{
	site[0] = id[0] = '\0';
	*rest = NULL;
	if (len > PROTO_WS_MAX_CMD)
		return -1;
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (!cJSON_IsObject(j) || !cJSON_IsString(type) || strcmp(type->valuestring, "cmd")) {
		cJSON_Delete(j);
		return -1;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (cJSON_IsString(v) && proto_id_valid(v->valuestring))
		snprintf(id, PROTO_ID_MAX + 1, "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "site");
	if (!v) {
		cJSON_Delete(j);
		return 0;
	}
	if (cJSON_IsString(v) && proto_site_valid(v->valuestring))
		snprintf(site, PROTO_SITE_MAX + 1, "%s", v->valuestring);
	cJSON_DeleteItemFromObjectCaseSensitive(j, "site");
	*rest = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return *rest ? 1 : -2;
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
