/*
 * atomicfile: a replace writes the bytes with the mode asked for, removes a
 * leftover temp file, and one that fails leaves the old file as it was.
 */
#include "atomicfile.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char path[128];
static char tmp[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_atomicfile.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/f.json.tmp", dir);
}

static void teardown(void)
{
	unlink(path);
	unlink(tmp);
	rmdir(tmp);
	rmdir(dir);
}

static void expect_file(const char *want, mode_t mode)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cr_assert_str_eq(buf, want);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, mode, "mode %o", (unsigned)(st.st_mode & 0777));
}

TestSuite(atomicfile, .init = setup, .fini = teardown, .timeout = 10);

Test(atomicfile, replace_writes_and_replaces)
{
	umask(022);
	cr_assert_eq(atomicfile_replace(path, "one\n", 4, 0600), 0);
	expect_file("one\n", 0600);
	cr_assert_eq(atomicfile_replace(path, "two", 3, 0644), 0);
	expect_file("two", 0644);
	cr_assert_eq(access(tmp, F_OK), -1, "no temp file left");
}

Test(atomicfile, leftover_temp_file_is_replaced)
{
	FILE *f = fopen(tmp, "w");
	cr_assert_not_null(f);
	fputs("half a write from before a crash", f);
	fclose(f);
	cr_assert_eq(atomicfile_replace(path, "new", 3, 0600), 0);
	expect_file("new", 0600);
	cr_assert_eq(access(tmp, F_OK), -1);
}

Test(atomicfile, failure_leaves_the_old_file)
{
	cr_assert_eq(atomicfile_replace(path, "old", 3, 0600), 0);
	cr_assert_eq(mkdir(tmp, 0700), 0);
	cr_assert_eq(atomicfile_replace(path, "new", 3, 0600), -EISDIR);
	expect_file("old", 0600);
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/no/such/dir/f", dir);
	cr_assert_eq(atomicfile_replace(missing, "x", 1, 0600), -ENOENT);
}

Test(atomicfile, sync_dir_of)
{
	cr_assert_eq(atomicfile_sync_dir_of(path), 0);
	cr_assert_eq(atomicfile_sync_dir_of("bare-name"), 0, "the current directory");
	cr_assert_eq(atomicfile_sync_dir_of("/etc"), 0, "the root directory");
	cr_assert_eq(atomicfile_sync_dir_of("/no/such/dir/f"), -ENOENT);
}
