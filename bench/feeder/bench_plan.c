/*
 * iod-bench-feeder-plan — what a care plan change costs iod-feeder through a
 * real broker, and what a 48-slot plan costs it idle. Prints figures,
 * asserts nothing.
 *
 * It starts its own mosquitto on a free loopback port and iod-feeder from
 * $IOD_BIN_DIR (default: this build's bin/) with the sim servo, the schedule
 * 'none' and the vet's bounds loose enough for 48 slots a day (30 min, 48).
 * Then, with one Paho MQTTAsync client (callbacks, TCP_NODELAY, QoS 1):
 *
 *   1. idle with the schedule 'none' for IOD_BENCH_IDLE_S (60) seconds:
 *      utime+stime and voluntary context switches (wake-ups) of each of the
 *      feeder's threads, from /proc/<pid>/task/<tid>/{stat,status};
 *   2. N rounds (2000), each three requests one after another, each sent
 *      when the feeder's loop sleeps again (its main thread's state in
 *      /proc, what a carer's command meets): a plain broker round trip
 *      (publish -> our own subscription), a `home` command (-> its event;
 *      journaled without fsync) and a `plan` command alternating two
 *      48-slot plans (-> its event with the new rev -> the retained
 *      feeder/plan of that rev with those slots -> feeder/schedule -> the
 *      loop asleep again; each a new rev and fsync'd journal records).
 *      Arrival times are taken on Paho's thread as the message comes in. A
 *      change of the journal's inode during a plan command is a compaction
 *      (rewrite, fsync, rename, directory fsync) counted against it;
 *   3. VmRSS/VmHWM at start and after the N plan changes, and a fresh
 *      subscriber's retained feeder/plan (the last rev?);
 *   4. idle with the 48-slot plan, as in 1;
 *   5. what the data dir's filesystem costs alone (200 plan-sized writes,
 *      each + fdatasync) and what mktime() costs in this time zone with
 *      each tm_isdst the feeder's schedule code tries, so the shares of a
 *      plan change can be read off.
 *
 *   iod-bench-feeder-plan [N]            (N plan changes, default 2000)
 *   IOD_BENCH_DATA_ROOT=/dev/shm ...     (the feeder's data dir on tmpfs;
 *                                          default $TMPDIR or /tmp)
 *   IOD_BENCH_IDLE_S=60 ...              (each idle measurement's length)
 *
 * The slots are placed 15 minutes from now and every 30 minutes after, so
 * no dose falls into a run of a few minutes. The feeder gets this
 * process's environment (TZ too) plus its settings.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <pthread.h>

#include "benchutil.h"
#include "harness.h"

#define T_CMD	"iod/home/feeder/cmd"
#define T_EVENT "iod/home/feeder/event"
#define T_PLAN	"iod/home/feeder/plan"
#define T_SCHED "iod/home/feeder/schedule"
#define T_AVAIL "iod/home/feeder/availability"
#define T_ECHO	"iod/bench/echo"

#define SLOTS	    48
#define WARMUP	    20
#define MAX_THREADS 16

/* What the main thread waits for; set on Paho's thread. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char want_event[48]; /* "\"id\":\"p12\"" */
static char want_echo[96];
static char want_at[16]; /* "\"at\":\"HH:MM\"": the plan just sent */
static bool got_event, got_echo;
static double t_event, t_echo, t_plan, t_sched; /* bench_now_us() at arrival */
static long sched_seen;				/* feeder/schedule messages so far */
static long long event_rev = -1, plan_rev = -1;
static bool plan_has_slots;
static int subscribed; /* subscriptions acknowledged; -1 failed */

static long long rev_after(const char *p, size_t len, const char *from)
{
	const char *r = memmem(from, len - (size_t)(from - p), "\"rev\":", 6);
	return r ? strtoll(r + 6, NULL, 10) : -1;
}

static int on_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	(void)ctx;
	(void)topic_len;
	double now = bench_now_us();
	const char *p = m->payload;
	size_t len = (size_t)m->payloadlen;
	pthread_mutex_lock(&mu);
	if (strcmp(topic, T_EVENT) == 0 && want_event[0] &&
	    memmem(p, len, want_event, strlen(want_event))) {
		event_rev = rev_after(p, len, p);
		t_event = now;
		got_event = true;
		pthread_cond_signal(&cv);
	} else if (strcmp(topic, T_PLAN) == 0 && len > 7 && memcmp(p, "{\"rev\":", 7) == 0) {
		plan_rev = strtoll(p + 7, NULL, 10);
		plan_has_slots = want_at[0] && memmem(p, len, want_at, strlen(want_at));
		t_plan = now;
		pthread_cond_signal(&cv);
	} else if (strcmp(topic, T_SCHED) == 0) {
		sched_seen++;
		t_sched = now;
		pthread_cond_signal(&cv);
	} else if (strcmp(topic, T_ECHO) == 0 && want_echo[0] && len == strlen(want_echo) &&
		   memcmp(p, want_echo, len) == 0) {
		t_echo = now;
		got_echo = true;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void on_sub(void *ctx, MQTTAsync_successData *r)
{
	(void)ctx;
	(void)r;
	pthread_mutex_lock(&mu);
	subscribed = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)ctx;
	(void)r;
	pthread_mutex_lock(&mu);
	subscribed = -1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_conn(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	MQTTAsync client = ctx;
	static char *topics[] = {T_EVENT, T_PLAN, T_SCHED, T_ECHO};
	static int qos[] = {1, 1, 1, 1};
	MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
	o.onSuccess = on_sub;
	o.onFailure = on_fail;
	o.context = client;
	MQTTAsync_subscribeMany(client, 4, topics, qos, &o);
}

enum waiting { W_SUBSCRIBED, W_ECHO, W_EVENT, W_PLAN, W_SCHED };
static long sched_before;

static bool done(enum waiting w)
{
	switch (w) {
	case W_SUBSCRIBED:
		return subscribed != 0;
	case W_ECHO:
		return got_echo;
	case W_EVENT:
		return got_event;
	case W_PLAN: /* the event, and the retained plan of the event's rev */
		return got_event && (event_rev < 0 || plan_rev >= event_rev);
	case W_SCHED:
		return sched_seen > sched_before;
	}
	return true;
}

static bool wait_for(enum waiting w, int timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	bool ok = true;
	pthread_mutex_lock(&mu);
	while (!done(w))
		if (pthread_cond_timedwait(&cv, &mu, &dl) != 0) {
			ok = false;
			break;
		}
	if (w == W_SUBSCRIBED && subscribed < 0)
		ok = false;
	pthread_mutex_unlock(&mu);
	return ok;
}

static bool publish1(MQTTAsync ac, const char *topic, const char *payload)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	msg.payload = (void *)payload;
	msg.payloadlen = (int)strlen(payload);
	msg.qos = 1;
	return MQTTAsync_sendMessage(ac, topic, &msg, NULL) == MQTTASYNC_SUCCESS;
}

/* ---- the feeder's threads, from /proc/<pid>/task ---- */

struct thread_sample {
	int tid;
	char comm[32];
	long long ticks;      /* utime + stime */
	long long vol, invol; /* context switches */
};

static long long status_count(const char *path, const char *field)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	long long v = -1;
	size_t len = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			v = strtoll(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static size_t threads_sample(pid_t pid, struct thread_sample *out, size_t max)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		struct thread_sample *t = &out[n];
		t->tid = atoi(e->d_name);
		char path[384];
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		FILE *f = fopen(path, "r");
		t->comm[0] = '\0';
		if (f) {
			if (fgets(t->comm, sizeof(t->comm), f))
				t->comm[strcspn(t->comm, "\n")] = '\0';
			fclose(f);
		}
		/* bench_cpu_ticks reads /proc/<pid>/stat; a task's stat has the same shape */
		snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
		f = fopen(path, "r");
		t->ticks = -1;
		if (f) {
			char buf[1024];
			size_t len = fread(buf, 1, sizeof(buf) - 1, f);
			buf[len] = '\0';
			fclose(f);
			char *p = strrchr(buf, ')');
			unsigned long long ut, st;
			if (p &&
			    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				   &ut, &st) == 2)
				t->ticks = (long long)(ut + st);
		}
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		t->vol = status_count(path, "voluntary_ctxt_switches");
		t->invol = status_count(path, "nonvoluntary_ctxt_switches");
		n++;
	}
	closedir(d);
	/* readdir's order is the kernel's; the main thread (tid == pid) first */
	for (size_t i = 1; i < n; i++)
		if (out[i].tid == (int)pid) {
			struct thread_sample s = out[0];
			out[0] = out[i];
			out[i] = s;
		}
	return n;
}

/* Leaves the feeder alone for seconds s and prints what each thread did. */
static void idle_measure(pid_t pid, const char *what, int s)
{
	struct thread_sample a[MAX_THREADS], b[MAX_THREADS];
	sleep(1); /* let the last answers settle */
	long long c0 = bench_cpu_ticks(pid);
	size_t na = threads_sample(pid, a, MAX_THREADS);
	sleep((unsigned)s);
	size_t nb = threads_sample(pid, b, MAX_THREADS);
	long long c1 = bench_cpu_ticks(pid);
	long hz = sysconf(_SC_CLK_TCK);
	printf("idle %s, %d s: %lld ticks (%.2f%% of one core) in the process\n", what, s, c1 - c0,
	       100.0 * (double)(c1 - c0) / (double)hz / (double)s);
	long long vol_total = 0;
	for (size_t i = 0; i < nb; i++) {
		const struct thread_sample *before = NULL;
		for (size_t j = 0; j < na; j++)
			if (a[j].tid == b[i].tid)
				before = &a[j];
		if (!before) {
			printf("  thread %d (%s): started during the measurement\n", b[i].tid,
			       b[i].comm);
			continue;
		}
		long long vol = b[i].vol - before->vol;
		vol_total += vol;
		printf("  thread %d %-16s%s: %lld ticks, %lld wake-ups (voluntary switches), "
		       "%lld involuntary\n",
		       b[i].tid, b[i].comm, b[i].tid == (int)pid ? " (main: the loop)" : "",
		       b[i].ticks - before->ticks, vol, b[i].invol - before->invol);
	}
	printf("  all threads: %lld wake-ups in %d s (%.2f/s)\n", vol_total, s,
	       (double)vol_total / (double)s);
}

/* ---- the plans ---- */

/* A plan command of 48 daily slots every 30 minutes from minute `first`,
 * and the "at" member of its first slot (what its retained plan holds). */
static int plan_cmd(char *buf, size_t size, const char *id, int first, char *at, size_t at_size)
{
	int n = snprintf(buf, size,
			 "{\"action\":\"plan\",\"id\":\"%s\",\"by\":\"bench\",\"plan\":{"
			 "\"min_interval_s\":1800,\"max_daily\":48,\"slots\":[",
			 id);
	for (int k = 0; k < SLOTS; k++) {
		int m = (first + 30 * k) % 1440;
		n += snprintf(buf + n, size - (size_t)n,
			      "%s{\"at\":\"%02d:%02d\",\"days\":\"daily\"}", k ? "," : "", m / 60,
			      m % 60);
	}
	n += snprintf(buf + n, size - (size_t)n, "]}}");
	snprintf(at, at_size, "\"at\":\"%02d:%02d\"", first / 60, first % 60);
	return n;
}

/* ---- the data dir's filesystem ---- */

/* "<device> <type> (<options>)" of the mount that holds path, from
 * /proc/mounts (the longest mount point that is a prefix of it). */
static void fs_of(const char *path, char *buf, size_t size)
{
	char real[PATH_MAX];
	snprintf(buf, size, "unknown");
	if (!realpath(path, real))
		return;
	FILE *f = fopen("/proc/mounts", "r");
	if (!f)
		return;
	char dev[256], mnt[PATH_MAX], type[64], opts[512];
	size_t best = 0;
	while (fscanf(f, "%255s %4095s %63s %511s %*d %*d", dev, mnt, type, opts) == 4) {
		size_t len = strlen(mnt);
		bool prefix = strncmp(real, mnt, len) == 0 &&
			      (real[len] == '/' || real[len] == '\0' || strcmp(mnt, "/") == 0);
		if (prefix && len >= best) {
			best = len;
			snprintf(buf, size, "%s %s (%s)", dev, type, opts);
		}
	}
	fclose(f);
}

/* write + fdatasync of `bytes` appended to a file in dir, n times: what one
 * fsync'd journal record costs on this filesystem without the feeder. */
static void fsync_cost(const char *dir, size_t bytes, int n)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/fsync-probe", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		printf("fsync probe: %s: %s\n", path, strerror(errno));
		return;
	}
	char *rec = malloc(bytes);
	memset(rec, 'x', bytes);
	rec[bytes - 1] = '\n';
	double *lat = calloc((size_t)n, sizeof(*lat));
	for (int i = 0; i < n; i++) {
		double t0 = bench_now_us();
		if (write(fd, rec, bytes) != (ssize_t)bytes || fdatasync(fd) < 0) {
			printf("fsync probe: %s\n", strerror(errno));
			break;
		}
		lat[i] = (bench_now_us() - t0) / 1000.0;
	}
	close(fd);
	unlink(path);
	bench_sort(lat, (size_t)n);
	printf("write %zu B + fdatasync there, %d times: p50 %.3f  p99 %.3f  max %.3f ms\n", bytes,
	       n, bench_percentile(lat, (size_t)n, 50), bench_percentile(lat, (size_t)n, 99),
	       lat[n - 1]);
	free(lat);
	free(rec);
}

/* p50 of each quarter of the run, in the order measured: a cost that
 * grows with the number of changes shows here. Sorts copies. */
/* What one mktime() costs here with each tm_isdst the feeder's
 * schedule_local_instant tries (0, 1, -1) for today 12:00 in the
 * process's time zone (TZ, as the feeder gets it), and one localtime_r. */
static void localtime_cost(void)
{
	time_t now = time(NULL);
	struct tm today;
	localtime_r(&now, &today);
	const int flags[] = {0, 1, -1};
	const int reps = 2000;
	printf("local time here (TZ %s):", getenv("TZ") ? getenv("TZ") : "unset");
	volatile time_t sink = 0;
	for (size_t f = 0; f < 3; f++) {
		double t0 = bench_now_us();
		for (int i = 0; i < reps; i++) {
			struct tm tm = {0};
			tm.tm_year = today.tm_year;
			tm.tm_mon = today.tm_mon;
			tm.tm_mday = today.tm_mday;
			tm.tm_hour = 12;
			tm.tm_isdst = flags[f];
			sink += mktime(&tm);
		}
		printf(" mktime(tm_isdst %d) %.2f us,", flags[f], (bench_now_us() - t0) / reps);
	}
	double t0 = bench_now_us();
	for (int i = 0; i < reps; i++) {
		struct tm tm;
		time_t t = now + i * 60;
		localtime_r(&t, &tm);
		sink += tm.tm_min;
	}
	printf(" localtime_r %.2f us\n", (bench_now_us() - t0) / reps);
	(void)sink;
}

static void print_quarters(const char *what, const double *v, size_t n)
{
	if (n < 4)
		return;
	printf("  %-34s p50 by quarter of the run:", what);
	size_t q = n / 4;
	double *c = malloc(q * sizeof(*c));
	for (size_t k = 0; k < 4; k++) {
		memcpy(c, v + k * q, q * sizeof(*c));
		bench_sort(c, q);
		printf(" %.3f", bench_percentile(c, q, 50));
	}
	printf(" ms\n");
	free(c);
}

static void print_lat(const char *what, double *v, size_t n)
{
	bench_sort(v, n);
	printf("  %-34s p50 %7.3f  p90 %7.3f  p99 %7.3f  max %7.3f ms (%zu)\n", what,
	       bench_percentile(v, n, 50), bench_percentile(v, n, 90), bench_percentile(v, n, 99),
	       n ? v[n - 1] : 0.0, n);
}

/* The state letter of the feeder's main thread (its loop): 'S' while it
 * sleeps in epoll_wait, 'R' computing, 'D' in fsync. */
static char loop_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Waits until the feeder's loop sleeps again (seen twice, 100 us apart),
 * so the next request finds it idle: what a carer's command meets. This
 * looks at /proc every 50 us from the bench's thread, not the feeder's. Returns the
 * time it was first seen asleep (bench_now_us), or -1 after 2 s. */
static double wait_loop_idle(pid_t pid)
{
	double deadline = bench_now_us() + 2e6;
	while (bench_now_us() < deadline) {
		if (loop_state(pid) == 'S') {
			double t = bench_now_us();
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
			if (loop_state(pid) == 'S')
				return t;
		}
		struct timespec ts = {0, 50000}; /* gently: the feeder may need this core */
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Rss of the process's anonymous memory by kind, from /proc/<pid>/smaps:
 * the main heap ([heap], the loop thread's malloc), the stacks, and
 * unnamed mappings (other threads' malloc arenas, large mallocs). */
static void anon_breakdown(pid_t pid, const char *when)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	long heap = 0, stack = 0, unnamed = 0, *cur = NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &name_at) == 3 &&
		    name_at > 0) {
			const char *name = line + name_at;
			cur = strncmp(name, "[heap]", 6) == 0	 ? &heap
			      : strncmp(name, "[stack]", 7) == 0 ? &stack
			      : (*name == '\n' || *name == '\0') ? &unnamed
								 : NULL;
			continue;
		}
		long kb;
		if (cur && sscanf(line, "Rss: %ld kB", &kb) == 1)
			*cur += kb;
	}
	fclose(f);
	printf("anonymous memory %s: [heap] %ld kB, [stack] %ld kB, unnamed (thread arenas, "
	       "big mallocs, thread stacks) %ld kB\n",
	       when, heap, stack, unnamed);
}

static ino_t inode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	if (n < 1 || n > 100000) {
		fprintf(stderr, "usage: %s [N plan changes, 1..100000]\n", argv[0]);
		return 2;
	}
	const char *idle_env = getenv("IOD_BENCH_IDLE_S");
	int idle_s = idle_env ? atoi(idle_env) : 60;
	if (idle_s < 1)
		idle_s = 60;
	setenv("IOD_BIN_DIR", IOD_BENCH_BIN_DIR, 0);
	setvbuf(stdout, NULL, _IOLBF, 0); /* figures as they come, also into a file */

	struct harness_broker broker;
	/* The broker's side of the Nagle problem (see bench_tcp_nodelay_all). */
	if (harness_broker_start(&broker, "set_tcp_nodelay true\n") < 0) {
		fprintf(stderr, "cannot start mosquitto\n");
		return 1;
	}
	const char *root = getenv("IOD_BENCH_DATA_ROOT");
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/iod-bench-plan-XXXXXX",
		 root		    ? root
		 : getenv("TMPDIR") ? getenv("TMPDIR")
				    : "/tmp");
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "cannot make a data dir in %s: %s\n", tmpl, strerror(errno));
		return 1;
	}
	char data[PATH_MAX + 8], jpath[PATH_MAX + 16];
	snprintf(data, sizeof(data), "%s/data", tmpl);
	snprintf(jpath, sizeof(jpath), "%s/journal", data);

	char env_url[128], env_data[PATH_MAX + 32];
	snprintf(env_url, sizeof(env_url), "IOD_MQTT_URL=%s", broker.url);
	snprintf(env_data, sizeof(env_data), "IOD_DATA_DIR=%s", data);
	/* The bounds at 30 min / 48 a day: the loosest that hold a slot every
	 * 30 minutes, which a 48-slot daily plan is. */
	const char *env[] = {env_url,
			     env_data,
			     "IOD_FEEDER_SCHEDULE=none",
			     "IOD_FEEDER_MIN_INTERVAL=30m",
			     "IOD_FEEDER_MAX_DAILY=48",
			     "IOD_FEEDER_BOUND_MIN_INTERVAL=30m",
			     "IOD_FEEDER_BOUND_MAX_DAILY=48",
			     "IOD_FEEDER_SERVO=sim",
			     "IOD_LOG_LEVEL=warn",
			     NULL};
	struct tclient *c = tclient_new(broker.url, "bench-sync");
	if (!c || tclient_subscribe(c, T_AVAIL, 1) < 0) {
		fprintf(stderr, "bench client cannot connect\n");
		return 1;
	}
	pid_t pid = harness_spawn("iod-feeder", NULL, env);
	struct tmsg *m = tclient_expect_with(c, T_AVAIL, "online", 10000);
	if (pid < 0 || !m) {
		fprintf(stderr, "iod-feeder did not come online\n");
		return 1;
	}
	tmsg_free(m);
	tclient_free(c); /* a synchronous client nobody reads would only hold the broker up */

	MQTTAsync ac;
	if (MQTTAsync_create(&ac, broker.url, "bench-async", MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS) {
		fprintf(stderr, "cannot create the measuring client\n");
		return 1;
	}
	MQTTAsync_setCallbacks(ac, ac, NULL, on_arrived, NULL);
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	co.cleansession = 1;
	co.onSuccess = on_conn;
	co.onFailure = on_fail;
	co.context = ac;
	if (MQTTAsync_connect(ac, &co) != MQTTASYNC_SUCCESS || !wait_for(W_SUBSCRIBED, 5000)) {
		fprintf(stderr, "measuring client cannot connect\n");
		return 1;
	}
	bench_tcp_nodelay_all();

	char cpu[160], fs[1024];
	bench_machine(cpu, sizeof(cpu));
	fs_of(data, fs, sizeof(fs));
	printf("machine: %s, %ld cores\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("data dir %s on %s\n", data, fs);
	printf("iod-feeder pid %d, TZ %s\n", (int)pid, getenv("TZ") ? getenv("TZ") : "(unset)");

	sleep(1);
	long rss0 = bench_status_kib(pid, "VmRSS"), anon0 = bench_status_kib(pid, "RssAnon"),
	     hwm0 = bench_status_kib(pid, "VmHWM");
	anon_breakdown(pid, "at start");
	idle_measure(pid, "with the schedule 'none' (no slot)", idle_s);

	/* Plan A's slots start 15 min from now, plan B's a minute later. */
	time_t now = time(NULL);
	struct tm lt;
	localtime_r(&now, &lt);
	int first_a = (lt.tm_hour * 60 + lt.tm_min + 15) % 1440, first_b = (first_a + 1) % 1440;

	double *echo = calloc((size_t)n, sizeof(double)), *home = calloc((size_t)n, sizeof(double));
	double *home_idle = calloc((size_t)n, sizeof(double));
	double *pev = calloc((size_t)n, sizeof(double)), *ppl = calloc((size_t)n, sizeof(double));
	double *psc = calloc((size_t)n, sizeof(double)), *pidle = calloc((size_t)n, sizeof(double));
	double *compacting = calloc((size_t)n, sizeof(double));
	size_t n_compact = 0;
	int lost = 0, not_changed = 0, wrong_slots = 0, no_sched = 0, never_idle = 0;
	long long rev0 = -1, rev_last = -1;
	char cmd[4096], small[96], at[16];
	ino_t ino = inode_of(jpath);
	double t_start = 0;
	struct thread_sample busy0[MAX_THREADS], busy1[MAX_THREADS];
	size_t n_busy0 = 0;
	wait_loop_idle(pid);
	for (long i = -WARMUP; i < n; i++) {
		if (i == 0) {
			t_start = bench_now_us();
			n_busy0 = threads_sample(pid, busy0, MAX_THREADS);
		}
		long k = i + WARMUP;
		double t0, ti;

		/* the broker alone */
		snprintf(small, sizeof(small), "e%ld", k);
		pthread_mutex_lock(&mu);
		snprintf(want_echo, sizeof(want_echo), "%s", small);
		got_echo = false;
		pthread_mutex_unlock(&mu);
		t0 = bench_now_us();
		if (!publish1(ac, T_ECHO, small) || !wait_for(W_ECHO, 5000))
			lost++;
		else if (i >= 0)
			echo[i] = (t_echo - t0) / 1000.0;

		/* home: command -> event, journaled without fsync */
		snprintf(small, sizeof(small), "{\"action\":\"home\",\"id\":\"h%ld\"}", k);
		pthread_mutex_lock(&mu);
		snprintf(want_event, sizeof(want_event), "\"id\":\"h%ld\"", k);
		got_event = false;
		pthread_mutex_unlock(&mu);
		t0 = bench_now_us();
		if (!publish1(ac, T_CMD, small) || !wait_for(W_EVENT, 5000)) {
			lost++;
		} else {
			ti = wait_loop_idle(pid);
			if (ti < 0)
				never_idle++;
			if (i >= 0) {
				home[i] = (t_event - t0) / 1000.0;
				home_idle[i] = ti < 0 ? 2000.0 : (ti - t0) / 1000.0;
			}
		}

		/* plan: command -> event with the new rev -> retained plan of that
		 * rev -> schedule -> the loop asleep again */
		char id[32];
		snprintf(id, sizeof(id), "p%ld", k);
		plan_cmd(cmd, sizeof(cmd), id, k % 2 ? first_b : first_a, at, sizeof(at));
		pthread_mutex_lock(&mu);
		snprintf(want_event, sizeof(want_event), "\"id\":\"%s\"", id);
		snprintf(want_at, sizeof(want_at), "%s", at);
		got_event = false;
		long long before = plan_rev;
		sched_before = sched_seen;
		pthread_mutex_unlock(&mu);
		t0 = bench_now_us();
		if (!publish1(ac, T_CMD, cmd) || !wait_for(W_PLAN, 5000)) {
			lost++;
			continue;
		}
		bool sched = wait_for(W_SCHED, 2000);
		ti = wait_loop_idle(pid);
		pthread_mutex_lock(&mu);
		long long er = event_rev;
		bool slots_ok = plan_has_slots;
		double te = t_event, tp = t_plan, ts = t_sched;
		pthread_mutex_unlock(&mu);
		if (er < 0 || er <= before)
			not_changed++;
		if (!slots_ok)
			wrong_slots++;
		if (!sched)
			no_sched++;
		if (ti < 0)
			never_idle++;
		if (rev0 < 0)
			rev0 = er;
		rev_last = er;
		ino_t ino2 = inode_of(jpath);
		if (i >= 0) {
			pev[i] = (te - t0) / 1000.0;
			ppl[i] = (tp - t0) / 1000.0;
			psc[i] = sched ? (ts - t0) / 1000.0 : 2000.0;
			pidle[i] = ti < 0 ? 2000.0 : (ti - t0) / 1000.0;
			if (ino2 != ino)
				compacting[n_compact++] = ppl[i];
		}
		ino = ino2;
	}
	double total_s = (bench_now_us() - t_start) / 1e6;
	size_t n_busy1 = threads_sample(pid, busy1, MAX_THREADS);
	sleep(1);
	long rss1 = bench_status_kib(pid, "VmRSS"), anon1 = bench_status_kib(pid, "RssAnon"),
	     hwm1 = bench_status_kib(pid, "VmHWM");
	struct stat st;
	long long journal = stat(jpath, &st) == 0 ? (long long)st.st_size : -1;

	printf("rounds: %ld after %d warm-up (revs %lld..%lld), %.2f s, %d lost, "
	       "%d without a new rev, %d retained plans without the slots sent, %d without a "
	       "schedule, %d never idle within 2 s\n",
	       n, WARMUP, rev0, rev_last, total_s, lost, not_changed, wrong_slots, no_sched,
	       never_idle);
	printf("latency from publish, each request sent when the feeder's loop sleeps (QoS 1, "
	       "received by our subscription):\n");
	print_quarters("plan -> retained feeder/plan", ppl, (size_t)n);
	print_lat("broker round trip (own topic)", echo, (size_t)n);
	print_lat("home -> event (no fsync)", home, (size_t)n);
	print_lat("home -> loop asleep again", home_idle, (size_t)n);
	print_lat("plan -> event with the new rev", pev, (size_t)n);
	print_lat("plan -> retained feeder/plan", ppl, (size_t)n);
	print_lat("  of which with a compaction", compacting, n_compact);
	print_lat("plan -> feeder/schedule", psc, (size_t)n);
	print_lat("plan -> loop asleep again", pidle, (size_t)n);
	printf("cpu during the %ld rounds (home + plan each):", n);
	for (size_t i = 0; i < n_busy1; i++)
		for (size_t j = 0; j < n_busy0; j++)
			if (busy0[j].tid == busy1[i].tid)
				printf(" %s %.2f ms/round", busy1[i].comm,
				       1000.0 * (double)(busy1[i].ticks - busy0[j].ticks) /
					   (double)sysconf(_SC_CLK_TCK) / (double)n);
	printf("\n");
	printf("journal after the run: %lld bytes\n", journal);

	/* A subscriber that comes later gets the last plan, retained. */
	struct tclient *late = tclient_new(broker.url, "bench-late");
	struct tmsg *rm = late && tclient_subscribe(late, T_PLAN, 1) == 0
			      ? tclient_expect(late, T_PLAN, 5000)
			      : NULL;
	printf("a new subscriber's feeder/plan: %s, rev %lld (last ok rev %lld)\n",
	       !rm	      ? "none"
	       : rm->retained ? "retained"
			      : "not retained",
	       rm ? rev_after(rm->payload, rm->len, rm->payload) : -1, rev_last);
	tmsg_free(rm);
	tclient_free(late);

	printf("memory: at start VmRSS %ld kB (anon %ld) VmHWM %ld kB; after %ld plan changes "
	       "VmRSS %ld kB (anon %ld) VmHWM %ld kB\n",
	       rss0, anon0, hwm0, n + WARMUP, rss1, anon1, hwm1);

	anon_breakdown(pid, "after the changes");
	idle_measure(pid, "with 48 daily slots", idle_s);
	printf("polling instead: a 1 s tick is %d wake-ups in %d s (86,400 a day), a 1 min tick "
	       "1,440 a day; one timer to the next event: 48 slots + 24 midnight re-checks "
	       "(capped at 1 h) = 72 a day\n",
	       idle_s, idle_s);
	long rss2 = bench_status_kib(pid, "VmRSS");
	printf("memory after the idle measurement: VmRSS %ld kB\n", rss2);

	fsync_cost(data, 2560, 200);
	localtime_cost();

	int code = harness_stop(pid, SIGTERM, 10000);
	printf("SIGTERM exit code: %d\n", code);

	free(echo);
	free(home);
	free(home_idle);
	free(psc);
	free(pidle);
	free(pev);
	free(ppl);
	free(compacting);
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnect(ac, &dopt);
	MQTTAsync_destroy(&ac);
	harness_broker_destroy(&broker);
	harness_rmtree(tmpl);
	return lost || code != 0 ? 1 : 0;
}
