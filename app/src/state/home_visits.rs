//! Home-visit dispatch (上门专班) as its page shows it: a round's list with
//! the home-visit team each household is sent to (the coordinator's), a
//! team's own list in walking order (its phone's), and the edits that
//! dispatch, flag a team, and record a result. Who is on the list, and the
//! order, are core's rules (`doorstep_core::home_visit`).

use std::collections::BTreeMap;

use doorstep_core::{
    home_visit::{self, Entry, Outcome, ResultError, Subject},
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    need::Status,
    record::Record,
    schema::{self, Collection, Field, household, need, person, team},
};
use serde_json::{Value, json};

use super::{
    needs::{draft, step_entry},
    replica::Replica,
    visits::short_id,
};

/// Why a household is on the list, as a row names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// A homebound person on the care ledger: name and care group.
    Person { name: String, care: Option<String> },
    /// A need asking for a home test or medical visit: category, words,
    /// and where its lifecycle stands.
    Need {
        category: String,
        description: String,
        status: Option<Status>,
    },
}

/// One line of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub entry: Entry,
    pub why: Why,
    /// The household's head, as the registry names them.
    pub head: String,
}

impl Row {
    /// The entry's id, once dispatched.
    pub fn dispatched(&self) -> Option<&RecordId> {
        self.entry.dispatch.as_ref().map(|d| &d.id)
    }

    pub fn team(&self) -> Option<&RecordId> {
        self.entry.dispatch.as_ref().and_then(|d| d.team.as_ref())
    }

    pub fn result(&self) -> Option<Outcome> {
        self.entry.dispatch.as_ref().and_then(|d| d.result)
    }

    pub fn tube_no(&self) -> Option<&str> {
        self.entry
            .dispatch
            .as_ref()
            .and_then(|d| d.tube_no.as_deref())
    }

    /// A stable key for the row (its subject), for tests and the page.
    pub fn key(&self) -> String {
        self.entry.subject.field().1.to_string()
    }
}

/// The records core's list rules read.
fn records(replica: &Replica) -> Vec<Record> {
    [
        Collection::Household,
        Collection::Person,
        Collection::Need,
        Collection::NeedEvent,
        Collection::HomeVisit,
        Collection::Round,
    ]
    .into_iter()
    .flat_map(|c| replica.all(c))
    .collect()
}

fn text(record: Option<&Record>, field: Field) -> String {
    record
        .and_then(|r| r.text(field))
        .unwrap_or_default()
        .to_owned()
}

fn row(replica: &Replica, entry: Entry) -> Row {
    let why = match &entry.subject {
        Subject::Person(id) => {
            let record = replica.record(Collection::Person, id);
            let care = text(record, person::CARE);
            Why::Person {
                name: text(record, person::NAME),
                care: (!care.is_empty()).then_some(care),
            }
        }
        Subject::Need(id) => {
            let record = replica.record(Collection::Need, id);
            Why::Need {
                category: text(record, need::CATEGORY),
                description: text(record, need::DESCRIPTION),
                status: entry.need_status,
            }
        }
    };
    let head = text(
        replica.record(Collection::Household, &entry.household),
        household::HEAD,
    );
    Row { entry, why, head }
}

/// A round's list, for the coordinator: everyone who needs a visit, and
/// every entry already dispatched in the round.
pub fn round_rows(replica: &Replica, round: &RecordId) -> Vec<Row> {
    home_visit::round_list(&records(replica), round)
        .into_iter()
        .map(|e| row(replica, e))
        .collect()
}

/// A home-visit team's list on its phone, in walking order.
pub fn team_rows(replica: &Replica, team: &RecordId) -> Vec<Row> {
    home_visit::team_list(&records(replica), team)
        .into_iter()
        .map(|e| row(replica, e))
        .collect()
}

/// The teams flagged as home-visit teams, as (id, name), oldest first.
pub fn home_visit_teams(replica: &Replica) -> Vec<(RecordId, String)> {
    replica
        .named(team::NAME)
        .into_iter()
        .filter(|(id, _)| is_home_visit_team(replica, id))
        .collect()
}

pub fn is_home_visit_team(replica: &Replica, team: &RecordId) -> bool {
    replica
        .record(Collection::Team, team)
        .and_then(|t| t.flag(team::HOME_VISIT))
        == Some(true)
}

/// Flags a team as a home-visit team, or not.
pub fn flag_team(compound: &CompoundId, team: &RecordId, home_visit: bool) -> Mutation {
    Mutation::Set {
        collection: Collection::Team,
        id: team.clone(),
        compound: compound.clone(),
        fields: [team::HOME_VISIT.set(home_visit)].into(),
    }
}

/// The entry id for a subject in a round: one per subject and round, so
/// two phones dispatching it at once edit one record.
fn entry_id(round: &RecordId, subject: &Subject) -> RecordId {
    let (_, id) = subject.field();
    format!("hv-{round}-{id}")
        .parse()
        .unwrap_or_else(|_| short_id("hv"))
}

/// How long a home-visit team has for a need sent to it: it comes round
/// within the day.
const DUE_AFTER_MS: u64 = 24 * 60 * 60 * 1000;

/// The need a row is for, where its lifecycle stands.
fn need_of(row: &Row) -> Option<(&RecordId, Option<Status>)> {
    match (&row.entry.subject, &row.why) {
        (Subject::Need(id), Why::Need { status, .. }) => Some((id, *status)),
        _ => None,
    }
}

/// Sends `row`'s household to `team` in `round` (none: back to nobody),
/// at `now_ms`: the entry, and for a need the step assigning it to that
/// team, so the ledger and the resident's ticket say who is coming. Empty
/// when that is already so.
pub fn dispatch(
    compound: &CompoundId,
    round: &RecordId,
    row: &Row,
    team: Option<&RecordId>,
    now_ms: u64,
) -> Vec<Mutation> {
    if row.team() == team {
        return Vec::new();
    }
    let assigned = need_of(row).zip(team).and_then(|((need, from), team)| {
        let due = now_ms + DUE_AFTER_MS;
        let draft = draft(Status::Assigned, Some(team.clone()), Some(due), "", now_ms);
        step_entry(compound, need, from, draft).ok()
    });
    let team = team.map_or(Value::Null, |t| json!(t));
    let fields: BTreeMap<String, Value> = match row.dispatched() {
        Some(_) => [schema::home_visit::TEAM.set(team)].into(),
        None => {
            let (field, id) = row.entry.subject.field();
            [
                schema::home_visit::ROUND.set(json!(round)),
                schema::home_visit::HOUSEHOLD.set(json!(row.entry.household)),
                field.set(json!(id)),
                schema::home_visit::TEAM.set(team),
            ]
            .into()
        }
    };
    let entry = Mutation::Set {
        collection: Collection::HomeVisit,
        id: row
            .dispatched()
            .cloned()
            .unwrap_or_else(|| entry_id(round, &row.entry.subject)),
        compound: compound.clone(),
        fields,
    };
    std::iter::once(entry).chain(assigned).collect()
}

/// What the team found at `row`'s door, recorded at `now_ms`: a test
/// needs its tube number; the other outcomes clear any. A test done for a
/// need resolves it with `resolution` as its note, when its lifecycle
/// allows (a need resolved or reopened meanwhile is the coordinator's).
/// Nothing for a row not dispatched.
pub fn record_result(
    compound: &CompoundId,
    row: &Row,
    outcome: Outcome,
    tube_no: &str,
    resolution: &str,
    now_ms: u64,
) -> Result<Vec<Mutation>, ResultError> {
    // A team's rows are its dispatched entries (`team_rows`): a row never
    // sent anywhere has no result to hold.
    let Some(entry) = row.dispatched() else {
        return Ok(Vec::new());
    };
    let tube = tube_no.trim();
    let tube = match outcome {
        Outcome::Tested if tube.is_empty() => return Err(ResultError::TestedNeedsTube),
        Outcome::Tested => json!(tube),
        Outcome::NotHome | Outcome::Refused => Value::Null,
    };
    let result = Mutation::Set {
        collection: Collection::HomeVisit,
        id: entry.clone(),
        compound: compound.clone(),
        fields: [
            schema::home_visit::RESULT.set(outcome.name()),
            schema::home_visit::TUBE_NO.set(tube),
            schema::home_visit::AT_MS.set(now_ms),
        ]
        .into(),
    };
    let resolved = need_of(row)
        .filter(|_| outcome == Outcome::Tested)
        .and_then(|(need, from)| {
            let draft = draft(Status::Resolved, None, None, resolution, now_ms);
            step_entry(compound, need, from, draft).ok()
        });
    Ok(std::iter::once(result).chain(resolved).collect())
}

/// Whether this person is homebound (cannot go out).
pub fn is_homebound(record: Option<&Record>) -> bool {
    record.and_then(|p| p.flag(person::HOMEBOUND)) == Some(true)
}

/// Marks a person homebound, or not.
pub fn set_homebound(compound: &CompoundId, person: &RecordId, homebound: bool) -> Mutation {
    Mutation::Set {
        collection: Collection::Person,
        id: person.clone(),
        compound: compound.clone(),
        fields: [person::HOMEBOUND.set(homebound)].into(),
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::{
        access::Scope,
        need::{NeedState, steps_by_need},
    };
    use serde_json::json;

    use super::*;
    use crate::state::fixtures::{household, record, stamp};

    fn id(text: &str) -> RecordId {
        text.parse().unwrap()
    }

    fn c1() -> CompoundId {
        "c1".parse().unwrap()
    }

    fn replica() -> Replica {
        Replica::new(
            vec![
                record("round", "r1", json!({"name": "第一轮"})),
                record(
                    "team",
                    "t1",
                    json!({"name": "上门专班", "home_visit": true}),
                ),
                record("team", "t2", json!({"name": "一队"})),
                household("h1", "3", "702"),
                household("h2", "3", "201"),
                record(
                    "person",
                    "p1",
                    json!({"household": "h1", "name": "晨沐", "care": "disabled", "homebound": true}),
                ),
                record(
                    "need",
                    "n1",
                    json!({"household": "h2", "category": "home_test", "description": "孕妇，7楼无电梯"}),
                ),
                record(
                    "need_event",
                    "e0",
                    json!({"need": "n1", "step": "collected", "at_ms": 1}),
                ),
            ],
            Vec::new(),
        )
    }

    /// Team t1's scope on its phone: no building, what is dispatched to it.
    fn team_scope(replica: &Replica) -> Scope {
        let mut scope = Scope {
            compound: c1(),
            role: doorstep_core::access::Role::Volunteer,
            team: Some(id("t1")),
            buildings: Default::default(),
            units: Default::default(),
            ended: Default::default(),
            ended_units: Default::default(),
            key_persons: false,
            home_visits: Default::default(),
            home_visits_ended: Default::default(),
        };
        scope.dispatch(home_visit::dispatched_to(&id("t1"), &records(replica)));
        scope
    }

    /// Applies `mutation` to the replica as the phone does.
    fn apply(replica: &mut Replica, mutation: &Mutation, at: u64) {
        let existing = replica
            .record(mutation.collection(), mutation.id())
            .cloned();
        let (record, _) = mutation.apply(existing.as_ref(), &stamp(at)).unwrap();
        replica.upsert(record);
    }

    #[test]
    fn the_coordinator_dispatches_and_the_team_records_a_test() {
        let mut replica = replica();
        assert_eq!(
            home_visit_teams(&replica),
            [(id("t1"), "上门专班".to_owned())]
        );
        let rows = round_rows(&replica, &id("r1"));
        // Floor 2 before floor 7.
        assert_eq!(rows.iter().map(Row::key).collect::<Vec<_>>(), ["n1", "p1"]);
        assert_eq!(
            rows[1].why,
            Why::Person {
                name: "晨沐".into(),
                care: Some("disabled".into())
            }
        );
        let sent = dispatch(&c1(), &id("r1"), &rows[1], Some(&id("t1")), 2);
        assert_eq!(sent.len(), 1, "a person has no lifecycle to step");
        assert_eq!(sent[0].id().as_str(), "hv-r1-p1");
        apply(&mut replica, &sent[0], 2);
        let again = &round_rows(&replica, &id("r1"))[1];
        assert!(dispatch(&c1(), &id("r1"), again, Some(&id("t1")), 3).is_empty());

        let team = team_rows(&replica, &id("t1"));
        assert_eq!(team.len(), 1);
        assert_eq!(
            record_result(&c1(), &team[0], Outcome::Tested, "  ", "", 5),
            Err(ResultError::TestedNeedsTube)
        );
        let tested = record_result(&c1(), &team[0], Outcome::Tested, " A0001 ", "", 5).unwrap();
        assert_eq!(tested.len(), 1, "a person has no need to resolve");
        let tested = &tested[0];
        // The team's scope lets exactly this edit through.
        let scope = team_scope(&replica);
        assert!(scope.may_write(tested, None, &[], None, 5).is_ok());
        apply(&mut replica, tested, 5);
        let team = team_rows(&replica, &id("t1"));
        assert_eq!(team[0].result(), Some(Outcome::Tested));
        assert_eq!(team[0].tube_no(), Some("A0001"));
        let totals = doorstep_core::dashboard::totals(&records(&replica));
        assert_eq!(totals.home_tests, 1);

        // Sent back to nobody: off the team's list, still on the round's.
        let back = dispatch(
            &c1(),
            &id("r1"),
            &round_rows(&replica, &id("r1"))[1],
            None,
            6,
        );
        apply(&mut replica, &back[0], 6);
        assert!(team_rows(&replica, &id("t1")).is_empty());
        assert_eq!(round_rows(&replica, &id("r1")).len(), 2);
    }

    /// A resident's request for a home test: sending it to a team assigns
    /// the need to that team, and the team's test resolves it, from a
    /// phone whose scope holds the household only through the dispatch.
    #[test]
    fn a_test_at_the_door_resolves_the_request_it_was_sent_for() {
        let mut replica = replica();
        let row = &round_rows(&replica, &id("r1"))[0];
        assert_eq!(row.key(), "n1");
        let sent = dispatch(&c1(), &id("r1"), row, Some(&id("t1")), 10);
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[1].collection(), Collection::NeedEvent);
        let step = sent[1].fields().unwrap();
        assert_eq!(step["step"], json!("assigned"));
        assert_eq!(step["team"], json!("t1"));
        assert_eq!(step["due_ms"], json!(10 + DUE_AFTER_MS));
        for (at, m) in (10..).zip(&sent) {
            apply(&mut replica, m, at);
        }
        let team = team_rows(&replica, &id("t1"));
        let Why::Need { status, .. } = &team[0].why else {
            panic!("{:?}", team[0].why)
        };
        assert_eq!(*status, Some(Status::Assigned));

        let not_home =
            record_result(&c1(), &team[0], Outcome::NotHome, "A1", "上门核酸", 20).unwrap();
        assert_eq!(not_home.len(), 1, "only a test resolves");
        assert_eq!(not_home[0].fields().unwrap()["tube_no"], Value::Null);
        let tested =
            record_result(&c1(), &team[0], Outcome::Tested, "A2", "上门核酸 A2", 21).unwrap();
        assert_eq!(tested.len(), 2, "{tested:?}");
        let scope = team_scope(&replica);
        for m in &tested {
            assert!(
                scope.may_write(m, None, &[None], Some("h2"), 21).is_ok(),
                "{m:?}"
            );
        }
        for (at, m) in (21..).zip(&tested) {
            apply(&mut replica, m, at);
        }
        let steps = steps_by_need(&records(&replica));
        let state = NeedState::fold(steps[&id("n1")].clone());
        assert_eq!(state.status, Some(Status::Resolved));
        assert_eq!(state.resolution, "上门核酸 A2");
        // Resolved: no longer a candidate, still on the round's list.
        assert_eq!(round_rows(&replica, &id("r1"))[0].key(), "n1");
        assert!(
            record_result(
                &c1(),
                &team_rows(&replica, &id("t1"))[0],
                Outcome::Tested,
                "A3",
                "x",
                30
            )
            .unwrap()
            .len()
                == 1,
            "a resolved need is not resolved twice"
        );
    }

    #[test]
    fn not_home_clears_the_tube_and_homebound_toggles() {
        let mut replica = replica();
        assert!(is_homebound(replica.record(Collection::Person, &id("p1"))));
        apply(&mut replica, &set_homebound(&c1(), &id("p1"), false), 3);
        assert!(!is_homebound(replica.record(Collection::Person, &id("p1"))));
        assert_eq!(round_rows(&replica, &id("r1")).len(), 1);
        apply(&mut replica, &flag_team(&c1(), &id("t2"), true), 3);
        assert_eq!(home_visit_teams(&replica).len(), 2);
    }
}
