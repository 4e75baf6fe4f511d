//! A coordinator uploads an Excel roster from the phone: the check lists the
//! bad row, a fixed file imports, and the households reach the phone.

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer};
use rust_xlsxwriter::Workbook;

fn roster(door_header: &str, rows: &[[&str; 4]]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, header) in ["楼栋", door_header, "户主", "人数"].iter().enumerate() {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *cell).unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_excel_roster_is_checked_then_imported() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let dir = tempfile::TempDir::new().unwrap();
    let bad = dir.path().join("名册-有错.xlsx");
    std::fs::write(
        &bad,
        roster(
            "门牌号",
            &[["7", "701", "钱进", "2"], ["7", "702", "孙悦", "两"]],
        ),
    )
    .unwrap();
    let good = dir.path().join("名册.xlsx");
    std::fs::write(
        &good,
        roster(
            "房间",
            &[["7", "701", "钱进", "2"], ["7", "702", "孙悦", "2"]],
        ),
    )
    .unwrap();

    let phone = Browser::start().await;
    phone.open(&format!("{}/visits", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.tap("roster-link").await;

    phone
        .find("roster-file")
        .await
        .send_keys(bad.to_str().unwrap())
        .await
        .unwrap();
    phone.tap("roster-check").await;
    phone
        .expect_text("roster-summary", "可导入 1 · 出错 1 · 已导入 0")
        .await;
    phone.expect_text_starting("roster-errors", "第 3").await;

    // This office calls the door column 房间: map it.
    phone
        .find("roster-file")
        .await
        .send_keys(good.to_str().unwrap())
        .await
        .unwrap();
    phone.tap("roster-check").await;
    phone
        .expect_text_starting("roster-error", "no door-number column")
        .await;
    phone.fill("roster-mapping", "房间=door").await;
    phone.tap("roster-check").await;
    phone
        .expect_text("roster-summary", "可导入 2 · 出错 0 · 已导入 0")
        .await;
    phone.tap("roster-import").await;
    phone
        .expect_text("roster-summary", "可导入 2 · 出错 0 · 已导入 2")
        .await;

    phone.open(&format!("{}/visits", server.url)).await;
    phone.tap("sync-now").await;
    phone.expect_text("building-7", "7号楼 · 已走访 0/2").await;
    phone.close().await;
}
