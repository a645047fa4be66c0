/*
 * sender — libcurl's multi interface on the libuv loop (sender.h), and the
 * texts it sends.
 *
 * The wiring is curl's "multi_socket" pattern: curl says which sockets it
 * wants watched (on_curl_socket: one uv_poll each, kept in a list so a close
 * can find them) and when it next needs the clock (on_curl_timer: the one
 * uv_timer); both watchers call curl_multi_socket_action and then collect
 * finished transfers with curl_multi_info_read (collect). Finished requests
 * are unlinked before any callback runs, so a callback may start new
 * requests or close the sender.
 */
#include "sender.h"

#include <cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef IOD_VERSION
#define IOD_VERSION "0"
#endif

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct sender *s;
	struct sock *prev, *next;
};

struct req {
	struct sender *s;
	CURL *easy;
	send_done_cb cb;
	void *arg;
	bool smtp;
	char *payload; /* the email (read by curl) or the POST body */
	size_t len, off;
	struct curl_slist *headers, *rcpt;
	enum send_outcome outcome;
	char error[128];
	char errbuf[CURL_ERROR_SIZE];
	struct req *prev, *next;
};

struct sender {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	long timeout_ms;
	char *ca_file;
	struct req *reqs;      /* in the multi handle */
	struct req *cancelled; /* taken out by sender_close, cb still due */
	size_t in_flight;
	struct sock *socks;
	int open_handles; /* the timer and every poll not yet closed */
	bool closing;
	void (*closed)(void *arg);
	void *closed_arg;
	unsigned long seq;
};

/* ---------------------------------------------------------------- texts */

static const char *str(const char *s)
{
	return s ? s : "";
}

static void upper(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

void sender_format_subject(const struct notify_msg *m, char *out, size_t size)
{
	char level[16];

	upper(level, sizeof(level), str(m->level));
	if (m->test)
		snprintf(out, size, "[iod %s] TEST: %s", str(m->site),
			 *str(m->code) ? m->code : "notification");
	else
		snprintf(out, size, "[iod %s] %s: %s", str(m->site), level, str(m->code));
}

/* A growing text buffer; on no memory it stays failed and returns NULL. */
struct tbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void tb_put(struct tbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void tb_str(struct tbuf *b, const char *s)
{
	tb_put(b, s, strlen(s));
}

static void tb_printf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		tb_put(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);

	if (!big) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	tb_put(b, big, (size_t)n);
	free(big);
}

static char *tb_take(struct tbuf *b)
{
	if (b->failed || !b->p) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

static bool plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* A header value: as is when it is printable ASCII, else one RFC 2047
 * encoded word (UTF-8, base64), control characters dropped first. */
static void tb_header_text(struct tbuf *b, const char *s)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char clean[512];
	size_t n = 0;

	for (; *s && n + 1 < sizeof(clean); s++)
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			clean[n++] = *s;
	clean[n] = '\0';
	if (plain_ascii(clean)) {
		tb_put(b, clean, n);
		return;
	}
	tb_put(b, "=?utf-8?B?", 10);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)clean[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned char)clean[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)clean[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		tb_put(b, q, 4);
	}
	tb_put(b, "?=", 2);
}

/* Text as body lines: CRLF ends, lone CRs dropped, lines over 900 bytes
 * broken at a UTF-8 character boundary (SMTP allows 998). */
static void tb_body_text(struct tbuf *b, const char *s)
{
	size_t col = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\r')
			continue;
		if (c == '\n') {
			tb_put(b, "\r\n", 2);
			col = 0;
			continue;
		}
		if (col >= 900 && (c & 0xc0) != 0x80) {
			tb_put(b, "\r\n", 2);
			col = 0;
		}
		tb_put(b, s, 1);
		col++;
	}
}

static void local_and_utc(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm lt, ut;
	char local[64], utc[32];

	if (!localtime_r(&t, &lt) || !gmtime_r(&t, &ut)) {
		snprintf(out, size, "%" PRId64 " ms", ms);
		return;
	}
	strftime(local, sizeof(local), "%Y-%m-%d %H:%M:%S %Z", &lt);
	strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &ut);
	snprintf(out, size, "%s (%s)", local, utc);
}

/* RFC 5322 date-time in local time, English names whatever the locale. */
static void rfc5322_date(int64_t ms, char *out, size_t size)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm lt;
	long off;

	if (!localtime_r(&t, &lt)) {
		snprintf(out, size, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	off = lt.tm_gmtoff / 60;
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[lt.tm_wday % 7],
		 lt.tm_mday, months[lt.tm_mon % 12], lt.tm_year + 1900, lt.tm_hour, lt.tm_min,
		 lt.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

char *sender_format_email(const struct channel *ch, const struct notify_msg *m,
			  const char *message_id)
{
	struct tbuf b = {0};
	char subject[256], date[64], level[16], when[128];

	sender_format_subject(m, subject, sizeof(subject));
	rfc5322_date(m->ts_ms, date, sizeof(date));
	upper(level, sizeof(level), str(m->level));

	tb_printf(&b, "Date: %s\r\n", date);
	tb_str(&b, "From: \"");
	if (ch->name[0]) {
		tb_header_text(&b, ch->name);
	} else {
		tb_str(&b, "iod ");
		tb_header_text(&b, str(m->site));
	}
	tb_printf(&b, "\" <%s>\r\nTo: ", ch->from);
	for (int i = 0; i < ch->n_to; i++)
		tb_printf(&b, "%s%s", i ? ", " : "", ch->to[i]);
	tb_str(&b, "\r\nSubject: ");
	tb_header_text(&b, subject);
	tb_printf(&b, "\r\nMessage-ID: <%s>\r\n", str(message_id));
	tb_str(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
	tb_str(&b, "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n");
	if (*str(m->key)) {
		tb_str(&b, "X-Iod-Alert: ");
		tb_header_text(&b, m->key);
		tb_str(&b, "\r\n");
	}
	tb_str(&b, "\r\n");

	if (m->test)
		tb_printf(&b, "This is a test notification from iod-notify at %s.\r\n\r\n",
			  str(m->site));
	else
		tb_printf(&b, "%s: %s at %s\r\n\r\n", level, str(m->code), str(m->site));
	tb_body_text(&b, str(m->message));
	tb_str(&b, "\r\n\r\n");
	tb_printf(&b, "Level:   %s\r\nSite:    %s\r\n", str(m->level), str(m->site));
	if (*str(m->source))
		tb_printf(&b, "Source:  %s\r\n", m->source);
	if (*str(m->key))
		tb_printf(&b, "Alert:   %s\r\n", m->key);
	if (m->since_ms > 0) {
		local_and_utc(m->since_ms, when, sizeof(when));
		tb_printf(&b, "Since:   %s\r\n", when);
	}
	local_and_utc(m->ts_ms, when, sizeof(when));
	tb_printf(&b, "Sent:    %s\r\n", when);
	if (*str(m->contact))
		tb_printf(&b, "To:      %s\r\n", m->contact);
	return tb_take(&b);
}

static const char *apprise_type(const char *level)
{
	if (!strcmp(str(level), "critical"))
		return "failure";
	if (!strcmp(str(level), "warning"))
		return "warning";
	return "info";
}

static int gotify_priority(const char *level)
{
	if (!strcmp(str(level), "critical"))
		return 10;
	if (!strcmp(str(level), "warning"))
		return 8;
	return 5;
}

int sender_ntfy_priority(const char *level)
{
	if (!strcmp(str(level), "critical"))
		return 5;
	if (!strcmp(str(level), "warning"))
		return 4;
	return 3;
}

const char *sender_ntfy_tags(const char *level)
{
	if (!strcmp(str(level), "critical"))
		return "rotating_light";
	if (!strcmp(str(level), "warning"))
		return "warning";
	return "information_source";
}

char *sender_format_json(const struct channel *ch, const struct notify_msg *m)
{
	char subject[256];
	cJSON *o, *a;
	char *text = NULL;

	if (ch->kind != CHANNEL_JSON && ch->kind != CHANNEL_GOTIFY)
		return NULL;
	sender_format_subject(m, subject, sizeof(subject));
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (ch->kind == CHANNEL_GOTIFY) {
		cJSON_AddStringToObject(o, "title", subject);
		cJSON_AddStringToObject(o, "message", str(m->message));
		cJSON_AddNumberToObject(o, "priority", gotify_priority(m->level));
	} else {
		cJSON_AddStringToObject(o, "version", "1.0");
		cJSON_AddStringToObject(o, "title", subject);
		cJSON_AddStringToObject(o, "message", str(m->message));
		cJSON_AddStringToObject(o, "type", apprise_type(m->level));
		a = cJSON_AddObjectToObject(o, "alert");
		if (a) {
			cJSON_AddStringToObject(a, "site", str(m->site));
			cJSON_AddStringToObject(a, "key", str(m->key));
			cJSON_AddStringToObject(a, "source", str(m->source));
			cJSON_AddStringToObject(a, "code", str(m->code));
			cJSON_AddStringToObject(a, "level", str(m->level));
			cJSON_AddStringToObject(a, "message", str(m->message));
			cJSON_AddNumberToObject(a, "since", (double)m->since_ms);
			cJSON_AddNumberToObject(a, "ts", (double)m->ts_ms);
			cJSON_AddStringToObject(a, "contact", str(m->contact));
			cJSON_AddBoolToObject(a, "test", m->test);
		}
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

enum send_outcome sender_http_outcome(long status)
{
	if (status >= 200 && status < 300)
		return SEND_OK;
	if (status == 0 || status == 408 || status == 429 || status >= 500)
		return SEND_RETRY;
	return SEND_PERMANENT;
}

enum send_outcome sender_smtp_outcome(long reply_code)
{
	if (reply_code >= 200 && reply_code < 300)
		return SEND_OK;
	if (reply_code >= 500 && reply_code < 600)
		return SEND_PERMANENT;
	return SEND_RETRY;
}

/* ------------------------------------------------------------ the loop */

static void on_handle_closed(uv_handle_t *h);

static void sock_close(struct sock *k)
{
	struct sender *s = k->s;

	if (k->prev)
		k->prev->next = k->next;
	else
		s->socks = k->next;
	if (k->next)
		k->next->prev = k->prev;
	uv_poll_stop(&k->poll);
	uv_close((uv_handle_t *)&k->poll, on_handle_closed);
}

static void req_free(struct req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	curl_slist_free_all(r->rcpt);
	free(r->payload);
	free(r);
}

static void req_unlink(struct req **list, struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		*list = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void req_push(struct req **list, struct req *r)
{
	r->prev = NULL;
	r->next = *list;
	if (*list)
		(*list)->prev = r;
	*list = r;
}

static void settle(struct req *r, CURLcode rc)
{
	long code = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	r->error[0] = '\0';
	if (rc == CURLE_OK && !r->smtp) {
		r->outcome = sender_http_outcome(code);
		if (r->outcome != SEND_OK)
			snprintf(r->error, sizeof(r->error), "HTTP %ld", code);
		return;
	}
	if (rc == CURLE_OK) {
		r->outcome = SEND_OK;
		return;
	}
	if (r->smtp && code >= 400) {
		r->outcome = sender_smtp_outcome(code);
		snprintf(r->error, sizeof(r->error), "SMTP %ld", code);
		return;
	}
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(r->error, sizeof(r->error), "timeout");
		r->outcome = SEND_RETRY;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(r->error, sizeof(r->error), "could not resolve host");
		r->outcome = SEND_RETRY;
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(r->error, sizeof(r->error), "could not connect");
		r->outcome = SEND_RETRY;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
		r->outcome = SEND_PERMANENT;
		break;
	default:
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
		r->outcome = SEND_RETRY;
		break;
	}
}

static void finish(struct sender *s, struct req *r)
{
	s->in_flight--;
	r->cb(r->arg, r->outcome, r->outcome == SEND_OK ? NULL : r->error);
	req_free(r);
}

/* Take every finished transfer out of the multi handle first, then call
 * their callbacks (which may start requests or close the sender). */
static void collect(struct sender *s)
{
	struct req *done = NULL;
	CURLMsg *msg;
	int left;

	if (!s->multi)
		return;
	while ((msg = curl_multi_info_read(s->multi, &left))) {
		struct req *r = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		settle(r, rc);
		curl_multi_remove_handle(s->multi, easy);
		req_unlink(&s->reqs, r);
		req_push(&done, r);
	}
	/* done is newest first; call in the order curl finished them */
	struct req *last = done;

	while (last && last->next)
		last = last->next;
	while (last) {
		struct req *prev = last->prev;

		finish(s, last);
		last = prev;
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct sock *k = h->data;
	struct sender *s = k->s;
	int flags = 0;
	int running;

	if (s->closing)
		return;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(s->multi, k->fd, flags, &running);
	collect(s);
}

static void on_timer(uv_timer_t *t)
{
	struct sender *s = t->data;
	int running;

	curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(s);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sender *s = userp;
	struct sock *k = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (k) {
			if (!s->closing)
				curl_multi_assign(s->multi, fd, NULL);
			sock_close(k);
		}
		return 0;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return -1;
		if (uv_poll_init_socket(s->loop, &k->poll, fd) < 0) {
			free(k);
			return -1;
		}
		k->fd = fd;
		k->s = s;
		k->poll.data = k;
		k->next = s->socks;
		if (s->socks)
			s->socks->prev = k;
		s->socks = k;
		s->open_handles++;
		curl_multi_assign(s->multi, fd, k);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&k->poll, events, on_poll);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct sender *s = userp;

	(void)multi;
	if (s->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&s->timer);
	else
		uv_timer_start(&s->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static void maybe_free(struct sender *s)
{
	void (*closed)(void *) = s->closed;
	void *arg = s->closed_arg;

	if (!s->closing || s->open_handles > 0 || s->multi)
		return;
	free(s->ca_file);
	free(s);
	if (closed)
		closed(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct sender *s;

	if (h->type == UV_POLL) {
		struct sock *k = h->data;

		s = k->s;
		free(k);
	} else {
		s = h->data;
	}
	s->open_handles--;
	maybe_free(s);
}

struct sender *sender_new(uv_loop_t *loop, const struct sender_options *o)
{
	static bool global_done;
	struct sender *s;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = true;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : SENDER_TIMEOUT_DEFAULT_MS;
	if (o && o->ca_file && !(s->ca_file = strdup(o->ca_file)))
		goto fail;
	s->multi = curl_multi_init();
	if (!s->multi)
		goto fail;
	if (uv_timer_init(loop, &s->timer) < 0) {
		curl_multi_cleanup(s->multi);
		goto fail;
	}
	s->timer.data = s;
	s->open_handles = 1;
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	return s;
fail:
	free(s->ca_file);
	free(s);
	return NULL;
}

static size_t on_read(char *buf, size_t size, size_t n, void *userp)
{
	struct req *r = userp;
	size_t room = size * n;
	size_t left = r->len - r->off;
	size_t k = left < room ? left : room;

	memcpy(buf, r->payload + r->off, k);
	r->off += k;
	return k;
}

static size_t on_write(char *buf, size_t size, size_t n, void *userp)
{
	(void)buf;
	(void)userp;
	return size * n; /* the peer's answer body is not needed */
}

static struct req *req_new(struct sender *s, send_done_cb cb, void *arg)
{
	struct req *r;

	if (!s || s->closing || !cb)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->easy = curl_easy_init();
	if (!r->easy) {
		free(r);
		return NULL;
	}
	r->s = s;
	r->cb = cb;
	r->arg = arg;
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "iod-notify/" IOD_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	if (s->ca_file)
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, s->ca_file);
	return r;
}

static int req_start(struct sender *s, struct req *r)
{
	if (curl_multi_add_handle(s->multi, r->easy) != CURLM_OK) {
		req_free(r);
		return -1;
	}
	req_push(&s->reqs, r);
	s->in_flight++;
	return 0;
}

static bool add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *n = curl_slist_append(*list, h);

	if (!n)
		return false;
	*list = n;
	return true;
}

static int setup_http(struct req *r, const char *url, const char *content_type)
{
	char ct[96];

	if (content_type) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		if (!add_header(&r->headers, ct))
			return -1;
	}
	if (!add_header(&r->headers, "Expect:"))
		return -1;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->payload ? r->payload : "");
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	return 0;
}

static int setup_smtp(struct sender *s, struct req *r, const struct channel *ch,
		      const struct notify_msg *m)
{
	char id[160], site[48], from[CHANNEL_ADDR_SIZE + 2], rcpt[CHANNEL_ADDR_SIZE + 2];
	size_t n = 0;

	for (const char *p = str(m->site); *p && n + 1 < sizeof(site); p++)
		if (isalnum((unsigned char)*p) || *p == '-' || *p == '.')
			site[n++] = *p;
	site[n] = '\0';
	snprintf(id, sizeof(id), "%" PRId64 ".%lu.%ld@iod-notify.%s", m->ts_ms, ++s->seq,
		 (long)getpid(), n ? site : "local");
	r->payload = sender_format_email(ch, m, id);
	if (!r->payload)
		return -1;
	r->len = strlen(r->payload);
	r->smtp = true;
	snprintf(from, sizeof(from), "<%s>", ch->from);
	for (int i = 0; i < ch->n_to; i++) {
		snprintf(rcpt, sizeof(rcpt), "<%s>", ch->to[i]);
		if (!add_header(&r->rcpt, rcpt))
			return -1;
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, ch->target);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(r->easy, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(r->easy, CURLOPT_MAIL_RCPT, r->rcpt);
	curl_easy_setopt(r->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(r->easy, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(r->easy, CURLOPT_READDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(r->easy, CURLOPT_USE_SSL,
			 ch->smtp_tls == CHANNEL_SMTP_STARTTLS_TRY ? (long)CURLUSESSL_TRY
								   : (long)CURLUSESSL_ALL);
	if (ch->user[0]) {
		curl_easy_setopt(r->easy, CURLOPT_USERNAME, ch->user);
		curl_easy_setopt(r->easy, CURLOPT_PASSWORD, ch->pass);
	}
	return 0;
}

static int setup_ntfy(struct req *r, const struct channel *ch, const struct notify_msg *m)
{
	struct tbuf h = {0};
	char subject[256], line[256];
	char *title;
	bool ok = true;
	const char *code = str(m->code);

	sender_format_subject(m, subject, sizeof(subject));
	tb_str(&h, "Title: ");
	tb_header_text(&h, subject);
	title = tb_take(&h);
	if (!title)
		return -1;
	ok = add_header(&r->headers, title);
	free(title);
	snprintf(line, sizeof(line), "Priority: %d", sender_ntfy_priority(m->level));
	ok = ok && add_header(&r->headers, line);
	for (const char *p = code; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			code = "";
	snprintf(line, sizeof(line), "Tags: %s%s%.64s", sender_ntfy_tags(m->level),
		 *code ? "," : "", code);
	ok = ok && add_header(&r->headers, line);
	if (ok && ch->token[0]) {
		struct tbuf a = {0};
		char *auth;

		tb_printf(&a, "Authorization: Bearer %s", ch->token);
		auth = tb_take(&a);
		ok = auth && add_header(&r->headers, auth);
		free(auth);
	}
	if (!ok)
		return -1;
	r->payload = strdup(str(m->message));
	if (!r->payload)
		return -1;
	r->len = strlen(r->payload);
	return setup_http(r, ch->target, "text/plain; charset=utf-8");
}

int sender_send(struct sender *s, const struct channel *ch, const struct notify_msg *m,
		send_done_cb cb, void *arg)
{
	struct req *r;
	int rc = -1;

	if (!ch || !m || ch->kind == CHANNEL_WEBPUSH)
		return -1;
	r = req_new(s, cb, arg);
	if (!r)
		return -1;
	switch (ch->kind) {
	case CHANNEL_MAILTO:
		rc = setup_smtp(s, r, ch, m);
		break;
	case CHANNEL_NTFY:
		rc = setup_ntfy(r, ch, m);
		break;
	case CHANNEL_JSON:
	case CHANNEL_GOTIFY:
		r->payload = sender_format_json(ch, m);
		if (!r->payload)
			break;
		r->len = strlen(r->payload);
		if (ch->kind == CHANNEL_GOTIFY) {
			struct tbuf k = {0};
			char *key;

			tb_printf(&k, "X-Gotify-Key: %s", ch->token);
			key = tb_take(&k);
			if (!key || !add_header(&r->headers, key)) {
				free(key);
				break;
			}
			free(key);
		}
		rc = setup_http(r, ch->target, "application/json");
		break;
	case CHANNEL_WEBPUSH:
		break;
	}
	if (rc == 0 && !r->smtp && (ch->user[0] || ch->pass[0])) {
		curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(r->easy, CURLOPT_USERNAME, ch->user);
		curl_easy_setopt(r->easy, CURLOPT_PASSWORD, ch->pass);
	}
	if (rc < 0) {
		req_free(r);
		return -1;
	}
	return req_start(s, r);
}

int sender_post(struct sender *s, const char *url, const char *const *headers, const void *body,
		size_t len, send_done_cb cb, void *arg)
{
	struct req *r;

	if (!url || (len && !body))
		return -1;
	r = req_new(s, cb, arg);
	if (!r)
		return -1;
	r->payload = malloc(len + 1);
	if (!r->payload)
		goto fail;
	if (len)
		memcpy(r->payload, body, len);
	r->payload[len] = '\0';
	r->len = len;
	for (size_t i = 0; headers && headers[i]; i++)
		if (!add_header(&r->headers, headers[i]))
			goto fail;
	if (setup_http(r, url, NULL) < 0)
		goto fail;
	return req_start(s, r);
fail:
	req_free(r);
	return -1;
}

size_t sender_in_flight(const struct sender *s)
{
	return s ? s->in_flight : 0;
}

/* The second half of a close, on the loop: the cancelled callbacks, then
 * curl (which may still remove sockets), then our handles. */
static void on_close_timer(uv_timer_t *t)
{
	struct sender *s = t->data;

	while (s->cancelled) {
		struct req *r = s->cancelled;

		req_unlink(&s->cancelled, r);
		r->outcome = SEND_RETRY;
		snprintf(r->error, sizeof(r->error), "cancelled");
		finish(s, r);
	}
	curl_multi_cleanup(s->multi);
	s->multi = NULL;
	while (s->socks)
		sock_close(s->socks);
	uv_close((uv_handle_t *)&s->timer, on_handle_closed);
}

void sender_close(struct sender *s, void (*closed)(void *arg), void *arg)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	s->closed = closed;
	s->closed_arg = arg;
	while (s->reqs) {
		struct req *r = s->reqs;

		req_unlink(&s->reqs, r);
		curl_multi_remove_handle(s->multi, r->easy);
		req_push(&s->cancelled, r);
	}
	uv_timer_stop(&s->timer);
	uv_timer_start(&s->timer, on_close_timer, 0, 0);
}
