/*
 * iod-sensors: temperature, humidity, motion, sound and bowl readings over MQTT.
 *
 * The life of the service is the skeleton's (common/service.h: config, log,
 * data dir, loop, signals, MQTT, sd_notify, the one stop path); what it
 * does is app.c's (sensors_service: the backends on the loop, publishing),
 * and what it decides sensors.c's and the sources'.
 */
#include "app.h"
#include "service.h"

int main(int argc, char **argv)
{
	return service_main(&sensors_service, argc, argv);
}
