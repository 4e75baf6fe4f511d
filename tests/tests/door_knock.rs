//! The door-knock flow: a volunteer offline in one building records a fever,
//! a "no food" look that raises a need, and a no-answer door, going door to
//! door with "save and next"; back online, it all reaches the server. Taps
//! not yet saved survive the page being closed (drafts in IndexedDB).

use doorstep_core::access::Role;
use doorstep_core::{mutation::Mutation, schema::Collection};
use std::time::{Duration, Instant};

use doorstep_tests::{Browser, PATIENCE, TestServer, seed::set};
use serde_json::{Value, json};

fn household(id: &str, door: &str, head: &str) -> Mutation {
    set(
        "household",
        id,
        json!({"building": "3", "unit": "1", "door": door, "head": head}),
    )
}

/// Waits until the phone's IndexedDB holds `count` checklist drafts and, if
/// `food_ok` is given, one of them has it.
async fn expect_drafts(phone: &Browser, count: usize, food_ok: Option<bool>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let drafts: Vec<Value> = phone
            .stored("meta")
            .await
            .into_iter()
            .filter(|(key, _)| key.starts_with("draft/"))
            .map(|(_, draft)| draft)
            .collect();
        let food = food_ok.is_none_or(|food| {
            drafts
                .iter()
                .any(|d| d["checklist"]["food_ok"] == json!(food))
        });
        if drafts.len() == count && food {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} drafts (food_ok {food_ok:?}), found {drafts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The id of the one team, which holds building 3.
async fn team_of_building(server: &TestServer) -> String {
    server.records("yongan", Collection::Team).await[0]
        .id
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_building_visited_offline_reaches_the_server() {
    let mut server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    server
        .push(vec![
            household("h101", "101", "王芳"),
            household("h102", "102", "李强"),
            household("h103", "103", "赵敏"),
            household("h104", "104", "钱进"),
            household("h105", "105", "孙悦"),
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
    // The coordinator assigns building 3 to the team for this round.
    phone.choose("assign-team", 1).await;
    phone.tap("sync-now").await;
    phone.expect_text("sync-pending", "已全部上传").await;

    phone.tap("household-row").await;
    phone.expect_text("door-title", "3 · 1 · 101 · 王芳").await;
    phone.tap("outcome-visited").await;
    phone.fill("temperature", "38.2").await;
    phone.find("fever").await;
    phone.tap("health-normal").await;
    phone.tap("food-no").await;
    phone
        .expect_text("draft-status", "未保存的记录已暂存在本机")
        .await;

    // The page closes before "save": every tap is still there.
    expect_drafts(&phone, 1, Some(false)).await;
    phone.reload().await;
    phone
        .expect_text("draft-status", "已恢复上次未保存的记录")
        .await;
    phone.expect_value("temperature", "38.2").await;
    let food = phone.find("food-no").await;
    assert!(
        food.attr("class")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("chosen"),
        "the restored checklist shows the empty kitchen"
    );

    server.stop().await;
    phone.tap("clothes-yes").await;
    phone.tap("bedding-yes").await;
    phone.scroll_to("save-next").await;
    phone.screenshot("checklist-zh").await;
    phone.tap("save-next").await;

    // "Save and next" moves to the next unvisited door.
    phone.expect_text("door-title", "3 · 1 · 102 · 李强").await;
    phone.tap("outcome-no_answer").await;
    phone.tap("save-next").await;
    phone.expect_text("door-title", "3 · 1 · 103 · 赵敏").await;
    // The door nobody answered is one to go back to; the others wait.
    phone
        .expect_text("unvisited", "本楼未走访： 1-104、1-105")
        .await;
    phone.expect_text("go-back", "还要再去： 1-102").await;
    // Core's rules, in the volunteer's language, saying what to do.
    phone.tap("save-next").await;
    phone
        .expect_text(
            "checklist-error",
            "请先选择敲门结果：已走访、无人应答、拒绝或需回访。",
        )
        .await;
    phone.tap("outcome-visited").await;
    phone.tap("swab-yes").await;
    phone.tap("save-next").await;
    phone
        .expect_text("checklist-error", "做了核酸采样，请填写试管编号。")
        .await;
    phone.screenshot("checklist-error-zh").await;
    phone.tap("swab-no").await;
    // Doors 103–105: answered, a temperature, all fine.
    for (door, head) in [("103", "赵敏"), ("104", "钱进"), ("105", "孙悦")] {
        phone
            .expect_text("door-title", &format!("3 · 1 · {door} · {head}"))
            .await;
        phone.tap("outcome-visited").await;
        phone.fill("temperature", "36.5").await;
        phone.tap("health-normal").await;
        phone.tap("save-next").await;
    }
    // The building is done: back to the list.
    phone.find("building-3").await;
    // Only answered doors count as visited: 102 is still to go back to.
    phone
        .expect_text("building-3", "3号楼 · 已走访 4/5 · 待再访 1")
        .await;
    phone.screenshot("visits-go-back-zh").await;
    phone.expect_text_starting("sync-pending", "待上传").await;
    expect_drafts(&phone, 0, None).await;

    server.restart().await;
    phone.tap("sync-now").await;
    phone.expect_text("sync-pending", "已全部上传").await;
    let visits = server.records("yongan", Collection::Visit).await;
    assert_eq!(visits.len(), 5);
    let fever = visits
        .iter()
        .find(|v| v.named("household") == Some(&json!("h101")))
        .unwrap();
    assert_eq!(fever.named("temperature_c"), Some(&json!(38.2)));
    assert_eq!(fever.named("food_ok"), Some(&json!(false)));
    let needs = server.records("yongan", Collection::Need).await;
    assert_eq!(needs.len(), 1, "the empty kitchen raised one need");
    assert_eq!(needs[0].named("category"), Some(&json!("food")));
    assert_eq!(
        server.records("yongan", Collection::NeedEvent).await.len(),
        1
    );

    // The need in the ledger: assigned, resolved, closed (销号).
    phone.open(&format!("{}/ledgers", server.url)).await;
    phone
        .expect_text_starting("need-row", "食品/生活物资 · 3 · 1 · 101 王芳")
        .await;
    phone.screenshot("needs-ledger-zh").await;
    phone.tap("need-row").await;
    // What it is, whose door, who raised it; only the lifecycle's next step.
    phone.expect_text("need-description", "家里缺少食物").await;
    phone
        .expect_text("need-household", "3 · 1 · 101 王芳")
        .await;
    assert!(
        phone
            .find("need-raised")
            .await
            .text()
            .await
            .unwrap()
            .ends_with("一队"),
        "raised by the visit's team"
    );
    phone.expect_text("need-actions", "分派").await;
    assert!(
        !phone.shows("need-close").await,
        "销号 is not offered on a need just collected"
    );
    // The team defaults to the one holding building 3.
    phone
        .expect_value("need-team", &team_of_building(&server).await)
        .await;
    phone.screenshot("need-zh").await;
    phone.tap("need-assign").await;
    phone.expect_text("need-status", "已分派").await;
    phone.fill("need-note", "已送米面油上门").await;
    phone.tap("need-resolve").await;
    phone.expect_text("need-status", "已解决").await;
    phone.tap("need-close").await;
    phone.expect_text("need-status", "已销号").await;
    phone.expect_text("need-resolution", "已送米面油上门").await;
    // Its history comes from the server's change log.
    phone.tap("sync-now").await;
    phone.expect_text("sync-pending", "已全部上传").await;
    phone.tap("show-history").await;
    let history = phone.find("history").await.text().await.unwrap();
    assert_eq!(
        history.matches("本机").count(),
        5,
        "the need and its four steps, all from this phone: {history}"
    );

    // The dashboard counts it all.
    phone
        .open(&format!("{}/manage/dashboard", server.url))
        .await;
    for (total, expected) in [
        ("teams", "1"),
        ("households_visited", "4"),
        ("needs_collected", "1"),
        ("needs_resolved", "1"),
        ("home_tests", "0"),
    ] {
        phone.expect_text(&format!("total-{total}"), expected).await;
    }
    phone.find("coverage-chart").await;
    // 已走访 counts answered doors only (4 of 5), like 走访户数.
    let team = phone.find("team-coverage-row").await;
    assert_eq!(
        team.attr("data-visited").await.unwrap().as_deref(),
        Some("4")
    );
    let freshness = phone.find("team-freshness").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while freshness.text().await.unwrap().contains("尚无") && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !freshness.text().await.unwrap().contains("尚无"),
        "the team's visits reached the server"
    );
    phone
        .expect_text("team-coverage", "一队\n3号楼 · 已走访 4/5 · 待再访 1")
        .await;
    phone.screenshot("dashboard-zh").await;
    phone.tap("sync-now").await;
    phone.expect_text("sync-pending", "已全部上传").await;
    let steps = server.records("yongan", Collection::NeedEvent).await;
    assert_eq!(steps.len(), 4, "collected, assigned, resolved, closed");

    // The coordinator's Excel file has the need and its whole history.
    let xlsx = server
        .download("yongan", "/api/compounds/yongan/ledgers.xlsx")
        .await;
    let mut workbook = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    use calamine::Reader;
    let needs = workbook.worksheet_range("困难问题台账").unwrap();
    let row: Vec<String> = needs
        .rows()
        .nth(1)
        .expect("the need is exported")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(row[7], "已销号");
    for step in ["已收集", "已分派", "已解决（已送米面油上门）", "已销号"] {
        assert!(row[12].contains(step), "history {:?} lacks {step}", row[12]);
    }
    phone.close().await;
}
