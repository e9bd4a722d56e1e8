// Shared by the browser tests: a real parley server on a free loopback
// port (its own data dir), Debian's Chromium through playwright-core,
// and small helpers that act as a person would (type, press Enter).
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const build = resolve(process.argv[2] || join(root, 'build/debug'));
export const shots = process.env.UPDATE_SCREENSHOTS === '1' ? join(root, 'docs/screenshots')
  : join(build, 'screenshots');
export const TIMEOUT_MS = 15000;

export class Server {
  constructor(extraPlugins = '', extraConfig = '') {
    this.bin = join(build, 'parley');
    this.tmp = mkdtempSync(join(tmpdir(), 'parley-browser-'));
    this.conf = join(this.tmp, 'parley.conf');
    writeFileSync(this.conf, `server = { listen = { "127.0.0.1:0" }, data_dir = "${this.tmp}/data", web_root = "${join(root, 'web')}" }
log = { level = "info" }
limits = { rates = false, bot_rates = false }
plugins = { { "auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 } },
            { "store_sqlite" }, { "notify_email", spool = "mail" }${extraPlugins} }
${extraConfig}
`);
  }

  cli(args, input) {
    return execFileSync(this.bin, [...args, '--config', this.conf], { input, stdio: ['pipe', 'pipe', 'ignore'] });
  }

  start() {
    this.proc = spawn(this.bin, ['--config', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Promise((ok, fail) => {
      let buf = '';
      const timer = setTimeout(() => fail(new Error('server did not start')), TIMEOUT_MS);
      this.log = '';
      this.proc.stderr.on('data', (d) => {
        this.log += d;
        if (this.url) return;
        buf += d;
        for (const line of buf.split('\n')) {
          try {
            const j = JSON.parse(line);
            if (j.event === 'listening' && !this.url) {
              clearTimeout(timer);
              this.url = 'http://' + j.addr;
              ok(this);
            }
          } catch { /* not a JSON line */ }
        }
      });
      this.proc.on('exit', (code) => {
        if (!this.url) fail(new Error('server exited ' + code + '\n' + this.log));
      });
    });
  }

  // Stops the server and waits for it; under ASan/UBSan a sanitizer report
  // in its log fails the test.
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((ok) => this.proc.once('exit', ok));
    this.proc.kill('SIGTERM');
    await Promise.race([exited, sleep(TIMEOUT_MS)]);
    const m = /(ERROR: (Address|Leak)Sanitizer.*|runtime error:.*)/.exec(this.log);
    if (m) throw new Error('server sanitizer report: ' + m[1]);
  }

  // The text/plain part of the first .eml notify_email spooled.
  async spooledMail() {
    const dir = join(this.tmp, 'data', 'mail');
    for (let i = 0; i < 100; i++) {
      let files = [];
      try {
        files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
      } catch { /* not there yet */ }
      if (files.length) {
        const raw = readFileSync(join(dir, files[0]), 'utf8');
        const part = raw.split(/\r\n--/).find((p) => p.includes('Content-Type: text/plain'));
        const b64 = part.split('\r\n\r\n')[1].replace(/\s+/g, '');
        return Buffer.from(b64, 'base64').toString('utf8');
      }
      await sleep(100);
    }
    throw new Error('no mail in the spool');
  }

  // A session token for HTTP calls made by the test itself (seeding).
  async token(name, password) {
    const r = await fetch(this.url + '/api/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: name, password }),
    });
    return (await r.json()).token;
  }
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-smooth-scrolling'],
  });
}

export async function newPage(browser, url, opts = {}) {
  const ctx = await browser.newContext(Object.assign({ viewport: { width: 1100, height: 700 } }, opts));
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  page.on('console', (m) => {
    // A 404 is how the client learns a feature is absent (scripts, uploads).
    if (m.type() === 'error' && !/status of 404/.test(m.text())) page.errors.push(new Error('console: ' + m.text()));
  });
  if (url) await page.goto(url);
  return page;
}

export async function signIn(browser, url, name, password, opts = {}) {
  const page = await newPage(browser, url, opts);
  await page.fill('#login-form input[name=username]', name);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#screen-chat:not([hidden])', { timeout: TIMEOUT_MS });
  await page.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });
  return page;
}

export async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// The message row (li) whose text contains `text`.
export function row(page, text) {
  return page.locator('#messages li.msg', { hasText: text }).last();
}

// Clicks a message's action button, shown only while its row is hovered.
// The list may be drawn again between the hover and the click (a profile
// or presence arriving replaces the row, unhovered): hover again and retry.
export async function clickAction(page, text, name) {
  const r = row(page, text);
  for (let i = 0; ; i++) {
    await r.hover();
    try {
      await r.getByRole('button', { name }).click({ timeout: 2000 });
      return;
    } catch (e) {
      if (i >= 4) throw e;
    }
  }
}

// Creates a room through the "New room" dialog and waits to be in it.
export async function createRoom(page, name, topic) {
  await page.click('#new-room');
  const d = page.locator('dialog[open]');
  await d.locator('input[name=name]').fill(name);
  if (topic) await d.locator('input[name=topic]').fill(topic);
  await d.getByRole('button', { name: 'Create' }).click();
  await page.waitForFunction((t) => document.getElementById('room-name').textContent === t, '# ' + name);
}

// Joins a room from the "Browse rooms" dialog and waits to be in it.
export async function joinRoom(page, name) {
  await page.click('#browse');
  await page.locator('dialog[open] li', { hasText: name }).getByRole('button', { name: 'Join' }).click();
  await page.waitForFunction((t) => document.getElementById('room-name').textContent === t, '# ' + name);
}

// Records desktop notifications instead of showing them (the page cannot
// tell) and lets the test say when the tab is hidden. Runs in the page:
// as an init script, or evaluated in a page already signed in (notify.js
// looks Notification up at each message); configurable so both can be.
export function notificationSpy() {
  window.__notes = [];
  window.__hidden = false;
  window.Notification = class {
    static permission = 'granted';
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, opts) { window.__notes.push({ title, body: opts && opts.body }); }
    close() {}
  };
  Object.defineProperty(Document.prototype, 'visibilityState', {
    configurable: true,
    get() { return window.__hidden ? 'hidden' : 'visible'; },
  });
}

export async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    window.__hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

export function noErrors(page) {
  if (page.errors.length) throw page.errors[0];
}

// Runs a test body with a server and a browser, reports, exits.
// all.mjs runs every file in one process with one Chromium
// (globalThis.parleyBrowser); a file run alone launches its own.
// Runs one test file's body once against a fresh server. No retries: a
// flaky check is fixed (wait for the state it needs, never for time), not
// retried into green.
export async function run(name, body, extraPlugins, extraConfig) {
  const ok = await runOnce(name, body, extraPlugins, extraConfig);
  if (!ok) process.exitCode = 1;
  return ok;
}

async function runOnce(name, body, extraPlugins, extraConfig) {
  const server = await new Server(extraPlugins, extraConfig).start();
  const shared = globalThis.parleyBrowser;
  const browser = shared || (await launch());
  const t0 = Date.now();
  let failed = false;
  try {
    await body(server, browser);
    console.log(`browser ${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed = true;
    console.error(`browser ${name}: FAILED`, e);
  } finally {
    if (shared) await Promise.all(browser.contexts().map((c) => c.close()));
    else await browser.close();
    try {
      await server.stop();
    } catch (e) {
      failed = true;
      console.error(`browser ${name}: FAILED`, e.message);
    }
  }
  return !failed;
}

// Fills a room with n messages through the page's own WebSocket (the real
// send path, the page's session), many in flight at once. Returns the
// room id; creates the room when it does not exist.
export async function seed(page, roomName, n, prefix) {
  return page.evaluate(async ({ roomName, n, prefix }) => {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws', 'parley.v1');
    const waiting = new Map();
    let rid = 0;
    ws.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      if (f.rid !== undefined && waiting.has(f.rid)) {
        waiting.get(f.rid)(f);
        waiting.delete(f.rid);
      }
    };
    await new Promise((ok) => (ws.onopen = ok));
    const req = (frame) => new Promise((ok) => {
      frame.rid = ++rid;
      waiting.set(frame.rid, ok);
      ws.send(JSON.stringify(frame));
    });
    const ready = await req({ type: 'auth' });
    let room = ready.rooms.find((r) => r.name === roomName);
    if (!room) room = (await req({ type: 'create_room', name: roomName })).room;
    const INFLIGHT = 500;
    for (let i = 0; i < n; i += INFLIGHT) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + INFLIGHT); j++) {
        batch.push(req({ type: 'send', room: room.id, text: `${prefix} ${j + 1}`, client_id: `${prefix}-${j}` }));
      }
      for (const r of await Promise.all(batch)) if (r.type !== 'ack') throw new Error(JSON.stringify(r));
    }
    ws.close();
    return room.id;
  }, { roomName, n, prefix });
}
