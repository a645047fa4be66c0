/*
 * alerts.c — the active alert set (alerts.h). Loop thread only.
 */
#include "alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void alerts_init(struct alerts *s)
{
	memset(s, 0, sizeof(*s));
}

static void remove_at(struct alerts *s, size_t i, int64_t now_ms)
{
	memmove(&s->set.active[i], &s->set.active[i + 1],
		(s->set.n - i - 1) * sizeof(s->set.active[0]));
	s->set.n--;
	s->set.ts_ms = now_ms;
}

struct proto_active_alert *alerts_find(struct alerts *s, const char *key)
{
	for (size_t i = 0; i < s->set.n; i++)
		if (strcmp(s->set.active[i].key, key) == 0)
			return &s->set.active[i];
	return NULL;
}

const char *alerts_recovery_of(const char *code)
{
	if (strcmp(code, PROTO_ALERT_SENSOR_RECOVERED) == 0)
		return PROTO_ALERT_SENSOR_LOST;
	if (strcmp(code, PROTO_ALERT_CAMERA_RECOVERED) == 0)
		return PROTO_ALERT_CAMERA_LOST;
	return NULL;
}

/* The entry to drop from a full set: the oldest acked, else the oldest of
 * the lowest level. */
static size_t victim(const struct alerts *s)
{
	size_t best = 0;

	for (size_t i = 1; i < s->set.n; i++) {
		const struct proto_active_alert *e = &s->set.active[i], *b = &s->set.active[best];
		bool ea = e->acked_by[0] != '\0', ba = b->acked_by[0] != '\0';

		if (ea != ba) {
			if (ea)
				best = i;
			continue;
		}
		if (e->alert.level != b->alert.level) {
			if (e->alert.level < b->alert.level)
				best = i;
			continue;
		}
		if (e->alert.ts_ms < b->alert.ts_ms)
			best = i;
	}
	return best;
}

enum alerts_raise_result alerts_raise(struct alerts *s, const struct proto_alert *a, int64_t now_ms,
				      struct proto_active_alert **out, char *evicted,
				      size_t evicted_size)
{
	const char *lost = alerts_recovery_of(a->code);
	char key[PROTO_ALERT_KEY_MAX];
	struct proto_active_alert *e;

	if (out)
		*out = NULL;
	if (evicted && evicted_size)
		evicted[0] = '\0';
	if (lost) {
		struct proto_alert l = *a;

		snprintf(l.code, sizeof(l.code), "%s", lost);
		if (proto_alert_key(&l, key, sizeof(key)) == 0)
			alerts_clear(s, key, now_ms);
		return ALERTS_FACT;
	}
	if (proto_alert_key(a, key, sizeof(key)) != 0 || !proto_alert_key_valid(key))
		return ALERTS_REFUSED;
	e = alerts_find(s, key);
	if (e) {
		e->alert.level = a->level;
		memcpy(e->alert.message, a->message, sizeof(e->alert.message));
		e->alert.ts_ms = now_ms;
		s->set.ts_ms = now_ms;
		if (out)
			*out = e;
		return ALERTS_UPDATED;
	}
	if (s->set.n == PROTO_ALERTS_MAX) {
		size_t v = victim(s);

		if (evicted && evicted_size)
			snprintf(evicted, evicted_size, "%s", s->set.active[v].key);
		remove_at(s, v, now_ms);
	}
	e = &s->set.active[s->set.n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, sizeof(key));
	e->alert = *a;
	/* Our clock, not the sender's: since and updated drive the policy. */
	e->alert.ts_ms = now_ms;
	e->since_ms = now_ms;
	s->set.ts_ms = now_ms;
	if (out)
		*out = e;
	return ALERTS_NEW;
}

int alerts_ack(struct alerts *s, const char *key, const char *by, int64_t now_ms,
	       const char **reason, const char **by_then)
{
	struct proto_active_alert *e = alerts_find(s, key);

	if (by_then)
		*by_then = NULL;
	if (e == NULL) {
		*reason = PROTO_REASON_UNKNOWN_KEY;
		return -1;
	}
	if (e->acked_by[0] != '\0') {
		*reason = PROTO_REASON_ALREADY_ACKED;
		if (by_then)
			*by_then = e->acked_by;
		return -1;
	}
	snprintf(e->acked_by, sizeof(e->acked_by), "%s", by);
	e->acked_at_ms = now_ms > 0 ? now_ms : 1;
	s->set.ts_ms = now_ms;
	return 0;
}

bool alerts_clear(struct alerts *s, const char *key, int64_t now_ms)
{
	for (size_t i = 0; i < s->set.n; i++)
		if (strcmp(s->set.active[i].key, key) == 0) {
			remove_at(s, i, now_ms);
			return true;
		}
	return false;
}

static size_t clear_fmt(struct alerts *s, int64_t now_ms, const char *source, const char *code,
			const char *subject)
{
	char key[PROTO_ALERT_KEY_MAX];
	int n = snprintf(key, sizeof(key), "%s/%s/%s", source, code, subject);

	if (n < 0 || (size_t)n >= sizeof(key))
		return 0;
	return alerts_clear(s, key, now_ms) ? 1 : 0;
}

size_t alerts_fact_slot_done(struct alerts *s, const char *slot, int64_t now_ms)
{
	return clear_fmt(s, now_ms, "notify", PROTO_ALERT_DOSE_OVERDUE, slot) +
	       clear_fmt(s, now_ms, "feeder", PROTO_ALERT_MISSED_DOSE, slot);
}

size_t alerts_fact_online(struct alerts *s, const char *service, int64_t now_ms)
{
	return clear_fmt(s, now_ms, "notify", PROTO_ALERT_SERVICE_OFFLINE, service);
}

/* When entry e leaves the set by time alone; INT64_MAX: not by time. */
static int64_t expiry_of(const struct proto_active_alert *e)
{
	if (e->acked_by[0] != '\0')
		return e->acked_at_ms + ALERTS_KEEP_MS;
	if (e->alert.level == PROTO_LEVEL_INFO)
		return e->alert.ts_ms + ALERTS_KEEP_MS;
	return INT64_MAX;
}

size_t alerts_expire(struct alerts *s, int64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < s->set.n;) {
		if (expiry_of(&s->set.active[i]) <= now_ms) {
			remove_at(s, i, now_ms);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

int64_t alerts_next_expiry(const struct alerts *s)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < s->set.n; i++) {
		int64_t t = expiry_of(&s->set.active[i]);

		if (t < next)
			next = t;
	}
	return next;
}

int alerts_save(const struct alerts *s, const char *path)
{
	char tmp[4096];
	char *json = proto_alerts_encode(&s->set);
	size_t len, off = 0;
	int fd, err = 0;

	if (json == NULL)
		return -ENOMEM;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		free(json);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		free(json);
		return -errno;
	}
	len = strlen(json);
	while (off < len) {
		ssize_t w = write(fd, json + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += (size_t)w;
	}
	free(json);
	if (err == 0 && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && err == 0)
		err = -errno;
	if (err == 0 && rename(tmp, path) != 0)
		err = -errno;
	if (err != 0)
		unlink(tmp);
	return err;
}

int alerts_load(struct alerts *s, const char *path, char *why, size_t why_size)
{
	const char *reason = NULL;
	struct proto_alerts *set;
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	alerts_init(s);
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(PROTO_ALERTS_MAX_PAYLOAD + 1);
	set = malloc(sizeof(*set));
	if (buf == NULL || set == NULL) {
		fclose(f);
		free(buf);
		free(set);
		snprintf(why, why_size, "%s: out of memory", path);
		return -1;
	}
	n = fread(buf, 1, PROTO_ALERTS_MAX_PAYLOAD + 1, f);
	fclose(f);
	if (proto_alerts_decode(buf, n, set, &reason) != 0) {
		snprintf(why, why_size, "%s: %s", path, reason);
		free(buf);
		free(set);
		return -1;
	}
	s->set = *set;
	free(buf);
	free(set);
	return 0;
}
