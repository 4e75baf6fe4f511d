//! The history view and team freshness, read from the synced mutation log.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{hlc::Hlc, ids::ClientId};
use doorstep_server::now_ms;
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

async fn fixture() -> (TempDir, support::TestDatabase, support::Api) {
    let dir = TempDir::new().unwrap();
    let (db, state) = support::state_with(dir.path(), &[("c1", "c1"), ("c2", "c2")]).await;
    let state = support::Api::coordinator(&state, "c1").await;
    (dir, db, state)
}

async fn push(
    state: &support::Api,
    client: u128,
    first_mid: u64,
    mutations: Vec<(&str, &str, &str, &str, Value)>,
) {
    let node = ClientId::from_u128(client);
    let body = json!({
        "client_id": node, "schema_version": SCHEMA_VERSION,
        "mutations": mutations.iter().enumerate().map(|(i, (kind, compound, collection, id, fields))| json!({
            "mid": first_mid + i as u64, "hlc": Hlc { wall_ms: now_ms() - 10_000 + client as u64 * 1000 + i as u64, counter: 0, node }.to_string(),
            "kind": kind, "args": {"collection": collection, "id": id, "compound": compound, "fields": fields}
        })).collect::<Vec<_>>()
    });
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_eq!(state.send(request).await.0, StatusCode::OK);
}

async fn get(state: &support::Api, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = state
        .send(Request::get(path).body(Body::empty()).unwrap())
        .await;
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn history_shows_who_changed_which_field_and_when() {
    let (_dir, _db, state) = fixture().await;
    push(
        &state,
        1,
        1,
        vec![(
            "set",
            "c1",
            "household",
            "h1",
            json!({"door": "101", "head": "王芳"}),
        )],
    )
    .await;
    push(
        &state,
        2,
        1,
        vec![
            (
                "set",
                "c1",
                "household",
                "h1",
                json!({"phone": "13800000000"}),
            ),
            ("set", "c1", "household", "h10", json!({"door": "110"})),
            ("set", "c2", "household", "h1x", json!({"door": "1"})),
            (
                "set",
                "c1",
                "need",
                "n1",
                json!({"household": "h1", "category": "food"}),
            ),
            (
                "append",
                "c1",
                "need_event",
                "e1",
                json!({"need": "n1", "step": "collected", "at_ms": 1}),
            ),
        ],
    )
    .await;

    let (status, history) = get(&state, "/api/compounds/c1/history/household/h1").await;
    assert_eq!(status, StatusCode::OK);
    let history = history.as_array().unwrap();
    assert_eq!(
        history.len(),
        2,
        "only h1's own edits, not h10's or another compound's: {history:?}"
    );
    assert_eq!(history[0]["device"], ClientId::from_u128(1).to_string());
    assert_eq!(history[0]["fields"], json!({"door": "101", "head": "王芳"}));
    assert_eq!(history[1]["device"], ClientId::from_u128(2).to_string());
    assert_eq!(history[1]["fields"], json!({"phone": "13800000000"}));
    assert!(history[1]["received_at_ms"].as_u64().unwrap() > 0);

    let (_, need) = get(&state, "/api/compounds/c1/history/need/n1").await;
    let kinds: Vec<&str> = need
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["need.set", "need_event.append"],
        "a need's history includes its steps"
    );

    assert_eq!(
        get(&state, "/api/compounds/c1/history/spaceship/h1")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn freshness_is_when_each_teams_visits_last_arrived() {
    let (_dir, _db, state) = fixture().await;
    let before = now_ms();
    push(
        &state,
        1,
        1,
        vec![
            (
                "set",
                "c1",
                "visit",
                "v1",
                json!({"household": "h1", "team": "t1", "outcome": "visited", "temperature_c": 36.5}),
            ),
            (
                "set",
                "c1",
                "visit",
                "v2",
                json!({"household": "h2", "outcome": "no_answer"}),
            ),
        ],
    )
    .await;
    let (_, freshness) = get(&state, "/api/compounds/c1/freshness").await;
    let t1 = freshness["t1"].as_u64().expect("team t1 has a time");
    assert!(t1 >= before && t1 <= now_ms());
    assert_eq!(freshness.as_object().unwrap().len(), 1);
}

/// LIKE's wildcards in a history id match only themselves (issue 15,
/// item 5): `/history/team/%25` (the id `%`) neither scans and decodes the
/// whole log nor returns anyone's records, and `_` stands for `_` only.
#[tokio::test]
async fn history_ids_with_like_wildcards_match_only_themselves() {
    let (_dir, _db, state) = fixture().await;
    push(
        &state,
        1,
        1,
        vec![
            ("set", "c1", "team", "t1", json!({"name": "一队"})),
            ("set", "c1", "team", "ab", json!({"name": "二队"})),
            ("set", "c1", "team", "a_b", json!({"name": "三队"})),
            ("set", "c1", "household", "h1", json!({"door": "101"})),
        ],
    )
    .await;
    for path in [
        "/api/compounds/c1/history/team/%25",
        "/api/compounds/c1/history/team/%25%25",
        "/api/compounds/c1/history/team/t%25",
        "/api/compounds/c1/history/household/h%5C",
    ] {
        let (status, changes) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {changes}");
        assert_eq!(changes, json!([]), "{path}");
    }
    let (_, changes) = get(&state, "/api/compounds/c1/history/team/a_b").await;
    assert_eq!(changes.as_array().unwrap().len(), 1, "{changes}");
    assert_eq!(changes[0]["fields"]["name"], "三队");

    // The store matches the fragment literally, before anything is decoded.
    let store = &state.state.store;
    let c1 = "c1".parse().unwrap();
    for needle in ["\"id\":\"%\"", ":\"%", "\"id\":\"t_\"", "\"id\":\"a%\""] {
        let logged = store.mutation_log(&c1, needle).await.unwrap();
        assert!(
            logged.is_empty(),
            "{needle} matched {} mutations",
            logged.len()
        );
    }
    assert_eq!(
        store
            .mutation_log(&c1, "\"id\":\"a_b\"")
            .await
            .unwrap()
            .len(),
        1
    );
}
