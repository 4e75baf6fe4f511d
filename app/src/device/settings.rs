//! This phone's localStorage, the one place the app reaches it: UI settings
//! (language, dismissed notices) as text, and small records (the working
//! round and team, the device mirror) as JSON. Never throws: a browser that
//! refuses localStorage (site data blocked, some private modes) reads as
//! nothing stored. gloo-storage would be this module, but its `raw()` throws
//! when localStorage is refused, which would stop the app at start.

use serde::{Serialize, de::DeserializeOwned};

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The text under `key`, if any.
pub fn text(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok()?
}

/// Stores `value` under `key`. A refused write (private modes, a full
/// quota) is dropped: each value kept here is a convenience whose loss only
/// resets it on the next load.
pub fn set_text(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// The JSON record under `key`; none if absent or no longer a `T`.
pub fn record<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_str(&text(key)?).ok()
}

/// Stores `value` under `key` as JSON, as [`set_text`] does.
pub fn set_record<T: Serialize>(key: &str, value: &T) {
    if let Ok(json) = serde_json::to_string(value) {
        set_text(key, &json);
    }
}
