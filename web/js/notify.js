// The dashboard's side of iod-notify that touches the page: the Alerts
// card's Acknowledge buttons (a notify "ack" over the websocket), the
// answers to them, the service worker's registration and "Turn on
// notifications on this device" (Notification permission, a Web Push
// subscription with iod-notify's VAPID key, handed over as a notify
// "subscribe") and, on a device that is subscribed, "Turn off" (the
// browser's subscription dropped, its endpoint handed over as a notify
// "unsubscribe"). main.js owns the connection and calls in here.

import { newCommandId } from "./format.js";
import { ackResultText, b64urlToBytes, notifyCommand, pushUnsupported } from "./alerts.js";

const ANSWER_TIMEOUT_MS = 20000;
const SUBSCRIBE_TIMEOUT_MS = 10000;
const $ = (id) => document.getElementById(id);

export class NotifyUI {
  // deps: {app, views, markDirty}; app.conn, app.store, app.operator are read live.
  constructor(deps) {
    this.d = deps;
    this.sent = new Map(); // id -> {action, key, timer}
    this.views = deps.views;
    this.views.acking = new Set();
    this.views.canAck = false;
    this.registration = null;
    this.swError = "";
    $("active-list").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-ack-key]");
      if (b) this.ack(b.dataset.ackKey);
    });
    $("push-on").addEventListener("click", () => this.turnOn());
    $("push-off").addEventListener("click", () => this.turnOff());
  }

  // The service worker: registered on every page load (the browser keeps
  // one per scope and updates it when sw.js changes).
  async register() {
    if (!("serviceWorker" in navigator)) return;
    try {
      this.registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    } catch (err) {
      this.swError = `The service worker could not be registered (${err && err.message ? err.message : err}).`;
    }
    this.renderPush();
    // A device subscribed before (another visit) is offered "Turn off".
    const sub = await this.subscription();
    if (sub) this.showSubscribed(true);
  }

  // This browser's push subscription, or null (none, no push, no worker).
  async subscription() {
    if (!this.registration || !this.registration.pushManager) return null;
    try {
      return await this.registration.pushManager.getSubscription();
    } catch {
      return null;
    }
  }

  // Which of the two buttons shows; the one shown takes the focus the
  // pressed one had, so a keyboard user stays on the control.
  showSubscribed(on) {
    const show = $(on ? "push-off" : "push-on");
    const hide = $(on ? "push-on" : "push-off");
    const hadFocus = document.activeElement === hide;
    hide.hidden = true;
    show.hidden = false;
    if (hadFocus) show.focus();
  }

  setOperator(operator) {
    this.views.canAck = Boolean(operator);
    $("push-box").hidden = !operator;
    this.d.markDirty(["active"]);
  }

  status(tone, text) {
    const s = $("ack-status");
    s.dataset.tone = tone;
    s.textContent = text;
  }

  send(action, members, key = "") {
    const { app } = this.d;
    if (!app.conn || !app.conn.ready) return null;
    const id = newCommandId();
    if (!app.conn.send(notifyCommand(action, id, members))) return null;
    const timer = setTimeout(() => this.finish(id, "warn", "No answer from the notifier yet: is it running?"), ANSWER_TIMEOUT_MS);
    this.sent.set(id, { action, key, timer });
    if (key) this.views.acking.add(key);
    this.d.markDirty(["active"]);
    return id;
  }

  finish(id, tone, text) {
    const s = this.sent.get(id);
    if (!s) return;
    clearTimeout(s.timer);
    this.sent.delete(id);
    if (s.key) this.views.acking.delete(s.key);
    this.d.markDirty(["active"]);
    if (s.action === "subscribe" || s.action === "unsubscribe") this.pushStatus(text);
    else this.status(tone, text);
  }

  ack(key) {
    if (!this.d.app.operator) return;
    if (!this.send("ack", { key }, key)) this.status("bad", "Not connected to the bridge; nothing was sent.");
    else this.status("pending", "Acknowledging…");
  }

  // A bridge "ack" or "error" frame: true when it answered one of ours.
  onFrame(msg) {
    const s = this.sent.get(msg.id);
    if (!s) return false;
    if (msg.type === "error") {
      const detail = typeof msg.detail === "string" && msg.detail ? `: ${msg.detail}` : "";
      this.finish(msg.id, "bad", `Refused by the bridge (${msg.reason || "error"}${detail}).`);
    }
    return true;
  }

  // A notify/event; ours when its id is one we sent.
  onEvent(ev) {
    const s = this.sent.get(ev.id);
    if (!s) return;
    if (s.action === "ack") {
      const r = ackResultText(ev);
      this.finish(ev.id, r.tone, r.text);
    } else if (s.action === "subscribe") {
      if (ev.result === "ok") this.showSubscribed(true);
      this.finish(ev.id, "", ev.result === "ok"
        ? "Notifications are on for this device."
        : `The notifier did not take this device (${ev.reason || ev.result}${ev.detail ? `: ${ev.detail}` : ""}).`);
    } else if (s.action === "unsubscribe") {
      // The browser's subscription is gone already: off either way.
      this.finish(ev.id, "", ev.result === "ok"
        ? "Notifications are off for this device."
        : ev.reason === "unknown_endpoint"
          ? "Notifications are off for this device (the notifier had already forgotten it)."
          : `Notifications are off in this browser, but the notifier said ${ev.reason || ev.result}; it forgets this device at its next push.`);
    } else {
      this.finish(ev.id, "", ev.result === "ok" ? "Done." : `Refused (${ev.reason || ev.result}).`);
    }
  }

  vapidKey() {
    const n = this.d.app.store.services.get("notify");
    return n && n.info ? n.info.vapidKey : "";
  }

  pushStatus(text) {
    $("push-status").textContent = text;
  }

  renderPush() {
    if (this.swError) this.pushStatus(this.swError);
  }

  async turnOn() {
    const why = pushUnsupported(window, this.vapidKey());
    if (why) {
      this.pushStatus(why);
      return;
    }
    if (this.swError || !this.registration) {
      this.pushStatus(this.swError || "The service worker is not registered yet; try again in a moment.");
      return;
    }
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      this.pushStatus(permission === "denied"
        ? "Notifications are blocked for this site. Allow them in the browser's site settings, then try again."
        : "Notifications were not allowed. Press the button again to be asked once more.");
      return;
    }
    this.pushStatus("Asking this browser's push service for a subscription…");
    let sub;
    try {
      const reg = await navigator.serviceWorker.ready;
      sub = await reg.pushManager.getSubscription();
      const key = b64urlToBytes(this.vapidKey());
      // A subscription made for another key (a new notifier) is renewed.
      if (sub && sub.options && sub.options.applicationServerKey) {
        const old = new Uint8Array(sub.options.applicationServerKey);
        if (old.length !== key.length || old.some((b, i) => b !== key[i])) {
          await sub.unsubscribe();
          sub = null;
        }
      }
      if (!sub) {
        // A browser without a reachable push service may never answer.
        sub = await Promise.race([
          reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
          new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 10 s")), SUBSCRIBE_TIMEOUT_MS)),
        ]);
      }
    } catch (err) {
      this.pushStatus(`This browser could not subscribe to its push service (${err && err.message ? err.message : err}).`);
      return;
    }
    if (!this.send("subscribe", { subscription: sub.toJSON() })) {
      this.pushStatus("Not connected to the bridge; try again once connected.");
      return;
    }
    this.pushStatus("Handing this device to the notifier…");
  }

  async turnOff() {
    if (!this.d.app.conn || !this.d.app.conn.ready) {
      this.pushStatus("Not connected to the bridge; nothing was changed. Try again once connected.");
      return;
    }
    const sub = await this.subscription();
    if (!sub) {
      this.showSubscribed(false);
      this.pushStatus("This browser has no push subscription: notifications are already off here.");
      return;
    }
    const endpoint = sub.endpoint || (sub.toJSON ? sub.toJSON().endpoint : "");
    let dropped;
    try {
      dropped = await sub.unsubscribe();
    } catch (err) {
      this.pushStatus(`This browser could not drop its push subscription (${err && err.message ? err.message : err}); notifications stay on.`);
      return;
    }
    if (!dropped) {
      this.pushStatus("This browser kept its push subscription; notifications stay on. Try again.");
      return;
    }
    this.showSubscribed(false);
    if (!endpoint || !this.send("unsubscribe", { endpoint })) {
      this.pushStatus("Notifications are off in this browser; the notifier could not be told now and forgets this device at its next push.");
      return;
    }
    this.pushStatus("Telling the notifier to forget this device…");
  }
}
