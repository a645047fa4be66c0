/*
 * proto — the iod MQTT and websocket contract (proto/README.md; docs/design.md) as C.
 *
 * Topic builders, encoders that produce exactly the documented JSON, and
 * decoders that validate every field and say why they refused. Nothing here
 * touches the network, a clock or a global: every function is pure and
 * thread-safe, so Paho's threads, the loop and the tests may all call it
 * (cJSON 1.7.15 itself resets a global error slot on every parse; proto
 * never reads it, so that race is on a value nobody uses).
 *
 * Encoders return a malloc'd NUL-terminated string (caller free()s) or NULL
 * on out-of-memory or when a value cannot be represented (an enum out of
 * range, a non-finite number, a motion score outside 0..1). Encoders do not
 * validate strings beyond that: they escape them. Timestamps print as exact
 * integers.
 *
 * Decoders return 0, or -1 with *reason set to a static string that names
 * the problem; the reason is what goes on the wire in a `rejected` event.
 * Reasons (proto/README.md, "Reasons"):
 *   empty_payload   nothing (or only whitespace) was sent
 *   too_large       over PROTO_MAX_PAYLOAD bytes (PROTO_WS_MAX_MSG for ws)
 *   bad_encoding    a NUL byte, invalid UTF-8, or a \u0000 escape
 *   bad_json        not strict JSON, proto_json_valid() (and not a bare word)
 *   not_object      JSON, but not an object
 *   unknown_action  a bare word or "action" string that names no action
 *   missing_<f>     required member <f> absent          (missing_action, ...)
 *   bad_<f>         member <f> of the wrong type/value  (bad_id, bad_ts, ...)
 *   duplicate_<f>   member <f> given twice
 *   unknown_type    (websocket) "type" is not "cmd" or "ping"
 * Out-parameters are zeroed first; on failure they hold what was decoded
 * before the failing field (see each decoder). reason may be NULL.
 */
#ifndef IOD_PROTO_H
#define IOD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAX_PAYLOAD    (16 * 1024) /* every JSON payload; camera frames aside */
#define PROTO_ID_MAX	     64
#define PROTO_BY_MAX	     64
#define PROTO_SITE_MAX	     64
#define PROTO_TOPIC_MAX	     256
#define PROTO_LOG_MAX	     50	  /* doses in feeder/log */
#define PROTO_WS_MAX_MSG     4096 /* browser -> bridge message; over it: close 1009 */
#define PROTO_WS_SUBPROTOCOL "iod.v1"
/* A feeder command bigger than this is dropped unread (counted in a
 * commands_dropped alert); up to it, one over PROTO_MAX_PAYLOAD is read for
 * its id and answered too_large. */
#define PROTO_CMD_READ_MAX (1024 * 1024)

/* ---- topics ---------------------------------------------------------- */

/* "iod/<site>/<service>/<leaf>" into buf; leaf may be NULL for
 * "iod/<site>/<service>". Returns 0, or -1 if it does not fit (buf is then
 * "") or a part is NULL/empty. Parts are not otherwise checked, so MQTT
 * wildcards may be used to build subscriptions ("+", "#"); validate
 * IOD_SITE once at start with proto_site_valid(). */
int proto_topic(char *buf, size_t size, const char *site, const char *service, const char *leaf);
/* "iod/<site>/alert" */
int proto_topic_alert(char *buf, size_t size, const char *site);
/* "iod/<site>/<service>/availability" (online/offline, retained; the will). */
int proto_topic_availability(char *buf, size_t size, const char *site, const char *service);
/* "iod/<site>/<service>/info" */
int proto_topic_info(char *buf, size_t size, const char *site, const char *service);
/* What every topic of a site starts with, "iod/<site>/", or of one of its
 * services, "iod/<site>/<service>/" (service non-NULL): for matching
 * incoming topics by prefix. Same return convention as proto_topic(). */
int proto_topic_prefix(char *buf, size_t size, const char *site, const char *service);
/* A site name is 1-64 of [A-Za-z0-9_-] (no MQTT wildcards or separators). */
bool proto_site_valid(const char *site);
/* The same rule as IOD_SITE's check (struct cfg_option.check): false with
 * "'<site>' must be 1-64 of [A-Za-z0-9_-]" in why. */
bool proto_site_check(const char *site, char *why, size_t why_size);
/* Split "iod/<site>/<service>/<rest...>" into its parts (pointers into a
 * copy kept in the struct). -1 if the topic is not under iod/, is longer
 * than PROTO_TOPIC_MAX-1, or has an empty site, service or leaf level. */
struct proto_topic_parts {
	char buf[PROTO_TOPIC_MAX];
	const char *site, *service, *leaf; /* leaf: NULL when absent */
};
int proto_topic_split(const char *topic, struct proto_topic_parts *out);

/* ---- text ------------------------------------------------------------ */

/* The one UTF-8 check of iod (proto's decoders, the bridge's frames): the
 * length, 1-4, of the valid UTF-8 sequence that s[0..n) starts with, or 0
 * when it starts with none: a stray continuation byte, an overlong form
 * (C0, C1, E0 80.., F0 80..), a surrogate (ED A0..), a code point over
 * U+10FFFF (F4 90.., F5..FF), or a sequence cut short by n. 0 when n is 0. */
size_t proto_utf8_seq(const void *s, size_t n);
/* Is s[0..len) valid UTF-8, sequence by sequence as above? ("" is; a NUL
 * byte is valid UTF-8 too: the decoders refuse it separately.) */
bool proto_utf8_valid(const void *s, size_t len);

/* ---- availability and info (every service) ---------------------------- */

#define PROTO_ONLINE  "online"
#define PROTO_OFFLINE "offline"

struct proto_info {
	const char *version;
	int64_t since_ms;
	const char *backend; /* "sim", "pwm:0:0", ... */
};
char *proto_info_encode(const struct proto_info *info);

/* ---- feeder ------------------------------------------------------------ */

enum proto_action { PROTO_ACTION_FEED, PROTO_ACTION_HOME, PROTO_ACTION_CALL };
const char *proto_action_name(enum proto_action a);		  /* "feed" */
int proto_action_parse(const char *text, enum proto_action *out); /* 0 or -1 */

/* Reasons a command is refused; the strings go on the wire verbatim. */
#define PROTO_REASON_BAD_JSON		"bad_json"
#define PROTO_REASON_TOO_LARGE		"too_large"
#define PROTO_REASON_RETAINED		"retained"
#define PROTO_REASON_EXPIRED		"expired"
#define PROTO_REASON_TOO_SOON		"too_soon"
#define PROTO_REASON_DAILY_LIMIT	"daily_limit"
#define PROTO_REASON_JOURNAL		"journal_unavailable"
#define PROTO_REASON_BUSY		"busy"
#define PROTO_REASON_CLOCK_SKEW		"clock_skew" /* ts too far in the future */
#define PROTO_REASON_EMPTY		"empty_payload"
#define PROTO_REASON_BAD_ENCODING	"bad_encoding"
#define PROTO_REASON_NOT_OBJECT		"not_object"
#define PROTO_REASON_UNKNOWN_ACTION	"unknown_action"
#define PROTO_REASON_NOT_AUTHORIZED	"not_authorized"     /* websocket: no operator session */
#define PROTO_REASON_BROKER_UNAVAILABLE "broker_unavailable" /* websocket: MQTT down */

struct proto_feeder_cmd {
	enum proto_action action;
	char id[PROTO_ID_MAX + 1]; /* "" when the command had none (bare word) */
	char by[PROTO_BY_MAX + 1]; /* "" when absent */
	int64_t ts_ms;		   /* 0 when absent */
	bool has_ts;
	bool has_action; /* decode: action was understood (also on failure) */
};
/* Accepts the bare words "feed", "home", "call" (surrounding whitespace
 * allowed; case matters) or the JSON object. Unknown members are ignored.
 * Any other bare word is unknown_action; other non-JSON text is bad_json.
 * Fields are checked in the order id, action, by, ts, so on failure out->id
 * holds the id when it was valid and has_action tells whether out->action
 * is meaningful: the `rejected` event can carry both. ts must be an integer
 * 0..2^53-1 (bad_ts otherwise); `by` must pass proto_by_valid (bad_by). */
int proto_feeder_cmd_decode(const void *payload, size_t len, struct proto_feeder_cmd *out,
			    const char **reason);
/* {"action","id","by","ts"}, omitting an empty id/by and an absent ts. */
char *proto_feeder_cmd_encode(const struct proto_feeder_cmd *cmd);
/* 1-64 of [A-Za-z0-9._:-]. */
bool proto_id_valid(const char *id);

/* What can still be read of a command a decoder refused (or of one refused
 * for how it came, retained), so the refusal can name it: a feeder/cmd
 * payload or a websocket {"type":"cmd"} message, both of which carry "id"
 * and "action". Strict, by the same rules as the decoders, each member on
 * its own (a bad "ts", "by" or "type", or a bad id, does not hide the
 * other); out is zeroed first, and for each kind of garbage holds:
 *   NULL, empty, only whitespace, over PROTO_MAX_PAYLOAD, a NUL byte,
 *   invalid UTF-8 or a \u0000 escape        nothing (id "", has_action false)
 *   a bare word                              the action when it names one; no id
 *   not strict JSON (proto_json_valid()),
 *   or JSON but not an object               nothing: what a laxer parser
 *                                            would guess is not read
 *   an object                                id: "id" given once, a string
 *                                            that passes proto_id_valid()
 *                                            (a number, "", too long, other
 *                                            characters, or given twice: "");
 *                                            action: "action" given once, a
 *                                            string that names an action */
struct proto_cmd_salvage {
	char id[PROTO_ID_MAX + 1]; /* "" when none could be read */
	enum proto_action action;  /* meaningful only when has_action */
	bool has_action;
};
void proto_cmd_salvage(const void *payload, size_t len, struct proto_cmd_salvage *out);
/* At most 64 bytes of valid UTF-8 with no control characters; "" is valid
 * (means absent). */
bool proto_by_valid(const char *by);

enum proto_result {
	PROTO_RESULT_OK,
	PROTO_RESULT_REJECTED,
	PROTO_RESULT_DUPLICATE,
	PROTO_RESULT_FAILED
};
const char *proto_result_name(enum proto_result r);
int proto_result_parse(const char *text, enum proto_result *out);

struct proto_feeder_event {
	char id[PROTO_ID_MAX + 1];
	char action[16]; /* action name; may be "" or "unknown" when undecodable */
	enum proto_result result;
	char reason[128]; /* "" when none; omitted from JSON when empty */
	int64_t ts_ms;
};
char *proto_feeder_event_encode(const struct proto_feeder_event *ev);
int proto_feeder_event_decode(const void *payload, size_t len, struct proto_feeder_event *out,
			      const char **reason);

enum proto_position { PROTO_POSITION_HOME, PROTO_POSITION_OPEN };

struct proto_feeder_state {
	enum proto_position position;
	int64_t last_dose_ms; /* 0 -> null */
	int64_t next_allowed_ms;
	int64_t next_scheduled_ms; /* 0 -> null */
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
int proto_level_parse(const char *text, enum proto_level *out); /* 0 or -1 */

#define PROTO_ALERT_MISSED_DOSE	   "missed_dose"
#define PROTO_ALERT_UNCERTAIN_DOSE "uncertain_dose"
#define PROTO_ALERT_JOURNAL	   "journal_unavailable"
#define PROTO_ALERT_SENSOR_LOST	   "sensor_lost"
#define PROTO_ALERT_CAMERA_LOST	   "camera_lost"
/* Added since the first design (proto/README.md, "Where this refines the design"). */
#define PROTO_ALERT_DOSE_FAILED	     "dose_failed"
#define PROTO_ALERT_JOURNAL_DAMAGED  "journal_damaged"
#define PROTO_ALERT_COMMANDS_DROPPED "commands_dropped"
#define PROTO_ALERT_SENSOR_RECOVERED "sensor_recovered"
#define PROTO_ALERT_CAMERA_RECOVERED "camera_recovered"
#define PROTO_ALERT_BAD_COMMAND	     "bad_command"

struct proto_alert {
	char source[32]; /* "feeder" */
	enum proto_level level;
	char code[48];
	char message[256];
	int64_t ts_ms;
};
char *proto_alert_encode(const struct proto_alert *a);
int proto_alert_decode(const void *payload, size_t len, struct proto_alert *out,
		       const char **reason);

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
int proto_reading_decode(const void *payload, size_t len, struct proto_reading *out,
			 const char **reason);

/* ---- camera -------------------------------------------------------------- */

/* camera/motion: {"score":0..1,"active":bool,"ts":ms}. The encoder always
 * writes active (true on a start event, false on a stop); the decoder
 * accepts it missing (publishers before it existed) and says so in
 * has_active, with active then false. */
struct proto_motion {
	double score;	 /* 0..1 */
	bool active;	 /* true: motion started; false: it stopped */
	bool has_active; /* decode only: "active" was in the payload */
	int64_t ts_ms;
};
char *proto_motion_encode(const struct proto_motion *m);
int proto_motion_decode(const void *payload, size_t len, struct proto_motion *out,
			const char **reason);

/* camera/cmd: the bare word "snapshot" or {"action":"snapshot"}. */
int proto_camera_cmd_decode(const void *payload, size_t len, const char **reason);

/* ---- websocket (bridge <-> browser) ---------------------------------------- */

/* Browser -> bridge: {"type":"cmd","action":"feed"|"home"|"call","id":"..."}.
 * The id is required here (the browser matches the feeder's event by it). */
struct proto_ws_cmd {
	enum proto_action action;
	char id[PROTO_ID_MAX + 1];
};
/* Checks type, id, action in that order; on failure out->id holds the id
 * when it was valid (for the error frame). {"type":"ping"} is bad_type here:
 * use proto_ws_msg_decode to accept both. Limit: PROTO_WS_MAX_MSG. */
int proto_ws_cmd_decode(const void *payload, size_t len, struct proto_ws_cmd *out,
			const char **reason);

enum proto_ws_type { PROTO_WS_CMD, PROTO_WS_PING };
/* Any browser -> bridge message: "cmd" (cmd filled) or "ping". Reasons as
 * above plus missing_type, bad_type, unknown_type. */
int proto_ws_msg_decode(const void *payload, size_t len, enum proto_ws_type *type,
			struct proto_ws_cmd *cmd, const char **reason);
/* Bridge -> browser: {"type":"error","id":"...","reason":"..."} (id omitted when NULL/""). */
char *proto_ws_error_encode(const char *id, const char *reason);
/* Bridge -> browser, the other frames (same ownership rules as every
 * encoder). {"type":"hello","site","operator","version","ts"}: */
char *proto_ws_hello_encode(const char *site, bool is_operator, const char *version, int64_t ts_ms);
char *proto_ws_ack_encode(const char *id); /* {"type":"ack","id"} */
char *proto_ws_pong_encode(int64_t ts_ms); /* {"type":"pong","ts"} */
char *proto_ws_ready_encode(void);	   /* {"type":"ready"} */
/* Is text[0..len) exactly one strict RFC 8259 JSON value (no other
 * whitespace than SP HT LF CR, no leading zeros, no raw control characters
 * in strings, valid UTF-8 and escapes, surrogate escapes only in pairs,
 * nothing after it, at most 32 levels of nesting)? Every decoder asks this
 * before parsing; anything else is bad_json. Need not be NUL-terminated. */
bool proto_json_valid(const void *text, size_t len);
/* {"topic","payload","ts"}: payload embedded as-is when proto_json_valid()
 * (surrounding whitespace dropped), else as a JSON string
 * (NUL bytes and invalid UTF-8 replaced by U+FFFD, so the text frame is
 * always valid UTF-8). Any size; the caller enforces limits. */
char *proto_ws_message_encode(const char *topic, const void *payload, size_t len, int64_t ts_ms);
/* {"type":"history","topic","points":[[ts_ms,value],...]}; a non-finite
 * value is written as null (a gap in the chart). */
char *proto_ws_history_encode(const char *topic, const int64_t *ts_ms, const double *values,
			      size_t n);

#endif
