/* The journal-level feeder integration tests' one fixture: a real mosquitto
 * on a free port, a temp data dir, an observer subscribed to iod/home/#, and
 * the steps those tests take with the real binaries: start iod-feeder (it is
 * up when it is online and has published its dose log), stop it with
 * SIGTERM, send a feed and check its event, run iod-feeder-journal. */
#ifndef IOD_TEST_FEEDER_IT_H
#define IOD_TEST_FEEDER_IT_H

#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

#define T_CMD	"iod/home/feeder/cmd"
#define T_EVENT "iod/home/feeder/event"
#define T_STATE "iod/home/feeder/state"
#define T_LOG	"iod/home/feeder/log"
#define T_AVAIL "iod/home/feeder/availability"
#define T_ALERT "iod/home/alert"
#define WAIT	10000

#define IT_ENV_MAX 12

extern struct harness_broker broker;
extern char data_dir[512], journal[600];
/* The feeder's (and the journal tool's) environment, NULL-ended: the
 * broker, the data dir, no schedule, the vet's bounds at their loosest (1 s,
 * 48 a day), then the setup's extras; a test may
 * add more from env[it_env_used] on (keep one NULL at the end). */
extern const char *env[IT_ENV_MAX];
extern size_t it_env_used;
extern pid_t feeder; /* -1 when not running */
extern struct tclient *client;

/* tag names the temp dir and the observer; extra (NULL-ended, may be NULL)
 * settings go after the fixed ones. */
void it_setup(const char *tag, const char *const *extra);
void it_teardown(void);

void expect_msg(const char *topic, const char *needle);
void start_feeder(void);
/* Start iod-<service> beside the feeder on the same broker, with its data in
 * data_dir-<service> and extra (NULL-ended, may be NULL) settings after those
 * two, and wait until it is online; it_teardown kills it. */
void it_start_peer(const char *service, const char *const *extra);
void stop_feeder(void); /* SIGTERM, and it must exit 0 */
/* The event for id, which must come within timeout_ms and contain want;
 * its payload in a static buffer (1 KiB, the next call overwrites it). */
const char *expect_event(const char *id, const char *want, int timeout_ms);
/* Feed id; its event must contain want. */
void feed(const char *id, const char *want);
/* The feeder's verify event for id (its whole text, static). */
const char *verify_event(const char *id);
/* What a fresh subscriber gets on topic: the retained copy (malloc'd). */
char *retained(const char *topic);
/* iod-feeder-journal <verb> --data-dir data_dir: its exit code. */
int journal_tool(const char *verb);
/* The whole file in a static buffer (64 KiB at most); *len if len. */
char *slurp(const char *path, size_t *len);

#endif
