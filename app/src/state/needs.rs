//! The needs ledger in plain types: each need with its folded state, and the
//! lifecycle step a coordinator or volunteer records next.

use doorstep_core::{
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    need::{NeedState, Status, Step, check_transition, steps_by_need},
    schema::Collection,
};
use serde_json::json;

use super::{household::Household, replica::Replica, visits::short_id};

#[derive(Clone, Debug, PartialEq)]
pub struct NeedRow {
    pub id: RecordId,
    pub category: String,
    pub description: String,
    pub household: Option<Household>,
    pub state: NeedState,
}

/// Every need, open ones first (overdue first among them), then by id.
pub fn needs(replica: &Replica, now_ms: u64) -> Vec<NeedRow> {
    let steps = steps_by_need(&replica.all(Collection::NeedEvent));
    let mut rows: Vec<NeedRow> = replica
        .all(Collection::Need)
        .into_iter()
        .filter(|n| !n.is_deleted())
        .map(|need| {
            let text = |f: &str| {
                need.value(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let household = text("household")
                .parse()
                .ok()
                .and_then(|id| replica.record(Collection::Household, &id))
                .map(Household::from_record);
            NeedRow {
                state: NeedState::fold(steps.get(&need.id).cloned().unwrap_or_default()),
                category: text("category"),
                description: text("description"),
                household,
                id: need.id,
            }
        })
        .collect();
    rows.sort_by_key(|row| {
        (
            row.state.is_resolved(),
            !row.state.is_overdue(now_ms),
            row.id.clone(),
        )
    });
    rows
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
) -> Result<Mutation, String> {
    let draft = Step {
        to,
        team: team.clone(),
        due_ms,
        note: note.trim().to_owned(),
        at_ms: now_ms,
        hlc: doorstep_core::hlc::Hlc::zero(doorstep_core::ids::ClientId::from_u128(0)),
    };
    check_transition(need.state.status, &draft)?;
    let mut fields = serde_json::Map::new();
    fields.insert("need".into(), json!(need.id));
    fields.insert(
        "step".into(),
        serde_json::to_value(to).expect("statuses serialise"),
    );
    fields.insert("at_ms".into(), json!(now_ms));
    if let Some(team) = team {
        fields.insert("team".into(), json!(team));
    }
    if let Some(due) = due_ms {
        fields.insert("due_ms".into(), json!(due));
    }
    if !draft.note.is_empty() {
        fields.insert("note".into(), json!(draft.note));
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
    use crate::state::fixtures::stamp;

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
}
