/*
 * iod-feeder-journal — check or repair the feeder's dose journal, with the
 * feeder stopped (services/feeder/README.md, "Repairing a damaged journal").
 *
 *   iod-feeder-journal check  [--data-dir DIR]   describe it: exit 0 sound, 1 damaged
 *   iod-feeder-journal repair [--data-dir DIR]   rewrite a clean one: exit 0
 *   iod-feeder-journal clock-ack [--data-dir DIR]
 *       a dose was journaled under a wall clock far ahead: re-date it
 *       (services/feeder/README.md, "A dose dated in the future"):
 *       exit 0 done, 1 nothing to acknowledge
 *
 * Exit 2 on an error (the feeder is running, the journal cannot be read or
 * written). Settings as for iod-feeder (IOD_DATA_DIR, IOD_FEEDER_MIN_INTERVAL,
 * IOD_FEEDER_MAX_DAILY, the bounds), environment or flags. check also says
 * what the journal holds: the care plan (rev, slots, rules, pause, skips,
 * pills).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "feeder.h"
#include "log.h"

static const struct cfg_option tool_options[] = {
    {"IOD_FEEDER_MIN_INTERVAL", CFG_DURATION, "6h", "minimum time between two doses", 1000,
     7LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_FEEDER_MAX_DAILY", CFG_INT, "3", "most doses per local calendar day", 1, 48, 0, NULL},
    {"IOD_FEEDER_BOUND_MIN_INTERVAL", CFG_DURATION, "4h",
     "the vet's bound: no two doses closer than this, whatever the plan says", 1000,
     7LL * 24 * 3600 * 1000, 0, NULL},
    {"IOD_FEEDER_BOUND_MAX_DAILY", CFG_INT, "4",
     "the vet's bound: most doses per local calendar day, whatever the plan says", 1, 48, 0, NULL},
};

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Who acknowledges, for the journal: the person behind sudo when there is
 * one, else the account running this. */
static void who_am_i(char *buf, size_t size)
{
	const char *sudo = getenv("SUDO_USER");
	const struct passwd *pw = getpwuid(getuid());
	snprintf(buf, size, "%s", sudo && sudo[0] ? sudo : pw ? pw->pw_name : "operator");
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "repair") != 0 &&
			 strcmp(argv[1], "clock-ack") != 0)) {
		fprintf(stderr, "usage: iod-feeder-journal check|repair|clock-ack [--data-dir DIR] "
				"(iod-feeder-journal check --help: every setting)\n");
		return 2;
	}
	bool write = strcmp(argv[1], "repair") == 0;
	bool clock_ack = strcmp(argv[1], "clock-ack") == 0;
	int exit_code = 0;
	struct cfg *cfg = cfg_load("feeder", "iod-feeder-journal", tool_options,
				   sizeof(tool_options) / sizeof(tool_options[0]), argc - 1,
				   argv + 1, &exit_code);
	if (!cfg)
		return exit_code;
	log_init("feeder-journal", LOG_LEVEL_WARN);
	char journal_path[PATH_MAX];
	if (snprintf(journal_path, sizeof(journal_path), "%s/journal",
		     cfg_str(cfg, "IOD_DATA_DIR")) >= (int)sizeof(journal_path)) {
		fprintf(stderr, "iod-feeder-journal: IOD_DATA_DIR: path too long\n");
		cfg_free(cfg);
		return 2;
	}
	char boot_id[40];
	feeder_read_boot_id(boot_id, sizeof(boot_id));
	struct feeder_config fc = {
	    .journal_path = journal_path,
	    .min_interval_ms = cfg_duration_ms(cfg, "IOD_FEEDER_MIN_INTERVAL"),
	    .max_daily = (int)cfg_int(cfg, "IOD_FEEDER_MAX_DAILY"),
	    .bound_min_interval_ms = cfg_duration_ms(cfg, "IOD_FEEDER_BOUND_MIN_INTERVAL"),
	    .bound_max_daily = (int)cfg_int(cfg, "IOD_FEEDER_BOUND_MAX_DAILY"),
	    .boot_id = boot_id,
	};
	struct feeder_now now = {.wall_ms = clock_ms(CLOCK_REALTIME),
				 .mono_ms = clock_ms(CLOCK_BOOTTIME)};
	char who[64];
	who_am_i(who, sizeof(who));
	int rc = clock_ack ? feeder_clock_ack(&fc, &now, who, stdout)
			   : feeder_repair_journal(&fc, &now, write, stdout);
	cfg_free(cfg);
	if (rc < 0) {
		fprintf(stderr, "iod-feeder-journal: %s: %s\n", journal_path,
			rc == -EWOULDBLOCK ? "the feeder is running"
			: rc == -EUCLEAN   ? "repair the journal first"
					   : strerror(-rc));
		return 2;
	}
	return rc == 1 ? 1 : 0;
}
