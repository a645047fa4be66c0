/* Websocket messages: browser -> bridge decoding, bridge -> browser frames. */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

static void expect_ws_reject(const char *text, const char *want, const char *want_id)
{
	struct proto_ws_cmd c;
	const char *reason = NULL;

	cr_assert_eq(proto_ws_cmd_decode(text, strlen(text), &c, &reason), -1, "accepted %s", text);
	cr_assert_str_eq(reason, want, "payload %s", text);
	cr_assert_str_eq(c.id, want_id, "payload %s", text);
}

Test(ws_cmd, decode_good, .timeout = 10)
{
	static const struct {
		const char *text;
		enum proto_action action;
	} cases[] = {
	    {"{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"w-1\"}", PROTO_ACTION_FEED},
	    {"{\"id\":\"w-1\",\"action\":\"home\",\"type\":\"cmd\"}", PROTO_ACTION_HOME},
	    {" {\"type\":\"cmd\",\"action\":\"call\",\"id\":\"w-1\",\"x\":[]}\n",
	     PROTO_ACTION_CALL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_ws_cmd c;
		const char *reason = NULL;

		cr_assert_eq(proto_ws_cmd_decode(cases[i].text, strlen(cases[i].text), &c, &reason),
			     0, "%s: %s", cases[i].text, reason);
		cr_assert_eq(c.action, cases[i].action);
		cr_assert_str_eq(c.id, "w-1");
	}
}

Test(ws_cmd, decode_refusals, .timeout = 10)
{
	expect_ws_reject("{\"type\":\"cmd\",\"action\":\"feed\"}", "missing_id", "");
	expect_ws_reject("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"\"}", "bad_id", "");
	expect_ws_reject("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"a b\"}", "bad_id", "");
	expect_ws_reject("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":7}", "bad_id", "");
	expect_ws_reject("{\"type\":\"cmd\",\"action\":\"dance\",\"id\":\"k9\"}", "unknown_action",
			 "k9");
	expect_ws_reject("{\"type\":\"cmd\",\"id\":\"k9\"}", "missing_action", "k9");
	expect_ws_reject("{\"type\":\"cmd\",\"action\":2,\"id\":\"k9\"}", "bad_action", "k9");
	expect_ws_reject("{\"action\":\"feed\",\"id\":\"k9\"}", "missing_type", "");
	expect_ws_reject("{\"type\":1,\"action\":\"feed\",\"id\":\"k9\"}", "bad_type", "");
	expect_ws_reject("{\"type\":\"command\",\"action\":\"feed\",\"id\":\"k9\"}", "unknown_type",
			 "");
	expect_ws_reject("{\"type\":\"ping\"}", "bad_type", "");
	expect_ws_reject("feed", "bad_json", "");
	expect_ws_reject("[]", "not_object", "");
	expect_ws_reject("", "empty_payload", "");
}

Test(ws_cmd, size_limit_is_4k, .timeout = 10)
{
	char *at = padded_cmd(PROTO_WS_MAX_MSG);
	char *over = padded_cmd(PROTO_WS_MAX_MSG + 1);
	struct proto_ws_cmd c;
	const char *reason = NULL;

	/* At the limit the envelope passes and the missing type is what is wrong. */
	cr_assert_eq(proto_ws_cmd_decode(at, strlen(at), &c, &reason), -1);
	cr_assert_str_eq(reason, "missing_type");
	cr_assert_eq(proto_ws_cmd_decode(over, strlen(over), &c, &reason), -1);
	cr_assert_str_eq(reason, "too_large");
	free(at);
	free(over);
}

Test(ws_msg, ping_and_cmd, .timeout = 10)
{
	enum proto_ws_type type = PROTO_WS_CMD;
	struct proto_ws_cmd c;
	const char *reason = NULL;
	const char *ping = "{\"type\":\"ping\"}";
	const char *cmd = "{\"type\":\"cmd\",\"action\":\"call\",\"id\":\"p\"}";

	cr_assert_eq(proto_ws_msg_decode(ping, strlen(ping), &type, &c, &reason), 0);
	cr_assert_eq(type, PROTO_WS_PING);
	cr_assert_eq(proto_ws_msg_decode(cmd, strlen(cmd), &type, &c, &reason), 0);
	cr_assert_eq(type, PROTO_WS_CMD);
	cr_assert_eq(c.action, PROTO_ACTION_CALL);
	cr_assert_str_eq(c.id, "p");
}

Test(ws_encode, error_frames, .timeout = 10)
{
	assert_json(proto_ws_error_encode("k9", "bad_id"),
		    "{\"type\":\"error\",\"id\":\"k9\",\"reason\":\"bad_id\"}");
	assert_json(proto_ws_error_encode(NULL, "bad_json"),
		    "{\"type\":\"error\",\"reason\":\"bad_json\"}");
	assert_json(proto_ws_error_encode("", PROTO_REASON_NOT_AUTHORIZED),
		    "{\"type\":\"error\",\"reason\":\"not_authorized\"}");
	cr_assert_null(proto_ws_error_encode("x", NULL));
}

Test(ws_encode, small_frames, .timeout = 10)
{
	assert_json(proto_ws_hello_encode("home", true, "0.1.0", 1764140400123LL),
		    "{\"type\":\"hello\",\"site\":\"home\",\"operator\":true,\"version\":\"0.1.0\","
		    "\"ts\":1764140400123}");
	assert_json(
	    proto_ws_hello_encode("home", false, "0.1.0", 1),
	    "{\"type\":\"hello\",\"site\":\"home\",\"operator\":false,\"version\":\"0.1.0\","
	    "\"ts\":1}");
	assert_json(proto_ws_ack_encode("w-1"), "{\"type\":\"ack\",\"id\":\"w-1\"}");
	assert_json(proto_ws_pong_encode(1764140400123LL),
		    "{\"type\":\"pong\",\"ts\":1764140400123}");
	assert_json(proto_ws_ready_encode(), "{\"type\":\"ready\"}");
}

static void expect_message(const char *payload, size_t len, const char *want_payload_json)
{
	char want[1024];

	snprintf(want, sizeof(want), "{\"topic\":\"iod/home/x\",\"payload\":%s,\"ts\":7}",
		 want_payload_json);
	assert_json(proto_ws_message_encode("iod/home/x", payload, len, 7), want);
}

Test(ws_encode, message_json_payload_embedded, .timeout = 10)
{
	const char *reading = "{\"value\":21.5,\"unit\":\"\xc2\xb0"
			      "C\",\"ts\":1764140400123}";

	expect_message(reading, strlen(reading), reading);
	expect_message(" {\"a\": [1, 2]}\n", 15, "{\"a\": [1, 2]}");
	expect_message("42", 2, "42");
	expect_message("null", 4, "null");
	expect_message("\"quoted\"", 8, "\"quoted\"");
	/* 17 significant digits survive: the payload is not re-printed. */
	expect_message("{\"ts\":12345678901234567}", 24, "{\"ts\":12345678901234567}");
}

Test(ws_encode, message_text_payload_as_string, .timeout = 10)
{
	expect_message("online", 6, "\"online\"");
	expect_message("offline\n", 8, "\"offline\\n\"");
	expect_message("", 0, "\"\"");
	expect_message("{\"broken\":", 10, "\"{\\\"broken\\\":\"");
	expect_message("tab\there", 8, "\"tab\\there\"");
}

Test(ws_encode, message_invalid_bytes_replaced, .timeout = 10)
{
	/* NUL and invalid UTF-8 become U+FFFD; valid multibyte text is kept. */
	expect_message("a\xff"
		       "b\0c",
		       5,
		       "\"a\xef\xbf\xbd"
		       "b\xef\xbf\xbd"
		       "c\"");
	expect_message("\xc3\xa9\xe2\x82", 4, "\"\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\"");
	expect_message("{\"a\":\"\xff\"}", 9, "\"{\\\"a\\\":\\\"\xef\xbf\xbd\\\"}\"");
}

Test(ws_encode, message_parses_back, .timeout = 10)
{
	const char *alert =
	    "{\"source\":\"feeder\",\"level\":\"critical\",\"code\":\"missed_dose\","
	    "\"message\":\"m\",\"ts\":1}";
	char *text = proto_ws_message_encode("iod/home/alert", alert, strlen(alert), 99);
	cJSON *root, *payload;

	cr_assert_not_null(text);
	root = cJSON_Parse(text);
	cr_assert_not_null(root);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "topic")->valuestring,
			 "iod/home/alert");
	payload = cJSON_GetObjectItemCaseSensitive(root, "payload");
	cr_assert(cJSON_IsObject(payload));
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(payload, "code")->valuestring,
			 "missed_dose");
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(root, "ts")->valuedouble, 99);
	cJSON_Delete(root);
	free(text);
}

Test(ws_encode, history, .timeout = 10)
{
	const int64_t ts[3] = {1764140400000LL, 1764140410000LL, 1764140420000LL};
	const double v[3] = {21.5, NAN, 22};

	assert_json(proto_ws_history_encode("iod/home/sensors/temperature", ts, v, 3),
		    "{\"type\":\"history\",\"topic\":\"iod/home/sensors/temperature\",\"points\":"
		    "[[1764140400000,21.5],[1764140410000,null],[1764140420000,22]]}");
	assert_json(proto_ws_history_encode("iod/home/sensors/motion", NULL, NULL, 0),
		    "{\"type\":\"history\",\"topic\":\"iod/home/sensors/motion\",\"points\":[]}");
	cr_assert_null(proto_ws_history_encode("t", NULL, NULL, 2));
}

Test(ws_encode, message_any_size, .timeout = 10)
{
	size_t n = 100 * 1024;
	char *big = malloc(n);
	char *text;

	memset(big, 'z', n);
	big[0] = '"';
	big[n - 1] = '"';
	text = proto_ws_message_encode("iod/home/x", big, n, 1);
	cr_assert_not_null(text);
	cr_assert_eq(strlen(text), n + strlen("{\"topic\":\"iod/home/x\",\"payload\":,\"ts\":1}"));
	free(text);
	free(big);
}
