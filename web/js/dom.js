// Small DOM helpers. Text always goes in through textContent: nothing a
// person wrote is ever parsed as HTML.
import { t, formatNumber } from './i18n.js';

export const $ = (id) => document.getElementById(id);

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

export function button(label, cls, onClick, title) {
  const b = el('button', cls, label);
  b.type = 'button';
  if (title) {
    b.title = title;
    b.setAttribute('aria-label', title);
  }
  if (onClick) b.addEventListener('click', onClick);
  return b;
}

// A visually hidden polite live region: new messages are announced once,
// even though the message list itself is re-rendered as it scrolls.
export function announce(text) {
  const live = $('announcer');
  if (!live) return;
  live.textContent = '';
  setTimeout(() => (live.textContent = text), 50);
}

const ONE_DECIMAL = { minimumFractionDigits: 1, maximumFractionDigits: 1 };

export function formatSize(n) {
  if (n < 1024) return t('size_bytes', { n: formatNumber(n) });
  if (n < 1024 * 1024) return t('size_kb', { n: formatNumber(n / 1024, ONE_DECIMAL) });
  return t('size_mb', { n: formatNumber(n / 1024 / 1024, ONE_DECIMAL) });
}
