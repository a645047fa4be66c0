#include "speaker.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sound.h"

struct speaker {
	bool alsa;
	char spec[128];
	char device[112];
	char wav_path[PATH_MAX];
	pthread_t thread;
	bool thread_started; /* loop thread only */
	atomic_bool playing; /* set by the loop, cleared by the player thread */
	atomic_bool stop;    /* set by speaker_close */
	uint64_t plays;
};

/* Read the whole file into a malloc'd buffer; NULL if absent or too big. */
static void *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	void *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= SOUND_MAX_BYTES && (buf = malloc((size_t)st.st_size))) {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, (char *)buf + got, (size_t)st.st_size - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		*len = got;
	}
	close(fd);
	return buf;
}

/* Runs on the player thread: everything it touches is its own, except the
 * two atomics. */
static void *player(void *arg)
{
	struct speaker *s = arg;
	size_t file_len = 0;
	void *file = read_file(s->wav_path, &file_len);
	int16_t *chime = NULL;
	struct sound_pcm pcm;
	const char *why = NULL;
	if (!file || sound_wav_parse(file, file_len, &pcm, &why) < 0) {
		if (file)
			log_warn("speaker: %s: %s; playing the chime instead", s->wav_path, why);
		unsigned rate = 48000;
		chime = malloc(sound_chime_frames(rate) * sizeof(*chime));
		if (!chime)
			goto out;
		pcm = (struct sound_pcm){.rate = rate, .channels = 1, .samples = chime};
		pcm.frames = sound_chime(chime, sound_chime_frames(rate), rate);
	}
	snd_pcm_t *h = NULL;
	int rc = snd_pcm_open(&h, s->device, SND_PCM_STREAM_PLAYBACK, 0);
	if (rc < 0) {
		log_error("speaker: %s: %s", s->device, snd_strerror(rc));
		goto out;
	}
	rc = snd_pcm_set_params(h, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED,
				pcm.channels, pcm.rate, 1, 200000);
	if (rc < 0) {
		log_error("speaker: %s: set_params: %s", s->device, snd_strerror(rc));
		snd_pcm_close(h);
		goto out;
	}
	size_t done = 0;
	while (done < pcm.frames && !atomic_load(&s->stop)) {
		size_t chunk = pcm.frames - done > 4800 ? 4800 : pcm.frames - done;
		snd_pcm_sframes_t w = snd_pcm_writei(h, pcm.samples + done * pcm.channels, chunk);
		if (w < 0)
			w = snd_pcm_recover(h, (int)w, 1);
		if (w < 0) {
			log_error("speaker: %s: write: %s", s->device, snd_strerror((int)w));
			break;
		}
		done += (size_t)w;
	}
	if (atomic_load(&s->stop))
		snd_pcm_drop(h);
	else
		snd_pcm_drain(h);
	snd_pcm_close(h);
out:
	free(file);
	free(chime);
	atomic_store(&s->playing, false);
	return NULL;
}

struct speaker *speaker_open(const char *spec, const char *data_dir, char *err, size_t err_size)
{
	struct speaker *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	snprintf(s->spec, sizeof(s->spec), "%s", spec);
	if (strcmp(spec, "sim") == 0) {
		s->alsa = false;
	} else if (strncmp(spec, "alsa:", 5) == 0 && spec[5] != '\0' &&
		   strlen(spec + 5) < sizeof(s->device)) {
		s->alsa = true;
		snprintf(s->device, sizeof(s->device), "%s", spec + 5);
		snprintf(s->wav_path, sizeof(s->wav_path), "%s/call.wav", data_dir);
	} else {
		snprintf(err, err_size, "unknown speaker '%s' (sim, alsa:<device>)", spec);
		free(s);
		return NULL;
	}
	atomic_init(&s->playing, false);
	atomic_init(&s->stop, false);
	return s;
}

int speaker_play(struct speaker *s)
{
	if (!s->alsa) {
		log_info("speaker sim: calling the dog");
		s->plays++;
		return 0;
	}
	if (atomic_load(&s->playing))
		return -EBUSY;
	if (s->thread_started) {
		pthread_join(s->thread, NULL); /* finished: playing is false */
		s->thread_started = false;
	}
	atomic_store(&s->playing, true);
	int rc = pthread_create(&s->thread, NULL, player, s);
	if (rc != 0) {
		atomic_store(&s->playing, false);
		return -rc;
	}
	s->thread_started = true;
	s->plays++;
	return 0;
}

bool speaker_playing(const struct speaker *s)
{
	return atomic_load(&((struct speaker *)s)->playing);
}

const char *speaker_backend(const struct speaker *s)
{
	return s->spec;
}

uint64_t speaker_plays(const struct speaker *s)
{
	return s->plays;
}

void speaker_close(struct speaker *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	free(s);
}
