//! `cargo xtask bench sync`, server half: how many mutations per second
//! `POST /api/sync` ingests, next to a raw batched SQLite insert of the same
//! rows in the same process and the same run.
//!
//! Measured: the real router (`doorstep_server::app`) through `oneshot`, so
//! body decoding, request checks, the merge, the audit row and the response
//! are all counted; only TCP is not. The request bodies are encoded before
//! the clock starts (that is the phone's work). The baseline inserts each
//! record's final JSON state, as the server stores it, into a plain table in
//! a fresh SQLite file opened with the store's settings (WAL,
//! synchronous=FULL, foreign keys on, the same busy timeout), one
//! transaction per push-sized batch, as the store commits one per push.
//!
//! Both sides run in the same rounds, batch by batch in turn; each round
//! gives one paired ratio (our rate over the raw rate), and the figure is
//! the median of those ratios with their range (the runner computes them
//! from the `rounds_ms` printed), so one round disturbed by other load on
//! the machine moves neither the figure nor the goal's verdict.
//!
//! Prints one `doorstep-bench: {json}` line on stdout for `cargo xtask bench`.

use std::{str::FromStr, time::Instant};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use doorstep_core::{
    access::Role,
    ids::ClientId,
    mutation::Mutation,
    sync::{
        MAX_PUSH_MUTATIONS, PullRequest, PushedMutation, SCHEMA_VERSION, SyncRequest, SyncResponse,
    },
};
use doorstep_server::{
    AppState, app, now_ms,
    store::{Compound, Device, Store},
};
use serde_json::json;
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tempfile::TempDir;
use tower::ServiceExt;

/// Mutations per measured run: 200 full pushes.
const MUTATIONS: usize = 20_000;
/// Paired rounds of the whole workload; the median ratio is reported.
const ROUNDS: usize = 7;

/// One household per mutation, as a volunteer registering a building would
/// send them; each final record is about 330 bytes of JSON.
fn mutations(count: usize, client: ClientId) -> Vec<PushedMutation> {
    // Stamped a minute ago, so the server's clock check passes.
    let wall = now_ms() - 60_000;
    let households = (0..count).map(|n| {
        serde_json::from_value(json!({
                "kind": "set",
                "args": {
                    "collection": "household",
                    "id": format!("h{n:06}"),
                    "compound": "c1",
                    "fields": {
                        "building": format!("{}栋", n % 40 + 1),
                        "door": format!("{}", 101 + n % 1800),
                        "head": "王芳",
                    }
                }
        }))
        .unwrap()
    });
    PushedMutation::numbered(client, 1, wall, households)
}

/// The request bodies a phone would send: its outbox in push-sized batches.
fn bodies(mutations: &[PushedMutation], client: ClientId) -> Vec<Bytes> {
    mutations
        .chunks(MAX_PUSH_MUTATIONS)
        .map(|batch| {
            serde_json::to_vec(&SyncRequest {
                client_id: client,
                schema_version: SCHEMA_VERSION,
                mutations: batch.to_vec(),
                pull: None,
            })
            .unwrap()
            .into()
        })
        .collect()
}

/// The rows the pushes leave in `record`: (collection, id, compound, seq, state).
type Row = (String, String, String, i64, String);

fn rows(mutations: &[PushedMutation]) -> Vec<Row> {
    mutations
        .iter()
        .enumerate()
        .map(|(i, pushed)| {
            let m: &Mutation = &pushed.mutation;
            let (record, _) = m.apply(None, &pushed.hlc).unwrap();
            (
                m.collection().name().to_owned(),
                m.id().as_str().to_owned(),
                m.compound().as_str().to_owned(),
                i as i64 + 1,
                serde_json::to_string(&record).unwrap(),
            )
        })
        .collect()
}

/// The server as deployed, on a fresh SQLite file with one compound, and
/// the phone's `Authorization` header (a coordinator's token).
struct Server {
    store: Store,
    router: Router,
    auth: String,
    _dir: TempDir,
}

impl Server {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
        let store = Store::open(&url).await.unwrap();
        store
            .create_compound(
                &Compound {
                    id: "c1".parse().unwrap(),
                    name: "bench".into(),
                },
                now_ms(),
            )
            .await
            .unwrap();
        let (_, token) = store
            .enroll(&"c1".parse().unwrap(), Role::Coordinator, None, false)
            .await
            .unwrap();
        let router = app(AppState::new(store.clone(), dir.path().to_path_buf()));
        Self {
            store,
            router,
            auth: format!("Bearer {token}"),
            _dir: dir,
        }
    }

    /// One `POST /api/sync`, timed from request to decoded response.
    async fn push(&self, body: &Bytes) -> f64 {
        let start = Instant::now();
        let request = Request::post("/api/sync")
            .header("content-type", "application/json")
            .header("authorization", &self.auth)
            .body(Body::from(body.clone()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let answer: SyncResponse = serde_json::from_slice(&bytes).unwrap();
        assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
        elapsed
    }

    /// The server stored exactly the rows the baseline inserts.
    async fn check(self, expected: &[Row]) {
        let compound = "c1".parse().unwrap();
        let scope = self
            .store
            .scope_of(&Device::operator(compound))
            .await
            .unwrap();
        let (mut cursor, mut fingerprint, mut stored) = (0, None, 0);
        loop {
            let page = self
                .store
                .pull(
                    &scope,
                    &PullRequest {
                        compound: "c1".parse().unwrap(),
                        cursor,
                        scope: fingerprint,
                    },
                )
                .await
                .unwrap();
            for change in &page.changes {
                let row = &expected[change.seq as usize - 1];
                assert_eq!(serde_json::to_string(&change.record).unwrap(), row.4);
            }
            stored += page.changes.len();
            cursor = page.cursor;
            fingerprint = Some(page.scope);
            if !page.more {
                break;
            }
        }
        assert_eq!(stored, expected.len());
        self.store.close().await;
    }
}

/// The floor: a plain table (the record table's columns and primary key, no
/// other index) in a fresh file with the store's pragmas.
struct Raw {
    pool: SqlitePool,
    _dir: TempDir,
}

impl Raw {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("raw.sqlite").display()
        ))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(std::time::Duration::from_secs(5))
        .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query(
            "CREATE TABLE raw (collection TEXT NOT NULL, id TEXT NOT NULL, \
             compound TEXT NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL, \
             PRIMARY KEY (collection, id))",
        )
        .execute(&pool)
        .await
        .unwrap();
        Self { pool, _dir: dir }
    }

    /// One batch in one transaction, one prepared INSERT per row.
    async fn insert(&self, batch: &[Row]) -> f64 {
        let start = Instant::now();
        let mut tx = self.pool.begin().await.unwrap();
        for (collection, id, compound, seq, state) in batch {
            sqlx::query(
                "INSERT INTO raw (collection, id, compound, seq, state) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(collection)
            .bind(id)
            .bind(compound)
            .bind(seq)
            .bind(state)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        start.elapsed().as_secs_f64()
    }

    async fn check(self, expected: usize) {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM raw")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        assert_eq!(count as usize, expected);
        self.pool.close().await;
    }
}

/// Both sides on fresh files, batch by batch in turn, so a burst of other
/// load on the machine slows both alike. Returns seconds (server, raw).
async fn round(bodies: &[Bytes], rows: &[Row]) -> (f64, f64) {
    let (server, raw) = (Server::open().await, Raw::open().await);
    let (mut server_s, mut raw_s) = (0.0, 0.0);
    for (i, (body, batch)) in bodies
        .iter()
        .zip(rows.chunks(MAX_PUSH_MUTATIONS))
        .enumerate()
    {
        if i % 2 == 0 {
            server_s += server.push(body).await;
            raw_s += raw.insert(batch).await;
        } else {
            raw_s += raw.insert(batch).await;
            server_s += server.push(body).await;
        }
    }
    server.check(rows).await;
    raw.check(rows.len()).await;
    (server_s, raw_s)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = ClientId::from_u128(0xbe_4c);
        let mutations = mutations(MUTATIONS, client);
        let bodies = bodies(&mutations, client);
        let rows = rows(&mutations);
        let state_bytes: usize = rows.iter().map(|r| r.4.len()).sum();

        // One unmeasured batch, so both sides start warm.
        round(&bodies[..1], &rows[..MAX_PUSH_MUTATIONS]).await;

        let (mut server_s, mut raw_s) = (Vec::new(), Vec::new());
        for n in 1..=ROUNDS {
            let (server, raw) = round(&bodies, &rows).await;
            eprintln!("round {n}: server {server:.3} s, raw insert {raw:.3} s");
            server_s.push(server);
            raw_s.push(raw);
        }
        // To the microsecond: the runner derives the rates and their ratio.
        let ms = |v: &[f64]| {
            v.iter()
                .map(|s| (s * 1e6).round() / 1e3)
                .collect::<Vec<_>>()
        };
        let line = json!({
            "bench": "sync.server",
            "unit": "mutations/s",
            "per_round": MUTATIONS,
            "mutations": MUTATIONS,
            "batch": MAX_PUSH_MUTATIONS,
            "avg_record_bytes": state_bytes / MUTATIONS,
            "statistic": format!(
                "median of {ROUNDS} paired rounds (each side's median rate; the ratio is \
                 the median of the rounds' ratios), interleaved batch by batch"
            ),
            "rounds_ms": {"value": ms(&server_s), "baseline": ms(&raw_s)},
        });
        println!("doorstep-bench: {line}");
    });
}
