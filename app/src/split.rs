//! The field bundle's split points: wasm-split (xtask/src/field_wasm.rs)
//! cuts each one's code out of the main WASM module into a chunk that loads
//! when it is first needed, so the home page starts with less to download.
//! They are the pages that are not the first screen, loaded when first
//! opened; the sync round (engine, pull apply, live stream), the sync bar
//! with the help banner, and the backup panel, loaded when a signed-in
//! device starts: a new phone signs in before it needs any of them. Code
//! that several of them share goes into chunks of its own, loaded with the
//! first of them. The service worker precaches every chunk, so offline they load
//! from its cache; a chunk that cannot be had says so, with a reload.
//!
//! Only the field build (`--features split`) makes them split points: a
//! split point is a WASM export, which the linker would keep in every other
//! module linking this library (the manage bundle, the browser tests), with
//! no loader there to import.

// The split macro's generated code declares the chunk loader as a WASM
// import and its page as an export (`unsafe extern`, `no_mangle`): this
// module is the only place the app allows it.
#![allow(unsafe_code)]

use std::pin::Pin;

use leptos::prelude::*;
use leptos_router::LazyRoute;

use crate::{
    backup_panel::BackupPanel,
    i18n::{Key, use_i18n},
    pages,
    state::use_app_data,
    status_bars::StatusBars,
    sync::runner::Runner,
};

/// A route type per page (`Lazy::<Door>::new()` in the router) whose view
/// is the page's split function.
macro_rules! lazy_pages {
    ($($route:ident => $chunk:ident: $page:path;)*) => {$(
        pub struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            #[cfg(feature = "split")]
            async fn view(_: Self) -> AnyView {
                #[::leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
                fn page() -> Result<AnyView, ::leptos::wasm_split::SplitLoaderError> {
                    Ok(untrack(|| $page().into_any()))
                }
                page().await.unwrap_or_else(|_| view! { <LoadFailed/> }.into_any())
            }

            #[cfg(not(feature = "split"))]
            async fn view(_: Self) -> AnyView {
                untrack(|| $page().into_any())
            }
        }
    )*};
}

lazy_pages! {
    Join => join: pages::join::JoinPage;
    Visits => visits: pages::visits::VisitsPage;
    Household => household: pages::household::HouseholdPage;
    Door => door: pages::door::DoorPage;
    Need => need: pages::need::NeedPage;
    Ledgers => ledgers: pages::ledgers::LedgersPage;
    HomeVisits => home_visits: pages::home_visits::HomeVisitsPage;
    Truck => truck: pages::truck::TruckPage;
}

/// One sync round of `runner` ([`Runner::round`]), the runner's
/// [`RunRound`](crate::sync::runner::RunRound). Its chunk not loading
/// (offline before the service worker had cached it) reads as the server
/// being out of reach: the round is tried again at the next kick.
pub fn sync_round(runner: Runner) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        #[cfg(feature = "split")]
        {
            #[::leptos::wasm_split::wasm_split(sync, wasm_split_path = ::leptos::wasm_split, fallible)]
            fn round()
            -> Result<crate::sync::runner::RunRound, ::leptos::wasm_split::SplitLoaderError>
            {
                Ok(|runner| Box::pin(async move { runner.round().await }))
            }
            match round().await {
                Ok(round) => round(runner).await,
                // The loader has logged why.
                Err(_) => runner.round_unavailable(),
            }
        }
        #[cfg(not(feature = "split"))]
        runner.round().await
    })
}

/// Parts of the frame that a new phone's sign-in screen does without (there
/// is nothing to sync or back up before sign-in), each a component loaded
/// from a chunk of its own once the device is signed in, and then kept, so
/// that it is there when the phone goes offline.
macro_rules! lazy_parts {
    ($($part:ident => $chunk:ident: $component:path;)*) => {$(
        #[component]
        pub fn $part() -> impl IntoView {
            let data = use_app_data();
            loaded_when(move || data.role().is_some(), || Box::pin(async {
                #[cfg(feature = "split")]
                {
                    #[::leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
                    fn part() -> Result<fn() -> AnyView, ::leptos::wasm_split::SplitLoaderError> {
                        Ok(|| untrack(|| $component().into_any()))
                    }
                    part().await.map_err(drop)
                }
                #[cfg(not(feature = "split"))]
                Ok::<fn() -> AnyView, ()>(|| untrack(|| $component().into_any()))
            }))
        }
    )*};
}

lazy_parts! {
    LazyBackupPanel => backup: BackupPanel;
    LazyStatusBars => status_bars: StatusBars;
}

type Loading = Pin<Box<dyn Future<Output = Result<fn() -> AnyView, ()>>>>;

/// The view that `load` gives, loaded the first time `when` holds.
fn loaded_when(when: impl Fn() -> bool + 'static, load: fn() -> Loading) -> impl IntoView {
    let part = RwSignal::new(None::<Result<fn() -> AnyView, ()>>);
    Effect::new(move |loading: Option<bool>| {
        if loading == Some(true) || !when() {
            return loading.unwrap_or(false);
        }
        leptos::task::spawn_local(async move { part.set(Some(load().await)) });
        true
    });
    move || match part.get() {
        Some(Ok(make)) => make(),
        Some(Err(())) => view! { <LoadFailed/> }.into_any(),
        None => ().into_any(),
    }
}

/// A page or panel whose chunk did not load: online with a failed fetch, or
/// offline before the service worker had cached it.
#[component]
fn LoadFailed() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="banner error" role="alert" data-testid="page-load-failed">
            {move || i18n.t(Key::PageLoadFailed)}" "
            <button class="link" on:click=move |_| { let _ = window().location().reload(); }>
                {move || i18n.t(Key::StorageReload)}
            </button>
        </p>
    }
}
