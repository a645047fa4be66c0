#include "codec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "log.h"

#define DHT_MAX 1024

struct codec {
	tjhandle enc;
	tjhandle dec;
	int width, height, quality;
	unsigned char *jpeg; /* tjAlloc'd, codec_max_jpeg() bytes, never reallocated */
	unsigned long jpeg_cap;
	unsigned long jpeg_len;
	struct codec_i420 i420; /* scratch for YUYV input */
	uint8_t *i420_buf;
	uint8_t *gray; /* 1/8-scale gray decode */
	size_t gray_cap;
	uint8_t dht[DHT_MAX]; /* the standard Huffman tables as DHT segments */
	size_t dht_len;
	uint8_t *thumb_rgb; /* codec_thumbnail's decoded picture */
	size_t thumb_rgb_cap;
	unsigned char *thumb_jpeg; /* tjAlloc'd, thumb_jpeg_cap bytes */
	unsigned long thumb_jpeg_cap;
};

size_t codec_max_jpeg(int width, int height)
{
	unsigned long n = tjBufSize(width, height, TJSAMP_420);
	return n == (unsigned long)-1 ? 0 : (size_t)n;
}

static int i420_alloc(struct codec_i420 *img, uint8_t **buf, int width, int height)
{
	int cw = (width + 1) / 2, ch = (height + 1) / 2;
	size_t ysize = (size_t)width * (size_t)height, csize = (size_t)cw * (size_t)ch;
	*buf = malloc(ysize + 2 * csize);
	if (!*buf)
		return -1;
	img->plane[0] = *buf;
	img->plane[1] = *buf + ysize;
	img->plane[2] = *buf + ysize + csize;
	img->stride[0] = width;
	img->stride[1] = img->stride[2] = cw;
	img->width = width;
	img->height = height;
	return 0;
}

/* Copy every DHT segment of a JPEG we just wrote: they are the standard
 * tables, since libturbojpeg only optimises them when asked to. */
static void harvest_dht(struct codec *c, const uint8_t *jpeg, size_t len)
{
	size_t pos = 2;
	c->dht_len = 0;
	while (pos + 4 <= len && jpeg[pos] == 0xFF) {
		uint8_t marker = jpeg[pos + 1];
		size_t seglen = ((size_t)jpeg[pos + 2] << 8) | jpeg[pos + 3];
		if (marker == 0xDA || pos + 2 + seglen > len)
			break;
		if (marker == 0xC4 && c->dht_len + 2 + seglen <= sizeof(c->dht)) {
			memcpy(c->dht + c->dht_len, jpeg + pos, 2 + seglen);
			c->dht_len += 2 + seglen;
		}
		pos += 2 + seglen;
	}
}

static int make_standard_dht(struct codec *c)
{
	struct codec_i420 img;
	uint8_t *buf;
	if (i420_alloc(&img, &buf, 16, 16) < 0)
		return -1;
	memset(buf, 128, 16 * 16 + 2 * 8 * 8);
	unsigned char *out = NULL;
	unsigned long out_len = 0;
	int rc = tjCompressFromYUVPlanes(c->enc, (const unsigned char **)img.plane, 16, img.stride,
					 16, TJSAMP_420, &out, &out_len, 75, 0);
	if (rc == 0)
		harvest_dht(c, out, out_len);
	tjFree(out);
	free(buf);
	return rc == 0 && c->dht_len > 0 ? 0 : -1;
}

struct codec *codec_new(int width, int height, int quality)
{
	struct codec *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->width = width;
	c->height = height;
	c->quality = quality;
	c->enc = tjInitCompress();
	c->dec = tjInitDecompress();
	c->jpeg_cap = (unsigned long)codec_max_jpeg(width, height);
	c->gray_cap = (size_t)((width + 7) / 8) * (size_t)((height + 7) / 8);
	if (!c->enc || !c->dec || c->jpeg_cap == 0) {
		log_error("camera: libturbojpeg init failed for %dx%d", width, height);
		codec_free(c);
		return NULL;
	}
	c->jpeg = tjAlloc((int)c->jpeg_cap);
	c->gray = malloc(c->gray_cap);
	if (!c->jpeg || !c->gray || i420_alloc(&c->i420, &c->i420_buf, width, height) < 0) {
		log_error("camera: out of memory for %dx%d buffers", width, height);
		codec_free(c);
		return NULL;
	}
	if (make_standard_dht(c) < 0) {
		log_error("camera: libturbojpeg: %s", tjGetErrorStr2(c->enc));
		codec_free(c);
		return NULL;
	}
	return c;
}

void codec_free(struct codec *c)
{
	if (!c)
		return;
	if (c->enc)
		tjDestroy(c->enc);
	if (c->dec)
		tjDestroy(c->dec);
	tjFree(c->jpeg);
	tjFree(c->thumb_jpeg);
	free(c->thumb_rgb);
	free(c->i420_buf);
	free(c->gray);
	free(c);
}

int codec_encode_i420(struct codec *c, const struct codec_i420 *img, const uint8_t **jpeg,
		      size_t *len)
{
	if (img->width != c->width || img->height != c->height) {
		log_error("camera: frame is %dx%d, encoder %dx%d", img->width, img->height,
			  c->width, c->height);
		return -1;
	}
	/* TJFLAG_NOREALLOC: the buffer was sized with tjBufSize(), so this never
	 * allocates; a frame that cannot fit fails instead of growing it. */
	c->jpeg_len = c->jpeg_cap;
	if (tjCompressFromYUVPlanes(c->enc, (const unsigned char **)img->plane, img->width,
				    img->stride, img->height, TJSAMP_420, &c->jpeg, &c->jpeg_len,
				    c->quality, TJFLAG_NOREALLOC) < 0) {
		log_error("camera: encode failed: %s", tjGetErrorStr2(c->enc));
		return -1;
	}
	*jpeg = c->jpeg;
	*len = c->jpeg_len;
	return 0;
}

void codec_yuyv_to_i420(const uint8_t *yuyv, int width, int height, int stride,
			const struct codec_i420 *out)
{
	for (int y = 0; y < height; y += 2) {
		const uint8_t *r0 = yuyv + (size_t)y * (size_t)stride;
		const uint8_t *r1 = r0 + stride;
		uint8_t *y0 = out->plane[0] + (size_t)y * (size_t)out->stride[0];
		uint8_t *y1 = y0 + out->stride[0];
		uint8_t *u = out->plane[1] + (size_t)(y / 2) * (size_t)out->stride[1];
		uint8_t *v = out->plane[2] + (size_t)(y / 2) * (size_t)out->stride[2];
		for (int x = 0; x < width; x += 2) {
			const uint8_t *p0 = r0 + 2 * x, *p1 = r1 + 2 * x;
			y0[x] = p0[0];
			y0[x + 1] = p0[2];
			y1[x] = p1[0];
			y1[x + 1] = p1[2];
			u[x / 2] = (uint8_t)((p0[1] + p1[1] + 1) / 2);
			v[x / 2] = (uint8_t)((p0[3] + p1[3] + 1) / 2);
		}
	}
}

int codec_encode_yuyv(struct codec *c, const uint8_t *yuyv, size_t len, int stride,
		      const uint8_t **jpeg, size_t *jpeg_len, const struct codec_i420 **img)
{
	if (stride < 2 * c->width || len < (size_t)stride * (size_t)c->height) {
		log_error("camera: YUYV frame of %zu bytes, stride %d, is short for %dx%d", len,
			  stride, c->width, c->height);
		return -1;
	}
	codec_yuyv_to_i420(yuyv, c->width, c->height, stride, &c->i420);
	if (img)
		*img = &c->i420;
	return codec_encode_i420(c, &c->i420, jpeg, jpeg_len);
}

/* After a failed decode the decompressor starts afresh: libturbojpeg 2.1's
 * tjDecompressHeader3 leaves it mid-header when it fails, and the next call
 * then returns 0 without setting the size (a damaged MJPEG frame followed
 * by a good one would read stale numbers). */
static void dec_failed(struct codec *c)
{
	if (c->dec)
		tjDestroy(c->dec);
	c->dec = tjInitDecompress();
}

/* The size of a JPEG; -1 if it has none (the decompressor reset). */
static int dec_header(struct codec *c, const uint8_t *jpeg, size_t len, int *w, int *h)
{
	int subsamp, colorspace;
	*w = *h = 0;
	if (!c->dec)
		c->dec = tjInitDecompress();
	if (!c->dec)
		return -1;
	if (tjDecompressHeader3(c->dec, jpeg, (unsigned long)len, w, h, &subsamp, &colorspace) <
		0 ||
	    *w < 1 || *h < 1) {
		dec_failed(c);
		return -1;
	}
	return 0;
}

int codec_gray_eighth(struct codec *c, const uint8_t *jpeg, size_t len, const uint8_t **gray,
		      int *w, int *h)
{
	int jw, jh;
	if (dec_header(c, jpeg, len, &jw, &jh) < 0)
		return -1;
	tjscalingfactor eighth = {1, 8};
	int sw = TJSCALED(jw, eighth), sh = TJSCALED(jh, eighth);
	if ((size_t)sw * (size_t)sh > c->gray_cap)
		return -1;
	if (tjDecompress2(c->dec, jpeg, (unsigned long)len, c->gray, sw, sw, sh, TJPF_GRAY,
			  TJFLAG_FASTDCT) < 0) {
		dec_failed(c);
		return -1;
	}
	*gray = c->gray;
	*w = sw;
	*h = sh;
	return 0;
}

long codec_mjpeg_fix_dht(const struct codec *c, const uint8_t *jpeg, size_t len, uint8_t *out,
			 size_t cap)
{
	if (len < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
		return -1;
	size_t pos = 2;
	while (pos + 4 <= len) {
		if (jpeg[pos] != 0xFF)
			return -1;
		uint8_t marker = jpeg[pos + 1];
		if (marker == 0xFF) { /* fill byte */
			pos++;
			continue;
		}
		if (marker == 0xC4)
			return 0;
		if (marker == 0xDA)
			break;
		size_t seglen = ((size_t)jpeg[pos + 2] << 8) | jpeg[pos + 3];
		if (seglen < 2 || pos + 2 + seglen > len)
			return -1;
		pos += 2 + seglen;
	}
	if (pos + 4 > len || len + c->dht_len > cap)
		return -1;
	memcpy(out, jpeg, pos);
	memcpy(out + pos, c->dht, c->dht_len);
	memcpy(out + pos + c->dht_len, jpeg + pos, len - pos);
	return (long)(len + c->dht_len);
}

void codec_rgb_halve(uint8_t *rgb, int width, int height)
{
	int hw = width / 2, hh = height / 2;
	size_t in_row = (size_t)width * 3, out_row = (size_t)hw * 3;
	/* Row y of the result is written where rows 2y and 2y+1 were read from
	 * or before them, so working forwards never overwrites unread input. */
	for (int y = 0; y < hh; y++) {
		const uint8_t *r0 = rgb + (size_t)(2 * y) * in_row;
		const uint8_t *r1 = r0 + in_row;
		uint8_t *o = rgb + (size_t)y * out_row;
		for (int x = 0; x < hw; x++) {
			for (int k = 0; k < 3; k++) {
				size_t i = (size_t)(2 * x) * 3 + (size_t)k;
				o[(size_t)x * 3 + (size_t)k] =
				    (uint8_t)((r0[i] + r0[i + 3] + r1[i] + r1[i + 3] + 2) / 4);
			}
		}
	}
}

/* The largest scaling factor of at most 1 that makes width at most
 * max_width, else the smallest there is (1/8). */
static tjscalingfactor thumb_scale(int width, int max_width)
{
	int n = 0;
	tjscalingfactor *f = tjGetScalingFactors(&n);
	tjscalingfactor best = {1, 8};
	tjscalingfactor smallest = {1, 1};
	bool found = false;
	for (int i = 0; f && i < n; i++) {
		if (f[i].num > f[i].denom)
			continue;
		/* smallest: num/denom below smallest's */
		if (f[i].num * smallest.denom < smallest.num * f[i].denom)
			smallest = f[i];
		if (TJSCALED(width, f[i]) <= max_width &&
		    (!found || f[i].num * best.denom > best.num * f[i].denom)) {
			best = f[i];
			found = true;
		}
	}
	return found ? best : smallest;
}

static int thumb_buffers(struct codec *c, int width, int height)
{
	size_t rgb = (size_t)width * (size_t)height * 3;
	if (rgb > c->thumb_rgb_cap) {
		uint8_t *grown = realloc(c->thumb_rgb, rgb);
		if (!grown)
			return -ENOMEM;
		c->thumb_rgb = grown;
		c->thumb_rgb_cap = rgb;
	}
	unsigned long out = tjBufSize(width, height, TJSAMP_420);
	if (out == (unsigned long)-1)
		return -ENOMEM;
	if (out > c->thumb_jpeg_cap) {
		unsigned char *grown = tjAlloc((int)out);
		if (!grown)
			return -ENOMEM;
		tjFree(c->thumb_jpeg);
		c->thumb_jpeg = grown;
		c->thumb_jpeg_cap = out;
	}
	return 0;
}

/* The picture in thumb_rgb being made a thumbnail: packed RGB (from a
 * JPEG) or I420 planes (from a frame we encode), width x height. */
struct thumb_img {
	bool rgb;
	int width, height;
};

/* I420 in thumb_rgb: Y, then U and V of ceil(width/2) x ceil(height/2),
 * each plane's rows packed. */
static void thumb_i420_planes(struct codec *c, int w, int h, struct codec_i420 *p)
{
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	p->plane[0] = c->thumb_rgb;
	p->plane[1] = p->plane[0] + (size_t)w * (size_t)h;
	p->plane[2] = p->plane[1] + (size_t)cw * (size_t)ch;
	p->stride[0] = w;
	p->stride[1] = p->stride[2] = cw;
	p->width = w;
	p->height = h;
}

static void thumb_halve(struct codec *c, struct thumb_img *img)
{
	if (img->rgb) {
		codec_rgb_halve(c->thumb_rgb, img->width, img->height);
		img->width /= 2;
		img->height /= 2;
		return;
	}
	struct codec_i420 from, to;
	thumb_i420_planes(c, img->width, img->height, &from);
	int w = (img->width + 1) / 2, h = (img->height + 1) / 2;
	thumb_i420_planes(c, w, h, &to);
	/* Plane by plane, in order: each one's result lies at or before where
	 * it was read from (see codec_plane_halve). */
	for (int k = 0; k < 3; k++) {
		int pw = k ? (img->width + 1) / 2 : img->width;
		int ph = k ? (img->height + 1) / 2 : img->height;
		codec_plane_halve(from.plane[k], pw, ph, from.stride[k], to.plane[k]);
	}
	img->width = w;
	img->height = h;
}

static int thumb_encode(struct codec *c, const struct thumb_img *img, int quality,
			unsigned long *len)
{
	/* TJFLAG_NOREALLOC: thumb_jpeg holds tjBufSize() of the first size,
	 * which no smaller picture exceeds. */
	*len = c->thumb_jpeg_cap;
	if (img->rgb)
		return tjCompress2(c->enc, c->thumb_rgb, img->width, 0, img->height, TJPF_RGB,
				   &c->thumb_jpeg, len, TJSAMP_420, quality,
				   TJFLAG_NOREALLOC | TJFLAG_FASTDCT);
	struct codec_i420 p;
	thumb_i420_planes(c, img->width, img->height, &p);
	return tjCompressFromYUVPlanes(c->enc, (const unsigned char **)p.plane, img->width,
				       p.stride, img->height, TJSAMP_420, &c->thumb_jpeg, len,
				       quality, TJFLAG_NOREALLOC | TJFLAG_FASTDCT);
}

/* Halve down to max_width, then the quality ladder, halving again after
 * each rung that failed (see codec_thumbnail). */
static int thumb_ladder(struct codec *c, struct thumb_img *img, int max_width, size_t max_bytes,
			struct codec_thumb *out)
{
	while (img->width > max_width && img->width / 2 >= CODEC_THUMB_MIN_SIDE &&
	       img->height / 2 >= CODEC_THUMB_MIN_SIDE)
		thumb_halve(c, img);
	for (;;) {
		for (int q = CODEC_THUMB_QUALITY; q >= CODEC_THUMB_QUALITY_MIN;
		     q -= CODEC_THUMB_QUALITY_STEP) {
			unsigned long n;
			if (thumb_encode(c, img, q, &n) < 0)
				return -EINVAL;
			out->encodes++;
			out->len = n;
			out->width = img->width;
			out->height = img->height;
			out->quality = q;
			if (n <= max_bytes) {
				out->jpeg = c->thumb_jpeg;
				return 0;
			}
		}
		if (img->width / 2 < CODEC_THUMB_MIN_SIDE || img->height / 2 < CODEC_THUMB_MIN_SIDE)
			return -E2BIG;
		thumb_halve(c, img);
	}
}

void codec_plane_halve(const uint8_t *in, int width, int height, int stride, uint8_t *out)
{
	int ow = (width + 1) / 2, oh = (height + 1) / 2;
	for (int y = 0; y < oh; y++) {
		const uint8_t *r0 = in + (size_t)(2 * y) * (size_t)stride;
		const uint8_t *r1 = 2 * y + 1 < height ? r0 + stride : r0;
		uint8_t *o = out + (size_t)y * (size_t)ow;
		for (int x = 0; x < ow; x++) {
			int x0 = 2 * x, x1 = 2 * x + 1 < width ? 2 * x + 1 : 2 * x;
			o[x] = (uint8_t)((r0[x0] + r0[x1] + r1[x0] + r1[x1] + 2) / 4);
		}
	}
}

int codec_thumbnail_i420(struct codec *c, const struct codec_i420 *img, int max_width,
			 size_t max_bytes, struct codec_thumb *out)
{
	memset(out, 0, sizeof(*out));
	if (max_width < 1 || !img || img->width < 1 || img->height < 1)
		return -EINVAL;
	/* The first halving reads the frame's planes; a frame narrow enough
	 * already is copied as it is. */
	int w = img->width, h = img->height;
	bool halve =
	    w > max_width && w / 2 >= CODEC_THUMB_MIN_SIDE && h / 2 >= CODEC_THUMB_MIN_SIDE;
	int tw = halve ? (w + 1) / 2 : w, th = halve ? (h + 1) / 2 : h;
	int rc = thumb_buffers(c, tw, th);
	if (rc < 0)
		return rc;
	struct codec_i420 to;
	thumb_i420_planes(c, tw, th, &to);
	for (int k = 0; k < 3; k++) {
		int pw = k ? (w + 1) / 2 : w, ph = k ? (h + 1) / 2 : h;
		if (halve) {
			codec_plane_halve(img->plane[k], pw, ph, img->stride[k], to.plane[k]);
			continue;
		}
		for (int y = 0; y < ph; y++)
			memcpy(to.plane[k] + (size_t)y * (size_t)to.stride[k],
			       img->plane[k] + (size_t)y * (size_t)img->stride[k], (size_t)pw);
	}
	struct thumb_img t = {.rgb = false, .width = tw, .height = th};
	return thumb_ladder(c, &t, max_width, max_bytes, out);
}

int codec_thumbnail(struct codec *c, const uint8_t *jpeg, size_t len, int max_width,
		    size_t max_bytes, struct codec_thumb *out)
{
	int jw, jh;
	memset(out, 0, sizeof(*out));
	if (max_width < 1 || !jpeg || len == 0 || dec_header(c, jpeg, len, &jw, &jh) < 0)
		return -EINVAL;
	/* Already small enough both ways: the frame is its own thumbnail (an
	 * encode would only lose detail), once a decode at 1/8 (the cheapest
	 * there is) proved it whole. */
	if (jw <= max_width && len <= max_bytes) {
		tjscalingfactor eighth = {1, 8};
		int sw = TJSCALED(jw, eighth), sh = TJSCALED(jh, eighth);
		int rc = thumb_buffers(c, sw, sh);
		if (rc < 0)
			return rc;
		if (tjDecompress2(c->dec, jpeg, (unsigned long)len, c->thumb_rgb, sw, 0, sh,
				  TJPF_GRAY, TJFLAG_FASTDCT) < 0) {
			dec_failed(c);
			return -EINVAL;
		}
		*out = (struct codec_thumb){.jpeg = jpeg, .len = len, .width = jw, .height = jh};
		return 0;
	}
	tjscalingfactor f = thumb_scale(jw, max_width);
	int w = TJSCALED(jw, f), h = TJSCALED(jh, f);
	if (w < 1 || h < 1)
		return -EINVAL;
	int rc = thumb_buffers(c, w, h);
	if (rc < 0)
		return rc;
	if (tjDecompress2(c->dec, jpeg, (unsigned long)len, c->thumb_rgb, w, 0, h, TJPF_RGB,
			  TJFLAG_FASTDCT) < 0) {
		dec_failed(c);
		return -EINVAL;
	}
	struct thumb_img img = {.rgb = true, .width = w, .height = h};
	return thumb_ladder(c, &img, max_width, max_bytes, out);
}
