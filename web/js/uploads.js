// File uploads: POST /api/uploads with the raw body (XMLHttpRequest, for
// its upload progress events; fetch has none). A 404 means the server has
// no uploads provider: the attach button goes away.
import { t } from './i18n.js';

export function upload(file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/uploads');
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('X-Filename', encodeURIComponent(file.name || 'pasted'));
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) onProgress(ev.loaded / ev.total);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch { /* not JSON */ }
      if (xhr.status === 201 || xhr.status === 200) resolve({ ok: true, data });
      else resolve({
        ok: false, status: xhr.status,
        message: (data && data.error && data.error.message) || xhr.statusText || t('upload_failed'),
      });
    };
    xhr.onerror = () => resolve({ ok: false, status: 0, message: t('cannot_reach_server') });
    xhr.send(file);
  });
}
