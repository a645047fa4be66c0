#include <criterion/criterion.h>
#include <string.h>

#include "camera.h"
#include "scene.h"

Test(scene, font_has_digits_and_colon, .timeout = 5)
{
	for (char ch = '0'; ch <= '9'; ch++) {
		const uint8_t *g = scene_glyph(ch);
		cr_assert_not_null(g);
		int lit = 0;
		for (int r = 0; r < 7; r++) {
			cr_assert_eq(g[r] & ~0x1F, 0, "glyph %c is wider than 5", ch);
			lit += __builtin_popcount(g[r]);
		}
		cr_assert_gt(lit, 8, "glyph %c looks empty", ch);
	}
	cr_assert_not_null(scene_glyph(':'));
	cr_assert_null(scene_glyph('a'));
	cr_assert_neq(memcmp(scene_glyph('1'), scene_glyph('7'), 7), 0);
}

Test(scene, dog_walks_then_rests, .timeout = 5)
{
	bool walking;
	int left = scene_dog_x(640, 0, &walking);
	cr_assert(walking);
	int mid = scene_dog_x(640, 4000, &walking);
	cr_assert(walking);
	int right = scene_dog_x(640, 10000, &walking);
	cr_assert(!walking);
	cr_assert_lt(left, mid);
	cr_assert_lt(mid, right);
	cr_assert_eq(scene_dog_x(640, 19999, &walking), right);
	cr_assert(!walking);
	cr_assert_lt(scene_dog_x(640, 24000, &walking), right);
	cr_assert(walking);
	cr_assert_eq(scene_dog_x(640, 30000, &walking), left);
	cr_assert_eq(scene_dog_x(640, SCENE_CYCLE_MS + 4000, NULL), mid, "the cycle repeats");
	cr_assert_eq(scene_dog_x(640, -SCENE_CYCLE_MS + 4000, NULL), mid, "negative times too");
}

Test(scene, deterministic_and_the_clock_changes_the_picture, .timeout = 10)
{
	struct scene *a = scene_new(320, 240), *b = scene_new(320, 240);
	cr_assert_not_null(a);
	cr_assert_null(scene_new(31, 240));
	cr_assert_null(scene_new(320, 241));
	size_t ysize = 320 * 240;
	const struct codec_i420 *ia = scene_render(a, 9000, 7, 30, 5);
	const struct codec_i420 *ib = scene_render(b, 9000, 7, 30, 5);
	cr_assert_arr_eq(ia->plane[0], ib->plane[0], ysize);
	cr_assert_arr_eq(ia->plane[1], ib->plane[1], ysize / 4);
	ib = scene_render(b, 9000, 7, 30, 6);
	/* Only the clock (top left) differs between 07:30:05 and 07:30:06. */
	int diff_clock = 0, diff_elsewhere = 0;
	for (int y = 0; y < 240; y++)
		for (int x = 0; x < 320; x++)
			if (ia->plane[0][y * 320 + x] != ib->plane[0][y * 320 + x]) {
				if (y < 40 && x < 250)
					diff_clock++;
				else
					diff_elsewhere++;
			}
	cr_assert_gt(diff_clock, 20);
	cr_assert_eq(diff_elsewhere, 0);
	scene_free(a);
	scene_free(b);
}

/* The sim and the motion detector together, over one 40 s cycle in simulated
 * time: motion starts while the dog walks out and stops while it
 * rests, twice. */
static void sim_motion_cycle(int fps)
{
	struct camera_settings s = {
	    .source = "sim", .width = 640, .height = 480, .fps = fps, .quality = 75};
	motion_params_default(&s.motion, fps);
	struct camera *cam = camera_new(&s, 640, 480);
	struct scene *sc = scene_new(640, 480);
	cr_assert_not_null(cam);
	int64_t starts[4], stops[4];
	int n_start = 0, n_stop = 0;
	for (int64_t t = 30000; t < 30000 + SCENE_CYCLE_MS + 6000; t += 1000 / fps) {
		int secs = (int)(t / 1000);
		struct source_frame f = {.format = SOURCE_I420,
					 .i420 = scene_render(sc, t, 12, secs / 60 % 60, secs % 60),
					 .width = 640,
					 .height = 480};
		struct camera_output out;
		cr_assert_eq(camera_frame(cam, &f, t, &out), 0);
		cr_assert_gt(out.jpeg_len, 0);
		if (out.motion.kind != MOTION_NONE)
			cr_log_info("t %lld: %s score %.4f", (long long)(t % SCENE_CYCLE_MS),
				    out.motion.kind == MOTION_START ? "start" : "stop",
				    out.motion.score);
		if (out.motion.kind == MOTION_START && n_start < 4)
			starts[n_start++] = t % SCENE_CYCLE_MS;
		/* A thumbnail with each start (and only then): a small JPEG. */
		if (out.motion.kind == MOTION_START) {
			cr_assert_not_null(out.thumb);
			cr_assert_gt(out.thumb_len, 500);
			cr_assert_leq(out.thumb_len, CAMERA_THUMB_MAX_BYTES);
			cr_assert(out.thumb[0] == 0xFF && out.thumb[1] == 0xD8);
			cr_assert_eq(out.thumb_width, 320);
			cr_assert_eq(out.thumb_height, 240);
			cr_log_info("thumbnail %zu bytes at quality %d", out.thumb_len,
				    out.thumb_quality);
		} else {
			cr_assert_null(out.thumb);
			cr_assert_eq(out.thumb_len, 0);
		}
		if (out.motion.kind == MOTION_STOP && n_stop < 4)
			stops[n_stop++] = t % SCENE_CYCLE_MS;
	}
	/* t starts at 30 s into the cycle (resting at the left): walk 0-8 s,
	 * rest, walk 20-28 s, rest. */
	cr_assert_eq(n_start, 2, "%d starts", n_start);
	cr_assert_eq(n_stop, 2, "%d stops", n_stop);
	cr_assert(starts[0] >= 0 && starts[0] < 2000, "first start at %lld", (long long)starts[0]);
	cr_assert(stops[0] > 8000 && stops[0] < 20000, "first stop at %lld", (long long)stops[0]);
	cr_assert(starts[1] >= 20000 && starts[1] < 22000, "second start at %lld",
		  (long long)starts[1]);
	cr_assert(stops[1] > 28000 && stops[1] < 40000, "second stop at %lld", (long long)stops[1]);
	struct camera_stats st;
	camera_get_stats(cam, &st);
	cr_assert_eq(st.motion_events, 4);
	cr_assert_eq(st.thumbnails, 2);
	cr_assert_eq(st.thumbnails_failed, 0);
	cr_assert_eq(st.corrupt, 0);
	scene_free(sc);
	camera_free(cam);
}

Test(scene, sim_motion_starts_and_stops_with_the_dog_at_5_fps, .timeout = 60)
{
	sim_motion_cycle(5);
}

Test(scene, sim_motion_starts_and_stops_with_the_dog_at_15_fps, .timeout = 60)
{
	sim_motion_cycle(15);
}
