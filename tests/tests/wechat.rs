//! WeChat's in-app browser, as near as Chromium gets: its user agent, and
//! no usable service worker (none on iOS; sometimes one that is there but
//! `undefined`). The app works online with IndexedDB, says once that
//! offline starts need a real browser and how to open one, and the resident
//! page shows the truck.

use doorstep_core::{access::Role, schema::Collection};
use doorstep_server::now_ms;
use doorstep_tests::{Browser, TestServer, seed::set};
use serde_json::json;

const WECHAT_UA: &str = "Mozilla/5.0 (Linux; Android 13; V2172A Build/TP1A.220624.014; wv) \
    AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 \
    XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) \
    WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64";

const NO_SERVICE_WORKER: &str = "delete Navigator.prototype.serviceWorker;";
const UNDEFINED_SERVICE_WORKER: &str = "Object.defineProperty(Navigator.prototype, 'serviceWorker', \
    { get() { return undefined; }, configurable: true });";

/// Building 1 with one door, assigned to team t1 this round; the truck is
/// at building 1 now.
async fn seeded() -> TestServer {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let now = now_ms();
    server
        .push(vec![
            set(
                "household",
                "h1",
                json!({"building": "1", "unit": "1", "door": "101", "head": "王芳"}),
            ),
            set("team", "t1", json!({"name": "一队"})),
            set("round", "r1", json!({"name": "第1轮", "started_ms": now})),
            set(
                "assignment",
                "a-r1-1",
                json!({"round": "r1", "building": "1", "team": "t1"}),
            ),
            set(
                "truck",
                "k1",
                json!({"name": "豫A·12345", "vendor": "老李菜摊", "phone": "0371-1234567"}),
            ),
            set(
                "run",
                "run1",
                json!({"truck": "k1", "date": "2026-11-28", "state": "underway",
                       "stops": [{"building": "1", "planned_ms": now, "dwell_min": 15},
                                 {"building": "2", "planned_ms": now + 1_200_000, "dwell_min": 15}]}),
            ),
        ])
        .await;
    server
        .push(vec![
            serde_json::from_value(
                json!({"kind": "append", "args": {"collection": "stop_event",
                "id": "ev1", "compound": "yongan",
                "fields": {"run": "run1", "building": "1", "kind": "arrived", "at_ms": now}}}),
            )
            .unwrap(),
        ])
        .await;
    server
}

/// A phone in WeChat: its user agent, and `script` run before any of the
/// page's own.
async fn wechat(script: &str) -> Browser {
    let phone = Browser::start().await;
    phone
        .cdp(
            "Network.setUserAgentOverride",
            json!({"userAgent": WECHAT_UA, "acceptLanguage": "zh-CN"}),
        )
        .await;
    phone
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": script}),
        )
        .await;
    phone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_wechat_a_volunteer_knocks_syncs_and_the_resident_page_shows_the_truck() {
    let server = seeded().await;
    let phone = wechat(NO_SERVICE_WORKER).await;
    phone.open(&format!("{}/visits", server.url)).await;
    let gone = phone
        .eval_async("done(!('serviceWorker' in navigator));")
        .await;
    assert_eq!(gone, json!(true), "the page has no service worker");
    phone
        .sign_in(&server.invite("yongan", Role::Volunteer, Some("t1")).await)
        .await;
    phone.find("building-1").await;
    phone
        .expect_text_starting("browser-notice", "这个浏览器（如微信内）不能离线打开本应用")
        .await;
    phone.screenshot("wechat-notice-zh").await;

    // A door knocked, saved in IndexedDB, and synced.
    phone.open(&format!("{}/visits/door/h1", server.url)).await;
    phone.find("door-title").await;
    phone.tap("outcome-refused").await;
    phone.tap("save-next").await;
    phone.find("building-1").await;
    phone.sync_everything().await;
    let visits = server.records("yongan", Collection::Visit).await;
    assert_eq!(visits.len(), 1, "the visit reached the server");

    // Dismissed once, gone for good.
    phone.tap("browser-notice-dismiss").await;
    phone.reload().await;
    phone.find("building-1").await;
    assert!(!phone.shows("browser-notice").await);

    phone.open(&format!("{}/r/yongan/1", server.url)).await;
    phone
        .expect_text_starting("resident-status", "菜车已到达")
        .await;
    phone.screenshot("wechat-resident-zh").await;
    phone.close().await;
}

/// `navigator.serviceWorker` there but `undefined`: nothing goes blank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_service_worker_leaves_nothing_blank() {
    let server = seeded().await;
    let phone = wechat(UNDEFINED_SERVICE_WORKER).await;
    phone.open(&format!("{}/", server.url)).await;
    phone.find("join-code").await;
    phone.find("browser-notice").await;
    phone.open(&format!("{}/r/yongan/1", server.url)).await;
    phone
        .expect_text_starting("resident-status", "菜车已到达")
        .await;
    let errors = phone
        .eval_async("done(document.getElementById('offline').hidden);")
        .await;
    assert_eq!(errors, json!(true), "online, so no offline banner");
    phone.close().await;
}
