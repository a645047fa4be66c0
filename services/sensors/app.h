/*
 * app — iod-sensors at run time: the backends from IOD_SENSORS on the libuv
 * loop, the per-kind publishers with their heartbeat timers, alerts, Home
 * Assistant discovery, and the sim feeder's feeder/sim/dispensed the sim
 * bowl listens to.
 *
 * The decisions are in sensors.h, the backends behind source.h's ops; this
 * file drives each source the way its ops say (timers, threadpool reads, a
 * watched fd) and publishes what sensors.h decides. Thread: the loop
 * thread, except the sources' read(), which runs on libuv's threadpool and
 * touches only its own source.
 */
#ifndef IOD_SENSORS_APP_H
#define IOD_SENSORS_APP_H

#include "cfg.h"
#include "service.h"

#include <stddef.h>
#include <uv.h>

struct mqttc;
struct mqttc_message;

/* The service's own settings (the shared ones come from cfg). */
extern const struct cfg_option sensors_app_options[];
extern const size_t sensors_app_options_count;

struct sensors_app;

/* Check the settings and open the backends (a backend that is not there yet
 * is retried, not an error). NULL on a bad setting (a message naming it is
 * printed to stderr; exit 2) or out of memory. */
struct sensors_app *sensors_app_new(uv_loop_t *loop, const struct cfg *cfg);
/* Use this client for publishing; subscribes to feeder/sim/dispensed when
 * the sim provides the bowl (homeassistant/status is the skeleton's). */
int sensors_app_attach(struct sensors_app *a, struct mqttc *m);
/* The service_def's MQTT callbacks (loop thread); arg is the struct
 * sensors_app. on_connected republishes the readings; on HA's birth info
 * too. */
void sensors_app_on_message(void *arg, const struct mqttc_message *msg);
void sensors_app_on_connected(void *arg);
void sensors_app_on_ha_birth(void *arg);
void sensors_app_publish_discovery(void *arg);
const char *sensors_app_backend(void *arg); /* IOD_SENSORS, for info */
/* Start the timers, reads and GPIO watches. 0 or negative. */
int sensors_app_start(struct sensors_app *a);
/* Stop publishing and close every handle (the loop must run to finish the
 * closes and any read in flight); idempotent. */
void sensors_app_stop(struct sensors_app *a);
/* Free after the loop has run dry. */
void sensors_app_free(struct sensors_app *a);

/* The service (service.h): sensors_app_new and _attach in create, then
 * _start, _stop, _free, and the callbacks above. */
extern const struct service_def sensors_service;

#endif
