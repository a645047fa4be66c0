/*
 * login.c — POST /api/login and /api/logout: the body's password goes to
 * auth.c, whose verdict becomes an HTTP status, a JSON body, the session
 * cookie or Retry-After, a counter and, where someone must hear of it, a
 * log line. The mapping (services/bridge/README.md, "HTTP"):
 *
 *   AUTH_LOGIN_OK                   200 {"operator":true} + Set-Cookie
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

#include "log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int login(struct server *s, struct lws *wsi, struct pss *pss)
{
	char ip[64] = "";
	lws_get_peer_simple(wsi, ip, sizeof(ip));
	cJSON *j = pss->post_too_large ? NULL : cJSON_ParseWithLength(pss->post, pss->post_len);
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(j, "password");
	if (!cJSON_IsString(pw)) {
		cJSON_Delete(j);
		return http_respond_json(wsi, pss, 400, "{\"error\":\"bad_request\"}", NULL);
	}
	char token[AUTH_TOKEN_HEX + 1];
	int64_t retry_s = 0;
	enum auth_login_result r =
	    auth_login(s->cfg.auth, ip, pw->valuestring, strlen(pw->valuestring), server_now_ms(),
		       token, &retry_s);
	cJSON_Delete(j);
	switch (r) {
	case AUTH_LOGIN_OK: {
		char cookie[256];
		snprintf(cookie, sizeof(cookie),
			 "iod_session=%s; Path=/; HttpOnly; SameSite=Strict%s", token,
			 s->tls ? "; Secure" : "");
		const char *extra[] = {"set-cookie:", cookie, NULL};
		s->m.logins_ok++;
		log_info("operator logged in from %s", ip);
		return http_respond_json(wsi, pss, 200, "{\"operator\":true}", extra);
	}
	case AUTH_LOGIN_BAD_PASSWORD:
		s->m.logins_bad_password++;
		log_warn("login refused from %s: bad password", ip);
		return http_respond_json(wsi, pss, 401, "{\"error\":\"bad_password\"}", NULL);
	case AUTH_LOGIN_RATE_LIMITED:
	case AUTH_LOGIN_RATE_LIMITED_GLOBAL: {
		char retry[32];
		snprintf(retry, sizeof(retry), "%lld", (long long)retry_s);
		const char *extra[] = {"retry-after:", retry, NULL};
		if (r == AUTH_LOGIN_RATE_LIMITED) {
			s->m.logins_rate_limited++;
		} else {
			/* Once a minute at most: a flood must not flood the journal. */
			int64_t t = server_now_ms();
			if (!s->m.logins_rate_limited_global ||
			    t - s->login_flood_logged_ms >= 60000) {
				s->login_flood_logged_ms = t;
				log_warn("login refused from %s: too many failed logins from all "
					 "addresses together (%llu refused so far)",
					 ip,
					 (unsigned long long)s->m.logins_rate_limited_global + 1);
			}
			s->m.logins_rate_limited_global++;
		}
		return http_respond_json(wsi, pss, 429, "{\"error\":\"rate_limited\"}", extra);
	}
	case AUTH_LOGIN_NO_PASSWORD:
		s->m.logins_no_password++;
		return http_respond_json(wsi, pss, 403, "{\"error\":\"no_password_set\"}", NULL);
	case AUTH_LOGIN_ERROR:
	default:
		return http_respond_json(wsi, pss, 500, "{\"error\":\"internal\"}", NULL);
	}
}

/* The session in the request's cookie ends, whether or not it was live. */
static int logout(struct server *s, struct lws *wsi, struct pss *pss)
{
	char cookie[2048], token[AUTH_TOKEN_HEX + 1];
	if (http_header(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof(cookie)) == 0 &&
	    auth_cookie_token(cookie, token) == 0)
		auth_session_end(s->cfg.auth, token);
	const char *extra[] = {
	    "set-cookie:", "iod_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", NULL};
	return http_respond_json(wsi, pss, 200, "{\"operator\":false}", extra);
}

int login_post(struct server *s, struct lws *wsi, struct pss *pss)
{
	if (pss->post_target == POST_LOGIN)
		return login(s, wsi, pss);
	return logout(s, wsi, pss);
}
