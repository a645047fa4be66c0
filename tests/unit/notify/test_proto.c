/* proto/notify.c: `alerts`, notify/cmd and notify/status, every refusal with its reason. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define assert_json(got_expr, want)                                                                \
	do {                                                                                       \
		char *got_ = (got_expr);                                                           \
		cr_assert_not_null(got_, "encoder returned NULL");                                 \
		cr_assert_str_eq(got_, (want));                                                    \
		free(got_);                                                                        \
	} while (0)

static void fill(struct proto_active_alert *e, const char *source, const char *code,
		 const char *subject, enum proto_level level, const char *msg)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->alert.source, source);
	strcpy(e->alert.code, code);
	strcpy(e->alert.subject, subject);
	strcpy(e->alert.message, msg);
	e->alert.level = level;
	cr_assert_eq(proto_alert_key(&e->alert, e->key, sizeof(e->key)), 0);
}

static const char *const TWO =
    "{\"active\":[{\"key\":\"notify/dose_overdue/2026-12-01T15:00\",\"source\":\"notify\","
    "\"code\":\"dose_overdue\",\"subject\":\"2026-12-01T15:00\",\"level\":\"critical\","
    "\"message\":\"dose 15:00 overdue\",\"since\":1000,\"updated\":2000,\"acked_by\":null,"
    "\"acked_at\":null},{\"key\":\"feeder/journal_unavailable\",\"source\":\"feeder\","
    "\"code\":\"journal_unavailable\",\"level\":\"warning\",\"message\":\"disk\",\"since\":5,"
    "\"updated\":5,\"acked_by\":\"ann\",\"acked_at\":7}],\"ts\":9}";

Test(notify_alerts, encode_and_round_trip, .timeout = 10)
{
	struct proto_alerts s, back;
	const char *reason = "unset";
	char *json;

	memset(&s, 0, sizeof(s));
	fill(&s.active[0], "notify", "dose_overdue", "2026-12-01T15:00", PROTO_LEVEL_CRITICAL,
	     "dose 15:00 overdue");
	s.active[0].since_ms = 1000;
	s.active[0].alert.ts_ms = 2000;
	fill(&s.active[1], "feeder", "journal_unavailable", "", PROTO_LEVEL_WARNING, "disk");
	s.active[1].since_ms = 5;
	s.active[1].alert.ts_ms = 5;
	strcpy(s.active[1].acked_by, "ann");
	s.active[1].acked_at_ms = 7;
	s.n = 2;
	s.ts_ms = 9;
	json = proto_alerts_encode(&s);
	cr_assert_not_null(json);
	cr_assert_str_eq(json, TWO);
	cr_assert_eq(proto_alerts_decode(json, strlen(json), &back, &reason), 0, "%s", reason);
	free(json);
	cr_assert_eq(back.n, 2);
	cr_assert_str_eq(back.active[0].key, "notify/dose_overdue/2026-12-01T15:00");
	cr_assert_str_eq(back.active[0].alert.subject, "2026-12-01T15:00");
	cr_assert_eq(back.active[0].alert.level, PROTO_LEVEL_CRITICAL);
	cr_assert_eq(back.active[0].since_ms, 1000);
	cr_assert_eq(back.active[0].alert.ts_ms, 2000);
	cr_assert_str_eq(back.active[0].acked_by, "");
	cr_assert_eq(back.active[0].acked_at_ms, 0);
	cr_assert_str_eq(back.active[1].acked_by, "ann");
	cr_assert_eq(back.active[1].acked_at_ms, 7);
	cr_assert_eq(back.ts_ms, 9);
}

Test(notify_alerts, empty_set, .timeout = 10)
{
	struct proto_alerts s;

	memset(&s, 0, sizeof(s));
	s.ts_ms = 3;
	assert_json(proto_alerts_encode(&s), "{\"active\":[],\"ts\":3}");
	s.n = PROTO_ALERTS_MAX + 1;
	cr_assert_null(proto_alerts_encode(&s));
}

static void alerts_reject(const char *s, const char *want)
{
	struct proto_alerts out;
	const char *reason = NULL;

	cr_assert_eq(proto_alerts_decode(s, strlen(s), &out, &reason), -1, "accepted %s", s);
	cr_assert_str_eq(reason, want, "payload %s", s);
}

#define ENTRY(key, extra)                                                                          \
	"{\"active\":[{\"key\":\"" key "\",\"source\":\"feeder\",\"code\":\"missed_dose\","        \
	"\"level\":\"critical\",\"message\":\"m\",\"since\":1,\"updated\":1" extra "}],\"ts\":1}"

Test(notify_alerts, refusals, .timeout = 10)
{
	alerts_reject("", "empty_payload");
	alerts_reject("[]", "not_object");
	alerts_reject("{\"ts\":1}", "missing_active");
	alerts_reject("{\"active\":{},\"ts\":1}", "bad_active");
	alerts_reject("{\"active\":[1],\"ts\":1}", "bad_active");
	alerts_reject("{\"active\":[]}", "missing_ts");
	/* The key must be the alert's own. */
	alerts_reject(ENTRY("feeder/other", ",\"acked_by\":null,\"acked_at\":null"), "bad_key");
	alerts_reject(ENTRY("feeder/missed_dose", ""), "missing_acked_by");
	alerts_reject(ENTRY("feeder/missed_dose", ",\"acked_by\":null"), "missing_acked_at");
	alerts_reject(ENTRY("feeder/missed_dose", ",\"acked_by\":\"ann\",\"acked_at\":null"),
		      "bad_acked_at");
	alerts_reject(ENTRY("feeder/missed_dose", ",\"acked_by\":5,\"acked_at\":3"),
		      "bad_acked_by");
}

Test(notify_alerts, accepts_entry, .timeout = 10)
{
	const char *s = ENTRY("feeder/missed_dose", ",\"acked_by\":null,\"acked_at\":null");
	struct proto_alerts out;
	const char *reason = "unset";

	cr_assert_eq(proto_alerts_decode(s, strlen(s), &out, &reason), 0, "%s", reason);
	cr_assert_eq(out.n, 1);
}

/* ---- notify/cmd ---- */

static void cmd_reject(const char *s, const char *want, bool has_action)
{
	struct proto_notify_cmd c;
	const char *reason = NULL;

	cr_assert_eq(proto_notify_cmd_decode(s, strlen(s), &c, &reason), -1, "accepted %s", s);
	cr_assert_str_eq(reason, want, "payload %s", s);
	cr_assert_eq(c.has_action, has_action, "payload %s", s);
}

Test(notify_cmd, ack_and_test, .timeout = 10)
{
	struct proto_notify_cmd c;
	const char *reason = "unset";
	const char *ack = "{\"id\":\"a1\",\"action\":\"ack\",\"key\":\"feeder/missed_dose/"
			  "2026-12-01T15:00\",\"by\":\"ann\",\"ts\":5}";
	const char *test = "{\"action\":\"test\",\"to\":\"bob\"}";

	cr_assert_eq(proto_notify_cmd_decode(ack, strlen(ack), &c, &reason), 0, "%s", reason);
	cr_assert_eq(c.action, PROTO_NOTIFY_ACK);
	cr_assert_str_eq(c.id, "a1");
	cr_assert_str_eq(c.key, "feeder/missed_dose/2026-12-01T15:00");
	cr_assert_str_eq(c.by, "ann");
	cr_assert(c.has_ts);
	cr_assert_eq(c.ts_ms, 5);
	assert_json(proto_notify_cmd_encode(&c),
		    "{\"action\":\"ack\",\"id\":\"a1\",\"by\":\"ann\",\"ts\":5,\"key\":\"feeder/"
		    "missed_dose/2026-12-01T15:00\"}");
	cr_assert_eq(proto_notify_cmd_decode(test, strlen(test), &c, &reason), 0, "%s", reason);
	cr_assert_eq(c.action, PROTO_NOTIFY_TEST);
	cr_assert_str_eq(c.to, "bob");
	cr_assert_str_eq(c.id, "");
	assert_json(proto_notify_cmd_encode(&c), "{\"action\":\"test\",\"to\":\"bob\"}");
}

Test(notify_cmd, refusals, .timeout = 10)
{
	cmd_reject("", "empty_payload", false);
	cmd_reject("{", "bad_json", false);
	cmd_reject("[1]", "not_object", false);
	cmd_reject("feed", "unknown_action", false);
	cmd_reject("ack", "missing_key", true);
	cmd_reject("test", "missing_to", true);
	cmd_reject("{}", "missing_action", false);
	cmd_reject("{\"action\":1}", "bad_action", false);
	cmd_reject("{\"action\":\"snooze\"}", "unknown_action", false);
	cmd_reject("{\"id\":\"a b\",\"action\":\"ack\"}", "bad_id", false);
	cmd_reject("{\"action\":\"ack\",\"by\":\"ann\"}", "missing_key", true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"a b\",\"by\":\"ann\"}", "bad_key", true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"\",\"by\":\"ann\"}", "bad_key", true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"feeder/x\"}", "missing_by", true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"feeder/x\",\"by\":\"\"}", "missing_by", true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"feeder/x\",\"by\":\"a\\u0001\"}", "bad_by", true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"feeder/x\",\"by\":7}", "bad_by", true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"feeder/x\",\"by\":\"a\",\"ts\":-1}", "bad_ts",
		   true);
	cmd_reject("{\"action\":\"ack\",\"key\":\"a\",\"key\":\"b\",\"by\":\"a\"}", "duplicate_key",
		   true);
	cmd_reject("{\"action\":\"test\"}", "missing_to", true);
	cmd_reject("{\"action\":\"test\",\"to\":\"a/b\"}", "bad_to", true);
	cmd_reject("{\"action\":\"test\",\"to\":3}", "bad_to", true);
}

Test(notify_cmd, validators, .timeout = 10)
{
	char long_key[PROTO_ALERT_KEY_MAX + 1];

	cr_assert(proto_alert_key_valid("feeder/missed_dose/2026-12-01T15:00"));
	cr_assert_not(proto_alert_key_valid(""));
	cr_assert_not(proto_alert_key_valid("a+b"));
	memset(long_key, 'a', PROTO_ALERT_KEY_MAX - 1);
	long_key[PROTO_ALERT_KEY_MAX - 1] = '\0';
	cr_assert(proto_alert_key_valid(long_key));
	long_key[PROTO_ALERT_KEY_MAX - 1] = 'a';
	long_key[PROTO_ALERT_KEY_MAX] = '\0';
	cr_assert_not(proto_alert_key_valid(long_key));
	cr_assert(proto_contact_valid("ann.b-c_1"));
	cr_assert_not(proto_contact_valid("ann b"));
	cr_assert_not(proto_contact_valid(""));
}

/* ---- notify/event: the feeder's shape ---- */

Test(notify_event, feeder_shape, .timeout = 10)
{
	struct proto_feeder_event ev;

	memset(&ev, 0, sizeof(ev));
	strcpy(ev.id, "a1");
	strcpy(ev.action, "ack");
	ev.result = PROTO_RESULT_FAILED;
	strcpy(ev.reason, PROTO_REASON_UNKNOWN_KEY);
	ev.ts_ms = 4;
	assert_json(proto_feeder_event_encode(&ev),
		    "{\"id\":\"a1\",\"action\":\"ack\",\"result\":\"failed\",\"reason\":"
		    "\"unknown_key\",\"ts\":4}");
}

/* ---- notify/status ---- */

Test(notify_status, encode, .timeout = 10)
{
	struct proto_notify_status s;

	memset(&s, 0, sizeof(s));
	s.depth = 2;
	s.queued = 5;
	s.delivered = 3;
	s.n_channels = 2;
	strcpy(s.channels[0].contact, "ann");
	strcpy(s.channels[0].channel, "mailto://ann:***@mail");
	s.channels[0].sent = 3;
	s.channels[0].last_ok_ms = 10;
	strcpy(s.channels[1].contact, "bob");
	strcpy(s.channels[1].channel, "ntfy://ntfy.sh/x");
	s.channels[1].failed = 1;
	strcpy(s.channels[1].last_error, "HTTP 500");
	s.channels[1].last_error_ms = 11;
	s.ts_ms = 12;
	assert_json(proto_notify_status_encode(&s),
		    "{\"outbox\":{\"depth\":2,\"queued\":5,\"delivered\":3,\"failed\":0,"
		    "\"given_up\":0},\"channels\":[{\"contact\":\"ann\",\"channel\":\"mailto://"
		    "ann:***@mail\",\"sent\":3,\"failed\":0,\"last_ok\":10,\"last_error\":null,"
		    "\"last_error_at\":null},{\"contact\":\"bob\",\"channel\":\"ntfy://ntfy.sh/x\","
		    "\"sent\":0,\"failed\":1,\"last_ok\":null,\"last_error\":\"HTTP 500\","
		    "\"last_error_at\":11}],\"ts\":12}");
}
