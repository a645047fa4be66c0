/*
 * bench_bridge — iod-bridge against mosquitto's own websockets listener, on
 * the same machine and load, in one run:
 *
 *   1. latency publish -> websocket client, 100 clients x 1,000 readings/s
 *      (p50/p99/max), and server CPU per delivered frame;
 *   2. camera: 30 KB frames at 10 fps to 10 clients, then 30 fps to 50 (delivered, p50/p99);
 *   3. memory per idle client at 1,000 and 10,000 clients, and idle CPU.
 *
 * Phase 1 also runs bench_ws_floor (issue 15's "C floor": plain epoll, one
 * write() per frame per client, then 5 frames per write) on a third
 * mosquitto, through the same clients as iod-bridge, and ends with one table
 * of the four systems.
 *
 * The bridge side: mosquitto (TCP) + iod-bridge, clients on /ws. The
 * baseline: a second mosquitto with `listener <port>` + `protocol
 * websockets`, clients speaking MQTT 3.1.1 over websockets (CONNECT,
 * SUBSCRIBE iod/home/# QoS 0, then PUBLISH packets). One publisher (Paho,
 * its own thread) stamps CLOCK_MONOTONIC into each payload; the clients,
 * all in this process on one lws context, take the difference on arrival.
 * CPU comes from /proc/<pid>/stat, memory from /proc/<pid>/status.
 *
 * Usage: bench_bridge [seconds-per-phase (default 10)] [max idle clients (default 10000)]
 *                     [phases: bit 0 readings, 1 camera, 2 idle (default 7),
 *                      3 (8) the curve: 10/100/1,000 clients, 100/500/2,000 readings/s]
 * Run as root or with ulimit -n >= 25000 for the 10,000-client phase.
 */
#include "benchutil.h"
#include "harness.h"
#include "wsclient.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- latency samples -------------------------------------------------------- */

struct samples {
	double *v;
	size_t n, cap;
};

static void sample_add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1 << 16;
		s->v = realloc(s->v, s->cap * sizeof(double));
	}
	s->v[s->n++] = x;
}

static double pct(const struct samples *s, double p)
{
	return bench_percentile(s->v, s->n, p);
}

/* ---- the clients --------------------------------------------------------------- */

enum kind { KIND_BRIDGE, KIND_MQTT };

struct client {
	enum kind kind;
	bool subscribed;    /* MQTT: SUBACK seen; bridge: ready seen */
	unsigned char *buf; /* MQTT byte stream being parsed */
	size_t len, cap;
	uint64_t readings, frames;
};

static struct samples lat_readings, lat_frames;
static bool measuring;

static int64_t stamp_of_text(const char *data, size_t len)
{
	(void)len;
	const char *p = strstr(data, "\"t_ns\":");
	return p ? strtoll(p + 7, NULL, 10) : 0;
}

static int64_t stamp_of_frame(const unsigned char *data, size_t len)
{
	int64_t t = 0;
	if (len >= 10)
		memcpy(&t, data + 2, sizeof(t)); /* after the JPEG SOI marker */
	return t;
}

static void got_reading(struct client *cl, int64_t t, int64_t now)
{
	cl->readings++;
	if (measuring && t > 0)
		sample_add(&lat_readings, (double)(now - t) / 1000.0);
}

static void got_frame(struct client *cl, int64_t t, int64_t now)
{
	cl->frames++;
	if (measuring && t > 0)
		sample_add(&lat_frames, (double)(now - t) / 1000.0);
}

/* MQTT 3.1.1 over websockets: parse whole packets out of the byte stream. */
static void mqtt_feed(struct client *cl, const unsigned char *data, size_t len, int64_t now)
{
	if (cl->len + len > cl->cap) {
		cl->cap = (cl->len + len) * 2;
		cl->buf = realloc(cl->buf, cl->cap);
	}
	memcpy(cl->buf + cl->len, data, len);
	cl->len += len;
	size_t off = 0;
	for (;;) {
		if (cl->len - off < 2)
			break;
		size_t rl = 0, mul = 1, i = 1;
		bool complete = false;
		while (off + i < cl->len && i <= 4) {
			unsigned char b = cl->buf[off + i];
			rl += (b & 127) * mul;
			mul *= 128;
			i++;
			if (!(b & 128)) {
				complete = true;
				break;
			}
		}
		if (!complete || cl->len - off < i + rl)
			break;
		unsigned char type = cl->buf[off] >> 4;
		const unsigned char *body = cl->buf + off + i;
		if (type == 9) {
			cl->subscribed = true;
		} else if (type == 3 && rl >= 2) {
			size_t tl = ((size_t)body[0] << 8) | body[1];
			size_t hdr = 2 + tl + ((cl->buf[off] & 6) ? 2 : 0);
			if (hdr <= rl) {
				const unsigned char *pl = body + hdr;
				size_t plen = rl - hdr;
				bool frame =
				    tl >= 12 && !memcmp(body + 2 + tl - 12, "camera/frame", 12);
				if (frame) {
					got_frame(cl, stamp_of_frame(pl, plen), now);
				} else {
					char tmp[256];
					size_t n = plen < sizeof(tmp) - 1 ? plen : sizeof(tmp) - 1;
					memcpy(tmp, pl, n);
					tmp[n] = '\0';
					got_reading(cl, stamp_of_text(tmp, n), now);
				}
			}
		}
		off += i + rl;
	}
	memmove(cl->buf, cl->buf + off, cl->len - off);
	cl->len -= off;
}

static void on_frame(struct wsc_conn *c, const struct wsc_frame *f)
{
	struct client *cl = c->user;
	int64_t now = f->rx_ns;
	if (cl->kind == KIND_MQTT) {
		mqtt_feed(cl, (const unsigned char *)f->data, f->len, now);
		return;
	}
	if (f->binary) {
		got_frame(cl, stamp_of_frame((const unsigned char *)f->data, f->len), now);
		return;
	}
	if (strstr(f->data, "\"type\":\"ready\"")) {
		cl->subscribed = true;
		return;
	}
	if (strstr(f->data, "\"t_ns\":"))
		got_reading(cl, stamp_of_text(f->data, f->len), now);
}

static void mqtt_hello(struct wsc_conn *c, int n)
{
	unsigned char pkt[128];
	char id[32];
	int idl = snprintf(id, sizeof(id), "bench-%d", n);
	size_t k = 0;
	pkt[k++] = 0x10;
	pkt[k++] = (unsigned char)(10 + 2 + idl);
	memcpy(pkt + k, "\0\4MQTT\4\2\0\0", 10); /* level 4, clean session, no keepalive */
	k += 10;
	pkt[k++] = 0;
	pkt[k++] = (unsigned char)idl;
	memcpy(pkt + k, id, (size_t)idl);
	k += (size_t)idl;
	const char *filter = "iod/home/#";
	size_t fl = strlen(filter);
	pkt[k++] = 0x82;
	pkt[k++] = (unsigned char)(2 + 2 + fl + 1);
	pkt[k++] = 0;
	pkt[k++] = 1;
	pkt[k++] = 0;
	pkt[k++] = (unsigned char)fl;
	memcpy(pkt + k, filter, fl);
	k += fl;
	pkt[k++] = 0;
	wsc_send_binary(c, pkt, k);
}

struct fleet {
	struct wsc *w;
	struct client *cl;
	struct wsc_conn **c;
	int n;
};

static bool fleet_ready(void *arg)
{
	struct fleet *f = arg;
	bool all = true;
	for (int i = 0; i < f->n; i++) {
		if (f->c[i]->closed)
			return true; /* reported by the caller */
		if (f->cl[i].kind == KIND_MQTT && f->c[i]->established && !f->c[i]->user_sent) {
			mqtt_hello(f->c[i], i);
			f->c[i]->user_sent = true;
		}
		if (!f->cl[i].subscribed)
			all = false;
	}
	return all;
}

static int fleet_open(struct fleet *f, enum kind kind, int port, int from, int to)
{
	for (int i = from; i < to; i++) {
		f->cl[i].kind = kind;
		if (kind == KIND_BRIDGE)
			f->c[i] = wsc_connect(f->w, port, NULL, NULL, "iod.v1", false);
		else
			f->c[i] = wsc_connect_path(f->w, port, "/mqtt", NULL, NULL, "mqtt", false);
		f->c[i]->user = &f->cl[i];
		f->c[i]->on_frame = on_frame;
		if (i % 100 == 99)
			wsc_run_for(f->w, 5);
	}
	f->n = to;
	bool ok = wsc_run_until(f->w, fleet_ready, f, 120000);
	int closed = 0, established = 0, subscribed = 0;
	for (int i = 0; i < to; i++) {
		closed += f->c[i]->closed;
		established += f->c[i]->established;
		subscribed += f->cl[i].subscribed;
	}
	if (!ok || closed) {
		printf("  (of %d clients: %d established, %d subscribed/ready, %d closed%s)\n", to,
		       established, subscribed, closed, ok ? "" : ", 120 s timeout");
		return -1;
	}
	return 0;
}

/* ---- the publisher (its own thread, Paho) ------------------------------------------ */

struct pub {
	const char *url;
	double rate; /* messages per second */
	double seconds;
	bool camera; /* 30 KB frames instead of readings */
	volatile bool done;
	uint64_t sent;
};

static void *publisher(void *arg)
{
	struct pub *p = arg;
	struct tclient *tc = tclient_new(p->url, p->camera ? "bench-pub-cam" : "bench-pub");
	if (!tc) {
		p->done = true;
		return NULL;
	}
	static unsigned char frame[30 * 1024];
	memset(frame, 0x55, sizeof(frame));
	frame[0] = 0xff;
	frame[1] = 0xd8;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	uint64_t total = (uint64_t)(p->rate * p->seconds);
	int64_t step = (int64_t)(1e9 / p->rate);
	for (uint64_t i = 0; i < total; i++) {
		int64_t now = wsc_now_ns();
		if (p->camera) {
			memcpy(frame + 2, &now, sizeof(now));
			tclient_publish(tc, "iod/home/camera/frame", frame, sizeof(frame), 0,
					false);
		} else {
			char text[160], topic[64];
			snprintf(topic, sizeof(topic), "iod/home/sensors/bench%u",
				 (unsigned)(i % 10));
			snprintf(text, sizeof(text),
				 "{\"value\":%.2f,\"unit\":\"dB\",\"ts\":%lld,\"t_ns\":%lld}",
				 40 + (double)(i % 100) / 10, (long long)(now / 1000000),
				 (long long)now);
			tclient_publish_str(tc, topic, text, 0, false);
		}
		p->sent++;
		next.tv_nsec += step;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	usleep(500000);
	tclient_free(tc);
	p->done = true;
	return NULL;
}

static bool pub_done(void *arg)
{
	return ((struct pub *)arg)->done;
}

/* ---- phases ---------------------------------------------------------------------------- */

struct target {
	const char *name;
	const char *alone; /* what pids[0] is, for "(... alone x us/frame)" */
	enum kind kind;
	int port;	     /* websocket port */
	const char *pub_url; /* where the publisher sends */
	pid_t pids[2];	     /* server processes whose CPU counts */
	int npids;
};

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double cpu_of(const struct target *t)
{
	double s = 0;
	for (int i = 0; i < t->npids; i++) {
		/* A process that is gone adds nothing (it is counted as it ends). */
		double c = bench_cpu_seconds(t->pids[i]);
		s += c > 0 ? c : 0;
	}
	return s;
}

/* One run_stream's figures, for phase 1's table. */
struct result {
	bool ok;
	double delivered_pct, p50_ms, p99_ms, cpu_us, alone_us;
};

static struct result run_stream(const struct target *t, int clients, double rate, double seconds,
				bool camera)
{
	struct result r = {0};
	struct fleet f = {wsc_new(), calloc((size_t)clients, sizeof(struct client)),
			  calloc((size_t)clients, sizeof(struct wsc_conn *)), 0};
	if (fleet_open(&f, t->kind, t->port, 0, clients) < 0) {
		printf("  %-22s could not connect %d clients\n", t->name, clients);
		wsc_free(f.w);
		return r;
	}
	struct samples *lat = camera ? &lat_frames : &lat_readings;
	lat->n = 0;
	wsc_run_for(f.w, 300);
	measuring = true;
	struct pub p = {t->pub_url, rate, seconds, camera, false, 0};
	double cpu0 = cpu_of(t), first0 = bench_cpu_seconds(t->pids[0]), self0 = self_cpu();
	pthread_t th;
	pthread_create(&th, NULL, publisher, &p);
	wsc_run_until(f.w, pub_done, &p, (int)(seconds * 1000) + 30000);
	pthread_join(th, NULL);
	wsc_run_for(f.w, 500);
	double cpu = cpu_of(t) - cpu0, first = bench_cpu_seconds(t->pids[0]) - first0;
	double self = self_cpu() - self0;
	measuring = false;
	uint64_t got = 0, want = p.sent * (uint64_t)clients;
	for (int i = 0; i < clients; i++)
		got += camera ? f.cl[i].frames : f.cl[i].readings;
	bench_sort(lat->v, lat->n);
	printf("  %-22s sent %6llu x %4d clients: delivered %9llu (%5.1f%%)  p50 %8.3f ms  p99 "
	       "%8.3f ms  "
	       "max %8.3f ms  server CPU %6.2f s = %6.2f us/frame (%s alone %.2f us/frame)\n",
	       t->name, (unsigned long long)p.sent, clients, (unsigned long long)got,
	       want ? 100.0 * (double)got / (double)want : 0, pct(lat, 50) / 1000,
	       pct(lat, 99) / 1000, lat->n ? lat->v[lat->n - 1] / 1000 : NAN, cpu,
	       got ? cpu * 1e6 / (double)got : NAN, t->alone,
	       got ? first * 1e6 / (double)got : NAN);
	r = (struct result){true,
			    want ? 100.0 * (double)got / (double)want : 0,
			    pct(lat, 50) / 1000,
			    pct(lat, 99) / 1000,
			    got ? cpu * 1e6 / (double)got : NAN,
			    got ? first * 1e6 / (double)got : NAN};
	printf(
	    "  %-22s (the %d clients and the publisher, in this process: %.2f s CPU over %.0f s)\n",
	    "", clients, self, seconds);
	fflush(stdout);
	for (int i = 0; i < clients; i++)
		free(f.cl[i].buf);
	wsc_free(f.w);
	free(f.cl);
	free(f.c);
	return r;
}

/* bench_ws_floor on its own broker for one run_stream, then SIGTERM. */
static struct result run_floor(const char *name, const struct harness_broker *br, int batch,
			       int clients, double rate, double seconds)
{
	struct result r = {0};
	int port = harness_free_port();
	char p[16], b[16];
	snprintf(p, sizeof(p), "%d", port);
	snprintf(b, sizeof(b), "%d", batch);
	const char *args[] = {"--port", p, "--batch", b, "--mqtt", br->url, NULL};
	pid_t pid = harness_spawn("bench_ws_floor", args, NULL);
	if (pid < 0 || harness_wait_port(port, 10000) < 0) {
		printf("  %-22s cannot start bench_ws_floor\n", name);
		if (pid > 0)
			harness_stop(pid, SIGKILL, 1000);
		return r;
	}
	struct target t = {name, "floor", KIND_BRIDGE, port, br->url, {pid, br->pid}, 2};
	r = run_stream(&t, clients, rate, seconds, false);
	int rc = harness_stop(pid, SIGTERM, 5000);
	if (rc != 0)
		printf("  %-22s bench_ws_floor exit code on SIGTERM: %d\n", "", rc);
	return r;
}

static void print_table(const char *const names[], const struct result r[], int n)
{
	printf(
	    "\n  | system | server CPU per delivered frame (server alone) | delivered | p50 | p99 "
	    "publish -> client |\n  |---|---|---|---|---|\n");
	for (int i = 0; i < n; i++) {
		if (!r[i].ok) {
			printf("  | %s | (did not run) | | | |\n", names[i]);
			continue;
		}
		printf("  | %s | %.2f us (%.2f) | %.1f %% | %.2f ms | %.2f ms |\n", names[i],
		       r[i].cpu_us, r[i].alone_us, r[i].delivered_pct, r[i].p50_ms, r[i].p99_ms);
	}
	fflush(stdout);
}

static void run_idle(const struct target *t, pid_t mem_pid, int steps[], int nsteps)
{
	int max = steps[nsteps - 1];
	struct fleet f = {wsc_new(), calloc((size_t)max, sizeof(struct client)),
			  calloc((size_t)max, sizeof(struct wsc_conn *)), 0};
	wsc_run_for(f.w, 200);
	long base = bench_status_kib(mem_pid, "VmRSS");
	int from = 0;
	for (int s = 0; s < nsteps; s++) {
		if (fleet_open(&f, t->kind, t->port, from, steps[s]) < 0) {
			printf("  %-22s could not hold %d clients\n", t->name, steps[s]);
			break;
		}
		from = steps[s];
		wsc_run_for(f.w, 1000);
		double c0 = cpu_of(t);
		wsc_run_for(f.w, 3000);
		double idle = cpu_of(t) - c0;
		long rss = bench_status_kib(mem_pid, "VmRSS"),
		     hwm = bench_status_kib(mem_pid, "VmHWM");
		printf(
		    "  %-22s %6d idle clients: RSS %7ld kB (peak %7ld kB), %6.0f bytes/client over "
		    "%ld kB empty; CPU over 3 s idle: %.2f s\n",
		    t->name, steps[s], rss, hwm, (double)(rss - base) * 1024.0 / steps[s], base,
		    idle);
		fflush(stdout);
	}
	for (int i = 0; i < max; i++)
		free(f.cl[i].buf);
	wsc_free(f.w);
	free(f.cl);
	free(f.c);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10;
	int max_idle = argc > 2 ? atoi(argv[2]) : 10000;
	/* bit 0 readings, 1 camera, 2 idle, 3 the curve over clients and rate (not by default) */
	int phases = argc > 3 ? atoi(argv[3]) : 7;
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl = {65536, 65536};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("bench_bridge: %.0f s per phase, open files %llu\n", seconds,
	       (unsigned long long)rl.rlim_cur);
	bench_default_bin_dir();

	/* a: iod-bridge's broker; b: mosquitto's websockets listener; c: the
	 * floor's broker (only phase 1, so the other two stay idle meanwhile). */
	struct harness_broker a, b, c;
	int wsport = harness_free_port();
	char extra[256];
	snprintf(extra, sizeof(extra), "listener %d 127.0.0.1\nprotocol websockets\n", wsport);
	if (harness_broker_start(&a, NULL) < 0 || harness_broker_start(&b, extra) < 0 ||
	    harness_wait_port(wsport, 5000) < 0 ||
	    ((phases & 1) && harness_broker_start(&c, NULL) < 0)) {
		fprintf(stderr, "bench_bridge: cannot start mosquitto\n");
		return 1;
	}
	int port = harness_free_port();
	char e_url[128], e_port[64];
	snprintf(e_url, sizeof(e_url), "IOD_MQTT_URL=%s", a.url);
	snprintf(e_port, sizeof(e_port), "IOD_BRIDGE_PORT=%d", port);
	const char *env[] = {e_url,
			     e_port,
			     "IOD_BRIDGE_PUBLIC_VIEW=1",
			     "IOD_BRIDGE_BIND=127.0.0.1",
			     "IOD_BRIDGE_MAX_CLIENTS=20000",
			     "IOD_LOG_LEVEL=warn",
			     "IOD_DATA_DIR=/tmp/bench-bridge-data",
			     NULL};
	pid_t bridge = harness_spawn("iod-bridge", NULL, env);
	if (bridge < 0 || harness_wait_port(port, 10000) < 0) {
		fprintf(stderr, "bench_bridge: cannot start iod-bridge\n");
		return 1;
	}
	sleep(1);
	struct target tb = {"iod-bridge (+broker)", "bridge", KIND_BRIDGE, port, a.url,
			    {bridge, a.pid},	    2};
	struct target tm = {
	    "mosquitto websockets", "broker", KIND_MQTT, wsport, b.url, {b.pid, 0}, 1};

	if (phases & 1) {
		printf(
		    "\n1. readings: 100 clients x 1,000 readings/s (10 topics), publish -> client "
		    "socket\n");
		static const char *const names[] = {"floor (1 write/frame)",
						    "floor (5 frames/write)", "mosquitto ws",
						    "iod-bridge"};
		struct result r[4];
		r[0] = run_floor("floor, 1 write/frame", &c, 1, 100, 1000, seconds);
		r[1] = run_floor("floor, 5 frames/write", &c, 5, 100, 1000, seconds);
		r[2] = run_stream(&tm, 100, 1000, seconds, false);
		r[3] = run_stream(&tb, 100, 1000, seconds, false);
		printf("\n  the four systems (CPU: the floor and iod-bridge with their broker, the "
		       "server alone in brackets; mosquitto ws is its own broker)\n");
		print_table(names, r, 4);
		harness_broker_destroy(&c);
	}
	if (phases & 2) {

		printf("\n2. camera: 30 KB frames at 10 fps to 10 clients\n");
		run_stream(&tb, 10, 10, seconds, true);
		run_stream(&tm, 10, 10, seconds, true);
		printf("\n2b. camera: 30 KB frames at 30 fps to 50 clients (issue 15's target)\n");
		run_stream(&tb, 50, 30, seconds, true);
		run_stream(&tm, 50, 30, seconds, true);
	}
	if (phases & 8) {
		/* Issue 15's curve: CPU per delivered frame against clients at
		 * 1,000 readings/s, and against the rate at 100 clients. */
		static const int clients[] = {10, 100, 1000};
		static const double rates[] = {100, 500, 2000};
		for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
			printf("\n4. curve: %d clients x 1,000 readings/s\n", clients[i]);
			run_stream(&tb, clients[i], 1000, seconds, false);
			run_stream(&tm, clients[i], 1000, seconds, false);
		}
		for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
			printf("\n4. curve: 100 clients x %.0f readings/s\n", rates[i]);
			run_stream(&tb, 100, rates[i], seconds, false);
			run_stream(&tm, 100, rates[i], seconds, false);
		}
	}
	if (phases & 4) {

		printf("\n3. idle clients: memory of the server process, CPU while idle\n");
		int steps[] = {1000, max_idle};
		int nsteps = max_idle > 1000 ? 2 : 1;
		run_idle(&tb, bridge, steps, nsteps);
		run_idle(&tm, b.pid, steps, nsteps);
	}

	int rc = harness_stop(bridge, SIGTERM, 10000);
	printf("\niod-bridge exit code on SIGTERM: %d\n", rc);
	harness_broker_destroy(&a);
	harness_broker_destroy(&b);
	return 0;
}
