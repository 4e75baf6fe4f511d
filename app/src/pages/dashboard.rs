//! `/dashboard`: the coordinator's totals (统计). Not built yet.

use leptos::prelude::*;

use crate::{areas::Area, pages::not_built::NotBuilt};

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! { <NotBuilt area=Area::Dashboard/> }
}
