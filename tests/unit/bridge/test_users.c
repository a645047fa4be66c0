/* users: argon2id hashes, the users file's parsing, saving and reloading. */
#include "users.h"

#include <argon2.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A valid hash of "pw" with the default parameters, made once. */
static char pw_hash[USERS_ENCODED_MAX];

static void make_hash(void)
{
	cr_assert_eq(users_hash("pw", 2, pw_hash), 0);
}

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_users.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	make_hash();
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

Test(users, hash_and_verify, .init = make_hash, .timeout = 30)
{
	struct users *set = users_new();
	const struct users_entry *who = NULL;
	cr_assert_not_null(set);
	cr_expect(!strncmp(pw_hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31), "%s", pw_hash);
	cr_expect(users_hash_valid(pw_hash), "%s", pw_hash);
	cr_assert_eq(users_add(set, "ann", ROLES_CARER, "*", pw_hash), 0);

	cr_expect_eq(users_verify(set, "ann", "pw", 2, &who), 0);
	cr_expect_eq(who, users_find(set, "ann"));
	cr_expect_eq(users_verify(set, "ann", "pW", 2, NULL), -EACCES);
	cr_expect_eq(users_verify(set, "ann", "pw ", 3, NULL), -EACCES);
	cr_expect_eq(users_verify(set, "ann", "p", 1, NULL), -EACCES);
	/* An unknown name is the same answer (after the dummy verify). */
	who = NULL;
	cr_expect_eq(users_verify(set, "bob", "pw", 2, &who), -EACCES);
	cr_expect_null(who);
	cr_expect_eq(users_verify(set, NULL, "pw", 2, NULL), -EACCES);
	/* Lengths are checked before anything is hashed. */
	cr_expect_eq(users_verify(set, "ann", "pw", 0, NULL), -EINVAL);
	cr_expect_eq(users_verify(set, "ann", NULL, 2, NULL), -EINVAL);
	char longpw[USERS_PASSWORD_MAX + 1];
	memset(longpw, 'x', sizeof(longpw));
	cr_expect_eq(users_verify(set, "ann", longpw, sizeof(longpw), NULL), -EINVAL);
	cr_expect_eq(users_hash(longpw, sizeof(longpw), pw_hash), -EINVAL);
	cr_expect_eq(users_hash("", 0, pw_hash), -EINVAL);

	/* Two hashes of one password differ (fresh salt) and both verify. */
	char again[USERS_ENCODED_MAX];
	cr_assert_eq(users_hash("pw", 2, again), 0);
	cr_expect_str_neq(again, users_find(set, "ann")->hash);
	cr_assert_eq(users_set_hash(set, "ann", again), 0);
	cr_expect_eq(users_verify(set, "ann", "pw", 2, NULL), 0);
	/* A password of the maximum length works. */
	cr_assert_eq(users_hash(longpw, USERS_PASSWORD_MAX, again), 0);
	cr_assert_eq(users_set_hash(set, "ann", again), 0);
	cr_expect_eq(users_verify(set, "ann", longpw, USERS_PASSWORD_MAX, NULL), 0);
	users_free(set);
}

Test(users, a_tampered_hash_does_not_verify, .init = make_hash, .timeout = 30)
{
	struct users *set = users_new();
	char bad[USERS_ENCODED_MAX];
	size_t len = strlen(pw_hash);
	/* The last character of the hash, and one of the salt. */
	size_t salt_at = (size_t)(strrchr(pw_hash, '$') - pw_hash) - 2;
	size_t at[] = {len - 2, salt_at};
	for (size_t i = 0; i < 2; i++) {
		snprintf(bad, sizeof(bad), "%s", pw_hash);
		bad[at[i]] = bad[at[i]] == 'A' ? 'B' : 'A';
		cr_assert(users_hash_valid(bad), "%s", bad);
		users_remove(set, "ann");
		cr_assert_eq(users_add(set, "ann", ROLES_ADMIN, "*", bad), 0);
		cr_expect_eq(users_verify(set, "ann", "pw", 2, NULL), -EACCES, "%s", bad);
	}
	/* Other parameters in the text than the hash was made with. */
	snprintf(bad, sizeof(bad), "%s", pw_hash);
	memcpy(strstr(bad, "t=2"), "t=3", 3);
	users_remove(set, "ann");
	cr_assert_eq(users_add(set, "ann", ROLES_ADMIN, "*", bad), 0);
	cr_expect_eq(users_verify(set, "ann", "pw", 2, NULL), -EACCES);
	users_free(set);
}

Test(users, a_hash_with_other_parameters_still_verifies, .timeout = 30)
{
	static const unsigned char salt[] = "0123456789abcdef0123";
	struct {
		uint32_t t, m, p, salt_len, hash_len;
	} params[] = {{1, 4096, 2, 16, 32}, {3, 8192, 1, 8, 16}, {1, 65536, 4, 20, 64}};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char enc[USERS_ENCODED_MAX], text[512];
		struct users *set = NULL;
		cr_assert_eq(argon2id_hash_encoded(params[i].t, params[i].m, params[i].p, "s3cret",
						   6, salt, params[i].salt_len, params[i].hash_len,
						   enc, sizeof(enc)),
			     ARGON2_OK);
		cr_expect(users_hash_valid(enc), "%s", enc);
		snprintf(text, sizeof(text), "old:viewer:home:%s\n", enc);
		char err[128] = "";
		cr_assert_eq(users_parse(text, strlen(text), &set, err, sizeof(err)), 0, "%s: %s",
			     enc, err);
		cr_expect_eq(users_verify(set, "old", "s3cret", 6, NULL), 0, "%s", enc);
		cr_expect_eq(users_verify(set, "old", "s3creT", 6, NULL), -EACCES, "%s", enc);
		users_free(set);
	}
}

Test(users, hash_syntax, .init = make_hash, .timeout = 10)
{
	static const char salt[] = "c2FsdHNhbHRzYWx0";	     /* 12 bytes */
	static const char hash[] = "aGFzaGhhc2hoYXNoaGFzaA"; /* 16 bytes */
	char buf[512];
	struct {
		const char *params;
		bool good;
	} cases[] = {
	    {"$argon2id$v=19$m=19456,t=2,p=1$", true},
	    {"$argon2id$v=19$m=262144,t=16,p=16$", true},
	    {"$argon2id$v=19$m=8,t=1,p=1$", true},
	    {"$argon2id$v=19$m=262145,t=2,p=1$", false}, /* over USERS_M_MAX_KIB */
	    {"$argon2id$v=19$m=19456,t=17,p=1$", false},
	    {"$argon2id$v=19$m=19456,t=2,p=17$", false},
	    {"$argon2id$v=19$m=15,t=1,p=2$", false}, /* m < 8p */
	    {"$argon2id$v=19$m=19456,t=0,p=1$", false},
	    {"$argon2id$v=19$m=019456,t=2,p=1$", false},
	    {"$argon2id$v=19$m=-1,t=2,p=1$", false},
	    {"$argon2id$v=19$t=2,m=19456,p=1$", false},
	    {"$argon2id$v=19$m=19456,t=2$", false},
	    {"$argon2id$v=16$m=19456,t=2,p=1$", false},
	    {"$argon2id$m=19456,t=2,p=1$", false},
	    {"$argon2i$v=19$m=19456,t=2,p=1$", false},
	    {"$argon2d$v=19$m=19456,t=2,p=1$", false},
	    {"$ARGON2ID$v=19$m=19456,t=2,p=1$", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s$%s", cases[i].params, salt, hash);
		cr_expect_eq(users_hash_valid(buf), cases[i].good, "%s", buf);
	}
	static const char *const bad[] = {
	    "",
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0",
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$",
	    "$argon2id$v=19$m=19456,t=2,p=1$$aGFzaGhhc2hoYXNoaGFzaA",
	    "$argon2id$v=19$m=19456,t=2,p=1$c2Fsd$aGFzaGhhc2hoYXNoaGFzaA", /* short salt */
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",	   /* short hash */
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA=", /* padded */
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA$",
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA x",
	    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFza", /* 1 mod 4 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(users_hash_valid(bad[i]), "'%s'", bad[i]);
	cr_expect_not(users_hash_valid(NULL));
	cr_expect(users_hash_valid(pw_hash));
}

Test(users, names, .timeout = 5)
{
	static const char *const good[] = {
	    "a", "admin", "ann.b", "a_b-c.d", "0", "9lives", "abcdefghijklmnopqrstuvwxyz012345"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(users_name_valid(good[i]), "'%s'", good[i]);
	static const char *const bad[] = {
	    "",	    "Ann",   "ann b", "ann:x", "-ann", ".ann",
	    "_ann", "ann\n", "é",     "a/b",   "a$b",  "abcdefghijklmnopqrstuvwxyz0123456"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(users_name_valid(bad[i]), "'%s'", bad[i]);
	cr_expect_not(users_name_valid(NULL));
}

Test(users, parse_a_good_file, .init = make_hash, .timeout = 10)
{
	char text[2048];
	struct users *set = NULL;
	char err[128] = "";
	snprintf(text, sizeof(text),
		 "# accounts\n"
		 "\n"
		 "admin:admin:*:%s\n"
		 "ann:carer:home,cabin:%s\n"
		 "#bob:admin:*:x\n"
		 "viv:viewer:cabin:%s",
		 pw_hash, pw_hash, pw_hash); /* no final newline */
	cr_assert_eq(users_parse(text, strlen(text), &set, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(users_count(set), 3);
	cr_expect_str_eq(users_at(set, 0)->name, "admin");
	cr_expect_eq(users_at(set, 0)->role, ROLES_ADMIN);
	cr_expect_str_eq(users_at(set, 0)->sites, "*");
	cr_expect_str_eq(users_at(set, 1)->name, "ann");
	cr_expect_eq(users_at(set, 1)->role, ROLES_CARER);
	cr_expect_str_eq(users_at(set, 1)->sites, "home,cabin");
	cr_expect_str_eq(users_at(set, 1)->hash, pw_hash);
	cr_expect_eq(users_at(set, 2)->role, ROLES_VIEWER);
	cr_expect_null(users_at(set, 3));
	cr_expect_null(users_find(set, "bob"));
	cr_expect_eq(users_find(set, "viv"), users_at(set, 2));

	/* Format, parse again: the same accounts. */
	size_t len;
	char *out = users_format(set, &len);
	cr_assert_not_null(out);
	cr_expect_eq(strlen(out), len);
	cr_expect(strstr(out, "\nann:carer:home,cabin:$argon2id$"), "%s", out);
	cr_expect_eq(out[0], '#');
	struct users *back = NULL;
	cr_assert_eq(users_parse(out, len, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(users_count(back), 3);
	for (size_t i = 0; i < 3; i++) {
		cr_expect_str_eq(users_at(back, i)->name, users_at(set, i)->name);
		cr_expect_eq(users_at(back, i)->role, users_at(set, i)->role);
		cr_expect_str_eq(users_at(back, i)->sites, users_at(set, i)->sites);
		cr_expect_str_eq(users_at(back, i)->hash, users_at(set, i)->hash);
	}
	free(out);
	users_free(back);
	users_free(set);

	/* Empty text, and comments only: no accounts. */
	cr_assert_eq(users_parse("", 0, &set, err, sizeof(err)), 0);
	cr_expect_eq(users_count(set), 0);
	users_free(set);
	cr_assert_eq(users_parse("# x\n\n", 5, &set, err, sizeof(err)), 0);
	cr_expect_eq(users_count(set), 0);
	users_free(set);
}

Test(users, parse_errors_name_their_line, .init = make_hash, .timeout = 10)
{
	const char *h = pw_hash;
	struct {
		const char *fmt; /* %1$s is the good hash */
		int err;
		const char *msg;
	} cases[] = {
	    {"ann:carer:*:%1$s\nann:admin:*:%1$s\n", -EINVAL, "line 2: user 'ann' is already"},
	    {"# c\nann:carer:*\n", -EINVAL, "line 2: 3 fields, want 4"},
	    {"ann\n", -EINVAL, "line 1: 1 field, want 4"},
	    {"\n\n\nann:carer:*:%1$s:x\n", -EINVAL, "line 4: more than 4"},
	    {"Ann:carer:*:%1$s\n", -EINVAL, "line 1: name 'Ann' is not"},
	    {":carer:*:%1$s\n", -EINVAL, "line 1: name '' is not"},
	    {"ann:operator:*:%1$s\n", -EINVAL, "line 1: role 'operator' is not"},
	    {"ann:carer::%1$s\n", -EINVAL, "line 1: sites: empty"},
	    {"ann:carer:home,,x:%1$s\n", -EINVAL, "line 1: sites: an empty site"},
	    {"ann:carer:home,home:%1$s\n", -EINVAL, "line 1: sites: a site is named twice"},
	    {"ann:carer:*:plaintext\n", -EINVAL, "line 1: the hash is not an argon2id"},
	    {"ok:carer:*:%1$s\nann:carer:*:$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$"
	     "aGFzaGhhc2hoYXNoaGFzaA\n",
	     -EINVAL, "line 2: the hash is not"},
	    {"ann:carer:*:%1$s\r\n", -EINVAL, "line 1: holds a space, a control"},
	    {" ann:carer:*:%1$s\n", -EINVAL,
	     "line 1: holds a space, a control character or a "
	     "non-ASCII byte (at column 1)"},
	    {"ann:carer:*: %1$s\n", -EINVAL, "(at column 13)"},
	    {"ok:carer:*:%1$s\n\tann:carer:*:%1$s\n", -EINVAL, "line 2: holds a space"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024], err[256] = "";
		struct users *set = (struct users *)1;
/* The cases' formats are the table's literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(text, sizeof(text), cases[i].fmt, h);
#pragma GCC diagnostic pop
		cr_expect_eq(users_parse(text, strlen(text), &set, err, sizeof(err)), cases[i].err,
			     "case %zu: %s", i, err);
		cr_expect(strstr(err, cases[i].msg), "case %zu: '%s', want '%s'", i, err,
			  cases[i].msg);
		cr_expect_eq(set, (struct users *)1, "case %zu set *out", i);
	}

	/* A NUL byte, a line too long, a file too large. */
	char text[USERS_LINE_MAX + 64], err[256] = "";
	struct users *set = NULL;
	int n = snprintf(text, sizeof(text), "ann:carer:*:%s\n", h);
	text[3] = '\0';
	cr_expect_eq(users_parse(text, (size_t)n, &set, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "line 1: holds a NUL byte"), "%s", err);
	memset(text, 'a', sizeof(text));
	cr_expect_eq(users_parse(text, USERS_LINE_MAX + 1, &set, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "line 1: longer than 1024 bytes"), "%s", err);
	char *big = malloc(USERS_FILE_MAX + 1);
	cr_assert_not_null(big);
	memset(big, '\n', USERS_FILE_MAX + 1);
	cr_expect_eq(users_parse(big, USERS_FILE_MAX + 1, &set, err, sizeof(err)), -EFBIG);
	cr_expect(strstr(err, "larger than"), "%s", err);
	/* Exactly the maximum of blank lines is fine. */
	cr_expect_eq(users_parse(big, USERS_FILE_MAX, &set, err, sizeof(err)), 0, "%s", err);
	users_free(set);
	free(big);
}

Test(users, too_many_accounts, .init = make_hash, .timeout = 10)
{
	size_t line = strlen(pw_hash) + 40;
	char *text = malloc((USERS_MAX + 1) * line), err[128] = "";
	struct users *set = NULL;
	size_t n = 0;
	cr_assert_not_null(text);
	for (int i = 0; i <= USERS_MAX; i++)
		n += (size_t)sprintf(text + n, "u%d:viewer:*:%s\n", i, pw_hash);
	cr_expect_eq(users_parse(text, n, &set, err, sizeof(err)), -EFBIG);
	cr_expect(strstr(err, "line 1025: more than 1024 users"), "%s", err);
	free(text);
}

Test(users, edits_check_their_arguments, .init = make_hash, .timeout = 10)
{
	struct users *set = users_new();
	cr_assert_eq(users_add(set, "ann", ROLES_CARER, "home", pw_hash), 0);
	cr_expect_eq(users_add(set, "ann", ROLES_ADMIN, "*", pw_hash), -EEXIST);
	cr_expect_eq(users_add(set, "Bob", ROLES_ADMIN, "*", pw_hash), -EINVAL);
	cr_expect_eq(users_add(set, "bob", (enum roles_role)7, "*", pw_hash), -EINVAL);
	cr_expect_eq(users_add(set, "bob", ROLES_ADMIN, "a,,b", pw_hash), -EINVAL);
	cr_expect_eq(users_add(set, "bob", ROLES_ADMIN, "*", "secret"), -EINVAL);
	cr_expect_eq(users_add(set, "bob", ROLES_ADMIN, NULL, pw_hash), -EINVAL);
	cr_expect_eq(users_count(set), 1);
	cr_expect_eq(users_set_hash(set, "bob", pw_hash), -ENOENT);
	cr_expect_eq(users_set_hash(set, "ann", "secret"), -EINVAL);
	cr_expect_eq(users_remove(set, "bob"), -ENOENT);
	cr_assert_eq(users_add(set, "bob", ROLES_ADMIN, "*", pw_hash), 0);
	cr_assert_eq(users_add(set, "cy", ROLES_VIEWER, "*", pw_hash), 0);
	cr_assert_eq(users_remove(set, "ann"), 0);
	cr_assert_eq(users_count(set), 2);
	cr_expect_str_eq(users_at(set, 0)->name, "bob");
	cr_expect_str_eq(users_at(set, 1)->name, "cy");
	cr_expect_null(users_find(set, "ann"));
	users_free(set);
}

Test(users, save_is_atomic_and_0600, .init = make_dir, .fini = remove_dir, .timeout = 10)
{
	char path[128], tmp[160], err[128] = "";
	struct stat st;
	struct users *set = users_new(), *back = NULL;
	snprintf(path, sizeof(path), "%s/users", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(users_add(set, "ann", ROLES_CARER, "home", pw_hash), 0);

	/* A wide umask does not widen it, and an old wide file is replaced. */
	write_file(path, "old\n");
	cr_assert_eq(chmod(path, 0644), 0);
	mode_t old = umask(0);
	cr_assert_eq(users_save(set, path), 0);
	umask(old);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_expect_neq(access(tmp, F_OK), 0, "the temp file was left");
	cr_assert_eq(users_load(path, &back, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(users_count(back), 1);
	cr_expect_str_eq(users_at(back, 0)->sites, "home");
	users_free(back);

	/* A save into a missing directory fails and leaves nothing. */
	char nodir[160];
	snprintf(nodir, sizeof(nodir), "%s/none/users", dir);
	cr_expect_eq(users_save(set, nodir), -ENOENT);

	/* Loading: missing, not a regular file, a bad line. */
	cr_expect_eq(users_load(nodir, &back, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "No such file"), "%s", err);
	cr_expect_eq(users_load(dir, &back, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not a regular file"), "%s", err);
	write_file(path, "# x\nann:carer:*\n");
	cr_expect_eq(users_load(path, &back, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "line 2: 3 fields"), "%s", err);
	users_free(set);
}

Test(users, reload_picks_up_changes_and_keeps_the_old_set_on_errors, .init = make_dir,
     .fini = remove_dir, .timeout = 10)
{
	char path[128], err[256] = "", text[1024];
	struct users_stamp stamp = {0};
	struct users *cur = NULL;
	snprintf(path, sizeof(path), "%s/users", dir);

	/* None yet: said once, then quiet. */
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), -ENOENT);
	cr_expect_null(cur);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 0);

	struct users *edit = users_new();
	cr_assert_eq(users_add(edit, "ann", ROLES_CARER, "*", pw_hash), 0);
	cr_assert_eq(users_save(edit, path), 0);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 1, "%s", err);
	cr_assert_not_null(cur);
	cr_expect_eq(users_count(cur), 1);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 0);

	/* A save (rename: a new inode) of a set the same size is seen. */
	users_remove(edit, "ann");
	cr_assert_eq(users_add(edit, "bob", ROLES_ADMIN, "*", pw_hash), 0);
	cr_assert_eq(users_save(edit, path), 0);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 1, "%s", err);
	cr_expect_eq(users_count(cur), 1);
	cr_expect_not_null(users_find(cur, "bob"));
	cr_expect_eq(users_verify(cur, "bob", "pw", 2, NULL), 0);

	/* An edit in place with a bad line: reported, the old set kept. */
	snprintf(text, sizeof(text), "bob:admin:*:%s\ncy:boss:*:%s\n", pw_hash, pw_hash);
	int fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct users *before = cur;
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "line 2: role 'boss'"), "%s", err);
	cr_expect_eq(cur, before);
	cr_expect_not_null(users_find(cur, "bob"));
	cr_expect_null(users_find(cur, "cy"));
	/* Reported once: unchanged since, no error again. */
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 0);
	cr_expect_eq(cur, before);

	/* Fixed: picked up. */
	snprintf(text, sizeof(text), "bob:admin:*:%s\ncy:viewer:*:%s\n", pw_hash, pw_hash);
	write_file(path, text);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 1, "%s", err);
	cr_expect_eq(users_count(cur), 2);
	cr_expect_not_null(users_find(cur, "cy"));

	/* Removed: reported once, the accounts kept; back: loaded. */
	cr_assert_eq(unlink(path), 0);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), -ENOENT);
	cr_expect_eq(users_count(cur), 2);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 0);
	cr_assert_eq(users_save(edit, path), 0);
	cr_expect_eq(users_reload(path, &cur, &stamp, err, sizeof(err)), 1);
	cr_expect_eq(users_count(cur), 1);
	users_free(edit);
	users_free(cur);
}
