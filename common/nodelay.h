/*
 * nodelay — TCP_NODELAY on the connection Paho made to the broker.
 *
 * Why this exists: Paho MQTT C 1.3.12 (Debian 12) has no option for
 * TCP_NODELAY (it came in 1.3.14) and does not expose its socket, so Nagle's
 * algorithm holds a small publish behind the PUBACK just sent until the
 * broker's delayed ACK: ~40 ms on a command's answer, measured. The only way
 * in is to find the socket: this walks /proc/self/fd for TCP sockets whose
 * peer is the broker (address and port) and sets the option on them.
 * setsockopt() on a socket Paho's threads use is safe. Drop this module once
 * Paho 1.3.14 or later is what the build has.
 */
#ifndef IOD_COMMON_NODELAY_H
#define IOD_COMMON_NODELAY_H

/* Set TCP_NODELAY on every TCP socket of this process connected to port at
 * one of the addresses host (a literal or a name, resolved here: call it
 * just after a connect, when the name has just been resolved) stands for.
 * Returns how many sockets were set, or -1; failures are logged (warn). */
int nodelay_set_for_peer(const char *host, int port);

#endif
