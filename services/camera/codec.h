/*
 * codec — JPEG in and out with libturbojpeg, and the pixel-format helpers
 * around it.
 *
 * One struct codec per stream: the compressor, the decompressor and every
 * buffer are made once in codec_new() for the configured size, so encoding a
 * frame allocates nothing. Frames are encoded as baseline JPEG, 4:2:0.
 * Single-threaded; the returned JPEG stays valid until the next encode.
 */
#ifndef IOD_CAMERA_CODEC_H
#define IOD_CAMERA_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* A planar 4:2:0 image: Y is width x height, U and V (width+1)/2 x (height+1)/2. */
struct codec_i420 {
	uint8_t *plane[3];
	int stride[3];
	int width, height;
};

struct codec;

/* NULL on error (logged). quality 1..100. */
struct codec *codec_new(int width, int height, int quality);
void codec_free(struct codec *c);

/* Encode an I420 image of the codec's size. *jpeg points into the codec.
 * 0 or -1 (logged). */
int codec_encode_i420(struct codec *c, const struct codec_i420 *img, const uint8_t **jpeg,
		      size_t *len);

/*
 * Convert packed YUYV 4:2:2 (Y0 U Y1 V, `stride` bytes per row) of the
 * codec's size into the codec's own I420 image, then encode it. *gray_img
 * (may be NULL) is set to that I420 image so its Y plane can feed motion.
 */
int codec_encode_yuyv(struct codec *c, const uint8_t *yuyv, size_t len, int stride,
		      const uint8_t **jpeg, size_t *jpeg_len, const struct codec_i420 **img);

/*
 * Decode a JPEG as gray at 1/8 scale (the DCT does the scaling, so this is
 * cheap) into the codec's buffer. *gray, *w, *h describe the result; the
 * stride is *w. 0 or -1 (a corrupt frame; not logged, the caller counts).
 */
int codec_gray_eighth(struct codec *c, const uint8_t *jpeg, size_t len, const uint8_t **gray,
		      int *w, int *h);

/*
 * A small JPEG of a JPEG, for the motion thumbnail (app.c publishes it on
 * camera/snapshot): the picture decoded at the largest libturbojpeg scaling
 * factor (n/8, at most 1) that makes it at most max_width wide
 * (tjDecompress2 does the scaling in the DCT), halved with a 2x2 box when
 * even 1/8 is wider, then encoded 4:2:0 at CODEC_THUMB_QUALITY, and again
 * CODEC_THUMB_QUALITY_STEP lower each time it is over max_bytes, down to
 * CODEC_THUMB_QUALITY_MIN; still over, the picture is halved and the
 * qualities are tried again from the top, until a side would drop below
 * CODEC_THUMB_MIN_SIDE. The picture is decoded once; only the encodes
 * repeat.
 *
 * A JPEG already at most max_width wide and max_bytes long is its own
 * thumbnail once it decodes (at 1/8): out->jpeg = jpeg, quality 0
 * (unknown), no encode.
 *
 * 0: out->jpeg (in the codec, valid until the next thumbnail, or jpeg
 * itself) is a JPEG of at most max_bytes. -EINVAL: jpeg is not a JPEG
 * libturbojpeg decodes (or an encode failed), or max_width < 1 (out->len
 * 0). -E2BIG: no picture fit; out describes the smallest tried (out->len
 * its bytes, out->jpeg NULL). -ENOMEM. Nothing is logged: the caller says
 * what the thumbnail was for. The buffers are kept and grow only for a
 * larger picture than any before.
 */
#define CODEC_THUMB_QUALITY	 75
#define CODEC_THUMB_QUALITY_STEP 10
#define CODEC_THUMB_QUALITY_MIN	 35
#define CODEC_THUMB_MIN_SIDE	 16

struct codec_thumb {
	const uint8_t *jpeg;
	size_t len;
	int width, height; /* of the thumbnail (or the smallest tried) */
	int quality;	   /* 0: the frame itself */
	int encodes;	   /* encodes it took */
};

int codec_thumbnail(struct codec *c, const uint8_t *jpeg, size_t len, int max_width,
		    size_t max_bytes, struct codec_thumb *out);

/*
 * The same from an I420 image (a frame the codec encodes itself: the sim, a
 * YUYV camera), without decoding the JPEG just made of it, which costs as
 * much as encoding the frame: the planes are halved with a 2x2 box until
 * the picture is at most max_width wide (an odd last column or row is
 * averaged with itself), then the qualities and halvings above. A picture
 * narrow enough already is encoded at its size. img is only read. 0,
 * -EINVAL (no picture, max_width < 1), -E2BIG, -ENOMEM, as above.
 */
int codec_thumbnail_i420(struct codec *c, const struct codec_i420 *img, int max_width,
			 size_t max_bytes, struct codec_thumb *out);

/* Halve one plane (width x height, stride bytes a row) into out, rows of
 * ceil(width/2) packed: ceil(width/2) x ceil(height/2), each the mean of its
 * 2x2 box, an odd edge averaged with itself. out may be in (stride >= width):
 * each result is written at or before the first byte it reads. */
void codec_plane_halve(const uint8_t *in, int width, int height, int stride, uint8_t *out);

/* Halve a packed RGB image (3 bytes a pixel, rows of 3 * width) with a 2x2
 * box average, in place: the result is width / 2 x height / 2, rows of
 * 3 * (width / 2); an odd last column or row is dropped. width, height >= 2. */
void codec_rgb_halve(uint8_t *rgb, int width, int height);

/* Pure helpers, exposed for tests. */

/* YUYV -> I420; the two chroma rows of each pair are averaged. width and
 * height even. */
void codec_yuyv_to_i420(const uint8_t *yuyv, int width, int height, int stride,
			const struct codec_i420 *out);

/* Bytes a JPEG of width x height needs at most (libturbojpeg's bound). */
size_t codec_max_jpeg(int width, int height);

/*
 * A UVC camera's MJPEG frames often carry no Huffman tables (DHT): decoders
 * are meant to assume the standard ones, and browsers do not all do that.
 * The codec takes the standard tables from a JPEG libturbojpeg writes at
 * codec_new() (it uses them unless told to optimise), so none are pasted in.
 * If `jpeg` has no DHT before its first SOS, write a copy with the standard
 * tables inserted into out (cap bytes) and return its length; return 0 if
 * the frame already has tables (use it as it is), -1 if it is not a JPEG or
 * does not fit.
 */
long codec_mjpeg_fix_dht(const struct codec *c, const uint8_t *jpeg, size_t len, uint8_t *out,
			 size_t cap);

#endif
