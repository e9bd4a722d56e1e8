// Dialogs on the native <dialog> element (focus is trapped and Esc
// closes it by itself): the quick switcher, browsing and creating rooms,
// direct messages, a room's topic and members, and confirmations.
import { el, button } from './dom.js';
import { state, roomLabel, isModerator } from './state.js';
import { presenceDot } from './presence.js';
import { avatarImg } from './profile.js';
import { t, formatNumber } from './i18n.js';

// A member's role in a room as shown (the value stays the server's).
export function roomRoleName(role) {
  return { member: t('room_role_member'), moderator: t('room_role_moderator'), owner: t('room_role_owner') }[role] || role;
}

export function modal(title, build) {
  const d = el('dialog', 'dialog');
  d.setAttribute('aria-label', title);
  const head = el('header', 'dialog-head');
  head.append(el('h2', null, title), button('×', 'icon close', () => d.close(), t('dialog_close')));
  d.append(head);
  const body = el('div', 'dialog-body');
  d.append(body);
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  build(body, () => d.close());
  d.showModal();
  const first = body.querySelector('input, textarea, select, button');
  if (first) first.focus();
  return d;
}

export function confirmDialog(text, yes) {
  return new Promise((resolve) => {
    let answer = false;
    const d = modal(t('confirm_title'), (body, close) => {
      body.append(el('p', null, text));
      const row = el('div', 'row end');
      row.append(button(t('confirm_cancel'), 'secondary', close));
      row.append(button(yes || t('confirm_delete'), 'danger', () => {
        answer = true;
        close();
      }));
      body.append(row);
    });
    d.addEventListener('close', () => resolve(answer));
  });
}

function field(label, input) {
  const l = el('label', null, label);
  l.append(input);
  return l;
}

function input(name, attrs = {}) {
  const i = el('input');
  i.name = name;
  Object.assign(i, attrs);
  return i;
}

// Ctrl/Cmd+K: type a few letters of a room or person, Enter opens it.
export function quickSwitcher(onSelect) {
  modal(t('switcher_title'), (body, close) => {
    const q = input('q', { placeholder: t('switcher_placeholder'), autocomplete: 'off' });
    q.setAttribute('aria-label', t('switcher_placeholder'));
    q.setAttribute('role', 'combobox');
    q.setAttribute('aria-controls', 'switcher-list');
    q.setAttribute('aria-expanded', 'true');
    const ul = el('ul', 'pick-list');
    ul.id = 'switcher-list';
    ul.setAttribute('role', 'listbox');
    let sel = 0;
    let hits = [];
    const draw = () => {
      const s = q.value.trim().toLowerCase();
      hits = [...state.rooms.values()]
        .filter((r) => r.name.toLowerCase().includes(s))
        .sort((a, b) => (b.unread || 0) - (a.unread || 0) || a.name.localeCompare(b.name))
        .slice(0, 12);
      sel = Math.min(sel, Math.max(0, hits.length - 1));
      ul.replaceChildren();
      hits.forEach((r, i) => {
        const li = el('li', i === sel ? 'selected' : '', roomLabel(r));
        li.setAttribute('role', 'option');
        li.id = 'sw-' + i;
        li.setAttribute('aria-selected', i === sel ? 'true' : 'false');
        if (r.unread) li.append(el('span', 'badge', formatNumber(r.unread)));
        li.addEventListener('click', () => {
          close();
          onSelect(r.id);
        });
        ul.append(li);
      });
      q.setAttribute('aria-activedescendant', hits.length ? 'sw-' + sel : '');
    };
    q.addEventListener('input', () => {
      sel = 0;
      draw();
    });
    q.addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowDown') sel = Math.min(hits.length - 1, sel + 1);
      else if (ev.key === 'ArrowUp') sel = Math.max(0, sel - 1);
      else if (ev.key === 'Enter' && hits[sel]) {
        ev.preventDefault();
        close();
        onSelect(hits[sel].id);
        return;
      } else return;
      ev.preventDefault();
      draw();
    });
    body.append(q, ul);
    draw();
  });
}

export function browseRooms(conn, onJoined) {
  modal(t('browse_title'), async (body, close) => {
    const ul = el('ul', 'plain-list');
    body.append(el('p', 'muted', t('browse_intro')), ul);
    // The server pages the list (500 a page, `more` when others follow).
    const rooms = [];
    let after;
    for (let page = 0; page < 20; page++) {
      const r = await conn.request({ type: 'rooms', public: true, after });
      if (!r || r.type !== 'rooms') {
        ul.append(el('li', 'error', r ? r.message : t('not_connected')));
        return;
      }
      rooms.push(...(r.rooms || []).filter((x) => x.kind === 'public'));
      if (!r.more || !r.rooms || !r.rooms.length) break;
      after = r.rooms[r.rooms.length - 1].id;
    }
    if (!rooms.length) ul.append(el('li', 'muted', t('browse_none')));
    for (const room of rooms) {
      const li = el('li', 'row');
      const name = el('div', 'grow');
      name.append(el('strong', null, '# ' + room.name));
      if (room.topic) name.append(el('div', 'muted', room.topic));
      li.append(name);
      if (state.rooms.has(room.id)) {
        li.append(button(t('browse_open'), 'secondary', () => {
          close();
          onJoined(room.id);
        }));
      } else {
        li.append(button(t('browse_join'), null, async (ev) => {
          ev.currentTarget.disabled = true;
          const j = await conn.request({ type: 'join', room: room.id });
          if (j && j.type === 'room') {
            close();
            onJoined(j.room.id, j.room);
          } else ev.currentTarget.disabled = false;
        }));
      }
      ul.append(li);
    }
  });
}

export function createRoom(conn, onCreated) {
  modal(t('create_room_title'), (body, close) => {
    const f = el('form', 'form');
    const name = input('name', { required: true, maxLength: 64, placeholder: t('create_room_name_placeholder') });
    const topic = input('topic', { placeholder: t('create_room_topic_placeholder') });
    const priv = input('private', { type: 'checkbox' });
    const pl = el('label', 'check');
    pl.append(priv, document.createTextNode(' ' + t('create_room_private')));
    const err = el('p', 'error');
    err.setAttribute('role', 'alert');
    const submit = el('button', null, t('create_room_submit'));
    submit.type = 'submit';
    f.append(field(t('create_room_name'), name), field(t('create_room_topic'), topic), pl, err, submit);
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      const r = await conn.request({
        type: 'create_room', name: name.value.trim().replace(/^#/, ''),
        kind: priv.checked ? 'private' : 'public', topic: topic.value.trim(),
      });
      submit.disabled = false;
      if (r && r.type === 'room') {
        close();
        onCreated(r.room.id, r.room);
      } else err.textContent = r ? r.message : t('not_connected');
    });
    body.append(f);
  });
}

// A room's topic, members (with presence), invite and remove, leave.
export function roomInfo(conn, room, onLeft) {
  modal(roomLabel(room), async (body, close) => {
    const mod = isModerator(room);
    if (room.kind !== 'dm') {
      const f = el('form', 'form row');
      const topic = input('topic', { value: room.topic || '', placeholder: t('info_no_topic'), disabled: !mod });
      topic.setAttribute('aria-label', t('info_topic'));
      f.append(topic);
      const err = el('p', 'error');
      if (mod) {
        const save = el('button', null, t('info_set_topic'));
        save.type = 'submit';
        f.append(save);
        f.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          const r = await conn.request({ type: 'topic', room: room.id, topic: topic.value.trim() });
          if (r && r.type === 'ok') {
            room.topic = topic.value.trim();
            close();
          } else err.textContent = r ? r.message : t('not_connected');
        });
      }
      body.append(el('h3', null, t('info_topic')), f, err);
    }
    body.append(el('h3', null, t('info_members')));
    const ul = el('ul', 'plain-list members');
    body.append(ul);
    const draw = async () => {
      const r = await conn.request({ type: 'members', room: room.id, limit: 500 });
      ul.replaceChildren();
      if (!r || r.type !== 'members') return;
      state.members.set(room.id, r.members);
      for (const m of r.members) {
        const li = el('li', 'row');
        li.append(presenceDot(el, m.id, m.presence), avatarImg(m, 'avatar avatar-small'));
        li.append(el('span', 'grow', m.name), ...(m.role !== 'member' ? [el('span', 'muted', ' ' + t('info_member_role', { role: roomRoleName(m.role) }))] : []));
        if (mod && room.kind !== 'dm' && state.me && m.id !== state.me.id) {
          li.append(button(t('info_remove'), 'secondary small', async () => {
            const k = await conn.request({ type: 'kick', room: room.id, user: m.id });
            if (k && k.type === 'ok') draw();
          }));
        }
        ul.append(li);
      }
    };
    await draw();
    if (room.kind !== 'dm' && (mod || room.kind === 'public')) {
      const f = el('form', 'form row');
      const who = input('user', { placeholder: t('info_add_placeholder'), required: true, autocomplete: 'off' });
      who.setAttribute('aria-label', t('info_add_placeholder'));
      // Suggestions from the people directory as the name is typed.
      const people = el('datalist');
      people.id = 'add-someone-list';
      who.setAttribute('list', people.id);
      let asking = 0;
      who.addEventListener('input', async () => {
        const q = who.value.trim().replace(/^@/, '');
        const mine = ++asking;
        const r = q ? await conn.request({ type: 'users', query: q, limit: 8 }) : null;
        if (mine !== asking) return; // a newer keystroke asked since
        people.replaceChildren();
        if (r && r.type === 'users') for (const u of r.users) {
          const o = el('option');
          o.value = u.name;
          if (u.display_name && u.display_name !== u.name) o.label = u.display_name;
          people.append(o);
        }
      });
      const add = el('button', null, t('info_add'));
      add.type = 'submit';
      const err = el('p', 'error');
      f.append(who, people, add);
      f.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const r = await conn.request({ type: 'invite', room: room.id, user: who.value.trim().replace(/^@/, '') });
        if (r && r.type === 'ok') {
          who.value = '';
          err.textContent = '';
          draw();
        } else err.textContent = r ? r.message : t('not_connected');
      });
      body.append(el('h3', null, t('info_add_someone')), f, err);
    }
    if (room.kind !== 'dm') {
      const row = el('div', 'row end');
      row.append(button(t('info_leave'), 'danger', async () => {
        const r = await conn.request({ type: 'leave', room: room.id });
        if (r && r.type === 'ok') {
          close();
          onLeft(room.id);
        }
      }));
      body.append(row);
    }
  });
}
