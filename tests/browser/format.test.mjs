// The formatter's tokenizer (web/js/format.js) in plain node: known cases,
// then random text (seeded, so a failure repeats) that must never throw,
// never lose or invent a character outside markup, and get through long
// hostile input. Nothing here touches the DOM.
import assert from 'node:assert/strict';
import { tokenize, inline, plain } from '../../web/js/format.js';

const t = (s) => JSON.stringify(tokenize(s));
assert.equal(t('plain'), '[{"t":"p","c":[{"t":"text","v":"plain"}]}]');
assert.deepEqual(inline('**b** _i_ `c`').map((x) => x.t), ['b', 'text', 'i', 'text', 'code']);
assert.deepEqual(inline('snake_case_name'), [{ t: 'text', v: 'snake_case_name' }]);
// A backslash before _ opens no italics: the shrug /shrug posts stays whole.
assert.equal(plain(inline('fine ¯\\_(ツ)_/¯')), 'fine ¯\\_(ツ)_/¯');
assert.deepEqual(inline('¯\\_(ツ)_/¯').map((x) => x.t), ['text']);
assert.deepEqual(inline('see https://a.org/x).').map((x) => x.v || x.t), ['see ', 'https://a.org/x', ').']);
assert.deepEqual(inline('javascript:alert(1)').map((x) => x.t), ['text']);
assert.deepEqual(inline('mail a@b.org').map((x) => x.t), ['text']);
assert.deepEqual(inline('hi @bob.').map((x) => x.v), ['hi ', 'bob', '.']);
assert.equal(tokenize('```js\nlet a = 1;\n```')[0].v, 'let a = 1;');
assert.equal(tokenize('``` not closed')[0].t, 'p');
// Strikethrough, lists, block quotes.
assert.deepEqual(inline('a ~~gone~~ b').map((x) => x.t), ['text', 's', 'text']);
assert.deepEqual(inline('~~ not~~ and ~x~').map((x) => x.t), ['text']);
{
  const b = tokenize('todo:\n- buy **agar**\n- call Bob\n1. first\n2) second\n> quoted _line_\n> more\nafter');
  assert.deepEqual(b.map((x) => x.t), ['p', 'ul', 'ol', 'quote', 'p']);
  assert.equal(b[0].c[0].v, 'todo:\n');
  assert.equal(b[1].items.length, 2);
  assert.equal(b[1].items[0][1].t, 'b');
  assert.deepEqual(b[2].items.map(plain), ['first', 'second']);
  assert.equal(plain(b[3].c), 'quoted line\nmore');
  assert.equal(plain(b[4].c), 'after');
}
// Not lists: no space after the marker, a dash inside a line, a number
// without a dot.
assert.deepEqual(tokenize('-no\nx - y\n2024 was\n>').map((x) => x.t), ['p', 'quote']);
assert.deepEqual(tokenize('```\n- in code\n```').map((x) => x.t), ['pre']);
// UTC times (bot replies, mute notices) become time tokens; not a date
// that does not exist, nor a time without its Z.
assert.deepEqual(inline('muted until 2026-12-06T15:30:00Z.').map((x) => x.t), ['text', 'time', 'text']);
assert.equal(inline('at 2026-12-06T15:30Z')[1].v, '2026-12-06T15:30Z');
assert.deepEqual(inline('2026-13-45T99:99:00Z 2026-12-06T15:30:00').map((x) => x.t), ['text', 'text']);
// Links are only ever http(s).
for (const b of tokenize('x https://ok.org y ftp://no data:text/html,1')) {
  for (const tok of b.c || []) if (tok.t === 'link') assert.match(tok.v, /^https?:\/\//);
}

// Random text from an alphabet rich in markup characters.
let seed = 12345;
const rnd = (n) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
const alphabet = ['*', '**', '_', '`', '```', '\n', ' ', 'a', 'Z', '@', 'x.', 'https://', 'é', '🙂', '<b>', '&amp;', ')', '~~', '~'];
for (let i = 0; i < 3000; i++) {
  let s = '';
  const len = rnd(80);
  for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
  const blocks = tokenize(s);
  // Outside fences, the text is all there (markup characters aside).
  if (!s.includes('```')) {
    // (A "* " line is a list item: its marker and line break are markup.)
    const strip = (x) => x.replace(/[*_`~\s]/g, '');
    assert.equal(strip(plain(blocks)), strip(s), JSON.stringify(s));
  }
}
// Long hostile input (a backtracking pattern would hang here).
tokenize('**_`'.repeat(1000) + 'a'.repeat(4000));
tokenize('_a'.repeat(2000));
tokenize('~~a'.repeat(2000));
tokenize('- '.repeat(3000) + '\n> '.repeat(3000));
// Block markers in random lines: never throws, nothing invented.
const lineAlphabet = ['- ', '* ', '1. ', '> ', '>', '\n', 'a', ' ', '~~', '**', '_'];
for (let i = 0; i < 2000; i++) {
  let s = '';
  for (let j = rnd(40); j > 0; j--) s += lineAlphabet[rnd(lineAlphabet.length)];
  const letters = (x) => x.replace(/[^a]/g, '');
  assert.equal(letters(tokenize(s).map((b) => plain(b.items ? [{ t: 'x', items: b.items }] : b.c)).join('')), letters(s), JSON.stringify(s));
}
tokenize('https://' + 'a'.repeat(4000));
console.log('format: tokenizer cases and 3000 random texts ok');
