#include "feeder.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

#define DEFAULT_ID_MEMORY     1024
#define DEFAULT_COMPACT_BYTES (256 * 1024)
#define STARTUP_LOOKBACK_MS   (24LL * 3600 * 1000)
#define OUTCOME_MAX	      80
/* A slot that comes while the feeder runs is dosed although the timer fires
 * a little late, whatever IOD_FEEDER_GRACE (which is about slots missed
 * while the feeder was down) says, even 0. */
#define ON_TIME_MS  (60 * 1000LL)
#define BOOT_ID_MAX 40
/* A dose dated further than this after the wall clock's now was journaled
 * under a clock that was ahead (or this one went back): its interval then
 * lasts until the clock reaches it, which needs the operator (clock-ack).
 * Less is a clock's ordinary correction, and costs at most that much. */
#define CLOCK_AHEAD_TOLERANCE_MS (5 * 60 * 1000LL)
#define ALERT_CLOCK_AHEAD_DOSE	 "clock_ahead_dose"

enum dose_status { DOSE_PENDING, DOSE_OK, DOSE_FAILED, DOSE_UNCERTAIN };

struct dose {
	char id[PROTO_ID_MAX + 1];
	char by[PROTO_BY_MAX + 1];
	int64_t ts_ms; /* from the intent: when dispensing began */
	bool scheduled;
	char slot[SCHEDULE_SLOT_ID_MAX];
	enum dose_status status;
	char reason[64];	/* failed: why */
	char boot[BOOT_ID_MAX]; /* the boot it was given in ("" = unknown) */
	int64_t mono_ms;	/* CLOCK_BOOTTIME at its intent, in that boot */
};

/* A remembered non-dose outcome (home, call, refused feed). */
struct cmd_entry {
	char id[PROTO_ID_MAX + 1];
	char action[8];
	enum proto_result result;  /* ok, rejected or failed */
	char reason[OUTCOME_MAX];  /* why, when not ok ("" = none) */
	int64_t ts_ms;
};

struct slot_entry {
	char slot[SCHEDULE_SLOT_ID_MAX];
	char result[16]; /* "missed" or "skipped" */
	int64_t ts_ms;
};

/* An operator's clock acknowledgement (a clock_ack record), kept for
 * compaction: the audit of a dose's re-dating. */
struct ack_entry {
	char id[PROTO_ID_MAX + 1];
	char by[PROTO_BY_MAX + 1];
	int64_t ts_ms, from_ms, to_ms;
	char how[16]; /* "boot_clock" or "ack_time" */
	char boot[BOOT_ID_MAX];
	int64_t mono_ms;
};

struct pending {
	bool active;
	enum proto_action action;
	char id[PROTO_ID_MAX + 1];
};

struct feeder {
	struct feeder_config cfg;
	char *journal_path;
	struct journal *journal;
	bool history_unknown; /* the journal could not be read: never dose */
	int history_errno;
	bool journal_failed;  /* the last append failed (alert on the transition) */
	int lock_fd;	      /* holds the data directory's lock, -1 none */
	uint64_t next_seq;    /* for a journal opened later (journal_usable) */
	int64_t created_ms;   /* the journal's identity in the marker */
	bool needs_migration; /* a format-1 journal not rewritten yet */

	/* Damage: found by this load and not yet accounted for by a damage
	 * record (new), or accounted for but not repaired (damaged). */
	bool damaged;
	char damage_text[256]; /* the last damage record's text */
	int64_t damage_ts_ms;
	size_t n_new_damage;
	struct journal_damage first_new_damage;
	FILE *report;			  /* repair: where every problem is described */
	const struct feeder_image *image; /* feeder_load_image(): no file is touched */
	bool read_only;			  /* made from an image: never writes */
	const char *repair_text;	  /* repair: the repair record written by compaction */

	struct dose doses[FEEDER_DOSES_KEPT]; /* oldest first */
	size_t n_doses;
	/* Every older dose id, by hash, sorted once loaded: idempotency for
	 * every dose ever journaled (~1,100 a year, 16 bytes each). */
	struct journal_id *dose_ids;
	size_t n_dose_ids, cap_dose_ids;
	bool ids_sorted;
	struct cmd_entry *ring; /* ring of cfg.id_memory entries */
	size_t ring_head, ring_count;
	struct slot_entry slots[FEEDER_SLOTS_KEPT]; /* oldest first */
	size_t n_slots;
	struct ack_entry acks[FEEDER_ACKS_KEPT]; /* oldest first */
	size_t n_acks;
	bool ack_unannounced;	  /* the journal's last records are acknowledgements */
	bool clock_ahead_alerted; /* this episode's clock_ahead_dose alert is raised */

	int64_t init_ms;	   /* when the journal was created */
	int64_t started_ms;	   /* wall clock when this process started */
	char boot_id[BOOT_ID_MAX]; /* this boot's id, "" = unknown */
	bool have_mono;		   /* a dose happened in this boot */
	int64_t last_dose_mono_ms;
	int64_t sched_checked_ms; /* slots up to here are settled */
	enum proto_position position;
	struct pending dose, cmd;
	uint64_t auto_counter;

	uint64_t journal_errors, compactions, commands;
	int64_t compacted_bytes; /* size right after the last compaction */
};

/* ---- small helpers ------------------------------------------------------ */

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void local_time_text(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "%" PRId64 " ms", ms);
}

static void add_alert(struct feeder_result *res, const struct feeder_now *now,
		      enum proto_level level, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_alert(struct feeder_result *res, const struct feeder_now *now,
		      enum proto_level level, const char *code, const char *fmt, ...)
{
	if (res->n_alerts == FEEDER_MAX_ALERTS)
		return;
	struct proto_alert *a = &res->alerts[res->n_alerts++];
	memset(a, 0, sizeof(*a));
	copy_str(a->source, sizeof(a->source), "feeder");
	a->level = level;
	copy_str(a->code, sizeof(a->code), code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->message, sizeof(a->message), fmt, ap);
	va_end(ap);
	a->ts_ms = now->wall_ms;
	if (level == PROTO_LEVEL_CRITICAL)
		log_error("alert %s: %s", code, a->message);
	else
		log_warn("alert %s: %s", code, a->message);
}

static void set_event(struct feeder_result *res, const char *id, const char *action,
		      enum proto_result result, const char *reason, const struct feeder_now *now)
{
	res->has_event = true;
	memset(&res->event, 0, sizeof(res->event));
	copy_str(res->event.id, sizeof(res->event.id), id);
	copy_str(res->event.action, sizeof(res->event.action), action);
	res->event.result = result;
	copy_str(res->event.reason, sizeof(res->event.reason), reason ? reason : "");
	res->event.ts_ms = now->wall_ms;
}

static struct dose *find_dose(struct feeder *f, const char *id)
{
	for (size_t i = f->n_doses; i-- > 0;)
		if (strcmp(f->doses[i].id, id) == 0)
			return &f->doses[i];
	return NULL;
}

static char status_letter(enum dose_status s)
{
	return s == DOSE_OK ? 'o' : s == DOSE_FAILED ? 'f' : 'u';
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct journal_id *)a)->hash, y = ((const struct journal_id *)b)->hash;
	return x < y ? -1 : x > y;
}

static const struct journal_id *ids_find(const struct feeder *f, uint64_t hash)
{
	if (!f->ids_sorted) {
		for (size_t i = 0; i < f->n_dose_ids; i++)
			if (f->dose_ids[i].hash == hash)
				return &f->dose_ids[i];
		return NULL;
	}
	if (f->n_dose_ids == 0)
		return NULL; /* bsearch() must not be given a NULL array */
	struct journal_id key = {.hash = hash};
	return bsearch(&key, f->dose_ids, f->n_dose_ids, sizeof(key), id_cmp);
}

/* Sorted (and without repeats) after a load: appends go to the end until
 * then, inserts keep the order afterwards. */
static void ids_sort(struct feeder *f)
{
	if (f->n_dose_ids)
		qsort(f->dose_ids, f->n_dose_ids, sizeof(f->dose_ids[0]), id_cmp);
	size_t out = 0;
	for (size_t i = 0; i < f->n_dose_ids; i++)
		if (out == 0 || f->dose_ids[out - 1].hash != f->dose_ids[i].hash)
			f->dose_ids[out++] = f->dose_ids[i];
	f->n_dose_ids = out;
	f->ids_sorted = true;
}

static void ids_add(struct feeder *f, uint64_t hash, char status)
{
	if (f->ids_sorted && ids_find(f, hash))
		return;
	if (f->n_dose_ids == f->cap_dose_ids) {
		size_t cap = f->cap_dose_ids ? 2 * f->cap_dose_ids : 256;
		struct journal_id *more = realloc(f->dose_ids, cap * sizeof(*more));
		if (!more) {
			/* The dose still counts (it is older than the window);
			 * only a resend of its id would not be known. */
			log_error("out of memory: a dose id is forgotten");
			return;
		}
		f->dose_ids = more;
		f->cap_dose_ids = cap;
	}
	size_t at = f->n_dose_ids;
	if (f->ids_sorted)
		while (at > 0 && f->dose_ids[at - 1].hash > hash)
			at--;
	memmove(&f->dose_ids[at + 1], &f->dose_ids[at],
		sizeof(f->dose_ids[0]) * (f->n_dose_ids - at));
	f->dose_ids[at] = (struct journal_id){.hash = hash, .status = status};
	f->n_dose_ids++;
}

static struct cmd_entry *ring_at(const struct feeder *f, size_t i) /* 0 = oldest */
{
	size_t cap = f->cfg.id_memory;
	return &f->ring[(f->ring_head + cap - f->ring_count + i) % cap];
}

/* "result[:reason]": how a first outcome is spelled in a duplicate's reason
 * (proto/README.md), the one place it is. */
static void outcome_text(enum proto_result result, const char *reason, char *buf, size_t size)
{
	copy_str(buf, size, proto_result_name(result));
	size_t n = strlen(buf);
	if (reason[0] && n + 1 < size) {
		buf[n] = ':';
		copy_str(buf + n + 1, size - n - 1, reason); /* cut to fit, like the rest */
	}
}

static void ring_put(struct feeder *f, const char *id, const char *action,
		     enum proto_result result, const char *reason, int64_t ts_ms)
{
	struct cmd_entry *e = &f->ring[f->ring_head];
	copy_str(e->id, sizeof(e->id), id);
	copy_str(e->action, sizeof(e->action), action);
	e->result = result;
	copy_str(e->reason, sizeof(e->reason), reason);
	e->ts_ms = ts_ms;
	f->ring_head = (f->ring_head + 1) % f->cfg.id_memory;
	if (f->ring_count < f->cfg.id_memory)
		f->ring_count++;
}

static void slot_forget(struct feeder *f, const char *slot)
{
	for (size_t i = 0; i < f->n_slots;) {
		if (strcmp(f->slots[i].slot, slot) == 0) {
			memmove(&f->slots[i], &f->slots[i + 1],
				sizeof(f->slots[0]) * (f->n_slots - i - 1));
			f->n_slots--;
		} else {
			i++;
		}
	}
}

static void slot_put(struct feeder *f, const char *slot, const char *result, int64_t ts_ms)
{
	if (strcmp(result, "reopened") == 0) { /* see feeder_schedule_tick() */
		slot_forget(f, slot);
		return;
	}
	if (f->n_slots == FEEDER_SLOTS_KEPT) {
		memmove(&f->slots[0], &f->slots[1], sizeof(f->slots[0]) * (FEEDER_SLOTS_KEPT - 1));
		f->n_slots--;
	}
	struct slot_entry *s = &f->slots[f->n_slots++];
	copy_str(s->slot, sizeof(s->slot), slot);
	copy_str(s->result, sizeof(s->result), result);
	s->ts_ms = ts_ms;
}

/* Doses are kept sorted by time; the oldest falls off when full. */
static struct dose *dose_put(struct feeder *f, const char *id, const char *by, int64_t ts_ms,
			     bool scheduled, const char *slot, enum dose_status status)
{
	if (f->n_doses == FEEDER_DOSES_KEPT) {
		/* The oldest leaves the window; its id is kept for good. */
		ids_add(f, journal_id_hash(f->doses[0].id), status_letter(f->doses[0].status));
		memmove(&f->doses[0], &f->doses[1], sizeof(f->doses[0]) * (FEEDER_DOSES_KEPT - 1));
		f->n_doses--;
	}
	size_t at = f->n_doses;
	while (at > 0 && f->doses[at - 1].ts_ms > ts_ms)
		at--;
	memmove(&f->doses[at + 1], &f->doses[at], sizeof(f->doses[0]) * (f->n_doses - at));
	f->n_doses++;
	struct dose *d = &f->doses[at];
	memset(d, 0, sizeof(*d));
	copy_str(d->id, sizeof(d->id), id);
	copy_str(d->by, sizeof(d->by), by);
	d->ts_ms = ts_ms;
	d->scheduled = scheduled;
	copy_str(d->slot, sizeof(d->slot), slot ? slot : "");
	d->status = status;
	return d;
}

/* Give a dose another time (an operator's clock acknowledgement) and keep
 * the window sorted by time. The dose's pointer does not survive. */
static void dose_redate(struct feeder *f, struct dose *d, int64_t ts_ms)
{
	struct dose moved = *d;
	size_t at = (size_t)(d - f->doses);
	memmove(&f->doses[at], &f->doses[at + 1], sizeof(f->doses[0]) * (f->n_doses - at - 1));
	f->n_doses--;
	moved.ts_ms = ts_ms;
	at = f->n_doses;
	while (at > 0 && f->doses[at - 1].ts_ms > ts_ms)
		at--;
	memmove(&f->doses[at + 1], &f->doses[at], sizeof(f->doses[0]) * (f->n_doses - at));
	f->doses[at] = moved;
	f->n_doses++;
}

/* Apply and keep an acknowledgement: the dose (when still in the window)
 * counts from to_ms, and, re-dated to the acknowledgement's own time, on
 * that boot's clock too. The oldest acknowledgement falls off when full. */
static void ack_apply(struct feeder *f, const struct journal_rec *rec)
{
	if (f->n_acks == FEEDER_ACKS_KEPT) {
		memmove(&f->acks[0], &f->acks[1], sizeof(f->acks[0]) * (FEEDER_ACKS_KEPT - 1));
		f->n_acks--;
	}
	struct ack_entry *a = &f->acks[f->n_acks++];
	memset(a, 0, sizeof(*a));
	copy_str(a->id, sizeof(a->id), rec->id);
	copy_str(a->by, sizeof(a->by), rec->by);
	a->ts_ms = rec->ts_ms;
	a->from_ms = rec->from_ms;
	a->to_ms = rec->to_ms;
	copy_str(a->how, sizeof(a->how), rec->reason);
	copy_str(a->boot, sizeof(a->boot), rec->boot);
	a->mono_ms = rec->mono_ms;
	struct dose *d = find_dose(f, rec->id);
	if (!d)
		return; /* older than the window: nothing left to re-date */
	if (rec->boot[0]) {
		copy_str(d->boot, sizeof(d->boot), rec->boot);
		d->mono_ms = rec->mono_ms;
	}
	dose_redate(f, d, rec->to_ms);
}

static const char *status_result(enum dose_status s)
{
	switch (s) {
	case DOSE_OK:
		return "ok";
	case DOSE_FAILED:
		return "failed";
	case DOSE_UNCERTAIN:
		return "uncertain";
	case DOSE_PENDING:
		break;
	}
	return "pending";
}

/* The first outcome of id, if it was handled before. */
static bool find_outcome(struct feeder *f, const char *id, char *outcome, size_t size)
{
	const struct dose *d = find_dose(f, id);
	if (d) {
		if (d->status == DOSE_FAILED && d->reason[0])
			snprintf(outcome, size, "failed:%s", d->reason);
		else
			copy_str(outcome, size, status_result(d->status));
		return true;
	}
	const struct journal_id *old = ids_find(f, journal_id_hash(id));
	if (old) {
		copy_str(outcome, size,
			 old->status == 'o'   ? "ok"
			 : old->status == 'f' ? "failed"
					      : "uncertain");
		return true;
	}
	for (size_t i = 0; i < f->ring_count; i++) {
		const struct cmd_entry *e = ring_at(f, i);
		if (strcmp(e->id, id) == 0) {
			outcome_text(e->result, e->reason, outcome, size);
			return true;
		}
	}
	return false;
}

/* ---- journal ------------------------------------------------------------- */

static int migrate(struct feeder *f);

static bool journal_usable(struct feeder *f)
{
	if (f->history_unknown || f->read_only)
		return false;
	if (!f->journal) {
		int err = 0;
		f->journal = journal_open(f->journal_path, NULL, f->next_seq, f->created_ms, &err);
		if (!f->journal) {
			log_error("journal %s: cannot open: %s", f->journal_path, strerror(-err));
			return false;
		}
		log_info("journal %s: reopened", f->journal_path);
	}
	/* Never a format-2 line appended to a format-1 file. */
	if (f->needs_migration && migrate(f) < 0)
		return false;
	return true;
}

/* Append a record. A failure is logged; an alert is raised when
 * alert_always, or on the first failure after a success. */
static int journal_put(struct feeder *f, const struct journal_rec *rec, bool sync,
		       bool alert_always, const struct feeder_now *now, struct feeder_result *res)
{
	struct journal_rec copy = *rec;
	int rc = journal_usable(f) ? journal_append(f->journal, &copy, sync) : -EIO;
	if (rc == 0) {
		if (f->journal_failed)
			log_info("journal %s: writable again", f->journal_path);
		f->journal_failed = false;
		int mrc = journal_mark_error(f->journal);
		if (mrc < 0)
			log_error("journal %s: its marker cannot be written (%s): a later loss of "
				  "the journal's end may go unnoticed",
				  f->journal_path, strerror(-mrc));
		return 0;
	}
	f->journal_errors++;
	const char *why = f->history_unknown	      ? "its history could not be read"
			  : rc == -EIO && !f->journal ? "it cannot be opened"
						      : strerror(-rc);
	log_error("journal %s: cannot write: %s", f->journal_path, why);
	if (res && (alert_always || !f->journal_failed))
		add_alert(
		    res, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
		    "dose journal %s cannot be written (%s): doses are refused until it is fixed",
		    f->journal_path, why);
	f->journal_failed = true;
	return rc;
}

static void remember(struct feeder *f, const char *id, const char *action,
		     enum proto_result result, const char *reason, const struct feeder_now *now,
		     struct feeder_result *res)
{
	ring_put(f, id, action, result, reason, now->wall_ms);
	struct journal_rec rec = {.op = JOURNAL_CMD, .ts_ms = now->wall_ms};
	copy_str(rec.id, sizeof(rec.id), id);
	copy_str(rec.action, sizeof(rec.action), action);
	copy_str(rec.result, sizeof(rec.result), proto_result_name(result));
	copy_str(rec.reason, sizeof(rec.reason), reason);
	/* Not fsync'd: losing a home/call/refusal record in a power cut can at
	 * worst let a repeat of it run, which is harmless; doses are synced. */
	journal_put(f, &rec, false, false, now, res);
}

/* Rewrite the journal with what still matters: the header (compacted), a
 * repair record when repairing, the dose window, settled slots, the
 * command ring, every older dose id, and the checkpoint that closes it. */
static int compact(struct feeder *f)
{
	size_t cap = 4 + 2 * f->n_doses + f->n_acks + f->n_slots + f->ring_count +
		     f->n_dose_ids / JOURNAL_IDS_PER_REC + 1;
	struct journal_rec *recs = calloc(cap, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	size_t n = 0;
	recs[n++] =
	    (struct journal_rec){.op = JOURNAL_INIT, .ts_ms = f->init_ms, .compacted = true};
	if (f->repair_text) {
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_REPAIR;
		r->ts_ms = f->started_ms;
		copy_str(r->text, sizeof(r->text), f->repair_text);
	}
	for (size_t i = 0; i < f->n_doses; i++) {
		const struct dose *d = &f->doses[i];
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_INTENT;
		r->ts_ms = d->ts_ms;
		copy_str(r->id, sizeof(r->id), d->id);
		copy_str(r->by, sizeof(r->by), d->by);
		r->scheduled = d->scheduled;
		copy_str(r->slot, sizeof(r->slot), d->slot);
		copy_str(r->boot, sizeof(r->boot), d->boot);
		r->mono_ms = d->mono_ms;
		if (d->status == DOSE_PENDING)
			continue;
		r = &recs[n++];
		r->op = JOURNAL_DONE;
		r->ts_ms = d->ts_ms;
		copy_str(r->id, sizeof(r->id), d->id);
		copy_str(r->result, sizeof(r->result), status_result(d->status));
		copy_str(r->reason, sizeof(r->reason), d->reason);
	}
	/* After the doses (whose intents carry their times as re-dated), so a
	 * replay re-dates nothing twice; kept as the audit of each re-dating. */
	for (size_t i = 0; i < f->n_acks; i++) {
		const struct ack_entry *a = &f->acks[i];
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_CLOCK_ACK;
		r->ts_ms = a->ts_ms;
		copy_str(r->id, sizeof(r->id), a->id);
		copy_str(r->by, sizeof(r->by), a->by);
		r->from_ms = a->from_ms;
		r->to_ms = a->to_ms;
		copy_str(r->reason, sizeof(r->reason), a->how);
		copy_str(r->boot, sizeof(r->boot), a->boot);
		r->mono_ms = a->mono_ms;
	}
	for (size_t i = 0; i < f->n_slots; i++) {
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_SLOT;
		r->ts_ms = f->slots[i].ts_ms;
		copy_str(r->slot, sizeof(r->slot), f->slots[i].slot);
		copy_str(r->result, sizeof(r->result), f->slots[i].result);
	}
	for (size_t i = 0; i < f->ring_count; i++) {
		const struct cmd_entry *e = ring_at(f, i);
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_CMD;
		r->ts_ms = e->ts_ms;
		copy_str(r->id, sizeof(r->id), e->id);
		copy_str(r->action, sizeof(r->action), e->action);
		copy_str(r->result, sizeof(r->result), proto_result_name(e->result));
		copy_str(r->reason, sizeof(r->reason), e->reason);
	}
	for (size_t i = 0; i < f->n_dose_ids; i += JOURNAL_IDS_PER_REC) {
		struct journal_rec *r = &recs[n++];
		r->op = JOURNAL_IDS;
		r->ts_ms = f->init_ms;
		r->n_ids = f->n_dose_ids - i < JOURNAL_IDS_PER_REC ? f->n_dose_ids - i
								   : JOURNAL_IDS_PER_REC;
		memcpy(r->ids, &f->dose_ids[i], r->n_ids * sizeof(r->ids[0]));
	}
	struct journal_rec *cp = &recs[n];
	cp->op = JOURNAL_CHECKPOINT;
	cp->count = (int64_t)n - 1;
	cp->dose_ids = (int64_t)(f->n_dose_ids + f->n_doses);
	cp->ts_ms = f->init_ms;
	if (f->n_doses) {
		copy_str(cp->id, sizeof(cp->id), f->doses[f->n_doses - 1].id);
		cp->ts_ms = f->doses[f->n_doses - 1].ts_ms;
	}
	n++;
	int64_t before = journal_size(f->journal);
	int rc = journal_rewrite(f->journal, recs, n);
	free(recs);
	if (rc < 0) {
		log_error("journal %s: compaction failed: %s", f->journal_path, strerror(-rc));
		f->journal_errors++;
		return rc;
	}
	f->compactions++;
	f->compacted_bytes = journal_size(f->journal);
	log_info("journal %s: compacted %" PRId64 " -> %" PRId64 " bytes (%zu records)",
		 f->journal_path, before, journal_size(f->journal), n);
	return 0;
}

/* A format-1 journal becomes format 2 once: the original stays beside it as
 * "journal.v1" (a hard link), the rewrite replaces it. */
static int migrate(struct feeder *f)
{
	char old[4200];
	snprintf(old, sizeof(old), "%s.v1", f->journal_path);
	unlink(old);
	if (link(f->journal_path, old) < 0)
		log_warn("journal %s: cannot keep the old-format original as %s: %s",
			 f->journal_path, old, strerror(errno));
	int rc = compact(f);
	if (rc < 0) {
		log_error("journal %s: cannot rewrite it in format %d: %s", f->journal_path,
			  JOURNAL_VERSION, strerror(-rc));
		return rc;
	}
	f->needs_migration = false;
	log_info("journal %s: migrated to format %d (the original is %s)", f->journal_path,
		 JOURNAL_VERSION, old);
	return 0;
}

/* Compact when over the limit and at least twice what the last
 * compaction left, so a journal whose live content is itself near the
 * limit is not rewritten after every command. */
static void maybe_compact(struct feeder *f)
{
	/* A damaged journal stays as it is until the operator's repair: the
	 * damaged lines are the evidence of what was lost. */
	if (!f->journal || f->dose.active || f->history_unknown || f->damaged || f->needs_migration)
		return;
	int64_t size = journal_size(f->journal);
	if (size > f->cfg.compact_bytes && size > 2 * f->compacted_bytes)
		compact(f);
}

static const char *dose_rules(const struct feeder *f, const struct feeder_now *now,
			      int64_t *next_allowed);
static void check_clock_ahead(struct feeder *f, const struct feeder_now *now,
			      struct feeder_result *res);
static size_t doses_ahead(const struct feeder *f, const struct feeder_now *now,
			  const struct dose **newest);

/* ---- recovery ------------------------------------------------------------ */

static void note_damage(struct feeder *f, const struct journal_damage *d)
{
	if (f->n_new_damage++ == 0)
		f->first_new_damage = *d;
	if (f->report) {
		if (d->line)
			fprintf(f->report, "  line %zu (byte %lld): %s: %s\n", d->line,
				(long long)d->offset, journal_damage_name(d->kind), d->detail);
		else
			fprintf(f->report, "  %s: %s\n", journal_damage_name(d->kind), d->detail);
	}
}

static void on_damage(void *arg, const struct journal_damage *d)
{
	note_damage(arg, d);
}

static void file_damage(struct feeder *f, enum journal_damage_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void file_damage(struct feeder *f, enum journal_damage_kind kind, const char *fmt, ...)
{
	struct journal_damage d = {.kind = kind};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d.detail, sizeof(d.detail), fmt, ap);
	va_end(ap);
	note_damage(f, &d);
}

/* The new damage in one line: the first problem, and how many more. */
static void describe_damage(const struct feeder *f, char *buf, size_t size)
{
	const struct journal_damage *d = &f->first_new_damage;
	int n;
	if (d->line)
		n = snprintf(buf, size, "line %zu (byte %lld): %s: %s", d->line,
			     (long long)d->offset, journal_damage_name(d->kind), d->detail);
	else
		n = snprintf(buf, size, "%s: %s", journal_damage_name(d->kind), d->detail);
	if (f->n_new_damage > 1 && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " (and %zu more problems)",
			 f->n_new_damage - 1);
}

static void on_record(void *arg, const struct journal_rec *rec)
{
	struct feeder *f = arg;
	if (f->init_ms == 0 || (rec->op == JOURNAL_INIT && rec->ts_ms < f->init_ms))
		f->init_ms = rec->ts_ms;
	if (rec->op != JOURNAL_INIT && rec->op != JOURNAL_IDS && rec->op != JOURNAL_CHECKPOINT)
		f->ack_unannounced = rec->op == JOURNAL_CLOCK_ACK;
	switch (rec->op) {
	case JOURNAL_INIT:
		break;
	case JOURNAL_INTENT:
		if (!find_dose(f, rec->id)) {
			struct dose *d = dose_put(f, rec->id, rec->by, rec->ts_ms, rec->scheduled,
						  rec->slot, DOSE_PENDING);
			copy_str(d->boot, sizeof(d->boot), rec->boot);
			d->mono_ms = rec->mono_ms;
		}
		break;
	case JOURNAL_DONE: {
		struct dose *d = find_dose(f, rec->id);
		if (!d)
			break; /* its intent fell out of a compaction */
		d->status = strcmp(rec->result, "ok") == 0	 ? DOSE_OK
			    : strcmp(rec->result, "failed") == 0 ? DOSE_FAILED
								 : DOSE_UNCERTAIN;
		copy_str(d->reason, sizeof(d->reason), rec->reason);
		break;
	}
	case JOURNAL_CMD: {
		/* Written as ok, rejected or failed; anything else (a hand-edited
		 * line with a good crc) is a refusal, so a resend stays refused. */
		enum proto_result result;
		if (proto_result_parse(rec->result, &result) < 0 || result == PROTO_RESULT_DUPLICATE)
			result = PROTO_RESULT_REJECTED;
		ring_put(f, rec->id, rec->action, result, rec->reason, rec->ts_ms);
		break;
	}
	case JOURNAL_SLOT:
		slot_put(f, rec->slot, rec->result, rec->ts_ms);
		break;
	case JOURNAL_IDS:
		for (size_t i = 0; i < rec->n_ids; i++)
			ids_add(f, rec->ids[i].hash, rec->ids[i].status);
		break;
	case JOURNAL_CHECKPOINT: {
		char outcome[OUTCOME_MAX];
		if (rec->id[0] && !find_outcome(f, rec->id, outcome, sizeof(outcome))) {
			struct journal_damage d = {.kind = JOURNAL_DMG_BAD_CHECKPOINT};
			snprintf(d.detail, sizeof(d.detail),
				 "the checkpoint's last dose %s is not in the journal", rec->id);
			note_damage(f, &d);
		}
		break;
	}
	case JOURNAL_DAMAGE:
		/* Damage found at a start, and the dose assumed given then.
		 * Everything found before it is accounted for. */
		f->damaged = true;
		f->n_new_damage = 0;
		f->damage_ts_ms = rec->ts_ms;
		copy_str(f->damage_text, sizeof(f->damage_text), rec->text);
		if (!find_dose(f, rec->id)) {
			struct dose *d = dose_put(f, rec->id, "journal", rec->ts_ms, false, NULL,
						  DOSE_UNCERTAIN);
			copy_str(d->boot, sizeof(d->boot), rec->boot);
			d->mono_ms = rec->mono_ms;
		}
		if (f->report) {
			char when[64];
			local_time_text(rec->ts_ms, when, sizeof(when));
			fprintf(f->report,
				"  found by the feeder at %s (a dose was assumed given then, "
				"%s): %s\n",
				when, rec->id, rec->text);
		}
		break;
	case JOURNAL_REPAIR:
		f->damaged = false;
		f->n_new_damage = 0;
		break;
	case JOURNAL_CLOCK_ACK:
		ack_apply(f, rec);
		break;
	}
}

/* Assume a dose was given now: the interval starts now on both clocks and
 * today counts one more. journal_it: write it down as a damage record
 * (which also makes the damage known at the next start). */
static void assume_dose(struct feeder *f, const struct feeder_now *now, const char *text,
			bool journal_it, struct feeder_result *res)
{
	char id[PROTO_ID_MAX + 1];
	snprintf(id, sizeof(id), "journal-damage-%" PRId64, now->wall_ms);
	for (int k = 2; find_dose(f, id) && k < 1000; k++)
		snprintf(id, sizeof(id), "journal-damage-%" PRId64 "-%d", now->wall_ms, k);
	struct dose *d = dose_put(f, id, "journal", now->wall_ms, false, NULL, DOSE_UNCERTAIN);
	copy_str(d->boot, sizeof(d->boot), f->boot_id);
	d->mono_ms = now->mono_ms;
	f->have_mono = true;
	f->last_dose_mono_ms = now->mono_ms;
	f->damaged = true;
	f->damage_ts_ms = now->wall_ms;
	copy_str(f->damage_text, sizeof(f->damage_text), text);
	if (!journal_it)
		return;
	struct journal_rec rec = {.op = JOURNAL_DAMAGE, .ts_ms = now->wall_ms};
	copy_str(rec.id, sizeof(rec.id), id);
	copy_str(rec.text, sizeof(rec.text), text);
	copy_str(rec.boot, sizeof(rec.boot), f->boot_id);
	rec.mono_ms = now->mono_ms;
	journal_put(f, &rec, true, true, now, res);
}

/*
 * Read the journal and compare it with its marker. Every problem found that
 * no damage record accounts for is counted in n_new_damage. Sets next_seq,
 * created_ms, init_ms. Returns 0; -EBADMSG when nothing is readable although
 * something is written; -errno when it cannot be read at all (both: alert,
 * history_unknown).
 */
static int read_history(struct feeder *f, const struct feeder_now *now,
			struct feeder_result *startup, struct journal_load_info *info,
			bool *first_install)
{
	const char *path = f->journal_path;
	*first_install = false;
	struct journal_sink sink = {.on_record = on_record, .on_damage = on_damage, .arg = f};
	int rc = 0;
	if (!f->image)
		rc = journal_load(path, &sink, info);
	else if (f->image->journal)
		journal_parse(f->image->journal, f->image->journal_len, &sink, info);
	else
		*info = (struct journal_load_info){.missing = true};
	if (rc < 0) {
		f->history_unknown = true;
		f->history_errno = -rc;
		const char *why = rc == -EINVAL ? "it is not a regular file (a FIFO, a device or a "
						  "directory?)"
				  : rc == -ELOOP ? "it is a symbolic link, which is not followed"
				  : rc == -EFBIG ? "it is too large to be a journal"
						 : strerror(-rc);
		add_alert(startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
			  "dose journal %s cannot be read (%s): every dose is refused until it is "
			  "fixed and the feeder restarted",
			  path, why);
		return rc;
	}
	ids_sort(f);
	struct journal_mark mark = {0};
	int mrc = !f->image	   ? journal_mark_read(path, &mark)
		  : f->image->mark ? journal_mark_parse(f->image->mark, f->image->mark_len, &mark)
				   : -ENOENT;
	bool have_mark = mrc == 0;
	if (mrc < 0 && mrc != -ENOENT)
		file_damage(f, JOURNAL_DMG_MARKER_DAMAGED, "%s.mark cannot be read (%s)", path,
			    mrc == -EBADMSG ? "damaged" : strerror(-mrc));
	bool empty = info->missing || info->size == 0;
	char when[64] = "?", when2[64] = "?";
	if (have_mark)
		local_time_text(mark.created_ms, when, sizeof(when));
	if (empty && mrc == -ENOENT) {
		*first_install = true;
	} else if (empty) {
		file_damage(f, info->missing ? JOURNAL_DMG_MISSING : JOURNAL_DMG_EMPTY,
			    "the journal is %s, but this data directory held one (created %s, "
			    "%" PRIu64 " records written)",
			    info->missing ? "missing" : "empty", when, mark.seq);
	} else if (info->lines > 0) {
		if (info->format == 1 && mrc != -ENOENT)
			file_damage(f, JOURNAL_DMG_REPLACED,
				    "an old-format journal where this data directory had a "
				    "format-%d one",
				    JOURNAL_VERSION);
		/* Even a journal of only its header: the marker follows the
		 * header at creation, so only a crash in between leaves none. */
		if (info->format == 2 && mrc == -ENOENT)
			file_damage(f, JOURNAL_DMG_MARKER_MISSING,
				    "%s.mark, written when the journal was created, is gone", path);
		if (info->format == 2 && have_mark && info->have_header &&
		    mark.created_ms != info->created_ms) {
			local_time_text(info->created_ms, when2, sizeof(when2));
			file_damage(f, JOURNAL_DMG_REPLACED,
				    "this journal was created %s, this data directory's %s", when2,
				    when);
		} else if (info->format == 2 && have_mark && mark.seq > info->last_seq) {
			file_damage(f, JOURNAL_DMG_TAIL_CUT,
				    "the journal ends at seq %" PRIu64 ", but seq %" PRIu64
				    " was written and fsync'd",
				    info->last_seq, mark.seq);
		}
	}
	uint64_t seq = info->last_seq;
	if (have_mark && mark.seq > seq)
		seq = mark.seq;
	f->next_seq = seq + 1;
	if (info->format == 2 && info->have_header)
		f->created_ms = info->created_ms;
	else if (have_mark)
		f->created_ms = mark.created_ms;
	else if (info->format == 1 && f->init_ms)
		f->created_ms = f->init_ms;
	else
		f->created_ms = now->wall_ms;
	if (empty)
		f->init_ms = *first_install ? now->wall_ms : f->created_ms;
	if (info->lines == 0 && !empty) {
		/* Something written, nothing readable: not a first install, and
		 * nothing known of the past (not even the dose ids). */
		char what[200];
		describe_damage(f, what, sizeof(what));
		f->history_unknown = true;
		log_error("journal %s: nothing readable", path);
		add_alert(startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
			  "dose journal has no readable record: every dose is refused until "
			  "iod-feeder-journal repair (%s)",
			  what);
		return -EBADMSG;
	}
	return 0;
}

static struct feeder *feeder_alloc(const struct feeder_config *cfg, const struct feeder_now *now)
{
	struct feeder *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->lock_fd = -1;
	f->cfg = *cfg;
	if (f->cfg.id_memory == 0)
		f->cfg.id_memory = DEFAULT_ID_MEMORY;
	if (f->cfg.compact_bytes <= 0)
		f->cfg.compact_bytes = DEFAULT_COMPACT_BYTES;
	f->journal_path = strdup(cfg->journal_path);
	f->ring = calloc(f->cfg.id_memory, sizeof(*f->ring));
	if (!f->journal_path || !f->ring) {
		feeder_free(f);
		return NULL;
	}
	f->cfg.journal_path = f->journal_path;
	copy_str(f->boot_id, sizeof(f->boot_id), cfg->boot_id ? cfg->boot_id : "");
	f->cfg.boot_id = f->boot_id;
	f->started_ms = now->wall_ms;
	f->position = PROTO_POSITION_HOME;
	return f;
}

static struct feeder *start_feeder(const struct feeder_config *cfg, const struct feeder_now *now,
				   const struct feeder_image *image, struct feeder_result *startup)
{
	memset(startup, 0, sizeof(*startup));
	struct feeder *f = feeder_alloc(cfg, now);
	if (!f)
		return NULL;
	f->image = image;
	if (!image)
		f->lock_fd = journal_lock(f->journal_path);
	if (f->lock_fd == -EWOULDBLOCK) {
		f->history_unknown = true;
		add_alert(startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
			  "the data directory of %s is in use by another process (a second "
			  "iod-feeder, or iod-feeder-journal): every dose is refused until this "
			  "feeder is restarted alone",
			  f->journal_path);
		f->sched_checked_ms = now->wall_ms;
		return f;
	}
	struct journal_load_info info;
	bool first_install;
	if (read_history(f, now, startup, &info, &first_install) < 0) {
		f->sched_checked_ms = now->wall_ms;
		return f;
	}
	bool empty = info.missing || info.size == 0;
	int err = 0;
	if (!image)
		f->journal = journal_open(f->journal_path, info.format == 2 ? &info : NULL,
					  f->next_seq, f->created_ms, &err);
	if (!f->journal && !image) {
		log_error("journal %s: cannot open: %s", f->journal_path, strerror(-err));
		f->journal_errors++;
		f->journal_failed = true;
		add_alert(
		    startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL,
		    "dose journal %s cannot be opened (%s): doses are refused until it is fixed",
		    f->journal_path, strerror(-err));
	}
	if (empty) {
		/* A first install's history starts now, so the schedule never
		 * gives a catch-up dose for slots before it. The header goes
		 * first, then the marker that remembers there is a journal. */
		struct journal_rec rec = {.op = JOURNAL_INIT, .ts_ms = f->init_ms};
		if (f->journal)
			journal_put(f, &rec, true, true, now, startup);
		if (first_install)
			log_info("journal %s: new, history starts now", f->journal_path);
	}
	if (info.format == 1) {
		f->needs_migration = true;
		if (f->journal)
			migrate(f);
	}
	if (f->n_new_damage) {
		char what[200], text[256], next[64];
		describe_damage(f, what, sizeof(what));
		snprintf(text, sizeof(text), "%s", what);
		assume_dose(f, now, text, f->journal != NULL, startup);
		int64_t next_allowed;
		dose_rules(f, now, &next_allowed);
		local_time_text(next_allowed, next, sizeof(next));
		/* The message must fit an alert (256 bytes): the path goes to the log. */
		log_error("journal %s: damaged", f->journal_path);
		add_alert(startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL_DAMAGED,
			  "dose journal damaged: %s. A dose is assumed given now, next allowed %s; "
			  "run iod-feeder-journal repair",
			  what, next);
	} else if (f->damaged) {
		char when[64];
		local_time_text(f->damage_ts_ms, when, sizeof(when));
		add_alert(startup, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_JOURNAL_DAMAGED,
			  "dose journal damaged at %s, not repaired: run iod-feeder-journal repair "
			  "(%s)",
			  when, f->damage_text);
	}
	/* An intent without its completion: the feeder died mid-dose. Never
	 * retried: counted as given, said loudly, and settled in the journal
	 * so the alert is raised once. */
	for (size_t i = 0; i < f->n_doses; i++) {
		struct dose *d = &f->doses[i];
		if (d->status != DOSE_PENDING)
			continue;
		d->status = DOSE_UNCERTAIN;
		char when[64];
		local_time_text(d->ts_ms, when, sizeof(when));
		add_alert(
		    startup, now, PROTO_LEVEL_WARNING, PROTO_ALERT_UNCERTAIN_DOSE,
		    "dose %s started at %s was never confirmed (the feeder stopped mid-dose); "
		    "it is counted as given",
		    d->id, when);
		struct journal_rec rec = {.op = JOURNAL_DONE, .ts_ms = now->wall_ms};
		copy_str(rec.id, sizeof(rec.id), d->id);
		copy_str(rec.result, sizeof(rec.result), "uncertain");
		if (f->journal)
			journal_put(f, &rec, true, false, now, startup);
	}
	/* A dose given earlier in this same boot (the feeder restarted, the
	 * machine did not): the boot clock still holds its interval, so a wall
	 * clock that moved ahead meanwhile cannot allow an early dose. */
	for (size_t i = 0; f->boot_id[0] && i < f->n_doses; i++) {
		const struct dose *d = &f->doses[i];
		if (strcmp(d->boot, f->boot_id) != 0)
			continue;
		int64_t mono = d->mono_ms > now->mono_ms ? now->mono_ms : d->mono_ms;
		if (!f->have_mono || mono > f->last_dose_mono_ms)
			f->last_dose_mono_ms = mono;
		f->have_mono = true;
	}
	int64_t from = now->wall_ms - STARTUP_LOOKBACK_MS;
	f->sched_checked_ms = from > f->init_ms ? from : f->init_ms;
	if (f->sched_checked_ms > now->wall_ms) /* history "begins" in the future */
		f->sched_checked_ms = now->wall_ms;
	log_info("journal %s: %zu records, %zu doses kept, %zu older dose ids, %zu ids remembered",
		 f->journal_path, info.lines, f->n_doses, f->n_dose_ids, f->ring_count);
	if (f->ack_unannounced && f->n_acks) {
		/* The alert's end: what the operator's acknowledgement did. */
		const struct ack_entry *a = &f->acks[f->n_acks - 1];
		char was[64], is[64], next[64];
		int64_t next_allowed;
		local_time_text(a->from_ms, was, sizeof(was));
		local_time_text(a->to_ms, is, sizeof(is));
		dose_rules(f, now, &next_allowed);
		local_time_text(next_allowed, next, sizeof(next));
		add_alert(startup, now, PROTO_LEVEL_INFO, ALERT_CLOCK_AHEAD_DOSE,
			  "clock acknowledged by %s: dose %s re-dated from %s to %s (%s); next "
			  "dose allowed %s",
			  a->by, a->id, was, is, a->how, next);
	}
	check_clock_ahead(f, now, startup);
	maybe_compact(f);
	if (f->image)
		f->read_only = true; /* never a write to a file it did not read */
	f->image = NULL;
	return f;
}

void feeder_read_boot_id(char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *bf = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!bf)
		return;
	if (!fgets(buf, (int)size, bf))
		buf[0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	fclose(bf);
}

struct feeder *feeder_new(const struct feeder_config *cfg, const struct feeder_now *now,
			  struct feeder_result *startup)
{
	return start_feeder(cfg, now, NULL, startup);
}

struct feeder *feeder_load_image(const struct feeder_config *cfg, const struct feeder_now *now,
				 const struct feeder_image *image, struct feeder_result *startup)
{
	return start_feeder(cfg, now, image, startup);
}

int feeder_repair_journal(const struct feeder_config *cfg, const struct feeder_now *now, bool write,
			  FILE *out)
{
	struct feeder *f = feeder_alloc(cfg, now);
	if (!f)
		return -ENOMEM;
	const char *path = f->journal_path;
	int rc = 0;
	f->report = out;
	f->lock_fd = journal_lock(path);
	if (f->lock_fd == -EWOULDBLOCK) {
		fprintf(out,
			"%s: its data directory is in use (is iod-feeder running?): stop the "
			"feeder first\n",
			path);
		rc = -EWOULDBLOCK;
		goto done;
	}
	fprintf(out, "journal %s\n", path);
	struct journal_load_info info;
	struct feeder_result ignored;
	bool first_install;
	memset(&ignored, 0, sizeof(ignored));
	rc = read_history(f, now, &ignored, &info, &first_install);
	if (rc < 0 && rc != -EBADMSG) {
		fprintf(out, "cannot read it: %s\n",
			ignored.n_alerts ? ignored.alerts[0].message : strerror(-rc));
		fprintf(out, "move it away (it is not a journal) and run the repair again\n");
		goto done;
	}
	fprintf(out,
		"format %d, %zu readable records: %zu doses in full, %zu older dose ids, %zu "
		"command ids, %zu settled slots\n",
		info.format, info.lines, f->n_doses, f->n_dose_ids, f->ring_count, f->n_slots);
	if (first_install) {
		fprintf(out, "no journal, and this data directory never had one: nothing to "
			     "repair\n");
		rc = 0;
		goto done;
	}
	if (!f->n_new_damage && !f->damaged && info.format == 2) {
		fprintf(out, "the journal is sound: nothing to repair\n");
		rc = 0;
		goto done;
	}
	char lost[256];
	if (f->n_new_damage)
		describe_damage(f, lost, sizeof(lost));
	else if (f->damaged)
		snprintf(lost, sizeof(lost), "%s", f->damage_text);
	else
		snprintf(lost, sizeof(lost), "nothing (an old-format journal, rewritten)");
	if (!write) {
		fprintf(out,
			"lost: %s\nrun `iod-feeder-journal repair` to write a clean journal "
			"from the readable records\n",
			lost);
		rc = 1;
		goto done;
	}
	char backup[4200], when[64];
	snprintf(backup, sizeof(backup), "%s.damaged-%" PRId64, path, now->wall_ms);
	if (!info.missing && link(path, backup) == 0)
		fprintf(out, "the journal as it was is kept as %s\n", backup);
	if (f->n_new_damage) {
		/* Damage the feeder never saw: a dose may hide in it. */
		assume_dose(f, now, lost, false, NULL);
		int64_t next_allowed;
		dose_rules(f, now, &next_allowed);
		local_time_text(next_allowed, when, sizeof(when));
		fprintf(out, "a dose is assumed given now (%s): the next is allowed from %s\n",
			f->doses[f->n_doses - 1].id, when);
	}
	local_time_text(now->wall_ms, when, sizeof(when));
	char text[512];
	snprintf(text, sizeof(text), "repaired %s: %zu records kept; lost: %s", when, info.lines,
		 lost);
	f->repair_text = text;
	if (f->init_ms == 0)
		f->init_ms = f->created_ms;
	int err = 0;
	f->journal = journal_open(path, NULL, f->next_seq, f->created_ms, &err);
	if (!f->journal) {
		fprintf(out, "cannot open %s: %s\n", path, strerror(-err));
		rc = err;
		goto done;
	}
	rc = compact(f);
	if (rc < 0) {
		fprintf(out, "cannot write the repaired journal: %s\n", strerror(-rc));
		goto done;
	}
	fprintf(out,
		"lost: %s\nwritten: %s (%zu doses in full, %zu older dose ids, %zu command ids, "
		"%zu settled slots); the feeder can be started\n",
		lost, path, f->n_doses, f->n_dose_ids, f->ring_count, f->n_slots);
	rc = 0;
done:
	feeder_free(f);
	return rc;
}

static void duration_text(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;
	if (s >= 2 * 86400)
		snprintf(buf, size, "%" PRId64 " days", s / 86400);
	else if (s >= 2 * 3600)
		snprintf(buf, size, "%" PRId64 " h", s / 3600);
	else if (s >= 120)
		snprintf(buf, size, "%" PRId64 " min", s / 60);
	else
		snprintf(buf, size, "%" PRId64 " s", s);
}

int feeder_clock_ack(const struct feeder_config *cfg, const struct feeder_now *now, const char *by,
		     FILE *out)
{
	struct feeder *f = feeder_alloc(cfg, now);
	if (!f)
		return -ENOMEM;
	const char *path = f->journal_path;
	struct journal_rec *recs = NULL;
	int rc;
	f->lock_fd = journal_lock(path);
	if (f->lock_fd == -EWOULDBLOCK) {
		fprintf(out,
			"%s: its data directory is in use (is iod-feeder running?): stop the "
			"feeder first\n",
			path);
		rc = -EWOULDBLOCK;
		goto done;
	}
	fprintf(out, "journal %s\n", path);
	struct journal_load_info info;
	struct feeder_result ignored;
	bool first_install;
	memset(&ignored, 0, sizeof(ignored));
	rc = read_history(f, now, &ignored, &info, &first_install);
	if (rc < 0) {
		fprintf(out, "cannot read it: %s\n",
			ignored.n_alerts ? ignored.alerts[0].message : strerror(-rc));
		goto done;
	}
	if (first_install || f->n_doses == 0) {
		fprintf(out, "no dose is journaled: nothing to acknowledge\n");
		rc = 1;
		goto done;
	}
	/* Re-dating needs a journal whose every record is known: a dose may
	 * hide in damage. The repair keeps every readable record, and the
	 * acknowledgement can follow it. */
	if (f->n_new_damage || f->damaged || info.format != 2) {
		fprintf(out, "%s: run iod-feeder-journal repair first, then clock-ack again\n",
			info.format != 2 ? "an old-format journal" : "the journal is damaged");
		rc = -EUCLEAN;
		goto done;
	}
	const struct dose *newest;
	size_t n = doses_ahead(f, now, &newest);
	char when[64], when2[64], ago[32];
	local_time_text(now->wall_ms + CLOCK_AHEAD_TOLERANCE_MS, when, sizeof(when));
	if (n == 0) {
		local_time_text(f->doses[f->n_doses - 1].ts_ms, when2, sizeof(when2));
		fprintf(out,
			"no dose is dated after %s (the latest, %s, is %s): nothing to "
			"acknowledge\n",
			when, f->doses[f->n_doses - 1].id, when2);
		rc = 1;
		goto done;
	}
	recs = calloc(n, sizeof(*recs));
	if (!recs) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dose *d = &f->doses[f->n_doses - n + i];
		struct journal_rec *r = &recs[i];
		r->op = JOURNAL_CLOCK_ACK;
		r->ts_ms = now->wall_ms;
		copy_str(r->id, sizeof(r->id), d->id);
		copy_str(r->by, sizeof(r->by), by && by[0] ? by : "operator");
		r->from_ms = d->ts_ms;
		local_time_text(d->ts_ms, when, sizeof(when));
		duration_text(d->ts_ms - now->wall_ms, ago, sizeof(ago));
		fprintf(out, "dose %s is dated %s, %s after now\n", d->id, when, ago);
		if (f->boot_id[0] && strcmp(d->boot, f->boot_id) == 0 && d->mono_ms <= now->mono_ms) {
			/* Given in this boot: the boot clock says how long ago. */
			r->to_ms = now->wall_ms - (now->mono_ms - d->mono_ms);
			copy_str(r->reason, sizeof(r->reason), "boot_clock");
			duration_text(now->mono_ms - d->mono_ms, ago, sizeof(ago));
			local_time_text(r->to_ms, when, sizeof(when));
			fprintf(out, "  given %s ago by the boot clock (this boot): re-dated to %s\n",
				ago, when);
		} else {
			/* Another boot: nothing says when it really was. From now
			 * on both clocks, so its interval runs from the ack. */
			r->to_ms = now->wall_ms;
			copy_str(r->reason, sizeof(r->reason), "ack_time");
			copy_str(r->boot, sizeof(r->boot), f->boot_id);
			r->mono_ms = now->mono_ms;
			local_time_text(r->to_ms, when, sizeof(when));
			fprintf(out,
				"  given in another boot (when is unknown): re-dated to now, %s, "
				"the safe side\n",
				when);
		}
	}
	int err = 0;
	f->journal = journal_open(path, &info, f->next_seq, f->created_ms, &err);
	if (!f->journal) {
		fprintf(out, "cannot open %s: %s\n", path, strerror(-err));
		rc = err;
		goto done;
	}
	char who[PROTO_BY_MAX + 1];
	copy_str(who, sizeof(who), recs[0].by);
	for (size_t i = 0; i < n; i++) {
		/* Each fsync'd: a crash between two leaves the rest to a rerun. */
		rc = journal_append(f->journal, &recs[i], true);
		if (rc < 0) {
			fprintf(out, "cannot write the acknowledgement of %s: %s\n", recs[i].id,
				strerror(-rc));
			goto done;
		}
		ack_apply(f, &recs[i]);
	}
	free(recs);
	recs = NULL;
	int64_t next_allowed;
	dose_rules(f, now, &next_allowed);
	local_time_text(next_allowed, when, sizeof(when));
	fprintf(out,
		"acknowledged by %s, journaled: %zu doses re-dated; the next dose is allowed from "
		"%s; the feeder can be started\n",
		who, n, when);
	rc = 0;
done:
	free(recs);
	feeder_free(f);
	return rc;
}

void feeder_free(struct feeder *f)
{
	if (!f)
		return;
	journal_close(f->journal);
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	free(f->dose_ids);
	free(f->ring);
	free(f->journal_path);
	free(f);
}

/* ---- rules ------------------------------------------------------------- */

static int doses_on_date(const struct feeder *f, int date_key)
{
	int n = 0;
	for (size_t i = f->n_doses; i-- > 0;) {
		int key = schedule_date_key(schedule_local_date(f->doses[i].ts_ms));
		if (key == date_key)
			n++;
		else if (key < date_key)
			break;
	}
	return n;
}

/*
 * When the next dose is allowed, and why not now (NULL: allowed now).
 * The interval ends at the later of the wall-clock and boot-clock bounds;
 * then, if that day already had max_daily doses, the next local midnight.
 */
static const char *dose_rules(const struct feeder *f, const struct feeder_now *now,
			      int64_t *next_allowed)
{
	int64_t interval_end = 0;
	if (f->n_doses > 0) {
		int64_t last = f->doses[f->n_doses - 1].ts_ms;
		interval_end = last + f->cfg.min_interval_ms;
		if (last > now->wall_ms) /* wall clock set back below the last dose */
			interval_end = now->wall_ms + f->cfg.min_interval_ms;
	}
	if (f->have_mono) {
		int64_t elapsed = now->mono_ms - f->last_dose_mono_ms;
		if (elapsed < f->cfg.min_interval_ms) {
			int64_t mono_end = now->wall_ms + (f->cfg.min_interval_ms - elapsed);
			if (mono_end > interval_end)
				interval_end = mono_end;
		}
	}
	const char *why = interval_end > now->wall_ms ? PROTO_REASON_TOO_SOON : NULL;
	int64_t candidate = interval_end > now->wall_ms ? interval_end : now->wall_ms;
	if (doses_on_date(f, schedule_date_key(schedule_local_date(candidate))) >=
	    f->cfg.max_daily) {
		candidate = schedule_next_local_midnight(candidate);
		if (!why)
			why = PROTO_REASON_DAILY_LIMIT;
	}
	*next_allowed = candidate;
	return why;
}

/* How many doses are dated beyond the tolerance after now; *newest the
 * latest of them. The window is sorted, so they are its end. */
static size_t doses_ahead(const struct feeder *f, const struct feeder_now *now,
			  const struct dose **newest)
{
	size_t n = 0;
	while (n < f->n_doses &&
	       f->doses[f->n_doses - 1 - n].ts_ms > now->wall_ms + CLOCK_AHEAD_TOLERANCE_MS)
		n++;
	*newest = n ? &f->doses[f->n_doses - 1] : NULL;
	return n;
}

/*
 * A dose dated far in the wall clock's future (journaled while the clock
 * was ahead, or this clock went back): its interval holds every dose until
 * the clock reaches it, which may be a year. Doses stay refused (the safe
 * side), and one critical alert per episode says so and how out: the
 * operator's iod-feeder-journal clock-ack. Looked at every time the feeder
 * sees the clock (start, commands, schedule ticks), so a clock stepping
 * back is noticed at the first of them after the step.
 */
static void check_clock_ahead(struct feeder *f, const struct feeder_now *now,
			      struct feeder_result *res)
{
	const struct dose *d;
	size_t n = doses_ahead(f, now, &d);
	if (n == 0) {
		if (f->clock_ahead_alerted)
			log_info("no dose is dated in the wall clock's future any more");
		f->clock_ahead_alerted = false;
		return;
	}
	if (f->clock_ahead_alerted || f->history_unknown)
		return;
	f->clock_ahead_alerted = true;
	char dated[64], at[64], until[64];
	local_time_text(d->ts_ms, dated, sizeof(dated));
	local_time_text(now->wall_ms, at, sizeof(at));
	local_time_text(d->ts_ms + f->cfg.min_interval_ms, until, sizeof(until));
	log_error("dose %s is dated %s, %" PRId64 " s after now (%zu doses in the wall clock's "
		  "future); journal %s",
		  d->id, dated, (d->ts_ms - now->wall_ms) / 1000, n, f->journal_path);
	/* The message must fit an alert (256 bytes) with a 64-byte id. */
	add_alert(res, now, PROTO_LEVEL_CRITICAL, ALERT_CLOCK_AHEAD_DOSE,
		  "dose %s dated %s, after now (%s): doses refused until %s. Clock was wrong? "
		  "Stop the feeder, run iod-feeder-journal clock-ack",
		  d->id, dated, at, until);
}

static int start_dose(struct feeder *f, const char *id, const char *by, bool scheduled,
		      const char *slot, const struct feeder_now *now, struct feeder_result *res)
{
	struct journal_rec rec = {.op = JOURNAL_INTENT, .ts_ms = now->wall_ms};
	copy_str(rec.id, sizeof(rec.id), id);
	copy_str(rec.by, sizeof(rec.by), by);
	rec.scheduled = scheduled;
	copy_str(rec.slot, sizeof(rec.slot), slot ? slot : "");
	copy_str(rec.boot, sizeof(rec.boot), f->boot_id);
	rec.mono_ms = now->mono_ms;
	if (journal_put(f, &rec, true, true, now, res) < 0)
		return -1;
	struct dose *d = dose_put(f, id, by, now->wall_ms, scheduled, slot, DOSE_PENDING);
	copy_str(d->boot, sizeof(d->boot), f->boot_id);
	d->mono_ms = now->mono_ms;
	f->have_mono = true;
	f->last_dose_mono_ms = now->mono_ms;
	f->dose.active = true;
	f->dose.action = PROTO_ACTION_FEED;
	copy_str(f->dose.id, sizeof(f->dose.id), id);
	f->position = PROTO_POSITION_OPEN;
	res->action = FEEDER_DO_DOSE;
	res->state_changed = true;
	res->log_changed = true;
	log_info("dose %s by '%s' (%s%s): dispensing", id, by, scheduled ? "schedule " : "manual",
		 slot ? slot : "");
	return 0;
}

/* ---- commands ------------------------------------------------------------ */

/* Best effort id and action of an undecodable command, for its event. */
static void salvage(const void *payload, size_t len, char *id, size_t id_size, char *action,
		    size_t action_size)
{
	id[0] = '\0';
	copy_str(action, action_size, "unknown");
	struct proto_feeder_cmd cmd;
	const char *reason;
	if (proto_feeder_cmd_decode(payload, len, &cmd, &reason) == 0) {
		copy_str(id, id_size, cmd.id);
		copy_str(action, action_size, proto_action_name(cmd.action));
		return;
	}
	if (len == 0 || len > PROTO_MAX_PAYLOAD)
		return;
	cJSON *o = cJSON_ParseWithLength(payload, len);
	if (!o)
		return;
	const cJSON *jid = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (cJSON_IsString(jid) && proto_id_valid(jid->valuestring))
		copy_str(id, id_size, jid->valuestring);
	const cJSON *jact = cJSON_GetObjectItemCaseSensitive(o, "action");
	enum proto_action a;
	if (cJSON_IsString(jact) && proto_action_parse(jact->valuestring, &a) == 0)
		copy_str(action, action_size, proto_action_name(a));
	cJSON_Delete(o);
}

int feeder_handle_message(struct feeder *f, const void *payload, size_t len, bool retained,
			  const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (retained && len == 0)
		return 1; /* someone cleared a retained command: not a command */
	char id[PROTO_ID_MAX + 1], action[16];
	if (retained) {
		f->commands++;
		salvage(payload, len, id, sizeof(id), action, sizeof(action));
		log_warn("command %s (%s) refused: it arrived retained", id[0] ? id : "-", action);
		set_event(res, id, action, PROTO_RESULT_REJECTED, PROTO_REASON_RETAINED, now);
		return 0;
	}
	struct proto_feeder_cmd cmd;
	const char *reason = NULL;
	if (proto_feeder_cmd_decode(payload, len, &cmd, &reason) < 0) {
		f->commands++;
		salvage(payload, len, id, sizeof(id), action, sizeof(action));
		log_warn("command %s refused: %s", id[0] ? id : "-", reason ? reason : "bad");
		set_event(res, id, action, PROTO_RESULT_REJECTED,
			  reason ? reason : PROTO_REASON_BAD_JSON, now);
		return 0;
	}
	feeder_handle(f, &cmd, now, res);
	return 0;
}

static void reject(struct feeder *f, const char *id, const char *action, const char *reason,
		   bool keep, const struct feeder_now *now, struct feeder_result *res)
{
	log_info("command %s (%s) rejected: %s", id, action, reason);
	set_event(res, id, action, PROTO_RESULT_REJECTED, reason, now);
	if (keep) {
		remember(f, id, action, PROTO_RESULT_REJECTED, reason, now, res);
	}
}

void feeder_handle(struct feeder *f, const struct proto_feeder_cmd *cmd,
		   const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	f->commands++;
	check_clock_ahead(f, now, res);
	const char *action = proto_action_name(cmd->action);
	char id[PROTO_ID_MAX + 1];
	if (cmd->id[0]) {
		copy_str(id, sizeof(id), cmd->id);
		char outcome[OUTCOME_MAX];
		if (find_outcome(f, id, outcome, sizeof(outcome))) {
			log_info("command %s (%s): duplicate, first outcome %s", id, action,
				 outcome);
			set_event(res, id, action, PROTO_RESULT_DUPLICATE, outcome, now);
			return;
		}
	} else {
		snprintf(id, sizeof(id), "auto-%" PRId64 "-%" PRIu64, now->wall_ms,
			 ++f->auto_counter);
	}
	if (cmd->has_ts && cmd->ts_ms < now->wall_ms - f->cfg.cmd_ttl_ms) {
		reject(f, id, action, PROTO_REASON_EXPIRED, true, now, res);
		return;
	}
	if (cmd->has_ts && cmd->ts_ms > now->wall_ms + f->cfg.cmd_ttl_ms) {
		reject(f, id, action, "clock_skew", true, now, res);
		return;
	}
	const char *by = cmd->by[0] ? cmd->by : "anonymous";
	switch (cmd->action) {
	case PROTO_ACTION_HOME:
	case PROTO_ACTION_CALL:
		if ((cmd->action == PROTO_ACTION_HOME && f->dose.active) || f->cmd.active) {
			reject(f, id, action, PROTO_REASON_BUSY, false, now, res);
			return;
		}
		f->cmd.active = true;
		f->cmd.action = cmd->action;
		copy_str(f->cmd.id, sizeof(f->cmd.id), id);
		res->action = cmd->action == PROTO_ACTION_HOME ? FEEDER_DO_HOME : FEEDER_DO_CALL;
		return;
	case PROTO_ACTION_FEED: {
		int64_t next_allowed;
		const char *why = dose_rules(f, now, &next_allowed);
		if (why) {
			char when[64];
			local_time_text(next_allowed, when, sizeof(when));
			log_info("feed %s: %s, next allowed %s", id, why, when);
			reject(f, id, action, why, true, now, res);
			return;
		}
		if (f->dose.active || f->cmd.active) {
			reject(f, id, action, PROTO_REASON_BUSY, false, now, res);
			return;
		}
		if (start_dose(f, id, by, false, NULL, now, res) < 0) {
			reject(f, id, action, PROTO_REASON_JOURNAL, false, now, res);
			return;
		}
		return;
	}
	}
}

void feeder_dose_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		      struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!f->dose.active)
		return;
	f->dose.active = false;
	f->position = PROTO_POSITION_HOME;
	res->state_changed = true;
	res->log_changed = true;
	struct dose *d = find_dose(f, f->dose.id);
	if (d) {
		d->status = ok ? DOSE_OK : DOSE_FAILED;
		copy_str(d->reason, sizeof(d->reason), ok || !reason ? "" : reason);
	}
	struct journal_rec rec = {.op = JOURNAL_DONE, .ts_ms = now->wall_ms};
	copy_str(rec.id, sizeof(rec.id), f->dose.id);
	copy_str(rec.result, sizeof(rec.result), ok ? "ok" : "failed");
	copy_str(rec.reason, sizeof(rec.reason), ok || !reason ? "" : reason);
	/* The dose has happened (or half happened): the event tells so even if
	 * the completion cannot be journaled; a restart then counts it as an
	 * uncertain dose, which is the safe side. */
	journal_put(f, &rec, true, true, now, res);
	if (ok) {
		log_info("dose %s: done", f->dose.id);
		set_event(res, f->dose.id, "feed", PROTO_RESULT_OK, NULL, now);
	} else {
		log_error("dose %s: failed: %s (counted as given)", f->dose.id,
			  reason ? reason : "");
		set_event(res, f->dose.id, "feed", PROTO_RESULT_FAILED, reason ? reason : "failed",
			  now);
		add_alert(res, now, PROTO_LEVEL_CRITICAL, "dose_failed",
			  "dose %s failed: %s; counted as given, please check the feeder",
			  f->dose.id, reason ? reason : "");
	}
	maybe_compact(f);
}

void feeder_cmd_done(struct feeder *f, bool ok, const char *reason, const struct feeder_now *now,
		     struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!f->cmd.active)
		return;
	f->cmd.active = false;
	const char *action = proto_action_name(f->cmd.action);
	if (ok) {
		set_event(res, f->cmd.id, action, PROTO_RESULT_OK, NULL, now);
		if (f->cmd.action == PROTO_ACTION_HOME && f->position != PROTO_POSITION_HOME) {
			f->position = PROTO_POSITION_HOME;
			res->state_changed = true;
		}
	} else {
		set_event(res, f->cmd.id, action, PROTO_RESULT_FAILED, reason ? reason : "failed",
			  now);
		log_warn("%s %s failed: %s", action, f->cmd.id, reason ? reason : "");
	}
	remember(f, f->cmd.id, action, ok ? PROTO_RESULT_OK : PROTO_RESULT_FAILED,
		 ok || !reason ? "" : reason, now, res);
	maybe_compact(f);
}

/* ---- schedule ------------------------------------------------------------- */

static bool slot_settled(const struct feeder *f, const char *slot)
{
	for (size_t i = 0; i < f->n_slots; i++)
		if (strcmp(f->slots[i].slot, slot) == 0)
			return true;
	for (size_t i = 0; i < f->n_doses; i++)
		if (f->doses[i].slot[0] && strcmp(f->doses[i].slot, slot) == 0)
			return true;
	return false;
}

static bool slot_served(const struct feeder *f, int64_t slot_ms, const struct feeder_now *now)
{
	for (size_t i = f->n_doses; i-- > 0;) {
		const struct dose *d = &f->doses[i];
		if (d->ts_ms <= slot_ms - f->cfg.min_interval_ms)
			break;
		if (d->ts_ms <= now->wall_ms)
			return true;
	}
	return false;
}

static void settle_slot(struct feeder *f, const char *slot, const char *result, const char *reason,
			const struct feeder_now *now, struct feeder_result *res)
{
	slot_put(f, slot, result, now->wall_ms);
	struct journal_rec rec = {.op = JOURNAL_SLOT, .ts_ms = now->wall_ms};
	copy_str(rec.slot, sizeof(rec.slot), slot);
	copy_str(rec.result, sizeof(rec.result), result);
	copy_str(rec.reason, sizeof(rec.reason), reason ? reason : "");
	journal_put(f, &rec, true, false, now, res);
}

struct due {
	int64_t slot_ms[64];
	char slot_id[64][SCHEDULE_SLOT_ID_MAX];
	size_t n, dropped;
};

static void collect_slot(void *arg, int64_t slot_ms, const char *slot_id)
{
	struct due *due = arg;
	if (due->n == 64) { /* keep the newest 64 */
		memmove(&due->slot_ms[0], &due->slot_ms[1], sizeof(due->slot_ms[0]) * 63);
		memmove(&due->slot_id[0], &due->slot_id[1], sizeof(due->slot_id[0]) * 63);
		due->n--;
		due->dropped++;
	}
	due->slot_ms[due->n] = slot_ms;
	copy_str(due->slot_id[due->n], sizeof(due->slot_id[0]), slot_id);
	due->n++;
}

void feeder_schedule_tick(struct feeder *f, const struct feeder_now *now, struct feeder_result *res)
{
	memset(res, 0, sizeof(*res));
	check_clock_ahead(f, now, res);
	if (f->cfg.schedule.count == 0)
		return;
	if (now->wall_ms < f->sched_checked_ms) {
		/* The wall clock went back (it was ahead, and was corrected).
		 * Waiting for it to catch up would stop the schedule for as long
		 * as it was ahead. Look at the recent past again, like a start:
		 * slots already settled are known by id, a dose since the slot
		 * serves it, and the interval and daily limit still apply. */
		int64_t back = f->cfg.grace_ms > ON_TIME_MS ? f->cfg.grace_ms : ON_TIME_MS;
		int64_t from = now->wall_ms - back;
		log_warn("schedule: the wall clock went back by %" PRId64
			 " ms; looking at slots since %" PRId64 " ms ago again",
			 f->sched_checked_ms - now->wall_ms, back);
		f->sched_checked_ms = from > f->init_ms ? from : f->init_ms;
		if (f->sched_checked_ms > now->wall_ms)
			f->sched_checked_ms = now->wall_ms;
		/* Slots settled without a dose at a time that is now in the future
		 * were settled by the wrong clock ("missed" before they came):
		 * reopen them. A slot that was dosed stays settled by its dose. */
		for (size_t i = f->n_slots; i-- > 0;) {
			if (f->slots[i].ts_ms <= now->wall_ms)
				continue;
			char slot[SCHEDULE_SLOT_ID_MAX];
			copy_str(slot, sizeof(slot), f->slots[i].slot);
			struct journal_rec rec = {.op = JOURNAL_SLOT, .ts_ms = now->wall_ms};
			copy_str(rec.slot, sizeof(rec.slot), slot);
			copy_str(rec.result, sizeof(rec.result), "reopened");
			copy_str(rec.reason, sizeof(rec.reason), "clock_set_back");
			journal_put(f, &rec, false, false, now, res);
			slot_forget(f, slot);
		}
	}
	if (now->wall_ms <= f->sched_checked_ms)
		return;
	struct due due = {0};
	schedule_each_between(&f->cfg.schedule, f->sched_checked_ms, now->wall_ms, collect_slot,
			      &due);
	f->sched_checked_ms = now->wall_ms;
	if (f->history_unknown) {
		for (size_t i = 0; i < due.n; i++)
			add_alert(res, now, PROTO_LEVEL_CRITICAL, PROTO_ALERT_MISSED_DOSE,
				  "scheduled dose %s not given: the dose journal is unavailable",
				  due.slot_id[i]);
		return;
	}
	size_t missed_quiet = due.dropped;
	for (size_t i = 0; i < due.n; i++) {
		const char *slot = due.slot_id[i];
		int64_t slot_ms = due.slot_ms[i];
		if (slot_settled(f, slot))
			continue;
		if (slot_served(f, slot_ms, now)) {
			log_info("schedule %s: already served by a dose since %" PRId64
				 " ms before it",
				 slot, f->cfg.min_interval_ms);
			settle_slot(f, slot, "skipped", "served", now, res);
			continue;
		}
		char when[64];
		local_time_text(slot_ms, when, sizeof(when));
		bool newest = i + 1 == due.n;
		int64_t late = now->wall_ms - slot_ms;
		bool on_time =
		    late <= f->cfg.grace_ms || (slot_ms > f->started_ms && late <= ON_TIME_MS);
		if (newest && on_time && !f->dose.active) {
			int64_t next_allowed;
			const char *why = dose_rules(f, now, &next_allowed);
			if (!why) {
				char id[PROTO_ID_MAX + 1];
				snprintf(id, sizeof(id), "schedule-%s", slot);
				if (start_dose(f, id, "schedule", true, slot, now, res) == 0)
					return;
				why = PROTO_REASON_JOURNAL;
			}
			add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_MISSED_DOSE,
				  "scheduled dose %s (%s) not given: %s", slot, when, why);
			if (strcmp(why, PROTO_REASON_JOURNAL) != 0)
				settle_slot(f, slot, "missed", why, now, res);
			continue;
		}
		if (res->n_alerts + 2 < FEEDER_MAX_ALERTS)
			add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_MISSED_DOSE,
				  "scheduled dose %s (%s) was missed%s", slot, when,
				  f->dose.active ? " (a dose was in progress)"
						 : " while the feeder was down");
		else
			missed_quiet++;
		settle_slot(f, slot, "missed", "late", now, res);
	}
	if (missed_quiet)
		add_alert(res, now, PROTO_LEVEL_WARNING, PROTO_ALERT_MISSED_DOSE,
			  "%zu more scheduled doses were missed", missed_quiet);
	if (res->action == FEEDER_DO_NOTHING)
		res->state_changed = true; /* next_scheduled moved on */
}

int64_t feeder_next_slot_ms(const struct feeder *f, const struct feeder_now *now)
{
	/* From now even when slots up to a later time are settled (the wall
	 * clock went back): the timer must wake for the next slot by the clock,
	 * and the tick then sorts out what is already settled. */
	return schedule_next_after(&f->cfg.schedule, now->wall_ms, NULL, 0);
}

bool feeder_dose_in_progress(const struct feeder *f)
{
	return f->dose.active;
}

/* ---- state ----------------------------------------------------------------- */

void feeder_state(const struct feeder *f, const struct feeder_now *now,
		  struct proto_feeder_state *out)
{
	memset(out, 0, sizeof(*out));
	out->position = f->position;
	out->last_dose_ms = f->n_doses ? f->doses[f->n_doses - 1].ts_ms : 0;
	int64_t next_allowed;
	dose_rules(f, now, &next_allowed);
	/* With no history every dose is refused, and the first after a repair
	 * counts a dose assumed then: never earlier than an interval from now. */
	if (f->history_unknown && next_allowed < now->wall_ms + f->cfg.min_interval_ms)
		next_allowed = now->wall_ms + f->cfg.min_interval_ms;
	out->next_allowed_ms = next_allowed;
	out->next_scheduled_ms = feeder_next_slot_ms(f, now);
	out->doses_today = doses_on_date(f, schedule_date_key(schedule_local_date(now->wall_ms)));
}

size_t feeder_log(const struct feeder *f, struct proto_dose *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = f->n_doses; i-- > 0 && n < cap;) {
		const struct dose *d = &f->doses[i];
		struct proto_dose *o = &out[n++];
		memset(o, 0, sizeof(*o));
		copy_str(o->id, sizeof(o->id), d->id);
		copy_str(o->by, sizeof(o->by), d->by);
		o->ts_ms = d->ts_ms;
		o->source = d->scheduled ? PROTO_SOURCE_SCHEDULE : PROTO_SOURCE_MANUAL;
	}
	return n;
}

void feeder_set_position(struct feeder *f, enum proto_position pos)
{
	f->position = pos;
}

void feeder_get_stats(const struct feeder *f, struct feeder_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->ids_remembered = f->ring_count;
	out->dose_ids = f->n_dose_ids + f->n_doses;
	out->doses_kept = f->n_doses;
	out->journal_bytes = f->journal ? journal_size(f->journal) : 0;
	out->journal_errors = f->journal_errors;
	out->compactions = f->compactions;
	out->commands = f->commands;
	out->journal_ok = f->journal && !f->history_unknown && !f->journal_failed;
}
