//! The app shell in a real browser: one tap switches every string, the choice
//! survives the app being mounted again (a reload), and the connectivity badge
//! follows the browser.
#![cfg(target_arch = "wasm32")]

use doorstep_app::i18n::{Key, STORAGE_KEY};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn text_of(root: &web_sys::Element, test_id: &str) -> String {
    root.query_selector(&format!("[data-testid={test_id}]"))
        .unwrap()
        .unwrap_or_else(|| panic!("no element with data-testid={test_id}"))
        .text_content()
        .unwrap_or_default()
}

/// Lets Leptos run the effects that a signal change scheduled.
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn mount() -> (web_sys::HtmlElement, impl Drop) {
    let container: web_sys::HtmlElement =
        document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&container).unwrap();
    let handle = leptos::mount::mount_to(container.clone(), doorstep_app::FieldApp);
    (container, handle)
}

#[wasm_bindgen_test]
async fn toggle_switches_language_and_the_choice_persists() {
    local_storage().remove_item(STORAGE_KEY).unwrap();

    let (root, handle) = mount();
    settle().await;
    assert_eq!(text_of(&root, "app-name"), Key::AppName.zh());
    assert_eq!(text_of(&root, "locale-toggle"), "English");
    assert_eq!(
        document()
            .document_element()
            .unwrap()
            .get_attribute("lang")
            .as_deref(),
        Some("zh-CN")
    );

    let toggle: web_sys::HtmlElement = root
        .query_selector("[data-testid=locale-toggle]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    toggle.click();
    settle().await;
    assert_eq!(text_of(&root, "app-name"), Key::AppName.en());
    assert_eq!(text_of(&root, "locale-toggle"), "中文");
    assert_eq!(
        local_storage().get_item(STORAGE_KEY).unwrap().as_deref(),
        Some("en")
    );
    assert_eq!(
        document()
            .document_element()
            .unwrap()
            .get_attribute("lang")
            .as_deref(),
        Some("en")
    );

    // The connectivity badge follows the browser's online/offline events.
    assert_eq!(text_of(&root, "connectivity"), "Online");
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new("offline").unwrap())
        .unwrap();
    settle().await;
    assert_eq!(text_of(&root, "connectivity"), "Offline");
    window
        .dispatch_event(&web_sys::Event::new("online").unwrap())
        .unwrap();
    settle().await;
    assert_eq!(text_of(&root, "connectivity"), "Online");

    // A reload mounts the app afresh from stored state.
    drop(handle);
    root.remove();
    let (root, _handle) = mount();
    settle().await;
    assert_eq!(text_of(&root, "app-name"), Key::AppName.en());

    // And back again.
    let toggle: web_sys::HtmlElement = root
        .query_selector("[data-testid=locale-toggle]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    toggle.click();
    settle().await;
    assert_eq!(text_of(&root, "app-name"), Key::AppName.zh());
    assert_eq!(
        local_storage().get_item(STORAGE_KEY).unwrap().as_deref(),
        Some("zh-CN")
    );
}
