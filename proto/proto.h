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
#define PROTO_WS_MAX_CMD     6144 /* a ws "cmd": a 48-slot plan sent back whole is 4434 */
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
	/* The home (NULL: the field is left out): its time zone, an IANA name
	 * (common/tz.h), and IOD_SITE_NAME / IOD_DOG_NAME, UTF-8 as given. */
	const char *tz, *site_name, *dog_name;
};
char *proto_info_encode(const struct proto_info *info);

/* ---- feeder ------------------------------------------------------------ */

/* Names "feed" ... "refill"; "verify" is a feeder/event action only (the
 * bowl-weight check after a dose), never a command. */
enum proto_action {
	PROTO_ACTION_FEED,
	PROTO_ACTION_HOME,
	PROTO_ACTION_CALL,
	PROTO_ACTION_PLAN,
	PROTO_ACTION_SKIP,
	PROTO_ACTION_PAUSE,
	PROTO_ACTION_RESUME,
	PROTO_ACTION_TREAT,
	PROTO_ACTION_REFILL
};
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
/* The care plan (issue 11; proto/README.md "Where this refines the design"). */
#define PROTO_REASON_BAD_PLAN		"bad_plan" /* a plan member malformed or out of range */
#define PROTO_REASON_OUT_OF_BOUNDS	"out_of_bounds" /* outside the vet's bounds */
#define PROTO_REASON_PLAN_CHANGED	"plan_changed"	/* plan.rev is not the current rev */
#define PROTO_REASON_UNKNOWN_SLOT	"unknown_slot"	/* skip: no such (or no pending) slot */
#define PROTO_REASON_SLOT_SETTLED	"slot_settled"	/* skip: that slot is already settled */
#define PROTO_REASON_BAD_UNTIL		"bad_until" /* pause: until not integer ms, past, >90 days */
#define PROTO_REASON_BAD_PILLS		"bad_pills" /* refill: pills not an integer 0..100000 */
#define PROTO_REASON_MISSING_PILLS	"missing_pills"
#define PROTO_REASON_MISSING_PLAN	"missing_plan"
#define PROTO_REASON_BAD_SLOT		"bad_slot" /* skip: slot not "YYYY-MM-DDTHH:MM" */
#define PROTO_REASON_TREAT_LIMIT	"treat_limit"
#define PROTO_REASON_NO_TREAT_DISPENSER "no_treat_dispenser"
/* Reasons of a verify event, and of a failed dose. */
#define PROTO_REASON_NO_WEIGHT_CHANGE "no_weight_change"
#define PROTO_REASON_NO_BOWL_READING  "no_bowl_reading"
#define PROTO_REASON_JAMMED	      "jammed"

/* ---- the care plan (feeder/plan, the plan command, feeder/schedule) ------- */

#define PROTO_PLAN_SLOTS_MAX 48
#define PROTO_SLOT_ID_MAX    16	  /* "2026-12-01T15:00" */
#define PROTO_DAYS_DAILY     0x7f /* bit 0 mon ... bit 6 sun */
/* The value ranges of a plan (proto/README.md "feeder/plan"), one rule for
 * the retained plan, a plan command and the feeder's seed settings. The
 * interval's floor is IOD_FEEDER_MIN_INTERVAL's (1 s, which tests use): the
 * vet's bound, not this range, is what keeps doses apart. */
#define PROTO_PLAN_MIN_INTERVAL_MIN_S	1
#define PROTO_PLAN_MIN_INTERVAL_MAX_S	604800 /* a week */
#define PROTO_PLAN_MAX_DAILY_MIN	1
#define PROTO_PLAN_MAX_DAILY_MAX	PROTO_PLAN_SLOTS_MAX
#define PROTO_PLAN_GRACE_MAX_S		86400
#define PROTO_PLAN_TREAT_MAX_DAILY_MAX	100
#define PROTO_PLAN_TREAT_INTERVAL_MAX_S 86400
#define PROTO_PLAN_LOW_DAYS_MAX		365
#define PROTO_PLAN_PILLS_MAX		100000
#define PROTO_DETAIL_MAX		160 /* bytes of a rejected event's "detail", with the NUL */

struct proto_plan_slot {
	int minute;   /* 0..1439, local time */
	uint8_t days; /* PROTO_DAYS_DAILY or a non-empty subset of its bits */
	bool enabled;
};
struct proto_plan {
	int64_t rev;
	struct proto_plan_slot slots[PROTO_PLAN_SLOTS_MAX];
	size_t n_slots;
	int64_t min_interval_s;
	int max_daily;
	int64_t grace_s;
	bool paused;
	int64_t paused_until_ms; /* paused && 0: until resume; 0 when !paused */
	int treat_max_daily;
	int64_t treat_min_interval_s;
	bool has_pills; /* false: "remaining":null (never refilled) */
	int64_t pills_remaining;
	int low_days;
	int64_t bound_min_interval_s;
	int bound_max_daily;
	char changed_by[PROTO_BY_MAX + 1];
	int64_t changed_at_ms;
};
/* A plan command's members: has_* says which were given. */
struct proto_plan_patch {
	bool has_rev;
	int64_t rev;
	bool has_slots;
	struct proto_plan_slot slots[PROTO_PLAN_SLOTS_MAX];
	size_t n_slots;
	bool has_min_interval, has_max_daily, has_grace, has_treat_max_daily,
	    has_treat_min_interval, has_low_days;
	int64_t min_interval_s;
	int max_daily;
	int64_t grace_s;
	int treat_max_daily;
	int64_t treat_min_interval_s;
	int low_days;
	/* Read-only members given: the feeder accepts each only when equal to
	 * the current plan's value (a client may send back the plan it read). */
	bool has_bounds;
	int64_t bound_min_interval_s;
	int bound_max_daily;
	bool has_paused; /* "paused" */
	bool paused;
	bool has_paused_until;
	int64_t paused_until_ms; /* 0: null */
	bool has_pills_remaining;
	int64_t pills_remaining; /* -1: null */
	bool has_changed_by, has_changed_at;
	char changed_by[PROTO_BY_MAX + 1];
	int64_t changed_at_ms;
};

struct proto_feeder_cmd {
	enum proto_action action;
	char id[PROTO_ID_MAX + 1]; /* "" when the command had none (bare word) */
	char by[PROTO_BY_MAX + 1]; /* "" when absent */
	int64_t ts_ms;		   /* 0 when absent */
	bool has_ts;
	bool has_action;		  /* decode: action was understood (also on failure) */
	struct proto_plan_patch plan;	  /* action plan */
	char slot[PROTO_SLOT_ID_MAX + 1]; /* skip: "" = the next pending slot */
	int64_t until_ms;		  /* pause: 0 = until resume */
	int64_t pills;			  /* refill */
	char detail[PROTO_DETAIL_MAX];	  /* decode failure: text naming the member ("" if none) */
};
/* Accepts the bare words "feed", "home", "call", "skip", "pause", "resume",
 * "treat" (surrounding whitespace allowed; case matters) or the JSON
 * object; "plan" and "refill" alone are missing_plan and missing_pills
 * (has_action set). Unknown members are ignored. Any other bare word is
 * unknown_action; other non-JSON text is bad_json. Fields are checked in the
 * order id, action, by, ts, then the action's own member, so on failure
 * out->id holds the id when it was valid and has_action tells whether
 * out->action is meaningful: the `rejected` event can carry both. ts must
 * be an integer 0..2^53-1 (bad_ts otherwise); `by` must pass proto_by_valid
 * (bad_by). The action's member (proto/README.md, "The care plan's
 * commands"): plan's "plan" (missing_plan, duplicate_plan, bad_plan: every
 * member's type and range, unknown or repeated members; read-only members
 * are carried for the feeder to compare), skip's optional "slot"
 * (proto_slot_id_valid, else bad_slot), pause's optional "until" (integer
 * 1..2^53-1, else bad_until), refill's "pills" (integer 0..100000,
 * missing_pills / bad_pills). For bad_plan, bad_slot, bad_until and
 * bad_pills, out->detail names the member and its value. */
int proto_feeder_cmd_decode(const void *payload, size_t len, struct proto_feeder_cmd *out,
			    const char **reason);
/* {"action","id","by","ts"}, omitting an empty id/by and an absent ts, then
 * the action's member: "plan" (the patch's given members; always, {} when
 * none), "slot" (unless ""), "until" (unless 0), "pills" (refill). */
char *proto_feeder_cmd_encode(const struct proto_feeder_cmd *cmd);
/* 1-64 of [A-Za-z0-9._:-]. */
bool proto_id_valid(const char *id);
/* One character of that set, which ids, slot ids and alert subjects share. */
bool proto_id_char(int c);

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
	bool has_rev; /* "rev": a plan command's ok (the plan's rev after it) */
	int64_t rev;
	bool has_delta;	 /* "delta_g": a verify event */
	bool delta_null; /* delta_g null: no bowl reading */
	double delta_g;
	char detail[PROTO_DETAIL_MAX]; /* "" omitted */
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
	bool has_pills; /* !has_pills -> "pills_remaining":null */
	int64_t pills_remaining;
	int64_t runs_out_ms; /* 0 -> null */
	bool clock_synced;
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
	enum proto_dose_result { PROTO_DOSE_OK, PROTO_DOSE_FAILED, PROTO_DOSE_UNCERTAIN } result;
	enum proto_verified {
		PROTO_VERIFIED_NULL,
		PROTO_VERIFIED_TRUE,
		PROTO_VERIFIED_FALSE
	} verified;
};
/* doses newest first; at most PROTO_LOG_MAX are written. */
char *proto_feeder_log_encode(const struct proto_dose *doses, size_t n);
/* Fills up to cap doses; *n set to the count. */
int proto_feeder_log_decode(const void *payload, size_t len, struct proto_dose *doses, size_t cap,
			    size_t *n, const char **reason);

/* feeder/plan (retained): the plan exactly as proto/README.md shows it,
 * "paused" beside "paused_until". NULL also when a value cannot be
 * represented (n_slots over the maximum, a slot's minute or days out of
 * range). */
char *proto_plan_encode(const struct proto_plan *p);
/* Every member required and checked (ranges as for the plan command). */
int proto_plan_decode(const void *payload, size_t len, struct proto_plan *out, const char **reason);
/* Slot ids: "YYYY-MM-DDTHH:MM" checked for shape and calendar validity. */
bool proto_slot_id_valid(const char *slot);

enum proto_slot_status {
	PROTO_SLOT_PENDING,
	PROTO_SLOT_GIVEN,
	PROTO_SLOT_LATE,
	PROTO_SLOT_SKIPPED,
	PROTO_SLOT_PAUSED,
	PROTO_SLOT_MISSED,
	PROTO_SLOT_FAILED,
	PROTO_SLOT_UNCERTAIN
};
const char *proto_slot_status_name(enum proto_slot_status s);		    /* "pending" */
int proto_slot_status_parse(const char *text, enum proto_slot_status *out); /* 0 or -1 */
struct proto_schedule_slot {
	char slot[PROTO_SLOT_ID_MAX + 1];
	int64_t at_ms;
	enum proto_slot_status status;
	char dose[PROTO_ID_MAX + 1]; /* "" -> null */
};
#define PROTO_SCHEDULE_MAX (2 * PROTO_PLAN_SLOTS_MAX)
/* feeder/schedule (retained): {"date","slots":[{"slot","at","status","dose"}],"ts"}. */
struct proto_schedule {
	char date[11]; /* "2026-12-01", today's local date */
	struct proto_schedule_slot slots[PROTO_SCHEDULE_MAX];
	size_t n;
	int64_t ts_ms;
};
char *proto_schedule_encode(const struct proto_schedule *s);
int proto_schedule_decode(const void *payload, size_t len, struct proto_schedule *out,
			  const char **reason);

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
/* The care plan and verified dispense (issue 11). */
#define PROTO_ALERT_LOW_STOCK	    "low_stock"	      /* warning */
#define PROTO_ALERT_OUT_OF_STOCK    "out_of_stock"    /* critical */
#define PROTO_ALERT_DOSE_UNVERIFIED "dose_unverified" /* warning */
#define PROTO_ALERT_CLOCK_UNSYNCED  "clock_unsynced"  /* warning, once per boot */

struct proto_alert {
	char source[32]; /* "feeder" */
	enum proto_level level;
	char code[48];
	char message[256];
	/* What the alert is about, when there can be several at once: a slot
	 * ("2026-12-01T15:00"), a dose id, a sensor, a service. "" = the
	 * source as a whole. iod-notify keys its active set by
	 * source/code/subject (proto_alert_key). [A-Za-z0-9._:-], < 72 bytes
	 * (a dose id, 64 at most, fits). */
	char subject[72];
	int64_t ts_ms;
};
/* "source/code/subject", or "source/code" when subject is "". */
int proto_alert_key(const struct proto_alert *a, char *buf, size_t size);
bool proto_alert_subject_valid(const char *s);
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

/* camera/cmd: the bare word "snapshot" or {"action":"snapshot"}, the JSON
 * form with an optional "for": "<kind>:<id>" (kind 1-15 letters a-z, id as
 * proto_id_valid(), at most PROTO_CAMERA_FOR_MAX bytes; "dose:<id>" for the
 * feeder's dose) that the camera echoes as the MQTT 5 user property "for" on
 * camera/snapshot. Anything else there is bad_for (duplicate_for twice).
 * out->for_ is "" without it. */
#define PROTO_CAMERA_FOR_MAX 80
struct proto_camera_cmd {
	char for_[PROTO_CAMERA_FOR_MAX + 1];
};
int proto_camera_cmd_decode_for(const void *payload, size_t len, struct proto_camera_cmd *out,
				const char **reason);
/* The same, for callers that need only the verdict. */
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
 * use proto_ws_msg_decode to accept both. Limit: PROTO_WS_MAX_MSG, or
 * PROTO_WS_MAX_CMD for a message whose type is "cmd". */
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

/* ---- notify (iod-notify: the active alert set and its commands) ------------ */

/* "source/code/subject": 31 + 47 + 71 bytes and two slashes, with the NUL. */
#define PROTO_ALERT_KEY_MAX 152
#define PROTO_ALERTS_MAX    32 /* entries in the retained `alerts` */
#define PROTO_CONTACT_MAX   63 /* a contact's name, without the NUL (fits a subject) */
/* `alerts` may be bigger than one command: 32 entries of up to ~1.6 KiB. */
#define PROTO_ALERTS_MAX_PAYLOAD (64 * 1024)
/* Reasons of a refused or failed notify command. */
#define PROTO_REASON_MISSING_KEY     "missing_key"
#define PROTO_REASON_BAD_KEY	     "bad_key"
#define PROTO_REASON_MISSING_BY	     "missing_by"
#define PROTO_REASON_MISSING_TO	     "missing_to"
#define PROTO_REASON_BAD_TO	     "bad_to"
#define PROTO_REASON_UNKNOWN_KEY     "unknown_key"     /* ack: no such active alert */
#define PROTO_REASON_UNKNOWN_CONTACT "unknown_contact" /* test: no such contact */
#define PROTO_REASON_ALREADY_ACKED   "already_acked"   /* ack: duplicate, by whom it was */
/* Web Push commands that iod-notify could not carry out (result failed). */
#define PROTO_REASON_PUSH_UNAVAILABLE "push_unavailable" /* no VAPID key or store: see its log */
#define PROTO_REASON_NOT_STORED	      "not_stored" /* the store refused it or could not save */
#define PROTO_REASON_UNKNOWN_ENDPOINT "unknown_endpoint" /* unsubscribe: no such subscription */
/* Codes iod-notify raises itself (its source is "notify"). */
#define PROTO_ALERT_DOSE_OVERDUE     "dose_overdue"	/* critical, subject = slot id */
#define PROTO_ALERT_SERVICE_OFFLINE  "service_offline"	/* warning, subject = service */
#define PROTO_ALERT_NOTIFY_FAILED    "notify_failed"	/* warning: a delivery given up */
#define PROTO_ALERT_MESSAGES_DROPPED "messages_dropped" /* warning: incoming dropped unread */

/* An alert key: 1..PROTO_ALERT_KEY_MAX-1 of [A-Za-z0-9._:/-]. */
bool proto_alert_key_valid(const char *key);
/* A contact name: 1..64 of [A-Za-z0-9._-]. */
bool proto_contact_valid(const char *name);

/* One entry of `alerts`: the alert as last raised, when it was first
 * raised (since), and its ack ("" / 0 when not acked: null on the wire). */
struct proto_active_alert {
	char key[PROTO_ALERT_KEY_MAX];
	struct proto_alert alert; /* ts_ms: when it was last raised or updated */
	int64_t since_ms;
	char acked_by[PROTO_BY_MAX + 1];
	int64_t acked_at_ms;
};
struct proto_alerts {
	struct proto_active_alert active[PROTO_ALERTS_MAX];
	size_t n;
	int64_t ts_ms;
};
/* {"active":[{"key","source","code","subject"?,"level","message","since",
 * "updated","acked_by","acked_at"}],"ts"}: subject omitted when "",
 * acked_by/acked_at null when not acked. NULL when n is over the maximum
 * or a level is out of range. */
char *proto_alerts_encode(const struct proto_alerts *s);
/* Every member checked as proto_alert_decode checks the alert's (the key
 * must be the alert's proto_alert_key); limit PROTO_ALERTS_MAX_PAYLOAD;
 * more than PROTO_ALERTS_MAX entries is bad_active. */
int proto_alerts_decode(const void *payload, size_t len, struct proto_alerts *out,
			const char **reason);

/* notify/cmd: {"action":"ack","key","by"} or {"action":"test","to"}, each
 * with an optional "id" (echoed in notify/event) and "ts". Checked in the
 * order id, action, by, ts, then the action's member: ack needs "key"
 * (missing_key, bad_key: not proto_alert_key_valid) and "by" (missing_by,
 * bad_by); test needs "to" (missing_to, bad_to: not proto_contact_valid).
 * A bare word is unknown_action unless it is "ack" (missing_key) or "test"
 * (missing_to), so has_action says whether action is meaningful.
 * Web Push: {"action":"subscribe","by","subscription":{"endpoint",
 * "expirationTime"?,"keys":{"p256dh","auth"}}} (PushSubscription.toJSON())
 * and {"action":"unsubscribe","by","endpoint"}; both need "by". Only the
 * shape is checked here (missing_subscription; bad_subscription: not an
 * object, keys not base64url strings, over PROTO_PUSH_SUB_MAX printed;
 * missing_endpoint, bad_endpoint: not an http(s) URL under
 * PROTO_PUSH_ENDPOINT_MAX); iod-notify's webpush_subscription_parse() checks
 * the keys' sizes. subscription keeps the object printed compactly, and
 * endpoint its endpoint. */
#define PROTO_PUSH_ENDPOINT_MAX		  512  /* with the NUL */
#define PROTO_PUSH_SUB_MAX		  1024 /* the subscription printed, with the NUL */
#define PROTO_REASON_MISSING_SUBSCRIPTION "missing_subscription"
#define PROTO_REASON_BAD_SUBSCRIPTION	  "bad_subscription"
#define PROTO_REASON_MISSING_ENDPOINT	  "missing_endpoint"
#define PROTO_REASON_BAD_ENDPOINT	  "bad_endpoint"
enum proto_notify_action {
	PROTO_NOTIFY_ACK,
	PROTO_NOTIFY_TEST,
	PROTO_NOTIFY_SUBSCRIBE,
	PROTO_NOTIFY_UNSUBSCRIBE
};
const char *proto_notify_action_name(enum proto_notify_action a); /* "ack" */
struct proto_notify_cmd {
	enum proto_notify_action action;
	bool has_action;
	char id[PROTO_ID_MAX + 1];
	char by[PROTO_BY_MAX + 1];
	int64_t ts_ms;
	bool has_ts;
	char key[PROTO_ALERT_KEY_MAX];		/* ack */
	char to[PROTO_CONTACT_MAX + 1];		/* test */
	char subscription[PROTO_PUSH_SUB_MAX];	/* subscribe: the object, compact JSON */
	char endpoint[PROTO_PUSH_ENDPOINT_MAX]; /* subscribe, unsubscribe */
};
int proto_notify_cmd_decode(const void *payload, size_t len, struct proto_notify_cmd *out,
			    const char **reason);
char *proto_notify_cmd_encode(const struct proto_notify_cmd *cmd);
/* notify/event has the feeder's event shape ({"id","action","result",
 * "reason"?,"detail"?,"ts"}): proto_feeder_event_encode/_decode. */

/* notify/status (retained): {"outbox":{"depth","queued","delivered",
 * "failed","given_up"},"channels":[{"contact","channel","sent","failed",
 * "last_ok","last_error","last_error_at"}],"ts"}; last_ok/last_error_at
 * null when 0, last_error null when "". channel is the printable label. */
#define PROTO_STATUS_CHANNELS_MAX 32
struct proto_notify_channel_status {
	char contact[PROTO_CONTACT_MAX + 1];
	char channel[128];
	uint64_t sent, failed;
	int64_t last_ok_ms;
	char last_error[128];
	int64_t last_error_ms;
};
struct proto_notify_status {
	uint64_t depth, queued, delivered, failed, given_up;
	struct proto_notify_channel_status channels[PROTO_STATUS_CHANNELS_MAX];
	size_t n_channels;
	int64_t ts_ms;
};
char *proto_notify_status_encode(const struct proto_notify_status *s);

#endif
