/*
 * outbox — every delivery iod-notify owes, on disk before it is tried.
 *
 * An append-only file in the data dir (outbox.log), one record a line,
 * fsync'd before the call returns (queued: before any of it is tried): queued (the whole delivery:
 * id, alert key, contact, the contact's URL index, occurrence, level, source, code, subject,
 * message, since, when queued; a batch of them synced once), failed (an attempt failed: the error
 * and when to try next), delivered, given_up. Each line is a JSON object ending in "crc":"<crc32c
 * of the rest>", as the feeder's journal does. Opening replays the file: a torn or garbled last
 * line (a power cut mid-write) is cut off; a damaged line inside is skipped; every good record is
 * kept either way (outbox_open's stats say what was found).
 *
 * Dedupe: one delivery per key + contact + URL + occurrence (the policy's
 * "<since>.<round>": a repeat or an escalation is a new occurrence, the
 * same alert raised again while active is not). Delivered and given-up
 * entries are remembered for that until compaction, which rewrites the
 * file (tmp, fsync, rename, fsync of the directory) with what is pending
 * plus what the caller's keep() says is still needed (deliveries of alerts
 * still active), when finished entries outnumber the rest.
 *
 * No clock of its own (times are the caller's); no threads; the loop
 * thread owns it. Writes are synchronous (an fsync per record: a few ms on
 * an SD card, a handful of records per alert).
 */
#ifndef IOD_NOTIFY_OUTBOX_H
#define IOD_NOTIFY_OUTBOX_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_OCC_MAX 32

enum outbox_state { OUTBOX_PENDING, OUTBOX_DELIVERED, OUTBOX_GIVEN_UP };

struct outbox_item {
	uint64_t id; /* assigned by outbox_queue, 1.. */
	char key[PROTO_ALERT_KEY_MAX];
	char contact[PROTO_CONTACT_MAX + 1];
	int url; /* index in the contact's URLs */
	char occ[OUTBOX_OCC_MAX];
	struct proto_alert alert; /* level, source, code, subject, message */
	int64_t since_ms;
	int64_t queued_ms;
	bool test; /* a notify/cmd test */
	/* state */
	enum outbox_state state;
	unsigned attempts; /* failed attempts so far */
	int64_t next_ms;   /* pending: not before this */
	char last_error[128];
	bool in_flight; /* not persisted: the glue's */
};

struct outbox_stats {
	size_t records;	   /* good records read */
	size_t damaged;	   /* lines inside the file skipped (bad crc or shape) */
	size_t torn_bytes; /* cut off the end */
	size_t compactions;
};

struct outbox;

/* Open (create) path and replay it. NULL with why on an I/O error. */
struct outbox *outbox_open(const char *path, struct outbox_stats *stats, char *why,
			   size_t why_size);
void outbox_close(struct outbox *ob);

/* Append a queued record for *it (id assigned, state pending, next = now);
 * returns the stored item, or NULL when the write failed (errno kept in
 * *err; the item is then not queued). Not synced yet: a batch of queued
 * records is made durable by one outbox_sync(), which the caller runs
 * before it tries any of them. */
struct outbox_item *outbox_queue(struct outbox *ob, const struct outbox_item *it, int64_t now_ms,
				 int *err);
/* fdatasync what outbox_queue appended since the last sync. 0 or -errno. */
int outbox_sync(struct outbox *ob);
/* The outcomes (each synced at once). 0 or -errno (the in-memory state changes either way, so
 * a disk that fails does not make a delivery repeat on this run). */
int outbox_failed(struct outbox *ob, struct outbox_item *it, int64_t now_ms, int64_t next_ms,
		  const char *error);
int outbox_delivered(struct outbox *ob, struct outbox_item *it, int64_t now_ms);
int outbox_given_up(struct outbox *ob, struct outbox_item *it, int64_t now_ms, const char *error);

/* Item pointers stay valid until the next outbox_queue or outbox_compact:
 * keep the id across a callback and look it up again. NULL: no such id. */
struct outbox_item *outbox_find(struct outbox *ob, uint64_t id);
/* Is there (in any state) a delivery of key to contact's URL url for occ? */
bool outbox_has(const struct outbox *ob, const char *key, const char *contact, int url,
		const char *occ);
size_t outbox_count(const struct outbox *ob);
struct outbox_item *outbox_at(struct outbox *ob, size_t i);
size_t outbox_depth(const struct outbox *ob); /* pending */
/* The earliest next_ms of a pending item not in flight; INT64_MAX: none. */
int64_t outbox_next_due(const struct outbox *ob);

/* Rewrite when finished entries outnumber the others by far (or always
 * with force): keeps pending ones and finished ones keep() says (may be
 * NULL: none). Item pointers are invalid afterwards. 0 (also when nothing
 * was done), or -errno (the old file stays). */
int outbox_compact(struct outbox *ob, bool force, bool (*keep)(void *arg, const char *key),
		   void *arg);

/* CRC-32C (Castagnoli) of data. */
uint32_t outbox_crc32c(const void *data, size_t len);

#endif
