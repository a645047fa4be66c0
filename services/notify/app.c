/*
 * app.c — iod-notify's glue (app.h): MQTT in, the cores decide, MQTT and
 * the sender out. Loop thread only.
 */
#include "app.h"

#include "alerts.h"
#include "channel.h"
#include "contacts.h"
#include "ha.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "mqttc.h"
#include "outbox.h"
#include "policy.h"
#include "proto.h"
#include "sender.h"
#include "watchdog.h"
#include "webpush.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "<IPv4 address>:<port>". */
static int parse_listen(const char *value, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(value, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - value) >= sizeof(host) || colon == value)
		return -1;
	memcpy(host, value, (size_t)(colon - value));
	host[colon - value] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
		return -1;
	return uv_ip4_addr(host, (int)port, out) == 0 ? 0 : -1;
}

static bool listen_check(const char *value, char *why, size_t why_size)
{
	struct sockaddr_in sa;

	if (parse_listen(value, &sa) == 0)
		return true;
	snprintf(why, why_size, "'%.64s' is not <IPv4 address>:<port> (e.g. 127.0.0.1:9465)",
		 value);
	return false;
}

static bool quiet_check(const char *value, char *why, size_t why_size)
{
	struct policy_quiet q;

	return policy_quiet_parse(value, &q, why, why_size) == 0;
}

const struct cfg_option notify_app_options[] = {
    {"IOD_NOTIFY_CONTACTS_FILE", CFG_STRING, NULL,
     "who is told, in escalation order: one 'name levels url [url...]' a line (unset: nobody)", 0,
     0, 0, NULL},
    {"IOD_NOTIFY_ESCALATE_AFTER", CFG_DURATION, "15m",
     "a critical alert not acked this long goes to the next contact too", 1000,
     7LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_NOTIFY_REPEAT", CFG_DURATION, "1h",
     "a warning or critical alert not acked is told again this often", 1000, 7LL * 24 * 3600 * 1000,
     0, NULL},
    {"IOD_NOTIFY_QUIET", CFG_STRING, NULL,
     "local HH:MM-HH:MM when info and warning wait (critical never does); unset: none", 0, 0, 0,
     quiet_check},
    {"IOD_NOTIFY_OFFLINE_AFTER", CFG_DURATION, "5m",
     "a service offline this long raises service_offline", 1000, 7LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_NOTIFY_RETRY_FOR", CFG_DURATION, "24h",
     "a delivery that keeps failing is retried this long, then given up (notify_failed)", 1000,
     30LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_NOTIFY_TIMEOUT", CFG_DURATION, "10s", "one delivery attempt's time limit", 1000,
     600LL * 1000, 0, NULL},
    {"IOD_NOTIFY_VAPID_SUBJECT", CFG_STRING, WEBPUSH_SUBJECT_DEFAULT,
     "Web Push: the mailto: or https: contact push services may write to (the JWT's sub)", 0, 0, 0,
     webpush_subject_check},
    {"IOD_NOTIFY_METRICS_LISTEN", CFG_STRING, NULL,
     "serve Prometheus GET /metrics on this <IPv4 address>:<port> (unset: off)", 0, 0, 0,
     listen_check},
};
const size_t notify_app_options_count = sizeof(notify_app_options) / sizeof(notify_app_options[0]);

/* mqttc's incoming queue (service_def.queue_limit); beyond it messages are
 * dropped unread and on_dropped raises messages_dropped. */
#define NOTIFY_QUEUE_LIMIT 1024

struct notify_app {
	struct service *svc;
	uv_loop_t *loop;
	struct mqttc *mqtt;
	const char *site;
	bool stopping;
	uv_timer_t timer;
	int64_t timer_at; /* wall ms the timer is set for; INT64_MAX: not armed */
	/* One save, publish and tick per loop turn however many messages came
	 * in it (a burst of alerts costs one fsync of alerts.json). */
	uv_timer_t flush;
	bool flush_armed, set_dirty;

	char t_alert[PROTO_TOPIC_MAX], t_alerts[PROTO_TOPIC_MAX], t_cmd[PROTO_TOPIC_MAX],
	    t_event[PROTO_TOPIC_MAX], t_status[PROTO_TOPIC_MAX], t_schedule[PROTO_TOPIC_MAX],
	    t_plan[PROTO_TOPIC_MAX], t_avail[PROTO_TOPIC_MAX], prefix[PROTO_TOPIC_MAX];
	char alerts_path[PATH_MAX];

	struct policy_cfg policy;
	struct alerts alerts;
	struct watchdog wd;
	struct contacts contacts;
	struct proto_notify_status status;
	uint64_t bad_alerts;

	struct outbox *ob;
	struct outbox_stats ob_stats;
	struct sender *sender;
	/* Every contact's URLs parsed, flat: contact i's URL j is
	 * channels[first[i] + j], and so is status.channels[...]. */
	struct channel *channels;
	size_t first[CONTACTS_MAX], n_channels;

	/* Web Push: the VAPID identity and the browsers' subscriptions (NULL
	 * when the data dir's files could not be used: logged, the push
	 * deliveries then give up saying so, every other channel works). */
	struct webpush *wp;
	struct webpush_store *wps;

	struct ha_device ha; /* Home Assistant: notify's own device */
	char dashboard_url[512];
	/* Incoming messages mqttc dropped unread (messages_dropped). */
	uint64_t dropped, dropped_oversize, dropped_queue_full;

	/* GET /metrics (IOD_NOTIFY_METRICS_LISTEN): a listener and its few
	 * connections, each closed after one answer or METRICS_CONN_MS. */
	bool metrics_on;
	uv_tcp_t metrics;
	size_t metrics_conns;
	struct metrics_conn *conns; /* open ones, closed by stop */
};

#define METRICS_CONNS_MAX 8
#define METRICS_CONN_MS	  5000
#define METRICS_REQ_MAX	  2048

struct metrics_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	struct notify_app *a;
	char req[METRICS_REQ_MAX];
	size_t n;
	char *resp;
	int closing; /* handles still to close */
	struct metrics_conn *next;
};

/* A send in flight: the delivery's id (items move; ids do not). */
struct send_ctx {
	struct notify_app *a;
	uint64_t id;
};

/* One web push delivery: a POST to each browser of the user; delivered
 * when one took it, retried when none did and one may later. */
struct push_ctx {
	struct send_ctx *send;
	unsigned pending, ok, retry;
	char error[128];
};
struct push_one {
	struct push_ctx *parent;
	char endpoint[512];
};

/* ---- the contacts file ---------------------------------------------------------- */

static int url_check(void *arg, const char *url, char *why, size_t why_size)
{
	struct channel ch;

	(void)arg;
	return channel_parse(url, &ch, why, why_size);
}

static int load_contacts(const struct cfg *cfg, struct contacts *out, char *why, size_t size)
{
	const char *path = cfg_str(cfg, "IOD_NOTIFY_CONTACTS_FILE");

	memset(out, 0, sizeof(*out));
	if (path == NULL)
		return 0;
	return contacts_load(out, path, url_check, NULL, why, size);
}

int notify_app_check(const struct cfg *cfg, char *why, size_t size)
{
	struct contacts *cs = malloc(sizeof(*cs));
	char w[512];
	int rc = 0;

	if (cs == NULL) {
		snprintf(why, size, "out of memory");
		return 1;
	}
	if (load_contacts(cfg, cs, w, sizeof(w)) != 0) {
		snprintf(why, size, "IOD_NOTIFY_CONTACTS_FILE: %s", w);
		rc = 1;
	}
	free(cs);
	return rc;
}

/* ---- publishing ------------------------------------------------------------------ */

static bool can_publish(const struct notify_app *a)
{
	return !a->stopping && a->mqtt != NULL;
}

static void publish_alerts(struct notify_app *a)
{
	char *json;

	if (!can_publish(a))
		return;
	json = proto_alerts_encode(&a->alerts.set);
	if (json == NULL) {
		log_error("alerts: not encoded (out of memory)");
		return;
	}
	if (mqttc_publish_str(a->mqtt, a->t_alerts, json, 1, true) < 0)
		log_warn("alerts: publish refused (kept; sent again on reconnect)");
	free(json);
}

static void publish_status(struct notify_app *a)
{
	char *json;

	if (!can_publish(a))
		return;
	a->status.ts_ms = loop_wall_ms();
	a->status.depth = outbox_depth(a->ob); /* a delivery just done is not owed */
	json = proto_notify_status_encode(&a->status);
	if (json == NULL)
		return;
	(void)mqttc_publish_str(a->mqtt, a->t_status, json, 1, true);
	free(json);
}

static void answer(struct notify_app *a, const char *id, const char *action,
		   enum proto_result result, const char *reason, const char *detail)
{
	struct proto_feeder_event ev;
	char *json;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.id, sizeof(ev.id), "%s", id ? id : "");
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	ev.result = result;
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason ? reason : "");
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail ? detail : "");
	ev.ts_ms = loop_wall_ms();
	json = proto_feeder_event_encode(&ev);
	if (json && can_publish(a))
		(void)mqttc_publish_str(a->mqtt, a->t_event, json, 1, false);
	free(json);
}

static void flush_cb(uv_timer_t *t);

/* Run flush_cb on this loop turn's end (a 0 ms timer). */
static void schedule_flush(struct notify_app *a)
{
	if (a->flush_armed || a->stopping)
		return;
	a->flush_armed = true;
	uv_timer_start(&a->flush, flush_cb, 0, 0);
}

/* The set changed: kept and shown at the flush. */
static void alerts_changed(struct notify_app *a)
{
	a->set_dirty = true;
	schedule_flush(a);
}

static void save_and_publish(struct notify_app *a)
{
	int rc;

	if (!a->set_dirty)
		return;
	a->set_dirty = false;
	rc = alerts_save(&a->alerts, a->alerts_path);
	if (rc < 0)
		log_error("%s: not saved: %s (the set is published anyway)", a->alerts_path,
			  strerror(-rc));
	publish_alerts(a);
}

/* ---- delivery ---------------------------------------------------------------------- */

static void raise_alert(struct notify_app *a, const struct proto_alert *al, bool publish);
static void tick(struct notify_app *a);

static int contact_index(const struct notify_app *a, const char *name)
{
	for (size_t i = 0; i < a->contacts.n; i++)
		if (strcmp(a->contacts.c[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Queue one delivery a URL of contact c, unless the outbox has it. */
static void queue(struct notify_app *a, const struct outbox_item *proto_it, size_t c)
{
	const struct contact *ct = &a->contacts.c[c];

	for (size_t j = 0; j < ct->n_urls; j++) {
		struct outbox_item it = *proto_it;
		int err;

		snprintf(it.contact, sizeof(it.contact), "%s", ct->name);
		it.url = (int)j;
		if (outbox_has(a->ob, it.key, it.contact, it.url, it.occ))
			continue;
		if (outbox_queue(a->ob, &it, loop_wall_ms(), &err) == NULL) {
			/* Not on disk: tried anyway on the next tick, never dropped. */
			log_error("outbox: %s for %s not written: %s", it.key, it.contact,
				  strerror(err));
			continue;
		}
		a->status.queued++;
		log_info("queued %s (%s) for %s via %s", it.key, it.occ, it.contact,
			 a->channels[a->first[c] + j].label);
	}
}

/* Tell contact c about e (round: 0 first, n the n-th repeat). */
static void deliver(struct notify_app *a, const struct proto_active_alert *e, size_t c,
		    int64_t round)
{
	struct outbox_item it;

	memset(&it, 0, sizeof(it));
	memcpy(it.key, e->key, sizeof(it.key));
	snprintf(it.occ, sizeof(it.occ), "%lld.%lld", (long long)e->since_ms, (long long)round);
	it.alert = e->alert;
	it.since_ms = e->since_ms;
	queue(a, &it, c);
}

/* A delivery that will not happen: said on the wire, as an alert. */
static void given_up(struct notify_app *a, struct outbox_item *it, const char *error)
{
	struct proto_alert al;
	char why[sizeof(it->last_error)];

	/* A copy: error may be it->last_error itself (kick's), which
	 * outbox_given_up writes over (an overlapping snprintf left it ""). */
	snprintf(why, sizeof(why), "%s", error);
	error = why;
	(void)outbox_given_up(a->ob, it, loop_wall_ms(), error);
	a->status.given_up++;
	log_error("delivery of %s to %s given up: %s", it->key, it->contact, error);
	if (strcmp(it->alert.code, PROTO_ALERT_NOTIFY_FAILED) == 0 &&
	    strcmp(it->alert.subject, it->contact) == 0)
		return; /* telling someone they cannot be told: already active */
	memset(&al, 0, sizeof(al));
	snprintf(al.source, sizeof(al.source), "notify");
	snprintf(al.code, sizeof(al.code), "%s", PROTO_ALERT_NOTIFY_FAILED);
	snprintf(al.subject, sizeof(al.subject), "%s", it->contact);
	al.level = PROTO_LEVEL_WARNING;
	snprintf(al.message, sizeof(al.message),
		 "could not tell %.63s (URL %d) about %.100s: %.48s", it->contact, it->url + 1,
		 it->key, error);
	al.ts_ms = loop_wall_ms();
	raise_alert(a, &al, true);
}

static struct proto_notify_channel_status *chan_status(struct notify_app *a,
						       const struct outbox_item *it)
{
	int c = contact_index(a, it->contact);

	if (c < 0 || (size_t)it->url >= a->contacts.c[c].n_urls)
		return NULL;
	size_t k = a->first[c] + (size_t)it->url;
	return k < PROTO_STATUS_CHANNELS_MAX ? &a->status.channels[k] : NULL;
}

static bool keep_active(void *arg, const char *key)
{
	struct notify_app *a = arg;

	return alerts_find(&a->alerts, key) != NULL;
}

static void send_done(void *arg, enum send_outcome outcome, const char *error)
{
	struct send_ctx *ctx = arg;
	struct notify_app *a = ctx->a;
	struct outbox_item *it = outbox_find(a->ob, ctx->id);
	struct proto_notify_channel_status *cs;
	int64_t now = loop_wall_ms();

	free(ctx);
	if (it == NULL)
		return;
	it->in_flight = false;
	if (a->stopping)
		return; /* cancelled by the stop: tried again after the restart */
	cs = chan_status(a, it);
	if (outcome == SEND_OK) {
		(void)outbox_delivered(a->ob, it, now);
		a->status.delivered++;
		if (cs) {
			cs->sent++;
			cs->last_ok_ms = now;
		}
		log_info("delivered %s (%s) to %s", it->key, it->occ, it->contact);
	} else {
		a->status.failed++;
		if (cs) {
			cs->failed++;
			snprintf(cs->last_error, sizeof(cs->last_error), "%s", error ? error : "?");
			cs->last_error_ms = now;
		}
		if (outcome == SEND_PERMANENT)
			given_up(a, it, error ? error : "refused");
		else if (now - it->queued_ms >= a->policy.retry_for_ms)
			given_up(a, it, error ? error : "failed");
		else {
			int64_t next = now + policy_backoff_ms(it->attempts + 1);

			log_warn("delivery of %s to %s failed (%s), next attempt in %lld s",
				 it->key, it->contact, error ? error : "?",
				 (long long)((next - now) / 1000));
			(void)outbox_failed(a->ob, it, now, next, error);
		}
	}
	(void)outbox_compact(a->ob, false, keep_active, a);
	publish_status(a);
	schedule_flush(a);
}

static void push_finish(struct push_ctx *p)
{
	enum send_outcome o = p->ok ? SEND_OK : p->retry ? SEND_RETRY : SEND_PERMANENT;
	char error[128];

	snprintf(error, sizeof(error), "%s", p->error[0] ? p->error : "refused");
	send_done(p->send, o, o == SEND_OK ? NULL : error);
	free(p);
}

static void push_done(void *arg, enum send_outcome outcome, const char *error)
{
	struct push_one *one = arg;
	struct push_ctx *p = one->parent;
	struct notify_app *a = p->send->a;
	char why[256];

	if (outcome == SEND_OK) {
		p->ok++;
	} else if (webpush_error_is_gone(error)) {
		/* The browser unsubscribed or the app was removed: forget it. */
		if (!a->stopping && a->wps &&
		    webpush_store_remove(a->wps, one->endpoint, why, sizeof(why)) < 0)
			log_error("webpush: %s", why);
		log_info("webpush: a subscription is gone (%s), dropped", error);
		snprintf(p->error, sizeof(p->error), "%s (subscription gone)", error);
	} else {
		if (outcome == SEND_RETRY)
			p->retry++;
		snprintf(p->error, sizeof(p->error), "%s", error ? error : "failed");
	}
	free(one);
	if (--p->pending == 0)
		push_finish(p);
}

/* One POST per browser of the channel's user, through sender_post. */
static void attempt_push(struct notify_app *a, struct outbox_item *it, const struct channel *ch,
			 struct send_ctx *ctx)
{
	char why[256], title[96];
	struct webpush_alert wa;
	struct push_ctx *p;
	size_t n;

	if (a->wp == NULL || a->wps == NULL) {
		free(ctx);
		given_up(a, it, "web push is not available (its key or store: see the log)");
		return;
	}
	n = webpush_store_count(a->wps, ch->webpush_user);
	if (n == 0) {
		free(ctx);
		snprintf(why, sizeof(why), "no browser of %s has turned on notifications",
			 ch->webpush_user);
		given_up(a, it, why);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		free(ctx);
		return;
	}
	p->send = ctx;
	snprintf(title, sizeof(title), "TEST: iod-notify (%s)", a->site);
	wa = (struct webpush_alert){.key = it->key,
				    .source = it->alert.source,
				    .code = it->alert.code,
				    .level = proto_level_name(it->alert.level),
				    .message = it->alert.message,
				    .site = a->site,
				    .title = it->test ? title : NULL,
				    .since_ms = it->since_ms};
	it->in_flight = true;
	/* Held at 1 until every POST is started, so none can finish it early. */
	p->pending = 1;
	for (size_t i = 0; i < n; i++) {
		const struct webpush_entry *e = webpush_store_get(a->wps, ch->webpush_user, i);
		struct webpush_request req;
		struct push_one *one;

		if (e == NULL)
			break;
		if (webpush_prepare(a->wp, &e->sub, &wa, loop_wall_ms(), NULL, &req, why,
				    sizeof(why)) != 0) {
			snprintf(p->error, sizeof(p->error), "%.120s", why);
			continue;
		}
		one = calloc(1, sizeof(*one));
		if (one == NULL) {
			webpush_request_free(&req);
			continue;
		}
		one->parent = p;
		snprintf(one->endpoint, sizeof(one->endpoint), "%s", e->sub.endpoint);
		if (sender_post(a->sender, req.url, req.headers, req.body, req.body_len, push_done,
				one) == 0) {
			p->pending++;
		} else {
			free(one);
			p->retry++;
			snprintf(p->error, sizeof(p->error), "could not start the request");
		}
		webpush_request_free(&req);
	}
	if (--p->pending == 0)
		push_finish(p); /* nothing started: settled now, by the rules above */
}

static void attempt(struct notify_app *a, struct outbox_item *it)
{
	int c = contact_index(a, it->contact);
	const struct channel *ch;
	struct send_ctx *ctx;
	char site[PROTO_SITE_MAX + 1];
	struct notify_msg m;

	if (c < 0 || (size_t)it->url >= a->contacts.c[c].n_urls) {
		given_up(a, it, "the contact or URL is no longer in the contacts file");
		return;
	}
	ch = &a->channels[a->first[c] + (size_t)it->url];
	snprintf(site, sizeof(site), "%s", a->site);
	m = (struct notify_msg){.site = site,
				.key = it->key,
				.source = it->alert.source,
				.code = it->alert.code,
				.level = proto_level_name(it->alert.level),
				.message = it->alert.message,
				.contact = it->contact,
				.since_ms = it->since_ms,
				.ts_ms = loop_wall_ms(),
				.test = it->test};
	ctx = malloc(sizeof(*ctx));
	if (ctx == NULL)
		return;
	ctx->a = a;
	ctx->id = it->id;
	if (ch->kind == CHANNEL_WEBPUSH) {
		attempt_push(a, it, ch, ctx);
		return;
	}
	if (sender_send(a->sender, ch, &m, send_done, ctx) != 0) {
		free(ctx);
		given_up(a, it, "could not start the request");
		return;
	}
	it->in_flight = true;
}

/* Start every pending delivery that is due: what was queued is on disk
 * first (one fdatasync for the batch). */
static void kick(struct notify_app *a, int64_t now)
{
	int rc = outbox_sync(a->ob);
	uint64_t given_up_before = a->status.given_up;

	if (rc < 0)
		log_error("outbox: fdatasync: %s (sending anyway: telling beats keeping)",
			  strerror(-rc));
	for (size_t i = 0; i < outbox_count(a->ob); i++) {
		struct outbox_item *it = outbox_at(a->ob, i);

		if (it->state != OUTBOX_PENDING || it->in_flight || it->next_ms > now)
			continue;
		if (now - it->queued_ms >= a->policy.retry_for_ms) {
			given_up(a, it,
				 it->last_error[0] ? it->last_error : "not delivered in time");
			continue;
		}
		attempt(a, it);
	}
	a->status.depth = outbox_depth(a->ob);
	/* Given up here (past retry_for, or not startable): no send_done
	 * will publish it, so say it now. */
	if (a->status.given_up != given_up_before)
		publish_status(a);
}

/* What the policy says for every active alert now; and the next deadline. */
static int64_t run_policy(struct notify_app *a, int64_t now)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < a->alerts.set.n; i++) {
		const struct proto_active_alert *e = &a->alerts.set.active[i];
		struct policy_send sends[POLICY_SENDS_MAX];
		int64_t t;
		size_t n = policy_due(&a->policy, &a->contacts, e, now, sends, &t);

		for (size_t j = 0; j < n; j++)
			deliver(a, e, sends[j].contact, sends[j].round);
		if (t < next)
			next = t;
	}
	return next;
}

/* ---- the one timer ----------------------------------------------------------------- */

static void timer_cb(uv_timer_t *t);

/* Everything time decides, then the timer to the next deadline. */
static void tick(struct notify_app *a)
{
	struct proto_alert due[16];
	int64_t now = loop_wall_ms(), next;
	size_t n;

	if (a->stopping)
		return;
	while ((n = watchdog_check(&a->wd, now, due, 16)) > 0)
		for (size_t i = 0; i < n; i++)
			raise_alert(a, &due[i], true);
	if (alerts_expire(&a->alerts, now) > 0)
		alerts_changed(a);
	next = run_policy(a, now);
	kick(a, now);
	if (outbox_next_due(a->ob) < next)
		next = outbox_next_due(a->ob);
	if (watchdog_next_ms(&a->wd) < next)
		next = watchdog_next_ms(&a->wd);
	if (alerts_next_expiry(&a->alerts) < next)
		next = alerts_next_expiry(&a->alerts);
	a->timer_at = next;
	if (next == INT64_MAX) {
		uv_timer_stop(&a->timer);
		return;
	}
	/* Wall-clock deadlines on a monotonic timer: re-checked when it fires. */
	int64_t wait = next - now;
	if (wait < 0)
		wait = 0;
	if (wait > 24LL * 3600 * 1000)
		wait = 24LL * 3600 * 1000;
	uv_timer_start(&a->timer, timer_cb, (uint64_t)wait + 1, 0);
}

static void timer_cb(uv_timer_t *t)
{
	struct notify_app *a = t->data;

	tick(a);
	save_and_publish(a);
}

static void flush_cb(uv_timer_t *t)
{
	struct notify_app *a = t->data;

	a->flush_armed = false;
	tick(a);
	save_and_publish(a);
}

/* ---- alerts in ---------------------------------------------------------------------- */

static void raise_alert(struct notify_app *a, const struct proto_alert *al, bool publish)
{
	struct proto_active_alert *e;
	char evicted[PROTO_ALERT_KEY_MAX];
	enum alerts_raise_result r;

	r = alerts_raise(&a->alerts, al, loop_wall_ms(), &e, evicted, sizeof(evicted));
	switch (r) {
	case ALERTS_REFUSED:
		log_warn("alert %s/%s/%s: key too long, not kept", al->source, al->code,
			 al->subject);
		return;
	case ALERTS_FACT:
		log_info("alert %s/%s: a recovery, clears what it recovers", al->source, al->code);
		break;
	case ALERTS_NEW:
		log_info("alert %s: %s (%s)", e->key, al->message, proto_level_name(al->level));
		if (evicted[0])
			log_warn("alerts: set full, %s dropped for %s", evicted, e->key);
		break;
	case ALERTS_UPDATED:
		log_debug("alert %s again: updated", e->key);
		break;
	}
	/* Our own raise goes out on the alert topic too, for whoever listens
	 * there (the dashboard, Home Assistant); no-local keeps it from us. */
	if (publish && r == ALERTS_NEW && can_publish(a))
		(void)service_alert_publish(a->mqtt, a->site, al);
	/* Queued now, not at the flush: a burst that fills the set and drops
	 * this entry before the flush still owes its first telling. */
	if (r == ALERTS_NEW) {
		struct policy_send sends[POLICY_SENDS_MAX];
		int64_t next;
		size_t n = policy_due(&a->policy, &a->contacts, e, loop_wall_ms(), sends, &next);

		for (size_t j = 0; j < n; j++)
			deliver(a, e, sends[j].contact, sends[j].round);
	}
	alerts_changed(a);
}

static void on_alert(struct notify_app *a, const struct mqttc_message *msg)
{
	struct proto_alert al;
	const char *why = NULL;

	if (proto_alert_decode(msg->payload, msg->len, &al, &why) != 0) {
		a->bad_alerts++;
		log_warn("alert refused: %s (%zu bytes)", why, msg->len);
		return;
	}
	raise_alert(a, &al, false);
}

/* ---- retained state in ---------------------------------------------------------------- */

static void on_schedule(struct notify_app *a, const struct mqttc_message *msg)
{
	struct proto_schedule *s = malloc(sizeof(*s));
	const char *why = NULL;
	size_t cleared = 0;

	if (s == NULL)
		return;
	if (proto_schedule_decode(msg->payload, msg->len, s, &why) != 0) {
		log_warn("feeder/schedule ignored: %s", why);
		free(s);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		enum proto_slot_status st = s->slots[i].status;

		if (st == PROTO_SLOT_GIVEN || st == PROTO_SLOT_LATE || st == PROTO_SLOT_SKIPPED)
			cleared +=
			    alerts_fact_slot_done(&a->alerts, s->slots[i].slot, loop_wall_ms());
	}
	watchdog_schedule(&a->wd, s);
	free(s);
	if (cleared)
		alerts_changed(a);
}

static void on_plan(struct notify_app *a, const struct mqttc_message *msg)
{
	struct proto_plan *p = malloc(sizeof(*p));
	const char *why = NULL;

	if (p == NULL)
		return;
	if (proto_plan_decode(msg->payload, msg->len, p, &why) == 0)
		watchdog_grace(&a->wd, p->grace_s * 1000);
	else
		log_warn("feeder/plan ignored: %s", why);
	free(p);
}

static void on_availability(struct notify_app *a, const struct mqttc_message *msg,
			    const char *service)
{
	bool online;

	if (msg->len == strlen(PROTO_ONLINE) && memcmp(msg->payload, PROTO_ONLINE, msg->len) == 0)
		online = true;
	else if (msg->len == strlen(PROTO_OFFLINE) &&
		 memcmp(msg->payload, PROTO_OFFLINE, msg->len) == 0)
		online = false;
	else
		return;
	watchdog_availability(&a->wd, service, online, loop_wall_ms());
	if (online && alerts_fact_online(&a->alerts, service, loop_wall_ms()))
		alerts_changed(a);
}

/* ---- commands -------------------------------------------------------------------------- */

/* subscribe / unsubscribe: a dashboard user's browser, for webpush:<user>. */
static void on_push_cmd(struct notify_app *a, const struct proto_notify_cmd *cmd,
			const char *action)
{
	struct webpush_subscription sub;
	char why[256];
	int rc;

	if (a->wps == NULL) {
		answer(a, cmd->id, action, PROTO_RESULT_FAILED, PROTO_REASON_PUSH_UNAVAILABLE,
		       NULL);
		return;
	}
	if (cmd->action == PROTO_NOTIFY_UNSUBSCRIBE) {
		rc = webpush_store_remove(a->wps, cmd->endpoint, why, sizeof(why));
		if (rc < 0)
			log_error("webpush: %s", why);
		answer(a, cmd->id, action, rc > 0 ? PROTO_RESULT_OK : PROTO_RESULT_FAILED,
		       rc > 0	 ? NULL
		       : rc == 0 ? PROTO_REASON_UNKNOWN_ENDPOINT
				 : PROTO_REASON_NOT_STORED,
		       NULL);
		if (rc > 0)
			log_info("webpush: %s unsubscribed a browser", cmd->by);
		return;
	}
	if (!webpush_user_ok(cmd->by)) {
		answer(a, cmd->id, action, PROTO_RESULT_REJECTED, "bad_by",
		       "by must be 1-63 of [A-Za-z0-9._-] (it names webpush:<user>)");
		return;
	}
	if (webpush_subscription_parse(cmd->subscription, &sub, why, sizeof(why)) != 0) {
		answer(a, cmd->id, action, PROTO_RESULT_REJECTED, PROTO_REASON_BAD_SUBSCRIPTION,
		       why);
		return;
	}
	if (webpush_store_add(a->wps, cmd->by, &sub, loop_wall_ms(), why, sizeof(why)) != 0) {
		log_error("webpush: %s", why);
		answer(a, cmd->id, action, PROTO_RESULT_FAILED, PROTO_REASON_NOT_STORED, why);
		return;
	}
	log_info("webpush: %s turned on notifications in a browser (%zu now)", cmd->by,
		 webpush_store_count(a->wps, cmd->by));
	answer(a, cmd->id, action, PROTO_RESULT_OK, NULL, NULL);
}

static void on_cmd(struct notify_app *a, const struct mqttc_message *msg)
{
	struct proto_notify_cmd cmd;
	const char *reason = NULL, *by_then = NULL;
	const char *action;

	int rc = proto_notify_cmd_decode(msg->payload, msg->len, &cmd, &reason);
	action = cmd.has_action ? proto_notify_action_name(cmd.action) : "unknown";
	if (rc != 0) {
		log_info("notify/cmd rejected: %s", reason);
		answer(a, cmd.id, action, PROTO_RESULT_REJECTED, reason, NULL);
		return;
	}
	if (msg->retained) {
		answer(a, cmd.id, action, PROTO_RESULT_REJECTED, PROTO_REASON_RETAINED, NULL);
		return;
	}
	if (cmd.action == PROTO_NOTIFY_ACK) {
		if (alerts_ack(&a->alerts, cmd.key, cmd.by, loop_wall_ms(), &reason, &by_then) !=
		    0) {
			bool dup = strcmp(reason, PROTO_REASON_ALREADY_ACKED) == 0;
			char detail[PROTO_DETAIL_MAX] = "";

			if (dup)
				snprintf(detail, sizeof(detail), "acked by %s", by_then);
			answer(a, cmd.id, action,
			       dup ? PROTO_RESULT_DUPLICATE : PROTO_RESULT_FAILED, reason, detail);
			return;
		}
		log_info("alert %s acked by %s", cmd.key, cmd.by);
		alerts_changed(a);
		answer(a, cmd.id, action, PROTO_RESULT_OK, NULL, NULL);
		return;
	}
	if (cmd.action == PROTO_NOTIFY_SUBSCRIBE || cmd.action == PROTO_NOTIFY_UNSUBSCRIBE) {
		on_push_cmd(a, &cmd, action);
		return;
	}
	const struct contact *c = contacts_find(&a->contacts, cmd.to);
	if (c == NULL) {
		answer(a, cmd.id, action, PROTO_RESULT_FAILED, PROTO_REASON_UNKNOWN_CONTACT, NULL);
		return;
	}
	struct outbox_item it;
	int64_t now = loop_wall_ms();

	memset(&it, 0, sizeof(it));
	snprintf(it.key, sizeof(it.key), "notify/test");
	snprintf(it.occ, sizeof(it.occ), "test.%lld", (long long)now);
	snprintf(it.alert.source, sizeof(it.alert.source), "notify");
	snprintf(it.alert.code, sizeof(it.alert.code), "test");
	it.alert.level = PROTO_LEVEL_INFO;
	snprintf(it.alert.message, sizeof(it.alert.message),
		 "a test notification from iod-notify%s%s", cmd.by[0] ? ", asked by " : "", cmd.by);
	it.since_ms = now;
	it.test = true;
	log_info("test notification for %s", c->name);
	queue(a, &it, (size_t)(c - a->contacts.c));
	answer(a, cmd.id, action, PROTO_RESULT_OK, NULL, NULL);
	publish_status(a);
}

/* ---- GET /metrics ------------------------------------------------------------------------ */

static void conn_closed(uv_handle_t *h)
{
	struct metrics_conn *c = h->data;

	if (--c->closing > 0)
		return;
	for (struct metrics_conn **p = &c->a->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	c->a->metrics_conns--;
	free(c->resp);
	free(c);
}

static void conn_close(struct metrics_conn *c)
{
	if (c->closing)
		return;
	c->closing = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void conn_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void conn_written(uv_write_t *w, int status)
{
	(void)status;
	conn_close(w->data);
}

static char *metrics_text(struct notify_app *a)
{
	const char *kinds[PROTO_STATUS_CHANNELS_MAX];
	size_t active[3] = {0, 0, 0};

	for (size_t i = 0; i < a->status.n_channels; i++)
		kinds[i] = channel_kind_name(a->channels[i].kind);
	for (size_t i = 0; i < a->alerts.set.n; i++)
		active[a->alerts.set.active[i].alert.level]++;
	a->status.depth = outbox_depth(a->ob);
	return notify_metrics_render(&a->status, kinds, active);
}

static void conn_answer(struct metrics_conn *c)
{
	const char *status = "404 Not Found", *type = "text/plain; charset=utf-8";
	char *body = NULL;
	const char *text = "not found\n";
	size_t len;

	uv_read_stop((uv_stream_t *)&c->tcp);
	if (strncmp(c->req, "GET /metrics ", 13) == 0 ||
	    strncmp(c->req, "GET /metrics?", 13) == 0) {
		body = metrics_text(c->a);
		status = body ? "200 OK" : "500 Internal Server Error";
		type = "text/plain; version=0.0.4; charset=utf-8";
		text = body ? body : "out of memory\n";
	} else if (strncmp(c->req, "GET ", 4) != 0 && strncmp(c->req, "HEAD ", 5) != 0) {
		status = "405 Method Not Allowed";
		text = "GET only\n";
	}
	len = strlen(text);
	c->resp = malloc(len + 256);
	if (c->resp == NULL) {
		free(body);
		conn_close(c);
		return;
	}
	int n = snprintf(c->resp, 256,
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);
	memcpy(c->resp + n, text, len);
	free(body);
	uv_buf_t buf = uv_buf_init(c->resp, (unsigned)((size_t)n + len));
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, conn_written) != 0)
		conn_close(c);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct metrics_conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->req + c->n, (unsigned)(METRICS_REQ_MAX - 1 - c->n));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct metrics_conn *c = s->data;

	(void)buf;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->n += (size_t)nread;
	c->req[c->n] = '\0';
	/* The request line and headers are all we read; a body is not expected. */
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") || c->n >= METRICS_REQ_MAX - 1)
		conn_answer(c);
}

static void on_metrics_conn(uv_stream_t *server, int status)
{
	struct notify_app *a = server->data;
	struct metrics_conn *c;

	if (status < 0 || a->stopping)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->a = a;
	uv_tcp_init(a->loop, &c->tcp);
	uv_timer_init(a->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->next = a->conns;
	a->conns = c;
	a->metrics_conns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
	    a->metrics_conns > METRICS_CONNS_MAX) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, conn_timeout, METRICS_CONN_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) != 0)
		conn_close(c);
}

static int metrics_listen(struct notify_app *a, const char *where)
{
	struct sockaddr_in sa;
	int rc;

	if (where == NULL)
		return 0;
	if (parse_listen(where, &sa) != 0)
		return -1;
	uv_tcp_init(a->loop, &a->metrics);
	a->metrics.data = a;
	a->metrics_on = true;
	rc = uv_tcp_bind(&a->metrics, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&a->metrics, 16, on_metrics_conn);
	if (rc != 0) {
		log_error("IOD_NOTIFY_METRICS_LISTEN %s: %s", where, uv_strerror(rc));
		return -1;
	}
	log_info("metrics on http://%s/metrics", where);
	return 0;
}

/* ---- the service ------------------------------------------------------------------------- */

static void on_message(void *arg, const struct mqttc_message *msg)
{
	struct notify_app *a = arg;
	struct proto_topic_parts parts;

	if (a->stopping)
		return;
	if (strcmp(msg->topic, a->t_alert) == 0)
		on_alert(a, msg);
	else if (strcmp(msg->topic, a->t_cmd) == 0)
		on_cmd(a, msg);
	else if (strcmp(msg->topic, a->t_schedule) == 0)
		on_schedule(a, msg);
	else if (strcmp(msg->topic, a->t_plan) == 0)
		on_plan(a, msg);
	else if (proto_topic_split(msg->topic, &parts) == 0 && parts.leaf &&
		 strcmp(parts.leaf, "availability") == 0)
		on_availability(a, msg, parts.service);
	else
		return;
	schedule_flush(a);
}

/*
 * mqttc dropped incoming messages unread (over the size limit, or pushed
 * out of its full queue by a flood): an alert may have been among them, so
 * that is an alert itself, a warning raised in our own set (and on the
 * alert topic) and told like any other. One key, notify/messages_dropped:
 * a later drop updates it with the running count until it is acked.
 */
static void on_dropped(void *arg, uint64_t oversize, uint64_t queue_full, const char *last_topic)
{
	struct notify_app *a = arg;
	struct proto_alert al;

	if (a->stopping || oversize + queue_full == 0)
		return;
	a->dropped_oversize += oversize;
	a->dropped_queue_full += queue_full;
	a->dropped += oversize + queue_full;
	memset(&al, 0, sizeof(al));
	snprintf(al.source, sizeof(al.source), "notify");
	snprintf(al.code, sizeof(al.code), "%s", PROTO_ALERT_MESSAGES_DROPPED);
	al.level = PROTO_LEVEL_WARNING;
	snprintf(al.message, sizeof(al.message),
		 "%llu incoming message(s) dropped unread (%llu too large, %llu over the queue of "
		 "%zu), the last on %.64s: an alert may be among them",
		 (unsigned long long)a->dropped, (unsigned long long)a->dropped_oversize,
		 (unsigned long long)a->dropped_queue_full, (size_t)NOTIFY_QUEUE_LIMIT,
		 last_topic ? last_topic : "?");
	al.ts_ms = loop_wall_ms();
	log_warn("%s", al.message);
	raise_alert(a, &al, true);
	schedule_flush(a);
}

/* info as the skeleton publishes it, plus "vapid_public_key" (the
 * dashboard's applicationServerKey): published again, retained, after it. */
static void publish_info(struct notify_app *a)
{
	struct proto_info info = {
	    .version = IOD_VERSION, .since_ms = service_since_ms(a->svc), .backend = "notify"};
	char topic[PROTO_TOPIC_MAX], *json, *out = NULL;
	cJSON *o;

	service_info_fill_home(&info); /* tz, site_name, dog_name, as every service's */

	if (a->wp == NULL || !can_publish(a) ||
	    proto_topic_info(topic, sizeof(topic), a->site, "notify") != 0 ||
	    (json = proto_info_encode(&info)) == NULL)
		return;
	o = cJSON_Parse(json);
	free(json);
	if (o && cJSON_AddStringToObject(o, "vapid_public_key", webpush_public_key_b64url(a->wp)))
		out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (out)
		(void)mqttc_publish_str(a->mqtt, topic, out, 1, true);
	free(out);
}

/*
 * Home Assistant, on notify's own device and with its availability:
 *  - "Alerts", an event entity on iod/<site>/alert. HA's MQTT event wants a
 *    JSON object with an event_type listed in event_types; an alert has
 *    "code" instead, so the value_template renders that object (HA parses
 *    what the template renders), carrying the alert's other members as
 *    the event's attributes. Every code proto.h defines is listed.
 *  - "Needs attention", a problem binary sensor read from the retained
 *    `alerts` set by a template: on while an active critical alert has no
 *    ack. The set is the truth already (retained, so right at HA's start,
 *    and current after every change); a state topic of its own would be a
 *    second copy to keep in step.
 */
static const char *const ha_alert_codes[] = {
    PROTO_ALERT_MISSED_DOSE,	  PROTO_ALERT_UNCERTAIN_DOSE,	PROTO_ALERT_JOURNAL,
    PROTO_ALERT_SENSOR_LOST,	  PROTO_ALERT_CAMERA_LOST,	PROTO_ALERT_DOSE_FAILED,
    PROTO_ALERT_JOURNAL_DAMAGED,  PROTO_ALERT_COMMANDS_DROPPED, PROTO_ALERT_SENSOR_RECOVERED,
    PROTO_ALERT_CAMERA_RECOVERED, PROTO_ALERT_BAD_COMMAND,	PROTO_ALERT_LOW_STOCK,
    PROTO_ALERT_OUT_OF_STOCK,	  PROTO_ALERT_DOSE_UNVERIFIED,	PROTO_ALERT_CLOCK_UNSYNCED,
    PROTO_ALERT_DOSE_OVERDUE,	  PROTO_ALERT_SERVICE_OFFLINE,	PROTO_ALERT_NOTIFY_FAILED,
    PROTO_ALERT_MESSAGES_DROPPED,
};

#define HA_ALERT_TEMPLATE                                                                          \
	"{{ {\"event_type\": value_json.code, \"source\": value_json.source, "                     \
	"\"subject\": value_json.get('subject') or '', \"key\": value_json.source ~ '/' ~ "        \
	"value_json.code ~ ('/' ~ value_json.subject if value_json.get('subject') else ''), "      \
	"\"level\": value_json.level, \"message\": value_json.message, \"ts\": value_json.ts} "    \
	"| to_json }}"
#define HA_ATTENTION_TEMPLATE                                                                      \
	"{{ 'ON' if value_json.active | selectattr('level', 'eq', 'critical') "                    \
	"| selectattr('acked_by', 'none') | list | count > 0 else 'OFF' }}"

static void publish_discovery(void *arg)
{
	struct notify_app *a = arg;
	cJSON *e = ha_entity_new(&a->ha, "event", "alerts", "Alerts");
	cJSON *types = e ? cJSON_AddArrayToObject(e, "event_types") : NULL;

	for (size_t i = 0; types && i < sizeof(ha_alert_codes) / sizeof(ha_alert_codes[0]); i++)
		cJSON_AddItemToArray(types, cJSON_CreateString(ha_alert_codes[i]));
	if (e && (!types || !cJSON_AddStringToObject(e, "state_topic", a->t_alert) ||
		  !cJSON_AddStringToObject(e, "value_template", HA_ALERT_TEMPLATE) ||
		  !cJSON_AddStringToObject(e, "icon", "mdi:alert"))) {
		cJSON_Delete(e);
		e = NULL;
	}
	ha_publish_entity(a->mqtt, &a->ha, "event", "alerts", e);

	e = ha_entity_new(&a->ha, "binary_sensor", "attention", "Needs attention");
	if (e && (!cJSON_AddStringToObject(e, "state_topic", a->t_alerts) ||
		  !cJSON_AddStringToObject(e, "value_template", HA_ATTENTION_TEMPLATE) ||
		  !cJSON_AddStringToObject(e, "payload_on", "ON") ||
		  !cJSON_AddStringToObject(e, "payload_off", "OFF") ||
		  !cJSON_AddStringToObject(e, "device_class", "problem"))) {
		cJSON_Delete(e);
		e = NULL;
	}
	ha_publish_entity(a->mqtt, &a->ha, "binary_sensor", "attention", e);
}

static void on_connected(void *arg)
{
	struct notify_app *a = arg;

	publish_info(a);
	publish_alerts(a);
	publish_status(a);
}

static const char *backend(void *arg)
{
	(void)arg;
	return "notify";
}

static int topics(struct notify_app *a)
{
	const char *s = a->site;

	return proto_topic_alert(a->t_alert, sizeof(a->t_alert), s) ||
	       proto_topic(a->t_alerts, sizeof(a->t_alerts), s, "alerts", NULL) ||
	       proto_topic(a->t_cmd, sizeof(a->t_cmd), s, "notify", "cmd") ||
	       proto_topic(a->t_event, sizeof(a->t_event), s, "notify", "event") ||
	       proto_topic(a->t_status, sizeof(a->t_status), s, "notify", "status") ||
	       proto_topic(a->t_schedule, sizeof(a->t_schedule), s, "feeder", "schedule") ||
	       proto_topic(a->t_plan, sizeof(a->t_plan), s, "feeder", "plan") ||
	       proto_topic(a->t_avail, sizeof(a->t_avail), s, "+", "availability");
}

static void *create(struct service *svc, int *exit_code)
{
	const struct cfg *cfg = service_cfg(svc);
	struct notify_app *a = calloc(1, sizeof(*a));
	char why[512];
	const char *dir = cfg_str(cfg, "IOD_DATA_DIR");

	*exit_code = 1;
	if (a == NULL)
		return NULL;
	a->svc = svc;
	a->loop = service_loop(svc);
	a->mqtt = service_mqtt(svc);
	a->site = service_site(svc);
	a->timer_at = INT64_MAX;
	a->ha = (struct ha_device){
	    .site = a->site,
	    .service = "notify",
	    .dashboard_url = ha_dashboard_url(cfg, a->dashboard_url, sizeof(a->dashboard_url)),
	};
	if (topics(a) != 0) {
		free(a);
		return NULL;
	}
	a->policy.escalate_after_ms = cfg_duration_ms(cfg, "IOD_NOTIFY_ESCALATE_AFTER");
	a->policy.repeat_ms = cfg_duration_ms(cfg, "IOD_NOTIFY_REPEAT");
	a->policy.retry_for_ms = cfg_duration_ms(cfg, "IOD_NOTIFY_RETRY_FOR");
	(void)policy_quiet_parse(cfg_str(cfg, "IOD_NOTIFY_QUIET"), &a->policy.quiet, why,
				 sizeof(why));
	if (load_contacts(cfg, &a->contacts, why, sizeof(why)) != 0) {
		fprintf(stderr, "iod-notify: IOD_NOTIFY_CONTACTS_FILE: %s\n", why);
		*exit_code = 2;
		free(a);
		return NULL;
	}
	if (a->contacts.n == 0)
		log_warn("no contacts (IOD_NOTIFY_CONTACTS_FILE): alerts are kept and shown, "
			 "nobody is told");
	for (size_t i = 0; i < a->contacts.n; i++)
		a->n_channels += a->contacts.c[i].n_urls;
	a->channels = calloc(a->n_channels ? a->n_channels : 1, sizeof(*a->channels));
	if (a->channels == NULL) {
		free(a);
		return NULL;
	}
	for (size_t i = 0, k = 0; i < a->contacts.n; i++) {
		a->first[i] = k;
		for (size_t j = 0; j < a->contacts.c[i].n_urls; j++, k++) {
			(void)channel_parse(a->contacts.c[i].urls[j], &a->channels[k], why,
					    sizeof(why));
			if (k < PROTO_STATUS_CHANNELS_MAX) {
				struct proto_notify_channel_status *cs = &a->status.channels[k];

				snprintf(cs->contact, sizeof(cs->contact), "%s",
					 a->contacts.c[i].name);
				snprintf(cs->channel, sizeof(cs->channel), "%s",
					 a->channels[k].label);
				a->status.n_channels = k + 1;
			}
		}
	}
	watchdog_init(&a->wd, cfg_duration_ms(cfg, "IOD_NOTIFY_OFFLINE_AFTER"), "notify");
	snprintf(a->alerts_path, sizeof(a->alerts_path), "%s/alerts.json", dir);
	if (alerts_load(&a->alerts, a->alerts_path, why, sizeof(why)) != 0)
		log_error("%s; starting with an empty set", why);
	else if (a->alerts.set.n)
		log_info("%zu active alerts kept from before", a->alerts.set.n);
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/outbox.log", dir);
		a->ob = outbox_open(path, &a->ob_stats, why, sizeof(why));
		if (a->ob == NULL) {
			log_error("outbox: %s", why);
			free(a->channels);
			free(a);
			return NULL;
		}
		if (a->ob_stats.damaged || a->ob_stats.torn_bytes)
			log_warn("outbox: %zu damaged lines skipped, %zu bytes of a torn tail cut; "
				 "%zu good records kept",
				 a->ob_stats.damaged, a->ob_stats.torn_bytes, a->ob_stats.records);
		/* A restart is worth a try at once (it often follows a fix), then
		 * the back-off goes on from the attempts so far. */
		for (size_t i = 0; i < outbox_count(a->ob); i++) {
			struct outbox_item *it = outbox_at(a->ob, i);

			if (it->state == OUTBOX_PENDING && it->next_ms > loop_wall_ms())
				it->next_ms = loop_wall_ms();
		}
		a->status.depth = outbox_depth(a->ob);
		if (a->status.depth)
			log_info("outbox: %llu deliveries still owed",
				 (unsigned long long)a->status.depth);
	}
	struct sender_options so = {.timeout_ms = (long)cfg_duration_ms(cfg, "IOD_NOTIFY_TIMEOUT"),
				    .ca_file = NULL};
	a->sender = sender_new(a->loop, &so);
	if (a->sender == NULL) {
		log_error("the sender (libcurl) could not be set up");
		outbox_close(a->ob);
		free(a->channels);
		free(a);
		return NULL;
	}
	{
		bool created = false;

		a->wp = webpush_open(dir, cfg_str(cfg, "IOD_NOTIFY_VAPID_SUBJECT"), &created, why,
				     sizeof(why));
		if (a->wp == NULL)
			log_error("webpush: %s (web push is off; every other channel works)", why);
		else if (created)
			log_info("webpush: a new VAPID key in %s/%s (back it up with the data dir)",
				 dir, WEBPUSH_KEY_FILE);
		a->wps = webpush_store_open(dir, why, sizeof(why));
		if (a->wps == NULL)
			log_error("webpush: %s (subscriptions are off)", why);
	}
	uv_timer_init(a->loop, &a->timer);
	a->timer.data = a;
	uv_timer_init(a->loop, &a->flush);
	a->flush.data = a;
	if (mqttc_subscribe(a->mqtt, a->t_alert, 1, true) < 0 ||
	    mqttc_subscribe(a->mqtt, a->t_cmd, 1, false) < 0 ||
	    mqttc_subscribe(a->mqtt, a->t_schedule, 1, false) < 0 ||
	    mqttc_subscribe(a->mqtt, a->t_plan, 1, false) < 0 ||
	    mqttc_subscribe(a->mqtt, a->t_avail, 1, false) < 0) {
		uv_close((uv_handle_t *)&a->timer, NULL);
		uv_close((uv_handle_t *)&a->flush, NULL);
		sender_close(a->sender, NULL, NULL);
		uv_run(a->loop, UV_RUN_NOWAIT);
		outbox_close(a->ob);
		free(a->channels);
		free(a);
		return NULL;
	}
	*exit_code = 0;
	return a;
}

static int start(void *app)
{
	struct notify_app *a = app;

	if (metrics_listen(a, cfg_str(service_cfg(a->svc), "IOD_NOTIFY_METRICS_LISTEN")) != 0)
		return -1;

	log_info("started: %zu contacts, escalate after %lld s, repeat %lld s", a->contacts.n,
		 (long long)(a->policy.escalate_after_ms / 1000),
		 (long long)(a->policy.repeat_ms / 1000));
	schedule_flush(a);
	return 0;
}

static void stop(void *app)
{
	struct notify_app *a = app;

	if (a->stopping)
		return;
	/* What the set became is kept and shown before `offline`. */
	save_and_publish(a);
	a->stopping = true;
	if (!uv_is_closing((uv_handle_t *)&a->timer))
		uv_close((uv_handle_t *)&a->timer, NULL);
	if (!uv_is_closing((uv_handle_t *)&a->flush))
		uv_close((uv_handle_t *)&a->flush, NULL);
	if (a->metrics_on && !uv_is_closing((uv_handle_t *)&a->metrics))
		uv_close((uv_handle_t *)&a->metrics, NULL);
	for (struct metrics_conn *c = a->conns; c; c = c->next)
		conn_close(c);
	if (a->sender) {
		sender_close(a->sender, NULL, NULL);
		a->sender = NULL;
	}
}

static void destroy(void *app)
{
	struct notify_app *a = app;

	outbox_close(a->ob);
	webpush_store_free(a->wps);
	webpush_free(a->wp);
	free(a->channels);
	free(a);
}

const struct service_def notify_service = {
    .name = "notify",
    .options = notify_app_options,
    .n_options = sizeof(notify_app_options) / sizeof(notify_app_options[0]),
    /* The broker keeps our session and the QoS 1 alerts sent while we are
     * away (a restart, a crash): an alert is never lost for being early. */
    .session_expiry_s = 7 * 24 * 3600,
    .queue_limit = NOTIFY_QUEUE_LIMIT,
    .max_payload = PROTO_MAX_PAYLOAD,
    .check = notify_app_check,
    .create = create,
    .start = start,
    .stop = stop,
    .destroy = destroy,
    .on_message = on_message,
    .on_connected = on_connected,
    .publish_discovery = publish_discovery,
    .backend = backend,
    .on_dropped = on_dropped,
};
