// The dashboard's service worker (scope /): shows iod-notify's Web Push
// messages as notifications with an "Acknowledge" action, and acknowledges
// from that action itself, with no tab open, through the bridge's
// POST /api/notify/ack (the operator's session cookie goes with it; a worker
// has no websocket). Nothing is cached: the dashboard is live or it is not.
//
// A push's data is the alert as iod-notify encrypts it:
//   {"key","source","code","level","message","since","site","title"}

const ACK_ACTION = "ack";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function alertFromPush(data) {
  let a = null;
  try {
    a = data ? data.json() : null;
  } catch {
    a = null; // not JSON: still tell the person something came
  }
  if (!a || typeof a !== "object") a = { message: data ? data.text() : "" };
  const str = (v) => (typeof v === "string" ? v : "");
  return {
    key: str(a.key),
    level: ["info", "warning", "critical"].includes(a.level) ? a.level : "info",
    title: str(a.title) || "iod alert",
    message: str(a.message) || str(a.code) || "An alert needs attention.",
    site: str(a.site),
    since: typeof a.since === "number" ? a.since : null,
  };
}

// message: what the alert itself says, kept in data for a re-show.
function showAlert(a, message = a.message) {
  return self.registration.showNotification(a.title, {
    body: a.message,
    tag: a.key || undefined, // a repeat of the same alert replaces the shown one
    renotify: Boolean(a.key),
    requireInteraction: a.level === "critical",
    icon: "/icons/icon-192.png",
    badge: "/icons/icon-192.png",
    timestamp: a.since ?? undefined,
    data: { key: a.key, site: a.site, level: a.level, since: a.since, message },
    actions: a.key ? [{ action: ACK_ACTION, title: "Acknowledge" }] : [],
  });
}

self.addEventListener("push", (event) => {
  event.waitUntil(showAlert(alertFromPush(event.data)));
});

// The Acknowledge action's work; also what tests call in the worker.
// Resolves {ok, status, error}.
async function acknowledge(key) {
  let res;
  try {
    res = await fetch("/api/notify/ack", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key }),
    });
  } catch {
    return { ok: false, status: 0, error: "unreachable" };
  }
  let error = "";
  if (!res.ok) {
    try {
      error = (await res.json()).error || "";
    } catch {
      error = "";
    }
  }
  return { ok: res.ok, status: res.status, error };
}
self.iodAcknowledge = acknowledge;

self.iodOnAckAction = (notification) => onAckAction(notification); // for tests, as notificationclick

async function openDashboard() {
  const all = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const c of all) if ("focus" in c) return c.focus();
  return self.clients.openWindow("/");
}

async function onAckAction(notification) {
  const data = notification.data || {};
  if (!data.key) return openDashboard();
  const r = await acknowledge(data.key);
  if (r.ok) return undefined;
  // The alert comes back, saying why, with its Acknowledge for another try
  // (after a login on the dashboard, say): a failed ack never hides it.
  const why =
    r.status === 401
      ? "Not acknowledged: log in on the dashboard on this device first."
      : r.status === 0
        ? "Not acknowledged: the dashboard cannot be reached from here."
        : `Not acknowledged: the dashboard refused it (${r.error || `HTTP ${r.status}`}).`;
  return showAlert({
    key: data.key,
    level: data.level || "info",
    title: notification.title,
    message: `${why}\n${data.message || notification.body}`,
    site: data.site || "",
    since: data.since ?? null,
  }, data.message || notification.body);
}

self.addEventListener("notificationclick", (event) => {
  const n = event.notification;
  n.close();
  event.waitUntil(event.action === ACK_ACTION ? onAckAction(n) : openDashboard());
});
