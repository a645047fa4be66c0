/*
 * records_writer.c — the records store's writer thread and its queue
 * (records_writer.h). The loop pushes copies; the thread decodes and writes
 * them in batches, and maintains the store.
 */
#include "records_writer.h"

#include "log.h"
#include "proto.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_ITEMS_DEFAULT 20000
#define QUEUE_BYTES_DEFAULT (64u << 20)
#define BATCH_MAX_DEFAULT   500
#define BATCH_MS_DEFAULT    250
#define MAINTAIN_MS_DEFAULT (3600LL * 1000)

struct item {
	struct item *next;
	size_t size; /* what it counts against queue_bytes */
	int64_t received_ms;
	char *topic;
	char *for_prop; /* NULL: none */
	size_t len;
	char payload[]; /* len bytes and a NUL */
};

/* A dose's snapshot that came before anything else about the dose (the
 * camera answers when the servo opens, the feeder logs the dose when it is
 * done): held until the dose's feeder/log entry, so the dose keeps the
 * feeder's ts, or at most PENDING_MS, then stored with its arrival time. */
#define PENDING_MAX 8
#define PENDING_MS  (10 * 60 * 1000)
struct pending_snap {
	char id[PROTO_ID_MAX + 1];
	int64_t received_ms;
	void *data;
	size_t len;
};

/* The alerts set last seen, to know which alerts left it (cleared). */
struct seen_alert {
	char key[PROTO_ALERT_KEY_MAX];
	int64_t since_ms;
};

struct rwriter {
	struct rwriter_config cfg;
	char *path, *site;
	struct records *db;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* items, or stop */
	pthread_cond_t done; /* a batch was committed */
	struct item *head, *tail;
	size_t n_items, n_bytes;
	bool stop;
	bool dropping;		   /* in a drop episode */
	uint64_t pushed, finished; /* sequence numbers, for rwriter_flush */
	struct rwriter_stats st;
	int64_t next_maintain_ms;
	/* thread only */
	struct seen_alert alerts[PROTO_ALERTS_MAX];
	size_t n_alerts;
	struct pending_snap pending[PENDING_MAX];
	size_t n_pending;
	bool have_alerts;
};

static int64_t real_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool rwriter_wants(const char *site, const char *topic, const char *for_prop)
{
	struct proto_topic_parts tp;
	if (proto_topic_split(topic, &tp) < 0 || strcmp(tp.site, site))
		return false;
	const char *s = tp.service, *l = tp.leaf;
	if (!l)
		return !strcmp(s, "alert") || !strcmp(s, "alerts");
	if (!strcmp(s, "sensors"))
		return !strchr(l, '/');
	if (!strcmp(s, "feeder"))
		return !strcmp(l, "log") || !strcmp(l, "event") || !strcmp(l, "schedule") ||
		       !strcmp(l, "plan");
	if (!strcmp(s, "camera")) {
		if (!strcmp(l, "motion"))
			return true;
		return !strcmp(l, "snapshot") && for_prop &&
		       (!strncmp(for_prop, "dose:", 5) || !strncmp(for_prop, "motion:", 7));
	}
	if (!strcmp(s, "notify"))
		return !strcmp(l, "event");
	return false;
}

/* ---- applying one message (thread) ---- */

static const char *outcome_name(enum proto_dose_result r)
{
	return r == PROTO_DOSE_OK ? "ok" : r == PROTO_DOSE_FAILED ? "failed" : "uncertain";
}

static int put_snapshot(struct rwriter *w, const char *id, int64_t ts_ms, const void *data,
			size_t len, struct records_err *err)
{
	struct records_dose d = {
	    .id = id,
	    .site = w->site,
	    .ts_ms = ts_ms,
	    .verified = -1,
	    .snapshot = data,
	    .snapshot_len = len,
	};
	return records_put_dose(w->db, &d, err);
}

static void pending_drop(struct rwriter *w, size_t i)
{
	free(w->pending[i].data);
	w->pending[i] = w->pending[--w->n_pending];
}

/* Held snapshot i stored now, under ts_ms. */
static int pending_put(struct rwriter *w, size_t i, int64_t ts_ms, struct records_err *err)
{
	struct pending_snap *p = &w->pending[i];
	int rc = put_snapshot(w, p->id, ts_ms, p->data, p->len, err);
	if (rc < 0)
		log_warn("records: the snapshot of dose %s was not kept: %s", p->id, err->msg);
	pending_drop(w, i);
	return rc;
}

/* The snapshots held longer than PENDING_MS (all with all): stored with
 * their arrival time. Inside a batch. */
static void pending_expire(struct rwriter *w, int64_t now_ms, bool all)
{
	struct records_err err = {{0}};
	for (size_t i = 0; i < w->n_pending;)
		if (all || now_ms - w->pending[i].received_ms >= PENDING_MS)
			pending_put(w, i, w->pending[i].received_ms, &err);
		else
			i++;
}

static int apply_log(struct rwriter *w, const struct item *it, struct records_err *err)
{
	static __thread struct proto_dose doses[PROTO_LOG_MAX];
	size_t n = 0;
	const char *why = NULL;
	if (proto_feeder_log_decode(it->payload, it->len, doses, PROTO_LOG_MAX, &n, &why) < 0) {
		snprintf(err->msg, sizeof(err->msg), "feeder/log: %s", why ? why : "undecodable");
		return -EINVAL;
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		const struct proto_dose *d = &doses[i];
		const char *slot = NULL;
		if (!strncmp(d->id, "schedule-", 9) && proto_slot_id_valid(d->id + 9))
			slot = d->id + 9;
		struct records_dose rd = {
		    .id = d->id,
		    .site = w->site,
		    .ts_ms = d->ts_ms,
		    .by = d->by,
		    .source = d->source == PROTO_SOURCE_SCHEDULE ? "schedule" : "manual",
		    .slot = slot,
		    .outcome = outcome_name(d->result),
		    .verified = d->verified == PROTO_VERIFIED_TRUE    ? 1
				: d->verified == PROTO_VERIFIED_FALSE ? 0
								      : -1,
		};
		int r = records_put_dose(w->db, &rd, err);
		if (r < 0)
			rc = r;
		for (size_t k = 0; r == 0 && k < w->n_pending; k++)
			if (!strcmp(w->pending[k].id, d->id)) {
				pending_put(w, k, d->ts_ms, err);
				break;
			}
	}
	return rc;
}

static int apply_event(struct rwriter *w, const struct item *it, const char *service,
		       struct records_err *err)
{
	struct proto_feeder_event ev;
	const char *why = NULL;
	if (proto_feeder_event_decode(it->payload, it->len, &ev, &why) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s/event: %s", service,
			 why ? why : "undecodable");
		return -EINVAL;
	}
	struct records_command c = {
	    .site = w->site,
	    .ts_ms = ev.ts_ms,
	    .service = service,
	    .id = ev.id[0] ? ev.id : NULL,
	    .action = ev.action[0] ? ev.action : NULL,
	    .result = proto_result_name(ev.result),
	    .reason = ev.reason[0] ? ev.reason : NULL,
	};
	int rc = records_add_command(w->db, &c, err);
	if (rc < 0 || strcmp(service, "feeder") || strcmp(ev.action, "verify") || !ev.id[0])
		return rc;
	struct records_dose d = {
	    .id = ev.id,
	    .site = w->site,
	    .ts_ms = ev.ts_ms,
	    .reason = ev.reason[0] ? ev.reason : NULL,
	    .verified = ev.result == PROTO_RESULT_OK ? 1 : 0,
	    .has_delta_g = ev.has_delta && !ev.delta_null,
	    .delta_g = ev.delta_g,
	};
	return records_put_dose(w->db, &d, err);
}

static int apply_schedule(struct rwriter *w, const struct item *it, struct records_err *err)
{
	static __thread struct proto_schedule s;
	const char *why = NULL;
	if (proto_schedule_decode(it->payload, it->len, &s, &why) < 0) {
		snprintf(err->msg, sizeof(err->msg), "feeder/schedule: %s",
			 why ? why : "undecodable");
		return -EINVAL;
	}
	int rc = 0;
	for (size_t i = 0; i < s.n; i++) {
		struct records_slot r = {
		    .site = w->site,
		    .slot = s.slots[i].slot,
		    .at_ms = s.slots[i].at_ms,
		    .status = proto_slot_status_name(s.slots[i].status),
		    .dose_id = s.slots[i].dose[0] ? s.slots[i].dose : NULL,
		};
		int e = records_put_slot(w->db, &r, err);
		if (e < 0)
			rc = e;
	}
	return rc;
}

static int apply_plan(struct rwriter *w, const struct item *it, struct records_err *err)
{
	static __thread struct proto_plan p;
	const char *why = NULL;
	if (proto_plan_decode(it->payload, it->len, &p, &why) < 0) {
		snprintf(err->msg, sizeof(err->msg), "feeder/plan: %s", why ? why : "undecodable");
		return -EINVAL;
	}
	struct records_plan r = {
	    .site = w->site,
	    .rev = p.rev,
	    .ts_ms = p.changed_at_ms ? p.changed_at_ms : it->received_ms,
	    .by = p.changed_by[0] ? p.changed_by : "unknown",
	    .json = it->payload,
	};
	return records_add_plan(w->db, &r, err);
}

static int apply_snapshot(struct rwriter *w, const struct item *it, struct records_err *err)
{
	if (!strncmp(it->for_prop, "dose:", 5)) {
		const char *id = it->for_prop + 5;
		if (!proto_id_valid(id)) {
			snprintf(err->msg, sizeof(err->msg), "camera/snapshot: bad dose id in for");
			return -EINVAL;
		}
		if (it->len > RECORDS_SNAPSHOT_MAX) {
			snprintf(err->msg, sizeof(err->msg),
				 "camera/snapshot for dose %s: %zu bytes, over %d", id, it->len,
				 RECORDS_SNAPSHOT_MAX);
			return -EFBIG;
		}
		void *old = NULL;
		size_t old_len = 0;
		int known = records_dose_snapshot(w->db, id, &old, &old_len, err);
		free(old);
		if (known != -ENOENT)
			return put_snapshot(w, id, it->received_ms, it->payload, it->len, err);
		/* Not known yet: held for its log entry (a newer picture for
		 * the same dose replaces the held one). */
		size_t i = 0;
		while (i < w->n_pending && strcmp(w->pending[i].id, id))
			i++;
		if (i < w->n_pending)
			pending_drop(w, i);
		else if (w->n_pending == PENDING_MAX)
			pending_put(w, 0, w->pending[0].received_ms, err);
		void *copy = malloc(it->len ? it->len : 1);
		if (!copy)
			return put_snapshot(w, id, it->received_ms, it->payload, it->len, err);
		memcpy(copy, it->payload, it->len);
		struct pending_snap *p = &w->pending[w->n_pending++];
		snprintf(p->id, sizeof(p->id), "%s", id);
		p->received_ms = it->received_ms;
		p->data = copy;
		p->len = it->len;
		return 0;
	}
	char *end;
	long long ts = strtoll(it->for_prop + 7, &end, 10);
	if (end == it->for_prop + 7 || *end || ts <= 0) {
		snprintf(err->msg, sizeof(err->msg), "camera/snapshot: bad motion ts in for");
		return -EINVAL;
	}
	struct records_event e = {
	    .site = w->site,
	    .kind = "motion",
	    .start_ms = ts,
	    .score = -1,
	    .thumb = it->payload,
	    .thumb_len = it->len,
	};
	return records_put_event(w->db, &e, NULL, err);
}

static int apply_motion(struct rwriter *w, const struct item *it, struct records_err *err)
{
	struct proto_motion m;
	const char *why = NULL;
	if (proto_motion_decode(it->payload, it->len, &m, &why) < 0) {
		snprintf(err->msg, sizeof(err->msg), "camera/motion: %s",
			 why ? why : "undecodable");
		return -EINVAL;
	}
	if (m.active) {
		struct records_event e = {
		    .site = w->site, .kind = "motion", .start_ms = m.ts_ms, .score = m.score};
		return records_put_event(w->db, &e, NULL, err);
	}
	int rc = records_end_event(w->db, w->site, "motion", m.ts_ms, err);
	return rc == -ENOENT ? 0 : rc; /* a stop with no start seen (retained, restart) */
}

static int apply_alert(struct rwriter *w, const struct item *it, struct records_err *err)
{
	struct proto_alert a;
	const char *why = NULL;
	char key[PROTO_ALERT_KEY_MAX];
	if (proto_alert_decode(it->payload, it->len, &a, &why) < 0 ||
	    proto_alert_key(&a, key, sizeof(key)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "alert: %s", why ? why : "undecodable");
		return -EINVAL;
	}
	struct records_alert r = {
	    .site = w->site,
	    .key = key,
	    .source = a.source,
	    .code = a.code,
	    .level = proto_level_name(a.level),
	    .message = a.message,
	    .since_ms = a.ts_ms,
	    .updated_ms = a.ts_ms,
	};
	return records_put_alert(w->db, &r, err);
}

static int apply_alerts(struct rwriter *w, const struct item *it, struct records_err *err)
{
	static __thread struct proto_alerts s;
	const char *why = NULL;
	if (proto_alerts_decode(it->payload, it->len, &s, &why) < 0) {
		snprintf(err->msg, sizeof(err->msg), "alerts: %s", why ? why : "undecodable");
		return -EINVAL;
	}
	int rc = 0;
	for (size_t i = 0; i < s.n; i++) {
		const struct proto_active_alert *e = &s.active[i];
		struct records_alert r = {
		    .site = w->site,
		    .key = e->key,
		    .source = e->alert.source,
		    .code = e->alert.code,
		    .level = proto_level_name(e->alert.level),
		    .message = e->alert.message,
		    .since_ms = e->since_ms,
		    .updated_ms = e->alert.ts_ms,
		    .acked_by = e->acked_by[0] ? e->acked_by : NULL,
		    .acked_ms = e->acked_at_ms,
		};
		int x = records_put_alert(w->db, &r, err);
		if (x < 0)
			rc = x;
	}
	/* Those of the last set that are gone have cleared, at the set's ts. */
	for (size_t k = 0; w->have_alerts && k < w->n_alerts; k++) {
		bool still = false;
		for (size_t i = 0; i < s.n && !still; i++)
			still = !strcmp(s.active[i].key, w->alerts[k].key) &&
				s.active[i].since_ms == w->alerts[k].since_ms;
		if (still)
			continue;
		/* level and message are overwritten by an upsert: keep the
		 * stored ones by reading them back is not possible here, so
		 * the row is given the key's parts and "cleared". */
		struct records_alerts rows;
		if (records_alerts(w->db, w->site, w->alerts[k].since_ms, w->alerts[k].since_ms + 1,
				   100, &rows, err) < 0)
			continue;
		for (size_t i = 0; i < rows.n; i++) {
			const struct records_alert_row *o = &rows.rows[i];
			if (strcmp(o->key, w->alerts[k].key))
				continue;
			struct records_alert r = {
			    .site = w->site,
			    .key = o->key,
			    .source = o->source,
			    .code = o->code,
			    .level = o->level,
			    .message = o->message,
			    .since_ms = o->since_ms,
			    .updated_ms = o->updated_ms,
			    .cleared_ms = s.ts_ms ? s.ts_ms : it->received_ms,
			};
			records_put_alert(w->db, &r, err);
		}
		records_alerts_free(&rows);
	}
	w->n_alerts = s.n;
	for (size_t i = 0; i < s.n; i++) {
		snprintf(w->alerts[i].key, sizeof(w->alerts[i].key), "%s", s.active[i].key);
		w->alerts[i].since_ms = s.active[i].since_ms;
	}
	w->have_alerts = true;
	return rc;
}

/* An operator session (rwriter_session): an item with an empty topic. */
struct session_item {
	enum rwriter_session_op op;
	struct records_session s; /* s.user, s.role unused: user, role below */
	char user[33], role[33];
};

static int apply_session(struct rwriter *w, const struct item *it, struct records_err *err)
{
	struct session_item si;
	if (it->len != sizeof(si))
		return -EINVAL;
	memcpy(&si, it->payload, sizeof(si));
	si.s.role = si.role;
	si.s.user = si.user[0] ? si.user : NULL;
	int rc = 0;
	if (si.op == RWRITER_SESSION_TOUCH &&
	    (rc = records_touch_session(w->db, si.s.hash, si.s.last_used_ms, err)) != -ENOENT)
		return rc;
	if (si.op == RWRITER_SESSION_DELETE)
		return (rc = records_delete_session(w->db, si.s.hash, err)) == -ENOENT ? 0 : rc;
	return records_put_session(w->db, &si.s, err);
}

static int apply(struct rwriter *w, const struct item *it, struct records_err *err)
{
	struct proto_topic_parts tp;
	if (!it->topic[0])
		return apply_session(w, it, err);
	if (proto_topic_split(it->topic, &tp) < 0)
		return -EINVAL;
	const char *s = tp.service, *l = tp.leaf ? tp.leaf : "";
	if (!strcmp(s, "sensors")) {
		struct proto_reading r;
		const char *why = NULL;
		if (proto_reading_decode(it->payload, it->len, &r, &why) < 0) {
			snprintf(err->msg, sizeof(err->msg), "sensors/%s: %s", l,
				 why ? why : "undecodable");
			return -EINVAL;
		}
		return records_add_reading(w->db, w->site, l, r.ts_ms, r.value, err);
	}
	if (!strcmp(s, "feeder") && !strcmp(l, "log"))
		return apply_log(w, it, err);
	if (!strcmp(s, "feeder") && !strcmp(l, "event"))
		return apply_event(w, it, "feeder", err);
	if (!strcmp(s, "feeder") && !strcmp(l, "schedule"))
		return apply_schedule(w, it, err);
	if (!strcmp(s, "feeder") && !strcmp(l, "plan"))
		return apply_plan(w, it, err);
	if (!strcmp(s, "notify") && !strcmp(l, "event"))
		return apply_event(w, it, "notify", err);
	if (!strcmp(s, "camera") && !strcmp(l, "snapshot") && it->for_prop)
		return apply_snapshot(w, it, err);
	if (!strcmp(s, "camera") && !strcmp(l, "motion"))
		return apply_motion(w, it, err);
	if (!strcmp(s, "alert"))
		return apply_alert(w, it, err);
	if (!strcmp(s, "alerts"))
		return apply_alerts(w, it, err);
	return 0;
}

/* ---- the thread ---- */

static void maintain(struct rwriter *w)
{
	struct records_maintain_stats ms;
	struct records_err err = {{0}};
	int64_t now = w->cfg.now_ms();
	int rc = records_maintain(w->db, now, w->cfg.max_bytes, &ms, &err);
	if (rc < 0)
		log_error("records: maintenance: %s", err.msg);
	else
		log_info("records: maintenance: %lld raw, %lld minute, %lld hour rows and %lld "
			 "thumbnails dropped; %lld -> %lld bytes in use",
			 (long long)ms.raw_deleted, (long long)ms.minute_deleted,
			 (long long)ms.hour_deleted, (long long)ms.thumbs_dropped,
			 (long long)ms.bytes_before, (long long)ms.bytes_after);
	w->next_maintain_ms = now + w->cfg.maintain_ms;
}

static void deadline(struct timespec *ts, int64_t ms_from_now)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms_from_now / 1000;
	ts->tv_nsec += (ms_from_now % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void write_batch(struct rwriter *w, struct item *batch, size_t n)
{
	struct records_err err = {{0}};
	uint64_t bad = 0;
	bool open = records_begin(w->db, &err) == 0;
	if (!open)
		log_error("records: cannot begin a batch: %s", err.msg);
	else
		pending_expire(w, w->cfg.now_ms(), false);
	for (struct item *it = batch; it && open; it = it->next) {
		err.msg[0] = '\0';
		if (apply(w, it, &err) < 0) {
			bad++;
			log_debug("records: %s not kept: %s", it->topic, err.msg);
		}
	}
	bool ok = open && records_commit(w->db, &err) == 0;
	if (open && !ok) {
		log_error("records: a batch of %zu messages was not committed: %s", n, err.msg);
		records_rollback(w->db, &err);
	}
	while (batch) {
		struct item *next = batch->next;
		free(batch);
		batch = next;
	}
	pthread_mutex_lock(&w->mu);
	w->st.batches++;
	if (ok) {
		w->st.written += n - bad;
		w->st.errors += bad;
	} else {
		w->st.errors += n;
	}
	w->finished += n;
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->mu);
}

static void *run(void *arg)
{
	struct rwriter *w = arg;
	maintain(w);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stop) {
			int64_t wait = w->next_maintain_ms - w->cfg.now_ms();
			if (wait <= 0) {
				pthread_mutex_unlock(&w->mu);
				maintain(w);
				pthread_mutex_lock(&w->mu);
				continue;
			}
			struct timespec ts;
			deadline(&ts, wait > 60000 ? 60000 : wait);
			pthread_cond_timedwait(&w->wake, &w->mu, &ts);
		}
		if (!w->head && w->stop)
			break;
		/* A batch: up to batch_max, or what came within batch_ms. */
		struct timespec until;
		deadline(&until, w->cfg.batch_ms);
		while (w->n_items < w->cfg.batch_max && !w->stop)
			if (pthread_cond_timedwait(&w->wake, &w->mu, &until) == ETIMEDOUT)
				break;
		struct item *batch = w->head, *last = NULL;
		size_t n = 0;
		for (struct item *it = w->head; it && n < w->cfg.batch_max; it = it->next) {
			last = it;
			n++;
			w->n_bytes -= it->size;
		}
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		w->n_items -= n;
		pthread_mutex_unlock(&w->mu);
		write_batch(w, batch, n);
		if (w->cfg.now_ms() >= w->next_maintain_ms)
			maintain(w);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	if (w->n_pending) { /* stopping: what is held is stored as it is */
		struct records_err err = {{0}};
		if (records_begin(w->db, &err) == 0) {
			pending_expire(w, 0, true);
			if (records_commit(w->db, &err) < 0)
				records_rollback(w->db, &err);
		}
		while (w->n_pending)
			pending_drop(w, 0);
	}
	return NULL;
}

/* ---- the loop's side ---- */

int rwriter_open(const struct rwriter_config *cfg, struct rwriter **out,
		 struct records_opened *opened, struct records_err *err)
{
	*out = NULL;
	struct rwriter *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	w->cfg = *cfg;
	if (!w->cfg.queue_items)
		w->cfg.queue_items = QUEUE_ITEMS_DEFAULT;
	if (!w->cfg.queue_bytes)
		w->cfg.queue_bytes = QUEUE_BYTES_DEFAULT;
	if (!w->cfg.batch_max)
		w->cfg.batch_max = BATCH_MAX_DEFAULT;
	if (!w->cfg.batch_ms)
		w->cfg.batch_ms = BATCH_MS_DEFAULT;
	if (!w->cfg.maintain_ms)
		w->cfg.maintain_ms = MAINTAIN_MS_DEFAULT;
	if (!w->cfg.now_ms)
		w->cfg.now_ms = real_now_ms;
	w->path = strdup(cfg->path);
	w->site = strdup(cfg->site);
	if (!w->path || !w->site) {
		free(w->path);
		free(w->site);
		free(w);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	w->cfg.path = w->path;
	w->cfg.site = w->site;
	struct records_options o = {.mode = RECORDS_WRITER,
				    .session_idle_ms = cfg->session_idle_ms};
	int rc = records_open(w->path, &o, &w->db, opened, err);
	if (rc < 0) {
		free(w->path);
		free(w->site);
		free(w);
		return rc;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->wake, &ca);
	pthread_cond_init(&w->done, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&w->thread, NULL, run, w))) {
		snprintf(err->msg, sizeof(err->msg), "cannot start the writer thread: %s",
			 strerror(rc));
		records_close(w->db);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->wake);
		pthread_cond_destroy(&w->done);
		free(w->path);
		free(w->site);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

int rwriter_push(struct rwriter *w, const char *topic, const void *payload, size_t len,
		 const char *for_prop, int64_t received_ms)
{
	size_t tlen = strlen(topic), flen = for_prop ? strlen(for_prop) : 0;
	size_t size = sizeof(struct item) + len + 1 + tlen + 1 + (for_prop ? flen + 1 : 0);
	pthread_mutex_lock(&w->mu);
	bool room = w->n_items < w->cfg.queue_items && w->n_bytes + size <= w->cfg.queue_bytes;
	pthread_mutex_unlock(&w->mu);
	struct item *it = room ? malloc(size) : NULL;
	if (!it) {
		pthread_mutex_lock(&w->mu);
		w->st.dropped++;
		int first = w->dropping ? 2 : 1;
		w->dropping = true;
		pthread_mutex_unlock(&w->mu);
		return first;
	}
	it->next = NULL;
	it->size = size;
	it->received_ms = received_ms;
	it->len = len;
	if (len)
		memcpy(it->payload, payload, len);
	it->payload[len] = '\0';
	it->topic = it->payload + len + 1;
	memcpy(it->topic, topic, tlen + 1);
	it->for_prop = NULL;
	if (for_prop) {
		it->for_prop = it->topic + tlen + 1;
		memcpy(it->for_prop, for_prop, flen + 1);
	}
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->n_items++;
	w->n_bytes += size;
	w->pushed++;
	w->dropping = false;
	if (w->n_items == 1 || w->n_items >= w->cfg.batch_max)
		pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void rwriter_stats(struct rwriter *w, struct rwriter_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	out->queued = w->n_items;
	pthread_mutex_unlock(&w->mu);
}

int rwriter_session(struct rwriter *w, enum rwriter_session_op op, const struct records_session *s)
{
	struct session_item si = {.op = op, .s = *s};
	si.s.role = NULL;
	si.s.user = NULL;
	snprintf(si.role, sizeof(si.role), "%s", s->role ? s->role : "");
	snprintf(si.user, sizeof(si.user), "%s", s->user ? s->user : "");
	/* No MQTT topic is empty: apply() knows a session by it. */
	return rwriter_push(w, "", &si, sizeof(si), NULL, 0);
}

void rwriter_flush(struct rwriter *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t want = w->pushed;
	pthread_cond_signal(&w->wake);
	while (w->finished < want)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void rwriter_close(struct rwriter *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	records_close(w->db);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->done);
	free(w->path);
	free(w->site);
	free(w);
}
