// The overview of many homes, the parts without a DOM: one store per site
// fed by the bridge's overview stream (/ws?site=*), and the summary a card
// shows. Node's test runner imports this module directly
// (tests/browser/web-unit.test.mjs).

import { formatClock, formatRelative, validTimeZone } from "./format.js";
import { nextPending } from "./plan.js";
import { applyMessage, createStore, siteIdentity } from "./store.js";

// The site a topic belongs to ("iod/<site>/..."), or null.
export function topicSite(topic) {
  if (typeof topic !== "string") return null;
  const parts = topic.split("/");
  if (parts.length < 3 || parts[0] !== "iod" || !parts[1]) return null;
  return parts[1];
}

// hello's and /api/session's "sites": [{site, name, dog, tz}] -> the same
// with strings ("" for null or missing); entries without a site dropped.
export function sitesFromPayload(list) {
  if (!Array.isArray(list)) return [];
  const seen = new Set();
  const out = [];
  for (const s of list) {
    const site = s && typeof s === "object" ? s.site : s;
    if (typeof site !== "string" || !site || seen.has(site)) continue;
    seen.add(site);
    const str = (v) => (typeof v === "string" ? v : "");
    out.push({ site, name: str(s.name), dog: str(s.dog), tz: str(s.tz) });
  }
  return out;
}

export class SiteSet {
  constructor() {
    this.sites = new Map(); // site -> {store, meta: {name, dog, tz}}
  }

  reset(list) {
    this.sites = new Map();
    for (const m of sitesFromPayload(list)) this.add(m.site, m);
  }

  add(site, meta = {}) {
    let e = this.sites.get(site);
    if (!e) {
      e = { store: createStore(site), meta: { name: "", dog: "", tz: "" } };
      this.sites.set(site, e);
    }
    for (const k of ["name", "dog", "tz"]) if (meta[k]) e.meta[k] = meta[k];
    return e;
  }

  // A {"topic","payload","ts"} frame: the site it changed, or null (a
  // frame of no site, or of one not in the set: the bridge sends only the
  // user's sites, and a site met first in a frame is added).
  apply(msg) {
    const site = topicSite(msg && msg.topic);
    if (!site) return null;
    const e = this.add(site);
    // iod/<site>/bridge/...: a dashboard's own site, not a home by itself
    const bridge = msg.topic.startsWith(`iod/${site}/bridge/`);
    e.bridgeOnly = bridge && e.bridgeOnly !== false;
    const changed = applyMessage(e.store, msg);
    return changed.size ? site : null;
  }

  // A site whose only traffic is a bridge's own (a central bridge's
  // IOD_SITE) and that has no name is no home to look after: no card.
  isHome(site) {
    const e = this.sites.get(site);
    return Boolean(e) && !(e.bridgeOnly === true && !e.meta.name);
  }

  // Sites in the order the cards show: by the name people read, then id.
  ordered() {
    return [...this.sites.keys()]
      .filter((site) => this.isHome(site))
      .map((site) => ({ site, sum: this.summary(site, 0) }))
      .sort((a, b) => a.sum.title.localeCompare(b.sum.title) || a.site.localeCompare(b.site))
      .map((x) => x.site);
  }

  summary(site, nowMs, locale = undefined) {
    const e = this.sites.get(site);
    return e ? siteSummary(e.store, e.meta, nowMs, locale) : null;
  }
}

const RESULT_TEXT = { ok: "Dispensed", failed: "Failed", uncertain: "Uncertain" };

// What a card says about one home, every time in the home's own zone:
// {site, title, dog, tz, next: {ms, text, rel} | null, last: {ms, text,
// rel, result, resultText, by} | null, alerts: {open, level}, services:
// {online, known}, paused}.
export function siteSummary(store, meta, nowMs, locale = undefined) {
  const id = siteIdentity(store);
  const tz = validTimeZone(id.tz) || validTimeZone(meta.tz);
  const when = (ms) => ({ ms, text: formatClock(ms, nowMs, locale, tz), rel: formatRelative(ms, nowMs) });

  const st = store.feeder.state;
  const pending = nextPending(store.feeder.schedule);
  const nextMs = pending ? pending.at : st && st.nextScheduled !== null ? st.nextScheduled : null;

  let last = null;
  const d = store.feeder.log[0];
  if (d && d.ts !== null) {
    last = { ...when(d.ts), result: d.result, resultText: RESULT_TEXT[d.result] || "", by: d.by };
  } else if (st && st.lastDose !== null) {
    last = { ...when(st.lastDose), result: "", resultText: "", by: "" };
  }

  let open = 0;
  let level = "";
  const rank = { info: 1, warning: 2, critical: 3 };
  if (store.active) {
    for (const a of store.active.list) {
      if (a.ackedBy) continue;
      open++;
      if (!level || rank[a.level] > rank[level]) level = a.level;
    }
  }

  let online = 0;
  let known = 0;
  // The services the suite ships count before they are heard (a home
  // whose camera never came is not "all online"), and any other heard.
  for (const svc of store.services.values()) {
    known++;
    if (svc.availability === "online") online++;
  }

  const plan = store.feeder.plan;
  return {
    site: store.site,
    title: id.siteName || meta.name || store.site,
    dog: id.dogName || meta.dog || "",
    tz: tz || "",
    next: nextMs === null ? null : when(nextMs),
    last,
    alerts: { open, level },
    services: { online, known },
    paused: Boolean(plan && plan.paused),
  };
}
