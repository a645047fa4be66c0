/*
 * app_stubs — what iod-notify's glue (services/notify/app.c) runs on in
 * test_notify_app, besides tests/support/mqttc_stub.c (mqttc: every publish
 * recorded with its topic, payload, QoS and retain):
 *
 *  - the skeleton's accessors service_cfg/_loop/_mqtt/_site/_since_ms,
 *    linked with -Wl,--wrap (mqttc_stub.c's own fail the test, and app.c
 *    has no constructor but notify_service.create): they answer the
 *    test's cfg, loop, fake client and site "home";
 *  - the clocks: loop_wall_ms and loop_mono_ms return stub_wall_ms and
 *    stub_mono_ms (objects, so common/loop.c's are never linked);
 *  - the glue's one deadline timer: uv_timer_start with a timeout (also
 *    wrapped) is not given to libuv but kept against stub_mono_ms, and
 *    stub_advance() fires it when the injected clock reaches it. A 0 ms
 *    start (the glue's end-of-turn flush) is libuv's, run by stub_settle();
 *  - the sender (services/notify/sender.h): sender_new/_send/_post/
 *    _in_flight/_close record what would be sent and never reach curl;
 *    stub_complete() finishes one with ok, a temporary or a permanent
 *    failure when the test says so, on the loop thread as the real one.
 */
#ifndef IOD_TEST_NOTIFY_APP_STUBS_H
#define IOD_TEST_NOTIFY_APP_STUBS_H

#include "channel.h"
#include "sender.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cfg;
struct mqttc;

/* What the accessors answer. */
extern uv_loop_t *stub_loop;
extern const struct cfg *stub_cfg;
extern struct mqttc *stub_client;
extern int64_t stub_since_ms;

extern int64_t stub_wall_ms, stub_mono_ms;

#define STUB_SENDS_MAX 64

/* One delivery started through sender_send or sender_post. */
struct stub_send {
	bool post; /* sender_post (web push) */
	enum channel_kind kind;
	char label[128], url[512];
	char site[64], key[160], source[32], code[48], level[16], message[256], contact[64];
	int64_t since_ms, ts_ms;
	bool test;
	send_done_cb cb;
	void *arg;
	bool done; /* cb called (by stub_complete, or cancelled by sender_close) */
};

extern struct stub_send stub_sends[STUB_SENDS_MAX];
extern size_t stub_n_sends;
/* sender_new's options, and whether sender_close has been called. */
extern long stub_sender_timeout_ms;
extern bool stub_sender_closed;

/* Everything back to its start (no sends, the timer not armed); the clocks
 * to the given values. */
void stub_app_reset(uv_loop_t *loop, int64_t wall_ms, int64_t mono_ms);
/* Run the loop until nothing is active (the flushes a step queued). */
void stub_settle(void);
/* Move both clocks on by ms, firing the glue's timer each time the
 * monotonic clock reaches its deadline (then settling). */
void stub_advance(int64_t ms);
/* Is the glue's timer armed, and when (stub_mono_ms) it fires. */
bool stub_timer_armed(int64_t *due_mono_ms);
/* Finish send i: its callback with outcome and error (NULL for SEND_OK),
 * then settle. The test fails if i was never started or already done. */
void stub_complete(size_t i, enum send_outcome outcome, const char *error);
/* Sends not done yet. */
size_t stub_pending(void);

#endif
