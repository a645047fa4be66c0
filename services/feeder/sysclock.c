/*
 * sysclock — see sysclock.h. The backends are a flag each; the step watcher
 * is a timerfd on a uv_poll. Loop thread only.
 */
#include "sysclock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <unistd.h>

#include "log.h"

enum sysclock_kind { SYSCLOCK_ADJTIMEX, SYSCLOCK_SIM_SYNCED, SYSCLOCK_SIM_UNSYNCED };

struct sysclock {
	enum sysclock_kind kind;
	char spec[32];
	bool error_logged; /* adjtimex failed once: said so */
	bool last_known;   /* a reading was logged */
	bool last;	   /* what it said (transitions are logged) */
};

bool sysclock_adjtimex_synced(int rc, int status)
{
	return rc != -1 && rc != TIME_ERROR && !(status & STA_UNSYNC);
}

struct sysclock *sysclock_open(const char *spec, char *err, size_t err_size)
{
	static const struct {
		const char *name;
		enum sysclock_kind kind;
	} kinds[] = {
	    {"adjtimex", SYSCLOCK_ADJTIMEX},
	    {"sim:synced", SYSCLOCK_SIM_SYNCED},
	    {"sim:unsynced", SYSCLOCK_SIM_UNSYNCED},
	};
	for (size_t i = 0; spec && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(spec, kinds[i].name) != 0)
			continue;
		struct sysclock *c = calloc(1, sizeof(*c));
		if (!c) {
			snprintf(err, err_size, "out of memory");
			return NULL;
		}
		c->kind = kinds[i].kind;
		snprintf(c->spec, sizeof(c->spec), "%s", spec);
		return c;
	}
	snprintf(err, err_size, "'%s': not a clock (adjtimex, sim:synced or sim:unsynced)",
		 spec ? spec : "");
	return NULL;
}

bool sysclock_synced(struct sysclock *c)
{
	bool synced;
	switch (c->kind) {
	case SYSCLOCK_SIM_SYNCED:
		return true;
	case SYSCLOCK_SIM_UNSYNCED:
		return false;
	case SYSCLOCK_ADJTIMEX:
	default: {
		struct timex tx = {.modes = 0}; /* read only: nothing is changed */
		int rc = adjtimex(&tx);
		if (rc == -1 && !c->error_logged) {
			c->error_logged = true;
			log_warn("adjtimex: %s: the clock's synchronisation is unknown, taken as "
				 "not synchronised",
				 strerror(errno));
		}
		synced = sysclock_adjtimex_synced(rc, tx.status);
		break;
	}
	}
	if (!c->last_known || c->last != synced)
		log_info("system clock: %s (%s)", synced ? "synchronised" : "not synchronised",
			 c->spec);
	c->last_known = true;
	c->last = synced;
	return synced;
}

const char *sysclock_backend(const struct sysclock *c)
{
	return c->spec;
}

void sysclock_close(struct sysclock *c)
{
	free(c);
}

/* ---- steps ------------------------------------------------------------------ */

struct sysclock_steps {
	uv_poll_t poll;
	int fd;
	void (*cb)(void *arg);
	void *arg;
};

/* Far in the future (about year 36800): it never expires; only a set of the
 * clock cancels it. */
static int arm(int fd)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)1 << 40}};
	return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	(void)events;
	struct sysclock_steps *s = p->data;
	uint64_t expirations;
	ssize_t n = read(s->fd, &expirations, sizeof(expirations));
	if (n < 0 && errno == EAGAIN)
		return; /* spurious */
	/* ECANCELED: the clock was set. Armed again before the callback, so a
	 * second set during it is not lost. */
	if (arm(s->fd) < 0)
		log_warn("clock steps: re-arming the timerfd: %s", strerror(errno));
	if (status < 0)
		log_warn("clock steps: %s", uv_strerror(status));
	s->cb(s->arg);
}

struct sysclock_steps *sysclock_steps_start(uv_loop_t *loop, void (*cb)(void *arg), void *arg)
{
	struct sysclock_steps *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cb = cb;
	s->arg = arg;
	s->fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->fd < 0 || arm(s->fd) < 0) {
		log_warn("clock steps: timerfd: %s: a set clock is noticed at the next timer",
			 strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	if (uv_poll_init(loop, &s->poll, s->fd) < 0) {
		close(s->fd);
		free(s);
		return NULL;
	}
	s->poll.data = s;
	uv_poll_start(&s->poll, UV_READABLE, on_readable);
	return s;
}

static void on_closed(uv_handle_t *h)
{
	struct sysclock_steps *s = h->data;
	close(s->fd);
	free(s);
}

void sysclock_steps_stop(struct sysclock_steps *s)
{
	if (!s)
		return;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_closed);
}
