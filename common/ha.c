/*
 * ha — Home Assistant MQTT discovery helpers (see ha.h).
 */
#include "ha.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

cJSON *ha_entity_new(const char *site, const char *service, const char *object_id, const char *name)
{
	char unique_id[256], avail[256], dev_id[256], dev_name[256], model[128];
	cJSON *e, *dev, *ids, *id;

	if (!ha_id_valid(site) || !ha_id_valid(service) || !ha_id_valid(object_id) || !name)
		return NULL;
	/* Each id is at most HA_ID_MAX characters, so none of these truncate. */
	snprintf(unique_id, sizeof(unique_id), "iod_%s_%s_%s", site, service, object_id);
	snprintf(avail, sizeof(avail), "iod/%s/%s/availability", site, service);
	snprintf(dev_id, sizeof(dev_id), "iod_%s_%s", site, service);
	snprintf(dev_name, sizeof(dev_name), "iod %s (%s)", service, site);
	snprintf(model, sizeof(model), "iod-%s", service);

	e = cJSON_CreateObject();
	if (!e)
		return NULL;
	if (!cJSON_AddStringToObject(e, "name", name) ||
	    !cJSON_AddStringToObject(e, "unique_id", unique_id) ||
	    !cJSON_AddStringToObject(e, "object_id", object_id) ||
	    !cJSON_AddStringToObject(e, "availability_topic", avail) ||
	    !cJSON_AddStringToObject(e, "payload_available", "online") ||
	    !cJSON_AddStringToObject(e, "payload_not_available", "offline"))
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
	    !cJSON_AddStringToObject(dev, "sw_version", IOD_VERSION))
		goto fail;
	return e;
fail:
	cJSON_Delete(e);
	return NULL;
}
