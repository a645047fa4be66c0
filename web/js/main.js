// Wiring: session -> login gate or dashboard -> websocket -> store -> views.
// The logic lives in format.js / store.js (pure) and views.js / conn.js.

import {
  COMMAND_ID_RE,
  backoffDelayMs,
  formatClock,
  formatRelative,
  actionLabel,
  newCommandId,
  reasonText,
  resultText,
  setDisplayZone,
  verifyText,
} from "./format.js";
import {
  applyBroker,
  applyFrame,
  applyHistory,
  applyMessage,
  brokerDown,
  createStore,
  resetStore,
  siteIdentity,
} from "./store.js";
import { sitesFromPayload } from "./sites.js";
import { DAYS, intervalText, nextPending, planPatch } from "./plan.js";
import { Connection } from "./conn.js";
import { loadUplot } from "./charts.js";
import { CameraView, Views } from "./views.js";
import { NotifyUI } from "./notify.js";
import { RecordsUI } from "./records-ui.js";

const ANSWER_TIMEOUT_MS = 20000; // no feeder event by then: say so (the command may still run)
const TIME_REFRESH_MS = 10000; // "5 min ago" texts
const SYNC_TIMEOUT_MS = 5000; // hello without ready: show what came

const $ = (id) => document.getElementById(id);

const app = {
  session: null, // last GET /api/session answer
  operator: false,
  store: createStore("home"),
  views: null,
  camera: null,
  conn: null,
  syncing: false, // between hello and ready: collect, do not render
  syncTimer: null,
  dirty: new Set(),
  frameRequested: false,
  offsetMs: 0, // server clock - browser clock, from hello
  pending: null, // {id, action, timer} of the command this page sent last
  notify: null, // NotifyUI: the Alerts card's acks and this device's notifications
  records: null, // RecordsUI: chart ranges, dose history, motion timeline (the bridge's records)
  editing: null, // the plan the open editor was filled from (its rev goes with the change)
  sentIds: new Set(), // ids this page sent (answers can come after a reconnect)
  bootAttempt: 0,
  connState: "connecting", // the websocket's state, as conn.js last said
  retryAt: 0,
};

const serverNow = () => Date.now() + app.offsetMs;

// ---------- rendering ----------

function markDirty(areas) {
  for (const a of areas) app.dirty.add(a);
  if (app.syncing || app.frameRequested || !app.views) return;
  app.frameRequested = true;
  requestAnimationFrame(() => {
    app.frameRequested = false;
    const dirty = app.dirty;
    app.dirty = new Set();
    app.views.render(app.store, dirty, serverNow());
  });
}

// ---------- connection status ----------

// The countdown ticks every second while offline; only the state change is
// announced to screen readers (the seconds are aria-hidden).
function showStatus({ state, retryAt }) {
  app.connState = state;
  app.retryAt = retryAt;
  renderConn();
}

// The header's connection indicator: the websocket's state, and on a live
// websocket whether the bridge has its MQTT broker ("broker-down": the page
// is connected, but nothing it shows is live and no command can be sent).
function renderConn() {
  const conn = $("conn");
  const textEl = $("conn-text");
  const live = app.connState === "live";
  const state = live && brokerDown(app.store) ? "broker-down" : app.connState;
  if (state === "offline") {
    const secs = `${Math.max(1, Math.ceil((app.retryAt - Date.now()) / 1000))} s`;
    const count = textEl.querySelector(".conn-count");
    if (conn.dataset.state === "offline" && count) {
      count.textContent = secs;
    } else {
      const span = document.createElement("span");
      span.className = "conn-count";
      span.setAttribute("aria-hidden", "true");
      span.textContent = secs;
      textEl.replaceChildren("Offline — reconnecting in ", span);
    }
  } else {
    const words = {
      connecting: "Connecting…",
      syncing: "Loading current state…",
      live: "Live",
      "broker-down": "Broker unreachable — not live",
    };
    textEl.textContent = words[state] || "Not connected";
  }
  conn.dataset.state = state;
  $("retry-now").hidden = state !== "offline";
  renderBrokerNote(live && brokerDown(app.store));
  updateButtons();
}

function renderBrokerNote(show) {
  const note = $("broker-note");
  note.hidden = !show;
  if (!show) return;
  const since = app.store.broker.sinceMs;
  const when = typeof since === "number" ? ` since ${formatClock(since, serverNow())}` : "";
  note.textContent =
    `Commands unavailable: the bridge cannot reach the MQTT broker${when}. ` +
    "Feed, Home, Call and the care plan's commands come back when it does; until then this page " +
    "shows the last known state.";
}

// ---------- which home ----------

// ?site=<site>: the home this page shows, on a bridge serving several (the
// overview's cards link here); without it, the bridge's own default.
const pageSite = new URLSearchParams(location.search).get("site") || "";

// The homes this user may see (hello's and /api/session's "sites"): with
// more than one, the header links to the overview.
function setSites(list) {
  app.sites = sitesFromPayload(list);
  $("all-homes").hidden = app.sites.length < 2;
  applyZone();
}

// Times show in the home's own zone: its services' info, else what the
// bridge said of it, else the browser's.
function applyZone() {
  const site = app.store.site;
  const meta = (app.sites || []).find((m) => m.site === site);
  const id = siteIdentity(app.store);
  const zone = setDisplayZone(id.tz || (meta && meta.tz) || undefined);
  const label = id.siteName || (meta && meta.name) || site;
  $("site-name").textContent = label;
  $("site-name").title = zone ? `${site} · times in ${zone}` : site;
  if (zone !== app.zone) {
    app.zone = zone;
    return true;
  }
  return false;
}

// ---------- session and login ----------

async function fetchSession() {
  const res = await fetch("api/session", { credentials: "same-origin", cache: "no-store" });
  if (!res.ok) throw new Error(`session: HTTP ${res.status}`);
  return res.json();
}

// A session's user name and role ("admin", "carer", "viewer"), or none
// (watching without logging in).
function roleLabel(session) {
  if (session && session.user) {
    const role = session.role || (session.operator ? "admin" : "viewer");
    return `${session.user} (${role})`;
  }
  return "Viewer";
}

function setRole(operator) {
  app.operator = operator;
  const session = app.session;
  const loggedIn = Boolean(session && session.user) || operator;
  const role = $("role");
  role.textContent = roleLabel(session);
  role.dataset.role = operator ? "operator" : "viewer";
  $("who").hidden = false;
  $("logout").hidden = !loggedIn;
  $("logout-all").hidden = !(session && session.user);
  // No password on the bridge: nobody can log in, so offer no login.
  $("login-open").hidden = loggedIn || (session && session.password_set === false);
  $("readonly-note").hidden = operator;
  if (app.notify) app.notify.setOperator(operator);
  updateButtons();
}

function showGate(session) {
  if (app.conn) app.conn.stop();
  $("dash").hidden = true;
  $("foot").hidden = true;
  $("who").hidden = true;
  $("gate").hidden = false;
  $("conn").hidden = true;
  if (session && session.site) $("site-name").textContent = session.site;
  const noPassword = session && session.password_set === false;
  $("gate-note").textContent = noPassword
    ? "No account is set up on this bridge (IOD_BRIDGE_PASSWORD or iod-user), and public view is off. Ask whoever runs it."
    : "Log in to see and control the feeder, sensors and camera.";
  $("gate-password").focus();
}

function showDashboard(session) {
  $("gate").hidden = true;
  $("conn").hidden = false;
  $("dash").hidden = false;
  $("foot").hidden = false;
  $("site-name").textContent = session.site || "home";
  $("foot-version").textContent = `iod ${session.version || ""}`.trim();
  setRole(Boolean(session.operator));
  if (!app.conn) {
    const url = new URL("ws", document.baseURI);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (pageSite) url.searchParams.set("site", pageSite);
    app.conn = new Connection(url.href, {
      onStatus: showStatus,
      onText: onFrame,
      onBinary: onCameraFrame,
      onClosed: onConnClosed,
    });
  }
  app.conn.start();
}

// Called after a websocket close: false stops reconnecting (no longer
// allowed to watch: the login form is shown instead).
async function onConnClosed() {
  app.syncing = false;
  let session;
  try {
    session = await fetchSession();
  } catch {
    return true; // the bridge is down: keep trying
  }
  app.session = session;
  if (!session.operator && !session.user && !session.public_view) {
    showGate(session);
    return false;
  }
  setRole(Boolean(session.operator));
  return true;
}

async function login(user, password, errorEl) {
  errorEl.textContent = "";
  if (!password) {
    errorEl.textContent = "Enter your password.";
    return false;
  }
  let res;
  try {
    res = await fetch("api/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: user || "admin", password }),
    });
  } catch {
    errorEl.textContent = "Cannot reach the bridge. Check the connection and try again.";
    return false;
  }
  if (res.ok) return true;
  if (res.status === 401) errorEl.textContent = "Wrong user name or password.";
  else if (res.status === 429) {
    const after = Number(res.headers.get("Retry-After"));
    errorEl.textContent = Number.isFinite(after) && after > 0
      ? `Too many attempts. Try again in ${after} s.`
      : "Too many attempts. Try again later.";
  } else if (res.status === 403) {
    errorEl.textContent = "No account is set up on this bridge (IOD_BRIDGE_PASSWORD or iod-user).";
  } else errorEl.textContent = `Login failed (HTTP ${res.status}).`;
  return false;
}

// Log out this browser, or (everywhere) every session of this user: the
// bridge closes their open dashboards too.
function logout(everywhere) {
  return fetch("api/logout", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(everywhere ? { everywhere: true } : {}),
  });
}

// After a login or logout the websocket is reopened so that the bridge
// sees the new session (hello carries the role).
async function afterSessionChange() {
  let session;
  try {
    session = await fetchSession();
  } catch {
    session = null;
  }
  if (!session) return;
  app.session = session;
  const canWatch = session.operator || session.user || session.public_view;
  if (canWatch && !pageSite && sitesFromPayload(session.sites).length > 1) {
    location.replace("sites.html");
    return;
  }
  if (!session.operator && !session.user && !session.public_view) {
    showGate(session);
    return;
  }
  if (app.conn) app.conn.stop();
  showDashboard(session);
}

function bindLogin() {
  $("gate-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("gate-password");
    if (await login($("gate-user").value.trim(), input.value, $("gate-error"))) {
      input.value = "";
      await afterSessionChange();
    } else input.select();
  });
  $("login-open").addEventListener("click", () => {
    $("login-error").textContent = "";
    $("login-dialog").showModal();
    $("login-password").focus();
  });
  $("login-cancel").addEventListener("click", () => $("login-dialog").close());
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("login-password");
    if (await login($("login-user").value.trim(), input.value, $("login-error"))) {
      input.value = "";
      $("login-dialog").close();
      await afterSessionChange();
    } else input.select();
  });
  for (const [id, everywhere] of [
    ["logout", false],
    ["logout-all", true],
  ]) {
    $(id).addEventListener("click", async () => {
      try {
        await logout(everywhere);
      } catch {
        /* the cookie is HttpOnly: only the bridge can clear it; try again later */
      }
      await afterSessionChange();
    });
  }
}

// ---------- frames from the bridge ----------

function onFrame(msg) {
  if (!msg || typeof msg !== "object") return;
  switch (msg.type) {
    case "hello":
      app.offsetMs = typeof msg.ts === "number" ? msg.ts - Date.now() : 0;
      app.syncing = true;
      // A bridge that never says "ready" must not leave the page blank.
      clearTimeout(app.syncTimer);
      app.syncTimer = setTimeout(() => {
        if (!app.syncing) return;
        app.syncing = false;
        markDirty(["all"]);
      }, SYNC_TIMEOUT_MS);
      resetStore(app.store, typeof msg.site === "string" ? msg.site : app.store.site);
      applyBroker(app.store, msg.broker, msg.ts);
      app.views.clear();
      app.dirty = new Set();
      $("site-name").textContent = app.store.site;
      setSites(msg.sites);
      if (typeof msg.version === "string") $("foot-version").textContent = `iod ${msg.version}`;
      setRole(Boolean(msg.operator));
      return;
    case "ready":
      clearTimeout(app.syncTimer);
      app.syncing = false;
      if (app.store.camera.frames === 0) app.camera.clear();
      markDirty(["all"]);
      // The records store keeps the bridge's own site (IOD_SITE, the
      // session's "site"); another home's page has no dose history here.
      {
        const here = !app.session || !app.session.site || app.session.site === app.store.site;
        $("history").hidden = !here;
        $("motion").hidden = !here;
        if (here && app.records) app.records.start();
      }
      return;
    case "history":
      markDirty(applyHistory(app.store, msg));
      return;
    case "ack":
      if (app.notify && app.notify.onFrame(msg)) return;
      onAck(msg);
      return;
    case "error":
      if (app.notify && app.notify.onFrame(msg)) return;
      onCommandError(msg);
      return;
    case "broker":
      markDirty(applyBroker(app.store, msg.connected, msg.ts));
      renderConn();
      return;
    case "pong":
      return;
    default:
      break;
  }
  if (typeof msg.topic !== "string") return;
  const changed = applyMessage(app.store, msg);
  if (changed.has("info") && applyZone()) changed.add("all");
  if (changed.has("event")) onFeederEvent(app.store.feeder.events[0]);
  if (changed.has("notify-event") && app.notify) app.notify.onEvent(app.store.notify.events[0]);
  if (changed.has("plan")) updateButtons();
  if (changed.has("log") && app.records) app.records.logChanged();
  if (changed.has("camera") && app.records) app.records.motionChanged(app.store.camera.motion);
  markDirty(changed);
}

function onCameraFrame(blob) {
  markDirty(applyFrame(app.store, serverNow()));
  app.camera.show(blob);
}

// ---------- commands ----------

const CONFIRM = {
  feed: {
    title: "Give a dose now?",
    text: "Feed dispenses one dose of medication now.",
    ok: "Give dose",
  },
  home: {
    title: "Return the feeder to rest?",
    text: "Moves the feeder back to its rest position. No dose is given.",
    ok: "Move home",
  },
  call: {
    title: "Call the dog?",
    text: "Plays the call sound on the speaker. No dose is given.",
    ok: "Play call",
  },
  skip: {
    title: "Skip the next dose?",
    text: "The next pending dose is not given; it stays skipped.",
    ok: "Skip dose",
  },
  treat: {
    title: "Give a treat?",
    text: "Dispenses one treat from the treat dispenser. It is not a dose.",
    ok: "Give treat",
  },
};

// The care plan's commands answer in the plan card, the buttons in the feeder's.
const PLAN_ACTIONS = new Set(["plan", "skip", "pause", "resume", "treat", "refill"]);
const answerBox = (action) => (PLAN_ACTIONS.has(action) ? "plan-answer" : "answer");

function commandsPossible() {
  return app.operator && app.conn && app.conn.ready && !brokerDown(app.store) && !app.pending;
}

// The buttons are described by whatever says why they are disabled: the
// read-only note for viewers, the broker note while the broker is away.
function updateButtons() {
  const enabled = commandsPossible();
  const why = [];
  if (!app.operator) why.push("readonly-note");
  if (!$("broker-note").hidden) why.push("broker-note");
  for (const b of document.querySelectorAll("[data-action], [data-plan-action]")) {
    // The plan editor needs the plan it edits.
    b.disabled = !enabled || (b.dataset.planAction === "edit" && !app.store.feeder.plan);
    if (why.length) b.setAttribute("aria-describedby", why.join(" "));
    else b.removeAttribute("aria-describedby");
  }
  for (const id of ["pause-until", "refill-pills"]) $(id).disabled = !enabled;
}

function setAnswer(tone, title, detail, box = "answer") {
  $(box).dataset.tone = tone;
  $(`${box}-title`).textContent = title;
  $(`${box}-detail`).textContent = detail;
}

function feedContext() {
  const st = app.store.feeder.state;
  return { nextAllowedMs: st ? st.nextAllowed : undefined, nowMs: serverNow() };
}

function askConfirm(action) {
  const c = CONFIRM[action];
  $("confirm-title").textContent = c.title;
  $("confirm-text").textContent = c.text;
  $("confirm-ok").textContent = c.ok;
  let extra = "";
  const st = app.store.feeder.state;
  const next = nextPending(app.store.feeder.schedule);
  if (action === "skip") {
    extra = next ? `Next pending dose: ${formatClock(next.at, serverNow())}.` : "No dose is pending today or tomorrow.";
  }
  if (action === "feed" && st) {
    const now = serverNow();
    const parts = [];
    if (st.lastDose !== null) {
      parts.push(`Last dose: ${formatClock(st.lastDose, now)} (${formatRelative(st.lastDose, now)}).`);
    }
    if (st.nextAllowed !== null && st.nextAllowed > now) {
      parts.push(`The feeder will refuse until ${formatClock(st.nextAllowed, now)}.`);
    }
    extra = parts.join(" ");
  }
  $("confirm-extra").textContent = extra;
  $("confirm-extra").hidden = !extra;
  const dialog = $("confirm");
  dialog.returnValue = "";
  dialog.showModal();
  // The safe choice has the focus: Enter on a stray keyboard does not dose.
  dialog.querySelector('button[value="cancel"]').focus();
  dialog.addEventListener(
    "close",
    () => {
      // Skip names the slot it showed: a dose settled meanwhile is not
      // silently replaced by the one after it.
      if (dialog.returnValue !== "confirm") return;
      if (action === "skip" && next) sendCommand(action, { slot: next.slot });
      else sendCommand(action);
    },
    { once: true },
  );
}

// members: the command's own ("plan", "slot", "until", "pills"), sent as
// they are beside type/action/id; the bridge adds by and ts.
function sendCommand(action, members = {}) {
  const box = answerBox(action);
  if (!commandsPossible()) {
    // The link dropped (or the role changed, or the broker went away) while
    // the dialog was open.
    if (app.pending) return;
    const why = app.conn && app.conn.ready && brokerDown(app.store)
      ? reasonText("broker_unavailable")
      : "Not connected to the bridge; nothing was sent.";
    setAnswer("bad", `${actionLabel(action)} — not sent`, why, box);
    return;
  }
  const id = newCommandId();
  if (!COMMAND_ID_RE.test(id)) return; // cannot happen; never send a bad id
  if (!app.conn.send({ ...members, type: "cmd", action, id })) {
    setAnswer("bad", `${actionLabel(action)} — not sent`, "Not connected to the bridge; nothing was sent.", box);
    return;
  }
  app.sentIds.add(id);
  if (app.sentIds.size > 50) app.sentIds.delete(app.sentIds.values().next().value);
  const timer = setTimeout(() => {
    if (!app.pending || app.pending.id !== id) return;
    app.pending = null;
    updateButtons();
    setAnswer(
      "warn",
      `${actionLabel(action)} — no answer yet`,
      "The feeder has not answered. Check that it is online; the command may still be handled.",
      box,
    );
  }, ANSWER_TIMEOUT_MS);
  app.pending = { id, action, timer };
  updateButtons();
  setAnswer("pending", `${actionLabel(action)} — sending…`, "Waiting for the bridge.", box);
}

function finishPending(id) {
  if (app.pending && app.pending.id === id) {
    clearTimeout(app.pending.timer);
    app.pending = null;
    updateButtons();
  }
}

function onAck(msg) {
  if (!app.pending || msg.id !== app.pending.id) return;
  const action = app.pending.action;
  setAnswer("pending", `${actionLabel(action)} — sent`, "Waiting for the feeder's answer…", answerBox(action));
}

function onCommandError(msg) {
  const reason = typeof msg.reason === "string" ? msg.reason : "";
  const mine = app.pending && (!msg.id || msg.id === app.pending.id);
  if (!mine) return;
  const action = app.pending.action;
  finishPending(app.pending.id);
  const detail = typeof msg.detail === "string" && msg.detail ? `: ${msg.detail}` : "";
  setAnswer("bad", `${actionLabel(action)} — refused`, reasonText(reason, feedContext()) + detail, answerBox(action));
  if (reason === "not_authorized") afterSessionChange();
}

function onFeederEvent(ev) {
  const mine = ev.id && app.sentIds.has(ev.id);
  // A verify event answers no command: the Feed button's answer stays and
  // the bowl's verdict gets its own line (the log's verified follows from
  // feeder/log). The cached one of an older dose is old news too.
  if (ev.action === "verify") {
    if (app.syncing && !mine) return;
    const v = verifyText(ev);
    const line = $("verify");
    line.dataset.tone = v.tone;
    line.textContent = v.text;
    line.hidden = false;
    return;
  }
  // During the snapshot only answers to our own commands matter: the cached
  // last event of someone else is old news.
  if (app.syncing && !mine) return;
  if (!mine && app.pending) return; // ours is still on its way
  finishPending(ev.id);
  const r = resultText(ev, feedContext());
  const label = actionLabel(ev.action);
  setAnswer(
    r.tone,
    mine ? `${label} — ${r.title}` : `${label} (another client) — ${r.title}`,
    r.detail,
    answerBox(ev.action),
  );
}

// ---------- the plan editor ----------

// Slot rows of the editor: a time, on/off, the seven days (all seven =
// daily), remove. Labels name the slot, so a screen reader hears which.
function addSlotRow(slot) {
  const list = $("slot-edit-list");
  const li = $("tpl-slot-edit").content.firstElementChild.cloneNode(true);
  li.querySelector(".slot-time").value = slot.at;
  li.querySelector(".slot-enabled").checked = slot.enabled !== false;
  const days = li.querySelector(".slot-days");
  for (const d of DAYS) {
    const label = document.createElement("label");
    label.className = "check day";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = d;
    box.checked = slot.days === "daily" || slot.days.includes(d);
    label.append(box, ` ${d[0].toUpperCase()}${d.slice(1)}`);
    days.append(label);
  }
  li.querySelector(".slot-remove").addEventListener("click", () => {
    li.remove();
    numberSlotRows();
    $("slot-add").focus();
  });
  list.append(li);
  numberSlotRows();
  return li;
}

function numberSlotRows() {
  [...$("slot-edit-list").children].forEach((li, i) => {
    const name = `Dose time ${i + 1}`;
    li.querySelector(".slot-legend").textContent = name;
    li.querySelector(".slot-days").setAttribute("aria-label", `${name}: days`);
    li.querySelector(".slot-remove").setAttribute("aria-label", `Remove ${name.toLowerCase()}`);
  });
  $("slot-add").disabled = $("slot-edit-list").children.length >= 48;
}

function openPlanEditor() {
  const plan = app.store.feeder.plan;
  if (!plan || !commandsPossible()) return;
  app.editing = plan;
  $("slot-edit-list").replaceChildren();
  for (const s of plan.slots) addSlotRow(s);
  const b = plan.bounds;
  const minH = b.minIntervalS !== null ? b.minIntervalS / 3600 : 0.25;
  const interval = $("plan-interval");
  interval.min = String(minH);
  interval.max = "168";
  interval.value = String(plan.minIntervalS / 3600);
  const max = $("plan-max");
  max.max = String(b.maxDaily ?? 48);
  max.value = String(plan.maxDaily);
  $("plan-interval-hint").textContent = `The vet's limit: at least ${intervalText(b.minIntervalS)}.`;
  $("plan-max-hint").textContent = `The vet's limit: at most ${b.maxDaily ?? "–"} a day.`;
  $("plan-dialog-bounds").textContent =
    `Revision ${plan.rev}. The vet's limits (set on the feeder, not here): doses at least ` +
    `${intervalText(b.minIntervalS)} apart, at most ${b.maxDaily ?? "–"} a day.`;
  $("plan-error").textContent = "";
  $("plan-dialog").showModal();
  interval.focus();
}

// The edit as {slots, minIntervalS, maxDaily}, or a message saying what to fix.
function readPlanEditor() {
  const slots = [];
  const rows = [...$("slot-edit-list").children];
  for (const [i, li] of rows.entries()) {
    const at = li.querySelector(".slot-time").value;
    if (!/^\d\d:\d\d$/.test(at)) return { error: `Dose time ${i + 1}: enter a time.` };
    const days = [...li.querySelectorAll(".slot-days input:checked")].map((b) => b.value);
    if (!days.length) return { error: `Dose time ${i + 1}: pick at least one day, or switch it off.` };
    slots.push({ at, days, enabled: li.querySelector(".slot-enabled").checked });
  }
  const interval = $("plan-interval");
  const max = $("plan-max");
  const hours = Number(interval.value);
  const minH = Number(interval.min);
  if (!interval.value || !Number.isFinite(hours) || hours < minH || hours > 168) {
    return { error: `Hours apart: between ${minH} and 168 (the vet's limit is ${minH}).` };
  }
  const perDay = Number(max.value);
  if (!Number.isInteger(perDay) || perDay < 1 || perDay > Number(max.max)) {
    return { error: `Doses a day: a whole number from 1 to ${max.max} (the vet's limit).` };
  }
  return { edited: { slots, minIntervalS: Math.round(hours * 3600), maxDaily: perDay } };
}

function bindPlan() {
  $("plan-edit").addEventListener("click", openPlanEditor);
  $("slot-add").addEventListener("click", () => {
    addSlotRow({ at: "12:00", days: "daily", enabled: true }).querySelector(".slot-time").focus();
  });
  $("plan-cancel").addEventListener("click", () => $("plan-dialog").close());
  $("plan-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const r = readPlanEditor();
    if (r.error) {
      $("plan-error").textContent = r.error;
      return;
    }
    const patch = planPatch(app.editing, r.edited);
    if (!patch) {
      $("plan-error").textContent = "Nothing changed.";
      return;
    }
    $("plan-dialog").close();
    sendCommand("plan", { plan: patch });
  });
  for (const action of ["skip", "treat"]) {
    $(`plan-${action}`).addEventListener("click", () => {
      if (commandsPossible()) askConfirm(action);
    });
  }
  $("plan-resume").addEventListener("click", () => sendCommand("resume"));
  $("pause-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("pause-until").value;
    if (!text) {
      sendCommand("pause");
      return;
    }
    // datetime-local is the browser's local time, as the schedule is shown.
    const until = new Date(text).getTime();
    if (!Number.isFinite(until)) {
      setAnswer("bad", "Pause — not sent", "Enter a date and time.", "plan-answer");
      return;
    }
    sendCommand("pause", { until });
  });
  $("refill-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("refill-pills");
    const pills = Number(input.value);
    if (!input.value || !Number.isInteger(pills) || pills < 0 || pills > 100000) {
      setAnswer("bad", "Refill — not sent", reasonText("bad_pills"), "plan-answer");
      input.focus();
      return;
    }
    sendCommand("refill", { pills });
  });
}

function bindCommands() {
  for (const b of document.querySelectorAll("[data-action]")) {
    b.addEventListener("click", () => {
      if (!app.operator) {
        $("login-open").click();
        return;
      }
      if (commandsPossible()) askConfirm(b.dataset.action);
    });
  }
}

// ---------- start ----------

async function boot() {
  let session;
  try {
    session = await fetchSession();
  } catch {
    // The bridge is not reachable yet: say so and try again with back-off.
    const retryAt = Date.now() + backoffDelayMs(app.bootAttempt++);
    showStatus({ state: "offline", retryAt });
    const tick = setInterval(() => showStatus({ state: "offline", retryAt }), 1000);
    setTimeout(() => {
      clearInterval(tick);
      showStatus({ state: "connecting" });
      boot();
    }, retryAt - Date.now());
    return;
  }
  app.session = session;
  const canWatch = session.operator || session.user || session.public_view;
  // Several homes and none asked for: the overview first.
  if (canWatch && !pageSite && sitesFromPayload(session.sites).length > 1) {
    location.replace("sites.html");
    return;
  }
  if (canWatch) showDashboard(session);
  else showGate(session);
}

async function main() {
  bindLogin();
  bindCommands();
  bindPlan();
  $("retry-now").addEventListener("click", () => app.conn && app.conn.retryNow());
  window.addEventListener("online", () => app.conn && app.conn.retryNow());
  const uPlot = await loadUplot();
  app.views = new Views(uPlot);
  app.records = new RecordsUI({ now: serverNow });
  app.views.records = app.records;
  app.camera = new CameraView($("camera-img"), $("camera-empty"));
  app.notify = new NotifyUI({ app, views: app.views, markDirty });
  app.notify.register();
  setInterval(() => {
    if (!document.hidden && !$("dash").hidden) markDirty(["time"]);
  }, TIME_REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) markDirty(["time"]);
  });
  await boot();
}

main();
