/* A stand-in for common/mqttc under the sensors glue: records what app.c
 * subscribes to and publishes, and says "connected". The tests drive the
 * glue's functions themselves, not service_main: the skeleton's accessors
 * that sensors_service.create uses are stand-ins too, never called (and
 * they keep common/service.c, with the real client, out of the link). */
#include "mqttc_stubs.h"

#include "mqttc.h"
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stub_publish stub_published[STUB_MAX];
size_t stub_n_published;
char stub_subscribed[STUB_MAX][128];
size_t stub_n_subscribed;

bool mqttc_is_connected(const struct mqttc *m)
{
	(void)m;
	return true;
}

int mqttc_publish(struct mqttc *m, const char *topic, const void *payload, size_t len, int qos,
		  bool retain)
{
	(void)m;
	if (stub_n_published == STUB_MAX)
		return -1;
	struct stub_publish *p = &stub_published[stub_n_published++];
	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	snprintf(p->payload, sizeof(p->payload), "%.*s", (int)len, (const char *)payload);
	p->qos = qos;
	p->retain = retain;
	return 0;
}

int mqttc_publish_str(struct mqttc *m, const char *topic, const char *text, int qos, bool retain)
{
	return mqttc_publish(m, topic, text, strlen(text), qos, retain);
}

int mqttc_subscribe(struct mqttc *m, const char *filter, int qos, bool no_local)
{
	(void)m;
	(void)qos;
	(void)no_local;
	if (stub_n_subscribed < STUB_MAX)
		snprintf(stub_subscribed[stub_n_subscribed++], sizeof(stub_subscribed[0]), "%s",
			 filter);
	return 0;
}

uv_loop_t *service_loop(struct service *svc)
{
	(void)svc;
	abort();
}

const struct cfg *service_cfg(const struct service *svc)
{
	(void)svc;
	abort();
}

struct mqttc *service_mqtt(struct service *svc)
{
	(void)svc;
	abort();
}

int64_t service_since_ms(const struct service *svc)
{
	(void)svc;
	abort();
}

void stub_reset(void)
{
	stub_n_published = stub_n_subscribed = 0;
}

const struct stub_publish *stub_last(const char *topic)
{
	for (size_t i = stub_n_published; i-- > 0;)
		if (strcmp(stub_published[i].topic, topic) == 0)
			return &stub_published[i];
	return NULL;
}

size_t stub_count(const char *topic)
{
	size_t n = 0;
	for (size_t i = 0; i < stub_n_published; i++)
		n += strcmp(stub_published[i].topic, topic) == 0;
	return n;
}
