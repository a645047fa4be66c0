/*
 * bmsg — a refcounted, immutable message buffer shared by every client it is
 * fanned out to.
 *
 * Each MQTT message is serialised once into a bmsg; every client queue holds
 * a reference, and the last bmsg_unref() frees it. The buffer carries
 * `headroom` spare bytes before the payload so the websocket layer can put
 * its frame header in front without copying (libwebsockets' LWS_PRE). The
 * websocket header written there is identical for every server->client
 * frame, so sharing the headroom across clients is safe on one thread.
 *
 * Loop thread only (plain, non-atomic reference count).
 */
#ifndef IOD_BRIDGE_BMSG_H
#define IOD_BRIDGE_BMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bmsg {
	uint32_t refs;
	uint32_t key; /* coalescing key: one pending per key per client; 0 = never coalesce */
	bool binary;  /* binary websocket frame (camera JPEG), else text */
	uint16_t headroom;
	size_t len;	     /* payload bytes, after the headroom */
	unsigned char buf[]; /* headroom, payload, one NUL */
};

/* A new message with refs = 1 and len bytes of payload space (copied from
 * data when data is not NULL). NULL on out-of-memory. */
struct bmsg *bmsg_new(size_t headroom, const void *data, size_t len, bool binary, uint32_t key);
struct bmsg *bmsg_ref(struct bmsg *m);
/* Drop one reference; frees on the last. NULL is ignored. */
void bmsg_unref(struct bmsg *m);

static inline unsigned char *bmsg_data(struct bmsg *m)
{
	return m->buf + m->headroom;
}

/* Bytes held by all live bmsgs of this process (for /metrics). */
size_t bmsg_live_bytes(void);

#endif
