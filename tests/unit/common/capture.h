/*
 * capture — collect what a piece of code writes to stdout or stderr, for
 * asserting on exact messages. A temp file stands in for the descriptor.
 */
#ifndef IOD_TEST_CAPTURE_H
#define IOD_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int fd;	    /* STDOUT_FILENO or STDERR_FILENO */
	int saved;  /* the original descriptor */
	FILE *file; /* where the output goes meanwhile */
};

static inline void capture_start(struct capture *c, int fd)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = fd;
	c->file = tmpfile();
	c->saved = dup(fd);
	if (!c->file || c->saved < 0 || dup2(fileno(c->file), fd) < 0)
		abort();
}

/* Restore the descriptor; the captured text, malloc'd (caller frees). */
static inline char *capture_end(struct capture *c)
{
	long n;
	char *text;

	fflush(stdout);
	fflush(stderr);
	dup2(c->saved, c->fd);
	close(c->saved);
	n = ftell(c->file);
	if (n < 0)
		abort();
	text = calloc(1, (size_t)n + 1);
	if (!text)
		abort();
	rewind(c->file);
	if (n > 0 && fread(text, 1, (size_t)n, c->file) != (size_t)n)
		abort();
	fclose(c->file);
	return text;
}

#endif
