// The bridge's records over HTTP (issue 13): chart ranges, the dose history,
// the motion timeline and the vet's report. Pure: URL building, range maths
// and response -> rows, tested under Node (tests/browser/records-unit.test.mjs);
// fetchRecords takes the fetch to use. The contract: /api/history,
// /api/doses(.csv), /api/events, /api/report in proto/README.md.

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

// The chart ranges. 1 h is the websocket's own history (live, no fetch).
export const RANGES = [
  { id: "1h", ms: HOUR, label: "1 h", words: "the last hour" },
  { id: "24h", ms: DAY, label: "24 h", words: "the last 24 hours" },
  { id: "7d", ms: 7 * DAY, label: "7 d", words: "the last 7 days" },
  { id: "30d", ms: 30 * DAY, label: "30 d", words: "the last 30 days" },
];
export const LIVE_RANGE = "1h";
export const MAX_POINTS = 50000; // the bridge's bound on points
export const DOSE_PAGE = 20; // doses per page of the dose history
export const DOSE_SPAN_MS = 365 * DAY; // how far back a page looks (the bridge allows 400 d)
export const EVENT_LIMIT = 200; // motion events per range
export const REPORT_DAYS = [30, 90];

export function rangeById(id) {
  return RANGES.find((r) => r.id === id) || null;
}

// [from, to) of a range ending now (to exclusive: now + 1 keeps a reading
// stamped now).
export function rangeWindow(id, nowMs) {
  const r = rangeById(id);
  if (!r) throw new RangeError(`unknown range ${JSON.stringify(id)}`);
  const to = Math.floor(nowMs) + 1;
  return { from: to - r.ms, to };
}

// The chart's width in px as the bridge's points (1..50000, 600 when unknown).
export function pointsFor(widthPx) {
  const n = Math.round(Number(widthPx));
  if (!Number.isFinite(n) || n < 1) return 600;
  return Math.min(n, MAX_POINTS);
}

function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// Relative to the page (the bridge may sit under a path prefix).
export function historyUrl(topic, rangeId, nowMs, widthPx) {
  const { from, to } = rangeWindow(rangeId, nowMs);
  return query("api/history", { topic, from, to, points: pointsFor(widthPx) });
}

export function dosesUrl({ from, to, limit = DOSE_PAGE }) {
  return query("api/doses", { from, to, limit });
}

export function dosesCsvUrl({ from, to }) {
  return query("api/doses.csv", { from, to });
}

export function eventsUrl(kind, rangeId, nowMs, limit = EVENT_LIMIT) {
  const { from, to } = rangeWindow(rangeId, nowMs);
  return query("api/events", { kind, from, to, limit });
}

export function reportUrl(days) {
  const d = Number(days);
  if (!REPORT_DAYS.includes(d)) throw new RangeError(`report days: ${JSON.stringify(days)} (30 or 90)`);
  return query("api/report", { days: d });
}

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v) => (typeof v === "string" ? v : "");

// Only the bridge's own image URLs are used as <img src>.
const IMAGE_RE = /^\/api\/(snapshots|events)\/[A-Za-z0-9._:-]{1,128}\.jpg$/;
export function imageUrl(v) {
  return typeof v === "string" && IMAGE_RE.test(v) ? v.slice(1) : null;
}

function bad(what) {
  return new TypeError(`the bridge's answer is not ${what}`);
}

// ---------- history ----------

// {"topic","from","to","bucket_ms","points":[[ts,value,min,max]]} ->
// {from, to, bucketMs, points: [[ts, mean, min, max]]} in time order; rows
// without a numeric ts and mean are dropped (min/max default to the mean,
// and always enclose it).
export function parseHistory(json) {
  if (!json || typeof json !== "object" || !Array.isArray(json.points)) throw bad("a history");
  const points = [];
  for (const p of json.points) {
    if (!Array.isArray(p) || num(p[0]) === null || num(p[1]) === null) continue;
    const mean = p[1];
    const a = num(p[2]) ?? mean;
    const b = num(p[3]) ?? mean;
    points.push([p[0], mean, Math.min(a, b, mean), Math.max(a, b, mean)]);
  }
  points.sort((a, b) => a[0] - b[0]);
  return { from: num(json.from), to: num(json.to), bucketMs: num(json.bucket_ms) || 0, points };
}

// A live reading appended to a fetched history while it is shown: a point of
// its own after the last bucket (mean = min = max); an older one is ignored.
// Points older than the range's start (now - rangeMs) are dropped.
export function appendLive(hist, ts, value, rangeMs) {
  if (num(ts) === null || num(value) === null) return false;
  const pts = hist.points;
  const last = pts.length ? pts[pts.length - 1][0] : -Infinity;
  if (ts <= last) return false;
  pts.push([ts, value, value, value]);
  const cutoff = ts - rangeMs;
  let drop = 0;
  while (drop < pts.length && pts[drop][0] < cutoff) drop++;
  if (drop) pts.splice(0, drop);
  return true;
}

// uPlot columns (x in seconds): [xs, mean, min, max]. A gap wider than
// three buckets (and 10 min) gets a null, so the line breaks where the
// store has nothing rather than drawing across it.
export function historyColumns(hist) {
  const xs = [];
  const mean = [];
  const lo = [];
  const hi = [];
  const gap = Math.max(3 * (hist.bucketMs || 0), 10 * 60 * 1000);
  let prev = null;
  for (const [ts, v, mn, mx] of hist.points) {
    if (prev !== null && ts - prev > gap) {
      xs.push((prev + ts) / 2000);
      mean.push(null);
      lo.push(null);
      hi.push(null);
    }
    xs.push(ts / 1000);
    mean.push(v);
    lo.push(mn);
    hi.push(mx);
    prev = ts;
  }
  return [xs, mean, lo, hi];
}

// ---------- doses ----------

const OUTCOMES = {
  ok: "Given",
  failed: "Failed",
  uncertain: "Uncertain",
  rejected: "Refused",
};

export function outcomeText(outcome) {
  return OUTCOMES[outcome] || (outcome ? outcome.replace(/_/g, " ") : "Unknown");
}

export function verifiedText(verified, deltaG) {
  if (verified === true) {
    return num(deltaG) !== null ? `Seen in the bowl (+${deltaG.toFixed(1)} g)` : "Seen in the bowl";
  }
  if (verified === false) return "Not seen in the bowl";
  return "Not verified";
}

// A slot key ("2026-12-01T07:00", the feeder's local time) as "07:00 slot".
export function slotText(slot) {
  const m = /^\d{4}-\d{2}-\d{2}T(\d{2}:\d{2})$/.exec(slot || "");
  return m ? `${m[1]} slot` : slot ? `slot ${slot}` : "";
}

// Who gave it: the source, the slot, and the person unless it was the
// schedule itself.
export function whoText(d) {
  const by = d.by && !(d.source === "schedule" && d.by === "schedule") ? `by ${d.by}` : "";
  return [sourceText(d.source), slotText(d.slot), by].filter(Boolean).join(" · ");
}

export function sourceText(source) {
  if (source === "schedule") return "Scheduled";
  if (source === "manual") return "Manual";
  return source ? source[0].toUpperCase() + source.slice(1) : "Dose";
}

// {"doses":[…],"truncated"} -> {doses: rows newest first, truncated}.
export function parseDoses(json) {
  if (!json || typeof json !== "object" || !Array.isArray(json.doses)) throw bad("a dose list");
  const doses = [];
  for (const d of json.doses) {
    if (!d || typeof d !== "object" || num(d.ts) === null) continue;
    const verified = d.verified === true ? true : d.verified === false ? false : null;
    doses.push({
      id: str(d.id),
      ts: d.ts,
      by: str(d.by),
      source: str(d.source),
      slot: str(d.slot),
      outcome: str(d.outcome),
      reason: str(d.reason),
      verified,
      deltaG: num(d.delta_g),
      snapshot: imageUrl(d.snapshot),
      outcomeText: outcomeText(str(d.outcome)),
      verifiedText: verifiedText(verified, num(d.delta_g)),
      sourceText: sourceText(str(d.source)),
    });
    doses[doses.length - 1].whoText = whoText(doses[doses.length - 1]);
  }
  doses.sort((a, b) => b.ts - a.ts);
  return { doses, truncated: json.truncated === true };
}

// The dose history's pages: each is [from, to) with to the previous page's
// oldest dose (to is exclusive, so that dose is not shown twice).
export function firstDosePage(nowMs) {
  const to = Math.floor(nowMs) + 1;
  return { from: to - DOSE_SPAN_MS, to };
}

// The page of older doses after a page that showed `doses` (newest first),
// or null when there is none (fewer than a page came and nothing was cut).
export function olderDosePage(page, result, limit = DOSE_PAGE) {
  const n = result.doses.length;
  if (!n || (!result.truncated && n < limit)) return null;
  const to = result.doses[n - 1].ts;
  return { from: to - DOSE_SPAN_MS, to };
}

// What "Download CSV" covers for a page: from its oldest dose shown (or the
// page's start when it showed none) to the page's end.
export function shownRange(page, result) {
  const n = result.doses.length;
  return { from: n ? result.doses[n - 1].ts : page.from, to: page.to };
}

// ---------- events ----------

export function parseEvents(json) {
  if (!json || typeof json !== "object" || !Array.isArray(json.events)) throw bad("an event list");
  const events = [];
  for (const e of json.events) {
    if (!e || typeof e !== "object" || num(e.ts) === null) continue;
    const end = num(e.end);
    events.push({
      id: e.id === undefined || e.id === null ? "" : String(e.id),
      kind: str(e.kind),
      ts: e.ts,
      end: end !== null && end >= e.ts ? end : null,
      score: num(e.score),
      thumbnail: imageUrl(e.thumbnail),
    });
  }
  events.sort((a, b) => b.ts - a.ts);
  return { events, truncated: json.truncated === true };
}

// "for 42 s", "for 3 min"; "" while it has no end.
export function eventLength(e) {
  if (e.end === null) return "";
  const s = Math.round((e.end - e.ts) / 1000);
  if (s < 60) return `for ${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `for ${m} min` : `for ${Math.floor(m / 60)} h ${m % 60} min`;
}

// ---------- the report ----------

export const DAY_COLUMNS = [
  ["planned", "Planned"],
  ["given", "Given"],
  ["late", "Late"],
  ["missed", "Missed"],
  ["uncertain", "Uncertain"],
  ["failed", "Failed"],
  ["verified", "Verified"],
];

// "served" (a manual dose just before the slot served it) is counted in
// planned and taken; its column shows only when some slot was served, so
// the columns still add up to planned.
const SERVED = ["served", "Served"];

function counts(o) {
  const out = {};
  for (const [k] of [...DAY_COLUMNS, SERVED]) out[k] = num(o && o[k]) ?? 0;
  return out;
}

export function reportColumns(rep) {
  if (!rep.totals.served) return DAY_COLUMNS;
  const i = DAY_COLUMNS.findIndex(([k]) => k === "late") + 1;
  return [...DAY_COLUMNS.slice(0, i), SERVED, ...DAY_COLUMNS.slice(i)];
}

function adherence(a) {
  if (!a || typeof a !== "object") return null;
  const fraction = num(a.fraction);
  return {
    days: num(a.days),
    from: str(a.from),
    planned: num(a.planned) ?? 0,
    taken: num(a.taken) ?? 0,
    fraction: fraction === null ? null : Math.min(Math.max(fraction, 0), 1),
  };
}

// "93 % (28 of 30 planned doses)", "No doses planned".
export function adherenceText(a) {
  if (!a) return "Not known";
  if (a.fraction === null || a.planned === 0) return "No doses planned";
  const pct = Math.round(a.fraction * 1000) / 10;
  return `${pct} % (${a.taken} of ${a.planned} planned doses taken)`;
}

export function parseReport(json) {
  if (!json || typeof json !== "object" || !Array.isArray(json.days)) throw bad("a report");
  const days = json.days
    .filter((d) => d && typeof d === "object" && typeof d.date === "string")
    .map((d) => ({ date: d.date, start: num(d.start), ...counts(d) }));
  const changes = Array.isArray(json.plan_changes)
    ? json.plan_changes
        .filter((c) => c && typeof c === "object" && num(c.ts) !== null)
        .map((c) => ({ ts: c.ts, rev: num(c.rev), by: str(c.by), summary: str(c.summary) }))
    : [];
  return {
    ts: num(json.ts),
    from: str(json.from),
    to: str(json.to),
    nDays: num(json.n_days) ?? days.length,
    days,
    totals: counts(json.totals),
    adherence30: adherence(json.adherence_30),
    adherence90: adherence(json.adherence_90),
    planChanges: changes,
  };
}

// "2026-12-01" as the browser's locale writes it ("Tue 1 Dec 2026"); the
// date is a calendar day, so it is read at noon UTC and shown in UTC.
// short: without the year ("Tue, 1 Dec"), for the report's rows.
export function dateText(date, locale = undefined, short = false) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return date;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12));
  return d.toLocaleDateString(locale, {
    weekday: "short",
    day: "numeric",
    month: "short",
    ...(short ? {} : { year: "numeric" }),
    timeZone: "UTC",
  });
}

// ---------- errors ----------

const REASONS = {
  records_unavailable: "Records unavailable: the bridge could not open its records store.",
  not_authorized: "Not logged in: log in on the dashboard to see the records.",
  not_found: "Nothing recorded for this (not found).",
  bad_range: "The bridge refused the time range.",
};

// The words for a failed answer (status 0: no answer at all).
export function errorText(status, body) {
  const reason = body && typeof body === "object" ? str(body.error) : "";
  const detail = body && typeof body === "object" ? str(body.detail) : "";
  if (status === 0) return "Cannot reach the bridge: check the connection and try again.";
  let text = REASONS[reason];
  if (!text) {
    if (status === 503) text = REASONS.records_unavailable;
    else if (status === 401) text = REASONS.not_authorized;
    else if (status === 404) text = REASONS.not_found;
    else text = `The bridge refused the request (HTTP ${status}${reason ? `, ${reason}` : ""}).`;
  }
  return detail ? `${text} ${detail}` : text;
}

// GET url as JSON with the session cookie -> {ok: true, data} or
// {ok: false, status, error: words}. parse turns the JSON into rows (and
// throws on a wrong shape).
export async function fetchRecords(url, parse, fetchImpl = globalThis.fetch, signal = undefined) {
  let res;
  try {
    res = await fetchImpl(url, { credentials: "same-origin", signal });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    return { ok: false, status: 0, error: errorText(0, null) };
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) return { ok: false, status: res.status, error: errorText(res.status, body) };
  try {
    return { ok: true, status: res.status, data: parse(body) };
  } catch (err) {
    return { ok: false, status: res.status, error: `Unexpected answer from the bridge: ${err.message}.` };
  }
}

// A moment in the browser's zone with its date: "Tue 1 Dec 2026, 19:00".
export function dateTimeText(ms, locale = undefined) {
  const d = new Date(ms);
  const day = d.toLocaleDateString(locale, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const time = d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  return `${day}, ${time}`;
}
