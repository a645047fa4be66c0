/*
 * The camera glue (app.c) on a real libuv loop with the sim source, mqttc
 * stubbed (tests/support/mqttc_stub.c) and the clocks injected
 * (clock_stub.c): what camera/cmd does. A snapshot publishes a fresh frame
 * at once; a retained command is never executed; a rejected one is answered
 * by one bad_command alert a minute; snapshots go through a token bucket
 * (CAMERA_SNAPSHOT_BURST at once, then CAMERA_SNAPSHOT_PER_S a second). A
 * snapshot "for" a dose goes out on camera/snapshot with the user property
 * "for", through a bucket of its own, and waits up to CAMERA_FOR_WAIT_MS for
 * a frame when there is none.
 */
#include "app.h"
#include "camera.h"
#include "cfg.h"
#include "clock_stub.h"
#include "log.h"
#include "mqttc.h"
#include "mqttc_stub.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define FRAME "iod/home/camera/frame"
#define CMD   "iod/home/camera/cmd"
#define SNAP  "iod/home/camera/snapshot"
#define ALERT "iod/home/alert"

static uv_loop_t loop;
static struct cfg *cfg;
static struct camera_app *app;
/* Never dereferenced: the stubs take any pointer. */
static struct mqttc *const fake_client = (struct mqttc *)&loop;

/* The app, not started: its source is not open yet. */
static void up_unstarted(void)
{
	char *argv[] = {"iod-camera", "--site=home", "--camera-size=64x48", NULL};
	int rc = 0;
	struct camera_settings settings;
	char err[256];
	log_init("camera", LOG_LEVEL_ERROR);
	cfg = cfg_load("camera", "iod-camera", camera_options, CAMERA_OPTIONS_N, 3, argv, &rc);
	cr_assert_not_null(cfg, "cfg_load: %d", rc);
	cr_assert_eq(camera_settings_load(cfg, &settings, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(uv_loop_init(&loop), 0);
	stub_reset();
	app = camera_app_new(&loop, cfg, &settings, fake_client);
	cr_assert_not_null(app);
	cr_assert_eq(stub_n_subscribed, 1);
	cr_assert_str_eq(stub_subscribed[0], CMD, "homeassistant/status is the skeleton's");
}

static void up(void)
{
	up_unstarted();
	cr_assert_eq(camera_app_start(app), 0); /* the sim opens; the loop is not run */
	cr_assert_eq(stub_count(FRAME), 0);
}

static void down(void)
{
	camera_app_stop(app);
	uv_run(&loop, UV_RUN_DEFAULT);
	camera_app_free(app);
	cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open");
	cfg_free(cfg);
}

TestSuite(camera_app, .init = up, .fini = down, .timeout = 30);

static void cmd(const char *payload, bool retained)
{
	struct mqttc_message m = {.topic = CMD,
				  .payload = payload,
				  .len = strlen(payload),
				  .qos = 1,
				  .retained = retained};
	camera_app_on_message(app, &m);
}

Test(camera_app, a_snapshot_publishes_a_frame_at_once)
{
	cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), 1);
	const struct stub_publish *f = stub_last(FRAME);
	cr_assert_gt(f->len, 2);
	cr_assert_eq((unsigned char)f->payload[0], 0xff, "a JPEG");
	cr_assert_eq((unsigned char)f->payload[1], 0xd8, "a JPEG");
	cr_assert_eq(f->qos, 0);
	cr_assert(f->retain);
	cmd("{\"action\":\"snapshot\"}", false);
	cr_assert_eq(stub_count(FRAME), 2);
	cr_assert_eq(stub_count(ALERT), 0);
}

Test(camera_app, a_retained_command_is_never_executed)
{
	cmd("snapshot", true);
	cmd("{\"action\":\"snapshot\"}", true);
	cr_assert_eq(stub_count(FRAME), 0);
	cr_assert_eq(stub_count(ALERT), 0, "ignored with a log line, not an alert");
}

Test(camera_app, a_rejected_command_alerts_once_a_minute)
{
	const char *reason = NULL;
	cr_assert_eq(camera_cmd_check("feed", 4, false, &reason), CAMERA_CMD_REJECTED);
	char want[512];
	snprintf(want, sizeof(want),
		 "{\"source\":\"camera\",\"level\":\"info\",\"code\":\"bad_command\",\"message\":"
		 "\"camera/cmd rejected: %s (the camera takes snapshot or "
		 "{\\\"action\\\":\\\"snapshot\\\"})\",\"ts\":%lld}",
		 reason, (long long)stub_wall_ms);
	cmd("feed", false);
	cr_assert_eq(stub_count(FRAME), 0);
	cr_assert_eq(stub_count(ALERT), 1);
	const struct stub_publish *al = stub_last(ALERT);
	cr_assert_str_eq(al->payload, want);
	cr_assert_eq(al->qos, 1);
	cr_assert_not(al->retain);

	stub_mono_ms += CAMERA_BAD_CMD_ALERT_EVERY_MS - 1;
	cmd("feed", false);
	cmd("", false);
	cr_assert_eq(stub_count(ALERT), 1, "within the minute: logged only");
	stub_mono_ms += 1;
	cmd("feed", false);
	cr_assert_eq(stub_count(ALERT), 2);
	cr_assert_eq(stub_count(FRAME), 0);
}

Test(camera_app, snapshots_are_rate_limited)
{
	for (int i = 0; i < CAMERA_SNAPSHOT_BURST; i++)
		cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), CAMERA_SNAPSHOT_BURST);
	cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), CAMERA_SNAPSHOT_BURST, "over the burst: dropped");
	/* One token comes back every 1000 / CAMERA_SNAPSHOT_PER_S ms. */
	stub_mono_ms += 1000 / CAMERA_SNAPSHOT_PER_S - 1;
	cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), CAMERA_SNAPSHOT_BURST);
	stub_mono_ms += 1;
	cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), CAMERA_SNAPSHOT_BURST + 1);
	cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), CAMERA_SNAPSHOT_BURST + 1);
	cr_assert_eq(stub_count(ALERT), 0, "a dropped snapshot is logged, not alerted");
}

/* Offline, a snapshot is not queued (a stale frame replayed later helps
 * nobody); other topics, Home Assistant's birth included (the skeleton's),
 * and anything after stop are nothing to the glue. */
Test(camera_app, what_the_glue_does_not_answer)
{
	stub_connected = false;
	cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), 0);
	stub_connected = true;
	struct mqttc_message birth = {
	    .topic = "homeassistant/status", .payload = "online", .len = 6, .qos = 1};
	camera_app_on_message(app, &birth);
	cr_assert_eq(stub_n_published, 0);
	camera_app_stop(app);
	cmd("snapshot", false);
	cmd("feed", false);
	cr_assert_eq(stub_n_published, 0);
}

/* Home Assistant's birth, after the skeleton's discovery: info, the motion
 * state and the picture again (as before the skeleton). */
Test(camera_app, ha_birth_republishes_info_motion_and_the_frame)
{
	cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), 1);
	camera_app_on_ha_birth(app);
	const struct stub_publish *info = stub_last("iod/home/camera/info");
	cr_assert_not_null(info);
	cr_assert_str_eq(info->payload,
			 "{\"version\":\"" IOD_VERSION "\",\"since\":0,\"backend\":\"sim\"}");
	cr_assert(info->retain);
	const struct stub_publish *m = stub_last("iod/home/camera/motion");
	cr_assert_not_null(m);
	cr_assert(strstr(m->payload, "\"active\":false"), "%s", m->payload);
	cr_assert_eq(stub_count(FRAME), 2, "the last frame again");
}

/* ---- snapshots for a dose ---- */

static void assert_snapshot_for(const struct stub_publish *p, const char *for_)
{
	cr_assert_not_null(p);
	cr_assert_gt(p->len, 2);
	cr_assert_eq((unsigned char)p->payload[0], 0xff, "a JPEG");
	cr_assert_eq((unsigned char)p->payload[1], 0xd8, "a JPEG");
	cr_assert_eq(p->qos, 1);
	cr_assert_not(p->retain, "each picture belongs to its dose");
	cr_assert_eq(p->n_props, 1);
	cr_assert_str_eq(p->prop_name, "for");
	cr_assert_str_eq(p->prop_value, for_);
}

Test(camera_app, a_snapshot_for_a_dose_goes_out_on_camera_snapshot)
{
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:abc\"}", false);
	cr_assert_eq(stub_count(SNAP), 1);
	assert_snapshot_for(stub_last(SNAP), "dose:abc");
	const struct stub_publish *f = stub_last(FRAME);
	cr_assert_not_null(f, "the sim's fresh frame is a frame of the stream too");
	cr_assert_eq(f->len, stub_last(SNAP)->len, "the same picture");
	cr_assert_eq(f->n_props, 0);
	/* A plain snapshot stays on camera/frame only. */
	cmd("snapshot", false);
	cmd("{\"action\":\"snapshot\"}", false);
	cr_assert_eq(stub_count(SNAP), 1);
	cr_assert_eq(stub_count(FRAME), 3);
	cr_assert_eq(stub_count(ALERT), 0);
}

/* Unlike a stream's frame, a dose's picture is not stale later: mqttc keeps
 * it for the connection. */
Test(camera_app, a_snapshot_for_a_dose_is_published_offline_too)
{
	stub_connected = false;
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:x1\"}", false);
	cr_assert_eq(stub_count(FRAME), 0);
	cr_assert_eq(stub_count(SNAP), 1);
	assert_snapshot_for(stub_last(SNAP), "dose:x1");
}

Test(camera_app, a_snapshot_for_a_dose_is_not_lost_to_the_snapshot_rate)
{
	for (int i = 0; i < CAMERA_SNAPSHOT_BURST + 1; i++)
		cmd("snapshot", false);
	cr_assert_eq(stub_count(FRAME), CAMERA_SNAPSHOT_BURST, "the plain bucket is empty");
	char text[128], for_[16];
	for (int i = 0; i < CAMERA_FOR_SNAPSHOT_BURST; i++) {
		snprintf(for_, sizeof(for_), "dose:%d", i);
		snprintf(text, sizeof(text), "{\"action\":\"snapshot\",\"for\":\"%s\"}", for_);
		cmd(text, false);
		cr_assert_eq(stub_count(SNAP), (size_t)i + 1);
		assert_snapshot_for(stub_last(SNAP), for_);
	}
	/* Its own bucket still bounds a flood of them. */
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:more\"}", false);
	cr_assert_eq(stub_count(SNAP), CAMERA_FOR_SNAPSHOT_BURST);
	stub_mono_ms += 1000 / CAMERA_FOR_SNAPSHOT_PER_S - 1;
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:more\"}", false);
	cr_assert_eq(stub_count(SNAP), CAMERA_FOR_SNAPSHOT_BURST);
	stub_mono_ms += 1;
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:more\"}", false);
	cr_assert_eq(stub_count(SNAP), CAMERA_FOR_SNAPSHOT_BURST + 1);
	assert_snapshot_for(stub_last(SNAP), "dose:more");
	cr_assert_eq(stub_count(ALERT), 0);
}

Test(camera_app, a_bad_for_is_a_rejected_command)
{
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:a b\"}", false);
	cr_assert_eq(stub_count(SNAP), 0);
	cr_assert_eq(stub_count(FRAME), 0);
	cr_assert_eq(stub_count(ALERT), 1);
	cr_assert(strstr(stub_last(ALERT)->payload, "camera/cmd rejected: bad_for"), "%s",
		  stub_last(ALERT)->payload);
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:abc\"}", true);
	cr_assert_eq(stub_count(SNAP), 0, "retained: never executed");
}

/* "motion:" is the kind of the camera's own motion thumbnails: a command
 * cannot have a frame filed as one. */
Test(camera_app, a_snapshot_for_motion_is_a_rejected_command)
{
	cmd("{\"action\":\"snapshot\",\"for\":\"motion:1764140400000\"}", false);
	cr_assert_eq(stub_count(SNAP), 0);
	cr_assert_eq(stub_count(FRAME), 0);
	cr_assert_eq(stub_count(ALERT), 1);
	cr_assert(strstr(stub_last(ALERT)->payload, "camera/cmd rejected: bad_for"), "%s",
		  stub_last(ALERT)->payload);
	const char *reason = NULL;
	struct proto_camera_cmd c;
	const char *motion = "{\"action\":\"snapshot\",\"for\":\"motion:1\"}";
	cr_assert_eq(camera_cmd_check_for(motion, strlen(motion), false, &c, &reason),
		     CAMERA_CMD_REJECTED);
	cr_assert_str_eq(reason, "bad_for");
	cr_assert_str_eq(c.for_, "");
	/* Another kind that starts with the same letters is not it. */
	const char *motions = "{\"action\":\"snapshot\",\"for\":\"motions:1\"}";
	cr_assert_eq(camera_cmd_check_for(motions, strlen(motions), false, &c, &reason),
		     CAMERA_CMD_SNAPSHOT);
	cr_assert_str_eq(c.for_, "motions:1");
}

TestSuite(camera_app_unstarted, .init = up_unstarted, .fini = down, .timeout = 30);

/* No frame yet (the source is not open): the request waits, and the next
 * frame answers it, once however often it was asked. */
Test(camera_app_unstarted, a_snapshot_for_a_dose_waits_for_the_next_frame)
{
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:abc\"}", false);
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:abc\"}", false);
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:def\"}", false);
	cmd("snapshot", false);
	cr_assert_eq(stub_n_published, 0);
	stub_mono_ms += CAMERA_FOR_WAIT_MS - 1;
	cr_assert_eq(camera_app_start(app), 0);
	uv_run(&loop, UV_RUN_NOWAIT); /* the sim's first frame */
	cr_assert_eq(stub_count(FRAME), 1);
	cr_assert_eq(stub_count(SNAP), 2);
	assert_snapshot_for(&stub_published[1], "dose:abc");
	assert_snapshot_for(&stub_published[2], "dose:def");
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(stub_count(SNAP), 2, "answered once");
}

/* Past CAMERA_FOR_WAIT_MS the dose has no snapshot (logged): a later frame
 * is not passed off as its picture. */
Test(camera_app_unstarted, after_the_wait_a_dose_has_no_snapshot)
{
	cmd("{\"action\":\"snapshot\",\"for\":\"dose:abc\"}", false);
	stub_mono_ms += CAMERA_FOR_WAIT_MS;
	cr_assert_eq(camera_app_start(app), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(stub_count(FRAME), 1);
	cr_assert_eq(stub_count(SNAP), 0);
	cr_assert_eq(stub_count(ALERT), 0, "logged, not alerted (camera_lost says why)");
}

/* ---- the motion thumbnail ---- */

/* The sim's dog rests 12 s from the first frame, then walks: frames every
 * 200 ms (snapshots, one token back each; both clocks advance) until the
 * motion start. Right after its camera/motion event, one thumbnail on
 * camera/snapshot with "for" = "motion:<that event's ts>". The dose
 * snapshots' bucket is left full: CAMERA_FOR_SNAPSHOT_BURST answered after. */
Test(camera_app, a_motion_start_publishes_one_thumbnail_on_camera_snapshot)
{
	const struct stub_publish *start = NULL;
	size_t start_i = 0;
	for (int i = 0; i < 150 && !start; i++) {
		stub_wall_ms += 200;
		stub_mono_ms += 200;
		cmd("snapshot", false);
		for (size_t k = 0; k < stub_n_published; k++)
			if (strcmp(stub_published[k].topic, "iod/home/camera/motion") == 0 &&
			    strstr(stub_published[k].payload, "\"active\":true")) {
				start = &stub_published[k];
				start_i = k;
			}
		cr_assert_eq(stub_count(SNAP), start ? 1 : 0, "a thumbnail with the start only");
	}
	cr_assert_not_null(start, "no motion start in 30 s of the sim");
	char want_ts[32], want_for[48];
	snprintf(want_ts, sizeof(want_ts), "\"ts\":%lld}", (long long)stub_wall_ms);
	cr_assert(strstr(start->payload, want_ts), "%s", start->payload);
	snprintf(want_for, sizeof(want_for), "motion:%lld", (long long)stub_wall_ms);
	cr_assert_eq(start_i + 2, stub_n_published, "the thumbnail is the last publish");
	const struct stub_publish *thumb = &stub_published[start_i + 1];
	cr_assert_str_eq(thumb->topic, SNAP);
	assert_snapshot_for(thumb, want_for);
	cr_assert_leq(thumb->len, CAMERA_THUMB_MAX_BYTES);
	cr_assert_lt(thumb->len, sizeof(thumb->payload), "64x48: the stub holds all of it");
	cr_assert_eq((unsigned char)thumb->payload[thumb->len - 1], 0xd9, "a whole JPEG");
	/* The frames go on; while the motion lasts, no other thumbnail. */
	for (int i = 0; i < 5; i++) {
		stub_wall_ms += 200;
		stub_mono_ms += 200;
		cmd("snapshot", false);
	}
	cr_assert_eq(stub_count(SNAP), 1);
	char text[128], for_[16];
	for (int i = 0; i < CAMERA_FOR_SNAPSHOT_BURST; i++) {
		snprintf(for_, sizeof(for_), "dose:%d", i);
		snprintf(text, sizeof(text), "{\"action\":\"snapshot\",\"for\":\"%s\"}", for_);
		cmd(text, false);
		assert_snapshot_for(stub_last(SNAP), for_);
	}
	cr_assert_eq(stub_count(SNAP), 1 + CAMERA_FOR_SNAPSHOT_BURST,
		     "the dose snapshots' bucket was not spent");
}

/* Offline too (the records store files it with its event later), as a
 * dose's picture. */
Test(camera_app, a_motion_thumbnail_is_published_offline_too)
{
	stub_connected = false;
	for (int i = 0; i < 150 && stub_count(SNAP) == 0; i++) {
		stub_wall_ms += 200;
		stub_mono_ms += 200;
		cmd("snapshot", false);
	}
	cr_assert_eq(stub_count(FRAME), 0, "frames only while connected");
	cr_assert_eq(stub_count(SNAP), 1);
	char want_for[48];
	snprintf(want_for, sizeof(want_for), "motion:%lld", (long long)stub_wall_ms);
	assert_snapshot_for(stub_last(SNAP), want_for);
}
