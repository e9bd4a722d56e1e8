// Files: attached by the button, by drag and drop and by paste; the
// upload card shows while it goes up; an image arrives at the other side
// as an inline preview (loaded through GET /api/uploads/{id}), another
// file as a card with name and size. Skipped (with a note) when the build
// has no uploads_local plugin.
//
//   node tests/browser/uploads.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { run, signIn, row, noErrors, build, shots, TIMEOUT_MS } from './lib.mjs';

const have = existsSync(join(build, 'plugins', 'uploads_local.so'));
if (!have) console.log('browser uploads: skipped (no uploads_local plugin in this build)');

// A real PNG (w x h, a colour gradient), made here: no binary in the tree.
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = 160;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

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
  await row(bob, 'pasted.png').locator('.preview img').waitFor({ timeout: TIMEOUT_MS });

  mkdirSync(shots, { recursive: true });
  await bob.mouse.move(0, 0);
  await bob.screenshot({ path: join(shots, 'uploads-dark.png') });
  await alice.mouse.move(0, 0);
  await alice.screenshot({ path: join(shots, 'uploads-light.png') });
  noErrors(bob);
}, ', { "uploads_local", dir = "uploads" }');
