//! What a phone keeps when a pulled change beats its own edit: the value that
//! lost, so "另一位志愿者改为…" can be shown instead of the edit vanishing.

use serde::{Deserialize, Serialize};

use crate::{
    ids::{ClientId, RecordId},
    record::{Record, Stamped},
    schema::Collection,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub collection: Collection,
    pub id: RecordId,
    pub field: String,
    /// This device's value, which lost.
    pub mine: Stamped,
    /// The value another device wrote later, which now shows.
    pub theirs: Stamped,
}

impl Conflict {
    /// The storage key: one open conflict per field of a record.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.collection.name(), self.id, self.field)
    }
}

/// Merges a pulled record into this device's copy. Fields this device had
/// written and that another device overwrote come back as conflicts.
pub fn merge_pulled(
    local: Option<Record>,
    pulled: &Record,
    me: ClientId,
) -> (Record, Vec<Conflict>) {
    let Some(mut record) = local else {
        return (pulled.clone(), Vec::new());
    };
    let conflicts = record
        .merge(pulled)
        .into_iter()
        .filter(|overwrite| overwrite.lost.hlc.node == me)
        .map(|overwrite| Conflict {
            collection: record.collection,
            id: record.id.clone(),
            field: overwrite.field,
            mine: overwrite.lost,
            theirs: overwrite.won,
        })
        .collect();
    (record, conflicts)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{hlc::Hlc, mutation::Mutation};

    fn edit(node: u128, wall_ms: u64, field: &str, value: &str, base: Option<&Record>) -> Record {
        let mutation: Mutation = serde_json::from_value(json!({
            "kind": "set",
            "args": {"collection": "household", "id": "h1", "compound": "c1", "fields": {field: value}}
        }))
        .unwrap();
        let hlc = Hlc {
            wall_ms,
            counter: 0,
            node: ClientId::from_u128(node),
        };
        mutation.apply(base, &hlc).unwrap().0
    }

    #[test]
    fn my_edit_beaten_by_a_later_one_is_kept_as_a_conflict() {
        let me = ClientId::from_u128(1);
        let mine = edit(1, 10, "head", "张三", None);
        let theirs = edit(2, 20, "head", "李四", None);
        let (merged, conflicts) = merge_pulled(Some(mine), &theirs, me);
        assert_eq!(merged.named("head"), Some(&json!("李四")));
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].mine.value, json!("张三"));
        assert_eq!(conflicts[0].theirs.value, json!("李四"));
        assert_eq!(conflicts[0].key(), "household/h1/head");
    }

    /// Data-driven: (my wall time, their wall time, whose value was local,
    /// expected value, expected conflict count).
    #[test]
    fn only_my_losing_edits_are_conflicts() {
        let me = ClientId::from_u128(1);
        for (local_node, local_wall, pulled_wall, expected, conflicts) in [
            (1, 10, 20, "pulled", 1), // my edit lost
            (1, 30, 20, "local", 0),  // my edit won; the server will get it
            (3, 10, 20, "pulled", 0), // a third device's value was replaced: not my edit
        ] {
            let local = edit(local_node, local_wall, "phone", "local", None);
            let pulled = edit(2, pulled_wall, "phone", "pulled", None);
            let (merged, found) = merge_pulled(Some(local), &pulled, me);
            assert_eq!(merged.named("phone"), Some(&json!(expected)));
            assert_eq!(
                found.len(),
                conflicts,
                "local by {local_node} at {local_wall}"
            );
        }
        // Different fields never conflict.
        let local = edit(1, 10, "phone", "1", None);
        let pulled = edit(2, 20, "notes", "独居", None);
        let (merged, found) = merge_pulled(Some(local), &pulled, me);
        assert!(found.is_empty());
        assert_eq!(
            (merged.named("phone"), merged.named("notes")),
            (Some(&json!("1")), Some(&json!("独居")))
        );
    }
}
