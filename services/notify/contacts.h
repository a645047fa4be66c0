/*
 * contacts — IOD_NOTIFY_CONTACTS_FILE: who is told, in escalation order.
 *
 * One contact a line, whitespace-separated: `name levels url [url...]`;
 * `#` starts a comment (at the start of a line or after whitespace), blank
 * lines are skipped. name: proto_contact_valid(), unique. levels: a comma
 * list of info, warning, critical, or all. Each URL is checked by the
 * url_check seam (channel_parse in the service). A bad line is an error
 * "<file>:<line>: <why>" and the whole file is refused.
 *
 * Pure apart from reading the file; not thread-safe (read once at start).
 */
#ifndef IOD_NOTIFY_CONTACTS_H
#define IOD_NOTIFY_CONTACTS_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>

#define CONTACTS_MAX	  32
#define CONTACT_URLS_MAX  8
#define CONTACT_URL_MAX	  512
#define CONTACTS_LINE_MAX 4096

struct contact {
	char name[PROTO_CONTACT_MAX + 1];
	unsigned levels; /* bit (1 << enum proto_level) */
	char urls[CONTACT_URLS_MAX][CONTACT_URL_MAX];
	size_t n_urls;
};
struct contacts {
	struct contact c[CONTACTS_MAX];
	size_t n;
};

/* A URL's check: 0, or -1 with why filled. arg is the caller's. */
typedef int (*contacts_url_check)(void *arg, const char *url, char *why, size_t why_size);

/* Parse text (NUL-terminated) as the file called name. 0, or -1 with why
 * "<name>:<line>: <problem>". check may be NULL (every URL accepted). */
int contacts_parse(struct contacts *out, const char *text, const char *name,
		   contacts_url_check check, void *arg, char *why, size_t why_size);
/* Read and parse path; errors as above (an unreadable file: "<path>: <errno text>"). */
int contacts_load(struct contacts *out, const char *path, contacts_url_check check, void *arg,
		  char *why, size_t why_size);
const struct contact *contacts_find(const struct contacts *cs, const char *name);
static inline bool contact_wants(const struct contact *c, enum proto_level level)
{
	return (c->levels & (1u << level)) != 0;
}

#endif
