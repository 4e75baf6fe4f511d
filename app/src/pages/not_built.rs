//! The honest placeholder for an area whose issue has not landed yet.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    areas::Area,
    i18n::{Key, use_i18n},
};

#[component]
pub fn NotBuilt(area: Area) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1 data-testid="page-title">{move || i18n.t(area.title())}</h1>
        <p class="notice" data-testid="not-built">{move || i18n.t(Key::PageNotBuilt)}</p>
        <A href="/" attr:class="button">{move || i18n.t(Key::NavHome)}</A>
    }
}
