//! The vegetable truck end to end: staff tap offline, the tap syncs, and a
//! resident's open page for building 4 moves from "2 buildings away" to
//! "next" without a reload.

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_tap_reaches_the_residents_page_live() {
    let mut server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let staff = Browser::start().await;
    let resident = Browser::start().await;

    // Staff join the compound and create today's run: buildings 1, 2, 4.
    staff.open(&format!("{}/truck", server.url)).await;
    staff
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    staff.find("no-run").await;
    staff.tap("new-run").await;
    staff.fill("run-truck_name", "豫A·12345").await;
    staff.fill("run-vendor", "老李菜摊").await;
    staff.fill("run-phone", "0371-1234567").await;
    staff.fill("run-buildings", "1 2 4").await;
    staff.fill("run-first_arrival", "00:00").await;
    staff.tap("create-run").await;
    staff.expect_text("staff-next", "到达 1号楼").await;
    staff.tap("staff-next").await;
    staff.expect_text("staff-next", "离开 1号楼").await;
    staff.tap("staff-next").await;
    staff.expect_text("staff-next", "到达 2号楼").await;
    staff.tap("sync-now").await;
    staff.expect_text("sync-pending", "已全部上传").await;

    // A resident of building 4 opens the page from the poster's QR code.
    resident.open(&format!("{}/r/yongan/4", server.url)).await;
    resident
        .expect_text_starting("resident-status", "还有2栋")
        .await;
    resident.screenshot("resident-away-zh").await;

    // The network drops; staff tap "arrived at building 2" anyway.
    server.stop().await;
    staff.tap("staff-next").await;
    staff.expect_text("staff-next", "离开 2号楼").await;
    staff.expect_text("sync-pending", "待上传 1").await;

    // Back online: the tap syncs and the resident's page follows, unreloaded.
    server.restart().await;
    staff.tap("sync-now").await;
    staff.expect_text("sync-pending", "已全部上传").await;
    resident
        .expect_text_starting("resident-status", "下一站就是您楼")
        .await;
    resident.screenshot("resident-next-zh").await;

    // Leaving 2 and arriving at 4: the truck is here.
    staff.tap("staff-next").await;
    staff.expect_text("staff-next", "到达 4号楼").await;
    staff.tap("staff-next").await;
    staff.tap("sync-now").await;
    resident
        .expect_text_starting("resident-status", "菜车已到达")
        .await;
    resident.screenshot("resident-here-zh").await;
    staff.screenshot("staff-zh").await;

    staff.close().await;
    resident.close().await;
}
