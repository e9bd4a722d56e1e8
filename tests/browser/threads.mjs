// Threads (issue 15): "Open thread" (🧵) from a message's actions opens the
// thread panel beside the room; replies stay out of the room's timeline
// unless sent "also to the room"; the root shows "N replies" (live); the
// "Threads" list shows followed threads with unread counts and opens
// them; on a phone the panel is a screen of its own; a command's notice
// is shown in the thread it was typed in.
// Screenshots: thread-light.png, threads-list-dark.png, thread-phone.png.
//
//   node tests/browser/threads.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, noErrors, shots, TIMEOUT_MS } from './lib.mjs';

const panel = (page) => page.locator('#thread-panel');
const inPanel = (page, text) => page.locator('#thread-messages li.msg', { hasText: text });

async function replyInPanel(page, text, alsoRoom) {
  if (alsoRoom) await page.check('#thread-also');
  await page.fill('#thread-text', text);
  await page.press('#thread-text', 'Enter');
  await inPanel(page, text).waitFor({ timeout: TIMEOUT_MS });
}

await run('threads', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1', { colorScheme: 'light' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2', { colorScheme: 'dark' });
  mkdirSync(shots, { recursive: true });

  // bob answers alice's question in a thread, from the message's actions.
  await say(alice, 'Which buffer did we use in March?');
  await say(alice, 'and who has the freezer key');
  await row(bob, 'Which buffer').waitFor({ timeout: TIMEOUT_MS });
  await row(bob, 'Which buffer').hover();
  await row(bob, 'Which buffer').getByRole('button', { name: 'Open thread' }).click();
  await panel(bob).waitFor({ state: 'visible', timeout: TIMEOUT_MS });
  assert.match(await bob.locator('#thread-messages .thread-root').textContent(), /Which buffer/);
  await replyInPanel(bob, 'PBS, pH 7.4, from the cold room');
  // People in the thread are shown as in the room: picture and name.
  for (const text of ['Which buffer', 'PBS, pH 7.4']) {
    const r = inPanel(bob, text);
    assert.equal(await r.locator('img.avatar').count(), 1, text);
    assert.ok(await r.locator('.author[data-user]').count(), text);
  }

  // alice sees "1 reply" under the root, and not the reply in the room.
  const link = row(alice, 'Which buffer').locator('.thread-link');
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages .thread-link')]
    .some((b) => b.textContent === '1 reply'), null, { timeout: TIMEOUT_MS });
  assert.equal(await alice.locator('#messages li.msg', { hasText: 'PBS, pH 7.4' }).count(), 0);
  assert.equal(await bob.locator('#messages li.msg', { hasText: 'PBS, pH 7.4' }).count(), 0);

  // alice opens the thread and answers there, also to the room.
  await link.click();
  await inPanel(alice, 'PBS, pH 7.4').waitFor({ timeout: TIMEOUT_MS });
  await bob.click('#thread-close');
  await panel(bob).waitFor({ state: 'hidden' });
  await replyInPanel(alice, 'Thanks! Same again for April', true);
  await row(bob, 'Same again for April').waitFor({ timeout: TIMEOUT_MS }); // also in the room
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages .thread-link')]
    .some((b) => b.textContent === '2 replies'), null, { timeout: TIMEOUT_MS });
  // alice (the root's author) follows it too; having the thread open, she has read it.
  await alice.waitForFunction(() => !document.querySelector('#threads-open .badge'), null,
    { timeout: TIMEOUT_MS });
  await alice.screenshot({ path: join(shots, 'thread-light.png') });

  // bob follows the thread (he wrote in it): alice's reply is unread there.
  await bob.locator('#threads-open .badge').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await bob.locator('#threads-open .badge').textContent(), '1');
  // bob has a second tab open: it shows the same unread count, and loses it
  // when he reads the thread in the first (the thread_read event).
  const bob2 = await signIn(browser, server.url, 'bob', 'correct horse 2', { colorScheme: 'dark' });
  await bob2.locator('#threads-open .badge').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await bob2.locator('#threads-open .badge').textContent(), '1');
  await bob.click('#threads-open');
  const list = bob.locator('dialog[open] .thread-item', { hasText: 'Which buffer' });
  await list.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await list.locator('.badge').textContent(), '1');
  assert.match(await list.textContent(), /2 replies/);
  await bob.screenshot({ path: join(shots, 'threads-list-dark.png') });
  await list.locator('.thread-open-item').click();
  await inPanel(bob, 'Same again for April').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await inPanel(bob, 'PBS, pH 7.4').count(), 1);
  await bob2.waitForFunction(() => !document.querySelector('#threads-open .badge'), null,
    { timeout: TIMEOUT_MS });
  // Reading it there cleared its count on the server.
  await bob.keyboard.press('Escape');
  await bob.click('#threads-open');
  await bob.waitForFunction(() => {
    const item = document.querySelector('dialog[open] .thread-item');
    return item && !item.querySelector('.badge');
  }, null, { timeout: TIMEOUT_MS });
  await bob.keyboard.press('Escape');

  // A search hit in a thread opens the thread (the reply is not in the room).
  await bob.locator('#messages').click({ position: { x: 5, y: 5 } });
  await bob.keyboard.press('Control+f');
  const sd = bob.locator('dialog[open]');
  await sd.locator('input[name=q]').fill('cold room');
  await sd.locator('.search-hit', { hasText: 'cold room' }).waitFor({ timeout: TIMEOUT_MS });
  await sd.locator('.search-hit', { hasText: 'cold room' }).locator('button').first().click();
  await inPanel(bob, 'PBS, pH 7.4').waitFor({ timeout: TIMEOUT_MS });
  assert.match(await bob.locator('#thread-messages .thread-root').textContent(), /Which buffer/);
  await bob.click('#thread-close');

  // On a phone the thread is a screen of its own.
  await bob.setViewportSize({ width: 390, height: 800 });
  await row(bob, 'Which buffer').locator('.thread-link').click();
  await inPanel(bob, 'Same again for April').waitFor({ timeout: TIMEOUT_MS });
  const box = await panel(bob).boundingBox();
  assert.ok(box && box.x === 0 && box.width === 390, JSON.stringify(box));
  await bob.screenshot({ path: join(shots, 'thread-phone.png') });
  await bob.click('#thread-close');

  // A command typed in the thread's composer posts into the thread.
  await alice.fill('#thread-text', '/me checks the freezer');
  await alice.press('#thread-text', 'Enter');
  await inPanel(alice, 'alice checks the freezer').waitFor({ timeout: TIMEOUT_MS });
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages .thread-link')]
    .some((b) => b.textContent === '3 replies'), null, { timeout: TIMEOUT_MS });
  assert.equal(await alice.locator('#messages li.msg', { hasText: 'checks the freezer' }).count(), 0);

  // /help typed in the thread answers above the thread's composer, not
  // the room's; closing the thread moves the notice to the room.
  await alice.fill('#thread-text', '/help');
  await alice.press('#thread-text', 'Enter');
  await alice.locator('#thread-notices .notice-item', { hasText: 'Commands:' }).waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await alice.locator('#notices .notice-item').count(), 0);
  await alice.click('#thread-close');
  await alice.locator('#notices .notice-item', { hasText: 'Commands:' }).waitFor({ timeout: TIMEOUT_MS });

  for (const p of [alice, bob, bob2]) noErrors(p);
});
