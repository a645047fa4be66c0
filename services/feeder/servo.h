/*
 * servo — the feeder's servo behind an ops table chosen by a config string:
 *   "sim"                   logs moves and keeps the position (default); it
 *                           can be told to jam (servo_settings.sim_jam): it
 *                           still moves, but nothing falls out
 *   "pwm:<chip>:<channel>"  Linux PWM sysfs under a configurable root
 *                           (/sys/class/pwm; tests use a temp dir)
 * Not thread-safe; the loop thread owns it. Moves are sysfs writes that
 * return at once: the dose sequence's timing is the caller's (a uv timer).
 */
#ifndef IOD_FEEDER_SERVO_H
#define IOD_FEEDER_SERVO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum servo_position { SERVO_REST, SERVO_OPEN };

struct servo_settings {
	const char *pwm_root; /* "/sys/class/pwm" */
	int64_t period_ns;    /* 20000000 */
	int64_t rest_us;      /* pulse width at rest (home), e.g. 1000 */
	int64_t open_us;      /* pulse width open (dispensing), e.g. 2000 */
	int export_wait_ms;   /* how long to wait for pwmN/ after export; 0 = 1000 */
	bool sim_jam;	      /* sim: jammed (IOD_FEEDER_SIM_FAULT=jam); others ignore it */
};

struct servo;

/* Open the backend named by spec and move it to rest. NULL with a message
 * in err on a bad spec or a hardware error. */
struct servo *servo_open(const char *spec, const struct servo_settings *settings, char *err,
			 size_t err_size);
/* 0, or -errno with the servo's position unknown. */
int servo_move(struct servo *s, enum servo_position pos);
enum servo_position servo_position(const struct servo *s);
const char *servo_backend(const struct servo *s); /* the spec, e.g. "pwm:0:0" */
uint64_t servo_moves(const struct servo *s);
/* The sim backend? Only a sim servo's physics are known to the program. */
bool servo_is_sim(const struct servo *s);
/* A sim servo that opens and is not jammed lets a pill fall: what the
 * sensors' simulated bowl is told (false for every other backend: a real
 * servo's pill is seen by real sensors or not at all). */
bool servo_sim_dispenses(const struct servo *s);
void servo_close(struct servo *s);

#endif
