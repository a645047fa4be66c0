/* Topic builders, the splitter and site names, including overflow. */
#include "helpers.h"

Test(topic, build, .timeout = 10)
{
	char buf[PROTO_TOPIC_MAX];

	cr_assert_eq(proto_topic(buf, sizeof(buf), "home", "feeder", "cmd"), 0);
	cr_assert_str_eq(buf, "iod/home/feeder/cmd");
	cr_assert_eq(proto_topic(buf, sizeof(buf), "home", "sensors", "temperature"), 0);
	cr_assert_str_eq(buf, "iod/home/sensors/temperature");
	cr_assert_eq(proto_topic(buf, sizeof(buf), "cabin-2", "camera", NULL), 0);
	cr_assert_str_eq(buf, "iod/cabin-2/camera");
	cr_assert_eq(proto_topic_alert(buf, sizeof(buf), "home"), 0);
	cr_assert_str_eq(buf, "iod/home/alert");
	/* Wildcards are allowed for subscriptions. */
	cr_assert_eq(proto_topic(buf, sizeof(buf), "home", "sensors", "+"), 0);
	cr_assert_str_eq(buf, "iod/home/sensors/+");
}

Test(topic, overflow, .timeout = 10)
{
	char buf[32];
	const char *want = "iod/home/feeder/state"; /* 21 chars */

	cr_assert_eq(proto_topic(buf, strlen(want) + 1, "home", "feeder", "state"), 0);
	cr_assert_str_eq(buf, want);
	cr_assert_eq(proto_topic(buf, strlen(want), "home", "feeder", "state"), -1);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(proto_topic(buf, 1, "home", "feeder", NULL), -1);
	cr_assert_eq(proto_topic(buf, 0, "home", "feeder", NULL), -1);
	cr_assert_eq(proto_topic_alert(buf, 14, "home"), -1);
	cr_assert_eq(proto_topic_alert(buf, 15, "home"), 0);
	cr_assert_str_eq(buf, "iod/home/alert");
}

Test(topic, missing_parts, .timeout = 10)
{
	char buf[64];

	cr_assert_eq(proto_topic(buf, sizeof(buf), NULL, "feeder", "cmd"), -1);
	cr_assert_eq(proto_topic(buf, sizeof(buf), "home", NULL, "cmd"), -1);
	cr_assert_eq(proto_topic(buf, sizeof(buf), "", "feeder", "cmd"), -1);
	cr_assert_eq(proto_topic(buf, sizeof(buf), "home", "", "cmd"), -1);
	cr_assert_eq(proto_topic(buf, sizeof(buf), "home", "feeder", ""), -1);
	cr_assert_eq(proto_topic(NULL, sizeof(buf), "home", "feeder", "cmd"), -1);
}

Test(topic, availability_info_and_prefixes, .timeout = 10)
{
	char buf[PROTO_TOPIC_MAX];

	cr_assert_eq(proto_topic_availability(buf, sizeof(buf), "home", "feeder"), 0);
	cr_assert_str_eq(buf, "iod/home/feeder/availability");
	cr_assert_eq(proto_topic_availability(buf, sizeof(buf), "cabin-2", "bridge"), 0);
	cr_assert_str_eq(buf, "iod/cabin-2/bridge/availability");
	cr_assert_eq(proto_topic_availability(buf, sizeof(buf), "home", "+"), 0);
	cr_assert_str_eq(buf, "iod/home/+/availability");
	cr_assert_eq(proto_topic_info(buf, sizeof(buf), "home", "camera"), 0);
	cr_assert_str_eq(buf, "iod/home/camera/info");
	cr_assert_eq(proto_topic_prefix(buf, sizeof(buf), "home", NULL), 0);
	cr_assert_str_eq(buf, "iod/home/");
	cr_assert_eq(proto_topic_prefix(buf, sizeof(buf), "home", "sensors"), 0);
	cr_assert_str_eq(buf, "iod/home/sensors/");
	/* Every part given must be there. */
	cr_assert_eq(proto_topic_availability(buf, sizeof(buf), "home", NULL), -1);
	cr_assert_eq(proto_topic_availability(buf, sizeof(buf), "", "feeder"), -1);
	cr_assert_eq(proto_topic_info(buf, sizeof(buf), "home", ""), -1);
	cr_assert_eq(proto_topic_info(buf, sizeof(buf), NULL, "feeder"), -1);
	cr_assert_eq(proto_topic_prefix(buf, sizeof(buf), NULL, NULL), -1);
	cr_assert_eq(proto_topic_prefix(buf, sizeof(buf), "", NULL), -1);
	cr_assert_eq(proto_topic_prefix(buf, sizeof(buf), "home", ""), -1);
	cr_assert_eq(proto_topic_prefix(NULL, sizeof(buf), "home", NULL), -1);
}

Test(topic, prefix_and_availability_overflow, .timeout = 10)
{
	char buf[PROTO_TOPIC_MAX];
	char site[PROTO_SITE_MAX + 1];

	/* "iod/home/" is 9 characters: it needs 10 bytes, the slash included. */
	cr_assert_eq(proto_topic_prefix(buf, 10, "home", NULL), 0);
	cr_assert_str_eq(buf, "iod/home/");
	cr_assert_eq(proto_topic_prefix(buf, 9, "home", NULL), -1);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(proto_topic_prefix(buf, 18, "home", "sensors"), 0);
	cr_assert_eq(proto_topic_prefix(buf, 17, "home", "sensors"), -1);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(proto_topic_availability(buf, 29, "home", "feeder"), 0);
	cr_assert_eq(proto_topic_availability(buf, 28, "home", "feeder"), -1);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(proto_topic_info(buf, 0, "home", "feeder"), -1);
	/* The longest site still fits every topic in PROTO_TOPIC_MAX. */
	memset(site, 'z', PROTO_SITE_MAX);
	site[PROTO_SITE_MAX] = '\0';
	cr_assert(proto_site_valid(site));
	cr_assert_eq(proto_topic_availability(buf, sizeof(buf), site, "sensors"), 0);
	cr_assert_eq(strlen(buf), 4 + PROTO_SITE_MAX + strlen("/sensors/availability"));
}

Test(topic, split, .timeout = 10)
{
	struct proto_topic_parts p;

	cr_assert_eq(proto_topic_split("iod/home/feeder/cmd", &p), 0);
	cr_assert_str_eq(p.site, "home");
	cr_assert_str_eq(p.service, "feeder");
	cr_assert_str_eq(p.leaf, "cmd");

	cr_assert_eq(proto_topic_split("iod/home/alert", &p), 0);
	cr_assert_str_eq(p.site, "home");
	cr_assert_str_eq(p.service, "alert");
	cr_assert_null(p.leaf);

	cr_assert_eq(proto_topic_split("iod/a/b/c/d/e", &p), 0);
	cr_assert_str_eq(p.service, "b");
	cr_assert_str_eq(p.leaf, "c/d/e");
}

Test(topic, split_refusals, .timeout = 10)
{
	struct proto_topic_parts p;
	static const char *const bad[] = {
	    "",
	    "iod",
	    "iod/",
	    "iod/home",
	    "iod/home/",
	    "iod//feeder",
	    "iod/home/feeder/",
	    "IOD/home/feeder",
	    "x/iod/home/feeder",
	    "homeassistant/button/x/config",
	    "/iod/home/feeder",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(proto_topic_split(bad[i], &p), -1, "accepted %s", bad[i]);
	cr_assert_eq(proto_topic_split(NULL, &p), -1);
}

Test(topic, split_length_limit, .timeout = 10)
{
	struct proto_topic_parts p;
	char topic[PROTO_TOPIC_MAX + 8];
	size_t n;

	/* iod/s/v/xxxx... of exactly PROTO_TOPIC_MAX - 1 chars fits. */
	strcpy(topic, "iod/s/v/");
	n = strlen(topic);
	memset(topic + n, 'x', PROTO_TOPIC_MAX - 1 - n);
	topic[PROTO_TOPIC_MAX - 1] = '\0';
	cr_assert_eq(proto_topic_split(topic, &p), 0);
	cr_assert_eq(strlen(p.leaf), PROTO_TOPIC_MAX - 1 - n);
	/* One more does not. */
	topic[PROTO_TOPIC_MAX - 1] = 'x';
	topic[PROTO_TOPIC_MAX] = '\0';
	cr_assert_eq(proto_topic_split(topic, &p), -1);
}

Test(topic, split_round_trips_builder, .timeout = 10)
{
	char buf[PROTO_TOPIC_MAX];
	struct proto_topic_parts p;

	cr_assert_eq(proto_topic(buf, sizeof(buf), "foster_7", "sensors", "humidity"), 0);
	cr_assert_eq(proto_topic_split(buf, &p), 0);
	cr_assert_str_eq(p.site, "foster_7");
	cr_assert_str_eq(p.service, "sensors");
	cr_assert_str_eq(p.leaf, "humidity");
}

Test(site, valid, .timeout = 10)
{
	char name[80];

	cr_assert(proto_site_valid("home"));
	cr_assert(proto_site_valid("Foster-Home_7"));
	memset(name, 'a', 64);
	name[64] = '\0';
	cr_assert(proto_site_valid(name));
	name[64] = 'a';
	name[65] = '\0';
	cr_assert_not(proto_site_valid(name));
	cr_assert_not(proto_site_valid(""));
	cr_assert_not(proto_site_valid(NULL));
	cr_assert_not(proto_site_valid("a/b"));
	cr_assert_not(proto_site_valid("+"));
	cr_assert_not(proto_site_valid("#"));
	cr_assert_not(proto_site_valid("a b"));
	cr_assert_not(proto_site_valid("a.b"));
	cr_assert_not(proto_site_valid("caf\xc3\xa9"));
}
