//! Issue 14, item 5: two teams work two units (单元) of one building. The
//! coordinator gives unit 1 of building 3 to 一队 and unit 2 to 二队 on the
//! visits page and records 一队's two members; each team's phone then holds
//! and lists only its unit's doors, and the dashboard shows coverage per
//! building and per unit.

use std::time::{Duration, Instant};

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer, seed::set};
use serde_json::json;

/// The doors a phone's visits page lists, as their rows read.
async fn listed_doors(phone: &Browser, expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = phone
            .eval_async(
                r#"done([...document.querySelectorAll('[data-testid="household-row"] .row-title')]
                    .map(e => e.textContent.trim()));"#,
            )
            .await;
        if rows == json!(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the list shows {rows}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A coverage row's (answered, doors), as the dashboard's chart holds them.
async fn coverage(phone: &Browser, test_id: &str) -> (String, String) {
    let row = phone.find(test_id).await;
    (
        row.attr("data-visited").await.unwrap().unwrap_or_default(),
        row.attr("data-doors").await.unwrap().unwrap_or_default(),
    )
}

async fn volunteer(server: &TestServer, team: &str) -> Browser {
    let phone = Browser::start().await;
    phone.open(&format!("{}/", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Volunteer, Some(team)).await)
        .await;
    phone.find("area-visits").await;
    phone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_teams_work_two_units_of_one_building() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let household = |id: &str, unit: &str, door: &str, head: &str| {
        set(
            "household",
            id,
            json!({"building": "3", "unit": unit, "door": door, "head": head}),
        )
    };
    server
        .push(vec![
            set(
                "team",
                "T1",
                json!({"name": "一队", "members": "张三、李四"}),
            ),
            set("team", "T2", json!({"name": "二队"})),
            set("round", "R1", json!({"name": "第一轮", "started_ms": 1})),
            household("h1", "1", "101", "王芳"),
            household("h2", "1", "102", "李娜"),
            household("h3", "2", "201", "张伟"),
            household("h4", "2", "202", "刘洋"),
        ])
        .await;

    // The coordinator gives each unit to a team, and records 一队's members.
    let coordinator = Browser::start().await;
    coordinator.open(&format!("{}/", server.url)).await;
    coordinator
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    coordinator.tap("area-visits").await;
    coordinator
        .expect_text_starting("unit-3-1", "1单元 · 已走访 0/2")
        .await;
    coordinator.choose("assign-unit-3-1", 1).await;
    coordinator.choose("assign-unit-3-2", 2).await;
    coordinator.choose("work-team", 1).await;
    coordinator
        .expect_text("team-recorded-before", "原登记的队员：张三、李四")
        .await;
    coordinator.fill("team-member1-name", "张三").await;
    coordinator
        .fill("team-member1-phone", "138 0000 0001")
        .await;
    coordinator.fill("team-member2-name", "李四").await;
    coordinator.fill("team-member2-phone", "13800000002").await;
    coordinator.tap("team-save").await;
    coordinator.expect_text("team-saved", "已保存").await;
    coordinator.screenshot("units-assignment-form").await;
    coordinator.scroll_to("unit-3-2").await;
    coordinator.screenshot("units-assignment-units").await;
    coordinator.sync_everything().await;
    let team = server
        .records("yongan", doorstep_core::schema::Collection::Team)
        .await
        .into_iter()
        .find(|t| t.id.as_str() == "T1")
        .unwrap();
    assert_eq!(team.named("member1_phone"), Some(&json!("13800000001")));
    assert_eq!(team.named("member2_name"), Some(&json!("李四")));

    // Each team's phone lists only its unit's doors.
    let first = volunteer(&server, "T1").await;
    first.tap("sync-now").await;
    first.tap("area-visits").await;
    listed_doors(&first, &["3 · 1 · 101 王芳", "3 · 1 · 102 李娜"]).await;
    first
        .expect_text("team-members", "队员：张三 13800000001、李四 13800000002")
        .await;
    first.screenshot("units-volunteer-doors").await;
    let second = volunteer(&server, "T2").await;
    second.tap("sync-now").await;
    second.tap("area-visits").await;
    listed_doors(&second, &["3 · 2 · 201 张伟", "3 · 2 · 202 刘洋"]).await;
    second
        .expect_text_starting("unit-3-2", "2单元 · 已走访 0/2")
        .await;
    assert!(!second.shows("unit-3-1").await);

    // 二队 answers a door; the dashboard counts it in unit 2 only.
    second.tap("household-row").await;
    second.expect_text("door-title", "3 · 2 · 201 · 张伟").await;
    second.tap("outcome-visited").await;
    second.fill("temperature", "36.5").await;
    second.tap("health-normal").await;
    second.tap("save-next").await;
    // "Save and next" stays in the team's unit.
    second.expect_text("door-title", "3 · 2 · 202 · 刘洋").await;
    second.sync_everything().await;
    coordinator.tap("sync-now").await;
    coordinator.tap("app-name").await;
    coordinator.tap("area-dashboard").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while coverage(&coordinator, "coverage-3-2").await.0 != "1" {
        assert!(Instant::now() < deadline, "unit 2's answered door");
        coordinator.tap("sync-now").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        coverage(&coordinator, "coverage-3").await,
        ("1".into(), "4".into())
    );
    assert_eq!(
        coverage(&coordinator, "coverage-3-1").await,
        ("0".into(), "2".into())
    );
    assert_eq!(
        coverage(&coordinator, "coverage-3-2").await,
        ("1".into(), "2".into())
    );
    coordinator
        .expect_text(
            "team-coverage",
            "一队\n3号楼1单元 · 已走访 0/2\n二队\n3号楼2单元 · 已走访 1/2",
        )
        .await;
    coordinator.scroll_to("coverage-chart").await;
    coordinator.screenshot("units-dashboard").await;
    first.close().await;
    second.close().await;
    coordinator.close().await;
}
