/*
 * mqtt_url: every scheme with its TLS flag and default port, explicit
 * ports (also after user:password@ and IPv6 literals), what is refused, and
 * the copies made for Paho and for the log.
 */
#include "mqtt_url.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct mqtt_url parsed(const char *text)
{
	struct mqtt_url u = {.port = 0};
	cr_assert_eq(mqtt_url_parse(text, &u), 0, "%s refused", text);
	return u;
}

Test(mqtt_url, every_scheme_with_its_defaults, .timeout = 10)
{
	static const struct {
		const char *url;
		bool tls, websocket;
		int port;
	} cases[] = {
	    {"tcp://broker", false, false, 1883}, {"mqtt://broker", false, false, 1883},
	    {"ssl://broker", true, false, 8883},  {"mqtts://broker", true, false, 8883},
	    {"ws://broker", false, true, 80},	  {"wss://broker", true, true, 443},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mqtt_url u = parsed(cases[i].url);
		cr_expect_eq(u.tls, cases[i].tls, "%s", cases[i].url);
		cr_expect_eq(u.websocket, cases[i].websocket, "%s", cases[i].url);
		cr_expect_eq(u.port, cases[i].port, "%s", cases[i].url);
	}
}

Test(mqtt_url, explicit_ports, .timeout = 10)
{
	cr_expect_eq(parsed("tcp://127.0.0.1:18830").port, 18830);
	cr_expect_eq(parsed("ssl://u:p@broker:8884").port, 8884);
	cr_expect_eq(parsed("tcp://user:pa:ss@broker").port, 1883, "a ':' in the password");
	cr_expect_eq(parsed("tcp://[::1]:1884").port, 1884);
	cr_expect_eq(parsed("tcp://[::1]").port, 1883);
	cr_expect_eq(parsed("ws://broker:9001/mqtt").port, 9001);
	cr_expect_eq(parsed("wss://broker/mqtt").port, 443);
	cr_expect_eq(parsed("tcp://broker:0").port, -1);
	cr_expect_eq(parsed("tcp://broker:65536").port, -1);
	cr_expect_eq(parsed("tcp://broker:18x").port, -1);
}

Test(mqtt_url, refused, .timeout = 10)
{
	static const char *const bad[] = {
	    "",		"broker:1883",	"http://broker", "tcp:/broker", "tcp://", "tcp://:1883",
	    "tcp:///x", "TCP://broker", "mqtt5://x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(mqtt_url_parse(bad[i], NULL), -1, "'%s' taken", bad[i]);
	cr_expect_eq(mqtt_url_parse(NULL, NULL), -1);
	cr_expect_eq(mqtt_url_parse("tcp://broker", NULL), 0);
}

static void expect_copy(char *(*fn)(const char *), const char *in, const char *want)
{
	char *got = fn(in);
	cr_assert_not_null(got);
	cr_expect_str_eq(got, want, "from %s", in);
	free(got);
}

Test(mqtt_url, for_paho_renames_only_the_alias, .timeout = 10)
{
	expect_copy(mqtt_url_for_paho, "mqtt://broker:1883", "tcp://broker:1883");
	expect_copy(mqtt_url_for_paho, "mqtt://u:p@broker", "tcp://u:p@broker");
	expect_copy(mqtt_url_for_paho, "tcp://broker", "tcp://broker");
	expect_copy(mqtt_url_for_paho, "mqtts://broker", "mqtts://broker");
	expect_copy(mqtt_url_for_paho, "wss://broker/mqtt", "wss://broker/mqtt");
}

Test(mqtt_url, for_log_drops_credentials, .timeout = 10)
{
	expect_copy(mqtt_url_for_log, "tcp://user:secret@broker:1883", "tcp://broker:1883");
	expect_copy(mqtt_url_for_log, "ssl://user@[::1]:8883", "ssl://[::1]:8883");
	expect_copy(mqtt_url_for_log, "tcp://broker:1883", "tcp://broker:1883");
	/* An '@' in the path is not a user. */
	expect_copy(mqtt_url_for_log, "ws://broker/a@b", "ws://broker/a@b");
	expect_copy(mqtt_url_for_log, "not a url", "not a url");
}

Test(mqtt_url, host, .timeout = 10)
{
	char buf[64];

	cr_assert_eq(mqtt_url_host("tcp://user:pw@broker.local:1883/x", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "broker.local");
	cr_assert_eq(mqtt_url_host("tcp://[fe80::1]:1883", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "fe80::1");
	cr_assert_eq(mqtt_url_host("ws://127.0.0.1/mqtt", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "127.0.0.1");
	cr_expect_eq(mqtt_url_host("tcp://[::1", buf, sizeof(buf)), -1, "unclosed bracket");
	cr_expect_eq(mqtt_url_host("tcp://broker", buf, 6), -1, "does not fit");
	cr_assert_eq(mqtt_url_host("tcp://broker", buf, 7), 0);
	cr_expect_str_eq(buf, "broker");
	cr_expect_eq(mqtt_url_host("broker", buf, sizeof(buf)), -1);
}
