/*
 * gpio — see gpio.h: libgpiod 1.6 calls for one line's edge events.
 * Thread: the loop thread.
 */
#include "gpio.h"

#include <ctype.h>
#include <errno.h>
#include <gpiod.h>
#include <stdlib.h>

#define GPIO_READ_BATCH 16

struct gpio_line {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	int fd;
};

int gpio_line_number(const char *text)
{
	if (!isdigit((unsigned char)text[0]))
		return -1;
	char *end = NULL;
	errno = 0;
	long line = strtol(text, &end, 10);
	if (errno || *end || line > 4095)
		return -1;
	return (int)line;
}

struct gpio_line *gpio_line_open(const char *chip, unsigned line, const char *consumer,
				 const char **why)
{
	struct gpio_line *g = calloc(1, sizeof(*g));
	if (!g) {
		*why = "out of memory";
		return NULL;
	}
	g->chip = gpiod_chip_open_lookup(chip);
	if (!g->chip) {
		*why = "no such GPIO chip";
		goto fail;
	}
	g->line = gpiod_chip_get_line(g->chip, line);
	if (!g->line) {
		*why = "no such line on the chip";
		goto fail;
	}
	if (gpiod_line_request_both_edges_events(g->line, consumer) < 0) {
		*why = "line busy or edge events not supported";
		g->line = NULL;
		goto fail;
	}
	g->fd = gpiod_line_event_get_fd(g->line);
	if (g->fd < 0) {
		*why = "no event fd";
		goto fail;
	}
	return g;
fail:
	gpio_line_close(g);
	return NULL;
}

int gpio_line_fd(const struct gpio_line *g)
{
	return g->fd;
}

int gpio_line_value(struct gpio_line *g)
{
	return gpiod_line_get_value(g->line);
}

int gpio_line_read(struct gpio_line *g, gpio_edge_cb cb, void *arg)
{
	struct gpiod_line_event events[GPIO_READ_BATCH];
	int n = gpiod_line_event_read_multiple(g->line, events, GPIO_READ_BATCH);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		cb(arg, events[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE);
	return n;
}

void gpio_line_close(struct gpio_line *g)
{
	if (!g)
		return;
	if (g->line)
		gpiod_line_release(g->line);
	if (g->chip)
		gpiod_chip_close(g->chip);
	free(g);
}
