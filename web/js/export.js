// The admin settings' export: GET /api/admin/export as a download (the
// session cookie authenticates it), with the CLI's filters: rooms, dates,
// pseudonyms and files. The server answers once the zip is built.
import { el } from './dom.js';

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
  const s = section('Export', 'set-export');
  s.append(el('p', 'muted', 'Messages as JSON lines in one zip, for archives and research '
    + '(docs/operations.md, "Export"). Pseudonyms replace people by stable hashes; '
    + 'message texts are not rewritten.'));
  const f = el('form', 'form');
  const rooms = el('input');
  rooms.name = 'rooms';
  rooms.placeholder = 'all rooms but direct messages';
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
  const go = el('button', null, 'Download export');
  go.type = 'submit';
  f.append(field('Rooms (names, comma-separated)', rooms), field('Since', since),
    field('Until', until), field('Pseudonymise people ', pseudo), field('With files ', files),
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
    status.textContent = 'The export downloads when the server has built it.';
  });
  s.append(f);
  return s;
}
