/*
 * wsmsg — what the bridge does with a browser's text message, decided
 * without the network: decode it with proto's websocket codec, check the
 * operator session and the broker, and produce the reply frame and, for an
 * accepted command, the feeder command to publish.
 *
 * Client -> bridge (text, at most PROTO_WS_MAX_MSG bytes; a cmd
 * PROTO_WS_MAX_CMD):
 *   {"type":"cmd","action":"feed"|"home"|"call","id":"<1-64 of [A-Za-z0-9._:-]>"}
 *   {"type":"cmd","action":"plan"|"skip"|"pause"|"resume"|"treat"|"refill",
 *    "id", and the action's members ("plan", "slot", "until", "pills")}:
 *   the message without "type", with the bridge's "by" and "ts", is what
 *   is published, once proto_feeder_cmd_decode() has accepted that text
 *   (the feeder's own rules, not a copy).
 *   {"type":"cmd","service":"notify","action":"ack"|"subscribe"|"unsubscribe"|
 *    "test","id", and the action's members ("key", "subscription",
 *    "endpoint", "to")}: for iod-notify, published on notify/cmd as
 *    proto_notify_cmd_decode() read it, with the bridge's "by" and "ts".
 *    Any other "service" is unknown_service.
 *   {"type":"ping"}
 * Replies: {"type":"ack","id"}, {"type":"pong","ts"}, or
 * {"type":"error","id" (when known),"reason"} with proto's reasons plus
 * not_authorized and broker_unavailable, and "detail" when the feeder's
 * decoder named the member it refused. Nothing is published on refusal.
 *
 * Bridge -> client frames of the bridge's own (beyond proto's):
 *   {"type":"hello","site","operator","broker","version","ts"}  first on connect
 *   {"type":"broker","connected":bool,"ts"}  right after hello, and to every
 *   client whenever the bridge's MQTT connection goes up or down
 *
 * Pure; strings in the result are malloc'd (wsmsg_result_free).
 */
#ifndef IOD_BRIDGE_WSMSG_H
#define IOD_BRIDGE_WSMSG_H

#include "proto.h"
#include "roles.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A "service" the bridge forwards no commands to. */
#define WSMSG_REASON_UNKNOWN_SERVICE "unknown_service"
/* On the overview of many homes (/ws?site=*), a command without a "site",
 * or naming one this bridge does not serve. */
#define WSMSG_REASON_UNKNOWN_SITE "unknown_site"

enum wsmsg_target { WSMSG_FEEDER, WSMSG_NOTIFY }; /* feeder/cmd, notify/cmd */

struct wsmsg_result {
	char *reply;   /* frame for this client (always set unless out of memory) */
	char *publish; /* JSON for iod/<site>/<target>/cmd, or NULL */
	enum wsmsg_target target;
	bool is_command;    /* the message was a command (accepted or refused) */
	bool accepted;	    /* a command to publish */
	const char *reason; /* refusal reason, static; NULL when accepted / ping */
	/* The command's id as decoded, "" when it had none or a bad one: what an
	 * error frame after a failed publish names, without parsing the frame
	 * again. */
	char id[PROTO_ID_MAX + 1];
};

/*
 * Handle one client text message. is_operator: the client holds a live
 * operator session now; broker_up: the MQTT client is connected. by is the
 * operator's user name for the published command. Returns 0, or -1 when out
 * of memory.
 */
int wsmsg_handle(const void *text, size_t len, bool is_operator, bool broker_up, const char *by,
		 int64_t now_ms, struct wsmsg_result *out);
/* The same with accounts (issue 14): role is the session's user's role now
 * (NULL: no live session, or its user is gone), checked with roles_may for
 * the command's service and action (not_authorized when below it); by is
 * the user's name. wsmsg_handle(is_operator) is this with an admin. */
int wsmsg_handle_as(const void *text, size_t len, const enum roles_role *role, bool broker_up,
		    const char *by, int64_t now_ms, struct wsmsg_result *out);
void wsmsg_result_free(struct wsmsg_result *r);

/*
 * POST /api/notify/ack's body, {"key":"…","id"?:"…"} (the service worker's
 * Acknowledge): made the notify "ack" command exactly as the websocket's,
 * by the session's user. reply is the websocket frame the same refusal
 * would get (the caller maps out->reason to an HTTP status).
 */
int wsmsg_notify_ack(const void *body, size_t len, bool is_operator, bool broker_up, const char *by,
		     int64_t now_ms, struct wsmsg_result *out);
int wsmsg_notify_ack_as(const void *body, size_t len, const enum roles_role *role, bool broker_up,
			const char *by, int64_t now_ms, struct wsmsg_result *out);

/* The hello frame, with whether the bridge is connected to the broker now.
 * malloc'd, or NULL when out of memory. */
char *wsmsg_hello_encode(const char *site, bool is_operator, bool broker_up, const char *version,
			 int64_t ts_ms);
/* The same with "sites" (after "site"): the homes this client may see,
 * [{"site","name"?,"dog"?,"tz"?},...] (sites: taken, freed here; NULL
 * fails). site is "*" on the overview. */
struct cJSON;
char *wsmsg_hello_encode_sites(const char *site, struct cJSON *sites, bool is_operator,
			       bool broker_up, const char *version, int64_t ts_ms);
/*
 * On the overview: a text message that is a {"type":"cmd",...} object
 * names its home in "site". -1: not a cmd object (handle the text as it
 * is: a ping, or the decoder's own error); 0: a cmd without "site"; 1: a
 * cmd with one: site its value ("" when not a valid site name) and *rest
 * the command without it (malloc'd); -2 out of memory. id: the command's
 * id when valid, else "" (for the error frame).
 */
int wsmsg_take_site(const void *text, size_t len, char site[PROTO_SITE_MAX + 1],
		    char id[PROTO_ID_MAX + 1], char **rest);
/* {"type":"broker","connected":…,"ts":…}; malloc'd or NULL. */
char *wsmsg_broker_encode(bool connected, int64_t ts_ms);

#endif
