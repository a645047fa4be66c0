/*
 * watchdog — alerts nobody else can raise because the one who should is
 * down or hung: dose_overdue (critical, subject = the slot id) when a slot
 * of the retained feeder/schedule is still pending its grace (from the
 * retained feeder/plan) after its time, or the feeder is offline at a
 * slot's time; service_offline (warning, subject = the service) when a
 * service's retained availability has said offline for offline_after.
 *
 * It keeps the last schedule, plan grace and availability it was given
 * and says which alerts are due at a time (each once: the active set
 * dedupes after a restart) and when it next has something to say, so the
 * glue runs one timer to that deadline. Pure: the clock is the caller's
 * now_ms (wall clock, ms), no I/O, not thread-safe.
 */
#ifndef IOD_NOTIFY_WATCHDOG_H
#define IOD_NOTIFY_WATCHDOG_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WATCHDOG_SERVICES_MAX 32
/* The grace until a feeder/plan has been seen: the feeder's own default. */
#define WATCHDOG_GRACE_DEFAULT_MS (60LL * 60 * 1000)

struct watchdog_service {
	char name[32];
	bool online;
	int64_t offline_since_ms; /* when offline was seen */
	bool raised;		  /* service_offline said for this outage */
};

struct watchdog {
	int64_t offline_after_ms;
	char self[32]; /* our own service name: never watched */
	struct proto_schedule sched;
	bool has_sched;
	bool slot_raised[PROTO_SCHEDULE_MAX];
	int64_t grace_ms;
	struct watchdog_service svcs[WATCHDOG_SERVICES_MAX];
	size_t n_svcs;
};

void watchdog_init(struct watchdog *w, int64_t offline_after_ms, const char *self);
/* The retained feeder/schedule (a slot id seen before keeps its mark). */
void watchdog_schedule(struct watchdog *w, const struct proto_schedule *s);
/* The retained feeder/plan's grace. */
void watchdog_grace(struct watchdog *w, int64_t grace_ms);
/* A service's availability ("online" true / "offline" false) seen at now_ms. */
void watchdog_availability(struct watchdog *w, const char *service, bool online, int64_t now_ms);
/* The alerts due at now_ms (source "notify", ts now_ms), at most cap,
 * each marked so it is said once. Returns how many were written. */
size_t watchdog_check(struct watchdog *w, int64_t now_ms, struct proto_alert *out, size_t cap);
/* When watchdog_check next has something to say; INT64_MAX: never (until
 * new input). Never before now_ms unless something is due already. */
int64_t watchdog_next_ms(const struct watchdog *w);

#endif
