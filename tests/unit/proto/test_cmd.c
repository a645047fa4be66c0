/* feeder/cmd: every accepted form and every refusal, with its reason. */
#include "helpers.h"

#include <stdio.h>

static int decode_n(const char *s, size_t n, struct proto_feeder_cmd *c, const char **reason)
{
	return proto_feeder_cmd_decode(s, n, c, reason);
}

static int decode(const char *s, struct proto_feeder_cmd *c, const char **reason)
{
	return decode_n(s, strlen(s), c, reason);
}

/* The payload is refused with exactly this reason. */
static void expect_reject_n(const char *s, size_t n, const char *want)
{
	struct proto_feeder_cmd c;
	const char *reason = NULL;

	cr_assert_eq(decode_n(s, n, &c, &reason), -1, "accepted: %.80s", s);
	cr_assert_not_null(reason);
	cr_assert_str_eq(reason, want, "payload %.80s", s);
}

static void expect_reject(const char *s, const char *want)
{
	expect_reject_n(s, strlen(s), want);
}

static void expect_action(const char *s, enum proto_action want)
{
	struct proto_feeder_cmd c;
	const char *reason = "unset";

	cr_assert_eq(decode(s, &c, &reason), 0, "refused %s: %s", s, reason);
	cr_assert_eq(c.action, want, "payload %s", s);
	cr_assert(c.has_action);
	cr_assert_str_eq(c.id, "");
	cr_assert_str_eq(c.by, "");
	cr_assert_not(c.has_ts);
}

Test(feeder_cmd, bare_words, .timeout = 10)
{
	expect_action("feed", PROTO_ACTION_FEED);
	expect_action("home", PROTO_ACTION_HOME);
	expect_action("call", PROTO_ACTION_CALL);
}

Test(feeder_cmd, bare_words_with_whitespace, .timeout = 10)
{
	expect_action(" feed", PROTO_ACTION_FEED);
	expect_action("feed\n", PROTO_ACTION_FEED);
	expect_action("\thome\r\n", PROTO_ACTION_HOME);
	expect_action("  call  \n\n", PROTO_ACTION_CALL);
	expect_action("\n\nfeed", PROTO_ACTION_FEED);
}

Test(feeder_cmd, bare_word_not_nul_terminated, .timeout = 10)
{
	const char buf[] = {'h', 'o', 'm', 'e', 'x', 'y'};
	struct proto_feeder_cmd c;
	const char *reason;

	cr_assert_eq(proto_feeder_cmd_decode(buf, 4, &c, &reason), 0);
	cr_assert_eq(c.action, PROTO_ACTION_HOME);
}

Test(feeder_cmd, unknown_bare_words, .timeout = 10)
{
	expect_reject("snack", "unknown_action");
	expect_reject("Feed", "unknown_action");
	expect_reject("FEED", "unknown_action");
	expect_reject("feeder", "unknown_action");
	expect_reject("snapshot\n", "unknown_action");
}

Test(feeder_cmd, other_text_is_bad_json, .timeout = 10)
{
	expect_reject("feed now", "bad_json");
	expect_reject("feed;", "bad_json");
	expect_reject("'feed'", "bad_json");
	expect_reject("{", "bad_json");
	expect_reject("{\"action\":}", "bad_json");
	expect_reject("{\"action\":\"feed\",}", "bad_json");
	expect_reject("{action:\"feed\"}", "bad_json");
	expect_reject("{\"action\":\"feed\"} x", "bad_json");
	expect_reject("{\"action\":\"feed\"}{\"action\":\"feed\"}", "bad_json");
}

Test(feeder_cmd, json_minimal, .timeout = 10)
{
	expect_action("{\"action\":\"feed\"}", PROTO_ACTION_FEED);
	expect_action(" {\"action\" : \"call\"}\n", PROTO_ACTION_CALL);
}

Test(feeder_cmd, json_full, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason;

	cr_assert_eq(
	    decode("{\"action\":\"feed\",\"id\":\"dose-2026.11.26:07\",\"by\":\"operator\","
		   "\"ts\":1764140400123}",
		   &c, &reason),
	    0);
	cr_assert_eq(c.action, PROTO_ACTION_FEED);
	cr_assert_str_eq(c.id, "dose-2026.11.26:07");
	cr_assert_str_eq(c.by, "operator");
	cr_assert(c.has_ts);
	cr_assert_eq(c.ts_ms, 1764140400123LL);
}

Test(feeder_cmd, unknown_members_ignored, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason;

	cr_assert_eq(decode("{\"extra\":[1,{\"a\":null}],\"action\":\"home\",\"id\":\"x1\","
			    "\"note\":\"hi\"}",
			    &c, &reason),
		     0);
	cr_assert_eq(c.action, PROTO_ACTION_HOME);
	cr_assert_str_eq(c.id, "x1");
}

Test(feeder_cmd, null_reason_pointer_allowed, .timeout = 10)
{
	struct proto_feeder_cmd c;

	cr_assert_eq(proto_feeder_cmd_decode("nope", 4, &c, NULL), -1);
	cr_assert_eq(proto_feeder_cmd_decode("feed", 4, &c, NULL), 0);
}

Test(feeder_cmd, action_errors, .timeout = 10)
{
	expect_reject("{}", "missing_action");
	expect_reject("{\"id\":\"a\"}", "missing_action");
	expect_reject("{\"action\":1}", "bad_action");
	expect_reject("{\"action\":null}", "bad_action");
	expect_reject("{\"action\":[\"feed\"]}", "bad_action");
	expect_reject("{\"action\":{\"a\":\"feed\"}}", "bad_action");
	expect_reject("{\"action\":true}", "bad_action");
	expect_reject("{\"action\":\"dispense\"}", "unknown_action");
	expect_reject("{\"action\":\"\"}", "unknown_action");
	expect_reject("{\"action\":\"FEED\"}", "unknown_action");
	expect_reject("{\"action\":\"feed \"}", "unknown_action");
}

Test(feeder_cmd, partial_result_on_failure, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason;

	/* Bad action: the id is still there for the rejected event. */
	cr_assert_eq(decode("{\"id\":\"abc\",\"action\":\"dance\"}", &c, &reason), -1);
	cr_assert_str_eq(reason, "unknown_action");
	cr_assert_str_eq(c.id, "abc");
	cr_assert_not(c.has_action);

	/* Bad ts: id and action both known. */
	cr_assert_eq(decode("{\"id\":\"abc\",\"action\":\"call\",\"ts\":\"now\"}", &c, &reason),
		     -1);
	cr_assert_str_eq(reason, "bad_ts");
	cr_assert_str_eq(c.id, "abc");
	cr_assert(c.has_action);
	cr_assert_eq(c.action, PROTO_ACTION_CALL);

	/* Bad id: nothing of it is kept. */
	cr_assert_eq(decode("{\"id\":\"a b\",\"action\":\"feed\"}", &c, &reason), -1);
	cr_assert_str_eq(reason, "bad_id");
	cr_assert_str_eq(c.id, "");
	cr_assert_not(c.has_action);
}

Test(feeder_cmd, id_rules, .timeout = 10)
{
	char buf[256];
	char id[80];
	struct proto_feeder_cmd c;
	const char *reason;

	memset(id, 'a', 64);
	id[64] = '\0';
	snprintf(buf, sizeof(buf), "{\"action\":\"feed\",\"id\":\"%s\"}", id);
	cr_assert_eq(decode(buf, &c, &reason), 0, "64 chars refused: %s", reason);
	cr_assert_str_eq(c.id, id);

	memset(id, 'a', 65);
	id[65] = '\0';
	snprintf(buf, sizeof(buf), "{\"action\":\"feed\",\"id\":\"%s\"}", id);
	expect_reject(buf, "bad_id");

	cr_assert_eq(decode("{\"action\":\"feed\",\"id\":\"AZaz09._:-\"}", &c, &reason), 0);
	cr_assert_str_eq(c.id, "AZaz09._:-");

	expect_reject("{\"action\":\"feed\",\"id\":\"\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":\"a b\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":\"a/b\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":\"a+b\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":\"a#\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":\"a\\\"b\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":\"caf\xc3\xa9\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":\"a\\nb\"}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":42}", "bad_id");
	expect_reject("{\"action\":\"feed\",\"id\":null}", "bad_id");
}

Test(feeder_cmd, by_rules, .timeout = 10)
{
	char buf[256];
	char by[80];
	struct proto_feeder_cmd c;
	const char *reason;

	memset(by, 'b', 64);
	by[64] = '\0';
	snprintf(buf, sizeof(buf), "{\"action\":\"home\",\"by\":\"%s\"}", by);
	cr_assert_eq(decode(buf, &c, &reason), 0);
	cr_assert_str_eq(c.by, by);

	memset(by, 'b', 65);
	by[65] = '\0';
	snprintf(buf, sizeof(buf), "{\"action\":\"home\",\"by\":\"%s\"}", by);
	expect_reject(buf, "bad_by");

	cr_assert_eq(
	    decode("{\"action\":\"home\",\"by\":\"Jos\xc3\xa9 (vet) <x@y>\"}", &c, &reason), 0);
	cr_assert_str_eq(c.by, "Jos\xc3\xa9 (vet) <x@y>");
	cr_assert_eq(decode("{\"action\":\"home\",\"by\":\"\"}", &c, &reason), 0);
	cr_assert_str_eq(c.by, "");

	expect_reject("{\"action\":\"home\",\"by\":\"a\\nb\"}", "bad_by");
	expect_reject("{\"action\":\"home\",\"by\":\"a\\u0007\"}", "bad_by");
	expect_reject("{\"action\":\"home\",\"by\":\"a\\u007f\"}", "bad_by");
	expect_reject("{\"action\":\"home\",\"by\":\"a\\u0085\"}", "bad_by");
	expect_reject("{\"action\":\"home\",\"by\":\"\\u001b[31m\"}", "bad_by");
	/* Unescaped, a control character inside a string is not JSON at all. */
	expect_reject("{\"action\":\"home\",\"by\":\"\x1b[31m\"}", "bad_json");
	expect_reject("{\"action\":\"home\",\"by\":7}", "bad_by");
	expect_reject("{\"action\":\"home\",\"by\":[]}", "bad_by");
}

Test(feeder_cmd, ts_rules, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason;

	cr_assert_eq(decode("{\"action\":\"feed\",\"ts\":0}", &c, &reason), 0);
	cr_assert(c.has_ts);
	cr_assert_eq(c.ts_ms, 0);
	cr_assert_eq(decode("{\"action\":\"feed\",\"ts\":9007199254740991}", &c, &reason), 0);
	cr_assert_eq(c.ts_ms, 9007199254740991LL);
	cr_assert_eq(decode("{\"action\":\"feed\",\"ts\":1.764e12}", &c, &reason), 0);
	cr_assert_eq(c.ts_ms, 1764000000000LL);

	expect_reject("{\"action\":\"feed\",\"ts\":9007199254740993}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":1e19}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":1e300}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":1e999}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":-1}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":-1e999}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":1764140400123.5}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":0.001}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":\"1764140400123\"}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":null}", "bad_ts");
	expect_reject("{\"action\":\"feed\",\"ts\":true}", "bad_ts");
}

Test(feeder_cmd, duplicate_members, .timeout = 10)
{
	expect_reject("{\"action\":\"home\",\"action\":\"feed\"}", "duplicate_action");
	expect_reject("{\"action\":\"feed\",\"id\":\"a\",\"id\":\"b\"}", "duplicate_id");
	expect_reject("{\"action\":\"feed\",\"ts\":1,\"ts\":2}", "duplicate_ts");
	expect_reject("{\"action\":\"feed\",\"by\":\"a\",\"by\":\"a\"}", "duplicate_by");
}

Test(feeder_cmd, not_object, .timeout = 10)
{
	expect_reject("[]", "not_object");
	expect_reject("[\"feed\"]", "not_object");
	expect_reject("42", "not_object");
	expect_reject("\"feed\"", "not_object");
	expect_reject("true", "not_object");
	expect_reject("null", "not_object");
}

Test(feeder_cmd, empty, .timeout = 10)
{
	expect_reject("", "empty_payload");
	expect_reject(" \n\t\r\n", "empty_payload");
	cr_assert_eq(proto_feeder_cmd_decode(NULL, 0, &(struct proto_feeder_cmd){0}, NULL), -1);
}

Test(feeder_cmd, size_limit, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason;
	char *at_limit = padded_cmd(PROTO_MAX_PAYLOAD);
	char *over = padded_cmd(PROTO_MAX_PAYLOAD + 1);
	char *way_over = padded_cmd(1024 * 1024);

	cr_assert_eq(decode(at_limit, &c, &reason), 0, "16 KiB refused: %s", reason);
	cr_assert_eq(c.action, PROTO_ACTION_FEED);
	expect_reject(over, "too_large");
	expect_reject(way_over, "too_large");
	free(at_limit);
	free(over);
	free(way_over);
}

Test(feeder_cmd, nul_bytes, .timeout = 10)
{
	expect_reject_n("feed\0", 5, "bad_encoding");
	expect_reject_n("\0feed", 5, "bad_encoding");
	expect_reject_n("{\"action\":\"feed\"}\0", 18, "bad_encoding");
	expect_reject_n("{\"action\":\"fe\0ed\"}", 18, "bad_encoding");
	expect_reject_n("{\"action\":\"feed\"}\0{\"x\":1}", 25, "bad_encoding");
	/* A \u0000 escape would silently cut the string in cJSON. */
	expect_reject("{\"action\":\"feed\",\"id\":\"abc\\u0000def\"}", "bad_encoding");
}

Test(feeder_cmd, escaped_backslash_is_not_nul_escape, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason;

	cr_assert_eq(decode("{\"action\":\"feed\",\"by\":\"a\\\\u0000\"}", &c, &reason), 0,
		     "refused: %s", reason);
	cr_assert_str_eq(c.by, "a\\u0000");
}

Test(feeder_cmd, invalid_utf8, .timeout = 10)
{
	expect_reject("{\"action\":\"feed\",\"by\":\"\xff\"}", "bad_encoding");
	expect_reject("{\"action\":\"feed\",\"by\":\"\xc0\xaf\"}", "bad_encoding"); /* overlong */
	expect_reject("{\"action\":\"feed\",\"by\":\"\xed\xa0\x80\"}",
		      "bad_encoding"); /* surrogate */
	expect_reject("{\"action\":\"feed\",\"by\":\"\xf4\x90\x80\x80\"}", "bad_encoding");
	expect_reject("{\"action\":\"feed\",\"by\":\"\xe2\x82\"}", "bad_encoding"); /* truncated */
	expect_reject("feed\xc3", "bad_encoding");
}

Test(feeder_cmd, lone_surrogate_escape, .timeout = 10)
{
	expect_reject("{\"action\":\"feed\",\"by\":\"\\ud800\"}", "bad_json");
}

Test(feeder_cmd, deep_nesting, .timeout = 10)
{
	size_t depth = 4000;
	char *buf = malloc(depth * 2 + 1);
	const char *reason = NULL;
	struct proto_feeder_cmd c;

	memset(buf, '[', depth);
	memset(buf + depth, ']', depth);
	buf[depth * 2] = '\0';
	cr_assert_eq(decode(buf, &c, &reason), -1);
	cr_assert_str_eq(reason, "bad_json"); /* deeper than PJ_JSON_MAX_DEPTH (32) */
	free(buf);
}

Test(feeder_cmd, encode_exact, .timeout = 10)
{
	struct proto_feeder_cmd c = {.action = PROTO_ACTION_FEED};

	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"feed\"}");
	strcpy(c.id, "w-1");
	strcpy(c.by, "operator");
	c.ts_ms = 1764140400123LL;
	c.has_ts = true;
	assert_json(
	    proto_feeder_cmd_encode(&c),
	    "{\"action\":\"feed\",\"id\":\"w-1\",\"by\":\"operator\",\"ts\":1764140400123}");
	c.action = (enum proto_action)9;
	cr_assert_null(proto_feeder_cmd_encode(&c));
}

Test(feeder_cmd, encode_escapes_strings, .timeout = 10)
{
	struct proto_feeder_cmd c = {.action = PROTO_ACTION_HOME};

	strcpy(c.by, "a\"b\\c");
	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"home\",\"by\":\"a\\\"b\\\\c\"}");
}

Test(feeder_cmd, round_trip, .timeout = 10)
{
	static const enum proto_action actions[] = {PROTO_ACTION_FEED, PROTO_ACTION_HOME,
						    PROTO_ACTION_CALL};

	for (size_t i = 0; i < 3; i++) {
		struct proto_feeder_cmd in = {
		    .action = actions[i], .has_ts = i != 1, .ts_ms = 1764140400000LL + (int64_t)i};
		struct proto_feeder_cmd out;
		const char *reason;
		char *text;

		snprintf(in.id, sizeof(in.id), "rt-%zu", i);
		if (i != 2)
			snprintf(in.by, sizeof(in.by), "Jos\xc3\xa9 %zu", i);
		text = proto_feeder_cmd_encode(&in);
		cr_assert_not_null(text);
		cr_assert_eq(proto_feeder_cmd_decode(text, strlen(text), &out, &reason), 0,
			     "%s: %s", text, reason);
		cr_assert_eq(out.action, in.action);
		cr_assert_str_eq(out.id, in.id);
		cr_assert_str_eq(out.by, in.by);
		cr_assert_eq(out.has_ts, in.has_ts);
		cr_assert_eq(out.ts_ms, in.has_ts ? in.ts_ms : 0);
		free(text);
	}
}

Test(feeder_cmd, validators, .timeout = 10)
{
	char id[80];

	memset(id, 'k', 64);
	id[64] = '\0';
	cr_assert(proto_id_valid(id));
	id[64] = 'k';
	id[65] = '\0';
	cr_assert_not(proto_id_valid(id));
	cr_assert(proto_id_valid("a"));
	cr_assert_not(proto_id_valid(""));
	cr_assert_not(proto_id_valid(NULL));
	cr_assert(proto_by_valid(""));
	cr_assert_not(proto_by_valid(NULL));
	cr_assert_not(proto_by_valid("\xff"));
	cr_assert_not(proto_by_valid("tab\there"));
}

Test(feeder_cmd, by_limit_counts_bytes, .timeout = 10)
{
	char buf[256];
	char by[80] = "";
	struct proto_feeder_cmd c;
	const char *reason;

	for (int i = 0; i < 32; i++)
		strcat(by, "\xc3\xa9"); /* 32 x U+00E9 = 64 bytes */
	snprintf(buf, sizeof(buf), "{\"action\":\"call\",\"by\":\"%s\"}", by);
	cr_assert_eq(decode(buf, &c, &reason), 0);
	cr_assert_str_eq(c.by, by);
	strcat(by, "\xc3\xa9");
	snprintf(buf, sizeof(buf), "{\"action\":\"call\",\"by\":\"%s\"}", by);
	expect_reject(buf, "bad_by");
}

Test(feeder_cmd, nul_escape_scan_only_inside_strings, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason;

	/* Escaped quote, then a \\u0000 in a later string: still caught. */
	expect_reject("{\"x\":\"a\\\"b\",\"by\":\"\\u0000\",\"action\":\"feed\"}", "bad_encoding");
	/* Other escapes are fine, including \\u0001-style control characters in
	 * members nobody reads. */
	cr_assert_eq(decode("{\"note\":\"\\u0001\\t\\u00e9\",\"action\":\"feed\"}", &c, &reason),
		     0);
}

/* What Home Assistant sends when Feed / Home / Call is pressed: the buttons'
 * command_template (common/ha.c) rendered at a press. Ids of 25 characters
 * at most ("ha-" action "-" microseconds), ts in ms. */
Test(feeder_cmd, home_assistant_button_press, .timeout = 10)
{
	static const char *const pressed[] = {
	    "{\"action\":\"feed\",\"id\":\"ha-feed-1795660181123456\",\"ts\":1795660181123,"
	    "\"by\":\"homeassistant\"}",
	    "{\"action\":\"home\",\"id\":\"ha-home-1795660181999999\",\"ts\":1795660181999,"
	    "\"by\":\"homeassistant\"}",
	    "{\"action\":\"call\",\"id\":\"ha-call-4102444799999999\",\"ts\":4102444799999,"
	    "\"by\":\"homeassistant\"}",
	};
	static const enum proto_action actions[] = {PROTO_ACTION_FEED, PROTO_ACTION_HOME,
						    PROTO_ACTION_CALL};
	for (size_t i = 0; i < sizeof(pressed) / sizeof(pressed[0]); i++) {
		struct proto_feeder_cmd c;
		const char *reason = NULL;
		cr_assert_eq(decode(pressed[i], &c, &reason), 0, "%s: %s", pressed[i], reason);
		cr_assert_eq(c.action, actions[i]);
		cr_assert(proto_id_valid(c.id), "%s", c.id);
		cr_assert_str_eq(c.by, "homeassistant");
		cr_assert(c.has_ts);
	}
	struct proto_feeder_cmd c;
	cr_assert_eq(decode(pressed[0], &c, NULL), 0);
	cr_assert_str_eq(c.id, "ha-feed-1795660181123456");
	cr_assert_eq(c.ts_ms, 1795660181123);
}

/* The camera's snapshot button sends the same kind of command: the extra
 * members are ignored. */
Test(camera_cmd, home_assistant_button_press, .timeout = 10)
{
	const char *p = "{\"action\":\"snapshot\",\"id\":\"ha-snapshot-1795660181123456\","
			"\"ts\":1795660181123,\"by\":\"homeassistant\"}";
	const char *reason = NULL;
	cr_assert_eq(proto_camera_cmd_decode(p, strlen(p), &reason), 0, "%s", reason);
}
