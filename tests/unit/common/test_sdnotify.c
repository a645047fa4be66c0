/*
 * sdnotify: READY=1, WATCHDOG=1 and STOPPING=1 reach a real AF_UNIX datagram socket named
 * by NOTIFY_SOCKET, sent from the loop (as systemd would receive them).
 */
#include "loop.h"
#include "sdnotify.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

struct listener {
	int fd;
	char dir[64];
	char path[108];
	uv_poll_t poll;
	int ready;	   /* READY=1 datagrams seen */
	int watchdog;	   /* WATCHDOG=1 datagrams seen */
	int stopping;	   /* STOPPING=1 datagrams seen */
	int want_watchdog; /* stop the loop after this many pings */
};

static void listener_open(struct listener *l)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(l, 0, sizeof(*l));
	snprintf(l->dir, sizeof(l->dir), "/tmp/iod-sdnotify.XXXXXX");
	cr_assert_not_null(mkdtemp(l->dir));
	snprintf(l->path, sizeof(l->path), "%s/notify", l->dir);
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_geq(l->fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
	cr_assert_eq(bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", l->path, 1), 0);
}

static void listener_close(struct listener *l)
{
	close(l->fd);
	unlink(l->path);
	rmdir(l->dir);
}

/* Count every datagram waiting on the socket. */
static void drain(struct listener *l)
{
	char buf[256];
	ssize_t n;

	while ((n = recv(l->fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if (strcmp(buf, "READY=1") == 0)
			l->ready++;
		else if (strcmp(buf, "WATCHDOG=1") == 0)
			l->watchdog++;
		else if (strcmp(buf, "STOPPING=1") == 0)
			l->stopping++;
		else
			cr_assert_fail("unexpected notification '%s'", buf);
	}
}

static void on_datagram(uv_poll_t *p, int status, int events)
{
	struct listener *l = p->data;

	(void)events;
	cr_assert_eq(status, 0);
	drain(l);
	if (l->ready > 0 && l->watchdog >= l->want_watchdog)
		uv_stop(p->loop);
}

static void stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void run_until_notified(struct listener *l, uv_loop_t *loop)
{
	cr_assert_eq(uv_poll_init(loop, &l->poll, l->fd), 0);
	l->poll.data = l;
	cr_assert_eq(uv_poll_start(&l->poll, UV_READABLE, on_datagram), 0);
	cr_assert_eq(sdnotify_start(loop), 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&l->poll, NULL);
}

Test(sdnotify, ready_once_the_loop_runs, .timeout = 20)
{
	struct listener l;
	uv_loop_t loop;
	char buf[64];

	listener_open(&l);
	unsetenv("WATCHDOG_USEC");
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(sdnotify_start(&loop), 0);
	/* Nothing is sent before the loop turns. */
	cr_assert_lt(recv(l.fd, buf, sizeof(buf), 0), 0);
	l.want_watchdog = 0;
	run_until_notified(&l, &loop);
	cr_assert_eq(l.ready, 1);
	cr_assert_eq(l.watchdog, 0, "no WatchdogSec=, no pings");
	cr_assert_eq(loop_close_all(&loop), 0);
	listener_close(&l);
}

Test(sdnotify, watchdog_pings_from_the_loop, .timeout = 20)
{
	struct listener l;
	uv_loop_t loop;
	char pid[32];

	listener_open(&l);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	cr_assert_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	cr_assert_eq(setenv("WATCHDOG_USEC", "100000", 1), 0);
	cr_assert_eq(uv_loop_init(&loop), 0);
	l.want_watchdog = 3;
	run_until_notified(&l, &loop);
	cr_assert_eq(l.ready, 1);
	cr_assert_geq(l.watchdog, 3);
	cr_assert_eq(loop_close_all(&loop), 0);
	listener_close(&l);
}

Test(sdnotify, watchdog_for_another_pid_is_not_ours, .timeout = 20)
{
	struct listener l;
	uv_loop_t loop;

	listener_open(&l);
	cr_assert_eq(setenv("WATCHDOG_PID", "1", 1), 0);
	cr_assert_eq(setenv("WATCHDOG_USEC", "1000", 1), 0);
	cr_assert_eq(uv_loop_init(&loop), 0);
	l.want_watchdog = 0;
	run_until_notified(&l, &loop);
	/* Let the loop run through a 0.5 ms ping period many times over. */
	uv_timer_t pause;
	cr_assert_eq(uv_timer_init(&loop, &pause), 0);
	cr_assert_eq(uv_timer_start(&pause, stop_loop, 50, 0), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&pause, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	drain(&l);
	cr_assert_eq(l.ready, 1);
	cr_assert_eq(l.watchdog, 0);
	cr_assert_eq(loop_close_all(&loop), 0);
	listener_close(&l);
}

/* STOPPING=1 goes at once (the stop path may block the loop after it), and
 * only once: a second stop path says nothing new. */
Test(sdnotify, stopping_once, .timeout = 20)
{
	struct listener l;

	listener_open(&l);
	sdnotify_stopping();
	sdnotify_stopping();
	drain(&l);
	cr_assert_eq(l.stopping, 1);
	cr_assert_eq(l.ready, 0);
	listener_close(&l);
}

Test(sdnotify, nothing_without_notify_socket, .timeout = 20)
{
	uv_loop_t loop;

	unsetenv("NOTIFY_SOCKET");
	cr_assert_eq(setenv("WATCHDOG_USEC", "1000", 1), 0);
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(sdnotify_start(&loop), 0);
	/* No handle of ours keeps the loop alive: it ends at once. */
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

struct hang {
	struct listener *l;
	int pings_during_hang;
};

/* A loop callback that does not return for a while: a hung service. */
static void hang_loop(uv_timer_t *t)
{
	struct hang *h = t->data;
	int before;

	drain(h->l); /* pings sent before the hang */
	before = h->l->watchdog;
	uv_sleep(300); /* six ping periods */
	drain(h->l);
	h->pings_during_hang = h->l->watchdog - before;
	uv_stop(t->loop);
}

Test(sdnotify, a_blocked_loop_stops_pinging, .timeout = 20)
{
	struct listener l;
	struct hang h = {.l = &l};
	uv_loop_t loop;
	uv_timer_t hang;
	char pid[32];

	listener_open(&l);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	cr_assert_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	cr_assert_eq(setenv("WATCHDOG_USEC", "100000", 1), 0);
	cr_assert_eq(uv_loop_init(&loop), 0);
	l.want_watchdog = 1;
	run_until_notified(&l, &loop);
	cr_assert_geq(l.watchdog, 1);
	/* Hang the loop: the pings come from the loop, so none arrive. */
	cr_assert_eq(uv_timer_init(&loop, &hang), 0);
	hang.data = &h;
	cr_assert_eq(uv_timer_start(&hang, hang_loop, 0, 0), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(h.pings_during_hang, 0);
	uv_close((uv_handle_t *)&hang, NULL);
	cr_assert_eq(loop_close_all(&loop), 0);
	listener_close(&l);
}

/* NOTIFY_SOCKET "@name": Linux's abstract namespace (what systemd uses in
 * containers and some managers hand out); the name has no terminating NUL. */
Test(sdnotify, ready_reaches_an_abstract_socket, .timeout = 20)
{
	struct listener l;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char name[64];
	uv_loop_t loop;

	memset(&l, 0, sizeof(l));
	snprintf(name, sizeof(name), "@iod-sdnotify-test-%ld", (long)getpid());
	size_t len = strlen(name);
	memcpy(sa.sun_path, name, len);
	sa.sun_path[0] = '\0';
	l.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_geq(l.fd, 0);
	cr_assert_eq(bind(l.fd, (struct sockaddr *)&sa,
			  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
		     0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	unsetenv("WATCHDOG_USEC");
	cr_assert_eq(uv_loop_init(&loop), 0);
	l.want_watchdog = 0;
	run_until_notified(&l, &loop);
	cr_assert_eq(l.ready, 1);
	cr_assert_eq(loop_close_all(&loop), 0);
	close(l.fd);
}
