#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "scene.h"
#include "source.h"

struct sim {
	struct scene *scene;
	bool started;
	int64_t first_ms; /* wall time of the first frame: the scene's SCENE_FIRST_REST_MS */
};

static int sim_open(const char *arg, int width, int height, int fps, void **state,
		    struct source_info *info)
{
	(void)arg;
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->scene = scene_new(width, height);
	if (!s->scene) {
		log_error("camera: sim scene %dx%d: out of memory or bad size", width, height);
		free(s);
		return -ENOMEM;
	}
	info->width = width;
	info->height = height;
	info->fps = fps;
	info->format = SOURCE_I420;
	*state = s;
	return 0;
}

static int sim_fd(void *state)
{
	(void)state;
	return -1;
}

static int sim_grab(void *state, int64_t wall_ms, struct source_frame *frame)
{
	struct sim *s = state;
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm local;
	if (!localtime_r(&secs, &local))
		return -EINVAL;
	if (!s->started) {
		s->started = true;
		s->first_ms = wall_ms;
	}
	/* The dog's walk runs from the first frame; the digits show the time. */
	const struct codec_i420 *img =
	    scene_render(s->scene, wall_ms - s->first_ms + SCENE_FIRST_REST_MS, local.tm_hour,
			 local.tm_min, local.tm_sec);
	*frame = (struct source_frame){
	    .format = SOURCE_I420,
	    .i420 = img,
	    .width = img->width,
	    .height = img->height,
	};
	return 0;
}

static void sim_release(void *state)
{
	(void)state;
}

static void sim_close(void *state)
{
	struct sim *s = state;
	if (!s)
		return;
	scene_free(s->scene);
	free(s);
}

const struct source_ops source_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .fd = sim_fd,
    .grab = sim_grab,
    .release = sim_release,
    .close = sim_close,
};
