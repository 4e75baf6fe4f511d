// The resident page's only script: keeps the status live (server-sent
// events, polling while the stream is down), keeps the last status for
// offline use with its age on the server's clock, and alerts when the truck
// is next. Every sentence comes from the page; every time from the server.
(() => {
  const d = document, body = d.body.dataset, live = d.getElementById("live");
  const offline = d.getElementById("offline"), button = d.getElementById("alerts");
  const lang = body.lang, LANG = "doorstep.resident.lang";
  const KEY = "doorstep.resident." + body.compound + "/" + body.building;
  const store = (key, value) => { try { localStorage.setItem(key, value); } catch (e) { /* private mode: kept for this visit only */ } };
  const read = (key) => { try { return localStorage.getItem(key); } catch (e) { return null; } };

  // English is remembered: a poster's plain link opens in it next time.
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked) store(LANG, asked);
  else if (read(LANG) === "en" && lang !== "en") { location.replace("?lang=en"); return; }

  // What is shown: the status, the server's clock when it was made, and
  // how far this phone's clock is from the server's.
  let shown = { t: +live.dataset.t || 0, m: live.dataset.m || "", html: live.innerHTML, lang, offset: 0 };
  let saved = null;
  try { saved = JSON.parse(read(KEY)); } catch (e) { saved = null; }
  if (saved && saved.lang === lang && saved.t >= shown.t) {
    shown = saved; // this page came from the offline copy: the last status is newer
    live.innerHTML = saved.html;
  } else if (shown.t) {
    shown.offset = shown.t - Date.now();
    store(KEY, JSON.stringify(shown));
  }
  const serverNow = () => Date.now() + shown.offset;

  let failed = false;
  const showOffline = () => {
    const away = (!navigator.onLine || failed) && shown.t > 0;
    offline.hidden = !away;
    if (away) offline.textContent = offline.dataset.text.replace("{n}", Math.max(0, Math.floor((serverNow() - shown.t) / 60000)));
  };

  let alertsOn = false, alerted = shown.m;
  const beep = () => {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    const context = new Context();
    [[0, 880], [0.35, 1175]].forEach(([start, frequency]) => {
      const tone = context.createOscillator(), gain = context.createGain();
      tone.frequency.value = frequency;
      gain.gain.value = 0.3;
      tone.connect(gain);
      gain.connect(context.destination);
      tone.start(context.currentTime + start);
      tone.stop(context.currentTime + start + 0.25);
    });
  };
  const alertNow = (moment) => {
    beep();
    if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    if (window.Notification && Notification.permission === "granted") new Notification(button.dataset.title, { body: button.dataset[moment] });
  };
  button.onclick = () => {
    alertsOn = true;
    beep(); // the tap unlocks sound for later alerts
    if (window.Notification && Notification.requestPermission) Notification.requestPermission();
    button.hidden = true;
    d.getElementById("alerts-on").hidden = false;
  };

  const apply = (update) => {
    shown = { t: update.server_time_ms, m: update.moment || "", html: update.html, lang, offset: update.server_time_ms - Date.now() };
    live.innerHTML = update.html;
    store(KEY, JSON.stringify(shown));
    if (shown.m) {
      if (shown.m !== alerted && alertsOn) alertNow(shown.m);
      alerted = shown.m;
    }
    failed = false;
    showOffline();
  };

  const path = "/api/public/status/" + encodeURIComponent(body.compound) + "/" + encodeURIComponent(body.building);
  let source = null;
  if (window.EventSource) {
    source = new EventSource(path + "/stream?lang=" + lang);
    source.onmessage = (event) => apply(JSON.parse(event.data));
    source.onerror = () => { failed = true; showOffline(); };
  }
  const poll = () => {
    if (source && source.readyState === 1) return;
    fetch(path + "?lang=" + lang, { cache: "no-store" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then(apply, () => { failed = true; showOffline(); });
  };
  if (!shown.t) poll();
  setInterval(poll, 30000);
  setInterval(showOffline, 10000);
  addEventListener("online", () => { showOffline(); poll(); });
  addEventListener("offline", showOffline);
  showOffline();

  // A copy of this page for offline visits (its own small worker, not the
  // volunteer app's). Without one (some in-app browsers) the page still works online.
  addEventListener("load", () => {
    const workers = navigator.serviceWorker;
    if (!workers || typeof workers.register !== "function" || !window.caches) return;
    workers.register("/r/sw.js", { scope: "/r/" })
      .then(() => caches.open("doorstep-resident"))
      .then((cache) => cache.add(location.href))
      .catch((error) => console.warn("offline copy unavailable:", error));
  });
})();
