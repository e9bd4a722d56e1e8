// Profiles (issue 18): a person edits display name, pronouns, time zone and
// status in the settings page; others see the new name and pronouns beside
// that person's messages at once (the `profile` event), and a page opened
// later shows them too (profiles asked for per author). A bad time zone is
// refused with the server's message; a picture becomes the avatar shown
// beside messages. Screenshot: profile-light.png.
//
//   node tests/browser/profile.mjs BUILD_DIR
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, noErrors, shots, TIMEOUT_MS } from './lib.mjs';
import { png } from './png.mjs';

await run('profile', async (server, browser) => {
  server.cli(['user', 'add', 'alice'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  server.cli(['user', 'add', 'carol'], 'correct horse 3\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1', { colorScheme: 'light' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2', { colorScheme: 'dark' });
  mkdirSync(shots, { recursive: true });

  await say(alice, 'hello from alice');
  const author = (page) => row(page, 'hello from alice').locator('.author').first();
  await row(bob, 'hello from alice').waitFor({ timeout: TIMEOUT_MS });
  await bob.waitForFunction(() => [...document.querySelectorAll('.msg .author')]
    .some((a) => a.textContent === 'alice'), null, { timeout: TIMEOUT_MS });

  await alice.click('#admin-link');
  const form = alice.locator('#set-profile form');
  await form.waitFor({ timeout: TIMEOUT_MS });
  await form.locator('input[name=tz]').fill('Mars/Olympus_Mons');
  await form.getByRole('button', { name: 'Save profile' }).click();
  await form.locator('.error', { hasText: 'tz' }).waitFor({ timeout: TIMEOUT_MS });
  await form.locator('input[name=display_name]').fill('Alice Liddell');
  await form.locator('input[name=pronouns]').fill('she/her');
  await form.locator('input[name=tz]').fill('Europe/Berlin');
  await form.locator('input[name=status]').fill('in the lab');
  await form.locator('select[name=clear_after]').selectOption({ label: 'Today' });
  await form.getByRole('button', { name: 'Save profile' }).click();
  await form.locator('.ok', { hasText: 'Saved' }).waitFor({ timeout: TIMEOUT_MS });
  // A picture: chosen, shrunk in the browser, made an avatar by the server.
  await alice.locator('#set-profile input[type=file]').setInputFiles(
    { name: 'me.png', mimeType: 'image/png', buffer: png(640, 480) });
  await alice.waitForFunction(() => {
    const img = document.querySelector('#set-profile .avatar-large');
    return img && img.src.includes('?v=') && img.complete && img.naturalWidth === 256;
  }, null, { timeout: TIMEOUT_MS });
  await alice.screenshot({ path: join(shots, 'profile-light.png') });

  // Bob sees it live; the tooltip names the account, pronouns and status.
  await bob.waitForFunction(() => [...document.querySelectorAll('.msg .author')]
    .some((a) => a.textContent.startsWith('Alice Liddell') && a.textContent.includes('she/her')),
  null, { timeout: TIMEOUT_MS });
  const title = await author(bob).getAttribute('title');
  // Beside the message: her picture, by version (the initials before).
  await bob.waitForFunction(() => [...document.querySelectorAll('.msg > .avatar')]
    .some((img) => img.src.includes('?v=') && img.complete && img.naturalWidth === 256),
  null, { timeout: TIMEOUT_MS });
  if (!title.includes('@alice') || !title.includes('in the lab')) throw new Error('tooltip: ' + title);

  // Carol signs in later: the profile is fetched for the author.
  const carol = await signIn(browser, server.url, 'carol', 'correct horse 3', { colorScheme: 'light' });
  await row(carol, 'hello from alice').waitFor({ timeout: TIMEOUT_MS });
  await carol.waitForFunction(() => [...document.querySelectorAll('.msg .author')]
    .some((a) => a.textContent.startsWith('Alice Liddell')), null, { timeout: TIMEOUT_MS });
  await noErrors(bob);
  await noErrors(carol);
});
