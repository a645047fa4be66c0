#include "source.h"

#include "sysfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- iio ------------------------------------------------------------------- */

static int iio_parse(const char *arg, struct sensors_spec *spec, const char **why)
{
	if (!arg || !(arg[0] == '/' ? source_path_ok(arg) : source_name_ok(arg))) {
		*why =
		    "iio: needs a device name (bme280), a directory (iio:device0) or an absolute "
		    "path";
		return -1;
	}
	snprintf(spec->arg, sizeof(spec->arg), "%s", arg);
	return 0;
}

static void *iio_create(const struct sensors_spec *spec, const struct source_settings *set,
			int64_t wall_ms)
{
	(void)wall_ms;
	struct iio_cal cal = {.bowl_tare = set->bowl_tare, .bowl_scale = set->bowl_scale};
	return iio_new(set->sysfs_root, spec->arg, &cal);
}

static void iio_destroy(void *state)
{
	iio_free(state);
}

static void iio_offers(void *state, bool kinds[SENSORS_KINDS])
{
	const char *unused;
	bool found = iio_resolve(state, &unused) == 0;
	for (int k = 0; k < SENSORS_KINDS; k++)
		kinds[k] = found && iio_has(state, (enum proto_sensor_kind)k);
}

static int iio_read_all(void *state, struct source_readings *out, const char **why)
{
	struct iio_dev *d = state;
	if (iio_resolve(d, why) < 0)
		return -1;
	for (int k = 0; k < SENSORS_KINDS; k++) {
		enum proto_sensor_kind kind = (enum proto_sensor_kind)k;
		if (!iio_has(d, kind))
			continue;
		double value;
		const char *failed = NULL;
		if (iio_read(d, kind, &value, &failed) == 0)
			source_readings_add(out, kind, value);
		else
			source_readings_fail(out, kind, failed ? failed : "channel missing");
	}
	return 0;
}

const struct source_ops source_iio_ops = {
    .name = "iio",
    .parse = iio_parse,
    .create = iio_create,
    .destroy = iio_destroy,
    .offers = iio_offers,
    .read = iio_read_all,
};

/* ---- 1-wire -------------------------------------------------------------- */

struct w1_source {
	const char *root; /* the settings' IOD_SENSORS_SYSFS_ROOT, which outlives it */
	char id[SENSORS_ARG_MAX];
};

static int w1_parse(const char *arg, struct sensors_spec *spec, const char **why)
{
	if (!arg || !source_name_ok(arg)) {
		*why = "w1: needs a slave id (28-0316a27983ff)";
		return -1;
	}
	snprintf(spec->arg, sizeof(spec->arg), "%s", arg);
	return 0;
}

static void *w1_create(const struct sensors_spec *spec, const struct source_settings *set,
		       int64_t wall_ms)
{
	(void)wall_ms;
	struct w1_source *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->root = set->sysfs_root;
	snprintf(w->id, sizeof(w->id), "%s", spec->arg);
	return w;
}

static void w1_destroy(void *state)
{
	free(state);
}

static void w1_offers(void *state, bool kinds[SENSORS_KINDS])
{
	(void)state;
	source_offers_only(kinds, PROTO_SENSOR_TEMPERATURE);
}

static int w1_read_all(void *state, struct source_readings *out, const char **why)
{
	(void)why; /* a missing probe is a failed read of its one kind */
	struct w1_source *w = state;
	double celsius;
	const char *failed = NULL;
	if (w1_read(w->root, w->id, &celsius, &failed) == 0)
		source_readings_add(out, PROTO_SENSOR_TEMPERATURE, celsius);
	else
		source_readings_fail(out, PROTO_SENSOR_TEMPERATURE,
				     failed ? failed : "channel missing");
	return 0;
}

const struct source_ops source_w1_ops = {
    .name = "w1",
    .parse = w1_parse,
    .create = w1_create,
    .destroy = w1_destroy,
    .offers = w1_offers,
    .read = w1_read_all,
};
