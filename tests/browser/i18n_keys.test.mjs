// web/i18n/en.json against the code, in plain node: every key the client
// uses (t('…'), tn('…') and index.html's data-i18n* attributes) is in the
// file, every key in the file is used (no dead strings for translators),
// keys are literal (so this check sees them), plurals have their English
// forms, and each string's {placeholders} are ones its callers fill.
// Also the plural and placeholder logic of web/js/i18n.js itself.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const en = JSON.parse(readFileSync(join(root, 'web/i18n/en.json'), 'utf8'));
const PLURAL = /_(zero|one|two|few|many|other)$/;

for (const [k, v] of Object.entries(en)) {
  assert.match(k, /^[a-z][a-z0-9_]*$/, `key ${k}: lower case, digits and _ only`);
  assert.equal(typeof v, 'string', `key ${k}: a string`);
  assert.ok(v.trim().length, `key ${k}: not empty`);
}

// Uses in the code: key -> {plural, vars: Set | null (unknown)}.
const used = new Map();
function use(key, plural, vars, where) {
  const u = used.get(key) || { plural, vars: new Set(), where };
  assert.equal(u.plural, plural, `${key}: used both with t() and tn() (${where}, ${u.where})`);
  if (vars === null || u.vars === null) u.vars = null;
  else for (const v of vars) u.vars.add(v);
  used.set(key, u);
}

// The {name: …} keys of an object literal right after the key (nested
// braces are skipped); null when the vars are not a literal.
function varsAfter(src, i) {
  while (/\s/.test(src[i])) i++;
  if (src[i] === ')') return [];
  if (src[i] !== ',') return null;
  i++;
  while (/\s/.test(src[i])) i++;
  if (src[i] !== '{') return null;
  const names = [];
  let depth = 0;
  let expectKey = true;
  for (; i < src.length; i++) {
    const c = src[i];
    if (c === '{' || c === '(' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
      continue;
    }
    if (c === '}' || c === ')' || c === ']') {
      if (--depth === 0) return names;
      continue;
    }
    if (depth === 1 && c === ',') {
      expectKey = true;
      continue;
    }
    if (depth === 1 && expectKey && /[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_]\w*/.exec(src.slice(i));
      names.push(m[0]);
      i += m[0].length - 1;
      expectKey = false;
    }
  }
  return null;
}

const jsDir = join(root, 'web/js');
for (const f of readdirSync(jsDir).filter((x) => x.endsWith('.js'))) {
  const src = readFileSync(join(jsDir, f), 'utf8');
  if (f === 'i18n.js') continue; // defines t and tn
  for (const m of src.matchAll(/(?<![\w.$])(tn?)\(/g)) {
    const rest = src.slice(m.index + m[0].length);
    const lit = /^'([^']*)'/.exec(rest);
    assert.ok(lit, `${f}: ${m[1]}() with a key that is not a literal: ${rest.slice(0, 40)}`);
    let after = m.index + m[0].length + lit[0].length;
    if (m[1] === 'tn') {
      // tn(key, n, vars): skip the count argument.
      const c = /^\s*,\s*/.exec(src.slice(after));
      assert.ok(c, `${f}: tn('${lit[1]}') without a count`);
      let depth = 0;
      let i = after + c[0].length;
      for (; i < src.length; i++) {
        const ch = src[i];
        if ('([{'.includes(ch)) depth++;
        else if (')]}'.includes(ch)) {
          if (depth === 0) break;
          depth--;
        } else if (ch === ',' && depth === 0) break;
      }
      after = i;
    }
    const vars = varsAfter(src, after);
    use(lit[1], m[1] === 'tn', vars === null ? null : m[1] === 'tn' ? [...vars, 'n'] : vars, f);
  }
}

const html = readFileSync(join(root, 'web/index.html'), 'utf8');
for (const m of html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]*)"/g)) use(m[1], false, [], 'index.html');

// Every key used is there, with the forms and placeholders its callers fill.
for (const [key, u] of used) {
  const forms = u.plural ? [`${key}_one`, `${key}_other`] : [key];
  for (const k of forms) {
    assert.ok(k in en, `${u.where}: ${k} is not in web/i18n/en.json`);
    if (u.vars === null) continue;
    for (const p of en[k].matchAll(/\{(\w+)\}/g)) {
      assert.ok(u.vars.has(p[1]), `${k}: {${p[1]}} is never filled by its callers (${u.where})`);
    }
  }
}

// Every key in the file is used.
for (const k of Object.keys(en)) {
  const base = k.replace(PLURAL, '');
  const ok = (used.has(k) && !used.get(k).plural) || (base !== k && used.has(base) && used.get(base).plural);
  assert.ok(ok, `web/i18n/en.json: ${k} is not used by web/js or web/index.html`);
}

// Every other language file has only keys English has (a typo is a dead key).
for (const f of readdirSync(join(root, 'web/i18n')).filter((x) => x.endsWith('.json') && x !== 'en.json')) {
  const other = JSON.parse(readFileSync(join(root, 'web/i18n', f), 'utf8'));
  for (const k of Object.keys(other)) assert.ok(k in en || k.replace(PLURAL, '') + '_other' in en, `web/i18n/${f}: ${k} is not a key of en.json`);
}

// i18n.js: placeholders, the key itself for a missing string, plural forms.
// It runs against stand-ins for the page's globals, put back after (the
// browser tests that follow in the same process use node's fetch).
const saved = ['document', 'navigator', 'fetch'].map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)]);
globalThis.document = { documentElement: {}, querySelectorAll: () => [] };
Object.defineProperty(globalThis, 'navigator', { value: { languages: ['fr-CH', 'de'] }, configurable: true, writable: true });
const files = { 'i18n/fr.json': { hi: 'Salut {name}', r_one: '{n} réponse', r_other: '{n} réponses' } };
globalThis.fetch = async (url) => ({ ok: url in files, json: async () => files[url] });
const i18n = await import('../../web/js/i18n.js');
assert.deepEqual(i18n.wantedLanguages(['pt-BR', 'pt', 'en-GB', '!!']), ['pt', 'en']);
await i18n.loadStrings();
assert.equal(i18n.language(), 'fr');
assert.equal(globalThis.document.documentElement.lang, 'fr');
assert.equal(i18n.t('hi', { name: 'Ana' }), 'Salut Ana');
assert.equal(i18n.t('hi'), 'Salut {name}');
assert.equal(i18n.t('missing_key'), 'missing_key');
assert.equal(i18n.tn('r', 0), '0 réponse'); // French: 0 and 1 are "one"
assert.equal(i18n.tn('r', 1), '1 réponse');
assert.equal(i18n.tn('r', 2), '2 réponses');
for (const [k, d] of saved) {
  if (d) Object.defineProperty(globalThis, k, d);
  else delete globalThis[k];
}

console.log(`ok i18n_keys.test.mjs (${Object.keys(en).length} strings, ${used.size} keys used)`);
