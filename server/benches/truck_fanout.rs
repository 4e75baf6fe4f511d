//! `cargo xtask bench truck`: how long one tap on the staff truck page takes
//! to reach 1,000 resident pages that hold the live status open (SSE), next
//! to the same tap reaching a single page.
//!
//! Two real servers (`doorstep_server::serve`, each on its own fresh SQLite
//! file with one compound, a truck and an underway run) listen on 127.0.0.1
//! in this process, on one multi-threaded Tokio runtime (a worker per core).
//! Server A has 1,000 pages on `GET /api/public/runs/c1/stream`; server B,
//! the baseline, has one. The pages are raw TCP streams, all read by a
//! second, single-threaded runtime. Once every page holds its snapshot, taps
//! alternate between the servers, round by round: a tap is one
//! `POST /api/sync` with an `append` of a `stop_event`, written on its own,
//! already connected, TCP connection. For every page and tap, the clock
//! stops when that page's socket delivers the update event carrying the tap
//! (found by the tap's HLC). It starts
//! - just before the request is written (`from_sent`: the headline figure);
//! - when the `200` response headers arrive (`from_accepted`). The server
//!   publishes the new status before it answers, so this one is negative
//!   for pages that hear the tap before the tapper hears "accepted".
//!
//! Each page needs a socket at both ends in this process, so the bench
//! raises its soft open-file limit (the `rlimit` crate) and stops with a
//! clear message if the hard limit is too low.
//!
//! Prints one `doorstep-bench: {json}` line on stdout for `cargo xtask bench`.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail, ensure};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    access::Role,
    hlc::Hlc,
    ids::{ClientId, CompoundId},
};
use doorstep_server::{
    AppState, now_ms, serve,
    store::{Compound, Store},
};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, mpsc, oneshot},
    task::JoinHandle,
    time::timeout,
};

/// Open resident pages on the measured server.
const PAGES: usize = 1000;
/// Taps on the measured server (each one reaches every page). A tap's 1,000
/// receipts are 1/30 of the samples, so one slow tap does not set the p99.
const ROUNDS: usize = 30;
/// Taps on the one-page baseline server per round, so its p99 is taken
/// over 120 receipts rather than being its maximum.
const BASELINE_TAPS_PER_ROUND: usize = 4;
/// Pages connecting at once (the listen backlog is 1,024).
const CONNECTING_AT_ONCE: usize = 50;
/// Every page connected and holding its snapshot.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);
/// One tap: the request answered and every page reached.
const TAP_TIMEOUT: Duration = Duration::from_secs(30);
/// Everything after the servers started.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// Quiet time between taps, so one tap's stragglers never overlap the next.
const PAUSE: Duration = Duration::from_millis(50);
/// File descriptors beyond the two per page: the servers' SQLite files and
/// pools, listeners, epoll, the tap connections.
const SPARE_FDS: u64 = 256;
/// The staff phone that taps.
const STAFF: u128 = 0x7a_b0;

/// A running server and what it takes to tap it and stop it.
struct Server {
    addr: SocketAddr,
    store: Store,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
    /// The staff phone's `Authorization` header (a coordinator's token).
    auth: String,
    next_mid: u64,
    _dir: TempDir,
}

/// Starts a server on a fresh SQLite file with one compound, a truck and an
/// underway run, seeded through `POST /api/sync` as the staff page would.
async fn start() -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("truck.sqlite").display());
    let store = Store::open(&url).await?;
    let compound: CompoundId = "c1".parse().map_err(|e| anyhow!("{e:?}"))?;
    store
        .create_compound(
            &Compound {
                id: compound.clone(),
                name: "永安社区".into(),
            },
            now_ms(),
        )
        .await?;
    let (_, token) = store
        .enroll(&compound, Role::Coordinator, None, false)
        .await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(store.clone(), dir.path().to_path_buf());
    let served = tokio::spawn(serve(listener, state, async {
        stopped.await.ok();
    }));
    let mut server = Server {
        addr,
        store,
        stop,
        served,
        auth: format!("Bearer {token}"),
        next_mid: 1,
        _dir: dir,
    };
    let t0 = now_ms();
    let stops: Vec<Value> = ["1", "2", "4"]
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"building": b, "planned_ms": t0 + i as u64 * 1_200_000, "dwell_min": 15}))
        .collect();
    for (collection, id, fields) in [
        (
            "truck",
            "t1",
            json!({"name": "豫A·12345", "vendor": "老李菜摊", "phone": "0371-1234567", "order_link": "https://example.org/order"}),
        ),
        (
            "run",
            "r1",
            json!({"truck": "t1", "date": "2026-11-28", "state": "underway", "stops": stops}),
        ),
    ] {
        let (body, _) = server.body("set", collection, id, fields);
        timeout(TAP_TIMEOUT, post(addr, &server.auth, &body))
            .await
            .context("seeding timed out")??;
    }
    Ok(server)
}

impl Server {
    /// A one-mutation `POST /api/sync` body from the staff phone, and its HLC.
    fn body(&mut self, kind: &str, collection: &str, id: &str, fields: Value) -> (String, Hlc) {
        let mid = self.next_mid;
        self.next_mid += 1;
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
        (body.to_string(), hlc)
    }

    /// Stops serving (open streams end) and closes the store.
    async fn shut_down(self) {
        let _ = self.stop.send(());
        match timeout(Duration::from_secs(10), self.served).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => eprintln!("server ended with an error: {err}"),
            Ok(Err(err)) => eprintln!("server task failed: {err}"),
            Err(_) => eprintln!("server did not shut down within 10 s"),
        }
        self.store.close().await;
    }
}

/// When a `POST /api/sync` left and when its `200` came back.
struct Posted {
    sent: Instant,
    accepted: Instant,
}

/// One `POST /api/sync` with the `auth` header on a fresh connection
/// (opened before the clock starts). Fails unless the answer is `200` with
/// nothing rejected.
async fn post(addr: SocketAddr, auth: &str, body: &str) -> anyhow::Result<Posted> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "POST /api/sync HTTP/1.1\r\nHost: bench\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    let sent = Instant::now();
    stream.write_all(request.as_bytes()).await?;
    let accepted = loop {
        let n = stream.read(&mut chunk).await?;
        ensure!(n > 0, "the server hung up before answering the tap");
        response.extend_from_slice(&chunk[..n]);
        if find(&response, b"\r\n\r\n").is_some() {
            break Instant::now();
        }
    };
    // `Connection: close`: the body ends where the stream does.
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&response);
    ensure!(
        text.starts_with("HTTP/1.1 200"),
        "POST /api/sync was answered: {text}"
    );
    ensure!(
        text.contains("\"rejected\":[]"),
        "the server rejected the tap: {text}"
    );
    Ok(Posted { sent, accepted })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Takes the first complete SSE `data:` payload out of `buffer` (a stream
/// of chunked HTTP: chunk sizes and keep-alive comments lie between events).
fn take_event(buffer: &mut Vec<u8>) -> Option<String> {
    let start = find(buffer, b"data:")?;
    let end = start + find(&buffer[start..], b"\n\n")?;
    let data = String::from_utf8_lossy(&buffer[start + 5..end])
        .trim()
        .to_owned();
    buffer.drain(..end + 2);
    Some(data)
}

/// An update event as one page's socket delivered it.
struct Receipt {
    page: usize,
    at: Instant,
    data: String,
}

/// One resident page: opens the stream, reports once the snapshot is in,
/// then reports every update with the instant its bytes were read.
async fn page(
    addr: SocketAddr,
    page: usize,
    connecting: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<anyhow::Result<usize>>,
    receipts: mpsc::UnboundedSender<Receipt>,
) {
    let permit = connecting.acquire_owned().await;
    let opened = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(
                b"GET /api/public/runs/c1/stream HTTP/1.1\r\nHost: bench\r\n\
                  Accept: text/event-stream\r\n\r\n",
            )
            .await?;
        let mut buffer = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let headers = loop {
            let n = stream.read(&mut chunk).await?;
            ensure!(n > 0, "the stream closed before its headers");
            buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&buffer, b"\r\n\r\n") {
                break buffer.drain(..end + 4).collect::<Vec<u8>>();
            }
        };
        ensure!(
            headers.starts_with(b"HTTP/1.1 200"),
            "the stream was answered: {}",
            String::from_utf8_lossy(&headers)
        );
        while take_event(&mut buffer).is_none() {
            let n = stream.read(&mut chunk).await?;
            ensure!(n > 0, "the stream closed before its snapshot");
            buffer.extend_from_slice(&chunk[..n]);
        }
        anyhow::Ok((stream, buffer, chunk))
    };
    let (mut stream, mut buffer, mut chunk) = match opened.await {
        Ok(opened) => opened,
        Err(err) => {
            let _ = ready.send(Err(err.context(format!("page {page}"))));
            return;
        }
    };
    drop(permit);
    let _ = ready.send(Ok(page));
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            Err(err) => {
                eprintln!("page {page}: {err}");
                return;
            }
        };
        let at = Instant::now();
        if n == 0 {
            return; // the server shut down; a missing receipt times out
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(data) = take_event(&mut buffer) {
            if receipts.send(Receipt { page, at, data }).is_err() {
                return;
            }
        }
    }
}

/// A server seen from the client side: where to tap, and what its pages hear.
struct Target {
    name: &'static str,
    pages: usize,
    receipts: mpsc::UnboundedReceiver<Receipt>,
    /// Milliseconds from just before each tap was written, per receipt.
    from_sent: Vec<f64>,
    /// Milliseconds from the `200` (negative: heard before it), per receipt.
    from_accepted: Vec<f64>,
    /// Milliseconds for each tap's request and answer.
    post: Vec<f64>,
    /// Each tap's slowest page and its p99, in milliseconds from sent.
    per_tap_max: Vec<f64>,
    per_tap_p99: Vec<f64>,
}

/// Opens `pages` pages on `addr`, returning once all hold their snapshot.
async fn open_pages(name: &'static str, addr: SocketAddr, pages: usize) -> anyhow::Result<Target> {
    let connecting = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (receipts_tx, receipts) = mpsc::unbounded_channel();
    for n in 0..pages {
        tokio::spawn(page(
            addr,
            n,
            connecting.clone(),
            ready_tx.clone(),
            receipts_tx.clone(),
        ));
    }
    drop(ready_tx);
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    for opened in 0..pages {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(err))) => return Err(err),
            Ok(None) => bail!("{name}: the pages stopped after {opened} of {pages} opened"),
            Err(_) => bail!(
                "{name}: only {opened} of {pages} pages had their snapshot within {CONNECT_TIMEOUT:?}"
            ),
        }
    }
    Ok(Target {
        name,
        pages,
        receipts,
        from_sent: Vec::new(),
        from_accepted: Vec::new(),
        post: Vec::new(),
        per_tap_max: Vec::new(),
        per_tap_p99: Vec::new(),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `later - earlier` in milliseconds, negative when `later` came first.
fn signed_ms(later: Instant, earlier: Instant) -> f64 {
    if later >= earlier {
        ms(later - earlier)
    } else {
        -ms(earlier - later)
    }
}

/// One tap on `server`; waits until every page of `target` has heard it.
async fn tap(server: &mut Server, target: &mut Target) -> anyhow::Result<()> {
    let n = server.next_mid;
    let building = ["1", "2", "4"][n as usize % 3];
    let (body, hlc) = server.body(
        "append",
        "stop_event",
        &format!("e{n}"),
        json!({"run": "r1", "building": building, "kind": "arrived", "at_ms": now_ms()}),
    );
    let marker = hlc.to_string();
    let posted = timeout(TAP_TIMEOUT, post(server.addr, &server.auth, &body))
        .await
        .with_context(|| format!("{}: tap {n} was not answered in time", target.name))??;
    let deadline = tokio::time::Instant::from_std(posted.sent + TAP_TIMEOUT);
    let mut heard = vec![false; target.pages];
    let mut from_sent = Vec::with_capacity(target.pages);
    while from_sent.len() < target.pages {
        let receipt = match tokio::time::timeout_at(deadline, target.receipts.recv()).await {
            Ok(Some(receipt)) => receipt,
            Ok(None) => bail!("{}: every page's stream is gone", target.name),
            Err(_) => bail!(
                "{}: only {} of {} pages heard tap {n} within {TAP_TIMEOUT:?}",
                target.name,
                from_sent.len(),
                target.pages
            ),
        };
        ensure!(
            receipt.data.contains(&marker),
            "{}: page {} got an update without tap {n}: {}",
            target.name,
            receipt.page,
            receipt.data
        );
        ensure!(
            !std::mem::replace(&mut heard[receipt.page], true),
            "{}: page {} heard tap {n} twice",
            target.name,
            receipt.page
        );
        from_sent.push(ms(receipt.at - posted.sent));
        target
            .from_accepted
            .push(signed_ms(receipt.at, posted.accepted));
    }
    target.post.push(ms(posted.accepted - posted.sent));
    let sorted = sorted(&from_sent);
    target.per_tap_max.push(percentile(&sorted, 100.0));
    target.per_tap_p99.push(percentile(&sorted, 99.0));
    target.from_sent.extend(from_sent);
    tokio::time::sleep(PAUSE).await;
    Ok(())
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// Nearest-rank percentile of ascending `sorted` values: the smallest value
/// that at least `p` percent of them do not exceed.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The percentile rule on known inputs; run every time (a `harness = false`
/// bench has no tests of its own).
fn check_percentile() {
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&hundred, 50.0), 50.0);
    assert_eq!(percentile(&hundred, 99.0), 99.0);
    assert_eq!(percentile(&hundred, 100.0), 100.0);
    let thousand: Vec<f64> = (1..=1000).map(f64::from).collect();
    assert_eq!(percentile(&thousand, 99.0), 990.0);
    assert_eq!(percentile(&[7.0], 99.0), 7.0);
    assert_eq!(percentile(&[1.0, 2.0], 50.0), 1.0);
    assert_eq!(sorted(&[3.0, -1.0, 2.0]), [-1.0, 2.0, 3.0]);
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// p50, p99 and max (and min, where it can be negative) in milliseconds.
fn summary(values: &[f64]) -> Value {
    let sorted = sorted(values);
    json!({
        "p50": round2(percentile(&sorted, 50.0)),
        "p99": round2(percentile(&sorted, 99.0)),
        "max": round2(percentile(&sorted, 100.0)),
        "min": round2(sorted.first().copied().unwrap_or(f64::NAN)),
    })
}

/// Raises the soft open-file limit to fit `PAGES` connections, both ends.
fn raise_open_file_limit() -> anyhow::Result<(u64, u64)> {
    let needed = 2 * (PAGES as u64 + 1) + SPARE_FDS;
    let (before, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let now = rlimit::increase_nofile_limit(needed)?;
    ensure!(
        now >= needed,
        "{PAGES} pages need {needed} open files (both ends of each connection live in this \
         process), but the limit is {now} (hard limit {hard}): raise it, e.g. `ulimit -Hn {needed}` \
         as root"
    );
    Ok((before, now))
}

async fn measure(a: &mut Server, b: &mut Server) -> anyhow::Result<Value> {
    let connecting = Instant::now();
    let mut many = open_pages("1,000 pages", a.addr, PAGES).await?;
    let connect_s = connecting.elapsed().as_secs_f64();
    eprintln!("{PAGES} pages hold their snapshot after {connect_s:.2} s");
    let mut one = open_pages("1 page", b.addr, 1).await?;

    // One unmeasured tap each, so both start warm.
    tap(a, &mut many).await?;
    tap(b, &mut one).await?;
    for target in [&mut many, &mut one] {
        target.from_sent.clear();
        target.from_accepted.clear();
        target.post.clear();
        target.per_tap_max.clear();
        target.per_tap_p99.clear();
    }

    for round in 1..=ROUNDS {
        // Alternate which side goes first, so drifting load hits both.
        if round % 2 == 1 {
            tap(a, &mut many).await?;
        }
        for _ in 0..BASELINE_TAPS_PER_ROUND {
            tap(b, &mut one).await?;
        }
        if round % 2 == 0 {
            tap(a, &mut many).await?;
        }
        eprintln!(
            "round {round}: {PAGES} pages heard the tap after p99 {:.1} ms, max {:.1} ms (from sent)",
            many.per_tap_p99.last().unwrap_or(&f64::NAN),
            many.per_tap_max.last().unwrap_or(&f64::NAN),
        );
    }

    let from_sent = summary(&many.from_sent);
    let from_accepted = summary(&many.from_accepted);
    let baseline_from_sent = summary(&one.from_sent);
    let value = percentile(&sorted(&many.from_sent), 99.0);
    let baseline = percentile(&sorted(&one.from_sent), 99.0);
    let before_accepted = many.from_accepted.iter().filter(|x| **x < 0.0).count();
    let line = |name: &str, s: &Value| {
        format!(
            "{name} p50 {} ms, p99 {} ms, max {} ms",
            s["p50"], s["p99"], s["max"]
        )
    };
    let text = format!(
        "{PAGES} pages x {ROUNDS} taps: {}; {}; 1 page: {}",
        line("from sent", &from_sent),
        line("from accepted", &from_accepted),
        line("from sent", &baseline_from_sent)
    );
    eprintln!("{text}");
    Ok(json!({
        "bench": "truck",
        "unit": "ms",
        "value": round2(value),
        "baseline": round2(baseline),
        "summary": text,
        "statistic": "p99 (nearest rank) over every page's receipt of every tap, in ms from \
                      just before the tap's POST was written; baseline: the same with 1 page",
        "pages": PAGES,
        "taps": ROUNDS,
        "receipts": many.from_sent.len(),
        "from_sent_ms": from_sent,
        "from_accepted_ms": from_accepted,
        "heard_before_accepted": before_accepted,
        "post_ms": summary(&many.post),
        "per_tap_ms": {
            "p99": many.per_tap_p99.iter().copied().map(round2).collect::<Vec<_>>(),
            "max": many.per_tap_max.iter().copied().map(round2).collect::<Vec<_>>(),
        },
        "baseline_pages": 1,
        "baseline_taps": one.from_sent.len(),
        "baseline_from_sent_ms": baseline_from_sent,
        "baseline_from_accepted_ms": summary(&one.from_accepted),
        "baseline_post_ms": summary(&one.post),
        "connect_s": round2(connect_s),
    }))
}

fn main() {
    if let Err(err) = run() {
        eprintln!("truck_fanout: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    check_percentile();
    let (before, limit) = raise_open_file_limit()?;
    eprintln!("open-file limit: {before}, raised to {limit}");
    // The server as deployed: a worker per core.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The resident pages and the tapper: one thread of their own.
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut a, mut b) =
        servers.block_on(async { anyhow::Ok((start().await?, start().await?)) })?;
    let measured = clients.block_on(async {
        timeout(RUN_TIMEOUT, measure(&mut a, &mut b))
            .await
            .map_err(|_| anyhow!("the run took longer than {RUN_TIMEOUT:?}"))?
    });
    // Closes every page's socket, then stops the servers.
    drop(clients);
    servers.block_on(async {
        a.shut_down().await;
        b.shut_down().await;
    });
    let mut line = measured?;
    line["open_files_limit"] = json!(limit);
    println!("doorstep-bench: {line}");
    Ok(())
}
