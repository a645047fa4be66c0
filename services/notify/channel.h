/*
 * channel — a contact's channel URL, parsed: Apprise's schemes for email
 * (mailto://, mailtos://), ntfy (ntfy://, ntfys://), a JSON webhook
 * (json://, jsons://) and Gotify (gotify://, gotifys://), plus our own
 * webpush:<user> (the dashboard user's push subscriptions, sent by
 * webpush.c through sender_post). services/notify/README.md ("Channels")
 * is the reference for the forms accepted and where they differ from
 * Apprise.
 *
 * Pure: no I/O, no curl, no libuv; any thread. A parsed channel is a plain
 * value (copy it freely); it keeps the URL as written (with its secrets) and
 * a label that is safe to log or publish (passwords and tokens as "***").
 */
#ifndef IOD_NOTIFY_CHANNEL_H
#define IOD_NOTIFY_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

enum channel_kind { CHANNEL_MAILTO, CHANNEL_NTFY, CHANNEL_JSON, CHANNEL_GOTIFY, CHANNEL_WEBPUSH };

#define CHANNEL_MAX_TO	  8   /* recipients of one mailto:// URL */
#define CHANNEL_ADDR_SIZE 128 /* an email address, NUL included */

/* How an SMTP channel uses TLS (the scheme and ?mode=). */
enum channel_smtp_tls {
	CHANNEL_SMTP_STARTTLS_TRY, /* mailto://: STARTTLS when offered, else plain */
	CHANNEL_SMTP_STARTTLS,	   /* mailtos:// (Apprise's default): STARTTLS or fail */
	CHANNEL_SMTP_IMPLICIT,	   /* mailtos:// on port 465 or ?mode=ssl: smtps:// */
};

struct channel {
	enum channel_kind kind;
	bool tls;	 /* the scheme's "s": https, or TLS to the SMTP server */
	char url[512];	 /* as written, secrets in it */
	char label[128]; /* printable: the URL with passwords and tokens as "***" */

	/* Parsed parts, kind-specific; read by sender.c, nobody else. */
	char target[512]; /* what curl is given: smtp[s]://host:port or http[s]://host[:port]/path,
			     no credentials in it */
	char user[128];	  /* percent-decoded; empty: none */
	char pass[128];
	char token[128]; /* ntfy: ?token= (Bearer); gotify: the application token */
	enum channel_smtp_tls smtp_tls;
	char from[CHANNEL_ADDR_SIZE]; /* mailto: envelope and From: address */
	char name[64];		      /* mailto: From: display name; empty: "iod <site>" */
	char to[CHANNEL_MAX_TO][CHANNEL_ADDR_SIZE];
	int n_to;
	char topic[65];	       /* ntfy */
	char webpush_user[64]; /* webpush */
};

/* Parse url into *out. 0, or -1 with a one-line reason in why (no secrets
 * in it), e.g. "unknown scheme 'foo' (mailto, mailtos, ntfy, ...)",
 * "missing host", "bad port '99999'", "mailto: no recipient: ...". */
int channel_parse(const char *url, struct channel *out, char *why, size_t why_size);

/* "mailto", "ntfy", "json", "gotify", "webpush" (metrics and status). */
const char *channel_kind_name(enum channel_kind kind);

#endif
