/*
 * cfg — layered configuration (see cfg.h and docs/design.md "Configuration").
 *
 * A struct cfg holds one entry per setting: the merged table of the common
 * options and the service's own, each with its resolved text and, for typed
 * settings, the parsed value. Everything is resolved and validated inside
 * cfg_load(), so a service never starts with a setting it cannot use.
 */
#include "cfg.h"
#include "log.h"
#include "mqtt_url.h"
#include "proto.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CFG_NAME_MAX	    128 /* "IOD_FEEDER_MIN_INTERVAL" and the like */
#define CFG_SECRET_FILE_MAX 4096
#define CFG_WHY_MAX	    900 /* a check's reason; the line is cut at 1024 anyway */

static bool dashboard_url_check(const char *url, char *why, size_t why_size);
static bool display_name_check(const char *name, char *why, size_t why_size);

const struct cfg_option cfg_common_options[] = {
    {"IOD_MQTT_URL", CFG_STRING, "tcp://localhost:1883",
     "MQTT broker URL: tcp:// (mqtt://), ssl:// (mqtts://), ws:// or wss://", 0, 0, 0,
     mqtt_url_check},
    {"IOD_MQTT_USER", CFG_STRING, NULL, "MQTT user name", 0, 0, 0, NULL},
    {"IOD_MQTT_PASSWORD", CFG_STRING, NULL, "MQTT password (or a file holding it)", 0, 0,
     CFG_F_SECRET, NULL},
    {"IOD_MQTT_CA_FILE", CFG_STRING, NULL, "CA certificate (PEM) to verify a TLS broker", 0, 0, 0,
     NULL},
    {"IOD_MQTT_CERT_FILE", CFG_STRING, NULL, "client certificate (PEM) for TLS", 0, 0, 0, NULL},
    {"IOD_MQTT_KEY_FILE", CFG_STRING, NULL, "client private key (PEM) for TLS", 0, 0, 0, NULL},
    {"IOD_SITE", CFG_STRING, "home", "the <site> in every topic: 1-64 of [A-Za-z0-9_-]", 0, 0, 0,
     proto_site_check},
    {"IOD_SITE_NAME", CFG_STRING, NULL,
     "the home's name for people, in info (\"Foster home A\"): 1-64 bytes of UTF-8, no "
     "control characters",
     0, 0, 0, display_name_check},
    {"IOD_DOG_NAME", CFG_STRING, NULL,
     "the dog's name, in info: 1-64 bytes of UTF-8, no control characters", 0, 0, 0,
     display_name_check},
    {"IOD_DATA_DIR", CFG_STRING, NULL, "journal and other state", 0, 0, 0, NULL},
    {"IOD_LOG_LEVEL", CFG_STRING, "info", "debug, info, warn or error", 0, 0, 0, log_level_check},
    {"IOD_DASHBOARD_URL", CFG_STRING, NULL,
     "the dashboard's http(s):// URL, linked from Home Assistant's device page (unset: "
     "http://<host name>:8080/; none: no link)",
     0, 0, 0, dashboard_url_check},
};
const size_t cfg_common_options_count = sizeof(cfg_common_options) / sizeof(cfg_common_options[0]);

struct cfg_entry {
	const struct cfg_option *opt;
	char *default_text;	      /* resolved default (IOD_DATA_DIR's depends on the service) */
	char *value;		      /* resolved text, NULL when unset */
	int64_t number;		      /* CFG_INT value, CFG_DURATION milliseconds */
	double real;		      /* CFG_NUMBER */
	bool flag;		      /* CFG_BOOL */
	char flag_name[CFG_NAME_MAX]; /* "--feeder-max-daily" */
	char file_flag_name[CFG_NAME_MAX]; /* "--mqtt-password-file" (secrets) */
	char file_env_name[CFG_NAME_MAX];  /* "IOD_MQTT_PASSWORD_FILE" (secrets) */
};

struct cfg {
	char *service;
	char *program;
	struct cfg_entry *entries;
	size_t n_entries;
};

/* ---- parsers ----------------------------------------------------------- */

/*
 * Strict unsigned decimal: digits only (no sign, no blanks, no exponent),
 * at least one, no overflow. 0 or -1.
 */
static int parse_digits(const char *text, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

int cfg_parse_duration_ms(const char *text, int64_t *out_ms)
{
	const char *end;
	uint64_t n, unit_ms;

	if (!text || parse_digits(text, &end, &n) < 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		unit_ms = 1000;
		break;
	case 'm':
		unit_ms = 60 * 1000;
		break;
	case 'h':
		unit_ms = 3600 * 1000;
		break;
	case 'd':
		unit_ms = 24 * 3600 * 1000;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (n > (uint64_t)INT64_MAX / unit_ms)
		return -1;
	*out_ms = (int64_t)(n * unit_ms);
	return 0;
}

int cfg_parse_int(const char *text, int64_t min, int64_t max, int64_t *out)
{
	const char *p = text, *end;
	bool negative = false;
	uint64_t mag;
	int64_t v;

	if (!text)
		return -1;
	if (*p == '-') {
		negative = true;
		p++;
	}
	if (parse_digits(p, &end, &mag) < 0 || *end != '\0')
		return -1;
	if (negative) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return -1;
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	} else {
		if (mag > (uint64_t)INT64_MAX)
			return -1;
		v = (int64_t)mag;
	}
	if (!(min == 0 && max == 0) && (v < min || v > max))
		return -1;
	*out = v;
	return 0;
}

int cfg_parse_number(const char *text, int64_t min, int64_t max, double *out)
{
	char *end = NULL;
	double v;

	if (!text)
		return -1;
	while (isspace((unsigned char)*text))
		text++;
	if (!*text)
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (end == text || errno == ERANGE || !isfinite(v))
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -1;
	if (!(min == 0 && max == 0) && (v < (double)min || v > (double)max))
		return -1;
	*out = v;
	return 0;
}

int cfg_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	if (!text)
		return -1;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* ---- helpers ----------------------------------------------------------- */

/* "90000" ms -> "90s", "21600000" -> "6h": the largest unit that divides it. */
static void format_duration(char *buf, size_t size, int64_t ms)
{
	if (ms % 1000 != 0)
		snprintf(buf, size, "%lldms", (long long)ms);
	else if (ms != 0 && ms % (24LL * 3600 * 1000) == 0)
		snprintf(buf, size, "%lldd", (long long)(ms / (24LL * 3600 * 1000)));
	else if (ms != 0 && ms % (3600LL * 1000) == 0)
		snprintf(buf, size, "%lldh", (long long)(ms / (3600LL * 1000)));
	else if (ms != 0 && ms % (60LL * 1000) == 0)
		snprintf(buf, size, "%lldm", (long long)(ms / (60LL * 1000)));
	else
		snprintf(buf, size, "%llds", (long long)(ms / 1000));
}

/* "IOD_FEEDER_MAX_DAILY" -> "--feeder-max-daily". -1 if the name is malformed. */
static int flag_from_name(const char *name, const char *suffix, char *buf, size_t size)
{
	size_t o = 0;

	if (strncmp(name, "IOD_", 4) != 0 || name[4] == '\0')
		return -1;
	if (size < 3)
		return -1;
	buf[o++] = '-';
	buf[o++] = '-';
	for (const char *p = name + 4; *p; p++) {
		if (o + 1 >= size)
			return -1;
		buf[o++] = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
	}
	buf[o] = '\0';
	if (suffix) {
		if (o + strlen(suffix) + 1 > size)
			return -1;
		strcpy(buf + o, suffix);
	}
	return 0;
}

static void cfg_error(const char *program, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cfg_error(const char *program, const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One line, whatever the user typed: control characters become '?'. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* Under systemd: an error for `journalctl -p err`, as log_error's are
	 * (this runs before log_init). */
	fprintf(stderr, "%s%s: %s\n", log_stderr_is_journal() ? "<3>" : "", program, line);
}

/* What Home Assistant takes as a configuration_url (http or https, with a
 * host; it refuses the whole discovery config otherwise), or "none". */
static bool dashboard_url_valid(const char *url)
{
	const char *host;

	if (strcmp(url, "none") == 0)
		return true;
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	if (*host == '\0' || *host == ':' || *host == '/')
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static bool dashboard_url_check(const char *url, char *why, size_t why_size)
{
	if (dashboard_url_valid(url))
		return true;
	snprintf(why, why_size, "'%s' is not an http:// or https:// URL with a host (or none)",
		 url);
	return false;
}

/* IOD_SITE_NAME, IOD_DOG_NAME: shown to people as given, so any UTF-8 but
 * no control character (C0, DEL, C1), 1-64 bytes. The value is quoted only
 * when it is valid UTF-8 (the error line must be). */
static bool display_name_check(const char *name, char *why, size_t why_size)
{
	size_t len = strlen(name);

	if (len == 0) {
		snprintf(why, why_size, "must not be empty (1-64 bytes of UTF-8; unset: no name)");
		return false;
	}
	if (!proto_utf8_valid(name, len)) {
		snprintf(why, why_size, "is not valid UTF-8");
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && (unsigned char)name[i + 1] >= 0x80 &&
		     (unsigned char)name[i + 1] <= 0x9f)) {
			snprintf(why, why_size, "holds a control character (byte %zu)", i + 1);
			return false;
		}
	}
	if (len > 64) {
		snprintf(why, why_size, "'%s' is %zu bytes, more than 64", name, len);
		return false;
	}
	return true;
}

/*
 * Read a secret from a file: at most CFG_SECRET_FILE_MAX bytes, trailing
 * CR/LF stripped, not empty, no NUL. malloc'd or NULL (error printed).
 */
static char *read_secret_file(const char *program, const struct cfg_entry *e, const char *path)
{
	FILE *f;
	char *buf;
	size_t n;

	if (path[0] == '\0') {
		cfg_error(program, "%s: empty file name", e->file_env_name);
		return NULL;
	}
	f = fopen(path, "rb");
	if (!f) {
		cfg_error(program, "%s: cannot read '%s': %s", e->file_env_name, path,
			  strerror(errno));
		return NULL;
	}
	buf = malloc(CFG_SECRET_FILE_MAX + 2);
	if (!buf) {
		fclose(f);
		cfg_error(program, "%s: out of memory", e->file_env_name);
		return NULL;
	}
	n = fread(buf, 1, CFG_SECRET_FILE_MAX + 1, f);
	if (ferror(f)) {
		cfg_error(program, "%s: cannot read '%s': %s", e->file_env_name, path,
			  strerror(errno));
		goto fail;
	}
	if (n > CFG_SECRET_FILE_MAX) {
		cfg_error(program, "%s: '%s' is larger than %d bytes", e->file_env_name, path,
			  CFG_SECRET_FILE_MAX);
		goto fail;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		cfg_error(program, "%s: '%s' holds a NUL byte", e->file_env_name, path);
		goto fail;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0) {
		cfg_error(program, "%s: '%s' is empty", e->file_env_name, path);
		goto fail;
	}
	fclose(f);
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static struct cfg_entry *find_entry(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_entries; i++)
		if (strcmp(cfg->entries[i].opt->name, name) == 0)
			return &cfg->entries[i];
	return NULL;
}

/* Which layer gave a value: a later layer replaces an earlier one. */
enum cfg_layer { LAYER_DEFAULT, LAYER_ENV, LAYER_FLAG };

/*
 * Set an entry's text from one layer. `from_file` means `text` names a file
 * holding the secret. Within one layer a secret may come from the value or
 * the file, not both. 0 or -1 (error printed).
 */
static int set_value(const struct cfg *cfg, struct cfg_entry *e, enum cfg_layer layer,
		     enum cfg_layer *have_layer, bool *have_file, const char *text, bool from_file)
{
	char *copy;

	if (*have_layer == layer && layer != LAYER_DEFAULT && (e->opt->flags & CFG_F_SECRET) &&
	    *have_file != from_file) {
		cfg_error(cfg->program, "%s: give either %s or %s, not both", e->opt->name,
			  layer == LAYER_FLAG ? e->flag_name : e->opt->name,
			  layer == LAYER_FLAG ? e->file_flag_name : e->file_env_name);
		return -1;
	}
	copy = from_file ? read_secret_file(cfg->program, e, text) : strdup(text);
	if (!copy) {
		if (!from_file)
			cfg_error(cfg->program, "%s: out of memory", e->opt->name);
		return -1;
	}
	free(e->value);
	e->value = copy;
	*have_layer = layer;
	*have_file = from_file;
	return 0;
}

/* Check and convert an entry's text: the type's parse, then the owning
 * module's check. 0 or -1 (error printed). */
static int validate(const struct cfg *cfg, struct cfg_entry *e)
{
	const struct cfg_option *o = e->opt;
	const char *v = e->value;
	char lo[32], hi[32], why[CFG_WHY_MAX];
	int64_t n;

	if (!v)
		return 0;
	switch (o->type) {
	case CFG_STRING:
		break;
	case CFG_INT:
		if (cfg_parse_int(v, 0, 0, &n) < 0) {
			cfg_error(cfg->program, "%s: '%s' is not an integer", o->name, v);
			return -1;
		}
		if (!(o->min == 0 && o->max == 0) && (n < o->min || n > o->max)) {
			cfg_error(cfg->program, "%s: '%s' must be between %lld and %lld", o->name,
				  v, (long long)o->min, (long long)o->max);
			return -1;
		}
		e->number = n;
		break;
	case CFG_DURATION:
		if (cfg_parse_duration_ms(v, &n) < 0) {
			cfg_error(cfg->program,
				  "%s: '%s' is not a duration (90s, 15m, 6h, 2d or seconds)",
				  o->name, v);
			return -1;
		}
		if (!(o->min == 0 && o->max == 0) && (n < o->min || n > o->max)) {
			format_duration(lo, sizeof(lo), o->min);
			format_duration(hi, sizeof(hi), o->max);
			cfg_error(cfg->program, "%s: '%s' must be between %s and %s", o->name, v,
				  lo, hi);
			return -1;
		}
		e->number = n;
		break;
	case CFG_BOOL:
		if (cfg_parse_bool(v, &e->flag) < 0) {
			cfg_error(cfg->program,
				  "%s: '%s' is not a boolean (1/0, true/false, yes/no, on/off)",
				  o->name, v);
			return -1;
		}
		break;
	case CFG_NUMBER:
		/* One message for garbage and out of range: the range is what
		 * the user needs either way. */
		if (cfg_parse_number(v, o->min, o->max, &e->real) < 0) {
			if (o->min == 0 && o->max == 0)
				cfg_error(cfg->program, "%s: '%s' is not a number", o->name, v);
			else
				cfg_error(cfg->program, "%s: '%s' is not a number in [%g, %g]",
					  o->name, v, (double)o->min, (double)o->max);
			return -1;
		}
		break;
	}
	if (o->check) {
		why[0] = '\0';
		if (!o->check(v, why, sizeof(why))) {
			cfg_error(cfg->program, "%s: %s", o->name,
				  why[0] ? why : "not accepted (its check gave no reason)");
			return -1;
		}
	}
	return 0;
}

static const char *type_hint(enum cfg_type t)
{
	switch (t) {
	case CFG_INT:
		return "N";
	case CFG_DURATION:
		return "DURATION";
	case CFG_BOOL:
		return "BOOL";
	case CFG_NUMBER:
		return "NUMBER";
	case CFG_STRING:
		break;
	}
	return "VALUE";
}

static void print_help(const struct cfg *cfg)
{
	printf("Usage: %s [--setting=value | --setting value]...\n\n"
	       "Every setting is an environment variable and a long flag; the flag wins.\n"
	       "Durations: 90s, 15m, 6h, 2d or plain seconds. Booleans: 1/0, true/false, yes/no, "
	       "on/off.\n"
	       "Secrets are never flags (the process list would show them): set them in the\n"
	       "environment, or give a file holding the secret with --<name>-file=PATH.\n\n",
	       cfg->program);
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct cfg_entry *e = &cfg->entries[i];
		const struct cfg_option *o = e->opt;

		if (o->flags & CFG_F_SECRET)
			printf("  %s=PATH  (%s)\n", e->file_flag_name, o->name);
		else
			printf("  %s=%s  (%s)\n", e->flag_name, type_hint(o->type), o->name);
		printf("      %s", o->help ? o->help : "");
		if (o->flags & CFG_F_SECRET)
			printf("; from the environment (%s, or %s naming a file) or this file "
			       "flag, never %s=",
			       o->name, e->file_env_name, e->flag_name);
		/* Only the built-in default is ever shown, never a value from the
		 * environment: secrets stay out of terminals and logs. */
		if (o->flags & CFG_F_SECRET)
			printf(" [secret; default: none]\n");
		else
			printf(" [default: %s]\n", e->default_text ? e->default_text : "none");
	}
	printf("  --check-config  check every setting, say whether they are valid, and exit\n"
	       "                  (0 valid, 2 not); opens no device, data dir or connection\n"
	       "  --help     this text\n  --version  print the version\n");
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_entries; i++) {
		free(cfg->entries[i].default_text);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->service);
	free(cfg->program);
	free(cfg);
}

/* Build the merged table. A service option with a common option's name
 * replaces it (so a service may change a common default). */
static int build_entries(struct cfg *cfg, const struct cfg_option *opts, size_t n_opts)
{
	size_t n = 0;

	cfg->entries = calloc(cfg_common_options_count + n_opts, sizeof(*cfg->entries));
	if (!cfg->entries)
		return -1;
	for (size_t i = 0; i < cfg_common_options_count; i++) {
		bool replaced = false;
		for (size_t j = 0; j < n_opts; j++)
			if (strcmp(opts[j].name, cfg_common_options[i].name) == 0)
				replaced = true;
		if (!replaced)
			cfg->entries[n++].opt = &cfg_common_options[i];
	}
	for (size_t j = 0; j < n_opts; j++) {
		for (size_t k = 0; k < j; k++)
			if (strcmp(opts[k].name, opts[j].name) == 0) {
				cfg_error(cfg->program, "%s: defined twice (programming error)",
					  opts[j].name);
				return -1;
			}
		cfg->entries[n++].opt = &opts[j];
	}
	cfg->n_entries = n;

	for (size_t i = 0; i < n; i++) {
		struct cfg_entry *e = &cfg->entries[i];
		const char *name = e->opt->name;

		if (strlen(name) + sizeof("_FILE") > CFG_NAME_MAX ||
		    flag_from_name(name, NULL, e->flag_name, sizeof(e->flag_name)) < 0 ||
		    flag_from_name(name, "-file", e->file_flag_name, sizeof(e->file_flag_name)) <
			0) {
			cfg_error(cfg->program, "%s: not a valid setting name (programming error)",
				  name);
			return -1;
		}
		snprintf(e->file_env_name, sizeof(e->file_env_name), "%s_FILE", name);
		if (strcmp(name, "IOD_DATA_DIR") == 0 && !e->opt->default_value) {
			size_t len = strlen("./var/") + strlen(cfg->service) + 1;
			e->default_text = malloc(len);
			if (!e->default_text)
				return -1;
			snprintf(e->default_text, len, "./var/%s", cfg->service);
		} else if (e->opt->default_value) {
			e->default_text = strdup(e->opt->default_value);
			if (!e->default_text)
				return -1;
		}
	}
	return 0;
}

/* Find the entry a flag names: "--mqtt-url" or, for secrets, "--mqtt-password-file". */
static struct cfg_entry *find_flag(const struct cfg *cfg, const char *flag, size_t len,
				   bool *is_file)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		struct cfg_entry *e = &cfg->entries[i];
		if (strlen(e->flag_name) == len && strncmp(e->flag_name, flag, len) == 0) {
			*is_file = false;
			return e;
		}
		if ((e->opt->flags & CFG_F_SECRET) && strlen(e->file_flag_name) == len &&
		    strncmp(e->file_flag_name, flag, len) == 0) {
			*is_file = true;
			return e;
		}
	}
	return NULL;
}

struct cfg *cfg_load(const char *service, const char *program, const struct cfg_option *opts,
		     size_t n_opts, int argc, char **argv, int *exit_code)
{
	struct cfg *cfg;
	enum cfg_layer *layers = NULL;
	bool *from_file = NULL;
	bool check_only = false;
	int bad = 0;

	*exit_code = 2;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "%s: out of memory\n", program);
		return NULL;
	}
	cfg->service = strdup(service);
	cfg->program = strdup(program);
	if (!cfg->service || !cfg->program || build_entries(cfg, opts, n_opts) < 0)
		goto fail;
	layers = calloc(cfg->n_entries ? cfg->n_entries : 1, sizeof(*layers));
	from_file = calloc(cfg->n_entries ? cfg->n_entries : 1, sizeof(*from_file));
	if (!layers || !from_file)
		goto fail;

	/* --help and --version first: they work even next to a bad setting. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help(cfg);
			*exit_code = 0;
			goto out_null;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", program, IOD_VERSION);
			*exit_code = 0;
			goto out_null;
		}
		if (strcmp(argv[i], "--check-config") == 0)
			check_only = true;
	}

	/* Layer 0: defaults. */
	for (size_t i = 0; i < cfg->n_entries; i++) {
		struct cfg_entry *e = &cfg->entries[i];
		if (e->default_text) {
			e->value = strdup(e->default_text);
			if (!e->value)
				goto fail;
		}
	}

	/* Layer 1: environment. An empty variable counts as unset, so a
	 * compose file or an env file may list a setting without giving it. */
	for (size_t i = 0; i < cfg->n_entries; i++) {
		struct cfg_entry *e = &cfg->entries[i];
		const char *v = getenv(e->opt->name);
		if (v && *v &&
		    set_value(cfg, e, LAYER_ENV, &layers[i], &from_file[i], v, false) < 0)
			goto fail;
		if (e->opt->flags & CFG_F_SECRET) {
			const char *f = getenv(e->file_env_name);
			if (f && *f &&
			    set_value(cfg, e, LAYER_ENV, &layers[i], &from_file[i], f, true) < 0)
				goto fail;
		}
	}

	/* Layer 2: flags. */
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val;
		struct cfg_entry *e;
		bool is_file;
		size_t len;

		if (strcmp(arg, "--check-config") == 0)
			continue;
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			cfg_error(program, "unexpected argument '%s' (settings are --name=value)",
				  arg);
			goto fail;
		}
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		e = find_flag(cfg, arg, len, &is_file);
		if (!e) {
			cfg_error(program, "unknown option '%.*s' (see --help)", (int)len, arg);
			goto fail;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
			val = argv[++i];
		} else {
			cfg_error(program, "%s: %s needs a value", e->opt->name,
				  is_file ? e->file_flag_name : e->flag_name);
			goto fail;
		}
		/* A secret on the command line is readable by every user of the
		 * machine (/proc/<pid>/cmdline, ps): only its file may be a flag. */
		if ((e->opt->flags & CFG_F_SECRET) && !is_file) {
			cfg_error(program,
				  "%s: not accepted as a flag (%s would show it in the process "
				  "list); set %s in the environment or give %s=PATH",
				  e->opt->name, e->flag_name, e->opt->name, e->file_flag_name);
			goto fail;
		}
		if (set_value(cfg, e, LAYER_FLAG, &layers[e - cfg->entries],
			      &from_file[e - cfg->entries], val, is_file) < 0)
			goto fail;
	}

	/* Every bad setting gets its line: one start shows all there is to fix. */
	for (size_t i = 0; i < cfg->n_entries; i++)
		if (validate(cfg, &cfg->entries[i]) < 0)
			bad++;
	if (bad)
		goto fail;
	if (check_only) {
		printf("%s: configuration is valid\n", program);
		*exit_code = 0;
		goto out_null;
	}

	free(layers);
	free(from_file);
	*exit_code = 0;
	return cfg;

fail:
	if (*exit_code != 0)
		*exit_code = 2;
out_null:
	free(layers);
	free(from_file);
	cfg_free(cfg);
	return NULL;
}

/* ---- accessors --------------------------------------------------------- */

static const struct cfg_entry *must_find(const struct cfg *cfg, const char *name,
					 enum cfg_type type, bool any_type)
{
	const struct cfg_entry *e = find_entry(cfg, name);

	if (!e) {
		fprintf(stderr, "%s: %s: no such setting (programming error)\n", cfg->program,
			name);
		abort();
	}
	if (!any_type && e->opt->type != type) {
		fprintf(stderr, "%s: %s: read with the wrong type (programming error)\n",
			cfg->program, name);
		abort();
	}
	return e;
}

const char *cfg_str(const struct cfg *cfg, const char *name)
{
	return must_find(cfg, name, CFG_STRING, true)->value;
}

int64_t cfg_int(const struct cfg *cfg, const char *name)
{
	const struct cfg_entry *e = must_find(cfg, name, CFG_INT, false);
	return e->value ? e->number : 0;
}

int64_t cfg_duration_ms(const struct cfg *cfg, const char *name)
{
	const struct cfg_entry *e = must_find(cfg, name, CFG_DURATION, false);
	return e->value ? e->number : 0;
}

bool cfg_bool(const struct cfg *cfg, const char *name)
{
	const struct cfg_entry *e = must_find(cfg, name, CFG_BOOL, false);
	return e->value ? e->flag : false;
}

double cfg_number(const struct cfg *cfg, const char *name)
{
	const struct cfg_entry *e = must_find(cfg, name, CFG_NUMBER, false);
	return e->value ? e->real : 0;
}

const char *cfg_service(const struct cfg *cfg)
{
	return cfg->service;
}

int cfg_make_data_dir(const struct cfg *cfg)
{
	const char *path = cfg_str(cfg, "IOD_DATA_DIR");
	char buf[4096];

	if (!path || !*path)
		return -EINVAL;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
