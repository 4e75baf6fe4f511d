//! Roster import from a generated `.xlsx` with the headers community offices
//! use, bad rows included: the dry run names exactly the bad rows, and a real
//! import of a file with any bad row imports nothing.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::schema::Collection;
use doorstep_server::roster::RosterReport;
use rust_xlsxwriter::Workbook;
use tempfile::TempDir;

const HEADERS: [&str; 8] = [
    "楼栋",
    "单元",
    "门牌号",
    "户主",
    "联系电话",
    "人数",
    "备注",
    "民族",
];

/// Rows 2–7 of the sheet; rows 4, 5 and 6 are bad.
fn sheet(bad_rows: bool) -> Vec<u8> {
    let mut rows: Vec<[&str; 8]> = vec![
        [
            "3",
            "1",
            "101",
            "王芳",
            "13800000001",
            "2",
            "独居老人",
            "汉",
        ],
        ["3", "1", "102", "李强", "13800000002", "4", "", "汉"],
    ];
    if bad_rows {
        rows.push(["3", "1", "", "无门牌", "", "1", "", ""]); // missing door
        rows.push(["3", "1", "101", "重复", "", "1", "", ""]); // duplicate door
        rows.push(["3", "2", "201", "赵敏", "", "三", "", ""]); // members not a number
    }
    rows.push(["4", "1", "101", "陈静", "", "", "孕妇", ""]);
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, header) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            // Door numbers and counts as numbers, as Excel users type them.
            match cell.parse::<f64>() {
                Ok(n) if c == 2 || c == 5 => sheet.write_number(r as u32 + 1, c as u16, n).unwrap(),
                _ if cell.is_empty() => sheet,
                _ => sheet.write_string(r as u32 + 1, c as u16, *cell).unwrap(),
            };
        }
    }
    workbook.save_to_buffer().unwrap()
}

mod support;

async fn fixture() -> (TempDir, support::TestDatabase, support::Api) {
    let dir = TempDir::new().unwrap();
    let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    (dir, db, support::Api::coordinator(&state, "c1").await)
}

async fn upload(
    state: &support::Api,
    query: &str,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let request = Request::post(format!("/api/compounds/c1/roster?{query}"))
        .body(Body::from(body))
        .unwrap();
    let (status, _, bytes) = state.send(request).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn households(api: &support::Api) -> usize {
    api.state
        .store
        .records_of(&"c1".parse().unwrap(), Collection::Household)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn dry_run_names_exactly_the_bad_rows_and_stores_nothing() {
    let (_dir, _db, state) = fixture().await;
    let (status, json) = upload(&state, "file=roster.xlsx&dry_run=true", sheet(true)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let report: RosterReport = serde_json::from_value(json).unwrap();
    let bad: Vec<usize> = report.errors.iter().map(|e| e.row).collect();
    assert_eq!(bad, [4, 5, 6], "{:?}", report.errors);
    assert!(report.errors[0].reason.contains("missing"));
    assert!(report.errors[1].reason.contains("twice"));
    assert!(report.errors[2].reason.contains("whole number"));
    assert_eq!(
        report.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        [2, 3, 7]
    );
    assert_eq!(
        report.rows[0].fields["door"], "101",
        "a numeric cell reads as 101, not 101.0"
    );
    assert_eq!(report.rows[0].fields["members"], 2);
    assert_eq!(report.ignored_columns, ["民族"]);
    assert_eq!(report.imported, 0);
    assert_eq!(households(&state).await, 0);
}

#[tokio::test]
async fn any_bad_row_imports_nothing_and_a_clean_file_imports_everything() {
    let (_dir, _db, state) = fixture().await;
    let (status, json) = upload(&state, "file=roster.xlsx", sheet(true)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["code"], "bad_rows");
    assert_eq!(households(&state).await, 0, "all rows or none");

    let (status, json) = upload(&state, "file=roster.xlsx", sheet(false)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["imported"], 3);
    assert_eq!(households(&state).await, 3);

    // The same doors again are duplicates of what is stored.
    let (_, json) = upload(&state, "file=roster.xlsx&dry_run=true", sheet(false)).await;
    assert_eq!(json["errors"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn csv_with_a_mapped_header() {
    let (_dir, _db, state) = fixture().await;
    let csv = "\u{feff}楼号,房间,姓名,常住人口\n5,501,孙丽,3\n5,502,周伟,1\n"
        .as_bytes()
        .to_vec();
    let (_, json) = upload(&state, "file=roster.csv&dry_run=true", csv.clone()).await;
    assert_eq!(
        json["code"], "unreadable",
        "without a door column the file is refused: {json}"
    );
    let (status, json) = upload(&state, "file=roster.csv&map=房间=door", csv).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["imported"], 2);
}

#[test]
fn the_cli_dry_run_lists_rows_and_fails_on_bad_ones() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("roster.xlsx");
    std::fs::write(&file, sheet(true)).unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.sqlite").display());
    let server = env!("CARGO_BIN_EXE_doorstep-server");
    let run = |args: &[&str]| {
        std::process::Command::new(server)
            .arg("--database-url")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        run(&["compound", "create", "--id", "c1", "--name", "永安社区"])
            .status
            .success()
    );
    let out = run(&[
        "import-roster",
        "--compound",
        "c1",
        "--dry-run",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("row 4: ERROR"), "{stdout}");
    assert!(stdout.contains("row 2: 3/1/101"), "{stdout}");
}
