//! A household (户) as the registry screens show and edit it. Saving sends
//! only the fields that changed, so two volunteers editing different fields
//! of one household both keep their edits.

use std::collections::BTreeMap;

use doorstep_core::{
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    record::Record,
    schema::{Collection, Field, FieldType, household},
};
use serde_json::Value;

/// The form's fields, in screen order (core's `labels` names them): the
/// schema's.
pub const FIELDS: &[Field] = household::ALL;

#[derive(Clone, Debug, PartialEq)]
pub struct Household {
    pub id: RecordId,
    /// Field name to the text shown in its input; absent fields are empty.
    pub values: BTreeMap<String, String>,
}

/// The field a form could not save, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormError {
    pub field: String,
    pub message: String,
}

impl Household {
    pub fn from_record(record: &Record) -> Self {
        let values = record
            .fields
            .iter()
            .filter_map(|(name, stamped)| {
                Self::shown(Some(&stamped.value)).map(|text| (name.clone(), text))
            })
            .collect();
        Self {
            id: record.id.clone(),
            values,
        }
    }

    /// A stored value as its input shows it; nothing for an empty one.
    pub fn shown(value: Option<&Value>) -> Option<String> {
        match value? {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }

    pub fn blank(id: RecordId) -> Self {
        Self {
            id,
            values: BTreeMap::new(),
        }
    }

    pub fn value(&self, field: Field) -> &str {
        self.values.get(field.name).map_or("", String::as_str)
    }

    pub fn building(&self) -> &str {
        self.value(household::BUILDING)
    }

    pub fn head(&self) -> &str {
        self.value(household::HEAD)
    }

    pub fn phone(&self) -> &str {
        self.value(household::PHONE)
    }

    /// The address and the head ("3 · 2 · 301 王芳"), as lists name a
    /// household.
    pub fn title(&self) -> String {
        format!("{} {}", self.address(), self.head())
    }

    /// "3栋 2单元 301" style address, from whichever parts are filled in.
    pub fn address(&self) -> String {
        ADDRESS
            .iter()
            .map(|f| self.value(*f).trim())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The mutation that turns `saved` into this form's values, or `None`
    /// when nothing changed.
    pub fn changes(
        &self,
        saved: &Household,
        compound: &CompoundId,
    ) -> Result<Option<Mutation>, FormError> {
        let mut fields = BTreeMap::new();
        for &field in FIELDS {
            let new = self.value(field).trim();
            if new == saved.value(field).trim() {
                continue;
            }
            fields.insert(field.into(), parse(field, new)?);
        }
        if fields.is_empty() {
            return Ok(None);
        }
        let mutation = Mutation::Set {
            collection: Collection::Household,
            id: self.id.clone(),
            compound: compound.clone(),
            fields,
        };
        mutation.validate().map_err(|e| FormError {
            field: e.field.rsplit('.').next().unwrap_or_default().to_owned(),
            message: e.message,
        })?;
        Ok(Some(mutation))
    }
}

/// The fields of an address, in the order people read it.
const ADDRESS: [Field; 3] = [household::BUILDING, household::UNIT, household::DOOR];

/// Orders households by building, unit and door, comparing numbers as numbers.
pub fn sort_key(household: &Household) -> Vec<(u64, String)> {
    ADDRESS
        .iter()
        .map(|f| {
            let text = household.value(*f);
            let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
            (digits.parse().unwrap_or(u64::MAX), text.to_owned())
        })
        .collect()
}

fn parse(field: Field, text: &str) -> Result<Value, FormError> {
    if text.is_empty() {
        return Ok(Value::Null);
    }
    match field.spec().ty {
        FieldType::Int { .. } => text.parse::<i64>().map(Value::from).map_err(|_| FormError {
            field: field.into(),
            message: "must be a whole number".into(),
        }),
        _ => Ok(Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form(values: &[(&str, &str)]) -> Household {
        let mut household = Household::blank("h1".parse().unwrap());
        for (k, v) in values {
            household.values.insert((*k).into(), (*v).into());
        }
        household
    }

    fn compound() -> CompoundId {
        "c1".parse().unwrap()
    }

    #[test]
    fn only_changed_fields_are_sent() {
        let saved = form(&[("door", "301"), ("head", "王芳"), ("members", "2")]);
        let edited = form(&[
            ("door", "301"),
            ("head", "王芳"),
            ("members", "3"),
            ("phone", "138"),
        ]);
        let Some(Mutation::Set { fields, .. }) = edited.changes(&saved, &compound()).unwrap()
        else {
            panic!("expected a set")
        };
        assert_eq!(
            fields,
            BTreeMap::from([("members".into(), json!(3)), ("phone".into(), json!("138"))])
        );
        assert_eq!(saved.changes(&saved, &compound()).unwrap(), None);
    }

    #[test]
    fn clearing_a_field_sends_null_and_bad_numbers_name_their_field() {
        let saved = form(&[("notes", "独居")]);
        let Some(Mutation::Set { fields, .. }) = form(&[]).changes(&saved, &compound()).unwrap()
        else {
            panic!("expected a set")
        };
        assert_eq!(fields["notes"], Value::Null);
        assert_eq!(
            form(&[("members", "three")])
                .changes(&saved, &compound())
                .unwrap_err()
                .field,
            "members"
        );
        assert_eq!(
            form(&[("members", "150")])
                .changes(&saved, &compound())
                .unwrap_err()
                .field,
            "members"
        );
    }

    #[test]
    fn address_joins_what_is_filled_in() {
        assert_eq!(
            form(&[("building", "3"), ("door", "301")]).address(),
            "3 · 301"
        );
    }
}
