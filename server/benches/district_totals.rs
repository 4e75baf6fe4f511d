//! `cargo xtask bench district`: a district of 1,000 compounds, each with a
//! few weeks of realistic work (3 teams, 60 households, 80 visits over 14
//! days with 40 swabs, 8 needs with their steps, 15 purchases, 10 care
//! entries: about 200 records, 200,000 in all, well above the district
//! totals the articles report), in a real SQLite file and in PostgreSQL.
//!
//! Every push keeps its compound's figures current in its own transaction
//! (`store/figures.rs`), so a look reads kept rows and never counts. The
//! figure is the time `GET /api/districts/{d}/totals` takes through the
//! router right after every compound took a push (which used to be the
//! worst case, every compound counted again). The baseline is the same
//! request when nothing changed; the details add the case of 100 compounds
//! changed, and what a push now pays for the look being cheap: the
//! seeding's rate (pushes of 100 counted records) and the median time of a
//! one-visit push (its household counted again) next to a one-household
//! push (nothing counted) in the same rounds. Goal: ≤ 1 s.
//!
//! Prints one `doorstep-bench: {json}` line per backend on stdout.

use std::time::Instant;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::{
    district::{DistrictSummary, DistrictTotals},
    hlc::Hlc,
    ids::{ClientId, CompoundId, DistrictId},
    mutation::Mutation,
    sync::{PushedMutation, SCHEMA_VERSION, SyncRequest},
};
use doorstep_server::{
    AppState, app, now_ms,
    store::{Compound, Device, Placement, Store},
};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tower::ServiceExt;

const COMPOUNDS: usize = 1000;
const STREETS: usize = 20;
const ROUNDS: usize = 3;
const DAY_MS: u64 = 86_400_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for backend in ["sqlite", "postgres"] {
            let line = measure(backend).await;
            println!("doorstep-bench: {line}");
        }
    });
}

/// A fresh database on `backend`: a SQLite file in a temporary folder, or
/// a new PostgreSQL database (dropped at the end).
struct Database {
    url: String,
    dir: tempfile::TempDir,
    postgres: Option<String>,
}

fn admin_url() -> String {
    std::env::var("DOORSTEP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://127.0.0.1:5432/postgres".to_owned())
}

impl Database {
    async fn new(backend: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if backend == "sqlite" {
            let url = format!("sqlite://{}", dir.path().join("district.sqlite").display());
            return Self {
                url,
                dir,
                postgres: None,
            };
        }
        let admin = admin_url();
        let name = format!("doorstep_district_{}_{}", std::process::id(), now_ms());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL reachable at DOORSTEP_TEST_POSTGRES");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Self {
            url,
            dir,
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

fn mutation(kind: &str, collection: &str, compound: &str, id: String, fields: Value) -> Mutation {
    serde_json::from_value(
        json!({"kind": kind, "args": {"collection": collection, "id": id,
        "compound": compound, "fields": fields}}),
    )
    .unwrap()
}

/// One compound's few weeks of work, as its phones would have pushed it.
fn work(c: &str, start_ms: u64) -> Vec<Mutation> {
    let id = |kind: &str, n: usize| format!("{c}-{kind}{n}");
    let mut out = Vec::new();
    for t in 0..3 {
        out.push(mutation(
            "set",
            "team",
            c,
            id("t", t),
            json!({"name": format!("{}队", t + 1)}),
        ));
    }
    for h in 0..60 {
        out.push(mutation(
            "set",
            "household",
            c,
            id("h", h),
            json!({"building": (h / 12 + 1).to_string(), "unit": "1", "door": format!("{}", 101 + h % 12),
                   "head": "住户", "phone": "13800000000", "members": 3}),
        ));
    }
    for v in 0..80 {
        let answered = v % 4 != 3;
        let mut fields = json!({"household": id("h", v % 60), "team": id("t", v % 3),
            "visited_at_ms": start_ms + (v as u64 % 14) * DAY_MS,
            "outcome": if answered { "visited" } else { "no_answer" }});
        if answered && v % 3 != 0 {
            fields["swab"] = json!(true);
            fields["tube_no"] = json!(format!("T{v}"));
        } else if answered {
            fields["temperature_c"] = json!(36.6);
        }
        out.push(mutation("set", "visit", c, id("v", v), fields));
    }
    for n in 0..8 {
        out.push(mutation(
            "set",
            "need",
            c,
            id("n", n),
            json!({"household": id("h", n * 7), "category": "food"}),
        ));
        out.push(mutation(
            "append",
            "need_event",
            c,
            id("e", n * 3),
            json!({"need": id("n", n), "step": "collected", "at_ms": start_ms}),
        ));
        if n % 4 != 0 {
            out.push(mutation(
                "append",
                "need_event",
                c,
                id("e", n * 3 + 1),
                json!({"need": id("n", n), "step": "assigned",
                "team": id("t", n % 3), "due_ms": start_ms + DAY_MS, "at_ms": start_ms + 1}),
            ));
            out.push(mutation(
                "append",
                "need_event",
                c,
                id("e", n * 3 + 2),
                json!({"need": id("n", n), "step": "resolved",
                "note": "已送达", "at_ms": start_ms + 2}),
            ));
        }
    }
    for p in 0..15 {
        out.push(mutation(
            "append",
            "purchase",
            c,
            id("p", p),
            json!({"household": id("h", p * 4), "items": "米面油", "amount_cents": 5000}),
        ));
    }
    for q in 0..10 {
        out.push(mutation(
            "set",
            "person",
            c,
            id("q", q),
            json!({"household": id("h", q * 6), "name": "老人", "care": "elderly_alone"}),
        ));
    }
    out
}

/// Pushes `mutations` into their compound as the operator would, 100 a
/// push, as one client per compound; returns the time of each push in ms.
async fn push_all(store: &Store, client: u128, mutations: Vec<Mutation>) -> Vec<f64> {
    let compound = mutations[0].compound().clone();
    let device = Device::operator(compound);
    let scope = store.scope_of(&device).await.unwrap();
    let client = ClientId::from_u128(client);
    let mut mid = store.last_mid(&client).await.unwrap();
    let mut times = Vec::new();
    for chunk in mutations.chunks(100) {
        let request = SyncRequest {
            client_id: client,
            schema_version: SCHEMA_VERSION,
            mutations: chunk
                .iter()
                .map(|mutation| {
                    mid += 1;
                    PushedMutation {
                        mid,
                        hlc: Hlc {
                            wall_ms: now_ms(),
                            counter: (mid % 60_000) as u32,
                            node: client,
                        },
                        mutation: mutation.clone(),
                    }
                })
                .collect(),
            pull: None,
        };
        request.check(now_ms()).unwrap();
        let start = Instant::now();
        let outcome = store
            .push(&device, &scope, &request, now_ms())
            .await
            .unwrap();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    }
    times
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One `GET /api/districts/d1/totals`: its time in ms and the answer.
async fn totals(router: &Router, auth: &str) -> (f64, DistrictTotals) {
    let start = Instant::now();
    let response = router
        .clone()
        .oneshot(
            Request::get("/api/districts/d1/totals")
                .header("authorization", auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    (ms, serde_json::from_slice(&bytes).unwrap())
}

async fn measure(backend: &str) -> Value {
    let db = Database::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    let district: DistrictId = "d1".parse().unwrap();
    store
        .create_district(
            &DistrictSummary {
                id: district.clone(),
                name: "洪山区".into(),
            },
            now_ms(),
        )
        .await
        .unwrap();
    let seeding = Instant::now();
    let start_ms = now_ms() - 14 * DAY_MS;
    let ids: Vec<String> = (0..COMPOUNDS).map(|n| format!("c{n:04}")).collect();
    for (n, id) in ids.iter().enumerate() {
        let placement = Placement {
            district: Some(district.clone()),
            street: Some(format!("第{}街道", n % STREETS + 1)),
        };
        let compound = Compound {
            id: id.parse::<CompoundId>().unwrap(),
            name: format!("小区{n:04}"),
        };
        store
            .create_compound_in(&compound, &placement, now_ms())
            .await
            .unwrap();
    }
    // A few compounds at a time: PostgreSQL takes several writers. Each
    // compound's phone is client n + 1.
    let writers = if backend == "postgres" { 8 } else { 1 };
    let works: Vec<(u128, Vec<Mutation>)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (n as u128 + 1, work(id, start_ms)))
        .collect();
    let records: usize = works.iter().map(|(_, w)| w.len()).sum();
    for chunk in works.chunks(writers) {
        let tasks: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|(client, work)| {
                let store = store.clone();
                tokio::spawn(async move { push_all(&store, client, work).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
    let seeded_s = seeding.elapsed().as_secs_f64();
    let seed_rate = records as f64 / seeded_s;
    eprintln!(
        "{backend}: seeded {COMPOUNDS} compounds, {records} records in {seeded_s:.1} s \
         ({seed_rate:.0} mutations/s)"
    );
    let (_, token) = store.enroll_official(&district).await.unwrap();
    let auth = format!("Bearer {token}");
    let router = app(AppState::new(store.clone(), db.dir.path().to_path_buf()));

    let (mut all_changed, mut none_changed, mut some_changed) =
        (Vec::new(), Vec::new(), Vec::new());
    let (mut visit_pushes, mut household_pushes) = (Vec::new(), Vec::new());
    let mut last = None;
    for round in 0..ROUNDS {
        // Every compound changes (one more swab each), and each one's
        // household h0 is counted again in the push; then a household
        // edit each, which counts nothing: the push's two costs.
        for (n, id) in ids.iter().enumerate() {
            let visit = mutation(
                "set",
                "visit",
                id,
                format!("{id}-x{round}"),
                json!({"household": format!("{id}-h0"), "outcome": "visited", "swab": true, "tube_no": "X"}),
            );
            visit_pushes.extend(push_all(&store, n as u128 + 1, vec![visit]).await);
            let household = mutation(
                "set",
                "household",
                id,
                format!("{id}-h0"),
                json!({"notes": format!("第{round}轮")}),
            );
            household_pushes.extend(push_all(&store, n as u128 + 1, vec![household]).await);
        }
        let (ms, page) = totals(&router, &auth).await;
        all_changed.push(ms);
        assert_eq!(page.compounds.len(), COMPOUNDS);
        // Nothing changed: every compound read as kept.
        let (ms, again) = totals(&router, &auth).await;
        none_changed.push(ms);
        assert_eq!(again.sum, page.sum);
        // A tenth of the compounds changed.
        for (n, id) in ids.iter().enumerate().step_by(10) {
            let visit = mutation(
                "set",
                "visit",
                id,
                format!("{id}-y{round}"),
                json!({"household": format!("{id}-h1"), "outcome": "visited", "swab": true, "tube_no": "Y"}),
            );
            push_all(&store, n as u128 + 1, vec![visit]).await;
        }
        let (ms, page) = totals(&router, &auth).await;
        some_changed.push(ms);
        eprintln!(
            "{backend} round {}: all changed {:.0} ms, none {:.0} ms, 100 changed {:.0} ms",
            round + 1,
            all_changed[round],
            none_changed[round],
            ms
        );
        last = Some(page);
    }
    let page = last.unwrap();
    store.close().await;
    db.drop_now().await;
    let (all, none, some) = (
        median(&mut all_changed),
        median(&mut none_changed),
        median(&mut some_changed),
    );
    let (push_visit, push_household) = (median(&mut visit_pushes), median(&mut household_pushes));
    json!({
        "bench": format!("district.{backend}"),
        "unit": "ms",
        "value": all,
        "baseline": none,
        "compounds": COMPOUNDS,
        "records": records,
        "home_tests": page.sum.home_tests,
        "days": page.days.len(),
        "some_changed_ms": some,
        "seed_mutations_per_s": seed_rate.round(),
        "push_visit_ms": push_visit,
        "push_household_ms": push_household,
        "statistic": format!("median of {ROUNDS} rounds"),
        "summary": format!(
            "{backend}: {COMPOUNDS} compounds, {records} records: every compound changed {all:.0} ms, \
             100 changed {some:.0} ms, none changed {none:.0} ms; seeding {seed_rate:.0} mutations/s, \
             one-visit push {push_visit:.1} ms, one-household push {push_household:.1} ms"
        ),
    })
}
