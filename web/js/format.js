// Pure formatting helpers: no DOM, no globals, so Node's test runner can
// import this module directly (tests/browser/web-unit.test.mjs).

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Command ids go on the wire as [A-Za-z0-9._:-]{1,64} (proto/README.md).
export const COMMAND_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

// A fresh command id: "web-" + a random UUID (40 characters, all allowed).
export function newCommandId(cryptoImpl = globalThis.crypto) {
  let uuid;
  if (cryptoImpl && typeof cryptoImpl.randomUUID === "function") {
    uuid = cryptoImpl.randomUUID();
  } else {
    // randomUUID needs a secure context; plain http on a LAN address is not
    // one, so fall back to getRandomValues (available everywhere).
    const bytes = new Uint8Array(16);
    cryptoImpl.getRandomValues(bytes);
    uuid = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return `web-${uuid}`;
}

// Reconnect delay for the given attempt (0-based): 1 s doubling to 30 s,
// with "equal jitter" (half fixed, half random) so that many dashboards
// that lost the same bridge do not all come back in the same millisecond.
export function backoffDelayMs(attempt, random = Math.random) {
  const base = Math.min(30000, 1000 * 2 ** Math.max(0, Math.min(attempt, 15)));
  return Math.round(base / 2 + (random() * base) / 2);
}

function plural(n, unit) {
  return `${n} ${unit}`;
}

// A duration in words: "45 s", "12 min", "2 h 10 min", "3 d 4 h".
export function formatDuration(ms) {
  const abs = Math.abs(ms);
  if (abs < MINUTE) return plural(Math.max(1, Math.round(abs / 1000)), "s");
  if (abs < HOUR) return plural(Math.round(abs / MINUTE), "min");
  if (abs < DAY) {
    const h = Math.floor(abs / HOUR);
    const m = Math.round((abs - h * HOUR) / MINUTE);
    if (m === 60) return plural(h + 1, "h");
    return m ? `${h} h ${m} min` : plural(h, "h");
  }
  const d = Math.floor(abs / DAY);
  const h = Math.round((abs - d * DAY) / HOUR);
  if (h === 24) return plural(d + 1, "d");
  return h ? `${d} d ${h} h` : plural(d, "d");
}

// Relative time: "in 2 h 10 min", "5 min ago", "just now", "now".
export function formatRelative(targetMs, nowMs) {
  const diff = targetMs - nowMs;
  if (Math.abs(diff) < 5000) return diff > 0 ? "now" : "just now";
  return diff > 0 ? `in ${formatDuration(diff)}` : `${formatDuration(diff)} ago`;
}

// ---------- the site's time zone ----------
//
// Times show in the zone of the home they belong to (its services put `tz`
// in their info), not the browser's: a carer in Berlin looking after a dog
// in Auckland sees Auckland's 07:00 dose as 07:00. undefined = the
// browser's own zone (a site that has not said, or an older service).

let displayZone; // the default for every formatter below

// An IANA zone name the browser knows ("Pacific/Auckland", "UTC"), else
// undefined: a name Intl refuses falls back to the browser's zone.
const zoneValid = new Map(); // name -> bool: asking Intl costs a formatter each time

export function validTimeZone(tz) {
  if (typeof tz !== "string" || !tz || tz.length > 64) return undefined;
  let ok = zoneValid.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    zoneValid.set(tz, ok);
  }
  return ok ? tz : undefined;
}

// Date#toLocale*String(locale, opts) makes a formatter per call, which an
// overview of 200 homes re-filling its cards pays thousands of times: with
// a zone named, one Intl.DateTimeFormat per (locale, zone, options) is
// kept. Without one, the process's zone, toLocale* as is (a cached
// formatter would keep the zone it was made in when a test changes TZ).
const formats = new Map();

function zoned(ms, locale, tz, opts) {
  if (!tz) return null;
  const key = `${locale || ""}|${tz}|${opts}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...OPTS[opts], timeZone: tz });
    formats.set(key, f);
  }
  return f.format(new Date(ms));
}

const OPTS = {
  time: { hour: "2-digit", minute: "2-digit" },
  weekday: { weekday: "short" },
  date: { day: "numeric", month: "short" },
};

function timeText(ms, locale, tz) {
  return zoned(ms, locale, tz, "time") ?? new Date(ms).toLocaleTimeString(locale, { ...OPTS.time, timeZone: tz });
}

function dateText(ms, locale, tz, opts) {
  return zoned(ms, locale, tz, opts) ?? new Date(ms).toLocaleDateString(locale, { ...OPTS[opts], timeZone: tz });
}

// Sets the zone the formatters use when none is passed; returns it
// (undefined when tz is not a zone this browser knows).
export function setDisplayZone(tz) {
  displayZone = validTimeZone(tz);
  return displayZone;
}

export function displayZoneName() {
  return displayZone;
}

const dayKeyFormats = new Map(); // zone -> Intl.DateTimeFormat (they are costly to make)

// The calendar day of ms in zone tz, as "YYYY-MM-DD".
export function dayKey(ms, tz = displayZone) {
  if (!tz) {
    // The process's own zone: Date's local fields (they follow TZ when a
    // test changes it; a cached Intl format would not).
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }
  let f = dayKeyFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
    dayKeyFormats.set(tz, f);
  }
  const parts = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// The day key `delta` calendar days after the key (DST-proof: calendar
// arithmetic, not 24 h steps).
function shiftDay(key, delta) {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + delta)).toISOString().slice(0, 10);
}

function relDay(ms, nowMs, tz) {
  const t = dayKey(ms, tz);
  const now = dayKey(nowMs, tz);
  if (t === now) return 0;
  if (t === shiftDay(now, 1)) return 1;
  if (t === shiftDay(now, -1)) return -1;
  return null;
}

// Wall-clock time in the site's zone (tz, else the display zone): "15:04"
// today (or "3:04 PM", as the locale says), "Tomorrow 07:00", "Yesterday
// 23:00", "Tue 07:00" within a week, else "26 Nov, 07:00".
export function formatClock(ms, nowMs, locale = undefined, tz = displayZone) {
  const time = timeText(ms, locale, tz);
  const rel = relDay(ms, nowMs, tz);
  if (rel === 0) return time;
  if (rel === 1) return `Tomorrow ${time}`;
  if (rel === -1) return `Yesterday ${time}`;
  if (Math.abs(ms - nowMs) < 6 * DAY) return `${dateText(ms, locale, tz, "weekday")} ${time}`;
  return `${dateText(ms, locale, tz, "date")}, ${time}`;
}

// The day of `ms` relative to now, for a line under a bare time: "" today,
// "tomorrow", "yesterday", "Tue" within a week, else "26 Nov".
export function formatDay(ms, nowMs, locale = undefined, tz = displayZone) {
  const rel = relDay(ms, nowMs, tz);
  if (rel === 0) return "";
  if (rel === 1) return "tomorrow";
  if (rel === -1) return "yesterday";
  if (Math.abs(ms - nowMs) < 6 * DAY) return dateText(ms, locale, tz, "weekday");
  return dateText(ms, locale, tz, "date");
}

export function formatTime(ms, locale = undefined, tz = displayZone) {
  return timeText(ms, locale, tz);
}

// A zone's short name at ms for a card's corner: "GMT+13", "EST", or "" for
// none.
const zoneNames = new Map(); // locale|zone -> Intl.DateTimeFormat

export function zoneLabel(tz, ms, locale = undefined) {
  if (!validTimeZone(tz)) return "";
  const key = `${locale || ""}|${tz}`;
  let f = zoneNames.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: "short" });
    zoneNames.set(key, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const name = parts.find((p) => p.type === "timeZoneName");
  return name ? name.value : "";
}

// Sensor kinds the suite knows; any other kind is shown with its own unit.
const KINDS = {
  temperature: { label: "Temperature", digits: 1 },
  humidity: { label: "Humidity", digits: 0 },
  motion: { label: "Motion", digits: 0 },
  sound: { label: "Sound", digits: 0 },
  bowl: { label: "Food bowl", digits: 0 },
};

export const KNOWN_KINDS = Object.keys(KINDS);

export function kindLabel(kind) {
  if (KINDS[kind]) return KINDS[kind].label;
  const words = String(kind).replace(/[_-]+/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : "Sensor";
}

// The number as shown on a tile, without its unit.
export function formatValue(kind, value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  if (kind === "motion") return value >= 0.5 ? "Motion" : "Still";
  const digits = KINDS[kind] ? KINDS[kind].digits : Math.abs(value) < 10 ? 2 : 1;
  return value.toLocaleString(undefined, {
    minimumFractionDigits: 0,
    maximumFractionDigits: digits,
  });
}

const ACTION_VERB = {
  feed: "Feed",
  home: "Home",
  call: "Call",
  plan: "Plan change",
  skip: "Skip",
  pause: "Pause",
  resume: "Resume",
  treat: "Treat",
  refill: "Refill",
};

export function actionLabel(action) {
  return ACTION_VERB[action] || String(action || "Command");
}

// A feeder or bridge reason code in plain English. ctx.nextAllowedMs and
// ctx.nowMs (both server clock) give the time for too_soon/daily_limit.
export function reasonText(reason, ctx = {}) {
  const at =
    typeof ctx.nextAllowedMs === "number"
      ? formatClock(ctx.nextAllowedMs, ctx.nowMs ?? Date.now(), ctx.locale)
      : null;
  switch (reason) {
    case "too_soon":
      return at ? `Too soon: next dose allowed at ${at}` : "Too soon: the minimum time between doses has not passed";
    case "daily_limit":
      return at
        ? `Daily limit reached: next dose allowed at ${at}`
        : "Daily limit reached: no more doses today";
    case "retained":
      return "Ignored: the command was a retained MQTT message, which is never executed";
    case "expired":
      return "Expired: the command was too old when the feeder received it";
    case "journal_unavailable":
      return "The feeder cannot write its dose journal, so it refuses to dose";
    case "busy":
      return "The feeder is busy with another command; try again in a moment";
    case "bad_json":
      return "The command was malformed";
    case "too_large":
      return "The command was too large";
    case "bad_id":
      return "The command id was not valid";
    case "unknown_action":
      return "The feeder does not know that action";
    case "not_authorized":
      return "Not allowed: log in as operator to send commands";
    case "broker_unavailable":
      return "The bridge cannot reach the MQTT broker; nothing was sent";
    case "duplicate":
      return "Already handled: this command was seen before, nothing was dispensed";
    case "bad_plan":
      return "The plan was not valid";
    case "out_of_bounds":
      return "Outside the vet's limits for this feeder";
    case "plan_changed":
      return "Someone else changed the plan first: look at it again and redo the edit";
    case "unknown_slot":
      return "No pending dose to skip";
    case "slot_settled":
      return "That dose is already settled";
    case "bad_until":
      return "Pick a time in the future, at most 90 days ahead";
    case "bad_pills":
    case "missing_pills":
      return "Give the pill count as a whole number 0–100000";
    case "bad_slot":
      return "Not a dose time of today or tomorrow";
    case "treat_limit":
      return "Treat limit reached for today";
    case "no_treat_dispenser":
      return "This feeder has no treat dispenser";
    case undefined:
    case null:
    case "":
      return "No reason given";
    default:
      // Decoder reasons are short phrases already ("id: must be 1-64 of ...").
      return String(reason);
  }
}

// The feeder's answer ({result, reason, action}) as {tone, title, detail}.
// tone is "ok", "warn" or "bad" and picks the colour; the words carry the
// meaning on their own.
export function resultText(event, ctx = {}) {
  const action = actionLabel(event.action);
  switch (event.result) {
    case "ok":
      return {
        tone: "ok",
        title: "ok",
        detail:
          event.action === "feed"
            ? "Dose given"
            : event.action === "home"
              ? "Feeder back at rest"
              : event.action === "call"
                ? "Call sound played"
                : event.action === "plan"
                  ? `Plan saved${typeof event.rev === "number" ? ` (revision ${event.rev})` : ""}`
                  : event.action === "skip"
                    ? "Dose skipped"
                    : event.action === "pause"
                      ? "Schedule paused"
                      : event.action === "resume"
                        ? "Schedule resumed"
                        : event.action === "treat"
                          ? "Treat given"
                          : event.action === "refill"
                            ? "Pill count set"
                            : `${action} done`,
      };
    case "rejected":
      return {
        tone: "warn",
        title: "rejected",
        detail: [reasonText(event.reason, ctx), event.detail].filter(Boolean).join(": "),
      };
    case "duplicate":
      return { tone: "warn", title: "duplicate", detail: reasonText("duplicate", ctx) };
    case "failed":
      return {
        tone: "bad",
        title: "failed",
        detail: event.reason ? `Failed: ${reasonText(event.reason, ctx)}` : "Failed",
      };
    default:
      return { tone: "bad", title: String(event.result || "unknown"), detail: reasonText(event.reason, ctx) };
  }
}

// A verify event (the feeder's second event for a dose: did the bowl's
// weight rise?) in words. It answers no command, so it gets its own line
// instead of replacing the Feed button's answer.
export function verifyText(event) {
  if (event.result === "ok") {
    const d = typeof event.deltaG === "number" && Number.isFinite(event.deltaG) ? event.deltaG : null;
    const grams = d === null ? "" : ` (${d >= 0 ? "+" : "\u2212"}${Math.abs(d).toFixed(1)} g)`;
    return { tone: "ok", text: `Pill seen in the bowl${grams}` };
  }
  const why =
    event.reason === "no_weight_change"
      ? "no weight change in the bowl"
      : event.reason === "no_bowl_reading"
        ? "no bowl reading"
        : event.reason || "unknown reason";
  return { tone: "warn", text: `Not confirmed: ${why}` };
}

// iod/<site>/<service>/<rest...> -> {service, rest}; iod/<site>/alert ->
// {service: null, rest: "alert"}; topics of another site -> null.
export function splitTopic(topic, site) {
  if (typeof topic !== "string") return null;
  const parts = topic.split("/");
  if (parts.length < 3 || parts[0] !== "iod" || parts[1] !== site) return null;
  if (parts.length === 3) return { service: null, rest: parts[2] };
  return { service: parts[2], rest: parts.slice(3).join("/") };
}
