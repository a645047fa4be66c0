#include "benchutil.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long long bench_cpu_ticks(pid_t pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': start after the
	 * last ')'. From there: state is field 3, utime 14, stime 15. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] == '\0')
		return -1;
	unsigned long long utime = 0, stime = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	return (long long)(utime + stime);
}

double bench_cpu_seconds(pid_t pid)
{
	long long ticks = bench_cpu_ticks(pid);
	if (ticks < 0)
		return -1;
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

long bench_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kib = -1;
	size_t len = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			kib = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

double bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double bench_now_ms(void)
{
	return bench_now_us() / 1e3;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), bench_cmp_double);
}

/*
 * Nearest-rank: the smallest sample with at least p % of all samples at or
 * below it, i.e. 1-based rank ceil(p / 100 * n), clamped to 1..n (so p 0 is
 * the minimum, p 100 the maximum). Always one of the samples, never an
 * interpolation. p * n is formed before the division so that an exact rank
 * (99 % of 300 = 297) does not become 298 through rounding of 0.99.
 *
 * What the programs used before, for the record: feeder and camera took
 * index floor(p * n), bridge round(p * (n - 1)), sensors (n <= 4)
 * (n - 1) / 2 and round(0.99 * (n - 1)). Sensors' figures are the same
 * under this rule; the others differ by at most one position in the sorted
 * samples (e.g. feeder p50 of 10,000 is now sample 5,000 of 1..10,000, was
 * 5,001), far below the run-to-run spread, so old and new figures compare.
 */
double bench_percentile(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return NAN;
	double rank = ceil(p * (double)n / 100.0);
	if (!(rank >= 1)) /* also catches a NaN p */
		rank = 1;
	if (rank > (double)n)
		rank = (double)n;
	return sorted[(size_t)rank - 1];
}

void bench_print_ms(const char *what, int width, double *us, size_t n)
{
	if (n == 0) {
		printf("%-*s none answered\n", width, what);
		return;
	}
	bench_sort(us, n);
	printf("%-*s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (n=%zu)\n", width, what,
	       bench_percentile(us, n, 50) / 1000.0, bench_percentile(us, n, 99) / 1000.0,
	       us[n - 1] / 1000.0, n);
}

/* Copies the text after ": " of a cpuinfo line, without its newline. */
static void cpuinfo_value(const char *line, char *buf, size_t size)
{
	const char *c = strchr(line, ':');
	if (!c)
		return;
	c++;
	c += strspn(c, " \t");
	snprintf(buf, size, "%.*s", (int)strcspn(c, "\n"), c);
}

void bench_machine(char *buf, size_t size)
{
	if (size == 0)
		return;
	snprintf(buf, size, "unknown cpu");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		/* x86 names the CPU per core; arm64 kernels name none, but a
		 * Raspberry Pi's ends with "Model : Raspberry Pi 4 ...". */
		if (strncmp(line, "model name", 10) == 0) {
			cpuinfo_value(line, buf, size);
			break;
		}
		if (strncmp(line, "Model", 5) == 0 && strchr(" \t:", line[5]))
			cpuinfo_value(line, buf, size);
	}
	fclose(f);
}

int bench_default_bin_dir(void)
{
	if (getenv("IOD_BIN_DIR"))
		return 0;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return setenv("IOD_BIN_DIR", self, 1) == 0 ? 0 : -1;
}

void bench_tcp_nodelay_all(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		if (*end != '\0' || fd == dirfd(d) ||
		    getpeername((int)fd, (struct sockaddr *)&peer, &len) < 0 ||
		    (peer.ss_family != AF_INET && peer.ss_family != AF_INET6))
			continue;
		int one = 1;
		setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	closedir(d);
}
