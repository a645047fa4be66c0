/* Stand-ins for lws, mqttc, the clock and the log under the bridge's glue. */
#include "glue_stubs.h"

#include "accounts.h"
#include "bmsg.h"
#include "log.h"
#include "mqttc.h"
#include "sites.h"
#include "state.h"
#include "users.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t glue_now_ms;
bool glue_mqtt_connected;
int glue_publish_rc;
char glue_published_topic[256], glue_published[1024];
int glue_published_qos;
bool glue_published_retain;
unsigned glue_publishes;
char glue_last_log[512];
unsigned glue_logs;

/* ---- the clock, the log, mqttc ---- */

int64_t loop_wall_ms(void)
{
	return glue_now_ms;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	(void)level;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(glue_last_log, sizeof(glue_last_log), fmt, ap);
	va_end(ap);
	glue_logs++;
}

bool mqttc_is_connected(const struct mqttc *m)
{
	(void)m;
	return glue_mqtt_connected;
}

int mqttc_publish_str(struct mqttc *m, const char *topic, const char *text, int qos, bool retain)
{
	(void)m;
	snprintf(glue_published_topic, sizeof(glue_published_topic), "%s", topic);
	snprintf(glue_published, sizeof(glue_published), "%s", text);
	glue_published_qos = qos;
	glue_published_retain = retain;
	glue_publishes++;
	return glue_publish_rc;
}

void mqttc_get_stats(const struct mqttc *m, struct mqttc_stats *out)
{
	(void)m;
	memset(out, 0, sizeof(*out));
}

/* ---- libwebsockets ---- */

static void append(char *buf, size_t size, const char *text, size_t len)
{
	size_t have = strlen(buf);
	cr_assert_lt(have + len, size, "the fake connection's record is full");
	memcpy(buf + have, text, len);
	buf[have + len] = '\0';
}

int lws_hdr_total_length(struct lws *wsi, enum lws_token_indexes h)
{
	return wsi->hdr[h] ? (int)strlen(wsi->hdr[h]) : 0;
}

int lws_hdr_copy(struct lws *wsi, char *dest, int len, enum lws_token_indexes h)
{
	if (!wsi->hdr[h] || (int)strlen(wsi->hdr[h]) >= len)
		return -1;
	strcpy(dest, wsi->hdr[h]);
	return (int)strlen(dest);
}

/* The idx-th '&'-separated piece of the header (the query: set
 * hdr[WSI_TOKEN_HTTP_URI_ARGS] to "a=1&b=2"), not URL-decoded. */
int lws_hdr_copy_fragment(struct lws *wsi, char *dest, int len, enum lws_token_indexes h,
			  int frag_idx)
{
	const char *p = wsi->hdr[h];
	for (int i = 0; p && i < frag_idx; i++) {
		p = strchr(p, '&');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	size_t n = strcspn(p, "&");
	if ((int)n >= len)
		return -1;
	memcpy(dest, p, n);
	dest[n] = '\0';
	return (int)n;
}

int lws_hdr_custom_length(struct lws *wsi, const char *name, int nlen)
{
	if (nlen == 10 && !strncmp(name, "forwarded:", 10) && wsi->forwarded)
		return (int)strlen(wsi->forwarded);
	return -1;
}

const char *lws_get_peer_simple(struct lws *wsi, char *name, size_t namelen)
{
	snprintf(name, namelen, "%s", wsi->peer ? wsi->peer : "");
	return name;
}

lws_sockfd_type lws_get_socket_fd(struct lws *wsi)
{
	(void)wsi;
	return -1;
}

struct lws *lws_get_network_wsi(struct lws *wsi)
{
	return wsi->network ? wsi->network : wsi;
}

int lws_add_http_common_headers(struct lws *wsi, unsigned int code, const char *content_type,
				lws_filepos_t content_len, unsigned char **p, unsigned char *end)
{
	(void)p;
	(void)end;
	wsi->status = code;
	char line[256];
	int n = snprintf(line, sizeof(line), "content-type: %s\ncontent-length: %llu\n",
			 content_type, (unsigned long long)content_len);
	append(wsi->headers, sizeof(wsi->headers), line, (size_t)n);
	return 0;
}

int lws_add_http_header_status(struct lws *wsi, unsigned int code, unsigned char **p,
			       unsigned char *end)
{
	(void)p;
	(void)end;
	wsi->status = code;
	return 0;
}

int lws_add_http_header_by_name(struct lws *wsi, const unsigned char *name,
				const unsigned char *value, int length, unsigned char **p,
				unsigned char *end)
{
	(void)p;
	(void)end;
	append(wsi->headers, sizeof(wsi->headers), (const char *)name, strlen((const char *)name));
	append(wsi->headers, sizeof(wsi->headers), " ", 1);
	append(wsi->headers, sizeof(wsi->headers), (const char *)value, (size_t)length);
	append(wsi->headers, sizeof(wsi->headers), "\n", 1);
	return 0;
}

int lws_finalize_write_http_header(struct lws *wsi, unsigned char *start, unsigned char **p,
				   unsigned char *end)
{
	(void)wsi;
	(void)start;
	(void)p;
	(void)end;
	return 0;
}

int lws_http_transaction_completed(struct lws *wsi)
{
	wsi->completed++;
	return 0;
}

int lws_serve_http_file(struct lws *wsi, const char *file, const char *content_type,
			const char *other_headers, int other_headers_len)
{
	(void)wsi;
	(void)file;
	(void)content_type;
	(void)other_headers;
	(void)other_headers_len;
	cr_assert_fail("no test serves a file too big for the cache");
	return -1;
}

int lws_return_http_status(struct lws *wsi, unsigned int code, const char *html_body)
{
	wsi->status = code;
	snprintf(wsi->returned, sizeof(wsi->returned), "%s", html_body ? html_body : "");
	return 0;
}

int lws_callback_on_writable(struct lws *wsi)
{
	wsi->writable++;
	return 1;
}

int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol protocol)
{
	(void)protocol;
	cr_assert(!lws_partial_buffered(wsi), "lws_write() #%u while lws holds a partial write",
		  wsi->writes + 1);
	if (wsi->fail_at_write && wsi->writes + 1 == wsi->fail_at_write) {
		if (wsi->writes < sizeof(wsi->wrote_end) / sizeof(wsi->wrote_end[0]))
			wsi->wrote_end[wsi->writes] = wsi->body_len;
		wsi->writes++;
		return -1;
	}
	cr_assert_lt(wsi->body_len + len, sizeof(wsi->body));
	memcpy(wsi->body + wsi->body_len, buf, len);
	wsi->body_len += len;
	wsi->body[wsi->body_len] = '\0';
	if (wsi->writes < sizeof(wsi->wrote_end) / sizeof(wsi->wrote_end[0]))
		wsi->wrote_end[wsi->writes] = wsi->body_len;
	wsi->writes++;
	return (int)len;
}

int lws_partial_buffered(struct lws *wsi)
{
	return wsi->partial_at_write && wsi->writes >= wsi->partial_at_write;
}

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
	(void)reason;
	if (secs == LWS_TO_KILL_ASYNC)
		wsi->killed = true;
}

int lws_is_final_fragment(struct lws *wsi)
{
	return wsi->final_fragment;
}

size_t lws_remaining_packet_payload(struct lws *wsi)
{
	(void)wsi;
	return 0;
}

void lws_close_reason(struct lws *wsi, enum lws_close_status status, unsigned char *buf, size_t len)
{
	(void)buf;
	(void)len;
	wsi->close_status = (int)status;
}

/* ---- helpers ---- */

void glue_wsi_reset(struct lws *wsi)
{
	memset(wsi, 0, sizeof(*wsi));
	wsi->final_fragment = true;
}

static char fake_mqttc; /* cfg.mqtt is only compared with NULL and passed back */

struct server *glue_server_new(bool public_view, unsigned max_clients)
{
	return glue_server_new_sites(public_view, max_clients, NULL);
}

struct server *glue_server_new_sites(bool public_view, unsigned max_clients, const char *list)
{
	glue_now_ms = 1795660181000;
	glue_mqtt_connected = true;
	glue_publish_rc = 0;
	glue_published_topic[0] = glue_published[0] = '\0';
	glue_publishes = 0;
	glue_last_log[0] = '\0';
	glue_logs = 0;
	struct server *s = calloc(1, sizeof(*s));
	cr_assert_not_null(s);
	struct auth_config ac = {.password = "hunter2", .hostname = "dogpi"};
	struct state_config sc = {.site = "home", .headroom = LWS_PRE};
	s->cfg.site = "home";
	s->cfg.public_view = public_view;
	s->cfg.max_clients = max_clients;
	s->cfg.auth = auth_new(&ac);
	/* No users file; IOD_BRIDGE_PASSWORD's admin, checked inline (no loop). */
	s->cfg.accounts = accounts_new(NULL, NULL, "hunter2");
	cr_assert_not_null(s->cfg.accounts);
	s->cfg.sites = sites_new(list, "home", &sc);
	s->cfg.mqtt = (struct mqttc *)&fake_mqttc;
	cr_assert_not_null(s->cfg.auth);
	cr_assert_not_null(s->cfg.sites);
	s->broker_up = true;
	s->queue_max = 64;
	return s;
}

void glue_server_free(struct server *s)
{
	auth_free(s->cfg.auth);
	accounts_free(s->cfg.accounts);
	sites_free(s->cfg.sites);
	free(s);
}

void glue_users(struct server *s, char dir[64], const struct glue_user *users, size_t n)
{
	snprintf(dir, 64, "/tmp/iod-glue-users-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	struct users *set = users_new();
	char hash[USERS_ENCODED_MAX], path[128];
	cr_assert_eq(users_hash("pw", 2, hash), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(users_add(set, users[i].name, users[i].role, users[i].sites, hash), 0);
	snprintf(path, sizeof(path), "%s/users", dir);
	cr_assert_eq(users_save(set, path), 0);
	users_free(set);
	accounts_free(s->cfg.accounts);
	s->cfg.accounts = accounts_new(NULL, dir, "hunter2");
	cr_assert_not_null(s->cfg.accounts);
}

void glue_users_drop(const char *dir)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/users", dir);
	unlink(path);
	rmdir(dir);
}

void glue_login(struct server *s, const char *ip, char token[AUTH_TOKEN_HEX + 1])
{
	int64_t retry;
	cr_assert_eq(auth_login(s->cfg.auth, ip, "hunter2", 7, glue_now_ms, token, &retry),
		     AUTH_LOGIN_OK);
}

char *glue_pop_text(struct pss *c)
{
	struct lws *w = c->wsi;
	size_t most = sizeof(w->wrote_end) / sizeof(w->wrote_end[0]);
	if (w && w->wrote_read < (w->writes < most ? w->writes : most)) {
		size_t start = w->wrote_read ? w->wrote_end[w->wrote_read - 1] : 0;
		size_t end = w->wrote_end[w->wrote_read++];
		return strndup(w->body + start, end - start);
	}
	struct bmsg *m = cqueue_pop(&c->q);
	if (!m)
		return NULL;
	char *text = strndup((const char *)bmsg_data(m), m->len);
	bmsg_unref(m);
	return text;
}
