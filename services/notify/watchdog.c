/*
 * watchdog.c — dose_overdue and service_offline from retained state
 * (watchdog.h). Loop thread only; pure.
 */
#include "watchdog.h"

#include <stdio.h>
#include <string.h>

void watchdog_init(struct watchdog *w, int64_t offline_after_ms, const char *self)
{
	memset(w, 0, sizeof(*w));
	w->offline_after_ms = offline_after_ms;
	w->grace_ms = WATCHDOG_GRACE_DEFAULT_MS;
	snprintf(w->self, sizeof(w->self), "%s", self ? self : "");
}

void watchdog_schedule(struct watchdog *w, const struct proto_schedule *s)
{
	bool marks[PROTO_SCHEDULE_MAX] = {false};

	for (size_t i = 0; i < s->n && i < PROTO_SCHEDULE_MAX; i++)
		for (size_t j = 0; w->has_sched && j < w->sched.n; j++)
			if (w->slot_raised[j] &&
			    strcmp(s->slots[i].slot, w->sched.slots[j].slot) == 0)
				marks[i] = true;
	w->sched = *s;
	if (w->sched.n > PROTO_SCHEDULE_MAX)
		w->sched.n = PROTO_SCHEDULE_MAX;
	memcpy(w->slot_raised, marks, sizeof(marks));
	w->has_sched = true;
}

void watchdog_grace(struct watchdog *w, int64_t grace_ms)
{
	w->grace_ms = grace_ms < 0 ? 0 : grace_ms;
}

static struct watchdog_service *service(struct watchdog *w, const char *name)
{
	for (size_t i = 0; i < w->n_svcs; i++)
		if (strcmp(w->svcs[i].name, name) == 0)
			return &w->svcs[i];
	if (w->n_svcs == WATCHDOG_SERVICES_MAX || strlen(name) >= sizeof(w->svcs[0].name))
		return NULL;
	struct watchdog_service *s = &w->svcs[w->n_svcs++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->online = true;
	return s;
}

void watchdog_availability(struct watchdog *w, const char *name, bool online, int64_t now_ms)
{
	struct watchdog_service *s;

	if (strcmp(name, w->self) == 0 || (s = service(w, name)) == NULL)
		return;
	if (online) {
		s->online = true;
		s->raised = false;
	} else if (s->online) {
		s->online = false;
		s->offline_since_ms = now_ms;
		s->raised = false;
	}
}

static bool feeder_offline(const struct watchdog *w)
{
	for (size_t i = 0; i < w->n_svcs; i++)
		if (strcmp(w->svcs[i].name, "feeder") == 0)
			return !w->svcs[i].online;
	return false;
}

/* When slot i becomes overdue: its time when the feeder is offline, else
 * its time plus the grace. INT64_MAX when it is not pending or was said. */
static int64_t slot_due(const struct watchdog *w, size_t i)
{
	const struct proto_schedule_slot *s = &w->sched.slots[i];

	if (s->status != PROTO_SLOT_PENDING || w->slot_raised[i])
		return INT64_MAX;
	return feeder_offline(w) ? s->at_ms : s->at_ms + w->grace_ms;
}

static int64_t service_due(const struct watchdog *w, const struct watchdog_service *s)
{
	if (s->online || s->raised)
		return INT64_MAX;
	return s->offline_since_ms + w->offline_after_ms;
}

static void fill(struct proto_alert *a, enum proto_level level, const char *code,
		 const char *subject, int64_t now_ms)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->source, sizeof(a->source), "notify");
	snprintf(a->code, sizeof(a->code), "%s", code);
	snprintf(a->subject, sizeof(a->subject), "%s", subject);
	a->level = level;
	a->ts_ms = now_ms;
}

size_t watchdog_check(struct watchdog *w, int64_t now_ms, struct proto_alert *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; w->has_sched && i < w->sched.n && n < cap; i++) {
		const struct proto_schedule_slot *s = &w->sched.slots[i];
		bool offline = feeder_offline(w);

		if (slot_due(w, i) > now_ms)
			continue;
		fill(&out[n], PROTO_LEVEL_CRITICAL, PROTO_ALERT_DOSE_OVERDUE, s->slot, now_ms);
		if (offline)
			snprintf(out[n].message, sizeof(out[n].message),
				 "the %s dose is due and the feeder is offline", s->slot + 11);
		else
			snprintf(out[n].message, sizeof(out[n].message),
				 "the %s dose is still pending %lld min after its time",
				 s->slot + 11, (long long)(w->grace_ms / 60000));
		w->slot_raised[i] = true;
		n++;
	}
	for (size_t i = 0; i < w->n_svcs && n < cap; i++) {
		struct watchdog_service *s = &w->svcs[i];

		if (service_due(w, s) > now_ms)
			continue;
		fill(&out[n], PROTO_LEVEL_WARNING, PROTO_ALERT_SERVICE_OFFLINE, s->name, now_ms);
		snprintf(out[n].message, sizeof(out[n].message),
			 "iod-%s has been offline for %lld s", s->name,
			 (long long)((now_ms - s->offline_since_ms) / 1000));
		s->raised = true;
		n++;
	}
	return n;
}

int64_t watchdog_next_ms(const struct watchdog *w)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; w->has_sched && i < w->sched.n; i++) {
		int64_t t = slot_due(w, i);

		if (t < next)
			next = t;
	}
	for (size_t i = 0; i < w->n_svcs; i++) {
		int64_t t = service_due(w, &w->svcs[i]);

		if (t < next)
			next = t;
	}
	return next;
}
