// parley's first web page: sign in, register from an invite link, chat.
//
// One WebSocket per tab, authenticated by the HttpOnly session cookie that
// POST /api/login (or /api/register) sets: the token never reaches script.
// Rooms come from `ready`, a room's history is fetched when it is opened,
// live `message` events are appended. When the socket drops, it reconnects
// with exponential backoff and jitter and sends `resume` with the last seq
// held per room, so nothing is missed; unacked sends are resent with the
// same client_id (the server stores them once).
//
// Everything people wrote goes into the page with textContent, never as HTML.

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const HISTORY_PAGE = 50; // messages per history request (server max 100)
const KEEP_PER_ROOM = 1000; // messages kept in memory per room
const GROUP_GAP_MS = 5 * 60 * 1000; // same author within this: one group
const BOTTOM_SLACK_PX = 40; // "at the bottom" tolerance when new messages arrive

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  rooms: new Map(), // id -> room object as the server sent it
  msgs: new Map(), // room id -> messages sorted by seq
  more: new Map(), // room id -> older messages exist on the server
  current: null, // selected room id
  ws: null,
  ready: false, // the current socket got `ready`
  everReady: false, // some socket got `ready` since the page (re)signed in
  rid: 0,
  pending: new Map(), // rid -> resolve(reply or null)
  outbox: new Map(), // client_id -> {room, text, status, error}
  attempts: 0,
  timer: 0,
  signedOut: false,
  loadingOlder: false,
};

// ---------------------------------------------------------------- screens

function show(name) {
  for (const s of ['loading', 'login', 'register', 'forgot', 'reset', 'chat']) {
    $('screen-' + s).hidden = s !== name;
  }
}

function showLogin(message) {
  resetChat();
  $('login-error').textContent = message || '';
  show('login');
  $('login-form').elements.username.focus();
}

function inviteToken() {
  return new URLSearchParams(location.hash.slice(1)).get('invite');
}

function resetToken() {
  return new URLSearchParams(location.hash.slice(1)).get('reset');
}

// ---------------------------------------------------------------- HTTP

async function postJSON(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    return { ok: false, message: 'Cannot reach the server.' };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok) return { ok: true, data };
  let message = (data && data.error && data.error.message) || res.statusText;
  if (res.status === 429) {
    const after = res.headers.get('Retry-After');
    message = 'Too many attempts.' + (after ? ` Try again in ${after} s.` : '');
  }
  return { ok: false, status: res.status, message };
}

async function onLogin(ev) {
  ev.preventDefault();
  const f = ev.target;
  f.querySelector('button').disabled = true;
  const r = await postJSON('/api/login', {
    username: f.elements.username.value.trim(),
    password: f.elements.password.value,
  });
  f.querySelector('button').disabled = false;
  if (!r.ok) {
    $('login-error').textContent = r.status === 401 ? 'Wrong username or password.' : r.message;
    return;
  }
  f.reset();
  startSession();
}

async function onRegister(ev) {
  ev.preventDefault();
  const f = ev.target;
  const err = $('register-error');
  if (f.elements.password.value !== f.elements.password2.value) {
    err.textContent = 'The two passwords differ.';
    return;
  }
  f.querySelector('button').disabled = true;
  const r = await postJSON('/api/register', {
    invite: inviteToken(),
    username: f.elements.username.value.trim(),
    password: f.elements.password.value,
  });
  f.querySelector('button').disabled = false;
  if (!r.ok) {
    err.textContent = r.message;
    return;
  }
  f.reset();
  // The invite is spent: drop it from the address bar and history.
  history.replaceState(null, '', location.pathname + location.search);
  startSession();
}

function showForgot() {
  $('forgot-error').textContent = '';
  $('forgot-sent').hidden = true;
  show('forgot');
  $('forgot-form').elements.email.focus();
}

async function onForgot(ev) {
  ev.preventDefault();
  const f = ev.target;
  f.querySelector('button[type=submit]').disabled = true;
  const r = await postJSON('/api/password/forgot', { email: f.elements.email.value.trim() });
  f.querySelector('button[type=submit]').disabled = false;
  $('forgot-error').textContent = r.ok ? '' : r.message;
  $('forgot-sent').hidden = !r.ok;
}

async function onReset(ev) {
  ev.preventDefault();
  const f = ev.target;
  const err = $('reset-error');
  if (f.elements.password.value !== f.elements.password2.value) {
    err.textContent = 'The two passwords differ.';
    return;
  }
  f.querySelector('button').disabled = true;
  const r = await postJSON('/api/password/reset', {
    token: resetToken(),
    password: f.elements.password.value,
  });
  f.querySelector('button').disabled = false;
  if (!r.ok) {
    err.textContent = r.message;
    return;
  }
  f.reset();
  // The token is spent: drop it from the address bar and history.
  history.replaceState(null, '', location.pathname + location.search);
  showLogin('Your password is set: sign in with it.');
}

// The user's own settings (GET/POST /api/settings).
async function loadSettings() {
  try {
    const res = await fetch('/api/settings', { credentials: 'same-origin' });
    if (!res.ok) return;
    const { settings } = await res.json();
    $('email-digest').checked = settings.email_digest !== false;
  } catch { /* offline: the box keeps its state */ }
}

async function onDigestToggle(ev) {
  const box = ev.target;
  box.disabled = true;
  const r = await postJSON('/api/settings', { email_digest: box.checked });
  box.disabled = false;
  if (!r.ok) box.checked = !box.checked;
}

async function onLogout() {
  state.signedOut = true;
  await postJSON('/api/logout', {});
  if (state.ws) state.ws.close(1000);
  showLogin('');
}

// ---------------------------------------------------------------- socket

function wsUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
}

function request(frame) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve(null);
  frame.rid = ++state.rid;
  ws.send(JSON.stringify(frame));
  return new Promise((resolve) => state.pending.set(frame.rid, resolve));
}

function sendEvent(frame) {
  if (state.ws && state.ready) state.ws.send(JSON.stringify(frame));
}

function startSession() {
  state.signedOut = false;
  state.everReady = false;
  state.attempts = 0;
  $('screen-loading').firstElementChild.textContent = 'Connecting…';
  show('loading');
  connect();
}

function connect() {
  clearTimeout(state.timer);
  if (state.ws) return;
  const ws = new WebSocket(wsUrl(), 'parley.v1');
  state.ws = ws;
  state.ready = false;
  state.rid = 0;
  ws.onopen = () => authenticate(ws);
  ws.onmessage = (ev) => {
    if (state.ws === ws) onFrame(ev.data);
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.ready = false;
    for (const resolve of state.pending.values()) resolve(null);
    state.pending.clear();
    if (!state.signedOut) scheduleReconnect();
  };
}

async function authenticate(ws) {
  // The cookie authenticated the upgrade; the auth frame carries no token.
  const frame = { type: 'auth' };
  const resume = {};
  for (const [room, list] of state.msgs) {
    if (list.length) resume[room] = list[list.length - 1].seq;
  }
  if (Object.keys(resume).length) frame.resume = resume;
  const reply = await request(frame);
  if (state.ws !== ws || !reply) return;
  if (reply.type === 'ready') {
    onReady(reply);
  } else if (reply.code === 'unauthorized' || reply.code === 'forbidden') {
    state.signedOut = true;
    ws.close(1000);
    showLogin(state.everReady ? 'Your session ended; please sign in again.' : '');
  } else {
    ws.close(1000);
  }
}

function scheduleReconnect() {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** state.attempts);
  const delay = exp / 2 + Math.random() * (exp / 2); // jitter: no thundering herd
  state.attempts++;
  if (state.everReady) {
    $('banner').hidden = false;
  } else {
    show('loading');
    $('screen-loading').firstElementChild.textContent = 'Cannot reach the server, retrying…';
  }
  state.timer = setTimeout(connect, delay);
}

function onFrame(data) {
  let f;
  try {
    f = JSON.parse(data);
  } catch {
    return;
  }
  if (f.rid !== undefined && state.pending.has(f.rid)) {
    const resolve = state.pending.get(f.rid);
    state.pending.delete(f.rid);
    resolve(f);
    return;
  }
  switch (f.type) {
    case 'message':
      addMessages(f.room, [f], true);
      break;
    case 'message_edited':
    case 'message_deleted':
      patchMessage(f);
      break;
    case 'gap':
      // More was missed than resume replays: start that room afresh.
      state.msgs.delete(f.room);
      state.more.delete(f.room);
      if (f.room === state.current) loadHistory(f.room);
      break;
    case 'room_updated':
      upsertRoom(f.room);
      break;
    case 'read':
      onReadElsewhere(f);
      break;
    case 'member_joined':
      if (state.me && f.user && f.user.id === state.me.id && !state.rooms.has(f.room)) refreshRooms();
      break;
    case 'error':
      console.warn('parley:', f.code, f.message);
      break;
  }
}

// ---------------------------------------------------------------- state

function onReady(r) {
  state.ready = true;
  state.everReady = true;
  state.attempts = 0;
  state.me = r.user;
  $('banner').hidden = true;
  $('me-name').textContent = r.user.display_name || r.user.name;
  const rooms = new Map();
  for (const room of r.rooms) rooms.set(room.id, room);
  state.rooms = rooms;
  show('chat');
  if (!state.current || !rooms.has(state.current)) {
    const general = r.rooms.find((x) => x.name === 'general');
    state.current = general ? general.id : r.rooms.length ? r.rooms[0].id : null;
  }
  renderRooms();
  selectRoom(state.current);
  for (const cid of state.outbox.keys()) sendOutbox(cid);
  loadSettings();
}

function upsertRoom(room) {
  if (!room || !room.id) return;
  state.rooms.set(room.id, Object.assign(state.rooms.get(room.id) || {}, room));
  renderRooms();
  if (room.id === state.current) renderHeader();
}

async function refreshRooms() {
  const reply = await request({ type: 'rooms' });
  if (!reply || reply.type !== 'rooms') return;
  for (const room of reply.rooms || []) {
    if (!state.rooms.has(room.id)) upsertRoom(room);
  }
}

// live: events as they happen (they count as unread); else history pages.
function addMessages(roomId, messages, live) {
  let list = state.msgs.get(roomId);
  if (!list) {
    // Not opened yet: count it; its history comes when it is opened.
    list = [];
    state.msgs.set(roomId, list);
  }
  const room = state.rooms.get(roomId);
  // `ready` already counted what is at or below the last_seq it gave.
  const counted = room ? room.last_seq || 0 : 0;
  let fresh = 0;
  for (const m of messages) {
    const mine = state.me && m.user && m.user.id === state.me.id;
    if (live && m.seq > counted && !mine) fresh++;
    if (m.client_id) state.outbox.delete(m.client_id);
    const i = list.findIndex((x) => x.seq >= m.seq);
    if (i < 0) list.push(m);
    else if (list[i].seq === m.seq) list[i] = m;
    else list.splice(i, 0, m);
  }
  if (list.length > KEEP_PER_ROOM) {
    list.splice(0, list.length - KEEP_PER_ROOM);
    state.more.set(roomId, true);
  }
  if (!room) {
    if (live) refreshRooms(); // a room we were just added to
  } else if (list.length) {
    room.last_seq = Math.max(counted, list[list.length - 1].seq);
    if (fresh && !(roomId === state.current && document.visibilityState === 'visible')) {
      room.unread = (room.unread || 0) + fresh;
    }
  }
  renderRooms();
  if (roomId === state.current) {
    renderMessages();
    markRead(roomId);
  }
}

function patchMessage(f) {
  const list = state.msgs.get(f.room);
  const m = list && list.find((x) => x.id === f.id);
  if (!m) return;
  if (f.type === 'message_deleted') {
    m.deleted = true;
    delete m.text;
  } else {
    m.text = f.text;
    m.edited_ts = f.edited_ts;
  }
  if (f.room === state.current) renderMessages();
}

function onReadElsewhere(f) {
  const room = state.rooms.get(f.room);
  if (!room) return;
  room.read_seq = Math.max(room.read_seq || 0, f.seq);
  room.unread = Math.max(0, (room.last_seq || 0) - room.read_seq);
  renderRooms();
}

function markRead(roomId) {
  const room = state.rooms.get(roomId);
  const list = state.msgs.get(roomId);
  if (!room || !list || !list.length || document.visibilityState !== 'visible') return;
  const seq = list[list.length - 1].seq;
  room.unread = 0;
  if (seq > (room.read_seq || 0)) {
    room.read_seq = seq;
    sendEvent({ type: 'read', room: roomId, seq });
  }
  renderRooms();
}

async function loadHistory(roomId, before) {
  const frame = { type: 'history', room: roomId, limit: HISTORY_PAGE };
  if (before) frame.before = before;
  const reply = await request(frame);
  if (!reply || reply.type !== 'history') return;
  state.more.set(roomId, !!reply.more);
  addMessages(roomId, reply.messages || [], false);
}

function selectRoom(roomId) {
  state.current = roomId;
  renderRooms();
  renderHeader();
  renderMessages(true);
  if (!roomId) return;
  const list = state.msgs.get(roomId);
  // A room never opened (or only seen through live events) gets its history.
  if (!list || !state.more.has(roomId)) loadHistory(roomId);
  else markRead(roomId);
  $('text').focus();
}

// ---------------------------------------------------------------- sending

function newClientId() {
  // randomUUID needs a secure context; a LAN address over plain http is not.
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (crypto.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function onCompose(ev) {
  ev.preventDefault();
  const box = $('text');
  const text = box.value.trim();
  if (!text || !state.current) return;
  const cid = newClientId();
  state.outbox.set(cid, { room: state.current, text, status: 'sending' });
  box.value = '';
  renderMessages(true);
  sendOutbox(cid);
}

async function sendOutbox(cid) {
  const item = state.outbox.get(cid);
  if (!item || !state.ready) return;
  const reply = await request({ type: 'send', room: item.room, text: item.text, client_id: cid });
  if (!reply || !state.outbox.has(cid)) return; // disconnected: resent after `ready`
  if (reply.type === 'ack') {
    // The `message` event removes it; a slash command makes none.
    if (reply.command) state.outbox.delete(cid);
    else item.status = 'sent';
  } else {
    item.status = 'failed';
    item.error = reply.message || reply.code;
  }
  if (item.room === state.current) renderMessages();
}

// ---------------------------------------------------------------- rendering

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function roomLabel(room) {
  return room.kind === 'dm' ? '@ ' + room.name : '# ' + room.name;
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  const rooms = [...state.rooms.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const room of rooms) {
    const li = el('li');
    const b = el('button', 'room-link' + (room.id === state.current ? ' active' : ''));
    b.type = 'button';
    b.append(el('span', 'room-name', roomLabel(room)));
    if (room.unread > 0 && room.id !== state.current) {
      b.append(el('span', 'badge', room.unread > 99 ? '99+' : String(room.unread)));
      b.classList.add('unread');
    }
    b.addEventListener('click', () => selectRoom(room.id));
    li.append(b);
    ul.append(li);
  }
}

function renderHeader() {
  const room = state.rooms.get(state.current);
  $('room-name').textContent = room ? roomLabel(room) : '';
  $('room-topic').textContent = room ? room.topic || '' : '';
}

function formatTime(ts) {
  const d = new Date(ts);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return time;
  return d.toLocaleDateString() + ' ' + time;
}

function renderMessages(toBottom) {
  const ol = $('messages');
  const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < BOTTOM_SLACK_PX;
  const list = state.msgs.get(state.current) || [];
  ol.replaceChildren();
  if (state.more.get(state.current)) ol.append(el('li', 'older muted', 'Scroll up for older messages'));
  let group = null;
  let last = null;
  for (const m of list) {
    const uid = m.user ? m.user.id : '';
    if (!last || last.uid !== uid || m.ts - last.ts > GROUP_GAP_MS) {
      group = el('li', 'group');
      const head = el('div', 'group-head');
      head.append(el('span', 'author', m.user ? m.user.name : '?'));
      const t = el('time', 'muted', formatTime(m.ts));
      t.dateTime = new Date(m.ts).toISOString();
      head.append(t);
      group.append(head);
      ol.append(group);
    }
    last = { uid, ts: m.ts };
    const body = el('div', 'text');
    if (m.deleted) {
      body.classList.add('deleted');
      body.textContent = 'message deleted';
    } else {
      body.textContent = m.text;
      if (m.edited_ts) body.append(el('span', 'muted edited', ' (edited)'));
    }
    group.append(body);
  }
  for (const item of state.outbox.values()) {
    if (item.room !== state.current) continue;
    const li = el('li', 'group ' + item.status);
    li.append(el('div', 'text', item.text));
    if (item.status === 'failed') li.append(el('div', 'error', 'Not sent: ' + item.error));
    ol.append(li);
  }
  if (toBottom || atBottom) ol.scrollTop = ol.scrollHeight;
}

async function onScroll() {
  const ol = $('messages');
  const roomId = state.current;
  if (ol.scrollTop > 0 || state.loadingOlder || !state.more.get(roomId)) return;
  const list = state.msgs.get(roomId);
  if (!list || !list.length) return;
  state.loadingOlder = true;
  const fromBottom = ol.scrollHeight - ol.scrollTop;
  await loadHistory(roomId, list[0].seq);
  ol.scrollTop = ol.scrollHeight - fromBottom; // keep what was on screen in place
  state.loadingOlder = false;
}

function resetChat() {
  clearTimeout(state.timer);
  state.me = null;
  state.rooms = new Map();
  state.msgs = new Map();
  state.more = new Map();
  state.outbox = new Map();
  state.current = null;
  $('banner').hidden = true;
  $('rooms').replaceChildren();
  $('messages').replaceChildren();
}

// ---------------------------------------------------------------- start

function main() {
  $('login-form').addEventListener('submit', onLogin);
  $('register-form').addEventListener('submit', onRegister);
  $('logout').addEventListener('click', onLogout);
  $('forgot-open').addEventListener('click', showForgot);
  $('forgot-back').addEventListener('click', () => showLogin(''));
  $('forgot-form').addEventListener('submit', onForgot);
  $('reset-form').addEventListener('submit', onReset);
  $('email-digest').addEventListener('change', onDigestToggle);
  $('composer').addEventListener('submit', onCompose);
  $('text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) onCompose(ev);
  });
  $('messages').addEventListener('scroll', onScroll);
  document.addEventListener('visibilitychange', () => {
    if (state.current) markRead(state.current);
  });
  window.addEventListener('online', () => {
    if (!state.ws && !state.signedOut && state.everReady) connect();
  });
  window.addEventListener('hashchange', () => {
    if (inviteToken()) show('register');
    else if (resetToken()) show('reset');
  });
  if (inviteToken()) {
    show('register');
    return;
  }
  if (resetToken()) {
    show('reset');
    return;
  }
  startSession();
}

main();
