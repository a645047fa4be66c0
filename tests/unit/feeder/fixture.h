/* The feeder rules tests' one fixture: a journal in a fresh temp dir, an
 * injected clock (wall + boot time), TZ=Europe/Berlin, the rules of a
 * default install (6 h, 3 a day, no schedule, bounds 4 h and 4 a day), and the few steps every
 * test takes: start a feeder, send a command, complete a dose, find an
 * alert, read or write a file. Tests change cfg/now after fixture_setup(). */
#ifndef IOD_TEST_FEEDER_FIXTURE_H
#define IOD_TEST_FEEDER_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "feeder.h"

#define H	   (3600 * 1000LL)
#define MIN	   (60 * 1000LL)
#define NOV26_0700 1795672800000LL /* 2026-11-26 07:00 CET */
#define NOV26_0900 1795680000000LL /* 2026-11-26 09:00 CET */

extern char dir[256];	/* the temp dir, removed by fixture_teardown() */
extern char jpath[320]; /* dir/journal */
extern char mpath[330]; /* dir/journal.mark */
extern struct feeder_config cfg;
extern struct feeder_now now; /* wall 2026-11-26 09:00 CET, boot clock 5000 s */

/* tag names the temp dir (iod-<tag>-XXXXXX). */
void fixture_setup(const char *tag);
void fixture_teardown(void);

void advance(int64_t ms);			     /* both clocks */
struct feeder *start(struct feeder_result *startup); /* startup may be NULL */
void send(struct feeder *f, const char *payload, struct feeder_result *res);
/* Send a feed; if it doses, complete it done_after_ms later (both clocks).
 * Returns the command's final result. */
enum proto_result dose_payload(struct feeder *f, const char *payload, int64_t done_after_ms,
			       struct feeder_result *res);
/* The same for {"action":"feed","id":"<id>"}. */
enum proto_result dose_id(struct feeder *f, const char *id, int64_t done_after_ms,
			  struct feeder_result *res);
const struct proto_alert *find_alert(const struct feeder_result *res, const char *code,
				     enum proto_level level);

/* The whole file in a static buffer (64 KiB at most); *len if len. */
char *slurp(const char *path, size_t *len);
void put_bytes(const char *path, const void *buf, size_t len);
void put_file(const char *path, const char *text);

#endif
