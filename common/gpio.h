/*
 * gpio — one GPIO line requested for both-edge events through libgpiod 1.6
 * (the kernel's line-event interface: edge interrupts queued in the kernel,
 * read from a file descriptor; nothing is sampled). The service watches
 * gpio_line_fd() with uv_poll and hands each edge to its own logic: the
 * sensors' PIR (pir.h), the feeder's flap (flap.h). Library iod_gpio.
 *
 * Thread: the loop thread. No libgpiod types leak out of this header.
 */
#ifndef IOD_COMMON_GPIO_H
#define IOD_COMMON_GPIO_H

#include <stdbool.h>

struct gpio_line;

typedef void (*gpio_edge_cb)(void *arg, bool rising);

/* The <line> of a "<chip>:<line>" spec: a decimal 0-4095 and nothing else,
 * or -1. */
int gpio_line_number(const char *text);
/* Open `chip` (name "gpiochip0", number "0", path or label) and request
 * `line` for both-edge events as `consumer` (the service, e.g. "iod-sensors").
 * NULL with *why. */
struct gpio_line *gpio_line_open(const char *chip, unsigned line, const char *consumer,
				 const char **why);
/* The event file descriptor to watch for readability. */
int gpio_line_fd(const struct gpio_line *g);
/* The line's raw level now: 0, 1, or -1 on error. */
int gpio_line_value(struct gpio_line *g);
/* Read the queued edge events (call when the fd is readable) and call cb for
 * each, oldest first. Returns how many, or -1 (the chip went away). */
int gpio_line_read(struct gpio_line *g, gpio_edge_cb cb, void *arg);
void gpio_line_close(struct gpio_line *g);

#endif
