//! `/ledgers`: the care, key-persons, needs and purchase ledgers (台账). Not built yet.

use leptos::prelude::*;

use crate::{areas::Area, pages::not_built::NotBuilt};

#[component]
pub fn LedgersPage() -> impl IntoView {
    view! { <NotBuilt area=Area::Ledgers/> }
}
