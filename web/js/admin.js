// The settings page: the person's own settings (e-mail digests,
// notifications, password) and, for admins, invites, users, bots and
// their tokens, and scripts. Sections for features a server lacks (404)
// say so instead of failing.
import { t } from './i18n.js';
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

function select(name, values, current) {
  const s = el('select');
  s.name = name;
  for (const v of values) {
    const o = el('option', null, v);
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
  const s = section('Your account', 'set-account');
  const digest = input('email_digest', { type: 'checkbox', id: 'email-digest' });
  const dl = el('label', 'check');
  dl.append(digest, document.createTextNode(' E-mail me mentions and DMs I miss'));
  const r = await getJSON('/api/settings');
  // Without a mail plugin the server cannot send digests: not ticked, not
  // offered (the setting is kept for when one is configured).
  const mail = r.ok && r.data.email_available !== false;
  if (r.ok && mail) digest.checked = r.data.settings.email_digest !== false;
  else digest.disabled = true;
  if (r.ok && !mail) {
    dl.classList.add('muted');
    dl.append(el('span', 'note', t('digest_unavailable')));
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
    n.textContent = 'Desktop notifications need https on this browser; the tab title shows unread counts.';
  } else {
    const status = el('span', 'muted', ' ' + Notification.permission);
    n.append(button('Allow desktop notifications', 'secondary', async () => {
      status.textContent = ' ' + (await askPermission());
    }), status);
  }
  s.append(n);

  s.append(el('h3', null, 'Change password'));
  const old = input('old', { type: 'password', autocomplete: 'current-password', required: true });
  const nw = input('new', { type: 'password', autocomplete: 'new-password', minLength: 8, required: true });
  const nw2 = input('new2', { type: 'password', autocomplete: 'new-password', minLength: 8, required: true });
  s.append(form([['Current password', old], ['New password', nw], ['New password again', nw2]], 'Change password', async (f) => {
    if (nw.value !== nw2.value) return { error: 'The two passwords differ.' };
    const r = await postJSON('/api/password/change', { old_password: old.value, new_password: nw.value });
    if (!r.ok) return { error: r.status === 403 ? 'The current password is wrong.' : r.message };
    f.reset();
    return { ok: 'Password changed. Your other sessions are signed out.' };
  }));
  return s;
}

async function invitesSection() {
  const s = section('Invites', 'set-invites');
  const ul = el('ul', 'plain-list');
  const out = el('div', 'invite-link');
  const draw = async () => {
    const r = await getJSON('/api/admin/invites');
    ul.replaceChildren();
    if (!r.ok) {
      ul.append(el('li', 'error', r.message));
      return;
    }
    if (!r.data.invites.length) ul.append(el('li', 'muted', 'No open invites.'));
    for (const inv of r.data.invites) {
      const li = el('li', 'row');
      li.append(el('span', 'grow', `${inv.email || 'link only'} · ${inv.role} · expires ${fullTime(inv.expires)}`));
      li.append(button('Revoke', 'secondary small', async () => {
        const x = await postJSON(`/api/admin/invites/${encodeURIComponent(inv.id)}/revoke`);
        if (x.ok) draw();
      }));
      ul.append(li);
    }
  };
  const email = input('email', { type: 'email', placeholder: 'optional: mailed to them' });
  s.append(form([['E-mail', email], ['Role', select('role', ROLES, 'member')]], 'Create invite', async (f) => {
    const body = { role: f.elements.role.value };
    if (email.value.trim()) body.email = email.value.trim();
    const r = await postJSON('/api/admin/invites', body);
    if (!r.ok) return { error: r.message };
    out.replaceChildren(el('span', null, 'Invite link (works once): '));
    const link = el('input', 'copy');
    link.readOnly = true;
    link.value = r.data.link || r.data.token;
    link.setAttribute('aria-label', 'Invite link');
    out.append(link);
    link.select();
    f.reset();
    draw();
    if (r.data.emailed === false) {
      // An address was given but the mail did not go out: say so plainly.
      const why = r.data.email_error || t('invite_no_mail_plugin');
      return { ok: t('invite_not_emailed', { why }) };
    }
    return { ok: r.data.emailed ? 'Invite created and e-mailed.' : 'Invite created.' };
  }), out, ul);
  await draw();
  return s;
}

async function usersSection() {
  const s = section('Users and bots', 'set-users');
  const table = el('table', 'users');
  const tokenOut = el('div', 'token-out');
  const draw = async () => {
    const r = await getJSON('/api/admin/users');
    table.replaceChildren();
    if (!r.ok) return;
    const head = el('tr');
    for (const h of ['Name', 'Role', 'Status', '']) head.append(el('th', null, h));
    table.append(head);
    for (const u of r.data.users) {
      const tr = el('tr');
      tr.dataset.user = u.name;
      tr.append(el('td', null, u.name + (u.email ? ' <' + u.email + '>' : '')));
      const td = el('td');
      if (u.role === 'bot') td.textContent = 'bot';
      else {
        const sel = select('role', ROLES, u.role);
        sel.setAttribute('aria-label', 'Role of ' + u.name);
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
      tr.append(el('td', u.disabled ? 'error' : 'muted', u.disabled ? 'disabled' : 'active'));
      const actions = el('td');
      if (!state.me || u.id !== state.me.id) {
        actions.append(button(u.disabled ? 'Enable' : 'Disable', 'secondary small', async () => {
          const x = await postJSON(`/api/admin/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`);
          if (x.ok) draw();
          else alertIn(tokenOut, x.message);
        }));
      }
      if (u.role === 'bot') {
        actions.append(button('New token', 'secondary small', () => tokenForm(u, tokenOut)));
        actions.append(button('Revoke tokens', 'secondary small', async () => {
          const x = await postJSON(`/api/admin/bots/${u.id}/tokens/revoke`);
          alertIn(tokenOut, x.ok ? `${x.data.revoked} token(s) of ${u.name} revoked.` : x.message);
        }));
      }
      tr.append(actions);
      table.append(tr);
    }
  };
  const name = input('name', { required: true, placeholder: 'e.g. deploybot' });
  s.append(table, tokenOut, el('h3', null, 'New bot account'), form([['Bot name', name]], 'Create bot', async (f) => {
    const r = await postJSON('/api/admin/bots', { name: name.value.trim() });
    if (!r.ok) return { error: r.message };
    f.reset();
    draw();
    return { ok: `Bot ${r.data.user.name} created: give it a token below its name.` };
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
  box.replaceChildren(el('h3', null, 'A token for ' + bot.name));
  const checks = el('div', 'row');
  for (const sc of SCOPES) {
    const l = el('label', 'check');
    const c = input('scope', { type: 'checkbox', value: sc, checked: sc !== 'moderate' });
    l.append(c, document.createTextNode(' ' + sc));
    checks.append(l);
  }
  const rooms = input('rooms', { placeholder: 'room ids, comma separated (empty: all its rooms)' });
  const out = el('div');
  box.append(form([[null, checks], ['Rooms', rooms]], 'Create token', async () => {
    const scopes = [...checks.querySelectorAll('input:checked')].map((c) => c.value);
    if (!scopes.length) return { error: 'Pick at least one scope.' };
    const body = { scopes };
    const list = rooms.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (list.length) body.rooms = list;
    const r = await postJSON(`/api/admin/bots/${bot.id}/tokens`, body);
    if (!r.ok) return { error: r.message };
    const t = el('input', 'copy');
    t.readOnly = true;
    t.value = r.data.token;
    t.setAttribute('aria-label', 'Bot token');
    out.replaceChildren(el('span', null, 'Shown once, copy it now: '), t);
    t.select();
    return { ok: 'Token created.' };
  }), out);
}

async function scriptsSection() {
  const s = section('Scripts', 'set-scripts');
  const r = await getJSON('/api/admin/scripts');
  if (r.status === 404) {
    s.append(el('p', 'muted', 'This server runs no scripting.'));
    return s;
  }
  const ul = el('ul', 'plain-list');
  const msg = el('p');
  msg.setAttribute('role', 'status');
  const draw = (data) => {
    ul.replaceChildren();
    const scripts = (data && data.scripts) || [];
    if (!scripts.length) ul.append(el('li', 'muted', 'No scripts are configured.'));
    for (const sc of scripts) {
      const li = el('li');
      li.append(el('strong', null, sc.name), el('span', 'status ' + sc.status, ' ' + sc.status));
      const cmds = (sc.commands || []).map((c) => '/' + (c.name || c)).join(' ');
      if (cmds) li.append(el('span', 'muted', ' · ' + cmds));
      if (sc.failures) li.append(el('span', 'muted', ` · ${sc.failures} failures`));
      if (sc.cpu_ms) {
        li.append(el('span', 'muted',
          ` · CPU ${Math.round(sc.cpu_ms_used)} of ${sc.cpu_ms} ms per ${sc.cpu_window} s`));
      }
      const err = sc.disabled_reason || sc.load_error || sc.last_error;
      if (err) li.append(el('div', 'error', err));
      ul.append(li);
    }
  };
  draw(r.ok ? r.data : null);
  s.append(button('Reload scripts', null, async () => {
    const x = await postJSON('/api/admin/scripts/reload');
    if (x.ok) {
      draw(x.data);
      const errs = x.data.errors || [];
      msg.textContent = errs.length ? errs.map((e) => `${e.script}: ${e.error}`).join('; ') : 'Reloaded.';
    } else msg.textContent = x.message;
  }), msg, ul);
  return s;
}
