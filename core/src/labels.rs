//! The words people read for what the schema names: each collection, each
//! field, each value of a fixed vocabulary (a door's outcome, a care group,
//! a need's category and step) and the descriptions a door checklist
//! writes. One table per language, in `core/locales/*.json`, read by the
//! phone's pages and the server's spreadsheets alike; the tests below hold
//! it to the schema, so a new field or choice without words fails them.

use serde_json::Value;

use crate::{need::Status, schema::Collection};

include!(concat!(env!("OUT_DIR"), "/labels_table.rs"));

/// The languages Doorstep speaks: Chinese by default, English one tap away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    #[default]
    Zh,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Zh, Locale::En];

    /// BCP 47 tag, for `<html lang>` and a stored preference.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Zh => "zh-CN",
            Locale::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.tag() == tag)
    }

    pub fn other(self) -> Self {
        match self {
            Locale::Zh => Locale::En,
            Locale::En => Locale::Zh,
        }
    }
}

fn lookup(key: &str, locale: Locale) -> Option<&'static str> {
    let at = LABELS.binary_search_by(|(k, _, _)| (*k).cmp(key)).ok()?;
    let (_, zh, en) = LABELS[at];
    Some(match locale {
        Locale::Zh => zh,
        Locale::En => en,
    })
}

/// A fixed word of this table (`value.true`, …); the tests prove each exists.
fn word(key: &str, locale: Locale) -> &'static str {
    lookup(key, locale).unwrap_or("?")
}

/// What a collection's records are called ("住户").
pub fn collection(collection: Collection, locale: Locale) -> &'static str {
    word(&format!("collection.{}", collection.name()), locale)
}

/// A field's name as people read it ("户主"); a field the schema does not
/// know is shown as it is written.
pub fn field<'a>(collection: Collection, field: &'a str, locale: Locale) -> &'a str {
    lookup(&format!("field.{}.{field}", collection.name()), locale).unwrap_or(field)
}

/// One value of a field's fixed vocabulary ("无人应答"), if it is one.
pub fn choice(
    collection: Collection,
    field: &str,
    value: &str,
    locale: Locale,
) -> Option<&'static str> {
    lookup(
        &format!("choice.{}.{field}.{value}", collection.name()),
        locale,
    )
}

/// A need's state, named like the step that led to it; a need with no step
/// yet reads as collected.
pub fn status(status: Option<Status>, locale: Locale) -> &'static str {
    let step = status.map_or("collected", Status::name);
    word(&format!("choice.need_event.step.{step}"), locale)
}

/// A need's description: the words a door checklist writes
/// (`visit::RAISED`) as a sentence, people's own words as they are.
pub fn description(description: &str, locale: Locale) -> &str {
    lookup(&format!("raised.{description}"), locale).unwrap_or(description)
}

/// One stored value as people read it: a vocabulary's word, yes/no, a
/// number of stops, text as it is.
pub fn value(collection: Collection, field: &str, value: &Value, locale: Locale) -> String {
    match value {
        Value::Null => word("value.cleared", locale).to_owned(),
        Value::Bool(true) => word("value.true", locale).to_owned(),
        Value::Bool(false) => word("value.false", locale).to_owned(),
        Value::String(text) => {
            choice(collection, field, text, locale).map_or_else(|| text.clone(), str::to_owned)
        }
        Value::Array(stops) => format!("{}{}", stops.len(), word("value.stops", locale)),
        other => other.to_string(),
    }
}

/// An edit's fields as one line ("户主：张三；人数：3"), in schema order
/// where the schema knows them.
pub fn fields<'a>(
    collection: Collection,
    fields: impl IntoIterator<Item = (&'a String, &'a Value)>,
    locale: Locale,
) -> String {
    let order = |name: &str| {
        collection
            .fields()
            .iter()
            .position(|f| f.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut fields: Vec<_> = fields.into_iter().collect();
    fields.sort_by_key(|(name, _)| order(name));
    fields
        .into_iter()
        .map(|(name, v)| {
            format!(
                "{}{}{}",
                field(collection, name, locale),
                word("value.colon", locale),
                value(collection, name, v, locale)
            )
        })
        .collect::<Vec<_>>()
        .join(word("value.separator", locale))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::schema::FieldType;

    /// Every key the schema and core's vocabularies need, and no other.
    fn expected_keys() -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for c in Collection::ALL {
            keys.insert(format!("collection.{}", c.name()));
            for spec in c.fields() {
                keys.insert(format!("field.{}.{}", c.name(), spec.name));
                if let FieldType::Choice(words) = spec.ty {
                    for word in words {
                        keys.insert(format!("choice.{}.{}.{word}", c.name(), spec.name));
                    }
                }
            }
        }
        for raised in crate::visit::RAISED {
            keys.insert(format!("raised.{raised}"));
        }
        for word in ["true", "false", "cleared", "stops", "colon", "separator"] {
            keys.insert(format!("value.{word}"));
        }
        keys
    }

    #[test]
    fn the_table_names_exactly_what_the_schema_holds() {
        let table: BTreeSet<String> = LABELS.iter().map(|(k, _, _)| (*k).to_owned()).collect();
        let expected = expected_keys();
        let missing: Vec<_> = expected.difference(&table).collect();
        let stale: Vec<_> = table.difference(&expected).collect();
        assert!(
            missing.is_empty(),
            "core/locales/*.json lack words for {missing:?}"
        );
        assert!(
            stale.is_empty(),
            "core/locales/*.json name what the schema no longer has: {stale:?}"
        );
        let sorted = LABELS.windows(2).all(|w| w[0].0 < w[1].0);
        assert!(sorted, "the generated table must be sorted for lookup");
    }

    #[test]
    fn each_language_has_its_own_words() {
        assert_eq!(
            choice(Collection::Visit, "outcome", "no_answer", Locale::Zh),
            Some("无人应答")
        );
        assert_eq!(
            choice(Collection::Visit, "outcome", "no_answer", Locale::En),
            Some("No answer")
        );
        assert_eq!(
            choice(Collection::Visit, "outcome", "maybe", Locale::Zh),
            None
        );
        assert_eq!(field(Collection::Household, "head", Locale::Zh), "户主");
        assert_eq!(
            field(Collection::Household, "mystery", Locale::Zh),
            "mystery"
        );
        assert_eq!(status(None, Locale::Zh), "已收集");
        assert_eq!(status(Some(Status::Closed), Locale::En), "Closed");
        assert_eq!(description("clothes", Locale::Zh), "衣物不够保暖");
        assert_eq!(description("楼下漏水", Locale::Zh), "楼下漏水");
    }

    #[test]
    fn an_edit_reads_as_words_in_schema_order() {
        let edit = [
            ("outcome".to_owned(), json!("revisit")),
            ("food_ok".to_owned(), json!(false)),
            ("temperature_c".to_owned(), json!(36.6)),
            ("symptoms".to_owned(), json!(null)),
        ];
        let read = |locale| fields(Collection::Visit, edit.iter().map(|(k, v)| (k, v)), locale);
        assert_eq!(
            read(Locale::Zh),
            "敲门结果：需回访；体温（°C）：36.6；症状：（清空）；食物充足：否"
        );
        assert_eq!(
            read(Locale::En),
            "Outcome: Revisit; Temperature (°C): 36.6; Symptoms: (cleared); Enough food: no"
        );
    }

    #[test]
    fn locales_round_trip_their_tags() {
        for locale in Locale::ALL {
            assert_eq!(Locale::from_tag(locale.tag()), Some(locale));
            assert_ne!(locale.other(), locale);
        }
    }
}
