/*
 * mqttc — MQTT client over Paho MQTTAsync, MQTT 5 (see mqttc.h).
 *
 * Two threads meet here. Paho's threads run the callbacks marked "Paho
 * thread": they only copy what they were given into fields guarded by
 * m->lock, then wake the loop with uv_async_send(). Everything else runs on
 * the loop thread, which is the only one that calls Paho's connect,
 * subscribe and disconnect, and the only one that calls the service back.
 * Paho's own rule — never connect, destroy or wait inside a Paho callback —
 * is therefore kept by construction.
 */
#include "mqttc.h"

#include "cfg.h"
#include "log.h"
#include "loop.h"
#include "mqtt_url.h"
#include "nodelay.h"
#include "proto.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MQTTC_BACKOFF_MIN_S	1
#define MQTTC_BACKOFF_MAX_S	30
#define MQTTC_KEEPALIVE_S	30
#define MQTTC_CONNECT_TIMEOUT_S 10
#define MQTTC_REASON_MAX	160
#define MQTTC_DROP_TOPIC_MAX	256
/* Publishes handed to Paho at once, until the broker's CONNACK names its
 * receive maximum (mosquitto: max_inflight_messages), and at most. */
#define MQTTC_WINDOW_DEFAULT 10
#define MQTTC_WINDOW_MAX     64

/* One incoming message, copied on Paho's thread: payload then topic in data[]. */
struct mqttc_item {
	struct mqttc_item *next;
	size_t len;
	int qos;
	bool retained;
	int64_t received_ms;
	char *topic;
	size_t n_props; /* user properties: n_props "name\0value\0" pairs at props */
	char *props;
	char data[];
};

/* One publish waiting in mqttc for its turn to go to Paho: payload then
 * topic in data[] (see publish_raw). */
struct mqttc_out {
	struct mqttc_out *next;
	size_t len;
	int qos;
	bool retain;
	char *topic;
	size_t n_props; /* as in mqttc_item */
	char *props;
	char data[];
};

struct mqttc_sub {
	struct mqttc_sub *next;
	int qos;
	bool no_local;
	char filter[];
};

struct mqttc {
	uv_loop_t *loop;
	uv_async_t wake;  /* Paho thread -> loop */
	uv_timer_t retry; /* initial-connect back-off */
	int open_handles; /* wake + retry until both close callbacks ran */

	MQTTAsync client;
	char *url;
	char *log_url; /* url without any user:password@ */
	char *client_id;
	char *availability_topic;
	char *user;
	char *password;
	char *ca_file, *cert_file, *key_file;
	bool tls;
	int broker_port;       /* from the URL; -1 if it names none that is valid */
	char broker_host[256]; /* from the URL, for nodelay; "" if too long */
	int session_expiry_s;
	size_t queue_limit;
	size_t max_payload;
	mqttc_message_cb on_message;
	mqttc_connected_cb on_connected;
	mqttc_dropped_cb on_dropped;
	mqttc_disconnected_cb on_disconnected;
	mqttc_drained_cb on_drained;
	void *arg;

	MQTTAsync_connectOptions conn_opts;
	MQTTAsync_willOptions will_opts;
	MQTTAsync_SSLOptions ssl_opts;
	MQTTProperties conn_props;

	struct mqttc_sub *subs;
	struct mqttc_out *out_head, *out_tail; /* publishes not yet handed to Paho */
	int backoff_s;
	bool started;
	bool stopped;
	bool ever_connected;
	bool up_reported; /* on_connected ran for the current connection */
	bool connect_failure_logged;
	bool paused;   /* mqttc_pause(): incoming messages wait in the queue */
	bool refusing; /* publishes refused at MQTTC_OUT_LIMIT; logged once */

	/* Guarded by lock: written on Paho's threads, read on the loop. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closing; /* no more uv_async_send */
	bool connected;
	unsigned pending_connects; /* connected callbacks not yet handled */
	bool pending_lost;
	char lost_cause[MQTTC_REASON_MAX];
	bool pending_connect_failed;
	char connect_failure[MQTTC_REASON_MAX];
	bool pending_disconnected; /* the server sent DISCONNECT */
	int disconnect_reason;
	bool offline_done;    /* mqttc_stop's `offline` acknowledged (or failed) */
	bool disconnect_done; /* mqttc_stop's disconnect completed */
	struct mqttc_item *q_head, *q_tail;
	size_t q_len;
	uint64_t unreported_oversize, unreported_queue_full; /* for on_dropped */
	char last_drop_topic[MQTTC_DROP_TOPIC_MAX];
	bool pressure;		  /* mqttc_has_room() said no; waiting for MQTTC_OUT_LOW */
	bool pending_drained;	  /* ... and it came: on_drained to call */
	size_t window;		  /* publishes Paho may hold: the broker's receive maximum */
	size_t in_paho;		  /* handed to Paho, not yet done */
	size_t out_queued;	  /* in out_head..out_tail */
	struct mqttc_stats stats; /* stats.out_waiting = in_paho + out_queued */
};

static void on_wake(uv_async_t *handle);

/* Remember a dropped message's topic for on_dropped. Caller holds m->lock. */
static void note_drop_locked(struct mqttc *m, const char *topic, size_t tlen)
{
	if (tlen >= sizeof(m->last_drop_topic))
		tlen = sizeof(m->last_drop_topic) - 1;
	memcpy(m->last_drop_topic, topic, tlen);
	m->last_drop_topic[tlen] = '\0';
}
static void start_connect(struct mqttc *m);

/* ---- small helpers ------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void copy_reason(char *dst, const char *text, int code)
{
	if (text && *text)
		snprintf(dst, MQTTC_REASON_MAX, "%s", text);
	else
		snprintf(dst, MQTTC_REASON_MAX, "%s (%d)", MQTTAsync_strerror(code), code);
}

/* Wake the loop unless the client is being freed. Caller holds m->lock. */
static void wake_locked(struct mqttc *m)
{
	if (!m->closing)
		uv_async_send(&m->wake);
}

/* ---- user properties ------------------------------------------------------ */

/* User properties travel with a message as "name\0value\0" pairs after its
 * topic, so an item or a waiting publish stays one allocation. */
static size_t props_packed_size(const struct mqttc_prop *props, size_t n)
{
	size_t size = 0;
	for (size_t i = 0; i < n; i++)
		size += strlen(props[i].name) + 1 + strlen(props[i].value) + 1;
	return size;
}

static void props_pack(char *dst, const struct mqttc_prop *props, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(props[i].name) + 1, b = strlen(props[i].value) + 1;
		memcpy(dst, props[i].name, a);
		memcpy(dst + a, props[i].value, b);
		dst += a + b;
	}
}

/* The packed pairs as an array (points into packed). Returns n. */
static size_t props_unpack(const char *packed, size_t n, struct mqttc_prop *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i].name = packed;
		packed += strlen(packed) + 1;
		out[i].value = packed;
		packed += strlen(packed) + 1;
	}
	return n;
}

/* Paho thread: which of an incoming message's properties are user
 * properties mqttc keeps (MQTTC_PROPS_MAX, no NUL byte inside), and the
 * bytes they pack into. */
static bool user_prop_kept(const MQTTProperty *p)
{
	const MQTTLenString *name = &p->value.data, *value = &p->value.value;
	return p->identifier == MQTTPROPERTY_CODE_USER_PROPERTY && name->len >= 0 &&
	       value->len >= 0 &&
	       (name->len == 0 || !memchr(name->data, '\0', (size_t)name->len)) &&
	       (value->len == 0 || !memchr(value->data, '\0', (size_t)value->len));
}

static size_t incoming_props(const MQTTProperties *props, size_t *packed_size, size_t *skipped)
{
	size_t n = 0;
	*packed_size = 0;
	*skipped = 0;
	for (int i = 0; i < props->count; i++) {
		const MQTTProperty *p = &props->array[i];
		if (p->identifier != MQTTPROPERTY_CODE_USER_PROPERTY)
			continue;
		if (n == MQTTC_PROPS_MAX || !user_prop_kept(p)) {
			(*skipped)++;
			continue;
		}
		*packed_size += (size_t)p->value.data.len + 1 + (size_t)p->value.value.len + 1;
		n++;
	}
	return n;
}

static void incoming_props_pack(const MQTTProperties *props, char *dst, size_t n)
{
	for (int i = 0; i < props->count && n > 0; i++) {
		const MQTTProperty *p = &props->array[i];
		if (!user_prop_kept(p))
			continue;
		if (p->value.data.len)
			memcpy(dst, p->value.data.data, (size_t)p->value.data.len);
		dst += p->value.data.len;
		*dst++ = '\0';
		if (p->value.value.len)
			memcpy(dst, p->value.value.data, (size_t)p->value.value.len);
		dst += p->value.value.len;
		*dst++ = '\0';
		n--;
	}
}

const char *mqttc_message_prop(const struct mqttc_message *msg, const char *name)
{
	if (!msg || !name)
		return NULL;
	for (size_t i = 0; i < msg->n_props; i++)
		if (strcmp(msg->props[i].name, name) == 0)
			return msg->props[i].value;
	return NULL;
}

/* ---- Paho thread callbacks ---------------------------------------------- */

/* Paho thread. Copy topic and payload, queue, wake the loop, return 1 (the
 * message is ours; Paho's copy is freed here). */
static int on_message_arrived(void *context, char *topic_name, int topic_len,
			      MQTTAsync_message *msg)
{
	struct mqttc *m = context;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic_name);
	size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	struct mqttc_item *it = NULL;
	bool oversize = m->max_payload > 0 && plen > m->max_payload;
	char drop_topic[MQTTC_DROP_TOPIC_MAX];
	size_t drop_tlen = tlen < sizeof(drop_topic) ? tlen : sizeof(drop_topic) - 1;

	/* Paho's topic is freed below; keep what a drop report needs. */
	memcpy(drop_topic, topic_name, drop_tlen);

	size_t props_size, props_skipped;
	size_t n_props = incoming_props(&msg->properties, &props_size, &props_skipped);

	if (props_skipped)
		log_debug("'%.*s': %zu user propert%s left out (over %d, or holding a NUL byte)",
			  (int)drop_tlen, drop_topic, props_skipped,
			  props_skipped == 1 ? "y" : "ies", MQTTC_PROPS_MAX);
	if (!oversize) {
		it = malloc(sizeof(*it) + plen + 1 + tlen + 1 + props_size);
		if (it) {
			it->next = NULL;
			it->len = plen;
			it->qos = msg->qos;
			it->retained = msg->retained != 0;
			it->received_ms = loop_wall_ms();
			if (plen)
				memcpy(it->data, msg->payload, plen);
			it->data[plen] = '\0';
			it->topic = it->data + plen + 1;
			memcpy(it->topic, topic_name, tlen);
			it->topic[tlen] = '\0';
			it->props = it->topic + tlen + 1;
			it->n_props = n_props;
			incoming_props_pack(&msg->properties, it->props, n_props);
		}
	}
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic_name);

	pthread_mutex_lock(&m->lock);
	m->stats.messages_in++;
	if (oversize) {
		m->stats.messages_oversize++;
		if (!m->closing) {
			m->unreported_oversize++;
			note_drop_locked(m, drop_topic, drop_tlen);
			wake_locked(m);
		}
	} else if (!it || m->closing) {
		m->stats.messages_dropped++;
		free(it);
		if (!m->closing) {
			m->unreported_queue_full++;
			note_drop_locked(m, drop_topic, drop_tlen);
			wake_locked(m);
		}
	} else {
		if (m->q_len >= m->queue_limit) {
			struct mqttc_item *old = m->q_head;
			m->q_head = old->next;
			if (!m->q_head)
				m->q_tail = NULL;
			m->q_len--;
			m->stats.messages_dropped++;
			m->unreported_queue_full++;
			note_drop_locked(m, old->topic, strlen(old->topic));
			free(old);
		}
		if (m->q_tail)
			m->q_tail->next = it;
		else
			m->q_head = it;
		m->q_tail = it;
		m->q_len++;
		if (m->q_len > m->stats.queue_high_water)
			m->stats.queue_high_water = m->q_len;
		wake_locked(m);
	}
	pthread_mutex_unlock(&m->lock);
	return 1;
}

/* Paho thread: a connect succeeded (the first or an automatic reconnect). */
static void on_connected_paho(void *context, char *cause)
{
	struct mqttc *m = context;

	(void)cause;
	pthread_mutex_lock(&m->lock);
	m->connected = true;
	m->pending_connects++;
	m->stats.connects++;
	wake_locked(m);
	pthread_mutex_unlock(&m->lock);
}

/* Paho thread: the connection dropped; Paho reconnects by itself. */
static void on_connection_lost(void *context, char *cause)
{
	struct mqttc *m = context;

	pthread_mutex_lock(&m->lock);
	m->connected = false;
	if (!m->pending_lost) {
		m->pending_lost = true;
		snprintf(m->lost_cause, sizeof(m->lost_cause), "%s",
			 cause && *cause ? cause : "connection closed");
	}
	wake_locked(m);
	pthread_mutex_unlock(&m->lock);
}

/* Paho thread: the broker sent an MQTT 5 DISCONNECT. */
static void on_disconnected_paho(void *context, MQTTProperties *props, enum MQTTReasonCodes rc)
{
	struct mqttc *m = context;

	(void)props;
	pthread_mutex_lock(&m->lock);
	m->connected = false;
	m->pending_disconnected = true;
	m->disconnect_reason = (int)rc;
	wake_locked(m);
	pthread_mutex_unlock(&m->lock);
}

/* Paho thread: a connect succeeded (the first, or one of mqttc's initial
 * retries; Paho's automatic reconnects do not call this). The broker's
 * receive maximum bounds what Paho may hold (see publish_raw). */
static void on_connect_ok(void *context, MQTTAsync_successData5 *resp)
{
	struct mqttc *m = context;
	size_t window = 65535;

	if (resp &&
	    MQTTProperties_hasProperty(&resp->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM))
		window = (size_t)MQTTProperties_getNumericValue(&resp->properties,
								MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
	if (window < 1)
		window = 1;
	if (window > MQTTC_WINDOW_MAX)
		window = MQTTC_WINDOW_MAX;
	pthread_mutex_lock(&m->lock);
	m->window = window;
	if (m->out_queued > 0)
		wake_locked(m);
	pthread_mutex_unlock(&m->lock);
}

/* Paho thread: an initial connect failed; the loop schedules the retry. */
static void on_connect_failure(void *context, MQTTAsync_failureData5 *resp)
{
	struct mqttc *m = context;

	pthread_mutex_lock(&m->lock);
	m->pending_connect_failed = true;
	if (resp && resp->reasonCode >= MQTTREASONCODE_UNSPECIFIED_ERROR)
		snprintf(m->connect_failure, sizeof(m->connect_failure), "refused: %s (reason %d)",
			 MQTTReasonCode_toString(resp->reasonCode), (int)resp->reasonCode);
	else if (resp && resp->code >= MQTTREASONCODE_UNSPECIFIED_ERROR)
		/* An MQTT 5 CONNACK refusal: Paho puts the reason code here. */
		snprintf(m->connect_failure, sizeof(m->connect_failure), "refused: %s (reason %d)",
			 MQTTReasonCode_toString((enum MQTTReasonCodes)resp->code), resp->code);
	else
		copy_reason(m->connect_failure, resp ? resp->message : NULL,
			    resp ? resp->code : MQTTASYNC_FAILURE);
	wake_locked(m);
	pthread_mutex_unlock(&m->lock);
}

/* A publish handed to Paho is done, either way. Caller holds m->lock. After
 * back-pressure engaged, falling to the low-water mark wakes the loop for
 * on_drained. */
static void publish_done_locked(struct mqttc *m)
{
	if (m->in_paho > 0) {
		m->in_paho--;
		m->stats.out_waiting--;
	}
	if (m->out_queued > 0)
		wake_locked(m); /* the loop hands the next one to Paho */
	if (m->pressure && m->stats.out_waiting <= MQTTC_OUT_LOW) {
		m->pressure = false;
		m->pending_drained = true;
		wake_locked(m);
	}
}

/*
 * Paho thread: a publish is done — written to the socket (QoS 0) or
 * acknowledged by the broker (QoS 1). Paho 1.3.12 calls exactly one of
 * onSuccess/onFailure for each publish it took: onFailure when the write
 * fails, when a clean session (or one the broker no longer has) discards the
 * in-flight ones, and for what is still queued at MQTTAsync_destroy().
 */
static void on_publish_ok(void *context, MQTTAsync_successData5 *resp)
{
	struct mqttc *m = context;

	(void)resp;
	pthread_mutex_lock(&m->lock);
	publish_done_locked(m);
	pthread_mutex_unlock(&m->lock);
}

/* Paho thread: a publish was not delivered. */
static void on_publish_failure(void *context, MQTTAsync_failureData5 *resp)
{
	struct mqttc *m = context;

	(void)resp;
	pthread_mutex_lock(&m->lock);
	m->stats.publish_failed++;
	publish_done_locked(m);
	pthread_mutex_unlock(&m->lock);
}

/* Paho thread: a subscription was refused. The context is the mqttc_sub,
 * which lives until mqttc_free(), after Paho is destroyed. */
static void on_subscribe_failure(void *context, MQTTAsync_failureData5 *resp)
{
	struct mqttc_sub *sub = context;

	log_warn("subscribe '%s' refused: %s (reason %d, code %d)", sub->filter,
		 resp ? MQTTReasonCode_toString(resp->reasonCode) : "?",
		 resp ? (int)resp->reasonCode : -1, resp ? resp->code : -1);
}

/* Paho thread: one of mqttc_stop's steps finished, either way. */
static void signal_done(struct mqttc *m, bool *flag, bool failed)
{
	pthread_mutex_lock(&m->lock);
	*flag = true;
	if (flag == &m->offline_done) {
		if (failed)
			m->stats.publish_failed++;
		publish_done_locked(m);
	}
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void on_offline_ok(void *context, MQTTAsync_successData5 *resp)
{
	struct mqttc *m = context;

	(void)resp;
	signal_done(m, &m->offline_done, false);
}

static void on_offline_fail(void *context, MQTTAsync_failureData5 *resp)
{
	struct mqttc *m = context;

	(void)resp;
	signal_done(m, &m->offline_done, true);
}

static void on_disconnect_ok(void *context, MQTTAsync_successData5 *resp)
{
	struct mqttc *m = context;

	(void)resp;
	signal_done(m, &m->disconnect_done, false);
}

static void on_disconnect_fail(void *context, MQTTAsync_failureData5 *resp)
{
	struct mqttc *m = context;

	(void)resp;
	signal_done(m, &m->disconnect_done, false);
}

/* ---- loop thread ---------------------------------------------------------- */

static void subscribe_one(struct mqttc *m, struct mqttc_sub *sub)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;

	ro.context = sub;
	ro.onFailure5 = on_subscribe_failure;
	/* Always retain-as-published: a service must see the retained flag on
	 * live messages too (the feeder refuses retained commands). */
	ro.subscribeOptions.retainAsPublished = 1;
	ro.subscribeOptions.noLocal = sub->no_local ? 1 : 0;
	rc = MQTTAsync_subscribe(m->client, sub->filter, sub->qos, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		log_warn("subscribe '%s': %s", sub->filter, MQTTAsync_strerror(rc));
}

/* Hand a publish to Paho; it was counted in in_paho and out_waiting before
 * (its completion may run on Paho's thread before MQTTAsync_sendMessage()
 * returns). `last` marks mqttc_stop's `offline`, whose completion wakes the
 * waiting loop thread. */
static int paho_send(struct mqttc *m, const char *topic, const void *payload, size_t len, int qos,
		     bool retain, bool last, const struct mqttc_prop *props, size_t n_props)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTProperties mprops = MQTTProperties_initializer;
	int rc = MQTTASYNC_SUCCESS;

	ro.context = m;
	ro.onFailure5 = last ? on_offline_fail : on_publish_failure;
	ro.onSuccess5 = last ? on_offline_ok : on_publish_ok;
	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retain ? 1 : 0;
	for (size_t i = 0; i < n_props && rc == MQTTASYNC_SUCCESS; i++) {
		MQTTProperty p = {.identifier = MQTTPROPERTY_CODE_USER_PROPERTY};
		p.value.data.data = (char *)props[i].name;
		p.value.data.len = (int)strlen(props[i].name);
		p.value.value.data = (char *)props[i].value;
		p.value.value.len = (int)strlen(props[i].value);
		/* MQTTProperties_add copies the strings. */
		if (MQTTProperties_add(&mprops, &p) != 0)
			rc = MQTTASYNC_FAILURE;
	}
	msg.properties = mprops;
	/* Paho copies topic, payload and properties before it returns. */
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_sendMessage(m->client, topic, &msg, &ro);
	MQTTProperties_free(&mprops);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&m->lock);
		m->stats.publish_failed++;
		if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES)
			m->stats.publish_refused++;
		publish_done_locked(m);
		pthread_mutex_unlock(&m->lock);
		log_debug("publish '%s': %s", topic, MQTTAsync_strerror(rc));
		return rc == MQTTASYNC_MAX_BUFFERED_MESSAGES ? -ENOBUFS : -1;
	}
	return 0;
}

/*
 * Loop thread: hand waiting publishes to Paho, in order, while it holds
 * fewer than the window. all: every one (mqttc_stop, whose wait blocks the
 * loop that would otherwise hand them over).
 */
static void hand_off(struct mqttc *m, bool all)
{
	while (m->out_head) {
		struct mqttc_out *o = m->out_head;
		bool go;

		pthread_mutex_lock(&m->lock);
		go = all || m->in_paho < m->window;
		if (go) {
			m->in_paho++;
			m->out_queued--;
		}
		pthread_mutex_unlock(&m->lock);
		if (!go)
			return;
		m->out_head = o->next;
		if (!m->out_head)
			m->out_tail = NULL;
		struct mqttc_prop props[MQTTC_PROPS_MAX];
		size_t n_props = props_unpack(o->props, o->n_props, props);
		paho_send(m, o->topic, o->data, o->len, o->qos, o->retain, false, props, n_props);
		free(o);
	}
}

/*
 * Loop thread: publish, in order, without Paho ever dropping one. Paho
 * 1.3.12 holds a publish it cannot send yet (disconnected, or the broker's
 * receive maximum of QoS 1 messages in flight) in a buffer whose
 * deleteOldestMessages frees the oldest silently, and when the receive
 * maximum is reached its send thread is woken only by a new command or its
 * 1 s timeout: a flood would drain at 20 messages a second. So mqttc hands
 * Paho at most the broker's receive maximum at a time (the window) and keeps
 * the rest here, handing the next one over as each completes (on_wake).
 * At MQTTC_OUT_LIMIT waiting in all, a publish is refused (-ENOBUFS),
 * counted and logged once per episode. `last` (mqttc_stop's `offline`) goes
 * straight to Paho, after everything waiting.
 */
static int publish_raw(struct mqttc *m, const char *topic, const void *payload, size_t len, int qos,
		       bool retain, bool last, const struct mqttc_prop *props, size_t n_props)
{
	struct mqttc_out *o;
	uint64_t refused = 0;
	size_t tlen = strlen(topic);
	bool direct;

	if (len > (size_t)INT32_MAX)
		return -1;
	pthread_mutex_lock(&m->lock);
	if (!last && m->stats.out_waiting >= MQTTC_OUT_LIMIT) {
		m->stats.publish_failed++;
		m->stats.publish_refused++;
		refused = m->stats.publish_refused;
		pthread_mutex_unlock(&m->lock);
		if (!m->refusing)
			log_error("publish '%s' refused: %d publishes wait for %s already "
				  "(%llu refused in all)",
				  topic, MQTTC_OUT_LIMIT, m->log_url, (unsigned long long)refused);
		m->refusing = true;
		return -ENOBUFS;
	}
	m->stats.out_waiting++;
	if (m->stats.out_waiting > m->stats.out_high_water)
		m->stats.out_high_water = m->stats.out_waiting;
	direct = last || (m->out_queued == 0 && m->in_paho < m->window);
	if (direct)
		m->in_paho++;
	else
		m->out_queued++;
	pthread_mutex_unlock(&m->lock);
	if (m->refusing) {
		log_info("publishing to %s again", m->log_url);
		m->refusing = false;
	}
	if (direct)
		return paho_send(m, topic, payload, len, qos, retain, last, props, n_props);
	size_t props_size = props_packed_size(props, n_props);
	o = malloc(sizeof(*o) + len + 1 + tlen + 1 + props_size);
	if (!o) {
		pthread_mutex_lock(&m->lock);
		m->out_queued--;
		m->stats.out_waiting--;
		m->stats.publish_failed++;
		pthread_mutex_unlock(&m->lock);
		log_error("publish '%s': out of memory", topic);
		return -ENOMEM;
	}
	o->next = NULL;
	o->len = len;
	o->qos = qos;
	o->retain = retain;
	if (len)
		memcpy(o->data, payload, len);
	o->data[len] = '\0';
	o->topic = o->data + len + 1;
	memcpy(o->topic, topic, tlen + 1);
	o->props = o->topic + tlen + 1;
	o->n_props = n_props;
	props_pack(o->props, props, n_props);
	if (m->out_tail)
		m->out_tail->next = o;
	else
		m->out_head = o;
	m->out_tail = o;
	return 0;
}

/*
 * After every (re)connect: subscriptions first, then `online`, then the
 * service. The broker handles one connection's packets in order, so a
 * client that sees `online` and sends a command is already routed to us.
 */
static void handle_connected(struct mqttc *m)
{
	if (m->ever_connected)
		log_info("reconnected to %s", m->log_url);
	else
		log_info("connected to %s as %s", m->log_url, m->client_id);
	m->ever_connected = true;
	m->up_reported = true;
	m->connect_failure_logged = false;
	m->backoff_s = MQTTC_BACKOFF_MIN_S;
	/* Paho 1.3.12 sets no TCP_NODELAY (nodelay.h says why it matters). */
	if (m->broker_host[0] && m->broker_port > 0)
		nodelay_set_for_peer(m->broker_host, m->broker_port);
	for (struct mqttc_sub *s = m->subs; s; s = s->next)
		subscribe_one(m, s);
	if (m->availability_topic)
		publish_raw(m, m->availability_topic, PROTO_ONLINE, strlen(PROTO_ONLINE), 1, true,
			    false, NULL, 0);
	if (m->on_connected)
		m->on_connected(m->arg);
}

static void on_retry_timer(uv_timer_t *t)
{
	struct mqttc *m = t->data;

	if (!m->stopped)
		start_connect(m);
}

static void handle_connect_failed(struct mqttc *m, const char *why)
{
	if (m->stopped)
		return;
	if (m->ever_connected) {
		/* Paho's automatic reconnect reports each failed attempt through
		 * the same callback and retries by itself; the loss was logged. */
		log_debug("reconnect to %s failed: %s", m->log_url, why);
		return;
	}
	if (!m->connect_failure_logged) {
		log_warn("cannot connect to %s: %s; retrying with back-off up to %d s", m->log_url,
			 why, MQTTC_BACKOFF_MAX_S);
		m->connect_failure_logged = true;
	} else {
		log_debug("connect to %s failed: %s; next try in %d s", m->log_url, why,
			  m->backoff_s);
	}
	uv_timer_start(&m->retry, on_retry_timer, (uint64_t)m->backoff_s * 1000, 0);
	m->backoff_s *= 2;
	if (m->backoff_s > MQTTC_BACKOFF_MAX_S)
		m->backoff_s = MQTTC_BACKOFF_MAX_S;
}

/* Loop thread: the oldest waiting incoming message, taken out of the
 * queue (the caller frees it), or NULL. */
static struct mqttc_item *queue_pop(struct mqttc *m)
{
	struct mqttc_item *it;

	pthread_mutex_lock(&m->lock);
	it = m->q_head;
	if (it) {
		m->q_head = it->next;
		if (!m->q_head)
			m->q_tail = NULL;
		m->q_len--;
	}
	pthread_mutex_unlock(&m->lock);
	return it;
}

/*
 * The loop's side of the hand-over: status first, then the messages in
 * arrival order, taken from the queue one at a time so that mqttc_pause()
 * leaves the rest waiting there (still bounded by queue_limit). At most the
 * messages queued when it started are handed over: under a flood the loop
 * still turns (timers run) between batches, as every arrival wakes it again.
 * A callback may call mqttc_stop(); then nothing more is handed over.
 */
static void on_wake(uv_async_t *handle)
{
	struct mqttc *m = handle->data;
	size_t batch;
	unsigned connects;
	bool lost, failed, disconnected, drained;
	char lost_cause[MQTTC_REASON_MAX], failure[MQTTC_REASON_MAX];
	int disc_reason;
	uint64_t oversize, queue_full;
	char drop_topic[MQTTC_DROP_TOPIC_MAX];

	pthread_mutex_lock(&m->lock);
	oversize = m->unreported_oversize;
	queue_full = m->unreported_queue_full;
	memcpy(drop_topic, m->last_drop_topic, sizeof(drop_topic));
	m->unreported_oversize = m->unreported_queue_full = 0;
	connects = m->pending_connects;
	lost = m->pending_lost;
	failed = m->pending_connect_failed;
	disconnected = m->pending_disconnected;
	disc_reason = m->disconnect_reason;
	memcpy(lost_cause, m->lost_cause, sizeof(lost_cause));
	memcpy(failure, m->connect_failure, sizeof(failure));
	m->pending_connects = 0;
	m->pending_lost = m->pending_connect_failed = m->pending_disconnected = false;
	drained = m->pending_drained;
	m->pending_drained = false;
	batch = m->q_len;
	pthread_mutex_unlock(&m->lock);

	if (m->stopped)
		return;
	hand_off(m, false);
	if (disconnected)
		log_warn("broker %s sent DISCONNECT: %s (reason %d)", m->log_url,
			 MQTTReasonCode_toString((enum MQTTReasonCodes)disc_reason), disc_reason);
	if (lost)
		log_warn("connection to %s lost: %s; reconnecting", m->log_url, lost_cause);
	if (failed && !connects)
		handle_connect_failed(m, failure);
	if ((lost || disconnected) && m->up_reported) {
		m->up_reported = false;
		if (m->on_disconnected) {
			m->on_disconnected(m->arg);
			if (m->stopped)
				return;
		}
	}
	if (connects) {
		handle_connected(m);
		if (m->stopped)
			return;
	}
	if ((oversize || queue_full) && m->on_dropped) {
		m->on_dropped(m->arg, oversize, queue_full, drop_topic);
		if (m->stopped)
			return;
	}
	if (drained && m->on_drained) {
		m->on_drained(m->arg);
		if (m->stopped)
			return;
	}
	while (batch-- > 0 && !m->paused) {
		struct mqttc_item *it = queue_pop(m);
		if (!it)
			break;
		struct mqttc_message msg = {
		    .topic = it->topic,
		    .payload = it->data,
		    .len = it->len,
		    .qos = it->qos,
		    .retained = it->retained,
		    .received_ms = it->received_ms,
		};
		struct mqttc_prop props[MQTTC_PROPS_MAX];
		msg.n_props = props_unpack(it->props, it->n_props, props);
		msg.props = props;
		if (m->on_message)
			m->on_message(m->arg, &msg);
		free(it);
		if (m->stopped)
			return;
	}
}

/* ---- public API ------------------------------------------------------------ */

static void paho_global_init_once(void)
{
	MQTTAsync_init_options init = MQTTAsync_init_options_initializer;

	init.do_openssl_init = 0;
	MQTTAsync_global_init(&init);
}

static int setup_connect_options(struct mqttc *m)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_willOptions wo = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;

	m->conn_opts = co;
	m->will_opts = wo;
	m->ssl_opts = so;
	m->conn_props = props;

	m->conn_opts.keepAliveInterval = MQTTC_KEEPALIVE_S;
	m->conn_opts.connectTimeout = MQTTC_CONNECT_TIMEOUT_S;
	m->conn_opts.automaticReconnect = 1;
	m->conn_opts.minRetryInterval = MQTTC_BACKOFF_MIN_S;
	m->conn_opts.maxRetryInterval = MQTTC_BACKOFF_MAX_S;
	m->conn_opts.onSuccess5 = on_connect_ok;
	m->conn_opts.onFailure5 = on_connect_failure;
	m->conn_opts.context = m;
	m->conn_opts.username = m->user;
	m->conn_opts.password = m->password;
	if (m->session_expiry_s > 0) {
		MQTTProperty p;
		memset(&p, 0, sizeof(p));
		p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		p.value.integer4 = (unsigned int)m->session_expiry_s;
		if (MQTTProperties_add(&m->conn_props, &p) != 0)
			return -1;
		m->conn_opts.cleanstart = 0;
		m->conn_opts.connectProperties = &m->conn_props;
	} else {
		m->conn_opts.cleanstart = 1;
	}
	if (m->availability_topic) {
		m->will_opts.topicName = m->availability_topic;
		m->will_opts.message = PROTO_OFFLINE;
		m->will_opts.retained = 1;
		m->will_opts.qos = 1;
		m->conn_opts.will = &m->will_opts;
	}
	if (m->tls) {
		m->ssl_opts.trustStore = m->ca_file;
		m->ssl_opts.keyStore = m->cert_file;
		m->ssl_opts.privateKey = m->key_file;
		m->ssl_opts.enableServerCertAuth = 1;
		m->ssl_opts.verify = 1;
		m->conn_opts.ssl = &m->ssl_opts;
	}
	return 0;
}

static void start_connect(struct mqttc *m)
{
	int rc = MQTTAsync_connect(m->client, &m->conn_opts);

	if (rc != MQTTASYNC_SUCCESS) {
		char why[MQTTC_REASON_MAX];
		copy_reason(why, NULL, rc);
		handle_connect_failed(m, why);
	}
}

/* Destroy the Paho client. The connect properties go first: they were
 * allocated by Paho's heap, which its last destroy tears down. */
static void destroy_client(struct mqttc *m)
{
	MQTTProperties_free(&m->conn_props);
	m->conn_opts.connectProperties = NULL;
	if (m->client)
		MQTTAsync_destroy(&m->client);
}

static void free_fields(struct mqttc *m)
{
	while (m->subs) {
		struct mqttc_sub *s = m->subs;
		m->subs = s->next;
		free(s);
	}
	while (m->q_head) {
		struct mqttc_item *it = m->q_head;
		m->q_head = it->next;
		free(it);
	}
	while (m->out_head) {
		struct mqttc_out *o = m->out_head;
		m->out_head = o->next;
		free(o);
	}
	MQTTProperties_free(&m->conn_props);
	free(m->url);
	free(m->log_url);
	free(m->client_id);
	free(m->availability_topic);
	free(m->user);
	if (m->password) {
		/* Not a secret-safe wipe, but the copy does not outlive us. */
		memset(m->password, 0, strlen(m->password));
		free(m->password);
	}
	free(m->ca_file);
	free(m->cert_file);
	free(m->key_file);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/*
 * Once per process, before the first Paho client: tell Paho to leave
 * OpenSSL's initialisation alone. OpenSSL 3 initialises itself on first
 * use, so a TLS connection still works, and a plain tcp:// service does not
 * pay for loading every error string and algorithm table (about 2 MB of
 * resident memory).
 */
static void paho_global_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, paho_global_init_once);
}

struct mqttc_settings mqttc_settings_from_cfg(const struct cfg *cfg)
{
	return (struct mqttc_settings){
	    .url = cfg_str(cfg, "IOD_MQTT_URL"),
	    .user = cfg_str(cfg, "IOD_MQTT_USER"),
	    .password = cfg_str(cfg, "IOD_MQTT_PASSWORD"),
	    .ca_file = cfg_str(cfg, "IOD_MQTT_CA_FILE"),
	    .cert_file = cfg_str(cfg, "IOD_MQTT_CERT_FILE"),
	    .key_file = cfg_str(cfg, "IOD_MQTT_KEY_FILE"),
	};
}

struct mqttc *mqttc_new(uv_loop_t *loop, const struct mqttc_settings *settings,
			const struct mqttc_options *opts)
{
	MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer5;
	const char *url = settings ? settings->url : NULL;
	struct mqtt_url parsed;
	struct mqttc *m;
	int rc;

	if (!opts || !opts->client_id || !*opts->client_id) {
		log_error("mqtt: a client id is required");
		return NULL;
	}
	if (!url || !*url) {
		log_error("IOD_MQTT_URL: empty");
		return NULL;
	}
	if (mqtt_url_parse(url, &parsed) < 0) {
		log_error("IOD_MQTT_URL: '%s' must start with " MQTT_URL_SCHEMES, url);
		return NULL;
	}
	if (opts->session_expiry_s < 0) {
		log_error("mqtt: session_expiry_s must not be negative");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->loop = loop;
	/* Paho is given mqtt:// as tcp://, which it knows. */
	m->url = mqtt_url_for_paho(url);
	m->log_url = mqtt_url_for_log(url);
	m->client_id = strdup(opts->client_id);
	m->availability_topic = dup_or_null(opts->availability_topic);
	m->user = dup_or_null(settings->user);
	m->password = dup_or_null(settings->password);
	m->ca_file = dup_or_null(settings->ca_file);
	m->cert_file = dup_or_null(settings->cert_file);
	m->key_file = dup_or_null(settings->key_file);
	m->tls = parsed.tls;
	m->broker_port = parsed.port;
	if (mqtt_url_host(url, m->broker_host, sizeof(m->broker_host)) < 0)
		m->broker_host[0] = '\0';
	m->session_expiry_s = opts->session_expiry_s;
	m->queue_limit = opts->queue_limit ? opts->queue_limit : MQTTC_QUEUE_DEFAULT;
	m->max_payload = opts->max_payload;
	m->on_message = opts->on_message;
	m->on_connected = opts->on_connected;
	m->on_dropped = opts->on_dropped;
	m->on_disconnected = opts->on_disconnected;
	m->on_drained = opts->on_drained;
	m->arg = opts->arg;
	m->backoff_s = MQTTC_BACKOFF_MIN_S;
	m->window = MQTTC_WINDOW_DEFAULT;
	if (!m->url || !m->log_url || !m->client_id ||
	    (opts->availability_topic && !m->availability_topic) || (settings->user && !m->user) ||
	    (settings->password && !m->password) || (settings->ca_file && !m->ca_file) ||
	    (settings->cert_file && !m->cert_file) || (settings->key_file && !m->key_file)) {
		log_error("mqtt: out of memory");
		free_fields(m);
		return NULL;
	}
	if (!m->tls && (m->ca_file || m->cert_file || m->key_file))
		log_warn("IOD_MQTT_CA_FILE/_CERT_FILE/_KEY_FILE are ignored: %s is not ssl://, "
			 "mqtts:// or wss://",
			 m->log_url);
	if (m->password && !m->user)
		log_warn("IOD_MQTT_PASSWORD is set but IOD_MQTT_USER is not");

	cro.sendWhileDisconnected = 1;
	cro.allowDisconnectedSendAtAnyTime = 1;
	/* Paho 1.3.12 counts here the publishes it has not started to send yet,
	 * connected or not. deleteOldestMessages would free the oldest one
	 * silently, without a callback; off, a full buffer is an error. It
	 * never fills: publish_raw() keeps at most MQTTC_OUT_LIMIT waiting,
	 * and mqttc_stop() adds `offline`. */
	cro.maxBufferedMessages = MQTTC_OUT_LIMIT + 1;
	cro.deleteOldestMessages = 0;
	paho_global_init();
	rc = MQTTAsync_createWithOptions(&m->client, m->url, m->client_id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
	if (rc != MQTTASYNC_SUCCESS) {
		log_error("mqtt client for %s: %s", m->log_url, MQTTAsync_strerror(rc));
		free_fields(m);
		return NULL;
	}
	/* After the create: Paho allocates properties from its own heap, which
	 * the create (re)initialises. */
	if (setup_connect_options(m) < 0) {
		log_error("mqtt: cannot set connect properties");
		destroy_client(m);
		free_fields(m);
		return NULL;
	}
	rc = MQTTAsync_setCallbacks(m->client, m, on_connection_lost, on_message_arrived, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnected(m->client, m, on_connected_paho);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setDisconnected(m->client, m, on_disconnected_paho);
	if (rc != MQTTASYNC_SUCCESS) {
		log_error("mqtt callbacks: %s", MQTTAsync_strerror(rc));
		destroy_client(m);
		free_fields(m);
		return NULL;
	}
	rc = uv_async_init(loop, &m->wake, on_wake);
	if (rc < 0) {
		log_error("uv_async_init: %s", uv_strerror(rc));
		destroy_client(m);
		free_fields(m);
		return NULL;
	}
	m->wake.data = m;
	m->open_handles++;
	uv_timer_init(loop, &m->retry);
	m->retry.data = m;
	m->open_handles++;
	return m;
}

/*
 * Loop thread. Remembers the filter (once: subscribing to the same filter
 * again only updates its QoS and no_local) and subscribes now if connected.
 */
int mqttc_subscribe(struct mqttc *m, const char *filter, int qos, bool no_local)
{
	struct mqttc_sub *s, **tail;
	size_t n;
	bool connected;

	if (!m || !filter || !*filter || qos < 0 || qos > 2 || m->stopped)
		return -1;
	for (tail = &m->subs; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->filter, filter) == 0)
			break;
	s = *tail;
	if (!s) {
		n = strlen(filter);
		s = malloc(sizeof(*s) + n + 1);
		if (!s)
			return -1;
		memcpy(s->filter, filter, n + 1);
		s->next = NULL;
		*tail = s; /* appended: subscriptions are made in the order given */
	}
	s->qos = qos;
	s->no_local = no_local;
	pthread_mutex_lock(&m->lock);
	/* A pending connect event will subscribe everything anyway. */
	connected = m->connected && m->pending_connects == 0;
	pthread_mutex_unlock(&m->lock);
	if (connected && m->ever_connected)
		subscribe_one(m, s);
	return 0;
}

int mqttc_start(struct mqttc *m)
{
	if (!m || m->started || m->stopped)
		return -1;
	m->started = true;
	log_info("connecting to %s as %s", m->log_url, m->client_id);
	start_connect(m);
	return 0;
}

int mqttc_publish(struct mqttc *m, const char *topic, const void *payload, size_t len, int qos,
		  bool retain)
{
	if (!m || !topic || !*topic || (!payload && len) || qos < 0 || qos > 2 || m->stopped)
		return -1;
	return publish_raw(m, topic, payload ? payload : "", len, qos, retain, false, NULL, 0);
}

int mqttc_publish_props(struct mqttc *m, const char *topic, const void *payload, size_t len,
			int qos, bool retain, const struct mqttc_prop *props, size_t n_props)
{
	if (!m || !topic || !*topic || (!payload && len) || qos < 0 || qos > 2 || m->stopped ||
	    n_props > MQTTC_PROPS_MAX || (n_props && !props))
		return -1;
	for (size_t i = 0; i < n_props; i++)
		if (!props[i].name || !props[i].value)
			return -1;
	return publish_raw(m, topic, payload ? payload : "", len, qos, retain, false, props,
			   n_props);
}

int mqttc_publish_str(struct mqttc *m, const char *topic, const char *text, int qos, bool retain)
{
	if (!text)
		return -1;
	return mqttc_publish(m, topic, text, strlen(text), qos, retain);
}

bool mqttc_has_room(struct mqttc *m, size_t n)
{
	bool room;

	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	room = m->stats.out_waiting + n <= MQTTC_OUT_HIGH || m->stats.out_waiting <= MQTTC_OUT_LOW;
	if (!room && !m->pressure) {
		m->pressure = true;
		m->stats.backpressure_engaged++;
	}
	pthread_mutex_unlock(&m->lock);
	return room;
}

void mqttc_pause(struct mqttc *m, bool paused)
{
	if (!m || m->paused == paused)
		return;
	m->paused = paused;
	if (!paused) {
		/* What waited is handed over on the next loop turn, not from
		 * inside the caller's callback. */
		pthread_mutex_lock(&m->lock);
		wake_locked(m);
		pthread_mutex_unlock(&m->lock);
	}
}

bool mqttc_is_connected(const struct mqttc *m)
{
	struct mqttc *mm = (struct mqttc *)m;
	bool c;

	if (!m)
		return false;
	pthread_mutex_lock(&mm->lock);
	c = mm->connected;
	pthread_mutex_unlock(&mm->lock);
	return c;
}

void mqttc_get_stats(const struct mqttc *m, struct mqttc_stats *out)
{
	struct mqttc *mm = (struct mqttc *)m;

	pthread_mutex_lock(&mm->lock);
	*out = mm->stats;
	pthread_mutex_unlock(&mm->lock);
}

/* Wait until *flag (set on Paho's thread) or until deadline_ms (monotonic). */
static void wait_flag(struct mqttc *m, const bool *flag, int64_t deadline_ms)
{
	int64_t left_ms = deadline_ms - loop_mono_ms();
	struct timespec deadline;

	if (left_ms < 0)
		left_ms = 0;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(left_ms / 1000);
	deadline.tv_nsec += (long)(left_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	while (!*flag)
		if (pthread_cond_timedwait(&m->cond, &m->lock, &deadline) != 0)
			break;
	pthread_mutex_unlock(&m->lock);
}

/*
 * Loop thread, at shutdown: `offline` (retained, QoS 1) and wait for the
 * broker's PUBACK, then a normal MQTT 5 DISCONNECT (reason 0, so the broker
 * drops the will), then destroy the Paho client. Both waits share one
 * deadline of timeout_ms; the DISCONNECT always gets at least 100 ms.
 */
void mqttc_stop(struct mqttc *m, int timeout_ms)
{
	MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;
	int64_t deadline;
	int rc;

	if (!m || m->stopped)
		return;
	m->stopped = true;
	if (timeout_ms < 0)
		timeout_ms = 0;
	deadline = loop_mono_ms() + timeout_ms;
	uv_timer_stop(&m->retry);
	/* Everything still waiting goes to Paho now, ahead of `offline`: the
	 * wait below blocks the loop that would hand it over. */
	hand_off(m, true);
	if (mqttc_is_connected(m) && m->availability_topic) {
		if (publish_raw(m, m->availability_topic, PROTO_OFFLINE, strlen(PROTO_OFFLINE), 1,
				true, true, NULL, 0) == 0) {
			wait_flag(m, &m->offline_done, deadline);
			if (!m->offline_done)
				log_warn("`offline` not confirmed by %s within %d ms", m->log_url,
					 timeout_ms);
		}
	}
	dopts.timeout = (int)(deadline - loop_mono_ms());
	if (dopts.timeout < 100)
		dopts.timeout = 100;
	dopts.context = m;
	dopts.onSuccess5 = on_disconnect_ok;
	dopts.onFailure5 = on_disconnect_fail;
	log_debug("stop: offline %s after %lld ms", m->offline_done ? "acknowledged" : "not sent",
		  (long long)(loop_mono_ms() - (deadline - timeout_ms)));
	rc = MQTTAsync_disconnect(m->client, &dopts);
	if (rc == MQTTASYNC_SUCCESS)
		wait_flag(m, &m->disconnect_done, loop_mono_ms() + dopts.timeout);
	pthread_mutex_lock(&m->lock);
	m->closing = true;
	m->connected = false;
	pthread_mutex_unlock(&m->lock);
	log_debug("stop: disconnect %s after %lld ms",
		  rc != MQTTASYNC_SUCCESS ? "not needed"
		  : m->disconnect_done	  ? "done"
					  : "timed out",
		  (long long)(loop_mono_ms() - (deadline - timeout_ms)));
	destroy_client(m);
	log_info("disconnected from %s", m->log_url);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct mqttc *m = h->data;

	if (--m->open_handles == 0)
		free_fields(m);
}

static void release(struct mqttc *m)
{
	pthread_mutex_lock(&m->lock);
	m->closing = true;
	pthread_mutex_unlock(&m->lock);
	destroy_client(m);
	uv_close((uv_handle_t *)&m->wake, on_handle_closed);
	uv_close((uv_handle_t *)&m->retry, on_handle_closed);
}

void mqttc_free(struct mqttc *m)
{
	if (!m)
		return;
	if (!m->stopped) {
		/* Freed without a stop: drop the connection without `offline`;
		 * the broker's will says so instead. */
		m->stopped = true;
		uv_timer_stop(&m->retry);
	}
	release(m);
}
