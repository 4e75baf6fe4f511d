// The ticket page's only script: a copy of the page for offline visits
// (the worker at /h/sw.js, scope /h/), and a line saying so when offline.
(() => {
  const line = document.getElementById("offline");
  const show = () => { if (line) line.hidden = navigator.onLine; };
  addEventListener("online", show);
  addEventListener("offline", show);
  show();
  addEventListener("load", () => {
    const workers = navigator.serviceWorker;
    if (!workers || typeof workers.register !== "function" || !window.caches) return;
    workers.register("/h/sw.js", { scope: "/h/" })
      .then(() => caches.open("doorstep-resident"))
      .then((cache) => cache.add(location.href))
      .catch((error) => console.warn("offline copy unavailable:", error));
  });
})();
