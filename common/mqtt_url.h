/*
 * mqtt_url — the broker URLs iod takes (IOD_MQTT_URL), in one place: which
 * schemes exist, which need TLS, their default ports, how Paho and the log
 * are given them. cfg validates with it at start; mqttc uses it to connect.
 *
 *   tcp://   (alias mqtt://)   plain MQTT, port 1883
 *   ssl://   (alias mqtts://)  MQTT over TLS, port 8883
 *   ws://                      MQTT over websockets, port 80
 *   wss://                     MQTT over websockets over TLS, port 443
 *
 * Form: scheme://[user:password@]host[:port][/path]; host may be an IPv6
 * literal in brackets. Pure functions, any thread.
 */
#ifndef IOD_COMMON_MQTT_URL_H
#define IOD_COMMON_MQTT_URL_H

#include <stdbool.h>
#include <stddef.h>

struct mqtt_url {
	bool tls;	/* ssl://, mqtts://, wss:// */
	bool websocket; /* ws://, wss:// */
	int port;	/* explicit, or the scheme's default; -1 when the explicit one is
			 * not a number 1..65535 (Paho then refuses to connect) */
};

/* The human-readable list for error messages. */
#define MQTT_URL_SCHEMES "tcp://, ssl://, mqtts://, ws:// or wss://"

/* 0 when url starts with a known scheme followed by a host (not empty, not
 * ':' or '/'), filling *out if not NULL; -1 otherwise. */
int mqtt_url_parse(const char *url, struct mqtt_url *out);
/* The URL as Paho takes it (mqtt:// becomes tcp://, which Paho knows);
 * malloc'd, NULL when out of memory. */
char *mqtt_url_for_paho(const char *url);
/* IOD_MQTT_URL's check (struct cfg_option.check): a URL mqtt_url_parse
 * takes, and no TLS one in a build without TLS (-DIOD_MQTT_TLS=OFF); false
 * with the reason, the URL quoted, in why. */
bool mqtt_url_check(const char *url, char *why, size_t why_size);
/* The URL without any user:password@, for log lines; malloc'd or NULL. */
char *mqtt_url_for_log(const char *url);
/* The host (no user:password@, no port, no IPv6 brackets) into buf.
 * 0, or -1 when it does not fit or the URL has no scheme. */
int mqtt_url_host(const char *url, char *buf, size_t size);

#endif
