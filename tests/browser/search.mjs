// Search: Ctrl+F opens the search dialog (not the browser's find), results
// come as one types with the words highlighted (diacritics folded: "creme"
// marks "Crème"), a private room's message is found only by its member,
// "More results" pages with the cursor, and clicking a hit far back in a
// 600-message room opens that room at the message with the messages around
// it, marked. Screenshots of the results, light and dark.
//
//   node tests/browser/search.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, seed, noErrors, shots, TIMEOUT_MS } from './lib.mjs';

async function openSearch(page) {
  await page.locator('#messages').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+f');
  const d = page.locator('dialog[open]');
  await d.getByRole('heading', { name: 'Search messages' }).waitFor({ timeout: TIMEOUT_MS });
  return d;
}

async function search(d, text) {
  await d.locator('input[name=q]').fill(text);
  // Answered: the status names this very query (not the one before).
  await d.page().waitForFunction((q) => {
    const s = document.querySelector('dialog[open] .search-status');
    return s && s.dataset.answered === q;
  }, text, { timeout: TIMEOUT_MS });
  return d.locator('.search-hit');
}

await run('search', async (server, browser) => {
  server.cli(['user', 'add', 'alice'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1', { colorScheme: 'light' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2', { colorScheme: 'dark' });
  mkdirSync(shots, { recursive: true });

  // A long room: the hit is far above what the room shows when opened.
  await seed(alice, 'lab', 600, 'entry');
  await seed(alice, 'lab', 1, 'We used Tris buffer in March, pH 8.0 — see the crème protocol');
  await seed(alice, 'lab', 300, 'later');
  await say(alice, 'Which buffer did we use in March?');
  await row(alice, 'Which buffer did we use').waitFor();
  // A private room bob is not in.
  await seed(alice, 'secret', 1, 'buffer recipe for the secret project');

  let d = await openSearch(alice);
  let hits = await search(d, 'buffer march');
  assert.equal(await hits.count(), 2, 'both messages with buffer and march');
  const marks = await hits.first().locator('mark').allTextContents();
  assert.ok(marks.some((m) => /buffer/i.test(m)) && marks.some((m) => /march/i.test(m)), marks.join());
  // Diacritics folded, and highlighted where they are.
  hits = await search(d, 'creme');
  assert.equal(await hits.count(), 1);
  assert.deepEqual(await hits.first().locator('mark').allTextContents(), ['crème']);
  hits = await search(d, 'buff*');
  assert.equal(await hits.count(), 3, 'the private room is alice\'s too');
  await alice.screenshot({ path: join(shots, 'search-light.png') });

  // bob finds only what was said in general: nothing of the private
  // room, nor of lab, which he is not in.
  const bd = await openSearch(bob);
  const bh = await search(bd, 'buffer');
  assert.equal(await bh.count(), 1);
  assert.match(await bh.first().textContent(), /Which buffer did we use/);
  await search(bd, 'secret');
  assert.equal(await bd.locator('.search-status').textContent(), 'Nothing found.');
  // A bad query says why.
  await search(bd, '"open');
  assert.match(await bd.locator('.search-status').textContent(), /not closed/);
  await bob.keyboard.press('Escape');
  await bob.locator('dialog[open]').waitFor({ state: 'detached' });

  // Paging: 20 at a time, "More results" adds the rest.
  hits = await search(d, 'entry');
  assert.equal(await hits.count(), 20);
  await d.getByRole('button', { name: 'More results' }).click();
  await d.locator('.search-hit').nth(39).waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await d.locator('.search-hit').count(), 40);
  await d.locator('select[name=sort]').selectOption('recent');
  await d.locator('.search-hit').first().filter({ hasText: 'entry 600' }).waitFor({ timeout: TIMEOUT_MS });

  // Open a hit far back: its room, at it, with its neighbours.
  await alice.keyboard.press('Escape');
  await alice.locator('dialog[open]').waitFor({ state: 'detached' });
  await alice.click('#rooms .room-link:has-text("general")');
  hits = await search(await openSearch(alice), 'tris');
  assert.equal(await hits.count(), 1);
  await hits.first().locator('button').click();
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === '# lab');
  const hit = alice.locator('#messages li.msg.found', { hasText: 'Tris buffer' });
  await hit.waitFor({ timeout: TIMEOUT_MS });
  await alice.locator('#messages li.msg', { hasText: 'entry 600' }).waitFor();
  await alice.locator('#messages li.msg', { hasText: 'later 1' }).first().waitFor();
  const visible = await hit.evaluate((li) => {
    const ol = document.getElementById('messages');
    const a = li.getBoundingClientRect();
    const b = ol.getBoundingClientRect();
    return a.top >= b.top && a.bottom <= b.bottom;
  });
  assert.ok(visible, 'the hit is on screen');
  // The room still reaches its newest message from there.
  await alice.click('#jump');
  await row(alice, 'later 300').waitFor({ timeout: TIMEOUT_MS });

  await say(bob, 'crème brûlée for the buffer party in March');
  d = await openSearch(bob);
  await search(d, 'brulee march');
  await bob.screenshot({ path: join(shots, 'search-dark.png') });
  noErrors(alice);
  noErrors(bob);
});
