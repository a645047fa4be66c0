/*
 * ha — Home Assistant MQTT discovery helpers shared by every service.
 *
 * Each entity is one retained config message on
 *   homeassistant/<component>/iod_<site>_<service>/<object_id>/config
 * carrying the device block (so all of a service's entities group under one
 * device), a unique_id, and the service's availability topic, so Home
 * Assistant greys entities out when the service is offline.
 */
#ifndef IOD_HA_H
#define IOD_HA_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Topic for one entity's config. 0, or -1 if it does not fit. */
int ha_config_topic(char *buf, size_t size, const char *component, const char *site,
		    const char *service, const char *object_id);

/* A new entity object with name, unique_id ("iod_<site>_<service>_<object_id>"),
 * object_id, availability_topic, payload_available/not_available and the
 * device block filled in. The caller adds state_topic, device_class, ... and
 * frees it with cJSON_Delete(). NULL on out-of-memory. */
cJSON *ha_entity_new(const char *site, const char *service, const char *object_id,
		     const char *name);

#endif
