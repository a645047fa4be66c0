#include "pjson.h"

#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Why: cJSON turns a "\u0000" escape into a C string that silently ends
 * there, so {"id":"a\u0000b"} would read as "a". Refuse it instead. Scans
 * JSON strings only (tracks quotes and backslash escapes).
 */
static bool has_nul_escape(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (!in_string) {
			if (s[i] == '"')
				in_string = true;
			continue;
		}
		if (s[i] == '"') {
			in_string = false;
		} else if (s[i] == '\\') {
			if (i + 1 >= len)
				return false;
			if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
				return true;
			i++; /* skip the escaped character */
		}
	}
	return false;
}

int pj_check_envelope(const void *payload, size_t len, size_t max, const char **reason)
{
	if (len == 0 || payload == NULL) {
		*reason = "empty_payload";
		return -1;
	}
	if (len > max) {
		*reason = "too_large";
		return -1;
	}
	if (memchr(payload, '\0', len) != NULL || !proto_utf8_valid(payload, len) ||
	    has_nul_escape(payload, len)) {
		*reason = "bad_encoding";
		return -1;
	}
	return 0;
}

void pj_trim(const char **p, size_t *len)
{
	const char *s = *p;
	size_t n = *len;

	while (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
		s++;
		n--;
	}
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	*p = s;
	*len = n;
}

/*
 * Paho payloads are not NUL-terminated, and cJSON's length-bounded parser
 * cannot refuse trailing garbage without reading one byte past the buffer;
 * so parse a NUL-terminated copy (the envelope check already refused
 * embedded NULs and bounded the size).
 *
 * Threads: cJSON 1.7.15 resets its global error slot at the start of every
 * parse. We never read that slot (no cJSON_GetErrorPtr), so concurrent
 * parses only race on a value nobody uses; nothing else here is shared.
 */
cJSON *pj_parse_object(const void *payload, size_t len, const char **reason)
{
	char *copy;
	cJSON *root;

	/* cJSON alone would take \x0b as whitespace, 00 and 1. as numbers, a
	 * BOM, raw control characters in strings: refuse what is not JSON. */
	if (!pj_json_valid(payload, len)) {
		*reason = "bad_json";
		return NULL;
	}
	copy = malloc(len + 1);
	if (copy == NULL) {
		*reason = "bad_json";
		return NULL;
	}
	memcpy(copy, payload, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1);
	free(copy);
	if (root == NULL) {
		*reason = "bad_json";
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		*reason = "not_object";
		return NULL;
	}
	return root;
}

int pj_decode_begin(const void *payload, size_t len, size_t max, char *word, size_t word_cap,
		    cJSON **root, const char **reason)
{
	const char *text = payload;

	*root = NULL;
	if (pj_check_envelope(payload, len, max, reason) != 0)
		return -1;
	if (word != NULL) {
		pj_trim(&text, &len);
		if (len == 0) {
			*reason = "empty_payload";
			return -1;
		}
		if (proto__bare_word(text, len, word, word_cap))
			return PJ_DECODE_WORD;
	}
	*root = pj_parse_object(text, len, reason);
	return *root != NULL ? PJ_DECODE_OBJECT : -1;
}

int pj_member(const cJSON *obj, const struct pj_field *f, const cJSON **item, const char **reason)
{
	const cJSON *found = NULL;

	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		if (c->string == NULL || strcmp(c->string, f->name) != 0)
			continue;
		if (found != NULL) {
			*reason = f->dup;
			return -1;
		}
		found = c;
	}
	*item = found;
	return found != NULL;
}

int pj_array(const cJSON *obj, const struct pj_field *f, size_t max, const cJSON **arr,
	     const char **reason)
{
	switch (pj_member(obj, f, arr, reason)) {
	case -1:
		return -1;
	case 0:
		*reason = f->missing;
		return -1;
	default:
		break;
	}
	if (!cJSON_IsArray(*arr) || (size_t)cJSON_GetArraySize(*arr) > max) {
		*reason = f->bad;
		return -1;
	}
	return 1;
}

static int absent(const struct pj_field *f, bool required, const char **reason)
{
	if (required) {
		*reason = f->missing;
		return -1;
	}
	return 0;
}

int pj_string(const cJSON *obj, const struct pj_field *f, bool required, char *dst, size_t cap,
	      bool (*valid)(const char *), const char **reason)
{
	const cJSON *item;
	int rc = pj_member(obj, f, &item, reason);
	size_t n;

	if (rc < 0)
		return -1;
	if (rc == 0)
		return absent(f, required, reason);
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		*reason = f->bad;
		return -1;
	}
	n = strlen(item->valuestring);
	if (n >= cap || (valid != NULL && !valid(item->valuestring))) {
		*reason = f->bad;
		return -1;
	}
	memcpy(dst, item->valuestring, n + 1);
	return 1;
}

int pj_ms(const cJSON *obj, const struct pj_field *f, bool required, bool allow_null, int64_t *out,
	  const char **reason)
{
	const cJSON *item;
	int rc = pj_member(obj, f, &item, reason);
	double d;

	if (rc < 0)
		return -1;
	if (rc == 0)
		return absent(f, required, reason);
	if (allow_null && cJSON_IsNull(item)) {
		*out = 0;
		return 1;
	}
	if (!cJSON_IsNumber(item)) {
		*reason = f->bad;
		return -1;
	}
	d = item->valuedouble;
	if (!isfinite(d) || d < 0 || d > (double)PJ_INT_MAX || floor(d) != d) {
		*reason = f->bad;
		return -1;
	}
	*out = (int64_t)d;
	return 1;
}

int pj_number(const cJSON *obj, const struct pj_field *f, bool required, double lo, double hi,
	      double *out, const char **reason)
{
	const cJSON *item;
	int rc = pj_member(obj, f, &item, reason);
	double d;

	if (rc < 0)
		return -1;
	if (rc == 0)
		return absent(f, required, reason);
	if (!cJSON_IsNumber(item)) {
		*reason = f->bad;
		return -1;
	}
	d = item->valuedouble;
	if (!isfinite(d) || d < lo || d > hi) {
		*reason = f->bad;
		return -1;
	}
	*out = d;
	return 1;
}

int pj_format_number(char *buf, size_t size, double value)
{
	int n;

	if (!isfinite(value) || size < 32)
		return -1;
	if (floor(value) == value && fabs(value) <= (double)PJ_INT_MAX) {
		n = snprintf(buf, size, "%" PRId64, (int64_t)value);
	} else {
		n = snprintf(buf, size, "%.15g", value);
		if (n > 0 && (size_t)n < size && strtod(buf, NULL) != value)
			n = snprintf(buf, size, "%.17g", value);
		/* Whatever the locale's decimal point is, JSON wants '.'. */
		for (char *p = buf; n > 0 && (size_t)n < size && *p != '\0'; p++) {
			if (!(*p >= '0' && *p <= '9') && *p != '-' && *p != '+' && *p != 'e' &&
			    *p != 'E')
				*p = '.';
		}
	}
	return n > 0 && (size_t)n < size ? 0 : -1;
}

cJSON *pj_add_int(cJSON *obj, const char *name, int64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, value);
	return cJSON_AddRawToObject(obj, name, buf);
}

cJSON *pj_add_number(cJSON *obj, const char *name, double value)
{
	char buf[40];

	if (pj_format_number(buf, sizeof(buf), value) != 0)
		return NULL;
	return cJSON_AddRawToObject(obj, name, buf);
}

char *pj_finish(cJSON *obj)
{
	char *text = obj != NULL ? cJSON_PrintUnformatted(obj) : NULL;

	cJSON_Delete(obj);
	return text;
}
