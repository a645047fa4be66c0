/*
 * sdnotify — see sdnotify.h. The notification protocol itself, not
 * libsystemd: one datagram with the state text to the AF_UNIX socket named
 * by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), and
 * WATCHDOG_USEC / WATCHDOG_PID read from the environment (sd_notify(3),
 * sd_watchdog_enabled(3)). systemd documents that protocol as the stable
 * interface and recommends exactly this to programs that need nothing else
 * from it; linking libsystemd for two calls cost every service 0.7 MB of
 * resident memory (libgcrypt, liblzma, libzstd, liblz4, libcap mapped in),
 * which put the feeder over its 4 MB target.
 */
#include "sdnotify.h"

#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#if IOD_HAVE_SYSTEMD

/* Send one state text to $NOTIFY_SOCKET: 0, or a negative errno. */
static int notify(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd, rc = 0;

	if (!name || (name[0] != '/' && name[0] != '@'))
		return -EAFNOSUPPORT; /* vsock and the like: not for a service of ours */
	len = strlen(name);
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* The watchdog period asked of this process, in microseconds: 0 when none
 * (no WATCHDOG_USEC, or WATCHDOG_PID names another process), -EINVAL when
 * the variables cannot be read. */
static int64_t watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (!usec)
		return 0;
	if (pid) {
		errno = 0;
		v = strtoull(pid, &end, 10);
		if (errno || end == pid || *end || v == 0)
			return -EINVAL;
		if (v != (unsigned long long)getpid())
			return 0;
	}
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || end == usec || *end || v == 0 || v > INT64_MAX)
		return -EINVAL;
	return (int64_t)v;
}

static uv_timer_t ready_timer;
static uv_timer_t watchdog_timer;
static int started;

static void on_ready(uv_timer_t *t)
{
	(void)t;
	int rc = notify("READY=1");
	if (rc < 0)
		log_warn("systemd: cannot send READY=1 to $NOTIFY_SOCKET: %s", strerror(-rc));
}

/* Runs on the loop thread: only a loop that still turns feeds the watchdog. */
static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	notify("WATCHDOG=1");
}

int sdnotify_start(uv_loop_t *loop)
{
	int64_t usec;

	if (started || !getenv("NOTIFY_SOCKET"))
		return 0;
	if (uv_timer_init(loop, &ready_timer) < 0 ||
	    uv_timer_start(&ready_timer, on_ready, 0, 0) < 0) {
		log_error("systemd: cannot start the readiness timer");
		return -1;
	}
	uv_unref((uv_handle_t *)&ready_timer);
	started = 1;

	usec = watchdog_usec();
	if (usec < 0)
		log_warn("systemd: WATCHDOG_USEC is not understood; no watchdog pings");
	if (usec <= 0)
		return 0;
	uint64_t every_ms = (uint64_t)usec / 2000;
	if (every_ms == 0)
		every_ms = 1;
	if (uv_timer_init(loop, &watchdog_timer) < 0 ||
	    uv_timer_start(&watchdog_timer, on_watchdog, 0, every_ms) < 0) {
		log_error("systemd: cannot start the watchdog timer");
		return -1;
	}
	uv_unref((uv_handle_t *)&watchdog_timer);
	log_debug("systemd: watchdog every %llu ms", (unsigned long long)every_ms);
	return 0;
}

void sdnotify_stopping(void)
{
	static int sent;

	if (sent || !getenv("NOTIFY_SOCKET"))
		return;
	sent = 1;
	int rc = notify("STOPPING=1");
	if (rc < 0)
		log_warn("systemd: cannot send STOPPING=1 to $NOTIFY_SOCKET: %s", strerror(-rc));
}

#else

int sdnotify_start(uv_loop_t *loop)
{
	(void)loop;
	return 0;
}

void sdnotify_stopping(void)
{
}

#endif
