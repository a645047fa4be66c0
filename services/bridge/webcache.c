#include "webcache.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct webcache {
	struct webfile *head, *tail; /* LRU: head newest */
	size_t bytes, max_bytes, max_file;
};

struct webcache *webcache_new(size_t max_bytes, size_t max_file)
{
	struct webcache *c = calloc(1, sizeof(*c));
	if (c) {
		c->max_bytes = max_bytes;
		c->max_file = max_file;
	}
	return c;
}

static size_t cost(const struct webfile *f)
{
	return f->len + f->gz_len;
}

static void unlink_file(struct webcache *c, struct webfile *f)
{
	if (!f->cached)
		return;
	if (f->prev)
		f->prev->next = f->next;
	else
		c->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		c->tail = f->prev;
	f->prev = f->next = NULL;
	f->cached = false;
	c->bytes -= cost(f);
	webfile_unref(f);
}

static void push_front(struct webcache *c, struct webfile *f)
{
	f->prev = NULL;
	f->next = c->head;
	if (c->head)
		c->head->prev = f;
	c->head = f;
	if (!c->tail)
		c->tail = f;
}

void webcache_free(struct webcache *c)
{
	if (!c)
		return;
	while (c->head)
		unlink_file(c, c->head);
	free(c);
}

void webfile_unref(struct webfile *f)
{
	if (!f || --f->refs)
		return;
	free(f->path);
	free(f->data);
	free(f->gz);
	free(f);
}

size_t webcache_bytes(const struct webcache *c)
{
	return c->bytes;
}

static bool is_text(const char *mime)
{
	static const char *const text[] = {"text/", "application/json", "application/javascript",
					   "image/svg+xml", "application/manifest+json"};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (!strncmp(mime, text[i], strlen(text[i])))
			return true;
	return false;
}

/* gzip (RFC 1952) of f->data into f->gz, kept only when smaller. */
static void compress_file(struct webfile *f)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return;
	uLong bound = deflateBound(&zs, (uLong)f->len) + 32;
	unsigned char *out = malloc(bound);
	if (out) {
		zs.next_in = f->data;
		zs.avail_in = (uInt)f->len;
		zs.next_out = out;
		zs.avail_out = (uInt)bound;
		if (deflate(&zs, Z_FINISH) == Z_STREAM_END && zs.total_out < f->len) {
			f->gz = out;
			f->gz_len = zs.total_out;
			out = NULL;
		}
		free(out);
	}
	deflateEnd(&zs);
}

static int read_all(const char *path, size_t len, unsigned char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	unsigned char *buf = malloc(len ? len : 1);
	size_t got = 0;
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO; /* shrank while we read: retry later */
			free(buf);
			close(fd);
			errno = e;
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

struct webfile *webcache_get(struct webcache *c, const char *path, const struct stat *st,
			     const char *mime)
{
	for (struct webfile *f = c->head; f; f = f->next) {
		if (strcmp(f->path, path))
			continue;
		if (f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
		    f->mtime_ns == mtime_ns(st)) {
			if (f != c->head) { /* most recently used first */
				f->prev->next = f->next;
				if (f->next)
					f->next->prev = f->prev;
				else
					c->tail = f->prev;
				push_front(c, f);
			}
			f->refs++;
			return f;
		}
		unlink_file(c, f); /* changed on disk */
		break;
	}
	if (st->st_size < 0 || (size_t)st->st_size > c->max_file) {
		errno = EFBIG;
		return NULL;
	}
	struct webfile *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	f->refs = 1;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime_ns = mtime_ns(st);
	f->mime = mime;
	f->len = (size_t)st->st_size;
	if (read_all(path, f->len, &f->data) < 0) {
		int e = errno;
		webfile_unref(f);
		errno = e;
		return NULL;
	}
	if (is_text(mime))
		compress_file(f);
	snprintf(f->etag, sizeof(f->etag), "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)f->mtime_ns,
		 (uint64_t)f->size);
	snprintf(f->etag_gz, sizeof(f->etag_gz), "\"%" PRIx64 "-%" PRIx64 "-gz\"",
		 (uint64_t)f->mtime_ns, (uint64_t)f->size);
	webcache_http_date(st->st_mtim.tv_sec, f->last_modified, sizeof(f->last_modified));
	/* The cache's own reference, then make room (never evicting this one). */
	f->refs++;
	f->cached = true;
	push_front(c, f);
	c->bytes += cost(f);
	while (c->bytes > c->max_bytes && c->tail && c->tail != f)
		unlink_file(c, c->tail);
	if (c->bytes > c->max_bytes)
		unlink_file(c, f); /* alone over the bound: served, not kept */
	return f;
}

/* ---- HTTP header logic ------------------------------------------------------ */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* q=0, q=0.0, q=0.000 */
static bool q_is_zero(const char *params, size_t n)
{
	const char *q = NULL;
	for (size_t i = 0; i + 1 < n; i++)
		if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=' &&
		    (i == 0 || params[i - 1] == ';' || params[i - 1] == ' ')) {
			q = params + i + 2;
			break;
		}
	if (!q)
		return false;
	if (*q != '0')
		return false;
	q++;
	if (*q == '.')
		for (q++; *q == '0'; q++)
			;
	return q >= params + n || *q == ',' || *q == ';' || *q == ' ' || *q == '\0';
}

bool webcache_accepts_gzip(const char *ae)
{
	if (!ae)
		return false;
	int gzip = -1, star = -1; /* -1 not named, 0 refused, 1 accepted */
	const char *p = ae;
	while (*p) {
		p = skip_ws(p);
		size_t n = strcspn(p, ",");
		size_t name = strcspn(p, ";, \t");
		if (name > n)
			name = n;
		int ok = q_is_zero(p + name, n - name) ? 0 : 1;
		if ((name == 4 && !strncasecmp(p, "gzip", 4)) ||
		    (name == 6 && !strncasecmp(p, "x-gzip", 6)))
			gzip = ok;
		else if (name == 1 && *p == '*')
			star = ok;
		p += n;
		if (*p == ',')
			p++;
	}
	return gzip == 1 || (gzip == -1 && star == 1);
}

static bool etag_listed(const char *list, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = list;
	while (*p) {
		p = skip_ws(p);
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p != '"')
			return false;
		const char *end = strchr(p + 1, '"');
		if (!end)
			return false;
		if ((size_t)(end + 1 - p) == elen && !strncmp(p, etag, elen))
			return true;
		p = skip_ws(end + 1);
		if (*p != ',')
			return false;
		p++;
	}
	return false;
}

static int month_index(const char *m)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int i = 0; i < 12; i++)
		if (!strncmp(m, months + 3 * i, 3))
			return i;
	return -1;
}

/* IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 otherwise. */
static int64_t parse_http_date(const char *s)
{
	char wday[4], mon[4], zone[4];
	int day, year, h, m, sec;
	if (sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s", wday, &day, mon, &year, &h, &m, &sec, zone) !=
		8 ||
	    strcmp(zone, "GMT"))
		return -1;
	int mi = month_index(mon);
	if (mi < 0 || day < 1 || day > 31 || h > 23 || m > 59 || sec > 60 || year < 1970)
		return -1;
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = mi,
			.tm_mday = day,
			.tm_hour = h,
			.tm_min = m,
			.tm_sec = sec};
	return (int64_t)timegm(&tm);
}

bool webcache_not_modified(const struct webfile *f, const char *inm, const char *ims)
{
	if (inm)
		return etag_listed(inm, f->etag) || etag_listed(inm, f->etag_gz);
	if (ims) {
		int64_t t = parse_http_date(ims);
		return t >= 0 && f->mtime_ns / 1000000000 <= t;
	}
	return false;
}

void webcache_http_date(int64_t t, char *buf, size_t size)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(buf, size, "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT", days + 3 * tm.tm_wday,
		 tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}
