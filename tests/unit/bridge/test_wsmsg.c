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
