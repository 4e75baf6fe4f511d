//! `/truck`: the stall staff's page (菜车). One big button taps "arrived" or
//! "leaving" at the current stop, with skip and undo; taps work offline and
//! queue in the outbox like every other edit. Coordinators create runs here.

use doorstep_core::{
    eta::{StopState, Timeline, timeline},
    ids::CompoundId,
    schema::{Collection, truck},
    truck::{EventKind, PublicRun, RunState, events_of, undo_of},
};
use leptos::prelude::*;

use crate::{
    areas::Area,
    device::local_time::{clock_time, today},
    i18n::{Key, Msg, use_i18n},
    pages::{download::Download, join::JoinCompound},
    state::{
        AppData, now_ms,
        truck::{
            RunDraft, StaffAction, next_action, reroute, set_state, set_stops, skip_target, tap,
        },
        use_app_data,
    },
};

#[component]
pub fn TruckPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    // Memos, so a device record update doesn't rebuild the page below.
    let compound = Memo::new(move |_| {
        data.device
            .with(|d| d.as_ref().map(|d| d.compound.clone().map(|c| c.id)))
    });
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Area::Truck.title())}</h1>
        {move || match compound.get() {
            None => ().into_any(),
            Some(None) => view! { <JoinCompound/> }.into_any(),
            Some(Some(compound)) => view! { <Staff compound=compound/> }.into_any(),
        }}
    }
}

/// The run staff are working: under way first, then the earliest planned.
fn current_run(data: &AppData) -> Option<PublicRun> {
    data.replica.with(|r| {
        let trucks = r.all(Collection::Truck);
        let events = r.all(Collection::StopEvent);
        let mut runs: Vec<PublicRun> = r
            .all(Collection::Run)
            .iter()
            .filter_map(|run| PublicRun::from_records(run, &trucks, &events))
            .collect();
        runs.sort_by_key(|run| {
            (
                run.state != RunState::Underway,
                run.state != RunState::Planned,
                run.stops.first().map(|s| s.planned_ms),
            )
        });
        runs.into_iter()
            .find(|run| matches!(run.state, RunState::Underway | RunState::Planned))
    })
}

#[component]
fn Staff(compound: CompoundId) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let run = Memo::new(move |_| current_run(&data));
    view! {
        {move || match run.get() {
            Some(run) => view! { <RunControl run=run/> }.into_any(),
            None => view! { <p class="notice" data-testid="no-run">{i18n.t(Key::TruckNoRun)}</p> }.into_any(),
        }}
        <NewRunForm compound=compound.clone()/>
        // The server makes posters for coordinators only: stall staff never
        // see a link that would be refused.
        <Show when=move || data.role() == Some(doorstep_core::access::Role::Coordinator)>
            <p><Download path="posters" label=Key::TruckPosters print=true test_id="posters-link"/></p>
        </Show>
    }
}

#[component]
fn RunControl(run: PublicRun) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let line: Timeline = timeline(run.state, &run.stops, &run.events, now_ms());
    let action = next_action(&line);
    let skip = skip_target(&line);
    let compound = run.compound.clone();
    let run_id = run.id.clone();

    let record = move |mutations: Vec<doorstep_core::mutation::Mutation>| {
        data.save(mutations);
    };
    let main_button = action.clone().map(|action| {
        let (label, mutations) = {
            let (compound, run_id) = (compound.clone(), run_id.clone());
            let started = run.state == RunState::Underway;
            match action {
                StaffAction::Arrive(b) => (i18n.msg(Msg::TruckArrive { b: &i18n.building(&b) }), {
                    let mut list = vec![tap(&compound, &run_id, &b, EventKind::Arrived, now_ms())];
                    if !started {
                        list.push(set_state(&compound, &run_id, RunState::Underway));
                    }
                    list
                }),
                StaffAction::Leave(b) => {
                    (i18n.msg(Msg::TruckLeave { b: &i18n.building(&b) }), vec![tap(&compound, &run_id, &b, EventKind::Left, now_ms())])
                }
                StaffAction::Finish => (i18n.t(Key::TruckFinish).to_owned(), vec![set_state(&compound, &run_id, RunState::Finished)]),
            }
        };
        // Stamp the tap's time when tapped, not when the page was drawn.
        let on_tap = move |_| {
            let at = now_ms();
            let mutations = mutations
                .iter()
                .cloned()
                .map(|mut m| {
                    if let doorstep_core::mutation::Mutation::Append { fields, .. } = &mut m {
                        fields.insert("at_ms".into(), at.into());
                    }
                    m
                })
                .collect();
            record(mutations);
        };
        view! { <button class="button wide big" data-testid="staff-next" on:click=on_tap>{label}</button> }.into_any()
    });
    let skip_button = skip.map(|b| {
        let mutation = tap(&compound, &run_id, &b, EventKind::Skipped, 0);
        view! {
            <button class="button secondary" data-testid="staff-skip"
                on:click=move |_| {
                    let mut m = mutation.clone();
                    if let doorstep_core::mutation::Mutation::Append { fields, .. } = &mut m {
                        fields.insert("at_ms".into(), now_ms().into());
                    }
                    record(vec![m]);
                }>
                {i18n.msg(Msg::TruckSkip { b: &i18n.building(&b) })}
            </button>
        }
    });
    let undo = {
        let taps = data
            .replica
            .with_untracked(|r| events_of(&run_id, &r.all(Collection::StopEvent)));
        undo_of(&taps).map(|(b, kind, at)| {
            let mutation = tap(&compound, &run_id, &b, kind, at);
            view! {
                <button class="button secondary" data-testid="staff-undo" on:click=move |_| record(vec![mutation.clone()])>
                    {i18n.t(Key::TruckUndo)}
                </button>
            }
        })
    };
    let stops = line
        .stops
        .into_iter()
        .map(|stop| {
            let (key, class) = match stop.state {
                StopState::Ahead => (Key::TruckStopAhead, "ahead"),
                StopState::Here => (Key::TruckStopHere, "here"),
                StopState::Done => (Key::TruckStopDone, "done"),
                StopState::Skipped => (Key::TruckStopSkipped, "skipped"),
            };
            let time = stop.eta_ms.map_or_else(
                || format!("{} {}", i18n.t(Key::TruckPlanned), clock_time(stop.planned_ms)),
                |eta| format!("{} {}", i18n.t(Key::TruckEta), clock_time(eta)),
            );
            view! {
                <li class=format!("row stop-row {class}") data-testid=format!("staff-stop-{}", stop.building)>
                    <span class="row-title">{stop.building.clone()}</span>
                    <span class="row-detail">{i18n.t(key)}" · "{time}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <p class="truck-name">{run.truck.vendor.clone()}" · "{run.truck.name.clone()}</p>
        {main_button.unwrap_or_else(|| view! { <button class="button wide big" disabled>{i18n.t(Key::TruckRunOver)}</button> }.into_any())}
        <div class="button-row">{skip_button}{undo}</div>
        <ol class="rows">{stops}</ol>
        <Reroute run=run.clone()/>
    }
}

/// Reorder, drop or add stops, before or during the run.
#[component]
fn Reroute(run: PublicRun) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let text = RwSignal::new(
        run.stops
            .iter()
            .map(|s| s.building.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let error = RwSignal::new(None::<String>);
    let save = move |_| match text.with_untracked(|t| reroute(&run.stops, t, 20)) {
        Err(err) => error.set(Some(crate::errors::truck_form(i18n.locale(), &err.field))),
        Ok(stops) => {
            error.set(None);
            let mutation = set_stops(&run.compound, &run.id, stops);
            data.save(vec![mutation]);
        }
    };
    view! {
        <details class="new-run">
            <summary>{move || i18n.t(Key::TruckReroute)}</summary>
            <label class="field">
                <span>{move || i18n.t(Key::TruckFieldBuildings)}</span>
                <input data-testid="reroute-buildings" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))/>
            </label>
            <p class="banner warning" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
            <button class="button wide" type="button" data-testid="reroute-save" on:click=save>
                {move || i18n.t(Key::TruckRerouteSave)}
            </button>
        </details>
    }
}

#[component]
fn NewRunForm(compound: CompoundId) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let draft = RwSignal::new(RunDraft::default());
    let error = RwSignal::new(None::<String>);
    type Field = (Key, &'static str, fn(&mut RunDraft) -> &mut String);
    let fields: [Field; 8] = [
        (Key::TruckFieldTruckName, "truck_name", |d| {
            &mut d.truck_name
        }),
        (Key::TruckFieldVendor, "vendor", |d| &mut d.vendor),
        (Key::TruckFieldPhone, truck::PHONE.name, |d| &mut d.phone),
        (Key::TruckFieldOrderLink, "order_link", |d| {
            &mut d.order_link
        }),
        (Key::TruckFieldBuildings, "buildings", |d| &mut d.buildings),
        (Key::TruckFieldFirstArrival, "first_arrival", |d| {
            &mut d.first_arrival
        }),
        (Key::TruckFieldMinutesBetween, "minutes_between", |d| {
            &mut d.minutes_between
        }),
        (Key::TruckFieldDwellMin, "dwell_min", |d| &mut d.dwell_min),
    ];
    let create = move |_| {
        let (midnight, date) = today();
        match draft.with_untracked(|d| d.mutations(&compound, &date, midnight)) {
            Err(err) => error.set(Some(crate::errors::truck_form(i18n.locale(), &err.field))),
            Ok(mutations) => {
                error.set(None);
                draft.set(RunDraft::default());
                data.save(mutations);
            }
        }
    };
    view! {
        <details class="new-run" data-testid="new-run">
            <summary>{move || i18n.t(Key::TruckNewRun)}</summary>
            <form class="form" on:submit=|ev| ev.prevent_default()>
                {fields
                    .into_iter()
                    .map(|(label, name, field)| {
                        view! {
                            <label class="field">
                                <span>{move || i18n.t(label)}</span>
                                <input data-testid=format!("run-{name}")
                                    prop:value=move || draft.with(|d| field(&mut d.clone()).clone())
                                    on:input=move |ev| draft.update(|d| *field(d) = event_target_value(&ev))/>
                            </label>
                        }
                    })
                    .collect_view()}
                <p class="banner warning" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
                <button class="button wide" type="button" data-testid="create-run" on:click=create>
                    {move || i18n.t(Key::TruckCreate)}
                </button>
            </form>
        </details>
    }
}
