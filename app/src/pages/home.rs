//! `/`: sign in, then the work areas this device's role reaches, as large tiles.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    areas::Area,
    i18n::{Key, use_i18n},
    pages::join::JoinCompound,
    state::use_app_data,
};

#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    // A memo, so the sign-in form is rebuilt (losing what was typed) only
    // when the role changes, not whenever the device record does.
    let role = Memo::new(move |_| data.role());
    view! {
        <h1 data-testid="home-heading">{move || i18n.t(Key::HomeHeading)}</h1>
        {move || match role.get() {
            None => view! { <JoinCompound/> }.into_any(),
            Some(role) => view! {
                <nav class="area-grid">
                    {Area::ALL
                        .into_iter()
                        .filter(|area| area.reached_by(role))
                        .map(|area| view! {
                            <A href=area.path() attr:class="area-tile" attr:data-testid=format!("area-{}", area.slug())>
                                <span class="area-title">{move || i18n.t(area.title())}</span>
                                <span class="area-description">{move || i18n.t(area.description())}</span>
                            </A>
                        })
                        .collect_view()}
                </nav>
            }.into_any(),
        }}
    }
}
