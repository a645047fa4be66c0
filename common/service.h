/*
 * service — what every iod service publishes the same way: its `info` and
 * its alerts (docs/design.md "Code layout").
 *
 * One alert builder instead of one per service: an alert is filled here
 * (source, level, code, message, time), encoded by proto's encoder and
 * published on the site's alert topic, QoS 1, not retained, also while
 * disconnected (mqttc keeps it for the connection). Loop thread only.
 */
#ifndef IOD_COMMON_SERVICE_H
#define IOD_COMMON_SERVICE_H

#include "proto.h"

#include <stdarg.h>
#include <stdint.h>

struct mqttc;

/* Fill *a: source ("feeder"), level, code and the formatted message, each
 * cut to its field's size, and ts_ms (the caller's clock: the feeder's
 * rules pass their injected one). Logs nothing, opens nothing. */
void service_alert_vfill(struct proto_alert *a, const char *source, enum proto_level level,
			 const char *code, int64_t ts_ms, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
void service_alert_fill(struct proto_alert *a, const char *source, enum proto_level level,
			const char *code, int64_t ts_ms, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

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

/* Retained "iod/<site>/<service>/info": this build's version, since_ms (when
 * the service started, wall clock) and backend ("sim", "https", ...). QoS 1,
 * after every (re)connect. 0, or a negative errno as service_alert_publish. */
int service_publish_info(struct mqttc *mqtt, const char *site, const char *service,
			 const char *backend, int64_t since_ms);

#endif
