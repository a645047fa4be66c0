/*
 * app_stubs — stand-ins for what the feeder's glue (iod_feeder_app) calls in
 * common/mqttc and the skeleton's accessors, in the way of mosquitto's
 * test/unit stubs files (and tests/unit/bridge/glue_stubs.c): the tests link
 * iod_feeder_app with these instead of the real client, hand app.c messages
 * through its service_def callbacks, and read back every publish.
 *
 * Every mqttc function the glue, ha.c and service_publish.c call is here, so
 * the linker never pulls mqttc.o (Paho) in; a call this file lacks fails the
 * test's link rather than reaching a broker.
 */
#ifndef IOD_TEST_FEEDER_APP_STUBS_H
#define IOD_TEST_FEEDER_APP_STUBS_H

#include <stdbool.h>
#include <stddef.h>

#define STUB_MAX 256

struct stub_publish {
	char topic[160];
	char payload[4096];
	int qos;
	bool retain;
};

/* Every publish, in order. */
extern struct stub_publish stub_published[STUB_MAX];
extern size_t stub_n_published;
extern char stub_subscribed[STUB_MAX][128];
extern size_t stub_n_subscribed;
/* What mqttc_has_room() answers (true after stub_reset), how often it was
 * asked, and the mqttc_pause() calls: how many, and the last value. */
extern bool stub_room;
extern unsigned stub_room_asked;
extern unsigned stub_pauses;
extern bool stub_paused;

/* Forget every publish, subscription and pause; room again. */
void stub_reset(void);
/* The newest publish on topic, or NULL. */
const struct stub_publish *stub_last(const char *topic);
size_t stub_count(const char *topic);

#endif
