/*
 * webcache — the dashboard's static files in memory, with what HTTP caches
 * and browsers need: an ETag and a Last-Modified per file, conditional
 * requests (If-None-Match, If-Modified-Since -> 304), and a gzip copy of
 * text files made once when first served (zlib, level 9), kept only when it
 * is smaller.
 *
 * A file is looked up by its real path and the stat() the caller just made:
 * a change of device, inode, size or mtime reloads it, so a deploy of new
 * web files needs no restart. The ETag is "<mtime ns hex>-<size hex>" (the
 * gzip copy's has "-gz" appended: a different representation). The cache
 * is bounded (bytes of data + gzip copies); the least recently used files
 * go first, and files over the per-file bound are not cached (the caller
 * serves them from disk).
 *
 * Loop thread only (plain reference counts). No lws in here: unit-tested.
 */
#ifndef IOD_BRIDGE_WEBCACHE_H
#define IOD_BRIDGE_WEBCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct webfile {
	uint32_t refs;
	struct webfile *prev, *next; /* the cache's LRU list, newest first */
	bool cached;		     /* still in the cache's list */
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	const char *mime; /* static */
	char etag[48];	  /* with the quotes */
	char etag_gz[52];
	char last_modified[40]; /* IMF-fixdate */
	unsigned char *data;
	size_t len;
	unsigned char *gz; /* NULL: not text, or gzip would not be smaller */
	size_t gz_len;
};

struct webcache;

/* max_bytes: all cached data; max_file: larger files are not cached. */
struct webcache *webcache_new(size_t max_bytes, size_t max_file);
void webcache_free(struct webcache *c);

/*
 * The file at path (a real path; st its fresh stat()), with one reference
 * for the caller (webfile_unref when done). NULL with errno set: EFBIG over
 * max_file, or the read's error.
 */
struct webfile *webcache_get(struct webcache *c, const char *path, const struct stat *st,
			     const char *mime);
void webfile_unref(struct webfile *f);

/* Accept-Encoding (NULL: none) allows gzip: a gzip / x-gzip or * token whose
 * q is not 0 (and gzip not refused by name). */
bool webcache_accepts_gzip(const char *accept_encoding);
/* The request's validators say the client's copy is current (RFC 9110
 * 13.1.2/13.1.3): If-None-Match, when present, decides (weak comparison,
 * either ETag, or *); else If-Modified-Since, when it parses, against the
 * mtime in whole seconds. NULL for an absent header. */
bool webcache_not_modified(const struct webfile *f, const char *if_none_match,
			   const char *if_modified_since);
/* t (seconds since the epoch, UTC) as an IMF-fixdate: "Tue, 01 Dec 2026 21:17:53 GMT". */
void webcache_http_date(int64_t t, char *buf, size_t size);
/* Bytes cached now (for /metrics and tests). */
size_t webcache_bytes(const struct webcache *c);

#endif
