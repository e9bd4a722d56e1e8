// Times and days as people read them: "14:05", "Today", "Mon 3 Nov 2026",
// in the browser's locale (Intl); "Today" and "Yesterday" are interface
// text, from web/i18n.
import { t } from './i18n.js';

// The formatters are made once: an Intl.DateTimeFormat costs far more to
// create than to use, and a screen of messages formats hundreds of times.
const TIME = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
const DAY = new Intl.DateTimeFormat([], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
const FULL = new Intl.DateTimeFormat([], { dateStyle: 'full', timeStyle: 'medium' });
const DAY_MS = 24 * 3600 * 1000;

export function timeOf(ts) {
  return TIME.format(ts);
}

// Local calendar day number: equal for two times on the same day.
export function dayKey(ts) {
  const d = new Date(ts);
  return d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate();
}

export function dayLabel(ts) {
  const key = dayKey(ts);
  if (key === dayKey(Date.now())) return t('day_today');
  if (key === dayKey(Date.now() - DAY_MS)) return t('day_yesterday');
  return DAY.format(ts);
}

export function fullTime(ts) {
  return FULL.format(ts);
}
