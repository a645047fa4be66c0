/*
 * The simulator tells the truth (issue 11): the real iod-feeder with its sim
 * servo and the real iod-sensors with its sim bowl, on a real mosquitto. The
 * bowl fills when the sim servo opens and a pill falls (the feeder's
 * iod/<site>/feeder/sim/dispensed), not when the feeder reports a dose ok,
 * so verified dispense proves something: a jammed sim servo
 * (IOD_FEEDER_SIM_FAULT=jam) reports its dose ok and the bowl says
 * otherwise; with the sim flap sensor (IOD_FEEDER_SENSE=sim) the feeder
 * itself sees the jam. And the settings that make no sense are refused.
 */
#define _GNU_SOURCE /* strchrnul */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "feeder_it.h"
#include "harness.h"

#define T_BOWL "iod/home/sensors/bowl"
#define T_SIM  "iod/home/feeder/sim/dispensed"

/* The sim sensors, up and their bowl reading retained (the feeder's
 * baseline when it subscribes). */
static void setup_with(const char *tag, const char *const *extra)
{
	it_setup(tag, extra);
	it_start_peer("sensors", (const char *const[]){"IOD_SENSORS=sim", NULL});
	expect_msg(T_BOWL, "\"value\"");
}

/* The bowl's reading now (a fresh client gets the retained one). */
static double bowl_now(const char *name)
{
	struct tclient *c = tclient_new(broker.url, name);
	cr_assert_not_null(c);
	cr_assert_eq(tclient_subscribe(c, T_BOWL, 1), 0);
	struct tmsg *m = tclient_expect(c, T_BOWL, WAIT);
	cr_assert_not_null(m, "no bowl reading");
	const char *v = strstr(m->payload, "\"value\":");
	cr_assert_not_null(v, "%s", m->payload);
	double g = strtod(v + 8, NULL);
	tmsg_free(m);
	tclient_free(c);
	return g;
}

static double number_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	cr_assert_not_null(p, "no %s in %s", key, text);
	return strtod(p + strlen(key), NULL);
}

TestSuite(feeder_sim_it, .fini = it_teardown, .timeout = 120);

Test(feeder_sim_it, a_pill_that_falls_fills_the_bowl_and_verifies_the_dose)
{
	static const char *const extra[] = {"IOD_FEEDER_VERIFY_WINDOW=10s", NULL};
	setup_with("feeder-sim-ok", extra);
	start_feeder();
	feed("s1", "\"result\":\"ok\"");
	/* The sim's physical link, not the contract: the pill fell. */
	expect_msg(T_SIM, "{\"dispenser\":\"medication\",\"id\":\"s1\",\"ts\":");
	const char *ev = verify_event("s1");
	cr_assert(strstr(ev, "\"result\":\"ok\""), "%s", ev);
	/* The portion (80 g), less what the dog ate since the reading before
	 * the dose (under the bowl's 5 g deadband, or it would have been
	 * published), give or take the readings' rounding. */
	double delta = number_after(ev, "\"delta_g\":");
	cr_assert(delta > 70 && delta <= 80.5, "delta_g %g: %s", delta, ev);
	expect_msg(T_LOG, "\"verified\":true");
	stop_feeder();
}

Test(feeder_sim_it, a_jammed_servo_says_ok_but_the_bowl_does_not_rise)
{
	static const char *const extra[] = {"IOD_FEEDER_VERIFY_WINDOW=2s",
					    "IOD_FEEDER_SIM_FAULT=jam", NULL};
	setup_with("feeder-sim-jam", extra);
	start_feeder();
	feed("j1", "\"result\":\"ok\""); /* the servo moved: without a flap sensor, ok */
	const char *ev = verify_event("j1");
	cr_assert(strstr(ev, "\"result\":\"failed\""), "%s", ev);
	cr_assert(strstr(ev, "\"reason\":\"no_weight_change\""), "%s", ev);
	expect_msg(T_ALERT, "\"code\":\"dose_unverified\"");
	expect_msg(T_LOG, "\"verified\":false");
	/* Nothing fell: the feeder never said so (the window is over, so a
	 * message at the servo's opening would be here by now). */
	struct tmsg *m = tclient_expect(client, T_SIM, 500);
	cr_assert_null(m, "a jammed servo dispensed: %s", m ? m->payload : "");
	stop_feeder();
}

Test(feeder_sim_it, the_sim_flap_sees_the_jam)
{
	static const char *const extra[] = {"IOD_FEEDER_SIM_FAULT=jam", "IOD_FEEDER_SENSE=sim",
					    NULL};
	setup_with("feeder-sim-flap", extra);
	start_feeder();
	struct tclient *bowl = tclient_new(broker.url, "it-sim-flap-bowl");
	cr_assert_not_null(bowl);
	cr_assert_eq(tclient_subscribe(bowl, T_BOWL, 1), 0);
	double before = bowl_now("it-sim-flap-before");

	/* The flap does not open within IOD_FEEDER_SENSE_TIMEOUT (2 s). */
	feed("k1", "\"result\":\"failed\",\"reason\":\"jammed\"");
	struct tmsg *m = tclient_expect_with(client, T_ALERT, "\"code\":\"dose_failed\"", WAIT);
	cr_assert_not_null(m, "no dose_failed alert");
	cr_assert(strstr(m->payload, "\"level\":\"critical\""), "%s", m->payload);
	cr_assert(strstr(m->payload, "looks jammed"), "%s", m->payload);
	tmsg_free(m);
	/* The log after the dose (the one at its start shows it pending):
	 * k1's entry, up to its closing brace, says failed. */
	m = tclient_expect_with(client, T_LOG, "\"result\":\"failed\"", WAIT);
	cr_assert_not_null(m);
	char entry[512];
	snprintf(entry, sizeof(entry), "%s", strstr(m->payload, "\"id\":\"k1\""));
	*strchrnul(entry, '}') = '\0';
	cr_assert(strstr(entry, "\"result\":\"failed\""), "%s", m->payload);
	tmsg_free(m);

	/* A treat (its own servo, not jammed) falls: the first rise of the
	 * bowl since the dose is the treat's few grams, not a portion. */
	cr_assert_eq(
	    tclient_publish_str(client, T_CMD, "{\"action\":\"treat\",\"id\":\"t1\"}", 1, false),
	    0);
	expect_msg(T_EVENT, "\"id\":\"t1\",\"action\":\"treat\",\"result\":\"ok\"");
	expect_msg(T_SIM, "{\"dispenser\":\"treat\",\"id\":\"t1\"");
	double prev = before, rise = 0;
	for (int i = 0; i < 100 && rise <= 0; i++) {
		struct tmsg *r = tclient_expect(bowl, T_BOWL, WAIT);
		cr_assert_not_null(r, "no rise of the bowl after the treat");
		double g = number_after(r->payload, "\"value\":");
		tmsg_free(r);
		if (g > prev)
			rise = g - prev;
		prev = g;
	}
	/* 10 g less what the dog ate unpublished (under the 5 g deadband). */
	cr_assert(rise >= 4.5 && rise <= 10.5, "the first rise is %g g (a portion is 80)", rise);
	tclient_free(bowl);
	stop_feeder();
}

/* iod-feeder with these settings (and the fixture's broker and data dir):
 * its exit code, its stderr in err. */
static int run_feeder(const char *settings, const char *args, char *err, size_t size)
{
	char cmd[2048];
	const char *bin = getenv("IOD_BIN_DIR");
	cr_assert_not_null(bin);
	snprintf(cmd, sizeof(cmd), "env IOD_MQTT_URL=%s IOD_DATA_DIR=%s %s %s/iod-feeder %s 2>&1",
		 broker.url, data_dir, settings, bin, args);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(err, 1, size - 1, p);
	err[n] = '\0';
	int st = pclose(p);
	cr_assert(WIFEXITED(st), "%s", cmd);
	return WEXITSTATUS(st);
}

static void refused(const char *settings, const char *args, const char *line)
{
	char err[4096];
	cr_assert_eq(run_feeder(settings, args, err, sizeof(err)), 2, "%s: %s", settings, err);
	cr_assert(strstr(err, line), "%s: '%s' not in:\n%s", settings, line, err);
}

Test(feeder_sim_it, settings_that_make_no_sense_are_refused)
{
	it_setup("feeder-sim-bad", NULL);
	refused("IOD_FEEDER_SENSE=bogus", "--check-config",
		"iod-feeder: IOD_FEEDER_SENSE: 'bogus': unknown flap sensor (none, sim, "
		"gpio:<chip>:<line>)\n");
	refused("IOD_FEEDER_SENSE=gpio:gpiochip0:x", "--check-config",
		"iod-feeder: IOD_FEEDER_SENSE: 'gpio:gpiochip0:x': the GPIO line must be a number "
		"0-4095\n");
	refused("IOD_FEEDER_SIM_FAULT=crash", "--check-config",
		"iod-feeder: IOD_FEEDER_SIM_FAULT: 'crash': expected none or jam\n");
	refused("IOD_FEEDER_SIM_FAULT=jam IOD_FEEDER_SERVO=pwm:0:0", "--check-config",
		"iod-feeder: IOD_FEEDER_SIM_FAULT=jam: only the sim servo can be told to jam "
		"(IOD_FEEDER_SERVO is pwm:0:0)\n");
	refused("IOD_FEEDER_SIM_FAULT=jam IOD_FEEDER_SERVO=pwm:0:0", "",
		"iod-feeder: IOD_FEEDER_SIM_FAULT=jam: only the sim servo can be told to jam "
		"(IOD_FEEDER_SERVO is pwm:0:0)\n");
	refused("IOD_FEEDER_SENSE=sim IOD_FEEDER_SERVO=pwm:0:0", "--check-config",
		"iod-feeder: IOD_FEEDER_SENSE=sim is the sim servo's flap (IOD_FEEDER_SERVO is "
		"pwm:0:0): use none or gpio:<chip>:<line>\n");
	/* A GPIO chip that is not there: the spec is fine, the start is not. */
	char err[4096];
	cr_assert_eq(run_feeder("IOD_FEEDER_SENSE=gpio:iod-no-such-chip:3", "--check-config", err,
				sizeof(err)),
		     0, "%s", err);
	refused("IOD_FEEDER_SENSE=gpio:iod-no-such-chip:3", "",
		"iod-feeder: IOD_FEEDER_SENSE: 'gpio:iod-no-such-chip:3': no such GPIO chip\n");
}
