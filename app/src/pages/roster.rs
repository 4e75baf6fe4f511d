//! `/visits/import`: the coordinator uploads a roster (.xlsx, .xls, .csv),
//! sees how the dry run read it (each sheet's header row and building,
//! skipped rows, columns, normalised households, bad rows, proposed care
//! entries), then imports all or none, the care entries when accepted.
//! Imported households reach this phone with the next sync.

use doorstep_core::{
    roster::{BuildingSource, ColumnUse, RosterReport},
    schema::person,
};
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::{
    api::{self, ApiFailure},
    i18n::{Key, use_i18n},
    state::{
        roster::{column_text, file_error_key, problem_text, row_text, skip_key},
        use_app_data,
    },
};

/// Households listed before "more": the whole file is checked either way.
const PREVIEW_ROWS: usize = 30;

#[component]
pub fn RosterPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let file = RwSignal::new(None::<(String, Vec<u8>)>);
    let report = RwSignal::new(None::<RosterReport>);
    // What went wrong, by its code (or status), in the person's language.
    let error = RwSignal::new(None::<Key>);
    let busy = RwSignal::new(false);
    let accept_care = RwSignal::new(true);
    // Columns with other names: `房间=door,住户=head`.
    let mapping = RwSignal::new(String::new());

    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(chosen) = input.files().and_then(|list| list.get(0)) else {
            return;
        };
        report.set(None);
        spawn_local(async move {
            match JsFuture::from(chosen.array_buffer()).await {
                Ok(buffer) => {
                    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                    file.set(Some((chosen.name(), bytes)));
                }
                // The browser could not read the chosen file: say so.
                Err(_) => error.set(Some(Key::RosterFileUnreadable)),
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
        let care = !dry_run && accept_care.get_untracked();
        spawn_local(async move {
            match api::import_roster(
                &credentials,
                &name,
                bytes,
                &mapping.get_untracked(),
                dry_run,
                care,
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
                Err(ApiFailure::Refused { status, error: e }) => {
                    error.set(Some(file_error_key(e.code, status)))
                }
                Err(ApiFailure::Unreachable(_)) => error.set(Some(Key::SyncUnreachable)),
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
    let error_text = move || error.get().map(|key| i18n.t(key));

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
        <p class="banner warning" data-testid="roster-error" hidden=move || error.with(Option::is_none)>{error_text}</p>
        {move || report.get().map(|r| {
            let locale = i18n.locale();
            let more = r.rows.len().saturating_sub(PREVIEW_ROWS);
            view! {
            <p data-testid="roster-summary">
                {i18n.t(Key::RosterRows)}" "{r.rows.len()}" · "{i18n.t(Key::RosterBad)}" "{r.errors.len()}" · "{i18n.t(Key::RosterImported)}" "{r.imported}
            </p>
            <p class="row-detail" hidden={r.care_imported == 0} data-testid="roster-care-imported">
                {i18n.t(Key::RosterCareImported)}" "{r.care_imported}
            </p>
            <ul class="rows" data-testid="roster-errors">
                {r.errors.iter().map(|e| view! {
                    <li class="row"><span class="row-title">{e.sheet.clone()}" · "{i18n.t(Key::RosterRow)}" "{e.row}</span>
                        <span class="row-detail">{problem_text(locale, &e.problem)}</span></li>
                }).collect_view()}
            </ul>
            <p class="row-detail" hidden={r.encoding.is_none()}>{i18n.t(Key::RosterEncoding)}": "{r.encoding.clone()}</p>
            <ul class="rows" data-testid="roster-sheets">
                {r.sheets.iter().map(|s| {
                    let header = match s.header_row {
                        Some(row) => format!("{} {} {row} · {} {}", i18n.t(Key::RosterHeaderRow), i18n.t(Key::RosterRow), s.households, i18n.t(Key::RosterHouseholds)),
                        None => i18n.t(Key::RosterNoRoster).to_owned(),
                    };
                    let building = s.building.as_ref().map(|b| format!("{}{}", i18n.t(match b.from {
                        BuildingSource::SheetName => Key::RosterBuildingFromSheet,
                        BuildingSource::Title => Key::RosterBuildingFromTitle,
                    }), b.building));
                    view! {
                    <li class="sheet" data-testid="roster-sheet">
                        <p class="row-title">{i18n.t(Key::RosterSheet)}" "{s.name.clone()}" · "{header}</p>
                        <p class="row-detail" hidden={building.is_none()}>{building.clone()}</p>
                        <ul class="chips">
                            {s.columns.iter().map(|c| view! {
                                <li class=if c.used_as == ColumnUse::Ignored || c.used_as == ColumnUse::IdNumber { "chip muted" } else { "chip" }>
                                    {column_text(locale, &c.header, &c.used_as)}</li>
                            }).collect_view()}
                        </ul>
                        <ul class="skipped" data-testid="roster-skipped">
                            {s.skipped.iter().map(|k| view! {
                                <li>{i18n.t(Key::RosterSkipped)}" "{i18n.t(Key::RosterRow)}" "{k.row}" · "{i18n.t(skip_key(k.reason))}" "{k.text.clone()}</li>
                            }).collect_view()}
                        </ul>
                    </li>
                }}).collect_view()}
            </ul>
            <h2 hidden={r.care.is_empty()}>{i18n.t(Key::RosterCareTitle)}" ("{r.care.len()}")"</h2>
            <ul class="rows" data-testid="roster-care">
                {r.care.iter().map(|c| view! {
                    <li class="row"><span class="row-title">{c.door.replace('/', "-")}" "{c.head.clone()}</span>
                        <span class="row-detail">{i18n.choice(person::CARE, &c.care)}" · "{c.source.clone()}</span></li>
                }).collect_view()}
            </ul>
            <label class="check" hidden={r.care.is_empty() || r.imported > 0}>
                <input type="checkbox" data-testid="roster-accept-care"
                    prop:checked=move || accept_care.get()
                    on:change=move |ev| accept_care.set(event_target_checked(&ev))/>
                {i18n.t(Key::RosterCareAccept)}
            </label>
            <h2 hidden={r.rows.is_empty()}>{i18n.t(Key::RosterPreview)}</h2>
            <ul class="preview" data-testid="roster-preview">
                {r.rows.iter().take(PREVIEW_ROWS).map(|row| view! {
                    <li>{row.sheet.clone()}" · "{i18n.t(Key::RosterRow)}" "{row.row}": "{row_text(&row.fields)}</li>
                }).collect_view()}
                <li hidden={more == 0}>{i18n.t(Key::RosterMore)}" "{more}</li>
            </ul>
        }})}
    }
}

fn event_target<T: JsCast>(ev: &leptos::ev::Event) -> T {
    ev.target()
        .expect("an input event has a target")
        .unchecked_into()
}
