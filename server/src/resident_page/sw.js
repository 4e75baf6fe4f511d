// The resident pages' service worker (scope /r/, and /h/ for tickets): each page from the
// network, and the last copy of it when there is none. It caches nothing
// of the volunteer app.
const CACHE = "doorstep-resident";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || request.mode !== "navigate") return;
  const copy = () => caches.open(CACHE)
    .then((cache) => cache.match(request).then((hit) => hit || cache.match(request, { ignoreSearch: true })));
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const kept = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, kept)));
          return response;
        }
        // A server that cannot answer now: the last good copy, if any.
        return response.status >= 500 ? copy().then((hit) => hit || response) : response;
      })
      .catch(() => copy().then((hit) => hit || Response.error())),
  );
});
