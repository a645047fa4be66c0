/*
 * metrics — iod-notify's Prometheus text for GET /metrics: the outbox's
 * depth, deliveries and failures per channel (each URL of each contact),
 * given-up deliveries and the active alerts by level. Pure: the glue
 * fills the structs, this only formats them. Any thread.
 */
#ifndef IOD_NOTIFY_METRICS_H
#define IOD_NOTIFY_METRICS_H

#include "proto.h"

#include <stddef.h>

/* kinds[i]: channel i's kind ("mailto", "ntfy", ...), as st->channels[i].
 * active: the active alerts by level (info, warning, critical). malloc'd
 * text, or NULL on out-of-memory. */
char *notify_metrics_render(const struct proto_notify_status *st, const char *const *kinds,
			    const size_t active[3]);

#endif
