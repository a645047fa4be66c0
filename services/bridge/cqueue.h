/*
 * cqueue — one websocket client's bounded, coalescing send queue.
 *
 * Holds references to shared bmsgs in arrival order. A message whose key is
 * not 0 replaces, in place, a pending message with the same key (the newest
 * reading per topic, the newest camera frame), so a client that cannot keep
 * up never holds more than one pending message per topic. Messages with key 0
 * (per-client answers, feeder events, alerts) are never coalesced. The queue
 * never holds more than `max` entries: a push beyond that is refused and the
 * caller counts it and drops the client (it reconnects and gets the state
 * afresh). Storage grows on demand, so an idle client costs a few bytes.
 *
 * Loop thread only.
 */
#ifndef IOD_BRIDGE_CQUEUE_H
#define IOD_BRIDGE_CQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct bmsg;

struct cqueue {
	struct bmsg **items; /* ring of cap entries */
	uint32_t head;	     /* index of the oldest entry */
	uint32_t count;
	uint32_t cap;
	uint32_t max; /* hard bound on count */
};

enum cqueue_result {
	CQUEUE_QUEUED,	  /* appended */
	CQUEUE_COALESCED, /* replaced an older pending message with the same key */
	CQUEUE_FULL,	  /* refused: the queue holds max entries (or out of memory) */
};

void cqueue_init(struct cqueue *q, uint32_t max);
/* Drop every reference and free the storage. */
void cqueue_free(struct cqueue *q);
/* Queue m, taking a new reference unless the result is CQUEUE_FULL. */
enum cqueue_result cqueue_push(struct cqueue *q, struct bmsg *m);
/* Remove the oldest message and return it; the caller owns that reference. */
struct bmsg *cqueue_pop(struct cqueue *q);
/* Bytes of queue storage (not counting the shared messages). */
size_t cqueue_storage_bytes(const struct cqueue *q);

#endif
