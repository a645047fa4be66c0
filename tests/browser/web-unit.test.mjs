// Unit tests of the dashboard's pure modules (web/js/format.js and
// web/js/store.js) under Node's test runner: no browser, no bridge.
//
//   node --test tests/browser/web-unit.test.mjs      (or plain `node <file>`)

import { test } from "node:test";
import assert from "node:assert/strict";

process.env.TZ = "UTC"; // formatClock uses local time; pin it

const format = await import("../../web/js/format.js");
const storeMod = await import("../../web/js/store.js");
const {
  COMMAND_ID_RE,
  backoffDelayMs,
  formatClock,
  formatDay,
  formatDuration,
  formatRelative,
  formatValue,
  kindLabel,
  newCommandId,
  reasonText,
  resultText,
  splitTopic,
  verifyText,
} = format;
const {
  applyBroker,
  applyFrame,
  applyHistory,
  applyMessage,
  brokerDown,
  createStore,
  resetStore,
  CHART_WINDOW_MS,
  MAX_ALERTS,
} = storeMod;

const T0 = Date.UTC(2026, 10, 26, 12, 54, 0); // Thu 26 Nov 2026 12:54 UTC
const MIN = 60000;
const HOUR = 60 * MIN;

test("durations read like people say them", { timeout: 5000 }, () => {
  assert.equal(formatDuration(45 * 1000), "45 s");
  assert.equal(formatDuration(12 * MIN), "12 min");
  assert.equal(formatDuration(2 * HOUR + 10 * MIN), "2 h 10 min");
  assert.equal(formatDuration(2 * HOUR), "2 h");
  assert.equal(formatDuration(2 * HOUR + 59.7 * MIN), "3 h");
  assert.equal(formatDuration(27 * HOUR), "1 d 3 h");
  assert.equal(formatDuration(-5 * MIN), "5 min");
});

test("relative times: future, past, now", { timeout: 5000 }, () => {
  assert.equal(formatRelative(T0 + 2 * HOUR + 10 * MIN, T0), "in 2 h 10 min");
  assert.equal(formatRelative(T0 - 5 * MIN, T0), "5 min ago");
  assert.equal(formatRelative(T0 - 2000, T0), "just now");
  assert.equal(formatRelative(T0 + 2000, T0), "now");
  assert.equal(formatRelative(T0 + 4 * 1000 + 999, T0), "now");
  assert.equal(formatRelative(T0 + 30 * 1000, T0), "in 30 s");
});

test("clock times are local and name the day when it is not today", { timeout: 5000 }, () => {
  const at1504 = Date.UTC(2026, 10, 26, 15, 4);
  assert.equal(formatClock(at1504, T0, "en-GB"), "15:04");
  assert.equal(formatClock(at1504 + 24 * HOUR, T0, "en-GB"), "Tomorrow 15:04");
  assert.equal(formatClock(at1504 - 24 * HOUR, T0, "en-GB"), "Yesterday 15:04");
  assert.equal(formatClock(at1504 + 3 * 24 * HOUR, T0, "en-GB"), "Sun 15:04");
  assert.equal(formatClock(at1504 + 30 * 24 * HOUR, T0, "en-GB"), "26 Dec, 15:04");
  assert.equal(formatDay(at1504, T0, "en-GB"), "");
  assert.equal(formatDay(at1504 + 24 * HOUR, T0, "en-GB"), "tomorrow");
  assert.equal(formatDay(at1504 - 24 * HOUR, T0, "en-GB"), "yesterday");
});

// In another zone for the length of fn (Node re-reads TZ when it is set).
function inZone(zone, fn) {
  const was = process.env.TZ;
  process.env.TZ = zone;
  try {
    fn();
  } finally {
    process.env.TZ = was;
  }
}

test("late-evening doses read 'tomorrow' in the local zone, across DST changes", { timeout: 5000 }, () => {
  // 23:30 NZDT on 4 April 2026; NZ clocks go back at 03:00 that night, so
  // 6 h later is 04:30 NZST, tomorrow.
  const nz = Date.UTC(2026, 3, 4, 10, 30);
  inZone("Pacific/Auckland", () => {
    assert.equal(format.formatTime(nz, "en-GB"), "23:30");
    assert.equal(format.formatTime(nz + 6 * HOUR, "en-GB"), "04:30");
    assert.equal(formatDay(nz + 6 * HOUR, nz, "en-GB"), "tomorrow");
    assert.equal(formatClock(nz + 6 * HOUR, nz, "en-GB"), "Tomorrow 04:30");
    assert.equal(reasonText("too_soon", { nextAllowedMs: nz + 6 * HOUR, nowMs: nz, locale: "en-GB" }),
      "Too soon: next dose allowed at Tomorrow 04:30");
    // 00:20 NZDT: 6 h later is 05:20 NZST, the same day (7 h on the wall).
    const early = Date.UTC(2026, 3, 4, 11, 20);
    assert.equal(format.formatTime(early + 6 * HOUR, "en-GB"), "05:20");
    assert.equal(formatDay(early + 6 * HOUR, early, "en-GB"), "");
    assert.equal(formatClock(early + 6 * HOUR, early, "en-GB"), "05:20");
  });
  // 18:30 EDT on 8 March 2026 (US DST began at 02:00): 00:30 tomorrow.
  const ny = Date.UTC(2026, 2, 8, 22, 30);
  inZone("America/New_York", () => {
    assert.equal(format.formatTime(ny, "en-GB"), "18:30");
    assert.equal(formatClock(ny + 6 * HOUR, ny, "en-GB"), "Tomorrow 00:30");
    // A 23 h day: 17 h before is 00:30 EST today, 18 h before is yesterday
    // (on an ordinary day it would be 00:30 today).
    assert.equal(formatDay(ny - 17 * HOUR, ny, "en-GB"), "");
    assert.equal(formatClock(ny - 17 * HOUR, ny, "en-GB"), "00:30");
    assert.equal(formatDay(ny - 18 * HOUR, ny, "en-GB"), "yesterday");
    assert.equal(formatClock(ny - 18 * HOUR, ny, "en-GB"), "Yesterday 23:30");
  });
  // The same instant in UTC is the same day.
  assert.equal(formatDay(nz + 6 * HOUR, nz, "en-GB"), "");
});

test("feeder reasons become plain English", { timeout: 5000 }, () => {
  const ctx = { nextAllowedMs: Date.UTC(2026, 10, 26, 15, 4), nowMs: T0, locale: "en-GB" };
  assert.equal(reasonText("too_soon", ctx), "Too soon: next dose allowed at 15:04");
  assert.equal(reasonText("daily_limit", ctx), "Daily limit reached: next dose allowed at 15:04");
  assert.match(reasonText("too_soon", {}), /^Too soon/);
  const codes = [
    "daily_limit",
    "retained",
    "expired",
    "journal_unavailable",
    "busy",
    "bad_json",
    "duplicate",
    "too_large",
    "bad_id",
    "unknown_action",
    "not_authorized",
    "broker_unavailable",
  ];
  const texts = new Set();
  for (const code of codes) {
    const text = reasonText(code, {});
    assert.notEqual(text, code, `reason ${code} has no words`);
    assert.ok(!text.includes("_"), `reason ${code} reads like a code: ${text}`);
    texts.add(text);
  }
  assert.equal(texts.size, codes.length, "two reasons share one text");
  // A decoder's own phrase is shown as it is.
  assert.equal(reasonText("id: must be 1-64 of [A-Za-z0-9._:-]"), "id: must be 1-64 of [A-Za-z0-9._:-]");
});

test("results: ok, rejected with the reason, duplicate, failed", { timeout: 5000 }, () => {
  const ctx = { nextAllowedMs: Date.UTC(2026, 10, 26, 15, 4), nowMs: T0, locale: "en-GB" };
  assert.deepEqual(resultText({ action: "feed", result: "ok" }, ctx), {
    tone: "ok",
    title: "ok",
    detail: "Dose given",
  });
  const rej = resultText({ action: "feed", result: "rejected", reason: "too_soon" }, ctx);
  assert.equal(rej.tone, "warn");
  assert.equal(rej.title, "rejected");
  assert.equal(rej.detail, "Too soon: next dose allowed at 15:04");
  assert.equal(resultText({ action: "feed", result: "duplicate" }, ctx).title, "duplicate");
  const failed = resultText({ action: "home", result: "failed", reason: "servo" }, ctx);
  assert.equal(failed.tone, "bad");
  assert.equal(failed.detail, "Failed: servo");
});

test("verify events in words: the bowl's verdict, not a command's answer", { timeout: 5000 }, () => {
  const ev = (payload) => {
    const s = createStore("home");
    applyMessage(s, msg("iod/home/feeder/event", payload), T0);
    return s.feeder.events[0];
  };
  const ok = ev({ id: "evening-2026-11-26", action: "verify", result: "ok", delta_g: 1.8, ts: T0 });
  assert.equal(ok.deltaG, 1.8);
  assert.deepEqual(verifyText(ok), { tone: "ok", text: "Pill seen in the bowl (+1.8 g)" });
  assert.deepEqual(verifyText(ev({ id: "d", action: "verify", result: "ok", delta_g: 0.4 })), {
    tone: "ok",
    text: "Pill seen in the bowl (+0.4 g)",
  });
  assert.equal(verifyText(ev({ id: "d", action: "verify", result: "ok", delta_g: null })).text, "Pill seen in the bowl");
  const none = ev({ id: "d", action: "verify", result: "failed", reason: "no_weight_change", delta_g: 0 });
  assert.deepEqual(verifyText(none), { tone: "warn", text: "Not confirmed: no weight change in the bowl" });
  const blind = ev({ id: "d", action: "verify", result: "failed", reason: "no_bowl_reading", delta_g: null });
  assert.equal(blind.deltaG, null);
  assert.deepEqual(verifyText(blind), { tone: "warn", text: "Not confirmed: no bowl reading" });
});

test("command ids fit [A-Za-z0-9._:-]{1,64} and do not repeat", { timeout: 5000 }, () => {
  const ids = new Set();
  for (let i = 0; i < 1000; i++) {
    const id = newCommandId();
    assert.match(id, COMMAND_ID_RE);
    ids.add(id);
  }
  assert.equal(ids.size, 1000);
  // Without randomUUID (plain http on a LAN address is not a secure context).
  const fallback = newCommandId({ getRandomValues: (a) => globalThis.crypto.getRandomValues(a) });
  assert.match(fallback, COMMAND_ID_RE);
  assert.match(fallback, /^web-[0-9a-f]{32}$/);
  assert.doesNotMatch("a".repeat(65), COMMAND_ID_RE);
  assert.doesNotMatch("a b", COMMAND_ID_RE);
});

test("back-off: 1 s doubling to 30 s, jittered", { timeout: 5000 }, () => {
  assert.equal(backoffDelayMs(0, () => 1), 1000);
  assert.equal(backoffDelayMs(0, () => 0), 500);
  assert.equal(backoffDelayMs(1, () => 1), 2000);
  assert.equal(backoffDelayMs(2, () => 1), 4000);
  assert.equal(backoffDelayMs(4, () => 1), 16000);
  assert.equal(backoffDelayMs(5, () => 1), 30000);
  assert.equal(backoffDelayMs(50, () => 1), 30000);
  assert.equal(backoffDelayMs(50, () => 0), 15000);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelayMs(3);
    assert.ok(d >= 4000 && d <= 8000, `attempt 3 gave ${d}`);
  }
});

test("values and labels per sensor kind", { timeout: 5000 }, () => {
  assert.equal(formatValue("motion", 1), "Motion");
  assert.equal(formatValue("motion", 0), "Still");
  assert.equal(formatValue("temperature", Number.NaN), "–");
  assert.equal(formatValue("temperature", "21"), "–");
  assert.equal(kindLabel("bowl"), "Food bowl");
  assert.equal(kindLabel("co2_level"), "Co2 level");
});

test("topics split into service and rest; other sites are ignored", { timeout: 5000 }, () => {
  assert.deepEqual(splitTopic("iod/home/sensors/temperature", "home"), {
    service: "sensors",
    rest: "temperature",
  });
  assert.deepEqual(splitTopic("iod/home/alert", "home"), { service: null, rest: "alert" });
  assert.equal(splitTopic("iod/cabin/sensors/temperature", "home"), null);
  assert.equal(splitTopic("homeassistant/sensor/x/config", "home"), null);
  assert.equal(splitTopic(42, "home"), null);
});

function msg(topic, payload, ts = T0) {
  return { topic, payload, ts };
}

test("store: readings of any sensor kind, in time order, with units", { timeout: 5000 }, () => {
  const s = createStore("home");
  let changed = applyMessage(s, msg("iod/home/sensors/temperature", { value: 21.5, unit: "°C", ts: T0 }));
  assert.ok(changed.has("sensor:temperature"));
  applyMessage(s, msg("iod/home/sensors/temperature", { value: 22, unit: "°C", ts: T0 + 2000 }));
  applyMessage(s, msg("iod/home/sensors/temperature", { value: 21.7, unit: "°C", ts: T0 + 1000 }));
  const t = s.sensors.get("temperature");
  assert.deepEqual(t.points, [
    [T0, 21.5],
    [T0 + 1000, 21.7],
    [T0 + 2000, 22],
  ]);
  assert.equal(t.unit, "°C");
  changed = applyMessage(s, msg("iod/home/sensors/co2", { value: 612, unit: "ppm", ts: T0 }));
  assert.ok(changed.has("sensor:co2"), "a kind nobody planned for still gets a chart");
  assert.equal(s.sensors.get("co2").value, 612);
  // Not a reading: ignored, nothing invented.
  applyMessage(s, msg("iod/home/sensors/broken", "garbage"));
  applyMessage(s, msg("iod/home/sensors/nan", { value: "12" }));
  assert.equal(s.sensors.has("broken"), false);
  assert.equal(s.sensors.has("nan"), false);
  // The sensors service was seen.
  assert.equal(s.services.get("sensors").lastSeenMs, T0);
});

test("store: charts keep one hour and a bounded number of points", { timeout: 5000 }, () => {
  const s = createStore("home");
  for (let i = 0; i < 5000; i++) {
    applyMessage(s, msg("iod/home/sensors/sound", { value: i, ts: T0 + i * 1000 }));
  }
  const pts = s.sensors.get("sound").points;
  assert.ok(pts.length <= 4000, `kept ${pts.length} points`);
  assert.ok(pts[pts.length - 1][0] - pts[0][0] <= CHART_WINDOW_MS);
  assert.equal(pts[pts.length - 1][1], 4999);
});

test("store: history replaces chart data and keeps the newer cached reading", { timeout: 5000 }, () => {
  const s = createStore("home");
  applyMessage(s, msg("iod/home/sensors/bowl", { value: 400, unit: "g", ts: T0 }));
  applyHistory(s, {
    type: "history",
    topic: "iod/home/sensors/bowl",
    points: [
      [T0 - 20000, 410],
      [T0 - 10000, 405],
      ["bad", 1],
      [T0 - 30000, 415],
    ],
  });
  assert.deepEqual(s.sensors.get("bowl").points, [
    [T0 - 30000, 415],
    [T0 - 20000, 410],
    [T0 - 10000, 405],
    [T0, 400],
  ]);
  // History for a kind with no cached reading gives it a value too.
  applyHistory(s, { type: "history", topic: "iod/home/sensors/humidity", points: [[T0, 44]] });
  assert.equal(s.sensors.get("humidity").value, 44);
});

test("store: availability, info and last seen per service", { timeout: 5000 }, () => {
  const s = createStore("home");
  assert.equal(s.services.get("camera").availability, null, "expected services are listed before they report");
  applyMessage(s, msg("iod/home/sensors/availability", "online", T0));
  applyMessage(s, msg("iod/home/sensors/info", { version: "0.1.0", since: T0, backend: "sim" }, T0 + 5));
  assert.equal(s.services.get("sensors").availability, "online");
  assert.deepEqual(s.services.get("sensors").info, { version: "0.1.0", backend: "sim", since: T0, tz: "", siteName: "", dogName: "" });
  // tz and the names of IOD_SITE_NAME / IOD_DOG_NAME; the newest info wins
  applyMessage(s, msg("iod/home/feeder/info", { version: "0.1.0", since: T0 + 1, backend: "sim", tz: "Europe/Berlin", site_name: "Zoë's \"place\"", dog_name: "Rex" }, T0 + 6));
  assert.deepEqual(storeMod.siteIdentity(s), { tz: "Europe/Berlin", siteName: 'Zoë\'s "place"', dogName: "Rex" });
  // a newer info of another service in another zone (a bridge elsewhere) does not move the
  // home's clock off the feeder's: the schedule runs in the feeder's zone
  applyMessage(s, msg("iod/home/bridge/info", { version: "0.1.0", since: T0 + 2, backend: "http", tz: "Etc/UTC" }, T0 + 7));
  assert.equal(storeMod.siteIdentity(s).tz, "Europe/Berlin");
  applyMessage(s, msg("iod/home/sensors/availability", "offline", T0 + 9000));
  assert.equal(s.services.get("sensors").availability, "offline");
  assert.equal(s.services.get("sensors").lastSeenMs, T0 + 5, "a will's offline is not a sign of life");
  applyMessage(s, msg("iod/home/bridge/availability", "online", T0));
  assert.equal(s.services.get("bridge").availability, "online");
  applyFrame(s, T0 + 100);
  assert.equal(s.services.get("camera").lastSeenMs, T0 + 100);
  assert.equal(s.camera.frames, 1);
});

test("store: camera motion reads active, else guesses from the score", { timeout: 5000 }, () => {
  const s = createStore("home");
  assert.equal(s.camera.motion, null);
  // "active" decides, whatever the score (IOD_CAMERA_MOTION_ON/_OFF moved).
  let changed = applyMessage(s, msg("iod/home/camera/motion", { score: 0.004, active: true, ts: T0 }));
  assert.ok(changed.has("camera"));
  assert.deepEqual(s.camera.motion, { score: 0.004, active: true, ts: T0 });
  applyMessage(s, msg("iod/home/camera/motion", { score: 0.3, active: false, ts: T0 + 1 }));
  assert.deepEqual(s.camera.motion, { score: 0.3, active: false, ts: T0 + 1 });
  // Publishers without "active": the midpoint of the default thresholds.
  applyMessage(s, msg("iod/home/camera/motion", { score: 0.042, ts: T0 + 2 }));
  assert.equal(s.camera.motion.active, true);
  applyMessage(s, msg("iod/home/camera/motion", { score: 0.001, ts: T0 + 3 }));
  assert.equal(s.camera.motion.active, false);
  // A non-boolean "active" is not trusted; no score and no active: cannot tell.
  applyMessage(s, msg("iod/home/camera/motion", { score: 0.001, active: "true", ts: T0 + 4 }));
  assert.equal(s.camera.motion.active, false);
  applyMessage(s, msg("iod/home/camera/motion", { ts: T0 + 5 }));
  assert.deepEqual(s.camera.motion, { score: null, active: null, ts: T0 + 5 });
});

test("store: feeder state, dose log, events and alerts", { timeout: 5000 }, () => {
  const s = createStore("home");
  applyMessage(
    s,
    msg("iod/home/feeder/state", {
      position: "home",
      last_dose: T0 - HOUR,
      next_allowed: T0 + 5 * HOUR,
      next_scheduled: null,
      doses_today: 1,
      pills_remaining: 12,
      runs_out: T0 + 96 * HOUR,
      clock_synced: true,
    }),
  );
  assert.deepEqual(s.feeder.state, {
    position: "home",
    lastDose: T0 - HOUR,
    nextAllowed: T0 + 5 * HOUR,
    nextScheduled: null,
    dosesToday: 1,
    pillsRemaining: 12,
    runsOut: T0 + 96 * HOUR,
    clockSynced: true,
  });
  applyMessage(
    s,
    msg("iod/home/feeder/log", {
      doses: [
        { id: "a", ts: T0 - HOUR, by: "operator", source: "manual", result: "ok", verified: true },
        { id: "b", ts: T0 - 2 * HOUR, by: "schedule", source: "schedule", result: "failed", verified: null },
        "junk",
      ],
    }),
  );
  assert.deepEqual(s.feeder.log, [
    { id: "a", ts: T0 - HOUR, by: "operator", source: "manual", result: "ok", verified: true },
    { id: "b", ts: T0 - 2 * HOUR, by: "schedule", source: "schedule", result: "failed", verified: null },
  ]);
  const changed = applyMessage(
    s,
    msg("iod/home/feeder/event", { id: "web-1", action: "feed", result: "rejected", reason: "too_soon", ts: T0 }),
  );
  assert.ok(changed.has("event"));
  assert.equal(s.feeder.events[0].reason, "too_soon");
  applyMessage(
    s,
    msg("iod/home/feeder/event", { id: "web-2", action: "plan", result: "ok", rev: 4, ts: T0 }),
  );
  assert.equal(s.feeder.events[0].rev, 4);
  assert.equal(s.feeder.events[0].detail, "");
  for (let i = 0; i < MAX_ALERTS + 10; i++) {
    applyMessage(s, msg("iod/home/alert", { source: "feeder", level: "critical", code: "c", message: `m${i}`, ts: T0 + i }));
  }
  assert.equal(s.alerts.length, MAX_ALERTS);
  assert.equal(s.alerts[0].message, `m${MAX_ALERTS + 9}`, "newest first");
  applyMessage(s, msg("iod/home/alert", { level: "panic", message: "x" }));
  assert.equal(s.alerts[0].level, "info", "an unknown level is shown as info, not dropped");
  resetStore(s);
  assert.equal(s.alerts.length, 0);
  assert.equal(s.feeder.state, null);
  assert.equal(s.sensors.size, 0);
});

test("store: topics no view shows are kept, but boundedly", { timeout: 5000 }, () => {
  const s = createStore("home");
  for (let i = 0; i < storeMod.MAX_OTHER + 100; i++) {
    applyMessage(s, msg(`iod/home/custom/t${i}`, { n: i }));
  }
  assert.equal(s.other.size, storeMod.MAX_OTHER);
  assert.ok(s.other.has(`iod/home/custom/t${storeMod.MAX_OTHER + 99}`), "the newest is kept");
  assert.ok(!s.other.has("iod/home/custom/t0"), "the oldest is dropped");
  assert.equal(s.services.get("custom").lastSeenMs, T0, "an unknown service still shows as seen");
});

// ---------- conn.js: reconnect, back-off, heartbeat (fake WebSocket, fake timers) ----------

class FakeWebSocket {
  static OPEN = 1;
  static all = [];
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.all.push(this);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  serverOpen() {
    this.readyState = 1;
    this.onopen && this.onopen();
  }
  serverSend(obj) {
    this.onmessage && this.onmessage({ data: typeof obj === "string" ? obj : JSON.stringify(obj) });
  }
  serverClose(code = 1006) {
    this.readyState = 3;
    this.onclose && this.onclose({ code });
  }
}

async function withConn(t, onClosedResult, fn) {
  const realWs = globalThis.WebSocket;
  const realRandom = Math.random;
  globalThis.WebSocket = FakeWebSocket;
  FakeWebSocket.all = [];
  Math.random = () => 1; // the longest delay of each back-off step
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const { Connection, SUBPROTOCOL } = await import("../../web/js/conn.js");
  const log = { status: [], text: [], binary: [], closed: [] };
  const conn = new Connection("ws://127.0.0.1:8080/ws", {
    onStatus: (s) => log.status.push(s.state),
    onText: (o) => log.text.push(o),
    onBinary: (b) => log.binary.push(b),
    onClosed: async (info) => {
      log.closed.push(info);
      return onClosedResult;
    },
  });
  try {
    await fn(conn, log, SUBPROTOCOL);
  } finally {
    conn.stop();
    t.mock.timers.reset();
    globalThis.WebSocket = realWs;
    Math.random = realRandom;
  }
}

const flush = () => new Promise((r) => setImmediate(r));

test("conn: names iod.v1, syncs to ready, forwards frames", { timeout: 5000 }, async (t) => {
  await withConn(t, true, async (conn, log, SUBPROTOCOL) => {
    assert.equal(SUBPROTOCOL, "iod.v1");
    conn.start();
    assert.equal(FakeWebSocket.all.length, 1);
    const ws = FakeWebSocket.all[0];
    assert.equal(ws.url, "ws://127.0.0.1:8080/ws");
    assert.equal(ws.protocol, "iod.v1");
    assert.equal(conn.send({ type: "cmd" }), false, "nothing is sent before the socket is open");
    ws.serverOpen();
    ws.serverSend({ type: "hello", site: "home", operator: false, ts: 1 });
    ws.serverSend({ topic: "iod/home/sensors/bowl", payload: { value: 1 }, ts: 2 });
    ws.serverSend("not json");
    ws.onmessage({ data: { size: 3 } }); // a binary frame (Blob in a browser)
    assert.deepEqual(log.status, ["connecting", "syncing"]);
    ws.serverSend({ type: "ready" });
    assert.deepEqual(log.status, ["connecting", "syncing", "live"]);
    assert.equal(log.text.length, 3, "hello, the topic frame and ready; bad JSON is dropped");
    assert.equal(log.binary.length, 1);
    assert.equal(conn.send({ type: "cmd", action: "feed", id: "x" }), true);
    assert.deepEqual(ws.sent, [{ type: "cmd", action: "feed", id: "x" }]);
  });
});

test("conn: a batch is its frames, one by one, in order", { timeout: 5000 }, async (t) => {
  await withConn(t, true, async (conn, log) => {
    conn.start();
    const ws = FakeWebSocket.all[0];
    ws.serverOpen();
    ws.serverSend({ type: "hello", site: "*", operator: false, ts: 1 });
    const a = { topic: "iod/a/feeder/state", payload: { next_dose: 5 }, ts: 2 };
    const b = { topic: "iod/b/sensors/bowl", payload: { value: 3 }, ts: 3 };
    ws.serverSend({ type: "batch", frames: [a, b] });
    ws.serverSend({ type: "batch", frames: "not a list" });
    ws.serverSend({ type: "batch" });
    ws.serverSend({ type: "ready" });
    assert.deepEqual(
      log.text.map((o) => o.topic || o.type),
      ["hello", "iod/a/feeder/state", "iod/b/sensors/bowl", "ready"],
      "a batch's frames in place of it; a malformed batch is nothing",
    );
    assert.deepEqual(log.text[1], a);
    assert.deepEqual(log.status, ["connecting", "syncing", "live"]);
  });
});

test("conn: reconnects with back-off 1 s, 2 s, 4 s ... 30 s, reset by ready", { timeout: 5000 }, async (t) => {
  await withConn(t, true, async (conn, log) => {
    conn.start();
    const expect = [1000, 2000, 4000, 8000, 16000, 30000, 30000];
    for (let i = 0; i < expect.length; i++) {
      const ws = FakeWebSocket.all[FakeWebSocket.all.length - 1];
      ws.serverClose(1006);
      await flush();
      assert.equal(log.status[log.status.length - 1], "offline");
      const count = FakeWebSocket.all.length;
      t.mock.timers.tick(expect[i] - 1);
      assert.equal(FakeWebSocket.all.length, count, `attempt ${i}: reconnected before ${expect[i]} ms`);
      t.mock.timers.tick(1);
      assert.equal(FakeWebSocket.all.length, count + 1, `attempt ${i}: no reconnect after ${expect[i]} ms`);
    }
    // A full sync resets the back-off.
    const ws = FakeWebSocket.all[FakeWebSocket.all.length - 1];
    ws.serverOpen();
    ws.serverSend({ type: "hello" });
    ws.serverSend({ type: "ready" });
    ws.serverClose(1001);
    await flush();
    assert.equal(log.closed[log.closed.length - 1].wasReady, true);
    const count = FakeWebSocket.all.length;
    t.mock.timers.tick(1000);
    assert.equal(FakeWebSocket.all.length, count + 1, "after ready the next retry is 1 s again");
  });
});

test("conn: retryNow skips the wait; onClosed=false stops for good", { timeout: 5000 }, async (t) => {
  await withConn(t, true, async (conn) => {
    conn.start();
    FakeWebSocket.all[0].serverClose();
    await flush();
    conn.retryNow();
    assert.equal(FakeWebSocket.all.length, 2);
  });
  await withConn(t, false, async (conn, log) => {
    conn.start();
    FakeWebSocket.all[0].serverClose();
    await flush();
    assert.equal(log.status[log.status.length - 1], "stopped");
    t.mock.timers.tick(60000);
    assert.equal(FakeWebSocket.all.length, 1, "no reconnect once the session is gone");
  });
});

test("conn: a silent connection is dropped by the heartbeat", { timeout: 5000 }, async (t) => {
  await withConn(t, true, async (conn, log) => {
    conn.start();
    const ws = FakeWebSocket.all[0];
    ws.serverOpen();
    ws.serverSend({ type: "hello" });
    ws.serverSend({ type: "ready" });
    t.mock.timers.tick(20000);
    assert.deepEqual(ws.sent, [{ type: "ping" }]);
    ws.serverSend({ type: "pong", ts: 5 }); // alive
    t.mock.timers.tick(20000);
    assert.equal(ws.sent.length, 2, "a second ping after an answered one");
    assert.equal(log.status[log.status.length - 1], "live");
    t.mock.timers.tick(20000); // nothing came back
    await flush();
    assert.equal(log.status[log.status.length - 1], "offline");
    assert.equal(ws.readyState, 3, "the dead socket is closed");
    assert.equal(log.closed[0].code, 4000);
    t.mock.timers.tick(1000);
    assert.equal(FakeWebSocket.all.length, 2, "and a new one is opened");
  });
});

test("store: availability changes are flagged (sensor tiles grey with their service)", { timeout: 5000 }, () => {
  const s = createStore("home");
  assert.ok(applyMessage(s, msg("iod/home/sensors/availability", "offline")).has("availability"));
  assert.ok(!applyMessage(s, msg("iod/home/sensors/temperature", { value: 1, ts: T0 })).has("availability"));
  applyMessage(s, msg("iod/home/sensors/availability", "rebooting"));
  assert.equal(s.services.get("sensors").availability, null, "only online/offline are statuses");
});

test("store: the bridge's broker state; statuses are forgotten when it changes", { timeout: 5000 }, () => {
  const s = createStore("home");
  assert.equal(s.broker.connected, null, "not told: taken as connected");
  assert.equal(brokerDown(s), false);
  // hello says how it is: no change of anything else.
  assert.deepEqual([...applyBroker(s, true, T0)].sort(), ["availability", "broker", "services"]);
  assert.deepEqual(s.broker, { connected: true, sinceMs: null }, "hello does not say since when");
  applyMessage(s, msg("iod/home/feeder/availability", "online", T0));
  assert.equal(applyBroker(s, true, T0 + 1).size, 0, "the same state again changes nothing");
  assert.equal(s.services.get("feeder").availability, "online");
  // The broker goes: nobody's "online" is evidence any more.
  const changed = applyBroker(s, false, T0 + 2);
  assert.ok(changed.has("broker") && changed.has("services") && changed.has("availability"));
  assert.equal(brokerDown(s), true);
  assert.deepEqual(s.broker, { connected: false, sinceMs: T0 + 2 });
  assert.equal(s.services.get("feeder").availability, null);
  assert.equal(s.services.get("feeder").lastSeenMs, T0, "last seen stays");
  // A snapshot during the outage (a reconnecting page) may bring old words;
  // when the broker is back they are forgotten until they come again.
  applyMessage(s, msg("iod/home/feeder/availability", "online", T0 + 3));
  applyBroker(s, true, T0 + 4);
  assert.equal(brokerDown(s), false);
  assert.equal(s.services.get("feeder").availability, null);
  applyMessage(s, msg("iod/home/feeder/availability", "online", T0 + 5));
  assert.equal(s.services.get("feeder").availability, "online");
  // Not a boolean: ignored.
  assert.equal(applyBroker(s, "false", T0 + 6).size, 0);
  assert.equal(applyBroker(s, undefined, T0 + 6).size, 0);
  assert.equal(brokerDown(s), false);
  resetStore(s);
  assert.equal(s.broker.connected, null);
});

// ---------- plan.js: the care plan read and edited ----------

const plan = await import("../../web/js/plan.js");

const PLAN = {
  rev: 3,
  slots: [
    { at: "07:00", days: "daily", enabled: true },
    { at: "19:00", days: ["fri", "mon", "tue", "wed", "thu"], enabled: false },
  ],
  min_interval_s: 21600,
  max_daily: 2,
  grace_s: 3600,
  paused: false,
  paused_until: null,
  treat: { max_daily: 10, min_interval_s: 300 },
  pills: { remaining: null, low_days: 5 },
  bounds: { min_interval_s: 14400, max_daily: 4 },
  changed_by: "env",
  changed_at: T0,
};

test("plan: feeder/plan and feeder/schedule into the store", { timeout: 5000 }, () => {
  const s = createStore("home");
  const changed = applyMessage(s, msg("iod/home/feeder/plan", PLAN));
  assert.ok(changed.has("plan"));
  const p = s.feeder.plan;
  assert.equal(p.rev, 3);
  assert.deepEqual(p.slots[1], { at: "19:00", days: ["mon", "tue", "wed", "thu", "fri"], enabled: false });
  assert.deepEqual(p.bounds, { minIntervalS: 14400, maxDaily: 4 });
  assert.equal(p.pills.remaining, null);
  assert.equal(p.pausedUntil, null);
  assert.equal(plan.planFromPayload({ ...PLAN, slots: [{ at: "25:00", days: "daily" }] }), null);
  assert.equal(plan.planFromPayload({ ...PLAN, rev: "3" }), null);
  applyMessage(
    s,
    msg("iod/home/feeder/schedule", {
      date: "2026-12-01",
      slots: [
        { slot: "2026-12-01T07:00", at: T0, status: "given", dose: "d1" },
        { slot: "2026-12-01T19:00", at: T0 + 12 * HOUR, status: "pending", dose: null },
        { slot: "2026-12-02T07:00", at: T0 + 24 * HOUR, status: "wobbly", dose: null },
      ],
      ts: T0,
    }),
  );
  const sched = s.feeder.schedule;
  assert.equal(sched.slots.length, 3);
  assert.equal(sched.slots[2].status, "unknown");
  assert.equal(plan.nextPending(sched).slot, "2026-12-01T19:00");
  assert.equal(plan.statusText("late"), "Given late");
});

test("plan: an edit sends only what changed, with the rev", { timeout: 5000 }, () => {
  const p = plan.planFromPayload(PLAN);
  const same = { slots: p.slots, minIntervalS: 21600, maxDaily: 2 };
  assert.equal(plan.planPatch(p, same), null, "nothing changed");
  assert.equal(
    plan.planPatch(p, { ...same, slots: [p.slots[0], { at: "19:00", days: ["thu", "wed", "tue", "mon", "fri"], enabled: false }] }),
    null,
    "the same days in another order are no change",
  );
  assert.deepEqual(plan.planPatch(p, { ...same, maxDaily: 3 }), { rev: 3, max_daily: 3 });
  assert.deepEqual(plan.planPatch(p, { ...same, minIntervalS: 14400 }), { rev: 3, min_interval_s: 14400 });
  assert.deepEqual(
    plan.planPatch(p, {
      ...same,
      slots: [{ at: "08:00", days: plan.DAYS, enabled: true }, p.slots[1]],
    }),
    {
      rev: 3,
      slots: [
        { at: "08:00", days: "daily" },
        { at: "19:00", days: ["mon", "tue", "wed", "thu", "fri"], enabled: false },
      ],
    },
  );
  assert.deepEqual(plan.planPatch(p, { ...same, slots: [] }), { rev: 3, slots: [] });
  assert.equal(plan.daysText(["mon", "tue", "wed", "thu", "fri"]), "Mon–Fri");
  assert.equal(plan.daysText(["mon", "wed"]), "Mon, Wed");
  assert.equal(plan.daysText("daily"), "Daily");
  assert.equal(plan.intervalText(16200), "4 h 30 min");
});

test("format: the care plan's answers in words", { timeout: 5000 }, () => {
  assert.deepEqual(resultText({ action: "plan", result: "ok", rev: 5 }), {
    tone: "ok",
    title: "ok",
    detail: "Plan saved (revision 5)",
  });
  assert.equal(
    resultText({ action: "plan", result: "rejected", reason: "out_of_bounds", detail: "max_daily 6 is over the vet's bound 4" }).detail,
    "Outside the vet's limits for this feeder: max_daily 6 is over the vet's bound 4",
  );
  assert.equal(resultText({ action: "skip", result: "ok" }).detail, "Dose skipped");
  assert.equal(format.actionLabel("refill"), "Refill");
});

// ---------- alerts.js (iod-notify's active set, notify commands) ----------

const alertsMod = await import("../../web/js/alerts.js");

test("active set: unacked first, critical first, bad entries dropped", () => {
  const a = alertsMod.activeFromPayload({
    active: [
      { key: "s/info/x", level: "info", message: "i", since: 1, acked_by: null, acked_at: null },
      { key: "s/crit/acked", level: "critical", message: "ca", since: 2, acked_by: "ann", acked_at: 9 },
      { key: "s/warn/x", level: "warning", message: "w", since: 3, acked_by: null, acked_at: null },
      { key: "s/crit/x", level: "critical", message: "c", since: 4, acked_by: null, acked_at: null },
      { level: "critical", message: "no key" },
      { key: "s/odd", level: "loud", message: "bad level", since: "x" },
      "not an object",
    ],
    ts: 10,
  });
  assert.deepEqual(a.list.map((x) => x.key), ["s/crit/x", "s/warn/x", "s/info/x", "s/odd", "s/crit/acked"]);
  assert.equal(a.ts, 10);
  const odd = a.list.find((x) => x.key === "s/odd");
  assert.equal(odd.level, "info");
  assert.equal(odd.since, null);
  const acked = a.list.at(-1);
  assert.equal(acked.ackedBy, "ann");
  assert.equal(acked.ackedAt, 9);
  assert.equal(alertsMod.activeFromPayload({ ts: 1 }), null);
  assert.equal(alertsMod.activeFromPayload("active"), null);
  assert.deepEqual(alertsMod.activeFromPayload({ active: [] }).list, []);
});

test("store: alerts, notify/info's VAPID key and notify/event", () => {
  const s = storeMod.createStore("home");
  assert.equal(s.active, null);
  let ch = storeMod.applyMessage(s, { topic: "iod/home/alerts", payload: { active: [{ key: "a/b", level: "warning", message: "m", since: 5, acked_by: null, acked_at: null }], ts: 6 }, ts: 7 });
  assert.ok(ch.has("active"));
  assert.equal(s.active.list[0].key, "a/b");
  ch = storeMod.applyMessage(s, { topic: "iod/home/notify/info", payload: { version: "1", since: 1, vapid_public_key: "BKey" }, ts: 7 });
  assert.ok(ch.has("active"));
  assert.equal(s.services.get("notify").info.vapidKey, "BKey");
  ch = storeMod.applyMessage(s, { topic: "iod/home/notify/event", payload: { id: "w-1", action: "ack", result: "ok", ts: 8 }, ts: 9 });
  assert.ok(ch.has("notify-event"));
  assert.deepEqual(s.notify.events[0], { id: "w-1", action: "ack", result: "ok", reason: "", detail: "", ts: 8 });
  // Another site's set is not ours.
  ch = storeMod.applyMessage(s, { topic: "iod/away/alerts", payload: { active: [], ts: 1 }, ts: 1 });
  assert.equal(ch.size, 0);
  assert.equal(s.active.list.length, 1);
});

test("notify commands, ack answers and what a browser lacks for push", () => {
  assert.deepEqual(alertsMod.notifyCommand("ack", "w-1", { key: "a/b" }), { key: "a/b", type: "cmd", service: "notify", action: "ack", id: "w-1" });
  // The browser's members cannot override the envelope.
  assert.equal(alertsMod.notifyCommand("ack", "w-1", { service: "feeder", type: "x" }).service, "notify");
  assert.equal(alertsMod.ackResultText({ result: "ok" }).tone, "ok");
  assert.match(alertsMod.ackResultText({ result: "duplicate", reason: "already_acked", detail: "acked by ann" }).text, /acked by ann/);
  assert.match(alertsMod.ackResultText({ result: "failed", reason: "unknown_key" }).text, /no longer active/);
  const env = (over = {}) => ({
    isSecureContext: true,
    navigator: { serviceWorker: {} },
    PushManager: function PushManager() {},
    Notification: { permission: "default" },
    ...over,
  });
  assert.equal(alertsMod.pushUnsupported(env(), "BKey"), "");
  assert.match(alertsMod.pushUnsupported(env({ isSecureContext: false }), "BKey"), /HTTPS/);
  assert.match(alertsMod.pushUnsupported(env({ navigator: {} }), "BKey"), /service workers/);
  const noPush = env();
  delete noPush.PushManager;
  assert.match(alertsMod.pushUnsupported(noPush, "BKey"), /no push service/);
  assert.match(alertsMod.pushUnsupported(env({ Notification: { permission: "denied" } }), "BKey"), /blocked/);
  assert.match(alertsMod.pushUnsupported(env(), ""), /not published its key/);
  assert.deepEqual([...alertsMod.b64urlToBytes("AQID_-8")], [1, 2, 3, 255, 239]);
});

test("a site's times show in its own zone, whatever the browser's", { timeout: 5000 }, () => {
  // 23:30 NZDT on 4 April 2026 = 10:30 UTC; the browser here is in UTC.
  const nz = Date.UTC(2026, 3, 4, 10, 30);
  const tz = "Pacific/Auckland";
  assert.equal(format.validTimeZone(tz), tz);
  assert.equal(format.validTimeZone("Not/AZone"), undefined);
  assert.equal(format.validTimeZone(""), undefined);
  assert.equal(format.validTimeZone(42), undefined);
  assert.equal(format.formatTime(nz, "en-GB", tz), "23:30");
  assert.equal(format.formatTime(nz, "en-GB"), "10:30");
  // Clocks go back at 03:00 that night: 6 h later is 04:30 NZST, tomorrow
  // there, the same day in UTC.
  assert.equal(formatClock(nz + 6 * HOUR, nz, "en-GB", tz), "Tomorrow 04:30");
  assert.equal(formatClock(nz + 6 * HOUR, nz, "en-GB"), "16:30");
  assert.equal(formatDay(nz - 11 * HOUR, nz, "en-GB", tz), "");
  assert.equal(formatDay(nz - 24 * HOUR, nz, "en-GB", tz), "yesterday");
  assert.equal(format.dayKey(nz, tz), "2026-04-04");
  assert.equal(format.dayKey(nz + 6 * HOUR, tz), "2026-04-05");
  // New York's 23 h day (8 March 2026), seen from UTC.
  const ny = Date.UTC(2026, 2, 8, 22, 30); // 18:30 EDT
  assert.equal(formatClock(ny - 18 * HOUR, ny, "en-GB", "America/New_York"), "Yesterday 23:30");
  assert.equal(formatClock(ny - 17 * HOUR, ny, "en-GB", "America/New_York"), "00:30");
  // The display zone: the default once set; an unknown one is the browser's.
  try {
    assert.equal(format.setDisplayZone(tz), tz);
    assert.equal(format.formatTime(nz, "en-GB"), "23:30");
    assert.equal(formatClock(nz + 6 * HOUR, nz, "en-GB"), "Tomorrow 04:30");
    assert.equal(format.setDisplayZone("Mars/Olympus"), undefined);
    assert.equal(format.formatTime(nz, "en-GB"), "10:30");
  } finally {
    format.setDisplayZone(undefined);
  }
  assert.match(format.zoneLabel(tz, nz, "en-GB"), /^(GMT\+13|NZDT)$/);
  assert.equal(format.zoneLabel("nope", nz), "");
});

test("the overview: one store per site, a card's summary in the site's zone", { timeout: 5000 }, async () => {
  const { SiteSet, siteSummary, sitesFromPayload, topicSite } = await import("../../web/js/sites.js");
  assert.equal(topicSite("iod/a/feeder/state"), "a");
  assert.equal(topicSite("iod//x"), null);
  assert.equal(topicSite("other/a/b"), null);
  assert.equal(topicSite(null), null);
  assert.deepEqual(sitesFromPayload([{ site: "a", name: "Ann's", dog: null, tz: "UTC" }, { site: "a" }, {}, "b", 7]), [
    { site: "a", name: "Ann's", dog: "", tz: "UTC" },
    { site: "b", name: "", dog: "", tz: "" },
  ]);
  assert.deepEqual(sitesFromPayload("nope"), []);

  const set = new SiteSet();
  set.reset([{ site: "nz", tz: "Pacific/Auckland" }, { site: "ny" }]);
  const now = Date.UTC(2026, 3, 4, 10, 30); // 23:30 in Auckland, 06:30 in New York
  const at = now + 6 * HOUR; // 04:30 NZST tomorrow; 12:30 EDT today
  set.apply({ topic: "iod/nz/feeder/state", payload: { next_scheduled: at, last_dose: null }, ts: now });
  set.apply({ topic: "iod/ny/feeder/schedule", payload: { date: "2026-04-04", slots: [
    { slot: "morning", at: now - HOUR, status: "given", dose: "d1" },
    { slot: "noon", at, status: "pending" },
  ] }, ts: now });
  set.apply({ topic: "iod/ny/feeder/info", payload: { version: "1", since: 5, backend: "sim", tz: "America/New_York", site_name: "Bea's flat", dog_name: "Rex" }, ts: now });
  set.apply({ topic: "iod/ny/feeder/availability", payload: "online", ts: now });
  set.apply({ topic: "iod/ny/feeder/log", payload: { doses: [{ id: "d1", ts: now - HOUR, by: "bea", source: "schedule", result: "uncertain" }] }, ts: now });
  set.apply({ topic: "iod/ny/alerts", payload: { active: [
    { key: "k1", level: "warning", code: "dose_uncertain" },
    { key: "k2", level: "critical", code: "missed_dose", acked_by: "bea", acked_at: now },
  ], ts: now }, ts: now });
  // a site first met in a frame joins the set
  assert.equal(set.apply({ topic: "iod/cabin/sensors/temperature", payload: { value: 20, ts: now }, ts: now }), "cabin");
  assert.equal(set.apply({ topic: "nothing" }), null);

  const nz = set.summary("nz", now, "en-GB");
  assert.equal(nz.title, "nz");
  assert.equal(nz.tz, "Pacific/Auckland");
  assert.equal(nz.next.text, "Tomorrow 04:30");
  assert.equal(nz.last, null);
  assert.deepEqual(nz.alerts, { open: 0, level: "" });
  assert.deepEqual(nz.services, { online: 0, known: 3 });

  const ny = set.summary("ny", now, "en-GB");
  assert.equal(ny.title, "Bea's flat");
  assert.equal(ny.dog, "Rex");
  assert.equal(ny.tz, "America/New_York");
  assert.equal(ny.next.text, "12:30"); // the pending slot, today in New York
  assert.equal(ny.last.text, "05:30");
  assert.equal(ny.last.resultText, "Uncertain");
  assert.equal(ny.last.by, "bea");
  assert.deepEqual(ny.alerts, { open: 1, level: "warning" }); // the acknowledged one does not count
  assert.deepEqual(ny.services, { online: 1, known: 3 });
  assert.deepEqual(set.ordered(), ["ny", "cabin", "nz"]); // "Bea's flat" sorts before "cabin"
  // a central bridge's own site (nothing but its bridge, no name) gets no card; once a
  // home's service speaks there, or it has a name, it does
  set.apply({ topic: "iod/central/bridge/availability", payload: "online", ts: now });
  set.apply({ topic: "iod/central/bridge/info", payload: { version: "1", since: 5, backend: "http" }, ts: now });
  assert.equal(set.isHome("central"), false);
  assert.deepEqual(set.ordered(), ["ny", "cabin", "nz"]);
  set.apply({ topic: "iod/ny/bridge/availability", payload: "online", ts: now });
  assert.equal(set.isHome("ny"), true, "a home with its own bridge is still a home");
  set.apply({ topic: "iod/central/feeder/availability", payload: "online", ts: now });
  assert.equal(set.isHome("central"), true);
  set.sites.delete("central");
  assert.equal(set.summary("nope", now), null);
  // an unknown zone falls back to the browser's (UTC here)
  const odd = siteSummary(set.sites.get("nz").store, { tz: "Not/AZone" }, now, "en-GB");
  assert.equal(odd.tz, "");
  assert.equal(odd.next.text, "16:30");
});
