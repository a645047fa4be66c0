/*
 * app_stubs — stand-ins for what app.c calls beyond glue_stubs.c: the
 * skeleton's accessors, the settings (cfg_*), Home Assistant's helpers,
 * mqttc_subscribe, and the lws context calls of server.c, so a test runs
 * bridge_create(), the MQTT callbacks and the stop path on a real libuv
 * loop without a broker, lws or a listening socket.
 */
#ifndef IOD_TEST_BRIDGE_APP_STUBS_H
#define IOD_TEST_BRIDGE_APP_STUBS_H

#include "glue_stubs.h"

#include <stdbool.h>
#include <uv.h>

/* The service the accessors answer for: site "home", the loop given to
 * app_stub_reset(), and the client service_mqtt() returns (NULL once
 * app_stub_mqtt_gone is set, as after def->stop). */
extern struct service *const app_svc;
extern bool app_stub_mqtt_gone;
/* mqttc_subscribe: the last filter and QoS, how many, and what it returns. */
extern char app_subscribed[256];
extern int app_subscribed_qos;
extern unsigned app_subscribes;
extern int app_subscribe_rc;
/* The last entity ha_publish_entity() was given, printed, and its
 * "<component>/<object_id>". */
extern char app_entity[2048];
extern char app_entity_id[128];
/* lws_context_destroy() calls; the second clears the context as lws does. */
extern unsigned app_lws_destroys;

/* Every stub back to its start, settings unset (cfg_* then answer as the
 * option table's defaults would: see app_stubs.c), loop for service_loop(). */
void app_stub_reset(uv_loop_t *loop);
/* Set (value non-NULL) or unset one setting. */
void app_stub_set(const char *name, const char *value);

#endif
