/*
 * login.c — POST /api/login and /api/logout: the body's {"user","password"}
 * (a bare {"password"} is user "admin") goes through auth.c's rate limits,
 * then to accounts.c's argon2id check on a libuv worker (the answer is
 * written at the HTTP_WRITEABLE after it), then auth.c's verdict becomes an
 * HTTP status, a JSON body, the session cookie or Retry-After, a counter
 * and, where someone must hear of it, a log line. The mapping
 * (services/bridge/README.md, "HTTP"):
 *
 *   AUTH_LOGIN_OK                   200 {"user","role","operator"} + Set-Cookie
 *   AUTH_LOGIN_BAD_PASSWORD         401 {"error":"bad_password"}
 *   AUTH_LOGIN_RATE_LIMITED(_GLOBAL) 429 {"error":"rate_limited"} + Retry-After
 *   AUTH_LOGIN_NO_PASSWORD          403 {"error":"no_password_set"}
 *   AUTH_LOGIN_ERROR                500 {"error":"internal"}
 *
 * It knows neither how a session is kept (auth.c) nor how the request was
 * read (http.c checked Origin and size before handing it here). Loop thread
 * only.
 */
#include "server_internal.h"

#include "accounts.h"
#include "log.h"
#include "roles.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int login_decode(const char *body, size_t len, char user[AUTH_NAME_MAX + 1], char **password)
{
	*password = NULL;
	user[0] = '\0';
	cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(j, "password");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "user");
	int rc = -1;
	if (cJSON_IsObject(j) && cJSON_IsString(pw) && (!u || cJSON_IsString(u))) {
		const char *name = u ? u->valuestring : AUTH_ADMIN;
		size_t n = strlen(name);
		/* A name no account can have is still checked (a dummy verify):
		 * only its length is refused outright. */
		if (n >= 1 && n <= AUTH_NAME_MAX) {
			memcpy(user, name, n + 1);
			*password = strdup(pw->valuestring);
			rc = *password ? 0 : -2;
		}
	}
	cJSON_Delete(j);
	return rc;
}

/* A login between its check and its answer (pss->login). */
struct login_job {
	struct server *s;
	struct lws *wsi;
	struct pss *pss; /* NULL: the connection went away */
	char ip[64];
	char user[AUTH_NAME_MAX + 1];
	struct accounts_check *check;
	bool done;
	unsigned status;
	char body[160];
	char cookie[256];
	char retry[32];
};

static void login_flood_warn(struct server *s, const char *ip)
{
	/* Once a minute at most: a flood must not flood the journal. */
	int64_t t = server_now_ms();
	if (!s->m.logins_rate_limited_global || t - s->login_flood_logged_ms >= 60000) {
		s->login_flood_logged_ms = t;
		log_warn("login refused from %s: too many failed logins from all "
			 "addresses together (%llu refused so far)",
			 ip, (unsigned long long)s->m.logins_rate_limited_global + 1);
	}
	s->m.logins_rate_limited_global++;
}

/* auth's verdict as the answer, kept in the job until it can be sent. */
static void verdict(struct login_job *j, enum auth_login_result r, const char *token,
		    int64_t retry_s, enum roles_role role)
{
	struct server *s = j->s;
	j->cookie[0] = j->retry[0] = '\0';
	switch (r) {
	case AUTH_LOGIN_OK:
		snprintf(j->cookie, sizeof(j->cookie),
			 "iod_session=%s; Path=/; HttpOnly; SameSite=Strict%s", token,
			 s->tls ? "; Secure" : "");
		s->m.logins_ok++;
		log_info("%s (%s) logged in from %s", j->user, roles_name(role), j->ip);
		j->status = 200;
		snprintf(j->body, sizeof(j->body),
			 "{\"user\":\"%s\",\"role\":\"%s\",\"operator\":%s}", j->user,
			 roles_name(role), roles_may(role, "feeder", "feed") ? "false" : "true");
		break;
	case AUTH_LOGIN_BAD_PASSWORD:
		s->m.logins_bad_password++;
		log_warn("login refused from %s: bad user or password", j->ip);
		j->status = 401;
		snprintf(j->body, sizeof(j->body), "{\"error\":\"bad_password\"}");
		break;
	case AUTH_LOGIN_RATE_LIMITED:
	case AUTH_LOGIN_RATE_LIMITED_GLOBAL:
		snprintf(j->retry, sizeof(j->retry), "%lld", (long long)retry_s);
		if (r == AUTH_LOGIN_RATE_LIMITED)
			s->m.logins_rate_limited++;
		else
			login_flood_warn(s, j->ip);
		j->status = 429;
		snprintf(j->body, sizeof(j->body), "{\"error\":\"rate_limited\"}");
		break;
	case AUTH_LOGIN_NO_PASSWORD:
		s->m.logins_no_password++;
		j->status = 403;
		snprintf(j->body, sizeof(j->body), "{\"error\":\"no_password_set\"}");
		break;
	case AUTH_LOGIN_ERROR:
	default:
		j->status = 500;
		snprintf(j->body, sizeof(j->body), "{\"error\":\"internal\"}");
		break;
	}
	j->done = true;
}

static int respond(struct lws *wsi, struct pss *pss, struct login_job *j)
{
	const char *cookie[] = {"set-cookie:", j->cookie, NULL};
	const char *retry[] = {"retry-after:", j->retry, NULL};
	const char *const *extra = j->cookie[0] ? cookie : j->retry[0] ? retry : NULL;
	int rc = http_respond_json(wsi, pss, j->status, j->body, extra);
	OPENSSL_cleanse(j->cookie, sizeof(j->cookie));
	free(j);
	return rc;
}

/* The password check is over (on the loop thread). */
static void checked(void *arg, bool ok, enum roles_role role)
{
	struct login_job *j = arg;
	char token[AUTH_TOKEN_HEX + 1] = "";
	bool async = j->check != NULL; /* inline (no loop), the caller answers */
	j->check = NULL;
	if (!j->pss && ok) { /* nobody to give a session to */
		free(j);
		return;
	}
	enum auth_login_result r = auth_login_finish(j->s->cfg.auth, j->ip, j->user,
						     roles_name(role), ok, server_now_ms(), token);
	verdict(j, r, token, 0, role);
	OPENSSL_cleanse(token, sizeof(token));
	if (!j->pss) {
		free(j);
		return;
	}
	if (async)
		lws_callback_on_writable(j->wsi);
}

int login_writeable(struct lws *wsi, struct pss *pss)
{
	struct login_job *j = pss->login;
	if (!j->done)
		return 0;
	pss->login = NULL;
	return respond(wsi, pss, j);
}

void login_free(struct pss *pss)
{
	struct login_job *j = pss->login;
	pss->login = NULL;
	if (!j)
		return;
	if (j->done) {
		free(j);
		return;
	}
	j->pss = NULL; /* checked() frees it */
}

static int login(struct server *s, struct lws *wsi, struct pss *pss)
{
	struct login_job *j = calloc(1, sizeof(*j));
	char *password = NULL;
	if (!j)
		return http_respond_json(wsi, pss, 500, "{\"error\":\"internal\"}", NULL);
	j->s = s;
	j->wsi = wsi;
	j->pss = pss;
	lws_get_peer_simple(wsi, j->ip, sizeof(j->ip));
	int rc =
	    pss->post_too_large ? -1 : login_decode(pss->post, pss->post_len, j->user, &password);
	if (rc < 0) {
		free(j);
		return http_respond_json(
		    wsi, pss, rc == -2 ? 500 : 400,
		    rc == -2 ? "{\"error\":\"internal\"}" : "{\"error\":\"bad_request\"}", NULL);
	}
	int64_t retry_s = 0;
	enum auth_login_result r;
	if (!accounts_any(s->cfg.accounts))
		r = AUTH_LOGIN_NO_PASSWORD;
	else
		r = auth_login_begin(s->cfg.auth, j->ip, j->user, server_now_ms(), &retry_s);
	if (r != AUTH_LOGIN_OK) {
		OPENSSL_cleanse(password, strlen(password));
		free(password);
		verdict(j, r, NULL, retry_s, ROLES_VIEWER);
		return respond(wsi, pss, j);
	}
	pss->login = j;
	rc = accounts_verify(s->cfg.accounts, j->user, password, strlen(password), checked, j,
			     &j->check);
	OPENSSL_cleanse(password, strlen(password));
	free(password);
	if (rc < 0) {
		pss->login = NULL;
		free(j);
		return http_respond_json(wsi, pss, 500, "{\"error\":\"internal\"}", NULL);
	}
	if (j->done) /* checked inline (no loop: the unit tests) */
		return login_writeable(wsi, pss);
	return 0;
}

/* The body of a logout: {"everywhere":true} ends every session of the
 * user; anything else (none, {}) this one only. */
static bool logout_everywhere(const struct pss *pss)
{
	if (!pss->post || !pss->post_len)
		return false;
	cJSON *j = cJSON_ParseWithLength(pss->post, pss->post_len);
	bool all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "everywhere"));
	cJSON_Delete(j);
	return all;
}

/*
 * The session in the request's cookie ends, whether or not it was live;
 * with {"everywhere":true}, every session of its user (each phone and
 * browser logged in as them), and their open dashboards are closed, so
 * each reloads to the login. {"operator":false,"ended":n}.
 */
static int logout(struct server *s, struct lws *wsi, struct pss *pss)
{
	char cookie[2048], token[AUTH_TOKEN_HEX + 1], user[AUTH_NAME_MAX + 1];
	size_t ended = 0;
	if (http_header(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof(cookie)) == 0 &&
	    auth_cookie_token(cookie, token) == 0) {
		if (logout_everywhere(pss) &&
		    auth_session_user(s->cfg.auth, token, server_now_ms(), user, NULL)) {
			ended = auth_session_end_user(s->cfg.auth, user);
			log_info("%s logged out everywhere: %zu session%s ended", user, ended,
				 ended == 1 ? "" : "s");
		} else if (auth_session_check(s->cfg.auth, token, server_now_ms())) {
			auth_session_end(s->cfg.auth, token);
			ended = 1;
		} else {
			auth_session_end(s->cfg.auth, token);
		}
		ws_close_ended_sessions(s);
	}
	char body[64];
	snprintf(body, sizeof(body), "{\"operator\":false,\"ended\":%zu}", ended);
	const char *extra[] = {
	    "set-cookie:", "iod_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", NULL};
	return http_respond_json(wsi, pss, 200, body, extra);
}

int login_post(struct server *s, struct lws *wsi, struct pss *pss)
{
	if (pss->post_target == POST_LOGIN)
		return login(s, wsi, pss);
	return logout(s, wsi, pss);
}
