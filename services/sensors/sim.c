#include "sim.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define PI 3.14159265358979323846

struct sim {
	uint64_t rng;
	/* room */
	double temp_drift, hum_drift;
	double temperature, humidity;
	/* dog */
	bool active;
	int active_left_s;
	int bark_left_s;
	int hungry_s; /* > 0: coming to / eating at the bowl after a dose */
	double sound, bowl;
};

/* splitmix64: tiny, fast, and the same sequence on every platform. */
static uint64_t next_u64(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double uniform(struct sim *s)
{
	return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

static double uniform_in(struct sim *s, double lo, double hi)
{
	return lo + (hi - lo) * uniform(s);
}

/* Standard normal (Box-Muller; one of the pair is thrown away for simplicity). */
static double gauss(struct sim *s)
{
	double u1 = uniform(s), u2 = uniform(s);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

double sim_local_hour(int64_t wall_ms)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return 12.0;
	return tm.tm_hour + tm.tm_min / 60.0 + tm.tm_sec / 3600.0;
}

static bool daytime(double hour)
{
	return hour >= 7.0 && hour < 22.0;
}

struct sim *sim_new(uint64_t seed, int64_t wall_ms)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rng = seed ^ 0x6a09e667f3bcc909ULL;
	s->bowl = SIM_BOWL_START_G;
	s->sound = 30.0;
	sim_tick_climate(s, wall_ms);
	return s;
}

void sim_free(struct sim *s)
{
	free(s);
}

void sim_tick_climate(struct sim *s, int64_t wall_ms)
{
	double hour = sim_local_hour(wall_ms);
	/* Warmest at 15:00, coolest at 03:00. */
	double cycle = sin(2.0 * PI * (hour - 9.0) / 24.0);
	/* AR(1) drift: wanders a few tenths over an hour, never runs away. */
	s->temp_drift = 0.995 * s->temp_drift + 0.03 * gauss(s);
	s->hum_drift = 0.995 * s->hum_drift + 0.15 * gauss(s);
	s->temperature = 21.0 + 2.0 * cycle + s->temp_drift + 0.03 * gauss(s);
	double h = 50.0 - 7.0 * cycle + s->hum_drift + 0.3 * gauss(s);
	s->humidity = h < 5 ? 5 : h > 95 ? 95 : h;
}

void sim_tick_activity(struct sim *s, int64_t wall_ms)
{
	double hour = sim_local_hour(wall_ms);
	bool day = daytime(hour);

	if (s->hungry_s > 0)
		s->hungry_s--;
	if (!s->active) {
		/* Rests ~10 min between bursts by day, ~1 h by night; a dose wakes it. */
		double p = day ? 1.0 / 600 : 1.0 / 3600;
		if (s->hungry_s > 0 && s->bowl > 0)
			p = 0.2;
		if (uniform(s) < p) {
			s->active = true;
			s->active_left_s = (int)uniform_in(s, 15, 150);
		}
	} else if (--s->active_left_s <= 0 && s->hungry_s == 0) {
		s->active = false;
	}

	/* Barks: mostly while it moves. */
	if (s->bark_left_s > 0) {
		s->bark_left_s--;
	} else if (uniform(s) < (s->active ? 0.03 : 0.0005)) {
		s->bark_left_s = (int)uniform_in(s, 1, 4);
	}
	double ambient = (day ? 34.0 : 27.0) + (s->active ? 6.0 : 0.0) + 1.2 * gauss(s);
	s->sound = s->bark_left_s > 0 ? uniform_in(s, 72, 90) : ambient;

	/* Eating: steadily while hungry and at the bowl, a nibble now and then. */
	if (s->active && s->bowl > 0) {
		double p = s->hungry_s > 0 ? 0.5 : 0.01;
		if (uniform(s) < p) {
			double bite = uniform_in(s, 2, 7);
			s->bowl = bite > s->bowl ? 0 : s->bowl - bite;
			if (s->bowl == 0)
				s->hungry_s = 0;
		}
	}
}

static void fill(struct sim *s, double grams)
{
	s->bowl += grams;
	if (s->bowl > SIM_BOWL_MAX_G)
		s->bowl = SIM_BOWL_MAX_G;
	/* It hears the feeder and comes over within a few seconds. */
	s->hungry_s = (int)uniform_in(s, 120, 300);
}

void sim_feed(struct sim *s, int64_t wall_ms)
{
	(void)wall_ms;
	fill(s, SIM_PORTION_G);
}

void sim_treat(struct sim *s, int64_t wall_ms)
{
	(void)wall_ms;
	fill(s, SIM_TREAT_G);
}

double sim_value(const struct sim *s, enum proto_sensor_kind kind)
{
	switch (kind) {
	case PROTO_SENSOR_TEMPERATURE:
		return s->temperature;
	case PROTO_SENSOR_HUMIDITY:
		return s->humidity;
	case PROTO_SENSOR_MOTION:
		return s->active ? 1.0 : 0.0;
	case PROTO_SENSOR_SOUND:
		return s->sound;
	case PROTO_SENSOR_BOWL:
		return s->bowl;
	default:
		return 0.0;
	}
}
