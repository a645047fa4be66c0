/*
 * feeder.c — feeder/cmd, feeder/event, feeder/state and feeder/log codecs.
 */
#include "proto.h"

#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const struct pj_field F_ACTION = PJ_FIELD("action");
static const struct pj_field F_ID = PJ_FIELD("id");
static const struct pj_field F_BY = PJ_FIELD("by");
static const struct pj_field F_TS = PJ_FIELD("ts");
static const struct pj_field F_RESULT = PJ_FIELD("result");
static const struct pj_field F_REASON = PJ_FIELD("reason");
static const struct pj_field F_POSITION = PJ_FIELD("position");
static const struct pj_field F_LAST_DOSE = PJ_FIELD("last_dose");
static const struct pj_field F_NEXT_ALLOWED = PJ_FIELD("next_allowed");
static const struct pj_field F_NEXT_SCHEDULED = PJ_FIELD("next_scheduled");
static const struct pj_field F_DOSES_TODAY = PJ_FIELD("doses_today");
static const struct pj_field F_DOSES = PJ_FIELD("doses");
static const struct pj_field F_SOURCE = PJ_FIELD("source");
static const struct pj_field F_DETAIL = PJ_FIELD("detail");
static const struct pj_field F_REV = PJ_FIELD("rev");
static const struct pj_field F_DELTA = PJ_FIELD("delta_g");
static const struct pj_field F_PILLS_REMAINING = PJ_FIELD("pills_remaining");
static const struct pj_field F_RUNS_OUT = PJ_FIELD("runs_out");
static const struct pj_field F_CLOCK_SYNCED = PJ_FIELD("clock_synced");
static const struct pj_field F_VERIFIED = PJ_FIELD("verified");

static const char *const position_names[] = {"home", "open"};
static const char *const source_names[] = {"manual", "schedule"};
static const char *const result_names[] = {"ok", "rejected", "duplicate", "failed"};
static const char *const dose_result_names[] = {"ok", "failed", "uncertain"};

/* A delta_g is a bowl's change in grams: anything a scale can say. */
#define DELTA_G_MAX 1e6
/* pills_remaining, as a refill may set it. */
#define PILLS_MAX 100000

/* ---- shared with payloads.c and ws.c ------------------------------------ */

bool proto__bare_word(const char *s, size_t n, char *word, size_t cap)
{
	if (n == 0 || n >= cap || n > 32)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	memcpy(word, s, n);
	word[n] = '\0';
	return strcmp(word, "true") != 0 && strcmp(word, "false") != 0 && strcmp(word, "null") != 0;
}

int proto__action_member(const cJSON *obj, enum proto_action *out, const char **reason)
{
	const cJSON *item;
	int rc = pj_member(obj, &F_ACTION, &item, reason);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		*reason = F_ACTION.missing;
		return -1;
	}
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		*reason = F_ACTION.bad;
		return -1;
	}
	if (proto_action_parse(item->valuestring, out) != 0) {
		*reason = "unknown_action";
		return -1;
	}
	return 0;
}

bool proto__text_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; u[i] != '\0'; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return false;
		if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

bool proto__word_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	}
	return true;
}

static int enum_member(const cJSON *obj, const struct pj_field *f, const char *const *names,
		       size_t count, int *out, const char **reason)
{
	char text[32];

	if (pj_string(obj, f, true, text, sizeof(text), NULL, reason) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(names[i], text) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	*reason = f->bad;
	return -1;
}

/* ---- feeder/cmd ---------------------------------------------------------- */

static bool id_or_empty_valid(const char *id)
{
	return id[0] == '\0' || proto_id_valid(id);
}

/*
 * Decode order is id, action, by, ts: on failure out->id still holds a
 * valid id and out->has_action says whether out->action was decoded, so
 * the feeder can answer the `rejected` event with both.
 */
int proto_feeder_cmd_decode(const void *payload, size_t len, struct proto_feeder_cmd *out,
			    const char **reason)
{
	const char *dummy;
	char word[33];
	cJSON *root;
	int rc;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	rc = pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, word, sizeof(word), &root, reason);
	if (rc < 0)
		return -1;
	if (rc == PJ_DECODE_WORD) {
		if (proto_action_parse(word, &out->action) != 0) {
			*reason = "unknown_action";
			return -1;
		}
		out->has_action = true;
		/* The two actions that mean nothing without their member. */
		if (out->action == PROTO_ACTION_PLAN) {
			*reason = PROTO_REASON_MISSING_PLAN;
			return -1;
		}
		if (out->action == PROTO_ACTION_REFILL) {
			*reason = PROTO_REASON_MISSING_PILLS;
			return -1;
		}
		return 0;
	}
	rc = -1;
	if (pj_string(root, &F_ID, false, out->id, sizeof(out->id), proto_id_valid, reason) < 0)
		goto out;
	if (proto__action_member(root, &out->action, reason) != 0)
		goto out;
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
	if (proto__action_members(root, out, reason) != 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/*
 * Why not the decoder's partial output: it stops at the first bad field, so
 * a bad id hides the action, and a websocket message's "type" is checked
 * before both. Why strict: an id read from what the decoders call garbage
 * would be a second, laxer contract.
 */
void proto_cmd_salvage(const void *payload, size_t len, struct proto_cmd_salvage *out)
{
	const char *reason;
	char word[33];
	cJSON *root;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, word, sizeof(word), &root, &reason);
	if (rc < 0)
		return;
	if (rc == PJ_DECODE_WORD) {
		out->has_action = proto_action_parse(word, &out->action) == 0;
		return;
	}
	/* Each on its own; a member that fails leaves its field as zeroed. */
	(void)pj_string(root, &F_ID, false, out->id, sizeof(out->id), proto_id_valid, &reason);
	out->has_action = proto__action_member(root, &out->action, &reason) == 0;
	cJSON_Delete(root);
}

char *proto_feeder_cmd_encode(const struct proto_feeder_cmd *cmd)
{
	const char *action = proto_action_name(cmd->action);
	cJSON *obj;

	if (action == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "action", action) ||
	    (cmd->id[0] != '\0' && !cJSON_AddStringToObject(obj, "id", cmd->id)) ||
	    (cmd->by[0] != '\0' && !cJSON_AddStringToObject(obj, "by", cmd->by)) ||
	    (cmd->has_ts && !pj_add_int(obj, "ts", cmd->ts_ms)) ||
	    !proto__action_members_add(obj, cmd)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

/* ---- feeder/event -------------------------------------------------------- */

char *proto_feeder_event_encode(const struct proto_feeder_event *ev)
{
	const char *result = proto_result_name(ev->result);
	cJSON *obj;

	if (result == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "id", ev->id) ||
	    !cJSON_AddStringToObject(obj, "action", ev->action) ||
	    !cJSON_AddStringToObject(obj, "result", result) ||
	    (ev->reason[0] != '\0' && !cJSON_AddStringToObject(obj, "reason", ev->reason)) ||
	    (ev->detail[0] != '\0' && !cJSON_AddStringToObject(obj, "detail", ev->detail)) ||
	    (ev->has_rev && !pj_add_int(obj, "rev", ev->rev)) ||
	    (ev->has_delta && !(ev->delta_null ? cJSON_AddNullToObject(obj, "delta_g")
					       : pj_add_number(obj, "delta_g", ev->delta_g))) ||
	    !pj_add_int(obj, "ts", ev->ts_ms)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

int proto_feeder_event_decode(const void *payload, size_t len, struct proto_feeder_event *out,
			      const char **reason)
{
	const char *dummy;
	const cJSON *item;
	cJSON *root;
	int rc = -1;
	int result;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (pj_string(root, &F_ID, true, out->id, sizeof(out->id), id_or_empty_valid, reason) < 0 ||
	    pj_string(root, &F_ACTION, true, out->action, sizeof(out->action), proto__word_valid,
		      reason) < 0)
		goto out;
	if (enum_member(root, &F_RESULT, result_names, 4, &result, reason) != 0)
		goto out;
	out->result = (enum proto_result)result;
	if (pj_string(root, &F_REASON, false, out->reason, sizeof(out->reason), proto__text_valid,
		      reason) < 0 ||
	    pj_string(root, &F_DETAIL, false, out->detail, sizeof(out->detail), proto__text_valid,
		      reason) < 0)
		goto out;
	switch (pj_ms(root, &F_REV, false, false, &out->rev, reason)) {
	case -1:
		goto out;
	case 1:
		out->has_rev = true;
		break;
	default:
		break;
	}
	if (pj_member(root, &F_DELTA, &item, reason) < 0)
		goto out;
	if (item != NULL) {
		out->has_delta = true;
		out->delta_null = cJSON_IsNull(item);
		if (!out->delta_null && pj_number(root, &F_DELTA, true, -DELTA_G_MAX, DELTA_G_MAX,
						  &out->delta_g, reason) < 0)
			goto out;
	}
	if (pj_ms(root, &F_TS, true, false, &out->ts_ms, reason) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- feeder/state -------------------------------------------------------- */

/* A required true or false. */
static int bool_member(const cJSON *obj, const struct pj_field *f, bool *out, const char **reason)
{
	const cJSON *item;
	int rc = pj_member(obj, f, &item, reason);

	if (rc < 0)
		return -1;
	if (rc == 0 || !cJSON_IsBool(item)) {
		*reason = rc == 0 ? f->missing : f->bad;
		return -1;
	}
	*out = cJSON_IsTrue(item);
	return 0;
}

static cJSON *add_ms_or_null(cJSON *obj, const char *name, int64_t ms)
{
	return ms == 0 ? cJSON_AddNullToObject(obj, name) : pj_add_int(obj, name, ms);
}

char *proto_feeder_state_encode(const struct proto_feeder_state *st)
{
	cJSON *obj;

	if ((unsigned)st->position > PROTO_POSITION_OPEN || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "position", position_names[st->position]) ||
	    !add_ms_or_null(obj, "last_dose", st->last_dose_ms) ||
	    !pj_add_int(obj, "next_allowed", st->next_allowed_ms) ||
	    !add_ms_or_null(obj, "next_scheduled", st->next_scheduled_ms) ||
	    !pj_add_int(obj, "doses_today", st->doses_today) ||
	    !(st->has_pills ? pj_add_int(obj, "pills_remaining", st->pills_remaining)
			    : cJSON_AddNullToObject(obj, "pills_remaining")) ||
	    !add_ms_or_null(obj, "runs_out", st->runs_out_ms) ||
	    !cJSON_AddBoolToObject(obj, "clock_synced", st->clock_synced)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return pj_finish(obj);
}

int proto_feeder_state_decode(const void *payload, size_t len, struct proto_feeder_state *out,
			      const char **reason)
{
	const char *dummy;
	cJSON *root;
	int rc = -1;
	int position;
	int64_t doses_today;
	const cJSON *item;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (enum_member(root, &F_POSITION, position_names, 2, &position, reason) != 0 ||
	    pj_ms(root, &F_LAST_DOSE, true, true, &out->last_dose_ms, reason) < 0 ||
	    pj_ms(root, &F_NEXT_ALLOWED, true, false, &out->next_allowed_ms, reason) < 0 ||
	    pj_ms(root, &F_NEXT_SCHEDULED, true, true, &out->next_scheduled_ms, reason) < 0 ||
	    pj_ms(root, &F_DOSES_TODAY, true, false, &doses_today, reason) < 0)
		goto out;
	if (doses_today > INT_MAX) {
		*reason = F_DOSES_TODAY.bad;
		goto out;
	}
	out->position = (enum proto_position)position;
	out->doses_today = (int)doses_today;
	if (pj_ms(root, &F_PILLS_REMAINING, true, true, &out->pills_remaining, reason) < 0)
		goto out;
	/* pj_ms maps null to 0, which is also a count: ask again. */
	(void)pj_member(root, &F_PILLS_REMAINING, &item, reason);
	out->has_pills = !cJSON_IsNull(item);
	if (out->pills_remaining > PILLS_MAX) {
		*reason = F_PILLS_REMAINING.bad;
		goto out;
	}
	if (pj_ms(root, &F_RUNS_OUT, true, true, &out->runs_out_ms, reason) < 0 ||
	    bool_member(root, &F_CLOCK_SYNCED, &out->clock_synced, reason) != 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- feeder/log ---------------------------------------------------------- */

char *proto_feeder_log_encode(const struct proto_dose *doses, size_t n)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *arr;

	if (obj == NULL)
		return NULL;
	arr = cJSON_AddArrayToObject(obj, "doses");
	if (arr == NULL)
		goto fail;
	if (n > PROTO_LOG_MAX)
		n = PROTO_LOG_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct proto_dose *d = &doses[i];
		cJSON *item;

		if ((unsigned)d->source > PROTO_SOURCE_SCHEDULE ||
		    (unsigned)d->result > PROTO_DOSE_UNCERTAIN ||
		    (unsigned)d->verified > PROTO_VERIFIED_FALSE)
			goto fail;
		item = cJSON_CreateObject();
		if (item == NULL)
			goto fail;
		if (!cJSON_AddItemToArray(arr, item))
			goto fail_item;
		if (!cJSON_AddStringToObject(item, "id", d->id) ||
		    !pj_add_int(item, "ts", d->ts_ms) ||
		    !cJSON_AddStringToObject(item, "by", d->by) ||
		    !cJSON_AddStringToObject(item, "source", source_names[d->source]) ||
		    !cJSON_AddStringToObject(item, "result", dose_result_names[d->result]) ||
		    !(d->verified == PROTO_VERIFIED_NULL
			  ? cJSON_AddNullToObject(item, "verified")
			  : cJSON_AddBoolToObject(item, "verified",
						  d->verified == PROTO_VERIFIED_TRUE)))
			goto fail;
		continue;
	fail_item:
		cJSON_Delete(item);
		goto fail;
	}
	return pj_finish(obj);
fail:
	cJSON_Delete(obj);
	return NULL;
}

int proto_feeder_log_decode(const void *payload, size_t len, struct proto_dose *doses, size_t cap,
			    size_t *n, const char **reason)
{
	const char *dummy;
	const cJSON *arr;
	cJSON *root;
	int rc = -1;
	size_t count = 0;

	if (reason == NULL)
		reason = &dummy;
	*n = 0;
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (pj_array(root, &F_DOSES, SIZE_MAX, &arr, reason) < 0)
		goto out;
	for (const cJSON *el = arr->child; el != NULL && count < cap; el = el->next) {
		struct proto_dose *d = &doses[count];
		const cJSON *verified;
		int source, result;

		memset(d, 0, sizeof(*d));
		if (!cJSON_IsObject(el)) {
			*reason = F_DOSES.bad;
			goto out;
		}
		if (pj_string(el, &F_ID, true, d->id, sizeof(d->id), proto_id_valid, reason) < 0 ||
		    pj_ms(el, &F_TS, true, false, &d->ts_ms, reason) < 0 ||
		    pj_string(el, &F_BY, false, d->by, sizeof(d->by), proto_by_valid, reason) < 0 ||
		    enum_member(el, &F_SOURCE, source_names, 2, &source, reason) != 0 ||
		    enum_member(el, &F_RESULT, dose_result_names, 3, &result, reason) != 0)
			goto out;
		d->source = (enum proto_dose_source)source;
		d->result = (enum proto_dose_result)result;
		switch (pj_member(el, &F_VERIFIED, &verified, reason)) {
		case -1:
			goto out;
		case 0:
			*reason = F_VERIFIED.missing;
			goto out;
		default:
			if (!cJSON_IsNull(verified) && !cJSON_IsBool(verified)) {
				*reason = F_VERIFIED.bad;
				goto out;
			}
			d->verified = cJSON_IsNull(verified)   ? PROTO_VERIFIED_NULL
				      : cJSON_IsTrue(verified) ? PROTO_VERIFIED_TRUE
							       : PROTO_VERIFIED_FALSE;
		}
		count++;
	}
	rc = 0;
out:
	*n = rc == 0 ? count : 0;
	cJSON_Delete(root);
	return rc;
}
