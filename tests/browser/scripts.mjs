// Slash commands from Lua scripts: typing `/` lists the commands the
// server names (GET /api/commands, for every signed-in person), a command runs and its bot answers, and the settings page
// shows the script's status and reloads it. The server is configured with a
// script, so its admin page must exist: a 404 fails the test.
//
//   node tests/browser/scripts.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, signIn, row, noErrors, shots, TIMEOUT_MS } from './lib.mjs';

const dir = mkdtempSync(join(tmpdir(), 'parley-scripts-'));
const script = join(dir, 'hello.lua');
writeFileSync(script, `parley.command("greet", function(cmd)
  cmd:reply("Hello, " .. (cmd.args ~= "" and cmd.args or "you") .. "!")
end)
`);
const config = `scripts = { { file = "${script}" } }`;

await run('scripts', async (server, browser) => {
  server.cli(['user', 'add', 'alice', '--role', 'admin'], 'correct horse 1\n');
  const alice = await signIn(browser, server.url, 'alice', 'correct horse 1');
  const scriptsStatus = await alice.evaluate(async () => (await fetch('/api/admin/scripts')).status);
  assert.equal(scriptsStatus, 200, 'GET /api/admin/scripts with a script configured');
  await alice.waitForTimeout(300); // the command list loads after `ready`
  await alice.type('#text', '/gr');
  await alice.waitForSelector('#suggest li >> text=/greet', { timeout: TIMEOUT_MS });
  mkdirSync(shots, { recursive: true });
  await alice.screenshot({ path: join(shots, 'slash-light.png') });
  await alice.press('#text', 'Tab');
  assert.equal(await alice.inputValue('#text'), '/greet ');
  await alice.type('#text', 'world');
  await alice.press('#text', 'Enter');
  await row(alice, 'Hello, world!').waitFor({ timeout: TIMEOUT_MS });
  await alice.waitForFunction(() => !document.querySelector('#messages li.pending'));
  assert.equal(await row(alice, '/greet world').count(), 0); // a command is not stored

  await alice.click('#admin-link');
  const s = alice.locator('#set-scripts');
  await s.locator('li', { hasText: 'running' }).waitFor();
  await s.getByRole('button', { name: 'Reload scripts' }).click();
  await s.locator('p', { hasText: 'Reloaded.' }).waitFor();
  noErrors(alice);

  // A member sees the list too.
  server.cli(['user', 'add', 'bob'], 'correct horse 2\n');
  const bob = await signIn(browser, server.url, 'bob', 'correct horse 2');
  await bob.waitForTimeout(300);
  await bob.type('#text', '/gr');
  await bob.waitForSelector('#suggest li >> text=/greet', { timeout: TIMEOUT_MS });
  noErrors(bob);
}, '', config);
