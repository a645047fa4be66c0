#include "source.h"

#include "sim.h"

#include <stdlib.h>

/* The sim on the loop: one timer to whichever tick is due next (activity
 * every second, climate every ten), both at once at start. */
struct sim_source {
	struct sim *sim;
	bool ticked;
	int64_t next_activity_ms, next_climate_ms; /* monotonic */
};

static int sim_parse(const char *arg, struct sensors_spec *spec, const char **why)
{
	(void)spec;
	if (arg) {
		*why = "sim takes no argument";
		return -1;
	}
	return 0;
}

static void *sim_create(const struct sensors_spec *spec, const struct source_settings *set,
			int64_t wall_ms)
{
	(void)spec;
	struct sim_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->sim = sim_new(set->seed, wall_ms);
	if (!s->sim) {
		free(s);
		return NULL;
	}
	return s;
}

static void sim_destroy(void *state)
{
	struct sim_source *s = state;
	if (!s)
		return;
	sim_free(s->sim);
	free(s);
}

static void sim_offers(void *state, bool kinds[SENSORS_KINDS])
{
	(void)state;
	for (int k = 0; k < SENSORS_KINDS; k++)
		kinds[k] = true;
}

static int64_t sim_deadline_in(void *state, int64_t now_ms)
{
	struct sim_source *s = state;
	if (!s->ticked)
		return 0;
	int64_t next =
	    s->next_climate_ms < s->next_activity_ms ? s->next_climate_ms : s->next_activity_ms;
	return next > now_ms ? next - now_ms : 0;
}

static void add(struct source_readings *out, const struct sim *sim, enum proto_sensor_kind k)
{
	source_readings_add(out, k, sim_value(sim, k));
}

/* A tick that is late is not caught up: the next one is a period from now,
 * as a repeating timer would be. */
static void sim_timer(void *state, int64_t now_ms, int64_t wall_ms, struct source_readings *out)
{
	struct sim_source *s = state;
	if (!s->ticked || now_ms >= s->next_climate_ms) {
		sim_tick_climate(s->sim, wall_ms);
		add(out, s->sim, PROTO_SENSOR_TEMPERATURE);
		add(out, s->sim, PROTO_SENSOR_HUMIDITY);
		s->next_climate_ms = now_ms + SIM_CLIMATE_PERIOD_MS;
	}
	if (!s->ticked || now_ms >= s->next_activity_ms) {
		sim_tick_activity(s->sim, wall_ms);
		add(out, s->sim, PROTO_SENSOR_MOTION);
		add(out, s->sim, PROTO_SENSOR_SOUND);
		add(out, s->sim, PROTO_SENSOR_BOWL);
		s->next_activity_ms = now_ms + SIM_ACTIVITY_PERIOD_MS;
	}
	s->ticked = true;
}

static void sim_fed(void *state, int64_t wall_ms, bool treat, struct source_readings *out)
{
	struct sim_source *s = state;
	if (treat)
		sim_treat(s->sim, wall_ms);
	else
		sim_feed(s->sim, wall_ms);
	add(out, s->sim, PROTO_SENSOR_BOWL);
}

const struct source_ops source_sim_ops = {
    .name = "sim",
    .fallback = true,
    .parse = sim_parse,
    .create = sim_create,
    .destroy = sim_destroy,
    .offers = sim_offers,
    .deadline_in = sim_deadline_in,
    .timer = sim_timer,
    .fed = sim_fed,
};
