/*
 * iod-user — manage the bridge's accounts in its users file (users.h):
 *
 *   iod-user add NAME [--role viewer|carer|admin] [--sites a,b|*]
 *   iod-user passwd NAME
 *   iod-user remove NAME
 *   iod-user list
 *
 * each with [--data-dir DIR | --file PATH] and, for add and passwd,
 * [--password-stdin]. The file is --file, else <--data-dir>/users, else
 * <IOD_DATA_DIR>/users, else ./var/bridge/users: where iod-bridge, which
 * defaults IOD_DATA_DIR to ./var/bridge (common/cfg.c), looks. A password
 * is read from the terminal without echo, twice, or with --password-stdin
 * as one line of stdin; never from the command line. Exit 0, 1 when the
 * work failed, 2 for bad usage. services/bridge/README.md "Accounts".
 */
#include "roles.h"
#include "users.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define PROG "iod-user"

static const char usage_text[] =
    "usage: " PROG " add NAME [--role viewer|carer|admin] [--sites a,b|*] [--password-stdin]\n"
    "       " PROG " passwd NAME [--password-stdin]\n"
    "       " PROG " remove NAME\n"
    "       " PROG " list\n"
    "  each with [--data-dir DIR | --file PATH]; the file is PATH, else DIR/users,\n"
    "  else $IOD_DATA_DIR/users, else ./var/bridge/users (iod-bridge's default).\n"
    "  add: --role defaults to viewer, --sites to * (every site).\n"
    "  The password is read from the terminal without echo (twice), or with\n"
    "  --password-stdin as one line of standard input.\n";

__attribute__((format(printf, 1, 2))) static int usage(const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, PROG ": ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	fputs(usage_text, stderr);
	return 2;
}

/* The terminal's settings while echo is off, for the signal handler. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One line of stdin into buf (without its "\n" or "\r\n"). 0, or -1 with
 * the error said. */
static int read_line(char *buf, size_t size, size_t *len)
{
	if (!fgets(buf, (int)size, stdin)) {
		fprintf(stderr, PROG ": no password on standard input\n");
		return -1;
	}
	size_t n = strlen(buf);
	bool whole = n > 0 && buf[n - 1] == '\n';
	if (whole)
		buf[--n] = '\0';
	else if (!feof(stdin)) {
		fprintf(stderr, PROG ": the password is longer than %d bytes\n",
			USERS_PASSWORD_MAX);
		return -1;
	}
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n == 0) {
		fprintf(stderr, PROG ": the password is empty\n");
		return -1;
	}
	if (n > USERS_PASSWORD_MAX) {
		fprintf(stderr, PROG ": the password is longer than %d bytes\n",
			USERS_PASSWORD_MAX);
		return -1;
	}
	*len = n;
	return 0;
}

/* Turn echo off, then prompt on stderr (so whoever sees the prompt types
 * unechoed), read a line, and put the terminal back as it was. */
static int read_hidden(const char *prompt, char *buf, size_t size, size_t *len)
{
	struct termios off;
	if (tcgetattr(STDIN_FILENO, &saved_tty)) {
		fprintf(stderr, PROG ": the terminal: %s\n", strerror(errno));
		return -1;
	}
	off = saved_tty;
	off.c_lflag &= ~(tcflag_t)ECHO;
	off.c_lflag |= ECHONL;
	signal(SIGINT, restore_tty);
	signal(SIGTERM, restore_tty);
	signal(SIGHUP, restore_tty);
	tty_changed = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &off)) {
		tty_changed = 0;
		fprintf(stderr, PROG ": the terminal: %s\n", strerror(errno));
		return -1;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	int ret = read_line(buf, size, len);
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	tty_changed = 0;
	return ret;
}

/* The new password into buf: stdin's line, or the terminal's twice. */
static int get_password(const char *name, bool from_stdin, char *buf, size_t size, size_t *len)
{
	if (from_stdin)
		return read_line(buf, size, len);
	char again[USERS_PASSWORD_MAX + 3], prompt[80];
	size_t len2 = 0;
	snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
	if (read_hidden(prompt, buf, size, len))
		return -1;
	int ret = read_hidden("Again: ", again, sizeof(again), &len2);
	if (!ret && (len2 != *len || memcmp(again, buf, *len))) {
		fprintf(stderr, PROG ": the passwords differ; nothing changed\n");
		ret = -1;
	}
	explicit_bzero(again, sizeof(again));
	return ret;
}

/* Load path into *set: a missing file is an empty set when missing_ok. */
static int load(const char *path, bool missing_ok, struct users **set)
{
	char err[256];
	int ret = users_load(path, set, err, sizeof(err));
	if (!ret)
		return 0;
	if (ret == -ENOENT && missing_ok) {
		*set = users_new();
		if (*set)
			return 0;
		snprintf(err, sizeof(err), "out of memory");
	}
	if (ret == -ENOENT)
		fprintf(stderr, PROG ": %s: no users file (iod-user add creates it)\n", path);
	else
		fprintf(stderr, PROG ": %s: %s\n", path, err);
	return -1;
}

/* Save, keeping the file with the bridge's owner when run as root: the
 * owner of the file it replaces, or else of its directory. */
static int save(const struct users *set, const char *path)
{
	struct stat st;
	bool have_owner = false;
	if (geteuid() == 0) {
		if (!stat(path, &st)) {
			have_owner = true;
		} else {
			char dir[4096];
			snprintf(dir, sizeof(dir), "%s", path);
			char *slash = strrchr(dir, '/');
			if (slash)
				slash == dir ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
			else
				snprintf(dir, sizeof(dir), ".");
			have_owner = !stat(dir, &st);
		}
	}
	int ret = users_save(set, path);
	if (ret) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(-ret));
		return -1;
	}
	if (have_owner && (st.st_uid != 0 || st.st_gid != 0) && chown(path, st.st_uid, st.st_gid))
		fprintf(stderr, PROG ": %s: saved, but could not give it to uid %u: %s\n", path,
			(unsigned)st.st_uid, strerror(errno));
	return 0;
}

static size_t admins(const struct users *set)
{
	size_t n = 0;
	for (size_t i = 0; i < users_count(set); i++)
		n += users_at(set, i)->role == ROLES_ADMIN;
	return n;
}

static int cmd_list(const char *path)
{
	struct users *set = NULL;
	char err[256];
	int ret = users_load(path, &set, err, sizeof(err));
	if (ret == -ENOENT) {
		fprintf(stderr, PROG ": %s: no users file yet\n", path);
		return 0;
	}
	if (ret) {
		fprintf(stderr, PROG ": %s: %s\n", path, err);
		return 1;
	}
	printf("%-32s %-6s %s\n", "NAME", "ROLE", "SITES");
	for (size_t i = 0; i < users_count(set); i++) {
		const struct users_entry *e = users_at(set, i);
		printf("%-32s %-6s %s\n", e->name, roles_name(e->role), e->sites);
	}
	users_free(set);
	return 0;
}

static int cmd_change(const char *cmd, const char *path, const char *name, enum roles_role role,
		      const char *sites, bool from_stdin)
{
	bool add = !strcmp(cmd, "add"), passwd = !strcmp(cmd, "passwd");
	struct users *set = NULL;
	char pw[USERS_PASSWORD_MAX + 3], hash[USERS_ENCODED_MAX];
	size_t len = 0;
	int status = 1, ret;

	if (load(path, add, &set))
		return 1;
	if (add && users_find(set, name)) {
		fprintf(stderr,
			PROG ": %s: user '%s' exists (iod-user passwd changes a password)\n", path,
			name);
		goto out;
	}
	if (!add && !users_find(set, name)) {
		fprintf(stderr, PROG ": %s: no user '%s'\n", path, name);
		goto out;
	}
	if (!strcmp(cmd, "remove")) {
		if (users_find(set, name)->role == ROLES_ADMIN && admins(set) == 1) {
			fprintf(stderr,
				PROG ": %s: '%s' is the only admin; add another admin first\n",
				path, name);
			goto out;
		}
		users_remove(set, name);
	} else {
		if (get_password(name, from_stdin, pw, sizeof(pw), &len))
			goto out;
		ret = users_hash(pw, len, hash);
		explicit_bzero(pw, sizeof(pw));
		if (ret) {
			fprintf(stderr, PROG ": hashing the password: %s\n", strerror(-ret));
			goto out;
		}
		ret = passwd ? users_set_hash(set, name, hash)
			     : users_add(set, name, role, sites, hash);
		if (ret) {
			fprintf(stderr, PROG ": %s: %s\n", path, strerror(-ret));
			goto out;
		}
	}
	if (save(set, path))
		goto out;
	if (add)
		fprintf(stderr, PROG ": %s: added %s (%s, sites %s)\n", path, name,
			roles_name(role), sites);
	else
		fprintf(stderr, PROG ": %s: %s %s\n", path, passwd ? "new password for" : "removed",
			name);
	status = 0;
out:
	explicit_bzero(hash, sizeof(hash));
	users_free(set);
	return status;
}

int main(int argc, char **argv)
{
	const char *cmd = NULL, *name = NULL, *role_text = NULL, *sites = NULL;
	const char *data_dir = NULL, *file = NULL;
	bool from_stdin = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!strcmp(a, "--password-stdin")) {
			from_stdin = true;
			continue;
		}
		if (!strcmp(a, "--role"))
			slot = &role_text;
		else if (!strcmp(a, "--sites"))
			slot = &sites;
		else if (!strcmp(a, "--data-dir"))
			slot = &data_dir;
		else if (!strcmp(a, "--file"))
			slot = &file;
		else if (!strcmp(a, "--password"))
			return usage("%s: passwords are not taken on the command line; use "
				     "--password-stdin or the terminal",
				     a);
		if (slot) {
			if (i + 1 >= argc)
				return usage("%s needs a value", a);
			if (*slot)
				return usage("%s given twice", a);
			*slot = argv[++i];
			continue;
		}
		if (a[0] == '-')
			return usage("unknown option '%s'", a);
		if (!cmd)
			cmd = a;
		else if (!name)
			name = a;
		else
			return usage("unexpected argument '%s'", a);
	}
	if (!cmd)
		return usage(NULL);
	bool is_list = !strcmp(cmd, "list"), is_add = !strcmp(cmd, "add");
	if (!is_list && !is_add && strcmp(cmd, "passwd") && strcmp(cmd, "remove"))
		return usage("unknown command '%s' (add, passwd, remove, list)", cmd);
	if (is_list && name)
		return usage("list takes no NAME (got '%s')", name);
	if (!is_list && !name)
		return usage("%s needs a NAME", cmd);
	if (name && !users_name_valid(name))
		return usage("NAME '%s' is not 1-32 of [a-z0-9._-] starting with a letter or digit",
			     name);
	if (!is_add && (role_text || sites))
		return usage("--role and --sites are for add (%s keeps them)", cmd);
	if (from_stdin && (is_list || !strcmp(cmd, "remove")))
		return usage("--password-stdin is for add and passwd, not %s", cmd);
	if (file && data_dir)
		return usage("give --data-dir or --file, not both");
	enum roles_role role = ROLES_VIEWER;
	if (role_text && roles_parse(role_text, &role))
		return usage("--role '%s' is not viewer, carer or admin", role_text);
	const char *why = NULL;
	if (!sites)
		sites = "*";
	if (roles_sites_valid(sites, &why)) {
		fprintf(stderr, PROG ": --sites '%s': %s\n", sites, why);
		return usage(NULL);
	}
	if (!is_list && !from_stdin && strcmp(cmd, "remove") && !isatty(STDIN_FILENO))
		return usage("standard input is not a terminal: give --password-stdin to read the "
			     "password from it");

	char path[4096];
	const char *dir = data_dir ? data_dir : getenv("IOD_DATA_DIR");
	if (!dir || !dir[0])
		dir = "./var/bridge";
	int n = file ? snprintf(path, sizeof(path), "%s", file)
		     : snprintf(path, sizeof(path), "%s/users", dir);
	if (n < 0 || (size_t)n >= sizeof(path) || !path[0])
		return usage("the users file's path is empty or too long");

	if (is_list)
		return cmd_list(path);
	return cmd_change(cmd, path, name, role, sites, from_stdin);
}
