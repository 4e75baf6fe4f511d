//! Mutations: the named edits that phones queue in their outbox and the
//! server applies. Each one is validated by [`Mutation::validate`] and applied
//! by [`Mutation::apply`], identically on both sides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    hlc::Hlc,
    ids::{CompoundId, RecordId},
    record::{Overwrite, Record, Stamped},
    schema::{Collection, Lifecycle},
};

/// `{"kind": ..., "args": {...}}` on the wire and in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "args", rename_all = "snake_case")]
pub enum Mutation {
    /// Sets some fields of a mutable record, creating it if it is new.
    Set {
        collection: Collection,
        id: RecordId,
        compound: CompoundId,
        fields: BTreeMap<String, Value>,
    },
    /// Adds an entry to an append-only ledger.
    Append {
        collection: Collection,
        id: RecordId,
        compound: CompoundId,
        fields: BTreeMap<String, Value>,
    },
    /// Tombstones a mutable record.
    Delete {
        collection: Collection,
        id: RecordId,
        compound: CompoundId,
    },
}

/// Input that can never be valid; `field` is a path inside the mutation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

/// Why a valid mutation cannot apply to the state it meets. Permanent: the
/// server records it and moves the client past it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refusal {
    pub code: crate::api::ErrorCode,
    pub message: String,
}

impl Mutation {
    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::Set { .. } => "set",
            Mutation::Append { .. } => "append",
            Mutation::Delete { .. } => "delete",
        }
    }

    pub fn collection(&self) -> Collection {
        match self {
            Mutation::Set { collection, .. }
            | Mutation::Append { collection, .. }
            | Mutation::Delete { collection, .. } => *collection,
        }
    }

    pub fn id(&self) -> &RecordId {
        match self {
            Mutation::Set { id, .. }
            | Mutation::Append { id, .. }
            | Mutation::Delete { id, .. } => id,
        }
    }

    pub fn compound(&self) -> &CompoundId {
        match self {
            Mutation::Set { compound, .. }
            | Mutation::Append { compound, .. }
            | Mutation::Delete { compound, .. } => compound,
        }
    }

    /// The fields a set or an append writes; `None` for a delete.
    pub fn fields(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Mutation::Set { fields, .. } | Mutation::Append { fields, .. } => Some(fields),
            Mutation::Delete { .. } => None,
        }
    }

    /// Whether `current` (a record's state now) already holds what this
    /// mutation says: every field it sets has that value, the entry it
    /// appends exists, the record it deletes is deleted. A refused edit that
    /// is reflected was since made again, and needs nobody's attention.
    pub fn is_reflected_in(&self, current: Option<&Record>) -> bool {
        match (self, current) {
            (Mutation::Set { fields, .. }, Some(record)) => {
                !record.is_deleted()
                    && fields
                        .iter()
                        .all(|(name, value)| record.named(name).unwrap_or(&Value::Null) == value)
            }
            (Mutation::Append { .. }, Some(_)) => true,
            (Mutation::Delete { .. }, Some(record)) => record.is_deleted(),
            (_, None) => false,
        }
    }

    /// Checks the mutation against the schema alone.
    pub fn validate(&self) -> Result<(), Invalid> {
        let collection = self.collection();
        let lifecycle_ok = match self {
            Mutation::Set { .. } | Mutation::Delete { .. } => {
                collection.lifecycle() == Lifecycle::Mutable
            }
            Mutation::Append { .. } => collection.lifecycle() == Lifecycle::AppendOnly,
        };
        if !lifecycle_ok {
            return Err(Invalid {
                field: "kind".into(),
                message: format!(
                    "{} records cannot take a {:?} mutation",
                    collection.name(),
                    self.kind()
                ),
            });
        }
        let Some(fields) = self.fields() else {
            return Ok(());
        };
        if fields.is_empty() {
            return Err(Invalid {
                field: "args.fields".into(),
                message: "sets no field".into(),
            });
        }
        for (name, value) in fields {
            let spec = collection.field(name).ok_or_else(|| Invalid {
                field: format!("args.fields.{name}"),
                message: format!("{} has no field {name:?}", collection.name()),
            })?;
            spec.check(value).map_err(|message| Invalid {
                field: format!("args.fields.{name}"),
                message,
            })?;
        }
        if let Mutation::Append { .. } = self
            && let Some(missing) = collection
                .fields()
                .iter()
                .find(|f| f.required && !fields.contains_key(f.name))
        {
            return Err(Invalid {
                field: format!("args.fields.{}", missing.name),
                message: "is required".into(),
            });
        }
        Ok(())
    }

    /// The record state this mutation alone produces, stamped with `hlc`.
    pub fn delta(&self, hlc: &Hlc) -> Record {
        let mut record = Record::new(
            self.collection(),
            self.id().clone(),
            self.compound().clone(),
        );
        match self {
            Mutation::Set { fields, .. } | Mutation::Append { fields, .. } => {
                record.fields = fields
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.clone(),
                            Stamped {
                                value: value.clone(),
                                hlc: hlc.clone(),
                            },
                        )
                    })
                    .collect();
            }
            Mutation::Delete { .. } => record.deleted = Some(hlc.clone()),
        }
        record
    }

    /// Applies a validated mutation to the record as this replica has it.
    /// Returns the new state and the values it overwrote.
    pub fn apply(
        &self,
        existing: Option<&Record>,
        hlc: &Hlc,
    ) -> Result<(Record, Vec<Overwrite>), Refusal> {
        let delta = self.delta(hlc);
        let Some(existing) = existing else {
            return Ok((delta, Vec::new()));
        };
        if existing.compound != delta.compound {
            return Err(Refusal {
                code: crate::api::ErrorCode::WrongCompound,
                message: format!(
                    "{} {} belongs to compound {}, not {}",
                    delta.collection.name(),
                    delta.id,
                    existing.compound,
                    delta.compound
                ),
            });
        }
        if let Mutation::Append { .. } = self {
            // A replayed entry is fine; a different entry under the same id is not.
            return if existing.fields == delta.fields {
                Ok((existing.clone(), Vec::new()))
            } else {
                Err(Refusal {
                    code: crate::api::ErrorCode::EntryExists,
                    message: format!(
                        "{} {} already exists; entries never change",
                        delta.collection.name(),
                        delta.id
                    ),
                })
            };
        }
        let mut merged = existing.clone();
        let overwrites = merged.merge(&delta);
        Ok((merged, overwrites))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::ClientId;

    fn hlc(wall_ms: u64, node: u128) -> Hlc {
        Hlc {
            wall_ms,
            counter: 0,
            node: ClientId::from_u128(node),
        }
    }

    fn set(fields: serde_json::Value) -> Mutation {
        serde_json::from_value(json!({
            "kind": "set",
            "args": {"collection": "household", "id": "h1", "compound": "c1", "fields": fields}
        }))
        .unwrap()
    }

    fn purchase(items: &str) -> Mutation {
        serde_json::from_value(json!({
            "kind": "append",
            "args": {"collection": "purchase", "id": "p1", "compound": "c1",
                     "fields": {"household": "h1", "items": items, "amount_cents": 1250}}
        }))
        .unwrap()
    }

    /// Data-driven: (mutation, expected validation error field or None).
    #[test]
    fn validation_table() {
        let delete_purchase = serde_json::from_value::<Mutation>(
            json!({"kind": "delete", "args": {"collection": "purchase", "id": "p1", "compound": "c1"}}),
        )
        .unwrap();
        let cases: Vec<(Mutation, Option<&str>)> = vec![
            (set(json!({"head": "王芳", "members": 3})), None),
            (set(json!({"members": 3.5})), Some("args.fields.members")),
            (set(json!({"members": 120})), Some("args.fields.members")),
            (set(json!({"colour": "red"})), Some("args.fields.colour")),
            (set(json!({})), Some("args.fields")),
            (purchase("米 10斤"), None),
            (purchase(""), Some("args.fields.items")),
            (delete_purchase, Some("kind")),
        ];
        for (mutation, expected) in cases {
            let got = mutation.validate().err().map(|e| e.field);
            assert_eq!(got.as_deref(), expected, "{mutation:?}");
        }
    }

    #[test]
    fn a_mutation_is_reflected_once_the_record_holds_what_it_said() {
        let stored = |m: &Mutation| m.apply(None, &hlc(1, 1)).unwrap().0;
        let door = set(json!({"door": "101", "head": null}));
        let delete: Mutation = serde_json::from_value(json!({
            "kind": "delete", "args": {"collection": "household", "id": "h1", "compound": "c1"}
        }))
        .unwrap();
        let same = stored(&set(json!({"door": "101", "phone": "123"})));
        let other = stored(&set(json!({"door": "102"})));
        let deleted = delete.apply(Some(&same), &hlc(2, 1)).unwrap().0;
        let bought = stored(&purchase("米"));
        for (mutation, current, expected) in [
            (&door, None, false),
            (&door, Some(&same), true),
            (&door, Some(&other), false),
            (&door, Some(&deleted), false),
            (&delete, Some(&same), false),
            (&delete, Some(&deleted), true),
            (&delete, None, false),
            (&purchase("面"), Some(&bought), true),
            (&purchase("面"), None, false),
        ] {
            assert_eq!(
                mutation.is_reflected_in(current),
                expected,
                "{mutation:?} in {current:?}"
            );
        }
    }

    #[test]
    fn wire_shape_is_kind_and_args() {
        let json = serde_json::to_value(set(json!({"door": "301"}))).unwrap();
        assert_eq!(json["kind"], "set");
        assert_eq!(json["args"]["fields"]["door"], "301");
        let unknown = serde_json::from_value::<Mutation>(json!({"kind": "drop_table", "args": {}}));
        assert!(unknown.unwrap_err().to_string().contains("unknown variant"));
    }

    #[test]
    fn later_edit_wins_and_reports_what_it_overwrote() {
        let (first, _) = set(json!({"phone": "111"}))
            .apply(None, &hlc(10, 1))
            .unwrap();
        let (second, overwrites) = set(json!({"phone": "222"}))
            .apply(Some(&first), &hlc(20, 2))
            .unwrap();
        assert_eq!(second.named("phone"), Some(&json!("222")));
        assert_eq!(overwrites.len(), 1);
        assert_eq!(overwrites[0].lost.value, json!("111"));
        // An older edit arriving late changes nothing.
        let (third, overwrites) = set(json!({"phone": "000"}))
            .apply(Some(&second), &hlc(5, 3))
            .unwrap();
        assert_eq!(third, second);
        assert!(overwrites.is_empty());
    }

    #[test]
    fn entries_never_change_but_replays_are_harmless() {
        let (entry, _) = purchase("米").apply(None, &hlc(10, 1)).unwrap();
        let (replayed, _) = purchase("米").apply(Some(&entry), &hlc(10, 1)).unwrap();
        assert_eq!(replayed, entry);
        let refusal = purchase("面").apply(Some(&entry), &hlc(11, 1)).unwrap_err();
        assert_eq!(refusal.code, crate::api::ErrorCode::EntryExists);
    }

    #[test]
    fn a_record_cannot_move_compound() {
        let (record, _) = set(json!({"door": "1"})).apply(None, &hlc(1, 1)).unwrap();
        let mut elsewhere = set(json!({"door": "2"}));
        if let Mutation::Set { compound, .. } = &mut elsewhere {
            *compound = "c2".parse().unwrap();
        }
        assert_eq!(
            elsewhere.apply(Some(&record), &hlc(2, 1)).unwrap_err().code,
            crate::api::ErrorCode::WrongCompound
        );
    }

    #[test]
    fn delete_is_a_tombstone_that_later_edits_do_not_lift() {
        let delete = serde_json::from_value::<Mutation>(
            json!({"kind": "delete", "args": {"collection": "household", "id": "h1", "compound": "c1"}}),
        )
        .unwrap();
        let (record, _) = set(json!({"door": "1"})).apply(None, &hlc(1, 1)).unwrap();
        let (deleted, _) = delete.apply(Some(&record), &hlc(2, 1)).unwrap();
        let (edited, _) = set(json!({"door": "2"}))
            .apply(Some(&deleted), &hlc(3, 2))
            .unwrap();
        assert!(edited.is_deleted());
        assert_eq!(edited.named("door"), Some(&json!("2")));
    }
}
