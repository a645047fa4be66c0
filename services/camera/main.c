/*
 * iod-camera: JPEG frames, a motion score and snapshots over MQTT.
 *
 * The life of the service is the skeleton's (common/service.h: config, log,
 * data dir, loop, signals, MQTT, sd_notify, the one stop path); what it
 * does is app.c's (camera_service: the source on the loop, frames, motion,
 * commands), and what it decides camera.c's.
 */
#include "app.h"
#include "service.h"

int main(int argc, char **argv)
{
	return service_main(&camera_service, argc, argv);
}
