/* Stand-ins for mqttc and the skeleton's accessors under a glue (mqttc_stub.h). */
#include "mqttc_stub.h"

#include "mqttc.h"
#include "service.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

struct stub_publish stub_published[STUB_MAX];
size_t stub_n_published;
char stub_subscribed[STUB_MAX][128];
size_t stub_n_subscribed;
bool stub_connected = true;
bool stub_room = true;
unsigned stub_room_asked;
unsigned stub_pauses;
bool stub_paused;

void stub_reset(void)
{
	stub_n_published = stub_n_subscribed = 0;
	stub_connected = stub_room = true;
	stub_room_asked = stub_pauses = 0;
	stub_paused = false;
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

/* ---- mqttc ---- */

int mqttc_publish(struct mqttc *m, const char *topic, const void *payload, size_t len, int qos,
		  bool retain)
{
	(void)m;
	cr_assert_lt(stub_n_published, STUB_MAX, "more publishes than the stub keeps");
	struct stub_publish *p = &stub_published[stub_n_published++];
	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	size_t keep = len < sizeof(p->payload) - 1 ? len : sizeof(p->payload) - 1;
	memcpy(p->payload, payload, keep);
	p->payload[keep] = '\0';
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
	/* What the real one refuses with -1 is a glue's mistake: fail the test. */
	cr_assert_leq(n_props, MQTTC_PROPS_MAX, "more user properties than mqttc sends");
	for (size_t i = 0; i < n_props; i++)
		cr_assert(props[i].name && props[i].value, "user property %zu: a NULL string", i);
	mqttc_publish(m, topic, payload, len, qos, retain);
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
	cr_assert_lt(stub_n_subscribed, STUB_MAX);
	snprintf(stub_subscribed[stub_n_subscribed++], sizeof(stub_subscribed[0]), "%s", filter);
	return 0;
}

bool mqttc_is_connected(const struct mqttc *m)
{
	(void)m;
	return stub_connected;
}

bool mqttc_has_room(struct mqttc *m, size_t n)
{
	(void)m;
	(void)n;
	stub_room_asked++;
	return stub_room;
}

void mqttc_pause(struct mqttc *m, bool paused)
{
	(void)m;
	stub_pauses++;
	stub_paused = paused;
}

void mqttc_get_stats(const struct mqttc *m, struct mqttc_stats *out)
{
	(void)m;
	memset(out, 0, sizeof(*out));
}

/* ---- the skeleton's accessors: only service_def.create calls them ---- */

uv_loop_t *service_loop(struct service *svc)
{
	(void)svc;
	cr_assert_fail("service_loop: a test makes its app with the glue's constructor");
	return NULL;
}

const struct cfg *service_cfg(const struct service *svc)
{
	(void)svc;
	cr_assert_fail("service_cfg: a test makes its app with the glue's constructor");
	return NULL;
}

struct mqttc *service_mqtt(struct service *svc)
{
	(void)svc;
	cr_assert_fail("service_mqtt: a test makes its app with the glue's constructor");
	return NULL;
}

int64_t service_since_ms(const struct service *svc)
{
	(void)svc;
	cr_assert_fail("service_since_ms: a test makes its app with the glue's constructor");
	return 0;
}
