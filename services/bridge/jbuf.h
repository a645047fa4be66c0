/*
 * jbuf — a small growable byte buffer for building JSON text, with a string
 * escaper that always yields valid UTF-8 JSON (a byte that starts no
 * proto_utf8_seq() becomes U+FFFD), because a websocket text frame with
 * invalid UTF-8 makes a browser drop the whole connection.
 *
 * On out-of-memory the buffer sets `failed` and ignores further appends; the
 * caller checks once at the end.
 */
#ifndef IOD_BRIDGE_JBUF_H
#define IOD_BRIDGE_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *data;
	size_t len, cap;
	bool failed;
};

void jbuf_init(struct jbuf *b);
void jbuf_free(struct jbuf *b);
void jbuf_put(struct jbuf *b, const void *data, size_t len);
void jbuf_puts(struct jbuf *b, const char *text);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included. */
void jbuf_string(struct jbuf *b, const void *text, size_t len);
void jbuf_i64(struct jbuf *b, int64_t v);
/* A finite double as a JSON number (NaN/inf become null). */
void jbuf_double(struct jbuf *b, double v);

#endif
