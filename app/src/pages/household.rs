//! `/households/:id`: one household's registry entry, its conflicts with
//! other volunteers' edits, and saving. A new household gets its permanent id
//! before its first save, so the page never has to move after saving.

use doorstep_core::{
    ids::RecordId,
    schema::{Collection, household},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;

use crate::{
    i18n::{Key, use_i18n},
    pages::{history::RecordHistory, household_ledgers::HouseholdLedgers},
    state::{
        household::{FIELDS, Household},
        use_app_data,
    },
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum SaveState {
    Idle,
    Saved,
    Unchanged,
}

#[component]
pub fn HouseholdPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    // Keyed on the id so moving between households rebuilds the form.
    move || view! { <HouseholdEditor param=id()/> }
}

#[component]
fn HouseholdEditor(param: String) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let Ok(id) = param.parse::<RecordId>() else {
        return view! { <p class="notice">{move || i18n.t(Key::HouseholdNotFound)}</p> }.into_any();
    };
    let saved = {
        let id = id.clone();
        Memo::new(move |_| {
            data.replica.with(|r| {
                r.record(Collection::Household, &id)
                    .map(Household::from_record)
            })
        })
    };
    let household_id = id.clone();
    let form = RwSignal::new(Household::blank(id.clone()));
    let dirty = RwSignal::new(false);
    let status = RwSignal::new(SaveState::Idle);
    let error = RwSignal::new(None::<String>);
    // Pulled changes show at once in fields the volunteer is not editing.
    Effect::new(move |_| {
        if let Some(household) = saved.get()
            && !dirty.get_untracked()
        {
            form.set(household);
        }
    });
    let conflicts = {
        let id = id.clone();
        Memo::new(move |_| {
            data.replica
                .with(|r| r.conflicts_for(Collection::Household, &id))
        })
    };
    let is_new = move || saved.with(Option::is_none);

    let save = move |_| {
        let Some(compound) = data
            .device
            .with_untracked(|d| d.as_ref().and_then(|d| d.compound.clone()))
        else {
            return;
        };
        let baseline = saved
            .get_untracked()
            .unwrap_or_else(|| Household::blank(form.with_untracked(|f| f.id.clone())));
        match form.with_untracked(|f| f.changes(&baseline, &compound.id)) {
            Err(err) => error.set(Some(format!(
                "{}：{}",
                i18n.field_named(Collection::Household, &err.field),
                crate::errors::field(i18n.locale(), Collection::Household, &err.field)
            ))),
            Ok(None) => status.set(SaveState::Unchanged),
            Ok(Some(mutation)) => spawn_local(async move {
                match data.edit(mutation).await {
                    Ok(()) => {
                        dirty.set(false);
                        error.set(None);
                        status.set(SaveState::Saved);
                    }
                    Err(err) => error.set(Some(i18n.t(crate::errors::storage(&err)).to_owned())),
                }
            }),
        }
    };

    view! {
        <h1 data-testid="page-title">
            {move || i18n.t(if is_new() { Key::HouseholdNewTitle } else { Key::HouseholdEditTitle })}
        </h1>
        <form class="form" on:submit=|ev| ev.prevent_default()>
            {FIELDS
                .iter()
                .map(|&field| {
                    let name = field.name;
                    let value = move || form.with(|f| f.value(field).to_owned());
                    let on_input = move |ev| {
                        let text = event_target_value(&ev);
                        form.update(|f| {
                            f.values.insert(field.into(), text);
                        });
                        dirty.set(true);
                        status.set(SaveState::Idle);
                    };
                    let test_id = format!("field-{name}");
                    let input = if field == household::NOTES {
                        view! { <textarea data-testid=test_id prop:value=value on:input=on_input></textarea> }.into_any()
                    } else {
                        let numeric = field == household::MEMBERS;
                        view! {
                            <input data-testid=test_id prop:value=value on:input=on_input
                                inputmode=if numeric { "numeric" } else { "text" }/>
                        }
                        .into_any()
                    };
                    let field_conflicts = move || {
                        conflicts.get().into_iter().filter(|c| c.field == name).collect::<Vec<_>>()
                    };
                    view! {
                        <label class="field">
                            <span>{move || i18n.field(field)}</span>
                            {input}
                        </label>
                        // Beside the field it concerns, so the volunteer sees both values.
                        <For each=field_conflicts key=|c| c.key() let:conflict>
                            <ConflictNotice conflict=conflict/>
                        </For>
                    }
                })
                .collect_view()}
            <p class="banner warning" data-testid="form-error" hidden=move || error.with(Option::is_none)>
                {move || error.get().map(|e| format!("{} {e}", i18n.t(Key::HouseholdInvalid)))}
            </p>
            <button class="button wide" type="button" data-testid="save-household" on:click=save>
                {move || i18n.t(Key::HouseholdSave)}
            </button>
            <p class="save-status" data-testid="save-status">
                {move || match status.get() {
                    SaveState::Idle => "",
                    SaveState::Saved => i18n.t(Key::HouseholdSaved),
                    SaveState::Unchanged => i18n.t(Key::HouseholdUnchanged),
                }}
            </p>
        </form>
        <HouseholdLedgers household=household_id.clone()/>
        <RecordHistory collection=Collection::Household id=household_id/>
    }
    .into_any()
}

#[component]
fn ConflictNotice(conflict: doorstep_core::conflict::Conflict) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let text = |value: &serde_json::Value| match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    };
    let field = conflict.field.clone();
    let label = move || i18n.field_named(Collection::Household, &field).to_owned();
    let test_id = format!("conflict-{}", conflict.field);
    let (theirs, mine) = (text(&conflict.theirs.value), text(&conflict.mine.value));
    view! {
        <div class="banner conflict" role="status" data-testid=test_id>
            <strong>{move || i18n.t(Key::ConflictTitle)}" · "{label}</strong>
            <p>{move || i18n.t(Key::ConflictTheirs)}" 「"{theirs.clone()}"」"</p>
            <p>{move || i18n.t(Key::ConflictMine)}" 「"<span data-testid="conflict-mine">{mine.clone()}</span>"」"</p>
            <button class="link" on:click=move |_| {
                let conflict = conflict.clone();
                spawn_local(async move {
                    if let Err(err) = data.dismiss_conflict(&conflict).await {
                        data.show_failed(&err);
                    }
                });
            }>{move || i18n.t(Key::ConflictDismiss)}</button>
        </div>
    }
}

/// The path of a new household's page: its id is made now, on the phone.
pub fn new_household_path() -> String {
    format!("/households/{}", uuid::Uuid::new_v4())
}
