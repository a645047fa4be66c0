// The dashboard's model of one site, fed by bridge frames. Pure (no DOM),
// so Node's test runner imports it directly. Every apply* function returns
// the set of view areas it changed; the page re-renders only those, once
// per animation frame.

import { splitTopic } from "./format.js";
import { planFromPayload, scheduleFromPayload } from "./plan.js";
import { activeFromPayload, notifyEventFromPayload } from "./alerts.js";

export const CHART_WINDOW_MS = 60 * 60 * 1000; // charts show the last hour
export const MAX_POINTS = 4000; // per sensor; bounds memory on a busy site
export const MAX_ALERTS = 50;
export const MAX_EVENTS = 20;
export const MAX_OTHER = 500; // topics kept that no view shows (bounded)
// camera/motion without "active" (publishers before it): a start event's
// score is >= IOD_CAMERA_MOTION_ON (default 0.02), a stop's below _OFF (0.01).
export const CAMERA_MOTION_MID = 0.015;

// Services the suite ships; shown (as "not seen yet") before they report.
export const EXPECTED_SERVICES = ["feeder", "sensors", "camera"];

export function createStore(site = "home") {
  const store = { site };
  resetStore(store, site);
  return store;
}

// Forget everything: called on every new "hello", whose snapshot then
// rebuilds the whole state (a reconnect never shows stale data as live).
export function resetStore(store, site = store.site) {
  store.site = site;
  store.services = new Map();
  for (const name of EXPECTED_SERVICES) store.services.set(name, newService(name));
  store.sensors = new Map();
  store.feeder = { state: null, log: [], events: [], plan: null, schedule: null };
  store.alerts = [];
  // iod-notify's retained active set: null until `alerts` is heard.
  store.active = null;
  store.notify = { events: [] }; // notify/event, newest first
  store.camera = { frameMs: null, frames: 0, motion: null };
  store.other = new Map(); // topic -> {payload, ts}: anything not modelled
  // The bridge's MQTT connection: true, false, or null (not told: a bridge
  // that does not say is taken as connected).
  store.broker = { connected: null, sinceMs: null };
  return store;
}

function newService(name) {
  return { name, availability: null, lastSeenMs: null, info: null };
}

function service(store, name) {
  let s = store.services.get(name);
  if (!s) {
    s = newService(name);
    store.services.set(name, s);
  }
  return s;
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function seen(svc, ts) {
  if (ts !== null && (svc.lastSeenMs === null || ts > svc.lastSeenMs)) svc.lastSeenMs = ts;
}

function trimPoints(points) {
  if (!points.length) return;
  const cutoff = points[points.length - 1][0] - CHART_WINDOW_MS;
  let drop = 0;
  while (drop < points.length && points[drop][0] < cutoff) drop++;
  if (points.length - drop > MAX_POINTS) drop = points.length - MAX_POINTS;
  if (drop) points.splice(0, drop);
}

function keepOther(store, topic, payload, ts) {
  store.other.delete(topic);
  store.other.set(topic, { payload, ts });
  if (store.other.size > MAX_OTHER) store.other.delete(store.other.keys().next().value);
}

function sensor(store, kind) {
  let s = store.sensors.get(kind);
  if (!s) {
    s = { kind, unit: "", value: null, ts: null, points: [] };
    store.sensors.set(kind, s);
  }
  return s;
}

// Inserts [ts, value] keeping the points ordered by time (live readings
// almost always arrive in order; an out-of-order one is placed, not lost).
function addPoint(points, ts, value) {
  const n = points.length;
  if (!n || points[n - 1][0] < ts) {
    points.push([ts, value]);
  } else if (points[n - 1][0] === ts) {
    points[n - 1][1] = value;
  } else {
    let i = n - 1;
    while (i > 0 && points[i - 1][0] > ts) i--;
    if (points[i - 1] && points[i - 1][0] === ts) points[i - 1][1] = value;
    else points.splice(i, 0, [ts, value]);
  }
  trimPoints(points);
}

// One {"topic","payload","ts"} frame. Returns the changed areas.
export function applyMessage(store, msg) {
  const changed = new Set();
  const where = splitTopic(msg.topic, store.site);
  if (!where) return changed;
  const recvTs = num(msg.ts);
  const payload = msg.payload;
  const payloadTs = isObject(payload) ? num(payload.ts) : null;

  if (where.service === null) {
    if (where.rest === "alert" && isObject(payload)) {
      store.alerts.unshift({
        source: typeof payload.source === "string" ? payload.source : "",
        level: ["info", "warning", "critical"].includes(payload.level) ? payload.level : "info",
        code: typeof payload.code === "string" ? payload.code : "",
        message: typeof payload.message === "string" ? payload.message : "",
        ts: payloadTs ?? recvTs,
      });
      if (store.alerts.length > MAX_ALERTS) store.alerts.length = MAX_ALERTS;
      changed.add("alerts");
      if (typeof payload.source === "string" && payload.source) {
        seen(service(store, payload.source), payloadTs ?? recvTs);
        changed.add("services");
      }
    } else if (where.rest === "alerts" && activeFromPayload(payload)) {
      store.active = activeFromPayload(payload);
      changed.add("active");
    } else {
      keepOther(store, msg.topic, payload, recvTs);
    }
    return changed;
  }

  const svc = service(store, where.service);
  changed.add("services");
  if (where.rest === "availability") {
    const word = typeof payload === "string" ? payload.trim() : "";
    svc.availability = word === "online" || word === "offline" ? word : null;
    changed.add("availability");
    if (svc.availability === "online") seen(svc, recvTs);
    return changed;
  }
  seen(svc, recvTs);
  if (where.rest === "info") {
    if (isObject(payload)) {
      svc.info = {
        version: typeof payload.version === "string" ? payload.version : "",
        backend: typeof payload.backend === "string" ? payload.backend : "",
        since: num(payload.since),
        // The home's zone and names (IOD_SITE_NAME, IOD_DOG_NAME): "" when
        // the service does not say.
        tz: typeof payload.tz === "string" ? payload.tz : "",
        siteName: typeof payload.site_name === "string" ? payload.site_name : "",
        dogName: typeof payload.dog_name === "string" ? payload.dog_name : "",
      };
      changed.add("info");
      if (where.service === "notify") {
        // iod-notify's: the applicationServerKey for Web Push
        svc.info.vapidKey = typeof payload.vapid_public_key === "string" ? payload.vapid_public_key : "";
        changed.add("active");
      }
    }
    return changed;
  }

  if (where.service === "notify" && where.rest === "event") {
    const ev = notifyEventFromPayload(payload, payloadTs ?? recvTs);
    if (ev) {
      store.notify.events.unshift(ev);
      if (store.notify.events.length > MAX_EVENTS) store.notify.events.length = MAX_EVENTS;
      changed.add("notify-event");
    } else {
      keepOther(store, msg.topic, payload, recvTs);
    }
    return changed;
  }

  if (where.service === "sensors" && where.rest && !where.rest.includes("/")) {
    if (isObject(payload) && num(payload.value) !== null) {
      const s = sensor(store, where.rest);
      const ts = payloadTs ?? recvTs;
      s.value = payload.value;
      if (typeof payload.unit === "string") s.unit = payload.unit;
      s.ts = ts;
      if (ts !== null) addPoint(s.points, ts, payload.value);
      changed.add(`sensor:${where.rest}`);
    }
    return changed;
  }

  if (where.service === "feeder") {
    if (where.rest === "state" && isObject(payload)) {
      store.feeder.state = {
        position: typeof payload.position === "string" ? payload.position : null,
        lastDose: num(payload.last_dose),
        nextAllowed: num(payload.next_allowed),
        nextScheduled: num(payload.next_scheduled),
        dosesToday: num(payload.doses_today),
        // null: pills not counted (no refill yet)
        pillsRemaining: num(payload.pills_remaining),
        runsOut: num(payload.runs_out),
        clockSynced: typeof payload.clock_synced === "boolean" ? payload.clock_synced : null,
      };
      changed.add("feeder");
    } else if (where.rest === "log" && isObject(payload) && Array.isArray(payload.doses)) {
      store.feeder.log = payload.doses.filter(isObject).map((d) => ({
        id: typeof d.id === "string" ? d.id : "",
        ts: num(d.ts),
        by: typeof d.by === "string" ? d.by : "",
        source: typeof d.source === "string" ? d.source : "",
        result: ["ok", "failed", "uncertain"].includes(d.result) ? d.result : "",
        verified: typeof d.verified === "boolean" ? d.verified : null,
      }));
      changed.add("log");
    } else if (where.rest === "plan" && planFromPayload(payload)) {
      store.feeder.plan = planFromPayload(payload);
      changed.add("plan");
    } else if (where.rest === "schedule" && scheduleFromPayload(payload)) {
      store.feeder.schedule = scheduleFromPayload(payload);
      changed.add("plan");
    } else if (where.rest === "event" && isObject(payload)) {
      store.feeder.events.unshift({
        id: typeof payload.id === "string" ? payload.id : "",
        action: typeof payload.action === "string" ? payload.action : "",
        result: typeof payload.result === "string" ? payload.result : "",
        reason: typeof payload.reason === "string" ? payload.reason : "",
        detail: typeof payload.detail === "string" ? payload.detail : "",
        rev: num(payload.rev),
        deltaG: num(payload.delta_g), // a verify event's; null without a bowl reading
        ts: payloadTs ?? recvTs,
      });
      if (store.feeder.events.length > MAX_EVENTS) store.feeder.events.length = MAX_EVENTS;
      changed.add("event");
    } else {
      keepOther(store, msg.topic, payload, recvTs);
    }
    return changed;
  }

  if (where.service === "camera" && where.rest === "motion" && isObject(payload)) {
    const score = num(payload.score);
    let active = null; // null: cannot tell
    if (typeof payload.active === "boolean") active = payload.active;
    else if (score !== null) active = score >= CAMERA_MOTION_MID;
    store.camera.motion = { score, active, ts: payloadTs ?? recvTs };
    changed.add("camera");
    return changed;
  }

  keepOther(store, msg.topic, payload, recvTs);
  return changed;
}

// {"type":"history","topic","points":[[ts,value],...]}: replaces the
// chart data of that sensor (the bridge sends it once, on connect).
export function applyHistory(store, msg) {
  const changed = new Set();
  const where = splitTopic(msg.topic, store.site);
  if (!where || where.service !== "sensors" || !where.rest || !Array.isArray(msg.points)) {
    return changed;
  }
  const s = sensor(store, where.rest);
  const points = msg.points
    .filter((p) => Array.isArray(p) && num(p[0]) !== null && num(p[1]) !== null)
    .map((p) => [p[0], p[1]])
    .sort((a, b) => a[0] - b[0]);
  // The cached reading (sent just before) may be newer than the last bucket.
  if (s.ts !== null && s.value !== null && (!points.length || points[points.length - 1][0] < s.ts)) {
    points.push([s.ts, s.value]);
  }
  trimPoints(points);
  s.points = points;
  if (s.value === null && points.length) {
    s.value = points[points.length - 1][1];
    s.ts = points[points.length - 1][0];
  }
  changed.add(`sensor:${where.rest}`);
  return changed;
}

// The bridge's MQTT connection changed (hello's "broker", or a
// {"type":"broker","connected","ts"} frame). A change of either kind makes
// every service's availability unknown: what a service said before the
// broker went away is no evidence of now, and after it is back only what
// arrives again counts (retained copies on resubscribe, fresh "online").
export function applyBroker(store, connected, ts) {
  const changed = new Set();
  if (typeof connected !== "boolean") return changed;
  const was = store.broker.connected;
  if (was === connected) return changed;
  // The time of a change seen live; the state a (re)connecting page is
  // told in hello says nothing about when it began.
  store.broker = { connected, sinceMs: was === null ? null : num(ts) };
  if (was !== null) {
    for (const s of store.services.values()) s.availability = null;
  }
  for (const area of ["broker", "services", "availability"]) changed.add(area);
  return changed;
}

export function brokerDown(store) {
  return store.broker.connected === false;
}

// A binary frame (camera JPEG) received at serverNowMs.
export function applyFrame(store, serverNowMs) {
  store.camera.frameMs = serverNowMs;
  store.camera.frames++;
  seen(service(store, "camera"), serverNowMs);
  return new Set(["camera", "services"]);
}

// Sensor kinds in display order: known kinds first, then others by name.
export function sensorOrder(store, known) {
  const kinds = [...store.sensors.keys()];
  return kinds.sort((a, b) => {
    const ia = known.indexOf(a);
    const ib = known.indexOf(b);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
    return a.localeCompare(b);
  });
}

// The home as its services describe it: {tz, siteName, dogName}, each the
// newest info's that carries it ("" when none does).
export function siteIdentity(store) {
  const out = { tz: "", siteName: "", dogName: "" };
  const since = { tz: -Infinity, siteName: -Infinity, dogName: -Infinity };
  for (const svc of store.services.values()) {
    if (!svc.info) continue;
    const at = svc.info.since ?? 0;
    for (const k of ["tz", "siteName", "dogName"]) {
      if (svc.info[k] && at >= since[k]) {
        out[k] = svc.info[k];
        since[k] = at;
      }
    }
  }
  // The feeder's zone is the one its schedule runs in: it wins over a
  // service on another machine (the bridge's own info, a camera elsewhere).
  const feeder = store.services.get("feeder");
  if (feeder && feeder.info && feeder.info.tz) out.tz = feeder.info.tz;
  return out;
}
