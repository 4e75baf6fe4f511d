//! `/ledgers/needs/:id`: one need: what it is, the household (phone and a
//! link to it), who raised it and when (for a resident's request, the
//! number to call back), its history, and only the next steps its state
//! allows (call back, assign, start, resolve, close 销号, reopen); a
//! coordinator may mark it as spam.

use doorstep_core::{
    access::Role,
    ids::RecordId,
    need::Status,
    schema::{Collection, household, need, team},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    device::local_time::{clock_time, day_time},
    errors,
    i18n::{Key, Msg, use_i18n},
    pages::history::RecordHistory,
    state::{
        household::Household,
        needs::{NeedRow, mark_spam, needs, step},
        now_ms, use_app_data,
    },
};

fn action(to: Status) -> (Key, &'static str) {
    match to {
        Status::Assigned => (Key::ActionAssign, "need-assign"),
        Status::InProgress => (Key::ActionStart, "need-start"),
        Status::Resolved => (Key::ActionResolve, "need-resolve"),
        Status::Closed => (Key::ActionClose, "need-close"),
        Status::CalledBack => (Key::ActionCallBack, "need-call-back"),
        Status::Collected | Status::Reopened => (Key::ActionReopen, "need-reopen"),
    }
}

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
    view! {
        {move || match (i18n.locale(), row.get()).1 {
            None => view! { <p class="notice">{i18n.t(Key::NeedsNotFound)}</p> }.into_any(),
            Some(row) => view! { <Need row=row/> }.into_any(),
        }}
    }
}

#[component]
fn Need(row: NeedRow) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let team_name = move |team: &RecordId| {
        data.replica.with_untracked(|r| {
            r.record(Collection::Team, team)
                .and_then(|t| t.text(team::NAME).map(str::to_owned))
        })
    };
    let default_team = data.replica.with_untracked(|r| {
        let round = data.work.with_untracked(|w| w.round.clone());
        row.default_team(r, round.as_ref())
    });
    let team = RwSignal::new(default_team.map(|t| t.to_string()).unwrap_or_default());
    let hours = RwSignal::new("24".to_owned());
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let teams = Memo::new(move |_| data.replica.with(|r| r.named(team::NAME)));
    let actions = row.actions();
    let offers = |to: Status| actions.contains(&to);
    let (can_assign, takes_note) = (
        offers(Status::Assigned),
        offers(Status::Resolved) || offers(Status::Reopened),
    );

    let act = {
        let row = row.clone();
        move |to: Status| {
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
                Err(err) => error.set(Some(errors::step(i18n.locale(), &err))),
                Ok(mutation) => {
                    error.set(None);
                    note.set(String::new());
                    data.save(vec![mutation]);
                }
            }
        }
    };

    let spam = {
        let (id, marked) = (row.id.clone(), row.spam);
        move |_: leptos::ev::MouseEvent| {
            if let Some(compound) = data
                .device
                .with_untracked(|d| d.as_ref().and_then(|d| d.compound.clone()))
            {
                data.save(vec![mark_spam(&compound.id, &id, !marked)]);
            }
        }
    };
    let (is_spam, is_request) = (row.spam, row.request.is_some());
    let called_back = row.state.called_back_ms();
    let request = row.request.clone().map(|r| {
        let (phone, name) = (r.phone.clone(), r.name.clone());
        let waited = r.requested_ms.zip(called_back).map(|(asked, called)| {
            i18n.msg(Msg::DurationMinutes {
                n: &(called.saturating_sub(asked) / 60_000),
            })
        });
        view! {
            <dt>{i18n.t(Key::NeedsFromResident)}</dt>
            <dd data-testid="need-request">{r.requested_ms.map(day_time)}</dd>
            <dt>{i18n.t(Key::NeedsRequester)}</dt>
            <dd><a class="link" href=format!("tel:{phone}") data-testid="need-request-phone">{r.phone}</a></dd>
            {(!name.is_empty()).then(|| view! {
                <dt>{i18n.t(Key::NeedsRequesterName)}</dt><dd data-testid="need-request-name">{name.clone()}</dd>
            })}
            {waited.map(|w| view! { <dt>{i18n.t(Key::NeedsCallBackAfter)}</dt><dd data-testid="need-call-back-after">{w}</dd> })}
        }
    });
    let household = row.household.clone();
    let place = household.as_ref().map(Household::title).unwrap_or_default();
    let phone = household
        .as_ref()
        .map(|h| h.phone().to_owned())
        .filter(|p| !p.is_empty());
    let description =
        doorstep_core::labels::description(&row.description, i18n.locale()).to_owned();
    let raised = {
        let by = row.raised_by.as_ref().and_then(team_name);
        let at = row.raised_at_ms().map(day_time);
        match (by, at) {
            (None, None) => None,
            (by, at) => Some(format!(
                "{} {}",
                at.unwrap_or_default(),
                by.unwrap_or_default()
            )),
        }
    };
    let assigned = row
        .state
        .team
        .as_ref()
        .and_then(team_name)
        .map(|name| format!("{} {name}", i18n.t(Key::NeedsTeam)));
    let history = row
        .state
        .history
        .iter()
        .map(|s| {
            view! { <li class="row"><span>{clock_time(s.at_ms)}" "{i18n.status(Some(s.to))}</span><span class="row-detail">{s.note.clone()}</span></li> }
        })
        .collect_view();
    let ignored = row.state.ignored.len();
    let buttons = actions
        .iter()
        .map(|to| {
            let (label, test_id) = action(*to);
            let (act, to) = (act.clone(), *to);
            view! { <button class="button secondary" data-testid=test_id on:click=move |_| act(to)>{move || i18n.t(label)}</button> }
        })
        .collect_view();

    view! {
        <h1 data-testid="need-title">{i18n.choice(need::CATEGORY, &row.category)}" · "{place}</h1>
        <p>
            <span class="badge" data-testid="need-status">{i18n.status(row.state.status)}</span>
            {row.awaits_call.then(|| view! { " "<span class="badge refused" data-testid="need-awaits-call">{i18n.t(Key::NeedsWaitingCall)}</span> })}
        </p>
        <Show when=move || is_spam>
            <p class="banner warning" data-testid="need-spam-notice">{i18n.t(Key::NeedsSpam)}</p>
        </Show>
        <dl class="facts">
            {request}
            <Show when={let d = description.clone(); move || !d.is_empty()}>
                <dt>{i18n.t(Key::NeedDescription)}</dt><dd data-testid="need-description">{description.clone()}</dd>
            </Show>
            {household.map(|h| {
                let (href, name) = (format!("/households/{}", h.id), h.title());
                view! {
                    <dt>{i18n.t(Key::NeedHousehold)}</dt>
                    <dd><A href=href attr:class="link" attr:data-testid="need-household">{name}</A></dd>
                }
            })}
            {phone.map(|phone| view! {
                <dt>{i18n.field(household::PHONE)}</dt>
                <dd><a class="link" href=format!("tel:{phone}") data-testid="need-phone">{phone.clone()}</a></dd>
            })}
            {raised.map(|raised| view! { <dt>{i18n.t(Key::NeedRaisedTitle)}</dt><dd data-testid="need-raised">{raised}</dd> })}
            {assigned.map(|a| view! { <dt>{i18n.status(Some(Status::Assigned))}</dt><dd data-testid="need-assigned">{a}</dd> })}
        </dl>
        <p data-testid="need-resolution">{row.state.resolution.clone()}</p>
        <section class="check-section">
            <Show when=move || can_assign>
                <label class="field"><span>{move || i18n.t(Key::NeedsTeam)}</span>
                    <select data-testid="need-team" on:change=move |ev| team.set(event_target_value(&ev))>
                        <option value="" selected=move || team.with(String::is_empty)>{move || i18n.t(Key::WorkNone)}</option>
                        {move || teams.get().into_iter().map(|(id, name)| {
                            let id = id.to_string();
                            let selected = { let id = id.clone(); move || team.get() == id };
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label class="field"><span>{move || i18n.t(Key::NeedsDueHours)}</span>
                    <input data-testid="need-hours" inputmode="numeric" prop:value=move || hours.get() on:input=move |ev| hours.set(event_target_value(&ev))/>
                </label>
            </Show>
            <Show when=move || takes_note>
                <label class="field"><span>{move || i18n.t(Key::NeedsNote)}</span>
                    <input data-testid="need-note" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
                </label>
            </Show>
            <p class="banner warning" data-testid="need-error" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
            <div class="button-row wrap" data-testid="need-actions">{buttons}</div>
        </section>
        <Show when=move || data.role() == Some(Role::Coordinator) && is_request>
            <p><button class="button secondary" data-testid="need-spam" on:click=spam.clone()>
                {move || i18n.t(if is_spam { Key::NeedsUnmarkSpam } else { Key::NeedsMarkSpam })}
            </button></p>
        </Show>
        <h2>{i18n.t(Key::NeedsHistory)}</h2>
        <ol class="rows" data-testid="need-history">{history}</ol>
        <Show when=move || { ignored > 0 }>
            <p class="notice">{i18n.t(Key::NeedsIgnored)}": "{ignored}</p>
        </Show>
        <RecordHistory collection=Collection::Need id=row.id.clone()/>
    }
}
