// A measurement, not a test (ctest does not run it; it asserts nothing):
// publish -> dashboard latency and the page's CPU, in headless Chromium
// against mosquitto + the real iod-bridge.
//
//   IOD_BIN_DIR=build/bin node tests/browser/latency.mjs [readings] [rate_hz]
//
// One long-running `mosquitto_pub -l` publishes temperature readings whose
// value is a sequence number; a MutationObserver in the page notes when each
// value is on screen (after the dashboard's once-per-frame render). Prints
// p50/p99/max of publish -> DOM, how many readings were shown (coalescing
// within one frame may skip some, by design), the page's script/task time
// per reading (CDP Performance metrics), its JS heap, and its task time over
// 10 s of idle.

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB_DIR = process.env.IOD_WEB_DIR || path.resolve(HERE, "../../web");
const BIN_DIR = process.env.IOD_BIN_DIR;
const N = Number(process.argv[2] || 500);
const RATE = Number(process.argv[3] || 50);
if (!BIN_DIR) {
  console.error("latency: set IOD_BIN_DIR to the directory with iod-bridge");
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), r(true)));
      c.once("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "iod-latency-"));
const mqttPort = await freePort();
const webPort = await freePort();
const password = crypto.randomBytes(16).toString("hex");
const children = [];
// Whatever happens (an exception, Ctrl-C), no broker or bridge outlives us.
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));
fs.writeFileSync(
  path.join(tmp, "m.conf"),
  `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\n${process.getuid() === 0 ? "user root\n" : ""}`,
);
children.push(spawn(fs.existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto", ["-c", path.join(tmp, "m.conf")], { stdio: "ignore" }));
await waitPort(mqttPort);
const bridge = spawn(path.join(BIN_DIR, "iod-bridge"), [], {
  stdio: "ignore",
  env: {
    ...process.env,
    IOD_MQTT_URL: `tcp://127.0.0.1:${mqttPort}`,
    IOD_BRIDGE_PORT: String(webPort),
    IOD_BRIDGE_BIND: "127.0.0.1",
    IOD_BRIDGE_WEB_DIR: WEB_DIR,
    IOD_BRIDGE_PASSWORD: password,
    IOD_DATA_DIR: path.join(tmp, "bridge"),
  },
});
children.push(bridge);
await waitPort(webPort);

const context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1440, height: 900 },
});
const page = context.pages()[0] || (await context.newPage());
await page.goto(`http://127.0.0.1:${webPort}/`);
await page.fill("#gate-password", password);
await page.click("#gate-form button[type=submit]");
await page.waitForSelector('#conn[data-state="live"]');

const pub = spawn("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(mqttPort), "-t", "iod/home/sensors/temperature", "-l"], { stdio: ["pipe", "ignore", "inherit"] });
children.push(pub);
// The first reading creates the tile; measure from then on.
pub.stdin.write(`${JSON.stringify({ value: -1, unit: "°C", ts: Date.now() })}\n`);
await page.waitForSelector('.sensor[data-kind="temperature"] .value');
await page.evaluate(() => {
  window.iodSeen = [];
  const el = document.querySelector('.sensor[data-kind="temperature"] .value');
  new MutationObserver(() => window.iodSeen.push([el.textContent, Date.now()])).observe(el, {
    childList: true,
    characterData: true,
    subtree: true,
  });
});

const cdp = await context.newCDPSession(page);
await cdp.send("Performance.enable");
const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
const before = await metrics();
const sent = new Map();
const t0 = Date.now();
for (let i = 0; i < N; i++) {
  const due = t0 + (i * 1000) / RATE;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
  sent.set(String(i), Date.now());
  pub.stdin.write(`${JSON.stringify({ value: i, unit: "°C", ts: Date.now() })}\n`);
}
await sleep(1000);
const after = await metrics();
const seen = await page.evaluate(() => window.iodSeen);
const lat = seen
  .filter(([v]) => sent.has(v))
  .map(([v, t]) => t - sent.get(v))
  .sort((a, b) => a - b);
console.log(`readings: ${N} at ${RATE}/s; shown ${lat.length} (others coalesced into the same frame)`);
console.log(`publish -> on screen: p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms, max ${lat[lat.length - 1]} ms`);
const task = (after.TaskDuration - before.TaskDuration) * 1000;
const script = (after.ScriptDuration - before.ScriptDuration) * 1000;
console.log(`page CPU during the run: task ${task.toFixed(0)} ms, script ${script.toFixed(0)} ms; per reading: task ${(task / N).toFixed(3)} ms, script ${(script / N).toFixed(3)} ms`);
console.log(`JS heap used: ${(after.JSHeapUsedSize / 1048576).toFixed(1)} MiB`);
const idle0 = await metrics();
await sleep(10000);
const idle1 = await metrics();
console.log(`idle 10 s (no messages): task ${((idle1.TaskDuration - idle0.TaskDuration) * 1000).toFixed(1)} ms, script ${((idle1.ScriptDuration - idle0.ScriptDuration) * 1000).toFixed(1)} ms`);

await context.close();
pub.stdin.end();
for (const c of children.reverse()) c.kill("SIGTERM");
await sleep(300);
fs.rmSync(tmp, { recursive: true, force: true });
