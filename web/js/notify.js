// Telling the person something happened while they looked elsewhere: the
// unread count in the tab title, and a desktop notification on a mention
// or a DM while the tab is hidden (only after they allowed it; the
// Notification API needs a secure context, so on plain http over a LAN
// address it is simply absent and the title count remains).
import { state } from './state.js';
import { titleCount } from './follow.js';
import { t, formatNumber } from './i18n.js';
import { displayName } from './profile.js';

export function notificationsAvailable() {
  return typeof Notification !== 'undefined';
}

export function notificationsAllowed() {
  return notificationsAvailable() && Notification.permission === 'granted';
}

export async function askPermission() {
  if (!notificationsAvailable()) return 'unavailable';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

export function updateTitle() {
  let unread = 0;
  for (const r of state.rooms.values()) unread += titleCount(r);
  document.title = (unread ? `(${formatNumber(unread)}) ` : '') + 'parley';
}

// onOpen(roomId) switches to the room when the notification is clicked.
export function notifyMessage(room, m, onOpen) {
  if (!notificationsAllowed() || document.visibilityState === 'visible') return;
  const title = room.kind === 'dm' ? displayName(m.user) : t('notify_title_room', { name: displayName(m.user), room: room.name });
  try {
    const n = new Notification(title, { body: (m.text || '').slice(0, 200), tag: room.id });
    n.onclick = () => {
      window.focus();
      onOpen(room.id);
      n.close();
    };
  } catch { /* some platforms only allow service-worker notifications */ }
}
