/*
 * loop — libuv glue shared by every service.
 *
 * Signals: SIGINT and SIGTERM call on_stop once, on the loop thread (libuv's
 * signal watchers turn the signal into a loop event, so nothing runs in
 * signal context). A second signal while stopping exits at once with 130,
 * so a wedged shutdown can always be interrupted. SIGPIPE is ignored.
 */
#ifndef IOD_LOOP_H
#define IOD_LOOP_H

#include <stdint.h>
#include <uv.h>

typedef void (*loop_stop_cb)(void *arg);

int loop_signals_init(uv_loop_t *loop, loop_stop_cb on_stop, void *arg);
/* Stop watching signals (their handles are closed; the loop may then end). */
void loop_signals_close(void);

/* Close every handle still open on the loop and run it until they are gone.
 * Call after the services' own handles are closed; returns uv_loop_close(). */
int loop_close_all(uv_loop_t *loop);

/* Wall clock and monotonic clock in milliseconds. */
int64_t loop_wall_ms(void);
int64_t loop_mono_ms(void);

#endif
