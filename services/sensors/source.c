#include "source.h"

#include <ctype.h>
#include <string.h>

const struct source_ops *source_lookup(const char *name, size_t len)
{
	static const struct source_ops *const all[] = {&source_sim_ops, &source_iio_ops,
						       &source_w1_ops, &source_gpio_ops};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strlen(all[i]->name) == len && strncmp(all[i]->name, name, len) == 0)
			return all[i];
	return NULL;
}

void source_readings_add(struct source_readings *out, enum proto_sensor_kind kind, double value)
{
	if (out->n < SOURCE_READINGS_MAX)
		out->r[out->n++] = (struct source_reading){.kind = kind, .value = value};
}

void source_readings_fail(struct source_readings *out, enum proto_sensor_kind kind, const char *why)
{
	if (out->n < SOURCE_READINGS_MAX)
		out->r[out->n++] = (struct source_reading){.kind = kind, .why = why};
}

void source_offers_only(bool kinds[SENSORS_KINDS], enum proto_sensor_kind kind)
{
	for (int k = 0; k < SENSORS_KINDS; k++)
		kinds[k] = k == (int)kind;
}

bool source_name_ok(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.:@", *s))
			return false;
	return true;
}

bool source_path_ok(const char *s)
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
