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

/* The members of the care plan's commands (plan.c), after id, action, by
 * and ts: plan's "plan" (missing_plan, duplicate_plan, bad_plan), skip's
 * "slot" (bad_slot), pause's "until" (bad_until), refill's "pills"
 * (missing_pills, bad_pills); the other actions have none. A bad value also
 * names the member and the value in out->detail. */
int proto__action_members(const cJSON *root, struct proto_feeder_cmd *out, const char **reason);
/* Add them to obj for proto_feeder_cmd_encode(). NULL on out-of-memory or
 * an unrepresentable slot. */
cJSON *proto__action_members_add(cJSON *obj, const struct proto_feeder_cmd *cmd);

#endif
