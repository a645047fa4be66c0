/*
 * fake_service — a service_def whose callbacks only write down what
 * happened, for testing the skeleton (service.h) itself: run in a child
 * process (fake_service_run), it appends one line per call to a file
 * ("create", "start", "connected 1", "discovery", "birth", "stop mqtt",
 * "destroy", "message <topic>"...), which the test reads once it exited.
 * What the callbacks do besides is set in fake_script before the fork.
 */
#ifndef IOD_TEST_FAKE_SERVICE_H
#define IOD_TEST_FAKE_SERVICE_H

#include "service.h"

#include <stdbool.h>
#include <sys/types.h>

struct fake_script {
	int create_exit;     /* not 0: create fails with this exit code */
	bool term_in_create; /* raise(SIGTERM) inside create */
	bool term_in_start;  /* raise(SIGTERM) inside start */
	bool stop_in_start;  /* service_stop() inside start */
	bool start_fails;    /* start returns -1 */
	bool entities;	     /* publish_discovery set (one HA entity) */
	bool stop_on_birth;  /* service_stop() after HA's birth was handled */
	bool data_dir_optional;
	const char *subscribe; /* a filter create subscribes to (QoS 1), or NULL;
				* a message "stop" on it calls service_stop() */
};

extern struct fake_script fake_script;

/* The def's own setting: IOD_FAKE_COUNT, an integer 1-9 (default 1). */
extern const struct service_def fake_service_def;

/* Fork; the child runs service_main with argv {"iod-fake", args...} (NULL-
 * terminated), its event lines going to events_path, and _exits with what
 * it returned. The child's pid, or -1. */
pid_t fake_service_spawn(const char *events_path, const char *const args[]);
/* Wait for the child: its exit code, or 128+signal. */
int fake_service_wait(pid_t pid);
/* fake_service_spawn + fake_service_wait. */
int fake_service_run(const char *events_path, const char *const args[]);
/* The event file's text (malloc'd, "" when there is none). */
char *fake_service_events(const char *events_path);

#endif
