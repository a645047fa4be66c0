/* Roles, the role x action matrix and site access (roles.h). */
#include "roles.h"

#include "proto.h"

#include <string.h>

static const char *const role_names[] = {
    [ROLES_VIEWER] = "viewer",
    [ROLES_CARER] = "carer",
    [ROLES_ADMIN] = "admin",
};

/* Every action the bridge can publish or perform for a user. A new command
 * in proto/ needs a line here, or roles_may refuses it (test_roles checks
 * that every proto_action and proto_notify_action is listed). */
static const struct roles_action matrix[] = {
    {"bridge", "watch", ROLES_VIEWER},	    {"feeder", "feed", ROLES_CARER},
    {"feeder", "home", ROLES_CARER},	    {"feeder", "call", ROLES_CARER},
    {"feeder", "treat", ROLES_CARER},	    {"feeder", "skip", ROLES_CARER},
    {"feeder", "pause", ROLES_CARER},	    {"feeder", "resume", ROLES_CARER},
    {"feeder", "refill", ROLES_CARER},	    {"feeder", "plan", ROLES_ADMIN},
    {"notify", "ack", ROLES_CARER},	    {"notify", "subscribe", ROLES_CARER},
    {"notify", "unsubscribe", ROLES_CARER}, {"notify", "test", ROLES_ADMIN},
    {"users", "list", ROLES_ADMIN},	    {"users", "add", ROLES_ADMIN},
    {"users", "passwd", ROLES_ADMIN},	    {"users", "remove", ROLES_ADMIN},
};

const char *roles_name(enum roles_role role)
{
	if ((unsigned)role >= sizeof(role_names) / sizeof(role_names[0]))
		return NULL;
	return role_names[role];
}

int roles_parse(const char *text, enum roles_role *out)
{
	if (!text)
		return -1;
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (!strcmp(text, role_names[i])) {
			*out = (enum roles_role)i;
			return 0;
		}
	}
	return -1;
}

const struct roles_action *roles_actions(size_t *n)
{
	*n = sizeof(matrix) / sizeof(matrix[0]);
	return matrix;
}

const char *roles_may(enum roles_role role, const char *service, const char *action)
{
	if (!service || !action || !roles_name(role))
		return ROLES_REASON_UNKNOWN_ACTION;
	if (!service[0])
		service = "feeder";
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		if (strcmp(matrix[i].service, service) || strcmp(matrix[i].action, action))
			continue;
		return role >= matrix[i].least ? NULL : ROLES_REASON_NOT_AUTHORIZED;
	}
	return ROLES_REASON_UNKNOWN_ACTION;
}

/* The item of sites starting at p, up to the next ',' or the end. */
static size_t item_len(const char *p)
{
	const char *comma = strchr(p, ',');
	return comma ? (size_t)(comma - p) : strlen(p);
}

int roles_sites_valid(const char *sites, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (!sites || !sites[0]) {
		*why = "empty (give * for every site, or a comma list of site names)";
		return -1;
	}
	if (!strcmp(sites, "*"))
		return 0;
	size_t count = 0;
	for (const char *p = sites;; p += item_len(p) + 1) {
		size_t len = item_len(p);
		char name[65];
		if (len == 0) {
			*why = "an empty site name (two commas, or one at an end)";
			return -1;
		}
		if (len >= sizeof(name)) {
			*why = "a site name longer than 64 characters";
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (!strcmp(name, "*")) {
			*why = "* stands alone, not in a list";
			return -1;
		}
		if (!proto_site_valid(name)) {
			*why = "a site name is not 1-64 of [A-Za-z0-9_-]";
			return -1;
		}
		/* Distinct: a repeat is a typo worth saying. */
		for (const char *q = sites; q < p; q += item_len(q) + 1) {
			if (item_len(q) == len && !memcmp(q, p, len)) {
				*why = "a site is named twice";
				return -1;
			}
		}
		if (++count > ROLES_SITES_MAX) {
			*why = "more than 64 sites (give * for every site)";
			return -1;
		}
		if (!p[len])
			break;
	}
	return 0;
}

bool roles_site_allowed(const char *sites, const char *site)
{
	if (!sites || !site || !site[0])
		return false;
	if (!strcmp(sites, "*"))
		return true;
	size_t want = strlen(site);
	for (const char *p = sites;; p += item_len(p) + 1) {
		size_t len = item_len(p);
		if (len == want && !memcmp(p, site, len))
			return true;
		if (!p[len])
			return false;
	}
}
