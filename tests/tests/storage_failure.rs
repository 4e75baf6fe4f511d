//! Storage fails under an open checklist: another tab (an updated copy of
//! the app) upgrades the database, so this page's connection closes itself.
//! "Save" then fails, and the volunteer is told so in Chinese, with what to
//! do; what they entered stays on the page, and the draft written before
//! the failure is still stored, so nothing is lost. No mock: a real
//! `indexedDB.open` with a higher version, as the other tab would.

use doorstep_core::{access::Role, mutation::Mutation, schema::Collection};
use doorstep_tests::{Browser, TestServer, seed::set};
use serde_json::{Value, json};

fn household(id: &str, door: &str, head: &str) -> Mutation {
    set(
        "household",
        id,
        json!({"building": "3", "unit": "1", "door": door, "head": head}),
    )
}

const CLOSED: &str =
    "本机存储已被浏览器或另一个页面关闭（数据被清除，或应用已更新），现在无法记录。请重新加载。";

fn drafts(meta: Vec<(String, Value)>) -> Vec<Value> {
    meta.into_iter()
        .filter(|(key, _)| key.starts_with("draft/"))
        .map(|(_, draft)| draft)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_checklist_save_says_why_and_keeps_what_was_entered() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    server
        .push(vec![
            household("h101", "101", "王芳"),
            household("h102", "102", "李强"),
        ])
        .await;
    let phone = Browser::start().await;
    phone.open(&format!("{}/visits", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.find("building-3").await;
    phone.tap("new-round").await;
    phone.fill("team-name", "一队").await;
    phone.tap("new-team").await;
    phone.choose("assign-team", 1).await;

    phone.tap("household-row").await;
    phone.expect_text("door-title", "3 · 1 · 101 · 王芳").await;
    phone.tap("outcome-visited").await;
    phone.fill("temperature", "36.8").await;
    phone.tap("health-normal").await;
    phone.tap("food-no").await;
    phone
        .expect_text("draft-status", "未保存的记录已暂存在本机")
        .await;

    // Another tab upgrades the database; ours closes itself so as not to
    // block it, and the shell says storage is closed.
    let upgraded = phone
        .eval_async(
            r#"const open = indexedDB.open("doorstep", 2);
               open.onsuccess = () => { open.result.close(); done(true); };
               open.onerror = () => done(String(open.error));"#,
        )
        .await;
    assert_eq!(
        upgraded,
        json!(true),
        "the other tab's upgrade went through"
    );
    phone.find("storage-closed").await;

    phone.scroll_to("save-next").await;
    phone.tap("save-next").await;
    phone.expect_text("checklist-error", CLOSED).await;
    // Said once at the top (with a reload button) and once by the form;
    // neither the failed save nor the sync repeats it.
    phone.expect_text_starting("storage-closed", CLOSED).await;
    assert!(!phone.shows("save-failed").await);
    assert!(!phone.visible_text().await.contains("未能同步"));
    phone.screenshot("checklist-storage-failed-zh").await;
    // Still on the same door, with what was entered, and the draft kept.
    phone.expect_text("door-title", "3 · 1 · 101 · 王芳").await;
    phone.expect_value("temperature", "36.8").await;
    let kept = drafts(phone.stored("meta").await);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["checklist"]["food_ok"], json!(false));
    assert_eq!(kept[0]["temperature"], json!("36.8"));
    assert!(
        phone
            .stored("outbox")
            .await
            .iter()
            .all(|(_, entry)| entry["pushed"]["mutation"]["args"]["collection"] != json!("visit")),
        "no visit was half-written"
    );
    assert!(server.records("yongan", Collection::Visit).await.is_empty());
    phone.close().await;
}
