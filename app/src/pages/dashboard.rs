//! `/dashboard`: the coordinator's totals (统计) from the data on this phone,
//! with their freshness, how fast residents who asked for help are called
//! back, and this round's coverage per building and per unit (单元) as SVG.

use std::collections::BTreeMap;

use doorstep_core::{
    access::Place,
    dashboard::totals,
    schema::{Collection, Vocabulary, team},
    visit::Outcome,
};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    areas::Area,
    device::local_time::clock_time,
    i18n::{Key, Msg, use_i18n},
    state::{
        needs::call_back_figures,
        now_ms,
        replica::Replica,
        use_app_data,
        visits::{Door, assignments, coverage, doors_at, doors_by_building, doors_by_unit},
    },
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let figures = Memo::new(move |_| data.replica.with(|r| totals(&all_records(r))));
    let cards = move || {
        let t = figures.get();
        super::district::figures(&t)
            .into_iter()
            .chain([(
                Key::DashboardSpecialPopulations,
                t.special_populations,
                "special_populations",
            )])
            .map(|(label, value, id)| {
                view! {
                    <div class="stat">
                        <span class="stat-value" data-testid=format!("total-{id}")>{value}</span>
                        <span class="stat-label">{i18n.t(label)}</span>
                    </div>
                }
            })
            .collect_view()
    };
    let freshness = move || {
        let last = data
            .sync
            .with(|s| s.last_success_ms)
            .map(clock_time)
            .unwrap_or_else(|| i18n.t(Key::SyncNever).to_owned());
        format!("{} {last}", i18n.t(Key::DashboardFreshness))
    };
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Area::Dashboard.title())}</h1>
        <div class="stats">{cards}</div>
        <p class="updated" data-testid="dashboard-freshness">{freshness}</p>
        <Show when=move || data.sync.with(|s| s.pending > 0)>
            <p class="banner warning">{move || i18n.t(Key::DashboardUnsent)}</p>
        </Show>
        <h2>{move || i18n.t(Key::DashboardCallBacks)}</h2>
        <CallBacks/>
        <h2>{move || i18n.t(Key::DashboardCoverage)}</h2>
        <Coverage/>
        <h2>{move || i18n.t(Key::DashboardTeamsCoverage)}</h2>
        <TeamCoverage/>
        <h2>{move || i18n.t(Key::DashboardTeamFreshness)}</h2>
        <TeamFreshness/>
    }
}

/// Residents' requests: the median time to the first call back, how many
/// wait, and the one that has waited longest (a link to it).
#[component]
fn CallBacks() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let figures = Memo::new(move |_| data.replica.with(|r| call_back_figures(r, now_ms())));
    let minutes = move |ms: u64| i18n.msg(Msg::DurationMinutes { n: &(ms / 60_000) });
    view! {
        <div class="stats">
            <div class="stat">
                <span class="stat-value" data-testid="call-back-median">
                    {move || figures.get().median_ms.map_or_else(|| i18n.t(Key::DashboardNever).to_owned(), minutes)}
                </span>
                <span class="stat-label">{move || i18n.t(Key::DashboardCallBackMedian)}</span>
            </div>
            <div class="stat">
                <span class="stat-value" data-testid="call-back-waiting">{move || figures.get().waiting}</span>
                <span class="stat-label">{move || i18n.t(Key::DashboardWaiting)}</span>
            </div>
        </div>
        {move || figures.get().slowest_open.map(|w| view! {
            <p>
                {i18n.t(Key::DashboardSlowestOpen)}": "
                <A href=format!("/ledgers/needs/{}", w.need) attr:class="link" attr:data-testid="call-back-slowest">
                    {minutes(w.waited_ms)}
                </A>
            </p>
        })}
    }
}

fn all_records(replica: &Replica) -> Vec<doorstep_core::record::Record> {
    doorstep_core::schema::Collection::ALL
        .into_iter()
        .flat_map(|c| replica.all(c))
        .collect()
}

/// One stacked bar per building, and below it one per unit where its doors
/// name units: visited, no answer, refused, revisit, not yet.
#[component]
fn Coverage() -> impl IntoView {
    let data = use_app_data();
    let i18n = use_i18n();
    // By the door's outcome; none is a door not knocked yet.
    const SEGMENTS: [(Option<Outcome>, &str); 5] = [
        (Some(Outcome::Visited), "#1e7a3c"),
        (Some(Outcome::NoAnswer), "#e0a100"),
        (Some(Outcome::Refused), "#b3261e"),
        (Some(Outcome::Revisit), "#6a4fb3"),
        (None, "#d9d0cc"),
    ];
    let bars = move || {
        let round = data.work.with(|w| w.round.clone());
        let buildings = data.replica.with(|r| doors_by_building(r, round.as_ref()));
        // A building's row, then one per unit (单元) where its doors name units.
        let rows: Vec<(Place, Vec<Door>)> = buildings
            .into_iter()
            .flat_map(|(building, doors)| {
                let units: Vec<(Place, Vec<Door>)> = doors_by_unit(&doors)
                    .into_iter()
                    .filter_map(|(unit, doors)| Some((Place::new(&building, Some(&unit?)), doors)))
                    .collect();
                std::iter::once((Place::new(&building, None), doors)).chain(units)
            })
            .collect();
        let row_height = 28.0;
        let height = rows.len() as f64 * row_height + 10.0;
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, (place, doors))| {
                let total = doors.len().max(1) as f64;
                let y = i as f64 * row_height + 4.0;
                let mut x = 60.0;
                let rects = SEGMENTS
                    .iter()
                    .map(|&(outcome, colour)| {
                        let count = doors.iter().filter(|d| d.state.outcome() == outcome).count();
                        let width = 280.0 * count as f64 / total;
                        let word = outcome.map_or("pending", Outcome::word);
                        let rect = view! { <rect x=x y=y width=width height="20" fill=colour><title>{format!("{word}: {count}")}</title></rect> };
                        x += width;
                        rect
                    })
                    .collect_view();
                let c = coverage(&doors, now_ms());
                let (test_id, indent, label) = match &place.unit {
                    // The bare name, as before units: "3", never wider than the gutter.
                    None => (format!("coverage-{}", place.building), 0.0, place.building.clone()),
                    Some(unit) => (format!("coverage-{}-{unit}", place.building), 10.0, i18n.unit(unit)),
                };
                view! {
                    <g data-testid=test_id data-visited=c.visited.to_string() data-doors=c.doors.to_string()>
                        <text x=indent y=y + 15.0 font-size="14">{label}</text>{rects}
                    </g>
                }
            })
            .collect_view();
        view! {
            <svg class="coverage" data-testid="coverage-chart" viewBox=format!("0 0 340 {height}") width="100%" role="img">{rows}</svg>
        }
    };
    view! {
        {bars}
        <p class="legend">
            {SEGMENTS.iter().map(|&(outcome, colour)| view! {
                <span class="legend-item"><svg class="swatch" viewBox="0 0 1 1"><rect width="1" height="1" fill=colour/></svg>{move || i18n.outcome(outcome)}</span>
            }).collect_view()}
        </p>
    }
}

/// Per team this round: the buildings and units it covers, how many doors
/// were answered (已走访), and how many it has to go back to.
#[component]
fn TeamCoverage() -> impl IntoView {
    let data = use_app_data();
    let i18n = use_i18n();
    let rows = move || {
        let round = data.work.with(|w| w.round.clone())?;
        Some(data.replica.with(|r| {
            let doors = doors_by_building(r, Some(&round));
            let mut per_team: BTreeMap<String, (Vec<String>, doorstep_core::dashboard::Coverage)> =
                Default::default();
            for (place, team) in assignments(r, &round) {
                let name = r
                    .record(Collection::Team, &team)
                    .and_then(|t| t.text(team::NAME).map(str::to_owned))
                    .unwrap_or_else(|| team.to_string());
                let entry = per_team.entry(name).or_default();
                entry.1.add(coverage(&doors_at(&doors, &place), now_ms()));
                let mut label = i18n.building(&place.building);
                if let Some(unit) = &place.unit {
                    label.push_str(&i18n.unit(unit));
                }
                entry.0.push(label);
            }
            per_team
        }))
    };
    view! {
        <ul class="rows" data-testid="team-coverage">
            {move || rows().unwrap_or_default().into_iter().map(|(team, (places, c))| view! {
                <li class="row" data-testid="team-coverage-row" data-visited=c.visited.to_string() data-doors=c.doors.to_string()>
                    <span class="row-title">{team}</span>
                    <span class="row-detail">
                        {places.join("、")}" · "{i18n.outcome(Some(Outcome::Visited))}" "{c.visited}"/"{c.doors}
                        {(c.to_go_back() > 0).then(|| format!(" · {} {}", i18n.t(Key::VisitsGoBack), c.to_go_back()))}
                        {(c.refused > 0).then(|| format!(" · {} {}", i18n.outcome(Some(Outcome::Refused)), c.refused))}
                    </span>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// When each team's visits last reached the server (needs a network).
#[component]
fn TeamFreshness() -> impl IntoView {
    let data = use_app_data();
    let i18n = use_i18n();
    let times = LocalResource::new(move || {
        let credentials = data.credentials();
        async move {
            match credentials {
                Some(c) => Some(crate::api::freshness(&c).await),
                None => None,
            }
        }
    });
    // Unknown is not "never": an unreachable server says so above the list.
    let unknown = move || times.get().flatten().is_some_and(|t| t.is_err());
    let rows = move || {
        let times = times.get().flatten().and_then(Result::ok);
        data.replica.with(|r| {
            r.all(Collection::Team)
                .into_iter()
                .map(|record| {
                    let name = record.text(team::NAME).unwrap_or_default().to_owned();
                    let at = times
                        .as_ref()
                        .and_then(|t| t.get(record.id.as_str()).copied());
                    (name, at)
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <p class="notice" data-testid="team-freshness-unknown" hidden=move || !unknown()>
            {move || i18n.t(Key::DashboardFreshnessUnknown)}
        </p>
        <ul class="rows" data-testid="team-freshness">
            {move || rows().into_iter().map(|(name, at)| view! {
                <li class="row"><span class="row-title">{name}</span>
                    <span class="row-detail">{match at {
                        Some(at) => clock_time(at),
                        None if unknown() => "—".to_owned(),
                        None => i18n.t(Key::DashboardNever).to_owned(),
                    }}</span></li>
            }).collect_view()}
        </ul>
    }
}
