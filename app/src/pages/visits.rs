//! `/visits`: the door-knock area (走访): the round and team (with its two
//! members), and every building's doors, unit by unit (单元), with their
//! outcome this round (only answered doors
//! count as 已走访; no answer and revisit doors are to go back to, with the
//! revisit time); a door opens its 一测二问三看 checklist.

use std::collections::BTreeMap;

use doorstep_core::{
    access::{Place, Role},
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    schema::{Collection, round, team},
    visit::{DoorState, Outcome},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::{components::A, hooks::use_navigate};
use serde_json::json;

use crate::{
    areas::Area,
    device::{dialog::confirmed, local_time::day_time},
    i18n::{Key, Msg, use_i18n},
    pages::{household::new_household_path, join::JoinCompound},
    state::{
        AppData, Work, now_ms,
        team::{MEMBER_FIELDS, TeamMembers},
        use_app_data,
        visits::{
            Door, assign, assignments, coverage, doors_by_building, doors_by_unit, end_round,
            knocked_by, short_id,
        },
    },
};

#[component]
pub fn VisitsPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    // A memo, so a device record update doesn't rebuild the page below.
    let joined = Memo::new(move |_| {
        data.device
            .with(|d| d.as_ref().map(|d| d.compound.is_some()))
    });
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Area::Visits.title())}</h1>
        {move || match joined.get() {
            None => ().into_any(),
            Some(false) => view! { <JoinCompound/> }.into_any(),
            Some(true) => view! { <Registry/> }.into_any(),
        }}
    }
}

#[component]
fn Registry() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let round = move || data.work.with(|w| w.round.clone());
    let buildings = Memo::new(move |_| {
        let doors = data
            .replica
            .with(|r| doors_by_building(r, round().as_ref()));
        knocked_by(doors, data.access().as_ref())
    });
    let assigning = Assigning::new(data);
    let navigate = use_navigate();
    view! {
        <WorkPicker/>
        <div class="section-head">
            <h2>{move || i18n.t(Key::HouseholdListTitle)}</h2>
            <button class="button" data-testid="add-household"
                on:click=move |_| navigate(&new_household_path(), Default::default())>
                {move || i18n.t(Key::HouseholdAdd)}
            </button>
        </div>
        <Show when=move || data.role() == Some(Role::Coordinator)>
            <p><A href="/manage/visits/import" attr:data-testid="roster-link">{move || i18n.t(Key::RosterLink)}</A></p>
        </Show>
        <Show when=move || !buildings.with(BTreeMap::is_empty)
            fallback=move || view! { <p class="notice" data-testid="registry-empty">{i18n.t(Key::HouseholdEmpty)}</p> }>
            {move || {
                buildings
                    .get()
                    .into_iter()
                    .map(|(building, doors)| {
                        let counts = coverage(&doors, now_ms());
                        let whole = Place::new(&building, None);
                        view! {
                            <div class="section-head">
                                <h3 class="building-head" data-testid=format!("building-{building}")
                                    data-visited=counts.visited.to_string() data-back=counts.to_go_back().to_string()>
                                    {let b = building.clone(); move || i18n.building(&b)}" · "{move || i18n.outcome(Some(Outcome::Visited))}" "{counts.visited}"/"{counts.doors}
                                    <Show when=move || { counts.to_go_back() > 0 }>
                                        " · "{move || i18n.t(Key::VisitsGoBack)}" "{counts.to_go_back()}
                                    </Show>
                                </h3>
                                <Show when=move || data.role() == Some(Role::Coordinator)>
                                    <AssignTeam place=whole.clone() assigning=assigning/>
                                </Show>
                            </div>
                            {doors_by_unit(&doors)
                                .into_iter()
                                .map(|(unit, doors)| {
                                    let head = unit.map(|unit| {
                                        let place = Place::new(&building, Some(&unit));
                                        view! { <UnitHead place=place doors=doors.clone() assigning=assigning/> }
                                    });
                                    view! { {head}<DoorRows doors=doors/> }
                                })
                                .collect_view()}
                        }
                    })
                    .collect_view()
            }}
        </Show>
    }
}

/// A unit's (单元) heading in a building's list: its doors answered, and
/// for the coordinator, the team that holds it.
#[component]
fn UnitHead(place: Place, doors: Vec<Door>, assigning: Assigning) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let counts = coverage(&doors, now_ms());
    let unit = place.unit.clone().unwrap_or_default();
    let test_id = format!("unit-{}-{unit}", place.building);
    view! {
        <div class="section-head unit-head">
            <h4 data-testid=test_id
                data-visited=counts.visited.to_string() data-doors=counts.doors.to_string()>
                {let u = unit.clone(); move || i18n.unit(&u)}" · "{move || i18n.outcome(Some(Outcome::Visited))}" "{counts.visited}"/"{counts.doors}
                <Show when=move || { counts.to_go_back() > 0 }>
                    " · "{move || i18n.t(Key::VisitsGoBack)}" "{counts.to_go_back()}
                </Show>
            </h4>
            <Show when=move || data.role() == Some(Role::Coordinator)>
                <AssignTeam place=place.clone() assigning=assigning/>
            </Show>
        </div>
    }
}

/// Doors, each opening its checklist, with where it stands this round.
/// Plain links (the router takes their taps): a compound lists thousands,
/// and a router `A` follows the location for each.
#[component]
fn DoorRows(doors: Vec<Door>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ul class="rows">
            {doors
                .into_iter()
                .map(|door| {
                    let (badge, outcome) = (door.state.word(), door.state.outcome());
                    let when = match door.state {
                        DoorState::Revisit { at_ms: Some(at) } => format!(" {}", day_time(at)),
                        _ => String::new(),
                    };
                    view! {
                        <li>
                            <a href=format!("/visits/door/{}", door.household.id) class="row" data-testid="household-row">
                                <span class="row-title">{door.household.title()}</span>
                                <span class=format!("badge {badge}") data-testid="door-outcome">{move || i18n.outcome(outcome)}{when.clone()}</span>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// The round and team this phone records visits under.
#[component]
fn WorkPicker() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let rounds = data.rounds;
    let coordinating = move || data.role() == Some(Role::Coordinator);
    // Volunteers work only in rounds under way; a coordinator looks back too.
    let round_names = Memo::new(move |_| {
        let coordinating = coordinating();
        rounds.with(|rounds| {
            rounds
                .iter()
                .filter(|r| r.open || coordinating)
                .map(|r| {
                    let name = if r.open {
                        r.name.clone()
                    } else {
                        i18n.msg(Msg::WorkRoundEnded { name: &r.name })
                    };
                    (r.id.clone(), name)
                })
                .collect()
        })
    });
    let teams = Memo::new(move |_| data.replica.with(|r| r.named(team::NAME)));
    let team_name = RwSignal::new(String::new());
    let chosen_open = move || {
        let chosen = data.work.with(|w| w.round.clone())?;
        rounds.with(|r| r.iter().find(|r| r.id == chosen).map(|r| r.open))
    };
    let end_or_reopen = move |_| {
        let (Some(compound), Some(round), Some(open)) = (
            compound_of(&data),
            data.work.with_untracked(|w| w.round.clone()),
            chosen_open(),
        ) else {
            return;
        };
        if open && !confirmed(i18n.t(Key::WorkEndRoundConfirm)) {
            return;
        }
        let mutation = end_round(&compound, &round, open.then(now_ms));
        data.save(vec![mutation]);
    };
    let new_round = move |_| {
        let Some(compound) = compound_of(&data) else {
            return;
        };
        let id = short_id("r");
        let name = i18n.msg(Msg::WorkRoundName {
            n: &(rounds.with_untracked(Vec::len) + 1),
        });
        let mutation = Mutation::Set {
            collection: Collection::Round,
            id: id.clone(),
            compound,
            fields: [
                round::NAME.set(json!(name)),
                round::STARTED_MS.set(now_ms()),
            ]
            .into(),
        };
        data.work.update(|w| w.round = Some(id));
        data.work.with_untracked(|w| w.save());
        data.save(vec![mutation]);
    };
    let new_team = move |_| {
        let name = team_name.get_untracked();
        let Some(compound) = compound_of(&data).filter(|_| !name.trim().is_empty()) else {
            return;
        };
        let id = short_id("t");
        let mutation = Mutation::Set {
            collection: Collection::Team,
            id: id.clone(),
            compound,
            fields: [team::NAME.set(name.trim())].into(),
        };
        data.work.update(|w| w.team = Some(id));
        data.work.with_untracked(|w| w.save());
        team_name.set(String::new());
        data.save(vec![mutation]);
    };
    let select = move |list: Memo<Vec<(RecordId, String)>>,
                       current: fn(&Work) -> Option<RecordId>,
                       set: fn(&mut Work, Option<RecordId>),
                       test_id: &'static str| {
        view! {
            <select data-testid=test_id
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    data.work.update(|w| set(w, value.parse().ok()));
                    data.work.with_untracked(|w| w.save());
                }>
                <option value="" selected=move || data.work.with(|w| current(w).is_none())>{move || i18n.t(Key::WorkNone)}</option>
                {move || list.get().into_iter().map(|(id, name)| {
                    let selected = {
                        let id = id.clone();
                        move || data.work.with(|w| current(w).as_ref() == Some(&id))
                    };
                    view! { <option value=id.to_string() selected=selected>{name}</option> }
                }).collect_view()}
            </select>
        }
    };
    view! {
        <div class="work">
            <label class="field"><span>{move || i18n.t(Key::WorkRound)}</span>
                {select(round_names, |w| w.round.clone(), |w, v| w.round = v, "work-round")}
            </label>
            // Rounds and teams are the coordinator's to make, and to end.
            <Show when=coordinating>
                <div class="inline-form">
                    <button class="button secondary" data-testid="new-round" on:click=new_round>{move || i18n.t(Key::WorkNewRound)}</button>
                    <Show when=move || chosen_open().is_some()>
                        <button class="button secondary" data-testid="end-round" on:click=end_or_reopen>
                            {move || i18n.t(if chosen_open() == Some(true) { Key::WorkEndRound } else { Key::WorkReopenRound })}
                        </button>
                    </Show>
                </div>
            </Show>
            <label class="field"><span>{move || i18n.t(Key::WorkTeam)}</span>
                {select(teams, |w| w.team.clone(), |w, v| w.team = v, "work-team")}
            </label>
            <TeamMembersForm/>
            <Show when=coordinating>
                <div class="inline-form">
                    <input data-testid="team-name" placeholder=move || i18n.t(Key::WorkTeamName) prop:value=move || team_name.get()
                        on:input=move |ev| team_name.set(event_target_value(&ev))/>
                    <button class="button secondary" data-testid="new-team" on:click=new_team>{move || i18n.t(Key::WorkNewTeam)}</button>
                </div>
            </Show>
        </div>
    }
}

/// The chosen team's two members: a line for everyone, and for the
/// coordinator their names and phones to edit.
#[component]
fn TeamMembersForm() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let team = move || data.work.with(|w| w.team.clone());
    let saved = Memo::new(move |_| {
        let team = team()?;
        Some(
            data.replica
                .with(|r| TeamMembers::of(r.record(Collection::Team, &team))),
        )
    });
    let form = RwSignal::new(TeamMembers::default());
    // The form follows the team chosen and what other phones save.
    Effect::new(move |_| form.set(saved.get().unwrap_or_default()));
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(false);
    let save = move |_| {
        let (Some(compound), Some(id), Some(saved)) =
            (compound_of(&data), team(), saved.get_untracked())
        else {
            return;
        };
        match form.with_untracked(|f| f.changes(&saved, &compound, &id)) {
            Err(err) => error.set(Some(format!(
                "{}：{}",
                i18n.field_named(Collection::Team, &err.field),
                crate::errors::field(i18n.locale(), Collection::Team, &err.field)
            ))),
            Ok(None) => done.set(true),
            Ok(Some(mutation)) => spawn_local(async move {
                match data.edit(mutation).await {
                    Ok(()) => {
                        error.set(None);
                        done.set(true);
                    }
                    Err(err) => error.set(Some(err.to_string())),
                }
            }),
        }
    };
    let coordinating = move || data.role() == Some(Role::Coordinator);
    let summary = move || saved.with(|s| s.as_ref().map(TeamMembers::summary).unwrap_or_default());
    view! {
        <Show when=move || team().is_some()>
            <Show when=move || !coordinating() && !summary().is_empty()>
                <p class="row-detail" data-testid="team-members">{move || i18n.t(Key::TeamMembers)}"："{summary}</p>
            </Show>
            <Show when=coordinating>
                <fieldset class="team-members">
                    <legend>{move || i18n.t(Key::TeamMembers)}</legend>
                    {move || saved.get().and_then(|s| s.recorded_before).map(|text| view! {
                        <p class="row-detail" data-testid="team-recorded-before">{i18n.msg(Msg::TeamRecordedBefore { m: &text })}</p>
                    })}
                    {MEMBER_FIELDS.chunks(2).map(|pair| {
                        let input = move |field: &'static str, mode: &'static str| view! {
                            <input data-testid=format!("team-{}", field.replace('_', "-")) inputmode=mode
                                placeholder=move || i18n.field_named(Collection::Team, field) aria-label=move || i18n.field_named(Collection::Team, field)
                                prop:value=move || form.with(|f| f.value(field).to_owned())
                                on:input=move |ev| {
                                    let text = event_target_value(&ev);
                                    form.update(|f| { f.values.insert(field.to_owned(), text); });
                                    done.set(false);
                                }/>
                        };
                        // Each member's name, then phone (`MEMBER_FIELDS`).
                        view! { <div class="inline-form">{input(pair[0], "text")}{input(pair[1], "tel")}</div> }
                    }).collect_view()}
                    <div class="inline-form">
                        <button class="button secondary" data-testid="team-save" on:click=save>{move || i18n.t(Key::TeamSave)}</button>
                        <Show when=move || done.get()>
                            <span class="row-detail" data-testid="team-saved">{move || i18n.t(Key::TeamSaved)}</span>
                        </Show>
                    </div>
                    {move || error.get().map(|e| view! { <p class="banner warning" data-testid="team-error">{e}</p> })}
                </fieldset>
            </Show>
        </Show>
    }
}

fn compound_of(data: &AppData) -> Option<CompoundId> {
    data.device.with_untracked(|d| {
        d.as_ref()
            .and_then(|d| d.compound.as_ref().map(|c| c.id.clone()))
    })
}

/// The teams and this round's assignments, read once for the list's
/// pickers (a building's and each unit's), not once per picker.
#[derive(Clone, Copy)]
struct Assigning {
    teams: Memo<Vec<(RecordId, String)>>,
    assigned: Memo<BTreeMap<Place, RecordId>>,
}

impl Assigning {
    fn new(data: AppData) -> Self {
        Assigning {
            teams: Memo::new(move |_| data.replica.with(|r| r.named(team::NAME))),
            assigned: Memo::new(move |_| {
                let round = data.work.with(|w| w.round.clone());
                round
                    .map(|round| data.replica.with(|r| assignments(r, &round)))
                    .unwrap_or_default()
            }),
        }
    }
}

/// The team covering a building, or one unit of it, this round (the
/// coordinator sets it).
#[component]
fn AssignTeam(place: Place, assigning: Assigning) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let Assigning { teams, assigned } = assigning;
    let current = {
        let place = place.clone();
        Memo::new(move |_| assigned.with(|a| a.get(&place).cloned()))
    };
    let test_id = match &place.unit {
        None => "assign-team".to_owned(),
        Some(unit) => format!("assign-unit-{}-{unit}", place.building),
    };
    let on_change = move |ev| {
        let team: Option<RecordId> = event_target_value(&ev).parse().ok();
        let (Some(round), Some(compound)) = (
            data.work.with_untracked(|w| w.round.clone()),
            compound_of(&data),
        ) else {
            return;
        };
        if let Some(mutation) = assign(&compound, &round, &place, team.as_ref()) {
            data.save(vec![mutation]);
        }
    };
    view! {
        <Show when=move || data.work.with(|w| w.round.is_some())>
            <select class="assign" data-testid=test_id.clone() aria-label=move || i18n.t(Key::WorkTeam)
                prop:value=move || current.get().map(|t| t.to_string()).unwrap_or_default() on:change=on_change.clone()>
                <option value="">{move || i18n.t(Key::WorkUnassigned)}</option>
                // Each option says whether it is chosen, so a list drawn
                // again (a team added or renamed) keeps the choice.
                {move || teams.get().into_iter().map(|(id, name)| {
                    let chosen = current.get().as_ref() == Some(&id);
                    view! { <option value=id.to_string() selected=chosen>{name}</option> }
                }).collect_view()}
            </select>
        </Show>
    }
}
