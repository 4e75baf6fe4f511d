//! `/truck`: the mobile vegetable stall (菜车). Not built yet.

use leptos::prelude::*;

use crate::{areas::Area, pages::not_built::NotBuilt};

#[component]
pub fn TruckPage() -> impl IntoView {
    view! { <NotBuilt area=Area::Truck/> }
}
