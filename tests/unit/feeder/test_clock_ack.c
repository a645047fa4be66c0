/* feeder: a dose journaled while the wall clock was far ahead blocks every
 * dose until the clock reaches it. The feeder says so (critical
 * clock_ahead_dose alert, once per episode) and keeps refusing; the
 * operator's clock-ack (feeder_clock_ack, iod-feeder-journal clock-ack)
 * re-dates the dose with an audited clock_ack record: in the same boot to
 * the time the boot clock proves, in another boot to the ack's own time.
 * The record survives compaction and repair. Injected clock, journal in a
 * temp dir, TZ=Europe/Berlin. Issue 9, item 12. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feeder.h"
#include "fixture.h"

#define YEAR   (365 * 24 * H)
#define BOOT_A "3f1c1c2e-0000-4000-8000-00000000000a"
#define BOOT_B "3f1c1c2e-0000-4000-8000-00000000000b"

static char *out_text;
static size_t out_len;

static void setup(void)
{
	fixture_setup("clock-ack");
	cfg.boot_id = BOOT_A;
}

static void teardown(void)
{
	fixture_teardown();
	free(out_text);
	out_text = NULL;
}

TestSuite(clock_ack, .init = setup, .fini = teardown, .timeout = 30);

/* Feed id, its dose done at once (the clocks stay where the test put them). */
static enum proto_result dose(struct feeder *f, const char *id, struct feeder_result *res)
{
	return dose_id(f, id, 0, res);
}

/* feeder_clock_ack(), its output kept in out_text. */
static int clock_ack(void)
{
	free(out_text);
	out_text = NULL;
	FILE *out = open_memstream(&out_text, &out_len);
	cr_assert_not_null(out);
	int rc = feeder_clock_ack(&cfg, &now, "ann", out);
	fclose(out);
	return rc;
}

static int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int64_t next_allowed(struct feeder *f)
{
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	return st.next_allowed_ms;
}

static int64_t dose_ts(struct feeder *f, const char *id)
{
	struct proto_dose log[PROTO_LOG_MAX];
	size_t n = feeder_log(f, log, PROTO_LOG_MAX);
	for (size_t i = 0; i < n; i++)
		if (strcmp(log[i].id, id) == 0)
			return log[i].ts_ms;
	cr_assert_fail("no dose %s in the log", id);
	return 0;
}

/* The repro: a1 dosed at 09:00 under a clock a year ahead (mono 5000 s),
 * then the clock corrected; now is 10:00 the real day, mono + 1 h. */
static const int64_t DOSE_MONO = 5000000;
static void dose_a_year_ahead(void)
{
	int64_t real = now.wall_ms;
	now.wall_ms = real + YEAR;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	feeder_free(f);
	now.wall_ms = real + H;
	now.mono_ms = DOSE_MONO + H;
}

Test(clock_ack, dose_a_year_ahead_raises_a_critical_alert_once_and_stays_refused)
{
	dose_a_year_ahead();
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	const struct proto_alert *a =
	    find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_CRITICAL);
	cr_assert_not_null(a, "no critical clock_ahead_dose alert at start");
	cr_assert(strstr(a->message, "dose a1 dated 2027-11-26 09:00:00 CET") != NULL, "%s",
		  a->message);
	cr_assert(strstr(a->message, "(2026-11-26 10:00:00 CET)") != NULL, "names now: %s",
		  a->message);
	cr_assert(strstr(a->message, "refused until 2027-11-26 15:00:00 CET") != NULL, "%s",
		  a->message);
	cr_assert(strstr(a->message, "iod-feeder-journal clock-ack") != NULL, "%s", a->message);
	/* The boot clock shows the interval passed; the dose is still refused. */
	now.wall_ms += 6 * H;
	now.mono_ms += 6 * H;
	cr_assert_eq(dose(f, "a2", &res), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, "too_soon");
	cr_assert_null(find_alert(&res, "clock_ahead_dose", PROTO_LEVEL_CRITICAL),
		       "once per episode");
	cr_assert_eq(next_allowed(f), now.wall_ms + 6 * H);
	feeder_free(f);
	/* Another start: the alert again (a new process, as journal_damaged). */
	f = start(&startup);
	cr_assert_not_null(find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	feeder_free(f);
}

Test(clock_ack, clock_stepping_back_while_running_is_noticed_at_the_next_command)
{
	int64_t real = now.wall_ms;
	now.wall_ms = real + YEAR;
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert_null(find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	cr_assert_null(find_alert(&res, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	now.wall_ms = real + 4 * MIN; /* corrected by NTP */
	now.mono_ms += 4 * MIN;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_not_null(find_alert(&res, "clock_ahead_dose", PROTO_LEVEL_CRITICAL),
			   "a tick sees it even without a schedule");
	cr_assert_eq(dose(f, "a2", &res), PROTO_RESULT_REJECTED);
	cr_assert_null(find_alert(&res, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	feeder_free(f);
}

Test(clock_ack, a_few_minutes_ahead_is_no_alert)
{
	int64_t real = now.wall_ms;
	now.wall_ms = real + 5 * MIN;
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	feeder_free(f);
	now.wall_ms = real;
	f = start(&startup);
	cr_assert_null(find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	feeder_free(f);
	cr_assert_eq(clock_ack(), 1, "within the tolerance: nothing to acknowledge");
}

Test(clock_ack, same_boot_redates_to_the_time_the_boot_clock_proves)
{
	dose_a_year_ahead();
	cr_assert_eq(clock_ack(), 0, "%s", out_text);
	cr_assert(strstr(out_text, "dose a1 is dated 2027-11-26 09:00:00 CET") != NULL, "%s",
		  out_text);
	cr_assert(strstr(out_text, "re-dated to 2026-11-26 09:00:00 CET") != NULL, "%s", out_text);
	cr_assert(strstr(out_text, "allowed from 2026-11-26 15:00:00 CET") != NULL, "%s", out_text);
	char want[200];
	snprintf(want, sizeof(want),
		 "\"op\":\"clock_ack\",\"id\":\"a1\",\"ts\":%lld,\"by\":\"ann\",\"from\":%lld,"
		 "\"to\":%lld,\"reason\":\"boot_clock\",\"crc\":",
		 (long long)now.wall_ms, (long long)(NOV26_0900 + YEAR), (long long)NOV26_0900);
	cr_assert(strstr(slurp(jpath, NULL), want) != NULL, "%s", slurp(jpath, NULL));

	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert_null(find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	const struct proto_alert *a = find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_INFO);
	cr_assert_not_null(a, "the acknowledgement is announced");
	cr_assert(strstr(a->message, "by ann: dose a1 re-dated from 2027-11-26 09:00:00 CET to "
				     "2026-11-26 09:00:00 CET (boot_clock)") != NULL,
		  "%s", a->message);
	cr_assert_eq(dose_ts(f, "a1"), NOV26_0900);
	cr_assert_eq(next_allowed(f), NOV26_0900 + 6 * H);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.doses_today, 1, "a1 counts today, where it was given");
	now.wall_ms = NOV26_0900 + 6 * H - 1;
	now.mono_ms = DOSE_MONO + 6 * H - 1;
	cr_assert_eq(dose(f, "a2", &res), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, "too_soon");
	now.wall_ms++;
	now.mono_ms++;
	cr_assert_eq(dose(f, "a3", &res), PROTO_RESULT_OK);
	feeder_free(f);
}

Test(clock_ack, other_boot_redates_to_the_ack_time)
{
	dose_a_year_ahead();
	cfg.boot_id = BOOT_B; /* rebooted: the boot clock knows nothing of a1 */
	now.mono_ms = 60000;
	int64_t ack = now.wall_ms;
	cr_assert_eq(clock_ack(), 0, "%s", out_text);
	cr_assert(strstr(out_text, "another boot") != NULL, "%s", out_text);
	cr_assert(strstr(out_text, "allowed from 2026-11-26 16:00:00 CET") != NULL, "%s", out_text);
	char want[300];
	snprintf(want, sizeof(want),
		 "\"op\":\"clock_ack\",\"id\":\"a1\",\"ts\":%lld,\"by\":\"ann\",\"from\":%lld,"
		 "\"to\":%lld,\"reason\":\"ack_time\",\"boot\":\"%s\",\"mono\":60000,\"crc\":",
		 (long long)ack, (long long)(NOV26_0900 + YEAR), (long long)ack, BOOT_B);
	cr_assert(strstr(slurp(jpath, NULL), want) != NULL, "%s", slurp(jpath, NULL));

	struct feeder_result startup, res;
	now.wall_ms += MIN;
	now.mono_ms += MIN;
	struct feeder *f = start(&startup);
	cr_assert_null(find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	cr_assert_eq(dose_ts(f, "a1"), ack);
	cr_assert_eq(next_allowed(f), ack + 6 * H);
	/* The interval runs from the ack on the boot clock too: a wall clock
	 * jumping ahead again does not shorten it. */
	now.wall_ms = ack + 7 * H;
	now.mono_ms = 60000 + 5 * H;
	cr_assert_eq(dose(f, "a2", &res), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, "too_soon");
	now.wall_ms = ack + 6 * H;
	now.mono_ms = 60000 + 6 * H;
	cr_assert_eq(dose(f, "a3", &res), PROTO_RESULT_OK);
	feeder_free(f);
}

Test(clock_ack, twice_is_nothing_to_acknowledge_and_writes_nothing)
{
	dose_a_year_ahead();
	cr_assert_eq(clock_ack(), 0, "%s", out_text);
	char before[1 << 16];
	snprintf(before, sizeof(before), "%s", slurp(jpath, NULL));
	now.wall_ms += MIN;
	now.mono_ms += MIN;
	cr_assert_eq(clock_ack(), 1, "%s", out_text);
	cr_assert(strstr(out_text, "nothing to acknowledge") != NULL, "%s", out_text);
	cr_assert(strstr(out_text, "the latest, a1, is 2026-11-26 09:00:00 CET") != NULL, "%s",
		  out_text);
	cr_assert_str_eq(slurp(jpath, NULL), before);
}

Test(clock_ack, nothing_to_acknowledge)
{
	cr_assert_eq(clock_ack(), 1, "no journal: %s", out_text);
	cr_assert(strstr(out_text, "nothing to acknowledge") != NULL, "%s", out_text);
	cr_assert_eq(access(jpath, F_OK), -1, "no journal is made");
	struct feeder_result res;
	struct feeder *f = start(NULL);
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	feeder_free(f);
	now.wall_ms += H;
	now.mono_ms += H;
	cr_assert_eq(clock_ack(), 1, "%s", out_text);
	cr_assert(strstr(out_text, "no dose is dated after 2026-11-26 10:05:00 CET") != NULL, "%s",
		  out_text);
	cr_assert_eq(count(slurp(jpath, NULL), "clock_ack"), 0);
}

Test(clock_ack, refused_while_the_feeder_runs)
{
	dose_a_year_ahead();
	struct feeder *f = start(NULL);
	cr_assert_eq(clock_ack(), -EWOULDBLOCK, "%s", out_text);
	feeder_free(f);
	cr_assert_eq(count(slurp(jpath, NULL), "clock_ack"), 0);
}

Test(clock_ack, the_alert_fits_with_the_longest_id)
{
	const char *id = "a123456789b123456789c123456789d123456789e123456789f123456789g123";
	cr_assert_eq(strlen(id), 64);
	int64_t real = now.wall_ms;
	now.wall_ms = real + YEAR;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, id, &res), PROTO_RESULT_OK);
	feeder_free(f);
	now.wall_ms = real;
	f = start(&res);
	const struct proto_alert *a = find_alert(&res, "clock_ahead_dose", PROTO_LEVEL_CRITICAL);
	cr_assert_not_null(a);
	cr_assert(strstr(a->message, "run iod-feeder-journal clock-ack") != NULL, "cut: %s",
		  a->message);
	feeder_free(f);
}

Test(clock_ack, the_record_survives_compaction)
{
	dose_a_year_ahead();
	cr_assert_eq(clock_ack(), 0, "%s", out_text);
	cfg.compact_bytes = 1; /* compact at the next start */
	struct feeder *f = start(NULL);
	feeder_free(f);
	const char *text = slurp(jpath, NULL);
	cr_assert(strstr(text, "\"compacted\":true") != NULL, "compacted: %s", text);
	cr_assert_eq(count(text, "\"op\":\"clock_ack\""), 1, "%s", text);
	cr_assert_eq(count(text, "\"op\":\"checkpoint\""), 1, "%s", text);
	char intent[100];
	snprintf(intent, sizeof(intent), "\"op\":\"intent\",\"id\":\"a1\",\"ts\":%lld,",
		 (long long)NOV26_0900);
	cr_assert(strstr(text, intent) != NULL, "the intent carries its new time: %s", text);
	cfg.compact_bytes = 0;
	struct feeder_result startup;
	f = start(&startup);
	for (size_t i = 0; i < startup.n_alerts; i++)
		cr_assert_neq(startup.alerts[i].level, PROTO_LEVEL_CRITICAL, "%s",
			      startup.alerts[i].message);
	cr_assert_eq(dose_ts(f, "a1"), NOV26_0900);
	cr_assert_eq(next_allowed(f), NOV26_0900 + 6 * H);
	feeder_free(f);
}

Test(clock_ack, the_record_survives_repair)
{
	dose_a_year_ahead();
	cr_assert_eq(clock_ack(), 0, "%s", out_text);
	/* A damaged line after it: a torn record at the end. */
	FILE *fp = fopen(jpath, "a");
	cr_assert_not_null(fp);
	fputs("{\"seq\":99,\"op\":\"cmd\",\"id\":\"x", fp);
	fclose(fp);
	free(out_text);
	out_text = NULL;
	FILE *out = open_memstream(&out_text, &out_len);
	cr_assert_eq(feeder_repair_journal(&cfg, &now, true, out), 0);
	fclose(out);
	const char *text = slurp(jpath, NULL);
	cr_assert(strstr(text, "\"op\":\"repair\"") != NULL, "%s", text);
	cr_assert_eq(count(text, "\"op\":\"clock_ack\",\"id\":\"a1\""), 1, "%s", text);
	struct feeder_result startup;
	struct feeder *f = start(&startup);
	cr_assert_null(find_alert(&startup, "clock_ahead_dose", PROTO_LEVEL_CRITICAL));
	cr_assert_null(find_alert(&startup, "journal_damaged", PROTO_LEVEL_CRITICAL));
	cr_assert_eq(dose_ts(f, "a1"), NOV26_0900);
	/* The repair assumed a dose at its own time (the torn line could
	 * have been one): that, not the old a1, holds the interval. */
	cr_assert_eq(next_allowed(f), now.wall_ms + 6 * H);
	feeder_free(f);
	now.wall_ms += MIN;
	cr_assert_eq(clock_ack(), 1, "%s", out_text);
}

Test(clock_ack, a_damaged_journal_is_repaired_first)
{
	dose_a_year_ahead();
	FILE *fp = fopen(jpath, "a");
	cr_assert_not_null(fp);
	fputs("garbage\n", fp);
	fclose(fp);
	cr_assert_eq(clock_ack(), -EUCLEAN, "%s", out_text);
	cr_assert(strstr(out_text, "run iod-feeder-journal repair first") != NULL, "%s", out_text);
	cr_assert_eq(count(slurp(jpath, NULL), "clock_ack"), 0);
}
