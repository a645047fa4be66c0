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
