/*
 * camsvc — the camera service's transport: the libuv handles that drive the
 * source (a frame timer for `sim`, a uv_poll on the V4L2 fd, a stall
 * watchdog, the reopen back-off) and the MQTT side (frames, motion, info,
 * alerts, Home Assistant discovery, camera/cmd). The decisions are
 * camera.c's; this file only moves bytes between it and the world.
 * Everything runs on the loop thread.
 */
#ifndef IOD_CAMERA_CAMSVC_H
#define IOD_CAMERA_CAMSVC_H

#include <uv.h>

struct cfg;
struct camera_settings;
struct camsvc;

/* NULL on error (logged). cfg and settings must outlive it. */
struct camsvc *camsvc_new(uv_loop_t *loop, const struct cfg *cfg,
			  const struct camera_settings *settings);
/* Connect to the broker and open the source (a source that fails to open is
 * retried in the background, with an alert). 0 or negative. */
int camsvc_start(struct camsvc *svc);
/* Stop producing, close the source, publish `offline`, disconnect and
 * release every handle so the loop can end. Idempotent. */
void camsvc_stop(struct camsvc *svc);
/* After the loop has ended. */
void camsvc_free(struct camsvc *svc);

#endif
