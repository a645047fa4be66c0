/*
 * service_publish — alerts and info on the wire (see service.h).
 */
#include "service.h"

#include "log.h"
#include "loop.h"
#include "mqttc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The home, in every info (service_info_set_home); "" = left out. 64 bytes
 * and a NUL each: what tz.h and cfg's check allow. */
static struct {
	char tz[65], site_name[65], dog_name[65];
} home;

/* Encode-and-publish of every service's own topics: json is freed here. */
static int publish_owned(struct mqttc *mqtt, const char *topic, char *json, bool retain)
{
	if (!json) {
		log_error("out of memory encoding %s", topic);
		return -ENOMEM;
	}
	int rc = mqttc_publish_str(mqtt, topic, json, 1, retain);
	free(json);
	return rc;
}

int service_alert_publish(struct mqttc *mqtt, const char *site, const struct proto_alert *a)
{
	char topic[PROTO_TOPIC_MAX];
	if (proto_topic_alert(topic, sizeof(topic), site) < 0)
		return -EINVAL;
	return publish_owned(mqtt, topic, proto_alert_encode(a), false);
}

void service_valert(struct mqttc *mqtt, const char *site, const char *source,
		    enum proto_level level, const char *code, const char *fmt, va_list ap)
{
	service_valert_about(mqtt, site, source, NULL, level, code, fmt, ap);
}

void service_valert_about(struct mqttc *mqtt, const char *site, const char *source,
			  const char *subject, enum proto_level level, const char *code,
			  const char *fmt, va_list ap)
{
	struct proto_alert a;
	service_alert_vfill(&a, source, level, code, loop_wall_ms(), fmt, ap);
	service_alert_about(&a, subject);
	enum log_level ll = level == PROTO_LEVEL_INFO	   ? LOG_LEVEL_INFO
			    : level == PROTO_LEVEL_WARNING ? LOG_LEVEL_WARN
							   : LOG_LEVEL_ERROR;
	log_write(ll, "alert %s: %s", code, a.message);
	if (mqtt)
		service_alert_publish(mqtt, site, &a);
}

void service_alert(struct mqttc *mqtt, const char *site, const char *source, enum proto_level level,
		   const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	service_valert(mqtt, site, source, level, code, fmt, ap);
	va_end(ap);
}

int service_publish_info(struct mqttc *mqtt, const char *site, const char *service,
			 const char *backend, int64_t since_ms)
{
	char topic[PROTO_TOPIC_MAX];
	if (proto_topic_info(topic, sizeof(topic), site, service) < 0)
		return -EINVAL;
	struct proto_info info = {.version = IOD_VERSION, .since_ms = since_ms, .backend = backend};
	service_info_fill_home(&info);
	return publish_owned(mqtt, topic, proto_info_encode(&info), true);
}

static void keep(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void service_info_set_home(const char *tz, const char *site_name, const char *dog_name)
{
	keep(home.tz, sizeof(home.tz), tz);
	keep(home.site_name, sizeof(home.site_name), site_name);
	keep(home.dog_name, sizeof(home.dog_name), dog_name);
}

void service_info_fill_home(struct proto_info *info)
{
	info->tz = home.tz[0] ? home.tz : NULL;
	info->site_name = home.site_name[0] ? home.site_name : NULL;
	info->dog_name = home.dog_name[0] ? home.dog_name : NULL;
}
