// Link previews (issue 19): a link in a message gets a card under it once
// the server has fetched the page (here a little page server on loopback,
// allowed by link_previews.allow). The card is text: a title with markup in
// it stays text, and it opens the link in a new tab without an opener.
//
//   node tests/browser/previews.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { run, signIn, say, row, noErrors, TIMEOUT_MS } from './lib.mjs';

const pages = createServer((req, res) => {
  if (req.url !== '/notes') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end('<html><head><title>ignored</title>' +
    '<meta property="og:title" content="Grid prep &lt;img src=x onerror=alert(1)&gt; notes">' +
    '<meta property="og:description" content="How we blot cryo-EM grids, step by step.">' +
    '<meta property="og:site_name" content="Lab wiki"></head><body></body></html>');
});
await new Promise((ok) => pages.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${pages.address().port}/notes`;

try {
  await run('previews', async (server, browser) => {
    server.cli(['user', 'add', 'alice'], 'correct horse 1\n');
    const alice = await signIn(browser, server.url, 'alice', 'correct horse 1');
    await say(alice, `The protocol is here: ${url}`);
    const card = row(alice, 'The protocol is here').locator('a.link-preview');
    await card.waitFor({ timeout: TIMEOUT_MS });
    assert.equal(await card.locator('.link-title').textContent(), 'Grid prep <img src=x onerror=alert(1)> notes');
    assert.equal(await card.locator('.link-desc').textContent(), 'How we blot cryo-EM grids, step by step.');
    assert.equal(await card.locator('.link-site').textContent(), 'Lab wiki');
    assert.equal(await card.getAttribute('href'), url);
    assert.equal(await card.getAttribute('target'), '_blank');
    assert.equal(await card.getAttribute('rel'), 'noopener noreferrer');
    // No image from the title's markup (the author's avatar is the only one).
    assert.equal(await row(alice, 'The protocol is here').locator('img:not(.avatar)').count(), 0);
    noErrors(alice);
  }, '', 'link_previews = { enabled = true, allow = { "127.0.0.1/32" } }');
} finally {
  pages.close();
}
