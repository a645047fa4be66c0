// The real dashboard in headless Chromium against the real services: a
// private mosquitto on a free loopback port, iod-bridge serving the source
// web/ directory, iod-feeder with no schedule, and Debian's chromium driven
// by playwright-core.
//
//   IOD_BIN_DIR=build/bin node tests/browser/dashboard.test.mjs
//
// Needs `npm ci` in tests/browser/ (playwright-core) and, for the charts,
// in web/ (uPlot); without web/node_modules the page must still work and
// say "charts unavailable", and this test checks that instead.
// Screenshots go to tests/browser/out/ (IOD_BROWSER_OUT overrides).
//
// Time: every time-dependent text ("tomorrow · in 6 h", "allowed at
// Tomorrow 01:04") is computed here from the feeder's own state in the
// browser's time zone, so the test passes at any hour in any zone. To prove
// it, ctest runs it again under a forced clock (CMakeLists.txt):
//   IOD_TEST_FAKETIME="2026-04-04 23:30:00" TZ=Pacific/Auckland
// starts mosquitto, iod-bridge and iod-feeder under libfaketime (one offset
// for all, monotonic clocks left real) and gives Chromium the same zone
// (timezoneId) and the same wall clock (Playwright's page clock), and
//   IOD_TEST_EXPECT_ALLOWED="^04:[34][0-9]$" IOD_TEST_EXPECT_ALLOWED_DAY=tomorrow
// say what "Next allowed" must read after the first dose there, so a wrong
// zone or a missed DST change fails.

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
const MIN_INTERVAL_MS = 6 * 3600 * 1000; // the feeder's default IOD_FEEDER_MIN_INTERVAL
const DAY_MS = 24 * 3600 * 1000;

// ---------- the clock ----------

// The zone the browser is given: this process's own (TZ, else the
// system's), so that the expectations below are computed in the same zone.
const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const FAKETIME = process.env.IOD_TEST_FAKETIME || "";
const FAKETIME_LIB = process.env.IOD_FAKETIME_LIB || "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
// Forced wall clock - real wall clock, whole seconds (libfaketime's
// relative offset); 0 without a forced clock.
let clockOffsetMs = 0;
if (FAKETIME) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(FAKETIME);
  if (!m) {
    console.error(`IOD_TEST_FAKETIME=${JSON.stringify(FAKETIME)}: want "YYYY-MM-DD HH:MM[:SS]" (local time in TZ)`);
    process.exit(1);
  }
  const start = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)).getTime();
  clockOffsetMs = Math.round((start - Date.now()) / 1000) * 1000;
  if (!fs.existsSync(FAKETIME_LIB)) {
    console.error(`IOD_TEST_FAKETIME is set but ${FAKETIME_LIB} is missing (Debian: libfaketime)`);
    process.exit(1);
  }
}
// The services' wall clock (forced or not), in ms.
const clockNow = () => Date.now() + clockOffsetMs;

// Environment that puts a service on the forced clock. The monotonic
// clocks stay real (FAKETIME_DONT_FAKE_MONOTONIC): libuv, Paho's and
// mosquitto's timeouts and the feeder's CLOCK_BOOTTIME interval guard run
// as on a machine whose wall clock simply reads that time.
function clockEnv() {
  if (!FAKETIME) return {};
  const secs = clockOffsetMs / 1000;
  return {
    LD_PRELOAD: FAKETIME_LIB,
    FAKETIME: secs >= 0 ? `+${secs}` : String(secs),
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
    TZ: TIME_ZONE,
  };
}

// Local-time facts, computed here with plain Date arithmetic (not with the
// page's format.js), in TIME_ZONE.
const pad2 = (n) => String(n).padStart(2, "0");
function localHHMM(ms) {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}
function localDayIndex(ms) {
  const d = new Date(ms);
  return Math.round(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / DAY_MS);
}
// "" (same local day), "tomorrow", "yesterday", or null (further).
function dayWord(ms, nowMs) {
  const diff = localDayIndex(ms) - localDayIndex(nowMs);
  return diff === 0 ? "" : diff === 1 ? "tomorrow" : diff === -1 ? "yesterday" : null;
}
// The day words of ms seen from any "now" in [fromMs, toMs]: one, or two if
// a local midnight fell in between (then either is right).
function dayWords(ms, fromMs, toMs) {
  return [...new Set([dayWord(ms, fromMs), dayWord(ms, toMs)])];
}
// "Doses today" after the one dose in st: 1, or, once a local midnight has
// passed since it, 1 until the feeder says otherwise and 0 when it does.
function dosesTodayRe(st) {
  return dayWord(st.last_dose, clockNow()) === "" ? /^1$/ : /^[01]$/;
}
const reEscape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (err) {
  console.error(
    `dashboard.test: cannot load playwright-core (${err.message}).\n` +
      "Run `npm ci` in tests/browser/ first (scripts/test.sh does).",
  );
  process.exit(1);
}

// ---------- processes ----------

let tmp;
let failed = false;

// lib.start, on the services' clock, logging into tmp.
function start(name, file, args, env) {
  return lib.start(tmp, name, file, args, { ...clockEnv(), ...env });
}

// The retained payload of topic (JSON), as a fresh subscriber gets it.
function mqttRetained(topic) {
  return new Promise((resolve, reject) => {
    execFile(
      "mosquitto_sub",
      ["-h", "127.0.0.1", "-p", String(ports.mqtt), "-t", topic, "-C", "1", "-W", "10", "--retained-only"],
      { timeout: 15000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`mosquitto_sub ${topic}: ${stderr || err.message}`));
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error(`mosquitto_sub ${topic}: not JSON: ${JSON.stringify(stdout)}`));
        }
      },
    );
  });
}

function mqttPub(args) {
  return new Promise((resolve, reject) => {
    execFile(
      "mosquitto_pub",
      ["-h", "127.0.0.1", "-p", String(ports.mqtt), "-q", "1", ...args],
      { timeout: 10000 },
      (err, stdout, stderr) => (err ? reject(new Error(`mosquitto_pub ${args.join(" ")}: ${stderr || err.message}`)) : resolve()),
    );
  });
}

const ports = { mqtt: 0, bridge: 0 };
const password = crypto.randomBytes(16).toString("hex");
let baseUrl;

function bridgeEnv(extra = {}) {
  const where = { mqttPort: ports.mqtt, bridgePort: ports.bridge, site: SITE, webDir: WEB_DIR, password };
  return lib.bridgeEnv({ ...where, dataDir: path.join(tmp, "bridge") }, extra);
}

async function startBridge(extra) {
  start("bridge", path.join(BIN_DIR, "iod-bridge"), [], bridgeEnv(extra));
  await waitPort(ports.bridge, "iod-bridge");
  const end = Date.now() + 10000;
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}healthz`);
      if (res.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error("iod-bridge: /healthz did not answer 200");
    await sleep(100);
  }
}

// The test's private broker; started again on the same port by the broker
// step.
async function startMosquitto() {
  const conf = path.join(tmp, "mosquitto.conf");
  // Kept across the broker step's restart, as the shipped config does.
  const keep = ["persistence true", `persistence_location ${tmp}/`, "log_type warning"];
  fs.writeFileSync(conf, lib.mosquittoConf(ports.mqtt, keep));
  start("mosquitto", MOSQUITTO, ["-c", conf], {});
  await waitPort(ports.mqtt, "mosquitto");
}

// ---------- browser ----------

let context;
let page;
let feedState = null; // the feeder's retained state after the first dose
const pageErrors = []; // uncaught exceptions in the page
const cspViolations = [];

const waitText = (selector, re, timeout) => lib.waitText(page, selector, re, timeout);

async function waitAttr(selector, attr, value, timeout = UI_TIMEOUT) {
  try {
    await page.waitForSelector(`${selector}[${attr}="${value}"]`, { timeout, state: "attached" });
  } catch {
    const actual = await page
      .locator(selector)
      .first()
      .getAttribute(attr, { timeout: 1000 })
      .catch(() => null);
    throw new Error(`${selector}: expected ${attr}="${value}", found ${JSON.stringify(actual)}`);
  }
}

async function visible(selector) {
  return page.locator(selector).first().isVisible();
}

// ---------- accessibility (axe-core, from npm) ----------

const VIEWPORTS = [
  { name: "1440x900", width: 1440, height: 900 },
  { name: "375x812", width: 375, height: 812 },
];

const axeCheck = (label) => lib.axeCheck(page, label);

// axeCheck in light and dark, on a desktop and a phone; back to 1440x900
// light afterwards.
async function axeEverywhere(label) {
  try {
    for (const vp of VIEWPORTS) {
      await page.setViewportSize({ width: vp.width, height: vp.height });
      for (const colorScheme of ["light", "dark"]) {
        await page.emulateMedia({ colorScheme });
        await sleep(200); // charts follow the scheme and the width
        await axeCheck(`${label}, ${vp.name}, ${colorScheme}`);
      }
    }
  } finally {
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1440, height: 900 });
  }
}

async function screenshot(name, opts = {}) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.png`);
  // Chromium's full-page capture keeps the scroll offset: the sticky top
  // bar is drawn where the viewport's top was, mid-page, which no user
  // sees. Capture from the top and scroll back.
  const y = opts.fullPage ? await page.evaluate(() => window.scrollY) : 0;
  if (y) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, ...opts });
  if (y) await page.evaluate((top) => window.scrollTo(0, top), y);
  return file;
}

// ---------- setup ----------

before(async () => {
  for (const bin of ["iod-bridge", "iod-feeder"]) {
    const file = path.join(BIN_DIR, bin);
    if (!BIN_DIR || !fs.existsSync(file)) {
      throw new Error(`${bin} not found in IOD_BIN_DIR=${JSON.stringify(BIN_DIR)}: build it first (ctest sets IOD_BIN_DIR)`);
    }
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "iod-browser-"));
  ports.mqtt = await freePort();
  ports.bridge = await freePort();
  baseUrl = `http://127.0.0.1:${ports.bridge}/`;

  await startMosquitto();

  await startBridge();
  fs.mkdirSync(path.join(tmp, "feeder"));
  start("feeder", path.join(BIN_DIR, "iod-feeder"), [], {
    IOD_MQTT_URL: `tcp://127.0.0.1:${ports.mqtt}`,
    IOD_SITE: SITE,
    IOD_FEEDER_SCHEDULE: "none",
    IOD_DATA_DIR: path.join(tmp, "feeder"),
    IOD_LOG_LEVEL: "info",
  });

  context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1440, height: 900 },
    colorScheme: "light",
    locale: "en-GB",
    timezoneId: TIME_ZONE,
  });
  // Under a forced clock the page's Date runs on the services' clock too
  // (its timers keep running in real time).
  if (FAKETIME) await context.clock.install({ time: clockNow() });
  page = context.pages()[0] || (await context.newPage());
  lib.watchPage(page, pageErrors, cspViolations);
});

after(async () => {
  if (context) await context.close().catch(() => {});
  const statuses = await lib.stopAll(tmp, failed, ["bridge", "feeder", "mosquitto"]);
  for (const [name, st] of Object.entries(statuses)) {
    if (name !== "mosquitto" && st && st.code !== 0) {
      console.error(`${name} exited with ${JSON.stringify(st)} on SIGTERM (expected 0)`);
      process.exitCode = 1;
    }
  }
});

// Each step records a failure so that after() can print the services' logs.
const step = lib.makeStep(async (name) => {
  failed = true;
  if (page) await screenshot(`failure-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}`).catch(() => {});
});

// ---------- the steps, in order (they share one browser page) ----------

step("the browser and the services share one clock and one zone", async () => {
  await page.goto(`${baseUrl}healthz`);
  const seen = await page.evaluate(() => ({ now: Date.now(), zone: Intl.DateTimeFormat().resolvedOptions().timeZone }));
  assert.equal(seen.zone, TIME_ZONE);
  // Seconds apart at most (no wall-clock assertion: a forced clock that did
  // not take is months away).
  assert.ok(Math.abs(seen.now - clockNow()) < 120000, `page clock ${new Date(seen.now).toISOString()}, services ${new Date(clockNow()).toISOString()}`);
});

step("without a session the page shows only the login form", async () => {
  const session = await (await fetch(`${baseUrl}api/session`)).json();
  assert.equal(session.operator, false);
  assert.equal(session.public_view, false);
  await page.goto(baseUrl);
  await page.waitForSelector("#gate", { state: "visible", timeout: UI_TIMEOUT });
  assert.equal(await visible("#dash"), false, "the dashboard must stay hidden without a session");
  await page.setViewportSize({ width: 375, height: 812 });
  await screenshot("login-375x812");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot("login-375x812-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1440, height: 900 });
});

step("axe: no serious or critical violations on the login page (light, dark, desktop, phone)", async () => {
  await axeEverywhere("the login page");
});

step("a wrong password is refused with a message", async () => {
  await page.fill("#gate-password", "not-the-password");
  await page.click("#gate-form button[type=submit]");
  await waitText("#gate-error", /Wrong user name or password/);
  assert.equal(await visible("#dash"), false);
});

step("the operator logs in and the dashboard goes live", async () => {
  await page.fill("#gate-password", password);
  await page.click("#gate-form button[type=submit]");
  await page.waitForSelector("#dash", { state: "visible", timeout: UI_TIMEOUT });
  await waitAttr("#conn", "data-state", "live");
  await waitText("#conn-text", /^Live$/);
  await waitText("#role", /^admin \(admin\)$/);
  // The feeder announces itself (retained availability through the bridge).
  await waitAttr('.service[data-service="feeder"]', "data-status", "online");
  await waitText('.service[data-service="feeder"] .service-status', /^Online$/);
  // Its start time, by its own clock, is the test's (forced) clock.
  const info = await mqttRetained(`iod/${SITE}/feeder/info`);
  assert.ok(
    Math.abs(info.since - clockNow()) < 120000,
    `iod-feeder started at ${new Date(info.since).toISOString()} by its clock, the test's is ${new Date(clockNow()).toISOString()}`,
  );
  // Its retained state: no dose yet on a fresh journal.
  await waitText("#f-last", /None yet/);
  await waitText("#f-today", /^0$/);
});

step("a reading published with mosquitto_pub appears without reload", async () => {
  await page.evaluate(() => {
    window.iodTestMarker = "same-page";
  });
  const now = clockNow();
  await mqttPub([
    "-r",
    "-t",
    `iod/${SITE}/sensors/temperature`,
    "-m",
    JSON.stringify({ value: 23.4, unit: "°C", ts: now }),
  ]);
  await waitText('.sensor[data-kind="temperature"] .value', /^23\.4$/);
  await waitText('.sensor[data-kind="temperature"] .unit', /^°C$/);
  // Its age is taken against the bridge's clock (hello's ts): a reading
  // stamped by the test's clock is seconds old, not months.
  await waitText('.sensor[data-kind="temperature"] .sensor-age', /^(just now|now|\d+ s ago)$/);
  await mqttPub([
    "-r",
    "-t",
    `iod/${SITE}/sensors/temperature`,
    "-m",
    JSON.stringify({ value: 24.6, unit: "°C", ts: now + 1000 }),
  ]);
  await waitText('.sensor[data-kind="temperature"] .value', /^24\.6$/);
  // A kind nobody planned for gets its own tile.
  await mqttPub(["-t", `iod/${SITE}/sensors/co2`, "-m", JSON.stringify({ value: 612, unit: "ppm", ts: now })]);
  await waitText('.sensor[data-kind="co2"] .sensor-name', /^Co2$/);
  await waitText('.sensor[data-kind="co2"] .value', /^612$/);
  await mqttPub(["-t", `iod/${SITE}/sensors/humidity`, "-m", JSON.stringify({ value: 47, unit: "%", ts: now })]);
  await mqttPub(["-t", `iod/${SITE}/sensors/motion`, "-m", JSON.stringify({ value: 1, unit: "", ts: now })]);
  await waitText('.sensor[data-kind="motion"] .value', /^Motion$/);
  assert.equal(await page.evaluate(() => window.iodTestMarker), "same-page", "the page reloaded");

  const uplotInstalled = fs.existsSync(path.join(WEB_DIR, "node_modules/uplot/dist/uPlot.esm.js"));
  if (uplotInstalled) {
    assert.equal(await visible("#charts-note"), false, "uPlot is installed but the page says charts are unavailable");
    await page.waitForSelector('.sensor[data-kind="temperature"] .chart canvas', { timeout: UI_TIMEOUT });
  } else {
    await waitText("#charts-note", /Charts unavailable/);
    assert.equal(await visible("#charts-note"), true);
  }
});

step("camera frames arrive as binary frames and show as blob images", async () => {
  const jpegA = path.join(tmp, "a.jpg");
  const jpegB = path.join(tmp, "b.jpg");
  // Real JPEGs, made by the browser itself (no binary fixture in the repo).
  fs.writeFileSync(jpegA, await page.screenshot({ type: "jpeg", quality: 60, clip: { x: 0, y: 0, width: 320, height: 240 } }));
  fs.writeFileSync(jpegB, await page.screenshot({ type: "jpeg", quality: 60, clip: { x: 320, y: 0, width: 320, height: 240 } }));
  await mqttPub(["-q", "0", "-r", "-t", `iod/${SITE}/camera/frame`, "-f", jpegA]);
  await page.waitForFunction(
    () => {
      const img = document.getElementById("camera-img");
      return !img.hidden && img.src.startsWith("blob:") && img.complete && img.naturalWidth === 320;
    },
    null,
    { timeout: UI_TIMEOUT },
  );
  const first = await page.evaluate(() => document.getElementById("camera-img").src);
  await mqttPub(["-q", "0", "-r", "-t", `iod/${SITE}/camera/frame`, "-f", jpegB]);
  await page.waitForFunction(
    (old) => {
      const img = document.getElementById("camera-img");
      return img.src !== old && img.src.startsWith("blob:") && img.complete && img.naturalWidth === 320;
    },
    first,
    { timeout: UI_TIMEOUT },
  );
  // The previous object URL was revoked: an image can no longer load it.
  // (Not fetch(): the CSP's connect-src 'self' refuses blob: anyway.)
  const stillThere = await page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const probe = new Image();
        probe.onload = () => resolve(true);
        probe.onerror = () => resolve(false);
        probe.src = url;
      }),
    first,
  );
  assert.equal(stillThere, false, "the old camera frame's object URL was not revoked");
  assert.equal(await visible("#camera-empty"), false);
});

step("an alert shows with its level", async () => {
  await mqttPub([
    "-t",
    `iod/${SITE}/alert`,
    "-m",
    JSON.stringify({
      source: "sensors",
      level: "critical",
      code: "sensor_lost",
      message: "Bowl scale stopped answering",
      ts: clockNow(),
    }),
  ]);
  await waitText('.alert[data-level="critical"] .alert-message', /^Bowl scale stopped answering$/);
  await waitText('.alert[data-level="critical"] .alert-level', /critical/i);
});

step("a service going offline shows", async () => {
  await mqttPub(["-r", "-t", `iod/${SITE}/sensors/availability`, "-m", "online"]);
  await waitAttr('.service[data-service="sensors"]', "data-status", "online");
  await mqttPub(["-r", "-t", `iod/${SITE}/sensors/availability`, "-m", "offline"]);
  await waitAttr('.service[data-service="sensors"]', "data-status", "offline");
  await waitText('.service[data-service="sensors"] .service-status', /^Offline$/);
  // Its last readings stay, greyed: they are not live any more.
  await page.waitForSelector('.sensor[data-kind="temperature"][data-stale]', { state: "attached", timeout: UI_TIMEOUT });
});

step("Cancel in the confirmation sends nothing", async () => {
  await page.click('[data-action="home"]');
  await page.waitForSelector("#confirm", { state: "visible", timeout: UI_TIMEOUT });
  await waitText("#confirm-text", /No dose is given/);
  await page.click('#confirm button[value="cancel"]');
  await page.waitForSelector("#confirm", { state: "hidden", timeout: UI_TIMEOUT });
  await waitText("#answer-detail", /No command sent yet/);
});

step("axe: no serious or critical violations in the confirm dialog", async () => {
  await page.click('[data-action="feed"]');
  await page.waitForSelector("#confirm", { state: "visible", timeout: UI_TIMEOUT });
  await axeEverywhere("the Feed confirm dialog");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot("confirm-feed-1440x900-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.click('#confirm button[value="cancel"]');
  await page.waitForSelector("#confirm", { state: "hidden", timeout: UI_TIMEOUT });
  await waitText("#answer-detail", /No command sent yet/);
});

step("the operator feeds: confirmation, then the feeder's answer ok", async () => {
  await page.click('[data-action="feed"]');
  await page.waitForSelector("#confirm", { state: "visible", timeout: UI_TIMEOUT });
  await waitText("#confirm-text", /dose/);
  await waitText("#confirm-ok", /Give dose/);
  await screenshot("confirm-feed-1440x900");
  await page.click("#confirm-ok");
  await waitText("#answer-title", /^Feed — ok$/);
  await waitAttr("#answer", "data-tone", "ok");
  await waitText("#answer-detail", /Dose given/);
  // The feeder's retained state and log follow.
  await waitText("#dose-list .dose-by", /by admin/);
  await waitText("#dose-list .dose-source", /manual/);
  // "Next allowed": the feeder's next_allowed as a local time, and below it
  // the day (when not today) and how long from now, computed here in the
  // browser's zone from the feeder's own state.
  const st = await mqttRetained(`iod/${SITE}/feeder/state`);
  assert.equal(typeof st.last_dose, "number", JSON.stringify(st));
  // (The feeder reads the clock twice: a millisecond or so apart.)
  assert.ok(
    Math.abs(st.next_allowed - st.last_dose - MIN_INTERVAL_MS) <= 1000,
    `next_allowed is not last_dose + 6 h: ${JSON.stringify(st)}`,
  );
  feedState = st;
  assert.match(String(st.doses_today), dosesTodayRe(st), JSON.stringify(st));
  await waitText("#f-today", dosesTodayRe(st));
  await waitText("#f-allowed", new RegExp(`^${localHHMM(st.next_allowed)}$`));
  const days = dayWords(st.next_allowed, st.last_dose, clockNow());
  const prefix = days.map((d) => (d ? `${d} · ` : "")).map(reEscape).join("|");
  await waitText("#f-allowed-rel", new RegExp(`^(${prefix})in (5 h \\d+ min|6 h)$`));
  // Under a forced clock, what it must say there and then (CMakeLists.txt).
  if (process.env.IOD_TEST_EXPECT_ALLOWED) {
    await waitText("#f-allowed", new RegExp(process.env.IOD_TEST_EXPECT_ALLOWED));
  }
  if (process.env.IOD_TEST_EXPECT_ALLOWED_DAY !== undefined) {
    const day = process.env.IOD_TEST_EXPECT_ALLOWED_DAY;
    await waitText("#f-allowed-rel", new RegExp(`^${day ? `${day} · ` : ""}in (5 h \\d+ min|6 h)$`));
  }
});

step("a dose's verify event gets its own line; the Feed answer stays", async () => {
  const log = await mqttRetained(`iod/${SITE}/feeder/log`);
  const dose = log.doses.find((d) => d.source === "manual");
  assert.ok(dose, JSON.stringify(log));
  const verify = (body) =>
    mqttPub(["-t", `iod/${SITE}/feeder/event`, "-m", JSON.stringify({ id: dose.id, action: "verify", ...body })]);
  assert.equal(await page.isHidden("#verify"), true);
  await verify({ result: "ok", delta_g: 1.8, ts: dose.ts + 4000 });
  await waitText("#verify", /^Pill seen in the bowl \(\+1\.8 g\)$/);
  await waitAttr("#verify", "data-tone", "ok");
  // Last: the feeder's own verify (no bowl here) says the same.
  await verify({ result: "failed", reason: "no_bowl_reading", delta_g: null, ts: dose.ts + 5000 });
  await waitText("#verify", /^Not confirmed: no bowl reading$/);
  await waitAttr("#verify", "data-tone", "warn");
  assert.equal(await page.textContent("#answer-title"), "Feed — ok");
  assert.equal(await page.textContent("#answer-detail"), "Dose given");
  // The log's verified is feeder/log's, not the event's.
  const shown = await page.getAttribute("#dose-list li:first-child .dose-verified", "data-verified");
  assert.equal(shown, String(log.doses[0].verified ?? null));
});

step("a second Feed is rejected as too soon, in words", async () => {
  // The buttons come back once the first answer is in.
  await page.waitForSelector('[data-action="feed"]:not([disabled])', { timeout: UI_TIMEOUT });
  await page.setViewportSize({ width: 375, height: 812 }); // this time on a phone
  await page.click('[data-action="feed"]');
  await page.waitForSelector("#confirm", { state: "visible", timeout: UI_TIMEOUT });
  await waitText("#confirm-extra", /will refuse until/);
  await screenshot("confirm-feed-375x812");
  await page.click("#confirm-ok");
  await waitText("#answer-title", /^Feed — rejected$/);
  await waitAttr("#answer", "data-tone", "warn");
  // The time is a bare "HH:MM" today, "Tomorrow HH:MM" tomorrow.
  const at = localHHMM(feedState.next_allowed);
  const whens = dayWords(feedState.next_allowed, feedState.last_dose, clockNow()).map((d) => {
    assert.ok(d === "" || d === "tomorrow", `next allowed is ${d} days away`);
    return d ? `Tomorrow ${at}` : at;
  });
  await waitText("#answer-detail", new RegExp(`^Too soon: next dose allowed at (${whens.join("|")})$`));
  await waitText("#f-today", dosesTodayRe(feedState));
  await page.setViewportSize({ width: 1440, height: 900 });
});

// ---------- the care plan (issue 11) ----------

// The retained payload of topic once pred(payload) holds (the feeder
// republishes after answering; a fresh subscriber may still get the one
// before), bounded.
async function mqttRetainedUntil(topic, pred, what, timeoutMs = UI_TIMEOUT) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await mqttRetained(topic);
    if (pred(v)) return v;
    if (Date.now() > end) throw new Error(`${topic}: ${what} not seen; last ${JSON.stringify(v)}`);
    await sleep(200);
  }
}

let planBefore = null;

step("the care plan is shown with the vet's bounds, from the retained feeder/plan", async () => {
  planBefore = await mqttRetained(`iod/${SITE}/feeder/plan`);
  assert.equal(typeof planBefore.rev, "number", JSON.stringify(planBefore));
  await waitText("#p-rev", new RegExp(`^${planBefore.rev}$`));
  await waitText("#p-max", new RegExp(`^${planBefore.max_daily}$`));
  await waitText("#p-max-bound", new RegExp(`^vet: at most ${planBefore.bounds.max_daily}$`));
  await waitText("#p-interval-bound", new RegExp(`^vet: at least ${planBefore.bounds.min_interval_s / 3600} h$`));
  await waitText("#plan-state", /^Schedule on$/);
  const st = await mqttRetained(`iod/${SITE}/feeder/state`);
  await waitText("#p-pills", st.pills_remaining === null ? /^Not counted$/ : new RegExp(`^${st.pills_remaining}$`));
});

// Two daily slots 3 h and 9 h from now (the feeder's clock, the browser's
// zone): inside the vet's 4 h / 4 a day, and neither due during the test.
let editedSlots = null;

step("the operator edits the plan in Chromium: retained feeder/plan gets the new rev and members", async () => {
  await page.waitForSelector("#plan-edit:not([disabled])", { timeout: UI_TIMEOUT });
  await page.click("#plan-edit");
  await page.waitForSelector("#plan-dialog", { state: "visible", timeout: UI_TIMEOUT });
  // The editor keeps its inputs inside the bounds it shows.
  assert.equal(await page.locator("#plan-interval").getAttribute("min"), String(planBefore.bounds.min_interval_s / 3600));
  assert.equal(await page.locator("#plan-max").getAttribute("max"), String(planBefore.bounds.max_daily));
  await waitText("#plan-dialog-bounds", new RegExp(`at most ${planBefore.bounds.max_daily} a day`));
  const now = clockNow();
  editedSlots = [localHHMM(now + 3 * 3600 * 1000), localHHMM(now + 9 * 3600 * 1000)];
  for (const at of editedSlots) {
    await page.click("#slot-add");
    await page.locator(".slot-edit:last-child .slot-time").fill(at);
  }
  // Keyboard only for the daily maximum.
  await page.focus("#plan-max");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("2");
  await axeEverywhere("the plan editor");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot("plan-editor-390x844");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot("plan-editor-390x844-dark");
  await page.setViewportSize({ width: 1280, height: 800 });
  await screenshot("plan-editor-1280x800-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await screenshot("plan-editor-1280x800");
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.click("#plan-save");
  await page.waitForSelector("#plan-dialog", { state: "hidden", timeout: UI_TIMEOUT });
  const rev = planBefore.rev + 1;
  await waitText("#plan-answer-title", /^Plan change — ok$/);
  await waitText("#plan-answer-detail", new RegExp(`^Plan saved \\(revision ${rev}\\)$`));
  const plan = await mqttRetainedUntil(`iod/${SITE}/feeder/plan`, (p) => p.rev === rev, `rev ${rev}`);
  // The feeder keeps its slots in time of day order (9 h on may be past midnight).
  const inOrder = [...editedSlots].sort();
  assert.deepEqual(
    plan.slots,
    inOrder.map((at) => ({ at, days: "daily", enabled: true })),
    JSON.stringify(plan),
  );
  assert.equal(plan.max_daily, 2);
  assert.equal(plan.min_interval_s, planBefore.min_interval_s, "an unchanged member stays");
  assert.equal(plan.changed_by, "admin");
  await waitText("#p-rev", new RegExp(`^${rev}$`));
  await waitText("#p-max", /^2$/);
  await waitText("#p-slots", new RegExp(`^${inOrder[0]} daily · ${inOrder[1]} daily$`));
});

step("skip next: the next pending slot of retained feeder/schedule becomes skipped", async () => {
  const before = await mqttRetainedUntil(
    `iod/${SITE}/feeder/schedule`,
    (s) => s.slots.some((x) => x.status === "pending"),
    "a pending slot",
  );
  const next = before.slots.find((x) => x.status === "pending");
  // The page shows the schedule's slots with their times in this zone.
  await waitText(`.slot[data-slot="${next.slot}"] .slot-status`, /^Pending$/);
  await waitText(`.slot[data-slot="${next.slot}"] .slot-time`, new RegExp(`^${localHHMM(next.at)}$`));
  await page.click("#plan-skip");
  await page.waitForSelector("#confirm", { state: "visible", timeout: UI_TIMEOUT });
  await waitText("#confirm-extra", new RegExp(`Next pending dose: (Tomorrow )?${localHHMM(next.at)}\\.`));
  await page.click("#confirm-ok");
  await waitText("#plan-answer-title", /^Skip — ok$/);
  const after = await mqttRetainedUntil(
    `iod/${SITE}/feeder/schedule`,
    (s) => s.slots.some((x) => x.slot === next.slot && x.status === "skipped"),
    `${next.slot} skipped`,
  );
  assert.equal(after.slots.find((x) => x.slot === next.slot).dose, null);
  await waitText(`.slot[data-slot="${next.slot}"] .slot-status`, /^Skipped$/);
});

step("refill, pause until resumed and resume answer in the plan card", async () => {
  await page.waitForSelector("#refill-pills:not([disabled])", { timeout: UI_TIMEOUT });
  await page.fill("#refill-pills", "30");
  await page.click('[data-plan-action="refill"]');
  await waitText("#plan-answer-title", /^Refill — ok$/);
  const st = await mqttRetainedUntil(`iod/${SITE}/feeder/state`, (v) => v.pills_remaining === 30, "30 pills");
  await waitText("#p-pills", /^30$/);
  if (st.runs_out !== null) await waitText("#p-runs-out", /^run out /);
  await page.waitForSelector('[data-plan-action="pause"]:not([disabled])', { timeout: UI_TIMEOUT });
  await page.click('[data-plan-action="pause"]');
  await waitText("#plan-answer-title", /^Pause — ok$/);
  await waitText("#plan-state", /^Paused until resumed$/);
  await page.waitForSelector("#plan-resume:not([disabled])", { timeout: UI_TIMEOUT });
  await page.click("#plan-resume");
  await waitText("#plan-answer-title", /^Resume — ok$/);
  await waitText("#plan-state", /^Schedule on$/);
  // A rejected command says why, with the feeder's reason in words.
  await page.waitForSelector("#plan-treat:not([disabled])", { timeout: UI_TIMEOUT });
  await page.click("#plan-treat");
  await page.waitForSelector("#confirm", { state: "visible", timeout: UI_TIMEOUT });
  await page.click("#confirm-ok");
  await waitText("#plan-answer-title", /^Treat — (ok|rejected)$/);
});

step("the dose log shows each dose's outcome and verification, as in retained feeder/log", async () => {
  const log = await mqttRetained(`iod/${SITE}/feeder/log`);
  assert.ok(log.doses.length >= 1, JSON.stringify(log));
  const words = { ok: "Dispensed", failed: "Failed", uncertain: "Uncertain" };
  const ver = (v) => (v === true ? "verified in the bowl" : v === false ? "not seen in the bowl" : "not verified");
  const results = await page.locator("#dose-list .dose-result").allTextContents();
  const verified = await page.locator("#dose-list .dose-verified").allTextContents();
  assert.deepEqual(results, log.doses.map((d) => words[d.result]));
  assert.deepEqual(verified, log.doses.map((d) => ver(d.verified)));
  for (const vp of [
    { w: 390, h: 844, name: "390x844" },
    { w: 1280, h: 800, name: "1280x800" },
  ]) {
    await page.setViewportSize({ width: vp.w, height: vp.h });
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      await sleep(300);
      await page.locator("#plan").scrollIntoViewIfNeeded();
      await screenshot(`plan-${vp.name}-${scheme}`);
      await screenshot(`plan-${vp.name}-${scheme}-full`, { fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1440, height: 900 });
});

step("axe: no serious or critical violations on the dashboard (light, dark, desktop, phone)", async () => {
  await axeEverywhere("the dashboard");
});

step("the broker stops: the page says so, statuses are unknown, commands are off; it comes back", async () => {
  await page.waitForSelector('[data-action="feed"]:not([disabled])', { timeout: UI_TIMEOUT });
  await waitAttr('.service[data-service="feeder"]', "data-status", "online");
  const before = clockNow();
  const status = await stop("mosquitto");
  assert.deepEqual(status, { code: 0, signal: null }, "mosquitto did not exit cleanly on SIGTERM");
  // The websocket is fine; the bridge's MQTT connection is not.
  await waitAttr("#conn", "data-state", "broker-down");
  await waitText("#conn-text", /^Broker unreachable — not live$/);
  const after = clockNow();
  // Nobody can say who is online without the broker.
  for (const name of ["feeder", "sensors", "camera"]) {
    await waitAttr(`.service[data-service="${name}"]`, "data-status", "unknown");
    await waitText(`.service[data-service="${name}"] .service-status`, /^Unknown$/);
  }
  // Except the bridge's: the page is talking to it.
  await waitAttr('.service[data-service="bridge"]', "data-status", "online");
  await waitText('.service[data-service="bridge"] .service-status', /^Online$/);
  assert.equal(await visible("#services-note"), true, "the services card must say why every status is unknown");
  await page.waitForSelector('.sensor[data-kind="humidity"][data-stale]', { state: "attached", timeout: UI_TIMEOUT });
  // Feed, Home and Call are off, and the page says why, with the time.
  for (const action of ["feed", "home", "call"]) {
    assert.equal(await page.locator(`[data-action="${action}"]`).isDisabled(), true, `${action} must be disabled without a broker`);
  }
  // So are the care plan's.
  for (const action of ["edit", "skip", "treat", "resume", "pause", "refill"]) {
    const b = page.locator(`[data-plan-action="${action}"]`);
    assert.equal(await b.isDisabled(), true, `${action} must be disabled without a broker`);
    assert.ok(((await b.getAttribute("aria-describedby")) || "").split(" ").includes("broker-note"), action);
  }
  assert.equal(await page.locator("#refill-pills").isDisabled(), true);
  const since = [...new Set([localHHMM(before), localHHMM(after)])].join("|");
  await waitText("#broker-note", new RegExp(`^Commands unavailable: the bridge cannot reach the MQTT broker since (${since})\\. `));
  assert.equal(await visible("#broker-note"), true);
  const describedBy = await page.locator('[data-action="feed"]').getAttribute("aria-describedby");
  assert.ok((describedBy || "").split(" ").includes("broker-note"), `Feed's aria-describedby is ${describedBy}`);
  await screenshot("broker-down-1440x900");
  await page.setViewportSize({ width: 375, height: 812 });
  await sleep(300);
  await screenshot("broker-down-375x812");
  await page.emulateMedia({ colorScheme: "dark" });
  await sleep(300);
  await screenshot("broker-down-375x812-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1440, height: 900 });
  await axeEverywhere("the dashboard without a broker");

  // Back on the same port: the bridge and the feeder reconnect by themselves.
  await startMosquitto();
  await waitAttr("#conn", "data-state", "live", 60000);
  await waitText("#conn-text", /^Live$/);
  await waitAttr('.service[data-service="feeder"]', "data-status", "online", 60000);
  await waitText('.service[data-service="feeder"] .service-status', /^Online$/);
  await page.waitForSelector('[data-action="feed"]:not([disabled])', { timeout: UI_TIMEOUT });
  assert.equal(await visible("#broker-note"), false, "the broker note must go once the broker is back");
  assert.equal(await visible("#services-note"), false);
  assert.equal(await page.locator('[data-action="feed"]').getAttribute("aria-describedby"), null);
  assert.equal(await page.evaluate(() => window.iodTestMarker), "same-page", "the page reloaded");
}, 150000);

step("screenshots at 1440×900 and 375×812 (light and dark)", async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await sleep(300); // let the charts take their new width
  await screenshot("dashboard-1440x900");
  await screenshot("dashboard-1440x900-full", { fullPage: true });
  await page.setViewportSize({ width: 375, height: 812 });
  await sleep(300);
  await screenshot("dashboard-375x812");
  await screenshot("dashboard-375x812-full", { fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await sleep(300);
  await screenshot("dashboard-375x812-dark");
  await page.setViewportSize({ width: 1440, height: 900 });
  await sleep(300);
  await screenshot("dashboard-1440x900-dark");
  await page.emulateMedia({ colorScheme: "light" });
  // Nothing on the page is wider than a phone screen.
  await page.setViewportSize({ width: 375, height: 812 });
  await sleep(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 375, `the page is ${overflow}px wide at 375px: something overflows`);
  await page.setViewportSize({ width: 1440, height: 900 });
});

step("stopping the feeder (SIGTERM) exits 0 and shows it offline", async () => {
  const status = await stop("feeder");
  assert.deepEqual(status, { code: 0, signal: null }, "iod-feeder did not exit cleanly on SIGTERM");
  await waitAttr('.service[data-service="feeder"]', "data-status", "offline");
});

step("losing the bridge shows Offline — reconnecting, and the page recovers by itself", async () => {
  const status = await stop("bridge");
  assert.deepEqual(status, { code: 0, signal: null }, "iod-bridge did not exit cleanly on SIGTERM");
  await waitAttr("#conn", "data-state", "offline");
  await waitText("#conn-text", /^Offline — reconnecting in \d+ s$/);
  // Same port and data dir, now with public view: the operator's session
  // outlived the bridge (it is kept in the records store), so the page comes
  // back logged in, state restored from the snapshot; logged out, it is a
  // viewer's.
  await startBridge({ IOD_BRIDGE_PUBLIC_VIEW: "1" });
  await waitAttr("#conn", "data-state", "live", 45000);
  await waitText("#role", /^admin \(admin\)$/);
  await page.click("#logout");
  await waitText("#role", /^Viewer$/);
  await waitAttr("#conn", "data-state", "live");
  await waitText('.sensor[data-kind="temperature"] .value', /^24\.6$/);
  await waitAttr('.service[data-service="sensors"]', "data-status", "offline");
  assert.equal(await visible("#readonly-note"), true, "viewers must be told they are read-only");
  assert.equal(await page.locator('[data-action="feed"]').isDisabled(), true, "Feed must be disabled for a viewer");
  assert.equal(await page.locator("#plan-edit").isDisabled(), true, "the plan editor must be off for a viewer");
  assert.equal(await page.locator("#plan-skip").isDisabled(), true, "Skip must be disabled for a viewer");
  assert.equal(await page.evaluate(() => window.iodTestMarker), "same-page", "the page reloaded");
}, 90000);

step("a viewer logs in from the dialog, becomes operator, and logs out again", async () => {
  await page.click("#login-open");
  await page.waitForSelector("#login-dialog", { state: "visible", timeout: UI_TIMEOUT });
  await page.fill("#login-password", password);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector("#login-dialog", { state: "hidden", timeout: UI_TIMEOUT });
  await waitText("#role", /^admin \(admin\)$/);
  await waitAttr("#conn", "data-state", "live");
  await page.waitForSelector('[data-action="feed"]:not([disabled])', { timeout: UI_TIMEOUT });
  assert.equal(await visible("#readonly-note"), false);
  await page.click("#logout");
  await waitText("#role", /^Viewer$/);
  await waitAttr("#conn", "data-state", "live");
  assert.equal(await page.locator('[data-action="feed"]').isDisabled(), true, "Feed must be disabled after logout");
  const session = await page.evaluate(async () => (await fetch("api/session")).json());
  assert.equal(session.operator, false, "the bridge still sees an operator session after logout");
});

step("no uncaught errors and no CSP violations in the page", async () => {
  assert.deepEqual(pageErrors, [], "uncaught exceptions in the page");
  assert.deepEqual(cspViolations, [], "Content-Security-Policy violations");
});
