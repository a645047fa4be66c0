/*
 * mqtt_url — broker URL schemes, defaults and rewrites (see mqtt_url.h).
 */
#include "mqtt_url.h"

#ifndef IOD_MQTT_TLS
#define IOD_MQTT_TLS 1
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one list of schemes. paho: what Paho 1.3.12 is given instead. */
static const struct scheme {
	const char *prefix;
	const char *paho;
	bool tls, websocket;
	int port;
} schemes[] = {
    {"tcp://", "tcp://", false, false, 1883}, {"mqtt://", "tcp://", false, false, 1883},
    {"ssl://", "ssl://", true, false, 8883},  {"mqtts://", "mqtts://", true, false, 8883},
    {"ws://", "ws://", false, true, 80},      {"wss://", "wss://", true, true, 443},
};

static const struct scheme *scheme_of(const char *url)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
			return &schemes[i];
	return NULL;
}

/* Where the host begins: after the scheme and any user:password@ (an '@'
 * before the first '/'). */
static const char *host_start(const char *url)
{
	const char *host = strstr(url, "://");
	const char *at, *slash;

	if (!host)
		return NULL;
	host += 3;
	at = strchr(host, '@');
	slash = strchr(host, '/');
	if (at && (!slash || at < slash))
		host = at + 1;
	return host;
}

int mqtt_url_parse(const char *url, struct mqtt_url *out)
{
	const struct scheme *s = url ? scheme_of(url) : NULL;
	const char *host, *end, *colon;

	if (!s)
		return -1;
	host = url + strlen(s->prefix);
	if (*host == '\0' || *host == ':' || *host == '/')
		return -1;
	if (!out)
		return 0;
	out->tls = s->tls;
	out->websocket = s->websocket;
	out->port = s->port;
	/* An explicit port: after the last ':' of the authority that is not
	 * inside an IPv6 literal's brackets or the user:password. */
	end = host + strcspn(host, "/");
	colon = end;
	while (colon > host && colon[-1] != ':' && colon[-1] != ']' && colon[-1] != '@')
		colon--;
	if (colon > host && colon[-1] == ':') {
		char *num_end;
		long port = strtol(colon, &num_end, 10);
		out->port = num_end == end && port > 0 && port < 65536 ? (int)port : -1;
	}
	return 0;
}

bool mqtt_url_check(const char *url, char *why, size_t why_size)
{
	struct mqtt_url u;

	if (mqtt_url_parse(url, &u) < 0) {
		snprintf(why, why_size, "'%s' is not a broker URL (" MQTT_URL_SCHEMES "host:port)",
			 url ? url : "");
		return false;
	}
	if (u.tls && !IOD_MQTT_TLS) {
		snprintf(why, why_size,
			 "'%s' needs TLS, and this build has none (built with -DIOD_MQTT_TLS=OFF)",
			 url);
		return false;
	}
	return true;
}

char *mqtt_url_for_paho(const char *url)
{
	const struct scheme *s = scheme_of(url);
	const char *rest;
	char *out;

	if (!s)
		return strdup(url);
	rest = url + strlen(s->prefix);
	out = malloc(strlen(s->paho) + strlen(rest) + 1);
	if (!out)
		return NULL;
	strcpy(out, s->paho);
	strcat(out, rest);
	return out;
}

/* "tcp://user:pw@host:1883" -> "tcp://host:1883": log lines never carry credentials. */
char *mqtt_url_for_log(const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *host = host_start(url);
	char *out;

	if (!scheme_end || host == scheme_end + 3)
		return strdup(url);
	out = malloc(strlen(url) + 1);
	if (!out)
		return NULL;
	memcpy(out, url, (size_t)(scheme_end + 3 - url));
	strcpy(out + (scheme_end + 3 - url), host);
	return out;
}

int mqtt_url_host(const char *url, char *buf, size_t size)
{
	const char *host = host_start(url);
	const char *end;
	size_t n;

	if (!host || size == 0)
		return -1;
	if (*host == '[') {
		host++;
		end = strchr(host, ']');
		if (!end)
			return -1;
	} else {
		end = host + strcspn(host, ":/");
	}
	n = (size_t)(end - host);
	if (n >= size)
		return -1;
	memcpy(buf, host, n);
	buf[n] = '\0';
	return 0;
}
