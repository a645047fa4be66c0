#include "wsclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct wsc {
	struct lws_context *ctx;
	lws_sorted_usec_list_t tick; /* wakes lws_service() so callers' deadlines hold */
	struct wsc_conn **conns;     /* every connection made, freed with the context */
	size_t n_conns, cap_conns;
};

/* lws_service() sleeps until an event; the test loop needs to look at its
 * clock now and then, so a 10 ms tick keeps it turning (test client only). */
static void tick_cb(lws_sorted_usec_list_t *sul)
{
	struct wsc *w = lws_container_of(sul, struct wsc, tick);
	lws_sul_schedule(w->ctx, 0, &w->tick, tick_cb, 10 * LWS_US_PER_MS);
}

int64_t wsc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void frame_done(struct wsc_conn *c, bool binary)
{
	struct wsc_frame f = {binary, c->rx_len, NULL, wsc_now_ns()};
	if (binary)
		c->n_binary++;
	else
		c->n_text++;
	if (!binary) {
		free(c->last_text);
		c->last_text = strndup(c->rx ? c->rx : "", c->rx_len);
		if (c->last_text && strstr(c->last_text, "\"type\":\"ready\""))
			c->ready = true;
	}
	if (c->keep) {
		if (c->n_frames == c->cap_frames) {
			c->cap_frames = c->cap_frames ? 2 * c->cap_frames : 64;
			c->frames = realloc(c->frames, c->cap_frames * sizeof(*c->frames));
		}
		f.data = malloc(c->rx_len + 1);
		if (c->rx_len)
			memcpy(f.data, c->rx, c->rx_len);
		f.data[c->rx_len] = '\0';
		c->frames[c->n_frames++] = f;
	}
	if (c->on_frame) {
		struct wsc_frame tmp = f;
		if (!tmp.data)
			tmp.data = c->rx ? c->rx : (char *)""; /* NUL-terminated in RECEIVE */
		c->on_frame(c, &tmp);
	}
	c->rx_len = 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct wsc_conn *c = lws_get_opaque_user_data(wsi);
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		if (c && c->cookie[0] &&
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_COOKIE,
						 (unsigned char *)c->cookie, (int)strlen(c->cookie),
						 p, end))
			return -1;
		break;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c)
			c->established = true;
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c) {
			c->failed = true;
			c->closed = true;
			c->wsi = NULL;
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		if (!c)
			break;
		if (c->rx_len + len + 1 > c->rx_cap) {
			size_t ncap = c->rx_cap ? c->rx_cap : 4096;
			while (ncap < c->rx_len + len + 1)
				ncap *= 2;
			c->rx = realloc(c->rx, ncap);
			c->rx_cap = ncap;
		}
		memcpy(c->rx + c->rx_len, in, len);
		c->rx_len += len;
		c->rx[c->rx_len] = '\0';
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
			frame_done(c, lws_frame_is_binary(wsi));
		break;
	}
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c && len >= 2)
			c->close_code = (((unsigned char *)in)[0] << 8) | ((unsigned char *)in)[1];
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		if (!c || !c->n_out)
			break;
		struct wsc_out o = c->out[0];
		size_t n = o.len;
		unsigned char *buf = malloc(LWS_PRE + n);
		memcpy(buf + LWS_PRE, o.data, n);
		int w =
		    lws_write(wsi, buf + LWS_PRE, n, o.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		free(buf);
		free(o.data);
		memmove(c->out, c->out + 1, (c->n_out - 1) * sizeof(*c->out));
		c->n_out--;
		if (w < (int)n)
			return -1;
		if (c->n_out)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c) {
			c->closed = true;
			c->wsi = NULL;
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
    {"wsc", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

struct wsc *wsc_new(void)
{
	struct wsc *w = calloc(1, sizeof(*w));
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = 0;
	lws_set_log_level(LLL_ERR, NULL);
	w->ctx = lws_create_context(&info);
	if (!w->ctx) {
		free(w);
		return NULL;
	}
	lws_sul_schedule(w->ctx, 0, &w->tick, tick_cb, 10 * LWS_US_PER_MS);
	return w;
}

void wsc_free(struct wsc *w)
{
	if (!w)
		return;
	lws_sul_cancel(&w->tick);
	lws_context_destroy(w->ctx);
	for (size_t i = 0; i < w->n_conns; i++) {
		struct wsc_conn *c = w->conns[i];
		for (size_t k = 0; k < c->n_frames; k++)
			free(c->frames[k].data);
		free(c->frames);
		for (size_t k = 0; k < c->n_out; k++)
			free(c->out[k].data);
		free(c->out);
		free(c->rx);
		free(c->last_text);
		free(c);
	}
	free(w->conns);
	free(w);
}

struct wsc_conn *wsc_connect(struct wsc *w, int port, const char *cookie, const char *origin,
			     const char *subprotocol, bool keep)
{
	return wsc_connect_path(w, port, "/ws", cookie, origin, subprotocol, keep);
}

struct wsc_conn *wsc_connect_path(struct wsc *w, int port, const char *path, const char *cookie,
				  const char *origin, const char *subprotocol, bool keep)
{
	struct wsc_conn *c = calloc(1, sizeof(*c));
	if (w->n_conns == w->cap_conns) {
		w->cap_conns = w->cap_conns ? 2 * w->cap_conns : 64;
		w->conns = realloc(w->conns, w->cap_conns * sizeof(*w->conns));
	}
	w->conns[w->n_conns++] = c;
	c->owner = w;
	c->keep = keep;
	snprintf(c->cookie, sizeof(c->cookie), "%s", cookie ? cookie : "");
	snprintf(c->origin, sizeof(c->origin), "%s", origin ? origin : "");
	snprintf(c->host, sizeof(c->host), "127.0.0.1:%d", port);
	snprintf(c->subprotocol, sizeof(c->subprotocol), "%s", subprotocol ? subprotocol : "");
	snprintf(c->path, sizeof(c->path), "%s", path);
	struct lws_client_connect_info i;
	memset(&i, 0, sizeof(i));
	i.context = w->ctx;
	i.address = "127.0.0.1";
	i.port = port;
	i.path = c->path;
	i.host = c->host;
	i.origin = c->origin[0] ? c->origin : NULL;
	i.protocol = c->subprotocol[0] ? c->subprotocol : NULL;
	i.local_protocol_name = "wsc";
	i.opaque_user_data = c;
	i.pwsi = (struct lws **)&c->wsi;
	if (!lws_client_connect_via_info(&i)) {
		c->failed = c->closed = true;
		c->wsi = NULL;
	}
	return c;
}

bool wsc_run_until(struct wsc *w, bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	int64_t end = wsc_now_ns() + (int64_t)timeout_ms * 1000000;
	while (!cond(arg)) {
		if (wsc_now_ns() > end)
			return false;
		lws_service(w->ctx, 0);
	}
	return true;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

void wsc_run_for(struct wsc *w, int ms)
{
	wsc_run_until(w, never, NULL, ms);
}

static int send_frame(struct wsc_conn *c, const void *data, size_t len, bool binary)
{
	if (!c->wsi)
		return -1;
	c->out = realloc(c->out, (c->n_out + 1) * sizeof(*c->out));
	struct wsc_out *o = &c->out[c->n_out++];
	o->data = malloc(len ? len : 1);
	memcpy(o->data, data, len);
	o->len = len;
	o->binary = binary;
	lws_callback_on_writable(c->wsi);
	return 0;
}

int wsc_send_text(struct wsc_conn *c, const char *text)
{
	return send_frame(c, text, strlen(text), false);
}

int wsc_send_binary(struct wsc_conn *c, const void *data, size_t len)
{
	return send_frame(c, data, len, true);
}

void wsc_read(struct wsc_conn *c, bool on)
{
	if (c->wsi)
		lws_rx_flow_control(c->wsi, on ? 1 : 0);
}

long wsc_find(const struct wsc_conn *c, size_t from, const char *needle)
{
	for (size_t i = from; i < c->n_frames; i++)
		if (!c->frames[i].binary && strstr(c->frames[i].data, needle))
			return (long)i;
	return -1;
}

/* ---- plain HTTP ---- */

static char *find_ci(char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

int http_raw(int port, const char *request, struct http_resp *out)
{
	return http_raw_from(NULL, port, request, out);
}

int http_raw_from(const char *source, int port, const char *request, struct http_resp *out)
{
	memset(out, 0, sizeof(*out));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (source) {
		struct sockaddr_in src = {0};
		src.sin_family = AF_INET;
		if (inet_pton(AF_INET, source, &src.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			close(fd);
			return -1;
		}
	}
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	size_t n = strlen(request), off = 0;
	while (off < n) {
		ssize_t w = send(fd, request + off, n - off, MSG_NOSIGNAL);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	static char buf[1 << 17];
	size_t got = 0;
	long content_length = -1;
	char *body = NULL;
	for (;;) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			body += 4;
			char *cl = find_ci(buf, "\r\ncontent-length:");
			if (cl && cl < body)
				content_length = strtol(cl + 17, NULL, 10);
			if (!strncmp(buf, "HTTP/1.1 101", 12))
				break;
		}
		if (body && content_length >= 0 &&
		    (long)(got - (size_t)(body - buf)) >= content_length)
			break;
	}
	close(fd);
	if (!got || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1)
		return -1;
	char *hend = strstr(buf, "\r\n\r\n");
	size_t hlen = hend ? (size_t)(hend - buf) + 2 : got;
	if (hlen >= sizeof(out->headers))
		hlen = sizeof(out->headers) - 1;
	memcpy(out->headers, buf, hlen);
	out->headers[hlen] = '\0';
	if (hend) {
		out->body_len = got - (size_t)(hend + 4 - buf);
		if (out->body_len >= sizeof(out->body))
			out->body_len = sizeof(out->body) - 1;
		memcpy(out->body, hend + 4, out->body_len);
		out->body[out->body_len] = '\0';
	}
	return 0;
}

int http_get(int port, const char *path, const char *extra_headers, struct http_resp *out)
{
	char req[4096];
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n", path, port,
		 extra_headers ? extra_headers : "");
	return http_raw(port, req, out);
}

int http_post(int port, const char *path, const char *extra_headers, const char *body,
	      struct http_resp *out)
{
	char req[8192];
	snprintf(req, sizeof(req),
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 path, port, extra_headers ? extra_headers : "", strlen(body), body);
	return http_raw(port, req, out);
}

int http_header(const struct http_resp *r, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	const char *p = r->headers;
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t l = strcspn(v, "\r");
			if (l >= size)
				l = size - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return 0;
		}
	}
	return -1;
}

int http_login(int port, const char *password, char *cookie, size_t size)
{
	struct http_resp r;
	char body[256];
	snprintf(body, sizeof(body), "{\"password\":\"%s\"}", password);
	if (http_post(port, "/api/login", NULL, body, &r) < 0)
		return -1;
	char sc[256];
	if (r.status == 200 && http_header(&r, "set-cookie", sc, sizeof(sc)) == 0)
		snprintf(cookie, size, "%.*s", (int)strcspn(sc, ";"), sc);
	return r.status;
}
