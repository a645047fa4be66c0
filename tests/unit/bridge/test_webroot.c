/* The web-root check (http.c, http_static_path): only regular files inside
 * the root, after realpath(), so no symlink out of it and no sibling that
 * merely shares its prefix. Real files in a temporary directory. */
#include "glue_stubs.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test-webroot-XXXXXX";
static char root[PATH_MAX]; /* dir/web, as realpath() gives it */

static void put(const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *target, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(symlink(target, path), 0, "%s", path);
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	char path[PATH_MAX];
	const char *dirs[] = {"web", "web/js", "web/sub.d", "web2", NULL};
	for (const char *const *d = dirs; *d; d++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *d);
		cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
	}
	put("web/index.html", "<!doctype html>");
	put("web/js/app.js", "export {};");
	put("web/.env", "secret");
	put("web2/secret.txt", "secret");
	put("outside.txt", "secret");
	link_to("app.js", "web/js/alias.js");	       /* inside: allowed */
	link_to("../outside.txt", "web/out.txt");      /* out of the root */
	link_to("../web2/secret.txt", "web/twin.txt"); /* into dir/web2: same prefix */
	link_to("/etc/passwd", "web/passwd");
	snprintf(path, sizeof(path), "%s/web", dir);
	cr_assert_not_null(realpath(path, root));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

static void expect_file(const char *uri, const char *rel)
{
	char out[PATH_MAX], want[PATH_MAX + 64];
	struct stat st;
	cr_assert(http_static_path(root, uri, out, &st), "%s refused", uri);
	snprintf(want, sizeof(want), "%s/%s", root, rel);
	cr_assert_str_eq(out, want);
	cr_assert(S_ISREG(st.st_mode));
}

static void expect_refused(const char *uri)
{
	char out[PATH_MAX];
	struct stat st;
	cr_assert_not(http_static_path(root, uri, out, &st), "%s served as %s", uri, out);
}

TestSuite(webroot, .init = setup, .fini = teardown, .timeout = 5);

Test(webroot, files_inside_the_root)
{
	expect_file("/", "index.html");
	expect_file("/index.html", "index.html");
	expect_file("/js/app.js", "js/app.js");
	expect_file("/js/alias.js", "js/app.js"); /* a symlink inside the root */
}

Test(webroot, nothing_outside_it)
{
	expect_refused("/out.txt");
	expect_refused("/twin.txt"); /* dir/web2 starts with dir/web */
	expect_refused("/passwd");
	expect_refused("/../outside.txt");
	expect_refused("/js/../../outside.txt");
	expect_refused("/.env");
	expect_refused("/missing.html");
	expect_refused("/js");	   /* a directory: no listing */
	expect_refused("/sub.d/"); /* nor its index */
	expect_refused("js/app.js");
}

Test(webroot, no_root_serves_nothing)
{
	char out[PATH_MAX];
	struct stat st;
	cr_assert_not(http_static_path("", "/index.html", out, &st));
}
