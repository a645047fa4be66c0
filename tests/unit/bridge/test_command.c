/* The dashboard protocol's command path and writes (protocol.c): a decoded
 * command with its id published with "by" and answered ack, or the exact
 * error frame and nothing published; reassembly, the size limit, the
 * greeting order and the batched writes. Through the glue with lws and
 * mqttc stubbed (glue_stubs.h). */
#include "glue_stubs.h"

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
	static char big[PROTO_WS_MAX_MSG + 1];
	memset(big, ' ', sizeof(big));
	wsi.final_fragment = false;
	cr_assert_eq(ws_receive(s, &wsi, &c, big, PROTO_WS_MAX_MSG), 0);
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
	server_on_mqtt(s, "iod/home/sensors/temperature", "{\"value\":21.5,\"ts\":1}", 21,
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
	wsi.partial_after_write = true;
	unsigned writes = wsi.writes, asked = wsi.writable;
	cr_assert_eq(ws_writeable(s, &wsi, &c), 0);
	cr_assert_eq(wsi.writes, writes + 1);
	cr_assert_eq(c.q.count, 1);
	cr_assert_eq(wsi.writable, asked + 1, "frames left: WRITEABLE asked again");
	ws_closed(s, &c);
	cr_assert_null(s->clients);
	cr_assert_eq(s->m.clients, 0);
	glue_server_free(s);
}
