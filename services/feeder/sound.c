#include "sound.h"

#include <math.h>
#include <string.h>

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int sound_wav_parse(const void *buf, size_t len, struct sound_pcm *out, const char **err)
{
	const unsigned char *p = buf;
	memset(out, 0, sizeof(*out));
	if (len < 12 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WAVE", 4) != 0) {
		*err = "not a RIFF/WAVE file";
		return -1;
	}
	if (len > SOUND_MAX_BYTES) {
		*err = "file too large";
		return -1;
	}
	size_t off = 12;
	int have_fmt = 0;
	const unsigned char *data = NULL;
	size_t data_len = 0;
	while (off + 8 <= len) {
		uint32_t size = le32(p + off + 4);
		const unsigned char *body = p + off + 8;
		size_t avail = len - off - 8;
		if (memcmp(p + off, "fmt ", 4) == 0) {
			if (size < 16 || size > avail) {
				*err = "truncated fmt chunk";
				return -1;
			}
			uint16_t format = le16(body);
			uint16_t channels = le16(body + 2);
			uint32_t rate = le32(body + 4);
			uint16_t block_align = le16(body + 12);
			uint16_t bits = le16(body + 14);
			/* WAVE_FORMAT_EXTENSIBLE with a PCM subformat is PCM too. */
			if (format == 0xFFFE && size >= 40 && le16(body + 24) == 1)
				format = 1;
			if (format != 1) {
				*err = "not PCM";
				return -1;
			}
			if (bits != 16) {
				*err = "not 16-bit";
				return -1;
			}
			if (channels < 1 || channels > 2) {
				*err = "only mono or stereo";
				return -1;
			}
			if (rate < 8000 || rate > 192000) {
				*err = "sample rate out of range";
				return -1;
			}
			if (block_align != channels * 2) {
				*err = "bad block align";
				return -1;
			}
			out->channels = channels;
			out->rate = rate;
			have_fmt = 1;
		} else if (memcmp(p + off, "data", 4) == 0) {
			data = body;
			/* A streamed WAV may say 0 or 0xFFFFFFFF: take what is there. */
			data_len = size > avail ? avail : size;
		}
		size_t step = 8 + (size_t)size + (size & 1);
		if (step > len - off)
			break;
		off += step;
	}
	if (!have_fmt) {
		*err = "no fmt chunk";
		return -1;
	}
	if (!data) {
		*err = "no data chunk";
		return -1;
	}
	out->samples = (const int16_t *)(const void *)data;
	out->frames = data_len / (out->channels * 2);
	if (out->frames == 0) {
		*err = "no samples";
		return -1;
	}
	return 0;
}

#define TONE_MS 250

size_t sound_chime_frames(unsigned rate)
{
	return (size_t)rate * TONE_MS * 2 / 1000;
}

size_t sound_chime(int16_t *out, size_t cap, unsigned rate)
{
	const double pi = 3.14159265358979323846;
	const size_t per_tone = (size_t)rate * TONE_MS / 1000;
	const double freqs[2] = {660.0, 880.0};
	const size_t attack = (size_t)rate / 200; /* 5 ms: no click */
	size_t n = 0;
	for (size_t t = 0; t < 2; t++) {
		for (size_t i = 0; i < per_tone && n < cap; i++, n++) {
			double env = exp(-3.0 * (double)i / (double)per_tone);
			if (i < attack)
				env *= (double)i / (double)attack;
			double v = 0.6 * env * sin(2.0 * pi * freqs[t] * (double)i / (double)rate);
			out[n] = (int16_t)lrint(v * 32767.0);
		}
	}
	return n;
}
