/*
 * camera — the camera service's logic, free of MQTT and the event loop:
 * its settings, the frame pipeline (encode, motion) and the command rules.
 * The transport (camsvc.c) hands it frames and commands with the time, and
 * publishes what it returns. Single-threaded (the loop thread).
 */
#ifndef IOD_CAMERA_CAMERA_H
#define IOD_CAMERA_CAMERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "motion.h"
#include "source.h"

#define CAMERA_SOURCE_MAX 200
#define CAMERA_MIN_SIDE	  32
#define CAMERA_MAX_SIDE	  4096

/* The camera's own settings, for cfg_load() (the common ones are added by
 * cfg); the count is a constant so a static service_def can name it. */
#define CAMERA_OPTIONS_N 8
extern const struct cfg_option camera_options[CAMERA_OPTIONS_N];
extern const size_t camera_options_count;

struct camera_settings {
	char source[CAMERA_SOURCE_MAX + 1]; /* "sim", "v4l2:/dev/video0" */
	int width, height;
	int fps;
	int quality;
	struct motion_params motion;
};

/*
 * Read and check the camera settings from a loaded cfg. On a bad value
 * writes one line naming the setting into err ("IOD_CAMERA_SIZE: '64x' is
 * not WxH ...") and returns -1.
 */
int camera_settings_load(const struct cfg *cfg, struct camera_settings *out, char *err,
			 size_t err_size);

/* "640x480": both sides even, CAMERA_MIN_SIDE..CAMERA_MAX_SIDE. 0 or -1. */
int camera_parse_size(const char *text, int *width, int *height);

/* ---- the frame pipeline ---- */

struct camera;

struct camera_stats {
	uint64_t frames;  /* frames taken from the source */
	uint64_t encoded; /* frames we encoded (sim, YUYV) */
	uint64_t passed;  /* camera JPEGs passed on (MJPEG) */
	uint64_t corrupt; /* frames that could not be decoded or encoded */
	uint64_t motion_events;
	uint64_t thumbnails;	    /* motion starts that got a thumbnail */
	uint64_t thumbnails_failed; /* ...and those that could not (logged) */
};

/*
 * The motion thumbnail (issue 13's records file one with each motion
 * event): made from the frame that started the motion, at most
 * CAMERA_THUMB_MAX_WIDTH wide and never over CAMERA_THUMB_MAX_BYTES (see
 * codec_thumbnail for how it gets there).
 */
#define CAMERA_THUMB_MAX_WIDTH 320
#define CAMERA_THUMB_MAX_BYTES 10240
/* Its "for" is this and the motion start event's ts; camera/cmd may not ask
 * for a snapshot "for" this kind (bad_for). */
#define CAMERA_FOR_MOTION "motion:"

/* What one frame produced. jpeg and thumb stay valid until the next
 * camera_frame() or camera_free(). */
struct camera_output {
	const uint8_t *jpeg;
	size_t jpeg_len;
	struct motion_event motion;
	/* With a MOTION_START: this frame's thumbnail (jpeg itself when the
	 * frame is already small enough; thumb_quality is then 0); NULL (and
	 * thumb_len 0) when none could be made, which camera_frame has logged. */
	const uint8_t *thumb;
	size_t thumb_len;
	int thumb_width, thumb_height, thumb_quality;
};

/* NULL on error (logged). The pipeline is sized for width x height (the size
 * the source actually delivers). */
struct camera *camera_new(const struct camera_settings *s, int width, int height);
void camera_free(struct camera *c);

/*
 * Run one frame through the pipeline at ts_ms: I420 and YUYV frames are
 * encoded, MJPEG frames kept as the camera made them (with the standard
 * Huffman tables added when missing); all feed the motion detector. The
 * frame that starts motion is also made into the thumbnail (out->thumb).
 * 0, or -1 for a frame that could not be used (counted; nothing to publish).
 */
int camera_frame(struct camera *c, const struct source_frame *f, int64_t ts_ms,
		 struct camera_output *out);

/* The last good JPEG, for a snapshot when the source cannot make a new
 * frame on demand; false if there is none yet. */
bool camera_last_jpeg(const struct camera *c, const uint8_t **jpeg, size_t *len);
void camera_get_stats(const struct camera *c, struct camera_stats *out);
const struct motion *camera_motion(const struct camera *c);
/* The source was lost: see motion_reset(). */
struct motion_event camera_motion_reset(struct camera *c, int64_t ts_ms);

/* ---- commands ---- */

struct proto_camera_cmd; /* proto.h */

enum camera_cmd_verdict {
	CAMERA_CMD_SNAPSHOT,
	CAMERA_CMD_RETAINED, /* a retained command is never executed (it would replay) */
	CAMERA_CMD_REJECTED, /* *reason says why */
};

/* Decide what to do with a camera/cmd message. A retained message is never
 * executed, whatever it holds. *reason is a static string. */
enum camera_cmd_verdict camera_cmd_check(const void *payload, size_t len, bool retained,
					 const char **reason);
/* The same, with the snapshot's "for" (a dose's, say) in cmd->for_ ("" for a
 * plain snapshot); a "for" of the kind CAMERA_FOR_MOTION is bad_for. */
enum camera_cmd_verdict camera_cmd_check_for(const void *payload, size_t len, bool retained,
					     struct proto_camera_cmd *cmd, const char **reason);

/*
 * A token bucket: up to `burst` events at once, refilled at `per_s` a
 * second. Snapshots go through one, so a flood of snapshot commands cannot
 * turn into a flood of encodes and publishes.
 */
struct camera_rate {
	double tokens;
	int64_t last_ms;
	bool started;
};

#define CAMERA_SNAPSHOT_BURST 10
#define CAMERA_SNAPSHOT_PER_S 5

/*
 * A snapshot asked "for" something (a dose) has a bucket of its own: the
 * plain one is spent by whoever presses Home Assistant's button, and a
 * dose's picture must not depend on that. Not none at all: "for" is a
 * member anyone allowed on camera/cmd can add, and each answer is a QoS 1
 * JPEG the broker keeps until it is delivered. The feeder doses at most once
 * per minimum interval, so this never refuses a real dose's.
 */
#define CAMERA_FOR_SNAPSHOT_BURST 10
#define CAMERA_FOR_SNAPSHOT_PER_S 1
/* With no frame to send, a "for" snapshot waits this long for the next one
 * (the source reopening); then the dose has no snapshot, which is logged.
 * At most CAMERA_FOR_PENDING_MAX wait; the same "for" waits once. */
#define CAMERA_FOR_WAIT_MS     5000
#define CAMERA_FOR_PENDING_MAX 16

/* true if an event may happen at now_ms (and counts it). */
bool camera_rate_take(struct camera_rate *r, int64_t now_ms, double per_s, double burst);

/* A bad command raises at most one alert per this long (a flood of bad
 * commands must not become a flood of alerts); every one is logged. */
#define CAMERA_BAD_CMD_ALERT_EVERY_MS 60000

/* ---- pacing a streaming camera ---- */

/*
 * Many V4L2 drivers ignore the frame rate asked for and stream at 30 fps.
 * The pacer keeps every period_us-th moment: frames that come earlier than
 * the next deadline (less an eighth of a period, for jitter) are skipped.
 * Deadlines advance by whole periods, so the long-run rate is the
 * configured one; a camera slower than that has every frame taken.
 */
struct camera_pacer {
	int64_t period_us;
	int64_t next_us;
	bool started;
};

void camera_pacer_init(struct camera_pacer *p, int fps);
/* true: use the frame that arrived at now_us. */
bool camera_pacer_take(struct camera_pacer *p, int64_t now_us);

/* ---- losing and finding the camera ---- */

#define CAMERA_RETRY_MIN_MS 1000
#define CAMERA_RETRY_MAX_MS 30000

/* The delay after `current_ms` (0 for the first retry): 1 s doubling to 30 s. */
int64_t camera_retry_next_ms(int64_t current_ms);

/*
 * What the service does when its camera fails and comes back: one
 * camera_lost alert per loss (not one per failed retry), reopen with
 * back-off, and a camera_recovered alert with the first good frame after a
 * loss that was announced.
 */
struct camera_health {
	bool lost_alerted;
	int64_t retry_ms; /* the last back-off; 0 while healthy */
};

enum camera_health_action {
	CAMERA_HEALTH_ALERT_LOST = 1 << 0,
	CAMERA_HEALTH_ALERT_RECOVERED = 1 << 1,
};

/* The camera failed to open, failed, or went silent. Returns the alerts to
 * raise (a mask of enum camera_health_action); *retry_in_ms: when to try
 * opening it again. */
unsigned camera_health_lost(struct camera_health *h, int64_t *retry_in_ms);
/* A good frame arrived. Returns the alerts to raise. */
unsigned camera_health_frame(struct camera_health *h);

/* How long a streaming device may stay silent before it is deemed lost:
 * ten frame times, at least 5 s. */
int64_t camera_stall_ms(int fps);

#endif
