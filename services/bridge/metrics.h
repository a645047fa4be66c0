/*
 * metrics — the bridge's counters and their Prometheus text rendering for
 * GET /metrics. Pure; the server fills the struct, this only formats it.
 */
#ifndef IOD_BRIDGE_METRICS_H
#define IOD_BRIDGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct bridge_metrics {
	uint64_t clients;	       /* gauge: websocket clients now */
	uint64_t clients_max;	       /* gauge: configured bound */
	uint64_t clients_refused;      /* upgrades refused (auth, origin, full) */
	uint64_t clients_dropped_slow; /* closed because their queue overflowed */
	uint64_t frames_sent;
	uint64_t frames_coalesced;	  /* both reasons below */
	uint64_t frames_coalesced_behind; /* the client's queue was over its byte threshold */
	uint64_t frames_coalesced_full;	  /* the client's queue held its most entries */
	uint64_t frames_direct;		  /* of frames_sent: written from the fan-out at once */
	uint64_t frames_dropped;
	uint64_t mqtt_messages;	     /* MQTT messages taken in */
	uint64_t mqtt_refused;	     /* not forwarded: too large, not our site */
	uint64_t mqtt_queue_dropped; /* lost between Paho's thread and the loop */
	uint64_t mqtt_connected;     /* gauge 0/1 */
	uint64_t mqtt_out_waiting;   /* gauge: publishes waiting for the broker */
	uint64_t mqtt_out_high_water;
	uint64_t mqtt_backpressure; /* times the outgoing queue was full enough to pause */
	uint64_t mqtt_publish_refused;
	uint64_t commands_accepted;
	uint64_t commands_refused;
	uint64_t queue_high_water; /* the longest any client queue has been */
	uint64_t logins_ok, logins_bad_password, logins_rate_limited, logins_no_password;
	uint64_t sessions;		     /* gauge */
	uint64_t cached_topics;		     /* gauge, over every site */
	uint64_t sites;			     /* gauge: homes served (sites.h) */
	uint64_t sites_refused;		     /* new sites past SITES_MAX under "*" */
	uint64_t site_clients_dropped;	     /* pages of a home their user may no longer see */
	uint64_t buffer_bytes;		     /* gauge: shared frame buffers alive */
	uint64_t metrics_refused;	     /* GET /metrics from elsewhere than this machine */
	uint64_t logins_rate_limited_global; /* refused by the limit over every address */
	uint64_t hosts_refused;		     /* requests for a Host name not ours (421) */
	/* the records store (records_writer.h); all 0 when it is off */
	uint64_t records_up;	  /* gauge 0/1: the store is open */
	uint64_t records_queued;  /* gauge: messages waiting for the writer */
	uint64_t records_written; /* messages committed */
	uint64_t records_dropped; /* not queued: the writer's queue was full */
	uint64_t records_errors;  /* refused by a decoder or the store */
	uint64_t records_batches; /* transactions committed */
};

/* Prometheus text exposition (HELP/TYPE per metric). malloc'd, or NULL. */
char *metrics_render(const struct bridge_metrics *m);

#endif
