// Rendering of the dashboard areas from the store. Every text from the
// wire goes in with textContent (never innerHTML): MQTT payloads are
// untrusted.

import {
  KNOWN_KINDS,
  formatClock,
  formatDay,
  formatRelative,
  formatTime,
  formatValue,
  kindLabel,
} from "./format.js";
import { EXPECTED_SERVICES, brokerDown, sensorOrder } from "./store.js";
import { daysText, intervalText, statusText } from "./plan.js";
import { SensorChart } from "./charts.js";

const STALE_MS = 10 * 60 * 1000; // a reading this old is shown greyed

const $ = (id) => document.getElementById(id);

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class Views {
  constructor(uPlot) {
    this.uPlot = uPlot; // null: charts unavailable
    this.tiles = new Map(); // kind -> {root, value, unit, age, chart}
    this.rows = new Map(); // service -> {root, status, seen, info}
    this.records = null; // RecordsUI (main.js): the charts' range controls
    $("charts-note").hidden = Boolean(uPlot);
    if (uPlot) {
      const dark = window.matchMedia("(prefers-color-scheme: dark)");
      dark.addEventListener("change", () => {
        for (const t of this.tiles.values()) if (t.chart) t.chart.rebuild();
      });
    }
  }

  // Drops every sensor tile and service row (a new snapshot follows).
  clear() {
    for (const t of this.tiles.values()) {
      if (t.chart) t.chart.destroy();
      t.root.remove();
    }
    this.tiles.clear();
    for (const r of this.rows.values()) r.root.remove();
    this.rows.clear();
  }

  // Re-renders the areas named in `dirty` ("all" for everything).
  render(store, dirty, nowMs) {
    const all = dirty.has("all");
    const time = all || dirty.has("time");
    if (all || time || dirty.has("feeder")) this.feeder(store, nowMs);
    if (all || time || dirty.has("services")) this.services(store, nowMs);
    const sensorsToo = dirty.has("availability"); // an offline service (or broker) greys its tiles
    if (all || time || dirty.has("alerts")) this.alerts(store, nowMs);
    if (all || time || dirty.has("active")) this.active(store, nowMs);
    if (all || time || dirty.has("log")) this.doses(store, nowMs);
    if (all || time || dirty.has("plan") || dirty.has("feeder")) this.plan(store, nowMs);
    if (all || time || dirty.has("camera")) this.cameraMeta(store, nowMs);
    for (const kind of store.sensors.keys()) {
      if (all || time || sensorsToo || dirty.has(`sensor:${kind}`)) {
        this.sensor(store, kind, nowMs);
      }
    }
    $("sensors-empty").hidden = store.sensors.size > 0;
  }

  feeder(store, now) {
    const st = store.feeder.state;
    const fact = (mainId, subId, ms, none, future) => {
      if (!st) {
        setText($(mainId), "–");
        if (subId) setText($(subId), "waiting for the feeder");
        return;
      }
      if (ms === null) {
        setText($(mainId), none);
        if (subId) setText($(subId), "");
        return;
      }
      if (future && ms <= now) {
        setText($(mainId), "Now");
        setText($(subId), "ready");
        $(subId).dataset.tone = "ok";
        return;
      }
      // The time alone on the big line; the day (when not today) and the
      // relative time below, so nothing is cut off on a phone.
      setText($(mainId), formatTime(ms));
      setText($(subId), [formatDay(ms, now), formatRelative(ms, now)].filter(Boolean).join(" · "));
      delete $(subId).dataset.tone;
    };
    fact("f-last", "f-last-rel", st && st.lastDose, "None yet", false);
    fact("f-allowed", "f-allowed-rel", st && st.nextAllowed, "Now", true);
    fact("f-sched", "f-sched-rel", st && st.nextScheduled, "No schedule", false);
    setText($("f-today"), st && st.dosesToday !== null ? String(st.dosesToday) : "–");
    const pos = st && st.position;
    setText($("feeder-position"), pos === "home" ? "At rest" : pos === "open" ? "Open" : "–");
  }

  services(store, now) {
    const names = [...store.services.keys()].sort((a, b) => {
      const ia = EXPECTED_SERVICES.indexOf(a);
      const ib = EXPECTED_SERVICES.indexOf(b);
      if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
      return a.localeCompare(b);
    });
    const list = $("service-list");
    // Without the broker no service can say it is online: "Unknown" for all
    // but the bridge (the cached last word may be long out of date), and why.
    const noBroker = brokerDown(store);
    $("services-note").hidden = !noBroker;
    names.forEach((name, i) => {
      let row = this.rows.get(name);
      if (!row) {
        const root = $("tpl-service").content.firstElementChild.cloneNode(true);
        root.dataset.service = name;
        root.querySelector(".service-name").textContent = name;
        row = {
          root,
          status: root.querySelector(".service-status"),
          seen: root.querySelector(".service-seen"),
          info: root.querySelector(".service-info"),
        };
        this.rows.set(name, row);
      }
      if (list.children[i] !== row.root) list.insertBefore(row.root, list.children[i] || null);
      const s = store.services.get(name);
      // No availability word yet: "Not seen yet" when nothing came from the
      // service at all, else "Unknown" (its messages arrive, its status not).
      // The bridge is the exception: this page hears from it right now.
      const status = noBroker ? (name === "bridge" ? "online" : "unknown") : s.availability || "unknown";
      if (row.root.dataset.status !== status) row.root.dataset.status = status;
      setText(
        row.status,
        status === "online"
          ? "Online"
          : status === "offline"
            ? "Offline"
            : s.lastSeenMs === null
              ? "Not seen yet"
              : "Unknown",
      );
      setText(row.seen, s.lastSeenMs === null ? "" : `last seen ${formatRelative(s.lastSeenMs, now)}`);
      const info = s.info ? [s.info.version && `v${s.info.version}`, s.info.backend].filter(Boolean) : [];
      setText(row.info, info.join(" · "));
      const label = `${name}: ${row.status.textContent}${row.seen.textContent ? `, ${row.seen.textContent}` : ""}`;
      if (row.root.getAttribute("aria-label") !== label) row.root.setAttribute("aria-label", label);
    });
  }

  sensor(store, kind, now) {
    const s = store.sensors.get(kind);
    let tile = this.tiles.get(kind);
    if (!tile) {
      tile = this.newTile(store, kind);
    }
    setText(tile.value, formatValue(kind, s.value));
    setText(tile.unit, kind === "motion" ? "" : s.unit);
    setText(tile.age, s.ts === null ? "" : formatRelative(s.ts, now));
    // Greyed when old, when the sensors service says it is offline, or when
    // the bridge has no broker (the last value stays visible, but it is not
    // live).
    const svc = store.services.get("sensors");
    const stale =
      (s.ts !== null && now - s.ts > STALE_MS) ||
      Boolean(svc && svc.availability === "offline") ||
      brokerDown(store);
    if (stale !== "stale" in tile.root.dataset) {
      if (stale) tile.root.dataset.stale = "";
      else delete tile.root.dataset.stale;
    }
    // On a clock tick too: the held last value and the window move with now.
    // A longer range fetched from the records takes the reading itself.
    if (tile.chart && !(this.records && this.records.sensor(kind, tile, s, now))) tile.chart.setPoints(s.points, now);
  }

  newTile(store, kind) {
    const root = $("tpl-sensor").content.firstElementChild.cloneNode(true);
    root.dataset.kind = kind;
    root.querySelector(".sensor-name").textContent = kindLabel(kind);
    const chartHost = root.querySelector(".chart");
    chartHost.setAttribute("aria-label", `${kindLabel(kind)} over the last hour`);
    if (!this.uPlot) root.dataset.nochart = "";
    const tile = {
      root,
      value: root.querySelector(".value"),
      unit: root.querySelector(".unit"),
      age: root.querySelector(".sensor-age"),
      chart: null,
    };
    tile.value.setAttribute("aria-live", "off");
    // Insert in display order before building the chart, so it sizes itself
    // to its real width.
    const grid = $("sensor-grid");
    const order = sensorOrder(store, KNOWN_KINDS);
    const next = order.slice(order.indexOf(kind) + 1).find((k) => this.tiles.has(k));
    grid.insertBefore(root, next ? this.tiles.get(next).root : null);
    this.tiles.set(kind, tile);
    if (this.uPlot) tile.chart = new SensorChart(this.uPlot, chartHost, kind);
    if (tile.chart && this.records) this.records.attachTile(kind, tile, `iod/${store.site}/sensors/${kind}`);
    return tile;
  }

  alerts(store, now) {
    const list = $("alert-list");
    const items = store.alerts.map((a) => {
      const li = el("li", "alert");
      li.dataset.level = a.level;
      const top = el("div", "alert-top");
      top.append(
        el("span", "alert-level", a.level),
        el("span", "alert-time", a.ts === null ? "" : `${formatClock(a.ts, now)} · ${formatRelative(a.ts, now)}`),
      );
      li.append(top, el("span", "alert-message", a.message || a.code || "Alert"));
      const meta = [a.source, a.code].filter(Boolean).join(" · ");
      if (meta) li.append(el("span", "alert-meta", meta));
      return li;
    });
    list.replaceChildren(...items);
    $("alerts-empty").hidden = items.length > 0;
    setText($("alerts-count"), items.length ? String(items.length) : "");
  }

  // iod-notify's active set. Acknowledge buttons carry data-ack-key (main.js
  // handles the clicks); this.canAck and this.acking (keys sent, not yet
  // answered) are main.js's.
  active(store, now) {
    const list = $("active-list");
    const act = store.active;
    const entries = act ? act.list : [];
    const items = entries.map((a) => {
      const li = el("li", "active-alert");
      li.dataset.level = a.level;
      li.dataset.key = a.key;
      li.dataset.acked = a.ackedBy ? "true" : "false";
      const top = el("div", "alert-top");
      top.append(
        el("span", "alert-level", a.level),
        el("span", "alert-time", a.since === null ? "" : `since ${formatClock(a.since, now)} · ${formatRelative(a.since, now)}`),
      );
      li.append(top, el("span", "alert-message", a.message || a.code || "Alert"));
      const meta = [a.source, a.code, a.subject].filter(Boolean).join(" · ");
      if (meta) li.append(el("span", "alert-meta", meta));
      if (a.ackedBy) {
        const when = a.ackedAt === null ? "" : ` ${formatClock(a.ackedAt, now)} (${formatRelative(a.ackedAt, now)})`;
        li.append(el("span", "alert-acked", `Acknowledged by ${a.ackedBy}${when}`));
      } else if (this.canAck) {
        const b = el("button", "button small alert-ack", this.acking && this.acking.has(a.key) ? "Acknowledging…" : "Acknowledge");
        b.type = "button";
        b.dataset.ackKey = a.key;
        b.disabled = Boolean(this.acking && this.acking.has(a.key));
        b.setAttribute("aria-label", `Acknowledge: ${a.message || a.code || a.key}`);
        li.append(b);
      }
      return li;
    });
    list.replaceChildren(...items);
    const empty = $("active-empty");
    setText(empty, act ? "No active alerts" : "No active alerts (the notifier has not reported yet)");
    empty.hidden = items.length > 0;
    const open = entries.filter((a) => !a.ackedBy);
    const badge = $("active-count");
    badge.hidden = open.length === 0;
    badge.dataset.level = open.some((a) => a.level === "critical") ? "critical" : open.some((a) => a.level === "warning") ? "warning" : "info";
    setText(badge, open.length ? `${open.length} active` : "");
  }

  doses(store, now) {
    const list = $("dose-list");
    const items = store.feeder.log.map((d) => {
      const li = el("li", "dose");
      const src = el("span", "badge dose-source", d.source === "schedule" ? "scheduled" : d.source || "dose");
      src.dataset.source = d.source;
      li.append(
        el("span", "dose-time", d.ts === null ? "–" : formatClock(d.ts, now)),
        src,
        el("span", "dose-by", d.by ? `by ${d.by}` : ""),
        el("span", "dose-rel", d.ts === null ? "" : formatRelative(d.ts, now)),
      );
      // The outcome in words (the colour only repeats it).
      const result = el(
        "span",
        "dose-result",
        d.result === "ok" ? "Dispensed" : d.result === "failed" ? "Failed" : d.result === "uncertain" ? "Uncertain" : "",
      );
      result.dataset.result = d.result;
      const verified = el(
        "span",
        "dose-verified",
        d.verified === true ? "verified in the bowl" : d.verified === false ? "not seen in the bowl" : "not verified",
      );
      verified.dataset.verified = String(d.verified);
      li.append(result, verified);
      return li;
    });
    list.replaceChildren(...items);
    $("doses-empty").hidden = items.length > 0;
    setText($("doses-count"), items.length ? `${items.length} recorded` : "");
  }

  // The care plan: today's and tomorrow's slots with their status, the
  // plan's rules beside the vet's bounds, the pill count.
  plan(store, now) {
    const plan = store.feeder.plan;
    const sched = store.feeder.schedule;
    const st = store.feeder.state;
    let state = "–";
    if (plan) {
      if (!plan.paused) state = "Schedule on";
      else if (plan.pausedUntil !== null) state = `Paused until ${formatClock(plan.pausedUntil, now)}`;
      else state = "Paused until resumed";
    }
    const badge = $("plan-state");
    setText(badge, state);
    badge.dataset.paused = plan && plan.paused ? "true" : "false";
    const items = (sched ? sched.slots : []).map((s) => {
      const li = el("li", "slot");
      li.dataset.status = s.status;
      li.dataset.slot = s.slot;
      const day = formatDay(s.at, now);
      const status = el("span", "badge slot-status", statusText(s.status));
      status.dataset.status = s.status;
      const dayText = day ? day[0].toUpperCase() + day.slice(1) : "Today";
      li.append(el("span", "slot-time", formatTime(s.at)), el("span", "slot-day", dayText), status);
      return li;
    });
    $("schedule-list").replaceChildren(...items);
    $("schedule-empty").hidden = items.length > 0;
    if (!plan) {
      for (const id of ["p-slots", "p-interval", "p-max", "p-rev"]) setText($(id), "–");
      for (const id of ["p-interval-bound", "p-max-bound", "p-changed"]) setText($(id), "");
    } else {
      const slots = plan.slots.map(
        (s) => `${s.at} ${daysText(s.days).toLowerCase()}${s.enabled ? "" : " (off)"}`,
      );
      setText($("p-slots"), slots.length ? slots.join(" · ") : "No dose times");
      setText($("p-interval"), intervalText(plan.minIntervalS));
      setText($("p-interval-bound"), `vet: at least ${intervalText(plan.bounds.minIntervalS)}`);
      setText($("p-max"), plan.maxDaily === null ? "–" : String(plan.maxDaily));
      setText($("p-max-bound"), `vet: at most ${plan.bounds.maxDaily ?? "–"}`);
      setText($("p-rev"), String(plan.rev));
      const by = plan.changedBy ? `by ${plan.changedBy}` : "";
      const at = plan.changedAt !== null ? formatRelative(plan.changedAt, now) : "";
      setText($("p-changed"), [by, at].filter(Boolean).join(" · "));
    }
    const pills = st ? st.pillsRemaining : null;
    setText($("p-pills"), !st ? "–" : pills === null ? "Not counted" : String(pills));
    setText(
      $("p-runs-out"),
      !st
        ? ""
        : pills === null
          ? "refill to start counting"
          : st.runsOut !== null
            ? `run out ${formatClock(st.runsOut, now)}`
            : "",
    );
  }

  cameraMeta(store, now) {
    const cam = store.camera;
    setText($("camera-age"), cam.frameMs === null ? "" : `frame ${formatRelative(cam.frameMs, now)}`);
    const badge = $("camera-motion");
    const m = cam.motion;
    if (m && m.active !== null) {
      badge.hidden = false;
      const moving = m.active;
      badge.classList.toggle("motion-on", moving);
      setText(badge, moving ? "Motion" : "Still");
    } else {
      badge.hidden = true;
    }
  }
}

// Shows JPEG frames in an <img> through object URLs. At most one frame is
// decoding and one waits; older frames are dropped, and every URL is revoked
// once the next frame is on screen, so memory stays bounded at any rate.
export class CameraView {
  constructor(img, empty) {
    this.img = img;
    this.empty = empty;
    this.url = null;
    this.loading = false;
    this.waiting = null;
    img.addEventListener("load", () => this.loaded());
    img.addEventListener("error", () => this.failed());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.next();
    });
  }

  show(blob) {
    this.waiting = blob.type === "image/jpeg" ? blob : blob.slice(0, blob.size, "image/jpeg");
    this.next();
  }

  next() {
    if (this.loading || !this.waiting || document.hidden) return;
    const url = URL.createObjectURL(this.waiting);
    this.waiting = null;
    this.loading = true;
    this.pendingUrl = url;
    this.img.src = url;
  }

  loaded() {
    if (!this.loading) return;
    this.loading = false;
    if (this.url && this.url !== this.pendingUrl) URL.revokeObjectURL(this.url);
    this.url = this.pendingUrl;
    this.img.hidden = false;
    this.empty.hidden = true;
    this.next();
  }

  // A frame that does not decode is dropped; the previous one stays.
  failed() {
    if (!this.loading) return;
    this.loading = false;
    URL.revokeObjectURL(this.pendingUrl);
    this.pendingUrl = this.url;
    if (this.url) this.img.src = this.url;
    else this.img.removeAttribute("src");
    this.next();
  }

  clear() {
    this.waiting = null;
    this.img.hidden = true;
    this.img.removeAttribute("src");
    if (this.url) URL.revokeObjectURL(this.url);
    if (this.pendingUrl && this.pendingUrl !== this.url) URL.revokeObjectURL(this.pendingUrl);
    this.url = this.pendingUrl = null;
    this.loading = false;
    this.empty.hidden = false;
  }
}
