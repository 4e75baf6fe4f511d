//! Door-to-door work in plain types: the current round and team, which
//! team holds which building or unit (单元), where each door of a building
//! and unit stands in the round (not yet knocked, or to go back to), and
//! the records a saved
//! checklist becomes (the visit, plus a need for every problem found), and
//! the draft an unsaved checklist is kept as.

use std::collections::BTreeMap;

use doorstep_core::{
    access::{Place, Role, Scope, round_ended_at},
    dashboard::Coverage,
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    need::Status,
    record::Record,
    schema::{Collection, Vocabulary, assignment, household, need, need_event, round, visit},
    visit::{Checklist, DoorState},
};
use serde_json::json;

use super::{household::Household, replica::Replica};

/// A short random id (rounds and teams are referenced inside visit ids,
/// which must stay within 64 characters).
pub fn short_id(prefix: &str) -> RecordId {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &uuid[..12])
        .parse()
        .expect("short ids are valid")
}

pub use doorstep_core::visit::visit_id;

/// A door's checklist as the volunteer left it before saving, kept on every
/// tap: the temperature as typed, since it is parsed only on save.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DoorDraft {
    pub checklist: Checklist,
    pub temperature: String,
}

impl DoorDraft {
    /// The draft's name: one per visit, so one per door and round.
    pub fn name(visit: &RecordId) -> String {
        format!("door/{visit}")
    }
}

/// One assignment per building, or per unit of it, per round: reassigning
/// edits the same record, and a building's id is what it was before units.
pub fn assignment_id(round: &RecordId, place: &Place) -> Option<RecordId> {
    let tag = |name: &str| {
        let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        // Non-ASCII names get a stable hash so the id stays valid.
        if safe == name {
            safe
        } else {
            format!(
                "{:x}",
                name.bytes()
                    .fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b))
                        .wrapping_mul(0x100000001b3))
            )
        }
    };
    let building = tag(&place.building);
    match &place.unit {
        None => format!("a-{round}-{building}").parse().ok(),
        Some(unit) => format!("a-{round}-{building}-u{}", tag(unit)).parse().ok(),
    }
}

/// The team assigned to each building, or unit of one, in `round`.
pub fn assignments(replica: &Replica, round: &RecordId) -> BTreeMap<Place, RecordId> {
    replica
        .all(Collection::Assignment)
        .into_iter()
        .filter(|a| !a.is_deleted() && a.text(assignment::ROUND) == Some(round.as_str()))
        .filter_map(|a| {
            let building = a.text(assignment::BUILDING)?;
            let unit = a.text(assignment::UNIT);
            let team = a.reference(assignment::TEAM)?;
            Some((Place::new(building, unit), team))
        })
        .collect()
}

/// Gives `place` to `team` in `round` (`None`: to no team).
pub fn assign(
    compound: &CompoundId,
    round: &RecordId,
    place: &Place,
    team: Option<&RecordId>,
) -> Option<Mutation> {
    Some(Mutation::Set {
        collection: Collection::Assignment,
        id: assignment_id(round, place)?,
        compound: compound.clone(),
        fields: [
            assignment::ROUND.set(json!(round)),
            assignment::BUILDING.set(json!(place.building)),
            assignment::UNIT.set(json!(place.unit)),
            assignment::TEAM.set(team.map_or(serde_json::Value::Null, |t| json!(t))),
        ]
        .into(),
    })
}

/// A round as the round picker lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundChoice {
    pub id: RecordId,
    pub name: String,
    /// Not ended by the coordinator.
    pub open: bool,
}

/// The compound's live rounds, in the order they started.
pub fn rounds(replica: &Replica) -> Vec<RoundChoice> {
    let mut rounds: Vec<(u64, RoundChoice)> = replica
        .all(Collection::Round)
        .into_iter()
        .filter(|record| !record.is_deleted())
        .map(|record| {
            let started = record.ms(round::STARTED_MS);
            let choice = RoundChoice {
                name: record.text(round::NAME).unwrap_or_default().to_owned(),
                open: round_ended_at(&record).is_none(),
                id: record.id,
            };
            (started.unwrap_or(0), choice)
        })
        .collect();
    rounds.sort_by(|(a, x), (b, y)| (a, &x.id).cmp(&(b, &y.id)));
    rounds.into_iter().map(|(_, round)| round).collect()
}

/// The round the phone works in: the one chosen (also while it is not
/// stored here yet), unless it has ended and `keep_ended` is false (a
/// volunteer's buildings leave with it); otherwise the newest open round.
pub fn working_round(
    rounds: &[RoundChoice],
    chosen: Option<&RecordId>,
    keep_ended: bool,
) -> Option<RecordId> {
    match chosen.map(|id| rounds.iter().find(|r| &r.id == id)) {
        Some(Some(round)) if round.open || keep_ended => return Some(round.id.clone()),
        Some(None) => return chosen.cloned(),
        _ => {}
    }
    rounds.iter().rev().find(|r| r.open).map(|r| r.id.clone())
}

/// Ends `round` at `ended_at_ms`, or with `None` reopens it.
pub fn end_round(compound: &CompoundId, round: &RecordId, ended_at_ms: Option<u64>) -> Mutation {
    Mutation::Set {
        collection: Collection::Round,
        id: round.clone(),
        compound: compound.clone(),
        fields: [round::CLOSED_MS.set(json!(ended_at_ms))].into(),
    }
}

/// A door in a building's list, with where it stands in the current round.
#[derive(Clone, Debug, PartialEq)]
pub struct Door {
    pub household: Household,
    pub state: DoorState,
}

impl Door {
    /// `home`'s door, with where it stands in `round`.
    fn of(replica: &Replica, round: Option<&RecordId>, home: Household) -> Self {
        let visit =
            round.and_then(|round| replica.record(Collection::Visit, &visit_id(round, &home.id)));
        Door {
            state: DoorState::of_visit(visit),
            household: home,
        }
    }

    /// Where the door is: its building and unit.
    pub fn place(&self) -> Place {
        let unit = self.household.value(household::UNIT);
        Place::new(self.household.value(household::BUILDING), Some(unit))
    }

    /// Unit and door ("2-301"), as a list of doors names them.
    pub fn label(&self) -> String {
        [household::UNIT, household::DOOR]
            .into_iter()
            .map(|f| self.household.value(f).trim())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// A building's doors counted by state.
pub fn coverage(doors: &[Door], now_ms: u64) -> Coverage {
    Coverage::of(doors.iter().map(|d| d.state), now_ms)
}

/// Every building, with its doors in door order and this round's outcomes.
pub fn doors_by_building(
    replica: &Replica,
    round: Option<&RecordId>,
) -> BTreeMap<String, Vec<Door>> {
    let mut buildings: BTreeMap<String, Vec<Door>> = BTreeMap::new();
    for home in replica.households() {
        buildings
            .entry(home.value(household::BUILDING).to_owned())
            .or_default()
            .push(Door::of(replica, round, home));
    }
    buildings
}

/// One building's doors in door order, with this round's outcomes, as
/// [`doors_by_building`] lists them (a door's page reads only its own).
pub fn building_doors(replica: &Replica, round: Option<&RecordId>, building: &str) -> Vec<Door> {
    replica
        .households_in(building)
        .into_iter()
        .map(|home| Door::of(replica, round, home))
        .collect()
}

/// The doors a device knocks: a volunteer's, those of its team's buildings
/// and units (a home-visit team also holds households sent to it, which it
/// visits from its own list, not here); everyone else's, all of them.
pub fn knocked_by(
    buildings: BTreeMap<String, Vec<Door>>,
    scope: Option<&Scope>,
) -> BTreeMap<String, Vec<Door>> {
    let Some(scope) = scope.filter(|s| s.role == Role::Volunteer) else {
        return buildings;
    };
    buildings
        .into_iter()
        .filter_map(|(building, mut doors)| {
            doors.retain(|d| scope.covers(&d.place()));
            (!doors.is_empty()).then_some((building, doors))
        })
        .collect()
}

/// A building's doors by unit, in door order: doors naming no unit first
/// (under `None`). A building without units is one `None` group.
pub fn doors_by_unit(doors: &[Door]) -> BTreeMap<Option<String>, Vec<Door>> {
    let mut units: BTreeMap<Option<String>, Vec<Door>> = BTreeMap::new();
    for door in doors {
        units
            .entry(door.place().unit)
            .or_default()
            .push(door.clone());
    }
    units
}

/// The doors a holder of `place` works: the building's, or one unit's.
pub fn doors_at(buildings: &BTreeMap<String, Vec<Door>>, place: &Place) -> Vec<Door> {
    buildings
        .get(&place.building)
        .map(|doors| {
            doors
                .iter()
                .filter(|d| place.covers(&d.place()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The next door after `current` in the same building that has not been
/// knocked yet in this round (wrapping around), if any.
pub fn next_unvisited<'a>(doors: &'a [Door], current: &RecordId) -> Option<&'a Door> {
    let at = doors
        .iter()
        .position(|d| &d.household.id == current)
        .unwrap_or(0);
    doors[at + 1..]
        .iter()
        .chain(&doors[..at])
        .find(|d| d.state == DoorState::Pending)
}

/// The checklist as stored on the visit record, for editing.
pub fn checklist_of(visit: Option<&Record>) -> Checklist {
    visit.map(Checklist::of).unwrap_or_default()
}

/// The edits one saved checklist makes: the visit's fields that differ
/// from the stored visit, and for each need it raises (and that this visit
/// had not raised before) a need with its "collected" step.
pub fn checklist_mutations(
    checklist: &Checklist,
    compound: &CompoundId,
    round: &RecordId,
    team: Option<&RecordId>,
    household: &RecordId,
    existing: &Replica,
    now_ms: u64,
) -> Vec<Mutation> {
    let id = visit_id(round, household);
    let mut fields = checklist.fields(now_ms);
    fields.insert(visit::HOUSEHOLD.into(), json!(household));
    fields.insert(visit::ROUND.into(), json!(round));
    if let Some(team) = team {
        fields.insert(visit::TEAM.into(), json!(team));
    }
    // Only what this save changes: a smaller push, and a field another
    // phone changed meanwhile is not overwritten with what this one showed.
    if let Some(stored) = existing.record(Collection::Visit, &id) {
        fields = stored.differing(fields);
    }
    let mut mutations = vec![Mutation::Set {
        collection: Collection::Visit,
        id: id.clone(),
        compound: compound.clone(),
        fields,
    }];
    for (category, what) in checklist.needs() {
        // One need per problem per visit: saving the door again adds none.
        let need_id: RecordId = format!("n{}-{id}", &what[..1])
            .parse()
            .expect("need ids stay within 64 characters");
        if existing.record(Collection::Need, &need_id).is_some() {
            continue;
        }
        mutations.push(Mutation::Set {
            collection: Collection::Need,
            id: need_id.clone(),
            compound: compound.clone(),
            fields: [
                need::HOUSEHOLD.set(json!(household)),
                need::CATEGORY.set(category.word()),
                need::DESCRIPTION.set(what),
                need::VISIT.set(json!(id)),
            ]
            .into(),
        });
        mutations.push(Mutation::Append {
            collection: Collection::NeedEvent,
            id: short_id("e"),
            compound: compound.clone(),
            fields: [
                need_event::NEED.set(json!(need_id)),
                need_event::STEP.set(Status::Collected.name()),
                need_event::AT_MS.set(now_ms),
            ]
            .into(),
        });
    }
    mutations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fixtures::{household, record, stamp};

    /// A door's page reads its building's doors alone: the same doors, in
    /// the same order, as the whole list has them.
    #[test]
    fn one_buildings_doors_are_the_lists() {
        let replica = Replica::new(
            vec![
                household("h1", "3", "1101"),
                household("h2", "5", "702"),
                household("h3", "3", "201"),
                household("h4", "3", "9"),
            ],
            Vec::new(),
        );
        let round: RecordId = "r1".parse().unwrap();
        let all = doors_by_building(&replica, Some(&round));
        for building in ["3", "5"] {
            assert_eq!(
                building_doors(&replica, Some(&round), building),
                all[building]
            );
        }
        assert!(building_doors(&replica, Some(&round), "7").is_empty());
        let order: Vec<_> = all["3"]
            .iter()
            .map(|d| d.household.id.to_string())
            .collect();
        assert_eq!(order, ["h4", "h3", "h1"]);
    }

    /// A home-visit team holds households of buildings it does not knock:
    /// they stay off its door-knock list.
    #[test]
    fn a_volunteer_knocks_only_its_teams_buildings() {
        let replica = Replica::new(
            vec![household("h1", "3", "101"), household("h2", "5", "702")],
            Vec::new(),
        );
        let mut scope = Scope {
            compound: "c1".parse().unwrap(),
            role: Role::Volunteer,
            team: None,
            buildings: ["3".to_owned()].into(),
            units: Default::default(),
            ended: Default::default(),
            ended_units: Default::default(),
            key_persons: false,
            home_visits: [("hv1".to_owned(), "h2".to_owned())].into(),
            home_visits_ended: Default::default(),
        };
        let buildings = |scope: &Scope| -> Vec<String> {
            knocked_by(doors_by_building(&replica, None), Some(scope))
                .into_keys()
                .collect()
        };
        assert_eq!(buildings(&scope), ["3"]);
        scope.role = Role::Coordinator;
        assert_eq!(buildings(&scope), ["3", "5"]);
    }

    #[test]
    fn saving_a_door_records_the_visit_and_its_needs_once() {
        let round: RecordId = "r0123456789ab".parse().unwrap();
        let compound: CompoundId = "c1".parse().unwrap();
        let mut replica = Replica::new(
            vec![
                household("h1", "3", "101"),
                household("h2", "3", "102"),
                household("h3", "3", "103"),
            ],
            vec![],
        );
        let checklist = Checklist {
            outcome: Some("visited".into()),
            temperature_c: Some(38.1),
            health: Some("normal".into()),
            food_ok: Some(false),
            ..Default::default()
        };
        checklist.check().unwrap();
        let h1: RecordId = "h1".parse().unwrap();
        let mutations = checklist_mutations(&checklist, &compound, &round, None, &h1, &replica, 5);
        assert_eq!(
            mutations.iter().map(|m| m.collection()).collect::<Vec<_>>(),
            [Collection::Visit, Collection::Need, Collection::NeedEvent]
        );
        for m in &mutations {
            m.validate().unwrap();
            if let Ok((record, _)) = m.apply(None, &stamp(2)) {
                replica.upsert(record);
            }
        }
        // Assigning building 3 to a team, then to another: one record, the later team.
        let (t1, t2): (RecordId, RecordId) = ("t1".parse().unwrap(), "t2".parse().unwrap());
        for (i, team) in [&t1, &t2].into_iter().enumerate() {
            let m = assign(&compound, &round, &Place::new("3", None), Some(team)).unwrap();
            m.validate().unwrap();
            let existing = replica.record(Collection::Assignment, m.id()).cloned();
            replica.upsert(m.apply(existing.as_ref(), &stamp(10 + i as u64)).unwrap().0);
        }
        assert_eq!(
            assignments(&replica, &round).get(&Place::new("3", None)),
            Some(&t2)
        );
        assert_eq!(
            assignment_id(&round, &Place::new("3", None))
                .unwrap()
                .as_str(),
            "a-r0123456789ab-3",
            "a building's assignment keeps its id from before units"
        );
        assert!(
            assignment_id(&round, &Place::new("三号楼", Some("一单元"))).is_some(),
            "Chinese building and unit names still make an id"
        );

        // Saving the same door again raises no second need, and sends only
        // what changed: the temperature, and the time of the visit.
        let warmer = Checklist {
            temperature_c: Some(38.4),
            ..checklist.clone()
        };
        let again = checklist_mutations(&warmer, &compound, &round, None, &h1, &replica, 6);
        assert_eq!(again.len(), 1);
        assert_eq!(
            again[0].fields().unwrap().keys().collect::<Vec<_>>(),
            [visit::TEMPERATURE_C.name, visit::VISITED_AT_MS.name]
        );
        again[0].validate().unwrap();

        let doors = &doors_by_building(&replica, Some(&round))["3"];
        assert_eq!(doors[0].state, DoorState::Visited);
        assert_eq!(
            next_unvisited(doors, &h1).unwrap().household.id.as_str(),
            "h2"
        );
        let restored = checklist_of(replica.record(Collection::Visit, &visit_id(&round, &h1)));
        assert_eq!(restored.temperature_c, Some(38.1));
        assert_eq!(restored.food_ok, Some(false));
    }

    /// A door nobody answered counts as no answer, not 已走访, and stays to
    /// go back to until a later save of the same door answers it.
    #[test]
    fn no_answer_doors_are_gone_back_to_until_answered() {
        let round: RecordId = "r0123456789ab".parse().unwrap();
        let compound: CompoundId = "c1".parse().unwrap();
        let mut replica = Replica::new(
            vec![
                household("h1", "1", "101"),
                household("h2", "1", "102"),
                household("h3", "1", "103"),
            ],
            vec![],
        );
        let mut clock = 10;
        let mut save = |replica: &mut Replica, id: &str, checklist: Checklist| {
            checklist.check().unwrap();
            let h: RecordId = id.parse().unwrap();
            for m in checklist_mutations(&checklist, &compound, &round, None, &h, replica, clock) {
                clock += 1;
                let existing = replica.record(m.collection(), m.id()).cloned();
                replica.upsert(m.apply(existing.as_ref(), &stamp(clock)).unwrap().0);
            }
        };
        let answered = Checklist {
            outcome: Some("visited".into()),
            temperature_c: Some(36.5),
            ..Default::default()
        };
        save(&mut replica, "h1", answered.clone());
        save(
            &mut replica,
            "h2",
            Checklist {
                outcome: Some("no_answer".into()),
                ..Default::default()
            },
        );
        save(
            &mut replica,
            "h3",
            Checklist {
                outcome: Some("revisit".into()),
                revisit_at_ms: Some(500),
                ..Default::default()
            },
        );
        let doors = &doors_by_building(&replica, Some(&round))["1"];
        let c = coverage(doors, 100);
        assert_eq!((c.doors, c.visited, c.no_answer, c.revisit), (3, 1, 1, 1));
        assert_eq!(c.to_go_back(), 2);
        assert_eq!(doors[2].state, DoorState::Revisit { at_ms: Some(500) });
        assert_eq!(doors[1].label(), "102");

        save(&mut replica, "h2", answered);
        let c = coverage(&doors_by_building(&replica, Some(&round))["1"], 100);
        assert_eq!((c.visited, c.no_answer, c.to_go_back()), (2, 0, 1));
    }

    /// Issue 14, item 5: building 3's two units go to two teams; each
    /// unit's doors and coverage are counted on their own.
    #[test]
    fn two_units_of_a_building_go_to_two_teams() {
        let round: RecordId = "r0123456789ab".parse().unwrap();
        let compound: CompoundId = "c1".parse().unwrap();
        let at = |id: &str, unit: &str, door: &str| {
            record(
                "household",
                id,
                json!({"building": "3", "unit": unit, "door": door}),
            )
        };
        let mut replica = Replica::new(
            vec![
                at("h1", "1", "101"),
                at("h2", "1单元", "102"),
                at("h3", "2", "101"),
                household("h4", "3", "001"),
            ],
            vec![],
        );
        let (t1, t2): (RecordId, RecordId) = ("t1".parse().unwrap(), "t2".parse().unwrap());
        let (unit1, unit2) = (Place::new("3", Some("1")), Place::new("3", Some("2")));
        for (place, team) in [(&unit1, &t1), (&unit2, &t2)] {
            let m = assign(&compound, &round, place, Some(team)).unwrap();
            m.validate().unwrap();
            replica.upsert(m.apply(None, &stamp(10)).unwrap().0);
        }
        let held = assignments(&replica, &round);
        assert_eq!((held.get(&unit1), held.get(&unit2)), (Some(&t1), Some(&t2)));
        assert_eq!(
            assignment_id(&round, &unit1).unwrap().as_str(),
            "a-r0123456789ab-3-u1"
        );

        let buildings = doors_by_building(&replica, Some(&round));
        let units = doors_by_unit(&buildings["3"]);
        let ids = |doors: &[Door]| {
            doors
                .iter()
                .map(|d| d.household.id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            units.keys().cloned().collect::<Vec<_>>(),
            [None, Some("1".to_owned()), Some("2".to_owned())]
        );
        assert_eq!(ids(&units[&Some("1".to_owned())]), ["h1", "h2"]);
        assert_eq!(ids(&doors_at(&buildings, &unit1)), ["h1", "h2"]);
        assert_eq!(ids(&doors_at(&buildings, &unit2)), ["h3"]);
        assert_eq!(doors_at(&buildings, &Place::new("3", None)).len(), 4);

        let checklist = Checklist {
            outcome: Some("visited".into()),
            temperature_c: Some(36.5),
            ..Default::default()
        };
        let h3: RecordId = "h3".parse().unwrap();
        for m in checklist_mutations(&checklist, &compound, &round, Some(&t2), &h3, &replica, 20) {
            replica.upsert(m.apply(None, &stamp(20)).unwrap().0);
        }
        let buildings = doors_by_building(&replica, Some(&round));
        let (c1, c2) = (
            coverage(&doors_at(&buildings, &unit1), 100),
            coverage(&doors_at(&buildings, &unit2), 100),
        );
        assert_eq!((c1.visited, c1.doors, c2.visited, c2.doors), (0, 2, 1, 1));
    }

    fn round(id: &str, started_ms: u64, ended: bool) -> Record {
        let compound: CompoundId = "c1".parse().unwrap();
        let started = record(
            "round",
            id,
            json!({"name": format!("第{started_ms}轮"), "started_ms": started_ms}),
        );
        let ending = end_round(&compound, &started.id, ended.then_some(9));
        ending.validate().unwrap();
        ending.apply(Some(&started), &stamp(2)).unwrap().0
    }

    /// rounds (id, started, ended), chosen, keep ended rounds, working round
    #[test]
    fn the_working_round_is_the_chosen_one_or_the_newest_open_one() {
        type Case<'a> = (
            &'a [(&'a str, u64, bool)],
            Option<&'a str>,
            bool,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (&[], None, false, None),
            (
                &[("r1", 1, false), ("r2", 2, false)],
                None,
                false,
                Some("r2"),
            ),
            (
                &[("r1", 1, false), ("r2", 2, false)],
                Some("r1"),
                false,
                Some("r1"),
            ),
            // Not stored on this phone yet: kept.
            (&[("r1", 1, false)], Some("r9"), false, Some("r9")),
            // Ended: a volunteer moves on, a coordinator may look back.
            (
                &[("r1", 1, false), ("r2", 2, true)],
                Some("r2"),
                false,
                Some("r1"),
            ),
            (
                &[("r1", 1, false), ("r2", 2, true)],
                Some("r2"),
                true,
                Some("r2"),
            ),
            (&[("r1", 1, true)], Some("r1"), false, None),
            (
                &[("r1", 3, false), ("r2", 2, false)],
                None,
                true,
                Some("r1"),
            ),
        ];
        for (stored, chosen, keep_ended, expected) in cases {
            let replica = Replica::new(
                stored
                    .iter()
                    .map(|(id, started, ended)| round(id, *started, *ended))
                    .collect(),
                vec![],
            );
            let listed = rounds(&replica);
            let chosen: Option<RecordId> = chosen.map(|c| c.parse().unwrap());
            let got = working_round(&listed, chosen.as_ref(), *keep_ended);
            assert_eq!(
                got.as_ref().map(RecordId::as_str),
                *expected,
                "{stored:?} {chosen:?} {keep_ended}"
            );
        }
    }
}
