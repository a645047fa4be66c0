/*
 * metrics.c — Prometheus text exposition of iod-notify's counters
 * (metrics.h). Pure.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t n, cap;
	bool failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->n) {
			b->n += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Contact names and kinds are [A-Za-z0-9._-]: nothing to escape in a label. */
static void per_channel(struct buf *b, const struct proto_notify_status *st,
			const char *const *kinds, const char *name, bool failed)
{
	for (size_t i = 0; i < st->n_channels; i++) {
		const struct proto_notify_channel_status *c = &st->channels[i];
		size_t url = 1;

		for (size_t j = 0; j < i; j++)
			url += strcmp(st->channels[j].contact, c->contact) == 0;
		put(b, "%s{contact=\"%s\",channel=\"%s\",url=\"%zu\"} %" PRIu64 "\n", name,
		    c->contact, kinds && kinds[i] ? kinds[i] : "unknown", url,
		    failed ? c->failed : c->sent);
	}
}

char *notify_metrics_render(const struct proto_notify_status *st, const char *const *kinds,
			    const size_t active[3])
{
	static const char *const levels[3] = {"info", "warning", "critical"};
	struct buf b = {0};

	head(&b, "iod_notify_outbox_depth", "gauge",
	     "Deliveries still owed (queued, not finished).");
	put(&b, "iod_notify_outbox_depth %" PRIu64 "\n", st->depth);
	head(&b, "iod_notify_queued_total", "counter", "Deliveries queued since the start.");
	put(&b, "iod_notify_queued_total %" PRIu64 "\n", st->queued);
	head(&b, "iod_notify_given_up_total", "counter",
	     "Deliveries given up (refused for good, or failing for the retry horizon).");
	put(&b, "iod_notify_given_up_total %" PRIu64 "\n", st->given_up);
	head(&b, "iod_notify_deliveries_total", "counter", "Deliveries a channel's peer accepted.");
	per_channel(&b, st, kinds, "iod_notify_deliveries_total", false);
	head(&b, "iod_notify_failures_total", "counter",
	     "Delivery attempts that failed, per channel.");
	per_channel(&b, st, kinds, "iod_notify_failures_total", true);
	head(&b, "iod_notify_active_alerts", "gauge", "Alerts in the active set, by level.");
	for (int l = 0; l < 3; l++)
		put(&b, "iod_notify_active_alerts{level=\"%s\"} %zu\n", levels[l], active[l]);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
