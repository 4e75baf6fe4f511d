//! Registers `sw.js`, which precaches the build so the app opens offline;
//! and says when this browser cannot do that (WeChat's in-app browser: none
//! on iOS, and sometimes a `navigator.serviceWorker` that is there but
//! unusable), so the person knows to open the app in a real browser.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// localStorage key: the person has read the browser notice (a UI setting).
const NOTICE_DISMISSED_KEY: &str = "doorstep.browser-notice-dismissed";

/// Registers the worker; false when this browser has no usable service
/// worker (the app then works online only). Never throws.
pub fn register() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    // Present is not enough: WeChat may define it as `undefined`.
    let container =
        js_sys::Reflect::get(&navigator, &"serviceWorker".into()).unwrap_or(JsValue::UNDEFINED);
    let register = js_sys::Reflect::get(&container, &"register".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let Some(register) = register.filter(|_| container.is_object()) else {
        return false;
    };
    let promise = match register
        .call1(&container, &"/sw.js".into())
        .and_then(|p| p.dyn_into::<js_sys::Promise>())
    {
        Ok(promise) => promise,
        Err(err) => {
            web_sys::console::warn_2(&"service worker unavailable:".into(), &err);
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
