#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera.h"
#include "cfg.h"
#include "proto.h"

Test(settings, size_parsing, .timeout = 5)
{
	int w = 0, h = 0;
	cr_assert_eq(camera_parse_size("640x480", &w, &h), 0);
	cr_assert_eq(w, 640);
	cr_assert_eq(h, 480);
	cr_assert_eq(camera_parse_size("1920X1080", &w, &h), 0);
	cr_assert_eq(w, 1920);
	cr_assert_eq(h, 1080);
	cr_assert_eq(camera_parse_size("32x32", &w, &h), 0);
	cr_assert_eq(camera_parse_size("4096x4096", &w, &h), 0);
	const char *bad[] = {"",
			     "640",
			     "640x",
			     "x480",
			     "640x480 ",
			     " 640x480",
			     "640*480",
			     "641x480",
			     "640x481",
			     "30x480",
			     "640x4098",
			     "-640x480",
			     "+640x480",
			     "640x+480",
			     "640x480x3",
			     "abc",
			     "99999999999999999999x2",
			     "640.0x480",
			     NULL};
	for (int i = 0; bad[i]; i++) {
		w = h = 7;
		cr_assert_eq(camera_parse_size(bad[i], &w, &h), -1, "accepted '%s'", bad[i]);
		cr_assert_eq(w, 7, "changed the output on '%s'", bad[i]);
	}
	cr_assert_eq(camera_parse_size(NULL, &w, &h), -1);
}

/* Load through cfg exactly as the binary does. */
static struct cfg *load(int argc, char **argv, int *exit_code)
{
	return cfg_load("camera", "iod-camera", camera_options, camera_options_count, argc, argv,
			exit_code);
}

Test(settings, defaults_match_the_design, .timeout = 5)
{
	int code = -1;
	char *argv[] = {"iod-camera", NULL};
	unsetenv("IOD_CAMERA_FPS");
	unsetenv("IOD_CAMERA_SIZE");
	unsetenv("IOD_CAMERA_SOURCE");
	struct cfg *cfg = load(1, argv, &code);
	cr_assert_not_null(cfg);
	struct camera_settings s;
	char err[256] = "";
	cr_assert_eq(camera_settings_load(cfg, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(s.source, "sim");
	cr_assert_eq(s.width, 640);
	cr_assert_eq(s.height, 480);
	cr_assert_eq(s.fps, 5);
	cr_assert_eq(s.quality, 75);
	cr_assert_float_eq(s.motion.on, 0.02, 1e-12);
	cr_assert_float_eq(s.motion.off, 0.01, 1e-12);
	cr_assert_eq(s.motion.quiet_frames, 15, "3 s at 5 fps");
	cr_assert_eq(s.motion.pixel_threshold, 25);
	cfg_free(cfg);
}

Test(settings, environment_and_flags, .timeout = 5)
{
	int code = -1;
	setenv("IOD_CAMERA_FPS", "10", 1);
	setenv("IOD_CAMERA_SIZE", "320x240", 1);
	char *argv[] = {"iod-camera",
			"--camera-fps=15",
			"--camera-source",
			"v4l2:/dev/video2",
			"--camera-motion-quiet",
			"2s",
			NULL};
	struct cfg *cfg = load(6, argv, &code);
	cr_assert_not_null(cfg);
	struct camera_settings s;
	char err[256] = "";
	cr_assert_eq(camera_settings_load(cfg, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.fps, 15, "the flag wins over the environment");
	cr_assert_eq(s.width, 320);
	cr_assert_eq(s.height, 240);
	cr_assert_str_eq(s.source, "v4l2:/dev/video2");
	cr_assert_eq(s.motion.quiet_frames, 30, "2 s at 15 fps");
	cfg_free(cfg);
}

Test(settings, fps_out_of_range_stops_the_service, .timeout = 5)
{
	const char *bad[] = {"0", "31", "-1", "5fps", "", NULL};
	for (int i = 0; bad[i]; i++) {
		int code = -1;
		char flag[64];
		snprintf(flag, sizeof(flag), "--camera-fps=%s", bad[i]);
		char *argv[] = {"iod-camera", flag, NULL};
		struct cfg *cfg = load(2, argv, &code);
		cr_assert_null(cfg, "accepted fps '%s'", bad[i]);
		cr_assert_eq(code, 2);
	}
	int code = -1;
	char *ok[] = {"iod-camera", "--camera-fps=30", NULL};
	struct cfg *cfg = load(2, ok, &code);
	cr_assert_not_null(cfg);
	cfg_free(cfg);
}

static void expect_bad(const char *flag, const char *setting)
{
	int code = -1;
	char *argv[] = {"iod-camera", (char *)flag, NULL};
	struct cfg *cfg = load(2, argv, &code);
	if (!cfg) { /* the setting's own check, which cfg runs at start */
		cr_assert_eq(code, 2, "%s: exit code %d", flag, code);
		return;
	}
	struct camera_settings s;
	char err[256] = "";
	cr_assert_eq(camera_settings_load(cfg, &s, err, sizeof(err)), -1, "accepted %s", flag);
	cr_assert_not_null(strstr(err, setting), "'%s' does not name %s", err, setting);
	cfg_free(cfg);
}

Test(settings, bad_values_name_the_setting, .timeout = 5)
{
	expect_bad("--camera-size=640x", "IOD_CAMERA_SIZE");
	expect_bad("--camera-size=641x480", "IOD_CAMERA_SIZE");
	expect_bad("--camera-source=usb", "IOD_CAMERA_SOURCE");
	expect_bad("--camera-source=v4l2", "IOD_CAMERA_SOURCE");
	expect_bad("--camera-source=v4l2:", "IOD_CAMERA_SOURCE");
	expect_bad("--camera-source=sim:x", "IOD_CAMERA_SOURCE");
	expect_bad("--camera-motion-on=2", "IOD_CAMERA_MOTION_ON");
	expect_bad("--camera-motion-on=0", "IOD_CAMERA_MOTION_ON");
	expect_bad("--camera-motion-off=0.5", "IOD_CAMERA_MOTION_OFF");
}

Test(commands, snapshot_forms_and_rejections, .timeout = 5)
{
	const char *reason = "unset";
	cr_assert_eq(camera_cmd_check("snapshot", 8, false, &reason), CAMERA_CMD_SNAPSHOT);
	cr_assert_eq(camera_cmd_check("{\"action\":\"snapshot\"}", 21, false, &reason),
		     CAMERA_CMD_SNAPSHOT);
	cr_assert_eq(camera_cmd_check("snapshot", 8, true, &reason), CAMERA_CMD_RETAINED);
	cr_assert_str_eq(reason, "retained");
	/* Retained garbage is ignored too, not answered with an alert at every reconnect. */
	cr_assert_eq(camera_cmd_check("zoom", 4, true, &reason), CAMERA_CMD_RETAINED);

	reason = NULL;
	cr_assert_eq(camera_cmd_check("feed", 4, false, &reason), CAMERA_CMD_REJECTED);
	cr_assert_not_null(reason);
	reason = NULL;
	cr_assert_eq(camera_cmd_check("{\"action\":", 10, false, &reason), CAMERA_CMD_REJECTED);
	cr_assert_not_null(reason);
	reason = NULL;
	cr_assert_eq(camera_cmd_check("{\"action\":\"zoom\"}", 17, false, &reason),
		     CAMERA_CMD_REJECTED);
	cr_assert_not_null(reason);

	size_t big = PROTO_MAX_PAYLOAD + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	memcpy(huge, "snapshot", 8);
	cr_assert_eq(camera_cmd_check(huge, big, false, &reason), CAMERA_CMD_REJECTED);
	cr_assert_str_eq(reason, "too_large");
	free(huge);
}

Test(rate, snapshot_bucket_allows_a_burst_then_the_rate, .timeout = 5)
{
	struct camera_rate r = {0};
	int ok = 0;
	for (int i = 0; i < 30; i++)
		ok += camera_rate_take(&r, 1000, 5, 10);
	cr_assert_eq(ok, 10, "burst of 10, got %d", ok);
	cr_assert(!camera_rate_take(&r, 1100, 5, 10), "0.5 token after 100 ms");
	cr_assert(camera_rate_take(&r, 1200, 5, 10), "1 token after 200 ms at 5/s");
	cr_assert(!camera_rate_take(&r, 1200, 5, 10));
	ok = 0;
	for (int i = 0; i < 30; i++)
		ok += camera_rate_take(&r, 3600 * 1000, 5, 10);
	cr_assert_eq(ok, 10, "the bucket refills to its burst, not beyond");
	cr_assert(!camera_rate_take(&r, 3600 * 1000 - 5000, 5, 10),
		  "a clock step back adds nothing");
}

/* Frames arriving every interval_us (with +-jitter_us) for 10 s. */
static int frames_seen;

static int paced(int fps, int64_t interval_us, int64_t jitter_us)
{
	struct camera_pacer p;
	camera_pacer_init(&p, fps);
	int taken = 0, k = 0;
	for (int64_t t = 1000000; t < 11000000; t += interval_us, k++) {
		int64_t j = jitter_us ? ((k * 7919) % (2 * jitter_us + 1)) - jitter_us : 0;
		taken += camera_pacer_take(&p, t + j);
	}
	frames_seen = k;
	return taken;
}

Test(pacer, holds_the_configured_rate, .timeout = 5)
{
	int n = paced(5, 33333, 0); /* a driver that streams 30 fps regardless */
	cr_assert(n >= 49 && n <= 51, "30 fps camera paced to 5 fps: %d in 10 s", n);
	n = paced(5, 100000, 0);
	cr_assert(n >= 49 && n <= 51, "10 fps camera paced to 5 fps: %d in 10 s", n);
	n = paced(15, 33333, 3000);
	cr_assert(n >= 148 && n <= 152, "30 fps with jitter paced to 15 fps: %d in 10 s", n);
	n = paced(5, 200000, 8000);
	cr_assert_eq(n, frames_seen, "a camera at the rate keeps every frame despite jitter: %d",
		     n);
	n = paced(10, 333333, 0);
	cr_assert_eq(n, frames_seen, "a slower camera keeps every frame: %d of %d", n, frames_seen);
}

Test(pacer, no_burst_after_a_gap, .timeout = 5)
{
	struct camera_pacer p;
	camera_pacer_init(&p, 5);
	cr_assert(camera_pacer_take(&p, 0));
	cr_assert(camera_pacer_take(&p, 5000000), "first frame after a 5 s gap");
	cr_assert(!camera_pacer_take(&p, 5033333), "no catching up on the missed deadlines");
	cr_assert(!camera_pacer_take(&p, 5100000));
	cr_assert(camera_pacer_take(&p, 5200000));
}

Test(health, one_lost_alert_per_loss_back_off_and_recovered, .timeout = 5)
{
	struct camera_health h = {0};
	int64_t retry = 0;
	cr_assert_eq(camera_health_frame(&h), 0u, "a healthy camera raises nothing");
	cr_assert_eq(camera_health_lost(&h, &retry), (unsigned)CAMERA_HEALTH_ALERT_LOST);
	cr_assert_eq(retry, 1000);
	const int64_t want[] = {2000, 4000, 8000, 16000, 30000, 30000};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_eq(camera_health_lost(&h, &retry), 0u, "retry %zu alerted again", i);
		cr_assert_eq(retry, want[i]);
	}
	cr_assert_eq(camera_health_frame(&h), (unsigned)CAMERA_HEALTH_ALERT_RECOVERED);
	cr_assert_eq(camera_health_frame(&h), 0u, "recovered once");
	cr_assert_eq(camera_health_lost(&h, &retry), (unsigned)CAMERA_HEALTH_ALERT_LOST,
		     "a new loss is a new alert");
	cr_assert_eq(retry, 1000, "and the back-off starts over");
}

Test(retry, back_off_doubles_to_thirty_seconds, .timeout = 5)
{
	const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
	int64_t d = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		d = camera_retry_next_ms(d);
		cr_assert_eq(d, want[i], "step %zu: %lld", i, (long long)d);
	}
	cr_assert_eq(camera_stall_ms(5), 5000);
	cr_assert_eq(camera_stall_ms(1), 10000);
	cr_assert_eq(camera_stall_ms(30), 5000);
}
