/*
 * flap — the dispenser's flap sensor (IOD_FEEDER_SENSE): after the servo
 * opens for a dose, the flap must be seen to open within
 * IOD_FEEDER_SENSE_TIMEOUT, else the dose is failed, reason jammed. The
 * backends sit behind a small ops table chosen by the setting:
 *   "none"                no sensor (default): a dose waits for nothing
 *   "sim"                 the sim servo's flap: it opens when the sim servo
 *                         opens, unless that one is jammed
 *                         (IOD_FEEDER_SIM_FAULT=jam)
 *   "gpio:<chip>:<line>"  a switch on a GPIO line, read as libgpiod 1.6 line
 *                         events (edges queued by the kernel, nothing is
 *                         sampled): a rising edge is the flap opening, so
 *                         the line must read 1 while it is open
 *
 * The decision, seen or not seen by the deadline, is flap_watch: pure, on
 * the caller's clock (milliseconds of a clock that never goes back), so
 * the unit tests drive it directly. The glue (app.c) watches flap_fd()
 * with uv_poll and keeps the deadline's timer.
 *
 * Thread: the loop thread. No libgpiod types leak out of this header.
 */
#ifndef IOD_FEEDER_FLAP_H
#define IOD_FEEDER_FLAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IOD_FEEDER_SENSE_TIMEOUT's default. */
#define FLAP_TIMEOUT_DEFAULT_MS 2000

enum flap_kind { FLAP_NONE, FLAP_SIM, FLAP_GPIO };

struct flap_spec {
	enum flap_kind kind;
	char chip[64]; /* gpio: a name ("gpiochip0"), a number, a /dev path or a label */
	unsigned line; /* gpio: 0..4095 */
};

/* IOD_FEEDER_SENSE's text: 0, or -1 with why (no value quoted: the caller
 * names the setting and its value). */
int flap_spec_parse(const char *text, struct flap_spec *out, char *why, size_t why_size);

/* ---- the decision (pure) ------------------------------------------------ */

enum flap_verdict {
	FLAP_IDLE,   /* not armed: no dose is waiting for the flap */
	FLAP_WAIT,   /* armed, not seen yet, the deadline not reached */
	FLAP_SEEN,   /* the flap opened within the timeout */
	FLAP_JAMMED, /* the deadline passed without it */
};

struct flap_watch {
	bool armed;
	bool seen;
	int64_t deadline_ms;
};

/* The servo has just opened (now_ms): the flap has timeout_ms to open. */
void flap_watch_arm(struct flap_watch *w, int64_t now_ms, int64_t timeout_ms);
/* The flap was seen opening at now_ms. Counts only while armed and up to
 * the deadline itself; one after it does not undo a jam. */
void flap_watch_opened(struct flap_watch *w, int64_t now_ms);
enum flap_verdict flap_watch_verdict(const struct flap_watch *w, int64_t now_ms);
/* Milliseconds until the deadline (0 when reached or not armed). */
int64_t flap_watch_wait_ms(const struct flap_watch *w, int64_t now_ms);
void flap_watch_disarm(struct flap_watch *w);

/* ---- the sensor --------------------------------------------------------- */

struct flap;

/* Open the sensor spec names (not FLAP_NONE). NULL with a message in err,
 * e.g. a GPIO chip that does not exist. */
struct flap *flap_open(const struct flap_spec *spec, char *err, size_t err_size);
/* The file descriptor to watch for readability, or -1 (sim: nothing to
 * watch, it answers flap_servo_opened). */
int flap_fd(const struct flap *f);
/* The servo opened; pill_falls is what the sim servo says
 * (servo_sim_dispenses). How many openings of the flap that makes known at
 * once: the sim's 1 or 0; a real sensor's come on its fd. */
int flap_servo_opened(struct flap *f, bool pill_falls);
/* The fd is readable: the queued edges read, and how many were the flap
 * opening; -1 when the chip went away. */
int flap_read(struct flap *f);
const char *flap_backend(const struct flap *f); /* the spec's text, e.g. "gpio:gpiochip0:5" */
void flap_close(struct flap *f);

#endif
