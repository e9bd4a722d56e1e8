// The image viewer: a click on an image attachment opens it in an
// overlay over the chat (a modal <dialog>), fitted to the window, with
// zoom (buttons, +/- keys, the wheel, a click on the image) and a
// download link; Escape or the close button returns focus to the thumbnail.
import { el, button } from './dom.js';

const ZOOM_STEPS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];
const FIT = -1; // "fit to window", the starting zoom

let current = null;

export function openViewer(att, opener) {
  closeViewer();
  const dlg = el('dialog', 'viewer');
  dlg.setAttribute('aria-label', att.name || 'image');
  const bar = el('div', 'viewer-bar');
  const title = el('span', 'viewer-name grow', att.name || '');
  const level = el('span', 'viewer-zoom muted');
  const out = button('−', 'icon', () => zoom(-1), 'Zoom out');
  const inn = button('+', 'icon', () => zoom(1), 'Zoom in');
  const fit = button('Fit', 'icon', () => setZoom(FIT), 'Fit to window');
  const dl = el('a', 'viewer-download', 'Download');
  dl.href = att.url;
  dl.download = att.name || '';
  dl.rel = 'noopener noreferrer';
  const close = button('✕', 'icon', closeViewer, 'Close');
  bar.append(title, level, out, inn, fit, dl, close);
  const stage = el('div', 'viewer-stage');
  const img = el('img');
  img.src = att.url;
  img.alt = att.name || 'image';
  stage.append(img);
  dlg.append(bar, stage);
  document.body.append(dlg);

  let z = FIT;
  function setZoom(v) {
    z = v;
    dlg.classList.toggle('fit', z === FIT);
    if (z === FIT) {
      img.style.width = '';
      level.textContent = 'Fit';
    } else {
      img.style.width = Math.round((img.naturalWidth || 0) * z) + 'px';
      level.textContent = Math.round(z * 100) + ' %';
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
    if (opener && opener.isConnected) opener.focus();
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
