/* Stand-ins for the skeleton, cfg, ha, mqttc_subscribe and lws' context
 * under app.c (app_stubs.h). */
#include "app_stubs.h"

#include "cfg.h"
#include "ha.h"
#include "mqttc.h"
#include "service.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char fake_service, fake_cfg, fake_mqtt;
struct service *const app_svc = (struct service *)&fake_service;
bool app_stub_mqtt_gone;
char app_subscribed[256];
int app_subscribed_qos;
unsigned app_subscribes;
int app_subscribe_rc;
char app_entity[2048];
char app_entity_id[128];
unsigned app_lws_destroys;

static uv_loop_t *stub_loop;

#define SETTINGS_MAX 32
static struct {
	const char *name;
	const char *value;
} settings[SETTINGS_MAX];
static size_t n_settings;

/* What cfg would hold for the settings a test leaves unset (the option
 * table's defaults; 127.0.0.1 and port 0 so the bind probe takes any free
 * port on loopback). */
static const char *const defaults[][2] = {
    {"IOD_BRIDGE_PORT", "0"},
    {"IOD_BRIDGE_BIND", "127.0.0.1"},
    {"IOD_BRIDGE_PUBLIC_VIEW", "0"},
    {"IOD_BRIDGE_METRICS_PUBLIC", "0"},
    {"IOD_BRIDGE_MAX_CLIENTS", "100"},
    {"IOD_BRIDGE_QUEUE_SLACK", "256"},
    {"IOD_BRIDGE_CACHE_TOPICS", "1024"},
    {"IOD_BRIDGE_SESSION_IDLE", "604800000"},
    {"IOD_BRIDGE_LOGIN_FAILURES", "5"},
    /* the records store off: test_app is about the server's life */
    {"IOD_RECORDS", "0"},
    {"IOD_RECORDS_MAX_MB", "500"},
};

void app_stub_reset(uv_loop_t *loop)
{
	stub_loop = loop;
	app_stub_mqtt_gone = false;
	app_subscribed[0] = '\0';
	app_subscribed_qos = -1;
	app_subscribes = 0;
	app_subscribe_rc = 0;
	app_entity[0] = app_entity_id[0] = '\0';
	app_lws_destroys = 0;
	n_settings = 0;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		app_stub_set(defaults[i][0], defaults[i][1]);
}

void app_stub_set(const char *name, const char *value)
{
	for (size_t i = 0; i < n_settings; i++)
		if (!strcmp(settings[i].name, name)) {
			settings[i].value = value;
			return;
		}
	cr_assert_lt(n_settings, SETTINGS_MAX);
	settings[n_settings].name = name;
	settings[n_settings++].value = value;
}

/* ---- the skeleton's accessors ---- */

const struct cfg *service_cfg(const struct service *svc)
{
	cr_assert_eq(svc, app_svc);
	return (const struct cfg *)&fake_cfg;
}

const char *service_site(const struct service *svc)
{
	(void)svc;
	return "home";
}

uv_loop_t *service_loop(struct service *svc)
{
	(void)svc;
	return stub_loop;
}

struct mqttc *service_mqtt(struct service *svc)
{
	(void)svc;
	return app_stub_mqtt_gone ? NULL : (struct mqttc *)&fake_mqtt;
}

/* The alert builder (a store moved aside raises records_recovered): off
 * in these tests, so never called. */
void service_alert(struct mqttc *mqtt, const char *site, const char *source, enum proto_level level,
		   const char *code, const char *fmt, ...)
{
	(void)mqtt;
	(void)site;
	(void)source;
	(void)level;
	(void)fmt;
	cr_assert_fail("service_alert(%s) in test_app", code);
}

const char *mqttc_message_prop(const struct mqttc_message *msg, const char *name)
{
	for (size_t i = 0; i < msg->n_props; i++)
		if (!strcmp(msg->props[i].name, name))
			return msg->props[i].value;
	return NULL;
}

/* ---- cfg ---- */

const char *cfg_str(const struct cfg *cfg, const char *name)
{
	cr_assert_eq(cfg, (const struct cfg *)&fake_cfg);
	for (size_t i = 0; i < n_settings; i++)
		if (!strcmp(settings[i].name, name))
			return settings[i].value;
	return NULL;
}

int64_t cfg_int(const struct cfg *cfg, const char *name)
{
	const char *v = cfg_str(cfg, name);
	cr_assert_not_null(v, "%s read as a number but not set", name);
	return strtoll(v, NULL, 10);
}

int64_t cfg_duration_ms(const struct cfg *cfg, const char *name)
{
	return cfg_int(cfg, name);
}

bool cfg_bool(const struct cfg *cfg, const char *name)
{
	return cfg_int(cfg, name) != 0;
}

/* ---- Home Assistant ---- */

const char *ha_dashboard_url(const struct cfg *cfg, char *buf, size_t size)
{
	(void)cfg;
	snprintf(buf, size, "http://dogpi:8080/");
	return buf;
}

/* As the real one: a name and the service's availability, which the
 * bridge's entity must drop. */
cJSON *ha_entity_new(const struct ha_device *dev, const char *component, const char *object_id,
		     const char *name)
{
	(void)component;
	(void)object_id;
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", name);
	char topic[PROTO_TOPIC_MAX];
	proto_topic_availability(topic, sizeof(topic), dev->site, dev->service);
	cJSON_AddStringToObject(e, "availability_topic", topic);
	return e;
}

void ha_entity_no_availability(cJSON *e)
{
	cJSON_DeleteItemFromObjectCaseSensitive(e, "availability_topic");
}

int ha_publish_entity(struct mqttc *mqtt, const struct ha_device *dev, const char *component,
		      const char *object_id, cJSON *entity)
{
	cr_assert_eq(mqtt, (struct mqttc *)&fake_mqtt);
	cr_assert_str_eq(dev->service, "bridge");
	snprintf(app_entity_id, sizeof(app_entity_id), "%s/%s", component, object_id);
	char *text = cJSON_PrintUnformatted(entity);
	snprintf(app_entity, sizeof(app_entity), "%s", text ? text : "");
	free(text);
	cJSON_Delete(entity);
	return 0;
}

/* ---- mqttc ---- */

int mqttc_subscribe(struct mqttc *m, const char *filter, int qos, bool no_local)
{
	cr_assert_eq(m, (struct mqttc *)&fake_mqtt);
	cr_assert_not(no_local);
	snprintf(app_subscribed, sizeof(app_subscribed), "%s", filter);
	app_subscribed_qos = qos;
	app_subscribes++;
	return app_subscribe_rc;
}

/* ---- the lws context (server.c) ---- */

static char fake_context, fake_vhost;
static struct lws_context **context_slot;

void lws_set_log_level(int level, void (*log_emit_function)(int level, const char *line))
{
	(void)level;
	(void)log_emit_function;
}

struct lws_context *lws_create_context(const struct lws_context_creation_info *info)
{
	context_slot = info->pcontext;
	return (struct lws_context *)&fake_context;
}

struct lws_vhost *lws_create_vhost(struct lws_context *context,
				   const struct lws_context_creation_info *info)
{
	(void)context;
	(void)info;
	return (struct lws_vhost *)&fake_vhost;
}

/* With a foreign loop lws destroys in two steps; the second clears the
 * pointer it was given in info.pcontext. */
void lws_context_destroy(struct lws_context *context)
{
	cr_assert_eq(context, (struct lws_context *)&fake_context);
	if (++app_lws_destroys == 2 && context_slot)
		*context_slot = NULL;
}

struct lws_context *lws_get_context(const struct lws *wsi)
{
	(void)wsi;
	return NULL;
}

void *lws_context_user(struct lws_context *context)
{
	(void)context;
	return NULL;
}

int lws_callback_http_dummy(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			    size_t len)
{
	(void)wsi;
	(void)reason;
	(void)user;
	(void)in;
	(void)len;
	return 0;
}
