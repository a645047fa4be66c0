/* Static file cache: validators, gzip, Accept-Encoding, bounds, reloads. */
#include "webcache.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[] = "/tmp/test-webcache-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

static void put(const char *name, const char *text, struct stat *st, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(stat(path, st), 0);
}

TestSuite(webcache, .init = setup, .fini = teardown, .timeout = 10);

Test(webcache, accept_encoding)
{
	cr_assert(webcache_accepts_gzip("gzip"));
	cr_assert(webcache_accepts_gzip("gzip, deflate, br"));
	cr_assert(webcache_accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
	cr_assert(webcache_accepts_gzip("*"));
	cr_assert(webcache_accepts_gzip("x-gzip"));
	cr_assert(webcache_accepts_gzip("GZIP"));
	cr_assert_not(webcache_accepts_gzip(NULL));
	cr_assert_not(webcache_accepts_gzip(""));
	cr_assert_not(webcache_accepts_gzip("identity"));
	cr_assert_not(webcache_accepts_gzip("deflate, br"));
	cr_assert_not(webcache_accepts_gzip("gzip;q=0"));
	cr_assert_not(webcache_accepts_gzip("gzip;q=0.000, identity"));
	cr_assert_not(webcache_accepts_gzip("*, gzip;q=0"));
	cr_assert_not(webcache_accepts_gzip("gzipper"));
	cr_assert(webcache_accepts_gzip("gzip;q=0.5"));
}

Test(webcache, http_date)
{
	char buf[40];
	webcache_http_date(784111777, buf, sizeof(buf));
	cr_assert_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
}

Test(webcache, text_is_gzipped_once_and_validated)
{
	static char big[10000];
	for (size_t i = 0; i + 1 < sizeof(big); i++)
		big[i] = "body { color: red; }\n"[i % 21];
	char path[256];
	struct stat st;
	put("a.css", big, &st, path, sizeof(path));
	struct webcache *c = webcache_new(1 << 20, 1 << 20);
	struct webfile *f = webcache_get(c, path, &st, "text/css; charset=utf-8");
	cr_assert_not_null(f);
	cr_assert_eq(f->len, strlen(big));
	cr_assert_eq(memcmp(f->data, big, f->len), 0);
	cr_assert_not_null(f->gz);
	cr_assert_lt(f->gz_len, f->len / 10);
	static char out[20000];
	uLongf n = sizeof(out);
	z_stream zs = {0};
	inflateInit2(&zs, 15 + 16);
	zs.next_in = f->gz;
	zs.avail_in = (uInt)f->gz_len;
	zs.next_out = (unsigned char *)out;
	zs.avail_out = (uInt)n;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	cr_assert_eq(zs.total_out, f->len);
	cr_assert_eq(memcmp(out, big, f->len), 0);
	inflateEnd(&zs);
	/* ETags quoted, one per representation; Last-Modified from mtime. */
	cr_assert_eq(f->etag[0], '"');
	cr_assert_str_neq(f->etag, f->etag_gz);
	char lm[40];
	webcache_http_date(st.st_mtim.tv_sec, lm, sizeof(lm));
	cr_assert_str_eq(f->last_modified, lm);
	cr_assert(webcache_not_modified(f, f->etag, NULL));
	cr_assert(webcache_not_modified(f, f->etag_gz, NULL));
	char list[160];
	snprintf(list, sizeof(list), "\"a\", W/%s", f->etag);
	cr_assert(webcache_not_modified(f, list, NULL));
	cr_assert(webcache_not_modified(f, "*", NULL));
	cr_assert_not(webcache_not_modified(f, "\"nope\"", lm), "If-None-Match decides");
	cr_assert(webcache_not_modified(f, NULL, lm));
	cr_assert(webcache_not_modified(f, NULL, "Fri, 31 Dec 2099 23:59:59 GMT"));
	cr_assert_not(webcache_not_modified(f, NULL, "Thu, 01 Jan 1970 00:00:00 GMT"));
	cr_assert_not(webcache_not_modified(f, NULL, "yesterday"));
	cr_assert_not(webcache_not_modified(f, NULL, NULL));
	/* The same file again: the same entry, no reload. */
	struct webfile *g = webcache_get(c, path, &st, "text/css; charset=utf-8");
	cr_assert_eq(g, f);
	webfile_unref(g);
	webfile_unref(f);
	webcache_free(c);
}

Test(webcache, binary_not_gzipped_changes_reload_bounds_hold)
{
	char path[256], p2[256];
	struct stat st, st2;
	put("a.png", "PNGPNGPNGPNGPNGPNGPNGPNGPNGPNGPNGPNG", &st, path, sizeof(path));
	struct webcache *c = webcache_new(100, 60);
	struct webfile *f = webcache_get(c, path, &st, "image/png");
	cr_assert_not_null(f);
	cr_assert_null(f->gz, "no gzip for images");
	char old_etag[64];
	snprintf(old_etag, sizeof(old_etag), "%s", f->etag);
	webfile_unref(f);
	/* Changed on disk (another size): reloaded, a new ETag. */
	put("a.png", "PNG!", &st, path, sizeof(path));
	f = webcache_get(c, path, &st, "image/png");
	cr_assert_eq(f->len, 4);
	cr_assert_str_neq(f->etag, old_etag);
	webfile_unref(f);
	/* Over the per-file bound: not cached, EFBIG. */
	put("big.png", "0123456789012345678901234567890123456789012345678901234567890123456789",
	    &st2, p2, sizeof(p2));
	errno = 0;
	cr_assert_null(webcache_get(c, p2, &st2, "image/png"));
	cr_assert_eq(errno, EFBIG);
	/* The total bound: the least recently used goes. */
	char p3[256], p4[256];
	struct stat st3, st4;
	put("c.png", "0123456789012345678901234567890123456789", &st3, p3, sizeof(p3));
	put("d.png", "0123456789012345678901234567890123456789012345", &st4, p4, sizeof(p4));
	webfile_unref(webcache_get(c, p3, &st3, "image/png"));
	cr_assert_leq(webcache_bytes(c), 100);
	webfile_unref(webcache_get(c, p4, &st4, "image/png"));
	cr_assert_leq(webcache_bytes(c), 100, "%zu", webcache_bytes(c));
	webcache_free(c);
}
