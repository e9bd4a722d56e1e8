// The room list: rooms and DMs, unread counts and mention badges,
// presence dots on DMs.
import { $, el, button } from './dom.js';
import { state } from './state.js';
import { presenceDot } from './presence.js';

export function renderSidebar(onSelect) {
  // Archived rooms leave the list (search and links still open them).
  const rooms = [...state.rooms.values()]
    .filter((r) => !r.archived || r.id === state.current)
    .sort((a, b) => a.name.localeCompare(b.name));
  fill($('rooms'), rooms.filter((r) => r.kind !== 'dm'), onSelect);
  fill($('dms'), rooms.filter((r) => r.kind === 'dm'), onSelect);
}

function fill(ul, rooms, onSelect) {
  ul.replaceChildren();
  for (const room of rooms) {
    const li = el('li');
    const b = button(null, 'room-link' + (room.id === state.current ? ' active' : ''), () => onSelect(room.id));
    b.dataset.room = room.id;
    if (room.id === state.current) b.setAttribute('aria-current', 'page');
    if (room.kind === 'dm') {
      b.append(room.user ? presenceDot(el, room.user.id) : el('span', 'dot'), el('span', 'room-name', room.name));
    } else {
      if (room.kind === 'private') {
        const lock = el('img', 'lock');
        lock.src = 'lock.svg';
        lock.alt = 'private';
        b.append(lock, el('span', 'room-name', room.name));
      } else b.append(el('span', 'room-name', '# ' + room.name));
    }
    const unread = room.id === state.current ? 0 : room.unread || 0;
    if (room.mentions > 0 && room.id !== state.current) {
      const badge = el('span', 'badge mention-badge', '@ ' + Math.max(unread, room.mentions));
      badge.title = room.mentions + ' mention' + (room.mentions > 1 ? 's' : '');
      b.append(badge);
      b.classList.add('unread');
    } else if (unread > 0 && room.notify !== 'none') {
      // Plain unread is grey; red is kept for mentions.
      b.append(el('span', 'badge plain', unread > 99 ? '99+' : String(unread)));
      b.classList.add('unread');
    }
    if (room.notify && room.notify !== 'all') {
      const bell = el('span', 'notify-mark', room.notify === 'none' ? '🔕' : '@');
      bell.title = room.notify === 'none' ? 'Notifications off' : 'Mentions only';
      b.append(bell);
    }
    let label = (room.kind === 'dm' ? 'Direct message with ' : 'Room ') + room.name;
    if (unread) label += `, ${unread} unread`;
    if (room.mentions) label += `, ${room.mentions} mentions`;
    b.setAttribute('aria-label', label);
    li.append(b);
    ul.append(li);
  }
}
