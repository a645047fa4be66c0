/*
 * app — iod-bridge's glue for the service skeleton (common/service.h): its
 * settings and their rules, struct bridge_app (the state, the login table
 * and the lws server of one running bridge) and the callbacks main.c's
 * service table names. The rules a start-up applies (the open-files limit,
 * which web directory, TLS and bind settings) are functions of their own so
 * unit tests reach them (tests/unit/bridge/test_app.c).
 *
 * Loop thread only, like everything the skeleton calls.
 */
#ifndef IOD_BRIDGE_APP_H
#define IOD_BRIDGE_APP_H

#include "ha.h"
#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <uv.h>

struct accounts;
struct auth;
struct bindaddr;
struct cfg;
struct mqttc_message;
struct rhttp;
struct rwriter;
struct server;
struct service;
struct service_def;
struct sites;

/* File descriptors kept for everything but websocket clients: the listener,
 * the MQTT connection, files being served, HTTP requests in flight. */
#define BRIDGE_FD_RESERVE 64

struct bridge_app {
	struct service *svc;
	const char *site;
	struct ha_device ha;
	char dashboard_url[512];
	char availability[PROTO_TOPIC_MAX]; /* the Dashboard entity's state topic */
	bool tls;
	struct sites *sites; /* the homes served (IOD_BRIDGE_SITES), each with its state */
	struct auth *auth;
	struct accounts *accounts; /* the users file (accounts.h) */
	struct server *server;
	uv_timer_t mqtt_stopped; /* stops the server once MQTT has said `offline` */
	struct rwriter *writer;	 /* the records store's writer thread; NULL: store off */
	struct rhttp *records;	 /* its readers for the HTTP API; NULL: store off */
};

/* IOD_RECORDS_PATH, or <IOD_DATA_DIR>/records.db, into buf. 0 or -1. */
int bridge_records_path(const struct cfg *cfg, char *buf, size_t size);
/* iod-bridge --backup FILE: an online copy of the store (records_backup)
 * while a bridge may be writing it. 0 with a line on stdout saying where
 * and how big, or 1 with why on stderr. */
int bridge_backup(const struct cfg *cfg, const char *dst);

/* IOD_BRIDGE_PASSWORD's rule: at most AUTH_PASSWORD_MAX bytes (the text
 * names no value: it is a secret). */
bool bridge_password_check(const char *value, char *why, size_t why_size);
/* IOD_BRIDGE_SITES' rule: sites_list_check(). */
bool bridge_sites_check(const char *value, char *why, size_t why_size);
/* IOD_BRIDGE_HOSTS' rule: auth_hosts_valid(). */
bool bridge_hosts_check(const char *value, char *why, size_t why_size);
/* IOD_BRIDGE_TLS_CERT and _KEY both set or neither: 0, or 2 with a line
 * naming both on stderr. */
int bridge_tls_check(const char *cert, const char *key);
/* IOD_BRIDGE_BIND resolved into *out: 0; 2 when malformed (a line on
 * stderr); 1 when well-formed but not bindable now (logged: an interface
 * not up yet may come, so a restart may help). */
int bridge_bind_resolve(const char *bind, struct bindaddr *out);

/* The open-files limit. lws sizes its connection table by RLIMIT_NOFILE
 * (and fails on "unlimited"), so the soft limit is raised towards the hard
 * one as far as want_clients + BRIDGE_FD_RESERVE needs. The soft limit to
 * ask for, given the current soft (cur) and hard (max) ones: cur when it is
 * enough (or unlimited). */
rlim_t bridge_nofile_wanted(unsigned want_clients, rlim_t cur, rlim_t max);
/* With the soft limit cur in force: how many clients it allows (at least
 * 1), and in *fd_limit what lws is told to size its table for. */
unsigned bridge_nofile_clients(unsigned want_clients, rlim_t cur, unsigned *fd_limit);
/* Both, on this process (getrlimit/setrlimit), and the result logged;
 * without getrlimit, 1024 descriptors are assumed. */
unsigned bridge_raise_nofile(unsigned want_clients, unsigned *fd_limit);

/* IOD_BRIDGE_WEB_DIR when set; else the first of the n candidates holding
 * an index.html; else NULL (no static files). */
const char *bridge_pick_web_dir(const char *set, const char *const *candidates, size_t n);
/* The candidates when IOD_BRIDGE_WEB_DIR is unset: the installed web/,
 * ./web, the source tree's web/. */
extern const char *const bridge_web_dirs[];
extern const size_t bridge_n_web_dirs;

/* The bridge for service_main() (main.c): its settings (IOD_BRIDGE_*, with
 * the checks below), a clean MQTT
 * session (live data only), 4096 messages queued for the loop, payloads up
 * to STATE_FRAME_MAX, and the callbacks below. */
extern const struct service_def bridge_service;

/* The skeleton's callbacks. */
void *bridge_create(struct service *svc, int *exit_code);
void bridge_stop(void *app);
void bridge_destroy(void *app);
void bridge_on_message(void *app, const struct mqttc_message *msg);
/* The broker is back (after the resubscribe, info and discovery) or gone
 * (Paho is reconnecting): every dashboard is told, and commands are
 * refused while it is gone (server_set_broker). */
void bridge_on_connected(void *app);
void bridge_on_disconnected(void *app);
void bridge_publish_discovery(void *app);
const char *bridge_backend(void *app); /* info's backend: "https" or "http" */

#endif
