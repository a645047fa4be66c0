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

#include "accounts.h"
#include "bmsg.h"
#include "log.h"
#include "mqttc.h"
#include "sites.h"
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

/* The sites this client's user may see now ("*" for a public viewer);
 * NULL when the session has ended or the user is gone. */
static const char *client_sites(struct server *s, struct pss *c)
{
	char user[AUTH_NAME_MAX + 1];
	enum roles_role role;
	if (!c->is_operator)
		return s->cfg.public_view ? "*" : NULL;
	if (!server_session_role(s, c->token, server_now_ms(), user, &role))
		return NULL;
	return accounts_sites(s->cfg.accounts, user);
}

/* May the overview client c see site? Asked once per site per users-file
 * generation, then a bit test per frame. */
static bool overview_sees(struct server *s, struct pss *c, const struct site *site)
{
	unsigned gen = accounts_generation(s->cfg.accounts);
	if (c->gen != gen) {
		memset(c->known, 0, SITES_MAX / 8);
		c->gen = gen;
	}
	unsigned i = site->index, byte = i / 8, bit = 1u << (i % 8);
	if (!(c->known[byte] & bit)) {
		c->known[byte] |= (uint8_t)bit;
		if (roles_site_allowed(client_sites(s, c), site->name))
			c->allowed[byte] |= (uint8_t)bit;
		else
			c->allowed[byte] &= (uint8_t)~bit;
	}
	return c->allowed[byte] & bit;
}

/*
 * One site's frame to the clients that show it: that home's pages, and
 * the overviews whose user may see it (text frames only: no camera frames
 * on the overview). A home's page whose user may no longer see it (the
 * users file changed) is closed.
 */
static void broadcast_site(struct server *s, struct site *site, struct bmsg *m)
{
	unsigned gen = accounts_generation(s->cfg.accounts);
	for (struct pss *c = s->clients; c; c = c->next) {
		if (c->site == site) {
			if (c->gen != gen) {
				c->gen = gen;
				if (!roles_site_allowed(client_sites(s, c), site->name)) {
					s->m.site_clients_dropped++;
					log_info("a dashboard of site %s closed: its user may no "
						 "longer see it",
						 site->name);
					client_drop(c);
					continue;
				}
			}
			client_push(s, c, m, true);
		} else if (c->overview && !m->binary && overview_sees(s, c, site)) {
			client_push(s, c, m, true);
		}
	}
}

/* The alert set, the plan and the schedule must each reach every client
 * like alerts and feeder events (state.c keys those 0): never coalesced. */
static bool never_coalesced(const struct site *site, const char *topic)
{
	size_t n = strlen(site->name);
	if (strncmp(topic, "iod/", 4) || strncmp(topic + 4, site->name, n) || topic[4 + n] != '/')
		return false;
	const char *rest = topic + 4 + n + 1;
	return !strcmp(rest, "alerts") || !strcmp(rest, "feeder/plan") ||
	       !strcmp(rest, "feeder/schedule");
}

void server_on_mqtt(struct server *s, const char *topic, const void *payload, size_t len,
		    int64_t received_ms)
{
	s->m.mqtt_messages++;
	bool refused = false;
	struct site *site = sites_of_topic(s->cfg.sites, topic, &refused);
	if (!site) {
		s->m.mqtt_refused++;
		if (refused && sites_refused(s->cfg.sites) == 1)
			log_warn("IOD_BRIDGE_SITES=*: %d sites served already: the messages of "
				 "new sites are refused (iod_bridge_sites_refused_total)",
				 SITES_MAX);
		return;
	}
	struct proto_topic_parts parts;
	if (proto_topic_split(topic, &parts) == 0 && parts.leaf && !strcmp(parts.leaf, "info"))
		sites_take_info(site, parts.service, payload, len);
	const char *why = NULL;
	struct bmsg *m = state_ingest(site->state, topic, payload, len, received_ms, &why);
	if (!m) {
		if (why && strcmp(why, "cleared"))
			s->m.mqtt_refused++;
		return;
	}
	/* The frame is state.c's cached one too: a newcomer's snapshot keeps it. */
	if (m->key && never_coalesced(site, topic))
		m->key = 0;
	broadcast_site(s, site, m);
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

/* The ?site= of this upgrade, "" when absent; false when too long to be
 * a site (refused as one this bridge does not serve). */
static bool upgrade_site_arg(struct lws *wsi, char arg[PROTO_SITE_MAX + 2])
{
	int got = http_query_arg(wsi, "site", arg, PROTO_SITE_MAX + 2);
	if (got < 0)
		arg[0] = '\0';
	return got != -2;
}

/* Where this upgrade goes: 0 with c->site / c->overview, or the status to
 * refuse it with (404 a site not served, 403 one the user may not see). */
static unsigned upgrade_pick(struct server *s, struct lws *wsi, bool in, const char *token,
			     struct site **site, bool *overview)
{
	char arg[PROTO_SITE_MAX + 2], user[AUTH_NAME_MAX + 1];
	enum roles_role role;
	*site = NULL;
	*overview = false;
	if (!upgrade_site_arg(wsi, arg))
		return 404;
	const char *sites = NULL;
	if (in && server_session_role(s, token, server_now_ms(), user, &role))
		sites = accounts_sites(s->cfg.accounts, user);
	else if (s->cfg.public_view)
		sites = "*";
	unsigned st = server_pick_site(s, arg, sites, true, site);
	*overview = !st && !*site;
	return st;
}

/*
 * Before the 101: refuse with a real HTTP status the browser can see, in
 * this order: not /ws 404, a Host not ours 421 (with a body saying why),
 * an Origin not this host 403, no live session while the public view is
 * off 401, a ?site= this bridge does not serve 404 or one the user may not
 * see 403, every slot taken 503. Each refusal is counted.
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
	bool in = http_request_operator(s, wsi, token);
	if (!in && !s->cfg.public_view) {
		s->m.clients_refused++;
		lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, NULL);
		return 1;
	}
	struct site *site;
	bool overview;
	unsigned st = upgrade_pick(s, wsi, in, token, &site, &overview);
	if (st) {
		s->m.clients_refused++;
		lws_return_http_status(wsi, st,
				       st == 404 ? "this bridge does not serve that site"
						 : "this user may not see that site");
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

/* The refusals were made in ws_confirm_upgrade(); here the role and the
 * site are recorded in this websocket's own session data. */
int ws_filter(struct server *s, struct lws *wsi, struct pss *c)
{
	c->is_operator = http_request_operator(s, wsi, c->token);
	if (!c->is_operator && !s->cfg.public_view)
		return 1;
	if (upgrade_pick(s, wsi, c->is_operator, c->token, &c->site, &c->overview))
		return 1;
	if (c->overview) {
		c->known = calloc(2, SITES_MAX / 8);
		if (!c->known)
			return 1;
		c->allowed = c->known + SITES_MAX / 8;
	}
	c->gen = accounts_generation(s->cfg.accounts);
	return 0;
}

/*
 * The overview's snapshot goes out as few websocket messages: each home's
 * {"type":"batch","frames":[…]} (state_snapshot_batches(), cut at
 * STATE_BATCH_BYTES), whose elements are its cached frames exactly as
 * they would go alone. A browser spends about the same on a message event
 * whatever its size: in Chromium on the 2-core machine 200 homes'
 * 2,205 frames one by one took it 0.67 s from hello to ready, one batch a
 * home 0.2 s (bench/sites).
 * The home keeps its batches until something in them changes, so the
 * overviews connecting together share them, as they shared the frames.
 * A home's page keeps one frame per topic: its snapshot is a few dozen.
 */
static void overview_snapshot(struct server *s, struct pss *c, int64_t now)
{
	struct snapshot_to to = {s, c};
	for (size_t i = 0; i < sites_count(s->cfg.sites) && !c->closing; i++) {
		struct site *one = sites_at(s->cfg.sites, i);
		if (!overview_sees(s, c, one))
			continue;
		if (state_snapshot_batches(one->state, now, snapshot_visit, &to) < 0 &&
		    !c->closing) {
			/* A snapshot with a hole is worse than none: it reconnects. */
			log_warn("out of memory for an overview's snapshot: dropping the client");
			client_drop(c);
		}
	}
}

int ws_established(struct server *s, struct lws *wsi, struct pss *c)
{
	c->wsi = wsi;
	uint32_t max = s->queue_max;
	if (c->overview) {
		/* Every cached topic of every home it may see, and the slack. */
		uint64_t want = s->cfg.queue_slack + 8;
		for (size_t i = 0; i < sites_count(s->cfg.sites); i++) {
			struct state_stats st;
			state_get_stats(sites_at(s->cfg.sites, i)->state, &st);
			want += st.topics + STATE_ALERTS_MAX;
		}
		/* room for homes that appear later: as many again */
		want *= 2;
		max = want > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)want;
	}
	cqueue_init(&c->q, max, WS_BEHIND_BYTES, WS_BEHIND_FRAMES);
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
	bool in = c->is_operator && server_session_role(s, c->token, now, user, &role);
	bool may = in && !roles_may(role, "feeder", "feed");
	/* The homes it may see: its user's, every one for a public viewer,
	 * none for a session that ended in between. */
	const char *sites = client_sites(s, c);
	client_push_text(s, c,
			 wsmsg_hello_encode_sites(c->site ? c->site->name : "*",
						  server_sites_json(s, sites), may, s->broker_up,
						  IOD_VERSION, now));
	client_push_text(s, c, wsmsg_broker_encode(s->broker_up, now));
	if (c->overview) {
		overview_snapshot(s, c, now);
	} else {
		struct snapshot_to to = {s, c};
		state_snapshot(c->site->state, now, snapshot_visit, &to);
	}
	client_push_text(s, c, proto_ws_ready_encode());
	log_debug("websocket client connected (%s, %s), %llu now",
		  c->is_operator ? "operator" : "viewer", c->site ? c->site->name : "overview",
		  (unsigned long long)s->m.clients);
	return 0;
}

void ws_closed(struct server *s, struct pss *c)
{
	if (!c->established) {
		free(c->known);
		c->known = c->allowed = NULL;
		return;
	}
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
	free(c->known);
	c->known = c->allowed = NULL;
	s->m.clients--;
}

void ws_close_ended_sessions(struct server *s)
{
	for (struct pss *c = s->clients; c; c = c->next)
		if (c->is_operator && !c->closing && !auth_session_exists(s->cfg.auth, c->token)) {
			log_debug("a dashboard's session ended: closing it");
			client_drop(c);
		}
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
	/* The home the command is for: this page's, or on the overview the
	 * command's own "site" (taken out before the command is decoded). */
	struct site *site = c->site;
	char *rest = NULL;
	if (c->overview) {
		char name[PROTO_SITE_MAX + 1], id[PROTO_ID_MAX + 1];
		int k = wsmsg_take_site(text, len, name, id, &rest);
		if (k == -2)
			return;
		if (k >= 0) {
			site = k == 1 ? sites_find(s->cfg.sites, name) : NULL;
			if (!site) {
				s->m.commands_refused++;
				free(rest);
				client_push_text(s, c,
						 proto_ws_error_encode(id[0] ? id : NULL,
								       WSMSG_REASON_UNKNOWN_SITE));
				return;
			}
			text = rest;
			len = strlen(rest);
		}
	}
	/* The user's sites now: a command for a home it may not see is
	 * refused as one above its role. */
	if (op && site && !roles_site_allowed(accounts_sites(s->cfg.accounts, user), site->name))
		op = false;
	struct wsmsg_result r;
	if (wsmsg_handle_as(text, len, op ? &role : NULL, up, user, now, &r) < 0) {
		free(rest);
		return;
	}
	free(rest);
	const char *topic = !site		       ? NULL
			    : r.target == WSMSG_NOTIFY ? site->notify_cmd
						       : site->feeder_cmd;
	if (r.accepted &&
	    (!topic || mqttc_publish_str(s->cfg.mqtt, topic, r.publish, 1, false) < 0)) {
		free(r.reply);
		r.reply = proto_ws_error_encode(r.id, PROTO_REASON_BROKER_UNAVAILABLE);
		r.accepted = false;
		r.reason = PROTO_REASON_BROKER_UNAVAILABLE;
	}
	if (r.is_command) {
		if (r.accepted) {
			s->m.commands_accepted++;
			log_info("command from the dashboard published on %s: %s", topic,
				 r.publish);
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
	/* The home whose notification it was: ?site= (the service worker's
	 * action URL carries it), else the user's first. */
	char arg[PROTO_SITE_MAX + 2];
	struct site *site = NULL;
	int got = http_query_arg(wsi, "site", arg, sizeof(arg));
	unsigned st =
	    got == -2
		? 404
		: server_pick_site(s, got == 0 ? arg : NULL,
				   op ? accounts_sites(s->cfg.accounts, user) : NULL, false, &site);
	if (op && st == 404)
		return http_respond_json(wsi, pss, 404, "{\"error\":\"unknown_site\"}", NULL);
	if (st)
		op = false;
	struct wsmsg_result r;
	if (wsmsg_notify_ack_as(pss->post ? pss->post : "", pss->post_len, op ? &role : NULL, up,
				user, server_now_ms(), &r) < 0)
		return http_respond_json(wsi, pss, 500, "{\"error\":\"internal\"}", NULL);
	if (r.accepted &&
	    mqttc_publish_str(s->cfg.mqtt, site->notify_cmd, r.publish, 1, false) < 0) {
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
