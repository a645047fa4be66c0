/* iod-notify's pure cores: the active set (alerts.c), the watchdog, the
 * contacts file, the policy (with TZ set for quiet hours and DST). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "contacts.h"
#include "metrics.h"
#include "policy.h"
#include "watchdog.h"

static struct proto_alert mk(const char *source, const char *code, const char *subject,
			     enum proto_level level, const char *msg)
{
	struct proto_alert a;

	memset(&a, 0, sizeof(a));
	snprintf(a.source, sizeof(a.source), "%s", source);
	snprintf(a.code, sizeof(a.code), "%s", code);
	snprintf(a.subject, sizeof(a.subject), "%s", subject);
	snprintf(a.message, sizeof(a.message), "%s", msg);
	a.level = level;
	a.ts_ms = 5;
	return a;
}

/* ---- alerts ---- */

Test(alerts, raise_update_ack_clear, .timeout = 10)
{
	struct alerts s;
	struct proto_active_alert *e;
	struct proto_alert a =
	    mk("feeder", "missed_dose", "2026-12-01T15:00", PROTO_LEVEL_CRITICAL, "missed");
	const char *reason = NULL, *by = NULL;

	alerts_init(&s);
	cr_assert_eq(alerts_raise(&s, &a, 1000, &e, NULL, 0), ALERTS_NEW);
	cr_assert_str_eq(e->key, "feeder/missed_dose/2026-12-01T15:00");
	cr_assert_eq(e->since_ms, 1000);
	snprintf(a.message, sizeof(a.message), "still missed");
	cr_assert_eq(alerts_raise(&s, &a, 2000, &e, NULL, 0), ALERTS_UPDATED);
	cr_assert_eq(s.set.n, 1);
	cr_assert_eq(e->since_ms, 1000, "a repeat keeps since");
	cr_assert_eq(e->alert.ts_ms, 2000);
	cr_assert_str_eq(e->alert.message, "still missed");
	cr_assert_eq(alerts_ack(&s, "feeder/nope", "ann", 3000, &reason, &by), -1);
	cr_assert_str_eq(reason, "unknown_key");
	cr_assert_eq(alerts_ack(&s, e->key, "ann", 3000, &reason, &by), 0);
	cr_assert_eq(alerts_ack(&s, e->key, "bob", 3001, &reason, &by), -1);
	cr_assert_str_eq(reason, "already_acked");
	cr_assert_str_eq(by, "ann");
	cr_assert_str_eq(s.set.active[0].acked_by, "ann");
	cr_assert_eq(s.set.active[0].acked_at_ms, 3000);
	/* The slot's dose logged: the fact clears it. */
	cr_assert_eq(alerts_fact_slot_done(&s, "2026-12-01T16:00", 4000), 0);
	cr_assert_eq(alerts_fact_slot_done(&s, "2026-12-01T15:00", 4000), 1);
	cr_assert_eq(s.set.n, 0);
	cr_assert_eq(s.set.ts_ms, 4000);
	/* Raised again after it cleared: a new occurrence. */
	cr_assert_eq(alerts_raise(&s, &a, 5000, &e, NULL, 0), ALERTS_NEW);
	cr_assert_eq(e->since_ms, 5000);
}

Test(alerts, facts, .timeout = 10)
{
	struct alerts s;
	struct proto_alert off =
	    mk("notify", "service_offline", "camera", PROTO_LEVEL_WARNING, "x");
	struct proto_alert lost = mk("sensors", "sensor_lost", "bowl", PROTO_LEVEL_WARNING, "x");
	struct proto_alert back = mk("sensors", "sensor_recovered", "bowl", PROTO_LEVEL_INFO, "y");
	struct proto_alert other = mk("sensors", "sensor_recovered", "temp", PROTO_LEVEL_INFO, "y");
	struct proto_alert cam = mk("camera", "camera_lost", "", PROTO_LEVEL_WARNING, "x");
	struct proto_alert camback = mk("camera", "camera_recovered", "", PROTO_LEVEL_INFO, "x");

	alerts_init(&s);
	alerts_raise(&s, &off, 1, NULL, NULL, 0);
	alerts_raise(&s, &lost, 1, NULL, NULL, 0);
	alerts_raise(&s, &cam, 1, NULL, NULL, 0);
	cr_assert_eq(s.set.n, 3);
	cr_assert_eq(alerts_fact_online(&s, "feeder", 2), 0);
	cr_assert_eq(alerts_fact_online(&s, "camera", 2), 1);
	cr_assert_eq(alerts_raise(&s, &other, 3, NULL, NULL, 0), ALERTS_FACT);
	cr_assert_eq(s.set.n, 2, "another sensor's recovery clears nothing");
	cr_assert_eq(alerts_raise(&s, &back, 3, NULL, NULL, 0), ALERTS_FACT);
	cr_assert_eq(s.set.n, 1);
	cr_assert_eq(alerts_raise(&s, &camback, 3, NULL, NULL, 0), ALERTS_FACT);
	cr_assert_eq(s.set.n, 0);
}

Test(alerts, expiry, .timeout = 10)
{
	struct alerts s;
	struct proto_alert info = mk("feeder", "clock_unsynced", "", PROTO_LEVEL_INFO, "x");
	struct proto_alert crit = mk("feeder", "dose_failed", "d1", PROTO_LEVEL_CRITICAL, "x");
	const char *reason;

	alerts_init(&s);
	alerts_raise(&s, &info, 1000, NULL, NULL, 0);
	alerts_raise(&s, &crit, 2000, NULL, NULL, 0);
	cr_assert_eq(alerts_next_expiry(&s), 1000 + ALERTS_KEEP_MS);
	cr_assert_eq(alerts_expire(&s, 1000 + ALERTS_KEEP_MS - 1), 0);
	cr_assert_eq(alerts_expire(&s, 1000 + ALERTS_KEEP_MS), 1);
	cr_assert_eq(s.set.n, 1);
	cr_assert_eq(alerts_next_expiry(&s), INT64_MAX, "an unacked critical stays");
	cr_assert_eq(alerts_ack(&s, "feeder/dose_failed/d1", "ann", 9000, &reason, NULL), 0);
	cr_assert_eq(alerts_next_expiry(&s), 9000 + ALERTS_KEEP_MS);
	cr_assert_eq(alerts_expire(&s, 9000 + ALERTS_KEEP_MS), 1);
}

Test(alerts, full_set_evicts_acked_then_lowest, .timeout = 10)
{
	struct alerts s;
	char evicted[PROTO_ALERT_KEY_MAX], subj[16];
	const char *reason;

	alerts_init(&s);
	for (int i = 0; i < PROTO_ALERTS_MAX; i++) {
		snprintf(subj, sizeof(subj), "s%d", i);
		struct proto_alert a = mk("feeder", "dose_failed", subj,
					  i == 3 ? PROTO_LEVEL_INFO : PROTO_LEVEL_CRITICAL, "x");
		cr_assert_eq(alerts_raise(&s, &a, 100 + i, NULL, NULL, 0), ALERTS_NEW);
	}
	cr_assert_eq(alerts_ack(&s, "feeder/dose_failed/s7", "ann", 500, &reason, NULL), 0);
	struct proto_alert a = mk("feeder", "dose_failed", "new1", PROTO_LEVEL_CRITICAL, "x");
	cr_assert_eq(alerts_raise(&s, &a, 600, NULL, evicted, sizeof(evicted)), ALERTS_NEW);
	cr_assert_str_eq(evicted, "feeder/dose_failed/s7");
	a = mk("feeder", "dose_failed", "new2", PROTO_LEVEL_CRITICAL, "x");
	cr_assert_eq(alerts_raise(&s, &a, 601, NULL, evicted, sizeof(evicted)), ALERTS_NEW);
	cr_assert_str_eq(evicted, "feeder/dose_failed/s3");
	cr_assert_eq(s.set.n, PROTO_ALERTS_MAX);
}

Test(alerts, save_and_load, .timeout = 10)
{
	char dir[] = "/tmp/iod-notify-alerts-XXXXXX", path[256], why[256];
	struct alerts s, back;
	struct proto_alert a =
	    mk("feeder", "missed_dose", "2026-12-01T15:00", PROTO_LEVEL_CRITICAL, "missed");
	const char *reason;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/alerts.json", dir);
	cr_assert_eq(alerts_load(&back, path, why, sizeof(why)), 0, "a missing file is empty");
	cr_assert_eq(back.set.n, 0);
	alerts_init(&s);
	alerts_raise(&s, &a, 1000, NULL, NULL, 0);
	alerts_ack(&s, "feeder/missed_dose/2026-12-01T15:00", "ann", 2000, &reason, NULL);
	cr_assert_eq(alerts_save(&s, path), 0);
	cr_assert_eq(alerts_load(&back, path, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(back.set.n, 1);
	cr_assert_str_eq(back.set.active[0].acked_by, "ann");
	cr_assert_eq(back.set.active[0].since_ms, 1000);
	f = fopen(path, "w");
	fputs("{\"active\":[", f);
	fclose(f);
	cr_assert_eq(alerts_load(&back, path, why, sizeof(why)), -1);
	cr_assert(strstr(why, "bad_json"), "%s", why);
	unlink(path);
	rmdir(dir);
}

/* ---- watchdog ---- */

static struct proto_schedule sched1(const char *slot, int64_t at, enum proto_slot_status st)
{
	struct proto_schedule s;

	memset(&s, 0, sizeof(s));
	snprintf(s.date, sizeof(s.date), "2026-12-01");
	snprintf(s.slots[0].slot, sizeof(s.slots[0].slot), "%s", slot);
	s.slots[0].at_ms = at;
	s.slots[0].status = st;
	s.n = 1;
	return s;
}

Test(watchdog, pending_past_grace, .timeout = 10)
{
	struct watchdog w;
	struct proto_alert out[4];
	struct proto_schedule s = sched1("2026-12-01T15:00", 100000, PROTO_SLOT_PENDING);

	watchdog_init(&w, 300000, "notify");
	cr_assert_eq(watchdog_next_ms(&w), INT64_MAX);
	watchdog_schedule(&w, &s);
	watchdog_grace(&w, 60000);
	cr_assert_eq(watchdog_next_ms(&w), 160000);
	cr_assert_eq(watchdog_check(&w, 159999, out, 4), 0);
	cr_assert_eq(watchdog_check(&w, 160000, out, 4), 1);
	cr_assert_str_eq(out[0].code, "dose_overdue");
	cr_assert_str_eq(out[0].subject, "2026-12-01T15:00");
	cr_assert_str_eq(out[0].source, "notify");
	cr_assert_eq(out[0].level, PROTO_LEVEL_CRITICAL);
	cr_assert(strstr(out[0].message, "15:00"), "%s", out[0].message);
	cr_assert_eq(watchdog_check(&w, 170000, out, 4), 0, "said once");
	cr_assert_eq(watchdog_next_ms(&w), INT64_MAX);
	/* The same schedule again (retained, a reconnect) keeps the mark. */
	watchdog_schedule(&w, &s);
	cr_assert_eq(watchdog_check(&w, 170000, out, 4), 0);
	/* Given: nothing due. */
	s = sched1("2026-12-01T23:00", 500000, PROTO_SLOT_GIVEN);
	watchdog_schedule(&w, &s);
	cr_assert_eq(watchdog_next_ms(&w), INT64_MAX);
}

Test(watchdog, feeder_offline_at_slot_time, .timeout = 10)
{
	struct watchdog w;
	struct proto_alert out[4];
	struct proto_schedule s = sched1("2026-12-01T15:00", 100000, PROTO_SLOT_PENDING);

	watchdog_init(&w, 300000, "notify");
	watchdog_schedule(&w, &s);
	watchdog_grace(&w, 3600000);
	watchdog_availability(&w, "feeder", false, 50000);
	cr_assert_eq(watchdog_next_ms(&w), 100000, "the slot's time, no grace");
	cr_assert_eq(watchdog_check(&w, 100000, out, 4), 1);
	cr_assert(strstr(out[0].message, "offline"), "%s", out[0].message);
	cr_assert_eq(watchdog_next_ms(&w), 350000, "service_offline next");
	cr_assert_eq(watchdog_check(&w, 350000, out, 4), 1);
	cr_assert_str_eq(out[0].code, "service_offline");
	cr_assert_str_eq(out[0].subject, "feeder");
	cr_assert_eq(out[0].level, PROTO_LEVEL_WARNING);
	cr_assert_eq(watchdog_check(&w, 999999, out, 4), 0);
}

Test(watchdog, service_offline_and_back, .timeout = 10)
{
	struct watchdog w;
	struct proto_alert out[4];

	watchdog_init(&w, 300000, "notify");
	watchdog_availability(&w, "notify", false, 0);
	cr_assert_eq(watchdog_next_ms(&w), INT64_MAX, "never ourselves");
	watchdog_availability(&w, "camera", false, 1000);
	watchdog_availability(&w, "camera", false, 2000); /* again: the outage's start stays */
	cr_assert_eq(watchdog_next_ms(&w), 301000);
	watchdog_availability(&w, "camera", true, 200000);
	cr_assert_eq(watchdog_next_ms(&w), INT64_MAX, "back before the limit");
	watchdog_availability(&w, "camera", false, 400000);
	cr_assert_eq(watchdog_check(&w, 700000, out, 4), 1);
	cr_assert_str_eq(out[0].subject, "camera");
	cr_assert(strstr(out[0].message, "300 s"), "%s", out[0].message);
}

/* ---- contacts ---- */

static int no_ftp(void *arg, const char *url, char *why, size_t size)
{
	(void)arg;
	if (strncmp(url, "ftp:", 4) == 0) {
		snprintf(why, size, "unknown scheme 'ftp'");
		return -1;
	}
	return 0;
}

Test(contacts, parse, .timeout = 10)
{
	struct contacts cs;
	char why[256] = "";
	const char *text = "# who\n\nann all mailto://a@x ntfy://ntfy.sh/a  # first\n"
			   "  bob\tcritical,warning json://h/x\n";

	cr_assert_eq(contacts_parse(&cs, text, "c.txt", no_ftp, NULL, why, sizeof(why)), 0, "%s",
		     why);
	cr_assert_eq(cs.n, 2);
	cr_assert_str_eq(cs.c[0].name, "ann");
	cr_assert_eq(cs.c[0].n_urls, 2);
	cr_assert_str_eq(cs.c[0].urls[1], "ntfy://ntfy.sh/a");
	cr_assert(contact_wants(&cs.c[0], PROTO_LEVEL_INFO));
	cr_assert_not(contact_wants(&cs.c[1], PROTO_LEVEL_INFO));
	cr_assert(contact_wants(&cs.c[1], PROTO_LEVEL_WARNING));
	cr_assert_eq(contacts_find(&cs, "bob"), &cs.c[1]);
	cr_assert_null(contacts_find(&cs, "zed"));
}

static void bad(const char *text, const char *want)
{
	struct contacts cs;
	char why[256] = "";

	cr_assert_eq(contacts_parse(&cs, text, "c.txt", no_ftp, NULL, why, sizeof(why)), -1,
		     "accepted %s", text);
	cr_assert_str_eq(why, want, "text %s", text);
}

Test(contacts, refusals_name_the_line, .timeout = 10)
{
	bad("ann all\n", "c.txt:1: expected 'name levels url [url...]'");
	bad("# x\nann all ftp://x\n", "c.txt:2: unknown scheme 'ftp'");
	bad("ann loud mailto://a@x\n",
	    "c.txt:1: levels 'loud' must be a comma list of info, warning, critical, or all");
	bad("ann info, mailto://a@x\n",
	    "c.txt:1: levels 'info,' must be a comma list of info, warning, critical, or all");
	bad("a/b all mailto://a@x\n", "c.txt:1: contact name 'a/b' must be 1-63 of [A-Za-z0-9._-]");
	bad("ann all mailto://a@x\n\nann info mailto://b@x\n",
	    "c.txt:3: contact 'ann' is listed twice");
}

/* ---- policy ---- */

static struct contacts three(void)
{
	struct contacts cs;
	char why[128];

	cr_assert_eq(contacts_parse(&cs,
				    "ann all mailto://a@x\n"
				    "bob warning,critical mailto://b@x\n"
				    "cy critical mailto://c@x\n",
				    "c", NULL, NULL, why, sizeof(why)),
		     0);
	return cs;
}

static struct proto_active_alert active(enum proto_level level, int64_t since)
{
	struct proto_active_alert e;

	memset(&e, 0, sizeof(e));
	e.alert = mk("feeder", "x", "", level, "m");
	snprintf(e.key, sizeof(e.key), "feeder/x");
	e.since_ms = since;
	return e;
}

static const struct policy_cfg PCFG = {
    .escalate_after_ms = 15 * 60000, .repeat_ms = 60 * 60000, .retry_for_ms = 86400000};

Test(policy, levels_escalation_repeat_ack, .timeout = 10)
{
	struct contacts cs = three();
	struct policy_send out[POLICY_SENDS_MAX];
	struct proto_active_alert e = active(PROTO_LEVEL_CRITICAL, 1000000);
	int64_t next;

	cr_assert_eq(policy_due(&PCFG, &cs, &e, 1000000, out, &next), 1, "critical: the first");
	cr_assert_eq(out[0].contact, 0);
	cr_assert_eq(out[0].round, 0);
	cr_assert_eq(next, 1000000 + 15 * 60000);
	cr_assert_eq(policy_due(&PCFG, &cs, &e, 1000000 + 15 * 60000, out, &next), 2);
	cr_assert_eq(out[1].contact, 1);
	cr_assert_eq(policy_due(&PCFG, &cs, &e, 1000000 + 30 * 60000, out, &next), 3);
	cr_assert_eq(next, 1000000 + 60 * 60000, "then the first repeat");
	cr_assert_eq(policy_due(&PCFG, &cs, &e, 1000000 + 61 * 60000, out, &next), 3);
	cr_assert_eq(out[0].round, 1);
	cr_assert_eq(next, 1000000 + 120 * 60000);
	snprintf(e.acked_by, sizeof(e.acked_by), "ann");
	e.acked_at_ms = 1000000 + 62 * 60000;
	cr_assert_eq(policy_due(&PCFG, &cs, &e, 1000000 + 130 * 60000, out, &next), 0);
	cr_assert_eq(next, INT64_MAX, "acked: nothing more");

	e = active(PROTO_LEVEL_INFO, 0);
	cr_assert_eq(policy_due(&PCFG, &cs, &e, 999999999, out, &next), 1, "info: ann only");
	cr_assert_eq(out[0].round, 0, "info never repeats");
	cr_assert_eq(next, INT64_MAX);
	e = active(PROTO_LEVEL_WARNING, 0);
	cr_assert_eq(policy_due(&PCFG, &cs, &e, 0, out, &next), 2, "warning: ann and bob");
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Local wall-clock ms of y-m-d h:m in the current TZ. */
static int64_t local_ms(int y, int mo, int d, int h, int mi)
{
	struct tm t = {.tm_year = y - 1900,
		       .tm_mon = mo - 1,
		       .tm_mday = d,
		       .tm_hour = h,
		       .tm_min = mi,
		       .tm_isdst = -1};
	return (int64_t)mktime(&t) * 1000;
}

Test(policy, quiet_hours_across_midnight, .timeout = 10)
{
	struct policy_cfg cfg = PCFG;
	struct contacts cs = three();
	struct policy_send out[POLICY_SENDS_MAX];
	struct proto_active_alert e;
	char why[128];
	int64_t next, end;

	set_tz("Europe/Berlin");
	cr_assert_eq(policy_quiet_parse("22:00-07:00", &cfg.quiet, why, sizeof(why)), 0);
	cr_assert_not(policy_quiet_at(&cfg.quiet, local_ms(2026, 12, 1, 21, 59), NULL));
	cr_assert(policy_quiet_at(&cfg.quiet, local_ms(2026, 12, 1, 23, 30), &end));
	cr_assert_eq(end, local_ms(2026, 12, 2, 7, 0), "tonight's quiet ends tomorrow");
	cr_assert(policy_quiet_at(&cfg.quiet, local_ms(2026, 12, 2, 3, 0), &end));
	cr_assert_eq(end, local_ms(2026, 12, 2, 7, 0));
	cr_assert_not(policy_quiet_at(&cfg.quiet, local_ms(2026, 12, 2, 7, 0), NULL));

	e = active(PROTO_LEVEL_WARNING, local_ms(2026, 12, 1, 23, 30));
	cr_assert_eq(policy_due(&cfg, &cs, &e, e.since_ms, out, &next), 0, "a warning is held");
	cr_assert_eq(next, e.since_ms + 60 * 60000, "re-asked at the repeat round or the end");
	e = active(PROTO_LEVEL_CRITICAL, local_ms(2026, 12, 1, 23, 30));
	cr_assert_eq(policy_due(&cfg, &cs, &e, e.since_ms, out, &next), 1, "critical never waits");
	/* A warning raised at 06:30 is told at 07:00, round 0. */
	e = active(PROTO_LEVEL_WARNING, local_ms(2026, 12, 2, 6, 30));
	cr_assert_eq(policy_due(&cfg, &cs, &e, e.since_ms, out, &next), 0);
	cr_assert_eq(next, local_ms(2026, 12, 2, 7, 0));
	cr_assert_eq(policy_due(&cfg, &cs, &e, next, out, &next), 2);
	cr_assert_eq(out[0].round, 0);
}

Test(policy, quiet_hours_over_dst_change, .timeout = 10)
{
	struct policy_quiet q;
	char why[128];
	int64_t end;

	set_tz("Europe/Berlin");
	/* 2026-03-29: clocks go from 02:00 to 03:00; the night is an hour short. */
	cr_assert_eq(policy_quiet_parse("22:00-07:00", &q, why, sizeof(why)), 0);
	cr_assert(policy_quiet_at(&q, local_ms(2026, 3, 28, 23, 0), &end));
	cr_assert_eq(end, local_ms(2026, 3, 29, 7, 0));
	cr_assert_eq(end - local_ms(2026, 3, 28, 23, 0), 7LL * 3600 * 1000,
		     "8 h on the clock, 7 real");
	/* 2026-10-25: 03:00 back to 02:00; the night is an hour long. */
	cr_assert(policy_quiet_at(&q, local_ms(2026, 10, 24, 23, 0), &end));
	cr_assert_eq(end - local_ms(2026, 10, 24, 23, 0), 9LL * 3600 * 1000);
	/* A period inside one day, and a bad setting. */
	cr_assert_eq(policy_quiet_parse("12:00-13:30", &q, why, sizeof(why)), 0);
	cr_assert(policy_quiet_at(&q, local_ms(2026, 10, 25, 13, 29), &end));
	cr_assert_not(policy_quiet_at(&q, local_ms(2026, 10, 25, 13, 30), NULL));
	cr_assert_eq(policy_quiet_parse("22:00", &q, why, sizeof(why)), -1);
	cr_assert_str_eq(why, "'22:00' is not HH:MM-HH:MM (e.g. 22:00-07:00)");
	cr_assert_eq(policy_quiet_parse("24:00-07:00", &q, why, sizeof(why)), -1);
	cr_assert_eq(policy_quiet_parse("07:00-07:00", &q, why, sizeof(why)), -1);
	cr_assert_eq(policy_quiet_parse("", &q, why, sizeof(why)), 0);
	cr_assert_not(q.on);
}

Test(policy, backoff, .timeout = 10)
{
	cr_assert_eq(policy_backoff_ms(1), 30000);
	cr_assert_eq(policy_backoff_ms(2), 60000);
	cr_assert_eq(policy_backoff_ms(3), 120000);
	cr_assert_eq(policy_backoff_ms(7), 30 * 60000);
	cr_assert_eq(policy_backoff_ms(100), 30 * 60000);
}

/* ---- metrics ---- */

Test(metrics, render, .timeout = 10)
{
	struct proto_notify_status st;
	const char *kinds[] = {"mailto", "ntfy", "json"};
	size_t active[3] = {1, 0, 2};
	char *text;

	memset(&st, 0, sizeof(st));
	st.depth = 4;
	st.queued = 9;
	st.given_up = 1;
	st.n_channels = 3;
	snprintf(st.channels[0].contact, sizeof(st.channels[0].contact), "ann");
	snprintf(st.channels[1].contact, sizeof(st.channels[1].contact), "ann");
	snprintf(st.channels[2].contact, sizeof(st.channels[2].contact), "bob");
	st.channels[0].sent = 5;
	st.channels[1].failed = 3;
	st.channels[2].sent = 7;
	text = notify_metrics_render(&st, kinds, active);
	cr_assert_not_null(text);
	cr_assert(strstr(text, "# TYPE iod_notify_outbox_depth gauge\niod_notify_outbox_depth 4\n"),
		  "%s", text);
	cr_assert(strstr(text, "iod_notify_queued_total 9\n"), "%s", text);
	cr_assert(strstr(text, "iod_notify_given_up_total 1\n"), "%s", text);
	cr_assert(
	    strstr(text,
		   "iod_notify_deliveries_total{contact=\"ann\",channel=\"mailto\",url=\"1\"} 5\n"),
	    "%s", text);
	cr_assert(
	    strstr(text,
		   "iod_notify_failures_total{contact=\"ann\",channel=\"ntfy\",url=\"2\"} 3\n"),
	    "%s", text);
	cr_assert(
	    strstr(text,
		   "iod_notify_deliveries_total{contact=\"bob\",channel=\"json\",url=\"1\"} 7\n"),
	    "%s", text);
	cr_assert(strstr(text, "iod_notify_active_alerts{level=\"critical\"} 2\n"), "%s", text);
	cr_assert(strstr(text, "iod_notify_active_alerts{level=\"info\"} 1\n"), "%s", text);
	free(text);
}
