/*
 * records_http — the records store's read side for HTTP (proto/README.md
 * "Records over HTTP (the bridge)"): a pool of read-only connections to
 * records.db used by libuv's worker threads, so no query runs on the loop.
 * app.c makes one when the store opened and hands it to the server
 * (server_config.records); http.c's requests under /api/ reach it through
 * records_http_get() (server_internal.h).
 */
#ifndef IOD_BRIDGE_RECORDS_HTTP_H
#define IOD_BRIDGE_RECORDS_HTTP_H

#include <uv.h>

struct rhttp;
struct rwriter;

/* path: the store (its writer has opened it); site: the bridge's. NULL on
 * out-of-memory. */
struct rhttp *rhttp_new(uv_loop_t *loop, const char *path, const char *site);
/* The writer whose counters /metrics shows (may be NULL). */
void rhttp_set_writer(struct rhttp *h, struct rwriter *w);
struct rwriter *rhttp_writer(const struct rhttp *h);
/* After the loop has run dry (no work in flight). NULL: no-op. */
void rhttp_free(struct rhttp *h);

#endif
