//! `cargo xtask bench sync`, client half: how fast a phone stores pulled
//! pages, next to the fastest raw IndexedDB write of the same records in the
//! same browser and the same run. Both run in the same rounds, page by page
//! in turn; the figure is the median of the rounds' ratios, with its range.
//!
//! Ignored, so `cargo xtask test` never runs it: speed goals belong in
//! benchmarks, not in timed tests. `cargo xtask bench sync` runs it with
//! `--include-ignored` in the profile the app ships with, and reads the
//! `doorstep-bench:` line it logs.
#![cfg(target_arch = "wasm32")]

use doorstep_app::storage::{Db, PullRound, record_key};
use doorstep_core::{
    hlc::Hlc,
    ids::ClientId,
    mutation::Mutation,
    sync::{Change, PullPage},
};
use indexed_db_futures::{database::Database, prelude::*, transaction::TransactionMode};
use serde_json::json;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Full pages, as the server sends them (`PULL_PAGE_SIZE`).
const PAGES: usize = 5;
const PER_PAGE: usize = doorstep_core::sync::PULL_PAGE_SIZE;
/// Paired rounds of the whole workload; the median ratio is reported.
const ROUNDS: usize = 7;

/// The pages a new phone pulls when it joins a compound: one household per
/// change, written by another device, about 300 bytes of JSON each.
fn pages() -> Vec<PullPage> {
    let writer = ClientId::from_u128(0x5eed);
    let mut seq = 0;
    (0..PAGES)
        .map(|p| {
            let changes: Vec<Change> = (0..PER_PAGE)
                .map(|i| {
                    let n = p * PER_PAGE + i;
                    let mutation: Mutation = serde_json::from_value(json!({
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
                    .unwrap();
                    let hlc = Hlc {
                        wall_ms: 1_700_000_000_000 + n as u64,
                        counter: 0,
                        node: writer,
                    };
                    seq += 1;
                    Change {
                        seq,
                        record: mutation.apply(None, &hlc).unwrap().0,
                    }
                })
                .collect();
            let remaining = ((PAGES - p - 1) * PER_PAGE) as u64;
            PullPage {
                compound: "c1".parse().unwrap(),
                cursor: seq,
                more: remaining > 0,
                remaining,
                changes,
                scope: String::new(),
                // A new phone's first page: the server starts it from 0.
                reset: p == 0,
            }
        })
        .collect()
}

/// `performance.now()`: sub-millisecond, monotonic.
fn now_ms() -> f64 {
    let global = js_sys::global();
    let performance = js_sys::Reflect::get(&global, &"performance".into()).unwrap();
    let now: js_sys::Function = js_sys::Reflect::get(&performance, &"now".into())
        .unwrap()
        .into();
    now.call0(&performance).unwrap().as_f64().unwrap()
}

fn fresh_name(kind: &str) -> String {
    format!("bench-{kind}-{}", uuid::Uuid::new_v4())
}

/// The app: `Db::apply_pull_page_in` on a new phone's database, the pages
/// of one sync round as the engine applies them.
struct App(Db, PullRound);

impl App {
    async fn open() -> Self {
        let db = Db::open(&fresh_name("app")).await.unwrap();
        db.device().await.unwrap();
        Self(db, PullRound::default())
    }

    async fn apply(&mut self, page: &PullPage) -> f64 {
        let start = now_ms();
        self.0
            .apply_pull_page_in(&mut self.1, page, 1_700_000_100_000, || Ok(()))
            .await
            .unwrap();
        now_ms() - start
    }

    async fn check(self, expected: usize) {
        assert_eq!(self.0.records().await.unwrap().len(), expected);
        self.0.close();
    }
}

/// The floor: the same keys and JSON texts, already encoded, put into one
/// plain object store, one transaction per page, every put issued at once
/// and only the commit awaited. No reads, no merge, no bookkeeping.
struct Raw(Database);

impl Raw {
    async fn open() -> Self {
        let db = Database::open(&fresh_name("raw"))
            .with_version(1u32)
            .with_on_upgrade_needed(|_, db| {
                db.create_object_store("records").build()?;
                Ok(())
            })
            .await
            .unwrap();
        Self(db)
    }

    async fn put(&self, page: &[(String, String)]) -> f64 {
        let start = now_ms();
        let tx = self
            .0
            .transaction("records")
            .with_mode(TransactionMode::Readwrite)
            .build()
            .unwrap();
        let store = tx.object_store("records").unwrap();
        for (key, text) in page {
            // The request is issued here; a failure would abort the commit.
            drop(
                store
                    .put(text.as_str())
                    .with_key(key.as_str())
                    .without_key_type()
                    .primitive()
                    .unwrap(),
            );
        }
        tx.commit().await.unwrap();
        now_ms() - start
    }

    async fn check(self, expected: usize) {
        let tx = self.0.transaction("records").build().unwrap();
        let count = tx
            .object_store("records")
            .unwrap()
            .count()
            .primitive()
            .unwrap()
            .await
            .unwrap();
        assert_eq!(count as usize, expected);
        drop(tx);
        self.0.close();
    }
}

/// Both sides on fresh databases, page by page in turn, so a burst of other
/// load on the machine slows both alike. Returns milliseconds (app, raw).
async fn round(pages: &[PullPage], encoded: &[Vec<(String, String)>]) -> (f64, f64) {
    let (mut app, raw) = (App::open().await, Raw::open().await);
    let (mut app_ms, mut raw_ms) = (0.0, 0.0);
    for (i, (page, texts)) in pages.iter().zip(encoded).enumerate() {
        if i % 2 == 0 {
            app_ms += app.apply(page).await;
            raw_ms += raw.put(texts).await;
        } else {
            raw_ms += raw.put(texts).await;
            app_ms += app.apply(page).await;
        }
    }
    let expected = pages.iter().map(|p| p.changes.len()).sum();
    app.check(expected).await;
    raw.check(expected).await;
    (app_ms, raw_ms)
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run it with `cargo xtask bench sync`"]
async fn pull_apply_rate_next_to_raw_indexeddb_put() {
    let pages = pages();
    let encoded: Vec<Vec<(String, String)>> = pages
        .iter()
        .map(|page| {
            page.changes
                .iter()
                .map(|c| {
                    (
                        record_key(c.record.collection, c.record.id.as_str()),
                        serde_json::to_string(&c.record).unwrap(),
                    )
                })
                .collect()
        })
        .collect();
    let records = PAGES * PER_PAGE;
    let bytes: usize = encoded.iter().flatten().map(|(_, text)| text.len()).sum();

    // One unmeasured page, so both sides start with a warm engine.
    round(&pages[..1], &encoded[..1]).await;

    let (mut app_ms, mut raw_ms) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (app, raw) = round(&pages, &encoded).await;
        app_ms.push(app);
        raw_ms.push(raw);
    }
    // The runner derives the rates and their ratio from the rounds.
    let line = json!({
        "bench": "sync.client",
        "unit": "records/s",
        "per_round": records,
        "records": records,
        "pages": PAGES,
        "avg_record_bytes": bytes / records,
        "statistic": format!(
            "median of {ROUNDS} paired rounds (each side's median rate; the ratio is the \
             median of the rounds' ratios), interleaved page by page"
        ),
        "rounds_ms": {"value": app_ms, "baseline": raw_ms},
    });
    console_log!("doorstep-bench: {line}");
}
