/* The feeder rules tests' one fixture (fixture.h). */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char dir[256];
char jpath[320];
char mpath[330];
struct feeder_config cfg;
struct feeder_now now;

void fixture_setup(const char *tag)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	snprintf(dir, sizeof(dir), "%s/iod-%s-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 tag);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(jpath, sizeof(jpath), "%s/journal", dir);
	snprintf(mpath, sizeof(mpath), "%s/journal.mark", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.journal_path = jpath;
	cfg.min_interval_ms = 6 * H;
	cfg.max_daily = 3;
	cfg.cmd_ttl_ms = 60 * 1000;
	cfg.grace_ms = 60 * MIN;
	cfg.bound_min_interval_ms = 4 * H; /* the vet's default bounds */
	cfg.bound_max_daily = 4;
	const char *err;
	cr_assert_eq(schedule_parse("none", &cfg.schedule, &err), 0);
	now.wall_ms = NOV26_0900;
	now.mono_ms = 5000000;
}

void fixture_teardown(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

void advance(int64_t ms)
{
	now.wall_ms += ms;
	now.mono_ms += ms;
}

struct feeder *start(struct feeder_result *startup)
{
	struct feeder_result ignored;
	struct feeder *f = feeder_new(&cfg, &now, startup ? startup : &ignored);
	cr_assert_not_null(f);
	return f;
}

void send(struct feeder *f, const char *payload, struct feeder_result *res)
{
	cr_assert_eq(feeder_handle_message(f, payload, strlen(payload), false, &now, res), 0);
}

enum proto_result dose_payload(struct feeder *f, const char *payload, int64_t done_after_ms,
			       struct feeder_result *res)
{
	send(f, payload, res);
	if (res->action != FEEDER_DO_DOSE)
		return res->event.result;
	cr_assert_not(res->has_event, "a dose's event comes when it is done");
	advance(done_after_ms);
	feeder_dose_done(f, true, NULL, &now, res);
	cr_assert(res->has_event);
	return res->event.result;
}

enum proto_result dose_id(struct feeder *f, const char *id, int64_t done_after_ms,
			  struct feeder_result *res)
{
	char payload[160];
	snprintf(payload, sizeof(payload), "{\"action\":\"feed\",\"id\":\"%s\"}", id);
	return dose_payload(f, payload, done_after_ms, res);
}

const struct proto_alert *find_alert(const struct feeder_result *res, const char *code,
				     enum proto_level level)
{
	for (size_t i = 0; i < res->n_alerts; i++)
		if (strcmp(res->alerts[i].code, code) == 0 && res->alerts[i].level == level)
			return &res->alerts[i];
	return NULL;
}

char *slurp(const char *path, size_t *len)
{
	static char buf[1 << 16];
	FILE *fp = fopen(path, "r");
	cr_assert_not_null(fp, "%s", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = n;
	return buf;
}

void put_bytes(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	cr_assert_eq(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

void put_file(const char *path, const char *text)
{
	put_bytes(path, text, strlen(text));
}
