//! `/accounts/refused` (被拒绝的修改): the edits the server refused for good,
//! for the coordinator: which device made them, when, what they said and
//! why, with a link to the household. An edit refused as outside its
//! device's buildings can be adopted (采纳): the coordinator records the same
//! edit as their own, so what a volunteer entered is not lost. Reads the
//! server; nothing is kept on the phone but adopted edits, which sync as any.

use doorstep_core::{
    access::Role,
    api::{ErrorCode, RefusedEdit},
    labels,
    schema::Collection,
};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::components::A;

use crate::{
    api,
    device::{dialog::confirmed, local_time::clock_time},
    i18n::{Key, use_i18n},
    state::{household::Household, use_app_data},
};

/// Whether the coordinator's own edit would carry it: refused only for
/// being outside the device's buildings, and not since made again.
pub fn adoptable(edit: &RefusedEdit) -> bool {
    !edit.reflected && edit.refusal.code == ErrorCode::Forbidden
}

#[component]
pub fn RefusedPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let edits = LocalResource::new(move || {
        let credentials = data.credentials();
        async move {
            match credentials {
                Some(c) => api::refused(&c).await.map_err(|_| ()),
                None => Ok(Vec::new()),
            }
        }
    });
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Key::RefusedTitle)}</h1>
        <Show
            when=move || data.role() == Some(Role::Coordinator)
            fallback=move || view! { <p class="notice">{move || i18n.t(Key::AccountsCoordinatorsOnly)}</p> }
        >
            <p class="row-detail">{move || i18n.t(Key::RefusedExplained)}</p>
            {move || match edits.get() {
                None => view! { <p class="updated">{i18n.t(Key::AccountsLoading)}</p> }.into_any(),
                Some(Err(())) => view! { <p class="notice">{i18n.t(Key::RefusedOffline)}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="notice" data-testid="refused-none">{i18n.t(Key::RefusedNone)}</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="rows" data-testid="refused-list">
                        {list.into_iter().map(|edit| view! { <RefusedRow edit/> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </Show>
    }
}

#[component]
fn RefusedRow(edit: RefusedEdit) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let adopted = RwSignal::new(false);
    let failed = RwSignal::new(false);
    let mutation = edit.mutation.clone();
    let device = edit
        .device_label
        .clone()
        .filter(|label| !label.trim().is_empty())
        .unwrap_or_else(|| edit.device.chars().take(8).collect());
    let household = data.replica.with_untracked(|r| {
        let id = r.household_of(mutation.collection(), mutation.id(), mutation.fields())?;
        let record = r.record(Collection::Household, &id)?;
        Some(Household::from_record(record))
    });
    // What the edit was about: its household as volunteers name it, or
    // what the record is (and its name, if it has one) when it belongs to none.
    let collection = mutation.collection();
    let about = match &household {
        Some(h) => Signal::derive({
            let about = h.title();
            move || about.clone()
        }),
        None => {
            let name = data.replica.with_untracked(|r| {
                r.record(collection, mutation.id())
                    .zip(collection.name_field())
                    .and_then(|(record, name)| record.text(name).map(str::to_owned))
                    .unwrap_or_default()
            });
            Signal::derive(move || {
                format!("{} {name}", labels::collection(collection, i18n.locale()))
            })
        }
    };
    let reason = i18n.t(crate::errors::refusal(edit.refusal.code));
    let adopt = move |_| {
        if !confirmed(i18n.t(Key::RefusedAdoptConfirm)) {
            return;
        }
        let mutation = mutation.clone();
        spawn_local(async move {
            match data.edit(mutation).await {
                Ok(()) => adopted.set(true),
                Err(_) => failed.set(true),
            }
        });
    };
    let can_adopt = adoptable(&edit);
    let reflected = edit.reflected;
    let fields = edit.mutation.fields().cloned().unwrap_or_default();
    let fields = move || labels::fields(collection, &fields, i18n.locale());
    view! {
        <li class="row refused-row" data-testid="refused-row" data-record=edit.mutation.id().to_string()>
            <span class="row-title">{clock_time(edit.made_at_ms)}" · "{device}</span>
            <span class="row-detail">{about}</span>
            <span class="row-detail">{fields}</span>
            <span class="row-detail">"✗ "{reason}</span>
            <div class="device-actions">
                {household.map(|h| view! {
                    <A href=format!("/households/{}", h.id) attr:class="link">{i18n.t(Key::RefusedOpenHousehold)}</A>
                })}
                {move || if reflected || adopted.get() {
                    let key = if reflected { Key::RefusedReflected } else { Key::RefusedAdopted };
                    view! { <span class="badge" data-testid="refused-state">{i18n.t(key)}</span> }.into_any()
                } else if can_adopt {
                    view! {
                        <button class="button secondary" data-testid="refused-adopt" on:click=adopt.clone()>
                            {i18n.t(Key::RefusedAdopt)}
                        </button>
                    }.into_any()
                } else {
                    ().into_any()
                }}
                <span class="notice" hidden=move || !failed.get()>{i18n.t(Key::RefusedAdoptFailed)}</span>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::mutation::Refusal;
    use serde_json::json;

    use super::*;

    #[test]
    fn only_edits_outside_the_buildings_and_not_made_again_are_adopted() {
        let edit = |code: ErrorCode, reflected: bool| RefusedEdit {
            device: "d".into(),
            device_label: None,
            mid: 1,
            mutation: serde_json::from_value(json!({"kind": "set", "args": {
                "collection": "household", "id": "h1", "compound": "c1", "fields": {"door": "1"}}}))
            .unwrap(),
            made_at_ms: 1,
            received_at_ms: 2,
            refusal: Refusal {
                code,
                message: String::new(),
            },
            reflected,
        };
        assert!(adoptable(&edit(ErrorCode::Forbidden, false)));
        assert!(!adoptable(&edit(ErrorCode::Forbidden, true)));
        assert!(!adoptable(&edit(ErrorCode::EntryExists, false)));
        assert!(!adoptable(&edit(ErrorCode::WrongCompound, false)));
    }
}
