/*
 * The V4L2 source against a fake device: the system calls (open, ioctl,
 * mmap, ...) are answered by a small model of a UVC driver, so negotiation,
 * buffer handling, damaged buffers, an unplugged camera and every cleanup
 * path run without hardware.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <turbojpeg.h>

#include "camera.h"
#include "codec.h"
#include "scene.h"
#include "source.h"

#define FAKE_FD	 42
#define NBUF_MAX 8

struct fake_size {
	uint32_t fourcc;
	int w, h;
};

static struct fake {
	struct fake_size offers[8];
	int n_offers;
	bool no_streaming, fail_reqbufs;
	uint32_t fmt;
	int w, h;
	int fps_num, fps_den;
	unsigned n_buf;
	uint8_t *mem[NBUF_MAX];
	size_t len;
	bool queued[NBUF_MAX];
	int ready[NBUF_MAX], n_ready;
	uint32_t bytes[NBUF_MAX], flags[NBUF_MAX];
	int dq_errno;
	int opens, closes, mmaps, munmaps, streamons, streamoffs, qbufs;
} fk;

static int fake_open(const char *path, int flags)
{
	(void)flags;
	if (strcmp(path, "/fake/video0") != 0) {
		errno = ENOENT;
		return -1;
	}
	fk.opens++;
	return FAKE_FD;
}

static int fake_close(int fd)
{
	cr_assert_eq(fd, FAKE_FD);
	fk.closes++;
	return 0;
}

static bool offered(uint32_t fourcc)
{
	for (int i = 0; i < fk.n_offers; i++)
		if (fk.offers[i].fourcc == fourcc)
			return true;
	return false;
}

static int fail_with(int err)
{
	errno = err;
	return -1;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	cr_assert_eq(fd, FAKE_FD);
	switch (req) {
	case VIDIOC_QUERYCAP: {
		struct v4l2_capability *c = arg;
		memset(c, 0, sizeof(*c));
		strcpy((char *)c->card, "Fake UVC");
		c->device_caps =
		    V4L2_CAP_VIDEO_CAPTURE | (fk.no_streaming ? 0 : V4L2_CAP_STREAMING);
		c->capabilities = c->device_caps | V4L2_CAP_DEVICE_CAPS;
		return 0;
	}
	case VIDIOC_ENUM_FMT: {
		struct v4l2_fmtdesc *d = arg;
		uint32_t seen[8];
		int n = 0;
		for (int i = 0; i < fk.n_offers; i++) {
			bool dup = false;
			for (int k = 0; k < n; k++)
				dup |= seen[k] == fk.offers[i].fourcc;
			if (!dup)
				seen[n++] = fk.offers[i].fourcc;
		}
		if (d->index >= (unsigned)n)
			return fail_with(EINVAL);
		d->pixelformat = seen[d->index];
		return 0;
	}
	case VIDIOC_ENUM_FRAMESIZES: {
		struct v4l2_frmsizeenum *f = arg;
		unsigned k = 0;
		for (int i = 0; i < fk.n_offers; i++) {
			if (fk.offers[i].fourcc != f->pixel_format)
				continue;
			if (k++ == f->index) {
				f->type = V4L2_FRMSIZE_TYPE_DISCRETE;
				f->discrete.width = (uint32_t)fk.offers[i].w;
				f->discrete.height = (uint32_t)fk.offers[i].h;
				return 0;
			}
		}
		return fail_with(EINVAL);
	}
	case VIDIOC_S_FMT: {
		struct v4l2_format *f = arg;
		if (!offered(f->fmt.pix.pixelformat))
			f->fmt.pix.pixelformat = fk.offers[0].fourcc; /* drivers substitute */
		fk.fmt = f->fmt.pix.pixelformat;
		fk.w = (int)f->fmt.pix.width;
		fk.h = (int)f->fmt.pix.height;
		bool yuyv = fk.fmt == V4L2_PIX_FMT_YUYV;
		f->fmt.pix.bytesperline = yuyv ? (uint32_t)fk.w * 2 : 0;
		f->fmt.pix.sizeimage = (uint32_t)(fk.w * fk.h * 2);
		return 0;
	}
	case VIDIOC_S_PARM: {
		struct v4l2_streamparm *p = arg;
		fk.fps_num = (int)p->parm.capture.timeperframe.numerator;
		fk.fps_den = (int)p->parm.capture.timeperframe.denominator;
		return 0;
	}
	case VIDIOC_REQBUFS: {
		struct v4l2_requestbuffers *r = arg;
		if (fk.fail_reqbufs)
			return fail_with(ENOMEM);
		if (r->count > NBUF_MAX)
			r->count = NBUF_MAX;
		fk.n_buf = r->count;
		fk.len = (size_t)(fk.w * fk.h * 2);
		for (unsigned i = 0; i < fk.n_buf; i++)
			fk.mem[i] = calloc(1, fk.len);
		return 0;
	}
	case VIDIOC_QUERYBUF: {
		struct v4l2_buffer *b = arg;
		if (b->index >= fk.n_buf)
			return fail_with(EINVAL);
		b->length = (uint32_t)fk.len;
		b->m.offset = b->index * 4096;
		return 0;
	}
	case VIDIOC_QBUF: {
		struct v4l2_buffer *b = arg;
		if (b->index >= fk.n_buf || fk.queued[b->index])
			return fail_with(EINVAL);
		fk.queued[b->index] = true;
		fk.qbufs++;
		return 0;
	}
	case VIDIOC_DQBUF: {
		struct v4l2_buffer *b = arg;
		if (fk.dq_errno)
			return fail_with(fk.dq_errno);
		if (fk.n_ready == 0)
			return fail_with(EAGAIN);
		int i = fk.ready[0];
		memmove(fk.ready, fk.ready + 1, sizeof(int) * (size_t)--fk.n_ready);
		b->index = (uint32_t)i;
		b->bytesused = fk.bytes[i];
		b->flags = fk.flags[i];
		return 0;
	}
	case VIDIOC_STREAMON:
		fk.streamons++;
		return 0;
	case VIDIOC_STREAMOFF:
		fk.streamoffs++;
		return 0;
	default:
		return fail_with(ENOTTY);
	}
}

static void *fake_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	(void)addr;
	(void)prot;
	(void)flags;
	cr_assert_eq(fd, FAKE_FD);
	size_t i = (size_t)offset / 4096;
	cr_assert_lt(i, fk.n_buf);
	cr_assert_eq(len, fk.len);
	fk.mmaps++;
	return fk.mem[i];
}

static int fake_munmap(void *addr, size_t len)
{
	(void)len;
	for (unsigned i = 0; i < fk.n_buf; i++)
		if (fk.mem[i] == addr) {
			free(fk.mem[i]);
			fk.mem[i] = NULL;
		}
	fk.munmaps++;
	return 0;
}

static const struct source_v4l2_sys fake_sys = {
    .open = fake_open,
    .close = fake_close,
    .ioctl = fake_ioctl,
    .mmap = fake_mmap,
    .munmap = fake_munmap,
};

/* The driver fills the first queued buffer with a frame. */
static void capture(const void *data, size_t len, uint32_t flags)
{
	for (unsigned i = 0; i < fk.n_buf; i++) {
		if (!fk.queued[i])
			continue;
		cr_assert_leq(len, fk.len);
		memcpy(fk.mem[i], data, len);
		fk.queued[i] = false;
		fk.bytes[i] = (uint32_t)len;
		fk.flags[i] = flags;
		fk.ready[fk.n_ready++] = (int)i;
		return;
	}
	cr_assert_fail("no queued buffer");
}

static void reset(void)
{
	memset(&fk, 0, sizeof(fk));
}

static void offer(uint32_t fourcc, int w, int h)
{
	fk.offers[fk.n_offers++] = (struct fake_size){fourcc, w, h};
}

/* A camera-made JPEG: the sim encoded, with its Huffman tables removed as
 * UVC cameras send them. */
static size_t uvc_jpeg(uint8_t *out, size_t cap)
{
	struct scene *s = scene_new(640, 480);
	struct codec *c = codec_new(640, 480, 80);
	const uint8_t *jpeg;
	size_t len;
	cr_assert_eq(codec_encode_i420(c, scene_render(s, 2000, 1, 2, 3), &jpeg, &len), 0);
	cr_assert_leq(len, cap);
	size_t pos = 2, o = 2;
	memcpy(out, jpeg, 2);
	while (jpeg[pos + 1] != 0xDA) {
		size_t seg = ((size_t)jpeg[pos + 2] << 8) | jpeg[pos + 3];
		if (jpeg[pos + 1] != 0xC4) {
			memcpy(out + o, jpeg + pos, 2 + seg);
			o += 2 + seg;
		}
		pos += 2 + seg;
	}
	memcpy(out + o, jpeg + pos, len - pos);
	o += len - pos;
	codec_free(c);
	scene_free(s);
	return o;
}

TestSuite(v4l2, .init = reset, .timeout = 20);

Test(v4l2, negotiates_mjpeg_streams_and_cleans_up)
{
	offer(V4L2_PIX_FMT_YUYV, 640, 480);
	offer(V4L2_PIX_FMT_MJPEG, 1280, 720);
	offer(V4L2_PIX_FMT_MJPEG, 640, 480);
	void *st = NULL;
	struct source_info info;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 640, 480, 5, &st, &info), 0);
	cr_assert_eq(fk.fmt, V4L2_PIX_FMT_MJPEG);
	cr_assert_eq(fk.w, 640);
	cr_assert_eq(fk.h, 480);
	cr_assert_eq(fk.fps_num, 1);
	cr_assert_eq(fk.fps_den, 5);
	cr_assert_eq(info.format, SOURCE_MJPEG);
	cr_assert_eq(info.width, 640);
	cr_assert_eq(info.fps, 5);
	cr_assert_eq(fk.n_buf, 4u);
	cr_assert_eq(fk.mmaps, 4);
	cr_assert_eq(fk.qbufs, 4, "every buffer is queued before streaming");
	cr_assert_eq(fk.streamons, 1);
	cr_assert_eq(source_v4l2_ops.fd(st), FAKE_FD);

	struct source_frame f;
	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), 1, "nothing captured yet");

	static uint8_t jpeg[256 * 1024];
	size_t len = uvc_jpeg(jpeg, sizeof(jpeg));
	capture(jpeg, len, 0);
	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), 0);
	cr_assert_eq(f.format, SOURCE_MJPEG);
	cr_assert_eq(f.len, len);
	cr_assert_arr_eq(f.data, jpeg, len);

	/* Through the pipeline: published with tables, decodable, motion fed. */
	struct camera_settings s = {
	    .source = "v4l2:/fake/video0", .width = 640, .height = 480, .fps = 5, .quality = 75};
	motion_params_default(&s.motion, 5);
	struct camera *cam = camera_new(&s, info.width, info.height);
	struct camera_output out;
	cr_assert_eq(camera_frame(cam, &f, 1000, &out), 0);
	cr_assert_gt(out.jpeg_len, len, "standard Huffman tables added");
	tjhandle d = tjInitDecompress();
	int w, h, sub, cs;
	cr_assert_eq(
	    tjDecompressHeader3(d, out.jpeg, (unsigned long)out.jpeg_len, &w, &h, &sub, &cs), 0);
	unsigned char *rgb = malloc(640 * 480 * 3);
	cr_assert_eq(
	    tjDecompress2(d, out.jpeg, (unsigned long)out.jpeg_len, rgb, 640, 0, 480, TJPF_RGB, 0),
	    0, "%s", tjGetErrorStr2(d));
	free(rgb);
	tjDestroy(d);
	cr_assert_eq(w, 640);
	cr_assert_eq(camera_motion(cam)->frames, 1u);
	struct camera_stats st_cam;
	camera_get_stats(cam, &st_cam);
	cr_assert_eq(st_cam.passed, 1u);
	cr_assert_eq(st_cam.encoded, 0u, "the camera's JPEG is not re-encoded");

	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), 1, "one buffer held until released");
	source_v4l2_ops.release(st);
	cr_assert_eq(fk.qbufs, 5, "released buffer goes back to the driver");

	/* A corrupt JPEG is counted and not published. */
	capture("\xFF\xD8garbage", 9, 0);
	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), 0);
	cr_assert_eq(camera_frame(cam, &f, 1200, &out), -1);
	source_v4l2_ops.release(st);
	camera_get_stats(cam, &st_cam);
	cr_assert_eq(st_cam.corrupt, 1u);
	const uint8_t *last;
	size_t last_len;
	cr_assert(camera_last_jpeg(cam, &last, &last_len));
	cr_assert_gt(last_len, len, "the last good frame is kept for snapshots");
	camera_free(cam);

	source_v4l2_ops.close(st);
	cr_assert_eq(fk.streamoffs, 1);
	cr_assert_eq(fk.munmaps, 4);
	cr_assert_eq(fk.closes, 1);
}

Test(v4l2, yuyv_only_camera_is_encoded)
{
	offer(V4L2_PIX_FMT_YUYV, 640, 480);
	offer(V4L2_PIX_FMT_YUYV, 320, 240);
	void *st = NULL;
	struct source_info info;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 320, 240, 10, &st, &info), 0);
	cr_assert_eq(info.format, SOURCE_YUYV);
	cr_assert_eq(info.width, 320);
	cr_assert_eq(info.height, 240);
	static uint8_t yuyv[320 * 240 * 2];
	for (size_t i = 0; i < sizeof(yuyv); i += 2) {
		yuyv[i] = 180;
		yuyv[i + 1] = 128;
	}
	capture(yuyv, sizeof(yuyv), 0);
	struct source_frame f;
	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), 0);
	cr_assert_eq(f.format, SOURCE_YUYV);
	cr_assert_eq(f.stride, 640);
	struct camera_settings s = {
	    .source = "v4l2:/fake/video0", .width = 320, .height = 240, .fps = 10, .quality = 75};
	motion_params_default(&s.motion, 10);
	struct camera *cam = camera_new(&s, info.width, info.height);
	struct camera_output out;
	cr_assert_eq(camera_frame(cam, &f, 0, &out), 0);
	source_v4l2_ops.release(st);
	tjhandle d = tjInitDecompress();
	int w, h, sub, cs;
	cr_assert_eq(
	    tjDecompressHeader3(d, out.jpeg, (unsigned long)out.jpeg_len, &w, &h, &sub, &cs), 0);
	tjDestroy(d);
	cr_assert_eq(w, 320);
	cr_assert_eq(h, 240);
	camera_free(cam);
	source_v4l2_ops.close(st);
	cr_assert_eq(fk.closes, 1);
}

Test(v4l2, nearest_size_when_the_camera_lacks_the_wanted_one)
{
	offer(V4L2_PIX_FMT_MJPEG, 1920, 1080);
	offer(V4L2_PIX_FMT_MJPEG, 800, 600);
	void *st = NULL;
	struct source_info info;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 640, 480, 5, &st, &info), 0);
	cr_assert_eq(info.width, 800);
	cr_assert_eq(info.height, 600);
	source_v4l2_ops.close(st);
}

Test(v4l2, damaged_buffers_are_skipped_and_requeued)
{
	offer(V4L2_PIX_FMT_MJPEG, 640, 480);
	void *st = NULL;
	struct source_info info;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 640, 480, 5, &st, &info), 0);
	int q = fk.qbufs;
	capture("\xFF\xD8", 2, V4L2_BUF_FLAG_ERROR);
	struct source_frame f;
	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), 1);
	cr_assert_eq(fk.qbufs, q + 1);
	capture("", 0, 0); /* empty */
	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), 1);
	cr_assert_eq(fk.qbufs, q + 2);
	source_v4l2_ops.close(st);
}

Test(v4l2, unplugged_camera_is_reported_lost)
{
	offer(V4L2_PIX_FMT_MJPEG, 640, 480);
	void *st = NULL;
	struct source_info info;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 640, 480, 5, &st, &info), 0);
	fk.dq_errno = ENODEV;
	struct source_frame f;
	cr_assert_eq(source_v4l2_ops.grab(st, 0, &f), -ENODEV);
	source_v4l2_ops.close(st);
	cr_assert_eq(fk.closes, 1);
	cr_assert_eq(fk.munmaps, fk.mmaps);
}

Test(v4l2, failures_at_open_release_everything)
{
	void *st = (void *)0x1;
	struct source_info info;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video9", 640, 480, 5, &st, &info),
		     -ENOENT);

	offer(V4L2_PIX_FMT_MJPEG, 640, 480);
	fk.no_streaming = true;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 640, 480, 5, &st, &info),
		     -ENODEV);
	cr_assert_eq(fk.closes, 1);

	reset();
	offer(V4L2_PIX_FMT_NV12, 640, 480);
	offer(SOURCE_FOURCC('H', '2', '6', '4'), 640, 480);
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 640, 480, 5, &st, &info),
		     -ENOTSUP);
	cr_assert_eq(fk.closes, 1);

	reset();
	offer(V4L2_PIX_FMT_YUYV, 640, 480);
	fk.fail_reqbufs = true;
	cr_assert_eq(source_v4l2_open_sys(&fake_sys, "/fake/video0", 640, 480, 5, &st, &info),
		     -ENOMEM);
	cr_assert_eq(fk.closes, 1);
	cr_assert_eq(fk.streamons, 0);
	cr_assert_eq(st, (void *)0x1, "state untouched on every failure");
}
