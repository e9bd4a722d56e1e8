// JSON over HTTP with the session cookie. Every answer is
// {ok, status, data, message}: callers never see exceptions, and a 404
// means "this server does not have that feature" (uploads, scripts).
import { t, formatNumber } from './i18n.js';

async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body !== undefined ? { 'Content-Type': 'application/json' } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    return { ok: false, status: 0, message: t('cannot_reach_server') };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok) return { ok: true, status: res.status, data };
  let message = (data && data.error && data.error.message) || res.statusText || t('request_failed');
  const code = data && data.error && data.error.code;
  if (res.status === 429) {
    const after = Number(res.headers.get('Retry-After'));
    message = after > 0 ? t('too_many_attempts_wait', { n: formatNumber(after) }) : t('too_many_attempts');
  }
  return { ok: false, status: res.status, code, message, data };
}

export const getJSON = (path) => call('GET', path);
export const postJSON = (path, body) => call('POST', path, body === undefined ? {} : body);
export const patchJSON = (path, body) => call('PATCH', path, body);
