/*
 * sdnotify — see sdnotify.h. sd_notify() and sd_watchdog_enabled() from
 * libsystemd; without it (a build on a machine without libsystemd-dev) both
 * entry points compile to nothing.
 */
#include "sdnotify.h"

#include "log.h"

#include <stdint.h>
#include <stdlib.h>

#if IOD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static uv_timer_t ready_timer;
static uv_timer_t watchdog_timer;
static int started;

static void on_ready(uv_timer_t *t)
{
	(void)t;
	if (sd_notify(0, "READY=1") < 0)
		log_warn("systemd: cannot send READY=1");
}

/* Runs on the loop thread: only a loop that still turns feeds the watchdog. */
static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

int sdnotify_start(uv_loop_t *loop)
{
	uint64_t usec = 0;
	int r;

	if (started || !getenv("NOTIFY_SOCKET"))
		return 0;
	if (uv_timer_init(loop, &ready_timer) < 0 ||
	    uv_timer_start(&ready_timer, on_ready, 0, 0) < 0) {
		log_error("systemd: cannot start the readiness timer");
		return -1;
	}
	uv_unref((uv_handle_t *)&ready_timer);
	started = 1;

	r = sd_watchdog_enabled(0, &usec);
	if (r < 0)
		log_warn("systemd: WATCHDOG_USEC is not understood; no watchdog pings");
	if (r <= 0 || usec == 0)
		return 0;
	uint64_t every_ms = usec / 2000;
	if (every_ms == 0)
		every_ms = 1;
	if (uv_timer_init(loop, &watchdog_timer) < 0 ||
	    uv_timer_start(&watchdog_timer, on_watchdog, 0, every_ms) < 0) {
		log_error("systemd: cannot start the watchdog timer");
		return -1;
	}
	uv_unref((uv_handle_t *)&watchdog_timer);
	log_debug("systemd: watchdog every %llu ms", (unsigned long long)every_ms);
	return 0;
}

#else

int sdnotify_start(uv_loop_t *loop)
{
	(void)loop;
	return 0;
}

#endif
