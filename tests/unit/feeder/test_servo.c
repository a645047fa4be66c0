/* servo: the sim backend and PWM sysfs writes against a fake tree. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servo.h"

static char root[256];

static void setup(void)
{
	snprintf(root, sizeof(root), "%s/iod-pwm-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(servo, .init = setup, .fini = teardown);

static void mkpath(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
}

static void touch(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fclose(f);
}

static const char *attr(const char *rel)
{
	static char buf[64];
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "%s", p);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void fake_channel(void)
{
	mkpath("pwmchip0");
	touch("pwmchip0/export");
	mkpath("pwmchip0/pwm1");
	touch("pwmchip0/pwm1/period");
	touch("pwmchip0/pwm1/duty_cycle");
	touch("pwmchip0/pwm1/enable");
}

static struct servo_settings settings(void)
{
	return (struct servo_settings){.pwm_root = root,
				       .period_ns = 20000000,
				       .rest_us = 1000,
				       .open_us = 2000,
				       .export_wait_ms = 50};
}

Test(servo, sim_keeps_position, .timeout = 5)
{
	struct servo_settings st = settings();
	char err[128];
	struct servo *s = servo_open("sim", &st, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(servo_backend(s), "sim");
	cr_assert_eq(servo_position(s), SERVO_REST);
	cr_assert_eq(servo_move(s, SERVO_OPEN), 0);
	cr_assert_eq(servo_position(s), SERVO_OPEN);
	cr_assert_eq(servo_moves(s), 1);
	servo_close(s);
}

/* IOD_FEEDER_SIM_FAULT=jam: the sim servo still moves, but no pill falls;
 * only a sim servo's pill is ever said to fall. */
Test(servo, a_jammed_sim_moves_but_dispenses_nothing, .timeout = 5)
{
	fake_channel();
	struct servo_settings st = settings();
	char err[256];
	struct servo *sim = servo_open("sim", &st, err, sizeof(err));
	cr_assert_not_null(sim, "%s", err);
	cr_assert(servo_is_sim(sim));
	cr_assert(servo_sim_dispenses(sim));
	st.sim_jam = true;
	struct servo *jammed = servo_open("sim", &st, err, sizeof(err));
	cr_assert_not_null(jammed, "%s", err);
	cr_assert_eq(servo_move(jammed, SERVO_OPEN), 0);
	cr_assert_eq(servo_position(jammed), SERVO_OPEN);
	cr_assert_eq(servo_moves(jammed), 1);
	cr_assert(servo_is_sim(jammed));
	cr_assert_not(servo_sim_dispenses(jammed));
	st.sim_jam = false;
	struct servo *pwm = servo_open("pwm:0:1", &st, err, sizeof(err));
	cr_assert_not_null(pwm, "%s", err);
	cr_assert_not(servo_is_sim(pwm));
	cr_assert_not(servo_sim_dispenses(pwm));
	servo_close(pwm);
	servo_close(jammed);
	servo_close(sim);
}

Test(servo, pwm_writes_period_duty_enable, .timeout = 5)
{
	fake_channel();
	struct servo_settings st = settings();
	char err[256];
	struct servo *s = servo_open("pwm:0:1", &st, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_str_eq(attr("pwmchip0/pwm1/period"), "20000000");
	cr_assert_str_eq(attr("pwmchip0/pwm1/duty_cycle"), "1000000");
	cr_assert_str_eq(attr("pwmchip0/pwm1/enable"), "1");
	cr_assert_str_eq(attr("pwmchip0/export"), "", "already exported: not touched");
	cr_assert_eq(servo_move(s, SERVO_OPEN), 0);
	cr_assert_str_eq(attr("pwmchip0/pwm1/duty_cycle"), "2000000");
	cr_assert_eq(servo_move(s, SERVO_REST), 0);
	cr_assert_str_eq(attr("pwmchip0/pwm1/duty_cycle"), "1000000");
	servo_close(s);
}

Test(servo, pwm_exports_a_missing_channel, .timeout = 5)
{
	mkpath("pwmchip0");
	touch("pwmchip0/export");
	struct servo_settings st = settings();
	char err[256];
	/* Nothing creates pwm3/ in a fake tree: the export is written, then
	 * the wait times out with a clear message. */
	struct servo *s = servo_open("pwm:0:3", &st, err, sizeof(err));
	cr_assert_null(s);
	cr_assert_str_eq(attr("pwmchip0/export"), "3");
	cr_assert(strstr(err, "did not appear") != NULL, "%s", err);
}

Test(servo, pwm_missing_chip_and_bad_specs, .timeout = 5)
{
	struct servo_settings st = settings();
	char err[256];
	cr_assert_null(servo_open("pwm:7:0", &st, err, sizeof(err)));
	cr_assert(strstr(err, "no such PWM chip") != NULL, "%s", err);
	const char *bad[] = {"pwm",	 "pwm:",     "pwm:0",  "pwm:0:", "pwm:a:0",
			     "pwm:0:1x", "pwm:-1:0", "servo9", "sim:1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(servo_open(bad[i], &st, err, sizeof(err)), "accepted %s", bad[i]);
}

Test(servo, pwm_pulse_must_fit_the_period, .timeout = 5)
{
	fake_channel();
	struct servo_settings st = settings();
	st.open_us = 25000; /* 25 ms > 20 ms period */
	char err[256];
	cr_assert_null(servo_open("pwm:0:1", &st, err, sizeof(err)));
}
