// The records views against the bridge's own store (issue 13): mosquitto
// and the real iod-bridge with its SQLite records; readings and doses are
// published, the bridge is restarted, and in headless Chromium a chart
// switched to 7 d shows the readings from before the restart, the dose
// history lists the doses, the motion timeline the camera's event with its
// thumbnail, and the vet's report page prints to an A4 PDF.
// records-ui.test.mjs covers the views' behaviour with answers the store
// cannot be made to give on demand (a 503, page boundaries).
//
//   IOD_BIN_DIR=build/bin node tests/browser/records.test.mjs
//
// Screenshots and the PDF go to tests/browser/out/ (IOD_BROWSER_OUT).

import { after, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as lib from "./lib.mjs";
import { MOSQUITTO, UI_TIMEOUT, freePort, sleep, stop, waitPort } from "./lib.mjs";

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
const T_START = Date.now();

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (err) {
  console.error(`records.test: cannot load playwright-core (${err.message}); run \`npm ci\` in tests/browser/`);
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

const start = (name, file, args, env) => lib.start(tmp, name, file, args, env);
const waitText = (selector, re, timeout) => lib.waitText(page, selector, re, timeout);

function mqttPub(args) {
  return new Promise((resolve, reject) => {
    execFile("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(ports.mqtt), "-q", "1", ...args], { timeout: 10000 }, (err, o, e) =>
      err ? reject(new Error(`mosquitto_pub: ${e || err.message}`)) : resolve(),
    );
  });
}

// Readings every 3 h over the last 6 days (each 20 + k % 7 °C), and three
// doses of the feeder's log.
const READINGS = Array.from({ length: 48 }, (_, k) => ({ ts: T_START - 2 * HOUR - k * 3 * HOUR, value: 20 + (k % 7) }));
const DOSES = [
  { id: "schedule-a", ts: T_START - 5 * HOUR, by: "schedule", source: "schedule", slot: null, result: "ok", verified: true },
  { id: "web-b", ts: T_START - 29 * HOUR, by: "operator", source: "manual", result: "ok", verified: false },
  { id: "schedule-c", ts: T_START - 53 * HOUR, by: "schedule", source: "schedule", result: "failed", verified: null },
];

// A motion event with its thumbnail, as iod-camera publishes them.
const MOTION_TS = T_START - 90 * MIN;

async function startBridge() {
  const where = { mqttPort: ports.mqtt, bridgePort: ports.bridge, site: SITE, webDir: WEB_DIR, password };
  start("bridge", path.join(BIN_DIR, "iod-bridge"), [], lib.bridgeEnv({ ...where, dataDir: path.join(tmp, "bridge") }));
  await waitPort(ports.bridge, "iod-bridge");
}

let cookie = "";
async function login() {
  const res = await fetch(`${baseUrl}api/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ password }),
  });
  assert.equal(res.status, 200, "login");
  cookie = (res.headers.get("set-cookie") || "").split(";")[0];
  assert.match(cookie, /^iod_session=/);
}

async function api(pathAndQuery) {
  const res = await fetch(`${baseUrl}${pathAndQuery}`, { headers: { Cookie: cookie } });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

// Every reading falls in one of the answer's buckets.
function covered(answer, readings) {
  const b = answer.bucket_ms;
  return readings.filter((r) => answer.points.some(([ts]) => r.ts >= ts && r.ts < ts + b));
}

before(async () => {
  const bridgeBin = path.join(BIN_DIR, "iod-bridge");
  if (!BIN_DIR || !fs.existsSync(bridgeBin)) throw new Error(`iod-bridge not found in IOD_BIN_DIR=${JSON.stringify(BIN_DIR)}`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found`);
  if (!fs.existsSync(path.join(WEB_DIR, "node_modules/uplot"))) throw new Error("web/node_modules/uplot missing: run `npm ci` in web/");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "iod-records-"));
  fs.mkdirSync(path.join(tmp, "bridge"));
  ports.mqtt = await freePort();
  ports.bridge = await freePort();
  baseUrl = `http://127.0.0.1:${ports.bridge}/`;
  const conf = path.join(tmp, "mosquitto.conf");
  fs.writeFileSync(conf, lib.mosquittoConf(ports.mqtt));
  start("mosquitto", MOSQUITTO, ["-c", conf], {});
  await waitPort(ports.mqtt, "mosquitto");
  await startBridge();
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
  await page.screenshot({ path: path.join(OUT_DIR, `records-real-failed-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}.png`), fullPage: true }).catch(() => {});
});

async function eachLayout(fn) {
  try {
    for (const vp of [{ name: "390x844", width: 390, height: 844 }, { name: "1280x800", width: 1280, height: 800 }]) {
      await page.setViewportSize({ width: vp.width, height: vp.height });
      for (const scheme of ["light", "dark"]) {
        await page.emulateMedia({ colorScheme: scheme });
        await sleep(300);
        await fn(`${vp.name}-${scheme}`);
      }
    }
  } finally {
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1280, height: 800 });
  }
}

async function shot(selector, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator(selector).boundingBox();
  await page.screenshot({ path: path.join(OUT_DIR, `${name}.png`), fullPage: true, clip: box });
}

step("readings and doses published reach the store", async () => {
  await login();
  for (const r of READINGS) await mqttPub(["-t", TOPIC, "-m", JSON.stringify({ value: r.value, unit: "°C", ts: r.ts })]);
  await mqttPub(["-r", "-t", `iod/${SITE}/feeder/log`, "-m", JSON.stringify({ doses: DOSES })]);
  // The thumbnail: a real JPEG drawn by the browser's canvas.
  const jpeg = Buffer.from(
    (
      await page.evaluate(() => {
        const c = document.createElement("canvas");
        c.width = 160;
        c.height = 120;
        const g = c.getContext("2d");
        g.fillStyle = "#8f9779";
        g.fillRect(0, 0, 160, 120);
        g.fillStyle = "#e8e2d0";
        g.fillRect(50, 50, 60, 30);
        return c.toDataURL("image/jpeg", 0.8);
      })
    ).split(",")[1],
    "base64",
  );
  const thumb = path.join(tmp, "thumb.jpg");
  fs.writeFileSync(thumb, jpeg);
  await mqttPub(["-t", `iod/${SITE}/camera/motion`, "-m", JSON.stringify({ score: 0.05, active: true, ts: MOTION_TS })]);
  await mqttPub(["-V", "5", "-t", `iod/${SITE}/camera/snapshot`, "-D", "publish", "user-property", "for", `motion:${MOTION_TS}`, "-f", thumb]);
  await mqttPub(["-t", `iod/${SITE}/camera/motion`, "-m", JSON.stringify({ score: 0.001, active: false, ts: MOTION_TS + 42000 })]);
  const q = `api/history?topic=${encodeURIComponent(TOPIC)}&from=${T_START - 7 * DAY}&to=${T_START + HOUR}&points=600`;
  const end = Date.now() + 15000;
  let last;
  for (;;) {
    last = await api(q);
    if (last.status === 200 && covered(last.body, READINGS).length === READINGS.length) break;
    if (Date.now() > end) assert.fail(`history before the restart: ${JSON.stringify(last).slice(0, 400)}`);
    await sleep(200);
  }
  for (;;) {
    const e = await api(`api/events?kind=motion&from=${T_START - DAY}&to=${T_START + HOUR}`);
    if (e.status === 200 && e.body.events.length === 1 && e.body.events[0].thumbnail && e.body.events[0].end) break;
    if (Date.now() > end) assert.fail(`motion before the restart: ${JSON.stringify(e).slice(0, 400)}`);
    await sleep(200);
  }
  for (;;) {
    const d = await api(`api/doses?from=${T_START - 7 * DAY}&to=${T_START + HOUR}`);
    if (d.status === 200 && d.body.doses.length === DOSES.length) break;
    if (Date.now() > end) assert.fail(`doses before the restart: ${JSON.stringify(d).slice(0, 400)}`);
    await sleep(200);
  }
});

step("the bridge restarts (SIGTERM, exit 0) on the same store", async () => {
  const st = await stop("bridge");
  assert.equal(st.code, 0, `bridge exit ${JSON.stringify(st)}`);
  await startBridge();
  await login();
  // A current reading, retained, so the page has a temperature tile now.
  await mqttPub(["-r", "-t", TOPIC, "-m", JSON.stringify({ value: 21.5, unit: "°C", ts: Date.now() })]);
});

let answer = null;
step("the chart at 7 d shows the readings from before the restart", async () => {
  await page.goto(baseUrl);
  await page.waitForSelector("#gate", { state: "visible", timeout: UI_TIMEOUT });
  await page.fill("#gate-password", password);
  await page.click("#gate-form button[type=submit]");
  await page.waitForSelector("#dash", { state: "visible", timeout: UI_TIMEOUT });
  const tile = '.sensor[data-kind="temperature"]';
  await page.waitForSelector(`${tile} .range-control`, { timeout: UI_TIMEOUT });
  const got = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/history", { timeout: UI_TIMEOUT });
  await page.focus(`${tile} .range-button[data-range="7d"]`);
  await page.keyboard.press("Enter");
  const res = await got;
  assert.equal(res.status(), 200);
  answer = await res.json();
  const params = Object.fromEntries(new URL(res.url()).searchParams);
  assert.equal(params.topic, TOPIC);
  assert.equal(Number(params.to) - Number(params.from), 7 * DAY);
  assert.equal(covered(answer, READINGS).length, READINGS.length, "every reading from before the restart is in a bucket");
  await page.waitForSelector(`${tile} .chart[data-series="history"]`, { timeout: UI_TIMEOUT });
  const drawn = Number(await page.getAttribute(`${tile} .chart`, "data-points"));
  assert.ok(drawn >= answer.points.length && answer.points.length >= READINGS.length, `drawn ${drawn}, answered ${answer.points.length}`);
  assert.equal(await page.locator(`${tile} .chart-note`).isVisible(), false, "no error, no 'nothing recorded'");
  // The bucket means are the readings' values (one reading per bucket here).
  for (const r of READINGS.slice(0, 5)) {
    const p = answer.points.find(([ts]) => r.ts >= ts && r.ts < ts + answer.bucket_ms);
    assert.equal(p[1], r.value);
  }
});

step("the dose history lists the doses from the store, newest first", async () => {
  await page.waitForFunction((n) => document.querySelectorAll("#history-list .history-dose").length === n, DOSES.length, { timeout: UI_TIMEOUT });
  const times = await page.$$eval("#history-list .history-time", (ts) => ts.map((t) => t.getAttribute("datetime")));
  assert.deepEqual(times, DOSES.map((d) => new Date(d.ts).toISOString()));
  const outcomes = await page.$$eval("#history-list .history-outcome", (o) => o.map((x) => x.textContent));
  assert.deepEqual(outcomes, ["Given", "Given", "Failed"]);
  const csv = await page.getAttribute("#doses-csv", "href");
  const res = await fetch(new URL(csv, baseUrl), { headers: { Cookie: cookie } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") || "", /^text\/csv/);
  const lines = (await res.text()).trim().split("\r\n");
  assert.equal(lines[0], "id,time_local,time_utc,by,source,slot,outcome,verified");
  // The CSV is report.c's: oldest first.
  assert.deepEqual(lines.slice(1).map((l) => l.split(",")[0]), [...DOSES].sort((a, b) => a.ts - b.ts).map((d) => d.id));
});

step("the motion timeline shows the event from the store with its thumbnail", async () => {
  await page.waitForSelector("#motion-list .motion-event", { timeout: UI_TIMEOUT });
  assert.equal(await page.locator("#motion-list .motion-event").count(), 1);
  assert.equal(await page.getAttribute("#motion-list time", "datetime"), new Date(MOTION_TS).toISOString());
  await waitText("#motion-list .motion-meta", /^for 42 s$/);
  await page.locator("#motion-list img").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => {
    const img = document.querySelector("#motion-list img");
    return img && img.complete && img.naturalWidth === 160;
  }, null, { timeout: UI_TIMEOUT });
  assert.match(await page.getAttribute("#motion-list img", "alt"), /^Camera view when motion started, /);
});

step("screenshots of the 7-day chart and the dose history: phone and desktop, light and dark; axe", async () => {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  await eachLayout(async (label) => {
    await lib.axeCheck(page, `records (real store) ${label}`);
    await shot("#sensors", `records-real-chart-${label}`);
    await shot("#history", `records-real-doses-${label}`);
    await shot("#motion", `records-real-motion-${label}`);
  });
});

step("the report page from the store prints to an A4 PDF", async () => {
  await page.click("#report-link");
  await page.waitForURL(/report\.html$/, { timeout: UI_TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll("#days-body tr").length === 30, null, { timeout: UI_TIMEOUT });
  await waitText("#report-title", /^Medication report — home$/);
  await eachLayout(async (label) => {
    await lib.axeCheck(page, `report (real store) ${label}`);
    await page.screenshot({ path: path.join(OUT_DIR, `records-real-report-${label}.png`), fullPage: true });
  });
  const file = path.join(OUT_DIR, "records-real-report.pdf");
  await page.pdf({ path: file, format: "A4", preferCSSPageSize: true });
  const pdf = fs.readFileSync(file);
  assert.equal(pdf.subarray(0, 5).toString("latin1"), "%PDF-");
  const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.ok(pages >= 1, `${pages} pages`);
  console.log(`report PDF from the store: ${pages} A4 pages, ${pdf.length} bytes`);
});

step("no uncaught errors and no CSP violations", async () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});
