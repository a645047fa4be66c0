/*
 * nodelay — TCP_NODELAY on the broker connection Paho 1.3.12 hides (see
 * nodelay.h for why).
 */
#include "nodelay.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* An address as comparable bytes: 4 for IPv4 (an IPv4-mapped IPv6 address
 * too, so either form matches the other), 16 for IPv6, 0 for anything else.
 * *port gets the port when port is not NULL. */
static size_t addr_key(const struct sockaddr *sa, unsigned char key[16], int *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (port)
			*port = ntohs(in->sin_port);
		memcpy(key, &in->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (port)
			*port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memcpy(key, in6->sin6_addr.s6_addr + 12, 4);
			return 4;
		}
		memcpy(key, in6->sin6_addr.s6_addr, 16);
		return 16;
	}
	return 0;
}

static bool is_broker(const struct sockaddr_storage *peer, const struct addrinfo *ai, int port)
{
	unsigned char key[16], want[16];
	int peer_port = -1;
	size_t n = addr_key((const struct sockaddr *)peer, key, &peer_port);

	if (n == 0 || peer_port != port)
		return false;
	for (; ai; ai = ai->ai_next)
		if (addr_key(ai->ai_addr, want, NULL) == n && memcmp(key, want, n) == 0)
			return true;
	return false;
}

/* host's addresses: a literal without any lookup, else the resolver. */
static struct addrinfo *resolve(const char *host)
{
	struct addrinfo hints, *ai = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc == EAI_NONAME) {
		hints.ai_flags = 0;
		rc = getaddrinfo(host, NULL, &hints, &ai);
	}
	if (rc != 0) {
		log_warn("TCP_NODELAY: cannot resolve %s: %s", host, gai_strerror(rc));
		return NULL;
	}
	return ai;
}

int nodelay_set_for_peer(const char *host, int port)
{
	struct addrinfo *ai;
	struct dirent *e;
	DIR *dir;
	int set = 0;

	if (!host || port <= 0)
		return -1;
	ai = resolve(host);
	if (!ai)
		return -1;
	dir = opendir("/proc/self/fd");
	if (!dir) {
		log_warn("TCP_NODELAY: /proc/self/fd: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	while ((e = readdir(dir))) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer), tlen;
		int type = 0, one = 1;
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end != '\0' || fd < 0 || fd == dirfd(dir))
			continue;
		tlen = sizeof(type);
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
		    type != SOCK_STREAM ||
		    getpeername((int)fd, (struct sockaddr *)&peer, &len) < 0 ||
		    !is_broker(&peer, ai, port))
			continue;
		if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			log_warn("TCP_NODELAY on the connection to %s:%d (fd %ld): %s", host, port,
				 fd, strerror(errno));
		else
			set++;
	}
	closedir(dir);
	freeaddrinfo(ai);
	if (set == 0)
		log_warn(
		    "TCP_NODELAY: no connection to %s:%d found; small publishes may wait ~40 ms "
		    "for the broker's delayed ACK",
		    host, port);
	return set;
}
