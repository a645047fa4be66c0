#include "jbuf.h"

#include "proto.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jbuf_init(struct jbuf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}

void jbuf_free(struct jbuf *b)
{
	free(b->data);
	jbuf_init(b);
}

static bool reserve(struct jbuf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + more + 1) {
		if (ncap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		ncap *= 2;
	}
	char *n = realloc(b->data, ncap);
	if (!n) {
		b->failed = true;
		return false;
	}
	b->data = n;
	b->cap = ncap;
	return true;
}

void jbuf_put(struct jbuf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void jbuf_puts(struct jbuf *b, const char *text)
{
	jbuf_put(b, text, strlen(text));
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		jbuf_put(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void jbuf_i64(struct jbuf *b, int64_t v)
{
	jbuf_printf(b, "%" PRId64, v);
}

void jbuf_double(struct jbuf *b, double v)
{
	if (!isfinite(v)) {
		jbuf_puts(b, "null");
		return;
	}
	jbuf_printf(b, "%.10g", v);
}

void jbuf_string(struct jbuf *b, const void *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = text;
	size_t i = 0;
	jbuf_put(b, "\"", 1);
	while (i < len) {
		size_t run = i;
		while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		if (run > i) {
			jbuf_put(b, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			jbuf_put(b, esc, 2);
			i++;
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			jbuf_put(b, esc, 6);
			i++;
		} else {
			size_t k = proto_utf8_seq(s + i, len - i);
			if (k) {
				jbuf_put(b, s + i, k);
				i += k;
			} else {
				jbuf_puts(b, "\\ufffd");
				i++;
			}
		}
	}
	jbuf_put(b, "\"", 1);
}
