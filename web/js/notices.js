// Notices: answers only this person sees (/help, a script's ephemeral
// reply). Never stored, so they are shown above a composer until
// dismissed, not in the message list: a command typed in a thread is
// answered above the thread's composer while that thread is open, and
// above the room's otherwise.
import { $, el, button, announce } from './dom.js';
import { state } from './state.js';
import { t } from './i18n.js';

const held = new Map(); // room id -> [{text, thread}]
let openThread = () => null; // {room, root} of the thread panel, or null

// Tells the notices which thread the panel shows (a function read on
// each render).
export function noticesFollowThread(fn) {
  openThread = fn;
}

function shownInThread(room, n) {
  const open = openThread();
  return !!(open && n.thread && open.room === room && open.root === n.thread);
}

export function onNotice(f) {
  if (!f || !f.room || typeof f.text !== 'string') return;
  const list = held.get(f.room) || [];
  const n = { text: f.text, thread: typeof f.thread === 'string' ? f.thread : null };
  list.push(n);
  held.set(f.room, list.slice(-5));
  if (f.room === state.current || shownInThread(f.room, n)) announce(f.text);
  renderNotices();
}

function fill(box, room, items) {
  if (!box) return;
  box.replaceChildren();
  box.hidden = items.length === 0;
  for (const n of items) {
    const item = el('div', 'notice-item');
    item.append(el('pre', 'notice-text', n.text), button('×', 'icon close', () => {
      const list = held.get(room) || [];
      const at = list.indexOf(n);
      if (at >= 0) list.splice(at, 1);
      renderNotices();
    }, t('notice_dismiss')));
    box.append(item);
  }
}

export function renderNotices() {
  const room = state.current;
  const list = held.get(room) || [];
  fill($('notices'), room, list.filter((n) => !shownInThread(room, n)));
  const open = openThread();
  const inThread = open ? (held.get(open.room) || []).filter((n) => shownInThread(open.room, n)) : [];
  fill($('thread-notices'), open ? open.room : room, inThread);
}
