/*
 * iod-feeder's journal end to end (issue 9, items 1-3): the real binary and
 * a real mosquitto. A damaged journal makes the restarted feeder refuse the
 * next feed with a critical journal_damaged alert until iod-feeder-journal
 * repair; an emptied journal is no first install; a FIFO at the journal's
 * path neither hangs the feeder nor lets it dose.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define T_CMD	"iod/home/feeder/cmd"
#define T_EVENT "iod/home/feeder/event"
#define T_LOG	"iod/home/feeder/log"
#define T_AVAIL "iod/home/feeder/availability"
#define T_ALERT "iod/home/alert"
#define WAIT	10000

static struct harness_broker broker;
static char *tmp;
static char data_dir[512], journal[600];
static char env_url[128], env_data[600];
static const char *env[4];
static pid_t feeder = -1;
static struct tclient *client;

static void expect_msg(const char *topic, const char *needle)
{
	struct tmsg *m = tclient_expect_with(client, topic, needle, WAIT);
	cr_assert_not_null(m, "no %s containing %s", topic, needle);
	tmsg_free(m);
}

static void setup(void)
{
	cr_assert_eq(harness_broker_start(&broker, NULL), 0);
	tmp = harness_tmpdir("iod-feeder-journal-it");
	cr_assert_not_null(tmp);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
	snprintf(journal, sizeof(journal), "%s/journal", data_dir);
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_data, sizeof(env_data), "IOD_DATA_DIR=%s", data_dir);
	env[0] = env_url;
	env[1] = env_data;
	env[2] = "IOD_FEEDER_SCHEDULE=none";
	env[3] = NULL;
	client = tclient_new(broker.url, "it-journal-observer");
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

TestSuite(feeder_journal_it, .init = setup, .fini = teardown, .timeout = 120);

static void start_feeder(void)
{
	tclient_flush(client);
	feeder = harness_spawn("iod-feeder", NULL, env);
	cr_assert_gt(feeder, 0);
	expect_msg(T_AVAIL, "online");
	expect_msg(T_LOG, "\"doses\"");
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

/* Run iod-feeder-journal <verb> on the data dir; its exit code. */
static int journal_tool(const char *verb)
{
	const char *args[] = {verb, "--data-dir", data_dir, NULL};
	pid_t pid = harness_spawn("iod-feeder-journal", args, env);
	cr_assert_gt(pid, 0);
	for (int i = 0; i < 1000 && harness_alive(pid); i++)
		usleep(10000);
	return harness_stop(pid, SIGKILL, 1000);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	static char buf[1 << 16];
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* The issue's reproduction: feed a1, stop, remove one byte of the intent
 * line (sed -i 's/"op":"intent"/"op":"intent/'), start, feed a2. */
Test(feeder_journal_it, damaged_intent_line_refuses_the_second_dose_until_repaired)
{
	start_feeder();
	feed("a1", "\"result\":\"ok\"");
	stop_feeder();
	size_t n;
	char *text = slurp(journal, &n);
	char *p = strstr(text, "\"op\":\"intent\"");
	cr_assert_not_null(p);
	p += 12;
	memmove(p, p + 1, n - (size_t)(p + 1 - text));
	FILE *f = fopen(journal, "w");
	cr_assert_eq(fwrite(text, 1, n - 1, f), n - 1);
	fclose(f);

	start_feeder();
	struct tmsg *m = tclient_expect_with(client, T_ALERT, "journal_damaged", WAIT);
	cr_assert_not_null(m, "no journal_damaged alert");
	cr_assert(strstr(m->payload, "\"level\":\"critical\"") != NULL, "%s", m->payload);
	cr_assert(strstr(m->payload, "line 2") != NULL, "names the line: %s", m->payload);
	tmsg_free(m);
	feed("a2", "\"reason\":\"too_soon\"");
	cr_assert_eq(journal_tool("repair"), 2, "refused while the feeder runs");
	stop_feeder();

	cr_assert_eq(journal_tool("check"), 1, "check: damaged");
	cr_assert_eq(journal_tool("repair"), 0);
	cr_assert_eq(journal_tool("check"), 0, "sound after the repair");
	start_feeder();
	feed("a3", "\"reason\":\"too_soon\"");
	cr_assert_null(tclient_expect_with(client, T_ALERT, "journal_damaged", 300),
		       "quiet once repaired");
	stop_feeder();
}

Test(feeder_journal_it, emptied_journal_is_not_a_first_install)
{
	start_feeder();
	feed("e1", "\"result\":\"ok\"");
	stop_feeder();
	cr_assert_eq(truncate(journal, 0), 0);
	start_feeder();
	expect_msg(T_ALERT, "journal_damaged");
	feed("e2", "\"reason\":\"too_soon\"");
	stop_feeder();
}

Test(feeder_journal_it, fifo_at_the_journal_path_does_not_hang_the_feeder)
{
	cr_assert_eq(mkdir(data_dir, 0700), 0);
	cr_assert_eq(mkfifo(journal, 0600), 0);
	start_feeder(); /* online: it did not hang */
	struct tmsg *m = tclient_expect_with(client, T_ALERT, "journal_unavailable", WAIT);
	cr_assert_not_null(m);
	cr_assert(strstr(m->payload, "not a regular file") != NULL, "%s", m->payload);
	tmsg_free(m);
	feed("f1", "\"reason\":\"journal_unavailable\"");
	stop_feeder();
}
