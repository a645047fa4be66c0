/* The /ws upgrade policy (protocol.c): Host, Origin, session or public view,
 * room; each refusal with its exact status and counted. Through the glue
 * with lws stubbed (glue_stubs.h). */
#include "glue_stubs.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct lws wsi;

/* A browser's upgrade of /ws on localhost:8080 with the given cookie. */
static void request(const char *host, const char *origin, const char *cookie)
{
	glue_wsi_reset(&wsi);
	wsi.hdr[WSI_TOKEN_GET_URI] = "/ws";
	wsi.hdr[WSI_TOKEN_HOST] = host;
	wsi.hdr[WSI_TOKEN_ORIGIN] = origin;
	wsi.hdr[WSI_TOKEN_HTTP_COOKIE] = cookie;
}

static void session_cookie(struct server *s, char *cookie, size_t size)
{
	char token[AUTH_TOKEN_HEX + 1];
	glue_login(s, "192.168.1.5", token);
	snprintf(cookie, size, "theme=dark; iod_session=%s", token);
}

Test(upgrade, operator_session_is_accepted_with_its_role, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	char cookie[128];
	session_cookie(s, cookie, sizeof(cookie));
	request("localhost:8080", "http://localhost:8080", cookie);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 0);
	cr_assert_eq(wsi.status, 0, "no status sent for an accepted upgrade");
	cr_assert_eq(s->m.clients_refused, 0);
	struct pss c = {0};
	cr_assert_eq(ws_filter(s, &wsi, &c), 0);
	cr_assert(c.is_operator);
	cr_assert_str_eq(c.token, strstr(cookie, "iod_session=") + strlen("iod_session="));
	glue_server_free(s);
}

Test(upgrade, refusals_in_order_with_their_status, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	char cookie[128];
	session_cookie(s, cookie, sizeof(cookie));

	/* Not a websocket upgrade: lws is told to drop it. */
	request("localhost:8080", NULL, cookie);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "h2c"), -1);

	/* Another path. */
	request("localhost:8080", NULL, cookie);
	wsi.hdr[WSI_TOKEN_GET_URI] = "/api/ws";
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 404);
	cr_assert_eq(s->m.clients_refused, 1);

	/* DNS rebinding: a name not ours, even with a session and a matching
	 * Origin; 421 with the body that says why. */
	request("rebind.example:8080", "http://rebind.example:8080", cookie);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 421);
	cr_assert_str_eq(wsi.returned, http_host_refused);
	cr_assert(strstr(wsi.returned, "IOD_BRIDGE_HOSTS"));
	cr_assert_eq(s->m.hosts_refused, 1);
	cr_assert_eq(s->m.clients_refused, 2);

	/* A page elsewhere (cross-site websocket hijacking). */
	request("dogpi.local:8080", "http://evil.example", cookie);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 403);
	cr_assert_eq(s->m.clients_refused, 3);
	cr_assert_eq(s->m.hosts_refused, 1, "a bad Origin is not a bad Host");

	/* No session, public view off; a cookie that is not a session. */
	request("192.168.1.20:8080", "http://192.168.1.20:8080", NULL);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 401);
	request("192.168.1.20:8080", NULL,
		"iod_session=00000000000000000000000000000000000000000000000000000000000000ff");
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 401);
	cr_assert_eq(s->m.clients_refused, 5);

	/* Full: 503, after every other check passed. */
	s->m.clients = 10;
	request("[::1]:8080", "http://[::1]:8080", cookie);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 503);
	cr_assert_eq(s->m.clients_refused, 6);
	cr_assert_str_eq(glue_last_log, "websocket refused: 10 clients already");
	glue_server_free(s);
}

Test(upgrade, an_expired_session_is_refused, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	char cookie[128];
	session_cookie(s, cookie, sizeof(cookie));
	glue_now_ms += 7 * 24 * 3600 * 1000LL + 1; /* IOD_BRIDGE_SESSION_IDLE's default */
	request("localhost", NULL, cookie);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 401);
	glue_server_free(s);
}

Test(upgrade, public_view_lets_a_viewer_in_read_only, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	/* A non-browser client: no Origin, no Host, no cookie. */
	request(NULL, NULL, NULL);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 0);
	struct pss c = {0};
	cr_assert_eq(ws_filter(s, &wsi, &c), 0);
	cr_assert_not(c.is_operator);
	cr_assert_str_eq(c.token, "");
	/* Public view does not open the Host check nor the Origin check. */
	request("rebind.example", NULL, NULL);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 421);
	request("localhost:8080", "null", NULL);
	cr_assert_eq(ws_confirm_upgrade(s, &wsi, "websocket"), 1);
	cr_assert_eq(wsi.status, 403);
	glue_server_free(s);
}

Test(upgrade, filter_refuses_without_a_session_when_public_view_is_off, .timeout = 5)
{
	struct server *s = glue_server_new(false, 10);
	request("localhost", NULL, NULL);
	struct pss c = {0};
	cr_assert_eq(ws_filter(s, &wsi, &c), 1);
	cr_assert_not(c.is_operator);
	glue_server_free(s);
}
