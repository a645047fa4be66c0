/*
 * schedule — the feeder's dose schedule in local time ("07:00,15:00,23:00").
 *
 * Slots are local wall-clock times of day. A slot's instant on a given local
 * date is the first instant whose local time is at or after HH:MM on that
 * date, so:
 *   - a time that does not exist (02:30 on a spring-forward night) falls on
 *     the first valid instant after it (03:00 local, the transition itself);
 *   - a time that exists twice (02:30 on a fall-back night) is its first
 *     occurrence only (the DST one); the repeat is not a second slot.
 * Each slot has an identity, "<local date>T<HH:MM>" ("2026-11-26T07:00"),
 * written to the journal so a slot is never dosed twice.
 *
 * Local time is whatever TZ says (tzset() is the caller's business). Pure
 * functions over the C library's localtime_r/mktime; no globals of our own.
 */
#ifndef IOD_FEEDER_SCHEDULE_H
#define IOD_FEEDER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define SCHEDULE_MAX_SLOTS   48
#define SCHEDULE_SLOT_ID_MAX 24 /* "YYYY-MM-DDTHH:MM" + NUL, with room */

struct schedule {
	int minutes[SCHEDULE_MAX_SLOTS]; /* minute of day, increasing; equal only for
					  * slots on different weekdays */
	/* Weekdays of each slot, bit 0 Monday ... bit 6 Sunday; 0 = every day
	 * (what schedule_parse() gives). The care plan (plan.h) fills it. */
	unsigned char days[SCHEDULE_MAX_SLOTS];
	size_t count; /* 0: no schedule ("none") */
};

/* A local calendar date. */
struct schedule_date {
	int year, month, day; /* month 1-12, day 1-31 */
};

/* Parse "HH:MM[,HH:MM...]" (24 h, two digits each, strictly increasing, so
 * sorted and unique) or "none" / "" for no schedule. 0, or -1 with *err set
 * to a static message naming the problem. */
int schedule_parse(const char *text, struct schedule *out, const char **err);

/* Format back ("07:00,15:00" or "none") into buf. */
void schedule_format(const struct schedule *s, char *buf, size_t size);

/* The local date of instant t_ms. */
struct schedule_date schedule_local_date(int64_t t_ms);
/* date plus days (negative allowed), pure calendar arithmetic. */
struct schedule_date schedule_date_add(struct schedule_date d, int days);
/* Comparable key YYYYMMDD. */
int schedule_date_key(struct schedule_date d);
/* Day of the week of d: 0 Monday ... 6 Sunday. */
int schedule_weekday(struct schedule_date d);
/* Does slot i fall on date d (its weekdays)? */
int schedule_slot_on(const struct schedule *s, size_t i, struct schedule_date d);

/* The first instant (ms) whose local time is >= minute_of_day on date d.
 * See the file comment for DST. minute_of_day in 0..1440 (1440 = the next
 * local midnight). */
int64_t schedule_local_instant(struct schedule_date d, int minute_of_day);

/* Start of the local day after the one containing t_ms. */
int64_t schedule_next_local_midnight(int64_t t_ms);

/* "YYYY-MM-DDTHH:MM" for slot index i on date d. */
void schedule_slot_id(const struct schedule *s, struct schedule_date d, size_t i, char *buf,
		      size_t size);

/* The earliest slot instant strictly after t_ms; its id into id_buf (may be
 * NULL). 0 when the schedule is empty. */
int64_t schedule_next_after(const struct schedule *s, int64_t t_ms, char *id_buf, size_t id_size);

/* Call cb for every slot with instant in (from_ms, to_ms], oldest first.
 * Returns how many slots were visited. */
typedef void (*schedule_slot_cb)(void *arg, int64_t slot_ms, const char *slot_id);
size_t schedule_each_between(const struct schedule *s, int64_t from_ms, int64_t to_ms,
			     schedule_slot_cb cb, void *arg);

#endif
