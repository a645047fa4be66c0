/*
 * proto.c — topics, names and field validators. The codecs live in
 * feeder.c, payloads.c and ws.c; the JSON helpers in pjson.c, the strict
 * grammar check every decoder runs first in jsoncheck.c.
 */
#include "proto.h"

#include "pjson.h"

#include <stdio.h>
#include <string.h>

/* ---- topics ------------------------------------------------------------ */

/*
 * "iod/<site>[/<service>[/<leaf>]]<end>": every topic and prefix is spelled
 * here and nowhere else. A part given must be non-empty.
 */
static int topic_build(char *buf, size_t size, const char *site, const char *service,
		       const char *leaf, const char *end)
{
	int n;

	if (buf == NULL || size == 0 || site == NULL || site[0] == '\0' ||
	    (service != NULL && service[0] == '\0') || (leaf != NULL && leaf[0] == '\0'))
		return -1;
	n = snprintf(buf, size, "iod/%s%s%s%s%s%s", site, service != NULL ? "/" : "",
		     service != NULL ? service : "", leaf != NULL ? "/" : "",
		     leaf != NULL ? leaf : "", end);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

int proto_topic(char *buf, size_t size, const char *site, const char *service, const char *leaf)
{
	if (service == NULL)
		return -1;
	return topic_build(buf, size, site, service, leaf, "");
}

int proto_topic_alert(char *buf, size_t size, const char *site)
{
	return proto_topic(buf, size, site, "alert", NULL);
}

int proto_topic_availability(char *buf, size_t size, const char *site, const char *service)
{
	return proto_topic(buf, size, site, service, "availability");
}

int proto_topic_info(char *buf, size_t size, const char *site, const char *service)
{
	return proto_topic(buf, size, site, service, "info");
}

/* Why "/" at the end: "iod/home" alone would match the topics of a site
 * "home2" as well. */
int proto_topic_prefix(char *buf, size_t size, const char *site, const char *service)
{
	return topic_build(buf, size, site, service, NULL, "/");
}

bool proto_site_valid(const char *site)
{
	size_t n = 0;

	if (site == NULL)
		return false;
	for (; site[n] != '\0'; n++) {
		char c = site[n];

		if (n >= PROTO_SITE_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

bool proto_site_check(const char *site, char *why, size_t why_size)
{
	if (proto_site_valid(site))
		return true;
	snprintf(why, why_size, "'%s' must be 1-64 of [A-Za-z0-9_-]", site ? site : "");
	return false;
}

int proto_topic_split(const char *topic, struct proto_topic_parts *out)
{
	size_t n;
	char *site, *service, *leaf;

	if (topic == NULL || out == NULL)
		return -1;
	n = strlen(topic);
	if (n >= sizeof(out->buf) || strncmp(topic, "iod/", 4) != 0)
		return -1;
	memcpy(out->buf, topic, n + 1);
	site = out->buf + 4;
	service = strchr(site, '/');
	if (service == NULL || service == site)
		return -1;
	*service++ = '\0';
	leaf = strchr(service, '/');
	if (leaf != NULL) {
		*leaf++ = '\0';
		if (*leaf == '\0')
			return -1;
	}
	if (*service == '\0')
		return -1;
	out->site = site;
	out->service = service;
	out->leaf = leaf;
	return 0;
}

/* ---- names ------------------------------------------------------------- */

static const char *const action_names[] = {"feed",  "home",   "call",  "plan",	"skip",
					   "pause", "resume", "treat", "refill"};
static const char *const result_names[] = {"ok", "rejected", "duplicate", "failed"};
static const char *const level_names[] = {"info", "warning", "critical"};
static const char *const kind_names[] = {"temperature", "humidity", "motion", "sound", "bowl"};
static const char *const kind_units[] = {"°C", "%", "", "dB", "g"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t count, unsigned idx)
{
	return idx < count ? names[idx] : NULL;
}

static int index_of(const char *const *names, size_t count, const char *text)
{
	if (text == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(names[i], text) == 0)
			return (int)i;
	}
	return -1;
}

const char *proto_action_name(enum proto_action a)
{
	return name_of(action_names, COUNT(action_names), (unsigned)a);
}

int proto_action_parse(const char *text, enum proto_action *out)
{
	int i = index_of(action_names, COUNT(action_names), text);

	if (i < 0)
		return -1;
	*out = (enum proto_action)i;
	return 0;
}

const char *proto_result_name(enum proto_result r)
{
	return name_of(result_names, COUNT(result_names), (unsigned)r);
}

int proto_result_parse(const char *text, enum proto_result *out)
{
	int i = index_of(result_names, COUNT(result_names), text);

	if (i < 0)
		return -1;
	*out = (enum proto_result)i;
	return 0;
}

const char *proto_level_name(enum proto_level l)
{
	return name_of(level_names, COUNT(level_names), (unsigned)l);
}

int proto_level_parse(const char *text, enum proto_level *out)
{
	int i = index_of(level_names, COUNT(level_names), text);

	if (i < 0)
		return -1;
	*out = (enum proto_level)i;
	return 0;
}

const char *proto_sensor_kind_name(enum proto_sensor_kind k)
{
	return name_of(kind_names, COUNT(kind_names), (unsigned)k);
}

const char *proto_sensor_unit(enum proto_sensor_kind k)
{
	return name_of(kind_units, COUNT(kind_units), (unsigned)k);
}

int proto_sensor_kind_parse(const char *text, enum proto_sensor_kind *out)
{
	int i = index_of(kind_names, COUNT(kind_names), text);

	if (i < 0)
		return -1;
	*out = (enum proto_sensor_kind)i;
	return 0;
}

/* ---- text ------------------------------------------------------------------ */

size_t proto_utf8_seq(const void *text, size_t n)
{
	const unsigned char *s = text;
	size_t len;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0; /* continuation byte, overlong lead, or > U+10FFFF */
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool proto_utf8_valid(const void *text, size_t len)
{
	const unsigned char *s = text;
	size_t i = 0;

	while (i < len) {
		size_t k = proto_utf8_seq(s + i, len - i);

		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* ---- field validators ---------------------------------------------------- */

bool proto_id_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

bool proto_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return false;
	for (; id[n] != '\0'; n++) {
		if (n >= PROTO_ID_MAX || !proto_id_char((unsigned char)id[n]))
			return false;
	}
	return n > 0;
}

/*
 * "by" is free text shown to people: at most PROTO_BY_MAX bytes of valid
 * UTF-8 without control characters (C0, DEL, C1), so it can neither break
 * a log line nor a terminal. The empty string means "absent".
 */
bool proto_by_valid(const char *by)
{
	size_t n;
	const unsigned char *s = (const unsigned char *)by;

	if (by == NULL)
		return false;
	n = strlen(by);
	if (n > PROTO_BY_MAX || !proto_utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}
