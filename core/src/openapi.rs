//! OpenAPI schemas (feature `openapi`) for the wire types whose JSON is
//! written by hand rather than derived: the HLC's text form, ids, the
//! compact pull page and the vocabularies. Everything else derives
//! `utoipa::ToSchema` next to its type. Only the server enables the
//! feature; the app's WASM build never compiles this.

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        RefOr,
        schema::{Object, ObjectBuilder, Schema, Type},
    },
};

use crate::{
    help::{CATEGORIES, HelpField, HelpForm, PHONE_DIGITS},
    hlc::Hlc,
    ids::{ClientId, CompoundId, RecordId},
    schema::{Collection, Vocabulary},
    sync::{PullPage, SUPPORTED_SCHEMA},
};

/// The schemas registered alongside a type: `(name, schema)` pairs.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// A schema written as JSON Schema text; it must be one (a test reads each).
pub fn from_json(schema: Value) -> RefOr<Schema> {
    serde_json::from_value(schema).expect("a hand-written schema is valid OpenAPI")
}

/// Registers `T` and what it refers to, for a hand-written schema's `$ref`s.
pub fn register<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// The `$ref` of a registered schema.
pub fn reference<T: ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
}

/// A string schema of a vocabulary's wire words (`vocabulary!`).
pub fn words(words: &[&str]) -> RefOr<Schema> {
    from_json(json!({ "type": "string", "enum": words }))
}

/// `schema_version`: the formats this server accepts, and no other.
pub fn schema_version() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(*SUPPORTED_SCHEMA.start()))
        .maximum(Some(*SUPPORTED_SCHEMA.end()))
        .description(Some(
            "The wire format the app speaks (`info.version`). Another is refused \
             whole with 422 `unsupported_schema`.",
        ))
        .build()
}

/// The pattern of [`CompoundId`], [`RecordId`] and the district's id.
pub const TEXT_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// Implements `ToSchema` from a JSON schema, registering its `$ref`s.
macro_rules! hand_written {
    ($ty:ty, $name:literal, [$($dep:ty),*], $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                from_json($schema)
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn schemas(_schemas: &mut Schemas) {
                $(register::<$dep>(_schemas);)*
            }
        }
    };
}

hand_written!(HelpForm, "HelpForm", [], {
    let text = |field: HelpField, description: &str| json!({"type": "string", "maxLength": field.max_chars(), "description": description});
    let mut required = text(
        HelpField::Door,
        "The door, as the resident writes it (`702`).",
    );
    required["minLength"] = json!(1);
    required["pattern"] = json!("\\S");
    let categories: Vec<&str> = CATEGORIES.iter().map(|c| c.word()).collect();
    json!({
        "description": "A resident's request, as the building page's form posts it. Beyond \
                        these rules a value is trimmed, and full-width digits read as ASCII.",
        "type": "object",
        "required": [HelpField::Door.name(), HelpField::Category.name(), HelpField::Phone.name()],
        "properties": {
            HelpField::Unit.name(): text(HelpField::Unit, "The unit (单元), if the building has them."),
            HelpField::Door.name(): required,
            HelpField::Category.name(): {"type": "string", "enum": categories},
            HelpField::Description.name(): text(HelpField::Description, "What is needed, in the resident's words."),
            // The length is in the words, not `maxLength`: with the
            // pattern, few generated strings would fit both.
            HelpField::Phone.name(): {
                "type": "string",
                "description": format!(
                    "A number to call back: digits, with `+`, `-`, spaces and brackets between \
                     them; at most {} characters.",
                    HelpField::Phone.max_chars()
                ),
                "pattern": format!(
                    "^[-+() ]*([0-9][-+() ]*){{{},{}}}$",
                    PHONE_DIGITS.start(),
                    PHONE_DIGITS.end()
                ),
            },
            HelpField::Name.name(): text(HelpField::Name, "Whom to ask for."),
            "lang": {"type": "string", "description": "The page's language for the answer: `en`, else Chinese."},
        },
    })
});

hand_written!(
    ClientId,
    "ClientId",
    [],
    json!({
        "description": "One phone's local database; never reused.",
        "type": "string",
        "format": "uuid",
    })
);

hand_written!(
    Hlc,
    "Hlc",
    [],
    json!({
        "description": "Hybrid logical timestamp `wall_ms.counter.client_id`. Ordered by wall \
                        time, then counter, then client id.",
        "type": "string",
        "pattern": "^[0-9]{1,19}\\.[0-9]{1,9}\\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        "examples": ["1764000000000.7.00000000-0000-0000-0000-000000000003"],
    })
);

hand_written!(
    PullPage,
    "PullPage",
    [CompoundId, ClientId, Collection, RecordId],
    {
        let stamp = json!({
            "description": "`[wall_ms − wall, counter, client]` (`client` an index into `clients`), trailing zeros left out.",
            "type": "array", "maxItems": 3, "items": {"type": "integer", "minimum": 0},
        });
        json!({
        "description": "One page of the compound's changes in the compact form of `page.rs` \
                        (schema 3): each client id, collection and field name appears once per \
                        page in `clients`, `collections` and `fields`, and each change refers to \
                        them by index; stamps count from `wall`. In the answer to a push, what \
                        that push wrote is left out (the phone already has it); a `reset` page \
                        is sent whole.",
        "type": "object",
        "required": ["compound", "clients", "collections", "fields", "wall", "changes", "cursor", "more", "remaining", "scope"],
        "properties": {
            "compound": reference::<CompoundId>(),
            "clients": {"type": "array", "items": reference::<ClientId>(),
                        "description": "The clients whose stamps the page carries."},
            "collections": {"type": "array", "items": reference::<Collection>()},
            "fields": {"type": "array", "items": {"type": "string"}},
            "wall": {"type": "integer", "minimum": 0, "description": "The earliest wall time (ms) among the page's stamps."},
            "changes": {
                "type": "array",
                "maxItems": crate::sync::PULL_PAGE_SIZE,
                "items": {
                    "description": "One record's current state: `[seq step, collection, id, stamp, fields, delete?]`. \
                                    `seq` is the step from the previous change's (the first's from 0); \
                                    `stamp` the one most of its fields carry; a field is `[field, value]` \
                                    with that stamp, else `[field, value, …its own stamp]` (`null` means cleared); \
                                    `delete` only when deleted: `[]` at the record's stamp, else its own.",
                    "type": "array",
                    "minItems": 5,
                    "maxItems": 6,
                    "prefixItems": [
                        {"type": "integer"},
                        {"type": "integer", "minimum": 0},
                        reference::<RecordId>(),
                        stamp.clone(),
                        {"type": "array", "items": {
                            "type": "array", "minItems": 2, "maxItems": 5,
                            "prefixItems": [{"type": "integer", "minimum": 0}, {}],
                            "items": {"type": "integer", "minimum": 0},
                        }},
                        stamp.clone(),
                    ],
                },
            },
            "cursor": {"type": "integer", "minimum": 0, "description": "Store this once the page is committed; pull again from it."},
            "more": {"type": "boolean"},
            "remaining": {"type": "integer", "minimum": 0},
            "scope": {"type": "string", "description": "Send it back with the next pull."},
            "reset": {"type": "boolean", "description": "The scope changed: the phone drops every stored record first. Absent when false."},
        },
        })
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each hand-written schema parses, and the refs it names are registered.
    #[test]
    fn hand_written_schemas_read_and_register_their_refs() {
        let mut schemas = Schemas::new();
        register::<PullPage>(&mut schemas);
        register::<Hlc>(&mut schemas);
        let names: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
        for name in [
            "PullPage",
            "CompoundId",
            "ClientId",
            "Collection",
            "RecordId",
            "Hlc",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        let version = serde_json::to_value(schema_version()).unwrap();
        assert_eq!(version["minimum"], json!(SUPPORTED_SCHEMA.start()));
    }

    /// Bounds written as literals in `#[schema(...)]` are the constants'.
    #[test]
    fn stated_bounds_are_the_rules() {
        let json = |schema: RefOr<Schema>| serde_json::to_value(schema).unwrap();
        let invite = json(crate::api::InviteRequest::schema());
        assert_eq!(
            invite["properties"]["uses"]["maximum"],
            json!(crate::invite::MAX_USES)
        );
        assert_eq!(
            invite["properties"]["hours"]["maximum"],
            json!(crate::invite::MAX_HOURS)
        );
        let sync = json(crate::sync::SyncRequest::schema());
        assert_eq!(
            sync["properties"]["mutations"]["maxItems"],
            json!(crate::sync::MAX_PUSH_MUTATIONS)
        );
    }
}
