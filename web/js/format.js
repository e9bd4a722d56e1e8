// Lightweight formatting, rendered safely: **bold**, _italic_, ~~struck~~,
// `code`, ``` fenced blocks ```, "- " / "1. " lists, "> " block quotes,
// links made clickable, @mentions highlighted.
// tokenize() is pure (tested in node, fuzzed with random text); render()
// builds DOM nodes from the tokens with textContent only, never innerHTML.
// Limits: text is at most the server's max_text (4000 code points), nesting
// is at most 2 levels, and every pattern is linear (no backtracking traps).
const MAX_INPUT = 20000; // longer text is shown plain
const MAX_DEPTH = 2;
const INLINE = new RegExp(
  [
    '(`[^`\\n]+`)', // 1 code
    '(\\*\\*(?=\\S)[^*\\n]+?\\*\\*)', // 2 bold
    '((?<![\\w\\\\])_(?=\\S)[^_\\n]+?_(?![\\w]))', // 3 italic (not after a backslash: ¯\_(ツ)_/¯)
    '(https?:\\/\\/[^\\s<>"]+)', // 4 link
    '((?<![\\w@])@[A-Za-z0-9_.\\-]+)', // 5 mention
    '(~~(?=\\S)[^~\\n]+?~~)', // 6 strikethrough
    '(\\b\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(?::\\d{2})?Z\\b)', // 7 a UTC time (bots, notices)
  ].join('|'),
  'g',
);
const TRAILING = /[.,;:!?)\]'"]+$/;

export function inline(s, depth = 0) {
  const out = [];
  let last = 0;
  const re = new RegExp(INLINE.source, 'g'); // own state: recursion-safe
  let m;
  while ((m = re.exec(s))) {
    let whole = m[0];
    if (m[4] || m[5]) {
      // A link or name does not end in punctuation that closes the sentence.
      const trail = whole.match(m[4] ? TRAILING : /[.-]+$/);
      if (trail) whole = whole.slice(0, whole.length - trail[0].length);
      if (whole.length <= (m[4] ? 'https://'.length : 1)) continue;
      re.lastIndex = m.index + whole.length;
    }
    if (m.index > last) out.push({ t: 'text', v: s.slice(last, m.index) });
    if (m[1]) out.push({ t: 'code', v: whole.slice(1, -1) });
    else if (m[2]) {
      const inner = whole.slice(2, -2);
      out.push({ t: 'b', c: depth < MAX_DEPTH ? inline(inner, depth + 1) : [{ t: 'text', v: inner }] });
    } else if (m[3]) {
      const inner = whole.slice(1, -1);
      out.push({ t: 'i', c: depth < MAX_DEPTH ? inline(inner, depth + 1) : [{ t: 'text', v: inner }] });
    } else if (m[7]) {
      if (Number.isNaN(Date.parse(whole))) out.push({ t: 'text', v: whole });
      else out.push({ t: 'time', v: whole });
    } else if (m[6]) {
      const inner = whole.slice(2, -2);
      out.push({ t: 's', c: depth < MAX_DEPTH ? inline(inner, depth + 1) : [{ t: 'text', v: inner }] });
    } else if (m[4]) out.push({ t: 'link', v: whole });
    else out.push({ t: 'mention', v: whole.slice(1) });
    last = m.index + whole.length;
  }
  if (last < s.length) out.push({ t: 'text', v: s.slice(last) });
  return out;
}

// Blocks: fenced code (```lang? … ```) and text.
export function tokenize(text) {
  if (typeof text !== 'string') return [];
  if (text.length > MAX_INPUT) return [{ t: 'p', c: [{ t: 'text', v: text }] }];
  const blocks = [];
  const parts = text.split('```');
  // An odd count of fences: the last one is not closed, so it is text.
  const closed = parts.length % 2 === 1 ? parts.length : parts.length - 1;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (i % 2 === 1 && i < closed) {
      // Inside a fence: drop a language word on the first line and the
      // newline right after the opening and before the closing fence.
      let body = part.replace(/^[A-Za-z0-9_+-]*\n/, '');
      body = body.replace(/\n$/, '');
      blocks.push({ t: 'pre', v: body });
    } else {
      const v = i % 2 === 1 ? '```' + part : part;
      if (!v) continue;
      const prev = blocks[blocks.length - 1];
      if (prev && prev.t === 'p' && i % 2 === 1) prev.c.push(...inline(v));
      else blocks.push(...lineBlocks(v));
    }
  }
  return blocks;
}

// Line-level blocks of text outside fences: runs of "- "/"* " items (ul),
// of "1. " items (ol), of "> " lines (quote); everything else is a
// paragraph that keeps its newlines. A quote's or item's text is inline
// markup only (no nesting: one level keeps the limits simple).
const LINE_KINDS = [
  ['ul', /^[-*] (?=\S)/],
  ['ol', /^\d{1,9}[.)] (?=\S)/],
  ['quote', /^> ?/],
];

function kindOf(line) {
  for (const [t, re] of LINE_KINDS) {
    const m = re.exec(line);
    if (m) return { t, rest: line.slice(m[0].length) };
  }
  return null;
}

function lineBlocks(text) {
  const out = [];
  let para = '';
  const flush = () => {
    if (para) out.push({ t: 'p', c: inline(para) });
    para = '';
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const k = kindOf(lines[i]);
    if (!k) {
      para += lines[i] + (i < lines.length - 1 ? '\n' : '');
      continue;
    }
    flush();
    const prev = out[out.length - 1];
    if (k.t === 'quote') {
      if (prev && prev.t === 'quote' && prev.open) prev.c.push({ t: 'text', v: '\n' }, ...inline(k.rest));
      else out.push({ t: 'quote', open: true, c: inline(k.rest) });
    } else if (prev && prev.t === k.t && prev.open) prev.items.push(inline(k.rest));
    else out.push({ t: k.t, open: true, items: [inline(k.rest)] });
    // The newline that ends a list item or quote line belongs to it.
    if (i === lines.length - 1) break;
  }
  flush();
  for (const b of out) delete b.open;
  return out;
}

// The plain text a token list stands for (tests: nothing is lost).
export function plain(tokens) {
  let s = '';
  for (const t of tokens) {
    if (t.t === 'text' || t.t === 'link' || t.t === 'time') s += t.v;
    else if (t.t === 'code') s += t.v;
    else if (t.t === 'mention') s += '@' + t.v;
    else if (t.t === 'pre') s += t.v;
    else if (t.items) s += t.items.map(plain).join('\n');
    else if (t.c) s += plain(t.c);
  }
  return s;
}

// DOM from tokens. isMe(name) marks mentions of the reader; isKnown(name)
// marks mentions of real people (others stay plain text).
const TIME_FORMAT = { dateStyle: 'medium', timeStyle: 'short' };

export function localTime(iso) {
  return new Intl.DateTimeFormat(undefined, TIME_FORMAT).format(new Date(iso));
}

export function render(text, { isMe, isKnown } = {}) {
  return renderBlocks(tokenize(text), isMe, isKnown);
}

// One line of inline markup only (reply quotes): blocks flattened, so a
// list or quote in the original does not break the quote's single line.
export function renderInline(text, { isMe, isKnown } = {}) {
  const frag = document.createDocumentFragment();
  appendInline(frag, inline(String(text).replace(/\s+/g, ' ')), isMe, isKnown);
  return frag;
}

function renderBlocks(blocks, isMe, isKnown) {
  const frag = document.createDocumentFragment();
  for (const b of blocks) {
    if (b.t === 'pre') {
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      code.textContent = b.v;
      pre.append(code);
      frag.append(pre);
    } else if (b.t === 'ul' || b.t === 'ol') {
      const list = document.createElement(b.t);
      for (const item of b.items) {
        const li = document.createElement('li');
        appendInline(li, item, isMe, isKnown);
        list.append(li);
      }
      frag.append(list);
    } else if (b.t === 'quote') {
      const q = document.createElement('blockquote');
      appendInline(q, b.c, isMe, isKnown);
      frag.append(q);
    } else {
      appendInline(frag, b.c, isMe, isKnown);
    }
  }
  return frag;
}

function appendInline(parent, tokens, isMe, isKnown) {
  for (const t of tokens) {
    if (t.t === 'text') parent.append(document.createTextNode(t.v));
    else if (t.t === 'code') {
      const c = document.createElement('code');
      c.textContent = t.v;
      parent.append(c);
    } else if (t.t === 'b' || t.t === 'i' || t.t === 's') {
      const e = document.createElement({ b: 'strong', i: 'em', s: 's' }[t.t]);
      appendInline(e, t.c, isMe, isKnown);
      parent.append(e);
    } else if (t.t === 'time') {
      // The server and scripts write times in UTC (ISO 8601); each reader
      // sees them in their own time zone and locale.
      const tm = document.createElement('time');
      tm.dateTime = t.v;
      tm.title = t.v;
      tm.textContent = localTime(t.v);
      parent.append(tm);
    } else if (t.t === 'link') {
      const a = document.createElement('a');
      a.href = t.v; // only http(s): the pattern allows nothing else
      a.textContent = t.v;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      parent.append(a);
    } else if (t.t === 'mention') {
      const me = isMe && isMe(t.v);
      if (me || !isKnown || isKnown(t.v)) {
        const s = document.createElement('span');
        s.className = me ? 'mention me' : 'mention';
        s.textContent = '@' + t.v;
        parent.append(s);
      } else {
        parent.append(document.createTextNode('@' + t.v));
      }
    }
  }
}
