/*
 * source — where frames come from, behind an ops table picked by
 * IOD_CAMERA_SOURCE: `sim` (the drawn scene) or `v4l2:<device>`.
 *
 * A source never blocks and owns no timer or event loop: the service either
 * watches source_ops.fd() for POLLIN (V4L2: the driver says a buffer is
 * ready) or, when fd() is -1, calls grab() on its own frame timer at the
 * configured rate (sim). Everything runs on the loop thread.
 */
#ifndef IOD_CAMERA_SOURCE_H
#define IOD_CAMERA_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"

enum source_format {
	SOURCE_I420,  /* planar 4:2:0 in frame.i420 */
	SOURCE_YUYV,  /* packed 4:2:2 in frame.data, frame.stride bytes per row */
	SOURCE_MJPEG, /* one JPEG in frame.data */
};

struct source_frame {
	enum source_format format;
	const struct codec_i420 *i420;
	const uint8_t *data;
	size_t len;
	int stride;
	int width, height;
};

/* What the source actually delivers (a driver may adjust the request). */
struct source_info {
	int width, height, fps;
	enum source_format format;
};

struct source_ops {
	const char *name;
	/* arg: the text after "name:" ("" if none). 0, or a negative errno with
	 * *state untouched (logged with the reason). */
	int (*open)(const char *arg, int width, int height, int fps, void **state,
		    struct source_info *info);
	int (*fd)(void *state);
	/* 0: *frame is valid until release(); 1: nothing to take now; negative
	 * errno: the device failed or went away (close and reopen it later). */
	int (*grab)(void *state, int64_t wall_ms, struct source_frame *frame);
	void (*release)(void *state);
	void (*close)(void *state);
};

extern const struct source_ops source_sim_ops;
extern const struct source_ops source_v4l2_ops;

/* The ops for a spec ("sim", "v4l2:/dev/video0"); *arg points into spec
 * after the colon ("" when none). NULL for an unknown source or a v4l2
 * without a device. */
const struct source_ops *source_lookup(const char *spec, const char **arg);

/* ---- V4L2 format choice, pure (exposed for tests) ---- */

#define SOURCE_FOURCC(a, b, c, d)                                                                  \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* One (format, size) pair a device offers; width = height = 0 means any
 * size (a stepwise or continuous range). */
struct source_v4l2_offer {
	uint32_t fourcc;
	int width, height;
};

/*
 * Pick what to ask the device for: MJPEG (or JPEG) at the wanted size, else
 * YUYV at the wanted size, else MJPEG at the nearest size, else YUYV at the
 * nearest size. Returns 0 with *out set, or -1 if neither is offered.
 */
int source_v4l2_choose(const struct source_v4l2_offer *offers, size_t n, int want_w, int want_h,
		       struct source_v4l2_offer *out);

/*
 * The system calls the V4L2 source makes. source_v4l2_ops uses the real
 * ones; tests open a fake device through source_v4l2_open_sys() and then
 * drive it with source_v4l2_ops' other members as usual.
 */
struct source_v4l2_sys {
	int (*open)(const char *path, int flags);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
	int (*munmap)(void *addr, size_t len);
};

int source_v4l2_open_sys(const struct source_v4l2_sys *sys, const char *arg, int width, int height,
			 int fps, void **state, struct source_info *info);

#endif
