// Interface text comes from web/i18n/: the page is given a test language
// (English's file with every string wrapped in ⟦…⟧, served as i18n/fr.json
// to a browser that asks for French), and the test walks the screens —
// sign-in, forgot, register, reset, the chat with a room open (reply,
// edit, delete, reactions, a long message, a thread, pins, an upload and
// the image viewer, offline), its dialogs (new room, browse, switcher, DM
// picker, room info, room settings, search, threads, confirmations) and
// the settings page with the admin sections — and asserts that every
// visible text, placeholder, title, aria-label and alt is marked. What
// people wrote (names, rooms, messages, files) is known to the test and
// allowed unmarked; times and dates (Intl, the browser's locale) are in
// <time> elements or inside marked templates. A string typed inline in
// web/js or index.html would show unmarked and fail.
// Also: the language is the browser's first choice when the server has its
// file, English otherwise.
//
//   node tests/browser/i18n.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, newPage, signIn, say, row, root, build, TIMEOUT_MS } from './lib.mjs';
import { png } from './png.mjs';

const en = JSON.parse(readFileSync(join(root, 'web/i18n/en.json'), 'utf8'));
const marked = Object.fromEntries(Object.entries(en).map(([k, v]) => [k, '⟦' + v + '⟧']));
const haveUploads = existsSync(join(build, 'plugins', 'uploads_local.so'));

// Everything people typed in this test (and the product's name): allowed
// to show unmarked.
const USER_TEXT = ['parley', 'alice', 'bob', 'Alice Lab', 'general', 'lab-notes', 'bench work',
  'Gel run finished', 'Thanks, imaging now', 'imaging done', 'wrong room', 'step', 'gel.png',
  'labbot', 'erin', 'erin@example.org', 'bob@example.org', 'thread reply one', 'sent while offline', 'pin this'];

async function markedPage(browser, url) {
  const page = await newPage(browser, null, { locale: 'fr-FR' });
  await page.context().route(/\/i18n\/fr\.json$/, (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify(marked) }));
  await page.goto(url);
  return page;
}

// Every visible text node and attribute a person reads, unmarked once the
// marked strings and the known user text are taken out.
async function unmarkedTexts(page) {
  return page.evaluate((userText) => {
    // Server data (audit rows, notices) and search hits' texts (a message
    // split by highlights) are not interface text.
    const SKIP = 'time, script, style, noscript, datalist, .notice-text, table.audit tbody tr:not(.empty), .search-hit .text';
    const users = [...userText, Intl.DateTimeFormat().resolvedOptions().timeZone].sort((a, b) => b.length - a.length);
    const rest = (s) => {
      let prev;
      do {
        prev = s;
        s = s.replace(/⟦[^⟦⟧]*⟧/g, ' ');
      } while (s !== prev);
      for (const u of users) s = s.split(u).join(' ');
      return s;
    };
    const visible = (e) => {
      const host = e.closest('select') || e;
      return host.checkVisibility({ checkVisibilityCSS: true }) || host.closest('#announcer');
    };
    const where = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
    const bad = [];
    let seen = 0;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const e = n.parentElement;
      if (!e || e.closest(SKIP) || !visible(e) || !n.data.trim()) continue;
      if (n.data.includes('⟦')) seen++;
      if (/\p{L}/u.test(rest(n.data))) bad.push(`${where(e)}: "${n.data.trim()}"`);
    }
    for (const e of document.body.querySelectorAll('[placeholder], [title], [aria-label], [alt]')) {
      if (e.closest(SKIP) || !visible(e)) continue;
      for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
        const v = e.getAttribute(a);
        if (!v) continue;
        if (v.includes('⟦')) seen++;
        if (/\p{L}/u.test(rest(v))) bad.push(`${where(e)} [${a}]: "${v}"`);
      }
    }
    return { bad, seen };
  }, USER_TEXT);
}

let screens = 0;
async function allMarked(page, screen, minMarked = 3) {
  const { bad, seen } = await unmarkedTexts(page);
  assert.deepEqual(bad, [], `${screen}: interface text not from web/i18n`);
  assert.ok(seen >= minMarked, `${screen}: only ${seen} marked texts seen`);
  screens++;
}

// A message's action button (shown while the message is hovered).
async function act(page, text, label) {
  const r = row(page, text);
  await r.hover();
  await r.locator(`.actions button[aria-label="${label}"]`).click();
}

async function dialog(page, opener) {
  await page.click(opener);
  const d = page.locator('dialog[open]');
  await d.waitFor({ timeout: TIMEOUT_MS });
  return d;
}

async function closeDialog(page) {
  await page.keyboard.press('Escape');
  await page.locator('dialog[open]').waitFor({ state: 'detached', timeout: TIMEOUT_MS });
}

await run('i18n', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');

  // The browser's first language, when the server has no file for it:
  // English.
  const de = await newPage(browser, null, { locale: 'de-DE' });
  const asked = [];
  de.on('request', (r) => /\/i18n\//.test(r.url()) && asked.push(new URL(r.url()).pathname));
  await de.goto(server.url);
  // The login screen shows once the strings are loaded.
  await de.waitForSelector('#screen-login:not([hidden])', { timeout: TIMEOUT_MS });
  assert.equal(await de.getAttribute('html', 'lang'), 'en');
  assert.deepEqual(asked.slice(0, 2), ['/i18n/de.json', '/i18n/en.json']);
  assert.equal(await de.textContent('#login-form button[type=submit]'), 'Sign in');
  await de.context().close();

  // Signed out: sign-in (with its error), forgot, register, reset.
  const page = await markedPage(browser, server.url);
  await page.waitForFunction(() => document.querySelector('#login-form button[type=submit]').textContent === '⟦Sign in⟧', null, { timeout: TIMEOUT_MS });
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  await page.fill('#login-form input[name=username]', 'alice');
  await page.fill('#login-form input[name=password]', 'not the password');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#login-error >> text=⟦Wrong username or password.⟧', { timeout: TIMEOUT_MS });
  await allMarked(page, 'sign-in');
  await page.click('#forgot-open');
  await page.waitForSelector('#screen-forgot:not([hidden])');
  await allMarked(page, 'forgot');
  await page.click('#forgot-back');
  await page.goto(server.url + '/#invite=no-such-invite');
  await page.waitForSelector('#screen-register:not([hidden])', { timeout: TIMEOUT_MS });
  await page.waitForFunction(() => document.querySelector('#register-form button').textContent.startsWith('⟦'), null, { timeout: TIMEOUT_MS });
  await page.fill('#register-form input[name=username]', 'erin');
  await page.fill('#register-form input[name=password]', 'one password');
  await page.fill('#register-form input[name=password2]', 'another password');
  await page.click('#register-form button[type=submit]');
  await page.waitForSelector('#register-error >> text=⟦The two passwords differ.⟧');
  await allMarked(page, 'register');
  await page.goto(server.url + '/#reset=no-such-token');
  await page.waitForSelector('#screen-reset:not([hidden])', { timeout: TIMEOUT_MS });
  await allMarked(page, 'reset');

  // Signed in as alice (an admin) in the marked language; bob in English.
  await page.goto(server.url + '/');
  await page.fill('#login-form input[name=username]', 'alice');
  await page.fill('#login-form input[name=password]', 'correct horse 1');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });
  await page.waitForFunction(() => /^⟦Members \d+⟧$/.test(document.getElementById('room-info').textContent), null, { timeout: TIMEOUT_MS });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2');

  await bob.type('#text', 'Gel');
  await page.waitForSelector('#typing >> text=⟦bob is typing…⟧', { timeout: TIMEOUT_MS });
  await allMarked(page, 'chat: typing');
  await bob.fill('#text', '');
  await say(bob, 'Gel run finished');
  await row(page, 'Gel run finished').waitFor({ timeout: TIMEOUT_MS });

  // Reply mode, a reply, a reaction (the picker), an edit, a delete (the
  // confirmation), a long message (show more).
  await act(page, 'Gel run finished', '⟦Reply⟧');
  await page.waitForSelector('#compose-mode:not([hidden])');
  await allMarked(page, 'chat: replying');
  await say(page, 'Thanks, imaging now');
  await row(page, 'Thanks, imaging now').locator('.quote').waitFor({ timeout: TIMEOUT_MS });
  await act(page, 'Gel run finished', '⟦Add reaction⟧');
  await page.waitForSelector('.emoji-picker');
  await allMarked(page, 'chat: emoji picker');
  await page.getByRole('button', { name: '⟦React with 👍⟧' }).click();
  await row(page, 'Gel run finished').locator('.chip', { hasText: '👍 1' }).waitFor({ timeout: TIMEOUT_MS });
  await act(page, 'Thanks, imaging now', '⟦Edit⟧');
  await page.waitForFunction(() => document.getElementById('compose-mode').textContent.includes('⟦Editing your message⟧'));
  await allMarked(page, 'chat: editing');
  await page.fill('#text', 'Thanks, imaging now imaging done');
  await page.press('#text', 'Enter');
  await row(page, 'imaging done').locator('.edited').waitFor({ timeout: TIMEOUT_MS });
  await say(page, 'wrong room');
  await act(page, 'wrong room', '⟦Delete⟧');
  await page.locator('dialog[open]').waitFor();
  await allMarked(page, 'confirm delete');
  await page.locator('dialog[open] button.danger').click();
  await page.waitForSelector('#messages .text.deleted', { timeout: TIMEOUT_MS });
  await say(page, Array.from({ length: 30 }, (_, i) => `step ${i + 1}`).join('\n'));
  const more = row(page, 'step 30').locator('.show-more');
  await more.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await more.textContent(), '⟦Show more⟧');
  await more.click();
  assert.equal(await more.textContent(), '⟦Show less⟧');

  // A thread: the panel, a reply, "1 reply" under the root (a plural).
  await act(page, 'Gel run finished', '⟦Open thread⟧');
  await page.waitForSelector('#thread-panel:not([hidden]) .thread-count >> text=⟦No replies yet⟧', { timeout: TIMEOUT_MS });
  await allMarked(page, 'thread panel (empty)');
  await page.fill('#thread-text', 'thread reply one');
  await page.press('#thread-text', 'Enter');
  await page.waitForSelector('#thread-panel .thread-count >> text=⟦1 reply⟧', { timeout: TIMEOUT_MS });
  await row(page, 'Gel run finished').locator('.thread-link', { hasText: '⟦1 reply⟧' }).waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'thread panel');
  await page.click('#thread-close');

  // An image: the upload tray, then the viewer.
  if (haveUploads) {
    await page.setInputFiles('#file-input', { name: 'gel.png', mimeType: 'image/png', buffer: png(320, 200) });
    await page.waitForSelector('#files .upload.done', { timeout: TIMEOUT_MS });
    await allMarked(page, 'upload tray');
    await page.press('#text', 'Enter');
    const thumb = page.locator('#messages a.preview').last();
    await thumb.waitFor({ timeout: TIMEOUT_MS });
    await thumb.click();
    await page.locator('dialog.viewer[open]').waitFor({ timeout: TIMEOUT_MS });
    await allMarked(page, 'image viewer');
    await closeDialog(page);
  } else console.log('browser i18n: no uploads_local plugin built; the upload tray and viewer are not walked');
  await allMarked(page, 'chat with a room open', 20);

  // Offline: the banner and a message waiting for the connection.
  await page.context().setOffline(true);
  await page.waitForSelector('#banner:not([hidden])', { timeout: TIMEOUT_MS });
  await say(page, 'sent while offline');
  await page.waitForSelector('li.pending >> text=⟦waiting for the connection⟧', { timeout: TIMEOUT_MS });
  await allMarked(page, 'offline');
  await page.context().setOffline(false);
  await page.waitForSelector('#banner', { state: 'hidden', timeout: TIMEOUT_MS });
  await row(page, 'sent while offline').waitFor({ timeout: TIMEOUT_MS });

  // The dialogs: new room, browse, switcher, DM picker, room info, room
  // settings, search, threads.
  let d = await dialog(page, '#new-room');
  await allMarked(page, 'new room');
  await d.locator('input[name=name]').fill('lab-notes');
  await d.locator('input[name=topic]').fill('bench work');
  await d.locator('button[type=submit]').click();
  await page.waitForSelector('#room-name >> text=lab-notes', { timeout: TIMEOUT_MS });
  await page.waitForSelector('#messages li.older', { timeout: TIMEOUT_MS });
  await allMarked(page, 'empty room');
  // A pin (alice owns this room) and the pinned panel.
  await say(page, 'pin this');
  await act(page, 'pin this', '⟦Pin or unpin⟧');
  await page.waitForFunction(() => document.getElementById('room-pins').textContent.endsWith('1'), null, { timeout: TIMEOUT_MS });
  const pins = await dialog(page, '#room-pins');
  await pins.locator('.pinned-item').waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'pinned panel');
  await closeDialog(page);

  await dialog(page, '#browse');
  await page.locator('dialog[open] li.row').first().waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'browse rooms');
  await closeDialog(page);
  await page.click('#messages', { position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+k');
  await page.locator('dialog[open] li').first().waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'quick switcher');
  await closeDialog(page);
  d = await dialog(page, '#new-dm');
  await d.locator('input[name=people]').fill('bo');
  await d.locator('.suggestion', { hasText: 'bob' }).waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'DM picker');
  await d.locator('button[type=submit]').click();
  await page.waitForSelector('#dms .room-link', { timeout: TIMEOUT_MS });
  await allMarked(page, 'direct message');
  await page.click('#rooms .room-link:has-text("lab-notes")');
  await page.waitForSelector('#room-name >> text=lab-notes', { timeout: TIMEOUT_MS });
  d = await dialog(page, '#room-info');
  await d.locator('.members li').first().waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'room info');
  await closeDialog(page);
  d = await dialog(page, '#room-settings');
  await d.locator('.member-roles li').first().waitFor({ timeout: TIMEOUT_MS });
  await d.locator('button[type=submit]').click();
  await d.locator('p.ok', { hasText: '⟦Saved.⟧' }).waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'room settings');
  await closeDialog(page);
  d = await dialog(page, '#search');
  await d.locator('input[name=q]').fill('gel');
  await d.locator('.search-hit').first().waitFor({ timeout: TIMEOUT_MS });
  await d.locator('.search-status', { hasText: '⟦' }).waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'search');
  await closeDialog(page);
  d = await dialog(page, '#threads-open');
  await d.locator('.thread-item').first().waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'threads list');
  await closeDialog(page);

  // The settings page: profile, account, invites (one made), users and a
  // bot's token form, scripts, the audit log, export.
  await page.click('#admin-link');
  await page.waitForSelector('#set-export', { timeout: TIMEOUT_MS });
  await page.locator('#set-audit tbody tr').first().waitFor({ timeout: TIMEOUT_MS });
  const inv = page.locator('#set-invites form');
  await inv.locator('input[name=email]').fill('erin@example.org');
  await inv.locator('button[type=submit]').click();
  await inv.locator('p.ok', { hasText: '⟦' }).waitFor({ timeout: TIMEOUT_MS });
  await page.locator('#set-invites li.row').first().waitFor({ timeout: TIMEOUT_MS });
  const bots = page.locator('#set-users form');
  await bots.locator('input[name=name]').fill('labbot');
  await bots.locator('button[type=submit]').click();
  await bots.locator('p.ok', { hasText: '⟦' }).waitFor({ timeout: TIMEOUT_MS });
  await page.locator('#set-users tr[data-user=labbot] button').first().waitFor({ timeout: TIMEOUT_MS });
  await page.locator('#set-users tr[data-user=labbot] button', { hasText: '⟦New token⟧' }).click();
  await page.locator('#set-users .token-out form').waitFor({ timeout: TIMEOUT_MS });
  const profile = page.locator('#set-profile form');
  await profile.locator('input[name=display_name]').fill('Alice Lab');
  await profile.locator('button[type=submit]').click();
  await profile.locator('p.ok', { hasText: '⟦Saved.⟧' }).waitFor({ timeout: TIMEOUT_MS });
  await allMarked(page, 'settings', 60);
  await page.click('#settings-back');
  await page.waitForSelector('#screen-chat:not([hidden])', { timeout: TIMEOUT_MS });

  console.log(`browser i18n: ${screens} screens walked, every text marked`);
}, haveUploads ? ', { "uploads_local", dir = "uploads" }' : '');
