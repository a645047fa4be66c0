#include "service_alert.h"

#include <stdio.h>
#include <string.h>

void service_alert_vfill(struct proto_alert *a, const char *source, enum proto_level level,
			 const char *code, int64_t ts_ms, const char *fmt, va_list ap)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->source, sizeof(a->source), "%s", source);
	a->level = level;
	snprintf(a->code, sizeof(a->code), "%s", code);
	vsnprintf(a->message, sizeof(a->message), fmt, ap);
	a->ts_ms = ts_ms;
}

void service_alert_about(struct proto_alert *a, const char *text)
{
	size_t n = 0;
	for (; text && text[n] != '\0' && n + 1 < sizeof(a->subject); n++) {
		unsigned char c = (unsigned char)text[n];
		a->subject[n] = proto_id_char(c) ? (char)c : '_';
	}
	a->subject[n] = '\0';
}

void service_alert_fill(struct proto_alert *a, const char *source, enum proto_level level,
			const char *code, int64_t ts_ms, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	service_alert_vfill(a, source, level, code, ts_ms, fmt, ap);
	va_end(ap);
}
