// The websocket to iod-bridge: subprotocol iod.v1, reconnect with jittered
// back-off (1 s doubling to 30 s), a heartbeat that notices a silently dead
// connection, and a status the page shows ("Offline — reconnecting in 4 s").

import { backoffDelayMs } from "./format.js";

export const SUBPROTOCOL = "iod.v1";
const HEARTBEAT_MS = 20000; // a ping every 20 s; no frame by the next tick = dead

export class Connection {
  // url: ws(s) URL of /ws. handlers: onStatus({state, retryAt?, attempt}),
  // onText(obj), onBinary(blob), onClosed({wasReady, code}) -> Promise<bool>
  // (resolve false to stop reconnecting, e.g. the session is gone).
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.ready = false;
    this.retryTimer = null;
    this.tickTimer = null;
    this.heartbeatTimer = null;
    this.awaitingRx = false;
    this.retryAt = 0;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    this.drop();
    this.status("stopped");
  }

  // Skip the rest of the back-off (the "Retry now" button, the browser
  // coming back online).
  retryNow() {
    if (this.stopped || this.ws) return;
    this.clearTimers();
    this.open();
  }

  // Sends a JSON object; false when there is no open connection.
  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  status(state) {
    this.h.onStatus({ state, retryAt: this.retryAt, attempt: this.attempt });
  }

  clearTimers() {
    clearTimeout(this.retryTimer);
    clearInterval(this.tickTimer);
    clearInterval(this.heartbeatTimer);
    this.retryTimer = this.tickTimer = this.heartbeatTimer = null;
  }

  // Detaches and closes the current socket without firing our handlers.
  drop() {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (!ws) return;
    ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
    try {
      ws.close();
    } catch {
      /* already closing */
    }
  }

  open() {
    this.drop();
    this.status("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url, SUBPROTOCOL);
    } catch {
      this.closed(1006);
      return;
    }
    ws.binaryType = "blob";
    this.ws = ws;
    ws.onopen = () => this.status("syncing");
    ws.onmessage = (ev) => this.message(ev.data);
    ws.onclose = (ev) => this.closed(ev.code);
    ws.onerror = () => {}; // onclose follows and does the work
  }

  message(data) {
    this.awaitingRx = false;
    if (typeof data !== "string") {
      this.h.onBinary(data);
      return;
    }
    let obj;
    try {
      obj = JSON.parse(data);
    } catch {
      return; // the bridge only sends JSON; ignore anything else
    }
    if (obj && obj.type === "batch") {
      // Several frames in one message (the overview's snapshot): each
      // element is what would otherwise have been a message of its own.
      if (Array.isArray(obj.frames)) for (const f of obj.frames) this.h.onText(f);
      return;
    }
    if (obj && obj.type === "ready") {
      this.ready = true;
      this.attempt = 0; // a full sync resets the back-off
      this.startHeartbeat();
      this.h.onText(obj);
      this.status("live");
      return;
    }
    this.h.onText(obj);
  }

  startHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.awaitingRx = false;
    this.heartbeatTimer = setInterval(() => {
      if (this.awaitingRx) {
        // Nothing at all since the last ping: the link is dead even if the
        // socket has not noticed (a phone that changed networks).
        const code = 4000;
        this.drop();
        this.closed(code);
        return;
      }
      this.awaitingRx = true;
      this.send({ type: "ping" });
    }, HEARTBEAT_MS);
  }

  async closed(code) {
    const wasReady = this.ready;
    this.drop();
    this.clearTimers();
    if (this.stopped) return;
    const delay = backoffDelayMs(this.attempt);
    this.attempt++;
    this.retryAt = Date.now() + delay;
    this.status("offline");
    this.tickTimer = setInterval(() => this.status("offline"), 1000);
    this.retryTimer = setTimeout(() => {
      clearInterval(this.tickTimer);
      this.tickTimer = null;
      this.open();
    }, delay);
    let keepGoing = true;
    try {
      keepGoing = await this.h.onClosed({ wasReady, code });
    } catch {
      keepGoing = true;
    }
    if (!keepGoing) this.stop();
  }
}
