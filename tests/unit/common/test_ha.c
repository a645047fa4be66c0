/*
 * ha: the discovery topic and the common part of every entity's config.
 */
#include "ha.h"

#include <criterion/criterion.h>
#include <string.h>

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

static const char *str_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	cr_assert(cJSON_IsString(v), "'%s' is not a string", key);
	return v->valuestring;
}

Test(ha, entity_json, .timeout = 10)
{
	cJSON *e = ha_entity_new("home", "sensors", "temperature", "Temperature");
	const cJSON *dev, *ids;

	cr_assert_not_null(e);
	cr_assert_str_eq(str_member(e, "name"), "Temperature");
	cr_assert_str_eq(str_member(e, "unique_id"), "iod_home_sensors_temperature");
	cr_assert_str_eq(str_member(e, "object_id"), "temperature");
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
	cr_assert_eq(cJSON_GetArraySize(e), 7, "only the common members");
	cJSON_Delete(e);
}

Test(ha, entity_serialises_and_accepts_more_members, .timeout = 10)
{
	cJSON *e = ha_entity_new("barn", "feeder", "feed", "Feed \"now\"");
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
	cr_assert_null(ha_entity_new("ho/me", "sensors", "t", "T"));
	cr_assert_null(ha_entity_new("home", "sensors", "a+b", "T"));
	cr_assert_null(ha_entity_new("home", "", "t", "T"));
	cr_assert_null(ha_entity_new("home", "sensors", "t", NULL));
}
