/*
 * mqttc without a broker: argument checks, URL schemes, the password kept
 * out of the log, and a client freed without ever connecting. The broker
 * side is in tests/integration/common.
 */
#include "capture.h"
#include "cfg.h"
#include "log.h"
#include "mqttc.h"

#include <criterion/criterion.h>

static struct cfg *cfg_with(const char *url, const char *password)
{
	char url_arg[256];
	char *argv[3] = {"iod-test", url_arg, NULL};
	int code = -1;
	struct cfg *cfg;

	snprintf(url_arg, sizeof(url_arg), "--mqtt-url=%s", url);
	/* A password is never a flag: the environment, as a service gets it. */
	if (password)
		setenv("IOD_MQTT_PASSWORD", password, 1);
	else
		unsetenv("IOD_MQTT_PASSWORD");
	cfg = cfg_load("test", "iod-test", NULL, 0, 2, argv, &code);
	cr_assert_not_null(cfg);
	return cfg;
}

/* As a service builds its client: the settings from cfg. */
static struct mqttc *new_from_cfg(uv_loop_t *loop, const struct cfg *cfg,
				  const struct mqttc_options *mo)
{
	struct mqttc_settings ms = mqttc_settings_from_cfg(cfg);
	return mqttc_new(loop, &ms, mo);
}

static void run_until_closed(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(loop), 0, "a handle was left open");
}

Test(mqttc_unit, schemes, .timeout = 20)
{
#if IOD_MQTT_TLS
	const char *good[] = {"tcp://127.0.0.1:1",   "mqtt://127.0.0.1:1", "ssl://127.0.0.1:1",
			      "mqtts://127.0.0.1:1", "ws://127.0.0.1:1",   "wss://127.0.0.1:1"};
#else
	const char *good[] = {"tcp://127.0.0.1:1", "mqtt://127.0.0.1:1", "ws://127.0.0.1:1"};
#endif
	const char *bad[] = {"http://127.0.0.1:1", "127.0.0.1:1883", "tcp:/x", ""};
	struct mqttc_options mo = {.client_id = "iod-test-home"};
	uv_loop_t loop;

	log_init("test", LOG_LEVEL_ERROR);
	cr_assert_eq(uv_loop_init(&loop), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cfg *cfg = cfg_with(good[i], NULL);
		struct mqttc *m = new_from_cfg(&loop, cfg, &mo);
		cr_assert_not_null(m, "%s refused", good[i]);
		cr_assert_not(mqttc_is_connected(m));
		mqttc_free(m);
		cfg_free(cfg);
	}
	/* cfg refuses these first; mqttc_new checks again for callers that
	 * build their cfg otherwise. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char arg[128];
		char *argv[] = {"iod-test", arg, NULL};
		int code = -1;
		snprintf(arg, sizeof(arg), "--mqtt-url=%s", bad[i]);
		cr_assert_null(cfg_load("test", "iod-test", NULL, 0, 2, argv, &code), "%s", bad[i]);
		cr_assert_eq(code, 2);
	}
	run_until_closed(&loop);
}

/* The settings come from the caller; no cfg is needed. */
Test(mqttc_unit, settings_without_cfg, .timeout = 20)
{
	struct mqttc_options mo = {.client_id = "iod-test-home"};
	struct mqttc_settings ms = {.url = "tcp://127.0.0.1:1", .user = "u", .password = "p"};
	struct mqttc *m;
	uv_loop_t loop;

	log_init("test", LOG_LEVEL_ERROR);
	cr_assert_eq(uv_loop_init(&loop), 0);
	m = mqttc_new(&loop, &ms, &mo);
	cr_assert_not_null(m);
	mqttc_free(m);
	ms.url = NULL;
	cr_assert_null(mqttc_new(&loop, &ms, &mo), "no URL");
	ms.url = "http://127.0.0.1:1";
	cr_assert_null(mqttc_new(&loop, &ms, &mo), "not a broker URL");
	cr_assert_null(mqttc_new(&loop, NULL, &mo), "no settings");
	run_until_closed(&loop);
}

Test(mqttc_unit, argument_checks, .timeout = 20)
{
	struct mqttc_options mo = {0};
	struct cfg *cfg = cfg_with("tcp://127.0.0.1:1", NULL);
	struct mqttc_stats st;
	struct mqttc *m;
	uv_loop_t loop;

	log_init("test", LOG_LEVEL_ERROR);
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_null(new_from_cfg(&loop, cfg, &mo), "no client id");
	mo.client_id = "";
	cr_assert_null(new_from_cfg(&loop, cfg, &mo), "empty client id");
	mo.client_id = "iod-test-home";
	mo.session_expiry_s = -1;
	cr_assert_null(new_from_cfg(&loop, cfg, &mo), "negative session expiry");
	mo.session_expiry_s = 0;
	m = new_from_cfg(&loop, cfg, &mo);
	cr_assert_not_null(m);
	cr_assert_eq(mqttc_subscribe(m, NULL, 1, false), -1);
	cr_assert_eq(mqttc_subscribe(m, "", 1, false), -1);
	cr_assert_eq(mqttc_subscribe(m, "a/#", 3, false), -1);
	cr_assert_eq(mqttc_subscribe(m, "a/#", -1, false), -1);
	cr_assert_eq(mqttc_subscribe(m, "a/#", 1, true), 0);
	cr_assert_eq(mqttc_publish(m, NULL, "x", 1, 1, false), -1);
	cr_assert_eq(mqttc_publish(m, "", "x", 1, 1, false), -1);
	cr_assert_eq(mqttc_publish(m, "a", "x", 1, 3, false), -1);
	cr_assert_eq(mqttc_publish(m, "a", NULL, 1, 1, false), -1);
	cr_assert_eq(mqttc_publish_str(m, "a", NULL, 1, false), -1);
	mqttc_get_stats(m, &st);
	cr_assert_eq(st.connects, 0);
	cr_assert_eq(st.messages_in, 0);
	mqttc_free(m);
	cfg_free(cfg);
	run_until_closed(&loop);
}

Test(mqttc_unit, stop_and_free_without_a_broker, .timeout = 20)
{
	struct mqttc_options mo = {.client_id = "iod-test-home",
				   .availability_topic = "iod/home/test/availability"};
	struct cfg *cfg = cfg_with("tcp://127.0.0.1:1", NULL);
	struct mqttc *m;
	uv_loop_t loop;

	log_init("test", LOG_LEVEL_ERROR);
	cr_assert_eq(uv_loop_init(&loop), 0);
	m = new_from_cfg(&loop, cfg, &mo);
	cr_assert_not_null(m);
	cr_assert_eq(mqttc_start(m), 0);
	cr_assert_eq(mqttc_start(m), -1, "started twice");
	/* Taken while disconnected: Paho buffers it for the first connect. */
	cr_assert_eq(mqttc_publish_str(m, "iod/home/test/info", "{}", 1, true), 0);
	mqttc_stop(m, 500);
	cr_assert_eq(mqttc_publish_str(m, "iod/home/test/info", "{}", 1, true), -1,
		     "a stopped client took a publish");
	mqttc_free(m);
	cfg_free(cfg);
	run_until_closed(&loop);
}

Test(mqttc_unit, password_never_logged, .timeout = 20)
{
	struct mqttc_options mo = {.client_id = "iod-test-home"};
	struct cfg *cfg = cfg_with("tcp://someone:url-secret@127.0.0.1:1", "cfg-secret");
	struct capture cap;
	struct mqttc *m;
	uv_loop_t loop;
	char *out;

	log_init("test", LOG_LEVEL_DEBUG);
	cr_assert_eq(uv_loop_init(&loop), 0);
	capture_start(&cap, 2);
	m = new_from_cfg(&loop, cfg, &mo);
	if (m) {
		mqttc_start(m);
		mqttc_stop(m, 200);
		mqttc_free(m);
	}
	run_until_closed(&loop);
	out = capture_end(&cap);
	cr_assert_not_null(strstr(out, "tcp://127.0.0.1:1"), "the log names the broker: %s", out);
	cr_assert_null(strstr(out, "url-secret"), "%s", out);
	cr_assert_null(strstr(out, "cfg-secret"), "%s", out);
	free(out);
	cfg_free(cfg);
}
