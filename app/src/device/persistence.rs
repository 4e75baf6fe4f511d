//! Asks the browser to keep this origin's storage under disk pressure
//! (`navigator.storage.persist()`): unsynced visits live there.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// The browser promises not to evict our data without asking the user.
    Granted,
    /// The browser may evict our data; the user must be told.
    Refused,
    /// No StorageManager here (old browser, insecure context): as risky as refused.
    Unsupported,
}

impl Persistence {
    pub fn is_safe(self) -> bool {
        self == Persistence::Granted
    }
}

/// Returns the current grant, asking for it if we do not have it yet.
pub async fn request() -> Persistence {
    let Some(storage) = storage_manager() else {
        return Persistence::Unsupported;
    };
    let ask = |promise: Result<js_sys::Promise, _>| async move {
        let promise = promise.ok()?;
        JsFuture::from(promise).await.ok()?.as_bool()
    };
    if ask(storage.persisted()).await == Some(true) {
        return Persistence::Granted;
    }
    match ask(storage.persist()).await {
        Some(true) => Persistence::Granted,
        Some(false) => Persistence::Refused,
        None => Persistence::Unsupported,
    }
}

fn storage_manager() -> Option<web_sys::StorageManager> {
    let navigator = web_sys::window()?.navigator();
    // `navigator.storage` is absent outside secure contexts; check before use.
    js_sys::Reflect::get(&navigator, &"storage".into())
        .ok()?
        .dyn_into::<web_sys::StorageManager>()
        .ok()
}

/// localStorage key: the person has read the warning (a UI setting, not data).
const DISMISSED_KEY: &str = "doorstep.storage-warning-dismissed";

/// Whether the warning was dismissed on this device.
pub fn warning_dismissed() -> bool {
    super::settings::text(DISMISSED_KEY).is_some()
}

pub fn dismiss_warning() {
    super::settings::set_text(DISMISSED_KEY, "1");
}
