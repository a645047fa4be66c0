/*
 * server_internal.h — what the bridge's lws glue shares between its four
 * files, and nothing outside them (and their unit tests) includes: the
 * server and per-connection structs, and each file's entry points for the
 * others. The split, in the shape of ttyd's server.c / http.c / protocol.c:
 *
 *   server.c    the lws context's lifecycle, the one protocol table and the
 *               callback that dispatches each reason to the files below
 *   http.c      HTTP requests: Host check, static files, /healthz,
 *               /metrics, /api/session, POST bodies, buffered responses
 *   login.c     POST /api/login and /api/logout: auth.c's verdict as an
 *               HTTP status, cookie and counters
 *   protocol.c  the /ws dashboard protocol: upgrade policy, client queues
 *               and the fan-out of MQTT messages and broker state into
 *               them, receive, command publish, batched writes
 *   records_http.c  GET/HEAD of the records endpoints (/api/history,
 *               /api/doses[.csv], /api/report, /api/events, the JPEGs):
 *               the query on a libuv worker thread, the answer through
 *               http.c's deferred response
 *
 * Loop thread only, like everything lws calls.
 */
#ifndef IOD_BRIDGE_SERVER_INTERNAL_H
#define IOD_BRIDGE_SERVER_INTERNAL_H

#include "auth.h"
#include "cqueue.h"
#include "loop.h"
#include "metrics.h"
#include "proto.h"
#include "roles.h"
#include "server.h"

#include <libwebsockets.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct login_job;
struct rwork;
struct site;
struct webfile;

enum post_target { POST_NONE, POST_LOGIN, POST_LOGOUT, POST_NOTIFY_ACK };

/* Per connection (HTTP, then maybe websocket). Zeroed by lws. */
struct pss {
	struct lws *wsi;
	/* websocket (protocol.c) */
	struct pss *prev, *next; /* in server.clients */
	struct cqueue q;
	bool established;
	bool is_operator;		/* the upgrade carried a live session of a user */
	bool closing;			/* queue overflowed: being dropped */
	char token[AUTH_TOKEN_HEX + 1]; /* that session, re-checked per command */
	/* The home this page shows (/ws?site=, sites.h), or NULL for the
	 * overview of them all (/ws?site=*), which gets their text frames for
	 * the sites its user may see: known[i] says site i was checked since
	 * the users file's generation gen, allowed[i] the answer (bitsets of
	 * SITES_MAX bits, the overview's only). */
	struct site *site;
	bool overview;
	unsigned gen;
	uint8_t *known, *allowed;
	char *rx; /* a fragmented message being reassembled */
	size_t rx_len;
	/* http (http.c, login.c) */
	bool head;  /* a HEAD request: headers only */
	char *resp; /* body waiting for HTTP_WRITEABLE */
	size_t resp_len;
	struct webfile *file;	   /* a static file being sent (a reference) */
	const unsigned char *body; /* its data or gzip copy */
	size_t body_len, body_off;
	char *owned;		 /* a deferred answer's body (body points into it), freed */
	struct rwork *rwork;	 /* a records query in flight or answered (records_http.c) */
	struct login_job *login; /* a login's password check in flight or done (login.c) */
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
	bool tls;
	struct pss *clients;
	struct webcache *cache;
	bool broker_up; /* the MQTT connection as the clients were last told */
	uint32_t queue_max;
	int64_t login_flood_logged_ms; /* the last "too many failed logins" warning */
	struct bridge_metrics m;
};

static inline int64_t server_now_ms(void)
{
	return loop_wall_ms();
}

/* ---- http.c ---- */

/* Header t of this request into buf (NUL-terminated): 0, or -1 (buf "")
 * when absent or longer than size. */
int http_header(struct lws *wsi, enum lws_token_indexes t, char *buf, int size);
/* The request's cookie names a live session whose user has an account now
 * (any role): its token in token. */
bool http_request_operator(struct server *s, struct lws *wsi, char token[AUTH_TOKEN_HEX + 1]);
/* The same, with the session's user and the role the users file gives
 * that user now (re-read at every call: a user removed or demoted loses the
 * power at once). */
bool http_request_user(struct server *s, struct lws *wsi, char token[AUTH_TOKEN_HEX + 1],
		       char user[AUTH_NAME_MAX + 1], enum roles_role *role);
/* token's session is live and its user has an account: the user, the role. */
bool server_session_role(struct server *s, const char *token, int64_t now_ms,
			 char user[AUTH_NAME_MAX + 1], enum roles_role *role);
/* The query argument name (without '=') of this request into buf: 0; -1
 * when absent; -2 when longer than size. */
int http_query_arg(struct lws *wsi, const char *name, char *buf, size_t size);
/* The sites the request's session's user may see ("*" or a list,
 * roles_site_allowed), "*" for anyone while the public view is on, or NULL
 * (no session, no public view). */
const char *server_sites_of(struct server *s, bool in_session, const char *user);
/*
 * The home a request names with ?site= (absent: the user's first; see
 * server_default_site): 0 with *out (NULL when site is "*" and overview
 * is allowed), 404 when this bridge does not serve it, 403 when sites
 * (server_sites_of) does not cover it.
 */
unsigned server_pick_site(struct server *s, const char *arg, const char *sites, bool overview_ok,
			  struct site **out);
/* What a page without ?site= opens: IOD_SITE when served and covered by
 * sites, else the first served site it covers; NULL when none. */
struct site *server_default_site(struct server *s, const char *sites);
/* /api/session's and hello's "sites": [{"site","name"?,"dog"?,"tz"?},...]
 * of the served sites sites covers, as a cJSON array (NULL out of memory). */
struct cJSON *server_sites_json(struct server *s, const char *sites);

/* No Origin (not a browser), or one naming the Host (auth_origin_ok). */
bool http_origin_ok(struct lws *wsi);
/* No Host, or one of ours (auth_host_ok, against DNS rebinding). */
bool http_host_ok(struct server *s, struct lws *wsi);
/* The body of a 421 for a Host not ours. */
extern const char http_host_refused[];
/*
 * Send status + headers now and queue body for HTTP_WRITEABLE. extra is a
 * NULL-terminated list of name, value pairs ("set-cookie:", "..."). Returns
 * the value for the callback to return.
 */
int http_respond(struct lws *wsi, struct pss *pss, unsigned status, const char *ctype,
		 const char *body, const char *const *extra);
int http_respond_json(struct lws *wsi, struct pss *pss, unsigned status, const char *body,
		      const char *const *extra);
/*
 * Outside the HTTP callback (from HTTP_WRITEABLE): status and headers now,
 * then body (malloc'd, taken over; NULL with len 0 for none) in HTTP_CHUNK
 * pieces on the next HTTP_WRITEABLEs; a HEAD or a 304 gets the headers
 * only. cache is Cache-Control's value; extra as http_respond's.
 */
int http_deferred_respond(struct lws *wsi, struct pss *pss, unsigned status, const char *ctype,
			  const char *cache, char *body, size_t len, const char *const *extra);
/* Only a regular file inside web_root (a realpath, "" = none) for uri: its
 * real path into out (PATH_MAX) and its stat into st. */
bool http_static_path(const char *web_root, const char *uri, char *out, struct stat *st);
/* LWS_CALLBACK_HTTP, _HTTP_BODY, _HTTP_BODY_COMPLETION, _HTTP_WRITEABLE. */
int http_request(struct server *s, struct lws *wsi, struct pss *pss, const char *uri);
int http_body(struct pss *pss, const void *in, size_t len);
int http_body_done(struct server *s, struct lws *wsi, struct pss *pss);
int http_writeable(struct lws *wsi, struct pss *pss);
/* Drop what a request holds (CLOSED_HTTP, DROP_PROTOCOL, the next request). */
void http_free(struct pss *pss);

/* ---- records_http.c ---- */

#define RECORDS_HTTP_NOT_MINE (-2)
/* A GET/HEAD under /api/: RECORDS_HTTP_NOT_MINE when uri is not a records
 * path, else the callback's return value (the answer now, or the query
 * queued and answered at HTTP_WRITEABLE). */
int records_http_get(struct server *s, struct lws *wsi, struct pss *pss, const char *uri);
/* HTTP_WRITEABLE with pss->rwork set: the answer once the query is done. */
int records_http_writeable(struct lws *wsi, struct pss *pss);
/* The connection closed or moved on: a query in flight forgets it. */
void records_http_free_work(struct rwork *w);

/* ---- login.c ---- */

/* A complete POST to /api/login or /api/logout (pss->post_target), after
 * http.c has checked the Origin and the size. */
int login_post(struct server *s, struct lws *wsi, struct pss *pss);
/* HTTP_WRITEABLE with pss->login set: the answer once the check is done. */
int login_writeable(struct lws *wsi, struct pss *pss);
/* The connection closed or moved on: a check in flight forgets it. */
void login_free(struct pss *pss);
/* A login body: {"password":"…"} or {"user":"…","password":"…"} (no user:
 * AUTH_ADMIN). 0 with user (1..AUTH_NAME_MAX bytes, not checked further:
 * an unknown name costs a dummy verify) and *password (malloc'd); -1 bad
 * request; -2 out of memory. */
int login_decode(const char *body, size_t len, char user[AUTH_NAME_MAX + 1], char **password);

/* ---- protocol.c ---- */

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: refuse with a real HTTP status before
 * the 101, or 0 to go on. what is lws' "in" (the protocol upgraded to). */
int ws_confirm_upgrade(struct server *s, struct lws *wsi, const char *what);
/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: record the client's role. */
int ws_filter(struct server *s, struct lws *wsi, struct pss *c);
int ws_established(struct server *s, struct lws *wsi, struct pss *c);
void ws_closed(struct server *s, struct pss *c);
int ws_receive(struct server *s, struct lws *wsi, struct pss *c, const void *in, size_t len);
/* One whole text message from the client: a command or a ping. */
void ws_message(struct server *s, struct pss *c, const void *text, size_t len);
int ws_writeable(struct server *s, struct lws *wsi, struct pss *c);
/* Close the dashboards whose session the table no longer holds (a logout,
 * "everywhere" included): each reconnects and meets the login. */
void ws_close_ended_sessions(struct server *s);
/* A complete POST /api/notify/ack (Origin and size checked by http.c). */
int notify_ack_post(struct server *s, struct lws *wsi, struct pss *pss);
/* server_on_mqtt() and server_set_broker() (server.h) are here too. */

#endif
