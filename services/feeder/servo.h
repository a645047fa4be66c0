/*
 * servo — the feeder's servo behind an ops table chosen by a config string:
 *   "sim"                   logs moves and keeps the position (default)
 *   "pwm:<chip>:<channel>"  Linux PWM sysfs under a configurable root
 *                           (/sys/class/pwm; tests use a temp dir)
 * Not thread-safe; the loop thread owns it. Moves are sysfs writes that
 * return at once: the dose sequence's timing is the caller's (a uv timer).
 */
#ifndef IOD_FEEDER_SERVO_H
#define IOD_FEEDER_SERVO_H

#include <stddef.h>
#include <stdint.h>

enum servo_position { SERVO_REST, SERVO_OPEN };

struct servo_settings {
	const char *pwm_root; /* "/sys/class/pwm" */
	int64_t period_ns;    /* 20000000 */
	int64_t rest_us;      /* pulse width at rest (home), e.g. 1000 */
	int64_t open_us;      /* pulse width open (dispensing), e.g. 2000 */
	int export_wait_ms;   /* how long to wait for pwmN/ after export; 0 = 1000 */
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
void servo_close(struct servo *s);

#endif
