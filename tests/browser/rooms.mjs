// Rooms and people: create public and private rooms, browse and join,
// add and remove members, topic, DMs with presence, unread and mention
// badges, the typing indicator, the Ctrl+K quick switcher (Esc closes);
// the settings page: invites (create, list, revoke, register from the
// link), users (role, disable), a bot and its token, scripts; a phone-
// sized screen. Screenshots of these screens, light and dark.
//
//   node tests/browser/rooms.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, newPage, noErrors, shots, TIMEOUT_MS } from './lib.mjs';

const link = (page, name) => page.locator('.room-link', { hasText: name });

async function dialog(page, opener, title) {
  await page.click(opener);
  const d = page.locator('dialog[open]');
  await d.getByRole('heading', { name: title }).waitFor();
  return d;
}

await run('rooms', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1', { colorScheme: 'light' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2', { colorScheme: 'dark' });
  mkdirSync(shots, { recursive: true });

  // A public room, found and joined by bob through "Browse rooms".
  let d = await dialog(alice, '#new-room', 'Create a room');
  await d.locator('input[name=name]').fill('ops');
  await d.locator('input[name=topic]').fill('Deploys and incidents');
  await d.getByRole('button', { name: 'Create' }).click();
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === '# ops');
  d = await dialog(bob, '#browse', 'Browse rooms');
  await d.locator('li', { hasText: 'ops' }).getByRole('button', { name: 'Join' }).click();
  await bob.waitForFunction(() => document.getElementById('room-name').textContent === '# ops');
  assert.equal(await bob.textContent('#room-topic'), 'Deploys and incidents');

  // Typing shows on the other side.
  await bob.type('#text', 'looking');
  await alice.waitForSelector('#typing >> text=bob is typing…', { timeout: TIMEOUT_MS });
  await bob.fill('#text', '');

  // Unread and mention badges while bob reads general; a draft stays in its room.
  await bob.fill('#text', 'half a thought');
  await link(bob, 'general').click();
  assert.equal(await bob.inputValue('#text'), '');
  await say(alice, 'deploy at noon');
  await link(bob, 'ops').locator('.badge', { hasText: '1' }).waitFor({ timeout: TIMEOUT_MS });
  await say(alice, '@bob can you watch it?');
  await link(bob, 'ops').locator('.mention-badge').waitFor({ timeout: TIMEOUT_MS });
  await bob.screenshot({ path: join(shots, 'badges-dark.png') });
  await link(bob, 'ops').click();
  await bob.waitForSelector('#messages .divider >> text=New messages');
  assert.equal(await bob.inputValue('#text'), 'half a thought');
  await bob.fill('#text', '');
  await link(bob, 'ops').locator('.badge').waitFor({ state: 'detached' });

  // A private room: bob is added from the members dialog, then removed.
  d = await dialog(alice, '#new-room', 'Create a room');
  await d.locator('input[name=name]').fill('secret');
  await d.locator('input[name=private]').check();
  await d.getByRole('button', { name: 'Create' }).click();
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === '# secret');
  assert.equal(await link(bob, 'secret').count(), 0);
  // @ suggestions reach past the members through the directory, saying so.
  await alice.fill('#text', 'ask @bo');
  await alice.locator('#suggest li', { hasText: '@bob' }).filter({ hasText: 'not in this room' })
    .waitFor({ timeout: TIMEOUT_MS });
  await alice.fill('#text', '');
  d = await dialog(alice, '#room-info', '# secret');
  await d.locator('input[name=user]').fill('bo');
  // The directory suggests bob as the name is typed.
  await alice.waitForFunction(() => [...document.querySelectorAll('#add-someone-list option')]
    .some((o) => o.value === 'bob'), null, { timeout: TIMEOUT_MS });
  await d.locator('input[name=user]').fill('bob');
  await d.getByRole('button', { name: 'Add' }).click();
  await d.locator('.members li', { hasText: 'bob' }).waitFor();
  // Each member with a face: the picture or the server's initials.
  await d.locator('.members li', { hasText: 'bob' }).locator('img.avatar[src*="/avatar"]').waitFor();
  await link(bob, 'secret').waitFor({ timeout: TIMEOUT_MS });
  await d.locator('input[name=topic]').fill('Only us');
  await alice.screenshot({ path: join(shots, 'members-light.png') });
  await d.getByRole('button', { name: 'Set topic' }).click();
  await link(bob, 'secret').click();
  await bob.waitForSelector('#room-topic >> text=Only us', { timeout: TIMEOUT_MS });
  d = await dialog(alice, '#room-info', '# secret');
  await d.locator('.members li', { hasText: 'bob' }).getByRole('button', { name: 'Remove' }).click();
  await link(bob, 'secret').waitFor({ state: 'detached', timeout: TIMEOUT_MS });
  await alice.keyboard.press('Escape'); // Esc closes a dialog
  await alice.locator('dialog[open]').waitFor({ state: 'detached' });

  // A DM, with bob's presence dot.
  d = await dialog(alice, '#new-dm', 'New message');
  await d.locator('input[name=people]').fill('bob');
  await d.locator('.suggestion', { hasText: 'bob' }).click();
  await d.getByRole('button', { name: 'Open' }).click();
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === 'bob');
  await say(alice, 'a word in private');
  await link(bob, 'alice').waitFor({ timeout: TIMEOUT_MS });
  await link(bob, 'alice').click();
  await row(bob, 'a word in private').waitFor({ timeout: TIMEOUT_MS });
  await link(alice, 'bob').locator('.dot.online').waitFor({ timeout: TIMEOUT_MS });
  // Bob hides his tab: away for alice; back: online. A reloaded page shows
  // him online from `ready`, before any change.
  const visibility = (page, v) => page.evaluate((v) => {
    Object.defineProperty(document, 'visibilityState', { value: v, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, v);
  await visibility(bob, 'hidden');
  await link(alice, 'bob').locator('.dot.away').waitFor({ timeout: TIMEOUT_MS });
  await visibility(bob, 'visible');
  await link(alice, 'bob').locator('.dot.online').waitFor({ timeout: TIMEOUT_MS });
  await alice.reload();
  await link(alice, 'bob').locator('.dot.online').waitFor({ timeout: TIMEOUT_MS });
  // No input for five minutes (bob's page clock run forward): away; a key: online.
  await bob.clock.install();
  await bob.keyboard.press('Shift'); // input: the idle timer starts again, on that clock
  await bob.clock.fastForward(5 * 60 * 1000 + 1000);
  await link(alice, 'bob').locator('.dot.away').waitFor({ timeout: TIMEOUT_MS });
  await bob.keyboard.press('Shift');
  await link(alice, 'bob').locator('.dot.online').waitFor({ timeout: TIMEOUT_MS });

  // Quick switcher: Ctrl+K, a few letters, Enter.
  await alice.keyboard.press('Control+k');
  await alice.locator('dialog[open] input[name=q]').fill('gen');
  await alice.screenshot({ path: join(shots, 'switcher-light.png') });
  await alice.keyboard.press('Enter');
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === '# general');
  await alice.keyboard.press('Alt+ArrowDown'); // the next room in the sidebar
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === '# ops');
  await bob.keyboard.press('Control+k');
  await bob.locator('dialog[open]').waitFor();
  await bob.keyboard.press('Escape');
  await bob.locator('dialog[open]').waitFor({ state: 'detached' });

  // Settings: an invite link, listed, used by a new person; another revoked.
  await alice.click('#admin-link');
  const inv = alice.locator('#set-invites');
  await inv.locator('input[name=email]').fill('dave@example.org');
  await inv.getByRole('button', { name: 'Create invite' }).click();
  await inv.locator('li', { hasText: 'dave@example.org' }).waitFor();
  const inviteLink = await inv.locator('input.copy').inputValue();
  assert.match(inviteLink, /#invite=/);
  await inv.locator('input[name=email]').fill('erin@example.org');
  await inv.getByRole('button', { name: 'Create invite' }).click();
  const erin = inv.locator('li', { hasText: 'erin@example.org' });
  const erinLink = await inv.locator('input.copy').inputValue();
  await erin.getByRole('button', { name: 'Revoke' }).click();
  await erin.waitFor({ state: 'detached' });
  const dave = await newPage(browser, inviteLink.replace(/^http:\/\/[^/]+/, server.url));
  await dave.fill('#register-form input[name=username]', 'dave');
  await dave.fill('#register-form input[name=password]', 'correct horse 4');
  await dave.fill('#register-form input[name=password2]', 'correct horse 4');
  await dave.click('#register-form button[type=submit]');
  await dave.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });
  noErrors(dave);
  const erinPage = await newPage(browser, erinLink.replace(/^http:\/\/[^/]+/, server.url));
  await erinPage.fill('#register-form input[name=username]', 'erin');
  await erinPage.fill('#register-form input[name=password]', 'correct horse 5');
  await erinPage.fill('#register-form input[name=password2]', 'correct horse 5');
  await erinPage.click('#register-form button[type=submit]');
  await erinPage.waitForSelector('#register-error >> text=used, expired or revoked', { timeout: TIMEOUT_MS });

  // A bot and a token; bob made admin and back; dave disabled.
  const users = alice.locator('#set-users');
  await users.locator('input[name=name]').fill('deploybot');
  await users.getByRole('button', { name: 'Create bot' }).click();
  await users.locator('tr[data-user=deploybot]').getByRole('button', { name: 'New token' }).click();
  await users.getByRole('button', { name: 'Create token' }).click();
  assert.ok((await users.locator('.token-out input.copy').inputValue()).length > 20);
  await users.locator('tr[data-user=bob] select').selectOption('admin');
  await alice.waitForTimeout(200);
  const role = await alice.evaluate(async () => (await (await fetch('/api/admin/users')).json()).users.find((u) => u.name === 'bob').role);
  assert.equal(role, 'admin');
  await users.locator('tr[data-user=bob] select').selectOption('member');
  await users.locator('tr[data-user=bob]').getByRole('button', { name: 'Disable' }).click();
  await users.locator('tr[data-user=bob]').getByRole('button', { name: 'Enable' }).waitFor();
  await bob.waitForSelector('#screen-login:not([hidden])', { timeout: TIMEOUT_MS }); // disabled: signed out
  await users.locator('tr[data-user=bob]').getByRole('button', { name: 'Enable' }).click();
  await users.locator('tr[data-user=bob]').getByRole('button', { name: 'Disable' }).waitFor();
  await alice.locator('#set-scripts').waitFor();
  await alice.mouse.move(0, 0);
  await alice.screenshot({ path: join(shots, 'settings-light.png'), fullPage: true });
  await alice.emulateMedia({ colorScheme: 'dark' });
  await alice.screenshot({ path: join(shots, 'settings-dark.png'), fullPage: true });
  await alice.emulateMedia({ colorScheme: 'light' });
  noErrors(bob);
  noErrors(alice);

  // A phone-sized screen: the room list slides in over the conversation.
  const phone = await signIn(browser, server.url, 'alice', 'correct horse 1', { viewport: { width: 390, height: 780 } , colorScheme: 'dark' });
  await phone.click('#nav-toggle');
  await phone.screenshot({ path: join(shots, 'phone-rooms-dark.png') });
  await link(phone, 'ops').click();
  await row(phone, 'deploy at noon').waitFor();
  await phone.screenshot({ path: join(shots, 'phone-chat-dark.png') });
});
