// Message search (Ctrl/Cmd+F): a dialog that asks the server's `search`
// as one types, lists the hits with the query's words highlighted, pages
// with the server's cursor, and opens a hit in its room with the messages
// around it. The words are highlighted the way the server folds them (case
// and Latin diacritics ignored), so "creme" marks "Crème".
import { el, button } from './dom.js';
import { modal } from './dialogs.js';
import { state, roomLabel } from './state.js';
import { timeOf, dayLabel } from './time.js';
import { t, tn } from './i18n.js';
import { authorLabel } from './profile.js';

const DEBOUNCE_MS = 250;
const PAGE = 20;

// Lower case without diacritics, as include/parley/search_fold.h does for
// Latin letters.
export function fold(s) {
  return s.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}

// The words and prefixes of a query to highlight: from:/in: dropped,
// quotes and the '*' of a prefix understood.
export function queryTerms(q) {
  const terms = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m;
  while ((m = re.exec(q))) {
    if (m[2] && /^(from|in):/i.test(m[2])) continue;
    const raw = m[1] !== undefined ? m[1] : m[2];
    const prefix = m[2] !== undefined && raw.endsWith('*');
    const words = fold(raw).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    words.forEach((w, i) => terms.push({ word: w, prefix: prefix && i === words.length - 1 }));
  }
  return terms;
}

// text as DOM nodes, the words matching terms in <mark>.
export function highlight(text, terms) {
  const frag = document.createDocumentFragment();
  const re = /[\p{L}\p{N}]+/gu;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    const w = fold(m[0]);
    if (!terms.some((term) => (term.prefix ? w.startsWith(term.word) : w === term.word))) continue;
    if (m.index > last) frag.append(document.createTextNode(text.slice(last, m.index)));
    frag.append(el('mark', null, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

// Opens the dialog; onOpen(message) is called with the hit chosen.
export function openSearch(conn, onOpen) {
  if (document.querySelector('dialog[open]')) return;
  const d = modal(t('search_title'), (body, close) => {
    const form = el('form', 'search-form');
    const q = el('input');
    q.type = 'text'; // not 'search': there Esc clears the field instead of closing
    q.setAttribute('role', 'searchbox');
    q.name = 'q';
    q.placeholder = t('search_placeholder');
    q.autocomplete = 'off';
    q.setAttribute('aria-label', t('search_title'));
    const sort = el('select');
    sort.name = 'sort';
    sort.setAttribute('aria-label', t('search_order'));
    for (const [v, label] of [['relevance', t('search_best')], ['recent', t('search_newest')]]) {
      const o = el('option', null, label);
      o.value = v;
      sort.append(o);
    }
    form.append(q, sort);
    const status = el('p', 'muted search-status');
    status.setAttribute('role', 'status');
    const ul = el('ul', 'search-results');
    ul.setAttribute('aria-label', t('search_results'));
    const more = button(t('search_more'), 'secondary search-more', () => ask(true));
    more.hidden = true;
    body.append(form, status, ul, more);

    let timer = null;
    let asked = 0; // answers to older questions are dropped
    let cursor = null;
    const ask = async (next) => {
      const text = q.value.trim();
      const mine = ++asked;
      if (!text) {
        ul.replaceChildren();
        status.textContent = '';
        delete status.dataset.answered;
        more.hidden = true;
        return;
      }
      const req = { type: 'search', query: text, sort: sort.value, limit: PAGE };
      if (next && cursor) req.cursor = cursor;
      status.textContent = t('search_searching');
      const r = await conn.request(req);
      if (mine !== asked) return;
      status.dataset.answered = text; // which question the list answers
      if (!r || r.type !== 'search') {
        status.textContent = r && r.message ? r.message : t('search_unavailable');
        if (!next) ul.replaceChildren();
        more.hidden = true;
        return;
      }
      const terms = queryTerms(text);
      if (!next) ul.replaceChildren();
      for (const m of r.messages || []) ul.append(row(m, terms));
      cursor = r.more ? r.cursor : null;
      more.hidden = !r.more;
      const n = ul.children.length;
      status.textContent = !n ? t('search_none') : r.more ? tn('search_count_more', n) : tn('search_count', n);
    };
    const row = (m, terms) => {
      const li = el('li', 'search-hit');
      const room = state.rooms.get(m.room);
      const head = el('div', 'msg-head');
      head.append(authorLabel(m.user),
        el('span', 'muted', (room ? roomLabel(room) : m.room) + ' · ' + t('search_when', { day: dayLabel(m.ts), time: timeOf(m.ts) })));
      const b = el('button', 'search-open');
      b.type = 'button';
      b.append(head, el('div', 'text'));
      b.lastChild.append(highlight(m.text || '', terms));
      b.addEventListener('click', () => {
        close();
        onOpen(m);
      });
      li.append(b);
      return li;
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(timer);
      ask(false);
    });
    q.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => ask(false), DEBOUNCE_MS);
    });
    sort.addEventListener('change', () => ask(false));
  });
  d.classList.add('search-dialog');
}
