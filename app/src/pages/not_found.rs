//! Any path the router does not know.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::{Key, use_i18n};

#[component]
pub fn NotFoundPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="notice" data-testid="not-found">{move || i18n.t(Key::PageNotFound)}</p>
        <A href="/" attr:class="button">{move || i18n.t(Key::NavHome)}</A>
    }
}
