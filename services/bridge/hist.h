/*
 * hist — one sensor topic's recent history for the dashboard's charts.
 *
 * Readings are folded as they arrive into HIST_BUCKETS buckets of
 * HIST_BUCKET_MS (360 x 10 s = the last hour), so memory is fixed whatever
 * the reading rate. A bucket's point is the average of its readings, or the
 * maximum for motion-like signals (a 0/1 burst must not average away).
 * Pure; the caller passes the time.
 */
#ifndef IOD_BRIDGE_HIST_H
#define IOD_BRIDGE_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_BUCKET_MS 10000
#define HIST_BUCKETS   360

enum hist_agg { HIST_AVG, HIST_MAX };

struct hist_point {
	int64_t ts_ms; /* bucket start */
	double value;
};

struct hist {
	enum hist_agg agg;
	uint64_t version; /* bumped by every accepted reading */
	struct hist_bucket {
		int64_t start_ms; /* which bucket this slot holds now; INT64_MIN = never used */
		double sum, max;
		uint32_t count;
	} b[HIST_BUCKETS];
};

void hist_init(struct hist *h, enum hist_agg agg);
/* Fold one reading. Non-finite values and readings older than the window the
 * slot now holds are ignored (returns -1); 0 when taken. */
int hist_add(struct hist *h, int64_t ts_ms, double value);
/* The points of the hour ending at now_ms, oldest first, at most
 * HIST_BUCKETS; returns the count. Empty buckets give no point. */
size_t hist_points(const struct hist *h, int64_t now_ms, struct hist_point out[HIST_BUCKETS]);

#endif
