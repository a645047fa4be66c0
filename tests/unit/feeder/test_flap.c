/* flap: IOD_FEEDER_SENSE's spec, the seen / jammed decision on an injected
 * clock, the sim flap, and a GPIO chip that is not there. */
#include <criterion/criterion.h>
#include <string.h>

#include "flap.h"

static struct flap_spec parse_ok(const char *text)
{
	struct flap_spec spec;
	char why[128] = "";
	cr_assert_eq(flap_spec_parse(text, &spec, why, sizeof(why)), 0, "%s: %s", text, why);
	return spec;
}

static const char *parse_bad(const char *text)
{
	static char why[128];
	struct flap_spec spec;
	why[0] = '\0';
	cr_assert_eq(flap_spec_parse(text, &spec, why, sizeof(why)), -1, "%s was taken", text);
	cr_assert(why[0], "%s: no reason", text);
	return why;
}

Test(flap, specs)
{
	cr_assert_eq(parse_ok("none").kind, FLAP_NONE);
	cr_assert_eq(parse_ok(NULL).kind, FLAP_NONE);
	cr_assert_eq(parse_ok("sim").kind, FLAP_SIM);
	struct flap_spec g = parse_ok("gpio:gpiochip0:17");
	cr_assert_eq(g.kind, FLAP_GPIO);
	cr_assert_str_eq(g.chip, "gpiochip0");
	cr_assert_eq(g.line, 17);
	g = parse_ok("gpio:0:0");
	cr_assert_str_eq(g.chip, "0");
	cr_assert_eq(g.line, 0);
	g = parse_ok("gpio:/dev/gpiochip1:4095");
	cr_assert_str_eq(g.chip, "/dev/gpiochip1");
	cr_assert_eq(g.line, 4095);
	g = parse_ok("gpio:pinctrl-bcm2711:5");
	cr_assert_str_eq(g.chip, "pinctrl-bcm2711");

	cr_assert_str_eq(parse_bad("pwm:0:0"),
			 "unknown flap sensor (none, sim, gpio:<chip>:<line>)");
	parse_bad("SIM");
	parse_bad("");
	cr_assert_str_eq(parse_bad("gpio"), "unknown flap sensor (none, sim, gpio:<chip>:<line>)");
	cr_assert_str_eq(parse_bad("gpio:"), "expected gpio:<chip>:<line>, e.g. gpio:gpiochip0:17");
	cr_assert_str_eq(parse_bad("gpio:gpiochip0"),
			 "expected gpio:<chip>:<line>, e.g. gpio:gpiochip0:17");
	cr_assert_str_eq(parse_bad("gpio::3"),
			 "expected gpio:<chip>:<line>, e.g. gpio:gpiochip0:17");
	cr_assert_str_eq(parse_bad("gpio:gpiochip0:x"), "the GPIO line must be a number 0-4095");
	parse_bad("gpio:gpiochip0:4096");
	parse_bad("gpio:gpiochip0:-1");
	parse_bad("gpio:gpiochip0:+1");
	parse_bad("gpio:gpiochip0:3x");
	parse_bad("gpio:gpiochip0:");
	cr_assert_str_eq(parse_bad("gpio:chip 0:3"),
			 "bad GPIO chip name (gpiochip0, 0, a label or /dev/...)");
	parse_bad("gpio:/etc/passwd:3");
	parse_bad("gpio:/dev/../etc/x:3");
	parse_bad(
	    "gpio:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1");
}

Test(flap, seen_within_the_timeout)
{
	struct flap_watch w = {0};
	cr_assert_eq(flap_watch_verdict(&w, 1000), FLAP_IDLE, "nothing armed");
	flap_watch_opened(&w, 1000); /* the flap outside a dose: nothing */
	flap_watch_arm(&w, 1000, 2000);
	cr_assert_eq(flap_watch_verdict(&w, 1000), FLAP_WAIT);
	cr_assert_eq(flap_watch_wait_ms(&w, 1000), 2000);
	cr_assert_eq(flap_watch_verdict(&w, 2999), FLAP_WAIT);
	cr_assert_eq(flap_watch_wait_ms(&w, 2999), 1);
	flap_watch_opened(&w, 1400);
	cr_assert_eq(flap_watch_verdict(&w, 1400), FLAP_SEEN);
	cr_assert_eq(flap_watch_verdict(&w, 99999), FLAP_SEEN, "seen stays seen");
	flap_watch_disarm(&w);
	cr_assert_eq(flap_watch_verdict(&w, 99999), FLAP_IDLE);
}

Test(flap, the_deadline_itself_counts_later_does_not)
{
	struct flap_watch w = {0};
	flap_watch_arm(&w, 5000, 2000);
	flap_watch_opened(&w, 7000);
	cr_assert_eq(flap_watch_verdict(&w, 7000), FLAP_SEEN, "at the deadline: in time");

	flap_watch_arm(&w, 10000, 2000);
	cr_assert_eq(flap_watch_verdict(&w, 10000), FLAP_WAIT, "a new dose starts unseen");
	cr_assert_eq(flap_watch_verdict(&w, 12000), FLAP_WAIT);
	cr_assert_eq(flap_watch_verdict(&w, 12001), FLAP_JAMMED);
	cr_assert_eq(flap_watch_wait_ms(&w, 12001), 0);
	flap_watch_opened(&w, 12001);
	cr_assert_eq(flap_watch_verdict(&w, 12001), FLAP_JAMMED, "too late: still jammed");
}

Test(flap, the_sim_flap_follows_the_pill)
{
	char err[128];
	struct flap_spec spec = parse_ok("sim");
	struct flap *f = flap_open(&spec, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	cr_assert_str_eq(flap_backend(f), "sim");
	cr_assert_eq(flap_fd(f), -1, "nothing to watch");
	cr_assert_eq(flap_servo_opened(f, true), 1);
	cr_assert_eq(flap_servo_opened(f, false), 0, "jammed: it stays shut");
	cr_assert_eq(flap_read(f), 0);
	flap_close(f);
}

Test(flap, a_missing_gpio_chip_is_a_clear_error)
{
	char err[128];
	struct flap_spec spec = parse_ok("gpio:iod-no-such-chip:3");
	cr_assert_null(flap_open(&spec, err, sizeof(err)));
	cr_assert_str_eq(err, "no such GPIO chip");
	spec = parse_ok("none");
	cr_assert_null(flap_open(&spec, err, sizeof(err)));
}
