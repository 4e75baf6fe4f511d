//! Load (issue #8): a bounded load generator against a real `doorstep-server`
//! process on 127.0.0.1 (a child process, so its memory is its own).
//!
//! - N volunteers, each its own phone (client id) syncing every 5 s, as the
//!   app does while open: a push of 1–5 new mutations (household `set`s and
//!   purchase `append`s) with a pull from its cursor, and more pull pages
//!   while the server says `more`. Volunteers of one compound share a
//!   coordinator token per 10 phones; there is a compound per 50 volunteers.
//!   A failed sync is retried at the next tick with the same mutations.
//! - One staff phone per compound taps the truck (`append` of a
//!   `stop_event`) every 5 s, so resident pages have something to hear.
//! - M resident pages hold `/api/public/runs/{compound}/stream` (SSE) open,
//!   spread over the compounds; they all hold their snapshot before the
//!   T seconds of syncing start, and must stay open to the end.
//!
//! Prints one line starting `doorstep-load:` with the requests, errors,
//! p50/p99/max sync latency (connect to last byte, fresh connection per
//! request), the server's RSS (now and peak, from /proc) and CPU time.
//! Asserts only that nothing failed: no error answer, no rejected mutation,
//! no refused or dropped stream. The latency goal (p99 < 1 s) is reported,
//! not asserted, since timing is not asserted in tests here.
//!
//! Sizes: `DOORSTEP_LOAD_VOLUNTEERS` (default 50), `DOORSTEP_LOAD_SUBSCRIBERS`
//! (200), `DOORSTEP_LOAD_SECONDS` (10). `cargo xtask soak` runs 1000, 5000
//! and 60 in release. Runs on this run's backend (`DOORSTEP_TEST_BACKEND`).

mod support;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    access::Role,
    hlc::Clock,
    ids::{ClientId, CompoundId},
    sync::SyncResponse,
};
use doorstep_server::{now_ms, store::Store};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tokio::{
    sync::{Semaphore, mpsc, watch},
    task::JoinSet,
};

/// How often each phone syncs.
const CADENCE: Duration = Duration::from_secs(5);
const VOLUNTEERS_PER_COMPOUND: usize = 50;
const VOLUNTEERS_PER_TOKEN: usize = 10;
const HOUSEHOLDS_PER_COMPOUND: usize = 200;
/// New mutations per sync: 1 to this.
const MAX_BATCH: usize = 5;
/// Pull pages one sync may take.
const MAX_PAGES: usize = 10;
/// Resident pages connecting at once (the listen backlog is 1,024).
const CONNECTING_AT_ONCE: usize = 50;
/// Every resident page holding its snapshot.
const OPEN_TIMEOUT: Duration = Duration::from_secs(300);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Open files beyond one per connection: the server's database, pipes,
/// listeners, epoll.
const SPARE_FDS: u64 = 512;
/// The kernel's clock ticks per second for /proc/<pid>/stat (USER_HZ, 100
/// on every Linux build that matters).
const USER_HZ: f64 = 100.0;

struct Config {
    volunteers: usize,
    subscribers: usize,
    seconds: u64,
}

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .map(|n| n.parse().unwrap_or_else(|_| panic!("{name} is a count")))
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volunteers_sync_and_residents_stream_without_errors() {
    let config = Config {
        volunteers: env_count("DOORSTEP_LOAD_VOLUNTEERS", 50) as usize,
        subscribers: env_count("DOORSTEP_LOAD_SUBSCRIBERS", 200) as usize,
        seconds: env_count("DOORSTEP_LOAD_SECONDS", 10),
    };
    // Each connection has an end in this process and one in the server,
    // which inherits this limit.
    let needed = (config.volunteers + config.subscribers) as u64 + SPARE_FDS;
    let (hard_before, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    let limit = rlimit::increase_nofile_limit(needed).unwrap();
    assert!(
        limit >= needed,
        "{} connections need {needed} open files, but the limit is {limit} (hard {hard_before}): \
         raise it, e.g. `ulimit -n {needed}`",
        config.volunteers + config.subscribers
    );
    let bound = OPEN_TIMEOUT + Duration::from_secs(config.seconds) + Duration::from_secs(180);
    let outcome = tokio::time::timeout(bound, run(&config))
        .await
        .unwrap_or_else(|_| panic!("the load run did not finish within {bound:?}"));
    println!("doorstep-load: {}", outcome.line);
    assert!(
        outcome.failures.is_empty(),
        "{} failures, e.g.:\n{}",
        outcome.failure_count,
        outcome.failures.join("\n")
    );
}

struct Outcome {
    line: String,
    failure_count: usize,
    /// The first few failures, described.
    failures: Vec<String>,
}

async fn run(config: &Config) -> Outcome {
    let compounds = config.volunteers.div_ceil(VOLUNTEERS_PER_COMPOUND).max(1);
    let dir = tempfile::TempDir::new().unwrap();
    let db = support::TestDatabase::new(&dir.path().join("load.sqlite")).await;
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();

    // Compounds and tokens, before the server starts.
    let store = Store::open(&db.url).await.unwrap();
    let mut staff = Vec::new();
    let mut volunteer_auth = Vec::new();
    for c in 0..compounds {
        staff.push(
            support::compound_with_coordinator(&store, &format!("c{c}"), &format!("小区{c}")).await,
        );
    }
    for v in (0..config.volunteers).step_by(VOLUNTEERS_PER_TOKEN) {
        let id: CompoundId = format!("c{}", v / VOLUNTEERS_PER_COMPOUND).parse().unwrap();
        let (_, token) = store
            .enroll(&id, Role::Coordinator, None, false)
            .await
            .unwrap();
        volunteer_auth.push(format!("Bearer {token}"));
    }
    store.close().await;

    let mut server = support::ServerProcess::start(&db.url, &dist).await;
    let addr = server.addr;
    let pid = server.child.id().expect("the server runs");
    let rss_idle = memory(pid);

    // A truck and an underway run per compound, from its staff phone.
    let mut tappers = Vec::new();
    for (c, auth) in staff.iter().enumerate() {
        let mut phone = Phone::new(
            ClientId::from_u128(0x5a_0000_0000 + c as u128),
            format!("c{c}"),
            auth.clone(),
        );
        let t0 = now_ms();
        let stops: Vec<Value> = (1..=4)
            .map(|b| json!({"building": b.to_string(), "planned_ms": t0 + b * 1_200_000, "dwell_min": 15}))
            .collect();
        let seed = vec![
            phone.mutation(
                "set",
                "truck",
                &format!("c{c}-t1"),
                json!({"name": "豫A·12345", "vendor": "老李菜摊"}),
            ),
            phone.mutation(
                "set",
                "run",
                &format!("c{c}-r1"),
                json!({"truck": format!("c{c}-t1"), "date": "2026-11-28", "state": "underway",
                       "stops": stops}),
            ),
        ];
        phone.pending = seed;
        let body = phone.body(false);
        let (status, text) = support::post_sync(addr, &phone.auth, &body).await.unwrap();
        assert_eq!(status, 200, "seeding {}: {text}", phone.compound);
        if let Err(err) = phone.take(&text) {
            panic!("seeding {}: {err}", phone.compound);
        }
        tappers.push(phone);
    }

    // Resident pages: all hold their snapshot before the syncing starts.
    let opening = Instant::now();
    let (stop, stopped) = watch::channel(false);
    let connecting = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let mut pages = JoinSet::new();
    for n in 0..config.subscribers {
        pages.spawn(resident_page(
            addr,
            format!("c{}", n % compounds),
            connecting.clone(),
            ready_tx.clone(),
            stopped.clone(),
            Duration::from_secs(config.seconds) + OPEN_TIMEOUT + Duration::from_secs(60),
        ));
    }
    drop(ready_tx);
    let mut failures = Vec::new();
    let mut failure_count = 0;
    let mut opened = 0;
    let mut open_failed = 0;
    let open_deadline = tokio::time::Instant::now() + OPEN_TIMEOUT;
    while opened + open_failed < config.subscribers {
        match tokio::time::timeout_at(open_deadline, ready_rx.recv()).await {
            Ok(Some(Ok(()))) => opened += 1,
            // Counted when the page's task is joined, below.
            Ok(Some(Err(_))) => open_failed += 1,
            Ok(None) => break,
            Err(_) => panic!(
                "only {opened} of {} resident pages held their snapshot within {OPEN_TIMEOUT:?}",
                config.subscribers
            ),
        }
    }
    let open_s = opening.elapsed().as_secs_f64();
    let rss_open = memory(pid);
    let cpu_before = cpu_seconds(pid);
    eprintln!(
        "load: {opened} resident pages open after {open_s:.1} s; {} volunteers sync for {} s",
        config.volunteers, config.seconds
    );

    // The syncing phase.
    let start = Instant::now();
    let deadline = start + Duration::from_secs(config.seconds);
    let mut phones = JoinSet::new();
    for (c, phone) in tappers.into_iter().enumerate() {
        phones.spawn(phone.run(addr, Kind::Truck, c as u64, start, deadline));
    }
    for v in 0..config.volunteers {
        let phone = Phone::new(
            ClientId::from_u128(0x7e_0000_0000 + v as u128),
            format!("c{}", v / VOLUNTEERS_PER_COMPOUND),
            volunteer_auth[v / VOLUNTEERS_PER_TOKEN].clone(),
        );
        phones.spawn(phone.run(addr, Kind::Volunteer, 1000 + v as u64, start, deadline));
    }
    let mut latencies = Vec::new();
    let mut requests = 0;
    let mut errors = 0;
    let mut acked = 0;
    let mut peak_rss_during = 0;
    let mut sampling = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            joined = phones.join_next() => {
                let Some(joined) = joined else { break };
                let sent = joined.unwrap();
                requests += sent.requests;
                errors += sent.errors.len();
                acked += sent.acked;
                latencies.extend(sent.latencies_ms);
                for err in sent.errors {
                    failure_count += 1;
                    if failures.len() < 5 {
                        failures.push(format!("sync: {err}"));
                    }
                }
            }
            _ = sampling.tick() => {
                peak_rss_during = peak_rss_during.max(memory(pid).0);
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let (rss_end, peak) = memory(pid);

    // Pages end; each must have stayed open until now.
    stop.send_replace(true);
    let mut events = Vec::new();
    while let Some(joined) = pages.join_next().await {
        match joined.unwrap() {
            Ok(heard) => events.push(heard),
            Err(err) => {
                failure_count += 1;
                if failures.len() < 5 {
                    failures.push(format!("resident page: {err}"));
                }
            }
        }
    }
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    latencies.sort_by(f64::total_cmp);
    events.sort_unstable();
    let mb = |kb: u64| kb as f64 / 1024.0;
    let line = format!(
        "backend={} volunteers={} subscribers={} seconds={} compounds={compounds} \
         requests={requests} errors={errors} error_rate={:.4}% sync_p50_ms={:.1} sync_p99_ms={:.1} \
         sync_max_ms={:.1} req_per_s={:.1} mutations_acked={acked} streams_open={opened}/{} \
         stream_failures={} sse_events={} sse_events_per_page_min={} open_s={open_s:.1} \
         server_rss_mb(idle/streams_open/end/peak)={:.1}/{:.1}/{:.1}/{:.1} \
         server_cpu_s={cpu:.1} (child process, /proc)",
        if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        config.volunteers,
        config.subscribers,
        config.seconds,
        if requests == 0 {
            0.0
        } else {
            100.0 * errors as f64 / requests as f64
        },
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
        requests as f64 / elapsed,
        config.subscribers,
        config.subscribers - events.len(),
        events.iter().sum::<usize>(),
        events.first().copied().unwrap_or(0),
        mb(rss_idle.0),
        mb(rss_open.0),
        mb(rss_end),
        mb(peak.max(peak_rss_during)),
    );
    Outcome {
        line,
        failure_count,
        failures,
    }
}

/// Nearest-rank percentile of ascending values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The process's resident memory now and at its peak, in KiB (VmRSS, VmHWM).
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The process's user plus system CPU time so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are
    // the 14th and 15th fields overall.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / USER_HZ
}

#[derive(Clone, Copy)]
enum Kind {
    /// Household edits and purchases, with a pull.
    Volunteer,
    /// A truck tap, no pull.
    Truck,
}

/// What one phone did.
struct Sent {
    requests: usize,
    latencies_ms: Vec<f64>,
    acked: u64,
    errors: Vec<String>,
}

/// One phone: its outbox and its pull cursor.
struct Phone {
    client: ClientId,
    clock: Clock,
    compound: String,
    auth: String,
    next_mid: u64,
    /// Unacknowledged mutations, sent again unchanged until acknowledged.
    pending: Vec<Value>,
    cursor: u64,
    scope: Option<String>,
    /// Mutations the server refused (acknowledged, never applied).
    rejected: u64,
}

impl Phone {
    fn new(client: ClientId, compound: String, auth: String) -> Self {
        Self {
            client,
            clock: Clock::new(client),
            compound,
            auth,
            next_mid: 1,
            pending: Vec::new(),
            cursor: 0,
            scope: None,
            rejected: 0,
        }
    }

    fn mutation(&mut self, kind: &str, collection: &str, id: &str, fields: Value) -> Value {
        let mid = self.next_mid;
        self.next_mid += 1;
        let hlc = self.clock.tick(now_ms());
        json!({"mid": mid, "hlc": hlc.to_string(), "kind": kind,
               "args": {"collection": collection, "id": id, "compound": self.compound,
                        "fields": fields}})
    }

    fn edit(&mut self, rng: &mut StdRng, kind: Kind) {
        if !self.pending.is_empty() {
            return; // the last sync failed: send the same again first
        }
        match kind {
            Kind::Truck => {
                let mid = self.next_mid;
                let building = rng.random_range(1..=4).to_string();
                let tap = if rng.random_bool(0.5) {
                    "arrived"
                } else {
                    "left"
                };
                let event = self.mutation(
                    "append",
                    "stop_event",
                    &format!("e-{}-{mid}", self.client),
                    json!({"run": format!("{}-r1", self.compound), "building": building,
                           "kind": tap, "at_ms": now_ms()}),
                );
                self.pending.push(event);
            }
            Kind::Volunteer => {
                for _ in 0..rng.random_range(1..=MAX_BATCH) {
                    let mid = self.next_mid;
                    // Record ids are global: each compound has its own households.
                    let household = format!(
                        "{}-h{}",
                        self.compound,
                        rng.random_range(0..HOUSEHOLDS_PER_COMPOUND)
                    );
                    let mutation = if rng.random_bool(0.6) {
                        let fields = match rng.random_range(0..3) {
                            0 => json!({"notes": format!("第{mid}次走访：一切正常")}),
                            1 => json!({"members": rng.random_range(1..6)}),
                            _ => {
                                json!({"phone": format!("138{:08}", rng.random_range(0..100_000_000))})
                            }
                        };
                        self.mutation("set", "household", &household, fields)
                    } else {
                        let id = format!("p-{}-{mid}", self.client);
                        self.mutation(
                            "append",
                            "purchase",
                            &id,
                            json!({"household": household, "items": "米一袋、青菜两斤",
                                   "amount_cents": rng.random_range(100..10_000)}),
                        )
                    };
                    self.pending.push(mutation);
                }
            }
        }
    }

    fn body(&self, pull: bool) -> String {
        let mut body = json!({"client_id": self.client, "schema_version": SCHEMA_VERSION,
                              "mutations": self.pending});
        if pull {
            body["pull"] = json!({"compound": self.compound, "cursor": self.cursor,
                                  "scope": self.scope});
        }
        body.to_string()
    }

    /// Syncs every [`CADENCE`] from a random first moment in the first one,
    /// until `deadline`.
    async fn run(
        mut self,
        addr: SocketAddr,
        kind: Kind,
        seed: u64,
        start: Instant,
        deadline: Instant,
    ) -> Sent {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut sent = Sent {
            requests: 0,
            latencies_ms: Vec::new(),
            acked: 0,
            errors: Vec::new(),
        };
        let mut tick =
            start + Duration::from_millis(rng.random_range(0..CADENCE.as_millis() as u64));
        let cycles = (deadline - start).as_secs() / CADENCE.as_secs() + 2;
        for _ in 0..cycles {
            if tick >= deadline {
                break;
            }
            tokio::time::sleep_until(tick.into()).await;
            self.edit(&mut rng, kind);
            let pull = matches!(kind, Kind::Volunteer);
            for _ in 0..MAX_PAGES {
                let body = self.body(pull);
                let began = Instant::now();
                let answer = support::post_sync(addr, &self.auth, &body).await;
                sent.latencies_ms
                    .push(began.elapsed().as_secs_f64() * 1000.0);
                sent.requests += 1;
                let more = match answer {
                    Ok((200, text)) => match self.take(&text) {
                        Ok(more) => more,
                        Err(err) => {
                            sent.errors.push(err);
                            break;
                        }
                    },
                    Ok((status, text)) => {
                        sent.errors
                            .push(format!("{} answered {status}: {text}", self.client));
                        break;
                    }
                    Err(err) => {
                        sent.errors.push(format!("{}: {err}", self.client));
                        break;
                    }
                };
                if !more {
                    break;
                }
            }
            tick += CADENCE;
        }
        sent.acked = self.next_mid - 1 - self.pending.len() as u64 - self.rejected;
        sent
    }

    /// Takes a `200` answer: drops the acknowledged mutations and moves the
    /// cursor. Whether another page waits. A rejection is an error here
    /// (every mutation is valid and in scope), but, as on a phone, final:
    /// the rejected mutations leave the outbox too.
    fn take(&mut self, text: &str) -> Result<bool, String> {
        let response: SyncResponse =
            serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
        let expected = self.next_mid - 1;
        if response.last_mid != expected {
            return Err(format!(
                "{} acknowledged up to {}, sent up to {expected}",
                self.client, response.last_mid
            ));
        }
        self.pending.clear();
        if !response.rejected.is_empty() {
            self.rejected += response.rejected.len() as u64;
            return Err(format!("{} rejected: {:?}", self.client, response.rejected));
        }
        Ok(match response.pull {
            Some(page) => {
                self.cursor = page.cursor;
                self.scope = Some(page.scope);
                page.more
            }
            None => false,
        })
    }
}

/// A resident page: opens the stream (reporting once its snapshot is in),
/// then counts updates until told to stop. Fails if the stream ends first.
async fn resident_page(
    addr: SocketAddr,
    compound: String,
    connecting: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<Result<(), String>>,
    mut stop: watch::Receiver<bool>,
    bound: Duration,
) -> Result<usize, String> {
    let permit = connecting.acquire_owned().await.unwrap();
    let opened = async {
        let path = format!("/api/public/runs/{compound}/stream");
        let (mut stream, mut buffer) = support::try_sse_open(addr, &path).await?;
        support::try_next_event(&mut stream, &mut buffer)
            .await
            .map_err(|e| format!("{e} before its snapshot"))?;
        Ok::<_, String>((stream, buffer))
    };
    let (mut stream, mut buffer) = match tokio::time::timeout(REQUEST_TIMEOUT, opened).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(err)) => {
            let _ = ready.send(Err(err.clone()));
            return Err(err);
        }
        Err(_) => {
            let err = format!("no snapshot within {REQUEST_TIMEOUT:?}");
            let _ = ready.send(Err(err.clone()));
            return Err(err);
        }
    };
    drop(permit);
    let _ = ready.send(Ok(()));
    let mut heard = 0;
    let listening = async {
        loop {
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return Ok(()),
                event = support::try_next_event(&mut stream, &mut buffer) => {
                    event.map_err(|e| format!("{e} after {heard} updates"))?;
                }
            }
            heard += 1;
        }
    };
    match tokio::time::timeout(bound, listening).await {
        Ok(Ok(())) => Ok(heard),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(format!("never told to stop within {bound:?}")),
    }
}
