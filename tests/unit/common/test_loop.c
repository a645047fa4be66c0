/*
 * loop: SIGTERM/SIGINT become one on_stop call on the loop thread, a second
 * signal exits with 130, loop_close_all closes what is left, the clocks.
 */
#include "loop.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

struct stop_state {
	int calls;
	uv_timer_t *timer;
};

static void on_stop(void *arg)
{
	struct stop_state *s = arg;

	s->calls++;
	uv_timer_stop(s->timer);
	loop_signals_close();
}

static void send_sigterm(uv_timer_t *t)
{
	(void)t;
	raise(SIGTERM);
}

Test(loop, sigterm_calls_on_stop_once_on_the_loop, .timeout = 10)
{
	uv_loop_t loop;
	uv_timer_t timer;
	struct stop_state s = {0, &timer};

	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(loop_signals_init(&loop, on_stop, &s), 0);
	cr_assert_eq(uv_timer_init(&loop, &timer), 0);
	/* Deliver the signal from inside the running loop; the repeating timer
	 * would keep the loop alive forever if on_stop never ran. */
	cr_assert_eq(uv_timer_start(&timer, send_sigterm, 1, 50), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(s.calls, 1);
	uv_close((uv_handle_t *)&timer, NULL);
	cr_assert_eq(loop_close_all(&loop), 0);
}

static void on_stop_then_wedge(void *arg)
{
	(void)arg;
	/* A wedged shutdown: the second signal must still get the process out. */
	raise(SIGINT);
	for (;;)
		pause();
}

Test(loop, second_signal_exits_130, .timeout = 10, .exit_code = 130)
{
	uv_loop_t loop;
	uv_timer_t timer;

	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(loop_signals_init(&loop, on_stop_then_wedge, NULL), 0);
	cr_assert_eq(uv_timer_init(&loop, &timer), 0);
	cr_assert_eq(uv_timer_start(&timer, send_sigterm, 1, 0), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_fail("the loop returned");
}

Test(loop, sigpipe_ignored, .timeout = 10)
{
	uv_loop_t loop;
	struct sigaction sa;

	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(loop_signals_init(&loop, NULL, NULL), 0);
	cr_assert_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	cr_assert_eq(sa.sa_handler, SIG_IGN);
	loop_signals_close();
	cr_assert_eq(loop_close_all(&loop), 0);
}

Test(loop, close_all_closes_leftovers, .timeout = 10)
{
	uv_loop_t loop;
	uv_timer_t t1, t2;
	uv_idle_t idle;

	cr_assert_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &t1);
	uv_timer_init(&loop, &t2);
	uv_idle_init(&loop, &idle);
	uv_timer_start(&t1, NULL, 100000, 0);
	uv_close((uv_handle_t *)&t2, NULL); /* one already closing */
	cr_assert_eq(loop_close_all(&loop), 0);
	cr_assert(uv_is_closing((uv_handle_t *)&t1));
	cr_assert(uv_is_closing((uv_handle_t *)&idle));
}

Test(loop, clocks, .timeout = 10)
{
	struct timespec ts;
	int64_t a = loop_mono_ms(), w = loop_wall_ms(), b;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* The wall clock is epoch milliseconds (the same second as the libc clock). */
	cr_assert_leq(w / 1000, (int64_t)ts.tv_sec);
	cr_assert_geq(w / 1000, (int64_t)ts.tv_sec - 1);
	b = loop_mono_ms();
	cr_assert_geq(b, a);
	cr_assert_gt(a, 0);
}
