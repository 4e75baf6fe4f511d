//! Records for the state modules' tests, made the way the app makes them:
//! by applying a mutation at a clock stamp.

use doorstep_core::{hlc::Hlc, ids::ClientId, mutation::Mutation, record::Record};
use serde_json::{Value, json};

/// A stamp from this phone (client 1) at `wall_ms`.
pub fn stamp(wall_ms: u64) -> Hlc {
    Hlc {
        wall_ms,
        counter: 0,
        node: ClientId::from_u128(1),
    }
}

/// A household of compound c1 at `building`, `door`.
pub fn household(id: &str, building: &str, door: &str) -> Record {
    record("household", id, json!({"building": building, "door": door}))
}

/// A record of compound c1 with `fields`, set (not appended) at stamp 1.
pub fn record(collection: &str, id: &str, fields: Value) -> Record {
    let mutation: Mutation = serde_json::from_value(json!({
        "kind": "set",
        "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}
    }))
    .expect("a valid mutation");
    mutation.apply(None, &stamp(1)).expect("applies").0
}
