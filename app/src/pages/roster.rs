//! `/visits/import`: the coordinator uploads a roster (.xlsx, .xls, .csv),
//! sees the rows and every bad row from a dry run, then imports all or none.
//! Imported households reach this phone with the next sync.

use doorstep_core::api::RosterReport;
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::{
    i18n::{Key, use_i18n},
    state::use_app_data,
    sync::api::{self, ApiFailure},
};

#[component]
pub fn RosterPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let file = RwSignal::new(None::<(String, Vec<u8>)>);
    let report = RwSignal::new(None::<RosterReport>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // Columns with other names: `房间=door,住户=head`.
    let mapping = RwSignal::new(String::new());

    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(chosen) = input.files().and_then(|list| list.get(0)) else {
            return;
        };
        report.set(None);
        spawn_local(async move {
            if let Ok(buffer) = JsFuture::from(chosen.array_buffer()).await {
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                file.set(Some((chosen.name(), bytes)));
            }
        });
    };
    let send = move |dry_run: bool| {
        let Some((name, bytes)) = file.get_untracked() else {
            return;
        };
        let Some(credentials) = data.credentials_untracked() else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match api::import_roster(
                &credentials,
                &name,
                bytes,
                &mapping.get_untracked(),
                dry_run,
            )
            .await
            {
                Ok(result) => {
                    error.set(None);
                    report.set(Some(result));
                    if !dry_run {
                        data.kick_sync_now();
                    }
                }
                Err(ApiFailure::Refused { error: e, .. }) => error.set(Some(e.message)),
                Err(ApiFailure::Unreachable(_)) => {
                    error.set(Some(i18n.t(Key::SyncUnreachable).to_owned()))
                }
            }
            busy.set(false);
        });
    };
    let can_import = move || {
        report.with(|r| {
            r.as_ref()
                .is_some_and(|r| r.errors.is_empty() && r.imported == 0 && !r.rows.is_empty())
        })
    };

    view! {
        <h1 data-testid="page-title">{move || i18n.t(Key::RosterTitle)}</h1>
        <p class="notice">{move || i18n.t(Key::RosterHelp)}</p>
        <input type="file" accept=".xlsx,.xls,.csv" data-testid="roster-file" on:change=on_file/>
        <label class="field">
            <span>{move || i18n.t(Key::RosterMapping)}</span>
            <input data-testid="roster-mapping" placeholder="房间=door" prop:value=move || mapping.get()
                on:input=move |ev| { mapping.set(event_target_value(&ev)); report.set(None); }/>
        </label>
        <div class="button-row">
            <button class="button secondary" data-testid="roster-check" disabled=move || busy.get() || file.with(Option::is_none)
                on:click=move |_| send(true)>{move || i18n.t(Key::RosterCheck)}</button>
            <button class="button" data-testid="roster-import" disabled=move || busy.get() || !can_import()
                on:click=move |_| send(false)>{move || i18n.t(Key::RosterImport)}</button>
        </div>
        <p class="banner warning" data-testid="roster-error" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
        {move || report.get().map(|r| view! {
            <p data-testid="roster-summary">
                {i18n.t(Key::RosterRows)}" "{r.rows.len()}" · "{i18n.t(Key::RosterBad)}" "{r.errors.len()}" · "{i18n.t(Key::RosterImported)}" "{r.imported}
            </p>
            <ul class="rows" data-testid="roster-errors">
                {r.errors.into_iter().map(|e| view! {
                    <li class="row"><span class="row-title">{i18n.t(Key::RosterRow)}" "{e.row}</span><span class="row-detail">{e.reason}</span></li>
                }).collect_view()}
            </ul>
        })}
    }
}

fn event_target<T: JsCast>(ev: &leptos::ev::Event) -> T {
    ev.target()
        .expect("an input event has a target")
        .unchecked_into()
}
