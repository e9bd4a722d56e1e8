// The admin settings' export: GET /api/admin/export as a download (the
// session cookie authenticates it), with the CLI's filters: rooms, dates,
// pseudonyms and files. The server answers once the zip is built.
import { el } from './dom.js';
import { t } from './i18n.js';

function field(label, input) {
  const l = el('label', null, label);
  l.append(input);
  return l;
}

export function exportUrl({ rooms, since, until, pseudonymise, withFiles }) {
  const q = new URLSearchParams();
  for (const r of (rooms || '').split(',').map((s) => s.trim()).filter(Boolean)) q.append('room', r);
  if (since) q.set('since', since);
  if (until) q.set('until', until);
  if (pseudonymise) q.set('pseudonymise', '1');
  if (withFiles) q.set('with_files', '1');
  const s = q.toString();
  return '/api/admin/export' + (s ? '?' + s : '');
}

export function exportSection(section) {
  const s = section(t('export_title'), 'set-export');
  s.append(el('p', 'muted', t('export_intro')));
  const f = el('form', 'form');
  const rooms = el('input');
  rooms.name = 'rooms';
  rooms.placeholder = t('export_rooms_placeholder');
  const since = el('input');
  since.type = 'date';
  since.name = 'since';
  const until = el('input');
  until.type = 'date';
  until.name = 'until';
  const pseudo = el('input');
  pseudo.type = 'checkbox';
  pseudo.name = 'pseudonymise';
  const files = el('input');
  files.type = 'checkbox';
  files.name = 'with_files';
  const status = el('p', 'ok');
  status.setAttribute('role', 'status');
  const go = el('button', null, t('export_download'));
  go.type = 'submit';
  f.append(field(t('export_rooms'), rooms), field(t('export_since'), since),
    field(t('export_until'), until), field(t('export_pseudonymise') + ' ', pseudo), field(t('export_with_files') + ' ', files),
    status, go);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = el('a');
    a.href = exportUrl({ rooms: rooms.value, since: since.value, until: until.value,
      pseudonymise: pseudo.checked, withFiles: files.checked });
    a.download = '';
    document.body.append(a);
    a.click();
    a.remove();
    status.textContent = t('export_started');
  });
  s.append(f);
  return s;
}
