// Rooms an owner can run, the audit log page and the built-in commands
// (issue 18): the room settings dialog (rename, who may post, roles,
// archive), an admin deleting a room, the audit page filtered by actor,
// action and date, /help as a notice only its sender sees, /me and /shrug,
// an unknown /word refused with a pointer to /help, //word posted.
//
//   node tests/browser/room_admin.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, noErrors, shots, TIMEOUT_MS } from './lib.mjs';

const link = (page, name) => page.locator('.room-link', { hasText: name });

async function dialog(page, opener, title) {
  await page.click(opener);
  const d = page.locator('dialog[open]');
  await d.getByRole('heading', { name: title }).waitFor();
  return d;
}

const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

await run('room_admin', async (server, browser) => {
  server.cli(['user', 'add', 'root', '--role', 'admin'], 'correct horse 1\n');
  server.cli(['user', 'add', 'olive'], 'correct horse 2\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 3\n');
  const olive = await signIn(browser, server.url, 'olive', 'correct horse 2', { colorScheme: 'light' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 3', { colorScheme: 'dark' });
  mkdirSync(shots, { recursive: true });

  // olive creates a room; bob joins it. Only its owner sees the settings button.
  let d = await dialog(olive, '#new-room', 'Create a room');
  await d.locator('input[name=name]').fill('lab');
  await d.getByRole('button', { name: 'Create' }).click();
  await olive.waitForFunction(() => document.getElementById('room-name').textContent === '# lab');
  d = await dialog(bob, '#browse', 'Browse rooms');
  await d.locator('li', { hasText: 'lab' }).getByRole('button', { name: 'Join' }).click();
  await bob.waitForFunction(() => document.getElementById('room-name').textContent === '# lab');
  assert.equal(await olive.isVisible('#room-settings'), true);
  assert.equal(await bob.isVisible('#room-settings'), false);

  // Rename and "moderators may post": bob sees both live and cannot post.
  d = await dialog(olive, '#room-settings', 'Room settings: # lab');
  await d.locator('input[name=name]').fill('lab-2');
  await d.locator('select[name=may_post]').selectOption('moderators');
  await d.locator('.member-roles li[data-user=bob]').waitFor();
  await olive.screenshot({ path: join(shots, 'room-settings-light.png') });
  await d.getByRole('button', { name: 'Save' }).click();
  await d.locator('p.ok', { hasText: 'Saved.' }).waitFor();
  await bob.waitForFunction(() => document.getElementById('room-name').textContent === '# lab-2',
    null, { timeout: TIMEOUT_MS });
  await say(bob, 'may I?');
  await row(bob, 'may I?').locator('text=only moderators may post').waitFor({ timeout: TIMEOUT_MS });

  // bob made a moderator from the dialog's roles: now he may post.
  await d.locator('select[aria-label="Role of bob"]').selectOption('moderator');
  await d.getByRole('button', { name: 'Close' }).click();
  // A room keeps an owner: olive cannot step down (the error shows).
  d = await dialog(olive, '#room-settings', 'Room settings: # lab-2');
  await d.locator('select[aria-label="Role of olive"]').selectOption('member');
  await d.locator('p.error', { hasText: 'at least one owner' }).waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await d.locator('select[aria-label="Role of olive"]').inputValue(), 'owner');
  await d.getByRole('button', { name: 'Close' }).click();
  // bob's members dialog shows the new role once the server has it.
  const info = await dialog(bob, '#room-info', '# lab-2');
  await info.locator('.members li', { hasText: 'bob (moderator)' }).waitFor({ timeout: TIMEOUT_MS });
  await info.getByRole('button', { name: 'Close' }).click();
  await say(bob, 'moderators may');
  await row(olive, 'moderators may').waitFor({ timeout: TIMEOUT_MS });

  // Archive: read-only, gone from bob's room list, back when unarchived.
  d = await dialog(olive, '#room-settings', 'Room settings: # lab-2');
  await d.locator('input[name=archived]').check();
  await d.getByRole('button', { name: 'Save' }).click();
  await d.locator('p.ok', { hasText: 'Saved.' }).waitFor();
  await d.getByRole('button', { name: 'Close' }).click();
  await link(bob, 'general').click();
  await link(bob, 'lab-2').waitFor({ state: 'detached', timeout: TIMEOUT_MS });
  await say(olive, 'still here?');
  await row(olive, 'still here?').locator('text=archived').waitFor({ timeout: TIMEOUT_MS });

  // /help: a notice for olive only; /me and /shrug post; unknown /word is refused.
  const root = await signIn(browser, server.url, 'root', 'correct horse 1', { colorScheme: 'light' });
  await link(olive, 'general').click();
  await link(bob, 'general').click();
  // "/help": Enter takes the suggestion (which shows the usage), Enter sends.
  await olive.fill('#text', '/hel');
  await olive.locator('#suggest li', { hasText: '/help' }).waitFor({ timeout: TIMEOUT_MS });
  await olive.press('#text', 'Enter');
  assert.equal(await olive.inputValue('#text'), '/help ');
  await olive.press('#text', 'Enter');
  await olive.locator('#notices .notice-text', { hasText: '/invite @name' }).waitFor({ timeout: TIMEOUT_MS });
  // The command's ack ({"type":"ack","command":true}) takes it out of the
  // outbox: no row left "sending" or "not sent".
  await olive.locator('#messages li.msg.pending').first().waitFor({ state: 'detached', timeout: TIMEOUT_MS });
  await olive.screenshot({ path: join(shots, 'help-notice-light.png') });
  await say(olive, '/me waves');
  await row(bob, 'olive waves').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await bob.locator('#notices .notice-item').count(), 0);
  await say(olive, '/shrug no idea');
  await row(bob, 'no idea ¯\\_(ツ)_/¯').waitFor({ timeout: TIMEOUT_MS });
  await say(olive, '/frobnicate now');
  await row(olive, '/frobnicate now').locator('text=/help').waitFor({ timeout: TIMEOUT_MS });
  await say(olive, '//frobnicate is a path');
  await row(bob, '/frobnicate is a path').waitFor({ timeout: TIMEOUT_MS });
  // /topic changes the room's topic for everyone.
  await say(root, '/topic coffee at 3');
  await bob.waitForSelector('#room-topic >> text=coffee at 3', { timeout: TIMEOUT_MS });
  await root.locator('#messages li.msg.pending').first().waitFor({ state: 'detached', timeout: TIMEOUT_MS });
  assert.equal(await root.locator('#messages li.msg', { hasText: '/topic coffee' }).count(), 0);

  // The audit page is in the admin settings only.
  await bob.click('#admin-link');
  await bob.locator('#set-account').waitFor();
  assert.equal(await bob.locator('#set-audit').count(), 0);
  await bob.click('#settings-back');

  // The audit page: every change, filtered by actor, action and date.
  await root.click('#admin-link');
  const audit = root.locator('#set-audit');
  await audit.locator('tbody tr[data-action="room.settings"]').first().waitFor({ timeout: TIMEOUT_MS });
  await audit.locator('input[name=actor]').fill('olive');
  await audit.locator('input[name=action]').fill('room.member_role');
  await audit.getByRole('button', { name: 'Filter' }).click();
  await audit.locator('tbody tr[data-action="room.member_role"]').first().waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await audit.locator('tbody tr[data-action="room.settings"]').count(), 0);
  const cells = await audit.locator('tbody tr').first().locator('td').allTextContents();
  assert.equal(cells[1], 'olive');
  assert.match(cells[4], /role: moderator/);
  await root.screenshot({ path: join(shots, 'audit-light.png') });
  // A day before the changes: nothing; today: they are there.
  await audit.locator('input[name=action]').fill('');
  await audit.locator('input[name=to]').fill('2020-01-01');
  await audit.getByRole('button', { name: 'Filter' }).click();
  await audit.locator('tbody tr.empty').waitFor({ timeout: TIMEOUT_MS });
  await audit.locator('input[name=to]').fill(today());
  await audit.locator('input[name=from]').fill(today());
  await audit.getByRole('button', { name: 'Filter' }).click();
  await audit.locator('tbody tr[data-action="room.settings"]').first().waitFor({ timeout: TIMEOUT_MS });
  await root.click('#settings-back');

  // An admin deletes a room from its settings dialog: it leaves every list.
  d = await dialog(olive, '#new-room', 'Create a room');
  await d.locator('input[name=name]').fill('doomed');
  await d.getByRole('button', { name: 'Create' }).click();
  await olive.waitForFunction(() => document.getElementById('room-name').textContent === '# doomed');
  d = await dialog(root, '#browse', 'Browse rooms');
  await d.locator('li', { hasText: 'doomed' }).getByRole('button', { name: 'Join' }).click();
  await root.waitForFunction(() => document.getElementById('room-name').textContent === '# doomed');
  d = await dialog(root, '#room-settings', 'Room settings: # doomed');
  await d.getByRole('button', { name: 'Delete this room' }).click();
  await root.locator('dialog[open]').getByRole('button', { name: 'Delete', exact: true }).click();
  await link(olive, 'doomed').waitFor({ state: 'detached', timeout: TIMEOUT_MS });
  await link(root, 'doomed').waitFor({ state: 'detached', timeout: TIMEOUT_MS });

  noErrors(olive);
  noErrors(bob);
  noErrors(root);
});
