/* speaker: backends by spec, and the real ALSA playback thread against
 * ALSA's "null" device (no sound card needed). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sound.h"
#include "speaker.h"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/iod-speaker-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(speaker, .init = setup, .fini = teardown);

/* Wait (bounded) for the playback thread to finish. */
static bool wait_idle(struct speaker *s)
{
	for (int i = 0; i < 500 && speaker_playing(s); i++)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	return !speaker_playing(s);
}

Test(speaker, specs, .timeout = 5)
{
	char err[128];
	struct speaker *s = speaker_open("sim", dir, err, sizeof(err));
	cr_assert_not_null(s);
	cr_assert_str_eq(speaker_backend(s), "sim");
	cr_assert_eq(speaker_play(s), 0);
	cr_assert_eq(speaker_plays(s), 1);
	cr_assert_not(speaker_playing(s));
	speaker_close(s);
	const char *bad[] = {"alsa:", "alsa", "pulse:x", "", "sim:1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(speaker_open(bad[i], dir, err, sizeof(err)), "accepted '%s'",
			       bad[i]);
}

Test(speaker, alsa_null_plays_the_chime_on_a_thread, .timeout = 20)
{
	char err[128];
	struct speaker *s = speaker_open("alsa:null", dir, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(speaker_play(s), 0);
	cr_assert(wait_idle(s), "playback thread never finished");
	cr_assert_eq(speaker_play(s), 0, "a second call after the first ended");
	cr_assert(wait_idle(s));
	cr_assert_eq(speaker_plays(s), 2);
	speaker_close(s);
}

Test(speaker, alsa_null_plays_call_wav, .timeout = 20)
{
	/* a 0.1 s mono 8 kHz WAV */
	char path[300];
	snprintf(path, sizeof(path), "%s/call.wav", dir);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	const unsigned frames = 800, bytes = frames * 2;
	unsigned char hdr[44] =
	    "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data";
	unsigned riff = 36 + bytes;
	memcpy(hdr + 4, &riff, 4);
	memcpy(hdr + 40, &bytes, 4);
	fwrite(hdr, 1, sizeof(hdr), f);
	for (unsigned i = 0; i < frames; i++) {
		short v = (short)((i % 40) * 500);
		fwrite(&v, 2, 1, f);
	}
	fclose(f);
	char err[128];
	struct speaker *s = speaker_open("alsa:null", dir, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(speaker_play(s), 0);
	cr_assert(wait_idle(s));
	speaker_close(s);
}

Test(speaker, missing_device_fails_on_the_thread_not_the_loop, .timeout = 20)
{
	char err[128];
	struct speaker *s = speaker_open("alsa:iod_no_such_device", dir, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(speaker_play(s), 0, "play returns at once; the thread logs the error");
	cr_assert(wait_idle(s));
	speaker_close(s);
}

Test(speaker, close_while_playing_stops_and_joins, .timeout = 20)
{
	char err[128];
	struct speaker *s = speaker_open("alsa:null", dir, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(speaker_play(s), 0);
	speaker_close(s); /* must not hang or leak (ASan build) */
}
