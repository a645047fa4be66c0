/*
 * ws.c — the bridge <-> browser websocket messages (proto/README.md,
 * "Websocket").
 */
#include "proto.h"

#include "internal.h"

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
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(cmd, 0, sizeof(*cmd));
	if (pj_check_envelope(payload, len, PROTO_WS_MAX_MSG, reason) != 0)
		return -1;
	root = pj_parse_object(payload, len, reason);
	if (root == NULL)
		return -1;
	if (pj_string(root, &F_TYPE, true, type_text, sizeof(type_text), NULL, reason) < 0)
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
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int proto_ws_cmd_decode(const void *payload, size_t len, struct proto_ws_cmd *out, const char **reason)
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
