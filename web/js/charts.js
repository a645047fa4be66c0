// Sensor charts with uPlot, loaded from web/node_modules (installed by
// `npm ci` in web/). When that import fails the page still works: tiles
// show their values and a "charts unavailable" note instead.

import { historyColumns } from "./records.js";

const UPLOT_JS = "node_modules/uplot/dist/uPlot.esm.js";
const UPLOT_CSS = "node_modules/uplot/dist/uPlot.min.css";
export const CHART_HEIGHT = 140; // matches .chart's reserved height in app.css
const SPARSE_POINTS = 60;
const REDRAW_MS = 1000;
const HOLD_MS = 10 * 60 * 1000; // the last reading counts as current this long
const WINDOW_S = 3600; // the x axis spans the last hour (store.js keeps as much)

let loading = null;

// Resolves to the uPlot constructor, or null when it cannot be loaded.
export function loadUplot() {
  if (!loading) {
    const base = document.baseURI;
    loading = import(new URL(UPLOT_JS, base).href)
      .then((mod) => {
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = new URL(UPLOT_CSS, base).href;
        document.head.append(link);
        return mod.default;
      })
      .catch(() => null);
  }
  return loading;
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// One chart in `host` (an element with a fixed height). points: [[ms, v]].
export class SensorChart {
  constructor(uPlot, host, kind) {
    this.uPlot = uPlot;
    this.host = host;
    this.kind = kind;
    this.points = [];
    this.nowS = Date.now() / 1000;
    this.dots = null;
    this.drawnAt = -Infinity;
    this.redrawTimer = null;
    this.plot = null;
    this.hist = null; // a fetched history ({points: [[ms, mean, min, max]]}) or null: live
    this.rangeMs = WINDOW_S * 1000;
    this.build();
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(host);
  }

  build() {
    const uPlot = this.uPlot;
    const axis = cssVar("--chart-axis") || "#667";
    const grid = cssVar("--chart-grid") || "rgba(128,128,128,.2)";
    const line = cssVar(`--kind-${this.kind}`) || cssVar("--chart-line") || "#3b82f6";
    const motion = this.kind === "motion";
    const font = `12px ${cssVar("--font-ui") || "system-ui, sans-serif"}`;
    const opts = {
      width: Math.max(120, this.host.clientWidth),
      height: CHART_HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      scales: {
        // Always the last hour, ending at the newest reading: a sensor that
        // just appeared shows one point at the right, not a zoom on seconds.
        x: {
          time: true,
          range: (u, min, max) => {
            const hi = Math.max(this.nowS, Number.isFinite(max) ? max : 0);
            return [hi - this.rangeMs / 1000, hi];
          },
        },
        // A single value (or a flat line) gets a small band around it, not
        // uPlot's 0..2x default, so 19.1 °C does not sit on a 0-20 scale.
        y: motion
          ? { range: [0, 1.05] }
          : {
              range: (u, min, max) => {
                if (min === max) {
                  const pad = Math.max(Math.abs(min) * 0.05, 1);
                  return [min - pad, max + pad];
                }
                return uPlot.rangeNum(min, max, 0.1, true);
              },
            },
      },
      axes: [
        {
          stroke: axis,
          font,
          size: 28,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, width: 1, size: 4 },
          // Ticks at least one label apart: "12:45 PM" in a 12-hour locale
          // is twice "12:45", and a narrow card must not run them together.
          space: () => this.tickSpace(font),
          // Times only, in the browser's locale (uPlot's default adds a
          // second line with the date, which the compact chart cuts off).
          // Longer than a day: dates instead.
          values: (u, splits) =>
            splits.map((s) =>
              this.rangeMs > 86400000
                ? new Date(s * 1000).toLocaleDateString([], { day: "numeric", month: "short" })
                : new Date(s * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
            ),
        },
        {
          stroke: axis,
          font,
          size: 44,
          grid: { stroke: grid, width: 1 },
          ticks: { show: false },
          ...(motion
            ? { splits: () => [0, 1], values: (u, vals) => vals.map((v) => (v === 1 ? "yes" : "no")) }
            : {}),
        },
      ],
      series: [
        {},
        {
          label: this.kind,
          stroke: line,
          width: 2,
          fill: `${line}22`,
          // Dots while readings are few (a sensor that only reports changes,
          // a kind that just appeared); a plain line once there are many.
          points: {
            show: false,
            filter: () => this.dots,
            size: 6,
            stroke: line,
            fill: line,
          },
          ...(motion && !this.hist ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
        },
      ],
    };
    // A fetched history: the mean as the line, each bucket's min..max as a
    // band behind it (two invisible series and a uPlot band between them).
    if (this.hist) {
      opts.series.push({ label: "min", stroke: "transparent", width: 0, points: { show: false } });
      opts.series.push({ label: "max", stroke: "transparent", width: 0, points: { show: false } });
      opts.bands = [{ series: [3, 2], fill: `${line}40` }];
      opts.series[1].fill = undefined;
    }
    this.plot = new uPlot(opts, this.data(), this.host);
  }

  // Readings as uPlot columns, plus the last value held until now: sensors
  // publish on change (with a heartbeat), so the last reading is the current
  // value, and a single reading still draws a line. Not for a stale reading.
  // The x axis's minimum tick spacing: the widest label this locale writes
  // for the range shown (a late-evening time, a two-digit date), measured in
  // the axis font, plus a gap.
  tickSpace(font) {
    const key = `${font}|${this.rangeMs > 86400000 ? "d" : "t"}`;
    if (this.spaceKey !== key) {
      const sample = new Date(2026, 11, 28, 23, 45);
      const text =
        this.rangeMs > 86400000
          ? sample.toLocaleDateString([], { day: "numeric", month: "short" })
          : sample.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const ctx = document.createElement("canvas").getContext("2d");
      let width = text.length * 7;
      if (ctx) {
        ctx.font = font;
        width = ctx.measureText(text).width;
      }
      this.spaceKey = key;
      this.spacePx = Math.ceil(width) + 16;
    }
    return this.spacePx;
  }

  data() {
    if (this.hist) {
      const cols = historyColumns(this.hist);
      // Dots where a line cannot show a value: every point while they are
      // few, else those with a gap on both sides.
      const m = cols[1];
      const alone = (i) => m[i] !== null && (i === 0 || m[i - 1] === null) && (i === m.length - 1 || m[i + 1] === null);
      const few = this.hist.points.length <= SPARSE_POINTS;
      this.dots = m.map((v, i) => i).filter((i) => m[i] !== null && (few || alone(i)));
      if (!this.dots.length) this.dots = null;
      this.host.dataset.series = "history"; // what is drawn, for tests and styles
      this.host.dataset.points = String(this.hist.points.length);
      return cols;
    }
    this.host.dataset.series = "live";
    this.host.dataset.points = String(this.points.length);
    const n = this.points.length;
    const xs = [];
    const ys = [];
    for (let i = 0; i < n; i++) {
      xs.push(this.points[i][0] / 1000); // uPlot's time scale is in seconds
      ys.push(this.points[i][1]);
    }
    const lastMs = n ? this.points[n - 1][0] : null;
    const nowMs = this.nowS * 1000;
    if (lastMs !== null && nowMs > lastMs && nowMs - lastMs <= HOLD_MS) {
      xs.push(this.nowS);
      ys.push(ys[n - 1]);
    }
    // Dots on the real readings while they are few; none on the held one.
    this.dots = n && n <= SPARSE_POINTS ? Array.from({ length: n }, (_, i) => i) : null;
    return [xs, ys];
  }

  // points: [[ms, v]] in time order; nowMs: the bridge's clock now.
  // Redraws at most once per REDRAW_MS: on an hour-wide chart a pixel is
  // about 12 s, so a busy sensor costs one redraw a second, not one per
  // reading (the tile's number above the chart still changes at once).
  setPoints(points, nowMs) {
    this.points = points;
    this.nowS = nowMs / 1000;
    const wait = this.drawnAt + REDRAW_MS - performance.now();
    if (wait <= 0) {
      this.draw();
    } else if (!this.redrawTimer) {
      this.redrawTimer = setTimeout(() => this.draw(), wait);
    }
  }

  // A fetched history for a longer range (rangeMs wide), or null for the
  // live hour again; rebuilt, since the series differ.
  setHistory(hist, rangeMs, nowMs) {
    this.hist = hist;
    this.rangeMs = hist ? rangeMs : WINDOW_S * 1000;
    if (Number.isFinite(nowMs)) this.nowS = nowMs / 1000;
    this.rebuild();
  }

  // The clock moves on while a history is shown (its live points are
  // appended to hist by the caller).
  setNow(nowMs) {
    this.setPoints(this.points, nowMs);
  }

  draw() {
    clearTimeout(this.redrawTimer);
    this.redrawTimer = null;
    this.drawnAt = performance.now();
    this.plot.setData(this.data());
  }

  fit() {
    const width = Math.max(120, Math.floor(this.host.clientWidth));
    if (this.plot && width !== this.plot.width) this.plot.setSize({ width, height: CHART_HEIGHT });
  }

  // Colours come from CSS; a colour-scheme change rebuilds the chart.
  rebuild() {
    this.plot.destroy();
    this.build();
  }

  destroy() {
    clearTimeout(this.redrawTimer);
    this.observer.disconnect();
    this.plot.destroy();
  }
}
