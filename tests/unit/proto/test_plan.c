/*
 * The care plan's contract: feeder/plan, feeder/schedule, the plan, skip,
 * pause, resume, treat and refill commands, and the members issue 11 added
 * to feeder/event, feeder/state and feeder/log.
 */
#include "helpers.h"

#include <math.h>
#include <stdio.h>

/* The plan of proto/README.md's example. */
static const char PLAN_JSON[] =
    "{\"rev\":3,\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":true},"
    "{\"at\":\"19:00\",\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],\"enabled\":true}],"
    "\"min_interval_s\":21600,\"max_daily\":3,\"grace_s\":3600,\"paused\":false,"
    "\"paused_until\":null,\"treat\":{\"max_daily\":10,\"min_interval_s\":300},"
    "\"pills\":{\"remaining\":42,\"low_days\":5},\"bounds\":{\"min_interval_s\":14400,"
    "\"max_daily\":4},\"changed_by\":\"operator\",\"changed_at\":1764140400123}";

static struct proto_plan example_plan(void)
{
	struct proto_plan p = {.rev = 3,
			       .n_slots = 2,
			       .min_interval_s = 21600,
			       .max_daily = 3,
			       .grace_s = 3600,
			       .treat_max_daily = 10,
			       .treat_min_interval_s = 300,
			       .has_pills = true,
			       .pills_remaining = 42,
			       .low_days = 5,
			       .bound_min_interval_s = 14400,
			       .bound_max_daily = 4,
			       .changed_by = "operator",
			       .changed_at_ms = 1764140400123LL};

	p.slots[0] =
	    (struct proto_plan_slot){.minute = 7 * 60, .days = PROTO_DAYS_DAILY, .enabled = true};
	p.slots[1] = (struct proto_plan_slot){.minute = 19 * 60, .days = 0x1f, .enabled = true};
	return p;
}

static int cmd_decode(const char *s, struct proto_feeder_cmd *c, const char **reason)
{
	return proto_feeder_cmd_decode(s, strlen(s), c, reason);
}

/* A plan command with this "plan" member text. */
static void plan_cmd(char *buf, size_t cap, const char *plan)
{
	int n = snprintf(buf, cap, "{\"action\":\"plan\",\"id\":\"p-1\",\"plan\":%s}", plan);

	cr_assert(n > 0 && (size_t)n < cap);
}

/* The plan member is refused bad_plan with exactly this detail. */
static void expect_bad_plan(const char *plan, const char *detail)
{
	static char buf[8192];
	struct proto_feeder_cmd c;
	const char *reason = NULL;

	plan_cmd(buf, sizeof(buf), plan);
	cr_assert_eq(cmd_decode(buf, &c, &reason), -1, "accepted %s", plan);
	cr_assert_str_eq(reason, "bad_plan", "plan %s", plan);
	cr_assert_str_eq(c.detail, detail, "plan %s", plan);
	cr_assert_str_eq(c.id, "p-1");
	cr_assert(c.has_action);
	cr_assert_eq(c.action, PROTO_ACTION_PLAN);
}

static struct proto_plan_patch expect_patch(const char *plan)
{
	static char buf[8192];
	struct proto_feeder_cmd c;
	const char *reason = NULL;

	plan_cmd(buf, sizeof(buf), plan);
	cr_assert_eq(cmd_decode(buf, &c, &reason), 0, "refused %s: %s (%s)", plan, reason,
		     c.detail);
	cr_assert_str_eq(c.detail, "");
	return c.plan;
}

/* A payload refused with exactly this reason (and, when given, detail). */
static void expect_cmd_reject(const char *text, const char *want, const char *detail)
{
	struct proto_feeder_cmd c;
	const char *reason = NULL;

	cr_assert_eq(cmd_decode(text, &c, &reason), -1, "accepted %s", text);
	cr_assert_str_eq(reason, want, "payload %s", text);
	if (detail != NULL)
		cr_assert_str_eq(c.detail, detail, "payload %s", text);
}

/* ---- names ---------------------------------------------------------------------- */

Test(plan_names, actions, .timeout = 10)
{
	static const char *const names[] = {"feed",  "home",   "call",	"plan",	 "skip",
					    "pause", "resume", "treat", "refill"};
	enum proto_action a;

	for (int i = 0; i < 9; i++) {
		cr_assert_str_eq(proto_action_name((enum proto_action)i), names[i]);
		cr_assert_eq(proto_action_parse(names[i], &a), 0);
		cr_assert_eq(a, (enum proto_action)i);
	}
	cr_assert_eq(PROTO_ACTION_REFILL, 8);
	cr_assert_eq(proto_action_parse("verify", &a), -1, "verify is an event action only");
}

Test(plan_names, slot_statuses, .timeout = 10)
{
	static const char *const names[] = {"pending", "given",	 "late",   "skipped",
					    "paused",  "missed", "failed", "uncertain"};
	enum proto_slot_status st;

	for (int i = 0; i < 8; i++) {
		cr_assert_str_eq(proto_slot_status_name((enum proto_slot_status)i), names[i]);
		cr_assert_eq(proto_slot_status_parse(names[i], &st), 0);
		cr_assert_eq(st, (enum proto_slot_status)i);
	}
	cr_assert_eq(PROTO_SLOT_UNCERTAIN, 7);
	cr_assert_null(proto_slot_status_name((enum proto_slot_status)8));
	cr_assert_eq(proto_slot_status_parse("Pending", &st), -1);
	cr_assert_eq(proto_slot_status_parse(NULL, &st), -1);
}

Test(plan_names, slot_ids, .timeout = 10)
{
	static const char *const good[] = {"2026-12-01T15:00", "2026-12-31T23:59",
					   "2026-01-01T00:00", "2024-02-29T07:00",
					   "2000-02-29T07:00", "1970-01-01T00:00"};
	static const char *const bad[] = {"",
					  "2026-12-01",
					  "2026-12-01T15:0",
					  "2026-12-01T15:000",
					  "2026-12-01 15:00",
					  "2026-12-1T15:00",
					  "2026-12-01T24:00",
					  "2026-12-01T07:60",
					  "2026-13-01T07:00",
					  "2026-00-10T07:00",
					  "2026-04-31T07:00",
					  "2026-12-00T07:00",
					  "2025-02-29T07:00",
					  "2100-02-29T07:00",
					  "1969-12-31T23:59",
					  "2026-12-01t15:00",
					  "2026/12/01T15:00",
					  "+026-12-01T15:00",
					  "2026-12-01T15:00Z",
					  "2026-12-01T1a:00"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(proto_slot_id_valid(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(proto_slot_id_valid(bad[i]), "%s", bad[i]);
	cr_assert_not(proto_slot_id_valid(NULL));
}

/* ---- feeder/plan ---------------------------------------------------------------- */

Test(plan, encode_exact, .timeout = 10)
{
	struct proto_plan p = example_plan();

	assert_json(proto_plan_encode(&p), PLAN_JSON);
}

Test(plan, encode_paused_and_no_pills, .timeout = 10)
{
	struct proto_plan p = {.rev = 1,
			       .min_interval_s = 60,
			       .max_daily = 1,
			       .paused = true,
			       .bound_min_interval_s = 60,
			       .bound_max_daily = 1,
			       .changed_by = "env"};

	assert_json(proto_plan_encode(&p),
		    "{\"rev\":1,\"slots\":[],\"min_interval_s\":60,\"max_daily\":1,\"grace_s\":0,"
		    "\"paused\":true,\"paused_until\":null,\"treat\":{\"max_daily\":0,"
		    "\"min_interval_s\":0},\"pills\":{\"remaining\":null,\"low_days\":0},"
		    "\"bounds\":{\"min_interval_s\":60,\"max_daily\":1},\"changed_by\":\"env\","
		    "\"changed_at\":0}");
	p.paused_until_ms = 1796299200000LL;
	p.n_slots = 1;
	p.slots[0] = (struct proto_plan_slot){.minute = 1439, .days = 0x41, .enabled = false};
	assert_json(proto_plan_encode(&p),
		    "{\"rev\":1,\"slots\":[{\"at\":\"23:59\",\"days\":[\"mon\",\"sun\"],"
		    "\"enabled\":false}],\"min_interval_s\":60,\"max_daily\":1,\"grace_s\":0,"
		    "\"paused\":true,\"paused_until\":1796299200000,\"treat\":{\"max_daily\":0,"
		    "\"min_interval_s\":0},\"pills\":{\"remaining\":null,\"low_days\":0},"
		    "\"bounds\":{\"min_interval_s\":60,\"max_daily\":1},\"changed_by\":\"env\","
		    "\"changed_at\":0}");
	/* Not paused: no end, whatever the struct holds. */
	p.paused = false;
	char *text = proto_plan_encode(&p);
	cr_assert_not_null(strstr(text, "\"paused\":false,\"paused_until\":null"), "%s", text);
	free(text);
}

Test(plan, encode_refuses_what_it_cannot_write, .timeout = 10)
{
	struct proto_plan p = example_plan();

	p.n_slots = PROTO_PLAN_SLOTS_MAX + 1;
	cr_assert_null(proto_plan_encode(&p));
	p = example_plan();
	p.slots[1].minute = 1440;
	cr_assert_null(proto_plan_encode(&p));
	p = example_plan();
	p.slots[1].minute = -1;
	cr_assert_null(proto_plan_encode(&p));
	p = example_plan();
	p.slots[0].days = 0;
	cr_assert_null(proto_plan_encode(&p));
	p.slots[0].days = 0x80;
	cr_assert_null(proto_plan_encode(&p));
}

Test(plan, round_trip, .timeout = 10)
{
	struct proto_plan in = example_plan(), out;
	const char *reason = "unset";
	char *text;

	/* 48 slots, the most: every 30 min, alternating day sets. */
	in.n_slots = PROTO_PLAN_SLOTS_MAX;
	for (int i = 0; i < PROTO_PLAN_SLOTS_MAX; i++)
		in.slots[i] = (struct proto_plan_slot){
		    .minute = i * 30, .days = i % 2 ? 0x60 : PROTO_DAYS_DAILY, .enabled = i % 3};
	in.paused = true;
	in.paused_until_ms = 1796299200000LL;
	text = proto_plan_encode(&in);
	cr_assert_not_null(text);
	cr_assert_eq(proto_plan_decode(text, strlen(text), &out, &reason), 0, "%s: %s", reason,
		     text);
	cr_assert_eq(out.rev, 3);
	cr_assert_eq(out.n_slots, PROTO_PLAN_SLOTS_MAX);
	for (int i = 0; i < PROTO_PLAN_SLOTS_MAX; i++) {
		cr_assert_eq(out.slots[i].minute, in.slots[i].minute);
		cr_assert_eq(out.slots[i].days, in.slots[i].days);
		cr_assert_eq(out.slots[i].enabled, in.slots[i].enabled);
	}
	cr_assert_eq(out.min_interval_s, 21600);
	cr_assert_eq(out.max_daily, 3);
	cr_assert_eq(out.grace_s, 3600);
	cr_assert(out.paused);
	cr_assert_eq(out.paused_until_ms, 1796299200000LL);
	cr_assert_eq(out.treat_max_daily, 10);
	cr_assert_eq(out.treat_min_interval_s, 300);
	cr_assert(out.has_pills);
	cr_assert_eq(out.pills_remaining, 42);
	cr_assert_eq(out.low_days, 5);
	cr_assert_eq(out.bound_min_interval_s, 14400);
	cr_assert_eq(out.bound_max_daily, 4);
	cr_assert_str_eq(out.changed_by, "operator");
	cr_assert_eq(out.changed_at_ms, 1764140400123LL);
	free(text);
	cr_assert_eq(proto_plan_decode(PLAN_JSON, strlen(PLAN_JSON), &out, &reason), 0);
	cr_assert_eq(out.slots[1].days, 0x1f);
	cr_assert_not(out.paused);
	cr_assert_eq(out.paused_until_ms, 0);
}

/* PLAN_JSON with its first occurrence of from replaced by to. */
static char *plan_with(const char *from, const char *to)
{
	static char buf[8192];
	const char *at = strstr(PLAN_JSON, from);

	cr_assert_not_null(at, "%s not in the plan", from);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - PLAN_JSON), PLAN_JSON, to,
		 at + strlen(from));
	return buf;
}

static void expect_plan_reject(const char *text, const char *want)
{
	struct proto_plan p;
	const char *reason = NULL;

	cr_assert_eq(proto_plan_decode(text, strlen(text), &p, &reason), -1, "accepted %s", text);
	cr_assert_str_eq(reason, want, "payload %s", text);
}

Test(plan, decode_refusals, .timeout = 10)
{
	static const struct {
		const char *from, *to, *reason;
	} cases[] = {
	    {"\"rev\":3,", "", "missing_rev"},
	    {"\"rev\":3", "\"rev\":0", "bad_rev"},
	    {"\"rev\":3", "\"rev\":3.5", "bad_rev"},
	    {"\"rev\":3", "\"rev\":3,\"rev\":4", "duplicate_rev"},
	    {"\"slots\":", "\"slotz\":", "missing_slots"},
	    {"\"07:00\"", "\"24:00\"", "bad_slots"},
	    {"\"07:00\"", "\"7:00\"", "bad_slots"},
	    {"\"19:00\"", "\"07:00\"", "bad_slots"}, /* same time, common days */
	    {"\"daily\"", "[]", "bad_slots"},
	    {"\"daily\"", "[\"mon\",\"mon\"]", "bad_slots"},
	    {"\"daily\"", "\"weekly\"", "bad_slots"},
	    {",\"enabled\":true}]", ",\"enabled\":1}]", "bad_slots"},
	    {"\"min_interval_s\":21600", "\"min_interval_s\":0", "bad_min_interval_s"},
	    {"\"min_interval_s\":21600", "\"min_interval_s\":604801", "bad_min_interval_s"},
	    {"\"max_daily\":3", "\"max_daily\":0", "bad_max_daily"},
	    {"\"max_daily\":3", "\"max_daily\":49", "bad_max_daily"},
	    {"\"grace_s\":3600", "\"grace_s\":86401", "bad_grace_s"},
	    {"\"grace_s\":3600", "\"grace_s\":-1", "bad_grace_s"},
	    {"\"paused\":false,", "", "missing_paused"},
	    {"\"paused\":false", "\"paused\":0", "bad_paused"},
	    {"\"paused_until\":null", "\"paused_until\":5", "bad_paused_until"},
	    {"\"paused\":false,\"paused_until\":null", "\"paused\":true,\"paused_until\":0",
	     "bad_paused_until"},
	    {"\"treat\":{\"max_daily\":10,", "\"treat\":{", "bad_treat"},
	    {"\"treat\":{\"max_daily\":10", "\"treat\":{\"max_daily\":101", "bad_treat"},
	    {"\"treat\":{\"max_daily\":10,\"min_interval_s\":300}", "\"treat\":[]", "bad_treat"},
	    {"\"treat\":", "\"treats\":", "missing_treat"},
	    {"\"remaining\":42", "\"remaining\":100001", "bad_pills"},
	    {"\"remaining\":42,", "", "bad_pills"},
	    {"\"low_days\":5", "\"low_days\":366", "bad_pills"},
	    {"\"bounds\":{\"min_interval_s\":14400", "\"bounds\":{\"min_interval_s\":0",
	     "bad_bounds"},
	    {"\"max_daily\":4}", "\"max_daily\":4,\"max_daily\":4}", "bad_bounds"},
	    {"\"changed_by\":\"operator\"", "\"changed_by\":\"a\\nb\"", "bad_changed_by"},
	    {"\"changed_by\":\"operator\",", "", "missing_changed_by"},
	    {",\"changed_at\":1764140400123", "", "missing_changed_at"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_plan_reject(plan_with(cases[i].from, cases[i].to), cases[i].reason);
	expect_plan_reject("", "empty_payload");
	expect_plan_reject("[]", "not_object");
	expect_plan_reject("{\"rev\":01}", "bad_json");
}

Test(plan, decode_48_slots_not_49, .timeout = 10)
{
	static char buf[8192];
	struct proto_plan p;
	const char *reason = "unset";

	for (int n = 48; n <= 49; n++) {
		size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"rev\":1,\"slots\":[");

		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
					      "%s{\"at\":\"%02d:%02d\",\"days\":\"daily\"}",
					      i ? "," : "", i / 2, i % 2 * 30);
		snprintf(buf + o, sizeof(buf) - o, "%s",
			 "],\"min_interval_s\":60,\"max_daily\":48,\"grace_s\":0,\"paused\":false,"
			 "\"paused_until\":null,\"treat\":{\"max_daily\":0,\"min_interval_s\":0},"
			 "\"pills\":{\"remaining\":null,\"low_days\":0},\"bounds\":{"
			 "\"min_interval_s\":60,\"max_daily\":48},\"changed_by\":\"\","
			 "\"changed_at\":0}");
		if (n == 48) {
			cr_assert_eq(proto_plan_decode(buf, strlen(buf), &p, &reason), 0, "%s",
				     reason);
			cr_assert_eq(p.n_slots, 48);
			cr_assert_eq(p.slots[47].minute, 23 * 60 + 30);
			cr_assert(p.slots[47].enabled, "enabled defaults to true");
			cr_assert_not(p.has_pills);
		} else {
			expect_plan_reject(buf, "bad_slots");
		}
	}
}

/* ---- the plan command ---------------------------------------------------------- */

Test(plan_cmd, every_member, .timeout = 10)
{
	struct proto_plan_patch p = expect_patch(
	    "{\"rev\":7,\"slots\":[{\"at\":\"00:00\",\"days\":[\"sun\",\"mon\"]},"
	    "{\"at\":\"23:59\",\"days\":\"daily\",\"enabled\":false}],\"min_interval_s\":60,"
	    "\"max_daily\":48,\"grace_s\":86400,\"paused\":true,\"paused_until\":null,"
	    "\"treat\":{\"max_daily\":100,\"min_interval_s\":86400},"
	    "\"pills\":{\"remaining\":null,\"low_days\":365},"
	    "\"bounds\":{\"min_interval_s\":604800,\"max_daily\":1},\"changed_by\":\"Jos\xc3\xa9\","
	    "\"changed_at\":1764140400123}");

	cr_assert(p.has_rev);
	cr_assert_eq(p.rev, 7);
	cr_assert(p.has_slots);
	cr_assert_eq(p.n_slots, 2);
	cr_assert_eq(p.slots[0].minute, 0);
	cr_assert_eq(p.slots[0].days, 0x41);
	cr_assert(p.slots[0].enabled);
	cr_assert_eq(p.slots[1].minute, 1439);
	cr_assert_eq(p.slots[1].days, PROTO_DAYS_DAILY);
	cr_assert_not(p.slots[1].enabled);
	cr_assert(p.has_min_interval && p.min_interval_s == 60);
	cr_assert(p.has_max_daily && p.max_daily == 48);
	cr_assert(p.has_grace && p.grace_s == 86400);
	cr_assert(p.has_paused && p.paused);
	cr_assert(p.has_paused_until && p.paused_until_ms == 0);
	cr_assert(p.has_treat_max_daily && p.treat_max_daily == 100);
	cr_assert(p.has_treat_min_interval && p.treat_min_interval_s == 86400);
	cr_assert(p.has_pills_remaining && p.pills_remaining == -1);
	cr_assert(p.has_low_days && p.low_days == 365);
	cr_assert(p.has_bounds && p.bound_min_interval_s == 604800 && p.bound_max_daily == 1);
	cr_assert(p.has_changed_by);
	cr_assert_str_eq(p.changed_by, "Jos\xc3\xa9");
	cr_assert(p.has_changed_at && p.changed_at_ms == 1764140400123LL);
}

Test(plan_cmd, only_what_was_given, .timeout = 10)
{
	struct proto_plan_patch p = expect_patch("{}");

	cr_assert_not(p.has_rev || p.has_slots || p.has_min_interval || p.has_max_daily ||
		      p.has_grace || p.has_treat_max_daily || p.has_treat_min_interval ||
		      p.has_low_days || p.has_bounds || p.has_paused || p.has_paused_until ||
		      p.has_pills_remaining || p.has_changed_by || p.has_changed_at);
	p = expect_patch("{\"treat\":{\"min_interval_s\":0},\"pills\":{\"remaining\":0},"
			 "\"slots\":[],\"paused_until\":1796299200000}");
	cr_assert(p.has_treat_min_interval && p.treat_min_interval_s == 0);
	cr_assert_not(p.has_treat_max_daily);
	cr_assert(p.has_pills_remaining && p.pills_remaining == 0);
	cr_assert_not(p.has_low_days);
	cr_assert(p.has_slots && p.n_slots == 0);
	cr_assert(p.has_paused_until && p.paused_until_ms == 1796299200000LL);
	/* the same time on different days is two slots */
	p = expect_patch("{\"slots\":[{\"at\":\"07:00\",\"days\":[\"mon\"]},"
			 "{\"at\":\"07:00\",\"days\":[\"tue\",\"sat\",\"sun\",\"wed\",\"thu\","
			 "\"fri\"]}]}");
	cr_assert_eq(p.slots[1].days, 0x7e);
	/* a full plan as read back from feeder/plan */
	p = expect_patch(PLAN_JSON);
	cr_assert(p.has_rev && p.rev == 3 && p.has_bounds && p.has_changed_at);
}

Test(plan_cmd, member_and_plan_reasons, .timeout = 10)
{
	expect_cmd_reject("{\"action\":\"plan\",\"id\":\"p-1\"}", "missing_plan", "");
	expect_cmd_reject("{\"action\":\"plan\",\"plan\":{},\"plan\":{}}", "duplicate_plan", "");
	expect_cmd_reject("plan", "missing_plan", "");
	expect_cmd_reject("  refill\n", "missing_pills", "");
	/* the member comes after id, action, by, ts */
	expect_cmd_reject("{\"action\":\"plan\",\"ts\":-1,\"plan\":[]}", "bad_ts", "");
}

Test(plan_cmd, bare_words, .timeout = 10)
{
	static const struct {
		const char *word;
		enum proto_action action;
	} ok[] = {{"skip", PROTO_ACTION_SKIP},
		  {"pause", PROTO_ACTION_PAUSE},
		  {"resume\n", PROTO_ACTION_RESUME},
		  {" treat", PROTO_ACTION_TREAT}};
	struct proto_feeder_cmd c;
	const char *reason = "unset";

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(cmd_decode(ok[i].word, &c, &reason), 0, "%s: %s", ok[i].word, reason);
		cr_assert_eq(c.action, ok[i].action);
		cr_assert_str_eq(c.slot, "");
		cr_assert_eq(c.until_ms, 0);
	}
	cr_assert_eq(cmd_decode("plan", &c, &reason), -1);
	cr_assert(c.has_action && c.action == PROTO_ACTION_PLAN);
	cr_assert_eq(cmd_decode("refill", &c, &reason), -1);
	cr_assert(c.has_action && c.action == PROTO_ACTION_REFILL);
	expect_cmd_reject("Skip", "unknown_action", "");
	expect_cmd_reject("verify", "unknown_action", "");
}

Test(plan_cmd, details, .timeout = 10)
{
	static const struct {
		const char *plan, *detail;
	} cases[] = {
	    {"[]", "plan: a list is not an object"},
	    {"\"x\"", "plan: 'x' is not an object"},
	    {"{\"min_intervall_s\":60}", "min_intervall_s: unknown member"},
	    {"{\"max_daily\":2,\"max_daily\":3}", "max_daily: given twice"},
	    {"{\"rev\":0}", "rev: 0 is not an integer 1..9007199254740991"},
	    {"{\"rev\":\"3\"}", "rev: '3' is not an integer 1..9007199254740991"},
	    {"{\"slots\":{}}", "slots: an object is not a list"},
	    {"{\"slots\":[1]}", "slots[0]: 1 is not an object"},
	    {"{\"slots\":[{\"days\":\"daily\"}]}", "slots[0].at: missing"},
	    {"{\"slots\":[{\"at\":\"07:00\"}]}", "slots[0].days: missing"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\"},{\"at\":\"25:00\",\"days\":"
	     "\"daily\"},{\"at\":\"08:00\",\"days\":\"daily\"}]}",
	     "slots[1].at: '25:00' is not HH:MM (00:00..23:59)"},
	    {"{\"slots\":[{\"at\":\"24:00\",\"days\":\"daily\"}]}",
	     "slots[0].at: '24:00' is not HH:MM (00:00..23:59)"},
	    {"{\"slots\":[{\"at\":\"07:60\",\"days\":\"daily\"}]}",
	     "slots[0].at: '07:60' is not HH:MM (00:00..23:59)"},
	    {"{\"slots\":[{\"at\":\"7:00\",\"days\":\"daily\"}]}",
	     "slots[0].at: '7:00' is not HH:MM (00:00..23:59)"},
	    {"{\"slots\":[{\"at\":700,\"days\":\"daily\"}]}",
	     "slots[0].at: 700 is not HH:MM (00:00..23:59)"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":[]}]}",
	     "slots[0].days: an empty list (use \"enabled\":false instead)"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":[\"mon\",\"tue\",\"mon\"]}]}",
	     "slots[0].days[2]: 'mon' given twice"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":[\"mon\",\"Tue\"]}]}",
	     "slots[0].days[1]: 'Tue' is not a day (mon..sun)"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":[1]}]}",
	     "slots[0].days[0]: 1 is not a day (mon..sun)"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":\"weekly\"}]}",
	     "slots[0].days: 'weekly' is neither 'daily' nor a list of days"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":\"yes\"}]}",
	     "slots[0].enabled: 'yes' is not true or false"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"note\":1}]}",
	     "slots[0].note: unknown member"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"at\":\"08:00\",\"days\":\"daily\"}]}",
	     "slots[0].at: given twice"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":[\"mon\",\"tue\"]},{\"at\":\"07:00\","
	     "\"days\":[\"sat\",\"tue\"]}]}",
	     "slots[1]: 07:00 on tue is also slots[0]"},
	    {"{\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":false},{\"at\":"
	     "\"07:00\",\"days\":[\"sun\"]}]}",
	     "slots[1]: 07:00 on sun is also slots[0]"},
	    {"{\"min_interval_s\":0}", "min_interval_s: 0 is not an integer 1..604800"},
	    {"{\"min_interval_s\":604801}", "min_interval_s: 604801 is not an integer 1..604800"},
	    {"{\"min_interval_s\":3600.5}", "min_interval_s: 3600.5 is not an integer 1..604800"},
	    {"{\"min_interval_s\":null}", "min_interval_s: null is not an integer 1..604800"},
	    {"{\"max_daily\":0}", "max_daily: 0 is not an integer 1..48"},
	    {"{\"max_daily\":49}", "max_daily: 49 is not an integer 1..48"},
	    {"{\"grace_s\":-1}", "grace_s: -1 is not an integer 0..86400"},
	    {"{\"grace_s\":86401}", "grace_s: 86401 is not an integer 0..86400"},
	    {"{\"treat\":3}", "treat: 3 is not an object"},
	    {"{\"treat\":{\"max_daily\":101}}", "treat.max_daily: 101 is not an integer 0..100"},
	    {"{\"treat\":{\"min_interval_s\":86401}}",
	     "treat.min_interval_s: 86401 is not an integer 0..86400"},
	    {"{\"treat\":{\"per_day\":1}}", "treat.per_day: unknown member"},
	    {"{\"treat\":{\"max_daily\":1,\"max_daily\":1}}", "treat.max_daily: given twice"},
	    {"{\"pills\":{\"low_days\":366}}", "pills.low_days: 366 is not an integer 0..365"},
	    {"{\"pills\":{\"remaining\":-1}}",
	     "pills.remaining: -1 is not null or an integer 0..100000"},
	    {"{\"pills\":{\"remaining\":100001}}",
	     "pills.remaining: 100001 is not null or an integer 0..100000"},
	    {"{\"bounds\":{\"min_interval_s\":14400}}", "bounds.max_daily: missing"},
	    {"{\"bounds\":{\"max_daily\":4}}", "bounds.min_interval_s: missing"},
	    {"{\"bounds\":{\"min_interval_s\":14400,\"max_daily\":49}}",
	     "bounds.max_daily: 49 is not an integer 1..48"},
	    {"{\"paused\":\"no\"}", "paused: 'no' is not true or false"},
	    {"{\"paused_until\":0}", "paused_until: 0 is not null or a time in ms"},
	    {"{\"paused_until\":true}", "paused_until: true is not null or a time in ms"},
	    {"{\"changed_by\":\"a\\u0001b\"}", "changed_by: 'a?b' is not text of at most 64 bytes"},
	    {"{\"changed_at\":-5}", "changed_at: -5 is not a time in ms"},
	    /* names and values from the payload are cut and cleaned */
	    {"{\"x\\ny\":1}", "x?y: unknown member"},
	    {"{\"slots\":[{\"at\":\"0123456789012345678901234567890123456789\",\"days\":"
	     "\"daily\"}]}",
	     "slots[0].at: '01234567890123456789012345678901...' is not HH:MM (00:00..23:59)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_bad_plan(cases[i].plan, cases[i].detail);
}

Test(plan_cmd, slots_48_not_49, .timeout = 10)
{
	static char plan[8192];

	for (int n = 48; n <= 49; n++) {
		size_t o = (size_t)snprintf(plan, sizeof(plan), "{\"slots\":[");

		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(plan + o, sizeof(plan) - o,
					      "%s{\"at\":\"%02d:%02d\",\"days\":\"daily\"}",
					      i ? "," : "", i / 2, i % 2 * 30);
		snprintf(plan + o, sizeof(plan) - o, "]}");
		if (n == 48)
			cr_assert_eq(expect_patch(plan).n_slots, 48);
		else
			expect_bad_plan(plan, "slots: 49 slots, at most 48");
	}
}

/* A detail cut inside a multi-byte character must end before it. */
Test(plan_cmd, detail_is_valid_utf8_and_bounded, .timeout = 10)
{
	static char plan[4096];
	struct proto_feeder_cmd c;
	const char *reason;
	size_t o = (size_t)snprintf(plan, sizeof(plan), "{\"");

	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(plan + o, sizeof(plan) - o, "\xc3\xa9");
	snprintf(plan + o, sizeof(plan) - o, "\":1}");
	static char buf[8192];
	plan_cmd(buf, sizeof(buf), plan);
	cr_assert_eq(cmd_decode(buf, &c, &reason), -1);
	cr_assert_str_eq(reason, "bad_plan");
	cr_assert(strlen(c.detail) < PROTO_DETAIL_MAX);
	cr_assert(proto_utf8_valid(c.detail, strlen(c.detail)), "%s", c.detail);
	/* 32 bytes of the name: 16 characters, then the mark */
	cr_assert_str_eq(c.detail, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
				   "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				   "\xc3\xa9...: unknown member");
	/* ...and it goes through the event untouched */
	struct proto_feeder_event ev = {
	    .id = "p-1", .action = "plan", .result = PROTO_RESULT_REJECTED, .reason = "bad_plan"};
	struct proto_feeder_event back;
	memcpy(ev.detail, c.detail, strlen(c.detail) + 1);
	char *text = proto_feeder_event_encode(&ev);
	cr_assert_eq(proto_feeder_event_decode(text, strlen(text), &back, &reason), 0, "%s: %s",
		     reason, text);
	cr_assert_str_eq(back.detail, c.detail);
	free(text);
}

/* ---- skip, pause, resume, treat, refill ---------------------------------------------- */

Test(other_cmds, skip, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason = "unset";

	cr_assert_eq(cmd_decode("{\"action\":\"skip\",\"id\":\"s\",\"slot\":\"2026-12-01T19:00\"}",
				&c, &reason),
		     0, "%s", reason);
	cr_assert_str_eq(c.slot, "2026-12-01T19:00");
	cr_assert_eq(cmd_decode("{\"action\":\"skip\"}", &c, &reason), 0);
	cr_assert_str_eq(c.slot, "");
	expect_cmd_reject("{\"action\":\"skip\",\"slot\":\"2026-02-30T07:00\"}", "bad_slot",
			  "slot: '2026-02-30T07:00' is not a slot (YYYY-MM-DDTHH:MM, local time)");
	expect_cmd_reject("{\"action\":\"skip\",\"slot\":\"\"}", "bad_slot",
			  "slot: '' is not a slot (YYYY-MM-DDTHH:MM, local time)");
	expect_cmd_reject("{\"action\":\"skip\",\"slot\":null}", "bad_slot",
			  "slot: null is not a slot (YYYY-MM-DDTHH:MM, local time)");
	expect_cmd_reject("{\"action\":\"skip\",\"slot\":\"2026-12-01T19:00\","
			  "\"slot\":\"2026-12-01T19:00\"}",
			  "duplicate_slot", "");
	/* another action's member is not looked at */
	cr_assert_eq(
	    cmd_decode("{\"action\":\"feed\",\"slot\":5,\"pills\":\"x\",\"plan\":1}", &c, &reason),
	    0);
}

Test(other_cmds, pause_and_resume, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason = "unset";

	cr_assert_eq(cmd_decode("{\"action\":\"pause\",\"until\":1796299200000}", &c, &reason), 0);
	cr_assert_eq(c.until_ms, 1796299200000LL);
	cr_assert_eq(cmd_decode("{\"action\":\"pause\",\"until\":1}", &c, &reason), 0);
	cr_assert_eq(c.until_ms, 1);
	cr_assert_eq(cmd_decode("{\"action\":\"pause\"}", &c, &reason), 0);
	cr_assert_eq(c.until_ms, 0);
	expect_cmd_reject("{\"action\":\"pause\",\"until\":0}", "bad_until",
			  "until: 0 is not a time in ms");
	expect_cmd_reject("{\"action\":\"pause\",\"until\":-1}", "bad_until",
			  "until: -1 is not a time in ms");
	expect_cmd_reject("{\"action\":\"pause\",\"until\":1.5}", "bad_until",
			  "until: 1.5 is not a time in ms");
	expect_cmd_reject("{\"action\":\"pause\",\"until\":null}", "bad_until",
			  "until: null is not a time in ms");
	expect_cmd_reject("{\"action\":\"pause\",\"until\":\"tomorrow\"}", "bad_until",
			  "until: 'tomorrow' is not a time in ms");
	expect_cmd_reject("{\"action\":\"pause\",\"until\":9007199254740992}", "bad_until",
			  "until: 9007199254740992 is not a time in ms");
	cr_assert_eq(cmd_decode("{\"action\":\"resume\",\"id\":\"r\",\"by\":\"ann\"}", &c, &reason),
		     0);
	cr_assert_eq(c.action, PROTO_ACTION_RESUME);
	cr_assert_eq(cmd_decode("{\"action\":\"treat\",\"id\":\"t\"}", &c, &reason), 0);
	cr_assert_eq(c.action, PROTO_ACTION_TREAT);
}

Test(other_cmds, refill, .timeout = 10)
{
	struct proto_feeder_cmd c;
	const char *reason = "unset";

	cr_assert_eq(cmd_decode("{\"action\":\"refill\",\"pills\":0}", &c, &reason), 0);
	cr_assert_eq(c.pills, 0);
	cr_assert_eq(cmd_decode("{\"action\":\"refill\",\"pills\":100000}", &c, &reason), 0);
	cr_assert_eq(c.pills, 100000);
	expect_cmd_reject("{\"action\":\"refill\",\"id\":\"r\"}", "missing_pills", "");
	expect_cmd_reject("{\"action\":\"refill\",\"pills\":100001}", "bad_pills",
			  "pills: 100001 is not an integer 0..100000");
	expect_cmd_reject("{\"action\":\"refill\",\"pills\":-1}", "bad_pills",
			  "pills: -1 is not an integer 0..100000");
	expect_cmd_reject("{\"action\":\"refill\",\"pills\":\"60\"}", "bad_pills",
			  "pills: '60' is not an integer 0..100000");
	expect_cmd_reject("{\"action\":\"refill\",\"pills\":2.5}", "bad_pills",
			  "pills: 2.5 is not an integer 0..100000");
	expect_cmd_reject("{\"action\":\"refill\",\"pills\":1,\"pills\":1}", "duplicate_pills", "");
}

/* ---- encoding the commands -------------------------------------------------------- */

Test(cmd_encode, plan_exact, .timeout = 10)
{
	struct proto_feeder_cmd c = {.action = PROTO_ACTION_PLAN, .id = "p-1", .by = "vet"};

	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"plan\",\"id\":\"p-1\",\"by\":"
						 "\"vet\",\"plan\":{}}");
	c.plan = (struct proto_plan_patch){.has_rev = true,
					   .rev = 3,
					   .has_slots = true,
					   .n_slots = 1,
					   .has_max_daily = true,
					   .max_daily = 2,
					   .has_treat_min_interval = true,
					   .treat_min_interval_s = 60,
					   .has_pills_remaining = true,
					   .pills_remaining = -1,
					   .has_paused_until = true};
	c.plan.slots[0] =
	    (struct proto_plan_slot){.minute = 8 * 60 + 5, .days = 0x03, .enabled = true};
	assert_json(proto_feeder_cmd_encode(&c),
		    "{\"action\":\"plan\",\"id\":\"p-1\",\"by\":\"vet\",\"plan\":{\"rev\":3,"
		    "\"slots\":[{\"at\":\"08:05\",\"days\":[\"mon\",\"tue\"],\"enabled\":true}],"
		    "\"max_daily\":2,\"paused_until\":null,\"treat\":{\"min_interval_s\":60},"
		    "\"pills\":{\"remaining\":null}}}");
	c.plan.slots[0].minute = 1440;
	cr_assert_null(proto_feeder_cmd_encode(&c));
}

Test(cmd_encode, other_actions_exact, .timeout = 10)
{
	struct proto_feeder_cmd c = {.action = PROTO_ACTION_SKIP};

	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"skip\"}");
	strcpy(c.slot, "2026-12-01T19:00");
	assert_json(proto_feeder_cmd_encode(&c),
		    "{\"action\":\"skip\",\"slot\":\"2026-12-01T19:00\"}");
	c = (struct proto_feeder_cmd){.action = PROTO_ACTION_PAUSE};
	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"pause\"}");
	c.until_ms = 1796299200000LL;
	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"pause\",\"until\":1796299200000}");
	c = (struct proto_feeder_cmd){.action = PROTO_ACTION_REFILL, .pills = 60};
	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"refill\",\"pills\":60}");
	c = (struct proto_feeder_cmd){.action = PROTO_ACTION_RESUME, .until_ms = 5, .pills = 3};
	assert_json(proto_feeder_cmd_encode(&c), "{\"action\":\"resume\"}");
}

/* decode(encode(x)) encodes to the same text: nothing is lost or invented. */
Test(cmd_encode, round_trips, .timeout = 10)
{
	static const char *const cmds[] = {
	    "{\"action\":\"plan\",\"id\":\"p\",\"plan\":{}}",
	    "{\"action\":\"skip\",\"id\":\"s\",\"slot\":\"2026-12-01T19:00\"}",
	    "{\"action\":\"skip\"}",
	    "{\"action\":\"pause\",\"by\":\"ann\",\"until\":1796299200000}",
	    "{\"action\":\"resume\",\"ts\":1764140400123}",
	    "{\"action\":\"treat\",\"id\":\"t-1\"}",
	    "{\"action\":\"refill\",\"pills\":0}",
	};
	static char full[4096];
	struct proto_feeder_cmd c, again;
	const char *reason = "unset";

	snprintf(
	    full, sizeof(full), "{\"action\":\"plan\",\"id\":\"p-9\",\"plan\":%s}",
	    "{\"rev\":3,\"slots\":[{\"at\":\"07:00\",\"days\":\"daily\",\"enabled\":true},"
	    "{\"at\":\"19:00\",\"days\":[\"mon\",\"sun\"],\"enabled\":false}],"
	    "\"min_interval_s\":21600,\"max_daily\":3,\"grace_s\":3600,\"paused\":true,"
	    "\"paused_until\":1796299200000,\"treat\":{\"max_daily\":10,"
	    "\"min_interval_s\":300},\"pills\":{\"remaining\":42,\"low_days\":5},"
	    "\"bounds\":{\"min_interval_s\":14400,\"max_daily\":4},\"changed_by\":\"operator\","
	    "\"changed_at\":1764140400123}");
	for (size_t i = 0; i <= sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *text = i < sizeof(cmds) / sizeof(cmds[0]) ? cmds[i] : full;
		char *enc, *enc2;

		cr_assert_eq(cmd_decode(text, &c, &reason), 0, "%s: %s", text, reason);
		enc = proto_feeder_cmd_encode(&c);
		cr_assert_not_null(enc);
		cr_assert_str_eq(enc, text, "the encoder writes the members in the same order");
		cr_assert_eq(proto_feeder_cmd_decode(enc, strlen(enc), &again, &reason), 0);
		enc2 = proto_feeder_cmd_encode(&again);
		cr_assert_str_eq(enc2, enc);
		free(enc);
		free(enc2);
	}
}

/* ---- feeder/event ------------------------------------------------------------------ */

Test(event, new_members_exact, .timeout = 10)
{
	struct proto_feeder_event ev = {.id = "plan-1",
					.action = "plan",
					.result = PROTO_RESULT_OK,
					.ts_ms = 1764140500000LL,
					.has_rev = true,
					.rev = 4};

	assert_json(proto_feeder_event_encode(&ev),
		    "{\"id\":\"plan-1\",\"action\":\"plan\",\"result\":\"ok\",\"rev\":4,"
		    "\"ts\":1764140500000}");
	ev = (struct proto_feeder_event){.id = "plan-7",
					 .action = "plan",
					 .result = PROTO_RESULT_REJECTED,
					 .reason = "bad_plan",
					 .detail =
					     "slots[2].at: '25:00' is not HH:MM (00:00..23:59)",
					 .ts_ms = 1764140500000LL};
	assert_json(proto_feeder_event_encode(&ev),
		    "{\"id\":\"plan-7\",\"action\":\"plan\",\"result\":\"rejected\",\"reason\":"
		    "\"bad_plan\",\"detail\":\"slots[2].at: '25:00' is not HH:MM (00:00..23:59)\","
		    "\"ts\":1764140500000}");
	ev = (struct proto_feeder_event){.id = "evening-2026-11-26",
					 .action = "verify",
					 .result = PROTO_RESULT_OK,
					 .has_delta = true,
					 .delta_g = 0.4,
					 .ts_ms = 1764140404123LL};
	assert_json(proto_feeder_event_encode(&ev),
		    "{\"id\":\"evening-2026-11-26\",\"action\":\"verify\",\"result\":\"ok\","
		    "\"delta_g\":0.4,\"ts\":1764140404123}");
	ev.result = PROTO_RESULT_FAILED;
	strcpy(ev.reason, "no_bowl_reading");
	ev.delta_null = true;
	assert_json(proto_feeder_event_encode(&ev),
		    "{\"id\":\"evening-2026-11-26\",\"action\":\"verify\",\"result\":\"failed\","
		    "\"reason\":\"no_bowl_reading\",\"delta_g\":null,\"ts\":1764140404123}");
	ev.delta_null = false;
	ev.delta_g = INFINITY;
	cr_assert_null(proto_feeder_event_encode(&ev));
}

Test(event, new_members_decode, .timeout = 10)
{
	static const char *const good[] = {
	    "{\"id\":\"a\",\"action\":\"verify\",\"result\":\"ok\",\"delta_g\":-0.25,\"ts\":1}",
	    "{\"id\":\"a\",\"action\":\"verify\",\"result\":\"failed\",\"reason\":"
	    "\"no_weight_change\",\"delta_g\":null,\"ts\":1}",
	    "{\"id\":\"a\",\"action\":\"plan\",\"result\":\"ok\",\"rev\":4,\"ts\":1}",
	};
	struct proto_feeder_event ev;
	const char *reason = "unset";

	cr_assert_eq(proto_feeder_event_decode(good[0], strlen(good[0]), &ev, &reason), 0);
	cr_assert(ev.has_delta && !ev.delta_null);
	cr_assert_float_eq(ev.delta_g, -0.25, 1e-12);
	cr_assert_not(ev.has_rev);
	cr_assert_eq(proto_feeder_event_decode(good[1], strlen(good[1]), &ev, &reason), 0);
	cr_assert(ev.has_delta && ev.delta_null);
	cr_assert_str_eq(ev.reason, "no_weight_change");
	cr_assert_eq(proto_feeder_event_decode(good[2], strlen(good[2]), &ev, &reason), 0);
	cr_assert(ev.has_rev);
	cr_assert_eq(ev.rev, 4);
	cr_assert_not(ev.has_delta);
	cr_assert_str_eq(ev.detail, "");

	static const struct {
		const char *text, *reason;
	} bad[] = {
	    {"{\"id\":\"a\",\"action\":\"plan\",\"result\":\"ok\",\"rev\":-1,\"ts\":1}", "bad_rev"},
	    {"{\"id\":\"a\",\"action\":\"plan\",\"result\":\"ok\",\"rev\":null,\"ts\":1}",
	     "bad_rev"},
	    {"{\"id\":\"a\",\"action\":\"verify\",\"result\":\"ok\",\"delta_g\":\"1\",\"ts\":1}",
	     "bad_delta_g"},
	    {"{\"id\":\"a\",\"action\":\"verify\",\"result\":\"ok\",\"delta_g\":1e300,\"ts\":1}",
	     "bad_delta_g"},
	    {"{\"id\":\"a\",\"action\":\"verify\",\"result\":\"ok\",\"delta_g\":1,\"delta_g\":1,"
	     "\"ts\":1}",
	     "duplicate_delta_g"},
	    {"{\"id\":\"a\",\"action\":\"plan\",\"result\":\"rejected\",\"detail\":\"a\\tb\","
	     "\"ts\":1}",
	     "bad_detail"},
	    {"{\"id\":\"a\",\"action\":\"plan\",\"result\":\"rejected\",\"detail\":3,\"ts\":1}",
	     "bad_detail"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(
		    proto_feeder_event_decode(bad[i].text, strlen(bad[i].text), &ev, &reason), -1,
		    "accepted %s", bad[i].text);
		cr_assert_str_eq(reason, bad[i].reason, "%s", bad[i].text);
	}
	/* a detail of 159 bytes is the most */
	char text[512], detail[161];
	memset(detail, 'd', 160);
	for (int n = 159; n <= 160; n++) {
		detail[n] = '\0';
		snprintf(
		    text, sizeof(text),
		    "{\"id\":\"a\",\"action\":\"plan\",\"result\":\"rejected\",\"detail\":\"%s\","
		    "\"ts\":1}",
		    detail);
		cr_assert_eq(proto_feeder_event_decode(text, strlen(text), &ev, &reason),
			     n == 159 ? 0 : -1, "%d bytes", n);
		detail[n] = 'd';
	}
}

/* ---- feeder/state and feeder/log ------------------------------------------------------ */

#define STATE_HEAD                                                                                 \
	"{\"position\":\"home\",\"last_dose\":null,\"next_allowed\":1,\"next_scheduled\":null,"    \
	"\"doses_today\":0"

Test(state, new_members, .timeout = 10)
{
	struct proto_feeder_state in = {.position = PROTO_POSITION_HOME,
					.next_allowed_ms = 1,
					.has_pills = true,
					.pills_remaining = 100000,
					.runs_out_ms = 1765900800000LL,
					.clock_synced = true};
	struct proto_feeder_state out;
	const char *reason = "unset";
	char *text = proto_feeder_state_encode(&in);

	cr_assert_eq(proto_feeder_state_decode(text, strlen(text), &out, &reason), 0, "%s", text);
	cr_assert(out.has_pills);
	cr_assert_eq(out.pills_remaining, 100000);
	cr_assert_eq(out.runs_out_ms, 1765900800000LL);
	cr_assert(out.clock_synced);
	free(text);
	in.pills_remaining = 0;
	text = proto_feeder_state_encode(&in);
	cr_assert_eq(proto_feeder_state_decode(text, strlen(text), &out, &reason), 0, "%s", text);
	cr_assert(out.has_pills, "0 pills is a count, not null");
	cr_assert_eq(out.pills_remaining, 0);
	free(text);

	static const struct {
		const char *tail, *reason;
	} bad[] = {
	    {"}", "missing_pills_remaining"},
	    {",\"pills_remaining\":-1,\"runs_out\":null,\"clock_synced\":true}",
	     "bad_pills_remaining"},
	    {",\"pills_remaining\":100001,\"runs_out\":null,\"clock_synced\":true}",
	     "bad_pills_remaining"},
	    {",\"pills_remaining\":\"3\",\"runs_out\":null,\"clock_synced\":true}",
	     "bad_pills_remaining"},
	    {",\"pills_remaining\":null,\"clock_synced\":true}", "missing_runs_out"},
	    {",\"pills_remaining\":null,\"runs_out\":-1,\"clock_synced\":true}", "bad_runs_out"},
	    {",\"pills_remaining\":null,\"runs_out\":null}", "missing_clock_synced"},
	    {",\"pills_remaining\":null,\"runs_out\":null,\"clock_synced\":1}", "bad_clock_synced"},
	    {",\"pills_remaining\":null,\"runs_out\":null,\"clock_synced\":true,"
	     "\"clock_synced\":true}",
	     "duplicate_clock_synced"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char payload[512];

		snprintf(payload, sizeof(payload), "%s%s", STATE_HEAD, bad[i].tail);
		cr_assert_eq(proto_feeder_state_decode(payload, strlen(payload), &out, &reason), -1,
			     "accepted %s", payload);
		cr_assert_str_eq(reason, bad[i].reason, "%s", payload);
	}
	in.position = PROTO_POSITION_HOME;
	in.has_pills = false;
	in.pills_remaining = 7;
	text = proto_feeder_state_encode(&in);
	cr_assert_not_null(strstr(text, "\"pills_remaining\":null"), "%s", text);
	cr_assert_eq(proto_feeder_state_decode(text, strlen(text), &out, &reason), 0);
	cr_assert_not(out.has_pills);
	free(text);
}

Test(log, new_members, .timeout = 10)
{
	struct proto_dose in[3] = {
	    {.id = "a", .ts_ms = 3, .result = PROTO_DOSE_OK, .verified = PROTO_VERIFIED_TRUE},
	    {.id = "b", .ts_ms = 2, .result = PROTO_DOSE_FAILED, .verified = PROTO_VERIFIED_FALSE},
	    {.id = "c",
	     .ts_ms = 1,
	     .result = PROTO_DOSE_UNCERTAIN,
	     .verified = PROTO_VERIFIED_NULL},
	};
	struct proto_dose out[3];
	size_t n = 0;
	const char *reason = "unset";
	char *text = proto_feeder_log_encode(in, 3);

	cr_assert_eq(proto_feeder_log_decode(text, strlen(text), out, 3, &n, &reason), 0, "%s",
		     text);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(out[i].result, in[i].result);
		cr_assert_eq(out[i].verified, in[i].verified);
	}
	free(text);
	in[1].result = (enum proto_dose_result)3;
	cr_assert_null(proto_feeder_log_encode(in, 3));
	in[1].result = PROTO_DOSE_OK;
	in[1].verified = (enum proto_verified)3;
	cr_assert_null(proto_feeder_log_encode(in, 3));

	static const struct {
		const char *entry, *reason;
	} bad[] = {
	    {"\"source\":\"manual\",\"verified\":null", "missing_result"},
	    {"\"source\":\"manual\",\"result\":\"rejected\",\"verified\":null", "bad_result"},
	    {"\"source\":\"manual\",\"result\":\"ok\"", "missing_verified"},
	    {"\"source\":\"manual\",\"result\":\"ok\",\"verified\":\"yes\"", "bad_verified"},
	    {"\"source\":\"manual\",\"result\":\"ok\",\"verified\":0", "bad_verified"},
	    {"\"source\":\"manual\",\"result\":\"ok\",\"verified\":true,\"verified\":true",
	     "duplicate_verified"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char payload[256];

		snprintf(payload, sizeof(payload), "{\"doses\":[{\"id\":\"a\",\"ts\":1,%s}]}",
			 bad[i].entry);
		cr_assert_eq(proto_feeder_log_decode(payload, strlen(payload), out, 3, &n, &reason),
			     -1, "accepted %s", payload);
		cr_assert_str_eq(reason, bad[i].reason, "%s", payload);
	}
}

/* ---- feeder/schedule ------------------------------------------------------------------ */

static const char SCHEDULE_JSON[] =
    "{\"date\":\"2026-12-01\",\"slots\":[{\"slot\":\"2026-12-01T07:00\",\"at\":1796108400000,"
    "\"status\":\"given\",\"dose\":\"schedule-2026-12-01T07:00\"},{\"slot\":"
    "\"2026-12-01T19:00\",\"at\":1796151600000,\"status\":\"pending\",\"dose\":null},"
    "{\"slot\":\"2026-12-02T07:00\",\"at\":1796194800000,\"status\":\"pending\",\"dose\":null}],"
    "\"ts\":1796108404000}";

static struct proto_schedule example_schedule(void)
{
	struct proto_schedule s = {.date = "2026-12-01", .n = 3, .ts_ms = 1796108404000LL};

	s.slots[0] = (struct proto_schedule_slot){.slot = "2026-12-01T07:00",
						  .at_ms = 1796108400000LL,
						  .status = PROTO_SLOT_GIVEN,
						  .dose = "schedule-2026-12-01T07:00"};
	s.slots[1] = (struct proto_schedule_slot){
	    .slot = "2026-12-01T19:00", .at_ms = 1796151600000LL, .status = PROTO_SLOT_PENDING};
	s.slots[2] = (struct proto_schedule_slot){
	    .slot = "2026-12-02T07:00", .at_ms = 1796194800000LL, .status = PROTO_SLOT_PENDING};
	return s;
}

Test(schedule, encode_exact, .timeout = 10)
{
	struct proto_schedule s = example_schedule();

	assert_json(proto_schedule_encode(&s), SCHEDULE_JSON);
	s.n = 0;
	assert_json(proto_schedule_encode(&s), "{\"date\":\"2026-12-01\",\"slots\":[],"
					       "\"ts\":1796108404000}");
	s.n = PROTO_SCHEDULE_MAX + 1;
	cr_assert_null(proto_schedule_encode(&s));
	s = example_schedule();
	s.slots[2].status = (enum proto_slot_status)8;
	cr_assert_null(proto_schedule_encode(&s));
}

Test(schedule, round_trip_every_status_and_the_most_slots, .timeout = 10)
{
	static struct proto_schedule in, out;
	const char *reason = "unset";
	char *text;

	in = (struct proto_schedule){.date = "2026-12-31", .n = PROTO_SCHEDULE_MAX, .ts_ms = 9};
	for (size_t i = 0; i < PROTO_SCHEDULE_MAX; i++) {
		struct proto_schedule_slot *sl = &in.slots[i];

		snprintf(sl->slot, sizeof(sl->slot), "%s-%02zuT%02zu:%02zu",
			 i < 48 ? "2026-12" : "2027-01", i < 48 ? (size_t)31 : (size_t)1,
			 i % 48 / 2, i % 2 * 30);
		sl->at_ms = 1798675200000LL + (int64_t)i * 1800000;
		sl->status = (enum proto_slot_status)(i % 8);
		if (i % 3 == 0)
			snprintf(sl->dose, sizeof(sl->dose), "d-%zu", i);
	}
	text = proto_schedule_encode(&in);
	cr_assert_not_null(text);
	cr_assert_eq(proto_schedule_decode(text, strlen(text), &out, &reason), 0, "%s", reason);
	cr_assert_str_eq(out.date, "2026-12-31");
	cr_assert_eq(out.n, PROTO_SCHEDULE_MAX);
	cr_assert_eq(out.ts_ms, 9);
	for (size_t i = 0; i < PROTO_SCHEDULE_MAX; i++) {
		cr_assert_str_eq(out.slots[i].slot, in.slots[i].slot);
		cr_assert_eq(out.slots[i].at_ms, in.slots[i].at_ms);
		cr_assert_eq(out.slots[i].status, in.slots[i].status);
		cr_assert_str_eq(out.slots[i].dose, in.slots[i].dose);
	}
	free(text);
}

Test(schedule, decode_refusals, .timeout = 10)
{
	static const struct {
		const char *from, *to, *reason;
	} cases[] = {
	    {"\"date\":\"2026-12-01\",", "", "missing_date"},
	    {"\"2026-12-01\"", "\"2026-02-30\"", "bad_date"},
	    {"\"2026-12-01\"", "\"2026-12-01T00:00\"", "bad_date"},
	    {"\"slot\":\"2026-12-01T07:00\"", "\"slot\":\"2026-12-01T7:00\"", "bad_slot"},
	    {"\"slot\":\"2026-12-01T07:00\",", "", "missing_slot"},
	    {"\"at\":1796108400000", "\"at\":null", "bad_at"},
	    {"\"status\":\"given\"", "\"status\":\"done\"", "bad_status"},
	    {"\"status\":\"given\",", "", "missing_status"},
	    {",\"dose\":\"schedule-2026-12-01T07:00\"", "", "missing_dose"},
	    {"\"dose\":\"schedule-2026-12-01T07:00\"", "\"dose\":\"a b\"", "bad_dose"},
	    {"\"dose\":\"schedule-2026-12-01T07:00\"", "\"dose\":\"\"", "bad_dose"},
	    {"\"dose\":\"schedule-2026-12-01T07:00\"", "\"dose\":5", "bad_dose"},
	    {",\"ts\":1796108404000", "", "missing_ts"},
	    {"\"slots\":[{", "\"slots\":[1,{", "bad_slots"},
	};
	struct proto_schedule *s = malloc(sizeof(*s));
	const char *reason;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[1024];
		const char *at = strstr(SCHEDULE_JSON, cases[i].from);

		cr_assert_not_null(at, "%s", cases[i].from);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - SCHEDULE_JSON), SCHEDULE_JSON,
			 cases[i].to, at + strlen(cases[i].from));
		reason = NULL;
		cr_assert_eq(proto_schedule_decode(buf, strlen(buf), s, &reason), -1, "accepted %s",
			     buf);
		cr_assert_str_eq(reason, cases[i].reason, "%s", buf);
		cr_assert_eq(s->n, 0);
	}
	free(s);
}

Test(schedule, at_most_96_slots, .timeout = 10)
{
	static char buf[16384];
	static struct proto_schedule s;
	const char *reason = "unset";
	size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"date\":\"2026-12-01\",\"slots\":[");

	for (int i = 0; i < PROTO_SCHEDULE_MAX + 1; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "%s{\"slot\":\"2026-12-01T07:00\",\"at\":1,\"status\":"
				      "\"pending\",\"dose\":null}",
				      i ? "," : "");
	snprintf(buf + o, sizeof(buf) - o, "],\"ts\":1}");
	cr_assert_eq(proto_schedule_decode(buf, strlen(buf), &s, &reason), -1);
	cr_assert_str_eq(reason, "bad_slots");
}

/* ---- websocket ------------------------------------------------------------------------- */

Test(ws_cmd, plan_actions_not_yet, .timeout = 10)
{
	static const char *const actions[] = {"plan", "skip", "pause", "resume", "treat", "refill"};
	struct proto_ws_cmd c;
	const char *reason;
	char text[128];

	for (size_t i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "{\"type\":\"cmd\",\"action\":\"%s\",\"id\":\"w-1\"}",
			 actions[i]);
		reason = NULL;
		cr_assert_eq(proto_ws_cmd_decode(text, strlen(text), &c, &reason), -1, "%s", text);
		cr_assert_str_eq(reason, "unknown_action");
		cr_assert_str_eq(c.id, "w-1", "the id is still there for the error frame");
	}
}
