// Doorstep's service worker: makes the app shell load with no network.
// `cargo xtask sw-manifest` (Trunk's post_build hook) rewrites the next two lines.
const VERSION = "dev";
const PRECACHE = [];

const CACHE = `doorstep-shell-${VERSION}`;

// The shell for a page: the precached `index.html` of the deepest folder the
// path is under (`/manage/accounts` gets the manage bundle's, app/src/bundle.rs),
// else the top one.
const INDEX = "index.html";
const shellFor = (path) => PRECACHE
  .filter((url) => url.endsWith(`/${INDEX}`) && path.startsWith(url.slice(0, -INDEX.length)))
  .reduce((best, url) => (url.length > best.length ? url : best), `/${INDEX}`);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

// A new build's worker drops every older shell cache.
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("doorstep-shell-") && key !== CACHE)
          .map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Data goes through the sync engine, never through this cache; residents'
  // pages (/r/) are the server's own, with their own worker.
  if (request.method !== "GET" || url.origin !== self.location.origin ||
      url.pathname.startsWith("/api/") || url.pathname.startsWith("/r/")) {
    return;
  }
  if (request.mode === "navigate") {
    // Network first, so a deploy shows on the next load; the cached shell when offline.
    event.respondWith(
      fetch(request).catch(() => caches.match(shellFor(url.pathname), { cacheName: CACHE })),
    );
    return;
  }
  // Hashed assets never change under their name: the cache is always right.
  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request)),
  );
});
