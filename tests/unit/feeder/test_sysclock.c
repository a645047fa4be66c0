/* sysclock (the feeder glue's clock health): adjtimex's answer read as the
 * kernel means it, the IOD_FEEDER_CLOCK specs (the two fakes, a bad one's
 * message), and the clock-set watcher starting and closing on a loop. The
 * kernel's own state is not asserted: it depends on the machine. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/timex.h>
#include <uv.h>

#include "sysclock.h"

Test(sysclock, adjtimex_answers_read_as_the_kernel_means_them)
{
	cr_assert(sysclock_adjtimex_synced(TIME_OK, 0));
	cr_assert(sysclock_adjtimex_synced(TIME_INS, STA_PLL), "a leap second pending is synced");
	cr_assert_not(sysclock_adjtimex_synced(TIME_ERROR, 0));
	cr_assert_not(sysclock_adjtimex_synced(TIME_OK, STA_UNSYNC));
	cr_assert_not(sysclock_adjtimex_synced(TIME_OK, STA_PLL | STA_UNSYNC));
	cr_assert_not(sysclock_adjtimex_synced(-1, 0), "an error (a sandbox) is not synced");
}

Test(sysclock, the_specs)
{
	char err[160] = "";
	struct sysclock *c = sysclock_open("sim:synced", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_assert(sysclock_synced(c));
	cr_assert_str_eq(sysclock_backend(c), "sim:synced");
	sysclock_close(c);
	c = sysclock_open("sim:unsynced", err, sizeof(err));
	cr_assert_not_null(c);
	cr_assert_not(sysclock_synced(c));
	sysclock_close(c);
	c = sysclock_open("adjtimex", err, sizeof(err));
	cr_assert_not_null(c);
	(void)sysclock_synced(c); /* the machine's: either answer */
	sysclock_close(c);
	cr_assert_null(sysclock_open("ntp", err, sizeof(err)));
	cr_assert_str_eq(err, "'ntp': not a clock (adjtimex, sim:synced or sim:unsynced)");
	cr_assert_null(sysclock_open("sim", err, sizeof(err)));
}

static void never(void *arg)
{
	(void)arg;
	cr_assert_fail("no clock was set by this test");
}

Test(sysclock, the_watcher_starts_and_closes_on_the_loop)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	struct sysclock_steps *s = sysclock_steps_start(&loop, never, NULL);
	cr_assert_not_null(s, "timerfd with TFD_TIMER_CANCEL_ON_SET");
	cr_assert_eq(uv_run(&loop, UV_RUN_NOWAIT), 1, "watching: the loop is alive");
	sysclock_steps_stop(s);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0, "closed: the loop runs dry");
	cr_assert_eq(uv_loop_close(&loop), 0);
}
