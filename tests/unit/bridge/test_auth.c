/* Sessions, the login rate limiter, constant-time compare, cookies, Origin. */
#include "auth.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MIN 60000LL
#define DAY (24 * 3600 * 1000LL)

static int counter_random(void *buf, size_t len)
{
	static unsigned char next = 1;
	unsigned char *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = next++;
	return 0;
}

static int failing_random(void *buf, size_t len)
{
	(void)buf;
	(void)len;
	return -1;
}

static struct auth *mk(const char *password, size_t max_sessions)
{
	struct auth_config cfg = {.password = password, .max_sessions = max_sessions};
	struct auth *a = auth_new(&cfg);
	cr_assert_not_null(a);
	return a;
}

Test(auth, ct_equal, .timeout = 5)
{
	cr_assert(auth_ct_equal("secret", 6, "secret", 6));
	cr_assert_not(auth_ct_equal("secret", 6, "secreT", 6));
	cr_assert_not(auth_ct_equal("secret", 6, "secret!", 7));
	cr_assert_not(auth_ct_equal("secret", 6, "", 0));
	cr_assert(auth_ct_equal("", 0, "", 0));
	/* A NUL inside counts: lengths are compared, not C strings. */
	cr_assert_not(auth_ct_equal("sec\0a", 5, "sec\0b", 5));
}

Test(auth, login_ok_gives_a_random_hex_token_that_is_a_session, .timeout = 5)
{
	struct auth *a = mk("hunter2", 0);
	char tok[AUTH_TOKEN_HEX + 1], tok2[AUTH_TOKEN_HEX + 1];
	int64_t retry;
	cr_assert_eq(auth_login(a, "10.0.0.1", "hunter2", 7, 1000, tok, &retry), AUTH_LOGIN_OK);
	cr_assert_eq(strlen(tok), 64);
	cr_assert_eq(strspn(tok, "0123456789abcdef"), 64);
	cr_assert_eq(auth_login(a, "10.0.0.1", "hunter2", 7, 1000, tok2, &retry), AUTH_LOGIN_OK);
	cr_assert_str_neq(tok, tok2, "every login gets a fresh token");
	cr_assert(auth_session_check(a, tok, 2000));
	cr_assert(auth_session_check(a, tok2, 2000));
	cr_assert_eq(auth_session_count(a, 2000), 2);
	/* A token that differs in one character is not a session. */
	tok[10] = tok[10] == 'a' ? 'b' : 'a';
	cr_assert_not(auth_session_check(a, tok, 2000));
	cr_assert_not(auth_session_check(a, "", 2000));
	cr_assert_not(auth_session_check(a, NULL, 2000));
	auth_free(a);
}

Test(auth, sessions_expire_when_idle_and_logout_ends_them, .timeout = 5)
{
	struct auth *a = mk("pw", 0);
	char tok[AUTH_TOKEN_HEX + 1];
	int64_t retry;
	int64_t t = 1000;
	cr_assert_eq(auth_login(a, "ip", "pw", 2, t, tok, &retry), AUTH_LOGIN_OK);
	/* Used every 6 days: stays alive past 7 days of age. */
	cr_assert(auth_session_check(a, tok, t + 6 * DAY));
	cr_assert(auth_session_check(a, tok, t + 12 * DAY));
	/* Then 7 days idle: gone. */
	cr_assert_not(auth_session_check(a, tok, t + 19 * DAY + 1));
	cr_assert_eq(auth_login(a, "ip", "pw", 2, t, tok, &retry), AUTH_LOGIN_OK);
	cr_assert(auth_session_check(a, tok, t + 1));
	auth_session_end(a, tok);
	cr_assert_not(auth_session_check(a, tok, t + 2));
	auth_free(a);
}

Test(auth, session_store_is_bounded_lru, .timeout = 5)
{
	struct auth_config cfg = {.password = "pw", .max_sessions = 3, .random = counter_random};
	struct auth *a = auth_new(&cfg);
	char tok[5][AUTH_TOKEN_HEX + 1];
	int64_t retry;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(auth_login(a, "ip", "pw", 2, 1000 + i, tok[i], &retry), AUTH_LOGIN_OK);
	cr_assert(auth_session_check(a, tok[0], 2000)); /* tok[1] is now least recently used */
	cr_assert_eq(auth_login(a, "ip", "pw", 2, 2001, tok[3], &retry), AUTH_LOGIN_OK);
	cr_assert_eq(auth_session_count(a, 2002), 3);
	cr_assert(auth_session_check(a, tok[0], 2003));
	cr_assert_not(auth_session_check(a, tok[1], 2003), "the least recently used was evicted");
	cr_assert(auth_session_check(a, tok[2], 2003));
	cr_assert(auth_session_check(a, tok[3], 2003));
	auth_free(a);
}

Test(auth, no_password_and_no_randomness, .timeout = 5)
{
	struct auth *a = mk(NULL, 0);
	char tok[AUTH_TOKEN_HEX + 1];
	int64_t retry;
	cr_assert_not(auth_password_set(a));
	cr_assert_eq(auth_login(a, "ip", "", 0, 1, tok, &retry), AUTH_LOGIN_NO_PASSWORD);
	auth_free(a);
	struct auth_config cfg = {.password = "pw", .random = failing_random};
	a = auth_new(&cfg);
	cr_assert_eq(auth_login(a, "ip", "pw", 2, 1, tok, &retry), AUTH_LOGIN_ERROR);
	cr_assert_eq(auth_session_count(a, 1), 0);
	auth_free(a);
}

Test(auth, rate_limit_five_failures_per_minute_per_ip, .timeout = 5)
{
	struct auth *a = mk("right", 0);
	char tok[AUTH_TOKEN_HEX + 1];
	int64_t retry = -1;
	int64_t t = 100000;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(auth_login(a, "10.0.0.9", "wrong", 5, t + i * 1000, tok, &retry),
			     AUTH_LOGIN_BAD_PASSWORD);
	/* Sixth try, even with the right password: refused, no password check. */
	cr_assert_eq(auth_login(a, "10.0.0.9", "right", 5, t + 10000, tok, &retry),
		     AUTH_LOGIN_RATE_LIMITED);
	cr_assert_eq(retry, 50, "the first failure leaves the window at t+60 s");
	/* Another address is not affected. */
	cr_assert_eq(auth_login(a, "10.0.0.10", "right", 5, t + 10000, tok, &retry), AUTH_LOGIN_OK);
	/* Once the first failure is a minute old, one more try is allowed. */
	cr_assert_eq(auth_login(a, "10.0.0.9", "right", 5, t + MIN, tok, &retry), AUTH_LOGIN_OK);
	auth_free(a);
}

Test(auth, success_resets_the_failure_count, .timeout = 5)
{
	struct auth *a = mk("right", 0);
	char tok[AUTH_TOKEN_HEX + 1];
	int64_t retry;
	for (int i = 0; i < 4; i++)
		auth_login(a, "ip", "wrong", 5, 1000 + i, tok, &retry);
	cr_assert_eq(auth_login(a, "ip", "right", 5, 2000, tok, &retry), AUTH_LOGIN_OK);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(auth_login(a, "ip", "wrong", 5, 3000 + i, tok, &retry),
			     AUTH_LOGIN_BAD_PASSWORD);
	auth_free(a);
}

Test(auth, cookie_token, .timeout = 5)
{
	char tok[AUTH_TOKEN_HEX + 1];
	const char *hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char header[256];
	snprintf(header, sizeof(header), "theme=dark; iod_session=%s; other=1", hex64);
	cr_assert_eq(auth_cookie_token(header, tok), 0);
	cr_assert_str_eq(tok, hex64);
	snprintf(header, sizeof(header), "iod_session=%s", hex64);
	cr_assert_eq(auth_cookie_token(header, tok), 0);
	cr_assert_eq(auth_cookie_token("iod_session=abc", tok), -1);
	cr_assert_eq(auth_cookie_token("x_iod_session=00", tok), -1);
	snprintf(header, sizeof(header), "iod_session=%.63sZ", hex64);
	cr_assert_eq(auth_cookie_token(header, tok), -1, "non-hex refused");
	cr_assert_eq(auth_cookie_token("", tok), -1);
	cr_assert_eq(auth_cookie_token(NULL, tok), -1);
}

Test(auth, origin_must_match_host, .timeout = 5)
{
	cr_assert(auth_origin_ok(NULL, "localhost:8080"), "non-browser clients send no Origin");
	cr_assert(auth_origin_ok("", "localhost:8080"));
	cr_assert(auth_origin_ok("http://localhost:8080", "localhost:8080"));
	cr_assert(auth_origin_ok("http://LocalHost:8080", "localhost:8080"));
	cr_assert(auth_origin_ok("https://dog.example", "dog.example"));
	cr_assert(auth_origin_ok("https://dog.example", "dog.example:443"));
	cr_assert(auth_origin_ok("http://dog.example", "dog.example:80"));
	cr_assert(auth_origin_ok("http://[::1]:8080", "[::1]:8080"));
	cr_assert(auth_origin_ok("http://192.168.1.5:8080", "192.168.1.5:8080"));
	cr_assert_not(auth_origin_ok("http://evil.example:8080", "localhost:8080"));
	cr_assert_not(auth_origin_ok("http://localhost:8081", "localhost:8080"));
	cr_assert_not(auth_origin_ok("https://localhost:8080", "localhost"));
	cr_assert_not(auth_origin_ok("http://localhost", "localhost:8080"));
	cr_assert_not(auth_origin_ok("null", "localhost:8080"));
	cr_assert_not(auth_origin_ok("file://", "localhost:8080"));
	cr_assert_not(auth_origin_ok("ws://localhost:8080", "localhost:8080"));
	cr_assert_not(auth_origin_ok("http://localhost:8080@evil.example", "localhost:8080"));
	cr_assert_not(auth_origin_ok("http://localhost:8080", NULL));
	cr_assert_not(auth_origin_ok("http://localhost:99999", "localhost:99999"));
}

/* ---- the global limit over every address ---------------------------------- */

static struct auth *mk_global(unsigned global, int64_t window_ms)
{
	struct auth_config cfg = {
	    .password = "right", .global_failures = global, .global_window_ms = window_ms};
	struct auth *a = auth_new(&cfg);
	cr_assert_not_null(a);
	return a;
}

Test(auth, global_limit_bounds_failures_from_many_addresses, .timeout = 5)
{
	/* 60 addresses, 5 guesses each within a minute: 300 guesses were
	 * checked before; now 30 are, the rest refused unchecked. */
	struct auth *a = mk_global(30, MIN);
	char tok[AUTH_TOKEN_HEX + 1], ip[32];
	int64_t retry, t = 1000000;
	unsigned bad = 0, limited = 0;
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < 60; i++) {
			snprintf(ip, sizeof(ip), "127.0.0.%d", i + 2);
			enum auth_login_result r = auth_login(a, ip, "wrong", 5, t, tok, &retry);
			if (r == AUTH_LOGIN_BAD_PASSWORD)
				bad++;
			else if (r == AUTH_LOGIN_RATE_LIMITED_GLOBAL) {
				limited++;
				cr_assert(retry >= 1 && retry <= 60, "Retry-After %lld",
					  (long long)retry);
			} else
				cr_assert_fail("unexpected result %d", r);
		}
	cr_assert_eq(bad, 30, "the bucket holds 30 failures, got %u checked", bad);
	cr_assert_eq(limited, 270);
	/* While it is empty a fresh address is refused too, without a check:
	 * the right password would be one more guess. */
	cr_assert_eq(auth_login(a, "10.9.9.9", "right", 5, t, tok, &retry),
		     AUTH_LOGIN_RATE_LIMITED_GLOBAL);
	cr_assert_eq(retry, 2, "one token every 2 s");
	/* It refills at 30 a minute: one failure per 2 s gets through. */
	cr_assert_eq(auth_login(a, "10.9.9.8", "wrong", 5, t + 1999, tok, &retry),
		     AUTH_LOGIN_RATE_LIMITED_GLOBAL);
	cr_assert_eq(auth_login(a, "10.9.9.8", "wrong", 5, t + 2000, tok, &retry),
		     AUTH_LOGIN_BAD_PASSWORD);
	cr_assert_eq(auth_login(a, "10.9.9.7", "wrong", 5, t + 2000, tok, &retry),
		     AUTH_LOGIN_RATE_LIMITED_GLOBAL);
	/* A minute after the flood the bucket is full again: the operator, from
	 * an address never seen, logs in. */
	cr_assert_eq(auth_login(a, "10.9.9.9", "right", 5, t + 2000 + MIN, tok, &retry),
		     AUTH_LOGIN_OK);
	auth_free(a);
}

Test(auth, global_limit_spares_an_address_that_logged_in_before, .timeout = 5)
{
	struct auth *a = mk_global(10, MIN);
	char tok[AUTH_TOKEN_HEX + 1], ip[32];
	int64_t retry, t = 200 * DAY;
	/* The operator's phone logged in yesterday. */
	cr_assert_eq(auth_login(a, "192.168.1.20", "right", 5, t - DAY, tok, &retry),
		     AUTH_LOGIN_OK);
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "192.168.1.%d", 100 + i % 50);
		auth_login(a, ip, "wrong", 5, t + i, tok, &retry);
	}
	cr_assert_eq(auth_login(a, "192.168.1.99", "right", 5, t + 200, tok, &retry),
		     AUTH_LOGIN_RATE_LIMITED_GLOBAL, "the flood has emptied the bucket");
	/* The phone is not held by the global limit: a typo, then the password. */
	cr_assert_eq(auth_login(a, "192.168.1.20", "rihgt", 5, t + 300, tok, &retry),
		     AUTH_LOGIN_BAD_PASSWORD);
	cr_assert_eq(auth_login(a, "192.168.1.20", "right", 5, t + 400, tok, &retry),
		     AUTH_LOGIN_OK);
	cr_assert(auth_session_check(a, tok, t + 500));
	/* ... but by its own limit: an attacker behind the same address gets
	 * max_failures a minute there, no more. */
	for (int i = 0; i < 5; i++)
		cr_assert_eq(auth_login(a, "192.168.1.20", "wrong", 5, t + 600 + i, tok, &retry),
			     AUTH_LOGIN_BAD_PASSWORD);
	cr_assert_eq(auth_login(a, "192.168.1.20", "right", 5, t + 700, tok, &retry),
		     AUTH_LOGIN_RATE_LIMITED);
	/* A known address is forgotten after session_idle (7 days) unused. */
	struct auth *b = mk_global(1, MIN);
	cr_assert_eq(auth_login(b, "10.0.0.1", "right", 5, t, tok, &retry), AUTH_LOGIN_OK);
	cr_assert_eq(auth_login(b, "10.0.0.2", "wrong", 5, t + 8 * DAY, tok, &retry),
		     AUTH_LOGIN_BAD_PASSWORD);
	cr_assert_eq(auth_login(b, "10.0.0.1", "right", 5, t + 8 * DAY, tok, &retry),
		     AUTH_LOGIN_RATE_LIMITED_GLOBAL);
	auth_free(b);
	auth_free(a);
}

Test(auth, global_limit_defaults_and_successes_take_nothing, .timeout = 5)
{
	struct auth *a = mk("right", 0);
	char tok[AUTH_TOKEN_HEX + 1], ip[32];
	int64_t retry, t = 1000000;
	/* Successes do not drain the bucket. */
	for (int i = 0; i < 100; i++)
		cr_assert_eq(auth_login(a, "10.1.1.1", "right", 5, t, tok, &retry), AUTH_LOGIN_OK);
	/* Default: 30 failures in a burst. */
	int bad = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(ip, sizeof(ip), "10.2.0.%d", i);
		bad += auth_login(a, ip, "wrong", 5, t, tok, &retry) == AUTH_LOGIN_BAD_PASSWORD;
	}
	cr_assert_eq(bad, 30);
	/* Failures from a known address while it is empty leave at most one
	 * window of debt: a minute later it has refilled. */
	for (int i = 0; i < 4; i++)
		auth_login(a, "10.1.1.1", "wrong", 5, t + i, tok, &retry);
	cr_assert_eq(auth_login(a, "10.3.0.1", "right", 5, t + MIN, tok, &retry), AUTH_LOGIN_OK);
	auth_free(a);
}

/* ---- Host names (DNS rebinding) --------------------------------------------- */

static struct auth *mk_hosts(const char *hosts, const char *hostname, const char *url)
{
	struct auth_config cfg = {
	    .password = "pw", .hosts = hosts, .hostname = hostname, .dashboard_url = url};
	struct auth *a = auth_new(&cfg);
	cr_assert_not_null(a);
	return a;
}

Test(auth, host_defaults_answer_the_machine_and_refuse_other_names, .timeout = 5)
{
	struct auth *a = mk_hosts(NULL, "dogpi", NULL);
	cr_assert_not(auth_host_ok(a, "rebind.example"));
	cr_assert_not(auth_host_ok(a, "rebind.example:8080"));
	cr_assert_not(auth_host_ok(a, "127.0.0.1.rebind.example"));
	cr_assert_not(auth_host_ok(a, "dogpi.rebind.example"));
	cr_assert_not(auth_host_ok(a, "localhost.rebind.example"));
	cr_assert_not(auth_host_ok(a, "[rebind.example]:8080"));
	cr_assert_not(auth_host_ok(a, "localhost:99999"), "malformed");
	cr_assert(auth_host_ok(a, NULL), "no Host: not a browser (HTTP/1.0 healthchecks)");
	cr_assert(auth_host_ok(a, ""));
	cr_assert(auth_host_ok(a, "localhost"));
	cr_assert(auth_host_ok(a, "localhost:8080"));
	cr_assert(auth_host_ok(a, "LocalHost.:8080"));
	cr_assert(auth_host_ok(a, "dogpi:8080"));
	cr_assert(auth_host_ok(a, "DogPi.local:8080"));
	cr_assert(auth_host_ok(a, "dogpi.local.:8080"));
	/* IP literals: a browser that dialled an address sends it; no name to
	 * rebind (a phone on the LAN IP, a port published by Docker). */
	cr_assert(auth_host_ok(a, "127.0.0.1:8080"));
	cr_assert(auth_host_ok(a, "192.168.1.20:8080"));
	cr_assert(auth_host_ok(a, "192.168.1.20"));
	cr_assert(auth_host_ok(a, "[::1]:8080"));
	cr_assert(auth_host_ok(a, "[fe80::1]"));
	cr_assert_not(auth_host_ok(a, "[::1"));
	auth_free(a);
	/* A fully qualified machine name: it, its first label, <label>.local;
	 * and IOD_DASHBOARD_URL's host. */
	a = mk_hosts(NULL, "dogpi.lan", "https://dog.example.com:8443/dash");
	cr_assert(auth_host_ok(a, "dogpi.lan:8080"));
	cr_assert(auth_host_ok(a, "dogpi:8080"));
	cr_assert(auth_host_ok(a, "dogpi.local:8080"));
	cr_assert(auth_host_ok(a, "dog.example.com:8443"));
	cr_assert(auth_host_ok(a, "dog.example.com"));
	cr_assert_not(auth_host_ok(a, "example.com"));
	auth_free(a);
}

Test(auth, host_list_replaces_the_names, .timeout = 5)
{
	struct auth *a = mk_hosts(" dog.example , cam.home. ,", "dogpi", NULL);
	cr_assert(auth_host_ok(a, "dog.example:8080"));
	cr_assert(auth_host_ok(a, "CAM.home"));
	cr_assert_not(auth_host_ok(a, "dogpi:8080"), "the list replaces the machine's names");
	cr_assert(auth_host_ok(a, "localhost:8080"), "localhost and IP literals stay");
	cr_assert(auth_host_ok(a, "10.0.0.5:8080"));
	cr_assert_not(auth_host_ok(a, "rebind.example"));
	auth_free(a);
	a = mk_hosts("*", "dogpi", NULL);
	cr_assert(auth_host_ok(a, "anything.example:8080"));
	auth_free(a);
	cr_assert(auth_hosts_valid(NULL));
	cr_assert(auth_hosts_valid("a.example,b-c.example, d_e ,*"));
	cr_assert_not(auth_hosts_valid("a.example,evil/x"));
	cr_assert_not(auth_hosts_valid("a:8080"));
	cr_assert_not(auth_hosts_valid("a b"));
	struct auth_config bad = {.password = "pw", .hosts = "a@b"};
	cr_assert_null(auth_new(&bad));
}

/* ---- sessions kept across a restart (issue 13) ---------------------------
 * A store of the observer's own, as the glue keeps one in records: created
 * puts, touched updates last_used, ended deletes. A restart is auth_free,
 * auth_new and auth_session_restore of every row. */

#define STORE_MAX 128

struct fake_store {
	struct auth_session_info rows[STORE_MAX];
	size_t n;
	unsigned created, touched, ended;
};

static struct auth_session_info *store_find(struct fake_store *st, const unsigned char *hash)
{
	for (size_t i = 0; i < st->n; i++)
		if (!memcmp(st->rows[i].hash, hash, AUTH_HASH_BYTES))
			return &st->rows[i];
	return NULL;
}

static void observe(void *arg, enum auth_session_event ev, const struct auth_session_info *s)
{
	struct fake_store *st = arg;
	struct auth_session_info *row = store_find(st, s->hash);
	cr_assert_str_eq(s->user, AUTH_ADMIN); /* auth_login is the first-run admin */
	cr_assert_str_eq(s->role, AUTH_ADMIN);
	switch (ev) {
	case AUTH_SESSION_CREATED:
		st->created++;
		cr_assert_null(row, "created twice");
		cr_assert_lt(st->n, STORE_MAX);
		st->rows[st->n] = *s;
		st->rows[st->n].role = NULL; /* valid during the call only */
		st->rows[st->n].user = NULL;
		st->n++;
		break;
	case AUTH_SESSION_TOUCHED:
		st->touched++;
		cr_assert_not_null(row, "touched a session never created");
		cr_assert_geq(s->last_used_ms, row->last_used_ms);
		row->last_used_ms = s->last_used_ms;
		break;
	case AUTH_SESSION_ENDED:
		st->ended++;
		if (row)
			*row = st->rows[--st->n];
		break;
	}
}

static struct auth *mk_observed(struct fake_store *st, size_t max_sessions, int64_t idle_ms)
{
	struct auth_config cfg = {.password = "pw",
				  .max_sessions = max_sessions,
				  .session_idle_ms = idle_ms,
				  .on_session = observe,
				  .on_session_arg = st};
	struct auth *a = auth_new(&cfg);
	cr_assert_not_null(a);
	return a;
}

static void login(struct auth *a, const char *ip, int64_t now, char tok[AUTH_TOKEN_HEX + 1])
{
	int64_t retry;
	cr_assert_eq(auth_login(a, ip, "pw", 2, now, tok, &retry), AUTH_LOGIN_OK);
}

/* The restart: a new auth restored from the store; returns how many were. */
static struct auth *restart(struct auth *old, struct fake_store *st, size_t max_sessions,
			    int64_t idle_ms, int64_t now, size_t *restored)
{
	auth_free(old);
	struct auth *a = mk_observed(st, max_sessions, idle_ms);
	struct auth_session_info copy[STORE_MAX];
	size_t n = st->n;
	memcpy(copy, st->rows, n * sizeof(copy[0]));
	*restored = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = auth_session_restore(a, copy[i].hash, AUTH_ADMIN, AUTH_ADMIN,
					      copy[i].created_ms, copy[i].last_used_ms, now);
		cr_assert_geq(rc, 0);
		*restored += rc == 0;
	}
	return a;
}

Test(auth, the_store_sees_only_the_token_hash, .timeout = 5)
{
	struct fake_store st = {0};
	struct auth *a = mk_observed(&st, 0, 0);
	char tok[AUTH_TOKEN_HEX + 1];
	unsigned char h[AUTH_HASH_BYTES];
	login(a, "10.0.0.1", 1000, tok);
	cr_assert_eq(st.created, 1);
	cr_assert_eq(st.n, 1);
	cr_assert_eq(auth_token_hash(tok, h), 0);
	cr_assert_eq(memcmp(st.rows[0].hash, h, sizeof(h)), 0);
	cr_assert_eq(st.rows[0].created_ms, 1000);
	cr_assert_eq(st.rows[0].last_used_ms, 1000);
	/* SHA-256 of the 64 characters: a known vector for a known token. */
	cr_assert_eq(auth_token_hash("00000000000000000000000000000000"
				     "00000000000000000000000000000000",
				     h),
		     0);
	static const unsigned char want[4] = {0x60, 0xe0, 0x5b, 0xd1};
	cr_assert_eq(memcmp(h, want, 4), 0, "%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
	cr_assert_eq(auth_token_hash("abc", h), -1);
	cr_assert_eq(auth_token_hash(NULL, h), -1);
	auth_free(a);
}

Test(auth, restored_session_opens_with_the_same_cookie, .timeout = 5)
{
	struct fake_store st = {0};
	struct auth *a = mk_observed(&st, 0, 0);
	char tok[AUTH_TOKEN_HEX + 1], other[AUTH_TOKEN_HEX + 1];
	size_t restored;
	login(a, "10.0.0.1", 1000, tok);
	login(a, "10.0.0.2", 2000, other);
	auth_session_end(a, other); /* a logout: the store drops it */
	cr_assert_eq(st.ended, 1);
	cr_assert_eq(st.n, 1);

	a = restart(a, &st, 0, 0, 5000, &restored);
	cr_assert_eq(restored, 1);
	cr_assert_eq(auth_session_count(a, 5000), 1);
	cr_assert(auth_session_check(a, tok, 5000));
	cr_assert_not(auth_session_check(a, other, 5000), "a logged-out cookie came back");
	/* A restore of a hash already there keeps one session, the later times. */
	unsigned char h[AUTH_HASH_BYTES];
	cr_assert_eq(auth_token_hash(tok, h), 0);
	cr_assert_eq(auth_session_restore(a, h, AUTH_ADMIN, AUTH_ADMIN, 1000, 4000, 5000), 0);
	cr_assert_eq(auth_session_count(a, 5000), 1);
	/* Bad input. */
	cr_assert_eq(auth_session_restore(a, NULL, AUTH_ADMIN, AUTH_ADMIN, 1, 2, 5000), -1);
	cr_assert_eq(auth_session_restore(a, h, "Bad User", "admin", 1, 2, 5000), -1);
	cr_assert_eq(auth_session_restore(a, h, "admin", "a role:with colon", 1, 2, 5000), -1);
	cr_assert_eq(auth_session_restore(a, h, NULL, "admin", 1, 2, 5000), -1);
	cr_assert_eq(auth_session_restore(a, h, "admin", NULL, 1, 2, 5000), -1);
	cr_assert_eq(
	    auth_session_restore(a, h, "a-name-that-is-longer-than-32-bytes", "admin", 1, 2, 5000),
	    -1);
	cr_assert_eq(auth_session_restore(a, h, AUTH_ADMIN, AUTH_ADMIN, 3, 2, 5000), -1);
	cr_assert_eq(auth_session_restore(a, h, AUTH_ADMIN, AUTH_ADMIN, -1, 2, 5000), -1);
	/* A logout after the restart ends it for good: a second restart. */
	auth_session_end(a, tok);
	cr_assert_eq(st.n, 0);
	a = restart(a, &st, 0, 0, 6000, &restored);
	cr_assert_eq(restored, 0);
	cr_assert_not(auth_session_check(a, tok, 6000));
	auth_free(a);
}

Test(auth, idle_expiry_runs_on_across_the_restart, .timeout = 5)
{
	struct fake_store st = {0};
	const int64_t idle = 7 * DAY, t = 1764460800000LL;
	struct auth *a = mk_observed(&st, 0, idle);
	char tok[AUTH_TOKEN_HEX + 1];
	size_t restored;
	login(a, "10.0.0.1", t, tok);
	/* Uses within a minute of the last report are not told (no write). */
	cr_assert(auth_session_check(a, tok, t + 30 * 1000));
	cr_assert(auth_session_check(a, tok, t + MIN - 1));
	cr_assert_eq(st.touched, 0);
	cr_assert(auth_session_check(a, tok, t + MIN));
	cr_assert_eq(st.touched, 1);
	cr_assert_eq(st.rows[0].last_used_ms, t + MIN);
	cr_assert(auth_session_check(a, tok, t + 2 * MIN - 1));
	cr_assert_eq(st.touched, 1);
	cr_assert(auth_session_check(a, tok, t + 3 * DAY));
	cr_assert_eq(st.touched, 2);
	cr_assert_eq(st.rows[0].last_used_ms, t + 3 * DAY);

	/* Restarted 2 days later: live, and it ends idle from its stored use. */
	a = restart(a, &st, 0, idle, t + 5 * DAY, &restored);
	cr_assert_eq(restored, 1);
	cr_assert_eq(auth_session_count(a, t + 3 * DAY + idle - 1), 1);
	cr_assert_eq(auth_session_count(a, t + 3 * DAY + idle), 0);
	/* Used after the restart: told at once (the store had t + 3 d). */
	cr_assert(auth_session_check(a, tok, t + 5 * DAY));
	cr_assert_eq(st.touched, 3);
	cr_assert_eq(st.rows[0].last_used_ms, t + 5 * DAY);
	/* Restarted again: it now ends idle after t + 5 d. */
	a = restart(a, &st, 0, idle, t + 6 * DAY, &restored);
	cr_assert_eq(restored, 1);
	cr_assert_eq(auth_session_count(a, t + 5 * DAY + idle - 1), 1);
	cr_assert_eq(auth_session_count(a, t + 5 * DAY + idle), 0);
	/* Restarted after it expired: not restored, the cookie refused. */
	a = restart(a, &st, 0, idle, t + 5 * DAY + idle, &restored);
	cr_assert_eq(restored, 0);
	cr_assert_not(auth_session_check(a, tok, t + 5 * DAY + idle));
	cr_assert_eq(auth_session_count(a, t + 5 * DAY + idle), 0);
	auth_free(a);
}

Test(auth, the_cap_of_64_keeps_the_most_recent_across_restarts, .timeout = 10)
{
	struct fake_store st = {0};
	struct auth *a = mk_observed(&st, 0, 0); /* 0: the default cap, 64 */
	char tok[66][AUTH_TOKEN_HEX + 1], ip[32];
	size_t restored;
	for (int i = 0; i < 64; i++) {
		snprintf(ip, sizeof(ip), "10.0.1.%d", i);
		login(a, ip, 1000 + i * MIN, tok[i]);
	}
	cr_assert_eq(auth_session_count(a, 1000 + 64 * MIN), 64);
	cr_assert_eq(st.n, 64);
	/* tok[0] used again: tok[1] is now the least recently used. */
	cr_assert(auth_session_check(a, tok[0], 1000 + 64 * MIN));
	login(a, "10.0.2.1", 1000 + 65 * MIN, tok[64]);
	cr_assert_eq(st.ended, 1, "the evicted one is told");
	cr_assert_eq(st.n, 64);
	cr_assert_not(auth_session_check(a, tok[1], 1000 + 65 * MIN));
	cr_assert(auth_session_check(a, tok[0], 1000 + 65 * MIN));

	/* Restarted: the 64 the store holds come back, tok[1] stays out. */
	a = restart(a, &st, 0, 0, 1000 + 66 * MIN, &restored);
	cr_assert_eq(restored, 64);
	for (int i = 2; i < 65; i++)
		cr_assert(auth_session_check(a, tok[i], 1000 + 66 * MIN), "tok[%d]", i);
	cr_assert(auth_session_check(a, tok[0], 1000 + 66 * MIN));
	cr_assert_not(auth_session_check(a, tok[1], 1000 + 66 * MIN));
	auth_free(a);

	/* A store of 65 (a bridge that had a cap of 65) restored into 64:
	 * the least recently used stays out and is deleted from the store. */
	struct fake_store big = {0};
	a = mk_observed(&big, 65, 0);
	for (int i = 0; i < 65; i++) {
		snprintf(ip, sizeof(ip), "10.0.3.%d", i);
		login(a, ip, 1000 + i * MIN, tok[i]);
	}
	cr_assert_eq(big.n, 65);
	a = restart(a, &big, 64, 0, 1000 + 65 * MIN, &restored);
	cr_assert_eq(restored, 65, "the newest evicted the oldest when it came");
	cr_assert_eq(big.n, 64, "the one left out is deleted from the store");
	unsigned char h0[AUTH_HASH_BYTES];
	cr_assert_eq(auth_token_hash(tok[0], h0), 0);
	cr_assert_null(store_find(&big, h0));
	cr_assert_eq(auth_session_count(a, 1000 + 65 * MIN), 64);
	cr_assert_not(auth_session_check(a, tok[0], 1000 + 65 * MIN), "the oldest is out");
	/* Full of more recent ones: an older restore is refused and told ended. */
	unsigned ended = big.ended;
	/* A v2 row ("operator") is the first-run admin's. */
	cr_assert_eq(auth_session_restore(a, h0, NULL, AUTH_USER, 1000, 1000, 1000 + 65 * MIN), 1);
	cr_assert_eq(big.ended, ended + 1);
	for (int i = 1; i < 65; i++)
		cr_assert(auth_session_check(a, tok[i], 1000 + 65 * MIN), "tok[%d]", i);
	auth_free(a);
}
