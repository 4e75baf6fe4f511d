//! The frame around every page: header with connectivity and language, the
//! storage banners, the status bars and backup panel of a signed-in device
//! (`status_bars`, `backup_panel`, loaded as split parts), the notice that
//! this browser cannot start the app offline, and each bundle's routes.

use leptos::prelude::*;
use leptos_router::{
    Lazy,
    components::{A, Route, Router, Routes},
    path,
};

use crate::{
    areas::Area,
    bundle::Bundle,
    device::{connectivity, service_worker},
    i18n::{Key, provide_i18n, use_i18n},
    pages, split,
    state::{provide_app_data, use_app_data},
    status_bars::SyncingDeviceOnly,
    storage::StorageError,
    sync::runner::Runner,
};

/// Starts a bundle's app in place of the page's static placeholder
/// (`#boot` in index.html and manage.html, shown while the WASM downloads).
pub fn mount<F, N>(app: F)
where
    F: FnOnce() -> N + 'static,
    N: IntoView,
{
    if let Some(placeholder) = document().get_element_by_id("boot") {
        placeholder.remove();
    }
    leptos::mount::mount_to_body(app);
}

/// The field bundle's app (`src/main.rs`): every page a volunteer, a stall
/// keeper or a coordinator works in on the street. Only the home page is in
/// its main module; the others load as split chunks (`split`).
#[component]
pub fn FieldApp() -> impl IntoView {
    let offline_ready = start(Bundle::Field);
    view! {
        <Router>
            <Frame offline_ready=offline_ready/>
            <main class="page">
                <Routes fallback=pages::not_found::NotFoundPage>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    <Route path=path!("/join") view={Lazy::<split::Join>::new()}/>
                    <Route path=path!("/visits") view={Lazy::<split::Visits>::new()}/>
                    <Route path=path!("/households/:id") view={Lazy::<split::Household>::new()}/>
                    <Route path=path!("/visits/door/:id") view={Lazy::<split::Door>::new()}/>
                    <Route path=path!("/ledgers/needs/:id") view={Lazy::<split::Need>::new()}/>
                    <Route path=path!("/ledgers") view={Lazy::<split::Ledgers>::new()}/>
                    <Route path=path!("/home-visits") view={Lazy::<split::HomeVisits>::new()}/>
                    <Route path=path!("/truck") view={Lazy::<split::Truck>::new()}/>
                </Routes>
            </main>
        </Router>
    }
}

/// The manage bundle's app (`src/bin/manage.rs`, under `/manage/`): the
/// pages only a coordinator or a district official opens.
#[component]
pub fn ManageApp() -> impl IntoView {
    let offline_ready = start(Bundle::Manage);
    view! {
        <Router>
            <Frame offline_ready=offline_ready/>
            <main class="page">
                <Routes fallback=pages::not_found::NotFoundPage>
                    <Route path=path!("/manage/visits/import") view=pages::roster::RosterPage/>
                    <Route path=path!("/manage/dashboard") view=pages::dashboard::DashboardPage/>
                    <Route path=path!("/manage/district") view=pages::district::DistrictPage/>
                    <Route path=path!("/manage/accounts") view=pages::accounts::AccountsPage/>
                    <Route path=path!("/manage/accounts/refused") view=pages::refused::RefusedPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// After a first sync, how long the network is left to the app before the
/// manage bundle is fetched for offline use, so a burst of rounds ends first.
const KEEP_MANAGE_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// What both bundles set up before their routes; whether the service worker
/// registered. A role that opens the manage bundle has the worker keep that
/// bundle offline too: at once on one of its pages (its files are loading
/// anyway) or on an official's phone (nothing to sync); on a coordinator's
/// field pages after the first sync, which so never shares a slow network
/// with 430 KB of pages it may not open today.
fn start(bundle: Bundle) -> bool {
    provide_context(bundle);
    provide_i18n();
    provide_app_data(|data| std::rc::Rc::new(Runner::start(data, split::sync_round)));
    let registered = service_worker::register();
    if registered {
        let data = use_app_data();
        Effect::new(move |asked: Option<bool>| {
            if asked == Some(true) {
                return true;
            }
            let opens_manage = data
                .role()
                .is_some_and(|role| Area::in_bundle_for(Bundle::Manage, role));
            if !opens_manage {
                return false;
            }
            if bundle == Bundle::Manage || data.credentials_untracked().is_none() {
                service_worker::keep_manage_bundle();
                return true;
            }
            let synced = data
                .sync
                .with(|s| s.last_success_ms.is_some() && !s.running);
            if synced {
                set_timeout(service_worker::keep_manage_bundle, KEEP_MANAGE_AFTER);
            }
            synced
        });
    }
    registered
}

/// Everything around the routes, the same in both bundles.
#[component]
fn Frame(offline_ready: bool) -> impl IntoView {
    view! {
        // Connectivity and unsent work stay in view while scrolling. The
        // sync bar and the help banner come with signing in, as one part.
        <div class="sticky-top">
            <Header/>
            <SyncingDeviceOnly>
                <StorageBanners/>
            </SyncingDeviceOnly>
            <split::LazyStatusBars/>
        </div>
        <BrowserNotice offline_ready=offline_ready/>
        <SyncingDeviceOnly>
            <split::LazyBackupPanel/>
        </SyncingDeviceOnly>
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

/// Why nothing can be recorded: local storage that could not be opened or
/// was closed under the app, and the last edit that did not reach it.
#[component]
fn StorageBanners() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    view! {
        <Show when=move || data.storage_error.with(Option::is_some)>
            <p class="banner error" role="alert" data-testid="storage-failed">
                {move || {
                    if let Some(err) = data.storage_error.get() {
                        web_sys::console::error_1(&err.to_string().into());
                    }
                    i18n.t(Key::StorageFailed)
                }}
            </p>
        </Show>
        // Storage closed under the app has its own banner, with a reload.
        <Show when=move || data.save_failed.with(|err| {
            err.as_ref().is_some_and(|err| *err != StorageError::Closed || !data.storage_closed.get())
        })>
            <p class="banner error" role="alert" data-testid="save-failed">
                {move || data.save_failed.with(|err| err.as_ref().map(|err| i18n.t(crate::errors::storage(err))))}" "
                <button class="link" data-testid="save-failed-dismiss"
                    on:click=move |_| data.save_failed.set(None)>{move || i18n.t(Key::SaveFailedDismiss)}</button>
            </p>
        </Show>
        <Show when=move || data.storage_closed.get()>
            <p class="banner error" role="alert" data-testid="storage-closed">
                {move || i18n.t(Key::StorageClosed)}" "
                <button class="link" data-testid="storage-reload"
                    on:click=move |_| { let _ = window().location().reload(); }>
                    {move || i18n.t(Key::StorageReload)}
                </button>
            </p>
        </Show>
    }
}

/// In WeChat's in-app browser, or any browser with no usable service
/// worker, the app works online only: say so once, with how to open it in
/// a real browser, until dismissed.
#[component]
fn BrowserNotice(offline_ready: bool) -> impl IntoView {
    let i18n = use_i18n();
    let shown = RwSignal::new(service_worker::needs_browser_notice(
        &service_worker::user_agent(),
        offline_ready,
        service_worker::notice_dismissed(),
    ));
    view! {
        <Show when=move || shown.get()>
            <p class="banner warning compact" role="status" data-testid="browser-notice">
                {move || i18n.t(Key::BrowserNoticeText)}" "
                <button class="link" data-testid="browser-notice-dismiss"
                    on:click=move |_| {
                        service_worker::dismiss_notice();
                        shown.set(false);
                    }>
                    {move || i18n.t(Key::BrowserNoticeDismiss)}
                </button>
            </p>
        </Show>
    }
}
