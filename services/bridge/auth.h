/*
 * auth — the bridge's web security decisions, pure and clock-injected:
 * the operator password check (constant time), the session store (random
 * 32-byte tokens, idle expiry, bounded with least-recently-used eviction),
 * the per-IP login rate limiter, cookie parsing and the Origin check.
 *
 * The single operator account is named "operator". Loop thread only.
 */
#ifndef IOD_BRIDGE_AUTH_H
#define IOD_BRIDGE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_BYTES  32
#define AUTH_TOKEN_HEX	  (2 * AUTH_TOKEN_BYTES)
#define AUTH_PASSWORD_MAX 256 /* longer passwords are refused at config time */
#define AUTH_USER	  "operator"

/* Fill buf with len cryptographically random bytes: 0 or -1. */
typedef int (*auth_random_fn)(void *buf, size_t len);

struct auth_config {
	const char *password;	   /* NULL or "": no operator login possible */
	size_t max_sessions;	   /* 0 = 64 */
	int64_t session_idle_ms;   /* 0 = 7 days */
	unsigned max_failures;	   /* per IP per window before 429; 0 = 5 */
	int64_t failure_window_ms; /* 0 = 60 s */
	size_t max_ips;		   /* rate-limiter table; 0 = 256 */
	auth_random_fn random;	   /* NULL = getrandom(2) */
};

enum auth_login_result {
	AUTH_LOGIN_OK,
	AUTH_LOGIN_BAD_PASSWORD,
	AUTH_LOGIN_RATE_LIMITED,
	AUTH_LOGIN_NO_PASSWORD,
	AUTH_LOGIN_ERROR, /* no randomness */
};

struct auth;

struct auth *auth_new(const struct auth_config *cfg);
void auth_free(struct auth *a);
bool auth_password_set(const struct auth *a);

/*
 * Check a login attempt from ip. On AUTH_LOGIN_OK a new session is created
 * and its token written to token_out as 64 hex characters + NUL. On
 * AUTH_LOGIN_RATE_LIMITED *retry_after_s says when to try again (>= 1).
 * A blocked IP is refused without looking at the password.
 */
enum auth_login_result auth_login(struct auth *a, const char *ip, const char *password,
				  size_t password_len, int64_t now_ms,
				  char token_out[AUTH_TOKEN_HEX + 1], int64_t *retry_after_s);

/* true when token names a live session; refreshes its idle timer. */
bool auth_session_check(struct auth *a, const char *token, int64_t now_ms);
/* Forget a session (logout). */
void auth_session_end(struct auth *a, const char *token);
size_t auth_session_count(struct auth *a, int64_t now_ms);

/* Constant-time equality over AUTH_PASSWORD_MAX bytes whatever the inputs. */
bool auth_ct_equal(const void *x, size_t x_len, const void *y, size_t y_len);

/* The value of the iod_session cookie in a Cookie header, when it is exactly
 * 64 hex characters: 0, else -1. */
int auth_cookie_token(const char *cookie_header, char out[AUTH_TOKEN_HEX + 1]);

/*
 * Origin check for a browser request: true when origin is NULL/empty (not a
 * browser) or is http(s)://host[:port] naming the same host and port as the
 * Host header (default ports 80/443 by scheme). "null" and anything else
 * malformed are refused.
 */
bool auth_origin_ok(const char *origin, const char *host);

#endif
