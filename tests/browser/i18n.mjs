// Interface text comes from web/i18n/en.json: the page is given a test
// locale (the real file with every string marked «…», served in its
// place), and the strings taken from the file so far must show marked.
// A string typed inline in web/js instead would show unmarked and fail.
//
//   node tests/browser/i18n.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, say, row, root, TIMEOUT_MS } from './lib.mjs';

const en = JSON.parse(readFileSync(join(root, 'web/i18n/en.json'), 'utf8'));
const marked = Object.fromEntries(Object.entries(en).map(([k, v]) => [k, '«' + v + '»']));

await run('i18n', async (server, browser) => {
  server.cli(['user', 'add', 'alice'], 'correct horse 1\n');
  // signIn makes the context; the marked file is served from the reload on.
  const page = await signIn(browser, server.url, 'alice', 'correct horse 1');
  await page.context().route(/\/i18n\/en\.json$/, (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify(marked) }));
  await page.reload();
  await page.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.waitForFunction(() => /^«Members \d+»$/.test(document.getElementById('room-info').textContent), null, { timeout: TIMEOUT_MS });
  await say(page, Array.from({ length: 30 }, (_, i) => `step ${i + 1}`).join('\n'));
  const more = row(page, 'step 30').locator('.show-more');
  await more.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await more.textContent(), '«Show more»');
  await more.click();
  assert.equal(await more.textContent(), '«Show less»');
});
