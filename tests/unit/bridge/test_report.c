/*
 * The vet's report's arithmetic (services/bridge/report.c): a known month in
 * Europe/Berlin across the spring-forward, the same instants read in
 * Pacific/Auckland, the fall-back, days=1 and days=366, bad input, the JSON
 * and the doses' CSV quoting. Each Criterion test runs in its own process,
 * so the TZ a test sets stays in it.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS (3600 * INT64_C(1000))

static void use_tz(const char *zone)
{
	setenv("TZ", zone, 1);
	tzset();
}

/* A local wall-clock time in the current zone, as ms (a test-data helper;
 * the day boundaries it is checked against are literal epochs below). */
static int64_t local_ms(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_isdst = -1};
	time_t t = mktime(&tm);
	cr_assert_neq(t, (time_t)-1);
	return (int64_t)t * 1000;
}

#define MAX_ROWS 512

struct fixture {
	struct report_slot slots[MAX_ROWS];
	struct report_dose doses[MAX_ROWS];
	char slot_id[MAX_ROWS][40];
	char dose_id[MAX_ROWS][64];
	size_t n_slots, n_doses;
};

static struct fixture fx;

/* What becomes of a slot of the month other than `given`, verified. */
struct exception {
	const char *slot;
	const char *status;
	const char *outcome; /* NULL: the slot has no dose of its own */
	int verified;
};

static const struct exception month_exceptions[] = {
    {"2026-01-05T08:00", "missed", NULL, -1},
    {"2026-03-01T08:00", "missed", NULL, -1},
    {"2026-03-12T20:00", "late", "ok", 0},
    {"2026-03-15T08:00", "missed", NULL, -1},
    {"2026-03-18T08:00", "uncertain", "uncertain", -1},
    {"2026-03-20T20:00", "failed", "failed", 0},
    {"2026-03-22T08:00", "paused", NULL, -1},
    {"2026-03-22T20:00", "paused", NULL, -1},
    {"2026-03-25T08:00", "skipped", NULL, -1},
    {"2026-03-27T20:00", "skipped", NULL, -1}, /* served by evening-0327 */
    {"2026-03-29T20:00", "late", "ok", 1},
    {"2026-03-30T08:00", "given", "ok", -1},
    {"2026-04-02T20:00", "pending", NULL, -1},
    {"2026-04-08T20:00", "pending", NULL, -1},
};

static const struct exception *exception_of(const char *slot)
{
	for (size_t i = 0; i < sizeof(month_exceptions) / sizeof(month_exceptions[0]); i++)
		if (strcmp(month_exceptions[i].slot, slot) == 0)
			return &month_exceptions[i];
	return NULL;
}

static struct report_dose *add_dose(const char *id, int64_t ts_ms, const char *by,
				    const char *source, const char *slot, const char *outcome,
				    int verified)
{
	cr_assert_lt(fx.n_doses, MAX_ROWS);
	size_t i = fx.n_doses++;
	snprintf(fx.dose_id[i], sizeof(fx.dose_id[i]), "%s", id);
	fx.doses[i] = (struct report_dose){.id = fx.dose_id[i],
					   .ts_ms = ts_ms,
					   .by = by,
					   .source = source,
					   .slot = slot,
					   .outcome = outcome,
					   .verified = verified};
	return &fx.doses[i];
}

static void add_slot(int y, int mo, int d, int h, int mi, const char *status, const char *dose)
{
	cr_assert_lt(fx.n_slots, MAX_ROWS);
	size_t i = fx.n_slots++;
	snprintf(fx.slot_id[i], sizeof(fx.slot_id[i]), "%04d-%02d-%02dT%02d:%02d", y, mo, d, h, mi);
	fx.slots[i] = (struct report_slot){.slot = fx.slot_id[i],
					   .at_ms = local_ms(y, mo, d, h, mi),
					   .status = status,
					   .dose = dose};
}

/*
 * Under Europe/Berlin: slots at 08:00 and 20:00 every day from 2026-01-01 to
 * 2026-04-08, `given` (dosed 5 s after, verified) unless month_exceptions
 * says otherwise (a late dose 20 min after), and three manual doses.
 */
static void build_month(void)
{
	use_tz("Europe/Berlin");
	memset(&fx, 0, sizeof(fx));
	for (int k = 0; k < 98; k++) {
		struct tm tm = {
		    .tm_year = 126, .tm_mon = 0, .tm_mday = 1 + k, .tm_hour = 12, .tm_isdst = -1};
		cr_assert_neq(mktime(&tm), (time_t)-1);
		for (int h = 8; h <= 20; h += 12) {
			char id[40];
			snprintf(id, sizeof(id), "%04d-%02d-%02dT%02d:00", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday, h);
			const struct exception *e = exception_of(id);
			const char *status = e ? e->status : "given";
			const char *dose = "";
			add_slot(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, h, 0, status, "");
			struct report_slot *s = &fx.slots[fx.n_slots - 1];
			if (!e || e->outcome) {
				char did[64];
				snprintf(did, sizeof(did), "schedule-%s", id);
				bool late = e && strcmp(e->status, "late") == 0;
				struct report_dose *d =
				    add_dose(did, s->at_ms + (late ? 20 * 60000 : 5000), "schedule",
					     "schedule", s->slot, e ? e->outcome : "ok",
					     e ? e->verified : 1);
				dose = d->id;
			}
			if (strcmp(id, "2026-03-27T20:00") == 0)
				dose = "evening-0327";
			s->dose = dose;
		}
	}
	cr_assert_eq(fx.n_slots, 196);
	add_dose("evening-0327", local_ms(2026, 3, 27, 19, 30), "Dr. Müller, \"vet\"", "manual",
		 "2026-03-27T20:00", "ok", 1);
	add_dose("night-0329", local_ms(2026, 3, 29, 1, 30), "operator", "manual", "", "ok", -1);
	add_dose("ops-0405", local_ms(2026, 4, 5, 14, 0), "ops,team", "manual", "", "ok", 0);
}

static const struct report_plan_change month_changes[] = {
    {.ts_ms = 1775631600000, .rev = 4, .by = "operator", .summary = "19:00 instead of 20:00"},
    {.ts_ms = 1772355600000, .rev = 2, .by = "env", .summary = "seeded"},
    {.ts_ms = 1775736000000, .rev = 5, .by = "operator", .summary = "tomorrow's"},
    {.ts_ms = 1774000800000, .rev = 3, .by = "vet", .summary = "paused for 2026-03-22"},
};

/* 2026-04-08 12:00 CEST */
#define MONTH_NOW_MS INT64_C(1775642400000)

static int build(int days, int64_t now_ms, struct report *r)
{
	struct report_input in = {.slots = fx.slots,
				  .n_slots = fx.n_slots,
				  .doses = fx.doses,
				  .n_doses = fx.n_doses,
				  .changes = month_changes,
				  .n_changes = sizeof(month_changes) / sizeof(month_changes[0]),
				  .now_ms = now_ms,
				  .days = days};
	char why[256] = "";
	int rc = report_build(&in, r, why, sizeof(why));
	cr_assert_eq(rc, 0, "report_build: %d %s", rc, why);
	return rc;
}

struct expect_day {
	const char *date;
	struct report_counts c;
};

static void assert_counts(const char *what, const struct report_counts *got,
			  const struct report_counts *want)
{
#define F(x) cr_expect_eq(got->x, want->x, "%s: " #x " %d, expected %d", what, got->x, want->x)
	F(planned);
	F(given);
	F(late);
	F(missed);
	F(failed);
	F(uncertain);
	F(served);
	F(skipped);
	F(paused);
	F(pending);
	F(verified);
	F(manual);
#undef F
}

/* Every day of r against the table; a day not in it is two slots given
 * and verified. */
static void assert_days(const struct report *r, const struct expect_day *table, size_t n)
{
	for (int i = 0; i < r->n_days; i++) {
		struct report_counts want = {.planned = 2, .given = 2, .verified = 2};
		for (size_t j = 0; j < n; j++)
			if (strcmp(table[j].date, r->day[i].date) == 0)
				want = table[j].c;
		assert_counts(r->day[i].date, &r->day[i].c, &want);
	}
}

static const struct expect_day berlin_days[] = {
    {"2026-03-12", {.planned = 2, .given = 1, .late = 1, .verified = 1}},
    {"2026-03-15", {.planned = 2, .given = 1, .missed = 1, .verified = 1}},
    {"2026-03-18", {.planned = 2, .given = 1, .uncertain = 1, .verified = 1}},
    {"2026-03-20", {.planned = 2, .given = 1, .failed = 1, .verified = 1}},
    {"2026-03-22", {.paused = 2}},
    {"2026-03-25", {.planned = 1, .given = 1, .skipped = 1, .verified = 1}},
    {"2026-03-27", {.planned = 2, .given = 1, .served = 1, .verified = 2, .manual = 1}},
    {"2026-03-29", {.planned = 2, .given = 1, .late = 1, .verified = 2, .manual = 1}},
    {"2026-03-30", {.planned = 2, .given = 2, .verified = 1}},
    {"2026-04-02", {.planned = 1, .given = 1, .pending = 1, .verified = 1}},
    {"2026-04-05", {.planned = 2, .given = 2, .verified = 2, .manual = 1}},
    {"2026-04-08", {.planned = 1, .given = 1, .pending = 1, .verified = 1}},
};

Test(report, berlin_month_across_spring_forward, .timeout = 10)
{
	build_month();
	struct report r;
	build(30, MONTH_NOW_MS, &r);
	cr_assert_eq(r.n_days, 30);
	cr_assert_str_eq(r.day[0].date, "2026-03-10");
	cr_assert_str_eq(r.day[29].date, "2026-04-08");
	cr_assert_eq(r.day[0].start_ms, INT64_C(1773097200000));
	/* 2026-03-29 is 23 hours long: 00:00 CET to 00:00 CEST. */
	cr_assert_str_eq(r.day[19].date, "2026-03-29");
	cr_assert_eq(r.day[19].start_ms, INT64_C(1774738800000));
	cr_assert_eq(r.day[19].end_ms, INT64_C(1774821600000));
	cr_assert_eq(r.day[19].end_ms - r.day[19].start_ms, 23 * HOUR_MS);
	cr_assert_eq(r.day[18].end_ms - r.day[18].start_ms, 24 * HOUR_MS);
	for (int i = 1; i < 30; i++)
		cr_assert_eq(r.day[i].start_ms, r.day[i - 1].end_ms);
	assert_days(&r, berlin_days, sizeof(berlin_days) / sizeof(berlin_days[0]));

	struct report_counts totals = {.planned = 55,
				       .given = 49,
				       .late = 2,
				       .missed = 1,
				       .failed = 1,
				       .uncertain = 1,
				       .served = 1,
				       .skipped = 1,
				       .paused = 2,
				       .pending = 2,
				       .verified = 50,
				       .manual = 3};
	assert_counts("totals", &r.totals, &totals);

	cr_assert_eq(r.adherence_30.days, 30);
	cr_assert_str_eq(r.adherence_30.from, "2026-03-10");
	cr_assert_eq(r.adherence_30.planned, 55);
	cr_assert_eq(r.adherence_30.taken, 52);
	cr_assert(r.adherence_30.defined);
	cr_assert_float_eq(r.adherence_30.fraction, 52.0 / 55.0, 1e-12);
	/* 2026-01-09 .. 2026-04-08: 60 earlier days of 2 slots, one missed on
	 * 2026-03-01; 2026-01-05's miss is outside. */
	cr_assert_str_eq(r.adherence_90.from, "2026-01-09");
	cr_assert_eq(r.adherence_90.planned, 175);
	cr_assert_eq(r.adherence_90.taken, 171);
	cr_assert_float_eq(r.adherence_90.fraction, 171.0 / 175.0, 1e-12);

	/* In range (2026-03-10 .. today), oldest first: rev 3, rev 4. */
	cr_assert_eq(r.n_changes, 2);
	cr_assert_eq(r.changes[0]->rev, 3);
	cr_assert_str_eq(r.changes[0]->by, "vet");
	cr_assert_eq(r.changes[1]->rev, 4);
	report_free(&r);
}

/* The same instants read on Auckland's calendar: a Berlin evening slot is
 * the next Auckland morning, the days follow the zone, and 2026-04-05 (NZ
 * daylight time ends) is 25 hours long. */
static const struct expect_day auckland_days[] = {
    {"2026-03-13", {.planned = 2, .given = 1, .late = 1, .verified = 1}},
    {"2026-03-15", {.planned = 2, .given = 1, .missed = 1, .verified = 1}},
    {"2026-03-18", {.planned = 2, .given = 1, .uncertain = 1, .verified = 1}},
    {"2026-03-21", {.planned = 2, .given = 1, .failed = 1, .verified = 1}},
    {"2026-03-22", {.planned = 1, .given = 1, .paused = 1, .verified = 1}},
    {"2026-03-23", {.planned = 1, .given = 1, .paused = 1, .verified = 1}},
    {"2026-03-25", {.planned = 1, .given = 1, .skipped = 1, .verified = 1}},
    {"2026-03-28", {.planned = 2, .given = 1, .served = 1, .verified = 2, .manual = 1}},
    {"2026-03-29", {.planned = 2, .given = 2, .verified = 2, .manual = 1}},
    {"2026-03-30", {.planned = 2, .given = 1, .late = 1, .verified = 1}},
    {"2026-04-03", {.planned = 1, .given = 1, .pending = 1, .verified = 1}},
    {"2026-04-06", {.planned = 2, .given = 2, .verified = 2, .manual = 1}},
};

Test(report, same_instants_in_auckland, .timeout = 10)
{
	build_month();
	use_tz("Pacific/Auckland");
	struct report r;
	build(30, MONTH_NOW_MS, &r);
	cr_assert_str_eq(r.day[0].date, "2026-03-10");
	cr_assert_str_eq(r.day[29].date, "2026-04-08");
	cr_assert_str_eq(r.day[26].date, "2026-04-05");
	cr_assert_eq(r.day[26].start_ms, INT64_C(1775300400000));
	cr_assert_eq(r.day[26].end_ms, INT64_C(1775390400000));
	cr_assert_eq(r.day[26].end_ms - r.day[26].start_ms, 25 * HOUR_MS);
	assert_days(&r, auckland_days, sizeof(auckland_days) / sizeof(auckland_days[0]));
	/* ops-0405, 2026-04-05 12:00 UTC, is Auckland's 2026-04-06 00:00 sharp. */
	cr_assert_eq(r.day[27].start_ms, local_ms(2026, 4, 6, 0, 0));
	cr_assert_eq(r.day[27].c.manual, 1);
	cr_assert_eq(r.day[26].c.manual, 0);
	struct report_counts totals = {.planned = 56,
				       .given = 50,
				       .late = 2,
				       .missed = 1,
				       .failed = 1,
				       .uncertain = 1,
				       .served = 1,
				       .skipped = 1,
				       .paused = 2,
				       .pending = 1,
				       .verified = 51,
				       .manual = 3};
	assert_counts("totals", &r.totals, &totals);
	cr_assert_eq(r.adherence_30.planned, 56);
	cr_assert_eq(r.adherence_30.taken, 53);
	cr_assert_eq(r.adherence_90.planned, 176);
	cr_assert_eq(r.adherence_90.taken, 172);
	report_free(&r);
}

Test(report, one_day, .timeout = 10)
{
	build_month();
	struct report r;
	build(1, MONTH_NOW_MS, &r);
	cr_assert_eq(r.n_days, 1);
	cr_assert_str_eq(r.day[0].date, "2026-04-08");
	struct report_counts today = {.planned = 1, .given = 1, .pending = 1, .verified = 1};
	assert_counts("today", &r.day[0].c, &today);
	assert_counts("totals", &r.totals, &today);
	/* Adherence still covers 30 and 90 days whatever N is. */
	cr_assert_eq(r.adherence_30.planned, 55);
	cr_assert_eq(r.adherence_90.planned, 175);
	cr_assert_eq(r.n_changes, 1);
	cr_assert_eq(r.changes[0]->rev, 4);
	report_free(&r);
}

Test(report, days_beyond_the_data, .timeout = 10)
{
	build_month();
	struct report r;
	build(366, MONTH_NOW_MS, &r);
	cr_assert_eq(r.n_days, 366);
	cr_assert_str_eq(r.day[0].date, "2025-04-08");
	struct report_counts none = {0};
	assert_counts(r.day[0].date, &r.day[0].c, &none);
	assert_counts("2025-12-31", &r.day[267].c, &none);
	cr_assert_str_eq(r.day[268].date, "2026-01-01");
	/* 196 slots: 2 paused, 1 skipped, 2 pending; 3 missed (01-05, 03-01,
	 * 03-15). */
	struct report_counts totals = {.planned = 191,
				       .given = 183,
				       .late = 2,
				       .missed = 3,
				       .failed = 1,
				       .uncertain = 1,
				       .served = 1,
				       .skipped = 1,
				       .paused = 2,
				       .pending = 2,
				       .verified = 184,
				       .manual = 3};
	assert_counts("totals", &r.totals, &totals);
	cr_assert_eq(r.adherence_90.planned, 175);
	cr_assert_eq(r.n_changes, 3); /* rev 5 is after today */
	cr_assert_eq(r.changes[0]->rev, 2);
	cr_assert_eq(r.changes[2]->rev, 4);
	report_free(&r);
}

Test(report, fall_back_and_spring_edges, .timeout = 10)
{
	use_tz("Europe/Berlin");
	memset(&fx, 0, sizeof(fx));
	for (int d = 20; d <= 27; d++) {
		add_slot(2026, 10, d, 8, 0, "given", "");
		add_slot(2026, 10, d, 20, 0, d == 27 ? "pending" : "given", "");
	}
	/* 23:30 CET on the 25-hour day: 24.5 h after its midnight, still its. */
	add_slot(2026, 10, 25, 23, 30, "missed", "");
	/* 02:30 CET, the second 02:30 of 2026-10-25 (01:30 UTC). */
	add_dose("night", INT64_C(1792891800000), "operator", "manual", "", "ok", -1);
	struct report r;
	build(5, local_ms(2026, 10, 27, 10, 0), &r);
	cr_assert_str_eq(r.day[0].date, "2026-10-23");
	cr_assert_str_eq(r.day[2].date, "2026-10-25");
	cr_assert_eq(r.day[2].start_ms, INT64_C(1792879200000));
	cr_assert_eq(r.day[2].end_ms, INT64_C(1792969200000));
	cr_assert_eq(r.day[2].end_ms - r.day[2].start_ms, 25 * HOUR_MS);
	struct report_counts d25 = {.planned = 3, .given = 2, .missed = 1, .manual = 1};
	assert_counts("2026-10-25", &r.day[2].c, &d25);
	struct report_counts d26 = {.planned = 2, .given = 2};
	assert_counts("2026-10-26", &r.day[3].c, &d26);
	struct report_counts d27 = {.planned = 1, .given = 1, .pending = 1};
	assert_counts("2026-10-27", &r.day[4].c, &d27);
	/* 90 days back reach slots from 2026-10-20 only. */
	cr_assert_eq(r.adherence_90.planned, 7 * 2 + 1 + 1);
	cr_assert_eq(r.adherence_90.taken, 7 * 2 + 1);
	report_free(&r);

	/* 00:30 CEST on 2026-03-30 is 23.5 h after 2026-03-29's midnight: the
	 * 30th's, not the 29th's. */
	memset(&fx, 0, sizeof(fx));
	add_slot(2026, 3, 29, 23, 30, "late", "");
	add_slot(2026, 3, 30, 0, 30, "missed", "");
	build(3, local_ms(2026, 3, 31, 9, 0), &r);
	cr_assert_str_eq(r.day[0].date, "2026-03-29");
	struct report_counts d29 = {.planned = 1, .late = 1};
	assert_counts("2026-03-29", &r.day[0].c, &d29);
	struct report_counts d30 = {.planned = 1, .missed = 1};
	assert_counts("2026-03-30", &r.day[1].c, &d30);
	report_free(&r);
}

static int build_bad(int days, const struct report_slot *slots, size_t n_slots,
		     const struct report_dose *doses, size_t n_doses, char *why, size_t len)
{
	struct report_input in = {.slots = slots,
				  .n_slots = n_slots,
				  .doses = doses,
				  .n_doses = n_doses,
				  .now_ms = MONTH_NOW_MS,
				  .days = days};
	struct report r;
	why[0] = '\0';
	int rc = report_build(&in, &r, why, len);
	cr_assert_null(r.day);
	cr_assert_eq(r.n_days, 0);
	return rc;
}

Test(report, bad_input, .timeout = 10)
{
	use_tz("Europe/Berlin");
	char why[256];
	cr_assert_eq(build_bad(0, NULL, 0, NULL, 0, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why, "days must be 1..366, not 0");
	cr_assert_eq(build_bad(367, NULL, 0, NULL, 0, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why, "days must be 1..366, not 367");
	cr_assert_eq(build_bad(-5, NULL, 0, NULL, 0, why, sizeof(why)), -EINVAL);

	struct report_slot s = {.slot = "2026-04-08T08:00",
				.at_ms = MONTH_NOW_MS - 4 * HOUR_MS,
				.status = "gone",
				.dose = ""};
	cr_assert_eq(build_bad(7, &s, 1, NULL, 0, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "slot 0 (2026-04-08T08:00): unknown status 'gone'"), "%s", why);
	s.status = NULL;
	cr_assert_eq(build_bad(7, &s, 1, NULL, 0, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "unknown status '(null)'"), "%s", why);
	s.status = "Given"; /* case matters, as on the wire */
	cr_assert_eq(build_bad(7, &s, 1, NULL, 0, why, sizeof(why)), -EINVAL);
	s.status = "given";
	s.slot = "2026-04-08 08:00";
	cr_assert_eq(build_bad(7, &s, 1, NULL, 0, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "is not YYYY-MM-DDTHH:MM"), "%s", why);
	s.slot = "2026-13-08T08:00";
	cr_assert_eq(build_bad(7, &s, 1, NULL, 0, why, sizeof(why)), -EINVAL);
	s.slot = "2026-04-08T08:00";
	cr_assert_eq(build_bad(7, NULL, 1, NULL, 0, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why, "a row count without its rows");

	struct report_dose d = {.id = "x", .ts_ms = MONTH_NOW_MS, .verified = 2};
	cr_assert_eq(build_bad(7, &s, 1, &d, 1, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why, "dose 0 (x): verified 2 is not -1, 0 or 1");
	d.verified = 1;
	d.id = "";
	cr_assert_eq(build_bad(7, &s, 1, &d, 1, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why, "dose 0: no id");

	/* Every status word the feeder publishes is known. */
	const char *words[] = {"pending", "given",  "late",   "skipped",
			       "paused",  "missed", "failed", "uncertain"};
	for (size_t i = 0; i < 8; i++) {
		enum report_status st;
		cr_assert_eq(report_status_parse(words[i], &st), 0, "%s", words[i]);
	}
}

Test(report, json, .timeout = 10)
{
	build_month();
	struct report r;
	build(30, MONTH_NOW_MS, &r);
	cJSON *j = report_to_json(&r);
	cr_assert_not_null(j);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	report_free(&r);
	j = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(j);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(j, "ts")->valuedouble, (double)MONTH_NOW_MS);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "from")->valuestring, "2026-03-10");
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "to")->valuestring, "2026-04-08");
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(j, "n_days")->valueint, 30);
	cJSON *days = cJSON_GetObjectItemCaseSensitive(j, "days");
	cr_assert_eq(cJSON_GetArraySize(days), 30);
	cJSON *d29 = cJSON_GetArrayItem(days, 19);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d29, "date")->valuestring, "2026-03-29");
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(d29, "start")->valuedouble, 1774738800000.0);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(d29, "end")->valuedouble, 1774821600000.0);
	const char *fields[] = {"planned", "given",   "late",	"missed",  "failed",   "uncertain",
				"served",  "skipped", "paused", "pending", "verified", "manual"};
	const int want29[] = {2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1};
	for (size_t i = 0; i < 12; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(d29, fields[i]);
		cr_assert(cJSON_IsNumber(v), "%s", fields[i]);
		cr_assert_eq(v->valueint, want29[i], "%s", fields[i]);
	}
	cr_assert_eq(cJSON_GetArraySize(d29), 15); /* date, start, end and the 12 counts */
	cJSON *totals = cJSON_GetObjectItemCaseSensitive(j, "totals");
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(totals, "planned")->valueint, 55);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(totals, "manual")->valueint, 3);
	cJSON *a30 = cJSON_GetObjectItemCaseSensitive(j, "adherence_30");
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(a30, "days")->valueint, 30);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a30, "from")->valuestring, "2026-03-10");
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(a30, "planned")->valueint, 55);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(a30, "taken")->valueint, 52);
	cr_assert_float_eq(cJSON_GetObjectItemCaseSensitive(a30, "fraction")->valuedouble,
			   52.0 / 55.0, 1e-12);
	cJSON *a90 = cJSON_GetObjectItemCaseSensitive(j, "adherence_90");
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(a90, "taken")->valueint, 171);
	cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "plan_changes");
	cr_assert_eq(cJSON_GetArraySize(ch), 2);
	cJSON *c0 = cJSON_GetArrayItem(ch, 0);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(c0, "ts")->valuedouble, 1774000800000.0);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(c0, "rev")->valueint, 3);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c0, "by")->valuestring, "vet");
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c0, "summary")->valuestring,
			 "paused for 2026-03-22");
	cJSON_Delete(j);

	/* Nothing planned: the fraction is null, not 0 or NaN. */
	memset(&fx, 0, sizeof(fx));
	build(7, MONTH_NOW_MS, &r);
	j = report_to_json(&r);
	report_free(&r);
	a30 = cJSON_GetObjectItemCaseSensitive(j, "adherence_30");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a30, "fraction")));
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(a30, "planned")->valueint, 0);
	cJSON_Delete(j);
}

/* A strict RFC 4180 reader for the round trip: fields of one record, or -1
 * on a malformed one. *p moves past the record's CRLF. */
static int csv_record(const char **p, char fields[][128], int max)
{
	int n = 0;
	const char *s = *p;
	for (;;) {
		cr_assert_lt(n, max);
		size_t len = 0;
		if (*s == '"') {
			s++;
			for (;;) {
				if (*s == '\0')
					return -1;
				if (*s == '"' && s[1] == '"') {
					fields[n][len++] = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					fields[n][len++] = *s++;
				}
			}
		} else {
			while (*s && *s != ',' && *s != '\r' && *s != '"')
				fields[n][len++] = *s++;
			if (*s == '"')
				return -1;
		}
		fields[n++][len] = '\0';
		if (*s == ',') {
			s++;
			continue;
		}
		if (s[0] == '\r' && s[1] == '\n') {
			*p = s + 2;
			return n;
		}
		return -1;
	}
}

Test(report, doses_csv, .timeout = 10)
{
	use_tz("Europe/Berlin");
	const char *bys[] = {"Dr. Müller, \"vet\"", "two\r\nlines", "\"", ","};
	struct report_dose d[] = {
	    {"night-0329", INT64_C(1774744200123), bys[0], "manual", "", "ok", 1},
	    {"schedule-2026-03-29T08:00", INT64_C(1774764005000), "schedule", "schedule",
	     "2026-03-29T08:00", "failed", 0},
	    {"a\"b", INT64_C(1774764005000), bys[1], "manual", NULL, "uncertain", -1},
	    {"q", 0, bys[2], "manual", "", "ok", -1},
	    {"c", 0, bys[3], "manual", "", "ok", -1},
	};
	char *csv;
	size_t len;
	char why[128];
	cr_assert_eq(report_doses_csv(d, 5, &csv, &len, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(len, strlen(csv));
	const char *want_head =
	    "id,time_local,time_utc,by,source,slot,outcome,verified\r\n"
	    "night-0329,2026-03-29T01:30:00.123+01:00,2026-03-29T00:30:00.123Z,"
	    "\"Dr. Müller, \"\"vet\"\"\",manual,,ok,true\r\n"
	    "schedule-2026-03-29T08:00,2026-03-29T08:00:05.000+02:00,"
	    "2026-03-29T06:00:05.000Z,schedule,schedule,2026-03-29T08:00,failed,"
	    "false\r\n"
	    "\"a\"\"b\",2026-03-29T08:00:05.000+02:00,2026-03-29T06:00:05.000Z,"
	    "\"two\r\nlines\",manual,,uncertain,\r\n"
	    "q,1970-01-01T01:00:00.000+01:00,1970-01-01T00:00:00.000Z,\"\"\"\","
	    "manual,,ok,\r\n"
	    "c,1970-01-01T01:00:00.000+01:00,1970-01-01T00:00:00.000Z,\",\","
	    "manual,,ok,\r\n";
	cr_assert_str_eq(csv, want_head);

	/* Round trip: every row has 8 fields, `by` and `id` come back as given. */
	char fields[8][128];
	const char *p = csv;
	cr_assert_eq(csv_record(&p, fields, 8), 8);
	cr_assert_str_eq(fields[7], "verified");
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(csv_record(&p, fields, 8), 8, "row %d", i);
		cr_assert_str_eq(fields[0], d[i].id);
		cr_assert_str_eq(fields[3], d[i].by);
		cr_assert_str_eq(fields[6], d[i].outcome);
	}
	cr_assert_eq(*p, '\0');
	free(csv);

	/* A `by` a spreadsheet would run as a formula is defused with a '. */
	const struct report_dose f[] = {
	    {"f1", 0, "=HYPERLINK(\"http://x\")", "manual", "", "ok", -1},
	    {"f2", 0, "+1", "manual", "", "ok", -1},
	    {"f3", 0, "-1", "manual", "", "ok", -1},
	    {"f4", 0, "@SUM(A1)", "manual", "", "ok", -1},
	    {"f5", 0, "ann=vet", "manual", "", "ok", -1},
	};
	cr_assert_eq(report_doses_csv(f, 5, &csv, &len, why, sizeof(why)), 0, "%s", why);
	p = csv;
	cr_assert_eq(csv_record(&p, fields, 8), 8);
	const char *defused[] = {"'=HYPERLINK(\"http://x\")", "'+1", "'-1", "'@SUM(A1)", "ann=vet"};
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(csv_record(&p, fields, 8), 8, "row %d", i);
		cr_assert_str_eq(fields[3], defused[i]);
	}
	free(csv);

	/* Only the header for no doses; a bad row names itself. */
	cr_assert_eq(report_doses_csv(NULL, 0, &csv, &len, why, sizeof(why)), 0);
	cr_assert_str_eq(csv, "id,time_local,time_utc,by,source,slot,outcome,verified\r\n");
	free(csv);
	d[1].verified = 7;
	cr_assert_eq(report_doses_csv(d, 5, &csv, &len, why, sizeof(why)), -EINVAL);
	cr_assert_null(csv);
	cr_assert_str_eq(why, "dose 1 (schedule-2026-03-29T08:00): verified 7 is not -1, 0 or 1");
	d[1].verified = 0;
	d[2].id = NULL;
	cr_assert_eq(report_doses_csv(d, 5, &csv, &len, why, sizeof(why)), -EINVAL);
	cr_assert_str_eq(why, "dose 2: no id");
	cr_assert_eq(report_doses_csv(NULL, 2, &csv, &len, why, sizeof(why)), -EINVAL);
}

/* Havana springs forward at midnight (2026-03-08 00:00 CST is 01:00 CDT):
 * the day starts at its first instant, 01:00, and is 23 hours long. */
Test(report, midnight_that_does_not_exist, .timeout = 10)
{
	use_tz("America/Havana");
	memset(&fx, 0, sizeof(fx));
	add_slot(2026, 3, 8, 8, 0, "given", "");
	struct report r;
	build(4, INT64_C(1773057600000), &r); /* 2026-03-09 08:00 CDT */
	cr_assert_str_eq(r.day[2].date, "2026-03-08");
	cr_assert_eq(r.day[2].start_ms, INT64_C(1772946000000)); /* 05:00 UTC */
	cr_assert_eq(r.day[2].end_ms - r.day[2].start_ms, 23 * HOUR_MS);
	cr_assert_eq(r.day[1].end_ms, r.day[2].start_ms);
	cr_assert_eq(r.day[2].c.given, 1);
	report_free(&r);
}
