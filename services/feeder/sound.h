/*
 * sound — the call sound as PCM: a RIFF/WAVE parser (16-bit PCM only) and
 * a generated two-tone chime for when <data dir>/call.wav is absent. Pure
 * functions, no ALSA, so the tests check them without a sound card.
 */
#ifndef IOD_FEEDER_SOUND_H
#define IOD_FEEDER_SOUND_H

#include <stddef.h>
#include <stdint.h>

#define SOUND_MAX_BYTES (8 * 1024 * 1024) /* call.wav larger than this is refused */

struct sound_pcm {
	unsigned rate;		/* frames per second, 8000..192000 */
	unsigned channels;	/* 1 or 2 */
	const int16_t *samples; /* interleaved, little-endian in the file (points into buf) */
	size_t frames;
};

/* Parse a 16-bit PCM WAV held in buf (chunks in any order, unknown chunks
 * skipped, odd chunk sizes padded). The result points into buf. 0, or -1
 * with *err naming the problem. The host must be little-endian (it is on
 * every machine iod targets); samples are not byte-swapped. */
int sound_wav_parse(const void *buf, size_t len, struct sound_pcm *out, const char **err);

/* Frames the chime needs at rate. */
size_t sound_chime_frames(unsigned rate);
/* Write the chime (mono) into out (cap frames); returns frames written:
 * 660 Hz then 880 Hz, 250 ms each with a soft attack and decay, peak below
 * full scale. */
size_t sound_chime(int16_t *out, size_t cap, unsigned rate);

#endif
