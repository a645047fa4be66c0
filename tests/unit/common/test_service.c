/*
 * service without a broker: the one alert builder (every field, each cut to
 * its size, the caller's clock), the log line service_alert writes at each
 * level, and that an alert and info are handed to mqttc (waiting while not
 * connected) or refused for a bad site. What they look like on the wire is
 * test_service_wire.c.
 */
#include "capture.h"
#include "log.h"
#include "mqttc.h"
#include "service.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <string.h>

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	int rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	cr_assert_eq(rc, 0, "'%s' does not match %s", text, pattern);
}

Test(service, alert_fill, .timeout = 10)
{
	struct proto_alert a;
	memset(&a, 0x55, sizeof(a));
	service_alert_fill(&a, "sensors", PROTO_LEVEL_WARNING, PROTO_ALERT_SENSOR_LOST,
			   1764140400123, "%s lost: %s (still trying)", "w1:28-0001", "no reply");
	cr_assert_str_eq(a.source, "sensors");
	cr_assert_eq(a.level, PROTO_LEVEL_WARNING);
	cr_assert_str_eq(a.code, "sensor_lost");
	cr_assert_str_eq(a.message, "w1:28-0001 lost: no reply (still trying)");
	cr_assert_eq(a.ts_ms, 1764140400123);
	/* The bytes after each string are zero, as a struct literal leaves them. */
	cr_assert_eq(a.source[sizeof(a.source) - 1], 0);
	cr_assert_eq(a.message[sizeof(a.message) - 1], 0);
}

Test(service, alert_fill_cuts_to_the_fields, .timeout = 10)
{
	struct proto_alert a;
	char long_text[400];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	service_alert_fill(&a, long_text, PROTO_LEVEL_CRITICAL, long_text, 7, "%s", long_text);
	cr_assert_eq(strlen(a.source), sizeof(a.source) - 1);
	cr_assert_eq(strlen(a.code), sizeof(a.code) - 1);
	cr_assert_eq(strlen(a.message), sizeof(a.message) - 1);
	cr_assert_eq(a.level, PROTO_LEVEL_CRITICAL);
	cr_assert_eq(a.ts_ms, 7);
}

/* Without a client (or while stopping) an alert is only logged, at the
 * level that matches its own. */
Test(service, alert_logged_at_its_level, .timeout = 10)
{
	struct capture cap;
	log_init("sensors", LOG_LEVEL_DEBUG);
	capture_start(&cap, 2);
	service_alert(NULL, "home", "sensors", PROTO_LEVEL_INFO, "sensor_recovered", "%s is back",
		      "sim");
	service_alert(NULL, "home", "sensors", PROTO_LEVEL_WARNING, "sensor_lost", "sim lost");
	service_alert(NULL, "home", "feeder", PROTO_LEVEL_CRITICAL, "dose_failed", "servo %d", 2);
	char *out = capture_end(&cap);
	assert_matches(out, "^[0-9TZ:.-]+ sensors info: alert sensor_recovered: sim is back\n"
			    "[0-9TZ:.-]+ sensors warn: alert sensor_lost: sim lost\n"
			    "[0-9TZ:.-]+ sensors error: alert dose_failed: servo 2\n$");
	free(out);
}

static void run_until_closed(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(loop), 0, "a handle was left open");
}

/* Not connected (never started): each publish waits in mqttc, one each. */
Test(service, publishes_wait_in_mqttc, .timeout = 20)
{
	struct mqttc_options mo = {.client_id = "iod-test-home"};
	struct mqttc_settings ms = {.url = "tcp://127.0.0.1:1"};
	struct mqttc_stats st;
	struct proto_alert a;
	uv_loop_t loop;

	log_init("test", LOG_LEVEL_ERROR);
	cr_assert_eq(uv_loop_init(&loop), 0);
	struct mqttc *m = mqttc_new(&loop, &ms, &mo);
	cr_assert_not_null(m);
	service_alert_fill(&a, "camera", PROTO_LEVEL_INFO, "bad_command", 1, "x");
	cr_assert_eq(service_alert_publish(m, "home", &a), 0);
	mqttc_get_stats(m, &st);
	cr_assert_eq(st.out_waiting, 1);
	cr_assert_eq(service_publish_info(m, "home", "camera", "sim", 2), 0);
	service_alert(m, "home", "camera", PROTO_LEVEL_INFO, "bad_command", "y");
	mqttc_get_stats(m, &st);
	cr_assert_eq(st.out_waiting, 3);
	/* A site no topic can be built from (empty): refused, nothing waits. */
	cr_assert_eq(service_alert_publish(m, "", &a), -EINVAL);
	cr_assert_eq(service_publish_info(m, "", "camera", "sim", 2), -EINVAL);
	mqttc_get_stats(m, &st);
	cr_assert_eq(st.out_waiting, 3);
	mqttc_free(m);
	run_until_closed(&loop);
}
