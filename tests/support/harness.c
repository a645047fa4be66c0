/* nftw() is XSI. */
#define _XOPEN_SOURCE 700

#include "harness.h"

#include <MQTTClient.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int harness_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

char *harness_tmpdir(const char *prefix)
{
	const char *base = getenv("TMPDIR");
	size_t size;
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (!prefix)
		prefix = "iod-test";
	size = strlen(base) + strlen(prefix) + 9;
	path = malloc(size);
	if (!path)
		return NULL;
	snprintf(path, size, "%s/%s-XXXXXX", base, prefix);
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	/* A test may have left a directory read-only; make it writable again. */
	chmod(path, 0700);
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void harness_rmtree(const char *path)
{
	if (path && *path && strcmp(path, "/") != 0)
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int harness_wait_port(int port, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	do {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok;

		if (fd < 0)
			return -1;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return 0;
		sleep_ms(20);
	} while (mono_ms() < deadline);
	return -1;
}

/*
 * Children this process started. harness_alive() may reap one; its status
 * is kept here for harness_stop(). At exit, whatever still runs is killed
 * (its whole process group), so a test that fails an assertion halfway
 * leaves no service or broker behind.
 */
#define MAX_CHILDREN 64
static struct child {
	pid_t pid;
	bool reaped;
	int status;
} children[MAX_CHILDREN];
static bool cleanup_registered;

static struct child *child_of(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i].pid == pid)
			return &children[i];
	return NULL;
}

static void kill_leftovers(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i].pid > 0 && !children[i].reaped) {
			kill(-children[i].pid, SIGKILL);
			waitpid(children[i].pid, NULL, 0);
		}
	}
}

static void track_child(pid_t pid)
{
	struct child *slot = child_of(0);

	if (!cleanup_registered) {
		atexit(kill_leftovers);
		cleanup_registered = true;
	}
	if (!slot) {
		/* Full: reuse the slot of one already reaped. */
		for (int i = 0; i < MAX_CHILDREN && !slot; i++)
			if (children[i].reaped)
				slot = &children[i];
	}
	if (slot)
		*slot = (struct child){.pid = pid};
}

/* waitpid() that remembers: 1 reaped now or before (status set), 0 still
 * running, -1 error. */
static int reap(pid_t pid, int *status, int options)
{
	struct child *c = child_of(pid);
	pid_t r;

	if (c && c->reaped) {
		*status = c->status;
		return 1;
	}
	do
		r = waitpid(pid, status, options);
	while (r < 0 && errno == EINTR);
	if (r == pid) {
		if (c) {
			c->reaped = true;
			c->status = *status;
		}
		return 1;
	}
	return r == 0 ? 0 : -1;
}

static pid_t spawn_path(const char *path, const char *const args[], const char *const env[])
{
	size_t nargs = 0, nenv = 0, nold = 0;
	const char **argv, **envp;
	pid_t pid;

	while (args && args[nargs])
		nargs++;
	while (env && env[nenv])
		nenv++;
	while (environ[nold])
		nold++;
	argv = calloc(nargs + 2, sizeof(*argv));
	envp = calloc(nenv + nold + 1, sizeof(*envp));
	if (!argv || !envp) {
		free(argv);
		free(envp);
		return -1;
	}
	argv[0] = path;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	/* Extra variables first so they win over inherited ones of the same name. */
	size_t n = 0;
	for (size_t i = 0; i < nenv; i++)
		envp[n++] = env[i];
	for (size_t i = 0; i < nold; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
		bool shadowed = false;

		for (size_t j = 0; j < nenv && !shadowed; j++)
			shadowed = strncmp(env[j], environ[i], klen) == 0;
		if (!shadowed)
			envp[n++] = environ[i];
	}

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* Services log to stderr; keep stdout for the test runner too. */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		setpgid(0, 0);
		execve(path, (char *const *)argv, (char *const *)envp);
		fprintf(stderr, "harness: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		track_child(pid);
	free(argv);
	free(envp);
	return pid;
}

pid_t harness_spawn(const char *binary, const char *const args[], const char *const env[])
{
	const char *dir = getenv("IOD_BIN_DIR");
	char path[1024];

	if (!dir || !*dir) {
		fprintf(stderr, "harness: IOD_BIN_DIR is not set (run the test through ctest)\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, binary);
	if (access(path, X_OK) != 0) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return spawn_path(path, args, env);
}

bool harness_alive(pid_t pid)
{
	int status;

	return pid > 0 && reap(pid, &status, WNOHANG) == 0;
}

int harness_stop(pid_t pid, int sig, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int status;

	if (pid <= 0)
		return -1;
	/* Already gone (reaped by harness_alive): its status is kept. */
	if (reap(pid, &status, WNOHANG) == 0) {
		if (kill(pid, sig) < 0)
			return -1;
		for (;;) {
			int r = reap(pid, &status, WNOHANG);

			if (r == 1)
				break;
			if (r < 0)
				return -1;
			if (mono_ms() >= deadline) {
				fprintf(stderr,
					"harness: pid %d did not exit in %d ms; killing it\n",
					(int)pid, timeout_ms);
				kill(pid, SIGKILL);
				if (reap(pid, &status, 0) != 1)
					return -1;
				break;
			}
			sleep_ms(10);
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static int write_broker_conf(struct harness_broker *b)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/mosquitto.conf", b->dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"listener %d 127.0.0.1\n"
		"allow_anonymous true\n"
		"persistence true\n"
		"persistence_location %s/\n"
		"log_dest stderr\n"
		"log_type error\n"
		"log_type warning\n"
		/* Started as root, mosquitto drops to its own user, which cannot
		 * write the private temp dir; stay as the test's user instead. */
		"%s"
		"%s\n",
		b->port, b->dir, geteuid() == 0 ? "user root\n" : "", b->extra);
	return fclose(f);
}

static int broker_launch(struct harness_broker *b)
{
	char conf[512];
	const char *args[] = {"-c", conf, NULL};
	const char *bin =
	    access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto" : "/usr/bin/mosquitto";

	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	b->pid = spawn_path(bin, args, NULL);
	if (b->pid < 0)
		return -1;
	if (harness_wait_port(b->port, 5000) < 0) {
		fprintf(stderr, "harness: mosquitto did not listen on %d\n", b->port);
		harness_stop(b->pid, SIGKILL, 1000);
		b->pid = -1;
		return -1;
	}
	return 0;
}

int harness_broker_start(struct harness_broker *b, const char *extra_conf)
{
	char *dir;

	memset(b, 0, sizeof(*b));
	b->pid = -1;
	snprintf(b->extra, sizeof(b->extra), "%s", extra_conf ? extra_conf : "");
	dir = harness_tmpdir("iod-broker");
	if (!dir)
		return -1;
	snprintf(b->dir, sizeof(b->dir), "%s", dir);
	free(dir);
	/* The port can be taken between probing and binding; try a few. */
	for (int attempt = 0; attempt < 5; attempt++) {
		b->port = harness_free_port();
		snprintf(b->url, sizeof(b->url), "tcp://127.0.0.1:%d", b->port);
		if (b->port > 0 && write_broker_conf(b) == 0 && broker_launch(b) == 0)
			return 0;
	}
	return -1;
}

void harness_broker_stop(struct harness_broker *b)
{
	if (b->pid > 0)
		harness_stop(b->pid, SIGTERM, 5000);
	b->pid = -1;
}

int harness_broker_restart(struct harness_broker *b)
{
	harness_broker_stop(b);
	/* mosquitto sets SO_REUSEADDR, so the same port is free again at once. */
	for (int attempt = 0; attempt < 50; attempt++) {
		if (broker_launch(b) == 0)
			return 0;
		sleep_ms(100);
	}
	return -1;
}

void harness_broker_destroy(struct harness_broker *b)
{
	harness_broker_stop(b);
	if (b->dir[0])
		harness_rmtree(b->dir);
	b->dir[0] = '\0';
}

/* ---- test client ---------------------------------------------------- */

struct tnode {
	struct tmsg msg;
	struct tnode *next;
};

struct tclient {
	MQTTClient client;
	bool v5;		   /* MQTT 5: the *5 calls */
	struct tnode *head, *tail; /* received, not yet taken */
};

static void tmsg_clear(struct tmsg *m)
{
	free(m->topic);
	free(m->payload);
	for (size_t i = 0; i < m->n_props; i++) {
		free(m->props[i].name);
		free(m->props[i].value);
	}
}

void tmsg_free(struct tmsg *m)
{
	if (!m)
		return;
	tmsg_clear(m);
	free(m);
}

const char *tmsg_user_property(const struct tmsg *m, const char *name)
{
	for (size_t i = 0; m && i < m->n_props; i++)
		if (m->props[i].name && strcmp(m->props[i].name, name) == 0)
			return m->props[i].value;
	return NULL;
}

struct tclient *tclient_new_auth(const char *url, const char *client_id, const char *user,
				 const char *password)
{
	MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
	struct tclient *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return NULL;
	if (MQTTClient_create(&c->client, url, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTCLIENT_SUCCESS) {
		free(c);
		return NULL;
	}
	opts.keepAliveInterval = 30;
	opts.cleansession = 1;
	opts.username = user;
	opts.password = password;
	rc = MQTTClient_connect(c->client, &opts);
	if (rc != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "tclient: connect %s as %s: %d\n", url, user ? user : "(anonymous)",
			rc);
		MQTTClient_destroy(&c->client);
		free(c);
		return NULL;
	}
	return c;
}

struct tclient *tclient_new(const char *url, const char *client_id)
{
	return tclient_new_auth(url, client_id, NULL, NULL);
}

struct tclient *tclient_new5(const char *url, const char *client_id)
{
	MQTTClient_createOptions co = MQTTClient_createOptions_initializer;
	MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer5;
	struct tclient *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	co.MQTTVersion = MQTTVERSION_5;
	if (MQTTClient_createWithOptions(&c->client, url, client_id, MQTTCLIENT_PERSISTENCE_NONE,
					 NULL, &co) != MQTTCLIENT_SUCCESS) {
		free(c);
		return NULL;
	}
	c->v5 = true;
	opts.keepAliveInterval = 30;
	opts.cleanstart = 1;
	MQTTResponse r = MQTTClient_connect5(c->client, &opts, NULL, NULL);
	int rc = r.reasonCode;
	MQTTResponse_free(r);
	if (rc != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "tclient: MQTT 5 connect %s: %d\n", url, rc);
		MQTTClient_destroy(&c->client);
		free(c);
		return NULL;
	}
	return c;
}

int tclient_subscribe(struct tclient *c, const char *filter, int qos)
{
	if (c->v5) {
		MQTTResponse r = MQTTClient_subscribe5(c->client, filter, qos, NULL, NULL);
		int rc = r.reasonCode; /* the granted QoS, or >= 0x80 refused */
		MQTTResponse_free(r);
		return rc >= 0 && rc <= 2 ? 0 : -1;
	}
	return MQTTClient_subscribe(c->client, filter, qos) == MQTTCLIENT_SUCCESS ? 0 : -1;
}

int tclient_publish(struct tclient *c, const char *topic, const void *payload, size_t len, int qos,
		    bool retain)
{
	MQTTClient_deliveryToken token;

	if (c->v5) {
		MQTTResponse r = MQTTClient_publish5(c->client, topic, (int)len, payload, qos,
						     retain, NULL, &token);
		int rc = r.reasonCode;
		MQTTResponse_free(r);
		if (rc != MQTTCLIENT_SUCCESS)
			return -1;
	} else if (MQTTClient_publish(c->client, topic, (int)len, payload, qos, retain, &token) !=
		   MQTTCLIENT_SUCCESS) {
		return -1;
	}
	if (qos > 0 && MQTTClient_waitForCompletion(c->client, token, 5000) != MQTTCLIENT_SUCCESS)
		return -1;
	return 0;
}

int tclient_publish_str(struct tclient *c, const char *topic, const char *text, int qos,
			bool retain)
{
	return tclient_publish(c, topic, text, strlen(text), qos, retain);
}

/* Receive one message into the pending list; 1 if one arrived, 0 on timeout. */
static int receive_one(struct tclient *c, int timeout_ms)
{
	MQTTClient_message *m = NULL;
	char *topic = NULL;
	int topic_len = 0;
	struct tnode *n;

	if (timeout_ms < 1)
		timeout_ms = 1;
	if (MQTTClient_receive(c->client, &topic, &topic_len, &m, (unsigned long)timeout_ms) !=
		MQTTCLIENT_SUCCESS ||
	    !m) {
		if (topic)
			MQTTClient_free(topic);
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (n) {
		n->msg.topic = topic_len > 0 ? strndup(topic, (size_t)topic_len) : strdup(topic);
		n->msg.len = (size_t)m->payloadlen;
		n->msg.payload = malloc(n->msg.len + 1);
		if (n->msg.payload) {
			memcpy(n->msg.payload, m->payload, n->msg.len);
			n->msg.payload[n->msg.len] = '\0';
		}
		n->msg.retained = m->retained;
		n->msg.qos = m->qos;
		for (int i = 0; i < m->properties.count && n->msg.n_props < TMSG_PROPS_MAX; i++) {
			const MQTTProperty *p = &m->properties.array[i];
			if (p->identifier != MQTTPROPERTY_CODE_USER_PROPERTY)
				continue;
			n->msg.props[n->msg.n_props].name =
			    strndup(p->value.data.data, (size_t)p->value.data.len);
			n->msg.props[n->msg.n_props].value =
			    strndup(p->value.value.data, (size_t)p->value.value.len);
			n->msg.n_props++;
		}
		if (c->tail)
			c->tail->next = n;
		else
			c->head = n;
		c->tail = n;
	}
	MQTTClient_freeMessage(&m);
	MQTTClient_free(topic);
	return 1;
}

/* Take the first pending message on topic (containing needle, if given);
 * with drop_others, pending messages on topic without the needle go. */
static struct tmsg *take(struct tclient *c, const char *topic, const char *needle)
{
	struct tnode **pp = &c->head, *prev = NULL;

	while (*pp) {
		struct tnode *n = *pp;

		if (n->msg.topic && strcmp(n->msg.topic, topic) == 0) {
			bool match = !needle || (n->msg.payload && strstr(n->msg.payload, needle));

			*pp = n->next;
			if (c->tail == n)
				c->tail = prev;
			if (match) {
				struct tmsg *m = malloc(sizeof(*m));

				if (m)
					*m = n->msg;
				free(n);
				return m;
			}
			tmsg_clear(&n->msg);
			free(n);
			continue;
		}
		prev = n;
		pp = &n->next;
	}
	return NULL;
}

struct tmsg *tclient_expect_with(struct tclient *c, const char *topic, const char *needle,
				 int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct tmsg *m;

	for (;;) {
		m = take(c, topic, needle);
		if (m)
			return m;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return NULL;
		receive_one(c, (int)(left > 100 ? 100 : left));
	}
}

struct tmsg *tclient_expect(struct tclient *c, const char *topic, int timeout_ms)
{
	return tclient_expect_with(c, topic, NULL, timeout_ms);
}

void tclient_flush(struct tclient *c)
{
	while (receive_one(c, 50))
		;
	while (c->head) {
		struct tnode *n = c->head;

		c->head = n->next;
		tmsg_clear(&n->msg);
		free(n);
	}
	c->tail = NULL;
}

void tclient_free(struct tclient *c)
{
	if (!c)
		return;
	tclient_flush(c);
	if (c->v5)
		MQTTClient_disconnect5(c->client, 1000, MQTTREASONCODE_SUCCESS, NULL);
	else
		MQTTClient_disconnect(c->client, 1000);
	MQTTClient_destroy(&c->client);
	free(c);
}
