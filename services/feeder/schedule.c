#include "schedule.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); valid for every year we will ever see. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static struct schedule_date civil_from_days(int64_t z)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const int64_t doe = z - era * 146097;
	const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const int64_t mp = (5 * doy + 2) / 153;
	struct schedule_date r;
	r.day = (int)(doy - (153 * mp + 2) / 5 + 1);
	r.month = (int)(mp < 10 ? mp + 3 : mp - 9);
	r.year = (int)(yoe + era * 400 + (r.month <= 2));
	return r;
}

static bool two_digits(const char *p, int max, int *out)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return false;
	int v = (p[0] - '0') * 10 + (p[1] - '0');
	if (v > max)
		return false;
	*out = v;
	return true;
}

int schedule_parse(const char *text, struct schedule *out, const char **err)
{
	memset(out, 0, sizeof(*out));
	if (!text) {
		*err = "missing";
		return -1;
	}
	while (*text == ' ')
		text++;
	if (*text == '\0' || strcmp(text, "none") == 0)
		return 0;
	const char *p = text;
	for (;;) {
		while (*p == ' ')
			p++;
		int hh, mm;
		if (!two_digits(p, 23, &hh) || p[2] != ':' || !two_digits(p + 3, 59, &mm)) {
			*err = "expected HH:MM[,HH:MM...] (24 h) or 'none'";
			return -1;
		}
		p += 5;
		int minute = hh * 60 + mm;
		if (out->count > 0 && minute <= out->minutes[out->count - 1]) {
			*err = "times must be sorted and unique";
			return -1;
		}
		if (out->count == SCHEDULE_MAX_SLOTS) {
			*err = "too many times (at most 48)";
			return -1;
		}
		out->minutes[out->count++] = minute;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		if (*p != ',') {
			*err = "expected HH:MM[,HH:MM...] (24 h) or 'none'";
			return -1;
		}
		p++;
	}
}

void schedule_format(const struct schedule *s, char *buf, size_t size)
{
	if (size == 0)
		return;
	buf[0] = '\0';
	if (s->count == 0) {
		snprintf(buf, size, "none");
		return;
	}
	size_t used = 0;
	for (size_t i = 0; i < s->count && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%02d:%02d", i ? "," : "",
				 s->minutes[i] / 60, s->minutes[i] % 60);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

struct schedule_date schedule_local_date(int64_t t_ms)
{
	time_t t = (time_t)(t_ms >= 0 ? t_ms / 1000 : (t_ms - 999) / 1000);
	struct tm tm;
	struct schedule_date d = {1970, 1, 1};
	if (localtime_r(&t, &tm)) {
		d.year = tm.tm_year + 1900;
		d.month = tm.tm_mon + 1;
		d.day = tm.tm_mday;
	}
	return d;
}

struct schedule_date schedule_date_add(struct schedule_date d, int days)
{
	return civil_from_days(days_from_civil(d.year, d.month, d.day) + days);
}

int schedule_date_key(struct schedule_date d)
{
	return d.year * 10000 + d.month * 100 + d.day;
}

int schedule_weekday(struct schedule_date d)
{
	/* 1970-01-01 was a Thursday (3 counting from Monday = 0). */
	int64_t w = (days_from_civil(d.year, d.month, d.day) + 3) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

int schedule_slot_on(const struct schedule *s, size_t i, struct schedule_date d)
{
	return s->days[i] == 0 || (s->days[i] >> schedule_weekday(d) & 1);
}

/* Local broken-down time of t as one comparable number YYYYMMDDhhmmss. */
static int64_t local_key(time_t t)
{
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return 0;
	return ((((int64_t)(tm.tm_year + 1900) * 100 + tm.tm_mon + 1) * 100 + tm.tm_mday) * 100 +
		tm.tm_hour) *
		   10000 +
	       tm.tm_min * 100 + tm.tm_sec;
}

/*
 * mktime() alone is ambiguous around DST changes (what it does with
 * tm_isdst = -1 on a repeated hour differs between C libraries), so try
 * both DST flags, keep only results whose local time really is the wanted
 * one, and take the earliest: that is the first occurrence of a repeated
 * time. When no candidate matches, the time does not exist that day: search
 * the first second whose local time is past it (the transition instant).
 */
int64_t schedule_local_instant(struct schedule_date d, int minute_of_day)
{
	if (minute_of_day >= 1440) {
		d = schedule_date_add(d, minute_of_day / 1440);
		minute_of_day %= 1440;
	}
	const int hh = minute_of_day / 60, mm = minute_of_day % 60;
	const int64_t want =
	    (((int64_t)d.year * 100 + d.month) * 100 + d.day) * 1000000 + hh * 10000 + mm * 100;
	bool found = false;
	time_t best = 0, any = 0;

	/* The common case first: mktime() as the zone sees it, and no change of
	 * UTC offset within 12 h either side, so the local time names exactly
	 * one instant. Only near a change are the three readings below needed:
	 * in a zone without summer time, glibc answers tm_isdst 1 by searching
	 * years of rules (~50-120 us a call against ~1 us), which a 48-slot
	 * plan's schedule pays hundreds of times (bench/feeder, UTC). */
	struct tm guess = {0};
	guess.tm_year = d.year - 1900;
	guess.tm_mon = d.month - 1;
	guess.tm_mday = d.day;
	guess.tm_hour = hh;
	guess.tm_min = mm;
	guess.tm_isdst = -1;
	time_t t0 = mktime(&guess);
	if (t0 != (time_t)-1 && local_key(t0) == want) {
		struct tm a, b;
		time_t before = t0 - 12 * 3600, after = t0 + 12 * 3600;
		if (localtime_r(&before, &a) && localtime_r(&after, &b) &&
		    a.tm_gmtoff == guess.tm_gmtoff && b.tm_gmtoff == guess.tm_gmtoff)
			return (int64_t)t0 * 1000;
	}

	const int flags[] = {0, 1, -1};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct tm tm = {0};
		tm.tm_year = d.year - 1900;
		tm.tm_mon = d.month - 1;
		tm.tm_mday = d.day;
		tm.tm_hour = hh;
		tm.tm_min = mm;
		tm.tm_isdst = flags[i];
		time_t t = mktime(&tm);
		if (t == (time_t)-1)
			continue;
		if (flags[i] == -1)
			any = t;
		if (local_key(t) == want && (!found || t < best)) {
			best = t;
			found = true;
		}
	}
	if (found)
		return (int64_t)best * 1000;
	/* Nonexistent local time: local time is monotonic across a spring
	 * forward, so bisect between a point before it and one after it. */
	time_t lo = any - 6 * 3600, hi = any + 6 * 3600;
	if (local_key(lo) >= want)
		return (int64_t)any * 1000;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (local_key(mid) >= want)
			hi = mid;
		else
			lo = mid;
	}
	return (int64_t)hi * 1000;
}

int64_t schedule_next_local_midnight(int64_t t_ms)
{
	return schedule_local_instant(schedule_date_add(schedule_local_date(t_ms), 1), 0);
}

void schedule_slot_id(const struct schedule *s, struct schedule_date d, size_t i, char *buf,
		      size_t size)
{
	int minute = i < s->count ? s->minutes[i] : 0;
	/* The modulos only tell the compiler the text fits; values are in range. */
	snprintf(buf, size, "%04u-%02u-%02uT%02u:%02u", (unsigned)d.year % 10000u,
		 (unsigned)d.month % 100u, (unsigned)d.day % 100u, (unsigned)(minute / 60) % 100u,
		 (unsigned)(minute % 60) % 100u);
}

int64_t schedule_next_after(const struct schedule *s, int64_t t_ms, char *id_buf, size_t id_size)
{
	if (s->count == 0)
		return 0;
	struct schedule_date start = schedule_date_add(schedule_local_date(t_ms), -1);
	int64_t best = 0;
	for (int k = 0; k < 10; k++) { /* a slot of one weekday only: up to a week on */
		struct schedule_date d = schedule_date_add(start, k);
		for (size_t i = 0; i < s->count; i++) {
			if (!schedule_slot_on(s, i, d))
				continue;
			int64_t at = schedule_local_instant(d, s->minutes[i]);
			if (at > t_ms && (best == 0 || at < best)) {
				best = at;
				if (id_buf)
					schedule_slot_id(s, d, i, id_buf, id_size);
			}
		}
		if (best)
			return best;
	}
	return best;
}

size_t schedule_each_between(const struct schedule *s, int64_t from_ms, int64_t to_ms,
			     schedule_slot_cb cb, void *arg)
{
	if (s->count == 0 || to_ms <= from_ms)
		return 0;
	/* Bound the walk: nobody needs more than a month of missed slots. */
	const int64_t month_ms = 31LL * 24 * 3600 * 1000;
	if (to_ms - from_ms > month_ms)
		from_ms = to_ms - month_ms;
	struct schedule_date d = schedule_date_add(schedule_local_date(from_ms), -1);
	const int last = schedule_date_key(schedule_date_add(schedule_local_date(to_ms), 1));
	size_t visited = 0;
	char id[SCHEDULE_SLOT_ID_MAX];
	for (; schedule_date_key(d) <= last; d = schedule_date_add(d, 1)) {
		for (size_t i = 0; i < s->count; i++) {
			if (!schedule_slot_on(s, i, d))
				continue;
			int64_t at = schedule_local_instant(d, s->minutes[i]);
			if (at > from_ms && at <= to_ms) {
				schedule_slot_id(s, d, i, id, sizeof(id));
				cb(arg, at, id);
				visited++;
			}
		}
	}
	return visited;
}
