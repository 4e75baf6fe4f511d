//! The resident page in every state it can show, at 360×740 in Chinese, each
//! saved as a screenshot (`target/screenshots/resident-*.png`).

use doorstep_core::mutation::Mutation;
use doorstep_server::now_ms;
use doorstep_tests::{Browser, TestServer};
use serde_json::{Value, json};

const MIN: u64 = 60_000;

fn set(collection: &str, compound: &str, id: &str, fields: Value) -> Mutation {
    serde_json::from_value(json!({"kind": "set", "args": {"collection": collection, "id": id, "compound": compound, "fields": fields}})).unwrap()
}

/// Record ids are unique per collection across compounds, so each carries its compound.
fn tap(compound: &str, building: &str, kind: &str, at_ms: u64) -> Mutation {
    serde_json::from_value(json!({"kind": "append", "args": {"collection": "stop_event", "id": format!("{compound}-e1"), "compound": compound,
        "fields": {"run": format!("{compound}-r1"), "building": building, "kind": kind, "at_ms": at_ms}}}))
    .unwrap()
}

/// A run over buildings 1, 2, 4 starting at `start`, 20 minutes apart.
fn run(compound: &str, state: &str, start: u64) -> Vec<Mutation> {
    let stops: Vec<Value> = ["1", "2", "4"]
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"building": b, "planned_ms": start + i as u64 * 20 * MIN, "dwell_min": 15}))
        .collect();
    vec![
        set(
            "truck",
            compound,
            &format!("{compound}-t1"),
            json!({"name": "豫A·12345", "vendor": "老李菜摊", "phone": "0371-1234567", "order_link": "https://example.org/order"}),
        ),
        set(
            "run",
            compound,
            &format!("{compound}-r1"),
            json!({"truck": format!("{compound}-t1"), "date": "2026-11-28", "state": state, "stops": stops}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resident_state_renders() {
    let server = TestServer::start().await;
    let now = now_ms();
    let cases: Vec<(&str, Vec<Mutation>, &str)> = vec![
        (
            "not-started",
            run("s1", "planned", now + 60 * MIN),
            "菜车还未出发",
        ),
        (
            "away",
            [
                run("s2", "underway", now),
                vec![tap("s2", "1", "arrived", now)],
            ]
            .concat(),
            "还有2栋",
        ),
        (
            "passed",
            [
                run("s3", "underway", now - 60 * MIN),
                vec![tap("s3", "4", "left", now)],
            ]
            .concat(),
            "菜车已经过您楼",
        ),
        (
            "skipped",
            [
                run("s4", "underway", now),
                vec![tap("s4", "4", "skipped", now)],
            ]
            .concat(),
            "本次不停靠您楼",
        ),
        (
            "finished",
            [
                run("s5", "finished", now - 60 * MIN),
                vec![tap("s5", "2", "left", now)],
            ]
            .concat(),
            "本次菜车已结束",
        ),
        ("cancelled", run("s6", "cancelled", now), "本次菜车已取消"),
        (
            "stale",
            [
                run("s7", "underway", now - 90 * MIN),
                vec![tap("s7", "1", "arrived", now - 90 * MIN)],
            ]
            .concat(),
            "还有2栋",
        ),
    ];
    let browser = Browser::start().await;
    for (name, mutations, expected) in cases {
        let compound = mutations[0].compound().to_string();
        server.create_compound(&compound, "永安社区").await;
        server.push(mutations).await;
        browser
            .open(&format!("{}/r/{compound}/4", server.url))
            .await;
        browser
            .expect_text_starting("resident-status", expected)
            .await;
        if name == "stale" {
            browser.find("resident-stale").await;
        }
        browser.screenshot(&format!("resident-{name}-zh")).await;
    }
    browser.close().await;
}
