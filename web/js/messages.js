// The message list of the open room, windowed: of the messages held (up
// to thousands), only a window of about WINDOW around what is on screen
// is in the DOM. Scrolling near an edge slides the window by STEP, and
// near the top of what is held it pages older history from the server;
// each change keeps the message that was on screen at the same place
// (anchor by data-seq), so paging never jumps.
//
// Grouping: a day separator when the day changes, an author header when
// the author changes or after GROUP_GAP_MS. A "new messages" divider sits
// after the read marker the room had when it was opened.
import { el, button, formatSize } from './dom.js';
import { state, roomMessages, lowerBound, findMessage } from './state.js';
import { render as renderText, renderInline } from './format.js';
import { openViewer } from './viewer.js';
import { rememberFocus, restoreFocus } from './keyboard.js';
import { t, formatNumber } from './i18n.js';
import { timeOf, dayKey, dayLabel, fullTime } from './time.js';
import * as outbox from './outbox.js';
import { authorLabel, avatarImg, displayName } from './profile.js';
import { inTimeline, repliesLabel } from './threads.js';

const WINDOW = 150; // messages in the DOM at most (while reading old ones)
const STEP = 50; // messages the window slides by
const EDGE_PX = 400; // how near an edge a slide or a page starts
const GROUP_GAP_MS = 5 * 60 * 1000;
const BOTTOM_PX = 30; // "at the bottom" tolerance
const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp|avif)$/;
// A message longer than this is collapsed behind "show more" (lines or
// characters, whichever comes first: decided from the text, not from a
// layout measure, so the window never reflows while scrolling).
const COLLAPSE_LINES = 14;
const COLLAPSE_CHARS = 1200;

export class MessageList {
  constructor(ol, jump, hooks) {
    this.ol = ol;
    this.jump = jump; // the "jump to latest" button
    this.hooks = hooks; // loadOlder(room), onRead(room, seq), actions
    this.room = null;
    this.startSeq = 0; // first seq in the window
    this.endSeq = 0; // last seq in the window when not following the end
    this.followEnd = true; // the window reaches the newest message
    this.dividerSeq = null;
    this.loading = false;
    this.fillStalled = false; // filling the view found nothing older
    this.rendering = false;
    ol.addEventListener('scroll', () => this.onScroll(), { passive: true });
    jump.addEventListener('click', () => this.toLatest());
  }

  open(roomId) {
    this.room = roomId;
    const room = state.rooms.get(roomId);
    this.dividerSeq = room && (room.read_seq || 0) < room.last_seq ? room.read_seq || 0 : null;
    this.followEnd = true;
    this.startSeq = 0;
    this.loading = false;
    this.fillStalled = false;
    this.windowToEnd();
    this.render('bottom');
    const div = this.ol.querySelector('.divider');
    if (div) this.ol.scrollTop = Math.max(0, div.offsetTop - 60);
  }

  windowToEnd() {
    const list = roomMessages(this.room).list;
    this.followEnd = true;
    this.startSeq = list.length ? list[Math.max(0, list.length - STEP * 2)].seq : 0;
  }

  atBottom() {
    const o = this.ol;
    return o.scrollHeight - o.scrollTop - o.clientHeight < BOTTOM_PX;
  }

  // Messages of the open room changed (live, history, edit, outbox).
  refresh(live) {
    if (!this.room) return;
    const list = roomMessages(this.room).list;
    if (!this.followEnd) {
      this.render('keep');
      if (live) this.jump.hidden = false;
      return;
    }
    const bottom = this.atBottom();
    if (bottom) {
      // Following the end at the bottom: the window slides with new ones.
      const start = lowerBound(list, this.startSeq);
      if (list.length - start > WINDOW) this.startSeq = list[list.length - WINDOW].seq;
    }
    if (!list.length) this.startSeq = 0;
    else if (this.startSeq === 0) this.startSeq = list[Math.max(0, list.length - STEP * 2)].seq;
    this.render(bottom ? 'bottom' : 'keep');
    if (live && !bottom) this.jump.hidden = false;
  }

  bounds() {
    const list = roomMessages(this.room).list;
    const start = lowerBound(list, this.startSeq);
    const end = this.followEnd ? list.length : lowerBound(list, this.endSeq + 1);
    return { list, start, end };
  }

  anchor() {
    const top = this.ol.scrollTop;
    for (const li of this.ol.children) {
      if (li.dataset.seq && li.offsetTop + li.offsetHeight > top) {
        return { seq: li.dataset.seq, delta: li.offsetTop - top };
      }
    }
    return null;
  }

  render(mode) {
    const a = mode === 'keep' ? this.anchor() : null;
    const { list, start, end } = this.bounds();
    const h = roomMessages(this.room);
    const frag = document.createDocumentFragment();
    if (start > 0 || h.more) {
      frag.append(el('li', 'older muted', h.loaded ? t('list_loading_older') : t('list_loading')));
    } else if (h.loaded) {
      const room = state.rooms.get(this.room);
      frag.append(el('li', 'older muted', !room ? '' : room.kind === 'dm'
        ? t('list_beginning_dm', { name: room.name }) : t('list_beginning_room', { room: room.name })));
    }
    let prev = start > 0 ? list[start - 1] : null;
    for (let i = start; i < end; i++) {
      const m = list[i];
      if (!inTimeline(m)) continue; // a reply shows in its thread
      const newDay = !prev || dayKey(prev.ts) !== dayKey(m.ts);
      if (newDay) frag.append(el('li', 'day', dayLabel(m.ts)));
      const afterMarker = prev ? prev.seq <= this.dividerSeq : m.seq - 1 <= this.dividerSeq;
      if (this.dividerSeq !== null && afterMarker && m.seq > this.dividerSeq) {
        const d = el('li', 'divider');
        d.append(el('span', null, t('list_new_messages')));
        frag.append(d);
      }
      const first = newDay || !prev || !prev.user || !m.user || prev.user.id !== m.user.id ||
        m.ts - prev.ts > GROUP_GAP_MS || (this.dividerSeq !== null && prev.seq === this.dividerSeq);
      frag.append(this.messageRow(m, first));
      prev = m;
    }
    if (this.followEnd) {
      let firstPending = true;
      for (const it of outbox.list(state.me && state.me.id)) {
        if (it.room !== this.room) continue;
        frag.append(this.pendingRow(it, firstPending));
        firstPending = false;
      }
    }
    this.rendering = true;
    const focused = rememberFocus(this.ol);
    this.ol.replaceChildren(frag);
    restoreFocus(this.ol, focused);
    if (mode === 'bottom') {
      this.ol.scrollTop = this.ol.scrollHeight;
    } else if (a) {
      const li = this.ol.querySelector(`li[data-seq="${a.seq}"]`);
      if (li) this.ol.scrollTop = li.offsetTop - a.delta;
    }
    this.rendering = false;
    this.jump.hidden = this.followEnd && this.atBottom();
    this.noteRead();
    // Rows that do not fill the view cannot be scrolled to reach older
    // ones: grow the window now. (History answered after the room opened
    // on a few live rows left those rows under "Loading older messages…"
    // with nothing to scroll.)
    const o = this.ol;
    if (o.scrollHeight <= o.clientHeight && (start > 0 || (h.more && h.loaded && !this.fillStalled))) {
      requestAnimationFrame(() => this.onScroll());
    }
  }

  messageRow(m, first) {
    const li = el('li', 'msg' + (first ? ' first' : '') + (m.seq === this.foundSeq ? ' found' : ''));
    li.tabIndex = -1; // web/js/keyboard.js moves focus between messages
    li.dataset.seq = m.seq;
    li.dataset.id = m.id;
    const mine = state.me && m.user && m.user.id === state.me.id;
    if (m.mentions && state.me && m.mentions.includes(state.me.id)) li.classList.add('mentions-me');
    const time = el('time', 'muted', timeOf(m.ts));
    time.dateTime = new Date(m.ts).toISOString();
    time.title = fullTime(m.ts);
    if (first) {
      const head = el('div', 'msg-head');
      head.append(authorLabel(m.user), time);
      li.append(avatarImg(m.user), head);
    } else {
      time.classList.add('side-time');
      li.append(time);
    }
    if (m.reply_to && !m.deleted) {
      const orig = findMessage(this.room, m.reply_to);
      const q = el('div', 'quote');
      if (orig) {
        q.append(el('span', 'author', displayName(orig.user)), document.createTextNode(' '));
        if (orig.deleted) q.append(el('span', 'deleted', t('message_deleted')));
        else q.append(renderInline((orig.text || '').slice(0, 140), this.hooks.mentionTests));
        q.classList.add('link-quote');
        q.title = t('quote_show_original');
        q.addEventListener('click', () => this.show(orig.seq));
      } else q.textContent = t('quote_earlier');
      li.append(q);
    }
    const body = el('div', 'text');
    if (m.deleted) {
      body.classList.add('deleted');
      body.textContent = t('message_deleted');
    } else {
      if (!onlyNamesFiles(m)) body.append(renderText(m.text || '', this.hooks.mentionTests));
      if (m.edited_ts) body.append(el('span', 'muted edited', ' ' + t('message_edited')));
    }
    li.append(body);
    if (!m.deleted && isLong(m.text)) li.append(collapse(body, m.id));
    if (!m.deleted && m.attachments && m.attachments.length) li.append(attachments(m.attachments));
    if (!m.deleted && m.previews && m.previews.length) li.append(linkPreviews(m.previews));
    if (!m.deleted && m.reactions && Object.keys(m.reactions).length) li.append(this.reactionRow(m));
    const open = this.hooks.actions.openThread;
    if (m.replies > 0 && !m.thread && open) {
      li.append(button(repliesLabel(m.replies), 'link thread-link', () => open(m), t('thread_open_the')));
    } else if (m.thread && open) {
      const root = findMessage(this.room, m.thread);
      li.append(button(t('thread_replied_in'), 'link thread-link muted', () => open(root || { id: m.thread }),
        t('thread_open_the')));
    }
    if (!m.deleted) li.append(this.actionBar(m, mine));
    return li;
  }

  reactionRow(m) {
    const row = el('div', 'reactions');
    for (const [emoji, users] of Object.entries(m.reactions)) {
      if (!users || !users.length) continue;
      const on = state.me && users.includes(state.me.id);
      const b = button(emoji + ' ' + formatNumber(users.length), 'chip' + (on ? ' on' : ''),
        () => this.hooks.actions.react(m, emoji, !on));
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.title = on ? t('reaction_remove', { emoji }) : t('emoji_react_with', { emoji });
      row.append(b);
    }
    return row;
  }

  actionBar(m, mine) {
    const bar = el('div', 'actions');
    const act = this.hooks.actions;
    bar.append(button('☺', 'icon', (ev) => act.pick(m, ev.currentTarget), t('action_react')));
    bar.append(button('↩', 'icon', () => act.reply(m), t('action_reply')));
    if (!m.thread && act.openThread) bar.append(button('🧵', 'icon', () => act.openThread(m), t('action_thread')));
    if (mine) bar.append(button('✎', 'icon', () => act.edit(m), t('action_edit')));
    if (act.canPin && act.canPin()) bar.append(button('📌', 'icon', () => act.pin(m), t('action_pin')));
    if (mine || act.canModerate()) bar.append(button('✕', 'icon', () => act.del(m), t('action_delete')));
    return bar;
  }

  pendingRow(it, first) {
    const li = el('li', 'msg pending ' + it.status + (first ? ' first' : ''));
    li.dataset.cid = it.client_id;
    if (first) {
      const head = el('div', 'msg-head');
      head.append(authorLabel(state.me));
      li.append(avatarImg(state.me), head);
    }
    const body = el('div', 'text', it.text);
    const waiting = this.hooks.online() ? t('pending_sending') : t('pending_waiting');
    body.append(el('span', 'muted status', ' ' + (it.status === 'failed' ? t('pending_not_sent') : waiting)));
    li.append(body);
    if (it.status === 'failed') {
      const err = el('div', 'error');
      // The server's reason may hold a UTC time (a mute's end): rendered
      // so it shows in the reader's time zone.
      err.append(el('span', null, t('pending_failed')), document.createTextNode(' '),
        it.error ? el('span', 'server-reason') : el('span', null, t('pending_failed_unknown')), document.createTextNode(' '));
      if (it.error) err.querySelector('.server-reason').append(renderInline(it.error));
      err.append(button(t('pending_retry'), 'link', () => this.hooks.actions.retry(it.client_id)));
      err.append(document.createTextNode(' · '));
      err.append(button(t('pending_discard'), 'link', () => this.hooks.actions.discard(it.client_id)));
      li.append(err);
    }
    return li;
  }

  async onScroll() {
    if (this.rendering || !this.room) return;
    const o = this.ol;
    const { list, start, end } = this.bounds();
    if (o.scrollTop < EDGE_PX) {
      if (start > 0) {
        const ns = Math.max(0, start - STEP);
        this.startSeq = list[ns].seq;
        if (end - ns > WINDOW) {
          this.followEnd = false;
          this.endSeq = list[ns + WINDOW - 1].seq;
        }
        this.render('keep');
      } else if (roomMessages(this.room).more && !this.loading) {
        this.loading = true;
        const room = this.room;
        const had = roomMessages(room).list.length;
        await this.hooks.loadOlder(room);
        this.loading = false;
        if (room !== this.room) return;
        const l = roomMessages(room).list;
        // Nothing came (offline, an error): filling the view stops asking
        // until the room is opened again; scrolling still asks.
        this.fillStalled = l.length === had;
        const s = Math.max(0, lowerBound(l, this.startSeq) - STEP);
        if (l.length) this.startSeq = l[s].seq;
        const e = this.bounds().end;
        if (e - s > WINDOW) {
          this.followEnd = false;
          this.endSeq = l[s + WINDOW - 1].seq;
        }
        this.render('keep');
      }
    } else if (!this.followEnd && o.scrollHeight - o.scrollTop - o.clientHeight < EDGE_PX) {
      const ne = Math.min(list.length, end + STEP);
      if (ne >= list.length) this.followEnd = true;
      else this.endSeq = list[ne - 1].seq;
      if (ne - start > WINDOW) this.startSeq = list[ne - WINDOW].seq;
      this.render('keep');
    } else {
      this.jump.hidden = this.followEnd && this.atBottom();
      this.noteRead();
    }
  }

  // The read marker follows the last message on screen.
  noteRead() {
    if (!this.room || document.visibilityState !== 'visible') return;
    const bottom = this.ol.scrollTop + this.ol.clientHeight;
    const rows = this.ol.querySelectorAll('li[data-seq]');
    let seq = 0;
    for (let i = rows.length - 1; i >= 0; i--) {
      if (rows[i].offsetTop < bottom) {
        seq = Number(rows[i].dataset.seq);
        break;
      }
    }
    // Hidden thread replies after the last row on screen are read with it.
    const list = roomMessages(this.room).list;
    if (seq && this.followEnd && rows.length && seq === Number(rows[rows.length - 1].dataset.seq) &&
        list.length) seq = Math.max(seq, list[list.length - 1].seq);
    if (seq) this.hooks.onRead(this.room, seq);
  }

  toLatest() {
    this.windowToEnd();
    this.render('bottom');
  }

  // Scroll a held message into view (a reply's original, a search hit).
  // Shows seq marked as found (a search hit) for a few seconds; the mark
  // survives re-renders (the window is redrawn as history arrives).
  showFound(seq, ms) {
    this.foundSeq = seq;
    clearTimeout(this.foundTimer);
    this.foundTimer = setTimeout(() => {
      this.foundSeq = null;
      const li = this.ol.querySelector('li.found');
      if (li) li.classList.remove('found');
    }, ms);
    this.show(seq);
  }

  show(seq) {
    const list = roomMessages(this.room).list;
    const i = lowerBound(list, seq);
    if (i >= list.length) return;
    const s = Math.max(0, i - STEP);
    this.startSeq = list[s].seq;
    this.followEnd = s + WINDOW >= list.length;
    if (!this.followEnd) this.endSeq = list[s + WINDOW - 1].seq;
    this.render('none');
    const li = this.ol.querySelector(`li[data-seq="${seq}"]`);
    if (li) this.ol.scrollTop = li.offsetTop - 80;
  }

  clear() {
    this.room = null;
    this.ol.replaceChildren();
  }
}

// A message sent with files and no words carries the file names as its
// text (for notifications and clients without files); shown here, it
// would repeat what the cards already say.
function onlyNamesFiles(m) {
  if (!m.attachments || !m.attachments.length) return false;
  return (m.text || '') === m.attachments.map((a) => (a && a.name) || '').join(', ');
}

function isLong(text) {
  if (!text) return false;
  if (text.length > COLLAPSE_CHARS) return true;
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0 && lines <= COLLAPSE_LINES; i = text.indexOf('\n', i + 1)) lines++;
  return lines > COLLAPSE_LINES;
}

// Messages the person expanded stay expanded when the list is drawn again
// (a live event, a profile that arrived).
const expanded = new Set();

function collapse(body, id) {
  const more = button('', 'link show-more', () => {
    if (expanded.has(id)) expanded.delete(id);
    else expanded.add(id);
    show();
  });
  const show = () => {
    const open = expanded.has(id);
    body.classList.toggle('collapsed', !open);
    more.textContent = open ? t('show_less') : t('show_more');
    more.setAttribute('aria-expanded', open ? 'true' : 'false');
  };
  show();
  return more;
}

function attachments(list) {
  const box = el('div', 'attachments');
  for (const a of list) {
    if (a && a.expired) {
      box.append(expiredCard(a));
      continue;
    }
    if (!a || !safeUrl(a.url)) continue;
    if (IMAGE_TYPES.test(a.type || '')) {
      const link = el('a', 'preview');
      link.href = a.url;
      link.rel = 'noopener noreferrer';
      link.title = a.name || '';
      // The viewer overlay, not a raw tab (a modified click still opens one).
      link.addEventListener('click', (ev) => {
        if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
        ev.preventDefault();
        openViewer(a, link);
      });
      const img = el('img');
      img.src = a.url;
      img.alt = a.name || t('viewer_image');
      img.loading = 'lazy';
      // A preview that cannot load (e.g. a presigned URL on an origin the
      // page's CSP does not allow) falls back to the file card.
      img.addEventListener('error', () => link.replaceWith(fileCard(a)), { once: true });
      link.append(img);
      box.append(link);
    } else {
      box.append(fileCard(a));
    }
  }
  return box;
}

// A file the uploads retention removed: its name stays, the link goes.
function expiredCard(a) {
  const card = el('span', 'file-card expired');
  card.title = t('file_expired');
  card.append(el('span', 'file-icon', '⌛'), el('span', 'file-name', a.name || t('file_unnamed')));
  card.append(el('span', 'muted file-size', t('file_expired')));
  return card;
}

function fileCard(a) {
  const card = el('a', 'file-card');
  card.href = a.url;
  card.download = a.name || '';
  card.rel = 'noopener noreferrer';
  const ext = /\.([A-Za-z0-9]{1,4})$/.exec(a.name || '');
  const name = el('span', 'file-name', a.name || t('file_unnamed'));
  name.title = a.name || '';
  card.title = (a.name || t('file_unnamed')) + ' · ' + formatSize(a.size || 0);
  card.append(el('span', 'file-icon', ext ? ext[1].toUpperCase() : t('file_icon')), name);
  card.append(el('span', 'muted file-size', formatSize(a.size || 0)));
  return card;
}

// Link preview cards (message_preview events): text only. The page's image
// is not shown: the CSP allows no other origin's images, and loading one
// would tell that site who reads the room.
function linkPreviews(list) {
  const box = el('div', 'link-previews');
  for (const p of list) {
    if (!p || !/^https?:\/\//i.test(p.url || '') || !(p.title || p.description)) continue;
    const card = el('a', 'link-preview');
    card.href = p.url;
    card.target = '_blank';
    card.rel = 'noopener noreferrer';
    if (p.site_name) card.append(el('span', 'muted link-site', p.site_name));
    if (p.title) card.append(el('strong', 'link-title', p.title));
    if (p.description) card.append(el('span', 'link-desc', p.description));
    box.append(card);
  }
  return box;
}

// Attachment URLs come from the server: same-origin paths or http(s) only.
function safeUrl(u) {
  return typeof u === 'string' && (/^\/[^/\\]/.test(u) || /^https?:\/\//i.test(u));
}
