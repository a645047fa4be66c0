/*
 * V4L2 capture with raw ioctls: MJPEG when the device offers it (the
 * camera's own JPEGs are published unchanged), else YUYV encoded by us.
 * Four mmap'd buffers; the device fd is non-blocking and the service
 * watches it for POLLIN, so nothing here waits or polls.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "source.h"

#define V4L2_BUFFERS	4
#define V4L2_OFFERS_MAX 128

struct v4l2_mapped {
	void *start;
	size_t length;
};

struct v4l2_src {
	const struct source_v4l2_sys *sys;
	int fd;
	char path[128];
	struct v4l2_mapped buf[V4L2_BUFFERS];
	unsigned n_buf;
	bool streaming;
	int held; /* index dequeued and not yet released, or -1 */
	uint32_t fourcc;
	int width, height, stride;
};

static int sys_open(const char *path, int flags)
{
	return open(path, flags);
}

static int sys_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static const struct source_v4l2_sys real_sys = {
    .open = sys_open,
    .close = close,
    .ioctl = sys_ioctl,
    .mmap = mmap,
    .munmap = munmap,
};

static int xioctl(const struct v4l2_src *s, unsigned long req, void *arg)
{
	int rc;
	do
		rc = s->sys->ioctl(s->fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static void fourcc_str(uint32_t f, char out[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xFF);
		out[i] = (c >= 32 && c < 127) ? c : '?';
	}
	out[4] = 0;
}

/* Every (format, size) the device offers for capture, for source_v4l2_choose(). */
static size_t list_offers(const struct v4l2_src *s, struct source_v4l2_offer *offers, size_t cap)
{
	size_t n = 0;
	for (unsigned fi = 0; n < cap; fi++) {
		struct v4l2_fmtdesc desc = {.index = fi, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
		if (xioctl(s, VIDIOC_ENUM_FMT, &desc) < 0)
			break;
		bool any_size = false;
		size_t before = n;
		for (unsigned si = 0; n < cap; si++) {
			struct v4l2_frmsizeenum fs = {.index = si,
						      .pixel_format = desc.pixelformat};
			if (xioctl(s, VIDIOC_ENUM_FRAMESIZES, &fs) < 0)
				break;
			if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE) {
				any_size = true;
				break;
			}
			offers[n++] = (struct source_v4l2_offer){
			    desc.pixelformat, (int)fs.discrete.width, (int)fs.discrete.height};
		}
		/* A driver that lists no sizes takes what S_FMT asks for. */
		if (any_size || n == before) {
			n = before;
			offers[n++] = (struct source_v4l2_offer){desc.pixelformat, 0, 0};
		}
	}
	return n;
}

static void v4l2_close(void *state)
{
	struct v4l2_src *s = state;
	if (!s)
		return;
	if (s->streaming) {
		enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		xioctl(s, VIDIOC_STREAMOFF, &type);
	}
	for (unsigned i = 0; i < s->n_buf; i++)
		if (s->buf[i].start != MAP_FAILED && s->buf[i].start)
			s->sys->munmap(s->buf[i].start, s->buf[i].length);
	if (s->fd >= 0)
		s->sys->close(s->fd);
	free(s);
}

static int fail(struct v4l2_src *s, const char *what)
{
	int err = errno ? errno : EIO;
	log_warn("camera: %s: %s: %s", s->path, what, strerror(err));
	v4l2_close(s);
	return -err;
}

static int setup_buffers(struct v4l2_src *s)
{
	struct v4l2_requestbuffers req = {
	    .count = V4L2_BUFFERS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
	if (xioctl(s, VIDIOC_REQBUFS, &req) < 0)
		return -1;
	if (req.count < 2) {
		errno = ENOMEM;
		return -1;
	}
	if (req.count > V4L2_BUFFERS)
		req.count = V4L2_BUFFERS;
	for (unsigned i = 0; i < req.count; i++) {
		struct v4l2_buffer b = {
		    .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
		if (xioctl(s, VIDIOC_QUERYBUF, &b) < 0)
			return -1;
		s->buf[i].length = b.length;
		s->buf[i].start = s->sys->mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED,
					       s->fd, (off_t)b.m.offset);
		s->n_buf = i + 1;
		if (s->buf[i].start == MAP_FAILED)
			return -1;
		if (xioctl(s, VIDIOC_QBUF, &b) < 0)
			return -1;
	}
	return 0;
}

int source_v4l2_open_sys(const struct source_v4l2_sys *sys, const char *arg, int width, int height,
			 int fps, void **state, struct source_info *info)
{
	struct v4l2_src *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sys = sys;
	s->held = -1;
	snprintf(s->path, sizeof(s->path), "%s", arg);
	s->fd = sys->open(arg, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0)
		return fail(s, "open");

	struct v4l2_capability cap = {0};
	if (xioctl(s, VIDIOC_QUERYCAP, &cap) < 0)
		return fail(s, "not a V4L2 device (VIDIOC_QUERYCAP)");
	uint32_t caps =
	    (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
		errno = ENODEV;
		return fail(s, "no video capture with streaming I/O");
	}

	struct source_v4l2_offer offers[V4L2_OFFERS_MAX], pick;
	size_t n = list_offers(s, offers, V4L2_OFFERS_MAX);
	if (source_v4l2_choose(offers, n, width, height, &pick) < 0) {
		errno = ENOTSUP;
		return fail(s, "offers neither MJPEG nor YUYV");
	}
	struct v4l2_format fmt = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	fmt.fmt.pix.width = (uint32_t)(pick.width ? pick.width : width);
	fmt.fmt.pix.height = (uint32_t)(pick.height ? pick.height : height);
	fmt.fmt.pix.pixelformat = pick.fourcc;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	if (xioctl(s, VIDIOC_S_FMT, &fmt) < 0)
		return fail(s, "VIDIOC_S_FMT");
	s->fourcc = fmt.fmt.pix.pixelformat;
	s->width = (int)fmt.fmt.pix.width;
	s->height = (int)fmt.fmt.pix.height;
	s->stride = (int)fmt.fmt.pix.bytesperline;
	bool mjpeg = s->fourcc == SOURCE_FOURCC('M', 'J', 'P', 'G') ||
		     s->fourcc == SOURCE_FOURCC('J', 'P', 'E', 'G');
	if (!mjpeg && s->fourcc != SOURCE_FOURCC('Y', 'U', 'Y', 'V')) {
		errno = ENOTSUP;
		return fail(s, "driver changed the format to one we do not take");
	}
	if (!mjpeg && ((s->width & 1) || (s->height & 1) || s->width < 32 || s->height < 32)) {
		errno = ENOTSUP;
		return fail(s, "driver chose an odd or tiny YUYV size");
	}
	if (!mjpeg && s->stride < 2 * s->width)
		s->stride = 2 * s->width;

	/* The frame rate is a request; many drivers round it or ignore it. */
	struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	parm.parm.capture.timeperframe.numerator = 1;
	parm.parm.capture.timeperframe.denominator = (uint32_t)fps;
	int actual_fps = fps;
	if (xioctl(s, VIDIOC_S_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator > 0)
		actual_fps = (int)(parm.parm.capture.timeperframe.denominator /
				   parm.parm.capture.timeperframe.numerator);

	if (setup_buffers(s) < 0)
		return fail(s, "buffers");
	enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (xioctl(s, VIDIOC_STREAMON, &type) < 0)
		return fail(s, "VIDIOC_STREAMON");
	s->streaming = true;

	char fcc[5];
	fourcc_str(s->fourcc, fcc);
	log_info("camera: %s (%s): %s %dx%d at %d fps requested %dx%d at %d fps", s->path,
		 (const char *)cap.card, fcc, s->width, s->height, actual_fps, width, height, fps);
	info->width = s->width;
	info->height = s->height;
	info->fps = actual_fps > 0 ? actual_fps : fps;
	info->format = mjpeg ? SOURCE_MJPEG : SOURCE_YUYV;
	*state = s;
	return 0;
}

static int v4l2_open(const char *arg, int width, int height, int fps, void **state,
		     struct source_info *info)
{
	return source_v4l2_open_sys(&real_sys, arg, width, height, fps, state, info);
}

static int v4l2_fd(void *state)
{
	return ((struct v4l2_src *)state)->fd;
}

static int v4l2_grab(void *state, int64_t wall_ms, struct source_frame *frame)
{
	(void)wall_ms;
	struct v4l2_src *s = state;
	if (s->held >= 0)
		return 1;
	struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
	if (xioctl(s, VIDIOC_DQBUF, &b) < 0) {
		if (errno == EAGAIN)
			return 1;
		int err = errno;
		log_warn("camera: %s: VIDIOC_DQBUF: %s", s->path, strerror(err));
		return -err;
	}
	if (b.index >= s->n_buf) {
		log_warn("camera: %s: driver returned buffer %u of %u", s->path, b.index, s->n_buf);
		return -EIO;
	}
	s->held = (int)b.index;
	/* A buffer the driver marks as damaged, or an empty one, is skipped. */
	if ((b.flags & V4L2_BUF_FLAG_ERROR) || b.bytesused == 0 ||
	    b.bytesused > s->buf[b.index].length) {
		s->held = -1;
		if (xioctl(s, VIDIOC_QBUF, &b) < 0)
			return -errno;
		return 1;
	}
	bool mjpeg = s->fourcc != SOURCE_FOURCC('Y', 'U', 'Y', 'V');
	*frame = (struct source_frame){
	    .format = mjpeg ? SOURCE_MJPEG : SOURCE_YUYV,
	    .data = s->buf[b.index].start,
	    .len = b.bytesused,
	    .stride = s->stride,
	    .width = s->width,
	    .height = s->height,
	};
	return 0;
}

static void v4l2_release(void *state)
{
	struct v4l2_src *s = state;
	if (s->held < 0)
		return;
	struct v4l2_buffer b = {.index = (uint32_t)s->held,
				.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP};
	s->held = -1;
	/* A failure here shows up as the next DQBUF failing or the watchdog. */
	if (xioctl(s, VIDIOC_QBUF, &b) < 0)
		log_warn("camera: %s: VIDIOC_QBUF: %s", s->path, strerror(errno));
}

const struct source_ops source_v4l2_ops = {
    .name = "v4l2",
    .open = v4l2_open,
    .fd = v4l2_fd,
    .grab = v4l2_grab,
    .release = v4l2_release,
    .close = v4l2_close,
};
