//! `/home-visits`: home-visit dispatch (上门专班). The coordinator sees the
//! working round's list (homebound people, home-test and medical-visit
//! requests) and sends each household to a home-visit team; a team's phone
//! sees its own list by building, unit and floor and records each result,
//! offline like every edit. Logic in `state::home_visits`.

use doorstep_core::{
    access::Role,
    home_visit::{Outcome, ResultError},
    ids::{CompoundId, RecordId},
    schema::{home_visit, need, person, team},
};
use leptos::prelude::*;

use crate::{
    areas::Area,
    i18n::{I18n, Key, Msg, use_i18n},
    state::{
        AppData,
        home_visits::{
            Row, Why, dispatch, flag_team, home_visit_teams, is_home_visit_team, record_result,
            round_rows, team_rows,
        },
        now_ms, use_app_data,
    },
};

fn compound_of(data: &AppData) -> Option<CompoundId> {
    data.device.with_untracked(|d| {
        d.as_ref()
            .and_then(|d| d.compound.as_ref().map(|c| c.id.clone()))
    })
}

/// A result as people read it (core's words for the schema's choice).
fn outcome_word(i18n: I18n, outcome: Outcome) -> String {
    i18n.choice(home_visit::RESULT, outcome.name())
}

fn badge_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Tested => "badge visited",
        Outcome::NotHome => "badge no_answer",
        Outcome::Refused => "badge refused",
    }
}

/// "3号楼 1单元 702 · 7楼": where the door is, as people read it.
fn address(i18n: I18n, row: &Row) -> String {
    let mut parts = Vec::new();
    if let Some(place) = &row.entry.place {
        parts.push(i18n.building(&place.building));
        if let Some(unit) = &place.unit {
            parts.push(i18n.unit(unit));
        }
    }
    parts.extend(row.entry.door.clone());
    let mut text = parts.join(" ");
    if let Some(floor) = row.entry.floor() {
        text.push_str(" · ");
        text.push_str(&i18n.msg(Msg::HomeVisitsFloor { n: &floor }));
    }
    text
}

/// Who the visit is for: the person and their care group, or the request.
fn why(i18n: I18n, row: &Row) -> String {
    match &row.why {
        Why::Person { name, care } => {
            let care = care
                .as_deref()
                .map(|c| i18n.choice(person::CARE, c))
                .unwrap_or_default();
            format!("{name} · {care} · {}", i18n.t(Key::HomeVisitsHomebound))
        }
        Why::Need {
            category,
            description,
            ..
        } => {
            let head = if row.head.is_empty() {
                String::new()
            } else {
                format!("{} · ", row.head)
            };
            let category = i18n.choice(need::CATEGORY, category);
            format!("{head}{category} {description}")
        }
    }
}

#[component]
pub fn HomeVisitsPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Area::HomeVisits.title())}</h1>
        {move || match data.role() {
            Some(Role::Coordinator) => view! { <DispatchList/> }.into_any(),
            _ => view! { <TeamList/> }.into_any(),
        }}
    }
}

/// The coordinator's list for the working round, and which teams are
/// home-visit teams.
#[component]
fn DispatchList() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let round = move || data.work.with(|w| w.round.clone());
    let rows = Memo::new(move |_| {
        let round = round()?;
        Some(data.replica.with(|r| round_rows(r, &round)))
    });
    let teams = Memo::new(move |_| data.replica.with(home_visit_teams));
    let all_teams = Memo::new(move |_| {
        data.replica.with(|r| {
            r.named(team::NAME)
                .into_iter()
                .map(|(id, name)| {
                    let flagged = is_home_visit_team(r, &id);
                    (id, name, flagged)
                })
                .collect::<Vec<_>>()
        })
    });
    let send = move |row: Row, team: Option<RecordId>| {
        let (Some(compound), Some(round)) = (compound_of(&data), round()) else {
            return;
        };
        let edits = dispatch(&compound, &round, &row, team.as_ref(), now_ms());
        if !edits.is_empty() {
            data.save(edits);
        }
    };
    let round_name = move || {
        let round = round()?;
        data.rounds
            .with(|r| r.iter().find(|r| r.id == round).map(|r| r.name.clone()))
    };
    view! {
        <p class="notice">{move || i18n.t(Key::HomeVisitsIntro)}</p>
        {move || round_name().map(|name| view! {
            <p class="row-detail" data-testid="dispatch-round">{i18n.t(Key::WorkRound)}" · "{name}</p>
        })}
        <Show when=move || rows.with(Option::is_some)
            fallback=move || view! { <p class="notice" data-testid="dispatch-no-round">{move || i18n.t(Key::HomeVisitsPickRound)}</p> }>
            <Show when=move || rows.with(|r| r.as_ref().is_some_and(|r| !r.is_empty()))
                fallback=move || view! { <p class="notice" data-testid="dispatch-empty">{move || i18n.t(Key::HomeVisitsEmpty)}</p> }>
                <ul class="rows" data-testid="dispatch-list">
                    {move || rows.get().unwrap_or_default().into_iter().map(|row| {
                        let key = row.key();
                        let current = row.team().map(ToString::to_string).unwrap_or_default();
                        let result = row.result();
                        let tube = row.tube_no().map(str::to_owned);
                        let chosen = row.clone();
                        view! {
                            <li class="row stacked" data-testid="dispatch-row" data-key=key>
                                <span class="row-title">{let r = row.clone(); move || address(i18n, &r)}</span>
                                <span class="row-detail">{let r = row.clone(); move || why(i18n, &r)}</span>
                                <span class="row-detail">
                                    <select class="assign" data-testid="dispatch-team" aria-label=move || i18n.t(Key::HomeVisitsTeam)
                                        prop:value=current.clone()
                                        on:change=move |ev| send(chosen.clone(), event_target_value(&ev).parse().ok())>
                                        <option value="">{move || i18n.t(Key::HomeVisitsNotSent)}</option>
                                        {teams.get().into_iter().map(|(id, name)| {
                                            let selected = id.to_string() == current;
                                            view! { <option value=id.to_string() selected=selected>{name}</option> }
                                        }).collect_view()}
                                    </select>
                                    {result.map(|o| view! {
                                        <span class=badge_class(o) data-testid="dispatch-result">
                                            {move || outcome_word(i18n, o)}{tube.clone().map(|t| format!(" {t}"))}
                                        </span>
                                    })}
                                </span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
        </Show>
        <h2>{move || i18n.t(Key::HomeVisitsTeams)}</h2>
        <p class="row-detail">{move || i18n.t(Key::HomeVisitsTeamsHint)}</p>
        <div class="chips">
            {move || all_teams.get().into_iter().map(|(id, name, flagged)| {
                let flip = {
                    let id = id.clone();
                    move |_| {
                        if let Some(compound) = compound_of(&data) {
                            data.save(vec![flag_team(&compound, &id, !flagged)]);
                        }
                    }
                };
                view! {
                    <label class="check" data-testid=format!("home-visit-team-{id}")>
                        <input type="checkbox" prop:checked=flagged on:change=flip/>
                        {name}
                    </label>
                }
            }).collect_view()}
        </div>
    }
}

/// A home-visit team's list on its phone, with a result per door.
#[component]
fn TeamList() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let team = move || data.access().and_then(|a| a.team);
    let rows = Memo::new(move |_| {
        let team = team()?;
        Some(data.replica.with(|r| team_rows(r, &team)))
    });
    view! {
        <Show when=move || rows.with(|r| r.as_ref().is_some_and(|r| !r.is_empty()))
            fallback=move || view! { <p class="notice" data-testid="home-visits-empty">{move || i18n.t(Key::HomeVisitsNoneForTeam)}</p> }>
            <ul class="rows" data-testid="home-visit-list">
                {move || rows.get().unwrap_or_default().into_iter().map(|row| view! { <TeamRow row=row/> }).collect_view()}
            </ul>
        </Show>
    }
}

#[component]
fn TeamRow(row: Row) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let tube = RwSignal::new(row.tube_no().unwrap_or_default().to_owned());
    let error = RwSignal::new(None::<ResultError>);
    let result = row.result();
    let record = {
        let row = row.clone();
        move |outcome: Outcome| {
            let Some(compound) = compound_of(&data) else {
                return;
            };
            let tube = tube.get_untracked();
            let resolution = i18n.msg(Msg::HomeVisitsResolution { tube: &tube.trim() });
            match record_result(&compound, &row, outcome, &tube, &resolution, now_ms()) {
                Ok(edits) => {
                    error.set(None);
                    data.save(edits);
                }
                Err(err) => error.set(Some(err)),
            }
        }
    };
    let button = move |outcome: Outcome, class: &'static str, test_id: &'static str| {
        let record = record.clone();
        view! {
            <button class=class data-testid=test_id on:click=move |_| record(outcome)>{move || outcome_word(i18n, outcome)}</button>
        }
    };
    view! {
        <li class="row stacked" data-testid="home-visit-row" data-key=row.key()>
            <span class="row-title">{let r = row.clone(); move || address(i18n, &r)}</span>
            <span class="row-detail">{let r = row.clone(); move || why(i18n, &r)}</span>
            {result.map(|o| view! {
                <span class="row-detail">
                    <span class=badge_class(o) data-testid="home-visit-result">
                        {move || outcome_word(i18n, o)}{row.tube_no().map(|t| format!(" {t}"))}
                    </span>
                </span>
            })}
            <div class="inline-form">
                <input data-testid="tube-no" maxlength="32" placeholder=move || i18n.t(Key::HomeVisitsTube)
                    prop:value=move || tube.get() on:input=move |ev| tube.set(event_target_value(&ev))/>
                {button(Outcome::Tested, "button", "result-tested")}
            </div>
            <div class="button-row wrap">
                {button(Outcome::NotHome, "button secondary", "result-not-home")}
                {button(Outcome::Refused, "button secondary", "result-refused")}
            </div>
            {move || error.get().map(|err| view! {
                <p class="banner warning" data-testid="home-visit-error">{i18n.t(crate::errors::home_visit(err))}</p>
            })}
        </li>
    }
}
