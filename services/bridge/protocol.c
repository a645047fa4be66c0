/*
 * protocol.c — the /ws dashboard protocol: who may upgrade (Host, Origin,
 * session or public view, room), each client's bounded queue and the
 * fan-out into it, the greeting and state on connect, receiving (and
 * reassembling) messages, publishing an accepted command on feeder/cmd or
 * notify/cmd (and the service worker's POST /api/notify/ack), and
 * the batched writes per SERVER_WRITEABLE. It owns the websocket half of
 * struct pss and server.clients, and so is where server.h's MQTT entry
 * points (server_on_mqtt, server_set_broker) fan out.
 *
 * It does not know how HTTP responses or static files are made (http.c,
 * whose header helpers it uses), how a message is decoded (wsmsg.c over
 * proto/), nor the context's lifecycle (server.c). Loop thread only.
 */
#include "server_internal.h"

#include "bmsg.h"
#include "log.h"
#include "mqttc.h"
#include "state.h"
#include "wsmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A client is behind when its queue holds more than WS_BEHIND_BYTES payload
 * bytes (about four 30 KB camera frames, two WS_BATCH_BYTES batches) or
 * WS_BEHIND_FRAMES frames (two WS_BATCH_FRAMES batches): only then is a
 * pending frame replaced by a newer one of the same topic. A client that
 * keeps up has an empty queue (frames go out at once, client_push()), so
 * frames wait only while lws holds part of a write. That alone is not
 * "stalled": lws 4.1.6 sends at most 4 KiB + LWS_PRE + 4 bytes per write and
 * buffers the rest of any bigger frame even when the socket would take it,
 * so every camera frame leaves a partial for a moment; the queue's bytes and
 * frames say when the socket really stopped taking them.
 */
#define WS_BEHIND_BYTES	 (128 * 1024)
#define WS_BEHIND_FRAMES 64

/*
 * Write at once (issue 15). A frame from the MQTT fan-out goes straight to
 * a client with nothing pending: nothing in its queue and nothing lws holds
 * (lws_partial_buffered()), on a plain HTTP/1 websocket. No WRITEABLE round
 * trip, so no lws_callback_on_writable() and none of the uv_poll_start() /
 * epoll_ctl() pairs lws 4.1.6's libuv backend makes of it. What lws 4.1.6
 * does with such a write (lib/core-net/output.c, lws_issue_raw(); the
 * strings "new partial sent", "incr buflist_out by" and "partial adv" are in
 * Debian's libwebsockets.so.17): the frame header goes into the LWS_PRE
 * headroom (identical for every server frame, so the shared bmsg is fine on
 * one thread), then one send(); a short send, or EAGAIN, copies the rest to
 * the wsi's buflist_out, returns the whole length and asks for POLLOUT
 * itself, and lws drains that buffer on POLLOUT before any WRITEABLE
 * callback. Its rule "write only from WRITEABLE" guards two things, which
 * this keeps: never a write while lws holds part of a frame (it would send
 * the next frame without its header: the ws role thinks it is still inside
 * the frame), which lws_partial_buffered() tells; and the socket's state,
 * which a non-blocking send() answers without blocking. Not done where lws
 * is less forgiving: an HTTP/2 stream (its writes go through the parent's
 * flow control, one per WRITEABLE), TLS (a retried SSL_write after
 * WANT_WRITE), or from inside an lws callback (the greeting at ESTABLISHED,
 * an answer at RECEIVE): those queue and wait for WRITEABLE as before. A
 * failed write drops the client the way an overflow does. The unit tests
 * (test_command.c) pin each case against the lws stubs.
 */
static bool client_can_write_now(const struct server *s, struct pss *c)
{
	return !s->tls && !c->q.count && lws_get_network_wsi(c->wsi) == c->wsi &&
	       !lws_partial_buffered(c->wsi);
}

static void client_drop(struct pss *c)
{
	c->closing = true;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* direct: from the MQTT fan-out (outside lws' callbacks): may write at once. */
static void client_push(struct server *s, struct pss *c, struct bmsg *m, bool direct)
{
	if (c->closing)
		return;
	if (direct && client_can_write_now(s, c)) {
		int n = lws_write(c->wsi, bmsg_data(m), m->len,
				  m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		if (n < 0 || (size_t)n < m->len) {
			s->m.frames_dropped++;
			/* The peer is gone (reset, closed): a disconnect, not news. */
			log_debug("websocket client's write failed: dropping it");
			client_drop(c);
			return;
		}
		s->m.frames_sent++;
		s->m.frames_direct++;
		return;
	}
	enum cqueue_result r = cqueue_push(&c->q, m);
	switch (r) {
	case CQUEUE_QUEUED:
		if (c->q.count > s->m.queue_high_water)
			s->m.queue_high_water = c->q.count;
		/* One WRITEABLE per batch: a queue already non-empty has asked. */
		if (c->q.count == 1)
			lws_callback_on_writable(c->wsi);
		break;
	case CQUEUE_COALESCED_BEHIND:
		s->m.frames_coalesced++;
		s->m.frames_coalesced_behind++;
		break;
	case CQUEUE_COALESCED_FULL:
		s->m.frames_coalesced++;
		s->m.frames_coalesced_full++;
		break;
	case CQUEUE_FULL:
		/* More distinct pending messages than any live client could have:
		 * drop this one and the client; it reconnects and resyncs. */
		s->m.frames_dropped++;
		s->m.clients_dropped_slow++;
		log_warn("websocket client too slow (%u queued): dropping it", c->q.count);
		client_drop(c);
		break;
	}
}

/* A frame holding text (taken: freed here, NULL allowed); NULL on failure. */
static struct bmsg *text_frame(char *text)
{
	if (!text)
		return NULL;
	struct bmsg *m = bmsg_new(LWS_PRE, text, strlen(text), false, 0);
	free(text);
	return m;
}

static void client_push_text(struct server *s, struct pss *c, char *text)
{
	struct bmsg *m = text_frame(text);
	if (!m)
		return;
	client_push(s, c, m, false);
	bmsg_unref(m);
}

static void broadcast(struct server *s, struct bmsg *m)
{
	for (struct pss *c = s->clients; c; c = c->next)
		client_push(s, c, m, true);
}

/* The alert set, the plan and the schedule must each reach every client
 * like alerts and feeder events (state.c keys those 0): never coalesced. */
static bool never_coalesced(struct server *s, const char *topic)
{
	if (!s->keep_topics_ready) {
		const char *site = s->cfg.site;
		if (proto_topic(s->keep_topics[0], PROTO_TOPIC_MAX, site, "alerts", NULL) < 0 ||
		    proto_topic(s->keep_topics[1], PROTO_TOPIC_MAX, site, "feeder", "plan") < 0 ||
		    proto_topic(s->keep_topics[2], PROTO_TOPIC_MAX, site, "feeder", "schedule") < 0)
			memset(s->keep_topics, 0, sizeof(s->keep_topics));
		s->keep_topics_ready = true;
	}
	for (size_t i = 0; i < sizeof(s->keep_topics) / sizeof(s->keep_topics[0]); i++)
		if (!strcmp(topic, s->keep_topics[i]))
			return true;
	return false;
}

void server_on_mqtt(struct server *s, const char *topic, const void *payload, size_t len,
		    int64_t received_ms)
{
	s->m.mqtt_messages++;
	const char *why = NULL;
	struct bmsg *m = state_ingest(s->cfg.state, topic, payload, len, received_ms, &why);
	if (!m) {
		if (why && strcmp(why, "cleared"))
			s->m.mqtt_refused++;
		return;
	}
	/* The frame is state.c's cached one too: a newcomer's snapshot keeps it. */
	if (m->key && never_coalesced(s, topic))
		m->key = 0;
	broadcast(s, m);
	bmsg_unref(m);
}

void server_set_broker(struct server *s, bool connected)
{
	if (!s || s->broker_up == connected)
		return;
	s->broker_up = connected;
	struct bmsg *m = text_frame(wsmsg_broker_encode(connected, server_now_ms()));
	if (!m)
		return;
	broadcast(s, m);
	bmsg_unref(m);
}

struct snapshot_to {
	struct server *s;
	struct pss *c;
};

static int snapshot_visit(void *arg, struct bmsg *m)
{
	struct snapshot_to *to = arg;
	client_push(to->s, to->c, m, false);
	return to->c->closing ? -1 : 0;
}

/*
 * Before the 101: refuse with a real HTTP status the browser can see, in
 * this order: not /ws 404, a Host not ours 421 (with a body saying why),
 * an Origin not this host 403, no live session while the public view is
 * off 401, every slot taken 503. Each refusal is counted.
 */
int ws_confirm_upgrade(struct server *s, struct lws *wsi, const char *what)
{
	char uri[64];
	if (!what || strcmp(what, "websocket"))
		return -1;
	if (http_header(wsi, WSI_TOKEN_GET_URI, uri, sizeof(uri)) < 0 || strcmp(uri, "/ws")) {
		s->m.clients_refused++;
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return 1;
	}
	if (!http_host_ok(s, wsi)) {
		s->m.clients_refused++;
		s->m.hosts_refused++;
		lws_return_http_status(wsi, 421, http_host_refused);
		return 1;
	}
	if (!http_origin_ok(wsi)) {
		s->m.clients_refused++;
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
		return 1;
	}
	char token[AUTH_TOKEN_HEX + 1];
	if (!http_request_operator(s, wsi, token) && !s->cfg.public_view) {
		s->m.clients_refused++;
		lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, NULL);
		return 1;
	}
	if (s->m.clients >= s->cfg.max_clients) {
		s->m.clients_refused++;
		log_warn("websocket refused: %u clients already", s->cfg.max_clients);
		lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
		return 1;
	}
	return 0;
}

/* The refusals were made in ws_confirm_upgrade(); here the role is
 * recorded in this websocket's own session data. */
int ws_filter(struct server *s, struct lws *wsi, struct pss *c)
{
	c->is_operator = http_request_operator(s, wsi, c->token);
	if (!c->is_operator && !s->cfg.public_view)
		return 1;
	return 0;
}

int ws_established(struct server *s, struct lws *wsi, struct pss *c)
{
	c->wsi = wsi;
	cqueue_init(&c->q, s->queue_max, WS_BEHIND_BYTES, WS_BEHIND_FRAMES);
	c->established = true;
	c->prev = NULL;
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->m.clients++;
	/* hello, the state, ready: queued in one go on this thread, so no live
	 * message can slip in between. */
	int64_t now = server_now_ms();
	/* hello's operator: this session's user may command (a viewer may not). */
	char user[AUTH_NAME_MAX + 1];
	enum roles_role role;
	bool may = c->is_operator && server_session_role(s, c->token, now, user, &role) &&
		   !roles_may(role, "feeder", "feed");
	client_push_text(s, c,
			 wsmsg_hello_encode(s->cfg.site, may, s->broker_up, IOD_VERSION, now));
	client_push_text(s, c, wsmsg_broker_encode(s->broker_up, now));
	struct snapshot_to to = {s, c};
	state_snapshot(s->cfg.state, now, snapshot_visit, &to);
	client_push_text(s, c, proto_ws_ready_encode());
	log_debug("websocket client connected (%s), %llu now",
		  c->is_operator ? "operator" : "viewer", (unsigned long long)s->m.clients);
	return 0;
}

void ws_closed(struct server *s, struct pss *c)
{
	if (!c->established)
		return;
	c->established = false;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cqueue_free(&c->q);
	free(c->rx);
	c->rx = NULL;
	s->m.clients--;
}

/*
 * A command wsmsg.c accepted is published here; when the publish fails the
 * ack it prepared becomes the error frame broker_unavailable, naming the
 * id the decoder read (r.id), and the command counts as refused.
 */
void ws_message(struct server *s, struct pss *c, const void *text, size_t len)
{
	int64_t now = server_now_ms();
	/* The session's user and the role the users file gives it now. */
	char user[AUTH_NAME_MAX + 1] = "";
	enum roles_role role;
	bool op = c->is_operator && server_session_role(s, c->token, now, user, &role);
	/* Both: the page was told the broker is up, and it still is (Paho's
	 * flag drops the moment the connection is lost, before the loop hears). */
	bool up = s->broker_up && s->cfg.mqtt && mqttc_is_connected(s->cfg.mqtt);
	struct wsmsg_result r;
	if (wsmsg_handle_as(text, len, op ? &role : NULL, up, user, now, &r) < 0)
		return;
	const char *topic = r.target == WSMSG_NOTIFY ? s->notify_cmd_topic : s->cmd_topic;
	if (r.accepted && mqttc_publish_str(s->cfg.mqtt, topic, r.publish, 1, false) < 0) {
		free(r.reply);
		r.reply = proto_ws_error_encode(r.id, PROTO_REASON_BROKER_UNAVAILABLE);
		r.accepted = false;
		r.reason = PROTO_REASON_BROKER_UNAVAILABLE;
	}
	if (r.is_command) {
		if (r.accepted) {
			s->m.commands_accepted++;
			log_info("command from the dashboard published: %s", r.publish);
		} else {
			s->m.commands_refused++;
			log_info("command from the dashboard refused (%s): %s",
				 user[0] ? user : "no session", r.reason);
		}
	}
	client_push_text(s, c, r.reply);
	r.reply = NULL;
	wsmsg_result_free(&r);
}

int ws_receive(struct server *s, struct lws *wsi, struct pss *c, const void *in, size_t len)
{
	bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	/* A cmd may be up to PROTO_WS_MAX_CMD (a 48-slot plan); the decoder
	 * refuses anything else over PROTO_WS_MAX_MSG too_large. */
	if (c->rx_len + len > PROTO_WS_MAX_CMD) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				 (unsigned char *)"too large", 9);
		return -1;
	}
	if (final && !c->rx_len) {
		ws_message(s, c, in, len);
		return 0;
	}
	if (!c->rx) {
		c->rx = malloc(PROTO_WS_MAX_CMD);
		if (!c->rx)
			return -1;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (final) {
		ws_message(s, c, c->rx, c->rx_len);
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
	}
	return 0;
}

/*
 * Why several lws_write() per WRITEABLE here, unlike the lws examples' one:
 * on lws 4.1.6's libuv backend every lws_callback_on_writable(), and lws'
 * own POLLOUT reset before the callback, is a uv_poll_start(), which libuv
 * carries out as epoll_ctl DEL + ADD: about four epoll_ctl() per callback,
 * some 30 % of the bridge's CPU at one frame per callback (perf,
 * bench/bridge). A client with a backlog (a snapshot on connect, a loop that
 * fell behind) now pays that once per batch. On an HTTP/1 websocket lws 4.1.6
 * allows more writes in one callback as long as the previous one went out
 * whole: a short send leaves the rest on the wsi's buflist_out, which
 * lws_partial_buffered() reports, and then we must stop and wait for the next
 * WRITEABLE (lws drains its buffer first). The batch is bounded so one client
 * with a backlog cannot hold the loop long. An HTTP/2 stream (wss with h2)
 * keeps one write per callback: its writes go through the parent's flow
 * control, and lws expects exactly one per WRITEABLE there. lws 4.1.6 sends
 * at most 4 KiB (its service buffer) + LWS_PRE + 4 bytes per write and
 * buffers the rest (strace: every send of a bigger frame is 4116 bytes), so
 * a frame over that always ends the batch; writing on while lws holds a part
 * drops the client (tests/integration/bridge/itest_bridge.c, slow reader).
 * None of this is lws' documented contract, so services/bridge/CMakeLists.txt
 * refuses an lws other than 4.1.x, and tests/unit/bridge/test_command.c pins
 * what the batch does with a buffered write.
 */
#define WS_BATCH_FRAMES 32
#define WS_BATCH_BYTES	(64 * 1024)

int ws_writeable(struct server *s, struct lws *wsi, struct pss *c)
{
	if (c->closing)
		return -1;
	bool batch = lws_get_network_wsi(wsi) == wsi;
	size_t bytes = 0;
	for (int frames = 0; frames < WS_BATCH_FRAMES && bytes < WS_BATCH_BYTES; frames++) {
		struct bmsg *m = cqueue_pop(&c->q);
		if (!m)
			return 0;
		size_t len = m->len;
		int n = lws_write(wsi, bmsg_data(m), len,
				  m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		bmsg_unref(m);
		if (n < 0 || (size_t)n < len)
			return -1;
		s->m.frames_sent++;
		bytes += len;
		if (!batch || lws_partial_buffered(wsi))
			break;
	}
	if (c->q.count)
		lws_callback_on_writable(wsi);
	return 0;
}

/*
 * POST /api/notify/ack (a notification's Acknowledge, from the service
 * worker, which has no websocket): the operator's session cookie, then the
 * same command the websocket would publish. 202 {"ok":true,"id"?}: on
 * notify/cmd (iod-notify answers on notify/event); 401 not_authorized,
 * 503 broker_unavailable, 400 with the decoder's reason.
 */
int notify_ack_post(struct server *s, struct lws *wsi, struct pss *pss)
{
	char token[AUTH_TOKEN_HEX + 1], user[AUTH_NAME_MAX + 1];
	enum roles_role role;
	bool op = http_request_user(s, wsi, token, user, &role);
	bool up = s->broker_up && s->cfg.mqtt && mqttc_is_connected(s->cfg.mqtt);
	struct wsmsg_result r;
	if (wsmsg_notify_ack_as(pss->post ? pss->post : "", pss->post_len, op ? &role : NULL, up,
				user, server_now_ms(), &r) < 0)
		return http_respond_json(wsi, pss, 500, "{\"error\":\"internal\"}", NULL);
	if (r.accepted &&
	    mqttc_publish_str(s->cfg.mqtt, s->notify_cmd_topic, r.publish, 1, false) < 0) {
		r.accepted = false;
		r.reason = PROTO_REASON_BROKER_UNAVAILABLE;
	}
	unsigned status = 202;
	char body[160];
	if (r.accepted) {
		s->m.commands_accepted++;
		log_info("acknowledgement from a notification published: %s", r.publish);
		snprintf(body, sizeof(body), "{\"ok\":true}");
	} else {
		s->m.commands_refused++;
		log_info("acknowledgement from a notification refused: %s", r.reason);
		status = !strcmp(r.reason, PROTO_REASON_NOT_AUTHORIZED)	      ? 401
			 : !strcmp(r.reason, PROTO_REASON_BROKER_UNAVAILABLE) ? 503
									      : 400;
		snprintf(body, sizeof(body), "{\"error\":\"%s\"}", r.reason);
	}
	wsmsg_result_free(&r);
	return http_respond_json(wsi, pss, status, body, NULL);
}
