/*
 * nodelay: TCP_NODELAY goes on the connections to the named address and
 * port only — not on one to another port, not on one to another address of
 * the same port.
 */
#include "nodelay.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listener on addr (IPv4 text), port chosen by the kernel. */
static int listen_on(const char *addr, int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s", addr);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int connect_to(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int nodelay_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	return v;
}

Test(nodelay, only_the_named_address_and_port, .timeout = 10)
{
	int p1, p2, p3;
	int l1 = listen_on("127.0.0.1", &p1);
	int l2 = listen_on("127.0.0.1", &p2);
	int l3 = listen_on("127.0.0.2", &p3); /* all of 127/8 is loopback on Linux */
	int broker = connect_to("127.0.0.1", p1);
	int other_port = connect_to("127.0.0.1", p2);
	int other_addr = connect_to("127.0.0.2", p3);

	cr_assert_eq(nodelay_of(broker), 0);
	cr_assert_eq(nodelay_set_for_peer("127.0.0.1", p1), 1);
	cr_expect_neq(nodelay_of(broker), 0);
	cr_expect_eq(nodelay_of(other_port), 0);
	cr_expect_eq(nodelay_of(other_addr), 0);
	/* Same port number on another address: not the broker. */
	cr_expect_eq(nodelay_set_for_peer("127.0.0.3", p3), 0);
	cr_expect_eq(nodelay_of(other_addr), 0);
	/* A name resolves to the address. */
	cr_expect_eq(nodelay_set_for_peer("localhost", p2), 1);
	cr_expect_neq(nodelay_of(other_port), 0);
	cr_expect_eq(nodelay_set_for_peer("127.0.0.1", 0), -1);
	close(broker);
	close(other_port);
	close(other_addr);
	close(l1);
	close(l2);
	close(l3);
}
