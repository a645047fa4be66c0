/*
 * payloads.c — info, alert, sensor reading, camera motion and camera/cmd.
 */
#include "proto.h"

#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct pj_field F_ACTION = PJ_FIELD("action");
static const struct pj_field F_FOR = PJ_FIELD("for");
static const struct pj_field F_SOURCE = PJ_FIELD("source");
static const struct pj_field F_LEVEL = PJ_FIELD("level");
static const struct pj_field F_CODE = PJ_FIELD("code");
static const struct pj_field F_MESSAGE = PJ_FIELD("message");
static const struct pj_field F_SUBJECT = PJ_FIELD("subject");
static const struct pj_field F_TS = PJ_FIELD("ts");
static const struct pj_field F_VALUE = PJ_FIELD("value");
static const struct pj_field F_UNIT = PJ_FIELD("unit");
static const struct pj_field F_SCORE = PJ_FIELD("score");
static const struct pj_field F_ACTIVE = PJ_FIELD("active");

/* ---- info ------------------------------------------------------------------ */

char *proto_info_encode(const struct proto_info *info)
{
	cJSON *obj;

	if (info->version == NULL || info->backend == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "version", info->version) ||
	    !pj_add_int(obj, "since", info->since_ms) ||
	    !cJSON_AddStringToObject(obj, "backend", info->backend) ||
	    (info->tz && !cJSON_AddStringToObject(obj, "tz", info->tz)) ||
	    (info->site_name && !cJSON_AddStringToObject(obj, "site_name", info->site_name)) ||
	    (info->dog_name && !cJSON_AddStringToObject(obj, "dog_name", info->dog_name))) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

/* ---- alert ------------------------------------------------------------------ */

static bool nonempty_word(const char *s)
{
	return s[0] != '\0' && proto__word_valid(s);
}

bool proto_alert_subject_valid(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		if (!proto_id_char((unsigned char)s[n]))
			return false;
	}
	return n > 0 && n < sizeof(((struct proto_alert *)0)->subject);
}

int proto_alert_key(const struct proto_alert *a, char *buf, size_t size)
{
	int n = a->subject[0] != '\0'
		    ? snprintf(buf, size, "%s/%s/%s", a->source, a->code, a->subject)
		    : snprintf(buf, size, "%s/%s", a->source, a->code);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

char *proto_alert_encode(const struct proto_alert *a)
{
	const char *level = proto_level_name(a->level);
	cJSON *obj;

	if (level == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "source", a->source) ||
	    !cJSON_AddStringToObject(obj, "level", level) ||
	    !cJSON_AddStringToObject(obj, "code", a->code) ||
	    !cJSON_AddStringToObject(obj, "message", a->message) ||
	    (a->subject[0] != '\0' && !cJSON_AddStringToObject(obj, "subject", a->subject)) ||
	    !pj_add_int(obj, "ts", a->ts_ms)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

int proto_alert_decode(const void *payload, size_t len, struct proto_alert *out,
		       const char **reason)
{
	const char *dummy;
	char level[16];
	cJSON *root;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (pj_string(root, &F_SOURCE, true, out->source, sizeof(out->source), nonempty_word,
		      reason) < 0 ||
	    pj_string(root, &F_LEVEL, true, level, sizeof(level), NULL, reason) < 0)
		goto out;
	if (proto_level_parse(level, &out->level) != 0) {
		*reason = F_LEVEL.bad;
		goto out;
	}
	if (pj_string(root, &F_CODE, true, out->code, sizeof(out->code), nonempty_word, reason) <
		0 ||
	    pj_string(root, &F_MESSAGE, true, out->message, sizeof(out->message), proto__text_valid,
		      reason) < 0 ||
	    pj_string(root, &F_SUBJECT, false, out->subject, sizeof(out->subject),
		      proto_alert_subject_valid, reason) < 0 ||
	    pj_ms(root, &F_TS, true, false, &out->ts_ms, reason) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- sensor reading ------------------------------------------------------------ */

char *proto_reading_encode(const struct proto_reading *r)
{
	cJSON *obj;

	if (!isfinite(r->value) || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!pj_add_number(obj, "value", r->value) ||
	    !cJSON_AddStringToObject(obj, "unit", r->unit) || !pj_add_int(obj, "ts", r->ts_ms)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

int proto_reading_decode(const void *payload, size_t len, struct proto_reading *out,
			 const char **reason)
{
	const char *dummy;
	cJSON *root;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (pj_number(root, &F_VALUE, true, -DBL_MAX, DBL_MAX, &out->value, reason) < 0 ||
	    pj_string(root, &F_UNIT, true, out->unit, sizeof(out->unit), proto__text_valid,
		      reason) < 0 ||
	    pj_ms(root, &F_TS, true, false, &out->ts_ms, reason) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- camera ---------------------------------------------------------------------- */

char *proto_motion_encode(const struct proto_motion *m)
{
	cJSON *obj;

	if (!isfinite(m->score) || m->score < 0 || m->score > 1 ||
	    (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!pj_add_number(obj, "score", m->score) ||
	    !cJSON_AddBoolToObject(obj, "active", m->active) || !pj_add_int(obj, "ts", m->ts_ms)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

/* An optional JSON boolean member: 1 present (*out set), 0 absent, -1 with
 * *reason = f->bad (any other type) or f->dup. */
static int optional_bool(const cJSON *obj, const struct pj_field *f, bool *out, const char **reason)
{
	const cJSON *item;
	int rc = pj_member(obj, f, &item, reason);

	if (rc <= 0)
		return rc;
	if (!cJSON_IsBool(item)) {
		*reason = f->bad;
		return -1;
	}
	*out = cJSON_IsTrue(item);
	return 1;
}

int proto_motion_decode(const void *payload, size_t len, struct proto_motion *out,
			const char **reason)
{
	const char *dummy;
	cJSON *root;
	int active = 0;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (pj_number(root, &F_SCORE, true, 0.0, 1.0, &out->score, reason) < 0 ||
	    (active = optional_bool(root, &F_ACTIVE, &out->active, reason)) < 0 ||
	    pj_ms(root, &F_TS, true, false, &out->ts_ms, reason) < 0)
		goto out;
	out->has_active = active == 1;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* "<kind>:<id>": kind 1-15 lowercase letters, id as proto_id_valid() (so
 * "dose:<id>" names the feeder's dose by its command id), at most
 * PROTO_CAMERA_FOR_MAX bytes in all. The records store files the snapshot
 * under it: no spaces, quotes or slashes to escape anywhere. */
static bool camera_for_valid(const char *s)
{
	size_t kind = 0;

	while (s[kind] >= 'a' && s[kind] <= 'z')
		kind++;
	if (kind == 0 || kind > 15 || s[kind] != ':' || strlen(s) > PROTO_CAMERA_FOR_MAX)
		return false;
	return proto_id_valid(s + kind + 1);
}

int proto_camera_cmd_decode_for(const void *payload, size_t len, struct proto_camera_cmd *out,
				const char **reason)
{
	const char *dummy;
	const cJSON *item;
	char word[33];
	cJSON *root;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	rc = pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, word, sizeof(word), &root, reason);
	if (rc < 0)
		return -1;
	if (rc == PJ_DECODE_WORD) {
		if (strcmp(word, "snapshot") != 0) {
			*reason = "unknown_action";
			return -1;
		}
		return 0;
	}
	rc = -1;
	switch (pj_member(root, &F_ACTION, &item, reason)) {
	case -1:
		goto out;
	case 0:
		*reason = F_ACTION.missing;
		goto out;
	default:
		break;
	}
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		*reason = F_ACTION.bad;
		goto out;
	}
	if (strcmp(item->valuestring, "snapshot") != 0) {
		*reason = "unknown_action";
		goto out;
	}
	/* After the action: a command that is not a snapshot says so first. */
	if (pj_string(root, &F_FOR, false, out->for_, sizeof(out->for_), camera_for_valid, reason) <
	    0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int proto_camera_cmd_decode(const void *payload, size_t len, const char **reason)
{
	struct proto_camera_cmd cmd;

	return proto_camera_cmd_decode_for(payload, len, &cmd, reason);
}
