//! A resident asks for help (求助) from building 3's page, with no login:
//! the coordinator turns requests on, sees the request arrive without
//! reloading, calls back, assigns and resolves it; the resident's ticket
//! page follows it to resolved. No public page carries the resident's name
//! or phone.

use doorstep_core::access::Role;
use doorstep_tests::{
    Browser, TestServer,
    seed::{HelpRequest, set},
};
use serde_json::json;

const REQUEST: HelpRequest = HelpRequest::HOME_TEST;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_asks_for_a_home_test_and_follows_it_to_resolved() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let team = set("team", "t1", json!({"name": "上门专班"}));
    server.push(vec![team]).await;

    // The coordinator turns requests on, then watches the ledger.
    let coordinator = Browser::start().await;
    coordinator.open(&format!("{}/", server.url)).await;
    coordinator
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    coordinator.tap("area-accounts").await;
    // The box is enabled once the switch has been read from the server.
    let mut tries = 0;
    while !coordinator
        .find("help-switch")
        .await
        .is_enabled()
        .await
        .unwrap()
    {
        tries += 1;
        assert!(tries < 100, "the switch never loaded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    coordinator.tap("help-switch").await;
    let resident = Browser::start().await;
    let building = format!("{}/r/yongan/3", server.url);
    // The switch reaches the server: the page offers the form.
    let mut tries = 0;
    loop {
        resident.open(&building).await;
        if resident.shows("help-form").await {
            break;
        }
        tries += 1;
        assert!(tries < 50, "the building page never offered the form");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The ledger, reached in the app (no reload from here on).
    coordinator.tap("app-name").await;
    coordinator.tap("area-ledgers").await;
    coordinator.tap("sync-now").await;
    coordinator.find("needs-empty").await;

    // The resident, on building 3's page, asks for a test at home.
    REQUEST.fill(&resident).await;
    resident.scroll_to("help-form").await;
    resident.screenshot("help-form-zh").await;
    resident.tap("help-send").await;
    resident
        .expect_text("ticket-status", "已收到，等待社区回电")
        .await;
    resident
        .expect_text("ticket-category", "上门核酸检测")
        .await;
    let ticket = resident.path().await;
    assert!(ticket.starts_with("/h/"), "{ticket}");
    resident.screenshot("help-ticket-zh").await;
    assert_nothing_personal(&resident.page_source().await);

    // The coordinator's open ledger shows it without a reload, first, with
    // the count on the menu.
    coordinator
        .expect_text_starting("need-row", "上门核酸 · 3 · 2 · 701")
        .await;
    coordinator.find("need-resident").await;
    coordinator.find("need-awaits-call").await;
    coordinator
        .expect_text("help-waiting", "1 条求助待回电")
        .await;
    coordinator.tap("need-row").await;
    coordinator
        .expect_text("need-request-phone", REQUEST.phone)
        .await;
    coordinator
        .expect_text("need-request-name", REQUEST.name)
        .await;
    coordinator.tap("need-call-back").await;
    coordinator.expect_text("need-status", "已回电").await;
    coordinator.choose("need-team", 1).await;
    coordinator.tap("need-assign").await;
    coordinator.expect_text("need-status", "已分派").await;
    coordinator.fill("need-note", "已上门采样").await;
    coordinator.tap("need-resolve").await;
    coordinator.expect_text("need-status", "已解决").await;
    coordinator.sync_everything().await;
    assert!(!coordinator.shows("help-waiting").await, "nobody waits now");
    coordinator.tap("app-name").await;
    coordinator.tap("area-dashboard").await;
    coordinator.find("call-back-median").await;
    coordinator.expect_text("call-back-waiting", "0").await;

    // The ticket follows it; the public pages still name nobody.
    resident.open(&format!("{}{ticket}", server.url)).await;
    resident.expect_text("ticket-status", "已解决").await;
    assert_nothing_personal(&resident.page_source().await);
    resident.open(&building).await;
    assert_nothing_personal(&resident.page_source().await);
    resident.close().await;
    coordinator.close().await;
}

fn assert_nothing_personal(page: &str) {
    for private in [REQUEST.phone, REQUEST.name, "701", "膝盖", "已上门采样"] {
        assert!(!page.contains(private), "{private} on a public page");
    }
}
