//! ETA rules, one row per situation a resident can meet.

use doorstep_core::{
    eta::{Basis, BuildingStatus, timeline},
    hlc::Hlc,
    ids::ClientId,
    truck::{EventKind, RunState, Stop, StopEvent, latest_per_stop},
};

const MIN: u64 = 60_000;
/// 10:00 on some day.
const T0: u64 = 1_700_000_000_000;

/// Buildings in route order, planned 20 minutes apart, 15 minutes' stay.
fn route(buildings: &[&str]) -> Vec<Stop> {
    buildings
        .iter()
        .enumerate()
        .map(|(i, b)| Stop {
            building: (*b).into(),
            planned_ms: T0 + i as u64 * 20 * MIN,
            dwell_min: 15,
        })
        .collect()
}

/// A tap; `order` is its HLC order (taps synced late keep their stamps).
fn tap(building: &str, kind: EventKind, at_ms: u64, order: u64) -> StopEvent {
    StopEvent {
        building: building.into(),
        kind,
        at_ms,
        hlc: Hlc {
            wall_ms: order,
            counter: 0,
            node: ClientId::from_u128(1),
        },
    }
}

use BuildingStatus::{Away, Cancelled, Finished, HereNow, Next, NotOnRoute, NotStarted, Passed};
use EventKind::{Arrived, Left, Reset};

struct Case {
    name: &'static str,
    state: RunState,
    route: &'static [&'static str],
    taps: Vec<StopEvent>,
    now: u64,
    building: &'static str,
    expected: BuildingStatus,
    stale_min: Option<u64>,
}

fn check(cases: Vec<Case>) {
    for case in cases {
        let stops = route(case.route);
        let latest = latest_per_stop(case.taps);
        let forecast = timeline(case.state, &stops, &latest, case.now).forecast(case.building);
        assert_eq!(forecast.status, case.expected, "{}", case.name);
        assert_eq!(
            forecast.stale_ms.map(|ms| ms / MIN),
            case.stale_min,
            "{}: staleness",
            case.name
        );
    }
}

const FIVE: &[&str] = &["1", "2", "3", "4", "5"];

#[test]
fn eta_table() {
    check(vec![
        Case {
            name: "not started: planned run, no tap",
            state: RunState::Planned,
            route: FIVE,
            taps: vec![],
            now: T0 - 30 * MIN,
            building: "2",
            expected: NotStarted {
                eta_ms: T0 + 20 * MIN,
            },
            stale_min: None,
        },
        Case {
            name: "underway without taps: schedule, labelled as such",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![],
            now: T0 - 5 * MIN,
            building: "3",
            expected: Away {
                stops: 3,
                eta_ms: T0 + 40 * MIN,
                basis: Basis::Schedule,
            },
            stale_min: None,
        },
        Case {
            name: "on time",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("1", Arrived, T0, 1)],
            now: T0 + 5 * MIN,
            building: "3",
            expected: Away {
                stops: 2,
                eta_ms: T0 + 40 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "10 minutes late at 2: carried to 4",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("2", Arrived, T0 + 30 * MIN, 1)],
            now: T0 + 31 * MIN,
            building: "4",
            expected: Away {
                stops: 2,
                eta_ms: T0 + 70 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "5 minutes early at 2: next is early too",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("2", Arrived, T0 + 15 * MIN, 1)],
            now: T0 + 16 * MIN,
            building: "3",
            expected: Next {
                eta_ms: T0 + 35 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "here now, staying until the planned departure",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("2", Arrived, T0 + 20 * MIN, 1)],
            now: T0 + 25 * MIN,
            building: "2",
            expected: HereNow {
                until_ms: T0 + 35 * MIN,
            },
            stale_min: None,
        },
        Case {
            name: "overstaying: departure moves with the clock",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("2", Arrived, T0 + 20 * MIN, 1)],
            now: T0 + 40 * MIN,
            building: "3",
            expected: Next {
                eta_ms: T0 + 45 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "passed",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("3", Left, T0 + 55 * MIN, 1)],
            now: T0 + 56 * MIN,
            building: "2",
            expected: Passed,
            stale_min: None,
        },
        Case {
            name: "skipped stop does not count as a building away",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![
                tap("2", Arrived, T0 + 20 * MIN, 1),
                tap("3", EventKind::Skipped, T0 + 21 * MIN, 2),
            ],
            now: T0 + 22 * MIN,
            building: "4",
            expected: Next {
                eta_ms: T0 + 60 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "skipped stop itself",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("3", EventKind::Skipped, T0, 1)],
            now: T0,
            building: "3",
            expected: BuildingStatus::Skipped,
            stale_min: None,
        },
        Case {
            name: "reordered route: position follows the new order",
            state: RunState::Underway,
            route: &["1", "3", "2", "4", "5"],
            taps: vec![tap("3", Arrived, T0 + 20 * MIN, 1)],
            now: T0 + 21 * MIN,
            building: "2",
            expected: Next {
                eta_ms: T0 + 40 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "stale: no departure tap 21 minutes after the planned one",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("1", Arrived, T0, 1)],
            now: T0 + 36 * MIN,
            building: "3",
            expected: Away {
                stops: 2,
                eta_ms: T0 + 61 * MIN,
                basis: Basis::Live,
            },
            stale_min: Some(36),
        },
        Case {
            name: "a prediction never lies in the past",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![tap("1", Left, T0 + 15 * MIN, 1)],
            now: T0 + 30 * MIN,
            building: "3",
            expected: Away {
                stops: 2,
                eta_ms: T0 + 45 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "finished run",
            state: RunState::Finished,
            route: FIVE,
            taps: vec![tap("2", Left, T0 + 35 * MIN, 1)],
            now: T0 + 40 * MIN,
            building: "4",
            expected: Finished,
            stale_min: None,
        },
        Case {
            name: "left the last stop: finished",
            state: RunState::Underway,
            route: &["1", "2"],
            taps: vec![tap("2", Left, T0 + 35 * MIN, 1)],
            now: T0 + 40 * MIN,
            building: "2",
            expected: Passed,
            stale_min: None,
        },
        Case {
            name: "cancelled",
            state: RunState::Cancelled,
            route: FIVE,
            taps: vec![tap("1", Arrived, T0, 1)],
            now: T0,
            building: "4",
            expected: Cancelled,
            stale_min: None,
        },
        Case {
            name: "not on the route",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![],
            now: T0,
            building: "9",
            expected: NotOnRoute,
            stale_min: None,
        },
        Case {
            name: "taps synced out of order: the furthest stop is the position",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![
                tap("3", Arrived, T0 + 40 * MIN, 5),
                tap("2", Arrived, T0 + 20 * MIN, 9),
            ],
            now: T0 + 41 * MIN,
            building: "4",
            expected: Next {
                eta_ms: T0 + 60 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
        Case {
            name: "undo: a later reset takes the tap back",
            state: RunState::Underway,
            route: FIVE,
            taps: vec![
                tap("2", Arrived, T0 + 20 * MIN, 1),
                tap("3", Arrived, T0 + 40 * MIN, 2),
                tap("3", Reset, T0 + 41 * MIN, 3),
            ],
            now: T0 + 25 * MIN,
            building: "4",
            expected: Away {
                stops: 2,
                eta_ms: T0 + 60 * MIN,
                basis: Basis::Live,
            },
            stale_min: None,
        },
    ]);
}

/// GTFS-Realtime's own example: a delay of +300 s at stop 3 and +60 s at
/// stop 8 make stops 3–7 +300 s and stops 8 onwards +60 s. Here the truck
/// reported its arrival at 3 five minutes late, then at 8 one minute late.
#[test]
fn gtfs_realtime_propagation_example() {
    let buildings: Vec<String> = (1..=10).map(|n| n.to_string()).collect();
    let names: Vec<&str> = buildings.iter().map(String::as_str).collect();
    let stops = route(&names);
    let planned = |b: usize| T0 + (b as u64 - 1) * 20 * MIN;

    let at_three = latest_per_stop(vec![tap("3", Arrived, planned(3) + 5 * MIN, 1)]);
    let line = timeline(RunState::Underway, &stops, &at_three, planned(3) + 6 * MIN);
    for b in 4..=10 {
        assert_eq!(
            line.stops[b - 1].eta_ms,
            Some(planned(b) + 5 * MIN),
            "stop {b} carries +300 s"
        );
    }

    let at_eight = latest_per_stop(vec![
        tap("3", Arrived, planned(3) + 5 * MIN, 1),
        tap("8", Arrived, planned(8) + MIN, 2),
    ]);
    let line = timeline(RunState::Underway, &stops, &at_eight, planned(8) + 2 * MIN);
    for b in 9..=10 {
        assert_eq!(
            line.stops[b - 1].eta_ms,
            Some(planned(b) + MIN),
            "stop {b} carries +60 s"
        );
    }
}
