//! `/r/:compound/:building`: the public page a resident opens from the QR
//! poster on their building. No login and no personal data: when the truck
//! reaches this building, how many buildings away it is, and an alert when
//! it is next.

use doorstep_core::{
    eta::{Basis, BuildingStatus, Forecast, timeline},
    truck::PublicRuns,
};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;

use crate::{
    device::{alert, connectivity, local_time::clock_time},
    i18n::{I18n, Key, use_i18n},
    state::now_ms,
    sync::{api, public_feed::Feed},
};

/// How often the page re-reads the clock, so ETAs and ages stay current.
const TICK: std::time::Duration = std::time::Duration::from_secs(10);
const POLL: std::time::Duration = std::time::Duration::from_secs(30);

#[component]
pub fn ResidentPage() -> impl IntoView {
    let params = use_params_map();
    let compound = move || params.with(|p| p.get("compound").unwrap_or_default());
    let building = move || params.with(|p| p.get("building").unwrap_or_default());
    move || view! { <ResidentView compound=compound() building=building()/> }
}

fn cache_key(compound: &str) -> String {
    format!("doorstep.public.{compound}")
}

/// The last status received, with the time it arrived (kept for offline use).
fn load_cached(compound: &str) -> Option<(PublicRuns, u64)> {
    let text = window()
        .local_storage()
        .ok()??
        .get_item(&cache_key(compound))
        .ok()??;
    serde_json::from_str(&text).ok()
}

fn store_cached(compound: &str, runs: &PublicRuns, received_ms: u64) {
    if let (Some(storage), Ok(text)) = (
        window().local_storage().ok().flatten(),
        serde_json::to_string(&(runs, received_ms)),
    ) {
        let _ = storage.set_item(&cache_key(compound), &text);
    }
}

#[component]
fn ResidentView(compound: String, building: String) -> impl IntoView {
    let i18n = use_i18n();
    let latest = RwSignal::new(load_cached(&compound));
    let now = RwSignal::new(now_ms());
    let online = connectivity::online_signal();
    let alerts_on = RwSignal::new(false);

    let receive = {
        let compound = compound.clone();
        move |runs: PublicRuns| {
            let received = now_ms();
            store_cached(&compound, &runs, received);
            latest.set(Some((runs, received)));
            now.set(received);
        }
    };
    // Owned by this view: dropped (and the stream closed) when it goes.
    let feed = StoredValue::new_local(Feed::open(&compound, receive.clone()));
    let poll = {
        let compound = compound.clone();
        move |force: bool| {
            if !force && feed.with_value(|f| f.as_ref().is_some_and(Feed::is_open)) {
                return;
            }
            let compound = compound.clone();
            let receive = receive.clone();
            spawn_local(async move {
                if let Ok(runs) = api::public_runs(&compound).await {
                    receive(runs);
                }
            });
        }
    };
    poll(true);
    let ticker = set_interval_with_handle(move || now.set(now_ms()), TICK).ok();
    let poller = set_interval_with_handle(move || poll(false), POLL).ok();
    on_cleanup(move || {
        for handle in [ticker, poller].into_iter().flatten() {
            handle.clear();
        }
    });

    let forecast = {
        let building = building.clone();
        Memo::new(move |_| {
            latest.with(|latest| {
                let (runs, _) = latest.as_ref()?;
                let run = runs.current_for(&building)?;
                let line = timeline(run.state, &run.stops, &run.events, now.get());
                Some((line.forecast(&building), run.clone()))
            })
        })
    };

    // Alert once when the truck becomes next, and once when it arrives.
    let alerted = StoredValue::new(None::<&'static str>);
    Effect::new(move |_| {
        let Some((Forecast { status, .. }, _)) = forecast.get() else {
            return;
        };
        let moment = match status {
            BuildingStatus::Next { .. } => Some(("next", Key::ResidentAlertNext)),
            BuildingStatus::HereNow { .. } => Some(("here", Key::ResidentAlertHere)),
            _ => None,
        };
        if let Some((name, key)) = moment {
            if alerted.get_value() != Some(name) && alerts_on.get_untracked() {
                alert::all(i18n.t(Key::AppName), i18n.t(key));
            }
            alerted.set_value(Some(name));
        }
    });

    let title = {
        let building = building.clone();
        move || {
            i18n.t(Key::ResidentTitle)
                .replace("{b}", &i18n.building(&building))
        }
    };
    let headline = move || match forecast.get() {
        None if latest.with(Option::is_none) => i18n.t(Key::ResidentLoading).to_owned(),
        None => i18n.t(Key::ResidentNone).to_owned(),
        Some((forecast, _)) => headline(i18n, &forecast.status),
    };
    let stale = move || {
        forecast.get().and_then(|(f, _)| f.stale_ms).map(|ms| {
            i18n.t(Key::ResidentStale)
                .replace("{n}", &(ms / 60_000).to_string())
        })
    };
    let offline = move || {
        let age = latest.with(|l| l.as_ref().map(|(_, at)| now.get().saturating_sub(*at)))?;
        (!online.get()).then(|| {
            i18n.t(Key::ResidentOffline)
                .replace("{n}", &(age / 60_000).to_string())
        })
    };
    let updated = move || {
        latest.with(|l| {
            l.as_ref().map(|(_, at)| {
                i18n.t(Key::ResidentUpdated)
                    .replace("{time}", &clock_time(*at))
            })
        })
    };
    let stops = {
        let building = building.clone();
        move || {
            forecast.get().map(|(_, run)| {
                let line = timeline(run.state, &run.stops, &run.events, now.get());
                line.stops
                    .into_iter()
                    .map(|stop| {
                        let mine = stop.building == building;
                        let state = format!("{:?}", stop.state).to_lowercase();
                        view! {
                            <li class="stop" class:mine=mine data-state=state data-testid=format!("stop-{}", stop.building)>
                                <span class="dot"></span>
                                <span class="stop-name">{stop.building.clone()}</span>
                            </li>
                        }
                    })
                    .collect_view()
            })
        }
    };
    let vendor = move || {
        forecast.get().map(|(_, run)| {
            let link = (!run.truck.order_link.is_empty()).then(|| {
                view! { <a class="button" href=run.truck.order_link.clone() target="_blank" rel="noopener">{i18n.t(Key::ResidentOrder)}</a> }
            });
            view! {
                <div class="vendor" data-testid="resident-vendor">
                    <div>{i18n.t(Key::ResidentVendor)}": "{run.truck.vendor.clone()}" · "{run.truck.name.clone()}</div>
                    <a href=format!("tel:{}", run.truck.phone)>{run.truck.phone.clone()}</a>
                    {link}
                </div>
            }
        })
    };
    let enable_alerts = move |_| {
        alerts_on.set(true);
        alert::beep(); // the tap unlocks sound for later alerts
        spawn_local(async move {
            alert::request_permission().await;
        });
    };

    view! {
        <section class="resident">
            <h1 data-testid="resident-title">{title}</h1>
            <p class="headline" data-testid="resident-status">{headline}</p>
            <Show when=move || stale().is_some()>
                <p class="banner warning" data-testid="resident-stale">{stale}</p>
            </Show>
            <Show when=move || offline().is_some()>
                <p class="banner warning" data-testid="resident-offline">{offline}</p>
            </Show>
            <ol class="stop-line" data-testid="resident-stops">{stops}</ol>
            <p class="updated" data-testid="resident-updated">{updated}</p>
            {vendor}
            <Show when=move || !alerts_on.get()
                fallback=move || view! { <p class="notice">{i18n.t(Key::ResidentAlertsEnabled)}</p> }>
                <button class="button wide" data-testid="resident-alerts" on:click=enable_alerts>
                    {move || i18n.t(Key::ResidentAlertsOn)}
                </button>
            </Show>
        </section>
    }
}

/// The big sentence for a status.
fn headline(i18n: I18n, status: &BuildingStatus) -> String {
    let at = |ms: &u64| clock_time(*ms);
    let schedule = |basis: &Basis| {
        if *basis == Basis::Schedule {
            i18n.t(Key::ResidentSchedule)
        } else {
            ""
        }
    };
    match status {
        BuildingStatus::NotStarted { eta_ms } => i18n
            .t(Key::ResidentNotStarted)
            .replace("{time}", &at(eta_ms)),
        BuildingStatus::Away {
            stops,
            eta_ms,
            basis,
        } => {
            i18n.t(Key::ResidentAway)
                .replace("{n}", &stops.to_string())
                .replace("{time}", &at(eta_ms))
                + schedule(basis)
        }
        BuildingStatus::Next { eta_ms, basis } => {
            i18n.t(Key::ResidentNext).replace("{time}", &at(eta_ms)) + schedule(basis)
        }
        BuildingStatus::HereNow { until_ms } => {
            i18n.t(Key::ResidentHere).replace("{time}", &at(until_ms))
        }
        BuildingStatus::Passed => i18n.t(Key::ResidentPassed).to_owned(),
        BuildingStatus::Skipped => i18n.t(Key::ResidentSkipped).to_owned(),
        BuildingStatus::Finished => i18n.t(Key::ResidentFinished).to_owned(),
        BuildingStatus::Cancelled => i18n.t(Key::ResidentCancelled).to_owned(),
        BuildingStatus::NotOnRoute => i18n.t(Key::ResidentNone).to_owned(),
    }
}
