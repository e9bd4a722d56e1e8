// Presence: this tab tells the server when the person is away (the tab is
// hidden, or no input for IDLE_MS) and back; the server shows "away" only
// when every session of theirs says so. Dots: green online, hollow amber
// away, hollow grey offline.
import { state } from './state.js';
import { t } from './i18n.js';

const IDLE_MS = 5 * 60 * 1000;
const ACTIVITY = ['pointerdown', 'keydown', 'wheel', 'touchstart', 'mousemove', 'focus'];

let conn = null;
let sent = 'online'; // what the server last heard from this tab
let idleTimer = null;

function want() {
  return document.visibilityState === 'hidden' || idleTimer === null ? 'away' : 'online';
}

function tell() {
  const status = want();
  if (status === sent || !conn || !conn.ready) return;
  sent = status;
  conn.send({ type: 'presence', status });
}

function active() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = null;
    tell();
  }, IDLE_MS);
  if (sent !== 'online') tell();
}

// Starts watching input and visibility for conn (once per page).
export function watchPresence(connection) {
  conn = connection;
  for (const ev of ACTIVITY) window.addEventListener(ev, active, { passive: true, capture: true });
  document.addEventListener('visibilitychange', tell);
  active();
}

// A new connection starts online at the server: say "away" again if so.
export function presenceReady(r) {
  sent = 'online';
  state.presence = new Map(Object.entries((r && r.presence) || {}));
  if (state.me) state.presence.set(state.me.id, 'online');
  tell();
}

export function presenceOf(id, fallback) {
  return state.presence.get(id) || fallback || 'offline';
}

// The dot shown beside a person's name.
export function presenceDot(el, id, fallback) {
  const p = presenceOf(id, fallback);
  const dot = el('span', 'dot' + (p === 'offline' ? '' : ' ' + p));
  dot.title = { online: t('presence_online'), away: t('presence_away'), offline: t('presence_offline') }[p] || p;
  return dot;
}
