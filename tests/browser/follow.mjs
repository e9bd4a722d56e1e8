// Find and follow (issue 15): pinning from a message's actions and the
// "Pinned" panel, the "New message" dialog opening a group DM with people
// picked by name from suggestions, and the per-room notification level
// (the room list's mark, grey plain-unread badges, the title count,
// desktop notifications).
// Screenshots: pinned-light.png, group-dm-light.png, notify-dark.png.
//
//   node tests/browser/follow.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  run, signIn, say, row, clickAction, noErrors, shots, TIMEOUT_MS,
  createRoom, joinRoom, notificationSpy, setHidden,
} from './lib.mjs';

const link = (page, name) => page.locator('.room-link', { hasText: name });

await run('follow', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  server.cli(['user', 'add', 'carol'], 'correct horse 3\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1', { colorScheme: 'light' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2', { colorScheme: 'dark' });
  const carol = await signIn(browser, server.url, 'carol', 'correct horse 3', { colorScheme: 'light' });
  mkdirSync(shots, { recursive: true });

  // A room alice owns; bob joins it.
  await createRoom(alice, 'lab');
  await joinRoom(bob, 'lab');

  // Pins: the owner pins from the message's actions; bob sees the count
  // change, opens the panel and finds the message there.
  await say(alice, 'Buffer recipe: 50 mM Tris, pH 7.5');
  await say(alice, 'unrelated chatter');
  await clickAction(alice, 'Buffer recipe', 'Pin or unpin');
  await bob.waitForFunction(() => document.getElementById('room-pins').textContent.includes('1'),
    null, { timeout: TIMEOUT_MS });
  // A plain member has no pin action.
  await row(bob, 'unrelated chatter').hover();
  assert.equal(await row(bob, 'unrelated chatter').getByRole('button', { name: 'Pin or unpin' }).count(), 0);
  await bob.click('#room-pins');
  const panel = bob.locator('dialog[open]');
  await panel.locator('.pinned-item', { hasText: 'Buffer recipe' }).waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await panel.locator('.pinned-item').count(), 1);
  assert.equal(await panel.getByRole('button', { name: 'Unpin' }).count(), 0);
  await bob.screenshot({ path: join(shots, 'pinned-dark.png') });
  await bob.keyboard.press('Escape');
  await alice.click('#room-pins');
  await alice.locator('dialog[open] .pinned-item', { hasText: 'Buffer recipe' }).waitFor();
  await alice.screenshot({ path: join(shots, 'pinned-light.png') });
  await alice.locator('dialog[open]').getByRole('button', { name: 'Unpin' }).click();
  await bob.waitForFunction(() => document.getElementById('room-pins').textContent.includes('0'),
    null, { timeout: TIMEOUT_MS });
  await alice.keyboard.press('Escape');

  // A group DM: alice picks bob and carol by typing parts of their names.
  await alice.click('#new-dm');
  const d = alice.locator('dialog[open]');
  await d.getByRole('heading', { name: 'New message' }).waitFor();
  await d.locator('input[name=people]').fill('bo');
  await d.locator('.suggestion', { hasText: 'bob' }).click();
  await d.locator('input[name=people]').fill('car');
  await d.locator('.suggestion', { hasText: 'carol' }).waitFor();
  await alice.screenshot({ path: join(shots, 'group-dm-light.png') });
  await d.locator('.suggestion', { hasText: 'carol' }).click();
  assert.deepEqual(await d.locator('.chip').allTextContents(), ['bob×', 'carol×']);
  await d.getByRole('button', { name: 'Open' }).click();
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === 'bob, carol');
  await say(alice, 'lunch at noon, all three of us?');
  await link(carol, 'alice, bob').click();
  await row(carol, 'lunch at noon').waitFor({ timeout: TIMEOUT_MS });
  await link(bob, 'alice, carol').click();
  await row(bob, 'lunch at noon').waitFor({ timeout: TIMEOUT_MS });

  // Notification level: bob quiets lab; new messages there show a grey
  // badge (not red) and do not count in the title.
  await link(bob, 'lab').click();
  await bob.selectOption('#room-notify select', 'none');
  await link(bob, 'lab').locator('.notify-mark').waitFor({ timeout: TIMEOUT_MS });
  await link(bob, 'general').click();
  await link(alice, 'lab').click();
  await say(alice, 'is anyone still in the lab?');
  // Once bob sees a later message in general, the lab one has arrived too.
  await link(alice, 'general').click();
  await say(alice, 'coffee is ready');
  await row(bob, 'coffee is ready').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await link(bob, 'lab').locator('.badge').count(), 0);
  assert.ok(!(await bob.title()).startsWith('('), await bob.title());
  await link(alice, 'lab').click();
  await link(bob, 'lab').click();
  await bob.selectOption('#room-notify select', 'mentions');
  await link(bob, 'general').click();
  await say(alice, 'the centrifuge is free');
  await link(bob, 'lab').locator('.badge.plain').waitFor({ timeout: TIMEOUT_MS });
  assert.ok(!(await bob.title()).startsWith('('), await bob.title()); // mentions only: not counted
  await say(alice, '@bob your samples are done');
  await link(bob, 'lab').locator('.mention-badge').waitFor({ timeout: TIMEOUT_MS });
  await bob.waitForFunction(() => document.title.startsWith('(1)'), null, { timeout: TIMEOUT_MS });
  await bob.screenshot({ path: join(shots, 'notify-dark.png') });

  // The level decides desktop notifications too (tab hidden): lab at
  // "mentions" notifies for a mention (@bob, @room) only, at "none" for nothing, while
  // general (level "all") notifies for every message.
  await bob.evaluate(notificationSpy);
  await setHidden(bob, true);
  await link(alice, 'lab').click();
  await say(alice, 'plain lab note');
  await say(alice, '@bob the plate reader is free');
  await say(alice, '@room lunch in ten'); // @room is a mention like @name
  await link(alice, 'general').click();
  await say(alice, 'general note one');
  await bob.waitForFunction(() => window.__notes.length >= 3, null, { timeout: TIMEOUT_MS });
  assert.deepEqual(await bob.evaluate(() => window.__notes.map((n) => n.body)),
    ['@bob the plate reader is free', '@room lunch in ten', 'general note one']);
  await setHidden(bob, false);
  await link(bob, 'lab').click();
  await bob.selectOption('#room-notify select', 'none');
  await link(bob, 'lab').locator('.notify-mark').waitFor({ timeout: TIMEOUT_MS });
  await link(bob, 'general').click();
  await setHidden(bob, true);
  await link(alice, 'lab').click();
  await say(alice, '@bob one more plate');
  await link(alice, 'general').click();
  await say(alice, 'general note two');
  await bob.waitForFunction(() => window.__notes.length >= 4, null, { timeout: TIMEOUT_MS });
  assert.deepEqual(await bob.evaluate(() => window.__notes.map((n) => n.body)),
    ['@bob the plate reader is free', '@room lunch in ten', 'general note one', 'general note two']);
  await setHidden(bob, false);

  for (const p of [alice, bob, carol]) noErrors(p);
});
