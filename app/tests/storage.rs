//! IndexedDB in real headless Chromium: edits and their outbox entries are
//! written together (a batch all or nothing, finishing its draft), the
//! outbox outlives the page, the pull cursor only
//! moves with a committed page, and a page that resets (the device's scope
//! changed) replaces what is stored but keeps unsent edits.
#![cfg(target_arch = "wasm32")]

use doorstep_app::{
    i18n::{Locale, Texts},
    storage::{Db, StorageError},
};
use doorstep_core::{
    hlc::Hlc,
    ids::ClientId,
    mutation::Mutation,
    record::{Record, Stamped},
    sync::{Change, PullPage},
};
use serde_json::json;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_name() -> String {
    format!("test-{}", uuid::Uuid::new_v4())
}

fn set(id: &str, fields: serde_json::Value) -> Mutation {
    serde_json::from_value(json!({
        "kind": "set",
        "args": {"collection": "household", "id": id, "compound": "c1", "fields": fields}
    }))
    .unwrap()
}

fn purchase(items: &str) -> Mutation {
    serde_json::from_value(json!({
        "kind": "append",
        "args": {"collection": "purchase", "id": "p1", "compound": "c1",
                 "fields": {"household": "h1", "items": items, "amount_cents": 100}}
    }))
    .unwrap()
}

#[wasm_bindgen_test]
async fn an_edit_and_its_outbox_entry_are_written_together() {
    let db = Db::open(&fresh_name()).await.unwrap();
    let device = db.device().await.unwrap();
    db.commit_edit(&set("h1", json!({"door": "301"})), 1_000)
        .await
        .unwrap();
    db.commit_edit(&set("h1", json!({"head": "王芳"})), 1_000)
        .await
        .unwrap();

    let records = db.records().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].named("door"), Some(&json!("301")));
    assert_eq!(records[0].named("head"), Some(&json!("王芳")));
    let outbox = db.outbox(100).await.unwrap();
    assert_eq!(
        outbox.iter().map(|e| e.pushed.mid).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(
        outbox
            .iter()
            .all(|e| e.client_id == device.client_id && e.pushed.hlc.node == device.client_id)
    );
    assert!(
        outbox[0].pushed.hlc < outbox[1].pushed.hlc,
        "stamps count up even in the same millisecond"
    );

    // An edit that cannot apply writes neither the record nor an outbox entry.
    db.commit_edit(&purchase("米"), 2_000).await.unwrap();
    let refused = db.commit_edit(&purchase("面"), 3_000).await;
    assert!(refused.is_err());
    let invalid = db
        .commit_edit(&set("h1", json!({"members": 500})), 3_000)
        .await;
    assert!(invalid.is_err());
    assert_eq!(db.outbox_len().await.unwrap(), 3);
    let purchase_items: Vec<_> = db
        .records()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.named("items").cloned())
        .collect();
    assert_eq!(purchase_items, [json!("米")]);
    assert_eq!(
        db.device().await.unwrap().next_mid,
        4,
        "refused edits use no mid"
    );
}

#[wasm_bindgen_test]
async fn a_batch_is_committed_whole_or_not_at_all_and_finishes_its_draft() {
    let db = Db::open(&fresh_name()).await.unwrap();
    db.save_draft("door/v1", &json!({"outcome": "visited"}))
        .await
        .unwrap();
    db.commit_edit(&purchase("米"), 1_000).await.unwrap();

    // The second edit is refused (an append is never rewritten): the first
    // is not kept either, and the draft stays.
    let refused = db
        .commit_edits(
            &[set("h1", json!({"door": "101"})), purchase("面")],
            2_000,
            Some("door/v1"),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(db.outbox_len().await.unwrap(), 1);
    assert_eq!(db.records().await.unwrap().len(), 1, "h1 was not stored");
    assert_eq!(db.device().await.unwrap().next_mid, 2);
    let kept: Option<serde_json::Value> = db.draft("door/v1").await.unwrap();
    assert_eq!(kept, Some(json!({"outcome": "visited"})));

    let committed = db
        .commit_edits(
            &[
                set("h1", json!({"door": "101"})),
                set("h1", json!({"head": "王芳"})),
            ],
            3_000,
            Some("door/v1"),
        )
        .await
        .unwrap();
    assert_eq!(committed.len(), 2);
    assert_eq!(committed[1].named("door"), Some(&json!("101")), "in order");
    assert_eq!(db.outbox_len().await.unwrap(), 3);
    let gone: Option<serde_json::Value> = db.draft("door/v1").await.unwrap();
    assert_eq!(gone, None, "saving discards the draft");
}

#[wasm_bindgen_test]
async fn the_outbox_survives_closing_and_reopening() {
    let name = fresh_name();
    let db = Db::open(&name).await.unwrap();
    let client = db.device().await.unwrap().client_id;
    for n in 0..5 {
        db.commit_edit(
            &set(&format!("h{n}"), json!({"door": n.to_string()})),
            1_000,
        )
        .await
        .unwrap();
    }
    db.acknowledge(2, &[]).await.unwrap();
    db.close();

    let reopened = Db::open(&name).await.unwrap();
    assert_eq!(
        reopened.device().await.unwrap().client_id,
        client,
        "same database, same client"
    );
    let mids: Vec<u64> = reopened
        .outbox(100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.pushed.mid)
        .collect();
    assert_eq!(mids, [3, 4, 5]);

    // A different (e.g. evicted and recreated) database is a different client.
    let other = Db::open(&fresh_name()).await.unwrap();
    assert_ne!(other.device().await.unwrap().client_id, client);
}

#[wasm_bindgen_test]
async fn the_cursor_moves_only_with_a_committed_page() {
    let db = Db::open(&fresh_name()).await.unwrap();
    let me = db.device().await.unwrap().client_id;
    db.commit_edit(&set("h1", json!({"head": "张三"})), 1_000)
        .await
        .unwrap();

    let other = ClientId::from_u128(7);
    let mut pulled = Record::new(
        doorstep_core::schema::Collection::Household,
        "h1".parse().unwrap(),
        "c1".parse().unwrap(),
    );
    pulled.fields.insert(
        "head".into(),
        Stamped {
            value: json!("李四"),
            hlc: Hlc {
                wall_ms: 5_000,
                counter: 0,
                node: other,
            },
        },
    );
    let page = PullPage {
        compound: "c1".parse().unwrap(),
        changes: vec![Change {
            seq: 41,
            record: pulled,
        }],
        cursor: 41,
        more: false,
        remaining: 0,
        scope: "s1".into(),
        reset: false,
    };

    let crashed = db
        .apply_pull_page(&page, 6_000, || {
            Err(StorageError::Browser("simulated crash".into()))
        })
        .await;
    assert!(crashed.is_err());
    assert_eq!(db.device().await.unwrap().cursor, 0, "cursor unchanged");
    assert_eq!(
        db.records().await.unwrap()[0].named("head"),
        Some(&json!("张三")),
        "record unchanged"
    );
    assert!(db.conflicts().await.unwrap().is_empty());

    let applied = db.apply_pull_page(&page, 6_000, || Ok(())).await.unwrap();
    assert_eq!(db.device().await.unwrap().cursor, 41);
    assert_eq!(
        db.records().await.unwrap()[0].named("head"),
        Some(&json!("李四"))
    );
    // My overwritten value is kept as a conflict, not lost.
    assert_eq!(applied.conflicts.len(), 1);
    let conflicts = db.conflicts().await.unwrap();
    assert_eq!(conflicts[0].mine.value, json!("张三"));
    assert_eq!(conflicts[0].mine.hlc.node, me);
    db.dismiss_conflict(&conflicts[0].key()).await.unwrap();
    assert!(db.conflicts().await.unwrap().is_empty());
}

fn household_page(seq: u64, ids: &[&str], reset: bool) -> PullPage {
    let changes = ids
        .iter()
        .map(|id| {
            let (record, _) = set(id, json!({"building": "1"}))
                .apply(
                    None,
                    &Hlc {
                        wall_ms: 1_000,
                        counter: 0,
                        node: ClientId::from_u128(99),
                    },
                )
                .unwrap();
            Change { seq, record }
        })
        .collect();
    PullPage {
        compound: "c1".parse().unwrap(),
        changes,
        cursor: seq,
        more: false,
        remaining: 0,
        scope: if reset { "after" } else { "before" }.into(),
        reset,
    }
}

#[wasm_bindgen_test]
async fn a_reset_page_replaces_records_and_replays_the_outbox() {
    let name = fresh_name();
    let db = Db::open(&name).await.unwrap();
    db.device().await.unwrap();
    db.apply_pull_page(&household_page(5, &["old"], false), 2_000, || Ok(()))
        .await
        .unwrap();
    db.commit_edit(&set("mine", json!({"door": "101"})), 3_000)
        .await
        .unwrap();
    let applied = db
        .apply_pull_page(&household_page(7, &["new"], true), 4_000, || Ok(()))
        .await
        .unwrap();
    assert!(applied.reset);
    let mut ids: Vec<String> = db
        .records()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["mine", "new"],
        "the old scope's record is gone; the unsent edit stays"
    );
    assert_eq!(db.outbox_len().await.unwrap(), 1);
    let device = db.device().await.unwrap();
    assert_eq!(
        (device.cursor, device.pulled_scope.as_deref()),
        (7, Some("after"))
    );
}

/// A page of households, each with one field stamped at `wall_ms`.
fn field_page(seq: u64, fields: &[(&str, &str, &str)], wall_ms: u64, reset: bool) -> PullPage {
    let changes = fields
        .iter()
        .map(|(id, field, value)| {
            let hlc = Hlc {
                wall_ms,
                counter: 0,
                node: ClientId::from_u128(99),
            };
            let (record, _) = set(id, json!({ *field: value })).apply(None, &hlc).unwrap();
            Change { seq, record }
        })
        .collect();
    PullPage {
        compound: "c1".parse().unwrap(),
        changes,
        cursor: seq,
        more: true,
        remaining: 1,
        scope: "s".into(),
        reset,
    }
}

#[wasm_bindgen_test]
async fn a_fresh_pull_reads_only_what_it_stored_and_an_edit_ends_that() {
    use doorstep_app::storage::PullRound;

    let db = Db::open(&fresh_name()).await.unwrap();
    db.device().await.unwrap();
    let mut round = PullRound::default();
    let first = field_page(
        1,
        &[("h1", "head", "甲"), ("h2", "head", "乙")],
        1_000,
        true,
    );
    db.apply_pull_page_in(&mut round, &first, 5_000, || Ok(()))
        .await
        .unwrap();
    assert!(db.device().await.unwrap().fresh_pull);
    // h1 changed again during the pull: it comes again and merges with
    // what the first page stored; its other field stays.
    db.apply_pull_page_in(
        &mut round,
        &field_page(
            2,
            &[("h1", "door", "101"), ("h3", "head", "丁")],
            2_000,
            false,
        ),
        5_000,
        || Ok(()),
    )
    .await
    .unwrap();
    // An edit between pages (another tab's, say) ends the fresh pull: the
    // next page reads every record it touches, so the edit is merged with,
    // not written over.
    db.commit_edit(&set("h4", json!({"door": "404"})), 3_000)
        .await
        .unwrap();
    assert!(!db.device().await.unwrap().fresh_pull);
    db.apply_pull_page_in(
        &mut round,
        &field_page(3, &[("h4", "head", "戊")], 2_500, false),
        5_000,
        || Ok(()),
    )
    .await
    .unwrap();
    let mut stored: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> = db
        .records()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.id.to_string(),
                r.named("head").cloned(),
                r.named("door").cloned(),
            )
        })
        .collect();
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        stored,
        [
            ("h1".into(), Some(json!("甲")), Some(json!("101"))),
            ("h2".into(), Some(json!("乙")), None),
            ("h3".into(), Some(json!("丁")), None),
            ("h4".into(), Some(json!("戊")), Some(json!("404"))),
        ]
    );
}

#[wasm_bindgen_test]
async fn deleting_the_database_elsewhere_closes_it_here_and_says_so() {
    use std::{cell::Cell, rc::Rc};

    let name = fresh_name();
    let db = Db::open(&name).await.unwrap();
    let first = db.device().await.unwrap();
    db.commit_edit(&set("h1", json!({"door": "301"})), 1_000)
        .await
        .unwrap();
    let told = Rc::new(Cell::new(false));
    db.on_gone({
        let told = told.clone();
        move || told.set(true)
    });

    // As another tab (or the browser) would: an open connection that did
    // not close itself would block this forever.
    indexed_db_futures::database::Database::delete_by_name(&name)
        .unwrap()
        .await
        .unwrap();
    assert!(db.is_gone());
    for _ in 0..50 {
        if told.get() {
            break;
        }
        sleep_ms(10).await;
    }
    assert!(told.get(), "the app was told that storage is gone");
    assert_eq!(
        db.outbox(10).await.unwrap_err(),
        StorageError::Closed,
        "the closed connection is not used"
    );
    // A checklist saved now fails as `Closed`, which the page explains in
    // the person's language (reload), never in the browser's words.
    let err = db
        .commit_edits(&[set("h1", json!({"door": "302"}))], 2_000, Some("door/v1"))
        .await
        .unwrap_err();
    assert_eq!(err, StorageError::Closed);
    let message = Locale::Zh.text(doorstep_app::errors::storage(&err));
    assert!(message.contains("重新加载"), "{message}");

    // Opened again, it is a new database: a new client id, nothing unsent.
    let again = Db::open(&name).await.unwrap();
    assert_ne!(again.device().await.unwrap().client_id, first.client_id);
    assert_eq!(again.outbox_len().await.unwrap(), 0);
}

/// Waits `ms` milliseconds on the browser's timer.
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}
