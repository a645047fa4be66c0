/*
 * bench_records — the bridge's records store (services/bridge/records):
 *   1. readings inserted through the API in batched transactions (rows/s),
 *      beside the floor: the sqlite3 command line importing the same rows
 *      (.import of a CSV into reading_raw of the same schema, in one
 *      transaction) in the same run;
 *   2. a synthetic month at the sim's default rates (5 sensors, one reading a
 *      second each) written through the API in batches of one second of
 *      readings x 100, with records_maintain once per simulated hour as the
 *      bridge would: the file and each table's size after it (MB);
 *   3. a 30-day history of the 5 sensors at 1-minute resolution (43,200
 *      points each) on a read-only connection, p50/p99 over the runs, per
 *      5-sensor round and per query;
 *   4. the process's RSS (getrusage maxrss) after the month.
 * Prints figures, asserts nothing.
 *
 *   bench_records [runs]            (default 100 history rounds)
 *   IOD_BENCH_DATA_ROOT=/dev/shm    where the files go (default /tmp)
 *   IOD_BENCH_RECORDS_DAYS=30       length of the synthetic month
 *   IOD_BENCH_RECORDS_KEEP=1        leave the files (month.db) behind
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "benchutil.h"
#include "records.h"

#define SENSORS 5
#define T0	1764460800000LL /* 2026-11-30T00:00:00Z */
#define HOUR_MS (3600LL * 1000)
#define DAY_MS	(24 * HOUR_MS)

static const char *const kinds[SENSORS] = {"temp", "humidity", "sound", "bowl", "motion"};
static char dir[256];

static double value_at(int k, int64_t s)
{
	/* Deterministic, varied: a slow wave and a step per sensor. */
	return (double)(k * 10) + (double)((s * 7919 + k * 104729) % 1000) / 100.0;
}

static void die(const char *what, const struct records_err *err)
{
	fprintf(stderr, "bench_records: %s: %s\n", what, err->msg);
	exit(1);
}

static void cleanup(void)
{
	char cmd[400];

	if (dir[0] && getenv("IOD_BENCH_RECORDS_KEEP")) {
		printf("kept %s\n", dir);
		return;
	}
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_records: could not remove %s\n", dir);
	}
}

/* rows/s of n readings through the API, batches of batch. */
static double insert_rate(const char *path, int64_t n, int batch)
{
	struct records_err err = {{0}};
	struct records *r;
	double t;

	if (records_open(path, NULL, &r, NULL, &err) < 0)
		die("open", &err);
	t = bench_now_ms();
	for (int64_t i = 0; i < n;) {
		if (records_begin(r, &err) < 0)
			die("begin", &err);
		for (int j = 0; j < batch && i < n; j++, i++) {
			int64_t s = i / SENSORS;
			int k = (int)(i % SENSORS);

			if (records_add_reading(r, "home", kinds[k], T0 + s * 1000, value_at(k, s),
						&err) < 0)
				die("add", &err);
		}
		if (records_commit(r, &err) < 0)
			die("commit", &err);
	}
	t = bench_now_ms() - t;
	records_close(r);
	return (double)n / (t / 1000.0);
}

/* The sqlite3 command line importing the same n rows into reading_raw of a
 * fresh store; rows/s, or -1 if it failed. */
static double cli_rate(const char *path, int64_t n)
{
	struct records_err err = {{0}};
	struct records *r;
	char csv[300], sql[300], cmd[1200];
	FILE *f;
	double t;
	int rc;

	if (records_open(path, NULL, &r, NULL, &err) < 0)
		die("open", &err);
	/* The series ids the API would have made: 1..5 in the order seen. */
	if (records_begin(r, &err) < 0)
		die("begin", &err);
	for (int k = 0; k < SENSORS; k++)
		if (records_add_reading(r, "home", kinds[k], 0, 0, &err) < 0)
			die("add", &err);
	if (records_commit(r, &err) < 0)
		die("commit", &err);
	records_close(r);
	snprintf(csv, sizeof(csv), "%s/rows.csv", dir);
	f = fopen(csv, "w");
	if (!f)
		return -1;
	for (int64_t i = 0; i < n; i++) {
		int64_t s = i / SENSORS;
		int k = (int)(i % SENSORS);

		fprintf(f, "%d,%lld,%.17g\n", k + 1, (long long)(T0 + s * 1000), value_at(k, s));
	}
	fclose(f);
	snprintf(sql, sizeof(sql), "%s/import.sql", dir);
	f = fopen(sql, "w");
	if (!f)
		return -1;
	fprintf(f, "PRAGMA synchronous = NORMAL;\nBEGIN;\n.import --csv %s reading_raw\nCOMMIT;\n",
		csv);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sqlite3 -bail '%s' < '%s'", path, sql);
	fflush(stdout);
	t = bench_now_ms();
	rc = system(cmd);
	t = bench_now_ms() - t;
	unlink(csv);
	unlink(sql);
	if (rc != 0)
		return -1;
	return (double)n / (t / 1000.0);
}

static double mb(int64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

/* Per-table sizes (the dbstat table), through the sqlite3 command line. */
static void table_sizes(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd),
		 "sqlite3 -readonly '%s' \"SELECT printf('  %%-16s %%8.2f MB', name,"
		 " sum(pgsize) / 1048576.0) FROM dbstat GROUP BY name HAVING sum(pgsize) >"
		 " 65536 ORDER BY sum(pgsize) DESC\"",
		 path);
	fflush(stdout);
	if (system(cmd) != 0)
		printf("  (per-table sizes: the sqlite3 command line failed)\n");
}

int main(int argc, char **argv)
{
	const char *root = getenv("IOD_BENCH_DATA_ROOT");
	const char *days_env = getenv("IOD_BENCH_RECORDS_DAYS");
	int runs = argc > 1 ? atoi(argv[1]) : 100;
	int days = days_env ? atoi(days_env) : 30;
	struct records_err err = {{0}};
	struct records_maintain_stats ms;
	struct records *r, *rd;
	char path[300], machine[128];
	int64_t used, file, n_insert = 1000000, month_rows = 0;
	double api, api_big, cli, t, maint_ms = 0, *round_us, *query_us;
	size_t n_round = 0, n_query = 0;
	struct rusage ru;

	if (runs < 1 || days < 1 || days > 366) {
		fprintf(stderr,
			"usage: bench_records [runs >= 1]; IOD_BENCH_RECORDS_DAYS 1..366\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/iod-bench-records-XXXXXX", root ? root : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_records: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	atexit(cleanup);
	bench_machine(machine, sizeof(machine));
	printf("bench_records: %s, SQLite %s, files in %s\n\n", machine, sqlite3_libversion(), dir);

	/* 1. inserts */
	snprintf(path, sizeof(path), "%s/insert.db", dir);
	api = insert_rate(path, n_insert, 500);
	unlink(path);
	snprintf(path, sizeof(path), "%s/insert-big.db", dir);
	api_big = insert_rate(path, n_insert, 5000);
	snprintf(path, sizeof(path), "%s/cli.db", dir);
	cli = cli_rate(path, n_insert);
	printf("%-58s %12s\n", "insert, 1,000,000 readings of 5 sensors", "rows/s");
	printf("%-58s %12.0f\n", "  records_add_reading, batches of 500 (raw + tiers)", api);
	printf("%-58s %12.0f\n", "  records_add_reading, batches of 5,000", api_big);
	if (cli > 0)
		printf("%-58s %12.0f\n", "  floor: sqlite3 .import CSV, one transaction (raw only)",
		       cli);
	else
		printf("%-58s %12s\n", "  floor: sqlite3 .import CSV", "failed");
	printf("%-58s %12s\n\n", "  target", ">= 20,000");
	unlink(path);
	snprintf(path, sizeof(path), "%s/insert-big.db", dir);
	unlink(path);

	/* 2. the month */
	snprintf(path, sizeof(path), "%s/month.db", dir);
	if (records_open(path, NULL, &r, NULL, &err) < 0)
		die("open", &err);
	t = bench_now_ms();
	for (int64_t s = 0; s < (int64_t)days * 86400;) {
		if (records_begin(r, &err) < 0)
			die("begin", &err);
		for (int j = 0; j < 100; j++, s++)
			for (int k = 0; k < SENSORS; k++, month_rows++)
				if (records_add_reading(r, "home", kinds[k], T0 + s * 1000,
							value_at(k, s), &err) < 0)
					die("add", &err);
		if (records_commit(r, &err) < 0)
			die("commit", &err);
		if (s % 3600 == 0) {
			double m = bench_now_ms();

			if (records_maintain(r, T0 + s * 1000, 0, &ms, &err) < 0)
				die("maintain", &err);
			maint_ms += bench_now_ms() - m;
		}
	}
	t = bench_now_ms() - t;
	if (records_maintain(r, T0 + (int64_t)days * DAY_MS, 0, &ms, &err) < 0 ||
	    records_size(r, &used, &file, &err) < 0)
		die("maintain", &err);
	records_close(r);
	printf("a synthetic %d days, 5 sensors x 1/s: %lld readings in %.0f s (%.0f rows/s,\n"
	       "  records_maintain every simulated hour: %.0f ms in all)\n",
	       days, (long long)month_rows, t / 1000.0, (double)month_rows / (t / 1000.0),
	       maint_ms);
	printf("  file after the month %.1f MB (in use %.1f MB): raw for 48 h, minute and hour "
	       "tiers for %d days\n",
	       mb(file), mb(used), days);
	table_sizes(path);
	getrusage(RUSAGE_SELF, &ru);
	printf("  RSS of this process after the month (maxrss): %.1f MB\n\n",
	       ru.ru_maxrss / 1024.0);

	/* 3. history: 30 days of the 5 sensors at 1-minute resolution */
	struct records_options ro = {.mode = RECORDS_READER};
	int64_t to = T0 + (int64_t)days * DAY_MS, from = to - 30 * DAY_MS;
	size_t points = (size_t)((to - from) / 60000);

	if (from < T0)
		from = T0, points = (size_t)((to - from) / 60000);
	if (records_open(path, &ro, &rd, NULL, &err) < 0)
		die("open reader", &err);
	round_us = calloc((size_t)runs, sizeof(double));
	query_us = calloc((size_t)runs * SENSORS, sizeof(double));
	if (!round_us || !query_us)
		return 1;
	size_t got = 0;
	enum records_tier tier = RECORDS_TIER_RAW;
	for (int i = 0; i < runs; i++) {
		double r0 = bench_now_us();

		for (int k = 0; k < SENSORS; k++) {
			struct records_history h;
			double q0 = bench_now_us();

			if (records_history(rd, "home", kinds[k], from, to, points, to, &h, &err) <
			    0)
				die("history", &err);
			query_us[n_query++] = bench_now_us() - q0;
			got = h.n;
			tier = h.tier;
			records_history_free(&h);
		}
		round_us[n_round++] = bench_now_us() - r0;
	}
	records_close(rd);
	printf("history, %d days x 5 sensors at 1 min (%zu points asked, %zu returned each,\n"
	       "  tier %s), %d rounds on a read-only connection:\n",
	       (int)((to - from) / DAY_MS), points, got,
	       tier == RECORDS_TIER_MINUTE ? "minute"
	       : tier == RECORDS_TIER_HOUR ? "hour"
					   : "raw",
	       runs);
	bench_print_ms("  5 sensors (one round)", 32, round_us, n_round);
	bench_print_ms("  one sensor (one query)", 32, query_us, n_query);
	printf("  target: p99 <= 50 ms for the round\n");
	free(round_us);
	free(query_us);
	return 0;
}
