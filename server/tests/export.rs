//! The ledgers exported as Excel and CSV, read back the way an office would.

use std::io::Cursor;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use calamine::{Data, Reader};
use doorstep_core::sync::SCHEMA_VERSION;
use doorstep_core::{hlc::Hlc, ids::ClientId};
use doorstep_server::now_ms;
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

async fn seeded() -> (TempDir, support::TestDatabase, support::Api) {
    let dir = TempDir::new().unwrap();
    let (db, state) = support::state_with(dir.path(), &[("c1", "永安社区")]).await;
    let state = support::Api::coordinator(&state, "c1").await;
    let t = now_ms() - 3_600_000;
    let mutations: Vec<(&str, &str, &str, Value)> = vec![
        (
            "set",
            "household",
            "h1",
            json!({"building": "3", "unit": "1", "door": "101", "head": "王芳", "members": 1}),
        ),
        ("set", "team", "t1", json!({"name": "一队"})),
        ("set", "round", "r1", json!({"name": "第1轮"})),
        (
            "set",
            "visit",
            "v1",
            json!({"household": "h1", "round": "r1", "team": "t1", "outcome": "visited", "temperature_c": 38.2, "food_ok": false, "visited_at_ms": t}),
        ),
        (
            "set",
            "need",
            "n1",
            json!({"household": "h1", "category": "food", "description": "food", "visit": "v1"}),
        ),
        (
            "append",
            "need_event",
            "e1",
            json!({"need": "n1", "step": "collected", "at_ms": t}),
        ),
        (
            "append",
            "need_event",
            "e2",
            json!({"need": "n1", "step": "assigned", "team": "t1", "due_ms": t + 7_200_000, "at_ms": t + 60_000}),
        ),
        (
            "append",
            "need_event",
            "e3",
            json!({"need": "n1", "step": "resolved", "note": "送米面油", "at_ms": t + 120_000}),
        ),
        (
            "append",
            "need_event",
            "e4",
            json!({"need": "n1", "step": "closed", "at_ms": t + 180_000}),
        ),
        (
            "append",
            "purchase",
            "p1",
            json!({"household": "h1", "items": "降压药", "amount_cents": 2350}),
        ),
        (
            "set",
            "person",
            "q1",
            json!({"household": "h1", "name": "王芳", "care": "elderly_alone", "care_plan": "每日电话问候"}),
        ),
    ];
    let client = ClientId::from_u128(3);
    let body = json!({
        "client_id": client, "schema_version": SCHEMA_VERSION,
        "mutations": mutations.iter().enumerate().map(|(i, (kind, collection, id, fields))| json!({
            "mid": i + 1, "hlc": Hlc { wall_ms: t, counter: i as u32, node: client }.to_string(), "kind": kind,
            "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}
        })).collect::<Vec<_>>()
    });
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_eq!(state.send(request).await.0, StatusCode::OK);
    (dir, db, state)
}

async fn get(state: &support::Api, path: &str) -> (StatusCode, String, Vec<u8>) {
    let (status, headers, body) = state
        .send(Request::get(path).body(Body::empty()).unwrap())
        .await;
    let disposition = headers
        .get(header::CONTENT_DISPOSITION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, disposition, body)
}

#[tokio::test]
async fn the_workbook_has_a_sheet_per_ledger_and_the_need_with_its_history() {
    let (_dir, _db, state) = seeded().await;
    let (status, disposition, bytes) = get(&state, "/api/compounds/c1/ledgers.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        disposition.contains("filename*=UTF-8''c1-"),
        "{disposition}"
    );
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        [
            "住户名册",
            "走访记录",
            "困难问题台账",
            "代购台账",
            "关爱服务台账",
            "重点人员台账"
        ]
    );

    let needs = workbook.worksheet_range("困难问题台账").unwrap();
    let rows: Vec<Vec<String>> = needs
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][7], "状态");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let need = &rows[1];
    assert_eq!(need[1..5], ["3", "1", "101", "王芳"]);
    assert_eq!(need[5], "食品/生活物资");
    assert_eq!(need[7], "已销号");
    assert_eq!(need[8], "一队");
    assert_eq!(need[10], "送米面油");
    let history = &need[12];
    for step in ["已收集", "已分派", "已解决（送米面油）", "已销号"] {
        assert!(history.contains(step), "history {history:?} lacks {step}");
    }

    let visits = workbook.worksheet_range("走访记录").unwrap();
    let visit: Vec<&Data> = visits.rows().nth(1).unwrap().iter().collect();
    assert_eq!(visit[6].to_string(), "已走访");
    assert_eq!(visit[9], &Data::Float(38.2));
    assert_eq!(visit[10].to_string(), "是", "fever flagged");
    assert!(
        matches!(visit[19], Data::DateTime(_) | Data::Float(_)),
        "visit time is a date cell: {:?}",
        visit[19]
    );

    let purchases = workbook.worksheet_range("代购台账").unwrap();
    assert_eq!(purchases.rows().nth(1).unwrap()[5], Data::Float(23.5));
}

#[tokio::test]
async fn each_ledger_is_also_a_csv_with_a_bom() {
    let (_dir, _db, state) = seeded().await;
    let (status, _, bytes) = get(&state, "/api/compounds/c1/ledgers/care.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel and WPS");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(
        text.starts_with("楼栋,单元,门牌号,户主,姓名,类别,私人订制方案\n"),
        "{text}"
    );
    assert!(text.contains("独居/80岁以上老人,每日电话问候"), "{text}");
    assert_eq!(
        get(&state, "/api/compounds/c1/ledgers/nope.csv").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&state, "/api/compounds/zz/ledgers.xlsx").await.0,
        StatusCode::FORBIDDEN,
        "another compound's ledgers"
    );
}

#[tokio::test]
async fn each_ledger_has_a_print_page() {
    let (_dir, _db, state) = seeded().await;
    let (status, _, bytes) = get(&state, "/api/compounds/c1/ledgers/needs.html").await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(bytes).unwrap();
    assert!(page.contains("<h1>永安社区 · 困难问题台账</h1>"), "{page}");
    assert!(page.contains("@page{size:A4 landscape"));
    assert!(page.contains("<td>已销号</td>"));
}

/// CSV formula injection (issue 15, item 2): text a spreadsheet would run
/// as a formula leaves every CSV export with a leading `'`, in any column.
#[tokio::test]
async fn csv_cells_that_look_like_formulas_are_quoted() {
    let (_dir, _db, state) = seeded().await;
    let formulas = [
        "=1+1",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "=HYPERLINK(\"http://x\",\"y\")",
    ];
    let client = ClientId::from_u128(4);
    let t = now_ms() - 1000;
    let mutations: Vec<Value> = formulas
        .iter()
        .enumerate()
        .map(|(i, formula)| {
            json!({
                "mid": i + 1,
                "hlc": Hlc { wall_ms: t, counter: i as u32, node: client }.to_string(),
                "kind": "set",
                "args": {"collection": "household", "id": format!("f{i}"), "compound": "c1",
                         "fields": {"building": "9", "door": format!("90{i}"), "head": formula,
                                    "notes": formula, "phone": "+86 138 0000 0000"}},
            })
        })
        .collect();
    let body =
        json!({"client_id": client, "schema_version": SCHEMA_VERSION, "mutations": mutations});
    let request = Request::post("/api/sync")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_eq!(state.send(request).await.0, StatusCode::OK);

    for ledger in [
        "households",
        "visits",
        "needs",
        "purchases",
        "care",
        "key-persons",
    ] {
        let (status, _, bytes) =
            get(&state, &format!("/api/compounds/c1/ledgers/{ledger}.csv")).await;
        assert_eq!(status, StatusCode::OK, "{ledger}");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&bytes[3..]);
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                assert!(
                    !doorstep_core::spreadsheet::looks_like_formula(cell),
                    "{ledger}.csv has a live formula: {cell:?}"
                );
            }
        }
    }
    let (_, _, bytes) = get(&state, "/api/compounds/c1/ledgers/households.csv").await;
    let rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .from_reader(&bytes[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    for formula in formulas {
        let quoted = format!("'{formula}");
        let row = rows
            .iter()
            .find(|row| row.contains(&quoted))
            .unwrap_or_else(|| panic!("{formula} is not in the export as {quoted}: {rows:?}"));
        assert_eq!(
            row.iter().filter(|cell| **cell == quoted).count(),
            2,
            "head and notes: {row:?}"
        );
        assert!(row.contains(&"'+86 138 0000 0000".to_owned()), "{row:?}");
    }
    // Everyday text is left as it is.
    assert!(
        rows.iter().any(|row| row.contains(&"王芳".to_owned())),
        "{rows:?}"
    );
}
