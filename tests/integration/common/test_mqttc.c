/*
 * mqttc against a real mosquitto: availability (online, offline on stop, the
 * will on SIGKILL), retain-as-published on live messages, reconnect and
 * resubscribe after a broker restart, the initial-connect retry, the
 * persistent session, oversize payloads, user/password.
 *
 * The client under test runs in iod-mqttc-probe (a service-shaped program
 * in this directory) so signals and exits are the real thing.
 */
#include "harness.h"
#include "mqttc.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS	  10000
#define AVAIL	  "iod/home/probe/availability"
#define CONNECTED "iod/home/probe/connected"

static struct harness_broker broker;

static void broker_up(void)
{
	cr_assert_eq(harness_broker_start(&broker, NULL), 0, "mosquitto did not start");
}

/* Every probe a test starts, so a failed assertion does not leave one
 * running (the harness puts each in its own process group). */
static pid_t probes[4];
static size_t n_probes;

static void broker_down(void)
{
	for (size_t i = 0; i < n_probes; i++)
		if (harness_alive(probes[i]))
			harness_stop(probes[i], SIGKILL, 5000);
	n_probes = 0;
	harness_broker_destroy(&broker);
}

/* Spawn the probe against the broker; extra env entries (NULL-terminated). */
static pid_t probe_start(const char *const extra[])
{
	char url[96];
	const char *env[16];
	size_t n = 0;
	pid_t pid;

	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	env[n++] = url;
	env[n++] = "IOD_LOG_LEVEL=debug";
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	pid = harness_spawn("iod-mqttc-probe", NULL, env);
	cr_assert_gt(pid, 0, "cannot spawn iod-mqttc-probe");
	if (n_probes < sizeof(probes) / sizeof(probes[0]))
		probes[n_probes++] = pid;
	return pid;
}

static struct tclient *observer(const char *id)
{
	struct tclient *c = tclient_new(broker.url, id);

	cr_assert_not_null(c, "test client cannot connect to %s", broker.url);
	return c;
}

static void expect_payload(struct tclient *c, const char *topic, const char *payload)
{
	struct tmsg *m = tclient_expect_with(c, topic, payload, WAIT_MS);

	cr_assert_not_null(m, "no '%s' on %s", payload, topic);
	cr_assert_str_eq(m->payload, payload);
	tmsg_free(m);
}

/* The retained value a fresh subscriber gets for topic. */
static void expect_retained(const char *topic, const char *payload)
{
	struct tclient *c = observer("iod-test-fresh");
	struct tmsg *m;

	cr_assert_eq(tclient_subscribe(c, topic, 1), 0);
	m = tclient_expect(c, topic, WAIT_MS);
	cr_assert_not_null(m, "nothing retained on %s", topic);
	cr_assert(m->retained, "%s: not retained", topic);
	cr_assert_str_eq(m->payload, payload, "%s", topic);
	tmsg_free(m);
	tclient_free(c);
}

/* Start the probe and wait until it has subscribed (its connected marker
 * is published after the subscriptions are sent). */
static pid_t probe_ready(struct tclient *obs, const char *const extra[], const char *marker)
{
	pid_t pid;

	cr_assert_eq(tclient_subscribe(obs, CONNECTED, 1), 0);
	pid = probe_start(extra);
	expect_payload(obs, CONNECTED, marker);
	return pid;
}

Test(mqttc, connect_publishes_retained_online, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid;

	cr_assert_eq(tclient_subscribe(obs, AVAIL, 1), 0);
	pid = probe_start(NULL);
	expect_payload(obs, AVAIL, "online");
	expect_retained(AVAIL, "online");
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, stop_publishes_offline_and_exits_0, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");

	cr_assert_eq(tclient_subscribe(obs, AVAIL, 1), 0);
	expect_payload(obs, AVAIL, "online");
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0, "exit code after SIGTERM");
	expect_payload(obs, AVAIL, "offline");
	expect_retained(AVAIL, "offline");
	tclient_free(obs);
}

Test(mqttc, sigint_also_stops_cleanly, .init = broker_up, .fini = broker_down, .timeout = 60)
{
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");

	cr_assert_eq(harness_stop(pid, SIGINT, 10000), 0);
	expect_retained(AVAIL, "offline");
	tclient_free(obs);
}

Test(mqttc, will_says_offline_on_sigkill, .init = broker_up, .fini = broker_down, .timeout = 60)
{
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");

	cr_assert_eq(tclient_subscribe(obs, AVAIL, 1), 0);
	expect_payload(obs, AVAIL, "online");
	cr_assert_eq(harness_stop(pid, SIGKILL, 10000), 128 + SIGKILL);
	expect_payload(obs, AVAIL, "offline");
	expect_retained(AVAIL, "offline");
	tclient_free(obs);
}

Test(mqttc, live_retained_publish_keeps_retained_flag, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");
	struct tmsg *m;

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	/* A live retained publish: without retain-as-published the broker would
	 * clear the flag on the way to a subscriber that is already there. */
	cr_assert_eq(tclient_publish_str(obs, "probe/in/cmd", "feed", 1, true), 0);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/cmd\"", WAIT_MS);
	cr_assert_not_null(m, "the probe did not receive the retained publish");
	cr_assert_not_null(strstr(m->payload, "\"retained\":true"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"payload\":\"feed\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"qos\":1"), "%s", m->payload);
	tmsg_free(m);

	cr_assert_eq(tclient_publish_str(obs, "probe/in/live", "home", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/live\"", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"retained\":false"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"payload\":\"home\""), "%s", m->payload);
	tmsg_free(m);

	/* Clear the retained message again (empty retained payload). */
	cr_assert_eq(tclient_publish(obs, "probe/in/cmd", "", 0, 1, true), 0);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, retained_before_connect_arrives_retained, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	struct tclient *obs = observer("iod-test-obs");
	struct tmsg *m;
	pid_t pid;

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/state", "{\"v\":1}", 1, true), 0);
	pid = probe_ready(obs, NULL, "{\"connects\":1}");
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/state\"", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"retained\":true"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"len\":7"), "%s", m->payload);
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, broker_restart_reconnects_and_resubscribes, .init = broker_up, .fini = broker_down,
     .timeout = 120)
{
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");
	struct tmsg *m;

	/* Leave a stale value behind so a fresh "online" after the restart can
	 * only come from the probe. */
	cr_assert_eq(tclient_publish_str(obs, AVAIL, "stale", 1, true), 0);
	tclient_free(obs);
	cr_assert_eq(harness_broker_restart(&broker), 0);

	obs = observer("iod-test-obs2");
	cr_assert_eq(tclient_subscribe(obs, CONNECTED, 1), 0);
	expect_payload(obs, CONNECTED, "{\"connects\":2}");
	expect_retained(AVAIL, "online");

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/after", "x", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/after\"", WAIT_MS);
	cr_assert_not_null(m, "no answer after the restart: not resubscribed");
	tmsg_free(m);

	cr_assert(harness_alive(pid));
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	expect_retained(AVAIL, "offline");
	tclient_free(obs);
}

Test(mqttc, initial_connect_is_retried, .init = broker_up, .fini = broker_down, .timeout = 120)
{
	struct tclient *obs;
	pid_t pid;

	harness_broker_stop(&broker);
	pid = probe_start(NULL);
	/* Let the probe fail at least once (its first retry is 1 s later). */
	usleep(1500 * 1000);
	cr_assert(harness_alive(pid), "the probe gave up without a broker");
	cr_assert_eq(harness_broker_restart(&broker), 0);
	obs = observer("iod-test-obs");
	cr_assert_eq(tclient_subscribe(obs, CONNECTED, 1), 0);
	expect_payload(obs, CONNECTED, "{\"connects\":1}");
	expect_retained(AVAIL, "online");
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, stop_while_broker_down_exits_0, .init = broker_up, .fini = broker_down, .timeout = 60)
{
	pid_t pid;

	harness_broker_stop(&broker);
	pid = probe_start(NULL);
	usleep(300 * 1000);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
}

Test(mqttc, session_expiry_keeps_qos1_messages, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	const char *env[] = {"IOD_PROBE_SESSION_EXPIRY=300", NULL};
	struct tclient *obs = observer("iod-test-obs");
	struct tmsg *m;
	pid_t pid = probe_ready(obs, env, "{\"connects\":1}");

	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	/* Sent while the probe is away: the broker keeps it for the session. */
	cr_assert_eq(tclient_publish_str(obs, "probe/in/queued", "while-away", 1, false), 0);
	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	pid = probe_start(env);
	m = tclient_expect_with(obs, "probe/out", "\"payload\":\"while-away\"", WAIT_MS);
	cr_assert_not_null(m, "the queued QoS 1 message was lost");
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, clean_session_drops_messages_while_away, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	struct tclient *obs = observer("iod-test-obs");
	struct tmsg *m;
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");

	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/queued", "while-away", 1, false), 0);
	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	pid = probe_ready(obs, NULL, "{\"connects\":1}");
	cr_assert_eq(tclient_publish_str(obs, "probe/in/now", "now", 1, false), 0);
	/* The first answer is for the message sent now, not the old one. */
	m = tclient_expect(obs, "probe/out", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"payload\":\"now\""), "%s", m->payload);
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

/* MQTT 5 user properties, in and out: what mosquitto_pub attaches reaches
 * on_message in order, and a publish with them arrives with them, also the
 * ones that waited in mqttc for the broker's receive maximum (mosquitto's
 * max_inflight_messages 20 here, 60 publishes). */
Test(mqttc, user_properties_in_and_out, .init = broker_up, .fini = broker_down, .timeout = 60)
{
	const char *want = "\"props\":{\"for\":\"dose:a-1\",\"k\":\"v w\"}";
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");
	char cmd[512];
	struct tmsg *m;

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub -V 5 -h 127.0.0.1 -p %d -q 1 -t probe/in/props -m 60 "
		 "-D publish user-property for dose:a-1 -D publish user-property k 'v w'",
		 broker.port);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/props\"", WAIT_MS);
	cr_assert_not_null(m, "the probe did not describe probe/in/props");
	cr_assert_not_null(strstr(m->payload, want), "%s", m->payload);
	tmsg_free(m);
	for (int i = 0; i < 60; i++) {
		m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/echo\"", WAIT_MS);
		cr_assert_not_null(m, "echo %d of 60 did not come back", i + 1);
		cr_assert_not_null(strstr(m->payload, want), "echo %d: %s", i + 1, m->payload);
		tmsg_free(m);
	}
	/* Without properties: an empty object, not the last message's. */
	cr_assert_eq(tclient_publish_str(obs, "probe/in/plain", "x", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/plain\"", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"props\":{}"), "%s", m->payload);
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, oversize_payload_dropped_and_counted, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	const char *env[] = {"IOD_PROBE_MAX_PAYLOAD=100", NULL};
	struct tclient *obs = observer("iod-test-obs");
	char big[101];
	struct tmsg *m;
	pid_t pid = probe_ready(obs, env, "{\"connects\":1}");

	memset(big, 'b', sizeof(big));
	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	cr_assert_eq(tclient_subscribe(obs, "probe/dropped", 1), 0);
	cr_assert_eq(tclient_publish(obs, "probe/in/big", big, sizeof(big), 1, false), 0);
	cr_assert_eq(tclient_publish(obs, "probe/in/fits", big, 100, 1, false), 0);
	m = tclient_expect(obs, "probe/out", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"topic\":\"probe/in/fits\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"len\":100"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"oversize\":1"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"in\":2"), "%s", m->payload);
	tmsg_free(m);
	/* The service heard of the drop, with the topic, on its loop. */
	m = tclient_expect(obs, "probe/dropped", WAIT_MS);
	cr_assert_not_null(m, "no drop report");
	cr_assert_str_eq(m->payload,
			 "{\"oversize\":1,\"queue_full\":0,\"topic\":\"probe/in/big\"}");
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, no_local_subscription, .init = broker_up, .fini = broker_down, .timeout = 60)
{
	/* The probe answers on probe/out; subscribed to it with no_local it must
	 * not hear its own answers, yet still hear others on that topic. */
	const char *env[] = {"IOD_PROBE_FILTER=probe/#", "IOD_PROBE_NO_LOCAL=1", NULL};
	struct tclient *obs = observer("iod-test-obs");
	struct tmsg *m;
	pid_t pid = probe_ready(obs, env, "{\"connects\":1}");

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/one", "1", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/one\"", WAIT_MS);
	cr_assert_not_null(m);
	tmsg_free(m);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/two", "2", 1, false), 0);
	m = tclient_expect(obs, "probe/out", WAIT_MS);
	cr_assert_not_null(m);
	/* Had the probe heard its own answer, it would have answered that
	 * first (topic probe/out) before probe/in/two. */
	cr_assert_not_null(strstr(m->payload, "\"topic\":\"probe/in/two\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"in\":2"), "%s", m->payload);
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, full_queue_drops_oldest_and_counts, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	/* The probe blocks its loop for 3 s on probe/in/stall while 20 more
	 * messages arrive on Paho's thread; only the newest 5 may be kept. */
	const char *env[] = {"IOD_PROBE_QUEUE_LIMIT=5", "IOD_PROBE_STALL_MS=3000", NULL};
	struct tclient *obs = observer("iod-test-obs");
	struct tmsg *m;
	char topic[64];
	pid_t pid = probe_ready(obs, env, "{\"connects\":1}");

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	cr_assert_eq(tclient_subscribe(obs, "probe/dropped", 1), 0);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/stall", "s", 1, false), 0);
	for (int i = 1; i <= 20; i++) {
		snprintf(topic, sizeof(topic), "probe/in/m%d", i);
		cr_assert_eq(tclient_publish_str(obs, topic, "x", 1, false), 0);
	}
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/stall\"", WAIT_MS);
	cr_assert_not_null(m);
	tmsg_free(m);
	/* The next answer is for the oldest message kept: m16 of m1..m20. */
	m = tclient_expect(obs, "probe/out", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"topic\":\"probe/in/m16\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"dropped\":15"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"high_water\":5"), "%s", m->payload);
	tmsg_free(m);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"probe/in/m20\"", WAIT_MS);
	cr_assert_not_null(m, "the newest message was not kept");
	tmsg_free(m);
	/* One report for the 15 pushed out, naming the newest of them. */
	m = tclient_expect(obs, "probe/dropped", WAIT_MS);
	cr_assert_not_null(m, "no drop report");
	cr_assert_str_eq(m->payload,
			 "{\"oversize\":0,\"queue_full\":15,\"topic\":\"probe/in/m15\"}");
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

static void broker_up_narrow(void)
{
	/* Few publishes in flight per client, as the shipped config has; the
	 * broker queues without limit, so it drops nothing itself. */
	cr_assert_eq(harness_broker_start(&broker, "max_inflight_messages 10\n"
						   "max_queued_messages 0\n"),
		     0, "mosquitto did not start");
}

/* The number after "key": in a flat JSON text; fails when missing. */
static long long json_num(const char *json, const char *key)
{
	char needle[64];
	const char *at;
	char *end;
	long long v;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	at = strstr(json, needle);
	cr_assert_not_null(at, "no %s in %s", key, json);
	v = strtoll(at + strlen(needle), &end, 10);
	cr_assert(end != at + strlen(needle), "%s is not a number in %s", key, json);
	return v;
}

/*
 * A flood answered one for one through a broker that takes 10 in flight:
 * the answers wait in mqttc (never deleted by Paho), the probe stops taking
 * messages while MQTTC_OUT_HIGH of them wait and resumes on on_drained, and
 * what the incoming queue could not hold meanwhile is reported. Answered +
 * reported == sent, exactly.
 */
Test(mqttc, backpressure_answers_every_message_or_reports_it, .init = broker_up_narrow,
     .fini = broker_down, .timeout = 240)
{
	enum { N = 5000 };
	const char *env[] = {"IOD_PROBE_BACKPRESSURE=1", "IOD_LOG_LEVEL=info", NULL};
	struct tclient *obs = observer("iod-test-obs");
	struct tmsg *m;
	long long answered = 0, reported = 0, reports = 0;
	char payload[16];
	pid_t pid = probe_ready(obs, env, "{\"connects\":1}");

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	cr_assert_eq(tclient_subscribe(obs, "probe/dropped", 1), 0);
	for (int i = 0; i < N; i++) {
		snprintf(payload, sizeof(payload), "%d", i);
		cr_assert_eq(tclient_publish_str(obs, "probe/in/flood", payload, 0, false), 0);
	}
	/* The newest message is always kept: its answer comes last. */
	cr_assert_eq(tclient_publish_str(obs, "probe/in/last", "last", 1, false), 0);
	for (;;) {
		m = tclient_expect(obs, "probe/out", 60000);
		cr_assert_not_null(m, "answers stopped after %lld", answered);
		if (strstr(m->payload, "\"topic\":\"probe/in/last\"")) {
			tmsg_free(m);
			break;
		}
		cr_assert_not_null(strstr(m->payload, "\"topic\":\"probe/in/flood\""), "%s",
				   m->payload);
		answered++;
		tmsg_free(m);
	}
	while ((m = tclient_expect(obs, "probe/dropped", 2000))) {
		cr_assert_eq(json_num(m->payload, "oversize"), 0, "%s", m->payload);
		reported += json_num(m->payload, "queue_full");
		reports++;
		tmsg_free(m);
	}
	cr_log_info("%lld answered, %lld reported dropped", answered, reported);
	cr_assert_eq(answered + reported, N, "sent %d: %lld answered + %lld reported", N, answered,
		     reported);
	cr_assert_gt(answered, 0);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/stats", "s", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "probe/in/stats", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_gt(json_num(m->payload, "engaged"), 0, "%s", m->payload);
	cr_assert_eq(json_num(m->payload, "refused"), 0, "%s", m->payload);
	cr_assert_eq(json_num(m->payload, "failed"), 0, "%s", m->payload);
	/* Paused at MQTTC_OUT_HIGH answers; the probe publishes its drop
	 * reports while paused too. */
	cr_assert_geq(json_num(m->payload, "out_high_water"), MQTTC_OUT_HIGH, "%s", m->payload);
	cr_assert_leq(json_num(m->payload, "out_high_water"), MQTTC_OUT_HIGH + reports, "%s",
		      m->payload);
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, publish_before_connect_is_sent_on_connect, .init = broker_up, .fini = broker_down,
     .timeout = 60)
{
	const char *env[] = {"IOD_PROBE_EARLY=hello-early", NULL};
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid;

	cr_assert_eq(tclient_subscribe(obs, "probe/early", 1), 0);
	pid = probe_start(env);
	expect_payload(obs, "probe/early", "hello-early");
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}

Test(mqttc, subscribe_while_connected_and_after_reconnect, .init = broker_up, .fini = broker_down,
     .timeout = 120)
{
	struct tclient *obs = observer("iod-test-obs");
	pid_t pid = probe_ready(obs, NULL, "{\"connects\":1}");
	struct tmsg *m;

	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	cr_assert_eq(tclient_publish_str(obs, "probe/in/subscribe", "extra/#", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "\"subscribed\":0", WAIT_MS);
	cr_assert_not_null(m);
	tmsg_free(m);
	/* The same filter again is accepted (mqttc keeps it once). */
	cr_assert_eq(tclient_publish_str(obs, "probe/in/subscribe", "extra/#", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "\"subscribed\":0", WAIT_MS);
	cr_assert_not_null(m);
	tmsg_free(m);
	cr_assert_eq(tclient_publish_str(obs, "extra/one", "1", 1, false), 0);
	m = tclient_expect_with(obs, "probe/out", "\"topic\":\"extra/one\"", WAIT_MS);
	cr_assert_not_null(m, "the run-time subscription does not deliver");
	tmsg_free(m);

	tclient_free(obs);
	cr_assert_eq(harness_broker_restart(&broker), 0);
	obs = observer("iod-test-obs2");
	cr_assert_eq(tclient_subscribe(obs, CONNECTED, 1), 0);
	cr_assert_eq(tclient_subscribe(obs, "probe/out", 1), 0);
	expect_payload(obs, CONNECTED, "{\"connects\":2}");
	cr_assert_eq(tclient_publish_str(obs, "extra/two", "2", 1, false), 0);
	m = tclient_expect(obs, "probe/out", WAIT_MS);
	cr_assert_not_null(m, "the run-time subscription was not renewed");
	cr_assert_not_null(strstr(m->payload, "\"topic\":\"extra/two\""), "%s", m->payload);
	tmsg_free(m);
	/* Nothing else was answered in between (overlapping filters would have
	 * delivered extra/two twice). */
	cr_assert_eq(tclient_publish_str(obs, "probe/in/last", "x", 1, false), 0);
	m = tclient_expect(obs, "probe/out", WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"topic\":\"probe/in/last\""), "%s", m->payload);
	tmsg_free(m);
	cr_assert_eq(harness_stop(pid, SIGTERM, 10000), 0);
	tclient_free(obs);
}
