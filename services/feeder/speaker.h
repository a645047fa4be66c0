/*
 * speaker — plays the call sound, behind an ops table chosen by a string:
 *   "sim"            logs the call (default)
 *   "alsa:<device>"  plays <data dir>/call.wav (16-bit PCM) on the ALSA
 *                    device, else a generated two-tone chime
 * speaker_play() returns at once: ALSA playback runs on a short-lived
 * thread of its own (the loop must stay responsive), one at a time.
 * Call speaker_* from one thread (the loop's).
 */
#ifndef IOD_FEEDER_SPEAKER_H
#define IOD_FEEDER_SPEAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct speaker;

/* NULL with a message in err on a bad spec. data_dir is copied. */
struct speaker *speaker_open(const char *spec, const char *data_dir, char *err, size_t err_size);
/* Start playing. 0, -EBUSY while a call is still playing, or -errno. */
int speaker_play(struct speaker *s);
/* true while an ALSA playback thread is running. */
bool speaker_playing(const struct speaker *s);
const char *speaker_backend(const struct speaker *s);
uint64_t speaker_plays(const struct speaker *s);
/* Stops a playback in progress and waits for its thread. */
void speaker_close(struct speaker *s);

#endif
