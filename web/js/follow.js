// Find and follow (issue 15) in the web client: the "Pinned" panel, the
// per-room notification level, and the "new message" dialog that opens a
// DM with one or several people picked by name with suggestions.
import { el, button, announce } from './dom.js';
import { state } from './state.js';
import { modal } from './dialogs.js';
import { t, formatNumber } from './i18n.js';
import { authorLabel } from './profile.js';

const strongAuthor = (user) => {
  const s = el('strong');
  s.append(authorLabel(user));
  return s;
};

// The notification levels, as shown (the values are the server's).
function levels() {
  return [['all', t('level_all')], ['mentions', t('level_mentions')], ['none', t('level_none')]];
}

// A `pin` event: the room object's list follows it.
export function applyPin(f) {
  const room = state.rooms.get(f.room);
  if (!room) return;
  const pins = (room.pins || []).filter((id) => id !== f.id);
  room.pins = f.on ? [f.id, ...pins] : pins;
}

// Whether a message should notify (desktop notification, title count) at
// the room's level: everything, mentions (and DMs) only, or nothing.
export function levelAllows(room, m) {
  const level = (room && room.notify) || 'all';
  if (level === 'none') return false;
  if (level === 'all') return true;
  return room.kind === 'dm' || !!(m && m.mentions && state.me && m.mentions.includes(state.me.id));
}

// The unread count a room adds to the title at its level.
export function titleCount(room) {
  const level = room.notify || 'all';
  if (level === 'none') return 0;
  if (level === 'mentions' && room.kind !== 'dm') return room.mentions || 0;
  return room.unread || 0;
}

export function levelSelect(conn, room) {
  const s = el('select', 'notify-level');
  s.setAttribute('aria-label', t('level_label'));
  s.title = t('level_label');
  for (const [v, label] of levels()) {
    const o = el('option', null, label);
    o.value = v;
    s.append(o);
  }
  s.value = room.notify || 'all';
  s.addEventListener('change', async () => {
    const r = await conn.request({ type: 'notify', room: room.id, level: s.value });
    if (r && r.type === 'ok') {
      room.notify = s.value;
      announce(t('level_changed', { level: s.selectedOptions[0].textContent }));
    } else {
      s.value = room.notify || 'all';
      announce(t('not_changed', { why: r ? r.message : t('not_connected_short') }));
    }
  });
  return s;
}

// The "Pinned" panel: the room's pinned messages, newest pin first; a
// click jumps to the message; moderators may unpin.
export function pinnedPanel(conn, room, { onJump, canModerate }) {
  modal(t('pins_title', { room: room.name }), async (body, close) => {
    body.classList.add('pinned-panel');
    const list = el('ol', 'pinned-list');
    body.append(list);
    const r = await conn.request({ type: 'pins', room: room.id });
    if (!r || r.type !== 'pins') {
      body.append(el('p', 'error', r ? r.message : t('not_connected')));
      return;
    }
    if (!r.messages.length) body.append(el('p', 'muted', t('pins_none')));
    for (const m of r.messages) {
      const li = el('li', 'pinned-item');
      li.dataset.id = m.id;
      const open = button(null, 'pinned-open', () => {
        close();
        onJump(m);
      });
      open.append(strongAuthor(m.user), el('span', 'pinned-text', m.text || ''));
      li.append(open);
      if (canModerate) {
        li.append(button(t('pins_unpin'), 'secondary small', async () => {
          const u = await conn.request({ type: 'pin', room: room.id, id: m.id, on: false });
          if (u && u.type === 'ok') li.remove();
          else announce(t('pins_not_unpinned', { why: u ? u.message : t('not_connected_short') }));
        }));
      }
      list.append(li);
    }
  });
}

// People the client can suggest: the server's directory (`users`), every
// account the person may see, a few pages at most.
async function directory(conn) {
  const people = [];
  let after;
  for (let page = 0; page < 10; page++) {
    const r = await conn.request(after ? { type: 'users', limit: 100, after } : { type: 'users', limit: 100 });
    if (!r || r.type !== 'users') break;
    for (const u of r.users) {
      people.push(u);
      if (u.presence && !state.presence.has(u.id)) state.presence.set(u.id, u.presence);
    }
    if (!r.more || !r.users.length) break;
    after = r.users[r.users.length - 1].name;
  }
  return people.filter((p) => !state.me || p.id !== state.me.id);
}

// "New message": pick one or more people (up to the server's group DM
// size), then open the conversation.
export function groupDM(conn, onCreated) {
  const max = (state.server && state.server.limits && state.server.limits.group_dm_max) || 8;
  modal(t('dm_title'), (body, close) => {
    const picked = new Map();
    const f = el('form', 'form');
    const chips = el('ul', 'chips');
    chips.setAttribute('aria-label', t('dm_people'));
    const who = el('input');
    who.name = 'people';
    who.placeholder = t('dm_placeholder');
    who.autocomplete = 'off';
    who.setAttribute('aria-label', t('dm_add_person'));
    const suggestions = el('ul', 'suggestions');
    suggestions.setAttribute('role', 'listbox');
    const err = el('p', 'error');
    err.setAttribute('role', 'alert');
    const submit = el('button', null, t('dm_open'));
    submit.type = 'submit';
    f.append(chips, who, suggestions, err, submit);
    body.append(f);
    let people = [];
    directory(conn).then((list) => {
      people = list;
      who.dispatchEvent(new Event('input')); // suggest for what was typed meanwhile
    });

    const drawChips = () => {
      chips.replaceChildren();
      for (const p of picked.values()) {
        const li = el('li', 'chip', p.name);
        li.append(button('×', 'icon', () => {
          picked.delete(p.id);
          drawChips();
        }, t('dm_remove', { name: p.name })));
        chips.append(li);
      }
    };
    const pick = (p) => {
      if (picked.size + 1 >= max) {
        err.textContent = t('dm_too_many', { max: formatNumber(max) });
        return;
      }
      picked.set(p.id, p);
      who.value = '';
      suggestions.replaceChildren();
      drawChips();
      who.focus();
    };
    who.addEventListener('input', () => {
      err.textContent = '';
      const q = who.value.trim().replace(/^@/, '').toLowerCase();
      suggestions.replaceChildren();
      if (!q) return;
      const hits = people.filter((p) => !picked.has(p.id) &&
        (p.name.toLowerCase().includes(q) || (p.display_name || '').toLowerCase().includes(q))).slice(0, 8);
      for (const p of hits) {
        const li = el('li');
        li.setAttribute('role', 'option');
        const label = el('button', 'suggestion', p.name);
        label.type = 'button';
        label.addEventListener('click', () => pick(p));
        if (p.display_name && p.display_name !== p.name) label.append(el('span', 'muted', ` (${p.display_name})`));
        li.append(label);
        suggestions.append(li);
      }
    });
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      // Enter with a typed name and no pick: take the first suggestion.
      const first = suggestions.querySelector('button');
      if (who.value.trim() && first) first.click();
      if (!picked.size) {
        err.textContent = t('dm_pick_one');
        return;
      }
      const r = await conn.request({ type: 'dm', users: [...picked.keys()] });
      if (r && r.type === 'room') {
        close();
        onCreated(r.room.id, r.room);
      } else err.textContent = r ? r.message : t('not_connected');
    });
  });
}
