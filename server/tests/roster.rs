//! Roster import from generated files shaped as community offices keep them
//! (title rows, a sheet per building, synonyms, 序号, 合计, ID numbers, care
//! marks, a GBK CSV), bad rows included: the dry run reports exactly the
//! households, skipped rows and care proposals, a real import of a file with
//! any bad row imports nothing, and care proposals are recorded only when
//! accepted.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use doorstep_core::{
    roster::{BuildingSource, ColumnUse, RosterProblem, SkipReason},
    schema::Collection,
};
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

#[path = "support/office_roster.rs"]
mod office_roster;
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
    assert_eq!(report.errors[0].problem, RosterProblem::MissingDoor);
    assert_eq!(
        report.errors[1].problem,
        RosterProblem::DuplicateDoor {
            door: "3/1/101".into()
        }
    );
    assert_eq!(
        report.errors[2].problem,
        RosterProblem::NotANumber {
            field: "members".into(),
            text: "三".into()
        }
    );
    assert_eq!(
        report.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        [2, 3, 7]
    );
    assert_eq!(
        report.rows[0].fields["door"], "101",
        "a numeric cell reads as 101, not 101.0"
    );
    assert_eq!(report.rows[0].fields["members"], 2);
    assert_eq!(report.columns(|u| *u == ColumnUse::Ignored), ["民族"]);
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
        json["code"], "roster_no_door_column",
        "without a door column the file is refused: {json}"
    );
    assert!(
        json["message"].as_str().unwrap().contains("门牌号"),
        "{json}"
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
    assert!(stdout.contains("Sheet1 row 4: ERROR 缺门牌号"), "{stdout}");
    assert!(stdout.contains("Sheet1 row 2: 3/1/101"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("未导入任何一行 / 3 bad rows"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Three sheets named by building, two title rows and a blank row above the
/// header, 序号, merged unit cells, 合计 and 填表人, synonyms, text and
/// full-width numbers, an ID-number column and care marks.
#[tokio::test]
async fn an_office_workbook_reads_as_the_office_meant_it() {
    let (_dir, _db, state) = fixture().await;
    let file = office_roster::workbook(&[("3", 12), ("5", 9), ("7", 8)]);
    let (status, json) = upload(&state, "file=台账.xlsx&dry_run=true", file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let report: RosterReport = serde_json::from_value(json).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let names: Vec<&str> = report.sheets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["3号楼", "5号楼", "7号楼"]);
    for (sheet, (building, n)) in report.sheets.iter().zip([("3", 12), ("5", 9), ("7", 8)]) {
        assert_eq!(sheet.header_row, Some(office_roster::HEADER_ROW as usize));
        let from = sheet.building.as_ref().unwrap();
        assert_eq!(
            (from.building.as_str(), from.from),
            (building, BuildingSource::SheetName)
        );
        assert_eq!(sheet.households, n);
        let skipped: Vec<(usize, SkipReason)> =
            sheet.skipped.iter().map(|s| (s.row, s.reason)).collect();
        let after = office_roster::HEADER_ROW as usize + n + 1;
        assert_eq!(
            skipped,
            [
                (1, SkipReason::Title),
                (2, SkipReason::Title),
                (3, SkipReason::Blank),
                (after, SkipReason::Total),
                (after + 1, SkipReason::Signature),
            ],
            "{}",
            sheet.name
        );
    }
    // Every household, with its building from the sheet name, the unit from
    // the merged cell, the door without 室, numbers however written.
    let mut expected = Vec::new();
    for (building, n) in [("3", 12), ("5", 9), ("7", 8)] {
        for i in 0..n {
            let (unit, door) = office_roster::door_of(i, n);
            expected.push(format!("{building}/{unit}/{door}"));
        }
    }
    let doors: Vec<String> = report
        .rows
        .iter()
        .map(|r| doorstep_server::roster::door_key(&r.fields))
        .collect();
    assert_eq!(doors, expected);
    let first = &report.rows[0].fields;
    assert_eq!(first["head"], "户主3-0");
    assert_eq!(first["phone"], "13800000000");
    assert_eq!(report.rows[1].fields["phone"], "13800000001");
    let members: Vec<i64> = report.rows[..3]
        .iter()
        .map(|r| r.fields["members"].as_i64().unwrap())
        .collect();
    assert_eq!(members, [3, 2, 4], "number, text, full-width 4人");
    assert!(
        report.rows.iter().all(|r| !r
            .fields
            .values()
            .any(|v| v.to_string().contains("1101011940"))),
        "ID numbers are never kept"
    );
    assert_eq!(report.columns(|u| *u == ColumnUse::IdNumber), ["身份证号"]);
    assert_eq!(report.columns(|u| *u == ColumnUse::Index), ["序号"]);
    let mut proposals = Vec::new();
    for (building, n) in [("3", 12), ("5", 9), ("7", 8)] {
        for i in 0..n {
            let (unit, door) = office_roster::door_of(i, n);
            let at = format!("{building}/{unit}/{door}");
            if office_roster::alone(i) {
                proposals.push((at.clone(), "elderly_alone".to_owned()));
            }
            if office_roster::pregnant(i) {
                proposals.push((at, "pregnant".to_owned()));
            }
        }
    }
    let got: Vec<(String, String)> = report
        .care
        .iter()
        .map(|c| (c.door.clone(), c.care.clone()))
        .collect();
    assert_eq!(got, proposals);
    assert_eq!(report.care[0].source, "是否独居老人：是");
    assert_eq!(households(&state).await, 0, "a dry run stores nothing");

    // Imported without accepting the proposals: households only.
    let (status, json) = upload(&state, "file=台账.xlsx", file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(
        (json["imported"].as_u64(), json["care_imported"].as_u64()),
        (Some(29), Some(0))
    );
    assert_eq!(people(&state).await, 0);
}

async fn people(api: &support::Api) -> usize {
    api.state
        .store
        .records_of(&"c1".parse().unwrap(), Collection::Person)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn accepted_care_proposals_land_on_the_care_ledger_with_their_households() {
    let (_dir, _db, state) = fixture().await;
    let file = office_roster::workbook(&[("3", 16)]);
    let (status, json) = upload(&state, "file=台账.xlsx&care=true", file).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    // 0 and 10 live alone, 7 has 孕妇 in 备注.
    assert_eq!(
        (json["imported"].as_u64(), json["care_imported"].as_u64()),
        (Some(16), Some(3))
    );
    let store = &state.state.store;
    let compound = "c1".parse().unwrap();
    let households = store
        .records_of(&compound, Collection::Household)
        .await
        .unwrap();
    let persons = store
        .records_of(&compound, Collection::Person)
        .await
        .unwrap();
    let mut ledger: Vec<(String, String, String)> = persons
        .iter()
        .map(|p| {
            let household = households
                .iter()
                .find(|h| Some(h.id.as_str()) == p.named("household").and_then(|v| v.as_str()))
                .expect("each entry names an imported household");
            (
                household
                    .named("head")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                p.named("name").unwrap().as_str().unwrap().to_owned(),
                p.named("care").unwrap().as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ledger.sort();
    assert_eq!(
        ledger,
        [
            ("户主3-0".into(), "户主3-0".into(), "elderly_alone".into()),
            ("户主3-10".into(), "户主3-10".into(), "elderly_alone".into()),
            ("户主3-7".into(), "户主3-7".into(), "pregnant".into()),
        ]
    );
}

/// A CSV saved by Excel on Chinese Windows is GBK; a title row above the
/// header, "3-1-301" doors and synonyms.
#[tokio::test]
async fn a_gbk_csv_reads_like_a_utf8_one() {
    let (_dir, _db, state) = fixture().await;
    let text = "永安社区住户登记表\r\n房号,户主姓名,手机号码,人口数,备注\r\n\
                3-1-301,王芳,+86 138 0000 0001,2,独居老人\r\n3-1-302,李强,,３,\r\n";
    let (gbk, _, lossy) = encoding_rs::GBK.encode(text);
    assert!(!lossy);
    assert!(std::str::from_utf8(&gbk).is_err(), "the file is not UTF-8");
    let (status, json) = upload(&state, "file=名册.csv&dry_run=true", gbk.into_owned()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let report: RosterReport = serde_json::from_value(json).unwrap();
    assert_eq!(report.encoding.as_deref(), Some("GB18030"));
    assert_eq!(report.sheets[0].header_row, Some(2));
    assert_eq!(report.sheets[0].skipped[0].reason, SkipReason::Title);
    let first = &report.rows[0].fields;
    assert_eq!(
        (
            &first["building"],
            &first["unit"],
            &first["door"],
            &first["head"]
        ),
        (&"3".into(), &"1".into(), &"301".into(), &"王芳".into())
    );
    assert_eq!(first["phone"], "+8613800000001", "a phone may start with +");
    assert_eq!(report.rows[1].fields["members"], 3);
    assert_eq!(report.care.len(), 1);
    assert!(report.errors.is_empty());
}

/// Issue 15, item 2: formula-like names or notes would run in a spreadsheet
/// that opens an export: the row is bad and nothing imports.
#[tokio::test]
async fn formula_like_cells_are_bad_rows_and_nothing_imports() {
    let (_dir, _db, state) = fixture().await;
    let csv = "门牌号,户主,联系电话,备注\n101,=1+1,+86 13800000001,\n\
               102,王芳,,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\n103,李强,+8613800000003,\n\
               104,\t@SUM(A1),,\n"
        .as_bytes()
        .to_vec();
    let (status, json) = upload(&state, "file=roster.csv&dry_run=true", csv.clone()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let report: RosterReport = serde_json::from_value(json).unwrap();
    let bad: Vec<(usize, &RosterProblem)> =
        report.errors.iter().map(|e| (e.row, &e.problem)).collect();
    assert_eq!(
        bad,
        [
            (
                2,
                &RosterProblem::FormulaLike {
                    field: "head".into(),
                    text: "=1+1".into()
                }
            ),
            (
                3,
                &RosterProblem::FormulaLike {
                    field: "notes".into(),
                    text: "=HYPERLINK(\"http://x\",\"y\")".into()
                }
            ),
            (
                5,
                &RosterProblem::FormulaLike {
                    field: "head".into(),
                    text: "@SUM(A1)".into()
                }
            ),
        ]
    );
    assert_eq!(report.rows.len(), 1, "the +86 phone is a good row");
    assert_eq!(report.rows[0].fields["phone"], "+8613800000003");
    let (status, json) = upload(&state, "file=roster.csv", csv).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_rows"))
    );
    assert_eq!(households(&state).await, 0);
}

/// One bad row among many good ones in an office workbook: nothing imports.
#[tokio::test]
async fn one_bad_row_in_an_office_workbook_imports_nothing() {
    let (_dir, _db, state) = fixture().await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("5号楼").unwrap();
    sheet.write_string(0, 0, "5号楼住户台账").unwrap();
    for (c, h) in ["室号", "户主", "家庭人口"].iter().enumerate() {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    for (r, (door, members)) in [("101", "2"), ("102", "3"), ("103", "很多"), ("104", "1")]
        .iter()
        .enumerate()
    {
        sheet.write_string(2 + r as u32, 0, *door).unwrap();
        sheet.write_string(2 + r as u32, 1, "某").unwrap();
        sheet.write_string(2 + r as u32, 2, *members).unwrap();
    }
    let file = workbook.save_to_buffer().unwrap();
    let (status, json) = upload(&state, "file=5.xlsx", file).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert_eq!(json["code"], "bad_rows");
    assert_eq!(households(&state).await, 0);
}

#[tokio::test]
async fn a_wps_et_file_is_named_in_the_error() {
    let (_dir, _db, state) = fixture().await;
    let (status, json) = upload(&state, "file=台账.et&dry_run=true", b"whatever".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["code"], "roster_wps_et");
    assert!(
        json["message"].as_str().unwrap().contains(".xlsx"),
        "{json}"
    );
}
