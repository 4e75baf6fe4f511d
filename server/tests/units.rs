//! Issue 14, item 5: teams by building and unit (单元), through the real
//! router on a real database (SQLite, or PostgreSQL with
//! `DOORSTEP_TEST_BACKEND=postgres`). Two teams hold units 1 and 2 of
//! building 3: each pulls only its unit's households and what hangs from
//! them, a push into the other unit is refused, a household moved to the
//! other unit leaves the first team's phone, and a unit handed over still
//! takes the old team's late edits, though never a move.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{access::Role, hlc::Hlc, ids::ClientId};
use doorstep_server::{AppState, now_ms};
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

fn pull(client: u128, scope: Option<&str>) -> Value {
    json!({"client_id": ClientId::from_u128(client), "schema_version": SCHEMA_VERSION,
           "pull": {"compound": "c1", "cursor": 0, "scope": scope}})
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

/// The mids a push's answer refused as `forbidden`.
fn forbidden(response: &Value) -> Vec<u64> {
    response["rejected"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|r| r["code"] == "forbidden")
        .map(|r| r["mid"].as_u64().unwrap())
        .collect()
}

/// The ids of the household-area records a pull returned, sorted.
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

/// c1 with round R1; team T1 holds unit 1 of building 3, team T2 unit 2
/// (written "2单元", as offices do). Households: h1 and h2 in unit 1 ("1单元"
/// and "1"), h3 in unit 2 with a visit, a need and its step, h4 in
/// building 3 naming no unit, h5 in building 4.
async fn seeded(dir: &TempDir) -> (support::TestDatabase, AppState, String) {
    let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    let coordinator = support::coordinator(&state, "c1").await;
    let household = |mid, id, unit: Option<&str>, building: &str, door: &str| {
        m(
            mid,
            1,
            "household",
            id,
            json!({"building": building, "unit": unit, "door": door}),
        )
    };
    let seed = push(
        1,
        vec![
            m(1, 1, "round", "R1", json!({"name": "第一轮"})),
            m(2, 1, "team", "T1", json!({"name": "一队"})),
            m(3, 1, "team", "T2", json!({"name": "二队"})),
            m(
                4,
                1,
                "assignment",
                "A31",
                json!({"round": "R1", "building": "3", "unit": "1", "team": "T1"}),
            ),
            m(
                5,
                1,
                "assignment",
                "A32",
                json!({"round": "R1", "building": "3", "unit": "2单元", "team": "T2"}),
            ),
            household(6, "h1", Some("1单元"), "3", "101"),
            household(7, "h2", Some("1"), "3", "102"),
            household(8, "h3", Some("2"), "3", "201"),
            household(9, "h4", None, "3", "001"),
            household(10, "h5", Some("1"), "4", "101"),
            m(
                11,
                1,
                "visit",
                "v3",
                json!({"household": "h3", "outcome": "no_answer"}),
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
                "need_event",
                "e3",
                json!({"need": "n3", "step": "collected", "at_ms": 1}),
            ),
        ],
    );
    let (status, response) = sync(&state, &coordinator, seed).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["rejected"], json!([]), "{response}");
    (db, state, coordinator)
}

#[tokio::test]
async fn two_teams_on_two_units_each_reach_only_their_own() {
    let dir = TempDir::new().unwrap();
    let (_db, state, _) = seeded(&dir).await;
    let t1 = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let t2 = support::bearer(&state, "c1", Role::Volunteer, Some("T2"), false).await;

    let (_, first) = sync(&state, &t1, pull(2, None)).await;
    assert_eq!(pulled(&first), ["h1", "h2"], "{first}");
    let (_, second) = sync(&state, &t2, pull(3, None)).await;
    assert_eq!(pulled(&second), ["e3", "h3", "n3", "v3"], "{second}");

    // Team 1 works unit 1; unit 2, the unit-less door and building 4 are
    // not its own, nor is moving a household into unit 2.
    let (status, response) = sync(
        &state,
        &t1,
        push(
            2,
            vec![
                m(
                    1,
                    2,
                    "visit",
                    "v1",
                    json!({"household": "h1", "outcome": "visited", "temperature_c": 36.6}),
                ),
                m(
                    2,
                    2,
                    "household",
                    "h6",
                    json!({"building": "3", "unit": "1", "door": "103"}),
                ),
                m(
                    3,
                    2,
                    "visit",
                    "v3b",
                    json!({"household": "h3", "outcome": "no_answer"}),
                ),
                m(4, 2, "household", "h3", json!({"door": "202"})),
                m(
                    5,
                    2,
                    "household",
                    "h7",
                    json!({"building": "3", "unit": "2", "door": "203"}),
                ),
                m(6, 2, "household", "h2", json!({"unit": "2"})),
                m(7, 2, "household", "h4", json!({"door": "002"})),
                m(8, 2, "household", "h5", json!({"door": "102"})),
                m(9, 2, "visit", "v1", json!({"household": "h3"})),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(forbidden(&response), [3, 4, 5, 6, 7, 8, 9]);
    let (_, first) = sync(&state, &t1, pull(2, None)).await;
    assert_eq!(pulled(&first), ["h1", "h2", "h6", "v1"], "{first}");
    let (_, second) = sync(&state, &t2, pull(3, None)).await;
    assert_eq!(pulled(&second), ["e3", "h3", "n3", "v3"], "{second}");
}

/// The coordinator moves h2 to unit 2: team 1's phone, pulling with its old
/// fingerprint, starts again without it; team 2 now has it.
#[tokio::test]
async fn a_household_moved_to_another_unit_changes_hands() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let t1 = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let t2 = support::bearer(&state, "c1", Role::Volunteer, Some("T2"), false).await;
    let (_, first) = sync(&state, &t1, pull(2, None)).await;
    let fingerprint = first["pull"]["scope"].as_str().unwrap().to_owned();

    let moved = push(
        1,
        vec![m(14, 1, "household", "h2", json!({"unit": "2单元"}))],
    );
    assert_eq!(sync(&state, &coordinator, moved).await.0, StatusCode::OK);
    let (_, again) = sync(&state, &t1, pull(2, Some(&fingerprint))).await;
    assert_eq!(again["pull"]["reset"], json!(true), "{again}");
    assert_eq!(pulled(&again), ["h1"]);
    let (_, second) = sync(&state, &t2, pull(3, None)).await;
    assert_eq!(pulled(&second), ["e3", "h2", "h3", "n3", "v3"]);
}

/// Unit 1 goes to team 2 mid-round. Team 1's phone, offline since, still
/// lands what it recorded before (a door), never a move into another unit;
/// after the hand-over it records nothing there and reads nothing.
#[tokio::test]
async fn a_unit_handed_over_takes_late_edits_but_no_moves() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let t1 = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let released = now_ms();
    let hand_over = push(
        1,
        vec![at(
            released,
            14,
            1,
            "assignment",
            "A31",
            json!({"team": "T2"}),
        )],
    );
    assert_eq!(
        sync(&state, &coordinator, hand_over).await.0,
        StatusCode::OK
    );

    let late = push(
        2,
        vec![
            at(
                released - 1,
                1,
                2,
                "household",
                "h1",
                json!({"door": "101A"}),
            ),
            at(released - 1, 2, 2, "household", "h2", json!({"unit": "2"})),
            at(
                released - 1,
                3,
                2,
                "household",
                "h3",
                json!({"door": "201A"}),
            ),
            at(
                released + 1,
                4,
                2,
                "household",
                "h1",
                json!({"door": "101B"}),
            ),
        ],
    );
    let (status, response) = sync(&state, &t1, late).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(forbidden(&response), [2, 3, 4]);
    let h1 = state
        .store
        .records_of(
            &"c1".parse().unwrap(),
            doorstep_core::schema::Collection::Household,
        )
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id.as_str() == "h1")
        .unwrap();
    assert_eq!(h1.named("door"), Some(&json!("101A")));
    let (_, first) = sync(&state, &t1, pull(2, None)).await;
    assert_eq!(pulled(&first), Vec::<String>::new(), "{first}");
}

/// A team holding the whole building, as every assignment did before
/// units, reaches every door of it, units or not.
#[tokio::test]
async fn a_building_held_whole_reaches_every_unit() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let whole = push(
        1,
        vec![m(
            14,
            1,
            "assignment",
            "A3",
            json!({"round": "R1", "building": "3", "team": "T1"}),
        )],
    );
    assert_eq!(sync(&state, &coordinator, whole).await.0, StatusCode::OK);
    let t1 = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let (_, first) = sync(&state, &t1, pull(2, None)).await;
    assert_eq!(pulled(&first), ["e3", "h1", "h2", "h3", "h4", "n3", "v3"]);
}

/// Data stored before units keeps working: a database at migration 7 with
/// households whose units were typed "1单元" and " 1号 ", and a team's
/// release of a whole building, is migrated on start; a team then given
/// unit 1 reaches exactly those households, and the release still counts.
#[tokio::test]
async fn households_stored_before_units_are_placed_in_their_unit() {
    use doorstep_core::{hlc::Hlc, mutation::Mutation};
    use sqlx::{Connection, migrate::Migrator};

    let dir = TempDir::new().unwrap();
    let db = support::TestDatabase::new(&dir.path().join("old.sqlite")).await;
    let before_units = |mut migrator: Migrator| {
        migrator.migrations = migrator
            .migrations
            .iter()
            .filter(|m| m.version < 8)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        migrator
    };
    let household = |id: &str, unit: Option<&str>| {
        let mutation: Mutation = serde_json::from_value(json!({"kind": "set", "args": {
            "collection": "household", "id": id, "compound": "c1",
            "fields": {"building": "3", "unit": unit, "door": "101"}}}))
        .unwrap();
        let hlc = Hlc::zero(ClientId::from_u128(1));
        serde_json::to_string(&mutation.apply(None, &hlc).unwrap().0).unwrap()
    };
    let statements = [
        "INSERT INTO compound (id, name, last_seq, created_at_ms) VALUES ('c1', '永安社区', 4, 0)"
            .to_owned(),
        format!(
            "INSERT INTO record (collection, id, compound, seq, state, household, building) VALUES \
             ('household', 'h1', 'c1', 1, '{}', 'h1', '3'), \
             ('household', 'h2', 'c1', 2, '{}', 'h2', '3'), \
             ('household', 'h3', 'c1', 3, '{}', 'h3', '3'), \
             ('household', 'h4', 'c1', 4, '{}', 'h4', '3')",
            household("h1", Some("1单元")),
            household("h2", Some("2")),
            household("h3", Some(" 1号 ")),
            household("h4", None),
        ),
        "INSERT INTO team_release (compound, team, building, round, at_ms) \
         VALUES ('c1', 'T1', '4', '', 100)"
            .to_owned(),
    ];
    if db.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let migrator = before_units(sqlx::migrate!("./migrations/postgres"));
        migrator.run(&mut conn).await.unwrap();
        for sql in &statements {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    } else {
        let options = db
            .url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        let migrator = before_units(sqlx::migrate!("./migrations/sqlite"));
        migrator.run(&mut conn).await.unwrap();
        for sql in &statements {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }

    let store = doorstep_server::store::Store::open(&db.url).await.unwrap();
    let state = AppState::new(store, dir.path().to_path_buf());
    let coordinator = support::coordinator(&state, "c1").await;
    let unit = push(
        1,
        vec![m(
            1,
            1,
            "assignment",
            "A31",
            json!({"building": "3", "unit": "1", "team": "T1"}),
        )],
    );
    assert_eq!(sync(&state, &coordinator, unit).await.0, StatusCode::OK);
    let t1 = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let (_, first) = sync(&state, &t1, pull(2, None)).await;
    assert_eq!(pulled(&first), ["h1", "h3"], "{first}");
    let request = Request::get("/api/session")
        .header("authorization", &t1)
        .body(Body::empty())
        .unwrap();
    let (_, _, bytes) = support::send(&state, request).await;
    let session: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(session["scope"]["units"], json!({"3": ["1"]}), "{session}");
    assert_eq!(session["scope"]["ended"], json!({"4": 100}), "{session}");
}
