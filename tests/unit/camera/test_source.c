#include <criterion/criterion.h>
#include <errno.h>

#include "source.h"

#define MJPG SOURCE_FOURCC('M', 'J', 'P', 'G')
#define JPEG SOURCE_FOURCC('J', 'P', 'E', 'G')
#define YUYV SOURCE_FOURCC('Y', 'U', 'Y', 'V')
#define H264 SOURCE_FOURCC('H', '2', '6', '4')
#define NV12 SOURCE_FOURCC('N', 'V', '1', '2')

static struct source_v4l2_offer pick(const struct source_v4l2_offer *o, size_t n, int rc_want)
{
	struct source_v4l2_offer out = {0, -1, -1};
	cr_assert_eq(source_v4l2_choose(o, n, 640, 480, &out), rc_want);
	return out;
}

Test(v4l2_choice, mjpeg_at_the_size_wins, .timeout = 5)
{
	const struct source_v4l2_offer o[] = {
	    {YUYV, 640, 480}, {YUYV, 1280, 720}, {MJPG, 1280, 720}, {MJPG, 640, 480}};
	struct source_v4l2_offer p = pick(o, 4, 0);
	cr_assert_eq(p.fourcc, MJPG);
	cr_assert_eq(p.width, 640);
	cr_assert_eq(p.height, 480);
}

Test(v4l2_choice, yuyv_at_the_size_beats_mjpeg_at_another, .timeout = 5)
{
	const struct source_v4l2_offer o[] = {{MJPG, 1920, 1080}, {YUYV, 640, 480}};
	struct source_v4l2_offer p = pick(o, 2, 0);
	cr_assert_eq(p.fourcc, YUYV);
	cr_assert_eq(p.width, 640);
}

Test(v4l2_choice, any_size_counts_as_the_size, .timeout = 5)
{
	/* Raspberry Pi camera drivers list stepwise sizes. */
	const struct source_v4l2_offer o[] = {{YUYV, 0, 0}, {JPEG, 0, 0}, {H264, 0, 0}};
	struct source_v4l2_offer p = pick(o, 3, 0);
	cr_assert_eq(p.fourcc, JPEG);
	cr_assert_eq(p.width, 640);
	cr_assert_eq(p.height, 480);
}

Test(v4l2_choice, nearest_size_when_none_matches, .timeout = 5)
{
	const struct source_v4l2_offer o[] = {
	    {MJPG, 1920, 1080}, {MJPG, 800, 600}, {MJPG, 320, 240}, {YUYV, 160, 120}};
	struct source_v4l2_offer p = pick(o, 4, 0);
	cr_assert_eq(p.fourcc, MJPG);
	cr_assert_eq(p.width, 800);
	cr_assert_eq(p.height, 600);

	const struct source_v4l2_offer only_yuyv[] = {{YUYV, 320, 240}, {YUYV, 1280, 960}};
	p = pick(only_yuyv, 2, 0);
	cr_assert_eq(p.fourcc, YUYV);
	cr_assert_eq(p.width, 320);
}

Test(v4l2_choice, nothing_usable, .timeout = 5)
{
	const struct source_v4l2_offer o[] = {{H264, 640, 480}, {NV12, 640, 480}};
	pick(o, 2, -1);
	pick(o, 0, -1);
}

Test(sources, lookup_by_spec, .timeout = 5)
{
	const char *arg = NULL;
	cr_assert_eq(source_lookup("sim", &arg), &source_sim_ops);
	cr_assert_str_eq(arg, "");
	cr_assert_eq(source_lookup("v4l2:/dev/video0", &arg), &source_v4l2_ops);
	cr_assert_str_eq(arg, "/dev/video0");
	cr_assert_null(source_lookup("v4l2", &arg));
	cr_assert_null(source_lookup("v4l2:", &arg));
	cr_assert_null(source_lookup("sim:1", &arg));
	cr_assert_null(source_lookup("simulator", &arg));
	cr_assert_null(source_lookup("", &arg));
	cr_assert_null(source_lookup(NULL, &arg));
}

Test(sources, v4l2_open_fails_cleanly_without_a_camera, .timeout = 5)
{
	void *state = (void *)0x1;
	struct source_info info;
	cr_assert_eq(source_v4l2_ops.open("/nonexistent/video9", 640, 480, 5, &state, &info),
		     -ENOENT);
	cr_assert_eq(state, (void *)0x1, "state must be untouched on failure");
	/* A character device that is not V4L2. */
	int rc = source_v4l2_ops.open("/dev/null", 640, 480, 5, &state, &info);
	cr_assert_lt(rc, 0);
	cr_assert_eq(state, (void *)0x1);
}

Test(sources, sim_delivers_i420_frames_of_the_size, .timeout = 10)
{
	void *state = NULL;
	struct source_info info;
	cr_assert_eq(source_sim_ops.open("", 320, 240, 7, &state, &info), 0);
	cr_assert_eq(info.width, 320);
	cr_assert_eq(info.height, 240);
	cr_assert_eq(info.fps, 7);
	cr_assert_eq(info.format, SOURCE_I420);
	cr_assert_eq(source_sim_ops.fd(state), -1, "the sim is timer-driven");
	struct source_frame f;
	cr_assert_eq(source_sim_ops.grab(state, 1795600000000LL, &f), 0);
	cr_assert_eq(f.format, SOURCE_I420);
	cr_assert_eq(f.i420->width, 320);
	cr_assert_eq(f.i420->height, 240);
	source_sim_ops.release(state);
	source_sim_ops.close(state);
}
