/* feeder: a damaged, cut, emptied, deleted or replaced journal is noticed
 * and never survived silently: the feeder assumes a dose was just given
 * (critical journal_damaged alert) until the operator's repair; a FIFO at
 * the journal's path never hangs it; every dose id ever journaled stays a
 * duplicate; old-format journals are migrated. Injected clock, journal in a
 * temp dir, TZ=Europe/Berlin. Issue 9, items 1-4. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "feeder.h"
#include "fixture.h"

static void setup(void)
{
	fixture_setup("damage");
	cfg.boot_id = "3f1c1c2e-0000-4000-8000-00000000000a";
}

TestSuite(damage, .init = setup, .fini = fixture_teardown);

/* Feed id, its dose done a second later; the final result. */
static enum proto_result dose(struct feeder *f, const char *id, struct feeder_result *res)
{
	return dose_id(f, id, 1000, res);
}

static size_t intent_line(const char *text, size_t *len)
{
	const char *p = strstr(text, "\"op\":\"intent\"");
	cr_assert_not_null(p, "no intent in %s", text);
	while (p > text && p[-1] != '\n')
		p--;
	*len = (size_t)(strchr(p, '\n') - p);
	return (size_t)(p - text);
}

/* A CRC-32C of our own, to seal a line as a newer writer would. */
static uint32_t crc32c(const char *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;
	while (n--) {
		crc ^= (unsigned char)*p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* ---- the damage ------------------------------------------------------------- */

/* sed -i 's/"op":"intent"/"op":"intent/' journal */
static void remove_one_byte(void)
{
	size_t n, len;
	char *text = slurp(jpath, &n);
	char *p = strstr(text, "\"op\":\"intent\"") + 12;
	memmove(p, p + 1, n - (size_t)(p + 1 - text));
	put_bytes(jpath, text, n - 1);
	(void)len;
}

static void flip_one_bit(void)
{
	size_t n;
	char *text = slurp(jpath, &n);
	char *p = strstr(text, "\"op\":\"intent\"") + 6;
	*p ^= 0x01; /* "intent" -> "hntent" */
	put_bytes(jpath, text, n);
}

static void nul_region(void)
{
	size_t n, len;
	char *text = slurp(jpath, &n);
	size_t at = intent_line(text, &len);
	memset(text + at + 3, 0, 24);
	put_bytes(jpath, text, n);
}

/* The intent line replaced by a well-formed, sealed line of a format newer
 * than this feeder's (as a newer version would have written the dose). */
static void newer_format_line(void)
{
	size_t n, len;
	char *text = slurp(jpath, &n);
	size_t at = intent_line(text, &len);
	char line[512];
	int k =
	    snprintf(line, sizeof(line),
		     "{\"v\":3,\"seq\":2,\"op\":\"dose\",\"id\":\"a1\",\"ts\":%lld,\"by\":\"x\"",
		     (long long)(now.wall_ms - 10 * MIN));
	snprintf(line + k, sizeof(line) - (size_t)k, ",\"crc\":\"%08x\"}", crc32c(line, (size_t)k));
	char out[1 << 16];
	memcpy(out, text, at);
	size_t m = at;
	memcpy(out + m, line, strlen(line));
	m += strlen(line);
	memcpy(out + m, text + at + len, n - at - len);
	m += n - at - len;
	put_bytes(jpath, out, m);
}

static void truncate_mid_record(void)
{
	size_t n, len;
	char *text = slurp(jpath, &n);
	size_t at = intent_line(text, &len);
	cr_assert_eq(truncate(jpath, (off_t)(at + len / 2)), 0);
}

static void truncate_at_line_boundary(void)
{
	size_t n, len;
	char *text = slurp(jpath, &n);
	size_t at = intent_line(text, &len);
	cr_assert_eq(truncate(jpath, (off_t)at), 0);
}

static void empty_it(void)
{
	cr_assert_eq(truncate(jpath, 0), 0); /* : > journal */
}

static void delete_it(void)
{
	cr_assert_eq(unlink(jpath), 0);
}

/* Feed a1 (ok), stop, damage the journal, start: the feeder must hold the
 * interval from now, say so critically, and refuse a2. */
static void check_damage_assumes_a_dose(void (*damage_it)(void), const char *kind)
{
	struct feeder_result startup, res;
	struct feeder *f = start(NULL);
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	feeder_free(f);
	advance(10 * MIN);
	damage_it();
	f = start(&startup);
	const struct proto_alert *a =
	    find_alert(&startup, PROTO_ALERT_JOURNAL_DAMAGED, PROTO_LEVEL_CRITICAL);
	cr_assert_not_null(a, "a critical journal_damaged alert (%zu alerts: %s)", startup.n_alerts,
			   startup.n_alerts ? startup.alerts[0].message : "");
	cr_assert(strstr(a->message, kind) != NULL, "names the damage (%s): %s", kind, a->message);
	cr_assert(strstr(a->message, "assumed") != NULL, "%s", a->message);
	send(f, "{\"action\":\"feed\",\"id\":\"a2\"}", &res);
	cr_assert_eq(res.action, FEEDER_DO_NOTHING, "no second dose");
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_geq(st.next_allowed_ms, now.wall_ms + 6 * H, "the interval starts now");
	cr_assert_geq(st.doses_today, 1);
	cr_assert_eq(st.last_dose_ms, now.wall_ms);
	feeder_free(f);
}

Test(damage, removed_byte, .timeout = 10)
{
	check_damage_assumes_a_dose(remove_one_byte, "line 3"); /* init, plan, intent */
}

Test(damage, flipped_bit, .timeout = 10)
{
	check_damage_assumes_a_dose(flip_one_bit, "checksum");
}

Test(damage, nul_region, .timeout = 10)
{
	check_damage_assumes_a_dose(nul_region, "line 3");
}

Test(damage, newer_format_line, .timeout = 10)
{
	check_damage_assumes_a_dose(newer_format_line, "newer_format");
}

Test(damage, truncated_mid_record, .timeout = 10)
{
	check_damage_assumes_a_dose(truncate_mid_record, "truncated");
}

Test(damage, truncated_at_a_line_boundary, .timeout = 10)
{
	check_damage_assumes_a_dose(truncate_at_line_boundary, "tail_cut");
}

Test(damage, emptied_journal_is_not_a_first_install, .timeout = 10)
{
	check_damage_assumes_a_dose(empty_it, "emptied");
}

Test(damage, deleted_journal_is_not_a_first_install, .timeout = 10)
{
	check_damage_assumes_a_dose(delete_it, "missing");
}

/* Another journal (another data directory's, created two days earlier)
 * copied over this one. */
static void replace_it(void)
{
	char other[400], opath[420];
	snprintf(other, sizeof(other), "%s/other", dir);
	cr_assert_eq(mkdir(other, 0700), 0);
	snprintf(opath, sizeof(opath), "%s/journal", other);
	const char *mine = cfg.journal_path;
	cfg.journal_path = opath;
	advance(-48 * H);
	feeder_free(start(NULL));
	advance(48 * H);
	cfg.journal_path = mine;
	size_t n;
	char *text = slurp(opath, &n);
	put_bytes(jpath, text, n);
}

Test(damage, replaced_journal, .timeout = 10)
{
	check_damage_assumes_a_dose(replace_it, "replaced");
}

/* A first install (no journal, no marker) is not damage. */
Test(damage, first_install_is_quiet_and_leaves_a_marker, .timeout = 10)
{
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0);
	cr_assert_eq(access(mpath, F_OK), 0, "the marker remembers a journal was made");
	cr_assert_eq(dose(f, "first", &res), PROTO_RESULT_OK);
	feeder_free(f);
	f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0, "%s", startup.n_alerts ? startup.alerts[0].message : "");
	feeder_free(f);
}

/* Defect 3: a FIFO at the journal's path hung the feeder at start. */
Test(damage, fifo_journal_refuses_doses_and_does_not_hang, .timeout = 10)
{
	cr_assert_eq(mkfifo(jpath, 0600), 0);
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	const struct proto_alert *a =
	    find_alert(&startup, PROTO_ALERT_JOURNAL, PROTO_LEVEL_CRITICAL);
	cr_assert_not_null(a);
	cr_assert(strstr(a->message, "not a regular file") != NULL, "%s", a->message);
	send(f, "{\"action\":\"feed\",\"id\":\"p1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_JOURNAL);
	send(f, "home", &res);
	cr_assert_eq(res.action, FEEDER_DO_HOME, "it still answers");
	feeder_free(f);
}

/* Defect 4: dose ids older than the last 256 doses were forgotten. */
Test(damage, every_dose_id_stays_a_duplicate, .timeout = 120)
{
	cfg.min_interval_ms = 1000;
	cfg.max_daily = 48;
	cfg.bound_min_interval_ms = 1000; /* bounds as loose as the plan */
	cfg.bound_max_daily = 48;
	cfg.compact_bytes = 16384; /* several compactions on the way */
	struct feeder *f = start(NULL);
	struct feeder_result res;
	char id[32];
	for (int i = 0; i < 320; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		cr_assert_eq(dose(f, id, &res), PROTO_RESULT_OK, "dose %d: %s", i,
			     res.event.reason);
		advance(H / 2); /* 48 a day at most */
	}
	send(f, "{\"action\":\"feed\",\"id\":\"d0\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	cr_assert_str_eq(res.event.reason, "ok");
	struct feeder_stats stats;
	feeder_get_stats(f, &stats);
	cr_assert_eq(stats.dose_ids, 320);
	cr_assert_gt(stats.compactions, 0);
	feeder_free(f);
	struct feeder_result startup;
	f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0, "%s", startup.n_alerts ? startup.alerts[0].message : "");
	for (int i = 0; i < 320; i += 7) {
		snprintf(id, sizeof(id), "{\"action\":\"feed\",\"id\":\"d%d\"}", i);
		send(f, id, &res);
		cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE, "d%d after a restart", i);
		cr_assert_eq(res.action, FEEDER_DO_NOTHING);
	}
	cr_assert_eq(dose(f, "new-one", &res), PROTO_RESULT_OK);
	feeder_get_stats(f, &stats);
	cr_assert_eq(stats.dose_ids, 321);
	feeder_free(f);
}

/* Users have journals of format 1: read once, rewritten in format 2. */
Test(damage, old_format_journal_is_migrated, .timeout = 10)
{
	char text[1024];
	int64_t t = now.wall_ms - 1 * H;
	snprintf(
	    text, sizeof(text),
	    "{\"op\":\"init\",\"ts\":%lld}\n"
	    "{\"op\":\"intent\",\"id\":\"old1\",\"ts\":%lld,\"by\":\"ann\",\"source\":"
	    "\"manual\"}\n"
	    "{\"op\":\"done\",\"id\":\"old1\",\"ts\":%lld,\"result\":\"ok\"}\n"
	    "{\"op\":\"cmd\",\"id\":\"h1\",\"ts\":%lld,\"action\":\"home\",\"result\":\"ok\"}\n",
	    (long long)(t - 48 * H), (long long)t, (long long)t + 1000, (long long)t + 2000);
	put_bytes(jpath, text, strlen(text));
	struct feeder_result startup, res;
	struct feeder *f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0, "%s", startup.n_alerts ? startup.alerts[0].message : "");
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON, "the old dose counts");
	send(f, "{\"action\":\"feed\",\"id\":\"old1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	send(f, "{\"action\":\"home\",\"id\":\"h1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	feeder_free(f);
	const char *j = slurp(jpath, NULL);
	cr_assert(strncmp(j, "{\"v\":2,", 7) == 0, "format 2 now: %s", j);
	char v1[400];
	snprintf(v1, sizeof(v1), "%s.v1", jpath);
	cr_assert_str_eq(slurp(v1, NULL), text, "the original is kept");
	cr_assert_eq(access(mpath, F_OK), 0);
	f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0, "%s", startup.n_alerts ? startup.alerts[0].message : "");
	send(f, "{\"action\":\"feed\",\"id\":\"old1\"}", &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_DUPLICATE);
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	feeder_free(f);
}

/* The assumed dose holds on the boot clock too: a wall clock moved ahead
 * in the same boot does not end it. */
Test(damage, assumed_dose_holds_on_the_boot_clock, .timeout = 10)
{
	struct feeder_result res;
	struct feeder *f = start(NULL);
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	feeder_free(f);
	advance(3 * H);
	empty_it();
	f = start(NULL);
	feeder_free(f);
	now.wall_ms += 7 * H; /* NTP: 7 h ahead; 1 h really passed */
	now.mono_ms += 1 * H;
	f = start(NULL);
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	feeder_free(f);
}

/* The damage is remembered (no new dose assumed at each start) until the
 * operator's repair, which says what was lost and acknowledges it. Doses
 * resume after the interval even before the repair. */
Test(damage, damage_stays_until_repaired, .timeout = 20)
{
	struct feeder_result startup, res;
	struct feeder *f = start(NULL);
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	feeder_free(f);
	advance(10 * MIN);
	remove_one_byte();
	f = start(&startup);
	cr_assert_not_null(find_alert(&startup, PROTO_ALERT_JOURNAL_DAMAGED, PROTO_LEVEL_CRITICAL));
	int64_t assumed = now.wall_ms;
	feeder_free(f);

	advance(1 * H);
	f = start(&startup);
	const struct proto_alert *a =
	    find_alert(&startup, PROTO_ALERT_JOURNAL_DAMAGED, PROTO_LEVEL_CRITICAL);
	cr_assert_not_null(a, "still said at every start");
	cr_assert(strstr(a->message, "not repaired") != NULL, "%s", a->message);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_allowed_ms, assumed + 6 * H, "no second assumed dose");
	feeder_free(f);

	/* the operator: check, then repair (the feeder stopped) */
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	cr_assert_eq(feeder_repair_journal(&cfg, &now, false, out), 1, "check: damaged");
	fclose(out);
	cr_assert(strstr(buf, "line 3") != NULL, "%s", buf);
	free(buf);
	out = open_memstream(&buf, &len);
	cr_assert_eq(feeder_repair_journal(&cfg, &now, true, out), 0);
	fclose(out);
	cr_assert(strstr(buf, "lost:") != NULL && strstr(buf, "written:") != NULL, "%s", buf);
	cr_assert(strstr(buf, "a dose is assumed") == NULL, "already assumed at the start: %s",
		  buf);
	free(buf);
	out = open_memstream(&buf, &len);
	cr_assert_eq(feeder_repair_journal(&cfg, &now, false, out), 0, "sound now");
	fclose(out);
	free(buf);

	f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0, "%s", startup.n_alerts ? startup.alerts[0].message : "");
	feeder_state(f, &now, &st);
	cr_assert_eq(st.next_allowed_ms, assumed + 6 * H, "the assumed dose is kept");
	send(f, "{\"action\":\"feed\",\"id\":\"a2\"}", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	now.wall_ms = assumed + 6 * H;
	now.mono_ms += 5 * H;
	cr_assert_eq(dose(f, "a3", &res), PROTO_RESULT_OK);
	feeder_free(f);
}

/* A repair of damage no start has seen assumes the dose itself. */
Test(damage, repair_of_unseen_damage_assumes_a_dose, .timeout = 20)
{
	struct feeder_result res, startup;
	struct feeder *f = start(NULL);
	cr_assert_eq(dose(f, "a1", &res), PROTO_RESULT_OK);
	feeder_free(f);
	advance(10 * MIN);
	truncate_at_line_boundary();
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	cr_assert_eq(feeder_repair_journal(&cfg, &now, true, out), 0);
	fclose(out);
	cr_assert(strstr(buf, "tail_cut") != NULL, "%s", buf);
	cr_assert(strstr(buf, "a dose is assumed given now") != NULL, "%s", buf);
	free(buf);
	f = start(&startup);
	cr_assert_eq(startup.n_alerts, 0, "%s", startup.n_alerts ? startup.alerts[0].message : "");
	send(f, "feed", &res);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_TOO_SOON);
	feeder_free(f);
}
