//! `/district`: a district official's totals (区/街道汇总): the district's
//! sum, a bar chart over the last days (inline SVG), each street and each
//! compound with its figures and freshness, and the `.xlsx` export. The
//! server counts; the phone keeps the last answer for when it is offline.
//! Only numbers and compound names reach this page, never a resident.

use doorstep_core::{
    access::Role,
    dashboard::Totals,
    district::{CompoundRow, DistrictTotals},
};
use leptos::prelude::*;

use crate::{
    device::local_time::day_time,
    i18n::{I18n, Key, Msg, use_i18n},
    state::{
        district::{Chart, DistrictLoad, Freshness, LoadProblem},
        now_ms, use_app_data,
    },
};

/// The six headline figures, in the dashboard's words and order (the
/// dashboard shows them too, then its own).
pub(crate) fn figures(t: &Totals) -> [(Key, usize, &'static str); 6] {
    [
        (Key::DashboardTeams, t.teams, "teams"),
        (
            Key::DashboardHouseholdsVisited,
            t.households_visited,
            "households_visited",
        ),
        (
            Key::DashboardNeedsCollected,
            t.needs_collected,
            "needs_collected",
        ),
        (
            Key::DashboardNeedsResolved,
            t.needs_resolved,
            "needs_resolved",
        ),
        (Key::DashboardHomeTests, t.home_tests, "home_tests"),
        (Key::DashboardPurchases, t.purchases, "purchases"),
    ]
}

fn freshness_text(i18n: I18n, freshness: Freshness) -> String {
    match freshness {
        Freshness::Never => i18n.t(Key::DistrictFreshNever).to_owned(),
        Freshness::Minutes(n) => i18n.msg(Msg::DistrictFreshMinutes { n: &n }),
        Freshness::Hours(n) => i18n.msg(Msg::DistrictFreshHours { n: &n }),
        Freshness::Days(n) => i18n.msg(Msg::DistrictFreshDays { n: &n }),
    }
}

fn problem_text(i18n: I18n, problem: &LoadProblem, kept: bool) -> &'static str {
    i18n.t(match problem {
        LoadProblem::Offline if kept => Key::DistrictOffline,
        LoadProblem::Offline => Key::DistrictOfflineNone,
        LoadProblem::SignedOut => Key::DistrictSignedOut,
        LoadProblem::Refused(_) => Key::DistrictRefused,
        LoadProblem::Storage => Key::DistrictStorage,
    })
}

#[component]
pub fn DistrictPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let reload = RwSignal::new(0u32);
    // Asks again when the phone's district is known (the device loads from
    // IndexedDB after the page) and on every refresh.
    let load = LocalResource::new(move || {
        reload.track();
        let district = data.district();
        async move {
            match district {
                Some(_) => Some(data.district_totals().await),
                None => None,
            }
        }
    });
    let loading = move || view! { <p class="notice" data-testid="district-loading">{move || i18n.t(Key::DistrictLoading)}</p> };
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Key::DistrictTitle)}</h1>
        {move || match data.role() {
            // The device is still loading from IndexedDB.
            None if data.device.with(Option::is_none) => loading().into_any(),
            Some(Role::Official) => view! {
                <div class="section-head">
                    <p class="updated" data-testid="district-name">
                        {move || data.district().map(|d| d.name).unwrap_or_default()}
                    </p>
                    <button class="link" data-testid="district-refresh" on:click=move |_| reload.update(|n| *n += 1)>
                        {move || i18n.t(Key::DistrictRefresh)}
                    </button>
                </div>
                {move || match load.get().flatten() {
                    None => loading().into_any(),
                    Some(load) => view! { <Loaded load/> }.into_any(),
                }}
            }.into_any(),
            _ => view! { <p class="notice" data-testid="district-forbidden">{move || i18n.t(Key::DistrictOfficialsOnly)}</p> }.into_any(),
        }}
    }
}

#[component]
fn Loaded(load: DistrictLoad) -> impl IntoView {
    let i18n = use_i18n();
    let kept = load.totals.is_some();
    let problem = load.problem.as_ref().map(|p| problem_text(i18n, p, kept));
    view! {
        {problem.map(|text| view! { <p class="banner warning" role="alert" data-testid="district-problem">{text}</p> })}
        {load.totals.map(|totals| view! { <DistrictFigures totals/> })}
    }
}

#[component]
fn DistrictFigures(totals: DistrictTotals) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let streets = totals.streets();
    let sum_cards = figures(&totals.sum)
        .into_iter()
        .map(|(label, value, id)| {
            view! {
                <div class="stat">
                    <span class="stat-value" data-testid=format!("district-{id}")>{value}</span>
                    <span class="stat-label">{move || i18n.t(label)}</span>
                </div>
            }
        })
        .collect_view();
    let count = totals.compounds.len();
    let now = now_ms();
    let compounds = totals.compounds.clone();
    let street_list = streets
        .into_iter()
        .map(|(street, subtotal)| {
            let rows: Vec<CompoundRow> = compounds
                .iter()
                .filter(|r| r.street == street)
                .cloned()
                .collect();
            let n = rows.len();
            let name = street.clone();
            view! {
                <details class="district-street" open=true>
                    <summary>
                        <span class="row-title">{move || name.clone().unwrap_or_else(|| i18n.t(Key::DistrictNoStreet).to_owned())}</span>
                        " · "{move || i18n.msg(Msg::DistrictCompounds { n: &n })}
                        <MiniFigures totals=subtotal/>
                    </summary>
                    <ul class="rows">
                        {rows.into_iter().map(|row| {
                            let freshness = Freshness::of(row.last_change_ms, now);
                            view! {
                                <li class="district-compound" data-testid="district-compound" data-compound=row.compound.id.to_string()>
                                    <div class="section-head">
                                        <span class="row-title">{row.compound.name.clone()}</span>
                                        <span class="district-fresh" class:stale=freshness.is_stale() data-testid="district-freshness">
                                            {move || freshness_text(i18n, freshness)}
                                        </span>
                                    </div>
                                    <MiniFigures totals=row.totals.clone()/>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </details>
            }
        })
        .collect_view();
    let export = data.district_download().map(|(url, token)| {
        view! {
            <form class="download" method="post" action=url>
                <input type="hidden" name="token" value=token/>
                <button type="submit" class="link-button" data-testid="district-export">{move || i18n.t(Key::DistrictExport)}</button>
            </form>
        }
    });
    view! {
        <h2>{move || i18n.t(Key::DistrictSum)}" · "{move || i18n.msg(Msg::DistrictCompounds { n: &count })}</h2>
        <div class="stats">{sum_cards}</div>
        <p class="updated" data-testid="district-counted-at">{move || i18n.t(Key::DistrictCountedAt)}" "{day_time(totals.computed_at_ms)}</p>
        {export}
        <h2>{move || i18n.t(Key::DistrictChart)}</h2>
        <DayChart chart=Chart::of(&totals.days)/>
        <p class="notice">{move || i18n.t(Key::DistrictHomeTestsNote)}</p>
        <h2>{move || i18n.t(Key::DistrictByStreet)}</h2>
        {street_list}
        <p class="updated">{move || i18n.t(Key::DistrictOnlyCounts)}</p>
    }
}

/// A row's six figures, small, three to a line.
#[component]
fn MiniFigures(totals: Totals) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <dl class="mini-figures">
            {figures(&totals).into_iter().map(|(label, value, id)| view! {
                <div><dt>{move || i18n.t(label)}</dt><dd data-figure=id>{value}</dd></div>
            }).collect_view()}
        </dl>
    }
}

const VISITED_COLOUR: &str = "#1e7a3c";
const TESTS_COLOUR: &str = "#b3261e";

/// Two bars a day: households visited and home tests.
#[component]
fn DayChart(chart: Chart) -> impl IntoView {
    let i18n = use_i18n();
    if chart.bars.is_empty() {
        return view! { <p class="notice" data-testid="district-chart-empty">{move || i18n.t(Key::DistrictChartEmpty)}</p> }.into_any();
    }
    let base = Chart::HEIGHT - 16.0;
    let bar = Chart::SLOT / 2.0 - 2.0;
    let bars = chart
        .bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            // Every other day is labelled, counting back from the last; a
            // label (`MM-DD` at 9 units, about 30 wide) starts half its
            // width before its day's middle and stays inside the chart.
            let label = (chart.bars.len() - 1 - i).is_multiple_of(2).then(|| {
                let x = (b.x + Chart::SLOT / 2.0 - 15.0).clamp(0.0, Chart::WIDTH - 32.0);
                view! { <text x=x y=Chart::HEIGHT - 2.0 font-size="9">{b.label.clone()}</text> }
            });
            view! {
                <rect x=b.x + 1.0 y=base - b.visited_height width=bar height=b.visited_height fill=VISITED_COLOUR>
                    <title>{format!("{} · {}", b.day.date, b.day.households_visited)}</title>
                </rect>
                <rect x=b.x + 1.0 + bar y=base - b.tests_height width=bar height=b.tests_height fill=TESTS_COLOUR>
                    <title>{format!("{} · {}", b.day.date, b.day.home_tests)}</title>
                </rect>
                {label}
            }
        })
        .collect_view();
    view! {
        <svg class="coverage" data-testid="district-chart" data-max=chart.max.to_string()
            viewBox=format!("0 0 {} {}", Chart::WIDTH, Chart::HEIGHT) width="100%" role="img">
            <text x="2" y="10" font-size="10">{chart.max}</text>
            <line x1="0" x2=Chart::WIDTH y1=base y2=base stroke="#c9bdb8"/>
            {bars}
        </svg>
        <p class="legend">
            <span class="legend-item"><svg class="swatch" viewBox="0 0 1 1"><rect width="1" height="1" fill=VISITED_COLOUR/></svg>{move || i18n.t(Key::DistrictLegendVisited)}</span>
            <span class="legend-item"><svg class="swatch" viewBox="0 0 1 1"><rect width="1" height="1" fill=TESTS_COLOUR/></svg>{move || i18n.t(Key::DistrictLegendTests)}</span>
        </p>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_six_figures_are_the_dashboards_in_order() {
        let totals = Totals {
            teams: 1,
            households_visited: 2,
            needs_collected: 3,
            needs_resolved: 4,
            home_tests: 5,
            purchases: 6,
            special_populations: 7,
        };
        let values: Vec<usize> = figures(&totals).iter().map(|(_, v, _)| *v).collect();
        assert_eq!(values, [1, 2, 3, 4, 5, 6]);
    }
}
