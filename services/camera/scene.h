/*
 * scene — the `sim` camera's picture: a room drawn as a gradient, a dog that
 * walks across it and lies down again, and the local time in large digits
 * (a small bitmap font of our own), so whoever looks at the stream can tell
 * it is live.
 *
 * Deterministic: the picture depends only on the size, the time given and
 * the clock digits given. The dog walks for 8 s, rests for 12 s, walks back
 * for 8 s and rests for 12 s (a 40 s cycle), so the sim's motion detector
 * sees motion start and stop. Drawing is straight into I420 planes; the
 * static background is drawn once and copied.
 */
#ifndef IOD_CAMERA_SCENE_H
#define IOD_CAMERA_SCENE_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

#define SCENE_CYCLE_MS 40000
/* A scene time at which the dog has just lain down (its first rest). The
 * sim source starts its scene there, so a sim camera first sees 12 s of
 * stillness and then the walk, whatever the hour it starts at: what a
 * motion test sees does not depend on the wall clock's phase. */
#define SCENE_FIRST_REST_MS 8000

struct scene;

/* NULL on out-of-memory. width, height even, >= 32. */
struct scene *scene_new(int width, int height);
void scene_free(struct scene *s);

/* Render the frame at t_ms (any monotonic or wall time) with the clock
 * showing hh:mm:ss. The image stays valid until the next render. */
const struct codec_i420 *scene_render(struct scene *s, int64_t t_ms, int hh, int mm, int ss);

/* Where the dog's body is at t_ms (for tests): left edge x, and whether it
 * is walking. */
int scene_dog_x(int width, int64_t t_ms, bool *walking);

/* The font: 5x7 glyphs for "0123456789:", row-major, bit 4 = leftmost.
 * Returns NULL for a character it does not have. */
const uint8_t *scene_glyph(char ch);

#endif
