/*
 * pjson — proto's private JSON helpers (not installed, not part of the
 * contract). Strict envelope checks, typed field getters that name the field
 * in their reason, and small writers for exact integers.
 *
 * All functions are pure and thread-safe: no globals, no static buffers, and
 * cJSON_GetErrorPtr is never used.
 */
#ifndef IOD_PROTO_PJSON_H
#define IOD_PROTO_PJSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest integer a JSON number (an IEEE double) holds exactly: 2^53 - 1. */
#define PJ_INT_MAX 9007199254740991LL

/* One member of an object with the three reasons that name it. */
struct pj_field {
	const char *name;
	const char *missing; /* "missing_<name>" */
	const char *bad;     /* "bad_<name>": wrong type or value */
	const char *dup;     /* "duplicate_<name>" */
};
#define PJ_FIELD(n)                                                                                \
	{                                                                                          \
		n, "missing_" n, "bad_" n, "duplicate_" n                                          \
	}

/* Size and encoding checks shared by every decoder: "empty_payload",
 * "too_large" (over max bytes), "bad_encoding" (NUL byte, invalid UTF-8,
 * or a \u0000 escape inside a JSON string). 0 or -1 with *reason. */
int pj_check_envelope(const void *payload, size_t len, size_t max, const char **reason);

/* Arrays and objects nest at most this deep ({"a":[1]} is 2). */
#define PJ_JSON_MAX_DEPTH 32

/* Is text[0..len) exactly one RFC 8259 JSON-text (jsoncheck.c)? Whitespace
 * only SP HT LF CR, numbers without leading zeros or a bare '.'/exponent,
 * strings with valid escapes, no raw control characters and valid UTF-8,
 * surrogate escapes only as a high+low pair, nothing after the value, at
 * most PJ_JSON_MAX_DEPTH levels. Need not be NUL-terminated. */
bool pj_json_valid(const void *text, size_t len);

/* Parse an already checked payload as one JSON object: pj_json_valid()
 * first, then cJSON. Returns the root (caller cJSON_Delete()s) or NULL with
 * *reason "bad_json" or "not_object" (out-of-memory also reads "bad_json"). */
cJSON *pj_parse_object(const void *payload, size_t len, const char **reason);

/*
 * The start every decoder shares, so each says its reasons the same way in
 * the same order (proto/README.md "Reasons"): pj_check_envelope()
 * (empty_payload, too_large over max bytes, bad_encoding), then
 * pj_parse_object() (bad_json, not_object). A decoder that also takes a
 * bare word passes word (word_cap bytes): surrounding whitespace is dropped
 * first (nothing left: empty_payload) and a bare word (proto__bare_word) is
 * copied there instead of parsed. Returns PJ_DECODE_OBJECT with *root
 * (caller cJSON_Delete()s), PJ_DECODE_WORD (only with word), or -1 with
 * *reason (reason non-NULL).
 */
enum { PJ_DECODE_OBJECT = 0, PJ_DECODE_WORD = 1 };
int pj_decode_begin(const void *payload, size_t len, size_t max, char *word, size_t word_cap,
		    cJSON **root, const char **reason);

/* Find member f->name. Returns 1 and *item when present once, 0 when absent,
 * -1 with *reason = f->dup when present more than once. */
int pj_member(const cJSON *obj, const struct pj_field *f, const cJSON **item, const char **reason);

/* A required array member of at most max elements (SIZE_MAX: no limit).
 * Returns 1 and *arr, or -1 with *reason: f->dup, f->missing when absent,
 * f->bad when not an array or longer. */
int pj_array(const cJSON *obj, const struct pj_field *f, size_t max, const cJSON **arr,
	     const char **reason);

/* A string member copied into dst (cap bytes incl. NUL). Longer than cap-1
 * or failing valid() (when non-NULL) -> f->bad. Returns 1 present, 0 absent
 * and !required, -1 with *reason otherwise. */
int pj_string(const cJSON *obj, const struct pj_field *f, bool required, char *dst, size_t cap,
	      bool (*valid)(const char *), const char **reason);

/* A millisecond timestamp: an integral number 0..PJ_INT_MAX. allow_null maps
 * JSON null to 0. Same return convention as pj_string. */
int pj_ms(const cJSON *obj, const struct pj_field *f, bool required, bool allow_null, int64_t *out,
	  const char **reason);

/* A finite number within [lo, hi]. Same return convention as pj_string. */
int pj_number(const cJSON *obj, const struct pj_field *f, bool required, double lo, double hi,
	      double *out, const char **reason);

/* Add an exact integer member (cJSON would print it through a double). */
cJSON *pj_add_int(cJSON *obj, const char *name, int64_t value);
/* Add a number member: integral values print without a fraction, other
 * values with the shortest of %.15g/%.17g that reads back the same.
 * NULL for non-finite values. */
cJSON *pj_add_number(cJSON *obj, const char *name, double value);
/* Format a finite double into buf as above. 0, or -1 if not finite/too small. */
int pj_format_number(char *buf, size_t size, double value);

/* Print unformatted and delete obj. NULL on out-of-memory (obj deleted). */
char *pj_finish(cJSON *obj);

/* Trim ASCII whitespace (space, \t, \r, \n) from both ends of [*p, *p+*len). */
void pj_trim(const char **p, size_t *len);

#endif
