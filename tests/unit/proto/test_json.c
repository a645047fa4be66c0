/*
 * Strict JSON: every decoder refuses what RFC 8259 does not call JSON with
 * `bad_json` (cJSON alone accepts \x0b as whitespace, a BOM, 00, 1., raw
 * control characters in strings...), and still accepts every valid payload,
 * including each example in proto/README.md. Payloads are exact-size heap
 * copies (not NUL-terminated) so ASan sees any read past the end.
 */
#include "helpers.h"

#include <stdio.h>

/* Run one payload through one decoder: 0 or -1 with *reason. */
enum decoder {
	D_CMD,
	D_EVENT,
	D_STATE,
	D_LOG,
	D_ALERT,
	D_READING,
	D_MOTION,
	D_CAMERA_CMD,
	D_WS,
	D_PLAN,
	D_SCHEDULE,
	D_COUNT
};

static const char *const decoder_names[] = {
    "feeder_cmd", "feeder_event", "feeder_state", "feeder_log", "alert",   "reading",
    "motion",	  "camera_cmd",	  "ws_msg",	  "plan",	"schedule"};

static int run(enum decoder d, const char *text, size_t len, const char **reason)
{
	char *p = malloc(len ? len : 1);
	struct proto_dose doses[4];
	size_t n;
	enum proto_ws_type type;
	int rc = -1;

	memcpy(p, text, len);
	*reason = NULL;
	switch (d) {
	case D_CMD:
		rc = proto_feeder_cmd_decode(p, len, &(struct proto_feeder_cmd){0}, reason);
		break;
	case D_EVENT:
		rc = proto_feeder_event_decode(p, len, &(struct proto_feeder_event){0}, reason);
		break;
	case D_STATE:
		rc = proto_feeder_state_decode(p, len, &(struct proto_feeder_state){0}, reason);
		break;
	case D_LOG:
		rc = proto_feeder_log_decode(p, len, doses, 4, &n, reason);
		break;
	case D_ALERT:
		rc = proto_alert_decode(p, len, &(struct proto_alert){0}, reason);
		break;
	case D_READING:
		rc = proto_reading_decode(p, len, &(struct proto_reading){0}, reason);
		break;
	case D_MOTION:
		rc = proto_motion_decode(p, len, &(struct proto_motion){0}, reason);
		break;
	case D_CAMERA_CMD:
		rc = proto_camera_cmd_decode(p, len, reason);
		break;
	case D_WS:
		rc = proto_ws_msg_decode(p, len, &type, &(struct proto_ws_cmd){0}, reason);
		break;
	case D_PLAN:
		rc = proto_plan_decode(p, len, &(struct proto_plan){0}, reason);
		break;
	case D_SCHEDULE: {
		static struct proto_schedule sched; /* 8 KiB: not on a test thread's stack */

		rc = proto_schedule_decode(p, len, &sched, reason);
		break;
	}
	default:
		break;
	}
	free(p);
	return rc;
}

/* Every decoder refuses it, with exactly `bad_json`. */
static void all_bad_json_n(const char *text, size_t len)
{
	for (int d = 0; d < D_COUNT; d++) {
		const char *reason;
		int rc = run((enum decoder)d, text, len, &reason);

		cr_assert_eq(rc, -1, "%s accepted %.*s", decoder_names[d], (int)len, text);
		cr_assert_str_eq(reason, "bad_json", "%s on %.*s", decoder_names[d], (int)len,
				 text);
	}
}

static void all_bad_json(const char *text)
{
	all_bad_json_n(text, strlen(text));
}

/* One decoder accepts it. */
static void accepted(enum decoder d, const char *text)
{
	const char *reason;

	cr_assert_eq(run(d, text, strlen(text), &reason), 0, "%s refused %s: %s", decoder_names[d],
		     text, reason ? reason : "?");
}

/* A feed command with member "x" set to the given JSON text. */
static void feed_with_x(char *buf, size_t cap, const char *x)
{
	int n = snprintf(buf, cap, "{\"action\":\"feed\",\"id\":\"m\",\"x\":%s}", x);

	cr_assert(n > 0 && (size_t)n < cap);
}

Test(json_strict, issue_examples_are_bad_json, .timeout = 30)
{
	/* The fuzzer's findings (issue 9), each a feed cJSON alone accepted. */
	all_bad_json("{\"action\":\"feed\",\x14 \"id\":\"m\"}");
	all_bad_json("\xef\xbb\xbf{\"action\":\"feed\",\"id\":\"m\"}"); /* UTF-8 BOM */
	all_bad_json("\x0b{\"action\":\"feed\",\"id\":\"m\"}\x0b");
	all_bad_json("{\"action\":\"feed\",\"id\":\"m\",\"ts\":00}");
	all_bad_json("{\"action\":\"feed\",\"id\":\"m\",\"ts\":1.}");
}

Test(json_strict, only_four_whitespace_bytes, .timeout = 30)
{
	static const char *const others[] = {"\x01",
					     "\x08",
					     "\x0b",
					     "\x0c",
					     "\x1f",
					     "\x7f",
					     "\xc2\xa0" /* U+00A0 */,
					     "\xe2\x80\x83" /* U+2003 */,
					     "\xef\xbb\xbf"};
	char buf[128];

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const char *w = others[i];

		snprintf(buf, sizeof(buf), "%s{\"action\":\"feed\"}", w);
		all_bad_json(buf);
		snprintf(buf, sizeof(buf), "{\"action\":\"feed\"}%s", w);
		all_bad_json(buf);
		snprintf(buf, sizeof(buf), "{%s\"action\":\"feed\"}", w);
		all_bad_json(buf);
		snprintf(buf, sizeof(buf), "{\"action\"%s:\"feed\"}", w);
		all_bad_json(buf);
		snprintf(buf, sizeof(buf), "{\"action\":%s\"feed\"}", w);
		all_bad_json(buf);
		snprintf(buf, sizeof(buf), "{\"action\":\"feed\",\"x\":[1,%s2]}", w);
		all_bad_json(buf);
	}
}

Test(json_strict, numbers, .timeout = 30)
{
	static const char *const bad[] = {
	    "00",   "01",  "-01", "000.5", "1.",  "-1.", "1.e5", ".5",	 "-.5",	 "+1",
	    "-",    "--1", "1e",  "1E",	   "1e+", "1e-", "1.5e", "0x10", "1_0",	 "Infinity",
	    "-Inf", "NaN", "nan", "1e5.3", "1 2", "1-2", "0.",	 "- 1",	 "1.5.", "01e5"};
	char buf[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		feed_with_x(buf, sizeof(buf), bad[i]);
		all_bad_json(buf);
	}
	/* ts itself: what cJSON read as an integer. */
	all_bad_json("{\"action\":\"feed\",\"ts\":01764140400123}");
	all_bad_json("{\"action\":\"feed\",\"ts\":-0.}");
	all_bad_json("{\"action\":\"feed\",\"ts\":1764140400123.}");
}

Test(json_strict, strings, .timeout = 30)
{
	static const char *const bad[] = {
	    "\"a\tb\"",		  /* raw tab */
	    "\"a\nb\"",		  /* raw newline */
	    "\"a\x01\"",	  /* raw control character */
	    "\"a\x1f\"",	  /* raw control character */
	    "\"\\x41\"",	  /* no such escape */
	    "\"\\'\"",		  /* no such escape */
	    "\"\\a\"",		  /* no such escape */
	    "\"\\U0041\"",	  /* upper-case u */
	    "\"\\u12\"",	  /* short \u */
	    "\"\\u12g4\"",	  /* not hex */
	    "\"\\ud800\"",	  /* lone high surrogate */
	    "\"\\udbff\"",	  /* lone high surrogate */
	    "\"\\udc00\"",	  /* lone low surrogate */
	    "\"\\udfff\\ud800\"", /* pair in the wrong order */
	    "\"\\ud800\\u0041\"", /* high surrogate + not a low one */
	    "\"\\ud800x\"",	  /* high surrogate + text */
	    "\"\\ud800\\ud800\"", /* two highs */
	    "\"abc",		  /* unterminated */
	    "'abc'",		  /* single quotes */
	    "\"\\\"",		  /* the quote is escaped: unterminated */
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		feed_with_x(buf, sizeof(buf), bad[i]);
		all_bad_json(buf);
	}
	/* A raw control character in a known member is bad_json too, not bad_by. */
	all_bad_json("{\"action\":\"feed\",\"by\":\"a\x7f\x01\"}");
	/* Member names are strings with the same rules. */
	all_bad_json("{\"action\":\"feed\",\"a\tb\":1}");
	all_bad_json("{\"action\":\"feed\",\"\\ud800\":1}");
	all_bad_json("{action:\"feed\"}");
}

Test(json_strict, structure, .timeout = 30)
{
	static const char *const bad[] = {
	    "{\"action\":\"feed\",}",
	    "{\"action\":\"feed\",\"x\":[1,]}",
	    "{\"action\":\"feed\",\"x\":[,1]}",
	    "{\"action\":\"feed\",\"x\":[1 2]}",
	    "{\"action\":\"feed\",\"x\":{,}}",
	    "{\"action\":\"feed\",\"x\":{\"a\"}}",
	    "{\"action\":\"feed\",\"x\":{\"a\":}}",
	    "{\"action\":\"feed\",\"x\":{\"a\" 1}}",
	    "{\"action\":\"feed\",\"x\":{1:2}}",
	    "{\"action\":\"feed\"\"id\":\"m\"}",
	    "{\"action\":\"feed\",,\"id\":\"m\"}",
	    "{\"action\":\"feed\",\"x\":[}",
	    "{\"action\":\"feed\",\"x\":{]}",
	    "{\"action\":\"feed\",\"x\":True}",
	    "{\"action\":\"feed\",\"x\":nul}",
	    "{\"action\":\"feed\",\"x\":truee}",
	    "{\"action\":\"feed\",\"x\":undefined}",
	    "{\"action\":\"feed\"",
	    "{\"action\":\"feed\"}}",
	    "{\"action\":\"feed\"} x",
	    "{\"action\":\"feed\"}{}",
	    "{\"action\":\"feed\"},",
	    "{\"action\":\"feed\"}\"\"",
	    "{\"action\":\"feed\"}0",
	    "{\"action\":\"feed\"} // comment",
	    "/* c */ {\"action\":\"feed\"}",
	    "{\"action\":\"feed\",\"x\":1,} ",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		all_bad_json(bad[i]);
}

/* {"action":"feed","x": + depth-1 arrays + "}": depth levels in all. */
static char *nested(size_t depth)
{
	const char *head = "{\"action\":\"feed\",\"x\":";
	size_t h = strlen(head), inner = depth - 1;
	char *buf = malloc(h + inner * 2 + 2);

	memcpy(buf, head, h);
	memset(buf + h, '[', inner);
	memset(buf + h + inner, ']', inner);
	buf[h + inner * 2] = '}';
	buf[h + inner * 2 + 1] = '\0';
	return buf;
}

Test(json_strict, nesting_depth_bounded, .timeout = 30)
{
	char *ok = nested(32), *deep = nested(33), *far = nested(900);

	accepted(D_CMD, ok);
	all_bad_json(deep);
	all_bad_json(far); /* well inside cJSON's own limit of 1000 */
	free(ok);
	free(deep);
	free(far);
}

Test(json_strict, encoding_still_checked_first, .timeout = 30)
{
	struct proto_feeder_cmd c;
	const char *reason = NULL;

	/* NUL bytes and invalid UTF-8 keep their own, earlier reason. */
	cr_assert_eq(proto_feeder_cmd_decode("{\"action\":\"feed\"}\0", 18, &c, &reason), -1);
	cr_assert_str_eq(reason, "bad_encoding");
	cr_assert_eq(
	    proto_feeder_cmd_decode("{\"action\":\"feed\",\"x\":\"\xc0\xaf\"}", 26, &c, &reason),
	    -1); /* overlong '/' */
	cr_assert_str_eq(reason, "bad_encoding");
	cr_assert_eq(proto_feeder_cmd_decode("{\"action\":\"feed\",\"x\":\"\xed\xa0\x80\"}", 27, &c,
					     &reason),
		     -1); /* an encoded surrogate */
	cr_assert_str_eq(reason, "bad_encoding");
}

Test(json_strict, valid_json_accepted, .timeout = 30)
{
	static const char *const good[] = {
	    "0",
	    "-0",
	    "1",
	    "-1",
	    "10",
	    "0.5",
	    "-0.5",
	    "1e5",
	    "1E5",
	    "1e+5",
	    "1E-5",
	    "-1.25e-10",
	    "0e0",
	    "9007199254740993",
	    "1e400",
	    "true",
	    "false",
	    "null",
	    "\"\"",
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	    "\"\\u0041\\u00e9\\u20AC\\uFFFF\"",
	    "\"\\ud83d\\udc36\"", /* U+1F436 as a surrogate pair */
	    "\"\\uDBFF\\uDFFF\"", /* U+10FFFF */
	    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xb6\"",
	    "\"\x7f\"",		/* DEL is not a control character to JSON */
	    "\"\xef\xbb\xbf\"", /* a BOM inside a string is text */
	    "[]",
	    "{}",
	    "[1,[2,{\"a\":null,\"b\":[true,false]}],\"s\"]",
	    " \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ \"a\" \t\r\n: \t\r\n2 } ] \t\r\n",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		feed_with_x(buf, sizeof(buf), good[i]);
		accepted(D_CMD, buf);
	}
	accepted(D_CMD, " \t\r\n{ \"action\" : \"feed\" , \"ts\" : 1764140400123 } \t\r\n");
	accepted(D_CMD, "{\"action\":\"feed\",\"ts\":1764140400123.0}");
	accepted(D_CMD, "{\"action\":\"feed\",\"ts\":1.764140400123e12}");
}

Test(json_strict, readme_examples_accepted, .timeout = 30)
{
	/* Every JSON example in proto/README.md, by the decoder for its topic. */
	accepted(D_CMD, "{\"action\":\"feed\",\"id\":\"evening-2026-11-26\",\"by\":\"vet\","
			"\"ts\":1764140400123}");
	accepted(D_CMD, "{\"action\":\"feed\",\"id\":\"ha-feed-1795660181123456\","
			"\"ts\":1795660181123,\"by\":\"homeassistant\"}");
	accepted(D_CMD, "feed");
	accepted(D_CMD, "home");
	accepted(D_CMD, "call");
	accepted(D_EVENT, "{\"id\":\"evening-2026-11-26\",\"action\":\"feed\",\"result\":\"ok\","
			  "\"ts\":1764140400123}");
	accepted(D_EVENT, "{\"id\":\"f-9\",\"action\":\"feed\",\"result\":\"rejected\","
			  "\"reason\":\"too_soon\",\"ts\":1764140460000}");
	accepted(D_EVENT, "{\"id\":\"evening-2026-11-26\",\"action\":\"verify\",\"result\":"
			  "\"ok\",\"delta_g\":0.4,\"ts\":1764140404123}");
	accepted(D_EVENT, "{\"id\":\"plan-1764140500\",\"action\":\"plan\",\"result\":\"ok\","
			  "\"rev\":4,\"ts\":1764140500000}");
	accepted(D_EVENT, "{\"id\":\"plan-7\",\"action\":\"plan\",\"result\":\"rejected\","
			  "\"reason\":\"bad_plan\",\"detail\":\"slots[2].at: '25:00' is not HH:MM "
			  "(00:00..23:59)\",\"ts\":1764140500000}");
	accepted(D_STATE, "{\"position\":\"home\",\"last_dose\":1764118800000,"
			  "\"next_allowed\":1764140400000,\"next_scheduled\":1764169200000,"
			  "\"doses_today\":1,\"pills_remaining\":41,\"runs_out\":1765900800000,"
			  "\"clock_synced\":true}");
	accepted(D_LOG, "{\"doses\":[{\"id\":\"evening-2026-11-26\",\"ts\":1764140400123,"
			"\"by\":\"operator\",\"source\":\"manual\",\"result\":\"ok\","
			"\"verified\":true}]}");
	accepted(D_PLAN,
		 "{\"rev\":3,\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":true},"
		 "{\"at\":\"19:00\",\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
		 "\"enabled\":true}],\"min_interval_s\":21600,\"max_daily\":3,\"grace_s\":3600,"
		 "\"paused\":false,\"paused_until\":null,\"treat\":{\"max_daily\":10,"
		 "\"min_interval_s\":300},\"pills\":{\"remaining\":42,\"low_days\":5},"
		 "\"bounds\":{\"min_interval_s\":14400,\"max_daily\":4},\"changed_by\":"
		 "\"operator\",\"changed_at\":1764140400123}");
	accepted(D_SCHEDULE,
		 "{\"date\":\"2026-12-01\",\"slots\":[{\"slot\":\"2026-12-01T07:00\",\"at\":"
		 "1796108400000,\"status\":\"given\",\"dose\":\"schedule-2026-12-01T07:00\"},"
		 "{\"slot\":\"2026-12-01T19:00\",\"at\":1796151600000,\"status\":\"pending\","
		 "\"dose\":null},{\"slot\":\"2026-12-02T07:00\",\"at\":1796194800000,"
		 "\"status\":\"pending\",\"dose\":null}],\"ts\":1796108404000}");
	/* the care plan's commands (the shell's $(date ...) filled in) */
	accepted(D_CMD, "{\"action\":\"plan\",\"id\":\"plan-1764140500\",\"by\":\"vet\","
			"\"plan\":{\"rev\":3,\"slots\":[{\"at\":\"08:00\",\"days\":\"daily\"},"
			"{\"at\":\"20:00\",\"days\":\"daily\"}],\"min_interval_s\":28800}}");
	accepted(D_CMD, "skip");
	accepted(D_CMD, "{\"action\":\"skip\",\"id\":\"skip-1\",\"slot\":\"2026-12-01T19:00\"}");
	accepted(D_CMD, "{\"action\":\"pause\",\"id\":\"vet-visit\",\"until\":1796206400000}");
	accepted(D_CMD, "pause");
	accepted(D_CMD, "resume");
	accepted(D_CMD, "treat");
	accepted(D_CMD, "{\"action\":\"refill\",\"id\":\"refill-1\",\"by\":\"ann\","
			"\"pills\":60}");
	accepted(D_READING, "{\"value\":21.5,\"unit\":\"\xc2\xb0"
			    "C\",\"ts\":1764140400123}");
	accepted(D_READING, "{\"value\":1,\"unit\":\"\",\"ts\":1764140401000}");
	accepted(D_MOTION, "{\"score\":0.042,\"active\":true,\"ts\":1764140400123}");
	accepted(D_MOTION, "{\"score\":0.001,\"active\":false,\"ts\":1764140412523}");
	accepted(D_CAMERA_CMD, "snapshot");
	accepted(D_CAMERA_CMD, "{\"action\":\"snapshot\"}");
	accepted(D_ALERT, "{\"source\":\"feeder\",\"level\":\"critical\",\"code\":"
			  "\"journal_unavailable\",\"message\":\"journal write failed: Read-only "
			  "file system\",\"ts\":1764140400123}");
	accepted(D_WS, "{\"type\":\"cmd\",\"action\":\"home\",\"id\":\"ws-1\"}");
	accepted(D_WS, "{\"type\":\"ping\"}");
}

/* The decoder for a topic of proto/README.md's examples, or -1 (no decoder:
 * info, availability, Home Assistant's). */
static int decoder_for(const char *topic)
{
	static const struct {
		const char *leaf;
		enum decoder d;
	} map[] = {
	    {"feeder/cmd", D_CMD}, {"feeder/event", D_EVENT},	{"feeder/state", D_STATE},
	    {"feeder/log", D_LOG}, {"feeder/plan", D_PLAN},	{"feeder/schedule", D_SCHEDULE},
	    {"alert", D_ALERT},	   {"camera/motion", D_MOTION}, {"camera/cmd", D_CAMERA_CMD}};
	size_t n = strlen("iod/home/");

	if (strncmp(topic, "iod/home/", n) != 0)
		return -1;
	topic += n;
	if (strncmp(topic, "sensors/", 8) == 0 && strchr(topic + 8, '/') == NULL)
		return D_READING;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].leaf, topic) == 0)
			return (int)map[i].d;
	}
	return -1;
}

/* The word after flag (" -t ", " -m ") in line: quoted with '...', or up to
 * the next space; NULL when absent or double-quoted (shell expansions). */
static const char *shell_arg(const char *line, const char *flag, char *buf, size_t cap)
{
	const char *p = strstr(line, flag), *end;

	if (p == NULL)
		return NULL;
	p += strlen(flag);
	if (*p == '"')
		return NULL;
	if (*p == '\'') {
		p++;
		end = strchr(p, '\'');
	} else {
		end = p + strcspn(p, " \n");
	}
	if (end == NULL || (size_t)(end - p) >= cap)
		return NULL;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return buf;
}

/*
 * Every example of proto/README.md that a decoder can read, found in the
 * file itself, so an example that drifts from the contract fails here: each
 * `mosquitto_pub -t <topic> ... -m '<payload>'` (or -m word), and each
 * `# <payload>` / `# <topic> <payload>` output line after a mosquitto_sub.
 * Double-quoted payloads hold $(date ...) and are in the list above.
 */
Test(json_strict, readme_examples_found_in_the_readme, .timeout = 30)
{
	FILE *f = fopen(IOD_PROTO_README, "r");
	char line[2048], topic[256] = "", arg[1024];
	int checked = 0;

	cr_assert_not_null(f, "%s", IOD_PROTO_README);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *t, *payload = NULL;
		char here[256];

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "mosquitto_sub ", 14) == 0) {
			t = shell_arg(line, " -t ", here, sizeof(here));
			snprintf(topic, sizeof(topic), "%s", t != NULL ? t : "");
			continue;
		}
		if (strncmp(line, "mosquitto_pub ", 14) == 0) {
			t = shell_arg(line, " -t ", here, sizeof(here));
			payload = shell_arg(line, " -m ", arg, sizeof(arg));
		} else if (strncmp(line, "# {", 3) == 0) {
			t = topic;
			payload = line + 2;
		} else if (strncmp(line, "# iod/", 6) == 0 && strchr(line + 2, ' ') != NULL) {
			char *sp = strchr(line + 2, ' ');

			*sp = '\0';
			t = line + 2;
			payload = sp + 1;
		} else {
			continue;
		}
		int d = t != NULL ? decoder_for(t) : -1;

		if (d < 0 || payload == NULL)
			continue;
		accepted((enum decoder)d, payload);
		checked++;
	}
	fclose(f);
	/* 11 commands and 14 payloads when this test was written */
	cr_assert_geq(checked, 25, "only %d examples found: has the README's form changed?",
		      checked);
}

static void expect_frame(const char *payload, size_t len, const char *want_payload_json)
{
	char want[512];
	char *p = malloc(len ? len : 1);

	memcpy(p, payload, len);
	snprintf(want, sizeof(want), "{\"topic\":\"iod/home/x\",\"payload\":%s,\"ts\":7}",
		 want_payload_json);
	assert_json(proto_ws_message_encode("iod/home/x", p, len, 7), want);
	free(p);
}

Test(json_strict, ws_frame_embeds_only_strict_json, .timeout = 30)
{
	const char *info = "{\"version\":\"0.1.0\",\"since\":1764140400123,\"backend\":\"sim\"}";

	/* Embedded verbatim, these would make the browser's JSON.parse throw
	 * and the frame be lost: they go as strings instead. */
	expect_frame("\x0b{\"a\":1}", 8, "\"\\u000b{\\\"a\\\":1}\"");
	expect_frame("{\"a\":00}", 8, "\"{\\\"a\\\":00}\"");
	expect_frame("{\"a\":\"\t\"}", 9, "\"{\\\"a\\\":\\\"\\t\\\"}\"");
	/* Strict JSON is still embedded as it came. */
	expect_frame(info, strlen(info), info);
	expect_frame(" [1, -0.5e3]\r\n", 14, "[1, -0.5e3]");
}

/* ---- the decoder prologue ------------------------------------------------ */

/* What every decoder says before it looks at a single member: the same
 * reason for the same garbage, in the documented order, bare words only
 * where a topic takes them (after trimming whitespace). NULL: accepted. */
static void prologue(const char *text, size_t len, const char *want_word_decoders,
		     const char *want_others)
{
	for (int d = 0; d < D_COUNT; d++) {
		bool words = d == D_CMD || d == D_CAMERA_CMD;
		const char *want = words ? want_word_decoders : want_others;
		const char *reason;
		int rc = run((enum decoder)d, text, len, &reason);

		if (want == NULL) {
			cr_assert_eq(rc, 0, "%s refused %.*s: %s", decoder_names[d], (int)len, text,
				     reason ? reason : "?");
			continue;
		}
		cr_assert_eq(rc, -1, "%s accepted %.*s", decoder_names[d], (int)len, text);
		cr_assert_str_eq(reason, want, "%s on %.*s", decoder_names[d], (int)len, text);
	}
}

static void prologue_s(const char *text, const char *want_word_decoders, const char *want_others)
{
	prologue(text, strlen(text), want_word_decoders, want_others);
}

Test(json_prologue, every_decoder_says_the_same_first, .timeout = 30)
{
	char *big = padded_cmd(PROTO_MAX_PAYLOAD + 1);

	prologue("", 0, "empty_payload", "empty_payload");
	/* only whitespace is empty where a bare word could be; elsewhere not JSON */
	prologue_s(" \t\r\n", "empty_payload", "bad_json");
	prologue_s(big, "too_large", "too_large");
	free(big);
	/* size, then encoding, then JSON */
	prologue("{\"a\":1}\0", 8, "bad_encoding", "bad_encoding");
	prologue_s("\xff", "bad_encoding", "bad_encoding");
	prologue_s("{\"a\":\"\xe0\x9f\xbf\"}", "bad_encoding", "bad_encoding");
	prologue_s("{\"a\":\"x\\u0000\"}", "bad_encoding", "bad_encoding");
	prologue_s("{", "bad_json", "bad_json");
	prologue_s("{\"a\":1}{}", "bad_json", "bad_json");
	prologue_s("\xef\xbb\xbf{}", "bad_json", "bad_json");
	prologue_s("[1]", "not_object", "not_object");
	prologue_s(" 7 ", "not_object", "not_object");
	prologue_s("\"feed\"", "not_object", "not_object");
	prologue_s("true", "not_object", "not_object");
	prologue_s("null", "not_object", "not_object");
	/* a bare word: only the two command decoders read it */
	prologue_s("dance", "unknown_action", "bad_json");
	prologue_s("feed it", "bad_json", "bad_json");
}

Test(json_prologue, bare_words_where_each_command_topic_takes_them, .timeout = 30)
{
	const char *reason;

	cr_assert_eq(run(D_CMD, " feed\n", 6, &reason), 0);
	cr_assert_eq(run(D_CAMERA_CMD, "\tsnapshot ", 10, &reason), 0);
	cr_assert_eq(run(D_CMD, "snapshot", 8, &reason), -1);
	cr_assert_str_eq(reason, "unknown_action");
	cr_assert_eq(run(D_CAMERA_CMD, "feed", 4, &reason), -1);
	cr_assert_str_eq(reason, "unknown_action");
	for (int d = 0; d < D_COUNT; d++) {
		if (d == D_CMD || d == D_CAMERA_CMD)
			continue;
		cr_assert_eq(run((enum decoder)d, "feed", 4, &reason), -1);
		cr_assert_str_eq(reason, "bad_json", "%s", decoder_names[d]);
	}
	/* the ws limit is its own: 4 KiB, not 16 */
	char *mid = padded_cmd(PROTO_WS_MAX_MSG + 1);

	cr_assert_eq(run(D_WS, mid, strlen(mid), &reason), -1);
	cr_assert_str_eq(reason, "too_large");
	cr_assert_eq(run(D_CMD, mid, strlen(mid), &reason), 0);
	free(mid);
}

/* ---- the one UTF-8 check --------------------------------------------------- */

/* The standard encoding of code point cp into out; its length. */
static size_t encode_utf8(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

Test(utf8, every_code_point_and_nothing_else_of_up_to_three_bytes, .timeout = 60)
{
	unsigned char b[4];
	size_t accepted3 = 0;

	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		size_t n = encode_utf8(cp, b);
		bool surrogate = cp >= 0xd800 && cp <= 0xdfff;

		cr_assert_eq(proto_utf8_seq(b, n), surrogate ? 0 : n, "U+%04X", (unsigned)cp);
		cr_assert_eq(proto_utf8_valid(b, n), !surrogate, "U+%04X", (unsigned)cp);
		if (n > 1)
			cr_assert_eq(proto_utf8_seq(b, n - 1), 0, "U+%04X cut short", (unsigned)cp);
	}
	/* Of all 2^24 three-byte strings, exactly the 3-byte encodings of
	 * U+0800..U+FFFF less the surrogates are one sequence; every other
	 * accepted prefix is shorter and itself valid. */
	for (uint32_t v = 0; v < 1u << 24; v++) {
		unsigned char s[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8),
				      (unsigned char)v};
		size_t k = proto_utf8_seq(s, 3);

		if (k == 3)
			accepted3++;
		else if (k == 2)
			cr_assert(s[0] >= 0xc2 && s[0] <= 0xdf && (s[1] & 0xc0) == 0x80);
		else if (k == 1)
			cr_assert(s[0] < 0x80);
	}
	cr_assert_eq(accepted3, 0x10000 - 0x800 - 0x800);
}

Test(utf8, what_starts_no_sequence, .timeout = 10)
{
	static const struct {
		const char *bytes;
		size_t n, want;
	} cases[] = {
	    {"A", 1, 1},
	    {"\0", 1, 1},   /* valid UTF-8: the decoders refuse NUL on their own */
	    {"\x80", 1, 0}, /* a continuation byte first */
	    {"\xbf", 1, 0},
	    {"\xc0\x80", 2, 0}, /* overlong NUL */
	    {"\xc1\xbf", 2, 0}, /* overlong U+007F */
	    {"\xc2\x80", 2, 2},
	    {"\xc2\x41", 2, 0},	    /* no continuation */
	    {"\xe0\x9f\xbf", 3, 0}, /* overlong U+07FF */
	    {"\xe0\xa0\x80", 3, 3},
	    {"\xed\x9f\xbf", 3, 3},
	    {"\xed\xa0\x80", 3, 0}, /* U+D800 */
	    {"\xed\xbf\xbf", 3, 0}, /* U+DFFF */
	    {"\xe2\x82\xac", 3, 3}, /* the euro sign */
	    {"\xe2\x82", 2, 0},	    /* cut short */
	    {"\xe2\x28\xa1", 3, 0},
	    {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong U+FFFF */
	    {"\xf0\x90\x80\x80", 4, 4},
	    {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
	    {"\xf4\x90\x80\x80", 4, 0}, /* over U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0},
	    {"\xf8\x88\x80\x80\x80", 5, 0}, /* the old five-byte form */
	    {"\xfe", 1, 0},
	    {"\xff", 1, 0},
	    {"\xf0\x9f\x90", 3, 0}, /* a dog, cut short */
	    {"\xf0\x9f\x90\x95", 4, 4},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(proto_utf8_seq(cases[i].bytes, cases[i].n), cases[i].want, "case %zu",
			     i);
		cr_assert_eq(proto_utf8_valid(cases[i].bytes, cases[i].n),
			     cases[i].want == cases[i].n, "case %zu", i);
	}
	cr_assert_eq(proto_utf8_seq("A", 0), 0);
	cr_assert(proto_utf8_valid("", 0));
	cr_assert(proto_utf8_valid("dog \xf0\x9f\x90\x95 caf\xc3\xa9", 14));
	cr_assert(!proto_utf8_valid("dog \xf0\x9f\x90\x95 caf\xc3", 13));
}
