/*
 * iod-camera: JPEG frames, a motion score and snapshots over MQTT.
 * config -> log -> settings -> data dir -> loop -> service -> run -> cleanup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "camera.h"
#include "camsvc.h"
#include "cfg.h"
#include "log.h"
#include "loop.h"
#include "sdnotify.h"

static void on_stop(void *arg)
{
	camsvc_stop(arg);
}

int main(int argc, char **argv)
{
	int rc = 0;
	struct cfg *cfg =
	    cfg_load("camera", "iod-camera", camera_options, camera_options_count, argc, argv, &rc);
	if (!cfg)
		return rc;

	enum log_level level = LOG_LEVEL_INFO;
	log_parse_level(cfg_str(cfg, "IOD_LOG_LEVEL"), &level);
	log_init("camera", level);

	struct camera_settings settings;
	char err[256];
	uv_loop_t loop;
	struct camsvc *svc = NULL;
	bool loop_open = false;

	if (camera_settings_load(cfg, &settings, err, sizeof(err)) < 0) {
		fprintf(stderr, "iod-camera: %s\n", err);
		rc = 2;
		goto out;
	}
	const char *data_dir = cfg_str(cfg, "IOD_DATA_DIR");
	int mk = cfg_make_data_dir(cfg);
	if (mk < 0) {
		log_error("IOD_DATA_DIR '%s': %s", data_dir, strerror(-mk));
		rc = 1;
		goto out;
	}
	if (uv_loop_init(&loop) < 0) {
		log_error("cannot create the event loop");
		rc = 1;
		goto out;
	}
	loop_open = true;
	svc = camsvc_new(&loop, cfg, &settings);
	if (!svc || loop_signals_init(&loop, on_stop, svc) < 0 || camsvc_start(svc) < 0) {
		rc = 1;
		if (svc)
			camsvc_stop(svc);
		goto out;
	}
	sdnotify_start(&loop); /* READY=1 on the first turn; watchdog pings */
	uv_run(&loop, UV_RUN_DEFAULT);

out:
	if (loop_open) {
		loop_signals_close();
		loop_close_all(&loop);
	}
	camsvc_free(svc);
	cfg_free(cfg);
	return rc;
}
