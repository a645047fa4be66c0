/* journal: encoding, recovery (torn tail, bad lines, empty, missing, not a
 * file), append failures and atomic rewrite. Files live in a temp dir. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

static char dir[256];
static char path[300];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/iod-journal-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal", dir);
}

static void teardown(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void write_text(const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(void)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

struct seen {
	struct journal_rec recs[16];
	size_t n;
};

static void collect(void *arg, const struct journal_rec *rec)
{
	struct seen *s = arg;
	if (s->n < 16)
		s->recs[s->n++] = *rec;
}

TestSuite(journal, .init = setup, .fini = teardown);

Test(journal, encode_decode_round_trip, .timeout = 5)
{
	struct journal_rec in = {.op = JOURNAL_INTENT, .ts_ms = 1795672800123, .scheduled = true};
	strcpy(in.id, "schedule-2026-11-26T07:00");
	strcpy(in.by, "Ann \"the vet\" \\ x");
	strcpy(in.slot, "2026-11-26T07:00");
	char *line = journal_encode(&in);
	cr_assert_not_null(line);
	cr_assert_eq(line[strlen(line) - 1], '\n');
	cr_assert_eq(strchr(line, '\n'), line + strlen(line) - 1, "one line only");
	cr_assert(strstr(line, "\"ts\":1795672800123") != NULL, "exact integer ts: %s", line);
	struct journal_rec out;
	cr_assert_eq(journal_decode(line, strlen(line) - 1, &out), 0);
	cr_assert_eq(out.op, JOURNAL_INTENT);
	cr_assert_eq(out.ts_ms, 1795672800123);
	cr_assert_str_eq(out.id, in.id);
	cr_assert_str_eq(out.by, in.by);
	cr_assert_str_eq(out.slot, in.slot);
	cr_assert(out.scheduled);
	free(line);
}

Test(journal, decode_rejects_garbage, .timeout = 5)
{
	struct journal_rec r;
	const char *bad[] = {
	    "",
	    "{",
	    "[]",
	    "{\"op\":\"intent\",\"ts\":1}",				   /* no id */
	    "{\"op\":\"frobnicate\",\"id\":\"a\",\"ts\":1}",		   /* unknown op */
	    "{\"op\":\"done\",\"id\":\"a b\",\"ts\":1,\"result\":\"ok\"}", /* bad id */
	    "{\"op\":\"done\",\"id\":\"a\",\"ts\":\"1\"}",		   /* ts not a number */
	    "{\"op\":\"cmd\",\"id\":\"a\",\"ts\":1,\"result\":\"ok\"}",	   /* cmd without action */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(journal_decode(bad[i], strlen(bad[i]), &r), -1, "accepted %s", bad[i]);
}

Test(journal, missing_file_is_first_install, .timeout = 5)
{
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	cr_assert(info.missing);
	cr_assert_eq(s.n, 0);
}

Test(journal, empty_file_loads_nothing, .timeout = 5)
{
	write_text("");
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	cr_assert_not(info.missing);
	cr_assert_eq(info.lines, 0);
	cr_assert_not(info.torn_tail);
	cr_assert_eq(s.n, 0);
}

Test(journal, torn_last_line_is_ignored_and_cut_on_open, .timeout = 5)
{
	const char *good =
	    "{\"op\":\"init\",\"ts\":1000}\n"
	    "{\"op\":\"intent\",\"id\":\"d1\",\"ts\":2000,\"by\":\"a\",\"source\":\"manual\"}\n";
	char text[512];
	snprintf(text, sizeof(text), "%s{\"op\":\"done\",\"id\":\"d1\",\"ts\":30", good);
	write_text(text);
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	cr_assert(info.torn_tail);
	cr_assert_eq(info.lines, 2);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.recs[1].op, JOURNAL_INTENT);
	cr_assert_eq(info.valid_end, (int64_t)strlen(good));

	int err = 0;
	struct journal *j = journal_open(path, &info, &err);
	cr_assert_not_null(j, "open: %s", strerror(-err));
	struct journal_rec done = {.op = JOURNAL_DONE, .ts_ms = 4000};
	strcpy(done.id, "d1");
	strcpy(done.result, "ok");
	cr_assert_eq(journal_append(j, &done, true), 0);
	journal_close(j);
	char expect[600];
	snprintf(expect, sizeof(expect),
		 "%s{\"op\":\"done\",\"id\":\"d1\",\"ts\":4000,\"result\":\"ok\"}\n", good);
	cr_assert_str_eq(read_text(), expect);
}

Test(journal, complete_last_line_without_newline_is_kept, .timeout = 5)
{
	write_text("{\"op\":\"init\",\"ts\":1000}");
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	cr_assert_eq(info.lines, 1);
	cr_assert(info.missing_newline);
	int err;
	struct journal *j = journal_open(path, &info, &err);
	cr_assert_not_null(j);
	struct journal_rec r = {.op = JOURNAL_INIT, .ts_ms = 5};
	cr_assert_eq(journal_append(j, &r, false), 0);
	journal_close(j);
	cr_assert_str_eq(read_text(),
			 "{\"op\":\"init\",\"ts\":1000}\n{\"op\":\"init\",\"ts\":5}\n");
}

Test(journal, bad_middle_line_is_skipped, .timeout = 5)
{
	write_text("{\"op\":\"init\",\"ts\":1}\nGARBAGE\n{\"op\":\"init\",\"ts\":2}\n");
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	cr_assert_eq(info.bad_lines, 1);
	cr_assert_eq(info.lines, 2);
	cr_assert_eq(s.recs[1].ts_ms, 2);
	cr_assert_not(info.torn_tail);
}

Test(journal, not_a_regular_file_is_an_error, .timeout = 5)
{
	cr_assert_eq(mkdir(path, 0700), 0);
	struct seen s = {0};
	struct journal_load_info info;
	int rc = journal_load(path, collect, &s, &info);
	cr_assert(rc == -EINVAL || rc == -EISDIR, "rc %d", rc);
	char link[320];
	snprintf(link, sizeof(link), "%s/journal2", dir);
	cr_assert_eq(symlink("/dev/zero", link), 0);
	cr_assert_eq(journal_load(link, collect, &s, &info), -EINVAL);
}

Test(journal, unreadable_parent_is_an_error, .timeout = 5)
{
	char file[320], below[400];
	snprintf(file, sizeof(file), "%s/plainfile", dir);
	write_text("x");
	cr_assert_eq(rename(path, file), 0);
	snprintf(below, sizeof(below), "%s/journal", file);
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(below, collect, &s, &info), -ENOTDIR);
	int err = 0;
	cr_assert_null(journal_open(below, NULL, &err));
	cr_assert_eq(err, -ENOTDIR);
}

Test(journal, append_to_full_disk_fails, .timeout = 5)
{
	int err = 0;
	struct journal *j = journal_open("/dev/full", NULL, &err);
	cr_assert_not_null(j, "open /dev/full: %s", strerror(-err));
	struct journal_rec r = {.op = JOURNAL_INTENT, .ts_ms = 1};
	strcpy(r.id, "d1");
	cr_assert_eq(journal_append(j, &r, true), -ENOSPC);
	cr_assert_eq(journal_appended(j), 0);
	journal_close(j);
}

Test(journal, create_then_append_and_reload, .timeout = 5)
{
	int err = 0;
	struct journal *j = journal_open(path, NULL, &err);
	cr_assert_not_null(j);
	struct journal_rec r = {.op = JOURNAL_CMD, .ts_ms = 7};
	strcpy(r.id, "h1");
	strcpy(r.action, "home");
	strcpy(r.result, "rejected");
	strcpy(r.reason, "busy");
	cr_assert_eq(journal_append(j, &r, false), 0);
	struct journal_rec sl = {.op = JOURNAL_SLOT, .ts_ms = 8};
	strcpy(sl.slot, "2026-11-26T07:00");
	strcpy(sl.result, "missed");
	cr_assert_eq(journal_append(j, &sl, true), 0);
	cr_assert_eq(journal_appended(j), 2);
	cr_assert_eq(journal_size(j), (int64_t)strlen(read_text()));
	journal_close(j);
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.recs[0].action, "home");
	cr_assert_str_eq(s.recs[0].reason, "busy");
	cr_assert_eq(s.recs[1].op, JOURNAL_SLOT);
	cr_assert_str_eq(s.recs[1].slot, "2026-11-26T07:00");
}

Test(journal, rewrite_replaces_atomically, .timeout = 5)
{
	write_text(
	    "{\"op\":\"init\",\"ts\":1}\n{\"op\":\"init\",\"ts\":2}\n{\"op\":\"init\",\"ts\":3}\n");
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	int err;
	struct journal *j = journal_open(path, &info, &err);
	cr_assert_not_null(j);
	struct journal_rec keep = {.op = JOURNAL_INIT, .ts_ms = 1};
	cr_assert_eq(journal_rewrite(j, &keep, 1), 0);
	struct journal_rec more = {.op = JOURNAL_INIT, .ts_ms = 9};
	cr_assert_eq(journal_append(j, &more, true), 0);
	journal_close(j);
	cr_assert_str_eq(read_text(), "{\"op\":\"init\",\"ts\":1}\n{\"op\":\"init\",\"ts\":9}\n");
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(access(tmp, F_OK), -1, "temp file left behind");
}

/* ---- audit ---------------------------------------------------------------------- */

/* A rewrite whose rename succeeded but whose directory fsync failed must not
 * leave the journal appending to the replaced (unlinked) file: a dose
 * journaled there would be lost at the next start. Directory fsync errors
 * are injected through the linker (--wrap=fsync, see CMakeLists.txt). */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
static int fail_dir_fsync;
int __wrap_fsync(int fd)
{
	struct stat st;
	if (fail_dir_fsync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		fail_dir_fsync--;
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

Test(journal, rewrite_with_failed_dir_fsync_never_appends_to_the_old_file, .timeout = 5)
{
	int err;
	struct journal *j = journal_open(path, NULL, &err);
	cr_assert_not_null(j);
	struct journal_rec a = {.op = JOURNAL_INTENT, .ts_ms = 1, .id = "a", .by = "x"};
	cr_assert_eq(journal_append(j, &a, true), 0);
	fail_dir_fsync = 1;
	cr_assert_lt(journal_rewrite(j, &a, 1), 0, "the failed dir fsync is reported");
	struct journal_rec b = {.op = JOURNAL_INTENT, .ts_ms = 2, .id = "b", .by = "x"};
	int rc = journal_append(j, &b, true);
	struct seen s = {0};
	struct journal_load_info info;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	if (rc == 0) {
		cr_assert_eq(s.n, 2, "an append that succeeded is in the journal");
		cr_assert_str_eq(s.recs[1].id, "b");
	}
	/* and appending works again */
	struct journal_rec c = {.op = JOURNAL_INTENT, .ts_ms = 3, .id = "c", .by = "x"};
	cr_assert_eq(journal_append(j, &c, true), 0);
	s.n = 0;
	cr_assert_eq(journal_load(path, collect, &s, &info), 0);
	cr_assert_str_eq(s.recs[s.n - 1].id, "c");
	journal_close(j);
}
