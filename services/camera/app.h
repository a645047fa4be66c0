/*
 * app — the camera service at run time: the libuv handles that drive the
 * source (a frame timer for `sim`, a uv_poll on the V4L2 fd, a stall
 * watchdog, the reopen back-off) and the MQTT side (frames, motion,
 * alerts, Home Assistant discovery, camera/cmd). The decisions are
 * camera.c's; this file only moves bytes between it and the world. Its
 * life (config, loop, signals, the client, info, HA's birth) is the
 * skeleton's: camera_service below. Everything runs on the loop thread.
 */
#ifndef IOD_CAMERA_APP_H
#define IOD_CAMERA_APP_H

#include "service.h"

#include <uv.h>

struct cfg;
struct camera_settings;
struct camera_app;
struct mqttc;
struct mqttc_message;

/* Subscribes to camera/cmd on mqtt (not started yet) and publishes through
 * it. NULL on error (logged). cfg must outlive it; settings are copied. */
struct camera_app *camera_app_new(uv_loop_t *loop, const struct cfg *cfg,
				  const struct camera_settings *settings, struct mqttc *mqtt);
/* Open the source (a source that fails to open is retried in the
 * background, with an alert). 0. */
int camera_app_start(struct camera_app *a);
/* Stop producing, close the source and release every handle so the loop
 * can end (the skeleton then says `offline`). Idempotent. */
void camera_app_stop(struct camera_app *a);
/* After the loop has ended. */
void camera_app_free(struct camera_app *a);

/* The service_def's MQTT callbacks (loop thread); arg is the struct
 * camera_app. on_connected republishes motion and the last frame; on HA's
 * birth info too; the backend, for info, is IOD_CAMERA_SOURCE. */
void camera_app_on_message(void *arg, const struct mqttc_message *msg);
void camera_app_on_connected(void *arg);
void camera_app_on_ha_birth(void *arg);
void camera_app_publish_discovery(void *arg);
const char *camera_app_backend(void *arg);

/* camera_app_new in create (after camera_settings_load: a bad one exits 2),
 * then _start, _stop, _free, and the callbacks above. */
extern const struct service_def camera_service;

#endif
