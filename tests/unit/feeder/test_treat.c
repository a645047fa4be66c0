/* feeder: treats (issue 11, slice 2): the second dispenser under the plan's
 * treat rules only (treat_limit a local day, too_soon within the treat
 * interval, busy only while a treat moves), never touching the medication
 * rules; the treat history of today survives a restart and a compaction.
 * Injected clock, journal in a temp dir, TZ Europe/Berlin (the fixture). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "feeder.h"
#include "fixture.h"

static void setup(void)
{
	fixture_setup("treat");
	cfg.boot_id = "3f1c1c2e-0000-4000-8000-00000000000c";
	cfg.treat_dispenser = true;
}

TestSuite(treat, .init = setup, .fini = fixture_teardown);

static struct proto_feeder_cmd *treat_cmd(const char *id)
{
	static struct proto_feeder_cmd c;
	memset(&c, 0, sizeof(c));
	c.action = PROTO_ACTION_TREAT;
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.by, sizeof(c.by), "ann");
	return &c;
}

/* A treat command; when it is dispensed, done (ok) a second later. Returns
 * the command's final event result, *reason its reason. */
static enum proto_result treat(struct feeder *f, const char *id, char reason[128])
{
	struct feeder_result res;
	feeder_handle(f, treat_cmd(id), &now, &res);
	if (res.action == FEEDER_DO_TREAT) {
		cr_assert(!res.has_event, "answered when done");
		advance(1000);
		feeder_treat_done(f, true, NULL, &now, &res);
	}
	cr_assert(res.has_event, "one event per command");
	cr_assert_str_eq(res.event.action, "treat");
	cr_assert_str_eq(res.event.id, id);
	if (reason)
		memcpy(reason, res.event.reason, sizeof(res.event.reason));
	return res.event.result;
}

Test(treat, without_a_dispenser_rejected, .timeout = 10)
{
	cfg.treat_dispenser = false;
	struct feeder *f = start(NULL);
	char why[128];
	cr_assert_eq(treat(f, "t1", why), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(why, PROTO_REASON_NO_TREAT_DISPENSER);
	feeder_free(f);
}

/* Ten treats in a row move neither next_allowed nor doses_today, and a dose
 * is not held by them (nor a treat by a dose). */
Test(treat, never_counted_toward_nor_waiting_for_the_medication, .timeout = 10)
{
	struct feeder *f = start(NULL);
	struct feeder_result res;
	cr_assert_eq(dose_id(f, "d1", 1000, &res), PROTO_RESULT_OK);
	struct proto_feeder_state before;
	feeder_state(f, &now, &before);
	for (int i = 0; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof(id), "t%d", i);
		cr_assert_eq(treat(f, id, NULL), PROTO_RESULT_OK, "treat %d", i);
		advance(5 * MIN);
	}
	struct proto_feeder_state after;
	feeder_state(f, &now, &after);
	cr_assert_eq(after.next_allowed_ms, before.next_allowed_ms);
	cr_assert_eq(after.doses_today, 1);
	cr_assert_eq(after.last_dose_ms, before.last_dose_ms);
	/* A treat moving does not make a dose busy, nor a dose a treat. */
	advance(24 * H); /* tomorrow: the ten were today's treat_limit */
	feeder_handle(f, treat_cmd("t-first"), &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_TREAT);
	send(f, "{\"action\":\"feed\",\"id\":\"d2\"}", &res);
	cr_assert_eq(res.action, FEEDER_DO_DOSE, "a dose during a treat: separate mechanism");
	feeder_handle(f, treat_cmd("t-second"), &now, &res);
	cr_assert_eq(res.event.result, PROTO_RESULT_REJECTED);
	cr_assert_str_eq(res.event.reason, PROTO_REASON_BUSY, "a treat moving");
	feeder_treat_done(f, true, NULL, &now, &res);
	cr_assert_str_eq(res.event.id, "t-first");
	advance(5 * MIN);
	feeder_handle(f, treat_cmd("t-during-dose"), &now, &res);
	cr_assert_eq(res.action, FEEDER_DO_TREAT, "a treat during a dose: not busy");
	feeder_treat_done(f, true, NULL, &now, &res);
	feeder_dose_done(f, true, NULL, &now, &res);
	cr_assert_str_eq(res.event.id, "d2");
	cr_assert_eq(res.event.result, PROTO_RESULT_OK);
	feeder_free(f);
}

Test(treat, too_soon_and_treat_limit_hold_after_a_restart, .timeout = 10)
{
	struct feeder *f = start(NULL);
	char why[128];
	cr_assert_eq(treat(f, "t0", why), PROTO_RESULT_OK);
	advance(4 * MIN);
	cr_assert_eq(treat(f, "t-soon", why), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(why, PROTO_REASON_TOO_SOON, "within 300 s");
	feeder_free(f);
	f = start(NULL);
	cr_assert_eq(treat(f, "t-soon2", why), PROTO_RESULT_REJECTED, "after a restart too");
	cr_assert_str_eq(why, PROTO_REASON_TOO_SOON);
	advance(MIN);
	/* 09:05: nine more make ten today */
	for (int i = 1; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof(id), "t%d", i);
		cr_assert_eq(treat(f, id, why), PROTO_RESULT_OK, "treat %d: %s", i, why);
		advance(5 * MIN);
	}
	cr_assert_eq(treat(f, "t10", why), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(why, PROTO_REASON_TREAT_LIMIT);
	feeder_free(f);
	f = start(NULL);
	cr_assert_eq(treat(f, "t11", why), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(why, PROTO_REASON_TREAT_LIMIT, "the day's treats are in the journal");
	cr_assert_eq(treat(f, "t0", why), PROTO_RESULT_DUPLICATE, "idempotent by id");
	cr_assert_str_eq(why, "ok");
	/* the next local day (Berlin midnight is 23:00 UTC): allowed again */
	advance(15 * H);
	cr_assert_eq(treat(f, "t12", why), PROTO_RESULT_OK, "%s", why);
	feeder_free(f);
}

/* A compaction keeps today's treats even when the command ring has let
 * them go (a small id_memory). */
Test(treat, compaction_keeps_the_days_treats, .timeout = 30)
{
	cfg.id_memory = 4;
	cfg.compact_bytes = 2048;
	struct feeder *f = start(NULL);
	char why[128];
	struct feeder_result res;
	for (int i = 0; i < 10; i++) {
		/* expired feeds: remembered, they push the treats out of the ring
		 * and grow the journal past compact_bytes between treats */
		for (int j = 0; j < 12; j++) {
			char msg[80];
			snprintf(msg, sizeof(msg),
				 "{\"action\":\"feed\",\"id\":\"x%d-%d\",\"ts\":1}", i, j);
			send(f, msg, &res);
		}
		char id[16];
		snprintf(id, sizeof(id), "t%d", i);
		cr_assert_eq(treat(f, id, why), PROTO_RESULT_OK, "treat %d: %s", i, why);
		advance(5 * MIN);
	}
	struct feeder_stats st;
	feeder_get_stats(f, &st);
	cr_assert_gt(st.compactions, 3);
	feeder_free(f);
	f = start(NULL);
	cr_assert_eq(treat(f, "t10", why), PROTO_RESULT_REJECTED);
	cr_assert_str_eq(why, PROTO_REASON_TREAT_LIMIT);
	feeder_free(f);
}
