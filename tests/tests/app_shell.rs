//! The installable shell, as a volunteer meets it: Chinese first, English one
//! tap away, and still there when the server is gone.

use std::path::Path;

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer, server::dist_dir};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_is_chinese_switches_to_english_and_loads_offline() {
    let mut server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let browser = Browser::start().await;

    // 1. The Chinese home page: sign in first, then the work areas. Until
    // the app starts, the page's own HTML says it is loading; the app
    // takes its place.
    let index = std::fs::read_to_string(dist_dir().join("index.html")).unwrap();
    assert!(index.contains("<div id=\"boot\">") && index.contains("正在加载"));
    browser.open(&format!("{}/", server.url)).await;
    browser.expect_text("home-heading", "今天做什么？").await;
    let placeholder = browser
        .eval_async("done(document.getElementById('boot') !== null);")
        .await;
    assert_eq!(placeholder, json!(false), "the placeholder is gone");
    // A new phone's first screen loads neither the sync round nor the
    // backup panel (app/src/split.rs): they come with signing in.
    // Watched for 2 s, long enough for the sync runner to have started.
    assert_eq!(
        split_chunks_loaded(&browser, "value.length > 0", 2).await,
        json!([])
    );
    browser.screenshot("sign-in-zh").await;
    browser
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    browser
        .expect_text("area-visits", "走访\n逐楼逐户：一测二问三看")
        .await;
    let after = split_chunks_loaded(
        &browser,
        "value.includes('sync') && value.includes('backup')",
        10,
    )
    .await;
    assert!(
        after.as_array().unwrap().contains(&json!("sync"))
            && after.as_array().unwrap().contains(&json!("backup")),
        "signed in, the sync round and the backup panel load: {after}"
    );
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

    // 3. The service worker has precached the shell, and keeps the manage
    // bundle too on a coordinator's phone.
    browser.wait_for_service_worker().await;
    browser.expect_cached("/index.html").await;
    browser.expect_cached("/manage/index.html").await;

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

/// A volunteer's phone keeps the field bundle and never downloads the
/// coordinator's pages (public/sw.js); offline, a link to one of them says
/// it needs a connection, with the way home.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volunteers_phone_keeps_only_the_field_bundle() {
    let mut server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let browser = Browser::start().await;
    browser.open(&format!("{}/", server.url)).await;
    browser
        .sign_in(&server.invite("yongan", Role::Volunteer, Some("T1")).await)
        .await;
    browser.find("area-visits").await;
    browser.wait_for_service_worker().await;
    browser.expect_cached("/index.html").await;
    // Time for a request to keep the manage bundle, were one sent.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let cached = browser.cached_paths().await;
    assert!(
        cached
            .iter()
            .any(|p| p.ends_with("_bg.wasm") && !p.starts_with("/manage/")),
        "the field bundle is kept: {cached:?}"
    );
    let manage: Vec<&String> = cached
        .iter()
        .filter(|p| p.starts_with("/manage/"))
        .collect();
    assert!(manage.is_empty(), "a volunteer keeps {manage:?}");

    server.stop().await;
    browser
        .open(&format!("{}/manage/accounts", server.url))
        .await;
    browser
        .expect_text(
            "page-not-kept",
            "此页面需要联网打开一次。\nThis page needs a connection once.",
        )
        .await;
    browser.screenshot("page-not-kept-zh").await;
    browser.close().await;
}

/// The split points whose chunks the page has fetched (`split_sync-….wasm`
/// is `sync`), once `ready` holds of them (`value`) or `patience_s` seconds
/// have passed.
async fn split_chunks_loaded(browser: &Browser, ready: &str, patience_s: u64) -> serde_json::Value {
    browser
        .eval_until(
            "return performance.getEntriesByType('resource') \
               .map(entry => new URL(entry.name).pathname) \
               .filter(path => path.startsWith('/chunks/split_')) \
               .map(path => path.slice('/chunks/split_'.length).replace(/-[0-9a-f]+\\.wasm$/, ''));",
            ready,
            std::time::Duration::from_secs(patience_s),
        )
        .await
}

/// The coordinator's pages are the manage bundle's alone (app/src/bundle.rs):
/// each page's own `data-testid` is in one bundle's WASM and not the
/// other's. The field bundle's pages past the home page are split chunks
/// (app/src/split.rs, `dist/chunks/`), not its main module.
#[test]
fn the_field_bundle_leaves_the_coordinators_pages_out() {
    fn wasm_in(dir: &Path) -> Vec<Vec<u8>> {
        let modules: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .map(|path| std::fs::read(path).unwrap())
            .collect();
        assert!(!modules.is_empty(), "no WASM module in {}", dir.display());
        modules
    }
    let has = |modules: &[Vec<u8>], marker: &str| {
        modules.iter().any(|module| {
            module
                .windows(marker.len())
                .any(|window| window == marker.as_bytes())
        })
    };
    let dist = dist_dir();
    let (main, chunks, manage) = (
        wasm_in(&dist),
        wasm_in(&dist.join("chunks")),
        wasm_in(&dist.join("manage")),
    );
    assert_eq!(main.len(), 1, "one main module at the top of dist/");
    let field = [main, chunks].concat();
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
