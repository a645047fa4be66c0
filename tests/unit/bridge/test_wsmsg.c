/* Browser command validation, replies, static path mapping and /metrics text. */
#include "metrics.h"
#include "webpath.h"
#include "wsmsg.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wsmsg_result run(const char *text, bool op, bool up)
{
	struct wsmsg_result r;
	cr_assert_eq(wsmsg_handle(text, strlen(text), op, up, "operator", 1234, &r), 0);
	cr_assert_not_null(r.reply);
	return r;
}

static void expect_error(const char *text, bool op, bool up, const char *id, const char *reason)
{
	struct wsmsg_result r = run(text, op, up);
	cr_assert_not(r.accepted, "%s", text);
	cr_assert_null(r.publish, "nothing published for %s", text);
	cJSON *j = cJSON_Parse(r.reply);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "reason")->valuestring, reason, "%s -> %s", text,
			 r.reply);
	cJSON *jid = cJSON_GetObjectItem(j, "id");
	if (id)
		cr_assert_str_eq(jid->valuestring, id);
	else
		cr_assert_null(jid);
	cr_assert_str_eq(r.reason, reason);
	cJSON_Delete(j);
	wsmsg_result_free(&r);
}

Test(wsmsg, accepted_command_adds_by_and_ts, .timeout = 5)
{
	struct wsmsg_result r =
	    run("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"web-1:a.b_c\"}", true, true);
	cr_assert(r.accepted);
	cr_assert(r.is_command);
	cr_assert_str_eq(r.reply, "{\"type\":\"ack\",\"id\":\"web-1:a.b_c\"}");
	cJSON *j = cJSON_Parse(r.publish);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "action")->valuestring, "feed");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "web-1:a.b_c");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "by")->valuestring, "operator");
	cr_assert_eq(cJSON_GetObjectItem(j, "ts")->valuedouble, 1234);
	cJSON_Delete(j);
	wsmsg_result_free(&r);
	for (const char *const *a = (const char *const[]){"home", "call", NULL}; *a; a++) {
		char text[128];
		snprintf(text, sizeof(text), "{\"type\":\"cmd\",\"action\":\"%s\",\"id\":\"x\"}",
			 *a);
		r = run(text, true, true);
		cr_assert(r.accepted);
		cr_assert(strstr(r.publish, *a));
		wsmsg_result_free(&r);
	}
}

Test(wsmsg, refusals_name_the_reason_and_publish_nothing, .timeout = 5)
{
	const char *feed = "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"c1\"}";
	expect_error(feed, false, true, "c1", "not_authorized");
	expect_error(feed, true, false, "c1", "broker_unavailable");
	expect_error("{not json", true, true, NULL, "bad_json");
	expect_error("{\"type\":\"cmd\",\"action\":\"dance\",\"id\":\"c2\"}", true, true, "c2",
		     "unknown_action");
	expect_error("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"bad id!\"}", true, true, NULL,
		     "bad_id");
	char longid[200];
	memset(longid, 'a', 65);
	longid[65] = '\0';
	char text[300];
	snprintf(text, sizeof(text), "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"%s\"}",
		 longid);
	expect_error(text, true, true, NULL, "bad_id");
	/* Unauthorised wins over a well-formed but refused command. */
	expect_error("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"c3\"}", false, false, "c3",
		     "not_authorized");
	char *big = malloc(5000);
	memset(big, ' ', 4999);
	big[0] = '{';
	big[4998] = '}';
	big[4999] = '\0';
	expect_error(big, true, true, NULL, "too_large");
	free(big);
}

/* The decoded id travels in the result (the server names it in an error
 * frame when the publish fails, without parsing the frame again). */
Test(wsmsg, result_carries_the_decoded_id, .timeout = 5)
{
	struct wsmsg_result r =
	    run("{\"type\":\"cmd\",\"action\":\"home\",\"id\":\"k-9\"}", true, true);
	cr_assert_str_eq(r.id, "k-9");
	wsmsg_result_free(&r);
	r = run("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"k-10\"}", false, true);
	cr_assert_str_eq(r.id, "k-10", "refused, the id is still known");
	wsmsg_result_free(&r);
	r = run("{\"type\":\"cmd\",\"action\":\"fly\",\"id\":\"k-11\"}", true, true);
	cr_assert_str_eq(r.id, "k-11");
	wsmsg_result_free(&r);
	r = run("{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"no way\"}", true, true);
	cr_assert_str_eq(r.id, "");
	wsmsg_result_free(&r);
	r = run("{\"type\":\"ping\",\"id\":\"p\"}", true, true);
	cr_assert_str_eq(r.id, "");
	wsmsg_result_free(&r);
}

/* The care plan's commands: the message itself is published, "type" gone and
 * "by"/"ts" the bridge's (a browser's own are replaced), members kept in order. */
Test(wsmsg, care_plan_commands_publish_the_message_with_by_and_ts, .timeout = 5)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"p1\",\"plan\":{\"rev\":3,"
	     "\"max_daily\":2,\"slots\":[{\"at\":\"07:00\",\"days\":[\"mon\",\"sat\"]}]}}",
	     "{\"action\":\"plan\",\"id\":\"p1\",\"plan\":{\"rev\":3,\"max_daily\":2,"
	     "\"slots\":[{\"at\":\"07:00\",\"days\":[\"mon\",\"sat\"]}]},"
	     "\"by\":\"operator\",\"ts\":1234}"},
	    {"{\"type\":\"cmd\",\"by\":\"mallory\",\"action\":\"skip\",\"ts\":5,\"id\":\"s1\","
	     "\"slot\":\"2026-12-01T15:00\"}",
	     "{\"action\":\"skip\",\"id\":\"s1\",\"slot\":\"2026-12-01T15:00\","
	     "\"by\":\"operator\",\"ts\":1234}"},
	    {"{\"type\":\"cmd\",\"action\":\"skip\",\"id\":\"s2\"}",
	     "{\"action\":\"skip\",\"id\":\"s2\",\"by\":\"operator\",\"ts\":1234}"},
	    {"{\"type\":\"cmd\",\"action\":\"pause\",\"id\":\"u1\",\"until\":1795660181000}",
	     "{\"action\":\"pause\",\"id\":\"u1\",\"until\":1795660181000,"
	     "\"by\":\"operator\",\"ts\":1234}"},
	    {"{\"type\":\"cmd\",\"action\":\"resume\",\"id\":\"r1\"}",
	     "{\"action\":\"resume\",\"id\":\"r1\",\"by\":\"operator\",\"ts\":1234}"},
	    {"{\"type\":\"cmd\",\"action\":\"treat\",\"id\":\"t1\"}",
	     "{\"action\":\"treat\",\"id\":\"t1\",\"by\":\"operator\",\"ts\":1234}"},
	    {"{\"type\":\"cmd\",\"action\":\"refill\",\"id\":\"f1\",\"pills\":60}",
	     "{\"action\":\"refill\",\"id\":\"f1\",\"pills\":60,\"by\":\"operator\",\"ts\":1234}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wsmsg_result r = run(cases[i].in, true, true);
		cr_assert(r.accepted, "%s -> %s", cases[i].in, r.reply);
		cr_assert(r.is_command);
		cr_assert_str_eq(r.publish, cases[i].out);
		cJSON *j = cJSON_Parse(r.reply);
		cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "ack");
		cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, r.id);
		cJSON_Delete(j);
		/* and the feeder reads it as the same command */
		struct proto_feeder_cmd *fc = malloc(sizeof(*fc));
		const char *reason = NULL;
		cr_assert_eq(proto_feeder_cmd_decode(r.publish, strlen(r.publish), fc, &reason), 0,
			     "%s", reason);
		cr_assert_str_eq(fc->by, "operator");
		cr_assert_eq(fc->ts_ms, 1234);
		free(fc);
		wsmsg_result_free(&r);
	}
}

/* The error frame with the reason (and detail) of the feeder's decoder, a
 * viewer's or a down broker's refusal before the members are judged. */
static void expect_detail(const char *text, const char *id, const char *reason, const char *detail)
{
	struct wsmsg_result r = run(text, true, true);
	cr_assert_not(r.accepted, "%s", text);
	cr_assert_null(r.publish);
	cr_assert_str_eq(r.reason, reason, "%s -> %s", text, r.reply);
	cJSON *j = cJSON_Parse(r.reply);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, id);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "reason")->valuestring, reason);
	cJSON *d = cJSON_GetObjectItem(j, "detail");
	if (detail)
		cr_assert_str_eq(d->valuestring, detail, "%s", r.reply);
	else
		cr_assert_null(d, "%s", r.reply);
	cJSON_Delete(j);
	wsmsg_result_free(&r);
}

Test(wsmsg, care_plan_refusals_carry_the_feeder_decoders_reason, .timeout = 5)
{
	const char *plan =
	    "{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"p2\",\"plan\":{\"max_daily\":2}}";
	expect_error(plan, false, true, "p2", "not_authorized");
	expect_error(plan, true, false, "p2", "broker_unavailable");
	expect_error("{\"type\":\"cmd\",\"action\":\"refill\",\"id\":\"f2\"}", false, true, "f2",
		     "not_authorized");
	expect_detail("{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"p3\",\"plan\":{\"slots\":"
		      "[{\"at\":\"25:00\",\"days\":\"daily\"}]}}",
		      "p3", "bad_plan", "slots[0].at: '25:00' is not HH:MM (00:00..23:59)");
	expect_detail("{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"p4\"}", "p4", "missing_plan",
		      NULL);
	expect_detail("{\"type\":\"cmd\",\"action\":\"refill\",\"id\":\"f3\"}", "f3",
		      "missing_pills", NULL);
	expect_detail("{\"type\":\"cmd\",\"action\":\"refill\",\"id\":\"f4\",\"pills\":-1}", "f4",
		      "bad_pills", "pills: -1 is not an integer 0..100000");
	expect_detail("{\"type\":\"cmd\",\"action\":\"skip\",\"id\":\"s3\",\"slot\":\"tomorrow\"}",
		      "s3", "bad_slot",
		      "slot: 'tomorrow' is not a slot (YYYY-MM-DDTHH:MM, local time)");
	expect_detail("{\"type\":\"cmd\",\"action\":\"pause\",\"id\":\"u2\",\"until\":\"soon\"}",
		      "u2", "bad_until", "until: 'soon' is not a time in ms");
	/* An action neither decoder knows stays unknown_action, before the session. */
	expect_error("{\"type\":\"cmd\",\"action\":\"verify\",\"id\":\"v1\"}", false, true, "v1",
		     "unknown_action");
}

/* 48 slots, each with a seven-day list, the whole plan read sent back: the
 * biggest a browser's plan command is (4434 bytes compact), under
 * PROTO_WS_MAX_CMD but over PROTO_WS_MAX_MSG; over PROTO_WS_MAX_CMD it is
 * too_large, and so is anything but a cmd over PROTO_WS_MAX_MSG. */
static char *big_plan(size_t pad)
{
	static const char slot[] = ",{\"at\":\"%02d:%02d\",\"days\":[\"mon\",\"tue\",\"wed\","
				   "\"thu\",\"fri\",\"sat\",\"sun\"],\"enabled\":false}";
	char *buf = malloc(PROTO_WS_MAX_CMD * 2);
	size_t n = (size_t)sprintf(buf,
				   "{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"%064d\","
				   "\"plan\":{\"rev\":9007199254740991,\"slots\":[",
				   0);
	for (int i = 0; i < PROTO_PLAN_SLOTS_MAX; i++)
		n += (size_t)sprintf(buf + n, slot + (i == 0), i / 2, i % 2 * 30);
	n += (size_t)sprintf(buf + n,
			     "],\"min_interval_s\":604800,\"max_daily\":48,\"grace_s\":86400,"
			     "\"paused\":true,\"paused_until\":9007199254740991,\"treat\":{"
			     "\"max_daily\":100,\"min_interval_s\":86400},\"pills\":{\"remaining\":"
			     "100000,\"low_days\":365},\"bounds\":{\"min_interval_s\":604800,"
			     "\"max_daily\":48},\"changed_by\":\"%064d\",\"changed_at\":"
			     "9007199254740991%*s}}",
			     0, (int)pad, "");
	return buf;
}

Test(wsmsg, a_48_slot_plan_fits_a_cmd_message, .timeout = 5)
{
	char *plan = big_plan(0);
	cr_assert_eq(strlen(plan), 4434);
	cr_assert_gt(strlen(plan), PROTO_WS_MAX_MSG);
	struct wsmsg_result r = run(plan, true, true);
	cr_assert(r.accepted, "%s", r.reply);
	cr_assert(strstr(r.publish, "\"by\":\"operator\",\"ts\":1234}"));
	wsmsg_result_free(&r);
	free(plan);
	plan = big_plan(PROTO_WS_MAX_CMD - 4434);
	cr_assert_eq(strlen(plan), PROTO_WS_MAX_CMD);
	r = run(plan, true, true);
	cr_assert(r.accepted, "%s", r.reply);
	wsmsg_result_free(&r);
	free(plan);
	plan = big_plan(PROTO_WS_MAX_CMD - 4434 + 1);
	expect_error(plan, true, true, NULL, "too_large");
	free(plan);
	char ping[PROTO_WS_MAX_MSG + 2];
	memset(ping, ' ', sizeof(ping));
	memcpy(ping, "{\"type\":\"ping\"", 14);
	ping[PROTO_WS_MAX_MSG] = '}';
	ping[PROTO_WS_MAX_MSG + 1] = '\0';
	expect_error(ping, true, true, NULL, "too_large");
	ping[PROTO_WS_MAX_MSG - 1] = '}';
	ping[PROTO_WS_MAX_MSG] = '\0';
	r = run(ping, true, true);
	cr_assert_str_eq(r.reply, "{\"type\":\"pong\",\"ts\":1234}");
	wsmsg_result_free(&r);
}

Test(wsmsg, ping_pong, .timeout = 5)
{
	struct wsmsg_result r = run("{\"type\":\"ping\"}", false, false);
	cr_assert_not(r.is_command);
	cr_assert_str_eq(r.reply, "{\"type\":\"pong\",\"ts\":1234}");
	wsmsg_result_free(&r);
}

Test(webpath, maps_safely, .timeout = 5)
{
	char out[256];
	cr_assert_eq(webpath_resolve("/srv/web", "/", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/srv/web/index.html");
	cr_assert_eq(
	    webpath_resolve("/srv/web", "/node_modules/uplot/dist/uPlot.esm.js", out, sizeof(out)),
	    0);
	cr_assert_str_eq(out, "/srv/web/node_modules/uplot/dist/uPlot.esm.js");
	cr_assert_eq(webpath_resolve("/srv/web", "/../etc/passwd", out, sizeof(out)), -1);
	cr_assert_eq(webpath_resolve("/srv/web", "/a/../../x", out, sizeof(out)), -1);
	cr_assert_eq(webpath_resolve("/srv/web", "/.git/config", out, sizeof(out)), -1);
	cr_assert_eq(webpath_resolve("/srv/web", "/a//b", out, sizeof(out)), -1);
	cr_assert_eq(webpath_resolve("/srv/web", "/a\\..\\b", out, sizeof(out)), -1);
	cr_assert_eq(webpath_resolve("/srv/web", "relative", out, sizeof(out)), -1);
	cr_assert_eq(webpath_resolve("/srv/web", "/x", out, 8), -1, "too long for the buffer");
	cr_assert_str_eq(webpath_mime("/a/app.js"), "text/javascript; charset=utf-8");
	cr_assert_str_eq(webpath_mime("/a/uPlot.min.css"), "text/css; charset=utf-8");
	cr_assert_str_eq(webpath_mime("/a/index.html"), "text/html; charset=utf-8");
	cr_assert_str_eq(webpath_mime("/a.d/noext"), "application/octet-stream");
}

Test(metrics, prometheus_text_has_help_type_and_values, .timeout = 5)
{
	struct bridge_metrics m = {0};
	m.clients = 3;
	m.frames_sent = 42;
	m.frames_coalesced = 7;
	m.commands_accepted = 2;
	m.commands_refused = 5;
	m.logins_rate_limited = 1;
	m.queue_high_water = 9;
	char *t = metrics_render(&m);
	cr_assert_not_null(t);
	cr_assert(strstr(t, "# HELP iod_bridge_clients "));
	cr_assert(strstr(t, "# TYPE iod_bridge_clients gauge\niod_bridge_clients 3\n"));
	cr_assert(strstr(t, "# TYPE iod_bridge_frames_sent_total counter\n"
			    "iod_bridge_frames_sent_total 42\n"));
	cr_assert(strstr(t, "iod_bridge_frames_coalesced_total 7\n"));
	cr_assert(strstr(t, "iod_bridge_frames_dropped_total 0\n"));
	cr_assert(strstr(t, "iod_bridge_mqtt_messages_total 0\n"));
	cr_assert(strstr(t, "iod_bridge_commands_total{result=\"accepted\"} 2\n"));
	cr_assert(strstr(t, "iod_bridge_commands_total{result=\"refused\"} 5\n"));
	cr_assert(strstr(t, "iod_bridge_queue_high_water 9\n"));
	cr_assert(strstr(t, "iod_bridge_logins_total{result=\"rate_limited\"} 1\n"));
	free(t);
}

Test(wsmsg, hello_says_whether_the_broker_is_up, .timeout = 5)
{
	char *t = wsmsg_hello_encode("home", true, false, "0.1.0", 1764140400123LL);
	cr_assert_str_eq(t, "{\"type\":\"hello\",\"site\":\"home\",\"operator\":true,"
			    "\"broker\":false,\"version\":\"0.1.0\",\"ts\":1764140400123}");
	free(t);
	t = wsmsg_hello_encode("home", false, true, "0.1.0", 1);
	cr_assert_str_eq(t, "{\"type\":\"hello\",\"site\":\"home\",\"operator\":false,"
			    "\"broker\":true,\"version\":\"0.1.0\",\"ts\":1}");
	free(t);
	cr_assert_null(wsmsg_hello_encode(NULL, false, true, "0.1.0", 1));
}

Test(wsmsg, broker_frame, .timeout = 5)
{
	char *t = wsmsg_broker_encode(false, 1764140400123LL);
	cr_assert_str_eq(t, "{\"type\":\"broker\",\"connected\":false,\"ts\":1764140400123}");
	free(t);
	t = wsmsg_broker_encode(true, 2);
	cr_assert_str_eq(t, "{\"type\":\"broker\",\"connected\":true,\"ts\":2}");
	free(t);
}
