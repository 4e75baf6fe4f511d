//! Two volunteers' phones (separate Chromium profiles) edit the same
//! household while the server is down, then sync: different fields both
//! survive; the same field converges on the later value, and the phone whose
//! value lost shows it as a conflict. Online, one phone's edit shows on the
//! other within seconds, with no tap (the live stream's poke).

use std::time::{Duration, Instant};

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer};

async fn join_compound(phone: &Browser, server: &TestServer) {
    phone.open(&format!("{}/visits", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.find("add-household").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_two_phones_merge_per_field() {
    let mut server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let a = Browser::start().await;
    let b = Browser::start().await;
    join_compound(&a, &server).await;
    join_compound(&b, &server).await;

    // A registers a household; B receives it.
    a.tap("add-household").await;
    a.fill("field-building", "3").await;
    a.fill("field-door", "301").await;
    a.fill("field-head", "王芳").await;
    a.save_household().await;
    a.sync_everything().await;
    let household = a.path().await;
    assert!(household.starts_with("/households/"), "{household}");

    b.sync_everything().await;
    b.tap("household-row").await;
    b.tap("edit-household").await;
    b.expect_value("field-head", "王芳").await;
    assert_eq!(b.path().await, household);

    // The network goes away. Each phone edits a different field.
    server.stop().await;
    a.fill("field-phone", "13800000001").await;
    a.save_household().await;
    b.fill("field-notes", "独居老人").await;
    b.save_household().await;
    for phone in [&a, &b] {
        phone.tap("sync-now").await;
        phone.find("sync-problem").await;
        phone.expect_text("sync-pending", "待上传 1").await;
    }

    // Back online: both fields survive on both phones.
    server.restart().await;
    a.sync_everything().await;
    b.sync_everything().await;
    a.sync_everything().await;
    for phone in [&a, &b] {
        phone.expect_value("field-phone", "13800000001").await;
        phone.expect_value("field-notes", "独居老人").await;
        phone.expect_value("field-head", "王芳").await;
    }

    // Offline again, both change the head of household; B's edit is later.
    server.stop().await;
    a.fill("field-head", "张三").await;
    a.save_household().await;
    b.fill("field-head", "李四").await;
    b.save_household().await;
    server.restart().await;
    a.sync_everything().await;
    b.sync_everything().await;
    a.sync_everything().await;
    for phone in [&a, &b] {
        phone.expect_value("field-head", "李四").await;
    }
    // A's value lost, and A is told so rather than losing it silently.
    a.find("conflict-head").await;
    a.expect_text("conflict-mine", "张三").await;
    a.scroll_to("conflict-head").await;
    a.screenshot("conflict-zh").await;

    a.close().await;
    b.close().await;
}

/// Far below the 30 s poll: only a poke brings an edit over this fast.
const LIVE: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_on_one_phone_shows_on_the_other_without_a_tap() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let a = Browser::start().await;
    let b = Browser::start().await;
    join_compound(&a, &server).await;
    join_compound(&b, &server).await;
    // Twice: one edit might meet B's periodic poll by chance, two cannot.
    for (count, door) in [(1, "301"), (2, "302")] {
        a.open(&format!("{}/visits", server.url)).await;
        a.tap("add-household").await;
        a.fill("field-building", "3").await;
        a.fill("field-door", door).await;
        a.save_household().await;
        a.expect_text("sync-pending", "已全部上传").await;
        let sent = Instant::now();
        let shown = b
            .eval_until(
                "return document.querySelectorAll('[data-testid=household-row]').length;",
                &format!("value >= {count}"),
                LIVE,
            )
            .await;
        assert_eq!(
            shown,
            serde_json::json!(count),
            "door {door} reached B within {LIVE:?} of being sent"
        );
        eprintln!("door {door}: on B {:?} after A sent it", sent.elapsed());
    }
    a.close().await;
    b.close().await;
}

/// A save followed at once by a tap on 立即同步 is one request: the round
/// the tap starts takes the save, so the save's own sync, due 800 ms after
/// it, starts no second round (`app/src/sync/runner.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_then_a_tap_on_sync_is_one_request() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let phone = Browser::start().await;
    join_compound(&phone, &server).await;
    phone.sync_everything().await;
    // The sign-in's own rounds are over.
    tokio::time::sleep(Duration::from_secs(2)).await;

    phone.tap("add-household").await;
    phone.fill("field-building", "3").await;
    phone.fill("field-door", "301").await;
    phone
        .eval_async("performance.clearResourceTimings(); done(null);")
        .await;
    phone.save_household().await;
    phone.sync_everything().await;
    // Past the save's own sync, were it to run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let requests = phone
        .eval_async(
            "done(performance.getEntriesByType('resource') \
               .filter(entry => new URL(entry.name).pathname === '/api/sync').length);",
        )
        .await;
    assert_eq!(requests, serde_json::json!(1), "requests to /api/sync");
    phone.close().await;
}
