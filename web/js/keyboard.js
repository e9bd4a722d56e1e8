// Keyboard reading of the message list: Tab into the list focuses the
// newest message; ArrowUp/ArrowDown move between messages, Home/End go to
// the first/last one on screen, PageUp/PageDown jump by ten; Tab from a
// message goes through its actions (react, reply, edit, delete, shown
// while the message holds focus); Escape goes back to the composer.
// Only one message is in the tab order at a time (a roving tabindex).
const PAGE = 10;

export function wireMessageKeys(ol, composerBox) {
  ol.addEventListener('focus', (ev) => {
    // The list itself got focus (Tab from outside): hand it to a message.
    // Shift+Tab out of a message lands here too; that one passes through.
    const from = ev.relatedTarget;
    if (from && ol.contains(from) && from.matches('li.msg')) return;
    const rows = messageRows(ol);
    const target = rows.find((r) => r.tabIndex === 0) || rows[rows.length - 1];
    if (target) focusRow(ol, target);
  });
  ol.addEventListener('keydown', (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const row = ev.target.closest && ev.target.closest('li.msg');
    if (!row || ev.target !== row) {
      if (ev.key === 'Escape' && row) {
        ev.preventDefault();
        row.focus();
      }
      return;
    }
    const rows = messageRows(ol);
    const i = rows.indexOf(row);
    let next = null;
    if (ev.key === 'ArrowUp') next = rows[Math.max(0, i - 1)];
    else if (ev.key === 'ArrowDown') next = rows[Math.min(rows.length - 1, i + 1)];
    else if (ev.key === 'PageUp') next = rows[Math.max(0, i - PAGE)];
    else if (ev.key === 'PageDown') next = rows[Math.min(rows.length - 1, i + PAGE)];
    else if (ev.key === 'Home') next = rows[0];
    else if (ev.key === 'End') next = rows[rows.length - 1];
    else if (ev.key === 'Escape') {
      ev.preventDefault();
      composerBox.focus();
      return;
    } else return;
    ev.preventDefault();
    if (next) focusRow(ol, next);
  });
}

// The list re-renders as it scrolls and as messages arrive: the message
// that had focus gets it back (by seq), so keyboard reading is not lost.
export function rememberFocus(ol) {
  const a = document.activeElement;
  if (!a || !ol.contains(a)) return null;
  const row = a.closest('li.msg');
  return row ? { seq: row.dataset.seq, onRow: a === row } : null;
}

export function restoreFocus(ol, saved) {
  if (!saved) return;
  const row = ol.querySelector(`li.msg[data-seq="${saved.seq}"]`);
  if (row) focusRow(ol, row, true);
}

function messageRows(ol) {
  return [...ol.querySelectorAll('li.msg[data-seq]')];
}

function focusRow(ol, row, noScroll) {
  for (const r of ol.querySelectorAll('li.msg[tabindex="0"]')) r.tabIndex = -1;
  row.tabIndex = 0;
  row.focus({ preventScroll: !!noScroll });
  if (!noScroll) row.scrollIntoView({ block: 'nearest' });
}
