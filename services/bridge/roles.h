/*
 * roles — who may do what on the bridge (issue 14): the three roles, the
 * role x action matrix over every command the bridge can publish
 * (feeder/cmd, notify/cmd) and the bridge's own user management, and which
 * sites a user may see. Pure: no I/O, no allocation; any thread.
 *
 * The matrix (services/bridge/README.md "Accounts" says why):
 *   viewer  watch only: bridge/watch
 *   carer   also feeder feed, home, call, treat, skip, pause, resume,
 *           refill; notify ack, subscribe, unsubscribe
 *   admin   also feeder plan; notify test; users list, add, passwd, remove
 */
#ifndef IOD_BRIDGE_ROLES_H
#define IOD_BRIDGE_ROLES_H

#include <stdbool.h>
#include <stddef.h>

enum roles_role { ROLES_VIEWER, ROLES_CARER, ROLES_ADMIN };

#define ROLES_REASON_NOT_AUTHORIZED "not_authorized"
#define ROLES_REASON_UNKNOWN_ACTION "unknown_action"

/* "viewer", "carer", "admin"; NULL for a value outside the enum. */
const char *roles_name(enum roles_role role);
/* The exact lower-case name: 0, or -1 (out untouched). */
int roles_parse(const char *text, enum roles_role *out);

/* One cell row of the matrix: the least role that may do it. */
struct roles_action {
	const char *service; /* "feeder", "notify", "users", "bridge" */
	const char *action;  /* "feed", "ack", "add", "watch", ... */
	enum roles_role least;
};
/* The whole matrix, n entries (for tests and for listing). Static storage. */
const struct roles_action *roles_actions(size_t *n);

/* May a user of this role do service/action? NULL when allowed, else the
 * reason for the wire: "not_authorized" (a known action above the role) or
 * "unknown_action" (a service/action the matrix does not name, NULL
 * arguments, or a role outside the enum): what is not listed is refused.
 * The feeder's service may be given as "" (a websocket cmd without
 * "service" is the feeder's). */
const char *roles_may(enum roles_role role, const char *service, const char *action);

/* A user's sites: "*" (all), or a comma list of 1..ROLES_SITES_MAX distinct
 * site names (proto_site_valid: 1-64 of [A-Za-z0-9_-]), no spaces, no
 * empty items. 0, or -1 with *why (static text) saying what is wrong. */
#define ROLES_SITES_MAX 64
int roles_sites_valid(const char *sites, const char **why);
/* Does a (valid) sites value cover site? false for NULL arguments. A name
 * matches exactly (site names are case-sensitive, as in the topics). */
bool roles_site_allowed(const char *sites, const char *site);

#endif
