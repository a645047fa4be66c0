/*
 * tz: every source of iod_tz_resolve in its order (TZ, the /etc/localtime
 * symlink, /etc/timezone's first line, UTC), each invalid value falling
 * through to the next; the files are a temp dir's.
 */
#include "tz.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], localtime_path[128], timezone_path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_tz.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(localtime_path, sizeof(localtime_path), "%s/localtime", dir);
	snprintf(timezone_path, sizeof(timezone_path), "%s/timezone", dir);
}

static void teardown(void)
{
	unlink(localtime_path);
	unlink(timezone_path);
	rmdir(dir);
}

static void link_to(const char *target)
{
	unlink(localtime_path);
	cr_assert_eq(symlink(target, localtime_path), 0);
}

static void write_timezone(const char *text)
{
	FILE *f = fopen(timezone_path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* Resolve with the temp dir's files and expect a name from a source. */
static void expect_tz(const char *env, const char *want, int want_source)
{
	char out[IOD_TZ_SIZE];
	const char *shown = env ? env : "(unset)";

	memset(out, 'x', sizeof(out));
	int src = iod_tz_resolve(env, localtime_path, timezone_path, out, sizeof(out));
	cr_assert_str_eq(out, want, "TZ=%s", shown);
	cr_assert_eq(src, want_source, "TZ=%s: source %d", shown, src);
}
#define EXPECT_TZ expect_tz

TestSuite(tz, .init = setup, .fini = teardown, .timeout = 10);

Test(tz, env_first)
{
	link_to("/usr/share/zoneinfo/Asia/Tokyo");
	write_timezone("America/New_York\n");
	EXPECT_TZ("Europe/Paris", "Europe/Paris", IOD_TZ_FROM_ENV);
	EXPECT_TZ(":Europe/Paris", "Europe/Paris", IOD_TZ_FROM_ENV);
	EXPECT_TZ("Etc/GMT+5", "Etc/GMT+5", IOD_TZ_FROM_ENV);
	EXPECT_TZ("America/Port-au-Prince", "America/Port-au-Prince", IOD_TZ_FROM_ENV);
	EXPECT_TZ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires",
		  IOD_TZ_FROM_ENV);
	/* A path into zoneinfo: what follows it; posix/ and right/ dropped. */
	EXPECT_TZ("/usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin", IOD_TZ_FROM_ENV);
	EXPECT_TZ(":/usr/share/zoneinfo/posix/Europe/Rome", "Europe/Rome", IOD_TZ_FROM_ENV);
	EXPECT_TZ("/usr/share/zoneinfo/right/UTC", "UTC", IOD_TZ_FROM_ENV);
	/* POSIX rules that are plain words pass as they are. */
	EXPECT_TZ("EST5EDT", "EST5EDT", IOD_TZ_FROM_ENV);
	EXPECT_TZ("UTC0", "UTC0", IOD_TZ_FROM_ENV);
}

Test(tz, env_invalid_falls_through)
{
	char long_name[80];
	memset(long_name, 'A', 65);
	long_name[65] = '\0';

	link_to("/usr/share/zoneinfo/Asia/Tokyo");
	const char *bad[] = {"",
			     ":",
			     "CET-1CEST,M3.5.0,M10.5.0/3",
			     "<+03>-3",
			     ":/etc/localtime", /* a path, not into zoneinfo */
			     "/usr/share/zoneinfo/",
			     "/usr/share/zoneinfo/../../etc/passwd",
			     "Europe//Paris",
			     "Europe/",
			     "/Europe/Paris",
			     "-Europe",
			     "Europe/Par is",
			     "Europe/Pa\xc3\xa9",
			     long_name};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_TZ(bad[i], "Asia/Tokyo", IOD_TZ_FROM_LOCALTIME);
	EXPECT_TZ(NULL, "Asia/Tokyo", IOD_TZ_FROM_LOCALTIME);
	/* 64 bytes is a name still. */
	long_name[64] = '\0';
	EXPECT_TZ(long_name, long_name, IOD_TZ_FROM_ENV);
}

Test(tz, localtime_symlink)
{
	write_timezone("America/New_York\n");
	link_to("../usr/share/zoneinfo/Australia/Lord_Howe");
	EXPECT_TZ(NULL, "Australia/Lord_Howe", IOD_TZ_FROM_LOCALTIME);
	link_to("/usr/share/zoneinfo/posix/Europe/Lisbon");
	EXPECT_TZ("", "Europe/Lisbon", IOD_TZ_FROM_LOCALTIME);
	/* The link's own text, not a file there: no such zone file is needed. */
	link_to("/nowhere/zoneinfo/Pacific/Chatham");
	EXPECT_TZ(NULL, "Pacific/Chatham", IOD_TZ_FROM_LOCALTIME);
	/* Not into zoneinfo, or not a name: /etc/timezone's. */
	link_to("/etc/some-zone");
	EXPECT_TZ(NULL, "America/New_York", IOD_TZ_FROM_TIMEZONE);
	link_to("/usr/share/zoneinfo/Bad Zone");
	EXPECT_TZ(NULL, "America/New_York", IOD_TZ_FROM_TIMEZONE);
	link_to("/usr/share/zoneinfo/");
	EXPECT_TZ(NULL, "America/New_York", IOD_TZ_FROM_TIMEZONE);
}

Test(tz, localtime_not_a_link)
{
	/* A copied zone file (Docker images, some distributions): no name in it. */
	FILE *f = fopen(localtime_path, "w");
	cr_assert_not_null(f);
	fputs("TZif2...", f);
	cr_assert_eq(fclose(f), 0);
	write_timezone("Africa/Nairobi\n");
	EXPECT_TZ(NULL, "Africa/Nairobi", IOD_TZ_FROM_TIMEZONE);
}

Test(tz, timezone_file)
{
	/* No localtime at all; the first line, blanks around it stripped. */
	write_timezone("  Europe/Dublin \r\nAsia/Tokyo\n");
	EXPECT_TZ(NULL, "Europe/Dublin", IOD_TZ_FROM_TIMEZONE);
	write_timezone("Europe/Oslo");
	EXPECT_TZ(NULL, "Europe/Oslo", IOD_TZ_FROM_TIMEZONE);
	write_timezone("/usr/share/zoneinfo/Europe/Vienna\n");
	EXPECT_TZ(NULL, "Europe/Vienna", IOD_TZ_FROM_TIMEZONE);
}

Test(tz, default_utc)
{
	/* Nothing anywhere. */
	EXPECT_TZ(NULL, "UTC", IOD_TZ_FROM_DEFAULT);
	/* Every source invalid. */
	link_to("/etc/elsewhere");
	write_timezone("not a zone\n");
	EXPECT_TZ("CET-1CEST,M3.5.0", "UTC", IOD_TZ_FROM_DEFAULT);
	write_timezone("\n");
	EXPECT_TZ(NULL, "UTC", IOD_TZ_FROM_DEFAULT);
	write_timezone("");
	EXPECT_TZ(NULL, "UTC", IOD_TZ_FROM_DEFAULT);
	/* NULL paths are skipped. */
	char out[IOD_TZ_SIZE];
	cr_assert_eq(iod_tz_resolve(NULL, NULL, NULL, out, sizeof(out)), IOD_TZ_FROM_DEFAULT);
	cr_assert_str_eq(out, "UTC");
}

Test(tz, small_buffer)
{
	char out[IOD_TZ_SIZE - 1];
	memset(out, 'x', sizeof(out));
	cr_assert_eq(iod_tz_resolve("Europe/Paris", NULL, NULL, out, sizeof(out)), -1);
	cr_assert_str_eq(out, "");
	cr_assert_eq(iod_tz_resolve("Europe/Paris", NULL, NULL, NULL, 0), -1);
}

Test(tz, name_valid)
{
	cr_assert(iod_tz_name_valid("UTC", 3));
	cr_assert(iod_tz_name_valid("Etc/GMT-14", 10));
	cr_assert_not(iod_tz_name_valid("", 0));
	cr_assert_not(iod_tz_name_valid("_x", 2));
	cr_assert_not(iod_tz_name_valid("a.b", 3));
	cr_assert_not(iod_tz_name_valid("a:b", 3));
}
