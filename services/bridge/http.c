/*
 * http.c — the bridge's HTTP requests: the Host check against DNS
 * rebinding, static files from the web root (through webcache.c), /healthz,
 * /metrics, /api/session, collecting POST bodies (/api/login, /api/logout,
 * /api/notify/ack), handing the records paths to records_http.c, and
 * responses buffered for HTTP_WRITEABLE (deferred ones too: headers and
 * then chunks). It owns the HTTP half of struct pss.
 *
 * It does not know the websocket protocol (protocol.c) nor what a login
 * decides (login.c: a finished POST is handed there). Loop thread only.
 */
#include "server_internal.h"

#include "accounts.h"
#include "bindaddr.h"
#include "bmsg.h"
#include "mqttc.h"
#include "records_http.h"
#include "records_writer.h"
#include "sites.h"
#include "state.h"
#include "webcache.h"
#include "webpath.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CSP                                                                                        \
	"default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; "   \
	"script-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'"
#define POST_MAX   4096
#define HTTP_CHUNK 16384 /* body bytes per HTTP_WRITEABLE */

const char http_host_refused[] =
    "misdirected request: this dashboard does not answer to that host name (a defence "
    "against DNS rebinding). Use its address, or add the name to IOD_BRIDGE_HOSTS.\n";

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

int http_respond(struct lws *wsi, struct pss *pss, unsigned status, const char *ctype,
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

int http_respond_json(struct lws *wsi, struct pss *pss, unsigned status, const char *body,
		      const char *const *extra)
{
	return http_respond(wsi, pss, status, "application/json", body, extra);
}

int http_header(struct lws *wsi, enum lws_token_indexes t, char *buf, int size)
{
	buf[0] = '\0';
	if (lws_hdr_total_length(wsi, t) <= 0 || lws_hdr_copy(wsi, buf, size, t) < 0) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

bool server_session_role(struct server *s, const char *token, int64_t now_ms,
			 char user[AUTH_NAME_MAX + 1], enum roles_role *role)
{
	return auth_session_user(s->cfg.auth, token, now_ms, user, NULL) &&
	       accounts_role(s->cfg.accounts, user, role) == 0;
}

bool http_request_user(struct server *s, struct lws *wsi, char token[AUTH_TOKEN_HEX + 1],
		       char user[AUTH_NAME_MAX + 1], enum roles_role *role)
{
	char cookie[2048];
	token[0] = user[0] = '\0';
	if (http_header(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof(cookie)) < 0 ||
	    auth_cookie_token(cookie, token) < 0)
		return false;
	if (!server_session_role(s, token, server_now_ms(), user, role)) {
		token[0] = user[0] = '\0';
		return false;
	}
	return true;
}

bool http_request_operator(struct server *s, struct lws *wsi, char token[AUTH_TOKEN_HEX + 1])
{
	char user[AUTH_NAME_MAX + 1];
	enum roles_role role;
	return http_request_user(s, wsi, token, user, &role);
}

int http_query_arg(struct lws *wsi, const char *name, char *buf, size_t size)
{
	char frag[512];
	size_t n = strlen(name);
	for (int i = 0;
	     lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) >= 0; i++) {
		if (strncmp(frag, name, n) || frag[n] != '=')
			continue;
		int len = snprintf(buf, size, "%s", frag + n + 1);
		return len < 0 || (size_t)len >= size ? -2 : 0;
	}
	return -1;
}

const char *server_sites_of(struct server *s, bool in_session, const char *user)
{
	if (in_session)
		return accounts_sites(s->cfg.accounts, user);
	return s->cfg.public_view ? "*" : NULL;
}

struct site *server_default_site(struct server *s, const char *sites)
{
	struct site *home = sites_find(s->cfg.sites, s->cfg.site);
	if (home && roles_site_allowed(sites, home->name))
		return home;
	for (size_t i = 0; i < sites_count(s->cfg.sites); i++) {
		struct site *one = sites_at(s->cfg.sites, i);
		if (roles_site_allowed(sites, one->name))
			return one;
	}
	return NULL;
}

unsigned server_pick_site(struct server *s, const char *arg, const char *sites, bool overview_ok,
			  struct site **out)
{
	*out = NULL;
	if (!sites)
		return 403;
	if (!arg || !*arg) {
		*out = server_default_site(s, sites);
		return *out ? 0 : 403;
	}
	if (!strcmp(arg, "*"))
		return overview_ok ? 0 : 404;
	struct site *one = sites_find(s->cfg.sites, arg);
	if (!one)
		return 404;
	if (!roles_site_allowed(sites, one->name))
		return 403;
	*out = one;
	return 0;
}

cJSON *server_sites_json(struct server *s, const char *sites)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < sites_count(s->cfg.sites); i++) {
		struct site *one = sites_at(s->cfg.sites, i);
		if (!roles_site_allowed(sites, one->name))
			continue;
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o) ||
		    !cJSON_AddStringToObject(o, "site", one->name) ||
		    (one->label[0] && !cJSON_AddStringToObject(o, "name", one->label)) ||
		    (one->dog[0] && !cJSON_AddStringToObject(o, "dog", one->dog)) ||
		    (one->tz[0] && !cJSON_AddStringToObject(o, "tz", one->tz))) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

bool http_origin_ok(struct lws *wsi)
{
	char origin[256], host[256];
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return true;
	if (http_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)) < 0)
		return false;
	http_header(wsi, WSI_TOKEN_HOST, host, sizeof(host));
	return auth_origin_ok(origin, host);
}

bool http_host_ok(struct server *s, struct lws *wsi)
{
	char host[256];
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0)
		return true;
	if (http_header(wsi, WSI_TOKEN_HOST, host, sizeof(host)) < 0)
		return false;
	return auth_host_ok(s->cfg.auth, host);
}

static void fill_metrics(struct server *s)
{
	s->m.cached_topics = 0;
	for (size_t i = 0; i < sites_count(s->cfg.sites); i++) {
		struct state_stats st;
		state_get_stats(sites_at(s->cfg.sites, i)->state, &st);
		s->m.cached_topics += st.topics;
	}
	s->m.sites = sites_count(s->cfg.sites);
	s->m.sites_refused = sites_refused(s->cfg.sites);
	s->m.sessions = auth_session_count(s->cfg.auth, server_now_ms());
	s->m.buffer_bytes = bmsg_live_bytes();
	s->m.clients_max = s->cfg.max_clients;
	struct rwriter *w = rhttp_writer(s->cfg.records);
	if (w) {
		struct rwriter_stats rs;
		rwriter_stats(w, &rs);
		s->m.records_up = 1;
		s->m.records_queued = rs.queued;
		s->m.records_written = rs.written;
		s->m.records_dropped = rs.dropped;
		s->m.records_errors = rs.errors;
		s->m.records_batches = rs.batches;
	}
	if (s->cfg.mqtt) {
		struct mqttc_stats ms;
		mqttc_get_stats(s->cfg.mqtt, &ms);
		s->m.mqtt_queue_dropped = ms.messages_dropped + ms.messages_oversize;
		s->m.mqtt_connected = mqttc_is_connected(s->cfg.mqtt);
		s->m.mqtt_out_waiting = ms.out_waiting;
		s->m.mqtt_out_high_water = ms.out_high_water;
		s->m.mqtt_backpressure = ms.backpressure_engaged;
		s->m.mqtt_publish_refused = ms.publish_refused;
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
	if (http_request_operator(s, wsi, token))
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

/*
 * GET /api/camera/latest[?site=]: the newest camera frame the bridge holds
 * of a home (the overview's thumbnails), as image/jpeg, never cached. 401
 * without a session (unless the public view is on), 403 for a site the
 * user may not see, 404 unknown_site, 404 no_frame before the first one.
 */
static int camera_latest(struct server *s, struct lws *wsi, struct pss *pss)
{
	char token[AUTH_TOKEN_HEX + 1], user[AUTH_NAME_MAX + 1], arg[PROTO_SITE_MAX + 2];
	enum roles_role role;
	bool in = http_request_user(s, wsi, token, user, &role);
	const char *sites = server_sites_of(s, in, user);
	if (!sites)
		return http_respond_json(wsi, pss, 401, "{\"error\":\"not_authorized\"}", NULL);
	struct site *one;
	int got = http_query_arg(wsi, "site", arg, sizeof(arg));
	unsigned st =
	    got == -2 ? 404 : server_pick_site(s, got == 0 ? arg : NULL, sites, false, &one);
	if (st == 404)
		return http_respond_json(wsi, pss, 404, "{\"error\":\"unknown_site\"}", NULL);
	if (st)
		return http_respond_json(wsi, pss, 403, "{\"error\":\"not_authorized\"}", NULL);
	struct bmsg *m = state_camera_frame(one->state);
	if (!m)
		return http_respond_json(wsi, pss, 404, "{\"error\":\"no_frame\"}", NULL);
	char *body = malloc(m->len ? m->len : 1);
	if (!body)
		return 1;
	memcpy(body, bmsg_data(m), m->len);
	return http_deferred_respond(wsi, pss, 200, "image/jpeg", "no-store", body, m->len, NULL);
}

static int serve_get(struct server *s, struct lws *wsi, struct pss *pss, const char *uri)
{
	if (!strcmp(uri, "/healthz"))
		return http_respond(wsi, pss, 200, "text/plain; charset=utf-8", "ok", NULL);
	if (!strcmp(uri, "/metrics")) {
		if (!metrics_allowed(s, wsi)) {
			s->m.metrics_refused++;
			return http_respond(wsi, pss, 403, "text/plain; charset=utf-8",
					    "forbidden: /metrics answers this machine and the "
					    "logged-in operator only (IOD_BRIDGE_METRICS_PUBLIC=1 "
					    "opens it)\n",
					    NULL);
		}
		fill_metrics(s);
		char *text = metrics_render(&s->m);
		if (!text)
			return 1;
		int rc = http_respond(wsi, pss, 200, "text/plain; version=0.0.4; charset=utf-8",
				      text, NULL);
		free(text);
		return rc;
	}
	if (!strcmp(uri, "/api/session")) {
		char token[AUTH_TOKEN_HEX + 1], user[AUTH_NAME_MAX + 1];
		enum roles_role role;
		bool in = http_request_user(s, wsi, token, user, &role);
		cJSON *j = cJSON_CreateObject();
		if (!j)
			return 1;
		if (in) {
			cJSON_AddStringToObject(j, "user", user);
			cJSON_AddStringToObject(j, "role", roles_name(role));
		}
		/* operator: this user may command (the page shows the controls). */
		cJSON_AddBoolToObject(j, "operator", in && !roles_may(role, "feeder", "feed"));
		cJSON_AddBoolToObject(j, "public_view", s->cfg.public_view);
		cJSON_AddBoolToObject(j, "password_set", accounts_any(s->cfg.accounts));
		/* site: what /ws opens without ?site=; sites: every home this
		 * user may see (one: a home's page; more: the overview). */
		const char *sites = server_sites_of(s, in, user);
		struct site *home = sites ? server_default_site(s, sites) : NULL;
		cJSON_AddStringToObject(j, "site", home ? home->name : s->cfg.site);
		cJSON *list = sites ? server_sites_json(s, sites) : cJSON_CreateArray();
		if (list)
			cJSON_AddItemToObject(j, "sites", list);
		cJSON_AddStringToObject(j, "version", IOD_VERSION);
		char *body = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		if (!body)
			return 1;
		int rc = http_respond_json(wsi, pss, 200, body, NULL);
		cJSON_free(body);
		return rc;
	}
	if (!strcmp(uri, "/api/camera/latest"))
		return camera_latest(s, wsi, pss);
	if (!strncmp(uri, "/api/", 5)) {
		int rc = records_http_get(s, wsi, pss, uri);
		if (rc != RECORDS_HTTP_NOT_MINE)
			return rc;
	}
	if (!strncmp(uri, "/api/", 5) || !strcmp(uri, "/ws"))
		return http_respond_json(wsi, pss, 404, "{\"error\":\"not_found\"}", NULL);

	return serve_file(s, wsi, pss, uri);
}

/*
 * webpath_resolve() refuses what a URL must not name (.., dot-files); the
 * realpath() prefix check, with the '/' after it, then refuses a symlink
 * out of the root and a sibling that only shares its prefix (web vs web2).
 */
bool http_static_path(const char *web_root, const char *uri, char *out, struct stat *st)
{
	char path[PATH_MAX];
	size_t n = strlen(web_root);
	return web_root[0] && webpath_resolve(web_root, uri, path, sizeof(path)) == 0 &&
	       realpath(path, out) && !strncmp(out, web_root, n) && out[n] == '/' &&
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
	bool found = http_static_path(s->web_root, uri, real, &st);
	if (!found && !strcmp(uri, "/favicon.ico"))
		found = http_static_path(s->web_root, "/favicon.svg", real, &st);
	if (!found)
		return http_respond(wsi, pss, 404, "text/plain; charset=utf-8", "not found", NULL);
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
	bool has_inm = http_header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, inm, sizeof(inm)) == 0;
	bool has_ims = http_header(wsi, WSI_TOKEN_HTTP_IF_MODIFIED_SINCE, ims, sizeof(ims)) == 0;
	bool has_ae = http_header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, ae, sizeof(ae)) == 0;
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

int http_deferred_respond(struct lws *wsi, struct pss *pss, unsigned status, const char *ctype,
			  const char *cache, char *body, size_t len, const char *const *extra)
{
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	bool empty = status == HTTP_STATUS_NOT_MODIFIED;
	int bad;
	if (empty)
		bad = lws_add_http_header_status(wsi, status, &p, end);
	else
		bad = lws_add_http_common_headers(wsi, status, ctype, len, &p, end);
	bad = bad || add_security_headers(wsi, &p, end) ||
	      add_header(wsi, "cache-control:", cache, &p, end);
	for (; !bad && extra && extra[0]; extra += 2)
		bad = add_header(wsi, extra[0], extra[1], &p, end);
	bad = bad || lws_finalize_write_http_header(wsi, start, &p, end);
	if (bad || empty || pss->head || !len) {
		free(body);
		if (bad)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	free(pss->owned);
	pss->owned = body;
	pss->body = (const unsigned char *)body;
	pss->body_len = len;
	pss->body_off = 0;
	lws_callback_on_writable(wsi);
	return 0;
}

/* One chunk of a static file (or a deferred body) per HTTP_WRITEABLE, the
 * last one FINAL. */
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
	free(pss->owned);
	pss->owned = NULL;
	pss->body = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_writeable(struct lws *wsi, struct pss *pss)
{
	if (pss->rwork)
		return records_http_writeable(wsi, pss);
	if (pss->login)
		return login_writeable(wsi, pss);
	if (pss->file || pss->body)
		return file_writeable(wsi, pss);
	if (!pss->resp)
		return 0;
	int n = lws_write(wsi, (unsigned char *)pss->resp + LWS_PRE, pss->resp_len,
			  LWS_WRITE_HTTP_FINAL);
	http_free(pss);
	if (n < 0)
		return -1;
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

void http_free(struct pss *pss)
{
	webfile_unref(pss->file);
	pss->file = NULL;
	pss->body = NULL;
	free(pss->owned);
	pss->owned = NULL;
	records_http_free_work(pss->rwork);
	pss->rwork = NULL;
	login_free(pss);
	free(pss->resp);
	free(pss->post);
	pss->resp = pss->post = NULL;
	pss->post_len = pss->resp_len = 0;
}

/* Bodies over POST_MAX are not kept: the completion answers 413. */
int http_body(struct pss *pss, const void *in, size_t len)
{
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
}

int http_body_done(struct server *s, struct lws *wsi, struct pss *pss)
{
	if (!http_origin_ok(wsi))
		return http_respond_json(wsi, pss, 403, "{\"error\":\"bad_origin\"}", NULL);
	if (pss->post_too_large)
		return http_respond_json(wsi, pss, 413, "{\"error\":\"too_large\"}", NULL);
	if (pss->post_target == POST_NOTIFY_ACK)
		return notify_ack_post(s, wsi, pss);
	return login_post(s, wsi, pss);
}

int http_request(struct server *s, struct lws *wsi, struct pss *pss, const char *uri)
{
	http_free(pss);
	pss->head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	pss->post_too_large = false;
	pss->post_target = POST_NONE;
	/* /healthz answers whatever the name (it says only "ok"), for probes
	 * that reach the container by a service name. */
	if (strcmp(uri, "/healthz") && !http_host_ok(s, wsi)) {
		s->m.hosts_refused++;
		return http_respond(wsi, pss, 421, "text/plain; charset=utf-8", http_host_refused,
				    NULL);
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
		if (!strcmp(uri, "/api/login"))
			pss->post_target = POST_LOGIN;
		else if (!strcmp(uri, "/api/logout"))
			pss->post_target = POST_LOGOUT;
		else if (!strcmp(uri, "/api/notify/ack"))
			pss->post_target = POST_NOTIFY_ACK;
		else
			return http_respond_json(wsi, pss, 404, "{\"error\":\"not_found\"}", NULL);
		char clen[32];
		if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, clen, sizeof(clen)) < 0 ||
		    strtoll(clen, NULL, 10) <= 0)
			return http_body_done(s, wsi, pss); /* no body: no BODY callbacks follow */
		return 0;				    /* wait for the body */
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 || pss->head)
		return serve_get(s, wsi, pss, uri);
	return http_respond(wsi, pss, 405, "text/plain; charset=utf-8", "method not allowed", NULL);
}
