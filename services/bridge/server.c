/*
 * server.c — the bridge's libwebsockets context: creating it on the libuv
 * loop (bound to exactly IOD_BRIDGE_BIND), the one protocol ("iod.v1", also
 * bound to clients that name no subprotocol) and its callback, which hands
 * each reason to http.c, login.c (through http.c) or protocol.c, and the
 * two-step destruction. The MQTT side's entry points of server.h
 * (server_on_mqtt, server_set_broker) are protocol.c's: they feed its
 * clients.
 *
 * It decides nothing about a request or a message itself: the files it
 * dispatches to do (server_internal.h says which owns what). Loop thread
 * only.
 */
#include "server_internal.h"

#include "bindaddr.h"
#include "log.h"
#include "state.h"
#include "webcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The dashboard is ~0.3 MB with uPlot; room for it many times over. */
#define WEBCACHE_MAX_BYTES (32u << 20)
#define WEBCACHE_MAX_FILE  (8u << 20)

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct pss *pss = user;
	struct lws_context *ctx = lws_get_context(wsi);
	struct server *s = ctx ? lws_context_user(ctx) : NULL;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return http_request(s, wsi, pss, in);
	case LWS_CALLBACK_HTTP_BODY:
		return http_body(pss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http_body_done(s, wsi, pss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss || (!pss->file && !pss->body && !pss->resp && !pss->rwork && !pss->login))
			break;
		return http_writeable(wsi, pss);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss)
			http_free(pss);
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return ws_confirm_upgrade(s, wsi, in);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_filter(s, wsi, pss);
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(s, wsi, pss);
	case LWS_CALLBACK_CLOSED:
		ws_closed(s, pss);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(s, wsi, pss, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(s, wsi, pss);
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {PROTO_WS_SUBPROTOCOL, callback, sizeof(struct pss), PROTO_WS_MAX_MSG, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error("lws: %.*s", (int)n, line);
	else
		log_warn("lws: %.*s", (int)n, line);
}

struct server *server_new(uv_loop_t *loop, const struct server_config *cfg)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	/* Room for the whole snapshot (every cached topic, histories, alerts,
	 * frame, hello, ready) plus slack for per-client answers and events. */
	s->queue_max = (uint32_t)(cfg->max_topics + STATE_HISTORY_TOPICS_MAX + STATE_ALERTS_MAX +
				  4 + cfg->queue_slack);
	if (cfg->web_dir && *cfg->web_dir && !realpath(cfg->web_dir, s->web_root))
		s->web_root[0] = '\0';
	s->cache = webcache_new(WEBCACHE_MAX_BYTES, WEBCACHE_MAX_FILE);
	if (!s->cache) {
		free(s);
		return NULL;
	}

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	void *foreign_loops[1] = {loop};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.foreign_loops = foreign_loops;
	info.port = cfg->port;
	/* Exactly the address asked for: lws gets it numeric, and for IPv4 an
	 * IPv4-only vhost (see bindaddr.h for what lws does otherwise). */
	info.iface = cfg->bind->address;
	if (cfg->bind->family == AF_INET)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	char where[96];
	bindaddr_format(cfg->bind, cfg->port, where, sizeof(where));
	int probe = bindaddr_probe(cfg->bind, cfg->port);
	if (probe < 0) {
		if (probe == -EADDRNOTAVAIL)
			log_error("cannot listen on %s: this machine has no address %s "
				  "(IOD_BRIDGE_BIND)",
				  where, cfg->bind->address);
		else if (probe == -EADDRINUSE)
			log_error("cannot listen on %s: the port is in use (IOD_BRIDGE_PORT, "
				  "IOD_BRIDGE_BIND)",
				  where);
		else
			log_error("cannot listen on %s: %s (IOD_BRIDGE_PORT, IOD_BRIDGE_BIND)",
				  where, strerror(-probe));
		webcache_free(s->cache);
		free(s);
		return NULL;
	}
	info.protocols = protocols;
	info.user = s;
	info.pcontext = &s->ctx; /* lws clears it when the context is gone */
	info.fd_limit_per_thread = cfg->fd_limit;
	info.vhost_name = "iod-bridge";
	info.server_string = "iod-bridge";
	/* Dead peers are found by TCP keepalive in the kernel: no timers here. */
	info.ka_time = 60;
	info.ka_probes = 3;
	info.ka_interval = 10;
	if (cfg->tls_cert && *cfg->tls_cert && cfg->tls_key && *cfg->tls_key) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
		s->tls = true;
	}
	/* The vhost is created explicitly: lws_create_context() alone succeeds
	 * even when the port cannot be bound, and the bridge would then run
	 * without listening. */
	info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	s->ctx = lws_create_context(&info);
	if (!s->ctx || !lws_create_vhost(s->ctx, &info)) {
		log_error("cannot listen on %s: port in use or address not available "
			  "(IOD_BRIDGE_PORT, IOD_BRIDGE_BIND)",
			  where);
		if (s->ctx) {
			/* Let lws close its uv handles (nothing else is on the loop
			 * yet), then finish the destruction. */
			lws_context_destroy(s->ctx);
			uv_run(loop, UV_RUN_DEFAULT);
			if (s->ctx)
				lws_context_destroy(s->ctx);
		}
		webcache_free(s->cache);
		free(s);
		return NULL;
	}
	if (!s->web_root[0])
		log_warn("no web directory (IOD_BRIDGE_WEB_DIR): serving the API and /ws only");
	log_info("listening on %s://%s, web %s, public view %s", s->tls ? "https" : "http", where,
		 s->web_root[0] ? s->web_root : "none", cfg->public_view ? "on" : "off");
	return s;
}

size_t server_headroom(void)
{
	return LWS_PRE;
}

void server_set_mqtt(struct server *s, struct mqttc *mqtt)
{
	s->cfg.mqtt = mqtt;
}

/*
 * With a foreign loop, lws 4.1 destroys a context in two steps: the first
 * lws_context_destroy() closes the connections and starts closing its uv
 * handles; once the loop has run those close callbacks, a second call
 * frees the rest (and clears s->ctx through info.pcontext).
 */
void server_stop(struct server *s)
{
	if (!s || !s->ctx || s->stopping)
		return;
	s->stopping = true;
	lws_context_destroy(s->ctx);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	if (s->ctx)
		lws_context_destroy(s->ctx);
	if (s->ctx)
		lws_context_destroy(s->ctx);
	webcache_free(s->cache);
	free(s);
}
