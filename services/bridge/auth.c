#include "auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define HOSTS_MAX    32
#define HOST_NAME_SZ 256

/* Only the token's hash is kept: the token itself lives in the cookie. */
struct session {
	bool used; /* false = free slot */
	unsigned char hash[AUTH_HASH_BYTES];
	char user[AUTH_NAME_MAX + 1], role[AUTH_NAME_MAX + 1];
	int64_t created_ms, last_used_ms;
	int64_t reported_ms; /* last_used as last told to the observer */
};

/* A failure counter: of an address, or (in users_rl) of a user name. */
struct ip_entry {
	char ip[48];	 /* "" = free */
	int64_t last_ms; /* last failure, for eviction */
	unsigned n;	 /* failures in fail_ms (ring, newest at (head+n-1)) */
	unsigned head;
	int64_t *fail_ms; /* max_failures timestamps */
};

struct known_ip {
	char ip[48];	 /* "" = free */
	int64_t last_ms; /* the last right password from it */
};

struct auth {
	struct auth_config cfg;
	char password[AUTH_PASSWORD_MAX];
	size_t password_len;
	bool password_set;
	struct session *sessions;
	struct ip_entry *ips;
	struct ip_entry *users_rl; /* per user name, same size and window */
	struct known_ip *known;	   /* max_sessions of them */
	/* The global bucket as a theoretical arrival time (GCRA): a failure
	 * moves it global_step_ms later; a check is allowed while it is no more
	 * than global_window_ms - global_step_ms ahead of now. */
	int64_t global_tat_ms, global_step_ms;
	char hosts[HOSTS_MAX][HOST_NAME_SZ];
	size_t n_hosts;
	bool any_host;
};

static void hosts_init(struct auth *a);

static int default_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct auth *auth_new(const struct auth_config *cfg)
{
	struct auth *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cfg = *cfg;
	if (!a->cfg.max_sessions)
		a->cfg.max_sessions = 64;
	if (!a->cfg.session_idle_ms)
		a->cfg.session_idle_ms = 7LL * 24 * 3600 * 1000;
	if (!a->cfg.max_failures)
		a->cfg.max_failures = 5;
	if (!a->cfg.failure_window_ms)
		a->cfg.failure_window_ms = 60 * 1000;
	if (!a->cfg.max_ips)
		a->cfg.max_ips = 256;
	if (!a->cfg.global_failures)
		a->cfg.global_failures = 30;
	if (!a->cfg.global_window_ms)
		a->cfg.global_window_ms = 60 * 1000;
	if (a->cfg.session_touch_ms <= 0)
		a->cfg.session_touch_ms = 60 * 1000;
	a->global_step_ms = a->cfg.global_window_ms / a->cfg.global_failures;
	if (a->global_step_ms < 1)
		a->global_step_ms = 1;
	if (!auth_hosts_valid(cfg->hosts)) {
		free(a);
		return NULL;
	}
	hosts_init(a);
	if (!a->cfg.random)
		a->cfg.random = default_random;
	if (cfg->password && *cfg->password) {
		size_t n = strlen(cfg->password);
		if (n > AUTH_PASSWORD_MAX) {
			free(a);
			return NULL;
		}
		memcpy(a->password, cfg->password, n);
		a->password_len = n;
		a->password_set = true;
	}
	a->cfg.password = NULL; /* the copy above is the only one we keep */
	a->sessions = calloc(a->cfg.max_sessions, sizeof(*a->sessions));
	a->ips = calloc(a->cfg.max_ips, sizeof(*a->ips));
	a->known = calloc(a->cfg.max_sessions, sizeof(*a->known));
	a->users_rl = calloc(a->cfg.max_ips, sizeof(*a->users_rl));
	if (!a->sessions || !a->ips || !a->known || !a->users_rl) {
		auth_free(a);
		return NULL;
	}
	for (size_t i = 0; i < a->cfg.max_ips; i++) {
		a->ips[i].fail_ms = calloc(a->cfg.max_failures, sizeof(int64_t));
		a->users_rl[i].fail_ms = calloc(a->cfg.max_failures, sizeof(int64_t));
		if (!a->ips[i].fail_ms || !a->users_rl[i].fail_ms) {
			auth_free(a);
			return NULL;
		}
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->cfg.max_ips; i++) {
		if (a->ips)
			free(a->ips[i].fail_ms);
		if (a->users_rl)
			free(a->users_rl[i].fail_ms);
	}
	free(a->ips);
	free(a->users_rl);
	free(a->known);
	free(a->sessions);
	/* Do not leave the password in freed memory. */
	volatile unsigned char *p = (volatile unsigned char *)a->password;
	for (size_t i = 0; i < sizeof(a->password); i++)
		p[i] = 0;
	free(a);
}

bool auth_password_set(const struct auth *a)
{
	return a->password_set;
}

bool auth_ct_equal(const void *x, size_t x_len, const void *y, size_t y_len)
{
	/* Compare fixed-size zero-padded copies, so the time does not depend on
	 * where the inputs differ (only the copies depend on the lengths). */
	unsigned char xb[AUTH_PASSWORD_MAX] = {0}, yb[AUTH_PASSWORD_MAX] = {0};
	volatile unsigned diff =
	    (x_len != y_len) | (x_len > AUTH_PASSWORD_MAX) | (y_len > AUTH_PASSWORD_MAX);
	if (x_len)
		memcpy(xb, x, x_len < AUTH_PASSWORD_MAX ? x_len : AUTH_PASSWORD_MAX);
	if (y_len)
		memcpy(yb, y, y_len < AUTH_PASSWORD_MAX ? y_len : AUTH_PASSWORD_MAX);
	for (size_t i = 0; i < AUTH_PASSWORD_MAX; i++)
		diff |= (unsigned)(xb[i] ^ yb[i]);
	return diff == 0;
}

static struct ip_entry *rl_find(struct auth *a, struct ip_entry *table, const char *ip, bool create,
				int64_t now_ms)
{
	struct ip_entry *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < a->cfg.max_ips; i++) {
		struct ip_entry *e = &table[i];
		if (!e->ip[0]) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (!strcmp(e->ip, ip))
			return e;
		if (!oldest || e->last_ms < oldest->last_ms)
			oldest = e;
	}
	if (!create)
		return NULL;
	struct ip_entry *e = free_slot ? free_slot : oldest;
	if (!e)
		return NULL;
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->n = e->head = 0;
	e->last_ms = now_ms;
	return e;
}

static struct ip_entry *ip_find(struct auth *a, const char *ip, bool create, int64_t now_ms)
{
	return rl_find(a, a->ips, ip, create, now_ms);
}

/* Drop failures that left the window. */
static void ip_expire(struct auth *a, struct ip_entry *e, int64_t now_ms)
{
	while (e->n && e->fail_ms[e->head] <= now_ms - a->cfg.failure_window_ms) {
		e->head = (e->head + 1) % a->cfg.max_failures;
		e->n--;
	}
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool session_live(const struct auth *a, const struct session *s, int64_t now_ms)
{
	return s->used && now_ms - s->last_used_ms < a->cfg.session_idle_ms;
}

int auth_token_hash(const char *token, unsigned char out[AUTH_HASH_BYTES])
{
	unsigned int n = 0;
	if (!token || strnlen(token, AUTH_TOKEN_HEX + 1) != AUTH_TOKEN_HEX)
		return -1;
	if (!EVP_Digest(token, AUTH_TOKEN_HEX, out, &n, EVP_sha256(), NULL) || n != AUTH_HASH_BYTES)
		return -1;
	return 0;
}

static void tell(struct auth *a, enum auth_session_event ev, const struct session *s)
{
	if (!a->cfg.on_session)
		return;
	struct auth_session_info info = {.user = s->user,
					 .role = s->role,
					 .created_ms = s->created_ms,
					 .last_used_ms = s->last_used_ms};
	memcpy(info.hash, s->hash, sizeof(info.hash));
	a->cfg.on_session(a->cfg.on_session_arg, ev, &info);
}

/* A slot for a new session: a free one, else an expired one, else the least
 * recently used (*evicting set: the caller decides whether to take it). */
static struct session *session_slot(struct auth *a, int64_t now_ms, bool *evicting)
{
	struct session *expired = NULL, *lru = NULL;
	*evicting = false;
	for (size_t i = 0; i < a->cfg.max_sessions; i++) {
		struct session *s = &a->sessions[i];
		if (!s->used)
			return s;
		if (!session_live(a, s, now_ms)) {
			if (!expired)
				expired = s;
		} else if (!lru || s->last_used_ms < lru->last_used_ms) {
			lru = s;
		}
	}
	if (expired)
		return expired;
	*evicting = true;
	return lru;
}

/* Empties a used slot, telling the observer. */
static void session_drop(struct auth *a, struct session *s)
{
	if (!s->used)
		return;
	tell(a, AUTH_SESSION_ENDED, s);
	memset(s, 0, sizeof(*s));
}

/* 1..AUTH_NAME_MAX of [a-z0-9._-] (users.c's names and roles.c's roles). */
static bool name_ok(const char *s)
{
	size_t n = s ? strnlen(s, AUTH_NAME_MAX + 1) : 0;
	if (!n || n > AUTH_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    !strchr("._-", s[i]))
			return false;
	return true;
}

static int session_create(struct auth *a, const char *user, const char *role, int64_t now_ms,
			  char token_out[AUTH_TOKEN_HEX + 1])
{
	if (!name_ok(user) || !name_ok(role))
		return -1;
	unsigned char raw[AUTH_TOKEN_BYTES], hash[AUTH_HASH_BYTES];
	char token[AUTH_TOKEN_HEX + 1];
	if (a->cfg.random(raw, sizeof(raw)) < 0)
		return -1;
	hex_encode(raw, sizeof(raw), token);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (auth_token_hash(token, hash) < 0)
		return -1;
	bool evicting;
	struct session *slot = session_slot(a, now_ms, &evicting);
	session_drop(a, slot); /* evicted at the cap, or expired */
	slot->used = true;
	memcpy(slot->hash, hash, sizeof(hash));
	snprintf(slot->user, sizeof(slot->user), "%s", user);
	snprintf(slot->role, sizeof(slot->role), "%s", role);
	slot->created_ms = slot->last_used_ms = slot->reported_ms = now_ms;
	memcpy(token_out, token, AUTH_TOKEN_HEX + 1);
	OPENSSL_cleanse(token, sizeof(token));
	tell(a, AUTH_SESSION_CREATED, slot);
	return 0;
}

static struct known_ip *known_find(struct auth *a, const char *ip, int64_t now_ms)
{
	for (size_t i = 0; i < a->cfg.max_sessions; i++) {
		struct known_ip *k = &a->known[i];
		if (k->ip[0] && now_ms - k->last_ms < a->cfg.session_idle_ms && !strcmp(k->ip, ip))
			return k;
	}
	return NULL;
}

static void known_add(struct auth *a, const char *ip, int64_t now_ms)
{
	struct known_ip *k = known_find(a, ip, now_ms);
	if (!k) {
		for (size_t i = 0; i < a->cfg.max_sessions; i++) {
			struct known_ip *e = &a->known[i];
			if (!e->ip[0] || now_ms - e->last_ms >= a->cfg.session_idle_ms) {
				k = e;
				break;
			}
			if (!k || e->last_ms < k->last_ms)
				k = e; /* least recently used, when every slot is live */
		}
	}
	if (!k)
		return;
	snprintf(k->ip, sizeof(k->ip), "%s", ip);
	k->last_ms = now_ms;
}

/* ms until the global bucket has a token again; 0 = it has one now. */
static int64_t global_wait_ms(const struct auth *a, int64_t now_ms)
{
	int64_t tat = a->global_tat_ms > now_ms ? a->global_tat_ms : now_ms;
	int64_t ahead = tat - now_ms, allowed = a->cfg.global_window_ms - a->global_step_ms;
	return ahead > allowed ? ahead - allowed : 0;
}

static void global_take(struct auth *a, int64_t now_ms)
{
	int64_t tat = a->global_tat_ms > now_ms ? a->global_tat_ms : now_ms;
	tat += a->global_step_ms;
	/* Known addresses fail on while it is empty: never more than one
	 * window of debt, so it refills within a window of the last failure. */
	if (tat > now_ms + a->cfg.global_window_ms)
		tat = now_ms + a->cfg.global_window_ms;
	a->global_tat_ms = tat;
}

static int64_t ceil_s(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;
	return s < 1 ? 1 : s;
}

enum auth_login_result auth_login(struct auth *a, const char *ip, const char *password,
				  size_t password_len, int64_t now_ms,
				  char token_out[AUTH_TOKEN_HEX + 1], int64_t *retry_after_s)
{
	*retry_after_s = 0;
	if (!a->password_set)
		return AUTH_LOGIN_NO_PASSWORD;
	struct ip_entry *e = ip_find(a, ip, false, now_ms);
	if (e) {
		ip_expire(a, e, now_ms);
		if (e->n >= a->cfg.max_failures) {
			int64_t free_at = e->fail_ms[e->head] + a->cfg.failure_window_ms;
			*retry_after_s = ceil_s(free_at - now_ms);
			return AUTH_LOGIN_RATE_LIMITED;
		}
	}
	bool known = known_find(a, ip, now_ms) != NULL;
	int64_t wait = global_wait_ms(a, now_ms);
	if (!known && wait > 0) {
		*retry_after_s = ceil_s(wait);
		return AUTH_LOGIN_RATE_LIMITED_GLOBAL;
	}
	if (!auth_ct_equal(password, password_len, a->password, a->password_len)) {
		global_take(a, now_ms);
		if (!e)
			e = ip_find(a, ip, true, now_ms);
		if (!e)
			return AUTH_LOGIN_BAD_PASSWORD;
		e->fail_ms[(e->head + e->n) % a->cfg.max_failures] = now_ms;
		e->n++;
		e->last_ms = now_ms;
		return AUTH_LOGIN_BAD_PASSWORD;
	}
	if (e) {
		e->ip[0] = '\0';
		e->n = e->head = 0;
	}
	if (session_create(a, AUTH_ADMIN, AUTH_ADMIN, now_ms, token_out))
		return AUTH_LOGIN_ERROR;
	known_add(a, ip, now_ms);
	return AUTH_LOGIN_OK;
}

/* A counter at its limit: *retry_after_s until its oldest failure leaves. */
static bool rl_full(struct auth *a, struct ip_entry *e, int64_t now_ms, int64_t *retry_after_s)
{
	if (!e)
		return false;
	ip_expire(a, e, now_ms);
	if (e->n < a->cfg.max_failures)
		return false;
	int64_t free_at = e->fail_ms[e->head] + a->cfg.failure_window_ms;
	*retry_after_s = ceil_s(free_at - now_ms);
	return true;
}

static void rl_fail(struct auth *a, struct ip_entry *table, const char *key, int64_t now_ms)
{
	struct ip_entry *e = rl_find(a, table, key, true, now_ms);
	if (!e)
		return;
	ip_expire(a, e, now_ms);
	if (e->n >= a->cfg.max_failures) { /* a known address failing on */
		e->head = (e->head + 1) % a->cfg.max_failures;
		e->n--;
	}
	e->fail_ms[(e->head + e->n) % a->cfg.max_failures] = now_ms;
	e->n++;
	e->last_ms = now_ms;
}

static void rl_clear(struct auth *a, struct ip_entry *table, const char *key)
{
	struct ip_entry *e = rl_find(a, table, key, false, 0);
	if (e) {
		e->ip[0] = '\0';
		e->n = e->head = 0;
	}
}

enum auth_login_result auth_login_begin(struct auth *a, const char *ip, const char *user,
					int64_t now_ms, int64_t *retry_after_s)
{
	*retry_after_s = 0;
	if (rl_full(a, ip_find(a, ip, false, now_ms), now_ms, retry_after_s))
		return AUTH_LOGIN_RATE_LIMITED;
	/* A known address (the right password came from it lately) is exempt
	 * from the per-user and the global limits, never from its own: a flood
	 * at "admin" from elsewhere cannot lock the owner's phone out. */
	bool known = known_find(a, ip, now_ms) != NULL;
	if (!known && rl_full(a, rl_find(a, a->users_rl, user ? user : "", false, now_ms), now_ms,
			      retry_after_s))
		return AUTH_LOGIN_RATE_LIMITED;
	int64_t wait = global_wait_ms(a, now_ms);
	if (!known && wait > 0) {
		*retry_after_s = ceil_s(wait);
		return AUTH_LOGIN_RATE_LIMITED_GLOBAL;
	}
	return AUTH_LOGIN_OK;
}

enum auth_login_result auth_login_finish(struct auth *a, const char *ip, const char *user,
					 const char *role, bool ok, int64_t now_ms,
					 char token_out[AUTH_TOKEN_HEX + 1])
{
	if (!ok) {
		global_take(a, now_ms);
		rl_fail(a, a->ips, ip, now_ms);
		rl_fail(a, a->users_rl, user ? user : "", now_ms);
		return AUTH_LOGIN_BAD_PASSWORD;
	}
	rl_clear(a, a->ips, ip);
	rl_clear(a, a->users_rl, user ? user : "");
	if (session_create(a, user, role, now_ms, token_out))
		return AUTH_LOGIN_ERROR;
	known_add(a, ip, now_ms);
	return AUTH_LOGIN_OK;
}

/* The session of a hash, compared with every slot without stopping early;
 * live ones only unless any. */
static struct session *session_by_hash(struct auth *a, const unsigned char *hash, bool any,
				       int64_t now_ms)
{
	struct session *found = NULL;
	for (size_t i = 0; i < a->cfg.max_sessions; i++) {
		struct session *s = &a->sessions[i];
		bool eq = CRYPTO_memcmp(s->hash, hash, AUTH_HASH_BYTES) == 0;
		if (eq && s->used && (any || session_live(a, s, now_ms)))
			found = s;
	}
	return found;
}

bool auth_session_check(struct auth *a, const char *token, int64_t now_ms)
{
	return auth_session_user(a, token, now_ms, NULL, NULL);
}

bool auth_session_user(struct auth *a, const char *token, int64_t now_ms,
		       char user[AUTH_NAME_MAX + 1], char role[AUTH_NAME_MAX + 1])
{
	unsigned char hash[AUTH_HASH_BYTES];
	if (auth_token_hash(token, hash) < 0)
		return false;
	struct session *s = session_by_hash(a, hash, false, now_ms);
	if (!s)
		return false;
	if (now_ms > s->last_used_ms)
		s->last_used_ms = now_ms;
	if (s->last_used_ms - s->reported_ms >= a->cfg.session_touch_ms) {
		s->reported_ms = s->last_used_ms;
		tell(a, AUTH_SESSION_TOUCHED, s);
	}
	if (user)
		memcpy(user, s->user, sizeof(s->user));
	if (role)
		memcpy(role, s->role, sizeof(s->role));
	return true;
}

void auth_session_end(struct auth *a, const char *token)
{
	unsigned char hash[AUTH_HASH_BYTES];
	if (auth_token_hash(token, hash) < 0)
		return;
	struct session *s = session_by_hash(a, hash, true, 0);
	if (s)
		session_drop(a, s);
}

size_t auth_session_end_user(struct auth *a, const char *user)
{
	size_t n = 0;
	for (size_t i = 0; user && i < a->cfg.max_sessions; i++) {
		struct session *s = &a->sessions[i];
		if (s->used && !strcmp(s->user, user)) {
			session_drop(a, s);
			n++;
		}
	}
	return n;
}

bool auth_session_exists(struct auth *a, const char *token)
{
	unsigned char hash[AUTH_HASH_BYTES];
	return auth_token_hash(token, hash) == 0 && session_by_hash(a, hash, true, 0);
}

int auth_session_restore(struct auth *a, const unsigned char hash[AUTH_HASH_BYTES],
			 const char *user, const char *role, int64_t created_ms,
			 int64_t last_used_ms, int64_t now_ms)
{
	if (role && !strcmp(role, AUTH_USER)) /* from before accounts: the operator */
		user = role = AUTH_ADMIN;
	if (!hash || !name_ok(user) || !name_ok(role) || created_ms < 0 ||
	    last_used_ms < created_ms)
		return -1;
	struct session *s = session_by_hash(a, hash, true, now_ms);
	if (s) {
		if (last_used_ms > s->last_used_ms)
			s->last_used_ms = s->reported_ms = last_used_ms;
		if (created_ms < s->created_ms)
			s->created_ms = created_ms;
		return 0;
	}
	if (now_ms - last_used_ms >= a->cfg.session_idle_ms)
		return 1;
	bool evicting;
	struct session *slot = session_slot(a, now_ms, &evicting);
	struct session in = {.used = true,
			     .created_ms = created_ms,
			     .last_used_ms = last_used_ms,
			     .reported_ms = last_used_ms};
	memcpy(in.hash, hash, sizeof(in.hash));
	snprintf(in.user, sizeof(in.user), "%s", user);
	snprintf(in.role, sizeof(in.role), "%s", role);
	if (evicting && slot->last_used_ms >= last_used_ms) {
		tell(a, AUTH_SESSION_ENDED, &in); /* older than every one kept */
		return 1;
	}
	session_drop(a, slot);
	*slot = in;
	return 0;
}

size_t auth_session_count(struct auth *a, int64_t now_ms)
{
	size_t n = 0;
	for (size_t i = 0; i < a->cfg.max_sessions; i++)
		n += session_live(a, &a->sessions[i], now_ms);
	return n;
}

int auth_cookie_token(const char *cookie_header, char out[AUTH_TOKEN_HEX + 1])
{
	static const char name[] = "iod_session=";
	const char *p = cookie_header;
	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, name, sizeof(name) - 1)) {
			const char *v = p + sizeof(name) - 1;
			size_t n = strcspn(v, "; ");
			if (n != AUTH_TOKEN_HEX)
				return -1;
			for (size_t i = 0; i < n; i++)
				if (!isxdigit((unsigned char)v[i]))
					return -1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, ';');
	}
	return -1;
}

/* Split "host[:port]" (IPv6 literals in brackets). -1 when malformed. */
static int split_hostport(const char *text, size_t len, char *host, size_t host_size, long *port)
{
	const char *colon = NULL;
	if (len && text[0] == '[') {
		const char *close = memchr(text, ']', len);
		if (!close)
			return -1;
		if ((size_t)(close - text) + 1 < len) {
			if (close[1] != ':')
				return -1;
			colon = close + 1;
		}
	} else {
		colon = memchr(text, ':', len);
	}
	size_t hlen = colon ? (size_t)(colon - text) : len;
	if (!hlen || hlen >= host_size)
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	*port = -1;
	if (colon) {
		const char *ps = colon + 1;
		size_t plen = len - (size_t)(ps - text);
		if (!plen || plen > 5)
			return -1;
		long v = 0;
		for (size_t i = 0; i < plen; i++) {
			if (ps[i] < '0' || ps[i] > '9')
				return -1;
			v = v * 10 + (ps[i] - '0');
		}
		if (v < 1 || v > 65535)
			return -1;
		*port = v;
	}
	for (size_t i = 0; i < hlen; i++)
		if ((unsigned char)host[i] <= ' ' || host[i] == '/' || host[i] == '@')
			return -1;
	return 0;
}

bool auth_origin_ok(const char *origin, const char *host)
{
	if (!origin || !*origin)
		return true;
	if (!host || !*host)
		return false;
	long default_port;
	const char *rest;
	if (!strncasecmp(origin, "http://", 7)) {
		default_port = 80;
		rest = origin + 7;
	} else if (!strncasecmp(origin, "https://", 8)) {
		default_port = 443;
		rest = origin + 8;
	} else {
		return false; /* "null", file://, chrome-extension://, ... */
	}
	size_t rlen = strlen(rest);
	if (rlen && rest[rlen - 1] == '/')
		rlen--;
	char ohost[256], hhost[256];
	long oport, hport;
	if (split_hostport(rest, rlen, ohost, sizeof(ohost), &oport) < 0 ||
	    split_hostport(host, strlen(host), hhost, sizeof(hhost), &hport) < 0)
		return false;
	if (oport < 0)
		oport = default_port;
	if (hport < 0)
		hport = default_port;
	return oport == hport && !strcasecmp(ohost, hhost);
}

/* ---- Host names ------------------------------------------------------------ */

static void host_add(struct auth *a, const char *name, size_t len)
{
	while (len && (name[0] == ' ' || name[0] == '\t')) {
		name++;
		len--;
	}
	while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	if (len && name[len - 1] == '.')
		len--;
	if (!len || len >= HOST_NAME_SZ || a->n_hosts >= HOSTS_MAX)
		return;
	if (len == 1 && name[0] == '*') {
		a->any_host = true;
		return;
	}
	memcpy(a->hosts[a->n_hosts], name, len);
	a->hosts[a->n_hosts][len] = '\0';
	a->n_hosts++;
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

bool auth_hosts_valid(const char *list)
{
	if (!list)
		return true;
	size_t n = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		const char *q = p;
		size_t l = len;
		while (l && (*q == ' ' || *q == '\t')) {
			q++;
			l--;
		}
		while (l && (q[l - 1] == ' ' || q[l - 1] == '\t'))
			l--;
		if (l) {
			if (l >= HOST_NAME_SZ || ++n > HOSTS_MAX)
				return false;
			if (!(l == 1 && *q == '*'))
				for (size_t i = 0; i < l; i++)
					if (!name_char(q[i]))
						return false;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return true;
}

static void hosts_init(struct auth *a)
{
	const char *list = a->cfg.hosts;
	if (list) {
		for (const char *p = list; *p;) {
			size_t len = strcspn(p, ",");
			host_add(a, p, len);
			p += len;
			if (*p == ',')
				p++;
		}
	} else {
		char name[HOST_NAME_SZ] = "";
		if (a->cfg.hostname)
			snprintf(name, sizeof(name), "%s", a->cfg.hostname);
		else if (gethostname(name, sizeof(name) - 1) < 0)
			name[0] = '\0';
		name[sizeof(name) - 1] = '\0';
		if (name[0]) {
			host_add(a, name, strlen(name));
			size_t label = strcspn(name, ".");
			if (label < strlen(name))
				host_add(a, name, label);
			char local[HOST_NAME_SZ + 8];
			snprintf(local, sizeof(local), "%.*s.local", (int)label, name);
			host_add(a, local, strlen(local));
		}
		const char *url = a->cfg.dashboard_url;
		const char *rest = url ? strstr(url, "://") : NULL;
		if (rest) {
			rest += 3;
			size_t len = strcspn(rest, "/?#");
			char host[HOST_NAME_SZ];
			long port;
			if (!memchr(rest, '@', len) &&
			    split_hostport(rest, len, host, sizeof(host), &port) == 0)
				host_add(a, host, strlen(host));
		}
	}
	a->cfg.hosts = a->cfg.hostname = a->cfg.dashboard_url = NULL; /* borrowed */
}

bool auth_host_ok(const struct auth *a, const char *host)
{
	if (!host || !*host)
		return true;
	if (a->any_host)
		return true;
	char name[HOST_NAME_SZ];
	long port;
	if (split_hostport(host, strlen(host), name, sizeof(name), &port) < 0)
		return false;
	size_t len = strlen(name);
	if (name[0] == '[') {
		/* "[v6]": split_hostport keeps the brackets. */
		if (len < 3 || name[len - 1] != ']')
			return false;
		name[len - 1] = '\0';
		struct in6_addr a6;
		return inet_pton(AF_INET6, name + 1, &a6) == 1;
	}
	struct in_addr a4;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return true;
	if (len > 1 && name[len - 1] == '.')
		name[--len] = '\0';
	if (!strcasecmp(name, "localhost"))
		return true;
	for (size_t i = 0; i < a->n_hosts; i++)
		if (!strcasecmp(name, a->hosts[i]))
			return true;
	return false;
}
