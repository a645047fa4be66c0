/*
 * iod-sensors: temperature, humidity, motion, sound and bowl readings over MQTT.
 * config -> log -> data dir -> loop -> backends -> MQTT -> run -> one cleanup path.
 */
#include "app.h"
#include "cfg.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"
#include "proto.h"
#include "sdnotify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define STOP_TIMEOUT_MS 2000

struct service {
	struct sensors_app *app;
	struct mqttc *mqtt;
};

/* SIGTERM/SIGINT, on the loop thread. Producers first: no more readings,
 * then `offline` and the disconnect, then the signal watchers; the loop then
 * runs dry (a sysfs read in flight finishes first) and uv_run returns. */
static void on_stop(void *arg)
{
	struct service *svc = arg;
	log_info("stopping");
	sensors_app_stop(svc->app);
	mqttc_stop(svc->mqtt, STOP_TIMEOUT_MS);
	mqttc_free(svc->mqtt);
	svc->mqtt = NULL;
	loop_signals_close();
}

int main(int argc, char **argv)
{
	int rc = 0;
	struct cfg *cfg = cfg_load("sensors", "iod-sensors", sensors_app_options,
				   sensors_app_options_count, argc, argv, &rc);
	if (!cfg)
		return rc;

	enum log_level level = LOG_LEVEL_INFO;
	log_parse_level(cfg_str(cfg, "IOD_LOG_LEVEL"), &level);
	log_init("sensors", level);

	struct service svc = {0};
	uv_loop_t loop;
	bool loop_open = false;
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

	svc.app = sensors_app_new(&loop, cfg);
	if (!svc.app) {
		rc = 2;
		goto out;
	}
	struct mqttc_options mo = {
	    .client_id = sensors_app_client_id(svc.app),
	    .availability_topic = sensors_app_availability_topic(svc.app),
	    .session_expiry_s = 0,
	    .queue_limit = 64,
	    .max_payload = PROTO_MAX_PAYLOAD,
	    .on_message = sensors_app_on_message,
	    .on_connected = sensors_app_on_connected,
	    .arg = svc.app,
	};
	struct mqttc_settings ms = mqttc_settings_from_cfg(cfg);
	svc.mqtt = mqttc_new(&loop, &ms, &mo);
	if (!svc.mqtt || sensors_app_attach(svc.app, svc.mqtt) < 0 ||
	    loop_signals_init(&loop, on_stop, &svc) < 0 || sensors_app_start(svc.app) < 0 ||
	    mqttc_start(svc.mqtt) < 0) {
		rc = 1;
		sensors_app_stop(svc.app);
		mqttc_free(svc.mqtt);
		svc.mqtt = NULL;
		goto out;
	}
	sdnotify_start(&loop); /* READY=1 on the first turn; watchdog pings */
	uv_run(&loop, UV_RUN_DEFAULT);

out:
	if (loop_open) {
		loop_signals_close();
		loop_close_all(&loop);
	}
	sensors_app_free(svc.app);
	cfg_free(cfg);
	return rc;
}
