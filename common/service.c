/*
 * service — the skeleton's lifecycle and accessors (see service.h).
 * Publishing alerts and info is service_publish.c's, filling an alert
 * service_alert.c's: a glue's unit test links those with an mqttc stub and
 * stubs these accessors, without this file's client and loop.
 */
#include "service.h"

#include "cfg.h"
#include "ha.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"
#include "sdnotify.h"
#include "tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long mqttc_stop waits for `offline` to be delivered. */
#define STOP_TIMEOUT_MS 2000

struct service {
	const struct service_def *def;
	struct cfg *cfg;
	uv_loop_t loop;
	uv_timer_t stop_timer; /* service_stop(): the stop path on the next turn */
	struct mqttc *mqtt;
	void *app;
	bool stopping;	   /* the stop path has begun */
	bool mqtt_started; /* mqttc_start succeeded: mqttc_stop says `offline` */
	bool app_stopped;  /* def->stop has returned: service_mqtt() is NULL */
	bool running;	   /* uv_run is (about to be) running the loop */
	bool stop_asked;   /* service_stop() before that: stop on the first turn */
	int exit_code;
	int64_t since_ms;
	char client_id[PROTO_SITE_MAX + 64];
	char availability[PROTO_TOPIC_MAX];
};

/* The one stop path, on the loop thread. Never from inside one of mqttc's
 * callbacks (mqttc_free): signals come through their watchers, and
 * service_stop() goes through stop_timer. */
static void stop_now(struct service *svc)
{
	if (svc->stopping)
		return;
	svc->stopping = true;
	log_info("stopping");
	if (svc->app && svc->def->stop)
		svc->def->stop(svc->app); /* may still publish: service_mqtt() works */
	svc->app_stopped = true;
	sdnotify_stopping();
	if (svc->mqtt) {
		if (svc->mqtt_started)
			mqttc_stop(svc->mqtt, STOP_TIMEOUT_MS);
		mqttc_free(svc->mqtt);
		svc->mqtt = NULL;
	}
	if (!uv_is_closing((uv_handle_t *)&svc->stop_timer))
		uv_close((uv_handle_t *)&svc->stop_timer, NULL);
	loop_signals_close();
}

static void on_signal_stop(void *arg)
{
	stop_now(arg);
}

static void on_stop_timer(uv_timer_t *t)
{
	stop_now(t->data);
}

/* Asked before the loop runs (in create or start), the timer starts only
 * after sdnotify_start's: READY=1 always comes before STOPPING=1. */
void service_stop(struct service *svc)
{
	if (!svc || svc->stopping || uv_is_active((uv_handle_t *)&svc->stop_timer))
		return;
	if (!svc->running) {
		svc->stop_asked = true;
		return;
	}
	uv_timer_start(&svc->stop_timer, on_stop_timer, 0, 0);
}

/* mqttc's callbacks, on the loop thread; arg is the struct service. */
static void on_connected(void *arg)
{
	struct service *svc = arg;
	const struct service_def *def = svc->def;
	if (svc->stopping || !svc->app)
		return;
	service_publish_info(svc->mqtt, service_site(svc), def->name,
			     def->backend ? def->backend(svc->app) : "", svc->since_ms);
	if (def->publish_discovery)
		def->publish_discovery(svc->app);
	if (def->on_connected)
		def->on_connected(svc->app);
}

static void on_message(void *arg, const struct mqttc_message *msg)
{
	struct service *svc = arg;
	const struct service_def *def = svc->def;
	if (svc->stopping || !svc->app)
		return;
	if (strcmp(msg->topic, HA_STATUS_TOPIC) == 0) {
		/* Home Assistant (re)started: announce the entities again, then
		 * let the service show it its current state. `offline` (HA's
		 * will) needs nothing. */
		if (def->publish_discovery && ha_is_birth(msg->topic, msg->payload, msg->len)) {
			def->publish_discovery(svc->app);
			if (def->on_ha_birth)
				def->on_ha_birth(svc->app);
		}
		return;
	}
	if (def->on_message)
		def->on_message(svc->app, msg);
}

static void on_disconnected(void *arg)
{
	struct service *svc = arg;
	if (!svc->stopping && svc->app && svc->def->on_disconnected)
		svc->def->on_disconnected(svc->app);
}

static void on_dropped(void *arg, uint64_t oversize, uint64_t queue_full, const char *last_topic)
{
	struct service *svc = arg;
	if (!svc->stopping && svc->app && svc->def->on_dropped)
		svc->def->on_dropped(svc->app, oversize, queue_full, last_topic);
}

static void on_drained(void *arg)
{
	struct service *svc = arg;
	if (!svc->stopping && svc->app && svc->def->on_drained)
		svc->def->on_drained(svc->app);
}

/* The loop, the signal watchers, the stop timer and the MQTT client
 * (created, not started). 0, or the exit code. */
static int open_runtime(struct service *svc)
{
	const struct service_def *def = svc->def;
	const char *site = service_site(svc);
	if (uv_loop_init(&svc->loop) < 0) {
		log_error("cannot create the event loop");
		return 1;
	}
	svc->stop_timer.data = svc;
	if (uv_timer_init(&svc->loop, &svc->stop_timer) < 0 ||
	    loop_signals_init(&svc->loop, on_signal_stop, svc) < 0)
		return 1;
	if (proto_topic_availability(svc->availability, sizeof(svc->availability), site,
				     def->name) < 0 ||
	    (size_t)snprintf(svc->client_id, sizeof(svc->client_id), "iod-%s-%s", def->name,
			     site) >= sizeof(svc->client_id)) {
		fprintf(stderr, "iod-%s: IOD_SITE: '%s' makes topics too long\n", def->name, site);
		return 2;
	}
	struct mqttc_options mo = {
	    .client_id = svc->client_id,
	    .availability_topic = svc->availability,
	    .session_expiry_s =
		def->session_expiry ? def->session_expiry(svc->cfg) : def->session_expiry_s,
	    .queue_limit = def->queue_limit ? def->queue_limit : MQTTC_QUEUE_DEFAULT,
	    .max_payload = def->max_payload ? def->max_payload : PROTO_MAX_PAYLOAD,
	    .on_message = on_message,
	    .on_connected = on_connected,
	    .on_dropped = def->on_dropped ? on_dropped : NULL,
	    .on_disconnected = def->on_disconnected ? on_disconnected : NULL,
	    .on_drained = def->on_drained ? on_drained : NULL,
	    .arg = svc,
	};
	struct mqttc_settings ms = mqttc_settings_from_cfg(svc->cfg);
	svc->mqtt = mqttc_new(&svc->loop, &ms, &mo);
	return svc->mqtt ? 0 : 1;
}

/* def->create, the birth subscription, def->start, MQTT start. 0, or the
 * exit code (the caller takes the stop path when an app exists). */
static int start_service(struct service *svc)
{
	const struct service_def *def = svc->def;
	int rc = 1;
	svc->app = def->create(svc, &rc);
	if (!svc->app)
		return rc ? rc : 1;
	/* After the service's own subscriptions, as every service made them. */
	if (def->publish_discovery && mqttc_subscribe(svc->mqtt, HA_STATUS_TOPIC, 1, false) < 0)
		return 1;
	if (def->start && def->start(svc->app) < 0)
		return 1;
	if (mqttc_start(svc->mqtt) < 0)
		return 1;
	svc->mqtt_started = true;
	return 0;
}

/* def->check's problems, one line each as cfg prints a bad setting's:
 * true when there were any. */
static bool check_failed(const struct service_def *def, const char *program, const struct cfg *cfg)
{
	char why[1024] = "";
	if (!def->check || def->check(cfg, why, sizeof(why)) == 0)
		return false;
	for (char *line = why, *end; *line; line = end) {
		end = line + strcspn(line, "\n");
		fprintf(stderr, "%s: %.*s\n", program, (int)(end - line), line);
		if (*end)
			end++;
	}
	return true;
}

/* cfg_load, and def->check after it. cfg ends --check-config itself
 * ("configuration is valid"), so with a check it is loaded without the
 * flag and the skeleton says it once the check has passed too. */
static struct cfg *load_config(const struct service_def *def, const char *program, int argc,
			       char **argv, int *rc)
{
	bool check_only = false;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int n = 0;
	if (!args) {
		fprintf(stderr, "%s: out of memory\n", program);
		*rc = 1;
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		if (def->check && i > 0 && strcmp(argv[i], "--check-config") == 0)
			check_only = true;
		else
			args[n++] = argv[i];
	}
	args[n] = NULL;
	/* cfg keeps no pointer into argv (its values are copies). */
	struct cfg *cfg = cfg_load(def->name, program, def->options, def->n_options, n, args, rc);
	free(args);
	if (!cfg)
		return NULL;
	if (check_failed(def, program, cfg)) {
		*rc = 2;
	} else if (check_only) {
		printf("%s: configuration is valid\n", program);
		*rc = 0;
	} else {
		return cfg;
	}
	cfg_free(cfg);
	return NULL;
}

int service_main(const struct service_def *def, int argc, char **argv)
{
	char program[64];
	int rc = 0;
	snprintf(program, sizeof(program), "iod-%s", def->name);
	struct cfg *cfg = load_config(def, program, argc, argv, &rc);
	if (!cfg)
		return rc;

	enum log_level level = LOG_LEVEL_INFO;
	log_parse_level(cfg_str(cfg, "IOD_LOG_LEVEL"), &level);
	log_init(def->name, level);

	/* The home for info, once: a zone changed later is seen at a restart. */
	char tz[IOD_TZ_SIZE];
	iod_tz_resolve(getenv("TZ"), "/etc/localtime", "/etc/timezone", tz, sizeof(tz));
	service_info_set_home(tz, cfg_str(cfg, "IOD_SITE_NAME"), cfg_str(cfg, "IOD_DOG_NAME"));

	struct service *svc = calloc(1, sizeof(*svc));
	if (!svc) {
		log_error("out of memory");
		cfg_free(cfg);
		return 1;
	}
	svc->def = def;
	svc->cfg = cfg;
	svc->since_ms = loop_wall_ms();
	bool loop_open = false;

	int mk = cfg_make_data_dir(cfg);
	if (mk < 0) {
		log_error("IOD_DATA_DIR '%s': %s", cfg_str(cfg, "IOD_DATA_DIR"), strerror(-mk));
		if (!def->data_dir_optional) {
			rc = 1;
			goto out;
		}
	}
	loop_open = true;
	rc = open_runtime(svc);
	if (rc == 0)
		rc = start_service(svc);
	if (rc == 0) {
		sdnotify_start(&svc->loop); /* READY=1 on the first turn; watchdog pings */
		svc->running = true;
		if (svc->stop_asked)
			service_stop(svc);
		uv_run(&svc->loop, UV_RUN_DEFAULT);
	} else if (svc->app) {
		stop_now(svc); /* a start that failed: the same stop path */
	}
	if (svc->app)
		log_info("stopped");

out:
	if (svc->mqtt) { /* create failed: the client never started */
		mqttc_free(svc->mqtt);
		svc->mqtt = NULL;
	}
	if (loop_open) {
		loop_signals_close();
		loop_close_all(&svc->loop);
	}
	if (svc->app && def->destroy)
		def->destroy(svc->app);
	free(svc);
	cfg_free(cfg);
	return rc;
}

uv_loop_t *service_loop(struct service *svc)
{
	return &svc->loop;
}

const struct cfg *service_cfg(const struct service *svc)
{
	return svc->cfg;
}

struct mqttc *service_mqtt(struct service *svc)
{
	return svc->app_stopped ? NULL : svc->mqtt;
}

const char *service_site(const struct service *svc)
{
	return cfg_str(svc->cfg, "IOD_SITE");
}

const char *service_name(const struct service *svc)
{
	return svc->def->name;
}

int64_t service_since_ms(const struct service *svc)
{
	return svc->since_ms;
}

bool service_stopping(const struct service *svc)
{
	return svc->stopping;
}

int service_topic(const struct service *svc, char *buf, size_t size, const char *leaf)
{
	return proto_topic(buf, size, service_site(svc), svc->def->name, leaf) < 0 ? -1 : 0;
}
