// iod-notify on the dashboard, the parts without a DOM: the retained active
// alert set (iod/<site>/alerts) as the Alerts card shows it, notify/event
// answers, the notify commands sent over the websocket, and what a browser
// lacks for Web Push. Node's test runner imports this module directly
// (tests/browser/web-unit.test.mjs).

const LEVELS = ["info", "warning", "critical"];
const LEVEL_RANK = { critical: 0, warning: 1, info: 2 };

function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(v) {
  return typeof v === "string" ? v : "";
}

// {"active":[…],"ts"} -> {list, ts}, or null when it is not that shape.
// Entries without a key are dropped (nothing could acknowledge them);
// unacked first, then by level (critical first), then the oldest first
// (an entry without a time after those with one).
export function activeFromPayload(payload) {
  if (!payload || typeof payload !== "object" || !Array.isArray(payload.active)) return null;
  const list = [];
  for (const a of payload.active) {
    if (!a || typeof a !== "object" || typeof a.key !== "string" || !a.key) continue;
    const ackedBy = typeof a.acked_by === "string" && a.acked_by ? a.acked_by : null;
    list.push({
      key: a.key,
      source: str(a.source),
      code: str(a.code),
      subject: str(a.subject),
      level: LEVELS.includes(a.level) ? a.level : "info",
      message: str(a.message),
      since: num(a.since),
      updated: num(a.updated),
      ackedBy,
      ackedAt: ackedBy ? num(a.acked_at) : null,
    });
  }
  list.sort(
    (x, y) =>
      Number(Boolean(x.ackedBy)) - Number(Boolean(y.ackedBy)) ||
      LEVEL_RANK[x.level] - LEVEL_RANK[y.level] ||
      (x.since ?? Number.MAX_SAFE_INTEGER) - (y.since ?? Number.MAX_SAFE_INTEGER),
  );
  return { list, ts: num(payload.ts) };
}

// notify/event, the feeder's event shape.
export function notifyEventFromPayload(payload, ts) {
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) return null;
  if (typeof payload.action !== "string" || typeof payload.result !== "string") return null;
  return {
    id: str(payload.id),
    action: payload.action,
    result: payload.result,
    reason: str(payload.reason),
    detail: str(payload.detail),
    ts,
  };
}

// The websocket message for a notify command (the bridge adds "by").
export function notifyCommand(action, id, members = {}) {
  return { ...members, type: "cmd", service: "notify", action, id };
}

// What notify/event's answer to our ack says, for the card's status line.
export function ackResultText(ev) {
  if (ev.result === "ok") return { tone: "ok", text: "Acknowledged." };
  if (ev.result === "duplicate" || ev.reason === "already_acked") {
    return { tone: "ok", text: ev.detail ? `Already acknowledged (${ev.detail}).` : "Already acknowledged." };
  }
  if (ev.reason === "unknown_key") return { tone: "warn", text: "That alert is no longer active." };
  return { tone: "bad", text: `Not acknowledged: ${ev.reason || ev.result}.` };
}

// Why this browser cannot turn on notifications, or "" when it can try.
// env: {window-like} with the features looked at (a test passes its own).
export function pushUnsupported(env, vapidKey) {
  if (!env.isSecureContext) return "Notifications need the dashboard over HTTPS (or on localhost).";
  if (!("serviceWorker" in env.navigator)) return "This browser has no service workers, so it cannot show notifications for the dashboard.";
  if (!("PushManager" in env) || !("Notification" in env)) return "This browser has no push service: it cannot receive notifications.";
  if (env.Notification.permission === "denied") return "Notifications are blocked for this site. Allow them in the browser's site settings, then try again.";
  if (!vapidKey) return "The notifier (iod-notify) has not published its key yet: is it running? Try again once it is online.";
  return "";
}

// The VAPID public key (base64url) as PushManager.subscribe() takes it.
export function b64urlToBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
