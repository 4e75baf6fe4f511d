//! The bars under the header of a signed-in device: the sync bar (unsent
//! edits, the last sync, what stands in the way) and the help banner
//! (residents' requests waiting for a call back). `split::LazyStatusBars`
//! loads them as one part, so neither appears under a finger aimed at the
//! other.

use doorstep_core::access::Role;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    device::local_time::clock_time,
    i18n::{Key, Msg, use_i18n},
    state::{sync_status::SyncProblem, use_app_data},
    storage::StorageError,
};

/// The sync bar, except on a district official's phone, then the help banner.
#[component]
pub fn StatusBars() -> impl IntoView {
    view! {
        <SyncingDeviceOnly>
            <SyncBar/>
        </SyncingDeviceOnly>
        <HelpWaiting/>
    }
}

/// Hides the sync bar, the storage banners and the backup panel on a
/// district official's phone, which syncs and keeps no records.
#[component]
pub fn SyncingDeviceOnly(children: ChildrenFn) -> impl IntoView {
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
