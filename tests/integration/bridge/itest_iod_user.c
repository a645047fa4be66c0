/*
 * iod-user, the real binary ($IOD_BIN_DIR/iod-user) on a temporary data
 * directory: add, list, passwd, remove, the exit codes of bad usage and of
 * failures, the file it writes (read back and verified with users.h), and
 * the password read from a terminal (a pty) without echo.
 */
#include "users.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64], users_path[128];
static char out[8192], err[8192]; /* the last run's stdout and stderr */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/itest_iod_user.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(users_path, sizeof(users_path), "%s/users", dir);
	unsetenv("IOD_DATA_DIR");
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static const char *bin(void)
{
	static char path[4096];
	const char *d = getenv("IOD_BIN_DIR");
	cr_assert_not_null(d, "IOD_BIN_DIR is not set (ctest sets it)");
	snprintf(path, sizeof(path), "%s/iod-user", d);
	return path;
}

static void slurp(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;
	lseek(fd, 0, SEEK_SET);
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
}

/* Run iod-user with the NULL-terminated arguments, input on its stdin (a
 * pipe, so not a terminal; NULL: /dev/null); its exit status, with its
 * output in out and err. */
static int run(const char *input, ...)
{
	const char *argv[32] = {"iod-user"};
	size_t argc = 1;
	va_list ap;
	va_start(ap, input);
	for (const char *a; (a = va_arg(ap, const char *)) && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;

	FILE *fo = tmpfile(), *fe = tmpfile();
	int in[2];
	cr_assert(fo && fe);
	cr_assert_eq(pipe(in), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(fileno(fo), 1);
		dup2(fileno(fe), 2);
		close(in[0]);
		close(in[1]);
		execv(bin(), (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	signal(SIGPIPE, SIG_IGN);
	if (input) {
		ssize_t w = write(in[1], input, strlen(input));
		(void)w;
	}
	close(in[1]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	slurp(dup(fileno(fo)), out, sizeof(out));
	slurp(dup(fileno(fe)), err, sizeof(err));
	fclose(fo);
	fclose(fe);
	cr_assert(WIFEXITED(status), "iod-user died (status %d)", status);
	return WEXITSTATUS(status);
}

static struct users *load(void)
{
	struct users *set = NULL;
	char e[256] = "";
	cr_assert_eq(users_load(users_path, &set, e, sizeof(e)), 0, "%s", e);
	return set;
}

static bool verifies(const char *name, const char *pw)
{
	struct users *set = load();
	int ret = users_verify(set, name, pw, strlen(pw), NULL);
	users_free(set);
	return ret == 0;
}

Test(iod_user, add_list_passwd_remove, .init = setup, .fini = teardown, .timeout = 60)
{
	struct stat st;
	cr_assert_eq(run("first-pw\n", "add", "admin", "--role", "admin", "--password-stdin",
			 "--data-dir", dir, NULL),
		     0, "%s", err);
	cr_expect(strstr(err, "added admin (admin, sites *)"), "%s", err);
	cr_assert_eq(stat(users_path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_expect(verifies("admin", "first-pw"));
	cr_expect_not(verifies("admin", "first-pw\n"));

	/* The defaults: viewer, every site. A CRLF line is the password without it. */
	cr_assert_eq(run("viv pw\r\n", "add", "viv", "--password-stdin", "--data-dir", dir, NULL),
		     0, "%s", err);
	cr_assert_eq(run("ann-pw", "add", "ann", "--role", "carer", "--sites", "home,cabin",
			 "--password-stdin", "--data-dir", dir, NULL),
		     0, "%s", err);
	cr_expect(verifies("viv", "viv pw"));
	cr_expect(verifies("ann", "ann-pw"));

	cr_assert_eq(run(NULL, "list", "--data-dir", dir, NULL), 0, "%s", err);
	cr_expect_str_eq(out, "NAME                             ROLE   SITES\n"
			      "admin                            admin  *\n"
			      "viv                              viewer *\n"
			      "ann                              carer  home,cabin\n");
	cr_expect_null(strstr(out, "argon2"), "list shows a hash");

	struct users *set = load();
	cr_assert_eq(users_count(set), 3);
	cr_expect_eq(users_find(set, "ann")->role, ROLES_CARER);
	cr_expect_str_eq(users_find(set, "ann")->sites, "home,cabin");
	cr_expect_eq(users_find(set, "viv")->role, ROLES_VIEWER);
	char old_hash[USERS_ENCODED_MAX];
	snprintf(old_hash, sizeof(old_hash), "%s", users_find(set, "ann")->hash);
	users_free(set);

	/* passwd: the new password, not the old one; role and sites kept. */
	cr_assert_eq(run("ann-new\n", "passwd", "ann", "--password-stdin", "--data-dir", dir, NULL),
		     0, "%s", err);
	cr_expect(strstr(err, "new password for ann"), "%s", err);
	cr_expect(verifies("ann", "ann-new"));
	cr_expect_not(verifies("ann", "ann-pw"));
	set = load();
	cr_expect_str_neq(users_find(set, "ann")->hash, old_hash);
	cr_expect_str_eq(users_find(set, "ann")->sites, "home,cabin");
	cr_expect_eq(users_find(set, "ann")->role, ROLES_CARER);
	users_free(set);

	/* remove: gone, the others kept; the only admin stays. */
	cr_assert_eq(run(NULL, "remove", "ann", "--data-dir", dir, NULL), 0, "%s", err);
	cr_expect(strstr(err, "removed ann"), "%s", err);
	cr_assert_eq(run(NULL, "list", "--data-dir", dir, NULL), 0);
	cr_expect_null(strstr(out, "ann"), "%s", out);
	cr_expect(strstr(out, "viv "), "%s", out);
	cr_expect_eq(run(NULL, "remove", "admin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "'admin' is the only admin"), "%s", err);
	cr_expect(verifies("admin", "first-pw"));
	cr_expect_eq(run("x\n", "add", "root", "--role", "admin", "--password-stdin", "--data-dir",
			 dir, NULL),
		     0);
	cr_expect_eq(run(NULL, "remove", "admin", "--data-dir", dir, NULL), 0, "%s", err);
	set = load();
	cr_expect_eq(users_count(set), 2);
	cr_expect_null(users_find(set, "admin"));
	users_free(set);
}

Test(iod_user, failures_exit_1_and_change_nothing, .init = setup, .fini = teardown, .timeout = 60)
{
	cr_assert_eq(run("pw\n", "add", "ann", "--password-stdin", "--data-dir", dir, NULL), 0);
	struct stat before, after;
	cr_assert_eq(stat(users_path, &before), 0);

	cr_expect_eq(run("pw2\n", "add", "ann", "--password-stdin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "user 'ann' exists"), "%s", err);
	cr_expect_eq(run("pw2\n", "passwd", "bob", "--password-stdin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "no user 'bob'"), "%s", err);
	cr_expect_eq(run(NULL, "remove", "bob", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "no user 'bob'"), "%s", err);
	cr_expect_eq(run("\n", "passwd", "ann", "--password-stdin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "the password is empty"), "%s", err);
	cr_expect_eq(run("", "passwd", "ann", "--password-stdin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "no password on standard input"), "%s", err);
	char longpw[USERS_PASSWORD_MAX + 3];
	memset(longpw, 'x', USERS_PASSWORD_MAX + 1);
	strcpy(longpw + USERS_PASSWORD_MAX + 1, "\n");
	cr_expect_eq(run(longpw, "passwd", "ann", "--password-stdin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "longer than 256 bytes"), "%s", err);
	longpw[USERS_PASSWORD_MAX] = '\n';
	longpw[USERS_PASSWORD_MAX + 1] = '\0';
	cr_expect_eq(run(longpw, "passwd", "ann", "--password-stdin", "--data-dir", dir, NULL), 0,
		     "256 bytes: %s", err);
	cr_assert_eq(stat(users_path, &after), 0);
	cr_expect_neq(after.st_ino, before.st_ino, "the good passwd did not save");
	before = after;

	/* A broken file: named with its line, and not overwritten. */
	FILE *f = fopen(users_path, "a");
	cr_assert_not_null(f);
	fputs("bob:boss:*:x\n", f);
	fclose(f);
	cr_assert_eq(stat(users_path, &before), 0);
	cr_expect_eq(run("pw\n", "add", "cy", "--password-stdin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "users: line 3: role 'boss'"), "%s", err);
	cr_expect_eq(run(NULL, "list", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "line 3"), "%s", err);
	cr_assert_eq(stat(users_path, &after), 0);
	cr_expect_eq(after.st_ino, before.st_ino);
	cr_expect_eq(after.st_size, before.st_size);

	/* No file: list says so and lists nothing; passwd and remove fail. */
	cr_assert_eq(unlink(users_path), 0);
	cr_expect_eq(run(NULL, "list", "--data-dir", dir, NULL), 0);
	cr_expect_str_eq(out, "");
	cr_expect(strstr(err, "no users file yet"), "%s", err);
	cr_expect_eq(run("pw\n", "passwd", "ann", "--password-stdin", "--data-dir", dir, NULL), 1);
	cr_expect(strstr(err, "no users file"), "%s", err);
	cr_expect_eq(run(NULL, "remove", "ann", "--data-dir", dir, NULL), 1);

	/* A data dir that does not exist. */
	char none[128];
	snprintf(none, sizeof(none), "%s/none", dir);
	cr_expect_eq(run("pw\n", "add", "ann", "--password-stdin", "--data-dir", none, NULL), 1);
	cr_expect(strstr(err, "No such file or directory"), "%s", err);
}

Test(iod_user, bad_usage_exits_2, .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const cases[][8] = {
	    {NULL},
	    {"frob", NULL},
	    {"add", NULL},
	    {"add", "Ann", "--password-stdin", NULL},
	    {"add", "-ann", "--password-stdin", NULL},
	    {"add", "ann", "--role", "boss", "--password-stdin", NULL},
	    {"add", "ann", "--role", NULL},
	    {"add", "ann", "--role", "admin", "--role", "admin", "--password-stdin", NULL},
	    {"add", "ann", "--sites", "a,,b", "--password-stdin", NULL},
	    {"add", "ann", "--password", "hunter2", NULL},
	    {"add", "ann", "extra", "--password-stdin", NULL},
	    {"add", "ann", "--frob", NULL},
	    {"add", "ann", NULL}, /* stdin is a pipe, not a terminal */
	    {"passwd", "ann", "--role", "admin", "--password-stdin", NULL},
	    {"passwd", NULL},
	    {"remove", "ann", "--password-stdin", NULL},
	    {"list", "ann", NULL},
	    {"list", "--file", "x", "--data-dir", "y", NULL},
	};
	static const char *const says[] = {
	    "usage:",
	    "unknown command 'frob'",
	    "add needs a NAME",
	    "NAME 'Ann' is not",
	    "unknown option '-ann'",
	    "--role 'boss' is not viewer, carer or admin",
	    "--role needs a value",
	    "--role given twice",
	    "--sites 'a,,b': an empty site name",
	    "passwords are not taken on the command line",
	    "unexpected argument 'extra'",
	    "unknown option '--frob'",
	    "give --password-stdin",
	    "--role and --sites are for add",
	    "passwd needs a NAME",
	    "--password-stdin is for add and passwd",
	    "list takes no NAME",
	    "give --data-dir or --file, not both",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *c = cases[i];
		int st = run("pw\n", c[0], c[0] ? c[1] : NULL, c[0] && c[1] ? c[2] : NULL,
			     c[0] && c[1] && c[2] ? c[3] : NULL,
			     c[0] && c[1] && c[2] && c[3] ? c[4] : NULL,
			     c[0] && c[1] && c[2] && c[3] && c[4] ? c[5] : NULL,
			     c[0] && c[1] && c[2] && c[3] && c[4] && c[5] ? c[6] : NULL, NULL);
		cr_expect_eq(st, 2, "case %zu exited %d: %s", i, st, err);
		cr_expect(strstr(err, says[i]), "case %zu: '%s', want '%s'", i, err, says[i]);
		cr_expect(strstr(err, "usage: iod-user add NAME"), "case %zu: no usage", i);
	}
	/* Nothing was written by any of them (they ran in the current
	 * directory's default, which must not have been created either). */
	cr_expect_neq(access(users_path, F_OK), 0);
	cr_expect_neq(access("./var/bridge/users", F_OK), 0);

	cr_expect_eq(run(NULL, "--help", NULL), 0);
	cr_expect(strstr(out, "usage: iod-user add NAME"), "%s", out);
	cr_expect_str_eq(err, "");
}

Test(iod_user, where_the_file_is, .init = setup, .fini = teardown, .timeout = 60)
{
	/* IOD_DATA_DIR, as the bridge; --data-dir over it; --file over both. */
	setenv("IOD_DATA_DIR", dir, 1);
	cr_assert_eq(run("pw\n", "add", "ann", "--password-stdin", NULL), 0, "%s", err);
	cr_expect(strstr(err, users_path), "%s", err);
	cr_expect(verifies("ann", "pw"));

	char other[128], file[160];
	snprintf(other, sizeof(other), "%s/other", dir);
	cr_assert_eq(mkdir(other, 0700), 0);
	cr_assert_eq(run("pw\n", "add", "bob", "--password-stdin", "--data-dir", other, NULL), 0);
	snprintf(file, sizeof(file), "%s/users", other);
	cr_expect_eq(access(file, F_OK), 0);
	snprintf(file, sizeof(file), "%s/elsewhere.txt", dir);
	cr_assert_eq(run("pw\n", "add", "cy", "--password-stdin", "--file", file, NULL), 0);
	cr_expect_eq(access(file, F_OK), 0);

	cr_assert_eq(run(NULL, "list", NULL), 0);
	cr_expect(strstr(out, "ann "), "%s", out);
	cr_expect_null(strstr(out, "bob"), "%s", out);
	cr_expect_null(strstr(out, "cy"), "%s", out);
	unsetenv("IOD_DATA_DIR");
}

/* Read from the pty master until want has appeared in buf (or the
 * deadline, a guard against a hang, not a measurement). */
static bool read_until(int fd, char *buf, size_t size, size_t *n, const char *want)
{
	time_t end = time(NULL) + 20;
	while (!strstr(buf, want)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (time(NULL) > end || poll(&p, 1, 1000) < 0)
			return false;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		ssize_t r = read(fd, buf + *n, size - 1 - *n);
		if (r <= 0)
			return false;
		*n += (size_t)r;
		buf[*n] = '\0';
	}
	return true;
}

/* iod-user passwd on a terminal: prompts twice, echoes nothing typed. */
static int on_tty(const char *first, const char *second, char *seen, size_t size)
{
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execl(bin(), "iod-user", "passwd", "ann", "--file", users_path, (char *)NULL);
		_exit(127);
	}
	size_t n = 0;
	seen[0] = '\0';
	cr_assert(read_until(master, seen, size, &n, "Password for ann: "), "saw '%s'", seen);
	cr_assert_eq(write(master, first, strlen(first)), (ssize_t)strlen(first));
	cr_assert(read_until(master, seen, size, &n, "Again: "), "saw '%s'", seen);
	cr_assert_eq(write(master, second, strlen(second)), (ssize_t)strlen(second));
	read_until(master, seen, size, &n,
		   "\n"
		   "iod-user: ");			   /* to the end */
	while (read_until(master, seen, size, &n, "\x01")) /* reads until EOF */
		;
	close(master);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

Test(iod_user, password_from_a_terminal_without_echo, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char seen[4096];
	cr_assert_eq(run("old\n", "add", "ann", "--password-stdin", "--data-dir", dir, NULL), 0);
	cr_expect_eq(on_tty("Tty-Secret-1\n", "Tty-Secret-1\n", seen, sizeof(seen)), 0, "%s", seen);
	cr_expect_null(strstr(seen, "Tty-Secret"), "echoed: %s", seen);
	cr_expect(strstr(seen, "new password for ann"), "%s", seen);
	cr_expect(verifies("ann", "Tty-Secret-1"));

	cr_expect_eq(on_tty("Tty-Secret-2\n", "Tty-Secret-3\n", seen, sizeof(seen)), 1, "%s", seen);
	cr_expect(strstr(seen, "the passwords differ; nothing changed"), "%s", seen);
	cr_expect_null(strstr(seen, "Tty-Secret"), "echoed: %s", seen);
	cr_expect(verifies("ann", "Tty-Secret-1"));
}
