/*
 * accounts — the bridge's users file at run time (issue 14): the set
 * users.c parsed, reloaded when the file changes (a uv_fs_event on the data
 * directory, users_reload: a bad file keeps the old set and is logged
 * once), the role a session's user has now, and a login's password check
 * on a libuv worker (argon2id takes ~40 ms; the loop must not wait).
 *
 * The first-run password (IOD_BRIDGE_PASSWORD) is user "admin" while the
 * file has no "admin": the bridge verifies a login as admin against it and
 * writes nothing (so scripts/up.sh, compose and the systemd unit, which only
 * set the password, keep working, and a password changed there takes effect
 * at the next start); once `iod-user add admin` (or any edit naming admin)
 * puts admin in the file, the file's hash is the only one.
 *
 * With loop NULL (the unit tests) the check runs inline, before
 * accounts_verify returns. Loop thread only, apart from the worker.
 */
#ifndef IOD_BRIDGE_ACCOUNTS_H
#define IOD_BRIDGE_ACCOUNTS_H

#include "roles.h"
#include "users.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct accounts;

/* dir: the data directory (the file is dir/users; NULL: no file, only the
 * first-run password); admin_password: IOD_BRIDGE_PASSWORD or NULL/"".
 * A missing file is no error; an unreadable or bad one is logged and
 * leaves an empty set (read again when it changes). NULL out of memory. */
struct accounts *accounts_new(uv_loop_t *loop, const char *dir, const char *admin_password);
/* Stops watching the file (the stop path: its handle closes on the loop). */
void accounts_stop(struct accounts *a);
/* Frees the set (once the watch handle has closed; a check in flight keeps
 * its own copy and finishes on its own). */
void accounts_free(struct accounts *a);

/* The file changed (or may have): users_reload, logged. Called by the
 * watcher; public for tests. */
void accounts_reload(struct accounts *a);

/* Could anyone log in (an account in the file, or the first-run password)? */
bool accounts_any(const struct accounts *a);

/* Does IOD_BRIDGE_PASSWORD log in as admin now (set, and no admin in the
 * file)? */
bool accounts_env_admin(const struct accounts *a);

/* The role user has now: 0, or -1 when there is no such user (removed
 * from the file, or admin once the first-run password no longer applies). */
int accounts_role(const struct accounts *a, const char *user, enum roles_role *role);

/* The sites user may see now ("*" or a comma list, roles_site_allowed;
 * the first-run admin's are "*"), borrowed until the next reload; NULL
 * when there is no such user. */
const char *accounts_sites(const struct accounts *a, const char *user);
/* Changes whenever the file may have changed (every reload): what a
 * websocket's cached view of its user's sites is checked against. */
unsigned accounts_generation(const struct accounts *a);

/* A login's check: done(arg, ok, role) on the loop thread when it is over
 * (role valid when ok). An unknown user costs a dummy verify, as a known
 * one. 0 with *out the check in flight (for accounts_forget; NULL when
 * loop is NULL: done has run already), or -ENOMEM (done not called). */
typedef void (*accounts_done_fn)(void *arg, bool ok, enum roles_role role);
struct accounts_check;
int accounts_verify(struct accounts *a, const char *user, const char *password, size_t len,
		    accounts_done_fn done, void *arg, struct accounts_check **out);
/* The asker went away: done is not called for this check. */
void accounts_forget(struct accounts_check *c);

#endif
