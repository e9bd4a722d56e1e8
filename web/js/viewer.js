// The image viewer: a click on an image attachment opens it in an
// overlay over the chat (a modal <dialog>), fitted to the window, with
// zoom (buttons, +/- keys, the wheel, a click on the image) and a
// download link; Escape or the close button returns focus to the thumbnail.
import { el, button } from './dom.js';
import { t, formatNumber } from './i18n.js';

const ZOOM_STEPS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];
const FIT = -1; // "fit to window", the starting zoom

let current = null;

export function openViewer(att, opener) {
  closeViewer();
  const dlg = el('dialog', 'viewer');
  dlg.setAttribute('aria-label', att.name || t('viewer_image'));
  const bar = el('div', 'viewer-bar');
  const title = el('span', 'viewer-name grow', att.name || '');
  const level = el('span', 'viewer-zoom muted');
  const out = button('−', 'icon', () => zoom(-1), t('viewer_zoom_out'));
  const inn = button('+', 'icon', () => zoom(1), t('viewer_zoom_in'));
  const fit = button(t('viewer_fit'), 'icon', () => setZoom(FIT), t('viewer_fit_title'));
  const dl = el('a', 'viewer-download', t('viewer_download'));
  dl.href = att.url;
  dl.download = att.name || '';
  dl.rel = 'noopener noreferrer';
  const close = button('✕', 'icon', closeViewer, t('viewer_close'));
  bar.append(title, level, out, inn, fit, dl, close);
  const stage = el('div', 'viewer-stage');
  const img = el('img');
  img.src = att.url;
  img.alt = att.name || t('viewer_image');
  stage.append(img);
  dlg.append(bar, stage);
  document.body.append(dlg);

  let z = FIT;
  function setZoom(v) {
    z = v;
    dlg.classList.toggle('fit', z === FIT);
    if (z === FIT) {
      img.style.width = '';
      level.textContent = t('viewer_fit');
    } else {
      img.style.width = Math.round((img.naturalWidth || 0) * z) + 'px';
      level.textContent = formatNumber(z, { style: 'percent' });
    }
  }
  // The current scale, fitted or not, so a step from "fit" goes to the
  // next real step up or down.
  function scale() {
    if (z !== FIT) return z;
    return img.naturalWidth ? img.clientWidth / img.naturalWidth : 1;
  }
  function zoom(dir) {
    const s = scale();
    const next = dir > 0 ? ZOOM_STEPS.find((v) => v > s + 0.001) : [...ZOOM_STEPS].reverse().find((v) => v < s - 0.001);
    if (next !== undefined) setZoom(next);
  }
  img.addEventListener('click', () => (z === FIT ? setZoom(1) : setZoom(FIT)));
  stage.addEventListener('wheel', (ev) => {
    if (!ev.ctrlKey && !ev.metaKey) return; // plain wheel scrolls the zoomed image
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? 1 : -1);
  }, { passive: false });
  dlg.addEventListener('keydown', (ev) => {
    if (ev.key === '+' || ev.key === '=') zoom(1);
    else if (ev.key === '-') zoom(-1);
    else if (ev.key === '0') setZoom(FIT);
  });
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (current && current.dlg === dlg) current = null;
    // The list may have been drawn again while the viewer was open (a
    // profile or an edit arriving): then the same image's new thumbnail.
    let back = opener;
    if (back && !back.isConnected) {
      const href = back.getAttribute('href');
      back = [...document.querySelectorAll('#messages a.preview')].find((e) => e.getAttribute('href') === href);
    }
    if (back) back.focus();
  });
  // A click on the backdrop (outside the stage's image and the bar) closes.
  stage.addEventListener('click', (ev) => {
    if (ev.target === stage) closeViewer();
  });
  current = { dlg };
  setZoom(FIT);
  dlg.showModal();
  close.focus();
}

export function closeViewer() {
  if (current && current.dlg.open) current.dlg.close();
  current = null;
}
