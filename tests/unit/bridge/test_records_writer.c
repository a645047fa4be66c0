/*
 * The records store's writer (services/bridge/records_writer.c) on a real
 * store in a temp dir, its thread included, with glue_stubs.c's log: which
 * topics it takes, each kind of message decoded into the store (read back
 * with records.h's queries), undecodable ones counted, and the bounded
 * queue: a drop is counted, the first of an episode says so, and an
 * accepted message ends the episode.
 */
#include "glue_stubs.h"
#include "records.h"
#include "records_writer.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOW INT64_C(1796212800000)

static char dir[256], path[300];
static struct rwriter *w;
static struct records *rd;

static int64_t fixed_now(void)
{
	return NOW;
}

static void open_writer(size_t queue_bytes)
{
	snprintf(dir, sizeof(dir), "/tmp/test-rwriter-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/records.db", dir);
	struct rwriter_config c = {.path = path,
				   .site = "home",
				   .queue_bytes = queue_bytes,
				   .batch_ms = 5,
				   .now_ms = fixed_now};
	struct records_opened o;
	struct records_err err;
	cr_assert_eq(rwriter_open(&c, &w, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(o.version_found, 0);
	struct records_options ro = {.mode = RECORDS_READER};
	cr_assert_eq(records_open(path, &ro, &rd, NULL, &err), 0, "%s", err.msg);
}

static void fini(void)
{
	records_close(rd);
	rwriter_close(w);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	w = NULL;
	rd = NULL;
}

static void push(const char *topic, const char *text, const char *for_prop)
{
	cr_assert_eq(rwriter_push(w, topic, text, strlen(text), for_prop, NOW), 0, "%s", topic);
}

static void init(void)
{
	open_writer(0);
}

TestSuite(records_writer, .init = init, .fini = fini, .timeout = 30);

Test(records_writer, wants)
{
	cr_assert(rwriter_wants("home", "iod/home/sensors/temperature", NULL));
	cr_assert_not(rwriter_wants("home", "iod/home/sensors/temperature/x", NULL));
	cr_assert_not(rwriter_wants("home", "iod/barn/sensors/temperature", NULL));
	cr_assert(rwriter_wants("home", "iod/home/feeder/log", NULL));
	cr_assert(rwriter_wants("home", "iod/home/feeder/event", NULL));
	cr_assert(rwriter_wants("home", "iod/home/feeder/schedule", NULL));
	cr_assert(rwriter_wants("home", "iod/home/feeder/plan", NULL));
	cr_assert_not(rwriter_wants("home", "iod/home/feeder/state", NULL));
	cr_assert_not(rwriter_wants("home", "iod/home/feeder/cmd", NULL));
	cr_assert(rwriter_wants("home", "iod/home/camera/motion", NULL));
	cr_assert_not(rwriter_wants("home", "iod/home/camera/frame", NULL));
	cr_assert_not(rwriter_wants("home", "iod/home/camera/snapshot", NULL));
	cr_assert(rwriter_wants("home", "iod/home/camera/snapshot", "dose:a1"));
	cr_assert(rwriter_wants("home", "iod/home/camera/snapshot", "motion:5"));
	cr_assert_not(rwriter_wants("home", "iod/home/camera/snapshot", "treat:a1"));
	cr_assert(rwriter_wants("home", "iod/home/alert", NULL));
	cr_assert(rwriter_wants("home", "iod/home/alerts", NULL));
	cr_assert(rwriter_wants("home", "iod/home/notify/event", NULL));
	cr_assert_not(rwriter_wants("home", "iod/home/notify/status", NULL));
	cr_assert_not(rwriter_wants("home", "iod/home/bridge/info", NULL));
	cr_assert_not(rwriter_wants("home", "homeassistant/status", NULL));
}

Test(records_writer, every_kind_of_message)
{
	push("iod/home/sensors/temperature",
	     "{\"value\":21.5,\"unit\":\"°C\",\"ts\":1796212700000}", NULL);
	push("iod/home/feeder/log",
	     "{\"doses\":[{\"id\":\"schedule-2026-12-02T07:00\",\"ts\":1796194800000,\"by\":"
	     "\"schedule\",\"source\":\"schedule\",\"result\":\"ok\",\"verified\":null},{\"id\":"
	     "\"m1\",\"ts\":1796190000000,\"by\":\"ann\",\"source\":\"manual\",\"result\":"
	     "\"uncertain\",\"verified\":null}]}",
	     NULL);
	push("iod/home/feeder/event",
	     "{\"id\":\"schedule-2026-12-02T07:00\",\"action\":\"verify\",\"result\":\"failed\","
	     "\"reason\":\"no_weight_change\",\"delta_g\":0.2,\"ts\":1796194860000}",
	     NULL);
	push("iod/home/feeder/schedule",
	     "{\"date\":\"2026-12-02\",\"slots\":[{\"slot\":\"2026-12-02T07:00\",\"at\":"
	     "1796194800000,\"status\":\"given\",\"dose\":\"schedule-2026-12-02T07:00\"},{\"slot\":"
	     "\"2026-12-02T19:00\",\"at\":1796238000000,\"status\":\"pending\",\"dose\":null}],"
	     "\"ts\":1796194900000}",
	     NULL);
	push("iod/home/camera/snapshot", "\xff\xd8jpeg\xff\xd9", "dose:m1");
	push("iod/home/camera/motion", "{\"score\":0.3,\"active\":true,\"ts\":1796212000000}",
	     NULL);
	push("iod/home/camera/snapshot", "\xff\xd8thumb\xff\xd9", "motion:1796212000000");
	push("iod/home/camera/motion", "{\"score\":0.01,\"active\":false,\"ts\":1796212009000}",
	     NULL);
	push(
	    "iod/home/alert",
	    "{\"source\":\"feeder\",\"level\":\"warning\",\"code\":\"dose_unverified\",\"message\":"
	    "\"check the bowl\",\"subject\":\"m1\",\"ts\":1796212100000}",
	    NULL);
	push("iod/home/notify/event",
	     "{\"id\":\"a1\",\"action\":\"ack\",\"result\":\"ok\",\"ts\":1796212200000}", NULL);
	/* the undecodable are counted, not kept */
	push("iod/home/sensors/temperature", "{\"value\":\"warm\"}", NULL);
	push("iod/home/feeder/log", "not json", NULL);
	push("iod/home/camera/snapshot", "x", "motion:soon");
	rwriter_flush(w);
	struct rwriter_stats st;
	rwriter_stats(w, &st);
	cr_assert_eq(st.written, 10);
	cr_assert_eq(st.errors, 3);
	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(st.queued, 0);

	struct records_err err;
	struct records_history h;
	cr_assert_eq(records_history(rd, "home", "temperature", 1796212700000, 1796212701000, 1,
				     NOW, &h, &err),
		     0, "%s", err.msg);
	cr_assert_eq(h.n, 1);
	cr_assert_float_eq(h.points[0].mean, 21.5, 1e-12);
	records_history_free(&h);

	struct records_doses d;
	cr_assert_eq(records_doses(rd, "home", 0, NOW, 10, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.n, 2);
	cr_assert_str_eq(d.rows[0].id, "schedule-2026-12-02T07:00");
	cr_assert_str_eq(d.rows[0].slot, "2026-12-02T07:00");
	cr_assert_str_eq(d.rows[0].source, "schedule");
	cr_assert_str_eq(d.rows[0].outcome, "ok");
	cr_assert_eq(d.rows[0].verified, 0, "the verify event said failed");
	cr_assert_str_eq(d.rows[0].reason, "no_weight_change");
	cr_assert(d.rows[0].has_delta_g);
	cr_assert_float_eq(d.rows[0].delta_g, 0.2, 1e-12);
	cr_assert_eq(d.rows[0].ts_ms, 1796194800000, "the log's ts, not the verify event's");
	cr_assert_str_eq(d.rows[1].id, "m1");
	cr_assert_null(d.rows[1].slot);
	cr_assert_str_eq(d.rows[1].outcome, "uncertain");
	cr_assert_str_eq(d.rows[1].by, "ann");
	cr_assert_eq(d.rows[1].verified, -1);
	cr_assert(d.rows[1].has_snapshot);
	records_doses_free(&d);
	void *jpeg;
	size_t len;
	cr_assert_eq(records_dose_snapshot(rd, "m1", &jpeg, &len, &err), 0);
	cr_assert_eq(len, 8);
	cr_assert_eq(memcmp(jpeg, "\xff\xd8jpeg\xff\xd9", 8), 0);
	free(jpeg);

	struct records_slots sl;
	cr_assert_eq(records_slots(rd, "home", 0, NOW + 86400000, 10, &sl, &err), 0);
	cr_assert_eq(sl.n, 2);
	cr_assert_str_eq(sl.rows[0].status, "given");
	cr_assert_str_eq(sl.rows[0].dose_id, "schedule-2026-12-02T07:00");
	cr_assert_str_eq(sl.rows[1].status, "pending");
	cr_assert_null(sl.rows[1].dose_id);
	records_slots_free(&sl);

	struct records_events ev;
	cr_assert_eq(records_events(rd, "home", "motion", 0, NOW, 10, &ev, &err), 0);
	cr_assert_eq(ev.n, 1);
	cr_assert_eq(ev.rows[0].start_ms, 1796212000000);
	cr_assert_eq(ev.rows[0].end_ms, 1796212009000);
	cr_assert_float_eq(ev.rows[0].score, 0.3, 1e-12);
	cr_assert(ev.rows[0].has_thumb);
	records_events_free(&ev);

	struct records_alerts al;
	cr_assert_eq(records_alerts(rd, "home", 0, NOW, 10, &al, &err), 0);
	cr_assert_eq(al.n, 1);
	cr_assert_str_eq(al.rows[0].key, "feeder/dose_unverified/m1");
	cr_assert_str_eq(al.rows[0].level, "warning");
	records_alerts_free(&al);

	struct records_commands cm;
	cr_assert_eq(records_commands(rd, "home", 0, NOW, 10, &cm, &err), 0);
	cr_assert_eq(cm.n, 2);
	cr_assert_str_eq(cm.rows[0].service, "notify");
	cr_assert_str_eq(cm.rows[0].action, "ack");
	cr_assert_str_eq(cm.rows[1].service, "feeder");
	cr_assert_str_eq(cm.rows[1].action, "verify");
	cr_assert_str_eq(cm.rows[1].result, "failed");
	records_commands_free(&cm);
}

#define ALERTS_SET                                                                                 \
	"{\"active\":[{\"key\":\"notify/dose_overdue/2026-12-01T15:00\",\"source\":\"notify\","    \
	"\"code\":\"dose_overdue\",\"subject\":\"2026-12-01T15:00\",\"level\":\"critical\","       \
	"\"message\":\"the 15:00 dose is still pending\",\"since\":1796137200000,\"updated\":"     \
	"1796137200000,\"acked_by\":%s,\"acked_at\":%s}],\"ts\":%s}"

Test(records_writer, the_alerts_set_acks_and_clears)
{
	char text[1024];
	snprintf(text, sizeof(text), ALERTS_SET, "null", "null", "1796137200000");
	push("iod/home/alerts", text, NULL);
	snprintf(text, sizeof(text), ALERTS_SET, "\"ann\"", "1796137260000", "1796137260000");
	push("iod/home/alerts", text, NULL);
	push("iod/home/alerts", "{\"active\":[],\"ts\":1796137300000}", NULL);
	rwriter_flush(w);
	struct rwriter_stats st;
	rwriter_stats(w, &st);
	cr_assert_eq(st.errors, 0);
	struct records_alerts al;
	struct records_err err;
	cr_assert_eq(records_alerts(rd, "home", 0, NOW, 10, &al, &err), 0, "%s", err.msg);
	cr_assert_eq(al.n, 1, "one raise, updated");
	cr_assert_str_eq(al.rows[0].acked_by, "ann");
	cr_assert_eq(al.rows[0].acked_ms, 1796137260000);
	cr_assert_eq(al.rows[0].cleared_ms, 1796137300000, "left the set: cleared");
	cr_assert_str_eq(al.rows[0].level, "critical");
	records_alerts_free(&al);
}

#define PLAN                                                                                       \
	"{\"rev\":%d,\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":"                 \
	"true}],\"min_interval_s\":21600,\"max_daily\":3,\"grace_s\":3600,"                        \
	"\"paused\":false,\"paused_until\":null,\"treat\":{\"max_daily\":10,"                      \
	"\"min_interval_s\":300},\"pills\":{\"remaining\":42,\"low_days\":5},"                     \
	"\"bounds\":{\"min_interval_s\":14400,\"max_daily\":4},\"changed_by\":"                    \
	"\"vet\",\"changed_at\":%lld}"

Test(records_writer, a_plan_change_per_rev)
{
	char text[1024];
	snprintf(text, sizeof(text), PLAN, 3, 1796100000000LL);
	push("iod/home/feeder/plan", text, NULL);
	push("iod/home/feeder/plan", text, NULL); /* retained again at a reconnect */
	snprintf(text, sizeof(text), PLAN, 4, 1796200000000LL);
	push("iod/home/feeder/plan", text, NULL);
	rwriter_flush(w);
	struct records_plans pl;
	struct records_err err;
	cr_assert_eq(records_plans(rd, "home", 0, NOW, 10, &pl, &err), 0, "%s", err.msg);
	cr_assert_eq(pl.n, 2);
	cr_assert_eq(pl.rows[0].rev, 4);
	cr_assert_str_eq(pl.rows[0].by, "vet");
	cr_assert_eq(pl.rows[1].rev, 3);
	cr_assert_eq(pl.rows[1].ts_ms, 1796100000000);
	records_plans_free(&pl);
}

static void init_small(void)
{
	open_writer(4096);
}

TestSuite(records_writer_queue, .init = init_small, .fini = fini, .timeout = 30);

Test(records_writer_queue, drops_are_counted_one_warning_an_episode)
{
	static char big[8192];
	memset(big, 'x', sizeof(big));
	cr_assert_eq(rwriter_push(w, "iod/home/sensors/sound", big, sizeof(big), NULL, NOW), 1,
		     "the first drop of an episode");
	cr_assert_eq(rwriter_push(w, "iod/home/sensors/sound", big, sizeof(big), NULL, NOW), 2);
	cr_assert_eq(rwriter_push(w, "iod/home/sensors/sound", big, sizeof(big), NULL, NOW), 2);
	push("iod/home/sensors/sound", "{\"value\":40,\"unit\":\"dB\",\"ts\":1796212700000}", NULL);
	cr_assert_eq(rwriter_push(w, "iod/home/sensors/sound", big, sizeof(big), NULL, NOW), 1,
		     "a message taken ended the episode");
	rwriter_flush(w);
	struct rwriter_stats st;
	rwriter_stats(w, &st);
	cr_assert_eq(st.dropped, 4);
	cr_assert_eq(st.written, 1);
}

Test(records_writer, a_snapshot_before_its_log_keeps_the_feeders_ts)
{
	/* the camera answers as the servo opens, the log comes when the dose is done */
	cr_assert_eq(rwriter_push(w, "iod/home/camera/snapshot", "\xff\xd8one\xff\xd9", 7,
				  "dose:early", NOW - 5000),
		     0);
	push("iod/home/feeder/log",
	     "{\"doses\":[{\"id\":\"early\",\"ts\":1796212790000,\"by\":\"ann\",\"source\":"
	     "\"manual\",\"result\":\"ok\",\"verified\":null}]}",
	     NULL);
	/* one that never gets a log entry, held past 10 minutes */
	cr_assert_eq(rwriter_push(w, "iod/home/camera/snapshot", "\xff\xd8two\xff\xd9", 7,
				  "dose:orphan", NOW - 11 * 60 * 1000),
		     0);
	rwriter_flush(w);
	push("iod/home/sensors/sound", "{\"value\":40,\"unit\":\"dB\",\"ts\":1796212700000}", NULL);
	rwriter_flush(w); /* the next batch stores what was held too long */
	struct records_doses d;
	struct records_err err;
	cr_assert_eq(records_doses(rd, "home", 0, NOW, 10, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.n, 2);
	cr_assert_str_eq(d.rows[0].id, "early");
	cr_assert_eq(d.rows[0].ts_ms, 1796212790000, "the feeder's ts, not the picture's arrival");
	cr_assert(d.rows[0].has_snapshot);
	cr_assert_str_eq(d.rows[0].by, "ann");
	cr_assert_str_eq(d.rows[1].id, "orphan");
	cr_assert_eq(d.rows[1].ts_ms, NOW - 11 * 60 * 1000, "its arrival time");
	cr_assert(d.rows[1].has_snapshot);
	records_doses_free(&d);
	void *jpeg;
	size_t len;
	cr_assert_eq(records_dose_snapshot(rd, "early", &jpeg, &len, &err), 0);
	cr_assert_eq(len, 7);
	cr_assert_eq(memcmp(jpeg, "\xff\xd8one\xff\xd9", 7), 0);
	free(jpeg);
	/* a picture of a dose already known is stored at once */
	cr_assert_eq(rwriter_push(w, "iod/home/camera/snapshot", "\xff\xd8new\xff\xd9", 7,
				  "dose:early", NOW),
		     0);
	rwriter_flush(w);
	cr_assert_eq(records_dose_snapshot(rd, "early", &jpeg, &len, &err), 0);
	cr_assert_eq(memcmp(jpeg, "\xff\xd8new\xff\xd9", 7), 0);
	free(jpeg);
}

Test(records_writer, a_held_snapshot_is_stored_at_close)
{
	cr_assert_eq(rwriter_push(w, "iod/home/camera/snapshot", "\xff\xd8x\xff\xd9", 5,
				  "dose:late", NOW - 1000),
		     0);
	rwriter_flush(w);
	rwriter_close(w);
	w = NULL;
	void *jpeg;
	size_t len;
	struct records_err err;
	cr_assert_eq(records_dose_snapshot(rd, "late", &jpeg, &len, &err), 0, "%s", err.msg);
	cr_assert_eq(len, 5);
	free(jpeg);
}
