/* What the sensors glue published and subscribed to through the stubbed
 * mqttc (mqttc_stubs.c). */
#ifndef IOD_TEST_SENSORS_MQTTC_STUBS_H
#define IOD_TEST_SENSORS_MQTTC_STUBS_H

#include <stdbool.h>
#include <stddef.h>

#define STUB_MAX 256

struct stub_publish {
	char topic[160];
	char payload[2048];
	int qos;
	bool retain;
};

extern struct stub_publish stub_published[STUB_MAX];
extern size_t stub_n_published;
extern char stub_subscribed[STUB_MAX][128];
extern size_t stub_n_subscribed;

void stub_reset(void);
/* The newest publish on topic, or NULL. */
const struct stub_publish *stub_last(const char *topic);
size_t stub_count(const char *topic);

#endif
