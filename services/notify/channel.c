/*
 * channel — Apprise-style channel URLs parsed into what sender.c needs
 * (channel.h). The parser splits scheme://[user[:pass]@]host[:port][/path]
 * [?query] once, then each kind checks its own parts; every refusal names
 * the part and never echoes a password.
 */
#include "channel.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGMENTS 8
#define MAX_PARAMS   16

struct scheme {
	const char *name;
	enum channel_kind kind;
	bool tls;
};

static const struct scheme schemes[] = {
    {"mailto", CHANNEL_MAILTO, false}, {"mailtos", CHANNEL_MAILTO, true},
    {"ntfy", CHANNEL_NTFY, false},     {"ntfys", CHANNEL_NTFY, true},
    {"json", CHANNEL_JSON, false},     {"jsons", CHANNEL_JSON, true},
    {"gotify", CHANNEL_GOTIFY, false}, {"gotifys", CHANNEL_GOTIFY, true},
};

/* A URL split into its raw (still percent-encoded) parts, each a copy. */
struct parts {
	const struct scheme *scheme;
	char userinfo_user[128]; /* raw */
	bool has_userinfo, has_pass;
	char user[128], pass[128];   /* decoded */
	char hostport[300];	     /* raw, as written: host[:port] or [v6]:port */
	char host[256];		     /* IPv6 keeps its brackets */
	int port;		     /* 0: none written */
	char path[512];		     /* raw, from the first '/', may be empty */
	char seg[MAX_SEGMENTS][256]; /* decoded, empty ones skipped */
	int n_seg;
	char key[MAX_PARAMS][32], val[MAX_PARAMS][256]; /* decoded */
	int n_param;
};

static int fail(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *channel_kind_name(enum channel_kind kind)
{
	switch (kind) {
	case CHANNEL_MAILTO:
		return "mailto";
	case CHANNEL_NTFY:
		return "ntfy";
	case CHANNEL_JSON:
		return "json";
	case CHANNEL_GOTIFY:
		return "gotify";
	case CHANNEL_WEBPUSH:
		return "webpush";
	}
	return "?";
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode n bytes of src into dst (NUL-terminated). 0, or -1 on a
 * bad escape, a decoded NUL or control byte, or no room. */
static int decode(const char *src, size_t n, char *dst, size_t dst_size)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);

			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
			if (c < 0x20 || c == 0x7f)
				return -1;
		}
		if (o + 1 >= dst_size)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

/* Copy with truncation (every caller has checked the length first, or
 * accepts a cut). */
static void cpy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool copy_n(char *dst, size_t dst_size, const char *src, size_t n)
{
	if (n >= dst_size)
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

static bool valid_hostname(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253)
		return false;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < n; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return false;
		return true;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
			return false;
	return h[0] != '.' && h[0] != '-';
}

/* local@domain, printable, none of the characters that would break a
 * header or an SMTP command. */
static bool valid_address(const char *a)
{
	const char *at = strrchr(a, '@');

	if (!at || at == a || !at[1] || strlen(a) >= CHANNEL_ADDR_SIZE)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>,;\"()[]\\", *p))
			return false;
	return strchr(a, '@') == at && valid_hostname(at + 1);
}

/* The port's text is echoed only when it is all digits: anything else may
 * be a password whose '@' is missing (mailto://ann:secret). */
static int parse_port(const char *s, size_t n, int *port, char *why, size_t why_size)
{
	char buf[16];
	long v = 0;

	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return fail(why, why_size,
				    "bad port (not a number; a user:password needs "
				    "an '@' after it)");
	if (n == 0 || n >= 6)
		return fail(why, why_size, "bad port '%.*s' (1 to 65535)", (int)(n < 12 ? n : 12),
			    s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	if (v < 1 || v > 65535)
		return fail(why, why_size, "bad port '%s' (1 to 65535)", buf);
	*port = (int)v;
	return 0;
}

static int split(const char *rest, struct parts *p, char *why, size_t why_size)
{
	size_t auth_len = strcspn(rest, "/?");
	const char *auth_end = rest + auth_len;
	const char *at = NULL;
	const char *hp;

	for (const char *q = rest; q < auth_end; q++)
		if (*q == '@')
			at = q;
	hp = rest;
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		size_t ulen = colon ? (size_t)(colon - rest) : (size_t)(at - rest);

		p->has_userinfo = true;
		if (!copy_n(p->userinfo_user, sizeof(p->userinfo_user), rest, ulen) ||
		    decode(rest, ulen, p->user, sizeof(p->user)) < 0)
			return fail(why, why_size, "bad user name (too long or bad %%-escape)");
		if (colon) {
			p->has_pass = true;
			if (decode(colon + 1, (size_t)(at - colon - 1), p->pass, sizeof(p->pass)) <
			    0)
				return fail(why, why_size,
					    "bad password (too long or bad %%-escape)");
		}
		hp = at + 1;
	}
	if (!copy_n(p->hostport, sizeof(p->hostport), hp, (size_t)(auth_end - hp)))
		return fail(why, why_size, "host too long");
	{
		const char *h = p->hostport;
		const char *colon;
		size_t hlen;

		if (h[0] == '[') {
			const char *close = strchr(h, ']');

			if (!close)
				return fail(why, why_size, "bad host (an IPv6 address is [...])");
			hlen = (size_t)(close - h + 1);
			colon = close[1] == ':' ? close + 1 : NULL;
			if (close[1] && !colon)
				return fail(why, why_size, "bad host (an IPv6 address is [...])");
		} else {
			colon = strrchr(h, ':');
			hlen = colon ? (size_t)(colon - h) : strlen(h);
		}
		if (hlen == 0)
			return fail(why, why_size, "missing host");
		/* echoed unless it has a ':' (then it may hold a password) */
		if (!copy_n(p->host, sizeof(p->host), h, hlen) || !valid_hostname(p->host)) {
			if (memchr(h, ':', hlen))
				return fail(why, why_size,
					    "bad host (a user:password needs an '@' "
					    "after it)");
			return fail(why, why_size, "bad host '%.*s'", (int)(hlen < 64 ? hlen : 64),
				    h);
		}
		if (colon && parse_port(colon + 1, strlen(colon + 1), &p->port, why, why_size) < 0)
			return -1;
	}

	const char *path = auth_end;
	size_t path_len = strcspn(path, "?");

	if (!copy_n(p->path, sizeof(p->path), path, path_len))
		return fail(why, why_size, "path too long");
	for (const char *s = p->path; *s;) {
		size_t n;

		while (*s == '/')
			s++;
		n = strcspn(s, "/");
		if (n == 0)
			break;
		if (p->n_seg == MAX_SEGMENTS)
			return fail(why, why_size, "too many path segments (at most %d)",
				    MAX_SEGMENTS);
		if (decode(s, n, p->seg[p->n_seg], sizeof(p->seg[0])) < 0)
			return fail(why, why_size, "bad path segment (too long or bad %%-escape)");
		p->n_seg++;
		s += n;
	}

	const char *query = path + path_len;

	if (*query == '?')
		query++;
	while (*query) {
		size_t n = strcspn(query, "&");
		const char *eq = memchr(query, '=', n);
		size_t klen = eq ? (size_t)(eq - query) : n;

		if (n == 0) {
			query++;
			continue;
		}
		if (p->n_param == MAX_PARAMS)
			return fail(why, why_size, "too many parameters (at most %d)", MAX_PARAMS);
		if (decode(query, klen, p->key[p->n_param], sizeof(p->key[0])) < 0)
			return fail(why, why_size, "bad parameter name");
		if (eq && decode(eq + 1, n - klen - 1, p->val[p->n_param], sizeof(p->val[0])) < 0)
			return fail(why, why_size, "bad value of '%s' (too long or bad %%-escape)",
				    p->key[p->n_param]);
		for (char *k = p->key[p->n_param]; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		p->n_param++;
		query += n;
		if (*query == '&')
			query++;
	}
	return 0;
}

static bool secret_key(const char *k)
{
	return !strcmp(k, "pass") || !strcmp(k, "password") || !strcmp(k, "token");
}

/* The label: the URL rebuilt from its raw parts with the password, the
 * gotify token and secret parameters replaced by "***". */
static void make_label(const char *url, const struct parts *p, struct channel *out)
{
	char buf[1024];
	size_t o = 0;
	const char *rest = strstr(url, "://") + 3;
	const char *q = strchr(rest, '?');

#define PUT(...)                                                                                   \
	do {                                                                                       \
		int n_ = snprintf(buf + o, sizeof(buf) - o, __VA_ARGS__);                          \
		if (n_ > 0)                                                                        \
			o = o + (size_t)n_ < sizeof(buf) ? o + (size_t)n_ : sizeof(buf) - 1;       \
	} while (0)

	PUT("%s://", p->scheme->name);
	if (p->has_userinfo)
		PUT("%s%s@", p->userinfo_user, p->has_pass ? ":***" : "");
	PUT("%s", p->hostport);
	if (out->kind == CHANNEL_GOTIFY) {
		size_t end = strlen(p->path);
		size_t keep;

		while (end > 0 && p->path[end - 1] == '/')
			end--;
		keep = end;
		while (keep > 0 && p->path[keep - 1] != '/')
			keep--;
		PUT("%.*s***", (int)keep, p->path);
	} else {
		PUT("%s", p->path);
	}
	if (q) {
		char sep = '?';

		q++;
		while (*q) {
			size_t n = strcspn(q, "&");
			const char *eq = memchr(q, '=', n);
			size_t klen = eq ? (size_t)(eq - q) : n;
			char key[32];

			if (n && decode(q, klen, key, sizeof(key)) == 0) {
				for (char *k = key; *k; k++)
					*k = (char)tolower((unsigned char)*k);
				if (secret_key(key))
					PUT("%c%.*s=***", sep, (int)klen, q);
				else
					PUT("%c%.*s", sep, (int)n, q);
				sep = '&';
			}
			q += n;
			if (*q == '&')
				q++;
		}
	}
#undef PUT
	cpy(out->label, sizeof(out->label), buf);
}

/* Apprise's parameters that do not change what we send. */
static bool ignored_param(const char *k)
{
	return !strcmp(k, "format") || !strcmp(k, "overflow");
}

static int add_recipients(struct channel *out, const char *list, char *why, size_t why_size)
{
	const char *s = list;

	while (*s) {
		size_t n = strcspn(s, ",");
		char addr[CHANNEL_ADDR_SIZE];

		while (n && *s == ' ') {
			s++;
			n--;
		}
		if (n) {
			if (!copy_n(addr, sizeof(addr), s, n) || !valid_address(addr))
				return fail(why, why_size, "mailto: bad recipient address '%.*s'",
					    (int)(n < 64 ? n : 64), s);
			if (out->n_to == CHANNEL_MAX_TO)
				return fail(why, why_size, "mailto: more than %d recipients",
					    CHANNEL_MAX_TO);
			cpy(out->to[out->n_to++], CHANNEL_ADDR_SIZE, addr);
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

static int parse_mailto(struct parts *p, struct channel *out, char *why, size_t why_size)
{
	const char *mode = NULL;
	const char *smtp_host = NULL;
	const char *from = NULL;
	int port;

	for (int i = 0; i < p->n_seg; i++)
		if (add_recipients(out, p->seg[i], why, why_size) < 0)
			return -1;
	for (int i = 0; i < p->n_param; i++) {
		const char *k = p->key[i], *v = p->val[i];

		if (!strcmp(k, "to")) {
			if (add_recipients(out, v, why, why_size) < 0)
				return -1;
		} else if (!strcmp(k, "from")) {
			from = v;
		} else if (!strcmp(k, "name")) {
			if (strlen(v) >= sizeof(out->name) || strpbrk(v, "\"\\"))
				return fail(why, why_size,
					    "mailto: bad name= (at most %zu bytes, no quotes)",
					    sizeof(out->name) - 1);
			cpy(out->name, sizeof(out->name), v);
		} else if (!strcmp(k, "user")) {
			cpy(p->user, sizeof(p->user), v);
		} else if (!strcmp(k, "pass") || !strcmp(k, "password")) {
			cpy(p->pass, sizeof(p->pass), v);
		} else if (!strcmp(k, "smtp")) {
			smtp_host = v;
		} else if (!strcmp(k, "mode")) {
			mode = v;
		} else if (!ignored_param(k)) {
			return fail(
			    why, why_size,
			    "mailto: unknown parameter '%s' (to, from, name, user, pass, smtp, "
			    "mode)",
			    k);
		}
	}
	cpy(out->user, sizeof(out->user), p->user);
	cpy(out->pass, sizeof(out->pass), p->pass);

	if (out->n_to == 0) {
		if (!valid_address(out->user))
			return fail(
			    why, why_size,
			    "mailto: no recipient: add ?to=name@example.com (the user is not "
			    "an address)");
		cpy(out->to[out->n_to++], CHANNEL_ADDR_SIZE, out->user);
	}
	if (from) {
		if (!valid_address(from))
			return fail(why, why_size, "mailto: bad from= address '%.64s'", from);
		cpy(out->from, sizeof(out->from), from);
	} else if (valid_address(out->user)) {
		cpy(out->from, sizeof(out->from), out->user);
	} else if (out->user[0] && p->host[0] != '[') {
		char both[sizeof(p->user) + sizeof(p->host) + 1];

		snprintf(both, sizeof(both), "%s@%s", out->user, p->host);
		cpy(out->from, sizeof(out->from), valid_address(both) ? both : out->to[0]);
	} else {
		cpy(out->from, sizeof(out->from), out->to[0]);
	}

	if (mode && !strcasecmp(mode, "ssl")) {
		out->smtp_tls = CHANNEL_SMTP_IMPLICIT;
		out->tls = true;
	} else if (mode && !strcasecmp(mode, "starttls")) {
		out->smtp_tls = CHANNEL_SMTP_STARTTLS;
		out->tls = true;
	} else if (mode) {
		return fail(why, why_size, "mailto: bad mode '%.32s' (ssl or starttls)", mode);
	} else if (!out->tls) {
		out->smtp_tls = CHANNEL_SMTP_STARTTLS_TRY;
	} else {
		out->smtp_tls = p->port == 465 ? CHANNEL_SMTP_IMPLICIT : CHANNEL_SMTP_STARTTLS;
	}
	port = p->port ? p->port
		       : (out->smtp_tls == CHANNEL_SMTP_IMPLICIT   ? 465
			  : out->smtp_tls == CHANNEL_SMTP_STARTTLS ? 587
								   : 25);
	if (smtp_host && !valid_hostname(smtp_host))
		return fail(why, why_size, "mailto: bad smtp= host '%.64s'", smtp_host);
	snprintf(out->target, sizeof(out->target), "%s://%s:%d",
		 out->smtp_tls == CHANNEL_SMTP_IMPLICIT ? "smtps" : "smtp",
		 smtp_host ? smtp_host : p->host, port);
	return 0;
}

static bool valid_topic(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '-')
			return false;
	return true;
}

static const char *http_scheme(const struct channel *out)
{
	return out->tls ? "https" : "http";
}

static int parse_ntfy(struct parts *p, struct channel *out, char *why, size_t why_size)
{
	for (int i = 0; i < p->n_param; i++) {
		if (!strcmp(p->key[i], "token")) {
			cpy(out->token, sizeof(out->token), p->val[i]);
		} else if (!ignored_param(p->key[i])) {
			return fail(why, why_size, "ntfy: unknown parameter '%s' (token)",
				    p->key[i]);
		}
	}
	cpy(out->user, sizeof(out->user), p->user);
	cpy(out->pass, sizeof(out->pass), p->pass);
	if (p->n_seg == 0) {
		/* Apprise's ntfy://topic: the topic on the public ntfy.sh. */
		if (p->has_userinfo || p->port)
			return fail(why, why_size, "ntfy: missing topic (ntfy://host/topic)");
		if (!valid_topic(p->host))
			return fail(why, why_size,
				    "ntfy: bad topic '%.64s' (letters, digits, _ "
				    "and -, at most 64)",
				    p->host);
		cpy(out->topic, sizeof(out->topic), p->host);
		out->tls = true;
		snprintf(out->target, sizeof(out->target), "https://ntfy.sh/%s", out->topic);
		return 0;
	}
	if (p->n_seg > 1)
		return fail(why, why_size, "ntfy: one topic per URL (got %d path segments)",
			    p->n_seg);
	if (!valid_topic(p->seg[0]))
		return fail(why, why_size,
			    "ntfy: bad topic '%.64s' (letters, digits, _ and -, at most 64)",
			    p->seg[0]);
	cpy(out->topic, sizeof(out->topic), p->seg[0]);
	snprintf(out->target, sizeof(out->target), "%s://%s/%s", http_scheme(out), p->hostport,
		 out->topic);
	return 0;
}

static int parse_json(struct parts *p, struct channel *out, char *why, size_t why_size)
{
	for (int i = 0; i < p->n_param; i++)
		if (!ignored_param(p->key[i]))
			return fail(why, why_size,
				    "json: parameter '%s' not supported (no parameters are)",
				    p->key[i]);
	cpy(out->user, sizeof(out->user), p->user);
	cpy(out->pass, sizeof(out->pass), p->pass);
	if ((size_t)snprintf(out->target, sizeof(out->target), "%s://%s%s", http_scheme(out),
			     p->hostport, p->path[0] ? p->path : "/") >= sizeof(out->target))
		return fail(why, why_size, "json: URL too long");
	return 0;
}

static int parse_gotify(struct parts *p, struct channel *out, char *why, size_t why_size)
{
	char prefix[400] = "";
	size_t o = 0;

	for (int i = 0; i < p->n_param; i++)
		if (!ignored_param(p->key[i]))
			return fail(why, why_size, "gotify: unknown parameter '%s'", p->key[i]);
	if (p->has_userinfo)
		return fail(why, why_size,
			    "gotify: no user or password (the token is the last "
			    "path segment)");
	if (p->n_seg == 0)
		return fail(why, why_size, "gotify: missing token (gotify://host/<token>)");
	for (const char *t = p->seg[p->n_seg - 1]; *t; t++)
		if ((unsigned char)*t <= ' ' || strchr("/?#%&", *t))
			return fail(why, why_size, "gotify: bad token");
	cpy(out->token, sizeof(out->token), p->seg[p->n_seg - 1]);
	for (int i = 0; i + 1 < p->n_seg; i++) {
		int n = snprintf(prefix + o, sizeof(prefix) - o, "/%s", p->seg[i]);

		if (n < 0 || (size_t)n >= sizeof(prefix) - o)
			return fail(why, why_size, "gotify: path too long");
		o += (size_t)n;
	}
	if ((size_t)snprintf(out->target, sizeof(out->target), "%s://%s%s/message",
			     http_scheme(out), p->hostport, prefix) >= sizeof(out->target))
		return fail(why, why_size, "gotify: URL too long");
	return 0;
}

static int parse_webpush(const char *user, struct channel *out, char *why, size_t why_size)
{
	size_t n = strlen(user);

	if (n == 0)
		return fail(why, why_size, "webpush: missing user (webpush:<user>)");
	if (n >= sizeof(out->webpush_user))
		return fail(why, why_size, "webpush: user name longer than %zu bytes",
			    sizeof(out->webpush_user) - 1);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)user[i]) && !strchr("._-", user[i]))
			return fail(why, why_size,
				    "webpush: bad user '%.63s' (letters, digits, '.', '_', '-')",
				    user);
	out->kind = CHANNEL_WEBPUSH;
	cpy(out->webpush_user, sizeof(out->webpush_user), user);
	snprintf(out->label, sizeof(out->label), "webpush:%s", user);
	return 0;
}

int channel_parse(const char *url, struct channel *out, char *why, size_t why_size)
{
	struct parts *p;
	const char *sep;
	char scheme[16];
	size_t slen;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!url || !*url)
		return fail(why, why_size, "empty channel URL");
	if (strlen(url) >= sizeof(out->url))
		return fail(why, why_size, "channel URL longer than %zu bytes",
			    sizeof(out->url) - 1);
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return fail(why, why_size,
				    "a space or control character in the URL "
				    "(write it %%-encoded)");
	if (strchr(url, '#'))
		return fail(why, why_size, "a '#' in the URL (write it %%23)");
	cpy(out->url, sizeof(out->url), url);

	if (!strncasecmp(url, "webpush:", 8))
		return parse_webpush(url + 8, out, why, why_size);

	sep = strstr(url, "://");
	slen = sep ? (size_t)(sep - url) : 0;
	if (!sep || slen == 0 || slen >= sizeof(scheme))
		return fail(why, why_size, "not a channel URL (scheme://... or webpush:<user>)");
	for (size_t i = 0; i < slen; i++)
		scheme[i] = (char)tolower((unsigned char)url[i]);
	scheme[slen] = '\0';

	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(why, why_size, "out of memory");
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (!strcmp(schemes[i].name, scheme))
			p->scheme = &schemes[i];
	if (!p->scheme) {
		fail(why, why_size,
		     "unknown scheme '%s' (mailto, mailtos, ntfy, ntfys, json, jsons, gotify, "
		     "gotifys, webpush)",
		     scheme);
		goto out;
	}
	out->kind = p->scheme->kind;
	out->tls = p->scheme->tls;
	if (split(sep + 3, p, why, why_size) < 0)
		goto out;
	switch (out->kind) {
	case CHANNEL_MAILTO:
		rc = parse_mailto(p, out, why, why_size);
		break;
	case CHANNEL_NTFY:
		rc = parse_ntfy(p, out, why, why_size);
		break;
	case CHANNEL_JSON:
		rc = parse_json(p, out, why, why_size);
		break;
	case CHANNEL_GOTIFY:
		rc = parse_gotify(p, out, why, why_size);
		break;
	case CHANNEL_WEBPUSH:
		break;
	}
	if (rc == 0)
		make_label(url, p, out);
out:
	free(p);
	if (rc < 0) {
		enum channel_kind kind = out->kind;

		memset(out, 0, sizeof(*out));
		out->kind = kind;
	}
	return rc;
}
