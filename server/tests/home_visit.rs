//! Issue 16, item 2: home-visit dispatch (上门专班), through the real router
//! on a real database (SQLite, or PostgreSQL with
//! `DOORSTEP_TEST_BACKEND=postgres`). A home-visit team's phone pulls
//! exactly the households dispatched to it (with their people and needs)
//! wherever they are, records results only for its own entries, and a
//! result recorded offline before the round ended still lands; the
//! district's home-test count takes it in.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    access::Role,
    district::DistrictSummary,
    hlc::Hlc,
    ids::{ClientId, DistrictId},
};
use doorstep_server::{
    AppState, now_ms,
    store::{Compound, Placement},
};
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

/// A mutation as client `client` pushes it, stamped at `wall_ms`.
fn at(wall_ms: u64, mid: u64, client: u128, collection: &str, id: &str, fields: Value) -> Value {
    let node = ClientId::from_u128(client);
    let kind = if collection == "need_event" {
        "append"
    } else {
        "set"
    };
    json!({"mid": mid, "hlc": Hlc { wall_ms, counter: mid as u32, node }.to_string(),
           "kind": kind,
           "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}})
}

/// [`at`] a second ago.
fn m(mid: u64, client: u128, collection: &str, id: &str, fields: Value) -> Value {
    at(now_ms() - 1000, mid, client, collection, id, fields)
}

fn push(client: u128, mutations: Vec<Value>) -> Value {
    json!({"client_id": ClientId::from_u128(client), "schema_version": SCHEMA_VERSION, "mutations": mutations})
}

fn pull(client: u128) -> Value {
    json!({"client_id": ClientId::from_u128(client), "schema_version": SCHEMA_VERSION,
           "pull": {"compound": "c1", "cursor": 0, "scope": null}})
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

/// The mids a push's answer refused, with their codes.
fn refused(response: &Value) -> Vec<(u64, String)> {
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

/// The ids of the records a pull returned outside the plan, sorted.
fn pulled(response: &Value) -> Vec<String> {
    let mut ids: Vec<String> = support::pull_page(response)
        .changes
        .iter()
        .filter(|c| !["team", "round", "assignment"].contains(&c.record.collection.name()))
        .map(|c| c.record.id.to_string())
        .collect();
    ids.sort();
    ids
}

/// c1 in district d1, round R1. Door-knock team T1 holds building 1; H is
/// the home-visit team and holds no building. Households: h1 (building 1,
/// a homebound care person p1, a visit and a purchase), h2 (building 5, a
/// home-test need n2 with its step), h3 (building 6, a food need). p1 and
/// n2 are dispatched to H (entries hv1, hv2); h3 is nobody's.
async fn seeded(dir: &TempDir) -> (support::TestDatabase, AppState, String) {
    let (db, state) = support::state_with(dir.path(), &[]).await;
    let d1: DistrictId = "d1".parse().unwrap();
    let district = DistrictSummary {
        id: d1.clone(),
        name: "金水区".into(),
    };
    state
        .store
        .create_district(&district, now_ms())
        .await
        .unwrap();
    let compound = Compound {
        id: "c1".parse().unwrap(),
        name: "晖达社区".into(),
    };
    let placement = Placement {
        district: Some(d1),
        street: None,
    };
    state
        .store
        .create_compound_in(&compound, &placement, now_ms())
        .await
        .unwrap();
    let coordinator = support::coordinator(&state, "c1").await;
    let seed = push(
        1,
        vec![
            m(1, 1, "round", "R1", json!({"name": "第一轮"})),
            m(2, 1, "team", "T1", json!({"name": "一队"})),
            m(
                3,
                1,
                "team",
                "H",
                json!({"name": "上门专班", "home_visit": true}),
            ),
            m(
                4,
                1,
                "assignment",
                "A1",
                json!({"round": "R1", "building": "1", "team": "T1"}),
            ),
            m(
                5,
                1,
                "household",
                "h1",
                json!({"building": "1", "door": "702"}),
            ),
            m(
                6,
                1,
                "household",
                "h2",
                json!({"building": "5", "door": "301"}),
            ),
            m(
                7,
                1,
                "household",
                "h3",
                json!({"building": "6", "door": "101"}),
            ),
            m(
                8,
                1,
                "person",
                "p1",
                json!({"household": "h1", "name": "晨沐", "care": "disabled", "homebound": true}),
            ),
            m(
                9,
                1,
                "visit",
                "v1",
                json!({"household": "h1", "round": "R1", "outcome": "no_answer"}),
            ),
            m(
                10,
                1,
                "need",
                "n2",
                json!({"household": "h2", "category": "home_test"}),
            ),
            m(
                11,
                1,
                "need_event",
                "e2",
                json!({"need": "n2", "step": "collected", "at_ms": 1}),
            ),
            m(
                12,
                1,
                "need",
                "n3",
                json!({"household": "h3", "category": "food"}),
            ),
            m(
                13,
                1,
                "home_visit",
                "hv1",
                json!({"round": "R1", "household": "h1", "person": "p1", "team": "H"}),
            ),
            m(
                14,
                1,
                "home_visit",
                "hv2",
                json!({"round": "R1", "household": "h2", "need": "n2", "team": "H"}),
            ),
        ],
    );
    let (status, response) = sync(&state, &coordinator, seed).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["rejected"], json!([]), "{response}");
    (db, state, coordinator)
}

#[tokio::test]
async fn a_home_visit_team_pulls_exactly_its_dispatched_households() {
    let dir = TempDir::new().unwrap();
    let (_db, state, _) = seeded(&dir).await;
    let home = support::bearer(&state, "c1", Role::Volunteer, Some("H"), false).await;
    let door_knock = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;

    // The households, their people and needs: not h1's visit, not h3.
    let (_, first) = sync(&state, &home, pull(2)).await;
    assert_eq!(
        pulled(&first),
        ["e2", "h1", "h2", "hv1", "hv2", "n2", "p1"],
        "{first}"
    );
    // The door-knock team of building 1 sees its building, the entry there
    // included, and nothing of building 5.
    let (_, second) = sync(&state, &door_knock, pull(3)).await;
    assert_eq!(pulled(&second), ["h1", "hv1", "p1", "v1"], "{second}");
}

#[tokio::test]
async fn a_home_visit_team_records_results_only_for_its_own_entries() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let home = support::bearer(&state, "c1", Role::Volunteer, Some("H"), false).await;
    let door_knock = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let (status, response) = sync(
        &state,
        &home,
        push(
            2,
            vec![
                m(
                    1,
                    2,
                    "home_visit",
                    "hv2",
                    json!({"result": "tested", "tube_no": "A0001", "at_ms": now_ms() - 1000}),
                ),
                // Not the team's to change: the dispatch, a tested result
                // without its tube, the household, a new entry.
                m(2, 2, "home_visit", "hv1", json!({"team": "T1"})),
                m(3, 2, "home_visit", "hv1", json!({"result": "tested"})),
                m(4, 2, "household", "h2", json!({"door": "302"})),
                m(
                    5,
                    2,
                    "home_visit",
                    "hv9",
                    json!({"round": "R1", "household": "h3", "need": "n3", "team": "H"}),
                ),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let codes: Vec<(u64, String)> = vec![
        (2, "forbidden".into()),
        (3, "invalid".into()),
        (4, "forbidden".into()),
        (5, "forbidden".into()),
    ];
    assert_eq!(refused(&response), codes, "{response}");
    // The door-knock team covers h1's building, but hv1 is not its entry.
    let (_, response) = sync(
        &state,
        &door_knock,
        push(
            3,
            vec![m(1, 3, "home_visit", "hv1", json!({"result": "refused"}))],
        ),
    )
    .await;
    assert_eq!(refused(&response), [(1, "forbidden".to_owned())]);

    // The coordinator sends hv1 elsewhere: the team no longer reads h1.
    let moved = push(
        1,
        vec![m(15, 1, "home_visit", "hv1", json!({"team": "T1"}))],
    );
    assert_eq!(sync(&state, &coordinator, moved).await.0, StatusCode::OK);
    let (_, again) = sync(&state, &home, pull(2)).await;
    assert_eq!(pulled(&again), ["e2", "h2", "hv2", "n2"], "{again}");
}

/// The test the team came for resolves the request: a home-visit team
/// steps the needs of a household dispatched to it, outside its buildings,
/// and of no other; marking a request spam stays the coordinator's.
#[tokio::test]
async fn a_home_visit_team_resolves_the_need_it_came_for() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let home = support::bearer(&state, "c1", Role::Volunteer, Some("H"), false).await;
    let assigned = push(
        1,
        vec![m(
            15,
            1,
            "need_event",
            "e3",
            json!({"need": "n2", "step": "assigned", "team": "H", "due_ms": now_ms(), "at_ms": 2}),
        )],
    );
    let (_, response) = sync(&state, &coordinator, assigned).await;
    assert_eq!(response["rejected"], json!([]), "{response}");
    let (status, response) = sync(
        &state,
        &home,
        push(
            2,
            vec![
                m(
                    1,
                    2,
                    "home_visit",
                    "hv2",
                    json!({"result": "tested", "tube_no": "A0001", "at_ms": 3}),
                ),
                m(
                    2,
                    2,
                    "need_event",
                    "e4",
                    json!({"need": "n2", "step": "resolved", "note": "上门核酸 A0001", "at_ms": 3}),
                ),
                // h3 was never sent to the team.
                m(
                    3,
                    2,
                    "need_event",
                    "e5",
                    json!({"need": "n3", "step": "collected", "at_ms": 3}),
                ),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(
        refused(&response),
        [(3, "forbidden".to_owned())],
        "{response}"
    );
    let steps = state
        .store
        .records_of(
            &"c1".parse().unwrap(),
            doorstep_core::schema::Collection::NeedEvent,
        )
        .await
        .unwrap();
    let ids: Vec<&str> = steps.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.contains(&"e4") && !ids.contains(&"e5"), "{ids:?}");
    // A door-knock team records needs in its building, but not as spam.
    let door_knock = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let needs = push(
        3,
        vec![
            m(
                1,
                3,
                "need",
                "n8",
                json!({"household": "h1", "category": "food"}),
            ),
            m(
                2,
                3,
                "need",
                "n9",
                json!({"household": "h1", "category": "food", "spam": true}),
            ),
        ],
    );
    let (_, response) = sync(&state, &door_knock, needs).await;
    assert_eq!(
        refused(&response),
        [(2, "forbidden".to_owned())],
        "{response}"
    );
    // The coordinator may.
    let spam = push(1, vec![m(16, 1, "need", "n3", json!({"spam": true}))]);
    let (_, response) = sync(&state, &coordinator, spam).await;
    assert_eq!(response["rejected"], json!([]), "{response}");
}

/// The team's phone records a result offline; the coordinator ends the
/// round before it syncs. The result, made before the end, lands and is
/// counted as a home test; one made after is refused.
#[tokio::test]
async fn a_result_made_before_the_round_ended_lands_and_counts() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let home = support::bearer(&state, "c1", Role::Volunteer, Some("H"), false).await;
    let d1: DistrictId = "d1".parse().unwrap();
    let before = state
        .store
        .district_totals(&d1, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.sum.home_tests, 0);

    let recorded = now_ms() - 2000;
    let ended = now_ms() - 1000;
    let end = push(
        1,
        vec![at(ended, 15, 1, "round", "R1", json!({"closed_ms": ended}))],
    );
    assert_eq!(sync(&state, &coordinator, end).await.0, StatusCode::OK);
    let (status, response) = sync(
        &state,
        &home,
        push(
            2,
            vec![
                at(
                    recorded,
                    1,
                    2,
                    "home_visit",
                    "hv1",
                    json!({"result": "tested", "tube_no": "A0002", "at_ms": recorded}),
                ),
                at(
                    ended + 500,
                    2,
                    2,
                    "home_visit",
                    "hv2",
                    json!({"result": "not_home", "at_ms": ended + 500}),
                ),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(refused(&response), [(2, "forbidden".to_owned())]);
    // Nothing of an ended round is read.
    let (_, again) = sync(&state, &home, pull(2)).await;
    assert_eq!(pulled(&again), Vec::<String>::new(), "{again}");

    let after = state
        .store
        .district_totals(&d1, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.sum.home_tests, 1);
    assert_eq!(after.days.iter().map(|d| d.home_tests).sum::<usize>(), 1);
}
