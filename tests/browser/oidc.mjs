// Browser sign-in with the identity provider, end to end in Chromium
// against a real OpenID Provider (npm oidc-provider, tests/browser/
// oidc_provider.mjs) served as http://localhost:PORT while parley is
// http://127.0.0.1:PORT: two sites to the browser, as in production, so
// the state cookie must survive the provider's cross-site redirect back
// (SameSite=Lax) and parley's session cookie is never the provider's.
//
//   node tests/browser/oidc.mjs BUILD_DIR
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, newPage, noErrors, shots, TIMEOUT_MS } from './lib.mjs';
import { startProvider } from './oidc_provider.mjs';

const CLIENT_ID = 'parley-web';
const CLIENT_SECRET = 'browser-test-secret-9d2e';

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const opPort = await freePort();
const issuer = `http://localhost:${opPort}`;
const plugins = `, { "auth_jwt", issuer = "${issuer}", jwks_url = "${issuer}/jwks",
  audiences = { "${CLIENT_ID}" }, client_id = "${CLIENT_ID}", client_secret = "${CLIENT_SECRET}",
  provider_name = "Test IdP" }`;

await run('oidc', async (server, browser) => {
  // parley's address is known once it runs: the provider registers its
  // callback then (parley fetches the discovery document on first use).
  const op = await startProvider({ port: opPort, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, parleyUrl: server.url });
  try {
    const page = await newPage(browser);
    // The provider's stock pages import a web font: answered empty here,
    // the tests stay on loopback.
    await page.context().route('https://fonts.googleapis.com/**',
      (r) => r.fulfill({ status: 200, contentType: 'text/css', body: '' }));
    await page.goto(server.url);
    const seen = [];
    page.on('response', async (r) => {
      if (!r.url().startsWith(server.url)) return;
      const headers = JSON.stringify(await r.allHeaders());
      let body = '';
      try { body = await r.text(); } catch { /* a redirect has none */ }
      seen.push(headers + body);
    });

    // The login screen offers the provider, next to the password form.
    await page.waitForSelector('#sso-login:visible', { timeout: TIMEOUT_MS });
    assert.equal((await page.textContent('#sso-login')).trim(), 'Sign in with Test IdP');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'sso-login-light.png') });

    // To the provider (another site), its sign-in form, and back.
    await page.click('#sso-login');
    await page.waitForURL((u) => u.href.startsWith(issuer + '/interaction/'), { timeout: TIMEOUT_MS });
    const opCookies = await page.context().cookies(issuer);
    assert.ok(!opCookies.some((c) => c.name.startsWith('parley_')), 'parley cookies are not the provider\'s');
    const state = (await page.context().cookies(server.url + '/api/oidc/callback')).find((c) => c.name === 'parley_oidc');
    assert.ok(state, 'the state cookie is set before leaving');
    assert.equal(state.sameSite, 'Lax');
    assert.equal(state.httpOnly, true);
    assert.equal(state.path, '/api/oidc/');
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', 'anything');
    await page.click('button[type=submit]');

    // Signed in to parley: the chat, as alice, with parley's own session.
    await page.waitForSelector('#screen-chat:not([hidden])', { timeout: TIMEOUT_MS });
    await page.waitForSelector('#rooms >> text=general', { timeout: TIMEOUT_MS });
    assert.equal(new URL(page.url()).origin, server.url);
    assert.equal(new URL(page.url()).hash, '', 'the landing fragment is dropped');
    assert.match(await page.textContent('#me-name'), /ALICE|alice/);
    const cookies = await page.context().cookies(server.url + '/api/oidc/callback');
    const session = cookies.find((c) => c.name === 'parley_session');
    assert.ok(session && session.httpOnly, 'an HttpOnly parley session cookie');
    assert.ok(!cookies.some((c) => c.name === 'parley_oidc'), 'the state cookie is spent');
    for (const s of seen) assert.ok(!s.includes(CLIENT_SECRET), 'the secret never reaches the browser');

    // Sign out: parley's session ends, and the provider's logout is offered.
    await page.click('#logout');
    await page.waitForSelector('#sso-logout:visible', { timeout: TIMEOUT_MS });
    assert.match(await page.textContent('#sso-logout'), /Sign out of Test IdP too/);
    const after = await fetch(server.url + '/api/settings', { headers: { Cookie: 'parley_session=' + session.value } });
    assert.equal(after.status, 401, 'the parley session is over');
    await page.click('#sso-logout-link');
    await page.waitForURL((u) => u.href.startsWith(issuer), { timeout: TIMEOUT_MS });
    await page.click('button[value=yes]');
    await page.waitForURL((u) => u.href.startsWith(server.url), { timeout: TIMEOUT_MS });
    await page.waitForSelector('#screen-login:not([hidden])', { timeout: TIMEOUT_MS });
    assert.ok(await page.isHidden('#sso-logout'), 'offered once');

    // A forged callback lands on the login screen with the reason.
    await page.goto(server.url + '/api/oidc/callback?state=forged&code=nothing');
    await page.waitForSelector('#screen-login:not([hidden])', { timeout: TIMEOUT_MS });
    await page.waitForFunction(() => document.getElementById('login-error').textContent.includes('unknown'),
      null, { timeout: TIMEOUT_MS });
    noErrors(page);
  } finally {
    await op.close();
  }
}, plugins);
