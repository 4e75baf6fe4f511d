//! Randomized sync simulation: five offline-first clients edit, go offline,
//! lose responses and retry against the real router on a real SQLite file,
//! while the server restarts now and then. At the end every replica must
//! equal the server, and the server must hold every acknowledged edit once.
//!
//! Each history is one seed. `DOORSTEP_SIM_HISTORIES` sets how many run
//! (default 500, from a random first seed); `DOORSTEP_SIM_SEED=N` replays
//! exactly history N and traces its steps. `cargo xtask soak` runs many more.

use std::collections::BTreeMap;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::{
    hlc::Clock,
    ids::{ClientId, CompoundId, RecordId},
    mutation::Mutation,
    record::Record,
    schema::Collection,
    sync::{
        MAX_PUSH_MUTATIONS, PullRequest, PushedMutation, SCHEMA_VERSION, SyncRequest, SyncResponse,
    },
};
use doorstep_server::{AppState, app, now_ms, store::Store};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Value, json};
use support::TestDatabase;
use tempfile::TempDir;
use tower::ServiceExt;

mod support;

const CLIENTS: usize = 5;
const STEPS: usize = 40;
const HOUSEHOLDS: [&str; 4] = ["h0", "h1", "h2", "h3"];
const HOUSEHOLD_FIELDS: [&str; 4] = ["head", "phone", "notes", "members"];
/// Chance that the server processes a request but its response never arrives.
const LOSS: f64 = 0.2;

type Replica = BTreeMap<(Collection, RecordId), Record>;

#[tokio::test]
async fn replicas_converge_and_keep_every_acknowledged_edit() {
    let seeds = match std::env::var("DOORSTEP_SIM_SEED") {
        Ok(seed) => {
            let seed = seed.parse().expect("DOORSTEP_SIM_SEED is a u64");
            seed..=seed
        }
        Err(_) => {
            let histories: u64 = std::env::var("DOORSTEP_SIM_HISTORIES")
                .map(|n| n.parse().expect("DOORSTEP_SIM_HISTORIES is a count"))
                .unwrap_or(500);
            // A fresh range each run covers new histories; a failure names its seed.
            let first = rand::random::<u64>() >> 1;
            first..=first + histories.saturating_sub(1)
        }
    };
    let trace = seeds.start() == seeds.end();
    eprintln!("sync simulation: seeds {seeds:?}");
    for seed in seeds {
        let _guard = SeedGuard(seed);
        Sim::new(seed, trace).await.run().await;
    }
}

/// Names the failing history, whichever assertion fails inside it.
struct SeedGuard(u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "failing seed: {0}\nreplay it with DOORSTEP_SIM_SEED={0} cargo test -p doorstep-server --test simulation",
                self.0
            );
        }
    }
}

/// The real router over a real database that survives restarts: a SQLite
/// file, or PostgreSQL with `DOORSTEP_TEST_BACKEND=postgres`.
struct Server {
    _db: TestDatabase,
    _dir: TempDir,
    url: String,
    state: AppState,
    /// The `Authorization` header every client sends: one coordinator's
    /// token, shared by all the simulated client ids.
    auth: String,
}

impl Server {
    async fn start() -> Self {
        let dir = TempDir::new().unwrap();
        let db = TestDatabase::new(&dir.path().join("x.sqlite")).await;
        let url = db.url.clone();
        let store = Store::open(&url).await.unwrap();
        support::add_compound(&store, compound().as_str(), "模拟小区").await;
        let state = AppState::new(store, dir.path().to_path_buf());
        Self {
            auth: support::coordinator(&state, compound().as_str()).await,
            state,
            url,
            _db: db,
            _dir: dir,
        }
    }

    /// Closes every connection and opens the same file again, as a process
    /// restart would: whatever was acknowledged must still be there.
    async fn restart(&mut self) {
        self.state.store.close().await;
        self.state.store = Store::open(&self.url).await.unwrap();
    }

    async fn sync(&self, request: &SyncRequest) -> SyncResponse {
        let http = Request::post("/api/sync")
            .header("content-type", "application/json")
            .header("authorization", &self.auth)
            .body(Body::from(serde_json::to_vec(request).unwrap()))
            .unwrap();
        let response = app(self.state.clone()).oneshot(http).await.unwrap();
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

    /// The whole compound as a brand-new client would pull it, with the seq
    /// of each record's latest change.
    async fn everything(&self) -> (Replica, Vec<u64>) {
        let reader = ClientId::from_u128(u128::MAX);
        let (mut replica, mut seqs, mut cursor) = (Replica::new(), Vec::new(), 0);
        let mut scope = None;
        loop {
            let page = self
                .sync(&SyncRequest {
                    client_id: reader,
                    schema_version: SCHEMA_VERSION,
                    mutations: Vec::new(),
                    pull: Some(PullRequest {
                        compound: compound(),
                        cursor,
                        scope: scope.clone(),
                    }),
                })
                .await
                .pull
                .unwrap();
            assert_eq!(
                page.reset,
                scope.is_none(),
                "only the first page starts over"
            );
            for change in page.changes {
                seqs.push(change.seq);
                let key = (change.record.collection, change.record.id.clone());
                assert!(
                    replica.insert(key, change.record).is_none(),
                    "one pull listed a record twice"
                );
            }
            cursor = page.cursor;
            scope = Some(page.scope);
            if !page.more {
                return (replica, seqs);
            }
        }
    }
}

/// One phone: its own clock, outbox, replica, pull cursor and scope.
struct Client {
    id: ClientId,
    clock: Clock,
    /// How far this device's wall clock runs behind the simulated true time
    /// (negative: ahead). Jumps now and then, as phone clocks do.
    skew_ms: i64,
    next_mid: u64,
    outbox: Vec<PushedMutation>,
    replica: Replica,
    cursor: u64,
    /// The scope fingerprint of the last page stored; none before the first.
    scope: Option<String>,
    online: bool,
    /// The highest `last_mid` a response has delivered.
    acked: u64,
    purchases: u64,
}

struct Sim {
    seed: u64,
    trace: bool,
    rng: StdRng,
    server: Server,
    clients: Vec<Client>,
    /// Simulated time starts at the real clock, so stamps pass the server's
    /// drift check, but only its offsets decide merges: a replay is exact.
    start_ms: u64,
    elapsed_ms: u64,
    /// Every mutation any client made, in the order made.
    made: Vec<PushedMutation>,
}

impl Sim {
    async fn new(seed: u64, trace: bool) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let clients = (0..CLIENTS)
            .map(|i| {
                let id = ClientId::from_u128(i as u128 + 1);
                Client {
                    id,
                    clock: Clock::new(id),
                    skew_ms: random_skew(&mut rng),
                    next_mid: 1,
                    outbox: Vec::new(),
                    replica: Replica::new(),
                    cursor: 0,
                    scope: None,
                    online: rng.random_bool(0.7),
                    acked: 0,
                    purchases: 0,
                }
            })
            .collect();
        Self {
            seed,
            trace,
            rng,
            server: Server::start().await,
            clients,
            start_ms: now_ms(),
            elapsed_ms: 0,
            made: Vec::new(),
        }
    }

    fn log(&self, step: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("[{}] {}", self.seed, step());
        }
    }

    /// What client `c`'s wall clock reads now.
    fn wall_ms(&self, c: usize) -> u64 {
        (self.start_ms + self.elapsed_ms).saturating_add_signed(-self.clients[c].skew_ms)
    }

    async fn run(mut self) {
        for _ in 0..STEPS {
            // Often no time passes, so stamps from different clients tie on wall time.
            self.elapsed_ms += [0, 0, 1, 250, 2000].choose(&mut self.rng).unwrap();
            let c = self.rng.random_range(0..CLIENTS);
            match self.rng.random_range(0..100) {
                0..45 => self.edit(c),
                45..75 => {
                    if self.clients[c].online {
                        self.sync(c, true).await;
                    }
                }
                75..88 => {
                    let client = &mut self.clients[c];
                    client.online = !client.online;
                    let online = client.online;
                    self.log(|| format!("client {c} online: {online}"));
                }
                88..95 => {
                    self.clients[c].skew_ms = random_skew(&mut self.rng);
                    let skew = self.clients[c].skew_ms;
                    self.log(|| format!("client {c} clock skew now {skew} ms"));
                }
                _ => {
                    self.log(|| "server restarts".into());
                    self.server.restart().await;
                    let (server, _) = self.server.everything().await;
                    self.assert_acknowledged_edits_kept(&server);
                }
            }
        }
        self.settle().await;
        self.check().await;
        self.server.state.store.close().await;
    }

    /// An edit made on the phone: applied to its replica at once, queued in
    /// its outbox for the server.
    fn edit(&mut self, c: usize) {
        let rng = &mut self.rng;
        let household: RecordId = HOUSEHOLDS.choose(rng).unwrap().parse().unwrap();
        let mutation = match rng.random_range(0..10) {
            0..7 => {
                let count = rng.random_range(1..=2);
                let fields = HOUSEHOLD_FIELDS
                    .choose_multiple(rng, count)
                    .map(|&name| (name.to_owned(), field_value(rng, name)))
                    .collect();
                Mutation::Set {
                    collection: Collection::Household,
                    id: household,
                    compound: compound(),
                    fields,
                }
            }
            7 => Mutation::Delete {
                collection: Collection::Household,
                id: household,
                compound: compound(),
            },
            _ => {
                self.clients[c].purchases += 1;
                let id = format!("p{c}-{}", self.clients[c].purchases);
                let fields = [
                    ("household", json!(household)),
                    (
                        "items",
                        json!(["米 10斤", "面条", "鸡蛋"].choose(rng).unwrap()),
                    ),
                    ("amount_cents", json!(rng.random_range(0..10_000))),
                ];
                Mutation::Append {
                    collection: Collection::Purchase,
                    id: id.parse().unwrap(),
                    compound: compound(),
                    fields: fields.map(|(k, v)| (k.to_owned(), v)).into(),
                }
            }
        };
        mutation.validate().unwrap();
        let wall = self.wall_ms(c);
        let client = &mut self.clients[c];
        let hlc = client.clock.tick(wall);
        let key = (mutation.collection(), mutation.id().clone());
        let (record, _) = mutation
            .apply(client.replica.get(&key), &hlc)
            .expect("a phone's own edit applies locally");
        client.replica.insert(key, record);
        let pushed = PushedMutation {
            mid: client.next_mid,
            hlc,
            mutation,
        };
        client.next_mid += 1;
        client.outbox.push(pushed.clone());
        self.log(|| {
            format!(
                "client {c} edits: {}",
                serde_json::to_string(&pushed).unwrap()
            )
        });
        self.made.push(pushed);
    }

    /// One sync round: push (part of) the outbox with the first pull, then
    /// pull until no page says `more`. With `lossy`, any response may vanish
    /// after the server committed it; the client retries the same mids later.
    async fn sync(&mut self, c: usize, lossy: bool) {
        // Usually the whole outbox (up to the limit); sometimes a small batch,
        // so later retries overlap mids the server already has.
        let batch = if self.rng.random_bool(0.25) {
            self.rng.random_range(1..=3)
        } else {
            MAX_PUSH_MUTATIONS
        };
        let client = &self.clients[c];
        let mut mutations: Vec<_> = client.outbox.iter().take(batch).cloned().collect();
        loop {
            let request = SyncRequest {
                client_id: self.clients[c].id,
                schema_version: SCHEMA_VERSION,
                mutations: std::mem::take(&mut mutations),
                pull: Some(PullRequest {
                    compound: compound(),
                    cursor: self.clients[c].cursor,
                    scope: self.clients[c].scope.clone(),
                }),
            };
            let response = self.server.sync(&request).await;
            if lossy && self.rng.random_bool(LOSS) {
                self.log(|| {
                    format!(
                        "client {c} pushes {} from cursor {}: response lost",
                        request.mutations.len(),
                        request.pull.as_ref().unwrap().cursor
                    )
                });
                return;
            }
            self.log(|| {
                format!(
                    "client {c} pushes {}: last_mid {}, {} changes to cursor {}",
                    request.mutations.len(),
                    response.last_mid,
                    response.pull.as_ref().map_or(0, |p| p.changes.len()),
                    response.pull.as_ref().map_or(0, |p| p.cursor),
                )
            });
            let more = self.receive(c, response);
            if !more {
                return;
            }
        }
    }

    /// Commits a response on the phone; returns whether more pages wait.
    fn receive(&mut self, c: usize, response: SyncResponse) -> bool {
        let wall = self.wall_ms(c);
        let client = &mut self.clients[c];
        assert!(
            response.rejected.is_empty(),
            "client {c}: nothing here should be refused: {:?}",
            response.rejected
        );
        assert!(
            response.last_mid >= client.acked && response.last_mid < client.next_mid,
            "client {c}: last_mid {} outside {}..{}",
            response.last_mid,
            client.acked,
            client.next_mid
        );
        client.acked = response.last_mid;
        client.outbox.retain(|m| m.mid > response.last_mid);
        let page = response.pull.expect("every request pulls");
        // A coordinator's scope never changes here: only a phone that has
        // stored no page yet starts from 0.
        assert_eq!(
            page.reset,
            client.scope.is_none(),
            "client {c}: reset after scope {:?}",
            client.scope
        );
        assert!(page.cursor >= client.cursor, "client {c}: cursor went back");
        for change in page.changes {
            if let Some(latest) = change.record.latest_hlc() {
                client.clock.observe(latest, wall);
            }
            let key = (change.record.collection, change.record.id.clone());
            match client.replica.get_mut(&key) {
                Some(mine) => {
                    mine.merge(&change.record);
                }
                None => {
                    client.replica.insert(key, change.record);
                }
            }
        }
        client.cursor = page.cursor;
        client.scope = Some(page.scope);
        page.more
    }

    /// Everyone comes online and syncs (responses still get lost) until
    /// every outbox is empty; then each pulls once more, losslessly.
    async fn settle(&mut self) {
        self.log(|| "settling".into());
        for client in &mut self.clients {
            client.online = true;
        }
        let mut rounds = 0;
        while self.clients.iter().any(|c| !c.outbox.is_empty()) {
            rounds += 1;
            assert!(rounds <= 100, "outboxes never drained");
            for c in 0..CLIENTS {
                self.sync(c, true).await;
            }
        }
        for c in 0..CLIENTS {
            self.sync(c, false).await;
        }
    }

    /// Every edit a client saw acknowledged (mid <= a `last_mid` it received)
    /// is on the server, restarts or not.
    fn assert_acknowledged_edits_kept(&self, server: &Replica) {
        for pushed in &self.made {
            let client = self.clients.iter().find(|c| c.id == pushed.hlc.node);
            if pushed.mid <= client.unwrap().acked {
                assert!(
                    reflects(server, pushed),
                    "acknowledged but lost: {}",
                    serde_json::to_string(pushed).unwrap()
                );
            }
        }
    }

    async fn check(&self) {
        let (server, seqs) = self.server.everything().await;

        // What the server holds is exactly every edit ever made, merged.
        let mut model = Replica::new();
        for pushed in &self.made {
            let key = (pushed.mutation.collection(), pushed.mutation.id().clone());
            let (record, _) = pushed.mutation.apply(model.get(&key), &pushed.hlc).unwrap();
            model.insert(key, record);
        }
        assert_same("server", &server, "every edit merged", &model);

        for (c, client) in self.clients.iter().enumerate() {
            assert_same(&format!("client {c}"), &client.replica, "server", &server);
            assert_eq!(client.acked, client.next_mid - 1, "client {c} acknowledged");
        }

        for client in &self.clients {
            assert_eq!(
                self.server.state.store.last_mid(&client.id).await.unwrap(),
                client.acked
            );
        }
        self.assert_acknowledged_edits_kept(&server);

        // Nothing applied twice: one change per record, in strictly rising
        // seq order, and no more changes than distinct edits were made.
        assert_eq!(seqs.len(), server.len());
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seqs {seqs:?}");
        let last_seq = seqs.last().copied().unwrap_or(0);
        assert!(
            last_seq <= self.made.len() as u64,
            "{last_seq} changes from {} edits",
            self.made.len()
        );
    }
}

/// Whether the server state reflects `pushed`: a later or equal stamp on
/// every field it set, a tombstone at least as late, or the entry itself.
fn reflects(server: &Replica, pushed: &PushedMutation) -> bool {
    let key = (pushed.mutation.collection(), pushed.mutation.id().clone());
    let Some(record) = server.get(&key) else {
        return false;
    };
    match &pushed.mutation {
        Mutation::Set { fields, .. } => fields
            .keys()
            .all(|name| record.fields.get(name).is_some_and(|f| f.hlc >= pushed.hlc)),
        Mutation::Delete { .. } => record.deleted.as_ref() >= Some(&pushed.hlc),
        Mutation::Append { fields, .. } => {
            record.fields.len() == fields.len()
                && fields
                    .iter()
                    .all(|(name, value)| record.named(name) == Some(value))
        }
    }
}

fn compound() -> CompoundId {
    "c1".parse().unwrap()
}

/// Skews from a few coarse values, so two devices' clocks often agree exactly.
fn random_skew(rng: &mut StdRng) -> i64 {
    rng.random_range(-6..=12) * 5_000
}

/// Few distinct values, so equal values with different stamps are common.
fn field_value(rng: &mut StdRng, field: &str) -> Value {
    if rng.random_bool(0.1) {
        return Value::Null; // clears the field
    }
    match field {
        "head" => json!(["王芳", "李雷", "张伟"].choose(rng).unwrap()),
        "phone" => json!(format!("1380000000{}", rng.random_range(0..3))),
        "notes" => json!(["独居", "行动不便", ""].choose(rng).unwrap()),
        "members" => json!(rng.random_range(0..=3)),
        _ => unreachable!("not a simulated field: {field}"),
    }
}

/// Compares two replicas, naming the first record where they differ rather
/// than printing both whole.
fn assert_same(left_name: &str, left: &Replica, right_name: &str, right: &Replica) {
    let keys: std::collections::BTreeSet<_> = left.keys().chain(right.keys()).collect();
    for key in keys {
        let (l, r) = (left.get(key), right.get(key));
        assert!(
            l == r,
            "{left_name} and {right_name} differ at {key:?}:\n{left_name}: {}\n{right_name}: {}",
            show(l),
            show(r)
        );
    }
}

fn show(record: Option<&Record>) -> String {
    record.map_or("(absent)".into(), |r| serde_json::to_string(r).unwrap())
}
