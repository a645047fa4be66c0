#include "camera.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "codec.h"
#include "log.h"
#include "proto.h"

/* The rules of the camera's own settings, run by cfg (at start and for
 * --check-config) and by camera_settings_load: one text per rule. */
static bool source_check(const char *value, char *why, size_t why_size)
{
	const char *arg;

	if (value && strlen(value) <= CAMERA_SOURCE_MAX && source_lookup(value, &arg))
		return true;
	snprintf(why, why_size, "'%s' is not a source (sim, or v4l2:<device>)", value ? value : "");
	return false;
}

static bool size_check(const char *value, char *why, size_t why_size)
{
	int w, h;

	if (camera_parse_size(value, &w, &h) == 0)
		return true;
	snprintf(why, why_size, "'%s' is not WxH with even sides between %d and %d (e.g. 640x480)",
		 value ? value : "", CAMERA_MIN_SIDE, CAMERA_MAX_SIDE);
	return false;
}

/* cfg has checked it is a number in [0, 1]; 0 would call every frame motion. */
static bool motion_on_check(const char *value, char *why, size_t why_size)
{
	double v;

	if (cfg_parse_number(value, 0, 1, &v) == 0 && v > 0.0)
		return true;
	snprintf(why, why_size, "'%s' must be a number above 0 and at most 1", value ? value : "");
	return false;
}

const struct cfg_option camera_options[CAMERA_OPTIONS_N] = {
    {"IOD_CAMERA_SOURCE", CFG_STRING, "sim",
     "frame source: sim (a drawn scene), or v4l2:<device> e.g. v4l2:/dev/video0", 0, 0, 0,
     source_check},
    {"IOD_CAMERA_FPS", CFG_INT, "5", "frames per second, 1-30", 1, 30, 0, NULL},
    {"IOD_CAMERA_SIZE", CFG_STRING, "640x480", "frame size WxH, even sides 32-4096", 0, 0, 0,
     size_check},
    {"IOD_CAMERA_QUALITY", CFG_INT, "75", "JPEG quality of frames we encode, 1-100", 1, 100, 0,
     NULL},
    {"IOD_CAMERA_MOTION_ON", CFG_NUMBER, "0.02",
     "motion starts when this fraction of the picture changes (0-1)", 0, 1, 0, motion_on_check},
    {"IOD_CAMERA_MOTION_OFF", CFG_NUMBER, "0.01",
     "motion stops after changes stay below this fraction (0-1, below _ON)", 0, 1, 0, NULL},
    {"IOD_CAMERA_MOTION_QUIET", CFG_DURATION, "3s",
     "how long changes must stay below _OFF before motion stops", 1, 3600 * 1000, 0, NULL},
    {"IOD_CAMERA_MOTION_THRESHOLD", CFG_INT, "25",
     "gray levels (1-255) a spot must change by to count as changed", 1, 255, 0, NULL},
};
const size_t camera_options_count = sizeof(camera_options) / sizeof(camera_options[0]);

int camera_parse_size(const char *text, int *width, int *height)
{
	if (!text)
		return -1;
	const char *p = text;
	long v[2];
	for (int i = 0; i < 2; i++) {
		if (*p < '0' || *p > '9')
			return -1;
		char *end;
		errno = 0;
		v[i] = strtol(p, &end, 10);
		if (errno || end == p || v[i] < CAMERA_MIN_SIDE || v[i] > CAMERA_MAX_SIDE ||
		    (v[i] & 1))
			return -1;
		p = end;
		if (i == 0) {
			if (*p != 'x' && *p != 'X')
				return -1;
			p++;
		}
	}
	if (*p != '\0')
		return -1;
	*width = (int)v[0];
	*height = (int)v[1];
	return 0;
}

int camera_settings_load(const struct cfg *cfg, struct camera_settings *out, char *err,
			 size_t err_size)
{
	char why[256];

	memset(out, 0, sizeof(*out));
	const char *source = cfg_str(cfg, "IOD_CAMERA_SOURCE");
	if (!source_check(source, why, sizeof(why))) {
		snprintf(err, err_size, "IOD_CAMERA_SOURCE: %s", why);
		return -1;
	}
	snprintf(out->source, sizeof(out->source), "%s", source);

	const char *size = cfg_str(cfg, "IOD_CAMERA_SIZE");
	if (!size_check(size, why, sizeof(why))) {
		snprintf(err, err_size, "IOD_CAMERA_SIZE: %s", why);
		return -1;
	}
	camera_parse_size(size, &out->width, &out->height);
	out->fps = (int)cfg_int(cfg, "IOD_CAMERA_FPS");
	out->quality = (int)cfg_int(cfg, "IOD_CAMERA_QUALITY");

	motion_params_default(&out->motion, out->fps);
	/* Each is a number in [0, 1] and _ON above 0 (cfg has checked); that
	 * _OFF is below _ON is a rule of the two together, checked here. */
	const char *off = cfg_str(cfg, "IOD_CAMERA_MOTION_OFF");
	out->motion.on = cfg_number(cfg, "IOD_CAMERA_MOTION_ON");
	out->motion.off = cfg_number(cfg, "IOD_CAMERA_MOTION_OFF");
	if (out->motion.off >= out->motion.on) {
		snprintf(err, err_size,
			 "IOD_CAMERA_MOTION_OFF: '%s' must be a number from 0 to below "
			 "IOD_CAMERA_MOTION_ON (%g)",
			 off ? off : "", out->motion.on);
		return -1;
	}
	int64_t quiet_ms = cfg_duration_ms(cfg, "IOD_CAMERA_MOTION_QUIET");
	int64_t frames = (quiet_ms * out->fps + 999) / 1000;
	out->motion.quiet_frames = (int)(frames < 1 ? 1 : frames);
	out->motion.pixel_threshold = (int)cfg_int(cfg, "IOD_CAMERA_MOTION_THRESHOLD");
	if (motion_init(&(struct motion){0}, &out->motion) < 0) {
		snprintf(err, err_size, "IOD_CAMERA_MOTION_*: inconsistent motion settings");
		return -1;
	}
	return 0;
}

/* ---- pipeline ---- */

struct camera {
	struct codec *codec;
	struct motion motion;
	int width, height;
	uint8_t gray[MOTION_CELLS];
	uint8_t *mjpeg; /* our copy of the last camera JPEG (plus tables) */
	size_t mjpeg_cap;
	const uint8_t *last; /* the last good JPEG: in the codec or in mjpeg */
	size_t last_len;
	struct camera_stats stats;
};

struct camera *camera_new(const struct camera_settings *s, int width, int height)
{
	struct camera *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->width = width;
	c->height = height;
	c->codec = codec_new(width, height, s->quality);
	if (!c->codec || motion_init(&c->motion, &s->motion) < 0) {
		log_error("camera: cannot set up the %dx%d pipeline", width, height);
		camera_free(c);
		return NULL;
	}
	return c;
}

void camera_free(struct camera *c)
{
	if (!c)
		return;
	codec_free(c->codec);
	free(c->mjpeg);
	free(c);
}

/* Keep our own copy of a camera JPEG: the driver's buffer goes back to it
 * right after this frame. Adds the standard Huffman tables when missing. */
static int keep_mjpeg(struct camera *c, const uint8_t *data, size_t len)
{
	size_t need = len + 1024;
	if (need > c->mjpeg_cap) {
		uint8_t *grown = realloc(c->mjpeg, need);
		if (!grown)
			return -1;
		c->mjpeg = grown;
		c->mjpeg_cap = need;
	}
	long fixed = codec_mjpeg_fix_dht(c->codec, data, len, c->mjpeg, c->mjpeg_cap);
	if (fixed < 0)
		return -1;
	if (fixed == 0) {
		memcpy(c->mjpeg, data, len);
		fixed = (long)len;
	}
	c->last = c->mjpeg;
	c->last_len = (size_t)fixed;
	return 0;
}

/* The thumbnail of the frame in out, which started motion: from its I420
 * planes when we encoded it (planes), else from the camera's JPEG. One that cannot
 * be made (a frame libturbojpeg cannot decode again, or a picture that
 * stays over CAMERA_THUMB_MAX_BYTES) is logged here and counted; the motion
 * event goes out without one. */
static void motion_thumbnail(struct camera *c, const struct codec_i420 *planes,
			     struct camera_output *out)
{
	struct codec_thumb t;
	int rc;
	if (!planes) /* a camera's JPEG: decoded at a scaling factor */
		rc = codec_thumbnail(c->codec, out->jpeg, out->jpeg_len, CAMERA_THUMB_MAX_WIDTH,
				     CAMERA_THUMB_MAX_BYTES, &t);
	else if (planes->width <= CAMERA_THUMB_MAX_WIDTH && out->jpeg_len <= CAMERA_THUMB_MAX_BYTES)
		/* The JPEG we just made is small enough: it is the thumbnail. */
		rc = 0, t = (struct codec_thumb){.jpeg = out->jpeg,
						 .len = out->jpeg_len,
						 .width = planes->width,
						 .height = planes->height};
	else /* the planes we just encoded, not a decode of that JPEG */
		rc = codec_thumbnail_i420(c->codec, planes, CAMERA_THUMB_MAX_WIDTH,
					  CAMERA_THUMB_MAX_BYTES, &t);
	if (rc == 0) {
		out->thumb = t.jpeg;
		out->thumb_len = t.len;
		out->thumb_width = t.width;
		out->thumb_height = t.height;
		out->thumb_quality = t.quality;
		c->stats.thumbnails++;
		return;
	}
	c->stats.thumbnails_failed++;
	if (rc == -E2BIG)
		log_warn("motion thumbnail: still %zu bytes at %dx%d, quality %d (over %d); the "
			 "motion at %" PRId64 " has none",
			 t.len, t.width, t.height, t.quality, CAMERA_THUMB_MAX_BYTES,
			 out->motion.ts_ms);
	else
		log_warn("motion thumbnail: the %zu-byte frame could not be made into one (%s); "
			 "the motion at %" PRId64 " has none",
			 out->jpeg_len, strerror(-rc), out->motion.ts_ms);
}

int camera_frame(struct camera *c, const struct source_frame *f, int64_t ts_ms,
		 struct camera_output *out)
{
	const uint8_t *jpeg = NULL;
	size_t jpeg_len = 0;
	const struct codec_i420 *planes = NULL; /* what we encoded, if we did */
	c->stats.frames++;
	memset(out, 0, sizeof(*out));

	switch (f->format) {
	case SOURCE_I420:
		if (codec_encode_i420(c->codec, f->i420, &jpeg, &jpeg_len) < 0)
			goto corrupt;
		motion_downscale(f->i420->plane[0], f->i420->width, f->i420->height,
				 f->i420->stride[0], c->gray);
		planes = f->i420;
		c->stats.encoded++;
		break;
	case SOURCE_YUYV: {
		const struct codec_i420 *img;
		if (f->width != c->width || f->height != c->height ||
		    codec_encode_yuyv(c->codec, f->data, f->len, f->stride, &jpeg, &jpeg_len,
				      &img) < 0)
			goto corrupt;
		motion_downscale(img->plane[0], img->width, img->height, img->stride[0], c->gray);
		planes = img;
		c->stats.encoded++;
		break;
	}
	case SOURCE_MJPEG: {
		const uint8_t *gray;
		int gw, gh;
		/* The decoder copes without tables; decoding first also proves
		 * the frame is whole before we publish it. */
		if (codec_gray_eighth(c->codec, f->data, f->len, &gray, &gw, &gh) < 0 ||
		    keep_mjpeg(c, f->data, f->len) < 0)
			goto corrupt;
		motion_downscale(gray, gw, gh, gw, c->gray);
		jpeg = c->last;
		jpeg_len = c->last_len;
		c->stats.passed++;
		break;
	}
	default:
		goto corrupt;
	}
	c->last = jpeg;
	c->last_len = jpeg_len;
	out->jpeg = jpeg;
	out->jpeg_len = jpeg_len;
	out->motion = motion_feed(&c->motion, c->gray, ts_ms);
	if (out->motion.kind != MOTION_NONE)
		c->stats.motion_events++;
	if (out->motion.kind == MOTION_START)
		motion_thumbnail(c, planes, out);
	return 0;

corrupt:
	c->stats.corrupt++;
	return -1;
}

bool camera_last_jpeg(const struct camera *c, const uint8_t **jpeg, size_t *len)
{
	if (!c->last)
		return false;
	*jpeg = c->last;
	*len = c->last_len;
	return true;
}

void camera_get_stats(const struct camera *c, struct camera_stats *out)
{
	*out = c->stats;
}

const struct motion *camera_motion(const struct camera *c)
{
	return &c->motion;
}

struct motion_event camera_motion_reset(struct camera *c, int64_t ts_ms)
{
	struct motion_event ev = motion_reset(&c->motion, ts_ms);
	if (ev.kind != MOTION_NONE)
		c->stats.motion_events++;
	return ev;
}

/* ---- commands, retries ---- */

enum camera_cmd_verdict camera_cmd_check(const void *payload, size_t len, bool retained,
					 const char **reason)
{
	struct proto_camera_cmd cmd;
	return camera_cmd_check_for(payload, len, retained, &cmd, reason);
}

enum camera_cmd_verdict camera_cmd_check_for(const void *payload, size_t len, bool retained,
					     struct proto_camera_cmd *cmd, const char **reason)
{
	cmd->for_[0] = '\0';
	if (retained) {
		*reason = PROTO_REASON_RETAINED;
		return CAMERA_CMD_RETAINED;
	}
	if (len > PROTO_MAX_PAYLOAD) {
		*reason = PROTO_REASON_TOO_LARGE;
		return CAMERA_CMD_REJECTED;
	}
	if (proto_camera_cmd_decode_for(payload, len, cmd, reason) < 0)
		return CAMERA_CMD_REJECTED;
	/* The motion thumbnails' own kind: a commanded snapshot must not pass
	 * for one in the records store. */
	if (strncmp(cmd->for_, CAMERA_FOR_MOTION, strlen(CAMERA_FOR_MOTION)) == 0) {
		cmd->for_[0] = '\0';
		*reason = "bad_for";
		return CAMERA_CMD_REJECTED;
	}
	*reason = NULL;
	return CAMERA_CMD_SNAPSHOT;
}

bool camera_rate_take(struct camera_rate *r, int64_t now_ms, double per_s, double burst)
{
	if (!r->started) {
		r->started = true;
		r->tokens = burst;
		r->last_ms = now_ms;
	}
	if (now_ms > r->last_ms) {
		r->tokens += (double)(now_ms - r->last_ms) * per_s / 1000.0;
		if (r->tokens > burst)
			r->tokens = burst;
	}
	r->last_ms = now_ms;
	if (r->tokens < 1.0)
		return false;
	r->tokens -= 1.0;
	return true;
}

void camera_pacer_init(struct camera_pacer *p, int fps)
{
	p->period_us = 1000000 / (fps > 0 ? fps : 1);
	p->next_us = 0;
	p->started = false;
}

bool camera_pacer_take(struct camera_pacer *p, int64_t now_us)
{
	if (!p->started) {
		p->started = true;
		p->next_us = now_us + p->period_us;
		return true;
	}
	if (now_us + p->period_us / 8 < p->next_us)
		return false;
	if (now_us - p->next_us > p->period_us)
		p->next_us = now_us + p->period_us; /* after a gap: no catching up */
	else
		p->next_us += p->period_us;
	return true;
}

int64_t camera_retry_next_ms(int64_t current_ms)
{
	if (current_ms < CAMERA_RETRY_MIN_MS)
		return CAMERA_RETRY_MIN_MS;
	return current_ms >= CAMERA_RETRY_MAX_MS / 2 ? CAMERA_RETRY_MAX_MS : current_ms * 2;
}

unsigned camera_health_lost(struct camera_health *h, int64_t *retry_in_ms)
{
	unsigned actions = 0;
	if (!h->lost_alerted) {
		h->lost_alerted = true;
		actions |= CAMERA_HEALTH_ALERT_LOST;
	}
	h->retry_ms = camera_retry_next_ms(h->retry_ms);
	*retry_in_ms = h->retry_ms;
	return actions;
}

unsigned camera_health_frame(struct camera_health *h)
{
	unsigned actions = h->lost_alerted ? CAMERA_HEALTH_ALERT_RECOVERED : 0;
	h->lost_alerted = false;
	h->retry_ms = 0;
	return actions;
}

int64_t camera_stall_ms(int fps)
{
	int64_t ms = fps > 0 ? 10000 / fps : 10000;
	return ms < 5000 ? 5000 : ms;
}
