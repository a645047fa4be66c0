/*
 * bindaddr — what IOD_BRIDGE_BIND names, resolved before libwebsockets sees
 * it, and whether a peer is this machine.
 *
 * lws 4.1.6 takes an interface name or an address in info.iface, but with
 * IPv6 enabled (the default) it parses an IPv4 literal into the wrong field
 * of a sockaddr_in6 and binds "::" instead, every address; and a bind that
 * fails there is retried later rather than refused. So the bridge resolves
 * the setting itself to one numeric address and its family, tells lws to
 * use that family only (LWS_SERVER_OPTION_DISABLE_IPV6 for IPv4), and tries
 * the bind once before lws does, to refuse at start what cannot be bound.
 *
 * Accepted: an IPv4 literal (0.0.0.0 = every IPv4 address), an IPv6 literal,
 * bare or in brackets (:: = every address, IPv4 too where the system's
 * net.ipv6.bindv6only is 0), or an interface name (its first IPv4 address,
 * else its first IPv6 one).
 *
 * Any thread; no state.
 */
#ifndef IOD_BRIDGE_BINDADDR_H
#define IOD_BRIDGE_BINDADDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

enum bindaddr_status {
	BINDADDR_OK = 0,
	BINDADDR_BAD = -1,	   /* not an address or interface name: a bad setting */
	BINDADDR_UNAVAILABLE = -2, /* well-formed, but not bindable now (no such
				    * interface yet, no address on it) */
};

struct bindaddr {
	int family;	  /* AF_INET or AF_INET6 */
	char address[64]; /* numeric, without brackets: what lws is given */
	bool interface;	  /* resolved from an interface name */
};

/* Resolve text (IOD_BRIDGE_BIND). On failure why (size why_size) says what
 * is wrong, for a message that names the setting. */
enum bindaddr_status bindaddr_resolve(const char *text, struct bindaddr *out, char *why,
				      size_t why_size);
/* Try to bind a TCP socket to the address and port (SO_REUSEADDR, as lws
 * does) and close it again. 0, or -errno (EADDRNOTAVAIL: the machine has
 * no such address; EADDRINUSE; EACCES). */
int bindaddr_probe(const struct bindaddr *a, int port);
/* "127.0.0.1:8080" or "[::1]:8080". */
void bindaddr_format(const struct bindaddr *a, int port, char *buf, size_t size);
/* The peer is this machine: 127.0.0.0/8, ::1, or ::ffff:127.x.y.z. */
bool bindaddr_is_loopback(const struct sockaddr *sa);

#endif
