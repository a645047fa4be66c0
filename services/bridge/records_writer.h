/*
 * records_writer — the bridge's one writer of the records store (issue 13):
 * a thread of its own with the store's writer connection. The loop thread
 * only copies each message the store keeps (rwriter_wants) into a bounded
 * queue (items and bytes) and never waits: a full queue drops the message
 * and counts it. The thread decodes the messages with proto's decoders and
 * writes them in one transaction per batch (up to batch_max messages or
 * batch_ms after the first, whichever comes first), and runs
 * records_maintain with the size bound at start and every maintain_ms.
 *
 * What is kept (proto/README.md): sensors/<kind> readings; feeder/log doses
 * (upserted by id); feeder/event (commands; `verify` events fill in the
 * dose's verified, delta_g and reason); feeder/schedule slots; feeder/plan
 * (a plan change per rev); camera/snapshot with the user property for =
 * dose:<id> (the dose's snapshot) or motion:<ts> (the thumbnail of the
 * motion event starting at ts); camera/motion start/stop (events); the alert
 * topic, the retained alerts set (acks, and which alerts cleared) and
 * notify/event.
 *
 * rwriter_push and rwriter_stats from any one thread (the loop); the rest
 * from the thread that opened it.
 */
#ifndef IOD_BRIDGE_RECORDS_WRITER_H
#define IOD_BRIDGE_RECORDS_WRITER_H

#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rwriter_config {
	const char *path;	 /* records.db */
	const char *site;	 /* the bridge's site: other sites are not kept */
	int64_t max_bytes;	 /* records_maintain's bound; 0: none */
	size_t queue_items;	 /* 0: 20000 */
	size_t queue_bytes;	 /* 0: 64 MiB */
	unsigned batch_max;	 /* 0: 500 */
	unsigned batch_ms;	 /* 0: 250 */
	int64_t maintain_ms;	 /* 0: an hour */
	int64_t (*now_ms)(void); /* the wall clock (NULL: CLOCK_REALTIME) */
	int64_t session_idle_ms; /* records_options' (0: 7 days) */
};

struct rwriter_stats {
	uint64_t queued;  /* waiting now */
	uint64_t dropped; /* the queue was full */
	uint64_t written; /* messages committed */
	uint64_t batches;
	uint64_t errors; /* messages refused by a decoder or the store, failed batches */
};

struct rwriter;

/* Whether the store keeps a message on topic (for_prop: its user property
 * `for`, NULL when none). Pure, loop thread. */
bool rwriter_wants(const char *site, const char *topic, const char *for_prop);

/* Opens the store's writer connection (records_open: *opened says what it
 * found, a recovery included) and starts the thread. 0, or records_open's
 * error (-EPROTO: a newer schema) with err filled. */
int rwriter_open(const struct rwriter_config *cfg, struct rwriter **out,
		 struct records_opened *opened, struct records_err *err);
/* Copies the message into the queue. 0; 1 when it was dropped and is the
 * first drop since the queue last took one (log it once per episode);
 * 2 a drop in the same episode. Never blocks on the thread's work. */
int rwriter_push(struct rwriter *w, const char *topic, const void *payload, size_t len,
		 const char *for_prop, int64_t received_ms);
void rwriter_stats(struct rwriter *w, struct rwriter_stats *out);
/* An operator session to store (PUT: records_put_session; TOUCH: its
 * last_used, stored whole if the row is missing; DELETE), queued with the
 * messages and written in their batches; rwriter_push's result. */
enum rwriter_session_op {
	RWRITER_SESSION_PUT,
	RWRITER_SESSION_TOUCH,
	RWRITER_SESSION_DELETE,
};
int rwriter_session(struct rwriter *w, enum rwriter_session_op op, const struct records_session *s);
/* Waits until everything pushed before the call is committed (or failed). */
void rwriter_flush(struct rwriter *w);
/* Writes what is queued, stops the thread, closes the store. NULL: no-op. */
void rwriter_close(struct rwriter *w);

#endif
