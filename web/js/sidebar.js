// The room list: rooms and DMs, unread counts and mention badges,
// presence dots on DMs.
import { $, el, button } from './dom.js';
import { state } from './state.js';
import { presenceDot } from './presence.js';
import { t, tn, formatNumber } from './i18n.js';

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
        lock.alt = t('sidebar_private');
        b.append(lock, el('span', 'room-name', room.name));
      } else b.append(el('span', 'room-name', '# ' + room.name));
    }
    const unread = room.id === state.current ? 0 : room.unread || 0;
    if (room.mentions > 0 && room.id !== state.current) {
      const badge = el('span', 'badge mention-badge', '@ ' + formatNumber(Math.max(unread, room.mentions)));
      badge.title = tn('sidebar_mentions', room.mentions);
      b.append(badge);
      b.classList.add('unread');
    } else if (unread > 0 && room.notify !== 'none') {
      // Plain unread is grey; red is kept for mentions.
      b.append(el('span', 'badge plain', unread > 99 ? t('sidebar_unread_many', { n: formatNumber(99) }) : formatNumber(unread)));
      b.classList.add('unread');
    }
    if (room.notify && room.notify !== 'all') {
      const bell = el('span', 'notify-mark', room.notify === 'none' ? '🔕' : '@');
      bell.title = room.notify === 'none' ? t('sidebar_notify_off') : t('level_mentions');
      b.append(bell);
    }
    let label = room.kind === 'dm' ? t('sidebar_dm_label', { name: room.name }) : t('sidebar_room_label', { room: room.name });
    if (unread) label += ', ' + tn('sidebar_unread', unread);
    if (room.mentions) label += ', ' + tn('sidebar_mentions', room.mentions);
    b.setAttribute('aria-label', label);
    li.append(b);
    ul.append(li);
  }
}
