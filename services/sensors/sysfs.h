/*
 * sysfs — readers for the sensors the kernel exposes as files: Linux IIO
 * devices (BME280, DHT22, HX711 load cells) and 1-wire DS18B20 thermometers.
 *
 * Every path starts at a configurable root (IOD_SENSORS_SYSFS_ROOT, "/sys"),
 * so tests point it at a fake tree in a temp dir. These files have no
 * interrupts to wait on: the service reads them at IOD_SENSORS_INTERVAL, off
 * the loop thread (a DS18B20 `temperature` read blocks ~750 ms while it
 * converts, an HX711 read up to 100 ms).
 *
 * Thread: any, one thread per struct iio_dev at a time. `why` strings are
 * static.
 */
#ifndef IOD_SENSORS_SYSFS_H
#define IOD_SENSORS_SYSFS_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>

/* Read a small attribute file into buf, NUL-terminated. 0, or -errno
 * (-ENOENT missing, -EINVAL empty, -E2BIG longer than buf). */
int sysfs_read_text(const char *path, char *buf, size_t size);
/* Strict number as sysfs prints it: "23125\n", "-1.5", "0.000596". 0 or -1. */
int sysfs_parse_number(const char *text, double *out);

/* ---- 1-wire DS18B20 ----------------------------------------------------- */

/* Parse a w1_slave file:
 *   72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
 *   72 01 4b 46 7f ff 0e 10 57 t=23125
 * into °C. Refuses a CRC `NO`, a missing or garbled t=, the 85 °C power-on
 * value (a read before the first conversion, not a temperature) and values
 * outside the DS18B20's -55..125 °C. 0 or -1 with *why. */
int w1_parse_slave(const char *text, double *celsius, const char **why);
/* Read <root>/bus/w1/devices/<id>/temperature (m°C, kernels >= 5.x), else
 * its w1_slave. 0 or -1 with *why. */
int w1_read(const char *root, const char *id, double *celsius, const char **why);

/* ---- IIO ------------------------------------------------------------------ */

/* Load-cell calibration: grams = (in_voltage0_raw - tare) * scale. */
struct iio_cal {
	double bowl_tare;  /* raw counts with the empty bowl on the cell */
	double bowl_scale; /* grams per count */
};

struct iio_dev;

/*
 * `what` names the device: an absolute path to its directory, "iio:deviceN"
 * (a directory under <root>/bus/iio/devices), or the driver's `name`
 * ("bme280", "dht11", "hx711"). Nothing is opened yet. NULL on out-of-memory.
 */
struct iio_dev *iio_new(const char *root, const char *what, const struct iio_cal *cal);
void iio_free(struct iio_dev *d);
/* Find the device and the kinds it offers: temperature (in_temp_input or
 * in_temp_raw), humidity (in_humidityrelative_input or _raw), bowl
 * (in_voltage0_raw on a device named hx711). Cached until a read finds the
 * device gone. 0, or -1 with *why (not found, or no channel we know). */
int iio_resolve(struct iio_dev *d, const char **why);
bool iio_resolved(const struct iio_dev *d);
bool iio_has(const struct iio_dev *d, enum proto_sensor_kind kind);
/* The resolved directory ("" before). */
const char *iio_dir(const struct iio_dev *d);
/*
 * Read one kind in its unit (°C, %, g): *_input / 1000, or per the IIO ABI
 * (raw + offset) * scale / 1000, or the load-cell calibration above. Resolves
 * first if needed; a read that finds the device gone drops the resolution so
 * the next call scans again (a USB or I2C device may come back as another
 * iio:deviceN). 0, or -1 with *why.
 */
int iio_read(struct iio_dev *d, enum proto_sensor_kind kind, double *value, const char **why);

#endif
