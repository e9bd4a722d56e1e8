// What the client knows: who it is, its rooms, the messages it holds per
// room (sorted by seq, one entry per seq: a message seen twice replaces
// itself, so nothing is ever shown twice), presence and typing.
// Views subscribe with on('rooms' | 'messages' | 'presence' | 'typing', fn).
const MAX_HELD = 20000; // messages held per room; older ones are paged again

export const state = {
  me: null,
  server: null, // `ready.server`: version and limits
  rooms: new Map(), // id -> room object
  current: null, // the open room's id
  presence: new Map(), // user id -> 'online' | 'away' | 'offline'
  typing: new Map(), // room id -> Map(user name -> until ts)
  members: new Map(), // room id -> [{id,name,role,presence}]
  profiles: new Map(), // user id -> the latest `profile` event's profile
  commands: [], // slash commands the server lists (admins: scripts)
  features: { uploads: true, scripts: null },
};

const held = new Map(); // room id -> {list, more, loaded}
const listeners = new Map();

export function on(what, fn) {
  if (!listeners.has(what)) listeners.set(what, []);
  listeners.get(what).push(fn);
}

export function emit(what, arg) {
  for (const fn of listeners.get(what) || []) fn(arg);
}

export function roomMessages(roomId) {
  let h = held.get(roomId);
  if (!h) {
    h = { list: [], more: true, loaded: false };
    held.set(roomId, h);
  }
  return h;
}

export function hasMessages(roomId) {
  const h = held.get(roomId);
  return !!(h && h.loaded);
}

export function lastSeqHeld(roomId) {
  const h = held.get(roomId);
  return h && h.list.length ? h.list[h.list.length - 1].seq : 0;
}

// Index of the first message with seq >= seq.
export function lowerBound(list, seq) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Merges messages into a room; returns how many were new.
export function mergeMessages(roomId, messages) {
  const h = roomMessages(roomId);
  const list = h.list;
  let added = 0;
  // An older page (all before what is held) goes in front in one move.
  const sorted = messages.filter((m) => typeof m.seq === 'number').sort((a, b) => a.seq - b.seq);
  if (sorted.length && list.length && sorted[sorted.length - 1].seq < list[0].seq) {
    list.unshift(...sorted);
    return sorted.length;
  }
  for (const m of sorted) {
    if (typeof m.seq !== 'number') continue;
    if (list.length && m.seq > list[list.length - 1].seq) {
      list.push(m);
      added++;
      continue;
    }
    const i = lowerBound(list, m.seq);
    if (i < list.length && list[i].seq === m.seq) {
      // Keep what only a live copy knows (client_id) when history replaces it.
      list[i] = Object.assign({}, list[i], m);
    } else {
      list.splice(i, 0, m);
      added++;
    }
  }
  if (list.length > MAX_HELD) {
    list.splice(0, list.length - MAX_HELD);
    h.more = true;
  }
  return added;
}

export function findMessage(roomId, id) {
  const h = held.get(roomId);
  if (!h) return null;
  for (let i = h.list.length - 1; i >= 0; i--) if (h.list[i].id === id) return h.list[i];
  return null;
}

// A retention batch ran: every held message below beforeSeq is now a
// tombstone (their seqs stay, so threads and paging still line up).
// Returns how many rows changed.
export function pruneMessages(roomId, beforeSeq) {
  const h = held.get(roomId);
  if (!h || typeof beforeSeq !== 'number') return 0;
  let n = 0;
  for (const m of h.list) {
    if (m.seq >= beforeSeq) break;
    if (m.deleted) continue;
    m.deleted = true;
    delete m.text;
    delete m.reactions;
    delete m.attachments;
    n++;
  }
  return n;
}

export function forgetMessages(roomId) {
  held.delete(roomId);
}

export function resumeMap() {
  const out = {};
  for (const [room, h] of held) if (h.list.length) out[room] = h.list[h.list.length - 1].seq;
  return out;
}

export function resetState() {
  state.me = null;
  state.rooms = new Map();
  state.current = null;
  state.presence = new Map();
  state.typing = new Map();
  state.members = new Map();
  state.commands = [];
  held.clear();
}

export function roomLabel(room) {
  return room.kind === 'dm' ? room.name : '# ' + room.name;
}

export function isModerator(room) {
  return (room && (room.role === 'owner' || room.role === 'moderator')) ||
    (state.me && state.me.role === 'admin');
}
