/*
 * app.c — iod-bridge on the service skeleton: the settings and their rules,
 * then create (TLS and bind settings, open files, state, logins, the lws
 * server on the skeleton's loop, the site's subscription), the MQTT
 * callbacks (messages to the server, the broker's state to the dashboards,
 * Home Assistant's one entity) and the stop path's share (the lws context
 * closes once MQTT has said `offline`).
 *
 * It decides nothing about a request or a message: server.c and the files
 * it dispatches to do. Loop thread only.
 */
#include "app.h"

#include "accounts.h"
#include "auth.h"
#include "bindaddr.h"
#include "cfg.h"
#include "log.h"
#include "mqttc.h"
#include "records.h"
#include "records_http.h"
#include "records_writer.h"
#include "server.h"
#include "service.h"
#include "sites.h"
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* A default the state also applies (state.h), as the option table's text. */
#define DEFAULT_TEXT(x)	 DEFAULT_TEXT_(x)
#define DEFAULT_TEXT_(x) #x

bool bridge_password_check(const char *value, char *why, size_t why_size)
{
	if (strlen(value) <= AUTH_PASSWORD_MAX)
		return true;
	snprintf(why, why_size, "longer than %d bytes", AUTH_PASSWORD_MAX);
	return false;
}

bool bridge_sites_check(const char *value, char *why, size_t why_size)
{
	return sites_list_check(value, why, why_size);
}

bool bridge_hosts_check(const char *value, char *why, size_t why_size)
{
	if (auth_hosts_valid(value))
		return true;
	snprintf(why, why_size,
		 "'%s' must be a comma list of host names (letters, digits, '-', '.', '_') or *",
		 value);
	return false;
}

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
     bridge_password_check},
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
     "topics kept in the last-value cache (of each site)", 16, 100000, 0, NULL},
    {"IOD_BRIDGE_SITES", CFG_STRING, NULL,
     "the homes this bridge serves: a comma list of sites, or * for every site under iod/+/# "
     "(at most 1024); unset: IOD_SITE alone",
     0, 0, 0, bridge_sites_check},
    {"IOD_BRIDGE_SESSION_IDLE", CFG_DURATION, "7d", "an operator session ends after this idle",
     60000, 365LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_BRIDGE_LOGIN_FAILURES", CFG_INT, "5",
     "failed logins per client address per minute before 429", 1, 1000, 0, NULL},
    {"IOD_BRIDGE_HOSTS", CFG_STRING, NULL,
     "comma list of host names the dashboard answers to, against DNS rebinding (default: "
     "localhost, the machine's name and <name>.local, IOD_DASHBOARD_URL's host; IP literals "
     "always; \"*\": any); others get 421",
     0, 0, 0, bridge_hosts_check},
    {"IOD_RECORDS", CFG_BOOL, "1",
     "1: keep readings, doses, events and alerts in the records store (/api/history, ...); "
     "0: off, the records API answers 503",
     0, 0, 0, NULL},
    {"IOD_RECORDS_PATH", CFG_STRING, NULL, "the records store (default: <IOD_DATA_DIR>/records.db)",
     0, 0, 0, NULL},
    {"IOD_RECORDS_MAX_MB", CFG_INT, "500",
     "the records store's size bound: the oldest readings, then thumbnails, go first", 1, 1048576,
     0, NULL},
};

int bridge_tls_check(const char *cert, const char *key)
{
	if (!cert == !key)
		return 0;
	fprintf(stderr, "iod-bridge: IOD_BRIDGE_TLS_CERT and IOD_BRIDGE_TLS_KEY go together\n");
	return 2;
}

int bridge_bind_resolve(const char *bind, struct bindaddr *out)
{
	char why[256];
	enum bindaddr_status bs = bindaddr_resolve(bind, out, why, sizeof(why));
	if (bs == BINDADDR_BAD) {
		fprintf(stderr, "iod-bridge: IOD_BRIDGE_BIND: %s\n", why);
		return 2;
	}
	if (bs != BINDADDR_OK) {
		log_error("IOD_BRIDGE_BIND: %s", why);
		return 1;
	}
	if (out->interface)
		log_info("IOD_BRIDGE_BIND %s: its address %s", bind, out->address);
	return 0;
}

rlim_t bridge_nofile_wanted(unsigned want_clients, rlim_t cur, rlim_t max)
{
	rlim_t need = (rlim_t)want_clients + BRIDGE_FD_RESERVE;
	if (cur == RLIM_INFINITY || cur >= need)
		return cur;
	return max == RLIM_INFINITY || max > need ? need : max;
}

unsigned bridge_nofile_clients(unsigned want_clients, rlim_t cur, unsigned *fd_limit)
{
	rlim_t need = (rlim_t)want_clients + BRIDGE_FD_RESERVE;
	rlim_t fds = cur == RLIM_INFINITY || cur > need ? need : cur;
	*fd_limit = (unsigned)fds;
	return fds > BRIDGE_FD_RESERVE ? (unsigned)(fds - BRIDGE_FD_RESERVE) : 1;
}

unsigned bridge_raise_nofile(unsigned want_clients, unsigned *fd_limit)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return bridge_nofile_clients(want_clients, 1024, fd_limit);
	rlim_t wanted = bridge_nofile_wanted(want_clients, rl.rlim_cur, rl.rlim_max);
	if (wanted != rl.rlim_cur) {
		rl.rlim_cur = wanted;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-files limit: %s", strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	unsigned max = bridge_nofile_clients(want_clients, rl.rlim_cur, fd_limit);
	log_info("open-files limit %llu: up to %u websocket clients%s",
		 rl.rlim_cur == RLIM_INFINITY ? 0ULL : (unsigned long long)rl.rlim_cur, max,
		 max < want_clients ? " (raise ulimit -n for more)" : "");
	return max;
}

const char *const bridge_web_dirs[] = {IOD_WEB_DIR_INSTALLED, "./web", IOD_WEB_DIR_SOURCE};
const size_t bridge_n_web_dirs = sizeof(bridge_web_dirs) / sizeof(bridge_web_dirs[0]);

const char *bridge_pick_web_dir(const char *set, const char *const *candidates, size_t n)
{
	if (set)
		return set;
	struct stat st;
	for (size_t i = 0; i < n; i++) {
		char index[4096];
		snprintf(index, sizeof(index), "%s/index.html", candidates[i]);
		if (stat(index, &st) == 0)
			return candidates[i];
	}
	return NULL;
}

/*
 * Home Assistant: one connectivity sensor, "Dashboard", on while the bridge
 * runs and off once it has gone (its will, or a clean stop, publishes
 * `offline` on the availability topic it reads). It deliberately has no
 * availability of its own: with one it would turn "unavailable" exactly when
 * it should say "off" (the pattern of Zigbee2MQTT's bridge connection state).
 */
void bridge_publish_discovery(void *app)
{
	struct bridge_app *b = app;
	cJSON *e = ha_entity_new(&b->ha, "binary_sensor", "bridge", "Dashboard");
	if (e) {
		ha_entity_no_availability(e);
		cJSON_AddStringToObject(e, "state_topic", b->availability);
		cJSON_AddStringToObject(e, "payload_on", PROTO_ONLINE);
		cJSON_AddStringToObject(e, "payload_off", PROTO_OFFLINE);
		cJSON_AddStringToObject(e, "device_class", "connectivity");
		cJSON_AddStringToObject(e, "entity_category", "diagnostic");
	}
	ha_publish_entity(service_mqtt(b->svc), &b->ha, "binary_sensor", "bridge", e);
}

const char *bridge_backend(void *app)
{
	const struct bridge_app *b = app;
	return b->tls ? "https" : "http";
}

void bridge_on_message(void *app, const struct mqttc_message *msg)
{
	struct bridge_app *b = app;
	const char *for_prop = mqttc_message_prop(msg, "for");
	if (b->writer && rwriter_wants(b->site, msg->topic, for_prop) &&
	    rwriter_push(b->writer, msg->topic, msg->payload, msg->len, for_prop,
			 msg->received_ms) == 1)
		log_warn("records: the writer's queue is full: messages are dropped "
			 "(iod_bridge_records_dropped_total) until it takes them again");
	server_on_mqtt(b->server, msg->topic, msg->payload, msg->len, msg->received_ms);
}

void bridge_on_connected(void *app)
{
	struct bridge_app *b = app;
	server_set_broker(b->server, true);
}

void bridge_on_disconnected(void *app)
{
	struct bridge_app *b = app;
	server_set_broker(b->server, false);
}

int bridge_records_path(const struct cfg *cfg, char *buf, size_t size)
{
	const char *set = cfg_str(cfg, "IOD_RECORDS_PATH");
	int n = set ? snprintf(buf, size, "%s", set)
		    : snprintf(buf, size, "%s/records.db", cfg_str(cfg, "IOD_DATA_DIR"));
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The records store: its writer thread and the readers' pool. Whatever
 * fails, the bridge goes on without it (the dashboard still works; the
 * records API answers 503), so this returns nothing. */
static void open_records(struct bridge_app *b, const struct cfg *cfg)
{
	if (!cfg_bool(cfg, "IOD_RECORDS")) {
		log_info("records: off (IOD_RECORDS=0)");
		return;
	}
	char path[4096];
	if (bridge_records_path(cfg, path, sizeof(path)) < 0) {
		log_error("records: IOD_RECORDS_PATH is too long: the store is off");
		return;
	}
	struct rwriter_config rc = {
	    .path = path,
	    .site = b->site,
	    .max_bytes = cfg_int(cfg, "IOD_RECORDS_MAX_MB") * 1024 * 1024,
	    .now_ms = wall_ms,
	    .session_idle_ms = cfg_duration_ms(cfg, "IOD_BRIDGE_SESSION_IDLE"),
	};
	struct records_opened opened = {0};
	struct records_err err = {{0}};
	int e = rwriter_open(&rc, &b->writer, &opened, &err);
	if (e < 0) {
		if (e == -EPROTO)
			log_error(
			    "records: %s: %s. This bridge is older than the store: the store "
			    "is off (the records API answers 503), the dashboard still works; "
			    "run the newer iod-bridge",
			    path, err.msg);
		else
			log_error("records: cannot open %s: %s: the store is off", path, err.msg);
		return;
	}
	if (opened.recovered) {
		log_error("records: %s could not be used (%s): moved aside to %s, a fresh store "
			  "was started",
			  path, opened.reason, opened.moved_to);
		service_alert(service_mqtt(b->svc), b->site, "bridge", PROTO_LEVEL_CRITICAL,
			      "records_recovered",
			      "the records store could not be used (%s); it was moved aside to %s "
			      "and a fresh one started",
			      opened.reason, opened.moved_to);
	}
	b->records = rhttp_new(service_loop(b->svc), path, b->site);
	if (!b->records) {
		log_error("out of memory: the records API is off");
		return;
	}
	rhttp_set_writer(b->records, b->writer);
	log_info("records: %s (schema %d%s), bound %lld MB", path, opened.version_now,
		 opened.version_found == 0 ? ", new" : "",
		 (long long)cfg_int(cfg, "IOD_RECORDS_MAX_MB"));
}

int bridge_backup(const struct cfg *cfg, const char *dst)
{
	char path[4096];
	if (bridge_records_path(cfg, path, sizeof(path)) < 0) {
		fprintf(stderr, "iod-bridge: --backup: IOD_RECORDS_PATH is too long\n");
		return 1;
	}
	struct records_err err = {{0}};
	if (records_backup(path, dst, &err) < 0) {
		fprintf(stderr, "iod-bridge: --backup %s: %s\n", dst, err.msg);
		return 1;
	}
	struct stat st;
	long long size = stat(dst, &st) == 0 ? (long long)st.st_size : -1;
	printf("iod-bridge: backup of %s written to %s (%lld bytes)\n", path, dst, size);
	return 0;
}

/* auth's observer: each session change is queued for the store's writer
 * (logins, uses at most once a minute, logouts and evictions). */
static void on_session(void *arg, enum auth_session_event ev, const struct auth_session_info *i)
{
	struct bridge_app *b = arg;
	if (!b->writer)
		return;
	struct records_session s = {.user = i->user,
				    .role = i->role,
				    .created_ms = i->created_ms,
				    .last_used_ms = i->last_used_ms};
	memcpy(s.hash, i->hash, sizeof(s.hash));
	enum rwriter_session_op op = ev == AUTH_SESSION_CREATED	  ? RWRITER_SESSION_PUT
				     : ev == AUTH_SESSION_TOUCHED ? RWRITER_SESSION_TOUCH
								  : RWRITER_SESSION_DELETE;
	if (rwriter_session(b->writer, op, &s) == 1)
		log_warn("records: the writer's queue is full: a session change was not stored");
}

/* The sessions a previous run left in the store (issue 13), restored into
 * auth, so a restart logs nobody out. Read on a reader of our own: the
 * writer's connection is its thread's. */
static void restore_sessions(struct bridge_app *b, const struct cfg *cfg, int64_t idle_ms)
{
	char path[4096];
	struct records_options o = {.mode = RECORDS_READER, .session_idle_ms = idle_ms};
	struct records_err err = {{0}};
	struct records *r = NULL;
	struct records_sessions l = {0};
	if (!b->writer || bridge_records_path(cfg, path, sizeof(path)) < 0)
		return;
	int64_t now = wall_ms();
	if (records_open(path, &o, &r, NULL, &err) < 0 || records_sessions(r, now, &l, &err) < 0) {
		log_error("records: cannot read the sessions (everyone logs in again): %s",
			  err.msg);
		records_close(r);
		return;
	}
	size_t kept = 0;
	for (size_t i = 0; i < l.n; i++)
		kept +=
		    auth_session_restore(b->auth, l.rows[i].hash, l.rows[i].user, l.rows[i].role,
					 l.rows[i].created_ms, l.rows[i].last_used_ms, now) == 0;
	if (l.n)
		log_info("records: %zu session%s restored", kept, kept == 1 ? "" : "s");
	records_sessions_free(&l);
	records_close(r);
}

/* The state, the logins and the lws server from the settings. 0, or the
 * exit code. The server comes last: once it exists only the stop path may
 * end it (its uv handles close on the running loop). */
static int open_server(struct bridge_app *b, const struct cfg *cfg)
{
	const char *cert = cfg_str(cfg, "IOD_BRIDGE_TLS_CERT");
	const char *key = cfg_str(cfg, "IOD_BRIDGE_TLS_KEY");
	int rc = bridge_tls_check(cert, key);
	if (rc)
		return rc;
	b->tls = cert && key;
	struct bindaddr listen_at;
	if ((rc = bridge_bind_resolve(cfg_str(cfg, "IOD_BRIDGE_BIND"), &listen_at)))
		return rc;
	const char *password = cfg_str(cfg, "IOD_BRIDGE_PASSWORD");
	b->accounts = accounts_new(service_loop(b->svc), cfg_str(cfg, "IOD_DATA_DIR"), password);
	if (!b->accounts) {
		log_error("out of memory");
		return 1;
	}
	if (!password && !accounts_any(b->accounts))
		log_warn("IOD_BRIDGE_PASSWORD is not set and the users file has no account: "
			 "nobody can log in, commands are refused");
	else if (accounts_env_admin(b->accounts))
		log_info("users: admin logs in with IOD_BRIDGE_PASSWORD while the users file has "
			 "no admin");
	unsigned fd_limit = 0;
	unsigned max_clients =
	    bridge_raise_nofile((unsigned)cfg_int(cfg, "IOD_BRIDGE_MAX_CLIENTS"), &fd_limit);

	struct auth_config ac = {
	    .password = password,
	    .session_idle_ms = cfg_duration_ms(cfg, "IOD_BRIDGE_SESSION_IDLE"),
	    .max_failures = (unsigned)cfg_int(cfg, "IOD_BRIDGE_LOGIN_FAILURES"),
	    .hosts = cfg_str(cfg, "IOD_BRIDGE_HOSTS"),
	    .dashboard_url = b->ha.dashboard_url,
	    .on_session = on_session,
	    .on_session_arg = b,
	};
	b->auth = auth_new(&ac);
	if (!b->auth) {
		log_error("out of memory");
		return 1;
	}
	restore_sessions(b, cfg, ac.session_idle_ms);
	struct server_config svc = {
	    .site = b->site,
	    .bind = &listen_at,
	    .port = (int)cfg_int(cfg, "IOD_BRIDGE_PORT"),
	    .web_dir = bridge_pick_web_dir(cfg_str(cfg, "IOD_BRIDGE_WEB_DIR"), bridge_web_dirs,
					   bridge_n_web_dirs),
	    .tls_cert = cert,
	    .tls_key = key,
	    .public_view = cfg_bool(cfg, "IOD_BRIDGE_PUBLIC_VIEW"),
	    .metrics_public = cfg_bool(cfg, "IOD_BRIDGE_METRICS_PUBLIC"),
	    .max_clients = max_clients,
	    .fd_limit = fd_limit,
	    .queue_slack = (unsigned)cfg_int(cfg, "IOD_BRIDGE_QUEUE_SLACK"),
	    .max_topics = (size_t)cfg_int(cfg, "IOD_BRIDGE_CACHE_TOPICS"),
	    .sites = b->sites,
	    .auth = b->auth,
	    .accounts = b->accounts,
	    .mqtt = service_mqtt(b->svc),
	    .records = b->records,
	};
	b->server = server_new(service_loop(b->svc), &svc);
	return b->server ? 0 : 1;
}

void *bridge_create(struct service *svc, int *exit_code)
{
	const struct cfg *cfg = service_cfg(svc);
	struct bridge_app *b = calloc(1, sizeof(*b));
	if (!b) {
		log_error("out of memory");
		*exit_code = 1;
		return NULL;
	}
	b->svc = svc;
	b->site = service_site(svc);
	b->ha = (struct ha_device){
	    .site = b->site,
	    .service = "bridge",
	    .dashboard_url = ha_dashboard_url(cfg, b->dashboard_url, sizeof(b->dashboard_url)),
	};
	*exit_code = 0;
	struct state_config sc = {
	    .headroom = server_headroom(), /* LWS_PRE lives in server.c */
	    .max_topics = (size_t)cfg_int(cfg, "IOD_BRIDGE_CACHE_TOPICS"),
	    .max_json_payload = PROTO_MAX_PAYLOAD,
	    .max_frame_bytes = STATE_FRAME_MAX,
	};
	b->sites = sites_new(cfg_str(cfg, "IOD_BRIDGE_SITES"), b->site, &sc);
	if (!b->sites) {
		log_error("out of memory");
		*exit_code = 1;
	} else if (proto_topic_availability(b->availability, sizeof(b->availability), b->site,
					    "bridge") < 0) {
		*exit_code = 1;
	} else {
		open_records(b, cfg);
	}
	/* Every home's topics (sites.h): one filter per listed site, or
	 * iod/+/#; and the bridge's own IOD_SITE for the records store when
	 * it is not among them. */
	for (size_t i = 0; !*exit_code && i < sites_n_filters(b->sites); i++)
		if (mqttc_subscribe(service_mqtt(svc), sites_filter(b->sites, i), 1, false) < 0)
			*exit_code = 1;
	if (!*exit_code && b->writer && !sites_find(b->sites, b->site) && !sites_any(b->sites)) {
		char filter[PROTO_TOPIC_MAX];
		if (proto_topic(filter, sizeof(filter), b->site, "#", NULL) < 0 ||
		    mqttc_subscribe(service_mqtt(svc), filter, 1, false) < 0)
			*exit_code = 1;
	}
	if (!*exit_code) {
		log_info("serving %s (IOD_BRIDGE_SITES)",
			 sites_any(b->sites)	      ? "every site under iod/+/#"
			 : sites_count(b->sites) == 1 ? sites_at(b->sites, 0)->name
						      : "the listed sites");
		*exit_code = open_server(b, cfg);
	}
	if (*exit_code) {
		bridge_destroy(b);
		return NULL;
	}
	return b;
}

static void on_mqtt_stopped(uv_timer_t *t)
{
	struct bridge_app *b = t->data;
	uv_close((uv_handle_t *)t, NULL);
	server_stop(b->server);
}

/*
 * The stop path's share (the skeleton's def->stop). Producers first: the
 * skeleton's mqttc_stop, right after this returns, publishes `offline` and
 * disconnects (blocking the loop), and only on the loop's next turn does
 * the lws context close every client; its uv handles then close while the
 * loop runs dry. With no connection there is no `offline` to wait for (a
 * start that failed, the broker away): the context closes now.
 */
void bridge_stop(void *app)
{
	struct bridge_app *b = app;
	struct mqttc *mqtt = service_mqtt(b->svc);
	accounts_stop(b->accounts);
	server_set_mqtt(b->server, NULL); /* freed once MQTT has stopped */
	if (mqtt && mqttc_is_connected(mqtt) &&
	    uv_timer_init(service_loop(b->svc), &b->mqtt_stopped) == 0) {
		b->mqtt_stopped.data = b;
		uv_timer_start(&b->mqtt_stopped, on_mqtt_stopped, 0, 0);
		return;
	}
	server_stop(b->server);
}

/* After the loop has run dry: lws' second destruction step, then what the
 * server borrowed. */
void bridge_destroy(void *app)
{
	struct bridge_app *b = app;
	if (!b)
		return;
	server_free(b->server);
	rhttp_free(b->records);
	rwriter_close(b->writer);
	auth_free(b->auth);
	accounts_free(b->accounts);
	sites_free(b->sites);
	free(b);
}

const struct service_def bridge_service = {
    .name = "bridge",
    .options = bridge_options,
    .n_options = sizeof(bridge_options) / sizeof(bridge_options[0]),
    .session_expiry_s = 0,
    .queue_limit = 4096,
    .max_payload = STATE_FRAME_MAX, /* what cannot be forwarded is not read (state.h) */
    .create = bridge_create,
    .stop = bridge_stop,
    .destroy = bridge_destroy,
    .on_message = bridge_on_message,
    .on_connected = bridge_on_connected,
    .on_disconnected = bridge_on_disconnected,
    .publish_discovery = bridge_publish_discovery,
    .backend = bridge_backend,
};
