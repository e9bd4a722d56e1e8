// Messages not yet acknowledged by the server, kept in IndexedDB so a
// reload or a crash of the tab keeps them. Each item carries its
// client_id (the server stores a resent client_id once), the author's user
// id (another account signing in on this browser never sends them), and a
// sequence number that keeps them in the order they were written.
//
// Without IndexedDB (some private modes) it falls back to memory only.
const DB_NAME = 'parley';
const STORE = 'outbox';

let db = null;
const items = new Map(); // client_id -> item
let counter = 0;

function open() {
  return new Promise((resolve) => {
    let req;
    try {
      req = indexedDB.open(DB_NAME, 1);
    } catch {
      resolve(null);
      return;
    }
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'client_id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
}

function write(fn) {
  if (!db) return Promise.resolve();
  return new Promise((resolve) => {
    const tx = db.transaction(STORE, 'readwrite');
    fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve();
    tx.onerror = () => resolve();
    tx.onabort = () => resolve();
  });
}

export async function load() {
  db = await open();
  if (!db) return;
  const all = await new Promise((resolve) => {
    const req = db.transaction(STORE).objectStore(STORE).getAll();
    req.onsuccess = () => resolve(req.result || []);
    req.onerror = () => resolve([]);
  });
  for (const it of all) {
    // A send in flight when the tab closed is pending again.
    if (it.status === 'sending') it.status = 'pending';
    items.set(it.client_id, it);
    counter = Math.max(counter, it.order || 0);
  }
}

// In the order they were written.
export function list(userId) {
  return [...items.values()]
    .filter((it) => !userId || it.user === userId)
    .sort((a, b) => a.order - b.order);
}

export function get(cid) {
  return items.get(cid);
}

export function has(cid) {
  return items.has(cid);
}

export function add(item) {
  item.order = ++counter;
  item.status = 'pending';
  items.set(item.client_id, item);
  return write((s) => s.put(item));
}

export function update(cid, patch) {
  const it = items.get(cid);
  if (!it) return Promise.resolve();
  Object.assign(it, patch);
  return write((s) => s.put(it));
}

export function remove(cid) {
  if (!items.delete(cid)) return Promise.resolve();
  return write((s) => s.delete(cid));
}

export function count(userId) {
  return list(userId).length;
}
