// The person's profile (display name, pronouns, time zone, status) in the
// settings page, and live `profile` events: names shown elsewhere follow.
import { el } from './dom.js';
import { getJSON, patchJSON } from './http.js';
import { state } from './state.js';
import { t } from './i18n.js';

// When a status clears by itself: ms from now (0 never, -1 at midnight).
function clearAfter() {
  return [
    [t('status_clear_never'), 0],
    [t('status_clear_1h'), 3600e3],
    [t('status_clear_4h'), 4 * 3600e3],
    [t('status_clear_today'), -1],
    [t('status_clear_week'), 7 * 86400e3],
  ];
}

function labelled(text, input) {
  const l = el('label', null, text);
  l.append(input);
  return l;
}

function field(name, value, attrs = {}) {
  const i = el('input');
  i.name = name;
  i.value = value || '';
  Object.assign(i, attrs);
  return i;
}

function endOfToday() {
  const d = new Date();
  d.setHours(23, 59, 59, 999);
  return d.getTime();
}

export async function profileSection(section) {
  const s = section(t('profile_title'), 'set-profile');
  const r = await getJSON('/api/profile');
  if (!r.ok) {
    s.append(el('p', 'muted', r.status === 404 ? t('profile_none_server') : r.message));
    return s;
  }
  const p = r.data.profile;
  const name = field('display_name', p.display_name, { required: true, maxLength: 64 });
  const pronouns = field('pronouns', p.pronouns, { maxLength: 40, placeholder: t('profile_pronouns_placeholder') });
  const tz = field('tz', p.tz, { placeholder: Intl.DateTimeFormat().resolvedOptions().timeZone });
  const zones = el('datalist');
  zones.id = 'tz-list';
  if (Intl.supportedValuesOf) for (const z of Intl.supportedValuesOf('timeZone')) {
    const o = el('option');
    o.value = z;
    zones.append(o);
  }
  tz.setAttribute('list', 'tz-list');
  const status = field('status', p.status ? p.status.text : '', { maxLength: 100, placeholder: t('profile_status_placeholder') });
  const clear = el('select');
  clear.name = 'clear_after';
  for (const [label, ms] of clearAfter()) {
    const o = el('option', null, label);
    o.value = String(ms);
    clear.append(o);
  }
  const f = el('form', 'form');
  const err = el('p', 'error');
  err.setAttribute('role', 'alert');
  const ok = el('p', 'ok');
  ok.setAttribute('role', 'status');
  const save = el('button', null, t('profile_save'));
  save.type = 'submit';
  f.append(labelled(t('profile_display_name'), name), labelled(t('profile_pronouns'), pronouns),
    labelled(t('profile_tz'), tz), zones, labelled(t('profile_status'), status),
    labelled(t('profile_clear_after'), clear), err, ok, save);
  s.append(avatarPicker(p));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    ok.textContent = '';
    const after = Number(clear.value);
    const text = status.value.trim();
    const patch = {
      display_name: name.value.trim(),
      pronouns: pronouns.value.trim(),
      tz: tz.value.trim(),
      status: text ? { text, expires: after === 0 ? null : after < 0 ? endOfToday() : Date.now() + after } : null,
    };
    save.disabled = true;
    const w = await patchJSON('/api/profile', patch);
    save.disabled = false;
    if (!w.ok) err.textContent = w.message;
    else ok.textContent = t('saved');
  });
  s.append(f);
  return s;
}

// A `profile` event: remember it and rename what shows the person.
export function applyProfile(profile, onMe) {
  state.profiles.set(profile.id, profile);
  if (state.me && profile.id === state.me.id) {
    state.me.display_name = profile.display_name;
    onMe(profile);
  }
}

// Authors are shown by display name once their profile is known: each
// distinct author is asked for once per page load, and the list redrawn
// when answers come (batched).
const asked = new Set();
let redraw = () => {};
let redrawTimer = null;

export function onProfilesLoaded(fn) {
  redraw = fn;
}

async function fetchProfile(id) {
  asked.add(id);
  const r = await getJSON('/api/users/' + encodeURIComponent(id) + '/profile');
  if (!r.ok) return;
  state.profiles.set(id, r.data.profile);
  clearTimeout(redrawTimer);
  redrawTimer = setTimeout(() => redraw(), 50);
}

// The author element of a message header: display name, with the user
// name, pronouns and status in its tooltip.
// How a person is named in text (notifications, announcements, quotes):
// their display name once known, else their user name.
export function displayName(user) {
  if (!user) return '?';
  const p = state.profiles.get(user.id);
  return p && p.display_name ? p.display_name : user.name;
}

export function authorLabel(user) {
  if (!user) return el('span', 'author', '?');
  const p = state.profiles.get(user.id);
  if (!p && !asked.has(user.id)) fetchProfile(user.id);
  const span = el('span', 'author', p && p.display_name ? p.display_name : user.name);
  span.dataset.user = user.id;
  const extra = [];
  if (p && p.pronouns) extra.push(p.pronouns);
  if (p && p.status && p.status.text) extra.push(p.status.text);
  span.title = '@' + user.name + (extra.length ? ' · ' + extra.join(' · ') : '');
  if (p && p.pronouns) span.append(el('span', 'pronouns muted', ' ' + p.pronouns));
  return span;
}

// ---- avatars

const UPLOAD_SIDE = 1024; // the server crops and scales to 256; this keeps the body small

// The picture shown for a person: theirs, or the server's initials.
export function avatarUrl(id) {
  const p = state.profiles.get(id);
  return p && p.avatar ? p.avatar : '/api/users/' + encodeURIComponent(id) + '/avatar';
}

export function avatarImg(user, cls = 'avatar') {
  const img = el('img', cls);
  img.alt = '';
  img.loading = 'lazy';
  img.decoding = 'async';
  if (user && user.id) img.src = avatarUrl(user.id);
  return img;
}

// A photo scaled down in the browser (upright: createImageBitmap applies
// its orientation) and sent as JPEG.
async function shrink(file) {
  const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const k = Math.min(1, UPLOAD_SIDE / Math.max(bmp.width, bmp.height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(bmp.width * k));
  c.height = Math.max(1, Math.round(bmp.height * k));
  const g = c.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  g.drawImage(bmp, 0, 0, c.width, c.height);
  return new Promise((ok) => c.toBlob(ok, 'image/jpeg', 0.9));
}

async function send(method, body) {
  try {
    const res = await fetch('/api/profile/avatar', {
      method, credentials: 'same-origin', body,
      headers: body ? { 'Content-Type': 'image/jpeg' } : {},
    });
    const data = await res.json().catch(() => null);
    if (res.ok) return { ok: true, profile: data.profile };
    return { ok: false, message: (data && data.error && data.error.message) || res.statusText };
  } catch {
    return { ok: false, message: t('cannot_reach_server') };
  }
}

function avatarPicker(profile) {
  const box = el('div', 'avatar-picker');
  const preview = el('img', 'avatar avatar-large');
  preview.alt = t('avatar_yours');
  preview.src = profile.avatar || '/api/users/' + encodeURIComponent(profile.id) + '/avatar';
  const file = el('input');
  file.type = 'file';
  file.name = 'avatar';
  file.accept = 'image/jpeg,image/png,image/webp';
  const choose = el('label', 'button secondary', t('avatar_choose'));
  choose.append(file);
  const remove = el('button', 'secondary', t('avatar_remove'));
  remove.type = 'button';
  const msg = el('p', 'error');
  msg.setAttribute('role', 'alert');
  const done = (r) => {
    if (!r.ok) {
      msg.textContent = r.message;
      return;
    }
    msg.textContent = '';
    state.profiles.set(r.profile.id, r.profile);
    preview.src = r.profile.avatar || '/api/users/' + encodeURIComponent(r.profile.id) + '/avatar?t=' + Date.now();
  };
  file.addEventListener('change', async () => {
    if (!file.files.length) return;
    let blob;
    try {
      blob = await shrink(file.files[0]);
    } catch {
      msg.textContent = t('avatar_unreadable');
      return;
    }
    done(await send('POST', blob));
    file.value = '';
  });
  remove.addEventListener('click', async () => done(await send('DELETE')));
  box.append(preview, choose, remove, msg);
  return box;
}
