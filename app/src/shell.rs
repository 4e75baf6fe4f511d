//! The frame around every page: header with connectivity and language, the
//! sync bar (one compact line: unsent, refused, last sync, and what stands
//! in the way), the notice that this browser cannot start the app offline,
//! the storage warnings, the backup panel, and each bundle's routes.

use doorstep_core::access::Role;
use leptos::prelude::*;
use leptos_router::{
    components::{A, Route, Router, Routes},
    path,
};

use crate::{
    backup_panel::BackupPanel,
    bundle::Bundle,
    device::{connectivity, local_time::clock_time, persistence, service_worker},
    i18n::{Key, Msg, provide_i18n, use_i18n},
    pages,
    state::{provide_app_data, sync_status::SyncProblem, use_app_data},
    storage::StorageError,
    sync::runner::Runner,
};

/// The field bundle's app (`src/main.rs`): every page a volunteer, a stall
/// keeper or a coordinator works in on the street.
#[component]
pub fn FieldApp() -> impl IntoView {
    let offline_ready = start(Bundle::Field);
    view! {
        <Router>
            <Frame offline_ready=offline_ready/>
            <main class="page">
                <Routes fallback=pages::not_found::NotFoundPage>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    <Route path=path!("/join") view=pages::join::JoinPage/>
                    <Route path=path!("/visits") view=pages::visits::VisitsPage/>
                    <Route path=path!("/households/:id") view=pages::household::HouseholdPage/>
                    <Route path=path!("/visits/door/:id") view=pages::door::DoorPage/>
                    <Route path=path!("/ledgers/needs/:id") view=pages::need::NeedPage/>
                    <Route path=path!("/ledgers") view=pages::ledgers::LedgersPage/>
                    <Route path=path!("/home-visits") view=pages::home_visits::HomeVisitsPage/>
                    <Route path=path!("/truck") view=pages::truck::TruckPage/>
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

/// What both bundles set up before their routes; whether the service worker
/// registered.
fn start(bundle: Bundle) -> bool {
    provide_context(bundle);
    provide_i18n();
    provide_app_data(|data| std::rc::Rc::new(Runner::start(data)));
    service_worker::register()
}

/// Everything around the routes, the same in both bundles.
#[component]
fn Frame(offline_ready: bool) -> impl IntoView {
    view! {
        // Connectivity and unsent work stay in view while scrolling.
        // The help banner comes and goes with a sync, so it sits below
        // the sync bar: a tap aimed at "sync now" never lands on it.
        <div class="sticky-top">
            <Header/>
            <SyncingDeviceOnly>
                <SyncBar/>
            </SyncingDeviceOnly>
            <HelpWaiting/>
        </div>
        <BrowserNotice offline_ready=offline_ready/>
        <SyncingDeviceOnly>
            <StorageWarning/>
            <BackupPanel/>
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

/// The residents' requests nobody has called back yet, on every page of a
/// device that works the needs ledger: a link to it.
#[component]
fn HelpWaiting() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let waiting = Memo::new(move |_| {
        let works_needs = data
            .role()
            .is_some_and(|role| crate::areas::Area::Ledgers.reached_by(role));
        if !works_needs {
            return 0;
        }
        data.replica
            .with(|r| crate::state::needs::call_back_figures(r, crate::state::now_ms()).waiting)
    });
    view! {
        <Show when=move || { waiting.get() > 0 }>
            <A href="/ledgers" attr:class="banner help-waiting" attr:data-testid="help-waiting"
                attr:data-count=move || waiting.get().to_string()>
                {move || i18n.msg(Msg::NavHelpWaiting { n: &waiting.get() })}
            </A>
        </Show>
    }
}

/// Hides the sync bar, the storage warning and the backup panel on a
/// district official's phone, which syncs and keeps no records.
#[component]
fn SyncingDeviceOnly(children: ChildrenFn) -> impl IntoView {
    let data = use_app_data();
    view! { <Show when=move || data.role() != Some(Role::Official)>{children()}</Show> }
}

/// Unsent edits, the last sync, and what stands in the way, on every page.
#[component]
fn SyncBar() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let status = data.sync;
    let pending = move || status.with(|s| s.pending);
    let problem = move || {
        status.with(|s| match &s.problem {
            None => None,
            Some(SyncProblem::Unreachable) => Some(i18n.t(Key::SyncUnreachable).to_owned()),
            Some(SyncProblem::ClockAhead) => Some(i18n.t(Key::SyncClockAhead).to_owned()),
            Some(SyncProblem::SignedOut) => Some(i18n.t(Key::SyncSignedOut).to_owned()),
            Some(SyncProblem::MidReused) => Some(i18n.t(Key::SyncMidReused).to_owned()),
            Some(SyncProblem::Refused(code)) => {
                Some(i18n.t(crate::errors::sync_refused(*code)).to_owned())
            }
            // The browser's own words go to the console, not the screen.
            Some(SyncProblem::Storage(StorageError::Closed)) if data.storage_closed.get() => None,
            Some(SyncProblem::Storage(err)) => {
                web_sys::console::error_1(&err.to_string().into());
                Some(i18n.t(Key::SyncStorage).to_owned())
            }
        })
    };
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
        <div class="sync-bar" data-testid="sync-bar">
            // One line says both what waits and what the server refused, so
            // "all sent" never sits beside a refusal.
            <span data-testid="sync-pending" data-count=move || pending().to_string()
                data-refused=move || status.with(|s| s.rejections).to_string()>
                {move || {
                    let refused = status.with(|s| s.rejections);
                    let line = match (pending(), refused) {
                        (0, 0) => i18n.t(Key::SyncAllSent).to_owned(),
                        (0, n) => i18n.msg(Msg::SyncSentRefused { n: &n }),
                        (waiting, _) => format!("{} {waiting}", i18n.t(Key::SyncPending)),
                    };
                    if refused > 0 && pending() > 0 {
                        format!("{line}{}", i18n.msg(Msg::SyncAlsoRefused { n: &refused }))
                    } else {
                        line
                    }
                }}
            </span>
            <span class="sync-last" data-testid="sync-last">
                {move || match status.with(|s| s.last_success_ms) {
                    Some(ms) => format!("{} {}", i18n.t(Key::SyncLast), clock_time(ms)),
                    None => i18n.t(Key::SyncNever).to_owned(),
                }}
            </span>
            <button class="sync-now" data-testid="sync-now" disabled=move || status.with(|s| s.running)
                on:click=move |_| data.kick_sync_now()>
                {move || i18n.t(if status.with(|s| s.running) { Key::SyncRunning } else { Key::SyncNow })}
            </button>
        </div>
        <Show when=move || status.with(|s| s.progress_percent().is_some())>
            <progress class="sync-progress" max="100" data-testid="sync-progress"
                value=move || status.with(|s| s.progress_percent().unwrap_or(0))></progress>
        </Show>
        <Show when=move || problem().is_some()>
            <p class="banner warning compact" role="status" data-testid="sync-problem">{problem}</p>
        </Show>
        <Show when=move || status.with(|s| s.problem == Some(SyncProblem::SignedOut) && s.pending > 0)>
            <Unsent/>
        </Show>
    }
}

/// The outbox of a device that can no longer sync: kept, and shown, so
/// nothing recorded is silently lost.
#[component]
fn Unsent() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let entries = LocalResource::new(move || async move { data.unsent().await });
    view! {
        <details class="banner warning" data-testid="unsent">
            <summary>{move || i18n.t(Key::UnsentTitle)}</summary>
            <ul>
                {move || match entries.get() {
                    Some(Err(err)) => {
                        web_sys::console::error_1(&err.to_string().into());
                        view! { <li>{i18n.t(crate::errors::storage(&err))}</li> }.into_any()
                    }
                    entries => entries.and_then(Result::ok).unwrap_or_default().into_iter().map(|entry| {
                        let m = &entry.pushed.mutation;
                        view! { <li>{format!("{} {} · {} · {}", m.collection().name(), m.id(), m.kind(), clock_time(entry.pushed.hlc.wall_ms))}</li> }
                    }).collect_view().into_any(),
                }}
            </ul>
        </details>
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

/// Shown when the browser refuses to keep our data and there is unsent
/// work it could lose (so never before sign-in), until dismissed: once per
/// device.
#[component]
fn StorageWarning() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let grant = LocalResource::new(persistence::request);
    let dismissed = RwSignal::new(persistence::warning_dismissed());
    let at_risk = move || {
        !dismissed.get()
            && data.sync.with(|s| s.pending > 0)
            && grant.get().is_some_and(|p| !p.is_safe())
    };
    view! {
        <Show when=at_risk>
            <p class="banner warning compact" role="alert" data-testid="storage-warning">
                {move || i18n.t(Key::StorageNotPersistent)}" "
                <button class="link" data-testid="storage-warning-dismiss"
                    on:click=move |_| {
                        persistence::dismiss_warning();
                        dismissed.set(true);
                    }>
                    {move || i18n.t(Key::BackupOk)}
                </button>
            </p>
        </Show>
    }
}
