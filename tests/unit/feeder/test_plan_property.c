/* feeder: the care plan's property test (issue 11): random plans (within
 * and outside the vet's bounds), random plan/skip/pause/resume/refill/feed
 * commands at random times, schedule ticks when the timer would fire and
 * at random, restarts (some in a new boot, some mid-dose), in three time
 * zones around their DST changes, with the injected clock. At no instant
 * do two medication doses fall within the bound's minimum interval (on the
 * wall clock, and on the boot clock within a boot), never more than the
 * bound's daily maximum fall on one local day, no slot is dosed twice, and
 * a scheduled dose never follows a dose within the plan's interval of its
 * slot (lowering the interval or moving a slot never doses a period
 * twice). IOD_PROPERTY_SEED / IOD_PROPERTY_CASES override the seed (printed
 * on failure) and the number of cases. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feeder.h"
#include "fixture.h"
#include "log.h"
#include "plan.h"

static void setup(void)
{
	/* tmpfs when there is one: 10,000 journals, each record fsync'd */
	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	fixture_setup("plan-property");
	log_init("feeder", LOG_LEVEL_ERROR); /* 10,000 cases' info lines cost seconds */
}

TestSuite(plan_property, .init = setup, .fini = fixture_teardown);

static uint64_t rng;

static uint64_t next(void) /* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int64_t between(int64_t lo, int64_t hi) /* inclusive */
{
	return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
}

static bool chance(int percent)
{
	return (int)(next() % 100) < percent;
}

struct given {
	int64_t wall, mono;
	int boot;
	int date_key;
	char slot[SCHEDULE_SLOT_ID_MAX];
};

static struct given doses[2048];
static size_t n_doses;
static int boot;
static char boot_ids[64][40];
static uint64_t case_seed;
static int case_no, step_no;

/* A failure names the case's seed and how to run it alone. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			char msg_[400];                                                            \
			snprintf(msg_, sizeof(msg_), __VA_ARGS__);                                 \
			cr_assert_fail("seed %" PRIu64 " (case %d, step %d; alone: "               \
				       "IOD_PROPERTY_SEED=%" PRIu64 " IOD_PROPERTY_CASES=1): %s",  \
				       case_seed, case_no, step_no, case_seed, msg_);              \
		}                                                                                  \
	} while (0)

/* The slot's instant from its id ("YYYY-MM-DDTHH:MM"), in local time. */
static int64_t slot_instant(const char *slot)
{
	struct schedule_date d;
	int hh, mm;
	CHECK(sscanf(slot, "%d-%d-%dT%d:%d", &d.year, &d.month, &d.day, &hh, &mm) == 5, "slot %s",
	      slot);
	return schedule_local_instant(d, hh * 60 + mm);
}

/* A dose starts now: every rule, checked against every dose before it. */
static void dose_started(struct feeder *f, const char *slot)
{
	const struct proto_plan *p = feeder_plan(f);
	int64_t bound = cfg.bound_min_interval_ms;
	int key = schedule_date_key(schedule_local_date(now.wall_ms));
	int today = 1;
	for (size_t i = 0; i < n_doses; i++) {
		const struct given *g = &doses[i];
		CHECK(now.wall_ms - g->wall >= bound,
		      "dose %zu at %" PRId64 " is %" PRId64 " ms after the one at %" PRId64
		      ", under the bound %" PRId64,
		      n_doses, now.wall_ms, now.wall_ms - g->wall, g->wall, bound);
		if (g->boot == boot)
			CHECK(now.mono_ms - g->mono >= bound, "boot clock: %" PRId64 " ms apart",
			      now.mono_ms - g->mono);
		today += g->date_key == key;
		if (slot[0])
			CHECK(strcmp(g->slot, slot) != 0, "slot %s dosed twice", slot);
	}
	CHECK(today <= cfg.bound_max_daily, "%d doses on %d, the bound is %d", today, key,
	      cfg.bound_max_daily);
	if (slot[0]) {
		int64_t s = slot_instant(slot);
		int64_t interval = plan_min_interval_ms(p);
		for (size_t i = 0; i < n_doses; i++)
			CHECK(doses[i].wall <= s - interval,
			      "slot %s dosed although the dose at %" PRId64
			      " served it (interval %" PRId64 ")",
			      slot, doses[i].wall, interval);
	}
	CHECK(n_doses < sizeof(doses) / sizeof(doses[0]), "too many doses");
	struct given *g = &doses[n_doses++];
	g->wall = now.wall_ms;
	g->mono = now.mono_ms;
	g->boot = boot;
	g->date_key = key;
	snprintf(g->slot, sizeof(g->slot), "%s", slot);
}

static void random_slots(struct proto_plan_slot *slots, size_t *n, size_t max)
{
	*n = (size_t)between(0, (int64_t)max);
	for (size_t i = 0; i < *n; i++) {
		slots[i].minute = (int)between(0, 1439);
		if (chance(20))
			slots[i].minute = (int)between(1, 3) * 60 + 30; /* DST hours */
		slots[i].days = chance(60) ? PROTO_DAYS_DAILY : (uint8_t)between(1, 0x7f);
		slots[i].enabled = chance(90);
		for (size_t k = 0; k < i; k++) /* never two at one time on a same day */
			if (slots[k].minute == slots[i].minute)
				slots[i].days &= (uint8_t)~slots[k].days;
		if (slots[i].days == 0) {
			(*n)--;
			i--;
		}
	}
}

static struct feeder *restart(struct feeder *f)
{
	feeder_free(f);
	if (chance(30)) { /* a new boot: the boot clock starts again */
		boot++;
		cfg.boot_id = boot_ids[boot % 64];
		now.mono_ms = between(5000, 600000);
	}
	struct feeder_result startup;
	f = feeder_new(&cfg, &now, &startup);
	cr_assert_not_null(f);
	return f;
}

/* What a command or tick asked for: a dose is recorded, then completed
 * (ok, failed) a second later, or the feeder dies mid-dose. */
static struct feeder *settle(struct feeder *f, struct feeder_result *res, const char *slot)
{
	if (res->action != FEEDER_DO_DOSE)
		return f;
	dose_started(f, slot);
	if (chance(5))
		return restart(f); /* died mid-dose: uncertain, counted */
	advance(1000);
	feeder_dose_done(f, !chance(5), "servo: EIO", &now, res);
	return f;
}

static void one_case(void)
{
	static const char *const zones[] = {"Europe/Berlin", "Europe/London", "Pacific/Auckland"};
	/* Windows around DST changes (2026-03-29, 04-05, 09-27, 10-25, 2027-03-28
	 * and 04-04), and anywhere in between. */
	static const int64_t dst[] = {1774656000000LL, 1775260800000LL, 1790380800000LL,
				      1792886400000LL, 1806105600000LL, 1806710400000LL};
	setenv("TZ", zones[next() % 3], 1);
	tzset();
	unlink(jpath);
	unlink(mpath);
	n_doses = 0;
	boot++;
	cfg.boot_id = boot_ids[boot % 64];
	cfg.bound_min_interval_ms = between(1, 6) * H;
	cfg.bound_max_daily = (int)between(1, 6);
	/* The seed: usually within the bounds, sometimes not (the glue would
	 * refuse to start; the core must hold the bounds anyway). */
	cfg.min_interval_ms =
	    chance(80) ? cfg.bound_min_interval_ms + between(0, 4) * H : between(1, 360) * MIN;
	cfg.max_daily = chance(80) ? (int)between(1, cfg.bound_max_daily) : (int)between(1, 8);
	cfg.grace_ms = between(0, 3) * H;
	struct proto_plan_slot slots[PROTO_PLAN_SLOTS_MAX];
	size_t n;
	random_slots(slots, &n, 5);
	memset(&cfg.schedule, 0, sizeof(cfg.schedule));
	for (size_t i = 0; i < n; i++) /* daily, sorted and unique as the env's */
		if (cfg.schedule.count == 0 ||
		    slots[i].minute > cfg.schedule.minutes[cfg.schedule.count - 1])
			cfg.schedule.minutes[cfg.schedule.count++] = slots[i].minute;
	cfg.compact_bytes = chance(10) ? 2048 : 0;
	cfg.id_memory = 64; /* the ring is the same code at any size, and cheaper */
	now.wall_ms = chance(70) ? dst[next() % 6] + between(-3, 3) * 24 * H
				 : 1774656000000LL + between(0, 400) * 24 * H;
	now.mono_ms = between(5000, 600000);
	struct feeder_result res;
	struct feeder *f = feeder_new(&cfg, &now, &res);
	cr_assert_not_null(f);
	char id[48];
	for (step_no = 0; step_no < 14; step_no++) {
		int64_t event = chance(50) ? feeder_next_event_ms(f, &now) : 0;
		if (event > now.wall_ms && event < now.wall_ms + 2 * 24 * H)
			advance(event - now.wall_ms + between(0, 90) * 1000); /* the timer */
		else
			advance(between(1, 600) * MIN);
		int r = (int)between(0, 99);
		snprintf(id, sizeof(id), "c%d-%d", case_no, step_no);
		struct proto_feeder_cmd c;
		memset(&c, 0, sizeof(c));
		snprintf(c.id, sizeof(c.id), "%s", id);
		snprintf(c.by, sizeof(c.by), "prop");
		if (r < 40) {
			feeder_schedule_tick(f, &now, &res);
			char slot[SCHEDULE_SLOT_ID_MAX] = "";
			struct proto_dose newest;
			if (res.action == FEEDER_DO_DOSE) {
				CHECK(feeder_log(f, &newest, 1) == 1 &&
					  strncmp(newest.id, "schedule-", 9) == 0,
				      "a scheduled dose's id");
				snprintf(slot, sizeof(slot), "%.16s", newest.id + 9);
			}
			f = settle(f, &res, slot);
			continue;
		}
		if (r < 55) {
			c.action = PROTO_ACTION_FEED;
		} else if (r < 72) {
			c.action = PROTO_ACTION_PLAN;
			struct proto_plan_patch *p = &c.plan;
			if (chance(70)) {
				p->has_slots = true;
				random_slots(p->slots, &p->n_slots, 6);
			}
			if ((p->has_min_interval = chance(60)))
				p->min_interval_s = between(60, 10 * 3600);
			if ((p->has_max_daily = chance(50)))
				p->max_daily = (int)between(1, 8);
			if ((p->has_grace = chance(30)))
				p->grace_s = between(0, 4 * 3600);
			if ((p->has_rev = chance(20)))
				p->rev = feeder_plan(f)->rev - between(0, 1);
		} else if (r < 80) {
			c.action = PROTO_ACTION_SKIP;
			struct proto_schedule sched;
			feeder_schedule(f, &now, &sched);
			if (sched.n && chance(60))
				snprintf(c.slot, sizeof(c.slot), "%s",
					 sched.slots[next() % sched.n].slot);
		} else if (r < 86) {
			c.action = PROTO_ACTION_PAUSE;
			c.until_ms = chance(30) ? 0 : now.wall_ms + between(-1, 72) * H;
		} else if (r < 91) {
			c.action = PROTO_ACTION_RESUME;
		} else if (r < 93) {
			c.action = PROTO_ACTION_REFILL;
			c.pills = between(0, 20);
		} else {
			f = restart(f);
			continue;
		}
		feeder_handle(f, &c, &now, &res);
		CHECK(res.has_event || res.action == FEEDER_DO_DOSE, "one event per command");
		f = settle(f, &res, "");
	}
	feeder_free(f);
}

Test(plan_property, bounds_hold_for_random_plans_commands_and_restarts, .timeout = 120)
{
	for (int i = 0; i < 64; i++)
		snprintf(boot_ids[i], sizeof(boot_ids[i]), "3f1c1c2e-0000-4000-8000-%012d", i);
	uint64_t seed = 20261202;
	if (getenv("IOD_PROPERTY_SEED"))
		seed = strtoull(getenv("IOD_PROPERTY_SEED"), NULL, 0);
	int cases = getenv("IOD_PROPERTY_CASES") ? atoi(getenv("IOD_PROPERTY_CASES")) : 10000;
	size_t total = 0;
	for (case_no = 0; case_no < cases; case_no++) {
		case_seed = seed + (uint64_t)case_no;
		rng = case_seed;
		one_case();
		total += n_doses;
	}
	cr_log_info("%d cases, %zu doses, seed %" PRIu64, cases, total, seed);
	if (cases >= 100) /* the cases do dose: the property is about something */
		cr_assert_gt(total, (size_t)cases, "%zu doses in %d cases", total, cases);
}
