// Many homes in headless Chromium: one mosquitto, 20 homes each with a real
// iod-feeder and iod-sensors (sim backends), half of them in Auckland and
// half in New York (TZ of their processes), and one iod-bridge serving them
// all (IOD_BRIDGE_SITES=*). The browser itself is in Berlin, so a card that
// showed the browser's times instead of its home's would fail:
//
//   - after login the page goes to the overview (sites.html), 20 cards,
//     each with its home's name and dog (IOD_SITE_NAME / IOD_DOG_NAME in
//     the services' info), its next dose at the home's own schedule time
//     (each home's one slot is a distinct HH:MM of its zone), its zone, and
//     every service online;
//   - a card opens that home's page (./?site=<site>), whose header names it
//     and links back to "All homes"; its next scheduled dose is the same
//     local time;
//   - axe-clean and screenshots on a phone and a desktop, light and dark.
//
//   IOD_BIN_DIR=build/bin node tests/browser/sites.test.mjs
// Screenshots go to IOD_BROWSER_OUT (default tests/browser/out/).

import { after, before } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as lib from "./lib.mjs";
import { MOSQUITTO, UI_TIMEOUT, freePort, waitPort } from "./lib.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = process.env.IOD_SOURCE_DIR || path.resolve(HERE, "../..");
const WEB_DIR = path.join(SOURCE_DIR, "web");
const OUT_DIR = process.env.IOD_BROWSER_OUT || path.join(HERE, "out");
const BIN_DIR = process.env.IOD_BIN_DIR || "";
const CHROMIUM = process.env.IOD_CHROMIUM || "/usr/bin/chromium";
const N_SITES = 20;
const ZONES = ["Pacific/Auckland", "America/New_York"];
const BROWSER_ZONE = "Europe/Berlin";

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (err) {
  console.error(`sites.test: cannot load playwright-core (${err.message}). Run \`npm ci\` in tests/browser/.`);
  process.exit(1);
}

// Home i: its site id, names, zone and the one slot of its schedule (a
// distinct minute of the zone's day, so a card showing another home's or
// another zone's time cannot match).
const homes = Array.from({ length: N_SITES }, (_, i) => {
  const n = String(i + 1).padStart(2, "0");
  const minute = 5 + i * 2;
  return {
    site: `home${n}`,
    name: `Foster home ${n}`,
    dog: i % 3 === 0 ? `Zoë ${n}` : `Rex ${n}`,
    tz: ZONES[i % 2],
    at: `${String(9 + (i % 8)).padStart(2, "0")}:${String(minute).padStart(2, "0")}`,
  };
});

let tmp;
let failed = false;
const ports = { mqtt: 0, bridge: 0 };
const password = crypto.randomBytes(16).toString("hex");
let baseUrl;
let context;
let page;
const pageErrors = [];
const cspViolations = [];
const waitText = (selector, re, timeout) => lib.waitText(page, selector, re, timeout);

const step = lib.makeStep(async (name) => {
  failed = true;
  if (page) {
    fs.mkdirSync(OUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUT_DIR, `sites-failure-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 50)}.png`) }).catch(() => {});
  }
});

before(async () => {
  for (const bin of ["iod-bridge", "iod-feeder", "iod-sensors"]) {
    if (!BIN_DIR || !fs.existsSync(path.join(BIN_DIR, bin))) throw new Error(`${bin} not found in IOD_BIN_DIR=${JSON.stringify(BIN_DIR)}`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "iod-sites-browser-"));
  ports.mqtt = await freePort();
  ports.bridge = await freePort();
  baseUrl = `http://127.0.0.1:${ports.bridge}/`;
  const conf = path.join(tmp, "mosquitto.conf");
  fs.writeFileSync(conf, lib.mosquittoConf(ports.mqtt));
  lib.start(tmp, "mosquitto", MOSQUITTO, ["-c", conf], {});
  await waitPort(ports.mqtt, "mosquitto");
  const url = `tcp://127.0.0.1:${ports.mqtt}`;
  for (const h of homes) {
    const common = {
      IOD_MQTT_URL: url,
      IOD_SITE: h.site,
      IOD_SITE_NAME: h.name,
      IOD_DOG_NAME: h.dog,
      IOD_LOG_LEVEL: "warn",
      TZ: h.tz,
    };
    fs.mkdirSync(path.join(tmp, h.site, "feeder"), { recursive: true });
    lib.start(tmp, `${h.site}-feeder`, path.join(BIN_DIR, "iod-feeder"), [], {
      ...common,
      IOD_FEEDER_SCHEDULE: h.at,
      IOD_DATA_DIR: path.join(tmp, h.site, "feeder"),
    });
    lib.start(tmp, `${h.site}-sensors`, path.join(BIN_DIR, "iod-sensors"), [], common);
  }
  fs.mkdirSync(path.join(tmp, "bridge"));
  lib.start(
    tmp,
    "bridge",
    path.join(BIN_DIR, "iod-bridge"),
    [],
    lib.bridgeEnv(
      { mqttPort: ports.mqtt, bridgePort: ports.bridge, site: homes[0].site, webDir: WEB_DIR, password, dataDir: path.join(tmp, "bridge") },
      { IOD_BRIDGE_SITES: "*" },
    ),
  );
  await waitPort(ports.bridge, "iod-bridge");

  context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 800 },
    colorScheme: "light",
    locale: "en-GB",
    timezoneId: BROWSER_ZONE,
  });
  page = context.pages()[0] || (await context.newPage());
  lib.watchPage(page, pageErrors, cspViolations);
});

after(async () => {
  if (context) await context.close().catch(() => {});
  const logs = ["bridge", "mosquitto", `${homes[0].site}-feeder`, `${homes[1].site}-feeder`];
  const statuses = await lib.stopAll(tmp, failed, logs);
  for (const [name, st] of Object.entries(statuses)) {
    if (name !== "mosquitto" && st && st.code !== 0) {
      console.error(`${name} exited with ${JSON.stringify(st)} on SIGTERM (expected 0)`);
      process.exitCode = 1;
    }
  }
});

// Every card as the page shows it.
function readCards() {
  return page.$$eval(".site-card", (cards) =>
    cards.map((c) => ({
      site: c.dataset.site,
      title: c.querySelector(".site-title").textContent,
      dog: c.querySelector(".site-dog").textContent,
      next: c.querySelector(".site-next dd").textContent,
      services: c.querySelector(".site-services dd").textContent,
      zone: c.querySelector(".site-zone").textContent,
      href: c.querySelector("a").getAttribute("href"),
    })),
  );
}

// Feeder and sensors say online; the camera is not run in this test. The
// bridge's own IOD_SITE is home01, so its bridge counts there too.
const servicesOf = (h) => (h.site === homes[0].site ? "3 of 4 online" : "2 of 3 online");

step("after login, the overview: 20 cards, each home's name, dog, zone and next dose in its own zone", async () => {
  await page.goto(baseUrl);
  await page.waitForSelector("#gate-password", { state: "visible", timeout: UI_TIMEOUT });
  await page.fill("#gate-user", "admin");
  await page.fill("#gate-password", password);
  await page.click("#gate-form button[type=submit]");
  await page.waitForURL(/sites\.html$/, { timeout: UI_TIMEOUT });
  await waitText("#conn-text", /^Live$/);
  // Every home heard: 20 cards, each with its name and its dose time.
  let cards = [];
  const end = Date.now() + 60000;
  for (;;) {
    cards = await readCards();
    const ready = cards.length === N_SITES && cards.every((c) => {
      const h = homes.find((x) => x.site === c.site);
      return h && c.title === h.name && c.next.includes(h.at) && c.services === servicesOf(h);
    });
    if (ready) break;
    if (Date.now() > end) break;
    await lib.sleep(250);
  }
  assert.equal(cards.length, N_SITES, `cards: ${JSON.stringify(cards.map((c) => c.site))}`);
  for (const h of homes) {
    const c = cards.find((x) => x.site === h.site);
    assert.ok(c, `no card for ${h.site}`);
    assert.equal(c.title, h.name);
    assert.equal(c.dog, h.dog);
    // "09:05 · in 3 h" or "Tomorrow 09:05 · in 20 h": the home's own clock
    assert.match(c.next, new RegExp(`^(Tomorrow )?${h.at} · (in \\d.*|now)$`), `${h.site} (${h.tz}) next dose`);
    assert.match(c.zone, new RegExp(`^Times in ${h.tz.replace("/", "\\/")}`));
    assert.equal(c.services, servicesOf(h), `${h.site} services`);
    assert.equal(c.href, `./?site=${h.site}`);
  }
  // ordered by name, as people read them
  assert.deepEqual(cards.map((c) => c.site), homes.map((h) => h.site));
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
}, 120000);

step("overview screenshots and axe, phone and desktop, light and dark", async () => {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  for (const vp of [{ name: "phone-390x844", width: 390, height: 844 }, { name: "desktop-1280x800", width: 1280, height: 800 }]) {
    await page.setViewportSize({ width: vp.width, height: vp.height });
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(OUT_DIR, `sites-${vp.name}-${scheme}.png`) });
      await lib.axeCheck(page, `overview ${vp.name} ${scheme}`);
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1280, height: 800 });
}, 120000);

step("a card opens its home's page: its name, its zone's dose time, a way back", async () => {
  const h = homes[3]; // New York
  await page.click(`.site-card[data-site="${h.site}"] a`);
  await page.waitForURL(new RegExp(`\\?site=${h.site}$`), { timeout: UI_TIMEOUT });
  await waitText("#conn-text", /^Live$/);
  await waitText("#site-name", new RegExp(`^${h.name}$`));
  await waitText("#f-sched", new RegExp(`^${h.at}$`));
  assert.equal(await page.isVisible("#all-homes"), true);
  // another home's records are not on this bridge: the sections are hidden
  assert.equal(await page.isVisible("#history"), false);
  await page.screenshot({ path: path.join(OUT_DIR, "sites-home-desktop-light.png") });
  await page.click("#all-homes");
  await page.waitForURL(/sites\.html$/, { timeout: UI_TIMEOUT });
  await waitText("#overview-count", /^20 homes$/);
  assert.deepEqual(pageErrors, []);
}, 60000);

step("log out everywhere: a second browser's session of the same user ends too", async () => {
  // a second browser (its own cookie jar) logged in as the same admin
  const other = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  try {
    const ctx2 = await other.newContext();
    const res = await ctx2.request.post(`${baseUrl}api/login`, { data: { user: "admin", password } });
    assert.equal(res.status(), 200);
    const before = await (await ctx2.request.get(`${baseUrl}api/session`)).json();
    assert.equal(before.user, "admin");
    await page.click("#logout-all");
    await page.waitForURL((u) => !u.pathname.endsWith("sites.html"), { timeout: UI_TIMEOUT });
    const after = await (await ctx2.request.get(`${baseUrl}api/session`)).json();
    assert.equal(after.user, undefined, `the other browser's session: ${JSON.stringify(after)}`);
    const mine = await page.evaluate(async () => (await fetch("api/session")).json());
    assert.equal(mine.user, undefined);
  } finally {
    await other.close();
  }
  assert.deepEqual(pageErrors, []);
}, 60000);
