/* Starting aiosmtpd with smtp_stamp.py's handler (smtp_stamp.h). */
#include "smtp_stamp.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef IOD_BENCH_SOURCE_DIR
#define IOD_BENCH_SOURCE_DIR "."
#endif

pid_t smtp_stamp_start(const char *py, int port, int *out_fd)
{
	char listen[64], pypath[600];
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(pypath, sizeof(pypath), "PYTHONPATH=%s/bench/notify", IOD_BENCH_SOURCE_DIR);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		putenv(pypath);
		execl(py, py, "-m", "aiosmtpd", "-n", "-l", listen, "-c", "smtp_stamp.Stamp",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*out_fd = fds[0];
	return pid;
}
