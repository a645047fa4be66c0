/*
 * cqueue — one websocket client's bounded, coalescing send queue.
 *
 * Holds references to shared bmsgs in arrival order, and counts the payload
 * bytes they hold. Coalescing happens only for a client that is really
 * behind: a message whose key is not 0 replaces, in place, a pending message
 * with the same key (the newest reading per topic, the newest camera frame)
 * only when the client is behind (CQUEUE_COALESCED_BEHIND): the queue, with
 * it, would hold more than `behind_bytes` payload bytes, or already holds
 * `behind_frames` entries (many small frames: the rest of `max` stays free
 * for those never coalesced); or when the queue holds `max` entries
 * (CQUEUE_COALESCED_FULL). Otherwise it is appended, so a client that
 * keeps up gets every message even when a burst queues several per topic.
 * Messages with key 0 (per-client answers, feeder events, alerts, the alert
 * set, the plan, the schedule) are never coalesced. A push that can neither
 * be appended nor coalesced is refused (CQUEUE_FULL) and the caller counts it
 * and drops the client (it reconnects and gets the state afresh). Storage
 * grows on demand, so an idle client costs a few bytes.
 *
 * Loop thread only.
 */
#ifndef IOD_BRIDGE_CQUEUE_H
#define IOD_BRIDGE_CQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bmsg;

struct cqueue {
	struct bmsg **items; /* ring of cap entries */
	uint32_t head;	     /* index of the oldest entry */
	uint32_t count;
	uint32_t cap;
	uint32_t max;		/* hard bound on count */
	size_t bytes;		/* payload bytes of the queued messages */
	size_t behind_bytes;	/* past this many queued bytes the client is behind */
	uint32_t behind_frames; /* ... and from this many queued frames */
};

enum cqueue_result {
	CQUEUE_QUEUED,		 /* appended */
	CQUEUE_COALESCED_BEHIND, /* replaced a pending one with the same key: over behind_bytes */
	CQUEUE_COALESCED_FULL,	 /* replaced a pending one with the same key: max entries held */
	CQUEUE_FULL,		 /* refused: max entries and nothing to replace (or no memory) */
};

/* max entries at most (0: 1); behind past behind_bytes queued or from
 * behind_frames entries (both 0: always behind, coalescing whenever a
 * same-key message is pending). */
void cqueue_init(struct cqueue *q, uint32_t max, size_t behind_bytes, uint32_t behind_frames);
/* Drop every reference and free the storage. */
void cqueue_free(struct cqueue *q);
/* Queue m, taking a new reference unless the result is CQUEUE_FULL. */
enum cqueue_result cqueue_push(struct cqueue *q, struct bmsg *m);
/* Remove the oldest message and return it; the caller owns that reference. */
struct bmsg *cqueue_pop(struct cqueue *q);
/* Bytes of queue storage (not counting the shared messages). */
size_t cqueue_storage_bytes(const struct cqueue *q);

#endif
