//! Registers `sw.js`, which precaches the build so the app opens offline;
//! and says when this browser cannot do that (WeChat's in-app browser: none
//! on iOS, and sometimes a `navigator.serviceWorker` that is there but
//! unusable), so the person knows to open the app in a real browser. Asks
//! the worker to keep the manage bundle for roles that open it.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// localStorage key: the person has read the browser notice (a UI setting).
const NOTICE_DISMISSED_KEY: &str = "doorstep.browser-notice-dismissed";

/// The message public/sw.js takes as "keep the manage bundle".
const KEEP_MANAGE: &str = "keep-manage";

/// Registers the worker; false when this browser has no usable service
/// worker (the app then works online only). Never throws.
pub fn register() -> bool {
    let Some(container) = container() else {
        return false;
    };
    let promise = match method(&container, "register")
        .and_then(|register| register.call1(&container, &"/sw.js".into()).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    {
        Some(promise) => promise,
        None => {
            web_sys::console::warn_1(&"service worker unavailable".into());
            return false;
        }
    };
    leptos::task::spawn_local(async move {
        if let Err(err) = JsFuture::from(promise).await {
            web_sys::console::warn_2(&"service worker registration failed:".into(), &err);
        }
    });
    true
}

/// Asks the worker (public/sw.js) to keep the manage bundle offline on this
/// device too, once it is active: only roles that open it ask, so a
/// volunteer's phone never downloads the coordinator's pages.
pub fn keep_manage_bundle() {
    let Some(ready) = container()
        .and_then(|c| js_sys::Reflect::get(&c, &"ready".into()).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return;
    };
    leptos::task::spawn_local(async move {
        let posted = JsFuture::from(ready).await.and_then(|registration| {
            let active = js_sys::Reflect::get(&registration, &"active".into())?;
            let post = method(&active, "postMessage")
                .ok_or_else(|| JsValue::from_str("no active worker"))?;
            post.call1(&active, &KEEP_MANAGE.into())
        });
        if let Err(err) = posted {
            web_sys::console::warn_2(&"service worker: manage bundle not kept:".into(), &err);
        }
    });
}

/// `navigator.serviceWorker` if it is there and usable: present is not
/// enough, WeChat may define it as `undefined`.
fn container() -> Option<JsValue> {
    let navigator = web_sys::window()?.navigator();
    let container = js_sys::Reflect::get(&navigator, &"serviceWorker".into()).ok()?;
    (container.is_object() && method(&container, "register").is_some()).then_some(container)
}

/// `object[name]` if it is a function.
fn method(object: &JsValue, name: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(object, &name.into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
}

/// Whether to say that offline starts need a real browser: inside WeChat
/// (its user agent says `MicroMessenger`), or wherever no service worker
/// could be registered; once, until dismissed.
pub fn needs_browser_notice(user_agent: &str, service_worker: bool, dismissed: bool) -> bool {
    !dismissed && (user_agent.contains("MicroMessenger") || !service_worker)
}

/// The browser's user agent string.
pub fn user_agent() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default()
}

/// Whether the browser notice was dismissed on this device.
pub fn notice_dismissed() -> bool {
    super::settings::text(NOTICE_DISMISSED_KEY).is_some()
}

pub fn dismiss_notice() {
    super::settings::set_text(NOTICE_DISMISSED_KEY, "1");
}

#[cfg(test)]
mod tests {
    use super::needs_browser_notice;

    const WECHAT: &str = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) \
        Chrome/116.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.47";
    const CHROME: &str = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) \
        Chrome/120.0 Mobile Safari/537.36";

    #[test]
    fn wechat_or_no_worker_gets_the_notice_once() {
        assert!(needs_browser_notice(WECHAT, true, false));
        assert!(needs_browser_notice(WECHAT, false, false));
        assert!(needs_browser_notice(CHROME, false, false));
        assert!(!needs_browser_notice(CHROME, true, false));
        assert!(
            !needs_browser_notice(WECHAT, false, true),
            "dismissed stays dismissed"
        );
    }
}
