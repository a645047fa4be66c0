/*
 * iod-feeder under a flood of commands (issue 9, item 5): a real mosquitto
 * with the shipped max_inflight_messages 20, the real binary, and 20,000
 * `home` commands from `mosquitto_pub -l`, far faster than the broker takes
 * the feeder's answers. Every command the feeder processed must have exactly
 * its event, and every one it did not must be counted in a commands_dropped
 * alert: processed + dropped == sent, exactly. Before the fix Paho's buffer
 * freed the oldest answers silently (deleteOldestMessages), and the sum fell
 * short by thousands.
 *
 * The broker keeps every message it queues (max_queued_messages 0), so what
 * the broker itself would drop for a slow subscriber cannot hide or fake a
 * loss; the events and alerts are collected by `mosquitto_sub`, which reads
 * all the time, into a file.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define T_CMD	"iod/home/feeder/cmd"
#define T_EVENT "iod/home/feeder/event"
#define T_ALERT "iod/home/alert"
#define T_AVAIL "iod/home/feeder/availability"
#define T_LOG	"iod/home/feeder/log"
#define T_MARK	"iod-test/marker"
#define N_CMDS	20000
#define WAIT	10000

static struct harness_broker broker;
static char *tmp;
static pid_t feeder = -1, collector = -1;
static struct tclient *client;
static char out_path[600], cmds_path[600];

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* fork + exec a system tool (mosquitto_sub, mosquitto_pub) in its own
 * process group, stdin and stdout from/to the given files (NULL: inherit). */
static pid_t spawn_tool(const char *const argv[], const char *in, const char *out)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	setpgid(0, 0);
	if (in) {
		int fd = open(in, O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			_exit(126);
	}
	if (out) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
	}
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

static void expect_msg(const char *topic, const char *needle)
{
	struct tmsg *m = tclient_expect_with(client, topic, needle, WAIT);
	cr_assert_not_null(m, "no %s containing %s", topic, needle);
	tmsg_free(m);
}

/* What the collector wrote so far. */
struct tally {
	size_t events, duplicates, not_ok, foreign;
	unsigned long long dropped;
	size_t drop_alerts;
	bool marker;
};

/* Read the collector's file: `topic payload` per line. Events are counted
 * per id (each must come once); commands_dropped alerts add up their
 * "<n> command(s) were dropped" counts. */
static void tally(struct tally *t, unsigned char *seen)
{
	FILE *f = fopen(out_path, "r");
	static char line[4096];

	memset(t, 0, sizeof(*t));
	memset(seen, 0, N_CMDS);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, T_MARK " ", strlen(T_MARK) + 1) == 0) {
			t->marker = true;
		} else if (strncmp(line, T_EVENT " ", strlen(T_EVENT) + 1) == 0) {
			const char *id = strstr(line, "\"id\":\"flood-");
			char *end;
			long n = id ? strtol(id + strlen("\"id\":\"flood-"), &end, 10) : -1;
			if (n < 0 || n >= N_CMDS || *end != '"') {
				t->foreign++;
				continue;
			}
			if (seen[n]++)
				t->duplicates++;
			else
				t->events++;
			if (!strstr(line, "\"result\":\"ok\""))
				t->not_ok++;
		} else if (strncmp(line, T_ALERT " ", strlen(T_ALERT) + 1) == 0 &&
			   strstr(line, "\"code\":\"commands_dropped\"")) {
			const char *msg = strstr(line, "\"message\":\"");
			cr_assert_not_null(msg, "alert without a message: %s", line);
			char *end;
			unsigned long long n = strtoull(msg + strlen("\"message\":\""), &end, 10);
			cr_assert(strncmp(end, " command(s) were dropped", 24) == 0,
				  "alert message without a count: %s", line);
			t->dropped += n;
			t->drop_alerts++;
		}
	}
	fclose(f);
}

static void setup(void)
{
	/* The shipped broker's in-flight limit; queue without limit so the
	 * broker drops nothing on its own. */
	cr_assert_eq(harness_broker_start(&broker, "max_inflight_messages 20\n"
						   "max_queued_messages 0\n"),
		     0);
	tmp = harness_tmpdir("iod-feeder-flood");
	cr_assert_not_null(tmp);
	snprintf(out_path, sizeof(out_path), "%s/collected", tmp);
	snprintf(cmds_path, sizeof(cmds_path), "%s/commands", tmp);

	FILE *f = fopen(cmds_path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < N_CMDS; i++)
		fprintf(f, "{\"action\":\"home\",\"id\":\"flood-%d\"}\n", i);
	cr_assert_eq(fclose(f), 0);

	client = tclient_new(broker.url, "flood-observer");
	cr_assert_not_null(client);
	cr_assert_eq(tclient_subscribe(client, "iod/home/#", 1), 0);

	char port[16];
	snprintf(port, sizeof(port), "%d", broker.port);
	const char *sub[] = {
	    "mosquitto_sub", "-h", "127.0.0.1", "-p", port,   "-V", "5", "-q", "1", "-v", "-t",
	    T_EVENT,	     "-t", T_ALERT,	"-t", T_MARK, NULL};
	collector = spawn_tool(sub, NULL, out_path);
	cr_assert_gt(collector, 0);
	/* Subscribed once a marker comes through. */
	struct tally t;
	static unsigned char seen[N_CMDS];
	for (int i = 0; i < 100; i++) {
		tclient_publish_str(client, T_MARK, "marker", 1, false);
		sleep_ms(100);
		tally(&t, seen);
		if (t.marker)
			break;
	}
	cr_assert(t.marker, "mosquitto_sub did not subscribe");

	char env_url[128], env_data[700];
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_data, sizeof(env_data), "IOD_DATA_DIR=%s/data", tmp);
	const char *env[] = {env_url, env_data, "IOD_FEEDER_SCHEDULE=none", NULL};
	feeder = harness_spawn("iod-feeder", NULL, env);
	cr_assert_gt(feeder, 0);
	expect_msg(T_AVAIL, "online");
	expect_msg(T_LOG, "\"doses\"");
}

static void teardown(void)
{
	if (feeder > 0)
		harness_stop(feeder, SIGKILL, 2000);
	feeder = -1;
	if (collector > 0) {
		kill(-collector, SIGKILL);
		waitpid(collector, NULL, 0);
	}
	collector = -1;
	if (client)
		tclient_free(client);
	client = NULL;
	harness_broker_destroy(&broker);
	if (tmp)
		harness_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

static void flood(const char *qos)
{
	static unsigned char seen[N_CMDS];
	char port[16];
	snprintf(port, sizeof(port), "%d", broker.port);
	const char *pub[] = {
	    "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "5", "-q", qos, "-t",
	    T_CMD,	     "-l", NULL};
	pid_t p = spawn_tool(pub, cmds_path, NULL);
	int status;
	cr_assert_gt(p, 0);
	cr_assert_eq(waitpid(p, &status, 0), p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "mosquitto_pub failed");

	/* Wait until every command is accounted for, or nothing has come for
	 * 15 s (then the sum below says what is missing). */
	struct tally t;
	size_t last = (size_t)-1;
	int still = 0;
	for (;;) {
		tally(&t, seen);
		size_t now = t.events + t.duplicates + (size_t)t.dropped + t.drop_alerts;
		if (t.events + t.dropped >= N_CMDS || still >= 75)
			break;
		still = now == last ? still + 1 : 0;
		last = now;
		sleep_ms(200);
	}
	cr_log_info("QoS %s: %zu processed, %llu dropped in %zu alert(s)", qos, t.events, t.dropped,
		    t.drop_alerts);
	cr_expect_eq(t.duplicates, 0, "%zu commands got a second event", t.duplicates);
	cr_expect_eq(t.not_ok, 0, "%zu home commands were not ok", t.not_ok);
	cr_expect_eq(t.foreign, 0, "%zu events for ids never sent", t.foreign);
	cr_assert_gt(t.events, 0);
	cr_assert_eq(t.events + t.dropped, N_CMDS,
		     "sent %d: %zu answered + %llu counted as dropped; %lld lost silently", N_CMDS,
		     t.events, t.dropped, (long long)N_CMDS - (long long)(t.events + t.dropped));

	tclient_flush(client);
	cr_assert_eq(harness_stop(feeder, SIGTERM, 10000), 0, "SIGTERM must exit 0");
	feeder = -1;
	expect_msg(T_AVAIL, "offline");
}

Test(feeder_flood, qos0_every_command_answered_or_counted, .init = setup, .fini = teardown,
     .timeout = 180)
{
	flood("0");
}

Test(feeder_flood, qos1_every_command_answered_or_counted, .init = setup, .fini = teardown,
     .timeout = 180)
{
	flood("1");
}
