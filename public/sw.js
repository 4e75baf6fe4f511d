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

// The manage bundle (app/src/bundle.rs) is kept only on devices whose role
// opens it: the app asks for it (app/src/shell.rs, start), and a new build keeps it
// where the old one had it. A volunteer's phone never downloads it.
const MANAGE = "/manage/";
const MANAGE_SHELL = `${MANAGE}${INDEX}`;
const KEEP_MANAGE = "keep-manage";
const isManage = (url) => url.startsWith(MANAGE);
const keepManage = (cache) => cache.addAll(PRECACHE.filter(isManage));

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE.filter((url) => !isManage(url)));
    // Any cache, so an older build's: this device used the manage bundle.
    if (await caches.match(MANAGE_SHELL)) {
      await keepManage(cache);
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data !== KEEP_MANAGE) {
    return;
  }
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    if (!(await cache.match(MANAGE_SHELL))) {
      await keepManage(cache);
    }
  })());
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

// Offline, a page whose bundle this device does not keep (a volunteer
// following a link to a coordinator's page): say so, with the way home.
const notKept = () => new Response(
  `<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Doorstep</title><link rel="stylesheet" href="${PRECACHE.find((url) => url.endsWith(".css") && !isManage(url)) || ""}">
<main class="page"><p class="banner error" data-testid="page-not-kept">此页面需要联网打开一次。<br>This page needs a connection once.</p>
<p><a href="/">返回首页 Home</a></p></main></html>`,
  { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
);

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
      fetch(request).catch(async () =>
        (await caches.match(shellFor(url.pathname), { cacheName: CACHE })) || notKept()),
    );
    return;
  }
  // Hashed assets never change under their name: the cache is always right.
  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request)),
  );
});
