/*
 * sysclock — what the feeder's glue knows of the system's wall clock beyond
 * its value: whether the kernel holds it synchronised, and when it is set.
 *
 * Health behind a config string (IOD_FEEDER_CLOCK), like the servo's:
 *   "adjtimex"      the kernel's word (adjtimex(2) with no change asked:
 *                   synchronised when it answers neither TIME_ERROR nor
 *                   STA_UNSYNC; an error, e.g. a sandbox that forbids the
 *                   call, is unsynchronised and logged once) (default)
 *   "sim:synced"    a fake that always says synchronised (tests, demos)
 *   "sim:unsynced"  a fake that always says not synchronised
 * Reading it is one system call, cheap enough for every feeder_now.
 *
 * Steps: a timerfd armed far in the future with TFD_TIMER_CANCEL_ON_SET is
 * cancelled by the kernel whenever CLOCK_REALTIME is set (NTP's first sync,
 * date -s, a resume with a corrected clock), which makes it readable; a
 * uv_poll on it calls back on the loop, and the timerfd is armed again. No
 * polling: an idle feeder sleeps until the clock is set.
 *
 * Thread: the loop thread.
 */
#ifndef IOD_FEEDER_SYSCLOCK_H
#define IOD_FEEDER_SYSCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct sysclock;

/* The backend spec names; NULL with a message in err for any other. */
struct sysclock *sysclock_open(const char *spec, char *err, size_t err_size);
/* Synchronised now (see the backends). */
bool sysclock_synced(struct sysclock *c);
const char *sysclock_backend(const struct sysclock *c); /* the spec */
void sysclock_close(struct sysclock *c);

/* adjtimex's answer (its return value and timex.status) read as the
 * kernel means it: synchronised unless TIME_ERROR, an error (-1), or
 * STA_UNSYNC. */
bool sysclock_adjtimex_synced(int rc, int status);

/* Call cb(arg) on loop whenever the wall clock is set. NULL when the kernel
 * has no timerfd for it (logged; steps are then noticed at the next timer). */
struct sysclock_steps;
struct sysclock_steps *sysclock_steps_start(uv_loop_t *loop, void (*cb)(void *arg), void *arg);
/* Stop watching; the handle is closed on the loop (run it to finish). */
void sysclock_steps_stop(struct sysclock_steps *s);

#endif
