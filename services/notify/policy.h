/*
 * policy — who is told about an active alert, and when.
 *
 * Stateless over the alert: from its level, since, ack, the contacts (in
 * escalation order), the settings and now, it says which (contact, round)
 * deliveries should exist by now, and when that next changes. The glue
 * queues each one the outbox does not hold yet (the outbox dedupes by
 * key + contact + occurrence, the occurrence being "<since>.<round>"), so
 * a restart re-derives the same answer and sends nothing twice.
 *
 *   - info and warning go to every contact whose levels include them;
 *   - critical goes to the first contact wanting critical, and after each
 *     escalate_after still unacked to the next one in file order;
 *   - warning and critical repeat every repeat_ms (round 1, 2, ...) to
 *     everyone told so far, until acked or cleared; info does not repeat;
 *   - in quiet hours info and warning are held until the quiet period
 *     ends (then told once, in the round current then); critical never is.
 *
 * Quiet hours are local wall-clock times (localtime_r, so the test's TZ
 * and DST apply). Retries of one delivery back off from 30 s doubling to
 * 30 min (policy_backoff_ms), for retry_for (24 h) after it was queued.
 *
 * Pure: the clock is the caller's now_ms; no I/O; any thread.
 */
#ifndef IOD_NOTIFY_POLICY_H
#define IOD_NOTIFY_POLICY_H

#include "contacts.h"
#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_BACKOFF_FIRST_MS (30LL * 1000)
#define POLICY_BACKOFF_MAX_MS	(30LL * 60 * 1000)

struct policy_quiet {
	bool on;
	int start_min, end_min; /* minutes after local midnight; start may be > end (overnight) */
};

struct policy_cfg {
	int64_t escalate_after_ms;
	int64_t repeat_ms;
	int64_t retry_for_ms;
	struct policy_quiet quiet;
};

/* "HH:MM-HH:MM" (00:00-23:59, start != end), or "" for none. 0, or -1
 * with why. */
int policy_quiet_parse(const char *text, struct policy_quiet *out, char *why, size_t why_size);
/* Is now_ms inside the quiet period? When it is, *end_ms (may be NULL) is
 * when it ends (the next local end time after now_ms). */
bool policy_quiet_at(const struct policy_quiet *q, int64_t now_ms, int64_t *end_ms);

struct policy_send {
	size_t contact; /* index in the contacts */
	int64_t round;	/* 0: the first telling; n: the n-th repeat */
};
#define POLICY_SENDS_MAX (CONTACTS_MAX)

/* The deliveries alert e should have had by now_ms (at most
 * POLICY_SENDS_MAX, the current round's); *next_ms: when the answer next
 * changes (INT64_MAX: never until the alert changes). Returns how many.
 * An acked alert has none. */
size_t policy_due(const struct policy_cfg *cfg, const struct contacts *cs,
		  const struct proto_active_alert *e, int64_t now_ms, struct policy_send *out,
		  int64_t *next_ms);

/* The wait before retry number attempt (1: after the first failure). */
int64_t policy_backoff_ms(unsigned attempt);

#endif
