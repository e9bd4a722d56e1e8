// Small DOM helpers. Text always goes in through textContent: nothing a
// person wrote is ever parsed as HTML.
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

export function formatSize(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}
