/*
 * notify.c — iod-notify's payloads: the retained active alert set
 * (`alerts`), notify/cmd (ack, test) and notify/status. notify/event is
 * the feeder's event shape (feeder.c). Pure, like every proto file.
 */
#include "proto.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const struct pj_field F_ACTIVE = PJ_FIELD("active");
static const struct pj_field F_KEY = PJ_FIELD("key");
static const struct pj_field F_SOURCE = PJ_FIELD("source");
static const struct pj_field F_CODE = PJ_FIELD("code");
static const struct pj_field F_SUBJECT = PJ_FIELD("subject");
static const struct pj_field F_LEVEL = PJ_FIELD("level");
static const struct pj_field F_MESSAGE = PJ_FIELD("message");
static const struct pj_field F_SINCE = PJ_FIELD("since");
static const struct pj_field F_UPDATED = PJ_FIELD("updated");
static const struct pj_field F_ACKED_BY = PJ_FIELD("acked_by");
static const struct pj_field F_ACKED_AT = PJ_FIELD("acked_at");
static const struct pj_field F_TS = PJ_FIELD("ts");
static const struct pj_field F_ID = PJ_FIELD("id");
static const struct pj_field F_ACTION = PJ_FIELD("action");
static const struct pj_field F_BY = PJ_FIELD("by");
static const struct pj_field F_TO = PJ_FIELD("to");

static bool charset_valid(const char *s, size_t max, const char *extra)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c != '\0' && strchr(extra, c) != NULL)))
			return false;
	}
	return n > 0 && n <= max;
}

bool proto_alert_key_valid(const char *key)
{
	return charset_valid(key, PROTO_ALERT_KEY_MAX - 1, "._:/-");
}

bool proto_contact_valid(const char *name)
{
	return charset_valid(name, PROTO_CONTACT_MAX, "._-");
}

static bool nonempty_word(const char *s)
{
	return s[0] != '\0' && proto__word_valid(s);
}

static bool subject_or_empty(const char *s)
{
	return s[0] == '\0' || proto_alert_subject_valid(s);
}

static bool by_nonempty(const char *s)
{
	return s[0] != '\0' && proto_by_valid(s);
}

/* ---- alerts ------------------------------------------------------------------ */

static cJSON *add_ms_or_null(cJSON *obj, const char *name, int64_t ms)
{
	return ms == 0 ? cJSON_AddNullToObject(obj, name) : pj_add_int(obj, name, ms);
}

static cJSON *active_entry(const struct proto_active_alert *e)
{
	const struct proto_alert *a = &e->alert;
	const char *level = proto_level_name(a->level);
	cJSON *o;

	if (level == NULL || (o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(o, "key", e->key) ||
	    !cJSON_AddStringToObject(o, "source", a->source) ||
	    !cJSON_AddStringToObject(o, "code", a->code) ||
	    (a->subject[0] != '\0' && !cJSON_AddStringToObject(o, "subject", a->subject)) ||
	    !cJSON_AddStringToObject(o, "level", level) ||
	    !cJSON_AddStringToObject(o, "message", a->message) ||
	    !pj_add_int(o, "since", e->since_ms) || !pj_add_int(o, "updated", a->ts_ms) ||
	    !(e->acked_by[0] == '\0' ? cJSON_AddNullToObject(o, "acked_by")
				     : cJSON_AddStringToObject(o, "acked_by", e->acked_by)) ||
	    !add_ms_or_null(o, "acked_at", e->acked_by[0] == '\0' ? 0 : e->acked_at_ms)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *proto_alerts_encode(const struct proto_alerts *s)
{
	cJSON *obj, *arr;

	if (s->n > PROTO_ALERTS_MAX || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if ((arr = cJSON_AddArrayToObject(obj, "active")) == NULL)
		goto fail;
	for (size_t i = 0; i < s->n; i++) {
		cJSON *e = active_entry(&s->active[i]);

		if (e == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, e);
	}
	if (!pj_add_int(obj, "ts", s->ts_ms))
		goto fail;
	return pj_finish(obj);
fail:
	cJSON_Delete(obj);
	return NULL;
}

static int decode_entry(const cJSON *o, struct proto_active_alert *e, const char **reason)
{
	struct proto_alert *a = &e->alert;
	char level[16], key[PROTO_ALERT_KEY_MAX];
	const cJSON *item;
	int rc;

	if (!cJSON_IsObject(o)) {
		*reason = F_ACTIVE.bad;
		return -1;
	}
	if (pj_string(o, &F_KEY, true, e->key, sizeof(e->key), proto_alert_key_valid, reason) < 0 ||
	    pj_string(o, &F_SOURCE, true, a->source, sizeof(a->source), nonempty_word, reason) <
		0 ||
	    pj_string(o, &F_CODE, true, a->code, sizeof(a->code), nonempty_word, reason) < 0 ||
	    pj_string(o, &F_SUBJECT, false, a->subject, sizeof(a->subject), subject_or_empty,
		      reason) < 0 ||
	    pj_string(o, &F_LEVEL, true, level, sizeof(level), NULL, reason) < 0)
		return -1;
	if (proto_level_parse(level, &a->level) != 0) {
		*reason = F_LEVEL.bad;
		return -1;
	}
	if (proto_alert_key(a, key, sizeof(key)) != 0 || strcmp(key, e->key) != 0) {
		*reason = F_KEY.bad;
		return -1;
	}
	if (pj_string(o, &F_MESSAGE, true, a->message, sizeof(a->message), proto__text_valid,
		      reason) < 0 ||
	    pj_ms(o, &F_SINCE, true, false, &e->since_ms, reason) < 0 ||
	    pj_ms(o, &F_UPDATED, true, false, &a->ts_ms, reason) < 0)
		return -1;
	rc = pj_member(o, &F_ACKED_BY, &item, reason);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*reason = F_ACKED_BY.missing;
		return -1;
	}
	if (!cJSON_IsNull(item) && pj_string(o, &F_ACKED_BY, true, e->acked_by, sizeof(e->acked_by),
					     by_nonempty, reason) < 0)
		return -1;
	if (pj_ms(o, &F_ACKED_AT, true, true, &e->acked_at_ms, reason) < 0)
		return -1;
	/* Both null, or both given. */
	if ((e->acked_by[0] == '\0') != (e->acked_at_ms == 0)) {
		*reason = F_ACKED_AT.bad;
		return -1;
	}
	return 0;
}

int proto_alerts_decode(const void *payload, size_t len, struct proto_alerts *out,
			const char **reason)
{
	const char *dummy;
	const cJSON *arr, *item;
	cJSON *root;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_ALERTS_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (pj_array(root, &F_ACTIVE, PROTO_ALERTS_MAX, &arr, reason) < 0)
		goto out;
	cJSON_ArrayForEach(item, arr)
	{
		if (decode_entry(item, &out->active[out->n], reason) != 0)
			goto out;
		out->n++;
	}
	if (pj_ms(root, &F_TS, true, false, &out->ts_ms, reason) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- notify/cmd -------------------------------------------------------------- */

static const char *const notify_action_names[] = {"ack", "test", "subscribe", "unsubscribe"};
#define NOTIFY_ACTIONS (sizeof(notify_action_names) / sizeof(notify_action_names[0]))

const char *proto_notify_action_name(enum proto_notify_action a)
{
	return (unsigned)a < NOTIFY_ACTIONS ? notify_action_names[a] : NULL;
}

static int notify_action_parse(const char *text, enum proto_notify_action *out)
{
	for (unsigned i = 0; i < NOTIFY_ACTIONS; i++)
		if (strcmp(text, notify_action_names[i]) == 0) {
			*out = (enum proto_notify_action)i;
			return 0;
		}
	return -1;
}

static bool id_or_empty_valid(const char *id)
{
	return id[0] == '\0' || proto_id_valid(id);
}

/* The reason an action named alone (a bare word, or no member) lacks. */
static const char *missing_member(enum proto_notify_action a)
{
	switch (a) {
	case PROTO_NOTIFY_ACK:
		return PROTO_REASON_MISSING_KEY;
	case PROTO_NOTIFY_SUBSCRIBE:
		return PROTO_REASON_MISSING_SUBSCRIPTION;
	case PROTO_NOTIFY_UNSUBSCRIBE:
		return PROTO_REASON_MISSING_ENDPOINT;
	default:
		return PROTO_REASON_MISSING_TO;
	}
}

static const struct pj_field F_SUBSCRIPTION = PJ_FIELD("subscription");
static const struct pj_field F_ENDPOINT = PJ_FIELD("endpoint");

/* A push service's URL: http(s)://, then printable ASCII without spaces. */
static bool endpoint_valid(const char *s)
{
	size_t skip = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;

	if (skip == 0 || s[skip] == '\0')
		return false;
	for (const char *p = s + skip; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* A browser key as PushSubscription.toJSON() gives it: base64url, with
 * '=' padding tolerated at the end. */
static bool b64url_valid(const cJSON *item)
{
	const char *s = cJSON_IsString(item) ? item->valuestring : NULL;
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0' && s[n] != '='; n++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			   s[n]) == NULL)
			return false;
	while (s[n] == '=')
		n++;
	return n > 0 && n < 128 && s[n] == '\0';
}

/* subscribe's object: an endpoint and both keys, then kept printed. */
static int subscription_member(const cJSON *root, struct proto_notify_cmd *out, const char **reason)
{
	const cJSON *sub, *keys;
	char *text;
	int rc;

	switch (pj_member(root, &F_SUBSCRIPTION, &sub, reason)) {
	case -1:
		return -1;
	case 0:
		*reason = F_SUBSCRIPTION.missing;
		return -1;
	default:
		break;
	}
	*reason = F_SUBSCRIPTION.bad;
	if (!cJSON_IsObject(sub))
		return -1;
	rc = pj_string(sub, &F_ENDPOINT, true, out->endpoint, sizeof(out->endpoint), endpoint_valid,
		       reason);
	if (rc < 0)
		return -1;
	*reason = F_SUBSCRIPTION.bad;
	keys = cJSON_GetObjectItemCaseSensitive(sub, "keys");
	if (!cJSON_IsObject(keys) ||
	    !b64url_valid(cJSON_GetObjectItemCaseSensitive(keys, "p256dh")) ||
	    !b64url_valid(cJSON_GetObjectItemCaseSensitive(keys, "auth")))
		return -1;
	text = cJSON_PrintUnformatted(sub);
	if (text == NULL || strlen(text) >= sizeof(out->subscription)) {
		free(text);
		return -1;
	}
	memcpy(out->subscription, text, strlen(text) + 1);
	free(text);
	return 0;
}

int proto_notify_cmd_decode(const void *payload, size_t len, struct proto_notify_cmd *out,
			    const char **reason)
{
	const char *dummy;
	const cJSON *item;
	char word[33], action[16];
	cJSON *root;
	int rc;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	rc = pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, word, sizeof(word), &root, reason);
	if (rc < 0)
		return -1;
	if (rc == PJ_DECODE_WORD) {
		if (notify_action_parse(word, &out->action) != 0) {
			*reason = PROTO_REASON_UNKNOWN_ACTION;
			return -1;
		}
		out->has_action = true;
		*reason = missing_member(out->action);
		return -1;
	}
	rc = -1;
	if (pj_string(root, &F_ID, false, out->id, sizeof(out->id), id_or_empty_valid, reason) < 0)
		goto out;
	switch (pj_member(root, &F_ACTION, &item, reason)) {
	case -1:
		goto out;
	case 0:
		*reason = F_ACTION.missing;
		goto out;
	default:
		break;
	}
	if (!cJSON_IsString(item)) {
		*reason = F_ACTION.bad;
		goto out;
	}
	if (strlen(item->valuestring) >= sizeof(action) ||
	    notify_action_parse(item->valuestring, &out->action) != 0) {
		*reason = PROTO_REASON_UNKNOWN_ACTION;
		goto out;
	}
	out->has_action = true;
	if (pj_string(root, &F_BY, false, out->by, sizeof(out->by), proto_by_valid, reason) < 0)
		goto out;
	switch (pj_ms(root, &F_TS, false, false, &out->ts_ms, reason)) {
	case -1:
		goto out;
	case 1:
		out->has_ts = true;
		break;
	default:
		break;
	}
	if (out->action == PROTO_NOTIFY_ACK) {
		if (pj_string(root, &F_KEY, true, out->key, sizeof(out->key), proto_alert_key_valid,
			      reason) < 0)
			goto out;
		if (out->by[0] == '\0') {
			*reason = PROTO_REASON_MISSING_BY;
			goto out;
		}
	} else if (out->action == PROTO_NOTIFY_SUBSCRIBE ||
		   out->action == PROTO_NOTIFY_UNSUBSCRIBE) {
		if (out->action == PROTO_NOTIFY_SUBSCRIBE
			? subscription_member(root, out, reason) < 0
			: pj_string(root, &F_ENDPOINT, true, out->endpoint, sizeof(out->endpoint),
				    endpoint_valid, reason) < 0)
			goto out;
		if (out->by[0] == '\0') {
			*reason = PROTO_REASON_MISSING_BY;
			goto out;
		}
	} else if (pj_string(root, &F_TO, true, out->to, sizeof(out->to), proto_contact_valid,
			     reason) < 0) {
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

char *proto_notify_cmd_encode(const struct proto_notify_cmd *cmd)
{
	const char *action = proto_notify_action_name(cmd->action);
	cJSON *obj;

	if (action == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "action", action) ||
	    (cmd->id[0] != '\0' && !cJSON_AddStringToObject(obj, "id", cmd->id)) ||
	    (cmd->by[0] != '\0' && !cJSON_AddStringToObject(obj, "by", cmd->by)) ||
	    (cmd->has_ts && !pj_add_int(obj, "ts", cmd->ts_ms)) ||
	    (cmd->action == PROTO_NOTIFY_ACK && !cJSON_AddStringToObject(obj, "key", cmd->key)) ||
	    (cmd->action == PROTO_NOTIFY_TEST && !cJSON_AddStringToObject(obj, "to", cmd->to)) ||
	    (cmd->action == PROTO_NOTIFY_SUBSCRIBE &&
	     !cJSON_AddItemToObject(obj, "subscription", cJSON_Parse(cmd->subscription))) ||
	    (cmd->action == PROTO_NOTIFY_UNSUBSCRIBE &&
	     !cJSON_AddStringToObject(obj, "endpoint", cmd->endpoint))) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

/* ---- notify/status ------------------------------------------------------------- */

static cJSON *add_u64(cJSON *obj, const char *name, uint64_t v)
{
	return pj_add_int(obj, name, v > (uint64_t)PJ_INT_MAX ? PJ_INT_MAX : (int64_t)v);
}

static cJSON *channel_entry(const struct proto_notify_channel_status *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(o, "contact", c->contact) ||
	    !cJSON_AddStringToObject(o, "channel", c->channel) || !add_u64(o, "sent", c->sent) ||
	    !add_u64(o, "failed", c->failed) || !add_ms_or_null(o, "last_ok", c->last_ok_ms) ||
	    !(c->last_error[0] == '\0' ? cJSON_AddNullToObject(o, "last_error")
				       : cJSON_AddStringToObject(o, "last_error", c->last_error)) ||
	    !add_ms_or_null(o, "last_error_at", c->last_error_ms)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *proto_notify_status_encode(const struct proto_notify_status *s)
{
	cJSON *obj, *outbox, *arr;

	if (s->n_channels > PROTO_STATUS_CHANNELS_MAX || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if ((outbox = cJSON_AddObjectToObject(obj, "outbox")) == NULL ||
	    !add_u64(outbox, "depth", s->depth) || !add_u64(outbox, "queued", s->queued) ||
	    !add_u64(outbox, "delivered", s->delivered) || !add_u64(outbox, "failed", s->failed) ||
	    !add_u64(outbox, "given_up", s->given_up) ||
	    (arr = cJSON_AddArrayToObject(obj, "channels")) == NULL)
		goto fail;
	for (size_t i = 0; i < s->n_channels; i++) {
		cJSON *e = channel_entry(&s->channels[i]);

		if (e == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, e);
	}
	if (!pj_add_int(obj, "ts", s->ts_ms))
		goto fail;
	return pj_finish(obj);
fail:
	cJSON_Delete(obj);
	return NULL;
}
