/*
 * sensors — the pure logic of iod-sensors: which backends IOD_SENSORS names,
 * when a reading is worth publishing (per-kind deadband and heartbeat), and
 * when a source counts as lost or recovered.
 *
 * No libuv, Paho or clock in here: every function takes `now_ms` (the
 * monotonic clock in the service, anything in tests), so the decisions are
 * tested directly with an injected clock.
 */
#ifndef IOD_SENSORS_H
#define IOD_SENSORS_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SENSORS_KINDS	    PROTO_SENSOR_KIND_COUNT
#define SENSORS_MAX_SOURCES 8
#define SENSORS_ARG_MAX	    128
/* Consecutive failed reads before a source's channel counts as lost: one
 * failed read of a DHT22 or a 1-wire CRC error is routine, three are not. */
#define SENSORS_LOST_AFTER 3

/* ---- IOD_SENSORS ------------------------------------------------------- */

struct source_ops; /* source.h: what reads the entry */

struct sensors_spec {
	const struct source_ops *ops;
	char text[SENSORS_ARG_MAX + 8]; /* the entry as written, "w1:28-0316a279" */
	char arg[SENSORS_ARG_MAX];	/* iio: name, iio:deviceN or a path; w1: slave id */
	char chip[64];			/* gpio: chip name, number or path */
	unsigned line;			/* gpio: line offset */
};

/*
 * Parse the IOD_SENSORS comma list ("sim", "iio:bme280,w1:28-0316a279,gpio:gpiochip0:17"):
 * each entry's ops by the name before its colon (source_lookup()), the rest
 * by the ops' parse(). Whitespace around entries is ignored. Fills up to
 * `cap` specs, *n the count. Returns 0, or -1 with *why set to a static
 * string naming the problem.
 */
int sensors_spec_parse(const char *list, struct sensors_spec *out, size_t cap, size_t *n,
		       const char **why);

/* ---- who publishes which kind -------------------------------------------- */

#define SENSORS_NOBODY	(-1)
#define SENSORS_MSG_MAX 512

/* Which source publishes each kind. The first claim wins and keeps the kind
 * for the life of the process; the service claims in sensors_claim_order(),
 * so the first real backend listed that offers a kind publishes it, and a
 * device that appears later gets only what nobody has. Set it up with
 * sensors_claims_init. */
struct sensors_claims {
	const struct sensors_spec *specs; /* the sources, named in messages */
	size_t n;
	int owner[SENSORS_KINDS];		       /* index into specs, or SENSORS_NOBODY */
	bool told[SENSORS_MAX_SOURCES][SENSORS_KINDS]; /* "also offers" said once */
};

enum sensors_claim {
	SENSORS_CLAIM_KEPT,	   /* it publishes the kind already: nothing to say */
	SENSORS_CLAIM_WON,	   /* it publishes the kind from now on (msg, info) */
	SENSORS_CLAIM_TAKEN,	   /* another source publishes it (msg, warning) */
	SENSORS_CLAIM_TAKEN_AGAIN, /* the same, said before: nothing to say */
};

/* `specs` (n of them, at most SENSORS_MAX_SOURCES) must outlive c. */
void sensors_claims_init(struct sensors_claims *c, const struct sensors_spec *specs, size_t n);
/*
 * Source `src` (an index into specs) offers kind k. msg (may be NULL) gets
 * what to log: "iio:bme280 publishes temperature" when it wins,
 * "w1:28-1 also offers temperature; iio:bme280 already publishes it" the
 * first time it loses, "" otherwise.
 */
enum sensors_claim sensors_claim(struct sensors_claims *c, int src, enum proto_sensor_kind k,
				 char *msg, size_t msg_size);
/* The order to claim in: the sources that are not a fallback in list order,
 * then the fallbacks (the sim fills in what the hardware does not provide).
 * Fills order[0..n-1] with indexes into specs. */
void sensors_claim_order(const struct sensors_spec *specs, size_t n, int *order);
/* Whether src publishes any kind. */
bool sensors_claims_any(const struct sensors_claims *c, int src);
/* src offers some kind but publishes none (it need not be read): true, with
 * msg "w1:28-1: not used, temperature comes from iio:bme280" naming each
 * offered kind and who publishes it. */
bool sensors_claims_unused(const struct sensors_claims *c, int src,
			   const bool offered[SENSORS_KINDS], char *msg, size_t msg_size);

/* ---- deadband and heartbeat -------------------------------------------- */

struct sensors_policy {
	double deadband;      /* publish when |value - last published| >= deadband; 0: any change */
	double resolution;    /* values are rounded to this step (0: not rounded) */
	int64_t heartbeat_ms; /* republish at least this often while the sensor is alive */
};

/* The defaults: temperature 0.2 °C, humidity 1 %, motion any change, sound
 * 3 dB, bowl 5 g; resolutions 0.01 °C, 0.1 %, 1, 0.1 dB, 1 g. */
void sensors_policy_defaults(struct sensors_policy out[SENSORS_KINDS], int64_t heartbeat_ms);
double sensors_round(double value, double resolution);

enum sensors_decision {
	SENSORS_SKIP,
	SENSORS_PUBLISH_CHANGE,	   /* first value, or moved beyond the deadband */
	SENSORS_PUBLISH_HEARTBEAT, /* unchanged, but the heartbeat is due */
};

/* One kind's publishing state. Zero it, then set `policy`. */
struct sensors_pub {
	struct sensors_policy policy;
	bool has_sample; /* a current value is known (false before the first, or while lost) */
	double sample;	 /* the latest sample, rounded */
	bool has_published;
	double published;     /* the value last published */
	int64_t published_ms; /* when it was published */
	uint64_t samples, changes, heartbeats;
};

/*
 * A new sample at now_ms. Returns whether to publish `p->sample` now; when
 * it says so the state already counts it as published (the caller publishes
 * it and re-arms its heartbeat timer with sensors_pub_heartbeat_in()).
 */
enum sensors_decision sensors_pub_sample(struct sensors_pub *p, double value, int64_t now_ms);
/* The heartbeat timer fired: publish the current sample again if one is
 * known and the heartbeat is due. */
enum sensors_decision sensors_pub_heartbeat(struct sensors_pub *p, int64_t now_ms);
/* Milliseconds until the next heartbeat is due, or -1 when none is (no
 * current sample: a lost sensor is not kept alive by heartbeats). */
int64_t sensors_pub_heartbeat_in(const struct sensors_pub *p, int64_t now_ms);
/* Publish the current sample again now (after a reconnect); false when
 * there is none. */
bool sensors_pub_republish(struct sensors_pub *p, int64_t now_ms);
/* The source stopped answering: heartbeats stop until the next sample. */
void sensors_pub_lost(struct sensors_pub *p);

/* ---- lost and recovered -------------------------------------------------- */

enum sensors_health_event {
	SENSORS_HEALTH_NONE,
	SENSORS_HEALTH_LOST,	  /* raise a `warning` sensor_lost, once */
	SENSORS_HEALTH_RECOVERED, /* raise an `info` recovery */
};

struct sensors_health {
	unsigned failures; /* consecutive */
	bool lost;
};

enum sensors_health_event sensors_health_ok(struct sensors_health *h);
enum sensors_health_event sensors_health_fail(struct sensors_health *h);

#endif
