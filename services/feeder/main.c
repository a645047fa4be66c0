/*
 * iod-feeder — the medication feeder over MQTT. The skeleton (common/service.h)
 * runs config, log, data dir, the loop, signals, MQTT and the one stop path;
 * the glue (app.c) publishes what the rules (feeder.c) decide and moves the
 * hardware (servo.c, speaker.c).
 */
#include <signal.h>

#include "app.h"
#include "service.h"

int main(int argc, char **argv)
{
	/* A file size limit must make journal writes fail (and doses be
	 * refused), not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	feeder_app_argv(argc, argv); /* --reset-plan */
	return service_main(&feeder_service, argc, argv);
}
