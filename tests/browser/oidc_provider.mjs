// A real OpenID Provider on loopback for the browser sign-in tests
// (npm oidc-provider, a certified implementation), served as `localhost`
// so that a browser treats it and parley (127.0.0.1) as different sites.
//   node tests/browser/oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET PARLEY_URL
// Prints one line `{"event":"listening","issuer":…}` once it serves. Its
// sign-in page is the library's development form: any login, any
// password; the login becomes the subject and preferred_username. Consent
// is granted at once (a first-party client), so the flow is: authorize,
// login form, back to parley.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

export async function startProvider({ port, clientId, clientSecret, parleyUrl }) {
  const issuer = `http://localhost:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [`${parleyUrl}/api/oidc/callback`],
      post_logout_redirect_uris: [`${parleyUrl}/`],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { methods: ['S256'], required: () => true },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'] },
    // The profile claims in the ID token itself, as Cognito puts them.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ['parley-tests-only'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, preferred_username: id, name: id.toUpperCase(), email: `${id}@example.org` };
        },
      };
    },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('provider error', err));
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((ok) => server.on('listening', ok));
  return { issuer, close: () => new Promise((ok) => server.close(ok)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const [port, clientId, clientSecret, parleyUrl] = process.argv.slice(2);
  const { issuer } = await startProvider({ port: Number(port), clientId, clientSecret, parleyUrl });
  console.log(JSON.stringify({ event: 'listening', issuer }));
}
