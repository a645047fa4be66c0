/*
 * cfg — layered configuration: built-in default < environment (IOD_*) < long flag.
 *
 * Every setting has one name, IOD_FOO_BAR, whose flag is --foo-bar. A service
 * describes its settings in a table of struct cfg_option, cfg_load() merges
 * them with the settings every service shares (cfg_common_options) and parses
 * the environment and argv. A bad value stops the service at start with a
 * message that names the setting, e.g.
 *
 *     iod-feeder: IOD_FEEDER_MIN_INTERVAL: '6x' is not a duration (90s, 15m, 6h, 2d or seconds)
 *
 * Secrets (CFG_F_SECRET) come from the environment (IOD_FOO) or from a file
 * named by IOD_FOO_FILE / --foo-file (trailing newline stripped; value and
 * file in one layer is an error), never from a --foo flag: argv is readable by
 * every user through /proc/<pid>/cmdline, so --foo=... is refused (exit 2).
 * The value is never logged, and --help prints only defaults.
 *
 * An environment variable set to the empty string counts as unset, so env
 * files and compose files may list a setting without a value. Exit code 2
 * on error; every bad setting gets its line, not only the first.
 *
 * cfg owns the parsing (the types below); the module that owns a rule owns
 * its check (struct cfg_option.check): proto checks IOD_SITE, log the levels,
 * mqtt_url the broker URLs, a service its own settings. --check-config runs
 * all of it and stops: "<program>: configuration is valid" on stdout and 0,
 * or the error lines and 2, before the service opens anything (only a
 * secret's _FILE is read, to check it).
 *
 * Not thread-safe: load once in main() before any thread starts; reading
 * afterwards from any thread is fine (nothing changes).
 */
#ifndef IOD_CFG_H
#define IOD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_STRING,
	CFG_INT,      /* decimal integer within [min, max] */
	CFG_DURATION, /* 90s, 15m, 6h, 2d, or plain seconds; within [min, max] ms */
	CFG_BOOL,     /* 1/0, true/false, yes/no, on/off */
	CFG_NUMBER,   /* a real number (0.2, -3, 2.5e1) within [min, max] */
};

enum cfg_flags {
	CFG_F_SECRET = 1 << 0, /* also IOD_X_FILE / --x-file; never printed */
};

/*
 * A module's rule for one setting, run on its text once the type has parsed
 * (so a number's text is a number in range). False when the value breaks
 * the rule, with the rest of the error line in why, value included: cfg
 * prints "<program>: <NAME>: <why>", e.g. why = "'x!' must be 1-64 of ...".
 */
typedef bool (*cfg_check_fn)(const char *value, char *why, size_t why_size);

struct cfg_option {
	const char *name; /* "IOD_FEEDER_MAX_DAILY" */
	enum cfg_type type;
	const char *default_value; /* NULL: unset (cfg_str() returns NULL) */
	const char *help;	   /* one line for --help */
	/* CFG_INT, CFG_NUMBER: value; CFG_DURATION: milliseconds; 0,0 = no bound */
	int64_t min, max;
	unsigned flags;	    /* enum cfg_flags */
	cfg_check_fn check; /* NULL: the type is the whole rule */
};

struct cfg;

/* The settings every service has: IOD_MQTT_URL, IOD_MQTT_USER,
 * IOD_MQTT_PASSWORD (secret), IOD_MQTT_CA_FILE, IOD_MQTT_CERT_FILE,
 * IOD_MQTT_KEY_FILE, IOD_SITE, IOD_SITE_NAME, IOD_DOG_NAME, IOD_DATA_DIR
 * (default ./var/<service>), IOD_LOG_LEVEL, IOD_DASHBOARD_URL. */
extern const struct cfg_option cfg_common_options[];
extern const size_t cfg_common_options_count;

/*
 * Parse defaults, then getenv(), then argv (--name=value or --name value,
 * --help, --version, --check-config). `service` is the short name
 * ("feeder"); `program` the binary name for messages ("iod-feeder").
 *
 * Returns a new struct cfg on success. On --help/--version, and on
 * --check-config with every setting good, prints to stdout and sets
 * *exit_code = 0; on errors prints one line per bad setting to stderr, each
 * naming its setting, and sets *exit_code = 2; these return NULL. The
 * options table must outlive the struct cfg.
 */
struct cfg *cfg_load(const char *service, const char *program, const struct cfg_option *opts,
		     size_t n_opts, int argc, char **argv, int *exit_code);
void cfg_free(struct cfg *cfg);

/* Accessors. The name must be one the struct cfg was loaded with (aborts
 * otherwise: a programming error, not a user error). */
const char *cfg_str(const struct cfg *cfg, const char *name); /* NULL when unset */
int64_t cfg_int(const struct cfg *cfg, const char *name);
int64_t cfg_duration_ms(const struct cfg *cfg, const char *name);
bool cfg_bool(const struct cfg *cfg, const char *name);
double cfg_number(const struct cfg *cfg, const char *name);
const char *cfg_service(const struct cfg *cfg); /* "feeder" */

/* Create IOD_DATA_DIR and its missing parents (mode 0750), like mkdir -p.
 * 0, or -errno (the path is then worth naming in the caller's log line). */
int cfg_make_data_dir(const struct cfg *cfg);

/* Parsers, exposed for tests and for other modules. 0 or -1. */
int cfg_parse_duration_ms(const char *text, int64_t *out_ms);
int cfg_parse_int(const char *text, int64_t min, int64_t max, int64_t *out);
int cfg_parse_bool(const char *text, bool *out);
/* A finite real number strtod reads, blanks around it allowed, within
 * [min, max] (0,0 = no bound). */
int cfg_parse_number(const char *text, int64_t min, int64_t max, double *out);

#endif
