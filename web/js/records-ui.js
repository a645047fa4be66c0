// The records on the dashboard (issue 13): each chart's range control
// (1 h live; 24 h / 7 d / 30 d fetched from /api/history with live readings
// appended), the dose history (/api/doses, paged by `to`, with snapshots and
// a CSV link) and the motion timeline (/api/events?kind=motion). The pure
// parts are records.js; every text from the bridge goes in with textContent.

import {
  DOSE_PAGE,
  LIVE_RANGE,
  RANGES,
  appendLive,
  dateTimeText,
  dosesCsvUrl,
  dosesUrl,
  eventLength,
  eventsUrl,
  fetchRecords,
  firstDosePage,
  historyUrl,
  olderDosePage,
  parseDoses,
  parseEvents,
  parseHistory,
  rangeById,
  shownRange,
} from "./records.js";
import { kindLabel } from "./format.js";

const $ = (id) => document.getElementById(id);
const LOG_REFRESH_MS = 2000; // a new feeder/log: the first page again, at most this often
const MOTION_REFRESH_MS = 3000; // a motion start: the timeline again (its thumbnail follows the start)

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// A row of toggle buttons (aria-pressed), one per range; onPick(id).
function rangeControl(label, ranges, current, onPick) {
  const group = el("div", "range-control");
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", label);
  for (const r of ranges) {
    const b = el("button", "range-button", r.label);
    b.type = "button";
    b.dataset.range = r.id;
    b.setAttribute("aria-pressed", String(r.id === current));
    b.addEventListener("click", () => {
      for (const o of group.children) o.setAttribute("aria-pressed", String(o === b));
      onPick(r.id);
    });
    group.append(b);
  }
  return group;
}

export class RecordsUI {
  // now(): the bridge's clock in ms.
  constructor({ now }) {
    this.now = now;
    this.ranges = new Map(); // kind -> range id, kept across a reconnect's new tiles
    this.charts = new Map(); // kind -> {tile, topic, range, hist, note, seq, abort}
    this.dosePages = []; // the pages shown before this one (for "Newer")
    this.dosePage = null;
    this.doseSeq = 0;
    this.logTimer = null;
    this.motionRange = "24h";
    this.motionSeq = 0;
    this.motionActive = false;
    this.motionTimer = null;
    this.started = false;
    this.bindSections();
  }

  // ---------- charts ----------

  // A new sensor tile with a chart: its range control and status line.
  attachTile(kind, tile, topic) {
    const old = this.charts.get(kind);
    if (old && old.abort) old.abort.abort();
    const range = this.ranges.get(kind) || LIVE_RANGE;
    const c = { tile, topic, range, hist: null, last: null, seq: 0, abort: null, note: el("p", "chart-note muted") };
    c.note.setAttribute("role", "status");
    c.note.hidden = true;
    const chartHost = tile.root.querySelector(".chart");
    const ctrl = rangeControl(`${kindLabel(kind)} chart range`, RANGES, range, (id) => this.pick(kind, id));
    tile.root.insertBefore(ctrl, chartHost);
    chartHost.after(c.note);
    this.charts.set(kind, c);
    if (range !== LIVE_RANGE) this.pick(kind, range);
  }

  async pick(kind, id) {
    const c = this.charts.get(kind);
    const r = rangeById(id);
    if (!c || !r || !c.tile.chart) return;
    this.ranges.set(kind, id);
    c.range = id;
    if (c.abort) c.abort.abort();
    c.abort = null;
    const chartHost = c.tile.root.querySelector(".chart");
    chartHost.setAttribute("aria-label", `${kindLabel(kind)} over ${r.words}`);
    c.tile.root.dataset.range = id;
    if (id === LIVE_RANGE) {
      c.hist = null;
      c.note.hidden = true;
      c.tile.chart.setHistory(null, r.ms, this.now());
      return;
    }
    const seq = ++c.seq;
    const abort = new AbortController();
    c.abort = abort;
    c.note.hidden = false;
    c.note.dataset.tone = "pending";
    c.note.textContent = `Loading ${r.words}…`;
    const now = this.now();
    const url = historyUrl(c.topic, id, now, chartHost.clientWidth);
    let res;
    try {
      res = await fetchRecords(url, parseHistory, fetch, abort.signal);
    } catch {
      return; // aborted: another range was picked
    }
    if (seq !== c.seq || this.charts.get(kind) !== c) return;
    c.abort = null;
    if (!res.ok) {
      c.hist = { bucketMs: 0, points: [] };
      c.tile.chart.setHistory(c.hist, r.ms, this.now());
      c.note.dataset.tone = "bad";
      c.note.textContent = `Could not load ${r.words}: ${res.error}`;
      c.tile.root.dataset.historyError = "";
      return;
    }
    delete c.tile.root.dataset.historyError;
    c.hist = res.data;
    if (c.last) appendLive(c.hist, c.last[0], c.last[1], r.ms);
    c.tile.chart.setHistory(c.hist, r.ms, this.now());
    if (c.hist.points.length) {
      c.note.hidden = true;
      c.note.textContent = "";
    } else {
      c.note.dataset.tone = "none";
      c.note.textContent = `No readings recorded in ${r.words}.`;
    }
  }

  // Views.sensor's hook: true when this tile shows a fetched range (the
  // live reading appended to it), false for the live hour.
  sensor(kind, tile, s, nowMs) {
    const c = this.charts.get(kind);
    if (!c || c.tile !== tile) return false;
    c.last = s.ts !== null ? [s.ts, s.value] : null; // joins a history fetched later
    if (c.range === LIVE_RANGE) return false;
    if (c.hist && s.ts !== null && appendLive(c.hist, s.ts, s.value, rangeById(c.range).ms)) {
      if (c.note.textContent.startsWith("No readings")) c.note.hidden = true;
    }
    if (c.hist) tile.chart.setNow(nowMs);
    return true;
  }

  // ---------- sections ----------

  bindSections() {
    $("doses-older").addEventListener("click", () => {
      if (!this.olderPage) return;
      this.dosePages.push(this.dosePage);
      this.loadDoses(this.olderPage, $("doses-newer"));
    });
    $("doses-newer").addEventListener("click", () => {
      const page = this.dosePages.pop();
      if (page) this.loadDoses(page, this.dosePages.length ? $("doses-newer") : $("doses-older"));
    });
    const host = $("motion-range");
    host.replaceWith(
      Object.assign(
        rangeControl("Motion timeline range", RANGES, this.motionRange, (id) => {
          this.motionRange = id;
          this.loadMotion();
        }),
        { id: "motion-range" },
      ),
    );
  }

  // On every "ready": the sections (again) and any fetched chart range.
  start() {
    this.started = true;
    this.dosePages = [];
    this.loadDoses(firstDosePage(this.now()));
    this.loadMotion();
  }

  // A new feeder/log: the newest page again (if it is the one shown).
  logChanged() {
    if (!this.started || this.dosePages.length || this.logTimer) return;
    this.logTimer = setTimeout(() => {
      this.logTimer = null;
      if (!this.dosePages.length) this.loadDoses(firstDosePage(this.now()));
    }, LOG_REFRESH_MS);
  }

  // camera/motion: a start (active after not active) shows in the timeline
  // once its thumbnail has had time to arrive.
  motionChanged(motion) {
    const active = Boolean(motion && motion.active);
    const start = active && !this.motionActive;
    this.motionActive = active;
    if (!this.started || !start || this.motionTimer) return;
    this.motionTimer = setTimeout(() => {
      this.motionTimer = null;
      this.loadMotion();
    }, MOTION_REFRESH_MS);
  }

  async loadDoses(page, focusAfter = null) {
    const seq = ++this.doseSeq;
    const status = $("history-status");
    status.dataset.tone = "pending";
    status.textContent = "Loading doses…";
    status.hidden = false;
    const res = await fetchRecords(dosesUrl({ ...page, limit: DOSE_PAGE }), parseDoses);
    if (seq !== this.doseSeq) return;
    this.dosePage = page;
    const list = $("history-list");
    if (!res.ok) {
      list.replaceChildren();
      status.dataset.tone = "bad";
      status.textContent = `Could not load the dose history: ${res.error}`;
      $("doses-older").disabled = true;
      $("doses-newer").disabled = this.dosePages.length === 0;
      $("doses-csv").hidden = true;
      $("history-range").textContent = "";
      return;
    }
    const result = res.data;
    const now = this.now();
    list.replaceChildren(...result.doses.map((d) => this.doseItem(d)));
    this.olderPage = olderDosePage(page, result);
    $("doses-older").disabled = !this.olderPage;
    $("doses-newer").disabled = this.dosePages.length === 0;
    const shown = shownRange(page, result);
    const csv = $("doses-csv");
    csv.href = dosesCsvUrl(shown);
    csv.hidden = false;
    $("history-range").textContent = result.doses.length
      ? `${plural(result.doses.length, "dose")}, ${dateTimeText(shown.from)} – ${dateTimeText(Math.min(shown.to - 1, now))}`
      : "";
    if (result.doses.length) {
      status.hidden = true;
      status.textContent = "";
    } else {
      status.dataset.tone = "none";
      status.textContent = this.dosePages.length ? "No older doses recorded." : "No doses recorded in the last year.";
    }
    if (focusAfter && focusAfter.disabled) focusAfter = $("doses-older").disabled ? $("doses-newer") : $("doses-older");
    if (focusAfter && !focusAfter.disabled) focusAfter.focus();
  }

  doseItem(d) {
    const li = el("li", "history-dose");
    li.dataset.outcome = d.outcome;
    li.dataset.verified = String(d.verified);
    const text = el("div", "history-text");
    const top = el("div", "history-top");
    const outcome = el("span", "badge history-outcome", d.outcomeText);
    outcome.dataset.outcome = d.outcome;
    const time = el("time", "history-time", dateTimeText(d.ts));
    time.dateTime = new Date(d.ts).toISOString();
    top.append(outcome, time);
    text.append(top);
    text.append(el("span", "history-who", d.whoText));
    const verified = el("span", "history-verified", d.verifiedText);
    verified.dataset.verified = String(d.verified);
    text.append(verified);
    if (d.reason) text.append(el("span", "history-reason muted", d.reason.replace(/_/g, " ")));
    if (d.snapshot) {
      const img = el("img", "history-snap");
      img.loading = "lazy";
      img.decoding = "async";
      img.width = 160;
      img.height = 120;
      img.alt = `Camera snapshot of the dose at ${dateTimeText(d.ts)}`;
      img.src = d.snapshot;
      li.append(img);
    } else {
      li.append(el("span", "history-nosnap muted", "No snapshot"));
    }
    li.append(text);
    return li;
  }

  async loadMotion() {
    const seq = ++this.motionSeq;
    const r = rangeById(this.motionRange);
    const status = $("motion-status");
    status.dataset.tone = "pending";
    status.textContent = `Loading motion in ${r.words}…`;
    status.hidden = false;
    const res = await fetchRecords(eventsUrl("motion", r.id, this.now()), parseEvents);
    if (seq !== this.motionSeq) return;
    const list = $("motion-list");
    if (!res.ok) {
      list.replaceChildren();
      status.dataset.tone = "bad";
      status.textContent = `Could not load the motion timeline: ${res.error}`;
      $("motion-count").textContent = "";
      return;
    }
    const { events, truncated } = res.data;
    list.replaceChildren(...events.map((e) => this.motionItem(e)));
    $("motion-count").textContent = events.length ? `${plural(events.length, "event")}${truncated ? " (newest)" : ""}` : "";
    if (events.length) {
      status.hidden = !truncated;
      status.dataset.tone = "none";
      status.textContent = truncated ? `Showing the newest ${events.length}; pick a shorter range for the rest.` : "";
    } else {
      status.dataset.tone = "none";
      status.textContent = `No motion recorded in ${r.words}.`;
    }
  }

  motionItem(e) {
    const li = el("li", "motion-event");
    if (e.thumbnail) {
      const img = el("img", "motion-thumb");
      img.loading = "lazy";
      img.decoding = "async";
      img.width = 160;
      img.height = 120;
      img.alt = `Camera view when motion started, ${dateTimeText(e.ts)}`;
      img.src = e.thumbnail;
      li.append(img);
    } else {
      li.append(el("span", "motion-nothumb muted", "No picture"));
    }
    const time = el("time", "motion-time", dateTimeText(e.ts));
    time.dateTime = new Date(e.ts).toISOString();
    const meta = el("span", "motion-meta muted", eventLength(e));
    li.append(time, meta);
    return li;
  }
}
