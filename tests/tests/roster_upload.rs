//! A coordinator uploads an Excel roster from the phone: the check lists the
//! bad row, a fixed file imports, and the households reach the phone; an
//! office workbook (a sheet per building, title rows, 合计, ID numbers, care
//! marks) shows how it was read, and its accepted care proposals reach the
//! care ledger.

use doorstep_core::access::Role;
use doorstep_tests::{Browser, TestServer};
use rust_xlsxwriter::Workbook;

#[path = "../../server/tests/support/office_roster.rs"]
mod office_roster;

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
    phone
        .expect_text_starting("roster-errors", "Sheet1 · 第 3")
        .await;

    // This office calls the door column 房间: map it.
    phone
        .find("roster-file")
        .await
        .send_keys(good.to_str().unwrap())
        .await
        .unwrap();
    phone.tap("roster-check").await;
    phone
        .expect_text_starting("roster-error", "找到了表头，但没有门牌号列")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_workbook_is_read_as_meant_and_its_care_proposals_reach_the_ledger() {
    let server = TestServer::start().await;
    server.create_compound("yongan", "永安社区").await;
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("幸福里住户台账.xlsx");
    // 3号楼: 12 households (0 and 10 live alone, 7 has 孕妇); 5号楼: 4 (0 alone).
    std::fs::write(&file, office_roster::workbook(&[("3", 12), ("5", 4)])).unwrap();

    let phone = Browser::start().await;
    phone.open(&format!("{}/visits", server.url)).await;
    phone
        .sign_in(&server.invite("yongan", Role::Coordinator, None).await)
        .await;
    phone.tap("roster-link").await;
    phone
        .find("roster-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    phone.tap("roster-check").await;
    phone
        .expect_text("roster-summary", "可导入 16 · 出错 0 · 已导入 0")
        .await;
    phone
        .expect_text_starting("roster-sheets", "工作表 3号楼 · 表头 第 4 · 12 户")
        .await;
    let sheets = phone.find("roster-sheets").await.text().await.unwrap();
    for shown in [
        "楼栋取自工作表名：3",
        "序号 → 序号：不导入",
        "身份证号 → 身份证号：有意不导入，不保存",
        "户主姓名 → 户主",
        "是否独居老人 → 关爱：",
        "跳过 第 1 · 标题 幸福里小区3号楼住户台账",
        "跳过 第 3 · 空行",
        "跳过 第 17 · 合计行 合计",
        "跳过 第 18 · 签名行 填表人",
    ] {
        assert!(sheets.contains(shown), "{shown:?} not in {sheets:?}");
    }
    phone
        .expect_text_starting(
            "roster-preview",
            "3号楼 · 第 5: 3-1-101 · 户主3-0 · 13800000000 · 3",
        )
        .await;
    let care = phone.find("roster-care").await.text().await.unwrap();
    for proposal in [
        "3-1-101 户主3-0",
        "3-2-201 户主3-10",
        "3-2-102 户主3-7",
        "5-1-101 户主5-0",
    ] {
        assert!(care.contains(proposal), "{proposal:?} not in {care:?}");
    }
    assert_eq!(care.matches("户主").count(), 4, "{care}");
    phone.scroll_to("roster-sheets").await;
    phone.screenshot("roster-office-zh").await;
    phone.scroll_to("roster-care").await;
    phone.screenshot("roster-care-zh").await;

    // The proposals are accepted (the box is ticked) and imported with the
    // households.
    assert!(
        phone
            .find("roster-accept-care")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    phone.tap("roster-import").await;
    phone
        .expect_text("roster-summary", "可导入 16 · 出错 0 · 已导入 16")
        .await;
    phone
        .expect_text("roster-care-imported", "已登记关爱对象 4")
        .await;

    phone.open(&format!("{}/visits", server.url)).await;
    phone.tap("sync-now").await;
    phone.expect_text("building-3", "3号楼 · 已走访 0/12").await;
    phone.open(&format!("{}/ledgers", server.url)).await;
    let mut ledger = String::new();
    for _ in 0..100 {
        ledger = phone.find("care-ledger").await.text().await.unwrap();
        if ledger.matches("户主").count() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for entry in [
        "3 · 1 · 101 户主3-0",
        "3 · 2 · 201 户主3-10",
        "3 · 2 · 102 户主3-7",
        "5 · 1 · 101 户主5-0",
    ] {
        assert!(ledger.contains(entry), "{entry:?} not in {ledger:?}");
    }
    assert!(ledger.contains("备注：家有孕妇"), "{ledger}");
    phone.close().await;
}
