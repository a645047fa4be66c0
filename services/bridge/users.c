/* The users file and argon2id passwords (users.h). */
#include "users.h"

#include "atomicfile.h"

#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct users {
	struct users_entry *v;
	size_t n, cap;
};

/* Verified when a name is unknown, so that answer costs what a wrong
 * password does. The password it hashes was random and is not kept. */
static const char dummy_hash[] = "$argon2id$v=19$m=19456,t=2,p=1$mlVgWfte9yqIKO7MMEVzXg$"
				 "k8Bnsd35N7JuS07OWNbFsjIfvHYLMyL0oFSl5o8dEJQ";

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct users *users_new(void)
{
	return calloc(1, sizeof(struct users));
}

void users_free(struct users *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].sites);
		free(set->v[i].hash);
	}
	free(set->v);
	free(set);
}

bool users_name_valid(const char *name)
{
	if (!name)
		return false;
	size_t len = strlen(name);
	if (len < 1 || len > USERS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* A decimal 1..max at *p, no sign, no leading zero; advances *p. */
static bool parse_param(const char **p, char key, unsigned long max, unsigned long *out)
{
	const char *s = *p;
	if (s[0] != key || s[1] != '=')
		return false;
	s += 2;
	if (*s < '1' || *s > '9')
		return false;
	unsigned long v = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return false;
		s++;
	}
	*out = v;
	*p = s;
	return true;
}

/* Unpadded standard base64 of min..max bytes, up to the next '$' or the
 * end; advances *p. */
static bool parse_b64(const char **p, size_t min_bytes, size_t max_bytes)
{
	const char *s = *p;
	size_t n = 0;
	/* The alphabet spelled out: isalnum() would follow the locale. */
	while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '/')
		n++;
	/* n chars carry 6n bits; a length of 1 mod 4 is no encoding. */
	if (n % 4 == 1)
		return false;
	size_t bytes = n * 3 / 4;
	if (bytes < min_bytes || bytes > max_bytes)
		return false;
	*p = s + n;
	return true;
}

bool users_hash_valid(const char *encoded)
{
	static const char prefix[] = "$argon2id$v=19$";
	unsigned long m, t, par;
	if (!encoded || strlen(encoded) >= USERS_ENCODED_MAX ||
	    strncmp(encoded, prefix, sizeof(prefix) - 1))
		return false;
	const char *p = encoded + sizeof(prefix) - 1;
	if (!parse_param(&p, 'm', USERS_M_MAX_KIB, &m) || *p++ != ',' ||
	    !parse_param(&p, 't', USERS_T_MAX, &t) || *p++ != ',' ||
	    !parse_param(&p, 'p', USERS_P_MAX, &par) || *p++ != '$')
		return false;
	if (m < 8 * par) /* argon2's own minimum */
		return false;
	if (!parse_b64(&p, 8, 64) || *p++ != '$' || !parse_b64(&p, 16, 64))
		return false;
	return *p == '\0';
}

static struct users_entry *find(const struct users *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].name, name))
			return &set->v[i];
	return NULL;
}

int users_add(struct users *set, const char *name, enum roles_role role, const char *sites,
	      const char *hash)
{
	if (!set || !users_name_valid(name) || !roles_name(role) ||
	    roles_sites_valid(sites, NULL) || !users_hash_valid(hash))
		return -EINVAL;
	if (find(set, name))
		return -EEXIST;
	if (set->n >= USERS_MAX)
		return -EFBIG;
	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 8;
		struct users_entry *v = realloc(set->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		set->v = v;
		set->cap = cap;
	}
	struct users_entry *e = &set->v[set->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->role = role;
	e->sites = strdup(sites);
	e->hash = strdup(hash);
	if (!e->sites || !e->hash) {
		free(e->sites);
		free(e->hash);
		return -ENOMEM;
	}
	set->n++;
	return 0;
}

int users_set_hash(struct users *set, const char *name, const char *hash)
{
	if (!set || !name || !users_hash_valid(hash))
		return -EINVAL;
	struct users_entry *e = find(set, name);
	if (!e)
		return -ENOENT;
	char *copy = strdup(hash);
	if (!copy)
		return -ENOMEM;
	free(e->hash);
	e->hash = copy;
	return 0;
}

int users_remove(struct users *set, const char *name)
{
	if (!set || !name)
		return -EINVAL;
	struct users_entry *e = find(set, name);
	if (!e)
		return -ENOENT;
	free(e->sites);
	free(e->hash);
	size_t i = (size_t)(e - set->v);
	memmove(e, e + 1, (set->n - i - 1) * sizeof(*e));
	set->n--;
	return 0;
}

size_t users_count(const struct users *set)
{
	return set ? set->n : 0;
}

const struct users_entry *users_at(const struct users *set, size_t i)
{
	return set && i < set->n ? &set->v[i] : NULL;
}

const struct users_entry *users_find(const struct users *set, const char *name)
{
	return set && name ? find(set, name) : NULL;
}

/* One line (len bytes, no '\n') into set, or an error for line lineno. */
static int parse_line(struct users *set, const char *line, size_t len, size_t lineno, char *err,
		      size_t errlen)
{
	char buf[USERS_LINE_MAX + 1];
	char *field[4];
	size_t nf = 0;

	if (len > USERS_LINE_MAX) {
		seterr(err, errlen, "line %zu: longer than %d bytes", lineno, USERS_LINE_MAX);
		return -EINVAL;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (memchr(line, '\0', len)) {
		seterr(err, errlen, "line %zu: holds a NUL byte", lineno);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c <= ' ' || c >= 0x7f) {
			seterr(err, errlen,
			       "line %zu: holds a space, a control character or a non-ASCII byte "
			       "(at column %zu)",
			       lineno, i + 1);
			return -EINVAL;
		}
	}
	field[nf++] = buf;
	for (char *p = buf; *p; p++) {
		if (*p != ':')
			continue;
		if (nf == 4) {
			seterr(err, errlen,
			       "line %zu: more than 4 ':'-separated fields "
			       "(name:role:sites:hash)",
			       lineno);
			return -EINVAL;
		}
		*p = '\0';
		field[nf++] = p + 1;
	}
	if (nf != 4) {
		seterr(err, errlen, "line %zu: %zu field%s, want 4 (name:role:sites:hash)", lineno,
		       nf, nf == 1 ? "" : "s");
		return -EINVAL;
	}
	enum roles_role role;
	const char *why = NULL;
	if (!users_name_valid(field[0])) {
		seterr(err, errlen,
		       "line %zu: name '%.40s' is not 1-%d of [a-z0-9._-] starting with a letter "
		       "or digit",
		       lineno, field[0], USERS_NAME_MAX);
		return -EINVAL;
	}
	if (roles_parse(field[1], &role)) {
		seterr(err, errlen, "line %zu: role '%.40s' is not viewer, carer or admin", lineno,
		       field[1]);
		return -EINVAL;
	}
	if (roles_sites_valid(field[2], &why)) {
		seterr(err, errlen, "line %zu: sites: %s", lineno, why);
		return -EINVAL;
	}
	if (!users_hash_valid(field[3])) {
		seterr(err, errlen,
		       "line %zu: the hash is not an argon2id string "
		       "($argon2id$v=19$m=...,t=...,p=...$salt$hash, m<=%d t<=%d p<=%d)",
		       lineno, USERS_M_MAX_KIB, USERS_T_MAX, USERS_P_MAX);
		return -EINVAL;
	}
	int ret = users_add(set, field[0], role, field[2], field[3]);
	if (ret == -EEXIST)
		seterr(err, errlen, "line %zu: user '%s' is already on an earlier line", lineno,
		       field[0]);
	else if (ret == -EFBIG)
		seterr(err, errlen, "line %zu: more than %d users", lineno, USERS_MAX);
	else if (ret)
		seterr(err, errlen, "line %zu: %s", lineno, strerror(-ret));
	return ret == -EEXIST ? -EINVAL : ret;
}

int users_parse(const char *text, size_t len, struct users **out, char *err, size_t errlen)
{
	if (len > USERS_FILE_MAX) {
		seterr(err, errlen, "larger than %d bytes", USERS_FILE_MAX);
		return -EFBIG;
	}
	struct users *set = users_new();
	if (!set) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		lineno++;
		if (n == 0 || line[0] == '#')
			continue;
		int ret = parse_line(set, line, n, lineno, err, errlen);
		if (ret) {
			users_free(set);
			return ret;
		}
	}
	*out = set;
	return 0;
}

/* Read fd (a regular file of at most USERS_FILE_MAX bytes) and parse it. */
static int load_fd(int fd, const struct stat *st, struct users **out, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		seterr(err, errlen, "not a regular file");
		return -EINVAL;
	}
	if (st->st_size > USERS_FILE_MAX) {
		seterr(err, errlen, "larger than %d bytes", USERS_FILE_MAX);
		return -EFBIG;
	}
	/* One more than the limit, to see a file that grew since fstat. */
	size_t cap = (size_t)st->st_size + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			if (cap > USERS_FILE_MAX) {
				free(buf);
				seterr(err, errlen, "larger than %d bytes", USERS_FILE_MAX);
				return -EFBIG;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				seterr(err, errlen, "out of memory");
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			seterr(err, errlen, "%s", strerror(e));
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	int ret = users_parse(buf, len, out, err, errlen);
	free(buf);
	return ret;
}

static int open_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		seterr(err, errlen, "%s", strerror(e));
		return -e;
	}
	return fd;
}

int users_load(const char *path, struct users **out, char *err, size_t errlen)
{
	struct stat st;
	int fd = open_file(path, err, errlen);
	if (fd < 0)
		return fd;
	int ret;
	if (fstat(fd, &st)) {
		ret = -errno;
		seterr(err, errlen, "%s", strerror(-ret));
	} else {
		ret = load_fd(fd, &st, out, err, errlen);
	}
	close(fd);
	return ret;
}

char *users_format(const struct users *set, size_t *len)
{
	static const char header[] =
	    "# iod-bridge accounts, written by iod-user: name:role:sites:argon2id hash\n";
	size_t cap = sizeof(header);
	for (size_t i = 0; i < set->n; i++)
		cap +=
		    strlen(set->v[i].name) + strlen(set->v[i].sites) + strlen(set->v[i].hash) + 16;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t n = (size_t)snprintf(buf, cap, "%s", header);
	for (size_t i = 0; i < set->n; i++) {
		const struct users_entry *e = &set->v[i];
		n += (size_t)snprintf(buf + n, cap - n, "%s:%s:%s:%s\n", e->name,
				      roles_name(e->role), e->sites, e->hash);
	}
	*len = n;
	return buf;
}

int users_save(const struct users *set, const char *path)
{
	if (!set || !path)
		return -EINVAL;
	size_t len;
	char *text = users_format(set, &len);
	if (!text)
		return -ENOMEM;
	int ret = atomicfile_replace(path, text, len, 0600);
	free(text);
	return ret;
}

int users_hash(const void *password, size_t len, char out[USERS_ENCODED_MAX])
{
	unsigned char salt[USERS_SALT_BYTES];
	if (!password || len < 1 || len > USERS_PASSWORD_MAX)
		return -EINVAL;
	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		return -EIO;
	int r =
	    argon2id_hash_encoded(USERS_ARGON2_T, USERS_ARGON2_M_KIB, USERS_ARGON2_P, password, len,
				  salt, sizeof(salt), USERS_HASH_BYTES, out, USERS_ENCODED_MAX);
	if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
		return -ENOMEM;
	return r == ARGON2_OK ? 0 : -EIO;
}

int users_verify(const struct users *set, const char *name, const void *password, size_t len,
		 const struct users_entry **who)
{
	if (!password || len < 1 || len > USERS_PASSWORD_MAX)
		return -EINVAL;
	const struct users_entry *e = users_find(set, name);
	int r = argon2_verify(e ? e->hash : dummy_hash, password, len, Argon2_id);
	if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
		return -ENOMEM;
	if (!e || r != ARGON2_OK)
		return -EACCES;
	if (who)
		*who = e;
	return 0;
}

static bool same_stamp(const struct users_stamp *a, const struct users_stamp *b)
{
	return a->seen && b->seen && a->present == b->present && a->dev == b->dev &&
	       a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int users_reload(const char *path, struct users **set, struct users_stamp *stamp, char *err,
		 size_t errlen)
{
	struct users_stamp now = {.seen = true};
	struct stat st;
	int fd = open_file(path, err, errlen);
	if (fd < 0) {
		/* Gone or unreadable: said once, then quiet until it changes. */
		bool same = stamp->seen && !stamp->present;
		*stamp = now;
		return same ? 0 : fd;
	}
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		seterr(err, errlen, "%s", strerror(e));
		return -e;
	}
	now.present = true;
	now.dev = st.st_dev;
	now.ino = st.st_ino;
	now.size = st.st_size;
	now.mtime = st.st_mtim;
	now.ctime = st.st_ctim;
	if (same_stamp(&now, stamp)) {
		close(fd);
		return 0;
	}
	struct users *fresh = NULL;
	int ret = load_fd(fd, &st, &fresh, err, errlen);
	close(fd);
	*stamp = now;
	if (ret)
		return ret;
	users_free(*set);
	*set = fresh;
	return 1;
}
