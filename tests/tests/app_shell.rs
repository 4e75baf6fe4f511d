//! The installable shell, as a volunteer meets it: Chinese first, English one
//! tap away, and still there when the server is gone.

use std::path::Path;

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer, server::dist_dir};

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

    // 6. Offline too, the coordinator's pages (the manage bundle, a full
    // page load away) open from the cache, and the way back is one tap.
    browser.tap("app-name").await;
    browser.tap("area-accounts").await;
    browser
        .expect_text("page-title", "Accounts and devices")
        .await;
    assert_eq!(browser.path().await, "/manage/accounts");
    browser.tap("app-name").await;
    browser.find("area-visits").await;
    assert_eq!(browser.path().await, "/");

    browser.close().await;
}

/// The coordinator's pages are the manage bundle's alone (app/src/bundle.rs):
/// each page's own `data-testid` is in one WASM module and not the other.
#[test]
fn the_field_bundle_leaves_the_coordinators_pages_out() {
    fn wasm_in(dir: &Path) -> Vec<u8> {
        let module = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.to_string_lossy().ends_with("_bg.wasm"))
            .unwrap_or_else(|| panic!("no WASM module in {}", dir.display()));
        std::fs::read(module).unwrap()
    }
    let has = |module: &[u8], marker: &str| {
        module
            .windows(marker.len())
            .any(|window| window == marker.as_bytes())
    };
    let dist = dist_dir();
    let (field, manage) = (wasm_in(&dist), wasm_in(&dist.join("manage")));
    // Accounts, dashboard, district, roster upload; then door and visits.
    for marker in [
        "invite-form",
        "coverage-chart",
        "district-chart",
        "roster-check",
    ] {
        assert!(
            has(&manage, marker),
            "{marker} missing from the manage bundle"
        );
        assert!(!has(&field, marker), "{marker} in the field bundle");
    }
    for marker in ["door-title", "add-household"] {
        assert!(
            has(&field, marker),
            "{marker} missing from the field bundle"
        );
        assert!(!has(&manage, marker), "{marker} in the manage bundle");
    }
}
