// The small emoji picker for reactions: a fixed set, no fonts or images
// to load (the system's emoji font draws them).
import { el, button } from './dom.js';
import { t } from './i18n.js';

export const EMOJI = ['👍', '👎', '😄', '🎉', '❤️', '🙏', '👀', '🚀', '🤔', '😢', '✅', '❌', '🔥', '💯', '👏', '😮'];

let open = null;

export function closePicker() {
  if (open) open.remove();
  open = null;
}

// Opens next to anchor; pick(emoji) is called with the choice.
export function openPicker(anchor, pick) {
  closePicker();
  const box = el('div', 'emoji-picker');
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', t('emoji_pick'));
  for (const e of EMOJI) {
    box.append(button(e, 'emoji', () => {
      closePicker();
      pick(e);
    }, t('emoji_react_with', { emoji: e })));
  }
  document.body.append(box);
  const r = anchor.getBoundingClientRect();
  const w = box.offsetWidth;
  box.style.left = Math.max(8, Math.min(window.innerWidth - w - 8, r.right - w)) + 'px';
  box.style.top = Math.max(8, r.top - box.offsetHeight - 4) + 'px';
  open = box;
  box.querySelector('button').focus();
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.stopPropagation();
      closePicker();
      anchor.focus();
    }
  });
}

document.addEventListener('mousedown', (ev) => {
  if (open && !open.contains(ev.target)) closePicker();
});
