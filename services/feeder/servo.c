#include "servo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct servo_ops {
	const char *name;
	int (*open)(struct servo *s, const char *args, char *err, size_t err_size);
	int (*move)(struct servo *s, enum servo_position pos);
	void (*close)(struct servo *s);
};

struct servo {
	const struct servo_ops *ops;
	struct servo_settings settings;
	char spec[64];
	enum servo_position position;
	uint64_t moves;
	char dir[PATH_MAX]; /* pwm: <root>/pwmchipN/pwmM */
};

static const char *pos_name(enum servo_position p)
{
	return p == SERVO_OPEN ? "open" : "rest";
}

/* ---- sim ------------------------------------------------------------------ */

static int sim_open(struct servo *s, const char *args, char *err, size_t err_size)
{
	(void)s;
	if (args && *args) {
		snprintf(err, err_size, "the sim servo takes no arguments");
		return -EINVAL;
	}
	return 0;
}

static int sim_move(struct servo *s, enum servo_position pos)
{
	if (s->settings.sim_jam && pos == SERVO_OPEN)
		log_info("servo sim: %s -> %s (jammed: nothing falls)", pos_name(s->position),
			 pos_name(pos));
	else
		log_info("servo sim: %s -> %s", pos_name(s->position), pos_name(pos));
	return 0;
}

static void sim_close(struct servo *s)
{
	(void)s;
}

/* ---- pwm sysfs -------------------------------------------------------------- */

static int write_attr(const char *dir, const char *attr, int64_t value)
{
	char path[PATH_MAX + 32], text[32];
	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	int len = snprintf(text, sizeof(text), "%" PRId64, value);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, text, (size_t)len);
	int rc = w == len ? 0 : w < 0 ? -errno : -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int parse_index(const char *text, const char **end, long *out)
{
	char *e;
	errno = 0;
	long v = strtol(text, &e, 10);
	if (e == text || errno || v < 0 || v > 1023 || *text == '+' || *text == '-')
		return -1;
	*end = e;
	*out = v;
	return 0;
}

static int pwm_open(struct servo *s, const char *args, char *err, size_t err_size)
{
	long chip, channel;
	const char *p = args ? args : "";
	if (parse_index(p, &p, &chip) < 0 || *p != ':' || parse_index(p + 1, &p, &channel) < 0 ||
	    *p != '\0') {
		snprintf(err, err_size, "expected pwm:<chip>:<channel>, e.g. pwm:0:0");
		return -EINVAL;
	}
	const struct servo_settings *st = &s->settings;
	if (st->rest_us <= 0 || st->open_us <= 0 || st->rest_us * 1000 > st->period_ns ||
	    st->open_us * 1000 > st->period_ns) {
		snprintf(err, err_size, "pulse widths must be > 0 and within the period");
		return -EINVAL;
	}
	char chip_dir[PATH_MAX - 16];
	if (snprintf(chip_dir, sizeof(chip_dir), "%s/pwmchip%ld", st->pwm_root, chip) >=
	    (int)sizeof(chip_dir)) {
		snprintf(err, err_size, "IOD_FEEDER_PWM_ROOT is too long");
		return -ENAMETOOLONG;
	}
	if (!is_dir(chip_dir)) {
		snprintf(err, err_size, "%s: no such PWM chip", chip_dir);
		return -ENOENT;
	}
	if (snprintf(s->dir, sizeof(s->dir), "%s/pwm%ld", chip_dir, channel) >= (int)sizeof(s->dir))
		return -ENAMETOOLONG;
	if (!is_dir(s->dir)) {
		int rc = write_attr(chip_dir, "export", channel);
		if (rc < 0) {
			snprintf(err, err_size, "%s/export: %s", chip_dir, strerror(-rc));
			return rc;
		}
		/* The kernel creates pwmM/ at once, but udev may still be fixing
		 * its permissions: wait a little, once, at start. */
		int wait_ms = st->export_wait_ms > 0 ? st->export_wait_ms : 1000;
		for (int waited = 0; !is_dir(s->dir); waited += 10) {
			if (waited >= wait_ms) {
				snprintf(err, err_size, "%s did not appear after export", s->dir);
				return -ETIMEDOUT;
			}
			nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
		}
	}
	int rc = write_attr(s->dir, "period", st->period_ns);
	if (rc == -EINVAL) {
		/* The old duty cycle is longer than the new period: clear it. */
		write_attr(s->dir, "duty_cycle", 0);
		rc = write_attr(s->dir, "period", st->period_ns);
	}
	if (rc == 0)
		rc = write_attr(s->dir, "duty_cycle", st->rest_us * 1000);
	if (rc == 0)
		rc = write_attr(s->dir, "enable", 1);
	if (rc < 0) {
		snprintf(err, err_size, "%s: %s", s->dir, strerror(-rc));
		return rc;
	}
	return 0;
}

static int pwm_move(struct servo *s, enum servo_position pos)
{
	int64_t us = pos == SERVO_OPEN ? s->settings.open_us : s->settings.rest_us;
	int rc = write_attr(s->dir, "duty_cycle", us * 1000);
	if (rc < 0)
		log_error("servo %s: duty_cycle %" PRId64 " us: %s", s->spec, us, strerror(-rc));
	return rc;
}

static void pwm_close(struct servo *s)
{
	(void)s; /* stays enabled at rest: the servo holds the feeder closed */
}

static const struct servo_ops backends[] = {
    {"sim", sim_open, sim_move, sim_close},
    {"pwm", pwm_open, pwm_move, pwm_close},
};

struct servo *servo_open(const char *spec, const struct servo_settings *settings, char *err,
			 size_t err_size)
{
	const char *colon = strchr(spec, ':');
	size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
	const struct servo_ops *ops = NULL;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strlen(backends[i].name) == name_len &&
		    strncmp(backends[i].name, spec, name_len) == 0)
			ops = &backends[i];
	if (!ops) {
		snprintf(err, err_size, "unknown servo '%s' (sim, pwm:<chip>:<channel>)", spec);
		return NULL;
	}
	struct servo *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->ops = ops;
	s->settings = *settings;
	snprintf(s->spec, sizeof(s->spec), "%s", spec);
	s->position = SERVO_REST;
	if (ops->open(s, colon ? colon + 1 : NULL, err, err_size) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

int servo_move(struct servo *s, enum servo_position pos)
{
	int rc = s->ops->move(s, pos);
	if (rc == 0) {
		s->position = pos;
		s->moves++;
	}
	return rc;
}

enum servo_position servo_position(const struct servo *s)
{
	return s->position;
}

const char *servo_backend(const struct servo *s)
{
	return s->spec;
}

uint64_t servo_moves(const struct servo *s)
{
	return s->moves;
}

bool servo_is_sim(const struct servo *s)
{
	return strcmp(s->ops->name, "sim") == 0;
}

bool servo_sim_dispenses(const struct servo *s)
{
	return servo_is_sim(s) && !s->settings.sim_jam;
}

void servo_close(struct servo *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}
