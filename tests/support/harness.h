/*
 * harness — what integration tests stand on: a real mosquitto on a free
 * loopback port, the real iod binaries, and a small synchronous MQTT client.
 *
 * Binaries are looked up in $IOD_BIN_DIR (ctest sets it to the build tree's
 * bin/). Every spawned process gets the caller's environment plus the given
 * extra "NAME=value" strings; its stdout/stderr go to the test's stderr so a
 * failing test shows the service's log.
 *
 * Single-threaded use from one test at a time (Criterion --jobs 1).
 */
#ifndef IOD_HARNESS_H
#define IOD_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct harness_broker {
	int port;
	pid_t pid;
	char dir[256];	  /* temp dir: mosquitto.conf, persistence, log */
	char url[64];	  /* "tcp://127.0.0.1:<port>" */
	char extra[2048]; /* extra config lines, kept for restarts */
};

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int harness_free_port(void);
/* mktemp -d under $TMPDIR with the prefix; malloc'd path. */
char *harness_tmpdir(const char *prefix);
/* rm -rf path (for temp dirs only). */
void harness_rmtree(const char *path);

/* Start mosquitto on a free port (anonymous allowed, persistence in dir,
 * extra_conf appended verbatim, may be NULL) and wait until it accepts.
 * 0 or -1. */
int harness_broker_start(struct harness_broker *b, const char *extra_conf);
/* SIGTERM and wait. The dir is kept for a restart. */
void harness_broker_stop(struct harness_broker *b);
/* Start again on the same port with the same config and persistence. */
int harness_broker_restart(struct harness_broker *b);
/* Stop and remove the dir. */
void harness_broker_destroy(struct harness_broker *b);

/* Start $IOD_BIN_DIR/<binary> with argv (argv[0] filled in; args may be NULL,
 * NULL-terminated) and extra env (NULL-terminated, may be NULL). Returns pid
 * or -1. */
pid_t harness_spawn(const char *binary, const char *const args[], const char *const env[]);
/* Send sig, wait up to timeout_ms, SIGKILL after that. Returns the exit code
 * (0-255), 128+signal if it was killed by a signal, or -1. A process that
 * already ended (seen by harness_alive) is not signalled: its status is
 * returned. Processes still running when the test process exits are killed
 * with their process group, so a failed assertion leaves nothing behind. */
int harness_stop(pid_t pid, int sig, int timeout_ms);
/* true while the process runs; an ended one is reaped and its status kept
 * for harness_stop(). */
bool harness_alive(pid_t pid);
/* Wait up to timeout_ms for a TCP port on 127.0.0.1 to accept. 0 or -1. */
int harness_wait_port(int port, int timeout_ms);

/* ---- a synchronous MQTT test client (Paho MQTTClient, MQTT 3.1.1) ---- */

struct tclient;
#define TMSG_PROPS_MAX 8
struct tmsg {
	char *topic;
	char *payload; /* NUL-terminated copy */
	size_t len;
	bool retained;
	int qos;
	/* MQTT 5 user properties (tclient_new5 only), in the order sent. */
	struct {
		char *name, *value;
	} props[TMSG_PROPS_MAX];
	size_t n_props;
};
void tmsg_free(struct tmsg *m);
/* The value of the first user property called name, or NULL. */
const char *tmsg_user_property(const struct tmsg *m, const char *name);

/* NULL on error. user/password may be NULL. */
struct tclient *tclient_new(const char *url, const char *client_id);
struct tclient *tclient_new_auth(const char *url, const char *client_id, const char *user,
				 const char *password);
/* The same client speaking MQTT 5 (clean start), so messages keep their user
 * properties (tmsg.props); anonymous. */
struct tclient *tclient_new5(const char *url, const char *client_id);
int tclient_subscribe(struct tclient *c, const char *filter, int qos);
int tclient_publish(struct tclient *c, const char *topic, const void *payload, size_t len, int qos,
		    bool retain);
int tclient_publish_str(struct tclient *c, const char *topic, const char *text, int qos,
			bool retain);
/* Next message whose topic equals `topic` (messages on other topics are kept
 * for later calls). NULL on timeout. Caller frees with tmsg_free. */
struct tmsg *tclient_expect(struct tclient *c, const char *topic, int timeout_ms);
/* Like tclient_expect but also requires strstr(payload, needle). Messages on
 * that topic without the needle are dropped. */
struct tmsg *tclient_expect_with(struct tclient *c, const char *topic, const char *needle,
				 int timeout_ms);
/* Drop every message received so far. */
void tclient_flush(struct tclient *c);
void tclient_free(struct tclient *c);

#endif
