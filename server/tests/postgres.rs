//! The PostgreSQL store on the real server: health, the commit-order cursor
//! under concurrent writers, and (in `instances.rs`) many instances sharing
//! one database. Each test makes and drops its own database (`support`).

mod support;

use std::{collections::BTreeSet, time::Duration};

use doorstep_core::{
    api::StorageBackend,
    hlc::Hlc,
    ids::ClientId,
    sync::{PullRequest, PushedMutation, SCHEMA_VERSION, SyncRequest},
};
use doorstep_server::{
    now_ms,
    store::{Device, Store},
};
use serde_json::json;
use sqlx::{Connection, PgConnection};
use support::TestDb;

async fn open(db: &TestDb) -> Store {
    let store = Store::open(&db.url).await.unwrap();
    support::add_compound(&store, "c1", "永安社区").await;
    store
}

/// One client's push of one household, stamped a second ago.
fn push_household(client: u128, mid: u64, id: &str) -> SyncRequest {
    let node = ClientId::from_u128(client);
    SyncRequest {
        client_id: node,
        schema_version: SCHEMA_VERSION,
        mutations: vec![PushedMutation {
            mid,
            hlc: Hlc {
                wall_ms: now_ms() - 1000,
                counter: 0,
                node,
            },
            mutation: serde_json::from_value(json!({
                "kind": "set",
                "args": {"collection": "household", "id": id, "compound": "c1",
                         "fields": {"door": id}}
            }))
            .unwrap(),
        }],
        pull: None,
    }
}

#[tokio::test]
async fn health_reports_postgres_and_migrations_run_once() {
    let db = TestDb::create().await;
    let store = open(&db).await;
    // A second instance starting on the same database finds it migrated.
    let other = Store::open(&db.url).await.unwrap();
    let info = other.storage_info().await.unwrap();
    assert_eq!(info.backend, StorageBackend::Postgres);
    assert!(info.engine_version.starts_with("PostgreSQL"), "{info:?}");
    assert_eq!(other.compounds().await.unwrap().len(), 1);
    store.close().await;
    other.close().await;
}

/// Two writers to one compound. A takes the lower sequence number and is held
/// open; B writes meanwhile; a reader pulls between them; then A commits. A
/// cursor handed out before commit (a sequence, `now()`) would let the reader
/// pass A's number while A is invisible and skip A forever. With the
/// compound's counter row locked until commit, B waits for A, so the reader
/// never passes an uncommitted change and ends up with both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_commits_late_is_never_skipped() {
    let db = TestDb::create().await;
    let writer = open(&db).await;
    // The reader is another instance with its own pool.
    let reader = Store::open(&db.url).await.unwrap();
    let mut watcher = PgConnection::connect(&db.url).await.unwrap();
    // Everyone acts as the operator: a coordinator, who sees and may write it all.
    let device = Device::operator("c1".parse().unwrap());
    let scope = writer.scope_of(&device).await.unwrap();

    let (taken_tx, taken_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let a = tokio::spawn({
        let (writer, device, scope) = (writer.clone(), device.clone(), scope.clone());
        async move {
            let request = push_household(1, 1, "hA");
            writer
                .push_paused(&device, &scope, &request, now_ms(), async move {
                    taken_tx.send(()).unwrap();
                    release_rx.await.unwrap();
                })
                .await
        }
    });
    taken_rx.await.unwrap(); // A has written, taken its number, not committed

    let b = tokio::spawn({
        let (writer, device, scope) = (writer.clone(), device.clone(), scope.clone());
        async move {
            let request = push_household(2, 1, "hB");
            writer.push(&device, &scope, &request, now_ms()).await
        }
    });
    // Let B get as far as it can: done, or waiting on a lock A holds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if b.is_finished() || waiting > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "writer B neither finished nor waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b_committed_first = b.is_finished();

    let reader_scope = reader.scope_of(&device).await.unwrap();
    let (mut cursor, mut fingerprint) = (0, None);
    let mut seen = BTreeSet::new();
    let pull = async |cursor: &mut u64,
                      fingerprint: &mut Option<String>,
                      seen: &mut BTreeSet<(String, u64)>| {
        let page = reader
            .pull(
                &reader_scope,
                &PullRequest {
                    compound: "c1".parse().unwrap(),
                    cursor: *cursor,
                    scope: fingerprint.clone(),
                },
            )
            .await
            .unwrap();
        for change in &page.changes {
            seen.insert((change.record.id.as_str().to_owned(), change.seq));
        }
        *cursor = page.cursor;
        *fingerprint = Some(page.scope);
    };
    pull(&mut cursor, &mut fingerprint, &mut seen).await; // between the two commits
    let cursor_between = cursor;

    release_tx.send(()).unwrap();
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    for _ in 0..3 {
        pull(&mut cursor, &mut fingerprint, &mut seen).await;
    }
    let ids: BTreeSet<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["hA", "hB"]),
        "the reader saw {seen:?} (cursor {cursor_between} between the commits; \
         B committed before A: {b_committed_first})"
    );
    let seq = |id: &str| seen.iter().find(|(i, _)| i == id).unwrap().1;
    assert!(seq("hA") < seq("hB"), "A took the lower number: {seen:?}");
    assert!(
        !b_committed_first,
        "B must wait for A's counter row, so it cannot commit first"
    );
    writer.close().await;
    reader.close().await;
}
