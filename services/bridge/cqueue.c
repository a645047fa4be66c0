#include "cqueue.h"

#include "bmsg.h"

#include <stdlib.h>

#define CQUEUE_MIN_CAP 8

void cqueue_init(struct cqueue *q, uint32_t max)
{
	q->items = NULL;
	q->head = q->count = q->cap = 0;
	q->max = max ? max : 1;
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

enum cqueue_result cqueue_push(struct cqueue *q, struct bmsg *m)
{
	if (m->key) {
		for (uint32_t i = 0; i < q->count; i++) {
			struct bmsg **slot = &q->items[(q->head + i) % q->cap];
			if ((*slot)->key == m->key) {
				bmsg_unref(*slot);
				*slot = bmsg_ref(m);
				return CQUEUE_COALESCED;
			}
		}
	}
	if (q->count >= q->max)
		return CQUEUE_FULL;
	if (q->count == q->cap && grow(q) < 0)
		return CQUEUE_FULL;
	q->items[(q->head + q->count) % q->cap] = bmsg_ref(m);
	q->count++;
	return CQUEUE_QUEUED;
}

struct bmsg *cqueue_pop(struct cqueue *q)
{
	if (!q->count)
		return NULL;
	struct bmsg *m = q->items[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
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
