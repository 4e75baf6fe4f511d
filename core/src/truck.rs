//! The mobile vegetable stall (流动菜摊): trucks, runs with their stops, and
//! staff taps at each stop, read out of synced records; plus the public view
//! that residents may see (no personal data).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    hlc::Hlc,
    ids::{CompoundId, RecordId},
    record::Record,
    schema::{Collection, Field, run, stop_event, truck},
};

pub const RUN_STATES: &[&str] = &["planned", "underway", "finished", "cancelled"];
/// `reset` is what "undo" appends when a stop had no earlier event.
pub const EVENT_KINDS: &[&str] = &["arrived", "left", "skipped", "reset"];
/// The latest time a stop may be planned for (3000-01-01, Unix ms).
pub const LATEST_PLANNED_MS: u64 = 32_503_680_000_000;
/// Most stops one run may have.
pub const MAX_STOPS: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Stop {
    /// The building (楼栋) as residents know it, e.g. `3`.
    pub building: String,
    /// Planned arrival, Unix milliseconds.
    pub planned_ms: u64,
    /// Planned stay, in minutes.
    pub dwell_min: u32,
}

impl Stop {
    pub fn planned_departure_ms(&self) -> u64 {
        self.planned_ms + u64::from(self.dwell_min) * 60_000
    }

    /// Reads and checks a `stops` field value.
    pub fn list_from(value: &Value) -> Result<Vec<Stop>, String> {
        let stops: Vec<Stop> = serde_json::from_value(value.clone())
            .map_err(|e| format!("must be a list of stops: {e}"))?;
        if stops.len() > MAX_STOPS {
            return Err(format!("has {} stops; at most {MAX_STOPS}", stops.len()));
        }
        for (i, stop) in stops.iter().enumerate() {
            if stop.building.trim().is_empty() || stop.building.chars().count() > 32 {
                return Err(format!("stop {i} needs a building name of 1-32 characters"));
            }
            // Times are added to (dwell, delays): keep them far from overflow.
            if stop.planned_ms > LATEST_PLANNED_MS {
                return Err(format!("stop {i} is planned after the year 3000"));
            }
            if stop.dwell_min > 240 {
                return Err(format!(
                    "stop {i} stays {} minutes; at most 240",
                    stop.dwell_min
                ));
            }
            if stops[..i].iter().any(|s| s.building == stop.building) {
                return Err(format!("building {} appears twice", stop.building));
            }
        }
        Ok(stops)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Planned,
    Underway,
    Finished,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Arrived,
    Left,
    Skipped,
    /// Undoes every earlier tap at the stop.
    Reset,
}

/// A staff tap. `at_ms` is the device's time of the tap, kept even when the
/// tap reaches the server hours later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StopEvent {
    pub building: String,
    pub kind: EventKind,
    pub at_ms: u64,
    /// Orders taps: the latest per stop wins. Never public: it names the
    /// staff phone's client id.
    pub hlc: Hlc,
}

/// The latest tap at a stop, as residents see it: what and when, not who.
/// (Unknown keys are ignored: a resident page's cached copy from before
/// may still carry an `hlc`.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tap {
    pub building: String,
    pub kind: EventKind,
    /// The staff phone's time of the tap, Unix milliseconds.
    pub at_ms: u64,
}

/// The vendor's public face: what a resident may see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TruckInfo {
    pub name: String,
    pub vendor: String,
    pub phone: String,
    pub order_link: String,
}

/// Everything the resident page needs about one run; nothing personal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicRun {
    pub id: RecordId,
    pub compound: CompoundId,
    pub date: String,
    pub state: RunState,
    pub truck: TruckInfo,
    pub stops: Vec<Stop>,
    /// The latest tap per building (undo already applied).
    pub events: Vec<Tap>,
}

/// `GET /api/public/runs/{compound}` and each SSE message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicRuns {
    pub compound: CompoundId,
    pub runs: Vec<PublicRun>,
    pub server_time_ms: u64,
}

fn text(record: &Record, field: Field) -> String {
    record.text(field).unwrap_or_default().to_owned()
}

impl PublicRun {
    /// Builds the public view of a run's `record` from synced records: its
    /// truck (if any) and all stop events of the compound.
    pub fn from_records(record: &Record, trucks: &[Record], events: &[Record]) -> Option<Self> {
        if record.collection != Collection::Run || record.is_deleted() {
            return None;
        }
        let state = record
            .value(run::STATE)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or(RunState::Planned);
        let stops = record
            .value(run::STOPS)
            .and_then(|v| Stop::list_from(v).ok())
            .unwrap_or_default();
        let truck_id = text(record, run::TRUCK);
        let truck = trucks
            .iter()
            .find(|t| t.collection == Collection::Truck && t.id.as_str() == truck_id)
            .map(|t| TruckInfo {
                name: text(t, truck::NAME),
                vendor: text(t, truck::VENDOR),
                phone: text(t, truck::PHONE),
                order_link: text(t, truck::ORDER_LINK),
            })
            .unwrap_or_default();
        let taps = events_of(&record.id, events);
        Some(Self {
            id: record.id.clone(),
            compound: record.compound.clone(),
            date: text(record, run::DATE),
            state,
            truck,
            stops,
            events: latest_per_stop(taps),
        })
    }
}

impl PublicRuns {
    /// The run a resident of `building` cares about: one under way that stops
    /// there, else the next planned one, else the most recent.
    pub fn current_for(&self, building: &str) -> Option<&PublicRun> {
        let serves = |run: &&PublicRun| run.stops.iter().any(|s| s.building == building);
        let first_stop = |run: &&PublicRun| run.stops.first().map_or(u64::MAX, |s| s.planned_ms);
        self.runs
            .iter()
            .filter(serves)
            .find(|run| run.state == RunState::Underway)
            .or_else(|| {
                self.runs
                    .iter()
                    .filter(serves)
                    .filter(|r| r.state == RunState::Planned)
                    .min_by_key(first_stop)
            })
            .or_else(|| {
                self.runs
                    .iter()
                    .filter(serves)
                    .max_by(|a, b| a.date.cmp(&b.date))
            })
    }
}

/// Every tap of run `run`, in HLC order.
pub fn events_of(run: &RecordId, records: &[Record]) -> Vec<StopEvent> {
    let mut taps: Vec<StopEvent> = records
        .iter()
        .filter(|e| {
            e.collection == Collection::StopEvent && text(e, stop_event::RUN) == run.as_str()
        })
        .filter_map(event_from_record)
        .collect();
    taps.sort_by(|a, b| a.hlc.cmp(&b.hlc));
    taps
}

/// What "undo last tap" appends: the tap before the last one at the same
/// stop, or a reset when there was none. `taps` is in HLC order.
pub fn undo_of(taps: &[StopEvent]) -> Option<(String, EventKind, u64)> {
    let (last, earlier) = taps.split_last()?;
    let previous = earlier.iter().rev().find(|t| t.building == last.building);
    Some(match previous {
        Some(tap) => (tap.building.clone(), tap.kind, tap.at_ms),
        None => (last.building.clone(), EventKind::Reset, last.at_ms),
    })
}

fn event_from_record(record: &Record) -> Option<StopEvent> {
    let hlc = record.fields.get(stop_event::KIND.name)?.hlc.clone();
    Some(StopEvent {
        building: text(record, stop_event::BUILDING),
        kind: serde_json::from_value(record.value(stop_event::KIND)?.clone()).ok()?,
        at_ms: record.ms(stop_event::AT_MS)?,
        hlc,
    })
}

/// The last tap per stop by HLC; a `reset` leaves the stop with no event.
pub fn latest_per_stop(events: impl IntoIterator<Item = StopEvent>) -> Vec<Tap> {
    let mut latest: BTreeMap<String, StopEvent> = BTreeMap::new();
    for event in events {
        match latest.get(&event.building) {
            Some(current) if current.hlc >= event.hlc => {}
            _ => {
                latest.insert(event.building.clone(), event);
            }
        }
    }
    latest
        .into_values()
        .filter(|e| e.kind != EventKind::Reset)
        .map(|e| Tap {
            building: e.building,
            kind: e.kind,
            at_ms: e.at_ms,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::ClientId;

    fn tap(building: &str, kind: EventKind, order: u64) -> StopEvent {
        StopEvent {
            building: building.into(),
            kind,
            at_ms: order * 1000,
            hlc: Hlc {
                wall_ms: order,
                counter: 0,
                node: ClientId::from_u128(1),
            },
        }
    }

    /// Data-driven: taps so far, and what undo appends.
    #[test]
    fn undo_restores_the_tap_before() {
        use EventKind::*;
        for (taps, expected) in [
            (vec![], None),
            (vec![tap("1", Arrived, 1)], Some(("1", Reset, 1000))),
            (
                vec![tap("1", Arrived, 1), tap("1", Left, 2)],
                Some(("1", Arrived, 1000)),
            ),
            (
                vec![
                    tap("1", Arrived, 1),
                    tap("1", Left, 2),
                    tap("2", Arrived, 3),
                ],
                Some(("2", Reset, 3000)),
            ),
            (
                vec![tap("1", Arrived, 1), tap("2", Skipped, 2)],
                Some(("2", Reset, 2000)),
            ),
        ] {
            let got = undo_of(&taps);
            assert_eq!(
                got.as_ref().map(|(b, k, at)| (b.as_str(), *k, *at)),
                expected,
                "{taps:?}"
            );
        }
        // Applying the undo really takes the last tap back.
        let mut taps = vec![tap("1", Arrived, 1), tap("1", Left, 2)];
        let (building, kind, at_ms) = undo_of(&taps).unwrap();
        taps.push(StopEvent {
            building,
            kind,
            at_ms,
            hlc: Hlc {
                wall_ms: 3,
                counter: 0,
                node: ClientId::from_u128(1),
            },
        });
        assert_eq!(latest_per_stop(taps)[0].kind, Arrived);
    }

    #[test]
    fn stops_are_checked() {
        let ok = json!([{"building": "1", "planned_ms": 0, "dwell_min": 15}, {"building": "2", "planned_ms": 1, "dwell_min": 15}]);
        assert_eq!(Stop::list_from(&ok).unwrap().len(), 2);
        for bad in [
            json!([{"building": "1", "planned_ms": 0, "dwell_min": 15}, {"building": "1", "planned_ms": 1, "dwell_min": 15}]),
            json!([{"building": "", "planned_ms": 0, "dwell_min": 15}]),
            json!([{"building": "1", "planned_ms": 0, "dwell_min": 999}]),
            json!([{"building": "1", "planned_ms": u64::MAX, "dwell_min": 15}]),
            json!([{"building": "1"}]),
            json!("1,2,3"),
        ] {
            assert!(Stop::list_from(&bad).is_err(), "{bad}");
        }
    }
}
