/*
 * sdnotify — readiness and the watchdog for systemd's Type=notify units.
 *
 * sdnotify_start() is called by service_main() (service.h) after everything
 * is set up (settings valid, hardware opened, the MQTT client started:
 * connecting, not necessarily connected, since a broker that is down is
 * retried forever) and just before uv_run(). On the loop's first turn it sends READY=1, so
 * "ready" means "configured and the event loop is running". If the unit has
 * WatchdogSec= (WATCHDOG_USEC for this pid), a libuv timer on the loop thread
 * sends WATCHDOG=1 every half period: a hung loop stops pinging and systemd
 * kills and restarts the service.
 *
 * Outside systemd (no NOTIFY_SOCKET) it does nothing. Built with
 * -DIOD_SYSTEMD=OFF (IOD_HAVE_SYSTEMD 0) it does nothing either. Loop thread only.
 * The timers are unreferenced: they never keep the loop alive, and
 * loop_close_all() closes them with every other handle.
 */
#ifndef IOD_SDNOTIFY_H
#define IOD_SDNOTIFY_H

#include <uv.h>

/* 0, or a negative error (the timers could not be set up; logged). */
int sdnotify_start(uv_loop_t *loop);
/* STOPPING=1, once (later calls send nothing), when the stop path begins:
 * systemd then shows the unit as deactivating and takes a slow shutdown
 * for what it is rather than a hang. A failed send is logged. */
void sdnotify_stopping(void);

#endif
