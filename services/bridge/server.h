/*
 * server — the libwebsockets side of iod-bridge: one vhost on the libuv loop
 * serving the dashboard's static files, /healthz, /metrics, /api/... and the
 * /ws websocket, and the fan-out of MQTT traffic to every websocket client.
 *
 * Loop thread only: lws runs on the service's uv loop (foreign loop), and
 * mqttc delivers messages on the same thread, so nothing here locks.
 */
#ifndef IOD_BRIDGE_SERVER_H
#define IOD_BRIDGE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct accounts;
struct auth;
struct bindaddr;
struct mqttc;
struct rhttp;
struct sites;

struct server_config {
	const char *site;	     /* IOD_SITE: the bridge's own, the records store's */
	const struct bindaddr *bind; /* what to listen on, resolved (bindaddr.h); borrowed */
	int port;
	const char *web_dir;  /* NULL: no static files */
	const char *tls_cert; /* both set: https/wss */
	const char *tls_key;
	bool public_view;
	bool metrics_public; /* /metrics for anyone, not only loopback peers and the operator */
	unsigned max_clients;
	unsigned fd_limit;	   /* lws connection table size */
	unsigned queue_slack;	   /* per-client queue bound beyond what the state holds */
	size_t max_topics;	   /* the state's topic bound (the queue holds that many too) */
	struct sites *sites;	   /* borrowed: the homes served, each with its state */
	struct auth *auth;	   /* borrowed */
	struct accounts *accounts; /* borrowed: the users file (accounts.h) */
	struct mqttc *mqtt;	   /* borrowed; set later with server_set_mqtt() */
	struct rhttp *records;	   /* borrowed; NULL: the records store is off (503) */
};

struct server;

/* Bytes every outgoing frame buffer reserves in front (LWS_PRE). */
size_t server_headroom(void);

/* Create the lws context on loop and start listening on exactly cfg->bind.
 * NULL on error (logged, naming the setting): the address or port cannot be
 * bound. */
struct server *server_new(uv_loop_t *loop, const struct server_config *cfg);
void server_set_mqtt(struct server *s, struct mqttc *mqtt);
/* The bridge's MQTT connection went up (after the resubscribe) or down:
 * remembered for the next hello and commands, and sent to every client as
 * {"type":"broker","connected":…,"ts":…} when it changed. */
void server_set_broker(struct server *s, bool connected);
/* One MQTT message (from mqttc's message callback): cache and fan out. */
void server_on_mqtt(struct server *s, const char *topic, const void *payload, size_t len,
		    int64_t received_ms);
/* Destroy the lws context (closing every connection). Its uv handles close
 * asynchronously: keep running the loop afterwards until it ends, then
 * server_free(). */
void server_stop(struct server *s);
void server_free(struct server *s);

#endif
