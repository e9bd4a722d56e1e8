// The one WebSocket of a tab: connect, authenticate with the HttpOnly
// cookie (the token never reaches script), reconnect with exponential
// backoff and full jitter, and match replies to requests by rid.
//
// onReady(ready) runs after every successful `auth` (the first and each
// reconnect); onEvent(frame) gets every frame that is not a reply;
// onState(s) gets 'connecting' | 'ready' | 'offline' | 'signed-out'.
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
// App-level keep-alive: finds a dead link the browser's offline event
// does not report (a Wi-Fi that still claims a connection), within
// PING_EVERY_MS + PING_TIMEOUT_MS.
const PING_EVERY_MS = 10000;
const PING_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 30000;

export class Connection {
  constructor({ resume, onReady, onEvent, onState }) {
    this.resume = resume; // () => {room: last seq held}
    this.onReady = onReady;
    this.onEvent = onEvent;
    this.onState = onState;
    this.ws = null;
    this.ready = false;
    this.everReady = false;
    this.stopped = true;
    this.attempts = 0;
    this.rid = 0;
    this.pending = new Map(); // rid -> {resolve, timer}
    this.timer = 0;
    this.pingTimer = 0;
  }

  start() {
    this.stopped = false;
    this.attempts = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
    this.drop();
  }

  // Skip the wait: the network is back, or the person asked.
  retryNow() {
    if (this.stopped || this.ws) return;
    this.connect();
  }

  // The browser says the network is gone: the socket is dead even if it
  // has not noticed (a close handshake cannot get through), so drop it
  // now and show it; reconnecting starts over when 'online' fires.
  lost() {
    if (this.stopped || !this.ws) return;
    const ws = this.ws;
    this.drop();
    try {
      ws.close(4000);
    } catch {
      /* already closing */
    }
    this.scheduleReconnect();
  }

  url() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  }

  connect() {
    clearTimeout(this.timer);
    if (this.ws || this.stopped) return;
    this.onState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url(), 'parley.v1');
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.ready = false;
    ws.onopen = () => this.authenticate(ws);
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onFrame(ev.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.drop();
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  // Forget the socket; every waiting request gets null (it is resent later).
  drop() {
    this.ws = null;
    this.ready = false;
    clearInterval(this.pingTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.pending.clear();
  }

  async authenticate(ws) {
    const frame = { type: 'auth' };
    const resume = this.resume();
    if (Object.keys(resume).length) frame.resume = resume;
    const reply = await this.request(frame, true);
    if (this.ws !== ws || !reply) return;
    if (reply.type === 'ready') {
      this.ready = true;
      this.everReady = true;
      this.attempts = 0;
      this.startPing(ws);
      this.onState('ready');
      this.onReady(reply);
    } else if (reply.code === 'unauthorized' || reply.code === 'forbidden') {
      this.stopped = true;
      ws.close(1000);
      this.drop();
      this.onState('signed-out');
    } else {
      ws.close(1000);
    }
  }

  startPing(ws) {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(async () => {
      const t = setTimeout(() => ws.close(4000), PING_TIMEOUT_MS);
      const r = await this.request({ type: 'ping' });
      clearTimeout(t);
      if (!r && this.ws === ws) ws.close(4000);
    }, PING_EVERY_MS);
  }

  scheduleReconnect() {
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempts);
    const delay = cap / 2 + Math.random() * (cap / 2); // jitter: no thundering herd
    this.attempts++;
    this.onState('offline', delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // A request with a rid; resolves to the reply, or null when the socket
  // is not ready or drops before the reply.
  request(frame, evenIfNotReady) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || (!this.ready && !evenIfNotReady)) {
      return Promise.resolve(null);
    }
    frame.rid = ++this.rid;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(frame.rid);
        resolve(null);
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(frame.rid, { resolve, timer });
      ws.send(JSON.stringify(frame));
    });
  }

  // A frame without a reply (typing, read).
  send(frame) {
    if (this.ws && this.ready) this.ws.send(JSON.stringify(frame));
  }

  onFrame(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (f.rid !== undefined && this.pending.has(f.rid)) {
      const p = this.pending.get(f.rid);
      this.pending.delete(f.rid);
      clearTimeout(p.timer);
      p.resolve(f);
      return;
    }
    this.onEvent(f);
  }
}
