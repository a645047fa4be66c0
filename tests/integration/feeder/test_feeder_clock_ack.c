/*
 * A dose journaled under a wall clock a year ahead, end to end (issue 9,
 * item 12): the real iod-feeder under libfaketime (+365 days, monotonic
 * clocks real) gives a dose; started again on the real clock it refuses the
 * next with a critical clock_ahead_dose alert; stopped, iod-feeder-journal
 * clock-ack re-dates the dose to the time the boot clock proves, and the
 * feeder started again allows the next dose exactly at that time plus the
 * interval. Registered only with the forced-clock variants (not under
 * IOD_SANITIZE); IOD_FAKETIME_LIB names libfaketimeMT.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feeder_it.h"
#include "harness.h"

#define INTERVAL 30000 /* IOD_FEEDER_MIN_INTERVAL */

static char env_preload[600];

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void setup(void)
{
	static const char *const extra[] = {"IOD_FEEDER_MIN_INTERVAL=30s", NULL};
	const char *lib = getenv("IOD_FAKETIME_LIB");
	cr_assert(lib && lib[0], "IOD_FAKETIME_LIB is not set (run through ctest)");
	snprintf(env_preload, sizeof(env_preload), "LD_PRELOAD=%s", lib);
	it_setup("feeder-clock-ack", extra);
}

TestSuite(feeder_clock_ack_it, .init = setup, .fini = it_teardown, .timeout = 180);

/* A year ahead: only the feeder's wall clock, through libfaketime. */
static void clock_ahead(bool on)
{
	size_t n = it_env_used;
	env[n] = on ? env_preload : NULL;
	env[n + 1] = on ? "FAKETIME=+365d" : NULL;
	env[n + 2] = on ? "FAKETIME_DONT_FAKE_MONOTONIC=1" : NULL;
	env[n + 3] = NULL;
}

/* The integer after "name": in text (after from, when given). */
static int64_t member(const char *text, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = strstr(text, key);
	cr_assert_not_null(p, "no %s in %s", name, text);
	return strtoll(p + strlen(key), NULL, 10);
}

Test(feeder_clock_ack_it, dose_a_year_ahead_is_refused_until_clock_ack_then_allowed_on_time)
{
	clock_ahead(true);
	start_feeder();
	int64_t sent = wall_ms();
	feed("c1", "\"result\":\"ok\"");
	int64_t answered = wall_ms();
	stop_feeder();

	clock_ahead(false); /* the clock corrected */
	start_feeder();
	struct tmsg *m = tclient_expect_with(client, T_ALERT, "clock_ahead_dose", WAIT);
	cr_assert_not_null(m, "no clock_ahead_dose alert");
	cr_assert(strstr(m->payload, "\"level\":\"critical\"") != NULL, "%s", m->payload);
	cr_assert(strstr(m->payload, "dose c1 dated") != NULL, "%s", m->payload);
	cr_assert(strstr(m->payload, "iod-feeder-journal clock-ack") != NULL, "%s", m->payload);
	tmsg_free(m);
	feed("c2", "\"reason\":\"too_soon\"");
	cr_assert_eq(journal_tool("clock-ack"), 2, "refused while the feeder runs");
	stop_feeder();

	cr_assert_eq(journal_tool("clock-ack"), 0);
	const char *text = slurp(journal, NULL);
	const char *ack = strstr(text, "\"op\":\"clock_ack\",\"id\":\"c1\"");
	cr_assert_not_null(ack, "no clock_ack record: %s", text);
	cr_assert(strstr(ack, "\"reason\":\"boot_clock\"") != NULL, "same boot: %s", ack);
	int64_t from = member(ack, "from"), to = member(ack, "to");
	/* The boot clock puts the dose where it really was: between the
	 * command and its answer, a year before the journaled time. */
	cr_assert(to >= sent - 1000 && to <= answered,
		  "re-dated to %" PRId64 ", fed in [%" PRId64 ", %" PRId64 "]", to, sent, answered);
	cr_assert_gt(from - to, 364LL * 24 * 3600 * 1000);
	cr_assert_eq(journal_tool("clock-ack"), 1, "a second ack has nothing to do");

	start_feeder();
	m = tclient_expect_with(client, T_ALERT, "\"level\":\"info\"", WAIT);
	cr_assert_not_null(m, "the acknowledgement is announced");
	cr_assert(strstr(m->payload, "clock_ahead_dose") != NULL, "%s", m->payload);
	tmsg_free(m);
	m = tclient_expect(client, T_STATE, WAIT);
	cr_assert_not_null(m);
	int64_t next = member(m->payload, "next_allowed");
	/* The wall-clock bound is exactly to + interval; the boot-clock bound
	 * (the same instant, from CLOCK_BOOTTIME) comes from two clocks read a
	 * moment apart in whole ms, so it may be 1 ms later, never earlier. */
	cr_assert(next >= to + INTERVAL && next <= to + INTERVAL + 2,
		  "next allowed from the re-dated dose (%" PRId64 " + %d): %s", to, INTERVAL,
		  m->payload);
	tmsg_free(m);
	if (wall_ms() < next - 2000)
		feed("c3", "\"reason\":\"too_soon\"");
	while (wall_ms() <= next)
		usleep(100000);
	feed("c4", "\"result\":\"ok\"");
	cr_assert_null(tclient_expect_with(client, T_ALERT, "\"level\":\"critical\"", 300),
		       "no critical alert once acknowledged");
	stop_feeder();
}
