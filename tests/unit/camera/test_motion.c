#include <criterion/criterion.h>
#include <string.h>

#include "motion.h"

static struct motion m;
static uint8_t frame[MOTION_CELLS];

static void setup_fps5(void)
{
	struct motion_params p;
	motion_params_default(&p, 5);
	cr_assert_eq(motion_init(&m, &p), 0);
}

/* A textured background (so a moving square differs from it). */
static void background(uint8_t *f, int shift)
{
	for (int y = 0; y < MOTION_H; y++)
		for (int x = 0; x < MOTION_W; x++)
			f[y * MOTION_W + x] = (uint8_t)(60 + ((x * 7 + y * 3) % 40) + shift);
}

static void square(uint8_t *f, int x0, int y0, int side, uint8_t value)
{
	for (int y = y0; y < y0 + side && y < MOTION_H; y++)
		for (int x = x0; x < x0 + side && x < MOTION_W; x++)
			if (x >= 0 && y >= 0)
				f[y * MOTION_W + x] = value;
}

/* Deterministic small noise, like a real sensor's. */
static uint32_t rng = 12345;
static int noise(int amplitude)
{
	rng = rng * 1103515245u + 12345u;
	return (int)((rng >> 16) % (unsigned)(2 * amplitude + 1)) - amplitude;
}

TestSuite(motion, .init = setup_fps5, .timeout = 10);

Test(motion, defaults_follow_the_frame_rate)
{
	struct motion_params p5, p15;
	motion_params_default(&p5, 5);
	motion_params_default(&p15, 15);
	cr_assert_eq(p5.quiet_frames, 15);
	cr_assert_eq(p15.quiet_frames, 45);
	cr_assert_float_eq(p5.on, 0.02, 1e-9);
	cr_assert_float_eq(p5.off, 0.01, 1e-9);
	cr_assert(p15.ref_alpha < p5.ref_alpha, "a faster camera needs a smaller step per frame");
}

Test(motion, rejects_inconsistent_parameters)
{
	struct motion_params p;
	motion_params_default(&p, 5);
	struct motion_params bad = p;
	bad.off = bad.on;
	cr_assert_eq(motion_init(&m, &bad), -1);
	bad = p;
	bad.on = 1.5;
	cr_assert_eq(motion_init(&m, &bad), -1);
	bad = p;
	bad.quiet_frames = 0;
	cr_assert_eq(motion_init(&m, &bad), -1);
	bad = p;
	bad.pixel_threshold = 256;
	cr_assert_eq(motion_init(&m, &bad), -1);
	bad = p;
	bad.ref_alpha = 0.0;
	cr_assert_eq(motion_init(&m, &bad), -1);
}

Test(motion, still_scene_with_sensor_noise_is_no_motion)
{
	int events = 0;
	double max_score = 0.0;
	for (int i = 0; i < 200; i++) {
		background(frame, 0);
		for (int k = 0; k < MOTION_CELLS; k++)
			frame[k] = (uint8_t)(frame[k] + noise(6));
		struct motion_event ev = motion_feed(&m, frame, i * 200);
		if (ev.kind != MOTION_NONE)
			events++;
		if (motion_score(&m) > max_score)
			max_score = motion_score(&m);
	}
	cr_assert_eq(events, 0);
	cr_assert_lt(max_score, 0.001, "score %f on a still scene", max_score);
	cr_assert(!motion_active(&m));
}

Test(motion, brightness_step_is_not_motion)
{
	int events = 0;
	for (int i = 0; i < 60; i++) {
		background(frame, i < 30 ? 0 : 50); /* a lamp goes on at frame 30 */
		if (motion_feed(&m, frame, i * 200).kind != MOTION_NONE)
			events++;
	}
	cr_assert_eq(events, 0);
}

Test(motion, moving_square_starts_then_stops)
{
	int starts = 0, stops = 0, start_frame = -1, stop_frame = -1;
	double start_score = 0, stop_score = 1;
	/* 10 still frames, a 16x16 square crossing the picture for 30 frames,
	 * then the square resting for 40 frames. */
	for (int i = 0; i < 80; i++) {
		background(frame, 0);
		int x = i < 10 ? 0 : i < 40 ? (i - 10) * 2 : 60;
		square(frame, x, 20, 16, 230);
		struct motion_event ev = motion_feed(&m, frame, 1000 + i * 200);
		if (ev.kind == MOTION_START) {
			starts++;
			start_frame = i;
			start_score = ev.score;
			cr_assert_eq(ev.ts_ms, 1000 + i * 200);
		} else if (ev.kind == MOTION_STOP) {
			stops++;
			stop_frame = i;
			stop_score = ev.score;
		}
	}
	cr_assert_eq(starts, 1);
	cr_assert_eq(stops, 1);
	cr_assert(start_frame > 10 && start_frame < 15, "started at frame %d", start_frame);
	/* Quiet for 15 frames (3 s at 5 fps) after the square stops at 40. */
	cr_assert(stop_frame > 40 + 15 && stop_frame < 80, "stopped at frame %d", stop_frame);
	cr_assert_geq(start_score, 0.02);
	cr_assert_lt(stop_score, 0.01);
	cr_assert(!motion_active(&m));
}

Test(motion, a_pause_shorter_than_the_quiet_time_does_not_stop)
{
	int stops = 0, starts = 0;
	for (int i = 0; i < 90; i++) {
		background(frame, 0);
		/* moves 0-19, pauses 20-27 (8 frames < 15), moves 28-39 */
		int x = i < 20 ? i * 2 : i < 28 ? 40 : 40 + (i - 28) * 2;
		if (i >= 40)
			x = 64;
		square(frame, x, 10, 16, 230);
		struct motion_event ev = motion_feed(&m, frame, i * 200);
		if (ev.kind == MOTION_START)
			starts++;
		if (ev.kind == MOTION_STOP) {
			stops++;
			cr_assert_gt(i, 40, "stopped during the short pause, frame %d", i);
		}
	}
	cr_assert_eq(starts, 1);
	cr_assert_eq(stops, 1);
}

Test(motion, downscale_averages_blocks)
{
	static uint8_t big[640 * 480];
	for (int y = 0; y < 480; y++)
		for (int x = 0; x < 640; x++)
			big[y * 640 + x] = (uint8_t)((x / 8) % 2 ? 200 : 100);
	uint8_t out[MOTION_CELLS];
	motion_downscale(big, 640, 480, 640, out);
	cr_assert_eq(out[0], 100);
	cr_assert_eq(out[1], 200);
	cr_assert_eq(out[59 * MOTION_W + 79], 200);

	/* Two-pixel columns alternating inside each 8x8 block average out. */
	for (int y = 0; y < 480; y++)
		for (int x = 0; x < 640; x++)
			big[y * 640 + x] = (uint8_t)(x % 2 ? 200 : 100);
	motion_downscale(big, 640, 480, 640, out);
	cr_assert_eq(out[0], 150);
	cr_assert_eq(out[MOTION_CELLS - 1], 150);
}

Test(motion, downscale_respects_stride_and_small_images)
{
	uint8_t small[40 * 2 * 30];
	memset(small, 0, sizeof(small));
	for (int y = 0; y < 30; y++)
		for (int x = 0; x < 40; x++)
			small[y * 80 + x] = (uint8_t)(x < 20 ? 10 : 240); /* padding stays 0 */
	uint8_t out[MOTION_CELLS];
	motion_downscale(small, 40, 30, 80, out);
	cr_assert_eq(out[0], 10);
	cr_assert_eq(out[39], 10);
	cr_assert_eq(out[40], 240);
	cr_assert_eq(out[79], 240, "padding beyond the width must not be read");
	cr_assert_eq(out[59 * MOTION_W + 79], 240);
}

Test(motion, reset_ends_open_motion_and_forgets_the_scene)
{
	struct motion_event ev = motion_reset(&m, 5);
	cr_assert_eq(ev.kind, MOTION_NONE, "nothing to end when quiet");
	for (int i = 0; i < 20 && !motion_active(&m); i++) {
		background(frame, 0);
		square(frame, i * 3, 20, 16, 230);
		motion_feed(&m, frame, i * 200);
	}
	cr_assert(motion_active(&m));
	ev = motion_reset(&m, 9999);
	cr_assert_eq(ev.kind, MOTION_STOP);
	cr_assert_eq(ev.ts_ms, 9999);
	cr_assert_float_eq(ev.score, 0.0, 1e-12);
	cr_assert(!motion_active(&m));
	/* A completely different picture after the reset is a new reference, not motion. */
	memset(frame, 200, sizeof(frame));
	cr_assert_eq(motion_feed(&m, frame, 10000).kind, MOTION_NONE);
	cr_assert_eq(motion_feed(&m, frame, 10200).kind, MOTION_NONE);
	cr_assert_float_eq(motion_score(&m), 0.0, 1e-12);
}
