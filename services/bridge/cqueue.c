#include "cqueue.h"

#include "bmsg.h"

#include <stdlib.h>

#define CQUEUE_MIN_CAP 8

void cqueue_init(struct cqueue *q, uint32_t max, size_t behind_bytes, uint32_t behind_frames)
{
	q->items = NULL;
	q->head = q->count = q->cap = 0;
	q->max = max ? max : 1;
	q->bytes = 0;
	q->behind_bytes = behind_bytes;
	q->behind_frames = behind_frames;
}

void cqueue_free(struct cqueue *q)
{
	struct bmsg *m;
	while ((m = cqueue_pop(q)))
		bmsg_unref(m);
	free(q->items);
	q->items = NULL;
	q->cap = 0;
}

/* Grow to twice the capacity (at most max), keeping order, head back at 0. */
static int grow(struct cqueue *q)
{
	uint32_t ncap = q->cap ? q->cap * 2 : CQUEUE_MIN_CAP;
	if (ncap > q->max)
		ncap = q->max;
	struct bmsg **n = malloc(sizeof(*n) * ncap);
	if (!n)
		return -1;
	for (uint32_t i = 0; i < q->count; i++)
		n[i] = q->items[(q->head + i) % q->cap];
	free(q->items);
	q->items = n;
	q->head = 0;
	q->cap = ncap;
	return 0;
}

/* Replace the pending message with m's key by m: 0, or -1 when none. */
static int replace(struct cqueue *q, struct bmsg *m)
{
	for (uint32_t i = 0; i < q->count; i++) {
		struct bmsg **slot = &q->items[(q->head + i) % q->cap];
		if ((*slot)->key == m->key) {
			q->bytes = q->bytes - (*slot)->len + m->len;
			bmsg_unref(*slot);
			*slot = bmsg_ref(m);
			return 0;
		}
	}
	return -1;
}

enum cqueue_result cqueue_push(struct cqueue *q, struct bmsg *m)
{
	bool full = q->count >= q->max;
	bool behind = q->bytes + m->len > q->behind_bytes || q->count >= q->behind_frames;
	if (m->key && (full || behind) && !replace(q, m))
		return full ? CQUEUE_COALESCED_FULL : CQUEUE_COALESCED_BEHIND;
	if (full)
		return CQUEUE_FULL;
	if (q->count == q->cap && grow(q) < 0)
		return CQUEUE_FULL;
	q->items[(q->head + q->count) % q->cap] = bmsg_ref(m);
	q->count++;
	q->bytes += m->len;
	return CQUEUE_QUEUED;
}

struct bmsg *cqueue_pop(struct cqueue *q)
{
	if (!q->count)
		return NULL;
	struct bmsg *m = q->items[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	q->bytes -= m->len;
	if (!q->count && q->cap > 4 * CQUEUE_MIN_CAP) {
		/* A burst is over: give the memory back so idle clients stay small. */
		free(q->items);
		q->items = NULL;
		q->cap = 0;
		q->head = 0;
	}
	return m;
}

size_t cqueue_storage_bytes(const struct cqueue *q)
{
	return sizeof(struct bmsg *) * q->cap;
}
