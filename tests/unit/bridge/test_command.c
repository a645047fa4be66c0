/* The dashboard protocol's command path and writes (protocol.c): a decoded
 * command with its id published with "by" and answered ack, or the exact
 * error frame and nothing published; reassembly, the size limit, the
 * greeting order and the batched writes. Through the glue with lws and
 * mqttc stubbed (glue_stubs.h). */
#include "glue_stubs.h"

#include "bmsg.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	cqueue_init(&c.q, s->queue_max);
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
					 "\"by\":\"operator\",\"ts\":1795660181000}");
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
	cr_assert_str_eq(glue_last_log, "command from the dashboard refused: broker_unavailable");
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
					 "\"by\":\"operator\",\"ts\":1795660181000}");
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
	const char *hello = "{\"type\":\"hello\",\"site\":\"home\",\"operator\":true,"
			    "\"broker\":true,\"version\":\"" IOD_VERSION "\",\"ts\":1795660181000}";
	cr_assert(!strncmp(wsi.body, hello, strlen(hello)), "%s", wsi.body);
	cr_assert(strstr(wsi.body, "}{\"type\":\"broker\",\"connected\":true,\"ts\":1795660181000}"
				   "{\"topic\":\"iod/home/sensors/temperature\""),
		  "%s", wsi.body);
	const char *ready = "{\"type\":\"ready\"}";
	cr_assert_str_eq(wsi.body + wsi.body_len - strlen(ready), ready);
	/* A live message reaches it; a write lws buffered ends the batch. */
	server_set_broker(s, false);
	server_set_broker(s, true);
	cr_assert_eq(c.q.count, 2);
	unsigned writes = wsi.writes, asked = wsi.writable;
	wsi.partial_at_write = writes + 1;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, writes + 1);
	cr_assert_eq(c.q.count, 1);
	cr_assert_eq(wsi.writable, asked + 1, "frames left: WRITEABLE asked again");
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
