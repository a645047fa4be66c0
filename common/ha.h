/*
 * ha — Home Assistant MQTT discovery helpers shared by every service.
 *
 * Each entity is one retained config message on
 *   homeassistant/<component>/iod_<site>_<service>/<object_id>/config
 * carrying the device block (so all of a service's entities group under one
 * device, with a link to the dashboard), the origin block (who published the
 * config), a site-qualified unique_id and default_entity_id (so two sites on
 * one Home Assistant never claim the same entity id), and the service's
 * availability topic, so Home Assistant greys entities out when the service
 * is offline. proto/README.md "Home Assistant discovery" lists every entity.
 */
#ifndef IOD_HA_H
#define IOD_HA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct cfg;
struct mqttc;

/* Home Assistant publishes `online` here when it (re)starts; every service
 * subscribes and announces its entities again (HA may have lost them). */
#define HA_STATUS_TOPIC "homeassistant/status"

/* The device an entity belongs to: one per service and site. */
struct ha_device {
	const char *site;	   /* IOD_SITE */
	const char *service;	   /* "feeder", "sensors", "camera", "bridge" */
	const char *dashboard_url; /* configuration_url and support_url; NULL: none */
};

/* Topic for one entity's config. 0, or -1 if it does not fit. */
int ha_config_topic(char *buf, size_t size, const char *component, const char *site,
		    const char *service, const char *object_id);

/* The entity id Home Assistant is asked to use, "<component>.iod_<site>_<service>_<object_id>"
 * made a valid entity id the way HA's slugify does (lower case, '-' -> '_',
 * no doubled or trailing '_'), e.g. "button.iod_home_feeder_feed". 0 or -1
 * (bad id, or it does not fit). */
int ha_default_entity_id(char *buf, size_t size, const char *component, const char *site,
			 const char *service, const char *object_id);

/* A new entity object with name, unique_id ("iod_<site>_<service>_<object_id>",
 * unchanged since the first release so HA keeps its history),
 * default_entity_id, availability_topic, payload_available/not_available,
 * the device block and the origin block filled in. The caller adds
 * state_topic, device_class, ... and frees it with cJSON_Delete(). NULL on a
 * bad id or out-of-memory. */
cJSON *ha_entity_new(const struct ha_device *dev, const char *component, const char *object_id,
		     const char *name);

/* Publish entity as the retained discovery config of dev's object_id
 * (ha_config_topic(component, dev->site, dev->service, object_id)), QoS 1:
 * the one way every service announces an entity. Takes entity (NULL: only
 * logged) and frees it. 0, or -1 when it could not be built or published
 * ("home assistant discovery for <component>/<object_id> not published",
 * logged). Loop thread. */
int ha_publish_entity(struct mqttc *mqtt, const struct ha_device *dev, const char *component,
		      const char *object_id, cJSON *entity);

/* Make e a command button: command_topic, payload_press = action, QoS 1, not
 * retained, and a command_template that Home Assistant renders at each press
 * into {"action":"<action>","id":"ha-<action>-<microseconds>","ts":<ms>,
 * "by":"homeassistant"}: a fresh id (a repeat is answered `duplicate`, never
 * dosed twice) and a time (expires like every other command). 0 or -1. */
int ha_entity_set_command(cJSON *e, const char *command_topic, const char *action);

/* The command_template ha_entity_set_command() uses (a Jinja template). */
const char *ha_command_template(void);

/* Drop the availability members: for an entity whose state is itself the
 * service's availability (a connectivity sensor must read "off", not
 * "unavailable", when the service is gone). */
void ha_entity_no_availability(cJSON *e);

/* The dashboard's URL for configuration_url: IOD_DASHBOARD_URL when set
 * ("none" turns the link off: returns NULL), otherwise
 * "http://<host name>:8080/". Written into buf; returns buf or NULL. */
const char *ha_dashboard_url(const struct cfg *cfg, char *buf, size_t size);

/* True for Home Assistant's birth message (HA_STATUS_TOPIC, `online`). */
bool ha_is_birth(const char *topic, const void *payload, size_t len);

#endif
