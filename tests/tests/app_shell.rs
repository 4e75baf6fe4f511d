//! The installable shell, as a volunteer meets it: Chinese first, English one
//! tap away, and still there when the server is gone.

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_is_chinese_switches_to_english_and_loads_offline() {
    let mut server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let browser = Browser::start().await;

    // 1. The Chinese home page: sign in first, then the work areas.
    browser.open(&format!("{}/", server.url)).await;
    browser.expect_text("home-heading", "今天做什么？").await;
    browser.screenshot("sign-in-zh").await;
    browser
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    browser
        .expect_text("area-visits", "走访\n逐楼逐户：一测二问三看")
        .await;
    browser.expect_text("connectivity", "在线").await;
    let shot = browser.screenshot("home-zh").await;
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 1000,
        "screenshot is not empty"
    );

    // 2. English, one tap away.
    browser.tap("locale-toggle").await;
    browser
        .expect_text("home-heading", "What are we doing today?")
        .await;
    browser.expect_text("locale-toggle", "中文").await;

    // The ledgers area opens (empty on a new phone).
    browser.tap("area-ledgers").await;
    browser.expect_text("page-title", "Ledgers").await;
    browser.find("needs-empty").await;

    // 3. The service worker has precached the shell.
    browser.wait_for_service_worker().await;

    // 4. The server goes away; the phone reloads.
    server.stop().await;
    browser.reload().await;

    // 5. The app is still there, still in English, on the same route.
    browser.expect_text("page-title", "Ledgers").await;
    browser.expect_text("locale-toggle", "中文").await;
    browser.screenshot("ledgers-offline-en").await;

    browser.close().await;
}
