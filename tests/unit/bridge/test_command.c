/* The dashboard protocol's command path and writes (protocol.c): a decoded
 * command with its id published with "by" and answered ack, or the exact
 * error frame and nothing published; reassembly, the size limit, the
 * greeting order and the batched writes. Through the glue with lws and
 * mqttc stubbed (glue_stubs.h). */
#include "glue_stubs.h"
#include "sites.h"

#include "accounts.h"
#include "bmsg.h"
#include "users.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct lws wsi;
static struct pss c;

/* A client that connected with a live operator session (or none). */
static void connect_client(struct server *s, bool as_operator)
{
	glue_wsi_reset(&wsi);
	memset(&c, 0, sizeof(c));
	if (as_operator) {
		glue_login(s, "192.168.1.5", c.token);
		c.is_operator = true;
	}
	c.wsi = &wsi;
	c.site = sites_find(s->cfg.sites, "home"); /* what ws_filter picks */
	cqueue_init(&c.q, s->queue_max, 0, 0);
}

static void send_text(struct server *s, const char *text)
{
	ws_message(s, &c, text, strlen(text));
}

static void expect_frame(const char *want)
{
	char *got = glue_pop_text(&c);
	cr_assert_not_null(got, "no frame, expected %s", want);
	cr_assert_str_eq(got, want);
	free(got);
}

static void expect_no_frame(void)
{
	char *got = glue_pop_text(&c);
	cr_assert_null(got, "unexpected frame %s", got);
}

static const char *const FEED = "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"web-1:a.b_c\"}";

Test(command, accepted_is_published_with_by_and_acked, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	connect_client(s, true);
	send_text(s, FEED);
	cr_assert_eq(glue_publishes, 1);
	cr_assert_str_eq(glue_published_topic, "iod/home/feeder/cmd");
	cr_assert_str_eq(glue_published, "{\"action\":\"feed\",\"id\":\"web-1:a.b_c\","
					 "\"by\":\"admin\",\"ts\":1795660181000}");
	cr_assert_eq(glue_published_qos, 1);
	cr_assert_not(glue_published_retain);
	expect_frame("{\"type\":\"ack\",\"id\":\"web-1:a.b_c\"}");
	expect_no_frame();
	cr_assert_eq(s->m.commands_accepted, 1);
	cr_assert_eq(s->m.commands_refused, 0);
	cr_assert_eq(wsi.writable, 1, "the ack asks for one WRITEABLE");
	cqueue_free(&c.q);
	glue_server_free(s);
}

Test(command, failed_publish_is_broker_unavailable_with_the_id, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	connect_client(s, true);
	glue_publish_rc = -1;
	send_text(s, FEED);
	cr_assert_eq(glue_publishes, 1);
	expect_frame(
	    "{\"type\":\"error\",\"id\":\"web-1:a.b_c\",\"reason\":\"broker_unavailable\"}");
	expect_no_frame();
	cr_assert_eq(s->m.commands_accepted, 0);
	cr_assert_eq(s->m.commands_refused, 1);
	cr_assert_str_eq(glue_last_log,
			 "command from the dashboard refused (admin): broker_unavailable");
	cqueue_free(&c.q);
	glue_server_free(s);
}

Test(command, refusals_publish_nothing, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	/* A viewer (public view). */
	connect_client(s, false);
	send_text(s, FEED);
	expect_frame("{\"type\":\"error\",\"id\":\"web-1:a.b_c\",\"reason\":\"not_authorized\"}");
	cqueue_free(&c.q);
	/* An operator whose session ended after the upgrade (logout). */
	connect_client(s, true);
	auth_session_end(s->cfg.auth, c.token);
	send_text(s, FEED);
	expect_frame("{\"type\":\"error\",\"id\":\"web-1:a.b_c\",\"reason\":\"not_authorized\"}");
	cqueue_free(&c.q);
	/* The broker is down, as the page was told, or as Paho says already. */
	connect_client(s, true);
	s->broker_up = false;
	send_text(s, FEED);
	expect_frame(
	    "{\"type\":\"error\",\"id\":\"web-1:a.b_c\",\"reason\":\"broker_unavailable\"}");
	s->broker_up = true;
	glue_mqtt_connected = false;
	send_text(s, FEED);
	expect_frame(
	    "{\"type\":\"error\",\"id\":\"web-1:a.b_c\",\"reason\":\"broker_unavailable\"}");
	glue_mqtt_connected = true;
	/* Bad frames: the id only when it was valid. */
	send_text(s, "{not json");
	expect_frame("{\"type\":\"error\",\"reason\":\"bad_json\"}");
	send_text(s, "{\"type\":\"cmd\",\"action\":\"dance\",\"id\":\"c2\"}");
	expect_frame("{\"type\":\"error\",\"id\":\"c2\",\"reason\":\"unknown_action\"}");
	send_text(s, "{\"type\":\"cmd\",\"action\":\"feed\",\"id\":\"bad id!\"}");
	expect_frame("{\"type\":\"error\",\"reason\":\"bad_id\"}");
	expect_no_frame();
	cr_assert_eq(glue_publishes, 0);
	cr_assert_eq(s->m.commands_refused, 7);
	cr_assert_eq(s->m.commands_accepted, 0);
	cqueue_free(&c.q);
	glue_server_free(s);
}

Test(command, ping_is_pong_and_no_command, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	connect_client(s, false);
	send_text(s, "{\"type\":\"ping\"}");
	expect_frame("{\"type\":\"pong\",\"ts\":1795660181000}");
	cr_assert_eq(s->m.commands_refused + s->m.commands_accepted, 0);
	cqueue_free(&c.q);
	glue_server_free(s);
}

Test(command, fragments_are_reassembled_and_a_big_message_closes_1009, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	connect_client(s, true);
	size_t half = strlen(FEED) / 2;
	wsi.final_fragment = false;
	cr_assert_eq(ws_receive(s, &wsi, &c, FEED, half), 0);
	cr_assert_eq(glue_publishes, 0);
	wsi.final_fragment = true;
	cr_assert_eq(ws_receive(s, &wsi, &c, FEED + half, strlen(FEED) - half), 0);
	cr_assert_eq(glue_publishes, 1);
	cr_assert_str_eq(glue_published, "{\"action\":\"feed\",\"id\":\"web-1:a.b_c\","
					 "\"by\":\"admin\",\"ts\":1795660181000}");
	expect_frame("{\"type\":\"ack\",\"id\":\"web-1:a.b_c\"}");
	cr_assert_null(c.rx);
	/* Up to PROTO_WS_MAX_CMD is read (a cmd may be that big: a 48-slot plan). */
	static char big[PROTO_WS_MAX_CMD + 1];
	memset(big, ' ', sizeof(big));
	wsi.final_fragment = false;
	cr_assert_eq(ws_receive(s, &wsi, &c, big, PROTO_WS_MAX_MSG), 0);
	cr_assert_eq(ws_receive(s, &wsi, &c, big, PROTO_WS_MAX_CMD - PROTO_WS_MAX_MSG), 0);
	cr_assert_eq(ws_receive(s, &wsi, &c, big, 1), -1);
	cr_assert_eq(wsi.close_status, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
	ws_closed(s, &c); /* not established here: frees nothing */
	free(c.rx);
	cqueue_free(&c.q);
	glue_server_free(s);
}

Test(command, connect_greets_in_order_and_writes_in_batches, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	glue_wsi_reset(&wsi);
	memset(&c, 0, sizeof(c));
	glue_login(s, "192.168.1.5", c.token);
	c.is_operator = true;
	const char *reading = "{\"value\":21.5,\"unit\":\"°C\",\"ts\":1}";
	server_on_mqtt(s, "iod/home/sensors/temperature", reading, strlen(reading),
		       glue_now_ms - 5);
	c.site = sites_find(s->cfg.sites, "home"); /* what ws_filter picks */
	cr_assert_eq(ws_established(s, &wsi, &c), 0);
	cr_assert_eq(s->clients, &c);
	cr_assert_eq(s->m.clients, 1);
	cr_assert_eq(wsi.writable, 1, "one WRITEABLE asked for the whole greeting");
	/* Everything queued goes out in one WRITEABLE (HTTP/1: batched). */
	unsigned queued = c.q.count;
	cr_assert_eq(queued, 5, "hello, broker, the topic, its history, ready: %u", queued);
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, queued);
	cr_assert_eq(s->m.frames_sent, queued);
	cr_assert_eq(c.q.count, 0);
	const char *hello = "{\"type\":\"hello\",\"site\":\"home\",\"sites\":[{\"site\":"
			    "\"home\"}],\"operator\":true,"
			    "\"broker\":true,\"version\":\"" IOD_VERSION "\",\"ts\":1795660181000}";
	cr_assert(!strncmp(wsi.body, hello, strlen(hello)), "%s", wsi.body);
	cr_assert(strstr(wsi.body, "}{\"type\":\"broker\",\"connected\":true,\"ts\":1795660181000}"
				   "{\"topic\":\"iod/home/sensors/temperature\""),
		  "%s", wsi.body);
	const char *ready = "{\"type\":\"ready\"}";
	cr_assert_str_eq(wsi.body + wsi.body_len - strlen(ready), ready);
	/* A live message goes out at once: nothing pending (HTTP/1, no TLS),
	 * no WRITEABLE asked. */
	unsigned writes = wsi.writes, asked = wsi.writable;
	server_set_broker(s, false);
	cr_assert_eq(wsi.writes, writes + 1);
	cr_assert_eq(c.q.count, 0);
	cr_assert_eq(wsi.writable, asked, "a direct write asks for no WRITEABLE");
	cr_assert_eq(s->m.frames_direct, 1);
	/* lws kept part of that write: the next ones queue and ask once. */
	wsi.partial_at_write = wsi.writes;
	server_set_broker(s, true);
	server_set_broker(s, false);
	cr_assert_eq(c.q.count, 2);
	cr_assert_eq(wsi.writes, writes + 1);
	cr_assert_eq(wsi.writable, asked + 1, "one WRITEABLE for the batch");
	/* lws drained its buffer: one WRITEABLE writes both, in order. */
	wsi.partial_at_write = 0;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, writes + 3);
	cr_assert_eq(c.q.count, 0);
	const char *tail = "{\"type\":\"broker\",\"connected\":false,\"ts\":1795660181000}"
			   "{\"type\":\"broker\",\"connected\":true,\"ts\":1795660181000}"
			   "{\"type\":\"broker\",\"connected\":false,\"ts\":1795660181000}";
	cr_assert_str_eq(wsi.body + wsi.body_len - strlen(tail), tail);
	cr_assert_eq(s->m.frames_sent, queued + 3);
	ws_closed(s, &c);
	cr_assert_null(s->clients);
	cr_assert_eq(s->m.clients, 0);
	glue_server_free(s);
}

/* Queue frames "f0".."f<n-1>" on c, each its own message (key 0: never
 * coalesced). */
static void queue_frames(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char text[16];
		snprintf(text, sizeof(text), "f%u", i);
		struct bmsg *m = bmsg_new(LWS_PRE, text, strlen(text), false, 0);
		cr_assert_not_null(m);
		cr_assert_eq(cqueue_push(&c.q, m), CQUEUE_QUEUED);
		bmsg_unref(m);
	}
}

/*
 * A short send in the middle of a batch (lws 4.1.x keeps the rest and
 * lws_partial_buffered() says so): the batch stops right after that write,
 * the frame lws buffered counts as sent, the rest stay queued in order and
 * WRITEABLE is asked for; once lws drained its buffer the next WRITEABLE
 * writes them, so the client gets every frame once, in order.
 */
Test(command, partial_write_mid_batch_loses_nothing_and_keeps_order, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	connect_client(s, false);
	queue_frames(7);
	wsi.partial_at_write = 3;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, 3, "the batch ends at the buffered write");
	cr_assert_str_eq(wsi.body, "f0f1f2");
	cr_assert_eq(s->m.frames_sent, 3);
	cr_assert_eq(c.q.count, 4);
	cr_assert_eq(wsi.writable, 1, "frames left: WRITEABLE asked again");
	/* lws drained its buffer: the next WRITEABLE sends the rest at once. */
	wsi.partial_at_write = 0;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, 7);
	cr_assert_str_eq(wsi.body, "f0f1f2f3f4f5f6");
	cr_assert_eq(s->m.frames_sent, 7);
	cr_assert_eq(c.q.count, 0);
	cr_assert_eq(wsi.writable, 1, "nothing left: no WRITEABLE asked");
	cqueue_free(&c.q);
	glue_server_free(s);
}

/* The last frame of a batch buffered: nothing is left, so nothing asks for
 * WRITEABLE, and lws (not the glue) asks for its own drain. A short send on
 * the first frame ends the batch after one. */
Test(command, partial_write_at_the_ends_of_a_batch, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	connect_client(s, false);
	queue_frames(2);
	wsi.partial_at_write = 2;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_str_eq(wsi.body, "f0f1");
	cr_assert_eq(c.q.count, 0);
	cr_assert_eq(wsi.writable, 0);
	wsi.partial_at_write = 0;
	queue_frames(3);
	wsi.partial_at_write = wsi.writes + 1;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_str_eq(wsi.body, "f0f1f0");
	cr_assert_eq(c.q.count, 2);
	cr_assert_eq(wsi.writable, 1);
	wsi.partial_at_write = 0;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_str_eq(wsi.body, "f0f1f0f1f2");
	cr_assert_eq(c.q.count, 0);
	cr_assert_eq(s->m.frames_sent, 5);
	cqueue_free(&c.q);
	glue_server_free(s);
}

/* An HTTP/2 stream (its network wsi is the h2 connection's) writes one
 * frame per WRITEABLE, buffered or not. */
Test(command, h2_stream_writes_one_frame_per_writeable, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	connect_client(s, false);
	struct lws h2_connection;
	glue_wsi_reset(&h2_connection);
	wsi.network = &h2_connection;
	queue_frames(3);
	for (unsigned i = 1; i <= 3; i++) {
		cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
		cr_assert_eq(wsi.writes, i);
		cr_assert_eq(c.q.count, 3 - i);
	}
	cr_assert_str_eq(wsi.body, "f0f1f2");
	cr_assert_eq(wsi.writable, 2, "asked again while frames were left");
	cqueue_free(&c.q);
	glue_server_free(s);
}

/* A client as ws_established() makes it, its greeting written and the
 * recorded writes cleared. */
static void establish_quiet(struct server *s)
{
	glue_wsi_reset(&wsi);
	memset(&c, 0, sizeof(c));
	c.site = sites_find(s->cfg.sites, "home"); /* what ws_filter picks */
	cr_assert_eq(ws_established(s, &wsi, &c), 0);
	while (c.q.count)
		cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	wsi.body_len = 0;
	wsi.body[0] = '\0';
	wsi.writes = wsi.writable = wsi.wrote_read = 0;
	memset(&s->m, 0, sizeof(s->m));
}

static void reading(struct server *s, unsigned topic, unsigned value)
{
	char t[64], p[64];
	snprintf(t, sizeof(t), "iod/home/sensors/bench%u", topic);
	snprintf(p, sizeof(p), "{\"value\":%u,\"ts\":1}", value);
	server_on_mqtt(s, t, p, strlen(p), glue_now_ms);
}

/* Issue 15: a client that keeps up gets each fan-out frame written at once,
 * one lws_write() per frame, no WRITEABLE asked (no epoll_ctl), nothing
 * queued or coalesced, even many per topic back to back. */
Test(command, fanout_writes_at_once_without_writeable, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	establish_quiet(s);
	for (unsigned i = 0; i < 100; i++)
		reading(s, i % 10, i);
	cr_assert_eq(wsi.writes, 100);
	cr_assert_eq(wsi.writable, 0);
	cr_assert_eq(c.q.count, 0);
	cr_assert_eq(s->m.frames_sent, 100);
	cr_assert_eq(s->m.frames_direct, 100);
	cr_assert_eq(s->m.frames_coalesced, 0);
	cr_assert(strstr(wsi.body, "{\"topic\":\"iod/home/sensors/bench0\",\"payload\":"
				   "{\"value\":0,\"ts\":1},\"ts\":1795660181000}"
				   "{\"topic\":\"iod/home/sensors/bench1\""));
	cr_assert(strstr(wsi.body, "{\"value\":99,"));
	ws_closed(s, &c);
	glue_server_free(s);
}

/*
 * A client that stops reading: lws holds part of a write and never drains
 * it. Nothing more is written to it; readings queue until it is behind
 * (64 frames queued, of its 200), then each replaces its topic's pending one
 * (reason behind); feeder/event, alert, alerts, plan and schedule are never
 * coalesced. When lws drains, WRITEABLE writes the queue: every protected
 * message once, in order, and each topic's newest reading. Once the queue
 * is full of what cannot be coalesced, the client is dropped.
 */
Test(command, client_that_stops_reading_is_coalesced_only_when_behind, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	s->queue_max = 200;
	establish_quiet(s);
	wsi.partial_at_write = 1;
	reading(s, 0, 0); /* written; lws keeps part of it */
	cr_assert_eq(wsi.writes, 1);
	static const char *const kept[] = {"iod/home/feeder/event", "iod/home/alert",
					   "iod/home/alerts", "iod/home/feeder/plan",
					   "iod/home/feeder/schedule"};
	unsigned protected_sent = 0;
	for (unsigned i = 1; i <= 3000; i++) {
		reading(s, i % 3, i);
		if (i % 300 == 0) {
			char p[64];
			snprintf(p, sizeof(p), "{\"n\":%u}", i / 300);
			const char *t = kept[(i / 300) % 5];
			server_on_mqtt(s, t, p, strlen(p), glue_now_ms);
			protected_sent++;
		}
	}
	cr_assert_eq(wsi.writes, 1, "nothing written while lws holds a part");
	cr_assert_eq(wsi.writable, 1, "one WRITEABLE asked for the whole backlog");
	cr_assert_eq(c.q.count, 64 + protected_sent, "64 frames, then protected only: %u",
		     c.q.count);
	cr_assert_eq(s->m.frames_coalesced_behind, 3000 - 64);
	cr_assert_eq(s->m.frames_coalesced_full, 0);
	cr_assert_eq(s->m.frames_coalesced, s->m.frames_coalesced_behind);
	cr_assert_eq(s->m.clients_dropped_slow, 0);
	cr_assert(!wsi.killed);
	/* lws drained: WRITEABLE batches write it all. */
	wsi.partial_at_write = 0;
	while (c.q.count)
		cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, 1 + 64 + protected_sent);
	for (unsigned n = 1; n <= protected_sent; n++) {
		char want[96];
		snprintf(want, sizeof(want), "{\"topic\":\"%s\",\"payload\":{\"n\":%u}",
			 kept[n % 5], n);
		const char *at = strstr(wsi.body, want);
		cr_assert_not_null(at, "%s", want);
		cr_assert_null(strstr(at + 1, want), "%s twice", want);
		if (n > 1) {
			char prev[96];
			snprintf(prev, sizeof(prev), "\"payload\":{\"n\":%u}", n - 1);
			cr_assert_lt(strstr(wsi.body, prev), at, "%u before %u", n - 1, n);
		}
	}
	for (unsigned v = 2998; v <= 3000; v++) {
		char want[64];
		snprintf(want, sizeof(want), "{\"value\":%u,", v);
		cr_assert(strstr(wsi.body, want), "the newest reading %u", v);
	}
	/* Stalled again, with only protected messages: full, then dropped. */
	wsi.partial_at_write = wsi.writes;
	reading(s, 0, 1);
	unsigned pushed = 0;
	while (!wsi.killed && pushed < 300) {
		server_on_mqtt(s, "iod/home/feeder/event", "{}", 2, glue_now_ms);
		pushed++;
	}
	cr_assert(wsi.killed);
	cr_assert_eq(pushed, 200, "a reading and 199 events fill it");
	cr_assert_eq(s->m.clients_dropped_slow, 1);
	cr_assert(c.closing);
	ws_closed(s, &c);
	glue_server_free(s);
}

/* At the entry bound a keyed frame still replaces its pending one (reason
 * queue_full) rather than dropping the client. */
Test(command, full_queue_coalesces_as_queue_full, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	establish_quiet(s);
	wsi.partial_at_write = 1;
	reading(s, 0, 0);
	for (unsigned i = 0; i < 31; i++)
		reading(s, 100 + i, i); /* 31 distinct topics: 31 queued */
	for (unsigned i = 0; i < 33; i++)
		server_on_mqtt(s, "iod/home/feeder/event", "{}", 2, glue_now_ms);
	cr_assert_eq(c.q.count, 64);
	reading(s, 100, 7);
	cr_assert_eq(s->m.frames_coalesced_full, 1);
	cr_assert_eq(s->m.frames_coalesced_behind, 0);
	cr_assert(!wsi.killed);
	ws_closed(s, &c);
	glue_server_free(s);
}

/* A direct write lws fails (the peer is gone): the frame counts as dropped
 * and the client is closed, nothing queued for it afterwards. */
Test(command, failed_direct_write_drops_the_client, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	establish_quiet(s);
	wsi.fail_at_write = 2;
	reading(s, 0, 0);
	reading(s, 0, 1);
	cr_assert(wsi.killed);
	cr_assert(c.closing);
	cr_assert_eq(s->m.frames_sent, 1);
	cr_assert_eq(s->m.frames_dropped, 1);
	reading(s, 0, 2);
	cr_assert_eq(wsi.writes, 2);
	cr_assert_eq(c.q.count, 0);
	cr_assert_eq(ws_writeable(s, &wsi, &c), -1);
	ws_closed(s, &c);
	glue_server_free(s);
}

/* Under TLS and on an HTTP/2 stream the fan-out queues and waits for
 * WRITEABLE, as lws wants there. */
Test(command, tls_and_h2_never_write_from_the_fanout, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	establish_quiet(s);
	s->tls = true;
	reading(s, 0, 0);
	cr_assert_eq(wsi.writes, 0);
	cr_assert_eq(c.q.count, 1);
	cr_assert_eq(wsi.writable, 1);
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, 1);
	s->tls = false;
	struct lws h2_connection;
	glue_wsi_reset(&h2_connection);
	wsi.network = &h2_connection;
	reading(s, 0, 1);
	cr_assert_eq(wsi.writes, 1);
	cr_assert_eq(c.q.count, 1);
	cr_assert_eq(s->m.frames_direct, 0);
	ws_closed(s, &c);
	glue_server_free(s);
}

/* ---- accounts (issue 14): the role is the users file's, at each command ---- */

static char users_dir[64];

/* A users file with sam (carer) and vic (viewer), every site. */
static void with_users(struct server *s)
{
	static const struct glue_user users[] = {{"sam", ROLES_CARER, "*"},
						 {"vic", ROLES_VIEWER, "*"}};
	glue_users(s, users_dir, users, 2);
}

static void drop_users(void)
{
	glue_users_drop(users_dir);
}

/* A websocket of user's session (opened as a login would, with that role). */
static void connect_as(struct server *s, const char *user, const char *role)
{
	glue_wsi_reset(&wsi);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(
	    auth_login_finish(s->cfg.auth, "192.168.1.9", user, role, true, glue_now_ms, c.token),
	    AUTH_LOGIN_OK);
	c.is_operator = true;
	c.wsi = &wsi;
	c.site = sites_find(s->cfg.sites, "home"); /* what ws_filter picks */
	cqueue_init(&c.q, s->queue_max, 0, 0);
}

static const char *const PLAN = "{\"type\":\"cmd\",\"action\":\"plan\",\"id\":\"p1\",\"plan\":{"
				"\"rev\":3,\"max_daily\":2,\"slots\":[{\"at\":\"07:00\","
				"\"days\":[\"mon\"]}]}}";
static const char *const REFUSED = "{\"type\":\"error\",\"id\":\"web-1:a.b_c\","
				   "\"reason\":\"not_authorized\"}";

Test(command, each_role_may_what_the_matrix_says_and_by_is_the_user, .timeout = 10)
{
	struct server *s = glue_server_new(false, 10);
	with_users(s);
	/* A viewer's feed: refused, nothing published. */
	connect_as(s, "vic", "viewer");
	send_text(s, FEED);
	expect_frame(REFUSED);
	cr_assert_eq(glue_publishes, 0);
	cqueue_free(&c.q);
	/* A carer's feed: published by sam. */
	connect_as(s, "sam", "carer");
	send_text(s, FEED);
	expect_frame("{\"type\":\"ack\",\"id\":\"web-1:a.b_c\"}");
	cr_assert_eq(glue_publishes, 1);
	cr_assert_str_eq(glue_published, "{\"action\":\"feed\",\"id\":\"web-1:a.b_c\","
					 "\"by\":\"sam\",\"ts\":1795660181000}");
	/* A carer's plan: refused. */
	send_text(s, PLAN);
	expect_frame("{\"type\":\"error\",\"id\":\"p1\",\"reason\":\"not_authorized\"}");
	cr_assert_eq(glue_publishes, 1);
	/* A carer's notify ack: allowed; test: admin's only. */
	send_text(s, "{\"type\":\"cmd\",\"service\":\"notify\",\"action\":\"test\",\"id\":\"t1\"}");
	expect_frame("{\"type\":\"error\",\"id\":\"t1\",\"reason\":\"not_authorized\"}");
	cqueue_free(&c.q);
	/* The first-run admin (no admin in the file): the plan goes out by admin. */
	connect_client(s, true);
	send_text(s, PLAN);
	expect_frame("{\"type\":\"ack\",\"id\":\"p1\"}");
	cr_assert_eq(glue_publishes, 2);
	cr_assert(strstr(glue_published, "\"by\":\"admin\""), "%s", glue_published);
	cqueue_free(&c.q);
	accounts_free(s->cfg.accounts);
	s->cfg.accounts = NULL;
	glue_server_free(s);
	drop_users();
}

Test(command, a_removed_or_demoted_user_loses_the_power_at_the_next_command, .timeout = 10)
{
	struct server *s = glue_server_new(false, 10);
	with_users(s);
	connect_as(s, "sam", "carer");
	send_text(s, FEED);
	expect_frame("{\"type\":\"ack\",\"id\":\"web-1:a.b_c\"}");
	/* iod-user remove sam, then demote... here: the file rewritten. */
	char path[128];
	snprintf(path, sizeof(path), "%s/users", users_dir);
	struct users *set = NULL;
	char err[128];
	cr_assert_eq(users_load(path, &set, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(users_remove(set, "sam"), 0);
	cr_assert_eq(users_save(set, path), 0);
	users_free(set);
	accounts_reload(s->cfg.accounts); /* what the uv_fs_event calls */
	send_text(s, FEED);
	expect_frame(REFUSED);
	cr_assert_eq(glue_publishes, 1);
	/* The session is still there: only its user has no power. */
	cr_assert(auth_session_check(s->cfg.auth, c.token, glue_now_ms));
	/* A bad file keeps the accounts read before. */
	cqueue_free(&c.q);
	connect_as(s, "vic", "viewer");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("this is no users file\n", f);
	fclose(f);
	accounts_reload(s->cfg.accounts);
	enum roles_role role;
	cr_assert_eq(accounts_role(s->cfg.accounts, "vic", &role), 0);
	cr_assert_eq(role, ROLES_VIEWER);
	cr_assert(strstr(glue_last_log, "not used"), "%s", glue_last_log);
	cqueue_free(&c.q);
	accounts_free(s->cfg.accounts);
	s->cfg.accounts = NULL;
	glue_server_free(s);
	drop_users();
}
