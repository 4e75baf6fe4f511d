//! Records for core's tests, made the way a phone makes them: by applying
//! an edit (a set, or an append for an append-only collection) at a stamp.

use serde_json::{Value, json};

use crate::{
    hlc::Hlc,
    ids::ClientId,
    mutation::Mutation,
    record::Record,
    schema::{Collection, Lifecycle},
};

/// A record of compound c1 holding `fields`, written by client 1 at
/// `wall_ms`.
pub fn record(collection: &str, id: &str, fields: Value, wall_ms: u64) -> Record {
    let kind = match Collection::from_name(collection)
        .expect("a collection's name")
        .lifecycle()
    {
        Lifecycle::Mutable => "set",
        Lifecycle::AppendOnly => "append",
    };
    let mutation: Mutation = serde_json::from_value(json!({
        "kind": kind,
        "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}
    }))
    .expect("a valid edit");
    let hlc = Hlc {
        wall_ms,
        counter: 0,
        node: ClientId::from_u128(1),
    };
    mutation.apply(None, &hlc).expect("applies").0
}
