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

static struct proto_schedule *retained_schedule(void)
{
	static struct proto_schedule s;
	char *text = retained(T_SCHEDULE);
	const char *why = NULL;
	cr_assert_eq(proto_schedule_decode(text, strlen(text), &s, &why), 0, "%s: %s", text, why);
	free(text);
	return &s;
}

Test(feeder_plan_it, plan_and_schedule_retained_changed_by_command_kept_over_restart)
{
	start_feeder();
	static const char *const seeded[] = {"\"rev\":1,", "\"slots\":[]", "\"changed_by\":\"env\"",
					     "\"bounds\":{\"min_interval_s\":1,\"max_daily\":48}",
					     NULL};
	expect_retained_plan(seeded);
	cr_assert_eq(retained_schedule()->n, 0);

	/* One slot at 12:00 every day: today's and tomorrow's in the schedule. */
	cr_assert_eq(
	    tclient_publish_str(client, T_CMD,
				"{\"action\":\"plan\",\"id\":\"p1\",\"by\":\"ann\","
				"\"plan\":{\"slots\":[{\"at\":\"12:00\",\"days\":\"daily\"}]}}",
				1, false),
	    0);
	struct tmsg *m = tclient_expect_with(client, T_EVENT, "\"id\":\"p1\"", WAIT);
	cr_assert_not_null(m, "no event for the plan command");
	cr_assert(strstr(m->payload, "\"result\":\"ok\"") && strstr(m->payload, "\"rev\":2"), "%s",
		  m->payload);
	tmsg_free(m);
	expect_msg(T_SCHEDULE, "T12:00");
	static const char *const changed[] = {
	    "\"rev\":2,", "\"slots\":[{\"at\":\"12:00\",\"days\":\"daily\",\"enabled\":true}]",
	    "\"changed_by\":\"ann\"", NULL};
	expect_retained_plan(changed);
	struct proto_schedule *s = retained_schedule();
	cr_assert_eq(s->n, 2, "today's and tomorrow's 12:00");
	cr_assert(strstr(s->slots[0].slot, "T12:00") && strstr(s->slots[1].slot, "T12:00"));

	/* Restarted with the same environment: the journaled plan rules and is
	 * published again. */
	stop_feeder();
	start_feeder();
	expect_msg(T_PLAN, "\"rev\":2");
	expect_retained_plan(changed);
	stop_feeder();
}
