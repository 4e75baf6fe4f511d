//! The ledgers (台账) as coordinators hand them on: one `.xlsx` workbook with
//! a sheet per ledger (rust_xlsxwriter), or one `.csv` per ledger, with
//! Chinese headers, widths and date formats that open well in Excel and WPS.
//! Rows run by building, unit and door (numbers as numbers), then by date.

use std::collections::BTreeMap;

use axum::{
    Form,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use doorstep_core::api::ErrorCode;
use doorstep_core::{
    access::Role,
    calendar::{CHINA_UTC_OFFSET_MS, ChinaTime},
    ids::CompoundId,
    labels::{self, Locale},
    need::{NeedState, steps_by_need},
    record::Record,
    schema::{Collection, Field, household, need, person, purchase, round, team, visit},
    spreadsheet::neutralise_formula,
    visit::Outcome,
};
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

use crate::{
    AppState,
    auth::{Caller, TokenForm},
    error::AppError,
};

/// Times are shown in China Standard Time, where the ledgers are used.
const UTC_OFFSET_MS: i64 = CHINA_UTC_OFFSET_MS;

#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// Unix milliseconds.
    Time(u64),
    Empty,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ledger {
    /// Sheet and file name.
    pub name: &'static str,
    pub slug: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

fn text(record: &Record, field: Field) -> String {
    match record.value(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn cell(record: &Record, field: Field) -> Cell {
    match record.value(field) {
        Some(Value::String(s)) => Cell::Text(s.clone()),
        Some(Value::Number(n)) => n.as_f64().map_or(Cell::Empty, Cell::Number),
        Some(Value::Bool(b)) => Cell::Text(if *b { "是" } else { "否" }.into()),
        _ => Cell::Empty,
    }
}

fn time(record: &Record, field: Field) -> Cell {
    record.ms(field).map_or(Cell::Empty, Cell::Time)
}

/// A vocabulary field's word in Chinese (core's `labels`), or the stored
/// text where it is none.
fn word(record: &Record, field: Field) -> Cell {
    let stored = text(record, field);
    Cell::Text(
        labels::choice(record.collection, field.name, &stored, Locale::Zh)
            .map_or(stored, str::to_owned),
    )
}

/// Orders a part of an address as people count: "2" before "10".
fn natural(cell: &Cell) -> (u64, String) {
    match cell {
        Cell::Text(t) => {
            let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
            (digits.parse().unwrap_or(u64::MAX), t.clone())
        }
        Cell::Number(n) => (*n as u64, String::new()),
        _ => (u64::MAX, String::new()),
    }
}

/// Rows in building, unit, door order (the three cells from `address_at`),
/// then by each row's date.
fn in_order(mut rows: Vec<(u64, Vec<Cell>)>, address_at: usize) -> Vec<Vec<Cell>> {
    rows.sort_by_cached_key(|(date, row)| {
        let place: Vec<(u64, String)> = row[address_at..address_at + 3]
            .iter()
            .map(natural)
            .collect();
        (place, *date)
    });
    rows.into_iter().map(|(_, row)| row).collect()
}

pub fn format_time(ms: u64) -> String {
    ChinaTime::of(ms).date_time()
}

/// Every ledger of a compound, built from its synced records.
pub fn ledgers(records: &[Record], now_ms: u64) -> Vec<Ledger> {
    let live = |c: Collection| {
        records
            .iter()
            .filter(move |r| r.collection == c && !r.is_deleted())
    };
    let by_id = |c: Collection| {
        live(c)
            .map(|r| (r.id.as_str().to_owned(), r))
            .collect::<BTreeMap<_, _>>()
    };
    let households = by_id(Collection::Household);
    let teams = by_id(Collection::Team);
    let rounds = by_id(Collection::Round);
    let address = |record: &Record, field: Field| -> Vec<Cell> {
        let household = households.get(&text(record, field));
        [
            household::BUILDING,
            household::UNIT,
            household::DOOR,
            household::HEAD,
        ]
        .into_iter()
        .map(|f| household.map_or(Cell::Empty, |h| cell(h, f)))
        .collect()
    };
    let name_of = |map: &BTreeMap<String, &Record>, id: String, name: Field| {
        map.get(&id).map_or(Cell::Empty, |r| cell(r, name))
    };
    let steps = steps_by_need(records);

    let registry = Ledger {
        name: "住户名册",
        slug: "households",
        headers: vec!["楼栋", "单元", "门牌号", "户主", "联系电话", "人数", "备注"],
        rows: in_order(
            live(Collection::Household)
                .map(|h| {
                    let row = household::ALL.iter().map(|f| cell(h, *f)).collect();
                    (0, row)
                })
                .collect(),
            0,
        ),
    };
    let visits = Ledger {
        name: "走访记录",
        slug: "visits",
        headers: vec![
            "轮次",
            "工作队",
            "楼栋",
            "单元",
            "门牌号",
            "户主",
            "结果",
            "上门核酸",
            "试管编号",
            "体温(℃)",
            "发热",
            "身体状况",
            "症状",
            "就医需求",
            "需就医",
            "穿得暖",
            "盖得暖",
            "有吃的",
            "回访时间",
            "走访时间",
        ],
        rows: in_order(
            live(Collection::Visit)
                .map(|v| {
                    let mut row = vec![
                        name_of(&rounds, text(v, visit::ROUND), round::NAME),
                        name_of(&teams, text(v, visit::TEAM), team::NAME),
                    ];
                    row.extend(address(v, visit::HOUSEHOLD));
                    row.push(word(v, visit::OUTCOME));
                    row.extend(
                        [visit::SWAB, visit::TUBE_NO, visit::TEMPERATURE_C]
                            .into_iter()
                            .map(|f| cell(v, f)),
                    );
                    let fever = v
                        .decimal(visit::TEMPERATURE_C)
                        .is_some_and(|t| t >= doorstep_core::visit::FEVER_C);
                    row.push(Cell::Text(if fever { "是" } else { "" }.into()));
                    row.push(word(v, visit::HEALTH));
                    // Only an answered door was asked; elsewhere 需就医 is blank.
                    let asked = v.choice(visit::OUTCOME) == Some(Outcome::Visited);
                    row.extend(
                        [
                            visit::SYMPTOMS,
                            visit::MEDICAL_NEEDS,
                            visit::NEEDS_DOCTOR,
                            visit::CLOTHES_OK,
                            visit::BEDDING_OK,
                            visit::FOOD_OK,
                        ]
                        .into_iter()
                        .map(|f| if asked { cell(v, f) } else { Cell::Empty }),
                    );
                    row.extend([time(v, visit::REVISIT_AT_MS), time(v, visit::VISITED_AT_MS)]);
                    let date = v.ms(visit::VISITED_AT_MS).unwrap_or(0);
                    (date, row)
                })
                .collect(),
            2,
        ),
    };
    let needs = Ledger {
        name: "困难问题台账",
        slug: "needs",
        headers: vec![
            "编号",
            "楼栋",
            "单元",
            "门牌号",
            "户主",
            "类别",
            "描述",
            "状态",
            "负责工作队",
            "截止时间",
            "处理情况",
            "是否超期",
            "处理记录",
        ],
        rows: in_order(
            // Spam a coordinator marked stays in the record's history only.
            live(Collection::Need)
                .filter(|n| !doorstep_core::help::is_spam(n))
                .map(|n| {
                    let state = NeedState::fold(steps.get(&n.id).cloned().unwrap_or_default());
                    let mut row = vec![Cell::Text(n.id.to_string())];
                    row.extend(address(n, need::HOUSEHOLD));
                    row.push(word(n, need::CATEGORY));
                    row.push(Cell::Text(
                        labels::description(&text(n, need::DESCRIPTION), Locale::Zh).to_owned(),
                    ));
                    row.push(Cell::Text(
                        labels::status(state.status, Locale::Zh).to_owned(),
                    ));
                    row.push(
                        state
                            .team
                            .as_ref()
                            .map_or(Cell::Empty, |t| name_of(&teams, t.to_string(), team::NAME)),
                    );
                    row.push(state.due_ms.map_or(Cell::Empty, Cell::Time));
                    row.push(Cell::Text(state.resolution.clone()));
                    row.push(Cell::Text(
                        if state.is_overdue(now_ms) { "是" } else { "" }.into(),
                    ));
                    let history: Vec<String> = state
                        .history
                        .iter()
                        .map(|s| {
                            let note = if s.note.is_empty() {
                                String::new()
                            } else {
                                format!("（{}）", s.note)
                            };
                            format!(
                                "{} {}{note}",
                                format_time(s.at_ms),
                                labels::status(Some(s.to), Locale::Zh)
                            )
                        })
                        .collect();
                    row.push(Cell::Text(history.join("；")));
                    let raised = state.history.first().map_or(0, |s| s.at_ms);
                    (raised, row)
                })
                .collect(),
            1,
        ),
    };
    let purchases = Ledger {
        name: "代购台账",
        slug: "purchases",
        headers: vec!["楼栋", "单元", "门牌号", "户主", "物品", "金额(元)"],
        rows: in_order(
            live(Collection::Purchase)
                .map(|p| {
                    let mut row = address(p, purchase::HOUSEHOLD);
                    row.push(cell(p, purchase::ITEMS));
                    row.push(
                        p.decimal(purchase::AMOUNT_CENTS)
                            .map_or(Cell::Empty, |c| Cell::Number(c / 100.0)),
                    );
                    (p.latest_hlc().map_or(0, |h| h.wall_ms), row)
                })
                .collect(),
            0,
        ),
    };
    let person_rows = |filter: &dyn Fn(&Record) -> bool, fields: &[Field]| -> Vec<Vec<Cell>> {
        let rows = live(Collection::Person)
            .filter(|p| filter(p))
            .map(|p| {
                let mut row = address(p, person::HOUSEHOLD);
                row.push(cell(p, person::NAME));
                row.extend(fields.iter().map(|&f| match f {
                    person::CARE | person::KEY_STATUS => word(p, f),
                    person::KEY_SINCE_MS | person::KEY_UNTIL_MS => time(p, f),
                    other => cell(p, other),
                }));
                (p.latest_hlc().map_or(0, |h| h.wall_ms), row)
            })
            .collect();
        in_order(rows, 0)
    };
    let care = Ledger {
        name: "关爱服务台账",
        slug: "care",
        headers: vec![
            "楼栋",
            "单元",
            "门牌号",
            "户主",
            "姓名",
            "类别",
            "私人订制方案",
        ],
        rows: person_rows(
            &|p| !text(p, person::CARE).is_empty(),
            &[person::CARE, person::CARE_PLAN],
        ),
    };
    let key_persons = Ledger {
        name: "重点人员台账",
        slug: "key-persons",
        headers: vec![
            "楼栋",
            "单元",
            "门牌号",
            "户主",
            "姓名",
            "类别",
            "开始",
            "结束",
        ],
        rows: person_rows(
            &|p| !text(p, person::KEY_STATUS).is_empty(),
            &[
                person::KEY_STATUS,
                person::KEY_SINCE_MS,
                person::KEY_UNTIL_MS,
            ],
        ),
    };
    vec![registry, visits, needs, purchases, care, key_persons]
}

/// One workbook, one sheet per ledger.
pub fn workbook(ledgers: &[Ledger]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold().set_background_color("#F3E9E7");
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for ledger in ledgers {
        let sheet = workbook.add_worksheet();
        sheet.set_name(ledger.name)?;
        for (c, header) in ledger.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *header, &bold)?;
            // CJK text is about two columns wide per character.
            let widest = ledger.rows.iter().filter_map(|r| match r.get(c) {
                Some(Cell::Text(t)) => Some(t.chars().count()),
                _ => None,
            });
            let width = widest
                .chain([header.chars().count()])
                .max()
                .unwrap_or(4)
                .clamp(4, 40) as f64
                * 2.0
                + 2.0;
            sheet.set_column_width(c as u16, width)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (r, row) in ledger.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, value) in row.iter().enumerate() {
                let c = c as u16;
                match value {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(r, c, *n)?;
                    }
                    Cell::Time(ms) => {
                        // Excel counts days from 1899-12-30.
                        let serial = (*ms as i64 + UTC_OFFSET_MS) as f64 / 86_400_000.0 + 25_569.0;
                        sheet.write_number_with_format(r, c, serial, &date)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
    }
    workbook.save_to_buffer()
}

/// One ledger as CSV, with a BOM so Excel and WPS read the Chinese right.
/// Text that a spreadsheet would run as a formula is quoted first
/// (`doorstep_core::spreadsheet`); numbers and times are ours and safe.
pub fn csv(ledger: &Ledger) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = writer.write_record(&ledger.headers);
    for row in &ledger.rows {
        let _ = writer.write_record(row.iter().map(|cell| match cell {
            Cell::Text(t) => neutralise_formula(t).into_owned(),
            Cell::Number(n) => n.to_string(),
            Cell::Time(ms) => format_time(*ms),
            Cell::Empty => String::new(),
        }));
    }
    writer.into_inner().unwrap_or_default()
}

/// One ledger as a print-friendly HTML page (A4 landscape, repeated header).
pub fn html(compound_name: &str, ledger: &Ledger) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let head: String = ledger
        .headers
        .iter()
        .map(|h| format!("<th>{}</th>", escape(h)))
        .collect();
    let body: String = ledger
        .rows
        .iter()
        .map(|row| {
            let cells: String = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(t) => format!("<td>{}</td>", escape(t)),
                    Cell::Number(n) => format!("<td class=\"n\">{n}</td>"),
                    Cell::Time(ms) => format!("<td>{}</td>", format_time(*ms)),
                    Cell::Empty => "<td></td>".to_owned(),
                })
                .collect();
            format!("<tr>{cells}</tr>")
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{c} {n}</title><style>\
         @page{{size:A4 landscape;margin:12mm}}body{{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;font-size:10pt}}\
         table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #999;padding:3px 5px;vertical-align:top}}\
         th{{background:#eee}}thead{{display:table-header-group}}tr{{page-break-inside:avoid}}.n{{text-align:right}}\
         </style></head><body><h1>{c} · {n}</h1><p>共 {count} 条</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>",
        c = escape(compound_name),
        n = ledger.name,
        count = ledger.rows.len(),
    )
}

/// The compound's ledgers, for a coordinator of it (they hold key persons).
async fn compound_ledgers(
    state: &AppState,
    caller: &Caller,
    compound: &str,
) -> Result<(CompoundId, Vec<Ledger>), AppError> {
    let compound = caller.in_compound(compound, &[Role::Coordinator])?;
    let mut records = Vec::new();
    for collection in Collection::ALL {
        records.extend(state.store.records_of(&compound, collection).await?);
    }
    Ok((compound.clone(), ledgers(&records, crate::now_ms())))
}

pub fn attachment(name: &str, content_type: &'static str, body: Vec<u8>) -> Response {
    // RFC 5987 form, so the Chinese file name survives.
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{encoded}"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/compounds/{compound}/ledgers.xlsx`
#[utoipa::path(get, path = "/compounds/{compound}/ledgers.xlsx", security(("device" = [])),
    params(crate::api::CompoundPath),
    responses((status = 200, description = "Every ledger (台账) as one Excel workbook, a sheet per ledger.", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), crate::api::DeviceRefusals))]
pub async fn xlsx(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
) -> Result<Response, AppError> {
    let (compound, ledgers) = compound_ledgers(&state, &caller, &compound).await?;
    let bytes = workbook(&ledgers).map_err(|e| {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ExportFailed,
            e.to_string(),
        )
    })?;
    Ok(attachment(
        &format!("{compound}-台账.xlsx"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    ))
}

/// `POST` of [`xlsx`] with the token in a form (the app's download button).
#[utoipa::path(post, path = "/compounds/{compound}/ledgers.xlsx",
    params(crate::api::CompoundPath),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Every ledger (台账) as one Excel workbook, a sheet per ledger.", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), crate::api::FormRefusals))]
pub async fn xlsx_form(
    State(state): State<AppState>,
    Path(compound): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let made = async {
        let caller = Caller::from_form(&state, &form).await?;
        xlsx(State(state), caller, Path(compound)).await
    };
    Ok(made.await.unwrap_or_else(crate::security::error_page))
}

/// `POST` of [`ledger_file`] with the token in a form.
#[utoipa::path(post, path = "/compounds/{compound}/ledgers/{file}",
    params(crate::api::CompoundPath, ("file" = String, Path, pattern = r"^(households|visits|needs|purchases|care|key-persons)\.(csv|html)$", description = "`{ledger}.csv` or `{ledger}.html`.")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The ledger as UTF-8 CSV with a BOM, or as a page to print.", content((String = "text/csv"), (String = "text/html"))),
        (status = 404, description = "No such ledger or format.", content_type = "text/html", body = String),
        crate::api::FormRefusals))]
pub async fn ledger_file_form(
    State(state): State<AppState>,
    Path(path): Path<(String, String)>,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let made = async {
        let caller = Caller::from_form(&state, &form).await?;
        ledger_file(State(state), caller, Path(path)).await
    };
    Ok(made.await.unwrap_or_else(crate::security::error_page))
}

/// `GET /api/compounds/{compound}/ledgers/{ledger}.csv` (a file) or
/// `….html` (a page to print).
#[utoipa::path(get, path = "/compounds/{compound}/ledgers/{file}", security(("device" = [])),
    params(crate::api::CompoundPath, ("file" = String, Path, pattern = r"^(households|visits|needs|purchases|care|key-persons)\.(csv|html)$", description = "`{ledger}.csv` or `{ledger}.html`.")),
    responses((status = 200, description = "The ledger as UTF-8 CSV with a BOM, or as a page to print.", content((String = "text/csv"), (String = "text/html"))),
        (status = 404, description = "No such ledger or format (`not_found`).", body = doorstep_core::api::ApiError),
        crate::api::DeviceRefusals))]
pub async fn ledger_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((compound, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (compound, ledgers) = compound_ledgers(&state, &caller, &compound).await?;
    let (slug, format) = file
        .rsplit_once('.')
        .ok_or_else(|| AppError::not_found("use .csv or .html"))?;
    let ledger = ledgers
        .iter()
        .find(|l| l.slug == slug)
        .ok_or_else(|| AppError::not_found(format!("no ledger {slug}")))?;
    match format {
        "csv" => Ok(attachment(
            &format!("{compound}-{}.csv", ledger.name),
            "text/csv; charset=utf-8",
            csv(ledger),
        )),
        "html" => {
            let name = state
                .store
                .compounds()
                .await?
                .into_iter()
                .find(|c| c.id == compound)
                .map(|c| c.name)
                .unwrap_or_default();
            Ok(crate::security::print_page(html(&name, ledger)))
        }
        _ => Err(AppError::not_found("use .csv or .html")),
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::{hlc::Hlc, ids::ClientId, mutation::Mutation, record::Record};
    use serde_json::{Value, json};

    use super::{Cell, format_time, ledgers};

    fn record(kind: &str, collection: &str, id: &str, fields: Value) -> Record {
        let mutation: Mutation = serde_json::from_value(json!({"kind": kind,
            "args": {"collection": collection, "id": id, "compound": "c1", "fields": fields}}))
        .unwrap();
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
            node: ClientId::from_u128(1),
        };
        mutation.apply(None, &hlc).unwrap().0
    }

    fn text(cell: &Cell) -> String {
        match cell {
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Time(ms) => format_time(*ms),
            Cell::Empty => String::new(),
        }
    }

    /// Rows by building, unit and door as numbers, then date; descriptions
    /// in Chinese; a door nobody answered has no 需就医 answer.
    #[test]
    fn rows_run_by_address_then_date_and_say_what_they_mean() {
        let household = |id: &str, building: &str, door: &str| {
            record(
                "set",
                "household",
                id,
                json!({"building": building, "unit": "1", "door": door}),
            )
        };
        let visit = |id: &str, h: &str, outcome: &str, at: u64| {
            record(
                "set",
                "visit",
                id,
                json!({"household": h, "outcome": outcome, "needs_doctor": false, "visited_at_ms": at}),
            )
        };
        let records = vec![
            household("h10", "10", "101"),
            household("h2b", "2", "1101"),
            household("h2a", "2", "201"),
            visit("v3", "h10", "visited", 5),
            visit("v2", "h2b", "no_answer", 9),
            visit("v1", "h2a", "visited", 7),
            visit("v0", "h2a", "revisit", 3),
            record(
                "set",
                "need",
                "n1",
                json!({"household": "h10", "category": "medical_visit", "description": "needs_doctor"}),
            ),
        ];
        let all = ledgers(&records, 0);
        let registry: Vec<String> = all[0].rows.iter().map(|r| text(&r[2])).collect();
        assert_eq!(
            registry,
            ["201", "1101", "101"],
            "building 2 before 10, door 201 before 1101"
        );
        let visits = &all[1];
        let doctor = visits.headers.iter().position(|h| *h == "需就医").unwrap();
        let rows: Vec<(String, String, String)> = visits
            .rows
            .iter()
            .map(|r| (text(&r[4]), text(&r[6]), text(&r[doctor])))
            .collect();
        assert_eq!(
            rows,
            [
                ("201".into(), "需回访".into(), String::new()),
                ("201".into(), "已走访".into(), "否".into()),
                ("1101".into(), "无人应答".into(), String::new()),
                ("101".into(), "已走访".into(), "否".into()),
            ]
        );
        let needs = &all[2];
        let description = needs.headers.iter().position(|h| *h == "描述").unwrap();
        assert_eq!(text(&needs.rows[0][description]), "需要医生上门或就医");
    }

    #[test]
    fn times_are_china_standard_time() {
        assert_eq!(format_time(0), "1970-01-01 08:00");
        assert_eq!(format_time(1_764_345_600_000), "2025-11-29 00:00");
    }
}
