#include "source.h"

#include "gpio.h"
#include "pir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A PIR on a GPIO line: libgpiod's edge events through pir.h. */
struct gpio_source {
	char chip[64];
	unsigned line;
	struct pir pir;
	struct gpio_line *gpio; /* NULL while closed */
	/* the events() call in progress, for on_edge */
	struct source_readings *out;
	int64_t now_ms;
};

static int gpio_parse(const char *arg, struct sensors_spec *spec, const char **why)
{
	const char *last = arg ? strrchr(arg, ':') : NULL;
	if (!last || last == arg) {
		*why = "gpio: needs <chip>:<line> (gpio:gpiochip0:17)";
		return -1;
	}
	size_t chip_len = (size_t)(last - arg);
	if (chip_len >= sizeof(spec->chip)) {
		*why = "gpio: chip name too long";
		return -1;
	}
	memcpy(spec->chip, arg, chip_len);
	spec->chip[chip_len] = '\0';
	if (!(spec->chip[0] == '/' ? source_path_ok(spec->chip) : source_name_ok(spec->chip))) {
		*why = "gpio: bad chip name";
		return -1;
	}
	int line = gpio_line_number(last + 1);
	if (line < 0) {
		*why = "gpio: line must be a number 0-4095";
		return -1;
	}
	spec->line = (unsigned)line;
	snprintf(spec->arg, sizeof(spec->arg), "%s:%u", spec->chip, spec->line);
	return 0;
}

static void *gpio_create(const struct sensors_spec *spec, const struct source_settings *set,
			 int64_t wall_ms)
{
	(void)wall_ms;
	struct gpio_source *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(g->chip, sizeof(g->chip), "%s", spec->chip);
	g->line = spec->line;
	pir_init(&g->pir, set->motion_hold_ms, set->active_low);
	return g;
}

static void gpio_close(void *state)
{
	struct gpio_source *g = state;
	gpio_line_close(g->gpio);
	g->gpio = NULL;
}

static void gpio_destroy(void *state)
{
	if (!state)
		return;
	gpio_close(state);
	free(state);
}

static void gpio_offers(void *state, bool kinds[SENSORS_KINDS])
{
	(void)state;
	source_offers_only(kinds, PROTO_SENSOR_MOTION);
}

static void add_motion(struct gpio_source *g, struct source_readings *out)
{
	source_readings_add(out, PROTO_SENSOR_MOTION, g->pir.motion ? 1.0 : 0.0);
}

/* Request the line's edge events and read its level once. */
static int gpio_open(void *state, int64_t now_ms, struct source_readings *out, const char **why)
{
	struct gpio_source *g = state;
	g->gpio = gpio_line_open(g->chip, g->line, "iod-sensors", why);
	if (!g->gpio)
		return -1;
	int level = gpio_line_value(g->gpio);
	if (level < 0) {
		gpio_close(g);
		*why = "cannot read the line";
		return -1;
	}
	pir_start(&g->pir, level == 1, now_ms);
	add_motion(g, out);
	return 0;
}

static int gpio_fd(void *state)
{
	struct gpio_source *g = state;
	return g->gpio ? gpio_line_fd(g->gpio) : -1;
}

static void on_edge(void *arg, bool rising)
{
	struct gpio_source *g = arg;
	if (pir_edge(&g->pir, rising, g->now_ms))
		add_motion(g, g->out);
}

static int gpio_events(void *state, int64_t now_ms, struct source_readings *out, const char **why)
{
	struct gpio_source *g = state;
	g->out = out;
	g->now_ms = now_ms;
	int n = gpio_line_read(g->gpio, on_edge, g);
	g->out = NULL;
	if (n < 0) {
		*why = "reading line events failed";
		return -1;
	}
	return 0;
}

/* The hold runs only while the line is open: a closed line has no edges to
 * end a motion period. */
static int64_t gpio_deadline_in(void *state, int64_t now_ms)
{
	struct gpio_source *g = state;
	return g->gpio ? pir_deadline_in(&g->pir, now_ms) : -1;
}

static void gpio_timer(void *state, int64_t now_ms, int64_t wall_ms, struct source_readings *out)
{
	(void)wall_ms;
	struct gpio_source *g = state;
	if (pir_timer(&g->pir, now_ms))
		add_motion(g, out);
}

const struct source_ops source_gpio_ops = {
    .name = "gpio",
    .parse = gpio_parse,
    .create = gpio_create,
    .destroy = gpio_destroy,
    .offers = gpio_offers,
    .open = gpio_open,
    .fd = gpio_fd,
    .events = gpio_events,
    .close = gpio_close,
    .deadline_in = gpio_deadline_in,
    .timer = gpio_timer,
};
