// The settings page: the person's own settings (e-mail digests,
// notifications, password) and, for admins, invites, users, bots and
// their tokens, and scripts. Sections for features a server lacks (404)
// say so instead of failing.
import { t, tn, formatNumber } from './i18n.js';
import { $, el, button } from './dom.js';
import { getJSON, postJSON } from './http.js';
import { state } from './state.js';
import { askPermission, notificationsAvailable } from './notify.js';
import { fullTime } from './time.js';
import { profileSection } from './profile.js';
import { exportSection } from './export.js';
import { auditSection } from './audit.js';

const ROLES = ['member', 'admin'];
const SCOPES = ['read', 'post', 'react', 'moderate'];

// What a server's words are called on screen (the values stay the server's).
function roleName(role) {
  return { member: t('role_member'), admin: t('role_admin'), bot: t('role_bot') }[role] || role;
}

function scopeName(scope) {
  return { read: t('scope_read'), post: t('scope_post'), react: t('scope_react'), moderate: t('scope_moderate') }[scope] || scope;
}

function permissionName(p) {
  return { default: t('permission_default'), granted: t('permission_granted'), denied: t('permission_denied'),
    unavailable: t('permission_unavailable') }[p] || p;
}

function scriptStatusName(s) {
  return { running: t('script_status_running'), disabled: t('script_status_disabled') }[s] || s;
}

function section(title, id) {
  const s = el('section', 'settings-section');
  s.id = id;
  s.setAttribute('aria-labelledby', id + '-h');
  const h = el('h2', null, title);
  h.id = id + '-h';
  s.append(h);
  return s;
}

function form(fields, label, onSubmit) {
  const f = el('form', 'form');
  const err = el('p', 'error');
  err.setAttribute('role', 'alert');
  const ok = el('p', 'ok');
  ok.setAttribute('role', 'status');
  for (const [text, input] of fields) {
    if (!text) {
      f.append(input);
      continue;
    }
    const l = el('label', null, text);
    l.append(input);
    f.append(l);
  }
  const b = el('button', null, label);
  b.type = 'submit';
  f.append(err, ok, b);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    b.disabled = true;
    err.textContent = '';
    ok.textContent = '';
    const r = await onSubmit(f);
    b.disabled = false;
    if (r && r.error) err.textContent = r.error;
    else if (r && r.ok) ok.textContent = r.ok;
  });
  return f;
}

function input(name, attrs = {}) {
  const i = el('input');
  i.name = name;
  Object.assign(i, attrs);
  return i;
}

function select(name, values, current, label = (v) => v) {
  const s = el('select');
  s.name = name;
  for (const v of values) {
    const o = el('option', null, label(v));
    o.value = v;
    if (v === current) o.selected = true;
    s.append(o);
  }
  return s;
}

export async function renderSettings() {
  const root = $('settings-body');
  root.replaceChildren();
  root.append(await profileSection(section), await accountSection());
  if (state.me && state.me.role === 'admin') {
    const parts = await Promise.all([invitesSection(), usersSection(), scriptsSection(), auditSection()]);
    root.append(...parts, exportSection(section));
  }
}

async function accountSection() {
  const s = section(t('account_title'), 'set-account');
  const digest = input('email_digest', { type: 'checkbox', id: 'email-digest' });
  const dl = el('label', 'check');
  dl.append(digest, document.createTextNode(' ' + t('account_digest')));
  const r = await getJSON('/api/settings');
  // Without a mail plugin the server cannot send digests: not ticked, not
  // offered (the setting is kept for when one is configured).
  const mail = r.ok && r.data.email_available !== false;
  if (r.ok && mail) digest.checked = r.data.settings.email_digest !== false;
  else digest.disabled = true;
  if (r.ok && !mail) {
    dl.classList.add('muted');
    dl.append(el('span', 'note', ' ' + t('digest_unavailable')));
  }
  digest.addEventListener('change', async () => {
    digest.disabled = true;
    const w = await postJSON('/api/settings', { email_digest: digest.checked });
    digest.disabled = false;
    if (!w.ok) digest.checked = !digest.checked;
  });
  s.append(dl);

  const n = el('p');
  if (!notificationsAvailable()) {
    n.textContent = t('account_notify_need_https');
  } else {
    const status = el('span', 'muted', ' ' + permissionName(Notification.permission));
    n.append(button(t('account_notify_allow'), 'secondary', async () => {
      status.textContent = ' ' + permissionName(await askPermission());
    }), status);
  }
  s.append(n);

  s.append(el('h3', null, t('password_change_title')));
  const old = input('old', { type: 'password', autocomplete: 'current-password', required: true });
  const nw = input('new', { type: 'password', autocomplete: 'new-password', minLength: 8, required: true });
  const nw2 = input('new2', { type: 'password', autocomplete: 'new-password', minLength: 8, required: true });
  s.append(form([[t('password_current'), old], [t('password_new'), nw], [t('password_new_again'), nw2]], t('password_change_submit'), async (f) => {
    if (nw.value !== nw2.value) return { error: t('passwords_differ') };
    const r = await postJSON('/api/password/change', { old_password: old.value, new_password: nw.value });
    if (!r.ok) return { error: r.status === 403 ? t('password_current_wrong') : r.message };
    f.reset();
    return { ok: t('password_changed') };
  }));
  return s;
}

async function invitesSection() {
  const s = section(t('invites_title'), 'set-invites');
  const ul = el('ul', 'plain-list');
  const out = el('div', 'invite-link');
  const draw = async () => {
    const r = await getJSON('/api/admin/invites');
    ul.replaceChildren();
    if (!r.ok) {
      ul.append(el('li', 'error', r.message));
      return;
    }
    if (!r.data.invites.length) ul.append(el('li', 'muted', t('invites_none')));
    for (const inv of r.data.invites) {
      const li = el('li', 'row');
      li.append(el('span', 'grow', t('invites_item', { who: inv.email || t('invites_link_only'),
        role: roleName(inv.role), expires: fullTime(inv.expires) })));
      li.append(button(t('invites_revoke'), 'secondary small', async () => {
        const x = await postJSON(`/api/admin/invites/${encodeURIComponent(inv.id)}/revoke`);
        if (x.ok) draw();
      }));
      ul.append(li);
    }
  };
  const email = input('email', { type: 'email', placeholder: t('invites_email_placeholder') });
  s.append(form([[t('invites_email'), email], [t('invites_role'), select('role', ROLES, 'member', roleName)]], t('invites_create'), async (f) => {
    const body = { role: f.elements.role.value };
    if (email.value.trim()) body.email = email.value.trim();
    const r = await postJSON('/api/admin/invites', body);
    if (!r.ok) return { error: r.message };
    out.replaceChildren(el('span', null, t('invites_link_once') + ' '));
    const link = el('input', 'copy');
    link.readOnly = true;
    link.value = r.data.link || r.data.token;
    link.setAttribute('aria-label', t('invites_link'));
    out.append(link);
    link.select();
    f.reset();
    draw();
    if (r.data.emailed === false) {
      // An address was given but the mail did not go out: say so plainly.
      const why = r.data.email_error || t('invite_no_mail_plugin');
      return { ok: t('invite_not_emailed', { why }) };
    }
    return { ok: r.data.emailed ? t('invites_created_emailed') : t('invites_created') };
  }), out, ul);
  await draw();
  return s;
}

async function usersSection() {
  const s = section(t('users_title'), 'set-users');
  const table = el('table', 'users');
  const tokenOut = el('div', 'token-out');
  const draw = async () => {
    const r = await getJSON('/api/admin/users');
    table.replaceChildren();
    if (!r.ok) return;
    const head = el('tr');
    for (const h of [t('users_name'), t('users_role'), t('users_status'), '']) head.append(el('th', null, h));
    table.append(head);
    for (const u of r.data.users) {
      const tr = el('tr');
      tr.dataset.user = u.name;
      tr.append(el('td', null, u.name + (u.email ? ' <' + u.email + '>' : '')));
      const td = el('td');
      if (u.role === 'bot') td.textContent = roleName('bot');
      else {
        const sel = select('role', ROLES, u.role, roleName);
        sel.setAttribute('aria-label', t('users_role_of', { name: u.name }));
        sel.addEventListener('change', async () => {
          const x = await postJSON(`/api/admin/users/${u.id}/role`, { role: sel.value });
          if (!x.ok) {
            sel.value = u.role;
            alertIn(tokenOut, x.message);
          } else u.role = sel.value;
        });
        td.append(sel);
      }
      tr.append(td);
      tr.append(el('td', u.disabled ? 'error' : 'muted', u.disabled ? t('users_disabled') : t('users_active')));
      const actions = el('td');
      if (!state.me || u.id !== state.me.id) {
        actions.append(button(u.disabled ? t('users_enable') : t('users_disable'), 'secondary small', async () => {
          const x = await postJSON(`/api/admin/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`);
          if (x.ok) draw();
          else alertIn(tokenOut, x.message);
        }));
      }
      if (u.role === 'bot') {
        actions.append(button(t('bots_new_token'), 'secondary small', () => tokenForm(u, tokenOut)));
        actions.append(button(t('bots_revoke_tokens'), 'secondary small', async () => {
          const x = await postJSON(`/api/admin/bots/${u.id}/tokens/revoke`);
          alertIn(tokenOut, x.ok ? tn('bots_tokens_revoked', x.data.revoked, { name: u.name }) : x.message);
        }));
      }
      tr.append(actions);
      table.append(tr);
    }
  };
  const name = input('name', { required: true, placeholder: t('bots_name_placeholder') });
  s.append(table, tokenOut, el('h3', null, t('bots_new_title')), form([[t('bots_name'), name]], t('bots_create'), async (f) => {
    const r = await postJSON('/api/admin/bots', { name: name.value.trim() });
    if (!r.ok) return { error: r.message };
    f.reset();
    draw();
    return { ok: t('bots_created', { name: r.data.user.name }) };
  }));
  await draw();
  return s;
}

function alertIn(box, text) {
  const p = el('p', null, text);
  p.setAttribute('role', 'status');
  box.replaceChildren(p);
}

function tokenForm(bot, box) {
  box.replaceChildren(el('h3', null, t('token_title', { name: bot.name })));
  const checks = el('div', 'row');
  for (const sc of SCOPES) {
    const l = el('label', 'check');
    const c = input('scope', { type: 'checkbox', value: sc, checked: sc !== 'moderate' });
    l.append(c, document.createTextNode(' ' + scopeName(sc)));
    checks.append(l);
  }
  const rooms = input('rooms', { placeholder: t('token_rooms_placeholder') });
  const out = el('div');
  box.append(form([[null, checks], [t('token_rooms'), rooms]], t('token_create'), async () => {
    const scopes = [...checks.querySelectorAll('input:checked')].map((c) => c.value);
    if (!scopes.length) return { error: t('token_pick_scope') };
    const body = { scopes };
    const list = rooms.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (list.length) body.rooms = list;
    const r = await postJSON(`/api/admin/bots/${bot.id}/tokens`, body);
    if (!r.ok) return { error: r.message };
    const tok = el('input', 'copy');
    tok.readOnly = true;
    tok.value = r.data.token;
    tok.setAttribute('aria-label', t('token_label'));
    out.replaceChildren(el('span', null, t('token_shown_once') + ' '), tok);
    tok.select();
    return { ok: t('token_created') };
  }), out);
}

async function scriptsSection() {
  const s = section(t('scripts_title'), 'set-scripts');
  const r = await getJSON('/api/admin/scripts');
  if (r.status === 404) {
    s.append(el('p', 'muted', t('scripts_none_server')));
    return s;
  }
  const ul = el('ul', 'plain-list');
  const msg = el('p');
  msg.setAttribute('role', 'status');
  const draw = (data) => {
    ul.replaceChildren();
    const scripts = (data && data.scripts) || [];
    if (!scripts.length) ul.append(el('li', 'muted', t('scripts_none')));
    for (const sc of scripts) {
      const li = el('li');
      li.append(el('strong', null, sc.name), el('span', 'status ' + sc.status, ' ' + scriptStatusName(sc.status)));
      const cmds = (sc.commands || []).map((c) => '/' + (c.name || c)).join(' ');
      if (cmds) li.append(el('span', 'muted', ' · ' + cmds));
      if (sc.failures) li.append(el('span', 'muted', ' · ' + tn('scripts_failures', sc.failures)));
      if (sc.cpu_ms) {
        li.append(el('span', 'muted', ' · ' + t('scripts_cpu', { used: formatNumber(Math.round(sc.cpu_ms_used)),
          budget: formatNumber(sc.cpu_ms), window: formatNumber(sc.cpu_window) })));
      }
      const err = sc.disabled_reason || sc.load_error || sc.last_error;
      if (err) li.append(el('div', 'error', err));
      ul.append(li);
    }
  };
  draw(r.ok ? r.data : null);
  s.append(button(t('scripts_reload'), null, async () => {
    const x = await postJSON('/api/admin/scripts/reload');
    if (x.ok) {
      draw(x.data);
      const errs = x.data.errors || [];
      msg.textContent = errs.length ? errs.map((e) => `${e.script}: ${e.error}`).join('; ') : t('scripts_reloaded');
    } else msg.textContent = x.message;
  }), msg, ul);
  return s;
}
