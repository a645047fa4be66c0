/*
 * service without a broker: the one alert builder (every field, each cut to
 * its size, the caller's clock), the log line service_alert writes at each
 * level, and that an alert and info are handed to mqttc (waiting while not
 * connected) or refused for a bad site. What they look like on the wire is
 * test_service_wire.c.
 *
 * And the skeleton (service_main) with a fake service in a child process:
 * the callbacks once each and in order, SIGTERM during create or start,
 * exit codes, --check-config, the data dir, READY=1 and STOPPING=1.
 */
#include "capture.h"
#include "fake_service.h"
#include "log.h"
#include "mqttc.h"
#include "service.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

/* Any name gives a subject proto accepts: what is outside the id set
 * becomes '_', a long one is cut to the field, NULL or "" is none. */
Test(service, alert_about_makes_a_valid_subject, .timeout = 10)
{
	struct proto_alert a;
	service_alert_fill(&a, "sensors", PROTO_LEVEL_WARNING, "sensor_lost", 1, "m");
	service_alert_about(&a, "sysfs:/sys/bus/w1 #2");
	cr_assert_str_eq(a.subject, "sysfs:_sys_bus_w1__2");
	cr_assert(proto_alert_subject_valid(a.subject));
	service_alert_about(&a, "2026-12-01T15:00");
	cr_assert_str_eq(a.subject, "2026-12-01T15:00", "a valid one is kept as it is");

	char long_text[200];
	memset(long_text, 'd', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	service_alert_about(&a, long_text);
	cr_assert_eq(strlen(a.subject), sizeof(a.subject) - 1);
	cr_assert(proto_alert_subject_valid(a.subject));

	service_alert_about(&a, NULL);
	cr_assert_str_eq(a.subject, "");
	service_alert_about(&a, "");
	cr_assert_str_eq(a.subject, "");
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

/* ---- the skeleton: service_main with a fake service_def (fake_service.h),
 * no broker (a port nothing listens on: MQTT never connects) ---- */

static char dir[64];
static char events[128];
static char data_arg[160];

static void skeleton_setup(void)
{
	memset(&fake_script, 0, sizeof(fake_script));
	snprintf(dir, sizeof(dir), "/tmp/iod-service.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(events, sizeof(events), "%s/events", dir);
	snprintf(data_arg, sizeof(data_arg), "--data-dir=%s/data", dir);
}

static void skeleton_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Run the fake service against no broker; its exit code. */
static int run_fake(const char *extra)
{
	const char *args[] = {
	    "--mqtt-url=tcp://127.0.0.1:1", "--site=t", "--log-level=error", data_arg, extra, NULL};
	return fake_service_run(events, args);
}

static void assert_events(const char *want)
{
	char *got = fake_service_events(events);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, want);
	free(got);
}

/* service_stop() from start: the stop path on the loop's first turn. Each
 * callback once, in order; def->stop still has the client and sees
 * service_stopping(); destroy comes after the client is gone. */
Test(skeleton, lifecycle_in_order, .init = skeleton_setup, .fini = skeleton_teardown, .timeout = 30)
{
	fake_script.stop_in_start = true;
	cr_assert_eq(run_fake("--fake-count=3"), 0);
	assert_events("create fake t 3\nstart\nstop mqtt stopping\ndestroy\n");
}

/* SIGTERM while create runs (the loop is not running yet): the watchers
 * were set up before, so it is one clean stop once the loop turns, not a
 * process killed by the signal (143). */
Test(skeleton, sigterm_during_create, .init = skeleton_setup, .fini = skeleton_teardown,
     .timeout = 30)
{
	fake_script.term_in_create = true;
	cr_assert_eq(run_fake(NULL), 0);
	assert_events("create fake t 1\nstart\nstop mqtt stopping\ndestroy\n");
}

Test(skeleton, sigterm_during_start, .init = skeleton_setup, .fini = skeleton_teardown,
     .timeout = 30)
{
	fake_script.term_in_start = true;
	cr_assert_eq(run_fake(NULL), 0);
	assert_events("create fake t 1\nstart\nstop mqtt stopping\ndestroy\n");
}

/* create's exit code is the process's; nothing else of the service runs. */
Test(skeleton, create_fails_with_its_code, .init = skeleton_setup, .fini = skeleton_teardown,
     .timeout = 30)
{
	fake_script.create_exit = 2;
	cr_assert_eq(run_fake(NULL), 2);
	assert_events("create fake t 1\n");
	unlink(events);
	fake_script.create_exit = 1;
	cr_assert_eq(run_fake(NULL), 1);
	assert_events("create fake t 1\n");
}

/* A start that fails takes the one stop path and exits 1. */
Test(skeleton, start_fails, .init = skeleton_setup, .fini = skeleton_teardown, .timeout = 30)
{
	fake_script.start_fails = true;
	cr_assert_eq(run_fake(NULL), 1);
	assert_events("create fake t 1\nstart\nstop mqtt stopping\ndestroy\n");
}

/* --check-config and a bad setting end in cfg, before anything opens. */
Test(skeleton, check_config_and_bad_setting, .init = skeleton_setup, .fini = skeleton_teardown,
     .timeout = 30)
{
	struct capture cap;
	capture_start(&cap, 1);
	int rc = run_fake("--check-config");
	char *out = capture_end(&cap);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "iod-fake: configuration is valid\n");
	free(out);
	assert_events("");

	capture_start(&cap, 2);
	rc = run_fake("--fake-count=12");
	out = capture_end(&cap);
	cr_assert_eq(rc, 2);
	assert_matches(out, "^iod-fake: IOD_FAKE_COUNT: [^\n]*12[^\n]*\n$");
	free(out);
	assert_events("");
}

/* A data dir that cannot be made: exit 1 before create, unless the service
 * says it can run without one (the feeder: it then refuses doses). */
Test(skeleton, data_dir, .init = skeleton_setup, .fini = skeleton_teardown, .timeout = 30)
{
	char file[128];
	snprintf(file, sizeof(file), "%s/file", dir);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);
	snprintf(data_arg, sizeof(data_arg), "--data-dir=%s/file/data", dir);
	struct capture cap;
	capture_start(&cap, 2);
	int rc = run_fake(NULL);
	char *out = capture_end(&cap);
	cr_assert_eq(rc, 1);
	assert_matches(out, "fake error: IOD_DATA_DIR '[^']*/file/data': Not a directory\n");
	free(out);
	assert_events("");

	fake_script.data_dir_optional = true;
	fake_script.stop_in_start = true;
	cr_assert_eq(run_fake(NULL), 0);
	assert_events("create fake t 1\nstart\nstop mqtt stopping\ndestroy\n");
}

#if IOD_HAVE_SYSTEMD
/* READY=1 on the loop's first turn, STOPPING=1 when the stop path begins:
 * exactly those two, in that order, on a real AF_UNIX socket. */
Test(skeleton, sdnotify_ready_then_stopping, .init = skeleton_setup, .fini = skeleton_teardown,
     .timeout = 30)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
	fake_script.stop_in_start = true;
	cr_assert_eq(run_fake(NULL), 0);
	unsetenv("NOTIFY_SOCKET");
	char got[256] = "", buf[64];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		strcat(got, buf);
		strcat(got, "|");
	}
	close(fd);
	cr_assert_str_eq(got, "READY=1|STOPPING=1|");
}
#endif
