/*
 * log — see log.h. Each line is formatted into one buffer and written with a
 * single fwrite, so lines from Paho's threads and the loop never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX	2048
#define LOG_SERVICE_MAX 32

/* Written once by log_init() before any thread starts; read-only afterwards. */
static char log_service[LOG_SERVICE_MAX] = "iod";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static bool log_journal;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* syslog(3) priorities: LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR. */
static const char level_priorities[] = {'7', '6', '4', '3'};

/*
 * systemd sets JOURNAL_STREAM to "<st_dev>:<st_ino>" of the stream it connects
 * to stdout/stderr. Only when stderr is still that very stream (not redirected
 * by a wrapper script or a test) do we speak journald's line protocol.
 */
bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!env || !*env)
		return false;
	dev = strtoull(env, &end, 10);
	if (end == env || *end != ':')
		return false;
	env = end + 1;
	ino = strtoull(env, &end, 10);
	if (end == env || *end != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *service, enum log_level level)
{
	snprintf(log_service, sizeof(log_service), "%s", service ? service : "iod");
	if (level < LOG_LEVEL_DEBUG || level > LOG_LEVEL_ERROR)
		level = LOG_LEVEL_INFO;
	log_threshold = level;
	log_journal = log_stderr_is_journal();
}

int log_parse_level(const char *text, enum log_level *out)
{
	if (!text)
		return -1;
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

bool log_level_check(const char *text, char *why, size_t why_size)
{
	enum log_level level;

	if (log_parse_level(text, &level) == 0)
		return true;
	snprintf(why, why_size, "'%s' is not one of debug, info, warn, error", text ? text : "");
	return false;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t n, head;
	va_list ap;
	int r;

	if (level < log_threshold || level > LOG_LEVEL_ERROR)
		return;
	if (log_journal) {
		/* journald adds the time and the unit; "<N>" sets the priority. */
		n = 0;
		r = snprintf(line, sizeof(line), "<%c>%s %s: ", level_priorities[level],
			     log_service, level_names[level]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ", ts.tv_nsec / 1000000L,
			     log_service, level_names[level]);
	}
	if (r < 0)
		return;
	n += (size_t)r;
	head = n;

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n += (size_t)r;
	if (n >= sizeof(line) - 1) {
		/* Truncated: say so, keep the line whole. */
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	/* One event, one line: text from the network must not forge lines. */
	for (size_t i = head; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}
