//! The vegetable-truck screens' logic in plain types: the staff page's next
//! tap, the new-run form, and the taps as mutations.

use doorstep_core::{
    eta::{StopState, Timeline},
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    schema::{run, stop_event, truck},
    truck::{EventKind, RunState, Stop},
};
use serde_json::{Value, json};

use super::household::FormError;

/// The one big button on the staff page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffAction {
    Arrive(String),
    Leave(String),
    /// Every stop is done or skipped: close the run.
    Finish,
}

pub fn next_action(line: &Timeline) -> Option<StaffAction> {
    if matches!(line.state, RunState::Finished | RunState::Cancelled) {
        return None;
    }
    if line.at_stop {
        return line
            .position
            .map(|p| StaffAction::Leave(line.stops[p].building.clone()));
    }
    Some(
        match line.stops.iter().find(|s| s.state == StopState::Ahead) {
            Some(stop) => StaffAction::Arrive(stop.building.clone()),
            None => StaffAction::Finish,
        },
    )
}

/// The stop "skip" applies to: the next one the truck has not reached.
pub fn skip_target(line: &Timeline) -> Option<String> {
    if line.at_stop || matches!(line.state, RunState::Finished | RunState::Cancelled) {
        return None;
    }
    line.stops
        .iter()
        .find(|s| s.state == StopState::Ahead)
        .map(|s| s.building.clone())
}

pub fn tap(
    compound: &CompoundId,
    run: &RecordId,
    building: &str,
    kind: EventKind,
    at_ms: u64,
) -> Mutation {
    let kind = serde_json::to_value(kind).expect("event kinds serialise");
    Mutation::Append {
        collection: doorstep_core::schema::Collection::StopEvent,
        id: new_id(),
        compound: compound.clone(),
        fields: [
            stop_event::RUN.set(json!(run)),
            stop_event::BUILDING.set(json!(building)),
            stop_event::KIND.set(kind),
            stop_event::AT_MS.set(at_ms),
        ]
        .into(),
    }
}

pub fn set_state(compound: &CompoundId, run: &RecordId, state: RunState) -> Mutation {
    Mutation::Set {
        collection: doorstep_core::schema::Collection::Run,
        id: run.clone(),
        compound: compound.clone(),
        fields: [(
            "state".to_owned(),
            serde_json::to_value(state).expect("states serialise"),
        )]
        .into(),
    }
}

pub fn new_id() -> RecordId {
    uuid::Uuid::new_v4()
        .to_string()
        .parse()
        .expect("a UUID is a valid id")
}

/// Splits a typed list of buildings ("1 2、4, 5") in route order.
fn building_list(text: &str) -> Vec<&str> {
    text.split([' ', ',', '，', '、'])
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect()
}

/// A new route from a typed list of buildings: stops that stay keep their
/// planned time and stay; a new stop is planned `minutes_between` after the
/// one before it. Used to reorder, drop or add stops before or during a run.
pub fn reroute(current: &[Stop], text: &str, minutes_between: u64) -> Result<Value, FormError> {
    let buildings = building_list(text);
    if buildings.is_empty() {
        return Err(FormError {
            field: "buildings".into(),
            message: "list at least one building".into(),
        });
    }
    let mut stops: Vec<Stop> = Vec::with_capacity(buildings.len());
    for building in buildings {
        let stop = match current.iter().find(|s| s.building == building) {
            Some(kept) => kept.clone(),
            None => {
                let (planned_ms, dwell_min) = match stops.last().or(current.last()) {
                    Some(before) => (
                        before.planned_ms + minutes_between * 60_000,
                        before.dwell_min,
                    ),
                    None => (0, 15),
                };
                Stop {
                    building: building.to_owned(),
                    planned_ms,
                    dwell_min,
                }
            }
        };
        stops.push(stop);
    }
    let value = serde_json::to_value(&stops).expect("stops serialise");
    Stop::list_from(&value).map_err(|message| FormError {
        field: "buildings".into(),
        message,
    })?;
    Ok(value)
}

/// The run mutation that replaces its route.
pub fn set_stops(compound: &CompoundId, run: &RecordId, stops: Value) -> Mutation {
    Mutation::Set {
        collection: doorstep_core::schema::Collection::Run,
        id: run.clone(),
        compound: compound.clone(),
        fields: [("stops".to_owned(), stops)].into(),
    }
}

/// The coordinator's "new run" form, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDraft {
    pub truck_name: String,
    pub vendor: String,
    pub phone: String,
    pub order_link: String,
    /// Buildings in route order, separated by spaces, commas or 、.
    pub buildings: String,
    /// First arrival, `HH:MM` today.
    pub first_arrival: String,
    pub minutes_between: String,
    pub dwell_min: String,
}

impl Default for RunDraft {
    fn default() -> Self {
        Self {
            truck_name: String::new(),
            vendor: String::new(),
            phone: String::new(),
            order_link: String::new(),
            buildings: String::new(),
            first_arrival: String::new(),
            minutes_between: "20".into(),
            dwell_min: "15".into(),
        }
    }
}

impl RunDraft {
    /// The truck and run mutations; `midnight_ms` is today's local midnight.
    pub fn mutations(
        &self,
        compound: &CompoundId,
        date: &str,
        midnight_ms: u64,
    ) -> Result<Vec<Mutation>, FormError> {
        let bad = |field: &str, message: &str| FormError {
            field: field.into(),
            message: message.into(),
        };
        let buildings = building_list(&self.buildings);
        if buildings.is_empty() {
            return Err(bad("buildings", "list at least one building"));
        }
        let (hours, minutes) = self
            .first_arrival
            .trim()
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u64>().ok()?, m.parse::<u64>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60)
            .ok_or_else(|| bad("first_arrival", "use HH:MM"))?;
        let between: u64 = self
            .minutes_between
            .trim()
            .parse()
            .map_err(|_| bad("minutes_between", "must be a number"))?;
        let dwell: u32 = self
            .dwell_min
            .trim()
            .parse()
            .map_err(|_| bad("dwell_min", "must be a number"))?;
        let start = midnight_ms + (hours * 60 + minutes) * 60_000;
        let stops: Vec<Value> = buildings
            .iter()
            .enumerate()
            .map(|(i, b)| {
                json!(Stop {
                    building: (*b).to_owned(),
                    planned_ms: start + i as u64 * between * 60_000,
                    dwell_min: dwell,
                })
            })
            .collect();
        let truck_id = new_id();
        let truck = Mutation::Set {
            collection: doorstep_core::schema::Collection::Truck,
            id: truck_id.clone(),
            compound: compound.clone(),
            fields: [
                truck::NAME.set(self.truck_name.trim()),
                truck::VENDOR.set(self.vendor.trim()),
                truck::PHONE.set(self.phone.trim()),
                truck::ORDER_LINK.set(self.order_link.trim()),
            ]
            .into(),
        };
        let run = Mutation::Set {
            collection: doorstep_core::schema::Collection::Run,
            id: new_id(),
            compound: compound.clone(),
            fields: [
                run::TRUCK.set(json!(truck_id)),
                run::DATE.set(json!(date)),
                run::STATE.set(json!(RunState::Planned)),
                run::STOPS.set(Value::Array(stops)),
            ]
            .into(),
        };
        for mutation in [&truck, &run] {
            mutation
                .validate()
                .map_err(|e| bad(e.field.rsplit('.').next().unwrap_or_default(), &e.message))?;
        }
        Ok(vec![truck, run])
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::{eta::timeline, hlc::Hlc, ids::ClientId, truck::StopEvent};

    use super::*;

    fn stops() -> Vec<Stop> {
        ["1", "2", "4"]
            .iter()
            .enumerate()
            .map(|(i, b)| Stop {
                building: (*b).into(),
                planned_ms: i as u64 * 1_200_000,
                dwell_min: 15,
            })
            .collect()
    }

    fn taps(list: &[(&str, EventKind)]) -> Vec<StopEvent> {
        list.iter()
            .enumerate()
            .map(|(i, (b, k))| StopEvent {
                building: (*b).into(),
                kind: *k,
                at_ms: i as u64,
                hlc: Hlc {
                    wall_ms: i as u64,
                    counter: 0,
                    node: ClientId::from_u128(1),
                },
            })
            .collect()
    }

    /// Data-driven: taps so far, then the big button and the skip button.
    #[test]
    fn the_big_button_follows_the_route() {
        use EventKind::*;
        use StaffAction::*;
        for (so_far, button, skip) in [
            (vec![], Some(Arrive("1".into())), Some("1")),
            (vec![("1", Arrived)], Some(Leave("1".into())), None),
            (
                vec![("1", Arrived), ("1", Left)],
                Some(Arrive("2".into())),
                Some("2"),
            ),
            (
                vec![("1", Left), ("2", Skipped)],
                Some(Arrive("4".into())),
                Some("4"),
            ),
            (
                vec![("1", Left), ("2", Left), ("4", Left)],
                Some(Finish),
                None,
            ),
        ] {
            let line = timeline(
                RunState::Underway,
                &stops(),
                &doorstep_core::truck::latest_per_stop(taps(&so_far)),
                0,
            );
            assert_eq!(next_action(&line), button, "{so_far:?}");
            assert_eq!(skip_target(&line).as_deref(), skip, "{so_far:?}");
        }
    }

    #[test]
    fn reroute_keeps_plans_of_stops_that_stay() {
        let route = reroute(&stops(), "2, 1 5", 20).unwrap();
        let route = Stop::list_from(&route).unwrap();
        assert_eq!(
            route
                .iter()
                .map(|s| s.building.as_str())
                .collect::<Vec<_>>(),
            ["2", "1", "5"]
        );
        assert_eq!(route[0].planned_ms, 1_200_000, "2 keeps its plan");
        assert_eq!(
            route[2].planned_ms,
            20 * 60_000,
            "5 is planned 20 min after the stop before it"
        );
        assert_eq!(reroute(&stops(), "1 1", 20).unwrap_err().field, "buildings");
        assert!(reroute(&stops(), " ", 20).is_err());
    }

    #[test]
    fn run_form_builds_a_planned_run() {
        let draft = RunDraft {
            truck_name: "豫A·12345".into(),
            vendor: "老李菜摊".into(),
            buildings: "1、2, 4".into(),
            first_arrival: "09:30".into(),
            ..RunDraft::default()
        };
        let compound: CompoundId = "c1".parse().unwrap();
        let mutations = draft.mutations(&compound, "2026-11-28", 0).unwrap();
        let Mutation::Set { fields, .. } = &mutations[1] else {
            panic!()
        };
        let stops = Stop::list_from(&fields["stops"]).unwrap();
        assert_eq!(
            stops
                .iter()
                .map(|s| s.building.as_str())
                .collect::<Vec<_>>(),
            ["1", "2", "4"]
        );
        assert_eq!(stops[1].planned_ms, (9 * 60 + 30 + 20) * 60_000);
        let bad = RunDraft {
            first_arrival: "9.30".into(),
            ..draft
        };
        assert_eq!(
            bad.mutations(&compound, "2026-11-28", 0).unwrap_err().field,
            "first_arrival"
        );
    }
}
