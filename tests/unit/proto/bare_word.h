/*
 * bare_word_shape — what a bare-word command decoder may take: only SP HT
 * LF CR around [A-Za-z0-9_-]+. Shared by the proto unit fuzz test and the
 * libFuzzer target, which both check "accepted means strict JSON or this".
 */
#ifndef IOD_TEST_BARE_WORD_H
#define IOD_TEST_BARE_WORD_H

#include <stdbool.h>
#include <stddef.h>

static inline bool bare_word_shape(const unsigned char *p, size_t len)
{
	size_t i = 0, word = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	while (i < len && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
			   (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '-')) {
		i++;
		word++;
	}
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return word > 0 && i == len;
}

#endif
