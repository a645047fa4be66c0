/*
 * log — one line per event on stderr: "2026-11-26T02:15:28.123Z feeder info: text".
 *
 * Thread-safe (one fprintf per line, stderr is line-locked by stdio). Secrets
 * are never passed to it. docker adds its own timestamps, but a terminal user
 * and a test log need them too, so they stay.
 *
 * Under systemd, when stderr is the journal (JOURNAL_STREAM names stderr's
 * device and inode; checked once, in log_init), each line is instead
 * "<N>feeder warn: text": N is the syslog priority (7 debug, 6 info,
 * 4 warn, 3 error), which journald strips and stores, so `journalctl -p
 * warning` works; journald adds the time, so we leave ours out.
 */
#ifndef IOD_LOG_H
#define IOD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* True when stderr is the journal (JOURNAL_STREAM names stderr's device and
 * inode). Needs no log_init: cfg's start-up errors use it too. */
bool log_stderr_is_journal(void);
/* Also decides, from JOURNAL_STREAM and stderr, which line format to use. */
void log_init(const char *service, enum log_level level);
/* "debug", "info", "warn", "error" -> 0, or -1 for anything else. */
int log_parse_level(const char *text, enum log_level *out);
/* IOD_LOG_LEVEL's check (struct cfg_option.check): false with "'<text>' is
 * not one of debug, info, warn, error" in why. */
bool log_level_check(const char *text, char *why, size_t why_size);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
