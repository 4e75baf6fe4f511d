//! Files the volunteer keeps or picks: a download made inside the page
//! (a Blob, an object URL and a temporary `<a download>`; no server is
//! needed, so it works offline), reading a chosen file as text, and
//! copying text to the clipboard.

use std::time::Duration;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Saves `text` as a file called `name` through the browser's downloads.
pub fn save_text(name: &str, mime: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = leptos::prelude::document();
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.set_hidden(true);
    let body = document
        .body()
        .ok_or_else(|| JsValue::from_str("no document body"))?;
    body.append_child(&link)?;
    link.click();
    link.remove();
    // The download reads the Blob after this returns; free it a little later.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        Duration::from_secs(60),
    );
    Ok(())
}

/// The text of a file the volunteer chose in an `<input type=file>`.
pub async fn read_text(file: &web_sys::File) -> Result<String, JsValue> {
    JsFuture::from(file.text())
        .await?
        .as_string()
        .ok_or_else(|| JsValue::from_str("the file is not text"))
}

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`); false
/// where the browser has no clipboard or refuses.
pub async fn copy_text(text: &str) -> bool {
    let navigator = leptos::prelude::window().navigator();
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else {
        return false;
    };
    let write = js_sys::Reflect::get(&clipboard, &"writeText".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let Some(promise) = write
        .and_then(|f| f.call1(&clipboard, &JsValue::from_str(text)).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return false;
    };
    JsFuture::from(promise).await.is_ok()
}
