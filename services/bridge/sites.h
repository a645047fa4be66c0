/*
 * sites — the homes one bridge serves (issue 14, "Many homes"): a state
 * (state.h) per site, found by the <site> level of an incoming topic, and
 * what each home says of itself in its services' retained info (the home's
 * and the dog's names, the time zone).
 *
 * IOD_BRIDGE_SITES is either a comma list of sites (each proto_site_valid,
 * distinct, at most SITES_LIST_MAX; every one made at start, so a page may
 * open a home before its first message) or "*": every site that publishes
 * under iod/+/#, each made on its first message, at most SITES_MAX (what
 * comes after that is refused and counted: a broker full of strangers
 * cannot grow the bridge without bound). Unset: IOD_SITE alone, which is
 * the bridge of one home it always was.
 *
 * Pure (no network, no clock). Loop thread only.
 */
#ifndef IOD_BRIDGE_SITES_H
#define IOD_BRIDGE_SITES_H

#include "proto.h"
#include "state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SITES_MAX      1024 /* sites under "*" */
#define SITES_LIST_MAX 256  /* sites in a list */
/* The longest name a home gives itself (IOD_SITE_NAME, IOD_DOG_NAME) and
 * its time zone, as info carries them; longer values are not kept. */
#define SITES_LABEL_MAX 64

struct site {
	char name[PROTO_SITE_MAX + 1]; /* the <site> of its topics */
	unsigned index;		       /* 0.. in the order the sites were made */
	struct state *state;
	char feeder_cmd[PROTO_TOPIC_MAX]; /* iod/<site>/feeder/cmd */
	char notify_cmd[PROTO_TOPIC_MAX]; /* iod/<site>/notify/cmd */
	/* From the newest info of any of its services that carried them ("":
	 * none yet). */
	char label[SITES_LABEL_MAX + 1]; /* site_name */
	char dog[SITES_LABEL_MAX + 1];	 /* dog_name */
	char tz[SITES_LABEL_MAX + 1];
	bool tz_feeder; /* tz is the feeder's */
};

struct sites;

/* IOD_BRIDGE_SITES' rule: "" (unset), "*", or a comma list as above.
 * false with why. */
bool sites_list_check(const char *value, char *why, size_t why_size);

/* list: IOD_BRIDGE_SITES (NULL or "": home alone); home: IOD_SITE; tmpl:
 * the state settings every site's state gets (its site member is
 * ignored). NULL when out of memory or the list is invalid. */
struct sites *sites_new(const char *list, const char *home, const struct state_config *tmpl);
void sites_free(struct sites *set);

/* Every site that publishes ("*")? */
bool sites_any(const struct sites *set);
/* The MQTT filters to subscribe: "iod/+/#", or one "iod/<site>/#" per
 * listed site. n_filters() of them; filter(i) NULL past the end. */
size_t sites_n_filters(const struct sites *set);
const char *sites_filter(const struct sites *set, size_t i);

size_t sites_count(const struct sites *set);
struct site *sites_at(const struct sites *set, size_t i);
struct site *sites_find(const struct sites *set, const char *name);
/* The site of topic iod/<site>/..., made now under "*" when new and there
 * is room; NULL when the topic names no site this bridge serves. *refused
 * is set when a new site did not fit SITES_MAX (counted). */
struct site *sites_of_topic(struct sites *set, const char *topic, bool *refused);
/* Sites refused because SITES_MAX were already served. */
uint64_t sites_refused(const struct sites *set);

/* An info payload of one of site's services (service: its <service>
 * level): its site_name, dog_name and tz, when present and valid (UTF-8
 * without control characters, at most SITES_LABEL_MAX bytes; a tz of
 * [A-Za-z0-9_+/-]), replace the site's; but once the feeder has given a
 * tz (the zone its schedule runs in), only the feeder's replaces it. true
 * when anything changed. */
bool sites_take_info(struct site *site, const char *service, const void *payload, size_t len);

#endif
