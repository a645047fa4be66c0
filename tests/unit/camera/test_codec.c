#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "codec.h"
#include "scene.h"

/* Decode with a separate libturbojpeg instance, as a viewer would. */
static unsigned char *decode_rgb(const uint8_t *jpeg, size_t len, int *w, int *h)
{
	tjhandle d = tjInitDecompress();
	int sub, cs;
	cr_assert_not_null(d);
	cr_assert_eq(tjDecompressHeader3(d, jpeg, (unsigned long)len, w, h, &sub, &cs), 0,
		     "not a JPEG: %s", tjGetErrorStr2(d));
	unsigned char *rgb = malloc((size_t)*w * (size_t)*h * 3);
	cr_assert_eq(tjDecompress2(d, jpeg, (unsigned long)len, rgb, *w, 0, *h, TJPF_RGB, 0), 0,
		     "decode: %s", tjGetErrorStr2(d));
	tjDestroy(d);
	return rgb;
}

static void check_sim_size(int width, int height)
{
	struct scene *s = scene_new(width, height);
	struct codec *c = codec_new(width, height, 75);
	cr_assert_not_null(s);
	cr_assert_not_null(c);
	const uint8_t *jpeg;
	size_t len;
	cr_assert_eq(codec_encode_i420(c, scene_render(s, 3000, 12, 34, 56), &jpeg, &len), 0);
	cr_assert_gt(len, 1000);
	cr_assert_lt(len, codec_max_jpeg(width, height));
	cr_assert_eq(jpeg[0], 0xFF);
	cr_assert_eq(jpeg[1], 0xD8);
	int w, h;
	unsigned char *rgb = decode_rgb(jpeg, len, &w, &h);
	cr_assert_eq(w, width);
	cr_assert_eq(h, height);
	free(rgb);
	codec_free(c);
	scene_free(s);
}

Test(codec, sim_jpeg_decodes_to_the_configured_size, .timeout = 20)
{
	check_sim_size(640, 480);
	check_sim_size(320, 240);
	check_sim_size(1280, 720);
	check_sim_size(34, 32);
}

Test(codec, encoding_reuses_one_buffer, .timeout = 20)
{
	struct scene *s = scene_new(640, 480);
	struct codec *c = codec_new(640, 480, 75);
	const uint8_t *first, *again;
	size_t len1, len2;
	cr_assert_eq(codec_encode_i420(c, scene_render(s, 0, 1, 2, 3), &first, &len1), 0);
	cr_assert_eq(codec_encode_i420(c, scene_render(s, 500, 1, 2, 4), &again, &len2), 0);
	cr_assert_eq(first, again, "the output buffer must be reused, not reallocated");
	codec_free(c);
	scene_free(s);
}

Test(codec, refuses_a_frame_of_another_size, .timeout = 10)
{
	struct scene *s = scene_new(320, 240);
	struct codec *c = codec_new(640, 480, 75);
	const uint8_t *jpeg;
	size_t len;
	cr_assert_eq(codec_encode_i420(c, scene_render(s, 0, 0, 0, 0), &jpeg, &len), -1);
	codec_free(c);
	scene_free(s);
}

/* YUYV for a solid RGB colour (JFIF full-range BT.601). */
static void yuyv_of(uint8_t r, uint8_t g, uint8_t b, uint8_t out[3])
{
	double y = 0.299 * r + 0.587 * g + 0.114 * b;
	double u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
	double v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
	out[0] = (uint8_t)(y + 0.5);
	out[1] = (uint8_t)(u + 0.5);
	out[2] = (uint8_t)(v + 0.5);
}

Test(codec, yuyv_to_i420_exact, .timeout = 10)
{
	/* 4x2: Y0 U Y1 V pairs; the chroma of the two rows is averaged. */
	const uint8_t yuyv[] = {10, 100, 11, 200, 12, 50, 13, 60, 20, 102, 21, 202, 22, 70, 23, 80};
	uint8_t y[8], u[2], v[2];
	struct codec_i420 img = {.plane = {y, u, v}, .stride = {4, 2, 2}, .width = 4, .height = 2};
	codec_yuyv_to_i420(yuyv, 4, 2, 8, &img);
	const uint8_t want_y[] = {10, 11, 12, 13, 20, 21, 22, 23};
	cr_assert_arr_eq(y, want_y, 8);
	cr_assert_eq(u[0], 101);
	cr_assert_eq(v[0], 201);
	cr_assert_eq(u[1], 60);
	cr_assert_eq(v[1], 70);
}

Test(codec, yuyv_frame_encodes_with_the_right_size_and_colours, .timeout = 20)
{
	const int w = 640, h = 480, stride = w * 2 + 64; /* a driver's padded rows */
	uint8_t *yuyv = calloc((size_t)stride * h, 1);
	uint8_t red[3], blue[3], green[3];
	yuyv_of(220, 30, 30, red);
	yuyv_of(30, 30, 220, blue);
	yuyv_of(40, 200, 60, green);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x += 2) {
			const uint8_t *c = y >= h / 2 ? green : x < w / 2 ? red : blue;
			uint8_t *p = yuyv + (size_t)y * stride + 2 * x;
			p[0] = c[0];
			p[1] = c[1];
			p[2] = c[0];
			p[3] = c[2];
		}
	struct codec *c = codec_new(w, h, 85);
	const uint8_t *jpeg;
	size_t len;
	const struct codec_i420 *img;
	cr_assert_eq(codec_encode_yuyv(c, yuyv, (size_t)stride * h, stride, &jpeg, &len, &img), 0);
	cr_assert_eq(img->width, w);
	cr_assert_eq(img->plane[0][0], red[0]);
	int dw, dh;
	unsigned char *rgb = decode_rgb(jpeg, len, &dw, &dh);
	cr_assert_eq(dw, w);
	cr_assert_eq(dh, h);
	struct {
		int x, y;
		int r, g, b;
	} probes[] = {{100, 100, 220, 30, 30}, {500, 100, 30, 30, 220}, {320, 400, 40, 200, 60}};
	for (size_t i = 0; i < 3; i++) {
		const unsigned char *px = rgb + ((size_t)probes[i].y * w + probes[i].x) * 3;
		cr_assert(abs(px[0] - probes[i].r) < 16 && abs(px[1] - probes[i].g) < 16 &&
			      abs(px[2] - probes[i].b) < 16,
			  "probe %zu: got %d,%d,%d want %d,%d,%d", i, px[0], px[1], px[2],
			  probes[i].r, probes[i].g, probes[i].b);
	}
	free(rgb);
	codec_free(c);
	free(yuyv);
}

Test(codec, yuyv_frame_too_short_is_refused, .timeout = 10)
{
	struct codec *c = codec_new(64, 48, 75);
	uint8_t buf[64 * 2 * 10] = {0};
	const uint8_t *jpeg;
	size_t len;
	cr_assert_eq(codec_encode_yuyv(c, buf, sizeof(buf), 128, &jpeg, &len, NULL), -1);
	codec_free(c);
}

static int block_mean(const struct codec_i420 *img, int bx, int by)
{
	int sum = 0;
	for (int y = by * 8; y < by * 8 + 8; y++)
		for (int x = bx * 8; x < bx * 8 + 8; x++)
			sum += img->plane[0][y * img->stride[0] + x];
	return sum / 64;
}

Test(codec, gray_eighth_is_an_eighth_and_keeps_brightness, .timeout = 20)
{
	struct scene *s = scene_new(640, 480);
	struct codec *c = codec_new(640, 480, 75);
	const uint8_t *jpeg;
	size_t len;
	const struct codec_i420 *img = scene_render(s, 12000, 0, 0, 0);
	cr_assert_eq(codec_encode_i420(c, img, &jpeg, &len), 0);
	/* Copy: the gray decode shares no buffer with the JPEG, but be plain. */
	uint8_t *copy = malloc(len);
	memcpy(copy, jpeg, len);
	const uint8_t *gray;
	int gw, gh;
	cr_assert_eq(codec_gray_eighth(c, copy, len, &gray, &gw, &gh), 0);
	cr_assert_eq(gw, 80);
	cr_assert_eq(gh, 60);
	/* The window (top right) is brighter than the floor (bottom left). */
	int window = gray[15 * 80 + 55], floor_px = gray[57 * 80 + 5];
	int want_window = block_mean(img, 55, 15), want_floor = block_mean(img, 5, 57);
	cr_assert_gt(want_window, want_floor + 40);
	cr_assert(abs(window - want_window) < 20, "window %d want %d", window, want_window);
	cr_assert(abs(floor_px - want_floor) < 20, "floor %d want %d", floor_px, want_floor);
	cr_assert_eq(codec_gray_eighth(c, (const uint8_t *)"not a jpeg", 10, &gray, &gw, &gh), -1);
	free(copy);
	codec_free(c);
	scene_free(s);
}

/* Remove every DHT segment, as UVC cameras send MJPEG. */
static size_t strip_dht(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t pos = 2, o = 2;
	memcpy(out, in, 2);
	while (pos + 4 <= len) {
		uint8_t marker = in[pos + 1];
		size_t seg = ((size_t)in[pos + 2] << 8) | in[pos + 3];
		if (marker == 0xDA)
			break;
		if (marker != 0xC4) {
			memcpy(out + o, in + pos, 2 + seg);
			o += 2 + seg;
		}
		pos += 2 + seg;
	}
	memcpy(out + o, in + pos, len - pos);
	return o + (len - pos);
}

Test(codec, mjpeg_without_huffman_tables_gets_the_standard_ones, .timeout = 20)
{
	struct scene *s = scene_new(320, 240);
	struct codec *c = codec_new(320, 240, 75);
	const uint8_t *jpeg;
	size_t len;
	cr_assert_eq(codec_encode_i420(c, scene_render(s, 0, 1, 2, 3), &jpeg, &len), 0);
	uint8_t *orig = malloc(len), *bare = malloc(len), *fixed = malloc(len + 2048);
	memcpy(orig, jpeg, len);
	size_t bare_len = strip_dht(orig, len, bare);
	cr_assert_lt(bare_len, len);

	/* Already has tables: use as it is. */
	cr_assert_eq(codec_mjpeg_fix_dht(c, orig, len, fixed, len + 2048), 0);
	long fixed_len = codec_mjpeg_fix_dht(c, bare, bare_len, fixed, len + 2048);
	cr_assert_gt(fixed_len, (long)bare_len);
	/* Our encoder used the standard tables, so the repaired frame is the original. */
	cr_assert_eq((size_t)fixed_len, len);
	cr_assert_arr_eq(fixed, orig, len);

	/* The standard luminance DC table (JPEG Annex K.3): counts 0 1 5 1 1 1 1 1 1. */
	const uint8_t *dht = NULL;
	for (size_t pos = 2; pos + 4 <= (size_t)fixed_len && !dht;) {
		if (fixed[pos + 1] == 0xC4)
			dht = fixed + pos + 1;
		pos += 2 + (((size_t)fixed[pos + 2] << 8) | fixed[pos + 3]);
	}
	cr_assert_not_null(dht);
	const uint8_t bits_dc_lum[] = {0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
	cr_assert_arr_eq(dht + 3, bits_dc_lum, sizeof(bits_dc_lum));

	cr_assert_eq(codec_mjpeg_fix_dht(c, (const uint8_t *)"GIF89a", 6, fixed, 100), -1);
	cr_assert_eq(codec_mjpeg_fix_dht(c, bare, bare_len, fixed, bare_len), -1, "too small");
	free(orig);
	free(bare);
	free(fixed);
	codec_free(c);
	scene_free(s);
}

/* ---- the motion thumbnail ---- */

/* A JPEG of the sim at t_ms, copied out of the encoder's buffer. */
static uint8_t *sim_jpeg(int width, int height, int64_t t_ms, size_t *len)
{
	struct scene *s = scene_new(width, height);
	struct codec *c = codec_new(width, height, 75);
	cr_assert_not_null(s);
	cr_assert_not_null(c);
	const uint8_t *jpeg;
	cr_assert_eq(codec_encode_i420(c, scene_render(s, t_ms, 12, 34, 56), &jpeg, len), 0);
	uint8_t *copy = malloc(*len);
	memcpy(copy, jpeg, *len);
	codec_free(c);
	scene_free(s);
	return copy;
}

/* What every thumbnail must be: a JPEG of at most max_bytes, of the size
 * it says, decodable by another libturbojpeg instance. */
static void assert_thumb(const struct codec_thumb *t, size_t max_bytes, int width, int height)
{
	cr_assert_not_null(t->jpeg);
	cr_assert_leq(t->len, max_bytes, "%zu bytes", t->len);
	cr_assert_eq(t->jpeg[0], 0xFF);
	cr_assert_eq(t->jpeg[1], 0xD8);
	cr_assert_eq(t->jpeg[t->len - 2], 0xFF);
	cr_assert_eq(t->jpeg[t->len - 1], 0xD9);
	cr_assert_eq(t->width, width);
	cr_assert_eq(t->height, height);
	int w, h;
	unsigned char *rgb = decode_rgb(t->jpeg, t->len, &w, &h);
	cr_assert_eq(w, width);
	cr_assert_eq(h, height);
	free(rgb);
}

/* 640x480 decodes at 1/2 and fits at the first quality; the picture is the
 * frame's (the window top right stays brighter than the floor). */
Test(codec, thumbnail_of_a_sim_frame_is_a_small_jpeg_of_it, .timeout = 20)
{
	size_t len;
	uint8_t *jpeg = sim_jpeg(640, 480, 12000, &len);
	struct codec *c = codec_new(640, 480, 75);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 10240, &t), 0);
	assert_thumb(&t, 10240, 320, 240);
	cr_assert_eq(t.quality, CODEC_THUMB_QUALITY);
	cr_assert_eq(t.encodes, 1);
	cr_assert_lt(t.len, len);
	int w, h;
	unsigned char *rgb = decode_rgb(t.jpeg, t.len, &w, &h);
	const unsigned char *window = rgb + ((size_t)60 * w + 240) * 3;
	const unsigned char *floor_px = rgb + ((size_t)230 * w + 20) * 3;
	cr_assert_gt(window[0] + window[1] + window[2],
		     floor_px[0] + floor_px[1] + floor_px[2] + 120,
		     "window %d,%d,%d floor %d,%d,%d", window[0], window[1], window[2], floor_px[0],
		     floor_px[1], floor_px[2]);
	free(rgb);
	/* The same again: the buffers are reused. */
	const uint8_t *first = t.jpeg;
	cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 10240, &t), 0);
	cr_assert_eq(t.jpeg, first);
	codec_free(c);
	free(jpeg);
}

/* The scaling factor is the largest n/8 that fits the width: 1/4 for 1280
 * (to 320), 3/8 for 800 (to 300). A frame already narrow enough and under
 * the limit is its own thumbnail, not encoded again. */
Test(codec, thumbnail_scale_follows_the_frame_size, .timeout = 30)
{
	const struct {
		int w, h, tw, th;
		bool itself;
	} cases[] = {{64, 48, 64, 48, true},
		     {320, 240, 320, 240, true},
		     {1280, 720, 320, 180, false},
		     {800, 600, 300, 225, false},
		     {34, 32, 34, 32, true}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		uint8_t *jpeg = sim_jpeg(cases[i].w, cases[i].h, 3000, &len);
		struct codec *c = codec_new(cases[i].w, cases[i].h, 75);
		struct codec_thumb t;
		cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 10240, &t), 0, "%dx%d", cases[i].w,
			     cases[i].h);
		assert_thumb(&t, 10240, cases[i].tw, cases[i].th);
		if (cases[i].itself) {
			cr_assert_eq(t.jpeg, jpeg, "%dx%d: the frame itself", cases[i].w,
				     cases[i].h);
			cr_assert_eq(t.len, len);
			cr_assert_eq(t.encodes, 0);
			cr_assert_eq(t.quality, 0);
		} else {
			cr_assert_neq(t.jpeg, jpeg);
			cr_assert_eq(t.encodes, 1);
			cr_assert_eq(t.quality, CODEC_THUMB_QUALITY);
		}
		codec_free(c);
		free(jpeg);
	}
}

/* Narrow enough but over the limit: encoded again at full size, lower. */
Test(codec, thumbnail_of_a_narrow_frame_over_the_limit_is_encoded_again, .timeout = 20)
{
	size_t len;
	uint8_t *jpeg = sim_jpeg(320, 240, 3000, &len);
	cr_assert_gt(len, 6000);
	struct codec *c = codec_new(320, 240, 75);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 6000, &t), 0);
	assert_thumb(&t, 6000, 320, 240);
	cr_assert_neq(t.jpeg, jpeg);
	cr_assert_gt(t.encodes, 1, "%zu bytes at the first quality would have passed", t.len);
	cr_assert_lt(t.quality, CODEC_THUMB_QUALITY);
	codec_free(c);
	free(jpeg);
}

/* 2592 wide is still 324 at 1/8, the smallest factor: halved to 162. */
Test(codec, thumbnail_of_a_frame_too_wide_for_an_eighth_is_halved, .timeout = 60)
{
	size_t len;
	uint8_t *jpeg = sim_jpeg(2592, 1944, 3000, &len);
	struct codec *c = codec_new(640, 480, 75); /* any codec: the JPEG says its size */
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 10240, &t), 0);
	assert_thumb(&t, 10240, 162, 121);
	codec_free(c);
	free(jpeg);
}

/* Grain on every pixel: too big at the first quality, so the quality
 * steps down (and the picture halves if it must), never over the limit. */
Test(codec, thumbnail_of_a_detailed_frame_steps_down_to_fit, .timeout = 20)
{
	struct codec_i420 img;
	uint8_t *buf = malloc(640 * 480 + 2 * 320 * 240);
	img = (struct codec_i420){.plane = {buf, buf + 640 * 480, buf + 640 * 480 + 320 * 240},
				  .stride = {640, 320, 320},
				  .width = 640,
				  .height = 480};
	uint32_t rng = 7;
	for (size_t k = 0; k < 640 * 480 + 2 * 320 * 240; k++) {
		rng = rng * 1103515245u + 12345u;
		buf[k] = (uint8_t)(rng >> 16);
	}
	struct codec *c = codec_new(640, 480, 90);
	const uint8_t *jpeg;
	size_t len;
	cr_assert_eq(codec_encode_i420(c, &img, &jpeg, &len), 0);
	cr_assert_gt(len, 100000, "noise does not compress");
	uint8_t *copy = malloc(len);
	memcpy(copy, jpeg, len);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail(c, copy, len, 320, 10240, &t), 0);
	cr_assert_gt(t.encodes, 1, "it fit at once: %zu bytes", t.len);
	cr_assert(t.quality < CODEC_THUMB_QUALITY || t.width < 320, "q %d, %dx%d", t.quality,
		  t.width, t.height);
	assert_thumb(&t, 10240, t.width, t.height);
	cr_assert_leq(t.width, 320);
	cr_assert_eq(t.width * 3, t.height * 4, "the aspect kept: %dx%d", t.width, t.height);
	cr_log_info("noise: %zu bytes, %dx%d at quality %d after %d encodes", t.len, t.width,
		    t.height, t.quality, t.encodes);
	free(copy);
	codec_free(c);
	free(buf);
}

/* A limit no picture meets: every quality at every size down to
 * CODEC_THUMB_MIN_SIDE tried, then -E2BIG with the smallest tried. */
Test(codec, a_thumbnail_that_cannot_fit_is_refused, .timeout = 20)
{
	size_t len;
	uint8_t *jpeg = sim_jpeg(640, 480, 12000, &len);
	struct codec *c = codec_new(640, 480, 75);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 200, &t), -E2BIG);
	cr_assert_null(t.jpeg);
	cr_assert_gt(t.len, 200);
	cr_assert_eq(t.quality, CODEC_THUMB_QUALITY_MIN);
	/* 320x240, 160x120, 80x60, 40x30, 20x15 is below the minimum side: 4 sizes. */
	cr_assert_eq(t.width, 40);
	cr_assert_eq(t.height, 30);
	int per_size =
	    (CODEC_THUMB_QUALITY - CODEC_THUMB_QUALITY_MIN) / CODEC_THUMB_QUALITY_STEP + 1;
	cr_assert_eq(t.encodes, 4 * per_size);
	/* It still works for a limit that can be met. */
	cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 10240, &t), 0);
	assert_thumb(&t, 10240, 320, 240);
	codec_free(c);
	free(jpeg);
}

Test(codec, a_thumbnail_of_what_is_not_a_jpeg_is_refused, .timeout = 10)
{
	struct codec *c = codec_new(64, 48, 75);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail(c, (const uint8_t *)"not a jpeg", 10, 320, 10240, &t),
		     -EINVAL);
	cr_assert_null(t.jpeg);
	cr_assert_eq(t.len, 0);
	cr_assert_eq(codec_thumbnail(c, NULL, 0, 320, 10240, &t), -EINVAL);
	size_t len;
	uint8_t *jpeg = sim_jpeg(64, 48, 0, &len);
	cr_assert_eq(codec_thumbnail(c, jpeg, len, 0, 10240, &t), -EINVAL, "no width to fit");
	/* Cut short: the header reads, the data does not (a frame small enough
	 * to be its own thumbnail is decoded all the same). */
	cr_assert_eq(codec_thumbnail(c, jpeg, 200, 320, 10240, &t), -EINVAL);
	size_t big_len;
	uint8_t *big = sim_jpeg(640, 480, 0, &big_len);
	cr_assert_eq(codec_thumbnail(c, big, big_len / 2, 320, 10240, &t), -EINVAL);
	free(big);
	free(jpeg);
	codec_free(c);
}

Test(codec, rgb_halve_averages_2x2_boxes_and_drops_an_odd_edge, .timeout = 5)
{
	/* 5x3: the last column and row go; each result pixel is its box's mean. */
	uint8_t rgb[5 * 3 * 3];
	for (int y = 0; y < 3; y++)
		for (int x = 0; x < 5; x++)
			for (int k = 0; k < 3; k++)
				rgb[(y * 5 + x) * 3 + k] = (uint8_t)(10 * y + 2 * x + 100 * k);
	codec_rgb_halve(rgb, 5, 3);
	/* Box (0..1, 0..1): mean of 0,2,10,12 = 6 (+100 k); box (2..3): 10. */
	const uint8_t want[] = {6, 106, 206, 10, 110, 210};
	cr_assert_arr_eq(rgb, want, sizeof(want));
	uint8_t round[4 * 3] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	codec_rgb_halve(round, 2, 2);
	cr_assert_eq(round[0], 1, "(0+1+1+1+2)/4 rounds to 1");
}

/* libturbojpeg 2.1 leaves its decompressor mid-header after a frame whose
 * header is cut short, and then reports success for the next one without
 * its size: the codec starts a fresh one, so the next good frame is read
 * right, for motion and for the thumbnail alike. */
Test(codec, a_damaged_frame_does_not_spoil_the_next, .timeout = 20)
{
	size_t len;
	uint8_t *jpeg = sim_jpeg(640, 480, 12000, &len);
	struct codec *c = codec_new(640, 480, 75);
	const uint8_t *gray;
	int gw = 0, gh = 0;
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(codec_gray_eighth(c, jpeg, 200, &gray, &gw, &gh), -1, "no SOS yet");
		cr_assert_eq(codec_gray_eighth(c, jpeg, len, &gray, &gw, &gh), 0);
		cr_assert_eq(gw, 80);
		cr_assert_eq(gh, 60);
		struct codec_thumb t;
		cr_assert_eq(codec_thumbnail(c, jpeg, 200, 320, 10240, &t), -EINVAL);
		cr_assert_eq(codec_thumbnail(c, jpeg, len, 320, 10240, &t), 0);
		assert_thumb(&t, 10240, 320, 240);
	}
	codec_free(c);
	free(jpeg);
}

/* ---- the thumbnail of a frame we encode: from its planes ---- */

Test(codec, thumbnail_from_i420_planes_is_a_small_jpeg_of_them, .timeout = 20)
{
	struct scene *s = scene_new(640, 480);
	struct codec *c = codec_new(640, 480, 75);
	const struct codec_i420 *img = scene_render(s, 12000, 0, 0, 0);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail_i420(c, img, 320, 10240, &t), 0);
	assert_thumb(&t, 10240, 320, 240);
	cr_assert_eq(t.encodes, 1);
	cr_assert_eq(t.quality, CODEC_THUMB_QUALITY);
	int w, h;
	unsigned char *rgb = decode_rgb(t.jpeg, t.len, &w, &h);
	/* The same picture: a 16x16 block of the thumbnail is an 8x8 block
	 * mean of the source at half the coordinates (gray, in the window and
	 * on the floor). */
	const unsigned char *window = rgb + ((size_t)60 * w + 240) * 3;
	const unsigned char *floor_px = rgb + ((size_t)230 * w + 20) * 3;
	int want_window = block_mean(img, 60, 15), want_floor = block_mean(img, 5, 57);
	int got_window = (77 * window[0] + 150 * window[1] + 29 * window[2]) >> 8;
	int got_floor = (77 * floor_px[0] + 150 * floor_px[1] + 29 * floor_px[2]) >> 8;
	cr_assert(abs(got_window - want_window) < 20, "window %d want %d", got_window, want_window);
	cr_assert(abs(got_floor - want_floor) < 20, "floor %d want %d", got_floor, want_floor);
	free(rgb);
	/* Only read: the frame is still the scene's. */
	const struct codec_i420 *again = scene_render(s, 12000, 0, 0, 0);
	cr_assert_eq(again, img);
	codec_free(c);
	scene_free(s);
}

/* 1284x962 halves to 642x481, 321x241, 161x121: odd sides, whose chroma
 * planes (81x61) must still be the ones libturbojpeg expects. */
Test(codec, thumbnail_from_i420_with_odd_halves, .timeout = 30)
{
	struct scene *s = scene_new(1284, 962);
	struct codec *c = codec_new(1284, 962, 75);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail_i420(c, scene_render(s, 12000, 0, 0, 0), 320, 10240, &t), 0);
	assert_thumb(&t, 10240, 161, 121);
	codec_free(c);
	scene_free(s);
}

Test(codec, thumbnail_from_noisy_i420_steps_down_and_one_that_cannot_fit_is_refused, .timeout = 20)
{
	uint8_t *buf = malloc(640 * 480 + 2 * 320 * 240);
	struct codec_i420 img = {.plane = {buf, buf + 640 * 480, buf + 640 * 480 + 320 * 240},
				 .stride = {640, 320, 320},
				 .width = 640,
				 .height = 480};
	uint32_t rng = 7;
	for (size_t k = 0; k < 640 * 480 + 2 * 320 * 240; k++) {
		rng = rng * 1103515245u + 12345u;
		buf[k] = (uint8_t)(rng >> 16);
	}
	struct codec *c = codec_new(640, 480, 75);
	struct codec_thumb t;
	cr_assert_eq(codec_thumbnail_i420(c, &img, 320, 10240, &t), 0);
	cr_assert_gt(t.encodes, 1, "it fit at once: %zu bytes", t.len);
	assert_thumb(&t, 10240, t.width, t.height);
	cr_assert_leq(t.width, 320);
	cr_assert_eq(codec_thumbnail_i420(c, &img, 320, 200, &t), -E2BIG);
	cr_assert_null(t.jpeg);
	cr_assert_gt(t.len, 200);
	cr_assert_eq(t.width, 40);
	cr_assert_eq(t.height, 30);
	cr_assert_eq(codec_thumbnail_i420(c, NULL, 320, 10240, &t), -EINVAL);
	cr_assert_eq(codec_thumbnail_i420(c, &img, 0, 10240, &t), -EINVAL);
	codec_free(c);
	free(buf);
}

Test(codec, plane_halve_keeps_an_odd_edge_and_works_in_place, .timeout = 5)
{
	/* 3x3 at stride 4 (the 4th column is not the picture's). */
	const uint8_t in[] = {0, 4, 8, 99, 12, 16, 20, 99, 40, 44, 48, 99};
	uint8_t out[4];
	codec_plane_halve(in, 3, 3, 4, out);
	/* (0+4+12+16)/4 = 8; the right edge (8,8,20,20) = 14; the bottom
	 * (40,44,40,44) = 42; the corner 48. */
	const uint8_t want[] = {8, 14, 42, 48};
	cr_assert_arr_eq(out, want, 4);
	uint8_t inplace[] = {0, 4, 8, 99, 12, 16, 20, 99, 40, 44, 48, 99};
	codec_plane_halve(inplace, 3, 3, 4, inplace);
	cr_assert_arr_eq(inplace, want, 4);
}
