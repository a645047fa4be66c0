/* sound: WAV parsing and the generated chime (the ALSA path's pure parts). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sound.h"

static size_t put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
	return 4;
}

static size_t put16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	return 2;
}

/* A WAV with an extra LIST chunk of odd size before data. */
static size_t make_wav(unsigned char *buf, uint16_t format, uint16_t channels, uint32_t rate,
		       uint16_t bits, size_t frames)
{
	size_t o = 0;
	memcpy(buf + o, "RIFF", 4);
	o += 4;
	size_t riff_size_at = o;
	o += 4;
	memcpy(buf + o, "WAVE", 4);
	o += 4;
	memcpy(buf + o, "fmt ", 4);
	o += 4;
	o += put32(buf + o, 16);
	o += put16(buf + o, format);
	o += put16(buf + o, channels);
	o += put32(buf + o, rate);
	o += put32(buf + o, rate * channels * bits / 8);
	o += put16(buf + o, (uint16_t)(channels * bits / 8));
	o += put16(buf + o, bits);
	memcpy(buf + o, "LIST", 4);
	o += 4;
	o += put32(buf + o, 3);
	memcpy(buf + o, "abc\0", 4); /* 3 bytes + pad */
	o += 4;
	memcpy(buf + o, "data", 4);
	o += 4;
	size_t bytes = frames * channels * bits / 8;
	o += put32(buf + o, (uint32_t)bytes);
	for (size_t i = 0; i < bytes / 2; i++)
		o += put16(buf + o, (uint16_t)(i * 7));
	put32(buf + riff_size_at, (uint32_t)(o - 8));
	return o;
}

Test(sound, parses_mono_and_stereo_pcm16, .timeout = 5)
{
	static unsigned char buf[8192];
	struct sound_pcm pcm;
	const char *err = NULL;
	size_t len = make_wav(buf, 1, 1, 22050, 16, 100);
	cr_assert_eq(sound_wav_parse(buf, len, &pcm, &err), 0, "%s", err);
	cr_assert_eq(pcm.rate, 22050);
	cr_assert_eq(pcm.channels, 1);
	cr_assert_eq(pcm.frames, 100);
	cr_assert_eq(pcm.samples[3], 21);
	len = make_wav(buf, 1, 2, 48000, 16, 50);
	cr_assert_eq(sound_wav_parse(buf, len, &pcm, &err), 0, "%s", err);
	cr_assert_eq(pcm.channels, 2);
	cr_assert_eq(pcm.frames, 50);
}

Test(sound, truncated_data_takes_what_is_there, .timeout = 5)
{
	static unsigned char buf[8192];
	struct sound_pcm pcm;
	const char *err = NULL;
	size_t len = make_wav(buf, 1, 1, 8000, 16, 100);
	cr_assert_eq(sound_wav_parse(buf, len - 40, &pcm, &err), 0, "%s", err);
	cr_assert_eq(pcm.frames, 80);
}

Test(sound, refuses_what_it_cannot_play, .timeout = 5)
{
	static unsigned char buf[8192];
	struct sound_pcm pcm;
	const char *err = NULL;
	size_t len = make_wav(buf, 1, 1, 8000, 8, 100);
	cr_assert_eq(sound_wav_parse(buf, len, &pcm, &err), -1);
	cr_assert_str_eq(err, "not 16-bit");
	len = make_wav(buf, 3, 1, 8000, 16, 100); /* IEEE float */
	cr_assert_eq(sound_wav_parse(buf, len, &pcm, &err), -1);
	cr_assert_str_eq(err, "not PCM");
	len = make_wav(buf, 1, 6, 8000, 16, 10);
	cr_assert_eq(sound_wav_parse(buf, len, &pcm, &err), -1);
	len = make_wav(buf, 1, 1, 1000, 16, 10);
	cr_assert_eq(sound_wav_parse(buf, len, &pcm, &err), -1);
	cr_assert_eq(sound_wav_parse("RIFF\0\0\0\0WAVX", 12, &pcm, &err), -1);
	cr_assert_eq(sound_wav_parse("RIFF", 4, &pcm, &err), -1);
	len = make_wav(buf, 1, 1, 8000, 16, 0);
	cr_assert_eq(sound_wav_parse(buf, len, &pcm, &err), -1);
	cr_assert_str_eq(err, "no samples");
	/* fmt chunk cut short */
	len = make_wav(buf, 1, 1, 8000, 16, 10);
	cr_assert_eq(sound_wav_parse(buf, 30, &pcm, &err), -1);
}

Test(sound, chime_is_two_tones_within_full_scale, .timeout = 5)
{
	unsigned rate = 48000;
	size_t frames = sound_chime_frames(rate);
	cr_assert_eq(frames, 24000); /* 2 x 250 ms */
	int16_t *pcm = malloc(frames * sizeof(*pcm));
	cr_assert_not_null(pcm);
	cr_assert_eq(sound_chime(pcm, frames, rate), frames);
	cr_assert_eq(pcm[0], 0, "soft attack starts at silence");
	int peak = 0;
	size_t crossings[2] = {0, 0};
	for (size_t i = 1; i < frames; i++) {
		int v = abs(pcm[i]);
		if (v > peak)
			peak = v;
		if ((pcm[i - 1] < 0) != (pcm[i] < 0))
			crossings[i < frames / 2]++;
	}
	cr_assert_gt(peak, 10000);
	cr_assert_lt(peak, 32767);
	/* zero crossings: 2 per cycle -> ~330 in the first 250 ms at 660 Hz,
	 * ~440 in the second at 880 Hz */
	cr_assert(crossings[1] > 320 && crossings[1] < 340, "first tone %zu", crossings[1]);
	cr_assert(crossings[0] > 430 && crossings[0] < 450, "second tone %zu", crossings[0]);
	cr_assert_eq(sound_chime(pcm, 100, rate), 100, "respects the cap");
	free(pcm);
}
