/*
 * fuzz_journal — libFuzzer target over damaged journals.
 *
 * A valid journal (format 2, written with journal_encode: init, N doses with
 * their completions, commands, slots, a compacted variant with ids records
 * and a checkpoint, in half of them a care plan stricter than the seed with
 * a pause and a pill count, and in half of them a last dose journaled under a clock
 * a year ahead with the clock_ack that re-dated it) and its marker are damaged by the edits the
 * input describes: bytes deleted, inserted, overwritten or bit-flipped, lines dropped, repeated or
 * swapped, the file cut anywhere, emptied or deleted, the marker damaged or deleted, or the whole
 * journal replaced by the input. Each damaged image goes through feeder_load_image() (what a start
 * makes of it, no file touched), and the invariant is checked:
 *
 *   never an earlier next_allowed than the undamaged journal gives,
 *   never fewer doses today (unless a later next_allowed stands for them);
 *   where the plan record and the marker that carries its rules are both
 *   lost (nothing says what they were), the damage is said and the dose
 *   assumed holds at least the vet's bound.
 *
 * Excluded: an empty or missing journal with no marker either, which is a
 * fresh data directory (a first install) by definition.
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DIOD_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_journal
 *   build-fuzz/bin/fuzz_journal -close_fd_mask=2 -runs=1000000 -max_len=2048 corpus/
 *
 * FUZZ_JOURNAL_DEBUG=1 fuzz_journal crash-… prints the damaged image, the
 * alerts and both next_allowed values of a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeder.h"
#include "journal.h"
#include "log.h"

#define H	  (3600 * 1000LL)
#define NOW_WALL  1795680000000LL /* 2026-11-26 09:00 CET */
#define NOW_MONO  50000000LL
#define BOOT	  "3f1c1c2e-0000-4000-8000-00000000000f"
#define N_BASES	  8
#define MAX_IMAGE (64 * 1024)
#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_journal: invariant broken: %s\n", #c);               \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct base {
	char text[MAX_IMAGE];
	size_t len;
	char mark[256];
	size_t mark_len;
	int64_t next_allowed; /* undamaged */
	int doses_today;
	bool has_plan; /* the stricter plan (8 h), remembered by the marker too */
};

static struct base bases[N_BASES];
static struct feeder_config cfg;
static const struct feeder_now now = {.wall_ms = NOW_WALL, .mono_ms = NOW_MONO};

static void put(struct base *b, struct journal_rec *r, uint64_t *seq)
{
	r->seq = (*seq)++;
	char *line = journal_encode(r);
	REQUIRE(line);
	size_t n = strlen(line);
	REQUIRE(b->len + n < MAX_IMAGE);
	memcpy(b->text + b->len, line, n);
	b->len += n;
	free(line);
}

/* Base k: k doses (the last one 1..4 h ago, in this boot for odd k), every
 * other one followed by a command; bases 4..7 are compacted (ids records of
 * older doses and a checkpoint) with appended doses after. In bases 2, 3, 6
 * and 7 the last dose was journaled a year ahead and an operator's
 * clock_ack re-dated it to its real time (by the boot clock for odd k, at
 * the ack's time, on this boot's clock, for even k): losing or moving that
 * record must never give an earlier dose. */
static void make_base(int k)
{
	struct base *b = &bases[k];
	uint64_t seq = 1 + (uint64_t)k * 10;
	int64_t created = NOW_WALL - 40 * 24 * H;
	bool compacted = k >= 4;
	int doses = compacted ? k - 3 : k;
	struct journal_rec r = {.op = JOURNAL_INIT, .ts_ms = created, .compacted = compacted};
	put(b, &r, &seq);
	int64_t last = NOW_WALL - (1 + k % 4) * H;
	if (compacted) {
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_IDS;
		r.ts_ms = created;
		r.n_ids = 3;
		r.ids[0] = (struct journal_id){journal_id_hash("old-0"), 'o'};
		r.ids[1] = (struct journal_id){journal_id_hash("old-1"), 'f'};
		r.ids[2] = (struct journal_id){journal_id_hash("old-2"), 'u'};
		put(b, &r, &seq);
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_SLOT;
		r.ts_ms = created + H;
		strcpy(r.slot, "2026-10-18T07:00");
		strcpy(r.result, "missed");
		put(b, &r, &seq);
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_CHECKPOINT;
		r.ts_ms = created;
		r.count = 2;
		r.dose_ids = 3;
		put(b, &r, &seq);
	}
	b->has_plan = k % 2;
	if (b->has_plan) {
		/* A care plan stricter than the seed (8 h), a pause and a pill
		 * count: losing them must not allow an earlier dose either. (Its
		 * daily maximum stays the seed's 3: a damage that loses today's
		 * doses is one assumed dose, which a stricter daily maximum could
		 * not hold; see services/feeder/README.md "Damage".) */
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_PLAN;
		r.ts_ms = created + 2 * H;
		strcpy(r.by, "fuzz");
		r.plan.rev = 2;
		r.plan.n_slots = 1;
		r.plan.slots[0] = (struct proto_plan_slot){7 * 60, PROTO_DAYS_DAILY, true};
		r.plan.min_interval_s = 8 * 3600;
		r.plan.max_daily = 3;
		r.plan.grace_s = 3600;
		r.plan.treat_max_daily = 10;
		r.plan.treat_min_interval_s = 300;
		r.plan.low_days = 5;
		put(b, &r, &seq);
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_PAUSE;
		r.ts_ms = created + 3 * H;
		strcpy(r.by, "fuzz");
		put(b, &r, &seq);
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_REFILL;
		r.ts_ms = created + 3 * H;
		strcpy(r.by, "fuzz");
		r.pills = 30;
		put(b, &r, &seq);
	}
	bool acked = k % 4 >= 2;
	for (int i = 0; i < doses; i++) {
		int64_t ts = last - (int64_t)(doses - 1 - i) * 7 * H;
		int64_t ahead = acked && i == doses - 1 ? 365 * 24 * H : 0;
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_INTENT;
		r.ts_ms = ts + ahead;
		snprintf(r.id, sizeof(r.id), "dose-%d", i);
		strcpy(r.by, "fuzz");
		if (k % 2) {
			strcpy(r.boot, BOOT);
			r.mono_ms = NOW_MONO - (NOW_WALL - ts);
		}
		put(b, &r, &seq);
		memset(&r, 0, sizeof(r));
		r.op = JOURNAL_DONE;
		r.ts_ms = ts + ahead + 1000;
		snprintf(r.id, sizeof(r.id), "dose-%d", i);
		strcpy(r.result, "ok");
		put(b, &r, &seq);
		if (ahead) {
			memset(&r, 0, sizeof(r));
			r.op = JOURNAL_CLOCK_ACK;
			r.ts_ms = k % 2 ? ts + H / 2 : ts;
			snprintf(r.id, sizeof(r.id), "dose-%d", i);
			strcpy(r.by, "fuzz");
			r.from_ms = ts + ahead;
			r.to_ms = ts;
			strcpy(r.reason, k % 2 ? "boot_clock" : "ack_time");
			if (k % 2 == 0) {
				strcpy(r.boot, BOOT);
				r.mono_ms = NOW_MONO - (NOW_WALL - ts);
			}
			put(b, &r, &seq);
		}
		if (i % 2 == 0) {
			memset(&r, 0, sizeof(r));
			r.op = JOURNAL_CMD;
			r.ts_ms = ts + 2000;
			snprintf(r.id, sizeof(r.id), "home-%d", i);
			strcpy(r.action, "home");
			strcpy(r.result, "ok");
			put(b, &r, &seq);
		}
	}
	/* The marker as the feeder writes it: with the plan's rules (the seed's,
	 * 6 h and 3 a day, when no plan record was written). */
	struct journal_mark m = {.created_ms = created,
				 .seq = seq - 1,
				 .plan_rev = b->has_plan ? 2 : 1,
				 .interval_ms = (b->has_plan ? 8 : 6) * H,
				 .max_daily = 3};
	char *mark = journal_mark_encode(&m);
	REQUIRE(mark);
	b->mark_len = strlen(mark);
	memcpy(b->mark, mark, b->mark_len);
	free(mark);

	struct feeder_image img = {b->text, b->len, b->mark, b->mark_len};
	struct feeder_result startup;
	struct feeder *f = feeder_load_image(&cfg, &now, &img, &startup);
	REQUIRE(f);
	for (size_t i = 0; i < startup.n_alerts; i++)
		REQUIRE(strcmp(startup.alerts[i].code, "journal_damaged") != 0 &&
			(strcmp(startup.alerts[i].code, "clock_ahead_dose") != 0 ||
			 startup.alerts[i].level != PROTO_LEVEL_CRITICAL));
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	b->next_allowed = st.next_allowed_ms;
	b->doses_today = st.doses_today;
	if (doses > 0)
		REQUIRE(st.last_dose_ms == last);
	feeder_free(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "Europe/Berlin", 1);
	log_init("fuzz_journal", LOG_LEVEL_ERROR);
	const char *err;
	cfg.journal_path = "/nonexistent/iod-fuzz/journal";
	cfg.min_interval_ms = 6 * H;
	cfg.max_daily = 3;
	cfg.cmd_ttl_ms = 60 * 1000;
	cfg.grace_ms = 3600 * 1000;
	cfg.id_memory = 16;
	cfg.boot_id = BOOT;
	if (schedule_parse("none", &cfg.schedule, &err) < 0)
		abort();
	for (int k = 0; k < N_BASES; k++)
		make_base(k);
	return 0;
}

/* Line boundaries of buf: starts[i], up to cap. */
static size_t lines_of(const char *buf, size_t len, size_t *starts, size_t cap)
{
	size_t n = 0, at = 0;
	while (at < len && n < cap) {
		starts[n++] = at;
		const char *nl = memchr(buf + at, '\n', len - at);
		if (!nl)
			break;
		at = (size_t)(nl - buf) + 1;
	}
	return n;
}

static size_t line_end(const char *buf, size_t len, size_t start)
{
	const char *nl = memchr(buf + start, '\n', len - start);
	return nl ? (size_t)(nl - buf) + 1 : len;
}

static bool find_damage(const struct feeder_result *startup)
{
	for (size_t i = 0; i < startup->n_alerts; i++)
		if (strcmp(startup->alerts[i].code, "journal_damaged") == 0 ||
		    strcmp(startup->alerts[i].code, "journal_unavailable") == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct base *b = &bases[data[0] % N_BASES];
	static char text[2 * MAX_IMAGE], mark[256], tmp[2 * MAX_IMAGE];
	size_t len = b->len, mark_len = b->mark_len;
	memcpy(text, b->text, len);
	memcpy(mark, b->mark, mark_len);
	bool have_journal = true, have_mark = true;
	size_t i = 1;
	/* Each edit: op, then two position bytes, then op-specific bytes. */
	while (i + 3 <= size) {
		uint8_t op = data[i] % 12;
		size_t pos = len ? ((size_t)data[i + 1] << 8 | data[i + 2]) % (len + 1) : 0;
		i += 3;
		size_t starts[512];
		size_t nl = lines_of(text, len, starts, 512);
		switch (op) {
		case 0: /* delete 1..16 bytes */
			if (i < size && pos < len) {
				size_t n = 1 + data[i++] % 16;
				if (n > len - pos)
					n = len - pos;
				memmove(text + pos, text + pos + n, len - pos - n);
				len -= n;
			}
			break;
		case 1: /* insert bytes from the input */
			if (i < size) {
				size_t n = 1 + data[i++] % 16;
				if (n > size - i)
					n = size - i;
				if (len + n < sizeof(text)) {
					memmove(text + pos + n, text + pos, len - pos);
					memcpy(text + pos, data + i, n);
					len += n;
				}
				i += n;
			}
			break;
		case 2: /* flip a bit */
			if (i < size && pos < len)
				text[pos] ^= (char)(1u << (data[i++] % 8));
			break;
		case 3: /* overwrite a region with one byte (NULs, spaces, ...) */
			if (i + 1 < size && pos < len) {
				size_t n = 1 + data[i++] % 64;
				char c = (char)data[i++];
				if (n > len - pos)
					n = len - pos;
				memset(text + pos, c, n);
			}
			break;
		case 4: /* cut the file anywhere */
			len = pos;
			break;
		case 5: /* drop one whole line */
			if (nl && i < size) {
				size_t s = starts[data[i++] % nl], e = line_end(text, len, s);
				memmove(text + s, text + e, len - e);
				len -= e - s;
			}
			break;
		case 6: /* repeat one whole line elsewhere */
			if (nl && i + 1 < size) {
				size_t s = starts[data[i++] % nl], e = line_end(text, len, s);
				size_t at = starts[data[i++] % nl];
				size_t n = e - s;
				if (len + n < sizeof(text)) {
					memcpy(tmp, text + s, n);
					memmove(text + at + n, text + at, len - at);
					memcpy(text + at, tmp, n);
					len += n;
				}
			}
			break;
		case 7: /* swap two adjacent lines */
			if (nl > 1 && i < size) {
				size_t k = data[i++] % (nl - 1);
				size_t s = starts[k], m = line_end(text, len, s),
				       e = line_end(text, len, m);
				memcpy(tmp, text + m, e - m);
				memcpy(tmp + (e - m), text + s, m - s);
				memcpy(text + s, tmp, e - s);
			}
			break;
		case 8: /* the journal emptied, or deleted */
			len = 0;
			if (i < size && data[i++] & 1)
				have_journal = false;
			break;
		case 9: /* the marker damaged, or deleted */
			if (i < size && (data[i] & 1))
				have_mark = false;
			else if (i < size && mark_len)
				mark[data[i] % mark_len] ^= 0x20;
			i++;
			break;
		case 10: /* the whole journal replaced by the rest of the input */
			len = size - i < sizeof(text) ? size - i : sizeof(text) - 1;
			memcpy(text, data + i, len);
			i = size;
			break;
		case 11: /* drop the last line(s) */
			if (nl && i < size) {
				size_t k = data[i++] % nl;
				len = starts[k];
			}
			break;
		}
	}
	/* Journal and marker both gone is a fresh data directory: a first
	 * install by definition (README), the one case the invariant excludes. */
	if ((len == 0 || !have_journal) && !have_mark)
		return 0;
	struct feeder_image img = {have_journal ? text : NULL, len, have_mark ? mark : NULL,
				   mark_len};
	struct feeder_result startup;
	struct feeder *f = feeder_load_image(&cfg, &now, &img, &startup);
	REQUIRE(f);
	struct proto_feeder_state st;
	feeder_state(f, &now, &st);
	if (getenv("FUZZ_JOURNAL_DEBUG")) {
		fprintf(stderr, "--- image (%zu bytes, journal %d, mark %d):\n%.*s\n--- alerts:\n",
			len, have_journal, have_mark, (int)len, text);
		for (size_t k = 0; k < startup.n_alerts; k++)
			fprintf(stderr, "%s: %s\n", startup.alerts[k].code,
				startup.alerts[k].message);
		fprintf(stderr, "next_allowed %lld (undamaged %lld)\n",
			(long long)st.next_allowed_ms, (long long)b->next_allowed);
	}
	struct journal_mark m;
	bool rules_known = have_mark && journal_mark_parse(mark, mark_len, &m) == 0 && m.plan_rev;
	if (b->has_plan && !rules_known && feeder_plan(f)->min_interval_s < 8 * 3600) {
		/* The plan record and the marker that remembers its rules both
		 * lost: nothing says what they were. The dose assumed now holds
		 * the rules that remain, never looser than the vet's bound. */
		REQUIRE(find_damage(&startup));
		REQUIRE(st.next_allowed_ms >= now.wall_ms + 4 * H);
	} else {
		REQUIRE(st.next_allowed_ms >= b->next_allowed);
		REQUIRE(st.doses_today >= b->doses_today || st.next_allowed_ms > b->next_allowed);
	}
	feeder_free(f);
	return 0;
}
