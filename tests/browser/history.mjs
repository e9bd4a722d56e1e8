// Reading long rooms: paging back through 500 messages by scrolling (each
// seen once, in order, the screen never jumping), a 10,000-message room
// that opens and scrolls with only a window of rows in the DOM, and the
// size of the first load. Prints the numbers (they are reported, not
// asserted as times: the machine running the tests may be busy).
//
//   node tests/browser/history.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { run, signIn, seed, noErrors, root, TIMEOUT_MS } from './lib.mjs';

const MAX_ROWS = 200; // rows in the DOM at most, whatever the room's size

async function openRoom(page, name) {
  const t0 = Date.now();
  await page.click(`#rooms .room-link:has-text("${name}")`);
  await page.waitForFunction((n) => document.getElementById('room-name').textContent === '# ' + n, name);
  await page.waitForSelector('#messages li.msg', { timeout: TIMEOUT_MS });
  return Date.now() - t0;
}

// Counts long tasks and the longest gap between animation frames.
function watchFrames(page) {
  return page.evaluate(() => {
    window.__perf = { longTasks: 0, longest: 0, maxGap: 0, frames: 0 };
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) {
        window.__perf.longTasks++;
        window.__perf.longest = Math.max(window.__perf.longest, e.duration);
      }
    }).observe({ type: 'longtask' });
    let last = performance.now();
    const tick = (t) => {
      window.__perf.maxGap = Math.max(window.__perf.maxGap, t - last);
      window.__perf.frames++;
      last = t;
      if (!window.__perf.stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

await run('history', async (server, browser) => {
  server.cli(['user', 'add', 'alice'], 'correct horse 1\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1');

  // First load: every file the page fetched, raw and gzip-compressed.
  const files = await alice.evaluate(() => [location.pathname, ...performance.getEntriesByType('resource')
    .map((e) => new URL(e.name).pathname).filter((p) => !p.startsWith('/api/') && p !== '/ws')]);
  let raw = 0;
  let gz = 0;
  for (const p of new Set(files)) {
    const body = readFileSync(join(root, 'web', p === '/' ? 'index.html' : p));
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
  console.log(`first load: ${new Set(files).size} files, ${(raw / 1024).toFixed(1)} KB raw, ${(gz / 1024).toFixed(1)} KB gzip`);
  assert.ok(gz < 150 * 1024, 'first load under 150 KB compressed');

  // 500 messages: scroll up until the beginning; every seq seen once, in order.
  let t0 = Date.now();
  await seed(alice, 'paging', 500, 'page');
  await seed(alice, 'big', 10000, 'big');
  console.log(`seeded 10,500 messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await alice.waitForSelector('#rooms .room-link:has-text("big")', { timeout: TIMEOUT_MS });
  await openRoom(alice, 'paging');
  const seen = new Set();
  let jumps = 0;
  // Chromium animates a wheel scroll over several frames. Under load the
  // animation of one step could still run when the next step measured, so
  // two steps' distance (up to 1,000 px) once looked like a jump: measure
  // only once scrollTop has held still for three frames.
  const settled = () =>
    alice.evaluate(
      () =>
        new Promise((resolve) => {
          const ol = document.getElementById('messages');
          let last = ol.scrollTop;
          let still = 0;
          const tick = () => {
            if (ol.scrollTop === last) still++;
            else (still = 0), (last = ol.scrollTop);
            if (still >= 3) resolve();
            else requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }),
    );
  // The wheel scrolls what is under the pointer: the middle of the message
  // list, wherever the layout puts it (a fixed point fell on the sidebar
  // once it grew a search button).
  const overMessages = async () => {
    const box = await alice.locator('#messages').boundingBox();
    await alice.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  };
  for (let i = 0; i < 400; i++) {
    await settled();
    const r = await alice.evaluate(() => {
      const ol = document.getElementById('messages');
      const rows = [...ol.querySelectorAll('li.msg[data-seq]')];
      const first = rows.find((li) => li.offsetTop + li.offsetHeight > ol.scrollTop);
      const before = first ? first.getBoundingClientRect().top : 0;
      return {
        seqs: rows.map((li) => Number(li.dataset.seq)),
        texts: rows.map((li) => li.querySelector('.text').textContent),
        firstSeq: first ? first.dataset.seq : null,
        before,
        done: !!ol.querySelector('.older') && /beginning/.test(ol.querySelector('.older').textContent) && ol.scrollTop === 0,
        rows: rows.length,
      };
    });
    assert.ok(r.rows <= MAX_ROWS, `${r.rows} rows in the DOM`);
    r.seqs.forEach((s) => seen.add(s));
    for (let k = 1; k < r.seqs.length; k++) assert.ok(r.seqs[k] > r.seqs[k - 1], 'rows in seq order');
    assert.equal(new Set(r.texts).size, r.texts.length, 'no message shown twice');
    if (r.done) break;
    await overMessages();
    await alice.mouse.wheel(0, -500);
    await settled();
    // The row that was at the top is still where scrolling put it (no jump
    // of a page's height when older messages were added above it).
    const moved = await alice.evaluate((seq) => {
      const li = document.querySelector(`#messages li[data-seq="${seq}"]`);
      return li ? li.getBoundingClientRect().top : null;
    }, r.firstSeq);
    if (moved !== null && Math.abs(moved - r.before) > 900) {
      jumps++;
      console.log("jump", i, r.firstSeq, r.before, moved, r.seqs[0], r.rows);
    }
  }
  assert.equal(seen.size, 500, `saw ${seen.size} of 500 messages`);
  assert.equal(jumps, 0, 'no jumps while paging');
  console.log('paged back through 500 messages, each once, in order, no jumps');

  // 10,000 messages: open, scroll up through 2,000 with the wheel, then the
  // whole history held and back to the latest.
  const openMs = await openRoom(alice, 'big');
  await overMessages(); // over the messages, not the sidebar
  await watchFrames(alice);
  t0 = Date.now();
  let maxRows = 0;
  let oldest = Infinity;
  for (let i = 0; i < 1500 && oldest > 8000; i++) {
    await alice.mouse.wheel(0, -800);
    if (i % 10 === 0) {
      const r = await alice.evaluate(() => {
        const rows = document.querySelectorAll('#messages li.msg[data-seq]');
        return { n: rows.length, first: Number(rows[0].dataset.seq) };
      });
      maxRows = Math.max(maxRows, r.n);
      oldest = Math.min(oldest, r.first);
    }
    await alice.waitForTimeout(8);
  }
  const scrollMs = Date.now() - t0;
  const perf = await alice.evaluate(() => {
    window.__perf.stop = true;
    return window.__perf;
  });
  assert.ok(oldest <= 8000, `scrolled up to seq ${oldest}`);
  assert.ok(maxRows <= MAX_ROWS, `${maxRows} rows in the DOM`);
  // Everything held: page the rest in, then jump to the latest.
  t0 = Date.now();
  for (let i = 0; i < 200; i++) {
    const done = await alice.evaluate(async () => {
      const ol = document.getElementById('messages');
      ol.scrollTop = 0;
      ol.dispatchEvent(new Event('scroll'));
      await new Promise((ok) => setTimeout(ok, 20));
      return /beginning/.test(ol.querySelector('.older').textContent);
    });
    if (done) break;
  }
  const allMs = Date.now() - t0;
  t0 = Date.now();
  await alice.click('#jump');
  await alice.waitForSelector('#messages li.msg:has-text("big 10000")');
  const jumpMs = Date.now() - t0;
  const rows = await alice.locator('#messages li.msg').count();
  assert.ok(rows <= MAX_ROWS, `${rows} rows after the jump`);
  console.log(`10k room: opened in ${openMs} ms; wheel-scrolled ${10000 - oldest} messages in ${scrollMs} ms ` +
    `(${perf.frames} frames, longest frame gap ${perf.maxGap.toFixed(0)} ms, ${perf.longTasks} long tasks, ` +
    `longest ${perf.longest.toFixed(0)} ms); held all 10,000 after ${allMs} ms; jump to latest ${jumpMs} ms; ` +
    `at most ${maxRows} rows in the DOM`);
  noErrors(alice);
});
