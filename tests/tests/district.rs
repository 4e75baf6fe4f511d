//! A district official (issue 16, item 3) in headless Chromium: signs in
//! with the operator's invite code, sees the district's totals counted by
//! the server (each compound, each street, the sum, the days, freshness),
//! sees a new home test after the coordinator's push, downloads the
//! workbook, and keeps the last totals offline. No page an official can
//! open carries a resident's name, door or phone, and the phone stores no
//! record.

use std::time::Duration;

use doorstep_core::mutation::Mutation;
use doorstep_tests::{Browser, TestServer};
use serde_json::json;

/// What must never reach an official's phone: the seed's names, phones and
/// doors.
const PERSONAL: [&str; 5] = ["赵桂兰", "李建国", "13800138000", "13912345678", "302室"];

fn mutation(
    kind: &str,
    collection: &str,
    compound: &str,
    id: &str,
    fields: serde_json::Value,
) -> Mutation {
    serde_json::from_value(
        json!({"kind": kind, "args": {"collection": collection, "id": id,
        "compound": compound, "fields": fields}}),
    )
    .unwrap()
}

/// A compound's day: a team, two households with names and phones, an
/// answered door with a swab, a need collected.
fn work(c: &str) -> Vec<Mutation> {
    let id = |s: &str| format!("{c}-{s}");
    vec![
        mutation("set", "team", c, &id("t1"), json!({"name": "一队"})),
        mutation(
            "set",
            "household",
            c,
            &id("h1"),
            json!({"building": "3", "unit": "1", "door": "302室", "head": "赵桂兰", "phone": "13800138000"}),
        ),
        mutation(
            "set",
            "household",
            c,
            &id("h2"),
            json!({"building": "5", "door": "101", "head": "李建国", "phone": "13912345678"}),
        ),
        mutation(
            "set",
            "visit",
            c,
            &id("v1"),
            json!({"household": id("h1"), "outcome": "visited", "swab": true, "tube_no": "A1"}),
        ),
        mutation(
            "set",
            "need",
            c,
            &id("n1"),
            json!({"household": id("h2"), "category": "medicine"}),
        ),
        mutation(
            "append",
            "need_event",
            c,
            &id("e1"),
            json!({"need": id("n1"), "step": "collected", "at_ms": 1}),
        ),
        mutation(
            "append",
            "purchase",
            c,
            &id("p1"),
            json!({"household": id("h1"), "items": "米", "amount_cents": 500}),
        ),
    ]
}

/// Asserts the open page (its whole HTML, hidden parts included) carries no
/// resident's name, door or phone.
async fn no_personal_data(phone: &Browser, page: &str) {
    let html = phone
        .eval_async("done(document.documentElement.outerHTML)")
        .await;
    let html = html.as_str().unwrap_or_default();
    for personal in PERSONAL {
        if let Some(at) = html.find(personal) {
            let from = html[..at]
                .char_indices()
                .rev()
                .nth(300)
                .map_or(0, |(i, _)| i);
            panic!(
                "{personal} on {page}: …{}…",
                &html[from..(at + 100).min(html.len())]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_sees_the_districts_totals_and_never_a_resident() {
    let mut server = TestServer::start().await;
    server
        .create_district(
            "hongshan",
            "洪山区",
            &[
                ("c1", "永安社区", Some("珞南街道")),
                ("c2", "幸福小区", Some("珞南街道")),
                ("c3", "新建小区", None),
            ],
        )
        .await;
    server.push(work("c1")).await;
    server.push(work("c2")).await;

    let phone = Browser::start().await;
    phone.open(&server.url).await;
    phone
        .sign_in(&server.official_invite("hongshan").await)
        .await;
    phone.find("area-district").await;
    assert!(
        !phone.shows("area-visits").await,
        "an official has no compound work"
    );
    assert!(
        !phone.shows("sync-bar").await,
        "an official's phone syncs nothing"
    );
    no_personal_data(&phone, "home").await;

    phone.tap("area-district").await;
    phone.expect_text("page-title", "区/街道汇总").await;
    phone.expect_text("district-name", "洪山区").await;
    phone.expect_text("district-home_tests", "2").await;
    phone.expect_text("district-households_visited", "2").await;
    phone.expect_text("district-needs_collected", "2").await;
    phone.expect_text("district-purchases", "2").await;
    phone.expect_text("district-teams", "2").await;
    phone.find("district-chart").await;
    let fresh = |compound: &str| {
        format!(
            "done(document.querySelector('[data-compound=\"{compound}\"] [data-testid=\"district-freshness\"]').innerText)"
        )
    };
    assert_eq!(
        phone.eval_async(&fresh("c3")).await,
        "从未同步",
        "c3 never synced"
    );
    assert_eq!(phone.eval_async(&fresh("c1")).await, "0 分钟前同步");
    no_personal_data(&phone, "/manage/district").await;
    phone.screenshot("district-totals-zh").await;
    phone.scroll_to("district-chart").await;
    phone.screenshot("district-chart-zh").await;
    phone.scroll_to("district-compound").await;
    phone.screenshot("district-compounds-zh").await;

    // The coordinator's phone pushes another home test; a refresh counts it.
    server
        .push(vec![mutation(
            "set",
            "visit",
            "c1",
            "c1-v2",
            json!({"household": "c1-h2", "outcome": "visited", "swab": true, "tube_no": "A2"}),
        )])
        .await;
    phone.tap("district-refresh").await;
    phone.expect_text("district-home_tests", "3").await;

    // The workbook downloads.
    let downloads = tempfile::TempDir::new().unwrap();
    phone.allow_downloads(downloads.path()).await;
    phone.tap("district-export").await;
    let file = phone.downloaded(downloads.path(), ".xlsx").await;
    let mut workbook = calamine::open_workbook_auto(&file).unwrap();
    use calamine::Reader;
    let sheet = workbook.worksheet_range("各小区").unwrap();
    let text: String = sheet.rows().flatten().map(|c| c.to_string()).collect();
    assert!(text.contains("永安社区") && text.contains("合计"), "{text}");
    for personal in PERSONAL {
        assert!(!text.contains(personal), "{personal} in the workbook");
    }
    phone.open(&format!("{}/manage/district", server.url)).await;
    phone.expect_text("district-home_tests", "3").await;

    // Every other page an official can open holds no resident either, and
    // the phone has stored no record at all.
    for page in [
        "/",
        "/join",
        "/visits",
        "/ledgers",
        "/manage/dashboard",
        "/manage/accounts",
        "/truck",
    ] {
        phone.open(&format!("{}{page}", server.url)).await;
        phone.find("app-name").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        no_personal_data(&phone, page).await;
    }
    assert_eq!(phone.stored_count("records").await, 0);
    assert_eq!(phone.stored_count("outbox").await, 0);

    // Offline, the page shows the totals it kept, and says so.
    phone.open(&format!("{}/manage/district", server.url)).await;
    phone.expect_text("district-home_tests", "3").await;
    phone.wait_for_service_worker().await;
    // An official's phone keeps the manage bundle, where its page lives.
    phone.expect_cached("/manage/index.html").await;
    server.stop().await;
    phone.reload().await;
    phone.find("district-problem").await;
    phone.expect_text("district-home_tests", "3").await;

    // English, one tap away.
    phone.tap("locale-toggle").await;
    phone.expect_text("page-title", "District totals").await;
    phone.close().await;
}
