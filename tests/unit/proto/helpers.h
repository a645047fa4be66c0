/* Small helpers shared by the proto unit tests. */
#ifndef IOD_TEST_PROTO_HELPERS_H
#define IOD_TEST_PROTO_HELPERS_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Assert an encoder's output equals want, then free it. */
#define assert_json(got_expr, want)                                                                \
	do {                                                                                       \
		char *got_ = (got_expr);                                                           \
		cr_assert_not_null(got_, "encoder returned NULL");                                 \
		cr_assert_str_eq(got_, (want));                                                    \
		free(got_);                                                                        \
	} while (0)

/* A payload of exactly len bytes: {"action":"feed","pad":"xxx...x"}. */
static inline char *padded_cmd(size_t len)
{
	const char *head = "{\"action\":\"feed\",\"pad\":\"";
	const char *tail = "\"}";
	size_t h = strlen(head), t = strlen(tail);
	char *buf = malloc(len + 1);

	cr_assert(len > h + t);
	memcpy(buf, head, h);
	memset(buf + h, 'x', len - h - t);
	memcpy(buf + len - t, tail, t);
	buf[len] = '\0';
	return buf;
}

#endif
