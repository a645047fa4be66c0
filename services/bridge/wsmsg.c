#include "wsmsg.h"

#include "proto.h"

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
	if (proto_ws_msg_decode(text, len, &type, &cmd, &reason) != 0) {
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
