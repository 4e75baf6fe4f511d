//! Any path the router does not know; a path the other bundle owns loads
//! that bundle instead.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    bundle::cross_to_other_bundle,
    i18n::{Key, use_i18n},
};

#[component]
pub fn NotFoundPage() -> impl IntoView {
    if cross_to_other_bundle() {
        return ().into_any();
    }
    let i18n = use_i18n();
    view! {
        <p class="notice" data-testid="not-found">{move || i18n.t(Key::PageNotFound)}</p>
        <A href="/" attr:class="button">{move || i18n.t(Key::NavHome)}</A>
    }
    .into_any()
}
