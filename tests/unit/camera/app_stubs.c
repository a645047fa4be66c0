/* app_stubs — see app_stubs.h. A symbol the glue calls and this file lacks
 * pulls in the real one, or fails the link. */
#include "app_stubs.h"

#include "loop.h"
#include "mqttc.h"
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stub_publish stub_published[STUB_MAX];
size_t stub_n_published;
char stub_subscribed[STUB_MAX][128];
size_t stub_n_subscribed;
bool stub_connected = true;
int64_t stub_wall_ms = 1764140400000, stub_mono_ms = 1000000;

bool mqttc_is_connected(const struct mqttc *m)
{
	(void)m;
	return stub_connected;
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
	p->len = len;
	p->qos = qos;
	p->retain = retain;
	p->prop_name[0] = p->prop_value[0] = '\0';
	p->n_props = 0;
	return 0;
}

int mqttc_publish_props(struct mqttc *m, const char *topic, const void *payload, size_t len,
			int qos, bool retain, const struct mqttc_prop *props, size_t n_props)
{
	if (mqttc_publish(m, topic, payload, len, qos, retain) < 0)
		return -1;
	struct stub_publish *p = &stub_published[stub_n_published - 1];
	if (n_props > 0) {
		snprintf(p->prop_name, sizeof(p->prop_name), "%s", props[0].name);
		snprintf(p->prop_value, sizeof(p->prop_value), "%s", props[0].value);
	}
	p->n_props = n_props;
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

int64_t loop_wall_ms(void)
{
	return stub_wall_ms;
}

int64_t loop_mono_ms(void)
{
	return stub_mono_ms;
}

void stub_reset(void)
{
	stub_n_published = stub_n_subscribed = 0;
	stub_connected = true;
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
