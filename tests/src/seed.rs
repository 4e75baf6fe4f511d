//! What the end-to-end tests seed and type, written once: the mutations
//! pushed to the server before a phone opens, and a resident's help request
//! as the building page's form takes it.

use doorstep_core::mutation::Mutation;
use serde_json::{Value, json};

use crate::Browser;

/// The compound most tests work in.
pub const COMPOUND: &str = "yongan";

/// A `set` of `fields` on `collection`/`id` in `compound`, as a phone sends it.
pub fn set_in(compound: &str, collection: &str, id: &str, fields: Value) -> Mutation {
    mutation("set", compound, collection, id, fields)
}

/// A `set` in [`COMPOUND`].
pub fn set(collection: &str, id: &str, fields: Value) -> Mutation {
    set_in(COMPOUND, collection, id, fields)
}

/// An `append` (a log entry: stop events, need steps) in `compound`.
pub fn append_in(compound: &str, collection: &str, id: &str, fields: Value) -> Mutation {
    mutation("append", compound, collection, id, fields)
}

fn mutation(kind: &str, compound: &str, collection: &str, id: &str, fields: Value) -> Mutation {
    serde_json::from_value(json!({"kind": kind, "args": {
        "collection": collection, "id": id, "compound": compound, "fields": fields}}))
    .unwrap_or_else(|err| panic!("not a {kind} of {collection}: {err}"))
}

/// A resident's request for help, as typed into the building page's form.
pub struct HelpRequest<'a> {
    pub unit: &'a str,
    pub door: &'a str,
    /// The category's wire value (`home_test`, `medicine`, ...).
    pub category: &'a str,
    pub words: &'a str,
    pub phone: &'a str,
    pub name: &'a str,
}

impl HelpRequest<'static> {
    /// The knee-surgery request from the reports: a home test at 2-701.
    pub const HOME_TEST: Self = HelpRequest {
        unit: "2",
        door: "701",
        category: "home_test",
        words: "膝盖手术后不能下楼，想预约上门核酸",
        phone: "13912345678",
        name: "刘女士",
    };
}

impl HelpRequest<'_> {
    /// Opens the form on `resident`'s building page and fills it in, without
    /// sending (a test may look at it first).
    pub async fn fill(&self, resident: &Browser) {
        resident.tap("help-open").await;
        resident.fill("help-unit", self.unit).await;
        resident.fill("help-door", self.door).await;
        resident
            .find("help-category")
            .await
            .select_by_value(self.category)
            .await
            .unwrap();
        resident.fill("help-description", self.words).await;
        resident.fill("help-phone", self.phone).await;
        resident.fill("help-name", self.name).await;
    }
}
