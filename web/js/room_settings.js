// A room's settings for its owners (and admins): name, archived, who may
// post, invite and pin, message retention, members' roles; admins may
// delete the room. Each change goes out as one `room_settings` (or
// `member_role`, `delete_room`) request; the server's room_updated,
// member_updated and room_deleted events update every open client.
import { el, button } from './dom.js';
import { state, roomLabel } from './state.js';
import { modal, confirmDialog, roomRoleName } from './dialogs.js';
import { t } from './i18n.js';

const ROLES = ['member', 'moderator', 'owner'];

function who() {
  return [['members', t('room_who_members')], ['moderators', t('room_who_moderators')]];
}

// Owners of the room and admins run it; DMs have no settings.
export function mayRunRoom(room) {
  if (!room || room.kind === 'dm') return false;
  return room.role === 'owner' || !!(state.me && state.me.role === 'admin');
}

function labelled(text, input) {
  const l = el('label', null, text);
  l.append(input);
  return l;
}

function whoSelect(name, current) {
  const s = el('select');
  s.name = name;
  for (const [v, text] of who()) {
    const o = el('option', null, text);
    o.value = v;
    if (v === current) o.selected = true;
    s.append(o);
  }
  return s;
}

export function roomSettings(conn, room) {
  modal(t('room_settings_title', { room: roomLabel(room) }), (body, close) => {
    const f = el('form', 'form room-settings');
    const name = el('input');
    name.name = 'name';
    name.value = room.name;
    name.required = true;
    const archived = el('input');
    archived.type = 'checkbox';
    archived.name = 'archived';
    archived.checked = !!room.archived;
    const arch = el('label', 'check');
    arch.append(archived, document.createTextNode(' ' + t('room_archived')));
    const post = whoSelect('may_post', room.may_post || 'members');
    const invite = whoSelect('may_invite', room.may_invite || 'members');
    const pin = whoSelect('may_pin', room.may_pin || 'moderators');
    const retention = el('input');
    retention.name = 'retention';
    retention.placeholder = t('room_retention_placeholder');
    if (room.retention) retention.value = room.retention + 's';
    const err = el('p', 'error');
    err.setAttribute('role', 'alert');
    const ok = el('p', 'ok');
    ok.setAttribute('role', 'status');
    const save = el('button', null, t('room_save'));
    save.type = 'submit';
    f.append(labelled(t('room_name'), name), arch, labelled(t('room_may_post'), post),
      labelled(t('room_may_invite'), invite), labelled(t('room_may_pin'), pin),
      labelled(t('room_retention'), retention), err, ok, save);
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      ok.textContent = '';
      const req = {
        type: 'room_settings', room: room.id, archived: archived.checked,
        may_post: post.value, may_invite: invite.value, may_pin: pin.value,
      };
      if (name.value.trim() !== room.name) req.name = name.value.trim();
      if (retention.value.trim()) req.retention = retention.value.trim();
      save.disabled = true;
      const r = await conn.request(req);
      save.disabled = false;
      if (r && r.type === 'room') {
        Object.assign(room, r.room);
        ok.textContent = t('saved');
      } else err.textContent = r ? r.message : t('not_connected');
    });
    body.append(f);

    body.append(el('h3', null, t('room_roles')));
    const ul = el('ul', 'plain-list member-roles');
    body.append(ul);
    const roleErr = el('p', 'error');
    roleErr.setAttribute('role', 'alert');
    body.append(roleErr);
    const draw = async () => {
      const r = await conn.request({ type: 'members', room: room.id, limit: 500 });
      ul.replaceChildren();
      if (!r || r.type !== 'members') return;
      for (const m of r.members) {
        const li = el('li', 'row');
        li.dataset.user = m.name;
        li.append(el('span', 'grow', m.name));
        const s = el('select');
        s.setAttribute('aria-label', t('users_role_of', { name: m.name }));
        for (const role of ROLES) {
          const o = el('option', null, roomRoleName(role));
          o.value = role;
          if (role === m.role) o.selected = true;
          s.append(o);
        }
        s.addEventListener('change', async () => {
          roleErr.textContent = '';
          const x = await conn.request({ type: 'member_role', room: room.id, user: m.id, role: s.value });
          if (!x || x.type !== 'ok') {
            roleErr.textContent = x ? x.message : t('not_connected');
            s.value = m.role;
          } else m.role = s.value;
        });
        li.append(s);
        ul.append(li);
      }
    };
    draw();

    if (state.me && state.me.role === 'admin') {
      const delErr = el('p', 'error');
      delErr.setAttribute('role', 'alert');
      body.append(el('h3', null, t('room_delete_title')), el('p', 'muted', t('room_delete_intro')),
      button(t('room_delete'), 'danger', async () => {
        if (!(await confirmDialog(t('room_delete_confirm', { room: roomLabel(room) })))) return;
        const r = await conn.request({ type: 'delete_room', room: room.id });
        if (r && r.type === 'ok') close();
        else delErr.textContent = r ? r.message : t('not_connected');
      }), delErr);
    }
  });
}
