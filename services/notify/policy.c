/*
 * policy.c — who is told when (policy.h). Pure.
 */
#include "policy.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int parse_hhmm(const char *s, int *out)
{
	if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
	      s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23)
		return -1;
	*out = h * 60 + m;
	return 0;
}

int policy_quiet_parse(const char *text, struct policy_quiet *out, char *why, size_t why_size)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL || text[0] == '\0')
		return 0;
	if (strlen(text) != 11 || text[5] != '-' || parse_hhmm(text, &out->start_min) != 0 ||
	    parse_hhmm(text + 6, &out->end_min) != 0) {
		snprintf(why, why_size, "'%.32s' is not HH:MM-HH:MM (e.g. 22:00-07:00)", text);
		return -1;
	}
	if (out->start_min == out->end_min) {
		snprintf(why, why_size, "'%s': start and end are the same time", text);
		return -1;
	}
	out->on = true;
	return 0;
}

/* The wall-clock ms of local time minute `min` on the day of tm (DST
 * resolved by mktime). */
static int64_t local_at(const struct tm *day, int min, int add_days)
{
	struct tm t = *day;

	t.tm_mday += add_days;
	t.tm_hour = min / 60;
	t.tm_min = min % 60;
	t.tm_sec = 0;
	t.tm_isdst = -1;
	return (int64_t)mktime(&t) * 1000;
}

bool policy_quiet_at(const struct policy_quiet *q, int64_t now_ms, int64_t *end_ms)
{
	time_t now = (time_t)(now_ms / 1000);
	struct tm tm;
	int min;
	bool in;

	if (!q->on || localtime_r(&now, &tm) == NULL)
		return false;
	min = tm.tm_hour * 60 + tm.tm_min;
	if (q->start_min < q->end_min)
		in = min >= q->start_min && min < q->end_min;
	else
		in = min >= q->start_min || min < q->end_min;
	if (in && end_ms) {
		/* Today's end, or tomorrow's when it is past (an overnight period
		 * entered before midnight). */
		int64_t end = local_at(&tm, q->end_min, 0);

		if (end <= now_ms)
			end = local_at(&tm, q->end_min, 1);
		*end_ms = end;
	}
	return in;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

size_t policy_due(const struct policy_cfg *cfg, const struct contacts *cs,
		  const struct proto_active_alert *e, int64_t now_ms, struct policy_send *out,
		  int64_t *next_ms)
{
	enum proto_level level = e->alert.level;
	int64_t age = now_ms - e->since_ms, round = 0, quiet_end = 0, next = INT64_MAX;
	size_t n = 0, told = 0, eligible = 0;

	*next_ms = INT64_MAX;
	if (e->acked_by[0] != '\0')
		return 0;
	if (age < 0)
		age = 0;
	if (level != PROTO_LEVEL_INFO && cfg->repeat_ms > 0) {
		round = age / cfg->repeat_ms;
		next = e->since_ms + (round + 1) * cfg->repeat_ms;
	}
	if (level != PROTO_LEVEL_CRITICAL && policy_quiet_at(&cfg->quiet, now_ms, &quiet_end)) {
		*next_ms = min64(next, quiet_end);
		return 0;
	}
	for (size_t i = 0; i < cs->n; i++)
		if (contact_wants(&cs->c[i], level))
			eligible++;
	if (level == PROTO_LEVEL_CRITICAL) {
		int64_t stage = cfg->escalate_after_ms > 0 ? age / cfg->escalate_after_ms : 0;

		told = stage + 1 > (int64_t)eligible ? eligible : (size_t)stage + 1;
		if (told < eligible)
			next = min64(next, e->since_ms + (int64_t)told * cfg->escalate_after_ms);
	} else {
		told = eligible;
	}
	for (size_t i = 0; i < cs->n && n < told && n < POLICY_SENDS_MAX; i++) {
		if (!contact_wants(&cs->c[i], level))
			continue;
		out[n].contact = i;
		out[n].round = round;
		n++;
	}
	*next_ms = next;
	return n;
}

int64_t policy_backoff_ms(unsigned attempt)
{
	int64_t d = POLICY_BACKOFF_FIRST_MS;

	for (unsigned i = 1; i < attempt && d < POLICY_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d > POLICY_BACKOFF_MAX_MS ? POLICY_BACKOFF_MAX_MS : d;
}
