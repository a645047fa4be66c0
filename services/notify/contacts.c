/*
 * contacts.c — parsing IOD_NOTIFY_CONTACTS_FILE (contacts.h). Start-up only.
 */
#include "contacts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTACTS_FILE_MAX (256 * 1024)

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int parse_levels(const char *text, unsigned *out)
{
	char buf[64];
	char *save = NULL, *tok;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum proto_level l;

		if (strcmp(tok, "all") == 0)
			*out |= 7u;
		else if (proto_level_parse(tok, &l) == 0)
			*out |= 1u << l;
		else
			return -1;
	}
	/* "info,,warning" and a trailing comma are typing errors, not lists. */
	if (text[0] == ',' || strstr(text, ",,") || text[strlen(text) - 1] == ',')
		return -1;
	return *out ? 0 : -1;
}

/* Split one line into words, a comment dropped. Returns the count. */
static size_t split(char *line, char **words, size_t cap)
{
	size_t n = 0;
	char *p = line;

	while (*p) {
		while (is_space(*p))
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (n == cap)
			return cap + 1;
		words[n++] = p;
		while (*p && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

int contacts_parse(struct contacts *out, const char *text, const char *name,
		   contacts_url_check check, void *arg, char *why, size_t why_size)
{
	const char *p = text;
	unsigned lineno = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[CONTACTS_LINE_MAX], *words[CONTACT_URLS_MAX + 3];
		struct contact *c;
		size_t n;

		lineno++;
		if (len >= sizeof(line)) {
			snprintf(why, why_size, "%s:%u: line longer than %d bytes", name, lineno,
				 CONTACTS_LINE_MAX - 1);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);
		n = split(line, words, CONTACT_URLS_MAX + 2);
		if (n == 0)
			continue;
		if (n > CONTACT_URLS_MAX + 2) {
			snprintf(why, why_size, "%s:%u: more than %d URLs", name, lineno,
				 CONTACT_URLS_MAX);
			return -1;
		}
		if (!proto_contact_valid(words[0])) {
			snprintf(why, why_size,
				 "%s:%u: contact name '%.64s' must be 1-%d of [A-Za-z0-9._-]", name,
				 lineno, words[0], PROTO_CONTACT_MAX);
			return -1;
		}
		if (contacts_find(out, words[0])) {
			snprintf(why, why_size, "%s:%u: contact '%s' is listed twice", name, lineno,
				 words[0]);
			return -1;
		}
		if (n < 3) {
			snprintf(why, why_size, "%s:%u: expected 'name levels url [url...]'", name,
				 lineno);
			return -1;
		}
		if (out->n == CONTACTS_MAX) {
			snprintf(why, why_size, "%s:%u: more than %d contacts", name, lineno,
				 CONTACTS_MAX);
			return -1;
		}
		c = &out->c[out->n];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", words[0]);
		if (parse_levels(words[1], &c->levels) != 0) {
			snprintf(why, why_size,
				 "%s:%u: levels '%.64s' must be a comma list of info, warning, "
				 "critical, or all",
				 name, lineno, words[1]);
			return -1;
		}
		for (size_t i = 2; i < n; i++) {
			char uwhy[256] = "";

			if (strlen(words[i]) >= CONTACT_URL_MAX) {
				snprintf(why, why_size, "%s:%u: URL %zu longer than %d bytes", name,
					 lineno, i - 1, CONTACT_URL_MAX - 1);
				return -1;
			}
			if (check && check(arg, words[i], uwhy, sizeof(uwhy)) != 0) {
				/* why comes from the URL's parser, which never prints a secret. */
				snprintf(why, why_size, "%s:%u: %s", name, lineno,
					 uwhy[0] ? uwhy : "bad URL");
				return -1;
			}
			snprintf(c->urls[c->n_urls++], CONTACT_URL_MAX, "%s", words[i]);
		}
		out->n++;
	}
	return 0;
}

int contacts_load(struct contacts *out, const char *path, contacts_url_check check, void *arg,
		  char *why, size_t why_size)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(CONTACTS_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		snprintf(why, why_size, "%s: out of memory", path);
		return -1;
	}
	n = fread(buf, 1, CONTACTS_FILE_MAX + 1, f);
	fclose(f);
	if (n > CONTACTS_FILE_MAX) {
		snprintf(why, why_size, "%s: larger than %d bytes", path, CONTACTS_FILE_MAX);
		free(buf);
		return -1;
	}
	if (memchr(buf, '\0', n)) {
		snprintf(why, why_size, "%s: contains a NUL byte", path);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	rc = contacts_parse(out, buf, path, check, arg, why, why_size);
	free(buf);
	return rc;
}

const struct contact *contacts_find(const struct contacts *cs, const char *name)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->c[i].name, name) == 0)
			return &cs->c[i];
	return NULL;
}
