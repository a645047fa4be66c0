/*
 * sender: the texts it sends (subject, the RFC 5322 email, the JSON
 * bodies, ntfy's headers), outcome mapping, and its contract on a real
 * libuv loop against loopback sockets this test owns (a refused connection,
 * a listener that never answers): the callback runs exactly once, never
 * inside the call, and a close cancels what is in flight.
 */
#include <arpa/inet.h>
#include <cJSON.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sender.h"

/* 2026-12-01T15:00:00Z and five minutes later */
#define SINCE_MS 1796137200000LL
#define TS_MS	 (SINCE_MS + 300000)

static struct notify_msg alert_msg(void)
{
	struct notify_msg m = {
	    .site = "home",
	    .key = "feeder/dose_overdue/2026-12-01T15:00",
	    .source = "feeder",
	    .code = "dose_overdue",
	    .level = "critical",
	    .message = "The 15:00 dose was not given (grace 10m)",
	    .contact = "ann",
	    .since_ms = SINCE_MS,
	    .ts_ms = TS_MS,
	};
	return m;
}

static struct channel parse(const char *url)
{
	struct channel ch;
	char why[200];

	cr_assert_eq(channel_parse(url, &ch, why, sizeof(why)), 0, "%s: %s", url, why);
	return ch;
}

static void tz(const char *zone)
{
	setenv("TZ", zone, 1);
	tzset();
}

Test(sender_text, subject, .timeout = 5)
{
	struct notify_msg m = alert_msg();
	char s[128];

	sender_format_subject(&m, s, sizeof(s));
	cr_assert_str_eq(s, "[iod home] CRITICAL: dose_overdue");
	m.test = true;
	m.code = NULL;
	sender_format_subject(&m, s, sizeof(s));
	cr_assert_str_eq(s, "[iod home] TEST: notification");
}

Test(sender_text, email_headers_and_body, .timeout = 5)
{
	struct channel ch = parse("mailto://smtp.example.com?to=a@b.org,c@d.org&from=iod@x.org");
	struct notify_msg m = alert_msg();
	char *e;

	tz("CET-1");
	e = sender_format_email(&ch, &m, "id-1@iod-notify.home");
	cr_assert_not_null(e);
	cr_assert(strstr(e, "Date: Tue, 01 Dec 2026 16:05:00 +0100\r\n"), "%s", e);
	cr_assert(strstr(e, "\r\nFrom: \"iod home\" <iod@x.org>\r\n"), "%s", e);
	cr_assert(strstr(e, "\r\nTo: a@b.org, c@d.org\r\n"), "%s", e);
	cr_assert(strstr(e, "\r\nSubject: [iod home] CRITICAL: dose_overdue\r\n"), "%s", e);
	cr_assert(strstr(e, "\r\nMessage-ID: <id-1@iod-notify.home>\r\n"), "%s", e);
	cr_assert(strstr(e, "\r\nContent-Type: text/plain; charset=utf-8\r\n"), "%s", e);
	cr_assert(strstr(e, "\r\nX-Iod-Alert: feeder/dose_overdue/2026-12-01T15:00\r\n"), "%s", e);
	/* the body: after the blank line */
	const char *body = strstr(e, "\r\n\r\n");

	cr_assert_not_null(body);
	cr_assert(strstr(body, "CRITICAL: dose_overdue at home\r\n"), "%s", body);
	cr_assert(strstr(body, "\r\nThe 15:00 dose was not given (grace 10m)\r\n"), "%s", body);
	cr_assert(strstr(body, "\r\nLevel:   critical\r\n"), "%s", body);
	cr_assert(strstr(body, "\r\nSite:    home\r\n"), "%s", body);
	cr_assert(strstr(body, "\r\nSince:   2026-12-01 16:00:00 CET (2026-12-01T15:00:00Z)\r\n"),
		  "%s", body);
	cr_assert(strstr(body, "\r\nSent:    2026-12-01 16:05:00 CET (2026-12-01T15:05:00Z)\r\n"),
		  "%s", body);
	/* no bare LF anywhere */
	for (const char *p = e; *p; p++)
		if (*p == '\n')
			cr_assert(p > e && p[-1] == '\r', "bare LF at %ld", (long)(p - e));
	free(e);
}

Test(sender_text, email_test_name_utf8_and_newlines, .timeout = 5)
{
	struct channel ch = parse("mailto://h.example.com?to=a@b.org&name=Fr%C3%A9d");
	struct notify_msg m = alert_msg();
	char *e;

	tz("UTC");
	m.test = true;
	m.message = "line one\nline two\r\n";
	m.since_ms = 0;
	e = sender_format_email(&ch, &m, "x@y");
	cr_assert_not_null(e);
	cr_assert(strstr(e, "From: \"=?utf-8?B?RnLDqWQ=?=\" <a@b.org>\r\n"), "%s", e);
	cr_assert(strstr(e, "Subject: [iod home] TEST: dose_overdue\r\n"), "%s", e);
	cr_assert(strstr(e, "This is a test notification from iod-notify at home.\r\n"), "%s", e);
	cr_assert(strstr(e, "\r\nline one\r\nline two\r\n"), "%s", e);
	cr_assert_null(strstr(e, "Since:"));
	free(e);
}

Test(sender_text, json_body_is_apprise_plus_alert, .timeout = 5)
{
	struct channel ch = parse("json://hooks.example.com/x");
	struct notify_msg m = alert_msg();
	char *t = sender_format_json(&ch, &m);
	cJSON *o = cJSON_Parse(t);

	cr_assert_not_null(o, "%s", t);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "version")->valuestring, "1.0");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "title")->valuestring,
			 "[iod home] CRITICAL: dose_overdue");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "message")->valuestring, m.message);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "failure");
	cJSON *a = cJSON_GetObjectItem(o, "alert");

	cr_assert_str_eq(cJSON_GetObjectItem(a, "key")->valuestring, m.key);
	cr_assert_str_eq(cJSON_GetObjectItem(a, "level")->valuestring, "critical");
	cr_assert_eq((long long)cJSON_GetObjectItem(a, "since")->valuedouble, SINCE_MS);
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "test")));
	cJSON_Delete(o);
	free(t);

	m.level = "warning";
	t = sender_format_json(&ch, &m);
	cr_assert(strstr(t, "\"type\":\"warning\""), "%s", t);
	free(t);
	m.level = "info";
	t = sender_format_json(&ch, &m);
	cr_assert(strstr(t, "\"type\":\"info\""), "%s", t);
	free(t);
}

Test(sender_text, gotify_body_and_ntfy_headers, .timeout = 5)
{
	struct channel ch = parse("gotify://g.example.com/tok");
	struct notify_msg m = alert_msg();
	char *t = sender_format_json(&ch, &m);

	cr_assert_str_eq(t, "{\"title\":\"[iod home] CRITICAL: dose_overdue\",\"message\":\"The "
			    "15:00 dose was not given (grace 10m)\",\"priority\":10}");
	free(t);
	cr_assert_eq(sender_ntfy_priority("critical"), 5);
	cr_assert_eq(sender_ntfy_priority("warning"), 4);
	cr_assert_eq(sender_ntfy_priority("info"), 3);
	cr_assert_str_eq(sender_ntfy_tags("critical"), "rotating_light");
	cr_assert_str_eq(sender_ntfy_tags("warning"), "warning");
	ch = parse("ntfy://n.example.com/t");
	cr_assert_null(sender_format_json(&ch, &m));
}

Test(sender_text, outcomes, .timeout = 5)
{
	cr_assert_eq(sender_http_outcome(200), SEND_OK);
	cr_assert_eq(sender_http_outcome(204), SEND_OK);
	cr_assert_eq(sender_http_outcome(408), SEND_RETRY);
	cr_assert_eq(sender_http_outcome(429), SEND_RETRY);
	cr_assert_eq(sender_http_outcome(500), SEND_RETRY);
	cr_assert_eq(sender_http_outcome(503), SEND_RETRY);
	cr_assert_eq(sender_http_outcome(0), SEND_RETRY);
	cr_assert_eq(sender_http_outcome(400), SEND_PERMANENT);
	cr_assert_eq(sender_http_outcome(401), SEND_PERMANENT);
	cr_assert_eq(sender_http_outcome(404), SEND_PERMANENT);
	cr_assert_eq(sender_http_outcome(301), SEND_PERMANENT);
	cr_assert_eq(sender_smtp_outcome(250), SEND_OK);
	cr_assert_eq(sender_smtp_outcome(421), SEND_RETRY);
	cr_assert_eq(sender_smtp_outcome(451), SEND_RETRY);
	cr_assert_eq(sender_smtp_outcome(550), SEND_PERMANENT);
	cr_assert_eq(sender_smtp_outcome(554), SEND_PERMANENT);
	cr_assert_eq(sender_smtp_outcome(0), SEND_RETRY);
}

/* ---- on a loop ---- */

struct seen {
	int calls;
	enum send_outcome outcome;
	char error[128];
	bool inside; /* set while sender_send runs */
	bool called_inside;
};

static void on_done(void *arg, enum send_outcome outcome, const char *error)
{
	struct seen *s = arg;

	s->calls++;
	s->outcome = outcome;
	snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
	if (s->inside)
		s->called_inside = true;
}

static int closed_calls;

static void on_closed(void *arg)
{
	(void)arg;
	closed_calls++;
}

/* A listening TCP socket on 127.0.0.1 that never accepts; *port set. */
static int listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

Test(sender_loop, refused_connection_is_retry_once_and_later, .timeout = 20)
{
	uv_loop_t loop;
	struct sender *s;
	struct seen seen = {0};
	char url[128];
	int port;
	int fd = listener(&port);

	close(fd); /* nothing listens there now */
	snprintf(url, sizeof(url), "json://127.0.0.1:%d/hook", port);
	struct channel ch = parse(url);
	struct notify_msg m = alert_msg();

	uv_loop_init(&loop);
	s = sender_new(&loop, &(struct sender_options){.timeout_ms = 5000});
	cr_assert_not_null(s);
	seen.inside = true;
	cr_assert_eq(sender_send(s, &ch, &m, on_done, &seen), 0);
	seen.inside = false;
	cr_assert_eq(seen.calls, 0);
	cr_assert_eq(sender_in_flight(s), 1);
	while (seen.calls == 0 && uv_run(&loop, UV_RUN_ONCE))
		;
	cr_assert_eq(seen.calls, 1);
	cr_assert_not(seen.called_inside);
	cr_assert_eq(seen.outcome, SEND_RETRY);
	cr_assert_str_eq(seen.error, "could not connect");
	cr_assert_eq(sender_in_flight(s), 0);
	closed_calls = 0;
	sender_close(s, on_closed, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(closed_calls, 1);
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(sender_loop, close_cancels_in_flight, .timeout = 20)
{
	uv_loop_t loop;
	struct sender *s;
	struct seen a = {0}, b = {0};
	char url[128];
	int port;
	int fd = listener(&port);
	const char *const headers[] = {"TTL: 60", NULL};

	snprintf(url, sizeof(url), "ntfy://127.0.0.1:%d/t", port);
	struct channel ch = parse(url);
	struct notify_msg m = alert_msg();

	uv_loop_init(&loop);
	s = sender_new(&loop, NULL);
	cr_assert_not_null(s);
	cr_assert_eq(sender_send(s, &ch, &m, on_done, &a), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/push", port);
	cr_assert_eq(sender_post(s, url, headers, "x", 1, on_done, &b), 0);
	cr_assert_eq(sender_in_flight(s), 2);
	/* a few turns: connected, request written, no answer */
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(a.calls + b.calls, 0);
	closed_calls = 0;
	sender_close(s, on_closed, NULL);
	cr_assert_eq(a.calls + b.calls, 0, "cancelled inside sender_close");
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(b.calls, 1);
	cr_assert_eq(a.outcome, SEND_RETRY);
	cr_assert_str_eq(a.error, "cancelled");
	cr_assert_str_eq(b.error, "cancelled");
	cr_assert_eq(closed_calls, 1);
	cr_assert_eq(uv_loop_close(&loop), 0);
	close(fd);
}

Test(sender_loop, webpush_and_closing_are_refused, .timeout = 10)
{
	uv_loop_t loop;
	struct sender *s;
	struct seen seen = {0};
	struct channel ch = parse("webpush:ann");
	struct channel j = parse("json://127.0.0.1:9/x");
	struct notify_msg m = alert_msg();

	uv_loop_init(&loop);
	s = sender_new(&loop, NULL);
	cr_assert_eq(sender_send(s, &ch, &m, on_done, &seen), -1);
	cr_assert_eq(sender_in_flight(s), 0);
	closed_calls = 0;
	sender_close(s, on_closed, NULL);
	cr_assert_eq(sender_send(s, &j, &m, on_done, &seen), -1);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(closed_calls, 1);
	cr_assert_eq(seen.calls, 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

/* A callback that closes the sender (the service's stop can come from
 * one): the other request still gets exactly one callback, the close ends. */
static struct sender *closing_sender;

static void on_done_close(void *arg, enum send_outcome outcome, const char *error)
{
	on_done(arg, outcome, error);
	sender_close(closing_sender, on_closed, NULL);
}

Test(sender_loop, close_from_a_callback, .timeout = 20)
{
	uv_loop_t loop;
	struct seen a = {0}, b = {0};
	char refused[128], hanging[128];
	int port, hang_port;
	int fd = listener(&port);
	int hang_fd = listener(&hang_port);

	close(fd);
	snprintf(refused, sizeof(refused), "json://127.0.0.1:%d/x", port);
	snprintf(hanging, sizeof(hanging), "json://127.0.0.1:%d/y", hang_port);
	struct channel ch_refused = parse(refused);
	struct channel ch_hanging = parse(hanging);
	struct notify_msg m = alert_msg();

	uv_loop_init(&loop);
	closing_sender = sender_new(&loop, NULL);
	cr_assert_not_null(closing_sender);
	cr_assert_eq(sender_send(closing_sender, &ch_hanging, &m, on_done, &b), 0);
	cr_assert_eq(sender_send(closing_sender, &ch_refused, &m, on_done_close, &a), 0);
	closed_calls = 0;
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(a.calls, 1);
	cr_assert_str_eq(a.error, "could not connect");
	cr_assert_eq(b.calls, 1);
	cr_assert_str_eq(b.error, "cancelled");
	cr_assert_eq(closed_calls, 1);
	cr_assert_eq(uv_loop_close(&loop), 0);
	close(hang_fd);
}
