//! Registers `sw.js`, which precaches the build so the app opens offline.

use wasm_bindgen_futures::JsFuture;

pub fn register() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let promise = navigator.service_worker().register("/sw.js");
    leptos::task::spawn_local(async move {
        if let Err(err) = JsFuture::from(promise).await {
            web_sys::console::warn_2(&"service worker registration failed:".into(), &err);
        }
    });
}
