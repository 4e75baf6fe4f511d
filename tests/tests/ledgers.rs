//! The care, key-persons and purchase ledgers, filled from a household's page.

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer, seed::set};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_and_purchases_land_in_their_ledgers() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let household = set(
        "household",
        "h1",
        json!({"building": "9", "door": "901", "head": "周伟"}),
    );
    server.push(vec![household]).await;
    let phone = Browser::start().await;
    phone.open(&format!("{}/visits", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.tap("sync-now").await;
    phone.find("building-9").await;
    phone.open(&format!("{}/households/h1", server.url)).await;

    phone.fill("member-name", "周奶奶").await;
    phone
        .find("member-care")
        .await
        .select_by_value("elderly_alone")
        .await
        .unwrap();
    phone.fill("member-plan", "每日电话问候，每周上门").await;
    phone.tap("add-member").await;
    phone.fill("member-name", "周强").await;
    phone
        .find("member-key")
        .await
        .select_by_value("home_isolation")
        .await
        .unwrap();
    phone.tap("add-member").await;
    phone.fill("purchase-items", "降压药").await;
    phone.fill("purchase-amount", "23.5").await;
    phone.tap("add-purchase").await;
    phone
        .expect_text_starting("purchase-row", "降压药 · ¥23.50")
        .await;
    phone.tap("settle").await;
    phone
        .expect_text("purchase-row", "降压药 · ¥23.50\n已结清")
        .await;

    phone.open(&format!("{}/ledgers", server.url)).await;
    phone
        .expect_text_starting("care-ledger", "9 · 901 周奶奶")
        .await;
    phone
        .expect_text_starting("key-ledger", "9 · 901 周强")
        .await;
    phone
        .expect_text_starting("purchase-ledger", "9 · 901 降压药 · ¥23.50")
        .await;
    phone.scroll_to("care-ledger").await;
    phone.screenshot("ledgers-zh").await;
    phone.close().await;
}
