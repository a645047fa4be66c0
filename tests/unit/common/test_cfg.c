/*
 * cfg: layering (default < env < flag), every type (numbers too), durations,
 * the exact one-line errors, one per bad setting, the modules' check
 * callbacks, secrets from files, --help/--version/--check-config, site
 * validation.
 * Criterion runs every test in its own process, so setenv() does not leak.
 */
#include "capture.h"
#include "cfg.h"
#include "log.h"
#include "mqtt_url.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct cfg_option feeder_opts[] = {
    {"IOD_FEEDER_MAX_DAILY", CFG_INT, "3", "doses per day at most", 1, 24, 0, NULL},
    {"IOD_FEEDER_MIN_INTERVAL", CFG_DURATION, "6h", "minimum time between doses", 60 * 1000,
     48LL * 3600 * 1000, 0, NULL},
    {"IOD_FEEDER_CMD_TTL", CFG_DURATION, "60s", "commands older than this are refused", 0, 0, 0,
     NULL},
    {"IOD_FEEDER_SCHEDULE", CFG_STRING, "07:00,15:00,23:00", "dose times", 0, 0, 0, NULL},
    {"IOD_FEEDER_PUBLIC", CFG_BOOL, "0", "a boolean", 0, 0, 0, NULL},
    {"IOD_FEEDER_OFFSET", CFG_INT, "-5", "an unbounded integer", 0, 0, 0, NULL},
    {"IOD_FEEDER_TOKEN", CFG_STRING, NULL, "a secret of the service", 0, 0, CFG_F_SECRET, NULL},
};
#define N_FEEDER_OPTS (sizeof(feeder_opts) / sizeof(feeder_opts[0]))

/* cfg_load with a NULL-terminated argument list after the program name. */
static struct cfg *load(int *code, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = "iod-feeder";
	va_start(ap, code);
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return cfg_load("feeder", "iod-feeder", feeder_opts, N_FEEDER_OPTS, argc, argv, code);
}

/* Load expecting failure; returns the stderr text (caller frees). */
static char *load_error(const char *first, ...)
{
	char *argv[32];
	int argc = 0, code = -1;
	struct capture cap;
	struct cfg *cfg;
	va_list ap;
	char *a;

	argv[argc++] = "iod-feeder";
	if (first) {
		argv[argc++] = (char *)first;
		va_start(ap, first);
		while ((a = va_arg(ap, char *)) != NULL && argc < 31)
			argv[argc++] = a;
		va_end(ap);
	}
	argv[argc] = NULL;
	capture_start(&cap, 2);
	cfg = cfg_load("feeder", "iod-feeder", feeder_opts, N_FEEDER_OPTS, argc, argv, &code);
	char *err = capture_end(&cap);
	cr_assert_null(cfg, "expected a refusal, stderr: %s", err);
	cr_assert_eq(code, 2);
	return err;
}

static void assert_error(char *err, const char *expected)
{
	cr_assert_str_eq(err, expected);
	free(err);
}

static char *write_temp(const char *content)
{
	char *path = strdup("/tmp/iod-cfg-test-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

/* ---- layering ------------------------------------------------------------ */

Test(cfg, defaults, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg = load(&code, NULL);

	cr_assert_not_null(cfg);
	cr_assert_eq(code, 0);
	cr_assert_str_eq(cfg_service(cfg), "feeder");
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"), 3);
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_OFFSET"), -5);
	cr_assert_eq(cfg_duration_ms(cfg, "IOD_FEEDER_MIN_INTERVAL"), 6LL * 3600 * 1000);
	cr_assert_eq(cfg_duration_ms(cfg, "IOD_FEEDER_CMD_TTL"), 60000);
	cr_assert_eq(cfg_bool(cfg, "IOD_FEEDER_PUBLIC"), false);
	cr_assert_str_eq(cfg_str(cfg, "IOD_FEEDER_SCHEDULE"), "07:00,15:00,23:00");
	cr_assert_str_eq(cfg_str(cfg, "IOD_MQTT_URL"), "tcp://localhost:1883");
	cr_assert_str_eq(cfg_str(cfg, "IOD_SITE"), "home");
	cr_assert_str_eq(cfg_str(cfg, "IOD_DATA_DIR"), "./var/feeder");
	cr_assert_str_eq(cfg_str(cfg, "IOD_LOG_LEVEL"), "info");
	cr_assert_null(cfg_str(cfg, "IOD_MQTT_USER"));
	cr_assert_null(cfg_str(cfg, "IOD_MQTT_PASSWORD"));
	cr_assert_null(cfg_str(cfg, "IOD_MQTT_CA_FILE"));
	cr_assert_null(cfg_str(cfg, "IOD_MQTT_CERT_FILE"));
	cr_assert_null(cfg_str(cfg, "IOD_MQTT_KEY_FILE"));
	cr_assert_null(cfg_str(cfg, "IOD_FEEDER_TOKEN"));
	/* cfg_str reads any type as its text. */
	cr_assert_str_eq(cfg_str(cfg, "IOD_FEEDER_MIN_INTERVAL"), "6h");
	cfg_free(cfg);
}

Test(cfg, env_beats_default, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg;

	setenv("IOD_FEEDER_MAX_DAILY", "5", 1);
	setenv("IOD_FEEDER_MIN_INTERVAL", "15m", 1);
	setenv("IOD_FEEDER_PUBLIC", "yes", 1);
	setenv("IOD_MQTT_URL", "tcp://10.0.0.2:1884", 1);
	setenv("IOD_SITE", "barn", 1);
	setenv("IOD_DATA_DIR", "/srv/iod", 1);
	cfg = load(&code, NULL);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"), 5);
	cr_assert_eq(cfg_duration_ms(cfg, "IOD_FEEDER_MIN_INTERVAL"), 15 * 60 * 1000);
	cr_assert_eq(cfg_bool(cfg, "IOD_FEEDER_PUBLIC"), true);
	cr_assert_str_eq(cfg_str(cfg, "IOD_MQTT_URL"), "tcp://10.0.0.2:1884");
	cr_assert_str_eq(cfg_str(cfg, "IOD_SITE"), "barn");
	cr_assert_str_eq(cfg_str(cfg, "IOD_DATA_DIR"), "/srv/iod");
	cfg_free(cfg);
}

Test(cfg, flag_beats_env, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg;

	setenv("IOD_FEEDER_MAX_DAILY", "5", 1);
	setenv("IOD_SITE", "barn", 1);
	setenv("IOD_FEEDER_PUBLIC", "on", 1);
	cfg = load(&code, "--feeder-max-daily=7", "--site", "kennel", "--feeder-public", "false",
		   "--feeder-min-interval=2d", NULL);
	cr_assert_not_null(cfg);
	cr_assert_eq(code, 0);
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"), 7);
	cr_assert_str_eq(cfg_str(cfg, "IOD_SITE"), "kennel");
	cr_assert_eq(cfg_bool(cfg, "IOD_FEEDER_PUBLIC"), false);
	cr_assert_eq(cfg_duration_ms(cfg, "IOD_FEEDER_MIN_INTERVAL"), 2LL * 24 * 3600 * 1000);
	cfg_free(cfg);
}

Test(cfg, last_flag_wins_and_equals_in_value, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg = load(&code, "--feeder-max-daily", "2", "--feeder-max-daily=9",
			       "--feeder-schedule=a=b", NULL);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"), 9);
	cr_assert_str_eq(cfg_str(cfg, "IOD_FEEDER_SCHEDULE"), "a=b");
	cfg_free(cfg);
}

Test(cfg, empty_env_counts_as_unset, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg;

	setenv("IOD_FEEDER_MAX_DAILY", "", 1);
	setenv("IOD_SITE", "", 1);
	setenv("IOD_MQTT_USER", "", 1);
	cfg = load(&code, NULL);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"), 3);
	cr_assert_str_eq(cfg_str(cfg, "IOD_SITE"), "home");
	cr_assert_null(cfg_str(cfg, "IOD_MQTT_USER"));
	cfg_free(cfg);
}

Test(cfg, empty_flag_value_is_checked, .timeout = 10)
{
	assert_error(load_error("--feeder-max-daily=", NULL),
		     "iod-feeder: IOD_FEEDER_MAX_DAILY: '' is not an integer\n");
}

Test(cfg, service_may_replace_a_common_default, .timeout = 10)
{
	static const struct cfg_option opts[] = {
	    {"IOD_DATA_DIR", CFG_STRING, "/var/lib/iod", "state", 0, 0, 0, NULL},
	};
	char *argv[] = {"iod-x", NULL};
	int code = -1;
	struct cfg *cfg = cfg_load("x", "iod-x", opts, 1, 1, argv, &code);

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg_str(cfg, "IOD_DATA_DIR"), "/var/lib/iod");
	cr_assert_str_eq(cfg_str(cfg, "IOD_SITE"), "home");
	cfg_free(cfg);
}

Test(cfg, no_service_options, .timeout = 10)
{
	char *argv[] = {"iod-camera", "--log-level=debug", NULL};
	int code = -1;
	struct cfg *cfg = cfg_load("camera", "iod-camera", NULL, 0, 2, argv, &code);

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg_str(cfg, "IOD_LOG_LEVEL"), "debug");
	cr_assert_str_eq(cfg_str(cfg, "IOD_DATA_DIR"), "./var/camera");
	cfg_free(cfg);
}

/* ---- errors -------------------------------------------------------------- */

Test(cfg, int_out_of_range, .timeout = 10)
{
	assert_error(load_error("--feeder-max-daily=0", NULL),
		     "iod-feeder: IOD_FEEDER_MAX_DAILY: '0' must be between 1 and 24\n");
	assert_error(load_error("--feeder-max-daily", "25", NULL),
		     "iod-feeder: IOD_FEEDER_MAX_DAILY: '25' must be between 1 and 24\n");
}

Test(cfg, int_from_env_is_checked, .timeout = 10)
{
	setenv("IOD_FEEDER_MAX_DAILY", "three", 1);
	assert_error(load_error(NULL),
		     "iod-feeder: IOD_FEEDER_MAX_DAILY: 'three' is not an integer\n");
}

Test(cfg, int_bounds_accepted, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg = load(&code, "--feeder-max-daily=24", NULL);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"), 24);
	cfg_free(cfg);
	cfg = load(&code, "--feeder-max-daily=1", NULL);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"), 1);
	cfg_free(cfg);
}

Test(cfg, duration_not_a_duration, .timeout = 10)
{
	assert_error(load_error("--feeder-min-interval=6x", NULL),
		     "iod-feeder: IOD_FEEDER_MIN_INTERVAL: '6x' is not a duration (90s, 15m, 6h, "
		     "2d or seconds)\n");
	assert_error(load_error("--feeder-cmd-ttl=-1", NULL),
		     "iod-feeder: IOD_FEEDER_CMD_TTL: '-1' is not a duration (90s, 15m, 6h, 2d or "
		     "seconds)\n");
}

Test(cfg, duration_out_of_range, .timeout = 10)
{
	assert_error(load_error("--feeder-min-interval=30s", NULL),
		     "iod-feeder: IOD_FEEDER_MIN_INTERVAL: '30s' must be between 1m and 2d\n");
	assert_error(load_error("--feeder-min-interval=3d", NULL),
		     "iod-feeder: IOD_FEEDER_MIN_INTERVAL: '3d' must be between 1m and 2d\n");
}

Test(cfg, bool_not_a_bool, .timeout = 10)
{
	assert_error(load_error("--feeder-public=maybe", NULL),
		     "iod-feeder: IOD_FEEDER_PUBLIC: 'maybe' is not a boolean (1/0, true/false, "
		     "yes/no, on/off)\n");
}

Test(cfg, unknown_flag_is_named, .timeout = 10)
{
	assert_error(load_error("--feeder-max-dialy=3", NULL),
		     "iod-feeder: unknown option '--feeder-max-dialy' (see --help)\n");
	assert_error(load_error("--nope", "1", NULL),
		     "iod-feeder: unknown option '--nope' (see --help)\n");
}

Test(cfg, missing_value, .timeout = 10)
{
	assert_error(load_error("--feeder-max-daily", NULL),
		     "iod-feeder: IOD_FEEDER_MAX_DAILY: --feeder-max-daily needs a value\n");
	assert_error(load_error("--site", "--feeder-max-daily=3", NULL),
		     "iod-feeder: IOD_SITE: --site needs a value\n");
}

Test(cfg, positional_and_short_arguments_refused, .timeout = 10)
{
	assert_error(load_error("feed", NULL),
		     "iod-feeder: unexpected argument 'feed' (settings are --name=value)\n");
	assert_error(load_error("-v", NULL),
		     "iod-feeder: unexpected argument '-v' (settings are --name=value)\n");
	assert_error(load_error("--", NULL),
		     "iod-feeder: unexpected argument '--' (settings are --name=value)\n");
}

Test(cfg, error_is_one_line_whatever_the_input, .timeout = 10)
{
	assert_error(load_error("--feeder-max-daily=1\n2", NULL),
		     "iod-feeder: IOD_FEEDER_MAX_DAILY: '1?2' is not an integer\n");
}

/* Under systemd (stderr is the journal) a start-up error is priority 3, so
 * `journalctl -p err` shows why a unit stopped with status 2. */
Test(cfg, error_has_journal_priority_when_stderr_is_the_journal, .timeout = 10)
{
	struct capture cap;
	capture_start(&cap, 2);
	struct stat st;
	char value[64];
	cr_assert_eq(fstat(2, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	cr_assert_eq(setenv("JOURNAL_STREAM", value, 1), 0);
	int code = 0;
	struct cfg *c = load(&code, "--feeder-max-daily=0", NULL);
	unsetenv("JOURNAL_STREAM");
	char *err = capture_end(&cap);
	cr_assert_null(c);
	cr_assert_str_eq(err,
			 "<3>iod-feeder: IOD_FEEDER_MAX_DAILY: '0' must be between 1 and 24\n");
	free(err);
}

Test(cfg, log_level_validated, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg;
	const char *good[] = {"debug", "info", "warn", "error"};

	assert_error(load_error("--log-level=verbose", NULL),
		     "iod-feeder: IOD_LOG_LEVEL: 'verbose' is not one of debug, info, warn, "
		     "error\n");
	for (size_t i = 0; i < 4; i++) {
		setenv("IOD_LOG_LEVEL", good[i], 1);
		cfg = load(&code, NULL);
		cr_assert_not_null(cfg, "%s", good[i]);
		cr_assert_str_eq(cfg_str(cfg, "IOD_LOG_LEVEL"), good[i]);
		cfg_free(cfg);
	}
}

Test(cfg, mqtt_url_validated, .timeout = 10)
{
#if IOD_MQTT_TLS
	const char *good[] = {"tcp://localhost:1883",	"mqtt://broker", "ssl://10.0.0.2:8883",
			      "mqtts://b.example:8883", "ws://b:9001",	 "wss://b:443/mqtt"};
#else
	const char *good[] = {"tcp://localhost:1883", "mqtt://broker", "ws://b:9001"};

	assert_error(
	    load_error("--mqtt-url=ssl://10.0.0.2:8883", NULL),
	    "iod-feeder: IOD_MQTT_URL: 'ssl://10.0.0.2:8883' needs TLS, and this build has "
	    "none (built with -DIOD_MQTT_TLS=OFF)\n");
#endif
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int code = -1;
		char arg[128];
		snprintf(arg, sizeof(arg), "--mqtt-url=%s", good[i]);
		struct cfg *cfg = load(&code, arg, NULL);
		cr_assert_not_null(cfg, "%s", good[i]);
		cr_assert_str_eq(cfg_str(cfg, "IOD_MQTT_URL"), good[i]);
		cfg_free(cfg);
	}
	assert_error(load_error("--mqtt-url=http://broker:1883", NULL),
		     "iod-feeder: IOD_MQTT_URL: 'http://broker:1883' is not a broker URL (tcp://, "
		     "ssl://, mqtts://, ws:// or wss://host:port)\n");
	assert_error(load_error("--mqtt-url=localhost:1883", NULL),
		     "iod-feeder: IOD_MQTT_URL: 'localhost:1883' is not a broker URL (tcp://, "
		     "ssl://, mqtts://, ws:// or wss://host:port)\n");
	assert_error(load_error("--mqtt-url=tcp://", NULL),
		     "iod-feeder: IOD_MQTT_URL: 'tcp://' is not a broker URL (tcp://, ssl://, "
		     "mqtts://, ws:// or wss://host:port)\n");
}

/* ---- site ---------------------------------------------------------------- */

Test(cfg, site_good, .timeout = 10)
{
	const char *good[] = {"home", "a", "Foster-Home_42",
			      "0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int code = -1;
		char arg[128];
		snprintf(arg, sizeof(arg), "--site=%s", good[i]);
		struct cfg *cfg = load(&code, arg, NULL);
		cr_assert_not_null(cfg, "site %s", good[i]);
		cr_assert_str_eq(cfg_str(cfg, "IOD_SITE"), good[i]);
		cfg_free(cfg);
	}
}

Test(cfg, site_bad, .timeout = 10)
{
	const char *bad[] = {"",
			     "a/b",
			     "a+b",
			     "#",
			     "two words",
			     "caf\xc3\xa9",
			     "a.b",
			     "x\ty",
			     "01234567890123456789012345678901234567890123456789012345678901234"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char arg[128], want[256], shown[128];
		snprintf(arg, sizeof(arg), "--site=%s", bad[i]);
		snprintf(shown, sizeof(shown), "%s", bad[i]);
		for (char *p = shown; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = '?';
		snprintf(want, sizeof(want),
			 "iod-feeder: IOD_SITE: '%s' must be 1-64 of [A-Za-z0-9_-]\n", shown);
		assert_error(load_error(arg, NULL), want);
	}
}

/* ---- the home's and the dog's names --------------------------------------- */

Test(cfg, names_unset_by_default, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg = load(&code, NULL);
	cr_assert_not_null(cfg);
	cr_assert_null(cfg_str(cfg, "IOD_SITE_NAME"));
	cr_assert_null(cfg_str(cfg, "IOD_DOG_NAME"));
	cfg_free(cfg);
}

Test(cfg, names_good, .timeout = 10)
{
	/* 64 bytes: 32 two-byte letters. */
	char sixty_four[65] = "";
	for (int i = 0; i < 32; i++)
		strcat(sixty_four, "\xc3\xa9");
	const char *good[] = {"Foster home A",
			      "B",
			      "Chez \"Mamie\" \\ ici",
			      "\xe6\x9f\xb4",
			      "\xf0\x9f\x90\x95 Biscuit",
			      sixty_four};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int code = -1;
		char site[128], dog[128];
		snprintf(site, sizeof(site), "--site-name=%s", good[i]);
		snprintf(dog, sizeof(dog), "--dog-name=%s", good[i]);
		struct cfg *cfg = load(&code, site, dog, NULL);
		cr_assert_not_null(cfg, "name %s", good[i]);
		cr_assert_str_eq(cfg_str(cfg, "IOD_SITE_NAME"), good[i]);
		cr_assert_str_eq(cfg_str(cfg, "IOD_DOG_NAME"), good[i]);
		cfg_free(cfg);
	}
	/* From the environment too. */
	int code = -1;
	setenv("IOD_DOG_NAME", "Biscuit", 1);
	struct cfg *cfg = load(&code, NULL);
	unsetenv("IOD_DOG_NAME");
	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg_str(cfg, "IOD_DOG_NAME"), "Biscuit");
	cfg_free(cfg);
}

Test(cfg, names_bad, .timeout = 10)
{
	char sixty_five[80];
	memset(sixty_five, 'a', 65);
	sixty_five[65] = '\0';
	char want[256];

	assert_error(load_error("--site-name=", NULL),
		     "iod-feeder: IOD_SITE_NAME: must not be empty (1-64 bytes of UTF-8; unset: no "
		     "name)\n");
	assert_error(load_error("--dog-name=caf\xc3", NULL),
		     "iod-feeder: IOD_DOG_NAME: is not valid UTF-8\n");
	assert_error(load_error("--dog-name=\xc0\xaf", NULL),
		     "iod-feeder: IOD_DOG_NAME: is not valid UTF-8\n");
	assert_error(load_error("--site-name=a\tb", NULL),
		     "iod-feeder: IOD_SITE_NAME: holds a control character (byte 2)\n");
	assert_error(load_error("--site-name=ab\x7f", NULL),
		     "iod-feeder: IOD_SITE_NAME: holds a control character (byte 3)\n");
	/* U+0085, a C1 control (NEL). */
	assert_error(load_error("--dog-name=x\xc2\x85", NULL),
		     "iod-feeder: IOD_DOG_NAME: holds a control character (byte 2)\n");
	snprintf(want, sizeof(want), "iod-feeder: IOD_DOG_NAME: '%s' is 65 bytes, more than 64\n",
		 sixty_five);
	char arg[96];
	snprintf(arg, sizeof(arg), "--dog-name=%s", sixty_five);
	assert_error(load_error(arg, NULL), want);
	/* Both bad: a line each. */
	assert_error(load_error("--site-name=", "--dog-name=", NULL),
		     "iod-feeder: IOD_SITE_NAME: must not be empty (1-64 bytes of UTF-8; unset: no "
		     "name)\niod-feeder: IOD_DOG_NAME: must not be empty (1-64 bytes of UTF-8; "
		     "unset: no name)\n");
}

/* ---- secrets ------------------------------------------------------------- */

Test(cfg, secret_from_env_value, .timeout = 10)
{
	int code = -1;
	struct cfg *cfg;

	setenv("IOD_MQTT_PASSWORD", "pw-env", 1);
	cfg = load(&code, NULL);
	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg_str(cfg, "IOD_MQTT_PASSWORD"), "pw-env");
	cfg_free(cfg);
}

Test(cfg, secret_from_env_file_strips_newline, .timeout = 10)
{
	char *path = write_temp("s3cret pass\n");
	int code = -1;
	struct cfg *cfg;

	setenv("IOD_MQTT_PASSWORD_FILE", path, 1);
	cfg = load(&code, NULL);
	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg_str(cfg, "IOD_MQTT_PASSWORD"), "s3cret pass");
	cfg_free(cfg);
	unlink(path);
	free(path);
}

Test(cfg, secret_from_flag_file_crlf, .timeout = 10)
{
	char *path = write_temp("tok\r\n");
	char arg[256];
	int code = -1;
	struct cfg *cfg;

	setenv("IOD_FEEDER_TOKEN", "from-env", 1);
	snprintf(arg, sizeof(arg), "--feeder-token-file=%s", path);
	cfg = load(&code, arg, NULL);
	cr_assert_not_null(cfg);
	/* The flag layer wins over the environment, file or not. */
	cr_assert_str_eq(cfg_str(cfg, "IOD_FEEDER_TOKEN"), "tok");
	cfg_free(cfg);
	cfg = load(&code, "--mqtt-password-file", path, NULL);
	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg_str(cfg, "IOD_MQTT_PASSWORD"), "tok");
	cfg_free(cfg);
	unlink(path);
	free(path);
}

/* argv is world-readable (/proc/<pid>/cmdline): a secret given as a flag is
 * refused with the way to give it instead, whatever else is set. */
Test(cfg, secret_as_flag_refused, .timeout = 10)
{
	char *path = write_temp("from-file\n");

	setenv("IOD_MQTT_PASSWORD_FILE", path, 1);
	assert_error(load_error("--mqtt-password=from-flag", NULL),
		     "iod-feeder: IOD_MQTT_PASSWORD: not accepted as a flag (--mqtt-password would "
		     "show it in the process list); set IOD_MQTT_PASSWORD in the environment or "
		     "give --mqtt-password-file=PATH\n");
	unsetenv("IOD_MQTT_PASSWORD_FILE");
	assert_error(load_error("--mqtt-password", "hunter2", NULL),
		     "iod-feeder: IOD_MQTT_PASSWORD: not accepted as a flag (--mqtt-password would "
		     "show it in the process list); set IOD_MQTT_PASSWORD in the environment or "
		     "give --mqtt-password-file=PATH\n");
	/* A service's own secret too. */
	assert_error(load_error("--feeder-token=t", NULL),
		     "iod-feeder: IOD_FEEDER_TOKEN: not accepted as a flag (--feeder-token would "
		     "show it in the process list); set IOD_FEEDER_TOKEN in the environment or "
		     "give --feeder-token-file=PATH\n");
	/* The file flag still wins over the environment's value. */
	setenv("IOD_MQTT_PASSWORD", "from-env", 1);
	char arg[256];
	int code = -1;
	snprintf(arg, sizeof(arg), "--mqtt-password-file=%s", path);
	struct cfg *cfg = load(&code, arg, NULL);
	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg_str(cfg, "IOD_MQTT_PASSWORD"), "from-file");
	cfg_free(cfg);
	unlink(path);
	free(path);
}

Test(cfg, secret_value_and_file_in_one_layer_refused, .timeout = 10)
{
	char *path = write_temp("x\n");

	setenv("IOD_MQTT_PASSWORD", "a", 1);
	setenv("IOD_MQTT_PASSWORD_FILE", path, 1);
	assert_error(load_error(NULL), "iod-feeder: IOD_MQTT_PASSWORD: give either "
				       "IOD_MQTT_PASSWORD or IOD_MQTT_PASSWORD_FILE, not both\n");
	unlink(path);
	free(path);
}

Test(cfg, secret_file_missing_or_empty, .timeout = 10)
{
	char *path = write_temp("\n");
	char arg[256], want[512];

	assert_error(load_error("--mqtt-password-file=/nonexistent/pw", NULL),
		     "iod-feeder: IOD_MQTT_PASSWORD_FILE: cannot read '/nonexistent/pw': No such "
		     "file or directory\n");
	snprintf(arg, sizeof(arg), "--mqtt-password-file=%s", path);
	snprintf(want, sizeof(want), "iod-feeder: IOD_MQTT_PASSWORD_FILE: '%s' is empty\n", path);
	assert_error(load_error(arg, NULL), want);
	unlink(path);
	free(path);
}

Test(cfg, file_flag_only_for_secrets, .timeout = 10)
{
	assert_error(load_error("--mqtt-user-file=/tmp/x", NULL),
		     "iod-feeder: unknown option '--mqtt-user-file' (see --help)\n");
}

/* ---- --help and --version ---------------------------------------------- */

static char *run_help(const char *arg, int *code, struct cfg **out)
{
	struct capture cap;
	char *argv[] = {"iod-feeder", "--feeder-max-daily=0", (char *)arg, NULL};

	capture_start(&cap, 1);
	*out = cfg_load("feeder", "iod-feeder", feeder_opts, N_FEEDER_OPTS, 3, argv, code);
	return capture_end(&cap);
}

Test(cfg, help_lists_every_setting_and_no_secret, .timeout = 10)
{
	char *path = write_temp("file-secret\n");
	struct cfg *cfg = (struct cfg *)1;
	int code = -1;
	char *out;

	setenv("IOD_MQTT_PASSWORD", "env-secret", 1);
	setenv("IOD_FEEDER_TOKEN_FILE", path, 1);
	setenv("IOD_MQTT_USER", "someone", 1);
	out = run_help("--help", &code, &cfg);
	cr_assert_null(cfg);
	cr_assert_eq(code, 0);
	const char *must[] = {"--mqtt-url=VALUE",
			      "IOD_MQTT_URL",
			      "tcp://localhost:1883",
			      "--mqtt-user",
			      "--mqtt-password-file=PATH  (IOD_MQTT_PASSWORD)",
			      "never --mqtt-password=",
			      "Secrets are never flags",
			      "IOD_MQTT_PASSWORD_FILE",
			      "--mqtt-ca-file",
			      "--mqtt-cert-file",
			      "--mqtt-key-file",
			      "--site=VALUE",
			      "[default: home]",
			      "--data-dir=VALUE",
			      "[default: ./var/feeder]",
			      "--log-level",
			      "[default: info]",
			      "--feeder-max-daily=N",
			      "IOD_FEEDER_MAX_DAILY",
			      "doses per day at most [default: 3]",
			      "--feeder-min-interval=DURATION",
			      "[default: 6h]",
			      "--feeder-public=BOOL",
			      "--feeder-token-file=PATH",
			      "--version"};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		cr_assert_not_null(strstr(out, must[i]), "--help lacks '%s':\n%s", must[i], out);
	cr_assert_null(strstr(out, "env-secret"));
	cr_assert_null(strstr(out, "file-secret"));
	cr_assert_null(strstr(out, "\n  --mqtt-password="), "no flag offered for a secret:\n%s",
		       out);
	cr_assert_null(strstr(out, "\n  --feeder-token="), "no flag offered for a secret:\n%s",
		       out);
	cr_assert_null(strstr(out, "someone"), "--help shows defaults, not current values");
	free(out);
	unlink(path);
	free(path);
}

Test(cfg, version, .timeout = 10)
{
	struct cfg *cfg = (struct cfg *)1;
	int code = -1;
	char *out = run_help("--version", &code, &cfg);

	cr_assert_null(cfg);
	cr_assert_eq(code, 0);
	cr_assert_str_eq(out, "iod-feeder " IOD_VERSION "\n");
	free(out);
}

/* ---- accessors ------------------------------------------------------------ */

Test(cfg, unknown_name_aborts, .timeout = 10, .signal = SIGABRT)
{
	int code = -1;
	struct cfg *cfg = load(&code, NULL);

	cr_assert_not_null(cfg);
	cfg_str(cfg, "IOD_NO_SUCH_SETTING");
}

Test(cfg, wrong_type_aborts, .timeout = 10, .signal = SIGABRT)
{
	int code = -1;
	struct cfg *cfg = load(&code, NULL);

	cr_assert_not_null(cfg);
	cfg_int(cfg, "IOD_FEEDER_MIN_INTERVAL");
}

/* ---- parsers ------------------------------------------------------------- */

Test(cfg_parse, durations_good, .timeout = 10)
{
	struct {
		const char *text;
		int64_t ms;
	} cases[] = {
	    {"90s", 90000},
	    {"15m", 900000},
	    {"6h", 21600000},
	    {"2d", 172800000},
	    {"0", 0},
	    {"3600", 3600000},
	    {"0s", 0},
	    {"1", 1000},
	    {"007m", 420000},
	    {"106751991167d", 106751991167LL * 86400000LL}, /* the largest that fits */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -42;
		cr_assert_eq(cfg_parse_duration_ms(cases[i].text, &ms), 0, "%s", cases[i].text);
		cr_assert_eq(ms, cases[i].ms, "%s -> %lld", cases[i].text, (long long)ms);
	}
}

Test(cfg_parse, durations_bad, .timeout = 10)
{
	const char *bad[] = {"-1",
			     "6x",
			     "",
			     "1e3",
			     "99999999999999999999d",
			     "106751991168d",
			     "9223372036854775807",
			     "s",
			     "5 s",
			     " 5",
			     "5 ",
			     "+5",
			     "5ss",
			     "5sm",
			     "1.5h",
			     "0x10",
			     "5S",
			     "5ms",
			     "-0",
			     "1h30m"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = -42;
		cr_assert_eq(cfg_parse_duration_ms(bad[i], &ms), -1, "'%s' accepted", bad[i]);
		cr_assert_eq(ms, -42, "'%s' wrote the output", bad[i]);
	}
	cr_assert_eq(cfg_parse_duration_ms(NULL, NULL), -1);
}

Test(cfg_parse, ints, .timeout = 10)
{
	int64_t v = 0;

	cr_assert_eq(cfg_parse_int("42", 0, 0, &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(cfg_parse_int("-17", 0, 0, &v), 0);
	cr_assert_eq(v, -17);
	cr_assert_eq(cfg_parse_int("9223372036854775807", 0, 0, &v), 0);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(cfg_parse_int("-9223372036854775808", 0, 0, &v), 0);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(cfg_parse_int("24", 1, 24, &v), 0);
	cr_assert_eq(v, 24);
	cr_assert_eq(cfg_parse_int("1", 1, 24, &v), 0);
	cr_assert_eq(v, 1);

	v = 99;
	const char *bad[] = {"",
			     "-",
			     "+3",
			     " 3",
			     "3 ",
			     "3a",
			     "0x10",
			     "1e3",
			     "3.0",
			     "9223372036854775808",
			     "-9223372036854775809",
			     "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(cfg_parse_int(bad[i], 0, 0, &v), -1, "'%s' accepted", bad[i]);
	cr_assert_eq(cfg_parse_int("0", 1, 24, &v), -1);
	cr_assert_eq(cfg_parse_int("25", 1, 24, &v), -1);
	cr_assert_eq(cfg_parse_int("-1", 0, 10, &v), -1);
	cr_assert_eq(v, 99, "a refused value must not be written");
	cr_assert_eq(cfg_parse_int(NULL, 0, 0, &v), -1);
}

Test(cfg_parse, bools, .timeout = 10)
{
	const char *yes[] = {"1", "true", "yes", "on", "TRUE", "Yes", "ON"};
	const char *no[] = {"0", "false", "no", "off", "False", "NO", "Off"};
	const char *bad[] = {"", "2", "y", "n", "enabled", "truee", " 1", "-1", "null"};
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		cr_assert_eq(cfg_parse_bool(yes[i], &b), 0, "%s", yes[i]);
		cr_assert_eq(b, true, "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		cr_assert_eq(cfg_parse_bool(no[i], &b), 0, "%s", no[i]);
		cr_assert_eq(b, false, "%s", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(cfg_parse_bool(bad[i], &b), -1, "'%s' accepted", bad[i]);
}

Test(cfg, make_data_dir_creates_parents_and_is_idempotent, .timeout = 10)
{
	char base[] = "/tmp/iod-cfg-XXXXXX";
	char dir[256], flag[300], file[300];
	struct stat st;
	struct cfg *cfg;
	int code = -1;

	umask(022);
	cr_assert_not_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/a/b/feeder", base);
	snprintf(flag, sizeof(flag), "--data-dir=%s", dir);
	cfg = load(&code, flag, NULL);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg_make_data_dir(cfg), 0);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0750);
	cr_assert_eq(cfg_make_data_dir(cfg), 0, "a second call finds it there");
	cfg_free(cfg);

	/* A file where a parent should be: -ENOTDIR, named by the caller. */
	snprintf(file, sizeof(file), "%s/plain", base);
	fclose(fopen(file, "w"));
	snprintf(flag, sizeof(flag), "--data-dir=%s/plain/feeder", base);
	cfg = load(&code, flag, NULL);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg_make_data_dir(cfg), -ENOTDIR);
	cfg_free(cfg);

	snprintf(file, sizeof(file), "rm -rf %s", base);
	cr_assert_eq(system(file), 0);
}

/* ---- numbers (CFG_NUMBER) ------------------------------------------------ */

static const struct cfg_option number_opts[] = {
    {"IOD_SENSORS_DEADBAND", CFG_NUMBER, "0.2", "a bounded real", 0, 1000, 0, NULL},
    {"IOD_SENSORS_TARE", CFG_NUMBER, "0", "a negative bound", -1000000000, 1000000000, 0, NULL},
    {"IOD_SENSORS_GAIN", CFG_NUMBER, NULL, "an unbounded real", 0, 0, 0, NULL},
};
#define N_NUMBER_OPTS (sizeof(number_opts) / sizeof(number_opts[0]))

/* cfg_load of number_opts with one flag; the captured stderr in *err. */
static struct cfg *load_number(const char *flag, int *code, char **err)
{
	char *argv[] = {"iod-sensors", (char *)flag, NULL};
	struct capture cap;
	struct cfg *cfg;

	capture_start(&cap, 2);
	cfg = cfg_load("sensors", "iod-sensors", number_opts, N_NUMBER_OPTS, flag ? 2 : 1, argv,
		       code);
	*err = capture_end(&cap);
	return cfg;
}

Test(cfg_parse, numbers, .timeout = 10)
{
	const struct {
		const char *text;
		double value;
	} good[] = {{"0.2", 0.2}, {" 5 ", 5},  {"-2.5e1", -25}, {"1000", 1000},
		    {"0", 0},	  {".5", 0.5}, {"+3", 3},	{"1e2", 100}};
	const char *bad[] = {"", "  ", "abc", "1x", "0.2.3", "nan", "inf", "-inf", "1e400", "5 g"};
	double v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		cr_assert_eq(cfg_parse_number(good[i].text, -100, 1000, &v), 0, "'%s'",
			     good[i].text);
		cr_assert_float_eq(v, good[i].value, 1e-12, "'%s'", good[i].text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		cr_assert_eq(cfg_parse_number(bad[i], 0, 0, &v), -1, "'%s'", bad[i]);
		cr_assert_float_eq(v, -1, 0, "'%s' changed the output", bad[i]);
	}
	cr_assert_eq(cfg_parse_number(NULL, 0, 0, &v), -1);
	/* Bounds are inclusive; 0,0 means none. */
	cr_assert_eq(cfg_parse_number("1000.0001", 0, 1000, &v), -1);
	cr_assert_eq(cfg_parse_number("-0.0001", 0, 1000, &v), -1);
	cr_assert_eq(cfg_parse_number("-1e9", -1000000000, 1000000000, &v), 0);
	cr_assert_eq(cfg_parse_number("-1e9", 0, 1, &v), -1);
	/* The camera's fractions, [0, 1] (its own parser before CFG_NUMBER). */
	const char *fractions[] = {"0.02", "1", "0", ".5", "1.0"};
	for (size_t i = 0; i < sizeof(fractions) / sizeof(fractions[0]); i++)
		cr_assert_eq(cfg_parse_number(fractions[i], 0, 1, &v), 0, "'%s'", fractions[i]);
	const char *not_fractions[] = {"-0.1", "1.01", "0.1x", "2"};
	for (size_t i = 0; i < sizeof(not_fractions) / sizeof(not_fractions[0]); i++)
		cr_assert_eq(cfg_parse_number(not_fractions[i], 0, 1, &v), -1, "'%s'",
			     not_fractions[i]);
	cr_assert_eq(cfg_parse_number("-1e300", 0, 0, &v), 0);
	cr_assert_float_eq(v, -1e300, 1e288);
}

Test(cfg, number_values_and_defaults, .timeout = 10)
{
	int code = -1;
	char *err;
	struct cfg *cfg = load_number("--sensors-deadband=2.5", &code, &err);

	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(code, 0);
	cr_assert_str_eq(err, "");
	cr_assert_float_eq(cfg_number(cfg, "IOD_SENSORS_DEADBAND"), 2.5, 1e-12);
	cr_assert_float_eq(cfg_number(cfg, "IOD_SENSORS_TARE"), 0, 0);
	cr_assert_float_eq(cfg_number(cfg, "IOD_SENSORS_GAIN"), 0, 0, "unset reads as 0");
	cr_assert_null(cfg_str(cfg, "IOD_SENSORS_GAIN"));
	cr_assert_str_eq(cfg_str(cfg, "IOD_SENSORS_DEADBAND"), "2.5", "the text stays readable");
	cfg_free(cfg);
	free(err);
	setenv("IOD_SENSORS_TARE", "-123456.5", 1);
	cfg = load_number(NULL, &code, &err);
	cr_assert_not_null(cfg, "%s", err);
	cr_assert_float_eq(cfg_number(cfg, "IOD_SENSORS_TARE"), -123456.5, 1e-9);
	cr_assert_float_eq(cfg_number(cfg, "IOD_SENSORS_DEADBAND"), 0.2, 1e-12);
	cfg_free(cfg);
	free(err);
}

Test(cfg, number_errors_are_exact, .timeout = 10)
{
	const struct {
		const char *flag, *line;
	} cases[] = {
	    {"--sensors-deadband=loud",
	     "iod-sensors: IOD_SENSORS_DEADBAND: 'loud' is not a number in [0, 1000]\n"},
	    {"--sensors-deadband=1001",
	     "iod-sensors: IOD_SENSORS_DEADBAND: '1001' is not a number in [0, 1000]\n"},
	    {"--sensors-deadband=-1",
	     "iod-sensors: IOD_SENSORS_DEADBAND: '-1' is not a number in [0, 1000]\n"},
	    {"--sensors-tare=2e9",
	     "iod-sensors: IOD_SENSORS_TARE: '2e9' is not a number in [-1e+09, 1e+09]\n"},
	    {"--sensors-gain=1g", "iod-sensors: IOD_SENSORS_GAIN: '1g' is not a number\n"},
	    {"--sensors-gain=nan", "iod-sensors: IOD_SENSORS_GAIN: 'nan' is not a number\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = -1;
		char *err;
		struct cfg *cfg = load_number(cases[i].flag, &code, &err);
		cr_assert_null(cfg, "%s accepted", cases[i].flag);
		cr_assert_eq(code, 2, "%s", cases[i].flag);
		cr_assert_str_eq(err, cases[i].line, "%s", cases[i].flag);
		free(err);
	}
}

Test(cfg, number_read_as_int_aborts, .timeout = 10, .signal = SIGABRT)
{
	int code = -1;
	char *err;
	struct cfg *cfg = load_number(NULL, &code, &err);

	cr_assert_not_null(cfg);
	cfg_int(cfg, "IOD_SENSORS_DEADBAND");
}

/* ---- check callbacks ----------------------------------------------------- */

static int check_calls;
static char check_seen[64];

/* A module's rule: even numbers only. */
static bool even_check(const char *value, char *why, size_t why_size)
{
	check_calls++;
	snprintf(check_seen, sizeof(check_seen), "%s", value);
	if (strtoll(value, NULL, 10) % 2 == 0)
		return true;
	snprintf(why, why_size, "'%s' is odd: doses come in pairs", value);
	return false;
}

static bool silent_check(const char *value, char *why, size_t why_size)
{
	(void)why;
	(void)why_size;
	return strcmp(value, "bad") != 0;
}

static const struct cfg_option check_opts[] = {
    {"IOD_FEEDER_PAIRS", CFG_INT, "2", "even, 0-10", 0, 10, 0, even_check},
    {"IOD_FEEDER_MODE", CFG_STRING, NULL, "anything but bad", 0, 0, 0, silent_check},
};
#define N_CHECK_OPTS (sizeof(check_opts) / sizeof(check_opts[0]))

static struct cfg *load_check(char **argv, int argc, int *code, char **out, char **err)
{
	struct capture cap_out, cap_err;
	struct cfg *cfg;

	capture_start(&cap_out, 1);
	capture_start(&cap_err, 2);
	cfg = cfg_load("feeder", "iod-feeder", check_opts, N_CHECK_OPTS, argc, argv, code);
	*err = capture_end(&cap_err);
	*out = capture_end(&cap_out);
	return cfg;
}

Test(cfg, check_callback_refuses_with_its_text, .timeout = 10)
{
	char *argv[] = {"iod-feeder", "--feeder-pairs=3", NULL};
	int code = -1;
	char *out, *err;
	struct cfg *cfg = load_check(argv, 2, &code, &out, &err);

	cr_assert_null(cfg);
	cr_assert_eq(code, 2);
	cr_assert_str_eq(err, "iod-feeder: IOD_FEEDER_PAIRS: '3' is odd: doses come in pairs\n");
	cr_assert_str_eq(check_seen, "3");
	free(out);
	free(err);
}

Test(cfg, check_runs_after_the_type_and_on_defaults, .timeout = 10)
{
	char *argv[] = {"iod-feeder", NULL, NULL};
	int code = -1;
	char *out, *err;
	struct cfg *cfg;

	/* The default "2" is checked (once) and passes; an unset setting is not. */
	check_calls = 0;
	cfg = load_check(argv, 1, &code, &out, &err);
	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(check_calls, 1);
	cr_assert_str_eq(check_seen, "2");
	cr_assert_eq(cfg_int(cfg, "IOD_FEEDER_PAIRS"), 2);
	cfg_free(cfg);
	free(out);
	free(err);

	/* The type refuses first: the rule never sees what is not a number in range. */
	check_calls = 0;
	argv[1] = "--feeder-pairs=12";
	cfg = load_check(argv, 2, &code, &out, &err);
	cr_assert_null(cfg);
	cr_assert_eq(check_calls, 0);
	cr_assert_str_eq(err, "iod-feeder: IOD_FEEDER_PAIRS: '12' must be between 0 and 10\n");
	free(out);
	free(err);

	/* A check that gives no reason still gets a line naming the setting. */
	argv[1] = "--feeder-mode=bad";
	cfg = load_check(argv, 2, &code, &out, &err);
	cr_assert_null(cfg);
	cr_assert_str_eq(err,
			 "iod-feeder: IOD_FEEDER_MODE: not accepted (its check gave no reason)\n");
	free(out);
	free(err);
}

Test(cfg, every_bad_setting_gets_its_line, .timeout = 10)
{
	char *argv[] = {"iod-feeder",	     "--feeder-pairs=5", "--site=a/b",
			"--feeder-mode=bad", "--log-level=loud", NULL};
	int code = -1;
	char *out, *err;
	struct cfg *cfg = load_check(argv, 5, &code, &out, &err);

	cr_assert_null(cfg);
	cr_assert_eq(code, 2);
	/* In table order: the common settings, then the service's. */
	cr_assert_str_eq(err,
			 "iod-feeder: IOD_SITE: 'a/b' must be 1-64 of [A-Za-z0-9_-]\n"
			 "iod-feeder: IOD_LOG_LEVEL: 'loud' is not one of debug, info, warn, "
			 "error\n"
			 "iod-feeder: IOD_FEEDER_PAIRS: '5' is odd: doses come in pairs\n"
			 "iod-feeder: IOD_FEEDER_MODE: not accepted (its check gave no reason)\n");
	cr_assert_str_eq(out, "");
	free(out);
	free(err);
}

/* ---- --check-config ------------------------------------------------------ */

Test(cfg, check_config_valid, .timeout = 10)
{
	char *argv[] = {"iod-feeder", "--check-config", "--feeder-pairs=4", NULL};
	int code = -1;
	char *out, *err;
	struct cfg *cfg = load_check(argv, 3, &code, &out, &err);

	cr_assert_null(cfg, "--check-config returns no cfg: the service must not start");
	cr_assert_eq(code, 0);
	cr_assert_str_eq(out, "iod-feeder: configuration is valid\n");
	cr_assert_str_eq(err, "");
	free(out);
	free(err);
}

Test(cfg, check_config_invalid, .timeout = 10)
{
	char *argv[] = {"iod-feeder", "--feeder-pairs=7", "--check-config", "--feeder-mode=bad",
			NULL};
	int code = -1;
	char *out, *err;
	struct cfg *cfg = load_check(argv, 4, &code, &out, &err);

	cr_assert_null(cfg);
	cr_assert_eq(code, 2);
	cr_assert_str_eq(out, "");
	cr_assert_str_eq(err,
			 "iod-feeder: IOD_FEEDER_PAIRS: '7' is odd: doses come in pairs\n"
			 "iod-feeder: IOD_FEEDER_MODE: not accepted (its check gave no reason)\n");
	free(out);
	free(err);
}

Test(cfg, check_config_refuses_an_unreadable_secret_and_help_wins, .timeout = 10)
{
	int code = -1;
	struct capture cap;

	/* A secret file that cannot be read is an error for --check-config too. */
	setenv("IOD_MQTT_PASSWORD_FILE", "/nonexistent/iod-secret", 1);
	assert_error(
	    load_error("--check-config", NULL),
	    "iod-feeder: IOD_MQTT_PASSWORD_FILE: cannot read '/nonexistent/iod-secret': No "
	    "such file or directory\n");
	unsetenv("IOD_MQTT_PASSWORD_FILE");
	/* --help next to it: help, exit 0, no verdict. */
	capture_start(&cap, 1);
	struct cfg *cfg = load(&code, "--check-config", "--help", NULL);
	char *out = capture_end(&cap);
	cr_assert_null(cfg);
	cr_assert_eq(code, 0);
	cr_assert(strstr(out, "  --check-config  "), "%s", out);
	cr_assert_null(strstr(out, "configuration is valid"), "%s", out);
	free(out);
}

/* ---- the modules' checks, as cfg's table uses them ---------------------- */

Test(cfg_checks, owned_by_their_modules, .timeout = 10)
{
	char why[256];

	cr_assert(proto_site_check("home", why, sizeof(why)));
	cr_assert_not(proto_site_check("a+b", why, sizeof(why)));
	cr_assert_str_eq(why, "'a+b' must be 1-64 of [A-Za-z0-9_-]");
	cr_assert(log_level_check("warn", why, sizeof(why)));
	cr_assert_not(log_level_check("WARN", why, sizeof(why)));
	cr_assert_str_eq(why, "'WARN' is not one of debug, info, warn, error");
	cr_assert(mqtt_url_check("mqtt://broker", why, sizeof(why)));
	cr_assert_not(mqtt_url_check("http://broker", why, sizeof(why)));
	cr_assert_str_eq(why, "'http://broker' is not a broker URL (tcp://, ssl://, mqtts://, "
			      "ws:// or wss://host:port)");
	/* The table is what wires them: each common setting names its module's check. */
	for (size_t i = 0; i < cfg_common_options_count; i++) {
		const struct cfg_option *o = &cfg_common_options[i];
		if (strcmp(o->name, "IOD_SITE") == 0)
			cr_assert_eq(o->check, proto_site_check);
		if (strcmp(o->name, "IOD_LOG_LEVEL") == 0)
			cr_assert_eq(o->check, log_level_check);
		if (strcmp(o->name, "IOD_MQTT_URL") == 0)
			cr_assert_eq(o->check, mqtt_url_check);
	}
}
