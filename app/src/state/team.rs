//! A team (工作队) as the visits page shows and edits it: the two volunteers
//! who knock together, with their phones. Saving sends only the fields that
//! changed. Teams recorded before kept their members as free text
//! (`members`), which stays readable beside the new fields.

use std::collections::BTreeMap;

use doorstep_core::{
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    record::Record,
    schema::{Collection, team},
};
use serde_json::{Value, json};

use super::household::FormError;

/// The form's fields, in screen order (core's `labels` names them).
pub const MEMBER_FIELDS: [&str; 4] = [
    "member1_name",
    "member1_phone",
    "member2_name",
    "member2_phone",
];

/// A team's members as its form holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamMembers {
    /// Field name to the text in its input; absent fields are empty.
    pub values: BTreeMap<String, String>,
    /// The free-text members of a team recorded before the fields existed.
    pub recorded_before: Option<String>,
}

impl TeamMembers {
    pub fn of(team: Option<&Record>) -> Self {
        let text = |field: &str| {
            team.and_then(|t| t.named(field))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            values: MEMBER_FIELDS
                .iter()
                .filter_map(|name| Some((name.to_string(), text(name)?)))
                .collect(),
            recorded_before: text(team::MEMBERS.name),
        }
    }

    pub fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    /// "张三 13800000001、李四": the members as one line, for the team's
    /// summary; the free text recorded before if no member is named.
    pub fn summary(&self) -> String {
        let member = |n: u8| {
            [format!("member{n}_name"), format!("member{n}_phone")]
                .iter()
                .map(|f| self.value(f).trim())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let members: Vec<String> = [member(1), member(2)]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect();
        if members.is_empty() {
            self.recorded_before.clone().unwrap_or_default()
        } else {
            members.join("、")
        }
    }

    /// The mutation that turns `saved` into this form's values for team
    /// `id`, or `None` when nothing changed. Phones lose their spaces
    /// ("138 0000 0001"), as the roster import writes them.
    pub fn changes(
        &self,
        saved: &TeamMembers,
        compound: &CompoundId,
        id: &RecordId,
    ) -> Result<Option<Mutation>, FormError> {
        let clean = |name: &str, text: &str| {
            let text = text.trim();
            if name.ends_with("_phone") {
                text.replace(' ', "")
            } else {
                text.to_owned()
            }
        };
        let mut fields = BTreeMap::new();
        for name in MEMBER_FIELDS {
            let new = clean(name, self.value(name));
            if new == clean(name, saved.value(name)) {
                continue;
            }
            let value = if new.is_empty() {
                Value::Null
            } else {
                json!(new)
            };
            fields.insert(name.to_owned(), value);
        }
        if fields.is_empty() {
            return Ok(None);
        }
        let mutation = Mutation::Set {
            collection: Collection::Team,
            id: id.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fixtures::record;

    #[test]
    fn a_team_records_its_two_members_and_keeps_the_old_text() {
        let compound: CompoundId = "c1".parse().unwrap();
        let old = record(
            "team",
            "t1",
            json!({"name": "一队", "members": "张三、李四"}),
        );
        let saved = TeamMembers::of(Some(&old));
        assert_eq!(saved.recorded_before.as_deref(), Some("张三、李四"));
        assert_eq!(saved.summary(), "张三、李四");

        let mut form = saved.clone();
        for (field, text) in [
            ("member1_name", " 张三 "),
            ("member1_phone", "138 0000 0001"),
            ("member2_name", "李四"),
        ] {
            form.values.insert(field.into(), text.into());
        }
        let mutation = form.changes(&saved, &compound, &old.id).unwrap().unwrap();
        assert_eq!(
            mutation.fields().unwrap().clone(),
            [
                ("member1_name".to_owned(), json!("张三")),
                ("member1_phone".to_owned(), json!("13800000001")),
                ("member2_name".to_owned(), json!("李四")),
            ]
            .into()
        );
        let (stored, _) = mutation
            .apply(Some(&old), &crate::state::fixtures::stamp(2))
            .unwrap();
        let members = TeamMembers::of(Some(&stored));
        assert_eq!(members.summary(), "张三 13800000001、李四");
        assert_eq!(members.changes(&members, &compound, &old.id), Ok(None));

        // Clearing a field sends null; a name too long is refused by field.
        let mut cleared = members.clone();
        cleared.values.insert("member2_name".into(), "  ".into());
        let clearing = cleared
            .changes(&members, &compound, &old.id)
            .unwrap()
            .unwrap();
        assert_eq!(clearing.fields().unwrap()["member2_name"], Value::Null);
        let mut long = members.clone();
        long.values.insert("member1_name".into(), "王".repeat(65));
        assert_eq!(
            long.changes(&members, &compound, &old.id)
                .unwrap_err()
                .field,
            "member1_name"
        );
    }
}
