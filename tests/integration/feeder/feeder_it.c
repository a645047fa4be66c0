/* The journal-level feeder integration tests' one fixture (feeder_it.h). */
#include "feeder_it.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct harness_broker broker;
char data_dir[512], journal[600];
const char *env[IT_ENV_MAX];
size_t it_env_used;
pid_t feeder = -1;
struct tclient *client;

static char *tmp;
static char env_url[128], env_data[600];
static char retained_name[160]; /* the retained() client's id */
#define IT_PEERS_MAX 2
static pid_t peers[IT_PEERS_MAX]; /* it_start_peer's, 0 for none */

void it_setup(const char *tag, const char *const *extra)
{
	char name[128];
	cr_assert_eq(harness_broker_start(&broker, NULL), 0);
	snprintf(name, sizeof(name), "iod-%s-it", tag);
	tmp = harness_tmpdir(name);
	cr_assert_not_null(tmp);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
	snprintf(journal, sizeof(journal), "%s/journal", data_dir);
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_data, sizeof(env_data), "IOD_DATA_DIR=%s", data_dir);
	memset(env, 0, sizeof(env));
	size_t n = 0;
	env[n++] = env_url;
	env[n++] = env_data;
	env[n++] = "IOD_FEEDER_SCHEDULE=none";
	/* The vet's bounds out of the way: the tests set the rules they need. */
	env[n++] = "IOD_FEEDER_BOUND_MIN_INTERVAL=1s";
	env[n++] = "IOD_FEEDER_BOUND_MAX_DAILY=48";
	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(n, IT_ENV_MAX - 1);
		env[n++] = extra[i];
	}
	it_env_used = n;
	snprintf(retained_name, sizeof(retained_name), "it-%s-retained", tag);
	snprintf(name, sizeof(name), "it-%s-observer", tag);
	client = tclient_new(broker.url, name);
	cr_assert_not_null(client);
	cr_assert_eq(tclient_subscribe(client, "iod/home/#", 1), 0);
}

void it_teardown(void)
{
	for (size_t i = 0; i < IT_PEERS_MAX; i++)
		if (peers[i] > 0)
			harness_stop(peers[i], SIGKILL, 2000);
	memset(peers, 0, sizeof(peers));
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

void expect_msg(const char *topic, const char *needle)
{
	struct tmsg *m = tclient_expect_with(client, topic, needle, WAIT);
	cr_assert_not_null(m, "no %s containing %s", topic, needle);
	tmsg_free(m);
}

void it_start_peer(const char *service, const char *const *extra)
{
	size_t slot = 0;
	while (slot < IT_PEERS_MAX && peers[slot] > 0)
		slot++;
	cr_assert_lt(slot, IT_PEERS_MAX, "more than %d peers", IT_PEERS_MAX);
	char binary[64], data[640], topic[128];
	const char *penv[IT_ENV_MAX] = {env_url, data};
	size_t n = 2;
	snprintf(data, sizeof(data), "IOD_DATA_DIR=%s-%s", data_dir, service);
	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(n, IT_ENV_MAX - 1);
		penv[n++] = extra[i];
	}
	snprintf(binary, sizeof(binary), "iod-%s", service);
	peers[slot] = harness_spawn(binary, NULL, penv);
	cr_assert_gt(peers[slot], 0, "cannot start %s", binary);
	snprintf(topic, sizeof(topic), "iod/home/%s/availability", service);
	expect_msg(topic, "online");
}

void start_feeder(void)
{
	tclient_flush(client);
	feeder = harness_spawn("iod-feeder", NULL, env);
	cr_assert_gt(feeder, 0);
	expect_msg(T_AVAIL, "online");
	expect_msg(T_LOG, "\"doses\"");
}

void stop_feeder(void)
{
	cr_assert_eq(harness_stop(feeder, SIGTERM, 10000), 0, "SIGTERM must exit 0");
	feeder = -1;
}

const char *expect_event(const char *id, const char *want, int timeout_ms)
{
	static char text[1024];
	char needle[96];
	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	struct tmsg *m = tclient_expect_with(client, T_EVENT, needle, timeout_ms);
	cr_assert_not_null(m, "no event for %s", id);
	cr_assert(strstr(m->payload, want) != NULL, "event %s lacks %s", m->payload, want);
	snprintf(text, sizeof(text), "%s", m->payload);
	tmsg_free(m);
	return text;
}

void feed(const char *id, const char *want)
{
	char payload[128];
	snprintf(payload, sizeof(payload), "{\"action\":\"feed\",\"id\":\"%s\"}", id);
	cr_assert_eq(tclient_publish_str(client, T_CMD, payload, 1, false), 0);
	expect_event(id, want, WAIT);
}

const char *verify_event(const char *id)
{
	static char text[512];
	char needle[96];
	snprintf(needle, sizeof(needle), "\"id\":\"%s\",\"action\":\"verify\"", id);
	struct tmsg *m = tclient_expect_with(client, T_EVENT, needle, WAIT);
	cr_assert_not_null(m, "no verify event for %s", id);
	snprintf(text, sizeof(text), "%s", m->payload);
	tmsg_free(m);
	return text;
}

char *retained(const char *topic)
{
	struct tclient *c = tclient_new(broker.url, retained_name);
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, topic, 1), 0);
	struct tmsg *m = tclient_expect(c, topic, WAIT);
	cr_assert_not_null(m, "nothing retained on %s", topic);
	cr_assert(m->retained, "%s", topic);
	char *copy = strdup(m->payload);
	tmsg_free(m);
	tclient_free(c);
	return copy;
}

int journal_tool(const char *verb)
{
	const char *args[] = {verb, "--data-dir", data_dir, NULL};
	pid_t pid = harness_spawn("iod-feeder-journal", args, env);
	cr_assert_gt(pid, 0);
	for (int i = 0; i < 1000 && harness_alive(pid); i++)
		usleep(10000);
	return harness_stop(pid, SIGKILL, 1000);
}

char *slurp(const char *path, size_t *len)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = n;
	return buf;
}
