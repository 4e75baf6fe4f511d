//! `/visits`: the door-knock action (走访). Not built yet.

use leptos::prelude::*;

use crate::{areas::Area, pages::not_built::NotBuilt};

#[component]
pub fn VisitsPage() -> impl IntoView {
    view! { <NotBuilt area=Area::Visits/> }
}
