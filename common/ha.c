/*
 * ha — Home Assistant MQTT discovery helpers (see ha.h).
 */
#include "ha.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "mqttc.h"
#include "proto.h"

#define HA_ID_MAX 64

/* Home Assistant accepts [A-Za-z0-9_-] in the node and object ids of a
 * discovery topic; anything else (a '/', an MQTT wildcard) would change
 * the topic's meaning. */
static bool ha_id_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 1 || n > HA_ID_MAX)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int ha_config_topic(char *buf, size_t size, const char *component, const char *site,
		    const char *service, const char *object_id)
{
	int n;

	if (!buf || size == 0 || !ha_id_valid(component) || !ha_id_valid(site) ||
	    !ha_id_valid(service) || !ha_id_valid(object_id))
		return -1;
	n = snprintf(buf, size, "homeassistant/%s/iod_%s_%s/%s/config", component, site, service,
		     object_id);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* Append text to buf as HA's slugify would have it in an entity id:
 * lower case, anything but [a-z0-9] becomes '_', never two '_' in a row. */
static void slug_append(char *buf, size_t *len, const char *text)
{
	for (; *text; text++) {
		char c = *text;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '_';
		if (c == '_' && *len > 0 && (buf[*len - 1] == '_' || buf[*len - 1] == '.'))
			continue;
		buf[(*len)++] = c;
	}
}

int ha_default_entity_id(char *buf, size_t size, const char *component, const char *site,
			 const char *service, const char *object_id)
{
	/* component + '.' + "iod_" + three ids + two '_': bounded by the ids' limit. */
	char id[5 * (HA_ID_MAX + 2)];
	size_t len = 0;

	if (!buf || size == 0 || !ha_id_valid(component) || !ha_id_valid(site) ||
	    !ha_id_valid(service) || !ha_id_valid(object_id))
		return -1;
	slug_append(id, &len, component);
	id[len++] = '.';
	const char *const parts[] = {"iod", site, service, object_id};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (i > 0)
			slug_append(id, &len, "_");
		slug_append(id, &len, parts[i]);
	}
	while (len > 0 && id[len - 1] == '_')
		len--;
	id[len] = '\0';
	if (len + 1 > size) {
		buf[0] = '\0';
		return -1;
	}
	memcpy(buf, id, len + 1);
	return 0;
}

cJSON *ha_entity_new(const struct ha_device *d, const char *component, const char *object_id,
		     const char *name)
{
	char unique_id[256], entity_id[512], avail[PROTO_TOPIC_MAX], dev_id[256], dev_name[256],
	    model[128];
	cJSON *e, *dev, *origin, *ids, *id;

	if (!d || !ha_id_valid(d->site) || !ha_id_valid(d->service) || !ha_id_valid(object_id) ||
	    !name ||
	    ha_default_entity_id(entity_id, sizeof(entity_id), component, d->site, d->service,
				 object_id) < 0 ||
	    proto_topic_availability(avail, sizeof(avail), d->site, d->service) < 0)
		return NULL;
	/* Each id is at most HA_ID_MAX characters, so none of these truncate. */
	snprintf(unique_id, sizeof(unique_id), "iod_%s_%s_%s", d->site, d->service, object_id);
	snprintf(dev_id, sizeof(dev_id), "iod_%s_%s", d->site, d->service);
	snprintf(dev_name, sizeof(dev_name), "iod %s (%s)", d->service, d->site);
	snprintf(model, sizeof(model), "iod-%s", d->service);

	e = cJSON_CreateObject();
	if (!e)
		return NULL;
	if (!cJSON_AddStringToObject(e, "name", name) ||
	    !cJSON_AddStringToObject(e, "unique_id", unique_id) ||
	    !cJSON_AddStringToObject(e, "default_entity_id", entity_id) ||
	    !cJSON_AddStringToObject(e, "availability_topic", avail) ||
	    !cJSON_AddStringToObject(e, "payload_available", PROTO_ONLINE) ||
	    !cJSON_AddStringToObject(e, "payload_not_available", PROTO_OFFLINE))
		goto fail;
	dev = cJSON_AddObjectToObject(e, "device");
	if (!dev)
		goto fail;
	ids = cJSON_AddArrayToObject(dev, "identifiers");
	if (!ids)
		goto fail;
	id = cJSON_CreateString(dev_id);
	if (!id)
		goto fail;
	cJSON_AddItemToArray(ids, id);
	if (!cJSON_AddStringToObject(dev, "name", dev_name) ||
	    !cJSON_AddStringToObject(dev, "manufacturer", "iod") ||
	    !cJSON_AddStringToObject(dev, "model", model) ||
	    !cJSON_AddStringToObject(dev, "sw_version", IOD_VERSION) ||
	    (d->dashboard_url &&
	     !cJSON_AddStringToObject(dev, "configuration_url", d->dashboard_url)))
		goto fail;
	origin = cJSON_AddObjectToObject(e, "origin");
	if (!origin || !cJSON_AddStringToObject(origin, "name", "iod") ||
	    !cJSON_AddStringToObject(origin, "sw_version", IOD_VERSION) ||
	    (d->dashboard_url && !cJSON_AddStringToObject(origin, "support_url", d->dashboard_url)))
		goto fail;
	return e;
fail:
	cJSON_Delete(e);
	return NULL;
}

/* Rendered by Home Assistant (Jinja) at every press: `value` is
 * payload_press, now() its clock. The microsecond count keeps two presses
 * apart; the feeder takes ids of [A-Za-z0-9._:-], 1-64, and ts in ms. */
static const char command_template[] =
    "{\"action\":\"{{ value }}\",\"id\":\"ha-{{ value }}-{{ (now().timestamp() * 1000000) | int "
    "}}\",\"ts\":{{ (now().timestamp() * 1000) | int }},\"by\":\"homeassistant\"}";

const char *ha_command_template(void)
{
	return command_template;
}

int ha_entity_set_command(cJSON *e, const char *command_topic, const char *action)
{
	if (!e || !command_topic || !action || !ha_id_valid(action))
		return -1;
	if (!cJSON_AddStringToObject(e, "command_topic", command_topic) ||
	    !cJSON_AddStringToObject(e, "payload_press", action) ||
	    !cJSON_AddStringToObject(e, "command_template", command_template) ||
	    !cJSON_AddNumberToObject(e, "qos", 1) || !cJSON_AddFalseToObject(e, "retain"))
		return -1;
	return 0;
}

void ha_entity_no_availability(cJSON *e)
{
	cJSON_DeleteItemFromObjectCaseSensitive(e, "availability_topic");
	cJSON_DeleteItemFromObjectCaseSensitive(e, "payload_available");
	cJSON_DeleteItemFromObjectCaseSensitive(e, "payload_not_available");
}

const char *ha_dashboard_url(const struct cfg *cfg, char *buf, size_t size)
{
	const char *set = cfg_str(cfg, "IOD_DASHBOARD_URL");
	char host[256];
	int n;

	if (!buf || size == 0)
		return NULL;
	if (set && strcmp(set, "none") == 0)
		return NULL;
	if (set) {
		n = snprintf(buf, size, "%s", set);
	} else {
		/* The usual home: every service and the dashboard on one machine. */
		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		n = snprintf(buf, size, "http://%s:8080/", host);
	}
	if (n < 0 || (size_t)n >= size)
		return NULL;
	return buf;
}

bool ha_is_birth(const char *topic, const void *payload, size_t len)
{
	return topic && strcmp(topic, HA_STATUS_TOPIC) == 0 && len == 6 &&
	       memcmp(payload, "online", 6) == 0;
}

int ha_publish_entity(struct mqttc *mqtt, const struct ha_device *dev, const char *component,
		      const char *object_id, cJSON *entity)
{
	char topic[PROTO_TOPIC_MAX];
	char *json = NULL;
	int rc = -1;

	if (entity &&
	    ha_config_topic(topic, sizeof(topic), component, dev->site, dev->service, object_id) ==
		0 &&
	    (json = cJSON_PrintUnformatted(entity)) != NULL)
		rc = mqttc_publish_str(mqtt, topic, json, 1, true) < 0 ? -1 : 0;
	if (rc < 0)
		log_warn("home assistant discovery for %s/%s not published", component, object_id);
	cJSON_free(json);
	cJSON_Delete(entity);
	return rc;
}
