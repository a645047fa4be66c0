// What the browser tests (dashboard.test.mjs, notify.test.mjs) share: free
// loopback ports, the processes a test starts (each logging to a file of its
// own, killed if the test process dies early), mosquitto's and iod-bridge's
// settings, and the page helpers that wait for text and run axe-core.
// Not a test itself: node --test is only given the *.test.mjs files.

import assert from "node:assert/strict";
import { test } from "node:test";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const UI_TIMEOUT = 15000;
export const MOSQUITTO = fs.existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Waits (bounded) until something accepts on 127.0.0.1:port.
export async function waitPort(port, what, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

// ---------- processes ----------

// name -> {child, log, exited: Promise<{code, signal}>}. If this process dies
// early (ctest's timeout, Ctrl-C), the children go with it; the normal path
// stops them with SIGTERM and checks their exit.
export const procs = new Map();
process.on("exit", () => {
  for (const { child } of procs.values()) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

// Starts file as name, its output in <logDir>/<name>.log, with env over this
// process's environment.
export function start(logDir, name, file, args, env) {
  const log = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(log, "a");
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (err) => resolve({ code: null, signal: null, error: err }));
  });
  procs.set(name, { child, log, exited });
  return procs.get(name);
}

// SIGTERM, then the exit status (SIGKILL after timeoutMs, reported as such).
export async function stop(name, timeoutMs = 10000) {
  const p = procs.get(name);
  if (!p) return null;
  procs.delete(name);
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
  const status = await p.exited;
  clearTimeout(timer);
  return status;
}

export function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// At the end: stops every process still running (the last started first)
// and gives their exit statuses by name; after a failure prints the last
// lines of the logs named and keeps tmp, else removes it.
export async function stopAll(tmp, failed, logs) {
  const statuses = {};
  for (const name of [...procs.keys()].reverse()) statuses[name] = await stop(name);
  if (failed) {
    for (const name of logs) console.error(`---- ${name} log (last lines) ----\n${tail(path.join(tmp, `${name}.log`))}`);
    console.error(`(logs kept in ${tmp})`);
  } else if (tmp) {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return statuses;
}

// A mosquitto.conf for a private broker on 127.0.0.1:port, extra lines
// added. Started as root, mosquitto would drop to a user that cannot read
// the test's temp dir, so it stays root then.
export function mosquittoConf(port, extra = []) {
  return [
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    ...extra,
    "log_dest stderr",
    "log_type error",
    ...(process.getuid && process.getuid() === 0 ? ["user root"] : []),
    "",
  ].join("\n");
}

// iod-bridge on 127.0.0.1:bridgePort with the repository's web/, one
// operator password and no public view, then extra.
export function bridgeEnv({ mqttPort, bridgePort, site, webDir, password, dataDir }, extra = {}) {
  return {
    IOD_MQTT_URL: `tcp://127.0.0.1:${mqttPort}`,
    IOD_SITE: site,
    IOD_BRIDGE_PORT: String(bridgePort),
    IOD_BRIDGE_BIND: "127.0.0.1",
    IOD_BRIDGE_WEB_DIR: webDir,
    IOD_BRIDGE_PASSWORD: password,
    IOD_BRIDGE_PUBLIC_VIEW: "0",
    IOD_DATA_DIR: dataDir,
    IOD_LOG_LEVEL: "info",
    ...extra,
  };
}

// ---------- the page ----------

// Uncaught exceptions and CSP reports of page, into the two arrays.
export function watchPage(page, pageErrors, cspViolations) {
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
}

// Until the first element matching selector has text matching re.
export async function waitText(page, selector, re, timeout = UI_TIMEOUT) {
  try {
    await page.waitForFunction(
      ([sel, src, flags]) => {
        const el = document.querySelector(sel);
        return Boolean(el) && new RegExp(src, flags).test(el.textContent);
      },
      [selector, re.source, re.flags],
      { timeout, polling: 100 },
    );
  } catch {
    const actual = await page
      .locator(selector)
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => null);
    throw new Error(`${selector}: expected text matching ${re}, found ${JSON.stringify(actual)}`);
  }
}

// axe goes into the page through the DevTools protocol (page.evaluate),
// which the page's strict CSP does not govern: the page itself stays
// exactly as served, no script tag and no bypassCSP.
const AXE_FILE = path.join(HERE, "node_modules/axe-core/axe.min.js");
let axeSource = null;

// One axe run over the whole document as it is now. Prints every violation
// found; fails on serious or critical ones; the number found.
export async function axeCheck(page, label) {
  if (axeSource === null) {
    if (!fs.existsSync(AXE_FILE)) throw new Error(`${AXE_FILE} missing: run \`npm ci\` in tests/browser/`);
    axeSource = fs.readFileSync(AXE_FILE, "utf8");
  }
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    }));
  });
  for (const v of violations) {
    console.log(`axe [${label}] ${v.impact} ${v.id}: ${v.help}`);
    for (const n of v.nodes) console.log(`    ${n.target}\n      ${(n.summary || "").replace(/\n/g, "\n      ")}`);
  }
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`),
    [],
    `axe found serious or critical violations on ${label}`,
  );
  return violations.length;
}

// step(name, fn, timeout): a node:test test that, when fn throws, first
// awaits onFailure(name) (a screenshot, a flag for the logs), then fails.
export function makeStep(onFailure) {
  return (name, fn, timeout = 60000) =>
    test(name, { timeout }, async () => {
      try {
        await fn();
      } catch (err) {
        await onFailure(name);
        throw err;
      }
    });
}
