/* schedule: parsing, slot instants across midnight and DST (Berlin, Sydney). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedule.h"

static void tz_berlin(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
}

static void tz_sydney(void)
{
	setenv("TZ", "Australia/Sydney", 1);
	tzset();
}

static void tz_utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

Test(schedule, parses_default, .timeout = 5)
{
	struct schedule s;
	const char *err = NULL;
	cr_assert_eq(schedule_parse("07:00,15:00,23:00", &s, &err), 0);
	cr_assert_eq(s.count, 3);
	cr_assert_eq(s.minutes[0], 7 * 60);
	cr_assert_eq(s.minutes[1], 15 * 60);
	cr_assert_eq(s.minutes[2], 23 * 60);
	char buf[64];
	schedule_format(&s, buf, sizeof(buf));
	cr_assert_str_eq(buf, "07:00,15:00,23:00");
}

Test(schedule, none_and_empty_disable, .timeout = 5)
{
	struct schedule s;
	const char *err = NULL;
	cr_assert_eq(schedule_parse("none", &s, &err), 0);
	cr_assert_eq(s.count, 0);
	cr_assert_eq(schedule_parse("", &s, &err), 0);
	cr_assert_eq(s.count, 0);
	cr_assert_eq(schedule_next_after(&s, 1795672800000, NULL, 0), 0);
	char buf[16];
	schedule_format(&s, buf, sizeof(buf));
	cr_assert_str_eq(buf, "none");
}

Test(schedule, rejects_bad_text, .timeout = 5)
{
	const char *bad[] = {
	    "7:00", "07:60", "24:00",  "07:00,07:00", "15:00,07:00",  "07:00;15:00", "07:00,",
	    "0700", "ab:cd", "07:00x", "-1:00",	      "07:00,,15:00", "none,07:00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct schedule s;
		const char *err = NULL;
		cr_assert_eq(schedule_parse(bad[i], &s, &err), -1, "accepted '%s'", bad[i]);
		cr_assert_not_null(err);
	}
}

Test(schedule, spaces_after_commas_are_fine, .timeout = 5)
{
	struct schedule s;
	const char *err = NULL;
	cr_assert_eq(schedule_parse("06:30, 18:45", &s, &err), 0);
	cr_assert_eq(s.count, 2);
	cr_assert_eq(s.minutes[1], 18 * 60 + 45);
}

Test(schedule, next_after_across_midnight, .init = tz_berlin, .timeout = 5)
{
	struct schedule s;
	const char *err;
	cr_assert_eq(schedule_parse("07:00,15:00,23:00", &s, &err), 0);
	char id[SCHEDULE_SLOT_ID_MAX];
	/* 2026-11-26 23:00 Berlin (CET) -> next is 2026-11-27 07:00 */
	int64_t at2300 = 1795730400000;
	int64_t next = schedule_next_after(&s, at2300, id, sizeof(id));
	cr_assert_eq(next, at2300 + 8 * 3600 * 1000LL);
	cr_assert_str_eq(id, "2026-11-27T07:00");
	/* one ms before 23:00 -> 23:00 the same day */
	next = schedule_next_after(&s, at2300 - 1, id, sizeof(id));
	cr_assert_eq(next, at2300);
	cr_assert_str_eq(id, "2026-11-26T23:00");
}

Test(schedule, local_midnight, .init = tz_berlin, .timeout = 5)
{
	/* 2026-11-26 23:00 CET -> 2026-11-27 00:00 CET */
	cr_assert_eq(schedule_next_local_midnight(1795730400000), 1795734000000);
	/* the spring-forward day is 23 h long: 2026-03-29 00:00 -> 03-30 00:00 */
	cr_assert_eq(schedule_next_local_midnight(1774738800000), 1774821600000);
	cr_assert_eq(1774821600000 - 1774738800000, 23 * 3600 * 1000LL);
}

/* The feeder republishes its state at each local midnight (doses_today
 * starts again at 0), re-armed from the last one: the nights around DST days
 * far from UTC, as the ha_midnight test runs them under faketime. */
static void tz_new_york(void)
{
	setenv("TZ", "America/New_York", 1);
	tzset();
}

static void tz_auckland(void)
{
	setenv("TZ", "Pacific/Auckland", 1);
	tzset();
}

Test(schedule, local_midnight_new_york_spring_forward, .init = tz_new_york, .timeout = 5)
{
	/* 2026-03-07 23:59:40 EST -> 03-08 00:00 EST -> 03-09 00:00 EDT (23 h) */
	int64_t first = schedule_next_local_midnight(1772945980000);
	cr_assert_eq(first, 1772946000000);
	cr_assert_eq(schedule_next_local_midnight(first), 1773028800000);
	cr_assert_eq(schedule_next_local_midnight(first - 1), first, "a fire a ms early re-arms");
}

Test(schedule, local_midnight_auckland_fall_back, .init = tz_auckland, .timeout = 5)
{
	/* 2026-04-04 23:59:40 NZDT -> 04-05 00:00 NZDT -> 04-06 00:00 NZST (25 h) */
	int64_t first = schedule_next_local_midnight(1775300380000);
	cr_assert_eq(first, 1775300400000);
	cr_assert_eq(schedule_next_local_midnight(first), 1775390400000);
}

Test(schedule, spring_forward_nonexistent_time_berlin, .init = tz_berlin, .timeout = 5)
{
	/* 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist and
	 * falls on the first valid instant, 03:00 CEST = 01:00 UTC. */
	struct schedule_date d = {2026, 3, 29};
	cr_assert_eq(schedule_local_instant(d, 2 * 60 + 30), 1774746000000);
	cr_assert_eq(schedule_local_instant(d, 3 * 60), 1774746000000);
	/* 01:59 still exists (CET) */
	cr_assert_eq(schedule_local_instant(d, 1 * 60 + 59), 1774746000000 - 60 * 1000LL);
}

Test(schedule, fall_back_repeated_time_first_only_berlin, .init = tz_berlin, .timeout = 5)
{
	/* 2026-10-25: 02:30 happens twice; the slot is the first (CEST, 00:30 UTC). */
	struct schedule s;
	const char *err;
	cr_assert_eq(schedule_parse("02:30", &s, &err), 0);
	struct schedule_date d = {2026, 10, 25};
	int64_t first = 1792888200000;
	cr_assert_eq(schedule_local_instant(d, 150), first);
	/* Exactly one slot that night, even though 02:30 comes round twice. */
	char id[SCHEDULE_SLOT_ID_MAX];
	int64_t next = schedule_next_after(&s, first, id, sizeof(id));
	/* the next one is the following night, 25 h later (the repeat is skipped) */
	cr_assert_eq(next, first + 25 * 3600 * 1000LL);
	cr_assert_str_eq(id, "2026-10-26T02:30");
}

static void count_cb(void *arg, int64_t slot_ms, const char *slot_id)
{
	(void)slot_ms;
	(void)slot_id;
	(*(size_t *)arg)++;
}

Test(schedule, each_between_counts_slots_over_dst_nights, .init = tz_berlin, .timeout = 5)
{
	struct schedule s;
	const char *err;
	cr_assert_eq(schedule_parse("02:30,07:00", &s, &err), 0);
	/* From 2026-10-24 12:00 UTC to 2026-10-26 12:00 UTC: 25th 02:30 (once),
	 * 25th 07:00, 26th 02:30, 26th 07:00. */
	size_t n = 0;
	size_t visited = schedule_each_between(&s, 1792843200000LL, 1793016000000LL, count_cb, &n);
	cr_assert_eq(visited, n);
	cr_assert_eq(n, 4);
}

Test(schedule, sydney_spring_forward_and_back, .init = tz_sydney, .timeout = 5)
{
	/* 2026-10-04 02:00 AEST -> 03:00 AEDT: 02:30 lands on 03:00 AEDT. */
	cr_assert_eq(schedule_local_instant((struct schedule_date){2026, 10, 4}, 150),
		     1791043200000);
	/* 2026-04-05 03:00 AEDT -> 02:00 AEST: 02:30 is its first occurrence. */
	cr_assert_eq(schedule_local_instant((struct schedule_date){2026, 4, 5}, 150),
		     1775316600000);
}

Test(schedule, slot_ids_are_local_dates, .init = tz_sydney, .timeout = 5)
{
	struct schedule s;
	const char *err;
	cr_assert_eq(schedule_parse("07:00", &s, &err), 0);
	char id[SCHEDULE_SLOT_ID_MAX];
	/* 2026-11-26 02:00 UTC is 13:00 AEDT on the 26th: next 07:00 is the 27th. */
	int64_t next = schedule_next_after(&s, 1795658400000, id, sizeof(id));
	cr_assert_str_eq(id, "2026-11-27T07:00");
	/* 07:00 AEDT = 20:00 UTC the day before */
	cr_assert_eq(next, 1795658400000 + 18 * 3600 * 1000LL);
}

Test(schedule, date_arithmetic, .init = tz_utc, .timeout = 5)
{
	struct schedule_date d = schedule_date_add((struct schedule_date){2028, 2, 28}, 1);
	cr_assert_eq(schedule_date_key(d), 20280229);
	d = schedule_date_add(d, 1);
	cr_assert_eq(schedule_date_key(d), 20280301);
	d = schedule_date_add((struct schedule_date){2026, 12, 31}, 1);
	cr_assert_eq(schedule_date_key(d), 20270101);
	d = schedule_date_add((struct schedule_date){2027, 1, 1}, -1);
	cr_assert_eq(schedule_date_key(d), 20261231);
	cr_assert_eq(schedule_date_key(schedule_local_date(0)), 19700101);
}
