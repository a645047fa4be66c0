// The care plan as the dashboard reads and edits it: feeder/plan and
// feeder/schedule normalised, and a plan command's members computed from an
// edit. Pure (no DOM), so Node's test runner imports it directly. The rules
// (ranges, the vet's bounds, overlapping slots) are the feeder's: the page
// only keeps its inputs inside the bounds it shows and sends what changed,
// the feeder decides and answers.

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

export const SLOT_STATUS = ["pending", "given", "late", "skipped", "paused", "missed", "failed", "uncertain"];
const STATUS_TEXT = {
  pending: "Pending",
  given: "Given",
  late: "Given late",
  skipped: "Skipped",
  paused: "Paused",
  missed: "Missed",
  failed: "Failed",
  uncertain: "Uncertain",
};

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function int(v) {
  return Number.isInteger(v) ? v : null;
}

// "daily", or the listed days in week order; null when not a day list.
export function normDays(days) {
  if (days === "daily") return "daily";
  if (!Array.isArray(days) || !days.length || days.some((d) => !DAYS.includes(d))) return null;
  const set = new Set(days);
  if (set.size === DAYS.length) return "daily";
  return DAYS.filter((d) => set.has(d));
}

function normSlot(s) {
  if (!isObject(s) || typeof s.at !== "string" || !/^([01]\d|2[0-3]):[0-5]\d$/.test(s.at)) return null;
  const days = normDays(s.days);
  if (!days) return null;
  return { at: s.at, days, enabled: s.enabled !== false };
}

// feeder/plan's payload, or null when it is not one.
export function planFromPayload(p) {
  if (!isObject(p) || int(p.rev) === null || !Array.isArray(p.slots)) return null;
  const slots = p.slots.map(normSlot);
  if (slots.includes(null)) return null;
  const treat = isObject(p.treat) ? p.treat : {};
  const pills = isObject(p.pills) ? p.pills : {};
  const bounds = isObject(p.bounds) ? p.bounds : {};
  return {
    rev: p.rev,
    slots,
    minIntervalS: int(p.min_interval_s),
    maxDaily: int(p.max_daily),
    graceS: int(p.grace_s),
    paused: p.paused === true,
    pausedUntil: int(p.paused_until),
    treat: { maxDaily: int(treat.max_daily), minIntervalS: int(treat.min_interval_s) },
    pills: { remaining: int(pills.remaining), lowDays: int(pills.low_days) },
    bounds: { minIntervalS: int(bounds.min_interval_s), maxDaily: int(bounds.max_daily) },
    changedBy: typeof p.changed_by === "string" ? p.changed_by : "",
    changedAt: int(p.changed_at),
  };
}

// feeder/schedule's payload: {date, slots: [{slot, at, status, dose}]}, or null.
export function scheduleFromPayload(p) {
  if (!isObject(p) || !Array.isArray(p.slots)) return null;
  const slots = p.slots
    .filter((s) => isObject(s) && typeof s.slot === "string" && int(s.at) !== null)
    .map((s) => ({
      slot: s.slot,
      at: s.at,
      status: SLOT_STATUS.includes(s.status) ? s.status : "unknown",
      dose: typeof s.dose === "string" ? s.dose : null,
    }));
  return { date: typeof p.date === "string" ? p.date : "", slots, ts: int(p.ts) };
}

export function statusText(status) {
  return STATUS_TEXT[status] || "Unknown";
}

// The first slot still pending (what "skip next" skips), or null.
export function nextPending(schedule) {
  if (!schedule) return null;
  return schedule.slots.find((s) => s.status === "pending") || null;
}

// "Daily", "Mon–Fri", "Mon, Wed, Sat".
export function daysText(days) {
  if (days === "daily") return "Daily";
  const idx = days.map((d) => DAYS.indexOf(d));
  const run = idx.length > 2 && idx.every((v, i) => i === 0 || v === idx[i - 1] + 1);
  if (run) return `${DAY_NAMES[days[0]]}–${DAY_NAMES[days[days.length - 1]]}`;
  return days.map((d) => DAY_NAMES[d]).join(", ");
}

function slotKey(s) {
  return JSON.stringify([s.at, s.days, s.enabled]);
}

// The members of a plan command for an edit of `plan` into `edited`
// ({slots, minIntervalS, maxDaily}): only what changed, plus the rev it was
// made from (so a concurrent change is refused plan_changed, not
// overwritten). null when nothing changed. Slots are sent whole (the
// feeder replaces the list), days as "daily" or a list, enabled only when
// false.
export function planPatch(plan, edited) {
  const out = {};
  const slots = edited.slots.map((s) => ({ at: s.at, days: normDays(s.days), enabled: s.enabled !== false }));
  const same =
    slots.length === plan.slots.length && slots.every((s, i) => slotKey(s) === slotKey(plan.slots[i]));
  if (!same) {
    out.slots = slots.map((s) => (s.enabled ? { at: s.at, days: s.days } : { at: s.at, days: s.days, enabled: false }));
  }
  if (edited.minIntervalS !== plan.minIntervalS) out.min_interval_s = edited.minIntervalS;
  if (edited.maxDaily !== plan.maxDaily) out.max_daily = edited.maxDaily;
  if (!Object.keys(out).length) return null;
  return { rev: plan.rev, ...out };
}

// An interval in seconds as "6 h", "4 h 30 min", "45 min".
export function intervalText(s) {
  if (s === null || s === undefined) return "–";
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  if (h && m) return `${h} h ${m} min`;
  if (h) return `${h} h`;
  return `${m} min`;
}
