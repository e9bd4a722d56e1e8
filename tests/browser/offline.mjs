// Never lose a message: the WebSocket is cut for real (page.routeWebSocket
// closes both sides and refuses new ones while "offline"; setOffline would
// leave an open socket open), three messages are written meanwhile, and
// once the link is back each arrives exactly once, in order. Then the same
// with a reload while the messages sit in the IndexedDB outbox.
//
//   node tests/browser/offline.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, newPage, noErrors, shots, TIMEOUT_MS } from './lib.mjs';

// A switchable WebSocket link for one browser context.
async function cuttableLink(ctx) {
  const link = { online: true, live: new Set(), connects: 0 };
  await ctx.routeWebSocket(/\/ws$/, (ws) => {
    if (!link.online) {
      ws.close({ code: 4000, reason: 'test: offline' });
      return;
    }
    link.connects++;
    const server = ws.connectToServer();
    const pair = { ws, server };
    link.live.add(pair);
    ws.onClose(() => link.live.delete(pair));
  });
  link.cut = () => {
    link.online = false;
    for (const { ws, server } of link.live) {
      ws.close({ code: 4000, reason: 'test: cut' });
      server.close();
    }
    link.live.clear();
  };
  link.restore = () => {
    link.online = true;
  };
  return link;
}

async function storedTexts(server, token, room) {
  const r = await fetch(`${server.url}/api/rooms/${room}/messages?limit=100`, {
    headers: { Authorization: 'Bearer ' + token },
  });
  return (await r.json()).messages.map((m) => m.text);
}

await run('offline', async (server, browser) => {
  server.cli(['user', 'add', 'alice'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2');

  const alice = await newPage(browser, null);
  const link = await cuttableLink(alice.context());
  await alice.goto(server.url);
  await alice.fill('#login-form input[name=username]', 'alice');
  await alice.fill('#login-form input[name=password]', 'correct horse 1');
  await alice.click('#login-form button[type=submit]');
  await alice.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });
  await say(alice, 'before the cut');
  await row(bob, 'before the cut').waitFor({ timeout: TIMEOUT_MS });

  // Offline: the banner shows, three messages wait as pending.
  link.cut();
  await alice.waitForSelector('#banner:not([hidden])', { timeout: TIMEOUT_MS });
  for (const n of [1, 2, 3]) await say(alice, `offline message ${n}`);
  // The outbox writes to IndexedDB before it draws: wait for the third row.
  await alice.waitForFunction(() => document.querySelectorAll('#messages li.pending').length >= 3,
    null, { timeout: TIMEOUT_MS });
  assert.equal(await alice.locator('#messages li.pending').count(), 3);
  mkdirSync(shots, { recursive: true });
  await alice.screenshot({ path: join(shots, 'offline-light.png') });
  await alice.waitForTimeout(800); // refused reconnects
  assert.equal(await bob.locator('#messages li.msg', { hasText: 'offline message' }).count(), 0);

  // Back: all three delivered once, in order, on both sides.
  link.restore();
  await alice.waitForSelector('#banner', { state: 'hidden', timeout: TIMEOUT_MS });
  await row(bob, 'offline message 3').waitFor({ timeout: TIMEOUT_MS });
  await alice.waitForFunction(() => !document.querySelector('#messages li.pending'), null, { timeout: TIMEOUT_MS });
  for (const page of [alice, bob]) {
    const texts = await page.locator('#messages li.msg .text').allTextContents();
    const got = texts.filter((t) => t.startsWith('offline message'));
    assert.deepEqual(got, ['offline message 1', 'offline message 2', 'offline message 3']);
  }
  const room = await alice.evaluate(() => document.querySelector('#rooms .room-link').dataset.room);
  const token = await server.token('bob', 'correct horse 2');
  const stored = (await storedTexts(server, token, room)).filter((t) => t.startsWith('offline message'));
  assert.equal(stored.length, 3, 'each offline message stored once: ' + stored);

  // Written offline, then the tab reloads: the outbox (IndexedDB) keeps them.
  link.cut();
  await alice.waitForSelector('#banner:not([hidden])', { timeout: TIMEOUT_MS });
  await say(alice, 'kept across reload 1');
  await say(alice, 'kept across reload 2');
  await alice.waitForFunction(() => document.querySelectorAll('#messages li.pending').length === 2);
  await alice.reload();
  await alice.waitForSelector('#loading-text >> text=2 unsent messages', { timeout: TIMEOUT_MS });
  link.restore();
  await row(bob, 'kept across reload 2').waitFor({ timeout: TIMEOUT_MS });
  await row(alice, 'kept across reload 2').waitFor({ timeout: TIMEOUT_MS });
  await alice.waitForFunction(() => !document.querySelector('#messages li.pending'), null, { timeout: TIMEOUT_MS });
  const after = (await storedTexts(server, token, room)).filter((t) => t.startsWith('kept across reload'));
  assert.deepEqual(after.sort(), ['kept across reload 1', 'kept across reload 2']);
  const bobTexts = (await bob.locator('#messages li.msg .text').allTextContents()).filter((t) => t.startsWith('kept'));
  assert.deepEqual(bobTexts, ['kept across reload 1', 'kept across reload 2']);
  noErrors(bob);
});
