/*
 * mqttc_stub — a stand-in for common/mqttc and the service skeleton's
 * accessors under a service's glue in unit tests, in the way of mosquitto's
 * test/unit stubs files: a glue library (iod_<name>_app) linked with
 * iod_mqttc_stub instead of the real client records every publish and
 * subscription, says connected and "room" as the test sets, and never
 * reaches Paho or a broker.
 *
 * Every mqttc function a glue, common/ha.c and common/service_publish.c
 * call is here, and the accessors of common/service.h, so the linker pulls
 * neither mqttc.o nor service.o: a call this file lacks fails the test's
 * link. The accessors fail the test when called: a test makes its app
 * with the glue's own constructor, not through service_main.
 */
#ifndef IOD_TEST_MQTTC_STUB_H
#define IOD_TEST_MQTTC_STUB_H

#include <stdbool.h>
#include <stddef.h>

#define STUB_MAX 256

struct stub_publish {
	char topic[160];
	char payload[4096]; /* NUL-terminated copy (cut at the size); len is the real length */
	size_t len;
	int qos;
	bool retain;
	/* mqttc_publish_props: its first user property ("" without, and for
	 * plain mqttc_publish) and how many there were. */
	char prop_name[32], prop_value[128];
	size_t n_props;
};

/* Every publish, in order (the test fails past STUB_MAX), user
 * properties included. */
extern struct stub_publish stub_published[STUB_MAX];
extern size_t stub_n_published;
extern char stub_subscribed[STUB_MAX][128];
extern size_t stub_n_subscribed;
extern bool stub_connected; /* mqttc_is_connected() */
/* What mqttc_has_room() answers and how often it was asked; the
 * mqttc_pause() calls: how many, and the last value. */
extern bool stub_room;
extern unsigned stub_room_asked;
extern unsigned stub_pauses;
extern bool stub_paused;

/* Forget every publish, subscription and pause; connected, room again. */
void stub_reset(void);
/* The newest publish on topic, or NULL. */
const struct stub_publish *stub_last(const char *topic);
size_t stub_count(const char *topic);

#endif
