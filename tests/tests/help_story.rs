//! Issue 16's whole story in headless Chromium, one request end to end
//! ("你若有所呼，我必有所应"): a resident with no login asks for a home
//! test from building 3's page; the coordinator, watching the home-visit
//! list, sees it arrive without reloading and sends it to the home-visit
//! team; the team's phone, offline at the door, records the test and syncs
//! once back online; the resident's ticket says resolved; the district
//! official's page counts one more home test. No page an official or a
//! resident can open carries the resident's name, phone, door or words.

use doorstep_core::{access::Role, need::Status, schema::Collection};
use doorstep_tests::{
    Browser, TestServer,
    seed::{HelpRequest, set},
};
use serde_json::{Value, json};

const REQUEST: HelpRequest = HelpRequest::HOME_TEST;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reaches_the_door_and_the_district_counts_it() {
    let mut server = TestServer::start().await;
    server
        .create_district(
            "jinshui",
            "金水区",
            &[("yongan", "永安社区", Some("南阳路街道"))],
        )
        .await;
    server
        .push(vec![
            set("round", "R1", json!({"name": "第一轮"})),
            set(
                "team",
                "T1",
                json!({"name": "上门专班", "home_visit": true}),
            ),
        ])
        .await;
    server.set_help_requests("yongan", true).await;

    // Before: the district counts no home test.
    let official = Browser::start().await;
    official.open(&server.url).await;
    official
        .sign_in(&server.official_invite("jinshui").await)
        .await;
    official.tap("area-district").await;
    official.expect_text("district-home_tests", "0").await;

    // The coordinator watches the home-visit list; the team's phone waits.
    let coordinator = Browser::start().await;
    coordinator.open(&server.url).await;
    coordinator
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    coordinator.tap("area-home-visits").await;
    coordinator.find("dispatch-empty").await;
    let team = Browser::start().await;
    team.open(&server.url).await;
    team.sign_in(&server.invite("yongan", Role::Volunteer, Some("T1")).await)
        .await;
    team.tap("area-home-visits").await;
    team.find("home-visits-empty").await;

    // The resident asks from building 3's page.
    let resident = Browser::start().await;
    let building = format!("{}/r/yongan/3", server.url);
    resident.open(&building).await;
    REQUEST.fill(&resident).await;
    resident.tap("help-send").await;
    resident
        .expect_text("ticket-status", "已收到，等待社区回电")
        .await;
    let ticket = resident.path().await;
    assert!(ticket.starts_with("/h/"), "{ticket}");

    // It reaches the open list with no reload and no tap, and goes to the
    // home-visit team.
    coordinator
        .expect_text_starting("dispatch-row", "3号楼 2单元 701 · 7楼")
        .await;
    coordinator.choose("dispatch-team", 1).await;
    coordinator.expect_value("dispatch-team", "T1").await;
    coordinator.screenshot("home-visits-request-zh").await;
    coordinator.tap("sync-now").await;
    coordinator.expect_text("sync-pending", "已全部上传").await;
    resident.open(&format!("{}{ticket}", server.url)).await;
    resident
        .expect_text("ticket-status", "已安排专人处理")
        .await;

    // The team's phone gets the household, though it holds no building.
    team.tap("sync-now").await;
    team.expect_text_starting("home-visit-row", "3号楼 2单元 701 · 7楼")
        .await;

    // Offline at the door: the test and its tube number.
    server.stop().await;
    team.fill("tube-no", "B0701").await;
    team.tap("result-tested").await;
    team.expect_text("home-visit-result", "已采样 B0701").await;
    team.expect_text_starting("sync-pending", "待上传").await;

    // Back online, the test resolves the request.
    server.restart().await;
    team.tap("sync-now").await;
    team.expect_text("sync-pending", "已全部上传").await;
    let mut steps = server.records("yongan", Collection::NeedEvent).await;
    steps.sort_by_key(|s| s.named("at_ms").and_then(Value::as_u64));
    let steps: Vec<Status> = steps
        .iter()
        .filter_map(|s| s.named("step").cloned())
        .map(|s| serde_json::from_value(s).unwrap())
        .collect();
    assert_eq!(
        steps,
        [Status::Collected, Status::Assigned, Status::Resolved],
        "collected by the page, assigned by the dispatch, resolved by the test"
    );
    resident.open(&format!("{}{ticket}", server.url)).await;
    resident.expect_text("ticket-status", "已解决").await;
    resident.screenshot("help-ticket-resolved-zh").await;
    assert_nothing_personal("the ticket", &resident.page_source().await);
    resident.open(&building).await;
    assert_nothing_personal("the building page", &resident.page_source().await);

    // The district counts it, and names nobody.
    official.tap("district-refresh").await;
    official.expect_text("district-home_tests", "1").await;
    assert_nothing_personal("the district page", &official.page_source().await);
    assert_eq!(
        official.stored_count("records").await,
        0,
        "an official's phone holds no records"
    );

    resident.close().await;
    team.close().await;
    coordinator.close().await;
    official.close().await;
}

fn assert_nothing_personal(page_name: &str, page: &str) {
    for private in [REQUEST.phone, REQUEST.name, "2单元", REQUEST.words, "B0701"] {
        assert!(!page.contains(private), "{private} on {page_name}");
    }
}
