//! The frame around every page: header with connectivity and language, the
//! storage warning, and the routes.

use leptos::prelude::*;
use leptos_router::{
    components::{A, Route, Router, Routes},
    path,
};

use crate::{
    device::{connectivity, persistence, service_worker},
    i18n::{Key, provide_i18n, use_i18n},
    pages,
};

#[component]
pub fn App() -> impl IntoView {
    provide_i18n();
    service_worker::register();
    view! {
        <Router>
            <Header/>
            <StorageWarning/>
            <main class="page">
                <Routes fallback=pages::not_found::NotFoundPage>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    <Route path=path!("/visits") view=pages::visits::VisitsPage/>
                    <Route path=path!("/ledgers") view=pages::ledgers::LedgersPage/>
                    <Route path=path!("/truck") view=pages::truck::TruckPage/>
                    <Route path=path!("/dashboard") view=pages::dashboard::DashboardPage/>
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let i18n = use_i18n();
    let online = connectivity::online_signal();
    view! {
        <header class="top-bar">
            <A href="/" attr:class="app-name" attr:data-testid="app-name">{move || i18n.t(Key::AppName)}</A>
            <span
                class="connectivity"
                class:offline=move || !online.get()
                data-testid="connectivity"
                data-online=move || online.get().to_string()
            >
                {move || i18n.t(if online.get() { Key::StatusOnline } else { Key::StatusOffline })}
            </span>
            <button
                class="locale-toggle"
                data-testid="locale-toggle"
                aria-label=move || i18n.t(Key::LocaleToggleLabel)
                on:click=move |_| i18n.toggle()
            >
                {move || i18n.t(Key::LocaleToggle)}
            </button>
        </header>
    }
}

/// Shown only when the browser refuses to keep our data.
#[component]
fn StorageWarning() -> impl IntoView {
    let i18n = use_i18n();
    let grant = LocalResource::new(persistence::request);
    let at_risk = move || grant.get().is_some_and(|p| !p.is_safe());
    view! {
        <Show when=at_risk>
            <p class="banner warning" role="alert" data-testid="storage-warning">
                {move || i18n.t(Key::StorageNotPersistent)}
            </p>
        </Show>
    }
}
