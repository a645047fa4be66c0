/*
 * mqttc — the MQTT client every service uses, over Paho MQTTAsync (MQTT 5).
 *
 * Threads: Paho runs its callbacks on its own threads. mqttc copies every
 * incoming message into a bounded queue and wakes the libuv loop with
 * uv_async_send(); the message and connected callbacks below therefore run
 * on the loop thread and may touch service state freely. mqttc_publish() may
 * be called from the loop thread (it never blocks).
 *
 * Connection: mqttc_start() connects in the background and keeps trying
 * with back-off (1 s doubling to 30 s) until it succeeds; after that Paho's
 * automatic reconnect takes over with the same back-off. After every
 * (re)connect mqttc sets TCP_NODELAY on the connection (nodelay.h), subscribes again to
 * every filter given to mqttc_subscribe(), publishes the retained `online`
 * on the availability topic (after the subscriptions, so `online` means
 * "commands reach me now"), and then calls on_connected so the service can
 * republish its retained state.
 * The broker publishes the retained `offline` will if the process dies;
 * mqttc_stop() publishes `offline` itself before a clean disconnect.
 *
 * Settings come from the caller (struct mqttc_settings; every service fills
 * it from IOD_MQTT_URL, _USER, _PASSWORD, _CA_FILE, _CERT_FILE, _KEY_FILE
 * with mqttc_settings_from_cfg()); URLs as mqtt_url.h lists them. TLS
 * verifies the broker's certificate and host name, against the CA file or
 * else the system's CA store.
 *
 * Subscriptions are always made with retain-as-published. A publish may be
 * made before the first connect: Paho holds it until then. Log lines name the
 * broker URL without any user:password@ and never the password.
 *
 * Outgoing: every publish handed to Paho waits until it is done (written for
 * QoS 0, acknowledged by the broker for QoS 1) or has failed; mqttc counts
 * them (`out_waiting`). Paho never deletes one to make room: at
 * MQTTC_OUT_LIMIT waiting, mqttc_publish() refuses (-ENOBUFS, counted and
 * logged). A broker that takes few messages in flight (mosquitto's
 * max_inflight_messages) drains them more slowly than a flood of commands
 * makes them, so a service that answers what it receives applies
 * back-pressure: mqttc_has_room() before taking more, mqttc_pause() while
 * there is none, and on_drained to resume. Paused, incoming messages wait in
 * the bounded incoming queue, and what it cannot hold is reported through
 * on_dropped as before.
 */
#ifndef IOD_MQTTC_H
#define IOD_MQTTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cfg;

/* An MQTT 5 user property (name, value: UTF-8, NUL-terminated). iod uses
 * them where a payload must stay raw bytes, e.g. the camera's snapshot
 * carries `for` (which dose it shows) beside its JPEG. */
struct mqttc_prop {
	const char *name;
	const char *value;
};
/* User properties kept per message, in and out; an incoming message's
 * further ones, and any whose name or value holds a NUL byte, are left
 * out (logged at debug). */
#define MQTTC_PROPS_MAX 8

struct mqttc_message {
	const char *topic;   /* NUL-terminated */
	const void *payload; /* not NUL-terminated; payload[len] is 0 for convenience */
	size_t len;
	int qos;
	bool retained;	     /* the broker delivered it as retained (retain-as-published) */
	int64_t received_ms; /* wall clock when Paho's thread received it */
	const struct mqttc_prop *props; /* its user properties, in order (n_props) */
	size_t n_props;
};

/* The value of msg's first user property called name, or NULL. */
const char *mqttc_message_prop(const struct mqttc_message *msg, const char *name);

/* On the loop thread. The message is valid only during the call. */
typedef void (*mqttc_message_cb)(void *arg, const struct mqttc_message *msg);
/* On the loop thread, after each (re)connect and resubscribe. */
typedef void (*mqttc_connected_cb)(void *arg);
/* On the loop thread, once per loss of a connection that on_connected was
 * called for (connection lost, or the broker sent DISCONNECT); Paho is
 * already reconnecting. A blip seen in one go calls this before the
 * on_connected of the new connection. Not called by mqttc_stop(). */
typedef void (*mqttc_disconnected_cb)(void *arg);
/* On the loop thread, after incoming messages were dropped before reaching
 * on_message: `oversize` over max_payload, `queue_full` pushed out of the
 * full queue (oldest first) or not copied for want of memory. Counts since
 * the last call; last_topic is the topic of the latest one dropped. */
typedef void (*mqttc_dropped_cb)(void *arg, uint64_t oversize, uint64_t queue_full,
				 const char *last_topic);
/* On the loop thread, once per back-pressure episode: mqttc_has_room() said
 * no, and the waiting publishes have since fallen to MQTTC_OUT_LOW. */
typedef void (*mqttc_drained_cb)(void *arg);

/* Publishes handed to Paho and not yet done: mqttc_has_room() says no above
 * MQTTC_OUT_HIGH, on_drained comes at MQTTC_OUT_LOW, and mqttc_publish()
 * refuses at MQTTC_OUT_LIMIT (Paho's buffer, so Paho never drops one). */
#define MQTTC_OUT_HIGH	256
#define MQTTC_OUT_LOW	128
#define MQTTC_OUT_LIMIT 4096
/* Incoming messages held for the loop when a service sets no queue_limit. */
#define MQTTC_QUEUE_DEFAULT 1024

struct mqttc_options {
	const char *client_id;		/* stable id, e.g. "iod-feeder-home"; required */
	const char *availability_topic; /* will `offline`, retained `online`; NULL for none */
	int session_expiry_s;		/* 0: clean session; >0: broker keeps the session (and QoS 1
					 * messages for it) this long after a disconnect */
	size_t queue_limit;		/* incoming messages held for the loop (0:
					 * MQTTC_QUEUE_DEFAULT); when full the oldest
					 * is dropped and counted */
	size_t max_payload; /* larger incoming payloads are dropped and counted (0 = no limit) */
	mqttc_message_cb on_message;
	mqttc_connected_cb on_connected;
	mqttc_dropped_cb on_dropped;	       /* may be NULL; the stats count drops either way */
	mqttc_disconnected_cb on_disconnected; /* may be NULL */
	mqttc_drained_cb on_drained;	       /* may be NULL */
	void *arg;
};

struct mqttc_stats {
	uint64_t messages_in;
	uint64_t messages_dropped;  /* queue full */
	uint64_t messages_oversize; /* over max_payload */
	uint64_t publish_failed;    /* refused by Paho or by mqttc, or failed after */
	uint64_t publish_refused;   /* of those: MQTTC_OUT_LIMIT publishes were waiting */
	uint64_t connects;	    /* successful connects, first one included */
	size_t queue_high_water;
	size_t out_waiting;	       /* publishes handed to Paho, not yet done or failed */
	size_t out_high_water;	       /* the most out_waiting has been */
	uint64_t backpressure_engaged; /* times mqttc_has_room() said no (once per episode) */
};

/* Where the broker is and how to log in; mqttc_new() copies the strings. */
struct mqttc_settings {
	const char *url;		  /* required; the schemes are mqtt_url.h's */
	const char *user, *password;	  /* NULL: none; the password is never logged */
	const char *ca_file;		  /* TLS: CA (PEM); NULL: the system's store */
	const char *cert_file, *key_file; /* TLS client certificate and key (PEM), or NULL */
};

struct mqttc;

/* The shared IOD_MQTT_* settings (common/README.md) from cfg; the strings
 * stay cfg's. */
struct mqttc_settings mqttc_settings_from_cfg(const struct cfg *cfg);
/* Create a client for the broker in settings. NULL on error (logged). */
struct mqttc *mqttc_new(uv_loop_t *loop, const struct mqttc_settings *settings,
			const struct mqttc_options *opts);
/* Remember a subscription; made now if connected and after every reconnect.
 * no_local: do not deliver our own publishes back. */
int mqttc_subscribe(struct mqttc *m, const char *filter, int qos, bool no_local);
/* Start connecting in the background. 0 or negative. */
int mqttc_start(struct mqttc *m);
/* Publish a copy of payload. Connected or not, Paho holds it until it can
 * send it (at most MQTTC_OUT_LIMIT waiting, see above). 0, or negative if
 * the message was not taken (-ENOBUFS: the outgoing buffer is full). */
int mqttc_publish(struct mqttc *m, const char *topic, const void *payload, size_t len, int qos,
		  bool retain);
int mqttc_publish_str(struct mqttc *m, const char *topic, const char *text, int qos, bool retain);
/* mqttc_publish with MQTT 5 user properties (at most MQTTC_PROPS_MAX, each
 * name and value non-NULL; copied). -1 for more, or a NULL string. */
int mqttc_publish_props(struct mqttc *m, const char *topic, const void *payload, size_t len,
			int qos, bool retain, const struct mqttc_prop *props, size_t n_props);
bool mqttc_is_connected(const struct mqttc *m);
/* Loop thread. Whether n more publishes (n <= MQTTC_OUT_HIGH - MQTTC_OUT_LOW)
 * fit: true while out_waiting + n <= MQTTC_OUT_HIGH, or out_waiting is at
 * most MQTTC_OUT_LOW. A no engages back-pressure (counted once per episode):
 * on_drained follows when out_waiting falls to MQTTC_OUT_LOW. */
bool mqttc_has_room(struct mqttc *m, size_t n);
/* Loop thread. Paused, on_message is not called: incoming messages wait in
 * the incoming queue (queue_limit, oldest dropped and reported). May be
 * called from on_message: the message being handled is done, the next ones
 * wait. Resuming hands over what waited, in order, on a later loop turn. */
void mqttc_pause(struct mqttc *m, bool paused);
void mqttc_get_stats(const struct mqttc *m, struct mqttc_stats *out);
/* Publish retained `offline`, wait up to timeout_ms for it to be delivered,
 * disconnect. Blocks the calling (loop) thread; call at shutdown only. */
void mqttc_stop(struct mqttc *m, int timeout_ms);
/* Free after mqttc_stop(); closes the uv_async handle. Not from inside one
 * of this client's callbacks (every service frees it from its stop path). */
void mqttc_free(struct mqttc *m);

#endif
