/* POST /api/login and /api/logout (login.c through http.c): auth.c's
 * verdict as the exact HTTP status, body, cookie, Retry-After and counter.
 * Through the glue with lws stubbed (glue_stubs.h). */
#include "glue_stubs.h"

#include "accounts.h"
#include "users.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct lws wsi;
static struct pss pss;

/* A whole POST: headers, then the body in one BODY callback, then the
 * completion; the response as the client would get it (HTTP_WRITEABLE). */
static int post(struct server *s, const char *uri, const char *ip, const char *origin,
		const char *cookie, const char *body)
{
	glue_wsi_reset(&wsi);
	http_free(&pss);
	memset(&pss, 0, sizeof(pss));
	char clen[32];
	snprintf(clen, sizeof(clen), "%zu", strlen(body));
	wsi.hdr[WSI_TOKEN_POST_URI] = uri;
	wsi.hdr[WSI_TOKEN_HOST] = "localhost:8080";
	wsi.hdr[WSI_TOKEN_ORIGIN] = origin;
	wsi.hdr[WSI_TOKEN_HTTP_COOKIE] = cookie;
	wsi.hdr[WSI_TOKEN_HTTP_CONTENT_LENGTH] = clen;
	wsi.peer = ip;
	int rc = http_request(s, &wsi, &pss, uri);
	cr_assert_eq(rc, 0);
	if (!wsi.status) { /* waiting for the body */
		cr_assert_eq(http_body(&pss, body, strlen(body)), 0);
		rc = http_body_done(s, &wsi, &pss);
		cr_assert_eq(rc, 0);
	}
	cr_assert_eq(wsi.writable, 1, "the body waits for HTTP_WRITEABLE");
	cr_assert_eq(http_writeable(&wsi, &pss), 0);
	return rc;
}

static int login_as(struct server *s, const char *ip, const char *user, const char *password)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
	return post(s, "/api/login", ip, "http://localhost:8080", NULL, body);
}

static int login(struct server *s, const char *ip, const char *password)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"password\":\"%s\"}", password);
	return post(s, "/api/login", ip, "http://localhost:8080", NULL, body);
}

static void expect(unsigned status, const char *body)
{
	cr_assert_eq(wsi.status, status, "status %u, expected %u (%s)", wsi.status, status,
		     wsi.body);
	cr_assert_str_eq(wsi.body, body);
	cr_assert(strstr(wsi.headers, "content-type: application/json\n"), "%s", wsi.headers);
	cr_assert(strstr(wsi.headers, "cache-control: no-store\n"), "%s", wsi.headers);
	cr_assert(strstr(wsi.headers, "x-content-type-options: nosniff\n"), "%s", wsi.headers);
}

Test(login, ok_is_200_with_the_session_cookie, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	login(s, "192.168.1.5", "hunter2");
	expect(200, "{\"user\":\"admin\",\"role\":\"admin\",\"operator\":true}");
	const char *set = strstr(wsi.headers, "set-cookie: iod_session=");
	cr_assert_not_null(set, "%s", wsi.headers);
	char token[AUTH_TOKEN_HEX + 1];
	cr_assert_eq(sscanf(set, "set-cookie: iod_session=%64[0-9a-f]", token), 1);
	cr_assert(auth_session_check(s->cfg.auth, token, glue_now_ms));
	char want[160];
	snprintf(want, sizeof(want),
		 "set-cookie: iod_session=%s; Path=/; HttpOnly; SameSite=Strict\n", token);
	cr_assert(strstr(wsi.headers, want), "%s", wsi.headers);
	cr_assert_eq(s->m.logins_ok, 1);
	cr_assert_str_eq(glue_last_log, "admin (admin) logged in from 192.168.1.5");
	/* Under TLS the cookie is Secure. */
	s->tls = true;
	login(s, "192.168.1.5", "hunter2");
	cr_assert(strstr(wsi.headers, "; SameSite=Strict; Secure\n"), "%s", wsi.headers);
	http_free(&pss);
	glue_server_free(s);
}

Test(login, bad_password_then_rate_limited_with_retry_after, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	for (int i = 0; i < 5; i++) {
		login(s, "10.0.0.9", "guess");
		expect(401, "{\"error\":\"bad_password\"}");
		cr_assert_null(strstr(wsi.headers, "set-cookie:"));
	}
	cr_assert_eq(s->m.logins_bad_password, 5);
	glue_now_ms += 20000;
	login(s, "10.0.0.9", "hunter2"); /* refused unchecked, even the right one */
	expect(429, "{\"error\":\"rate_limited\"}");
	cr_assert(strstr(wsi.headers, "retry-after: 40\n"), "%s", wsi.headers);
	cr_assert_eq(s->m.logins_rate_limited, 1);
	cr_assert_eq(s->m.logins_ok, 0);
	http_free(&pss);
	glue_server_free(s);
}

Test(login, global_limit_is_429_counted_apart_and_logged_once_a_minute, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	char ip[32];
	/* 30 failures from 30 addresses (at 30 names: not the per-user limit)
	 * empty the bucket of every address. */
	for (int i = 0; i < 30; i++) {
		char user[16];
		snprintf(ip, sizeof(ip), "127.0.0.%d", i + 2);
		snprintf(user, sizeof(user), "u%d", i);
		login_as(s, ip, user, "guess");
		expect(401, "{\"error\":\"bad_password\"}");
	}
	unsigned logs = glue_logs;
	login(s, "127.0.1.1", "guess");
	expect(429, "{\"error\":\"rate_limited\"}");
	cr_assert(strstr(wsi.headers, "retry-after: 2\n"), "%s", wsi.headers);
	cr_assert_eq(s->m.logins_rate_limited_global, 1);
	cr_assert_eq(s->m.logins_rate_limited, 0);
	cr_assert_eq(glue_logs, logs + 1);
	cr_assert_str_eq(glue_last_log, "login refused from 127.0.1.1: too many failed logins "
					"from all addresses together (1 refused so far)");
	/* The second refusal within the minute is counted, not logged. */
	login(s, "127.0.1.2", "guess");
	expect(429, "{\"error\":\"rate_limited\"}");
	cr_assert_eq(s->m.logins_rate_limited_global, 2);
	cr_assert_eq(glue_logs, logs + 1);
	http_free(&pss);
	glue_server_free(s);
}

Test(login, no_password_set_is_403, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	auth_free(s->cfg.auth);
	struct auth_config ac = {.password = NULL, .hostname = "dogpi"};
	s->cfg.auth = auth_new(&ac);
	accounts_free(s->cfg.accounts); /* no users file, no IOD_BRIDGE_PASSWORD */
	s->cfg.accounts = accounts_new(NULL, NULL, NULL);
	login(s, "192.168.1.5", "hunter2");
	expect(403, "{\"error\":\"no_password_set\"}");
	cr_assert_eq(s->m.logins_no_password, 1);
	http_free(&pss);
	glue_server_free(s);
}

Test(login, malformed_foreign_and_oversized_posts, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	post(s, "/api/login", "192.168.1.5", NULL, NULL, "{\"pass\":\"hunter2\"}");
	expect(400, "{\"error\":\"bad_request\"}");
	post(s, "/api/login", "192.168.1.5", NULL, NULL, "{\"password\":7}");
	expect(400, "{\"error\":\"bad_request\"}");
	post(s, "/api/login", "192.168.1.5", "http://evil.example", NULL,
	     "{\"password\":\"hunter2\"}");
	expect(403, "{\"error\":\"bad_origin\"}");
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	post(s, "/api/login", "192.168.1.5", NULL, NULL, big);
	expect(413, "{\"error\":\"too_large\"}");
	post(s, "/api/other", "192.168.1.5", NULL, NULL, "{}");
	cr_assert_eq(wsi.status, 404);
	cr_assert_eq(s->m.logins_ok + s->m.logins_bad_password, 0, "no password was checked");
	http_free(&pss);
	glue_server_free(s);
}

Test(login, logout_ends_the_session_and_clears_the_cookie, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	char token[AUTH_TOKEN_HEX + 1], cookie[128];
	glue_login(s, "192.168.1.5", token);
	snprintf(cookie, sizeof(cookie), "iod_session=%s", token);
	post(s, "/api/logout", "192.168.1.5", "http://localhost:8080", cookie, "");
	expect(200, "{\"operator\":false,\"ended\":1}");
	cr_assert(strstr(wsi.headers, "set-cookie: iod_session=; Path=/; HttpOnly; "
				      "SameSite=Strict; Max-Age=0\n"),
		  "%s", wsi.headers);
	cr_assert_not(auth_session_check(s->cfg.auth, token, glue_now_ms));
	http_free(&pss);
	glue_server_free(s);
}

Test(login, logout_everywhere_ends_every_session_of_the_user_and_their_pages, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	char sam1[AUTH_TOKEN_HEX + 1], sam2[AUTH_TOKEN_HEX + 1], ann[AUTH_TOKEN_HEX + 1];
	cr_assert_eq(
	    auth_login_finish(s->cfg.auth, "192.168.1.5", "sam", "carer", true, glue_now_ms, sam1),
	    AUTH_LOGIN_OK);
	cr_assert_eq(
	    auth_login_finish(s->cfg.auth, "192.168.1.6", "sam", "carer", true, glue_now_ms, sam2),
	    AUTH_LOGIN_OK);
	cr_assert_eq(
	    auth_login_finish(s->cfg.auth, "192.168.1.7", "ann", "carer", true, glue_now_ms, ann),
	    AUTH_LOGIN_OK);
	/* sam's phone has the dashboard open; so has ann. */
	static struct lws wphone, wann;
	static struct pss phone, annp;
	glue_wsi_reset(&wphone);
	glue_wsi_reset(&wann);
	memcpy(phone.token, sam2, sizeof(sam2));
	memcpy(annp.token, ann, sizeof(ann));
	phone.is_operator = annp.is_operator = true;
	phone.wsi = &wphone;
	annp.wsi = &wann;
	phone.next = &annp;
	s->clients = &phone;
	char cookie[128];
	snprintf(cookie, sizeof(cookie), "iod_session=%s", sam1);
	post(s, "/api/logout", "192.168.1.5", "http://localhost:8080", cookie,
	     "{\"everywhere\":true}");
	expect(200, "{\"operator\":false,\"ended\":2}");
	cr_assert_not(auth_session_check(s->cfg.auth, sam1, glue_now_ms));
	cr_assert_not(auth_session_check(s->cfg.auth, sam2, glue_now_ms));
	cr_assert(auth_session_check(s->cfg.auth, ann, glue_now_ms), "ann's stays");
	cr_assert(phone.closing && wphone.killed, "sam's phone's dashboard is closed");
	cr_assert_not(annp.closing);
	cr_assert_not(wann.killed);
	s->clients = NULL;
	http_free(&pss);
	glue_server_free(s);
}

/* ---- accounts (issue 14) ---- */

Test(login, decode_user_and_password, .timeout = 5)
{
	char user[AUTH_NAME_MAX + 1], *pw = NULL;
	cr_assert_eq(login_decode("{\"password\":\"x\"}", 16, user, &pw), 0);
	cr_assert_str_eq(user, "admin", "a bare password is admin's");
	cr_assert_str_eq(pw, "x");
	free(pw);
	const char *both = "{\"user\":\"sam\",\"password\":\"p w\"}";
	cr_assert_eq(login_decode(both, strlen(both), user, &pw), 0);
	cr_assert_str_eq(user, "sam");
	cr_assert_str_eq(pw, "p w");
	free(pw);
	static const char *const bad[] = {
	    "{\"user\":\"sam\"}",
	    "{\"user\":7,\"password\":\"x\"}",
	    "{\"user\":\"\",\"password\":\"x\"}",
	    "{\"user\":\"a-name-that-is-longer-than-32-bytes\",\"password\":\"x\"}",
	    "[\"password\"]",
	    "not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pw = (char *)1;
		cr_assert_eq(login_decode(bad[i], strlen(bad[i]), user, &pw), -1, "%s", bad[i]);
		cr_assert_null(pw);
	}
}

/* A users file with sam (carer) in dir; the server's accounts read it. */
static void users_file(struct server *s, char *dir, bool with_admin)
{
	cr_assert_not_null(mkdtemp(dir));
	struct users *set = users_new();
	char hash[USERS_ENCODED_MAX], path[128];
	cr_assert_eq(users_hash("sams-pw", 7, hash), 0);
	cr_assert_eq(users_add(set, "sam", ROLES_CARER, "*", hash), 0);
	if (with_admin) {
		cr_assert_eq(users_hash("file-admin-pw", 13, hash), 0);
		cr_assert_eq(users_add(set, "admin", ROLES_ADMIN, "*", hash), 0);
	}
	snprintf(path, sizeof(path), "%s/users", dir);
	cr_assert_eq(users_save(set, path), 0);
	users_free(set);
	accounts_free(s->cfg.accounts);
	s->cfg.accounts = accounts_new(NULL, dir, "hunter2");
	cr_assert_not_null(s->cfg.accounts);
}

static void users_gone(const char *dir)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/users", dir);
	unlink(path);
	rmdir(dir);
}

Test(login, users_of_the_file_log_in_with_their_role, .timeout = 10)
{
	struct server *s = glue_server_new(false, 10);
	char dir[] = "/tmp/iod-login-XXXXXX";
	users_file(s, dir, false);
	login_as(s, "192.168.1.5", "sam", "sams-pw");
	expect(200, "{\"user\":\"sam\",\"role\":\"carer\",\"operator\":true}");
	cr_assert_str_eq(glue_last_log, "sam (carer) logged in from 192.168.1.5");
	login_as(s, "192.168.1.5", "sam", "hunter2");
	expect(401, "{\"error\":\"bad_password\"}");
	login_as(s, "192.168.1.5", "nobody", "sams-pw");
	expect(401, "{\"error\":\"bad_password\"}");
	/* No admin in the file: IOD_BRIDGE_PASSWORD is admin's. */
	login(s, "192.168.1.5", "hunter2");
	expect(200, "{\"user\":\"admin\",\"role\":\"admin\",\"operator\":true}");
	cr_assert_eq(s->m.logins_ok, 2);
	cr_assert_eq(s->m.logins_bad_password, 2);
	http_free(&pss);
	glue_server_free(s);
	users_gone(dir);
}

Test(login, an_admin_in_the_file_replaces_the_first_run_password, .timeout = 10)
{
	struct server *s = glue_server_new(false, 10);
	char dir[] = "/tmp/iod-login-XXXXXX";
	users_file(s, dir, true);
	login(s, "192.168.1.5", "hunter2");
	expect(401, "{\"error\":\"bad_password\"}");
	login(s, "192.168.1.5", "file-admin-pw");
	expect(200, "{\"user\":\"admin\",\"role\":\"admin\",\"operator\":true}");
	http_free(&pss);
	glue_server_free(s);
	users_gone(dir);
}

Test(login, one_user_guessed_at_from_many_addresses_is_limited, .timeout = 10)
{
	struct server *s = glue_server_new(false, 10);
	char ip[32];
	/* The right password from this address first: it is known (exempt). */
	login(s, "10.0.0.1", "hunter2");
	expect(200, "{\"user\":\"admin\",\"role\":\"admin\",\"operator\":true}");
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "127.0.0.%d", i + 2);
		login(s, ip, "guess");
		expect(401, "{\"error\":\"bad_password\"}");
	}
	/* A sixth address guessing at admin waits; the right password too. */
	login(s, "127.0.0.99", "hunter2");
	expect(429, "{\"error\":\"rate_limited\"}");
	cr_assert(strstr(wsi.headers, "retry-after: 60\n"), "%s", wsi.headers);
	cr_assert_eq(s->m.logins_rate_limited, 1);
	/* Another user from there is not limited, nor admin's known address. */
	login_as(s, "127.0.0.99", "sam", "guess");
	expect(401, "{\"error\":\"bad_password\"}");
	login(s, "10.0.0.1", "hunter2");
	expect(200, "{\"user\":\"admin\",\"role\":\"admin\",\"operator\":true}");
	/* A minute later the count has gone. */
	glue_now_ms += 60000;
	login(s, "127.0.0.99", "hunter2");
	expect(200, "{\"user\":\"admin\",\"role\":\"admin\",\"operator\":true}");
	http_free(&pss);
	glue_server_free(s);
}
