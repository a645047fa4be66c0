#include "sites.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (2 * SITES_MAX) /* open addressing, never more than half full */

struct sites {
	bool any; /* "*" */
	struct state_config tmpl;
	struct site **v; /* in the order made */
	size_t n, cap;
	struct site *slot[SLOTS];
	char **filters;
	size_t n_filters;
	uint64_t refused;
};

static uint32_t hash_name(const char *t, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)t[i]) * 16777619u;
	return h;
}

/* The slot of name[0..n): its site's, or the empty one it would go in. */
static struct site **slot_of(struct sites *set, const char *name, size_t n)
{
	uint32_t i = hash_name(name, n) % SLOTS;
	while (set->slot[i] &&
	       (strlen(set->slot[i]->name) != n || memcmp(set->slot[i]->name, name, n)))
		i = (i + 1) % SLOTS;
	return &set->slot[i];
}

static struct site *site_make(struct sites *set, const char *name, size_t n)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct site **v = realloc(set->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		set->v = v;
		set->cap = cap;
	}
	struct site *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->name, name, n);
	struct state_config sc = set->tmpl;
	sc.site = s->name;
	size_t per = (sc.max_topics ? sc.max_topics : STATE_TOPICS_DEFAULT) + 2;
	sc.key_base = (uint32_t)(set->n * per);
	s->state = state_new(&sc);
	if (!s->state ||
	    proto_topic(s->feeder_cmd, sizeof(s->feeder_cmd), s->name, "feeder", "cmd") < 0 ||
	    proto_topic(s->notify_cmd, sizeof(s->notify_cmd), s->name, "notify", "cmd") < 0) {
		state_free(s->state);
		free(s);
		return NULL;
	}
	s->index = (unsigned)set->n;
	set->v[set->n++] = s;
	*slot_of(set, s->name, n) = s;
	return s;
}

/* Calls each(name, n, arg) for every element of a comma list; stops at the
 * first nonzero return. */
static int list_each(const char *list, int (*each)(const char *, size_t, void *), void *arg)
{
	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		int rc = each(p, n, arg);
		if (rc || !comma)
			return rc;
		p = comma + 1;
	}
}

struct check {
	char seen[SITES_LIST_MAX][PROTO_SITE_MAX + 1];
	size_t n;
	char *why;
	size_t why_size;
};

static int check_one(const char *name, size_t n, void *arg)
{
	struct check *c = arg;
	char one[PROTO_SITE_MAX + 1];
	if (n > PROTO_SITE_MAX || !n) {
		snprintf(c->why, c->why_size,
			 "each site must be 1-64 of [A-Za-z0-9_-] (or the whole value '*')");
		return -1;
	}
	memcpy(one, name, n);
	one[n] = '\0';
	if (!proto_site_valid(one)) {
		snprintf(c->why, c->why_size, "'%s' must be 1-64 of [A-Za-z0-9_-]", one);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->seen[i], one)) {
			snprintf(c->why, c->why_size, "'%s' is listed twice", one);
			return -1;
		}
	if (c->n == SITES_LIST_MAX) {
		snprintf(c->why, c->why_size, "at most %d sites in a list ('*' serves any number)",
			 SITES_LIST_MAX);
		return -1;
	}
	memcpy(c->seen[c->n++], one, n + 1);
	return 0;
}

bool sites_list_check(const char *value, char *why, size_t why_size)
{
	if (!value || !*value || !strcmp(value, "*"))
		return true;
	struct check *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, why_size, "out of memory");
		return false;
	}
	c->why = why;
	c->why_size = why_size;
	bool ok = list_each(value, check_one, c) == 0;
	free(c);
	return ok;
}

static int add_filter(struct sites *set, const char *site)
{
	char f[PROTO_TOPIC_MAX];
	char **v = realloc(set->filters, (set->n_filters + 1) * sizeof(*v));
	if (!v)
		return -1;
	set->filters = v;
	if (proto_topic(f, sizeof(f), site, "#", NULL) < 0 || !(v[set->n_filters] = strdup(f)))
		return -1;
	set->n_filters++;
	return 0;
}

static int make_listed(const char *name, size_t n, void *arg)
{
	struct sites *set = arg;
	struct site *s = site_make(set, name, n);
	return s && add_filter(set, s->name) == 0 ? 0 : -1;
}

struct sites *sites_new(const char *list, const char *home, const struct state_config *tmpl)
{
	char why[160];
	if (!list || !*list)
		list = home;
	if (!list || !sites_list_check(list, why, sizeof(why)))
		return NULL;
	struct sites *set = calloc(1, sizeof(*set));
	if (!set)
		return NULL;
	set->tmpl = *tmpl;
	if (!strcmp(list, "*")) {
		set->any = true;
		if (add_filter(set, "+") < 0) {
			sites_free(set);
			return NULL;
		}
		return set;
	}
	if (list_each(list, make_listed, set) != 0) {
		sites_free(set);
		return NULL;
	}
	return set;
}

void sites_free(struct sites *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		state_free(set->v[i]->state);
		free(set->v[i]);
	}
	free(set->v);
	for (size_t i = 0; i < set->n_filters; i++)
		free(set->filters[i]);
	free(set->filters);
	free(set);
}

bool sites_any(const struct sites *set)
{
	return set->any;
}

size_t sites_n_filters(const struct sites *set)
{
	return set->n_filters;
}

const char *sites_filter(const struct sites *set, size_t i)
{
	return i < set->n_filters ? set->filters[i] : NULL;
}

size_t sites_count(const struct sites *set)
{
	return set->n;
}

struct site *sites_at(const struct sites *set, size_t i)
{
	return i < set->n ? set->v[i] : NULL;
}

struct site *sites_find(const struct sites *set, const char *name)
{
	if (!name)
		return NULL;
	return *slot_of((struct sites *)set, name, strlen(name));
}

struct site *sites_of_topic(struct sites *set, const char *topic, bool *refused)
{
	if (refused)
		*refused = false;
	if (strncmp(topic, "iod/", 4))
		return NULL;
	const char *name = topic + 4;
	const char *slash = strchr(name, '/');
	if (!slash || slash == name || (size_t)(slash - name) > PROTO_SITE_MAX)
		return NULL;
	size_t n = (size_t)(slash - name);
	struct site **slot = slot_of(set, name, n);
	if (*slot || !set->any)
		return *slot;
	char one[PROTO_SITE_MAX + 1];
	memcpy(one, name, n);
	one[n] = '\0';
	if (!proto_site_valid(one))
		return NULL;
	if (set->n >= SITES_MAX) {
		set->refused++;
		if (refused)
			*refused = true;
		return NULL;
	}
	return site_make(set, name, n);
}

uint64_t sites_refused(const struct sites *set)
{
	return set->refused;
}

static bool label_ok(const char *v)
{
	size_t n = strlen(v);
	if (!n || n > SITES_LABEL_MAX || !proto_utf8_valid(v, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

static bool tz_ok(const char *v)
{
	size_t n = strlen(v);
	if (!n || n > SITES_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '/'))
			return false;
	}
	return true;
}

static bool take(cJSON *j, const char *key, char dst[SITES_LABEL_MAX + 1], bool (*ok)(const char *))
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!cJSON_IsString(v) || !ok(v->valuestring) || !strcmp(dst, v->valuestring))
		return false;
	snprintf(dst, SITES_LABEL_MAX + 1, "%s", v->valuestring);
	return true;
}

bool sites_take_info(struct site *site, const char *service, const void *payload, size_t len)
{
	bool feeder = service && !strcmp(service, "feeder");
	if (!len || len > PROTO_MAX_PAYLOAD)
		return false;
	cJSON *j = cJSON_ParseWithLength(payload, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return false;
	}
	bool changed = take(j, "site_name", site->label, label_ok);
	changed |= take(j, "dog_name", site->dog, label_ok);
	/* The feeder's zone is the one its schedule runs in: another service's
	 * (a bridge on another machine) never replaces it. */
	const cJSON *tz = cJSON_GetObjectItemCaseSensitive(j, "tz");
	if (cJSON_IsString(tz) && tz_ok(tz->valuestring) && (feeder || !site->tz_feeder)) {
		if (strcmp(site->tz, tz->valuestring)) {
			snprintf(site->tz, sizeof(site->tz), "%s", tz->valuestring);
			changed = true;
		}
		site->tz_feeder |= feeder;
	}
	cJSON_Delete(j);
	return changed;
}
