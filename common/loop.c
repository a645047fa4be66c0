/*
 * loop — libuv glue (see loop.h).
 *
 * The first SIGINT/SIGTERM arrives through libuv's signal watchers and runs
 * on_stop on the loop thread. From then on both signals get a plain handler
 * that calls _exit(130): shutdown may block the loop thread (mqttc_stop waits
 * for the broker), and a watcher that needs the loop to run could then never
 * see the second signal.
 */
#include "loop.h"

#include "log.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uv_signal_t sig_int, sig_term;
static bool signals_open;
static loop_stop_cb stop_cb;
static void *stop_arg;

static void exit_now(int signum)
{
	(void)signum;
	_exit(130);
}

static void arm_exit_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = exit_now;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void on_signal(uv_signal_t *handle, int signum)
{
	(void)handle;
	log_info("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
	/* Stopping the watchers gives the signals back to the kernel's default
	 * disposition; replace that at once with the exit handler. */
	uv_signal_stop(&sig_int);
	uv_signal_stop(&sig_term);
	arm_exit_handler();
	if (stop_cb) {
		loop_stop_cb cb = stop_cb;
		stop_cb = NULL;
		cb(stop_arg);
	}
}

int loop_signals_init(uv_loop_t *loop, loop_stop_cb on_stop, void *arg)
{
	int r;

	signal(SIGPIPE, SIG_IGN);
	stop_cb = on_stop;
	stop_arg = arg;
	r = uv_signal_init(loop, &sig_int);
	if (r < 0)
		goto fail;
	r = uv_signal_init(loop, &sig_term);
	if (r < 0) {
		uv_close((uv_handle_t *)&sig_int, NULL);
		goto fail;
	}
	signals_open = true;
	r = uv_signal_start(&sig_int, on_signal, SIGINT);
	if (r == 0)
		r = uv_signal_start(&sig_term, on_signal, SIGTERM);
	if (r < 0) {
		loop_signals_close();
		goto fail;
	}
	return 0;
fail:
	log_error("signal watchers: %s", uv_strerror(r));
	return r;
}

void loop_signals_close(void)
{
	if (!signals_open)
		return;
	signals_open = false;
	uv_signal_stop(&sig_int);
	uv_signal_stop(&sig_term);
	arm_exit_handler();
	if (!uv_is_closing((uv_handle_t *)&sig_int))
		uv_close((uv_handle_t *)&sig_int, NULL);
	if (!uv_is_closing((uv_handle_t *)&sig_term))
		uv_close((uv_handle_t *)&sig_term, NULL);
}

static void close_one(uv_handle_t *handle, void *arg)
{
	(void)arg;
	if (!uv_is_closing(handle))
		uv_close(handle, NULL);
}

int loop_close_all(uv_loop_t *loop)
{
	int r;

	uv_walk(loop, close_one, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	r = uv_loop_close(loop);
	if (r < 0)
		log_warn("event loop: %s", uv_strerror(r));
	return r;
}

int64_t loop_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t loop_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
