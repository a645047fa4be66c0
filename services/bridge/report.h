/*
 * report — the arithmetic of the vet's report (issue 13) behind the bridge's
 * `GET /api/report?days=N` and `GET /api/doses.csv`: rows in (the store's
 * slots, doses and plan changes), a struct report and its JSON out. Pure: no
 * SQLite, no I/O; the clock is an argument, and the local time zone is the
 * process's (TZ, tzset()), read with localtime_r/mktime.
 *
 * Days are LOCAL calendar days (a DST day is 23 or 25 hours long), listed
 * oldest first, the last one being today (the local day holding now_ms). A
 * slot belongs to the day its `at_ms` falls on, a dose to the day of its
 * `ts_ms`, both read in the process's zone.
 *
 * What each day counts (slots of that day by their feeder/schedule status,
 * proto/README.md "iod/<site>/feeder/schedule"):
 *   given      `given`: dosed within 60 s of its time (on time)
 *   late       `late`: dosed later, within the grace
 *   missed     `missed`
 *   failed     `failed`: its dose's servo failed or the flap saw it jammed
 *   uncertain  `uncertain`: its dose's completion was never journaled
 *   served     `skipped` WITH a dose id: a manual dose in the minimum
 *              interval before it served it (the dog had that dose)
 *   skipped    `skipped` without a dose id: skipped by a `skip` command
 *   paused     `paused`: due while the plan was paused
 *   pending    `pending`: not settled yet. Today's pending slots (the ones
 *              still ahead, or within their grace) are NOT counted as missed,
 *              nor as planned; a pending slot of an earlier day (the feeder
 *              was off and never settled it) is counted here too, never
 *              guessed into another column
 *   planned    given + late + missed + failed + uncertain + served: every
 *              settled slot that expected a dose, i.e. not skipped by
 *              command, not paused, not pending
 *   verified   planned slots whose dose (by id, among the doses passed in)
 *              has verified = 1 (the bowl's weight rose)
 *   manual     doses given that day whose source is not "schedule" (extra
 *              doses asked by someone, whether or not they served a slot)
 *
 * Adherence over the last 30 and 90 local days ending today (whatever N is):
 *   taken = given + late + served, fraction = taken / planned, undefined
 *   (JSON null) when planned is 0. A failed or uncertain slot is not taken.
 */
#ifndef IOD_BRIDGE_REPORT_H
#define IOD_BRIDGE_REPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_DAYS_MAX 366

/* The input rows. Strings are borrowed for the call only (and, for plan
 * changes, as long as the struct report built from them lives). */
struct report_slot {
	const char *slot;   /* "YYYY-MM-DDTHH:MM", local (the feeder's name) */
	int64_t at_ms;	    /* the slot's instant */
	const char *status; /* pending|given|late|skipped|paused|missed|failed|uncertain */
	const char *dose;   /* the dose that served it, "" or NULL for none */
};

struct report_dose {
	const char *id;
	int64_t ts_ms;
	const char *by;
	const char *source;  /* "manual", "schedule", … */
	const char *slot;    /* the slot it served, "" or NULL for none */
	const char *outcome; /* "ok", "failed", "uncertain", … */
	int verified;	     /* -1 unknown, 0 no, 1 yes */
};

struct report_plan_change {
	int64_t ts_ms;
	int64_t rev;
	const char *by;
	const char *summary;
};

struct report_input {
	const struct report_slot *slots;
	size_t n_slots;
	const struct report_dose *doses;
	size_t n_doses;
	const struct report_plan_change *changes;
	size_t n_changes;
	int64_t now_ms;
	int days; /* 1..REPORT_DAYS_MAX */
};

struct report_counts {
	int planned, given, late, missed, failed, uncertain, served, skipped, paused, pending;
	int verified, manual;
};

struct report_day {
	char date[11];	  /* "YYYY-MM-DD", local */
	int64_t start_ms; /* the day's first instant (local midnight, or the first
			     instant after it when midnight does not exist) */
	int64_t end_ms;	  /* the next day's start_ms: 23, 24 or 25 hours later */
	struct report_counts c;
};

struct report_adherence {
	int days;	 /* 30 or 90 */
	char from[11];	 /* its first local day, "YYYY-MM-DD" (the last is today) */
	int planned;	 /* summed over those days */
	int taken;	 /* given + late + served, summed */
	bool defined;	 /* planned > 0 */
	double fraction; /* taken / planned when defined, else 0 */
};

struct report {
	int64_t now_ms;
	int n_days;
	struct report_day *day;	     /* n_days of them, oldest first, day[n_days-1] is today */
	struct report_counts totals; /* over the n_days */
	struct report_adherence adherence_30, adherence_90;
	/* The plan changes with day[0].start_ms <= ts_ms < today's end_ms, by
	 * ts_ms then rev, oldest first; pointers into the input's array. */
	const struct report_plan_change **changes;
	size_t n_changes;
};

/* Builds the report of in->days local days ending today. 0, or -EINVAL (bad
 * input: days outside 1..366, a NULL array with a count, a slot whose id is
 * not "YYYY-MM-DDTHH:MM" or whose status is unknown, a dose without an id,
 * a verified outside -1..1, a missing plan change `by`; `why` says which row
 * and what) or -ENOMEM, with *out zeroed. report_free() it after a 0. */
int report_build(const struct report_input *in, struct report *out, char *why, size_t why_len);
void report_free(struct report *r);

/* 0 with *out set, or -EINVAL for a status word not in the list above. */
enum report_status {
	REPORT_PENDING,
	REPORT_GIVEN,
	REPORT_LATE,
	REPORT_SKIPPED,
	REPORT_PAUSED,
	REPORT_MISSED,
	REPORT_FAILED,
	REPORT_UNCERTAIN,
};
int report_status_parse(const char *word, enum report_status *out);

/* The report as the JSON proto/README.md documents ("GET /api/report?days=N
 * (the bridge)"); NULL on out-of-memory. The caller cJSON_Delete()s it. */
cJSON *report_to_json(const struct report *r);

/* The doses as CSV text (RFC 4180: CRLF line ends, a field holding a comma,
 * a double quote, CR or LF quoted with its quotes doubled), a header row
 * first: id,time_local,time_utc,by,source,slot,outcome,verified.
 * time_local is ISO 8601 in the process's zone with its offset
 * ("2026-03-29T03:00:00.000+02:00"), time_utc the same instant in UTC
 * ("…Z"), verified "true", "false" or "" (unknown). Rows in the order given.
 * 0 with *out a NUL-terminated malloc'd text (the caller frees it) and
 * *out_len its length; -EINVAL (a dose without an id, a verified outside
 * -1..1, a time localtime_r cannot convert; `why` says which) or -ENOMEM. */
int report_doses_csv(const struct report_dose *doses, size_t n, char **out, size_t *out_len,
		     char *why, size_t why_len);

#endif
