// The admin settings' export button: an admin picks a room and pseudonyms,
// presses "Download export", and gets a zip from GET /api/admin/export
// whose manifest has that room only, pseudonymised; the audit log has it.
//
//   node tests/browser/export.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, signIn, say, row, seed, noErrors, TIMEOUT_MS } from './lib.mjs';

await run('export', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1');
  await seed(alice, 'lab', 5, 'lab note');
  await say(alice, 'hello general');
  await row(alice, 'hello general').waitFor({ timeout: TIMEOUT_MS });

  await alice.click('#admin-link');
  const s = alice.locator('#set-export');
  await s.waitFor({ timeout: TIMEOUT_MS });
  await s.locator('input[name=rooms]').fill('lab');
  await s.locator('input[name=pseudonymise]').check();
  const [download] = await Promise.all([
    alice.waitForEvent('download', { timeout: 60000 }),
    s.getByRole('button', { name: 'Download export' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^parley-export-\d{8}T\d{6}Z\.zip$/);
  const dir = mkdtempSync(join(tmpdir(), 'parley-export-dl-'));
  const zip = join(dir, 'export.zip');
  await download.saveAs(zip);
  // Python's zipfile reads it (the same check as the integration tests).
  const manifest = JSON.parse(execFileSync('python3', ['-c',
    'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("manifest.json").decode())', zip]));
  assert.deepEqual(manifest.rooms.map((r) => r.name), ['lab']);
  assert.equal(manifest.pseudonymised, true);
  assert.equal(manifest.messages, 5);
  assert.ok(readFileSync(zip).length > 100);
  await s.locator('p', { hasText: 'downloads when' }).waitFor();

  const audit = await alice.evaluate(async () => (await (await fetch('/api/admin/audit')).json()).entries);
  assert.ok(audit.some((e) => e.action === 'data.export' && e.detail.rooms[0] === 'lab'));
  noErrors(alice);
});
