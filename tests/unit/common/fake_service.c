/*
 * fake_service — see fake_service.h.
 */
#include "fake_service.h"

#include "cfg.h"
#include "ha.h"
#include "mqttc.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct fake_script fake_script;

static int events_fd = -1;

struct fake_app {
	struct service *svc;
	int connects;
	char backend[32];
};

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(events_fd, line, (size_t)n) != n)
		abort();
}

static void *fake_create(struct service *svc, int *exit_code)
{
	event("create %s %s %lld", service_name(svc), service_site(svc),
	      (long long)cfg_int(service_cfg(svc), "IOD_FAKE_COUNT"));
	if (fake_script.create_exit) {
		*exit_code = fake_script.create_exit;
		return NULL;
	}
	struct fake_app *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->svc = svc;
	if (fake_script.subscribe &&
	    mqttc_subscribe(service_mqtt(svc), fake_script.subscribe, 1, false) < 0)
		event("subscribe failed");
	if (fake_script.term_in_create)
		raise(SIGTERM);
	return a;
}

static int fake_start(void *arg)
{
	struct fake_app *a = arg;
	event("start");
	if (fake_script.term_in_start)
		raise(SIGTERM);
	if (fake_script.stop_in_start) {
		service_stop(a->svc);
		service_stop(a->svc); /* idempotent */
	}
	return fake_script.start_fails ? -1 : 0;
}

static void fake_stop(void *arg)
{
	struct fake_app *a = arg;
	event("stop%s%s", service_mqtt(a->svc) ? " mqtt" : "",
	      service_stopping(a->svc) ? " stopping" : "");
}

static void fake_destroy(void *arg)
{
	struct fake_app *a = arg;
	event("destroy%s", service_mqtt(a->svc) ? " mqtt" : "");
	free(a);
}

/* "stop" stops the service from inside mqttc's callback. */
static void fake_on_message(void *arg, const struct mqttc_message *msg)
{
	struct fake_app *a = arg;
	event("message %s %.*s", msg->topic, (int)msg->len, (const char *)msg->payload);
	if (msg->len == 4 && memcmp(msg->payload, "stop", 4) == 0)
		service_stop(a->svc);
}

static void fake_on_connected(void *arg)
{
	struct fake_app *a = arg;
	event("connected %d", a->connects);
}

static void fake_publish_discovery(void *arg)
{
	struct fake_app *a = arg;
	const struct ha_device dev = {service_site(a->svc), service_name(a->svc), NULL};
	event("discovery");
	ha_publish_entity(service_mqtt(a->svc), &dev, "binary_sensor", "thing",
			  ha_entity_new(&dev, "binary_sensor", "thing", "Thing"));
}

static void fake_on_ha_birth(void *arg)
{
	struct fake_app *a = arg;
	event("birth");
	if (fake_script.stop_on_birth)
		service_stop(a->svc);
}

/* A backend that names the connection it is published for, so a test can
 * tell a fresh info from the broker's retained copy. */
static const char *fake_backend(void *arg)
{
	struct fake_app *a = arg;
	snprintf(a->backend, sizeof(a->backend), "fake-%d", ++a->connects);
	return a->backend;
}

static const struct cfg_option fake_options[] = {
    {"IOD_FAKE_COUNT", CFG_INT, "1", "a setting of the fake service's own", 1, 9, 0, NULL},
};

const struct service_def fake_service_def = {
    .name = "fake",
    .options = fake_options,
    .n_options = sizeof(fake_options) / sizeof(fake_options[0]),
    .queue_limit = 16,
    .create = fake_create,
    .start = fake_start,
    .stop = fake_stop,
    .destroy = fake_destroy,
    .on_message = fake_on_message,
    .on_connected = fake_on_connected,
    .publish_discovery = fake_publish_discovery,
    .on_ha_birth = fake_on_ha_birth,
    .backend = fake_backend,
};

pid_t fake_service_spawn(const char *events_path, const char *const args[])
{
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* A test that fails (its process ends) takes the service with it:
	 * an orphan would hold ctest's output pipe open. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(98);
	char *argv[32] = {"iod-fake"};
	int argc = 1;
	for (; args && args[argc - 1] && argc < 31; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	events_fd = open(events_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (events_fd < 0)
		_exit(99);
	struct service_def def = fake_service_def;
	def.data_dir_optional = fake_script.data_dir_optional;
	if (!fake_script.entities) {
		def.publish_discovery = NULL;
		def.on_ha_birth = NULL;
	}
	int rc = service_main(&def, argc, argv);
	fflush(NULL); /* as exit() would; _exit keeps Criterion's handlers out */
	_exit(rc);
}

int fake_service_wait(pid_t pid)
{
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

int fake_service_run(const char *events_path, const char *const args[])
{
	return fake_service_wait(fake_service_spawn(events_path, args));
}

char *fake_service_events(const char *events_path)
{
	FILE *f = fopen(events_path, "r");
	if (!f)
		return strdup("");
	char *text = calloc(1, 65536);
	if (text) {
		size_t n = fread(text, 1, 65535, f);
		text[n] = '\0';
	}
	fclose(f);
	return text;
}
