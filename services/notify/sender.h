/*
 * sender — delivers notifications over SMTP and HTTP with one libcurl multi
 * handle driven by the service's libuv loop: curl's sockets are watched with
 * uv_poll, its one timeout is one uv_timer, and curl_multi_socket_action is
 * only ever called from those watchers, so nothing here blocks the loop (a
 * webhook that never answers only holds its own request, until its
 * timeout). Name resolution uses libcurl's resolver thread.
 *
 * Threading: everything on the loop's thread. Callbacks run on the loop,
 * from a watcher, never inside sender_send/sender_post/sender_close.
 *
 * The message texts (subject, email body, ntfy headers, the JSON bodies)
 * are built by the pure sender_format_* functions below, which the unit
 * tests call directly; services/notify/README.md ("Channels") shows them.
 */
#ifndef IOD_NOTIFY_SENDER_H
#define IOD_NOTIFY_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "channel.h"

/* What to say. Any pointer may be NULL (taken as ""). */
struct notify_msg {
	const char *site, *key, *source, *code, *level, *message, *contact;
	int64_t since_ms, ts_ms; /* wall clock: when the alert began; when this is sent */
	bool test;		 /* a notify/cmd "test": says so in the text */
};

/* OK: the peer accepted it. RETRY: try again later (timeouts, connection
 * and name errors, HTTP 408/429/5xx, SMTP 4xx, cancelled). PERMANENT: the
 * peer refused it for good (other HTTP 4xx, 3xx, SMTP 5xx). */
enum send_outcome { SEND_OK, SEND_RETRY, SEND_PERMANENT };

/* error: NULL on SEND_OK, else a short reason without secrets ("timeout",
 * "HTTP 500", "SMTP 550", "could not resolve host", "cancelled"), valid
 * only during the call. */
typedef void (*send_done_cb)(void *arg, enum send_outcome outcome, const char *error);

struct sender_options {
	long timeout_ms;     /* per request, whole transfer; <= 0: 10000 */
	const char *ca_file; /* NULL: the system's CA store */
};

#define SENDER_TIMEOUT_DEFAULT_MS 10000

/* NULL if curl or the loop's handles cannot be set up. The loop must
 * outlive the sender (until sender_close's closed callback). */
struct sender *sender_new(uv_loop_t *loop, const struct sender_options *o);

/* Start one delivery of m over ch (mailto, ntfy, json, gotify). 0: cb will
 * be called exactly once, later, on the loop. -1: nothing started and cb is
 * never called (webpush, which goes through sender_post; out of memory; the
 * sender is closing). The channel and message are copied: they may go away
 * after the call. */
int sender_send(struct sender *s, const struct channel *ch, const struct notify_msg *m,
		send_done_cb cb, void *arg);

/* A raw POST (web push): headers "Name: value", NULL-terminated (may be
 * NULL); url, headers and body are copied. Same return and cb rules as
 * sender_send; HTTP outcomes mapped the same way. */
int sender_post(struct sender *s, const char *url, const char *const *headers, const void *body,
		size_t len, send_done_cb cb, void *arg);

/* Requests started whose cb has not run yet. */
size_t sender_in_flight(const struct sender *s);

/* Cancel what is in flight (each cb then runs, later, with SEND_RETRY,
 * "cancelled"), close the handles, free s, then call closed(arg) (may be
 * NULL). May be called from a send_done_cb. s must not be used after. */
void sender_close(struct sender *s, void (*closed)(void *arg), void *arg);

/* ---- pure parts (no curl, no loop), for the unit tests ---- */

/* "[iod <site>] <LEVEL>: <code>" (LEVEL upper-cased; "TEST" prefix for a
 * test). Truncated to size. */
void sender_format_subject(const struct notify_msg *m, char *out, size_t size);

/* The whole RFC 5322 message for ch (Date from ts_ms, Message-ID, Subject,
 * From, To, MIME headers, the body with level, site, message, the alert's
 * time in local time and UTC), CRLF line ends. malloc'd; NULL on no memory. */
char *sender_format_email(const struct channel *ch, const struct notify_msg *m,
			  const char *message_id);

/* The JSON body POSTed for ch (json: Apprise's body plus "alert"; gotify:
 * title, message, priority; ntfy: NULL, its body is the message text).
 * malloc'd. */
char *sender_format_json(const struct channel *ch, const struct notify_msg *m);

/* ntfy's Priority (1-5) and Tags header values for a level. */
int sender_ntfy_priority(const char *level);
const char *sender_ntfy_tags(const char *level);

/* The outcome of an HTTP status (0: no response). */
enum send_outcome sender_http_outcome(long status);
/* The outcome of an SMTP transfer that failed with a server reply code
 * (0: no reply, e.g. could not connect). */
enum send_outcome sender_smtp_outcome(long reply_code);

#endif
