/*
 * alerts — iod-notify's active alert set: what `iod/<site>/alerts` shows.
 *
 * Keyed by source/code/subject (proto_alert_key). An alert raised again
 * while active updates its entry (level, message, updated time) and is not
 * a new occurrence, so nobody is told twice; an alert raised after it was
 * cleared is. An ack records who and when and stops notifications. An
 * alert leaves the set by a later fact (alerts_fact_* below; the table is
 * in services/notify/README.md, "Clear by fact"), or ALERTS_KEEP_MS after
 * its ack, or (an info alert never acked) ALERTS_KEEP_MS after it was last
 * raised. since and updated are this service's clock at receipt (the
 * policy's times), not the sender's ts. The recovery codes (sensor_recovered, camera_recovered) are
 * facts, never entries.
 *
 * Pure: no clock (every call takes now_ms), no I/O; alerts_save/_load are
 * the only functions that touch a file (the data dir's alerts.json, written
 * whole: tmp, fsync, rename). Not thread-safe; the loop thread owns it.
 */
#ifndef IOD_NOTIFY_ALERTS_H
#define IOD_NOTIFY_ALERTS_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERTS_KEEP_MS (24LL * 3600 * 1000)

struct alerts {
	struct proto_alerts set; /* set.ts_ms: when it last changed */
};

enum alerts_raise_result {
	ALERTS_NEW,	/* a new occurrence: notify */
	ALERTS_UPDATED, /* the same alert again while active: no new notification */
	ALERTS_FACT,	/* a recovery code: applied as a fact, not kept */
	ALERTS_REFUSED, /* the key does not fit (an over-long subject) */
};

void alerts_init(struct alerts *s);
/* Add or update (above); *out (may be NULL) points at the entry (NULL for
 * ALERTS_FACT/REFUSED) until the next call that changes the set. A full
 * set makes room by dropping the oldest acked entry, else the oldest of the
 * lowest level (*evicted, may be NULL, gets its key; "" when none). */
enum alerts_raise_result alerts_raise(struct alerts *s, const struct proto_alert *a, int64_t now_ms,
				      struct proto_active_alert **out, char *evicted,
				      size_t evicted_size);
struct proto_active_alert *alerts_find(struct alerts *s, const char *key);
/* 0: acked now; -1 with *reason unknown_key, or already_acked (the first
 * ack stands: *by_then holds who, may be NULL). */
int alerts_ack(struct alerts *s, const char *key, const char *by, int64_t now_ms,
	       const char **reason, const char **by_then);
/* Remove by key. true when it was there. */
bool alerts_clear(struct alerts *s, const char *key, int64_t now_ms);

/* The facts. Each returns how many entries it cleared. */
/* A slot of feeder/schedule left pending as given, late or skipped:
 * notify/dose_overdue/<slot> and feeder/missed_dose/<slot>. */
size_t alerts_fact_slot_done(struct alerts *s, const char *slot, int64_t now_ms);
/* A service's availability says online: notify/service_offline/<service>. */
size_t alerts_fact_online(struct alerts *s, const char *service, int64_t now_ms);
/* Which entry a recovery code clears (sensor_recovered -> sensor_lost,
 * camera_recovered -> camera_lost), NULL for every other code. */
const char *alerts_recovery_of(const char *code);

/* Drop what has been kept long enough (above); how many. */
size_t alerts_expire(struct alerts *s, int64_t now_ms);
/* When alerts_expire next has something to do; INT64_MAX: never. */
int64_t alerts_next_expiry(const struct alerts *s);

/* Persistence. save: 0 or -errno. load: 0 (a missing file is an empty
 * set), or -1 with why (a damaged file: the caller logs it and starts
 * empty; what the outbox still holds is delivered anyway). */
int alerts_save(const struct alerts *s, const char *path);
int alerts_load(struct alerts *s, const char *path, char *why, size_t why_size);

#endif
