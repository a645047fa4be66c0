/*
 * server.c — libwebsockets glue. One protocol ("iod.v1", also bound to
 * clients that name no subprotocol) handles HTTP and the websocket, in the
 * shape of the lws minimal examples: per-session data in struct pss, writes
 * only from WRITEABLE callbacks (a websocket writes a bounded batch per
 * callback, see ws_writeable()).
 */
#include "server.h"

#include "auth.h"
#include "bindaddr.h"
#include "bmsg.h"
#include "cqueue.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "mqttc.h"
#include "proto.h"
#include "state.h"
#include "webcache.h"
#include "webpath.h"
#include "wsmsg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define CSP                                                                                        \
	"default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; "   \
	"script-src 'self'; frame-ancestors 'none'"
#define POST_MAX 4096
/* The dashboard is ~0.3 MB with uPlot; room for it many times over. */
#define WEBCACHE_MAX_BYTES (32u << 20)
#define WEBCACHE_MAX_FILE  (8u << 20)
#define HTTP_CHUNK	   16384 /* body bytes per HTTP_WRITEABLE */

enum post_target { POST_NONE, POST_LOGIN, POST_LOGOUT };

/* Per connection (HTTP, then maybe websocket). Zeroed by lws. */
struct pss {
	struct lws *wsi;
	/* websocket */
	struct pss *prev, *next; /* in server.clients */
	struct cqueue q;
	bool established;
	bool operator;
	bool closing;			/* queue overflowed: being dropped */
	char token[AUTH_TOKEN_HEX + 1]; /* the operator's session, re-checked per command */
	char *rx;			/* a fragmented message being reassembled */
	size_t rx_len;
	/* http */
	bool head;  /* a HEAD request: headers only */
	char *resp; /* body waiting for HTTP_WRITEABLE */
	size_t resp_len;
	struct webfile *file;	   /* a static file being sent (a reference) */
	const unsigned char *body; /* its data or gzip copy */
	size_t body_len, body_off;
	char *post;
	size_t post_len;
	bool post_too_large;
	enum post_target post_target;
};

struct server {
	struct server_config cfg;
	struct lws_context *ctx; /* NULL once lws has finished destroying it */
	bool stopping;
	char web_root[PATH_MAX]; /* realpath of web_dir; "" = none */
	char cmd_topic[PROTO_TOPIC_MAX];
	bool tls;
	struct pss *clients;
	struct webcache *cache;
	bool broker_up; /* the MQTT connection as the clients were last told */
	uint32_t queue_max;
	struct bridge_metrics m;
};

static int64_t now_ms(void)
{
	return loop_wall_ms();
}

/* ---- client queues -------------------------------------------------------- */

static void client_push(struct server *s, struct pss *c, struct bmsg *m)
{
	if (c->closing)
		return;
	enum cqueue_result r = cqueue_push(&c->q, m);
	switch (r) {
	case CQUEUE_QUEUED:
		if (c->q.count > s->m.queue_high_water)
			s->m.queue_high_water = c->q.count;
		if (c->q.count == 1)
			lws_callback_on_writable(c->wsi);
		break;
	case CQUEUE_COALESCED:
		s->m.frames_coalesced++;
		break;
	case CQUEUE_FULL:
		/* More distinct pending messages than any live client could have:
		 * drop this one and the client; it reconnects and resyncs. */
		s->m.frames_dropped++;
		s->m.clients_dropped_slow++;
		c->closing = true;
		log_warn("websocket client too slow (%u queued): dropping it", c->q.count);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
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
	client_push(s, c, m);
	bmsg_unref(m);
}

static int snapshot_visit(void *arg, struct bmsg *m)
{
	struct pss *c = arg;
	struct server *s = lws_context_user(lws_get_context(c->wsi));
	client_push(s, c, m);
	return c->closing ? -1 : 0;
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
	for (struct pss *c = s->clients; c; c = c->next)
		client_push(s, c, m);
	bmsg_unref(m);
}

/* ---- HTTP ------------------------------------------------------------------ */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p,
					   end);
}

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	return add_header(wsi, "content-security-policy:", CSP, p, end) ||
	       add_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
	       add_header(wsi, "referrer-policy:", "no-referrer", p, end) ||
	       add_header(wsi, "x-frame-options:", "DENY", p, end);
}

/*
 * Send status + headers now and queue body for HTTP_WRITEABLE. extra is a
 * NULL-terminated list of name, value pairs ("set-cookie:", "..."). Returns
 * the value for the callback to return.
 */
static int respond(struct lws *wsi, struct pss *pss, unsigned status, const char *ctype,
		   const char *body, const char *const *extra)
{
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	size_t len = strlen(body);
	if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
	    add_security_headers(wsi, &p, end) ||
	    add_header(wsi, "cache-control:", "no-store", &p, end))
		return 1;
	for (; extra && extra[0]; extra += 2)
		if (add_header(wsi, extra[0], extra[1], &p, end))
			return 1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	if (pss->head)
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	free(pss->resp);
	pss->resp = malloc(LWS_PRE + len + 1);
	if (!pss->resp)
		return 1;
	memcpy(pss->resp + LWS_PRE, body, len + 1);
	pss->resp_len = len;
	lws_callback_on_writable(wsi);
	return 0;
}

static int respond_json(struct lws *wsi, struct pss *pss, unsigned status, const char *body,
			const char *const *extra)
{
	return respond(wsi, pss, status, "application/json", body, extra);
}

static int hdr(struct lws *wsi, enum lws_token_indexes t, char *buf, int size)
{
	buf[0] = '\0';
	if (lws_hdr_total_length(wsi, t) <= 0 || lws_hdr_copy(wsi, buf, size, t) < 0) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* The session token of this request's cookie when it names a live session. */
static bool request_operator(struct server *s, struct lws *wsi, char token[AUTH_TOKEN_HEX + 1])
{
	char cookie[2048];
	token[0] = '\0';
	if (hdr(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof(cookie)) < 0)
		return false;
	if (auth_cookie_token(cookie, token) < 0)
		return false;
	if (!auth_session_check(s->cfg.auth, token, now_ms())) {
		token[0] = '\0';
		return false;
	}
	return true;
}

static bool request_origin_ok(struct lws *wsi)
{
	char origin[256], host[256];
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return true;
	if (hdr(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)) < 0)
		return false;
	hdr(wsi, WSI_TOKEN_HOST, host, sizeof(host));
	return auth_origin_ok(origin, host);
}

/* DNS rebinding: a browser that reached us under a name not ours. */
static bool request_host_ok(struct server *s, struct lws *wsi)
{
	char host[256];
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0)
		return true;
	if (hdr(wsi, WSI_TOKEN_HOST, host, sizeof(host)) < 0)
		return false;
	return auth_host_ok(s->cfg.auth, host);
}

#define HOST_REFUSED                                                                               \
	"misdirected request: this dashboard does not answer to that host name (a defence "        \
	"against DNS rebinding). Use its address, or add the name to IOD_BRIDGE_HOSTS.\n"

static void fill_metrics(struct server *s)
{
	struct state_stats st;
	state_get_stats(s->cfg.state, &st);
	s->m.cached_topics = st.topics;
	s->m.sessions = auth_session_count(s->cfg.auth, now_ms());
	s->m.buffer_bytes = bmsg_live_bytes();
	s->m.clients_max = s->cfg.max_clients;
	if (s->cfg.mqtt) {
		struct mqttc_stats ms;
		mqttc_get_stats(s->cfg.mqtt, &ms);
		s->m.mqtt_queue_dropped = ms.messages_dropped + ms.messages_oversize;
		s->m.mqtt_connected = mqttc_is_connected(s->cfg.mqtt);
	}
}

/*
 * /metrics is for this machine (a local Prometheus, a healthcheck in the
 * container) and the logged-in operator, not for every phone on the LAN:
 * the peer must be loopback and the request must not have come through a
 * proxy on this machine (it would carry Forwarded / X-Forwarded-For /
 * X-Real-IP), unless IOD_BRIDGE_METRICS_PUBLIC opens it to everyone.
 */
static bool metrics_allowed(struct server *s, struct lws *wsi)
{
	if (s->cfg.metrics_public)
		return true;
	char token[AUTH_TOKEN_HEX + 1];
	if (request_operator(s, wsi, token))
		return true;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0 ||
	    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_X_REAL_IP) > 0 ||
	    lws_hdr_custom_length(wsi, "forwarded:", 10) > 0)
		return false;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = (int)lws_get_socket_fd(lws_get_network_wsi(wsi));
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
		return false;
	return bindaddr_is_loopback((struct sockaddr *)&peer);
}

static int serve_file(struct server *s, struct lws *wsi, struct pss *pss, const char *uri);

static int serve_get(struct server *s, struct lws *wsi, struct pss *pss, const char *uri)
{
	if (!strcmp(uri, "/healthz"))
		return respond(wsi, pss, 200, "text/plain; charset=utf-8", "ok", NULL);
	if (!strcmp(uri, "/metrics")) {
		if (!metrics_allowed(s, wsi)) {
			s->m.metrics_refused++;
			return respond(wsi, pss, 403, "text/plain; charset=utf-8",
				       "forbidden: /metrics answers this machine and the logged-in "
				       "operator only (IOD_BRIDGE_METRICS_PUBLIC=1 opens it)\n",
				       NULL);
		}
		fill_metrics(s);
		char *text = metrics_render(&s->m);
		if (!text)
			return 1;
		int rc =
		    respond(wsi, pss, 200, "text/plain; version=0.0.4; charset=utf-8", text, NULL);
		free(text);
		return rc;
	}
	if (!strcmp(uri, "/api/session")) {
		char token[AUTH_TOKEN_HEX + 1];
		bool op = request_operator(s, wsi, token);
		cJSON *j = cJSON_CreateObject();
		if (!j)
			return 1;
		cJSON_AddBoolToObject(j, "operator", op);
		cJSON_AddBoolToObject(j, "public_view", s->cfg.public_view);
		cJSON_AddBoolToObject(j, "password_set", auth_password_set(s->cfg.auth));
		cJSON_AddStringToObject(j, "site", s->cfg.site);
		cJSON_AddStringToObject(j, "version", IOD_VERSION);
		char *body = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		if (!body)
			return 1;
		int rc = respond_json(wsi, pss, 200, body, NULL);
		cJSON_free(body);
		return rc;
	}
	if (!strncmp(uri, "/api/", 5) || !strcmp(uri, "/ws"))
		return respond_json(wsi, pss, 404, "{\"error\":\"not_found\"}", NULL);

	return serve_file(s, wsi, pss, uri);
}

/* Only regular files inside the web root; real path into out. */
static bool static_path(struct server *s, const char *uri, char *out, struct stat *st)
{
	char path[PATH_MAX];
	size_t n = strlen(s->web_root);
	return s->web_root[0] && webpath_resolve(s->web_root, uri, path, sizeof(path)) == 0 &&
	       realpath(path, out) && !strncmp(out, s->web_root, n) && out[n] == '/' &&
	       stat(out, st) == 0 && S_ISREG(st->st_mode);
}

/*
 * A static file from the cache: 304 when the client's validators match,
 * else the file (gzip'd when the client takes it and it helps), with
 * ETag, Last-Modified and, for files with a gzip copy, Vary. A file too big
 * for the cache goes out from disk through lws. /favicon.ico falls back to
 * favicon.svg (browsers ask for the .ico whatever the page links).
 */
static int serve_file(struct server *s, struct lws *wsi, struct pss *pss, const char *uri)
{
	char real[PATH_MAX];
	struct stat st;
	bool found = static_path(s, uri, real, &st);
	if (!found && !strcmp(uri, "/favicon.ico"))
		found = static_path(s, "/favicon.svg", real, &st);
	if (!found)
		return respond(wsi, pss, 404, "text/plain; charset=utf-8", "not found", NULL);
	const char *mime = webpath_mime(real);
	struct webfile *f = webcache_get(s->cache, real, &st, mime);
	if (!f) {
		unsigned char extra[1024], *p = extra, *end = extra + sizeof(extra);
		if (add_security_headers(wsi, &p, end) ||
		    add_header(wsi, "cache-control:", "no-cache", &p, end))
			return 1;
		int n = lws_serve_http_file(wsi, real, mime, (const char *)extra, (int)(p - extra));
		if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
			return -1;
		return 0;
	}
	char inm[512], ims[64], ae[256];
	bool has_inm = hdr(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, inm, sizeof(inm)) == 0;
	bool has_ims = hdr(wsi, WSI_TOKEN_HTTP_IF_MODIFIED_SINCE, ims, sizeof(ims)) == 0;
	bool has_ae = hdr(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, ae, sizeof(ae)) == 0;
	bool not_modified = webcache_not_modified(f, has_inm ? inm : NULL, has_ims ? ims : NULL);
	bool gz = f->gz && webcache_accepts_gzip(has_ae ? ae : NULL);
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	int bad;
	if (not_modified)
		bad = lws_add_http_header_status(wsi, HTTP_STATUS_NOT_MODIFIED, &p, end);
	else
		bad = lws_add_http_common_headers(wsi, HTTP_STATUS_OK, mime,
						  gz ? f->gz_len : f->len, &p, end) ||
		      (gz && add_header(wsi, "content-encoding:", "gzip", &p, end));
	bad = bad || add_security_headers(wsi, &p, end) ||
	      add_header(wsi, "cache-control:", "no-cache", &p, end) ||
	      add_header(wsi, "etag:", gz ? f->etag_gz : f->etag, &p, end) ||
	      add_header(wsi, "last-modified:", f->last_modified, &p, end) ||
	      (f->gz && add_header(wsi, "vary:", "Accept-Encoding", &p, end)) ||
	      lws_finalize_write_http_header(wsi, start, &p, end);
	if (bad || not_modified || pss->head) {
		webfile_unref(f);
		if (bad)
			return 1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	pss->file = f;
	pss->body = gz ? f->gz : f->data;
	pss->body_len = gz ? f->gz_len : f->len;
	pss->body_off = 0;
	lws_callback_on_writable(wsi);
	return 0;
}

/* One chunk of a static file per HTTP_WRITEABLE, the last one FINAL. */
static int file_writeable(struct lws *wsi, struct pss *pss)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t n = pss->body_len - pss->body_off;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	bool last = pss->body_off + n == pss->body_len;
	memcpy(buf + LWS_PRE, pss->body + pss->body_off, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
		return -1;
	pss->body_off += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	webfile_unref(pss->file);
	pss->file = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int handle_login(struct server *s, struct lws *wsi, struct pss *pss)
{
	char ip[64] = "";
	lws_get_peer_simple(wsi, ip, sizeof(ip));
	cJSON *j = pss->post_too_large ? NULL : cJSON_ParseWithLength(pss->post, pss->post_len);
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(j, "password");
	if (!cJSON_IsString(pw)) {
		cJSON_Delete(j);
		return respond_json(wsi, pss, 400, "{\"error\":\"bad_request\"}", NULL);
	}
	char token[AUTH_TOKEN_HEX + 1];
	int64_t retry_s = 0;
	enum auth_login_result r = auth_login(s->cfg.auth, ip, pw->valuestring,
					      strlen(pw->valuestring), now_ms(), token, &retry_s);
	cJSON_Delete(j);
	switch (r) {
	case AUTH_LOGIN_OK: {
		char cookie[256];
		snprintf(cookie, sizeof(cookie),
			 "iod_session=%s; Path=/; HttpOnly; SameSite=Strict%s", token,
			 s->tls ? "; Secure" : "");
		const char *extra[] = {"set-cookie:", cookie, NULL};
		s->m.logins_ok++;
		log_info("operator logged in from %s", ip);
		return respond_json(wsi, pss, 200, "{\"operator\":true}", extra);
	}
	case AUTH_LOGIN_BAD_PASSWORD:
		s->m.logins_bad_password++;
		log_warn("login refused from %s: bad password", ip);
		return respond_json(wsi, pss, 401, "{\"error\":\"bad_password\"}", NULL);
	case AUTH_LOGIN_RATE_LIMITED:
	case AUTH_LOGIN_RATE_LIMITED_GLOBAL: {
		char retry[32];
		snprintf(retry, sizeof(retry), "%lld", (long long)retry_s);
		const char *extra[] = {"retry-after:", retry, NULL};
		if (r == AUTH_LOGIN_RATE_LIMITED) {
			s->m.logins_rate_limited++;
		} else {
			/* Once a minute at most: a flood must not flood the journal. */
			static int64_t logged_ms;
			int64_t t = now_ms();
			if (!s->m.logins_rate_limited_global || t - logged_ms >= 60000) {
				logged_ms = t;
				log_warn("login refused from %s: too many failed logins from all "
					 "addresses together (%llu refused so far)",
					 ip,
					 (unsigned long long)s->m.logins_rate_limited_global + 1);
			}
			s->m.logins_rate_limited_global++;
		}
		return respond_json(wsi, pss, 429, "{\"error\":\"rate_limited\"}", extra);
	}
	case AUTH_LOGIN_NO_PASSWORD:
		s->m.logins_no_password++;
		return respond_json(wsi, pss, 403, "{\"error\":\"no_password_set\"}", NULL);
	case AUTH_LOGIN_ERROR:
	default:
		return respond_json(wsi, pss, 500, "{\"error\":\"internal\"}", NULL);
	}
}

static int handle_post(struct server *s, struct lws *wsi, struct pss *pss)
{
	if (!request_origin_ok(wsi))
		return respond_json(wsi, pss, 403, "{\"error\":\"bad_origin\"}", NULL);
	if (pss->post_too_large)
		return respond_json(wsi, pss, 413, "{\"error\":\"too_large\"}", NULL);
	if (pss->post_target == POST_LOGIN)
		return handle_login(s, wsi, pss);
	char cookie[2048], token[AUTH_TOKEN_HEX + 1];
	if (hdr(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof(cookie)) == 0 &&
	    auth_cookie_token(cookie, token) == 0)
		auth_session_end(s->cfg.auth, token);
	const char *extra[] = {
	    "set-cookie:", "iod_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", NULL};
	return respond_json(wsi, pss, 200, "{\"operator\":false}", extra);
}

static void http_free(struct pss *pss)
{
	webfile_unref(pss->file);
	pss->file = NULL;
	pss->body = NULL;
	free(pss->resp);
	free(pss->post);
	pss->resp = pss->post = NULL;
	pss->post_len = pss->resp_len = 0;
}

static int on_http(struct server *s, struct lws *wsi, struct pss *pss, const char *uri)
{
	http_free(pss);
	pss->head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	pss->post_too_large = false;
	pss->post_target = POST_NONE;
	/* /healthz answers whatever the name (it says only "ok"), for probes
	 * that reach the container by a service name. */
	if (strcmp(uri, "/healthz") && !request_host_ok(s, wsi)) {
		s->m.hosts_refused++;
		return respond(wsi, pss, 421, "text/plain; charset=utf-8", HOST_REFUSED, NULL);
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
		if (!strcmp(uri, "/api/login"))
			pss->post_target = POST_LOGIN;
		else if (!strcmp(uri, "/api/logout"))
			pss->post_target = POST_LOGOUT;
		else
			return respond_json(wsi, pss, 404, "{\"error\":\"not_found\"}", NULL);
		char clen[32];
		if (hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, clen, sizeof(clen)) < 0 ||
		    strtoll(clen, NULL, 10) <= 0)
			return handle_post(s, wsi, pss); /* no body: no BODY callbacks follow */
		return 0;				 /* wait for the body */
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 || pss->head)
		return serve_get(s, wsi, pss, uri);
	return respond(wsi, pss, 405, "text/plain; charset=utf-8", "method not allowed", NULL);
}

/* ---- websocket ---------------------------------------------------------------- */

/* Before the 101: refuse with a real HTTP status the browser can see. */
static int confirm_upgrade(struct server *s, struct lws *wsi, const char *what)
{
	char uri[64];
	if (!what || strcmp(what, "websocket"))
		return -1;
	if (hdr(wsi, WSI_TOKEN_GET_URI, uri, sizeof(uri)) < 0 || strcmp(uri, "/ws")) {
		s->m.clients_refused++;
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return 1;
	}
	if (!request_host_ok(s, wsi)) {
		s->m.clients_refused++;
		s->m.hosts_refused++;
		lws_return_http_status(wsi, 421, HOST_REFUSED);
		return 1;
	}
	if (!request_origin_ok(wsi)) {
		s->m.clients_refused++;
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
		return 1;
	}
	char token[AUTH_TOKEN_HEX + 1];
	if (!request_operator(s, wsi, token) && !s->cfg.public_view) {
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

static int ws_established(struct server *s, struct lws *wsi, struct pss *c)
{
	c->wsi = wsi;
	cqueue_init(&c->q, s->queue_max);
	c->established = true;
	c->prev = NULL;
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->m.clients++;
	/* hello, the state, ready: queued in one go on this thread, so no live
	 * message can slip in between. */
	int64_t now = now_ms();
	client_push_text(
	    s, c, wsmsg_hello_encode(s->cfg.site, c->operator, s->broker_up, IOD_VERSION, now));
	client_push_text(s, c, wsmsg_broker_encode(s->broker_up, now));
	state_snapshot(s->cfg.state, now, snapshot_visit, c);
	client_push_text(s, c, proto_ws_ready_encode());
	log_debug("websocket client connected (%s), %llu now", c->operator? "operator" : "viewer",
		  (unsigned long long)s->m.clients);
	return 0;
}

static void ws_closed(struct server *s, struct pss *c)
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

static void ws_message(struct server *s, struct pss *c, const void *text, size_t len)
{
	int64_t now = now_ms();
	bool op = c->operator&& auth_session_check(s->cfg.auth, c->token, now);
	/* Both: the page was told the broker is up, and it still is (Paho's
	 * flag drops the moment the connection is lost, before the loop hears). */
	bool up = s->broker_up && s->cfg.mqtt && mqttc_is_connected(s->cfg.mqtt);
	struct wsmsg_result r;
	if (wsmsg_handle(text, len, op, up, AUTH_USER, now, &r) < 0)
		return;
	if (r.accepted) {
		if (mqttc_publish_str(s->cfg.mqtt, s->cmd_topic, r.publish, 1, false) < 0) {
			const char *id = NULL;
			free(r.reply);
			r.reply = NULL;
			/* Reuse the id the ack would have carried. */
			cJSON *j = cJSON_ParseWithLength(text, len);
			const cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "id");
			id = cJSON_IsString(jid) ? jid->valuestring : NULL;
			r.reply = proto_ws_error_encode(id, PROTO_REASON_BROKER_UNAVAILABLE);
			cJSON_Delete(j);
			r.accepted = false;
			r.reason = PROTO_REASON_BROKER_UNAVAILABLE;
		}
	}
	if (r.is_command) {
		if (r.accepted) {
			s->m.commands_accepted++;
			log_info("command from the dashboard published: %s", r.publish);
		} else {
			s->m.commands_refused++;
			log_info("command from the dashboard refused: %s", r.reason);
		}
	}
	client_push_text(s, c, r.reply);
	r.reply = NULL;
	wsmsg_result_free(&r);
}

static int ws_receive(struct server *s, struct lws *wsi, struct pss *c, const void *in, size_t len)
{
	bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	if (c->rx_len + len > PROTO_WS_MAX_MSG) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				 (unsigned char *)"too large", 9);
		return -1;
	}
	if (final && !c->rx_len) {
		ws_message(s, c, in, len);
		return 0;
	}
	if (!c->rx) {
		c->rx = malloc(PROTO_WS_MAX_MSG);
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
 * control, and lws expects exactly one per WRITEABLE there.
 */
#define WS_BATCH_FRAMES 32
#define WS_BATCH_BYTES	(64 * 1024)

static int ws_writeable(struct server *s, struct lws *wsi, struct pss *c)
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

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct pss *pss = user;
	struct lws_context *ctx = lws_get_context(wsi);
	struct server *s = ctx ? lws_context_user(ctx) : NULL;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(s, wsi, pss, in);
	case LWS_CALLBACK_HTTP_BODY:
		if (pss->post_too_large || pss->post_len + len > POST_MAX) {
			pss->post_too_large = true;
			return 0;
		}
		if (!pss->post && !(pss->post = malloc(POST_MAX + 1)))
			return -1;
		if (len)
			memcpy(pss->post + pss->post_len, in, len);
		pss->post_len += len;
		pss->post[pss->post_len] = '\0';
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return handle_post(s, wsi, pss);
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		if (pss && pss->file)
			return file_writeable(wsi, pss);
		if (!pss || !pss->resp)
			break;
		int n = lws_write(wsi, (unsigned char *)pss->resp + LWS_PRE, pss->resp_len,
				  LWS_WRITE_HTTP_FINAL);
		http_free(pss);
		if (n < 0)
			return -1;
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	}
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss)
			http_free(pss);
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(s, wsi, in);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* The refusals were made in CONFIRM_UPGRADE; here the role is
		 * recorded in this websocket's own session data. */
		pss->operator= request_operator(s, wsi, pss->token);
		if (!pss->operator&& !s->cfg.public_view)
			return 1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(s, wsi, pss);
	case LWS_CALLBACK_CLOSED:
		ws_closed(s, pss);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(s, wsi, pss, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(s, wsi, pss);
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {PROTO_WS_SUBPROTOCOL, callback, sizeof(struct pss), PROTO_WS_MAX_MSG, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error("lws: %.*s", (int)n, line);
	else
		log_warn("lws: %.*s", (int)n, line);
}

struct server *server_new(uv_loop_t *loop, const struct server_config *cfg)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (proto_topic(s->cmd_topic, sizeof(s->cmd_topic), cfg->site, "feeder", "cmd") < 0) {
		free(s);
		return NULL;
	}
	/* Room for the whole snapshot (every cached topic, histories, alerts,
	 * frame, hello, ready) plus slack for per-client answers and events. */
	s->queue_max = (uint32_t)(cfg->max_topics + STATE_HISTORY_TOPICS_MAX + STATE_ALERTS_MAX +
				  4 + cfg->queue_slack);
	if (cfg->web_dir && *cfg->web_dir && !realpath(cfg->web_dir, s->web_root))
		s->web_root[0] = '\0';
	s->cache = webcache_new(WEBCACHE_MAX_BYTES, WEBCACHE_MAX_FILE);
	if (!s->cache) {
		free(s);
		return NULL;
	}

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	void *foreign_loops[1] = {loop};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.foreign_loops = foreign_loops;
	info.port = cfg->port;
	/* Exactly the address asked for: lws gets it numeric, and for IPv4 an
	 * IPv4-only vhost (see bindaddr.h for what lws does otherwise). */
	info.iface = cfg->bind->address;
	if (cfg->bind->family == AF_INET)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	char where[96];
	bindaddr_format(cfg->bind, cfg->port, where, sizeof(where));
	int probe = bindaddr_probe(cfg->bind, cfg->port);
	if (probe < 0) {
		if (probe == -EADDRNOTAVAIL)
			log_error("cannot listen on %s: this machine has no address %s "
				  "(IOD_BRIDGE_BIND)",
				  where, cfg->bind->address);
		else if (probe == -EADDRINUSE)
			log_error("cannot listen on %s: the port is in use (IOD_BRIDGE_PORT, "
				  "IOD_BRIDGE_BIND)",
				  where);
		else
			log_error("cannot listen on %s: %s (IOD_BRIDGE_PORT, IOD_BRIDGE_BIND)",
				  where, strerror(-probe));
		webcache_free(s->cache);
		free(s);
		return NULL;
	}
	info.protocols = protocols;
	info.user = s;
	info.pcontext = &s->ctx; /* lws clears it when the context is gone */
	info.fd_limit_per_thread = cfg->fd_limit;
	info.vhost_name = "iod-bridge";
	info.server_string = "iod-bridge";
	/* Dead peers are found by TCP keepalive in the kernel: no timers here. */
	info.ka_time = 60;
	info.ka_probes = 3;
	info.ka_interval = 10;
	if (cfg->tls_cert && *cfg->tls_cert && cfg->tls_key && *cfg->tls_key) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
		s->tls = true;
	}
	/* The vhost is created explicitly: lws_create_context() alone succeeds
	 * even when the port cannot be bound, and the bridge would then run
	 * without listening. */
	info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	s->ctx = lws_create_context(&info);
	if (!s->ctx || !lws_create_vhost(s->ctx, &info)) {
		log_error("cannot listen on %s: port in use or address not available "
			  "(IOD_BRIDGE_PORT, IOD_BRIDGE_BIND)",
			  where);
		if (s->ctx) {
			/* Let lws close its uv handles (nothing else is on the loop
			 * yet), then finish the destruction. */
			lws_context_destroy(s->ctx);
			uv_run(loop, UV_RUN_DEFAULT);
			if (s->ctx)
				lws_context_destroy(s->ctx);
		}
		webcache_free(s->cache);
		free(s);
		return NULL;
	}
	if (!s->web_root[0])
		log_warn("no web directory (IOD_BRIDGE_WEB_DIR): serving the API and /ws only");
	log_info("listening on %s://%s, web %s, public view %s", s->tls ? "https" : "http", where,
		 s->web_root[0] ? s->web_root : "none", cfg->public_view ? "on" : "off");
	return s;
}

size_t server_headroom(void)
{
	return LWS_PRE;
}

void server_set_mqtt(struct server *s, struct mqttc *mqtt)
{
	s->cfg.mqtt = mqtt;
}

void server_set_broker(struct server *s, bool connected)
{
	if (!s || s->broker_up == connected)
		return;
	s->broker_up = connected;
	struct bmsg *m = text_frame(wsmsg_broker_encode(connected, now_ms()));
	if (!m)
		return;
	for (struct pss *c = s->clients; c; c = c->next)
		client_push(s, c, m);
	bmsg_unref(m);
}

/*
 * With a foreign loop, lws 4.1 destroys a context in two steps: the first
 * lws_context_destroy() closes the connections and starts closing its uv
 * handles; once the loop has run those close callbacks, a second call
 * frees the rest (and clears s->ctx through info.pcontext).
 */
void server_stop(struct server *s)
{
	if (!s || !s->ctx || s->stopping)
		return;
	s->stopping = true;
	lws_context_destroy(s->ctx);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	if (s->ctx)
		lws_context_destroy(s->ctx);
	if (s->ctx)
		lws_context_destroy(s->ctx);
	webcache_free(s->cache);
	free(s);
}
