//! Signing in and what a device may see: restricted fields in raw pull
//! JSON, a scope change forcing a resync, the redemption throttle, secrets
//! kept out of logs, and the security headers.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Request, StatusCode, header},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    access::Role,
    api::{InviteRequest, NewInvite, Redeemed, RefusedEdit},
    hlc::Hlc,
    ids::ClientId,
    schema::Collection,
};
use doorstep_server::{AppState, accounts::Throttle, now_ms};
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

fn mutation(
    mid: u64,
    client: u128,
    kind: &str,
    collection: &str,
    id: &str,
    fields: Value,
) -> Value {
    mutation_at(now_ms() - 1000, mid, client, kind, collection, id, fields)
}

/// A mutation whose clock stamp says it was made at `wall_ms`.
fn mutation_at(
    wall_ms: u64,
    mid: u64,
    client: u128,
    kind: &str,
    collection: &str,
    id: &str,
    fields: Value,
) -> Value {
    let node = ClientId::from_u128(client);
    json!({"mid": mid, "hlc": Hlc { wall_ms, counter: mid as u32, node }.to_string(),
           "kind": kind, "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}})
}

async fn sync(state: &AppState, auth: &str, body: Value) -> (StatusCode, Value, String) {
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .header("authorization", auth)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, bytes) = support::send(state, request).await;
    let text = String::from_utf8(bytes).unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn pull(client: u128, cursor: u64, scope: Option<&str>) -> Value {
    json!({"client_id": ClientId::from_u128(client), "schema_version": SCHEMA_VERSION,
           "pull": {"compound": "c1", "cursor": cursor, "scope": scope}})
}

/// c1 with team T1 on building 1, households h1 (building 1) and h2
/// (building 2), and a key person in h1; and the coordinator's header.
async fn seeded(dir: &TempDir) -> (support::TestDatabase, AppState, String) {
    let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    let coordinator = support::coordinator(&state, "c1").await;
    let seed = json!({"client_id": ClientId::from_u128(1), "schema_version": SCHEMA_VERSION, "mutations": [
        mutation(1, 1, "set", "team", "T1", json!({"name": "一队"})),
        mutation(2, 1, "set", "assignment", "A1", json!({"building": "1", "team": "T1"})),
        mutation(3, 1, "set", "household", "h1", json!({"building": "1", "door": "101"})),
        mutation(4, 1, "set", "household", "h2", json!({"building": "2", "door": "201"})),
        mutation(5, 1, "set", "person", "p1", json!({"household": "h1", "name": "王芳",
            "key_status": "home_isolation", "key_since_ms": 1_764_000_000_000u64})),
    ]});
    let (status, response, _) = sync(&state, &coordinator, seed).await;
    assert_eq!(
        (status, &response["rejected"]),
        (StatusCode::OK, &json!([]))
    );
    (db, state, coordinator)
}

#[tokio::test]
async fn key_persons_fields_reach_only_granted_volunteers() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let (device, token) = state
        .store
        .enroll(
            &"c1".parse().unwrap(),
            Role::Volunteer,
            Some("T1".parse().unwrap()),
            false,
        )
        .await
        .unwrap();
    let volunteer = format!("Bearer {token}");

    let (status, first, raw) = sync(&state, &volunteer, pull(2, 0, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        raw.contains("\"p1\"") && raw.contains("王芳"),
        "the person is there: {raw}"
    );
    for secret in [
        "key_status",
        "home_isolation",
        "key_since_ms",
        "1764000000000",
    ] {
        assert!(
            !raw.contains(secret),
            "{secret} leaked to an ungranted volunteer: {raw}"
        );
    }

    // The coordinator grants access: the next pull starts over, with them.
    let grant = Request::post(format!("/api/compounds/c1/devices/{}", device.id))
        .header("authorization", &coordinator)
        .header("content-type", "application/json")
        .body(Body::from(json!({"key_persons": true}).to_string()))
        .unwrap();
    assert_eq!(support::send(&state, grant).await.0, StatusCode::OK);
    let page = &first["pull"];
    let (_, second, raw) = sync(
        &state,
        &volunteer,
        pull(2, page["cursor"].as_u64().unwrap(), page["scope"].as_str()),
    )
    .await;
    assert_eq!(
        second["pull"]["reset"], true,
        "a grant changes the scope: {raw}"
    );
    assert!(
        raw.contains("\"key_status\"") && raw.contains("home_isolation"),
        "{raw}"
    );
    assert!(raw.contains("\"key_since_ms\""), "{raw}");
}

#[tokio::test]
async fn losing_a_building_resets_the_pull_without_it() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let volunteer = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let (_, first, _) = sync(&state, &volunteer, pull(2, 0, None)).await;
    let ids = |response: &Value| -> Vec<String> {
        support::pull_page(response)
            .changes
            .iter()
            .map(|c| c.record.id.to_string())
            .collect()
    };
    assert_eq!(
        ids(&first),
        ["T1", "A1", "h1", "p1"],
        "building 1 and the plan only"
    );
    let page = &first["pull"];
    let (cursor, scope) = (
        page["cursor"].as_u64().unwrap(),
        page["scope"].as_str().unwrap(),
    );

    // Unchanged scope: nothing new, no reset.
    let (_, same, _) = sync(&state, &volunteer, pull(2, cursor, Some(scope))).await;
    assert_eq!(
        (same["pull"]["reset"].as_bool(), ids(&same).len()),
        (None, 0)
    );

    // The team's building moves from 1 to 2.
    let reassign = json!({"client_id": ClientId::from_u128(1), "schema_version": SCHEMA_VERSION, "mutations": [
        mutation(6, 1, "set", "assignment", "A1", json!({"building": "2"})),
    ]});
    sync(&state, &coordinator, reassign).await;
    let (_, after, _) = sync(&state, &volunteer, pull(2, cursor, Some(scope))).await;
    assert_eq!(after["pull"]["reset"], true);
    assert_eq!(
        ids(&after),
        ["T1", "h2", "A1"],
        "building 2 now, from the start"
    );
}

/// A volunteer's phone (client 2), offline until now, pushes two edits to
/// h1: the door made 1 ms before `moment`, the head 1 ms after. Returns the
/// server's refusals as (mid, code).
async fn edits_around(state: &AppState, volunteer: &str, moment: u64) -> Vec<(u64, String)> {
    let late = json!({"client_id": ClientId::from_u128(2), "schema_version": SCHEMA_VERSION, "mutations": [
        mutation_at(moment - 1, 1, 2, "set", "household", "h1", json!({"door": "998"})),
        mutation_at(moment + 1, 2, 2, "set", "household", "h1", json!({"head": "李娜"})),
    ]});
    let (status, late, raw) = sync(state, volunteer, late).await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    late["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["mid"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// h1's fields as the server holds them, pulled by the coordinator.
async fn h1_fields(state: &AppState, coordinator: &str) -> Value {
    let (_, whole, _) = sync(state, coordinator, pull(1, 0, None)).await;
    let h1 = support::pull_page(&whole)
        .changes
        .into_iter()
        .find(|c| c.record.id.as_str() == "h1")
        .unwrap()
        .record;
    serde_json::to_value(h1.fields).unwrap()
}

#[tokio::test]
async fn ending_a_round_takes_its_buildings_from_volunteers_but_not_their_earlier_edits() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let plan = |mid: u64, closed_ms: Value| {
        json!({"client_id": ClientId::from_u128(1), "schema_version": SCHEMA_VERSION, "mutations": [
            mutation(mid, 1, "set", "round", "R1", json!({"name": "第一轮", "closed_ms": closed_ms})),
            mutation(mid + 1, 1, "set", "assignment", "A1", json!({"round": "R1"})),
        ]})
    };
    sync(&state, &coordinator, plan(6, Value::Null)).await;
    let volunteer = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    let households = |response: &Value| -> Vec<String> {
        support::pull_page(response)
            .changes
            .iter()
            .filter(|c| c.record.collection == Collection::Household)
            .map(|c| c.record.id.to_string())
            .collect()
    };
    let (_, open, _) = sync(&state, &volunteer, pull(2, 0, None)).await;
    assert_eq!(households(&open), ["h1"], "round 1 is under way");
    let (cursor, scope) = (
        open["pull"]["cursor"].as_u64().unwrap(),
        open["pull"]["scope"].as_str().unwrap().to_owned(),
    );

    // The coordinator ends the round: building 1 leaves the phone. An edit
    // made there before the end (by a phone offline then) still lands; one
    // made after it is refused and not applied.
    let end = now_ms();
    sync(&state, &coordinator, plan(8, json!(end))).await;
    let (_, ended, raw) = sync(&state, &volunteer, pull(2, cursor, Some(&scope))).await;
    assert_eq!(ended["pull"]["reset"], true, "{raw}");
    assert_eq!(households(&ended), Vec::<String>::new(), "{raw}");
    assert_eq!(
        edits_around(&state, &volunteer, end).await,
        [(2, "forbidden".to_owned())]
    );
    let h1 = h1_fields(&state, &coordinator).await;
    assert_eq!(h1["door"]["value"], "998", "{h1}");
    assert_eq!(h1.get("head"), None, "{h1}");

    // Reopened, the round brings the building back from the start.
    let ended_scope = ended["pull"]["scope"].as_str().unwrap().to_owned();
    let ended_cursor = ended["pull"]["cursor"].as_u64().unwrap();
    sync(&state, &coordinator, plan(10, Value::Null)).await;
    let (_, reopened, raw) = sync(
        &state,
        &volunteer,
        pull(2, ended_cursor, Some(&ended_scope)),
    )
    .await;
    assert_eq!(reopened["pull"]["reset"], true, "{raw}");
    assert_eq!(households(&reopened), ["h1"], "{raw}");
}

#[tokio::test]
async fn moving_a_building_to_another_team_keeps_the_old_teams_earlier_edits() {
    let dir = TempDir::new().unwrap();
    let (_db, state, coordinator) = seeded(&dir).await;
    let volunteer = support::bearer(&state, "c1", Role::Volunteer, Some("T1"), false).await;
    // Building 1 goes to team 2 mid-round; team 1's phone was offline.
    let moved = now_ms();
    let move_it = json!({"client_id": ClientId::from_u128(1), "schema_version": SCHEMA_VERSION, "mutations": [
        mutation(6, 1, "set", "team", "T2", json!({"name": "二队"})),
        mutation_at(moved, 7, 1, "set", "assignment", "A1", json!({"team": "T2"})),
    ]});
    let (status, _, raw) = sync(&state, &coordinator, move_it).await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert_eq!(
        edits_around(&state, &volunteer, moved).await,
        [(2, "forbidden".to_owned())],
        "made before the move lands, after it is refused"
    );
    let (_, pulled, raw) = sync(&state, &volunteer, pull(2, 0, None)).await;
    assert!(!raw.contains("\"h1\""), "team 1 no longer reads h1: {raw}");
    assert_eq!(pulled["pull"]["more"], false);
    let h1 = h1_fields(&state, &coordinator).await;
    assert_eq!(h1["door"]["value"], "998", "{h1}");
    assert_eq!(h1.get("head"), None, "{h1}");

    // The coordinator sees the refused edit, adopts it as their own, and
    // then it shows as reflected.
    let refused = || async {
        let request = Request::get("/api/compounds/c1/refused")
            .header("authorization", &coordinator)
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = support::send(&state, request).await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_slice::<Vec<RefusedEdit>>(&body).unwrap()
    };
    let listed = refused().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let edit = &listed[0];
    assert_eq!(
        (
            edit.mutation.id().as_str(),
            edit.refusal.code.as_str(),
            edit.device_label.as_deref(),
            edit.made_at_ms,
            edit.reflected
        ),
        ("h1", "forbidden", Some("volunteer"), moved + 1, false),
    );
    let adopt = json!({"client_id": ClientId::from_u128(1), "schema_version": SCHEMA_VERSION, "mutations": [
        {"mid": 8, "hlc": Hlc { wall_ms: now_ms(), counter: 0, node: ClientId::from_u128(1) }.to_string(),
         "kind": "set", "args": serde_json::to_value(&edit.mutation).unwrap()["args"]},
    ]});
    let (_, adopted, raw) = sync(&state, &coordinator, adopt).await;
    assert_eq!(adopted["rejected"], json!([]), "{raw}");
    assert!(refused().await[0].reflected);
}

fn with_peer(mut request: Request<Body>, ip: impl Into<IpAddr>) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip.into(), 40000))));
    request
}

fn redeem_request(code: &str, ip: impl Into<IpAddr>) -> Request<Body> {
    with_peer(
        Request::post("/api/redeem")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"code": code, "label": "王芳的手机"}).to_string(),
            ))
            .unwrap(),
        ip,
    )
}

async fn new_invite(state: &AppState, uses: u32) -> NewInvite {
    doorstep_server::accounts::new_invite(
        &state.store,
        &"c1".parse().unwrap(),
        &InviteRequest {
            role: Role::Stall,
            team: None,
            uses,
            hours: 1,
            key_persons: false,
        },
        "http://doorstep.test",
        now_ms(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn wrong_codes_are_throttled_and_a_good_code_works_after_the_window() {
    let dir = TempDir::new().unwrap();
    let (_db, mut state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    state.throttle = Throttle {
        window_ms: 3000,
        per_ip: 3,
        per_code: 100,
        everyone: 100,
    };
    // Start early in a window, so the wrong codes all land in one.
    tokio::time::sleep(Duration::from_millis(3000 - now_ms() % 3000 + 50)).await;
    let invite = new_invite(&state, 5).await;
    let attacker = [10, 0, 0, 9];
    for guess in ["AAAAA-AAAAA", "AAAAA-AAAAB", "not a code"] {
        let (status, _, body) = support::send(&state, redeem_request(guess, attacker)).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, headers, _) = support::send(&state, redeem_request("AAAAA-AAAAC", attacker)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, headers_good, _) =
        support::send(&state, redeem_request(&invite.code, attacker)).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even a good code waits out the window"
    );
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&wait), "Retry-After {wait}");
    assert!(headers_good.contains_key(header::RETRY_AFTER));
    // Another address is not held up by this one.
    let (status, _, _) = support::send(&state, redeem_request(&invite.code, [10, 0, 0, 10])).await;
    assert_eq!(status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(3000 - now_ms() % 3000 + 50)).await;
    let (status, _, body) = support::send(&state, redeem_request(&invite.code, attacker)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let redeemed: Redeemed = serde_json::from_slice(&body).unwrap();
    let session = redeemed.session.expect("a compound device's session");
    assert_eq!(session.scope.role, Role::Stall);
    assert_eq!(session.compound.name, "永安社区");
    assert_eq!(redeemed.district, None);
}

#[tokio::test]
async fn a_code_is_limited_per_window_and_used_up_codes_are_refused() {
    let dir = TempDir::new().unwrap();
    let (_db, mut state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    // A window no test run can straddle: the counts must not start over
    // between the four attempts (a 60 s window once did, in CI).
    state.throttle = Throttle {
        window_ms: 1 << 50,
        per_ip: 100,
        per_code: 3,
        everyone: 100,
    };
    let invite = new_invite(&state, 2).await;
    let typed = invite.code.to_lowercase().replace('-', " ");
    let statuses: Vec<StatusCode> = {
        let mut out = Vec::new();
        for ip in 1..=4u8 {
            out.push(
                support::send(&state, redeem_request(&typed, [10, 0, 1, ip]))
                    .await
                    .0,
            );
        }
        out
    };
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ],
        "two uses, then used up, then the code's own limit"
    );
}

/// A writer the test can read back: everything the server logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_and_codes_never_reach_the_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = TempDir::new().unwrap();
    let (_db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    let invite = new_invite(&state, 1).await;
    let (status, _, body) =
        support::send(&state, redeem_request(&invite.code, [10, 0, 2, 1])).await;
    assert_eq!(status, StatusCode::OK);
    let redeemed: Redeemed = serde_json::from_slice(&body).unwrap();
    let auth = format!("Bearer {}", redeemed.token);
    assert_eq!(
        sync(&state, &auth, pull(3, 0, None)).await.0,
        StatusCode::OK
    );
    support::send(&state, redeem_request("ZZZZZ-ZZZZZ", [10, 0, 2, 1])).await;
    // The link in the QR code carries the code in its fragment, which a
    // browser never sends; the request for the page is what the server sees.
    let page = Request::get("/join").body(Body::empty()).unwrap();
    support::send(&state, page).await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("device signed in"),
        "the log is captured: {log}"
    );
    let normalized = doorstep_core::invite::normalize(&invite.code).unwrap();
    for secret in [
        redeemed.token.as_str(),
        invite.code.as_str(),
        &normalized,
        "ZZZZZ",
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

#[tokio::test]
async fn responses_carry_security_headers_and_cors_stays_same_origin() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<html><head><script type=\"module\">import init from '/app.js';await init();</script></head></html>",
    )
    .unwrap();
    let (_db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    for path in ["/", "/api/health"] {
        let request = Request::get(path)
            .header(header::ORIGIN, "https://evil.example")
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = support::send(&state, request).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("connect-src 'self'"));
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        assert!(
            !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "{path}"
        );
    }
    let preflight = Request::options("/api/sync")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = support::send(&state, preflight).await;
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));

    // An operator may allow one more origin.
    let mut opened = state.clone();
    opened.cors_origins = vec!["https://dashboard.example".parse().unwrap()];
    let request = Request::get("/api/health")
        .header(header::ORIGIN, "https://dashboard.example")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = support::send(&opened, request).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://dashboard.example"
    );

    // Bodies past the limit are refused before anything reads them.
    let huge = json!({"code": "x".repeat(40_000)}).to_string();
    let request = Request::post("/api/redeem")
        .header("content-type", "application/json")
        .body(Body::from(huge))
        .unwrap();
    assert_eq!(
        support::send(&state, request).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

/// The device list marks the coordinator's own phone, and revoking it is
/// refused (another coordinator's phone can): nobody locks themselves out.
#[tokio::test]
async fn a_coordinator_cannot_revoke_the_phone_in_hand() {
    let dir = TempDir::new().unwrap();
    let (_db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    let me = support::coordinator(&state, "c1").await;
    let other = support::coordinator(&state, "c1").await;
    let list = |auth: String| {
        Request::get("/api/compounds/c1/devices")
            .header("authorization", auth)
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = support::send(&state, list(me.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let devices: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let mine: Vec<&Value> = devices
        .iter()
        .filter(|d| d["this_device"] == true)
        .collect();
    assert_eq!(mine.len(), 1, "{devices:?}");
    let my_id = mine[0]["id"].as_str().unwrap().to_owned();

    let revoke = |auth: &str| {
        Request::post(format!("/api/compounds/c1/devices/{my_id}"))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(Body::from(json!({"revoke": true}).to_string()))
            .unwrap()
    };
    let (status, _, body) = support::send(&state, revoke(&me)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (_, _, body) = support::send(&state, list(me.clone())).await;
    let devices: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let still = devices.iter().find(|d| d["id"] == my_id.as_str()).unwrap();
    assert!(
        still.get("revoked_at_ms").is_none(),
        "nothing changed: {still}"
    );

    let (status, _, _) = support::send(&state, revoke(&other)).await;
    assert_eq!(status, StatusCode::OK, "another coordinator may");
    let (status, _, _) = support::send(&state, list(me)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revoked phone is signed out"
    );
}

// --- Issue 15: revoking invites, the throttle, keyed hashes ------------------

fn revoke_invite_request(compound: &str, id: &str, auth: &str) -> Request<Body> {
    Request::delete(format!("/api/compounds/{compound}/invites/{id}"))
        .header("authorization", auth)
        .body(Body::empty())
        .unwrap()
}

/// A leaked code can be cancelled: it leaves the list and signs nobody in,
/// answered like any wrong code so a guesser learns nothing (item 3).
#[tokio::test]
async fn a_revoked_invite_is_refused_like_an_unknown_code() {
    let dir = TempDir::new().unwrap();
    let (_db, state) =
        support::state_with(dir.path(), &[("c1", "永安社区"), ("c2", "幸福小区")]).await;
    let coordinator = support::coordinator(&state, "c1").await;
    let leaked = new_invite(&state, 500).await;
    let kept = new_invite(&state, 1).await;
    let (status, _, _) = support::send(&state, redeem_request(&leaked.code, [10, 0, 3, 1])).await;
    assert_eq!(status, StatusCode::OK, "the code worked before");

    let (status, _, body) = support::send(
        &state,
        revoke_invite_request("c1", &leaked.invite.id, &coordinator),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let listed = state
        .store
        .invites(&"c1".parse().unwrap(), now_ms())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [kept.invite.id.as_str()]
    );
    let (status, _, body) =
        support::send(&state, redeem_request(&leaked.code, [10, 0, 3, 2])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["code"], "invalid_code", "the same as an unknown code");
    // Revoking again is no error; another compound's coordinator cannot reach
    // it, and no compound has an invite it did not make.
    let (status, _, _) = support::send(
        &state,
        revoke_invite_request("c1", &leaked.invite.id, &coordinator),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let other = support::coordinator(&state, "c2").await;
    let (status, _, _) =
        support::send(&state, revoke_invite_request("c2", &kept.invite.id, &other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) =
        support::send(&state, revoke_invite_request("c1", &kept.invite.id, &other)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = support::send(&state, redeem_request(&kept.code, [10, 0, 3, 3])).await;
    assert_eq!(status, StatusCode::OK, "the other invite still works");
}

/// Checking the limits and counting the attempt are one step: many wrong
/// codes sent at the same moment get exactly the limit's worth of tries
/// (item 11).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_never_pass_the_limit() {
    let dir = TempDir::new().unwrap();
    let (_db, mut state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    state.throttle = Throttle {
        window_ms: 1 << 50,
        per_ip: 5,
        per_code: 1000,
        everyone: 1000,
    };
    let attempts = (0..40).map(|i| {
        let state = state.clone();
        tokio::spawn(async move {
            let code = format!("AAAAA-{:05}", i).replace('0', "B");
            support::send(&state, redeem_request(&code, [10, 0, 4, 1]))
                .await
                .0
        })
    });
    let mut statuses = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        statuses.push(attempt.await.unwrap());
    }
    let tried = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let held = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, held), (5, 35), "{statuses:?}");
}

/// An IPv6 subscriber has a whole /64 to rotate through: it is one address
/// to the throttle (item 11).
#[tokio::test]
async fn ipv6_addresses_are_throttled_by_their_64() {
    let dir = TempDir::new().unwrap();
    let (_db, mut state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    state.throttle = Throttle {
        window_ms: 1 << 50,
        per_ip: 2,
        per_code: 1000,
        everyone: 1000,
    };
    let status = |ip: [u16; 8], guess: &'static str| {
        let state = state.clone();
        async move { support::send(&state, redeem_request(guess, ip)).await.0 }
    };
    let net = [0x2001, 0xdb8, 1, 2];
    let host = |a: u16, b: u16| [net[0], net[1], net[2], net[3], a, 0, 0, b];
    assert_eq!(
        status(host(0, 1), "AAAAA-AAAAA").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(host(0xffff, 2), "AAAAA-AAAAB").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(host(0x1234, 3), "AAAAA-AAAAC").await,
        StatusCode::TOO_MANY_REQUESTS,
        "another address of the same /64"
    );
    assert_eq!(
        status([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1], "AAAAA-AAAAD").await,
        StatusCode::UNAUTHORIZED,
        "the next /64 is someone else"
    );
    assert_eq!(
        doorstep_server::accounts::throttle_address(Some("::ffff:10.0.0.1".parse().unwrap())),
        "10.0.0.1",
        "an IPv4 address seen through IPv6 is the IPv4 address"
    );
}

/// Throttle rows of windows gone by are deleted as new attempts come in,
/// so a stream of addresses cannot grow the table without end (item 11).
#[tokio::test]
async fn throttle_rows_of_past_windows_are_purged() {
    let dir = TempDir::new().unwrap();
    let (_db, mut state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    state.throttle = Throttle {
        window_ms: 2000,
        per_ip: 100,
        per_code: 100,
        everyone: 1000,
    };
    tokio::time::sleep(Duration::from_millis(2000 - now_ms() % 2000 + 50)).await;
    for ip in 1..=20u8 {
        support::send(&state, redeem_request("AAAAA-AAAAA", [10, 0, 5, ip])).await;
    }
    // 20 addresses, everyone, one code.
    assert_eq!(state.store.throttle_rows().await.unwrap(), 22);
    tokio::time::sleep(Duration::from_millis(2000 - now_ms() % 2000 + 50)).await;
    support::send(&state, redeem_request("AAAAA-AAAAB", [10, 0, 5, 99])).await;
    assert_eq!(
        state.store.throttle_rows().await.unwrap(),
        3,
        "only this window's address, everyone and code are left"
    );
}

/// The hash a row stores, read straight from the database.
async fn stored_hash(db: &support::TestDatabase, sql: &str, id: &str) -> String {
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let (hash,): (String,) = sqlx::query_as(sql).bind(id).fetch_one(&pool).await.unwrap();
    pool.close().await;
    hash
}

/// Tokens and codes are stored as HMAC-SHA-256 under the server's secret,
/// which the database does not hold; rows an older server wrote as plain
/// SHA-256 keep working and are rewritten keyed when used (item 10).
#[tokio::test]
async fn secrets_are_stored_keyed_and_legacy_hashes_still_work() {
    use doorstep_server::store::legacy_hash;
    let dir = TempDir::new().unwrap();
    let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    let store = &state.store;
    let (device, token) = store
        .enroll(&"c1".parse().unwrap(), Role::Stall, None, false)
        .await
        .unwrap();
    let token_sql = "SELECT token_hash FROM device WHERE id = $1";
    let keyed = stored_hash(&db, token_sql, &device.id).await;
    assert_ne!(keyed, legacy_hash(&token), "not plain SHA-256");
    assert_eq!(keyed, store.secret_hash(&token));

    // As an older server stored it: still signs in, and is upgraded.
    store
        .set_token_hash(&device.id, &legacy_hash(&token))
        .await
        .unwrap();
    let found = store.device_by_token(&token).await.unwrap().unwrap();
    assert_eq!(found.id, device.id);
    assert_eq!(stored_hash(&db, token_sql, &device.id).await, keyed);

    let invite = new_invite(&state, 2).await;
    let code_sql = "SELECT code_hash FROM invite WHERE id = $1";
    let normalized = doorstep_core::invite::normalize(&invite.code).unwrap();
    assert_eq!(
        stored_hash(&db, code_sql, &invite.invite.id).await,
        store.secret_hash(&normalized)
    );
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE invite SET code_hash = $1 WHERE id = $2")
        .bind(legacy_hash(&normalized))
        .bind(&invite.invite.id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (status, _, _) = support::send(&state, redeem_request(&invite.code, [10, 0, 6, 1])).await;
    assert_eq!(status, StatusCode::OK, "a legacy code still redeems");
    assert_eq!(
        stored_hash(&db, code_sql, &invite.invite.id).await,
        store.secret_hash(&normalized),
        "and is stored keyed from then on"
    );
}

/// A copy of the database without the secret signs nobody in: it holds
/// only keyed hashes, and a server opened on it with another secret refuses
/// to start (SQLite, where the secret sits beside the file; item 10).
#[tokio::test]
async fn a_copy_of_the_database_without_its_secret_signs_nobody_in() {
    let dir = TempDir::new().unwrap();
    let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    if db.is_postgres() {
        return; // the secret comes from the environment there
    }
    let (_, token) = state
        .store
        .enroll(&"c1".parse().unwrap(), Role::Coordinator, None, false)
        .await
        .unwrap();
    state.store.close().await;
    let secret = dir.path().join("secret");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&secret).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "only the server's user reads it");

    let copy = TempDir::new().unwrap();
    for file in ["test.sqlite", "test.sqlite-wal", "test.sqlite-shm"] {
        let from = dir.path().join(file);
        if from.exists() {
            std::fs::copy(&from, copy.path().join(file)).unwrap();
        }
    }
    // The stored hashes are keyed: the plain SHA-256 of the token is not
    // among them.
    let copied: Vec<u8> = ["test.sqlite", "test.sqlite-wal"]
        .iter()
        .flat_map(|file| std::fs::read(copy.path().join(file)).unwrap_or_default())
        .collect();
    let plain = doorstep_server::store::legacy_hash(&token);
    assert!(
        !copied.windows(plain.len()).any(|w| w == plain.as_bytes()),
        "no unkeyed hash is stored"
    );
    // A server started on the copy with another secret refuses to start,
    // saying why, rather than treat every token as unknown.
    let Err(stolen) = doorstep_server::store::Store::open(&format!(
        "sqlite://{}",
        copy.path().join("test.sqlite").display()
    ))
    .await
    else {
        panic!("a server with another secret must not start");
    };
    assert!(stolen.to_string().contains("another secret"), "{stolen}");
    // With the secret beside it, the same copy knows the token.
    std::fs::copy(&secret, copy.path().join("secret")).unwrap();
    let restored = doorstep_server::store::Store::open(&format!(
        "sqlite://{}",
        copy.path().join("test.sqlite").display()
    ))
    .await
    .unwrap();
    assert!(restored.device_by_token(&token).await.unwrap().is_some());
    restored.close().await;
}

/// Servers starting together on one data folder end up with one secret.
#[test]
fn the_secret_file_is_made_once() {
    let dir = TempDir::new().unwrap();
    let hashes: Vec<String> = std::thread::scope(|scope| {
        let made: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    doorstep_server::store::Secret::in_dir(dir.path())
                        .unwrap()
                        .hash("x")
                })
            })
            .collect();
        made.into_iter().map(|m| m.join().unwrap()).collect()
    });
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["secret"], "no drafts left behind");
    assert!(doorstep_server::store::Secret::from_text("short").is_err());
}
