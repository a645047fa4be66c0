/*
 * records_http.c — GET/HEAD of the records endpoints (proto/README.md
 * "Records over HTTP (the bridge)"). On the loop: the session check, the
 * parameters (records_query.c) and queueing the query with uv_queue_work.
 * On a libuv worker thread: the query on a read-only connection from the
 * pool, the body, its ETag. Back on the loop: the answer waits for
 * HTTP_WRITEABLE (http_deferred_writeable in http.c writes the headers,
 * then the body goes out in HTTP_CHUNK pieces). A connection closed while
 * its query runs is forgotten (the work's pss is cleared by http_free).
 */
#include "records_http.h"

#include "log.h"
#include "proto.h"
#include "records.h"
#include "records_query.h"
#include "report.h"
#include "server_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 8 /* libuv's pool has 4 threads unless UV_THREADPOOL_SIZE says more */
#define LIST_ALL 100000

struct rhttp {
	uv_loop_t *loop;
	char *path, *site;
	struct rwriter *writer;
	pthread_mutex_t mu;
	struct records *idle[POOL_MAX];
	size_t n_idle;
};

struct rhttp *rhttp_new(uv_loop_t *loop, const char *path, const char *site)
{
	struct rhttp *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->loop = loop;
	h->path = strdup(path);
	h->site = strdup(site);
	if (!h->path || !h->site) {
		free(h->path);
		free(h->site);
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

void rhttp_set_writer(struct rhttp *h, struct rwriter *w)
{
	h->writer = w;
}

struct rwriter *rhttp_writer(const struct rhttp *h)
{
	return h ? h->writer : NULL;
}

void rhttp_free(struct rhttp *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_idle; i++)
		records_close(h->idle[i]);
	pthread_mutex_destroy(&h->mu);
	free(h->path);
	free(h->site);
	free(h);
}

/* A reader for this worker: an idle one, or a new one. NULL with err. */
static struct records *reader_get(struct rhttp *h, struct records_err *err)
{
	struct records *r = NULL;
	pthread_mutex_lock(&h->mu);
	if (h->n_idle)
		r = h->idle[--h->n_idle];
	pthread_mutex_unlock(&h->mu);
	if (r)
		return r;
	struct records_options o = {.mode = RECORDS_READER};
	if (records_open(h->path, &o, &r, NULL, err) < 0)
		return NULL;
	return r;
}

static void reader_put(struct rhttp *h, struct records *r)
{
	pthread_mutex_lock(&h->mu);
	if (h->n_idle < POOL_MAX) {
		h->idle[h->n_idle++] = r;
		r = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	records_close(r);
}

struct rwork {
	uv_work_t req;
	struct rhttp *h;
	struct pss *pss; /* NULL once the connection has closed */
	struct lws *wsi;
	struct rq q;
	char topic[PROTO_TOPIC_MAX];
	char inm[512];
	bool has_inm;
	int64_t now_ms;
	bool done;
	/* the answer */
	unsigned status;
	const char *ctype;
	const char *cache;
	char etag[RQ_ETAG_MAX];
	char disposition[160];
	char *body; /* malloc'd */
	size_t len;
};

static void set_error(struct rwork *w, unsigned status, const char *reason, const char *detail)
{
	free(w->body);
	w->status = status;
	w->ctype = "application/json";
	w->cache = "no-store";
	w->body = rq_error_json(reason, detail);
	w->len = w->body ? strlen(w->body) : 0;
}

static void run_history(struct rwork *w, struct records *r, struct records_err *err)
{
	struct records_history hist = {0};
	if (records_history(r, w->h->site, w->q.kind, w->q.from_ms, w->q.to_ms, w->q.points,
			    w->now_ms, &hist, err) < 0)
		return;
	w->body = rq_history_json(w->topic, w->q.from_ms, w->q.to_ms, &hist, &w->len);
	records_history_free(&hist);
}

static void run_doses(struct rwork *w, struct records *r, struct records_err *err)
{
	struct records_doses d = {0};
	if (records_doses(r, w->h->site, w->q.from_ms, w->q.to_ms, w->q.limit, &d, err) < 0)
		return;
	w->body = rq_doses_json(&d, &w->len);
	records_doses_free(&d);
}

static struct report_dose *report_doses(const struct records_doses *d, bool oldest_first)
{
	struct report_dose *out = calloc(d->n ? d->n : 1, sizeof(*out));
	for (size_t i = 0; out && i < d->n; i++) {
		const struct records_dose_row *s = &d->rows[oldest_first ? d->n - 1 - i : i];
		out[i] = (struct report_dose){.id = s->id,
					      .ts_ms = s->ts_ms,
					      .by = s->by,
					      .source = s->source,
					      .slot = s->slot,
					      .outcome = s->outcome,
					      .verified = s->verified};
	}
	return out;
}

static void run_csv(struct rwork *w, struct records *r, struct records_err *err)
{
	struct records_doses d = {0};
	if (records_doses(r, w->h->site, w->q.from_ms, w->q.to_ms, LIST_ALL, &d, err) < 0)
		return;
	struct report_dose *rows = report_doses(&d, true);
	char why[200] = "";
	int rc = rows ? report_doses_csv(rows, d.n, &w->body, &w->len, why, sizeof(why)) : -ENOMEM;
	free(rows);
	records_doses_free(&d);
	if (rc < 0) {
		w->body = NULL;
		snprintf(err->msg, sizeof(err->msg), "doses.csv: %s", why[0] ? why : strerror(-rc));
		return;
	}
	char from[11], to[11];
	rq_local_date(w->q.from_ms, from);
	rq_local_date(w->q.to_ms - 1, to);
	snprintf(w->disposition, sizeof(w->disposition),
		 "attachment; filename=\"iod-%s-doses-%s-%s.csv\"", w->h->site, from, to);
	w->ctype = "text/csv; charset=utf-8";
}

static void run_report(struct rwork *w, struct records *r, struct records_err *err)
{
	int span = w->q.days > 90 ? w->q.days : 90;
	int64_t from = w->now_ms - (int64_t)(span + 2) * RQ_DAY_MS;
	int64_t to = w->now_ms + 2 * RQ_DAY_MS;
	struct records_slots sl = {0};
	struct records_doses d = {0};
	struct records_plans pl = {0};
	struct report_slot *slots = NULL;
	struct report_dose *doses = NULL;
	struct report_plan_change *changes = NULL;
	char(*summaries)[128] = NULL;
	if (records_slots(r, w->h->site, from, to, LIST_ALL, &sl, err) < 0 ||
	    records_doses(r, w->h->site, from, to, LIST_ALL, &d, err) < 0 ||
	    records_plans(r, w->h->site, from, to, LIST_ALL, &pl, err) < 0)
		goto out;
	slots = calloc(sl.n ? sl.n : 1, sizeof(*slots));
	doses = report_doses(&d, false);
	changes = calloc(pl.n ? pl.n : 1, sizeof(*changes));
	summaries = calloc(pl.n ? pl.n : 1, sizeof(*summaries));
	if (!slots || !doses || !changes || !summaries) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sl.n; i++)
		slots[i] = (struct report_slot){.slot = sl.rows[i].slot,
						.at_ms = sl.rows[i].at_ms,
						.status = sl.rows[i].status,
						.dose = sl.rows[i].dose_id};
	for (size_t i = 0; i < pl.n; i++) {
		rq_plan_summary(pl.rows[i].json, summaries[i], sizeof(summaries[i]));
		changes[i] =
		    (struct report_plan_change){.ts_ms = pl.rows[i].ts_ms,
						.rev = pl.rows[i].rev,
						.by = pl.rows[i].by ? pl.rows[i].by : "unknown",
						.summary = summaries[i]};
	}
	struct report_input in = {.slots = slots,
				  .n_slots = sl.n,
				  .doses = doses,
				  .n_doses = d.n,
				  .changes = changes,
				  .n_changes = pl.n,
				  .now_ms = w->now_ms,
				  .days = w->q.days};
	struct report rep;
	char why[200] = "";
	if (report_build(&in, &rep, why, sizeof(why)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "report: %s", why);
		goto out;
	}
	cJSON *j = report_to_json(&rep);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	report_free(&rep);
	if (!text) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto out;
	}
	w->body = strdup(text);
	cJSON_free(text);
	if (w->body)
		w->len = strlen(w->body);
out:
	free(slots);
	free(doses);
	free(changes);
	free(summaries);
	records_slots_free(&sl);
	records_doses_free(&d);
	records_plans_free(&pl);
}

static void run_events(struct rwork *w, struct records *r, struct records_err *err)
{
	struct records_events e = {0};
	if (records_events(r, w->h->site, w->q.kind, w->q.from_ms, w->q.to_ms, w->q.limit, &e,
			   err) < 0)
		return;
	w->body = rq_events_json(&e, &w->len);
	records_events_free(&e);
}

/* A JPEG: 404 when there is none. Returns false when it answered already. */
static bool run_jpeg(struct rwork *w, struct records *r, struct records_err *err)
{
	void *jpeg = NULL;
	size_t len = 0;
	int rc = w->q.ep == RQ_SNAPSHOT ? records_dose_snapshot(r, w->q.id, &jpeg, &len, err)
					: records_event_thumb(r, w->q.event_id, &jpeg, &len, err);
	if (rc == -ENOENT || (rc == 0 && !jpeg)) {
		free(jpeg);
		set_error(w, 404, "not_found", NULL);
		return false;
	}
	if (rc < 0)
		return true;
	w->body = jpeg;
	w->len = len;
	w->ctype = "image/jpeg";
	w->cache = "private, max-age=86400, immutable";
	return true;
}

static void work_cb(uv_work_t *req)
{
	struct rwork *w = req->data;
	struct records_err err = {{0}};
	w->status = 200;
	w->ctype = "application/json";
	w->cache = "no-cache";
	struct records *r = reader_get(w->h, &err);
	if (!r) {
		set_error(w, 503, "records_unavailable", err.msg);
		return;
	}
	bool answer = true;
	switch (w->q.ep) {
	case RQ_HISTORY:
		run_history(w, r, &err);
		break;
	case RQ_DOSES:
		run_doses(w, r, &err);
		break;
	case RQ_DOSES_CSV:
		run_csv(w, r, &err);
		break;
	case RQ_REPORT:
		run_report(w, r, &err);
		break;
	case RQ_EVENTS:
		run_events(w, r, &err);
		break;
	case RQ_SNAPSHOT:
	case RQ_EVENT_THUMB:
		answer = run_jpeg(w, r, &err);
		break;
	default:
		break;
	}
	reader_put(w->h, r);
	if (!answer)
		return;
	if (!w->body) {
		set_error(w, 503, "records_unavailable",
			  err.msg[0] ? err.msg : "the query could not be answered");
		return;
	}
	rq_etag(w->body, w->len, w->etag);
	if (w->has_inm && rq_etag_matches(w->inm, w->etag)) {
		w->status = 304;
		free(w->body);
		w->body = NULL;
		w->len = 0;
	}
}

static void after_cb(uv_work_t *req, int status)
{
	(void)status;
	struct rwork *w = req->data;
	w->done = true;
	if (!w->pss) { /* the connection went away meanwhile */
		free(w->body);
		free(w);
		return;
	}
	lws_callback_on_writable(w->wsi);
}

void records_http_free_work(struct rwork *w)
{
	if (!w)
		return;
	if (!w->done) {
		w->pss = NULL; /* after_cb frees it */
		return;
	}
	free(w->body);
	free(w);
}

int records_http_writeable(struct lws *wsi, struct pss *pss)
{
	struct rwork *w = pss->rwork;
	if (!w || !w->done)
		return 0;
	pss->rwork = NULL;
	const char *extra[8];
	size_t n = 0;
	if (w->etag[0]) {
		extra[n++] = "etag:";
		extra[n++] = w->etag;
	}
	if (w->disposition[0] && w->status == 200) {
		extra[n++] = "content-disposition:";
		extra[n++] = w->disposition;
	}
	extra[n] = NULL;
	int rc =
	    http_deferred_respond(wsi, pss, w->status, w->ctype, w->cache, w->body, w->len, extra);
	w->body = NULL; /* http_deferred_respond owns it now */
	free(w);
	return rc;
}

static int respond_error(struct lws *wsi, struct pss *pss, unsigned status, const char *reason,
			 const char *detail)
{
	char *body = rq_error_json(reason, detail);
	if (!body)
		return 1;
	int rc = http_respond_json(wsi, pss, status, body, NULL);
	free(body);
	return rc;
}

int records_http_get(struct server *s, struct lws *wsi, struct pss *pss, const char *uri)
{
	char id[RQ_SNAPSHOT_ID_MAX + 1];
	bool not_found;
	enum rq_endpoint ep = rq_endpoint_of(uri, id, &not_found);
	if (ep == RQ_NONE)
		return RECORDS_HTTP_NOT_MINE;
	char token[AUTH_TOKEN_HEX + 1], user[AUTH_NAME_MAX + 1];
	enum roles_role role;
	bool in = http_request_user(s, wsi, token, user, &role);
	const char *sites = server_sites_of(s, in, user);
	if (!sites)
		return respond_error(wsi, pss, 401, "not_authorized", NULL);
	if (not_found)
		return respond_error(wsi, pss, 404, "not_found", NULL);

	/* The store keeps IOD_SITE's records: ?site= may name it (a page of
	 * many homes always says which), and the user must see it. */
	char bufs[RQ_ARGS_MAX + 2][512];
	const char *args[RQ_ARGS_MAX + 1];
	size_t n = 0;
	for (int i = 0; n <= RQ_ARGS_MAX && lws_hdr_copy_fragment(wsi, bufs[n], sizeof(bufs[n]),
								  WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
	     i++) {
		if (!strncmp(bufs[n], "site=", 5)) {
			if (strcmp(bufs[n] + 5, s->cfg.site))
				return respond_error(
				    wsi, pss, 404, "unknown_site",
				    "this bridge keeps the records of its own site "
				    "only (IOD_SITE)");
			continue;
		}
		args[n] = bufs[n];
		n++;
	}
	if (!roles_site_allowed(sites, s->cfg.site))
		return respond_error(wsi, pss, 403, "not_authorized",
				     "this user may not see this site");
	struct rq q;
	const char *reason;
	char detail[200];
	int64_t now = server_now_ms();
	enum rq_status st =
	    rq_parse(ep, args, n, s->cfg.site, now, &q, &reason, detail, sizeof(detail));
	if (st == RQ_NOT_FOUND)
		return respond_error(wsi, pss, 404, "not_found", NULL);
	if (st != RQ_OK)
		return respond_error(wsi, pss, 400, reason, detail);
	if (!s->cfg.records)
		return respond_error(wsi, pss, 503, "records_unavailable",
				     "the records store is off or could not be opened (see the "
				     "bridge's log)");
	if (ep == RQ_SNAPSHOT)
		snprintf(q.id, sizeof(q.id), "%s", id);
	if (ep == RQ_EVENT_THUMB)
		q.event_id = strtoll(id, NULL, 10);

	struct rwork *w = calloc(1, sizeof(*w));
	if (!w)
		return 1;
	w->req.data = w;
	w->h = s->cfg.records;
	w->pss = pss;
	w->wsi = wsi;
	w->q = q;
	w->now_ms = now;
	if (ep == RQ_HISTORY)
		proto_topic(w->topic, sizeof(w->topic), s->cfg.site, "sensors", q.kind);
	w->has_inm = http_header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, w->inm, sizeof(w->inm)) == 0;
	if (uv_queue_work(w->h->loop, &w->req, work_cb, after_cb) < 0) {
		free(w);
		return respond_error(wsi, pss, 503, "records_unavailable",
				     "cannot queue the query");
	}
	pss->rwork = w;
	return 0;
}
