/*
 * iod-bridge: every MQTT message under iod/<site>/# pushed live to browsers
 * over websockets, the dashboard's files, login and commands.
 * config -> log -> limits -> loop -> state/auth -> lws server -> MQTT -> run
 * -> one cleanup path.
 */
#include "auth.h"
#include "bindaddr.h"
#include "cfg.h"
#include "ha.h"
#include "log.h"
#include "loop.h"
#include "mqttc.h"
#include "proto.h"
#include "sdnotify.h"
#include "server.h"
#include "service.h"
#include "state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <uv.h>

#define STOP_TIMEOUT_MS 2000
/* File descriptors kept for everything but websocket clients: the listener,
 * the MQTT connection, files being served, HTTP requests in flight. */
#define FD_RESERVE 64

/* The rules of the bridge's own settings, run by cfg at start and for
 * --check-config. The password's text names no value: it is a secret. */
static bool password_check(const char *value, char *why, size_t why_size)
{
	if (strlen(value) <= AUTH_PASSWORD_MAX)
		return true;
	snprintf(why, why_size, "longer than %d bytes", AUTH_PASSWORD_MAX);
	return false;
}

static bool hosts_check(const char *value, char *why, size_t why_size)
{
	if (auth_hosts_valid(value))
		return true;
	snprintf(why, why_size,
		 "'%s' must be a comma list of host names (letters, digits, '-', '.', '_') or *",
		 value);
	return false;
}

/* A default the state also applies (state.h), as the option table's text. */
#define DEFAULT_TEXT(x)	 DEFAULT_TEXT_(x)
#define DEFAULT_TEXT_(x) #x

static const struct cfg_option bridge_options[] = {
    {"IOD_BRIDGE_PORT", CFG_INT, "8080", "HTTP/websocket port", 1, 65535, 0, NULL},
    {"IOD_BRIDGE_BIND", CFG_STRING, "0.0.0.0",
     "IPv4 or IPv6 address, or interface name, to listen on (0.0.0.0: every IPv4 address, "
     "the home LAN; \"::\": every address, IPv6 too; 127.0.0.1: this machine only)",
     0, 0, 0, NULL},
    {"IOD_BRIDGE_WEB_DIR", CFG_STRING, NULL,
     "dashboard files (default: the installed web/, else ./web, else the source tree's)", 0, 0, 0,
     NULL},
    {"IOD_BRIDGE_PASSWORD", CFG_STRING, NULL,
     "operator password; unset: nobody can log in or send commands", 0, 0, CFG_F_SECRET,
     password_check},
    {"IOD_BRIDGE_PUBLIC_VIEW", CFG_BOOL, "0", "1: anyone may watch without logging in", 0, 0, 0,
     NULL},
    {"IOD_BRIDGE_METRICS_PUBLIC", CFG_BOOL, "0",
     "1: /metrics answers anyone; 0: only this machine (loopback, not through a proxy) and "
     "the logged-in operator",
     0, 0, 0, NULL},
    {"IOD_BRIDGE_TLS_CERT", CFG_STRING, NULL, "certificate (PEM): serve https/wss", 0, 0, 0, NULL},
    {"IOD_BRIDGE_TLS_KEY", CFG_STRING, NULL, "private key (PEM) for IOD_BRIDGE_TLS_CERT", 0, 0, 0,
     NULL},
    {"IOD_BRIDGE_MAX_CLIENTS", CFG_INT, "10000",
     "websocket clients at most (also bounded by the open-files limit)", 1, 1000000, 0, NULL},
    {"IOD_BRIDGE_QUEUE_SLACK", CFG_INT, "256",
     "per-client queue room beyond one frame per topic; a client over it is dropped", 16, 65536, 0,
     NULL},
    {"IOD_BRIDGE_CACHE_TOPICS", CFG_INT, DEFAULT_TEXT(STATE_TOPICS_DEFAULT),
     "topics kept in the last-value cache", 16, 100000, 0, NULL},
    {"IOD_BRIDGE_SESSION_IDLE", CFG_DURATION, "7d", "an operator session ends after this idle",
     60000, 365LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_BRIDGE_LOGIN_FAILURES", CFG_INT, "5",
     "failed logins per client address per minute before 429", 1, 1000, 0, NULL},
    {"IOD_BRIDGE_HOSTS", CFG_STRING, NULL,
     "comma list of host names the dashboard answers to, against DNS rebinding (default: "
     "localhost, the machine's name and <name>.local, IOD_DASHBOARD_URL's host; IP literals "
     "always; \"*\": any); others get 421",
     0, 0, 0, hosts_check},
};

struct bridge {
	const struct cfg *cfg;
	const char *site;
	struct ha_device ha;
	char dashboard_url[512];
	char availability[PROTO_TOPIC_MAX];
	char filter[PROTO_TOPIC_MAX];
	char client_id[PROTO_TOPIC_MAX];
	int64_t since_ms;
	bool tls;
	struct state *state;
	struct auth *auth;
	struct server *server;
	struct mqttc *mqtt;
};

/*
 * Home Assistant: one connectivity sensor, "Dashboard", on while the bridge
 * runs and off once it has gone (its will, or a clean stop, publishes
 * `offline` on the availability topic it reads). It deliberately has no
 * availability of its own: with one it would turn "unavailable" exactly when
 * it should say "off" (the pattern of Zigbee2MQTT's bridge connection state).
 */
static void publish_discovery(struct bridge *b)
{
	cJSON *e = ha_entity_new(&b->ha, "binary_sensor", "bridge", "Dashboard");
	if (e) {
		ha_entity_no_availability(e);
		cJSON_AddStringToObject(e, "state_topic", b->availability);
		cJSON_AddStringToObject(e, "payload_on", PROTO_ONLINE);
		cJSON_AddStringToObject(e, "payload_off", PROTO_OFFLINE);
		cJSON_AddStringToObject(e, "device_class", "connectivity");
		cJSON_AddStringToObject(e, "entity_category", "diagnostic");
	}
	ha_publish_entity(b->mqtt, &b->ha, "binary_sensor", "bridge", e);
}

/* On the loop thread (mqttc hands messages over). Home Assistant's birth
 * message announces the entity again; everything else is for browsers. */
static void on_message(void *arg, const struct mqttc_message *msg)
{
	struct bridge *b = arg;
	if (strcmp(msg->topic, HA_STATUS_TOPIC) == 0) {
		if (ha_is_birth(msg->topic, msg->payload, msg->len) && b->mqtt)
			publish_discovery(b);
		return;
	}
	server_on_mqtt(b->server, msg->topic, msg->payload, msg->len, msg->received_ms);
}

/* After every (re)connect: our retained info and discovery. */
static void on_connected(void *arg)
{
	struct bridge *b = arg;
	service_publish_info(b->mqtt, b->site, "bridge", b->tls ? "https" : "http", b->since_ms);
	publish_discovery(b);
}

/* On the loop thread, after every (re)connect and resubscribe: the
 * dashboards learn the broker is back, then the retained info and discovery. */
static void on_mqtt_up(void *arg)
{
	struct bridge *b = arg;
	server_set_broker(b->server, true);
	on_connected(arg);
}

/* On the loop thread: the connection to the broker is gone (Paho is
 * reconnecting); every dashboard is told, and commands are refused. */
static void on_mqtt_down(void *arg)
{
	struct bridge *b = arg;
	server_set_broker(b->server, false);
}

/* SIGTERM/SIGINT on the loop thread. Producers first (MQTT: `offline`, then
 * disconnect), then the consumers (the lws context closes every client);
 * lws' uv handles close as the loop keeps running, then uv_run returns. */
static void on_stop(void *arg)
{
	struct bridge *b = arg;
	log_info("stopping");
	if (b->mqtt) {
		mqttc_stop(b->mqtt, STOP_TIMEOUT_MS);
		server_set_mqtt(b->server, NULL);
		mqttc_free(b->mqtt);
		b->mqtt = NULL;
	}
	server_stop(b->server);
	loop_signals_close();
}

/* lws sizes its connection table by RLIMIT_NOFILE (and fails on
 * "unlimited"): raise the soft limit towards the hard one, as far as the
 * clients we want need, and say how many clients that allows. *fd_limit is
 * what lws is told to size its tables for. */
static unsigned raise_nofile(unsigned want_clients, unsigned *fd_limit)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want_clients + FD_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		*fd_limit = 1024;
		return 1024 - FD_RESERVE;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-files limit: %s", strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > need ? need : rl.rlim_cur;
	*fd_limit = (unsigned)fds;
	unsigned max = fds > FD_RESERVE ? (unsigned)(fds - FD_RESERVE) : 1;
	log_info("open-files limit %llu: up to %u websocket clients%s",
		 rl.rlim_cur == RLIM_INFINITY ? 0ULL : (unsigned long long)rl.rlim_cur, max,
		 max < want_clients ? " (raise ulimit -n for more)" : "");
	return max;
}

static const char *pick_web_dir(const struct cfg *cfg)
{
	const char *set = cfg_str(cfg, "IOD_BRIDGE_WEB_DIR");
	if (set)
		return set;
	static const char *const candidates[] = {IOD_WEB_DIR_INSTALLED, "./web",
						 IOD_WEB_DIR_SOURCE};
	struct stat st;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		char index[4096];
		snprintf(index, sizeof(index), "%s/index.html", candidates[i]);
		if (stat(index, &st) == 0)
			return candidates[i];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rc = 0;
	struct cfg *cfg =
	    cfg_load("bridge", "iod-bridge", bridge_options,
		     sizeof(bridge_options) / sizeof(bridge_options[0]), argc, argv, &rc);
	if (!cfg)
		return rc;
	enum log_level level = LOG_LEVEL_INFO;
	log_parse_level(cfg_str(cfg, "IOD_LOG_LEVEL"), &level);
	log_init("bridge", level);

	struct bridge b = {0};
	uv_loop_t loop;
	bool loop_open = false;
	b.cfg = cfg;
	b.site = cfg_str(cfg, "IOD_SITE");
	b.ha = (struct ha_device){
	    .site = b.site,
	    .service = "bridge",
	    .dashboard_url = ha_dashboard_url(cfg, b.dashboard_url, sizeof(b.dashboard_url)),
	};
	b.since_ms = loop_wall_ms();
	const char *password = cfg_str(cfg, "IOD_BRIDGE_PASSWORD");
	const char *cert = cfg_str(cfg, "IOD_BRIDGE_TLS_CERT");
	const char *key = cfg_str(cfg, "IOD_BRIDGE_TLS_KEY");
	const char *data_dir = cfg_str(cfg, "IOD_DATA_DIR");
	if (!cert != !key) {
		fprintf(stderr,
			"iod-bridge: IOD_BRIDGE_TLS_CERT and IOD_BRIDGE_TLS_KEY go together\n");
		rc = 2;
		goto out;
	}
	b.tls = cert && key;
	struct bindaddr listen_at;
	char why[256];
	enum bindaddr_status bs =
	    bindaddr_resolve(cfg_str(cfg, "IOD_BRIDGE_BIND"), &listen_at, why, sizeof(why));
	if (bs == BINDADDR_BAD) {
		fprintf(stderr, "iod-bridge: IOD_BRIDGE_BIND: %s\n", why);
		rc = 2;
		goto out;
	}
	if (bs != BINDADDR_OK) {
		log_error("IOD_BRIDGE_BIND: %s", why);
		rc = 1; /* may come right later (an interface not up yet): a restart may help */
		goto out;
	}
	if (listen_at.interface)
		log_info("IOD_BRIDGE_BIND %s: its address %s", cfg_str(cfg, "IOD_BRIDGE_BIND"),
			 listen_at.address);
	int mk = cfg_make_data_dir(cfg);
	if (mk < 0) {
		log_error("IOD_DATA_DIR '%s': %s", data_dir, strerror(-mk));
		rc = 1;
		goto out;
	}
	proto_topic_availability(b.availability, sizeof(b.availability), b.site, "bridge");
	proto_topic(b.filter, sizeof(b.filter), b.site, "#", NULL);
	snprintf(b.client_id, sizeof(b.client_id), "iod-bridge-%s", b.site);
	if (!password)
		log_warn("IOD_BRIDGE_PASSWORD is not set: nobody can log in, commands are refused");

	unsigned fd_limit = 0;
	unsigned max_clients =
	    raise_nofile((unsigned)cfg_int(cfg, "IOD_BRIDGE_MAX_CLIENTS"), &fd_limit);
	if (uv_loop_init(&loop) < 0) {
		log_error("cannot create the event loop");
		rc = 1;
		goto out;
	}
	loop_open = true;

	struct state_config sc = {
	    .site = b.site,
	    .headroom = 0, /* set below: LWS_PRE lives in server.c */
	    .max_topics = (size_t)cfg_int(cfg, "IOD_BRIDGE_CACHE_TOPICS"),
	    .max_json_payload = PROTO_MAX_PAYLOAD,
	    .max_frame_bytes = STATE_FRAME_MAX,
	};
	sc.headroom = server_headroom();
	struct auth_config ac = {
	    .password = password,
	    .session_idle_ms = cfg_duration_ms(cfg, "IOD_BRIDGE_SESSION_IDLE"),
	    .max_failures = (unsigned)cfg_int(cfg, "IOD_BRIDGE_LOGIN_FAILURES"),
	    .hosts = cfg_str(cfg, "IOD_BRIDGE_HOSTS"),
	    .dashboard_url = b.ha.dashboard_url,
	};
	b.state = state_new(&sc);
	b.auth = auth_new(&ac);
	if (!b.state || !b.auth) {
		log_error("out of memory");
		rc = 1;
		goto out;
	}
	struct server_config svc = {
	    .site = b.site,
	    .bind = &listen_at,
	    .port = (int)cfg_int(cfg, "IOD_BRIDGE_PORT"),
	    .web_dir = pick_web_dir(cfg),
	    .tls_cert = cert,
	    .tls_key = key,
	    .public_view = cfg_bool(cfg, "IOD_BRIDGE_PUBLIC_VIEW"),
	    .metrics_public = cfg_bool(cfg, "IOD_BRIDGE_METRICS_PUBLIC"),
	    .max_clients = max_clients,
	    .fd_limit = fd_limit,
	    .queue_slack = (unsigned)cfg_int(cfg, "IOD_BRIDGE_QUEUE_SLACK"),
	    .max_topics = sc.max_topics,
	    .state = b.state,
	    .auth = b.auth,
	};
	b.server = server_new(&loop, &svc);
	if (!b.server) {
		rc = 1;
		goto out;
	}
	struct mqttc_options mo = {
	    .client_id = b.client_id,
	    .availability_topic = b.availability,
	    .session_expiry_s = 0,
	    .queue_limit = 4096,
	    .max_payload = STATE_FRAME_MAX, /* what cannot be forwarded is not read (state.h) */
	    .on_message = on_message,
	    .on_connected = on_mqtt_up,
	    .on_disconnected = on_mqtt_down,
	    .arg = &b,
	};
	struct mqttc_settings ms = mqttc_settings_from_cfg(cfg);
	b.mqtt = mqttc_new(&loop, &ms, &mo);
	if (!b.mqtt || mqttc_subscribe(b.mqtt, b.filter, 1, false) < 0 ||
	    mqttc_subscribe(b.mqtt, HA_STATUS_TOPIC, 1, false) < 0 ||
	    loop_signals_init(&loop, on_stop, &b) < 0) {
		rc = 1;
		goto out;
	}
	server_set_mqtt(b.server, b.mqtt);
	if (mqttc_start(b.mqtt) < 0) {
		rc = 1;
		goto out;
	}
	sdnotify_start(&loop); /* READY=1 on the first turn; watchdog pings */
	uv_run(&loop, UV_RUN_DEFAULT);

out:
	if (b.mqtt) {
		server_set_mqtt(b.server, NULL);
		mqttc_free(b.mqtt);
		b.mqtt = NULL;
	}
	server_stop(b.server);
	if (loop_open) {
		loop_signals_close();
		uv_run(&loop, UV_RUN_DEFAULT); /* lws closes its handles */
	}
	server_free(b.server);
	if (loop_open)
		loop_close_all(&loop);
	auth_free(b.auth);
	state_free(b.state);
	cfg_free(cfg);
	return rc;
}
