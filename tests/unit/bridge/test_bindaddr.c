/* IOD_BRIDGE_BIND resolution and loopback peers, without the network. */
#include "bindaddr.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static enum bindaddr_status resolve(const char *text, struct bindaddr *a)
{
	char why[256];
	enum bindaddr_status st = bindaddr_resolve(text, a, why, sizeof(why));
	if (st != BINDADDR_OK)
		cr_assert_neq(why[0], '\0', "a reason for '%s'", text);
	return st;
}

Test(bindaddr, literals, .timeout = 5)
{
	struct bindaddr a;
	cr_assert_eq(resolve("127.0.0.1", &a), BINDADDR_OK);
	cr_assert_eq(a.family, AF_INET);
	cr_assert_str_eq(a.address, "127.0.0.1");
	cr_assert_eq(resolve("0.0.0.0", &a), BINDADDR_OK);
	cr_assert_eq(a.family, AF_INET);
	cr_assert_eq(resolve("::1", &a), BINDADDR_OK);
	cr_assert_eq(a.family, AF_INET6);
	cr_assert_str_eq(a.address, "::1");
	cr_assert_eq(resolve("[::]", &a), BINDADDR_OK);
	cr_assert_eq(a.family, AF_INET6);
	cr_assert_str_eq(a.address, "::");
	cr_assert_eq(resolve("[fd00:0::2]", &a), BINDADDR_OK);
	cr_assert_str_eq(a.address, "fd00::2");
	cr_assert_not(a.interface);
}

Test(bindaddr, bad_settings, .timeout = 5)
{
	struct bindaddr a;
	const char *bad[] = {"",	  "127.1",
			     "256.0.0.1", "1.2.3.4.5",
			     "[::1",	  "[127.0.0.1]",
			     "::g",	  "a b",
			     "eth0/1",	  "averyveryverylongname",
			     "[]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(resolve(bad[i], &a), BINDADDR_BAD, "'%s'", bad[i]);
	cr_assert_eq(bindaddr_resolve(NULL, &a, (char[64]){0}, 64), BINDADDR_BAD);
}

Test(bindaddr, interface_names, .timeout = 5)
{
	struct bindaddr a;
	cr_assert_eq(resolve("lo", &a), BINDADDR_OK, "the loopback interface");
	cr_assert(a.interface);
	cr_assert_eq(a.family, AF_INET, "its IPv4 address first");
	cr_assert_str_eq(a.address, "127.0.0.1");
	cr_assert_eq(resolve("nosuchif0", &a), BINDADDR_UNAVAILABLE);
}

Test(bindaddr, probe, .timeout = 5)
{
	struct bindaddr a;
	cr_assert_eq(resolve("127.0.0.1", &a), BINDADDR_OK);
	cr_assert_eq(bindaddr_probe(&a, 0), 0);
	/* TEST-NET-1 is nobody's address on a test machine (one without it). */
	cr_assert_eq(resolve("192.0.2.254", &a), BINDADDR_OK);
	int rc = bindaddr_probe(&a, 0);
	cr_assert(rc == -EADDRNOTAVAIL || rc == 0, "%d", rc);
}

static bool loop4(const char *ip)
{
	struct sockaddr_in s = {.sin_family = AF_INET};
	inet_pton(AF_INET, ip, &s.sin_addr);
	return bindaddr_is_loopback((struct sockaddr *)&s);
}

static bool loop6(const char *ip)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return bindaddr_is_loopback((struct sockaddr *)&s);
}

Test(bindaddr, loopback_peers, .timeout = 5)
{
	cr_assert(loop4("127.0.0.1"));
	cr_assert(loop4("127.255.0.9"));
	cr_assert_not(loop4("192.168.1.20"));
	cr_assert_not(loop4("10.127.0.1"));
	cr_assert(loop6("::1"));
	cr_assert(loop6("::ffff:127.0.0.1"));
	cr_assert_not(loop6("::ffff:192.168.1.20"));
	cr_assert_not(loop6("fe80::1"));
	cr_assert_not(loop6("::"));
	cr_assert_not(bindaddr_is_loopback(NULL));
	char buf[64];
	struct bindaddr a = {.family = AF_INET6, .address = "::1"};
	bindaddr_format(&a, 8080, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[::1]:8080");
}
