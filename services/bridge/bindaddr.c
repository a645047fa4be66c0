#include "bindaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An interface name as Linux allows one: 1..15 bytes, no '/', ':' or blank.
 * All digits and dots is a mistyped IPv4 address, not a name. */
static bool ifname_valid(const char *text)
{
	size_t n = strlen(text);
	bool numeric = true;
	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f || c == '/' || c == ':' || c == '[' || c == ']' ||
		    c == '%')
			return false;
		if (!(c == '.' || (c >= '0' && c <= '9')))
			numeric = false;
	}
	return !numeric;
}

static enum bindaddr_status from_interface(const char *name, struct bindaddr *out, char *why,
					   size_t why_size)
{
	struct ifaddrs *all;
	if (getifaddrs(&all) < 0) {
		snprintf(why, why_size, "cannot list network interfaces: %s", strerror(errno));
		return BINDADDR_UNAVAILABLE;
	}
	bool seen = false;
	const struct sockaddr *v4 = NULL, *v6 = NULL, *v6_link = NULL;
	for (struct ifaddrs *i = all; i; i = i->ifa_next) {
		if (!i->ifa_name || strcmp(i->ifa_name, name))
			continue;
		seen = true;
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !v4)
			v4 = i->ifa_addr;
		if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a =
			    &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a)) {
				if (!v6_link)
					v6_link = i->ifa_addr;
			} else if (!v6) {
				v6 = i->ifa_addr;
			}
		}
	}
	enum bindaddr_status st = BINDADDR_OK;
	const struct sockaddr *pick = v4 ? v4 : v6 ? v6 : v6_link;
	if (!pick) {
		snprintf(
		    why, why_size,
		    seen ? "interface '%s' has no IP address (yet)"
			 : "'%s' is neither an IP address nor a network interface of this machine",
		    name);
		st = BINDADDR_UNAVAILABLE;
	} else {
		out->family = pick->sa_family;
		const void *a = pick->sa_family == AF_INET
				    ? (const void *)&((const struct sockaddr_in *)pick)->sin_addr
				    : (const void *)&((const struct sockaddr_in6 *)pick)->sin6_addr;
		inet_ntop(pick->sa_family, a, out->address, sizeof(out->address));
		out->interface = true;
	}
	freeifaddrs(all);
	return st;
}

enum bindaddr_status bindaddr_resolve(const char *text, struct bindaddr *out, char *why,
				      size_t why_size)
{
	char buf[sizeof(out->address)];
	struct in_addr a4;
	struct in6_addr a6;
	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (!text || !*text) {
		snprintf(why, why_size,
			 "empty: give an address (0.0.0.0, 127.0.0.1, ::) or an "
			 "interface name");
		return BINDADDR_BAD;
	}
	size_t n = strlen(text);
	if (n >= sizeof(buf)) {
		snprintf(why, why_size, "'%.32s…' is too long for an address", text);
		return BINDADDR_BAD;
	}
	memcpy(buf, text, n + 1);
	if (buf[0] == '[') {
		if (n < 3 || buf[n - 1] != ']') {
			snprintf(why, why_size, "'%s' is not an [IPv6] address", text);
			return BINDADDR_BAD;
		}
		memmove(buf, buf + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1) {
			snprintf(why, why_size, "'%s' is not an [IPv6] address", text);
			return BINDADDR_BAD;
		}
	}
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		out->family = AF_INET;
		inet_ntop(AF_INET, &a4, out->address, sizeof(out->address));
		return BINDADDR_OK;
	}
	if (inet_pton(AF_INET6, buf, &a6) == 1) {
		out->family = AF_INET6;
		inet_ntop(AF_INET6, &a6, out->address, sizeof(out->address));
		return BINDADDR_OK;
	}
	if (!ifname_valid(buf)) {
		snprintf(why, why_size,
			 "'%s' is not an IPv4 or IPv6 address (e.g. 0.0.0.0, 127.0.0.1, ::, ::1) "
			 "nor an interface name",
			 text);
		return BINDADDR_BAD;
	}
	return from_interface(buf, out, why, why_size);
}

int bindaddr_probe(const struct bindaddr *a, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, a->address, &s4->sin_addr) != 1)
			return -EINVAL;
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		if (inet_pton(AF_INET6, a->address, &s6->sin6_addr) != 1)
			return -EINVAL;
		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr)) {
			/* The scope is the interface holding the address, as lws finds it. */
			struct ifaddrs *all, *i;
			if (getifaddrs(&all) == 0) {
				for (i = all; i; i = i->ifa_next)
					if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
					    !memcmp(
						&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
						&s6->sin6_addr, sizeof(s6->sin6_addr))) {
						s6->sin6_scope_id = if_nametoindex(i->ifa_name);
						break;
					}
				freeifaddrs(all);
			}
		}
		len = sizeof(*s6);
	}
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	int rc = bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

void bindaddr_format(const struct bindaddr *a, int port, char *buf, size_t size)
{
	snprintf(buf, size, a->family == AF_INET6 ? "[%s]:%d" : "%s:%d", a->address, port);
}

bool bindaddr_is_loopback(const struct sockaddr *sa)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		uint32_t ip = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return (ip >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}
