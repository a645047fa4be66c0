#include "sensors.h"

#include "source.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_one(const char *entry, struct sensors_spec *spec, const char **why)
{
	memset(spec, 0, sizeof(*spec));
	if (strlen(entry) >= sizeof(spec->text)) {
		*why = "entry too long";
		return -1;
	}
	strcpy(spec->text, entry);
	const char *colon = strchr(entry, ':');
	size_t name_len = colon ? (size_t)(colon - entry) : strlen(entry);
	spec->ops = source_lookup(entry, name_len);
	if (!spec->ops) {
		*why = "unknown backend (sim, iio:, w1:, gpio:)";
		return -1;
	}
	const char *arg = colon ? colon + 1 : NULL;
	if (arg && strlen(arg) >= sizeof(spec->arg)) {
		*why = "argument too long";
		return -1;
	}
	return spec->ops->parse(arg, spec, why);
}

int sensors_spec_parse(const char *list, struct sensors_spec *out, size_t cap, size_t *n,
		       const char **why)
{
	*n = 0;
	if (!list) {
		*why = "empty";
		return -1;
	}
	size_t len = strlen(list);
	char *copy = malloc(len + 1);
	if (!copy) {
		*why = "out of memory";
		return -1;
	}
	memcpy(copy, list, len + 1);
	int rc = 0;
	bool any = false;
	char *next = copy;
	while (next) {
		char *tok = next;
		char *comma = strchr(tok, ',');
		next = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		while (isspace((unsigned char)*tok))
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok) {
			*why = "empty entry";
			rc = -1;
			break;
		}
		if (*n >= cap) {
			*why = "too many entries";
			rc = -1;
			break;
		}
		if (parse_one(tok, &out[*n], why) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < *n; i++) {
			if (strcmp(out[i].text, out[*n].text) == 0) {
				*why = "listed twice";
				rc = -1;
				break;
			}
		}
		if (rc < 0)
			break;
		(*n)++;
		any = true;
	}
	free(copy);
	if (rc == 0 && !any) {
		*why = "empty";
		rc = -1;
	}
	if (rc < 0)
		*n = 0;
	return rc;
}

void sensors_claims_init(struct sensors_claims *c, const struct sensors_spec *specs, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->specs = specs;
	c->n = n < SENSORS_MAX_SOURCES ? n : SENSORS_MAX_SOURCES;
	for (int k = 0; k < SENSORS_KINDS; k++)
		c->owner[k] = SENSORS_NOBODY;
}

enum sensors_claim sensors_claim(struct sensors_claims *c, int src, enum proto_sensor_kind k,
				 char *msg, size_t msg_size)
{
	if (msg && msg_size)
		msg[0] = '\0';
	int owner = c->owner[k];
	if (owner == src)
		return SENSORS_CLAIM_KEPT;
	const char *kind = proto_sensor_kind_name(k);
	if (owner != SENSORS_NOBODY) {
		if (c->told[src][k])
			return SENSORS_CLAIM_TAKEN_AGAIN;
		c->told[src][k] = true;
		if (msg)
			snprintf(msg, msg_size, "%s also offers %s; %s already publishes it",
				 c->specs[src].text, kind, c->specs[owner].text);
		return SENSORS_CLAIM_TAKEN;
	}
	c->owner[k] = src;
	if (msg)
		snprintf(msg, msg_size, "%s publishes %s", c->specs[src].text, kind);
	return SENSORS_CLAIM_WON;
}

void sensors_claim_order(const struct sensors_spec *specs, size_t n, int *order)
{
	size_t next = 0;
	for (int fallback = 0; fallback < 2; fallback++)
		for (size_t i = 0; i < n; i++)
			if (specs[i].ops->fallback == (fallback == 1))
				order[next++] = (int)i;
}

bool sensors_claims_any(const struct sensors_claims *c, int src)
{
	for (int k = 0; k < SENSORS_KINDS; k++)
		if (c->owner[k] == src)
			return true;
	return false;
}

bool sensors_claims_unused(const struct sensors_claims *c, int src,
			   const bool offered[SENSORS_KINDS], char *msg, size_t msg_size)
{
	bool any_offered = false;
	for (int k = 0; k < SENSORS_KINDS; k++)
		any_offered |= offered[k];
	if (!any_offered || sensors_claims_any(c, src))
		return false;
	size_t len = (size_t)snprintf(msg, msg_size, "%s: not used", c->specs[src].text);
	bool first = true;
	for (int k = 0; k < SENSORS_KINDS; k++) {
		if (!offered[k] || c->owner[k] == SENSORS_NOBODY || len >= msg_size)
			continue;
		len += (size_t)snprintf(msg + len, msg_size - len, ", %s %s %s",
					proto_sensor_kind_name((enum proto_sensor_kind)k),
					first ? "comes from" : "from", c->specs[c->owner[k]].text);
		first = false;
	}
	return true;
}

void sensors_policy_defaults(struct sensors_policy out[SENSORS_KINDS], int64_t heartbeat_ms)
{
	static const struct {
		double deadband, resolution;
	} table[SENSORS_KINDS] = {
	    [PROTO_SENSOR_TEMPERATURE] = {0.2, 0.01}, [PROTO_SENSOR_HUMIDITY] = {1.0, 0.1},
	    [PROTO_SENSOR_MOTION] = {0.0, 1.0},	      [PROTO_SENSOR_SOUND] = {3.0, 0.1},
	    [PROTO_SENSOR_BOWL] = {5.0, 1.0},
	};
	for (int k = 0; k < SENSORS_KINDS; k++) {
		out[k].deadband = table[k].deadband;
		out[k].resolution = table[k].resolution;
		out[k].heartbeat_ms = heartbeat_ms;
	}
}

double sensors_round(double value, double resolution)
{
	if (resolution <= 0)
		return value;
	double r = round(value / resolution) * resolution;
	/* 21.349999999 printed as 21.35: trim the binary noise the multiply adds. */
	return round(r * 1e6) / 1e6;
}

enum sensors_decision sensors_pub_sample(struct sensors_pub *p, double value, int64_t now_ms)
{
	double v = sensors_round(value, p->policy.resolution);
	p->samples++;
	p->sample = v;
	p->has_sample = true;

	bool changed;
	if (!p->has_published)
		changed = true;
	else if (p->policy.deadband <= 0)
		changed = v != p->published;
	else
		/* A small epsilon so that 21.2 -> 21.4 counts as 0.2 despite binary rounding. */
		changed = fabs(v - p->published) >= p->policy.deadband - 1e-9;

	enum sensors_decision d = SENSORS_SKIP;
	if (changed) {
		d = SENSORS_PUBLISH_CHANGE;
		p->changes++;
	} else if (now_ms - p->published_ms >= p->policy.heartbeat_ms) {
		d = SENSORS_PUBLISH_HEARTBEAT;
		p->heartbeats++;
	}
	if (d != SENSORS_SKIP) {
		p->has_published = true;
		p->published = v;
		p->published_ms = now_ms;
	}
	return d;
}

enum sensors_decision sensors_pub_heartbeat(struct sensors_pub *p, int64_t now_ms)
{
	if (!p->has_sample || !p->has_published ||
	    now_ms - p->published_ms < p->policy.heartbeat_ms)
		return SENSORS_SKIP;
	p->heartbeats++;
	p->published = p->sample;
	p->published_ms = now_ms;
	return SENSORS_PUBLISH_HEARTBEAT;
}

int64_t sensors_pub_heartbeat_in(const struct sensors_pub *p, int64_t now_ms)
{
	if (!p->has_sample || !p->has_published)
		return -1;
	int64_t due = p->published_ms + p->policy.heartbeat_ms - now_ms;
	return due > 0 ? due : 0;
}

bool sensors_pub_republish(struct sensors_pub *p, int64_t now_ms)
{
	if (!p->has_sample)
		return false;
	p->has_published = true;
	p->published = p->sample;
	p->published_ms = now_ms;
	return true;
}

void sensors_pub_lost(struct sensors_pub *p)
{
	p->has_sample = false;
}

enum sensors_health_event sensors_health_ok(struct sensors_health *h)
{
	h->failures = 0;
	if (h->lost) {
		h->lost = false;
		return SENSORS_HEALTH_RECOVERED;
	}
	return SENSORS_HEALTH_NONE;
}

enum sensors_health_event sensors_health_fail(struct sensors_health *h)
{
	if (h->failures < SENSORS_LOST_AFTER)
		h->failures++;
	if (!h->lost && h->failures >= SENSORS_LOST_AFTER) {
		h->lost = true;
		return SENSORS_HEALTH_LOST;
	}
	return SENSORS_HEALTH_NONE;
}
