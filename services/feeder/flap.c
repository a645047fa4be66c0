/*
 * flap — see flap.h. The spec and the watch are pure; the gpio backend is
 * common/gpio.h (libgpiod 1.6 line events, as the sensors' PIR), the sim one
 * a flag.
 * Thread: the loop thread.
 */
#include "flap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio.h"
#include "log.h"

#define FLAP_CONSUMER "iod-feeder"

/* ---- spec --------------------------------------------------------------- */

/* A chip as libgpiod looks it up: a name, number or label of plain
 * characters, or a path under /dev. */
static bool chip_ok(const char *chip)
{
	if (!chip[0])
		return false;
	if (chip[0] == '/')
		return strncmp(chip, "/dev/", 5) == 0 && !strstr(chip, "..");
	for (const char *p = chip; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
			return false;
	return true;
}

int flap_spec_parse(const char *text, struct flap_spec *out, char *why, size_t why_size)
{
	memset(out, 0, sizeof(*out));
	if (!text || strcmp(text, "none") == 0) {
		out->kind = FLAP_NONE;
		return 0;
	}
	if (strcmp(text, "sim") == 0) {
		out->kind = FLAP_SIM;
		return 0;
	}
	if (strncmp(text, "gpio:", 5) != 0) {
		snprintf(why, why_size, "unknown flap sensor (none, sim, gpio:<chip>:<line>)");
		return -1;
	}
	const char *arg = text + 5;
	const char *last = strrchr(arg, ':');
	if (!last || last == arg) {
		snprintf(why, why_size, "expected gpio:<chip>:<line>, e.g. gpio:gpiochip0:17");
		return -1;
	}
	size_t chip_len = (size_t)(last - arg);
	if (chip_len >= sizeof(out->chip)) {
		snprintf(why, why_size, "the GPIO chip's name is too long");
		return -1;
	}
	memcpy(out->chip, arg, chip_len);
	out->chip[chip_len] = '\0';
	if (!chip_ok(out->chip)) {
		snprintf(why, why_size, "bad GPIO chip name (gpiochip0, 0, a label or /dev/...)");
		return -1;
	}
	int line = gpio_line_number(last + 1);
	if (line < 0) {
		snprintf(why, why_size, "the GPIO line must be a number 0-4095");
		return -1;
	}
	out->line = (unsigned)line;
	out->kind = FLAP_GPIO;
	return 0;
}

/* ---- the decision ------------------------------------------------------- */

void flap_watch_arm(struct flap_watch *w, int64_t now_ms, int64_t timeout_ms)
{
	w->armed = true;
	w->seen = false;
	w->deadline_ms = now_ms + (timeout_ms > 0 ? timeout_ms : 0);
}

void flap_watch_opened(struct flap_watch *w, int64_t now_ms)
{
	if (w->armed && now_ms <= w->deadline_ms)
		w->seen = true;
}

enum flap_verdict flap_watch_verdict(const struct flap_watch *w, int64_t now_ms)
{
	if (!w->armed)
		return FLAP_IDLE;
	if (w->seen)
		return FLAP_SEEN;
	return now_ms > w->deadline_ms ? FLAP_JAMMED : FLAP_WAIT;
}

int64_t flap_watch_wait_ms(const struct flap_watch *w, int64_t now_ms)
{
	if (!w->armed || now_ms >= w->deadline_ms)
		return 0;
	return w->deadline_ms - now_ms;
}

void flap_watch_disarm(struct flap_watch *w)
{
	w->armed = false;
	w->seen = false;
}

/* ---- the sensor --------------------------------------------------------- */

struct flap_ops {
	int (*open)(struct flap *f, char *err, size_t err_size);
	int (*servo_opened)(struct flap *f, bool pill_falls);
	int (*read)(struct flap *f);
	void (*close)(struct flap *f);
};

struct flap {
	const struct flap_ops *ops;
	struct flap_spec spec;
	char text[96];
	struct gpio_line *gpio; /* gpio: NULL for sim */
	int fd;
};

static int sim_open(struct flap *f, char *err, size_t err_size)
{
	(void)f;
	(void)err;
	(void)err_size;
	return 0;
}

/* The sim servo's flap swings open exactly when a pill falls past it. */
static int sim_servo_opened(struct flap *f, bool pill_falls)
{
	(void)f;
	log_info("flap sim: %s", pill_falls ? "opened" : "stayed shut (the servo is jammed)");
	return pill_falls ? 1 : 0;
}

static int sim_read(struct flap *f)
{
	(void)f;
	return 0;
}

static void sim_close(struct flap *f)
{
	(void)f;
}

static int gpio_open(struct flap *f, char *err, size_t err_size)
{
	const char *why = NULL;
	f->gpio = gpio_line_open(f->spec.chip, f->spec.line, FLAP_CONSUMER, &why);
	if (!f->gpio) {
		snprintf(err, err_size, "%s", why);
		return -1;
	}
	f->fd = gpio_line_fd(f->gpio);
	return 0;
}

static int gpio_servo_opened(struct flap *f, bool pill_falls)
{
	(void)f;
	(void)pill_falls;
	return 0; /* the flap speaks for itself, on its fd */
}

static void count_rising(void *arg, bool rising)
{
	int *opened = arg;
	if (rising)
		(*opened)++;
}

static int gpio_read(struct flap *f)
{
	int opened = 0;
	return gpio_line_read(f->gpio, count_rising, &opened) < 0 ? -1 : opened;
}

static void gpio_close(struct flap *f)
{
	gpio_line_close(f->gpio);
	f->gpio = NULL;
}

static const struct flap_ops sim_ops = {sim_open, sim_servo_opened, sim_read, sim_close};
static const struct flap_ops gpio_ops = {gpio_open, gpio_servo_opened, gpio_read, gpio_close};

struct flap *flap_open(const struct flap_spec *spec, char *err, size_t err_size)
{
	if (spec->kind == FLAP_NONE) {
		snprintf(err, err_size, "no flap sensor to open");
		return NULL;
	}
	struct flap *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	f->spec = *spec;
	f->fd = -1;
	f->ops = spec->kind == FLAP_SIM ? &sim_ops : &gpio_ops;
	if (spec->kind == FLAP_SIM)
		snprintf(f->text, sizeof(f->text), "sim");
	else
		snprintf(f->text, sizeof(f->text), "gpio:%s:%u", spec->chip, spec->line);
	if (f->ops->open(f, err, err_size) < 0) {
		flap_close(f);
		return NULL;
	}
	return f;
}

int flap_fd(const struct flap *f)
{
	return f->fd;
}

int flap_servo_opened(struct flap *f, bool pill_falls)
{
	return f->ops->servo_opened(f, pill_falls);
}

int flap_read(struct flap *f)
{
	return f->ops->read(f);
}

const char *flap_backend(const struct flap *f)
{
	return f->text;
}

void flap_close(struct flap *f)
{
	if (!f)
		return;
	f->ops->close(f);
	free(f);
}
