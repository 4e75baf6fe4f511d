//! Asking before a step that takes something away (revoking a phone,
//! ending a round): the browser's own confirm dialog.

/// Whether the user accepted `message`; no answer counts as no.
pub fn confirmed(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}
