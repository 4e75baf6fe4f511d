//! Accounts in the browser: a coordinator invites a volunteer for a team,
//! a second phone redeems the code and holds only the team's building; when
//! the team's building changes or its round ends, the next sync removes the
//! old building's households from the phone's IndexedDB; an edit made there
//! after the move is refused, and the coordinator adopts it; a revoked phone
//! keeps its outbox.

use std::time::{Duration, Instant};

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer, seed::set};
use serde_json::{Value, json};

/// The household records in the phone's IndexedDB, by key.
async fn stored_households(phone: &Browser) -> Value {
    let mut keys: Vec<String> = phone
        .stored("records")
        .await
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| key.starts_with("household/"))
        .collect();
    keys.sort();
    json!(keys)
}

async fn expect_households(phone: &Browser, expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let expected = json!(expected);
    loop {
        let stored = stored_households(phone).await;
        if stored == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "IndexedDB holds {stored}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_volunteer_holds_only_the_teams_building() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    server
        .push(vec![
            set("team", "T1", json!({"name": "一队"})),
            set("team", "T2", json!({"name": "二队"})),
            set("round", "R1", json!({"name": "第一轮"})),
            set(
                "assignment",
                "A1",
                json!({"round": "R1", "building": "1", "team": "T1"}),
            ),
            set(
                "assignment",
                "A2",
                json!({"round": "R1", "building": "2", "team": "T2"}),
            ),
            set(
                "household",
                "h1",
                json!({"building": "1", "door": "101", "head": "王芳"}),
            ),
            set(
                "household",
                "h2",
                json!({"building": "1", "door": "102", "head": "李娜"}),
            ),
            set(
                "household",
                "h3",
                json!({"building": "2", "door": "201", "head": "张伟"}),
            ),
        ])
        .await;

    // The coordinator makes a single-use volunteer invite for team 一队.
    let coordinator = Browser::start().await;
    coordinator.open(&format!("{}/", server.url)).await;
    coordinator
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    coordinator.tap("area-accounts").await;
    coordinator.tap("invite-role-volunteer").await;
    coordinator.choose("invite-team", 1).await;
    coordinator.tap("invite-create").await;
    coordinator.find("invite-qr").await;
    let code = coordinator.find("invite-code").await.text().await.unwrap();
    coordinator.screenshot("accounts-invite").await;

    // A second phone types the code.
    let volunteer = Browser::start().await;
    volunteer.open(&format!("{}/", server.url)).await;
    volunteer.fill("join-label", "王芳的手机").await;
    volunteer.sign_in(&code).await;
    volunteer.find("area-visits").await;
    volunteer.tap("sync-now").await;
    expect_households(&volunteer, &["household/h1", "household/h2"]).await;
    volunteer.tap("area-visits").await;
    volunteer.expect_text_starting("household-row", "1").await;
    volunteer.screenshot("volunteer-building-1").await;

    // The team moves to building 2: building 1 leaves the phone.
    // The volunteer's phone is offline (its calls to the server fail) and edits a
    // household of building 1 after the move: once synced, the edit is
    // refused (the coordinator adopts it below).
    volunteer.lose_server().await;
    server
        .push(vec![set("assignment", "A1", json!({"building": "2"}))])
        .await;
    volunteer.tap("household-row").await;
    volunteer.tap("edit-household").await;
    volunteer.fill("field-head", "王芳（独居）").await;
    volunteer.tap("save-household").await;
    volunteer.expect_text("save-status", "已保存在本机").await;
    volunteer.regain_server().await;
    volunteer.tap("sync-now").await;
    expect_households(&volunteer, &["household/h3"]).await;
    volunteer.tap("app-name").await;
    volunteer.tap("area-visits").await;

    // The coordinator ends round 1 (the visits page opens in it): nothing
    // is left on the volunteer's phone. A new round gives the team
    // building 1 again.
    coordinator.tap("app-name").await;
    coordinator.tap("area-visits").await;
    // Every confirm dialog is accepted from here on, on this page and on
    // every page loaded after it (the coordinator's pages below are the
    // manage bundle's: opening one is a page load).
    const ACCEPT: &str = "window.confirm = () => true;";
    coordinator
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": ACCEPT }),
        )
        .await;
    coordinator
        .eval_async(&format!("{ACCEPT} done(null);"))
        .await;
    coordinator.expect_text("end-round", "结束本轮").await;
    coordinator.tap("end-round").await;
    coordinator.expect_text("end-round", "重新开启本轮").await;
    coordinator.screenshot("round-ended").await;
    coordinator.sync_everything().await;
    volunteer.tap("sync-now").await;
    expect_households(&volunteer, &[]).await;
    coordinator.tap("new-round").await;
    coordinator.expect_text("end-round", "结束本轮").await;
    coordinator.choose("assign-team", 1).await;
    coordinator.sync_everything().await;
    volunteer.tap("sync-now").await;
    expect_households(&volunteer, &["household/h1", "household/h2"]).await;
    // The volunteer's phone works in the new round; the ended one is gone
    // from its choices.
    let rounds = volunteer
        .eval_until(
            r#"const s = document.querySelector('[data-testid="work-round"]');
               return s ? [...s.options].map(o => o.text + (o.selected ? " *" : "")) : [];"#,
            r#"value.includes("第2轮 *")"#,
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(rounds, json!(["（未选择）", "第2轮 *"]));

    // The coordinator finds the refused edit and adopts it: the server's
    // household then holds what the volunteer entered.
    coordinator.tap("app-name").await;
    coordinator.tap("area-accounts").await;
    coordinator.tap("refused-link").await;
    coordinator
        .eval_until(
            r#"const row = document.querySelector('[data-testid="refused-row"][data-record="h1"]');
               return row ? row.textContent : "";"#,
            r#"value.includes("head=王芳（独居）")"#,
            Duration::from_secs(20),
        )
        .await;
    coordinator.tap("refused-adopt").await;
    coordinator
        .expect_text("refused-state", "已采纳，等待同步")
        .await;
    coordinator.screenshot("refused-edits").await;
    coordinator.sync_everything().await;
    let head = || async {
        server
            .records("yongan", doorstep_core::schema::Collection::Household)
            .await
            .into_iter()
            .find(|h| h.id.as_str() == "h1")
            .and_then(|h| h.named("head").cloned())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while head().await != Some(json!("王芳（独居）")) {
        assert!(Instant::now() < deadline, "h1's head is {:?}", head().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A stall invite that leaks is cancelled from the list: its row goes,
    // and its code signs nobody in.
    coordinator.tap("app-name").await;
    coordinator.tap("area-accounts").await;
    coordinator.tap("invite-role-stall").await;
    coordinator.tap("invite-create").await;
    let leaked = coordinator.find("invite-code").await.text().await.unwrap();
    let cancel = coordinator
        .eval_until(
            r#"const b = document.querySelector('[data-testid^="invite-revoke-"]');
               return b ? b.dataset.testid : null;"#,
            "value !== null",
            Duration::from_secs(20),
        )
        .await;
    coordinator.tap(cancel.as_str().unwrap()).await;
    coordinator
        .eval_until(
            r#"return document.querySelectorAll('[data-testid="invite-row"]').length;"#,
            "value === 0",
            Duration::from_secs(20),
        )
        .await;
    let refused = coordinator
        .eval_async(&format!(
            r#"fetch("/api/redeem", {{method: "POST", headers: {{"content-type": "application/json"}},
                 body: JSON.stringify({{code: "{leaked}", label: "x"}})}})
               .then(r => r.json().then(j => done([r.status, j.code])));"#
        ))
        .await;
    assert_eq!(refused, json!([401, "invalid_code"]));

    // The coordinator sees the phone and revokes it; its next sync is
    // refused and says so, and what it had not sent stays on it.
    coordinator.find("device-list").await;
    coordinator.screenshot("accounts-devices").await;
    // Its own phone is marked, and offers no revoke.
    let own = coordinator
        .eval_async(
            r#"const rows = [...document.querySelectorAll('[data-testid="device-row"]')]
                 .filter(r => r.querySelector('[data-testid="this-device"]'));
               done(rows.map(r => r.querySelector('[data-testid^="revoke-"]') === null));"#,
        )
        .await;
    assert_eq!(own, json!([true]), "one row is this phone, without revoke");
    let revoke = coordinator
        .eval_until(
            r#"const b = [...document.querySelectorAll('[data-testid^="revoke-"]')]
                 .find(b => b.closest('[data-testid="device-row"]').textContent.includes("王芳的手机"));
               return b ? b.dataset.testid : null;"#,
            "value !== null",
            Duration::from_secs(20),
        )
        .await;
    let revoke = revoke.as_str().unwrap_or_default().to_owned();
    if !revoke.starts_with("revoke-") {
        let list = coordinator.find("device-list").await.text().await;
        panic!("no revoke button for 王芳的手机; the device list: {list:?}");
    }
    coordinator.tap(&revoke).await;
    volunteer
        .open(&format!("{}/households/h1", server.url))
        .await;
    volunteer.fill("field-head", "王芳（已搬走）").await;
    volunteer.tap("save-household").await;
    volunteer.expect_text("save-status", "已保存在本机").await;
    volunteer.tap("sync-now").await;
    volunteer.find("sync-problem").await;
    volunteer.find("unsent").await;
    let outbox = volunteer.stored_count("outbox").await;
    assert_eq!(outbox, 1, "the unsent edit stays on the revoked phone");
    volunteer.screenshot("volunteer-revoked").await;

    coordinator.close().await;
    volunteer.close().await;
}
