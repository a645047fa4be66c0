#include "accounts.h"

#include "auth.h"
#include "log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct accounts {
	uv_loop_t *loop;
	char path[4096]; /* "" = no file */
	struct users *set;
	struct users_stamp stamp;
	char admin_pw[AUTH_PASSWORD_MAX];
	size_t admin_pw_len;
	uv_fs_event_t watch;
	bool watching;	     /* the handle is initialised and not yet closed */
	bool freeing;	     /* accounts_free came before its close callback */
	unsigned generation; /* bumped by every reload */
};

struct accounts_check {
	uv_work_t req;
	struct users *one; /* the account asked for alone (empty when unknown) */
	bool env_admin;	   /* admin, checked against the first-run password */
	char admin_pw[AUTH_PASSWORD_MAX];
	size_t admin_pw_len;
	char user[USERS_NAME_MAX + 1];
	char *password;
	size_t len;
	bool ok;
	enum roles_role role;
	accounts_done_fn done; /* NULL: forgotten */
	void *arg;
};

static void reloaded(struct accounts *a, int rc, const char *err)
{
	if (rc == 1)
		log_info("users: %s read: %zu account%s", a->path, users_count(a->set),
			 users_count(a->set) == 1 ? "" : "s");
	else if (rc == -ENOENT)
		log_info("users: no %s: only admin with IOD_BRIDGE_PASSWORD can log in", a->path);
	else if (rc < 0)
		log_warn("users: %s not used (the accounts read before stay): %s", a->path, err);
}

void accounts_reload(struct accounts *a)
{
	char err[256] = "";
	if (!a->path[0])
		return;
	reloaded(a, users_reload(a->path, &a->set, &a->stamp, err, sizeof(err)), err);
	a->generation++;
}

static void on_change(uv_fs_event_t *h, const char *filename, int events, int status)
{
	(void)events;
	struct accounts *a = h->data;
	if (status < 0 || (filename && strcmp(filename, "users")))
		return;
	accounts_reload(a);
}

struct accounts *accounts_new(uv_loop_t *loop, const char *dir, const char *admin_password)
{
	struct accounts *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->loop = loop;
	a->set = users_new();
	if (!a->set) {
		free(a);
		return NULL;
	}
	if (admin_password && *admin_password) {
		size_t n = strlen(admin_password);
		a->admin_pw_len = n < sizeof(a->admin_pw) ? n : sizeof(a->admin_pw);
		memcpy(a->admin_pw, admin_password, a->admin_pw_len);
	}
	if (dir && *dir) {
		snprintf(a->path, sizeof(a->path), "%s/users", dir);
		accounts_reload(a);
		/* The directory, not the file: iod-user replaces the file by a
		 * rename, which a watch on the old inode would not see. */
		if (loop && uv_fs_event_init(loop, &a->watch) == 0) {
			a->watch.data = a;
			a->watching = true;
			int rc = uv_fs_event_start(&a->watch, on_change, dir, 0);
			if (rc < 0)
				log_warn("users: cannot watch %s (%s): changes to the users file "
					 "need a restart",
					 dir, uv_strerror(rc));
		}
	}
	return a;
}

static void release(struct accounts *a)
{
	users_free(a->set);
	OPENSSL_cleanse(a->admin_pw, sizeof(a->admin_pw));
	free(a);
}

static void on_watch_closed(uv_handle_t *h)
{
	struct accounts *a = h->data;
	a->watching = false;
	if (a->freeing)
		release(a);
}

void accounts_stop(struct accounts *a)
{
	if (!a || !a->watching || uv_is_closing((uv_handle_t *)&a->watch))
		return;
	uv_fs_event_stop(&a->watch);
	uv_close((uv_handle_t *)&a->watch, on_watch_closed);
}

void accounts_free(struct accounts *a)
{
	if (!a)
		return;
	if (a->watching) { /* released by on_watch_closed */
		a->freeing = true;
		accounts_stop(a);
		return;
	}
	release(a);
}

bool accounts_any(const struct accounts *a)
{
	return a && (users_count(a->set) > 0 || a->admin_pw_len > 0);
}

static bool env_admin(const struct accounts *a, const char *user)
{
	return a->admin_pw_len && user && !strcmp(user, AUTH_ADMIN) &&
	       !users_find(a->set, AUTH_ADMIN);
}

bool accounts_env_admin(const struct accounts *a)
{
	return a && env_admin(a, AUTH_ADMIN);
}

int accounts_role(const struct accounts *a, const char *user, enum roles_role *role)
{
	if (!a || !user)
		return -1;
	const struct users_entry *e = users_find(a->set, user);
	if (e) {
		*role = e->role;
		return 0;
	}
	if (env_admin(a, user)) {
		*role = ROLES_ADMIN;
		return 0;
	}
	return -1;
}

const char *accounts_sites(const struct accounts *a, const char *user)
{
	if (!a || !user)
		return NULL;
	const struct users_entry *e = users_find(a->set, user);
	if (e)
		return e->sites;
	return env_admin(a, user) ? "*" : NULL;
}

unsigned accounts_generation(const struct accounts *a)
{
	return a ? a->generation : 0;
}

static void check_free(struct accounts_check *c)
{
	users_free(c->one);
	if (c->password) {
		OPENSSL_cleanse(c->password, c->len);
		free(c->password);
	}
	OPENSSL_cleanse(c->admin_pw, sizeof(c->admin_pw));
	free(c);
}

/* On the worker: one argon2id verify whatever the name (users_verify
 * verifies a dummy hash for a name the set lacks), so the time does not
 * tell which names exist; the first-run admin's password is compared in
 * constant time after that dummy. */
static void run(uv_work_t *req)
{
	struct accounts_check *c = req->data;
	const struct users_entry *who = NULL;
	int rc = users_verify(c->one, c->user, c->password, c->len, &who);
	if (rc == 0) {
		c->ok = true;
		c->role = who->role;
	} else if (c->env_admin) {
		c->ok = auth_ct_equal(c->password, c->len, c->admin_pw, c->admin_pw_len);
		c->role = ROLES_ADMIN;
	}
}

static void after(uv_work_t *req, int status)
{
	struct accounts_check *c = req->data;
	if (c->done)
		c->done(c->arg, status == 0 && c->ok, c->role);
	check_free(c);
}

int accounts_verify(struct accounts *a, const char *user, const char *password, size_t len,
		    accounts_done_fn done, void *arg, struct accounts_check **out)
{
	*out = NULL;
	struct accounts_check *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->req.data = c;
	c->done = done;
	c->arg = arg;
	c->one = users_new();
	c->password = malloc(len ? len : 1);
	if (!c->one || !c->password) {
		check_free(c);
		return -ENOMEM;
	}
	memcpy(c->password, password, len);
	c->len = len;
	if (users_name_valid(user)) {
		snprintf(c->user, sizeof(c->user), "%s", user);
		const struct users_entry *e = users_find(a->set, user);
		if (e && users_add(c->one, e->name, e->role, e->sites, e->hash) < 0) {
			check_free(c);
			return -ENOMEM;
		}
		if (env_admin(a, user)) {
			c->env_admin = true;
			memcpy(c->admin_pw, a->admin_pw, a->admin_pw_len);
			c->admin_pw_len = a->admin_pw_len;
		}
	} else {
		snprintf(c->user, sizeof(c->user), "-"); /* no such name: the dummy */
	}
	if (!a->loop) {
		run(&c->req);
		after(&c->req, 0);
		return 0; /* done already; nothing to forget */
	}
	if (uv_queue_work(a->loop, &c->req, run, after) < 0) {
		check_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void accounts_forget(struct accounts_check *c)
{
	if (c)
		c->done = NULL;
}
