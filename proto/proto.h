/*
 * proto — the iod MQTT and websocket contract (DESIGN.md, "MQTT contract") as C.
 *
 * Topic builders, encoders that produce exactly the documented JSON, and
 * decoders that validate every field and say why they refused. Nothing here
 * touches the network, a clock or a global: every function is pure and
 * thread-safe, so Paho's threads, the loop and the tests may all call it.
 *
 * Encoders return a malloc'd NUL-terminated string (caller frees) or NULL on
 * out-of-memory. Decoders return 0, or -1 with *reason set to a static string
 * that names the problem ("bad_json", "id: must be 1-64 of [A-Za-z0-9._:-]",
 * ...); the reason is what goes on the wire in a `rejected` event.
 */
#ifndef IOD_PROTO_H
#define IOD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAX_PAYLOAD (16 * 1024) /* every JSON payload; camera frames aside */
#define PROTO_ID_MAX 64
#define PROTO_BY_MAX 64
#define PROTO_SITE_MAX 64
#define PROTO_TOPIC_MAX 256
#define PROTO_LOG_MAX 50              /* doses in feeder/log */

/* ---- topics ---------------------------------------------------------- */

/* "iod/<site>/<service>/<leaf>" into buf; leaf may be NULL for
 * "iod/<site>/<service>". Returns 0, or -1 if it does not fit. */
int proto_topic(char *buf, size_t size, const char *site, const char *service, const char *leaf);
/* "iod/<site>/alert" */
int proto_topic_alert(char *buf, size_t size, const char *site);
/* A site name is 1-64 of [A-Za-z0-9_-] (no MQTT wildcards or separators). */
bool proto_site_valid(const char *site);
/* Split "iod/<site>/<service>/<rest...>" into its parts (pointers into a
 * copy kept in the struct). -1 if the topic is not under iod/. */
struct proto_topic_parts {
	char buf[PROTO_TOPIC_MAX];
	const char *site, *service, *leaf; /* leaf: NULL when absent */
};
int proto_topic_split(const char *topic, struct proto_topic_parts *out);

/* ---- availability and info (every service) ---------------------------- */

#define PROTO_ONLINE "online"
#define PROTO_OFFLINE "offline"

struct proto_info {
	const char *version;
	int64_t since_ms;
	const char *backend;  /* "sim", "pwm:0:0", ... */
};
char *proto_info_encode(const struct proto_info *info);

/* ---- feeder ------------------------------------------------------------ */

enum proto_action { PROTO_ACTION_FEED, PROTO_ACTION_HOME, PROTO_ACTION_CALL };
const char *proto_action_name(enum proto_action a);        /* "feed" */
int proto_action_parse(const char *text, enum proto_action *out); /* 0 or -1 */

/* Reasons a command is refused; the strings go on the wire verbatim. */
#define PROTO_REASON_BAD_JSON "bad_json"
#define PROTO_REASON_TOO_LARGE "too_large"
#define PROTO_REASON_RETAINED "retained"
#define PROTO_REASON_EXPIRED "expired"
#define PROTO_REASON_TOO_SOON "too_soon"
#define PROTO_REASON_DAILY_LIMIT "daily_limit"
#define PROTO_REASON_JOURNAL "journal_unavailable"
#define PROTO_REASON_BUSY "busy"

struct proto_feeder_cmd {
	enum proto_action action;
	char id[PROTO_ID_MAX + 1];   /* "" when the command had none (bare word) */
	char by[PROTO_BY_MAX + 1];   /* "" when absent */
	int64_t ts_ms;               /* 0 when absent */
	bool has_ts;
};
/* Accepts the bare words "feed", "home", "call" (surrounding whitespace
 * allowed) or the JSON object. Unknown members are ignored. */
int proto_feeder_cmd_decode(const void *payload, size_t len, struct proto_feeder_cmd *out,
			    const char **reason);
char *proto_feeder_cmd_encode(const struct proto_feeder_cmd *cmd); /* omits empty id/by, absent ts */
bool proto_id_valid(const char *id);
bool proto_by_valid(const char *by);

enum proto_result { PROTO_RESULT_OK, PROTO_RESULT_REJECTED, PROTO_RESULT_DUPLICATE, PROTO_RESULT_FAILED };
const char *proto_result_name(enum proto_result r);
int proto_result_parse(const char *text, enum proto_result *out);

struct proto_feeder_event {
	char id[PROTO_ID_MAX + 1];
	char action[16];             /* action name; may be "" or "unknown" when undecodable */
	enum proto_result result;
	char reason[128];            /* "" when none; omitted from JSON when empty */
	int64_t ts_ms;
};
char *proto_feeder_event_encode(const struct proto_feeder_event *ev);
int proto_feeder_event_decode(const void *payload, size_t len, struct proto_feeder_event *out,
			      const char **reason);

enum proto_position { PROTO_POSITION_HOME, PROTO_POSITION_OPEN };

struct proto_feeder_state {
	enum proto_position position;
	int64_t last_dose_ms;        /* 0 -> null */
	int64_t next_allowed_ms;
	int64_t next_scheduled_ms;   /* 0 -> null */
	int doses_today;
};
char *proto_feeder_state_encode(const struct proto_feeder_state *st);
int proto_feeder_state_decode(const void *payload, size_t len, struct proto_feeder_state *out,
			      const char **reason);

enum proto_dose_source { PROTO_SOURCE_MANUAL, PROTO_SOURCE_SCHEDULE };

struct proto_dose {
	char id[PROTO_ID_MAX + 1];
	int64_t ts_ms;
	char by[PROTO_BY_MAX + 1];
	enum proto_dose_source source;
};
/* doses newest first; at most PROTO_LOG_MAX are written. */
char *proto_feeder_log_encode(const struct proto_dose *doses, size_t n);
/* Fills up to cap doses; *n set to the count. */
int proto_feeder_log_decode(const void *payload, size_t len, struct proto_dose *doses, size_t cap,
			    size_t *n, const char **reason);

/* ---- alerts (any service) ---------------------------------------------- */

enum proto_level { PROTO_LEVEL_INFO, PROTO_LEVEL_WARNING, PROTO_LEVEL_CRITICAL };
const char *proto_level_name(enum proto_level l);

#define PROTO_ALERT_MISSED_DOSE "missed_dose"
#define PROTO_ALERT_UNCERTAIN_DOSE "uncertain_dose"
#define PROTO_ALERT_JOURNAL "journal_unavailable"
#define PROTO_ALERT_SENSOR_LOST "sensor_lost"
#define PROTO_ALERT_CAMERA_LOST "camera_lost"

struct proto_alert {
	char source[32];             /* "feeder" */
	enum proto_level level;
	char code[48];
	char message[256];
	int64_t ts_ms;
};
char *proto_alert_encode(const struct proto_alert *a);
int proto_alert_decode(const void *payload, size_t len, struct proto_alert *out, const char **reason);

/* ---- sensors ------------------------------------------------------------ */

enum proto_sensor_kind {
	PROTO_SENSOR_TEMPERATURE,
	PROTO_SENSOR_HUMIDITY,
	PROTO_SENSOR_MOTION,
	PROTO_SENSOR_SOUND,
	PROTO_SENSOR_BOWL,
	PROTO_SENSOR_KIND_COUNT
};
const char *proto_sensor_kind_name(enum proto_sensor_kind k); /* "temperature" */
const char *proto_sensor_unit(enum proto_sensor_kind k);      /* "°C", "%", "", "dB", "g" */
int proto_sensor_kind_parse(const char *text, enum proto_sensor_kind *out);

struct proto_reading {
	double value;
	char unit[16];
	int64_t ts_ms;
};
char *proto_reading_encode(const struct proto_reading *r);
int proto_reading_decode(const void *payload, size_t len, struct proto_reading *out, const char **reason);

/* ---- camera -------------------------------------------------------------- */

struct proto_motion {
	double score;                /* 0..1 */
	int64_t ts_ms;
};
char *proto_motion_encode(const struct proto_motion *m);
int proto_motion_decode(const void *payload, size_t len, struct proto_motion *out, const char **reason);

/* camera/cmd: the bare word "snapshot" or {"action":"snapshot"}. */
int proto_camera_cmd_decode(const void *payload, size_t len, const char **reason);

/* ---- websocket (bridge <-> browser) ---------------------------------------- */

/* Browser -> bridge: {"type":"cmd","action":"feed"|"home"|"call","id":"..."}.
 * The id is required here (the browser matches the feeder's event by it). */
struct proto_ws_cmd {
	enum proto_action action;
	char id[PROTO_ID_MAX + 1];
};
int proto_ws_cmd_decode(const void *payload, size_t len, struct proto_ws_cmd *out, const char **reason);
/* Bridge -> browser: {"type":"error","id":"...","reason":"..."} (id omitted when NULL/""). */
char *proto_ws_error_encode(const char *id, const char *reason);

#endif
