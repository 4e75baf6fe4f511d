//! The coordinator's totals (统计), computed from synced records the same
//! way on every phone and on the server: the figures the seed text reports.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{
    need::NeedState,
    record::Record,
    schema::{Collection, person, visit},
    visit::{DoorState, Outcome},
};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    /// 工作队
    pub teams: usize,
    /// 走访户数: households with a door answered (outcome visited).
    pub households_visited: usize,
    /// 收集困难问题
    pub needs_collected: usize,
    /// 已解决: resolved or closed.
    pub needs_resolved: usize,
    /// 上门核酸: swabs taken at the door, by door-knock teams during a
    /// visit and by home-visit teams (a home visit with result tested).
    pub home_tests: usize,
    /// 代购
    pub purchases: usize,
    /// 关爱对象走访: people on the care ledger whose household was visited.
    pub special_populations: usize,
}

impl Totals {
    /// Adds another compound's figures (the district's sum).
    pub fn add(&mut self, other: &Totals) {
        self.teams += other.teams;
        self.households_visited += other.households_visited;
        self.needs_collected += other.needs_collected;
        self.needs_resolved += other.needs_resolved;
        self.home_tests += other.home_tests;
        self.purchases += other.purchases;
        self.special_populations += other.special_populations;
    }

    /// Takes away figures that were added before (a share of a compound
    /// counted again). Never below zero: a damaged kept row must not fail
    /// the writes that keep it.
    pub fn subtract(&mut self, other: &Totals) {
        let less = |a: &mut usize, b: usize| *a = a.saturating_sub(b);
        less(&mut self.teams, other.teams);
        less(&mut self.households_visited, other.households_visited);
        less(&mut self.needs_collected, other.needs_collected);
        less(&mut self.needs_resolved, other.needs_resolved);
        less(&mut self.home_tests, other.home_tests);
        less(&mut self.purchases, other.purchases);
        less(&mut self.special_populations, other.special_populations);
    }
}

pub fn totals(records: &[Record]) -> Totals {
    let live = |collection: Collection| {
        records
            .iter()
            .filter(move |r| r.collection == collection && !r.is_deleted())
    };
    let visits: Vec<&Record> = live(Collection::Visit).collect();
    let visited: BTreeSet<&str> = visits
        .iter()
        .filter(|v| v.choice(visit::OUTCOME) == Some(Outcome::Visited))
        .filter_map(|v| v.text(visit::HOUSEHOLD))
        .collect();
    let steps = crate::need::steps_by_need(records);
    // Spam a coordinator marked is no need (its history keeps it).
    let needs: Vec<&Record> = live(Collection::Need)
        .filter(|n| !crate::help::is_spam(n))
        .collect();
    Totals {
        teams: live(Collection::Team).count(),
        households_visited: visited.len(),
        needs_collected: needs.len(),
        needs_resolved: needs
            .iter()
            .filter(|n| {
                steps
                    .get(&n.id)
                    .is_some_and(|s| NeedState::fold(s.clone()).is_resolved())
            })
            .count(),
        home_tests: visits
            .iter()
            .filter(|v| v.flag(visit::SWAB) == Some(true))
            .count()
            + crate::home_visit::tests_taken(records).count(),
        purchases: live(Collection::Purchase).count(),
        special_populations: live(Collection::Person)
            .filter(|p| p.text(person::CARE).is_some())
            .filter(|p| {
                p.text(person::HOUSEHOLD)
                    .is_some_and(|h| visited.contains(h))
            })
            .count(),
    }
}

/// A building's (or a team's) doors this round, counted by state: only
/// answered doors are 已走访; no answer, refused and revisit are their own
/// counts, and `revisit_due` is the part of `revisit` whose time has come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub doors: usize,
    pub visited: usize,
    pub no_answer: usize,
    pub refused: usize,
    pub revisit: usize,
    pub revisit_due: usize,
    pub pending: usize,
}

impl Coverage {
    pub fn of(states: impl IntoIterator<Item = DoorState>, now_ms: u64) -> Self {
        let mut c = Coverage::default();
        for state in states {
            c.doors += 1;
            match state {
                DoorState::Pending => c.pending += 1,
                DoorState::Visited => c.visited += 1,
                DoorState::NoAnswer => c.no_answer += 1,
                DoorState::Refused => c.refused += 1,
                DoorState::Revisit { .. } => {
                    c.revisit += 1;
                    c.revisit_due += usize::from(state.revisit_due(now_ms));
                }
            }
        }
        c
    }

    /// Doors to go back to: nobody answered, or a revisit was agreed.
    pub fn to_go_back(&self) -> usize {
        self.no_answer + self.revisit
    }

    pub fn add(&mut self, other: Coverage) {
        self.doors += other.doors;
        self.visited += other.visited;
        self.no_answer += other.no_answer;
        self.refused += other.refused;
        self.revisit += other.revisit;
        self.revisit_due += other.revisit_due;
        self.pending += other.pending;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::{hlc::Hlc, ids::ClientId, mutation::Mutation};

    fn record(kind: &str, collection: &str, id: &str, fields: Value) -> Record {
        let mutation: Mutation = serde_json::from_value(
            json!({"kind": kind, "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}}),
        )
        .unwrap();
        let n: u64 = id.bytes().map(u64::from).sum();
        mutation
            .apply(
                None,
                &Hlc {
                    wall_ms: n,
                    counter: 0,
                    node: ClientId::from_u128(1),
                },
            )
            .unwrap()
            .0
    }

    fn step(id: &str, need: &str, step: &str, extra: Value) -> Record {
        let mut fields = json!({"need": need, "step": step, "at_ms": 1});
        fields
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        record("append", "need_event", id, fields)
    }

    #[test]
    fn coverage_counts_only_answered_doors_as_visited() {
        let states = [
            DoorState::Visited,
            DoorState::Visited,
            DoorState::NoAnswer,
            DoorState::Refused,
            DoorState::Revisit { at_ms: Some(5) },
            DoorState::Revisit { at_ms: Some(50) },
            DoorState::Pending,
        ];
        let mut coverage = Coverage::of(states, 10);
        assert_eq!(
            coverage,
            Coverage {
                doors: 7,
                visited: 2,
                no_answer: 1,
                refused: 1,
                revisit: 2,
                revisit_due: 1,
                pending: 1,
            }
        );
        assert_eq!(coverage.to_go_back(), 3);
        coverage.add(Coverage::of([DoorState::Visited], 10));
        assert_eq!((coverage.doors, coverage.visited), (8, 3));
    }

    /// A fixed data set and the totals it must give.
    #[test]
    fn totals_from_a_fixed_data_set() {
        let records = vec![
            record("set", "team", "t1", json!({"name": "一队"})),
            record("set", "team", "t2", json!({"name": "二队"})),
            record(
                "set",
                "visit",
                "v1",
                json!({"household": "h1", "outcome": "visited", "swab": true, "tube_no": "A1"}),
            ),
            record(
                "set",
                "visit",
                "v2",
                json!({"household": "h1", "outcome": "visited", "temperature_c": 36.6}),
            ),
            record(
                "set",
                "visit",
                "v3",
                json!({"household": "h2", "outcome": "no_answer"}),
            ),
            record(
                "set",
                "visit",
                "v4",
                json!({"household": "h3", "outcome": "visited", "swab": true, "tube_no": "A2"}),
            ),
            record(
                "set",
                "need",
                "n1",
                json!({"household": "h1", "category": "food"}),
            ),
            record(
                "set",
                "need",
                "n2",
                json!({"household": "h3", "category": "medicine"}),
            ),
            step("e1", "n1", "collected", json!({})),
            step("e2", "n1", "assigned", json!({"team": "t1", "due_ms": 5})),
            step("e3", "n1", "resolved", json!({"note": "送菜"})),
            step("e4", "n2", "collected", json!({})),
            record(
                "set",
                "need",
                "n3",
                json!({"household": "h3", "category": "other", "source": "resident", "spam": true}),
            ),
            step("e5", "n3", "collected", json!({})),
            record(
                "append",
                "purchase",
                "p1",
                json!({"household": "h1", "items": "米", "amount_cents": 500}),
            ),
            record(
                "set",
                "person",
                "q1",
                json!({"household": "h1", "care": "elderly_alone"}),
            ),
            record(
                "set",
                "person",
                "q2",
                json!({"household": "h2", "care": "disabled"}),
            ),
            record(
                "set",
                "person",
                "q3",
                json!({"household": "h3", "name": "无关爱类别"}),
            ),
            // A home-visit team's test counts; not finding anyone home
            // does not.
            record(
                "set",
                "home_visit",
                "hv1",
                json!({"household": "h2", "result": "tested", "tube_no": "B1"}),
            ),
            record(
                "set",
                "home_visit",
                "hv2",
                json!({"household": "h2", "result": "not_home"}),
            ),
        ];
        assert_eq!(
            totals(&records),
            Totals {
                teams: 2,
                households_visited: 2,
                needs_collected: 2,
                needs_resolved: 1,
                home_tests: 3,
                purchases: 1,
                special_populations: 1,
            }
        );
    }
}
