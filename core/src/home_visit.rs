//! Home-visit dispatch (上门专班, "三上门"): which households need someone
//! at the door in a round (people on the care ledger who cannot go out, and
//! open needs asking for a home test or a medical visit), the `home_visit`
//! entries that send a home-visit team to them and keep what it found, the
//! order a team walks its list in (building, unit, floor), which entries a
//! team's phone holds, and how many home tests they count. Pure: the phone
//! and the server read the same rules.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    access::{Place, round_ended_at},
    ids::RecordId,
    need::{Category, NeedState, Status, steps_by_need},
    record::Record,
    schema::{Collection, Field, home_visit, household, need, person},
};

/// What a home-visit team found at the door.
pub const RESULTS: &[&str] = &["tested", "not_home", "refused"];

/// The need categories that ask for someone at the door.
pub const NEED_CATEGORIES: &[Category] = &[Category::HomeTest, Category::MedicalVisit];

/// The fields of an entry a home-visit team records; the others (round,
/// household, subject, team) are the coordinator's dispatch.
pub const RESULT_FIELDS: &[Field] = &[home_visit::RESULT, home_visit::TUBE_NO, home_visit::AT_MS];

/// What a home-visit team found at the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A swab was taken (上门核酸): counted as a home test.
    Tested,
    NotHome,
    Refused,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Tested, Outcome::NotHome, Outcome::Refused];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Tested => "tested",
            Outcome::NotHome => "not_home",
            Outcome::Refused => "refused",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// Why a household is on the list: a homebound person, or a need.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Person(RecordId),
    Need(RecordId),
}

impl Subject {
    /// The field of a `home_visit` entry naming it, and the id.
    pub fn field(&self) -> (Field, &RecordId) {
        match self {
            Subject::Person(id) => (home_visit::PERSON, id),
            Subject::Need(id) => (home_visit::NEED, id),
        }
    }

    /// Where the need stands in `statuses`; `None` for a person.
    fn need_status(&self, statuses: &BTreeMap<RecordId, Option<Status>>) -> Option<Status> {
        match self {
            Subject::Person(_) => None,
            Subject::Need(id) => statuses.get(id).copied().flatten(),
        }
    }

    fn of(entry: &Record) -> Option<Self> {
        entry
            .reference(home_visit::PERSON)
            .map(Subject::Person)
            .or_else(|| entry.reference(home_visit::NEED).map(Subject::Need))
    }
}

/// A text field's value, trimmed; `None` when unset or blank.
fn text(record: &Record, field: Field) -> Option<&str> {
    record.text(field).map(str::trim).filter(|v| !v.is_empty())
}

fn live(records: &[Record], collection: Collection) -> impl Iterator<Item = &Record> {
    records
        .iter()
        .filter(move |r| r.collection == collection && !r.is_deleted())
}

/// Where each need with steps stands, its steps folded once for a list.
fn need_statuses(records: &[Record]) -> BTreeMap<RecordId, Option<Status>> {
    steps_by_need(records)
        .into_iter()
        .map(|(need, steps)| (need, NeedState::fold(steps).status))
        .collect()
}

/// The households that need someone at the door: each homebound person on
/// the care ledger, and each open need (by `statuses`, its steps' fold)
/// asking for a home test or medical visit that is not spam, with the
/// household it is in.
fn candidates(
    records: &[Record],
    statuses: &BTreeMap<RecordId, Option<Status>>,
) -> Vec<(Subject, RecordId)> {
    let household = |r: &Record, field| text(r, field).and_then(|h| h.parse().ok());
    let people = live(records, Collection::Person)
        .filter(|p| text(p, person::CARE).is_some())
        .filter(|p| p.flag(person::HOMEBOUND) == Some(true))
        .filter_map(|p| {
            Some((
                Subject::Person(p.id.clone()),
                household(p, person::HOUSEHOLD)?,
            ))
        });
    let needs = live(records, Collection::Need)
        .filter(|n| {
            n.choice(need::CATEGORY)
                .is_some_and(|c| NEED_CATEGORIES.contains(&c))
        })
        .filter(|n| !crate::help::is_spam(n))
        .filter(|n| {
            let status = statuses.get(&n.id).copied().flatten();
            !status.is_some_and(Status::is_resolved)
        })
        .filter_map(|n| Some((Subject::Need(n.id.clone()), household(n, need::HOUSEHOLD)?)));
    people.chain(needs).collect()
}

/// A `home_visit` entry as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    pub id: RecordId,
    pub round: Option<RecordId>,
    pub household: Option<RecordId>,
    pub subject: Option<Subject>,
    pub team: Option<RecordId>,
    pub result: Option<Outcome>,
    pub tube_no: Option<String>,
    pub at_ms: Option<u64>,
}

impl Dispatch {
    pub fn of(entry: &Record) -> Self {
        let id = |field| text(entry, field).and_then(|v| v.parse().ok());
        Self {
            id: entry.id.clone(),
            round: id(home_visit::ROUND),
            household: id(home_visit::HOUSEHOLD),
            subject: Subject::of(entry),
            team: id(home_visit::TEAM),
            result: text(entry, home_visit::RESULT).and_then(Outcome::from_name),
            tube_no: text(entry, home_visit::TUBE_NO).map(str::to_owned),
            at_ms: entry.ms(home_visit::AT_MS),
        }
    }
}

/// One line of a round's list: who, where, and the entry sending a team
/// (none yet: not dispatched).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub subject: Subject,
    /// Where a need stands (its steps folded); `None` for a person, or a
    /// need with no steps.
    pub need_status: Option<Status>,
    pub household: RecordId,
    pub place: Option<Place>,
    pub door: Option<String>,
    pub dispatch: Option<Dispatch>,
}

impl Entry {
    pub fn floor(&self) -> Option<u32> {
        self.door.as_deref().and_then(floor)
    }
}

/// The floor a door number names: its last run of digits without the last
/// two ("702" → 7, "1203" → 12, "3-702室" → 7); `None` for a door too
/// short to carry one ("12", "甲").
pub fn floor(door: &str) -> Option<u32> {
    let digits: Vec<u32> = door
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .rsplit(|c: char| !c.is_ascii_digit())
        .find(|run| !run.is_empty())?
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    if digits.len() < 3 {
        return None;
    }
    let floor = digits[..digits.len() - 2]
        .iter()
        .try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(*d))?;
    (floor > 0).then_some(floor)
}

/// Text ordered as people count: a leading number by its value ("2" before
/// "10"), then the rest; text without one after all numbers.
fn natural(text: &str) -> (u64, String) {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let number = digits.parse().unwrap_or(u64::MAX);
    (number, text[digits.len()..].to_owned())
}

/// The order a team walks in: building, unit, floor (doors without one
/// last), door. Households with no building come last.
pub fn walk_key(place: Option<&Place>, door: Option<&str>) -> impl Ord + use<> {
    let door = door.unwrap_or_default();
    let floor = floor(door);
    (
        place.is_none(),
        place.map(|p| natural(&p.building)),
        place.map(|p| p.unit.as_deref().map(natural)),
        floor.is_none(),
        floor,
        natural(door),
    )
}

fn sort(entries: &mut [Entry]) {
    entries.sort_by_cached_key(|e| {
        (
            walk_key(e.place.as_ref(), e.door.as_deref()),
            e.subject.clone(),
        )
    });
}

/// The entries of a round as a replica holds them, one per subject: where
/// two phones dispatched the same subject at once, the entry edited last.
fn round_dispatches(records: &[Record], round: &RecordId) -> BTreeMap<Subject, Dispatch> {
    let mut latest: BTreeMap<Subject, (&Record, Dispatch)> = BTreeMap::new();
    for record in live(records, Collection::HomeVisit) {
        let dispatch = Dispatch::of(record);
        let (Some(subject), true) = (
            dispatch.subject.clone(),
            dispatch.round.as_ref() == Some(round),
        ) else {
            continue;
        };
        let newer = latest.get(&subject).is_none_or(|(kept, _)| {
            (record.latest_hlc(), &record.id) > (kept.latest_hlc(), &kept.id)
        });
        if newer {
            latest.insert(subject, (record, dispatch));
        }
    }
    latest.into_iter().map(|(s, (_, d))| (s, d)).collect()
}

fn placed(records: &[Record]) -> BTreeMap<&RecordId, (Option<Place>, Option<String>)> {
    live(records, Collection::Household)
        .map(|h| {
            (
                &h.id,
                (
                    Place::of_household(h),
                    text(h, household::DOOR).map(str::to_owned),
                ),
            )
        })
        .collect()
}

/// A round's home-visit list (the coordinator's): every household that
/// needs someone at the door now, and every entry already dispatched in the
/// round (kept when its need was resolved since), in walking order.
pub fn round_list(records: &[Record], round: &RecordId) -> Vec<Entry> {
    let mut dispatches = round_dispatches(records, round);
    let homes = placed(records);
    let statuses = need_statuses(records);
    let entry = |subject: Subject, household: RecordId, dispatch: Option<Dispatch>| {
        let (place, door) = homes.get(&household).cloned().unwrap_or_default();
        Entry {
            need_status: subject.need_status(&statuses),
            subject,
            household,
            place,
            door,
            dispatch,
        }
    };
    let mut entries: Vec<Entry> = candidates(records, &statuses)
        .into_iter()
        .map(|(subject, household)| {
            let dispatch = dispatches.remove(&subject);
            entry(subject, household, dispatch)
        })
        .collect();
    entries.extend(dispatches.into_iter().filter_map(|(subject, dispatch)| {
        let household = dispatch.household.clone()?;
        Some(entry(subject, household, Some(dispatch)))
    }));
    sort(&mut entries);
    entries
}

/// Whether a round counts as under way for dispatch: not ended, not
/// deleted; a round the replica does not hold yet counts as under way.
fn rounds_under_way(records: &[Record]) -> (BTreeSet<&RecordId>, BTreeMap<&RecordId, u64>) {
    let mut gone = BTreeSet::new();
    let mut ended = BTreeMap::new();
    for round in records.iter().filter(|r| r.collection == Collection::Round) {
        match (round.is_deleted(), round_ended_at(round)) {
            (true, _) => {
                gone.insert(&round.id);
            }
            (false, Some(at)) => {
                ended.insert(&round.id, at);
            }
            (false, None) => {}
        }
    }
    (gone, ended)
}

/// A home-visit team's list on its phone: the entries dispatched to it in
/// rounds under way, in walking order.
pub fn team_list(records: &[Record], team: &RecordId) -> Vec<Entry> {
    let homes = placed(records);
    let statuses = need_statuses(records);
    let (gone, ended) = rounds_under_way(records);
    let mut entries: Vec<Entry> = live(records, Collection::HomeVisit)
        .map(Dispatch::of)
        .filter(|d| d.team.as_ref() == Some(team))
        .filter(|d| {
            d.round
                .as_ref()
                .is_none_or(|r| !gone.contains(r) && !ended.contains_key(r))
        })
        .filter_map(|d| {
            let household = d.household.clone()?;
            let (place, door) = homes.get(&household).cloned().unwrap_or_default();
            let subject = d.subject.clone()?;
            Some(Entry {
                need_status: subject.need_status(&statuses),
                subject,
                household,
                place,
                door,
                dispatch: Some(d),
            })
        })
        .collect();
    sort(&mut entries);
    entries
}

/// The entries dispatched to a team, as its scope holds them: those of
/// rounds under way (entry id → household id), which its phone reads and
/// records results for, and those whose round ended (entry id → when), for
/// which a result recorded before then still lands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dispatched {
    pub current: BTreeMap<String, String>,
    pub ended: BTreeMap<String, u64>,
}

/// What is dispatched to `team` among `records` (any collections; rounds
/// and home visits are read).
pub fn dispatched_to<'a>(
    team: &RecordId,
    records: impl IntoIterator<Item = &'a Record>,
) -> Dispatched {
    let records: Vec<&Record> = records
        .into_iter()
        .filter(|r| matches!(r.collection, Collection::Round | Collection::HomeVisit))
        .collect();
    let rounds: Vec<Record> = records
        .iter()
        .filter(|r| r.collection == Collection::Round)
        .map(|r| (*r).clone())
        .collect();
    let (gone, ended) = rounds_under_way(&rounds);
    let mut dispatched = Dispatched::default();
    for entry in records
        .iter()
        .filter(|r| r.collection == Collection::HomeVisit && !r.is_deleted())
    {
        let d = Dispatch::of(entry);
        let (true, Some(household)) = (d.team.as_ref() == Some(team), d.household) else {
            continue;
        };
        match d.round.as_ref() {
            Some(round) if gone.contains(round) => {}
            Some(round) if ended.contains_key(round) => {
                dispatched.ended.insert(d.id.to_string(), ended[round]);
            }
            _ => {
                dispatched
                    .current
                    .insert(d.id.to_string(), household.to_string());
            }
        }
    }
    dispatched
}

/// Why a home visit's result cannot be recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultError {
    /// A swab was taken: its tube number is needed to match the lab's result.
    TestedNeedsTube,
}

impl std::fmt::Display for ResultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResultError::TestedNeedsTube => f.write_str("a home test needs its tube number"),
        }
    }
}

/// The rule an entry's state must meet (the phone before it saves, the
/// server on what a push leaves).
pub fn check(entry: &Record) -> Result<(), ResultError> {
    let tested =
        text(entry, home_visit::RESULT).and_then(Outcome::from_name) == Some(Outcome::Tested);
    if tested && text(entry, home_visit::TUBE_NO).is_none() {
        return Err(ResultError::TestedNeedsTube);
    }
    Ok(())
}

/// Home tests a home-visit team took: entries with result tested.
pub fn tests_taken(records: &[Record]) -> impl Iterator<Item = &Record> {
    live(records, Collection::HomeVisit).filter(|r| {
        text(r, home_visit::RESULT).and_then(Outcome::from_name) == Some(Outcome::Tested)
    })
}

/// When a test was taken: the time the team recorded, else the time of the
/// edit that set the result.
pub fn tested_at(entry: &Record) -> Option<u64> {
    entry.ms(home_visit::AT_MS).or_else(|| {
        entry
            .fields
            .get(home_visit::RESULT.name)
            .map(|f| f.hlc.wall_ms)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::fixtures::record;

    fn id(text: &str) -> RecordId {
        text.parse().unwrap()
    }

    #[test]
    fn floors_from_door_numbers() {
        for (door, expected) in [
            ("702", Some(7)),
            ("1203", Some(12)),
            ("0702", Some(7)),
            ("3-702室", Some(7)),
            ("７０２", Some(7)),
            ("101", Some(1)),
            ("12", None),
            ("甲", None),
            ("", None),
            ("002", None),
        ] {
            assert_eq!(floor(door), expected, "{door}");
        }
    }

    /// (subject records, on the list)
    #[test]
    fn the_list_holds_homebound_care_people_and_open_door_needs() {
        let cases: Vec<(Vec<Record>, &[&str])> = vec![
            (
                vec![record(
                    "person",
                    "p1",
                    json!({"household": "h1", "care": "disabled", "homebound": true}),
                    1,
                )],
                &["p1"],
            ),
            // Not homebound, or not on the care ledger.
            (
                vec![
                    record(
                        "person",
                        "p1",
                        json!({"household": "h1", "care": "disabled"}),
                        1,
                    ),
                    record(
                        "person",
                        "p2",
                        json!({"household": "h1", "name": "王", "homebound": true}),
                        1,
                    ),
                    record(
                        "person",
                        "p3",
                        json!({"household": "h1", "care": "chronic", "homebound": false}),
                        1,
                    ),
                ],
                &[],
            ),
            (
                vec![
                    record(
                        "need",
                        "n1",
                        json!({"household": "h1", "category": "home_test"}),
                        1,
                    ),
                    record(
                        "need",
                        "n2",
                        json!({"household": "h1", "category": "medical_visit"}),
                        1,
                    ),
                    record(
                        "need",
                        "n3",
                        json!({"household": "h1", "category": "food"}),
                        1,
                    ),
                    // Marked spam, or resolved: nobody goes.
                    record(
                        "need",
                        "n4",
                        json!({"household": "h1", "category": "home_test", "spam": true}),
                        1,
                    ),
                    record(
                        "need",
                        "n5",
                        json!({"household": "h1", "category": "home_test"}),
                        1,
                    ),
                    record(
                        "need_event",
                        "e1",
                        json!({"need": "n5", "step": "collected", "at_ms": 1}),
                        1,
                    ),
                    record(
                        "need_event",
                        "e2",
                        json!({"need": "n5", "step": "assigned", "team": "t1", "due_ms": 9, "at_ms": 2}),
                        2,
                    ),
                    record(
                        "need_event",
                        "e4",
                        json!({"need": "n5", "step": "resolved", "note": "做了", "at_ms": 3}),
                        3,
                    ),
                    // Open again.
                    record(
                        "need",
                        "n6",
                        json!({"household": "h1", "category": "home_test"}),
                        1,
                    ),
                    record(
                        "need_event",
                        "e3",
                        json!({"need": "n6", "step": "collected", "at_ms": 1}),
                        1,
                    ),
                ],
                &["n1", "n2", "n6"],
            ),
        ];
        for (records, expected) in cases {
            let got: Vec<String> = candidates(&records, &need_statuses(&records))
                .into_iter()
                .map(|(s, _)| s.field().1.to_string())
                .collect();
            assert_eq!(got, *expected, "{records:?}");
        }
    }

    #[test]
    fn a_round_list_walks_building_unit_floor() {
        let home = |id: &str, building: &str, unit: &str, door: &str| {
            record(
                "household",
                id,
                json!({"building": building, "unit": unit, "door": door}),
                1,
            )
        };
        let person = |id: &str, household: &str| {
            record(
                "person",
                id,
                json!({"household": household, "care": "elderly_alone", "homebound": true}),
                1,
            )
        };
        let mut records = vec![
            home("h1", "10", "1", "101"),
            home("h2", "2", "2", "301"),
            home("h3", "2", "1", "1202"),
            home("h4", "2", "1", "702"),
            home("h5", "2", "1", "12"),
            home("h6", "2", "1", "203"),
        ];
        for n in 1..=6 {
            records.push(person(&format!("p{n}"), &format!("h{n}")));
        }
        // h2's person was dispatched in round r1; another round's entry
        // does not show.
        records.push(record(
            "home_visit",
            "v1",
            json!({"round": "r1", "household": "h2", "person": "p2", "team": "t1"}),
            5,
        ));
        records.push(record(
            "home_visit",
            "v2",
            json!({"round": "r2", "household": "h3", "person": "p3", "team": "t1"}),
            5,
        ));
        let list = round_list(&records, &id("r1"));
        let doors: Vec<&str> = list.iter().map(|e| e.door.as_deref().unwrap()).collect();
        assert_eq!(doors, ["203", "702", "1202", "12", "301", "101"]);
        let dispatched: Vec<Option<&str>> = list
            .iter()
            .map(|e| e.dispatch.as_ref().map(|d| d.id.as_str()))
            .collect();
        assert_eq!(dispatched, [None, None, None, None, Some("v1"), None]);
    }

    #[test]
    fn a_dispatched_entry_stays_on_its_round_when_its_need_is_resolved() {
        let step = |id: &str, fields: Value, at| {
            let mut all = json!({"need": "n1", "at_ms": at});
            all.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            record("need_event", id, all, at)
        };
        let records = vec![
            record(
                "household",
                "h1",
                json!({"building": "3", "door": "702"}),
                1,
            ),
            record(
                "need",
                "n1",
                json!({"household": "h1", "category": "home_test"}),
                1,
            ),
            step("e1", json!({"step": "collected"}), 1),
            step(
                "e2",
                json!({"step": "assigned", "team": "t1", "due_ms": 9}),
                2,
            ),
            step("e3", json!({"step": "resolved", "note": "测了"}), 3),
            record(
                "home_visit",
                "v1",
                json!({"round": "r1", "household": "h1", "need": "n1", "team": "t1",
                       "result": "tested", "tube_no": "A1"}),
                2,
            ),
        ];
        assert!(candidates(&records, &need_statuses(&records)).is_empty());
        let list = round_list(&records, &id("r1"));
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].dispatch.as_ref().and_then(|d| d.result),
            Some(Outcome::Tested)
        );
        assert_eq!(list[0].floor(), Some(7));
        assert_eq!(list[0].need_status, Some(Status::Resolved));
    }

    #[test]
    fn two_dispatches_of_one_subject_read_as_the_last_edited() {
        let records = vec![
            record(
                "person",
                "p1",
                json!({"household": "h1", "care": "disabled", "homebound": true}),
                1,
            ),
            record(
                "home_visit",
                "va",
                json!({"round": "r1", "household": "h1", "person": "p1", "team": "t1"}),
                9,
            ),
            record(
                "home_visit",
                "vb",
                json!({"round": "r1", "household": "h1", "person": "p1", "team": "t2"}),
                5,
            ),
        ];
        let list = round_list(&records, &id("r1"));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].dispatch.as_ref().map(|d| d.id.as_str()), Some("va"));
    }

    /// A team's phone holds the entries sent to it in rounds under way;
    /// those of an ended round only for late results.
    #[test]
    fn what_is_dispatched_to_a_team() {
        let records = vec![
            record("round", "r1", json!({"name": "一"}), 1),
            record("round", "r2", json!({"name": "二", "closed_ms": 50}), 1),
            record(
                "home_visit",
                "v1",
                json!({"round": "r1", "household": "h1", "person": "p1", "team": "t1"}),
                2,
            ),
            record(
                "home_visit",
                "v2",
                json!({"round": "r2", "household": "h2", "person": "p2", "team": "t1"}),
                2,
            ),
            record(
                "home_visit",
                "v3",
                json!({"round": "r1", "household": "h3", "need": "n3", "team": "t2"}),
                2,
            ),
            // A round not yet synced counts as under way.
            record(
                "home_visit",
                "v4",
                json!({"round": "r9", "household": "h4", "need": "n4", "team": "t1"}),
                2,
            ),
            record(
                "household",
                "h1",
                json!({"building": "1", "door": "501"}),
                1,
            ),
            record(
                "household",
                "h4",
                json!({"building": "1", "door": "201"}),
                1,
            ),
        ];
        let got = dispatched_to(&id("t1"), &records);
        assert_eq!(
            got,
            Dispatched {
                current: [
                    ("v1".to_owned(), "h1".to_owned()),
                    ("v4".to_owned(), "h4".to_owned())
                ]
                .into(),
                ended: [("v2".to_owned(), 50)].into(),
            }
        );
        let walk: Vec<String> = team_list(&records, &id("t1"))
            .into_iter()
            .map(|e| e.household.to_string())
            .collect();
        assert_eq!(walk, ["h4", "h1"]);
    }

    #[test]
    fn only_tested_entries_count_as_home_tests() {
        let records = vec![
            record(
                "home_visit",
                "v1",
                json!({"household": "h1", "result": "tested", "tube_no": "A1", "at_ms": 7}),
                9,
            ),
            record(
                "home_visit",
                "v2",
                json!({"household": "h1", "result": "not_home"}),
                9,
            ),
            record("home_visit", "v3", json!({"household": "h1"}), 9),
        ];
        let tested: Vec<&Record> = tests_taken(&records).collect();
        assert_eq!(tested.len(), 1);
        assert_eq!(tested_at(tested[0]), Some(7));
    }
}
