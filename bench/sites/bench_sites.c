/*
 * bench_sites — one central iod-bridge serving many homes (IOD_BRIDGE_SITES=*,
 * issue 14's performance part), on a real mosquitto and the real binary:
 *
 *   - memory: the bridge's VmRSS before any home exists and after every home's
 *     retained state (feeder state/schedule/info/availability, sensors
 *     info/availability and one reading of each of the five sensors) arrived,
 *     so the memory one home costs; for 20 and for 200 homes;
 *   - load: every home's five sensors at the sim backend's rates (motion,
 *     sound and bowl every second, temperature and humidity every ten: 3.2
 *     readings/s a home, the homes spread evenly over the second) to 100
 *     dashboards on the overview (/ws?site=*, logged in as admin), for N
 *     seconds: frames delivered, p50/p99/max publish -> client latency (the
 *     publisher stamps CLOCK_MONOTONIC into each reading as "t_ns"), the
 *     bridge's CPU per delivered frame and mosquitto's own CPU over the same
 *     time; and the same 200 homes with the 100 clients on single homes'
 *     pages (/ws?site=<home>, one client per home for the first 100 homes).
 *
 * A fresh broker and a fresh bridge for each row. The clients, all in this
 * process on one lws context, and the publisher (Paho, its own thread) share
 * the machine with what they measure; their CPU is printed too.
 *
 * Usage: bench_sites [seconds (default 20)] [clients (default 100)]
 *                    [rows: bit 0 20 homes, 1 200 homes, 2 200 homes' pages (default 7)]
 *        bench_sites --retained-only <mqtt-url> [homes (default 200)]
 *            publish the homes' retained state (as above) and exit: what
 *            first_paint.mjs stands on.
 */
#include "benchutil.h"
#include "harness.h"
#include "wsclient.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD  "bench-sites-password"
#define HOMES_MAX 1024

static const char *const ZONES[] = {"Europe/London", "America/New_York", "Asia/Tokyo",
				    "Pacific/Auckland"};
#define N_ZONES (sizeof(ZONES) / sizeof(ZONES[0]))

static void home_name(int i, char *out, size_t size)
{
	snprintf(out, size, "home%03d", i);
}

/* ---- what a home publishes ------------------------------------------------- */

static const struct {
	const char *kind, *unit;
	double base, spread;
	int period_s; /* the sim's: 1 s activity, 10 s climate */
} SENSORS[] = {
    {"motion", "", 0, 1, 1},
    {"sound", "dB", 30, 10, 1},
    {"bowl", "g", 120, 40, 1},
    {"temperature",
     "\xc2\xb0"
     "C",
     21, 2, 10},
    {"humidity", "%", 50, 7, 10},
};
#define N_SENSORS (sizeof(SENSORS) / sizeof(SENSORS[0]))

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int reading(struct tclient *tc, int home, size_t k, uint64_t n)
{
	char topic[96], site[16], text[192];
	home_name(home, site, sizeof(site));
	snprintf(topic, sizeof(topic), "iod/%s/sensors/%s", site, SENSORS[k].kind);
	double v =
	    SENSORS[k].base + SENSORS[k].spread * (double)((n * 7 + (uint64_t)home) % 10) / 10;
	if (!strcmp(SENSORS[k].kind, "motion"))
		v = (double)((n + (uint64_t)home) % 2);
	int64_t now = wsc_now_ns();
	snprintf(text, sizeof(text), "{\"value\":%.2f,\"unit\":\"%s\",\"ts\":%lld,\"t_ns\":%lld}",
		 v, SENSORS[k].unit, (long long)wall_ms(), (long long)now);
	/* as iod-sensors does: QoS 0, retained */
	return tclient_publish_str(tc, topic, text, 0, true);
}

/* "YYYY-MM-DDTHH:MM" and "YYYY-MM-DD" of t in zone tz. */
static void local_slot(const char *tz, int64_t t_ms, char slot[24], char date[16])
{
	setenv("TZ", tz, 1);
	tzset();
	time_t t = (time_t)(t_ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(slot, 24, "%Y-%m-%dT%H:%M", &tm);
	if (date)
		strftime(date, 16, "%Y-%m-%d", &tm);
}

/* Every retained message of home i but the readings: feeder state, schedule,
 * availability and info; sensors availability and info. -1 on error. */
static int home_state(struct tclient *tc, int i)
{
	char site[16], topic[96], text[1024];
	home_name(i, site, sizeof(site));
	const char *tz = ZONES[(size_t)i % N_ZONES];
	int64_t now = wall_ms();
	/* one dose given two hours ago, the next in 1 h + i minutes, one tomorrow */
	int64_t last = now - 2 * 3600 * 1000, next = now + (60 + i % 600) * 60000LL,
		tomorrow = last + 24 * 3600 * 1000;
	char s_last[24], s_next[24], s_tom[24], date[16];
	local_slot(tz, last, s_last, date);
	local_slot(tz, next, s_next, NULL);
	local_slot(tz, tomorrow, s_tom, NULL);
	int rc = 0;
	for (int svc = 0; svc < 2; svc++) {
		const char *name = svc ? "sensors" : "feeder";
		snprintf(topic, sizeof(topic), "iod/%s/%s/availability", site, name);
		rc |= tclient_publish_str(tc, topic, "online", 0, true);
		snprintf(topic, sizeof(topic), "iod/%s/%s/info", site, name);
		snprintf(text, sizeof(text),
			 "{\"version\":\"0.1.0\",\"since\":%lld,\"backend\":\"sim\",\"tz\":\"%s\","
			 "\"site_name\":\"Foster home %03d\",\"dog_name\":\"%s %03d\"}",
			 (long long)(now - 3600000), tz, i, i % 3 ? "Rex" : "Biscuit", i);
		rc |= tclient_publish_str(tc, topic, text, 0, true);
	}
	snprintf(topic, sizeof(topic), "iod/%s/feeder/state", site);
	snprintf(text, sizeof(text),
		 "{\"position\":\"home\",\"last_dose\":%lld,\"next_allowed\":%lld,"
		 "\"next_scheduled\":%lld,\"doses_today\":1,\"pills_remaining\":%d,"
		 "\"runs_out\":%lld,\"clock_synced\":true}",
		 (long long)last, (long long)(last + 4 * 3600000LL), (long long)next, 20 + i % 30,
		 (long long)(now + 10LL * 24 * 3600000));
	rc |= tclient_publish_str(tc, topic, text, 0, true);
	snprintf(topic, sizeof(topic), "iod/%s/feeder/schedule", site);
	snprintf(
	    text, sizeof(text),
	    "{\"date\":\"%s\",\"slots\":[{\"slot\":\"%s\",\"at\":%lld,\"status\":\"given\","
	    "\"dose\":\"schedule-%s\"},{\"slot\":\"%s\",\"at\":%lld,\"status\":\"pending\","
	    "\"dose\":null},{\"slot\":\"%s\",\"at\":%lld,\"status\":\"pending\",\"dose\":null}],"
	    "\"ts\":%lld}",
	    date, s_last, (long long)last, s_last, s_next, (long long)next, s_tom,
	    (long long)tomorrow, (long long)now);
	rc |= tclient_publish_str(tc, topic, text, 0, true);
	return rc ? -1 : 0;
}

/* Messages home_state and one round of readings publish. */
#define HOME_RETAINED (6 + N_SENSORS)

/* Every home's retained state and one reading of each sensor; a QoS 1
 * publish at the end, so all went out (one connection keeps the order). */
static int publish_homes(struct tclient *tc, int from, int to)
{
	for (int i = from; i < to; i++) {
		if (home_state(tc, i) < 0)
			return -1;
		for (size_t k = 0; k < N_SENSORS; k++)
			if (reading(tc, i, k, 0) < 0)
				return -1;
	}
	return tclient_publish_str(tc, "bench/sites/done", "1", 1, false);
}

/* ---- the clients ------------------------------------------------------------- */

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

struct client {
	int home; /* -1: the overview */
	bool ready;
	uint64_t readings, text;
};

static struct samples lat;
static bool measuring;

static void on_frame(struct wsc_conn *c, const struct wsc_frame *f)
{
	struct client *cl = c->user;
	if (f->binary)
		return;
	cl->text++;
	if (!cl->ready && strstr(f->data, "\"type\":\"ready\"")) {
		cl->ready = true;
		return;
	}
	const char *p = strstr(f->data, "\"t_ns\":");
	if (!p || !measuring)
		return;
	cl->readings++;
	int64_t t = strtoll(p + 7, NULL, 10);
	if (t > 0)
		sample_add(&lat, (double)(f->rx_ns - t) / 1000.0);
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
	for (int i = 0; i < f->n; i++) {
		if (f->c[i]->closed)
			return true;
		if (!f->cl[i].ready)
			return false;
	}
	return true;
}

/* n clients, each on the overview (homes 0) or one on each of the first n
 * homes' pages. */
static int fleet_open(struct fleet *f, int port, const char *cookie, int n, bool homes)
{
	f->w = wsc_new();
	f->cl = calloc((size_t)n, sizeof(*f->cl));
	f->c = calloc((size_t)n, sizeof(*f->c));
	f->n = n;
	for (int i = 0; i < n; i++) {
		char path[64], site[16];
		home_name(i, site, sizeof(site));
		snprintf(path, sizeof(path), "/ws?site=%s", homes ? site : "*");
		f->cl[i].home = homes ? i : -1;
		f->c[i] = wsc_connect_path(f->w, port, path, cookie, NULL, "iod.v1", false);
		f->c[i]->user = &f->cl[i];
		f->c[i]->on_frame = on_frame;
		if (i % 20 == 19)
			wsc_run_for(f->w, 5);
	}
	bool ok = wsc_run_until(f->w, fleet_ready, f, 60000);
	int closed = 0, ready = 0;
	for (int i = 0; i < n; i++) {
		closed += f->c[i]->closed;
		ready += f->cl[i].ready;
	}
	if (!ok || closed) {
		printf("  (of %d clients: %d ready, %d closed%s)\n", n, ready, closed,
		       ok ? "" : ", 60 s timeout");
		return -1;
	}
	return 0;
}

static void fleet_free(struct fleet *f)
{
	wsc_free(f->w);
	free(f->cl);
	free(f->c);
}

/* ---- the publisher --------------------------------------------------------------- */

struct pub {
	const char *url;
	int homes;
	double seconds;
	volatile bool done;
	uint64_t sent;
	uint64_t per_home[HOMES_MAX];
};

/* Home j's activity tick at j/homes of each second; its climate tick every
 * ten seconds, the homes spread over the ten. */
static void *publisher(void *arg)
{
	struct pub *p = arg;
	struct tclient *tc = tclient_new(p->url, "bench-sites-pub");
	if (!tc) {
		p->done = true;
		return NULL;
	}
	/* Paho sets no TCP_NODELAY: without it Nagle holds a reading back
	 * until the broker's delayed ACK, an artefact of 200 homes sharing one
	 * connection here (the clients' sockets get it too). The broker is
	 * left as deployed (no set_tcp_nodelay). */
	bench_tcp_nodelay_all();
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	int64_t step = (int64_t)(1e9 / p->homes);
	uint64_t ticks = (uint64_t)(p->seconds * p->homes);
	for (uint64_t t = 0; t < ticks; t++) {
		int home = (int)(t % (uint64_t)p->homes);
		uint64_t second = t / (uint64_t)p->homes;
		for (size_t k = 0; k < N_SENSORS; k++) {
			if (SENSORS[k].period_s > 1 &&
			    (second + (uint64_t)home) % (uint64_t)SENSORS[k].period_s)
				continue;
			if (reading(tc, home, k, second + 1) == 0) {
				p->sent++;
				p->per_home[home]++;
			}
		}
		next.tv_nsec += step;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	usleep(300000);
	tclient_free(tc);
	p->done = true;
	return NULL;
}

static bool pub_done(void *arg)
{
	return ((struct pub *)arg)->done;
}

/* ---- a row ---------------------------------------------------------------------- */

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct row {
	const char *what;
	int homes, clients;
	bool single; /* clients on homes' pages instead of the overview */
	/* results */
	long rss0, rss_homes, rss_end;
	double snap_ms; /* one new overview client: connect -> ready */
	uint64_t snap_frames;
	uint64_t sent, want, got;
	double bridge_cpu, broker_cpu, self_cpu, p50, p99, max;
	bool ok;
};

/* The overview probe: true once the last home's last reading arrived. */
static char probe_needle[96];
static bool probe_seen;

static void probe_frame(struct wsc_conn *c, const struct wsc_frame *f)
{
	(void)c;
	if (!f->binary && strstr(f->data, probe_needle))
		probe_seen = true;
}

static bool probe_done(void *arg)
{
	struct wsc_conn *c = arg;
	return c->closed || probe_seen;
}

static bool probe_hello(void *arg)
{
	struct wsc_conn *c = arg;
	return c->closed || c->n_text > 0;
}

static void run_row(struct row *r, double seconds)
{
	struct harness_broker b;
	if (harness_broker_start(&b, NULL) < 0) {
		printf("  %s: cannot start mosquitto\n", r->what);
		return;
	}
	char *data = harness_tmpdir("bench-sites-data");
	int port = harness_free_port();
	char e_url[128], e_port[64], e_data[300];
	snprintf(e_url, sizeof(e_url), "IOD_MQTT_URL=%s", b.url);
	snprintf(e_port, sizeof(e_port), "IOD_BRIDGE_PORT=%d", port);
	snprintf(e_data, sizeof(e_data), "IOD_DATA_DIR=%s", data);
	const char *env[] = {e_url,
			     e_port,
			     e_data,
			     "IOD_SITE=central",
			     "IOD_BRIDGE_SITES=*",
			     "IOD_BRIDGE_PASSWORD=" PASSWORD,
			     "IOD_BRIDGE_PUBLIC_VIEW=0",
			     "IOD_BRIDGE_BIND=127.0.0.1",
			     "IOD_RECORDS=0",
			     "IOD_LOG_LEVEL=warn",
			     NULL};
	pid_t bridge = harness_spawn("iod-bridge", NULL, env);
	char cookie[160] = "";
	struct tclient *tc = NULL;
	struct fleet f = {0};
	if (bridge < 0 || harness_wait_port(port, 10000) < 0) {
		printf("  %s: cannot start iod-bridge\n", r->what);
		goto out;
	}
	if (http_login(port, PASSWORD, cookie, sizeof(cookie)) != 200) {
		printf("  %s: login refused\n", r->what);
		goto out;
	}
	sleep(1);
	r->rss0 = bench_status_kib(bridge, "VmRSS");

	/* The homes appear: a probe on the overview counts their frames. */
	struct wsc *pw = wsc_new();
	struct wsc_conn *probe =
	    wsc_connect_path(pw, port, "/ws?site=*", cookie, NULL, "iod.v1", false);
	char last[16];
	home_name(r->homes - 1, last, sizeof(last));
	snprintf(probe_needle, sizeof(probe_needle), "\"iod/%s/sensors/%s\"", last,
		 SENSORS[N_SENSORS - 1].kind);
	probe_seen = false;
	probe->on_frame = probe_frame;
	wsc_run_until(pw, probe_hello, probe, 5000);
	wsc_run_for(pw, 300);
	tc = tclient_new(b.url, "bench-sites-state");
	if (!tc || publish_homes(tc, 0, r->homes) < 0) {
		printf("  %s: cannot publish the homes\n", r->what);
		wsc_free(pw);
		goto out;
	}
	bool all = wsc_run_until(pw, probe_done, probe, 30000);
	if (!all || probe->closed)
		printf("  %s: the overview probe never saw %s (%llu frames)\n", r->what,
		       probe_needle, (unsigned long long)probe->n_text);
	wsc_free(pw);
	sleep(1);
	r->rss_homes = bench_status_kib(bridge, "VmRSS");

	/* One new overview client alone: how long its snapshot takes. */
	{
		struct fleet one = {0};
		double t0 = bench_now_ms();
		if (fleet_open(&one, port, cookie, 1, false) == 0) {
			r->snap_ms = bench_now_ms() - t0;
			r->snap_frames = one.cl[0].text;
		}
		fleet_free(&one);
	}

	if (fleet_open(&f, port, cookie, r->clients, r->single) < 0) {
		printf("  %s: could not connect %d clients\n", r->what, r->clients);
		goto out;
	}
	wsc_run_for(f.w, 300);
	lat.n = 0;
	measuring = true;
	struct pub *p = calloc(1, sizeof(*p));
	p->url = b.url;
	p->homes = r->homes;
	p->seconds = seconds;
	double c_bridge = bench_cpu_seconds(bridge), c_broker = bench_cpu_seconds(b.pid),
	       c_self = self_cpu();
	pthread_t th;
	pthread_create(&th, NULL, publisher, p);
	wsc_run_until(f.w, pub_done, p, (int)(seconds * 1000) + 30000);
	pthread_join(th, NULL);
	wsc_run_for(f.w, 500);
	r->bridge_cpu = bench_cpu_seconds(bridge) - c_bridge;
	r->broker_cpu = bench_cpu_seconds(b.pid) - c_broker;
	r->self_cpu = self_cpu() - c_self;
	measuring = false;
	r->sent = p->sent;
	for (int i = 0; i < r->clients; i++) {
		r->got += f.cl[i].readings;
		r->want += f.cl[i].home < 0 ? p->sent : p->per_home[f.cl[i].home];
	}
	free(p);
	r->rss_end = bench_status_kib(bridge, "VmRSS");
	bench_sort(lat.v, lat.n);
	r->p50 = bench_percentile(lat.v, lat.n, 50) / 1000;
	r->p99 = bench_percentile(lat.v, lat.n, 99) / 1000;
	r->max = lat.n ? lat.v[lat.n - 1] / 1000 : NAN;
	r->ok = true;
out:
	if (f.w)
		fleet_free(&f);
	if (tc)
		tclient_free(tc);
	if (bridge > 0) {
		int rc = harness_stop(bridge, SIGTERM, 10000);
		if (rc != 0)
			printf("  %s: iod-bridge exited with %d on SIGTERM\n", r->what, rc);
	}
	harness_broker_destroy(&b);
	if (data) {
		harness_rmtree(data);
		free(data);
	}
}

static void print_rows(const struct row *rows, size_t n, double seconds)
{
	printf("\nload: each home's 5 sensors at the sim's rates (3.2 readings/s a home), %.0f s\n",
	       seconds);
	printf("%-30s %6s %9s %11s %11s %6s %8s %8s %8s %9s %9s %9s %9s %9s\n", "row", "homes",
	       "readings", "delivered", "expected", "%", "p50 ms", "p99 ms", "max ms", "bridge s",
	       "us/frame", "us/msg in", "broker s", "bench s");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (!r->rss0)
			continue; /* not run */
		if (!r->ok) {
			printf("%-30s %6d  (failed, see above)\n", r->what, r->homes);
			continue;
		}
		printf("%-30s %6d %9llu %11llu %11llu %6.1f %8.2f %8.2f %8.2f %9.2f %9.2f %9.1f "
		       "%9.2f %9.2f\n",
		       r->what, r->homes, (unsigned long long)r->sent, (unsigned long long)r->got,
		       (unsigned long long)r->want,
		       r->want ? 100.0 * (double)r->got / (double)r->want : 0, r->p50, r->p99,
		       r->max, r->bridge_cpu, r->got ? r->bridge_cpu * 1e6 / (double)r->got : NAN,
		       r->sent ? r->bridge_cpu * 1e6 / (double)r->sent : NAN, r->broker_cpu,
		       r->self_cpu);
	}
	printf("\nmemory of iod-bridge (VmRSS, kB)\n");
	printf("%-30s %6s %10s %12s %10s %14s   %s\n", "row", "homes", "no homes", "homes' state",
	       "KB/home", "after load", "one overview's snapshot (C client)");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (!r->rss0)
			continue;
		printf("%-30s %6d %10ld %12ld %10.1f %14ld   %.0f ms, %llu frames\n", r->what,
		       r->homes, r->rss0, r->rss_homes, (double)(r->rss_homes - r->rss0) / r->homes,
		       r->rss_end, r->snap_ms, (unsigned long long)r->snap_frames);
	}
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && !strcmp(argv[1], "--retained-only")) {
		if (argc < 3) {
			fprintf(stderr, "usage: bench_sites --retained-only <mqtt-url> [homes]\n");
			return 2;
		}
		int homes = argc > 3 ? atoi(argv[3]) : 200;
		if (homes < 1 || homes > HOMES_MAX)
			return 2;
		struct tclient *tc = tclient_new(argv[2], "bench-sites-retained");
		if (!tc || publish_homes(tc, 0, homes) < 0) {
			fprintf(stderr, "bench_sites: cannot publish to %s\n", argv[2]);
			return 1;
		}
		tclient_free(tc);
		printf("published %d homes' retained state (%d messages)\n", homes,
		       homes * (int)HOME_RETAINED);
		return 0;
	}
	double seconds = argc > 1 ? atof(argv[1]) : 20;
	int clients = argc > 2 ? atoi(argv[2]) : 100;
	int which = argc > 3 ? atoi(argv[3]) : 7; /* rows: bit 0, 1, 2 */
	if (seconds <= 0 || clients < 1 || clients > 1000) {
		fprintf(stderr, "usage: bench_sites [seconds] [clients]\n");
		return 2;
	}
	char cpu[128];
	bench_machine(cpu, sizeof(cpu));
	printf("bench_sites: %.0f s a row, %d clients, on %s (%ld cpus)\n", seconds, clients, cpu,
	       sysconf(_SC_NPROCESSORS_ONLN));
	bench_default_bin_dir();
	struct row rows[] = {
	    {.what = "20 homes, overview clients", .homes = 20, .clients = clients},
	    {.what = "200 homes, overview clients", .homes = 200, .clients = clients},
	    {.what = "200 homes, single-home pages",
	     .homes = 200,
	     .clients = clients > 200 ? 200 : clients,
	     .single = true},
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	for (size_t i = 0; i < n; i++) {
		if (!(which & (1 << i)))
			continue;
		printf("row: %s ...\n", rows[i].what);
		fflush(stdout);
		run_row(&rows[i], seconds);
	}
	print_rows(rows, n, seconds);
	return 0;
}
