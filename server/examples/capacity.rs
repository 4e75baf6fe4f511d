//! Capacity figures for `docs/SCALE.md`, measured on this machine:
//!
//! ```sh
//! cargo run --release -p doorstep-server --example capacity
//! ```
//!
//! 1. Ingest on each backend (a fresh SQLite file; a fresh PostgreSQL
//!    database on `DOORSTEP_TEST_POSTGRES`, default 127.0.0.1:5432): the real
//!    router through `oneshot` (decode, checks, merge, audit row, response;
//!    no TCP). Three shapes: one phone uploading a full outbox
//!    (100-mutation pushes); 16 phones at once in 16 compounds, each request
//!    5 new mutations plus a pull from the cursor the previous response gave
//!    (a door-knock day); the same 16 phones all in one compound, so their
//!    pushes contend for one counter row and each pull brings the others'
//!    changes. Requests are encoded inside the timed loop (a few µs each).
//! 2. Server-sent events: the server runs as a child process (this program
//!    with `serve`) on SQLite; N resident pages stream from it over TCP; we
//!    read its resident memory before and after, then time one truck tap
//!    from `POST /api/sync` until every page has the update.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use doorstep_core::{
    hlc::Hlc,
    ids::ClientId,
    sync::{PullRequest, PushedMutation, SCHEMA_VERSION, SyncRequest, SyncResponse},
};
use doorstep_server::{
    AppState, app, now_ms,
    store::{Compound, Store},
};
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};
use tower::ServiceExt;

const PHONES: usize = 16;
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if args.get(1).map(String::as_str) == Some("serve") {
        runtime.block_on(serve(&args[2], &args[3]));
    } else {
        runtime.block_on(measure());
    }
}

async fn measure() {
    println!(
        "machine: {} cores, {}; load average before: {}",
        cores(),
        cpu_model(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!("\n## ingest (mutations/s; requests/s)");
    // Other work on the machine skews single runs: each shape runs ROUNDS
    // times and the fastest is reported, with the slowest beside it.
    for backend in ["sqlite", "postgres"] {
        for (label, phones, batch, total, same) in [
            ("1 phone, 100-mutation pushes", 1, 100, 20_000, false),
            (
                "16 phones in 16 compounds, 5 mutations + pull",
                PHONES,
                5,
                8_000,
                false,
            ),
            (
                "16 phones in 1 compound, 5 mutations + pull",
                PHONES,
                5,
                8_000,
                true,
            ),
        ] {
            let mut rates = Vec::new();
            for _ in 0..ROUNDS {
                rates.push(ingest(backend, phones, batch, total, same).await);
            }
            rates.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
            println!(
                "{backend:8} {label}: best {}; slowest {:.0} mutations/s",
                rates[0],
                rates[ROUNDS - 1].mutations as f64 / rates[ROUNDS - 1].seconds
            );
        }
    }
    println!("\n## resident page polls (GET /api/public/runs/{{compound}}, 8 at once)");
    for backend in ["sqlite", "postgres"] {
        let mut best = 0.0f64;
        for _ in 0..ROUNDS {
            best = best.max(polls(backend, 4_000).await);
        }
        println!("{backend:8} best {best:.0} polls/s");
    }
    println!("\n## server-sent events (one instance, SQLite)");
    for pages in [1_000, 4_000, 8_000, 16_000] {
        sse(pages).await;
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_owned()
}

/// A fresh database on `backend`, dropped (PostgreSQL) by the returned guard.
struct Database {
    url: String,
    _dir: tempfile::TempDir,
    postgres: Option<String>,
}

impl Database {
    async fn new(backend: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if backend == "sqlite" {
            let url = format!("sqlite://{}", dir.path().join("capacity.sqlite").display());
            return Self {
                url,
                _dir: dir,
                postgres: None,
            };
        }
        let admin = admin_url();
        let name = format!("doorstep_capacity_{}_{}", std::process::id(), now_ms());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL reachable at DOORSTEP_TEST_POSTGRES");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Self {
            url,
            _dir: dir,
            postgres: Some(name),
        }
    }

    async fn drop_now(self) {
        if let Some(name) = &self.postgres {
            let mut conn = PgConnection::connect(&admin_url()).await.unwrap();
            conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
                .await
                .unwrap();
        }
    }
}

fn admin_url() -> String {
    std::env::var("DOORSTEP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://127.0.0.1:5432/postgres".to_owned())
}

fn compound_of(phone: usize, same: bool) -> String {
    if same {
        "c0".to_owned()
    } else {
        format!("c{phone}")
    }
}

/// Each phone's pushes: `total / phones` new households each.
fn bodies(phones: usize, batch: usize, total: usize, same: bool) -> Vec<Vec<SyncRequest>> {
    let wall = now_ms() - 60_000;
    (0..phones)
        .map(|phone| {
            let client = ClientId::from_u128(phone as u128 + 1);
            let compound = compound_of(phone, same);
            let mutations: Vec<PushedMutation> = (0..total / phones)
                .map(|n| PushedMutation {
                    mid: n as u64 + 1,
                    hlc: Hlc {
                        wall_ms: wall,
                        counter: n as u32,
                        node: client,
                    },
                    mutation: serde_json::from_value(json!({
                        "kind": "set",
                        "args": {"collection": "household", "id": format!("p{phone}-h{n:06}"),
                                 "compound": compound,
                                 "fields": {"building": format!("{}栋", n % 40 + 1),
                                            "door": format!("{}", 101 + n % 1800), "head": "王芳"}}
                    }))
                    .unwrap(),
                })
                .collect();
            mutations
                .chunks(batch)
                .map(|chunk| SyncRequest {
                    client_id: client,
                    schema_version: SCHEMA_VERSION,
                    mutations: chunk.to_vec(),
                    // Small pushes pull too; the cursor is filled in from
                    // the previous response, as a phone does.
                    pull: (batch < 100).then(|| PullRequest {
                        compound: compound.parse().unwrap(),
                        cursor: 0,
                    }),
                })
                .collect()
        })
        .collect()
}

struct Rate {
    mutations: usize,
    requests: usize,
    seconds: f64,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} mutations/s, {:.0} requests/s ({} mutations in {:.2} s)",
            self.mutations as f64 / self.seconds,
            self.requests as f64 / self.seconds,
            self.mutations,
            self.seconds
        )
    }
}

async fn ingest(backend: &str, phones: usize, batch: usize, total: usize, same: bool) -> Rate {
    let db = Database::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    for phone in 0..phones {
        let id = compound_of(phone, same);
        if store
            .compounds()
            .await
            .unwrap()
            .iter()
            .any(|c| c.id.as_str() == id)
        {
            continue;
        }
        store
            .create_compound(
                &Compound {
                    id: id.parse().unwrap(),
                    name: id.clone(),
                },
                now_ms(),
            )
            .await
            .unwrap();
    }
    let router = app(AppState::new(store.clone(), db._dir.path().to_path_buf()));
    let bodies = bodies(phones, batch, total, same);
    let requests: usize = bodies.iter().map(Vec::len).sum();
    let start = Instant::now();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|pushes| {
            let router = router.clone();
            tokio::spawn(async move {
                let mut cursor = 0;
                for mut request in pushes {
                    if let Some(pull) = &mut request.pull {
                        pull.cursor = cursor;
                    }
                    let answer = post(&router, serde_json::to_vec(&request).unwrap().into()).await;
                    if let Some(page) = answer.pull {
                        cursor = page.cursor;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let seconds = start.elapsed().as_secs_f64();
    store.close().await;
    db.drop_now().await;
    Rate {
        mutations: total / phones * phones,
        requests,
        seconds,
    }
}

async fn post(router: &Router, body: Bytes) -> SyncResponse {
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap()
}

/// `capacity serve URL DIST`: the server alone in this process.
async fn serve(url: &str, dist: &str) {
    let store = Store::open(url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening {}", listener.local_addr().unwrap());
    doorstep_server::serve(
        listener,
        AppState::new(store, dist.into()),
        std::future::pending(),
    )
    .await
    .unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

async fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply
}

fn staff_push(
    mid: u64,
    collection: &str,
    id: &str,
    kind: &str,
    fields: serde_json::Value,
) -> String {
    let node = ClientId::from_u128(7);
    json!({"client_id": node, "schema_version": 1, "mutations": [{
        "mid": mid, "hlc": Hlc { wall_ms: now_ms() - 1000, counter: mid as u32, node }.to_string(),
        "kind": kind, "args": {"collection": collection, "id": id, "compound": "c0", "fields": fields}}]})
    .to_string()
}

/// Reads until `count` SSE events have arrived on `stream`.
async fn events(stream: &mut TcpStream, count: usize) {
    let mut seen = 0;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while seen < count {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "stream closed");
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(at) = buffer.windows(2).position(|w| w == b"\n\n") {
            if buffer[..at].windows(5).any(|w| w == b"data:") {
                seen += 1;
            }
            buffer.drain(..at + 2);
        }
    }
}

async fn sse(pages: usize) {
    let db = Database::new("sqlite").await;
    let store = Store::open(&db.url).await.unwrap();
    store
        .create_compound(
            &Compound {
                id: "c0".parse().unwrap(),
                name: "c0".into(),
            },
            now_ms(),
        )
        .await
        .unwrap();
    store.close().await;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .arg(&db.url)
        .arg(db._dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .next_line()
        .await
        .unwrap()
        .unwrap()
        .trim_start_matches("listening ")
        .to_owned();
    let t0 = now_ms();
    http(
        &addr,
        "POST",
        "/api/sync",
        &staff_push(
            1,
            "truck",
            "t1",
            "set",
            json!({"name": "豫A·12345", "vendor": "老李菜摊"}),
        ),
    )
    .await;
    let stops: Vec<_> = (1..=8)
        .map(
            |b| json!({"building": b.to_string(), "planned_ms": t0 + b * 600_000, "dwell_min": 10}),
        )
        .collect();
    http(
        &addr,
        "POST",
        "/api/sync",
        &staff_push(
            2,
            "run",
            "r1",
            "set",
            json!({"truck": "t1", "date": "2026-11-28", "state": "underway", "stops": stops}),
        ),
    )
    .await;
    let idle = rss_kib(pid);

    let addr: Arc<str> = addr.into();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(pages);
    let (go_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut clients = Vec::new();
    for _ in 0..pages {
        let addr = addr.clone();
        let ready = ready_tx.clone();
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&*addr).await.unwrap();
            stream
                .write_all(b"GET /api/public/runs/c0/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                .await
                .unwrap();
            events(&mut stream, 1).await; // the snapshot
            ready.send(()).await.unwrap();
            events(&mut stream, 1).await; // the tap
            Instant::now()
        }));
    }
    let mut ready = 0;
    while ready < pages {
        match tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await {
            Ok(Some(())) => ready += 1,
            _ => break,
        }
    }
    if ready < pages {
        println!("{pages:5} pages: only {ready} streams opened within 60 s");
    }
    drop(go_tx);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = rss_kib(pid);
    let tapped = Instant::now();
    http(
        &addr,
        "POST",
        "/api/sync",
        &staff_push(
            3,
            "stop_event",
            "e1",
            "append",
            json!({"run": "r1", "building": "1", "kind": "arrived", "at_ms": now_ms()}),
        ),
    )
    .await;
    let accepted = tapped.elapsed();
    let mut last = tapped;
    let mut missed = 0;
    for client in clients {
        match tokio::time::timeout_at((tapped + Duration::from_secs(30)).into(), client).await {
            Ok(Ok(at)) => last = last.max(at),
            _ => missed += 1,
        }
    }
    if missed > 0 {
        println!("{pages:5} pages: {missed} did not see the tap within 30 s");
    }
    let fan_out = last - tapped;
    println!(
        "{pages:5} pages: server RSS {:.1} MiB idle, {:.1} MiB with pages open ({:.1} KiB per page); \
         tap accepted in {:.1} ms, on every page after {:.0} ms",
        idle as f64 / 1024.0,
        open as f64 / 1024.0,
        (open.saturating_sub(idle)) as f64 / pages as f64,
        accepted.as_secs_f64() * 1000.0,
        fan_out.as_secs_f64() * 1000.0
    );
    child.kill().await.ok();
    db.drop_now().await;
}

/// Public status reads per second of a compound with one run of 8 stops, 10
/// taps and a truck: the load of resident pages that poll instead of stream.
async fn polls(backend: &str, count: usize) -> f64 {
    let db = Database::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    store
        .create_compound(
            &Compound {
                id: "c0".parse().unwrap(),
                name: "c0".into(),
            },
            now_ms(),
        )
        .await
        .unwrap();
    let router = app(AppState::new(store.clone(), db._dir.path().to_path_buf()));
    let t0 = now_ms();
    let stops: Vec<_> = (1..=8)
        .map(
            |b| json!({"building": b.to_string(), "planned_ms": t0 + b * 600_000, "dwell_min": 10}),
        )
        .collect();
    let mut seed = vec![
        staff_push(
            1,
            "truck",
            "t1",
            "set",
            json!({"name": "豫A·12345", "vendor": "老李菜摊"}),
        ),
        staff_push(
            2,
            "run",
            "r1",
            "set",
            json!({"truck": "t1", "date": "2026-11-28", "state": "underway", "stops": stops}),
        ),
    ];
    for e in 0..10u64 {
        seed.push(staff_push(3 + e, "stop_event", &format!("e{e}"), "append",
            json!({"run": "r1", "building": (e / 2 + 1).to_string(), "kind": if e % 2 == 0 { "arrived" } else { "left" }, "at_ms": t0})));
    }
    for body in seed {
        post(&router, body.into()).await;
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let router = router.clone();
            tokio::spawn(async move {
                for _ in 0..count / 8 {
                    let request = Request::get("/api/public/runs/c0")
                        .body(Body::empty())
                        .unwrap();
                    let response = router.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    axum::body::to_bytes(response.into_body(), usize::MAX)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    store.close().await;
    db.drop_now().await;
    rate
}
