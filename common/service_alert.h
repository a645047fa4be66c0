/*
 * service_alert — filling an alert (service.h publishes it). Apart from the
 * rest of service.h so a pure core (the feeder's rules) can fill its alerts
 * without linking libuv or Paho: iod_common_base (this and log.c) has
 * neither.
 */
#ifndef IOD_COMMON_SERVICE_ALERT_H
#define IOD_COMMON_SERVICE_ALERT_H

#include "proto.h"

#include <stdarg.h>
#include <stdint.h>

/* Fill *a: source ("feeder"), level, code and the formatted message, each
 * cut to its field's size, and ts_ms (the caller's clock: the feeder's
 * rules pass their injected one). Logs nothing, opens nothing. */
void service_alert_vfill(struct proto_alert *a, const char *source, enum proto_level level,
			 const char *code, int64_t ts_ms, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
void service_alert_fill(struct proto_alert *a, const char *source, enum proto_level level,
			const char *code, int64_t ts_ms, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Set what *a is about (proto_alert.subject): text cut to the field and
 * every character outside [A-Za-z0-9._:-] made '_', so any name (a sensor's
 * spec, a slot, a dose id) gives a valid subject. NULL or "": none. */
void service_alert_about(struct proto_alert *a, const char *text);

#endif
