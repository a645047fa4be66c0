#include "metrics.h"

#include "jbuf.h"

#include <inttypes.h>

static void one(struct jbuf *b, const char *name, const char *type, const char *help,
		uint64_t value)
{
	jbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name,
		    value);
}

char *metrics_render(const struct bridge_metrics *m)
{
	struct jbuf b;
	jbuf_init(&b);
	one(&b, "iod_bridge_clients", "gauge", "Websocket clients connected.", m->clients);
	one(&b, "iod_bridge_clients_max", "gauge", "Websocket clients allowed.", m->clients_max);
	one(&b, "iod_bridge_clients_refused_total", "counter",
	    "Websocket upgrades refused (no session, bad origin, full).", m->clients_refused);
	one(&b, "iod_bridge_clients_dropped_slow_total", "counter",
	    "Clients closed because their bounded queue overflowed.", m->clients_dropped_slow);
	one(&b, "iod_bridge_frames_sent_total", "counter", "Websocket frames written to clients.",
	    m->frames_sent);
	one(&b, "iod_bridge_frames_coalesced_total", "counter",
	    "Pending frames replaced by a newer one for the same topic.", m->frames_coalesced);
	jbuf_printf(
	    &b,
	    "# HELP iod_bridge_frames_coalesced_reason_total Pending frames replaced, by why "
	    "the client was coalesced.\n"
	    "# TYPE iod_bridge_frames_coalesced_reason_total counter\n"
	    "iod_bridge_frames_coalesced_reason_total{reason=\"behind\"} %" PRIu64 "\n"
	    "iod_bridge_frames_coalesced_reason_total{reason=\"queue_full\"} %" PRIu64 "\n",
	    m->frames_coalesced_behind, m->frames_coalesced_full);
	one(&b, "iod_bridge_frames_direct_total", "counter",
	    "Frames written from the MQTT fan-out at once (nothing pending for the client).",
	    m->frames_direct);
	one(&b, "iod_bridge_frames_dropped_total", "counter",
	    "Frames not queued because a client queue was full.", m->frames_dropped);
	one(&b, "iod_bridge_mqtt_messages_total", "counter", "MQTT messages received.",
	    m->mqtt_messages);
	one(&b, "iod_bridge_mqtt_refused_total", "counter",
	    "MQTT messages not forwarded (too large, other site).", m->mqtt_refused);
	one(&b, "iod_bridge_mqtt_queue_dropped_total", "counter",
	    "MQTT messages dropped before the loop (over 4 MiB, queue full).",
	    m->mqtt_queue_dropped);
	one(&b, "iod_bridge_mqtt_connected", "gauge", "1 when connected to the broker.",
	    m->mqtt_connected);
	one(&b, "iod_bridge_mqtt_out_waiting", "gauge",
	    "Publishes waiting for the broker to take them.", m->mqtt_out_waiting);
	one(&b, "iod_bridge_mqtt_out_high_water", "gauge", "Most publishes ever waiting at once.",
	    m->mqtt_out_high_water);
	one(&b, "iod_bridge_mqtt_backpressure_total", "counter",
	    "Times the outgoing queue filled and commands were held back.", m->mqtt_backpressure);
	one(&b, "iod_bridge_mqtt_publish_refused_total", "counter",
	    "Publishes refused because 4096 were already waiting.", m->mqtt_publish_refused);
	jbuf_printf(&b,
		    "# HELP iod_bridge_commands_total Browser commands by result.\n"
		    "# TYPE iod_bridge_commands_total counter\n"
		    "iod_bridge_commands_total{result=\"accepted\"} %" PRIu64 "\n"
		    "iod_bridge_commands_total{result=\"refused\"} %" PRIu64 "\n",
		    m->commands_accepted, m->commands_refused);
	one(&b, "iod_bridge_queue_high_water", "gauge",
	    "Longest any client send queue has been (frames).", m->queue_high_water);
	jbuf_printf(&b,
		    "# HELP iod_bridge_logins_total Operator login attempts by result.\n"
		    "# TYPE iod_bridge_logins_total counter\n"
		    "iod_bridge_logins_total{result=\"ok\"} %" PRIu64 "\n"
		    "iod_bridge_logins_total{result=\"bad_password\"} %" PRIu64 "\n"
		    "iod_bridge_logins_total{result=\"rate_limited\"} %" PRIu64 "\n"
		    "iod_bridge_logins_total{result=\"no_password_set\"} %" PRIu64 "\n"
		    "iod_bridge_logins_total{result=\"rate_limited_global\"} %" PRIu64 "\n",
		    m->logins_ok, m->logins_bad_password, m->logins_rate_limited,
		    m->logins_no_password, m->logins_rate_limited_global);
	one(&b, "iod_bridge_sessions", "gauge", "Live operator sessions.", m->sessions);
	one(&b, "iod_bridge_cached_topics", "gauge", "Topics in the last-value cache.",
	    m->cached_topics);
	one(&b, "iod_bridge_sites", "gauge", "Homes this bridge serves (IOD_BRIDGE_SITES).",
	    m->sites);
	one(&b, "iod_bridge_sites_refused_total", "counter",
	    "Messages of a new site refused: IOD_BRIDGE_SITES=* serves 1024 sites at most.",
	    m->sites_refused);
	one(&b, "iod_bridge_site_clients_dropped_total", "counter",
	    "Dashboards closed because their user may no longer see that home.",
	    m->site_clients_dropped);
	one(&b, "iod_bridge_buffer_bytes", "gauge", "Bytes of shared frame buffers alive.",
	    m->buffer_bytes);
	one(&b, "iod_bridge_host_refused_total", "counter",
	    "Requests refused with 421: their Host is not one of IOD_BRIDGE_HOSTS (DNS rebinding).",
	    m->hosts_refused);
	one(&b, "iod_bridge_metrics_refused_total", "counter",
	    "GET /metrics refused: not from this machine, not the operator.", m->metrics_refused);
	one(&b, "iod_bridge_records_up", "gauge", "1 when the records store is open.",
	    m->records_up);
	one(&b, "iod_bridge_records_queued", "gauge", "Messages waiting for the records writer.",
	    m->records_queued);
	one(&b, "iod_bridge_records_written_total", "counter",
	    "Messages committed to the records store.", m->records_written);
	one(&b, "iod_bridge_records_dropped_total", "counter",
	    "Messages not kept because the records writer's queue was full.", m->records_dropped);
	one(&b, "iod_bridge_records_errors_total", "counter",
	    "Messages the records store refused (undecodable, out of bounds, failed batch).",
	    m->records_errors);
	one(&b, "iod_bridge_records_batches_total", "counter",
	    "Transactions the records writer committed.", m->records_batches);
	if (b.failed) {
		jbuf_free(&b);
		return NULL;
	}
	return b.data;
}
