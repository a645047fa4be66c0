/*
 * users — the bridge's accounts (issue 14): the users file in the bridge's
 * data directory (<IOD_DATA_DIR>/users), its argon2id password hashes, and
 * reloading it when it changes so that iod-user's edits are picked up
 * without a restart. Pure apart from the file it is given and getrandom()
 * for salts; no libuv, no lws. Not thread-safe: one struct users belongs to
 * one thread at a time (users_verify may run on a worker thread while
 * nobody modifies or frees that set).
 *
 * The file, one account a line (services/bridge/README.md "Accounts"):
 *
 *   # comment lines and blank lines are allowed (and not kept by a save)
 *   name:role:sites:$argon2id$v=19$m=19456,t=2,p=1$<salt b64>$<hash b64>
 *
 * name is 1-32 of [a-z0-9._-] starting with a letter or digit; role is
 * viewer, carer or admin; sites is "*" or a comma list of site names
 * (roles_sites_valid); the hash is argon2id's PHC string, version 19,
 * with m (KiB), t and p in bounds (USERS_M_MAX...). No field may hold ':',
 * so splitting on ':' is unambiguous; no spaces are allowed anywhere.
 */
#ifndef IOD_BRIDGE_USERS_H
#define IOD_BRIDGE_USERS_H

#include "roles.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define USERS_NAME_MAX	   32
#define USERS_PASSWORD_MAX 256	     /* bytes, as auth.h's AUTH_PASSWORD_MAX */
#define USERS_MAX	   1024	     /* accounts in one file */
#define USERS_LINE_MAX	   1024	     /* bytes in one line, without its '\n' */
#define USERS_FILE_MAX	   (1 << 20) /* bytes in the file */

/* The parameters new hashes get: OWASP's minimum for argon2id (m=19 MiB,
 * t=2, p=1), about 40 ms a hash or a verify on the development machine
 * (bench/README.md) and a few times that on a Raspberry Pi. Hashes made
 * with other parameters within the bounds below still verify. */
#define USERS_ARGON2_M_KIB 19456
#define USERS_ARGON2_T	   2
#define USERS_ARGON2_P	   1
#define USERS_SALT_BYTES   16
#define USERS_HASH_BYTES   32
/* Bounds on a hash's parameters in a file: a line cannot make a verify
 * take more memory than a Raspberry Pi can spare (256 MiB), or minutes. */
#define USERS_M_MAX_KIB	  (256 * 1024)
#define USERS_T_MAX	  16
#define USERS_P_MAX	  16
#define USERS_ENCODED_MAX 256 /* an encoded hash, with its '\0' */

struct users_entry {
	char name[USERS_NAME_MAX + 1];
	enum roles_role role;
	char *sites; /* "*" or "a,b" (owned by the set) */
	char *hash;  /* the PHC string (owned by the set) */
};

struct users;

/* An empty set, or NULL out of memory. */
struct users *users_new(void);
void users_free(struct users *set);

/* Validators, for the file and for iod-user's arguments. */
bool users_name_valid(const char *name);
/* A syntactically good argon2id PHC string with bounded parameters. */
bool users_hash_valid(const char *encoded);

/*
 * Parse a whole file's text (len bytes, need not be NUL-terminated).
 * 0 with *out a new set; -EINVAL with err filled "line N: what" (the first
 * bad line; the file beyond it is not read); -ENOMEM; -EFBIG over
 * USERS_FILE_MAX or USERS_MAX accounts (err says which).
 */
int users_parse(const char *text, size_t len, struct users **out, char *err, size_t errlen);
/* Read and parse path: 0, or users_parse's errors, or -errno from opening
 * or reading it (-ENOENT: there is none), err filled in every case. */
int users_load(const char *path, struct users **out, char *err, size_t errlen);
/* The file's text (header comment, one line per account in the set's
 * order), malloc'd and NUL-terminated, *len without the NUL; NULL out of
 * memory. */
char *users_format(const struct users *set, size_t *len);
/* Replace path with users_format's text atomically, mode 0600
 * (common/atomicfile.h). 0 or -errno. */
int users_save(const struct users *set, const char *path);

/* Accounts in file order; users_at(i) for i < users_count. */
size_t users_count(const struct users *set);
const struct users_entry *users_at(const struct users *set, size_t i);
/* The account called name, or NULL. */
const struct users_entry *users_find(const struct users *set, const char *name);

/* Edits (each checks its arguments): 0, -EINVAL (a bad name, sites or
 * hash), -EEXIST (add: the name is taken), -ENOENT (no such account),
 * -EFBIG (add: USERS_MAX already), -ENOMEM. Strings are copied. */
int users_add(struct users *set, const char *name, enum roles_role role, const char *sites,
	      const char *hash);
int users_set_hash(struct users *set, const char *name, const char *hash);
int users_remove(struct users *set, const char *name);

/* Hash a password (1..USERS_PASSWORD_MAX bytes) with a fresh random salt
 * and the USERS_ARGON2_* parameters into out (USERS_ENCODED_MAX bytes).
 * 0, -EINVAL (bad length), -EIO (no randomness), -ENOMEM. */
int users_hash(const void *password, size_t len, char out[USERS_ENCODED_MAX]);

/*
 * Check name's password. 0 with *who (may be NULL) the account, valid
 * while the set is neither edited nor freed; -EACCES for a wrong password
 * and for an unknown name alike, which costs one argon2id verify too (of a
 * dummy hash with the default parameters) so the time taken does not tell
 * which names exist; -EINVAL for a bad password length (checked first,
 * no verify); -ENOMEM when argon2 could not get its memory.
 */
int users_verify(const struct users *set, const char *name, const void *password, size_t len,
		 const struct users_entry **who);

/* What users_reload compares to see that the file changed: a rename over
 * it (what users_save does) changes the inode, an edit in place the size
 * or the times. Zero-initialise it before the first call. */
struct users_stamp {
	bool seen; /* a users_reload has filled it */
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/*
 * For the bridge's "the users file changed" (an inotify / uv_fs_event on
 * its directory, or a timer): if path's stamp differs from *stamp (from
 * the last call), load it.
 * Returns 0 when unchanged since the last call, whatever that call
 * returned (*set untouched); 1 when loaded: the old *set
 * is freed and replaced; -errno when the changed file cannot be used:
 * *set is kept as it was (the accounts that worked keep working) and err
 * says why ("line 4: ..." for a parse error, -ENOENT when the file is
 * gone). *stamp is updated in every changed case, so a bad file is
 * reported once, not at every call, and is read again when it next
 * changes. With *set NULL and a zeroed stamp it is the first load.
 */
int users_reload(const char *path, struct users **set, struct users_stamp *stamp, char *err,
		 size_t errlen);

#endif
