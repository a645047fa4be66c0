/*
 * sim — a believable dog and room, deterministic under a seed.
 *
 * Temperature follows the local time of day (about 19 °C before dawn to
 * 23 °C mid-afternoon) with a slow random drift and sensor noise; humidity
 * moves the other way. The dog rests and has bursts of activity (more by day
 * than by night); it barks mostly while it moves, so sound spikes line up
 * with motion; it eats from the bowl, which the sim feeder's dispensers
 * fill (a dose a portion, a treat a little), and comes to the bowl soon
 * after.
 *
 * Pure: no timers and no clock of its own. The service calls
 * sim_tick_activity() every SIM_ACTIVITY_PERIOD_MS and sim_tick_climate()
 * every SIM_CLIMATE_PERIOD_MS with the wall clock; the same seed and the
 * same calls give the same values. Local time comes from localtime_r (TZ).
 */
#ifndef IOD_SENSORS_SIM_H
#define IOD_SENSORS_SIM_H

#include "proto.h"

#include <stdint.h>

#define SIM_ACTIVITY_PERIOD_MS 1000
#define SIM_CLIMATE_PERIOD_MS  10000
#define SIM_PORTION_G	       80.0  /* what one dose puts in the bowl */
#define SIM_TREAT_G	       10.0  /* what one treat puts in it */
#define SIM_BOWL_MAX_G	       400.0 /* the bowl overflows beyond this */
#define SIM_BOWL_START_G       35.0

struct sim;

struct sim *sim_new(uint64_t seed, int64_t wall_ms);
void sim_free(struct sim *s);
/* One second of the dog's life: motion, sound and the bowl. */
void sim_tick_activity(struct sim *s, int64_t wall_ms);
/* Ten seconds of the room: temperature and humidity. */
void sim_tick_climate(struct sim *s, int64_t wall_ms);
/* A dose was dispensed: the bowl gets a portion and the dog comes to eat. */
void sim_feed(struct sim *s, int64_t wall_ms);
/* A treat was dispensed: SIM_TREAT_G in the bowl, and the dog comes too. */
void sim_treat(struct sim *s, int64_t wall_ms);
/* The current value of a kind, in its unit. */
double sim_value(const struct sim *s, enum proto_sensor_kind kind);
/* Local hour of day (0..24) used for the daily cycles; exposed for tests. */
double sim_local_hour(int64_t wall_ms);

#endif
