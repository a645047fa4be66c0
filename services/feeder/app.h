/*
 * app — iod-feeder at run time: the glue between the feeder's rules
 * (feeder.h, no MQTT, no libuv), its hardware (servo.h, speaker.h), MQTT and
 * the loop. It publishes what a feeder call decided and performs the
 * hardware action it asks for (apply), runs the dose's hold timer, the
 * schedule and local-midnight timers, the back-pressure on commands, Home
 * Assistant discovery and the stop path that finishes a dose in progress.
 *
 * feeder_service is the service_def main.c hands to service_main(); the
 * other functions are its callbacks and what the unit tests call with a
 * stubbed mqttc (tests/support/mqttc_stub.c) and an injected clock.
 * Thread: the loop thread, all of it (ALSA playback runs on speaker.c's own
 * thread).
 */
#ifndef IOD_FEEDER_APP_H
#define IOD_FEEDER_APP_H

#include "cfg.h"
#include "feeder.h"
#include "service.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct mqttc;
struct mqttc_message;

/* The feeder's own settings (the shared ones come from cfg). */
extern const struct cfg_option feeder_app_options[];
extern const size_t feeder_app_options_count;

/* What service_main() runs (main.c). */
extern const struct service_def feeder_service;

/* The clocks the glue reads: the rules' two (feeder_now) for every feeder
 * call, and its wall clock for the midnight timer and log lines. NULL now:
 * CLOCK_REALTIME and CLOCK_BOOTTIME. */
struct feeder_app_clock {
	struct feeder_now (*now)(void *arg);
	void *arg;
};

struct feeder_app;

/*
 * Read the settings, open the servo and the speaker and load the journal
 * (feeder_new: its startup alerts are kept for feeder_app_start), then
 * subscribe to feeder/cmd on mqtt (created, not started). The data dir is
 * IOD_DATA_DIR, made or not by the caller: a journal that cannot be opened
 * makes a feeder that refuses doses (fail safe). NULL with *exit_code 2 on
 * a bad setting (one line on stderr naming it), 1 otherwise.
 */
struct feeder_app *feeder_app_new(uv_loop_t *loop, const struct cfg *cfg, struct mqttc *mqtt,
				  const struct feeder_app_clock *clock, int *exit_code);
/* Publish the startup alerts (mqttc keeps them until it is connected), let
 * the schedule catch up (grace window), arm the schedule and midnight
 * timers. 0 (the callback service_def.start). */
int feeder_app_start(void *app);
/* The one stop path's part (service_def.stop): a dose in progress is
 * finished now (servo home, completion journaled, its event published)
 * rather than left to recovery; the timers are closed (the loop must run to
 * finish the closes). Idempotent. */
void feeder_app_stop(void *app);
/* After the loop has run dry (service_def.destroy). */
void feeder_app_free(void *app);

/* service_def's MQTT callbacks (loop thread); app is the struct feeder_app. */
void feeder_app_on_message(void *app, const struct mqttc_message *msg);
void feeder_app_on_connected(void *app); /* retained state and log again */
void feeder_app_publish_discovery(void *app);
void feeder_app_on_ha_birth(void *app); /* after discovery: the current state */
const char *feeder_app_backend(void *app);
void feeder_app_on_dropped(void *app, uint64_t oversize, uint64_t queue_full,
			   const char *last_topic);
void feeder_app_on_drained(void *app);
/* The wall clock was set (sysclock's watcher calls it on the loop; tests
 * after moving their injected clock): the schedule is ticked at once, state
 * and schedule republished, and the timers armed from the new time. */
void feeder_app_clock_set(void *app);

/* Before service_main: the bare flag --reset-plan, as the care plan's
 * documents name it (docs/design.md, proto/README.md), becomes
 * --feeder-reset-plan=1, the flag cfg derives from IOD_FEEDER_RESET_PLAN.
 * argv's entries are replaced, not their text. */
void feeder_app_argv(int argc, char **argv);

/* service_def.check: the plan's seed settings (IOD_FEEDER_SCHEDULE,
 * _MIN_INTERVAL, _MAX_DAILY, _GRACE) within the vet's bounds
 * (feeder_config_check), for --check-config and before a start. 0, or 1
 * with the problem in why. */
int feeder_app_check(const struct cfg *cfg, char *why, size_t size);

/* The session expiry the feeder asks the broker for: IOD_FEEDER_CMD_TTL
 * rounded up to seconds (service_def.session_expiry). */
int feeder_app_session_expiry(const struct cfg *cfg);

#endif
