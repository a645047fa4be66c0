// The overview page (sites.html): one card per home the user may see, fed
// by the bridge's overview stream (/ws?site=*: the text frames of every
// such home, no camera frames and no chart history). A card links to that
// home's own page (./?site=<site>). Who may see which home is the bridge's
// rule: the page shows what it is sent.

import { Connection } from "./conn.js";
import { zoneLabel } from "./format.js";
import { SiteSet } from "./sites.js";

const $ = (id) => document.getElementById(id);
const TIME_REFRESH_MS = 30000; // "in 2 h" stays true
const THUMB_REFRESH_MS = 60000; // a card's camera thumbnail, while the page is visible

const page = {
  sites: new SiteSet(),
  dirty: new Set(), // sites to re-render; "all" for every card
  frame: 0,
  offsetMs: 0,
  conn: null,
  state: "connecting",
  retryAt: 0,
  synced: false, // between hello and ready: the snapshot is arriving
};

const serverNow = () => Date.now() + page.offsetMs;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Cards are drawn once a frame, and not at all while a snapshot arrives:
// its thousands of frames (200 homes) are drawn once, at ready.
function markDirty(site) {
  page.dirty.add(site);
  if (page.synced && !page.frame) page.frame = requestAnimationFrame(render);
}

// ---------- cards ----------

function thumbUrl(site) {
  // the minute in the query: a new image at most once a refresh, and the
  // browser's cache for the rest
  return `api/camera/latest?site=${encodeURIComponent(site)}&m=${Math.floor(Date.now() / THUMB_REFRESH_MS)}`;
}

function newCard(site) {
  const li = el("li", "site-card");
  li.dataset.site = site;
  const a = el("a", "site-link");
  a.href = `./?site=${encodeURIComponent(site)}`;
  const thumb = el("div", "site-thumb");
  const img = el("img");
  img.alt = "";
  img.loading = "lazy";
  img.decoding = "async";
  img.width = 160;
  img.height = 120;
  img.addEventListener("error", () => thumb.classList.add("none"));
  img.addEventListener("load", () => thumb.classList.remove("none"));
  img.src = thumbUrl(site);
  thumb.append(img, el("span", "site-thumb-none", "No camera frame"));
  const body = el("div", "site-body");
  const head = el("div", "site-head");
  head.append(el("h2", "site-title"), el("span", "badge site-alerts"));
  const facts = el("dl", "site-facts");
  for (const [k, label] of [
    ["next", "Next dose"],
    ["last", "Last dose"],
    ["services", "Services"],
  ]) {
    const d = el("div", `site-fact site-${k}`);
    d.append(el("dt", "", label), el("dd"));
    facts.append(d);
  }
  body.append(head, el("p", "site-dog muted"), facts, el("p", "site-zone muted"));
  a.append(thumb, body);
  li.append(a);
  return li;
}

function fillCard(li, sum) {
  li.querySelector(".site-title").textContent = sum.title;
  const dog = li.querySelector(".site-dog");
  dog.textContent = sum.dog;
  dog.hidden = !sum.dog;
  const badge = li.querySelector(".site-alerts");
  badge.hidden = sum.alerts.open === 0;
  badge.dataset.level = sum.alerts.level || "info";
  badge.textContent = sum.alerts.open === 1 ? "1 alert" : `${sum.alerts.open} alerts`;

  const next = li.querySelector(".site-next dd");
  if (sum.paused) next.textContent = "Paused";
  else next.textContent = sum.next ? `${sum.next.text} · ${sum.next.rel}` : "None scheduled";

  const last = li.querySelector(".site-last dd");
  last.replaceChildren();
  if (sum.last) {
    last.append(`${sum.last.text} · ${sum.last.rel}`);
    if (sum.last.resultText) {
      const r = el("span", "site-result", sum.last.resultText);
      r.dataset.result = sum.last.result;
      last.append(" ", r);
    }
  } else last.textContent = "None yet";

  const svc = li.querySelector(".site-services dd");
  const { online, known } = sum.services;
  svc.textContent = `${online} of ${known} online`;
  svc.dataset.all = String(known > 0 && online === known);

  const zone = li.querySelector(".site-zone");
  const label = sum.tz ? zoneLabel(sum.tz, serverNow()) : "";
  zone.textContent = sum.tz ? `Times in ${sum.tz}${label ? ` (${label})` : ""}` : "Times in your time zone";
  // The link's name is what it shows (its heading first), so a screen
  // reader and a voice user ("click Foster home 04") agree with the eye.
}

function render() {
  page.frame = 0;
  const grid = $("site-grid");
  const now = serverNow();
  const order = page.sites.ordered();
  const all = page.dirty.has("all");
  const cards = new Map([...grid.children].map((li) => [li.dataset.site, li]));
  const want = [];
  for (const site of order) {
    let li = cards.get(site);
    if (!li) li = newCard(site);
    if (all || page.dirty.has(site) || !cards.has(site)) fillCard(li, page.sites.summary(site, now));
    want.push(li);
  }
  // reorder only when it changed (a name arriving moves a card)
  if (want.length !== grid.children.length || want.some((li, i) => grid.children[i] !== li)) {
    grid.replaceChildren(...want);
  }
  page.dirty.clear();
  $("overview-empty").hidden = order.length > 0 || page.state !== "live";
  $("overview-count").textContent = order.length === 1 ? "1 home" : `${order.length} homes`;
}

// ---------- the connection ----------

function showStatus({ state, retryAt }) {
  page.state = state;
  page.retryAt = retryAt;
  const conn = $("conn");
  const text = $("conn-text");
  if (state === "offline") {
    const secs = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
    text.textContent = `Offline — reconnecting in ${secs} s`;
  } else {
    text.textContent = { connecting: "Connecting…", syncing: "Loading current state…", live: "Live" }[state] || "Not connected";
  }
  conn.dataset.state = state;
  $("retry-now").hidden = state !== "offline";
  markDirty("all");
}

function onFrame(msg) {
  if (!msg || typeof msg !== "object") return;
  if (msg.type === "hello") {
    page.offsetMs = typeof msg.ts === "number" ? msg.ts - Date.now() : 0;
    page.sites.reset(msg.sites);
    page.synced = false;
    markDirty("all");
    return;
  }
  if (msg.type === "ready") {
    page.synced = true;
    markDirty("all");
    return;
  }
  if (typeof msg.topic !== "string") return;
  const site = page.sites.apply(msg);
  if (site) markDirty(site);
}

async function fetchSession() {
  const res = await fetch("api/session", { credentials: "same-origin", cache: "no-store" });
  if (!res.ok) throw new Error(`session: HTTP ${res.status}`);
  return res.json();
}

// Not allowed to watch (logged out, no public view): the home page has the
// login form, and comes back here after it.
function mayWatch(session) {
  return Boolean(session && (session.operator || session.user || session.public_view));
}

async function onClosed() {
  let session;
  try {
    session = await fetchSession();
  } catch {
    return true; // the bridge is down: keep trying
  }
  if (!mayWatch(session)) {
    location.replace("./");
    return false;
  }
  return true;
}

async function main() {
  // The websocket first, the session beside it: the snapshot of 200 homes
  // need not wait for a round trip it does not depend on (the bridge
  // checks the cookie at the upgrade either way).
  const url = new URL("ws", document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("site", "*");
  page.conn = new Connection(url.href, { onStatus: showStatus, onText: onFrame, onBinary: () => {}, onClosed });
  let session = null;
  try {
    session = await fetchSession();
  } catch {
    /* the connection's back-off says it */
  }
  if (session && !mayWatch(session)) {
    location.replace("./");
    return;
  }
  if (session && session.user) {
    $("who").hidden = false;
    $("role").textContent = `${session.user} (${session.role || "viewer"})`;
    $("logout-all").hidden = false;
  }
  for (const [id, everywhere] of [
    ["logout", false],
    ["logout-all", true],
  ]) {
    $(id).addEventListener("click", async () => {
      try {
        await fetch("api/logout", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(everywhere ? { everywhere: true } : {}),
        });
      } catch {
        /* try again later */
      }
      location.replace("./");
    });
  }
  $("retry-now").addEventListener("click", () => page.conn.retryNow());
  window.addEventListener("online", () => page.conn.retryNow());
  setInterval(() => {
    if (!document.hidden) markDirty("all");
  }, TIME_REFRESH_MS);
  setInterval(() => {
    if (document.hidden) return;
    for (const img of document.querySelectorAll(".site-thumb img")) {
      img.src = thumbUrl(img.closest(".site-card").dataset.site);
    }
  }, THUMB_REFRESH_MS);
  page.conn.start();
}

main();
