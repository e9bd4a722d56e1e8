// The audit log in the admin settings: who did what, when and from where,
// filtered by actor, action and date (GET /api/admin/audit), newest first,
// with "Older entries" paging.
import { el, button } from './dom.js';
import { getJSON } from './http.js';
import { fullTime } from './time.js';
import { t } from './i18n.js';

function field(text, input) {
  const l = el('label', null, text);
  l.append(input);
  return l;
}

function input(name, attrs = {}) {
  const i = el('input');
  i.name = name;
  Object.assign(i, attrs);
  return i;
}

function describe(e) {
  if (!e.detail) return '';
  return Object.entries(e.detail)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(', ');
}

// A date field's day as ms at local midnight (end: the next midnight).
function dayMs(value, end) {
  if (!value) return 0;
  const d = new Date(value + 'T00:00:00');
  if (end) d.setDate(d.getDate() + 1);
  return d.getTime();
}

export async function auditSection() {
  const s = el('section', 'settings-section');
  s.id = 'set-audit';
  s.setAttribute('aria-labelledby', 'set-audit-h');
  const h = el('h2', null, t('audit_title'));
  h.id = 'set-audit-h';
  s.append(h);

  const f = el('form', 'form row audit-filters');
  const actor = input('actor', { placeholder: t('audit_actor_placeholder'), autocomplete: 'off' });
  const action = input('action', { placeholder: t('audit_action_placeholder'), autocomplete: 'off' });
  const from = input('from', { type: 'date' });
  const to = input('to', { type: 'date' });
  const go = el('button', null, t('audit_filter'));
  go.type = 'submit';
  f.append(field(t('audit_actor'), actor), field(t('audit_action'), action), field(t('audit_from'), from),
    field(t('audit_to'), to), go);
  const err = el('p', 'error');
  err.setAttribute('role', 'alert');
  const table = el('table', 'audit');
  const head = el('tr');
  for (const c of [t('audit_col_when'), t('audit_col_who'), t('audit_col_action'), t('audit_col_target'),
    t('audit_col_details'), t('audit_col_from')]) head.append(el('th', null, c));
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  table.append(thead, tbody);
  const more = button(t('audit_older'), 'secondary', () => load(false));
  more.hidden = true;
  s.append(f, err, table, more);

  let before = 0;
  async function load(fresh) {
    if (fresh) {
      before = 0;
      tbody.replaceChildren();
    }
    const q = new URLSearchParams({ limit: '50' });
    if (actor.value.trim()) q.set('actor', actor.value.trim().replace(/^@/, ''));
    if (action.value.trim()) q.set('action', action.value.trim());
    if (from.value) q.set('since', String(dayMs(from.value, false)));
    if (to.value) q.set('until', String(dayMs(to.value, true)));
    if (before) q.set('before', String(before));
    err.textContent = '';
    const r = await getJSON('/api/admin/audit?' + q);
    if (!r.ok) {
      err.textContent = r.message;
      more.hidden = true;
      return;
    }
    for (const e of r.data.entries) {
      const tr = el('tr');
      tr.dataset.action = e.action;
      const when = el('td');
      const time = el('time', null, fullTime(e.ts));
      time.dateTime = new Date(e.ts).toISOString();
      when.append(time);
      tr.append(when, el('td', null, e.actor_name || e.actor || t('audit_server')),
        el('td', null, e.action), el('td', null, e.target || ''), el('td', null, describe(e)),
        el('td', null, e.client || ''));
      tbody.append(tr);
    }
    if (!tbody.children.length) {
      const tr = el('tr', 'empty');
      const td = el('td', 'muted', t('audit_none'));
      td.colSpan = 6;
      tr.append(td);
      tbody.append(tr);
    }
    more.hidden = !r.data.more;
    before = r.data.before || 0;
  }
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load(true);
  });
  await load(true);
  return s;
}
