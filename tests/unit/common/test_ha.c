/*
 * ha: the discovery topic, the entity ids, and the common part of every
 * entity's config (device, origin, availability, command buttons), and
 * ha_publish_entity's refusals (its wire is test_service_wire.c).
 */
#include "ha.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "cfg.h"
#include "log.h"
#include "mqttc.h"

static const struct ha_device home_sensors = {"home", "sensors", "http://dog.local:8080/"};

Test(ha, config_topic, .timeout = 10)
{
	char buf[128];

	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "sensor", "home", "sensors", "temperature"),
		     0);
	cr_assert_str_eq(buf, "homeassistant/sensor/iod_home_sensors/temperature/config");
	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "button", "foster-2", "feeder", "feed"), 0);
	cr_assert_str_eq(buf, "homeassistant/button/iod_foster-2_feeder/feed/config");
}

Test(ha, config_topic_exact_fit_and_too_small, .timeout = 10)
{
	const char *want = "homeassistant/button/iod_home_feeder/feed/config";
	char buf[64];

	cr_assert_eq(ha_config_topic(buf, strlen(want) + 1, "button", "home", "feeder", "feed"), 0);
	cr_assert_str_eq(buf, want);
	cr_assert_eq(ha_config_topic(buf, strlen(want), "button", "home", "feeder", "feed"), -1);
	cr_assert_str_eq(buf, "", "a refused topic leaves an empty string");
}

Test(ha, config_topic_refuses_bad_ids, .timeout = 10)
{
	char buf[256];

	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "sensor", "home", "sensors", "a/b"), -1);
	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "sensor", "ho+me", "sensors", "t"), -1);
	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "sensor", "home", "sen#", "t"), -1);
	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "", "home", "sensors", "t"), -1);
	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "sensor", "home", "sensors", ""), -1);
	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "sensor", NULL, "sensors", "t"), -1);
	cr_assert_eq(ha_config_topic(buf, sizeof(buf), "sensor", "home", "sensors", "a b"), -1);
	cr_assert_eq(ha_config_topic(NULL, 0, "sensor", "home", "sensors", "t"), -1);
}

/* Site-qualified, and a valid HA entity id (lower case [a-z0-9_], no "__",
 * no '_' at either end of a part) for any valid site. */
Test(ha, default_entity_id_is_site_qualified_and_valid, .timeout = 10)
{
	char buf[256];

	cr_assert_eq(ha_default_entity_id(buf, sizeof(buf), "button", "home", "feeder", "feed"), 0);
	cr_assert_str_eq(buf, "button.iod_home_feeder_feed");
	cr_assert_eq(
	    ha_default_entity_id(buf, sizeof(buf), "binary_sensor", "home", "camera", "motion"), 0);
	cr_assert_str_eq(buf, "binary_sensor.iod_home_camera_motion");
	cr_assert_eq(
	    ha_default_entity_id(buf, sizeof(buf), "binary_sensor", "home", "sensors", "motion"),
	    0);
	cr_assert_str_eq(buf, "binary_sensor.iod_home_sensors_motion",
			 "sensors and camera motion no longer collide");
	cr_assert_eq(
	    ha_default_entity_id(buf, sizeof(buf), "sensor", "Foster-2", "feeder", "doses_today"),
	    0);
	cr_assert_str_eq(buf, "sensor.iod_foster_2_feeder_doses_today");
	cr_assert_eq(ha_default_entity_id(buf, sizeof(buf), "sensor", "_a__b-", "feeder", "x_"), 0);
	cr_assert_str_eq(buf, "sensor.iod_a_b_feeder_x");
	cr_assert_eq(ha_default_entity_id(buf, 8, "sensor", "home", "feeder", "x"), -1);
	cr_assert_eq(ha_default_entity_id(buf, sizeof(buf), "sensor", "ho/me", "feeder", "x"), -1);
}

static const char *str_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	cr_assert(cJSON_IsString(v), "'%s' is not a string", key);
	return v->valuestring;
}

Test(ha, entity_json, .timeout = 10)
{
	cJSON *e = ha_entity_new(&home_sensors, "sensor", "temperature", "Temperature");
	const cJSON *dev, *ids, *origin;

	cr_assert_not_null(e);
	cr_assert_str_eq(str_member(e, "name"), "Temperature");
	cr_assert_str_eq(str_member(e, "unique_id"), "iod_home_sensors_temperature");
	cr_assert_str_eq(str_member(e, "default_entity_id"), "sensor.iod_home_sensors_temperature");
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(e, "object_id"),
		       "object_id is deprecated (HA stops reading it in 2026.4)");
	cr_assert_str_eq(str_member(e, "availability_topic"), "iod/home/sensors/availability");
	cr_assert_str_eq(str_member(e, "payload_available"), "online");
	cr_assert_str_eq(str_member(e, "payload_not_available"), "offline");
	dev = cJSON_GetObjectItemCaseSensitive(e, "device");
	cr_assert(cJSON_IsObject(dev));
	ids = cJSON_GetObjectItemCaseSensitive(dev, "identifiers");
	cr_assert(cJSON_IsArray(ids));
	cr_assert_eq(cJSON_GetArraySize(ids), 1);
	cr_assert(cJSON_IsString(cJSON_GetArrayItem(ids, 0)));
	cr_assert_str_eq(cJSON_GetArrayItem(ids, 0)->valuestring, "iod_home_sensors");
	cr_assert_str_eq(str_member(dev, "name"), "iod sensors (home)");
	cr_assert_str_eq(str_member(dev, "manufacturer"), "iod");
	cr_assert_str_eq(str_member(dev, "model"), "iod-sensors");
	cr_assert_str_eq(str_member(dev, "sw_version"), IOD_VERSION);
	cr_assert_str_eq(str_member(dev, "configuration_url"), "http://dog.local:8080/");
	origin = cJSON_GetObjectItemCaseSensitive(e, "origin");
	cr_assert(cJSON_IsObject(origin));
	cr_assert_str_eq(str_member(origin, "name"), "iod");
	cr_assert_str_eq(str_member(origin, "sw_version"), IOD_VERSION);
	cr_assert_str_eq(str_member(origin, "support_url"), "http://dog.local:8080/");
	cr_assert_eq(cJSON_GetArraySize(e), 8, "only the common members");
	cJSON_Delete(e);
}

Test(ha, entity_without_dashboard_has_no_links, .timeout = 10)
{
	const struct ha_device d = {"home", "camera", NULL};
	cJSON *e = ha_entity_new(&d, "camera", "frame", "Camera");

	cr_assert_not_null(e);
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(e, "device"), "configuration_url"));
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(e, "origin"), "support_url"));
	cJSON_Delete(e);
}

Test(ha, entity_serialises_and_accepts_more_members, .timeout = 10)
{
	const struct ha_device d = {"barn", "feeder", NULL};
	cJSON *e = ha_entity_new(&d, "button", "feed", "Feed \"now\"");
	char *text;

	cr_assert_not_null(e);
	cr_assert_not_null(cJSON_AddStringToObject(e, "command_topic", "iod/barn/feeder/cmd"));
	text = cJSON_PrintUnformatted(e);
	cr_assert_not_null(text);
	cr_assert_not_null(strstr(text, "\"name\":\"Feed \\\"now\\\"\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"command_topic\":\"iod/barn/feeder/cmd\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"identifiers\":[\"iod_barn_feeder\"]"), "%s", text);
	free(text);
	cJSON_Delete(e);
}

Test(ha, entity_refuses_bad_ids, .timeout = 10)
{
	const struct ha_device bad_site = {"ho/me", "sensors", NULL};
	const struct ha_device empty_service = {"home", "", NULL};

	cr_assert_null(ha_entity_new(&bad_site, "sensor", "t", "T"));
	cr_assert_null(ha_entity_new(&home_sensors, "sensor", "a+b", "T"));
	cr_assert_null(ha_entity_new(&empty_service, "sensor", "t", "T"));
	cr_assert_null(ha_entity_new(&home_sensors, "sensor", "t", NULL));
	cr_assert_null(ha_entity_new(&home_sensors, "sen/sor", "t", "T"));
	cr_assert_null(ha_entity_new(NULL, "sensor", "t", "T"));
}

/* Buttons send commands at QoS 1, never retained, through a template that
 * gives each press its own id and time. */
Test(ha, command_button, .timeout = 10)
{
	const struct ha_device d = {"home", "feeder", NULL};
	cJSON *e = ha_entity_new(&d, "button", "feed", "Feed");
	const cJSON *qos, *retain;

	cr_assert_not_null(e);
	cr_assert_eq(ha_entity_set_command(e, "iod/home/feeder/cmd", "feed"), 0);
	cr_assert_str_eq(str_member(e, "command_topic"), "iod/home/feeder/cmd");
	cr_assert_str_eq(str_member(e, "payload_press"), "feed");
	cr_assert_str_eq(str_member(e, "command_template"), ha_command_template());
	qos = cJSON_GetObjectItemCaseSensitive(e, "qos");
	cr_assert(cJSON_IsNumber(qos) && qos->valueint == 1);
	retain = cJSON_GetObjectItemCaseSensitive(e, "retain");
	cr_assert(cJSON_IsFalse(retain));
	cr_assert_eq(ha_entity_set_command(e, "t", "a b"), -1);
	cJSON_Delete(e);

	const char *tpl = ha_command_template();
	cr_assert_not_null(strstr(tpl, "\"action\":\"{{ value }}\""), "%s", tpl);
	cr_assert_not_null(strstr(tpl, "\"id\":\"ha-{{ value }}-{{ (now().timestamp() * 1000000)"),
			   "%s", tpl);
	cr_assert_not_null(strstr(tpl, "\"ts\":{{ (now().timestamp() * 1000) | int }}"), "%s", tpl);
	cr_assert_not_null(strstr(tpl, "\"by\":\"homeassistant\""), "%s", tpl);
}

Test(ha, no_availability, .timeout = 10)
{
	const struct ha_device d = {"home", "bridge", NULL};
	cJSON *e = ha_entity_new(&d, "binary_sensor", "bridge", "Dashboard");

	cr_assert_not_null(e);
	ha_entity_no_availability(e);
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(e, "availability_topic"));
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(e, "payload_available"));
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(e, "payload_not_available"));
	cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(e, "device"));
	cJSON_Delete(e);
}

Test(ha, birth_message, .timeout = 10)
{
	cr_assert(ha_is_birth("homeassistant/status", "online", 6));
	cr_assert_not(ha_is_birth("homeassistant/status", "offline", 7));
	cr_assert_not(ha_is_birth("homeassistant/status", "online\n", 7));
	cr_assert_not(ha_is_birth("iod/home/feeder/cmd", "online", 6));
	cr_assert_not(ha_is_birth(NULL, "online", 6));
}

static struct cfg *load(const char *arg)
{
	char *argv[] = {"iod-camera", (char *)arg, NULL};
	int code = 0;
	unsetenv("IOD_DASHBOARD_URL");
	return cfg_load("camera", "iod-camera", NULL, 0, arg ? 2 : 1, argv, &code);
}

Test(ha, dashboard_url_setting, .timeout = 10)
{
	char buf[512], host[256], want[600];
	struct cfg *cfg;

	cfg = load("--dashboard-url=https://dog.example:8443/");
	cr_assert_not_null(cfg);
	cr_assert_str_eq(ha_dashboard_url(cfg, buf, sizeof(buf)), "https://dog.example:8443/");
	cfg_free(cfg);

	cfg = load("--dashboard-url=none");
	cr_assert_not_null(cfg);
	cr_assert_null(ha_dashboard_url(cfg, buf, sizeof(buf)));
	cfg_free(cfg);

	cfg = load(NULL);
	cr_assert_not_null(cfg);
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(want, sizeof(want), "http://%s:8080/", host[0] ? host : "localhost");
	cr_assert_str_eq(ha_dashboard_url(cfg, buf, sizeof(buf)), want);
	cfg_free(cfg);
}

Test(ha, dashboard_url_refused_when_home_assistant_would_refuse_it, .timeout = 10)
{
	const char *bad[] = {"--dashboard-url=dog.local:8080", "--dashboard-url=ftp://dog/",
			     "--dashboard-url=http://", "--dashboard-url=http://a b/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(load(bad[i]), "%s was accepted", bad[i]);
}

/* Not connected (never started): a good entity waits in mqttc; one that
 * cannot be built or has no topic is refused, logged, freed (LeakSanitizer
 * in CI's ASan build), and nothing waits for it. */
Test(ha, publish_entity_refusals, .timeout = 20)
{
	struct mqttc_options mo = {.client_id = "iod-test-home"};
	struct mqttc_settings ms = {.url = "tcp://127.0.0.1:1"};
	struct mqttc_stats st;
	struct capture cap;
	uv_loop_t loop;

	log_init("sensors", LOG_LEVEL_WARN);
	cr_assert_eq(uv_loop_init(&loop), 0);
	struct mqttc *m = mqttc_new(&loop, &ms, &mo);
	cr_assert_not_null(m);
	cr_assert_eq(ha_publish_entity(m, &home_sensors, "sensor", "temperature",
				       ha_entity_new(&home_sensors, "sensor", "temperature", "T")),
		     0);
	mqttc_get_stats(m, &st);
	cr_assert_eq(st.out_waiting, 1);
	capture_start(&cap, 2);
	cr_assert_eq(ha_publish_entity(m, &home_sensors, "sensor", "bad/id", cJSON_CreateObject()),
		     -1);
	cr_assert_eq(ha_publish_entity(m, &home_sensors, "sensor", "bowl", NULL), -1);
	char *out = capture_end(&cap);
	cr_assert_not_null(strstr(
	    out, " sensors warn: home assistant discovery for sensor/bad/id not published\n"));
	cr_assert_not_null(
	    strstr(out, " sensors warn: home assistant discovery for sensor/bowl not published\n"));
	free(out);
	mqttc_get_stats(m, &st);
	cr_assert_eq(st.out_waiting, 1);
	mqttc_free(m);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open");
}
