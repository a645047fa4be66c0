/*
 * auth — the bridge's web security decisions, pure and clock-injected:
 * the operator password check (constant time), the session store (random
 * 32-byte tokens, idle expiry, bounded with least-recently-used eviction;
 * only the SHA-256 of each token is kept, and sessions can be restored
 * and observed so that the glue persists them across a restart),
 * the login rate limiters (per client address, and a global token bucket
 * over every failed login), cookie parsing, the Origin check and the Host
 * check against DNS rebinding.
 *
 * A session belongs to a user (issue 14: the accounts in users.c) and
 * keeps the role it was opened with; the glue re-reads the role from the
 * users file at each command. auth_login is the first-run password as user
 * "admin"; auth_login_begin / auth_login_finish wrap a check made elsewhere
 * (an argon2id verify on a worker thread) in the same rate limits, plus one
 * per user. Loop thread only.
 */
#ifndef IOD_BRIDGE_AUTH_H
#define IOD_BRIDGE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_BYTES  32
#define AUTH_TOKEN_HEX	  (2 * AUTH_TOKEN_BYTES)
#define AUTH_PASSWORD_MAX 256	     /* longer passwords are refused at config time */
#define AUTH_USER	  "operator" /* the role of a session from before accounts (schema v2) */
#define AUTH_ADMIN	  "admin"    /* the user IOD_BRIDGE_PASSWORD logs in as */
#define AUTH_NAME_MAX	  32	     /* a user or role name, bytes */
#define AUTH_HASH_BYTES	  32	     /* SHA-256 */

/* Fill buf with len cryptographically random bytes: 0 or -1. */
typedef int (*auth_random_fn)(void *buf, size_t len);

/*
 * What the session store tells its observer, so the glue can persist the
 * sessions without auth knowing where (records_put_session & co.):
 * - CREATED: a login succeeded (a restore reports nothing but what it
 *   had to drop);
 * - TOUCHED: a check found the session live and it was last reported more
 *   than session_touch_ms ago (so at most once per interval per session;
 *   the last_used a restart sees lags by less than that);
 * - ENDED: a logout, the least recently used session evicted at the cap
 *   (by a login or a restore), or an expired session's slot reused.
 * The info (and role) is valid during the call only. Called on the thread
 * that called auth; it must not call back into auth.
 */
enum auth_session_event {
	AUTH_SESSION_CREATED,
	AUTH_SESSION_TOUCHED,
	AUTH_SESSION_ENDED,
};
struct auth_session_info {
	unsigned char hash[AUTH_HASH_BYTES]; /* SHA-256 of the 64 hex characters */
	const char *user;		     /* the account, 1..AUTH_NAME_MAX bytes */
	const char *role;		     /* its role at login ("viewer", "carer", "admin") */
	int64_t created_ms, last_used_ms;
};
typedef void (*auth_session_fn)(void *arg, enum auth_session_event ev,
				const struct auth_session_info *s);

struct auth_config {
	const char *password;	   /* NULL or "": no operator login possible */
	size_t max_sessions;	   /* 0 = 64 */
	int64_t session_idle_ms;   /* 0 = 7 days */
	unsigned max_failures;	   /* per IP, and per user, per window before 429; 0 = 5 */
	int64_t failure_window_ms; /* 0 = 60 s */
	size_t max_ips;		   /* rate-limiter tables (addresses, users); 0 = 256 */
	/* The global limit: a token bucket of global_failures failed logins,
	 * refilled at global_failures per global_window_ms, over every address
	 * together. 0 = 30 per 60 s. See auth_login(). */
	unsigned global_failures;
	int64_t global_window_ms;
	auth_random_fn random; /* NULL = getrandom(2) */
	/* Host names answered (auth_host_ok): a comma list (IOD_BRIDGE_HOSTS),
	 * or NULL for the defaults: the machine's name (hostname, and its
	 * first label with and without ".local") and the host of dashboard_url. */
	const char *hosts;
	const char *hostname;	    /* NULL = gethostname(2); for tests */
	const char *dashboard_url;  /* IOD_DASHBOARD_URL: its host is a default name */
	auth_session_fn on_session; /* NULL: nobody is told */
	void *on_session_arg;
	int64_t session_touch_ms; /* TOUCHED at most this often per session; 0 = 60 s */
};

enum auth_login_result {
	AUTH_LOGIN_OK,
	AUTH_LOGIN_BAD_PASSWORD,
	AUTH_LOGIN_RATE_LIMITED,	/* this address failed too often */
	AUTH_LOGIN_RATE_LIMITED_GLOBAL, /* every address together failed too often */
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
 * AUTH_LOGIN_RATE_LIMITED(_GLOBAL) *retry_after_s says when to try again
 * (>= 1). A refused attempt is refused without looking at the password.
 *
 * Two limits, both on failed logins only:
 * - per address: max_failures per failure_window_ms (a success clears it);
 * - global: every failed login, from any address, takes a token from one
 *   bucket (global_failures deep, refilled at global_failures per
 *   global_window_ms). While it is empty, the password is not checked for
 *   any address, so the number of guesses checked is bounded whatever the
 *   number of addresses: global_failures per window, plus max_failures per
 *   window for each known address.
 * A known address is one the right password came from within
 * session_idle_ms (at most max_sessions of them, least recently used out):
 * it is exempt from the global limit, never from its own. So a flood from
 * other addresses cannot lock the operator out of a phone or computer that
 * has logged in before, nor end a session; a fresh address waits until the
 * flood stops (at most global_window_ms after it does).
 */
enum auth_login_result auth_login(struct auth *a, const char *ip, const char *password,
				  size_t password_len, int64_t now_ms,
				  char token_out[AUTH_TOKEN_HEX + 1], int64_t *retry_after_s);

/*
 * The same limits around a password check made by the caller (the users
 * file's argon2id verify, off the loop). begin: AUTH_LOGIN_OK when user may
 * be checked from ip now, else AUTH_LOGIN_RATE_LIMITED(_GLOBAL) with
 * *retry_after_s; a user with max_failures failures in the window is
 * limited like an address (RATE_LIMITED), from every address, so guesses at
 * one account are bounded however many addresses try. finish: the check's
 * verdict; on failure it counts for ip, for user and globally
 * (AUTH_LOGIN_BAD_PASSWORD); on success both counts are cleared and a
 * session of user with role (1..AUTH_NAME_MAX bytes each) is created
 * (AUTH_LOGIN_OK, token_out filled; AUTH_LOGIN_ERROR without randomness or
 * for a bad user or role).
 */
enum auth_login_result auth_login_begin(struct auth *a, const char *ip, const char *user,
					int64_t now_ms, int64_t *retry_after_s);
enum auth_login_result auth_login_finish(struct auth *a, const char *ip, const char *user,
					 const char *role, bool ok, int64_t now_ms,
					 char token_out[AUTH_TOKEN_HEX + 1]);

/* true when token names a live session; refreshes its idle timer. The
 * token is hashed and the hash compared with every session's in constant
 * time. */
bool auth_session_check(struct auth *a, const char *token, int64_t now_ms);
/* auth_session_check, and the session's user and role (at login) copied
 * into user and role (AUTH_NAME_MAX + 1 each; either may be NULL). */
bool auth_session_user(struct auth *a, const char *token, int64_t now_ms,
		       char user[AUTH_NAME_MAX + 1], char role[AUTH_NAME_MAX + 1]);
/* Forget a session (logout); ENDED is reported if there was one. */
void auth_session_end(struct auth *a, const char *token);
size_t auth_session_count(struct auth *a, int64_t now_ms);
/* Forget every session of user ("log out everywhere"), each reported
 * ENDED: how many there were. */
size_t auth_session_end_user(struct auth *a, const char *user);
/* Is token a session the table still holds (live or idle past its time)?
 * Unlike auth_session_check, it does not count as a use. */
bool auth_session_exists(struct auth *a, const char *token);

/*
 * Restore a session kept across a restart (at start, from the store): its
 * token's hash, user and role (1..AUTH_NAME_MAX bytes of [a-z0-9._-]; a
 * session from before accounts has role AUTH_USER and becomes user and
 * role "admin"), created and last used times. 0: restored (a hash already there gets the later
 * times); 1: not restored, because it is no longer live at now_ms (idle for session_idle_ms), or
 * the store is full of sessions used more recently (then ENDED is reported for it, so the store
 * drops it too); -1: bad input (NULL hash, a bad user or role, negative times, created after last
 * used). When the store is full a restored session evicts the least
 * recently used one if it is more recent (ENDED for the evicted).
 */
int auth_session_restore(struct auth *a, const unsigned char hash[AUTH_HASH_BYTES],
			 const char *user, const char *role, int64_t created_ms,
			 int64_t last_used_ms, int64_t now_ms);
/* The hash a token is kept by (SHA-256 of its characters): 0, or -1 when
 * token is not AUTH_TOKEN_HEX characters or hashing failed. */
int auth_token_hash(const char *token, unsigned char out[AUTH_HASH_BYTES]);

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

/*
 * Host check against DNS rebinding (a page on rebind.example whose name
 * now resolves to this machine): true when host (the Host header,
 * host[:port]) is absent or empty (not a browser: browsers always send
 * one), an IP literal (a browser that dialled an address sends that
 * address; no DNS name is involved to rebind), "localhost", or one of the
 * configured names (case-insensitive, one trailing dot ignored). A
 * configured "*" accepts every name.
 */
bool auth_host_ok(const struct auth *a, const char *host);
/* IOD_BRIDGE_HOSTS is well-formed: a comma list of host names (letters,
 * digits, '-', '.', '_') or "*"; NULL is. */
bool auth_hosts_valid(const char *list);

#endif
