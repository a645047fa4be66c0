// The dashboard's records views (issue 13) in headless Chromium: each
// chart's range control, the dose history with its snapshots, paging and
// CSV link, the motion timeline, and the vet's report page printed to PDF.
// mosquitto and the real iod-bridge serve the page, the session and the
// live readings; the records endpoints (/api/history, /api/doses,
// /api/events, /api/report, the JPEGs) are answered by this test through
// Playwright's routing, to the contract (proto/README.md), so the page is
// tested whether or not the bridge's store is built, and with answers the
// store cannot be made to give on demand (a 503, a page boundary).
// records.test.mjs does the same against the bridge's own store.
//
//   IOD_BIN_DIR=build/bin node tests/browser/records-ui.test.mjs
//
// Screenshots (390x844 and 1280x800, light and dark) go to
// tests/browser/out/ (IOD_BROWSER_OUT overrides).

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as lib from "./lib.mjs";
import { MOSQUITTO, UI_TIMEOUT, freePort, sleep, waitPort } from "./lib.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = process.env.IOD_SOURCE_DIR || path.resolve(HERE, "../..");
const WEB_DIR = path.join(SOURCE_DIR, "web");
const OUT_DIR = process.env.IOD_BROWSER_OUT || path.join(HERE, "out");
const BIN_DIR = process.env.IOD_BIN_DIR || "";
const CHROMIUM = process.env.IOD_CHROMIUM || "/usr/bin/chromium";
const SITE = "home";
const TOPIC = `iod/${SITE}/sensors/temperature`;
const MIN = 60000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (err) {
  console.error(`records-ui.test: cannot load playwright-core (${err.message}); run \`npm ci\` in tests/browser/`);
  process.exit(1);
}

let tmp;
let failed = false;
let context;
let page;
const ports = { mqtt: 0, bridge: 0 };
const password = crypto.randomBytes(16).toString("hex");
let baseUrl;
const pageErrors = [];
const cspViolations = [];
const requests = []; // every records request the page made: {path, params}
let jpegs = []; // JPEG bytes made by the browser's canvas

const start = (name, file, args, env) => lib.start(tmp, name, file, args, env);
const waitText = (selector, re, timeout) => lib.waitText(page, selector, re, timeout);

function mqttPub(args) {
  return new Promise((resolve, reject) => {
    execFile("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(ports.mqtt), "-q", "1", ...args], { timeout: 10000 }, (err, o, e) =>
      err ? reject(new Error(`mosquitto_pub: ${e || err.message}`)) : resolve(),
    );
  });
}

// ---------- the records, as the bridge would answer them ----------

// Doses every 8 h going back from now: 45 of them (three pages of 20).
const NOW = Date.now();
const DOSES = Array.from({ length: 45 }, (_, i) => {
  const ts = NOW - 2 * HOUR - i * 8 * HOUR;
  const outcome = i % 11 === 3 ? "failed" : i % 7 === 5 ? "uncertain" : "ok";
  return {
    id: `schedule-${i}`,
    ts,
    by: i % 4 === 1 ? "ann" : "schedule",
    source: i % 4 === 1 ? "manual" : "schedule",
    slot: i % 4 === 1 ? null : `slot-${i}`,
    outcome,
    reason: outcome === "failed" ? "servo_stalled" : null,
    verified: outcome === "ok" ? i % 5 !== 2 : null,
    delta_g: outcome === "ok" && i % 5 !== 2 ? 1.2 + (i % 3) / 10 : null,
    snapshot: i % 6 === 4 ? null : `/api/snapshots/schedule-${i}.jpg`,
  };
});
const EVENTS = Array.from({ length: 14 }, (_, i) => ({
  id: 100 + i,
  kind: "motion",
  ts: NOW - 20 * MIN - i * 97 * MIN,
  end: i === 0 ? null : NOW - 20 * MIN - i * 97 * MIN + (15 + i * 7) * 1000,
  score: 0.02 + i / 100,
  thumbnail: i === 5 ? null : `/api/events/${100 + i}.jpg`,
}));

function report(days) {
  const out = [];
  const today = new Date(NOW);
  const tot = { planned: 0, given: 0, late: 0, missed: 0, failed: 0, uncertain: 0, served: 0, skipped: 0, paused: 0, pending: 0, verified: 0, manual: 0 };
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() - i);
    const date = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    const missed = i % 9 === 4 ? 1 : 0;
    const late = i % 6 === 1 ? 1 : 0;
    const failedN = i === 12 ? 1 : 0;
    const uncertain = i === 20 ? 1 : 0;
    const pending = i === 0 ? 1 : 0;
    const planned = 2 - pending;
    const given = planned - missed - late - failedN - uncertain;
    const row = { date, start: d.getTime(), end: d.getTime() + DAY, planned, given, late, missed, failed: failedN, uncertain, served: 0, skipped: 0, paused: 0, pending, verified: given + late - (i % 5 === 0 ? 1 : 0), manual: i % 10 === 3 ? 1 : 0 };
    for (const k of Object.keys(tot)) tot[k] += row[k];
    out.push(row);
  }
  const taken = (n) => {
    const rows = out.slice(-Math.min(n, out.length));
    const p = rows.reduce((s, r) => s + r.planned, 0);
    const t = rows.reduce((s, r) => s + r.given + r.late + r.served, 0);
    return { days: n, from: out[Math.max(0, out.length - n)].date, planned: p, taken: t, fraction: p ? t / p : null };
  };
  return {
    ts: NOW,
    from: out[0].date,
    to: out[out.length - 1].date,
    n_days: days,
    days: out,
    totals: tot,
    adherence_30: taken(30),
    adherence_90: { ...taken(90), days: 90 },
    plan_changes: [
      { ts: NOW - 20 * DAY, rev: 6, by: "vet", summary: "07:00 and 19:00 daily; at least 8 h apart" },
      { ts: NOW - 3 * DAY, rev: 7, by: "operator", summary: "19:00 instead of 20:00" },
    ],
  };
}

// A mean that wanders over days; min/max around it.
function history(from, to, points) {
  const bucket = Math.max(MIN, Math.ceil((to - from) / points / MIN) * MIN);
  const out = [];
  for (let t = Math.ceil(from / bucket) * bucket; t < to; t += bucket) {
    if (t > NOW - 30 * HOUR && t < NOW - 26 * HOUR) continue; // a gap: the sensor was off
    const v = 21 + 2 * Math.sin(t / (9 * HOUR)) + Math.sin(t / (37 * MIN)) / 3;
    out.push([t, Math.round(v * 100) / 100, Math.round((v - 0.4) * 100) / 100, Math.round((v + 0.5) * 100) / 100]);
  }
  return { topic: TOPIC, from, to, bucket_ms: bucket, points: out };
}

let historyDown = false; // 503 records_unavailable for /api/history

function json(route, status, body) {
  return route.fulfill({
    status,
    contentType: "application/json",
    headers: { "Cache-Control": "no-cache" },
    body: JSON.stringify(body),
  });
}

async function answerRecords(route) {
  const url = new URL(route.request().url());
  const q = Object.fromEntries(url.searchParams);
  requests.push({ path: url.pathname, params: q });
  const from = Number(q.from);
  const to = Number(q.to);
  if (url.pathname === "/api/history") {
    if (historyDown) return json(route, 503, { error: "records_unavailable", detail: "records.db: disk I/O error" });
    if (q.topic !== TOPIC) return json(route, 404, { error: "not_found" });
    if (!(from < to) || to - from > 400 * DAY) return json(route, 400, { error: "bad_range" });
    return json(route, 200, history(from, to, Number(q.points)));
  }
  if (url.pathname === "/api/doses") {
    const limit = Number(q.limit);
    const all = DOSES.filter((d) => d.ts >= from && d.ts < to);
    return json(route, 200, { doses: all.slice(0, limit), truncated: all.length > limit });
  }
  if (url.pathname === "/api/events") {
    if (q.kind !== "motion") return json(route, 400, { error: "bad_kind" });
    const all = EVENTS.filter((e) => e.ts >= from && e.ts < to);
    return json(route, 200, { events: all.slice(0, Number(q.limit)), truncated: all.length > Number(q.limit) });
  }
  if (url.pathname === "/api/report") {
    const days = Number(q.days);
    if (!(days >= 1 && days <= 366)) return json(route, 400, { error: "bad_days" });
    return json(route, 200, report(days));
  }
  const m = /^\/api\/(snapshots|events)\/([^/]+)\.jpg$/.exec(url.pathname);
  if (m) {
    const n = Number(m[2].replace(/\D/g, "")) || 0;
    return route.fulfill({ status: 200, contentType: "image/jpeg", body: jpegs[n % jpegs.length] });
  }
  return route.continue();
}

// ---------- setup ----------

before(async () => {
  const bridgeBin = path.join(BIN_DIR, "iod-bridge");
  if (!BIN_DIR || !fs.existsSync(bridgeBin)) throw new Error(`iod-bridge not found in IOD_BIN_DIR=${JSON.stringify(BIN_DIR)}`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found`);
  if (!fs.existsSync(path.join(WEB_DIR, "node_modules/uplot"))) throw new Error("web/node_modules/uplot missing: run `npm ci` in web/");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "iod-records-ui-"));
  ports.mqtt = await freePort();
  ports.bridge = await freePort();
  baseUrl = `http://127.0.0.1:${ports.bridge}/`;
  const conf = path.join(tmp, "mosquitto.conf");
  fs.writeFileSync(conf, lib.mosquittoConf(ports.mqtt));
  start("mosquitto", MOSQUITTO, ["-c", conf], {});
  await waitPort(ports.mqtt, "mosquitto");
  const where = { mqttPort: ports.mqtt, bridgePort: ports.bridge, site: SITE, webDir: WEB_DIR, password };
  start("bridge", bridgeBin, [], lib.bridgeEnv({ ...where, dataDir: path.join(tmp, "bridge") }));
  await waitPort(ports.bridge, "iod-bridge");
  context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 800 },
    colorScheme: "light",
    locale: "en-GB",
  });
  page = context.pages()[0] || (await context.newPage());
  // Snapshots and thumbnails: small real JPEGs drawn by the browser.
  jpegs = (
    await page.evaluate(() =>
      ["#7c6f64", "#8f9779", "#6b7b8c", "#a1866f"].map((bg, i) => {
        const c = document.createElement("canvas");
        c.width = 160;
        c.height = 120;
        const g = c.getContext("2d");
        g.fillStyle = bg;
        g.fillRect(0, 0, 160, 120);
        g.fillStyle = "#e8e2d0";
        g.beginPath();
        g.ellipse(60 + i * 12, 70, 34, 22, 0, 0, 2 * Math.PI);
        g.fill();
        return c.toDataURL("image/jpeg", 0.8).split(",")[1];
      }),
    )
  ).map((b64) => Buffer.from(b64, "base64"));
  assert.ok(jpegs.every((j) => j[0] === 0xff && j[1] === 0xd8), "canvas made JPEGs");
  await context.route(/\/api\/(history|doses|events|report|snapshots)(\b|\/|\?)/, answerRecords);
  lib.watchPage(page, pageErrors, cspViolations);
});

after(async () => {
  if (context) await context.close().catch(() => {});
  const statuses = await lib.stopAll(tmp, failed, ["bridge", "mosquitto"]);
  if (statuses.bridge && statuses.bridge.code !== 0) {
    console.error(`iod-bridge exited with ${JSON.stringify(statuses.bridge)} on SIGTERM (expected 0)`);
    process.exitCode = 1;
  }
});

const step = lib.makeStep(async (name) => {
  failed = true;
  if (!page) return;
  fs.mkdirSync(OUT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(OUT_DIR, `records-failed-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}.png`), fullPage: true }).catch(() => {});
});

const LAYOUTS = [
  { name: "390x844", width: 390, height: 844 },
  { name: "1280x800", width: 1280, height: 800 },
];

async function eachLayout(fn) {
  try {
    for (const vp of LAYOUTS) {
      await page.setViewportSize({ width: vp.width, height: vp.height });
      for (const scheme of ["light", "dark"]) {
        await page.emulateMedia({ colorScheme: scheme });
        await sleep(300); // charts follow the scheme and the width
        await fn(`${vp.name}-${scheme}`);
      }
    }
  } finally {
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1280, height: 800 });
  }
}

// An element as a user sees it: captured from the top of a full-page
// shot (an element screenshot scrolls, and the sticky top bar lands on it).
async function shot(selector, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator(selector).boundingBox();
  await page.screenshot({ path: path.join(OUT_DIR, `${name}.png`), fullPage: true, clip: box });
}

let firstReadingTs = 0; // the retained reading the tile starts with

const lastRequest = (p) => [...requests].reverse().find((r) => r.path === p);

// ---------- the dashboard ----------

step("log in; a temperature tile with its range control (1 h pressed)", async () => {
  firstReadingTs = Date.now();
  await mqttPub(["-r", "-t", TOPIC, "-m", JSON.stringify({ value: 21.4, unit: "°C", ts: firstReadingTs })]);
  await page.goto(baseUrl);
  await page.waitForSelector("#gate", { state: "visible", timeout: UI_TIMEOUT });
  await page.fill("#gate-password", password);
  await page.click("#gate-form button[type=submit]");
  await page.waitForSelector("#dash", { state: "visible", timeout: UI_TIMEOUT });
  await page.waitForSelector('.sensor[data-kind="temperature"] .range-control', { timeout: UI_TIMEOUT });
  const buttons = await page.$$eval('.sensor[data-kind="temperature"] .range-button', (bs) =>
    bs.map((b) => [b.textContent, b.getAttribute("aria-pressed")]),
  );
  assert.deepEqual(buttons, [["1 h", "true"], ["24 h", "false"], ["7 d", "false"], ["30 d", "false"]]);
  const group = page.locator('.sensor[data-kind="temperature"] .range-control');
  assert.equal(await group.getAttribute("role"), "group");
  assert.equal(await group.getAttribute("aria-label"), "Temperature chart range");
  assert.equal(requests.filter((r) => r.path === "/api/history").length, 0, "1 h fetches nothing");
});

step("7 d by keyboard: /api/history for 7 days at the chart's width; the chart says so", async () => {
  const tile = '.sensor[data-kind="temperature"]';
  await page.focus(`${tile} .range-button[data-range="7d"]`);
  await page.keyboard.press("Enter");
  await page.waitForSelector(`${tile}[data-range="7d"]`, { timeout: UI_TIMEOUT });
  await page.waitForFunction((sel) => document.querySelector(`${sel} .chart-note`).hidden, tile, { timeout: UI_TIMEOUT });
  const req = lastRequest("/api/history");
  assert.ok(req, "a history request was made");
  assert.equal(req.params.topic, TOPIC);
  assert.equal(Number(req.params.to) - Number(req.params.from), 7 * DAY);
  assert.ok(Math.abs(Number(req.params.to) - Date.now()) < 60000, "to is now");
  const width = await page.$eval(`${tile} .chart`, (e) => e.clientWidth);
  assert.equal(Number(req.params.points), width);
  assert.equal(await page.getAttribute(`${tile} .chart`, "aria-label"), "Temperature over the last 7 days");
  assert.equal(await page.getAttribute(`${tile} .range-button[data-range="7d"]`, "aria-pressed"), "true");
  assert.equal(await page.getAttribute(`${tile} .range-button[data-range="1h"]`, "aria-pressed"), "false");
  // The chart draws the fetched buckets (mean, and min..max as a band).
  const answered = history(Number(req.params.from), Number(req.params.to), Number(req.params.points)).points;
  const sent = answered.length;
  assert.ok(sent > 100);
  assert.equal(await page.getAttribute(`${tile} .chart`, "data-series"), "history");
  // The tile's current reading joins them when it is newer than the last
  // bucket's start (almost always: that bucket began before it).
  const held = firstReadingTs > answered[sent - 1][0] ? 1 : 0;
  assert.equal(await page.getAttribute(`${tile} .chart`, "data-points"), String(sent + held));
  // A live reading while shown: appended to the chart, the range stays.
  await mqttPub(["-r", "-t", TOPIC, "-m", JSON.stringify({ value: 23.1, unit: "°C", ts: Date.now() })]);
  await waitText(`${tile} .value`, /^23\.1$/);
  await page.waitForSelector(`${tile} .chart[data-points="${sent + held + 1}"]`, { timeout: UI_TIMEOUT });
  assert.equal(await page.getAttribute(`${tile}`, "data-range"), "7d");
});

step("a failed fetch says so in the card: 503 records_unavailable for 30 d", async () => {
  const tile = '.sensor[data-kind="temperature"]';
  historyDown = true;
  try {
    await page.click(`${tile} .range-button[data-range="30d"]`);
    await waitText(`${tile} .chart-note`, /^Could not load the last 30 days: Records unavailable: the bridge could not open its records store\. records\.db: disk I\/O error$/);
    assert.equal(await page.locator(`${tile} .chart-note`).isVisible(), true);
    assert.equal(await page.getAttribute(`${tile} .chart-note`, "role"), "status");
  } finally {
    historyDown = false;
  }
  await page.click(`${tile} .range-button[data-range="24h"]`);
  await page.waitForFunction((sel) => document.querySelector(`${sel} .chart-note`).hidden, tile, { timeout: UI_TIMEOUT });
  assert.equal(Number(lastRequest("/api/history").params.to) - Number(lastRequest("/api/history").params.from), DAY);
});

step("the dose history: 20 newest, outcome, verification, who, slot, local time, lazy snapshots", async () => {
  await page.waitForSelector("#history-list .history-dose", { timeout: UI_TIMEOUT });
  const rows = await page.$$eval("#history-list .history-dose", (lis) =>
    lis.map((li) => ({
      outcome: li.querySelector(".history-outcome").textContent,
      time: li.querySelector(".history-time").textContent,
      datetime: li.querySelector(".history-time").getAttribute("datetime"),
      who: li.querySelector(".history-who").textContent,
      verified: li.querySelector(".history-verified").textContent,
      img: li.querySelector("img") && {
        src: li.querySelector("img").getAttribute("src"),
        alt: li.querySelector("img").alt,
        loading: li.querySelector("img").loading,
      },
    })),
  );
  assert.equal(rows.length, 20);
  const d0 = DOSES[0];
  assert.equal(rows[0].datetime, new Date(d0.ts).toISOString());
  const local = new Date(d0.ts);
  const hhmm = `${String(local.getHours()).padStart(2, "0")}:${String(local.getMinutes()).padStart(2, "0")}`;
  assert.ok(rows[0].time.endsWith(hhmm), `${rows[0].time} ends with the local ${hhmm}`);
  assert.equal(rows[0].outcome, "Given");
  assert.equal(rows[0].who, "Scheduled · slot slot-0");
  assert.equal(rows[1].who, "Manual · by ann");
  assert.equal(rows[3].outcome, "Failed");
  assert.equal(rows[5].outcome, "Uncertain");
  assert.equal(rows[2].verified, "Not seen in the bowl");
  assert.equal(rows[0].verified, "Seen in the bowl (+1.2 g)");
  assert.equal(rows[0].img.src, "api/snapshots/schedule-0.jpg");
  assert.equal(rows[0].img.loading, "lazy");
  assert.match(rows[0].img.alt, /^Camera snapshot of the dose at /);
  assert.equal(rows[4].img, null, "no snapshot: no image");
  const req = lastRequest("/api/doses");
  assert.equal(req.params.limit, "20");
  const csv = await page.getAttribute("#doses-csv", "href");
  const q = Object.fromEntries(new URL(csv, baseUrl).searchParams);
  assert.equal(Number(q.from), DOSES[19].ts);
  assert.equal(q.to, req.params.to);
  assert.match(csv, /^api\/doses\.csv\?/);
  // A snapshot really loads (lazy: scrolled to).
  await page.locator("#history-list img").first().scrollIntoViewIfNeeded();
  await page.waitForFunction(() => {
    const img = document.querySelector("#history-list img");
    return img.complete && img.naturalWidth === 160;
  }, null, { timeout: UI_TIMEOUT });
  assert.equal(await page.isDisabled("#doses-newer"), true);
});

step("Older pages back by `to`; Newer returns; the CSV follows the page shown", async () => {
  await page.focus("#doses-older");
  await page.keyboard.press("Enter");
  await page.waitForFunction((id) => document.querySelector("#history-list .history-time").getAttribute("datetime") === id,
    new Date(DOSES[20].ts).toISOString(), { timeout: UI_TIMEOUT });
  assert.equal(lastRequest("/api/doses").params.to, String(DOSES[19].ts));
  const csv = Object.fromEntries(new URL(await page.getAttribute("#doses-csv", "href"), baseUrl).searchParams);
  assert.deepEqual([Number(csv.from), Number(csv.to)], [DOSES[39].ts, DOSES[19].ts]);
  await page.click("#doses-older");
  await page.waitForFunction(() => document.querySelectorAll("#history-list .history-dose").length === 5, null, { timeout: UI_TIMEOUT });
  assert.equal(await page.isDisabled("#doses-older"), true, "the last page has no Older");
  await page.click("#doses-newer");
  await page.click("#doses-newer");
  await page.waitForFunction((id) => document.querySelector("#history-list .history-time").getAttribute("datetime") === id,
    new Date(DOSES[0].ts).toISOString(), { timeout: UI_TIMEOUT });
  assert.equal(await page.isDisabled("#doses-newer"), true);
});

step("the motion timeline: events of the chosen range with their thumbnails and times", async () => {
  await page.waitForSelector("#motion-list .motion-event", { timeout: UI_TIMEOUT });
  const inDay = EVENTS.filter((e) => e.ts > NOW - DAY).length;
  assert.equal(await page.locator("#motion-list .motion-event").count(), inDay);
  const first = lastRequest("/api/events");
  assert.equal(first.params.kind, "motion");
  assert.equal(Number(first.params.to) - Number(first.params.from), DAY);
  await page.click('#motion-range .range-button[data-range="1h"]');
  await page.waitForFunction((n) => document.querySelectorAll("#motion-list .motion-event").length === n,
    EVENTS.filter((e) => e.ts > Date.now() - HOUR).length, { timeout: UI_TIMEOUT });
  await page.click('#motion-range .range-button[data-range="7d"]');
  await page.waitForFunction((n) => document.querySelectorAll("#motion-list .motion-event").length === n, EVENTS.length, { timeout: UI_TIMEOUT });
  const items = await page.$$eval("#motion-list .motion-event", (lis) =>
    lis.map((li) => ({ img: li.querySelector("img") ? li.querySelector("img").getAttribute("src") : null, time: li.querySelector("time").getAttribute("datetime"), meta: li.querySelector(".motion-meta").textContent })),
  );
  assert.equal(items[0].img, "api/events/100.jpg");
  assert.equal(items[0].time, new Date(EVENTS[0].ts).toISOString());
  assert.equal(items[0].meta, "");
  assert.equal(items[1].meta, "for 22 s");
  assert.equal(items[5].img, null);
  await waitText("#motion-count", /^14 events$/);
  // A motion start on camera/motion: the timeline asks again and shows it.
  const ts = Date.now();
  EVENTS.unshift({ id: 200, kind: "motion", ts, end: null, score: 0.08, thumbnail: "/api/events/200.jpg" });
  const asked = requests.filter((r) => r.path === "/api/events").length;
  await mqttPub(["-t", `iod/${SITE}/camera/motion`, "-m", JSON.stringify({ score: 0.08, active: true, ts })]);
  await waitText("#motion-count", /^15 events$/);
  assert.equal(requests.filter((r) => r.path === "/api/events").length, asked + 1, "one fetch for one start");
  assert.equal(await page.getAttribute("#motion-list .motion-event time", "datetime"), new Date(ts).toISOString());
});

step("axe and screenshots of the records views: phone and desktop, light and dark", async () => {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  await page.click('.sensor[data-kind="temperature"] .range-button[data-range="7d"]');
  await page.waitForFunction(() => document.querySelector('.sensor[data-kind="temperature"] .chart-note').hidden, null, { timeout: UI_TIMEOUT });
  await eachLayout(async (label) => {
    await lib.axeCheck(page, `records views ${label}`);
    await shot("#sensors", `records-chart-${label}`);
    await shot("#history", `records-doses-${label}`);
    await shot("#motion", `records-motion-${label}`);
  });
});

// ---------- the report ----------

step("the vet's report: per day counts, 30/90-day adherence with counts, plan changes by whom", async () => {
  await page.click("#report-link");
  await page.waitForURL(/report\.html$/, { timeout: UI_TIMEOUT });
  await page.waitForSelector("#days-body tr", { timeout: UI_TIMEOUT });
  const rep = report(30);
  assert.equal(lastRequest("/api/report").params.days, "30");
  const head = await page.$$eval("#days-head th", (ths) => ths.map((t) => t.textContent));
  assert.deepEqual(head, ["Date", "Planned", "Given", "Late", "Missed", "Uncertain", "Failed", "Verified"]);
  const rows = await page.$$eval("#days-body tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.equal(rows.length, 30);
  const d = rep.days[17];
  assert.deepEqual(rows[17].slice(1).map(Number), [d.planned, d.given, d.late, d.missed, d.uncertain, d.failed, d.verified]);
  const total = await page.$$eval("#days-total > *", (c) => c.map((x) => x.textContent));
  assert.deepEqual(total.slice(1).map(Number), [rep.totals.planned, rep.totals.given, rep.totals.late, rep.totals.missed, rep.totals.uncertain, rep.totals.failed, rep.totals.verified]);
  const a = rep.adherence_30;
  const pct = Math.round((a.taken / a.planned) * 1000) / 10;
  await waitText("#adh-30", new RegExp(`^${String(pct).replace(".", "\\.")} % \\(${a.taken} of ${a.planned} planned doses taken\\)$`));
  const changes = await page.$$eval("#changes-body tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.deepEqual(changes.map((c) => [c[1], c[2], c[3]]), [["6", "vet", "07:00 and 19:00 daily; at least 8 h apart"], ["7", "operator", "19:00 instead of 20:00"]]);
  await waitText("#report-title", /^Medication report — home$/);
  // 90 days.
  await page.check('input[name="days"][value="90"]');
  await page.waitForFunction(() => document.querySelectorAll("#days-body tr").length === 90, null, { timeout: UI_TIMEOUT });
  assert.equal(lastRequest("/api/report").params.days, "90");
  await page.check('input[name="days"][value="30"]');
  await page.waitForFunction(() => document.querySelectorAll("#days-body tr").length === 30, null, { timeout: UI_TIMEOUT });
});

step("the report: axe, screenshots, Print calls window.print, and page.pdf() is an A4 PDF", async () => {
  await eachLayout(async (label) => {
    await lib.axeCheck(page, `report ${label}`);
    await page.screenshot({ path: path.join(OUT_DIR, `records-report-${label}.png`) });
  });
  await page.evaluate(() => {
    window.__printed = 0;
    window.print = () => window.__printed++;
  });
  await page.focus("#print");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => window.__printed), 1);
  await page.check('input[name="days"][value="90"]');
  await page.waitForFunction(() => document.querySelectorAll("#days-body tr").length === 90, null, { timeout: UI_TIMEOUT });
  await page.emulateMedia({ media: "print", colorScheme: "dark" });
  // Printed: no bar, black on white (even from a dark screen).
  const printed = await page.evaluate(() => ({
    bar: getComputedStyle(document.querySelector(".report-bar")).display,
    color: getComputedStyle(document.body).color,
    bg: getComputedStyle(document.body).backgroundColor,
    thead: getComputedStyle(document.querySelector("#days-table thead")).display,
  }));
  assert.deepEqual(printed, { bar: "none", color: "rgb(0, 0, 0)", bg: "rgb(255, 255, 255)", thead: "table-header-group" });
  await page.setViewportSize({ width: 794, height: 1123 }); // A4 at 96 dpi, to look at
  await page.screenshot({ path: path.join(OUT_DIR, "records-report-print.png") });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ media: null, colorScheme: "light" });
  const file = path.join(OUT_DIR, "records-report-90d.pdf");
  await page.pdf({ path: file, format: "A4", preferCSSPageSize: true });
  const pdf = fs.readFileSync(file);
  assert.equal(pdf.subarray(0, 5).toString("latin1"), "%PDF-");
  const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.ok(pages >= 2, `90 days take more than one A4 page (${pages})`);
  const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(pdf.toString("latin1"));
  assert.ok(box, "a MediaBox");
  assert.ok(Math.abs(Number(box[1]) - 595.28) < 2 && Math.abs(Number(box[2]) - 841.89) < 2, `A4 portrait: ${box[1]} x ${box[2]}`);
  console.log(`report PDF: ${pages} A4 pages, ${pdf.length} bytes (${file})`);
});

step("no uncaught errors and no CSP violations", async () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});
