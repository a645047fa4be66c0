/*
 * wsclient — a websocket test client for the bridge's integration tests and
 * benchmark, on libwebsockets' client API (its own poll loop, driven by the
 * caller), plus plain-socket HTTP helpers for status codes and headers.
 *
 * Many connections share one context; everything runs on the calling thread.
 */
#ifndef IOD_TEST_WSCLIENT_H
#define IOD_TEST_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wsc;

struct wsc_frame {
	bool binary;
	size_t len;
	char *data;    /* NUL-terminated copy */
	int64_t rx_ns; /* CLOCK_MONOTONIC when the last byte arrived */
};

struct wsc_conn {
	struct wsc *owner;
	void *wsi; /* struct lws * */
	bool established, closed, failed;
	int close_code; /* from the server's close frame; 0 = none */
	bool keep;	/* store frames (else only count them) */
	struct wsc_frame *frames;
	size_t n_frames, cap_frames;
	uint64_t n_text, n_binary; /* counted whatever keep says */
	bool ready;		   /* a {"type":"ready"} arrived */
	char *last_text;	   /* the last text frame (always kept) */
	/* for the caller */
	void (*on_frame)(struct wsc_conn *c, const struct wsc_frame *f);
	void *user;
	bool user_sent; /* free for the caller (e.g. a hello was sent) */
	/* internal */
	char *rx;
	size_t rx_len, rx_cap;
	struct wsc_out {
		char *data;
		size_t len;
		bool binary;
	} * out; /* frames waiting to be sent */
	size_t n_out;
	char cookie[160];
	char origin[128];
	char host[64];
	char subprotocol[32];
	char path[64];
};

struct wsc *wsc_new(void);
void wsc_free(struct wsc *w);
/* Start a connection to ws://127.0.0.1:port/ws. cookie ("iod_session=...") and
 * origin may be NULL; subprotocol NULL sends none. */
struct wsc_conn *wsc_connect(struct wsc *w, int port, const char *cookie, const char *origin,
			     const char *subprotocol, bool keep);
/* The same with a path other than /ws (e.g. mosquitto's websockets listener). */
struct wsc_conn *wsc_connect_path(struct wsc *w, int port, const char *path, const char *cookie,
				  const char *origin, const char *subprotocol, bool keep);
/* Run the loop until cond(arg) is true or timeout_ms passes: true if met. */
bool wsc_run_until(struct wsc *w, bool (*cond)(void *arg), void *arg, int timeout_ms);
/* Run the loop for about ms milliseconds. */
void wsc_run_for(struct wsc *w, int ms);
int wsc_send_text(struct wsc_conn *c, const char *text);
int wsc_send_binary(struct wsc_conn *c, const void *data, size_t len);
/* Connections of this context closed so far are not freed until wsc_free. */
/* Stop (false) or resume (true) reading from the socket. */
void wsc_read(struct wsc_conn *c, bool on);
/* Index of the first frame (from `from`) containing needle, or -1. */
long wsc_find(const struct wsc_conn *c, size_t from, const char *needle);

int64_t wsc_now_ns(void);

/* ---- plain HTTP ---- */

struct http_resp {
	int status;
	char headers[4096]; /* raw, lower-case names as sent */
	char body[65536];
	size_t body_len;
};
/* Send a raw request (must end with the blank line and body) to 127.0.0.1:port
 * and read the answer. 0 or -1. */
int http_raw(int port, const char *request, struct http_resp *out);
/* The same from a given local IPv4 source address (e.g. 127.0.0.9), or NULL. */
int http_raw_from(const char *source, int port, const char *request, struct http_resp *out);
/* GET/POST helpers. extra_headers: "Name: value\r\n..." or NULL. */
int http_get(int port, const char *path, const char *extra_headers, struct http_resp *out);
int http_post(int port, const char *path, const char *extra_headers, const char *body,
	      struct http_resp *out);
/* Value of a response header (case-insensitive name), copied; 0 or -1. */
int http_header(const struct http_resp *r, const char *name, char *out, size_t size);
/* POST /api/login; on 200 fills cookie with "iod_session=<hex>". Returns the status. */
int http_login(int port, const char *password, char *cookie, size_t size);

#endif
