/*
 * glue_stubs — stand-ins for what the bridge's lws glue calls outside
 * iod_bridge_core (libwebsockets, mqttc, the clock, the log), in the way of
 * mosquitto's test/unit stubs files: the tests link iod_bridge_glue with these
 * instead of the real libraries, set a request's headers on a struct lws,
 * call http.c / login.c / protocol.c through server_internal.h, and read
 * back what would have gone on the wire.
 *
 * A symbol the glue calls and this file lacks fails the test's link, so no
 * real lws function ever sees a fake connection.
 */
#ifndef IOD_TEST_BRIDGE_GLUE_STUBS_H
#define IOD_TEST_BRIDGE_GLUE_STUBS_H

#include "server_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One fake connection: the request as set by the test, then what the glue
 * did with it. */
struct lws {
	const char *hdr[WSI_TOKEN_COUNT]; /* request headers by token; NULL: absent */
	const char *forwarded;		  /* the custom "forwarded:" header */
	const char *peer;		  /* lws_get_peer_simple() */
	bool final_fragment;		  /* this RECEIVE ends the message */
	/* lws_partial_buffered() once this many writes went out (0: never): the
	 * write that makes it true was a short send whose rest lws kept, and a
	 * write while it is true fails the test (lws wants its buffer drained
	 * first, on the next WRITEABLE). Clear it to say lws drained it. */
	unsigned partial_at_write;
	struct lws *network;	/* lws_get_network_wsi(): an h2 stream's connection; NULL: itself */
	unsigned fail_at_write; /* that lws_write() (1-based) fails with -1 (0: none) */
	size_t wrote_end[512];	/* where each of the first 512 writes ended in body */
	unsigned wrote_read;	/* of those, how many glue_pop_text() returned */
	/* recorded */
	unsigned status;     /* status line (common headers, status, return_http_status) */
	char headers[4096];  /* "name: value\n" per added header, in order */
	char body[16384];    /* every lws_write() appended */
	size_t body_len;     /* bytes in body */
	unsigned writes;     /* lws_write() calls */
	char returned[1024]; /* lws_return_http_status()'s body */
	unsigned writable;   /* lws_callback_on_writable() calls */
	unsigned completed;  /* lws_http_transaction_completed() calls */
	bool killed;	     /* lws_set_timeout(..., LWS_TO_KILL_ASYNC) */
	int close_status;    /* lws_close_reason() */
};

/* The clock the glue reads (loop_wall_ms). */
extern int64_t glue_now_ms;
/* mqttc: what mqttc_is_connected() says and mqttc_publish_str() returns,
 * and the last publish (topic, text, qos, retain) and how many. */
extern bool glue_mqtt_connected;
extern int glue_publish_rc;
extern char glue_published_topic[256], glue_published[1024];
extern int glue_published_qos;
extern bool glue_published_retain;
extern unsigned glue_publishes;
/* The last log line and how many were written. */
extern char glue_last_log[512];
extern unsigned glue_logs;

/* A clean fake connection (headers all absent, final_fragment true). */
void glue_wsi_reset(struct lws *wsi);
/* A server as server_new() would set it up for site "home", without lws:
 * auth (password "hunter2", host name "dogpi") and state created here;
 * public_view and max_clients as given; no web root. The stubs' clock,
 * mqttc and log are reset too. */
struct server *glue_server_new(bool public_view, unsigned max_clients);
/* The same serving the sites of list (IOD_BRIDGE_SITES; NULL: "home"). */
struct server *glue_server_new_sites(bool public_view, unsigned max_clients, const char *list);
void glue_server_free(struct server *s);
/* A users file of n accounts (each with the password "pw") in a fresh
 * directory (its path into dir), and s's accounts reading it (checked
 * inline: no loop; IOD_BRIDGE_PASSWORD "hunter2" still admin's while the
 * file has none). glue_users_drop() removes both. */
struct glue_user {
	const char *name;
	enum roles_role role;
	const char *sites;
};
void glue_users(struct server *s, char dir[64], const struct glue_user *users, size_t n);
void glue_users_drop(const char *dir);
/* Log in as the operator from ip at glue_now_ms: the session token. */
void glue_login(struct server *s, const char *ip, char token[AUTH_TOKEN_HEX + 1]);
/* The next frame sent to c the test has not read, as a string (malloc'd):
 * those lws_write() wrote (the fan-out's direct writes), then those on its
 * queue; NULL when there is none. */
char *glue_pop_text(struct pss *c);

#endif
