// Threads (issue 15) in the web client: the thread panel beside the room
// (on phones a screen of its own) with the root, its replies and a
// composer; the "Threads" list of followed threads with unread counts;
// and which threads this person follows, for notifications. Replies are
// room messages (they take room seqs and are held with the room's), shown
// in the room's timeline only when sent "also to the room".
import { $, el, button, announce } from './dom.js';
import { state, roomMessages, findMessage } from './state.js';
import { render as renderText } from './format.js';
import { modal } from './dialogs.js';
import { newClientId } from './ids.js';
import { timeOf, fullTime } from './time.js';
import { t, tn, formatNumber } from './i18n.js';
import { authorLabel, avatarImg, displayName } from './profile.js';
import { renderNotices } from './notices.js';

const PAGE = 100; // the server's largest history page

// Roots this person follows (from `threads`, and those they wrote in).
const followed = new Set();
let unreadTotal = 0;

// Whether a room timeline shows m: replies only when also sent to the room.
export function inTimeline(m) {
  return !m.thread || !!m.also_room;
}

export function repliesLabel(n) {
  return tn('thread_replies', n);
}

export class ThreadPanel {
  constructor(conn, { onChange, notify, selectRoom }) {
    this.conn = conn;
    this.selectRoom = selectRoom;
    this.loaded = new Map(); // the open thread's replies read with `history`
    this.onChange = onChange; // the room's timeline needs a redraw
    this.notify = notify; // (room, m) a desktop notification for a followed thread
    this.room = null;
    this.root = null; // the root message object
    this.panel = $('thread-panel');
    this.list = $('thread-messages');
    this.text = $('thread-text');
    this.also = $('thread-also');
    $('thread-close').addEventListener('click', () => this.close());
    $('thread-composer').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.send();
    });
    this.text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.send();
      } else if (ev.key === 'Escape') this.close();
    });
    $('threads-open').addEventListener('click', () => this.openList());
  }

  isOpen(roomId, rootId) {
    return this.root && this.room === roomId && (!rootId || this.root.id === rootId);
  }

  async open(roomId, root) {
    this.room = roomId;
    this.root = findMessage(roomId, root.id) || root;
    this.loaded = new Map();
    this.panel.hidden = false;
    $('app').classList.add('thread-open');
    $('thread-title').textContent = t('thread_title');
    renderNotices(); // a command's answers in this thread move here
    this.draw();
    this.text.focus();
    const r = await this.conn.request({ type: 'history', room: roomId, thread: root.id, limit: PAGE });
    if (!this.isOpen(roomId, root.id)) return;
    if (!r || r.type !== 'history') {
      this.list.append(el('li', 'error', r ? r.message : t('not_connected')));
      return;
    }
    if (r.root) this.root = findMessage(roomId, root.id) || r.root; // opened from a bare id
    // Kept apart from the room's held list: an old thread would leave a
    // hole in it (the room pages its history by its first seq).
    for (const m of r.messages) this.loaded.set(m.id, m);
    this.draw();
    this.markRead();
  }

  close() {
    this.room = null;
    this.root = null;
    this.panel.hidden = true;
    $('app').classList.remove('thread-open');
    this.list.replaceChildren();
    renderNotices();
  }

  // The open thread's replies: those read with `history` and those the
  // room holds (live ones arrive there), each once, by seq.
  replies() {
    if (!this.root) return [];
    const all = new Map(this.loaded);
    for (const m of roomMessages(this.room).list) if (m.thread === this.root.id) all.set(m.id, m);
    return [...all.values()].sort((a, b) => a.seq - b.seq);
  }

  draw() {
    if (!this.root) return;
    const rows = [this.row(this.root, 'thread-root')];
    const replies = this.replies();
    const count = el('li', 'thread-count muted', replies.length ? repliesLabel(replies.length) : t('thread_no_replies'));
    rows.push(count);
    for (const m of replies) rows.push(this.row(m, 'thread-reply'));
    this.list.replaceChildren(...rows);
    this.list.scrollTop = this.list.scrollHeight;
  }

  row(m, cls) {
    const li = el('li', 'msg first ' + cls);
    li.dataset.id = m.id;
    li.dataset.seq = m.seq;
    const head = el('div', 'msg-head');
    const time = el('time', 'muted', timeOf(m.ts));
    time.dateTime = new Date(m.ts).toISOString();
    time.title = fullTime(m.ts);
    head.append(authorLabel(m.user), time);
    const body = el('div', 'text');
    if (m.deleted) {
      body.classList.add('deleted');
      body.textContent = t('message_deleted');
    } else {
      body.append(renderText(m.text || '', {
        isMe: (name) => !!state.me && name.toLowerCase() === state.me.name.toLowerCase(),
        isKnown: () => true,
      }));
      if (m.edited_ts) body.append(el('span', 'muted edited', ' ' + t('message_edited')));
    }
    li.append(avatarImg(m.user), head, body);
    if (m.also_room) li.append(el('div', 'muted thread-also-note', t('thread_also_sent')));
    return li;
  }

  async send() {
    const text = this.text.value.trim();
    if (!text || !this.root) return;
    const also = this.also.checked;
    this.text.value = '';
    const r = await this.conn.request({
      type: 'send', room: this.room, text, thread: this.root.id, also_room: also, client_id: newClientId(),
    });
    if (!r || r.type !== 'ack') {
      this.text.value = text;
      announce(t('thread_not_sent', { why: r ? r.message : t('not_connected_short') }));
      return;
    }
    this.also.checked = false;
    followed.add(this.root.id);
  }

  // Marks the open thread read, then the badge follows the server's counts.
  async markRead() {
    const replies = this.replies();
    if (!replies.length || !followed.has(this.root.id)) return;
    const seq = replies[replies.length - 1].seq;
    const r = await this.conn.request({ type: 'thread_read', room: this.room, id: this.root.id, seq });
    if (r && r.type === 'ok') await this.refreshFollowed();
  }

  // A `message` event for a reply (already merged into the room's list).
  onReply(m) {
    const mine = state.me && m.user && m.user.id === state.me.id;
    const root = findMessage(m.room, m.thread);
    const rootMine = (root && root.user && state.me && root.user.id === state.me.id) ||
      (this.isOpen(m.room, m.thread) && this.root.user && state.me && this.root.user.id === state.me.id);
    if (mine || rootMine) followed.add(m.thread);
    if (m.mentions && state.me && m.mentions.includes(state.me.id)) followed.add(m.thread);
    if (this.isOpen(m.room, m.thread)) {
      this.draw();
      if (document.visibilityState === 'visible') this.markRead();
    } else if (!mine && followed.has(m.thread)) {
      unreadTotal++;
      this.drawBadge();
      const room = state.rooms.get(m.room);
      if (room) this.notify(room, m);
    }
  }

  // A `thread_updated` event: the root's count and latest reply.
  onUpdated(f) {
    for (const root of [findMessage(f.room, f.id), this.isOpen(f.room, f.id) ? this.root : null]) {
      if (!root) continue;
      root.replies = f.replies;
      root.last_reply_ts = f.last_reply_ts;
    }
    if (f.room === state.current) this.onChange();
  }

  // `thread_read` / `thread_follow` from this person's other session:
  // the followed set at once, then the unread counts from the server (one
  // refresh for a burst); an open "Threads" list follows too.
  onElsewhere(f) {
    const item = document.querySelector(`.threads-list li.thread-item[data-id="${CSS.escape(f.id)}"]`);
    if (f.type === 'thread_follow') {
      if (f.on) followed.add(f.id);
      else {
        followed.delete(f.id);
        item?.remove();
      }
    } else item?.querySelector('.badge')?.remove();
    clearTimeout(this.elsewhereTimer);
    this.elsewhereTimer = setTimeout(() => this.refreshFollowed(), 100);
  }

  drawBadge() {
    const b = $('threads-open');
    b.querySelector('.badge')?.remove();
    if (unreadTotal > 0) b.append(el('span', 'badge mention-badge', formatNumber(unreadTotal)));
  }

  // Which threads this person follows, and their unread total.
  async refreshFollowed() {
    const r = await this.conn.request({ type: 'threads', limit: 100 });
    if (!r || r.type !== 'threads') return null;
    followed.clear();
    unreadTotal = 0;
    for (const th of r.threads) {
      followed.add(th.root.id);
      unreadTotal += th.unread;
    }
    this.drawBadge();
    return r;
  }

  // The followed threads, the latest reply first; a click opens one.
  openList() {
    modal(t('threads_title'), async (body, close) => {
      body.classList.add('threads-list-panel');
      const list = el('ol', 'threads-list');
      body.append(list);
      const r = await this.refreshFollowed();
      if (!r) {
        body.append(el('p', 'error', t('not_connected')));
        return;
      }
      if (!r.threads.length) body.append(el('p', 'muted', t('threads_none')));
      for (const th of r.threads) {
        const room = state.rooms.get(th.room);
        const li = el('li', 'thread-item');
        li.dataset.id = th.root.id;
        const open = button(null, 'thread-open-item', () => {
          close();
          this.openFromList(th);
        });
        open.append(
          el('span', 'muted', room ? (room.kind === 'dm' ? room.name : '#' + room.name) : ''),
          el('strong', null, displayName(th.root.user)),
          th.root.deleted ? el('span', 'thread-item-text deleted', t('message_deleted'))
            : el('span', 'thread-item-text', th.root.text || ''),
          el('span', 'muted', repliesLabel(th.root.replies || 0)));
        if (th.unread) open.append(el('span', 'badge mention-badge', formatNumber(th.unread)));
        li.append(open);
        li.append(button(t('threads_unfollow'), 'secondary small', async () => {
          const u = await this.conn.request({ type: 'thread_follow', room: th.room, id: th.root.id, on: false });
          if (u && u.type === 'ok') {
            followed.delete(th.root.id);
            li.remove();
          } else announce(t('not_changed', { why: u ? u.message : t('not_connected_short') }));
        }));
        list.append(li);
      }
    });
  }

  openFromList(th) {
    this.selectRoom(th.room);
    unreadTotal = Math.max(0, unreadTotal - (th.unread || 0));
    this.drawBadge();
    this.open(th.room, th.root);
  }
}
