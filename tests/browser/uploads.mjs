// Files: attached by the button, by drag and drop and by paste; the
// upload card shows while it goes up; an image arrives at the other side
// as an inline preview (loaded through GET /api/uploads/{id}), another
// file as a card with name and size. Skipped (with a note) when the build
// has no uploads_local plugin.
//
//   node tests/browser/uploads.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, signIn, row, noErrors, build, shots, TIMEOUT_MS } from './lib.mjs';
import { png } from './png.mjs';

const have = existsSync(join(build, 'plugins', 'uploads_local.so'));
if (!have) console.log('browser uploads: skipped (no uploads_local plugin in this build)');

if (have) await run('uploads', async (server, browser) => {
  server.cli(['user', 'add', 'alice'], 'correct horse 1\n');
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1', { colorScheme: 'light' });
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2', { colorScheme: 'dark' });

  // The button: an image, previewed inline on the other side.
  await alice.setInputFiles('#file-input', { name: 'plot.png', mimeType: 'image/png', buffer: png(320, 200) });
  await alice.waitForSelector('#files .upload.done', { timeout: TIMEOUT_MS });
  await alice.fill('#text', 'the latency plot');
  await alice.press('#text', 'Enter');
  const img = row(bob, 'the latency plot').locator('.preview img');
  await img.waitFor({ timeout: TIMEOUT_MS });
  await bob.waitForFunction((el) => el.complete && el.naturalWidth === 320, await img.elementHandle(), { timeout: TIMEOUT_MS });
  assert.equal(await img.getAttribute('alt'), 'plot.png');

  // Drag and drop: a text file becomes a card with its name and size.
  const dt = await alice.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File(['id,ms\n1,12\n2,15\n'], 'run-42.csv', { type: 'text/csv' }));
    return d;
  });
  await alice.dispatchEvent('#room', 'dragover', { dataTransfer: dt });
  await alice.dispatchEvent('#room', 'drop', { dataTransfer: dt });
  await alice.waitForSelector('#files .upload.done', { timeout: TIMEOUT_MS });
  await alice.fill('#text', 'raw numbers');
  await alice.press('#text', 'Enter');
  const card = row(bob, 'raw numbers').locator('.file-card');
  await card.waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await card.locator('.file-name').textContent(), 'run-42.csv');
  assert.equal(await card.locator('.file-size').textContent(), '16 B');

  // Paste: an image from the clipboard.
  await alice.evaluate((bytes) => {
    const d = new DataTransfer();
    d.items.add(new File([new Uint8Array(bytes)], 'pasted.png', { type: 'image/png' }));
    document.getElementById('text').dispatchEvent(new ClipboardEvent('paste', { clipboardData: d, bubbles: true, cancelable: true }));
  }, [...png(64, 64)]);
  await alice.waitForSelector('#files .upload.done', { timeout: TIMEOUT_MS });
  await alice.press('#text', 'Enter'); // a file alone is a message too
  // (Its name is the image's alt, not repeated as the message's text.)
  await bob.locator('#messages .preview img[alt="pasted.png"]').waitFor({ timeout: TIMEOUT_MS });

  mkdirSync(shots, { recursive: true });
  await bob.mouse.move(0, 0);
  await bob.screenshot({ path: join(shots, 'uploads-dark.png') });
  await alice.mouse.move(0, 0);
  await alice.screenshot({ path: join(shots, 'uploads-light.png') });
  noErrors(bob);
}, ', { "uploads_local", dir = "uploads" }');
