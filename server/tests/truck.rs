//! The public truck endpoints: what residents see (and what they must not),
//! live updates over SSE to many pages at once, and the QR posters.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{hlc::Hlc, ids::ClientId, truck::PublicRuns};
use doorstep_server::{AppState, now_ms};
use serde_json::{Value, json};
use support::TestDatabase;
use tempfile::TempDir;

mod support;

struct Fixture {
    _db: TestDatabase,
    _dir: TempDir,
    state: AppState,
    /// The pushes' `Authorization`: a coordinator, who may write households
    /// and trucks (public reads go without).
    auth: String,
    next_mid: std::sync::atomic::AtomicU64,
}

const STAFF: u128 = 5;

impl Fixture {
    async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
        Self {
            _db: db,
            _dir: dir,
            auth: support::coordinator(&state, "c1").await,
            state,
            next_mid: 1.into(),
        }
    }

    async fn request(&self, request: Request<Body>) -> (StatusCode, String) {
        let (status, _, body) = support::send(&self.state, request).await;
        (status, String::from_utf8(body).unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        self.request(
            Request::get(path)
                .header("host", "doorstep.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Pushes one mutation as the staff phone.
    async fn push(&self, kind: &str, collection: &str, id: &str, fields: Value) {
        let mid = self
            .next_mid
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let hlc = Hlc {
            wall_ms: now_ms() - 1000,
            counter: mid as u32,
            node: ClientId::from_u128(STAFF),
        };
        let body = json!({
            "client_id": ClientId::from_u128(STAFF), "schema_version": SCHEMA_VERSION,
            "mutations": [{"mid": mid, "hlc": hlc.to_string(), "kind": kind,
                           "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}}]
        });
        let request = Request::post("/api/sync")
            .header("content-type", "application/json")
            .header("authorization", &self.auth)
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, text) = self.request(request).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }

    async fn seed_run(&self) {
        let t0 = now_ms();
        self.push("set", "truck", "t1", json!({"name": "豫A·12345", "vendor": "老李菜摊", "phone": "0371-1234567", "order_link": "https://example.org/order"})).await;
        let stops: Vec<Value> = ["1", "2", "4"]
            .iter()
            .enumerate()
            .map(|(i, b)| json!({"building": b, "planned_ms": t0 + i as u64 * 1_200_000, "dwell_min": 15}))
            .collect();
        self.push(
            "set",
            "run",
            "r1",
            json!({"truck": "t1", "date": "2026-11-28", "state": "underway", "stops": stops}),
        )
        .await;
    }

    async fn tap(&self, id: &str, building: &str, kind: &str) {
        self.push(
            "append",
            "stop_event",
            id,
            json!({"run": "r1", "building": building, "kind": kind, "at_ms": now_ms()}),
        )
        .await;
    }
}

#[tokio::test]
async fn public_runs_carry_truck_status_and_no_personal_data() {
    let f = Fixture::new().await;
    f.push("set", "household", "h1", json!({"building": "4", "door": "301室", "head": "王芳", "phone": "13800138000", "notes": "独居老人"})).await;
    f.seed_run().await;
    f.tap("e1", "1", "arrived").await;

    let (status, body) = f.get("/api/public/runs/c1").await;
    assert_eq!(status, StatusCode::OK);
    // The staff phone's client id rides in every HLC it stamps: no stamp,
    // and no client id, is public (issue 15, item 6).
    let staff = ClientId::from_u128(STAFF).to_string();
    for personal in [
        "王芳",
        "13800138000",
        "301室",
        "独居老人",
        "h1",
        staff.as_str(),
        "hlc",
    ] {
        assert!(
            !body.contains(personal),
            "public JSON leaks {personal:?}: {body}"
        );
    }
    let runs: PublicRuns = serde_json::from_str(&body).unwrap();
    assert_eq!(runs.runs.len(), 1);
    let run = &runs.runs[0];
    assert_eq!(run.truck.vendor, "老李菜摊");
    assert_eq!(
        run.stops
            .iter()
            .map(|s| s.building.as_str())
            .collect::<Vec<_>>(),
        ["1", "2", "4"]
    );
    assert_eq!(run.events.len(), 1);
    let tap: Value = serde_json::from_str::<Value>(&body).unwrap()["runs"][0]["events"][0].clone();
    let mut keys: Vec<&String> = tap.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["at_ms", "building", "kind"],
        "a tap is what, where and when: {tap}"
    );
    // Nor the device that pushed it.
    let coordinator_id = f.state.store.devices(&"c1".parse().unwrap()).await.unwrap()[0]
        .id
        .clone();
    assert!(!body.contains(&coordinator_id), "{body}");

    assert_eq!(
        f.get("/api/public/runs/nowhere").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        f.get("/api/public/runs/nowhere/stream").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn posters_have_one_qr_page_per_building() {
    let f = Fixture::new().await;
    f.push("set", "household", "h1", json!({"building": "7"}))
        .await;
    f.seed_run().await;
    let (status, html) = f
        .request(
            Request::get("/api/compounds/c1/posters")
                .header("host", "doorstep.test")
                .header("authorization", &f.auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        html.matches("class=\"poster\"").count(),
        4,
        "buildings 1, 2, 4 and 7"
    );
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(
        html.contains("http://doorstep.test/r/c1/4"),
        "QR target uses the request's host"
    );
    assert!(html.contains("扫码"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tap_reaches_200_open_resident_pages() {
    const PAGES: usize = 200;
    let f = Fixture::new().await;
    f.seed_run().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(doorstep_server::serve(
        listener,
        f.state.clone(),
        std::future::pending(),
    ));

    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(PAGES);
    let mut pages = Vec::new();
    for _ in 0..PAGES {
        let ready = ready_tx.clone();
        pages.push(tokio::spawn(async move {
            let (mut stream, mut buffer) =
                support::sse_open(addr, "/api/public/runs/c1/stream").await;
            let first: PublicRuns =
                serde_json::from_str(&support::next_event(&mut stream, &mut buffer).await).unwrap();
            assert!(first.runs[0].events.is_empty());
            ready.send(()).await.unwrap();
            let second: PublicRuns =
                serde_json::from_str(&support::next_event(&mut stream, &mut buffer).await).unwrap();
            second.runs[0].events.len()
        }));
    }
    for _ in 0..PAGES {
        tokio::time::timeout(Duration::from_secs(20), ready_rx.recv())
            .await
            .expect("all pages connected")
            .unwrap();
    }
    f.tap("e1", "2", "arrived").await;
    for page in pages {
        let events = tokio::time::timeout(Duration::from_secs(20), page)
            .await
            .expect("every page hears the tap")
            .unwrap();
        assert_eq!(events, 1);
    }
    server.abort();
}

#[tokio::test]
async fn shutdown_ends_open_streams_instead_of_waiting_for_them() {
    let f = Fixture::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(doorstep_server::serve(listener, f.state.clone(), async {
        stopped.await.ok();
    }));
    let (mut stream, mut buffer) = support::sse_open(addr, "/api/public/runs/c1/stream").await;
    support::next_event(&mut stream, &mut buffer).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("shutdown does not hang on SSE")
        .unwrap()
        .unwrap();
}

/// The resident page is the server's own HTML: the first response names
/// the building and says where the truck is, with its own strict policy,
/// and carries nothing personal.
#[tokio::test]
async fn the_resident_page_arrives_with_its_status_and_nothing_personal() {
    let f = Fixture::new().await;
    f.push("set", "household", "h1", json!({"building": "4", "door": "301室", "head": "王芳", "phone": "13800138000", "notes": "独居老人"})).await;
    f.seed_run().await;
    f.tap("e1", "1", "arrived").await;

    let (status, headers, body) = support::send(
        &f.state,
        Request::get("/r/c1/4").body(Body::empty()).unwrap(),
    )
    .await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(">流动菜摊 · 4号楼</h1>"), "{html}");
    assert!(html.contains(">还有2栋，约 "), "{html}");
    assert!(html.contains("老李菜摊"));
    assert!(!html.contains("doorstep-app"), "not the volunteer app");
    let staff = ClientId::from_u128(STAFF).to_string();
    for personal in ["王芳", "13800138000", "301室", "独居老人", staff.as_str()] {
        assert!(!html.contains(personal), "the page leaks {personal:?}");
    }
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(headers["cache-control"], "no-cache");

    let (_, english) = f.get("/r/c1/4?lang=en").await;
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("2 buildings away, about "), "{english}");

    let (status, unknown) = f.get("/r/nowhere/4").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(unknown.contains("找不到这个小区"), "{unknown}");

    let (status, headers, worker) = support::send(
        &f.state,
        Request::get("/r/sw.js").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        String::from_utf8(worker)
            .unwrap()
            .contains("doorstep-resident")
    );
}

/// Times are the server's: a status made now carries the server's clock,
/// and its ETA and stale age are worked out from the server's clock alone
/// (the request has no clock of the phone's in it), so a phone set ten
/// minutes wrong reads the same ETA and age as any other.
#[tokio::test]
async fn resident_status_times_come_from_the_servers_clock() {
    let f = Fixture::new().await;
    let t0 = now_ms() - 90 * 60_000;
    f.push(
        "set",
        "truck",
        "t1",
        json!({"name": "豫A·12345", "vendor": "老李菜摊", "phone": "0371-1234567"}),
    )
    .await;
    let stops: Vec<Value> = ["1", "2", "4"]
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"building": b, "planned_ms": t0 + i as u64 * 1_200_000, "dwell_min": 15}))
        .collect();
    f.push(
        "set",
        "run",
        "r1",
        json!({"truck": "t1", "date": "2026-11-28", "state": "underway", "stops": stops}),
    )
    .await;
    f.push(
        "append",
        "stop_event",
        "e1",
        json!({"run": "r1", "building": "1", "kind": "arrived", "at_ms": t0}),
    )
    .await;

    let before = now_ms();
    let (status, body) = f.get("/api/public/status/c1/4").await;
    let after = now_ms();
    assert_eq!(status, StatusCode::OK, "{body}");
    let live: Value = serde_json::from_str(&body).unwrap();
    let server_time = live["server_time_ms"].as_u64().unwrap();
    assert!((before..=after).contains(&server_time));
    let html = live["html"].as_str().unwrap();
    // The truck overstayed at 1 (arrived 90 minutes ago, 15 planned): it
    // leaves "now" by the server's clock, and building 4 comes 40 minutes
    // of plan after that.
    let line = doorstep_core::eta::timeline(
        doorstep_core::truck::RunState::Underway,
        &serde_json::from_value::<Vec<doorstep_core::truck::Stop>>(json!(stops)).unwrap(),
        &[doorstep_core::truck::Tap {
            building: "1".into(),
            kind: doorstep_core::truck::EventKind::Arrived,
            at_ms: t0,
        }],
        server_time,
    );
    let expected = doorstep_server::resident_page::render::status_line(
        &line.forecast("4").status,
        doorstep_server::resident_page::text::Lang::Zh,
    );
    assert!(html.contains(&expected), "{expected} in {html}");
    assert!(
        html.contains("已有 90 分钟没有收到菜车位置"),
        "stale age by the server's clock: {html}"
    );
    assert_eq!(live["moment"], Value::Null);
}

/// Each building's stream renders its own status: at once, then after a tap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resident_stream_follows_taps() {
    let f = Fixture::new().await;
    f.seed_run().await;
    f.tap("e1", "1", "arrived").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(doorstep_server::serve(
        listener,
        f.state.clone(),
        std::future::pending(),
    ));
    let (mut stream, mut buffer) =
        support::sse_open(addr, "/api/public/status/c1/4/stream?lang=en").await;
    let first: Value =
        serde_json::from_str(&support::next_event(&mut stream, &mut buffer).await).unwrap();
    assert!(
        first["html"].as_str().unwrap().contains("2 buildings away"),
        "{first}"
    );
    f.tap("e2", "1", "left").await;
    f.tap("e3", "2", "arrived").await;
    let next = loop {
        let event: Value =
            serde_json::from_str(&support::next_event(&mut stream, &mut buffer).await).unwrap();
        if event["moment"] == "next" {
            break event;
        }
    };
    assert!(
        next["html"]
            .as_str()
            .unwrap()
            .contains("Your building is next"),
        "{next}"
    );
    assert_eq!(
        f.get("/api/public/status/nowhere/4/stream").await.0,
        StatusCode::NOT_FOUND
    );
    server.abort();
}
