/*
 * iod-camera against a real mosquitto: frame rate (counted over a window),
 * retained frames, snapshots (a dose's on camera/snapshot with its "for"),
 * motion events, alerts, discovery, and a clean `offline` with exit 0 on
 * SIGTERM.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "harness.h"

#define T_FRAME	   "iod/cam/camera/frame"
#define T_MOTION   "iod/cam/camera/motion"
#define T_CMD	   "iod/cam/camera/cmd"
#define T_SNAPSHOT "iod/cam/camera/snapshot"
#define T_AVAIL	   "iod/cam/camera/availability"
#define T_INFO	   "iod/cam/camera/info"
#define T_ALERT	   "iod/cam/alert"

static struct harness_broker broker;
static char *data_dir;
static pid_t camera = -1;

static void setup(void)
{
	cr_assert_eq(harness_broker_start(&broker, NULL), 0, "mosquitto did not start");
	data_dir = harness_tmpdir("iod-camera-it");
	cr_assert_not_null(data_dir);
}

static void teardown(void)
{
	if (camera > 0 && harness_alive(camera))
		harness_stop(camera, SIGKILL, 2000);
	camera = -1;
	harness_broker_destroy(&broker);
	if (data_dir)
		harness_rmtree(data_dir);
	free(data_dir);
	data_dir = NULL;
}

/* Start iod-camera on the test broker; extra NAME=value settings after it. */
static pid_t start_camera(const char *const extra[])
{
	static char url[128], dir[512];
	snprintf(url, sizeof(url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(dir, sizeof(dir), "IOD_DATA_DIR=%s/var", data_dir);
	const char *env[16] = {url, dir, "IOD_SITE=cam", "IOD_LOG_LEVEL=debug"};
	size_t n = 4;
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	pid_t pid = harness_spawn("iod-camera", NULL, env);
	cr_assert_gt(pid, 0, "cannot start iod-camera");
	return pid;
}

static struct tclient *client(const char *id, const char *filter)
{
	struct tclient *c = tclient_new(broker.url, id);
	cr_assert_not_null(c);
	if (filter)
		cr_assert_eq(tclient_subscribe(c, filter, 1), 0);
	return c;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A whole JPEG of the given size, checked by decoding its header. */
static void assert_jpeg(const struct tmsg *m, int width, int height)
{
	cr_assert_gt(m->len, 1000, "frame of %zu bytes", m->len);
	const unsigned char *p = (const unsigned char *)m->payload;
	cr_assert(p[0] == 0xFF && p[1] == 0xD8, "no SOI");
	cr_assert(p[m->len - 2] == 0xFF && p[m->len - 1] == 0xD9, "no EOI");
	tjhandle d = tjInitDecompress();
	int w, h, sub, cs;
	cr_assert_eq(tjDecompressHeader3(d, p, (unsigned long)m->len, &w, &h, &sub, &cs), 0);
	tjDestroy(d);
	cr_assert_eq(w, width);
	cr_assert_eq(h, height);
}

/* Count frames that arrive during window_ms after the first one. */
static int count_frames(struct tclient *c, int window_ms)
{
	struct tmsg *first = tclient_expect(c, T_FRAME, 5000);
	cr_assert_not_null(first, "no frame at all");
	tmsg_free(first);
	int n = 0;
	int64_t end = mono_ms() + window_ms;
	for (int64_t left; (left = end - mono_ms()) > 0;) {
		struct tmsg *m = tclient_expect(c, T_FRAME, (int)left);
		if (!m)
			break;
		n++;
		tmsg_free(m);
	}
	return n;
}

static void stop_cleanly(void)
{
	int code = harness_stop(camera, SIGTERM, 5000);
	camera = -1;
	cr_assert_eq(code, 0, "iod-camera exited with %d", code);
}

TestSuite(camera, .init = setup, .fini = teardown, .timeout = 60);

Test(camera, frames_arrive_at_the_configured_rate)
{
	struct tclient *c = client("t-rate", T_FRAME);
	camera = start_camera((const char *const[]){"IOD_CAMERA_FPS=5", NULL});
	int n = count_frames(c, 3000);
	cr_assert(n >= 8 && n <= 20, "%d frames in 3 s at 5 fps", n);
	tclient_free(c);
	stop_cleanly();
}

Test(camera, a_faster_rate_and_another_size)
{
	struct tclient *c = client("t-rate15", T_FRAME);
	camera = start_camera(
	    (const char *const[]){"IOD_CAMERA_FPS=15", "IOD_CAMERA_SIZE=320x240", NULL});
	struct tmsg *m = tclient_expect(c, T_FRAME, 5000);
	cr_assert_not_null(m);
	assert_jpeg(m, 320, 240);
	tmsg_free(m);
	int n = count_frames(c, 2000);
	cr_assert(n >= 20 && n <= 45, "%d frames in 2 s at 15 fps", n);
	tclient_free(c);
	stop_cleanly();
}

Test(camera, late_subscriber_gets_the_retained_frame)
{
	struct tclient *early = client("t-early", T_FRAME);
	camera = start_camera((const char *const[]){"IOD_CAMERA_FPS=1", NULL});
	struct tmsg *m = tclient_expect(early, T_FRAME, 5000);
	cr_assert_not_null(m);
	assert_jpeg(m, 640, 480);
	tmsg_free(m);

	struct tclient *late = client("t-late", T_FRAME);
	m = tclient_expect(late, T_FRAME, 3000);
	cr_assert_not_null(m, "no retained frame for a late subscriber");
	cr_assert(m->retained, "the first frame a newcomer sees must be the retained one");
	assert_jpeg(m, 640, 480);
	tmsg_free(m);
	tclient_free(early);
	tclient_free(late);
	stop_cleanly();
}

Test(camera, snapshot_answers_with_a_frame)
{
	struct tclient *c = client("t-snap", T_FRAME);
	/* 1 fps: in the 2 s counted, the frame timer alone gives at most 3. */
	camera = start_camera((const char *const[]){"IOD_CAMERA_FPS=1", NULL});
	struct tmsg *m = tclient_expect(c, T_FRAME, 5000);
	cr_assert_not_null(m);
	tmsg_free(m);
	tclient_flush(c);
	/* 30 at once: a burst of 10 is answered, the rest are a flood (5 a
	 * second refill the bucket while they are being sent). */
	int64_t sent_from = mono_ms();
	for (int i = 0; i < 30; i++) {
		const char *cmd = i % 2 ? "{\"action\":\"snapshot\"}" : "snapshot";
		cr_assert_eq(tclient_publish_str(c, T_CMD, cmd, 0, false), 0);
	}
	int64_t sending_ms = mono_ms() - sent_from;
	int n = 0;
	int64_t end = mono_ms() + 2000;
	for (int64_t left; (left = end - mono_ms()) > 0;) {
		m = tclient_expect(c, T_FRAME, (int)left);
		if (!m)
			break;
		assert_jpeg(m, 640, 480);
		n++;
		tmsg_free(m);
	}
	int most = 10 + (int)(sending_ms * 5 / 1000) + 1 + 3; /* burst + refill + timer */
	cr_assert_geq(n, 10, "%d frames for 30 snapshots", n);
	cr_assert_leq(n, most, "%d frames (most %d): the flood was not limited", n, most);
	tclient_free(c);
	stop_cleanly();
}

/* A snapshot for a dose, with the command-line tools the README shows:
 * mosquitto_pub asks, and mosquitto_sub -V 5 prints the user property
 * (%P, key:value) and the payload in hex (%x), a JPEG's from its SOI. The
 * subscriber takes a retained marker on a second filter of the same
 * SUBSCRIBE first, so the command goes out only once it listens. */
Test(camera, a_snapshot_for_a_dose_on_camera_snapshot_with_its_for)
{
	camera = start_camera((const char *const[]){"IOD_CAMERA_FPS=1", NULL});
	struct tclient *c = client("t-for", T_FRAME);
	struct tmsg *m = tclient_expect(c, T_FRAME, 5000);
	cr_assert_not_null(m, "the camera did not start");
	tmsg_free(m);
	cr_assert_eq(tclient_publish_str(c, "test/ready", "ready", 1, true), 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_sub -V 5 -h 127.0.0.1 -p %d -q 1 -t test/ready -t " T_SNAPSHOT
		 " -C 2 -W 20 -F '%%t %%r %%q %%P %%x'",
		 broker.port);
	FILE *sub = popen(cmd, "r");
	cr_assert_not_null(sub);
	char *line = NULL;
	size_t cap = 0;
	cr_assert_gt(getline(&line, &cap, sub), 0, "mosquitto_sub printed nothing");
	cr_assert(strncmp(line, "test/ready 1 1 ", 15) == 0, "%s", line);
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub -h 127.0.0.1 -p %d -q 1 -t " T_CMD
		 " -m '{\"action\":\"snapshot\",\"for\":\"dose:abc\"}'",
		 broker.port);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	ssize_t n = getline(&line, &cap, sub);
	cr_assert_gt(n, 0, "no snapshot on " T_SNAPSHOT);
	const char *want = T_SNAPSHOT " 0 1 for:dose:abc ffd8ff";
	cr_assert(strncmp(line, want, strlen(want)) == 0, "want %s, got %.80s", want, line);
	/* The whole JPEG: it ends with EOI. */
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	cr_assert(n > (ssize_t)strlen(want) + 2000, "%zd characters", n);
	cr_assert_str_eq(line + n - 4, "ffd9");
	free(line);
	cr_assert_eq(pclose(sub), 0);
	/* A plain snapshot still answers on camera/frame only. */
	tclient_free(c);
	c = client("t-for-plain", T_SNAPSHOT);
	tclient_flush(c);
	cr_assert_eq(tclient_publish_str(c, T_CMD, "snapshot", 1, false), 0);
	m = tclient_expect(c, T_SNAPSHOT, 1500);
	cr_assert_null(m, "a plain snapshot went to camera/snapshot");
	tclient_free(c);
	stop_cleanly();
}

Test(camera, bad_commands_raise_one_alert_and_change_nothing)
{
	struct tclient *c = client("t-bad", T_ALERT);
	camera = start_camera((const char *const[]){"IOD_CAMERA_FPS=2", NULL});
	struct tclient *w = client("t-bad-avail", T_AVAIL);
	struct tmsg *online = tclient_expect_with(w, T_AVAIL, "online", 5000);
	cr_assert_not_null(online);
	tmsg_free(online);
	cr_assert_eq(tclient_publish_str(c, T_CMD, "zoom", 1, false), 0);
	cr_assert_eq(tclient_publish_str(c, T_CMD, "{\"action\":", 1, false), 0);
	cr_assert_eq(tclient_publish_str(c, T_CMD, "{\"action\":\"feed\"}", 1, false), 0);
	struct tmsg *m = tclient_expect(c, T_ALERT, 3000);
	cr_assert_not_null(m, "no alert for a bad command");
	cr_assert_not_null(strstr(m->payload, "\"source\":\"camera\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"code\":\"bad_command\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"level\":\"info\""), "%s", m->payload);
	tmsg_free(m);
	m = tclient_expect(c, T_ALERT, 1500);
	cr_assert_null(m, "a flood of bad commands must not become a flood of alerts: %s",
		       m ? m->payload : "");
	cr_assert(harness_alive(camera));
	tclient_free(w);
	tclient_free(c);
	stop_cleanly();
}

/* The motion start's thumbnail on camera/snapshot: QoS 1, not retained,
 * "for" = "motion:<ts>" with the start event's ts, a whole JPEG of at most
 * 10,240 bytes that decodes (the sim at 160x120 is narrower than 320: not
 * scaled). */
static void assert_motion_thumbnail(struct tclient *c5, long long ts)
{
	struct tmsg *t = tclient_expect(c5, T_SNAPSHOT, 5000);
	cr_assert_not_null(t, "no thumbnail on " T_SNAPSHOT " with the motion start");
	char want_for[48];
	snprintf(want_for, sizeof(want_for), "motion:%lld", ts);
	const char *for_ = tmsg_user_property(t, "for");
	cr_assert_not_null(for_, "no user property for");
	cr_assert_str_eq(for_, want_for);
	cr_assert_eq(t->qos, 1);
	cr_assert(!t->retained);
	cr_assert(t->len > 200 && t->len <= 10240, "%zu bytes", t->len);
	const unsigned char *p = (const unsigned char *)t->payload;
	cr_assert(p[0] == 0xFF && p[1] == 0xD8, "no SOI");
	cr_assert(p[t->len - 2] == 0xFF && p[t->len - 1] == 0xD9, "no EOI");
	tjhandle d = tjInitDecompress();
	int w, h, sub, cs;
	cr_assert_eq(tjDecompressHeader3(d, p, (unsigned long)t->len, &w, &h, &sub, &cs), 0);
	cr_assert_eq(w, 160);
	cr_assert_eq(h, 120);
	unsigned char *rgb = malloc((size_t)w * (size_t)h * 3);
	cr_assert_eq(tjDecompress2(d, p, (unsigned long)t->len, rgb, w, 0, h, TJPF_RGB, 0), 0, "%s",
		     tjGetErrorStr2(d));
	free(rgb);
	tjDestroy(d);
	tmsg_free(t);
}

/* The sim's dog rests for the first 12 s after the camera starts (whatever
 * the hour: SCENE_FIRST_REST_MS), then walks for 8 s: the state at connect
 * is still, a start event (active true) comes within one rest, with its
 * thumbnail on camera/snapshot, then a stop (active false) once the walk
 * ended and a quiet second passed, with none. Thresholds sit between the resting
 * picture (the clock's digits change about 0.0015 of it) and the walking dog (above 0.02). */
Test(camera, motion_events_are_published)
{
	struct tclient *c = client("t-motion", T_MOTION);
	struct tclient *c5 = tclient_new5(broker.url, "t-motion-thumb");
	cr_assert_not_null(c5);
	cr_assert_eq(tclient_subscribe(c5, T_SNAPSHOT, 1), 0);
	camera = start_camera((const char *const[]){
	    "IOD_CAMERA_FPS=10", "IOD_CAMERA_SIZE=160x120", "IOD_CAMERA_MOTION_ON=0.01",
	    "IOD_CAMERA_MOTION_OFF=0.005", "IOD_CAMERA_MOTION_QUIET=1s", NULL});
	/* At connect: the state now (no motion yet), replacing whatever a
	 * previous run left retained. */
	struct tmsg *m = tclient_expect(c, T_MOTION, 10000);
	cr_assert_not_null(m, "no motion state at start");
	cr_assert_not_null(strstr(m->payload, "\"active\":false"), "%s", m->payload);
	tmsg_free(m);
	m = tclient_expect(c, T_MOTION, 20000);
	cr_assert_not_null(m, "no motion event");
	cr_assert(!m->retained);
	cr_assert_eq(m->qos, 1);
	cr_assert_not_null(strstr(m->payload, "\"score\":"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"ts\":"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"active\":true"), "start: %s", m->payload);
	double score = atof(strstr(m->payload, "\"score\":") + 8);
	cr_assert(score >= 0.01 && score <= 1.0, "start score %f", score);
	long long ts = strtoll(strstr(m->payload, "\"ts\":") + 5, NULL, 10);
	cr_assert_gt(ts, 0, "%s", m->payload);
	tmsg_free(m);
	assert_motion_thumbnail(c5, ts);

	m = tclient_expect(c, T_MOTION, 20000);
	cr_assert_not_null(m, "no stop event");
	cr_assert(!m->retained);
	cr_assert_not_null(strstr(m->payload, "\"active\":false"), "stop: %s", m->payload);
	score = atof(strstr(m->payload, "\"score\":") + 8);
	cr_assert(score >= 0.0 && score < 0.005, "stop score %f", score);
	tmsg_free(m);
	m = tclient_expect(c5, T_SNAPSHOT, 500);
	cr_assert_null(m, "a second thumbnail for one motion");
	tclient_free(c5);

	/* Retained: a subscriber that comes later (Home Assistant after a
	 * restart) learns the current motion state at once. */
	struct tclient *late = client("t-motion-late", T_MOTION);
	m = tclient_expect(late, T_MOTION, 3000);
	cr_assert_not_null(m, "camera/motion is not retained");
	cr_assert(m->retained);
	cr_assert_not_null(strstr(m->payload, "\"active\":false"), "%s", m->payload);
	tmsg_free(m);
	tclient_free(late);
	tclient_free(c);
	stop_cleanly();
}

Test(camera, info_and_home_assistant_discovery)
{
	struct tclient *c = client("t-ha", "homeassistant/#");
	cr_assert_eq(tclient_subscribe(c, T_INFO, 1), 0);
	camera = start_camera(NULL);
	struct tmsg *m = tclient_expect(c, T_INFO, 5000);
	cr_assert_not_null(m);
	cr_assert_not_null(strstr(m->payload, "\"backend\":\"sim\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"version\":"), "%s", m->payload);
	tmsg_free(m);

	/* A camera entity (no state row per frame), not an image entity. */
	m = tclient_expect(c, "homeassistant/camera/iod_cam_camera/frame/config", 5000);
	cr_assert_not_null(m, "no camera entity");
	cr_assert_not_null(strstr(m->payload, "\"topic\":\"" T_FRAME "\""), "%s", m->payload);
	cr_assert_null(strstr(m->payload, "image_topic"), "%s", m->payload);
	cr_assert_not_null(
	    strstr(m->payload, "\"default_entity_id\":\"camera.iod_cam_camera_frame\""), "%s",
	    m->payload);
	cr_assert_not_null(strstr(m->payload, "\"availability_topic\":\"" T_AVAIL "\""), "%s",
			   m->payload);
	tmsg_free(m);

	m = tclient_expect(c, "homeassistant/binary_sensor/iod_cam_camera/motion/config", 5000);
	cr_assert_not_null(m, "no motion binary sensor");
	cr_assert_not_null(strstr(m->payload, "\"state_topic\":\"" T_MOTION "\""), "%s",
			   m->payload);
	cr_assert_not_null(strstr(m->payload, "\"device_class\":\"motion\""), "%s", m->payload);
	cr_assert_not_null(
	    strstr(m->payload, "\"value_template\":\"{{ 'ON' if value_json.active else 'OFF' }}\""),
	    "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"payload_on\":\"ON\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"payload_off\":\"OFF\""), "%s", m->payload);
	cr_assert_not_null(
	    strstr(m->payload, "\"default_entity_id\":\"binary_sensor.iod_cam_camera_motion\""),
	    "%s", m->payload);
	tmsg_free(m);

	m = tclient_expect(c, "homeassistant/button/iod_cam_camera/snapshot/config", 5000);
	cr_assert_not_null(m, "no snapshot button");
	cr_assert_not_null(strstr(m->payload, "\"command_topic\":\"" T_CMD "\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"qos\":1"), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "\"command_template\":"), "%s", m->payload);
	tmsg_free(m);

	/* info and discovery are retained: a newcomer gets them at once. */
	struct tclient *late = client("t-ha-late", T_INFO);
	cr_assert_eq(tclient_subscribe(late, "homeassistant/camera/iod_cam_camera/frame/config", 1),
		     0);
	m = tclient_expect(late, T_INFO, 3000);
	cr_assert_not_null(m);
	cr_assert(m->retained);
	tmsg_free(m);
	m = tclient_expect(late, "homeassistant/camera/iod_cam_camera/frame/config", 3000);
	cr_assert_not_null(m);
	cr_assert(m->retained);
	tmsg_free(m);
	tclient_free(late);

	/* Home Assistant's birth message: the discovery comes again, live. */
	tclient_flush(c);
	cr_assert_eq(tclient_publish_str(c, "homeassistant/status", "online", 1, false), 0);
	m = tclient_expect(c, "homeassistant/camera/iod_cam_camera/frame/config", 5000);
	cr_assert_not_null(m, "discovery not sent again after Home Assistant's birth message");
	cr_assert(!m->retained, "a live republish, not the retained copy");
	tmsg_free(m);
	tclient_free(c);
	stop_cleanly();
}

Test(camera, offline_after_sigterm_with_exit_0)
{
	struct tclient *c = client("t-avail", T_AVAIL);
	camera = start_camera(NULL);
	struct tmsg *m = tclient_expect_with(c, T_AVAIL, "online", 5000);
	cr_assert_not_null(m, "never online");
	tmsg_free(m);
	stop_cleanly();
	m = tclient_expect(c, T_AVAIL, 5000);
	cr_assert_not_null(m, "no availability change after SIGTERM");
	cr_assert_str_eq(m->payload, "offline");
	tmsg_free(m);
	/* Retained: a newcomer also sees offline. */
	struct tclient *late = client("t-avail-late", T_AVAIL);
	m = tclient_expect(late, T_AVAIL, 3000);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->payload, "offline");
	cr_assert(m->retained);
	tmsg_free(m);
	tclient_free(late);
	tclient_free(c);
}

Test(camera, frames_resume_after_a_broker_restart)
{
	struct tclient *c = client("t-restart", T_FRAME);
	camera = start_camera((const char *const[]){"IOD_CAMERA_FPS=5", NULL});
	struct tmsg *m = tclient_expect(c, T_FRAME, 5000);
	cr_assert_not_null(m);
	tmsg_free(m);
	tclient_free(c);

	harness_broker_stop(&broker);
	struct timespec pause = {1, 500000000};
	nanosleep(&pause, NULL); /* frames made now have nowhere to go */
	cr_assert_eq(harness_broker_restart(&broker), 0);
	cr_assert(harness_alive(camera), "iod-camera must ride out a broker restart");

	c = client("t-restart2", T_FRAME);
	cr_assert_eq(tclient_subscribe(c, T_AVAIL, 1), 0);
	m = tclient_expect_with(c, T_AVAIL, "online", 15000);
	cr_assert_not_null(m, "not online again after the broker came back");
	tmsg_free(m);
	tclient_flush(c);
	int n = count_frames(c, 2000);
	cr_assert(n >= 5 && n <= 15, "%d frames in 2 s at 5 fps after the restart", n);
	tclient_free(c);
	stop_cleanly();
}

Test(camera, missing_v4l2_camera_raises_camera_lost_and_keeps_running)
{
	struct tclient *c = client("t-lost", T_ALERT);
	cr_assert_eq(tclient_subscribe(c, T_AVAIL, 1), 0);
	camera =
	    start_camera((const char *const[]){"IOD_CAMERA_SOURCE=v4l2:/nonexistent/video7", NULL});
	struct tmsg *m = tclient_expect_with(c, T_ALERT, "camera_lost", 5000);
	cr_assert_not_null(m, "no camera_lost alert");
	cr_assert_not_null(strstr(m->payload, "\"level\":\"warning\""), "%s", m->payload);
	cr_assert_not_null(strstr(m->payload, "/nonexistent/video7"), "%s", m->payload);
	tmsg_free(m);
	m = tclient_expect_with(c, T_AVAIL, "online", 5000);
	cr_assert_not_null(m, "the service must stay up and online without its camera");
	tmsg_free(m);
	/* Retries (1 s, 2 s) do not repeat the alert. */
	m = tclient_expect(c, T_ALERT, 3500);
	cr_assert_null(m, "alert repeated: %s", m ? m->payload : "");
	cr_assert(harness_alive(camera));
	tclient_free(c);
	stop_cleanly();
}

Test(camera, bad_settings_stop_the_service_with_2)
{
	const char *const bad[][2] = {{"IOD_CAMERA_SIZE=640x", NULL},
				      {"IOD_CAMERA_FPS=31", NULL},
				      {"IOD_CAMERA_SOURCE=webcam", NULL}};
	for (size_t i = 0; i < 3; i++) {
		pid_t pid = start_camera(bad[i]);
		int code = harness_stop(pid, 0, 5000);
		cr_assert_eq(code, 2, "%s: exit %d", bad[i][0], code);
	}
}
