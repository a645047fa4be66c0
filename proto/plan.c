/*
 * plan.c — the care plan: feeder/plan, the plan command's members,
 * feeder/schedule, slot ids and slot statuses (proto/README.md,
 * "iod/<site>/feeder/plan").
 */
#include "proto.h"

#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct pj_field F_REV = PJ_FIELD("rev");
static const struct pj_field F_SLOTS = PJ_FIELD("slots");
static const struct pj_field F_MIN_INTERVAL = PJ_FIELD("min_interval_s");
static const struct pj_field F_MAX_DAILY = PJ_FIELD("max_daily");
static const struct pj_field F_GRACE = PJ_FIELD("grace_s");
static const struct pj_field F_PAUSED = PJ_FIELD("paused");
static const struct pj_field F_PAUSED_UNTIL = PJ_FIELD("paused_until");
static const struct pj_field F_TREAT = PJ_FIELD("treat");
static const struct pj_field F_PILLS = PJ_FIELD("pills");
static const struct pj_field F_BOUNDS = PJ_FIELD("bounds");
static const struct pj_field F_CHANGED_BY = PJ_FIELD("changed_by");
static const struct pj_field F_CHANGED_AT = PJ_FIELD("changed_at");
static const struct pj_field F_DATE = PJ_FIELD("date");
static const struct pj_field F_SLOT = PJ_FIELD("slot");
static const struct pj_field F_AT = PJ_FIELD("at");
static const struct pj_field F_STATUS = PJ_FIELD("status");
static const struct pj_field F_DOSE = PJ_FIELD("dose");
static const struct pj_field F_TS = PJ_FIELD("ts");

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
/* In enum proto_slot_status's order. */
static const char *const status_names[] = {"pending", "given",	"late",	  "skipped",
					   "paused",  "missed", "failed", "uncertain"};

/* The value ranges of the plan: proto.h's PROTO_PLAN_* (one rule for the
 * retained plan, a plan command and the feeder's seed). */
#define MIN_INTERVAL_LO	      PROTO_PLAN_MIN_INTERVAL_MIN_S
#define MIN_INTERVAL_HI	      PROTO_PLAN_MIN_INTERVAL_MAX_S
#define MAX_DAILY_LO	      PROTO_PLAN_MAX_DAILY_MIN
#define MAX_DAILY_HI	      PROTO_PLAN_MAX_DAILY_MAX
#define GRACE_HI	      PROTO_PLAN_GRACE_MAX_S
#define TREAT_MAX_DAILY_HI    PROTO_PLAN_TREAT_MAX_DAILY_MAX
#define TREAT_MIN_INTERVAL_HI PROTO_PLAN_TREAT_INTERVAL_MAX_S
#define LOW_DAYS_HI	      PROTO_PLAN_LOW_DAYS_MAX
#define PILLS_HI	      PROTO_PLAN_PILLS_MAX

/* ---- names ------------------------------------------------------------------ */

const char *proto_slot_status_name(enum proto_slot_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s]
									    : NULL;
}

int proto_slot_status_parse(const char *text, enum proto_slot_status *out)
{
	if (text == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (strcmp(status_names[i], text) == 0) {
			*out = (enum proto_slot_status)i;
			return 0;
		}
	}
	return -1;
}

/* ---- detail text ----------------------------------------------------------- */

/* Cut s back to its longest valid UTF-8 prefix (snprintf may have cut a
 * sequence in two), so the event that carries it stays valid UTF-8. */
static void utf8_trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t k = proto_utf8_seq(s + i, n - i);

		if (k == 0)
			break;
		i += k;
	}
	s[i] = '\0';
}

/* Text from a payload shown to people: at most max bytes of s, cut at a
 * sequence boundary, control characters (C0, DEL, C1) shown as '?', so the
 * detail passes the event decoder's text check. */
static void clean_text(const char *s, size_t max, char *buf, size_t size)
{
	size_t n = strlen(s), i = 0, o = 0;

	while (i < n && o + 4 < size) {
		size_t k = proto_utf8_seq(s + i, n - i);
		const unsigned char *u = (const unsigned char *)s + i;

		if (k == 0 || i + k > max)
			break;
		if ((k == 1 && (u[0] < 0x20 || u[0] == 0x7f)) ||
		    (k == 2 && u[0] == 0xc2 && u[1] <= 0x9f)) {
			buf[o++] = '?';
		} else {
			memcpy(buf + o, s + i, k);
			o += k;
		}
		i += k;
	}
	if (i < n && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

/* A JSON value as a short phrase: 'text', 42, true, null, a list, an object. */
static const char *describe(const cJSON *v, char *buf, size_t size)
{
	if (cJSON_IsString(v) && v->valuestring != NULL) {
		char text[48];

		clean_text(v->valuestring, 32, text, sizeof(text));
		snprintf(buf, size, "'%s'", text);
	} else if (cJSON_IsNumber(v)) {
		if (pj_format_number(buf, size, v->valuedouble) != 0)
			snprintf(buf, size, "a number");
	} else if (cJSON_IsTrue(v)) {
		snprintf(buf, size, "true");
	} else if (cJSON_IsFalse(v)) {
		snprintf(buf, size, "false");
	} else if (cJSON_IsNull(v)) {
		snprintf(buf, size, "null");
	} else if (cJSON_IsArray(v)) {
		snprintf(buf, size, "a list");
	} else {
		snprintf(buf, size, "an object");
	}
	return buf;
}

/* A member's name as it may be shown (it came from the payload). */
static const char *name_text(const cJSON *m, char *buf, size_t size)
{
	clean_text(m->string != NULL ? m->string : "", 32, buf, size);
	return buf;
}

/* Where a detail goes: the command's buffer, or nowhere (feeder/plan's
 * decoder has only a reason). */
struct detail {
	char *buf;
	size_t size;
};

__attribute__((format(printf, 2, 3))) static int fail(const struct detail *d, const char *fmt, ...)
{
	va_list ap;

	if (d->buf == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(d->buf, d->size, fmt, ap);
	va_end(ap);
	utf8_trim(d->buf);
	return -1;
}

/* ---- values ------------------------------------------------------------------ */

/* An integral JSON number in [lo, hi]. */
static bool int_value(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
	double x;

	if (!cJSON_IsNumber(v))
		return false;
	x = v->valuedouble;
	if (!isfinite(x) || floor(x) != x || x < (double)lo || x > (double)hi)
		return false;
	*out = (int64_t)x;
	return true;
}

/* "HH:MM", 00:00..23:59, exactly five characters. */
static bool hhmm_parse(const char *s, int *minute)
{
	for (int i = 0; i < 5; i++) {
		if (i == 2 ? s[i] != ':' : !(s[i] >= '0' && s[i] <= '9'))
			return false;
	}
	if (s[5] != '\0')
		return false;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');

	if (h > 23 || m > 59)
		return false;
	*minute = h * 60 + m;
	return true;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(s[i] >= '0' && s[i] <= '9'))
			return false;
	}
	return true;
}

static int number(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "YYYY-MM-DD", a real day of the Gregorian calendar, years 1970-9999. */
static bool date_valid_n(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return false;
	int y = number(s, 4), m = number(s + 5, 2), d = number(s + 8, 2);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && leap ? 1 : 0);
}

static bool date_valid(const char *s)
{
	return strlen(s) == 10 && date_valid_n(s);
}

bool proto_slot_id_valid(const char *slot)
{
	int minute;

	if (slot == NULL || strlen(slot) != PROTO_SLOT_ID_MAX)
		return false;
	return date_valid_n(slot) && slot[10] == 'T' && hhmm_parse(slot + 11, &minute);
}

/* ---- slots --------------------------------------------------------------- */

static int days_parse(const cJSON *v, size_t i, uint8_t *days, const struct detail *d)
{
	char a[64];
	size_t j = 0;

	if (cJSON_IsString(v) && v->valuestring != NULL && strcmp(v->valuestring, "daily") == 0) {
		*days = PROTO_DAYS_DAILY;
		return 0;
	}
	if (!cJSON_IsArray(v))
		return fail(d, "slots[%zu].days: %s is neither 'daily' nor a list of days", i,
			    describe(v, a, sizeof(a)));
	*days = 0;
	for (const cJSON *el = v->child; el != NULL; el = el->next, j++) {
		int k = -1;

		for (int n = 0; cJSON_IsString(el) && el->valuestring != NULL && n < 7; n++) {
			if (strcmp(day_names[n], el->valuestring) == 0)
				k = n;
		}
		if (k < 0)
			return fail(d, "slots[%zu].days[%zu]: %s is not a day (mon..sun)", i, j,
				    describe(el, a, sizeof(a)));
		if (*days & (1u << k))
			return fail(d, "slots[%zu].days[%zu]: '%s' given twice", i, j,
				    day_names[k]);
		*days |= (uint8_t)(1u << k);
	}
	if (*days == 0)
		return fail(d, "slots[%zu].days: an empty list (use \"enabled\":false instead)", i);
	return 0;
}

/*
 * One slot object. strict (a command): members other than at, days and
 * enabled are refused; a payload's decoder ignores them, as every decoder
 * does. A member given twice is refused either way.
 */
static int slot_parse(const cJSON *el, size_t i, bool strict, struct proto_plan_slot *s,
		      const struct detail *d)
{
	const cJSON *at = NULL, *days = NULL, *enabled = NULL;
	char a[64], n[48];

	if (!cJSON_IsObject(el))
		return fail(d, "slots[%zu]: %s is not an object", i, describe(el, a, sizeof(a)));
	for (const cJSON *m = el->child; m != NULL; m = m->next) {
		const cJSON **slot = strcmp(m->string, "at") == 0	 ? &at
				     : strcmp(m->string, "days") == 0	 ? &days
				     : strcmp(m->string, "enabled") == 0 ? &enabled
									 : NULL;

		if (slot == NULL) {
			if (strict)
				return fail(d, "slots[%zu].%s: unknown member", i,
					    name_text(m, n, sizeof(n)));
			continue;
		}
		if (*slot != NULL)
			return fail(d, "slots[%zu].%s: given twice", i, m->string);
		*slot = m;
	}
	if (at == NULL)
		return fail(d, "slots[%zu].at: missing", i);
	if (!cJSON_IsString(at) || at->valuestring == NULL ||
	    !hhmm_parse(at->valuestring, &s->minute))
		return fail(d, "slots[%zu].at: %s is not HH:MM (00:00..23:59)", i,
			    describe(at, a, sizeof(a)));
	if (days == NULL)
		return fail(d, "slots[%zu].days: missing", i);
	if (days_parse(days, i, &s->days, d) != 0)
		return -1;
	s->enabled = true;
	if (enabled != NULL) {
		if (!cJSON_IsBool(enabled))
			return fail(d, "slots[%zu].enabled: %s is not true or false", i,
				    describe(enabled, a, sizeof(a)));
		s->enabled = cJSON_IsTrue(enabled);
	}
	return 0;
}

/* The slot list: 0..PROTO_PLAN_SLOTS_MAX slots, no two at the same time on
 * a common day (which one would the dose be for?). */
static int slots_parse(const cJSON *v, bool strict, struct proto_plan_slot *slots, size_t *n,
		       const struct detail *d)
{
	char a[64];
	size_t count = 0;

	*n = 0;
	if (!cJSON_IsArray(v))
		return fail(d, "slots: %s is not a list", describe(v, a, sizeof(a)));
	for (const cJSON *el = v->child; el != NULL; el = el->next)
		count++;
	if (count > PROTO_PLAN_SLOTS_MAX)
		return fail(d, "slots: %zu slots, at most %d", count, PROTO_PLAN_SLOTS_MAX);
	count = 0;
	for (const cJSON *el = v->child; el != NULL; el = el->next, count++) {
		if (slot_parse(el, count, strict, &slots[count], d) != 0)
			return -1;
		for (size_t k = 0; k < count; k++) {
			uint8_t common = slots[k].days & slots[count].days;

			if (slots[k].minute != slots[count].minute || common == 0)
				continue;
			int day = 0;

			while (!(common & (1u << day)))
				day++;
			return fail(d, "slots[%zu]: %02d:%02d on %s is also slots[%zu]", count,
				    slots[count].minute / 60, slots[count].minute % 60,
				    day_names[day], k);
		}
	}
	*n = count;
	return 0;
}

static cJSON *slots_add(cJSON *obj, const struct proto_plan_slot *slots, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "slots");

	if (arr == NULL || n > PROTO_PLAN_SLOTS_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct proto_plan_slot *s = &slots[i];
		char at[16];
		cJSON *item;

		if (s->minute < 0 || s->minute > 1439 || s->days == 0 ||
		    (s->days & ~PROTO_DAYS_DAILY) != 0)
			return NULL;
		item = cJSON_CreateObject();
		if (item == NULL)
			return NULL;
		if (!cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			return NULL;
		}
		snprintf(at, sizeof(at), "%02d:%02d", s->minute / 60, s->minute % 60);
		if (!cJSON_AddStringToObject(item, "at", at))
			return NULL;
		if (s->days == PROTO_DAYS_DAILY) {
			if (!cJSON_AddStringToObject(item, "days", "daily"))
				return NULL;
		} else {
			cJSON *days = cJSON_AddArrayToObject(item, "days");

			if (days == NULL)
				return NULL;
			for (int k = 0; k < 7; k++) {
				cJSON *name;

				if (!(s->days & (1u << k)))
					continue;
				name = cJSON_CreateString(day_names[k]);
				if (name == NULL || !cJSON_AddItemToArray(days, name)) {
					cJSON_Delete(name);
					return NULL;
				}
			}
		}
		if (!cJSON_AddBoolToObject(item, "enabled", s->enabled))
			return NULL;
	}
	return arr;
}

/* ---- the plan command's members ---------------------------------------------- */

/* The members a plan command may carry, in feeder/plan's order. */
enum {
	M_REV,
	M_SLOTS,
	M_MIN_INTERVAL,
	M_MAX_DAILY,
	M_GRACE,
	M_PAUSED,
	M_PAUSED_UNTIL,
	M_TREAT,
	M_PILLS,
	M_BOUNDS,
	M_CHANGED_BY,
	M_CHANGED_AT,
	M_COUNT
};
static const char *const member_names[M_COUNT] = {
    "rev",	    "slots", "min_interval_s", "max_daily", "grace_s",	  "paused",
    "paused_until", "treat", "pills",	       "bounds",    "changed_by", "changed_at"};

/* A member's integer in [lo, hi], or a detail naming it and the range. */
static int int_member(const cJSON *v, const char *name, int64_t lo, int64_t hi, int64_t *out,
		      const struct detail *d)
{
	char a[64];

	if (int_value(v, lo, hi, out))
		return 0;
	return fail(d, "%s: %s is not an integer %" PRId64 "..%" PRId64, name,
		    describe(v, a, sizeof(a)), lo, hi);
}

/*
 * A sub-object of the plan (treat, pills, bounds): its members by name,
 * each at most once and none unknown. found[i] is the member named
 * names[i] or NULL.
 */
static int sub_members(const cJSON *v, const char *what, const char *const *names, size_t count,
		       const cJSON **found, const struct detail *d)
{
	char a[64], n[48];

	if (!cJSON_IsObject(v))
		return fail(d, "%s: %s is not an object", what, describe(v, a, sizeof(a)));
	for (size_t i = 0; i < count; i++)
		found[i] = NULL;
	for (const cJSON *m = v->child; m != NULL; m = m->next) {
		size_t i = 0;

		while (i < count && strcmp(names[i], m->string) != 0)
			i++;
		if (i == count)
			return fail(d, "%s.%s: unknown member", what, name_text(m, n, sizeof(n)));
		if (found[i] != NULL)
			return fail(d, "%s.%s: given twice", what, names[i]);
		found[i] = m;
	}
	return 0;
}

static int patch_treat(const cJSON *v, struct proto_plan_patch *p, const struct detail *d)
{
	static const char *const names[] = {"max_daily", "min_interval_s"};
	const cJSON *f[2];
	int64_t x = 0;

	if (sub_members(v, "treat", names, 2, f, d) != 0)
		return -1;
	if (f[0] != NULL) {
		if (int_member(f[0], "treat.max_daily", 0, TREAT_MAX_DAILY_HI, &x, d) != 0)
			return -1;
		p->has_treat_max_daily = true;
		p->treat_max_daily = (int)x;
	}
	if (f[1] != NULL) {
		if (int_member(f[1], "treat.min_interval_s", 0, TREAT_MIN_INTERVAL_HI,
			       &p->treat_min_interval_s, d) != 0)
			return -1;
		p->has_treat_min_interval = true;
	}
	return 0;
}

static int patch_pills(const cJSON *v, struct proto_plan_patch *p, const struct detail *d)
{
	static const char *const names[] = {"remaining", "low_days"};
	const cJSON *f[2];
	char a[64];
	int64_t x = 0;

	if (sub_members(v, "pills", names, 2, f, d) != 0)
		return -1;
	if (f[0] != NULL) {
		if (cJSON_IsNull(f[0])) {
			p->pills_remaining = -1;
		} else if (!int_value(f[0], 0, PILLS_HI, &p->pills_remaining)) {
			return fail(d, "pills.remaining: %s is not null or an integer 0..%d",
				    describe(f[0], a, sizeof(a)), PILLS_HI);
		}
		p->has_pills_remaining = true;
	}
	if (f[1] != NULL) {
		if (int_member(f[1], "pills.low_days", 0, LOW_DAYS_HI, &x, d) != 0)
			return -1;
		p->has_low_days = true;
		p->low_days = (int)x;
	}
	return 0;
}

/* bounds is read-only and compared as a whole: both members, always. */
static int patch_bounds(const cJSON *v, struct proto_plan_patch *p, const struct detail *d)
{
	static const char *const names[] = {"min_interval_s", "max_daily"};
	const cJSON *f[2];
	int64_t x = 0;

	if (sub_members(v, "bounds", names, 2, f, d) != 0)
		return -1;
	if (f[0] == NULL)
		return fail(d, "bounds.min_interval_s: missing");
	if (f[1] == NULL)
		return fail(d, "bounds.max_daily: missing");
	if (int_member(f[0], "bounds.min_interval_s", MIN_INTERVAL_LO, MIN_INTERVAL_HI,
		       &p->bound_min_interval_s, d) != 0 ||
	    int_member(f[1], "bounds.max_daily", MAX_DAILY_LO, MAX_DAILY_HI, &x, d) != 0)
		return -1;
	p->has_bounds = true;
	p->bound_max_daily = (int)x;
	return 0;
}

static int patch_member(int k, const cJSON *v, struct proto_plan_patch *p, const struct detail *d)
{
	char a[64];
	int64_t x = 0;

	switch (k) {
	case M_REV:
		p->has_rev = true;
		return int_member(v, "rev", 1, PJ_INT_MAX, &p->rev, d);
	case M_SLOTS:
		p->has_slots = true;
		return slots_parse(v, true, p->slots, &p->n_slots, d);
	case M_MIN_INTERVAL:
		p->has_min_interval = true;
		return int_member(v, "min_interval_s", MIN_INTERVAL_LO, MIN_INTERVAL_HI,
				  &p->min_interval_s, d);
	case M_MAX_DAILY:
		p->has_max_daily = true;
		if (int_member(v, "max_daily", MAX_DAILY_LO, MAX_DAILY_HI, &x, d) != 0)
			return -1;
		p->max_daily = (int)x;
		return 0;
	case M_GRACE:
		p->has_grace = true;
		return int_member(v, "grace_s", 0, GRACE_HI, &p->grace_s, d);
	case M_PAUSED:
		if (!cJSON_IsBool(v))
			return fail(d, "paused: %s is not true or false",
				    describe(v, a, sizeof(a)));
		p->has_paused = true;
		p->paused = cJSON_IsTrue(v);
		return 0;
	case M_PAUSED_UNTIL:
		p->has_paused_until = true;
		if (cJSON_IsNull(v))
			return 0;
		if (!int_value(v, 1, PJ_INT_MAX, &p->paused_until_ms))
			return fail(d, "paused_until: %s is not null or a time in ms",
				    describe(v, a, sizeof(a)));
		return 0;
	case M_TREAT:
		return patch_treat(v, p, d);
	case M_PILLS:
		return patch_pills(v, p, d);
	case M_BOUNDS:
		return patch_bounds(v, p, d);
	case M_CHANGED_BY:
		if (!cJSON_IsString(v) || v->valuestring == NULL ||
		    strlen(v->valuestring) > PROTO_BY_MAX || !proto_by_valid(v->valuestring))
			return fail(d, "changed_by: %s is not text of at most %d bytes",
				    describe(v, a, sizeof(a)), PROTO_BY_MAX);
		p->has_changed_by = true;
		memcpy(p->changed_by, v->valuestring, strlen(v->valuestring) + 1);
		return 0;
	default: /* M_CHANGED_AT */
		p->has_changed_at = true;
		if (!int_value(v, 0, PJ_INT_MAX, &p->changed_at_ms))
			return fail(d, "changed_at: %s is not a time in ms",
				    describe(v, a, sizeof(a)));
		return 0;
	}
}

static int plan_patch_decode(const cJSON *plan, struct proto_plan_patch *p, const struct detail *dp)
{
	const struct detail d = *dp;
	bool seen[M_COUNT] = {false};
	char a[64], n[48];

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(plan))
		return fail(&d, "plan: %s is not an object", describe(plan, a, sizeof(a)));
	for (const cJSON *m = plan->child; m != NULL; m = m->next) {
		int k = 0;

		while (k < M_COUNT && strcmp(member_names[k], m->string) != 0)
			k++;
		if (k == M_COUNT)
			return fail(&d, "%s: unknown member", name_text(m, n, sizeof(n)));
		if (seen[k])
			return fail(&d, "%s: given twice", member_names[k]);
		seen[k] = true;
		if (patch_member(k, m, p, &d) != 0)
			return -1;
	}
	return 0;
}

/* The patch as the plan member of a command: what was given, nothing more. */
static cJSON *plan_patch_add(cJSON *obj, const struct proto_plan_patch *p)
{
	cJSON *plan = cJSON_AddObjectToObject(obj, "plan");
	cJSON *sub;

	if (plan == NULL)
		return NULL;
	if ((p->has_rev && !pj_add_int(plan, "rev", p->rev)) ||
	    (p->has_slots && !slots_add(plan, p->slots, p->n_slots)) ||
	    (p->has_min_interval && !pj_add_int(plan, "min_interval_s", p->min_interval_s)) ||
	    (p->has_max_daily && !pj_add_int(plan, "max_daily", p->max_daily)) ||
	    (p->has_grace && !pj_add_int(plan, "grace_s", p->grace_s)) ||
	    (p->has_paused && !cJSON_AddBoolToObject(plan, "paused", p->paused)))
		return NULL;
	if (p->has_paused_until &&
	    !(p->paused_until_ms == 0 ? cJSON_AddNullToObject(plan, "paused_until")
				      : pj_add_int(plan, "paused_until", p->paused_until_ms)))
		return NULL;
	if (p->has_treat_max_daily || p->has_treat_min_interval) {
		if ((sub = cJSON_AddObjectToObject(plan, "treat")) == NULL ||
		    (p->has_treat_max_daily && !pj_add_int(sub, "max_daily", p->treat_max_daily)) ||
		    (p->has_treat_min_interval &&
		     !pj_add_int(sub, "min_interval_s", p->treat_min_interval_s)))
			return NULL;
	}
	if (p->has_pills_remaining || p->has_low_days) {
		if ((sub = cJSON_AddObjectToObject(plan, "pills")) == NULL)
			return NULL;
		if (p->has_pills_remaining &&
		    !(p->pills_remaining < 0 ? cJSON_AddNullToObject(sub, "remaining")
					     : pj_add_int(sub, "remaining", p->pills_remaining)))
			return NULL;
		if (p->has_low_days && !pj_add_int(sub, "low_days", p->low_days))
			return NULL;
	}
	if (p->has_bounds && ((sub = cJSON_AddObjectToObject(plan, "bounds")) == NULL ||
			      !pj_add_int(sub, "min_interval_s", p->bound_min_interval_s) ||
			      !pj_add_int(sub, "max_daily", p->bound_max_daily)))
		return NULL;
	if ((p->has_changed_by && !cJSON_AddStringToObject(plan, "changed_by", p->changed_by)) ||
	    (p->has_changed_at && !pj_add_int(plan, "changed_at", p->changed_at_ms)))
		return NULL;
	return plan;
}

/* ---- the other commands' members ------------------------------------------- */

static const struct pj_field F_PLAN = PJ_FIELD("plan");
static const struct pj_field F_UNTIL = PJ_FIELD("until");

int proto__action_members(const cJSON *root, struct proto_feeder_cmd *out, const char **reason)
{
	const struct detail d = {out->detail, sizeof(out->detail)};
	const cJSON *item;
	char a[64];
	int rc;

	switch (out->action) {
	case PROTO_ACTION_PLAN:
		rc = pj_member(root, &F_PLAN, &item, reason);
		if (rc <= 0) {
			if (rc == 0)
				*reason = F_PLAN.missing;
			return -1;
		}
		if (plan_patch_decode(item, &out->plan, &d) != 0) {
			*reason = PROTO_REASON_BAD_PLAN;
			return -1;
		}
		return 0;
	case PROTO_ACTION_SKIP:
		rc = pj_member(root, &F_SLOT, &item, reason);
		if (rc <= 0)
			return rc;
		if (!cJSON_IsString(item) || item->valuestring == NULL ||
		    !proto_slot_id_valid(item->valuestring)) {
			*reason = F_SLOT.bad;
			return fail(&d, "slot: %s is not a slot (YYYY-MM-DDTHH:MM, local time)",
				    describe(item, a, sizeof(a)));
		}
		memcpy(out->slot, item->valuestring, PROTO_SLOT_ID_MAX + 1);
		return 0;
	case PROTO_ACTION_PAUSE:
		rc = pj_member(root, &F_UNTIL, &item, reason);
		if (rc <= 0)
			return rc;
		/* 0 would mean "until resume": leave "until" out for that. */
		if (!int_value(item, 1, PJ_INT_MAX, &out->until_ms)) {
			*reason = F_UNTIL.bad;
			return fail(&d, "until: %s is not a time in ms",
				    describe(item, a, sizeof(a)));
		}
		return 0;
	case PROTO_ACTION_REFILL:
		rc = pj_member(root, &F_PILLS, &item, reason);
		if (rc <= 0) {
			if (rc == 0)
				*reason = F_PILLS.missing;
			return -1;
		}
		if (!int_value(item, 0, PILLS_HI, &out->pills)) {
			*reason = F_PILLS.bad;
			return fail(&d, "pills: %s is not an integer 0..%d",
				    describe(item, a, sizeof(a)), PILLS_HI);
		}
		return 0;
	default:
		return 0;
	}
}

cJSON *proto__action_members_add(cJSON *obj, const struct proto_feeder_cmd *cmd)
{
	switch (cmd->action) {
	case PROTO_ACTION_PLAN:
		return plan_patch_add(obj, &cmd->plan);
	case PROTO_ACTION_SKIP:
		return cmd->slot[0] == '\0' ? obj : cJSON_AddStringToObject(obj, "slot", cmd->slot);
	case PROTO_ACTION_PAUSE:
		return cmd->until_ms == 0 ? obj : pj_add_int(obj, "until", cmd->until_ms);
	case PROTO_ACTION_REFILL:
		return pj_add_int(obj, "pills", cmd->pills);
	default:
		return obj;
	}
}

/* ---- feeder/plan --------------------------------------------------------------- */

char *proto_plan_encode(const struct proto_plan *p)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *sub;

	if (obj == NULL)
		return NULL;
	if (!pj_add_int(obj, "rev", p->rev) || !slots_add(obj, p->slots, p->n_slots) ||
	    !pj_add_int(obj, "min_interval_s", p->min_interval_s) ||
	    !pj_add_int(obj, "max_daily", p->max_daily) ||
	    !pj_add_int(obj, "grace_s", p->grace_s) ||
	    !cJSON_AddBoolToObject(obj, "paused", p->paused))
		goto fail;
	if (!(p->paused && p->paused_until_ms != 0
		  ? pj_add_int(obj, "paused_until", p->paused_until_ms)
		  : cJSON_AddNullToObject(obj, "paused_until")))
		goto fail;
	if ((sub = cJSON_AddObjectToObject(obj, "treat")) == NULL ||
	    !pj_add_int(sub, "max_daily", p->treat_max_daily) ||
	    !pj_add_int(sub, "min_interval_s", p->treat_min_interval_s))
		goto fail;
	if ((sub = cJSON_AddObjectToObject(obj, "pills")) == NULL ||
	    !(p->has_pills ? pj_add_int(sub, "remaining", p->pills_remaining)
			   : cJSON_AddNullToObject(sub, "remaining")) ||
	    !pj_add_int(sub, "low_days", p->low_days))
		goto fail;
	if ((sub = cJSON_AddObjectToObject(obj, "bounds")) == NULL ||
	    !pj_add_int(sub, "min_interval_s", p->bound_min_interval_s) ||
	    !pj_add_int(sub, "max_daily", p->bound_max_daily) ||
	    !cJSON_AddStringToObject(obj, "changed_by", p->changed_by) ||
	    !pj_add_int(obj, "changed_at", p->changed_at_ms))
		goto fail;
	return pj_finish(obj);
fail:
	cJSON_Delete(obj);
	return NULL;
}

/* A required integer member in [lo, hi]: missing_<f>, bad_<f> or duplicate_<f>. */
static int range_member(const cJSON *obj, const struct pj_field *f, int64_t lo, int64_t hi,
			int64_t *out, const char **reason)
{
	const cJSON *item;
	int rc = pj_member(obj, f, &item, reason);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		*reason = f->missing;
		return -1;
	}
	if (!int_value(item, lo, hi, out)) {
		*reason = f->bad;
		return -1;
	}
	return 0;
}

/* A required sub-object of feeder/plan whose every problem is one reason:
 * missing_<f> when absent, bad_<f> for anything wrong inside it. */
static int sub_object(const cJSON *obj, const struct pj_field *f, const cJSON **item,
		      const char **reason)
{
	int rc = pj_member(obj, f, item, reason);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		*reason = f->missing;
		return -1;
	}
	if (!cJSON_IsObject(*item)) {
		*reason = f->bad;
		return -1;
	}
	return 0;
}

/* Two integer members of a sub-object, each required: any problem is bad. */
static int sub_ints(const cJSON *sub, const char *bad, const char *n1, int64_t lo1, int64_t hi1,
		    int64_t *v1, const char *n2, int64_t lo2, int64_t hi2, int64_t *v2,
		    const char **reason)
{
	const struct pj_field f1 = {n1, bad, bad, bad}, f2 = {n2, bad, bad, bad};

	return range_member(sub, &f1, lo1, hi1, v1, reason) != 0 ||
		       range_member(sub, &f2, lo2, hi2, v2, reason) != 0
		   ? -1
		   : 0;
}

int proto_plan_decode(const void *payload, size_t len, struct proto_plan *out, const char **reason)
{
	const struct detail none = {NULL, 0};
	const char *dummy;
	const cJSON *item, *sub;
	cJSON *root;
	int64_t x, y;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (range_member(root, &F_REV, 1, PJ_INT_MAX, &out->rev, reason) != 0)
		goto out;
	switch (pj_member(root, &F_SLOTS, &item, reason)) {
	case -1:
		goto out;
	case 0:
		*reason = F_SLOTS.missing;
		goto out;
	default:
		if (slots_parse(item, false, out->slots, &out->n_slots, &none) != 0) {
			*reason = F_SLOTS.bad;
			goto out;
		}
	}
	if (range_member(root, &F_MIN_INTERVAL, MIN_INTERVAL_LO, MIN_INTERVAL_HI,
			 &out->min_interval_s, reason) != 0 ||
	    range_member(root, &F_MAX_DAILY, MAX_DAILY_LO, MAX_DAILY_HI, &x, reason) != 0 ||
	    range_member(root, &F_GRACE, 0, GRACE_HI, &out->grace_s, reason) != 0)
		goto out;
	out->max_daily = (int)x;
	switch (pj_member(root, &F_PAUSED, &item, reason)) {
	case -1:
		goto out;
	case 0:
		*reason = F_PAUSED.missing;
		goto out;
	default:
		if (!cJSON_IsBool(item)) {
			*reason = F_PAUSED.bad;
			goto out;
		}
		out->paused = cJSON_IsTrue(item);
	}
	switch (pj_member(root, &F_PAUSED_UNTIL, &item, reason)) {
	case -1:
		goto out;
	case 0:
		*reason = F_PAUSED_UNTIL.missing;
		goto out;
	default:
		/* Only a pause has an end; 0 would read as "until resume". */
		if (!cJSON_IsNull(item) &&
		    (!out->paused || !int_value(item, 1, PJ_INT_MAX, &out->paused_until_ms))) {
			*reason = F_PAUSED_UNTIL.bad;
			goto out;
		}
	}
	if (sub_object(root, &F_TREAT, &sub, reason) != 0 ||
	    sub_ints(sub, F_TREAT.bad, "max_daily", 0, TREAT_MAX_DAILY_HI, &x, "min_interval_s", 0,
		     TREAT_MIN_INTERVAL_HI, &out->treat_min_interval_s, reason) != 0)
		goto out;
	out->treat_max_daily = (int)x;
	if (sub_object(root, &F_PILLS, &sub, reason) != 0)
		goto out;
	{
		const struct pj_field remaining = {"remaining", F_PILLS.bad, F_PILLS.bad,
						   F_PILLS.bad};
		const struct pj_field low = {"low_days", F_PILLS.bad, F_PILLS.bad, F_PILLS.bad};

		if (pj_member(sub, &remaining, &item, reason) != 1 ||
		    (!cJSON_IsNull(item) && !int_value(item, 0, PILLS_HI, &out->pills_remaining))) {
			*reason = F_PILLS.bad;
			goto out;
		}
		out->has_pills = !cJSON_IsNull(item);
		if (range_member(sub, &low, 0, LOW_DAYS_HI, &x, reason) != 0)
			goto out;
		out->low_days = (int)x;
	}
	if (sub_object(root, &F_BOUNDS, &sub, reason) != 0 ||
	    sub_ints(sub, F_BOUNDS.bad, "min_interval_s", MIN_INTERVAL_LO, MIN_INTERVAL_HI,
		     &out->bound_min_interval_s, "max_daily", MAX_DAILY_LO, MAX_DAILY_HI, &y,
		     reason) != 0)
		goto out;
	out->bound_max_daily = (int)y;
	if (pj_string(root, &F_CHANGED_BY, true, out->changed_by, sizeof(out->changed_by),
		      proto_by_valid, reason) < 0 ||
	    pj_ms(root, &F_CHANGED_AT, true, false, &out->changed_at_ms, reason) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- feeder/schedule ------------------------------------------------------------ */

char *proto_schedule_encode(const struct proto_schedule *s)
{
	cJSON *obj, *arr;

	if (s->n > PROTO_SCHEDULE_MAX || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "date", s->date) ||
	    (arr = cJSON_AddArrayToObject(obj, "slots")) == NULL)
		goto fail;
	for (size_t i = 0; i < s->n; i++) {
		const struct proto_schedule_slot *sl = &s->slots[i];
		const char *status = proto_slot_status_name(sl->status);
		cJSON *item;

		if (status == NULL || (item = cJSON_CreateObject()) == NULL)
			goto fail;
		if (!cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			goto fail;
		}
		if (!cJSON_AddStringToObject(item, "slot", sl->slot) ||
		    !pj_add_int(item, "at", sl->at_ms) ||
		    !cJSON_AddStringToObject(item, "status", status) ||
		    !(sl->dose[0] != '\0' ? cJSON_AddStringToObject(item, "dose", sl->dose)
					  : cJSON_AddNullToObject(item, "dose")))
			goto fail;
	}
	if (!pj_add_int(obj, "ts", s->ts_ms))
		goto fail;
	return pj_finish(obj);
fail:
	cJSON_Delete(obj);
	return NULL;
}

int proto_schedule_decode(const void *payload, size_t len, struct proto_schedule *out,
			  const char **reason)
{
	const char *dummy;
	const cJSON *arr;
	cJSON *root;
	int rc = -1;

	if (reason == NULL)
		reason = &dummy;
	memset(out, 0, sizeof(*out));
	if (pj_decode_begin(payload, len, PROTO_MAX_PAYLOAD, NULL, 0, &root, reason) < 0)
		return -1;
	if (pj_string(root, &F_DATE, true, out->date, sizeof(out->date), date_valid, reason) < 0)
		goto out;
	if (pj_array(root, &F_SLOTS, PROTO_SCHEDULE_MAX, &arr, reason) < 0)
		goto out;
	for (const cJSON *el = arr->child; el != NULL; el = el->next) {
		struct proto_schedule_slot *sl = &out->slots[out->n];
		char status[16];
		const cJSON *dose;

		if (!cJSON_IsObject(el)) {
			*reason = F_SLOTS.bad;
			goto out;
		}
		if (pj_string(el, &F_SLOT, true, sl->slot, sizeof(sl->slot), proto_slot_id_valid,
			      reason) < 0 ||
		    pj_ms(el, &F_AT, true, false, &sl->at_ms, reason) < 0 ||
		    pj_string(el, &F_STATUS, true, status, sizeof(status), NULL, reason) < 0)
			goto out;
		if (proto_slot_status_parse(status, &sl->status) != 0) {
			*reason = F_STATUS.bad;
			goto out;
		}
		switch (pj_member(el, &F_DOSE, &dose, reason)) {
		case -1:
			goto out;
		case 0:
			*reason = F_DOSE.missing;
			goto out;
		default:
			if (!cJSON_IsNull(dose) &&
			    pj_string(el, &F_DOSE, true, sl->dose, sizeof(sl->dose), proto_id_valid,
				      reason) < 0)
				goto out;
		}
		out->n++;
	}
	if (pj_ms(root, &F_TS, true, false, &out->ts_ms, reason) < 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		out->n = 0;
	cJSON_Delete(root);
	return rc;
}
