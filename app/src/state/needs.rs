//! The needs ledger in plain types: each need with its folded state, who
//! raised it (a visit's team, or a resident's request with the number to
//! call back), the actions its state allows, the team it defaults to, the
//! lifecycle step a coordinator or volunteer records next, marking spam,
//! and the call-back figures (core's `help::call_backs`).

use doorstep_core::{
    access::Place,
    help::{CallBacks, awaits_call, call_backs, is_request, is_spam},
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    need::{NeedState, Status, Step, StepError, check_transition, next_steps, steps_by_need},
    schema::{Collection, household, need, need_event, visit},
};
use serde_json::json;

use super::{
    household::Household,
    replica::Replica,
    visits::{assignments, short_id},
};

#[derive(Clone, Debug, PartialEq)]
pub struct NeedRow {
    pub id: RecordId,
    pub category: String,
    pub description: String,
    pub household: Option<Household>,
    pub state: NeedState,
    /// The team of the visit that raised it, if a visit did.
    pub raised_by: Option<RecordId>,
    /// A resident asked for it from the building page.
    pub request: Option<Request>,
    /// Marked as spam: hidden from the ledger, kept in its history.
    pub spam: bool,
    /// A request nobody has called back yet.
    pub awaits_call: bool,
}

/// Who asked, and how to call them back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub phone: String,
    pub name: String,
    pub requested_ms: Option<u64>,
}

impl NeedRow {
    /// When it was collected.
    pub fn raised_at_ms(&self) -> Option<u64> {
        self.state
            .history
            .iter()
            .find(|s| s.to == Status::Collected)
            .map(|s| s.at_ms)
    }

    /// The steps its page offers: those the lifecycle allows from its state,
    /// as `step` and the server check them (collecting is the visit's, never
    /// a button, so a need whose first step has not arrived offers none;
    /// calling back is for residents' requests).
    pub fn actions(&self) -> Vec<Status> {
        let mut steps = next_steps(self.state.status);
        // A call back is to someone who asked: a need seen at the door has
        // its household's phone and a visit already.
        steps.retain(|to| match to {
            Status::Collected => false,
            Status::CalledBack => self.request.is_some(),
            _ => true,
        });
        steps
    }

    /// The team an "assign" starts with: the one it is assigned to, else
    /// the one that holds its household's unit, else its building, in
    /// `round`, else none (never merely this phone's team, which may not
    /// hold the building).
    pub fn default_team(&self, replica: &Replica, round: Option<&RecordId>) -> Option<RecordId> {
        if let Some(team) = &self.state.team {
            return Some(team.clone());
        }
        let home = self.household.as_ref()?;
        let at = Place::new(
            home.value(household::BUILDING),
            Some(home.value(household::UNIT)),
        );
        assignments(replica, round?)
            .into_iter()
            .filter(|(held, _)| held.covers(&at))
            .max_by_key(|(held, _)| held.unit.is_some())
            .map(|(_, team)| team)
    }
}

/// Every need, open ones first (overdue first among them), then by id.
pub fn needs(replica: &Replica, now_ms: u64) -> Vec<NeedRow> {
    let steps = steps_by_need(&replica.all(Collection::NeedEvent));
    let mut rows: Vec<NeedRow> = replica
        .all(Collection::Need)
        .into_iter()
        .filter(|n| !n.is_deleted())
        .map(|record| {
            let text = |f| record.text(f).unwrap_or_default().to_owned();
            let household = record
                .reference(need::HOUSEHOLD)
                .and_then(|id| replica.record(Collection::Household, &id))
                .map(Household::from_record);
            let raised_by = record
                .reference(need::VISIT)
                .and_then(|id| replica.record(Collection::Visit, &id))
                .and_then(|v| v.reference(visit::TEAM));
            let state = NeedState::fold(steps.get(&record.id).cloned().unwrap_or_default());
            NeedRow {
                raised_by,
                request: is_request(&record).then(|| Request {
                    phone: text(need::PHONE),
                    name: text(need::NAME),
                    requested_ms: record.ms(need::REQUESTED_MS),
                }),
                spam: is_spam(&record),
                awaits_call: awaits_call(&record, &state),
                state,
                category: text(need::CATEGORY),
                description: text(need::DESCRIPTION),
                household,
                id: record.id,
            }
        })
        .collect();
    rows.sort_by_key(|row| {
        (
            row.state.is_resolved(),
            !row.awaits_call,
            !row.state.is_overdue(now_ms),
            row.id.clone(),
        )
    });
    rows
}

/// The needs the ledger lists: all but spam.
pub fn ledger(replica: &Replica, now_ms: u64) -> Vec<NeedRow> {
    let mut rows = needs(replica, now_ms);
    rows.retain(|row| !row.spam);
    rows
}

/// How fast residents who asked are called back, from this phone's copy.
pub fn call_back_figures(replica: &Replica, now_ms: u64) -> CallBacks {
    let mut records = replica.all(Collection::Need);
    records.extend(replica.all(Collection::NeedEvent));
    call_backs(&records, now_ms)
}

/// Marks a need as spam, or takes the mark back.
pub fn mark_spam(compound: &CompoundId, need: &RecordId, spam: bool) -> Mutation {
    Mutation::Set {
        collection: Collection::Need,
        id: need.clone(),
        compound: compound.clone(),
        fields: [need::SPAM.set(spam)].into(),
    }
}

/// The `need_event` entry for a step, if the lifecycle allows it now.
pub fn step(
    compound: &CompoundId,
    need: &NeedRow,
    to: Status,
    team: Option<RecordId>,
    due_ms: Option<u64>,
    note: &str,
    now_ms: u64,
) -> Result<Mutation, StepError> {
    let draft = draft(to, team, due_ms, note, now_ms);
    step_entry(compound, &need.id, need.state.status, draft)
}

/// A step as a phone is about to record it (stamped when saved).
pub fn draft(
    to: Status,
    team: Option<RecordId>,
    due_ms: Option<u64>,
    note: &str,
    now_ms: u64,
) -> Step {
    Step {
        to,
        team,
        due_ms,
        note: note.trim().to_owned(),
        at_ms: now_ms,
        hlc: doorstep_core::hlc::Hlc::zero(doorstep_core::ids::ClientId::from_u128(0)),
    }
}

/// The `need_event` entry recording `draft` on `need`, now at `from`, if
/// the lifecycle allows it.
pub fn step_entry(
    compound: &CompoundId,
    need: &RecordId,
    from: Option<Status>,
    draft: Step,
) -> Result<Mutation, StepError> {
    check_transition(from, &draft)?;
    let mut fields = serde_json::Map::new();
    fields.insert(need_event::NEED.into(), json!(need));
    fields.insert(
        need_event::STEP.into(),
        serde_json::to_value(draft.to).expect("statuses serialise"),
    );
    fields.insert(need_event::AT_MS.into(), json!(draft.at_ms));
    if let Some(team) = draft.team {
        fields.insert(need_event::TEAM.into(), json!(team));
    }
    if let Some(due) = draft.due_ms {
        fields.insert(need_event::DUE_MS.into(), json!(due));
    }
    if !draft.note.is_empty() {
        fields.insert(need_event::NOTE.into(), json!(draft.note));
    }
    Ok(Mutation::Append {
        collection: Collection::NeedEvent,
        id: short_id("e"),
        compound: compound.clone(),
        fields: fields.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fixtures::{household, record, stamp};

    /// The assign form starts with the team holding the building, not the
    /// phone's own; none when no team holds it this round.
    #[test]
    fn a_need_defaults_to_the_team_that_holds_its_building_or_unit() {
        let compound: CompoundId = "c1".parse().unwrap();
        let round: RecordId = "r1".parse().unwrap();
        let mut replica = Replica::new(
            vec![
                household("h1", "1", "101"),
                household("h2", "2", "201"),
                record("team", "t1", json!({"name": "一队"})),
                record("team", "t2", json!({"name": "二队"})),
                record(
                    "visit",
                    "v1",
                    json!({"household": "h1", "team": "t2", "outcome": "visited"}),
                ),
                record(
                    "need",
                    "n1",
                    json!({"household": "h1", "category": "food", "visit": "v1"}),
                ),
                record("need", "n2", json!({"household": "h2", "category": "food"})),
            ],
            vec![],
        );
        let assign = crate::state::visits::assign(
            &compound,
            &round,
            &Place::new("1", None),
            Some(&"t1".parse().unwrap()),
        )
        .unwrap();
        replica.upsert(assign.apply(None, &stamp(3)).unwrap().0);
        let rows = needs(&replica, 0);
        let (n1, n2) = (&rows[0], &rows[1]);
        assert_eq!(n1.raised_by.as_ref().map(RecordId::as_str), Some("t2"));
        assert_eq!(
            n1.default_team(&replica, Some(&round))
                .as_ref()
                .map(RecordId::as_str),
            Some("t1")
        );
        assert_eq!(n2.default_team(&replica, Some(&round)), None);
        assert_eq!(n1.default_team(&replica, None), None);

        // Building 1 is held whole by 一队 and its unit 2 by 二队: a need in
        // unit 2 starts with 二队.
        replica.upsert(record(
            "household",
            "h1",
            json!({"building": "1", "unit": "2单元", "door": "101"}),
        ));
        let unit = crate::state::visits::assign(
            &compound,
            &round,
            &Place::new("1", Some("2")),
            Some(&"t2".parse().unwrap()),
        )
        .unwrap();
        replica.upsert(unit.apply(None, &stamp(4)).unwrap().0);
        let n1 = needs(&replica, 0).remove(0);
        assert_eq!(
            n1.default_team(&replica, Some(&round))
                .as_ref()
                .map(RecordId::as_str),
            Some("t2")
        );
    }

    /// Each state offers exactly the lifecycle's next steps as buttons.
    #[test]
    fn a_need_offers_only_what_its_state_allows() {
        let compound: CompoundId = "c1".parse().unwrap();
        let mut replica = Replica::new(
            vec![record("need", "n1", json!({"category": "food"}))],
            vec![],
        );
        let mut clock = 10;
        let mut walk = |replica: &mut Replica, to: Status, expected: &[Status]| {
            let row = needs(replica, 0).remove(0);
            assert_eq!(row.actions(), expected, "{:?}", row.state.status);
            let (team, due, note) = match to {
                Status::Assigned => (Some("t1".parse().unwrap()), Some(5), ""),
                _ => (None, None, "好了"),
            };
            if let Ok(m) = step(&compound, &row, to, team, due, note, clock) {
                clock += 1;
                replica.upsert(m.apply(None, &stamp(clock)).unwrap().0);
            }
        };
        use Status::*;
        walk(&mut replica, Collected, &[]);
        walk(&mut replica, Assigned, &[Assigned]);
        walk(&mut replica, Resolved, &[Assigned, InProgress, Resolved]);
        walk(&mut replica, Closed, &[Closed, Reopened]);
        walk(&mut replica, Reopened, &[Reopened]);
        let row = needs(&replica, 0).remove(0);
        assert_eq!(row.actions(), [Assigned]);
        assert_eq!(row.raised_at_ms(), Some(10));
    }

    #[test]
    fn a_need_walks_its_lifecycle_and_refuses_shortcuts() {
        let compound: CompoundId = "c1".parse().unwrap();
        let create = Mutation::Set {
            collection: Collection::Need,
            id: "n1".parse().unwrap(),
            compound: compound.clone(),
            fields: [
                ("category".into(), json!("food")),
                ("description".into(), json!("food")),
            ]
            .into(),
        };
        let mut replica = Replica::default();
        let mut clock = 0;
        let mut apply = |replica: &mut Replica, m: &Mutation| {
            clock += 1;
            replica.upsert(m.apply(None, &stamp(clock)).unwrap().0);
        };
        apply(&mut replica, &create);
        let team: RecordId = "t1".parse().unwrap();
        for (to, team, due, note, ok) in [
            (Status::Resolved, None, None, "送了", false),
            (Status::Collected, None, None, "", true),
            (Status::Closed, None, None, "", false),
            (Status::Assigned, None, Some(10), "", false),
            (Status::Assigned, Some(team.clone()), Some(10), "", true),
            (Status::Resolved, None, None, "", false),
            (Status::Resolved, None, None, "送菜上门", true),
            (Status::Closed, None, None, "", true),
        ] {
            let row = needs(&replica, 0).remove(0);
            let result = step(&compound, &row, to, team, due, note, 5);
            assert_eq!(result.is_ok(), ok, "{to:?}: {result:?}");
            if let Ok(m) = result {
                m.validate().unwrap();
                apply(&mut replica, &m);
            }
        }
        let row = needs(&replica, 0).remove(0);
        assert_eq!(row.state.status, Some(Status::Closed));
        assert_eq!(row.state.history.len(), 4);
    }

    /// A resident's request awaits a call back at the top of the ledger
    /// until someone calls; spam leaves the ledger (its page still opens).
    #[test]
    fn requests_awaiting_a_call_come_first_and_spam_leaves_the_ledger() {
        let compound: CompoundId = "c1".parse().unwrap();
        let mut replica = Replica::new(
            vec![
                household("h1", "3", "701"),
                record(
                    "need",
                    "a_door",
                    json!({"household": "h1", "category": "food"}),
                ),
                record(
                    "need",
                    "b_asked",
                    json!({"household": "h1", "category": "home_test", "source": "resident",
                           "phone": "13800138000", "name": "王", "requested_ms": 1_000}),
                ),
                record(
                    "need",
                    "c_spam",
                    json!({"household": "h1", "category": "other", "source": "resident",
                           "phone": "13800138001", "requested_ms": 1_000}),
                ),
            ],
            vec![],
        );
        let mut clock = 10;
        let mut walk = |replica: &mut Replica, id: &str, to: Status| {
            let row = needs(replica, 0)
                .into_iter()
                .find(|r| r.id.as_str() == id)
                .unwrap();
            let m = step(&compound, &row, to, None, None, "", 60_000 * clock).unwrap();
            clock += 1;
            replica.upsert(m.apply(None, &stamp(clock)).unwrap().0);
        };
        for id in ["a_door", "b_asked", "c_spam"] {
            walk(&mut replica, id, Status::Collected);
        }
        let spam = mark_spam(&compound, &"c_spam".parse().unwrap(), true);
        let before = replica
            .record(Collection::Need, &"c_spam".parse().unwrap())
            .cloned();
        replica.upsert(spam.apply(before.as_ref(), &stamp(99)).unwrap().0);
        let rows = ledger(&replica, 0);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b_asked", "a_door"]);
        let asked = &rows[0];
        assert!(asked.awaits_call);
        assert_eq!(
            asked.request.as_ref().map(|r| r.phone.as_str()),
            Some("13800138000")
        );
        assert!(rows[1].request.is_none() && !rows[1].awaits_call);
        assert!(
            needs(&replica, 0).iter().any(|r| r.spam),
            "its page still finds it"
        );
        assert!(asked.actions().contains(&Status::CalledBack));
        assert_eq!(call_back_figures(&replica, 100_000).waiting, 1);

        walk(&mut replica, "b_asked", Status::CalledBack);
        let rows = ledger(&replica, 0);
        assert!(!rows.iter().any(|r| r.awaits_call));
        let figures = call_back_figures(&replica, 100_000);
        assert_eq!(figures.waiting, 0);
        assert_eq!(figures.median_ms, Some(60_000 * 13 - 1_000));
    }
}
