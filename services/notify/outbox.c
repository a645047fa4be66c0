/*
 * outbox.c — the persistent delivery queue (outbox.h). Loop thread only.
 */
#include "outbox.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRC_TAIL     ",\"crc\":\"" /* then 8 hex digits, "}" */
#define CRC_TAIL_LEN 18		   /* ,"crc":"xxxxxxxx"} */
#define LINE_MAX_LEN (8 * 1024)
/* Compaction: at least this many finished entries, and more than twice the rest. */
#define COMPACT_MIN 64

struct outbox {
	char *path;
	int fd;
	struct outbox_item *items;
	size_t n, cap;
	uint64_t next_id;
	struct outbox_stats *stats, own_stats;
	bool unsynced; /* queued records appended, not yet fdatasync'd */
};

uint32_t outbox_crc32c(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xFFFFFFFFu;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* ---- records ---------------------------------------------------------------------- */

static bool add_str(cJSON *o, const char *name, const char *v)
{
	return cJSON_AddStringToObject(o, name, v) != NULL;
}

static bool add_int(cJSON *o, const char *name, int64_t v)
{
	char buf[32];

	/* Exact integers: printed by us, parsed back as raw numbers. */
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_AddRawToObject(o, name, buf) != NULL;
}

/* The line for a record: "{…,"crc":"xxxxxxxx"}\n", malloc'd. */
static char *seal(cJSON *o)
{
	char *body = cJSON_PrintUnformatted(o);
	size_t n;
	char *line;

	cJSON_Delete(o);
	if (body == NULL)
		return NULL;
	n = strlen(body);
	line = malloc(n + CRC_TAIL_LEN + 2);
	if (line == NULL || n < 2) {
		free(body);
		free(line);
		return NULL;
	}
	memcpy(line, body, n - 1); /* without the closing brace */
	line[n - 1] = '\0';
	free(body);
	uint32_t crc = outbox_crc32c(line, n - 1);
	snprintf(line + n - 1, CRC_TAIL_LEN + 2, CRC_TAIL "%08" PRIx32 "\"}\n", crc);
	return line;
}

static cJSON *queued_record(const struct outbox_item *it)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (!add_str(o, "k", "q") || !add_int(o, "id", (int64_t)it->id) ||
	    !add_str(o, "key", it->key) || !add_str(o, "contact", it->contact) ||
	    !add_int(o, "url", it->url) || !add_str(o, "occ", it->occ) ||
	    !add_str(o, "level", proto_level_name(it->alert.level)) ||
	    !add_str(o, "source", it->alert.source) || !add_str(o, "code", it->alert.code) ||
	    !add_str(o, "subject", it->alert.subject) ||
	    !add_str(o, "message", it->alert.message) || !add_int(o, "since", it->since_ms) ||
	    !add_int(o, "at", it->queued_ms) || !cJSON_AddBoolToObject(o, "test", it->test) ||
	    /* Carried over by a compaction; 0 in a fresh record. */
	    !add_int(o, "attempts", it->attempts) || !add_int(o, "next", it->next_ms) ||
	    !add_str(o, "state",
		     it->state == OUTBOX_PENDING     ? "pending"
		     : it->state == OUTBOX_DELIVERED ? "delivered"
						     : "given_up") ||
	    !add_str(o, "err", it->last_error)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *outcome_record(const char *kind, uint64_t id, int64_t at, int64_t next,
			     const char *err)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (!add_str(o, "k", kind) || !add_int(o, "id", (int64_t)id) || !add_int(o, "at", at) ||
	    (next && !add_int(o, "next", next)) || (err && !add_str(o, "err", err))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int append(struct outbox *ob, cJSON *rec, bool sync)
{
	char *line;
	int rc;

	if (rec == NULL || (line = seal(rec)) == NULL)
		return -ENOMEM;
	rc = write_all(ob->fd, line, strlen(line));
	free(line);
	if (rc != 0)
		return rc;
	if (!sync) {
		ob->unsynced = true;
		return 0;
	}
	return outbox_sync(ob);
}

int outbox_sync(struct outbox *ob)
{
	if (!ob->unsynced)
		return 0;
	if (fdatasync(ob->fd) != 0)
		return -errno;
	ob->unsynced = false;
	return 0;
}

/* ---- replay ------------------------------------------------------------------------ */

static bool sealed_ok(const char *line, size_t len)
{
	uint32_t crc = 0;

	if (len < CRC_TAIL_LEN + 2 || line[0] != '{' || line[len - 1] != '}' ||
	    line[len - 2] != '"')
		return false;
	if (memcmp(line + len - CRC_TAIL_LEN, CRC_TAIL, strlen(CRC_TAIL)) != 0)
		return false;
	for (size_t i = len - 10; i < len - 2; i++) {
		char c = line[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return false;
		crc = crc << 4 | (uint32_t)v;
	}
	return outbox_crc32c(line, len - CRC_TAIL_LEN) == crc;
}

static const char *get_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool get_int(const cJSON *o, const char *name, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v))
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

static bool copy(char *dst, size_t cap, const char *src)
{
	if (src == NULL || strlen(src) >= cap)
		return false;
	memcpy(dst, src, strlen(src) + 1);
	return true;
}

static struct outbox_item *grow(struct outbox *ob)
{
	if (ob->n == ob->cap) {
		size_t cap = ob->cap ? ob->cap * 2 : 16;
		struct outbox_item *p = realloc(ob->items, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		ob->items = p;
		ob->cap = cap;
	}
	memset(&ob->items[ob->n], 0, sizeof(ob->items[0]));
	return &ob->items[ob->n];
}

static int apply_queued(struct outbox *ob, const cJSON *o)
{
	struct outbox_item *it = grow(ob);
	const char *level = get_str(o, "level"), *state = get_str(o, "state");
	int64_t id, url, attempts = 0, next = 0;
	const cJSON *test = cJSON_GetObjectItemCaseSensitive(o, "test");

	if (it == NULL)
		return -1;
	if (!get_int(o, "id", &id) || id <= 0 || !get_int(o, "url", &url) || url < 0 ||
	    !copy(it->key, sizeof(it->key), get_str(o, "key")) ||
	    !copy(it->contact, sizeof(it->contact), get_str(o, "contact")) ||
	    !copy(it->occ, sizeof(it->occ), get_str(o, "occ")) || level == NULL ||
	    proto_level_parse(level, &it->alert.level) != 0 ||
	    !copy(it->alert.source, sizeof(it->alert.source), get_str(o, "source")) ||
	    !copy(it->alert.code, sizeof(it->alert.code), get_str(o, "code")) ||
	    !copy(it->alert.subject, sizeof(it->alert.subject), get_str(o, "subject")) ||
	    !copy(it->alert.message, sizeof(it->alert.message), get_str(o, "message")) ||
	    !get_int(o, "since", &it->since_ms) || !get_int(o, "at", &it->queued_ms) ||
	    !cJSON_IsBool(test))
		return -1;
	(void)get_int(o, "attempts", &attempts);
	(void)get_int(o, "next", &next);
	(void)copy(it->last_error, sizeof(it->last_error), get_str(o, "err"));
	it->id = (uint64_t)id;
	it->url = (int)url;
	it->test = cJSON_IsTrue(test);
	it->attempts = (unsigned)attempts;
	it->next_ms = next ? next : it->queued_ms;
	it->state = state && strcmp(state, "delivered") == 0  ? OUTBOX_DELIVERED
		    : state && strcmp(state, "given_up") == 0 ? OUTBOX_GIVEN_UP
							      : OUTBOX_PENDING;
	ob->n++;
	if (it->id >= ob->next_id)
		ob->next_id = it->id + 1;
	return 0;
}

static int apply_outcome(struct outbox *ob, const cJSON *o, char kind)
{
	int64_t id, at, next = 0;
	struct outbox_item *it;
	const char *err = get_str(o, "err");

	if (!get_int(o, "id", &id) || !get_int(o, "at", &at))
		return -1;
	it = outbox_find(ob, (uint64_t)id);
	if (it == NULL)
		return -1; /* its queued record was the damaged one */
	if (err)
		(void)copy(it->last_error, sizeof(it->last_error), err);
	switch (kind) {
	case 'f':
		if (!get_int(o, "next", &next))
			return -1;
		it->attempts++;
		it->next_ms = next;
		break;
	case 'd':
		it->state = OUTBOX_DELIVERED;
		break;
	case 'g':
		it->state = OUTBOX_GIVEN_UP;
		break;
	}
	return 0;
}

static int apply_line(struct outbox *ob, const char *line, size_t len)
{
	cJSON *o;
	const char *k;
	int rc = -1;

	if (!sealed_ok(line, len))
		return -1;
	o = cJSON_ParseWithLength(line, len);
	if (o == NULL)
		return -1;
	k = get_str(o, "k");
	if (k && strcmp(k, "q") == 0)
		rc = apply_queued(ob, o);
	else if (k && (strcmp(k, "f") == 0 || strcmp(k, "d") == 0 || strcmp(k, "g") == 0))
		rc = apply_outcome(ob, o, k[0]);
	cJSON_Delete(o);
	return rc;
}

static int replay(struct outbox *ob, char *why, size_t why_size)
{
	struct stat st;
	char *buf;
	size_t size, off = 0, good_end = 0;

	if (fstat(ob->fd, &st) != 0) {
		snprintf(why, why_size, "%s: %s", ob->path, strerror(errno));
		return -1;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (buf == NULL) {
		snprintf(why, why_size, "%s: out of memory", ob->path);
		return -1;
	}
	for (size_t got = 0; got < size;) {
		ssize_t r = pread(ob->fd, buf + got, size - got, (off_t)got);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			snprintf(why, why_size, "%s: %s", ob->path,
				 r < 0 ? strerror(errno) : "short read");
			free(buf);
			return -1;
		}
		got += (size_t)r;
	}
	while (off < size) {
		char *nl = memchr(buf + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (buf + off)) : size - off;
		bool last = nl == NULL || (size_t)(nl - buf) + 1 == size;

		if (nl && len <= LINE_MAX_LEN && apply_line(ob, buf + off, len) == 0) {
			ob->stats->records++;
			good_end = off + len + 1;
		} else if (last) {
			break; /* the torn tail: cut below */
		} else {
			ob->stats->damaged++;
			good_end = off + len + 1;
		}
		off += len + (nl ? 1 : 0);
	}
	free(buf);
	if (good_end < size) {
		ob->stats->torn_bytes = size - good_end;
		if (ftruncate(ob->fd, (off_t)good_end) != 0 || fdatasync(ob->fd) != 0) {
			snprintf(why, why_size, "%s: cutting the torn tail: %s", ob->path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

struct outbox *outbox_open(const char *path, struct outbox_stats *stats, char *why, size_t why_size)
{
	struct outbox *ob = calloc(1, sizeof(*ob));

	if (ob == NULL || (ob->path = strdup(path)) == NULL) {
		free(ob);
		snprintf(why, why_size, "%s: out of memory", path);
		return NULL;
	}
	ob->stats = stats ? stats : &ob->own_stats;
	memset(ob->stats, 0, sizeof(*ob->stats));
	ob->next_id = 1;
	ob->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (ob->fd < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		free(ob->path);
		free(ob);
		return NULL;
	}
	if (replay(ob, why, why_size) != 0) {
		outbox_close(ob);
		return NULL;
	}
	return ob;
}

void outbox_close(struct outbox *ob)
{
	if (ob == NULL)
		return;
	if (ob->fd >= 0)
		close(ob->fd);
	free(ob->items);
	free(ob->path);
	free(ob);
}

/* ---- the queue ------------------------------------------------------------------- */

struct outbox_item *outbox_queue(struct outbox *ob, const struct outbox_item *src, int64_t now_ms,
				 int *err)
{
	struct outbox_item *it = grow(ob);
	int rc;

	*err = 0;
	if (it == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	*it = *src;
	it->id = ob->next_id;
	it->state = OUTBOX_PENDING;
	it->attempts = 0;
	it->queued_ms = now_ms;
	it->next_ms = now_ms;
	it->last_error[0] = '\0';
	it->in_flight = false;
	rc = append(ob, queued_record(it), false);
	if (rc != 0) {
		*err = -rc;
		return NULL;
	}
	ob->next_id++;
	ob->n++;
	return it;
}

int outbox_failed(struct outbox *ob, struct outbox_item *it, int64_t now_ms, int64_t next_ms,
		  const char *error)
{
	it->attempts++;
	it->next_ms = next_ms;
	snprintf(it->last_error, sizeof(it->last_error), "%s", error ? error : "");
	return append(ob, outcome_record("f", it->id, now_ms, next_ms, it->last_error), true);
}

int outbox_delivered(struct outbox *ob, struct outbox_item *it, int64_t now_ms)
{
	it->state = OUTBOX_DELIVERED;
	return append(ob, outcome_record("d", it->id, now_ms, 0, NULL), true);
}

int outbox_given_up(struct outbox *ob, struct outbox_item *it, int64_t now_ms, const char *error)
{
	it->state = OUTBOX_GIVEN_UP;
	snprintf(it->last_error, sizeof(it->last_error), "%s", error ? error : "");
	return append(ob, outcome_record("g", it->id, now_ms, 0, it->last_error), true);
}

struct outbox_item *outbox_find(struct outbox *ob, uint64_t id)
{
	for (size_t i = 0; i < ob->n; i++)
		if (ob->items[i].id == id)
			return &ob->items[i];
	return NULL;
}

bool outbox_has(const struct outbox *ob, const char *key, const char *contact, int url,
		const char *occ)
{
	for (size_t i = 0; i < ob->n; i++) {
		const struct outbox_item *it = &ob->items[i];

		if (it->url == url && strcmp(it->occ, occ) == 0 && strcmp(it->key, key) == 0 &&
		    strcmp(it->contact, contact) == 0)
			return true;
	}
	return false;
}

size_t outbox_count(const struct outbox *ob)
{
	return ob->n;
}

struct outbox_item *outbox_at(struct outbox *ob, size_t i)
{
	return i < ob->n ? &ob->items[i] : NULL;
}

size_t outbox_depth(const struct outbox *ob)
{
	size_t n = 0;

	for (size_t i = 0; i < ob->n; i++)
		n += ob->items[i].state == OUTBOX_PENDING;
	return n;
}

int64_t outbox_next_due(const struct outbox *ob)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < ob->n; i++) {
		const struct outbox_item *it = &ob->items[i];

		if (it->state == OUTBOX_PENDING && !it->in_flight && it->next_ms < next)
			next = it->next_ms;
	}
	return next;
}

/* ---- compaction ------------------------------------------------------------------- */

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int outbox_compact(struct outbox *ob, bool force, bool (*keep)(void *arg, const char *key),
		   void *arg)
{
	size_t finished = 0, kept = 0;
	char tmp[PATH_MAX];
	int fd, rc = 0;

	for (size_t i = 0; i < ob->n; i++) {
		const struct outbox_item *it = &ob->items[i];
		bool k = it->state == OUTBOX_PENDING || (keep && keep(arg, it->key));

		kept += k;
		finished += !k;
	}
	if (!force && (finished < COMPACT_MIN || finished <= 2 * kept))
		return 0;
	if ((rc = outbox_sync(ob)) != 0)
		return rc;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", ob->path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < ob->n && rc == 0; i++) {
		const struct outbox_item *it = &ob->items[i];
		char *line;

		if (!(it->state == OUTBOX_PENDING || (keep && keep(arg, it->key))))
			continue;
		line = seal(queued_record(it));
		rc = line ? write_all(fd, line, strlen(line)) : -ENOMEM;
		free(line);
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, ob->path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	(void)fsync_dir(ob->path);
	/* The new file takes the appends; the old descriptor's file is gone. */
	int nfd = open(ob->path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	close(ob->fd);
	ob->fd = nfd;
	size_t w = 0;
	for (size_t i = 0; i < ob->n; i++) {
		struct outbox_item *it = &ob->items[i];

		if (it->state == OUTBOX_PENDING || (keep && keep(arg, it->key)))
			ob->items[w++] = *it;
	}
	ob->n = w;
	ob->stats->compactions++;
	return 0;
}
