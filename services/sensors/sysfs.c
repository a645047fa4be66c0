#include "sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYSFS_PATH_MAX 512

int sysfs_read_text(const char *path, char *buf, size_t size)
{
	if (size < 2)
		return -EINVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	int rc = 0;
	for (;;) {
		ssize_t got = read(fd, buf + len, size - 1 - len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len == size - 1) {
			char extra;
			ssize_t more = read(fd, &extra, 1);
			if (more > 0)
				rc = -E2BIG;
			break;
		}
	}
	close(fd);
	if (rc < 0)
		return rc;
	buf[len] = '\0';
	return len == 0 ? -EINVAL : 0;
}

int sysfs_parse_number(const char *text, double *out)
{
	const char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return -1;
	char *end = NULL;
	errno = 0;
	double v = strtod(p, &end);
	if (end == p || errno == ERANGE || !isfinite(v))
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* ---- 1-wire ---------------------------------------------------------------- */

static int w1_check_celsius(double millis, double *celsius, const char **why)
{
	if (millis == 85000) {
		*why = "85 °C power-on value (no conversion yet)";
		return -1;
	}
	double c = millis / 1000.0;
	if (c < -55 || c > 125) {
		*why = "out of the DS18B20 range";
		return -1;
	}
	*celsius = c;
	return 0;
}

int w1_parse_slave(const char *text, double *celsius, const char **why)
{
	const char *nl = strchr(text, '\n');
	if (!nl) {
		*why = "w1_slave: truncated";
		return -1;
	}
	const char *crc = strstr(text, "crc=");
	if (!crc || crc > nl) {
		*why = "w1_slave: no crc";
		return -1;
	}
	/* "crc=57 YES" — the verdict is the last word of the first line. */
	const char *verdict = nl;
	while (verdict > crc && verdict[-1] == ' ')
		verdict--;
	if (verdict - crc < 3 || strncmp(verdict - 3, "YES", 3) != 0) {
		*why = "w1_slave: crc error";
		return -1;
	}
	const char *t = strstr(nl + 1, "t=");
	if (!t) {
		*why = "w1_slave: no t=";
		return -1;
	}
	char *end = NULL;
	errno = 0;
	long millis = strtol(t + 2, &end, 10);
	if (end == t + 2 || errno || (*end && *end != '\n' && *end != ' ')) {
		*why = "w1_slave: t= is not a number";
		return -1;
	}
	return w1_check_celsius((double)millis, celsius, why);
}

int w1_read(const char *root, const char *id, double *celsius, const char **why)
{
	char path[SYSFS_PATH_MAX];
	char buf[256];
	if (snprintf(path, sizeof(path), "%s/bus/w1/devices/%s/temperature", root, id) >=
	    (int)sizeof(path)) {
		*why = "path too long";
		return -1;
	}
	int rc = sysfs_read_text(path, buf, sizeof(buf));
	if (rc == 0) {
		double millis;
		if (sysfs_parse_number(buf, &millis) < 0 || millis != floor(millis)) {
			*why = "temperature: not a number";
			return -1;
		}
		return w1_check_celsius(millis, celsius, why);
	}
	if (rc != -ENOENT) {
		*why = rc == -EIO ? "temperature: read error (crc?)" : "temperature: unreadable";
		return -1;
	}
	snprintf(path, sizeof(path), "%s/bus/w1/devices/%s/w1_slave", root, id);
	rc = sysfs_read_text(path, buf, sizeof(buf));
	if (rc < 0) {
		*why = rc == -ENOENT ? "not found" : "w1_slave: unreadable";
		return -1;
	}
	return w1_parse_slave(buf, celsius, why);
}

/* ---- IIO ---------------------------------------------------------------------- */

struct iio_dev {
	char root[SYSFS_PATH_MAX];
	char what[SYSFS_PATH_MAX];
	struct iio_cal cal;
	bool resolved;
	char dir[SYSFS_PATH_MAX];
	bool has[PROTO_SENSOR_KIND_COUNT];
	bool processed[PROTO_SENSOR_KIND_COUNT]; /* *_input, else *_raw */
};

struct iio_dev *iio_new(const char *root, const char *what, const struct iio_cal *cal)
{
	struct iio_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->root, sizeof(d->root), "%s", root);
	snprintf(d->what, sizeof(d->what), "%s", what);
	d->cal = *cal;
	return d;
}

void iio_free(struct iio_dev *d)
{
	free(d);
}

bool iio_resolved(const struct iio_dev *d)
{
	return d->resolved;
}

bool iio_has(const struct iio_dev *d, enum proto_sensor_kind kind)
{
	return d->resolved && kind >= 0 && kind < PROTO_SENSOR_KIND_COUNT && d->has[kind];
}

const char *iio_dir(const struct iio_dev *d)
{
	return d->resolved ? d->dir : "";
}

static bool attr_exists(const char *dir, const char *attr)
{
	char path[SYSFS_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return access(path, R_OK) == 0;
}

static int read_attr_text(const char *dir, const char *attr, char *buf, size_t size)
{
	char path[SYSFS_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return sysfs_read_text(path, buf, size);
}

/* The device's `name`, trimmed. "" when it has none. */
static void read_name(const char *dir, char *name, size_t size)
{
	if (read_attr_text(dir, "name", name, size) < 0) {
		name[0] = '\0';
		return;
	}
	name[strcspn(name, "\n")] = '\0';
}

static int find_by_name(struct iio_dev *d)
{
	char base[SYSFS_PATH_MAX];
	if (snprintf(base, sizeof(base), "%s/bus/iio/devices", d->root) >= (int)sizeof(base))
		return -1;
	struct dirent **list = NULL;
	int n = scandir(base, &list, NULL, alphasort);
	if (n < 0)
		return -1;
	int rc = -1;
	for (int i = 0; i < n; i++) {
		if (rc < 0 && list[i]->d_name[0] != '.') {
			char dir[SYSFS_PATH_MAX];
			char name[128];
			if (snprintf(dir, sizeof(dir), "%s/%s", base, list[i]->d_name) <
			    (int)sizeof(dir)) {
				read_name(dir, name, sizeof(name));
				if (strcmp(name, d->what) == 0) {
					snprintf(d->dir, sizeof(d->dir), "%s", dir);
					rc = 0;
				}
			}
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

int iio_resolve(struct iio_dev *d, const char **why)
{
	if (d->resolved)
		return 0;
	memset(d->has, 0, sizeof(d->has));
	if (d->what[0] == '/') {
		snprintf(d->dir, sizeof(d->dir), "%s", d->what);
	} else if (strncmp(d->what, "iio:device", 10) == 0) {
		if (snprintf(d->dir, sizeof(d->dir), "%s/bus/iio/devices/%s", d->root, d->what) >=
		    (int)sizeof(d->dir)) {
			*why = "path too long";
			return -1;
		}
	} else if (find_by_name(d) < 0) {
		*why = "no IIO device with that name";
		return -1;
	}
	if (access(d->dir, X_OK) != 0) {
		*why = "device directory not found";
		return -1;
	}

	static const struct {
		enum proto_sensor_kind kind;
		const char *input, *raw;
	} chans[] = {
	    {PROTO_SENSOR_TEMPERATURE, "in_temp_input", "in_temp_raw"},
	    {PROTO_SENSOR_HUMIDITY, "in_humidityrelative_input", "in_humidityrelative_raw"},
	};
	bool any = false;
	for (size_t i = 0; i < sizeof(chans) / sizeof(chans[0]); i++) {
		if (attr_exists(d->dir, chans[i].input)) {
			d->has[chans[i].kind] = true;
			d->processed[chans[i].kind] = true;
			any = true;
		} else if (attr_exists(d->dir, chans[i].raw)) {
			d->has[chans[i].kind] = true;
			d->processed[chans[i].kind] = false;
			any = true;
		}
	}
	char name[128];
	read_name(d->dir, name, sizeof(name));
	if (strcmp(name, "hx711") == 0 && attr_exists(d->dir, "in_voltage0_raw")) {
		d->has[PROTO_SENSOR_BOWL] = true;
		any = true;
	}
	if (!any) {
		*why = "no temperature, humidity or hx711 channel";
		return -1;
	}
	d->resolved = true;
	return 0;
}

/* An optional attribute (scale, offset): its value, or `dflt` when absent.
 * -1 when present but unreadable or garbage. */
static int read_optional(const char *dir, const char *attr, double dflt, double *out)
{
	char buf[64];
	int rc = read_attr_text(dir, attr, buf, sizeof(buf));
	if (rc == -ENOENT) {
		*out = dflt;
		return 0;
	}
	if (rc < 0 || sysfs_parse_number(buf, out) < 0)
		return -1;
	return 0;
}

static int read_number(struct iio_dev *d, const char *attr, double *out, const char **why)
{
	char buf[64];
	int rc = read_attr_text(d->dir, attr, buf, sizeof(buf));
	if (rc < 0) {
		if (rc == -ENOENT || rc == -ENODEV) {
			/* Gone: scan again next time (it may come back as another deviceN). */
			d->resolved = false;
			*why = "device gone";
		} else if (rc == -EINVAL) {
			*why = "empty reading";
		} else {
			*why = "read error";
		}
		return -1;
	}
	if (sysfs_parse_number(buf, out) < 0) {
		*why = "reading is not a number";
		return -1;
	}
	return 0;
}

int iio_read(struct iio_dev *d, enum proto_sensor_kind kind, double *value, const char **why)
{
	if (!d->resolved && iio_resolve(d, why) < 0)
		return -1;
	if (!iio_has(d, kind)) {
		*why = "channel not offered by this device";
		return -1;
	}
	double v;
	switch (kind) {
	case PROTO_SENSOR_TEMPERATURE:
	case PROTO_SENSOR_HUMIDITY: {
		const char *stem =
		    kind == PROTO_SENSOR_TEMPERATURE ? "in_temp" : "in_humidityrelative";
		char attr[64];
		if (d->processed[kind]) {
			snprintf(attr, sizeof(attr), "%s_input", stem);
			if (read_number(d, attr, &v, why) < 0)
				return -1;
		} else {
			double raw, scale, offset;
			snprintf(attr, sizeof(attr), "%s_raw", stem);
			if (read_number(d, attr, &raw, why) < 0)
				return -1;
			snprintf(attr, sizeof(attr), "%s_scale", stem);
			if (read_optional(d->dir, attr, 1.0, &scale) < 0) {
				*why = "bad scale";
				return -1;
			}
			snprintf(attr, sizeof(attr), "%s_offset", stem);
			if (read_optional(d->dir, attr, 0.0, &offset) < 0) {
				*why = "bad offset";
				return -1;
			}
			v = (raw + offset) * scale;
		}
		v /= 1000.0; /* IIO: milli-degrees, milli-percent */
		if (kind == PROTO_SENSOR_TEMPERATURE && (v < -60 || v > 150)) {
			*why = "temperature out of range";
			return -1;
		}
		if (kind == PROTO_SENSOR_HUMIDITY) {
			if (v < -5 || v > 105) {
				*why = "humidity out of range";
				return -1;
			}
			/* Capacitive sensors overshoot a little near the ends. */
			v = v < 0 ? 0 : v > 100 ? 100 : v;
		}
		break;
	}
	case PROTO_SENSOR_BOWL: {
		double raw;
		if (read_number(d, "in_voltage0_raw", &raw, why) < 0)
			return -1;
		v = (raw - d->cal.bowl_tare) * d->cal.bowl_scale;
		break;
	}
	default:
		*why = "channel not offered by this device";
		return -1;
	}
	*value = v;
	return 0;
}
