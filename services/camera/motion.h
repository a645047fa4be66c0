/*
 * motion — a motion score from differencing downscaled grayscale frames.
 *
 * Every frame is reduced to MOTION_W x MOTION_H gray (motion_downscale) and
 * compared with a reference: a running average of the recent frames, so a
 * dog that walks slowly still differs from where the scene was a moment ago,
 * and a scene that stops moving settles back to zero within a few frames.
 * The raw score is the fraction of cells whose difference, after removing the
 * change in mean brightness (auto exposure, a lamp switched on), exceeds a
 * pixel threshold. It is smoothed, and a hysteresis turns it into events:
 * motion starts when the smoothed score reaches `on`, and stops once it has
 * stayed below `off` for `quiet_frames` frames in a row.
 *
 * Pure and single-threaded: no clock, no I/O, no allocation after
 * motion_init(). Timestamps are the caller's.
 */
#ifndef IOD_CAMERA_MOTION_H
#define IOD_CAMERA_MOTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOTION_W     80
#define MOTION_H     60
#define MOTION_CELLS (MOTION_W * MOTION_H)

struct motion_params {
	double on;	     /* start when the smoothed score reaches this (0..1) */
	double off;	     /* count a frame as quiet below this; off < on */
	int quiet_frames;    /* quiet frames in a row that end motion; >= 1 */
	int pixel_threshold; /* gray levels a cell must differ by to count as changed */
	double ref_alpha;    /* weight of a new frame in the reference average (0..1] */
	double smooth_alpha; /* weight of a new raw score in the smoothed score (0..1] */
};

/* Defaults for a given frame rate: on 0.02, off 0.01, about 3 s of quiet,
 * a reference with a time constant of about half a second. */
void motion_params_default(struct motion_params *p, int fps);

enum motion_event_kind { MOTION_NONE, MOTION_START, MOTION_STOP };

struct motion_event {
	enum motion_event_kind kind;
	double score;  /* the smoothed score at the event, 0..1 */
	int64_t ts_ms; /* the frame's timestamp */
};

struct motion {
	struct motion_params params;
	uint16_t ref[MOTION_CELLS]; /* running average, 8.8 fixed point */
	bool have_ref;
	bool active;
	int quiet;	 /* quiet frames so far while active */
	double raw;	 /* last raw score */
	double smoothed; /* last smoothed score */
	uint64_t frames;
	uint64_t events;
};

/* 0, or -1 if the parameters are out of range (nothing is changed then). */
int motion_init(struct motion *m, const struct motion_params *p);

/*
 * Feed one MOTION_W x MOTION_H gray frame taken at ts_ms. Returns the event
 * this frame caused (kind MOTION_NONE for most frames). The first frame only
 * sets the reference.
 */
struct motion_event motion_feed(struct motion *m, const uint8_t *gray, int64_t ts_ms);

/*
 * Forget the scene (the camera went away; the next picture may be another
 * one). If motion was active, returns a MOTION_STOP event with score 0 at
 * ts_ms so whoever shows motion does not stay "on" forever; else MOTION_NONE.
 */
struct motion_event motion_reset(struct motion *m, int64_t ts_ms);

bool motion_active(const struct motion *m);
double motion_score(const struct motion *m); /* smoothed */

/*
 * Box-average a gray image (width x height, `stride` bytes per row, one byte
 * per pixel; e.g. the Y plane of a YUV frame) into MOTION_W x MOTION_H.
 * Images smaller than that are sampled (cells repeat). width, height >= 1.
 */
void motion_downscale(const uint8_t *src, int width, int height, int stride, uint8_t *out);

#endif
