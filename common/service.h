/*
 * service — the one shape of every iod service (docs/design.md "Code
 * layout"): service_main() owns its whole life, and what every service
 * publishes the same way (its `info`, availability, Home Assistant's birth
 * message, its alerts) is done here once.
 *
 * service_main() runs, in this order: config (--help, --version,
 * --check-config and bad settings end here: 0 / 2; def->check's rules
 * between settings included), log, data dir, the
 * service's own uv_loop_t (never uv_default_loop), the signal watchers
 * (before MQTT, so a SIGTERM during create or start is one clean stop on
 * the loop's first turn), the MQTT client (created, not started), the
 * homeassistant/status subscription when the service has entities,
 * def->create, def->start, mqttc_start, READY=1 (sdnotify, on the loop's
 * first turn), the loop. One stop path (SIGTERM, SIGINT, service_stop):
 * def->stop (the service stops its producers and closes its handles; MQTT
 * still takes its last publishes), STOPPING=1, mqttc_stop (`offline`,
 * disconnect, up to 2 s), mqttc_free, the signal watchers closed; the loop
 * then runs dry (no uv_stop anywhere), def->destroy, and the exit code is
 * returned. A start (def->start or mqttc_start) that fails takes the same
 * stop path and exits 1.
 *
 * After every (re)connect the skeleton publishes the retained info
 * (def->backend()) and, for a service with entities, its discovery, then
 * calls def->on_connected. Home Assistant's birth message calls
 * def->publish_discovery then def->on_ha_birth, and never reaches
 * def->on_message.
 *
 * One alert builder instead of one per service: an alert is filled here
 * (source, level, code, message, time), encoded by proto's encoder and
 * published on the site's alert topic, QoS 1, not retained, also while
 * disconnected (mqttc keeps it for the connection). Loop thread only.
 */
#ifndef IOD_COMMON_SERVICE_H
#define IOD_COMMON_SERVICE_H

#include "proto.h"
#include "service_alert.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cfg;
struct cfg_option;
struct mqttc;
struct mqttc_message;

struct service; /* opaque: owns config, log, the loop, signals, MQTT, sd_notify */

struct service_def {
	const char *name;		  /* "feeder": log tag, binary "iod-<name>", client id
					   * "iod-<name>-<site>", topics iod/<site>/<name>/... */
	const struct cfg_option *options; /* the service's own settings */
	size_t n_options;
	bool data_dir_optional; /* feeder: a data dir that cannot be made is logged,
				 * not fatal (it refuses doses: fail safe) */
	/* mqttc_options the service chooses (client id, availability topic,
	 * will, callbacks and arg are the skeleton's) */
	int session_expiry_s;
	/* When a setting decides it (the feeder: IOD_FEEDER_CMD_TTL): called
	 * after config, before the client is made. NULL: session_expiry_s. */
	int (*session_expiry)(const struct cfg *cfg);
	size_t queue_limit; /* 0: MQTTC_QUEUE_DEFAULT */
	size_t max_payload; /* 0: PROTO_MAX_PAYLOAD */
	/* Rules between settings that no one setting's check can see (the
	 * feeder: the plan's seed within the vet's bounds). Right after
	 * config, for --check-config too, before anything is opened. 0, or
	 * the number of problems, written into why one a line without a
	 * prefix: the skeleton prints each as "iod-<name>: <problem>" on
	 * stderr and exits 2. May be NULL. */
	int (*check)(const struct cfg *cfg, char *why, size_t size);

	/* After config, log, data dir, the loop, the signal watchers and the
	 * MQTT client (created, not started) exist. Read settings with
	 * service_cfg(), open drivers, subscribe with service_mqtt(). Returns
	 * the service's object (struct <name>_app), or NULL with *exit_code
	 * set (2: a bad setting, already reported naming it; 1: anything
	 * else, also when left 0). */
	void *(*create)(struct service *svc, int *exit_code);
	/* After create; MQTT starts right after it. 0, or -1 (exit 1). May be NULL. */
	int (*start)(void *app);
	/* Once, on the loop thread, at SIGTERM/SIGINT or service_stop(), or
	 * when the start failed: stop the producers and close the service's
	 * own handles (timers...). service_mqtt() still works here, so last
	 * publishes go out before `offline`; service_stopping() is true. */
	void (*stop)(void *app);
	/* After the loop has run dry and MQTT is freed. May be NULL. */
	void (*destroy)(void *app);

	/* MQTT, on the loop thread; never called once stopping. */
	void (*on_message)(void *app, const struct mqttc_message *msg);
	/* After every (re)connect, after the skeleton's info and discovery. May be NULL. */
	void (*on_connected)(void *app);
	void (*on_disconnected)(void *app);   /* may be NULL */
	void (*publish_discovery)(void *app); /* NULL: no HA entities, no birth subscription */
	void (*on_ha_birth)(void *app);	      /* after discovery on HA's birth; may be NULL */
	const char *(*backend)(void *app);    /* info's "backend" ("sim", "pwm:0:0+alsa:..") */
	/* may be NULL (mqttc's stats count drops either way) */
	void (*on_dropped)(void *app, uint64_t oversize, uint64_t queue_full,
			   const char *last_topic);
	void (*on_drained)(void *app); /* may be NULL */
};

/* The whole life of a service (above). Returns the process exit code. */
int service_main(const struct service_def *def, int argc, char **argv);

/* The one stop path from inside the service (a fatal error, a test hook):
 * the same as SIGTERM, on the next loop turn (so it may be called from any
 * callback, create and start included). Idempotent. */
void service_stop(struct service *svc);

/* Accessors, valid from create until destroy. */
uv_loop_t *service_loop(struct service *svc);
const struct cfg *service_cfg(const struct service *svc);
/* NULL once the stop path has called def->stop (and before the client exists). */
struct mqttc *service_mqtt(struct service *svc);
const char *service_site(const struct service *svc); /* IOD_SITE */
const char *service_name(const struct service *svc);
int64_t service_since_ms(const struct service *svc); /* wall clock at start (info's since) */
bool service_stopping(const struct service *svc);
/* "iod/<site>/<name>/<leaf>" for this service (proto_topic). 0 or -1. */
int service_topic(const struct service *svc, char *buf, size_t size, const char *leaf);

/* Publish *a on "iod/<site>/alert" (QoS 1, not retained). 0, or a negative
 * errno (-ENOMEM: not encoded, logged; mqttc_publish's refusal). */
int service_alert_publish(struct mqttc *mqtt, const char *site, const struct proto_alert *a);

/* Fill an alert at loop_wall_ms(), log it ("alert <code>: <message>", at
 * info, warn or error as its level) and publish it; with mqtt NULL (no
 * client, or one that is stopping) it is only logged. */
void service_alert(struct mqttc *mqtt, const char *site, const char *source, enum proto_level level,
		   const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void service_valert(struct mqttc *mqtt, const char *site, const char *source,
		    enum proto_level level, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
/* The same about one thing of the source (service_alert_about): a sensor,
 * a slot; NULL is service_valert. */
void service_valert_about(struct mqttc *mqtt, const char *site, const char *source,
			  const char *subject, enum proto_level level, const char *code,
			  const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));

/* Retained "iod/<site>/<service>/info": this build's version, since_ms (when
 * the service started, wall clock) and backend ("sim", "https", ...), then
 * the home's tz, site_name and dog_name as service_info_set_home last gave
 * them (each left out when not given). QoS 1, after every (re)connect. 0, or
 * a negative errno as service_alert_publish. */
int service_publish_info(struct mqttc *mqtt, const char *site, const char *service,
			 const char *backend, int64_t since_ms);

/* The home in every info this process publishes: service_main sets it once
 * at start (tz from iod_tz_resolve(getenv("TZ"), "/etc/localtime",
 * "/etc/timezone"), IOD_SITE_NAME, IOD_DOG_NAME). NULL or "": left out;
 * longer than 64 bytes is cut (the callers' values are checked to fit). */
void service_info_set_home(const char *tz, const char *site_name, const char *dog_name);
/* Set info's tz, site_name and dog_name to the home's (NULL when not set),
 * for a service that encodes its own info. */
void service_info_fill_home(struct proto_info *info);

#endif
