//! `/visits/door/:household`: one door's 一测二问三看 checklist, built for
//! speed: big toggles, then "save and next door" in building order. Every
//! tap is kept as a draft in IndexedDB until the checklist is saved.

use doorstep_core::{
    ids::RecordId,
    schema::{Collection, Field, Vocabulary, household, visit},
    visit::{Checklist, DoorState, Health, Outcome},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    device::local_time::day_time,
    errors,
    i18n::{Key, use_i18n},
    pages::history::RecordHistory,
    state::{
        now_ms, use_app_data,
        visits::{
            DoorDraft, building_doors, checklist_mutations, checklist_of, next_unvisited, visit_id,
        },
    },
};

#[component]
pub fn DoorPage() -> impl IntoView {
    let params = use_params_map();
    let data = use_app_data();
    // The checklist reads the saved visit and its draft once, so it waits
    // for storage to be read (the device comes last), e.g. after a reload.
    let loaded = Memo::new(move |_| data.device.with(Option::is_some));
    move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        match (loaded.get(), id.parse::<RecordId>()) {
            (true, Ok(id)) => view! { <Door household=id/> }.into_any(),
            _ => ().into_any(),
        }
    }
}

/// A row of large buttons, one per choice; the chosen one is highlighted.
fn choices<T: Clone + PartialEq + Send + Sync + 'static>(
    options: Vec<(T, Signal<String>, String)>,
    current: impl Fn() -> T + Copy + Send + Sync + 'static,
    set: impl Fn(T) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="choices">
            {options
                .into_iter()
                .map(|(value, label, test_id)| {
                    let chosen = {
                        let value = value.clone();
                        move || current() == value
                    };
                    view! {
                        <button type="button" class="choice" class:chosen=chosen data-testid=test_id
                            on:click=move |_| set(value.clone())>
                            {label}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

fn yes_no(prefix: &str, yes: Key, no: Key) -> Vec<(Option<bool>, Signal<String>, String)> {
    let i18n = use_i18n();
    vec![
        (
            Some(true),
            Signal::derive(move || i18n.t(yes).to_owned()),
            format!("{prefix}-yes"),
        ),
        (
            Some(false),
            Signal::derive(move || i18n.t(no).to_owned()),
            format!("{prefix}-no"),
        ),
    ]
}

/// A visit field's vocabulary as buttons, in the schema's order, each named
/// by core's words (`labels`).
fn vocabulary(field: Field) -> Vec<(Option<String>, Signal<String>, String)> {
    let i18n = use_i18n();
    field
        .choices()
        .iter()
        .map(|&word| {
            let label = Signal::derive(move || i18n.choice(field, word));
            (
                Some(word.to_owned()),
                label,
                format!("{}-{word}", field.name.replace('_', "-")),
            )
        })
        .collect()
}

/// The open checklist's draft: restored when the page opens (unless the
/// volunteer tapped first), then written on every change until "save".
#[derive(Clone, Copy)]
struct Drafts {
    /// How many writes IndexedDB has committed (shown as `data-saved`; the
    /// `edit` benchmark waits on it).
    saved: RwSignal<u32>,
    restored: RwSignal<bool>,
    /// The last write of the draft failed: the entries live only on the page.
    failed: RwSignal<bool>,
    /// Set once "save" accepted the checklist: the save discards the draft,
    /// and no later change may write it back.
    finishing: StoredValue<bool>,
}

impl Drafts {
    fn keep(
        name: Option<String>,
        form: RwSignal<Checklist>,
        temperature: RwSignal<String>,
    ) -> Self {
        let data = use_app_data();
        let drafts = Drafts {
            saved: RwSignal::new(0),
            restored: RwSignal::new(false),
            failed: RwSignal::new(false),
            finishing: StoredValue::new(false),
        };
        let Some(name) = name else { return drafts };
        let current = move || DoorDraft {
            checklist: form.get(),
            temperature: temperature.get(),
        };
        let opened = untrack(current);
        {
            let name = name.clone();
            spawn_local(async move {
                let draft = match data.draft::<DoorDraft>(&name).await {
                    Ok(Some(draft)) => draft,
                    Ok(None) => return,
                    // Unread, so not restored: the page says the draft failed.
                    Err(err) => {
                        web_sys::console::error_1(&err.to_string().into());
                        drafts.failed.set(true);
                        return;
                    }
                };
                if draft != opened && untrack(current) == opened {
                    form.set(draft.checklist);
                    temperature.set(draft.temperature);
                    drafts.restored.set(true);
                }
            });
        }
        Effect::new(move |ran: Option<()>| {
            let draft = current();
            if ran.is_none() || drafts.finishing.get_value() {
                return;
            }
            let name = name.clone();
            spawn_local(async move {
                match data.save_draft(&name, &draft).await {
                    Ok(()) => {
                        drafts.saved.update(|n| *n += 1);
                        drafts.failed.set(false);
                    }
                    Err(err) => {
                        web_sys::console::error_1(&err.to_string().into());
                        drafts.failed.set(true);
                    }
                }
            });
        });
        drafts
    }
}

#[component]
fn Door(household: RecordId) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let navigate = use_navigate();
    let round = move || data.work.with(|w| w.round.clone());
    let info = {
        let id = household.clone();
        Memo::new(move |_| {
            data.replica.with(|r| {
                r.record(Collection::Household, &id)
                    .map(crate::state::household::Household::from_record)
            })
        })
    };
    let saved = {
        let id = household.clone();
        move || {
            round().and_then(|round| {
                data.replica.with_untracked(|r| {
                    r.record(Collection::Visit, &visit_id(&round, &id)).cloned()
                })
            })
        }
    };
    // Read once: the page must not rebuild (and lose taps) when these change.
    let history_of = household.clone();
    let form = RwSignal::new(untrack(|| checklist_of(saved().as_ref())));
    let temperature = RwSignal::new(
        form.with_untracked(|f| f.temperature_c.map(|t| t.to_string()).unwrap_or_default()),
    );
    let error = RwSignal::new(None::<String>);
    let drafts = Drafts::keep(
        untrack(|| round().map(|round| DoorDraft::name(&visit_id(&round, &household)))),
        form,
        temperature,
    );

    let building = Memo::new(move |_| {
        info.with(|h| {
            h.as_ref()
                .map(|h| h.value(household::BUILDING).to_owned())
                .unwrap_or_default()
        })
    });
    // This building's doors only: a save changes the replica, and a
    // compound holds thousands of households.
    let doors = Memo::new(move |_| {
        data.replica
            .with(|r| building.with(|b| building_doors(r, round().as_ref(), b)))
    });
    // The building's other doors not knocked yet, and those to go back to
    // (no answer, or a revisit with its time), by unit and door.
    let others = {
        let id = household.clone();
        move |wanted: fn(DoorState) -> bool| {
            doors.with(|doors| {
                doors
                    .iter()
                    .filter(|d| wanted(d.state) && d.household.id != id)
                    .map(|d| match d.state {
                        DoorState::Revisit { at_ms: Some(at) } => {
                            format!("{}（{}）", d.label(), day_time(at))
                        }
                        _ => d.label(),
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            })
        }
    };
    let unvisited = {
        let others = others.clone();
        Memo::new(move |_| others(|s| s == DoorState::Pending))
    };
    let go_back = Memo::new(move |_| others(DoorState::to_go_back));

    let save = {
        let household = household.clone();
        move |_| {
            let Some(round) = round() else {
                error.set(Some(i18n.t(Key::WorkPickRound).to_owned()));
                return;
            };
            let Some(compound) = data
                .device
                .with_untracked(|d| d.as_ref().and_then(|d| d.compound.clone()))
            else {
                return;
            };
            let text = temperature.get_untracked();
            let parsed = text.trim().replace('，', ".").parse::<f64>().ok();
            if !text.trim().is_empty() && parsed.is_none() {
                error.set(Some(format!(
                    "{} {}",
                    i18n.t(Key::DoorInvalid),
                    i18n.t(Key::CheckTemperature)
                )));
                return;
            }
            form.update(|f| f.temperature_c = parsed);
            let checklist: Checklist = form.get_untracked();
            if let Err(err) = checklist.check() {
                error.set(Some(i18n.t(errors::checklist(err.rule)).to_owned()));
                return;
            }
            error.set(None);
            drafts.finishing.set_value(true);
            let team = data.work.with_untracked(|w| w.team.clone());
            let mutations = data.replica.with_untracked(|r| {
                checklist_mutations(
                    &checklist,
                    &compound.id,
                    &round,
                    team.as_ref(),
                    &household,
                    r,
                    now_ms(),
                )
            });
            let next = doors.with_untracked(|doors| {
                next_unvisited(doors, &household).map(|d| d.household.id.clone())
            });
            let navigate = navigate.clone();
            let draft = DoorDraft::name(&visit_id(&round, &household));
            spawn_local(async move {
                match data.finish_draft(&draft, mutations).await {
                    Ok(()) => {
                        let path = next.map_or_else(
                            || "/visits".to_owned(),
                            |id| format!("/visits/door/{id}"),
                        );
                        navigate(&path, Default::default());
                    }
                    // The form keeps what was entered, and so does its draft.
                    Err(err) => {
                        drafts.finishing.set_value(false);
                        error.set(Some(i18n.t(errors::storage(&err)).to_owned()));
                    }
                }
            });
        }
    };

    let outcome = move || form.with(|f| f.outcome.clone());
    let visited = move || outcome().as_deref() == Some(Outcome::Visited.word());
    let title = move || {
        info.with(|h| {
            h.as_ref()
                .map(|h| format!("{} · {}", h.address(), h.value(household::HEAD)))
                .unwrap_or_default()
        })
    };
    let fever = move || {
        temperature.with(|t| {
            t.trim()
                .parse::<f64>()
                .is_ok_and(|t| t >= doorstep_core::visit::FEVER_C)
        })
    };
    let text_input = move |test_id: &'static str,
                           label: Key,
                           get: fn(&Checklist) -> String,
                           set: fn(&mut Checklist, String)| {
        view! {
            <label class="field">
                <span>{move || i18n.t(label)}</span>
                <input data-testid=test_id prop:value=move || form.with(get)
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
            </label>
        }
    };

    view! {
        <h1 data-testid="door-title">{title}</h1>
        // The outcome comes first on a small screen; the household's page
        // is a link below the checklist.
        <section class="check-section">
            <h2>{move || i18n.t(Key::DoorDoor)}</h2>
            {choices(vocabulary(visit::OUTCOME), outcome, move |v| form.update(|f| f.outcome = v))}
            <Show when=move || outcome().as_deref() == Some(Outcome::Revisit.word())>
                <label class="field">
                    <span>{move || i18n.t(Key::CheckRevisitAt)}</span>
                    <input type="datetime-local" data-testid="revisit-at"
                        on:input=move |ev| {
                            let ms = js_sys::Date::parse(&event_target_value(&ev));
                            form.update(|f| f.revisit_at_ms = (ms.is_finite()).then_some(ms as u64));
                        }/>
                </label>
            </Show>
        </section>
        <Show when=visited>
            <section class="check-section">
                <h2>{move || i18n.t(Key::DoorTest)}</h2>
                <p class="check-label">{move || i18n.t(Key::CheckSwab)}</p>
                {choices(yes_no(visit::SWAB.name, Key::CheckYes, Key::CheckNo), move || form.with(|f| f.swab), move |v| form.update(|f| f.swab = v))}
                <Show when=move || form.with(|f| f.swab == Some(true))>
                    {text_input("tube-no", Key::CheckTubeNo, |f| f.tube_no.clone(), |f, v| f.tube_no = v)}
                </Show>
                <label class="field">
                    <span>{move || i18n.t(Key::CheckTemperature)}
                        <Show when=fever><strong class="badge fever" data-testid="fever">{move || i18n.t(Key::DoorFever)}</strong></Show>
                    </span>
                    <input data-testid="temperature" inputmode="decimal" prop:value=move || temperature.get()
                        on:input=move |ev| temperature.set(event_target_value(&ev))/>
                </label>
            </section>
            <section class="check-section">
                <h2>{move || i18n.t(Key::DoorQuestions)}</h2>
                <p class="check-label">{move || i18n.t(Key::CheckHealth)}</p>
                {choices(
                    vocabulary(visit::HEALTH),
                    move || form.with(|f| f.health.clone()),
                    move |v| form.update(|f| f.health = v),
                )}
                <Show when=move || form.with(|f| f.health.as_deref() == Some(Health::Symptoms.word()))>
                    {text_input(visit::SYMPTOMS.name, Key::CheckSymptomsList, |f| f.symptoms.clone(), |f, v| f.symptoms = v)}
                </Show>
                {text_input("medical-needs", Key::CheckMedicalNeeds, |f| f.medical_needs.clone(), |f, v| f.medical_needs = v)}
                <p class="check-label">{move || i18n.t(Key::CheckNeedsDoctor)}</p>
                {choices(yes_no("needs-doctor", Key::CheckYes, Key::CheckNo), move || Some(form.with(|f| f.needs_doctor)), move |v| form.update(|f| f.needs_doctor = v == Some(true)))}
            </section>
            <section class="check-section">
                <h2>{move || i18n.t(Key::DoorLooks)}</h2>
                <p class="check-label">{move || i18n.t(Key::CheckClothes)}</p>
                {choices(yes_no("clothes", Key::CheckOk, Key::CheckNotOk), move || form.with(|f| f.clothes_ok), move |v| form.update(|f| f.clothes_ok = v))}
                <p class="check-label">{move || i18n.t(Key::CheckBedding)}</p>
                {choices(yes_no("bedding", Key::CheckOk, Key::CheckNotOk), move || form.with(|f| f.bedding_ok), move |v| form.update(|f| f.bedding_ok = v))}
                <p class="check-label">{move || i18n.t(Key::CheckFood)}</p>
                {choices(yes_no("food", Key::CheckOk, Key::CheckNotOk), move || form.with(|f| f.food_ok), move |v| form.update(|f| f.food_ok = v))}
            </section>
        </Show>
        <p class="updated" data-testid="draft-status" data-saved=move || drafts.saved.get().to_string()>
            {move || {
                if drafts.failed.get() {
                    i18n.t(Key::DoorDraftFailed)
                } else if drafts.restored.get() {
                    i18n.t(Key::DoorDraftRestored)
                } else if drafts.saved.get() > 0 {
                    i18n.t(Key::DoorDraftSaved)
                } else {
                    ""
                }
            }}
        </p>
        <p class="banner warning" data-testid="checklist-error" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
        <button class="button wide big" type="button" data-testid="save-next" on:click=save>{move || i18n.t(Key::DoorSaveNext)}</button>
        <Show when=move || !unvisited.with(String::is_empty)>
            <p class="notice" data-testid="unvisited">{move || i18n.t(Key::DoorUnvisited)}" "{move || unvisited.get()}</p>
        </Show>
        <Show when=move || !go_back.with(String::is_empty)>
            <p class="notice" data-testid="go-back">{move || i18n.t(Key::DoorGoBack)}" "{move || go_back.get()}</p>
        </Show>
        <p>
            <A href=format!("/households/{household}") attr:class="link" attr:data-testid="edit-household">
                {move || i18n.t(Key::DoorEditHousehold)}
            </A>
        </p>
        {move || round().map(|round| view! { <RecordHistory collection=Collection::Visit id=visit_id(&round, &history_of)/> })}
    }
}
