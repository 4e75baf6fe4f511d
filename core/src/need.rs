//! The needs ledger (困难问题台账): a need's state is folded from its
//! append-only steps, so the full history shows who did what and when.
//!
//! collected → assigned → in progress → resolved → closed (销号), and a
//! resolved or closed need can be reopened with a reason. A resident's
//! request (求助) is also called back (回电): from collected, reopened or
//! assigned, after which it is assigned or resolved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    hlc::Hlc,
    ids::RecordId,
    record::Record,
    schema::{Collection, need_event, vocabulary},
};

vocabulary! {
    /// What a need asks for.
    pub enum Category {
        MedicalVisit = "medical_visit",
        Medicine = "medicine",
        Food = "food",
        Utilities = "utilities",
        Garbage = "garbage",
        HomeTest = "home_test",
        Shuttle = "shuttle",
        /// Elderly or disabled care (老弱病残照护), as residents ask for it.
        Care = "care",
        Other = "other",
    }
}

pub const STEPS: &[&str] = &[
    "collected",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "reopened",
    "called_back",
];

vocabulary! {
    /// Who recorded a need: a volunteer at the door (also when the field
    /// is absent), or a resident from the building page (`help.rs`).
    pub enum Source {
        Door = "door",
        Resident = "resident",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Collected,
    Assigned,
    InProgress,
    Resolved,
    Closed,
    Reopened,
    /// Someone phoned the resident who asked (回电).
    CalledBack,
}

/// One lifecycle entry as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub to: Status,
    pub team: Option<RecordId>,
    pub due_ms: Option<u64>,
    /// How it was resolved, or why it was reopened.
    pub note: String,
    pub at_ms: u64,
    pub hlc: Hlc,
}

/// Every need's steps, read from synced `need_event` records.
pub fn steps_by_need(records: &[Record]) -> BTreeMap<RecordId, Vec<Step>> {
    let mut steps: BTreeMap<RecordId, Vec<Step>> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| r.collection == Collection::NeedEvent)
    {
        let text = |f| record.text(f).unwrap_or_default().to_owned();
        let (Ok(need), Some(to), Some(stamp)) = (
            text(need_event::NEED).parse::<RecordId>(),
            record
                .value(need_event::STEP)
                .and_then(|v| serde_json::from_value::<Status>(v.clone()).ok()),
            record
                .fields
                .get(need_event::STEP.name)
                .map(|s| s.hlc.clone()),
        ) else {
            continue;
        };
        steps.entry(need).or_default().push(Step {
            to,
            team: text(need_event::TEAM).parse().ok(),
            due_ms: record.ms(need_event::DUE_MS),
            note: text(need_event::NOTE),
            at_ms: record.ms(need_event::AT_MS).unwrap_or_default(),
            hlc: stamp,
        });
    }
    steps
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Collected,
        Status::Assigned,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
        Status::Reopened,
        Status::CalledBack,
    ];

    /// The step's word as stored (`need::STEPS`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Collected => "collected",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Reopened => "reopened",
            Status::CalledBack => "called_back",
        }
    }

    /// Resolved, or closed by 销号: nothing more to do for it.
    pub fn is_resolved(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }
}

/// Why a step cannot be recorded, typed so that screens can say it in the
/// person's language; `Display` is the English for logs and the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// The lifecycle does not go from `from` (`None`: a new need) to `to`.
    NotAllowed {
        from: Option<Status>,
        to: Status,
    },
    AssignNeedsTeamAndDue,
    ResolveNeedsNote,
    ReopenNeedsNote,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::NotAllowed { from, to } => {
                let from = from.map_or("new".to_owned(), |s| format!("{s:?}"));
                write!(f, "a need that is {from} cannot become {to:?}")
            }
            StepError::AssignNeedsTeamAndDue => {
                f.write_str("assigning needs a team and a due time")
            }
            StepError::ResolveNeedsNote => f.write_str("say how it was resolved"),
            StepError::ReopenNeedsNote => f.write_str("say why it is reopened"),
        }
    }
}

fn allowed(from: Option<Status>, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (None, Collected)
            | (
                Some(Collected | Reopened | Assigned | InProgress | CalledBack),
                Assigned
            )
            | (Some(Assigned), InProgress)
            | (Some(Assigned | InProgress | CalledBack), Resolved)
            | (Some(Resolved), Closed)
            | (Some(Resolved | Closed), Reopened)
            | (Some(Collected | Reopened | Assigned), CalledBack)
    )
}

/// The steps the lifecycle allows after `from`: the actions a need's page
/// offers.
pub fn next_steps(from: Option<Status>) -> Vec<Status> {
    Status::ALL
        .into_iter()
        .filter(|to| allowed(from, *to))
        .collect()
}

/// Whether `step` may follow `from` (`None`: the need has no step yet).
pub fn check_transition(from: Option<Status>, step: &Step) -> Result<(), StepError> {
    if !allowed(from, step.to) {
        return Err(StepError::NotAllowed { from, to: step.to });
    }
    match step.to {
        Status::Assigned if step.team.is_none() || step.due_ms.is_none() => {
            Err(StepError::AssignNeedsTeamAndDue)
        }
        Status::Resolved if step.note.trim().is_empty() => Err(StepError::ResolveNeedsNote),
        Status::Reopened if step.note.trim().is_empty() => Err(StepError::ReopenNeedsNote),
        _ => Ok(()),
    }
}

/// Whether `step`, recorded on some phone, may join a need whose other steps
/// are `known`: it must be a step [`check_transition`] allows from a state
/// the need has been in (or from none, so a second "collected" is harmless).
/// A phone checks against the state it sees, and two phones that saw the
/// same state may race; the loser is then kept by [`NeedState::fold`] as
/// "ignored", not refused here. What no phone could have recorded (closing
/// a need never resolved, a step without its team or note) is refused.
pub fn check_recorded(step: &Step, known: Vec<Step>) -> Result<(), StepError> {
    let state = NeedState::fold(known);
    let seen = std::iter::once(None).chain(state.history.iter().map(|s| Some(s.to)));
    for from in seen {
        if check_transition(from, step).is_ok() {
            return Ok(());
        }
    }
    check_transition(state.status, step)
}

/// A need's state after folding its steps in HLC order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeedState {
    pub status: Option<Status>,
    pub team: Option<RecordId>,
    pub due_ms: Option<u64>,
    pub resolution: String,
    /// Steps that took effect, oldest first.
    pub history: Vec<Step>,
    /// Steps that could not apply when folded (e.g. two phones closed it at
    /// once), kept and shown rather than dropped.
    pub ignored: Vec<(Step, StepError)>,
}

impl NeedState {
    pub fn fold(mut steps: Vec<Step>) -> Self {
        steps.sort_by(|a, b| a.hlc.cmp(&b.hlc));
        let mut state = NeedState::default();
        for step in steps {
            match check_transition(state.status, &step) {
                Ok(()) => {
                    state.status = Some(step.to);
                    match step.to {
                        Status::Assigned => {
                            state.team = step.team.clone();
                            state.due_ms = step.due_ms;
                        }
                        Status::Resolved => state.resolution = step.note.clone(),
                        Status::Reopened => state.resolution.clear(),
                        _ => {}
                    }
                    state.history.push(step);
                }
                Err(reason) => state.ignored.push((step, reason)),
            }
        }
        state
    }

    /// When it was first called back (回电), if it was.
    pub fn called_back_ms(&self) -> Option<u64> {
        self.history
            .iter()
            .find(|s| s.to == Status::CalledBack)
            .map(|s| s.at_ms)
    }

    /// When its latest step was recorded.
    pub fn updated_ms(&self) -> Option<u64> {
        self.history.iter().map(|s| s.at_ms).max()
    }

    pub fn is_resolved(&self) -> bool {
        self.status.is_some_and(Status::is_resolved)
    }

    /// Assigned or in progress (and perhaps called back since), and past
    /// its due time.
    pub fn is_overdue(&self, now_ms: u64) -> bool {
        let working = self
            .history
            .iter()
            .rev()
            .map(|s| s.to)
            .find(|to| *to != Status::CalledBack);
        matches!(working, Some(Status::Assigned | Status::InProgress))
            && self.due_ms.is_some_and(|due| now_ms > due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ClientId;

    #[test]
    fn a_status_is_named_as_its_step_is_stored() {
        let names: Vec<_> = Status::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, STEPS);
        for status in Status::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.name());
        }
    }

    fn step(to: Status, order: u64) -> Step {
        let (team, due_ms, note) = match to {
            Status::Assigned => (Some("team-1".parse().unwrap()), Some(1_000), String::new()),
            Status::Resolved => (None, None, "送菜上门".to_owned()),
            Status::Reopened => (None, None, "菜不够".to_owned()),
            _ => (None, None, String::new()),
        };
        Step {
            to,
            team,
            due_ms,
            note,
            at_ms: order,
            hlc: Hlc {
                wall_ms: order,
                counter: 0,
                node: ClientId::from_u128(1),
            },
        }
    }

    /// Every (from, to) pair: allowed exactly where the lifecycle says.
    #[test]
    fn every_illegal_transition_is_refused() {
        use Status::*;
        let all = Status::ALL;
        let allowed = [
            (None, Collected),
            (Some(Collected), Assigned),
            (Some(Reopened), Assigned),
            (Some(Assigned), Assigned),
            (Some(InProgress), Assigned),
            (Some(CalledBack), Assigned),
            (Some(Assigned), InProgress),
            (Some(Assigned), Resolved),
            (Some(InProgress), Resolved),
            (Some(CalledBack), Resolved),
            (Some(Resolved), Closed),
            (Some(Resolved), Reopened),
            (Some(Closed), Reopened),
            (Some(Collected), CalledBack),
            (Some(Reopened), CalledBack),
            (Some(Assigned), CalledBack),
        ];
        for from in std::iter::once(None).chain(all.map(Some)) {
            for to in all {
                let result = check_transition(from, &step(to, 1));
                assert_eq!(
                    result.is_ok(),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}: {result:?}"
                );
                if let Err(error) = result {
                    assert!(!error.to_string().is_empty());
                }
                assert_eq!(
                    next_steps(from).contains(&to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    /// The actions a need's page offers in each state.
    #[test]
    fn each_state_offers_only_its_next_steps() {
        use Status::*;
        let cases = [
            (None, vec![Collected]),
            (Some(Collected), vec![Assigned, CalledBack]),
            (
                Some(Assigned),
                vec![Assigned, InProgress, Resolved, CalledBack],
            ),
            (Some(InProgress), vec![Assigned, Resolved]),
            (Some(Resolved), vec![Closed, Reopened]),
            (Some(Closed), vec![Reopened]),
            (Some(Reopened), vec![Assigned, CalledBack]),
            (Some(CalledBack), vec![Assigned, Resolved]),
        ];
        for (from, steps) in cases {
            assert_eq!(next_steps(from), steps, "{from:?}");
        }
    }

    #[test]
    fn steps_need_their_details() {
        let mut assign = step(Status::Assigned, 1);
        assign.team = None;
        assert!(
            check_transition(Some(Status::Collected), &assign).unwrap_err()
                == StepError::AssignNeedsTeamAndDue
        );
        let mut resolve = step(Status::Resolved, 1);
        resolve.note.clear();
        assert!(check_transition(Some(Status::Assigned), &resolve).is_err());
        let mut reopen = step(Status::Reopened, 1);
        reopen.note.clear();
        assert!(
            check_transition(Some(Status::Closed), &reopen)
                .unwrap_err()
                .to_string()
                .contains("why")
        );
    }

    #[test]
    fn folding_follows_hlc_order_and_keeps_what_could_not_apply() {
        use Status::*;
        // Delivered out of order; closed twice by two phones.
        let steps = vec![
            step(Closed, 5),
            step(Collected, 1),
            step(Resolved, 4),
            step(Assigned, 2),
            step(Closed, 6),
            step(InProgress, 3),
        ];
        let state = NeedState::fold(steps);
        assert_eq!(state.status, Some(Closed));
        assert_eq!(
            state.history.iter().map(|s| s.to).collect::<Vec<_>>(),
            [Collected, Assigned, InProgress, Resolved, Closed]
        );
        assert_eq!(state.ignored.len(), 1);
        assert_eq!(state.resolution, "送菜上门");
        assert!(state.is_resolved());

        let reopened = NeedState::fold(vec![
            step(Collected, 1),
            step(Assigned, 2),
            step(Resolved, 3),
            step(Reopened, 4),
        ]);
        assert_eq!(reopened.status, Some(Reopened));
        assert!(!reopened.is_resolved());
        assert!(reopened.resolution.is_empty());
    }

    #[test]
    fn a_recorded_step_must_follow_a_state_the_need_was_in() {
        use Status::*;
        let known = || vec![step(Collected, 1), step(Assigned, 2), step(Resolved, 3)];
        // (step, allowed): a race (closed twice, assigned again from an
        // older view) passes; what no phone could record does not.
        for (to, ok) in [
            (Closed, true),
            (Reopened, true),
            (InProgress, true),
            (Assigned, true),
            (Collected, true),
        ] {
            let got = check_recorded(&step(to, 9), known());
            assert_eq!(got.is_ok(), ok, "{to:?}: {got:?}");
        }
        let fresh = || vec![step(Collected, 1)];
        for to in [Closed, Reopened, InProgress, Resolved] {
            assert!(check_recorded(&step(to, 9), fresh()).is_err(), "{to:?}");
        }
        let mut bare = step(Assigned, 9);
        bare.team = None;
        assert!(check_recorded(&bare, fresh()).is_err());
        assert!(check_recorded(&step(Collected, 1), Vec::new()).is_ok());
    }

    #[test]
    fn overdue_only_while_open_and_past_due() {
        let assigned = NeedState::fold(vec![step(Status::Collected, 1), step(Status::Assigned, 2)]);
        assert!(!assigned.is_overdue(1_000));
        assert!(assigned.is_overdue(1_001));
        let resolved = NeedState::fold(vec![
            step(Status::Collected, 1),
            step(Status::Assigned, 2),
            step(Status::Resolved, 3),
        ]);
        assert!(!resolved.is_overdue(9_999));
    }

    /// A resident's request: called back first, then assigned and resolved;
    /// or assigned, called back (still due), resolved. The first call back
    /// is when the resident heard from someone.
    #[test]
    fn a_request_is_called_back_before_or_after_it_is_assigned() {
        use Status::*;
        let first = NeedState::fold(vec![
            step(Collected, 1),
            step(CalledBack, 2),
            step(Assigned, 3),
            step(CalledBack, 4),
            step(Resolved, 5),
        ]);
        assert!(first.ignored.is_empty(), "{:?}", first.ignored);
        assert_eq!(first.status, Some(Resolved));
        assert_eq!(first.called_back_ms(), Some(2));
        assert_eq!(first.updated_ms(), Some(5));

        let later = NeedState::fold(vec![
            step(Collected, 1),
            step(Assigned, 2),
            step(CalledBack, 3),
        ]);
        assert_eq!(later.status, Some(CalledBack));
        assert_eq!(later.called_back_ms(), Some(3));
        // Still assigned, so still due at 1 000.
        assert!(later.is_overdue(1_001));
        assert!(!later.is_overdue(999));
        let never = NeedState::fold(vec![step(Collected, 1), step(CalledBack, 2)]);
        assert!(!never.is_overdue(u64::MAX));
        assert_eq!(
            NeedState::fold(vec![step(Collected, 1)]).called_back_ms(),
            None
        );
        // Closed needs are not called back; a call back is no resolution.
        assert!(check_transition(Some(Closed), &step(CalledBack, 9)).is_err());
        assert!(check_transition(Some(CalledBack), &step(Closed, 9)).is_err());
    }
}
