//! Who may read and write what. A device acts in one compound with one
//! [`Role`]; a volunteer's [`Scope`] is further limited to the places
//! (buildings, or units of them) assigned to their team in the rounds under
//! way, and to key-persons fields only when granted.
//!
//! The server enforces these rules on every push and pull; the app reads
//! the same rules to decide which pages to show. Finding a record's place
//! takes lookups, so callers pass it in: this module does no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    home_visit::{Dispatched, RESULT_FIELDS},
    ids::{CompoundId, RecordId},
    mutation::{Mutation, Refusal},
    record::Record,
    roster,
    schema::{
        Collection, Field, FieldType, assignment, home_visit, household, need, need_event, person,
        purchase, round, settlement, visit,
    },
};

/// What a device was invited as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 社区/网格负责人: everything in the compound.
    Coordinator,
    /// 志愿者: the households of their team's buildings.
    Volunteer,
    /// 菜车人员: trucks, runs and stop taps.
    Stall,
    /// 区/街道干部: a district's totals, counted by the server; no record of
    /// any compound, so never a name, door or phone. Invited by the
    /// operator, not by a compound's coordinator.
    Official,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Coordinator,
        Role::Volunteer,
        Role::Stall,
        Role::Official,
    ];

    /// The roles that work in a compound, which its coordinator invites.
    pub const IN_COMPOUND: [Role; 3] = [Role::Coordinator, Role::Volunteer, Role::Stall];

    pub fn name(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Volunteer => "volunteer",
            Role::Stall => "stall",
            Role::Official => "official",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// A volunteer works for a team; the other roles do not.
    pub fn needs_team(self) -> bool {
        self == Role::Volunteer
    }

    /// Whether the role works in one compound (and syncs its records); a
    /// district official does not.
    pub fn in_compound(self) -> bool {
        self != Role::Official
    }
}

/// How a collection is divided between roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// Belongs to one household, so to one building: the registry, visits,
    /// needs, the care and key-persons ledgers, purchases.
    Household,
    /// The work plan: rounds, teams, which team covers which building.
    Plan,
    /// The vegetable truck: trucks, runs, stop taps.
    Stall,
}

impl Area {
    pub fn of(collection: Collection) -> Self {
        match collection {
            Collection::Household
            | Collection::Visit
            | Collection::Need
            | Collection::NeedEvent
            | Collection::Person
            | Collection::Purchase
            | Collection::Settlement
            | Collection::HomeVisit => Area::Household,
            Collection::Team | Collection::Round | Collection::Assignment => Area::Plan,
            Collection::Truck | Collection::Run | Collection::StopEvent => Area::Stall,
        }
    }

    pub fn collections(self) -> impl Iterator<Item = Collection> {
        Collection::ALL
            .into_iter()
            .filter(move |&c| Area::of(c) == self)
    }
}

/// The record a household-area record hangs from: the field naming it and
/// its collection (a visit's household, a need event's need). Following the
/// chain ends at a household, whose `building` places the record.
pub fn parent(collection: Collection) -> Option<(Field, Collection)> {
    let field = match collection {
        Collection::Visit => visit::HOUSEHOLD,
        Collection::Need => need::HOUSEHOLD,
        Collection::Person => person::HOUSEHOLD,
        Collection::Purchase => purchase::HOUSEHOLD,
        Collection::HomeVisit => home_visit::HOUSEHOLD,
        Collection::NeedEvent => need_event::NEED,
        Collection::Settlement => settlement::PURCHASE,
        _ => return None,
    };
    let FieldType::Ref(up) = field.spec().ty else {
        unreachable!("a parent field is a reference")
    };
    Some((field, up))
}

/// When a round was ended by the coordinator (`closed_ms`); `None` while it
/// is under way.
pub fn round_ended_at(round: &Record) -> Option<u64> {
    round.ms(round::CLOSED_MS)
}

/// Where a household-area record lives: its household's building and, if
/// the household names one, its unit (单元), compared as
/// [`roster::unit_key`] writes it. As what a team holds, a place without a
/// unit is the whole building.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub building: String,
    pub unit: Option<String>,
}

impl Place {
    /// A place from stored text: the unit normalised, a blank unit none.
    pub fn new(building: &str, unit: Option<&str>) -> Self {
        Self {
            building: building.to_owned(),
            unit: unit.map(roster::unit_key).filter(|u| !u.is_empty()),
        }
    }

    /// Where a household lives (`None`: it names no building).
    pub fn of_household(household: &Record) -> Option<Self> {
        Some(Self::new(
            household.text(household::BUILDING)?,
            household.text(household::UNIT),
        ))
    }

    /// Whether holding this place reaches a household living at `at`: the
    /// same building, and this is the whole building or `at`'s unit.
    pub fn covers(&self, at: &Place) -> bool {
        self.building == at.building && (self.unit.is_none() || self.unit == at.unit)
    }
}

/// Where a team works: the places (buildings, or units of them) it holds
/// in the rounds under way, and those it no longer holds (its round ended,
/// or the place went to another team), each with the latest such end, so
/// that edits made before then (on a phone that was offline) are still
/// accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamPlaces {
    pub current: BTreeSet<Place>,
    pub ended: BTreeMap<Place, u64>,
}

/// A team's hold on a place in a round, as one assignment gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub team: String,
    pub place: Place,
    pub round: Option<String>,
}

impl Hold {
    /// The hold a live assignment with a team and a building gives (and a
    /// unit, if it names one).
    pub fn of(assignment: &Record) -> Option<Self> {
        if assignment.collection != Collection::Assignment || assignment.is_deleted() {
            return None;
        }
        let text = |field| assignment.text(field);
        Some(Self {
            team: text(assignment::TEAM)?.to_owned(),
            place: Place::new(text(assignment::BUILDING)?, text(assignment::UNIT)),
            round: text(assignment::ROUND).map(str::to_owned),
        })
    }
}

/// A team stopped holding a place at `at_ms`: its assignment went to
/// another team, building, unit or round, was cleared or deleted. The
/// assignment keeps only its new state, so the server keeps these beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub hold: Hold,
    pub at_ms: u64,
}

impl Release {
    /// The release made when an assignment changes from `before` to
    /// `after` by an edit made at `at_ms`.
    pub fn between(before: Option<&Record>, after: &Record, at_ms: u64) -> Option<Self> {
        let hold = before.and_then(Hold::of)?;
        (Hold::of(after).as_ref() != Some(&hold)).then_some(Self { hold, at_ms })
    }
}

/// Where `team` works, from `plan` (the compound's rounds and assignments)
/// and the team's `releases`. An assignment whose round is not in `plan`
/// counts as under way, so one that arrives before its round is not
/// dropped; a deleted round counts for nothing.
pub fn team_places<'a>(
    team: &RecordId,
    plan: impl IntoIterator<Item = &'a Record>,
    releases: impl IntoIterator<Item = &'a Release>,
) -> TeamPlaces {
    enum Round {
        UnderWay,
        Ended(u64),
        Deleted,
    }
    let (rounds, assignments): (Vec<&Record>, Vec<&Record>) = plan
        .into_iter()
        .filter(|r| matches!(r.collection, Collection::Round | Collection::Assignment))
        .partition(|r| r.collection == Collection::Round);
    let rounds: BTreeMap<&str, Round> = rounds
        .into_iter()
        .map(|r| {
            let state = match (r.is_deleted(), round_ended_at(r)) {
                (true, _) => Round::Deleted,
                (false, Some(at)) => Round::Ended(at),
                (false, None) => Round::UnderWay,
            };
            (r.id.as_str(), state)
        })
        .collect();
    let round_of = |hold: &Hold| {
        hold.round
            .as_deref()
            .and_then(|round| rounds.get(round))
            .unwrap_or(&Round::UnderWay)
    };
    // Every hold the team has had: those held now (no release) and those
    // released. A hold ends at its round's end or its release, the earlier.
    let held = assignments
        .into_iter()
        .filter_map(Hold::of)
        .map(|h| (h, None));
    let released = releases
        .into_iter()
        .map(|r| (r.hold.clone(), Some(r.at_ms)));
    let mut places = TeamPlaces::default();
    for (hold, released_at) in held.chain(released) {
        if hold.team != team.as_str() {
            continue;
        }
        let end = match (round_of(&hold), released_at) {
            (Round::Deleted, _) => continue,
            (Round::UnderWay, None) => {
                places.current.insert(hold.place);
                continue;
            }
            (Round::UnderWay, Some(at)) => at,
            (Round::Ended(at), released_at) => released_at.map_or(*at, |r| r.min(*at)),
        };
        let latest = places.ended.entry(hold.place).or_default();
        *latest = (*latest).max(end);
    }
    // A unit of a building held whole adds nothing; a place held again is
    // current, not ended.
    let whole: BTreeSet<String> = places
        .current
        .iter()
        .filter(|p| p.unit.is_none())
        .map(|p| p.building.clone())
        .collect();
    places
        .current
        .retain(|p| p.unit.is_none() || !whole.contains(&p.building));
    let current = &places.current;
    places
        .ended
        .retain(|place, _| !current.iter().any(|held| held.covers(place)));
    places
}

/// What one device may reach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scope {
    pub compound: CompoundId,
    pub role: Role,
    /// A volunteer's team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<RecordId>,
    /// The buildings assigned whole to a volunteer's team in the rounds
    /// under way (see [`team_places`]): what it reads and writes.
    #[serde(default)]
    pub buildings: BTreeSet<String>,
    /// The units (单元) assigned to the team in buildings it does not hold
    /// whole, by building.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub units: BTreeMap<String, BTreeSet<String>>,
    /// The team's whole buildings it no longer covers (their round ended,
    /// or they went to another team), with when: edits made before then are
    /// accepted, nothing there is read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ended: BTreeMap<String, u64>,
    /// The same for units, by building and unit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ended_units: BTreeMap<String, BTreeMap<String, u64>>,
    /// May read and write key-persons fields (the coordinator always may).
    pub key_persons: bool,
    /// Home visits dispatched to a volunteer's team in rounds under way
    /// (see [`crate::home_visit::dispatched_to`]), entry id → household id: the
    /// team reads those households, their people and needs wherever they
    /// are, and records the entries' results.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub home_visits: BTreeMap<String, String>,
    /// Entries dispatched to the team whose round ended, with when: a
    /// result recorded before then still lands.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub home_visits_ended: BTreeMap<String, u64>,
}

/// Whether a role reaches a collection at all, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    None,
    Read,
    /// Reads and writes, limited to the scope's buildings for a volunteer.
    Write,
}

impl Scope {
    pub fn reach(&self, collection: Collection) -> Reach {
        match (self.role, Area::of(collection)) {
            (Role::Coordinator, _) => Reach::Write,
            (Role::Volunteer, Area::Household) => Reach::Write,
            (Role::Volunteer, Area::Plan) => Reach::Read,
            (Role::Stall, Area::Stall) => Reach::Write,
            (Role::Volunteer, Area::Stall) | (Role::Stall, _) | (Role::Official, _) => Reach::None,
        }
    }

    /// Whether the scope covers every record of a collection it reaches, or
    /// only those in its buildings.
    pub fn by_building(&self, collection: Collection) -> bool {
        self.role == Role::Volunteer && Area::of(collection) == Area::Household
    }

    pub fn sees_restricted(&self) -> bool {
        self.role == Role::Coordinator || self.key_persons
    }

    /// May this device read a record of `collection` placed at `place`
    /// (`None`: not placed in any building)?
    pub fn may_read(&self, collection: Collection, place: Option<&Place>) -> bool {
        self.reach(collection) != Reach::None
            && (!self.by_building(collection) || place.is_some_and(|p| self.covers(p)))
    }

    /// Takes the home visits dispatched to a team as this scope's.
    pub fn dispatch(&mut self, dispatched: Dispatched) {
        self.home_visits = dispatched.current;
        self.home_visits_ended = dispatched.ended;
    }

    /// The collections a volunteer reads for a household dispatched to its
    /// team: the household, its people and needs (with their steps).
    /// Visits, purchases and other teams' entries stay with the households'
    /// own teams.
    pub fn reads_dispatched(collection: Collection) -> bool {
        matches!(
            collection,
            Collection::Household | Collection::Person | Collection::Need | Collection::NeedEvent
        )
    }

    /// Whether this device may write `collection` in a household dispatched
    /// to its team wherever the household is: a home-visit team records the
    /// steps of its needs (it resolves the home test it came for). Steps
    /// are appended, never moved, so a late one cannot move anything.
    pub fn writes_by_dispatch(&self, collection: Collection) -> bool {
        self.role == Role::Volunteer
            && collection == Collection::NeedEvent
            && !self.home_visits.is_empty()
    }

    /// Whether a volunteer may record this edit of a home-visit entry: only
    /// the results ([`RESULT_FIELDS`]) of an entry dispatched to its team,
    /// made while the entry's round was under way. Dispatching is the
    /// coordinator's.
    fn may_record_result(&self, mutation: &Mutation, made_at_ms: u64) -> Result<(), Refusal> {
        let id = mutation.id().as_str();
        let dispatched = self.home_visits.contains_key(id)
            || self
                .home_visits_ended
                .get(id)
                .is_some_and(|end| made_at_ms <= *end);
        if !dispatched {
            return Err(forbidden(format!(
                "home visit {id} is not dispatched to this device's team"
            )));
        }
        let Some(fields) = mutation.fields() else {
            return Err(forbidden(format!(
                "home visit {id} is the coordinator's to delete"
            )));
        };
        if let Some(name) = fields
            .keys()
            .find(|f| !RESULT_FIELDS.iter().any(|r| r.name == f.as_str()))
        {
            return Err(forbidden(format!(
                "home_visit.{name} is the coordinator's dispatch; a team records only its result"
            )));
        }
        Ok(())
    }

    /// Takes the places a team holds as this scope's.
    pub fn hold(&mut self, places: TeamPlaces) {
        self.buildings.clear();
        self.units.clear();
        self.ended.clear();
        self.ended_units.clear();
        for place in places.current {
            match place.unit {
                None => {
                    self.buildings.insert(place.building);
                }
                Some(unit) => {
                    self.units.entry(place.building).or_default().insert(unit);
                }
            }
        }
        for (place, at) in places.ended {
            match place.unit {
                None => {
                    self.ended.insert(place.building, at);
                }
                Some(unit) => {
                    self.ended_units
                        .entry(place.building)
                        .or_default()
                        .insert(unit, at);
                }
            }
        }
    }

    /// Whether a household at `place` is the team's now: its building is
    /// held whole, or its unit is held.
    pub fn covers(&self, place: &Place) -> bool {
        self.buildings.contains(&place.building)
            || place.unit.as_ref().is_some_and(|unit| {
                self.units
                    .get(&place.building)
                    .is_some_and(|units| units.contains(unit))
            })
    }

    /// The latest end of the team's former holds on `place` (its building
    /// whole, or its unit): edits made until then still land.
    fn ended_at(&self, place: &Place) -> Option<u64> {
        let whole = self.ended.get(&place.building).copied();
        let unit = place.unit.as_ref().and_then(|unit| {
            self.ended_units
                .get(&place.building)
                .and_then(|units| units.get(unit))
                .copied()
        });
        whole.max(unit)
    }

    /// May this device make `mutation`, made at `made_at_ms` (its clock
    /// stamp), to `existing` (the record as it stands, if it exists)?
    /// `places` lists where the record is placed before and after it
    /// (both must be in scope; `None` is a record not placed anywhere, e.g.
    /// a visit whose household is unknown).
    ///
    /// A late edit (one let in because it was made before the team stopped
    /// holding a place) may change what a record says, never where it
    /// lives (its building, unit or parent): moving it is refused whatever
    /// its stamp. Deleting a record that holds key-persons data needs the
    /// grant, as writing it does.
    ///
    /// `household` is the household the record is under, which the caller
    /// looks up only where [`Scope::writes_by_dispatch`] says it matters.
    pub fn may_write(
        &self,
        mutation: &Mutation,
        existing: Option<&Record>,
        places: &[Option<&Place>],
        household: Option<&str>,
        made_at_ms: u64,
    ) -> Result<(), Refusal> {
        let collection = mutation.collection();
        if mutation.compound() != &self.compound {
            return Err(forbidden(format!(
                "this device works in compound {}, not {}",
                self.compound,
                mutation.compound()
            )));
        }
        if self.reach(collection) != Reach::Write {
            return Err(forbidden(format!(
                "a {} may not change {} records",
                self.role.name(),
                collection.name()
            )));
        }
        if let Some(fields) = mutation.fields()
            && !self.sees_restricted()
            && let Some(name) = fields
                .keys()
                .find(|name| collection.field(name).is_some_and(|f| f.restricted))
        {
            return Err(forbidden(format!(
                "{}.{name} is on the key-persons ledger, which this device has no access to",
                collection.name()
            )));
        }
        if let Some(fields) = mutation.fields()
            && self.role != Role::Coordinator
            && let Some(name) = fields
                .keys()
                .find(|name| collection.field(name).is_some_and(|f| f.coordinator_only))
        {
            return Err(forbidden(format!(
                "{}.{name} is the coordinator's to set",
                collection.name()
            )));
        }
        if let (Mutation::Delete { .. }, Some(record)) = (mutation, existing)
            && !self.sees_restricted()
            && holds_restricted(record)
        {
            return Err(forbidden(format!(
                "{} {} is on the key-persons ledger, which this device has no access to",
                collection.name(),
                mutation.id()
            )));
        }
        if self.role == Role::Volunteer && collection == Collection::HomeVisit {
            return self.may_record_result(mutation, made_at_ms);
        }
        if self.writes_by_dispatch(collection)
            && household.is_some_and(|h| self.home_visits.values().any(|d| d == h))
        {
            return Ok(());
        }
        if self.by_building(collection) {
            let late = places.iter().any(|p| !p.is_some_and(|p| self.covers(p)));
            if late && moves(mutation, existing) {
                return Err(forbidden(format!(
                    "{} {} is in a place this device's team does not cover now: \
                     a late edit may not move it",
                    collection.name(),
                    mutation.id()
                )));
            }
            for place in places {
                match place {
                    Some(p) if self.covers(p) => {}
                    // Made before the round ended, on a phone offline then.
                    Some(p) if self.ended_at(p).is_some_and(|end| made_at_ms <= end) => {}
                    Some(Place {
                        building,
                        unit: Some(unit),
                    }) => {
                        return Err(forbidden(format!(
                            "building {building} unit {unit} is not assigned to this device's team"
                        )));
                    }
                    Some(Place { building, .. }) => {
                        return Err(forbidden(format!(
                            "building {building} is not assigned to this device's team"
                        )));
                    }
                    None => {
                        return Err(forbidden(format!(
                            "{} {} is not in a building assigned to this device's team",
                            collection.name(),
                            mutation.id()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes the fields this device may not read.
    pub fn redact(&self, record: &mut Record) {
        if !self.sees_restricted() {
            let collection = record.collection;
            record
                .fields
                .retain(|name, _| !collection.field(name).is_some_and(|f| f.restricted));
        }
    }
}

/// The fields that say where a record of `collection` lives: a
/// household's building and unit, the parent reference of a record below it.
pub fn placing_fields(collection: Collection) -> Vec<Field> {
    match (collection, parent(collection)) {
        (Collection::Household, _) => vec![household::BUILDING, household::UNIT],
        (_, Some((field, _))) => vec![field],
        _ => Vec::new(),
    }
}

/// Whether `mutation` changes where `existing` lives (a new record lives
/// nowhere yet, so creating one moves nothing).
fn moves(mutation: &Mutation, existing: Option<&Record>) -> bool {
    let (Some(record), Some(fields)) = (existing, mutation.fields()) else {
        return false;
    };
    placing_fields(mutation.collection())
        .into_iter()
        .any(|field| {
            field
                .of(fields)
                .is_some_and(|value| record.value(field).unwrap_or(&Value::Null) != value)
        })
}

/// Whether a record holds a key-persons value (a restricted field not
/// cleared): deleting it would erase that entry.
pub fn holds_restricted(record: &Record) -> bool {
    record.fields.iter().any(|(name, stamped)| {
        !stamped.value.is_null()
            && record
                .collection
                .field(name)
                .is_some_and(|spec| spec.restricted)
    })
}

fn forbidden(message: String) -> Refusal {
    Refusal {
        code: crate::api::ErrorCode::Forbidden,
        message,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{api::ErrorCode, hlc::Hlc};

    fn scope(role: Role, key_persons: bool) -> Scope {
        Scope {
            compound: "c1".parse().unwrap(),
            role,
            team: None,
            buildings: ["1".to_owned()].into(),
            units: Default::default(),
            ended: Default::default(),
            ended_units: Default::default(),
            key_persons,
            home_visits: Default::default(),
            home_visits_ended: Default::default(),
        }
    }

    /// A place as tests write it: "3" is building 3, "3/1" its unit 1.
    fn place(text: &str) -> Place {
        match text.split_once('/') {
            Some((building, unit)) => Place::new(building, Some(unit)),
            None => Place::new(text, None),
        }
    }

    /// `Scope::may_write` with places written as [`place`] reads them.
    fn may_write(
        scope: &Scope,
        mutation: &Mutation,
        existing: Option<&Record>,
        at: &[Option<&str>],
        made_at_ms: u64,
    ) -> Result<(), Refusal> {
        let places: Vec<Option<Place>> = at.iter().map(|p| p.map(place)).collect();
        let places: Vec<Option<&Place>> = places.iter().map(Option::as_ref).collect();
        scope.may_write(mutation, existing, &places, None, made_at_ms)
    }

    fn may_read(scope: &Scope, collection: Collection, at: Option<&str>) -> bool {
        scope.may_read(collection, at.map(place).as_ref())
    }

    fn set(collection: Collection, fields: serde_json::Value) -> Mutation {
        Mutation::Set {
            collection,
            id: "r1".parse().unwrap(),
            compound: "c1".parse().unwrap(),
            fields: serde_json::from_value(fields).unwrap(),
        }
    }

    /// role, key grant, collection, fields, record's buildings, allowed
    #[test]
    fn write_rules() {
        use Collection::*;
        use Role::*;
        type Case<'a> = (
            Role,
            bool,
            Collection,
            serde_json::Value,
            &'a [Option<&'a str>],
            bool,
        );
        let cases: &[Case] = &[
            (
                Coordinator,
                false,
                Household,
                json!({"door": "1"}),
                &[Some("9")],
                true,
            ),
            (
                Coordinator,
                false,
                Person,
                json!({"key_status": "confirmed"}),
                &[None],
                true,
            ),
            (
                Coordinator,
                false,
                Run,
                json!({"date": "2026-11-29"}),
                &[],
                true,
            ),
            (
                Volunteer,
                false,
                Household,
                json!({"door": "1"}),
                &[Some("1")],
                true,
            ),
            (
                Volunteer,
                false,
                Household,
                json!({"door": "1"}),
                &[Some("2")],
                false,
            ),
            (
                Volunteer,
                false,
                Household,
                json!({"building": "2"}),
                &[Some("1"), Some("2")],
                false,
            ),
            (
                Volunteer,
                false,
                Visit,
                json!({"swab": true}),
                &[None],
                false,
            ),
            (
                Volunteer,
                false,
                Person,
                json!({"name": "王"}),
                &[Some("1")],
                true,
            ),
            (
                Volunteer,
                false,
                Person,
                json!({"key_status": "confirmed"}),
                &[Some("1")],
                false,
            ),
            (
                Volunteer,
                true,
                Person,
                json!({"key_status": "confirmed"}),
                &[Some("1")],
                true,
            ),
            (Volunteer, true, Team, json!({"name": "A"}), &[], false),
            (
                Volunteer,
                true,
                Run,
                json!({"date": "2026-11-29"}),
                &[],
                false,
            ),
            (Stall, false, Run, json!({"date": "2026-11-29"}), &[], true),
            (
                Stall,
                false,
                Household,
                json!({"door": "1"}),
                &[Some("1")],
                false,
            ),
            (
                Stall,
                false,
                Assignment,
                json!({"building": "1"}),
                &[],
                false,
            ),
        ];
        for (role, grant, collection, fields, buildings, allowed) in cases {
            let mutation = set(*collection, fields.clone());
            let got = may_write(&scope(*role, *grant), &mutation, None, buildings, 0);
            assert_eq!(
                got.is_ok(),
                *allowed,
                "{role:?} {collection:?} {fields} {got:?}"
            );
        }
    }

    #[test]
    fn other_compounds_are_refused_to_every_role() {
        let mutation = Mutation::Delete {
            collection: Collection::Run,
            id: "r1".parse().unwrap(),
            compound: "c2".parse().unwrap(),
        };
        for role in Role::ALL {
            let refusal = may_write(&scope(role, true), &mutation, None, &[], 0).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::Forbidden);
        }
    }

    /// A district official reaches no collection of any compound, even
    /// with a key-persons grant: it reads and writes nothing.
    #[test]
    fn an_official_reaches_no_record() {
        let official = scope(Role::Official, true);
        for collection in Collection::ALL {
            assert_eq!(official.reach(collection), Reach::None, "{collection:?}");
            assert!(!may_read(&official, collection, Some("1")));
            assert!(!may_read(&official, collection, None));
        }
        let refusal = may_write(
            &official,
            &set(Collection::Household, json!({"door": "1"})),
            None,
            &[Some("1")],
            0,
        )
        .unwrap_err();
        assert_eq!(refusal.code, ErrorCode::Forbidden);
        assert!(!Role::Official.in_compound());
        assert!(!Role::IN_COMPOUND.contains(&Role::Official));
    }

    #[test]
    fn reads_follow_buildings_for_volunteers_only() {
        let volunteer = scope(Role::Volunteer, false);
        assert!(may_read(&volunteer, Collection::Visit, Some("1")));
        assert!(!may_read(&volunteer, Collection::Visit, Some("2")));
        assert!(!may_read(&volunteer, Collection::Visit, None));
        assert!(may_read(&volunteer, Collection::Assignment, None));
        assert!(!may_read(&volunteer, Collection::StopEvent, None));
        let coordinator = scope(Role::Coordinator, false);
        assert!(may_read(&coordinator, Collection::Visit, None));
        let stall = scope(Role::Stall, false);
        assert!(may_read(&stall, Collection::Run, None));
        assert!(!may_read(&stall, Collection::Household, Some("1")));
    }

    #[test]
    fn redaction_drops_restricted_fields_without_the_grant() {
        let mutation = set(
            Collection::Person,
            json!({"name": "王", "key_status": "quarantined", "key_since_ms": 1}),
        );
        let hlc = Hlc::zero(crate::ids::ClientId::from_uuid(uuid::Uuid::nil()));
        let (record, _) = mutation.apply(None, &hlc).unwrap();
        let mut without = record.clone();
        scope(Role::Volunteer, false).redact(&mut without);
        assert_eq!(without.fields.keys().collect::<Vec<_>>(), ["name"]);
        let mut with = record.clone();
        scope(Role::Volunteer, true).redact(&mut with);
        assert_eq!(with, record);
    }

    /// The plan as records: `(collection, id, fields)`, where `None` fields
    /// is a deleted record.
    fn plan(rows: &[(Collection, &str, Option<serde_json::Value>)]) -> Vec<Record> {
        let hlc = Hlc::zero(crate::ids::ClientId::from_uuid(uuid::Uuid::nil()));
        rows.iter()
            .map(|(collection, id, fields)| {
                let mut mutation = set(*collection, fields.clone().unwrap_or(json!({})));
                if let Mutation::Set { id: at, .. } = &mut mutation {
                    *at = id.parse().unwrap();
                }
                let (mut record, _) = mutation.apply(None, &hlc).unwrap();
                if fields.is_none() {
                    record.deleted = Some(hlc.clone());
                }
                record
            })
            .collect()
    }

    /// plan, T1's releases (building, round, at), the buildings team T1
    /// works in now, those it no longer covers
    #[test]
    fn a_team_works_in_the_places_of_its_open_rounds() {
        use Collection::{Assignment, Round};
        type Row<'a> = (Collection, &'a str, Option<serde_json::Value>);
        let assigned = |round: &str, building: &str, team: &str| {
            Some(json!({"round": round, "building": building, "team": team}))
        };
        let unit = |round: &str, building: &str, unit: &str, team: &str| {
            Some(json!({"round": round, "building": building, "unit": unit, "team": team}))
        };
        type Released<'a> = (&'a str, &'a str, u64);
        type Case<'a> = (
            &'a [Row<'a>],
            &'a [Released<'a>],
            &'a [&'a str],
            &'a [(&'a str, u64)],
        );
        let cases: &[Case] = &[
            (&[], &[], &[], &[]),
            (
                &[
                    (Round, "R1", Some(json!({"name": "第一轮"}))),
                    (Assignment, "a1", assigned("R1", "1", "T1")),
                    (Assignment, "a2", assigned("R1", "2", "T2")),
                ],
                &[],
                &["1"],
                &[],
            ),
            // Two open rounds: both count.
            (
                &[
                    (Round, "R1", Some(json!({}))),
                    (Round, "R2", Some(json!({}))),
                    (Assignment, "a1", assigned("R1", "1", "T1")),
                    (Assignment, "a2", assigned("R2", "3", "T1")),
                ],
                &[],
                &["1", "3"],
                &[],
            ),
            // An ended round leaves only late edits; a reopened one counts.
            (
                &[
                    (Round, "R1", Some(json!({"closed_ms": 5}))),
                    (Round, "R2", Some(json!({"closed_ms": null}))),
                    (Assignment, "a1", assigned("R1", "1", "T1")),
                    (Assignment, "a2", assigned("R2", "3", "T1")),
                ],
                &[],
                &["3"],
                &[("1", 5)],
            ),
            // A building in two ended rounds: the later end.
            (
                &[
                    (Round, "R1", Some(json!({"closed_ms": 5}))),
                    (Round, "R2", Some(json!({"closed_ms": 9}))),
                    (Assignment, "a1", assigned("R2", "1", "T1")),
                    (Assignment, "a2", assigned("R1", "1", "T1")),
                ],
                &[],
                &[],
                &[("1", 9)],
            ),
            // A deleted round or assignment, an unassigned building.
            (
                &[
                    (Round, "R1", None),
                    (Round, "R2", Some(json!({}))),
                    (Assignment, "a1", assigned("R1", "1", "T1")),
                    (Assignment, "a2", None),
                    (
                        Assignment,
                        "a3",
                        Some(json!({"round": "R2", "building": "4", "team": null})),
                    ),
                ],
                &[],
                &[],
                &[],
            ),
            // An assignment whose round has not arrived yet counts.
            (
                &[(Assignment, "a1", assigned("R9", "7", "T1"))],
                &[],
                &["7"],
                &[],
            ),
            // Moved to another team in an open round: edits until then.
            (
                &[
                    (Round, "R1", Some(json!({}))),
                    (Assignment, "a1", assigned("R1", "1", "T2")),
                ],
                &[("1", "R1", 7)],
                &[],
                &[("1", 7)],
            ),
            // Moved after its round had ended: the round's end counts.
            (
                &[(Round, "R1", Some(json!({"closed_ms": 5})))],
                &[("1", "R1", 7)],
                &[],
                &[("1", 5)],
            ),
            // Moved away and back: the team holds it again.
            (
                &[
                    (Round, "R1", Some(json!({}))),
                    (Assignment, "a1", assigned("R1", "1", "T1")),
                ],
                &[("1", "R1", 7)],
                &["1"],
                &[],
            ),
            // Held in an open round and in an ended one: current only.
            (
                &[
                    (Round, "R1", Some(json!({"closed_ms": 5}))),
                    (Round, "R2", Some(json!({}))),
                    (Assignment, "a1", assigned("R1", "1", "T1")),
                    (Assignment, "a2", assigned("R2", "1", "T1")),
                ],
                &[],
                &["1"],
                &[],
            ),
            // A release in a deleted round, and one with no round known yet.
            (
                &[(Round, "R1", None)],
                &[("1", "R1", 7), ("2", "R8", 9)],
                &[],
                &[("2", 9)],
            ),
            // Issue 14, item 5: units. A unit as the roster writes it.
            (
                &[
                    (Round, "R1", Some(json!({}))),
                    (Assignment, "a1", unit("R1", "3", "1单元", "T1")),
                    (Assignment, "a2", unit("R1", "3", "2", "T2")),
                    (Assignment, "a3", unit("R1", "4", " ", "T1")),
                ],
                &[],
                &["3/1", "4"],
                &[],
            ),
            // A unit of a building held whole adds nothing.
            (
                &[
                    (Round, "R1", Some(json!({}))),
                    (Assignment, "a1", unit("R1", "3", "1", "T1")),
                    (Assignment, "a2", assigned("R1", "3", "T1")),
                ],
                &[],
                &["3"],
                &[],
            ),
            // Unit 1 went to another team, unit 2 is held; the whole
            // building's ended round still lets late edits in elsewhere.
            (
                &[
                    (Round, "R0", Some(json!({"closed_ms": 5}))),
                    (Round, "R1", Some(json!({}))),
                    (Assignment, "a0", assigned("R0", "3", "T1")),
                    (Assignment, "a1", unit("R1", "3", "1", "T2")),
                    (Assignment, "a2", unit("R1", "3", "2", "T1")),
                ],
                &[("3/1", "R1", 7)],
                &["3/2"],
                &[("3", 5), ("3/1", 7)],
            ),
            // A released unit of a building held whole again is current.
            (
                &[
                    (Round, "R1", Some(json!({}))),
                    (Assignment, "a1", assigned("R1", "3", "T1")),
                ],
                &[("3/1", "R1", 7)],
                &["3"],
                &[],
            ),
        ];
        let team: RecordId = "T1".parse().unwrap();
        for (rows, released, current, ended) in cases {
            let records = plan(rows);
            let releases: Vec<Release> = released
                .iter()
                .flat_map(|&(building, round, at_ms)| {
                    // Another team's release never counts for T1.
                    ["T1", "T2"].map(|team| Release {
                        hold: Hold {
                            team: team.to_owned(),
                            place: place(building),
                            round: Some(round.to_owned()),
                        },
                        at_ms: if team == "T1" { at_ms } else { at_ms + 100 },
                    })
                })
                .collect();
            let expected = TeamPlaces {
                current: current.iter().map(|p| place(p)).collect(),
                ended: ended.iter().map(|(p, at)| (place(p), *at)).collect(),
            };
            assert_eq!(
                team_places(&team, &records, &releases),
                expected,
                "{rows:?} {released:?}"
            );
        }
    }

    #[test]
    fn an_assignment_releases_its_team_when_it_changes_hands() {
        let before = plan(&[(
            Collection::Assignment,
            "a1",
            Some(json!({"round": "R1", "building": "1", "team": "T1"})),
        )]);
        let released = |fields: Option<serde_json::Value>| {
            let after = plan(&[(Collection::Assignment, "a1", fields)]);
            Release::between(before.first(), &after[0], 7).map(|r| (r.hold.team, r.at_ms))
        };
        let t1 = Some(("T1".to_owned(), 7));
        for (after, expected) in [
            (json!({"round": "R1", "building": "1", "team": "T2"}), &t1),
            (json!({"round": "R1", "building": "2", "team": "T1"}), &t1),
            (json!({"round": "R2", "building": "1", "team": "T1"}), &t1),
            (json!({"round": "R1", "building": "1", "team": null}), &t1),
            (
                json!({"round": "R1", "building": "1", "unit": "2", "team": "T1"}),
                &t1,
            ),
            (json!({"round": "R1", "building": "1", "team": "T1"}), &None),
        ] {
            assert_eq!(&released(Some(after.clone())), expected, "{after}");
        }
        assert_eq!(released(None), t1, "deleted");
        let fresh = &before[0];
        assert_eq!(Release::between(None, fresh, 7), None, "a new assignment");
    }

    #[test]
    fn edits_made_before_a_round_ended_are_still_accepted() {
        let mut volunteer = scope(Role::Volunteer, false);
        volunteer.ended = [("2".to_owned(), 100)].into();
        let edit = set(Collection::Household, json!({"door": "1"}));
        assert!(may_write(&volunteer, &edit, None, &[Some("2")], 100).is_ok());
        let late = may_write(&volunteer, &edit, None, &[Some("2")], 101).unwrap_err();
        assert_eq!(late.code, ErrorCode::Forbidden);
        assert!(may_write(&volunteer, &edit, None, &[Some("3")], 0).is_err());
        assert!(!may_read(&volunteer, Collection::Household, Some("2")));
    }

    /// Issue 15, item 1: a late edit in a building the team no longer
    /// holds may change what a record says, never where it lives.
    /// (collection, record now, edit, buildings before and after, allowed)
    #[test]
    fn a_late_edit_may_not_move_a_record() {
        use Collection::{Household, Person, Visit};
        let mut volunteer = scope(Role::Volunteer, false);
        volunteer.buildings = ["1".to_owned(), "3".to_owned()].into();
        volunteer.ended = [("2".to_owned(), 100)].into();
        type Case<'a> = (
            Collection,
            serde_json::Value,
            serde_json::Value,
            &'a [Option<&'a str>],
            bool,
        );
        let cases: &[Case] = &[
            // The exploit: out of the ended building into a current one.
            (
                Household,
                json!({"building": "2"}),
                json!({"building": "1"}),
                &[Some("2"), Some("1")],
                false,
            ),
            // Into the ended building, and re-parenting below it.
            (
                Household,
                json!({"building": "1"}),
                json!({"building": "2"}),
                &[Some("1"), Some("2")],
                false,
            ),
            (
                Person,
                json!({"household": "h2"}),
                json!({"household": "h1"}),
                &[Some("2"), Some("1")],
                false,
            ),
            (
                Visit,
                json!({"household": "h2"}),
                json!({"household": "h3"}),
                &[Some("2"), Some("2")],
                false,
            ),
            // Saying where it already lives is no move.
            (
                Visit,
                json!({"household": "h2"}),
                json!({"household": "h2", "outcome": "no_answer"}),
                &[Some("2"), Some("2")],
                true,
            ),
            (
                Household,
                json!({"building": "2"}),
                json!({"door": "301"}),
                &[Some("2")],
                true,
            ),
            // Between buildings the team holds now: allowed.
            (
                Household,
                json!({"building": "1"}),
                json!({"building": "3"}),
                &[Some("1"), Some("3")],
                true,
            ),
        ];
        let hlc = Hlc::zero(crate::ids::ClientId::from_uuid(uuid::Uuid::nil()));
        for (collection, now, edit, buildings, allowed) in cases {
            let (existing, _) = set(*collection, now.clone()).apply(None, &hlc).unwrap();
            let got = may_write(
                &volunteer,
                &set(*collection, edit.clone()),
                Some(&existing),
                buildings,
                50,
            );
            assert_eq!(
                got.is_ok(),
                *allowed,
                "{collection:?} {now} → {edit}: {got:?}"
            );
        }
    }

    /// Issue 15, item 4: a delete carries no fields, so what it erases is
    /// what the record holds.
    #[test]
    fn deleting_a_key_person_needs_the_grant() {
        let hlc = Hlc::zero(crate::ids::ClientId::from_uuid(uuid::Uuid::nil()));
        let person = |fields| set(Collection::Person, fields).apply(None, &hlc).unwrap().0;
        let key = person(json!({"household": "h1", "name": "王", "key_status": "home_isolation"}));
        let cleared = person(json!({"household": "h1", "name": "王", "key_status": null}));
        let cared = person(json!({"household": "h1", "name": "王", "care": "elderly_alone"}));
        let delete = Mutation::Delete {
            collection: Collection::Person,
            id: "r1".parse().unwrap(),
            compound: "c1".parse().unwrap(),
        };
        let at = [Some("1")];
        for (record, grant, allowed) in [
            (&key, false, false),
            (&key, true, true),
            (&cleared, false, true),
            (&cared, false, true),
        ] {
            let got = may_write(
                &scope(Role::Volunteer, grant),
                &delete,
                Some(record),
                &at,
                0,
            );
            assert_eq!(got.is_ok(), allowed, "{record:?} grant {grant}: {got:?}");
        }
        let coordinator = scope(Role::Coordinator, false);
        assert!(may_write(&coordinator, &delete, Some(&key), &[], 0).is_ok());
    }

    /// Issue 14, item 5: a team holding a unit (单元) reaches that unit's
    /// households, a team holding the building reaches all of them.
    /// (held whole, held units, household's place, covered)
    #[test]
    fn a_unit_is_covered_by_its_building_or_itself() {
        type Case<'a> = (&'a [&'a str], &'a [&'a str], Option<&'a str>, bool);
        let cases: &[Case] = &[
            (&["3"], &[], Some("3"), true),
            (&["3"], &[], Some("3/2"), true),
            (&[], &["3/1"], Some("3/1"), true),
            (&[], &["3/1"], Some("3/2"), false),
            // A household naming no unit is not in any unit.
            (&[], &["3/1"], Some("3"), false),
            (&[], &["3/1"], Some("4/1"), false),
            (&[], &["3/1"], Some("3/1单元"), true),
            (&[], &["3/1"], Some("3/１"), true),
            (&[], &["3/1"], None, false),
        ];
        for (whole, units, at, covered) in cases {
            let mut volunteer = scope(Role::Volunteer, false);
            volunteer.hold(TeamPlaces {
                current: whole.iter().chain(*units).map(|p| place(p)).collect(),
                ended: Default::default(),
            });
            assert_eq!(
                may_read(&volunteer, Collection::Visit, *at),
                *covered,
                "{whole:?} {units:?} {at:?}"
            );
            let edit = set(Collection::Visit, json!({"outcome": "visited"}));
            assert_eq!(
                may_write(&volunteer, &edit, None, &[*at], 0).is_ok(),
                *covered,
                "{whole:?} {units:?} {at:?}"
            );
        }
    }

    /// A team holding unit 1 now and unit 2 until 100: late edits in unit
    /// 2 land, moving a household between units does not, nor does moving
    /// one out of the held unit.
    /// (record now, edit, places before and after, made at, allowed)
    #[test]
    fn a_late_edit_may_not_move_a_household_to_another_unit() {
        use Collection::{Household, Visit};
        let mut volunteer = scope(Role::Volunteer, false);
        volunteer.hold(TeamPlaces {
            current: [place("3/1")].into(),
            ended: [(place("3/2"), 100)].into(),
        });
        type Case<'a> = (
            Collection,
            serde_json::Value,
            serde_json::Value,
            &'a [Option<&'a str>],
            u64,
            bool,
        );
        let cases: &[Case] = &[
            (
                Household,
                json!({"building": "3", "unit": "2"}),
                json!({"head": "王"}),
                &[Some("3/2")],
                100,
                true,
            ),
            (
                Household,
                json!({"building": "3", "unit": "2"}),
                json!({"head": "王"}),
                &[Some("3/2")],
                101,
                false,
            ),
            (
                Visit,
                json!({"household": "h2"}),
                json!({"outcome": "visited"}),
                &[Some("3/2")],
                50,
                true,
            ),
            // Out of the ended unit into the held one.
            (
                Household,
                json!({"building": "3", "unit": "2"}),
                json!({"unit": "1"}),
                &[Some("3/2"), Some("3/1")],
                50,
                false,
            ),
            // Out of the held unit into the ended one.
            (
                Household,
                json!({"building": "3", "unit": "1"}),
                json!({"unit": "2"}),
                &[Some("3/1"), Some("3/2")],
                50,
                false,
            ),
            // Out of the held unit to one never held.
            (
                Household,
                json!({"building": "3", "unit": "1"}),
                json!({"unit": "3"}),
                &[Some("3/1"), Some("3/3")],
                500,
                false,
            ),
            // Into the held unit, from a unit never held.
            (
                Household,
                json!({"building": "3", "unit": "3"}),
                json!({"unit": "1"}),
                &[Some("3/3"), Some("3/1")],
                500,
                false,
            ),
            // Within the held unit.
            (
                Household,
                json!({"building": "3", "unit": "1"}),
                json!({"door": "302"}),
                &[Some("3/1")],
                500,
                true,
            ),
        ];
        let hlc = Hlc::zero(crate::ids::ClientId::from_uuid(uuid::Uuid::nil()));
        for (collection, now, edit, places, at, allowed) in cases {
            let (existing, _) = set(*collection, now.clone()).apply(None, &hlc).unwrap();
            let got = may_write(
                &volunteer,
                &set(*collection, edit.clone()),
                Some(&existing),
                places,
                *at,
            );
            assert_eq!(
                got.is_ok(),
                *allowed,
                "{collection:?} {now} → {edit} at {at}: {got:?}"
            );
        }
    }

    #[test]
    fn every_collection_has_one_area_and_parents_end_at_households() {
        for collection in Collection::ALL {
            let mut at = collection;
            let mut steps = 0;
            while let Some((field, up)) = parent(at) {
                assert_eq!(field.collection, at, "{}", field.name);
                at = up;
                steps += 1;
                assert!(steps < 4);
            }
            if Area::of(collection) == Area::Household {
                assert_eq!(at, Collection::Household, "{}", collection.name());
            }
        }
    }

    /// Issue 16, item 2: a home-visit team records results of the entries
    /// dispatched to it, and nothing else of them; other volunteers and
    /// teams record none. (scope's entries, edit, made at, allowed)
    #[test]
    fn a_home_visit_team_records_only_its_own_results() {
        let mut team = scope(Role::Volunteer, false);
        team.buildings.clear();
        team.dispatch(Dispatched {
            current: [("r1".to_owned(), "h9".to_owned())].into(),
            ended: Default::default(),
        });
        let mut late = scope(Role::Volunteer, false);
        late.dispatch(Dispatched {
            current: Default::default(),
            ended: [("r1".to_owned(), 100)].into(),
        });
        // `scope` covers building 1: the entry's household is there, yet a
        // door-knock team may not record it.
        let door_knock = scope(Role::Volunteer, false);
        let coordinator = scope(Role::Coordinator, false);
        let result = set(
            Collection::HomeVisit,
            json!({"result": "tested", "tube_no": "A7", "at_ms": 5}),
        );
        let retarget = set(Collection::HomeVisit, json!({"team": "t2"}));
        let rehouse = set(
            Collection::HomeVisit,
            json!({"household": "h1", "result": "refused"}),
        );
        let delete = Mutation::Delete {
            collection: Collection::HomeVisit,
            id: "r1".parse().unwrap(),
            compound: "c1".parse().unwrap(),
        };
        let cases: &[(&Scope, &Mutation, u64, bool)] = &[
            (&team, &result, 5, true),
            (&team, &retarget, 5, false),
            (&team, &rehouse, 5, false),
            (&team, &delete, 5, false),
            (&late, &result, 100, true),
            (&late, &result, 101, false),
            (&door_knock, &result, 5, false),
            (&coordinator, &retarget, 5, true),
            (&coordinator, &delete, 5, true),
        ];
        for (scope, mutation, at, allowed) in cases {
            let got = may_write(scope, mutation, None, &[Some("1")], *at);
            assert_eq!(got.is_ok(), *allowed, "{mutation:?} at {at}: {got:?}");
        }
        assert!(Scope::reads_dispatched(Collection::Person));
        assert!(!Scope::reads_dispatched(Collection::Visit));
        assert!(!Scope::reads_dispatched(Collection::HomeVisit));
    }

    /// A home-visit team resolves the need it came for in a household
    /// dispatched to it, outside its buildings; other households' needs,
    /// and other collections there, stay out of reach.
    #[test]
    fn a_home_visit_team_steps_the_needs_of_its_households() {
        let mut team = scope(Role::Volunteer, false);
        team.buildings.clear();
        team.dispatch(Dispatched {
            current: [("hv1".to_owned(), "h9".to_owned())].into(),
            ended: Default::default(),
        });
        let step = Mutation::Append {
            collection: Collection::NeedEvent,
            id: "e1".parse().unwrap(),
            compound: "c1".parse().unwrap(),
            fields: [("need".to_owned(), json!("n1"))].into(),
        };
        let person = set(Collection::Person, json!({"name": "张三"}));
        let building_5 = [Some(place("5"))];
        let at = [building_5[0].as_ref()];
        let cases: &[(&Mutation, Option<&str>, bool)] = &[
            (&step, Some("h9"), true),
            (&step, Some("h1"), false),
            (&step, None, false),
            (&person, Some("h9"), false),
        ];
        for (mutation, household, allowed) in cases {
            let got = team.may_write(mutation, None, &at, *household, 5);
            assert_eq!(
                got.is_ok(),
                *allowed,
                "{mutation:?} in {household:?}: {got:?}"
            );
        }
        assert!(team.writes_by_dispatch(Collection::NeedEvent));
        assert!(!team.writes_by_dispatch(Collection::Person));
        assert!(!scope(Role::Volunteer, false).writes_by_dispatch(Collection::NeedEvent));
    }

    /// Marking a request spam is the coordinator's decision.
    #[test]
    fn only_a_coordinator_sets_a_coordinators_field() {
        let spam = set(Collection::Need, json!({"spam": true}));
        let words = set(Collection::Need, json!({"description": "药"}));
        let volunteer = scope(Role::Volunteer, true);
        let refused = may_write(&volunteer, &spam, None, &[Some("1")], 0).unwrap_err();
        assert!(refused.message.contains("need.spam"), "{refused:?}");
        assert!(may_write(&volunteer, &words, None, &[Some("1")], 0).is_ok());
        assert!(may_write(&scope(Role::Coordinator, false), &spam, None, &[], 0).is_ok());
    }
}
