/* The IIO and 1-wire readers against fake sysfs trees. */
#include "fake_tree.h"
#include "sysfs.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(sensors_w1, .init = ft_setup, .fini = ft_teardown, .timeout = 10);
TestSuite(sensors_iio, .init = ft_setup, .fini = ft_teardown, .timeout = 10);
TestSuite(sensors_sysfs, .init = ft_setup, .fini = ft_teardown, .timeout = 10);

#define W1_DEV	"bus/w1/devices/28-0316a27983ff"
#define W1_GOOD "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"

/* ---- w1_slave parser ------------------------------------------------------- */

Test(sensors_w1, parse_good)
{
	double c = 0;
	const char *why = NULL;
	cr_assert_eq(w1_parse_slave(W1_GOOD, &c, &why), 0, "%s", why);
	cr_assert_float_eq(c, 23.125, 1e-9);
	cr_assert_eq(w1_parse_slave("5e ff 4b 46 7f ff 0c 10 1c : crc=1c YES\n"
				    "5e ff 4b 46 7f ff 0c 10 1c t=-10125\n",
				    &c, &why),
		     0);
	cr_assert_float_eq(c, -10.125, 1e-9);
}

Test(sensors_w1, parse_refusals)
{
	const char *bad[] = {
	    "",
	    "garbage",
	    "72 01 4b 46 7f ff 0e 10 57 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n",
	    "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n",
	    "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57\n",
	    "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=\n",
	    "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=2x3\n",
	    "72 01 4b 46 7f ff 0e 10 57 : YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n",
	    /* 85 °C: the power-on value, read before any conversion */
	    "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n",
	    "ff ff ff ff ff ff ff ff ff : crc=c9 YES\nff ff ff ff ff ff ff ff ff t=200000\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double c = -999;
		const char *why = NULL;
		cr_assert_eq(w1_parse_slave(bad[i], &c, &why), -1, "case %zu accepted", i);
		cr_assert_not_null(why);
		cr_assert_float_eq(c, -999, 1e-9, "case %zu wrote a value", i);
	}
}

/* ---- w1 reads from a tree ----------------------------------------------------- */

Test(sensors_w1, reads_temperature_attribute_first)
{
	ft_write(ft_root, W1_DEV "/temperature", "21437\n");
	ft_write(ft_root, W1_DEV "/w1_slave", W1_GOOD);
	double c = 0;
	const char *why = NULL;
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), 0, "%s", why);
	cr_assert_float_eq(c, 21.437, 1e-9);
}

Test(sensors_w1, falls_back_to_w1_slave)
{
	ft_write(ft_root, W1_DEV "/w1_slave", W1_GOOD);
	double c = 0;
	const char *why = NULL;
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), 0, "%s", why);
	cr_assert_float_eq(c, 23.125, 1e-9);
}

Test(sensors_w1, missing_and_garbage)
{
	double c = 0;
	const char *why = NULL;
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), -1);
	cr_assert_str_eq(why, "not found");
	ft_write(ft_root, W1_DEV "/temperature", "hot\n");
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), -1);
	ft_write(ft_root, W1_DEV "/temperature", "");
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), -1);
	ft_write(ft_root, W1_DEV "/temperature", "85000\n");
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), -1);
}

Test(sensors_w1, vanishes_and_comes_back)
{
	ft_write(ft_root, W1_DEV "/temperature", "20000\n");
	double c = 0;
	const char *why = NULL;
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), 0);
	ft_remove(ft_root, W1_DEV);
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), -1);
	cr_assert_str_eq(why, "not found");
	ft_write(ft_root, W1_DEV "/temperature", "19500\n");
	cr_assert_eq(w1_read(ft_root, "28-0316a27983ff", &c, &why), 0);
	cr_assert_float_eq(c, 19.5, 1e-9);
}

/* ---- IIO ----------------------------------------------------------------------- */

#define IIO "bus/iio/devices/"

static const struct iio_cal no_cal = {0, 1};

static void bme280(const char *dir, const char *temp, const char *hum)
{
	char rel[256];
	snprintf(rel, sizeof(rel), IIO "%s/name", dir);
	ft_write(ft_root, rel, "bme280\n");
	snprintf(rel, sizeof(rel), IIO "%s/in_temp_input", dir);
	ft_write(ft_root, rel, temp);
	snprintf(rel, sizeof(rel), IIO "%s/in_humidityrelative_input", dir);
	ft_write(ft_root, rel, hum);
	snprintf(rel, sizeof(rel), IIO "%s/in_pressure_input", dir);
	ft_write(ft_root, rel, "101.325\n");
}

Test(sensors_iio, by_name_processed_channels)
{
	ft_write(ft_root, IIO "iio:device0/name", "ads1015\n");
	ft_write(ft_root, IIO "iio:device0/in_voltage0_raw", "1234\n");
	bme280("iio:device1", "23450\n", "45123\n");
	struct iio_dev *d = iio_new(ft_root, "bme280", &no_cal);
	const char *why = NULL;
	cr_assert_eq(iio_resolve(d, &why), 0, "%s", why);
	cr_assert(strstr(iio_dir(d), "iio:device1"));
	cr_assert(iio_has(d, PROTO_SENSOR_TEMPERATURE));
	cr_assert(iio_has(d, PROTO_SENSOR_HUMIDITY));
	cr_assert_not(iio_has(d, PROTO_SENSOR_BOWL));
	cr_assert_not(iio_has(d, PROTO_SENSOR_MOTION));
	double v = 0;
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 23.45, 1e-9);
	cr_assert_eq(iio_read(d, PROTO_SENSOR_HUMIDITY, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 45.123, 1e-9);
	cr_assert_eq(iio_read(d, PROTO_SENSOR_BOWL, &v, &why), -1);
	iio_free(d);
}

Test(sensors_iio, raw_scale_offset_per_abi)
{
	/* (raw + offset) * scale, in milli-degrees / milli-percent */
	ft_write(ft_root, IIO "iio:device2/name", "dht11\n");
	ft_write(ft_root, IIO "iio:device2/in_temp_raw", "100\n");
	ft_write(ft_root, IIO "iio:device2/in_temp_offset", "-20\n");
	ft_write(ft_root, IIO "iio:device2/in_temp_scale", "250.000000\n");
	ft_write(ft_root, IIO "iio:device2/in_humidityrelative_raw", "4100\n");
	ft_write(ft_root, IIO "iio:device2/in_humidityrelative_scale", "10\n");
	struct iio_dev *d = iio_new(ft_root, "iio:device2", &no_cal);
	double v = 0;
	const char *why = NULL;
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 20.0, 1e-9);
	cr_assert_eq(iio_read(d, PROTO_SENSOR_HUMIDITY, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 41.0, 1e-9);
	/* A garbage scale is an error, not a silent 1.0. */
	ft_write(ft_root, IIO "iio:device2/in_temp_scale", "x\n");
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), -1);
	cr_assert_str_eq(why, "bad scale");
	iio_free(d);
}

Test(sensors_iio, hx711_bowl_with_tare_and_scale)
{
	ft_write(ft_root, IIO "iio:device0/name", "hx711\n");
	ft_write(ft_root, IIO "iio:device0/in_voltage0_raw", "150000\n");
	ft_write(ft_root, IIO "iio:device0/in_voltage_scale", "0.000596\n");
	struct iio_cal cal = {.bowl_tare = 100000, .bowl_scale = 0.002};
	struct iio_dev *d = iio_new(ft_root, "hx711", &cal);
	double v = 0;
	const char *why = NULL;
	cr_assert_eq(iio_read(d, PROTO_SENSOR_BOWL, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 100.0, 1e-9);
	cr_assert_not(iio_has(d, PROTO_SENSOR_TEMPERATURE));
	iio_free(d);
}

Test(sensors_iio, absolute_path)
{
	bme280("iio:device5", "19000\n", "60000\n");
	char path[1024];
	snprintf(path, sizeof(path), "%s/" IIO "iio:device5", ft_root);
	struct iio_dev *d = iio_new(ft_root, path, &no_cal);
	double v = 0;
	const char *why = NULL;
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 19.0, 1e-9);
	iio_free(d);
}

Test(sensors_iio, missing_device_and_unknown_channels)
{
	const char *why = NULL;
	struct iio_dev *d = iio_new(ft_root, "bme280", &no_cal);
	cr_assert_eq(iio_resolve(d, &why), -1);
	cr_assert_not(iio_resolved(d));
	double v = 0;
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), -1);
	iio_free(d);

	ft_write(ft_root, IIO "iio:device0/name", "ads1015\n");
	ft_write(ft_root, IIO "iio:device0/in_voltage0_raw", "1234\n");
	d = iio_new(ft_root, "iio:device0", &no_cal);
	cr_assert_eq(iio_resolve(d, &why), -1, "an ADC that is not an hx711 offers nothing");
	iio_free(d);
	d = iio_new(ft_root, "iio:device9", &no_cal);
	cr_assert_eq(iio_resolve(d, &why), -1);
	iio_free(d);
}

Test(sensors_iio, garbage_empty_and_out_of_range)
{
	bme280("iio:device0", "warm\n", "");
	struct iio_dev *d = iio_new(ft_root, "bme280", &no_cal);
	double v = -1;
	const char *why = NULL;
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), -1);
	cr_assert_str_eq(why, "reading is not a number");
	cr_assert_eq(iio_read(d, PROTO_SENSOR_HUMIDITY, &v, &why), -1);
	cr_assert_str_eq(why, "empty reading");
	ft_write(ft_root, IIO "iio:device0/in_temp_input", "23000 junk\n");
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), -1);
	ft_write(ft_root, IIO "iio:device0/in_temp_input", "400000\n");
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), -1);
	ft_write(ft_root, IIO "iio:device0/in_humidityrelative_input", "120000\n");
	cr_assert_eq(iio_read(d, PROTO_SENSOR_HUMIDITY, &v, &why), -1);
	cr_assert_float_eq(v, -1, 1e-9, "no value written on failure");
	/* A capacitive sensor's small overshoot is clamped. */
	ft_write(ft_root, IIO "iio:device0/in_humidityrelative_input", "100700\n");
	cr_assert_eq(iio_read(d, PROTO_SENSOR_HUMIDITY, &v, &why), 0);
	cr_assert_float_eq(v, 100.0, 1e-9);
	iio_free(d);
}

Test(sensors_iio, vanishes_and_comes_back_as_another_device)
{
	bme280("iio:device0", "21000\n", "50000\n");
	struct iio_dev *d = iio_new(ft_root, "bme280", &no_cal);
	double v = 0;
	const char *why = NULL;
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 21.0, 1e-9);

	ft_remove(ft_root, IIO "iio:device0"); /* unplugged */
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), -1);
	cr_assert_str_eq(why, "device gone");
	cr_assert_not(iio_resolved(d));
	cr_assert_eq(iio_read(d, PROTO_SENSOR_HUMIDITY, &v, &why), -1);

	bme280("iio:device3", "22500\n", "48000\n"); /* plugged in again, new number */
	cr_assert_eq(iio_read(d, PROTO_SENSOR_TEMPERATURE, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 22.5, 1e-9);
	cr_assert(strstr(iio_dir(d), "iio:device3"));
	cr_assert_eq(iio_read(d, PROTO_SENSOR_HUMIDITY, &v, &why), 0, "%s", why);
	cr_assert_float_eq(v, 48.0, 1e-9);
	iio_free(d);
}

/* ---- helpers --------------------------------------------------------------------- */

Test(sensors_sysfs, read_text_limits)
{
	char buf[8];
	char path[1024];
	snprintf(path, sizeof(path), "%s/a", ft_root);
	ft_write(ft_root, "a", "123\n");
	cr_assert_eq(sysfs_read_text(path, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "123\n");
	ft_write(ft_root, "a", "1234567890\n");
	cr_assert_eq(sysfs_read_text(path, buf, sizeof(buf)), -E2BIG);
	ft_write(ft_root, "a", "1234567");
	cr_assert_eq(sysfs_read_text(path, buf, sizeof(buf)), 0, "exactly fits");
	ft_write(ft_root, "a", "");
	cr_assert_eq(sysfs_read_text(path, buf, sizeof(buf)), -EINVAL);
	snprintf(path, sizeof(path), "%s/none", ft_root);
	cr_assert_eq(sysfs_read_text(path, buf, sizeof(buf)), -ENOENT);
}

Test(sensors_sysfs, parse_number)
{
	double v = 0;
	cr_assert_eq(sysfs_parse_number("23125\n", &v), 0);
	cr_assert_float_eq(v, 23125, 1e-9);
	cr_assert_eq(sysfs_parse_number("0.000596\n", &v), 0);
	cr_assert_float_eq(v, 0.000596, 1e-12);
	cr_assert_eq(sysfs_parse_number("-12", &v), 0);
	cr_assert_float_eq(v, -12, 1e-12);
	const char *bad[] = {"", "\n", "x", "12 13", "1e999", "nan\n", "12abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(sysfs_parse_number(bad[i], &v), -1, "'%s'", bad[i]);
}
