//! `/visits`: the door-knock area (走访). The household registry works; the
//! 一测二问三看 checklist is still to come and says so.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{
    areas::Area,
    i18n::{Key, use_i18n},
    pages::{household::new_household_path, join::JoinCompound},
    state::use_app_data,
};

#[component]
pub fn VisitsPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let joined = move || {
        data.device
            .with(|d| d.as_ref().map(|d| d.compound.is_some()))
    };
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Area::Visits.title())}</h1>
        <p class="notice">{move || i18n.t(Key::VisitsChecklistPending)}</p>
        {move || match joined() {
            None => ().into_any(),
            Some(false) => view! { <JoinCompound/> }.into_any(),
            Some(true) => view! { <Registry/> }.into_any(),
        }}
    }
}

#[component]
fn Registry() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let households = Memo::new(move |_| data.replica.with(|r| r.households()));
    let navigate = use_navigate();
    view! {
        <div class="section-head">
            <h2>{move || i18n.t(Key::HouseholdListTitle)}</h2>
            <button class="button" data-testid="add-household"
                on:click=move |_| navigate(&new_household_path(), Default::default())>
                {move || i18n.t(Key::HouseholdAdd)}
            </button>
        </div>
        <Show when=move || !households.with(Vec::is_empty)
            fallback=move || view! { <p class="notice" data-testid="registry-empty">{i18n.t(Key::HouseholdEmpty)}</p> }>
            <ul class="rows">
                <For each=move || households.get() key=|h| (h.id.clone(), h.values.clone()) let:household>
                    <li>
                        <A href=format!("/households/{}", household.id) attr:class="row" attr:data-testid="household-row">
                            <span class="row-title">{household.address()}</span>
                            <span class="row-detail">{household.value("head").to_owned()}</span>
                        </A>
                    </li>
                </For>
            </ul>
        </Show>
    }
}
