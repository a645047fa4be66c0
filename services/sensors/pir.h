/*
 * pir — a PIR motion detector's line edges turned into the motion reading.
 *
 * The GPIO line is watched for edge interrupts (libgpiod line events, see
 * gpio.h); this module is the part that decides. Motion goes to 1 at the
 * first active edge and back to 0 only after the line has stayed inactive
 * for `hold_ms`, so a PIR that re-triggers (or a line that bounces) gives
 * one motion period instead of a flood of 0/1 readings: at most one
 * 1 -> 0 change per hold period. Pure: the caller owns the clock and arms a
 * one-shot timer at pir_deadline_in().
 */
#ifndef IOD_SENSORS_PIR_H
#define IOD_SENSORS_PIR_H

#include <stdbool.h>
#include <stdint.h>

struct pir {
	int64_t hold_ms;
	bool active_low;    /* the sensor pulls the line low on motion */
	bool line_active;   /* last known logical level */
	bool motion;	    /* the published state */
	int64_t release_ms; /* when motion may drop to 0; valid while motion && !line_active */
	uint64_t edges, ignored;
};

void pir_init(struct pir *p, int64_t hold_ms, bool active_low);
/* The line's raw level read once at start; returns the motion state. */
bool pir_start(struct pir *p, bool raw_high, int64_t now_ms);
/* An edge event (raw rising or falling) at now_ms. Returns true when the
 * motion state changed (read p->motion). A repeated edge of the same
 * direction (one was lost in the kernel's queue) counts as the level. */
bool pir_edge(struct pir *p, bool raw_rising, int64_t now_ms);
/* The hold timer fired. Returns true when motion dropped to 0. */
bool pir_timer(struct pir *p, int64_t now_ms);
/* Milliseconds until pir_timer() should run, or -1 when no timer is needed. */
int64_t pir_deadline_in(const struct pir *p, int64_t now_ms);

#endif
