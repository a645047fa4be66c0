/*
 * records_query.c — the pure half of records over HTTP (records_query.h):
 * paths, parameters, bodies, ETags.
 */
#include "records_query.h"

#include "jbuf.h"
#include "proto.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool ends_with(const char *s, const char *suffix, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suffix);
	if (n < m || strcmp(s + n - m, suffix))
		return false;
	*stem = n - m;
	return true;
}

enum rq_endpoint rq_endpoint_of(const char *uri, char id[RQ_SNAPSHOT_ID_MAX + 1], bool *not_found)
{
	static const struct {
		const char *path;
		enum rq_endpoint ep;
	} fixed[] = {
	    {"/api/history", RQ_HISTORY},     {"/api/doses", RQ_DOSES},
	    {"/api/doses.csv", RQ_DOSES_CSV}, {"/api/report", RQ_REPORT},
	    {"/api/events", RQ_EVENTS},
	};
	*not_found = false;
	id[0] = '\0';
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(uri, fixed[i].path))
			return fixed[i].ep;
	enum rq_endpoint ep = RQ_NONE;
	const char *rest = NULL;
	if (!strncmp(uri, "/api/snapshots/", 15)) {
		ep = RQ_SNAPSHOT;
		rest = uri + 15;
	} else if (!strncmp(uri, "/api/events/", 12)) {
		ep = RQ_EVENT_THUMB;
		rest = uri + 12;
	} else {
		return RQ_NONE;
	}
	size_t stem;
	if (!ends_with(rest, ".jpg", &stem) || stem == 0 || stem > RQ_SNAPSHOT_ID_MAX) {
		*not_found = true;
		return ep;
	}
	memcpy(id, rest, stem);
	id[stem] = '\0';
	if (ep == RQ_SNAPSHOT) {
		if (!proto_id_valid(id))
			*not_found = true;
	} else {
		for (size_t i = 0; i < stem; i++)
			if (id[i] < '0' || id[i] > '9' || stem > 18)
				*not_found = true;
	}
	return ep;
}

/* A decimal integer, the whole text, within [lo, hi]. */
static bool parse_i64(const char *text, int64_t lo, int64_t hi, int64_t *out)
{
	if (!*text || strlen(text) > 20)
		return false;
	for (const char *p = text; *p; p++)
		if ((*p < '0' || *p > '9') && !(p == text && *p == '-'))
			return false;
	errno = 0;
	char *end;
	long long v = strtoll(text, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

struct seen {
	const char *name;
	const char *value;
};

static const char *arg_value(const struct seen *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return s[i].value;
	return NULL;
}

/* The parameters each endpoint takes. */
static const char *const *allowed(enum rq_endpoint ep)
{
	static const char *const history[] = {"topic", "from", "to", "points", NULL};
	static const char *const doses[] = {"from", "to", "limit", NULL};
	static const char *const csv[] = {"from", "to", NULL};
	static const char *const report[] = {"days", NULL};
	static const char *const events[] = {"kind", "from", "to", "limit", NULL};
	static const char *const none[] = {NULL};
	switch (ep) {
	case RQ_HISTORY:
		return history;
	case RQ_DOSES:
		return doses;
	case RQ_DOSES_CSV:
		return csv;
	case RQ_REPORT:
		return report;
	case RQ_EVENTS:
		return events;
	default:
		return none;
	}
}

#define BAD(r, ...)                                                                                \
	do {                                                                                       \
		*reason = (r);                                                                     \
		snprintf(detail, detail_size, __VA_ARGS__);                                        \
		return RQ_BAD;                                                                     \
	} while (0)

enum rq_status rq_parse(enum rq_endpoint ep, const char *const *args, size_t n, const char *site,
			int64_t now_ms, struct rq *out, const char **reason, char *detail,
			size_t detail_size)
{
	memset(out, 0, sizeof(*out));
	out->ep = ep;
	*reason = NULL;
	if (detail_size)
		detail[0] = '\0';
	/* Split and check the names first: a name not taken is the answer
	 * whatever else is wrong. */
	struct seen seen[RQ_ARGS_MAX];
	char names[RQ_ARGS_MAX][16];
	size_t ns = 0;
	if (n > RQ_ARGS_MAX)
		BAD("unknown_parameter", "more than %d parameters", RQ_ARGS_MAX);
	const char *const *ok = allowed(ep);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(args[i], '=');
		size_t len = eq ? (size_t)(eq - args[i]) : strlen(args[i]);
		const char *name = NULL;
		for (size_t k = 0; ok[k]; k++)
			if (strlen(ok[k]) == len && !strncmp(ok[k], args[i], len))
				name = ok[k];
		if (!name)
			BAD("unknown_parameter", "'%.*s' is not a parameter of this path",
			    (int)len > 40 ? 40 : (int)len, args[i]);
		if (arg_value(seen, ns, name))
			BAD("unknown_parameter", "'%s' given twice", name);
		snprintf(names[ns], sizeof(names[ns]), "%s", name);
		seen[ns].name = names[ns];
		seen[ns].value = eq ? eq + 1 : "";
		ns++;
	}

	const char *v;
	int64_t span = ep == RQ_HISTORY ? RQ_HISTORY_SPAN_MS : RQ_LIST_SPAN_MS;
	bool ranged = ep == RQ_HISTORY || ep == RQ_DOSES || ep == RQ_DOSES_CSV || ep == RQ_EVENTS;
	if (ep == RQ_HISTORY) {
		v = arg_value(seen, ns, "topic");
		if (!v)
			BAD("bad_topic", "topic is required: iod/%s/sensors/<kind>", site);
		struct proto_topic_parts tp;
		enum proto_sensor_kind k;
		if (proto_topic_split(v, &tp) < 0 || !tp.leaf || strcmp(tp.service, "sensors") ||
		    strchr(tp.leaf, '/'))
			BAD("bad_topic", "topic must be iod/<site>/sensors/<kind>");
		if (proto_sensor_kind_parse(tp.leaf, &k) < 0)
			BAD("bad_topic", "'%.64s' is not a sensor kind", tp.leaf);
		if (strcmp(tp.site, site)) {
			*reason = "not_found";
			snprintf(detail, detail_size, "this bridge keeps site '%s' only", site);
			return RQ_NOT_FOUND;
		}
		snprintf(out->kind, sizeof(out->kind), "%s", tp.leaf);
		out->points = RQ_POINTS_DEFAULT;
		if ((v = arg_value(seen, ns, "points"))) {
			int64_t p;
			if (!parse_i64(v, 1, RQ_POINTS_MAX, &p))
				BAD("bad_points", "points must be an integer 1..%d", RQ_POINTS_MAX);
			out->points = (size_t)p;
		}
	}
	if (ranged) {
		bool has_from = false;
		out->to_ms = now_ms;
		if ((v = arg_value(seen, ns, "to")) && !parse_i64(v, 0, INT64_MAX / 2, &out->to_ms))
			BAD("bad_to", "to must be ms since the epoch (an integer >= 0)");
		if ((v = arg_value(seen, ns, "from"))) {
			if (!parse_i64(v, 0, INT64_MAX / 2, &out->from_ms))
				BAD("bad_from",
				    "from must be ms since the epoch (an integer >= 0)");
			has_from = true;
		}
		if (!has_from)
			out->from_ms = out->to_ms - span < 0 ? 0 : out->to_ms - span;
		if (out->from_ms >= out->to_ms)
			BAD("bad_range", "from (%" PRId64 ") must be before to (%" PRId64 ")",
			    out->from_ms, out->to_ms);
		if (out->to_ms - out->from_ms > RQ_RANGE_MAX_MS)
			BAD("bad_range", "from..to is wider than 400 days");
	}
	if (ep == RQ_DOSES || ep == RQ_EVENTS) {
		out->limit = RQ_LIMIT_DEFAULT;
		if ((v = arg_value(seen, ns, "limit"))) {
			int64_t l;
			if (!parse_i64(v, 1, RQ_LIMIT_MAX, &l))
				BAD("bad_limit", "limit must be an integer 1..%d", RQ_LIMIT_MAX);
			out->limit = (size_t)l;
		}
	}
	if (ep == RQ_EVENTS) {
		v = arg_value(seen, ns, "kind");
		if (v && strcmp(v, "motion"))
			BAD("bad_kind", "kind must be motion");
		snprintf(out->kind, sizeof(out->kind), "motion");
	}
	if (ep == RQ_REPORT) {
		out->days = RQ_DAYS_DEFAULT;
		if ((v = arg_value(seen, ns, "days"))) {
			int64_t d;
			if (!parse_i64(v, 1, RQ_DAYS_MAX, &d))
				BAD("bad_days", "days must be an integer 1..%d", RQ_DAYS_MAX);
			out->days = (int)d;
		}
	}
	return RQ_OK;
}

char *rq_error_json(const char *reason, const char *detail)
{
	struct jbuf b;
	jbuf_init(&b);
	jbuf_puts(&b, "{\"error\":");
	jbuf_string(&b, reason, strlen(reason));
	if (detail) {
		jbuf_puts(&b, ",\"detail\":");
		jbuf_string(&b, detail, strlen(detail));
	}
	jbuf_puts(&b, "}");
	if (b.failed) {
		jbuf_free(&b);
		return NULL;
	}
	return b.data;
}

static char *finish(struct jbuf *b, size_t *len)
{
	if (b->failed) {
		jbuf_free(b);
		return NULL;
	}
	*len = b->len;
	return b->data;
}

char *rq_history_json(const char *topic, int64_t from_ms, int64_t to_ms,
		      const struct records_history *h, size_t *len)
{
	struct jbuf b;
	jbuf_init(&b);
	jbuf_puts(&b, "{\"topic\":");
	jbuf_string(&b, topic, strlen(topic));
	jbuf_printf(
	    &b, ",\"from\":%" PRId64 ",\"to\":%" PRId64 ",\"bucket_ms\":%" PRId64 ",\"points\":[",
	    from_ms, to_ms, h->bucket_ms);
	for (size_t i = 0; i < h->n; i++) {
		const struct records_point *p = &h->points[i];
		jbuf_printf(&b, "%s[%" PRId64 ",", i ? "," : "", p->ts_ms);
		jbuf_double(&b, p->mean);
		jbuf_puts(&b, ",");
		jbuf_double(&b, p->min);
		jbuf_puts(&b, ",");
		jbuf_double(&b, p->max);
		jbuf_puts(&b, "]");
	}
	jbuf_puts(&b, "]}");
	return finish(&b, len);
}

static void str_or_null(struct jbuf *b, const char *name, const char *v)
{
	jbuf_printf(b, ",\"%s\":", name);
	if (v)
		jbuf_string(b, v, strlen(v));
	else
		jbuf_puts(b, "null");
}

char *rq_doses_json(const struct records_doses *d, size_t *len)
{
	struct jbuf b;
	jbuf_init(&b);
	jbuf_puts(&b, "{\"doses\":[");
	for (size_t i = 0; i < d->n; i++) {
		const struct records_dose_row *r = &d->rows[i];
		jbuf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
		jbuf_string(&b, r->id, strlen(r->id));
		jbuf_printf(&b, ",\"ts\":%" PRId64, r->ts_ms);
		str_or_null(&b, "by", r->by);
		str_or_null(&b, "source", r->source);
		str_or_null(&b, "slot", r->slot);
		str_or_null(&b, "outcome", r->outcome);
		str_or_null(&b, "reason", r->reason);
		jbuf_printf(&b, ",\"verified\":%s",
			    r->verified < 0 ? "null"
			    : r->verified   ? "true"
					    : "false");
		jbuf_puts(&b, ",\"delta_g\":");
		if (r->has_delta_g)
			jbuf_double(&b, r->delta_g);
		else
			jbuf_puts(&b, "null");
		jbuf_puts(&b, ",\"snapshot\":");
		if (r->has_snapshot) {
			jbuf_puts(&b, "\"/api/snapshots/");
			/* ids are [A-Za-z0-9._:-]: nothing to escape in a URL path */
			jbuf_puts(&b, r->id);
			jbuf_puts(&b, ".jpg\"");
		} else {
			jbuf_puts(&b, "null");
		}
		jbuf_puts(&b, "}");
	}
	jbuf_printf(&b, "],\"truncated\":%s}", d->truncated ? "true" : "false");
	return finish(&b, len);
}

char *rq_events_json(const struct records_events *e, size_t *len)
{
	struct jbuf b;
	jbuf_init(&b);
	jbuf_puts(&b, "{\"events\":[");
	for (size_t i = 0; i < e->n; i++) {
		const struct records_event_row *r = &e->rows[i];
		jbuf_printf(&b, "%s{\"id\":%" PRId64 ",\"kind\":", i ? "," : "", r->id);
		jbuf_string(&b, r->kind, strlen(r->kind));
		jbuf_printf(&b, ",\"ts\":%" PRId64 ",\"end\":", r->start_ms);
		if (r->end_ms)
			jbuf_i64(&b, r->end_ms);
		else
			jbuf_puts(&b, "null");
		jbuf_puts(&b, ",\"score\":");
		if (r->score >= 0)
			jbuf_double(&b, r->score);
		else
			jbuf_puts(&b, "null");
		if (r->has_thumb)
			jbuf_printf(&b, ",\"thumbnail\":\"/api/events/%" PRId64 ".jpg\"}", r->id);
		else
			jbuf_puts(&b, ",\"thumbnail\":null}");
	}
	jbuf_printf(&b, "],\"truncated\":%s}", e->truncated ? "true" : "false");
	return finish(&b, len);
}

void rq_etag(const void *body, size_t len, char out[RQ_ETAG_MAX])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p = body;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	snprintf(out, RQ_ETAG_MAX, "\"%016" PRIx64 "-%zx\"", h, len);
}

bool rq_etag_matches(const char *inm, const char *etag)
{
	if (!inm || !etag)
		return false;
	const char *tag = etag;
	size_t tag_len = strlen(tag);
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2))
			p += 2; /* If-None-Match compares weakly (RFC 9110 13.1.2) */
		const char *start = p;
		if (*p == '"') {
			const char *q = strchr(p + 1, '"');
			if (!q)
				return false;
			p = q + 1;
		} else {
			while (*p && *p != ',')
				p++;
		}
		if ((size_t)(p - start) == tag_len && !strncmp(start, tag, tag_len))
			return true;
	}
	return false;
}

void rq_local_date(int64_t ms, char out[11])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(out, 11, "%Y-%m-%d", &tm))
		snprintf(out, 11, "0000-00-00");
}

void rq_plan_summary(const char *plan_json, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	cJSON *j = plan_json ? cJSON_Parse(plan_json) : NULL;
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(j, "slots");
	const cJSON *s;
	cJSON_ArrayForEach(s, slots)
	{
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(s, "at");
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enabled");
		if (!cJSON_IsString(at) || cJSON_IsFalse(en))
			continue;
		int w = snprintf(out + n, size - n, "%s%s", n ? ", " : "", at->valuestring);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
	if (!n)
		snprintf(out, size, "no slots");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "paused"))) {
		n = strlen(out);
		snprintf(out + n, size - n, " (paused)");
	}
	cJSON_Delete(j);
}
