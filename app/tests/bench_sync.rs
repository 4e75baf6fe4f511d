//! `cargo xtask bench sync`, client half: how fast a phone stores pulled
//! pages, next to the fastest raw IndexedDB write of the same records in the
//! same browser and the same run.
//!
//! Ignored, so `cargo xtask test` never runs it: speed goals belong in
//! benchmarks, not in timed tests. `cargo xtask bench sync` runs it with
//! `--include-ignored` in the profile the app ships with, and reads the
//! `doorstep-bench:` line it logs.
#![cfg(target_arch = "wasm32")]

use doorstep_app::storage::{Db, record_key};
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
/// Each round measures both sides on fresh databases; the fastest is reported.
const ROUNDS: usize = 5;

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
            }
        })
        .collect()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn fresh_name(kind: &str) -> String {
    format!("bench-{kind}-{}", uuid::Uuid::new_v4())
}

/// The app: `Db::apply_pull_page`, page by page, on a new phone's database.
async fn app_apply(pages: &[PullPage]) -> f64 {
    let db = Db::open(&fresh_name("app")).await.unwrap();
    db.device().await.unwrap();
    let start = now_ms();
    for page in pages {
        db.apply_pull_page(page, 1_700_000_100_000, || Ok(()))
            .await
            .unwrap();
    }
    let elapsed = now_ms() - start;
    let expected: usize = pages.iter().map(|p| p.changes.len()).sum();
    assert_eq!(db.records().await.unwrap().len(), expected);
    db.close();
    elapsed
}

/// The floor: the same keys and JSON texts, already encoded, put into one
/// plain object store, one transaction per page, every put issued at once
/// and only the commit awaited. No reads, no merge, no bookkeeping.
async fn raw_put(pages: &[Vec<(String, String)>]) -> f64 {
    let db = Database::open(&fresh_name("raw"))
        .with_version(1u32)
        .with_on_upgrade_needed(|_, db| {
            db.create_object_store("records").build()?;
            Ok(())
        })
        .await
        .unwrap();
    let start = now_ms();
    for page in pages {
        let tx = db
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
    }
    let elapsed = now_ms() - start;
    let tx = db.transaction("records").build().unwrap();
    let count = tx
        .object_store("records")
        .unwrap()
        .count()
        .primitive()
        .unwrap()
        .await
        .unwrap();
    assert_eq!(count as usize, pages.iter().map(Vec::len).sum::<usize>());
    drop(tx);
    db.close();
    elapsed
}

/// The fastest round: other load on the machine only ever adds time.
fn fastest(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
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

    // One unmeasured page each, so both start with a warm engine.
    app_apply(&pages[..1]).await;
    raw_put(&encoded[..1]).await;

    let (mut app_ms, mut raw_ms) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Alternate who goes first, so neither always meets a busier disk.
        if round % 2 == 0 {
            app_ms.push(app_apply(&pages).await);
            raw_ms.push(raw_put(&encoded).await);
        } else {
            raw_ms.push(raw_put(&encoded).await);
            app_ms.push(app_apply(&pages).await);
        }
    }
    let rate = |ms: f64| records as f64 / (ms.max(0.001) / 1000.0);
    let line = json!({
        "bench": "sync.client",
        "unit": "records/s",
        "value": rate(fastest(&app_ms)),
        "baseline": rate(fastest(&raw_ms)),
        "records": records,
        "pages": PAGES,
        "avg_record_bytes": bytes / records,
        "statistic": format!("fastest of {ROUNDS} alternating rounds"),
        "rounds_ms": {"value": app_ms, "baseline": raw_ms},
    });
    console_log!("doorstep-bench: {line}");
}
