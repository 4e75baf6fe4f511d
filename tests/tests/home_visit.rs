//! Home-visit dispatch (issue 16, item 2: 上门专班, "三上门") in headless
//! Chromium: the coordinator marks a care person who cannot go out, flags a
//! team as a home-visit team and sends the household to it; the team's
//! phone, offline, records a test with its tube number; back online it
//! syncs, and the coordinator's dashboard and the district official's page
//! count one more home test (上门核酸).

use doorstep_core::{access::Role, mutation::Mutation, schema::Collection};
use doorstep_tests::{Browser, TestServer};
use serde_json::json;

fn mutation(kind: &str, collection: &str, id: &str, fields: serde_json::Value) -> Mutation {
    serde_json::from_value(
        json!({"kind": kind, "args": {"collection": collection, "id": id,
        "compound": "huida", "fields": fields}}),
    )
    .unwrap()
}

/// 晖达社区: round R1, team T1 (not yet a home-visit team), 晨沐 after knee
/// surgery on the 7th floor of building 3 (on the care ledger, not yet
/// marked homebound), and a resident's home-test request from unit 2, whose
/// door was swabbed once already during a door visit.
fn seed() -> Vec<Mutation> {
    vec![
        mutation("set", "round", "R1", json!({"name": "第一轮"})),
        mutation("set", "team", "T1", json!({"name": "上门专班"})),
        mutation(
            "set",
            "household",
            "h1",
            json!({"building": "3", "unit": "1", "door": "702", "head": "晨沐"}),
        ),
        mutation(
            "set",
            "household",
            "h2",
            json!({"building": "3", "unit": "2", "door": "301", "head": "菜菜"}),
        ),
        mutation(
            "set",
            "person",
            "p1",
            json!({"household": "h1", "name": "晨沐", "care": "disabled",
                   "care_plan": "膝关节术后，行动不便"}),
        ),
        mutation(
            "set",
            "need",
            "n2",
            json!({"household": "h2", "category": "home_test", "description": "孕妇，7楼无电梯"}),
        ),
        mutation(
            "append",
            "need_event",
            "e2",
            json!({"need": "n2", "step": "collected", "at_ms": 1}),
        ),
        mutation(
            "set",
            "visit",
            "v0",
            json!({"household": "h2", "round": "R1", "outcome": "visited", "swab": true, "tube_no": "A0001"}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_homebound_resident_is_tested_offline_and_counted() {
    let mut server = TestServer::start().await;
    server
        .create_district(
            "jinshui",
            "金水区",
            &[("huida", "晖达社区", Some("南阳路街道"))],
        )
        .await;
    server.push(seed()).await;

    // The district's official sees the one door-visit swab.
    let official = Browser::start().await;
    official.open(&server.url).await;
    official
        .sign_in(&server.official_invite("jinshui").await)
        .await;
    official.tap("area-district").await;
    official.expect_text("district-home_tests", "1").await;

    // The coordinator marks 晨沐 as unable to go out.
    let coordinator = Browser::start().await;
    coordinator.open(&server.url).await;
    coordinator
        .sign_in(&server.invite("huida", Role::Coordinator, None).await)
        .await;
    coordinator.find("area-home-visits").await;
    coordinator
        .open(&format!("{}/households/h1", server.url))
        .await;
    coordinator.tap("member-homebound").await;
    coordinator.find("member-homebound-badge").await;

    // On the list: her, and the resident's request, by unit and floor.
    coordinator
        .open(&format!("{}/home-visits", server.url))
        .await;
    coordinator
        .expect_text_starting("dispatch-row", "3号楼 1单元 702 · 7楼")
        .await;
    let rows = coordinator
        .eval_async(
            "done([...document.querySelectorAll('[data-testid=dispatch-row]')].map(r => r.dataset.key))",
        )
        .await;
    assert_eq!(rows, json!(["p1", "n2"]));
    coordinator.tap("home-visit-team-T1").await;
    coordinator.choose("dispatch-team", 1).await;
    coordinator.tap("sync-now").await;
    coordinator.expect_text("sync-pending", "已全部上传").await;
    coordinator.expect_value("dispatch-team", "T1").await;
    coordinator.screenshot("home-visits-dispatch-zh").await;
    coordinator
        .open(&format!("{}/manage/dashboard", server.url))
        .await;
    coordinator.expect_text("total-home_tests", "1").await;

    // The team's phone gets her household, though it holds no building.
    let team = Browser::start().await;
    team.open(&server.url).await;
    team.sign_in(&server.invite("huida", Role::Volunteer, Some("T1")).await)
        .await;
    team.tap("area-home-visits").await;
    team.expect_text_starting("home-visit-row", "3号楼 1单元 702 · 7楼")
        .await;
    assert!(
        !team.visible_text().await.contains("菜菜"),
        "the request not sent to this team stays off its phone"
    );

    // Offline at her door: a test, then the tube number it needs.
    server.stop().await;
    team.tap("result-tested").await;
    team.expect_text("home-visit-error", "已采样，请先填写试管编号。")
        .await;
    team.fill("tube-no", "A0702").await;
    team.tap("result-tested").await;
    team.expect_text("home-visit-result", "已采样 A0702").await;
    team.expect_text_starting("sync-pending", "待上传").await;
    team.screenshot("home-visits-team-zh").await;

    // Back online, it reaches the server, and both pages count it.
    server.restart().await;
    team.tap("sync-now").await;
    team.expect_text("sync-pending", "已全部上传").await;
    let entries = server.records("huida", Collection::HomeVisit).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].named("result"), Some(&json!("tested")));
    assert_eq!(entries[0].named("tube_no"), Some(&json!("A0702")));

    coordinator.tap("sync-now").await;
    coordinator.expect_text("total-home_tests", "2").await;
    coordinator
        .open(&format!("{}/home-visits", server.url))
        .await;
    coordinator
        .expect_text("dispatch-result", "已采样 A0702")
        .await;
    official.tap("district-refresh").await;
    official.expect_text("district-home_tests", "2").await;

    // English, one tap away.
    team.tap("locale-toggle").await;
    team.expect_text("home-visit-result", "Tested A0702").await;
    team.close().await;
    coordinator.close().await;
    official.close().await;
}
