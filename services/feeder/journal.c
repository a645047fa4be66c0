#include "journal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct journal {
	int fd; /* -1: lost after a rewrite; reopened by the next append */
	char *path;
	int64_t size;
	size_t appended;
	bool dir_unsynced; /* a rewrite's rename is not known durable yet */
};

static const char *const op_names[] = {
    [JOURNAL_INIT] = "init", [JOURNAL_INTENT] = "intent", [JOURNAL_DONE] = "done",
    [JOURNAL_CMD] = "cmd",   [JOURNAL_SLOT] = "slot",
};

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

char *journal_encode(const struct journal_rec *rec)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char ts[24];
	snprintf(ts, sizeof(ts), "%lld", (long long)rec->ts_ms);
	cJSON_AddStringToObject(o, "op", op_names[rec->op]);
	if (rec->op != JOURNAL_INIT && rec->op != JOURNAL_SLOT)
		cJSON_AddStringToObject(o, "id", rec->id);
	/* ts as a raw integer: cJSON would print it through a double. */
	cJSON_AddRawToObject(o, "ts", ts);
	switch (rec->op) {
	case JOURNAL_INTENT:
		cJSON_AddStringToObject(o, "by", rec->by);
		cJSON_AddStringToObject(o, "source", rec->scheduled ? "schedule" : "manual");
		if (rec->slot[0])
			cJSON_AddStringToObject(o, "slot", rec->slot);
		if (rec->boot[0]) {
			char mono[24];
			snprintf(mono, sizeof(mono), "%lld", (long long)rec->mono_ms);
			cJSON_AddStringToObject(o, "boot", rec->boot);
			cJSON_AddRawToObject(o, "mono", mono);
		}
		break;
	case JOURNAL_CMD:
		cJSON_AddStringToObject(o, "action", rec->action);
		/* fall through */
	case JOURNAL_DONE:
		cJSON_AddStringToObject(o, "result", rec->result);
		if (rec->reason[0])
			cJSON_AddStringToObject(o, "reason", rec->reason);
		break;
	case JOURNAL_SLOT:
		cJSON_AddStringToObject(o, "slot", rec->slot);
		cJSON_AddStringToObject(o, "result", rec->result);
		if (rec->reason[0])
			cJSON_AddStringToObject(o, "reason", rec->reason);
		break;
	case JOURNAL_INIT:
		break;
	}
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return NULL;
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* Copy string member name into dst; absent is fine unless required. */
static int get_str(const cJSON *o, const char *name, bool required, char *dst, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!it)
		return required ? -1 : 0;
	if (!cJSON_IsString(it) || strlen(it->valuestring) >= cap)
		return -1;
	copy_str(dst, cap, it->valuestring);
	return 0;
}

int journal_decode(const char *line, size_t len, struct journal_rec *out)
{
	memset(out, 0, sizeof(*out));
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!o)
		return -1;
	int rc = -1;
	char op[16] = "";
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
	if (!cJSON_IsObject(o) || get_str(o, "op", true, op, sizeof(op)) < 0 ||
	    !cJSON_IsNumber(ts) || ts->valuedouble < 0 || ts->valuedouble > 9007199254740991.0)
		goto out;
	out->ts_ms = (int64_t)ts->valuedouble;
	size_t i;
	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(op, op_names[i]) == 0)
			break;
	if (i == sizeof(op_names) / sizeof(op_names[0]))
		goto out;
	out->op = (enum journal_op)i;
	bool needs_id =
	    out->op == JOURNAL_INTENT || out->op == JOURNAL_DONE || out->op == JOURNAL_CMD;
	if (get_str(o, "id", needs_id, out->id, sizeof(out->id)) < 0 ||
	    (needs_id && !proto_id_valid(out->id)))
		goto out;
	if (get_str(o, "by", false, out->by, sizeof(out->by)) < 0 ||
	    get_str(o, "slot", out->op == JOURNAL_SLOT, out->slot, sizeof(out->slot)) < 0 ||
	    get_str(o, "action", out->op == JOURNAL_CMD, out->action, sizeof(out->action)) < 0 ||
	    get_str(o, "result", out->op == JOURNAL_CMD || out->op == JOURNAL_SLOT, out->result,
		    sizeof(out->result)) < 0 ||
	    get_str(o, "reason", false, out->reason, sizeof(out->reason)) < 0)
		goto out;
	char source[16] = "";
	if (get_str(o, "source", false, source, sizeof(source)) < 0)
		goto out;
	out->scheduled = strcmp(source, "schedule") == 0;
	if (out->op == JOURNAL_INTENT) {
		/* boot/mono are optional (older journals); a bad pair is ignored
		 * rather than the dose: the wall clock still guards it. */
		const cJSON *mono = cJSON_GetObjectItemCaseSensitive(o, "mono");
		char boot[sizeof(out->boot)] = "";
		if (get_str(o, "boot", false, boot, sizeof(boot)) == 0 && boot[0] &&
		    cJSON_IsNumber(mono) && mono->valuedouble >= 0 &&
		    mono->valuedouble <= 9007199254740991.0) {
			copy_str(out->boot, sizeof(out->boot), boot);
			out->mono_ms = (int64_t)mono->valuedouble;
		}
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int journal_load(const char *path, journal_rec_cb cb, void *arg, struct journal_load_info *info)
{
	memset(info, 0, sizeof(*info));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			info->missing = true;
			return 0;
		}
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		int e = errno;
		close(fd);
		return -e;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t offset = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		bool has_nl = line[n - 1] == '\n';
		size_t len = (size_t)n - (has_nl ? 1 : 0);
		struct journal_rec rec;
		offset += n;
		if (len == 0) {
			info->valid_end = offset;
		} else if (journal_decode(line, len, &rec) == 0) {
			info->lines++;
			info->valid_end = offset;
			info->missing_newline = !has_nl;
			cb(arg, &rec);
		} else if (!has_nl) {
			info->torn_tail = true; /* a crash mid-write: ignored, cut on open */
		} else {
			info->bad_lines++; /* complete but unreadable: skipped */
			info->valid_end = offset;
		}
	}
	int e = ferror(f) ? EIO : 0;
	free(line);
	fclose(f);
	info->size = offset;
	return e ? -e : 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	copy_str(dir, sizeof(dir), path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

struct journal *journal_open(const char *path, const struct journal_load_info *info, int *err)
{
	struct journal *j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(path))) {
		free(j);
		*err = -ENOMEM;
		return NULL;
	}
	bool existed = access(path, F_OK) == 0;
	j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (j->fd < 0) {
		*err = -errno;
		goto fail;
	}
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		*err = -errno;
		goto fail;
	}
	j->size = st.st_size;
	if (!existed && (*err = fsync_dir_of(path)) < 0)
		goto fail;
	if (info && !info->missing && S_ISREG(st.st_mode)) {
		if (info->torn_tail && st.st_size > info->valid_end) {
			if (ftruncate(j->fd, info->valid_end) < 0 || fsync(j->fd) < 0) {
				*err = -errno;
				goto fail;
			}
			j->size = info->valid_end;
		} else if (info->missing_newline && st.st_size == info->size) {
			if ((*err = write_all(j->fd, "\n", 1)) < 0 || fsync(j->fd) < 0) {
				if (*err == 0)
					*err = -errno;
				goto fail;
			}
			j->size++;
		}
	}
	*err = 0;
	return j;
fail:
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
	return NULL;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

/* After a rewrite that could not reopen the file: open it again (never
 * create it: a missing journal is not ours to recreate mid-run). */
static int reopen(struct journal *j)
{
	int fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	j->fd = fd;
	j->size = st.st_size;
	return 0;
}

int journal_append(struct journal *j, const struct journal_rec *rec, bool sync)
{
	int rc;
	if (j->fd < 0 && (rc = reopen(j)) < 0)
		return rc;
	/* A synced record must survive a power cut: so must the rename that
	 * made this file the journal. */
	if (sync && j->dir_unsynced) {
		if ((rc = fsync_dir_of(j->path)) < 0)
			return rc;
		j->dir_unsynced = false;
	}
	char *line = journal_encode(rec);
	if (!line)
		return -ENOMEM;
	size_t len = strlen(line);
	rc = write_all(j->fd, line, len);
	free(line);
	if (rc == 0 && sync && fsync(j->fd) < 0)
		rc = -errno;
	if (rc < 0) {
		/* Cut a partial line off so the next record starts on a line of its
		 * own; harmless when nothing was written. After an fsync error the
		 * line may or may not be on disk: it is reported failed either way,
		 * and the reader treats what it finds as the truth. */
		if (ftruncate(j->fd, j->size) < 0) {
			/* not a regular file (or worse): nothing more to do */
		}
		return rc;
	}
	j->size += (int64_t)len;
	j->appended++;
	return 0;
}

int journal_rewrite(struct journal *j, const struct journal_rec *recs, size_t n)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", j->path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	int64_t size = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *line = journal_encode(&recs[i]);
		if (!line) {
			rc = -ENOMEM;
			break;
		}
		size_t len = strlen(line);
		rc = write_all(fd, line, len);
		size += (int64_t)len;
		free(line);
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, j->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* The rename is done: from here on the old file is not the journal.
	 * Never keep appending to it, whatever fails below. */
	int nfd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	int open_errno = errno;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = nfd;
	j->size = size;
	j->appended = 0;
	if (nfd < 0)
		return -open_errno; /* the next append reopens it */
	if ((rc = fsync_dir_of(j->path)) < 0) {
		j->dir_unsynced = true; /* retried before the next synced append */
		return rc;
	}
	j->dir_unsynced = false;
	return 0;
}

int64_t journal_size(const struct journal *j)
{
	return j->size;
}

size_t journal_appended(const struct journal *j)
{
	return j->appended;
}
