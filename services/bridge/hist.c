#include "hist.h"

#include <math.h>

static int64_t bucket_start(int64_t ts_ms)
{
	int64_t q = ts_ms / HIST_BUCKET_MS;
	if (ts_ms % HIST_BUCKET_MS < 0)
		q--;
	return q * HIST_BUCKET_MS;
}

static size_t slot_of(int64_t start_ms)
{
	int64_t idx = (start_ms / HIST_BUCKET_MS) % HIST_BUCKETS;
	if (idx < 0)
		idx += HIST_BUCKETS;
	return (size_t)idx;
}

void hist_init(struct hist *h, enum hist_agg agg)
{
	h->agg = agg;
	h->version = 0;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		h->b[i].start_ms = INT64_MIN;
		h->b[i].count = 0;
		h->b[i].sum = h->b[i].max = 0;
	}
}

int hist_add(struct hist *h, int64_t ts_ms, double value)
{
	if (!isfinite(value))
		return -1;
	int64_t start = bucket_start(ts_ms);
	struct hist_bucket *b = &h->b[slot_of(start)];
	if (b->start_ms != start) {
		if (b->start_ms != INT64_MIN && start < b->start_ms)
			return -1; /* older than what this slot already holds */
		b->start_ms = start;
		b->count = 0;
		b->sum = 0;
		b->max = value;
	}
	b->sum += value;
	if (!b->count || value > b->max)
		b->max = value;
	b->count++;
	h->version++;
	return 0;
}

size_t hist_points(const struct hist *h, int64_t now_ms, struct hist_point out[HIST_BUCKETS])
{
	int64_t newest = bucket_start(now_ms);
	size_t n = 0;
	for (int64_t k = HIST_BUCKETS - 1; k >= 0; k--) {
		int64_t start = newest - k * HIST_BUCKET_MS;
		const struct hist_bucket *b = &h->b[slot_of(start)];
		if (b->start_ms != start || !b->count)
			continue;
		out[n].ts_ms = start;
		out[n].value = h->agg == HIST_MAX ? b->max : b->sum / b->count;
		n++;
	}
	return n;
}
