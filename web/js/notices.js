// Notices: answers only this person sees (/help, a script's ephemeral
// reply). Never stored, so they are shown above the composer of their
// room until dismissed, not in the message list.
import { $, el, button, announce } from './dom.js';
import { state } from './state.js';
import { t } from './i18n.js';

const held = new Map(); // room id -> [text]

export function onNotice(f) {
  if (!f || !f.room || typeof f.text !== 'string') return;
  const list = held.get(f.room) || [];
  list.push(f.text);
  held.set(f.room, list.slice(-5));
  if (f.room === state.current) announce(f.text);
  renderNotices();
}

export function renderNotices() {
  const box = $('notices');
  if (!box) return;
  const list = held.get(state.current) || [];
  box.replaceChildren();
  box.hidden = list.length === 0;
  list.forEach((text, i) => {
    const n = el('div', 'notice-item');
    n.append(el('pre', 'notice-text', text), button('×', 'icon close', () => {
      list.splice(i, 1);
      renderNotices();
    }, t('notice_dismiss')));
    box.append(n);
  });
}
