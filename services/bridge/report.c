/* The vet's report's arithmetic; report.h states what is counted where. */
#include "report.h"

#include "jbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The windows adherence is computed over; report_build always lays out at
 * least the longest of them. */
#define REPORT_ADH_SHORT 30
#define REPORT_ADH_LONG	 90

static const char *const status_words[] = {
    [REPORT_PENDING] = "pending", [REPORT_GIVEN] = "given",	    [REPORT_LATE] = "late",
    [REPORT_SKIPPED] = "skipped", [REPORT_PAUSED] = "paused",	    [REPORT_MISSED] = "missed",
    [REPORT_FAILED] = "failed",	  [REPORT_UNCERTAIN] = "uncertain",
};

static void say(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t why_len, const char *fmt, ...)
{
	if (!why || why_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

int report_status_parse(const char *word, enum report_status *out)
{
	if (!word)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(status_words) / sizeof(status_words[0]); i++) {
		if (strcmp(word, status_words[i]) == 0) {
			*out = (enum report_status)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "YYYY-MM-DDTHH:MM" with a month, day, hour and minute in range. */
static bool slot_id_ok(const char *s)
{
	if (!s || strlen(s) != 16)
		return false;
	if (!is_digits(s, 4) || s[4] != '-' || !is_digits(s + 5, 2) || s[7] != '-' ||
	    !is_digits(s + 8, 2) || s[10] != 'T' || !is_digits(s + 11, 2) || s[13] != ':' ||
	    !is_digits(s + 14, 2))
		return false;
	int mon = (s[5] - '0') * 10 + (s[6] - '0');
	int mday = (s[8] - '0') * 10 + (s[9] - '0');
	int hour = (s[11] - '0') * 10 + (s[12] - '0');
	int min = (s[14] - '0') * 10 + (s[15] - '0');
	return mon >= 1 && mon <= 12 && mday >= 1 && mday <= 31 && hour <= 23 && min <= 59;
}

/* Floor division of ms to seconds, so an instant before 1970 lands in the
 * right second too. */
static time_t ms_to_s(int64_t ms)
{
	int64_t s = ms / 1000;
	if (ms % 1000 < 0)
		s--;
	return (time_t)s;
}

/* The local day at offset `delta` days from the day of `today` (a struct tm
 * from localtime_r): its first instant in ms, via mktime on the local
 * calendar, and its date. */
static int day_start(const struct tm *today, int delta, int64_t *start_ms, char date[11])
{
	struct tm tm = {0};
	tm.tm_year = today->tm_year;
	tm.tm_mon = today->tm_mon;
	tm.tm_mday = today->tm_mday + delta;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	/* A midnight that does not exist (a zone that springs forward at
	 * 00:00) is normalised by mktime to the first instant after it, on the
	 * same date; tm now holds that date. */
	if (date) {
		char text[48];
		int n = snprintf(text, sizeof(text), "%04d-%02d-%02d", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday);
		if (n != 10)
			return -EINVAL; /* a year outside 0..9999 */
		memcpy(date, text, 11);
	}
	*start_ms = (int64_t)t * 1000;
	return 0;
}

/* The index of the day holding ts_ms among n days with starts[0..n] (starts[n]
 * the end of the last), or -1 outside them. */
static int day_of(const int64_t *starts, int n, int64_t ts_ms)
{
	if (ts_ms < starts[0] || ts_ms >= starts[n])
		return -1;
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;
		if (starts[mid] <= ts_ms)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static int cmp_dose_id(const void *a, const void *b)
{
	const struct report_dose *const *x = a, *const *y = b;
	return strcmp((*x)->id, (*y)->id);
}

static int cmp_change(const void *a, const void *b)
{
	const struct report_plan_change *const *x = a, *const *y = b;
	if ((*x)->ts_ms != (*y)->ts_ms)
		return (*x)->ts_ms < (*y)->ts_ms ? -1 : 1;
	if ((*x)->rev != (*y)->rev)
		return (*x)->rev < (*y)->rev ? -1 : 1;
	return 0;
}

static bool verified_dose(const struct report_dose **by_id, size_t n, const char *id)
{
	if (!id || !id[0] || n == 0)
		return false;
	struct report_dose key = {.id = id};
	const struct report_dose *k = &key;
	const struct report_dose **hit = bsearch(&k, by_id, n, sizeof(*by_id), cmp_dose_id);
	return hit != NULL;
}

static void counts_add(struct report_counts *to, const struct report_counts *c)
{
	to->planned += c->planned;
	to->given += c->given;
	to->late += c->late;
	to->missed += c->missed;
	to->failed += c->failed;
	to->uncertain += c->uncertain;
	to->served += c->served;
	to->skipped += c->skipped;
	to->paused += c->paused;
	to->pending += c->pending;
	to->verified += c->verified;
	to->manual += c->manual;
}

static int check_input(const struct report_input *in, char *why, size_t why_len)
{
	if (in->days < 1 || in->days > REPORT_DAYS_MAX) {
		say(why, why_len, "days must be 1..%d, not %d", REPORT_DAYS_MAX, in->days);
		return -EINVAL;
	}
	if ((in->n_slots && !in->slots) || (in->n_doses && !in->doses) ||
	    (in->n_changes && !in->changes)) {
		say(why, why_len, "a row count without its rows");
		return -EINVAL;
	}
	for (size_t i = 0; i < in->n_slots; i++) {
		const struct report_slot *s = &in->slots[i];
		enum report_status st;
		if (!slot_id_ok(s->slot)) {
			say(why, why_len, "slot %zu: id '%.32s' is not YYYY-MM-DDTHH:MM", i,
			    s->slot ? s->slot : "(null)");
			return -EINVAL;
		}
		if (report_status_parse(s->status, &st) != 0) {
			say(why, why_len,
			    "slot %zu (%s): unknown status '%.32s' (pending, given, late, skipped, "
			    "paused, missed, failed or uncertain)",
			    i, s->slot, s->status ? s->status : "(null)");
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < in->n_doses; i++) {
		const struct report_dose *d = &in->doses[i];
		if (!d->id || !d->id[0]) {
			say(why, why_len, "dose %zu: no id", i);
			return -EINVAL;
		}
		if (d->verified < -1 || d->verified > 1) {
			say(why, why_len, "dose %zu (%.64s): verified %d is not -1, 0 or 1", i,
			    d->id, d->verified);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < in->n_changes; i++) {
		const struct report_plan_change *c = &in->changes[i];
		if (!c->by || !c->summary) {
			say(why, why_len, "plan change %zu (rev %" PRId64 "): no %s", i, c->rev,
			    !c->by ? "by" : "summary");
			return -EINVAL;
		}
	}
	return 0;
}

static void adherence(struct report_adherence *a, int window, const struct report_day *all,
		      int n_all)
{
	a->days = window;
	memcpy(a->from, all[n_all - window].date, sizeof(a->from));
	for (int i = n_all - window; i < n_all; i++) {
		a->planned += all[i].c.planned;
		a->taken += all[i].c.given + all[i].c.late + all[i].c.served;
	}
	a->defined = a->planned > 0;
	a->fraction = a->defined ? (double)a->taken / (double)a->planned : 0.0;
}

/*
 * Lays out n_all = max(days, 90) local days ending today, counts every slot
 * and dose into its day, then keeps the last `days` of them for the report
 * and the last 30 and 90 for adherence. Runs on the caller's thread; reads
 * the process's zone (localtime_r, mktime), so the caller must not change TZ
 * meanwhile.
 */
int report_build(const struct report_input *in, struct report *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	if (!in) {
		say(why, why_len, "no input");
		return -EINVAL;
	}
	int rc = check_input(in, why, why_len);
	if (rc)
		return rc;

	time_t now_s = ms_to_s(in->now_ms);
	struct tm today;
	if (!localtime_r(&now_s, &today)) {
		say(why, why_len, "now %" PRId64 " ms has no local time", in->now_ms);
		return -EINVAL;
	}
	int n_all = in->days > REPORT_ADH_LONG ? in->days : REPORT_ADH_LONG;
	struct report_day *all = calloc((size_t)n_all, sizeof(*all));
	int64_t *starts = calloc((size_t)n_all + 1, sizeof(*starts));
	const struct report_dose **by_id = calloc(in->n_doses ? in->n_doses : 1, sizeof(*by_id));
	const struct report_plan_change **changes =
	    calloc(in->n_changes ? in->n_changes : 1, sizeof(*changes));
	if (!all || !starts || !by_id || !changes) {
		rc = -ENOMEM;
		say(why, why_len, "out of memory");
		goto fail;
	}
	for (int i = 0; i <= n_all; i++) {
		if (day_start(&today, i - (n_all - 1), &starts[i],
			      i < n_all ? all[i].date : NULL)) {
			rc = -EINVAL;
			say(why, why_len, "the local day %d before today has no start",
			    n_all - 1 - i);
			goto fail;
		}
	}
	for (int i = 0; i < n_all; i++) {
		all[i].start_ms = starts[i];
		all[i].end_ms = starts[i + 1];
	}

	size_t n_verified = 0;
	for (size_t i = 0; i < in->n_doses; i++) {
		const struct report_dose *d = &in->doses[i];
		if (d->verified == 1)
			by_id[n_verified++] = d;
		int k = day_of(starts, n_all, d->ts_ms);
		if (k >= 0 && !(d->source && strcmp(d->source, "schedule") == 0))
			all[k].c.manual++;
	}
	qsort(by_id, n_verified, sizeof(*by_id), cmp_dose_id);

	for (size_t i = 0; i < in->n_slots; i++) {
		const struct report_slot *s = &in->slots[i];
		int k = day_of(starts, n_all, s->at_ms);
		if (k < 0)
			continue;
		struct report_counts *c = &all[k].c;
		enum report_status st = REPORT_PENDING;
		report_status_parse(s->status, &st);
		bool has_dose = s->dose && s->dose[0];
		bool planned = true;
		switch (st) {
		case REPORT_PENDING:
			c->pending++;
			planned = false;
			break;
		case REPORT_GIVEN:
			c->given++;
			break;
		case REPORT_LATE:
			c->late++;
			break;
		case REPORT_MISSED:
			c->missed++;
			break;
		case REPORT_FAILED:
			c->failed++;
			break;
		case REPORT_UNCERTAIN:
			c->uncertain++;
			break;
		case REPORT_SKIPPED:
			if (has_dose) {
				c->served++;
			} else {
				c->skipped++;
				planned = false;
			}
			break;
		case REPORT_PAUSED:
			c->paused++;
			planned = false;
			break;
		}
		if (planned) {
			c->planned++;
			if (verified_dose(by_id, n_verified, s->dose))
				c->verified++;
		}
	}

	adherence(&out->adherence_30, REPORT_ADH_SHORT, all, n_all);
	adherence(&out->adherence_90, REPORT_ADH_LONG, all, n_all);

	out->now_ms = in->now_ms;
	out->n_days = in->days;
	out->day = calloc((size_t)in->days, sizeof(*out->day));
	if (!out->day) {
		rc = -ENOMEM;
		say(why, why_len, "out of memory");
		goto fail;
	}
	memcpy(out->day, all + (n_all - in->days), (size_t)in->days * sizeof(*out->day));
	for (int i = 0; i < in->days; i++)
		counts_add(&out->totals, &out->day[i].c);

	int64_t from_ms = out->day[0].start_ms, to_ms = out->day[in->days - 1].end_ms;
	for (size_t i = 0; i < in->n_changes; i++) {
		const struct report_plan_change *c = &in->changes[i];
		if (c->ts_ms >= from_ms && c->ts_ms < to_ms)
			changes[out->n_changes++] = c;
	}
	qsort(changes, out->n_changes, sizeof(*changes), cmp_change);
	out->changes = changes;
	free(all);
	free(starts);
	free(by_id);
	return 0;
fail:
	free(all);
	free(starts);
	free(by_id);
	free(changes);
	free(out->day);
	memset(out, 0, sizeof(*out));
	return rc;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	free(r->day);
	free((void *)r->changes);
	memset(r, 0, sizeof(*r));
}

static bool add_counts(cJSON *o, const struct report_counts *c)
{
	return cJSON_AddNumberToObject(o, "planned", c->planned) &&
	       cJSON_AddNumberToObject(o, "given", c->given) &&
	       cJSON_AddNumberToObject(o, "late", c->late) &&
	       cJSON_AddNumberToObject(o, "missed", c->missed) &&
	       cJSON_AddNumberToObject(o, "failed", c->failed) &&
	       cJSON_AddNumberToObject(o, "uncertain", c->uncertain) &&
	       cJSON_AddNumberToObject(o, "served", c->served) &&
	       cJSON_AddNumberToObject(o, "skipped", c->skipped) &&
	       cJSON_AddNumberToObject(o, "paused", c->paused) &&
	       cJSON_AddNumberToObject(o, "pending", c->pending) &&
	       cJSON_AddNumberToObject(o, "verified", c->verified) &&
	       cJSON_AddNumberToObject(o, "manual", c->manual);
}

static cJSON *adherence_json(const struct report_adherence *a)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	bool ok = cJSON_AddNumberToObject(o, "days", a->days) &&
		  cJSON_AddStringToObject(o, "from", a->from) &&
		  cJSON_AddNumberToObject(o, "planned", a->planned) &&
		  cJSON_AddNumberToObject(o, "taken", a->taken) &&
		  (a->defined ? cJSON_AddNumberToObject(o, "fraction", a->fraction) != NULL
			      : cJSON_AddNullToObject(o, "fraction") != NULL);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *report_to_json(const struct report *r)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON *days = NULL, *totals = NULL, *changes = NULL, *a30 = NULL, *a90 = NULL;
	if (!cJSON_AddNumberToObject(root, "ts", (double)r->now_ms) ||
	    !cJSON_AddStringToObject(root, "from", r->n_days ? r->day[0].date : "") ||
	    !cJSON_AddStringToObject(root, "to", r->n_days ? r->day[r->n_days - 1].date : "") ||
	    !cJSON_AddNumberToObject(root, "n_days", r->n_days))
		goto fail;
	if (!(days = cJSON_AddArrayToObject(root, "days")))
		goto fail;
	for (int i = 0; i < r->n_days; i++) {
		const struct report_day *d = &r->day[i];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			goto fail;
		cJSON_AddItemToArray(days, o);
		if (!cJSON_AddStringToObject(o, "date", d->date) ||
		    !cJSON_AddNumberToObject(o, "start", (double)d->start_ms) ||
		    !cJSON_AddNumberToObject(o, "end", (double)d->end_ms) || !add_counts(o, &d->c))
			goto fail;
	}
	if (!(totals = cJSON_AddObjectToObject(root, "totals")) || !add_counts(totals, &r->totals))
		goto fail;
	if (!(a30 = adherence_json(&r->adherence_30)))
		goto fail;
	cJSON_AddItemToObject(root, "adherence_30", a30);
	if (!(a90 = adherence_json(&r->adherence_90)))
		goto fail;
	cJSON_AddItemToObject(root, "adherence_90", a90);
	if (!(changes = cJSON_AddArrayToObject(root, "plan_changes")))
		goto fail;
	for (size_t i = 0; i < r->n_changes; i++) {
		const struct report_plan_change *c = r->changes[i];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			goto fail;
		cJSON_AddItemToArray(changes, o);
		if (!cJSON_AddNumberToObject(o, "ts", (double)c->ts_ms) ||
		    !cJSON_AddNumberToObject(o, "rev", (double)c->rev) ||
		    !cJSON_AddStringToObject(o, "by", c->by) ||
		    !cJSON_AddStringToObject(o, "summary", c->summary))
			goto fail;
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

/* One CSV field, quoted only when it holds a comma, a quote, CR or LF. */
static void csv_field(struct jbuf *b, const char *text)
{
	if (!text)
		text = "";
	if (!strpbrk(text, ",\"\r\n")) {
		jbuf_puts(b, text);
		return;
	}
	jbuf_put(b, "\"", 1);
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			jbuf_put(b, "\"", 1);
		jbuf_put(b, p, 1);
	}
	jbuf_put(b, "\"", 1);
}

/* A person's free text (`by`): one that a spreadsheet would read as a
 * formula (=, +, -, @, tab or CR first) gets a ' in front, as OWASP's CSV
 * injection advice has it, so opening the file cannot run anything. */
static void csv_text(struct jbuf *b, const char *text)
{
	if (text && text[0] && strchr("=+-@\t\r", text[0])) {
		char *defused = malloc(strlen(text) + 2);
		if (!defused) {
			b->failed = true;
			return;
		}
		defused[0] = '\'';
		strcpy(defused + 1, text);
		csv_field(b, defused);
		free(defused);
		return;
	}
	csv_field(b, text);
}

/* ts_ms as ISO 8601 with milliseconds, local with its UTC offset or UTC. */
static int iso_time(int64_t ts_ms, bool local, char *buf, size_t len)
{
	time_t s = ms_to_s(ts_ms);
	int ms = (int)(ts_ms - (int64_t)s * 1000);
	struct tm tm;
	if (!(local ? localtime_r(&s, &tm) : gmtime_r(&s, &tm)))
		return -EINVAL;
	int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	if (!local) {
		snprintf(buf + n, len - (size_t)n, "Z");
		return 0;
	}
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	snprintf(buf + n, len - (size_t)n, "%c%02ld:%02ld", sign, off / 3600, (off % 3600) / 60);
	return 0;
}

int report_doses_csv(const struct report_dose *doses, size_t n, char **out, size_t *out_len,
		     char *why, size_t why_len)
{
	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (n && !doses) {
		say(why, why_len, "a dose count without its doses");
		return -EINVAL;
	}
	struct jbuf b;
	jbuf_init(&b);
	jbuf_puts(&b, "id,time_local,time_utc,by,source,slot,outcome,verified\r\n");
	for (size_t i = 0; i < n; i++) {
		const struct report_dose *d = &doses[i];
		char local[48], utc[48];
		if (!d->id || !d->id[0]) {
			say(why, why_len, "dose %zu: no id", i);
			goto bad;
		}
		if (d->verified < -1 || d->verified > 1) {
			say(why, why_len, "dose %zu (%.64s): verified %d is not -1, 0 or 1", i,
			    d->id, d->verified);
			goto bad;
		}
		if (iso_time(d->ts_ms, true, local, sizeof(local)) ||
		    iso_time(d->ts_ms, false, utc, sizeof(utc))) {
			say(why, why_len,
			    "dose %zu (%.64s): time %" PRId64 " ms has no calendar date", i, d->id,
			    d->ts_ms);
			goto bad;
		}
		csv_field(&b, d->id);
		jbuf_put(&b, ",", 1);
		jbuf_puts(&b, local);
		jbuf_put(&b, ",", 1);
		jbuf_puts(&b, utc);
		jbuf_put(&b, ",", 1);
		csv_text(&b, d->by);
		jbuf_put(&b, ",", 1);
		csv_field(&b, d->source);
		jbuf_put(&b, ",", 1);
		csv_field(&b, d->slot);
		jbuf_put(&b, ",", 1);
		csv_field(&b, d->outcome);
		jbuf_put(&b, ",", 1);
		jbuf_puts(&b, d->verified == 1 ? "true" : d->verified == 0 ? "false" : "");
		jbuf_puts(&b, "\r\n");
	}
	if (b.failed) {
		jbuf_free(&b);
		say(why, why_len, "out of memory");
		return -ENOMEM;
	}
	*out = b.data;
	if (out_len)
		*out_len = b.len; /* jbuf keeps a NUL after its bytes */
	return 0;
bad:
	jbuf_free(&b);
	return -EINVAL;
}
