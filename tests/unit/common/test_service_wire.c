/*
 * service on a real mosquitto: the alert and the info exactly as proto/README.md
 * states them (topic, payload, QoS 1, the alert not retained, info retained),
 * the same bytes the services published before they shared the builder;
 * and a Home Assistant discovery config as ha_publish_entity publishes it.
 * Then the skeleton (service_main) with a fake service, from outside.
 */
#include "fake_service.h"
#include "ha.h"
#include "harness.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"
#include "service.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct harness_broker broker;

static void setup(void)
{
	cr_assert_eq(harness_broker_start(&broker, NULL), 0);
}

static void teardown(void)
{
	harness_broker_destroy(&broker);
}

/* Run the loop until the client is connected (at most ~10 s). */
static void run_until_connected(uv_loop_t *loop, struct mqttc *m)
{
	for (int i = 0; i < 10000 && !mqttc_is_connected(m); i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	cr_assert(mqttc_is_connected(m), "not connected to %s", broker.url);
}

Test(service_wire, alert_and_info, .init = setup, .fini = teardown, .timeout = 60)
{
	struct mqttc_options mo = {.client_id = "iod-camera-t",
				   .availability_topic = "iod/t/camera/availability"};
	struct mqttc_settings ms = {.url = broker.url};
	struct proto_alert a;
	uv_loop_t loop;

	log_init("camera", LOG_LEVEL_ERROR);
	struct tclient *c = tclient_new(broker.url, "observer");
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, "iod/t/alert", 1), 0);
	cr_assert_eq(tclient_subscribe(c, "iod/t/camera/info", 1), 0);
	cr_assert_eq(uv_loop_init(&loop), 0);
	struct mqttc *m = mqttc_new(&loop, &ms, &mo);
	cr_assert_not_null(m);
	cr_assert_eq(mqttc_start(m), 0);
	run_until_connected(&loop, m);

	service_alert_fill(&a, "camera", PROTO_LEVEL_WARNING, PROTO_ALERT_CAMERA_LOST,
			   1764140400123, "camera %s lost: %s; retrying", "v4l2:/dev/video0",
			   "No such device");
	cr_assert_eq(service_alert_publish(m, "t", &a), 0);
	cr_assert_eq(service_publish_info(m, "t", "camera", "sim", 1764140000000), 0);
	uv_run(&loop, UV_RUN_NOWAIT);

	struct tmsg *got = tclient_expect(c, "iod/t/alert", 10000);
	cr_assert_not_null(got, "no alert");
	cr_assert_str_eq(got->payload,
			 "{\"source\":\"camera\",\"level\":\"warning\",\"code\":\"camera_lost\","
			 "\"message\":\"camera v4l2:/dev/video0 lost: No such device; retrying\","
			 "\"ts\":1764140400123}");
	cr_assert_eq(got->qos, 1);
	cr_assert_not(got->retained);
	tmsg_free(got);
	got = tclient_expect(c, "iod/t/camera/info", 10000);
	cr_assert_not_null(got, "no info");
	cr_assert_str_eq(got->payload, "{\"version\":\"" IOD_VERSION
				       "\",\"since\":1764140000000,\"backend\":\"sim\"}");
	cr_assert_eq(got->qos, 1);
	tmsg_free(got);

	/* With the home set (service_main sets it at start): tz and the names
	 * after backend, JSON-escaped, UTF-8 as it is. */
	service_info_set_home("Europe/Paris", "Chez \"Mamie\" \\ A", "Ch\xc3\xa9ri");
	cr_assert_eq(service_publish_info(m, "t", "camera", "sim", 1764140000000), 0);
	service_info_set_home(NULL, NULL, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	got = tclient_expect(c, "iod/t/camera/info", 10000);
	cr_assert_not_null(got, "no info with the home");
	cr_assert_str_eq(got->payload, "{\"version\":\"" IOD_VERSION
				       "\",\"since\":1764140000000,\"backend\":\"sim\",\"tz\":"
				       "\"Europe/Paris\",\"site_name\":\"Chez \\\"Mamie\\\" "
				       "\\\\ A\",\"dog_name\":\"Ch\xc3\xa9ri\"}");
	cr_assert_eq(got->qos, 1);
	tmsg_free(got);
	tclient_free(c);

	/* A client that subscribes later gets the info (retained), not the
	 * alert: it subscribes to the alert first, so a retained alert would
	 * reach it before the info does (one connection, in order). */
	c = tclient_new(broker.url, "late");
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, "iod/t/alert", 1), 0);
	cr_assert_eq(tclient_subscribe(c, "iod/t/camera/info", 1), 0);
	got = tclient_expect(c, "iod/t/camera/info", 10000);
	cr_assert_not_null(got, "info not retained");
	cr_assert(got->retained);
	tmsg_free(got);
	got = tclient_expect(c, "iod/t/alert", 0);
	cr_assert_null(got, "the alert was retained");
	tclient_free(c);

	/* Discovery: ha_publish_entity's config, retained, QoS 1, exactly the
	 * entity's JSON, on HA's topic for the device's site and service. */
	const struct ha_device dev = {"t", "camera", NULL};
	cJSON *e = ha_entity_new(&dev, "binary_sensor", "motion", "Motion");
	cr_assert_not_null(e);
	char *want = cJSON_PrintUnformatted(e);
	cr_assert_eq(ha_publish_entity(m, &dev, "binary_sensor", "motion", e), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	c = tclient_new(broker.url, "ha");
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, "homeassistant/#", 1), 0);
	got = tclient_expect(c, "homeassistant/binary_sensor/iod_t_camera/motion/config", 10000);
	cr_assert_not_null(got, "no discovery config");
	cr_assert_str_eq(got->payload, want);
	cr_assert(got->retained);
	cr_assert_eq(got->qos, 1);
	tmsg_free(got);
	cJSON_free(want);
	tclient_free(c);

	mqttc_stop(m, 2000);
	mqttc_free(m);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open");
}

/* ---- the skeleton on the wire: a fake service (fake_service.h) in a child
 * process, watched from outside as any service's users watch it ---- */

/* The next message on topic, which must contain needle; its retained flag. */
static bool expect_with(struct tclient *c, const char *topic, const char *needle)
{
	struct tmsg *got = tclient_expect_with(c, topic, needle, 15000);
	cr_assert_not_null(got, "no '%s' on %s", needle, topic);
	bool retained = got->retained;
	tmsg_free(got);
	return retained;
}

/* Availability `online` then `offline` (retained both), info after every
 * connect (its backend names the connection: fake-2 is a fresh one, not the
 * broker's retained copy), discovery on every connect and again on Home
 * Assistant's birth (which, like HA's `offline`, never reaches on_message),
 * and a service_stop() from inside on_message: one clean stop, exit 0. */
Test(service_wire, skeleton, .init = setup, .fini = teardown, .timeout = 120)
{
	static const char avail[] = "iod/t/fake/availability", info[] = "iod/t/fake/info",
			  config[] = "homeassistant/binary_sensor/iod_t_fake/thing/config";
	char dir[] = "/tmp/iod-service-wire.XXXXXX", events[64], url_arg[96], data_arg[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(events, sizeof(events), "%s/events", dir);
	snprintf(url_arg, sizeof(url_arg), "--mqtt-url=%s", broker.url);
	snprintf(data_arg, sizeof(data_arg), "--data-dir=%s/data", dir);
	fake_script.entities = true;
	fake_script.subscribe = "iod/t/fake/cmd";
	const char *args[] = {url_arg,
			      "--site=t",
			      "--log-level=warn",
			      data_arg,
			      "--site-name=Foster A",
			      "--dog-name=Biscuit",
			      NULL};

	struct tclient *c = tclient_new(broker.url, "observer");
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, avail, 1), 0);
	cr_assert_eq(tclient_subscribe(c, info, 1), 0);
	cr_assert_eq(tclient_subscribe(c, config, 1), 0);
	/* The child's TZ (fork keeps the environment): info's tz. */
	setenv("TZ", ":/usr/share/zoneinfo/Asia/Tokyo", 1);
	pid_t pid = fake_service_spawn(events, args);
	unsetenv("TZ");
	cr_assert_gt(pid, 0);
	expect_with(c, avail, "online");
	expect_with(c, info, "{\"version\":\"" IOD_VERSION "\",\"since\":");
	expect_with(c, config, "\"name\":\"Thing\"");

	/* Home Assistant starts: discovery again. */
	cr_assert_eq(tclient_publish_str(c, "homeassistant/status", "online", 1, false), 0);
	expect_with(c, config, "\"name\":\"Thing\"");
	tclient_free(c);

	/* The broker restarts: info and discovery again on the new connection. */
	harness_broker_stop(&broker);
	cr_assert_eq(harness_broker_restart(&broker), 0);
	c = tclient_new(broker.url, "observer2");
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, info, 1), 0);
	expect_with(c, info,
		    "\"backend\":\"fake-2\",\"tz\":\"Asia/Tokyo\",\"site_name\":\"Foster A\","
		    "\"dog_name\":\"Biscuit\"}");
	cr_assert_eq(tclient_subscribe(c, avail, 1), 0);
	expect_with(c, avail, "online");

	/* HA's will is nothing to the service; "stop" stops it from on_message. */
	cr_assert_eq(tclient_publish_str(c, "homeassistant/status", "offline", 1, false), 0);
	cr_assert_eq(tclient_publish_str(c, "iod/t/fake/cmd", "stop", 1, false), 0);
	cr_assert_eq(fake_service_wait(pid), 0);
	expect_with(c, avail, "offline");
	tclient_free(c);
	c = tclient_new(broker.url, "late");
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, avail, 1), 0);
	cr_assert(expect_with(c, avail, "offline"), "offline not retained");
	tclient_free(c);

	char *got = fake_service_events(events);
	cr_assert_str_eq(got, "create fake t 1\nstart\n"
			      "discovery\nconnected 1\n"      /* the first connect */
			      "discovery\nbirth\n"	      /* HA's birth */
			      "discovery\nconnected 2\n"      /* the reconnect */
			      "message iod/t/fake/cmd stop\n" /* HA's offline never came */
			      "stop mqtt stopping\ndestroy\n");
	free(got);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
