//! Issue 15 (the sync and store half), through the real router on a real
//! database (SQLite, or PostgreSQL with `DOORSTEP_TEST_BACKEND=postgres`):
//! a late edit cannot move a record (item 1), a retried mid must carry the
//! same edit (7), the server holds records to the phone's rules (9), one
//! device cannot flood the refused list, and moving a record to another
//! household resets old phones (12).

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    access::Role,
    api::RefusedEdit,
    hlc::Hlc,
    ids::{ClientId, CompoundId},
    record::Record,
    schema::Collection,
};
use doorstep_server::{AppState, now_ms, store::REFUSED_PER_DEVICE};
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

/// A mutation as client `client` pushes it, stamped at `wall_ms`.
fn at(
    wall_ms: u64,
    mid: u64,
    client: u128,
    kind: &str,
    collection: &str,
    id: &str,
    fields: Value,
) -> Value {
    let node = ClientId::from_u128(client);
    let mut args = json!({"collection": collection, "id": id, "compound": "c1"});
    if kind != "delete" {
        args["fields"] = fields;
    }
    json!({"mid": mid, "hlc": Hlc { wall_ms, counter: mid as u32, node }.to_string(),
           "kind": kind, "args": args})
}

/// [`at`] a second ago.
fn m(mid: u64, client: u128, kind: &str, collection: &str, id: &str, fields: Value) -> Value {
    at(now_ms() - 1000, mid, client, kind, collection, id, fields)
}

fn push(client: u128, mutations: Vec<Value>) -> Value {
    json!({"client_id": ClientId::from_u128(client), "schema_version": SCHEMA_VERSION, "mutations": mutations})
}

fn pull(client: u128, cursor: u64, scope: Option<&str>) -> Value {
    json!({"client_id": ClientId::from_u128(client), "schema_version": SCHEMA_VERSION,
           "pull": {"compound": "c1", "cursor": cursor, "scope": scope}})
}

async fn sync(state: &AppState, auth: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .header("authorization", auth)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, bytes) = support::send(state, request).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The (mid, code) of each rejection in a push's answer.
fn rejected(response: &Value) -> Vec<(u64, String)> {
    response["rejected"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| {
            (
                r["mid"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ids(response: &Value) -> Vec<String> {
    support::pull_page(response)
        .changes
        .iter()
        .map(|c| c.record.id.to_string())
        .collect()
}

fn c1() -> CompoundId {
    "c1".parse().unwrap()
}

/// Every record of c1, to compare before and after.
async fn records(state: &AppState) -> Vec<Record> {
    let mut all = Vec::new();
    for collection in Collection::ALL {
        all.extend(state.store.records_of(&c1(), collection).await.unwrap());
    }
    all.sort_by(|a, b| (a.collection.name(), &a.id).cmp(&(b.collection.name(), &b.id)));
    all
}

/// c1 with team T1 on buildings 1 and 3, households h1 (building 1, with a
/// person, a visit and a need), h2 (building 2) and h3 (building 3); client
/// 1 is the coordinator's phone, which has pushed mids 1 to 10.
async fn seeded(dir: &TempDir) -> (support::TestDatabase, AppState, String) {
    let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    let coordinator = support::coordinator(&state, "c1").await;
    let seed = push(
        1,
        vec![
            m(1, 1, "set", "team", "T1", json!({"name": "一队"})),
            m(
                2,
                1,
                "set",
                "assignment",
                "A1",
                json!({"building": "1", "team": "T1"}),
            ),
            m(
                3,
                1,
                "set",
                "assignment",
                "A3",
                json!({"building": "3", "team": "T1"}),
            ),
            m(
                4,
                1,
                "set",
                "household",
                "h1",
                json!({"building": "1", "door": "101"}),
            ),
            m(
                5,
                1,
                "set",
                "household",
                "h2",
                json!({"building": "2", "door": "201"}),
            ),
            m(
                6,
                1,
                "set",
                "household",
                "h3",
                json!({"building": "3", "door": "301"}),
            ),
            m(
                7,
                1,
                "set",
                "person",
                "p1",
                json!({"household": "h1", "name": "王芳"}),
            ),
            m(
                8,
                1,
                "set",
                "visit",
                "v1",
                json!({"household": "h1", "outcome": "visited", "temperature_c": 36.5}),
            ),
            m(
                9,
                1,
                "set",
                "need",
                "n1",
                json!({"household": "h1", "category": "food"}),
            ),
            m(
                10,
                1,
                "append",
                "need_event",
                "e1",
                json!({"need": "n1", "step": "collected", "at_ms": 1}),
            ),
        ],
    );
    let (status, response) = sync(&state, &coordinator, seed).await;
    assert_eq!(
        (status, rejected(&response)),
        (StatusCode::OK, vec![]),
        "{response}"
    );
    (db, state, coordinator)
}

/// Item 1: building 1 goes to team 2; team 1's phone, offline since, moves
/// h1 (and its person) into building 3, which team 1 still holds, stamped
/// just before the move. Accepted, that would hand team 1 a household it
/// may no longer see, with everything in it.
#[tokio::test]
async fn a_late_edit_cannot_move_a_household_out_of_an_ended_building() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let volunteer = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let released = now_ms();
    let hand_over = push(
        1,
        vec![at(
            released,
            11,
            1,
            "set",
            "assignment",
            "A1",
            json!({"team": "T2"}),
        )],
    );
    assert_eq!(
        sync(&state, &coordinator, hand_over).await.0,
        StatusCode::OK
    );
    let before = records(&state).await;

    let exploit = push(
        2,
        vec![
            at(
                released - 1,
                1,
                2,
                "set",
                "household",
                "h1",
                json!({"building": "3"}),
            ),
            at(
                released - 1,
                2,
                2,
                "set",
                "person",
                "p1",
                json!({"household": "h3"}),
            ),
            at(
                released - 1,
                3,
                2,
                "set",
                "visit",
                "v1",
                json!({"household": "h3"}),
            ),
            // What a late edit may still do: change what h1 says.
            at(
                released - 1,
                4,
                2,
                "set",
                "household",
                "h1",
                json!({"door": "102"}),
            ),
        ],
    );
    let (status, response) = sync(&state, &volunteer, exploit).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let forbidden = |mid| (mid, "forbidden".to_owned());
    assert_eq!(
        rejected(&response),
        [forbidden(1), forbidden(2), forbidden(3)]
    );

    let after = records(&state).await;
    let h1 = |records: &[Record]| {
        records
            .iter()
            .find(|r| r.id.as_str() == "h1")
            .cloned()
            .unwrap()
    };
    assert_eq!(h1(&after).named("building"), Some(&json!("1")));
    assert_eq!(h1(&after).named("door"), Some(&json!("102")));
    let others = |records: &[Record]| -> Vec<Record> {
        records
            .iter()
            .filter(|r| r.id.as_str() != "h1")
            .cloned()
            .collect()
    };
    assert_eq!(others(&after), others(&before), "nothing else changed");
    let (_, pulled) = sync(&state, &volunteer, pull(2, 0, None)).await;
    for id in ["h1", "p1", "v1", "n1", "e1"] {
        assert!(
            !ids(&pulled).contains(&id.to_owned()),
            "{id} pulled: {pulled}"
        );
    }
}

/// Item 7: an acknowledged mid sent again must carry the same edit.
#[tokio::test]
async fn a_retried_mid_with_another_edit_is_refused_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let (db, state, coordinator) = seeded(&dir).await;
    let first = m(11, 1, "set", "household", "h2", json!({"door": "202"}));
    let (status, response) = sync(&state, &coordinator, push(1, vec![first.clone()])).await;
    assert_eq!((status, rejected(&response)), (StatusCode::OK, vec![]));

    // The same edit again (its answer was lost): idempotent.
    let (status, response) = sync(&state, &coordinator, push(1, vec![first.clone()])).await;
    assert_eq!(
        (status, response["last_mid"].as_u64()),
        (StatusCode::OK, Some(11))
    );

    // The same edit written out differently (keys in another order, spaces,
    // escapes): the digest is of the decoded mutation, so still the same.
    let reworded = format!(
        r#"{{ "mutations": [ {{ "args": {{ "fields": {{ "door": "\u0032\u0030\u0032" }},
              "compound": "c1", "id": "h2", "collection": "household" }},
              "kind": "set", "hlc": {hlc}, "mid": 11 }} ],
           "schema_version": {SCHEMA_VERSION}, "client_id": "{client}" }}"#,
        hlc = first["hlc"],
        client = ClientId::from_u128(1),
    );
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .header("authorization", &coordinator)
        .body(Body::from(reworded))
        .unwrap();
    let (status, _, bytes) = support::send(&state, request).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );

    // Another edit under mid 11, alone or before a new mid: refused whole.
    let mut other = first.clone();
    other["args"]["fields"]["door"] = json!("999");
    let next = m(12, 1, "set", "household", "h2", json!({"head": "赵"}));
    for body in [
        push(1, vec![other.clone()]),
        push(1, vec![other, next.clone()]),
    ] {
        let stored = db.contents().await;
        let (status, response) = sync(&state, &coordinator, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{response}");
        assert_eq!(response["code"], "mid_reused");
        assert!(!response["message"].as_str().unwrap().is_empty());
        assert_eq!(db.contents().await, stored, "a refused push stores nothing");
    }
    let (status, response) = sync(&state, &coordinator, push(1, vec![first, next])).await;
    assert_eq!(
        (status, response["last_mid"].as_u64()),
        (StatusCode::OK, Some(12))
    );
    let h2 = records(&state)
        .await
        .into_iter()
        .find(|r| r.id.as_str() == "h2")
        .unwrap();
    assert_eq!(
        (h2.named("door"), h2.named("head")),
        (Some(&json!("202")), Some(&json!("赵")))
    );
}

/// Item 9: what the phone refuses to save, the server refuses to store,
/// judged on the record as the edit leaves it (its fields merged onto the
/// stored ones).
#[tokio::test]
async fn the_server_holds_records_to_the_phones_rules() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let before = records(&state).await;
    let broken = push(
        1,
        vec![
            // A revisit without its time, new or merged onto v1.
            m(
                11,
                1,
                "set",
                "visit",
                "v2",
                json!({"household": "h2", "outcome": "revisit"}),
            ),
            m(12, 1, "set", "visit", "v1", json!({"outcome": "revisit"})),
            // A swab without its tube; a door answered without any test.
            m(13, 1, "set", "visit", "v1", json!({"swab": true})),
            m(
                14,
                1,
                "set",
                "visit",
                "v3",
                json!({"household": "h2", "outcome": "visited", "health": "normal"}),
            ),
            // Closing a need that was never resolved; assigning without a due time.
            m(
                15,
                1,
                "append",
                "need_event",
                "e2",
                json!({"need": "n1", "step": "closed", "at_ms": 2}),
            ),
            m(
                16,
                1,
                "append",
                "need_event",
                "e3",
                json!({"need": "n1", "step": "assigned", "team": "T1", "at_ms": 2}),
            ),
        ],
    );
    let (status, response) = sync(&state, &coordinator, broken).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let invalid: Vec<(u64, String)> = (11..=16).map(|mid| (mid, "invalid".to_owned())).collect();
    assert_eq!(rejected(&response), invalid, "{response}");
    assert_eq!(records(&state).await, before, "nothing refused is stored");

    // Partial edits that leave a valid record, and a need walked through
    // its lifecycle in one push, each step checked against the ones before.
    let good = push(
        1,
        vec![
            m(
                17,
                1,
                "set",
                "visit",
                "v1",
                json!({"outcome": "revisit", "revisit_at_ms": 5}),
            ),
            m(
                18,
                1,
                "set",
                "visit",
                "v1",
                json!({"swab": true, "tube_no": "A-17"}),
            ),
            m(
                19,
                1,
                "append",
                "need_event",
                "e4",
                json!({"need": "n1", "step": "assigned", "team": "T1", "due_ms": 9, "at_ms": 3}),
            ),
            m(
                20,
                1,
                "append",
                "need_event",
                "e5",
                json!({"need": "n1", "step": "resolved", "note": "送菜上门", "at_ms": 4}),
            ),
            m(
                21,
                1,
                "append",
                "need_event",
                "e6",
                json!({"need": "n1", "step": "closed", "at_ms": 5}),
            ),
        ],
    );
    let (_, response) = sync(&state, &coordinator, good).await;
    assert_eq!(rejected(&response), [], "{response}");
    // Two phones closing it at once: a race, kept (and shown as ignored by
    // the fold), not refused.
    let volunteer = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let race = push(
        2,
        vec![m(
            1,
            2,
            "append",
            "need_event",
            "e7",
            json!({"need": "n1", "step": "closed", "at_ms": 6}),
        )],
    );
    let (_, response) = sync(&state, &volunteer, race).await;
    assert_eq!(rejected(&response), [], "{response}");
}

async fn refused_list(state: &AppState, coordinator: &str) -> Vec<RefusedEdit> {
    let request = Request::get("/api/compounds/c1/refused")
        .header("authorization", coordinator)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = support::send(state, request).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

/// Item 12: one device's junk cannot push another's refused edit out of
/// the coordinator's list.
#[tokio::test]
async fn one_device_cannot_flood_the_refused_list() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let honest = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let edit = push(
        2,
        vec![m(1, 2, "set", "household", "h2", json!({"door": "299"}))],
    );
    assert_eq!(rejected(&sync(&state, &honest, edit).await.1).len(), 1);

    let flooder = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    for push_no in 0..6u64 {
        let junk = (1..=100)
            .map(|n| {
                let mid = push_no * 100 + n;
                m(
                    mid,
                    3,
                    "set",
                    "household",
                    "h2",
                    json!({"door": format!("{mid}")}),
                )
            })
            .collect();
        let (status, response) = sync(&state, &flooder, push(3, junk)).await;
        assert_eq!((status, rejected(&response).len()), (StatusCode::OK, 100));
    }
    let listed = refused_list(&state, &coordinator).await;
    let from = |client: u128| {
        let id = ClientId::from_u128(client).to_string();
        listed.iter().filter(|e| e.device == id).count()
    };
    assert_eq!(
        (from(2), from(3)),
        (1, REFUSED_PER_DEVICE),
        "{} listed",
        listed.len()
    );
}

/// Item 12: a visit moved to a household in another building leaves the
/// phones that pulled it with a stale copy unless their pull starts over.
#[tokio::test]
async fn moving_a_record_to_another_household_resets_old_phones() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let volunteer = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let (_, first) = sync(&state, &volunteer, pull(2, 0, None)).await;
    assert!(ids(&first).contains(&"v1".to_owned()), "{first}");
    let (cursor, scope) = (
        first["pull"]["cursor"].as_u64().unwrap(),
        first["pull"]["scope"].as_str().unwrap().to_owned(),
    );
    let moved = push(
        1,
        vec![m(11, 1, "set", "visit", "v1", json!({"household": "h2"}))],
    );
    let (_, response) = sync(&state, &coordinator, moved).await;
    assert_eq!(rejected(&response), []);
    let (_, after) = sync(&state, &volunteer, pull(2, cursor, Some(&scope))).await;
    assert_eq!(after["pull"]["reset"], true, "{after}");
    assert!(!ids(&after).contains(&"v1".to_owned()), "{after}");
}
