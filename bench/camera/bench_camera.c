/*
 * bench_camera — what iod-camera costs.
 *
 * 1. In process: render + encode + motion for one 640x480 sim frame,
 *    p50/p99/max over 300 frames.
 * 2. The real binary against a real mosquitto on a free port, for each frame
 *    rate: CPU share of one core (utime+stime from /proc over the window),
 *    RSS, and the frames and bytes a subscriber actually received.
 *
 * Usage: bench_camera [seconds per rate, default 20]
 * Finds iod-camera next to itself (or in $IOD_BIN_DIR). Prints; asserts nothing.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "camera.h"
#include "harness.h"
#include "scene.h"

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void bench_in_process(void)
{
	enum { N = 300 };
	struct camera_settings s = {
	    .source = "sim", .width = 640, .height = 480, .fps = 15, .quality = 75};
	motion_params_default(&s.motion, 15);
	struct camera *cam = camera_new(&s, 640, 480);
	struct scene *sc = scene_new(640, 480);
	if (!cam || !sc) {
		fprintf(stderr, "bench: cannot set up the pipeline\n");
		exit(1);
	}
	static int64_t render_us[N], frame_us[N];
	size_t bytes = 0;
	for (int i = 0; i < N; i++) {
		int64_t t0 = mono_us();
		const struct codec_i420 *img = scene_render(sc, i * 66, 12, 0, i / 15 % 60);
		int64_t t1 = mono_us();
		struct source_frame f = {
		    .format = SOURCE_I420, .i420 = img, .width = 640, .height = 480};
		struct camera_output out;
		if (camera_frame(cam, &f, i * 66, &out) < 0) {
			fprintf(stderr, "bench: frame failed\n");
			exit(1);
		}
		int64_t t2 = mono_us();
		render_us[i] = t1 - t0;
		frame_us[i] = t2 - t1;
		bytes += out.jpeg_len;
	}
	qsort(render_us, N, sizeof(int64_t), cmp_i64);
	qsort(frame_us, N, sizeof(int64_t), cmp_i64);
	printf("in-process, 640x480 sim, %d frames, quality 75:\n", N);
	printf("  render            p50 %5lld us  p99 %5lld us  max %5lld us\n",
	       (long long)render_us[N / 2], (long long)render_us[N * 99 / 100],
	       (long long)render_us[N - 1]);
	printf("  encode + motion   p50 %5lld us  p99 %5lld us  max %5lld us\n",
	       (long long)frame_us[N / 2], (long long)frame_us[N * 99 / 100],
	       (long long)frame_us[N - 1]);
	printf("  mean JPEG size    %zu bytes\n", bytes / N);

	/* The sim's flat shapes compress well; a camera picture has grain and
	 * detail everywhere. Encode frames of the scene plus noise as a
	 * stand-in for that. */
	const struct codec_i420 *img = scene_render(sc, 0, 12, 0, 0);
	uint32_t rng = 1;
	bytes = 0;
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < 640 * 480; k++) {
			rng = rng * 1103515245u + 12345u;
			int v = img->plane[0][k] + (int)((rng >> 16) % 25) - 12;
			img->plane[0][k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
		struct source_frame f = {
		    .format = SOURCE_I420, .i420 = img, .width = 640, .height = 480};
		struct camera_output out;
		int64_t t0 = mono_us();
		if (camera_frame(cam, &f, i * 66, &out) < 0)
			exit(1);
		frame_us[i] = mono_us() - t0;
		bytes += out.jpeg_len;
		img = scene_render(sc, 0, 12, 0, 0);
	}
	qsort(frame_us, N, sizeof(int64_t), cmp_i64);
	printf("  noisy frame (camera-like detail):\n");
	printf("  encode + motion   p50 %5lld us  p99 %5lld us  max %5lld us\n",
	       (long long)frame_us[N / 2], (long long)frame_us[N * 99 / 100],
	       (long long)frame_us[N - 1]);
	printf("  mean JPEG size    %zu bytes\n\n", bytes / N);
	scene_free(sc);
	camera_free(cam);
}

/* utime + stime of a process, in clock ticks; -1 if gone. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Fields after the ")" of the command name: state is field 3, utime 14, stime 15. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long ut = 0, st = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* VmRSS and VmHWM in KiB. */
static void rss_kib(pid_t pid, long *rss, long *hwm)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	*rss = *hwm = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = atol(line + 6);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = atol(line + 6);
	}
	fclose(f);
}

static void bench_service(struct harness_broker *b, int fps, int seconds)
{
	char fps_env[32], url_env[128], dir_env[256];
	char *dir = harness_tmpdir("iod-bench-camera");
	snprintf(fps_env, sizeof(fps_env), "IOD_CAMERA_FPS=%d", fps);
	snprintf(url_env, sizeof(url_env), "IOD_MQTT_URL=%s", b->url);
	snprintf(dir_env, sizeof(dir_env), "IOD_DATA_DIR=%s", dir ? dir : "/tmp");
	const char *env[] = {fps_env, url_env, dir_env, "IOD_SITE=bench", "IOD_LOG_LEVEL=warn",
			     NULL};
	struct tclient *c = tclient_new(b->url, "bench-camera-sub");
	if (!c || tclient_subscribe(c, "iod/bench/camera/frame", 0) < 0) {
		fprintf(stderr, "bench: subscriber failed\n");
		exit(1);
	}
	pid_t pid = harness_spawn("iod-camera", NULL, env);
	struct tmsg *m = tclient_expect(c, "iod/bench/camera/frame", 10000);
	if (pid < 0 || !m) {
		fprintf(stderr, "bench: iod-camera sent no frame\n");
		exit(1);
	}
	tmsg_free(m);
	/* Let it settle (first connect, discovery) before measuring. */
	int64_t settle_end = mono_us() + 2000000;
	while (mono_us() < settle_end)
		tmsg_free(tclient_expect(c, "iod/bench/camera/frame", 100));

	long long cpu0 = cpu_ticks(pid), broker0 = cpu_ticks(b->pid);
	int64_t t0 = mono_us(), end = t0 + (int64_t)seconds * 1000000;
	long frames = 0;
	size_t bytes = 0;
	for (int64_t now; (now = mono_us()) < end;) {
		m = tclient_expect(c, "iod/bench/camera/frame", (int)((end - now) / 1000) + 1);
		if (!m)
			continue;
		frames++;
		bytes += m->len;
		tmsg_free(m);
	}
	int64_t t1 = mono_us();
	long long cpu1 = cpu_ticks(pid), broker1 = cpu_ticks(b->pid);
	long rss, hwm;
	rss_kib(pid, &rss, &hwm);
	int code = harness_stop(pid, SIGTERM, 5000);

	double wall_s = (double)(t1 - t0) / 1e6, tck = (double)sysconf(_SC_CLK_TCK);
	double cpu_pct = (double)(cpu1 - cpu0) / tck / wall_s * 100.0;
	double broker_pct = (double)(broker1 - broker0) / tck / wall_s * 100.0;
	printf(
	    "iod-camera sim 640x480 at %2d fps, %d s: received %.2f fps (%ld frames, %.0f KiB/s)\n",
	    fps, seconds, (double)frames / wall_s, frames, (double)bytes / 1024.0 / wall_s);
	printf("  CPU %.1f %% of one core (mosquitto %.1f %%), RSS %ld KiB, peak RSS %ld KiB, exit "
	       "%d\n\n",
	       cpu_pct, broker_pct, rss, hwm, code);
	tclient_free(c);
	if (dir) {
		harness_rmtree(dir);
		free(dir);
	}
}

/* iod-camera lives next to this program unless IOD_BIN_DIR says otherwise. */
static void find_binaries(void)
{
	if (getenv("IOD_BIN_DIR"))
		return;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash) {
		*slash = 0;
		setenv("IOD_BIN_DIR", self, 1);
	}
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 20;
	if (seconds < 1)
		seconds = 20;
	find_binaries();
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	printf("bench_camera: %ld cores, %d s per rate\n\n", cores, seconds);
	bench_in_process();

	struct harness_broker b;
	if (harness_broker_start(&b, NULL) < 0) {
		fprintf(stderr, "bench: mosquitto did not start\n");
		return 1;
	}
	const int rates[] = {5, 15, 30};
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		bench_service(&b, rates[i], seconds);
	harness_broker_destroy(&b);
	return 0;
}
