/*
 * iod-notify's glue (services/notify/app.c) through notify_service's own
 * create/start/on_message/on_connected/stop/destroy, on a real libuv loop,
 * with mqttc stubbed (tests/support/mqttc_stub.c: every publish recorded)
 * and the skeleton's accessors, the clocks, the deadline timer and the
 * sender stood in for (app_stubs.c): nothing reaches a broker, curl or
 * the machine's clock. The real cores (alerts, policy, outbox, contacts,
 * webpush's key) run underneath on a data dir of the test's own.
 *
 * Two contacts: ann (all levels, one mailto URL), then bob (critical, one
 * ntfy URL). Payloads the contract fixes (proto/README.md, "iod-notify")
 * are asserted whole.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "app.h"
#include "app_stubs.h"
#include "cfg.h"
#include "log.h"
#include "mqttc.h"
#include "mqttc_stub.h"
#include "policy.h"
#include "proto.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define ALERT  "iod/home/alert"
#define ALERTS "iod/home/alerts"
#define CMD    "iod/home/notify/cmd"
#define EVENT  "iod/home/notify/event"
#define STATUS "iod/home/notify/status"
#define INFO   "iod/home/notify/info"

#define ANN_LABEL "mailto://ann:***@smtp.example.org?to=ann@example.org"
#define BOB_LABEL "ntfy://ntfy.example.org/iod-bob"

#define T0 1796137200000LL /* the injected wall clock at the start */
#define M0 5000000LL	   /* and the monotonic one */

#define JOURNAL                                                                                    \
	"{\"source\":\"feeder\",\"level\":\"critical\",\"code\":\"journal_unavailable\","          \
	"\"message\":\"journal write failed: Read-only file system\",\"ts\":1796137100000}"
#define JOURNAL_KEY "feeder/journal_unavailable"

static uv_loop_t loop;
static struct cfg *cfg;
static void *app;
static char dir[64];
/* Never dereferenced: the stubs take any pointer. */
static struct mqttc *const fake_client = (struct mqttc *)&loop;
static struct service *const fake_svc = (struct service *)&dir;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The app made and started with an extra setting (a flag; NULL: none). */
static void up_with(const char *extra)
{
	char contacts[128], data_flag[96], contacts_flag[160];
	int rc = -1;
	FILE *f;

	log_init("notify", LOG_LEVEL_ERROR);
	/* The defaults the tests count on, whatever the environment says. */
	for (size_t i = 0; i < notify_app_options_count; i++)
		unsetenv(notify_app_options[i].name);
	snprintf(dir, sizeof(dir), "/tmp/iod-test-notify-app-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(contacts, sizeof(contacts), "%s/contacts", dir);
	f = fopen(contacts, "w");
	cr_assert_not_null(f);
	fputs("# escalation order\n"
	      "ann all mailto://ann:secret@smtp.example.org?to=ann@example.org\n"
	      "bob critical ntfy://ntfy.example.org/iod-bob\n",
	      f);
	cr_assert_eq(fclose(f), 0);
	snprintf(data_flag, sizeof(data_flag), "--data-dir=%s", dir);
	snprintf(contacts_flag, sizeof(contacts_flag), "--notify-contacts-file=%s", contacts);
	char *argv[] = {"iod-notify", "--site=home", data_flag, contacts_flag, (char *)extra, NULL};
	cfg = cfg_load("notify", "iod-notify", notify_app_options, notify_app_options_count,
		       extra ? 5 : 4, argv, &rc);
	cr_assert_not_null(cfg, "cfg_load: %d", rc);

	cr_assert_eq(uv_loop_init(&loop), 0);
	stub_reset();
	stub_app_reset(&loop, T0, M0);
	stub_cfg = cfg;
	stub_client = fake_client;
	stub_since_ms = T0 - 5000;

	rc = -1;
	app = notify_service.create(fake_svc, &rc);
	cr_assert_not_null(app);
	cr_assert_eq(rc, 0);
	cr_assert_eq(stub_sender_timeout_ms, 10000, "IOD_NOTIFY_TIMEOUT's default");
	cr_assert_eq(stub_n_subscribed, 5);
	cr_assert_str_eq(stub_subscribed[0], ALERT);
	cr_assert_str_eq(stub_subscribed[1], CMD);
	cr_assert_str_eq(stub_subscribed[2], "iod/home/feeder/schedule");
	cr_assert_str_eq(stub_subscribed[3], "iod/home/feeder/plan");
	cr_assert_str_eq(stub_subscribed[4], "iod/home/+/availability");
	cr_assert_eq(notify_service.start(app), 0);
	stub_settle();
	cr_assert_eq(stub_n_sends, 0);
}

static void up(void)
{
	up_with(NULL);
}

static void down(void)
{
	notify_service.stop(app);
	cr_assert(stub_sender_closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	notify_service.destroy(app);
	cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open");
	cfg_free(cfg);
	cr_assert_eq(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

TestSuite(notify_app, .init = up, .fini = down, .timeout = 30);

/* ---- helpers ---- */

static void deliver_msg(const char *topic, const void *payload, size_t len, bool retained)
{
	struct mqttc_message m = {.topic = topic,
				  .payload = payload,
				  .len = len,
				  .qos = 1,
				  .retained = retained,
				  .received_ms = stub_wall_ms};
	notify_service.on_message(app, &m);
	stub_settle();
}

static void msg(const char *topic, const char *payload)
{
	deliver_msg(topic, payload, strlen(payload), false);
}

static void broker_connect(void)
{
	notify_service.on_connected(app);
	stub_settle();
}

/* One channel's member of notify/status. */
static void chan_json(char *out, size_t size, const char *contact, const char *label, unsigned sent,
		      unsigned failed, int64_t last_ok, const char *last_error,
		      int64_t last_error_at)
{
	char ok[32] = "null", err[96] = "null", err_at[32] = "null";

	if (last_ok)
		snprintf(ok, sizeof(ok), "%lld", (long long)last_ok);
	if (last_error)
		snprintf(err, sizeof(err), "\"%s\"", last_error);
	if (last_error_at)
		snprintf(err_at, sizeof(err_at), "%lld", (long long)last_error_at);
	snprintf(out, size,
		 "{\"contact\":\"%s\",\"channel\":\"%s\",\"sent\":%u,\"failed\":%u,\"last_ok\":%s,"
		 "\"last_error\":%s,\"last_error_at\":%s}",
		 contact, label, sent, failed, ok, err, err_at);
}

static void status_json(char *out, size_t size, unsigned depth, unsigned queued, unsigned delivered,
			unsigned failed, unsigned given_up, const char *ann, const char *bob,
			int64_t ts)
{
	snprintf(out, size,
		 "{\"outbox\":{\"depth\":%u,\"queued\":%u,\"delivered\":%u,\"failed\":%u,"
		 "\"given_up\":%u},\"channels\":[%s,%s],\"ts\":%lld}",
		 depth, queued, delivered, failed, given_up, ann, bob, (long long)ts);
}

static const char *idle_chan(char *buf, size_t size, const char *contact, const char *label)
{
	chan_json(buf, size, contact, label, 0, 0, 0, NULL, 0);
	return buf;
}

/* The newest publish on topic, which must exist, QoS 1, retained as given. */
static const struct stub_publish *last(const char *topic, bool retain)
{
	const struct stub_publish *p = stub_last(topic);

	cr_assert_not_null(p, "nothing published on %s", topic);
	cr_assert_eq(p->qos, 1, "%s: QoS %d", topic, p->qos);
	cr_assert_eq(p->retain, retain, "%s: retain %d", topic, p->retain);
	return p;
}

/* The answer on notify/event: {"id","action","result","reason"?,"detail"?,"ts"}. */
static void assert_event(const char *id, const char *action, const char *result, const char *reason,
			 const char *detail)
{
	char want[512], r[128] = "", d[160] = "";

	if (reason)
		snprintf(r, sizeof(r), ",\"reason\":\"%s\"", reason);
	if (detail)
		snprintf(d, sizeof(d), ",\"detail\":\"%s\"", detail);
	snprintf(want, sizeof(want),
		 "{\"id\":\"%s\",\"action\":\"%s\",\"result\":\"%s\"%s%s,\"ts\":%lld}", id, action,
		 result, r, d, (long long)stub_wall_ms);
	cr_assert_str_eq(last(EVENT, false)->payload, want);
}

/* The one active entry of JOURNAL in the set, as published. */
static void journal_entry(char *out, size_t size, int64_t since, int64_t updated,
			  const char *acked_by, int64_t acked_at)
{
	char by[64] = "null", at[32] = "null";

	if (acked_by) {
		snprintf(by, sizeof(by), "\"%s\"", acked_by);
		snprintf(at, sizeof(at), "%lld", (long long)acked_at);
	}
	snprintf(out, size,
		 "{\"key\":\"" JOURNAL_KEY "\",\"source\":\"feeder\",\"code\":"
		 "\"journal_unavailable\",\"level\":\"critical\",\"message\":\"journal write "
		 "failed: Read-only file system\",\"since\":%lld,\"updated\":%lld,\"acked_by\":%s,"
		 "\"acked_at\":%s}",
		 (long long)since, (long long)updated, by, at);
}

/* ---- on connect ---- */

Test(notify_app, on_connect_info_alerts_and_status_are_published_retained_qos1)
{
	char want[1024], ann[256], bob[256];

	stub_reset();
	broker_connect();
	cr_assert_eq(stub_n_published, 3, "info, alerts, status: %zu", stub_n_published);
	cr_assert_str_eq(stub_published[0].topic, INFO);
	cr_assert_str_eq(stub_published[1].topic, ALERTS);
	cr_assert_str_eq(stub_published[2].topic, STATUS);

	/* info as the skeleton's plus the VAPID public key (65 bytes, base64url: 87). */
	const struct stub_publish *info = last(INFO, true);
	char prefix[256];
	snprintf(
	    prefix, sizeof(prefix),
	    "{\"version\":\"%s\",\"since\":%lld,\"backend\":\"notify\",\"vapid_public_key\":\"",
	    IOD_VERSION, (long long)(T0 - 5000));
	cr_assert_eq(strncmp(info->payload, prefix, strlen(prefix)), 0, "%s", info->payload);
	const char *key = info->payload + strlen(prefix);
	cr_assert_eq(
	    strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 87,
	    "%s", info->payload);
	cr_assert_str_eq(key + 87, "\"}");

	cr_assert_str_eq(last(ALERTS, true)->payload, "{\"active\":[],\"ts\":0}");
	status_json(want, sizeof(want), 0, 0, 0, 0, 0,
		    idle_chan(ann, sizeof(ann), "ann", ANN_LABEL),
		    idle_chan(bob, sizeof(bob), "bob", BOB_LABEL), T0);
	cr_assert_str_eq(last(STATUS, true)->payload, want);
	cr_assert_eq(stub_n_sends, 0);
}

/* ---- delivery ---- */

Test(notify_app, an_alert_is_queued_and_sent_and_status_shows_it_delivered_after_connect)
{
	char want[1024], entry[512], ann[256], bob[256];

	msg(ALERT, JOURNAL);
	cr_assert_eq(stub_n_sends, 1, "critical: the first contact wanting it, only");
	const struct stub_send *s = &stub_sends[0];
	cr_assert_eq(s->kind, CHANNEL_MAILTO);
	cr_assert_str_eq(s->label, ANN_LABEL);
	cr_assert_str_eq(s->contact, "ann");
	cr_assert_str_eq(s->site, "home");
	cr_assert_str_eq(s->key, JOURNAL_KEY);
	cr_assert_str_eq(s->source, "feeder");
	cr_assert_str_eq(s->code, "journal_unavailable");
	cr_assert_str_eq(s->level, "critical");
	cr_assert_str_eq(s->message, "journal write failed: Read-only file system");
	cr_assert_eq(s->since_ms, T0, "since: our clock at receipt, not the sender's ts");
	cr_assert_eq(s->ts_ms, T0);
	cr_assert_not(s->test);
	cr_assert_eq(stub_count(ALERT), 0, "someone else's alert is not published again");

	journal_entry(entry, sizeof(entry), T0, T0, NULL, 0);
	snprintf(want, sizeof(want), "{\"active\":[%s],\"ts\":%lld}", entry, T0);
	cr_assert_str_eq(last(ALERTS, true)->payload, want);

	/* The broker connects while the send is in flight: owed, one. */
	stub_advance(1000);
	broker_connect();
	status_json(want, sizeof(want), 1, 1, 0, 0, 0,
		    idle_chan(ann, sizeof(ann), "ann", ANN_LABEL),
		    idle_chan(bob, sizeof(bob), "bob", BOB_LABEL), T0 + 1000);
	cr_assert_str_eq(last(STATUS, true)->payload, want);

	/* It finishes after the connect: the retained status says so (the
	 * race of 0f0689e left "depth":1 here). */
	stub_advance(500);
	size_t before = stub_count(STATUS);
	stub_complete(0, SEND_OK, NULL);
	cr_assert_gt(stub_count(STATUS), before);
	chan_json(ann, sizeof(ann), "ann", ANN_LABEL, 1, 0, T0 + 1500, NULL, 0);
	status_json(want, sizeof(want), 0, 1, 1, 0, 0, ann,
		    idle_chan(bob, sizeof(bob), "bob", BOB_LABEL), T0 + 1500);
	cr_assert_str_eq(last(STATUS, true)->payload, want);
	cr_assert_eq(stub_n_sends, 1);
	cr_assert_eq(stub_pending(), 0);
}

Test(notify_app, an_info_alert_goes_to_the_contacts_wanting_info_only)
{
	msg(ALERT, "{\"source\":\"sensors\",\"level\":\"info\",\"code\":\"low_stock\","
		   "\"message\":\"5 days of pills left\",\"ts\":1796137100000}");
	cr_assert_eq(stub_n_sends, 1);
	cr_assert_str_eq(stub_sends[0].contact, "ann", "bob wants critical only");
	cr_assert_str_eq(stub_sends[0].level, "info");
	stub_complete(0, SEND_OK, NULL);
	stub_advance(2 * 3600 * 1000LL);
	cr_assert_eq(stub_n_sends, 1, "info is not repeated");
}

Test(notify_app, a_temporary_failure_is_retried_after_the_backoff_not_before)
{
	char want[1024], ann[256], bob[256];

	cr_assert_eq(policy_backoff_ms(1), 30000, "the policy's first back-off");
	msg(ALERT, JOURNAL);
	cr_assert_eq(stub_n_sends, 1);
	stub_advance(2000);
	stub_complete(0, SEND_RETRY, "timeout");
	int64_t failed_at = T0 + 2000;
	chan_json(ann, sizeof(ann), "ann", ANN_LABEL, 0, 1, 0, "timeout", failed_at);
	status_json(want, sizeof(want), 1, 1, 0, 1, 0, ann,
		    idle_chan(bob, sizeof(bob), "bob", BOB_LABEL), failed_at);
	cr_assert_str_eq(last(STATUS, true)->payload, want);

	int64_t due;
	cr_assert(stub_timer_armed(&due));
	stub_advance(30000 - 1);
	cr_assert_eq(stub_n_sends, 1, "retried before the back-off");
	stub_advance(2); /* the timer's one ms of slack */
	cr_assert_eq(stub_n_sends, 2, "not retried at the back-off");
	cr_assert_geq(stub_sends[1].ts_ms, failed_at + 30000);
	cr_assert_leq(stub_sends[1].ts_ms, failed_at + 30001);
	cr_assert_str_eq(stub_sends[1].contact, "ann");
	cr_assert_str_eq(stub_sends[1].key, JOURNAL_KEY);

	stub_complete(1, SEND_OK, NULL);
	chan_json(ann, sizeof(ann), "ann", ANN_LABEL, 1, 1, stub_wall_ms, "timeout", failed_at);
	status_json(want, sizeof(want), 0, 1, 1, 1, 0, ann,
		    idle_chan(bob, sizeof(bob), "bob", BOB_LABEL), stub_wall_ms);
	cr_assert_str_eq(last(STATUS, true)->payload, want);
}

Test(notify_app, a_second_temporary_failure_waits_twice_as_long)
{
	msg(ALERT, JOURNAL);
	stub_complete(0, SEND_RETRY, "HTTP 503");
	stub_advance(30001);
	cr_assert_eq(stub_n_sends, 2);
	int64_t second = stub_wall_ms;
	stub_complete(1, SEND_RETRY, "HTTP 503");
	stub_advance(60000 - 1);
	cr_assert_eq(stub_n_sends, 2, "retried before 60 s");
	stub_advance(2);
	cr_assert_eq(stub_n_sends, 3);
	cr_assert_geq(stub_sends[2].ts_ms, second + 60000);
}

Test(notify_app, a_permanent_failure_is_given_up_and_raises_notify_failed)
{
	char want[1024], ann[256], bob[256];

	msg(ALERT, JOURNAL);
	stub_advance(1000);
	stub_complete(0, SEND_PERMANENT, "SMTP 550");
	int64_t at = T0 + 1000;

	/* Our own alert, on the alert topic (QoS 1, not retained) and in the set. */
	snprintf(want, sizeof(want),
		 "{\"source\":\"notify\",\"level\":\"warning\",\"code\":\"notify_failed\","
		 "\"message\":\"could not tell ann (URL 1) about " JOURNAL_KEY
		 ": SMTP 550\",\"subject\":\"ann\",\"ts\":%lld}",
		 (long long)at);
	cr_assert_eq(stub_count(ALERT), 1);
	cr_assert_str_eq(last(ALERT, false)->payload, want);
	cJSON *set = cJSON_Parse(last(ALERTS, true)->payload);
	cr_assert_not_null(set);
	cJSON *active = cJSON_GetObjectItem(set, "active");
	cr_assert_eq(cJSON_GetArraySize(active), 2);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(active, 1), "key")->valuestring,
			 "notify/notify_failed/ann");
	cJSON_Delete(set);

	/* notify_failed is a warning: told to ann (the only one wanting warnings). */
	cr_assert_eq(stub_n_sends, 2);
	cr_assert_str_eq(stub_sends[1].key, "notify/notify_failed/ann");
	cr_assert_str_eq(stub_sends[1].contact, "ann");

	chan_json(ann, sizeof(ann), "ann", ANN_LABEL, 0, 1, 0, "SMTP 550", at);
	status_json(want, sizeof(want), 1, 2, 0, 1, 1, ann,
		    idle_chan(bob, sizeof(bob), "bob", BOB_LABEL), at);
	cr_assert_str_eq(last(STATUS, true)->payload, want);

	/* Given up is final: the journal alert to ann is never tried again. */
	stub_complete(1, SEND_OK, NULL);
	stub_advance(10 * 60 * 1000LL);
	for (size_t i = 2; i < stub_n_sends; i++)
		cr_assert(strcmp(stub_sends[i].key, JOURNAL_KEY) != 0 ||
			      strcmp(stub_sends[i].contact, "ann") != 0,
			  "send %zu: a given-up delivery tried again", i);
}

Test(notify_app, a_duplicate_alert_while_active_sends_nothing_more)
{
	char want[1024], entry[512];

	msg(ALERT, JOURNAL);
	stub_complete(0, SEND_OK, NULL);
	stub_advance(60000);
	size_t sets = stub_count(ALERTS);
	msg(ALERT, JOURNAL);
	msg(ALERT, JOURNAL);
	cr_assert_eq(stub_n_sends, 1, "the same key while active is not told again");
	journal_entry(entry, sizeof(entry), T0, T0 + 60000, NULL, 0);
	snprintf(want, sizeof(want), "{\"active\":[%s],\"ts\":%lld}", entry, T0 + 60000);
	cr_assert_str_eq(last(ALERTS, true)->payload, want, "updated, the same occurrence");
	cr_assert_gt(stub_count(ALERTS), sets);
}

Test(notify_app, a_recovery_clears_what_it_recovers_from_the_set)
{
	char want[1024];

	msg(ALERT, "{\"source\":\"sensors\",\"level\":\"warning\",\"code\":\"sensor_lost\","
		   "\"subject\":\"temperature\",\"message\":\"no reading for 120 s\","
		   "\"ts\":1796137100000}");
	cr_assert_eq(stub_n_sends, 1);
	stub_complete(0, SEND_OK, NULL);
	snprintf(want, sizeof(want),
		 "{\"active\":[{\"key\":\"sensors/sensor_lost/temperature\",\"source\":\"sensors\","
		 "\"code\":\"sensor_lost\",\"subject\":\"temperature\",\"level\":\"warning\","
		 "\"message\":\"no reading for 120 s\",\"since\":%lld,\"updated\":%lld,"
		 "\"acked_by\":null,\"acked_at\":null}],\"ts\":%lld}",
		 T0, T0, T0);
	cr_assert_str_eq(last(ALERTS, true)->payload, want);

	stub_advance(5000);
	msg(ALERT,
	    "{\"source\":\"sensors\",\"level\":\"info\",\"code\":\"sensor_recovered\","
	    "\"subject\":\"temperature\",\"message\":\"readings again\",\"ts\":1796137105000}");
	snprintf(want, sizeof(want), "{\"active\":[],\"ts\":%lld}", T0 + 5000);
	cr_assert_str_eq(last(ALERTS, true)->payload, want);
	cr_assert_eq(stub_n_sends, 1, "a recovery is a fact, not told");
	stub_advance(2 * 3600 * 1000LL);
	cr_assert_eq(stub_n_sends, 1, "a cleared warning is not repeated");

	/* Raised after it was cleared: a new occurrence, told again. */
	msg(ALERT, "{\"source\":\"sensors\",\"level\":\"warning\",\"code\":\"sensor_lost\","
		   "\"subject\":\"temperature\",\"message\":\"no reading for 120 s\","
		   "\"ts\":1796144400000}");
	cr_assert_eq(stub_n_sends, 2);
}

/* ---- notify/cmd ---- */

Test(notify_app, ack_is_answered_ok_marks_the_alert_and_stops_repeats)
{
	char want[1024], entry[512];

	msg(ALERT, JOURNAL);
	stub_complete(0, SEND_OK, NULL);
	stub_advance(120000);
	msg(CMD, "{\"id\":\"a1\",\"action\":\"ack\",\"key\":\"" JOURNAL_KEY "\",\"by\":\"ann\"}");
	assert_event("a1", "ack", "ok", NULL, NULL);
	journal_entry(entry, sizeof(entry), T0, T0, "ann", T0 + 120000);
	snprintf(want, sizeof(want), "{\"active\":[%s],\"ts\":%lld}", entry, T0 + 120000);
	cr_assert_str_eq(last(ALERTS, true)->payload, want);

	/* Neither the escalation to bob (15 min) nor the hourly repeat. */
	stub_advance(3 * 3600 * 1000LL);
	cr_assert_eq(stub_n_sends, 1, "told after the ack");

	/* A second ack: the first stands. */
	msg(CMD, "{\"id\":\"a2\",\"action\":\"ack\",\"key\":\"" JOURNAL_KEY "\",\"by\":\"bob\"}");
	assert_event("a2", "ack", "duplicate", "already_acked", "acked by ann");
	msg(CMD, "{\"id\":\"a3\",\"action\":\"ack\",\"key\":\"feeder/no_such\",\"by\":\"ann\"}");
	assert_event("a3", "ack", "failed", "unknown_key", NULL);
	cr_assert_eq(stub_n_sends, 1);
}

Test(notify_app, test_for_a_contact_is_sent_and_for_an_unknown_one_failed)
{
	msg(CMD, "{\"id\":\"t0\",\"action\":\"test\",\"to\":\"carol\"}");
	assert_event("t0", "test", "failed", "unknown_contact", NULL);
	cr_assert_eq(stub_n_sends, 0);

	msg(CMD, "{\"id\":\"t1\",\"action\":\"test\",\"to\":\"bob\",\"by\":\"operator\"}");
	assert_event("t1", "test", "ok", NULL, NULL);
	cr_assert_eq(stub_n_sends, 1);
	cr_assert(stub_sends[0].test);
	cr_assert_str_eq(stub_sends[0].contact, "bob");
	cr_assert_str_eq(stub_sends[0].label, BOB_LABEL);
	cr_assert_str_eq(stub_sends[0].key, "notify/test");
	cr_assert_str_eq(stub_sends[0].message,
			 "a test notification from iod-notify, asked by operator");
	stub_complete(0, SEND_OK, NULL);
	cJSON *st = cJSON_Parse(last(STATUS, true)->payload);
	cr_assert_not_null(st);
	cJSON *ob = cJSON_GetObjectItem(st, "outbox");
	cr_assert_eq(cJSON_GetObjectItem(ob, "depth")->valueint, 0);
	cr_assert_eq(cJSON_GetObjectItem(ob, "delivered")->valueint, 1);
	cJSON_Delete(st);
	cr_assert_eq(stub_count(ALERTS), 0, "a test is no alert");
}

Test(notify_app, malformed_and_retained_commands_are_rejected_naming_the_reason)
{
	static const struct {
		const char *payload, *id, *action, *reason;
	} bad[] = {
	    {"{\"id\":\"x1\",\"action\":\"ack\"", "", "unknown", "bad_json"},
	    {"", "", "unknown", "empty_payload"},
	    {"[1,2]", "", "unknown", "not_object"},
	    {"ack", "", "ack", "missing_key"},
	    {"test", "", "test", "missing_to"},
	    {"{\"id\":\"x2\",\"action\":\"feed\"}", "x2", "unknown", "unknown_action"},
	    {"{\"id\":\"x3\",\"action\":\"ack\",\"key\":\"" JOURNAL_KEY "\"}", "x3", "ack",
	     "missing_by"},
	    {"{\"id\":\"x4\",\"action\":\"ack\",\"key\":\"no spaces\",\"by\":\"ann\"}", "x4", "ack",
	     "bad_key"},
	    {"{\"id\":\"x5\",\"action\":\"test\",\"to\":\"a b\"}", "x5", "test", "bad_to"},
	};

	msg(ALERT, JOURNAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = stub_count(EVENT);
		msg(CMD, bad[i].payload);
		cr_assert_eq(stub_count(EVENT), n + 1, "'%s': not answered", bad[i].payload);
		const char *got = last(EVENT, false)->payload;
		char want[256];
		snprintf(
		    want, sizeof(want),
		    "{\"id\":\"%s\",\"action\":\"%s\",\"result\":\"rejected\",\"reason\":\"%s\","
		    "\"ts\":%lld}",
		    bad[i].id, bad[i].action, bad[i].reason, (long long)stub_wall_ms);
		cr_assert_str_eq(got, want, "'%s'", bad[i].payload);
	}

	/* A good ack, but retained: rejected, and the alert is not acked. */
	const char *ack =
	    "{\"id\":\"r1\",\"action\":\"ack\",\"key\":\"" JOURNAL_KEY "\",\"by\":\"ann\"}";
	deliver_msg(CMD, ack, strlen(ack), true);
	assert_event("r1", "ack", "rejected", "retained", NULL);
	const char *test = "{\"id\":\"r2\",\"action\":\"test\",\"to\":\"ann\"}";
	deliver_msg(CMD, test, strlen(test), true);
	assert_event("r2", "test", "rejected", "retained", NULL);
	cr_assert_null(strstr(last(ALERTS, true)->payload, "\"acked_by\":\"ann\""));
	cr_assert_eq(stub_n_sends, 1, "nothing more sent");
	stub_advance(15 * 60 * 1000LL + 1);
	cr_assert_eq(stub_n_sends, 2, "still unacked: escalated");
}

Test(notify_app, garbage_on_every_topic_is_refused_and_nothing_crashes)
{
	static const char *const topics[] = {ALERT,
					     CMD,
					     "iod/home/feeder/schedule",
					     "iod/home/feeder/plan",
					     "iod/home/feeder/availability",
					     "iod/home/notify/status",
					     "elsewhere"};
	unsigned char buf[512];
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rand_r(&seed);
		/* half the rounds something JSON-looking */
		if (round % 2 && len > 2) {
			buf[0] = '{';
			buf[len - 1] = '}';
		}
		for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++)
			deliver_msg(topics[t], buf, len, round % 3 == 0);
	}
	msg(ALERT, "{\"source\":\"feeder\",\"level\":\"loud\",\"code\":\"x\",\"message\":\"m\","
		   "\"ts\":1}");
	msg(ALERT, "{\"source\":\"feeder\"}");
	cr_assert_eq(stub_n_sends, 0, "nothing told from garbage");
	cr_assert_eq(stub_count(ALERTS), 0, "the set never changed");
	/* Every command was answered rejected. */
	for (size_t i = 0; i < stub_n_published; i++)
		if (strcmp(stub_published[i].topic, EVENT) == 0)
			cr_assert(strstr(stub_published[i].payload, "\"result\":\"rejected\""),
				  "%s", stub_published[i].payload);
	cr_assert_eq(stub_count(EVENT), 200);

	/* And the glue still works. */
	msg(ALERT, JOURNAL);
	cr_assert_eq(stub_n_sends, 1);
}

/* ---- escalation ---- */

Test(notify_app, a_critical_not_acked_escalates_to_the_next_contact_then_repeats)
{
	const int64_t after = 15 * 60 * 1000LL; /* IOD_NOTIFY_ESCALATE_AFTER's default */

	msg(ALERT, JOURNAL);
	cr_assert_eq(stub_n_sends, 1);
	stub_complete(0, SEND_OK, NULL);
	stub_advance(after - 1);
	cr_assert_eq(stub_n_sends, 1, "escalated early");
	stub_advance(2);
	cr_assert_eq(stub_n_sends, 2, "not escalated at %lld ms", (long long)after);
	cr_assert_str_eq(stub_sends[1].contact, "bob");
	cr_assert_str_eq(stub_sends[1].label, BOB_LABEL);
	cr_assert_eq(stub_sends[1].kind, CHANNEL_NTFY);
	cr_assert_str_eq(stub_sends[1].key, JOURNAL_KEY);
	cr_assert_eq(stub_sends[1].since_ms, T0);
	stub_complete(1, SEND_OK, NULL);

	/* IOD_NOTIFY_REPEAT (1 h): everyone told so far, once each. */
	stub_advance(3600 * 1000LL - after - 2);
	cr_assert_eq(stub_n_sends, 2);
	stub_advance(2);
	cr_assert_eq(stub_n_sends, 4);
	cr_assert_str_eq(stub_sends[2].contact, "ann");
	cr_assert_str_eq(stub_sends[3].contact, "bob");

	/* An ack after the escalation stops the rest. */
	stub_complete(2, SEND_OK, NULL);
	stub_complete(3, SEND_OK, NULL);
	msg(CMD, "{\"id\":\"a9\",\"action\":\"ack\",\"key\":\"" JOURNAL_KEY "\",\"by\":\"bob\"}");
	assert_event("a9", "ack", "ok", NULL, NULL);
	stub_advance(5 * 3600 * 1000LL);
	cr_assert_eq(stub_n_sends, 4);
}

/* ---- the stop path ---- */

Test(notify_app, a_send_in_flight_at_the_stop_is_cancelled_and_kept_owed)
{
	msg(ALERT, JOURNAL);
	cr_assert_eq(stub_pending(), 1);
	size_t statuses = stub_count(STATUS);
	notify_service.stop(app);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(stub_pending(), 0, "cancelled by sender_close");
	cr_assert_eq(stub_count(STATUS), statuses, "nothing counted for a cancelled send");
	/* down() stops again: idempotent. */
}

/* ---- the watchdog's alerts, and the facts that clear them ---- */

/* The newest alert of our own on the alert topic, parsed: code, subject, level. */
static void assert_own_alert(const char *code, const char *subject, const char *level)
{
	cJSON *o = cJSON_Parse(last(ALERT, false)->payload);

	cr_assert_not_null(o);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "source")->valuestring, "notify");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "code")->valuestring, code);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "subject")->valuestring, subject);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "level")->valuestring, level);
	cr_assert_eq((int64_t)cJSON_GetObjectItem(o, "ts")->valuedouble, stub_wall_ms);
	cJSON_Delete(o);
}

Test(notify_app, a_service_offline_too_long_is_raised_and_its_online_clears_it)
{
	const int64_t after = 5 * 60 * 1000LL; /* IOD_NOTIFY_OFFLINE_AFTER's default */
	char want[128];

	msg("iod/home/notify/availability", "offline"); /* our own: never watched */
	msg("iod/home/camera/availability", "sleepy");	/* neither word: ignored */
	msg("iod/home/feeder/availability", "offline");
	stub_advance(after - 1);
	cr_assert_eq(stub_count(ALERT), 0, "raised early");
	stub_advance(2);
	cr_assert_eq(stub_count(ALERT), 1);
	assert_own_alert("service_offline", "feeder", "warning");
	cr_assert_eq(stub_n_sends, 1, "a warning: ann");
	cr_assert_str_eq(stub_sends[0].key, "notify/service_offline/feeder");
	cr_assert_str_eq(stub_sends[0].contact, "ann");
	cr_assert(strstr(last(ALERTS, true)->payload, "\"key\":\"notify/service_offline/feeder\""));
	stub_complete(0, SEND_OK, NULL);

	stub_advance(60000);
	msg("iod/home/feeder/availability", "online");
	snprintf(want, sizeof(want), "{\"active\":[],\"ts\":%lld}", (long long)stub_wall_ms);
	cr_assert_str_eq(last(ALERTS, true)->payload, want);
	stub_advance(3 * 3600 * 1000LL);
	cr_assert_eq(stub_n_sends, 1, "cleared: not repeated");
	cr_assert_eq(stub_count(ALERT), 1);
}

Test(notify_app, a_slot_pending_past_its_grace_is_dose_overdue_until_given)
{
	const int64_t grace = 3600 * 1000LL; /* no feeder/plan seen: the feeder's default */
	char sched[512], want[128];

	snprintf(sched, sizeof(sched),
		 "{\"date\":\"2026-12-01\",\"slots\":[{\"slot\":\"2026-12-01T15:00\",\"at\":%lld,"
		 "\"status\":\"pending\",\"dose\":null}],\"ts\":%lld}",
		 T0, T0);
	msg("iod/home/feeder/schedule", sched);
	stub_advance(grace - 1);
	cr_assert_eq(stub_count(ALERT), 0, "raised early");
	stub_advance(2);
	cr_assert_eq(stub_count(ALERT), 1);
	assert_own_alert("dose_overdue", "2026-12-01T15:00", "critical");
	cr_assert_eq(stub_n_sends, 1, "a critical: the first contact");
	cr_assert_str_eq(stub_sends[0].key, "notify/dose_overdue/2026-12-01T15:00");
	cr_assert_str_eq(stub_sends[0].contact, "ann");
	stub_complete(0, SEND_OK, NULL);

	stub_advance(60000);
	snprintf(sched, sizeof(sched),
		 "{\"date\":\"2026-12-01\",\"slots\":[{\"slot\":\"2026-12-01T15:00\",\"at\":%lld,"
		 "\"status\":\"late\",\"dose\":\"schedule-2026-12-01T15:00\"}],\"ts\":%lld}",
		 T0, (long long)stub_wall_ms);
	msg("iod/home/feeder/schedule", sched);
	snprintf(want, sizeof(want), "{\"active\":[],\"ts\":%lld}", (long long)stub_wall_ms);
	cr_assert_str_eq(last(ALERTS, true)->payload, want);
	stub_advance(3600 * 1000LL);
	cr_assert_eq(stub_n_sends, 1, "given late: neither escalated nor repeated");
}

/* ---- settings: quiet hours (in a zone of the test's choosing), retry_for ---- */

/* T0 is 16:00 in Berlin (15:00 UTC; CET is UTC+1): inside 15:30-17:00,
 * which ends at T0 + 1 h. */
static void up_quiet(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	up_with("--notify-quiet=15:30-17:00");
}

TestSuite(notify_quiet, .init = up_quiet, .fini = down, .timeout = 30);

Test(notify_quiet, a_warning_waits_for_the_quiet_hours_end_a_critical_does_not)
{
	msg(ALERT,
	    "{\"source\":\"sensors\",\"level\":\"warning\",\"code\":\"sensor_lost\","
	    "\"subject\":\"weight\",\"message\":\"no reading for 120 s\",\"ts\":1796137100000}");
	cr_assert_eq(stub_n_sends, 0, "a warning in quiet hours is held");
	msg(ALERT, JOURNAL);
	cr_assert_eq(stub_n_sends, 1, "a critical never waits");
	cr_assert_str_eq(stub_sends[0].key, JOURNAL_KEY);
	stub_complete(0, SEND_OK, NULL);

	/* 16:59:59.999 local: still held. The escalation of the critical (15
	 * min) goes on meanwhile. */
	stub_advance(3600 * 1000LL - 1);
	for (size_t i = 0; i < stub_n_sends; i++)
		cr_assert_str_neq(stub_sends[i].key, "sensors/sensor_lost/weight", "told at %lld",
				  (long long)stub_sends[i].ts_ms);
	size_t before = stub_n_sends;
	stub_advance(2);
	cr_assert_gt(stub_n_sends, before);
	bool told = false;
	for (size_t i = before; i < stub_n_sends; i++)
		if (strcmp(stub_sends[i].key, "sensors/sensor_lost/weight") == 0) {
			told = true;
			cr_assert_str_eq(stub_sends[i].contact, "ann");
			cr_assert_geq(stub_sends[i].ts_ms, T0 + 3600 * 1000LL);
		}
	cr_assert(told, "the held warning is told when the quiet hours end");
}

/* notify/status's outbox counts, as last published. */
static void assert_outbox(int depth, int queued, int delivered, int failed, int given_up)
{
	cJSON *st = cJSON_Parse(last(STATUS, true)->payload);
	cJSON *ob = cJSON_GetObjectItem(st, "outbox");
	const char *p = last(STATUS, true)->payload;

	cr_assert_not_null(ob, "%s", p);
	cr_assert_eq(cJSON_GetObjectItem(ob, "depth")->valueint, depth, "%s", p);
	cr_assert_eq(cJSON_GetObjectItem(ob, "queued")->valueint, queued, "%s", p);
	cr_assert_eq(cJSON_GetObjectItem(ob, "delivered")->valueint, delivered, "%s", p);
	cr_assert_eq(cJSON_GetObjectItem(ob, "failed")->valueint, failed, "%s", p);
	cr_assert_eq(cJSON_GetObjectItem(ob, "given_up")->valueint, given_up, "%s", p);
	cr_assert_eq((int64_t)cJSON_GetObjectItem(st, "ts")->valuedouble, stub_wall_ms, "%s", p);
	cJSON_Delete(st);
}

static void up_retry_for(void)
{
	up_with("--notify-retry-for=2m");
}

TestSuite(notify_retry_for, .init = up_retry_for, .fini = down, .timeout = 30);

Test(notify_retry_for, a_delivery_failing_past_retry_for_is_given_up_with_its_last_error)
{
	msg(ALERT, JOURNAL);
	stub_complete(0, SEND_RETRY, "HTTP 503");
	stub_advance(30001);
	cr_assert_eq(stub_n_sends, 2);
	stub_complete(1, SEND_RETRY, "HTTP 503");
	stub_advance(60001);
	cr_assert_eq(stub_n_sends, 3, "retried while within 2 min of being queued");
	stub_complete(2, SEND_RETRY, "timeout");
	cr_assert_eq(stub_count(ALERT), 0, "90 s after queued: not given up yet");

	/* The next attempt is due 120 s later, past retry_for: given up
	 * instead, naming the last error. */
	stub_advance(120001);
	cr_assert_eq(stub_count(ALERT), 1);
	assert_own_alert("notify_failed", "ann", "warning");
	cr_assert(strstr(last(ALERT, false)->payload,
			 "could not tell ann (URL 1) about " JOURNAL_KEY ": timeout"),
		  "%s", last(ALERT, false)->payload);
	for (size_t i = 3; i < stub_n_sends; i++)
		cr_assert_str_neq(stub_sends[i].key, JOURNAL_KEY, "tried past retry_for");
	/* Said on notify/status at once (no send_done follows a give-up in the
	 * tick): the notify_failed to ann is the one owed now. */
	assert_outbox(1, 2, 0, 3, 1);
	cr_assert_eq(stub_n_sends, 4);
	cr_assert_str_eq(stub_sends[3].key, "notify/notify_failed/ann");

	/* That one fails as long: given up too, and no third alert about
	 * telling ann (it is active already), so only the status says so. */
	stub_complete(3, SEND_RETRY, "timeout");
	stub_advance(30001);
	stub_complete(4, SEND_RETRY, "timeout");
	stub_advance(60001);
	stub_complete(5, SEND_RETRY, "timeout");
	stub_advance(120001);
	cr_assert_eq(stub_n_sends, 6);
	cr_assert_eq(stub_count(ALERT), 1);
	assert_outbox(0, 2, 0, 6, 2);
}
