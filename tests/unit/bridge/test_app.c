/* The bridge on the service skeleton (app.c): the open-files arithmetic,
 * which web directory, the settings' rules and exit codes, create on the
 * stubs (subscription, backend, discovery), the MQTT up/down callbacks as
 * the dashboards see them, and the stop path's order. */
#include "app.h"
#include "app_stubs.h"
#include "bindaddr.h"
#include "glue_stubs.h"
#include "mqttc.h"
#include "sites.h"
#include "state.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uv_loop_t loop;

static void setup(void)
{
	cr_assert_eq(uv_loop_init(&loop), 0);
	app_stub_reset(&loop);
	glue_mqtt_connected = true;
	glue_now_ms = 1795660181000;
}

static void setup_stderr(void)
{
	setup();
	cr_redirect_stderr();
}

static void teardown(void)
{
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0, "every handle closed");
}

Test(app, nofile_raised_as_far_as_the_clients_need, .timeout = 5)
{
	/* 10,000 clients need 10,064 descriptors: raised to that, or to the
	 * hard limit when it is lower; a soft limit already enough (or
	 * unlimited) is left alone. */
	cr_assert_eq(bridge_nofile_wanted(10000, 1024, 524288), 10064);
	cr_assert_eq(bridge_nofile_wanted(10000, 1024, RLIM_INFINITY), 10064);
	cr_assert_eq(bridge_nofile_wanted(10000, 1024, 4096), 4096);
	cr_assert_eq(bridge_nofile_wanted(10000, 1024, 1024), 1024);
	cr_assert_eq(bridge_nofile_wanted(10000, 10064, 524288), 10064);
	cr_assert_eq(bridge_nofile_wanted(10000, 20000, 524288), 20000);
	cr_assert_eq(bridge_nofile_wanted(10000, RLIM_INFINITY, RLIM_INFINITY), RLIM_INFINITY);
}

Test(app, nofile_clients_leave_the_reserve, .timeout = 5)
{
	unsigned fd_limit = 0;
	cr_assert_eq(bridge_nofile_clients(10000, 10064, &fd_limit), 10000);
	cr_assert_eq(fd_limit, 10064);
	/* A bigger limit: lws' table is sized for what is wanted only. */
	cr_assert_eq(bridge_nofile_clients(10000, 20000, &fd_limit), 10000);
	cr_assert_eq(fd_limit, 10064);
	cr_assert_eq(bridge_nofile_clients(10000, RLIM_INFINITY, &fd_limit), 10000);
	cr_assert_eq(fd_limit, 10064, "lws fails on unlimited: it gets a number");
	cr_assert_eq(bridge_nofile_clients(10000, 4096, &fd_limit), 4032);
	cr_assert_eq(fd_limit, 4096);
	/* Hardly any descriptors: still one client, never an underflow. */
	cr_assert_eq(bridge_nofile_clients(10000, 64, &fd_limit), 1);
	cr_assert_eq(bridge_nofile_clients(10000, 10, &fd_limit), 1);
	cr_assert_eq(fd_limit, 10);
}

Test(app, raise_nofile_sets_this_process_limit, .timeout = 5)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 1064, "hard limit %llu",
		  (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 256; /* lowering is always allowed (this test's own process) */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	unsigned fd_limit = 0;
	cr_assert_eq(bridge_raise_nofile(1000, &fd_limit), 1000);
	cr_assert_eq(fd_limit, 1064);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(rl.rlim_cur, 1064);
	cr_assert_str_eq(glue_last_log, "open-files limit 1064: up to 1000 websocket clients");
	/* Held at a hard limit below the need: fewer clients, said so. */
	rl.rlim_cur = 200;
	rl.rlim_max = 300;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(bridge_raise_nofile(1000, &fd_limit), 236);
	cr_assert_eq(fd_limit, 300);
	cr_assert_str_eq(
	    glue_last_log,
	    "open-files limit 300: up to 236 websocket clients (raise ulimit -n for more)");
}

Test(app, web_dir_set_or_first_with_an_index, .timeout = 5)
{
	char root[] = "/tmp/test-bridge-app-XXXXXX";
	cr_assert_not_null(mkdtemp(root));
	char empty[64], full[64], index[80];
	snprintf(empty, sizeof(empty), "%s/empty", root);
	snprintf(full, sizeof(full), "%s/full", root);
	snprintf(index, sizeof(index), "%s/index.html", full);
	cr_assert_eq(mkdir(empty, 0755), 0);
	cr_assert_eq(mkdir(full, 0755), 0);
	FILE *f = fopen(index, "w");
	cr_assert_not_null(f);
	fclose(f);
	const char *const candidates[] = {"/nonexistent-iod-web", empty, full};
	cr_assert_eq(bridge_pick_web_dir(NULL, candidates, 3), candidates[2]);
	cr_assert_null(bridge_pick_web_dir(NULL, candidates, 2), "no index.html anywhere");
	/* A set IOD_BRIDGE_WEB_DIR is taken as it is (server.c checks it). */
	cr_assert_str_eq(bridge_pick_web_dir("/elsewhere", candidates, 3), "/elsewhere");
	cr_assert_eq(bridge_n_web_dirs, 3);
	cr_assert_str_eq(bridge_web_dirs[1], "./web");
	unlink(index);
	rmdir(full);
	rmdir(empty);
	rmdir(root);
}

Test(app, password_and_hosts_rules, .timeout = 5)
{
	char pw[AUTH_PASSWORD_MAX + 2], why[128] = "";
	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	cr_assert_not(bridge_password_check(pw, why, sizeof(why)));
	cr_assert_str_eq(why, "longer than 256 bytes", "names no value: %s", why);
	pw[AUTH_PASSWORD_MAX] = '\0';
	cr_assert(bridge_password_check(pw, why, sizeof(why)));
	cr_assert(bridge_hosts_check("dogpi,dogpi.local", why, sizeof(why)));
	cr_assert(bridge_hosts_check("*", why, sizeof(why)));
	cr_assert_not(bridge_hosts_check("dog pi", why, sizeof(why)));
	cr_assert_str_eq(why, "'dog pi' must be a comma list of host names (letters, digits, '-', "
			      "'.', '_') or *");
}

Test(app, tls_pair_goes_together, .timeout = 5, .init = setup_stderr)
{
	cr_assert_eq(bridge_tls_check(NULL, NULL), 0);
	cr_assert_eq(bridge_tls_check("cert.pem", "key.pem"), 0);
	cr_assert_eq(bridge_tls_check("cert.pem", NULL), 2);
	cr_assert_eq(bridge_tls_check(NULL, "key.pem"), 2);
	fflush(stderr);
	cr_assert_stderr_eq_str(
	    "iod-bridge: IOD_BRIDGE_TLS_CERT and IOD_BRIDGE_TLS_KEY go together\n"
	    "iod-bridge: IOD_BRIDGE_TLS_CERT and IOD_BRIDGE_TLS_KEY go together\n");
}

Test(app, bind_malformed_is_2_unavailable_is_1, .timeout = 5, .init = setup_stderr)
{
	struct bindaddr a;
	cr_assert_eq(bridge_bind_resolve("127.0.0.1", &a), 0);
	cr_assert_str_eq(a.address, "127.0.0.1");
	cr_assert_eq(bridge_bind_resolve("nosuchif9", &a), 1, "an interface that may come: 1");
	cr_assert(strstr(glue_last_log, "IOD_BRIDGE_BIND: "), "%s", glue_last_log);
	cr_assert_eq(bridge_bind_resolve("300.1.2.3:80", &a), 2);
	fflush(stderr);
	char buf[256] = "";
	FILE *err = cr_get_redirected_stderr();
	cr_assert_not_null(fgets(buf, sizeof(buf), err));
	cr_assert(!strncmp(buf, "iod-bridge: IOD_BRIDGE_BIND: ", 29), "%s", buf);
}

Test(app, create_subscribes_the_site_and_serves, .timeout = 5, .init = setup, .fini = teardown)
{
	int rc = -1;
	struct bridge_app *b = bridge_create(app_svc, &rc);
	cr_assert_not_null(b);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(app_subscribed, "iod/home/#");
	cr_assert_eq(app_subscribed_qos, 1);
	cr_assert_eq(app_subscribes, 1, "homeassistant/status is the skeleton's");
	cr_assert_str_eq(bridge_backend(b), "http");
	cr_assert_not_null(b->server->cfg.mqtt, "commands go to the skeleton's client");
	cr_assert_eq(b->server->cfg.max_topics, STATE_TOPICS_DEFAULT);
	cr_assert_eq(b->server->cfg.max_clients, 100);
	app_stub_mqtt_gone = false;
	bridge_stop(b);
	uv_run(&loop, UV_RUN_DEFAULT);
	bridge_destroy(b);

	app_stub_set("IOD_BRIDGE_TLS_CERT", "cert.pem");
	app_stub_set("IOD_BRIDGE_TLS_KEY", "key.pem");
	b = bridge_create(app_svc, &rc);
	cr_assert_not_null(b);
	cr_assert_str_eq(bridge_backend(b), "https");
	cr_assert(b->server->tls);
	glue_mqtt_connected = false;
	bridge_stop(b);
	bridge_destroy(b);
}

Test(app, create_refuses_with_the_exit_code, .timeout = 5, .init = setup_stderr, .fini = teardown)
{
	int rc = 0;
	app_stub_set("IOD_BRIDGE_TLS_CERT", "cert.pem");
	cr_assert_null(bridge_create(app_svc, &rc));
	cr_assert_eq(rc, 2, "a bad setting");
	app_stub_set("IOD_BRIDGE_TLS_CERT", NULL);
	app_stub_set("IOD_BRIDGE_BIND", "not an address");
	cr_assert_null(bridge_create(app_svc, &rc));
	cr_assert_eq(rc, 2);
	app_stub_set("IOD_BRIDGE_BIND", "nosuchif9");
	cr_assert_null(bridge_create(app_svc, &rc));
	cr_assert_eq(rc, 1, "may come right: systemd retries");
	app_stub_set("IOD_BRIDGE_BIND", "127.0.0.1");
	app_subscribe_rc = -1;
	cr_assert_null(bridge_create(app_svc, &rc));
	cr_assert_eq(rc, 1);
	cr_assert_eq(app_lws_destroys, 0, "no server was made");
}

Test(app, discovery_is_one_entity_without_availability, .timeout = 5, .init = setup,
     .fini = teardown)
{
	int rc;
	struct bridge_app *b = bridge_create(app_svc, &rc);
	cr_assert_not_null(b);
	bridge_publish_discovery(b);
	cr_assert_str_eq(app_entity_id, "binary_sensor/bridge");
	cr_assert_str_eq(app_entity, "{\"name\":\"Dashboard\",\"state_topic\":\"iod/home/bridge/"
				     "availability\",\"payload_on\":\"online\",\"payload_off\":"
				     "\"offline\",\"device_class\":\"connectivity\","
				     "\"entity_category\":\"diagnostic\"}");
	glue_mqtt_connected = false;
	bridge_stop(b);
	bridge_destroy(b);
}

Test(app, broker_up_and_down_reach_every_dashboard, .timeout = 5)
{
	struct server *s = glue_server_new(true, 10);
	struct bridge_app app = {.server = s};
	static struct lws wsi;
	static struct pss c;
	glue_wsi_reset(&wsi);
	c.site = sites_find(s->cfg.sites, "home"); /* what ws_filter picks */
	cr_assert_eq(ws_established(s, &wsi, &c), 0);
	char *text;
	while ((text = glue_pop_text(&c)))
		free(text); /* the greeting */
	bridge_on_disconnected(&app);
	cr_assert_not(s->broker_up);
	text = glue_pop_text(&c);
	cr_assert_str_eq(text, "{\"type\":\"broker\",\"connected\":false,\"ts\":1795660181000}");
	free(text);
	bridge_on_disconnected(&app);
	cr_assert_null(glue_pop_text(&c), "told once per change");
	glue_now_ms += 1500;
	bridge_on_connected(&app);
	cr_assert(s->broker_up);
	text = glue_pop_text(&c);
	cr_assert_str_eq(text, "{\"type\":\"broker\",\"connected\":true,\"ts\":1795660182500}");
	free(text);
	/* A message goes to the dashboards as a topic frame. */
	struct mqttc_message msg = {.topic = "iod/home/feeder/availability",
				    .payload = "online",
				    .len = 6,
				    .received_ms = 42};
	bridge_on_message(&app, &msg);
	text = glue_pop_text(&c);
	cr_assert_str_eq(
	    text, "{\"topic\":\"iod/home/feeder/availability\",\"payload\":\"online\",\"ts\":42}");
	free(text);
	ws_closed(s, &c);
	cqueue_free(&c.q);
	glue_server_free(s);
}

/* Producers first: with the broker connected the lws context stays up
 * while the skeleton's mqttc_stop (after def->stop) says `offline`, and
 * closes on the loop's next turn; the server has let go of the client the
 * skeleton frees. */
Test(app, stop_closes_the_server_after_mqtt, .timeout = 5, .init = setup, .fini = teardown)
{
	int rc;
	struct bridge_app *b = bridge_create(app_svc, &rc);
	cr_assert_not_null(b);
	bridge_stop(b);
	cr_assert_null(b->server->cfg.mqtt);
	cr_assert_not(b->server->stopping, "not before MQTT has stopped");
	cr_assert_eq(app_lws_destroys, 0);
	app_stub_mqtt_gone = true; /* the skeleton's mqttc_stop + mqttc_free */
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert(b->server->stopping);
	cr_assert_eq(app_lws_destroys, 1, "the first step, on the next turn");
	bridge_destroy(b);
	cr_assert_eq(app_lws_destroys, 2, "the second after the loop ran dry");
}

Test(app, stop_without_a_connection_closes_at_once, .timeout = 5, .init = setup, .fini = teardown)
{
	int rc;
	struct bridge_app *b = bridge_create(app_svc, &rc);
	cr_assert_not_null(b);
	glue_mqtt_connected = false;
	bridge_stop(b);
	cr_assert(b->server->stopping, "no `offline` to wait for");
	cr_assert_eq(app_lws_destroys, 1);
	cr_assert_not(uv_loop_alive(&loop), "nothing left on the loop");
	bridge_destroy(b);
	cr_assert_eq(app_lws_destroys, 2);
}
