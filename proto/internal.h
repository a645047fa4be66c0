/*
 * internal — helpers shared by proto's own .c files (not part of the
 * contract; users include only proto.h).
 */
#ifndef IOD_PROTO_INTERNAL_H
#define IOD_PROTO_INTERNAL_H

#include "pjson.h"
#include "proto.h"

/* A bare word: 1-32 of [A-Za-z0-9_-] starting with a letter and not a JSON
 * literal (true/false/null); copied NUL-terminated into word (cap bytes). */
bool proto__bare_word(const char *s, size_t n, char *word, size_t cap);
/* The "action" member: missing_action, bad_action (not a string) or
 * unknown_action (a string that names no action). */
int proto__action_member(const cJSON *obj, enum proto_action *out, const char **reason);
/* Text for people: no control characters (C0, DEL, C1); UTF-8 checked before. */
bool proto__text_valid(const char *s);
/* A machine word: [a-z0-9_]*, possibly empty. */
bool proto__word_valid(const char *s);

/* The name ws.c still calls proto_utf8_valid() by (ws.c is being changed
 * elsewhere; it should call proto_utf8_seq() itself, then this goes). */
static inline bool pj_utf8_valid(const unsigned char *s, size_t len)
{
	return proto_utf8_valid(s, len);
}

#endif
