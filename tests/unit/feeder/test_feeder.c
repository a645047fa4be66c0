/* feeder: every safety rule with an injected clock (wall + boot time), the
 * journal in a temp dir, TZ=Europe/Berlin. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "feeder.h"
#include "fixture.h"

#define NOV25_1200 1795604400000LL
#define NOV27_0000 1795734000000LL

static void setup(void)
{
	fixture_setup("feeder");
}

TestSuite(feeder, .init = setup, .fini = fixture_teardown);

/* Send a feed and complete its dose a second later; the final result. */
static enum proto_result dose(struct feeder *f, const char *payload, struct feeder_result *res)
{
	return dose_payload(f, payload, 1000, res);
}

static bool has_alert(const struct feeder_result *res, const char *code, enum proto_level level)
{
	return find_alert(res, code, level) != NULL;
}

Test(feeder, bare_word_feed_doses_and_journals, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	cr_assert(res.state_changed);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.position, PROTO_POSITION_OPEN);
	int64_t dose_ts = now.wall_ms;
	const char *j = slurp(jpath, NULL);
	cr_assert(strstr(j, "\"op\":\"intent\"") != NULL, "intent written before moving: %s", j);
	cr_assert(strstr(j, "\"op\":\"done\"") == NULL);

	advance(1000);
	feeder_dose_done(f, true, NULL, &now, &res);
	cr_assert(res.has_event);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert_str_eq(res.event.action, "feed");
	cr_assert(strncmp(res.event.id, "auto-", 5) == 0, "fresh id: %s", res.event.id);
	feeder_state(f, &now, &st);
	cr_assert_eq(st.position, PROTO_POSITION_HOME);
	cr_assert_eq(st.last_dose_ms, dose_ts);
	cr_assert_eq(st.doses_today, 1);
	cr_assert_eq(st.next_allowed_ms, dose_ts + 6 * H);
	cr_assert_eq(st.next_scheduled_ms, 0);
	struct proto_dose log[PROTO_LOG_MAX];
	cr_assert_eq(feeder_log(f, log, PROTO_LOG_MAX), 1);
	cr_assert_str_eq(log[0].id, res.event.id);
	cr_assert_eq(log[0].source, PROTO_SOURCE_MANUAL);
	char want[128];
	snprintf(want, sizeof(want), "\"op\":\"done\",\"id\":\"%s\"", res.event.id);
	cr_assert(strstr(slurp(jpath, NULL), want) != NULL);
	feeder_free(f);
}

Test(feeder, bare_words_get_distinct_ids, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result a, b;
	send(f, "home", &a);
	feeder_cmd_done(f, true, NULL, &now, &a);
	send(f, " home\n", &b);
	feeder_cmd_done(f, true, NULL, &now, &b);
	cr_assert_eq(a.event.result, PROTO_RESULT_OK);
	cr_assert_eq(b.event.result, PROTO_RESULT_OK);
	cr_assert_str_neq(a.event.id, b.event.id);
	feeder_free(f);
}

Test(feeder, duplicate_gets_first_result_and_doses_nothing, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "{\"action\":\"feed\",\"id\":\"d1\",\"by\":\"ann\"}", &res),
		     PROTO_RESULT_OK);
	send(f, "{\"action\":\"feed\",\"id\":\"d1\"}", &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(res.event.reason, "ok");
	cr_assert_str_eq(res.event.id, "d1");

	/* A refusal is a first result too, even once feeding is allowed again. */
	send(f, "{\"action\":\"feed\",\"id\":\"t1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, "too_soon");
	advance(7 * H);
	send(f, "{\"action\":\"feed\",\"id\":\"t1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(res.event.reason, "rejected:too_soon");
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	feeder_free(f);
}

Test(feeder, duplicate_and_too_soon_survive_restart, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "{\"action\":\"feed\",\"id\":\"d1\"}", &res), PROTO_RESULT_OK);
	send(f, "{\"action\":\"home\",\"id\":\"h1\"}", &res);
	feeder_cmd_done(f, true, NULL, &now, &res);
	int64_t dose_ts = now.wall_ms - 1000;
	feeder_free(f);

	advance(10 * MIN);
	now.mono_ms = 1000; /* a new boot */
	f = start(NULL);
	send(f, "{\"action\":\"feed\",\"id\":\"d1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(res.event.reason, "ok");
	send(f, "{\"action\":\"home\",\"id\":\"h1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	send(f, "{\"action\":\"feed\",\"id\":\"d2\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, "too_soon");
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.last_dose_ms, dose_ts);
	cr_assert_eq(st.next_allowed_ms, dose_ts + 6 * H);
	feeder_free(f);
}

Test(feeder, too_soon_until_the_interval_ends, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	int64_t t0 = now.wall_ms;
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	now.wall_ms = t0 + 6 * H - 1;
	now.mono_ms += 6 * H;
	send(f, "feed", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	now.wall_ms = t0 + 6 * H;
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

Test(feeder, daily_limit_per_local_day, .timeout = 10)
{
	cfg.min_interval_ms = 1 * H;
	cfg.max_daily = 2;
	cfg.bound_min_interval_ms = 1 * H;
	now.wall_ms = NOV26_0700 + 1 * H; /* 08:00 */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	advance(2 * H);
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	advance(2 * H);
	send(f, "{\"action\":\"feed\",\"id\":\"third\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_DAILY_LIMIT);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.doses_today, 2);
	cr_assert_eq(st.next_allowed_ms, NOV27_0000, "next allowed is local midnight");
	/* 23:59:59 still the same day; 00:00 the next one. */
	now.wall_ms = NOV27_0000 - 1000;
	now.mono_ms += 20 * H;
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_DAILY_LIMIT);
	now.wall_ms = NOV27_0000;
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

Test(feeder, boot_clock_holds_interval_when_wall_clock_jumps, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	/* NTP moves the wall clock 7 h ahead after 1 h of real time. */
	now.wall_ms += 7 * H;
	now.mono_ms += 1 * H;
	send(f, "feed", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_allowed_ms, now.wall_ms + 5 * H - 1000);
	/* Set back a day: the last dose is now in the future: too soon too. */
	now.wall_ms -= 31 * H;
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	feeder_free(f);
}

Test(feeder, wall_clock_behind_last_dose_after_restart, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	feeder_free(f);
	now.wall_ms -= 12 * H; /* rebooted without a battery clock */
	now.mono_ms = 100;
	f = start(NULL);
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	feeder_free(f);
}

Test(feeder, expired_and_future_ts, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	char buf[160];
	snprintf(buf, sizeof(buf), "{\"action\":\"feed\",\"id\":\"old\",\"ts\":%lld}",
		 (long long)(now.wall_ms - 120000));
	send(f, buf, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_EXPIRED);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	snprintf(buf, sizeof(buf), "{\"action\":\"feed\",\"id\":\"ahead\",\"ts\":%lld}",
		 (long long)(now.wall_ms + 120000));
	send(f, buf, &res);
	cr_assert_str_eq(res.event.reason, "clock_skew");
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	snprintf(buf, sizeof(buf), "{\"action\":\"feed\",\"id\":\"fresh\",\"ts\":%lld}",
		 (long long)(now.wall_ms - 59000));
	send(f, buf, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

Test(feeder, retained_is_refused_and_deletion_marker_ignored, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	const char *cmd = "{\"action\":\"feed\",\"id\":\"r1\"}";
	cr_assert_eq(feeder_handle_message(f, cmd, strlen(cmd), true, &now, &res), 0);
	cr_assert(res.has_event);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_RETAINED);
	cr_assert_str_eq(res.event.id, "r1");
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(feeder_handle_message(f, "feed", 4, true, &now, &res), 0);
	cr_assert_str_eq(res.event.action, "feed");
	cr_assert_str_eq(res.event.reason, PROTO_REASON_RETAINED);
	cr_assert_eq(feeder_handle_message(f, "", 0, true, &now, &res), 1);
	cr_assert_not(res.has_event);
	/* the retained copy did not consume the id */
	send(f, cmd, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

Test(feeder, undecodable_commands_get_one_rejected_event, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f, "{bad", &res);
	cr_assert(res.has_event);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.id, "");
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BAD_JSON);
	send(f, "{\"action\":\"fly\",\"id\":\"z9\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.id, "z9", "the id is echoed when readable");
	cr_assert(strstr(res.event.reason, "action") != NULL, "reason: %s", res.event.reason);
	send(f, "dance", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_neq(res.event.reason[0], '\0');
	cr_assert_eq(feeder_handle_message(f, "", 0, false, &now, &res), 0);
	cr_assert(res.has_event);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	static char big[20000];
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, "{\"action\":\"feed\"}", 17);
	send(f, big, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_LARGE);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	feeder_free(f);
}

/* A refused command is named by proto_cmd_salvage's rules, the decoders'
 * own: nothing is read from what is not strict JSON (a laxer parse of it
 * would be a second contract), an id given twice is no id, and a bad id
 * does not hide the action. */
Test(feeder, refusals_name_the_command_by_the_decoders_rules, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f, "{\"id\":\"s1\",\"action\":\"feed\",\"ts\":01}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BAD_JSON);
	cr_assert_str_eq(res.event.id, "", "no id from JSON that is not strict");
	cr_assert_str_eq(res.event.action, "unknown");
	send(f, "{\"id\":\"s2\",\"id\":\"s3\",\"action\":\"feed\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.id, "", "an id given twice names nothing");
	cr_assert_str_eq(res.event.action, "feed");
	send(f, "{\"id\":\"bad id\",\"action\":\"home\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.id, "");
	cr_assert_str_eq(res.event.action, "home", "a bad id does not hide the action");
	const char *retained = "{\"id\":\"r1\",\"action\":\"call\"}";
	cr_assert_eq(feeder_handle_message(f, retained, strlen(retained), true, &now, &res), 0);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_RETAINED);
	cr_assert_str_eq(res.event.id, "r1");
	cr_assert_str_eq(res.event.action, "call");
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	feeder_free(f);
}

Test(feeder, home_is_busy_during_a_dose, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	cr_assert(feeder_dose_in_progress(f));
	send(f, "{\"action\":\"home\",\"id\":\"h1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BUSY);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	send(f, "{\"action\":\"feed\",\"id\":\"f2\"}", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	advance(1000);
	feeder_dose_done(f, true, NULL, &now, &res);
	/* busy did not consume h1 */
	send(f, "{\"action\":\"home\",\"id\":\"h1\"}", &res);
	cr_assert_eq(res.action, FEEDER_DO_HOME);
	feeder_cmd_done(f, true, NULL, &now, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	cr_assert_str_eq(res.event.id, "h1");
	feeder_free(f);
}

Test(feeder, failed_call_is_remembered, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f, "{\"action\":\"call\",\"id\":\"c1\"}", &res);
	cr_assert_eq(res.action, FEEDER_DO_CALL);
	feeder_cmd_done(f, false, "no sound card", &now, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_FAILED);
	cr_assert_str_eq(res.event.reason, "no sound card");
	send(f, "{\"action\":\"call\",\"id\":\"c1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(res.event.reason, "failed:no sound card");
	feeder_free(f);
}

Test(feeder, servo_failure_counts_the_dose, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f, "{\"action\":\"feed\",\"id\":\"s1\"}", &res);
	feeder_dose_done(f, false, "servo: EIO", &now, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_FAILED);
	cr_assert(has_alert(&res, "dose_failed", PROTO_LEVEL_CRITICAL));
	cr_assert_str_eq(find_alert(&res, "dose_failed", PROTO_LEVEL_CRITICAL)->subject, "s1",
			 "about the dose");
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	feeder_free(f);
}

Test(feeder, journal_under_a_file_refuses_doses, .timeout = 10)
{
	char file[300];
	snprintf(file, sizeof(file), "%s/file", dir);
	put_file(file, "x");
	snprintf(jpath, sizeof(jpath), "%s/file/journal", dir); /* ENOTDIR, even for root */
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert(has_alert(&startup, PROTO_ALERT_JOURNAL, PROTO_LEVEL_CRITICAL));
	send(f, "{\"action\":\"feed\",\"id\":\"j1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_JOURNAL);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert(has_alert(&res, PROTO_ALERT_JOURNAL, PROTO_LEVEL_CRITICAL));
	/* home is not a dose: it still works */
	send(f, "home", &res);
	cr_assert_eq(res.action, FEEDER_DO_HOME);
	struct feeder_stats stats;
	feeder_get_stats(f, &stats);
	cr_assert_not(stats.journal_ok);
	feeder_free(f);
}

Test(feeder, write_failure_refuses_the_dose_until_it_recovers, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	struct stat st;
	cr_assert_eq(stat(jpath, &st), 0);
	/* A file size limit makes the next write fail (EFBIG), root or not. */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim;
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 10;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	send(f, "{\"action\":\"feed\",\"id\":\"w1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_JOURNAL);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert(has_alert(&res, PROTO_ALERT_JOURNAL, PROTO_LEVEL_CRITICAL));
	cr_assert_eq(stat(jpath, &st), 0);
	cr_assert_eq(st.st_size, (off_t)lim.rlim_cur - 10, "no partial line left behind");
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	send(f, "{\"action\":\"feed\",\"id\":\"w1\"}", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "the refused id was not consumed");
	feeder_free(f);
}

Test(feeder, intent_without_done_is_an_uncertain_dose, .timeout = 10)
{
	int64_t t = now.wall_ms - 2 * H;
	char text[512];
	snprintf(
	    text, sizeof(text),
	    "{\"op\":\"init\",\"ts\":%lld}\n"
	    "{\"op\":\"intent\",\"id\":\"u1\",\"ts\":%lld,\"by\":\"ann\",\"source\":\"manual\"}\n",
	    (long long)(t - 48 * H), (long long)t);
	put_file(jpath, text);
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert(has_alert(&startup, PROTO_ALERT_UNCERTAIN_DOSE, PROTO_LEVEL_WARNING));
	cr_assert(strstr(startup.alerts[0].message, "u1") != NULL, "%s", startup.alerts[0].message);
	cr_assert(strstr(startup.alerts[0].message, "2026-11-26 07:00") != NULL, "%s",
		  startup.alerts[0].message);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.last_dose_ms, t, "counted as given");
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	send(f, "{\"action\":\"feed\",\"id\":\"u1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(res.event.reason, "uncertain");
	feeder_free(f);
	/* said once: the next start is quiet */
	f = start(&startup);
	cr_assert_not(has_alert(&startup, PROTO_ALERT_UNCERTAIN_DOSE, PROTO_LEVEL_WARNING));
	feeder_free(f);
}

Test(feeder, torn_done_line_counts_as_uncertain, .timeout = 10)
{
	int64_t t = now.wall_ms - 1 * H;
	char text[512];
	snprintf(
	    text, sizeof(text),
	    "{\"op\":\"init\",\"ts\":%lld}\n"
	    "{\"op\":\"intent\",\"id\":\"u2\",\"ts\":%lld,\"by\":\"ann\",\"source\":\"manual\"}\n"
	    "{\"op\":\"done\",\"id\":\"u2\",\"ts\":%lld,\"res",
	    (long long)(t - 48 * H), (long long)t, (long long)t + 1000);
	put_file(jpath, text);
	struct feeder_result startup;
	struct feeder *f = start(&startup);
	cr_assert(has_alert(&startup, PROTO_ALERT_UNCERTAIN_DOSE, PROTO_LEVEL_WARNING));
	/* A cut line may be anything, a dose too: damage, and a dose assumed. */
	cr_assert(has_alert(&startup, PROTO_ALERT_JOURNAL_DAMAGED, PROTO_LEVEL_CRITICAL));
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.doses_today, 2, "u2 and the dose assumed now");
	cr_assert_eq(st.next_allowed_ms, now.wall_ms + 6 * H);
	cr_assert(strstr(slurp(jpath, NULL), "\"v\":2") != NULL, "migrated to format 2");
	feeder_free(f);
}

/* ---- schedule --------------------------------------------------------------- */

/* An old-format journal created at since, in a data directory that never
 * had another (no marker): as upgraded from a feeder before format 2. */
static void with_history(int64_t since)
{
	char text[128], mark[400];
	snprintf(text, sizeof(text), "{\"op\":\"init\",\"ts\":%lld}\n", (long long)since);
	put_file(jpath, text);
	snprintf(mark, sizeof(mark), "%s.mark", jpath);
	unlink(mark);
}

Test(feeder, grace_window_catches_up_once, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("07:00,15:00,23:00", &cfg.schedule, &err), 0);
	with_history(NOV26_0700 - 6 * H); /* after yesterday's 23:00 */
	now.wall_ms = NOV26_0700 + 30 * MIN;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	cr_assert_eq(res.n_alerts, 0);
	advance(1000);
	feeder_dose_done(f, true, NULL, &now, &res);
	cr_assert_str_eq(res.event.id, "schedule-2026-11-26T07:00");
	struct proto_dose log[4];
	cr_assert_eq(feeder_log(f, log, 4), 1);
	cr_assert_eq(log[0].source, PROTO_SOURCE_SCHEDULE);
	cr_assert_eq(feeder_next_slot_ms(f, &now), NOV26_0700 + 8 * H);
	feeder_free(f);

	/* Restarted 10 minutes later, still in the grace window: no second dose. */
	advance(10 * MIN);
	now.mono_ms = 1;
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(res.n_alerts, 0);
	feeder_free(f);
}

Test(feeder, missed_beyond_grace_alerts_once, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("07:00", &cfg.schedule, &err), 0);
	with_history(NOV25_1200);
	now.wall_ms = NOV26_0700 + 90 * MIN;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert(has_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING));
	cr_assert(strstr(res.alerts[0].message, "2026-11-26T07:00") != NULL, "%s",
		  res.alerts[0].message);
	feeder_free(f);
	advance(MIN);
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.n_alerts, 0, "the missed slot was settled");
	/* feeding by hand is still possible */
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

Test(feeder, first_install_gives_no_catch_up, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("07:00", &cfg.schedule, &err), 0);
	now.wall_ms = NOV26_0700 + 10 * MIN;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(res.n_alerts, 0);
	/* the next slot is dosed normally when it comes */
	now.wall_ms = NOV26_0700 + 24 * H;
	now.mono_ms += 24 * H;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

Test(feeder, slot_served_by_a_manual_dose_is_skipped, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("07:00", &cfg.schedule, &err), 0);
	with_history(NOV25_1200);
	now.wall_ms = NOV26_0700 - 2 * H;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	now.wall_ms = NOV26_0700;
	now.mono_ms += 2 * H;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING, "never two doses for one slot");
	cr_assert_eq(res.n_alerts, 0);
	cr_assert(strstr(slurp(jpath, NULL), "\"result\":\"skipped\"") != NULL);
	feeder_free(f);
}

Test(feeder, slot_blocked_by_daily_limit_alerts, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("23:00", &cfg.schedule, &err), 0);
	cfg.min_interval_ms = 1 * H;
	cfg.max_daily = 1;
	cfg.bound_min_interval_ms = 1 * H;
	with_history(NOV25_1200);
	now.wall_ms = NOV26_0700 + 8 * H; /* 15:00 */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	now.wall_ms = NOV26_0700 + 16 * H;
	now.mono_ms += 8 * H;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert(has_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING));
	cr_assert(strstr(res.alerts[0].message, "daily_limit") != NULL, "%s",
		  res.alerts[0].message);
	feeder_free(f);
}

Test(feeder, grace_across_midnight, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("23:00", &cfg.schedule, &err), 0);
	cfg.grace_ms = 90 * MIN;
	with_history(NOV25_1200);
	now.wall_ms = NOV27_0000 + 20 * MIN; /* 00:20, slot 23:00 the day before */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_dose_done(f, true, NULL, &now, &res);
	cr_assert_str_eq(res.event.id, "schedule-2026-11-26T23:00");
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.doses_today, 1, "counted on the day it was given");
	feeder_free(f);
}

Test(feeder, slot_in_the_spring_forward_gap, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("02:30", &cfg.schedule, &err), 0);
	with_history(1774695600000LL);	   /* 2026-03-28 12:00 */
	now.wall_ms = 1774746000000LL - 1; /* 01:59:59.999 CET, just before the jump */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(feeder_next_slot_ms(f, &now), 1774746000000LL, "03:00 CEST");
	advance(1);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_dose_done(f, true, NULL, &now, &res);
	cr_assert_str_eq(res.event.id, "schedule-2026-03-29T02:30");
	feeder_free(f);
}

Test(feeder, no_schedule_no_timer, .timeout = 10)
{
	struct feeder *f = start(NULL);
	cr_assert_eq(feeder_next_slot_ms(f, &now), 0);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	feeder_free(f);
}

/* ---- bounds ------------------------------------------------------------------- */

Test(feeder, ids_are_bounded_and_journal_compacts, .timeout = 60)
{
	cfg.id_memory = 1000;
	cfg.compact_bytes = 65536;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "{\"action\":\"feed\",\"id\":\"dose-first\"}", &res), PROTO_RESULT_OK);
	char buf[96];
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "{\"action\":\"home\",\"id\":\"h%d\"}", i);
		send(f, buf, &res);
		cr_assert_eq(res.action, FEEDER_DO_HOME);
		feeder_cmd_done(f, true, NULL, &now, &res);
		advance(1);
	}
	struct feeder_stats st;
	feeder_get_stats(f, &st);
	cr_assert_eq(st.ids_remembered, 1000);
	cr_assert_gt(st.compactions, 0);
	cr_assert_lt(st.compactions, 50, "not after every command");
	/* live content ~1000 lines; rewritten when twice that */
	cr_assert_leq(st.journal_bytes, 2 * 100 * 1000);
	send(f, "{\"action\":\"home\",\"id\":\"h4999\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	send(f, "{\"action\":\"home\",\"id\":\"h4000\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE, "the last 1000 are kept");
	feeder_free(f);
	f = start(NULL);
	send(f, "{\"action\":\"home\",\"id\":\"h4500\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE, "kept across restart");
	send(f, "{\"action\":\"feed\",\"id\":\"dose-first\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE, "dose ids outlive the ring");
	cr_assert_str_eq(res.event.reason, "ok");
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON, "the dose survived compaction");
	feeder_free(f);
}

Test(feeder, log_is_newest_first_and_at_most_50, .timeout = 30)
{
	cfg.min_interval_ms = 1000;
	cfg.max_daily = 1000;
	cfg.bound_min_interval_ms = 1000; /* bounds as loose as the plan */
	cfg.bound_max_daily = 1000;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	char buf[96];
	for (int i = 0; i < 60; i++) {
		snprintf(buf, sizeof(buf), "{\"action\":\"feed\",\"id\":\"d%d\",\"by\":\"ann\"}",
			 i);
		cr_assert_eq(dose(f, buf, &res), PROTO_RESULT_OK, "dose %d", i);
	}
	struct proto_dose log[PROTO_LOG_MAX];
	cr_assert_eq(feeder_log(f, log, PROTO_LOG_MAX), PROTO_LOG_MAX);
	cr_assert_str_eq(log[0].id, "d59");
	cr_assert_str_eq(log[49].id, "d10");
	cr_assert_str_eq(log[0].by, "ann");
	cr_assert_gt(log[0].ts_ms, log[1].ts_ms);
	feeder_free(f);
}

Test(feeder, unreadable_journal_is_not_a_first_install, .timeout = 10)
{
	put_file(jpath, "garbage\nmore garbage\n");
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert(has_alert(&startup, PROTO_ALERT_JOURNAL, PROTO_LEVEL_CRITICAL));
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_JOURNAL);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	feeder_free(f);
}

Test(feeder, damaged_old_format_line_assumes_a_dose, .timeout = 10)
{
	int64_t t = now.wall_ms - 1 * H;
	char text[512];
	snprintf(
	    text, sizeof(text),
	    "{\"op\":\"init\",\"ts\":%lld}\n"
	    "#damaged#\n"
	    "{\"op\":\"intent\",\"id\":\"g1\",\"ts\":%lld,\"by\":\"a\",\"source\":\"manual\"}\n"
	    "{\"op\":\"done\",\"id\":\"g1\",\"ts\":%lld,\"result\":\"ok\"}\n",
	    (long long)(t - 48 * H), (long long)t, (long long)t + 1000);
	put_file(jpath, text);
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert(has_alert(&startup, PROTO_ALERT_JOURNAL_DAMAGED, PROTO_LEVEL_CRITICAL));
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON, "the readable dose still counts");
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_allowed_ms, now.wall_ms + 6 * H, "and one is assumed now");
	feeder_free(f);
}

/* ---- audit: defects found and fixed ------------------------------------------ */

/* Grace is about slots missed while the feeder was down. A slot that comes
 * while it runs is dosed although the timer fires a few ms late, also with
 * IOD_FEEDER_GRACE=0. */
Test(feeder, grace_zero_still_doses_a_slot_that_comes_while_running, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("07:00", &cfg.schedule, &err), 0);
	cfg.grace_ms = 0;
	with_history(NOV25_1200);
	now.wall_ms = NOV26_0700 - 2 * H;
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(res.n_alerts, 0);
	now.wall_ms = NOV26_0700 + 7; /* the timer fired 7 ms late */
	now.mono_ms += 2 * H;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "a slot on time is dosed with grace 0");
	cr_assert_eq(res.n_alerts, 0);
	feeder_free(f);

	/* ...but grace 0 still means no catch-up for a slot missed while down. */
	with_history(NOV25_1200);
	now.wall_ms = NOV26_0700 + 24 * H + 7;
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert(has_alert(&res, PROTO_ALERT_MISSED_DOSE, PROTO_LEVEL_WARNING));
	feeder_free(f);
}

/* docs/design.md "Feeder safety": within one boot the minimum interval is also held
 * on the boot-time clock. A feeder restart (crash, upgrade) is still the same
 * boot: a wall clock that NTP moved ahead must not allow an early dose. */
Test(feeder, boot_clock_interval_survives_a_restart_in_the_same_boot, .timeout = 10)
{
	cfg.boot_id = "3f1c1c2e-0000-4000-8000-000000000001";
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose(f, "feed", &res), PROTO_RESULT_OK);
	feeder_free(f);
	/* 1 h of real time; NTP moved the wall clock 7 h ahead; the feeder restarts. */
	now.wall_ms += 7 * H;
	now.mono_ms += 1 * H;
	f = start(NULL);
	send(f, "feed", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_allowed_ms, now.wall_ms + 5 * H - 1000);
	feeder_free(f);

	/* It survives a compaction too. */
	cfg.compact_bytes = 1;
	f = start(NULL);
	feeder_free(f);
	cfg.compact_bytes = 0;
	f = start(NULL);
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	feeder_free(f);

	/* Another boot: the boot clock restarted, only the wall clock counts. */
	cfg.boot_id = "3f1c1c2e-0000-4000-8000-000000000002";
	now.mono_ms = 100;
	f = start(NULL);
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

/* A wall clock that was wrong ahead for a while and then corrected must not
 * stop the schedule until the wall clock catches up again. */
Test(feeder, schedule_resumes_after_the_wall_clock_is_set_back, .timeout = 10)
{
	const char *err;
	cr_assert_eq(schedule_parse("07:00", &cfg.schedule, &err), 0);
	with_history(NOV25_1200);
	now.wall_ms = NOV26_0700 - 3 * H; /* 04:00 */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	/* A bad time source sets the clock 30 days ahead (12:00 then)... */
	now.wall_ms += 30 * 24 * H + 8 * H;
	now.mono_ms += 10 * MIN;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	/* ...and it is corrected 10 minutes later: 04:20 real time. */
	now.wall_ms = NOV26_0700 - 3 * H + 20 * MIN;
	now.mono_ms += 10 * MIN;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	cr_assert_eq(feeder_next_slot_ms(f, &now), NOV26_0700);
	now.wall_ms = NOV26_0700 + 5;
	now.mono_ms += 3 * H;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "today's 07:00 is dosed");
	feeder_dose_done(f, true, NULL, &now, &res);
	/* set back once more: the slot already dosed is never dosed again */
	now.wall_ms = NOV26_0700 - 1000;
	feeder_schedule_tick(f, &now, &res);
	now.wall_ms = NOV26_0700 + 2000;
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	feeder_free(f);
	/* The reopened slots stay reopened after a restart: tomorrow's 07:00
	 * (settled "missed" while the clock was ahead) is caught up in grace. */
	now.wall_ms = NOV26_0700 + 24 * H + 10 * MIN;
	now.mono_ms += 24 * H;
	f = start(NULL);
	feeder_schedule_tick(f, &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE);
	feeder_free(f);
}

/* Checked and found sound (kept as a regression test): a bare word gets a
 * fresh id and is never answered `duplicate` by an id it collides with (the
 * counter starts again at a restart, and the wall clock may repeat). */
Test(feeder, fresh_id_never_collides_with_a_remembered_one, .timeout = 10)
{
	char text[256];
	snprintf(text, sizeof(text),
		 "{\"op\":\"init\",\"ts\":%lld}\n"
		 "{\"op\":\"cmd\",\"id\":\"auto-%lld-1\",\"ts\":%lld,\"action\":\"feed\","
		 "\"result\":\"rejected\",\"reason\":\"too_soon\"}\n",
		 (long long)NOV25_1200, (long long)now.wall_ms, (long long)now.wall_ms);
	put_file(jpath, text);
	struct feeder *f = start(NULL);
	struct feeder_result res;
	send(f, "feed", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "a new command, not a duplicate (%s)",
		     res.event.reason);
	feeder_free(f);
}
