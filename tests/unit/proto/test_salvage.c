/*
 * proto_cmd_salvage(): what a refusal can still name of a command, for
 * every kind of garbage its contract lists, and never more than strict JSON
 * says. Payloads are exact-size heap copies (not NUL-terminated) so ASan sees
 * any read past the end.
 */
#include "helpers.h"

#include <stdio.h>

static struct proto_cmd_salvage salvage_n(const char *text, size_t len)
{
	struct proto_cmd_salvage sv;
	char *p = malloc(len ? len : 1);

	memcpy(p, text, len);
	memset(&sv, 0xa5, sizeof(sv)); /* zeroed by the call, whatever was there */
	proto_cmd_salvage(p, len, &sv);
	free(p);
	return sv;
}

static struct proto_cmd_salvage salvage(const char *text)
{
	return salvage_n(text, strlen(text));
}

/* Exactly this id ("" for none) and this action (NULL for none). */
static void expect(const char *text, size_t len, const char *id, const char *action)
{
	struct proto_cmd_salvage sv = salvage_n(text, len);

	cr_assert_str_eq(sv.id, id, "id of %.*s", (int)len, text);
	if (action == NULL) {
		cr_assert(!sv.has_action, "an action read from %.*s", (int)len, text);
		cr_assert_eq(sv.action, 0, "action not zeroed for %.*s", (int)len, text);
	} else {
		cr_assert(sv.has_action, "no action read from %.*s", (int)len, text);
		cr_assert_str_eq(proto_action_name(sv.action), action, "action of %.*s", (int)len,
				 text);
	}
}

static void expect_s(const char *text, const char *id, const char *action)
{
	expect(text, strlen(text), id, action);
}

Test(salvage, nothing_from_an_envelope_the_decoders_refuse, .timeout = 10)
{
	struct proto_cmd_salvage sv;
	char *big = padded_cmd(PROTO_MAX_PAYLOAD + 1);

	memset(&sv, 0xa5, sizeof(sv));
	proto_cmd_salvage(NULL, 0, &sv);
	cr_assert_str_eq(sv.id, "");
	cr_assert(!sv.has_action);
	expect("", 0, "", NULL);
	expect_s(" \t\r\n", "", NULL);
	/* over PROTO_MAX_PAYLOAD: too_large, so not read, though it names an action */
	expect_s(big, "", NULL);
	free(big);
	big = padded_cmd(PROTO_MAX_PAYLOAD);
	expect_s(big, "", "feed");
	free(big);
	/* a NUL byte, invalid UTF-8 (elsewhere in the payload), a \u0000 escape */
	expect("{\"id\":\"n-1\",\"action\":\"feed\"}\0", 29, "", NULL);
	expect_s("{\"id\":\"n-1\",\"action\":\"feed\",\"by\":\"\xc0\xaf\"}", "", NULL);
	expect_s("{\"id\":\"n-1\",\"action\":\"feed\",\"by\":\"a\\u0000\"}", "", NULL);
}

Test(salvage, bare_words_give_an_action_and_never_an_id, .timeout = 10)
{
	expect_s("feed", "", "feed");
	expect_s("  home\n", "", "home");
	expect_s("call", "", "call");
	expect_s("dance", "", NULL);
	expect_s("Feed", "", NULL); /* case matters, as in the decoder */
	expect_s("snapshot", "", NULL);
	expect_s("null", "", NULL); /* JSON, not a word, and not an object */
}

Test(salvage, nothing_from_what_is_not_strict_json, .timeout = 10)
{
	/* cJSON alone would parse each of these and hand out the id. */
	expect_s("{\"id\":\"lax-1\",\"action\":\"feed\",\"ts\":01}", "", NULL);
	expect_s("\x0b{\"id\":\"lax-2\",\"action\":\"feed\"}", "", NULL);
	expect_s("{\"id\":\"lax-3\",\"action\":\"feed\",\"by\":\"a\tb\"}", "", NULL);
	expect_s("\xef\xbb\xbf{\"id\":\"lax-4\",\"action\":\"feed\"}", "", NULL);
	expect_s("{\"id\":\"lax-5\",\"action\":\"feed\"", "", NULL);
	expect_s("{\"id\":\"lax-6\",\"action\":\"feed\"} x", "", NULL);
	expect_s("feed now", "", NULL);
	/* JSON, but not an object */
	expect_s("[{\"id\":\"arr-1\",\"action\":\"feed\"}]", "", NULL);
	expect_s("\"feed\"", "", NULL);
	expect_s("42", "", NULL);
}

Test(salvage, only_an_id_that_would_itself_be_valid, .timeout = 10)
{
	char buf[160];

	expect_s("{\"id\":\"ok-1\",\"action\":\"feed\"}", "ok-1", "feed");
	expect_s("{\"action\":\"feed\"}", "", "feed");
	expect_s("{\"id\":42,\"action\":\"feed\"}", "", "feed");
	expect_s("{\"id\":null,\"action\":\"feed\"}", "", "feed");
	expect_s("{\"id\":[\"a\"],\"action\":\"feed\"}", "", "feed");
	expect_s("{\"id\":\"\",\"action\":\"feed\"}", "", "feed");
	expect_s("{\"id\":\"has space\",\"action\":\"feed\"}", "", "feed");
	expect_s("{\"id\":\"caf\xc3\xa9\",\"action\":\"feed\"}", "", "feed");
	/* given twice: which one would be a guess */
	expect_s("{\"id\":\"d-1\",\"id\":\"d-2\",\"action\":\"feed\"}", "", "feed");
	expect_s("{\"id\":\"d-1\",\"action\":\"feed\",\"action\":\"home\"}", "d-1", NULL);
	/* 64 characters is the longest id, 65 is refused */
	snprintf(buf, sizeof(buf), "{\"id\":\"%064d\",\"action\":\"feed\"}", 7);
	expect_s(buf, "0000000000000000000000000000000000000000000000000000000000000007", "feed");
	snprintf(buf, sizeof(buf), "{\"id\":\"%065d\",\"action\":\"feed\"}", 7);
	expect_s(buf, "", "feed");
	/* an escaped id is the string it stands for */
	expect_s("{\"id\":\"e\\u002d1\",\"action\":\"feed\"}", "e-1", "feed");
}

Test(salvage, each_member_on_its_own, .timeout = 10)
{
	/* What the decoder's partial output loses: it stops at the bad id... */
	struct proto_feeder_cmd cmd;
	const char *text = "{\"id\":\"bad id\",\"action\":\"home\"}";

	cr_assert_eq(proto_feeder_cmd_decode(text, strlen(text), &cmd, NULL), -1);
	cr_assert(!cmd.has_action);
	expect_s(text, "", "home");
	/* ...and, for the websocket, at "type", before id and action. */
	expect_s("{\"type\":\"nope\",\"id\":\"w-1\",\"action\":\"call\"}", "w-1", "call");
	expect_s("{\"id\":\"w-2\",\"action\":\"feed\"}", "w-2", "feed");
	/* Other bad members hide neither. */
	expect_s("{\"id\":\"t-1\",\"action\":\"feed\",\"ts\":\"now\"}", "t-1", "feed");
	expect_s("{\"id\":\"t-2\",\"action\":\"feed\",\"ts\":-1,\"by\":7}", "t-2", "feed");
	expect_s("{\"id\":\"t-3\",\"action\":\"dance\"}", "t-3", NULL);
	expect_s("{\"id\":\"t-4\",\"action\":7}", "t-4", NULL);
	expect_s("{\"id\":\"t-5\"}", "t-5", NULL);
	expect_s("{}", "", NULL);
	/* Nested members are not the command's. */
	expect_s("{\"x\":{\"id\":\"in-1\",\"action\":\"feed\"}}", "", NULL);
}

Test(salvage, agrees_with_the_decoder_on_what_it_accepts, .timeout = 10)
{
	static const char *const good[] = {
	    "feed",
	    " call ",
	    "{\"action\":\"feed\",\"id\":\"a-1\",\"by\":\"operator\",\"ts\":1764140400123}",
	    "{\"action\":\"home\"}",
	    "{\"action\":\"call\",\"id\":\"ha-call-1795660181123456\",\"ts\":1795660181123,"
	    "\"by\":\"homeassistant\"}",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct proto_feeder_cmd cmd;
		struct proto_cmd_salvage sv = salvage(good[i]);

		cr_assert_eq(proto_feeder_cmd_decode(good[i], strlen(good[i]), &cmd, NULL), 0);
		cr_assert_str_eq(sv.id, cmd.id, "%s", good[i]);
		cr_assert(sv.has_action, "%s", good[i]);
		cr_assert_eq(sv.action, cmd.action, "%s", good[i]);
	}
}
