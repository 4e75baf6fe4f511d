//! Many stateless instances on one PostgreSQL: two real `doorstep-server`
//! processes on 127.0.0.1:0 share a fresh database. A push accepted by one is
//! pulled from the other, and a truck tap posted to one reaches a resident
//! page streaming from the other within 2 s (LISTEN/NOTIFY). Pokes cross
//! instances the same way.

mod support;

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{hlc::Hlc, ids::ClientId, sync::SyncResponse, truck::PublicRuns};
use doorstep_server::{AppState, app, live, now_ms, store::Store};
use serde_json::{Value, json};
use support::TestDb;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tower::ServiceExt;

/// One `doorstep-server` process, killed when dropped.
struct Instance {
    _server: support::ServerProcess,
    addr: String,
    /// The `Authorization` header its requests carry.
    auth: String,
}

impl Instance {
    async fn start(database_url: &str, dist: &std::path::Path, auth: &str) -> Self {
        let server = support::ServerProcess::start(database_url, dist).await;
        Self {
            addr: server.addr.to_string(),
            _server: server,
            auth: auth.to_owned(),
        }
    }

    /// A request over a fresh connection, with the token; the response's
    /// status and body.
    async fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Authorization: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.auth,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        assert!(
            !head.to_ascii_lowercase().contains("chunked"),
            "expected a sized body: {head}"
        );
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, body.to_owned())
    }

    async fn sync(&self, body: &Value) -> SyncResponse {
        let (status, text) = self.request("POST", "/api/sync", &body.to_string()).await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Opens a resident page's event stream.
    async fn stream(&self, path: &str) -> (TcpStream, String) {
        support::sse_open(self.addr.parse().unwrap(), path).await
    }
}

const STAFF: u128 = 5;

fn mutation(mid: u64, kind: &str, collection: &str, id: &str, fields: Value) -> Value {
    let hlc = Hlc {
        wall_ms: now_ms() - 1000,
        counter: mid as u32,
        node: ClientId::from_u128(STAFF),
    };
    json!({"mid": mid, "hlc": hlc.to_string(), "kind": kind,
           "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}})
}

fn push(mutations: Vec<Value>) -> Value {
    json!({"client_id": ClientId::from_u128(STAFF), "schema_version": SCHEMA_VERSION, "mutations": mutations})
}

/// A fresh database with compound c1, and the `Authorization` header of a
/// coordinator there (the staff phone).
async fn database_with_compound() -> (TestDb, String) {
    let db = TestDb::create().await;
    let store = Store::open(&db.url).await.unwrap();
    let auth = support::compound_with_coordinator(&store, "c1", "永安社区").await;
    store.close().await;
    (db, auth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_pushes_and_live_truck_taps() {
    let (db, auth) = database_with_compound().await;
    let dist = tempfile::TempDir::new().unwrap();
    let a = Instance::start(&db.url, dist.path(), &auth).await;
    let b = Instance::start(&db.url, dist.path(), &auth).await;

    // A push to A is pulled from B.
    let pushed = a
        .sync(&push(vec![mutation(
            1,
            "set",
            "household",
            "h1",
            json!({"door": "101"}),
        )]))
        .await;
    assert_eq!(pushed.last_mid, 1);
    let pulled = b
        .sync(
            &json!({"client_id": ClientId::from_u128(9), "schema_version": SCHEMA_VERSION,
                      "pull": {"compound": "c1", "cursor": 0}}),
        )
        .await
        .pull
        .unwrap();
    assert_eq!(pulled.changes.len(), 1);
    assert_eq!(pulled.changes[0].record.id.as_str(), "h1");
    // The same phone's next push may land on B: its mids carry on there.
    let next = b
        .sync(&push(vec![mutation(
            2,
            "set",
            "truck",
            "t1",
            json!({"name": "豫A·12345", "vendor": "老李菜摊"}),
        )]))
        .await;
    assert_eq!(next.last_mid, 2);
    let t0 = now_ms();
    a.sync(&push(vec![mutation(3, "set", "run", "r1", json!({"truck": "t1", "date": "2026-11-28", "state": "underway",
        "stops": [{"building": "1", "planned_ms": t0, "dwell_min": 15}, {"building": "2", "planned_ms": t0 + 1_200_000, "dwell_min": 15}]}))]))
        .await;

    // A resident page streams from B; the staff phone taps through A.
    let (mut stream, mut buffer) = b.stream("/api/public/runs/c1/stream").await;
    let first: PublicRuns =
        serde_json::from_str(&support::next_event(&mut stream, &mut buffer).await).unwrap();
    assert!(first.runs[0].events.is_empty());
    let tapped = Instant::now();
    a.sync(&push(vec![mutation(
        4,
        "append",
        "stop_event",
        "e1",
        json!({"run": "r1", "building": "1", "kind": "arrived", "at_ms": now_ms()}),
    )]))
    .await;
    // Earlier changes may still be arriving as snapshots; the tap's must
    // follow within 2 s.
    tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let update: PublicRuns =
                serde_json::from_str(&support::next_event(&mut stream, &mut buffer).await).unwrap();
            if update.runs[0].events.len() == 1 {
                break;
            }
        }
    })
    .await
    .expect("the tap reaches the resident on the other instance within 2 s");
    eprintln!("tap on A seen on B's stream after {:?}", tapped.elapsed());
    assert_eq!(a.request("GET", "/api/health", "").await.0, 200);
}

/// Two instances in one process, each with its own pool: a push through A's
/// router pokes B's phones, and B relays A's public change too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_one_instance_pokes_the_other() {
    let (db, auth) = database_with_compound().await;
    let dist = tempfile::TempDir::new().unwrap();
    let a = AppState::new(
        Store::open(&db.url).await.unwrap(),
        dist.path().to_path_buf(),
    );
    let b = AppState::new(
        Store::open(&db.url).await.unwrap(),
        dist.path().to_path_buf(),
    );
    let _relay = live::relay(b.clone()).await;
    let mut pokes = b.live.subscribe_pokes();
    let (mut updates, _) = b.live.subscribe();

    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .header("authorization", &auth)
        .body(Body::from(
            push(vec![
                mutation(1, "set", "household", "h1", json!({"door": "101"})),
                mutation(2, "set", "truck", "t1", json!({"name": "豫A·12345"})),
            ])
            .to_string(),
        ))
        .unwrap();
    let response = app(a.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let poked = tokio::time::timeout(Duration::from_secs(2), pokes.recv())
        .await
        .expect("B is poked within 2 s")
        .unwrap();
    assert_eq!(poked.compound.as_str(), "c1");
    // The pushing device is named, so its own stream is not poked.
    assert!(poked.by.is_some());
    let update = tokio::time::timeout(Duration::from_secs(2), updates.recv())
        .await
        .expect("B publishes the public status within 2 s")
        .unwrap();
    assert_eq!(update.compound.as_str(), "c1");
    // One announcement per compound and push: nothing else arrives.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), pokes.recv())
            .await
            .is_err()
    );
    b.live.close();
}
