// parley's service worker: a copy of the client (HTML, CSS, modules,
// icons) so that a reload while offline still opens the app. Network
// first: online, every file comes fresh from the server (its ETag keeps
// that cheap) and the copy is refreshed; offline, the copy answers.
// Never cached: the API, the WebSocket, uploads, anything not a GET or
// from another origin. The page tells the worker which files it loaded
// (offline-shell.js), so no list of modules is kept here.
const CACHE = 'parley-client-v1';
const NOT_CLIENT = /^\/(api|ws|uploads|metrics|health)(\/|$)/;

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

function cacheable(url) {
  const u = new URL(url, self.location.href);
  return u.origin === self.location.origin && !NOT_CLIENT.test(u.pathname);
}

// The page's list of what it loaded before this worker controlled it.
self.addEventListener('message', (ev) => {
  const urls = Array.isArray(ev.data && ev.data.cache) ? ev.data.cache : [];
  ev.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const url of urls.slice(0, 200)) {
      if (typeof url !== 'string' || !cacheable(url)) continue;
      const key = url.split('#')[0];
      if (await cache.match(key)) continue;
      try {
        const res = await fetch(key, { credentials: 'same-origin' });
        if (res.ok) await cache.put(key, res);
      } catch {
        /* offline already: nothing to copy */
      }
    }
  })());
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET' || !cacheable(req.url)) return;
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (res.ok && res.type === 'basic') await cache.put(req, res.clone());
      return res;
    } catch (e) {
      const hit = await cache.match(req, { ignoreSearch: req.mode === 'navigate' });
      if (hit) return hit;
      throw e;
    }
  })());
});
