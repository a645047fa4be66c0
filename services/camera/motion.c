#include "motion.h"

#include <math.h>
#include <string.h>

void motion_params_default(struct motion_params *p, int fps)
{
	if (fps < 1)
		fps = 1;
	p->on = 0.02;
	p->off = 0.01;
	p->quiet_frames = 3 * fps;
	p->pixel_threshold = 25;
	/* Time constant of about 0.5 s whatever the frame rate. */
	p->ref_alpha = 1.0 - exp(-1.0 / (0.5 * fps));
	p->smooth_alpha = 0.5;
}

int motion_init(struct motion *m, const struct motion_params *p)
{
	if (!(p->on > 0.0 && p->on <= 1.0) || !(p->off >= 0.0 && p->off < p->on) ||
	    p->quiet_frames < 1 || p->pixel_threshold < 1 || p->pixel_threshold > 255 ||
	    !(p->ref_alpha > 0.0 && p->ref_alpha <= 1.0) ||
	    !(p->smooth_alpha > 0.0 && p->smooth_alpha <= 1.0))
		return -1;
	memset(m, 0, sizeof(*m));
	m->params = *p;
	return 0;
}

struct motion_event motion_reset(struct motion *m, int64_t ts_ms)
{
	struct motion_event ev = {.kind = MOTION_NONE, .score = 0.0, .ts_ms = ts_ms};
	if (m->active) {
		ev.kind = MOTION_STOP;
		m->events++;
	}
	m->active = false;
	m->have_ref = false;
	m->quiet = 0;
	m->raw = m->smoothed = 0.0;
	return ev;
}

bool motion_active(const struct motion *m)
{
	return m->active;
}

double motion_score(const struct motion *m)
{
	return m->smoothed;
}

/*
 * Fraction of cells that changed against the reference, then the reference
 * moves toward this frame. Brightness is compared after removing the change
 * in mean level, so a camera's exposure step is not motion.
 */
static double score_and_update(struct motion *m, const uint8_t *gray)
{
	int64_t sum_cur = 0, sum_ref = 0;
	for (int i = 0; i < MOTION_CELLS; i++) {
		sum_cur += (int64_t)gray[i] << 8;
		sum_ref += m->ref[i];
	}
	int32_t mean_delta = (int32_t)((sum_cur - sum_ref) / MOTION_CELLS);
	int32_t threshold = m->params.pixel_threshold << 8;
	int32_t alpha = (int32_t)lround(m->params.ref_alpha * 256.0);
	if (alpha < 1)
		alpha = 1;

	int changed = 0;
	for (int i = 0; i < MOTION_CELLS; i++) {
		int32_t cur = (int32_t)gray[i] << 8;
		int32_t ref = m->ref[i];
		int32_t d = cur - ref - mean_delta;
		if (d > threshold || d < -threshold)
			changed++;
		ref += ((cur - ref) * alpha) / 256;
		m->ref[i] = (uint16_t)(ref < 0 ? 0 : ref > 0xff00 ? 0xff00 : ref);
	}
	return (double)changed / MOTION_CELLS;
}

struct motion_event motion_feed(struct motion *m, const uint8_t *gray, int64_t ts_ms)
{
	struct motion_event ev = {.kind = MOTION_NONE, .score = 0.0, .ts_ms = ts_ms};
	m->frames++;
	if (!m->have_ref) {
		for (int i = 0; i < MOTION_CELLS; i++)
			m->ref[i] = (uint16_t)(gray[i] << 8);
		m->have_ref = true;
		m->raw = 0.0;
		ev.score = m->smoothed;
		return ev;
	}
	m->raw = score_and_update(m, gray);
	double a = m->params.smooth_alpha;
	m->smoothed = a * m->raw + (1.0 - a) * m->smoothed;
	ev.score = m->smoothed;

	if (!m->active) {
		if (m->smoothed >= m->params.on) {
			m->active = true;
			m->quiet = 0;
			ev.kind = MOTION_START;
		}
	} else if (m->smoothed < m->params.off) {
		if (++m->quiet >= m->params.quiet_frames) {
			m->active = false;
			m->quiet = 0;
			ev.kind = MOTION_STOP;
		}
	} else {
		m->quiet = 0;
	}
	if (ev.kind != MOTION_NONE)
		m->events++;
	return ev;
}

void motion_downscale(const uint8_t *src, int width, int height, int stride, uint8_t *out)
{
	for (int oy = 0; oy < MOTION_H; oy++) {
		int y0 = oy * height / MOTION_H;
		int y1 = (oy + 1) * height / MOTION_H;
		if (y1 <= y0)
			y1 = y0 + 1;
		for (int ox = 0; ox < MOTION_W; ox++) {
			int x0 = ox * width / MOTION_W;
			int x1 = (ox + 1) * width / MOTION_W;
			if (x1 <= x0)
				x1 = x0 + 1;
			uint32_t sum = 0;
			for (int y = y0; y < y1; y++) {
				const uint8_t *row = src + (size_t)y * (size_t)stride;
				for (int x = x0; x < x1; x++)
					sum += row[x];
			}
			uint32_t n = (uint32_t)((y1 - y0) * (x1 - x0));
			out[oy * MOTION_W + ox] = (uint8_t)((sum + n / 2) / n);
		}
	}
}
