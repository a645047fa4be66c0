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

#include "harness.h"

#define T_CMD	 "iod/home/feeder/cmd"
#define T_EVENT	 "iod/home/feeder/event"
#define T_STATE	 "iod/home/feeder/state"
#define T_LOG	 "iod/home/feeder/log"
#define T_AVAIL	 "iod/home/feeder/availability"
#define T_ALERT	 "iod/home/alert"
#define WAIT	 10000
#define INTERVAL 30000 /* IOD_FEEDER_MIN_INTERVAL */

static struct harness_broker broker;
static char *tmp;
static char data_dir[512], journal[600];
static char env_url[128], env_data[600], env_preload[600];
static const char *env[8];
static pid_t feeder = -1;
static struct tclient *client;

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void setup(void)
{
	const char *lib = getenv("IOD_FAKETIME_LIB");
	cr_assert(lib && lib[0], "IOD_FAKETIME_LIB is not set (run through ctest)");
	cr_assert_eq(harness_broker_start(&broker, NULL), 0);
	tmp = harness_tmpdir("iod-feeder-clock-ack-it");
	cr_assert_not_null(tmp);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
	snprintf(journal, sizeof(journal), "%s/journal", data_dir);
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_data, sizeof(env_data), "IOD_DATA_DIR=%s", data_dir);
	snprintf(env_preload, sizeof(env_preload), "LD_PRELOAD=%s", lib);
	env[0] = env_url;
	env[1] = env_data;
	env[2] = "IOD_FEEDER_SCHEDULE=none";
	env[3] = "IOD_FEEDER_MIN_INTERVAL=30s";
	env[4] = NULL;
	client = tclient_new(broker.url, "it-clock-ack-observer");
	cr_assert_not_null(client);
	cr_assert_eq(tclient_subscribe(client, "iod/home/#", 1), 0);
}

static void teardown(void)
{
	if (feeder > 0)
		harness_stop(feeder, SIGKILL, 2000);
	feeder = -1;
	if (client)
		tclient_free(client);
	client = NULL;
	harness_broker_destroy(&broker);
	if (tmp)
		harness_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

TestSuite(feeder_clock_ack_it, .init = setup, .fini = teardown, .timeout = 180);

/* A year ahead: only the feeder's wall clock, through libfaketime. */
static void clock_ahead(bool on)
{
	env[4] = on ? env_preload : NULL;
	env[5] = on ? "FAKETIME=+365d" : NULL;
	env[6] = on ? "FAKETIME_DONT_FAKE_MONOTONIC=1" : NULL;
	env[7] = NULL;
}

static void start_feeder(void)
{
	tclient_flush(client);
	feeder = harness_spawn("iod-feeder", NULL, env);
	cr_assert_gt(feeder, 0);
	struct tmsg *m = tclient_expect_with(client, T_AVAIL, "online", WAIT);
	cr_assert_not_null(m, "the feeder did not come online");
	tmsg_free(m);
	m = tclient_expect_with(client, T_LOG, "\"doses\"", WAIT);
	cr_assert_not_null(m);
	tmsg_free(m);
}

static void stop_feeder(void)
{
	cr_assert_eq(harness_stop(feeder, SIGTERM, 10000), 0, "SIGTERM must exit 0");
	feeder = -1;
}

static void feed(const char *id, const char *want)
{
	char payload[128], needle[96];
	snprintf(payload, sizeof(payload), "{\"action\":\"feed\",\"id\":\"%s\"}", id);
	cr_assert_eq(tclient_publish_str(client, T_CMD, payload, 1, false), 0);
	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	struct tmsg *m = tclient_expect_with(client, T_EVENT, needle, WAIT);
	cr_assert_not_null(m, "no event for %s", id);
	cr_assert(strstr(m->payload, want) != NULL, "event %s lacks %s", m->payload, want);
	tmsg_free(m);
}

static int journal_tool(const char *verb)
{
	const char *args[] = {verb, "--data-dir", data_dir, NULL};
	pid_t pid = harness_spawn("iod-feeder-journal", args, env);
	cr_assert_gt(pid, 0);
	for (int i = 0; i < 1000 && harness_alive(pid); i++)
		usleep(10000);
	return harness_stop(pid, SIGKILL, 1000);
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

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
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
	const char *text = slurp(journal);
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
