// The rough edges of issue 19, each as a person meets it: the header's
// member count follows a join; markdown lists, quotes and strikethrough;
// a reply quote rendered, not raw; a long message collapsed behind "Show
// more"; unread badges grey, mentions red; reaction emoji visible in light
// mode; keyboard reading of messages and their actions; going offline
// shown at once, and a reload while offline still opening the app; images
// in a viewer overlay (zoom, download), file cards with name and size on
// one line, no file name repeated as the text.
//
//   node tests/browser/polish.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, clickAction, noErrors, build, TIMEOUT_MS } from './lib.mjs';
import { png } from './png.mjs';

const link = (page, name) => page.locator('.room-link', { hasText: name });
const haveUploads = existsSync(join(build, 'plugins', 'uploads_local.so'));

await run('polish', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1',
    { colorScheme: 'light', timezoneId: 'Europe/Berlin', locale: 'en-US' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2',
    { colorScheme: 'light', timezoneId: 'America/New_York', locale: 'en-US' });

  // The member count in alice's header follows bob joining her new room.
  await alice.click('#new-room');
  const d = alice.locator('dialog[open]');
  await d.locator('input[name=name]').fill('bench');
  await d.getByRole('button', { name: 'Create' }).click();
  await alice.waitForFunction(() => document.getElementById('room-name').textContent === '# bench');
  assert.equal(await alice.textContent('#room-info'), 'Members 1');
  await bob.click('#browse');
  await bob.locator('dialog[open] li', { hasText: 'bench' }).getByRole('button', { name: 'Join' }).click();
  await bob.waitForFunction(() => document.getElementById('room-name').textContent === '# bench');
  await alice.waitForFunction(() => document.getElementById('room-info').textContent === 'Members 2', null, { timeout: TIMEOUT_MS });

  // Markdown: a list, a numbered list, a block quote, strikethrough.
  await alice.fill('#text', 'Plan:\n- pour plates\n- ~~autoclave~~ done\n1. first\n2. second\n> buffer is at 4 °C');
  await alice.press('#text', 'Enter');
  const plan = row(bob, 'pour plates');
  await plan.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await plan.locator('.text ul > li').count(), 2);
  assert.equal(await plan.locator('.text ol > li').count(), 2);
  assert.equal(await plan.locator('.text s').textContent(), 'autoclave');
  assert.equal(await plan.locator('.text blockquote').textContent(), 'buffer is at 4 °C');

  // A UTC time in a message (a bot's reply, a mute notice) shows in each
  // reader's time zone: bob reads in New York (see his context below).
  await say(alice, 'scope maintenance ends 2026-12-10T15:30:00Z');
  const when = row(bob, 'scope maintenance').locator('time').last();
  await when.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await when.getAttribute('datetime'), '2026-12-10T15:30:00Z');
  assert.match(await when.textContent(), /Dec 10, 2026,? 10:30\s?AM/);
  const aliceWhen = await row(alice, 'scope maintenance').locator('.text time').textContent();
  assert.match(aliceWhen, /Dec 10, 2026,? 4:30\s?PM/); // alice reads in Berlin

  // A reply's quote shows the original's markup rendered, not raw.
  await say(alice, 'the **new** antibody is in');
  await clickAction(bob, 'antibody is in', 'Reply');
  await say(bob, 'great, thanks');
  const quote = row(alice, 'great, thanks').locator('.quote');
  await quote.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await quote.locator('strong').textContent(), 'new');
  assert.ok(!(await quote.textContent()).includes('**'), await quote.textContent());

  // A long message collapses; "Show more" opens it.
  const long = Array.from({ length: 40 }, (_, i) => `line ${i + 1} of the protocol`).join('\n');
  await alice.fill('#text', long);
  await alice.press('#text', 'Enter');
  const lr = row(bob, 'line 40 of the protocol');
  await lr.waitFor({ timeout: TIMEOUT_MS });
  const body = lr.locator('.text');
  assert.ok(await body.evaluate((e) => e.classList.contains('collapsed') && e.scrollHeight > e.clientHeight + 100));
  await lr.getByRole('button', { name: 'Show more' }).click();
  assert.ok(await body.evaluate((e) => !e.classList.contains('collapsed') && e.scrollHeight <= e.clientHeight + 1));
  assert.equal(await lr.locator('.show-more').getAttribute('aria-expanded'), 'true');
  // A short one has no such button.
  assert.equal(await row(bob, 'antibody is in').locator('.show-more').count(), 0);

  // Badges: plain unread is grey, a mention red.
  await link(bob, 'general').click();
  await say(alice, 'gel is running');
  const badge = link(bob, 'bench').locator('.badge');
  await badge.waitFor({ timeout: TIMEOUT_MS });
  const grey = await badge.evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(grey, 'rgb(110, 118, 129)');
  await say(alice, '@bob the gel is done');
  const red = link(bob, 'bench').locator('.mention-badge');
  await red.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await red.evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(229, 83, 75)');
  await link(bob, 'bench').click();

  // Reaction emoji in light mode: the picker's glyphs are drawn in the
  // text colour, not the buttons' white (a monochrome fallback glyph would
  // be invisible on the white panel).
  await clickAction(bob, 'gel is done', 'Add reaction');
  const colours = await bob.$$eval('.emoji-picker .emoji', (bs) => bs.map((b) => getComputedStyle(b).color));
  assert.ok(colours.length >= 8);
  for (const c of colours) assert.notEqual(c, 'rgb(255, 255, 255)');
  await bob.keyboard.press('Escape');

  // Keyboard: the list hands focus to the newest message, arrows move,
  // Tab reaches the focused message's actions, Escape returns.
  // (What a Tab onto the list does; page.focus() would refocus the list.)
  await bob.evaluate(() => document.getElementById('messages').focus());
  await bob.waitForFunction(() => document.activeElement.matches('li.msg') &&
    document.activeElement.textContent.includes('gel is done'));
  await bob.keyboard.press('ArrowUp');
  assert.ok(await bob.evaluate(() => document.activeElement.textContent.includes('gel is running')));
  const outline = await bob.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.equal(outline, 'solid');
  await bob.keyboard.press('Home');
  assert.ok(await bob.evaluate(() => document.activeElement.textContent.includes('pour plates')));
  await bob.keyboard.press('End');
  await bob.keyboard.press('ArrowUp');
  await bob.keyboard.press('Tab');
  const action = await bob.evaluate(() => {
    const a = document.activeElement;
    return { label: a.getAttribute('aria-label'), inRow: a.closest('li.msg').textContent.includes('gel is running'), visible: !!a.offsetParent };
  });
  assert.deepEqual(action, { label: 'Add reaction', inRow: true, visible: true });
  await bob.keyboard.press('Tab');
  assert.equal(await bob.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Reply');
  await bob.keyboard.press('Enter');
  await bob.waitForSelector('.compose-mode', { timeout: TIMEOUT_MS });
  assert.equal(await bob.evaluate(() => document.activeElement.id), 'text');
  await bob.keyboard.press('Escape');

  // Offline: the browser's offline event shows the banner at once (well
  // before any ping could time out); back online, it goes.
  const t0 = Date.now();
  await bob.context().setOffline(true);
  await bob.waitForSelector('#banner:not([hidden])', { timeout: 3000 });
  const shownMs = Date.now() - t0;
  assert.ok(shownMs < 3000, `banner after ${shownMs} ms`);
  await bob.context().setOffline(false);
  await bob.waitForSelector('#banner', { state: 'hidden', timeout: TIMEOUT_MS });

  // A reload while offline still opens the app (the service worker's copy).
  await bob.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: TIMEOUT_MS });
  await bob.waitForFunction(async () => {
    const c = await caches.open('parley-client-v1');
    return !!(await c.match('/js/main.js')) && !!(await c.match('/style.css')) && !!(await c.match('/'))
      && !!(await c.match('/i18n/en.json'));
  }, null, { timeout: TIMEOUT_MS });
  await bob.context().setOffline(true);
  await bob.reload();
  await bob.waitForSelector('#loading-text', { timeout: TIMEOUT_MS });
  await bob.waitForFunction(() => /Cannot reach the server/.test(document.getElementById('loading-text').textContent), null, { timeout: TIMEOUT_MS });
  await bob.context().setOffline(false);
  await bob.waitForSelector('#screen-chat:not([hidden])', { timeout: TIMEOUT_MS });
  await bob.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });

  // Images: a click opens the viewer overlay (no new tab), zoom and
  // download work, Escape closes it and focus returns to the thumbnail.
  if (haveUploads) {
    await alice.setInputFiles('#file-input', { name: 'western-blot.png', mimeType: 'image/png', buffer: png(640, 400) });
    await alice.waitForSelector('#files .upload.done', { timeout: TIMEOUT_MS });
    await alice.press('#text', 'Enter'); // the file alone: no words
    await link(bob, 'bench').click();
    const thumb = bob.locator('#messages .preview').last();
    await thumb.waitFor({ timeout: TIMEOUT_MS });
    // The names are not repeated as the message's text.
    assert.equal(await thumb.locator('xpath=ancestor::li').locator('.text').textContent(), '');
    const pages = bob.context().pages().length;
    await thumb.click();
    const viewer = bob.locator('dialog.viewer[open]');
    await viewer.waitFor({ timeout: TIMEOUT_MS });
    assert.equal(bob.context().pages().length, pages);
    const img = viewer.locator('img');
    await bob.waitForFunction((e) => e.complete && e.naturalWidth === 640, await img.elementHandle());
    assert.equal(await viewer.locator('.viewer-zoom').textContent(), 'Fit');
    await viewer.getByRole('button', { name: 'Zoom in' }).click();
    const w1 = await img.evaluate((e) => e.getBoundingClientRect().width);
    await viewer.getByRole('button', { name: 'Zoom in' }).click();
    const w2 = await img.evaluate((e) => e.getBoundingClientRect().width);
    assert.ok(w2 > w1, `${w2} > ${w1}`);
    await bob.keyboard.press('-');
    assert.equal(await img.evaluate((e) => e.getBoundingClientRect().width), w1);
    const dl = viewer.getByRole('link', { name: 'Download' });
    assert.equal(await dl.getAttribute('download'), 'western-blot.png');
    const [download] = await Promise.all([bob.waitForEvent('download'), dl.click()]);
    assert.equal(download.suggestedFilename(), 'western-blot.png');
    await bob.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    // The dialog loses `open` at once; its close event (which gives focus
    // back) is a task later: wait for it, bounded.
    const back = await bob.waitForFunction(() => document.activeElement.matches('a.preview'), null, { timeout: 5000 }).catch(() => null);
    const focused = await bob.evaluate(() => document.activeElement.outerHTML.slice(0, 120));
    assert.ok(back && focused.startsWith('<a class="preview"'), `focus after the viewer: ${focused}`);

    // A file card: the whole name and the size on one line.
    const name = 'qPCR-run-2026-12-04-plate-3-melt-curves.csv';
    await alice.setInputFiles('#file-input', { name, mimeType: 'text/csv', buffer: Buffer.from('well,ct\nA1,21.4\n') });
    await alice.waitForSelector('#files .upload.done', { timeout: TIMEOUT_MS });
    await alice.press('#text', 'Enter');
    const card = bob.locator('#messages .file-card', { hasText: name });
    await card.waitFor({ timeout: TIMEOUT_MS });
    const geo = await card.evaluate((c) => {
      const n = c.querySelector('.file-name');
      const s = c.querySelector('.file-size');
      const a = n.getBoundingClientRect();
      const b = s.getBoundingClientRect();
      return { cut: n.scrollWidth > n.clientWidth, sameLine: Math.abs(a.top + a.height / 2 - (b.top + b.height / 2)) < 4 };
    });
    assert.deepEqual(geo, { cut: false, sameLine: true });
    assert.equal(await card.locator('xpath=ancestor::li').locator('.text').textContent(), '');
  }
  noErrors(alice);
  // The browser logs its refused connections while offline: expected.
  bob.errors = bob.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED/.test(e.message));
  noErrors(bob);
}, haveUploads ? ', { "uploads_local", dir = "uploads" }' : '');
