/*
 * Operator sessions survive a bridge restart (issue 13): the real iod-bridge
 * against a real mosquitto, its records store in a temp dir. A login's
 * cookie still opens /api/session as operator after a SIGTERM restart and
 * after a kill -9 once the session was written; after a logout and a
 * restart the cookie is refused. The store holds the token's SHA-256, never
 * the token (the file does not contain it).
 */
#include "harness.h"
#include "wsclient.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASSWORD "correct horse battery staple"
#define WAIT	 10000

static struct {
	struct harness_broker broker;
	pid_t bridge;
	int port;
	char *dir;
	char data[512], db[600];
	char cookie[128], hdr[200];
} F;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void start_bridge(void)
{
	char e_url[128], e_port[64], e_data[600], e_pw[128];
	snprintf(e_url, sizeof(e_url), "IOD_MQTT_URL=%s", F.broker.url);
	snprintf(e_port, sizeof(e_port), "IOD_BRIDGE_PORT=%d", F.port);
	snprintf(e_data, sizeof(e_data), "IOD_DATA_DIR=%s", F.data);
	snprintf(e_pw, sizeof(e_pw), "IOD_BRIDGE_PASSWORD=%s", PASSWORD);
	const char *env[] = {e_url,
			     e_port,
			     e_data,
			     e_pw,
			     "IOD_BRIDGE_PUBLIC_VIEW=0",
			     "IOD_BRIDGE_BIND=127.0.0.1",
			     "IOD_BRIDGE_WEB_DIR=/nonexistent",
			     "IOD_LOG_LEVEL=warn",
			     NULL};
	F.bridge = harness_spawn("iod-bridge", NULL, env);
	cr_assert_gt(F.bridge, 0);
	cr_assert_eq(harness_wait_port(F.port, WAIT), 0, "bridge listens");
}

static void stop_bridge(int sig)
{
	int rc = harness_stop(F.bridge, sig, WAIT);
	F.bridge = 0;
	if (sig == SIGTERM)
		cr_assert_eq(rc, 0, "iod-bridge exits 0 on SIGTERM, got %d", rc);
}

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(harness_broker_start(&F.broker, NULL), 0);
	F.dir = harness_tmpdir("itest-sessions");
	snprintf(F.data, sizeof(F.data), "%s/data", F.dir);
	snprintf(F.db, sizeof(F.db), "%s/records.db", F.data);
	F.port = harness_free_port();
	start_bridge();
}

static void teardown(void)
{
	if (F.bridge > 0)
		harness_stop(F.bridge, SIGKILL, WAIT);
	if (F.broker.pid > 0)
		harness_broker_destroy(&F.broker);
	if (F.dir) {
		harness_rmtree(F.dir);
		free(F.dir);
	}
	memset(&F, 0, sizeof(F));
}

TestSuite(sessions, .init = setup, .fini = teardown, .timeout = 90);

static void login(void)
{
	cr_assert_eq(http_login(F.port, PASSWORD, F.cookie, sizeof(F.cookie)), 200);
	snprintf(F.hdr, sizeof(F.hdr), "Cookie: %s\r\n", F.cookie);
}

/* /api/session's "operator" with the cookie. */
static bool is_operator(void)
{
	struct http_resp r;
	cr_assert_eq(http_get(F.port, "/api/session", F.hdr, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cJSON *j = cJSON_Parse(r.body);
	cr_assert_not_null(j, "%s", r.body);
	cJSON *op = cJSON_GetObjectItem(j, "operator");
	cr_assert(cJSON_IsBool(op), "%s", r.body);
	bool v = cJSON_IsTrue(op);
	cJSON_Delete(j);
	return v;
}

static void logout(void)
{
	struct http_resp r;
	cr_assert_eq(http_post(F.port, "/api/logout", F.hdr, "", &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not(is_operator());
}

/* One integer from the store, read by the sqlite3 shell (WAL: beside the
 * running bridge). */
static long long db_int(const char *sql)
{
	char cmd[1024], out[64] = "";
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\" 2>&1", F.db, sql);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char *got = fgets(out, sizeof(out), p);
	int rc = pclose(p);
	cr_assert(got && rc == 0, "%s: %s", cmd, out);
	return strtoll(out, NULL, 10);
}

/* Until the store holds n sessions (the writer's batch committed). */
static void wait_sessions(long long n)
{
	long long got = -1;
	for (int i = 0; i < 500; i++) { /* 10 s */
		got = db_int("SELECT count(*) FROM session");
		if (got == n)
			return;
		sleep_ms(20);
	}
	cr_assert_fail("the store holds %lld sessions, want %lld", got, n);
}

Test(sessions, a_cookie_survives_a_sigterm_restart_and_a_logout_ends_it)
{
	login();
	cr_assert(is_operator());
	stop_bridge(SIGTERM); /* the queue is written before it exits */
	cr_assert_eq(db_int("SELECT count(*) FROM session"), 1);
	start_bridge();
	cr_assert(is_operator(), "the cookie from before the restart");

	logout();
	stop_bridge(SIGTERM);
	cr_assert_eq(db_int("SELECT count(*) FROM session"), 0);
	start_bridge();
	cr_assert_not(is_operator(), "a logged-out cookie came back after a restart");
	/* A new login works as before. */
	login();
	cr_assert(is_operator());
}

Test(sessions, a_cookie_survives_kill9_once_written_and_a_logout_ends_it)
{
	login();
	cr_assert(is_operator());
	wait_sessions(1);
	stop_bridge(SIGKILL);
	start_bridge();
	cr_assert(is_operator(), "the cookie from before the kill -9");

	logout();
	wait_sessions(0);
	stop_bridge(SIGKILL);
	start_bridge();
	cr_assert_not(is_operator(), "a logged-out cookie came back after a kill -9");
}

Test(sessions, the_store_holds_the_token_hash_not_the_token)
{
	login();
	wait_sessions(1);
	const char *tok = strchr(F.cookie, '=') + 1;
	cr_assert_eq(strlen(tok), 64);
	cr_assert_eq(db_int("SELECT count(*) FROM session WHERE typeof(hash) = 'blob' AND"
			    " length(hash) = 32 AND role = 'admin' AND user = 'admin' AND created "
			    "<= last_used"),
		     1);
	/* The SHA-256 of the cookie's 64 characters, as sha256sum prints it. */
	char cmd[1024], want[65] = "";
	snprintf(cmd, sizeof(cmd), "printf %%s '%s' | sha256sum", tok);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(want, sizeof(want), p));
	pclose(p);
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM session WHERE lower(hex(hash)) = '%s'",
		 want);
	cr_assert_eq(db_int(sql), 1);
	stop_bridge(SIGTERM);
	/* Neither the file nor its WAL holds the token, in hex or as bytes. */
	snprintf(cmd, sizeof(cmd), "cat '%s'* | grep -c -a -i '%s'", F.db, tok);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	char out[32] = "";
	cr_assert_not_null(fgets(out, sizeof(out), p));
	pclose(p);
	cr_assert_eq(atoi(out), 0, "the token is in the store");
}
