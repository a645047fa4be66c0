/*
 * The dashboard's commands for iod-notify (wsmsg.c's "service":"notify"
 * and POST /api/notify/ack's wsmsg_notify_ack) and proto's subscribe /
 * unsubscribe decode under them: what is published on notify/cmd, that
 * "by" is always the session's, and that every refusal names its reason
 * and publishes nothing.
 */
#include "proto.h"
#include "wsmsg.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A browser-shaped subscription: a 65-byte point and a 16-byte secret. */
#define P256DH                                                                                     \
	"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
#define AUTH	 "BTBZMqHH6r4Tts7J_aSIgg"
#define ENDPOINT "https://push.example.net/wpush/v2/gAAAAABk-abc_DEF-123"
#define SUB                                                                                        \
	"{\"endpoint\":\"" ENDPOINT "\",\"expirationTime\":null,\"keys\":{\"p256dh\":\"" P256DH    \
	"\",\"auth\":\"" AUTH "\"}}"

static struct wsmsg_result run(const char *text, bool op, bool up)
{
	struct wsmsg_result r;
	cr_assert_eq(wsmsg_handle(text, strlen(text), op, up, "operator", 1234, &r), 0);
	cr_assert_not_null(r.reply);
	return r;
}

static cJSON *accepted(const char *text, const char *id)
{
	struct wsmsg_result r = run(text, true, true);
	cr_assert(r.accepted, "%s -> %s", text, r.reply);
	cr_assert(r.is_command);
	cr_assert_eq(r.target, WSMSG_NOTIFY, "%s", text);
	char ack[128];
	snprintf(ack, sizeof(ack), "{\"type\":\"ack\",\"id\":\"%s\"}", id);
	cr_assert_str_eq(r.reply, ack);
	cJSON *j = cJSON_Parse(r.publish);
	cr_assert_not_null(j);
	/* What notify reads is exactly what was published. */
	struct proto_notify_cmd nc;
	const char *reason = NULL;
	cr_assert_eq(proto_notify_cmd_decode(r.publish, strlen(r.publish), &nc, &reason), 0, "%s",
		     reason);
	cr_assert_str_eq(nc.by, "operator");
	cr_assert_str_eq(nc.id, id);
	cr_assert(nc.has_ts);
	cr_assert_eq(nc.ts_ms, 1234);
	wsmsg_result_free(&r);
	return j;
}

static void refused(const char *text, bool op, bool up, const char *reason)
{
	struct wsmsg_result r = run(text, op, up);
	cr_assert_not(r.accepted, "%s", text);
	cr_assert_null(r.publish, "nothing published for %s", text);
	cr_assert(r.is_command);
	cJSON *j = cJSON_Parse(r.reply);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "reason")->valuestring, reason, "%s -> %s", text,
			 r.reply);
	cr_assert_str_eq(r.reason, reason);
	cJSON_Delete(j);
	wsmsg_result_free(&r);
}

static const char *str(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	cr_assert(cJSON_IsString(v), "%s", name);
	return v->valuestring;
}

Test(notify_cmd, ack_goes_to_notify_with_the_sessions_by, .timeout = 5)
{
	/* The browser's own "by" and "ts" are replaced; type and service gone. */
	cJSON *j =
	    accepted("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"ack\",\"id\":\"n-1\","
		     "\"key\":\"feeder/missed_dose/2026-12-01T15:00\",\"by\":\"mallory\","
		     "\"ts\":5}",
		     "n-1");
	cr_assert_str_eq(str(j, "action"), "ack");
	cr_assert_str_eq(str(j, "key"), "feeder/missed_dose/2026-12-01T15:00");
	cr_assert_str_eq(str(j, "by"), "operator");
	cr_assert_eq(cJSON_GetObjectItem(j, "ts")->valuedouble, 1234);
	cr_assert_null(cJSON_GetObjectItem(j, "type"));
	cr_assert_null(cJSON_GetObjectItem(j, "service"));
	cJSON_Delete(j);
}

Test(notify_cmd, subscribe_unsubscribe_and_test, .timeout = 5)
{
	cJSON *j = accepted("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"subscribe\","
			    "\"id\":\"n-2\",\"subscription\":" SUB "}",
			    "n-2");
	cr_assert_str_eq(str(j, "action"), "subscribe");
	const cJSON *sub = cJSON_GetObjectItem(j, "subscription");
	cr_assert(cJSON_IsObject(sub));
	cr_assert_str_eq(str(sub, "endpoint"), ENDPOINT);
	const cJSON *keys = cJSON_GetObjectItem(sub, "keys");
	cr_assert_str_eq(str(keys, "p256dh"), P256DH);
	cr_assert_str_eq(str(keys, "auth"), AUTH);
	cJSON_Delete(j);

	j = accepted("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"unsubscribe\","
		     "\"id\":\"n-3\",\"endpoint\":\"" ENDPOINT "\"}",
		     "n-3");
	cr_assert_str_eq(str(j, "endpoint"), ENDPOINT);
	cJSON_Delete(j);

	j = accepted("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"test\",\"id\":\"n-4\","
		     "\"to\":\"ann\"}",
		     "n-4");
	cr_assert_str_eq(str(j, "to"), "ann");
	cJSON_Delete(j);
}

Test(notify_cmd, refusals_name_the_reason, .timeout = 5)
{
	const char *ack =
	    "{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"ack\",\"id\":\"r1\","
	    "\"key\":\"feeder/x\"}";
	refused(ack, false, true, "not_authorized");
	refused(ack, true, false, "broker_unavailable");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"ack\",\"id\":\"r2\"}", true,
		true, "missing_key");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"ack\",\"id\":\"r3\","
		"\"key\":\"bad key!\"}",
		true, true, "bad_key");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"feed\",\"id\":\"r4\"}", true,
		true, "unknown_action");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"dance\",\"id\":\"r5\"}",
		true, true, "unknown_action");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"ack\",\"key\":\"a/b\"}",
		true, true, "missing_id");
	refused("{\"type\":\"cmd\",\"service\":\"camera\",\"action\":\"ack\",\"id\":\"r6\"}", true,
		true, WSMSG_REASON_UNKNOWN_SERVICE);
	refused("{\"type\":\"cmd\",\"service\":7,\"action\":\"feed\",\"id\":\"r7\"}", true, true,
		WSMSG_REASON_UNKNOWN_SERVICE);
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"subscribe\",\"id\":\"r8\"}",
		true, true, "missing_subscription");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"subscribe\",\"id\":\"r9\","
		"\"subscription\":\"x\"}",
		true, true, "bad_subscription");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"subscribe\",\"id\":\"r10\","
		"\"subscription\":{\"endpoint\":\"ftp://x\",\"keys\":{\"p256dh\":\"" P256DH
		"\",\"auth\":\"" AUTH "\"}}}",
		true, true, "bad_endpoint");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"subscribe\",\"id\":\"r11\","
		"\"subscription\":{\"endpoint\":\"" ENDPOINT "\",\"keys\":{\"p256dh\":\"a b\","
		"\"auth\":\"" AUTH "\"}}}",
		true, true, "bad_subscription");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"subscribe\",\"id\":\"r12\","
		"\"subscription\":{\"endpoint\":\"" ENDPOINT "\"}}",
		true, true, "bad_subscription");
	refused(
	    "{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"unsubscribe\",\"id\":\"r13\"}",
	    true, true, "missing_endpoint");
	refused("{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"test\",\"id\":\"r14\"}",
		true, true, "missing_to");
}

Test(notify_cmd, feeder_commands_are_unchanged, .timeout = 5)
{
	struct wsmsg_result r =
	    run("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"f1\"}", true, true);
	cr_assert(r.accepted);
	cr_assert_eq(r.target, WSMSG_FEEDER);
	wsmsg_result_free(&r);
	r = run("{\"type\":\"cmd\",\"service\":\"feeder\",\"action\":\"home\",\"id\":\"f2\"}", true,
		true);
	cr_assert(r.accepted);
	cr_assert_eq(r.target, WSMSG_FEEDER);
	wsmsg_result_free(&r);
}

static struct wsmsg_result http_ack(const char *body, bool op, bool up)
{
	struct wsmsg_result r;
	cr_assert_eq(wsmsg_notify_ack(body, strlen(body), op, up, "operator", 99, &r), 0);
	return r;
}

Test(notify_cmd, http_ack_from_the_service_worker, .timeout = 5)
{
	struct wsmsg_result r =
	    http_ack("{\"key\":\"notify/dose_overdue/2026-12-01T15:00\"}", true, true);
	cr_assert(r.accepted, "%s", r.reply);
	cr_assert_eq(r.target, WSMSG_NOTIFY);
	cJSON *j = cJSON_Parse(r.publish);
	cr_assert_str_eq(str(j, "action"), "ack");
	cr_assert_str_eq(str(j, "key"), "notify/dose_overdue/2026-12-01T15:00");
	cr_assert_str_eq(str(j, "by"), "operator");
	cr_assert_eq(cJSON_GetObjectItem(j, "ts")->valuedouble, 99);
	cr_assert_null(cJSON_GetObjectItem(j, "id"));
	cJSON_Delete(j);
	wsmsg_result_free(&r);

	/* Whatever action the body names, this endpoint only acknowledges. */
	r = http_ack("{\"action\":\"test\",\"to\":\"ann\",\"key\":\"a/b\",\"id\":\"sw-1\"}", true,
		     true);
	cr_assert(r.accepted);
	j = cJSON_Parse(r.publish);
	cr_assert_str_eq(str(j, "action"), "ack");
	cr_assert_str_eq(str(j, "id"), "sw-1");
	cr_assert_null(cJSON_GetObjectItem(j, "to"));
	cJSON_Delete(j);
	wsmsg_result_free(&r);

	const struct {
		const char *body;
		bool op, up;
		const char *reason;
	} bad[] = {
	    {"{\"key\":\"a/b\"}", false, true, "not_authorized"},
	    {"{\"key\":\"a/b\"}", true, false, "broker_unavailable"},
	    {"{}", true, true, "missing_key"},
	    {"{\"key\":\"no spaces\"}", true, true, "bad_key"},
	    {"", true, true, "empty_payload"},
	    {"{\"key\":", true, true, "bad_json"},
	    {"[1]", true, true, "not_object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = http_ack(bad[i].body, bad[i].op, bad[i].up);
		cr_assert_not(r.accepted, "%s", bad[i].body);
		cr_assert_null(r.publish);
		cr_assert_str_eq(r.reason, bad[i].reason, "%s", bad[i].body);
		wsmsg_result_free(&r);
	}
}

Test(notify_cmd, proto_encodes_what_it_decodes, .timeout = 5)
{
	const char *in = "{\"action\":\"subscribe\",\"id\":\"s1\",\"by\":\"ann\",\"ts\":7,"
			 "\"subscription\":" SUB "}";
	struct proto_notify_cmd c;
	const char *reason = NULL;
	cr_assert_eq(proto_notify_cmd_decode(in, strlen(in), &c, &reason), 0, "%s", reason);
	cr_assert_eq(c.action, PROTO_NOTIFY_SUBSCRIBE);
	cr_assert_str_eq(c.endpoint, ENDPOINT);
	cr_assert_str_eq(proto_notify_action_name(c.action), "subscribe");
	char *out = proto_notify_cmd_encode(&c);
	cr_assert_not_null(out);
	struct proto_notify_cmd again;
	cr_assert_eq(proto_notify_cmd_decode(out, strlen(out), &again, &reason), 0, "%s", reason);
	cr_assert_str_eq(again.subscription, c.subscription);
	cr_assert_str_eq(again.by, "ann");
	free(out);
	/* No "by": a subscription belongs to someone. */
	const char *noby = "{\"action\":\"unsubscribe\",\"endpoint\":\"" ENDPOINT "\"}";
	cr_assert_eq(proto_notify_cmd_decode(noby, strlen(noby), &c, &reason), -1);
	cr_assert_str_eq(reason, "missing_by");
	cr_assert_eq(proto_notify_cmd_decode("subscribe", 9, &c, &reason), -1);
	cr_assert_str_eq(reason, "missing_subscription");
	cr_assert(c.has_action);
	cr_assert_eq(proto_notify_cmd_decode("unsubscribe", 11, &c, &reason), -1);
	cr_assert_str_eq(reason, "missing_endpoint");
}
