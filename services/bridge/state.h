/*
 * state — what a newly connected browser needs, kept as the MQTT messages
 * flow through: the last value of every topic under iod/<site>/# (bounded),
 * an hour of history per sensor topic, the recent alerts and the latest
 * camera frame. It also serialises each incoming message once into the
 * websocket frame every client is sent (see bmsg.h).
 *
 * Frames (the bridge <-> browser protocol):
 *   text   {"topic":"iod/home/...","payload":<JSON value, or the text as a string>,"ts":ms}
 *   text   {"type":"history","topic":"...","points":[[ts_ms,value],...]}
 *   binary the raw JPEG of iod/<site>/camera/frame
 *
 * Pure (no network, no clock: times are passed in). Loop thread only.
 */
#ifndef IOD_BRIDGE_STATE_H
#define IOD_BRIDGE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bmsg;

#define STATE_ALERTS_MAX	 20
#define STATE_ALERT_AGE_MS	 (24LL * 3600 * 1000)
#define STATE_HISTORY_TOPICS_MAX 32
/* Topics in the last-value cache when IOD_BRIDGE_CACHE_TOPICS is not set:
 * its option's default is this number, spelled here only. */
#define STATE_TOPICS_DEFAULT 1024
/*
 * The biggest camera frame the bridge forwards, and so the biggest MQTT
 * payload it takes at all (its mqttc max_payload is this): a frame over it
 * is dropped by mqttc on Paho's thread, before it is copied and queued for
 * the loop, instead of being read whole only to be refused here (counted
 * in iod_bridge_mqtt_queue_dropped_total). 4 MiB holds any 1920x1080 JPEG,
 * even of pure noise at quality 100 (3.9 MiB, libturbojpeg 4:2:0); no
 * limit holds every frame iod-camera can make (4096x4096 noise is 9.6 MiB
 * at quality 75, over the 8 MiB the bridge once read). At most one frame
 * per client waits (coalesced), so this also bounds what a slow client
 * holds of the camera's frames.
 */
#define STATE_FRAME_MAX (4u * 1024 * 1024)
/* state_snapshot_batches() closes a batch once it holds this many bytes. */
#define STATE_BATCH_BYTES (64 * 1024)

struct state_config {
	const char *site;	 /* "home" */
	size_t headroom;	 /* bytes before every frame's payload (LWS_PRE) */
	size_t max_topics;	 /* last-value cache bound; 0 = STATE_TOPICS_DEFAULT */
	size_t max_json_payload; /* bigger non-camera payloads are refused; 0 = 16 KiB */
	size_t max_frame_bytes;	 /* bigger camera frames are refused; 0 = STATE_FRAME_MAX */
	size_t batch_bytes;	 /* state_snapshot_batches()' cut; 0 = STATE_BATCH_BYTES */
	/* Added to every topic's coalescing key, so the states of several
	 * sites (sites.h) never share a key: one overview client's queue holds
	 * frames of them all. */
	uint32_t key_base;
};

struct state_stats {
	size_t topics; /* cached topics */
	size_t history_topics;
	uint64_t refused_too_large;
	uint64_t refused_other; /* not under iod/<site>/ */
	uint64_t cache_full;	/* messages on a topic the full cache could not take */
	uint64_t batches_built; /* state_snapshot_batches() that had to build them anew */
};

struct state;

/* NULL on out-of-memory or a site no topic can be built from (empty, or
 * too long for PROTO_TOPIC_MAX). */
struct state *state_new(const struct state_config *cfg);
void state_free(struct state *s);

/*
 * Take one MQTT message: update the caches and return the frame to fan out
 * (a new reference the caller unrefs), or NULL when the message is not
 * forwarded (*why says why: "too_large", "not_site", "cleared", "nomem").
 * An empty payload clears a retained topic from the cache and is not sent.
 */
struct bmsg *state_ingest(struct state *s, const char *topic, const void *payload, size_t len,
			  int64_t received_ms, const char **why);

/*
 * Visit, in protocol order, what a new client gets between `hello` and
 * `ready`: every cached topic (insertion order), one history frame per sensor
 * topic, the alerts of the last 24 h (oldest first), the latest camera frame.
 * The visitor takes its own reference if it keeps one; returning nonzero
 * stops the walk (and state_snapshot returns that value).
 */
typedef int (*state_visit_cb)(void *arg, struct bmsg *m);
int state_snapshot(struct state *s, int64_t now_ms, state_visit_cb visit, void *arg);

/* The same without the history and the camera frame: what the overview of
 * many homes (the bridge's /ws?site=*) gets of each, every cached topic
 * and the alerts. */
int state_snapshot_values(struct state *s, int64_t now_ms, state_visit_cb visit, void *arg);

/*
 * The same frames in few messages, for the overview: each is
 * {"type":"batch","frames":[…]} whose elements are the frames
 * state_snapshot_values() visits, in its order, a message closed once it
 * holds batch_bytes; none when there is nothing. They are kept and shared
 * by every overview that connects until a cached topic or an alert of this
 * home changes, or an alert in them ages out. Visited as above; -1 when
 * out of memory (nothing visited).
 */
int state_snapshot_batches(struct state *s, int64_t now_ms, state_visit_cb visit, void *arg);

/* The latest camera frame (borrowed; NULL: none yet). */
struct bmsg *state_camera_frame(const struct state *s);

void state_get_stats(const struct state *s, struct state_stats *out);

/* Serialise one topic/payload pair as a {"topic","payload","ts"} frame
 * (exposed for tests and per-client frames). */
struct bmsg *state_encode_message(size_t headroom, const char *topic, const void *payload,
				  size_t len, int64_t ts_ms, uint32_t key);

#endif
