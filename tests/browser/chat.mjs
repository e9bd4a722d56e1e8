// Browser test of issue 3's promise: two people, each in their own browser
// context (own cookie), sign in through the page and chat both ways in
// `general`. Real Chromium (Debian's) driven by playwright-core, the real
// server on a free port. Screenshots of the chat, light and dark, go to
// BUILD_DIR/screenshots/, or to docs/screenshots/ (the README shows one)
// with UPDATE_SCREENSHOTS=1, so a test run leaves the tree clean.
//
//   node tests/browser/chat.mjs BUILD_DIR
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const build = resolve(process.argv[2] || join(root, 'build/debug'));
const bin = join(build, 'parley');
const shots = process.env.UPDATE_SCREENSHOTS === '1' ? join(root, 'docs/screenshots')
  : join(build, 'screenshots');
const TIMEOUT_MS = 15000;

const tmp = mkdtempSync(join(tmpdir(), 'parley-browser-'));
const conf = join(tmp, 'parley.conf');
writeFileSync(conf, `server = { listen = { "127.0.0.1:0" }, data_dir = "${tmp}/data" }
log = { level = "info" }
plugins = { { "auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 } },
            { "store_sqlite" }, { "notify_email", spool = "mail" } }
`);

function cli(args, input) {
  return execFileSync(bin, [...args, '--config', conf], { input, stdio: ['pipe', 'pipe', 'ignore'] });
}

function startServer() {
  const proc = spawn(bin, ['--config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((ok, fail) => {
    let buf = '';
    const timer = setTimeout(() => fail(new Error('server did not start')), TIMEOUT_MS);
    proc.stderr.on('data', (d) => {
      buf += d;
      for (const line of buf.split('\n')) {
        try {
          const j = JSON.parse(line);
          if (j.event === 'listening') {
            clearTimeout(timer);
            ok({ proc, url: 'http://' + j.addr });
          }
        } catch { /* not a JSON line */ }
      }
    });
    proc.on('exit', (code) => fail(new Error('server exited ' + code)));
  });
}

async function signIn(browser, url, name, password, scheme) {
  const ctx = await browser.newContext({ colorScheme: scheme, viewport: { width: 1100, height: 700 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(url);
  await page.fill('#login-form input[name=username]', name);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#screen-chat:not([hidden])', { timeout: TIMEOUT_MS });
  await page.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });
  return page;
}

// The text/plain part of the one .eml notify_email wrote to the spool
// (no SMTP server configured), once it is there.
async function spooledMail() {
  const dir = join(tmp, 'data', 'mail');
  for (let i = 0; i < 100; i++) {
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    if (files.length) {
      const raw = readFileSync(join(dir, files[0]), 'utf8');
      const part = raw.split(/\r\n--/).find((p) => p.includes('Content-Type: text/plain'));
      const b64 = part.split('\r\n\r\n')[1].replace(/\s+/g, '');
      return Buffer.from(b64, 'base64').toString('utf8');
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error('no mail in the spool');
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

const { proc, url } = await startServer();
let failed = false;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const alice = await signIn(browser, url, 'alice', 'correct horse 1', 'light');
  const bob = await signIn(browser, url, 'bob', 'correct horse 2', 'dark');

  await say(alice, 'Morning @bob, the cluster is back up.');
  await bob.waitForSelector('#messages >> text=the cluster is back up', { timeout: TIMEOUT_MS });
  await say(bob, 'Great, thanks! I will rerun the jobs.');
  await alice.waitForSelector('#messages >> text=I will rerun the jobs', { timeout: TIMEOUT_MS });
  await say(alice, 'Everything is in **general** for now.');
  await bob.waitForSelector('#messages >> text=Everything is in', { timeout: TIMEOUT_MS });

  // Text is text: markup typed by a person never becomes HTML.
  await say(bob, '<img src=x onerror=alert(1)>');
  await alice.waitForSelector('#messages >> text=<img src=x onerror=alert(1)>', { timeout: TIMEOUT_MS });
  assert.equal(await alice.locator('#messages img[src=x]').count(), 0);

  // A reload keeps the session (HttpOnly cookie) and the history.
  await alice.reload();
  await alice.waitForSelector('#messages >> text=I will rerun the jobs', { timeout: TIMEOUT_MS });

  // The digest setting: on by default, turned off with the checkbox.
  assert.equal(await bob.isChecked('#email-digest'), true);
  await bob.click('#email-digest');
  await bob.waitForFunction(async () => {
    const r = await fetch('/api/settings');
    return (await r.json()).settings.email_digest === false;
  }, null, { timeout: TIMEOUT_MS });

  // A forgotten password, reset through the e-mailed link.
  cli(['user', 'add', 'carol', '--email', 'carol@example.org'], 'correct horse 3\n');
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(url);
  await page.click('#forgot-open');
  await page.fill('#forgot-form input[name=email]', 'carol@example.org');
  await page.click('#forgot-form button[type=submit]');
  await page.waitForSelector('#forgot-sent:not([hidden])', { timeout: TIMEOUT_MS });
  const link = (await spooledMail()).match(/http\S*#reset=[A-Za-z0-9_-]{43}/)[0];
  await page.goto(link.replace(/^http:\/\/[^/]+/, url));
  await page.fill('#reset-form input[name=password]', 'a brand new password');
  await page.fill('#reset-form input[name=password2]', 'a brand new password');
  await page.click('#reset-form button[type=submit]');
  await page.waitForSelector('#screen-login:not([hidden])', { timeout: TIMEOUT_MS });
  await page.fill('#login-form input[name=username]', 'carol');
  await page.fill('#login-form input[name=password]', 'a brand new password');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#screen-chat:not([hidden])', { timeout: TIMEOUT_MS });
  await ctx.close();

  mkdirSync(shots, { recursive: true });
  await alice.screenshot({ path: join(shots, 'chat-light.png') });
  await bob.screenshot({ path: join(shots, 'chat-dark.png') });
  console.log('browser: two people chatted both ways in general, turned digests off, reset a ' +
              'password by mail; screenshots in ' + shots);
} catch (e) {
  failed = true;
  console.error('browser test failed:', e);
} finally {
  await browser.close();
  proc.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
