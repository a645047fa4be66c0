/* Stand-ins under iod-notify's glue in test_notify_app (app_stubs.h). */
#include "app_stubs.h"

#include "loop.h"
#include "sender.h"
#include "service.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uv_loop_t *stub_loop;
const struct cfg *stub_cfg;
struct mqttc *stub_client;
int64_t stub_since_ms;
int64_t stub_wall_ms, stub_mono_ms;

struct stub_send stub_sends[STUB_SENDS_MAX];
size_t stub_n_sends;
long stub_sender_timeout_ms;
bool stub_sender_closed;

/* The glue's deadline timer, kept here instead of in libuv. */
static struct {
	uv_timer_t *handle;
	uv_timer_cb cb;
	bool armed;
	int64_t due_mono_ms;
} fake_timer;

void stub_app_reset(uv_loop_t *loop, int64_t wall_ms, int64_t mono_ms)
{
	stub_loop = loop;
	stub_wall_ms = wall_ms;
	stub_mono_ms = mono_ms;
	memset(stub_sends, 0, sizeof(stub_sends));
	stub_n_sends = 0;
	stub_sender_timeout_ms = 0;
	stub_sender_closed = false;
	memset(&fake_timer, 0, sizeof(fake_timer));
}

/* ---- the skeleton's accessors (-Wl,--wrap=service_...) ---- */

uv_loop_t *__wrap_service_loop(struct service *svc);
const struct cfg *__wrap_service_cfg(const struct service *svc);
struct mqttc *__wrap_service_mqtt(struct service *svc);
const char *__wrap_service_site(const struct service *svc);
int64_t __wrap_service_since_ms(const struct service *svc);

uv_loop_t *__wrap_service_loop(struct service *svc)
{
	(void)svc;
	return stub_loop;
}

const struct cfg *__wrap_service_cfg(const struct service *svc)
{
	(void)svc;
	return stub_cfg;
}

struct mqttc *__wrap_service_mqtt(struct service *svc)
{
	(void)svc;
	return stub_client;
}

const char *__wrap_service_site(const struct service *svc)
{
	(void)svc;
	return "home";
}

int64_t __wrap_service_since_ms(const struct service *svc)
{
	(void)svc;
	return stub_since_ms;
}

/* ---- the clocks ---- */

int64_t loop_wall_ms(void)
{
	return stub_wall_ms;
}

int64_t loop_mono_ms(void)
{
	return stub_mono_ms;
}

/* ---- the deadline timer (-Wl,--wrap=uv_timer_start,--wrap=uv_timer_stop) ---- */

int __real_uv_timer_start(uv_timer_t *handle, uv_timer_cb cb, uint64_t timeout, uint64_t repeat);
int __real_uv_timer_stop(uv_timer_t *handle);
int __wrap_uv_timer_start(uv_timer_t *handle, uv_timer_cb cb, uint64_t timeout, uint64_t repeat);
int __wrap_uv_timer_stop(uv_timer_t *handle);

int __wrap_uv_timer_start(uv_timer_t *handle, uv_timer_cb cb, uint64_t timeout, uint64_t repeat)
{
	if (timeout == 0)
		return __real_uv_timer_start(handle, cb, timeout, repeat);
	cr_assert_eq(repeat, 0, "the glue's timers are one-shot");
	cr_assert(fake_timer.handle == NULL || fake_timer.handle == handle,
		  "a second timer with a timeout: this stub keeps one");
	fake_timer.handle = handle;
	fake_timer.cb = cb;
	fake_timer.armed = true;
	fake_timer.due_mono_ms = stub_mono_ms + (int64_t)timeout;
	return 0;
}

int __wrap_uv_timer_stop(uv_timer_t *handle)
{
	if (handle == fake_timer.handle)
		fake_timer.armed = false;
	return __real_uv_timer_stop(handle);
}

bool stub_timer_armed(int64_t *due_mono_ms)
{
	if (fake_timer.armed && due_mono_ms)
		*due_mono_ms = fake_timer.due_mono_ms;
	return fake_timer.armed;
}

void stub_settle(void)
{
	/* Only the 0 ms flush and the sender's close are ever active. */
	(void)uv_run(stub_loop, UV_RUN_DEFAULT);
}

void stub_advance(int64_t ms)
{
	int64_t target = stub_mono_ms + ms;

	cr_assert_geq(ms, 0);
	stub_settle();
	while (fake_timer.armed && fake_timer.due_mono_ms <= target) {
		int64_t step = fake_timer.due_mono_ms - stub_mono_ms;

		if (step > 0) {
			stub_mono_ms += step;
			stub_wall_ms += step;
		}
		fake_timer.armed = false;
		fake_timer.cb(fake_timer.handle);
		stub_settle();
	}
	stub_wall_ms += target - stub_mono_ms;
	stub_mono_ms = target;
	stub_settle();
}

/* ---- the sender ---- */

struct sender {
	uv_loop_t *loop;
	uv_timer_t cancel; /* sender_close's cancellations, on a later turn */
	void (*closed)(void *arg);
	void *closed_arg;
	bool closing;
};

struct sender *sender_new(uv_loop_t *loop, const struct sender_options *o)
{
	struct sender *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	s->loop = loop;
	stub_sender_timeout_ms = o ? o->timeout_ms : 0;
	uv_timer_init(loop, &s->cancel);
	s->cancel.data = s;
	return s;
}

static struct stub_send *record(void)
{
	cr_assert_lt(stub_n_sends, STUB_SENDS_MAX, "more sends than the stub keeps");
	struct stub_send *r = &stub_sends[stub_n_sends++];
	memset(r, 0, sizeof(*r));
	return r;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

int sender_send(struct sender *s, const struct channel *ch, const struct notify_msg *m,
		send_done_cb cb, void *arg)
{
	if (s->closing || ch->kind == CHANNEL_WEBPUSH)
		return -1; /* as the real one: webpush goes through sender_post */
	struct stub_send *r = record();
	r->kind = ch->kind;
	COPY(r->label, ch->label);
	COPY(r->url, ch->url);
	COPY(r->site, m->site);
	COPY(r->key, m->key);
	COPY(r->source, m->source);
	COPY(r->code, m->code);
	COPY(r->level, m->level);
	COPY(r->message, m->message);
	COPY(r->contact, m->contact);
	r->since_ms = m->since_ms;
	r->ts_ms = m->ts_ms;
	r->test = m->test;
	r->cb = cb;
	r->arg = arg;
	return 0;
}

int sender_post(struct sender *s, const char *url, const char *const *headers, const void *body,
		size_t len, send_done_cb cb, void *arg)
{
	(void)headers;
	(void)body;
	(void)len;
	if (s->closing)
		return -1;
	struct stub_send *r = record();
	r->post = true;
	r->kind = CHANNEL_WEBPUSH;
	COPY(r->url, url);
	r->cb = cb;
	r->arg = arg;
	return 0;
}

size_t sender_in_flight(const struct sender *s)
{
	(void)s;
	return stub_pending();
}

size_t stub_pending(void)
{
	size_t n = 0;

	for (size_t i = 0; i < stub_n_sends; i++)
		n += !stub_sends[i].done;
	return n;
}

static void cancel_closed(uv_handle_t *h)
{
	struct sender *s = h->data;
	void (*closed)(void *) = s->closed;
	void *arg = s->closed_arg;

	free(s);
	if (closed)
		closed(arg);
}

static void cancel_cb(uv_timer_t *t)
{
	struct sender *s = t->data;

	for (size_t i = 0; i < stub_n_sends; i++) {
		if (stub_sends[i].done)
			continue;
		stub_sends[i].done = true;
		stub_sends[i].cb(stub_sends[i].arg, SEND_RETRY, "cancelled");
	}
	uv_close((uv_handle_t *)&s->cancel, cancel_closed);
}

void sender_close(struct sender *s, void (*closed)(void *arg), void *arg)
{
	cr_assert_not(s->closing, "sender_close twice");
	s->closing = true;
	s->closed = closed;
	s->closed_arg = arg;
	stub_sender_closed = true;
	uv_timer_start(&s->cancel, cancel_cb, 0, 0);
}

void stub_complete(size_t i, enum send_outcome outcome, const char *error)
{
	cr_assert_lt(i, stub_n_sends, "send %zu was never started", i);
	cr_assert_not(stub_sends[i].done, "send %zu is already done", i);
	stub_sends[i].done = true;
	stub_sends[i].cb(stub_sends[i].arg, outcome, error);
	stub_settle();
}
