// Interface text: one file per language in web/i18n/ (en.json is the
// reference), loaded once at start; t(key, {vars}) looks a string up and
// fills {name} placeholders. Numbers and dates follow the browser's locale
// through Intl. A key missing from the file shows as the key itself, so a
// gap is visible rather than silently English.
//
// Only part of web/js takes its text from here so far (the viewer, the
// collapse button, the member count, the digest and invite notes); the
// rest still has its English inline.
let strings = {};

const LANG = /^[a-z]{2,3}$/;

// Offline at start (a reload served by the service worker before it had
// copied this file): the keys show until the network is back, then the
// strings load and text drawn from then on is right.
export async function loadStrings() {
  if (await tryLoadStrings()) return;
  window.addEventListener('online', function again() {
    tryLoadStrings().then((ok) => ok && window.removeEventListener('online', again));
  });
}

async function tryLoadStrings() {
  const wanted = [];
  for (const l of [...(navigator.languages || []), 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANG.test(base) && !wanted.includes(base)) wanted.push(base);
  }
  // The first language the browser asks for, then English.
  for (const lang of [wanted[0], 'en']) {
    try {
      const r = await fetch(`i18n/${lang}.json`);
      if (!r.ok) continue;
      const s = await r.json();
      if (s && typeof s === 'object') {
        strings = s;
        document.documentElement.lang = lang;
        return true;
      }
    } catch {
      /* try the next one */
    }
  }
  return false;
}

export function t(key, vars) {
  const s = typeof strings[key] === 'string' ? strings[key] : key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

export function formatNumber(n, opts) {
  return new Intl.NumberFormat(undefined, opts).format(n);
}
