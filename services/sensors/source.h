/*
 * source — where readings come from, behind an ops table picked by each
 * IOD_SENSORS entry: `sim`, `iio:<name|iio:deviceN|path>`, `w1:<id>`,
 * `gpio:<chip>:<line>` (as the feeder's servo.h and the camera's source.h).
 *
 * A source owns no timer, thread or event loop. The service drives it in
 * the ways its ops say, by which members are set:
 *  - read(): a sample of everything it offers that may block (a DS18B20
 *    converts for ~750 ms), run on libuv's threadpool every
 *    IOD_SENSORS_INTERVAL, one in flight per source;
 *  - open(), fd(), events(), close(): an event source (a GPIO line's edges):
 *    fd() is watched with uv_poll, events() called when it is readable; an
 *    open() or events() that fails closes it and opens again after the
 *    interval;
 *  - deadline_in(), timer(): one one-shot timer to the next thing the source
 *    does by itself (the sim's ticks, the PIR's hold), re-armed after every
 *    call into the source.
 * Everything runs on the loop thread except read(), which runs on a
 * threadpool thread and touches only its own state. No libuv, Paho or clock
 * in here: `now_ms` is the monotonic clock, `wall_ms` the wall clock.
 */
#ifndef IOD_SENSORS_SOURCE_H
#define IOD_SENSORS_SOURCE_H

#include "sensors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What every source may need from the settings. */
struct source_settings {
	const char *sysfs_root; /* IOD_SENSORS_SYSFS_ROOT */
	double bowl_tare;	/* IOD_SENSORS_BOWL_TARE, HX711 raw counts */
	double bowl_scale;	/* IOD_SENSORS_BOWL_SCALE, grams per count */
	int64_t motion_hold_ms; /* IOD_SENSORS_MOTION_HOLD */
	bool active_low;	/* IOD_SENSORS_GPIO_ACTIVE_LOW */
	uint64_t seed;		/* IOD_SENSORS_SEED */
};

/* More than a GPIO read batch can change (16 edges) and the sim's five. */
#define SOURCE_READINGS_MAX 16

/* A value of a kind, or a failed read of it (`why` set, a static string). */
struct source_reading {
	enum proto_sensor_kind kind;
	double value;
	const char *why;
};

/* What one call produced, oldest first. */
struct source_readings {
	size_t n;
	struct source_reading r[SOURCE_READINGS_MAX];
};

void source_readings_add(struct source_readings *out, enum proto_sensor_kind kind, double value);
void source_readings_fail(struct source_readings *out, enum proto_sensor_kind kind,
			  const char *why);

struct source_ops {
	const char *name; /* the text before the colon: "sim", "iio", "w1", "gpio" */
	/* Claims only the kinds no other entry offers, after all of them (the
	 * sim fills in what the hardware does not provide). */
	bool fallback;
	/* The text after "<name>:" (NULL when the entry has no colon) into
	 * spec->arg (gpio: also chip and line). Pure. 0, or -1 with *why. */
	int (*parse)(const char *arg, struct sensors_spec *spec, const char **why);
	/* The state for one entry. Opens nothing that may be missing at start
	 * (a device may appear later). NULL: out of memory. */
	void *(*create)(const struct sensors_spec *spec, const struct source_settings *set,
			int64_t wall_ms);
	void (*destroy)(void *state);
	/* The kinds it offers now, as far as it can tell at start (an IIO
	 * device is looked up in sysfs; one not there yet offers none and
	 * claims its kinds at its first good read). Before any read(). */
	void (*offers)(void *state, bool kinds[SENSORS_KINDS]);

	/* Sampled: every kind it offers, or -1 with *why when the device is not
	 * there at all. Threadpool thread; may block. */
	int (*read)(void *state, struct source_readings *out, const char **why);

	/* Event source: 0 with the current state in out, or -1 with *why (then
	 * closed by itself). */
	int (*open)(void *state, int64_t now_ms, struct source_readings *out, const char **why);
	int (*fd)(void *state);
	/* fd() is readable: what changed, or -1 with *why (the device is gone;
	 * the service calls close()). */
	int (*events)(void *state, int64_t now_ms, struct source_readings *out, const char **why);
	void (*close)(void *state);

	/* Milliseconds until timer() is due, or -1 for no timer. */
	int64_t (*deadline_in)(void *state, int64_t now_ms);
	void (*timer)(void *state, int64_t now_ms, int64_t wall_ms, struct source_readings *out);

	/* The sim feeder's dispenser let something fall (its sim/dispensed
	 * topic): a dose's portion, or a treat. */
	void (*fed)(void *state, int64_t wall_ms, bool treat, struct source_readings *out);
};

extern const struct source_ops source_sim_ops;
extern const struct source_ops source_iio_ops;
extern const struct source_ops source_w1_ops;
extern const struct source_ops source_gpio_ops;

/* For offers(): `kind` and nothing else. */
void source_offers_only(bool kinds[SENSORS_KINDS], enum proto_sensor_kind kind);

/* The ops whose name is the first `len` bytes of `name`, or NULL. */
const struct source_ops *source_lookup(const char *name, size_t len);

/* For the parsers: a sysfs name or 1-wire id (no separators, no "..",
 * nothing a shell or a path join could misread), and an absolute path
 * without "." or ".." components. */
bool source_name_ok(const char *s);
bool source_path_ok(const char *s);

#endif
