//! What a field trial at 360×740 found, held to: every page in Chinese
//! carries no English sentence (and each is photographed in both
//! languages), stall staff see no link they may not use and buildings are
//! named once ("1号楼", never "1号楼号楼"), the storage warning waits for
//! unsent work and goes once dismissed, and offline the door form stays in
//! the top half of the screen.

use doorstep_core::{access::Role, mutation::Mutation};
use doorstep_tests::{
    Browser, TestServer,
    seed::{COMPOUND, append_in, set},
    server::dist_dir,
};
use serde_json::{Value, json};

/// Brand names and the like that may stay in Latin letters.
const ALLOWED: &[&str] = &["Doorstep", "English"];

fn append(collection: &str, id: &str, fields: Value) -> Mutation {
    append_in(COMPOUND, collection, id, fields)
}

/// Building 1 this round: 101 answered (and needs a doctor), 102 no answer.
async fn seeded() -> TestServer {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let now = doorstep_server::now_ms();
    server
        .push(vec![
            set(
                "household",
                "h1",
                json!({"building": "1", "unit": "1", "door": "101", "head": "王芳", "phone": "13800000001"}),
            ),
            set(
                "household",
                "h2",
                json!({"building": "1", "unit": "1", "door": "102", "head": "李强"}),
            ),
            set("team", "t1", json!({"name": "一队"})),
            set("round", "r1", json!({"name": "第1轮", "started_ms": now})),
            set(
                "assignment",
                "a-r1-1",
                json!({"round": "r1", "building": "1", "team": "t1"}),
            ),
            set(
                "visit",
                "v-r1-h1",
                json!({"household": "h1", "round": "r1", "team": "t1", "outcome": "visited",
                       "temperature_c": 36.5, "needs_doctor": true, "visited_at_ms": now}),
            ),
            set(
                "visit",
                "v-r1-h2",
                json!({"household": "h2", "round": "r1", "team": "t1", "outcome": "no_answer",
                       "needs_doctor": false, "visited_at_ms": now}),
            ),
            set(
                "need",
                "n1",
                json!({"household": "h1", "category": "medical_visit", "description": "needs_doctor", "visit": "v-r1-h1"}),
            ),
            append(
                "need_event",
                "e1",
                json!({"need": "n1", "step": "collected", "at_ms": now}),
            ),
        ])
        .await;
    server
}

/// Every page a coordinator reaches, in Chinese: no English sentence, and a
/// screenshot of each in both languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_reads_in_chinese() {
    let server = seeded().await;
    let phone = Browser::start().await;
    let url = |path: &str| format!("{}{path}", server.url);
    phone.open(&url("/visits")).await;
    phone.find("join-code").await;
    // Before sign-in nothing is at stake: no storage warning.
    assert!(!phone.shows("storage-warning").await);
    check_page(&phone, "join").await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.find("building-1").await;
    phone.sync_everything().await;
    // No answer is not 已走访: one of two, one to go back to.
    phone
        .expect_text("building-1", "1号楼 · 已走访 1/2 · 待再访 1")
        .await;

    let pages = [
        ("/", "home-heading", "home"),
        ("/visits", "building-1", "visits"),
        ("/visits/door/h2", "door-title", "door"),
        ("/households/h1", "save-household", "household"),
        ("/ledgers", "need-row", "ledgers"),
        ("/ledgers/needs/n1", "need-title", "need"),
        ("/truck", "no-run", "truck"),
        ("/manage/dashboard", "coverage-chart", "dashboard"),
        ("/manage/accounts", "invite-form", "accounts"),
        ("/manage/accounts/refused", "page-title", "refused"),
    ];
    for (path, ready, name) in pages {
        phone.open(&url(path)).await;
        phone.find(ready).await;
        check_page(&phone, name).await;
    }
    // The resident page is the server's own: its language is a link.
    phone.open(&url("/r/yongan/1")).await;
    phone.find("resident-title").await;
    let english = phone.latin_sentences(ALLOWED).await;
    assert!(
        english.is_empty(),
        "resident: English in Chinese: {english:?}"
    );
    phone.screenshot("walk-resident-zh").await;
    phone.tap("resident-lang").await;
    phone
        .expect_text_starting("resident-title", "Vegetable truck")
        .await;
    phone.screenshot("walk-resident-en").await;
    phone.tap("resident-lang").await;
    phone
        .expect_text_starting("resident-title", "流动菜摊")
        .await;

    // The need page: what, whose door (with phone and link), who raised it,
    // the building's team, and only the step its state allows.
    phone.open(&url("/ledgers/needs/n1")).await;
    phone
        .expect_text("need-description", "需要医生上门或就医")
        .await;
    phone.expect_text("need-phone", "13800000001").await;
    phone
        .expect_text("need-household", "1 · 1 · 101 王芳")
        .await;
    phone.expect_value("need-team", "t1").await;
    phone.expect_text("need-actions", "分派").await;
    assert!(!phone.shows("need-close").await);
    // The door page keeps the no-answer door to go back to, by unit and door.
    phone.open(&url("/visits/door/h1")).await;
    phone.expect_text("go-back", "还要再去： 1-102").await;
    assert!(
        !phone.shows("unvisited").await,
        "no empty 本楼未走访 when every door was knocked"
    );
    phone.close().await;
}

/// No English sentence on the page in Chinese; screenshots in both.
async fn check_page(phone: &Browser, name: &str) {
    // Let late text (resources, relative times) settle.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let english = phone.latin_sentences(ALLOWED).await;
    assert!(
        english.is_empty(),
        "{name}: English in the Chinese screen: {english:?}"
    );
    let text = phone.visible_text().await;
    assert!(
        !text.contains("{\"code\""),
        "{name}: raw JSON on screen: {text}"
    );
    phone.screenshot(&format!("walk-{name}-zh")).await;
    phone.tap("locale-toggle").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    phone.screenshot(&format!("walk-{name}-en")).await;
    phone.tap("locale-toggle").await;
}

/// Stall staff: "到达 1号楼" for a stop named 1号楼, the resident page says
/// it once, and no poster link (the server would refuse them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_staff_see_buildings_named_once_and_no_poster_link() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let staff = Browser::start().await;
    staff.open(&format!("{}/truck", server.url)).await;
    staff
        .sign_in(&server.invite("yongan", Role::Stall, None).await)
        .await;
    staff.find("no-run").await;
    assert!(
        !staff.shows("posters-link").await,
        "stall staff are not offered posters"
    );
    staff.tap("new-run").await;
    staff.fill("run-truck_name", "豫A·12345").await;
    staff.fill("run-vendor", "老李菜摊").await;
    staff.fill("run-phone", "0371-1234567").await;
    staff.fill("run-buildings", "1号楼 2").await;
    staff.fill("run-first_arrival", "00:00").await;
    staff.tap("create-run").await;
    staff.expect_text("staff-next", "到达 1号楼").await;
    staff.expect_text("staff-skip", "跳过 1号楼").await;
    assert!(!staff.shows("posters-link").await);
    staff.sync_everything().await;
    staff.screenshot("stall-zh").await;

    let resident = Browser::start().await;
    resident
        .open(&format!("{}/r/yongan/1号楼", server.url))
        .await;
    resident
        .expect_text("resident-title", "流动菜摊 · 1号楼")
        .await;
    resident.screenshot("resident-building-label-zh").await;
    staff.close().await;
    resident.close().await;
}

/// Offline with unsent work: the storage warning shows once and goes when
/// dismissed; one compact status line keeps the door form in the top half.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_door_form_stays_in_view() {
    let mut server = seeded().await;
    let phone = Browser::start().await;
    phone.open(&format!("{}/visits", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.find("building-1").await;
    phone.sync_everything().await;
    assert!(
        !phone.shows("storage-warning").await,
        "nothing unsent: no warning"
    );

    phone.open(&format!("{}/visits/door/h2", server.url)).await;
    phone.find("door-title").await;
    server.stop().await;
    phone.tap("outcome-refused").await;
    phone.tap("save-next").await;
    phone.find("building-1").await;
    phone.expect_text("sync-pending", "待上传 1").await;
    phone.find("sync-problem").await;
    if phone.shows("storage-warning").await {
        phone.screenshot("storage-warning-zh").await;
        phone.tap("storage-warning-dismiss").await;
    }
    // Door 101, from the list, as a volunteer goes.
    phone.tap("household-row").await;
    phone.find("door-title").await;
    assert!(
        !phone.shows("storage-warning").await,
        "dismissed once, gone for good"
    );
    let top = phone.top_of("outcome-visited").await;
    phone.screenshot("door-offline-zh").await;
    assert!(
        top < 370.0,
        "the door form starts {top}px down a 740px screen"
    );
    server.restart().await;
    phone.sync_everything().await;
    phone.close().await;
}

/// Chromium ignores `integrity` on preloads and warns about it: the build
/// puts none there.
#[test]
fn no_preload_carries_an_integrity_attribute() {
    let index = std::fs::read_to_string(dist_dir().join("index.html"))
        .expect("the app is built (DOORSTEP_DIST)");
    for link in index.split("<link").skip(1) {
        let tag = &link[..link.find('>').unwrap_or(link.len())];
        if tag.contains("preload") {
            assert!(!tag.contains("integrity"), "<link{tag}>");
        }
    }
}
