#include "state.h"

#include "bmsg.h"
#include "hist.h"
#include "jbuf.h"
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_BUCKETS 256
#define KEY_FRAME    1u /* the camera frame's coalescing key; topic keys start at 2 */

struct topic_entry {
	char *topic;
	uint32_t key;
	struct bmsg *frame; /* last value as a frame; NULL when cleared */
	struct topic_entry *next_hash;
};

struct history_entry {
	char *topic;
	struct hist h;
	struct bmsg *cached; /* serialised history, valid for (version, bucket) */
	uint64_t cached_version;
	int64_t cached_bucket;
};

struct alert_entry {
	int64_t ts_ms;
	struct bmsg *frame;
};

struct state {
	struct state_config cfg;
	char prefix[PROTO_TOPIC_MAX]; /* "iod/<site>/" */
	size_t prefix_len;
	char frame_topic[PROTO_TOPIC_MAX];    /* "iod/<site>/camera/frame" */
	char alert_topic[PROTO_TOPIC_MAX];    /* "iod/<site>/alert" */
	char event_topic[PROTO_TOPIC_MAX];    /* "iod/<site>/feeder/event" */
	char sensors_prefix[PROTO_TOPIC_MAX]; /* "iod/<site>/sensors/" */

	struct topic_entry *topics; /* array of cfg.max_topics, used in insertion order */
	size_t n_topics;
	struct topic_entry *hash[HASH_BUCKETS];

	struct history_entry *history[STATE_HISTORY_TOPICS_MAX];
	size_t n_history;

	struct alert_entry alerts[STATE_ALERTS_MAX]; /* ring */
	size_t alert_head, n_alerts;

	struct bmsg *frame; /* latest camera frame */
	struct state_stats stats;

	/* state_snapshot_batches()' messages, kept while none of what they hold
	 * changes: valid for now in [batches_from, batches_until). */
	struct bmsg **batches;
	size_t n_batches;
	bool batches_valid;
	int64_t batches_from, batches_until;
};

static uint32_t hash_topic(const char *t)
{
	uint32_t h = 2166136261u;
	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 16777619u;
	return h;
}

struct state *state_new(const struct state_config *cfg)
{
	struct state *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (!s->cfg.max_topics)
		s->cfg.max_topics = STATE_TOPICS_DEFAULT;
	if (!s->cfg.max_json_payload)
		s->cfg.max_json_payload = 16 * 1024;
	if (!s->cfg.max_frame_bytes)
		s->cfg.max_frame_bytes = STATE_FRAME_MAX;
	if (!s->cfg.batch_bytes)
		s->cfg.batch_bytes = STATE_BATCH_BYTES;
	const char *site = cfg->site;
	if (proto_topic_prefix(s->prefix, sizeof(s->prefix), site, NULL) < 0 ||
	    proto_topic(s->frame_topic, sizeof(s->frame_topic), site, "camera", "frame") < 0 ||
	    proto_topic_alert(s->alert_topic, sizeof(s->alert_topic), site) < 0 ||
	    proto_topic(s->event_topic, sizeof(s->event_topic), site, "feeder", "event") < 0 ||
	    proto_topic_prefix(s->sensors_prefix, sizeof(s->sensors_prefix), site, "sensors") < 0) {
		free(s);
		return NULL;
	}
	s->prefix_len = strlen(s->prefix);
	s->topics = calloc(s->cfg.max_topics, sizeof(*s->topics));
	if (!s->topics) {
		free(s);
		return NULL;
	}
	return s;
}

void state_free(struct state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_topics; i++) {
		free(s->topics[i].topic);
		bmsg_unref(s->topics[i].frame);
	}
	free(s->topics);
	for (size_t i = 0; i < s->n_history; i++) {
		free(s->history[i]->topic);
		bmsg_unref(s->history[i]->cached);
		free(s->history[i]);
	}
	for (size_t i = 0; i < STATE_ALERTS_MAX; i++)
		bmsg_unref(s->alerts[i].frame);
	bmsg_unref(s->frame);
	for (size_t i = 0; i < s->n_batches; i++)
		bmsg_unref(s->batches[i]);
	free(s->batches);
	free(s);
}

/* A cached topic or an alert changed: the batches no longer say it. */
static void batches_drop(struct state *s)
{
	for (size_t i = 0; i < s->n_batches; i++)
		bmsg_unref(s->batches[i]);
	s->n_batches = 0;
	s->batches_valid = false;
}

static struct topic_entry *topic_find(struct state *s, const char *topic, bool create)
{
	uint32_t h = hash_topic(topic) % HASH_BUCKETS;
	for (struct topic_entry *e = s->hash[h]; e; e = e->next_hash)
		if (!strcmp(e->topic, topic))
			return e;
	if (!create || s->n_topics >= s->cfg.max_topics)
		return NULL;
	char *copy = strdup(topic);
	if (!copy)
		return NULL;
	struct topic_entry *e = &s->topics[s->n_topics];
	e->topic = copy;
	e->key = s->cfg.key_base + (uint32_t)s->n_topics + 2;
	e->frame = NULL;
	e->next_hash = s->hash[h];
	s->hash[h] = e;
	s->n_topics++;
	return e;
}

/* The frame for one message. */
static struct bmsg *encode_message(size_t headroom, const char *topic, const void *payload,
				   size_t len, int64_t ts_ms, uint32_t key)
{
	struct jbuf b;
	jbuf_init(&b);
	jbuf_puts(&b, "{\"topic\":");
	jbuf_string(&b, topic, strlen(topic));
	jbuf_puts(&b, ",\"payload\":");
	/* Verbatim only when it is strict JSON, the same test every proto
	 * decoder applies: what passes is valid UTF-8 with no raw control
	 * characters, so a browser's JSON.parse takes the frame. */
	if (proto_json_valid(payload, len))
		jbuf_put(&b, payload, len);
	else
		jbuf_string(&b, payload, len);
	jbuf_puts(&b, ",\"ts\":");
	jbuf_i64(&b, ts_ms);
	jbuf_puts(&b, "}");
	struct bmsg *m = NULL;
	if (!b.failed)
		m = bmsg_new(headroom, b.data, b.len, false, key);
	jbuf_free(&b);
	return m;
}

struct bmsg *state_encode_message(size_t headroom, const char *topic, const void *payload,
				  size_t len, int64_t ts_ms, uint32_t key)
{
	return encode_message(headroom, topic, payload, len, ts_ms, key);
}

static struct history_entry *history_find(struct state *s, const char *topic, bool create)
{
	for (size_t i = 0; i < s->n_history; i++)
		if (!strcmp(s->history[i]->topic, topic))
			return s->history[i];
	if (!create || s->n_history >= STATE_HISTORY_TOPICS_MAX)
		return NULL;
	struct history_entry *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->topic = strdup(topic);
	if (!h->topic) {
		free(h);
		return NULL;
	}
	const char *kind = topic + strlen(s->sensors_prefix);
	hist_init(&h->h, !strcmp(kind, "motion") ? HIST_MAX : HIST_AVG);
	h->cached_bucket = INT64_MIN;
	s->history[s->n_history++] = h;
	return h;
}

/*
 * iod/<site>/sensors/<kind>: a reading as the contract has it
 * (proto_reading_decode: a finite "value", a "unit", a "ts", none twice)
 * goes into the history, at its arrival time (a publisher's clock may be
 * off; the history buckets by when the bridge heard it). Anything else on a
 * sensor topic is still cached and forwarded, only not charted.
 */
static void ingest_reading(struct state *s, const char *topic, const void *payload, size_t len,
			   int64_t ts_ms)
{
	const char *kind = topic + strlen(s->sensors_prefix);
	struct proto_reading r;
	if (!*kind || strchr(kind, '/') || proto_reading_decode(payload, len, &r, NULL) < 0)
		return;
	struct history_entry *h = history_find(s, topic, true);
	if (h)
		hist_add(&h->h, ts_ms, r.value);
}

static void ingest_alert(struct state *s, struct bmsg *frame, int64_t ts_ms)
{
	size_t idx = (s->alert_head + s->n_alerts) % STATE_ALERTS_MAX;
	if (s->n_alerts == STATE_ALERTS_MAX) {
		idx = s->alert_head;
		s->alert_head = (s->alert_head + 1) % STATE_ALERTS_MAX;
	} else {
		s->n_alerts++;
	}
	bmsg_unref(s->alerts[idx].frame);
	s->alerts[idx].frame = bmsg_ref(frame);
	s->alerts[idx].ts_ms = ts_ms;
}

struct bmsg *state_ingest(struct state *s, const char *topic, const void *payload, size_t len,
			  int64_t received_ms, const char **why)
{
	*why = NULL;
	if (strncmp(topic, s->prefix, s->prefix_len)) {
		s->stats.refused_other++;
		*why = "not_site";
		return NULL;
	}
	if (!strcmp(topic, s->frame_topic)) {
		if (len > s->cfg.max_frame_bytes) {
			s->stats.refused_too_large++;
			*why = "too_large";
			return NULL;
		}
		bmsg_unref(s->frame);
		s->frame = NULL;
		if (!len) {
			*why = "cleared";
			return NULL;
		}
		struct bmsg *m = bmsg_new(s->cfg.headroom, payload, len, true, KEY_FRAME);
		if (!m) {
			*why = "nomem";
			return NULL;
		}
		s->frame = bmsg_ref(m);
		return m;
	}
	if (len > s->cfg.max_json_payload) {
		s->stats.refused_too_large++;
		*why = "too_large";
		return NULL;
	}
	bool is_alert = !strcmp(topic, s->alert_topic);
	struct topic_entry *e = NULL;
	if (!is_alert) {
		e = topic_find(s, topic, len > 0);
		if (!e && len > 0)
			s->stats.cache_full++;
	}
	if (e || is_alert)
		batches_drop(s);
	if (!len) {
		/* An empty retained message deletes the topic at the broker: forget it. */
		if (e) {
			bmsg_unref(e->frame);
			e->frame = NULL;
		}
		*why = "cleared";
		return NULL;
	}
	/* Alerts and feeder events must each reach every client: key 0, never coalesced. */
	struct bmsg *m =
	    encode_message(s->cfg.headroom, topic, payload, len, received_ms, e ? e->key : 0);
	if (!m) {
		*why = "nomem";
		return NULL;
	}
	if (e && !strcmp(topic, s->event_topic))
		m->key = 0;
	if (e) {
		bmsg_unref(e->frame);
		e->frame = bmsg_ref(m);
	}
	if (is_alert)
		ingest_alert(s, m, received_ms);
	else if (!strncmp(topic, s->sensors_prefix, strlen(s->sensors_prefix)))
		ingest_reading(s, topic, payload, len, received_ms);
	return m;
}

static struct bmsg *history_frame(struct state *s, struct history_entry *h, int64_t now_ms)
{
	int64_t bucket = now_ms / HIST_BUCKET_MS;
	if (h->cached && h->cached_version == h->h.version && h->cached_bucket == bucket)
		return h->cached;
	struct hist_point pts[HIST_BUCKETS];
	size_t n = hist_points(&h->h, now_ms, pts);
	struct jbuf b;
	jbuf_init(&b);
	jbuf_puts(&b, "{\"type\":\"history\",\"topic\":");
	jbuf_string(&b, h->topic, strlen(h->topic));
	jbuf_puts(&b, ",\"points\":[");
	for (size_t i = 0; i < n; i++) {
		jbuf_puts(&b, i ? ",[" : "[");
		jbuf_i64(&b, pts[i].ts_ms);
		jbuf_puts(&b, ",");
		jbuf_double(&b, pts[i].value);
		jbuf_puts(&b, "]");
	}
	jbuf_puts(&b, "]}");
	struct bmsg *m = b.failed ? NULL : bmsg_new(s->cfg.headroom, b.data, b.len, false, 0);
	jbuf_free(&b);
	if (!m)
		return NULL;
	bmsg_unref(h->cached);
	h->cached = m;
	h->cached_version = h->h.version;
	h->cached_bucket = bucket;
	return m;
}

static int snapshot(struct state *s, int64_t now_ms, bool values_only, state_visit_cb visit,
		    void *arg)
{
	int rc;
	for (size_t i = 0; i < s->n_topics; i++)
		if (s->topics[i].frame && (rc = visit(arg, s->topics[i].frame)))
			return rc;
	for (size_t i = 0; !values_only && i < s->n_history; i++) {
		struct bmsg *m = history_frame(s, s->history[i], now_ms);
		if (m && (rc = visit(arg, m)))
			return rc;
	}
	for (size_t i = 0; i < s->n_alerts; i++) {
		struct alert_entry *a = &s->alerts[(s->alert_head + i) % STATE_ALERTS_MAX];
		if (a->ts_ms < now_ms - STATE_ALERT_AGE_MS)
			continue;
		if ((rc = visit(arg, a->frame)))
			return rc;
	}
	if (!values_only && s->frame && (rc = visit(arg, s->frame)))
		return rc;
	return 0;
}

int state_snapshot(struct state *s, int64_t now_ms, state_visit_cb visit, void *arg)
{
	return snapshot(s, now_ms, false, visit, arg);
}

int state_snapshot_values(struct state *s, int64_t now_ms, state_visit_cb visit, void *arg)
{
	return snapshot(s, now_ms, true, visit, arg);
}

struct batch_build {
	struct state *s;
	struct jbuf b;
	size_t in; /* frames in b */
};

static int batch_close(struct batch_build *bb)
{
	struct state *s = bb->s;
	if (!bb->in)
		return 0;
	jbuf_puts(&bb->b, "]}");
	struct bmsg **grown =
	    bb->b.failed ? NULL : realloc(s->batches, (s->n_batches + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	s->batches = grown;
	struct bmsg *m = bmsg_new(s->cfg.headroom, bb->b.data, bb->b.len, false, 0);
	if (!m)
		return -1;
	s->batches[s->n_batches++] = m;
	bb->b.len = 0;
	bb->in = 0;
	return 0;
}

static int batch_add(struct batch_build *bb, struct bmsg *m)
{
	jbuf_puts(&bb->b, bb->in ? "," : "{\"type\":\"batch\",\"frames\":[");
	jbuf_put(&bb->b, bmsg_data(m), m->len);
	bb->in++;
	return bb->b.len >= bb->s->cfg.batch_bytes ? batch_close(bb) : 0;
}

/* The batches of what state_snapshot_values() visits at now_ms. */
static int batches_build(struct state *s, int64_t now_ms)
{
	batches_drop(s);
	s->batches_from = now_ms;
	s->batches_until = INT64_MAX;
	struct batch_build bb = {.s = s};
	jbuf_init(&bb.b);
	int rc = 0;
	for (size_t i = 0; !rc && i < s->n_topics; i++)
		if (s->topics[i].frame)
			rc = batch_add(&bb, s->topics[i].frame);
	for (size_t i = 0; !rc && i < s->n_alerts; i++) {
		struct alert_entry *a = &s->alerts[(s->alert_head + i) % STATE_ALERTS_MAX];
		if (a->ts_ms < now_ms - STATE_ALERT_AGE_MS)
			continue;
		/* in while now_ms <= ts + the age */
		if (a->ts_ms + STATE_ALERT_AGE_MS + 1 < s->batches_until)
			s->batches_until = a->ts_ms + STATE_ALERT_AGE_MS + 1;
		rc = batch_add(&bb, a->frame);
	}
	if (!rc)
		rc = batch_close(&bb);
	jbuf_free(&bb.b);
	if (rc) {
		batches_drop(s);
		return -1;
	}
	s->batches_valid = true;
	return 0;
}

int state_snapshot_batches(struct state *s, int64_t now_ms, state_visit_cb visit, void *arg)
{
	if (!s->batches_valid || now_ms < s->batches_from || now_ms >= s->batches_until) {
		if (batches_build(s, now_ms))
			return -1;
		s->stats.batches_built++;
	}
	int rc;
	for (size_t i = 0; i < s->n_batches; i++)
		if ((rc = visit(arg, s->batches[i])))
			return rc;
	return 0;
}

struct bmsg *state_camera_frame(const struct state *s)
{
	return s->frame;
}

void state_get_stats(const struct state *s, struct state_stats *out)
{
	*out = s->stats;
	out->topics = 0;
	for (size_t i = 0; i < s->n_topics; i++)
		if (s->topics[i].frame)
			out->topics++;
	out->history_topics = s->n_history;
}
