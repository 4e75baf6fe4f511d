//! `POST /api/sync` through the real router on a real database (a SQLite file,
//! or PostgreSQL with `DOORSTEP_TEST_BACKEND=postgres`): idempotent
//! pushes, commit-order pulls, and bad input that changes nothing.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::{
    hlc::Hlc,
    ids::ClientId,
    sync::{BODY_ENCODING, PULL_PAGE_SIZE, PullPage, SCHEMA_VERSION, SyncResponse},
};
use doorstep_server::{AppState, app, now_ms, store::Compound};
use serde_json::{Value, json};
use support::TestDatabase;
use tempfile::TempDir;
use tower::ServiceExt;

mod support;

struct Fixture {
    _dir: TempDir,
    db: TestDatabase,
    state: AppState,
    /// A coordinator's `Authorization` header.
    auth: String,
}

impl Fixture {
    async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
        Self {
            auth: support::coordinator(&state, "c1").await,
            state,
            _dir: dir,
            db,
        }
    }

    async fn post_raw(&self, body: Vec<u8>) -> (StatusCode, Value) {
        self.post_encoded(body, None).await
    }

    /// The body as sent with `Content-Encoding: encoding`, when given.
    async fn post_encoded(&self, body: Vec<u8>, encoding: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::post("/api/sync")
            .header("content-type", "application/json")
            .header("authorization", &self.auth);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        let request = request.body(Body::from(body)).unwrap();
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn sync(&self, body: Value) -> SyncResponse {
        let (status, json) = self.post_raw(body.to_string().into_bytes()).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        serde_json::from_value(json).unwrap()
    }

    /// Everything stored: SQLite's files byte for byte, or every PostgreSQL row.
    async fn database_bytes(&self) -> Vec<Vec<u8>> {
        self.db.contents().await
    }
}

fn client(n: u128) -> ClientId {
    ClientId::from_u128(n)
}

fn hlc(client_n: u128, counter: u32) -> String {
    Hlc {
        wall_ms: now_ms() - 60_000,
        counter,
        node: client(client_n),
    }
    .to_string()
}

fn set_household(mid: u64, client_n: u128, id: &str, fields: Value) -> Value {
    json!({
        "mid": mid, "hlc": hlc(client_n, mid as u32), "kind": "set",
        "args": {"collection": "household", "id": id, "compound": "c1", "fields": fields}
    })
}

fn push(client_n: u128, mutations: Vec<Value>) -> Value {
    json!({"client_id": client(client_n), "schema_version": SCHEMA_VERSION, "mutations": mutations})
}

/// `after` is the page pulled last (its cursor and scope), if any.
fn push_and_pull(client_n: u128, mutations: Vec<Value>, after: Option<&PullPage>) -> Value {
    let mut body = push(client_n, mutations);
    body["pull"] = match after {
        Some(page) => json!({"compound": "c1", "cursor": page.cursor, "scope": page.scope}),
        None => json!({"compound": "c1", "cursor": 0}),
    };
    body
}

#[tokio::test]
async fn a_push_is_pulled_back_in_commit_order() {
    let f = Fixture::new().await;
    let response = f
        .sync(push_and_pull(
            1,
            vec![
                set_household(1, 1, "h1", json!({"door": "101", "head": "王芳"})),
                set_household(2, 1, "h2", json!({"door": "102"})),
                set_household(3, 1, "h1", json!({"phone": "13800000000"})),
            ],
            None,
        ))
        .await;
    assert_eq!(response.last_mid, 3);
    assert!(response.rejected.is_empty());
    let page = response.pull.unwrap();
    assert!(!page.more);
    let order: Vec<(&str, u64)> = page
        .changes
        .iter()
        .map(|c| (c.record.id.as_str(), c.seq))
        .collect();
    assert_eq!(
        order,
        [("h2", 2), ("h1", 3)],
        "h1 moves to its latest change"
    );
    assert_eq!(page.cursor, 3);
    let h1 = &page.changes[1].record;
    assert_eq!(h1.named("head"), Some(&json!("王芳")));
    assert_eq!(h1.named("phone"), Some(&json!("13800000000")));

    let again = f.sync(push_and_pull(2, vec![], Some(&page))).await;
    assert!(
        again.pull.unwrap().changes.is_empty(),
        "nothing after the cursor"
    );
}

#[tokio::test]
async fn a_push_answer_leaves_out_what_the_push_wrote() {
    let f = Fixture::new().await;
    // A first pull starts from 0 (`reset`) and comes whole, own edit and all.
    let first = f
        .sync(push_and_pull(
            1,
            vec![set_household(1, 1, "h1", json!({"door": "101"}))],
            None,
        ))
        .await
        .pull
        .unwrap();
    assert!(first.reset);
    assert_eq!(first.changes.len(), 1);
    f.sync(push(
        2,
        vec![
            set_household(1, 2, "h1", json!({"head": "王芳"})),
            set_household(2, 2, "h2", json!({"door": "102"})),
        ],
    ))
    .await;
    let answer = f
        .sync(push_and_pull(
            1,
            vec![
                set_household(2, 1, "h1", json!({"phone": "13800000000"})),
                set_household(3, 1, "h3", json!({"door": "103"})),
            ],
            Some(&first),
        ))
        .await;
    assert_eq!(answer.last_mid, 3);
    let page = answer.pull.unwrap();
    assert!(!page.reset);
    let ids: Vec<&str> = page.changes.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["h2", "h1"], "h3 is only this push's: not sent back");
    let h1 = &page.changes[1].record;
    assert_eq!(
        h1.fields.keys().collect::<Vec<_>>(),
        ["door", "head"],
        "the phone's earlier door and the other phone's head; not the phone it just sent"
    );
    assert_eq!(page.cursor, 5);
    // Another phone gets everything.
    let other = f.sync(push_and_pull(3, vec![], None)).await.pull.unwrap();
    assert_eq!(other.changes.len(), 3);
}

#[tokio::test]
async fn the_same_batch_pushed_twice_is_applied_once() {
    let f = Fixture::new().await;
    let notes = set_household(2, 1, "h1", json!({"notes": "独居"}));
    let batch = push(
        1,
        vec![
            set_household(1, 1, "h1", json!({"door": "101"})),
            notes.clone(),
        ],
    );
    let first = f.sync(batch.clone()).await;
    let bytes_after_first = f.database_bytes().await;
    let second = f.sync(batch).await;
    assert_eq!(first.last_mid, 2);
    assert_eq!(second.last_mid, 2);
    assert_eq!(
        f.database_bytes().await,
        bytes_after_first,
        "a retry writes nothing"
    );
    let page = f.sync(push_and_pull(9, vec![], None)).await.pull.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.cursor, 2, "two changes, not four");

    // A retry that overlaps old and new mids (the old one as first sent,
    // stamp and all) applies only the new ones.
    let overlap = push(
        1,
        vec![notes, set_household(3, 1, "h1", json!({"door": "102"}))],
    );
    assert_eq!(f.sync(overlap).await.last_mid, 3);
    assert_eq!(
        f.sync(push_and_pull(9, vec![], None))
            .await
            .pull
            .unwrap()
            .cursor,
        3
    );
}

#[tokio::test]
async fn a_mutation_that_can_never_apply_is_rejected_and_passed() {
    let f = Fixture::new().await;
    let entry = |mid: u64, items: &str| {
        json!({
            "mid": mid, "hlc": hlc(1, mid as u32), "kind": "append",
            "args": {"collection": "purchase", "id": "p1", "compound": "c1",
                     "fields": {"household": "h1", "items": items, "amount_cents": 900}}
        })
    };
    let batch = push(
        1,
        vec![
            entry(1, "米"),
            entry(2, "面"),
            set_household(3, 1, "h1", json!({"door": "1"})),
        ],
    );
    let response = f.sync(batch.clone()).await;
    assert_eq!(response.last_mid, 3, "the client moves past the rejection");
    assert_eq!(response.rejected.len(), 1);
    assert_eq!(response.rejected[0].mid, 2);
    assert_eq!(
        response.rejected[0].refusal.code,
        doorstep_core::api::ErrorCode::EntryExists
    );
    // A lost response: the retry learns of the same rejection.
    assert_eq!(f.sync(batch).await.rejected, response.rejected);
}

#[tokio::test]
async fn pulls_page_at_the_limit_and_say_more() {
    let f = Fixture::new().await;
    let total = PULL_PAGE_SIZE as u64 + 5;
    let mut mid = 0;
    while mid < total {
        let batch: Vec<Value> = (mid + 1..=(mid + 100).min(total))
            .map(|m| set_household(m, 1, &format!("h{m}"), json!({"door": m.to_string()})))
            .collect();
        mid += batch.len() as u64;
        f.sync(push(1, batch)).await;
    }
    let first = f.sync(push_and_pull(2, vec![], None)).await.pull.unwrap();
    assert_eq!(
        (first.changes.len(), first.more, first.remaining),
        (PULL_PAGE_SIZE, true, 5)
    );
    let second = f
        .sync(push_and_pull(2, vec![], Some(&first)))
        .await
        .pull
        .unwrap();
    assert_eq!(
        (second.changes.len(), second.more, second.remaining),
        (5, false, 0)
    );
    assert_eq!(second.cursor, total);
}

/// Data-driven: each bad request, its status and code, and no byte stored.
#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let f = Fixture::new().await;
    f.sync(push(
        1,
        vec![set_household(1, 1, "h1", json!({"door": "101"}))],
    ))
    .await;
    let good = |mutation: Value| push(1, vec![mutation]);
    let future_hlc = Hlc {
        wall_ms: now_ms() + 10 * 60_000,
        counter: 0,
        node: client(1),
    }
    .to_string();
    let mut ahead = set_household(2, 1, "h2", json!({"door": "1"}));
    ahead["hlc"] = json!(future_hlc);
    let mut foreign = set_household(2, 1, "h2", json!({"door": "1"}));
    foreign["hlc"] = json!(hlc(7, 0));
    let mut unknown_kind = set_household(2, 1, "h2", json!({"door": "1"}));
    unknown_kind["kind"] = json!("drop_table");
    let too_many: Vec<Value> = (2..=102)
        .map(|m| set_household(m, 1, "h2", json!({"door": "1"})))
        .collect();
    let huge_notes = "很".repeat(100_000);

    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("malformed JSON", b"{\"client_id\": ".to_vec(), StatusCode::BAD_REQUEST, "malformed"),
        ("missing client_id", json!({"schema_version": SCHEMA_VERSION}).to_string().into(), StatusCode::BAD_REQUEST, "malformed"),
        ("unknown top-level field", json!({"client_id": client(1), "schema_version": SCHEMA_VERSION, "x": 1}).to_string().into(), StatusCode::BAD_REQUEST, "malformed"),
        ("unknown kind", good(unknown_kind).to_string().into(), StatusCode::BAD_REQUEST, "malformed"),
        ("wrong type", good(set_household(2, 1, "h2", json!({"members": "three"}))).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        ("out of range", good(set_household(2, 1, "h2", json!({"members": 120}))).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        ("unknown field", good(set_household(2, 1, "h2", json!({"colour": "red"}))).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        ("gap in mids", good(set_household(5, 1, "h2", json!({"door": "1"}))).to_string().into(), StatusCode::CONFLICT, "mid_gap"),
        ("clock ahead", good(ahead).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "clock_ahead"),
        ("stamped by another client", good(foreign).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        ("unsupported schema", json!({"client_id": client(1), "schema_version": 99}).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "unsupported_schema"),
        // An app from before compact pages: asked to reload, never answered with a page it would misread.
        ("an app of schema 1", json!({"client_id": client(1), "schema_version": 1, "pull": {"compound": "c1", "cursor": 0}}).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "unsupported_schema"),
        // The schema before this one (record-shaped changes): its push is not taken either.
        ("an app of the schema before", json!({"client_id": client(1), "schema_version": SCHEMA_VERSION - 1, "mutations": [set_household(2, 1, "h2", json!({"door": "1"}))], "pull": {"compound": "c1", "cursor": 0}}).to_string().into(), StatusCode::UNPROCESSABLE_ENTITY, "unsupported_schema"),
        ("101 mutations", push(1, too_many).to_string().into(), StatusCode::PAYLOAD_TOO_LARGE, "too_many_mutations"),
        ("body over 256 KB", good(set_household(2, 1, "h2", json!({"notes": huge_notes}))).to_string().into(), StatusCode::PAYLOAD_TOO_LARGE, "body_rejected"),
        ("pull of another compound", json!({"client_id": client(1), "schema_version": SCHEMA_VERSION, "pull": {"compound": "nowhere", "cursor": 0}}).to_string().into(), StatusCode::FORBIDDEN, "forbidden"),
    ];
    let before = f.database_bytes().await;
    for (name, body, status, code) in cases {
        let (got_status, error) = f.post_raw(body).await;
        assert_eq!(got_status, status, "{name}: {error}");
        assert_eq!(error["code"], code, "{name}: {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: {error}"
        );
        if code == "unsupported_schema" {
            // The app shows this: it must say what to do.
            assert!(
                error["message"].as_str().unwrap().contains("reload"),
                "{name}: {error}"
            );
        }
        assert_eq!(
            f.database_bytes().await,
            before,
            "{name} changed the database"
        );
    }
    assert_eq!(f.state.store.last_mid(&client(1)).await.unwrap(), 1);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_gzipped_push_is_taken_and_a_bad_one_changes_nothing() {
    let f = Fixture::new().await;
    let body = push_and_pull(
        1,
        vec![set_household(1, 1, "h1", json!({"door": "101"}))],
        None,
    );
    let (status, answer) = f
        .post_encoded(gzip(body.to_string().as_bytes()), Some(BODY_ENCODING))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["last_mid"], 1);
    assert_eq!(support::pull_page(&answer).changes.len(), 1);

    // Text that is all one letter inflates from a few hundred bytes to past the limit.
    let huge = push(
        1,
        vec![set_household(
            2,
            1,
            "h2",
            json!({"notes": "很".repeat(100_000)}),
        )],
    );
    let next = push(1, vec![set_household(2, 1, "h2", json!({"door": "102"}))]).to_string();
    /// What is sent, with which `Content-Encoding`, and the answer expected.
    type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "not gzip",
            next.clone().into_bytes(),
            Some("gzip"),
            StatusCode::BAD_REQUEST,
            "body_rejected",
        ),
        (
            "cut short",
            gzip(next.as_bytes())[..40].to_vec(),
            Some("gzip"),
            StatusCode::BAD_REQUEST,
            "body_rejected",
        ),
        (
            "past 256 KB once inflated",
            gzip(huge.to_string().as_bytes()),
            Some("gzip"),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_rejected",
        ),
        (
            "brotli",
            next.clone().into_bytes(),
            Some("br"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "gzip twice",
            gzip(next.as_bytes()),
            Some("gzip, gzip"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    let before = f.database_bytes().await;
    for (name, body, encoding, status, code) in cases {
        let (got, error) = f.post_encoded(body, encoding).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{name}: {error}"
        );
        assert_eq!(
            f.database_bytes().await,
            before,
            "{name} changed the database"
        );
    }
    // The same edit as it is: taken.
    let (status, answer) = f.post_encoded(next.into_bytes(), Some("identity")).await;
    assert_eq!(
        (status, answer["last_mid"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{answer}"
    );
}

#[tokio::test]
async fn errors_name_the_offending_field() {
    let f = Fixture::new().await;
    let (_, error) = f
        .post_raw(
            push(1, vec![set_household(1, 1, "h1", json!({"members": 120}))])
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(error["field"], "mutations[0].args.fields.members");
    let (_, error) = f
        .post_raw(
            json!({"client_id": "nope", "schema_version": SCHEMA_VERSION})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(error["field"], "client_id");
}

#[tokio::test]
async fn compound_ids_are_unique() {
    let f = Fixture::new().await;
    let again = f
        .state
        .store
        .create_compound(
            &Compound {
                id: "c1".parse().unwrap(),
                name: "x".into(),
            },
            now_ms(),
        )
        .await
        .unwrap_err();
    assert_eq!(again.to_string(), "compound c1 already exists");
}
