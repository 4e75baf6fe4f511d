//! The resident page (`/r/{compound}/{building}`, the server's own HTML)
//! in every state it can show, at 360×740 in Chinese, each saved as a
//! screenshot (`target/screenshots/resident-*.png`): the truck's states,
//! stale, loading (the database is down), offline with the last status and
//! its age, on a phone whose clock is ten minutes wrong.

use doorstep_core::{
    eta::timeline,
    mutation::Mutation,
    truck::{EventKind, RunState, Stop, Tap},
};
use doorstep_server::{
    now_ms,
    resident_page::{render::status_line, text::Lang},
};
use doorstep_tests::{
    Browser, TestServer,
    seed::{append_in, set_in},
};
use serde_json::{Value, json};

const MIN: u64 = 60_000;

/// Record ids are unique per collection across compounds, so each carries its compound.
fn tap(compound: &str, building: &str, kind: &str, at_ms: u64) -> Mutation {
    append_in(
        compound,
        "stop_event",
        &format!("{compound}-e1"),
        json!({"run": format!("{compound}-r1"), "building": building, "kind": kind, "at_ms": at_ms}),
    )
}

fn stops(start: u64) -> Vec<Value> {
    ["1", "2", "4"]
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"building": b, "planned_ms": start + i as u64 * 20 * MIN, "dwell_min": 15}))
        .collect()
}

/// A run over buildings 1, 2, 4 starting at `start`, 20 minutes apart.
fn run(compound: &str, state: &str, start: u64) -> Vec<Mutation> {
    vec![
        set_in(
            compound,
            "truck",
            &format!("{compound}-t1"),
            json!({"name": "豫A·12345", "vendor": "老李菜摊", "phone": "0371-1234567", "order_link": "https://example.org/order"}),
        ),
        set_in(
            compound,
            "run",
            &format!("{compound}-r1"),
            json!({"truck": format!("{compound}-t1"), "date": "2026-11-28", "state": state, "stops": stops(start)}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resident_state_renders() {
    let server = TestServer::start().await;
    let now = now_ms();
    let cases: Vec<(&str, Vec<Mutation>, &str, &str)> = vec![
        (
            "not-started",
            run("s1", "planned", now + 60 * MIN),
            "4",
            "菜车还未出发",
        ),
        (
            "away",
            [
                run("s2", "underway", now),
                vec![tap("s2", "1", "arrived", now)],
            ]
            .concat(),
            "4",
            "还有2栋",
        ),
        (
            "passed",
            [
                run("s3", "underway", now - 60 * MIN),
                vec![tap("s3", "4", "left", now)],
            ]
            .concat(),
            "4",
            "菜车已经过您楼",
        ),
        (
            "skipped",
            [
                run("s4", "underway", now),
                vec![tap("s4", "4", "skipped", now)],
            ]
            .concat(),
            "4",
            "本次不停靠您楼",
        ),
        (
            "finished",
            [
                run("s5", "finished", now - 60 * MIN),
                vec![tap("s5", "2", "left", now)],
            ]
            .concat(),
            "4",
            "本次菜车已结束",
        ),
        (
            "cancelled",
            run("s6", "cancelled", now),
            "4",
            "本次菜车已取消",
        ),
        (
            "stale",
            [
                run("s7", "underway", now - 90 * MIN),
                vec![tap("s7", "1", "arrived", now - 90 * MIN)],
            ]
            .concat(),
            "4",
            "还有2栋",
        ),
        (
            "not-on-route",
            run("s8", "underway", now),
            "9",
            "今天没有菜车经过您楼",
        ),
    ];
    let browser = Browser::start().await;
    for (name, mutations, building, expected) in cases {
        let compound = mutations[0].compound().to_string();
        server.create_compound(&compound, "永安社区").await;
        server.push(mutations).await;
        browser
            .open(&format!("{}/r/{compound}/{building}", server.url))
            .await;
        browser
            .expect_text_starting("resident-status", expected)
            .await;
        if name == "stale" {
            browser.find("resident-stale").await;
        }
        assert!(
            !browser.shows("sync-bar").await && !browser.shows("app-name").await,
            "a resident's page, not a volunteer's"
        );
        browser.screenshot(&format!("resident-{name}-zh")).await;
    }
    // English is one tap away, and remembered: the poster's plain link
    // opens in English next time, until Chinese is chosen again.
    browser.tap("resident-lang").await;
    browser
        .expect_text_starting("resident-status", "No truck is coming")
        .await;
    browser.open(&format!("{}/r/s2/4", server.url)).await;
    browser
        .expect_text_starting("resident-status", "2 buildings away")
        .await;
    browser.screenshot("resident-away-en").await;
    browser.tap("resident-lang").await;
    browser
        .expect_text_starting("resident-status", "还有2栋")
        .await;
    browser.open(&format!("{}/r/s2/4", server.url)).await;
    browser
        .expect_text_starting("resident-status", "还有2栋")
        .await;
    // Alerts: one tap turns them on (and unlocks sound), and says so.
    browser.tap("resident-alerts").await;
    let enabled = browser
        .eval_async(
            "done([document.getElementById('alerts').hidden, \
                   document.getElementById('alerts-on').hidden]);",
        )
        .await;
    assert_eq!(
        enabled,
        json!([true, false]),
        "the button gives way to the notice"
    );
    browser
        .expect_text("resident-alerts-enabled", "提醒已开启：快到时会响铃并振动")
        .await;
    browser.close().await;
}

/// Moves the page's clock ten minutes ahead of the real one, before any of
/// its scripts run.
const CLOCK_TEN_MINUTES_AHEAD: &str = r#"(() => {
  const shift = 10 * 60 * 1000, Real = Date, realNow = Real.now.bind(Real);
  class Shifted extends Real {
    constructor(...args) { if (args.length) super(...args); else super(realNow() + shift); }
    static now() { return realNow() + shift; }
  }
  window.Date = Shifted;
})();"#;

/// A phone whose clock is ten minutes ahead reads the server's ETA and
/// stale age; offline, the page shows its last status with an age measured
/// on the server's clock (0 minutes, not 10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_last_status_shows_with_its_age_on_the_servers_clock() {
    let mut server = TestServer::start().await;
    let now = now_ms();
    server.create_compound("c1", "永安社区").await;
    server
        .push(
            [
                run("c1", "underway", now),
                vec![tap("c1", "1", "arrived", now)],
            ]
            .concat(),
        )
        .await;
    server.create_compound("c2", "永安社区").await;
    server
        .push(
            [
                run("c2", "underway", now - 90 * MIN),
                vec![tap("c2", "1", "arrived", now - 90 * MIN)],
            ]
            .concat(),
        )
        .await;
    let phone = Browser::start().await;
    phone
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": CLOCK_TEN_MINUTES_AHEAD}),
        )
        .await;

    // The ETA the server's clock gives (it does not move with the clock
    // here: the truck is on time at building 1).
    let planned: Vec<Stop> = serde_json::from_value(json!(stops(now))).unwrap();
    let taps = [Tap {
        building: "1".into(),
        kind: EventKind::Arrived,
        at_ms: now,
    }];
    let expected = status_line(
        &timeline(RunState::Underway, &planned, &taps, now_ms())
            .forecast("4")
            .status,
        Lang::Zh,
    );
    phone.open(&format!("{}/r/c2/4", server.url)).await;
    phone
        .expect_text_starting("resident-stale", "已有 90 分钟没有收到菜车位置")
        .await;
    phone.screenshot("resident-stale-clock-wrong-zh").await;

    phone.open(&format!("{}/r/c1/4", server.url)).await;
    phone.expect_text("resident-status", &expected).await;
    let skew = phone
        .eval_async("done(Date.now() - Number(document.getElementById('live').dataset.t));")
        .await
        .as_f64()
        .unwrap();
    assert!(
        skew > 9.0 * MIN as f64,
        "the page's clock is ahead: {skew} ms"
    );
    phone.screenshot("resident-live-zh").await;
    // Its own small worker is active and keeps a copy of the page.
    let copied = phone
        .eval_async(
            "const look = () => caches.open('doorstep-resident')
               .then(c => c.match(location.href))
               .then(hit => hit ? done(true) : setTimeout(look, 100));
             navigator.serviceWorker.ready.then(look);",
        )
        .await;
    assert_eq!(copied, json!(true));

    server.stop().await;
    phone.reload().await;
    phone.expect_text("resident-status", &expected).await;
    phone
        .expect_text("resident-offline", "当前离线，显示的是 0 分钟前的信息")
        .await;
    phone.screenshot("resident-offline-zh").await;
    phone.close().await;
}

/// The database is down: the page still names the building and says it is
/// fetching, and fills in once the server can answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_database_the_page_says_it_is_loading() {
    let server = TestServer::start().await;
    server.create_compound("c1", "永安社区").await;
    server.close_database().await;
    let phone = Browser::start().await;
    phone.open(&format!("{}/r/c1/4", server.url)).await;
    phone
        .expect_text("resident-title", "流动菜摊 · 4号楼")
        .await;
    phone
        .expect_text("resident-status", "正在获取菜车位置…")
        .await;
    phone.screenshot("resident-loading-zh").await;
    phone.close().await;
}
