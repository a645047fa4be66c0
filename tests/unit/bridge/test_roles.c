/* roles: the role x action matrix for every action and role, site access. */
#include "proto.h"
#include "roles.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* The expected answers, written out here rather than derived from the
 * code's table: V viewer, C carer, A admin may; "-" the role may not. */
static const struct {
	const char *service, *action;
	const char *viewer, *carer, *admin; /* NULL: allowed, else the reason */
} expect[] = {
#define OK NULL
#define NO ROLES_REASON_NOT_AUTHORIZED
    {"bridge", "watch", OK, OK, OK},	   {"feeder", "feed", NO, OK, OK},
    {"feeder", "home", NO, OK, OK},	   {"feeder", "call", NO, OK, OK},
    {"feeder", "treat", NO, OK, OK},	   {"feeder", "skip", NO, OK, OK},
    {"feeder", "pause", NO, OK, OK},	   {"feeder", "resume", NO, OK, OK},
    {"feeder", "refill", NO, OK, OK},	   {"feeder", "plan", NO, NO, OK},
    {"notify", "ack", NO, OK, OK},	   {"notify", "subscribe", NO, OK, OK},
    {"notify", "unsubscribe", NO, OK, OK}, {"notify", "test", NO, NO, OK},
    {"users", "list", NO, NO, OK},	   {"users", "add", NO, NO, OK},
    {"users", "passwd", NO, NO, OK},	   {"users", "remove", NO, NO, OK},
#undef OK
#undef NO
};
#define N_EXPECT (sizeof(expect) / sizeof(expect[0]))

static void check_reason(const char *got, const char *want, const char *role, const char *svc,
			 const char *act)
{
	if (!want)
		cr_expect_null(got, "%s %s/%s: refused (%s), want allowed", role, svc, act, got);
	else
		cr_expect(got && !strcmp(got, want), "%s %s/%s: %s, want %s", role, svc, act,
			  got ? got : "allowed", want);
}

Test(roles, every_action_for_every_role, .timeout = 5)
{
	for (size_t i = 0; i < N_EXPECT; i++) {
		const char *s = expect[i].service, *a = expect[i].action;
		check_reason(roles_may(ROLES_VIEWER, s, a), expect[i].viewer, "viewer", s, a);
		check_reason(roles_may(ROLES_CARER, s, a), expect[i].carer, "carer", s, a);
		check_reason(roles_may(ROLES_ADMIN, s, a), expect[i].admin, "admin", s, a);
	}
}

static bool expected(const char *service, const char *action)
{
	for (size_t i = 0; i < N_EXPECT; i++)
		if (!strcmp(expect[i].service, service) && !strcmp(expect[i].action, action))
			return true;
	return false;
}

/* The code's matrix has exactly the rows above, no more. */
Test(roles, the_matrix_is_the_expected_one, .timeout = 5)
{
	size_t n;
	const struct roles_action *m = roles_actions(&n);
	cr_assert_eq(n, N_EXPECT);
	for (size_t i = 0; i < n; i++)
		cr_expect(expected(m[i].service, m[i].action), "%s/%s not in the test's table",
			  m[i].service, m[i].action);
}

/* Every command proto/ knows is in the matrix: a new one without a line
 * in roles.c would be refused to everyone. */
Test(roles, every_proto_command_is_listed, .timeout = 5)
{
	/* Up to the first name proto/ does not have, so an action appended to
	 * either enum is checked too. */
	int feeder = 0, notify = 0;
	for (const char *name; (name = proto_action_name((enum proto_action)feeder)); feeder++) {
		cr_expect(expected("feeder", name), "feeder action %s not in the matrix", name);
		cr_expect_null(roles_may(ROLES_ADMIN, "feeder", name), "%s", name);
	}
	for (const char *name; (name = proto_notify_action_name((enum proto_notify_action)notify));
	     notify++) {
		cr_expect(expected("notify", name), "notify action %s not in the matrix", name);
		cr_expect_null(roles_may(ROLES_ADMIN, "notify", name), "%s", name);
	}
	cr_expect_eq(feeder, PROTO_ACTION_REFILL + 1);
	cr_expect_eq(notify, PROTO_NOTIFY_UNSUBSCRIBE + 1);
}

Test(roles, unknown_actions_and_services_are_refused_to_all, .timeout = 5)
{
	static const char *const bad[][2] = {
	    {"feeder", "snack"},    {"feeder", "Feed"}, {"feeder", "verify"}, {"notify", "feed"},
	    {"camera", "snapshot"}, {"users", "watch"}, {"Feeder", "feed"},   {"feeder", ""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int r = ROLES_VIEWER; r <= ROLES_ADMIN; r++)
			cr_expect_str_eq(roles_may((enum roles_role)r, bad[i][0], bad[i][1]),
					 ROLES_REASON_UNKNOWN_ACTION, "%s/%s", bad[i][0],
					 bad[i][1]);
	cr_expect_str_eq(roles_may(ROLES_ADMIN, NULL, "feed"), ROLES_REASON_UNKNOWN_ACTION);
	cr_expect_str_eq(roles_may(ROLES_ADMIN, "feeder", NULL), ROLES_REASON_UNKNOWN_ACTION);
	cr_expect_str_eq(roles_may((enum roles_role)3, "bridge", "watch"),
			 ROLES_REASON_UNKNOWN_ACTION);
	cr_expect_str_eq(roles_may((enum roles_role) - 1, "bridge", "watch"),
			 ROLES_REASON_UNKNOWN_ACTION);
}

/* A websocket cmd without "service" is the feeder's. */
Test(roles, empty_service_is_the_feeder, .timeout = 5)
{
	cr_expect_null(roles_may(ROLES_CARER, "", "feed"));
	cr_expect_str_eq(roles_may(ROLES_CARER, "", "plan"), ROLES_REASON_NOT_AUTHORIZED);
	cr_expect_str_eq(roles_may(ROLES_VIEWER, "", "feed"), ROLES_REASON_NOT_AUTHORIZED);
	cr_expect_str_eq(roles_may(ROLES_CARER, "", "ack"), ROLES_REASON_UNKNOWN_ACTION);
}

Test(roles, names_parse_exactly, .timeout = 5)
{
	enum roles_role r = ROLES_ADMIN;
	cr_expect_str_eq(roles_name(ROLES_VIEWER), "viewer");
	cr_expect_str_eq(roles_name(ROLES_CARER), "carer");
	cr_expect_str_eq(roles_name(ROLES_ADMIN), "admin");
	cr_expect_null(roles_name((enum roles_role)3));
	cr_assert_eq(roles_parse("viewer", &r), 0);
	cr_expect_eq(r, ROLES_VIEWER);
	cr_assert_eq(roles_parse("carer", &r), 0);
	cr_expect_eq(r, ROLES_CARER);
	cr_assert_eq(roles_parse("admin", &r), 0);
	cr_expect_eq(r, ROLES_ADMIN);
	static const char *const bad[] = {"Admin", "admin ", "", "operator", "root", "carers"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = ROLES_CARER;
		cr_expect_eq(roles_parse(bad[i], &r), -1, "'%s'", bad[i]);
		cr_expect_eq(r, ROLES_CARER, "'%s' changed the output", bad[i]);
	}
	cr_expect_eq(roles_parse(NULL, &r), -1);
}

Test(roles, sites_validation, .timeout = 5)
{
	static const char *const good[] = {"*", "home", "home,cabin", "a-b_C9,x", "h"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect_eq(roles_sites_valid(good[i], NULL), 0, "'%s'", good[i]);
	static const struct {
		const char *sites, *why_has;
	} bad[] = {
	    {"", "empty"},
	    {"home,", "empty site"},
	    {",home", "empty site"},
	    {"a,,b", "empty site"},
	    {"home,*", "alone"},
	    {"**", "[A-Za-z0-9_-]"},
	    {"ho me", "[A-Za-z0-9_-]"},
	    {"a:b", "[A-Za-z0-9_-]"},
	    {"home,home", "twice"},
	    {"a,b,a", "twice"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		cr_expect_eq(roles_sites_valid(bad[i].sites, &why), -1, "'%s'", bad[i].sites);
		cr_expect(why && strstr(why, bad[i].why_has), "'%s': %s", bad[i].sites,
			  why ? why : "(no reason)");
	}
	cr_expect_eq(roles_sites_valid(NULL, NULL), -1);

	char name65[66], list[64 * 3 + 8];
	memset(name65, 'a', 65);
	name65[65] = '\0';
	cr_expect_eq(roles_sites_valid(name65, NULL), -1);
	name65[64] = '\0';
	cr_expect_eq(roles_sites_valid(name65, NULL), 0);
	/* 64 distinct sites are fine, 65 are not. */
	size_t n = 0;
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%02d", i ? "," : "", i);
	cr_expect_eq(roles_sites_valid(list, NULL), -1);
	list[strlen(list) - 3] = '\0';
	cr_expect_eq(roles_sites_valid(list, NULL), 0, "%s", list);
}

Test(roles, site_filtering, .timeout = 5)
{
	cr_expect(roles_site_allowed("*", "home"));
	cr_expect(roles_site_allowed("*", "anything-else"));
	cr_expect(roles_site_allowed("home", "home"));
	cr_expect(roles_site_allowed("home,cabin", "cabin"));
	cr_expect(roles_site_allowed("home,cabin", "home"));
	cr_expect_not(roles_site_allowed("home,cabin", "hom"));
	cr_expect_not(roles_site_allowed("home,cabin", "homes"));
	cr_expect_not(roles_site_allowed("home,cabin", "Home"));
	cr_expect_not(roles_site_allowed("home,cabin", "cabin,home"));
	cr_expect_not(roles_site_allowed("home,cabin", "home,cabin"));
	cr_expect_not(roles_site_allowed("home", "*"));
	cr_expect_not(roles_site_allowed("home", ""));
	cr_expect_not(roles_site_allowed("*", ""));
	cr_expect_not(roles_site_allowed(NULL, "home"));
	cr_expect_not(roles_site_allowed("*", NULL));
}
