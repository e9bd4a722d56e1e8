// parley's web client: wires the modules together. The flow:
//   sign in (auth.js) → one WebSocket (connection.js) → `ready` fills the
//   state (state.js) → the sidebar, the message list and the composer draw
//   from it; live events update it; the outbox (outbox.js) holds every
//   message until the server acknowledged it, across reconnects and reloads.
import { $, announce } from './dom.js';
import { getJSON, postJSON } from './http.js';
import { Connection } from './connection.js';
import {
  state, roomMessages, hasMessages, lastSeqHeld, mergeMessages, lowerBound,
  findMessage, forgetMessages, pruneMessages, resumeMap, resetState, roomLabel, isModerator,
} from './state.js';
import * as outbox from './outbox.js';
import { MessageList } from './messages.js';
import { Composer } from './composer.js';
import { renderSidebar } from './sidebar.js';
import { quickSwitcher, browseRooms, createRoom, roomInfo, confirmDialog } from './dialogs.js';
import { roomSettings, mayRunRoom } from './room_settings.js';
import { onNotice, renderNotices, noticesFollowThread } from './notices.js';
import { openPicker } from './emoji.js';
import { updateTitle, notifyMessage, notificationsAvailable, askPermission } from './notify.js';
import { show, showLogin, wireAuth, linkScreen } from './auth.js';
import { renderSettings } from './admin.js';
import { newClientId } from './ids.js';
import { applyPin, levelAllows, levelSelect, pinnedPanel, groupDM } from './follow.js';
import { wireMessageKeys } from './keyboard.js';
import { registerOfflineShell } from './offline-shell.js';
import { t, tn, loadStrings, formatNumber } from './i18n.js';
import { openSearch } from './search.js';
import { watchPresence, presenceReady } from './presence.js';
import { applyProfile, onProfilesLoaded, displayName } from './profile.js';
import { ThreadPanel, inTimeline } from './threads.js';

const HISTORY_PAGE = 50;
const OLDER_PAGE = 100; // the server's maximum
const TYPING_SHOW_MS = 6000;
const HIT_CONTEXT = 20; // messages shown before and after a search hit

let flushing = false;
let onSettings = false;

const conn = new Connection({
  resume: resumeMap,
  onReady,
  onEvent,
  onState,
});
watchPresence(conn);
onProfilesLoaded(() => list.refresh(false));

const list = new MessageList($('messages'), $('jump'), {
  loadOlder,
  online: () => conn.ready,
  onRead: markRead,
  mentionTests: {
    isMe: (name) => !!state.me && name.toLowerCase() === state.me.name.toLowerCase(),
    isKnown: () => true,
  },
  actions: {
    reply: (m) => composer.setMode({ reply: m }),
    edit: (m) => composer.setMode({ edit: m }),
    del: async (m) => {
      if (await confirmDialog(t('message_delete_confirm'))) {
        const r = await conn.request({ type: 'delete', room: state.current, id: m.id });
        if (r && r.type === 'error') announce(t('message_not_deleted', { why: r.message }));
      }
    },
    react: (m, emoji, on) => conn.request({ type: 'react', room: state.current, id: m.id, emoji, on }),
    pick: (m, anchor) => openPicker(anchor, (emoji) => {
      const users = (m.reactions && m.reactions[emoji]) || [];
      conn.request({ type: 'react', room: state.current, id: m.id, emoji, on: !users.includes(state.me.id) });
    }),
    canModerate: () => isModerator(state.rooms.get(state.current)),
    canPin: () => {
      const room = state.rooms.get(state.current);
      return !!room && (isModerator(room) || room.kind === 'dm');
    },
    pin: async (m) => {
      const room = state.rooms.get(state.current);
      const on = !(room && room.pins && room.pins.includes(m.id));
      const r = await conn.request({ type: 'pin', room: state.current, id: m.id, on });
      if (r && r.type === 'error') announce(t('message_not_pinned', { why: r.message }));
    },
    retry: (cid) => {
      outbox.update(cid, { status: 'pending', error: null }).then(flush);
      list.refresh(false);
    },
    discard: (cid) => outbox.remove(cid).then(() => list.refresh(false)),
    openThread: (m) => threads.open(state.current, m),
  },
});

const threads = new ThreadPanel(conn, {
  onChange: () => list.refresh(false),
  notify: (room, m) => notifyMessage(room, m, selectRoom),
  selectRoom: (id) => selectRoom(id),
});
noticesFollowThread(() => (threads.root ? { room: threads.room, root: threads.root.id } : null));

const composer = new Composer({
  send: sendMessage,
  edit: async (m, text) => {
    const r = await conn.request({ type: 'edit', room: state.current, id: m.id, text });
    if (!r) announce(t('edit_not_connected'));
    else if (r.type === 'error') announce(t('edit_not_saved', { why: r.message }));
  },
  typing: () => state.current && conn.send({ type: 'typing', room: state.current }),
  members: membersOf,
  // People beyond the room's members, from the directory (@ suggestions).
  directory: async (q) => {
    const r = await conn.request({ type: 'users', query: q, limit: 8 });
    return r && r.type === 'users' ? r.users : [];
  },
  noUploads: () => {
    state.features.uploads = false;
    $('attach').hidden = true;
  },
});

// ---------------------------------------------------------------- session

function startSession() {
  $('loading-text').textContent = t('loading_connecting');
  show('loading');
  conn.start();
}

function onState(s) {
  if (s === 'ready') {
    $('banner').hidden = true;
  } else if (s === 'offline') {
    if (conn.everReady) {
      if ($('banner').hidden && state.current) list.refresh(false); // "waiting for the connection"
      $('banner').hidden = false;
    } else {
      show('loading');
      const n = outbox.count();
      $('loading-text').textContent = t('loading_unreachable') + (n ? ' ' + tn('loading_unsent', n) : '');
    }
  } else if (s === 'signed-out') {
    const was = conn.everReady;
    signOutLocally();
    showLogin(was ? t('session_ended') : '');
  }
}

async function onReady(r) {
  state.me = r.user;
  presenceReady(r);
  state.server = r.server || null;
  const rooms = new Map();
  for (const room of r.rooms) {
    const old = state.rooms.get(room.id);
    rooms.set(room.id, Object.assign(old || {}, room));
  }
  for (const id of state.rooms.keys()) if (!rooms.has(id)) forgetMessages(id);
  state.rooms = rooms;
  $('me-name').textContent = r.user.display_name || r.user.name;
  $('admin-link').textContent = r.user.role === 'admin' ? t('sidebar_settings_admin') : t('sidebar_settings');
  // Asked only when the person clicks: browsers ignore unprompted requests.
  $('notify-ask').hidden = !notificationsAvailable() || Notification.permission !== 'default';
  if (!onSettings) show('chat');
  if (!state.current || !rooms.has(state.current)) {
    const general = r.rooms.find((x) => x.name === 'general');
    selectRoom(general ? general.id : r.rooms.length ? r.rooms[0].id : null);
  } else {
    // Edits, deletes and reactions are not replayed by resume: refresh
    // what is on screen with the newest page.
    loadLatest(state.current);
    renderAll();
  }
  flush();
  loadCommands();
  threads.refreshFollowed();
}

function signOutLocally() {
  threads.close();
  conn.stop();
  resetState();
  list.clear();
  composer.reset();
  composer.drafts.clear();
  $('banner').hidden = true;
  $('rooms').replaceChildren();
  $('dms').replaceChildren();
  onSettings = false;
  updateTitle();
}

async function signOut() {
  await postJSON('/api/logout');
  signOutLocally();
  showLogin('');
}

// Slash commands: GET /api/commands lists them for everyone; an older
// server without it names them only in the admin script list.
async function loadCommands() {
  const r = await getJSON('/api/commands');
  if (r.ok) {
    state.commands = (r.data.commands || []).map((c) => ({ name: c.name, help: c.help, usage: c.usage }));
    if (state.me && state.me.role === 'admin') {
      const s = await getJSON('/api/admin/scripts');
      state.features.scripts = s.status !== 404;
    }
    return;
  }
  if (!state.me || state.me.role !== 'admin') return;
  const a = await getJSON('/api/admin/scripts');
  state.features.scripts = a.status !== 404;
  if (!a.ok) return;
  const cmds = [];
  for (const s of a.data.scripts || []) {
    for (const c of s.commands || []) {
      cmds.push(typeof c === 'string' ? { name: c, script: s.name } : Object.assign({ script: s.name }, c));
    }
  }
  state.commands = cmds;
}

// ---------------------------------------------------------------- events

function onEvent(f) {
  switch (f.type) {
    case 'message':
      onMessage(f);
      break;
    case 'message_edited':
    case 'message_deleted':
    case 'message_preview':
    case 'reaction':
      patchMessage(f);
      break;
    case 'pruned':
      // One event per retention batch, not per message.
      if (pruneMessages(f.room, f.before_seq) && f.room === state.current) list.refresh(false);
      break;
    case 'gap':
      // More was missed than resume replays: start that room afresh (its
      // history pages in as the person scrolls).
      forgetMessages(f.room);
      if (f.room === state.current) loadLatest(f.room);
      break;
    case 'room_updated':
      upsertRoom(f.room);
      break;
    case 'room_deleted':
      removeRoom(f.room);
      break;
    case 'member_updated':
      state.members.delete(f.room);
      break;
    case 'notice':
      onNotice(f);
      break;
    case 'member_joined':
      state.members.delete(f.room);
      if (state.me && f.user && f.user.id === state.me.id && !state.rooms.has(f.room)) refreshRooms();
      else countMember(f.room, 1);
      break;
    case 'member_left':
      state.members.delete(f.room);
      if (state.me && f.user && f.user.id === state.me.id) removeRoom(f.room);
      else countMember(f.room, -1);
      break;
    case 'typing':
      onTyping(f);
      break;
    case 'profile':
      applyProfile(f.profile, (p) => { $('me-name').textContent = p.display_name || p.name; });
      list.refresh(false);
      break;
    case 'presence':
      state.presence.set(f.user && f.user.id ? f.user.id : f.user, f.status);
      renderSidebar(selectRoom);
      break;
    case 'read':
      onReadElsewhere(f);
      break;
    case 'thread_updated':
      threads.onUpdated(f);
      break;
    case 'thread_read':
    case 'thread_follow':
      threads.onElsewhere(f); // this person's other session read or (un)followed a thread
      break;
    case 'pin':
      applyPin(f);
      if (f.room === state.current) renderHeader();
      break;
    case 'error':
      console.warn('parley:', f.code, f.message);
      break;
  }
}

async function onMessage(m) {
  const room = state.rooms.get(m.room);
  if (!room) {
    refreshRooms();
    return;
  }
  if (m.client_id && outbox.has(m.client_id)) outbox.remove(m.client_id);
  // A jump in seq means something was missed: fill it before showing this.
  const held = lastSeqHeld(m.room);
  if (held && m.seq > held + 1) await fillAfter(m.room, held);
  mergeMessages(m.room, [m]);
  const mine = state.me && m.user && m.user.id === state.me.id;
  const counted = room.last_seq || 0;
  room.last_seq = Math.max(counted, m.seq);
  clearTyping(m.room, m.user && m.user.name);
  if (!mine && m.seq > counted) {
    const mentioned = !!(m.mentions && state.me && m.mentions.includes(state.me.id));
    const watching = m.room === state.current && document.visibilityState === 'visible' && !onSettings;
    if (!watching) {
      room.unread = (room.unread || 0) + 1;
      if (mentioned) room.mentions = (room.mentions || 0) + 1;
    }
    // The room's level decides (all, mentions and DMs, nothing); notifyMessage
    // itself only shows one while the tab is hidden.
    // A reply only in its thread notifies those following the thread.
    if (inTimeline(m) && levelAllows(room, m)) notifyMessage(room, m, selectRoom);
    if (m.room === state.current && inTimeline(m)) {
      announce(t('announce_message', { name: displayName(m.user), text: m.text || t('announce_a_file') }));
    }
  }
  if (m.thread) threads.onReply(m);
  if (mine && m.seq > (room.read_seq || 0)) room.read_seq = m.seq; // sending reads
  if (m.room === state.current) list.refresh(!mine);
  renderSidebar(selectRoom);
  updateTitle();
}

function patchMessage(f) {
  const m = findMessage(f.room, f.id);
  if (!m) return;
  if (f.type === 'message_deleted') {
    m.deleted = true;
    delete m.text;
  } else if (f.type === 'message_edited') {
    m.text = f.text;
    m.edited_ts = f.edited_ts;
  } else if (f.type === 'message_preview') {
    m.previews = Array.isArray(f.previews) ? f.previews : [];
  } else {
    const uid = f.user && f.user.id ? f.user.id : f.user;
    const r = Object.assign({}, m.reactions || {});
    const users = (r[f.emoji] || []).filter((u) => u !== uid);
    if (f.on) users.push(uid);
    if (users.length) r[f.emoji] = users;
    else delete r[f.emoji];
    m.reactions = r;
  }
  if (f.room === state.current) list.refresh(false);
}

function upsertRoom(room) {
  if (!room || !room.id) return;
  const old = state.rooms.get(room.id);
  state.rooms.set(room.id, Object.assign(old || { unread: 0, mentions: 0, read_seq: 0 }, room));
  renderSidebar(selectRoom);
  if (room.id === state.current) renderHeader();
}

function removeRoom(roomId) {
  state.rooms.delete(roomId);
  forgetMessages(roomId);
  if (roomId === state.current) {
    const general = [...state.rooms.values()].find((r) => r.name === 'general');
    selectRoom(general ? general.id : null);
  }
  renderSidebar(selectRoom);
  updateTitle();
}

async function refreshRooms() {
  const r = await conn.request({ type: 'rooms' });
  if (!r || r.type !== 'rooms') return;
  for (const room of r.rooms || []) if (!state.rooms.has(room.id)) upsertRoom(room);
}

function onReadElsewhere(f) {
  const room = state.rooms.get(f.room);
  if (!room) return;
  room.read_seq = Math.max(room.read_seq || 0, f.seq);
  room.unread = Math.max(0, (room.last_seq || 0) - room.read_seq);
  if (!room.unread) room.mentions = 0;
  renderSidebar(selectRoom);
  updateTitle();
}

function onTyping(f) {
  const name = f.user && f.user.name;
  if (!name || (state.me && f.user.id === state.me.id)) return;
  if (!state.typing.has(f.room)) state.typing.set(f.room, new Map());
  state.typing.get(f.room).set(name, Date.now() + TYPING_SHOW_MS);
  renderTyping();
  setTimeout(renderTyping, TYPING_SHOW_MS + 50);
}

function clearTyping(roomId, name) {
  const typing = state.typing.get(roomId);
  if (typing && name && typing.delete(name)) renderTyping();
}

function renderTyping() {
  const typing = state.typing.get(state.current);
  const now = Date.now();
  const names = typing ? [...typing].filter(([, until]) => until > now).map(([n]) => n) : [];
  $('typing').textContent = !names.length ? '' : names.length === 1 ? t('typing_one', { name: names[0] })
    : names.length === 2 ? t('typing_two', { a: names[0], b: names[1] }) : t('typing_several');
}

// ---------------------------------------------------------------- history

function historyMessages(r) {
  return r && r.type === 'history' ? r.messages || [] : null;
}

async function loadLatest(roomId) {
  const r = await conn.request({ type: 'history', room: roomId, limit: HISTORY_PAGE });
  const msgs = historyMessages(r);
  if (!msgs) return;
  const h = roomMessages(roomId);
  if (!h.loaded) h.more = !!r.more;
  h.loaded = true;
  mergeMessages(roomId, msgs);
  dropAcked(msgs);
  if (roomId === state.current) list.refresh(false);
}

async function loadOlder(roomId) {
  const h = roomMessages(roomId);
  if (!h.list.length) return loadLatest(roomId);
  const r = await conn.request({ type: 'history', room: roomId, before: h.list[0].seq, limit: OLDER_PAGE });
  const msgs = historyMessages(r);
  if (!msgs) return;
  h.more = !!r.more;
  mergeMessages(roomId, msgs);
}

async function fillAfter(roomId, seq) {
  for (let guard = 0; guard < 50; guard++) {
    const r = await conn.request({ type: 'history', room: roomId, after: seq, limit: OLDER_PAGE });
    const msgs = historyMessages(r);
    if (!msgs || !msgs.length) return;
    mergeMessages(roomId, msgs);
    dropAcked(msgs);
    seq = msgs[msgs.length - 1].seq;
    if (!r.more) return;
  }
}

// History carries our own client_ids: what it holds was stored already.
function dropAcked(msgs) {
  for (const m of msgs) if (m.client_id && outbox.has(m.client_id)) outbox.remove(m.client_id);
}

function markRead(roomId, seq) {
  const room = state.rooms.get(roomId);
  if (!room || onSettings || seq <= (room.read_seq || 0)) {
    if (room && room.unread && seq >= (room.last_seq || 0)) {
      room.unread = 0;
      room.mentions = 0;
      renderSidebar(selectRoom);
      updateTitle();
    }
    return;
  }
  room.read_seq = seq;
  room.unread = Math.max(0, (room.last_seq || 0) - seq);
  if (!room.unread) room.mentions = 0;
  conn.send({ type: 'read', room: roomId, seq });
  renderSidebar(selectRoom);
  updateTitle();
}

// ---------------------------------------------------------------- sending

async function sendMessage({ text, reply_to, attachments }) {
  if (!state.current || !state.me) return;
  const item = { client_id: newClientId(), user: state.me.id, room: state.current, text, ts: Date.now() };
  if (reply_to) item.reply_to = reply_to;
  if (attachments) item.attachments = attachments;
  await outbox.add(item);
  list.refresh(false);
  list.toLatest();
  flush();
}

// Sends the outbox in the order it was written, one at a time; a dropped
// connection stops it, and `ready` starts it again (same client_ids: the
// server stores each once).
async function flush() {
  if (flushing || !state.me) return;
  flushing = true;
  try {
    for (const it of outbox.list(state.me.id)) {
      if (it.status === 'failed') continue;
      if (!conn.ready || !outbox.has(it.client_id)) break;
      await outbox.update(it.client_id, { status: 'sending' });
      const frame = { type: 'send', room: it.room, text: it.text, client_id: it.client_id };
      if (it.reply_to) frame.reply_to = it.reply_to;
      if (it.attachments) frame.attachments = it.attachments;
      let r = await conn.request(frame);
      if (r && r.type === 'error' && r.code === 'rate_limited') {
        await new Promise((ok) => setTimeout(ok, r.retry_after_ms || 1000));
        r = await conn.request(frame);
      }
      if (!r) {
        await outbox.update(it.client_id, { status: 'pending' });
        break; // disconnected: `ready` flushes again
      }
      // A command that stores nothing (/topic, /help, a script's) is
      // answered with an ack carrying `command: true` and no seq.
      if (r.type === 'ack') {
        await outbox.remove(it.client_id);
        if (!r.command && typeof r.seq === 'number') ackToMessage(it, r);
      } else {
        await outbox.update(it.client_id, { status: 'failed', error: r.message || r.code });
      }
      if (it.room === state.current) list.refresh(false);
    }
  } finally {
    flushing = false;
  }
  if (state.me && conn.ready && outbox.list(state.me.id).some((x) => x.status === 'pending')) flush();
}

// The ack may come before the message event: show the message at its seq
// now (the event, when it comes, replaces it in place).
function ackToMessage(it, ack) {
  const h = roomMessages(it.room);
  if (!h.loaded) return;
  const i = lowerBound(h.list, ack.seq);
  if (i < h.list.length && h.list[i].seq === ack.seq) return;
  const held = lastSeqHeld(it.room);
  mergeMessages(it.room, [{
    room: it.room, id: ack.id, seq: ack.seq, ts: ack.ts, text: it.text, reply_to: it.reply_to,
    client_id: it.client_id, user: { id: state.me.id, name: state.me.name },
  }]);
  if (held && ack.seq > held + 1) fillAfter(it.room, held).then(() => list.refresh(false));
  const room = state.rooms.get(it.room);
  if (room) {
    room.last_seq = Math.max(room.last_seq || 0, ack.seq);
    room.read_seq = Math.max(room.read_seq || 0, ack.seq);
  }
}

// ---------------------------------------------------------------- views

function selectRoom(roomId) {
  if (onSettings) closeSettings();
  composer.switchRoom(state.current, roomId);
  if (threads.room && threads.room !== roomId) threads.close();
  state.current = roomId;
  $('app').classList.remove('nav-open');
  renderAll();
  if (!roomId) {
    list.clear();
    return;
  }
  // Live events may have filled the list already: then it is drawn now
  // and only refreshed when the newest page comes (no jump if the person
  // already scrolled).
  const drawn = roomMessages(roomId).list.length > 0;
  list.open(roomId);
  if (!hasMessages(roomId)) loadLatest(roomId).then(() => {
    if (state.current === roomId && !drawn) list.open(roomId);
  });
  composer.focus();
}

// A search hit: its room opened at it, with the messages around it. When
// the message is not held, the room's held messages are replaced by the
// hit's neighbourhood and everything after it (so the list has no gap).
async function openHit(m) {
  const roomId = m.room;
  if (!state.rooms.has(roomId)) return;
  if (!findMessage(roomId, m.id)) {
    const r = await conn.request({ type: 'history', room: roomId, before: m.seq + HIT_CONTEXT + 1, limit: 2 * HIT_CONTEXT + 1 });
    const msgs = historyMessages(r);
    if (!msgs) return;
    forgetMessages(roomId);
    const h = roomMessages(roomId);
    h.loaded = true;
    h.more = !!r.more;
    mergeMessages(roomId, msgs);
    await fillAfter(roomId, msgs.reduce((a, x) => Math.max(a, x.seq), m.seq));
  }
  if (state.current !== roomId) selectRoom(roomId);
  // A reply only in its thread: the thread shows it (the root stays in view).
  if (!inTimeline(m)) {
    const root = findMessage(roomId, m.thread);
    if (root) list.showFound(root.seq, 4000);
    threads.open(roomId, root || { id: m.thread });
    return;
  }
  list.showFound(m.seq, 4000);
}

function renderAll() {
  renderSidebar(selectRoom);
  renderHeader();
  renderTyping();
  updateTitle();
}

function renderHeader() {
  const room = state.rooms.get(state.current);
  $('room-name').textContent = room ? roomLabel(room) : '';
  $('room-topic').textContent = room ? room.topic || '' : '';
  $('room-info').hidden = !room;
  $('room-info').textContent = room && room.kind !== 'dm'
    ? (typeof room.members === 'number' ? t('members_count', { n: formatNumber(room.members) }) : t('info_members'))
    : t('room_info_dm');
  $('text').placeholder = room ? t('composer_placeholder_room', { room: roomLabel(room) }) : t('composer_placeholder');
  $('room-pins').hidden = !room;
  $('room-pins').textContent = '📌 ' + formatNumber(room && room.pins ? room.pins.length : 0);
  $('room-notify').replaceChildren(...(room ? [levelSelect(conn, room)] : []));
  $('room-settings').hidden = !mayRunRoom(room);
  renderNotices();
}

// The header's member count follows joins, invitations and departures.
function countMember(roomId, delta) {
  const room = state.rooms.get(roomId);
  if (!room || typeof room.members !== 'number') return;
  room.members = Math.max(0, room.members + delta);
  if (roomId === state.current) renderHeader();
}

async function membersOf() {
  const id = state.current;
  if (!id) return [];
  if (state.members.has(id)) return state.members.get(id);
  const r = await conn.request({ type: 'members', room: id, limit: 500 });
  if (!r || r.type !== 'members') return [];
  state.members.set(id, r.members);
  for (const m of r.members) if (m.presence) state.presence.set(m.id, m.presence);
  return r.members;
}

function openSettings() {
  onSettings = true;
  show('settings');
  renderSettings();
}

function closeSettings() {
  onSettings = false;
  show('chat');
  list.refresh(false);
}

function joined(id, room) {
  if (room) upsertRoom(room);
  selectRoom(id);
}

// ---------------------------------------------------------------- start

async function main() {
  wireAuth(startSession);
  $('logout').addEventListener('click', signOut);
  $('admin-link').addEventListener('click', openSettings);
  $('settings-back').addEventListener('click', closeSettings);
  $('notify-ask').addEventListener('click', async () => {
    await askPermission();
    $('notify-ask').hidden = true;
  });
  $('browse').addEventListener('click', () => browseRooms(conn, joined));
  $('new-room').addEventListener('click', () => createRoom(conn, joined));
  $('new-dm').addEventListener('click', () => groupDM(conn, joined));
  $('room-pins').addEventListener('click', () => {
    const room = state.rooms.get(state.current);
    if (room) {
      pinnedPanel(conn, room, {
        onJump: (m) => list.refresh(false) || announce(t('announce_pinned', { name: displayName(m.user), text: m.text || '' })),
        canModerate: isModerator(room) || room.kind === 'dm',
      });
    }
  });
  $('switch').addEventListener('click', () => quickSwitcher(selectRoom));
  $('search').addEventListener('click', () => openSearch(conn, openHit));
  $('nav-toggle').addEventListener('click', () => $('app').classList.toggle('nav-open'));
  $('room-info').addEventListener('click', () => {
    const room = state.rooms.get(state.current);
    if (room) roomInfo(conn, room, removeRoom);
  });
  $('room-settings').addEventListener('click', () => {
    const room = state.rooms.get(state.current);
    if (room) roomSettings(conn, room);
  });
  $('retry-now').addEventListener('click', () => conn.retryNow());
  document.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'k' && state.me) {
      ev.preventDefault();
      if (!document.querySelector('dialog[open]')) quickSwitcher(selectRoom);
    } else if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'f' && state.me && !onSettings) {
      // Ctrl/Cmd+F: the server's search, not the page's (which sees only
      // the window of messages drawn).
      ev.preventDefault();
      openSearch(conn, openHit);
    } else if (ev.altKey && (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') && state.me && !onSettings) {
      // Alt+Up/Down: the previous or next room in the sidebar's order.
      ev.preventDefault();
      const ids = [...document.querySelectorAll('.sidebar .room-link')].map((b) => b.dataset.room);
      const i = ids.indexOf(state.current);
      const next = ids[(i + (ev.key === 'ArrowDown' ? 1 : ids.length - 1)) % ids.length];
      if (next) selectRoom(next);
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.current && !onSettings) list.noteRead();
  });
  window.addEventListener('online', () => conn.retryNow());
  // The network is gone: say so now, not when a ping times out.
  window.addEventListener('offline', () => conn.lost());
  wireMessageKeys($('messages'), $('text'));
  window.addEventListener('hashchange', () => {
    const s = linkScreen();
    if (s) show(s);
  });
  registerOfflineShell();
  await loadStrings();
  await outbox.load();
  const s = linkScreen();
  if (s) {
    show(s);
    return;
  }
  startSession();
}

main();
