#include "sensors.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sensors_backend_name(enum sensors_backend b)
{
	switch (b) {
	case SENSORS_BACKEND_SIM:
		return "sim";
	case SENSORS_BACKEND_IIO:
		return "iio";
	case SENSORS_BACKEND_W1:
		return "w1";
	case SENSORS_BACKEND_GPIO:
		return "gpio";
	}
	return "?";
}

/* A sysfs name or 1-wire id: no separators, no "..", nothing a shell or a
 * path join could misread. IIO paths ("/sys/...") are checked separately. */
static bool name_ok(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.:@", *s))
			return false;
	return true;
}

static bool path_ok(const char *s)
{
	if (s[0] != '/' || strstr(s, "/../") || strstr(s, "/./"))
		return false;
	size_t len = strlen(s);
	if (len >= 3 && strcmp(s + len - 3, "/..") == 0)
		return false;
	for (; *s; s++)
		if (!isprint((unsigned char)*s) || *s == ',')
			return false;
	return true;
}

static int parse_one(const char *entry, struct sensors_spec *spec, const char **why)
{
	memset(spec, 0, sizeof(*spec));
	if (strlen(entry) >= sizeof(spec->text)) {
		*why = "entry too long";
		return -1;
	}
	strcpy(spec->text, entry);
	const char *colon = strchr(entry, ':');
	size_t scheme_len = colon ? (size_t)(colon - entry) : strlen(entry);
	const char *arg = colon ? colon + 1 : "";

	if (scheme_len == 3 && strncmp(entry, "sim", 3) == 0) {
		if (colon) {
			*why = "sim takes no argument";
			return -1;
		}
		spec->backend = SENSORS_BACKEND_SIM;
		return 0;
	}
	if (strlen(arg) >= sizeof(spec->arg)) {
		*why = "argument too long";
		return -1;
	}
	if (scheme_len == 3 && strncmp(entry, "iio", 3) == 0) {
		spec->backend = SENSORS_BACKEND_IIO;
		if (!(arg[0] == '/' ? path_ok(arg) : name_ok(arg))) {
			*why = "iio: needs a device name (bme280), a directory (iio:device0) or an "
			       "absolute path";
			return -1;
		}
		strcpy(spec->arg, arg);
		return 0;
	}
	if (scheme_len == 2 && strncmp(entry, "w1", 2) == 0) {
		spec->backend = SENSORS_BACKEND_W1;
		if (!name_ok(arg)) {
			*why = "w1: needs a slave id (28-0316a27983ff)";
			return -1;
		}
		strcpy(spec->arg, arg);
		return 0;
	}
	if (scheme_len == 4 && strncmp(entry, "gpio", 4) == 0) {
		spec->backend = SENSORS_BACKEND_GPIO;
		const char *last = strrchr(arg, ':');
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
		if (!(spec->chip[0] == '/' ? path_ok(spec->chip) : name_ok(spec->chip))) {
			*why = "gpio: bad chip name";
			return -1;
		}
		const char *num = last + 1;
		char *end = NULL;
		errno = 0;
		long line = isdigit((unsigned char)num[0]) ? strtol(num, &end, 10) : -1;
		if (line < 0 || errno || !end || *end || line > 4095) {
			*why = "gpio: line must be a number 0-4095";
			return -1;
		}
		spec->line = (unsigned)line;
		snprintf(spec->arg, sizeof(spec->arg), "%s:%u", spec->chip, spec->line);
		return 0;
	}
	*why = "unknown backend (sim, iio:, w1:, gpio:)";
	return -1;
}

int sensors_spec_parse(const char *list, struct sensors_spec *out, size_t cap, size_t *n,
		       const char **why)
{
	*n = 0;
	if (!list) {
		*why = "empty";
		return -1;
	}
	size_t len = strlen(list);
	char *copy = malloc(len + 1);
	if (!copy) {
		*why = "out of memory";
		return -1;
	}
	memcpy(copy, list, len + 1);
	int rc = 0;
	bool any = false;
	char *next = copy;
	while (next) {
		char *tok = next;
		char *comma = strchr(tok, ',');
		next = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		while (isspace((unsigned char)*tok))
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok) {
			*why = "empty entry";
			rc = -1;
			break;
		}
		if (*n >= cap) {
			*why = "too many entries";
			rc = -1;
			break;
		}
		if (parse_one(tok, &out[*n], why) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < *n; i++) {
			if (strcmp(out[i].text, out[*n].text) == 0 ||
			    (out[i].backend == SENSORS_BACKEND_SIM &&
			     out[*n].backend == SENSORS_BACKEND_SIM)) {
				*why = "listed twice";
				rc = -1;
				break;
			}
		}
		if (rc < 0)
			break;
		(*n)++;
		any = true;
	}
	free(copy);
	if (rc == 0 && !any) {
		*why = "empty";
		rc = -1;
	}
	if (rc < 0)
		*n = 0;
	return rc;
}

void sensors_policy_defaults(struct sensors_policy out[SENSORS_KINDS], int64_t heartbeat_ms)
{
	static const struct {
		double deadband, resolution;
	} table[SENSORS_KINDS] = {
	    [PROTO_SENSOR_TEMPERATURE] = {0.2, 0.01}, [PROTO_SENSOR_HUMIDITY] = {1.0, 0.1},
	    [PROTO_SENSOR_MOTION] = {0.0, 1.0},	      [PROTO_SENSOR_SOUND] = {3.0, 0.1},
	    [PROTO_SENSOR_BOWL] = {5.0, 1.0},
	};
	for (int k = 0; k < SENSORS_KINDS; k++) {
		out[k].deadband = table[k].deadband;
		out[k].resolution = table[k].resolution;
		out[k].heartbeat_ms = heartbeat_ms;
	}
}

int sensors_parse_number(const char *text, double min, double max, double *out)
{
	if (!text)
		return -1;
	while (isspace((unsigned char)*text))
		text++;
	if (!*text)
		return -1;
	char *end = NULL;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || errno == ERANGE || !isfinite(v))
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

double sensors_round(double value, double resolution)
{
	if (resolution <= 0)
		return value;
	double r = round(value / resolution) * resolution;
	/* 21.349999999 printed as 21.35: trim the binary noise the multiply adds. */
	return round(r * 1e6) / 1e6;
}

enum sensors_decision sensors_pub_sample(struct sensors_pub *p, double value, int64_t now_ms)
{
	double v = sensors_round(value, p->policy.resolution);
	p->samples++;
	p->sample = v;
	p->has_sample = true;

	bool changed;
	if (!p->has_published)
		changed = true;
	else if (p->policy.deadband <= 0)
		changed = v != p->published;
	else
		/* A small epsilon so that 21.2 -> 21.4 counts as 0.2 despite binary rounding. */
		changed = fabs(v - p->published) >= p->policy.deadband - 1e-9;

	enum sensors_decision d = SENSORS_SKIP;
	if (changed) {
		d = SENSORS_PUBLISH_CHANGE;
		p->changes++;
	} else if (now_ms - p->published_ms >= p->policy.heartbeat_ms) {
		d = SENSORS_PUBLISH_HEARTBEAT;
		p->heartbeats++;
	}
	if (d != SENSORS_SKIP) {
		p->has_published = true;
		p->published = v;
		p->published_ms = now_ms;
	}
	return d;
}

enum sensors_decision sensors_pub_heartbeat(struct sensors_pub *p, int64_t now_ms)
{
	if (!p->has_sample || !p->has_published ||
	    now_ms - p->published_ms < p->policy.heartbeat_ms)
		return SENSORS_SKIP;
	p->heartbeats++;
	p->published = p->sample;
	p->published_ms = now_ms;
	return SENSORS_PUBLISH_HEARTBEAT;
}

int64_t sensors_pub_heartbeat_in(const struct sensors_pub *p, int64_t now_ms)
{
	if (!p->has_sample || !p->has_published)
		return -1;
	int64_t due = p->published_ms + p->policy.heartbeat_ms - now_ms;
	return due > 0 ? due : 0;
}

bool sensors_pub_republish(struct sensors_pub *p, int64_t now_ms)
{
	if (!p->has_sample)
		return false;
	p->has_published = true;
	p->published = p->sample;
	p->published_ms = now_ms;
	return true;
}

void sensors_pub_lost(struct sensors_pub *p)
{
	p->has_sample = false;
}

enum sensors_health_event sensors_health_ok(struct sensors_health *h)
{
	h->failures = 0;
	if (h->lost) {
		h->lost = false;
		return SENSORS_HEALTH_RECOVERED;
	}
	return SENSORS_HEALTH_NONE;
}

enum sensors_health_event sensors_health_fail(struct sensors_health *h)
{
	if (h->failures < SENSORS_LOST_AFTER)
		h->failures++;
	if (!h->lost && h->failures >= SENSORS_LOST_AFTER) {
		h->lost = true;
		return SENSORS_HEALTH_LOST;
	}
	return SENSORS_HEALTH_NONE;
}
