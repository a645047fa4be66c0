/*
 * bench_camera — what iod-camera costs.
 *
 * 1. In process: render + encode + motion for one 640x480 sim frame,
 *    p50/p99/max over 300 frames, and beside it the motion thumbnail of
 *    each frame as iod-camera makes it: from the I420 planes for a frame it
 *    encodes (codec_thumbnail_i420: halve, encode until <= 10,240 bytes),
 *    and from the JPEG as for a camera's MJPEG (codec_thumbnail: the
 *    decode at a scaling factor, then the same encodes); for the sim, a
 *    noisy frame, and the sim at other sizes beside one frame encode alone.
 * 2. The real binary against a real mosquitto on a free port, for each frame
 *    rate: CPU share of one core (utime+stime from /proc over the window),
 *    RSS, and the frames and bytes a subscriber actually received.
 *
 * Usage: bench_camera [seconds per rate, default 20]
 * Finds iod-camera next to itself (or in $IOD_BIN_DIR). Prints; asserts nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "camera.h"
#include "codec.h"
#include "harness.h"
#include "scene.h"

/* One line of p50/p99/max over n sorted durations in microseconds. */
static void print_spread(const char *what, const double *sorted_us, size_t n)
{
	printf("  %-17s p50 %5.0f us  p99 %5.0f us  max %5.0f us\n", what,
	       bench_percentile(sorted_us, n, 50), bench_percentile(sorted_us, n, 99),
	       sorted_us[n - 1]);
}

/* What the thumbnails of a run came to. */
struct thumb_sum {
	size_t bytes, max_bytes;
	int width, height, min_quality, max_encodes, failed;
};

/* One thumbnail of a frame, in microseconds, added to *sum: from its planes
 * when img is given (a frame iod-camera encodes), else from its JPEG (as a
 * camera's MJPEG). */
static double time_thumbnail(struct codec *c, const struct codec_i420 *img, const uint8_t *jpeg,
			     size_t len, struct thumb_sum *sum)
{
	struct codec_thumb t;
	double t0 = bench_now_us();
	int rc =
	    img ? codec_thumbnail_i420(c, img, CAMERA_THUMB_MAX_WIDTH, CAMERA_THUMB_MAX_BYTES, &t)
		: codec_thumbnail(c, jpeg, len, CAMERA_THUMB_MAX_WIDTH, CAMERA_THUMB_MAX_BYTES, &t);
	double us = bench_now_us() - t0;
	if (rc < 0) {
		sum->failed++;
		return us;
	}
	sum->bytes += t.len;
	if (t.len > sum->max_bytes)
		sum->max_bytes = t.len;
	sum->width = t.width;
	sum->height = t.height;
	if (sum->min_quality == 0 || t.quality < sum->min_quality)
		sum->min_quality = t.quality;
	if (t.encodes > sum->max_encodes)
		sum->max_encodes = t.encodes;
	return us;
}

static void print_thumbs(const struct thumb_sum *s, int n)
{
	int made = n - s->failed;
	printf("  thumbnail         %dx%d, mean %zu bytes, max %zu, lowest quality %d, at most "
	       "%d encodes, %d of %d over %d bytes\n",
	       s->width, s->height, made > 0 ? s->bytes / (size_t)made : 0, s->max_bytes,
	       s->min_quality, s->max_encodes, s->failed, n, CAMERA_THUMB_MAX_BYTES);
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
	/* The thumbnails on a codec of their own: the pipeline's makes one
	 * only when motion starts. */
	struct codec *thumbs = codec_new(640, 480, 75);
	if (!thumbs) {
		fprintf(stderr, "bench: cannot set up the thumbnail codec\n");
		exit(1);
	}
	static double render_us[N], frame_us[N], thumb_us[N], mjpeg_us[N];
	struct thumb_sum ts = {0}, ms = {0};
	size_t bytes = 0;
	for (int i = 0; i < N; i++) {
		double t0 = bench_now_us();
		const struct codec_i420 *img = scene_render(sc, i * 66, 12, 0, i / 15 % 60);
		double t1 = bench_now_us();
		struct source_frame f = {
		    .format = SOURCE_I420, .i420 = img, .width = 640, .height = 480};
		struct camera_output out;
		if (camera_frame(cam, &f, i * 66, &out) < 0) {
			fprintf(stderr, "bench: frame failed\n");
			exit(1);
		}
		double t2 = bench_now_us();
		render_us[i] = t1 - t0;
		frame_us[i] = t2 - t1;
		thumb_us[i] = time_thumbnail(thumbs, img, NULL, 0, &ts);
		mjpeg_us[i] = time_thumbnail(thumbs, NULL, out.jpeg, out.jpeg_len, &ms);
		bytes += out.jpeg_len;
	}
	bench_sort(render_us, N);
	bench_sort(frame_us, N);
	bench_sort(thumb_us, N);
	bench_sort(mjpeg_us, N);
	printf("in-process, 640x480 sim, %d frames, quality 75:\n", N);
	print_spread("render", render_us, N);
	print_spread("encode + motion", frame_us, N);
	printf("  mean JPEG size    %zu bytes\n", bytes / N);
	print_spread("thumb from planes", thumb_us, N);
	print_thumbs(&ts, N);
	print_spread("thumb from JPEG", mjpeg_us, N);
	print_thumbs(&ms, N);
	ts = ms = (struct thumb_sum){0};

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
		double t0 = bench_now_us();
		if (camera_frame(cam, &f, i * 66, &out) < 0)
			exit(1);
		frame_us[i] = bench_now_us() - t0;
		thumb_us[i] = time_thumbnail(thumbs, img, NULL, 0, &ts);
		mjpeg_us[i] = time_thumbnail(thumbs, NULL, out.jpeg, out.jpeg_len, &ms);
		bytes += out.jpeg_len;
		img = scene_render(sc, 0, 12, 0, 0);
	}
	bench_sort(frame_us, N);
	bench_sort(thumb_us, N);
	bench_sort(mjpeg_us, N);
	printf("  noisy frame (camera-like detail):\n");
	print_spread("encode + motion", frame_us, N);
	printf("  mean JPEG size    %zu bytes\n", bytes / N);
	print_spread("thumb from planes", thumb_us, N);
	print_thumbs(&ts, N);
	print_spread("thumb from JPEG", mjpeg_us, N);
	print_thumbs(&ms, N);
	printf("\n");
	codec_free(thumbs);
	scene_free(sc);
	camera_free(cam);
}

/* The sim at other sizes: one frame encode beside its thumbnail. */
static void bench_thumbnail_sizes(void)
{
	enum { N = 100 };
	const int sizes[][2] = {{320, 240}, {640, 480}, {1280, 720}, {1920, 1080}, {2592, 1944}};
	printf("in-process, the sim at other sizes, %d frames each, quality 75:\n", N);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int w = sizes[k][0], h = sizes[k][1];
		struct scene *sc = scene_new(w, h);
		struct codec *enc = codec_new(w, h, 75), *thumbs = codec_new(w, h, 75);
		if (!sc || !enc || !thumbs) {
			fprintf(stderr, "bench: cannot set up %dx%d\n", w, h);
			exit(1);
		}
		static double enc_us[N], thumb_us[N], mjpeg_us[N];
		struct thumb_sum ts = {0}, ms = {0};
		size_t bytes = 0;
		for (int i = 0; i < N; i++) {
			const struct codec_i420 *img = scene_render(sc, i * 200, 12, 0, i % 60);
			const uint8_t *jpeg;
			size_t len;
			double t0 = bench_now_us();
			if (codec_encode_i420(enc, img, &jpeg, &len) < 0)
				exit(1);
			enc_us[i] = bench_now_us() - t0;
			bytes += len;
			thumb_us[i] = time_thumbnail(thumbs, img, NULL, 0, &ts);
			mjpeg_us[i] = time_thumbnail(thumbs, NULL, jpeg, len, &ms);
		}
		bench_sort(enc_us, N);
		bench_sort(thumb_us, N);
		bench_sort(mjpeg_us, N);
		printf("  %dx%d (mean JPEG %zu bytes):\n", w, h, bytes / N);
		print_spread("encode", enc_us, N);
		print_spread("thumb from planes", thumb_us, N);
		print_thumbs(&ts, N);
		print_spread("thumb from JPEG", mjpeg_us, N);
		print_thumbs(&ms, N);
		codec_free(thumbs);
		codec_free(enc);
		scene_free(sc);
	}
	printf("\n");
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
	double settle_end = bench_now_us() + 2e6;
	while (bench_now_us() < settle_end)
		tmsg_free(tclient_expect(c, "iod/bench/camera/frame", 100));

	double cpu0 = bench_cpu_seconds(pid), broker0 = bench_cpu_seconds(b->pid);
	double t0 = bench_now_us(), end = t0 + seconds * 1e6;
	long frames = 0;
	size_t bytes = 0;
	for (double now; (now = bench_now_us()) < end;) {
		m = tclient_expect(c, "iod/bench/camera/frame", (int)((end - now) / 1000) + 1);
		if (!m)
			continue;
		frames++;
		bytes += m->len;
		tmsg_free(m);
	}
	double t1 = bench_now_us();
	double cpu1 = bench_cpu_seconds(pid), broker1 = bench_cpu_seconds(b->pid);
	long rss = bench_status_kib(pid, "VmRSS"), hwm = bench_status_kib(pid, "VmHWM");
	int code = harness_stop(pid, SIGTERM, 5000);

	double wall_s = (t1 - t0) / 1e6;
	double cpu_pct = (cpu1 - cpu0) / wall_s * 100.0;
	double broker_pct = (broker1 - broker0) / wall_s * 100.0;
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

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 20;
	if (seconds < 1)
		seconds = 20;
	bench_default_bin_dir();
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	printf("bench_camera: %ld cores, %d s per rate\n\n", cores, seconds);
	bench_in_process();
	bench_thumbnail_sizes();

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
