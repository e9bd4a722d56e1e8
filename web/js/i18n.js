// Interface text: one file per language in web/i18n/ (en.json is the
// reference), loaded once at start. Every text a person reads comes from
// here: t(key, {vars}) looks a string up and fills {name} placeholders;
// tn(key, n, {vars}) picks the plural form key_one / key_other (… _few,
// _many as the language needs) with Intl.PluralRules; index.html's fixed
// text is named by data-i18n (textContent), data-i18n-placeholder,
// data-i18n-title and data-i18n-aria-label, filled by applyStrings (the
// English in the HTML shows until then). Numbers and dates follow the
// browser's locale through Intl. A key missing from the file shows as the
// key itself, so a gap is visible rather than silently English.
let strings = {};
let lang = 'en';
let plurals = new Intl.PluralRules('en');

const LANG = /^[a-z]{2,3}$/;
const ATTRS = [['placeholder', 'data-i18n-placeholder'], ['title', 'data-i18n-title'],
  ['aria-label', 'data-i18n-aria-label']];

// Offline at start (a reload served by the service worker before it had
// copied this file): the keys show until the network is back, then the
// strings load and text drawn from then on is right.
export async function loadStrings() {
  if (await tryLoadStrings()) return;
  window.addEventListener('online', function again() {
    tryLoadStrings().then((ok) => ok && window.removeEventListener('online', again));
  });
}

// The languages the browser asks for, best first, as file names.
export function wantedLanguages(languages) {
  const wanted = [];
  for (const l of [...(languages || []), 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANG.test(base) && !wanted.includes(base)) wanted.push(base);
  }
  return wanted;
}

async function tryLoadStrings() {
  // The first language the browser asks for, then English.
  const wanted = wantedLanguages(navigator.languages);
  for (const l of [wanted[0], 'en']) {
    try {
      const r = await fetch(`i18n/${l}.json`);
      if (!r.ok) continue;
      const s = await r.json();
      if (s && typeof s === 'object') {
        strings = s;
        lang = l;
        plurals = new Intl.PluralRules(l);
        document.documentElement.lang = l;
        applyStrings(document);
        return true;
      }
    } catch {
      /* try the next one */
    }
  }
  return false;
}

// The fixed text of index.html (and of any element given data-i18n*).
export function applyStrings(root) {
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const [attr, data] of ATTRS) {
    for (const e of root.querySelectorAll(`[${data}]`)) e.setAttribute(attr, t(e.getAttribute(data)));
  }
}

export function t(key, vars) {
  const s = typeof strings[key] === 'string' ? strings[key] : key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

// A count in words: "1 reply", "3 replies". {n} is the count in the
// browser's number format; the form is the language's (file's) plural
// category, falling back to key_other.
export function tn(key, n, vars) {
  const form = `${key}_${plurals.select(n)}`;
  const k = typeof strings[form] === 'string' ? form : `${key}_other`;
  return t(k, Object.assign({ n: formatNumber(n) }, vars));
}

export function language() {
  return lang;
}

export function formatNumber(n, opts) {
  return new Intl.NumberFormat(undefined, opts).format(n);
}
