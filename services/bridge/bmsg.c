#include "bmsg.h"

#include <stdlib.h>
#include <string.h>

static size_t live_bytes;

struct bmsg *bmsg_new(size_t headroom, const void *data, size_t len, bool binary, uint32_t key)
{
	if (headroom > UINT16_MAX || len > SIZE_MAX - headroom - sizeof(struct bmsg) - 1)
		return NULL;
	size_t total = sizeof(struct bmsg) + headroom + len + 1;
	struct bmsg *m = malloc(total);
	if (!m)
		return NULL;
	m->refs = 1;
	m->key = key;
	m->binary = binary;
	m->headroom = (uint16_t)headroom;
	m->len = len;
	if (data && len)
		memcpy(m->buf + headroom, data, len);
	m->buf[headroom + len] = '\0';
	live_bytes += total;
	return m;
}

struct bmsg *bmsg_ref(struct bmsg *m)
{
	m->refs++;
	return m;
}

void bmsg_unref(struct bmsg *m)
{
	if (!m || --m->refs)
		return;
	live_bytes -= sizeof(struct bmsg) + m->headroom + m->len + 1;
	free(m);
}

size_t bmsg_live_bytes(void)
{
	return live_bytes;
}
