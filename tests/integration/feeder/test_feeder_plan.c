/*
 * The care plan on the wire (issue 11, slice 1): the real iod-feeder and a
 * real mosquitto. feeder/plan and feeder/schedule are retained from the
 * start; a plan command is answered once with the new rev, and the broker
 * then holds the new plan and a schedule of its slots; a restart publishes
 * the journaled plan again, not the environment's.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feeder_it.h"
#include "harness.h"
#include "proto.h"

#define T_PLAN	   "iod/home/feeder/plan"
#define T_SCHEDULE "iod/home/feeder/schedule"

static void setup(void)
{
	it_setup("feeder-plan", NULL);
}

TestSuite(feeder_plan_it, .init = setup, .fini = it_teardown, .timeout = 90);

/* The retained plan's text, which must contain each of want (NULL-ended).
 * Text, not proto_plan_decode: the fixture's 1 s bound is under the range
 * the decoder takes for a plan command's min_interval_s (60 s). */
static void expect_retained_plan(const char *const *want)
{
	char *text = retained(T_PLAN);
	for (size_t i = 0; want[i]; i++)
		cr_assert(strstr(text, want[i]), "plan lacks %s: %s", want[i], text);
	free(text);
}

/* The retained schedule, decoded; its text stays in *text for messages. */
static struct proto_schedule *retained_schedule(char **text)
{
	static struct proto_schedule s;
	const char *why = NULL;

	*text = retained(T_SCHEDULE);
	cr_assert_eq(proto_schedule_decode(*text, strlen(*text), &s, &why), 0, "%s: %s", *text,
		     why);
	return &s;
}

/* The two slots planned, and the schedule they must make. */
struct wanted {
	char at[2][16];	    /* "HH:MM": before now, after now */
	char sorted[2][16]; /* the same, as the plan lists them */
	char slot[4][20];   /* today's and tomorrow's, "YYYY-MM-DDTHH:MM", in order */
	size_t n;
};

static void add_slot(struct wanted *w, const struct tm *day, const char *at, time_t now)
{
	struct tm t = *day;
	t.tm_hour = atoi(at);
	t.tm_min = atoi(at + 3);
	t.tm_sec = 0;
	t.tm_isdst = -1;
	time_t when = mktime(&t);
	if (when <= now)
		return; /* past when planned */
	strftime(w->slot[w->n++], sizeof(w->slot[0]), "%Y-%m-%dT%H:%M", &t);
}

static void plan_around_now(struct wanted *w)
{
	time_t now = time(NULL);
	struct tm lt;
	localtime_r(&now, &lt);
	int m = lt.tm_hour * 60 + lt.tm_min;
	int at[2] = {(m + 1440 - 200) % 1440, (m + 200) % 1440};

	memset(w, 0, sizeof(*w));
	for (int i = 0; i < 2; i++)
		snprintf(w->at[i], sizeof(w->at[i]), "%02d:%02d", at[i] / 60, at[i] % 60);
	int lo = at[0] < at[1] ? 0 : 1;
	memcpy(w->sorted[0], w->at[lo], sizeof(w->at[0]));
	memcpy(w->sorted[1], w->at[1 - lo], sizeof(w->at[0]));
	for (int d = 0; d < 2; d++) {
		struct tm day = lt;
		day.tm_mday += d;
		day.tm_hour = 12; /* normalised by mktime; noon is never in a DST gap */
		day.tm_isdst = -1;
		time_t noon = mktime(&day);
		localtime_r(&noon, &day);
		for (int i = 0; i < 2; i++)
			add_slot(w, &day, w->sorted[i], now);
	}
}

Test(feeder_plan_it, plan_and_schedule_retained_changed_by_command_kept_over_restart)
{
	start_feeder();
	static const char *const seeded[] = {"\"rev\":1,", "\"slots\":[]", "\"changed_by\":\"env\"",
					     "\"bounds\":{\"min_interval_s\":1,\"max_daily\":48}",
					     NULL};
	expect_retained_plan(seeded);
	char *text;
	cr_assert_eq(retained_schedule(&text)->n, 0, "%s", text);
	free(text);

	/* Two daily slots, one a little over three hours before now and one
	 * after (local time, whatever the hour the test runs at): a slot whose
	 * time had passed when it was planned is never a dose owed, so the
	 * schedule holds exactly the others of today and tomorrow. */
	struct wanted w;
	plan_around_now(&w);
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "{\"action\":\"plan\",\"id\":\"p1\",\"by\":\"ann\",\"plan\":{\"slots\":["
		 "{\"at\":\"%s\",\"days\":\"daily\"},{\"at\":\"%s\",\"days\":\"daily\"}]}}",
		 w.at[0], w.at[1]);
	cr_assert_eq(tclient_publish_str(client, T_CMD, cmd, 1, false), 0);
	struct tmsg *m = tclient_expect_with(client, T_EVENT, "\"id\":\"p1\"", WAIT);
	cr_assert_not_null(m, "no event for the plan command");
	cr_assert(strstr(m->payload, "\"result\":\"ok\"") && strstr(m->payload, "\"rev\":2"), "%s",
		  m->payload);
	tmsg_free(m);
	expect_msg(T_SCHEDULE, w.slot[w.n - 1]);
	char slots[160];
	snprintf(slots, sizeof(slots),
		 "\"slots\":[{\"at\":\"%s\",\"days\":\"daily\",\"enabled\":true},"
		 "{\"at\":\"%s\",\"days\":\"daily\",\"enabled\":true}]",
		 w.sorted[0], w.sorted[1]);
	const char *const changed[] = {"\"rev\":2,", slots, "\"changed_by\":\"ann\"", NULL};
	expect_retained_plan(changed);
	struct proto_schedule *s = retained_schedule(&text);
	cr_assert_eq(s->n, w.n, "%zu slots, not %zu: %s", s->n, w.n, text);
	for (size_t i = 0; i < w.n; i++) {
		cr_assert_str_eq(s->slots[i].slot, w.slot[i], "%s", text);
		cr_assert_eq(s->slots[i].status, PROTO_SLOT_PENDING, "%s", text);
	}
	free(text);

	/* Restarted with the same environment: the journaled plan rules and is
	 * published again. */
	stop_feeder();
	start_feeder();
	expect_msg(T_PLAN, "\"rev\":2");
	expect_retained_plan(changed);
	stop_feeder();
}
