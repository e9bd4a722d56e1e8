// Registers the service worker (web/sw.js) that keeps a copy of the
// client, so a reload without a network still opens the app (it then
// shows that it is offline and sends the outbox once the link is back).
// The worker is told which files this page loaded (resource timing), as
// the first load happens before it controls anything. Without service
// workers (an old browser, plain http off localhost) the app just goes
// without the offline copy.
export async function registerOfflineShell() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('sw.js', { scope: './' });
    const reg = await navigator.serviceWorker.ready;
    const files = performance.getEntriesByType('resource').map((e) => e.name);
    files.push(location.href.split('#')[0]);
    if (reg.active) reg.active.postMessage({ cache: files });
  } catch {
    /* no offline copy: the app still works online */
  }
}
