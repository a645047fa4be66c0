/*
 * app — iod-notify at run time: the glue between MQTT, the pure cores
 * (alerts.h, watchdog.h, contacts.h; policy.h and outbox.h for delivery)
 * and the sender (H5's sender.h) on the service's libuv loop.
 *
 * Subscribes iod/<site>/alert (every service's alerts, no-local: ours
 * come back only through the set), feeder/schedule, feeder/plan,
 * iod/<site>/+/availability and notify/cmd; publishes the retained
 * `alerts` and notify/status, notify/event answers. One uv timer to the
 * next deadline of any core; nothing polls. Loop thread only.
 */
#ifndef IOD_NOTIFY_APP_H
#define IOD_NOTIFY_APP_H

#include "cfg.h"
#include "service.h"

#include <stddef.h>

extern const struct cfg_option notify_app_options[];
extern const size_t notify_app_options_count;

/* The rules between settings: the contacts file parsed (each bad line
 * "IOD_NOTIFY_CONTACTS_FILE: <file>:<line>: <why>"), IOD_NOTIFY_QUIET. */
int notify_app_check(const struct cfg *cfg, char *why, size_t size);

extern const struct service_def notify_service;

#endif
