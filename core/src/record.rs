//! Record state and the one merge rule every replica uses: per field, the
//! value with the highest HLC wins; a delete is a tombstone that stays.
//!
//! Merging is commutative, associative and idempotent, so replicas that have
//! seen the same edits hold the same records, whatever the order or repeats.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    hlc::Hlc,
    ids::{CompoundId, RecordId},
    schema::{Collection, Field, Vocabulary},
};

/// A field's value and the stamp of the edit that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    pub value: Value,
    pub hlc: Hlc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub collection: Collection,
    pub id: RecordId,
    /// The compound the record belongs to; fixed when it is created.
    pub compound: CompoundId,
    pub fields: BTreeMap<String, Stamped>,
    /// The latest delete, if any. Deleted records are kept so the delete syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Hlc>,
}

/// A field whose value a merge replaced: the value that lost is kept here so
/// the app can show it rather than let it vanish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overwrite {
    pub field: String,
    pub lost: Stamped,
    pub won: Stamped,
}

impl Record {
    pub fn new(collection: Collection, id: RecordId, compound: CompoundId) -> Self {
        Self {
            collection,
            id,
            compound,
            fields: BTreeMap::new(),
            deleted: None,
        }
    }

    /// A field's value; `None` when never written (a cleared field is
    /// `Some(Null)`).
    pub fn value(&self, field: Field) -> Option<&Value> {
        debug_assert_eq!(field.collection, self.collection, "{}", field.name);
        self.named(field.name)
    }

    /// A field's value by the name an edit on the wire gives it, which may
    /// be one this build does not know.
    pub fn named(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).map(|s| &s.value)
    }

    /// A text (or choice, or reference) field's value as stored.
    pub fn text(&self, field: Field) -> Option<&str> {
        self.value(field).and_then(Value::as_str)
    }

    /// A yes/no field's value.
    pub fn flag(&self, field: Field) -> Option<bool> {
        self.value(field).and_then(Value::as_bool)
    }

    /// A whole-number field's value (a count, an amount, a time in ms).
    pub fn int(&self, field: Field) -> Option<i64> {
        self.value(field).and_then(Value::as_i64)
    }

    /// A time field's value, in ms since the epoch.
    pub fn ms(&self, field: Field) -> Option<u64> {
        self.value(field).and_then(Value::as_u64)
    }

    /// A decimal field's value (a temperature).
    pub fn decimal(&self, field: Field) -> Option<f64> {
        self.value(field).and_then(Value::as_f64)
    }

    /// The record a reference field points at.
    pub fn reference(&self, field: Field) -> Option<RecordId> {
        self.text(field)?.parse().ok()
    }

    /// A choice field's value as its vocabulary's type; `None` when unset
    /// or a word this build does not know.
    pub fn choice<V: Vocabulary>(&self, field: Field) -> Option<V> {
        V::from_word(self.value(field)?.as_str()?)
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted.is_some()
    }

    /// The record as it stands without the edit stamped `hlc` (one the
    /// server refused): the fields (and delete) that edit wrote are gone, so
    /// its value no longer shows as the record's; the server's value for
    /// them comes with its next copy of the record. A record that only that
    /// edit made is left with nothing: [`Record::is_empty`].
    pub fn without_edit(&self, hlc: &Hlc) -> Record {
        let mut kept = self.clone();
        kept.fields.retain(|_, field| &field.hlc != hlc);
        if kept.deleted.as_ref() == Some(hlc) {
            kept.deleted = None;
        }
        kept
    }

    /// Of an edit's `fields`, those whose value differs from this record's:
    /// what a save needs to send.
    pub fn differing(&self, mut fields: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
        fields.retain(|name, value| self.named(name) != Some(value));
        fields
    }

    /// No field and no delete: no edit of it stands, so it is not kept.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.deleted.is_none()
    }

    /// The newest stamp anywhere in the record.
    pub fn latest_hlc(&self) -> Option<&Hlc> {
        self.fields
            .values()
            .map(|s| &s.hlc)
            .chain(self.deleted.as_ref())
            .max()
    }

    /// Folds `other` (the same record as seen elsewhere) into `self`, and
    /// returns the fields whose visible value changed to a different one.
    pub fn merge(&mut self, other: &Record) -> Vec<Overwrite> {
        debug_assert_eq!((self.collection, &self.id), (other.collection, &other.id));
        let mut overwrites = Vec::new();
        for (name, theirs) in &other.fields {
            match self.fields.get_mut(name) {
                Some(mine) if theirs.hlc > mine.hlc => {
                    if mine.value != theirs.value {
                        overwrites.push(Overwrite {
                            field: name.clone(),
                            lost: mine.clone(),
                            won: theirs.clone(),
                        });
                    }
                    *mine = theirs.clone();
                }
                Some(_) => {}
                None => {
                    self.fields.insert(name.clone(), theirs.clone());
                }
            }
        }
        if other.deleted > self.deleted {
            self.deleted = other.deleted.clone();
        }
        overwrites
    }
}
