//! When will the truck reach my building? Pure rules, table-tested.
//!
//! Like GTFS-Realtime's `StopTimeUpdate` propagation, the delay of the latest
//! actual tap is carried to every later stop until a newer tap says
//! otherwise. Unlike a bus feed, a person taps at each stop, so the truck's
//! position is exact; what ages is the time since that tap, and past a limit
//! the forecast is labelled stale rather than shown with false confidence.

use serde::{Deserialize, Serialize};

use crate::truck::{EventKind, RunState, Stop, Tap};

/// With no tap for this long past the expected one, the data is stale.
pub const STALE_AFTER_MS: u64 = 20 * 60 * 1000;

/// Where a time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// No tap yet: the plan (按计划).
    Schedule,
    /// Carried forward from the latest tap.
    Live,
}

/// What a resident of one building sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BuildingStatus {
    /// 未出发: the run has not started.
    NotStarted {
        eta_ms: u64,
    },
    /// 还有N栋, 约HH:MM.
    Away {
        stops: usize,
        eta_ms: u64,
        basis: Basis,
    },
    /// 下一站就是您楼.
    Next {
        eta_ms: u64,
        basis: Basis,
    },
    /// 已到达, 停留至约HH:MM.
    HereNow {
        until_ms: u64,
    },
    /// 已经过.
    Passed,
    /// 本次不停靠.
    Skipped,
    Finished,
    Cancelled,
    /// The building is not on this run's route.
    NotOnRoute,
}

/// A forecast and how much to trust it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forecast {
    pub status: BuildingStatus,
    /// Set when no tap came long past the expected one: the age of the last tap
    /// (or of the planned start, if there was none).
    pub stale_ms: Option<u64>,
}

/// One stop on the line of stops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopForecast {
    pub building: String,
    pub planned_ms: u64,
    pub state: StopState,
    /// Predicted arrival for stops still ahead.
    pub eta_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopState {
    Ahead,
    Here,
    Done,
    Skipped,
}

/// The whole run at `now_ms`: each stop's state and ETA, and staleness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    pub state: RunState,
    pub stops: Vec<StopForecast>,
    /// Index (into `stops`) of the last stop with an arrived or left tap.
    pub position: Option<usize>,
    /// Whether the truck is still standing at `position`.
    pub at_stop: bool,
    /// Predicted departure from the stop it stands at.
    pub departure_ms: Option<u64>,
    pub basis: Basis,
    pub stale_ms: Option<u64>,
}

/// Works out the run at `now_ms` from its stops and the latest tap per stop.
pub fn timeline(state: RunState, stops: &[Stop], latest: &[Tap], now_ms: u64) -> Timeline {
    let event_at = |building: &str| latest.iter().find(|e| e.building == building);
    let skipped =
        |stop: &Stop| event_at(&stop.building).is_some_and(|e| e.kind == EventKind::Skipped);
    let position = stops.iter().rposition(|s| {
        event_at(&s.building)
            .is_some_and(|e| matches!(e.kind, EventKind::Arrived | EventKind::Left))
    });

    // Delay of the latest tap, and when the truck leaves (or left) its stop.
    let (delay_ms, departure_ms, at_stop, expected_next_ms, last_tap_ms) = match position {
        None => (
            0i64,
            None,
            false,
            stops.iter().find(|s| !skipped(s)).map(|s| s.planned_ms),
            None,
        ),
        Some(i) => {
            let stop = &stops[i];
            let tap = event_at(&stop.building).expect("position has a tap");
            let dwell = u64::from(stop.dwell_min) * 60_000;
            match tap.kind {
                EventKind::Arrived => {
                    let planned_leave = tap.at_ms + dwell;
                    // Overstaying pushes the departure, and everything after it, forward.
                    let leave = planned_leave.max(now_ms);
                    let delay = leave as i64 - stop.planned_departure_ms() as i64;
                    (
                        delay,
                        Some(leave),
                        true,
                        Some(planned_leave),
                        Some(tap.at_ms),
                    )
                }
                _ => {
                    let delay = tap.at_ms as i64 - stop.planned_departure_ms() as i64;
                    let next = stops[i + 1..].iter().find(|s| !skipped(s));
                    let expected =
                        next.map(|s| (s.planned_ms as i64 + delay).max(tap.at_ms as i64) as u64);
                    (delay, Some(tap.at_ms), false, expected, Some(tap.at_ms))
                }
            }
        }
    };
    let basis = if position.is_some() {
        Basis::Live
    } else {
        Basis::Schedule
    };

    let mut earliest = departure_ms.unwrap_or(0).max(now_ms);
    let forecasts = stops
        .iter()
        .enumerate()
        .map(|(i, stop)| {
            let (state, eta_ms) = if skipped(stop) {
                (StopState::Skipped, None)
            } else if position.is_some_and(|p| i < p) {
                (StopState::Done, None)
            } else if Some(i) == position {
                (
                    if at_stop {
                        StopState::Here
                    } else {
                        StopState::Done
                    },
                    None,
                )
            } else {
                let eta = ((stop.planned_ms as i64 + delay_ms).max(0) as u64).max(earliest);
                earliest = eta + u64::from(stop.dwell_min) * 60_000;
                (StopState::Ahead, Some(eta))
            };
            StopForecast {
                building: stop.building.clone(),
                planned_ms: stop.planned_ms,
                state,
                eta_ms,
            }
        })
        .collect();

    let running = state == RunState::Underway || (state == RunState::Planned && position.is_some());
    let stale_ms = match expected_next_ms {
        Some(expected) if running && now_ms > expected + STALE_AFTER_MS => {
            Some(now_ms - last_tap_ms.unwrap_or(expected))
        }
        _ => None,
    };
    Timeline {
        state,
        stops: forecasts,
        position,
        at_stop,
        departure_ms,
        basis,
        stale_ms,
    }
}

impl Timeline {
    /// True once the run is over: marked finished, or the truck left its last stop.
    pub fn is_finished(&self) -> bool {
        self.state == RunState::Finished
            || (self.stops.iter().any(|s| s.state != StopState::Skipped)
                && self
                    .stops
                    .iter()
                    .all(|s| matches!(s.state, StopState::Done | StopState::Skipped)))
    }

    /// What a resident of `building` sees.
    pub fn forecast(&self, building: &str) -> Forecast {
        let status = self.status(building);
        let stale_ms = match status {
            BuildingStatus::Away { .. }
            | BuildingStatus::Next { .. }
            | BuildingStatus::HereNow { .. } => self.stale_ms,
            _ => None,
        };
        Forecast { status, stale_ms }
    }

    fn status(&self, building: &str) -> BuildingStatus {
        if self.state == RunState::Cancelled {
            return BuildingStatus::Cancelled;
        }
        let Some(index) = self.stops.iter().position(|s| s.building == building) else {
            return BuildingStatus::NotOnRoute;
        };
        let stop = &self.stops[index];
        match stop.state {
            StopState::Skipped => return BuildingStatus::Skipped,
            StopState::Here => {
                return BuildingStatus::HereNow {
                    until_ms: self.departure_ms.unwrap_or(stop.planned_ms),
                };
            }
            StopState::Done => return BuildingStatus::Passed,
            StopState::Ahead => {}
        }
        if self.is_finished() {
            return BuildingStatus::Finished;
        }
        let eta_ms = stop.eta_ms.unwrap_or(stop.planned_ms);
        if self.state == RunState::Planned && self.position.is_none() {
            return BuildingStatus::NotStarted { eta_ms };
        }
        // Stops the truck still makes up to and including this one; skipped
        // stops don't count. One means this building is next.
        let from = self.position.map_or(0, |p| p + 1);
        let stops = self.stops[from..=index]
            .iter()
            .filter(|s| s.state == StopState::Ahead)
            .count();
        if stops <= 1 {
            BuildingStatus::Next {
                eta_ms,
                basis: self.basis,
            }
        } else {
            BuildingStatus::Away {
                stops,
                eta_ms,
                basis: self.basis,
            }
        }
    }
}
