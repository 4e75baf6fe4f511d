//! Issue 19, item 7: a refused edit must not keep showing as the record's
//! value. A volunteer whose phone may see the key-persons ledger records,
//! offline, a household member in 居家隔离; meanwhile the coordinator
//! withdraws the phone's key-persons grant. Back online, the server refuses
//! that member (`forbidden`) and takes the other one: the phone stops showing
//! 居家隔离 (also after a reload), keeps the accepted member, and its one
//! status line says that an edit was refused, never "已全部上传" alone.

use std::time::{Duration, Instant};

use doorstep_core::schema::Collection;
use doorstep_tests::{Browser, TestServer, seed::set};
use serde_json::{Value, json};

/// The household's member rows as the page shows them, sorted (a
/// person's id, which orders them, is random).
async fn member_rows(phone: &Browser) -> Value {
    phone
        .client
        .execute(
            // Who and what each row says, not its buttons (无法出门).
            r#"return [...document.querySelectorAll('[data-testid="member-row"]')]
                 .map(r => [...r.querySelectorAll('.row-title, .row-detail')]
                     .map(s => s.innerText).join(" ").replace(/\s+/g, " ").trim()).sort();"#,
            vec![],
        )
        .await
        .unwrap()
}

/// Waits until the member rows are `expected`.
async fn expect_members(phone: &Browser, expected: Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = member_rows(phone).await;
        if rows == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "member rows are {rows}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The sync bar's line and the refusals it counts.
async fn sync_line(phone: &Browser) -> (String, String) {
    let line = phone.find("sync-pending").await;
    (
        line.text().await.unwrap_or_default(),
        line.attr("data-refused")
            .await
            .ok()
            .flatten()
            .unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_persons_edit_stops_showing_once_refused() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    server
        .push(vec![
            set("team", "T1", json!({"name": "一队"})),
            set("round", "R1", json!({"name": "第一轮"})),
            set(
                "assignment",
                "A1",
                json!({"round": "R1", "building": "1", "team": "T1"}),
            ),
            set(
                "household",
                "h1",
                json!({"building": "1", "door": "101", "head": "周伟"}),
            ),
        ])
        .await;

    // The coordinator invites a volunteer of 一队 who may see key persons.
    let coordinator = Browser::start().await;
    coordinator.open(&format!("{}/", server.url)).await;
    coordinator
        .sign_in(
            &server
                .invite("yongan", doorstep_core::access::Role::Coordinator, None)
                .await,
        )
        .await;
    coordinator.tap("area-accounts").await;
    coordinator.tap("invite-role-volunteer").await;
    coordinator.choose("invite-team", 1).await;
    coordinator.tap("invite-key-persons").await;
    coordinator.tap("invite-create").await;
    coordinator.find("invite-qr").await;
    let code = coordinator.find("invite-code").await.text().await.unwrap();

    let volunteer = Browser::start().await;
    volunteer.open(&format!("{}/", server.url)).await;
    volunteer.fill("join-label", "王芳的手机").await;
    volunteer.sign_in(&code).await;
    volunteer.find("area-visits").await;
    volunteer.sync_everything().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !volunteer
        .stored("records")
        .await
        .iter()
        .any(|(key, _)| key == "household/h1")
    {
        assert!(
            Instant::now() < deadline,
            "household h1 never reached the phone"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // She opens the household's people: with the grant, the key-persons
    // field is offered.
    volunteer
        .open(&format!("{}/households/h1", server.url))
        .await;
    volunteer.find("member-key").await;
    expect_members(&volunteer, json!([])).await;

    // The phone goes offline (its calls to the server fail), and she records two
    // people: one in 居家隔离 (restricted), one in need of care.
    volunteer.lose_server().await;
    volunteer.fill("member-name", "周强").await;
    volunteer
        .find("member-key")
        .await
        .select_by_value("home_isolation")
        .await
        .unwrap();
    volunteer.tap("add-member").await;
    expect_members(&volunteer, json!(["周强 居家隔离"])).await;
    volunteer.fill("member-name", "周奶奶").await;
    volunteer
        .find("member-care")
        .await
        .select_by_value("elderly_alone")
        .await
        .unwrap();
    volunteer.tap("add-member").await;
    expect_members(
        &volunteer,
        json!(["周奶奶 独居/80岁以上老人", "周强 居家隔离"]),
    )
    .await;
    volunteer.expect_text("sync-pending", "待上传 2").await;

    // Meanwhile the coordinator withdraws the phone's key-persons grant.
    coordinator.tap("app-name").await;
    coordinator.tap("area-accounts").await;
    let grant = coordinator
        .eval_until(
            r#"const b = [...document.querySelectorAll('[data-testid^="grant-"]')]
                 .find(b => b.closest('[data-testid="device-row"]').textContent.includes("王芳的手机"));
               return b ? [b.dataset.testid, b.checked] : null;"#,
            "value !== null",
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(grant[1], json!(true), "the invite gave the grant: {grant}");
    let grant = grant[0].as_str().unwrap().to_owned();
    coordinator.tap(&grant).await;
    let withdrawn = coordinator
        .eval_until(
            &format!(
                r#"const b = document.querySelector('[data-testid="{grant}"]');
                   return b ? b.checked : null;"#
            ),
            "value === false",
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(withdrawn, json!(false), "the grant box stays ticked");
    // Give the list time to come back from the server with the change.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let still = coordinator
        .eval_until(
            &format!(
                r#"const b = document.querySelector('[data-testid="{grant}"]');
                   return b ? b.checked : null;"#
            ),
            "value === false",
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(still, json!(false), "the server kept the grant");

    // Back online, the phone syncs: the server takes 周奶奶 and refuses 周强.
    volunteer.regain_server().await;
    volunteer.tap("sync-now").await;
    volunteer
        .expect_text("sync-pending", "已上传，其中 1 条被服务器拒绝")
        .await;
    volunteer.expect_text("sync-now", "立即同步").await;
    let people = || async {
        let mut names: Vec<(Option<Value>, Option<Value>)> = server
            .records("yongan", Collection::Person)
            .await
            .into_iter()
            .map(|p| (p.named("name").cloned(), p.named("key_status").cloned()))
            .collect();
        names.sort_by_key(|(name, _)| name.as_ref().map(Value::to_string));
        names
    };
    assert_eq!(
        people().await,
        vec![(Some(json!("周奶奶")), None)],
        "the server holds only the accepted member"
    );

    // The refused member no longer shows as the household's: no 居家隔离.
    expect_members(&volunteer, json!(["周奶奶 独居/80岁以上老人"])).await;
    let text = volunteer.visible_text().await;
    assert!(
        !text.contains("居家隔离"),
        "the page still shows 居家隔离:\n{text}"
    );
    assert!(
        !text.contains("已全部上传"),
        "the page says all was sent:\n{text}"
    );
    let (line, refused) = sync_line(&volunteer).await;
    assert_eq!(
        (line.as_str(), refused.as_str()),
        ("已上传，其中 1 条被服务器拒绝", "1")
    );
    // Nor does it stay in the phone's IndexedDB as the record's value.
    let stored = volunteer.stored("records").await;
    let restricted: Vec<_> = stored
        .iter()
        .filter(|(key, value)| {
            key.starts_with("person/") && value.to_string().contains("home_isolation")
        })
        .collect();
    assert!(restricted.is_empty(), "IndexedDB keeps {restricted:?}");
    assert_eq!(volunteer.stored_count("outbox").await, 0);

    volunteer.scroll_to("member-row").await;
    volunteer.screenshot("refused-value-members").await;
    volunteer
        .client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    volunteer.screenshot("refused-value-sync-bar").await;

    // A reload reads the same from IndexedDB, and a later sync brings no
    // 居家隔离 back.
    volunteer.reload().await;
    volunteer.find("sync-pending").await;
    expect_members(&volunteer, json!(["周奶奶 独居/80岁以上老人"])).await;
    volunteer.tap("sync-now").await;
    // Let that sync run before looking.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    volunteer.expect_text("sync-now", "立即同步").await;
    assert!(!volunteer.shows("sync-problem").await, "the sync failed");
    volunteer
        .expect_text("sync-pending", "已上传，其中 1 条被服务器拒绝")
        .await;
    expect_members(&volunteer, json!(["周奶奶 独居/80岁以上老人"])).await;
    let text = volunteer.visible_text().await;
    assert!(!text.contains("居家隔离"), "after a reload:\n{text}");
    // Without the grant, the key-persons field is no longer offered.
    assert!(
        !volunteer.shows("member-key").await,
        "the phone still offers the key-persons field"
    );
    // Nor does the ledgers page show 居家隔离 anywhere.
    volunteer.open(&format!("{}/ledgers", server.url)).await;
    let care = volunteer
        .eval_until(
            r#"const l = document.querySelector('[data-testid="care-ledger"]');
               return l ? l.innerText : "";"#,
            r#"value.includes("周奶奶")"#,
            Duration::from_secs(20),
        )
        .await;
    assert!(
        care.as_str().unwrap_or_default().contains("周奶奶"),
        "{care}"
    );
    let text = volunteer.visible_text().await;
    assert!(!text.contains("居家隔离"), "the ledgers page:\n{text}");
    assert!(!text.contains("周强"), "the ledgers page:\n{text}");

    coordinator.close().await;
    volunteer.close().await;
}
