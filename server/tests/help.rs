//! Help requests (求助) from the building page, through the real router on
//! this run's backend (SQLite, or PostgreSQL with
//! `DOORSTEP_TEST_BACKEND=postgres`): the compound's switch, the request
//! becoming a need under its household, the limits per address and per
//! building, spam, and the ticket's secrecy. No public page carries a name,
//! phone or door.

use std::net::IpAddr;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{
    help::{is_request, ticket_view},
    hlc::Hlc,
    ids::ClientId,
    need::Status,
    record::Record,
    schema::Collection,
};
use doorstep_server::{AppState, accounts::ClientAddr, now_ms};
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

const PHONE: &str = "13800138000";
const NAME: &str = "王阿姨";

struct Fixture {
    _dir: TempDir,
    db: support::TestDatabase,
    state: AppState,
    coordinator: String,
}

impl Fixture {
    async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let (db, state) =
            support::state_with(dir.path(), &[("c1", "永安社区"), ("c2", "幸福小区")]).await;
        let coordinator = support::coordinator(&state, "c1").await;
        Self {
            _dir: dir,
            db,
            state,
            coordinator,
        }
    }

    async fn switch(&self, compound: &str, auth: &str, on: bool) -> StatusCode {
        let request = Request::put(format!("/api/compounds/{compound}/help"))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(Body::from(json!({"enabled": on}).to_string()))
            .unwrap();
        support::send(&self.state, request).await.0
    }

    /// Posts the form from `building`'s page as `from` would.
    async fn ask(
        &self,
        compound: &str,
        building: &str,
        fields: &[(&str, &str)],
        from: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = Request::post(format!("/api/public/help/{compound}/{building}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        request
            .extensions_mut()
            .insert(ClientAddr(from.parse::<IpAddr>().unwrap()));
        let (status, headers, body) = support::send(&self.state, request).await;
        (status, headers, String::from_utf8(body).unwrap())
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let (status, _, body) =
            support::send(&self.state, Request::get(path).body(Body::empty()).unwrap()).await;
        (status, String::from_utf8(body).unwrap())
    }

    async fn records(&self, compound: &str, collection: Collection) -> Vec<Record> {
        self.state
            .store
            .records_of(&compound.parse().unwrap(), collection)
            .await
            .unwrap()
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn form<'a>(door: &'a str, category: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("unit", "2单元"),
        ("door", door),
        ("category", category),
        ("description", "刚做完膝盖手术，不能下楼"),
        ("phone", PHONE),
        ("name", NAME),
    ]
}

/// The ticket path a successful post redirects to.
fn ticket_of(headers: &axum::http::HeaderMap) -> String {
    headers[header::LOCATION].to_str().unwrap().to_owned()
}

/// Nothing a resident or a passer-by can open names who asked.
fn assert_public(page: &str) {
    for private in [PHONE, NAME, "701", "膝盖"] {
        assert!(
            !page.contains(private),
            "{private} on a public page: {page}"
        );
    }
}

#[tokio::test]
async fn the_switch_is_off_until_a_coordinator_turns_it_on() {
    let f = Fixture::new().await;
    let (status, page) = f.page("/r/c1/3").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"help-closed\""), "{page}");
    assert!(!page.contains("help-form"));
    let (status, headers, answer) = f
        .ask("c1", "3", &form("701", "home_test"), "10.0.0.1")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["x-doorstep-code"], "help_closed");
    assert!(answer.contains("暂未开通网上求助"), "{answer}");
    assert!(f.records("c1", Collection::Need).await.is_empty());

    // Only c1's coordinator may switch c1.
    let stall = support::bearer(
        &f.state,
        "c1",
        doorstep_core::access::Role::Stall,
        None,
        false,
    )
    .await;
    let other = support::coordinator(&f.state, "c2").await;
    assert_eq!(f.switch("c1", &stall, true).await, StatusCode::FORBIDDEN);
    assert_eq!(f.switch("c1", &other, true).await, StatusCode::FORBIDDEN);
    assert_eq!(f.switch("c1", &f.coordinator, true).await, StatusCode::OK);
    let (_, _, body) = support::send(
        &f.state,
        Request::get("/api/compounds/c1/help")
            .header("authorization", &f.coordinator)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"enabled": true})
    );
    let (_, page) = f.page("/r/c1/3").await;
    assert!(page.contains("data-testid=\"help-form\""), "{page}");
    assert!(page.contains("action=\"/api/public/help/c1/3\""));
    let (_, page) = f.page("/r/c2/3").await;
    assert!(page.contains("help-closed"), "c2 is still off");

    assert_eq!(f.switch("c1", &f.coordinator, false).await, StatusCode::OK);
    let (status, _, _) = f
        .ask("c1", "3", &form("701", "home_test"), "10.0.0.1")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, headers, _) = f
        .ask("nowhere", "3", &form("701", "home_test"), "10.0.0.1")
        .await;
    assert_eq!(
        (status, &headers["x-doorstep-code"]),
        (StatusCode::NOT_FOUND, &"not_found".parse().unwrap())
    );
}

#[tokio::test]
async fn a_request_becomes_a_need_under_its_household() {
    let f = Fixture::new().await;
    f.switch("c1", &f.coordinator, true).await;
    // Building 3, unit 2, door 701 is on the roster already.
    let node = ClientId::from_u128(7);
    let seed = json!({"client_id": node, "schema_version": SCHEMA_VERSION, "mutations": [{
        "mid": 1, "hlc": Hlc { wall_ms: now_ms() - 1000, counter: 0, node }.to_string(),
        "kind": "set", "args": {"collection": "household", "id": "h701", "compound": "c1",
            "fields": {"building": "3", "unit": "2", "door": "701", "head": "李"}}}]});
    let (status, _, _) = support::send(
        &f.state,
        Request::post("/api/sync")
            .header("authorization", &f.coordinator)
            .header("content-type", "application/json")
            .body(Body::from(seed.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let before = now_ms();
    let (status, headers, _) = f
        .ask("c1", "3", &form("701", "home_test"), "10.0.0.1")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(ticket_of(&headers).starts_with("/h/"));
    let needs = f.records("c1", Collection::Need).await;
    assert_eq!(needs.len(), 1);
    let need = &needs[0];
    assert!(is_request(need));
    assert_eq!(
        need.named("household"),
        Some(&json!("h701")),
        "2单元 is unit 2"
    );
    assert_eq!(need.named("category"), Some(&json!("home_test")));
    assert_eq!(need.named("phone"), Some(&json!(PHONE)));
    assert_eq!(need.named("name"), Some(&json!(NAME)));
    assert!(need.named("requested_ms").and_then(Value::as_u64).unwrap() >= before);
    let events = f.records("c1", Collection::NeedEvent).await;
    let view = ticket_view(need, &events);
    assert_eq!(view.status, Some(Status::Collected));
    assert_eq!(f.records("c1", Collection::Household).await.len(), 1);

    // Another address: a household is made for it, address only.
    let (status, _, _) = f.ask("c1", "3", &form("1202", "care"), "10.0.0.2").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let households = f.records("c1", Collection::Household).await;
    assert_eq!(households.len(), 2);
    let made = households.iter().find(|h| h.id.as_str() != "h701").unwrap();
    assert_eq!(made.named("door"), Some(&json!("1202")));
    assert_eq!(made.named("building"), Some(&json!("3")));
    assert_eq!(made.named("head"), None);
    assert_eq!(made.named("phone"), None, "the phone stays on the need");

    // A coordinator's phone pulls both, with the phone to call back.
    let pull = json!({"client_id": ClientId::from_u128(8), "schema_version": SCHEMA_VERSION,
        "pull": {"compound": "c1", "cursor": 0}});
    let (_, _, body) = support::send(
        &f.state,
        Request::post("/api/sync")
            .header("authorization", &f.coordinator)
            .header("content-type", "application/json")
            .body(Body::from(pull.to_string()))
            .unwrap(),
    )
    .await;
    let page = support::pull_page(&serde_json::from_slice(&body).unwrap());
    let pulled = page
        .changes
        .iter()
        .filter(|c| c.record.collection == Collection::Need)
        .count();
    assert_eq!(pulled, 2);
}

#[tokio::test]
async fn a_bad_form_is_refused_and_nothing_is_stored() {
    let f = Fixture::new().await;
    f.switch("c1", &f.coordinator, true).await;
    let long = "字".repeat(501);
    for (field, value) in [
        ("door", ""),
        ("phone", "12"),
        ("category", "utilities"),
        ("description", long.as_str()),
        ("name", &long[..]),
    ] {
        let mut fields = form("701", "home_test");
        fields.retain(|(k, _)| *k != field);
        fields.push((field, value));
        let (status, headers, answer) = f.ask("c1", "3", &fields, "10.0.0.1").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(headers["x-doorstep-code"], "invalid");
        assert!(answer.contains("help-problem"), "{answer}");
    }
    assert!(f.records("c1", Collection::Need).await.is_empty());
    assert!(f.records("c1", Collection::Household).await.is_empty());
}

#[tokio::test]
async fn requests_are_limited_per_address_and_per_building() {
    let mut f = Fixture::new().await;
    f.state.help_limits.per_address = 2;
    f.state.help_limits.per_building = 3;
    f.switch("c1", &f.coordinator, true).await;
    let ask = |door: &'static str, from: &'static str, building: &'static str| {
        let f = &f;
        async move { f.ask("c1", building, &form(door, "food"), from).await }
    };
    assert_eq!(ask("101", "10.0.0.1", "3").await.0, StatusCode::SEE_OTHER);
    assert_eq!(ask("102", "10.0.0.1", "3").await.0, StatusCode::SEE_OTHER);
    let (status, headers, answer) = ask("103", "10.0.0.1", "3").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "third from one address"
    );
    assert_eq!(headers["x-doorstep-code"], "too_many_requests");
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert!(answer.contains("提交太频繁"), "{answer}");
    // Another address in the same building: one more, then the building is full.
    assert_eq!(ask("104", "10.0.0.2", "3").await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        ask("105", "10.0.0.3", "3").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another building still takes requests.
    assert_eq!(ask("201", "10.0.0.3", "4").await.0, StatusCode::SEE_OTHER);
    assert_eq!(f.records("c1", Collection::Need).await.len(), 4);
}

#[tokio::test]
async fn spam_leaves_the_ledger_and_the_figures_but_stays_in_the_history() {
    let f = Fixture::new().await;
    f.switch("c1", &f.coordinator, true).await;
    f.ask("c1", "3", &form("701", "other"), "10.0.0.1").await;
    let need = f.records("c1", Collection::Need).await.remove(0);
    let node = ClientId::from_u128(9);
    let mark = json!({"client_id": node, "schema_version": SCHEMA_VERSION, "mutations": [{
        "mid": 1, "hlc": Hlc { wall_ms: now_ms(), counter: 0, node }.to_string(),
        "kind": "set", "args": {"collection": "need", "id": need.id, "compound": "c1",
            "fields": {"spam": true}}}]});
    let (status, _, body) = support::send(
        &f.state,
        Request::post("/api/sync")
            .header("authorization", &f.coordinator)
            .header("content-type", "application/json")
            .body(Body::from(mark.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["rejected"],
        json!([])
    );
    let mut records = f.records("c1", Collection::Need).await;
    records.extend(f.records("c1", Collection::NeedEvent).await);
    assert_eq!(
        doorstep_core::dashboard::totals(&records).needs_collected,
        0
    );
    let (status, _, xlsx) = support::send(
        &f.state,
        Request::get("/api/compounds/c1/ledgers/needs.csv")
            .header("authorization", &f.coordinator)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !String::from_utf8_lossy(&xlsx).contains(need.id.as_str()),
        "not in the ledger"
    );
    // The history keeps both the request and the mark.
    let (status, _, body) = support::send(
        &f.state,
        Request::get(format!("/api/compounds/c1/history/need/{}", need.id))
            .header("authorization", &f.coordinator)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let history = String::from_utf8(body).unwrap();
    assert!(
        history.contains("spam") && history.contains(PHONE),
        "{history}"
    );
}

#[tokio::test]
async fn a_ticket_shows_its_own_request_and_nothing_else() {
    let f = Fixture::new().await;
    f.switch("c1", &f.coordinator, true).await;
    let c2 = support::coordinator(&f.state, "c2").await;
    f.switch("c2", &c2, true).await;
    let (_, first, _) = f
        .ask("c1", "3", &form("701", "home_test"), "10.0.0.1")
        .await;
    let (_, second, _) = f.ask("c2", "3", &form("701", "medicine"), "10.0.0.2").await;
    let (first, second) = (ticket_of(&first), ticket_of(&second));
    assert_ne!(first, second);
    let token = first.trim_start_matches("/h/");
    assert_eq!(token.len(), 22, "128 random bits");

    let (status, page) = f.page(&first).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("上门核酸检测") && page.contains("已收到，等待社区回电"),
        "{page}"
    );
    assert_public(&page);
    let (status, page) = f.page(&second).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("买药") && !page.contains("上门核酸检测"),
        "{page}"
    );
    assert_public(&page);
    let (_, english) = f.page(&format!("{first}?lang=en")).await;
    assert!(english.contains("Home test"), "{english}");

    // Guessed, altered, or shaped wrong: the same 404, nothing of anyone's.
    let mut altered = token.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    for guess in [
        format!("/h/{altered}"),
        "/h/AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        "/h/x".to_owned(),
        "/h/c1".to_owned(),
    ] {
        let (status, page) = f.page(&guess).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{guess}");
        assert!(page.contains("ticket-unknown"), "{page}");
        assert!(!page.contains("上门核酸检测") && !page.contains("买药"));
    }
    // The store holds the ticket's keyed hash, never the ticket.
    let stored = f.db.contents().await.concat();
    assert!(support::find_bytes(&stored, token.as_bytes()).is_none());

    // The resident page shows the form, never a request.
    let (_, page) = f.page("/r/c1/3").await;
    assert_public(&page);
    let (_, status) = f.page("/api/public/status/c1/3").await;
    assert_public(&status);
    let (_, runs) = f.page("/api/public/runs/c1").await;
    assert_public(&runs);
}

#[tokio::test]
async fn a_ticket_follows_the_need_through_its_lifecycle() {
    let f = Fixture::new().await;
    f.switch("c1", &f.coordinator, true).await;
    let (_, headers, _) = f
        .ask("c1", "3", &form("701", "home_test"), "10.0.0.1")
        .await;
    let ticket = ticket_of(&headers);
    let need = f.records("c1", Collection::Need).await.remove(0);
    let node = ClientId::from_u128(11);
    let now = now_ms();
    let steps = [
        json!({"step": "called_back"}),
        json!({"step": "assigned", "team": "T1", "due_ms": now + 3_600_000}),
        json!({"step": "resolved", "note": "已上门采样"}),
    ];
    let mutations: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut fields = step.clone();
            fields["need"] = json!(need.id);
            fields["at_ms"] = json!(now + i as u64);
            json!({"mid": i + 1, "hlc": Hlc { wall_ms: now + i as u64, counter: 0, node }.to_string(),
                "kind": "append", "args": {"collection": "need_event", "id": format!("s{i}"),
                "compound": "c1", "fields": fields}})
        })
        .collect();
    let push = json!({"client_id": node, "schema_version": SCHEMA_VERSION, "mutations": mutations});
    let (status, _, body) = support::send(
        &f.state,
        Request::post("/api/sync")
            .header("authorization", &f.coordinator)
            .header("content-type", "application/json")
            .body(Body::from(push.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["rejected"],
        json!([])
    );
    let (_, page) = f.page(&ticket).await;
    assert!(page.contains("data-status=\"resolved\""), "{page}");
    assert!(
        !page.contains("已上门采样"),
        "the resolution note stays inside"
    );
    assert_public(&page);
}
