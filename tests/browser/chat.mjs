// Two people, each in their own browser context (own cookie), sign in
// through the page and talk in `general`: both ways, reply, react, edit,
// delete, a mention that raises a desktop notification while the tab is
// hidden; typed markup stays text; a reload keeps the session; the digest
// setting and a password reset through the spooled mail. Screenshots,
// light and dark, go to BUILD_DIR/screenshots/, or to docs/screenshots/
// with UPDATE_SCREENSHOTS=1 (the README shows them).
//
//   node tests/browser/chat.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  run, signIn, say, row, clickAction, newPage, noErrors, shots, TIMEOUT_MS,
  createRoom, joinRoom, notificationSpy, setHidden,
} from './lib.mjs';

// A realistic morning in a lab's room, for the screenshots (each line
// waited for on the other side, so the order is the one written here).
async function labConversation(alice, bob) {
  await createRoom(alice, 'cryo-em', 'Grids, scope time and processing');
  await joinRoom(bob, 'cryo-em');
  const lines = [
    [alice, 'Morning! Krios session is booked for **Thursday 9:00–17:00** 🎉', 'Krios session'],
    [bob, 'Great. Grids from Tuesday look good on the screening scope: thin ice in the centre squares.', 'thin ice'],
    [alice, 'Plan for the session:\n- collect on grids 2 and 4\n- ~~gain reference~~ done yesterday\n- aim for 8,000 movies', 'Plan for the session'],
    [bob, '> aim for 8,000 movies\nAt 40 e/Å² that is about 6 hours. I will set up EPU tonight.', 'set up EPU'],
    [alice, '@bob can you also copy the raw data to `/data/cryo/2026-12-10` afterwards?', 'copy the raw data'],
    [bob, 'Will do 👍 processing in cryoSPARC starts Friday.', 'cryoSPARC'],
  ];
  for (const [who, text, key] of lines) {
    await say(who, text);
    await row(who === alice ? bob : alice, key).waitFor({ timeout: TIMEOUT_MS });
  }
  await clickAction(alice, 'Krios session is booked', 'Add reaction');
  await alice.getByRole('button', { name: 'React with 🚀' }).click();
  await row(bob, 'Krios session is booked').locator('.chip', { hasText: '🚀 1' }).waitFor({ timeout: TIMEOUT_MS });
}

await run('chat', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1', { colorScheme: 'light' });
  const bobCtx = await browser.newContext({ colorScheme: 'dark', viewport: { width: 1100, height: 700 } });
  await bobCtx.addInitScript(notificationSpy);
  const bob = await bobCtx.newPage();
  bob.errors = [];
  bob.on('pageerror', (e) => bob.errors.push(e));
  await bob.goto(server.url);
  await bob.fill('#login-form input[name=username]', 'bob');
  await bob.fill('#login-form input[name=password]', 'correct horse 2');
  await bob.click('#login-form button[type=submit]');
  await bob.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });

  // Both ways, with formatting rendered safely.
  await say(alice, 'Morning! The cluster is **back up**, see https://status.example.org.');
  await row(bob, 'The cluster is').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await row(bob, 'The cluster is').locator('strong').textContent(), 'back up');
  const a = row(bob, 'The cluster is').locator('a');
  assert.equal(await a.getAttribute('href'), 'https://status.example.org');
  assert.equal(await a.getAttribute('rel'), 'noopener noreferrer');
  // The polite live region announces it once, as "author: text".
  await bob.waitForFunction(() => /^alice: Morning!/.test(document.getElementById('announcer').textContent));
  assert.equal(await bob.getAttribute('#announcer', 'aria-live'), 'polite');
  await say(bob, 'Great, thanks! I will rerun the jobs.');
  await row(alice, 'I will rerun the jobs').waitFor({ timeout: TIMEOUT_MS });

  // Text is text: markup typed by a person never becomes HTML.
  await say(bob, '<img src=x onerror=alert(1)> _fine_ `<b>code</b>`');
  await row(alice, 'onerror=alert(1)').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await alice.locator('#messages img[src=x], #messages b').count(), 0);

  // Reply (quoted).
  await clickAction(bob, 'The cluster is', 'Reply');
  await bob.waitForSelector('#compose-mode:not([hidden])');
  await say(bob, 'Which cluster?');
  await row(alice, 'Which cluster?').locator('.quote', { hasText: 'The cluster is' }).waitFor({ timeout: TIMEOUT_MS });

  // React with the picker; the other side sees the count.
  await clickAction(alice, 'Which cluster?', 'Add reaction');
  await alice.getByRole('button', { name: 'React with 👍' }).click();
  await row(bob, 'Which cluster?').locator('.chip', { hasText: '👍 1' }).waitFor({ timeout: TIMEOUT_MS });
  await row(bob, 'Which cluster?').locator('.chip').click(); // bob joins in
  await row(alice, 'Which cluster?').locator('.chip', { hasText: '👍 2' }).waitFor({ timeout: TIMEOUT_MS });

  // Edit the last own message with Up, then delete one.
  await say(alice, 'The batch cluster.');
  await row(bob, 'The batch cluster.').waitFor({ timeout: TIMEOUT_MS });
  await alice.press('#text', 'ArrowUp');
  assert.equal(await alice.inputValue('#text'), 'The batch cluster.');
  await alice.fill('#text', 'The batch cluster, in rack 4.');
  await alice.press('#text', 'Enter');
  await row(bob, 'in rack 4').locator('.edited').waitFor({ timeout: TIMEOUT_MS });
  await say(alice, 'oops, wrong room');
  await clickAction(alice, 'oops, wrong room', 'Delete');
  await alice.locator('dialog').getByRole('button', { name: 'Delete' }).click();
  await bob.waitForSelector('#messages .deleted', { timeout: TIMEOUT_MS });
  assert.equal(await row(bob, 'oops, wrong room').count(), 0);

  // @ autocompletes a member; the mention notifies bob while his tab is hidden.
  await setHidden(bob, true);
  await alice.fill('#text', 'Can you check it @bo');
  await alice.waitForSelector('#suggest li >> text=@bob');
  await alice.waitForSelector('#suggest li img.avatar'); // a face beside the name
  await alice.press('#text', 'Enter'); // picks the suggestion
  assert.equal(await alice.inputValue('#text'), 'Can you check it @bob ');
  await alice.press('#text', 'Enter');
  await bob.waitForFunction(() => window.__notes.length === 1, null, { timeout: TIMEOUT_MS });
  const note = await bob.evaluate(() => window.__notes[0]);
  assert.match(note.title, /alice/);
  assert.match(note.body, /Can you check it @bob/);
  await bob.waitForFunction(() => /^\(\d+\) parley$/.test(document.title), null, { timeout: TIMEOUT_MS });
  await row(bob, 'Can you check it').locator('.mention.me').waitFor();
  await setHidden(bob, false);
  await bob.waitForFunction(() => document.title === 'parley', null, { timeout: TIMEOUT_MS });

  // A message the server refuses shows why, with Retry and Discard.
  await say(alice, 'x'.repeat(4001));
  const failed = alice.locator('#messages li.pending.failed');
  await failed.locator('.error', { hasText: 'Not sent' }).waitFor({ timeout: TIMEOUT_MS });
  await failed.getByRole('button', { name: 'Discard' }).click();
  await failed.waitFor({ state: 'detached' });

  // A reload keeps the session (HttpOnly cookie) and the history.
  await alice.reload();
  await row(alice, 'I will rerun the jobs').waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await alice.evaluate(() => document.cookie), ''); // the token is not script's

  // The pictures show a lab's conversation in a room of its own; the
  // hostile cases above stay in the test, out of the pictures.
  await labConversation(alice, bob);
  mkdirSync(shots, { recursive: true });
  await alice.mouse.move(0, 0);
  await alice.screenshot({ path: join(shots, 'chat-light.png') });
  await bob.mouse.move(0, 0);
  await bob.screenshot({ path: join(shots, 'chat-dark.png') });
  await alice.locator('.room-link', { hasText: 'general' }).click();
  await bob.locator('.room-link', { hasText: 'general' }).click();

  // The digest setting: on by default, turned off on the settings page.
  await bob.click('#admin-link');
  await bob.waitForSelector('#email-digest');
  assert.equal(await bob.isChecked('#email-digest'), true);
  await bob.click('#email-digest');
  await bob.waitForFunction(async () => {
    const r = await fetch('/api/settings');
    return (await r.json()).settings.email_digest === false;
  }, null, { timeout: TIMEOUT_MS });
  noErrors(bob);
  noErrors(alice); // CSP violations would show here as console errors

  // A forgotten password, reset through the e-mailed link.
  server.cli(['user', 'add', 'carol', '--email', 'carol@example.org'], 'correct horse 3\n');
  const page = await newPage(browser, server.url);
  await page.click('#forgot-open');
  await page.fill('#forgot-form input[name=email]', 'carol@example.org');
  await page.click('#forgot-form button[type=submit]');
  await page.waitForSelector('#forgot-sent:not([hidden])', { timeout: TIMEOUT_MS });
  const link = (await server.spooledMail()).match(/http\S*#reset=[A-Za-z0-9_-]{43}/)[0];
  await page.goto(link.replace(/^http:\/\/[^/]+/, server.url));
  await page.fill('#reset-form input[name=password]', 'a brand new password');
  await page.fill('#reset-form input[name=password2]', 'a brand new password');
  await page.click('#reset-form button[type=submit]');
  await page.waitForSelector('#screen-login:not([hidden])', { timeout: TIMEOUT_MS });
  await page.fill('#login-form input[name=username]', 'carol');
  await page.fill('#login-form input[name=password]', 'a brand new password');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#screen-chat:not([hidden])', { timeout: TIMEOUT_MS });
  noErrors(page);
});
