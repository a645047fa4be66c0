/*
 * notify_send — a test driver for the notify sender: parses each channel URL
 * given, starts every delivery at once on one libuv loop and prints one JSON
 * line per completion, in the order they complete:
 *   {"i":0,"label":"json://127.0.0.1:8080/x","outcome":"retry","error":"HTTP 500"}
 * A URL "post:<http url>" is a raw sender_post (web push's path) of --body.
 * --close-after-ms closes the sender that long after the start (what is still
 * in flight is cancelled). Exit 0 when every callback ran once, 2 on a bad
 * argument or URL (its reason on stderr), 1 on anything else.
 *
 * Single-threaded; used by test_channels.py and bench/notify.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "sender.h"

#define MAX_URLS 64

struct job {
	int index;
	char label[128];
	int calls;
};

static struct job jobs[MAX_URLS];
static int n_jobs, n_done;
static struct sender *sender;
static uv_timer_t close_timer;
static bool closed;

static const char *outcome_name(enum send_outcome o)
{
	switch (o) {
	case SEND_OK:
		return "ok";
	case SEND_RETRY:
		return "retry";
	case SEND_PERMANENT:
		return "permanent";
	}
	return "?";
}

static void on_closed(void *arg)
{
	(void)arg;
	closed = true;
}

static void on_done(void *arg, enum send_outcome outcome, const char *error)
{
	struct job *j = arg;
	cJSON *o = cJSON_CreateObject();
	char *line;

	j->calls++;
	cJSON_AddNumberToObject(o, "i", j->index);
	cJSON_AddStringToObject(o, "label", j->label);
	cJSON_AddStringToObject(o, "outcome", outcome_name(outcome));
	if (error)
		cJSON_AddStringToObject(o, "error", error);
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddNumberToObject(o, "calls", j->calls);
	line = cJSON_PrintUnformatted(o);
	printf("%s\n", line);
	fflush(stdout);
	free(line);
	cJSON_Delete(o);
	if (++n_done == n_jobs) {
		uv_timer_stop(&close_timer);
		sender_close(sender, on_closed, NULL);
	}
}

static void on_close_timer(uv_timer_t *t)
{
	(void)t;
	sender_close(sender, on_closed, NULL);
}

static int usage(void)
{
	fprintf(stderr, "usage: notify_send [--timeout-ms N] [--ca-file F] [--close-after-ms N] "
			"[--site S] [--key K] [--source S] [--code C] [--level L] [--message M] "
			"[--contact C] [--since-ms N] [--ts-ms N] [--test] [--body B] URL...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct notify_msg m = {.site = "home",
			       .key = "feeder/dose_overdue/2026-12-01T15:00",
			       .source = "feeder",
			       .code = "dose_overdue",
			       .level = "critical",
			       .message = "The 15:00 dose was not given",
			       .contact = "ann",
			       .since_ms = 1796137200000LL,
			       .ts_ms = 1796137500000LL};
	struct sender_options o = {0};
	const char *body = "{\"push\":true}";
	const char *urls[MAX_URLS];
	long close_after = -1;
	int n_urls = 0;
	uv_loop_t *loop = uv_default_loop();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--test")) {
			m.test = true;
			continue;
		}
		if (a[0] != '-' || a[1] != '-') {
			if (n_urls == MAX_URLS)
				return usage();
			urls[n_urls++] = a;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (!strcmp(a, "--timeout-ms"))
			o.timeout_ms = atol(v);
		else if (!strcmp(a, "--ca-file"))
			o.ca_file = v;
		else if (!strcmp(a, "--close-after-ms"))
			close_after = atol(v);
		else if (!strcmp(a, "--site"))
			m.site = v;
		else if (!strcmp(a, "--key"))
			m.key = v;
		else if (!strcmp(a, "--source"))
			m.source = v;
		else if (!strcmp(a, "--code"))
			m.code = v;
		else if (!strcmp(a, "--level"))
			m.level = v;
		else if (!strcmp(a, "--message"))
			m.message = v;
		else if (!strcmp(a, "--contact"))
			m.contact = v;
		else if (!strcmp(a, "--since-ms"))
			m.since_ms = atoll(v);
		else if (!strcmp(a, "--ts-ms"))
			m.ts_ms = atoll(v);
		else if (!strcmp(a, "--body"))
			body = v;
		else
			return usage();
	}
	if (n_urls == 0)
		return usage();

	sender = sender_new(loop, &o);
	if (!sender) {
		fprintf(stderr, "notify_send: sender_new failed\n");
		return 1;
	}
	uv_timer_init(loop, &close_timer);
	for (int i = 0; i < n_urls; i++) {
		struct job *j = &jobs[n_jobs];
		int rc;

		j->index = i;
		if (!strncmp(urls[i], "post:", 5)) {
			const char *const headers[] = {"Content-Encoding: aes128gcm", "TTL: 60",
						       NULL};

			snprintf(j->label, sizeof(j->label), "%s", urls[i]);
			n_jobs++;
			rc = sender_post(sender, urls[i] + 5, headers, body, strlen(body), on_done,
					 j);
		} else {
			struct channel ch;
			char why[256];

			if (channel_parse(urls[i], &ch, why, sizeof(why)) < 0) {
				fprintf(stderr, "notify_send: URL %d: %s\n", i, why);
				return 2;
			}
			snprintf(j->label, sizeof(j->label), "%s", ch.label);
			n_jobs++;
			rc = sender_send(sender, &ch, &m, on_done, j);
		}
		if (rc < 0) {
			fprintf(stderr, "notify_send: URL %d: not started\n", i);
			return 1;
		}
	}
	if (close_after >= 0)
		uv_timer_start(&close_timer, on_close_timer, (uint64_t)close_after, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&close_timer, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	for (int i = 0; i < n_jobs; i++)
		if (jobs[i].calls != 1) {
			fprintf(stderr, "notify_send: job %d called %d times\n", i, jobs[i].calls);
			return 1;
		}
	return closed && uv_loop_close(loop) == 0 ? 0 : 1;
}
