//! `/ledgers/needs/:id`: one need, its history, and its next steps
//! (assign, start, resolve, close 销号, reopen).

use doorstep_core::{ids::RecordId, need::Status, schema::Collection};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;

use crate::{
    device::local_time::clock_time,
    i18n::{Key, use_i18n},
    pages::{
        history::RecordHistory,
        ledgers::{category_key, status_key},
    },
    state::{
        needs::{needs, step},
        now_ms, use_app_data,
    },
};

#[component]
pub fn NeedPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let params = use_params_map();
    let id = move || {
        params
            .with(|p| p.get("id").unwrap_or_default())
            .parse::<RecordId>()
            .ok()
    };
    let row = Memo::new(move |_| {
        let id = id()?;
        data.replica
            .with(|r| needs(r, now_ms()).into_iter().find(|n| n.id == id))
    });
    let team = RwSignal::new(
        data.work
            .with_untracked(|w| w.team.clone())
            .map(|t| t.to_string())
            .unwrap_or_default(),
    );
    let hours = RwSignal::new("24".to_owned());
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let teams = Memo::new(move |_| {
        data.replica.with(|r| {
            r.all(Collection::Team)
                .into_iter()
                .map(|t| {
                    (
                        t.id.to_string(),
                        t.value("name")
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
    });

    let act = move |to: Status| {
        let Some(row) = row.get_untracked() else {
            return;
        };
        let Some(compound) = data
            .device
            .with_untracked(|d| d.as_ref().and_then(|d| d.compound.clone()))
        else {
            return;
        };
        let now = now_ms();
        let (team_id, due) = if to == Status::Assigned {
            (
                team.get_untracked().parse().ok(),
                hours
                    .get_untracked()
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .map(|h| now + h * 3_600_000),
            )
        } else {
            (None, None)
        };
        match step(
            &compound.id,
            &row,
            to,
            team_id,
            due,
            &note.get_untracked(),
            now,
        ) {
            Err(message) => error.set(Some(message)),
            Ok(mutation) => {
                error.set(None);
                note.set(String::new());
                spawn_local(async move {
                    let _ = data.edit(mutation).await;
                });
            }
        }
    };
    let button = move |to: Status, label: Key, test_id: &'static str| {
        view! { <button class="button secondary" data-testid=test_id on:click=move |_| act(to)>{move || i18n.t(label)}</button> }
    };

    view! {
        {move || match row.get() {
            None => view! { <p class="notice">{i18n.t(Key::NeedsNotFound)}</p> }.into_any(),
            Some(row) => {
                let place = row.household.as_ref().map(|h| format!("{} {}", h.address(), h.value("head"))).unwrap_or_default();
                let history = row.state.history.iter().map(|s| {
                    let status = status_key(Some(s.to));
                    view! { <li class="row"><span>{clock_time(s.at_ms)}" "{i18n.t(status)}</span><span class="row-detail">{s.note.clone()}</span></li> }
                }).collect_view();
                let ignored = row.state.ignored.len();
                view! {
                    <h1 data-testid="need-title">{i18n.t(category_key(&row.category))}" · "{place}</h1>
                    <p><span class="badge" data-testid="need-status">{i18n.t(status_key(row.state.status))}</span></p>
                    <p data-testid="need-resolution">{row.state.resolution.clone()}</p>
                    <h2>{i18n.t(Key::NeedsHistory)}</h2>
                    <ol class="rows" data-testid="need-history">{history}</ol>
                    <RecordHistory collection=Collection::Need id=row.id.clone()/>
                    <Show when=move || { ignored > 0 }>
                        <p class="notice">{i18n.t(Key::NeedsIgnored)}": "{ignored}</p>
                    </Show>
                }.into_any()
            }
        }}
        <section class="check-section">
            <label class="field"><span>{move || i18n.t(Key::NeedsTeam)}</span>
                <select data-testid="need-team" on:change=move |ev| team.set(event_target_value(&ev))>
                    <option value="">{move || i18n.t(Key::WorkNone)}</option>
                    {move || teams.get().into_iter().map(|(id, name)| {
                        let selected = { let id = id.clone(); move || team.get() == id };
                        view! { <option value=id selected=selected>{name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="field"><span>{move || i18n.t(Key::NeedsDueHours)}</span>
                <input data-testid="need-hours" inputmode="numeric" prop:value=move || hours.get() on:input=move |ev| hours.set(event_target_value(&ev))/>
            </label>
            <label class="field"><span>{move || i18n.t(Key::NeedsNote)}</span>
                <input data-testid="need-note" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
            </label>
            <p class="banner warning" data-testid="need-error" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
            <div class="button-row wrap">
                {button(Status::Assigned, Key::ActionAssign, "need-assign")}
                {button(Status::InProgress, Key::ActionStart, "need-start")}
                {button(Status::Resolved, Key::ActionResolve, "need-resolve")}
                {button(Status::Closed, Key::ActionClose, "need-close")}
                {button(Status::Reopened, Key::ActionReopen, "need-reopen")}
            </div>
        </section>
    }
}
