/*
 * app_stubs — stand-ins for what the camera glue (iod_camera_app) calls
 * outside the camera: mqttc (records what is subscribed and published, user
 * properties included, and says connected or not as the test sets), the
 * skeleton's accessors (never called: the tests call the glue's functions
 * themselves; they keep common/service.c and its real client out of the
 * link) and the clocks (injected: the snapshot rates, the "for" snapshot's
 * wait and the bad-command alert's minute count on stub_mono_ms, not on the
 * machine's clock).
 */
#ifndef IOD_TEST_CAMERA_APP_STUBS_H
#define IOD_TEST_CAMERA_APP_STUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STUB_MAX 256

struct stub_publish {
	char topic[160];
	char payload[4096]; /* text payloads; frames are counted, len kept */
	size_t len;
	int qos;
	bool retain;
	/* mqttc_publish_props: its first user property ("" without) and how
	 * many there were. */
	char prop_name[32], prop_value[128];
	size_t n_props;
};

extern struct stub_publish stub_published[STUB_MAX];
extern size_t stub_n_published;
extern char stub_subscribed[STUB_MAX][128];
extern size_t stub_n_subscribed;
extern bool stub_connected; /* mqttc_is_connected() */
extern int64_t stub_wall_ms, stub_mono_ms;

void stub_reset(void);
/* The newest publish on topic, or NULL. */
const struct stub_publish *stub_last(const char *topic);
size_t stub_count(const char *topic);

#endif
