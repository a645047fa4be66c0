#include "scene.h"

#include <stdlib.h>
#include <string.h>

struct rgb {
	uint8_t r, g, b;
};

struct scene {
	int width, height;
	struct codec_i420 img;
	uint8_t *buf;
	uint8_t *background; /* the same layout as buf, drawn once */
	size_t size;
};

static const uint8_t font[][7] = {
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, /* 0 */
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}, /* 1 */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, /* 2 */
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}, /* 3 */
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, /* 4 */
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}, /* 5 */
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, /* 6 */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, /* 8 */
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}, /* 9 */
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}, /* : */
};

const uint8_t *scene_glyph(char ch)
{
	if (ch >= '0' && ch <= '9')
		return font[ch - '0'];
	if (ch == ':')
		return font[10];
	return NULL;
}

/* JFIF (full-range BT.601) conversion, which is what a JPEG decoder inverts. */
static uint8_t clamp8(int v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}
static uint8_t y_of(struct rgb c)
{
	return clamp8((77 * c.r + 150 * c.g + 29 * c.b + 128) >> 8);
}
static uint8_t u_of(struct rgb c)
{
	return clamp8(128 + ((-43 * c.r - 85 * c.g + 128 * c.b + 128) >> 8));
}
static uint8_t v_of(struct rgb c)
{
	return clamp8(128 + ((128 * c.r - 107 * c.g - 21 * c.b + 128) >> 8));
}

static void put(const struct codec_i420 *img, int x, int y, struct rgb c)
{
	if (x < 0 || y < 0 || x >= img->width || y >= img->height)
		return;
	img->plane[0][(size_t)y * (size_t)img->stride[0] + (size_t)x] = y_of(c);
	if (((x | y) & 1) == 0) {
		size_t ci = (size_t)(y / 2) * (size_t)img->stride[1] + (size_t)(x / 2);
		img->plane[1][ci] = u_of(c);
		img->plane[2][ci] = v_of(c);
	}
}

static void fill_rect(const struct codec_i420 *img, int x0, int y0, int x1, int y1, struct rgb c)
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > img->width)
		x1 = img->width;
	if (y1 > img->height)
		y1 = img->height;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			put(img, x, y, c);
}

static void fill_ellipse(const struct codec_i420 *img, int cx, int cy, int rx, int ry, struct rgb c)
{
	if (rx < 1)
		rx = 1;
	if (ry < 1)
		ry = 1;
	int64_t rx2 = (int64_t)rx * rx, ry2 = (int64_t)ry * ry;
	for (int dy = -ry; dy <= ry; dy++)
		for (int dx = -rx; dx <= rx; dx++)
			if ((int64_t)dx * dx * ry2 + (int64_t)dy * dy * rx2 <= rx2 * ry2)
				put(img, cx + dx, cy + dy, c);
}

static struct rgb background_at(int x, int y, int w, int h)
{
	int horizon = h * 62 / 100;
	if (y < horizon) {
		/* Wall, lighter at the top, with a window on the right. */
		int wx0 = w * 62 / 100, wx1 = w * 88 / 100, wy0 = h * 10 / 100, wy1 = h * 42 / 100;
		if (x >= wx0 && x < wx1 && y >= wy0 && y < wy1) {
			bool frame = x < wx0 + 4 || x >= wx1 - 4 || y < wy0 + 4 || y >= wy1 - 4 ||
				     abs(x - (wx0 + wx1) / 2) < 2;
			if (frame)
				return (struct rgb){240, 240, 235};
			return (struct rgb){(uint8_t)(140 + 60 * y / h),
					    (uint8_t)(190 + 40 * y / h), 235};
		}
		int shade = 40 * y / (horizon ? horizon : 1);
		return (struct rgb){(uint8_t)(215 - shade), (uint8_t)(200 - shade),
				    (uint8_t)(170 - shade)};
	}
	/* Wooden floor: planks, darker toward the camera. */
	int depth = 50 * (y - horizon) / (h - horizon ? h - horizon : 1);
	int plank = h / 16 ? h / 16 : 1;
	bool seam = (y - horizon) % plank == 0;
	int r = 160 - depth - (seam ? 35 : 0) + (x * 10 / w);
	return (struct rgb){clamp8(r), clamp8(r * 2 / 3), clamp8(r * 2 / 5)};
}

struct scene *scene_new(int width, int height)
{
	if (width < 32 || height < 32 || (width & 1) || (height & 1))
		return NULL;
	struct scene *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->width = width;
	s->height = height;
	size_t ysize = (size_t)width * (size_t)height;
	size_t csize = (size_t)(width / 2) * (size_t)(height / 2);
	s->size = ysize + 2 * csize;
	s->buf = malloc(s->size);
	s->background = malloc(s->size);
	if (!s->buf || !s->background) {
		scene_free(s);
		return NULL;
	}
	s->img.width = width;
	s->img.height = height;
	s->img.stride[0] = width;
	s->img.stride[1] = s->img.stride[2] = width / 2;

	struct codec_i420 bg = s->img;
	bg.plane[0] = s->background;
	bg.plane[1] = s->background + ysize;
	bg.plane[2] = s->background + ysize + csize;
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++)
			put(&bg, x, y, background_at(x, y, width, height));

	s->img.plane[0] = s->buf;
	s->img.plane[1] = s->buf + ysize;
	s->img.plane[2] = s->buf + ysize + csize;
	return s;
}

void scene_free(struct scene *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s->background);
	free(s);
}

static int64_t cycle_pos(int64_t t_ms)
{
	int64_t p = t_ms % SCENE_CYCLE_MS;
	return p < 0 ? p + SCENE_CYCLE_MS : p;
}

int scene_dog_x(int width, int64_t t_ms, bool *walking)
{
	int body_w = width / 4;
	int margin = width / 20 + width / 9; /* room for the head */
	int left = margin, right = width - margin - body_w;
	int64_t p = cycle_pos(t_ms);
	int x;
	bool walk = false;
	if (p < 8000) {
		x = left + (int)((right - left) * p / 8000);
		walk = true;
	} else if (p < 20000) {
		x = right;
	} else if (p < 28000) {
		x = right - (int)((right - left) * (p - 20000) / 8000);
		walk = true;
	} else {
		x = left;
	}
	if (walking)
		*walking = walk;
	return x;
}

static void draw_dog(const struct codec_i420 *img, int64_t t_ms)
{
	int w = img->width, h = img->height;
	bool walking;
	int x = scene_dog_x(w, t_ms, &walking);
	bool facing_right = cycle_pos(t_ms) < 20000;
	int body_w = w / 4, body_h = h / 6;
	int floor_y = h * 85 / 100;
	int leg_h = h / 10;
	int body_top = floor_y - leg_h - body_h;
	const struct rgb fur = {150, 95, 45}, dark = {90, 55, 25}, nose = {20, 15, 10};

	/* Legs: two pairs that swing while walking. */
	int swing = 0;
	if (walking) {
		int64_t step = (t_ms / 60) % 10; /* a stride every 600 ms */
		swing = (int)(step < 5 ? step : 10 - step) * (w / 160 + 1) - (w / 160 + 1) * 2;
	}
	int leg_w = body_w / 10 + 1;
	int legs[4] = {x + body_w / 8, x + body_w / 4, x + body_w * 5 / 8, x + body_w * 3 / 4};
	for (int i = 0; i < 4; i++) {
		int dx = (i % 2 == 0) ? swing : -swing;
		fill_rect(img, legs[i] + dx, body_top + body_h / 2, legs[i] + dx + leg_w, floor_y,
			  i % 2 ? fur : dark);
	}
	fill_ellipse(img, x + body_w / 2, body_top + body_h / 2, body_w / 2, body_h / 2, fur);

	/* Head, ear, nose and tail on the side the dog is heading. */
	int head_r = body_h * 2 / 3;
	int head_x = facing_right ? x + body_w + head_r / 3 : x - head_r / 3;
	int head_y = body_top - head_r / 4;
	int tail_x = facing_right ? x - body_w / 16 : x + body_w + body_w / 16;
	fill_ellipse(img, tail_x, body_top + body_h / 8, body_w / 8, body_h / 6, dark);
	fill_ellipse(img, head_x, head_y, head_r, head_r * 4 / 5, fur);
	fill_ellipse(img, facing_right ? head_x - head_r / 3 : head_x + head_r / 3,
		     head_y - head_r / 2, head_r / 3, head_r * 2 / 3, dark);
	int snout = facing_right ? head_x + head_r * 4 / 5 : head_x - head_r * 4 / 5;
	fill_ellipse(img, snout, head_y + head_r / 5, head_r / 4, head_r / 5, nose);
	fill_ellipse(img, facing_right ? head_x + head_r / 3 : head_x - head_r / 3,
		     head_y - head_r / 4, head_r / 8 + 1, head_r / 8 + 1, nose);
}

static void draw_clock(const struct codec_i420 *img, int hh, int mm, int ss)
{
	char text[9] = {(char)('0' + hh / 10 % 10), (char)('0' + hh % 10), ':',
			(char)('0' + mm / 10 % 10), (char)('0' + mm % 10), ':',
			(char)('0' + ss / 10 % 10), (char)('0' + ss % 10), 0};
	int scale = img->height / 60;
	if (scale > img->width / 56)
		scale = img->width / 56;
	if (scale < 1)
		scale = 1;
	int x0 = scale * 2, y0 = scale * 2;
	fill_rect(img, x0 - scale, y0 - scale, x0 + 8 * 6 * scale, y0 + 8 * scale,
		  (struct rgb){20, 20, 30});
	const struct rgb ink = {255, 255, 255};
	for (int i = 0; i < 8; i++) {
		const uint8_t *g = scene_glyph(text[i]);
		int gx = x0 + i * 6 * scale;
		for (int row = 0; row < 7; row++)
			for (int col = 0; col < 5; col++)
				if (g[row] & (0x10 >> col))
					fill_rect(img, gx + col * scale, y0 + row * scale,
						  gx + (col + 1) * scale, y0 + (row + 1) * scale,
						  ink);
	}
}

const struct codec_i420 *scene_render(struct scene *s, int64_t t_ms, int hh, int mm, int ss)
{
	memcpy(s->buf, s->background, s->size);
	draw_dog(&s->img, t_ms);
	draw_clock(&s->img, hh, mm, ss);
	return &s->img;
}
