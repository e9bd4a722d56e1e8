// Signing in, registering from an invite link (also the first admin's
// one-time link), and resetting a forgotten password. The session is the
// HttpOnly cookie the server sets: nothing here stores a token.
// Browser sign-in with the identity provider is a plain navigation to
// /api/oidc/login: the server runs the whole flow and comes back to
// "/#sso=1" signed in, or to "/#sso_error=CODE&sso_message=TEXT".
import { $ } from './dom.js';
import { getJSON, postJSON } from './http.js';
import { t } from './i18n.js';

const SSO_FLAG = 'parley-signed-in-with-sso'; // sessionStorage: offer the provider's logout
let ssoError = null; // {code, text} of a failed browser sign-in
let methods = null;

const SCREENS = ['loading', 'login', 'register', 'forgot', 'reset', 'chat', 'settings'];

export function show(name) {
  for (const s of SCREENS) $('screen-' + s).hidden = s !== name;
}

export function hashParam(name) {
  return new URLSearchParams(location.hash.slice(1)).get(name);
}

function dropHash() {
  history.replaceState(null, '', location.pathname + location.search);
}

export function showLogin(message) {
  // Worded here, not at start: the strings load after wireAuth ran.
  const sso = !ssoError ? '' : ssoError.text ? t('sso_failed_because', { why: ssoError.text })
    : t('sso_failed_code', { code: ssoError.code });
  $('login-error').textContent = message || sso;
  ssoError = null;
  show('login');
  $('login-form').elements.username.focus();
  offerSso();
}

// "Sign in with <provider>" when the server has browser sign-in, and after
// a sign-out of a session that began there, the provider's own logout.
async function offerSso() {
  if (!methods) {
    const r = await getJSON('/api/auth/methods');
    methods = r.ok ? r.data : {};
  }
  const oidc = methods && methods.oidc;
  const provider = oidc ? oidc.name : '';
  $('sso-login').textContent = t('sso_login', { provider });
  $('sso-logout-link').textContent = t('sso_logout_link', { provider });
  $('sso').hidden = !oidc;
  if (oidc) $('sso-login').href = oidc.login;
  const offerLogout = !!(oidc && oidc.logout_url && sessionStorage.getItem(SSO_FLAG));
  $('sso-logout').hidden = !offerLogout;
  if (offerLogout) $('sso-logout-link').href = oidc.logout_url;
  if (offerLogout) sessionStorage.removeItem(SSO_FLAG);
}

// The landing of a browser sign-in, read once at start.
function takeSsoLanding() {
  if (hashParam('sso')) sessionStorage.setItem(SSO_FLAG, '1');
  const code = hashParam('sso_error');
  if (code) {
    const text = hashParam('sso_message');
    ssoError = { code, text };
  }
  if (hashParam('sso') || code) dropHash();
}

export function wireAuth(onSignedIn) {
  takeSsoLanding();
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    f.querySelector('button').disabled = true;
    const r = await postJSON('/api/login', {
      username: f.elements.username.value.trim(),
      password: f.elements.password.value,
    });
    f.querySelector('button').disabled = false;
    if (!r.ok) {
      $('login-error').textContent = r.status === 401 ? t('login_wrong') : r.message;
      return;
    }
    f.reset();
    onSignedIn();
  });

  $('register-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const err = $('register-error');
    if (f.elements.password.value !== f.elements.password2.value) {
      err.textContent = t('passwords_differ');
      return;
    }
    f.querySelector('button').disabled = true;
    const body = {
      invite: hashParam('invite'),
      username: f.elements.username.value.trim(),
      password: f.elements.password.value,
    };
    if (f.elements.email.value.trim()) body.email = f.elements.email.value.trim();
    const r = await postJSON('/api/register', body);
    f.querySelector('button').disabled = false;
    if (!r.ok) {
      err.textContent = r.status === 401 ? t('register_invite_spent') : r.message;
      return;
    }
    f.reset();
    dropHash(); // the invite is spent
    onSignedIn();
  });

  $('forgot-open').addEventListener('click', () => {
    $('forgot-error').textContent = '';
    $('forgot-sent').hidden = true;
    show('forgot');
    $('forgot-form').elements.email.focus();
  });
  $('forgot-back').addEventListener('click', () => showLogin(''));
  $('forgot-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    f.querySelector('button[type=submit]').disabled = true;
    const r = await postJSON('/api/password/forgot', { email: f.elements.email.value.trim() });
    f.querySelector('button[type=submit]').disabled = false;
    $('forgot-error').textContent = r.ok ? '' : r.message;
    $('forgot-sent').hidden = !r.ok;
  });

  $('reset-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const err = $('reset-error');
    if (f.elements.password.value !== f.elements.password2.value) {
      err.textContent = t('passwords_differ');
      return;
    }
    f.querySelector('button').disabled = true;
    const r = await postJSON('/api/password/reset', {
      token: hashParam('reset'),
      password: f.elements.password.value,
    });
    f.querySelector('button').disabled = false;
    if (!r.ok) {
      err.textContent = r.message;
      return;
    }
    f.reset();
    dropHash(); // the token is spent
    showLogin(t('reset_done'));
  });
}

// An invite or reset link opens its screen instead of the session.
export function linkScreen() {
  if (hashParam('invite')) return 'register';
  if (hashParam('reset')) return 'reset';
  return null;
}
