//! Capacity figures for `docs/SCALE.md`, measured on this machine. `cargo
//! xtask bench store` runs it and reads its `doorstep-bench:` lines (see
//! BENCH.md); by hand:
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
//!    Then resident polls of one compound's status, 8 at a time.
//! 2. Server-sent events: the server runs as a child process (this program
//!    with `serve`) on SQLite; N resident pages stream from it over TCP; we
//!    read its resident memory before and after, then time 3 truck taps, one
//!    at a time, from just before each `POST /api/sync` until each page has
//!    the update. N climbs a ladder (`PAGES`, or the comma-separated list in
//!    `DOORSTEP_CAPACITY_PAGES` for a shorter run, e.g. `1000,4000`).
//!
//! Prints text for people, and one `doorstep-bench: {json}` line per figure
//! for `cargo xtask bench store`: `store.sqlite` and `store.postgres` (the
//! door-knock shape's best ingest rate, mutations/s) after each backend,
//! `store.sse` (open pages per instance at which the p99 of a tap's fan-out
//! stays within 500 ms) at the end. None has a raw baseline (`null`): they
//! are capacity figures, not our code next to a floor.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use doorstep_core::{
    access::Role,
    hlc::Hlc,
    ids::{ClientId, CompoundId},
    sync::{PullRequest, PushedMutation, SCHEMA_VERSION, SyncRequest, SyncResponse},
};
use doorstep_server::{
    AppState, app, now_ms,
    store::{Compound, Store},
};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};
use tower::ServiceExt;

const PHONES: usize = 16;
const ROUNDS: usize = 3;
/// How many resident pages stream at once, climbing; every step is measured.
const PAGES: &[usize] = &[1_000, 2_000, 4_000, 8_000, 16_000];
/// Truck taps per step of the ladder, one at a time.
const TAPS: usize = 3;
/// The bound on a tap's fan-out (p99 over every page and tap), as for
/// `cargo xtask bench truck`.
const FAN_OUT_BOUND_MS: f64 = 500.0;
/// Pages that connect at once, under the listen backlog.
const CONNECTING_AT_ONCE: usize = 64;
/// All pages of a step must hold their snapshot within this.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);
/// Each tap must reach every page within this.
const TAP_TIMEOUT: Duration = Duration::from_secs(30);
/// Open files beyond the pages' sockets (the store, the runtime, stdio).
const SPARE_FDS: u64 = 256;

/// The ingest shapes: key in the JSON line, label, phones, mutations per
/// request, mutations in all, whether every phone writes the same compound.
const SHAPES: [(&str, &str, usize, usize, usize, bool); 3] = [
    (
        "one_phone",
        "1 phone, 100-mutation pushes",
        1,
        100,
        20_000,
        false,
    ),
    (
        "door_knock",
        "16 phones in 16 compounds, 5 mutations + pull",
        PHONES,
        5,
        8_000,
        false,
    ),
    (
        "one_compound",
        "16 phones in 1 compound, 5 mutations + pull",
        PHONES,
        5,
        8_000,
        true,
    ),
];

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
    check_percentile();
    let ladder = page_ladder();
    raise_open_file_limit(ladder.iter().copied().max().unwrap_or(0));
    println!(
        "machine: {} cores, {}; load average before: {}",
        cores(),
        cpu_model(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    for backend in ["sqlite", "postgres"] {
        println!("\n## {backend}: ingest (mutations/s; requests/s) and resident polls");
        // Other work on the machine skews single runs: each shape runs ROUNDS
        // times and the fastest is reported, with the slowest beside it.
        let mut shapes = serde_json::Map::new();
        let mut best = BTreeMap::new();
        for (key, label, phones, batch, total, same) in SHAPES {
            let mut rates = Vec::new();
            for _ in 0..ROUNDS {
                rates.push(ingest(backend, phones, batch, total, same).await);
            }
            let rounds_s: Vec<f64> = rates.iter().map(|r| round2(r.seconds)).collect();
            rates.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
            let (fastest, slowest) = (&rates[0], &rates[ROUNDS - 1]);
            println!(
                "{backend:8} {label}: best {fastest}; slowest {:.0} mutations/s",
                slowest.mutations_per_s()
            );
            shapes.insert(
                key.to_owned(),
                json!({
                    "shape": label,
                    "phones": phones,
                    "mutations_per_request": batch,
                    "mutations": fastest.mutations,
                    "requests": fastest.requests,
                    "mutations_per_s": fastest.mutations_per_s().round(),
                    "requests_per_s": fastest.requests_per_s().round(),
                    "slowest_mutations_per_s": slowest.mutations_per_s().round(),
                    "rounds_s": rounds_s,
                }),
            );
            best.insert(key, (fastest.mutations_per_s(), fastest.requests_per_s()));
        }
        // Public status reads per second (resident pages that poll).
        let mut polls_per_s = 0.0f64;
        for _ in 0..ROUNDS {
            polls_per_s = polls_per_s.max(polls(backend, 4_000).await);
        }
        println!(
            "{backend:8} resident polls (GET /api/public/runs/{{compound}}, 8 at once): \
             best {polls_per_s:.0} polls/s"
        );
        let (value, requests_per_s) = best["door_knock"];
        let line = json!({
            "bench": format!("store.{backend}"),
            "unit": "mutations/s",
            "value": value.round(),
            "baseline": null,
            "summary": format!(
                "16 phones in 16 compounds {:.0} mutations/s ({:.0} requests/s); \
                 1 phone, 100-mutation pushes {:.0}; 16 phones in 1 compound {:.0}; \
                 polls {polls_per_s:.0}/s",
                value, requests_per_s, best["one_phone"].0, best["one_compound"].0
            ),
            "statistic": format!(
                "fastest of {ROUNDS} rounds, each on a fresh database: 16 phones at once in \
                 16 compounds, each request 5 new households and a pull (the door_knock shape)"
            ),
            "requests_per_s": requests_per_s.round(),
            "shapes": shapes,
            "polls_per_s": polls_per_s.round(),
            "rounds": ROUNDS,
        });
        println!("doorstep-bench: {line}");
    }

    println!("\n## server-sent events (one instance, SQLite)");
    let mut steps = Vec::new();
    for &pages in &ladder {
        let step = sse(pages).await;
        let all_open = step.opened == step.pages;
        steps.push(step);
        if !all_open {
            // More pages would not open either.
            break;
        }
    }
    // The ladder holds up to the first step that misses the bound.
    let within = steps
        .iter()
        .take_while(|s| s.within(FAN_OUT_BOUND_MS))
        .last()
        .map_or(0, |s| s.pages);
    let first_over = steps
        .iter()
        .find(|s| !s.within(FAN_OUT_BOUND_MS))
        .map(|s| s.pages);
    let bracket = match first_over {
        Some(over) => format!("{over} missed it"),
        None => format!("no step up to {} missed it", ladder.last().unwrap_or(&0)),
    };
    let summary = format!(
        "{within} pages within {FAN_OUT_BOUND_MS} ms ({bracket}); p99/every page: {}",
        steps
            .iter()
            .map(|s| format!(
                "{} pages {:.0}/{:.0} ms",
                s.pages,
                s.p99_ms(),
                s.every_page_ms.iter().copied().fold(f64::NAN, f64::max)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("SSE pages per instance: {summary}");
    let line = json!({
        "bench": "store.sse",
        "unit": "pages",
        "value": within,
        "baseline": null,
        "summary": summary,
        "statistic": format!(
            "the largest step of the ladder at which, as at every smaller step, every page \
             opened, heard each of {TAPS} taps, and the p99 (nearest rank) over every page's \
             receipt of every tap, from just before the tap's POST, was within \
             {FAN_OUT_BOUND_MS} ms; 0 if the first step missed"
        ),
        "bound_ms": FAN_OUT_BOUND_MS,
        "taps": TAPS,
        "ladder": ladder,
        "first_over": first_over,
        "steps": steps.iter().map(Fanout::json).collect::<Vec<_>>(),
    });
    println!("doorstep-bench: {line}");
}

/// The steps of the SSE ladder: `PAGES`, or `DOORSTEP_CAPACITY_PAGES`.
fn page_ladder() -> Vec<usize> {
    let Ok(list) = std::env::var("DOORSTEP_CAPACITY_PAGES") else {
        return PAGES.to_vec();
    };
    let mut ladder: Vec<usize> = list
        .split(',')
        .map(|n| {
            n.trim().parse().unwrap_or_else(|_| {
                panic!("DOORSTEP_CAPACITY_PAGES: {n:?} is not a page count (e.g. 1000,4000)")
            })
        })
        .collect();
    ladder.sort_unstable();
    ladder.dedup();
    assert!(
        ladder.first().is_some_and(|n| *n > 0),
        "DOORSTEP_CAPACITY_PAGES: give page counts above 0, e.g. 1000,4000"
    );
    ladder
}

/// Raises the soft open-file limit to fit `pages` connections: this process
/// holds the pages' ends, the server child (which inherits the limit) the
/// other ends.
fn raise_open_file_limit(pages: usize) {
    let needed = pages as u64 + SPARE_FDS;
    let now = rlimit::increase_nofile_limit(needed).unwrap_or(0);
    assert!(
        now >= needed,
        "{pages} pages need {needed} open files per process, but the limit is {now}: raise the \
         hard limit (e.g. `ulimit -Hn {needed}` as root) or shorten the ladder \
         (DOORSTEP_CAPACITY_PAGES=1000,4000)"
    );
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The nearest-rank percentile of `sorted`: the smallest value that at
/// least `p` percent of them do not exceed.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The percentile rule on known inputs; checked every run (an example has
/// no tests of its own).
fn check_percentile() {
    let thousand: Vec<f64> = (1..=1000).map(f64::from).collect();
    assert_eq!(percentile(&thousand, 99.0), 990.0);
    assert_eq!(percentile(&thousand, 100.0), 1000.0);
    assert_eq!(percentile(&[7.0], 99.0), 7.0);
    assert_eq!(percentile(&[1.0, 2.0], 50.0), 1.0);
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
            let households = (0..total / phones).map(|n| {
                serde_json::from_value(json!({
                    "kind": "set",
                    "args": {"collection": "household", "id": format!("p{phone}-h{n:06}"),
                             "compound": compound,
                             "fields": {"building": format!("{}栋", n % 40 + 1),
                                        "door": format!("{}", 101 + n % 1800), "head": "王芳"}}
                }))
                .unwrap()
            });
            let mutations = PushedMutation::numbered(client, 1, wall, households);
            mutations
                .chunks(batch)
                .map(|chunk| SyncRequest {
                    client_id: client,
                    schema_version: SCHEMA_VERSION,
                    mutations: chunk.to_vec(),
                    // Small pushes pull too; the cursor and scope are filled
                    // in from the previous response, as a phone does.
                    pull: (batch < 100).then(|| PullRequest {
                        compound: compound.parse().unwrap(),
                        cursor: 0,
                        scope: None,
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

impl Rate {
    fn mutations_per_s(&self) -> f64 {
        self.mutations as f64 / self.seconds
    }

    fn requests_per_s(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} mutations/s, {:.0} requests/s ({} mutations in {:.2} s)",
            self.mutations_per_s(),
            self.requests_per_s(),
            self.mutations,
            self.seconds
        )
    }
}

async fn ingest(backend: &str, phones: usize, batch: usize, total: usize, same: bool) -> Rate {
    let db = Database::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    // Each phone is a coordinator device of its compound, with its own token.
    let mut tokens = Vec::new();
    for phone in 0..phones {
        let id = compound_of(phone, same);
        if !store
            .compounds()
            .await
            .unwrap()
            .iter()
            .any(|c| c.id.as_str() == id)
        {
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
        tokens.push(coordinator(&store, &id).await);
    }
    let router = app(AppState::new(store.clone(), db._dir.path().to_path_buf()));
    let bodies = bodies(phones, batch, total, same);
    let requests: usize = bodies.iter().map(Vec::len).sum();
    let start = Instant::now();
    let tasks: Vec<_> = bodies
        .into_iter()
        .zip(tokens)
        .map(|(pushes, auth)| {
            let router = router.clone();
            tokio::spawn(async move {
                let (mut cursor, mut scope) = (0, None);
                for mut request in pushes {
                    if let Some(pull) = &mut request.pull {
                        pull.cursor = cursor;
                        pull.scope = scope.clone();
                    }
                    let body = serde_json::to_vec(&request).unwrap().into();
                    let answer = post(&router, &auth, body).await;
                    if let Some(page) = answer.pull {
                        cursor = page.cursor;
                        scope = Some(page.scope);
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

/// The `Authorization` header of a new coordinator device of `compound`.
async fn coordinator(store: &Store, compound: &str) -> String {
    let compound: CompoundId = compound.parse().unwrap();
    let (_, token) = store
        .enroll(&compound, Role::Coordinator, None, false)
        .await
        .unwrap();
    format!("Bearer {token}")
}

/// One `POST /api/sync` with the `auth` header.
async fn post(router: &Router, auth: &str, body: Bytes) -> SyncResponse {
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .header("authorization", auth)
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

async fn http(addr: &str, auth: &str, method: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
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
    json!({"client_id": node, "schema_version": SCHEMA_VERSION, "mutations": [{
        "mid": mid, "hlc": Hlc { wall_ms: now_ms() - 1000, counter: mid as u32, node }.to_string(),
        "kind": kind, "args": {"collection": collection, "id": id, "compound": "c0", "fields": fields}}]})
    .to_string()
}

/// Reads until `count` SSE events have arrived on `stream`; `buffer` keeps
/// what arrived after the last of them.
async fn events(stream: &mut TcpStream, buffer: &mut Vec<u8>, count: usize) {
    let mut seen = 0;
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(at) = buffer.windows(2).position(|w| w == b"\n\n") {
            if buffer[..at].windows(5).any(|w| w == b"data:") {
                seen += 1;
            }
            buffer.drain(..at + 2);
            if seen == count {
                return;
            }
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "stream closed");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// One step of the SSE ladder.
struct Fanout {
    pages: usize,
    /// Pages that held their snapshot within `OPEN_TIMEOUT`.
    opened: usize,
    idle_kib: u64,
    open_kib: u64,
    /// Per tap: until its `200` arrived.
    accepted_ms: Vec<f64>,
    /// Per tap: until the last page had it.
    every_page_ms: Vec<f64>,
    /// Every page's receipt of every tap.
    receipts_ms: Vec<f64>,
    /// Receipts that did not come within `TAP_TIMEOUT` (the taps stop there).
    missed: usize,
}

impl Fanout {
    fn sorted_receipts(&self) -> Vec<f64> {
        let mut sorted = self.receipts_ms.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    fn p99_ms(&self) -> f64 {
        percentile(&self.sorted_receipts(), 99.0)
    }

    /// Every page opened and heard every tap, with the p99 within `bound_ms`.
    fn within(&self, bound_ms: f64) -> bool {
        self.opened == self.pages
            && self.missed == 0
            && self.every_page_ms.len() == TAPS
            && self.p99_ms() <= bound_ms
    }

    fn json(&self) -> Value {
        let sorted = self.sorted_receipts();
        let mib = |kib: u64| round2(kib as f64 / 1024.0);
        let ms = |v: &[f64]| v.iter().copied().map(round2).collect::<Vec<_>>();
        json!({
            "pages": self.pages,
            "opened": self.opened,
            "idle_mib": mib(self.idle_kib),
            "open_mib": mib(self.open_kib),
            "kib_per_page": round2(self.open_kib.saturating_sub(self.idle_kib) as f64 / self.pages as f64),
            "accepted_ms": ms(&self.accepted_ms),
            "every_page_ms": ms(&self.every_page_ms),
            "p50_ms": round2(percentile(&sorted, 50.0)),
            "p99_ms": round2(percentile(&sorted, 99.0)),
            "max_ms": round2(percentile(&sorted, 100.0)),
            "missed": self.missed,
            "within_bound": self.within(FAN_OUT_BOUND_MS),
        })
    }
}

async fn sse(pages: usize) -> Fanout {
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
    let auth = coordinator(&store, "c0").await;
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
        &auth,
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
        &auth,
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
    let idle_kib = rss_kib(pid);

    let addr: Arc<str> = addr.into();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(pages);
    let (heard_tx, mut heard_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECTING_AT_ONCE));
    let mut clients = Vec::new();
    for _ in 0..pages {
        let addr = addr.clone();
        let ready = ready_tx.clone();
        let heard = heard_tx.clone();
        let gate = gate.clone();
        clients.push(tokio::spawn(async move {
            let connecting = gate.acquire_owned().await.unwrap();
            let mut stream = TcpStream::connect(&*addr).await.unwrap();
            stream
                .write_all(b"GET /api/public/runs/c0/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                .await
                .unwrap();
            let mut buffer = Vec::new();
            events(&mut stream, &mut buffer, 1).await; // the snapshot
            drop(connecting);
            ready.send(()).await.unwrap();
            for _ in 0..TAPS {
                events(&mut stream, &mut buffer, 1).await;
                if heard.send(Instant::now()).is_err() {
                    break;
                }
            }
            // Stay open until every tap is measured: closing here would add
            // this page's teardown to the others' last tap.
            std::future::pending::<()>().await;
            drop(stream);
        }));
    }
    drop(heard_tx);
    let opening = Instant::now();
    let mut opened = 0;
    while opened < pages {
        match tokio::time::timeout_at((opening + OPEN_TIMEOUT).into(), ready_rx.recv()).await {
            Ok(Some(())) => opened += 1,
            _ => break,
        }
    }
    if opened < pages {
        println!("{pages:6} pages: only {opened} streams opened within {OPEN_TIMEOUT:?}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open_kib = rss_kib(pid);

    let mut step = Fanout {
        pages,
        opened,
        idle_kib,
        open_kib,
        accepted_ms: Vec::new(),
        every_page_ms: Vec::new(),
        receipts_ms: Vec::new(),
        missed: 0,
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for tap in 1..=TAPS {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let tapped = Instant::now();
        http(
            &addr,
            &auth,
            "POST",
            "/api/sync",
            &staff_push(
                2 + tap as u64,
                "stop_event",
                &format!("e{tap}"),
                "append",
                json!({"run": "r1", "building": tap.to_string(), "kind": "arrived", "at_ms": now_ms()}),
            ),
        )
        .await;
        step.accepted_ms.push(ms(tapped.elapsed()));
        let mut last = tapped;
        let mut heard = 0;
        while heard < opened {
            match tokio::time::timeout_at((tapped + TAP_TIMEOUT).into(), heard_rx.recv()).await {
                Ok(Some(at)) => {
                    step.receipts_ms
                        .push(ms(at.saturating_duration_since(tapped)));
                    last = last.max(at);
                    heard += 1;
                }
                _ => break,
            }
        }
        if heard < opened {
            step.missed = opened - heard;
            println!(
                "{pages:6} pages: {} did not hear tap {tap} within {TAP_TIMEOUT:?}",
                step.missed
            );
            break;
        }
        step.every_page_ms.push(ms(last - tapped));
    }
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{pages:6} pages: server RSS {:.1} MiB idle, {:.1} MiB with pages open ({:.1} KiB per page); \
         {TAPS} taps accepted in {} ms; on every page after {} ms (p99 over all receipts {:.0} ms)",
        idle_kib as f64 / 1024.0,
        open_kib as f64 / 1024.0,
        open_kib.saturating_sub(idle_kib) as f64 / pages as f64,
        list(&step.accepted_ms),
        list(&step.every_page_ms),
        step.p99_ms()
    );
    // Closes every page's stream, after the last tap was measured.
    for client in clients {
        client.abort();
    }
    child.kill().await.ok();
    db.drop_now().await;
    step
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
    let auth = coordinator(&store, "c0").await;
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
        post(&router, &auth, body.into()).await;
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
